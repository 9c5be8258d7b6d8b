/* The RDD graph: nodes with parents, dependency kinds, partition counts, a
 * compute function per partition (through the node's kind), a storage level
 * and a name; and the push pipeline records flow through. See DESIGN.md,
 * "Graph and execution", and docs/internals.md.
 *
 * Computing partition p of a node pushes its records, one call per record,
 * into a sink. A narrow operator computes by asking its parent to push into
 * a sink of its own that transforms each record and pushes it on: a chain
 * of narrow operators is one fused pipeline per partition, with no
 * intermediate partition unless a node on the way is persisted.
 *
 * Memory: values pushed into a sink live in the task's scratch arena (or in
 * a source's storage) only until the push returns; a sink that keeps a
 * record copies it. Sources rewind the scratch arena after each record.
 */
#ifndef EMBER_RUNTIME_RDD_H
#define EMBER_RUNTIME_RDD_H

#include <stdbool.h>
#include <stdint.h>

#include "ember.h"
#include "part.h"

typedef struct em__sink em__sink;

/* Where records go: push is called once per record, in order. */
struct em__sink {
    em_status (*push)(em__sink *s, em_task *t, em_val rec);
};

/* Dependency kinds. */
typedef enum em__dep {
    EM__DEP_NARROW = 0,  /* a partition needs a few parent partitions */
    EM__DEP_SHUFFLE,     /* a partition needs every parent partition */
} em__dep;

/* What a node is: its compute function and how to release its state. */
typedef struct em__rdd_kind {
    const char *name; /* shown by toDebugString: "map", "textFile", ... */
    /* Pushes the records of partition `part` into `out`. */
    em_status (*compute)(em_rdd *rdd, int part, em_task *t, em__sink *out);
    /* Releases kind state (may be NULL). */
    void (*free_state)(em_rdd *rdd);
} em__rdd_kind;

/* Checkpoint states of a node. */
enum em__ckpt_state {
    EM__CKPT_NONE = 0,
    EM__CKPT_MARKED,        /* checkpoint() called, not written yet */
    EM__CKPT_LOCAL_MARKED,  /* localCheckpoint() called */
    EM__CKPT_DONE,          /* saved; lineage cut */
};

struct em_rdd {
    em_ctx *ctx;                 /* owner */
    int id;                      /* unique in the context */
    char *name;                  /* user name or NULL (mem.h strdup) */
    const em__rdd_kind *kind;    /* compute and release */
    int nparts;                  /* partition count */
    int nparents;                /* number of parents */
    em_rdd **parents;            /* parents, in arena */
    em__dep dep;                 /* dependency on the parents */
    em_fn fn;                    /* the user function, env in arena */
    em_fn fn2;                   /* a second function (aggregations) */
    em_val arg;                  /* operator parameters, in arena */
    void *state;                 /* kind state */
    em_arena *arena;             /* node memory: env copies, parameters */
    em_storage storage;          /* persistence level */
    struct em__blocks *blocks;   /* the context's block store */
    struct em__shuffle **shuffles; /* per parent: its shuffle, or NULL when
                                      the dependency is narrow */
    const struct em__partitioner *partitioner; /* how the node's records
                                      are partitioned by key, or NULL */
    unsigned visit;              /* scheduler's traversal mark */
    int checkpoint;              /* em__ckpt_state */
    em_rdd *next;                /* the context's list of nodes */
};

struct em_task {
    em_ctx *ctx;             /* the context (driver or executor) */
    int job_id;              /* the job this task belongs to */
    int stage_id;            /* its stage */
    int partition;           /* the partition it computes */
    int attempt;             /* 0 for the first attempt */
    em_arena *scratch;       /* per-record outputs, rewound by sources */
    em_arena *acc_arena;     /* this task's accumulator copies */
    void *acc_updates;       /* accumulator copies (scheduler-owned) */
    size_t acc_n;            /* number of accumulator copies */
    size_t acc_cap;          /* allocated copies */
    bool has_fetch_failure;  /* a shuffle block could not be read: */
    int fetch_shuffle;       /* which shuffle */
    int fetch_map;           /* and which map output */
    /* In an executor of the worker pool (NULL elsewhere): told of every
     * block the task stores (before the store takes p), and asked for a
     * replica of a missing block before it is computed (EM_ENOENT: none;
     * on success p holds its records). */
    void (*on_block_put)(em_task *t, int rdd, int part, em_storage level,
                         const em__part *p, bool is_replica);
    em_status (*find_replica)(em_task *t, int rdd, int part, em__part *p);
    void *hook_data;         /* the executor's, for the two hooks */
    struct em_barrier *barrier; /* a barrier stage's task: its context
                                   (scheduler/barrier.h); else NULL */
};

/* Pushes one record through a sink. */
static inline em_status em__sink_push(em__sink *s, em_task *t, em_val rec)
{
    return s->push(s, t, rec);
}

/* Calls a user function, turning a non-OK return without a message into a
 * clear one. */
em_status em__fn_call(em_task *t, const em_fn *f, const em_val *args,
                      size_t nargs, em_val *out);

/* A sink that appends (deep-copies) every record to a partition. */
typedef struct em__part_sink {
    em__sink base;
    em__part *part;
} em__part_sink;

void em__part_sink_init(em__part_sink *s, em__part *p);

/* Pushes the records of a stored partition into out, rewinding the task's
 * scratch arena after each. */
em_status em__push_all(em_task *t, const em_val *recs, size_t n,
                       em__sink *out);

/* Computes partition `part` of rdd into p (initialized by the caller),
 * through the block store when the node is persisted. */
em_status em__rdd_materialize(em_rdd *rdd, int part, em_task *t,
                              em__part *p);

/* Computes partition `part` of rdd into out, reading or filling the block
 * store when the node is persisted: the one entry every consumer uses. */
em_status em__rdd_compute(em_rdd *rdd, int part, em_task *t, em__sink *out);

/* Truthiness of a value, for filter: nil and false are false, everything
 * else true. */
bool em__val_truthy(em_val v);

#endif /* EMBER_RUNTIME_RDD_H */
