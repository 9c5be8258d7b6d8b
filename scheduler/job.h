/* Running jobs on the local executor: a job is one stage of tasks, one per
 * requested partition, run on the context's thread pool. Tasks that fail
 * are retried up to the context's attempt limit; the job fails with the
 * first cause once a task has exhausted its attempts. (Shuffle stages are
 * scheduled by the DAG scheduler on top of this.)
 */
#ifndef EMBER_SCHEDULER_JOB_H
#define EMBER_SCHEDULER_JOB_H

#include "ember.h"
#include "runtime/rdd.h"

/* A task body: computes something from partition `part` of rdd and writes
 * the task's result (allocated in res, which outlives the task) to *out.
 * Its parameters are one value, arg, so that a task can be sent to another
 * process: functions inside it are function values (runtime/fnref.h). */
typedef em_status (*em__task_fn)(em_task *t, em_rdd *rdd, int part,
                                 em_val arg, em_arena *res, em_val *out);

/* The results of a job: one value per requested partition, in request
 * order, each in its task's arena. */
typedef struct em__job_result {
    em_val *vals;      /* n results */
    em_arena **arenas; /* n arenas holding them */
    int n;
} em__job_result;

/* Runs fn over partitions parts[0..n) of rdd (all partitions when parts is
 * NULL, n ignored). On success fills *out, to be freed with
 * em__job_result_fini. On failure *out is empty and the status and message
 * are the first failing task's. */
em_status em__job_run(em_ctx *ctx, em_rdd *rdd, const int *parts, int n,
                      em__task_fn fn, em_val arg, em__job_result *out);

/* Allocates room for n results (all nil, no arenas). */
em_status em__job_result_init(em__job_result *r, int n);

void em__job_result_fini(em__job_result *r);

/* Runs one stage: fn over the given partitions of rdd, without looking at
 * shuffle dependencies (their map outputs must exist). em__job_run is
 * em__shuffle_prepare followed by this, retried when a task reports a
 * fetch failure (EM_EFETCH). */
em_status em__stage_run(em_ctx *ctx, em_rdd *rdd, const int *parts, int n,
                        em__task_fn fn, em_val arg, em__job_result *out);

/* Draws the console progress bar of a stage on stderr when the context
 * has it on, at most every 100 ms; is_final erases it. *drawn_ms keeps
 * when it was last drawn (0 at first). */
void em__progress_draw(const em_ctx *ctx, int stage_id, int done,
                       int running, int n, int64_t *drawn_ms, bool is_final);

/* Saves the marked checkpoints in rdd's lineage (after a job over it). */
em_status em__checkpoint_after_job(em_ctx *ctx, em_rdd *rdd);
void em__checkpoint_free(em_ctx *ctx);

/* The thread pool. */
struct em__pool *em__pool_create(em_ctx *ctx, int threads);
void em__pool_destroy(struct em__pool *p);

/* True when called on one of the pool's task threads. */
bool em__pool_is_task_thread(const struct em__pool *p);

#endif /* EMBER_SCHEDULER_JOB_H */
