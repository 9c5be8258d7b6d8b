/* The parameter server's client side shared with the driver's file
 * (scheduler/ps.c): the handle's contents, routing and requests with
 * retries. docs/ps.md describes the design.
 */
#ifndef EMBER_SCHEDULER_PS_CLIENT_H
#define EMBER_SCHEDULER_PS_CLIENT_H

#include <stdint.h>

#include "ember.h"
#include "ps_int.h"

/* What a handle holds. */
typedef struct em__ps_desc {
    int64_t id;
    int dim;
    int nshards;
    int staleness;   /* < 0: every pull reads the shard */
    int timeout_ms;  /* per request, retries included */
    em_val addrs;    /* nshards strings: the shards' peer addresses */
    em_val hot;      /* map: key -> shard of the keys placed by a
                        rebalance */
} em__ps_desc;

/* The handle value for d, in a. */
em_status em__ps_handle_make(const em__ps_desc *d, em_arena *a, em_val *out);

/* d from a handle value (its strings in a); EM_EINVAL for a value that is
 * not one. */
em_status em__ps_handle_parse(em_val ref, em_arena *a, em__ps_desc *out);

/* The shard that holds key. */
int em__ps_shard_of(const em__ps_desc *d, em_val key);

/* Sends req to shard's process and waits for a done reply (in a): asks
 * again, backing off, while the answer is "not yet" or the executor is
 * gone (a restore may remap the shard), until d's timeout. */
em_status em__ps_call(em_ctx *ctx, const em__ps_desc *d, int shard,
                      em_val req, em_arena *a, em_val *reply);

/* The address that keeps shard s's snapshots: the next shard's (in
 * order, wrapping) that is another process; *out NULL when every shard is
 * in the same process. */
em_status em__ps_keeper(const em__ps_desc *d, int s, em_arena *a,
                        const char **out);

/* Pull and push for a context (a task's, or the driver's); staleness is
 * d's. */
em_status em__ps_pull(em_ctx *ctx, const em__ps_desc *d, const em_val *keys,
                      size_t n, double *out);
em_status em__ps_push(em_ctx *ctx, const em__ps_desc *d, const em_val *keys,
                      size_t n, const double *deltas);

#endif /* EMBER_SCHEDULER_PS_CLIENT_H */
