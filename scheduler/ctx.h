/* The context's internals, shared by the scheduler's files: configuration,
 * the RDD node registry, the block store, the local thread pool, and the
 * broadcast and accumulator tables. Nothing outside scheduler/ and ops/
 * sees this struct; the public handle is opaque.
 */
#ifndef EMBER_SCHEDULER_CTX_H
#define EMBER_SCHEDULER_CTX_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "ember.h"
#include "runtime/blocks.h"
#include "runtime/buf.h"
#include "job.h"
#include "runtime/rdd.h"

struct em__pool;
struct em_broadcast;
struct em_accum;

struct em_ctx {
    char *master;              /* the master URL as given */
    char *app_name;            /* for messages */
    int threads;               /* task threads (local master) */
    int max_attempts;          /* attempts per task before the job fails */
    int default_parallelism;   /* partitions when none is given */
    bool has_default_parallelism; /* set in the configuration */
    int64_t memory_bytes;      /* executor memory budget */
    bool has_memory;           /* set in the configuration */
    char *local_dir;           /* scratch files */
    bool has_progress;         /* draw the progress bar on stderr */
    bool is_gpu;               /* ember.gpu: GPU operators on */
    bool is_executor;          /* runs tasks for a driver elsewhere */
    volatile sig_atomic_t is_cancel_asked; /* em_ctx_cancel: stop the job */
    /* In an executor: fetches broadcast id's encoding from the driver. */
    em_status (*fetch_broadcast)(em_ctx *ctx, int id, em__buf *out);
    void *exec;                /* the executor or driver link, if any */
    /* Runs a stage somewhere else (the worker pool); NULL: on the local
     * thread pool. Same contract as em__stage_run. */
    em_status (*remote_stage_run)(em_ctx *ctx, em_rdd *rdd, const int *parts,
                                  int n, em__task_fn fn, em_val arg,
                                  em__job_result *out);

    pthread_mutex_t lock;      /* nodes, ids, broadcasts, accumulators */
    pthread_mutex_t job_lock;  /* stages from several driver threads run
                                  one after another */
    uint64_t serial;           /* unique in the process: tells references
                                  of different contexts apart */
    em_rdd *nodes;             /* every node, newest first */
    int next_rdd_id;
    int next_job_id;
    int next_stage_id;
    em__blocks *blocks;        /* cached partitions */
    struct em__pool *pool;     /* task threads */
    struct em__shuffle *shuffles; /* every shuffle, newest first */
    const struct em__block_fetcher *fetcher; /* how reduce tasks read
                                                shuffle blocks */
    int next_shuffle_id;
    char *shuffle_dir;         /* map output files, made on first use */
    char *checkpoint_dir;      /* this context's checkpoint directory */
    bool has_marked_checkpoints; /* some node waits to be checkpointed */
    bool is_checkpointing;     /* the driver is saving checkpoints */
    unsigned visit_epoch;      /* lineage traversals */
    int64_t stages_run;        /* statistics, for tests and progress */
    int64_t map_tasks_run;
    int64_t stages_skipped;
    int64_t task_us;           /* summed task attempt time */

    struct em_broadcast **bcasts; /* by id - 1; NULL once destroyed */
    size_t nbcasts, bcasts_cap;
    struct em_accum **accums;  /* by id - 1 */
    size_t naccums, accums_cap;
};

/* Makes a node of `kind` with nparts partitions over the given parents,
 * registered with ctx. Returns NULL (em_last_error set) on failure. */
em_rdd *em__rdd_new(em_ctx *ctx, const em__rdd_kind *kind, int nparts,
                    em_rdd *const *parents, int nparents, em__dep dep);

/* Sets a node's function, copying the environment into the node. */
em_status em__rdd_set_fn(em_rdd *rdd, em_fn f, em_fn *slot);

/* Copies v into the node's arena as its parameter value. */
em_status em__rdd_set_arg(em_rdd *rdd, em_val v);

/* Merges a finished task's accumulator copies into the driver's values;
 * called with ctx->lock held. */
em_status em__accums_merge(em_ctx *ctx, em_task *t);

/* The encoding of broadcast id, valid while it lives (driver side). */
em_status em__broadcast_bytes(em_ctx *ctx, int id, const void **data,
                              size_t *len);

/* Every accumulator as [[id, kind, zero, packed merge]...], in a. */
em_status em__accums_encode(em_ctx *ctx, em_arena *a, em_val *out);

/* In an executor: defines accumulator id as the driver has it (once). */
em_status em__accum_define(em_ctx *ctx, int id, int kind, em_val zero,
                           em_fn merge);

/* A task's accumulator updates as [id, value, ...], in a. */
em_status em__accum_updates(em_task *t, em_arena *a, em_val *out);

/* On the driver: merges updates made by em__accum_updates in an executor;
 * called with ctx->lock held. */
em_status em__accums_merge_val(em_ctx *ctx, em_val updates);

/* Frees broadcasts and accumulators at context destruction. */
void em__shared_vars_free(em_ctx *ctx);

#endif /* EMBER_SCHEDULER_CTX_H */
