/* The shuffle: what a wide dependency needs. A map task pushes its
 * partition's pairs through a writer that partitions them by key (and
 * combines values per key when the operator allows), spills sorted-by-
 * partition runs to disk when over its memory share, and leaves one file
 * with one checksummed segment per reduce partition. A reduce task reads
 * its segment from every map output and verifies it; a missing or corrupt
 * segment is a fetch failure (EM_EFETCH) that makes the scheduler rerun
 * exactly the map tasks whose output was lost. See docs/shuffle.md.
 *
 * Map output file (all integers little-endian):
 *
 *   offset        size        content
 *   0             off[1]      segment 0: msgpack records, concatenated
 *   off[r]        off[r+1]-.. segment r
 *   off[R]        8*(R+1)     the offsets off[0..R]
 *   ..            4*R         CRC-32 of each segment
 *   ..            8           R (u32), magic "EMSH" (u32 0x48534d45)
 *
 * The driver keeps the offsets and checksums in memory; the footer makes a
 * file self-describing for the worker pool's block server.
 */
#ifndef EMBER_SCHEDULER_SHUFFLE_H
#define EMBER_SCHEDULER_SHUFFLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ember.h"
#include "runtime/buf.h"
#include "runtime/rdd.h"

typedef enum em__part_kind {
    EM__PART_HASH = 0,  /* stable hash of the key modulo n */
    EM__PART_RANGE,     /* sorted bounds from a sample */
    EM__PART_USER,      /* a function key -> int, modulo n */
} em__part_kind;

/* How keys map to reduce partitions. */
typedef struct em__partitioner {
    em__part_kind kind;
    int n;              /* partitions */
    em_val bounds;      /* RANGE: n-1 sorted keys (owned by the node) */
    bool is_desc;       /* RANGE: descending order */
    em_fn fn;           /* USER: the function; RANGE: optional key fn */
} em__partitioner;

/* True when both send every key to the same partition. */
bool em__partitioner_eq(const em__partitioner *a, const em__partitioner *b);

/* The partition of key. */
em_status em__partitioner_of(const em__partitioner *p, em_task *t,
                             em_val key, int *out);

/* Combining values per key (combineByKey's three functions). */
typedef struct em__aggregator {
    em_fn create;           /* v -> c; none: merge_value(zero, v) */
    em_val zero;            /* the start of every key's combiner when
                               create is none (foldByKey, aggregateByKey) */
    em_fn merge_value;      /* c, v -> c */
    em_fn merge_combiners;  /* c, c -> c */
    bool map_side_combine;  /* combine before writing map output */
} em__aggregator;

/* Starts a combiner from a value: create(v), or merge_value(zero, v). */
em_status em__agg_create(const em__aggregator *agg, em_task *t, em_val v,
                         em_val *out);

/* A shuffle block: the segment of one map output for one reduce
 * partition. */
typedef struct em__block_id {
    int shuffle;
    int map;
    int reduce;
} em__block_id;

/* Where a block lives. */
typedef struct em__block_loc {
    const char *host;     /* NULL: this process's disk; otherwise the
                             block server that holds the file */
    const char *path;     /* the map output file */
    uint64_t offset;      /* the segment's first byte */
    uint64_t len;         /* its length */
    uint64_t file_size;   /* the whole file's expected size */
    uint32_t crc;         /* the segment's CRC-32 */
} em__block_loc;

/* How reduce tasks get blocks: the local disk now; the worker pool adds a
 * fetcher that asks the block server at loc->host. */
typedef struct em__block_fetcher {
    /* Appends the block's bytes to out, verified against loc. EM_EFETCH
     * (with the reason) when it is missing, short or corrupt. */
    em_status (*fetch)(const struct em__block_fetcher *f,
                       const em__block_id *id, const em__block_loc *loc,
                       em__buf *out);
} em__block_fetcher;

/* Reads blocks from map output files on this machine. */
extern const em__block_fetcher em__local_fetcher;

/* One map task's output. */
typedef struct em__map_output {
    char *host;         /* where it lives (NULL: here) */
    char *path;         /* the file; NULL while missing */
    uint64_t *offsets;  /* nreduce + 1 */
    uint32_t *crcs;     /* nreduce */
} em__map_output;

typedef struct em__shuffle {
    int id;
    em_ctx *ctx;
    em_rdd *parent;          /* the map side */
    int nmaps;
    em__partitioner part;    /* nreduce is part.n */
    em__aggregator agg;
    bool has_agg;
    pthread_mutex_t lock;    /* outs */
    em__map_output *outs;    /* nmaps */
    em_arena *arena;         /* an executor's copy: bounds, functions */
    struct em__shuffle *next; /* the context's list */
} em__shuffle;

/* Makes a shuffle of parent's pairs by p (copied; the caller keeps
 * bounds alive in the reduce node), with an optional aggregator. Owned by
 * the context. */
em__shuffle *em__shuffle_new(em_rdd *parent, const em__partitioner *p,
                             const em__aggregator *agg);

/* In an executor: defines shuffle `id` as the driver describes it (p and
 * agg are copied with their values and environments), or returns the one
 * defined before. */
em__shuffle *em__shuffle_define(em_ctx *ctx, int id, int nmaps,
                                const em__partitioner *p,
                                const em__aggregator *agg);

/* The map task body (arg: the shuffle id); its result is the map output's
 * description for em__shuffle_register. */
em_status em__shuffle_map_task(em_task *t, em_rdd *rdd, int part,
                               em_val arg, em_arena *res, em_val *out);

/* Forgets every map output held by host (a lost worker's block server),
 * so the next prepare recomputes them. */
void em__shuffle_forget_host(em__shuffle *s, const char *host);

/* Forgets map output m. */
void em__shuffle_forget_output(em__shuffle *s, int m);

/* Copies the host of map output m to buf; false when it has none (it is
 * missing, or local). */
bool em__shuffle_output_host(em__shuffle *s, int m, char *buf, size_t cap);

/* The shuffle with id `id` of ctx, or NULL. */
em__shuffle *em__shuffle_find(em_ctx *ctx, int id);

/* Records map output m, described by desc ([path, [offsets], [crcs]], the
 * result of a map task), as held by host (NULL: this machine). EM_EPROTO
 * for a malformed description. */
em_status em__shuffle_register(em__shuffle *s, int m, const char *host,
                               em_val desc);

/* Runs the map tasks of every shuffle in rdd's lineage whose output is
 * missing, parents first. */
em_status em__shuffle_prepare(em_ctx *ctx, em_rdd *rdd);

/* Pushes the records of reduce partition r, from every map output, into
 * out. EM_EFETCH when an output is missing or corrupt (that output is then
 * forgotten, so the next prepare recomputes it). */
em_status em__shuffle_read(em__shuffle *s, int r, em_task *t, em__sink *out);

/* The per-task memory share for shuffle buffers. */
int64_t em__task_budget(const em_ctx *ctx);

/* Frees every shuffle of the context and removes its files. */
void em__shuffles_free(em_ctx *ctx);

#endif /* EMBER_SCHEDULER_SHUFFLE_H */
