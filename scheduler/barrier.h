/* Barrier stages inside the scheduler (include/ember/barrier.h is the
 * user's side): what a round -- one attempt of a barrier stage -- is, the
 * task's barrier context, how a stage is recognized, how local mode runs
 * one, and the collectives' mailboxes (coll.c). docs/collectives.md.
 *
 * Messages of the collectives are requests of service EM__PEER_COLL
 * (peer.h) from a task to the process of another task of the same round;
 * the handler files each into a mailbox keyed by (round, collective call,
 * step, sender, receiver), where the receiving task waits for it with a
 * timeout. A round that failed is aborted in a process: its waits end at
 * once with EM_ECANCELED and its messages are dropped.
 */
#ifndef EMBER_SCHEDULER_BARRIER_H
#define EMBER_SCHEDULER_BARRIER_H

#include <stdbool.h>
#include <stdint.h>

#include "ember.h"
#include "ember/barrier.h"
#include "job.h"

/* One attempt of a barrier stage, shared by its tasks. */
typedef struct em__barrier_round {
    uint64_t serial;          /* the driver context's serial */
    int stage;                /* the stage id (unique in that context) */
    int attempt;              /* the stage attempt */
    int n;                    /* tasks */
    const char *const *peers; /* the peer address of each task, by index */
} em__barrier_round;

/* A task's barrier context (em_task_barrier). */
struct em_barrier {
    em_ctx *ctx;
    const em__barrier_round *round;
    int index;                /* the task's index in the round */
    int seq;                  /* collective calls made so far */
    int timeout_ms;           /* the bound of every wait */
    em_barrier_stats stats;   /* what this task sent */
};

/* Sets up b for task index of round r (timeout from the environment). */
void em__barrier_init(em_barrier *b, em_ctx *ctx, const em__barrier_round *r,
                      int index);

/* True when the stage that computes rdd is a barrier stage: a node made
 * by em_rdd_barrier_map_partitions is on its narrow lineage. */
bool em__stage_is_barrier(em_rdd *rdd);

/* EM_EINVAL unless the stage runs every partition of rdd, in order: a
 * barrier stage cannot compute part of its partitions. */
em_status em__barrier_check_parts(em_rdd *rdd, const int *parts, int n);

/* Local mode: runs a barrier stage on the thread pool (em__stage_run's
 * contract), the whole stage again while an attempt fails. */
em_status em__barrier_stage_run_local(em_ctx *ctx, em_rdd *rdd, int n,
                                      em__task_fn fn, em_val arg,
                                      em__job_result *out);

/* Runs one attempt of a barrier stage on the local thread pool (local.c):
 * every task at once, with em_task_barrier set, none retried; the first
 * failure aborts the round, so that the other tasks' collectives end,
 * and fails the attempt. Sets round->stage to the stage's id. */
em_status em__stage_run_round(em_ctx *ctx, em_rdd *rdd, int n, em__task_fn fn,
                              em_val arg, em__job_result *out,
                              em__barrier_round *round);

/* Registers the collectives' handler with the peer endpoint (once; any
 * thread). An executor calls it at start-up, before peers send. */
em_status em__coll_init(void);

/* Ends round (serial, stage, attempt) in this process: tasks waiting in
 * its collectives fail at once with EM_ECANCELED, its messages are
 * dropped, and later ones are refused. Any thread. */
void em__coll_abort(uint64_t serial, int stage, int attempt);

/* The collectives' mail that waits in this process (for tests). */
int em__coll_pending(void);

#endif /* EMBER_SCHEDULER_BARRIER_H */
