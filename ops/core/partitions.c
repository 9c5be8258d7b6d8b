/* Transformations that see a whole partition or more than one parent:
 * mapPartitions(WithIndex), glom, zip, zipWithIndex, zipWithUniqueId,
 * sample and coalesce without a shuffle.
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"

/* ---- mapPartitions, mapPartitionsWithIndex, glom ---- */

static em_status call_on_partition(em_rdd *rdd, int part, em_task *t,
                                   em__sink *out, bool with_index)
{
    em_val args[2], res;
    em__part p;
    em_status st = em__part_init(&p);

    if (st != EM_OK)
        return st;
    st = em__rdd_materialize(rdd->parents[0], part, t, &p);
    if (st != EM_OK)
        goto out;
    args[0] = em_int(part);
    args[1] = em_array(p.recs, p.n);
    st = em__fn_call(t, &rdd->fn, with_index ? args : args + 1,
                     with_index ? 2 : 1, &res);
    if (st != EM_OK)
        goto out;
    if (res.type == EM_NIL)
        goto out;
    if (res.type != EM_ARRAY) {
        st = em__err(EM_ETYPE, "%s: the function must return an array, not "
                     "%s", rdd->kind->name, em_type_name((em_type)res.type));
        goto out;
    }
    st = em__push_all(t, res.u.arr, res.len, out);
out:
    em__part_fini(&p);
    return st;
}

static em_status map_partitions_compute(em_rdd *rdd, int part, em_task *t,
                                        em__sink *out)
{
    return call_on_partition(rdd, part, t, out, false);
}

static em_status map_partitions_index_compute(em_rdd *rdd, int part,
                                              em_task *t, em__sink *out)
{
    return call_on_partition(rdd, part, t, out, true);
}

static em_status glom_compute(em_rdd *rdd, int part, em_task *t,
                              em__sink *out)
{
    em__part p;
    em_status st = em__part_init(&p);

    if (st != EM_OK)
        return st;
    st = em__rdd_materialize(rdd->parents[0], part, t, &p);
    if (st == EM_OK)
        st = em__sink_push(out, t, em_array(p.recs, p.n));
    em__part_fini(&p);
    return st;
}

static const em__rdd_kind map_partitions_kind = {
    "mapPartitions", map_partitions_compute, NULL};
static const em__rdd_kind map_partitions_index_kind = {
    "mapPartitionsWithIndex", map_partitions_index_compute, NULL};
static const em__rdd_kind glom_kind = {"glom", glom_compute, NULL};

/* A node with the parent's partitioning and an optional function. */
static em_rdd *one_to_one(em_rdd *parent, const em__rdd_kind *k, em_fn f,
                          bool needs_fn)
{
    em_rdd *r;

    EM__NEED_RDD(parent);
    if (needs_fn && f.call == NULL) {
        em__err(EM_EINVAL, "%s: no function given", k->name);
        return NULL;
    }
    r = em__rdd_new(parent->ctx, k, parent->nparts, &parent, 1,
                    EM__DEP_NARROW);
    if (r == NULL || em__rdd_set_fn(r, f, &r->fn) != EM_OK)
        return NULL;
    return r;
}

em_rdd *em_rdd_map_partitions(em_rdd *rdd, em_fn f)
{
    return one_to_one(rdd, &map_partitions_kind, f, true);
}

em_rdd *em_rdd_map_partitions_with_index(em_rdd *rdd, em_fn f)
{
    return one_to_one(rdd, &map_partitions_index_kind, f, true);
}

em_rdd *em_rdd_glom(em_rdd *rdd)
{
    return one_to_one(rdd, &glom_kind, EM_FN_NONE, false);
}

/* ---- zip ---- */

