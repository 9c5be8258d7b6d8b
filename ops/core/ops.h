/* Shared pieces of the core operators: making nodes, per-record sinks,
 * and the private status a sink returns to stop its source early.
 */
#ifndef EMBER_OPS_CORE_OPS_H
#define EMBER_OPS_CORE_OPS_H

#include "ember.h"
#include "runtime/rdd.h"
#include "scheduler/ctx.h"
#include "scheduler/job.h"

/* Returned by a sink that needs no more records (take, first): sources
 * pass it up unchanged and the task body turns it into success. */
#define EM__STOP EM_ECANCELED

/* A node kind whose records come from its one parent, record by record:
 * push transforms one record and pushes the results to `out`. */
typedef struct em__narrow_kind {
    em__rdd_kind base;
    em_status (*push)(em_rdd *rdd, em_task *t, em_val rec, em__sink *out);
    bool keeps_partitioner; /* keys stay in place (filter, mapValues) */
} em__narrow_kind;

/* compute for every em__narrow_kind: pulls the parent's partition through
 * the kind's push. */
em_status em__narrow_compute(em_rdd *rdd, int part, em_task *t,
                             em__sink *out);

/* Makes a node of a narrow kind over parent with function f (which may be
 * EM_FN_NONE). NULL parent gives NULL. */
em_rdd *em__narrow_new(em_rdd *parent, const em__narrow_kind *kind, em_fn f);

/* A sink collecting records into a growing array in a given arena. */
typedef struct em__vec_sink {
    em__sink base;
    em_arena *arena;  /* where copies go */
    em_val *recs;     /* mem.h array */
    size_t n, cap;
    size_t limit;     /* stop after this many (SIZE_MAX: no limit) */
} em__vec_sink;

void em__vec_sink_init(em__vec_sink *s, em_arena *a, size_t limit);
/* Makes the array value of the collected records in the sink's arena and
 * frees the sink's array. */
em_status em__vec_sink_finish(em__vec_sink *s, em_val *out);
void em__vec_sink_fini(em__vec_sink *s);

/* Runs a job counting the records of the given partitions (all when
 * parts is NULL); res->vals are ints. */
em_status em__job_run_count(em_rdd *rdd, const int *parts, int n,
                            em__job_result *res);

/* Checks the argument of an operator: NULL rdd keeps the pending error. */
#define EM__NEED_RDD(r)                                                        \
    do {                                                                       \
        if ((r) == NULL)                                                       \
            return NULL;                                                       \
    } while (0)

#endif /* EMBER_OPS_CORE_OPS_H */
