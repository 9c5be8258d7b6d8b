/* External sort of values: values are buffered in memory up to a budget,
 * then sorted and written to a run file; reading them back merges the runs
 * and the in-memory rest in order. The reduce side of the shuffle uses it
 * to stay inside its memory share when it combines, groups or sorts.
 *
 * Run file: a sequence of records, each a u32 little-endian length then
 * the msgpack encoding of one value. */
#ifndef EMBER_RUNTIME_XSORT_H
#define EMBER_RUNTIME_XSORT_H

#include <stddef.h>
#include <stdint.h>

#include "ember/val.h"
#include "part.h"

/* Order of two values; arg is the sorter's. */
typedef int (*em__xsort_cmp)(em_val a, em_val b, void *arg);

/* Called with each value in order (valid only during the call). */
typedef em_status (*em__xsort_fn)(em_val v, void *arg);

typedef struct em__xsort {
    int64_t budget;      /* bytes buffered before a run is written */
    char dir[4096];      /* where runs go */
    em__xsort_cmp cmp;
    void *cmp_arg;
    em__part mem;        /* buffered values */
    char **runs;         /* paths of runs (mem.h strings) */
    size_t nruns, runs_cap;
    uint64_t seq;        /* file names */
} em__xsort;

/* Prepares a sorter; runs are written as files in dir. */
em_status em__xsort_init(em__xsort *x, int64_t budget, const char *dir,
                         em__xsort_cmp cmp, void *cmp_arg);

/* Adds (deep-copies) v; writes a run when the buffer passes the budget. */
em_status em__xsort_add(em__xsort *x, em_val v);

/* Sorts the buffer and writes it as a run now (no-op when empty). */
em_status em__xsort_spill(em__xsort *x);

/* Calls fn with every value added, in order (merging the runs). */
em_status em__xsort_each(em__xsort *x, em__xsort_fn fn, void *arg);

/* Bytes buffered in memory now. */
size_t em__xsort_bytes(const em__xsort *x);

/* Frees the buffer and deletes every run file. */
void em__xsort_fini(em__xsort *x);

#endif /* EMBER_RUNTIME_XSORT_H */
