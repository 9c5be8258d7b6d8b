/* Sources without files: parallelize, range, emptyRDD and union. */
#include <string.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/err.h"

/* Slice i of s over n elements: [floor(i*n/s), floor((i+1)*n/s)). */
static void slice_bounds(size_t n, int s, int i, size_t *lo, size_t *hi)
{
    *lo = (size_t)((__uint128_t)n * (unsigned)i / (unsigned)s);
    *hi = (size_t)((__uint128_t)n * (unsigned)(i + 1) / (unsigned)s);
}

static int slices_or_default(em_ctx *ctx, int s)
{
    return s > 0 ? s : ctx->default_parallelism;
}

static em_status parallelize_compute(em_rdd *rdd, int part, em_task *t,
                                     em__sink *out)
{
    size_t lo, hi;

    slice_bounds(rdd->arg.len, rdd->nparts, part, &lo, &hi);
    if (lo == hi) /* an empty array may have no storage at all */
        return EM_OK;
    return em__push_all(t, rdd->arg.u.arr + lo, hi - lo, out);
}

static const em__rdd_kind parallelize_kind = {"parallelize",
                                              parallelize_compute, NULL};

/* On the pool the data stays on the driver as one broadcast per slice
 * (arg: their references): a stage then carries references only, and an
 * executor fetches a slice once, the first time it computes that
 * partition, instead of receiving every slice with every stage. */
static em_status parallelize_bcast_compute(em_rdd *rdd, int part, em_task *t,
                                           em__sink *out)
{
    em_val slice;
    em_status st = em_task_broadcast(t, rdd->arg.u.arr[part], &slice);

    if (st != EM_OK)
        return st;
    return em__push_all(t, slice.u.arr, slice.len, out);
}

static const em__rdd_kind parallelize_bcast_kind = {
    "parallelize", parallelize_bcast_compute, NULL};

static em_status set_slice_broadcasts(em_rdd *r, const em_val *vals,
                                      size_t n)
{
    em_arena *a = em_arena_create();
    em_val refs, *ref = a ? em_array_make(a, (size_t)r->nparts, &refs) : NULL;
    em_status st = ref ? EM_OK : EM_ENOMEM;

    for (int i = 0; st == EM_OK && i < r->nparts; i++) {
        size_t lo, hi;
        em_broadcast *b;

        slice_bounds(n, r->nparts, i, &lo, &hi);
        b = em_ctx_broadcast(r->ctx, em_array(vals + lo, hi - lo));
        if (b == NULL)
            st = em__err(EM_ENOMEM, "parallelize: cannot keep slice %d on "
                         "the driver: %s", i, em_last_error());
        else
            ref[i] = em_broadcast_ref(b);
    }
    if (st == EM_OK)
        st = em__rdd_set_arg(r, refs);
    em_arena_destroy(a);
    return st;
}

em_rdd *em_ctx_parallelize(em_ctx *ctx, const em_val *vals, size_t n,
                           int num_slices)
{
    bool is_pool = ctx->remote_stage_run != NULL;
    em_rdd *r;

    if (n > UINT32_MAX) {
        em__err(EM_ELIMIT, "parallelize: %zu values is too many", n);
        return NULL;
    }
    r = em__rdd_new(ctx, is_pool ? &parallelize_bcast_kind : &parallelize_kind,
                    slices_or_default(ctx, num_slices), NULL, 0,
                    EM__DEP_NARROW);
    if (r == NULL)
        return NULL;
    if ((is_pool ? set_slice_broadcasts(r, vals, n)
                 : em__rdd_set_arg(r, em_array(vals, n))) != EM_OK)
        return NULL;
    return r;
}

/* arg of a range node: [start, step, count] */
static em_status range_compute(em_rdd *rdd, int part, em_task *t,
                               em__sink *out)
{
    int64_t start = rdd->arg.u.arr[0].u.i, step = rdd->arg.u.arr[1].u.i;
    size_t lo, hi;

    slice_bounds((size_t)rdd->arg.u.arr[2].u.i, rdd->nparts, part, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        em__arena_mark m = em__arena_mark_get(t->scratch);
        /* wrapping arithmetic: the value is in range even when i * step
         * alone is not */
        uint64_t x = (uint64_t)start + (uint64_t)i * (uint64_t)step;
        em_status st = em__sink_push(out, t, em_int((int64_t)x));
        em__arena_rewind(t->scratch, m);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

static const em__rdd_kind range_kind = {"range", range_compute, NULL};

em_rdd *em_ctx_range(em_ctx *ctx, int64_t start, int64_t end, int64_t step,
                     int num_slices)
{
    __int128 span;
    int64_t count = 0;
    em_val arg[3];
    em_rdd *r;

    if (step == 0) {
        em__err(EM_EINVAL, "range: step must not be zero");
        return NULL;
    }
    span = (__int128)end - start;
    if ((step > 0 && span > 0) || (step < 0 && span < 0))
        count = (int64_t)((span + step - (step > 0 ? 1 : -1)) / step);
    arg[0] = em_int(start);
    arg[1] = em_int(step);
    arg[2] = em_int(count);
    r = em__rdd_new(ctx, &range_kind, slices_or_default(ctx, num_slices),
                    NULL, 0, EM__DEP_NARROW);
    if (r == NULL || em__rdd_set_arg(r, em_array(arg, 3)) != EM_OK)
        return NULL;
    return r;
}

static em_status empty_compute(em_rdd *rdd, int part, em_task *t,
                               em__sink *out)
{
    return EM_OK;
}

static const em__rdd_kind empty_kind = {"emptyRDD", empty_compute, NULL};

em_rdd *em_ctx_empty(em_ctx *ctx)
{
    return em__rdd_new(ctx, &empty_kind, 0, NULL, 0, EM__DEP_NARROW);
}

static em_status union_compute(em_rdd *rdd, int part, em_task *t,
                               em__sink *out)
{
    for (int i = 0; i < rdd->nparents; i++) {
        if (part < rdd->parents[i]->nparts)
            return em__rdd_compute(rdd->parents[i], part, t, out);
        part -= rdd->parents[i]->nparts;
    }
    return em__err(EM_EINVAL, "union: no partition %d", part);
}

static const em__rdd_kind union_kind = {"union", union_compute, NULL};

em_rdd *em_ctx_union(em_ctx *ctx, em_rdd *const *rdds, size_t n)
{
    int64_t parts = 0;

    if (n == 0) {
        em__err(EM_EINVAL, "union: no RDDs given");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (rdds[i] == NULL)
            return NULL;
        if (rdds[i]->ctx != ctx) {
            em__err(EM_EINVAL, "union: RDD %d belongs to another context",
                    rdds[i]->id);
            return NULL;
        }
        parts += rdds[i]->nparts;
    }
    if (parts > INT32_MAX || n > INT32_MAX) {
        em__err(EM_ELIMIT, "union: too many partitions");
        return NULL;
    }
    return em__rdd_new(ctx, &union_kind, (int)parts, rdds, (int)n,
                       EM__DEP_NARROW);
}
