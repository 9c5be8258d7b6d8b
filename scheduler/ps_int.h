/* The parameter server's pieces shared by its files: the requests a shard
 * answers (scheduler/ps_shard.c), the configuration every shard of one
 * server holds, and the optimizer callbacks ops/ml registers (scheduler/
 * may not call ops/). docs/ps.md describes the design.
 */
#ifndef EMBER_SCHEDULER_PS_INT_H
#define EMBER_SCHEDULER_PS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ember.h"
#include "ember/ps.h"

/* Requests to the EM__PEER_PS service: arrays [op, ps id, shard, ...].
 * Replies: [EM__PS_DONE, ...] or [EM__PS_NOT_YET] (the shard is not
 * hosted here yet: ask again). */
enum {
    EM__PS_CREATE = 1,  /* conf, snapshot|nil -> [done]: the shard is
                           (re)made here, from the snapshot if any */
    EM__PS_PULL = 2,    /* keys, versions|nil, staleness -> [done,
                           version, [vec|nil per key]] */
    EM__PS_PUSH = 3,    /* keys, deltas vec -> [done, version,
                           snapshot|nil]: the snapshot when this push
                           took one, for the caller to send to the
                           keeper */
    EM__PS_STATS = 4,   /* -> [done, keys, requests, version, snapshots,
                           snapshot version] */
    EM__PS_TOP = 5,     /* k -> [done, requests, [key, hits, ...]] */
    EM__PS_TAKE = 6,    /* keys -> [done, [key, w, optim|nil, ...]]; the
                           keys are marked moved */
    EM__PS_PUT = 7,     /* [key, w, optim|nil, ...] -> [done] */
    EM__PS_RESET = 8,   /* -> [done]: request counters restart */
    EM__PS_SNAPSHOT = 9, /* -> [done, snapshot|nil] */
    EM__PS_DROP = 10,   /* -> [done]: the server leaves this process */
    EM__PS_REMAP = 11,  /* addr, dim, shards -> [done]: the shard now
                           lives at addr */
    EM__PS_KEEP = 12,   /* snapshot -> [done]: kept here for a restore
                           when the shard's own process dies */
    EM__PS_KEPT = 13,   /* -> [done, snapshot|nil] */
    EM__PS_ACKED = 14,  /* -> [done, the highest version of the shard a
                           push from this process was answered with, or
                           -1] */
};

enum { EM__PS_DONE = 0, EM__PS_NOT_YET = 1 };

/* The configuration of one server, as every shard holds it. */
typedef struct em__ps_conf {
    int dim;
    int shards;
    em_ps_init init;
    double init_a, init_b;
    uint64_t seed;
    bool has_optim;
    em_optim_conf optim;
    int64_t snapshot_every;
} em__ps_conf;

/* The conf as a request value in a, and back (EM_EFORMAT when v is not
 * one). */
em_status em__ps_conf_to_val(const em__ps_conf *c, em_arena *a, em_val *out);
em_status em__ps_conf_from_val(em_val v, em__ps_conf *out);

/* Server-side optimizers, one per key, supplied by ops/ml. */
typedef struct em__ps_updater {
    /* NULL with em_last_error set for a bad conf or no memory. */
    void *(*create)(const em_optim_conf *c, size_t dim);
    void (*step)(void *o, double *w, const double *g);
    void (*destroy)(void *o);
    em_status (*to_val)(const void *o, em_arena *a, em_val *out);
    /* EM_EFORMAT when v is not a state of this conf and dimension,
     * EM_ENOMEM. */
    em_status (*from_val)(const em_optim_conf *c, size_t dim, em_val v,
                          void **out);
} em__ps_updater;

/* Sets the updater (once, at load time) and registers the shards'
 * request handler with the peer service of this process. */
void em__ps_init(const em__ps_updater *u);

/* em_ps_create without the optimizer module's registration (which
 * ops/ml/ps_optim.c does before calling it). */
em_ps *em__ps_create(em_ctx *ctx, const em_ps_opts *opts);

/* The key's initial vector (dim doubles) under conf c. */
void em__ps_init_value(const em__ps_conf *c, em_val key, double *out);

/* Client side (scheduler/ps_client.c): the shard's address for this
 * process's tasks from now on (after a restore elsewhere); req is the
 * EM__PS_REMAP request. */
em_status em__ps_remap(const em_val *req);

/* Client side: the highest version of shard a push from this process
 * was answered with, or -1. */
int64_t em__ps_acked(int64_t id, int shard);

/* Drops server id's shards, kept snapshots and client state from this
 * process (what EM__PS_DROP does; it needs no memory). */
void em__ps_drop_here(int64_t id);

/* Client side: forgets the cache and addresses of server id. */
void em__ps_client_drop(int64_t id);

/* The largest staleness (shard version at read time minus the version of
 * the copy returned) of any pull of ps in this process so far. For
 * tests. */
int64_t em__ps_max_lag(const em_ps *ps);
int64_t em__ps_client_max_lag(int64_t id);

/* Local mode, for tests: the shard's state is thrown away as when its
 * executor dies, and the shard restored from its latest snapshot, the
 * loss counted in the stats. */
em_status em__ps_lose_shard(em_ps *ps, int shard);

#endif /* EMBER_SCHEDULER_PS_INT_H */
