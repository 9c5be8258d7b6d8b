/* Barrier stages and collectives (scheduler/barrier.c, scheduler/coll.c):
 * Spark's barrier execution mode, where every task of a stage starts
 * together, and the collectives its tasks call on each other -- barrier,
 * allGather, and allReduce of f64 vectors by a ring or a binary tree.
 * docs/collectives.md is the guide.
 */
#ifndef EMBER_INCLUDE_EMBER_BARRIER_H
#define EMBER_INCLUDE_EMBER_BARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"

#ifdef __cplusplus
extern "C" {
#endif

/* As em_rdd_map_partitions (f gets the partition's records as one array
 * and returns an array), in a barrier stage: every task of the stage
 * starts at the same time, and inside f em_task_barrier(t) gives the
 * collectives. The stage needs as many free task slots as the RDD has
 * partitions (local[N]: N >= partitions; on the pool the driver waits for
 * that many free cores, and the job fails when the pool cannot have them).
 * When any task fails, the whole stage runs again, every task with a new
 * attempt number, up to the context's attempts per task. Actions over
 * part of the partitions (first, take) cannot run a barrier stage. NULL
 * with em_last_error set for a NULL rdd or function. */
EM_API em_rdd *em_rdd_barrier_map_partitions(em_rdd *rdd, em_fn f);

/* A task's view of its barrier stage; valid while the task runs. */
typedef struct em_barrier em_barrier;

/* Inside a task of a barrier stage: its barrier context; NULL in any
 * other task. */
EM_API em_barrier *em_task_barrier(em_task *t);

/* The task's index in the stage (its partition) and the stage's number
 * of tasks (Spark's getTaskInfos().length). */
EM_API int em_barrier_partition(const em_barrier *b);
EM_API int em_barrier_num_tasks(const em_barrier *b);

/* Waits until every task of the stage has called it (the k-th call of
 * each task meets the k-th call of the others, for every collective).
 * Fails when a peer fails or is lost (EM_ECANCELED, EM_ELOST) or after
 * the barrier timeout (EM_ETIMEOUT; $EMBER_BARRIER_TIMEOUT_MS, default
 * 120000); a failure fails the task, and with it the stage attempt. */
EM_API em_status em_barrier_sync(em_barrier *b);

/* Sends v to every task and writes the array of every task's value, by
 * partition, to *out (in a). Errors as em_barrier_sync. */
EM_API em_status em_barrier_all_gather(em_barrier *b, em_val v, em_arena *a,
                                       em_val *out);

/* Reduction operators of em_barrier_all_reduce. */
typedef enum em_reduce_op {
    EM_REDUCE_SUM = 0,
    EM_REDUCE_MEAN, /* the sum divided by the number of tasks */
    EM_REDUCE_MAX,
    EM_REDUCE_MIN
} em_reduce_op;

/* Algorithms of em_barrier_all_reduce. */
typedef enum em_allreduce_algo {
    EM_ALLREDUCE_RING = 0, /* reduce-scatter then all-gather around a
                              ring: 2(m-1) steps of about k/m elements */
    EM_ALLREDUCE_TREE      /* reduce up a binary tree, broadcast down */
} em_allreduce_algo;

/* Reduces every task's vector v elementwise with op and writes the result
 * (the same in every task) to *out, in a. v is a dense f64 vector (every
 * op) or a sparse vector (EM_REDUCE_SUM only; the result is sparse); every task must give
 * the same kind and length (a sparse vector's dimension). EM_ETYPE for another value, EM_EINVAL
 * for an op the kind does not have or lengths that differ; otherwise the
 * errors of em_barrier_sync. */
EM_API em_status em_barrier_all_reduce(em_barrier *b, em_val v,
                                       em_reduce_op op,
                                       em_allreduce_algo algo, em_arena *a,
                                       em_val *out);

/* What a task has sent to the other tasks of its stage so far. */
typedef struct em_barrier_stats {
    uint64_t messages;  /* requests sent */
    uint64_t elements;  /* vector elements in them (a sparse vector's
                           non-zeros) */
    uint64_t bytes;     /* encoded bytes of the requests */
} em_barrier_stats;

EM_API void em_barrier_stats_get(const em_barrier *b, em_barrier_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_INCLUDE_EMBER_BARRIER_H */
