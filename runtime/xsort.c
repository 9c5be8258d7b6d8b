/* External sort of values (see xsort.h). */
#include "xsort.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "codec.h"
#include "err.h"
#include "mem.h"
#include "recfile.h"

em_status em__xsort_init(em__xsort *x, int64_t budget, const char *dir,
                         em__xsort_cmp cmp, void *cmp_arg)
{
    memset(x, 0, sizeof(*x));
    x->budget = budget;
    x->cmp = cmp;
    x->cmp_arg = cmp_arg;
    snprintf(x->dir, sizeof(x->dir), "%s", dir);
    return em__part_init(&x->mem);
}

size_t em__xsort_bytes(const em__xsort *x)
{
    return em_arena_used(x->mem.arena) + x->mem.n * sizeof(em_val);
}

em_status em__xsort_add(em__xsort *x, em_val v)
{
    em_status st = em__part_push(&x->mem, v);

    if (st == EM_OK && (int64_t)em__xsort_bytes(x) > x->budget)
        st = em__xsort_spill(x);
    return st;
}

typedef struct sort_ctx {
    em__xsort_cmp cmp;
    void *arg;
} sort_ctx;

static int qcmp(const void *a, const void *b, void *arg)
{
    const sort_ctx *c = arg;

    return c->cmp(*(const em_val *)a, *(const em_val *)b, c->arg);
}

static void sort_mem(em__xsort *x)
{
    sort_ctx c = {x->cmp, x->cmp_arg};

    if (x->mem.n > 1)
        qsort_r(x->mem.recs, x->mem.n, sizeof(em_val), qcmp, &c);
}

em_status em__xsort_spill(em__xsort *x)
{
    em__buf b = EM__BUF_INIT;
    char path[4200];
    em_status st = EM_OK;
    FILE *f;
    void *p = x->runs;

    if (x->mem.n == 0)
        return EM_OK;
    sort_mem(x);
    if (em__mem_grow(&p, &x->runs_cap, x->nruns + 1, sizeof(char *)) != 0)
        return EM_ENOMEM;
    x->runs = p;
    snprintf(path, sizeof(path), "%s/ember-spill-%d-%p-%llu", x->dir,
             (int)getpid(), (void *)x, (unsigned long long)x->seq++);
    if ((f = fopen(path, "wb")) == NULL)
        return em__err(EM_EIO, "spill: cannot write %s: %s", path,
                       strerror(errno));
    for (size_t i = 0; i < x->mem.n && st == EM_OK; i++)
        st = em__recfile_write(f, &b, x->mem.recs[i]);
    if (fclose(f) != 0 && st == EM_OK)
        st = EM_EIO;
    em__buf_fini(&b);
    if (st == EM_EIO)
        st = em__err(EM_EIO, "spill: writing %s failed: %s", path,
                     strerror(errno));
    if (st == EM_OK && (x->runs[x->nruns] = em__mem_strdup(path)) == NULL)
        st = EM_ENOMEM;
    if (st != EM_OK) {
        unlink(path);
        return st;
    }
    x->nruns++;
    em__part_fini(&x->mem);
    return em__part_init(&x->mem);
}

/* A run being read back: its current value. */
typedef struct reader {
    FILE *f;
    const char *path;
    em__buf rec;       /* the current record's bytes */
    em_arena *arena;   /* the current value */
    em_val cur;
    bool has;          /* cur is valid */
} reader;

static em_status reader_next(reader *r)
{
    em__arena_reset(r->arena);
    return em__recfile_read(r->f, r->path, &r->rec, r->arena, &r->cur,
                            &r->has);
}

em_status em__xsort_each(em__xsort *x, em__xsort_fn fn, void *arg)
{
    reader *rs;
    size_t nr = x->nruns, mi = 0;
    em_status st = EM_OK;

    sort_mem(x);
    if (nr == 0) {
        for (size_t i = 0; i < x->mem.n && st == EM_OK; i++)
            st = fn(x->mem.recs[i], arg);
        return st;
    }
    if ((rs = em__mem_calloc(nr, sizeof(*rs))) == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < nr && st == EM_OK; i++) {
        rs[i].path = x->runs[i];
        rs[i].f = fopen(x->runs[i], "rb");
        rs[i].arena = em__arena_create(0);
        if (rs[i].f == NULL)
            st = em__err(EM_EIO, "spill: cannot read %s: %s", x->runs[i],
                         strerror(errno));
        else if (rs[i].arena == NULL)
            st = EM_ENOMEM;
        else
            st = reader_next(&rs[i]);
    }
    /* merge: the smallest head among the runs and the memory buffer */
    while (st == EM_OK) {
        size_t best = SIZE_MAX;
        const em_val *bv = mi < x->mem.n ? &x->mem.recs[mi] : NULL;
        for (size_t i = 0; i < nr; i++) {
            if (rs[i].has && (bv == NULL ||
                              x->cmp(rs[i].cur, *bv, x->cmp_arg) < 0)) {
                best = i;
                bv = &rs[i].cur;
            }
        }
        if (bv == NULL)
            break;
        st = fn(*bv, arg);
        if (st == EM_OK)
            st = best == SIZE_MAX ? (mi++, EM_OK) : reader_next(&rs[best]);
    }
    for (size_t i = 0; i < nr; i++) {
        if (rs[i].f != NULL)
            fclose(rs[i].f);
        em__buf_fini(&rs[i].rec);
        em__arena_destroy(rs[i].arena);
    }
    em__mem_free(rs, nr * sizeof(*rs));
    return st;
}

void em__xsort_fini(em__xsort *x)
{
    for (size_t i = 0; i < x->nruns; i++) {
        unlink(x->runs[i]);
        em__mem_free(x->runs[i], strlen(x->runs[i]) + 1);
    }
    em__mem_free(x->runs, x->runs_cap * sizeof(char *));
    em__part_fini(&x->mem);
    x->runs = NULL;
    x->nruns = x->runs_cap = 0;
}
