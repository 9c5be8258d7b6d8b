/* Running tasks of stages decoded from another process (lineage.h): the
 * part of an executor that does not depend on how the stage arrived, and
 * the driver's side of a task's result. Used by the worker pool's executor
 * process and by in-process tests.
 *
 * A task's result travels as the value
 *
 *   [status, message or nil, value, [accumulator id, update, ...],
 *    fetch failure: nil or [shuffle id, map id]]
 */
#ifndef EMBER_SCHEDULER_EXEC_H
#define EMBER_SCHEDULER_EXEC_H

#include "ember.h"
#include "job.h"
#include "lineage.h"

/* Makes an executor's context: cores task threads' worth of budget,
 * memory_bytes, scratch and map output files under work_dir. */
em_ctx *em__exec_ctx_create(int cores, int64_t memory_bytes,
                            const char *work_dir);

/* The executor's hooks for a task (runtime/rdd.h, em_task); NULL for
 * none. */
typedef struct em__task_hooks {
    void (*on_block_put)(em_task *t, int rdd, int part, em_storage level,
                         const em__part *p, bool is_replica);
    em_status (*find_replica)(em_task *t, int rdd, int part, em__part *p);
    void *data;
    struct em_barrier *barrier; /* a barrier stage's task: its context */
} em__task_hooks;

/* Runs one attempt of partition `part` of stage x and writes its result
 * value (as above, functions exported) to *out, in res. Fails only when
 * the result itself cannot be made (out of memory); a failing task is a
 * result with its status. */
em_status em__exec_task(em_ctx *ctx, em__xstage *x, int part, int attempt,
                        const em__task_hooks *hooks, em_arena *scratch,
                        em_arena *res, em_val *out);

/* On the driver: reads a task result. On success *value is the task's
 * value and its accumulator updates are merged; on failure returns the
 * task's status with its message set, and *fetch_shuffle and *fetch_map name
 * the lost map output when the status is EM_EFETCH (else -1). */
em_status em__exec_result_apply(em_ctx *ctx, em_val result, em_val *value,
                                int *fetch_shuffle, int *fetch_map);

#endif /* EMBER_SCHEDULER_EXEC_H */