static em_status zip_compute(em_rdd *rdd, int part, em_task *t, em__sink *out)
{
    em__part a, b;
    em_status st;

    if ((st = em__part_init(&a)) != EM_OK)
        return st;
    if ((st = em__part_init(&b)) != EM_OK)
        goto out_a;
    st = em__rdd_materialize(rdd->parents[0], part, t, &a);
    if (st == EM_OK)
        st = em__rdd_materialize(rdd->parents[1], part, t, &b);
    if (st == EM_OK && a.n != b.n)
        st = em__err(EM_EINVAL, "zip: can only zip RDDs with the same number "
                     "of elements in each partition (partition %d has %zu "
                     "and %zu)", part, a.n, b.n);
    for (size_t i = 0; st == EM_OK && i < a.n; i++) {
        em__arena_mark m = em__arena_mark_get(t->scratch);
        em_val pair;
        st = em_pair_make(t->scratch, a.recs[i], b.recs[i], &pair);
        if (st == EM_OK)
            st = em__sink_push(out, t, pair);
        em__arena_rewind(t->scratch, m);
    }
    em__part_fini(&b);
out_a:
    em__part_fini(&a);
    return st;
}

static const em__rdd_kind zip_kind = {"zip", zip_compute, NULL};

em_rdd *em_rdd_zip(em_rdd *a, em_rdd *b)
{
    em_rdd *parents[2] = {a, b};

    EM__NEED_RDD(a);
    EM__NEED_RDD(b);
    if (a->ctx != b->ctx) {
        em__err(EM_EINVAL, "zip: the RDDs belong to different contexts");
        return NULL;
    }
    if (a->nparts != b->nparts) {
        em__err(EM_EINVAL, "zip: can only zip RDDs with the same number of "
                "partitions (%d and %d)", a->nparts, b->nparts);
        return NULL;
    }
    return em__rdd_new(a->ctx, &zip_kind, a->nparts, parents, 2,
                       EM__DEP_NARROW);
}

/* ---- zipWithIndex, zipWithUniqueId ---- */

typedef struct index_sink {
    em__sink base;
    em__sink *out;
    int64_t next;   /* the index of the next record */
    int64_t step;   /* added after each record */
} index_sink;

static em_status index_sink_push(em__sink *s, em_task *t, em_val rec)
{
    index_sink *is = (index_sink *)s;
    em_val pair;
    em_status st = em_pair_make(t->scratch, rec, em_int(is->next), &pair);

    is->next += is->step;
    return st != EM_OK ? st : em__sink_push(is->out, t, pair);
}

/* arg of zipWithIndex: the start index of every partition. */
static em_status zip_index_compute(em_rdd *rdd, int part, em_task *t,
                                   em__sink *out)
{
    index_sink is = {{index_sink_push}, out, rdd->arg.u.arr[part].u.i, 1};

    return em__rdd_compute(rdd->parents[0], part, t, &is.base);
}

static em_status zip_unique_compute(em_rdd *rdd, int part, em_task *t,
                                    em__sink *out)
{
    index_sink is = {{index_sink_push}, out, part, rdd->nparts};

    return em__rdd_compute(rdd->parents[0], part, t, &is.base);
}

static const em__rdd_kind zip_index_kind = {"zipWithIndex",
                                            zip_index_compute, NULL};
static const em__rdd_kind zip_unique_kind = {"zipWithUniqueId",
                                             zip_unique_compute, NULL};

em_rdd *em_rdd_zip_with_index(em_rdd *rdd)
{
    em_val *starts, arr;
    em_arena *a;
    em_rdd *r = NULL;
    int64_t total = 0;
    int n;

    EM__NEED_RDD(rdd);
    n = rdd->nparts;
    if ((a = em_arena_create()) == NULL)
        return NULL;
    starts = em_array_make(a, (size_t)n, &arr);
    if (starts == NULL)
        goto out;
    if (n > 1) {
        /* count every partition but the last, as Spark does */
        em__job_result res;
        int *parts = em__mem_calloc((size_t)n - 1, sizeof(int));
        if (parts == NULL)
            goto out;
        for (int i = 0; i < n - 1; i++)
            parts[i] = i;
        em_status st = em__job_run_count(rdd, parts, n - 1, &res);
        em__mem_free(parts, (size_t)(n - 1) * sizeof(int));
        if (st != EM_OK)
            goto out;
        for (int i = 0; i < n; i++) {
            starts[i] = em_int(total);
            if (i < n - 1)
                total += res.vals[i].u.i;
        }
        em__job_result_fini(&res);
    } else if (n == 1) {
        starts[0] = em_int(0);
    }
    r = one_to_one(rdd, &zip_index_kind, EM_FN_NONE, false);
    if (r != NULL && em__rdd_set_arg(r, arr) != EM_OK)
        r = NULL;
out:
    em_arena_destroy(a);
    return r;
}

