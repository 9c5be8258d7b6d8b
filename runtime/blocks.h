/* The block store: persisted (cached) RDD partitions, addressed by RDD id
 * and partition, kept inside a memory budget with LRU eviction. Deserialized
 * blocks hold an em__part; serialized ones hold msgpack bytes (codec.h);
 * disk blocks live in files under the store's scratch directory. A block
 * evicted from memory is written to disk when its level allows it, and
 * otherwise dropped: the caller recomputes it from lineage. Thread-safe.
 */
#ifndef EMBER_RUNTIME_BLOCKS_H
#define EMBER_RUNTIME_BLOCKS_H

#include <stdint.h>

#include "ember.h"
#include "part.h"

typedef struct em__blocks em__blocks;
struct em__sink;

/* Creates a store with a budget for memory blocks and a parent directory
 * for disk blocks (its own subdirectory is made on first use). NULL on
 * failure. */
em__blocks *em__blocks_create(int64_t budget_bytes, const char *dir);

/* Frees every block and removes the store's directory. Accepts NULL. */
void em__blocks_destroy(em__blocks *b);

/* Lends the records of block (rdd, part) when it is held in memory as
 * records (not serialized, not on disk): *recs and *n stay valid, and the
 * block stays, until em__blocks_give_back(b, *loan). EM_ENOENT otherwise;
 * nothing is lent then. */
em_status em__blocks_lend(em__blocks *b, int rdd, int part,
                          const em_val **recs, size_t *n, void **loan);
void em__blocks_give_back(em__blocks *b, void *loan);

/* Pushes the records of block (rdd, part) into out. EM_ENOENT when the
 * store does not hold it (never stored, evicted, or its file vanished),
 * in which case nothing was pushed. */
em_status em__blocks_get(em__blocks *b, int rdd, int part, em_task *t,
                         struct em__sink *out);

/* Stores partition p as block (rdd, part) at `level`. Takes p in every
 * case (it is finalized on failure too). A block that does not fit the
 * budget at a memory-only level is not stored (not an error). */
em_status em__blocks_put(em__blocks *b, int rdd, int part, em_storage level,
                         em__part *p);

/* Claims the computation of block (rdd, part): returns EM_OK when the
 * caller should compute and put it (then call em__blocks_end_compute),
 * EM_EEXIST when another task finished it meanwhile (get it). While
 * another task computes it, waits. So a cached partition is computed once
 * even when several tasks of a job need it at the same time. */
em_status em__blocks_begin_compute(em__blocks *b, int rdd, int part);

/* Ends a claim (after the put, or after a failure) and wakes waiters. */
void em__blocks_end_compute(em__blocks *b, int rdd, int part);

/* Drops every block of an RDD. */
void em__blocks_drop_rdd(em__blocks *b, int rdd);

/* Number of blocks of an RDD held (memory or disk). */
int em__blocks_count_rdd(em__blocks *b, int rdd);

/* Evicts every memory block as if the budget were 0 (tests, and the
 * memory-pressure path). */
void em__blocks_evict_memory(em__blocks *b);

/* Bytes of memory blocks held. */
int64_t em__blocks_memory_bytes(em__blocks *b);

#endif /* EMBER_RUNTIME_BLOCKS_H */
