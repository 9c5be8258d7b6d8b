/* A stage as a value, for the worker pool: the driver encodes what a task
 * of the stage needs -- its RDD's lineage down to the shuffles it reads,
 * those shuffles with their partitioners, aggregators and map output
 * locations, the task body and its parameters, and the accumulators --
 * and an executor decodes it into nodes of its own and runs tasks on them.
 * Functions travel as module-relative references (runtime/fnref.h); no
 * address leaves the driver.
 *
 * The value (all fields positional; see docs/protocol.md):
 *
 *   [stage id, job id, root rdd id, task fn ref, task arg,
 *    [node...], [shuffle...], [accumulator...], checkpoint dir or nil,
 *    driver context serial]
 *   node:    [id, kind ref, kind name, nparts, dep, [parent ids],
 *             [shuffle id or -1 per parent], fn, fn2, arg, storage,
 *             state shuffle id or -1, name or nil]
 *            a node outside the stage (a shuffle's map side) is
 *            [id, nil, nil, nparts]
 *   shuffle: [id, nmaps, part kind, nreduce, bounds, is_desc, part fn,
 *             aggregator or nil, [output or nil per map]]
 *            aggregator: [create, zero, merge value, merge combiners,
 *                         map side combine]
 *            output: [host, path, [offsets], [crcs]]
 *   accumulator: [id, kind, zero, merge fn]
 *   fn: [function ref or nil, env]
 */
#ifndef EMBER_SCHEDULER_LINEAGE_H
#define EMBER_SCHEDULER_LINEAGE_H

#include "ember.h"
#include "job.h"
#include "runtime/rdd.h"

/* A stage decoded in an executor. */
typedef struct em__xstage {
    int id;
    int job_id;
    em_arena *arena;    /* nodes and values */
    em_rdd *root;       /* the RDD the tasks compute */
    em__task_fn fn;     /* the task body */
    em_val arg;         /* its parameters */
    em_rdd **nodes;     /* every decoded node */
    int nnodes;
} em__xstage;

/* Encodes the stage that runs fn(arg) over partitions of rdd, into a.
 * EM_EINVAL (with the reason) when something in the lineage cannot travel:
 * a function that is not in a loaded module, a handle made by another
 * process. */
em_status em__stage_encode(em_ctx *ctx, int stage_id, int job_id,
                           em_rdd *rdd, em__task_fn fn, em_val arg,
                           em_arena *a, em_val *out);

/* Decodes a stage in executor context ctx: makes its nodes, defines or
 * updates its shuffles (with the map output locations given) and its
 * accumulators. Untrusted input: malformed values are EM_EPROTO. */
em_status em__stage_decode(em_ctx *ctx, em_val v, em__xstage **out);

void em__xstage_free(em__xstage *s);

#endif /* EMBER_SCHEDULER_LINEAGE_H */