em_rdd *em_rdd_zip_with_unique_id(em_rdd *rdd)
{
    return one_to_one(rdd, &zip_unique_kind, EM_FN_NONE, false);
}

/* ---- sample ---- */

/* The generator of one partition: splitmix64 seeded from the sample's
 * seed and the partition index. */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* A Poisson(mean) count (Knuth's method; mean is a sampling fraction, so
 * small, but large means are split into unit steps to stay exact). */
static int64_t rng_poisson(rng *r, double mean)
{
    int64_t k = 0;

    while (mean > 0) {
        double step = mean > 16 ? 16 : mean, l = exp(-step), p = 1.0;
        for (;;) {
            p *= rng_unit(r);
            if (p <= l)
                break;
            k++;
        }
        mean -= step;
    }
    return k;
}

typedef struct sample_sink {
    em__sink base;
    em__sink *out;
    rng r;
    double fraction;
    bool with_replacement;
} sample_sink;

static em_status sample_sink_push(em__sink *s, em_task *t, em_val rec)
{
    sample_sink *ss = (sample_sink *)s;
    int64_t copies;

    if (ss->with_replacement)
        copies = rng_poisson(&ss->r, ss->fraction);
    else
        copies = rng_unit(&ss->r) < ss->fraction;
    for (int64_t i = 0; i < copies; i++) {
        em_status st = em__sink_push(ss->out, t, rec);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

/* arg: [with_replacement, fraction, seed] */
static em_status sample_compute(em_rdd *rdd, int part, em_task *t,
                                em__sink *out)
{
    sample_sink ss = {{sample_sink_push}, out, {0}, 0, false};
    rng seeder = {(uint64_t)rdd->arg.u.arr[2].u.i};

    ss.with_replacement = rdd->arg.u.arr[0].u.b;
    ss.fraction = rdd->arg.u.arr[1].u.f;
    seeder.s ^= rng_next(&(rng){(uint64_t)part * 0x632be59bd9b4e019ull});
    ss.r.s = rng_next(&seeder);
    return em__rdd_compute(rdd->parents[0], part, t, &ss.base);
}

static const em__rdd_kind sample_kind = {"sample", sample_compute, NULL};

em_rdd *em_rdd_sample(em_rdd *rdd, bool with_replacement, double fraction,
                      uint64_t seed)
{
    em_val arg[3];
    em_rdd *r;

    EM__NEED_RDD(rdd);
    if (!(fraction >= 0) || (!with_replacement && fraction > 1)) {
        em__err(EM_EINVAL, "sample: fraction %g must be in [0, 1] without "
                "replacement and >= 0 with it", fraction);
        return NULL;
    }
    arg[0] = em_bool(with_replacement);
    arg[1] = em_float(fraction);
    arg[2] = em_int((int64_t)seed);
    r = one_to_one(rdd, &sample_kind, EM_FN_NONE, false);
    if (r == NULL || em__rdd_set_arg(r, em_array(arg, 3)) != EM_OK)
        return NULL;
    return r;
}

/* ---- coalesce without a shuffle ---- */

static em_status coalesce_compute(em_rdd *rdd, int part, em_task *t,
                                  em__sink *out)
{
    int64_t p = rdd->parents[0]->nparts, n = rdd->nparts;
    int lo = (int)(part * p / n), hi = (int)((part + 1) * p / n);

    for (int i = lo; i < hi; i++) {
        em_status st = em__rdd_compute(rdd->parents[0], i, t, out);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

static const em__rdd_kind coalesce_kind = {"coalesce", coalesce_compute,
                                           NULL};

em_rdd *em_rdd_coalesce(em_rdd *rdd, int num_partitions)
{
    EM__NEED_RDD(rdd);
    if (num_partitions < 1) {
        em__err(EM_EINVAL, "coalesce: number of partitions must be "
                "positive, not %d", num_partitions);
        return NULL;
    }
    if (num_partitions > rdd->nparts)
        num_partitions = rdd->nparts;
    return em__rdd_new(rdd->ctx, &coalesce_kind, num_partitions, &rdd, 1,
                       EM__DEP_NARROW);
}
