/* The parameter server: a table from keys (any value) to dense vectors of
 * one dimension, sharded by the stable hash of the key across the
 * application's executors (in local mode: all shards in the one process).
 * Tasks pull current values and push deltas, which the shard adds, or
 * feeds as gradients to an optimizer kept on the shard. docs/ps.md is the
 * guide: consistency, placement of hot keys, snapshots and what is lost
 * when an executor dies.
 */
#ifndef EMBER_INCLUDE_EMBER_PS_H
#define EMBER_INCLUDE_EMBER_PS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"
#include "ml_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The handle kind of the value tasks capture (em_ps_ref). */
#define EM_PS_HANDLE_KIND 0x5053

/* The value a key holds before its first push. Random initial values are
 * drawn from (seed, hash of the key), so they do not depend on which
 * shard, process or restore first touches the key. */
typedef enum em_ps_init {
    EM_PS_INIT_ZEROS = 0,
    EM_PS_INIT_CONSTANT, /* every element init_a */
    EM_PS_INIT_UNIFORM,  /* uniform on [init_a, init_b) */
    EM_PS_INIT_NORMAL,   /* normal, mean init_a, standard deviation init_b */
} em_ps_init;

/* Options of a parameter server; zero means the default for each field. */
typedef struct em_ps_opts {
    int dim;                /* elements per key, >= 1 (1: key -> float) */
    int shards;             /* <= 0: one per executor (local: 4) */
    em_ps_init init;
    double init_a, init_b;  /* the init's parameters */
    uint64_t seed;          /* of random inits */
    bool has_optim;         /* pushes are gradients of `optim`, applied
                               on the shard per key; false: deltas added */
    em_optim_conf optim;
    int64_t snapshot_every; /* a shard snapshots itself every N pushes;
                               0: never (a lost shard restarts from
                               init) */
    int staleness;          /* bounded staleness s: a pull may return a
                               copy cached in the task's process while
                               the shard has applied at most s pushes
                               since it was read; < 0 or is_blocking:
                               every pull reads the shard */
    bool is_blocking;       /* a pull sees every push that returned
                               before it (pushes always return once
                               applied) */
    int timeout_ms;         /* per request, retries included; default
                               30000 */
} em_ps_opts;

/* A parameter server, owned by the driver. Library-allocated: create,
 * then em_ps_destroy. */
typedef struct em_ps em_ps;

/* Creates the shards (in local mode in this process; on the pool one
 * after another on the live executors). NULL with EM_EINVAL for bad
 * options, EM_ELOST when an executor cannot be reached, EM_ENOMEM. */
EM_API em_ps *em_ps_create(em_ctx *ctx, const em_ps_opts *opts);

/* Drops every shard and the caches of every process. Accepts NULL. */
EM_API void em_ps_destroy(em_ps *ps);

/* The value to capture in a function's environment: the server's id and
 * its shard -> executor map. Valid until the next em_ps_rebalance or the
 * destruction of ps (copy it into the environment as any value). */
EM_API em_val em_ps_ref(const em_ps *ps);

/* The dimension of the server a handle refers to; EM_EINVAL for a value
 * that is not a handle. */
EM_API em_status em_ps_ref_dim(em_val ps, int *out);

/* Inside a task: the values of keys[0..n) into out (n * dim doubles, key
 * i at out[i * dim]). A key never pushed holds its initial value. With
 * staleness s, a key may come from the process's cache when its shard
 * has applied at most s pushes since the copy was read. EM_EINVAL for a
 * handle that is not a parameter server's, EM_ETIMEOUT, EM_ELOST when a
 * shard's executor is gone (the task fails and its retry sees the
 * restored shard). */
EM_API em_status em_ps_pull(em_task *t, em_val ps, const em_val *keys,
                            size_t n, double *out);

/* Inside a task: pushes deltas (n * dim doubles, key i's at
 * deltas[i * dim]) for keys[0..n); returns once every shard applied
 * them. A key repeated in one push gets each of its deltas. Non-finite
 * deltas are refused (EM_EINVAL) before anything is sent. */
EM_API em_status em_ps_push(em_task *t, em_val ps, const em_val *keys,
                            size_t n, const double *deltas);

/* On the driver: pull and push as above, always reading the shards. */
EM_API em_status em_ps_get(em_ps *ps, const em_val *keys, size_t n,
                           double *out);
EM_API em_status em_ps_put(em_ps *ps, const em_val *keys, size_t n,
                           const double *deltas);

/* The load of one shard since creation or the last rebalance. */
typedef struct em_ps_shard_stats {
    int64_t keys;          /* keys held */
    int64_t requests;      /* key accesses: keys pulled + keys pushed */
    int64_t pushes;        /* push requests applied (the shard's
                              version) */
    int64_t snapshots;     /* snapshots taken */
    int64_t snapshot_version; /* pushes the latest snapshot holds */
} em_ps_shard_stats;

/* The server's state: shard count and losses. */
typedef struct em_ps_stats {
    int shards;
    int hot_keys;          /* keys placed by em_ps_rebalance */
    int64_t restores;      /* shards restored after their executor died */
    int64_t lost_pushes;   /* pushes applied after the snapshot a
                              restored shard came back from: lost */
} em_ps_stats;

EM_API em_status em_ps_stats_get(em_ps *ps, em_ps_stats *out);
/* EM_EINVAL for a shard out of range. */
EM_API em_status em_ps_shard_stats_get(em_ps *ps, int shard,
                                       em_ps_shard_stats *out);

/* Hot keys: collects the hot_keys most accessed keys of every shard and
 * places them again, heaviest first, each on the shard with the least
 * load so far (the load of a shard's other keys counted first), moving
 * their values and optimizer state. Then every shard's request counters
 * restart. Tasks must capture the new em_ps_ref: a handle from before
 * fails its pulls and pushes of moved keys with EM_ESTATE, so call it
 * between jobs (a running job's tasks, retries included, hold the old
 * handle). */
EM_API em_status em_ps_rebalance(em_ps *ps, int hot_keys);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_PS_H */
