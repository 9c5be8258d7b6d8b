/* Reduce-side node kinds shared by the wide operators (shuffled.c). */
#ifndef EMBER_OPS_CORE_SHUFFLED_H
#define EMBER_OPS_CORE_SHUFFLED_H

#include "ops.h"
#include "scheduler/shuffle.h"

extern const em__rdd_kind em__plain_shuffled_kind;   /* records as read */
extern const em__rdd_kind em__combine_shuffled_kind; /* (k, combined) */
extern const em__rdd_kind em__group_shuffled_kind;   /* (k, [v...]) */
extern const em__rdd_kind em__sort_shuffled_kind;    /* sorted by key */

/* Makes the reduce-side node of a new shuffle of parent. The node's state
 * is the shuffle; its partitioner a copy of p. */
em_rdd *em__shuffled_new(em_rdd *parent, const em__rdd_kind *kind,
                         const em__partitioner *p,
                         const em__aggregator *agg);

/* The partition count of a wide operator (see ember.h). */
int em__default_partitions(em_ctx *ctx, em_rdd *const *rdds, size_t n,
                           int requested);

/* Called once per group by em__group_read. */
typedef em_status (*em__group_fn)(em_task *t, em_val key,
                                  const em_val *vals, size_t n, void *arg);

/* Groups the values of partition `part` of every parent of rdd by key
 * (reading a parent through its shuffle when rdd->shuffles[i] is set,
 * directly otherwise) and calls emit per key. */
em_status em__group_read(em_rdd *rdd, int part, em_task *t, const char *op,
                         bool is_tagged, em__group_fn emit, void *arg);

/* With is_tagged, the values of parent i are grouped as the pairs
 * [i, value], so that emit can tell the inputs apart (cogroup). */

#endif /* EMBER_OPS_CORE_SHUFFLED_H */
