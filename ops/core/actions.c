/* Actions that move records to the driver: collect, count, take, first,
 * isEmpty, takeOrdered, top, max, min, countByValue, collectAsMap,
 * takeSample, foreach and foreachPartition.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/fnref.h"
#include "runtime/mem.h"
#include "runtime/vmap.h"

/* ---- collect, count, take ---- */

/* arg: the record limit (an int), or nil for none. */
static em_status collect_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                              em_arena *res, em_val *out)
{
    em__vec_sink vs;
    em_status st;

    em__vec_sink_init(&vs, res,
                      arg.type == EM_INT ? (size_t)arg.u.i : SIZE_MAX);
    st = em__rdd_compute(rdd, part, t, &vs.base);
    if (st != EM_OK && st != EM__STOP) {
        em__vec_sink_fini(&vs);
        return st;
    }
    return em__vec_sink_finish(&vs, out);
}

/* Concatenates the array results of a job into one array in a. */
static em_status concat_results(const em__job_result *r, em_arena *a,
                                size_t limit, em_val *out)
{
    size_t n = 0, k = 0;
    em_val *items;

    for (int i = 0; i < r->n; i++)
        n += r->vals[i].len;
    if (n > limit)
        n = limit;
    if ((items = em_array_make(a, n, out)) == NULL)
        return EM_ENOMEM;
    for (int i = 0; i < r->n && k < n; i++) {
        for (size_t j = 0; j < r->vals[i].len && k < n; j++) {
            em_status st = em_val_copy(a, r->vals[i].u.arr[j], &items[k++]);
            if (st != EM_OK)
                return st;
        }
    }
    return EM_OK;
}

em_status em_rdd_collect(em_rdd *rdd, em_arena *a, em_val *out)
{
    em__job_result r;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "collect: no RDD");
    st = em__job_run(rdd->ctx, rdd, NULL, 0, collect_task, em_nil(), &r);
    if (st != EM_OK)
        return st;
    st = concat_results(&r, a, SIZE_MAX, out);
    em__job_result_fini(&r);
    return st;
}

typedef struct count_sink {
    em__sink base;
    int64_t n;
} count_sink;

static em_status count_push(em__sink *s, em_task *t, em_val rec)
{
    ((count_sink *)s)->n++;
    return EM_OK;
}

static em_status count_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                            em_arena *res, em_val *out)
{
    count_sink cs = {{count_push}, 0};
    em_status st = em__rdd_compute(rdd, part, t, &cs.base);

    *out = em_int(cs.n);
    return st;
}

em_status em__job_run_count(em_rdd *rdd, const int *parts, int n,
                            em__job_result *res)
{
    return em__job_run(rdd->ctx, rdd, parts, n, count_task, em_nil(), res);
}

em_status em_rdd_count(em_rdd *rdd, int64_t *out)
{
    em__job_result r;
    int64_t total = 0;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "count: no RDD");
    st = em__job_run_count(rdd, NULL, 0, &r);
    if (st != EM_OK)
        return st;
    for (int i = 0; i < r.n; i++)
        total += r.vals[i].u.i;
    em__job_result_fini(&r);
    *out = total;
    return EM_OK;
}

/* Runs take on partitions [from, from+n) and appends to vs. */
static em_status take_batch(em_rdd *rdd, int from, int n, size_t want,
                            em__vec_sink *vs)
{
    em__job_result r;
    int *parts = em__mem_calloc((size_t)n, sizeof(int));
    em_status st;

    if (parts == NULL)
        return EM_ENOMEM;
    for (int i = 0; i < n; i++)
        parts[i] = from + i;
    st = em__job_run(rdd->ctx, rdd, parts, n, collect_task,
                     em_int((int64_t)want), &r);
    em__mem_free(parts, (size_t)n * sizeof(int));
    if (st != EM_OK)
        return st;
    for (int i = 0; i < r.n && st == EM_OK; i++) {
        for (size_t j = 0; j < r.vals[i].len && vs->n < want; j++) {
            st = vs->base.push(&vs->base, NULL, r.vals[i].u.arr[j]);
            if (st == EM__STOP)
                st = EM_OK;
            if (st != EM_OK)
                break;
        }
    }
    em__job_result_fini(&r);
    return st;
}

em_status em_rdd_take(em_rdd *rdd, int64_t n, em_arena *a, em_val *out)
{
    em__vec_sink vs;
    int scanned = 0;
    em_status st = EM_OK;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "take: no RDD");
    if (n < 0)
        return em__err(EM_EINVAL, "take: negative count %lld", (long long)n);
    em__vec_sink_init(&vs, a, (size_t)n);
    while ((int64_t)vs.n < n && scanned < rdd->nparts) {
        int64_t try = 1;
        if (scanned > 0) {
            /* grow as Spark does: 4x without data, else by estimate */
            try = (int64_t)scanned * 4;
            if (vs.n > 0) {
                double est = ceil(1.5 * (double)n * scanned / (double)vs.n) -
                             scanned;
                if (est < (double)try)
                    try = est > 1 ? (int64_t)est : 1;
            }
        }
        if (try > rdd->nparts - scanned)
            try = rdd->nparts - scanned;
        st = take_batch(rdd, scanned, (int)try, (size_t)n, &vs);
        if (st != EM_OK)
            break;
        scanned += (int)try;
    }
    if (st != EM_OK) {
        em__vec_sink_fini(&vs);
        return st;
    }
    return em__vec_sink_finish(&vs, out);
}

em_status em_rdd_first(em_rdd *rdd, em_arena *a, em_val *out)
{
    em_val arr;
    em_status st = em_rdd_take(rdd, 1, a, &arr);

    if (st != EM_OK)
        return st;
    if (arr.len == 0)
        return em__err(EM_EEMPTY, "first: the RDD is empty");
    *out = arr.u.arr[0];
    return EM_OK;
}

em_status em_rdd_is_empty(em_rdd *rdd, bool *out)
{
    em_arena *a;
    em_val arr;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "isEmpty: no RDD");
    if (rdd->nparts == 0) {
        *out = true;
        return EM_OK;
    }
    if ((a = em_arena_create()) == NULL)
        return EM_ENOMEM;
    st = em_rdd_take(rdd, 1, a, &arr);
    if (st == EM_OK)
        *out = arr.len == 0;
    em_arena_destroy(a);
    return st;
}

/* ---- takeOrdered, top, max, min ---- */

typedef struct ranked {
    em_val key;     /* the ordering key */
    em_val rec;     /* the record */
    uint64_t seq;   /* arrival order, for a stable result */
} ranked;

typedef struct select_args {
    size_t n;        /* how many to keep */
    em_fn key;       /* optional key function */
    bool is_desc;    /* largest first */
} select_args;

typedef struct select_sink {
    em__sink base;
    const select_args *args;
    em_arena *arena;     /* copies of kept entries */
    ranked *v;           /* mem.h array */
    size_t n, cap;
    uint64_t seq;
} select_sink;

static int ranked_cmp(const void *x, const void *y, void *is_desc)
{
    const ranked *a = x, *b = y;
    int c = em_val_cmp(a->key, b->key);

    if (*(bool *)is_desc)
        c = -c;
    if (c != 0)
        return c;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static void sort_ranked(ranked *v, size_t n, bool is_desc)
{
    if (n > 1)
        qsort_r(v, n, sizeof(*v), ranked_cmp, &is_desc);
}

/* Sorts, keeps the first n, and moves them to a fresh arena. */
static em_status select_compact(select_sink *s)
{
    em_arena *fresh = em_arena_create();
    size_t keep;
    em_status st = EM_OK;

    if (fresh == NULL)
        return EM_ENOMEM;
    sort_ranked(s->v, s->n, s->args->is_desc);
    keep = s->n < s->args->n ? s->n : s->args->n;
    for (size_t i = 0; i < keep && st == EM_OK; i++) {
        st = em_val_copy(fresh, s->v[i].rec, &s->v[i].rec);
        if (st == EM_OK)
            st = em_val_copy(fresh, s->v[i].key, &s->v[i].key);
    }
    if (st != EM_OK) {
        em_arena_destroy(fresh);
        return st;
    }
    em_arena_destroy(s->arena);
    s->arena = fresh;
    s->n = keep;
    return EM_OK;
}

static em_status select_push(em__sink *base, em_task *t, em_val rec)
{
    select_sink *s = (select_sink *)base;
    size_t limit = s->args->n < 512 ? 1024 : 2 * s->args->n;
    void *p = s->v;
    em_val key = rec;
    em_status st = EM_OK;

    if (s->args->key.call != NULL)
        st = em__fn_call(t, &s->args->key, &rec, 1, &key);
    if (st != EM_OK)
        return st;
    if (em__mem_grow(&p, &s->cap, s->n + 1, sizeof(ranked)) != 0)
        return EM_ENOMEM;
    s->v = p;
    st = em_val_copy(s->arena, rec, &s->v[s->n].rec);
    if (st == EM_OK)
        st = em_val_copy(s->arena, key, &s->v[s->n].key);
    if (st != EM_OK)
        return st;
    s->v[s->n++].seq = s->seq++;
    return s->n >= limit ? select_compact(s) : EM_OK;
}

static void select_fini(select_sink *s)
{
    em_arena_destroy(s->arena);
    em__mem_free(s->v, s->cap * sizeof(ranked));
}

/* select_args as a task parameter: [n, packed key function, is_desc]. */
static em_status select_args_val(const select_args *sa, em_arena *a,
                                 em_val *out)
{
    em_val *items = em_array_make(a, 3, out);

    if (items == NULL)
        return EM_ENOMEM;
    items[0] = em_int((int64_t)sa->n);
    items[2] = em_bool(sa->is_desc);
    return em__fn_pack(a, sa->key, &items[1]);
}

static em_status select_args_get(em_val v, select_args *out)
{
    if (v.type != EM_ARRAY || v.len != 3 || v.u.arr[0].type != EM_INT)
        return em__err(EM_EPROTO, "select: malformed task parameters");
    out->n = (size_t)v.u.arr[0].u.i;
    out->is_desc = v.u.arr[2].u.b;
    return em__fn_unpack(v.u.arr[1], &out->key);
}

/* Task: the partition's best n records as an array. */
static em_status select_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                             em_arena *res, em_val *out)
{
    select_args sa;
    select_sink s = {{select_push}, &sa, NULL, NULL, 0, 0, 0};
    em_val *items;
    em_status st;

    if ((st = select_args_get(arg, &sa)) != EM_OK)
        return st;
    if ((s.arena = em_arena_create()) == NULL)
        return EM_ENOMEM;
    st = em__rdd_compute(rdd, part, t, &s.base);
    if (st == EM_OK)
        st = select_compact(&s);
    if (st == EM_OK) {
        items = em_array_make(res, s.n, out);
        for (size_t i = 0; items != NULL && i < s.n && st == EM_OK; i++)
            st = em_val_copy(res, s.v[i].rec, &items[i]);
        if (items == NULL)
            st = EM_ENOMEM;
    }
    select_fini(&s);
    return st;
}

/* Merges the partitions' selections at the driver (keys recomputed). */
static em_status select_run(em_rdd *rdd, const select_args *sa, em_arena *a,
                            em_val *out)
{
    select_sink s = {{select_push}, sa, NULL, NULL, 0, 0, 0};
    em__job_result r;
    em_task drv;
    em_val *items, arg;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "no RDD");
    if ((s.arena = em_arena_create()) == NULL)
        return EM_ENOMEM;
    if ((st = select_args_val(sa, s.arena, &arg)) != EM_OK) {
        em_arena_destroy(s.arena);
        return st;
    }
    st = em__job_run(rdd->ctx, rdd, NULL, 0, select_task, arg, &r);
    em__arena_reset(s.arena);
    if (st != EM_OK) {
        em_arena_destroy(s.arena);
        return st;
    }
    memset(&drv, 0, sizeof(drv));
    drv.ctx = rdd->ctx;
    drv.scratch = em_arena_create();
    if (drv.scratch == NULL || s.arena == NULL)
        st = EM_ENOMEM;
    for (int i = 0; i < r.n && st == EM_OK; i++) {
        for (size_t j = 0; j < r.vals[i].len && st == EM_OK; j++)
            st = select_push(&s.base, &drv, r.vals[i].u.arr[j]);
    }
    if (st == EM_OK)
        st = select_compact(&s);
    if (st == EM_OK) {
        items = em_array_make(a, s.n, out);
        for (size_t i = 0; items != NULL && i < s.n && st == EM_OK; i++)
            st = em_val_copy(a, s.v[i].rec, &items[i]);
        if (items == NULL)
            st = EM_ENOMEM;
    }
    select_fini(&s);
    em_arena_destroy(drv.scratch);
    em__job_result_fini(&r);
    return st;
}

em_status em_rdd_take_ordered(em_rdd *rdd, int64_t n, em_fn key, em_arena *a,
                              em_val *out)
{
    select_args sa = {(size_t)n, key, false};

    if (n < 0)
        return em__err(EM_EINVAL, "takeOrdered: negative count");
    if (n == 0) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    return select_run(rdd, &sa, a, out);
}

em_status em_rdd_top(em_rdd *rdd, int64_t n, em_fn key, em_arena *a,
                     em_val *out)
{
    select_args sa = {(size_t)n, key, true};

    if (n < 0)
        return em__err(EM_EINVAL, "top: negative count");
    if (n == 0) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    return select_run(rdd, &sa, a, out);
}

static em_status extreme(em_rdd *rdd, em_fn key, bool is_max, em_arena *a,
                         em_val *out)
{
    select_args sa = {1, key, is_max};
    em_val arr;
    em_status st = select_run(rdd, &sa, a, &arr);

    if (st != EM_OK)
        return st;
    if (arr.len == 0)
        return em__err(EM_EEMPTY, "%s: the RDD is empty",
                       is_max ? "max" : "min");
    *out = arr.u.arr[0];
    return EM_OK;
}

em_status em_rdd_max(em_rdd *rdd, em_fn key, em_arena *a, em_val *out)
{
    return extreme(rdd, key, true, a, out);
}

em_status em_rdd_min(em_rdd *rdd, em_fn key, em_arena *a, em_val *out)
{
    return extreme(rdd, key, false, a, out);
}

/* ---- countByValue, collectAsMap ---- */

typedef struct counter_sink {
    em__sink base;
    em__vmap map;
} counter_sink;

static em_status counter_push(em__sink *s, em_task *t, em_val rec)
{
    bool is_new;
    em_val *v = em__vmap_upsert(&((counter_sink *)s)->map, rec, &is_new);

    if (v == NULL)
        return EM_ENOMEM;
    *v = em_int(is_new ? 1 : v->u.i + 1);
    return EM_OK;
}

/* Task: [k0, n0, k1, n1, ...] for the partition. */
static em_status count_values_task(em_task *t, em_rdd *rdd, int part,
                                   em_val arg, em_arena *res, em_val *out)
{
    counter_sink cs = {{counter_push}, {0}};
    em_val *items;
    em_status st = em__vmap_init(&cs.map);
    size_t k = 0;

    if (st != EM_OK)
        return st;
    st = em__rdd_compute(rdd, part, t, &cs.base);
    if (st == EM_OK) {
        items = em_array_make(res, 2 * cs.map.n, out);
        if (items == NULL)
            st = EM_ENOMEM;
        for (size_t i = 0; st == EM_OK && i < cs.map.cap; i++) {
            if (cs.map.slots[i].hash == 0)
                continue;
            st = em_val_copy(res, cs.map.slots[i].key, &items[k++]);
            items[k++] = cs.map.slots[i].val;
        }
    }
    em__vmap_fini(&cs.map);
    return st;
}

em_status em_rdd_count_by_value(em_rdd *rdd, em_arena *a, em_val *out)
{
    em__job_result r;
    em__vmap total;
    em_val *kv, arr;
    em_status st;
    size_t k = 0;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "countByValue: no RDD");
    st = em__job_run(rdd->ctx, rdd, NULL, 0, count_values_task, em_nil(),
                     &r);
    if (st != EM_OK)
        return st;
    if ((st = em__vmap_init(&total)) != EM_OK)
        goto out_r;
    for (int i = 0; i < r.n && st == EM_OK; i++) {
        for (size_t j = 0; j + 1 < r.vals[i].len; j += 2) {
            bool is_new;
            em_val *v = em__vmap_upsert(&total, r.vals[i].u.arr[j], &is_new);
            if (v == NULL) {
                st = EM_ENOMEM;
                break;
            }
            *v = em_int((is_new ? 0 : v->u.i) + r.vals[i].u.arr[j + 1].u.i);
        }
    }
    kv = st == EM_OK ? em_array_make(a, 2 * total.n, &arr) : NULL;
    if (st == EM_OK && kv == NULL)
        st = EM_ENOMEM;
    for (size_t i = 0; st == EM_OK && i < total.cap; i++) {
        if (total.slots[i].hash == 0)
            continue;
        st = em_val_copy(a, total.slots[i].key, &kv[k++]);
        kv[k++] = total.slots[i].val;
    }
    if (st == EM_OK)
        st = em_map_make(a, kv, total.n, out);
    em__vmap_fini(&total);
out_r:
    em__job_result_fini(&r);
    return st;
}

em_status em_rdd_collect_as_map(em_rdd *rdd, em_arena *a, em_val *out)
{
    em_val all, *kv, tmp;
    em_status st = em_rdd_collect(rdd, a, &all);

    if (st != EM_OK)
        return st;
    if ((kv = em_array_make(a, 2 * (size_t)all.len, &tmp)) == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < all.len; i++) {
        if (!em_val_is_pair(all.u.arr[i]))
            return em__err(EM_ETYPE, "collectAsMap: record %zu is a %s, not "
                           "a (key, value) pair", i,
                           em_type_name((em_type)all.u.arr[i].type));
        kv[2 * i] = all.u.arr[i].u.arr[0];
        kv[2 * i + 1] = all.u.arr[i].u.arr[1];
    }
    return em_map_make(a, kv, all.len, out);
}

/* ---- takeSample ---- */

static uint64_t sm64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Spark's fraction that gives at least num samples with high probability. */
static double sample_fraction(int64_t num, int64_t total, bool with_repl)
{
    double f = (double)num / (double)total;

    if (with_repl) {
        double sd = num < 12 ? 9 : 5;
        return fmax(f + sd * sqrt(f / (double)total), 1e-10);
    } else {
        double gamma = -log(1e-4) / (double)total;
        return fmin(1, fmax(1e-10, f + gamma + sqrt(gamma * gamma +
                                                   2 * gamma * f)));
    }
}

static void shuffle_vals(em_val *v, size_t n, uint64_t *seed)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(sm64(seed) % i);
        em_val tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
}

em_status em_rdd_take_sample(em_rdd *rdd, bool with_replacement, int64_t num,
                             uint64_t seed, em_arena *a, em_val *out)
{
    int64_t total;
    uint64_t s = seed;
    em_val got;
    em_status st;
    double f;

    if (num < 0)
        return em__err(EM_EINVAL, "takeSample: negative sample size");
    if (num == 0) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    if ((st = em_rdd_count(rdd, &total)) != EM_OK)
        return st;
    if (total == 0) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    if (!with_replacement && num >= total) {
        if ((st = em_rdd_collect(rdd, a, &got)) != EM_OK)
            return st;
        shuffle_vals((em_val *)got.u.arr, got.len, &s);
        *out = got;
        return EM_OK;
    }
    f = sample_fraction(num, total, with_replacement);
    do {
        em_rdd *smp = em_rdd_sample(rdd, with_replacement, f, sm64(&s));
        if (smp == NULL)
            return EM_ENOMEM;
        if ((st = em_rdd_collect(smp, a, &got)) != EM_OK)
            return st;
    } while ((int64_t)got.len < num);
    shuffle_vals((em_val *)got.u.arr, got.len, &s);
    got.len = (uint32_t)num;
    *out = got;
    return EM_OK;
}

/* ---- foreach, foreachPartition ---- */

typedef struct foreach_sink {
    em__sink base;
    const em_fn *f;
} foreach_sink;

static em_status foreach_push(em__sink *s, em_task *t, em_val rec)
{
    em_val ignored;

    return em__fn_call(t, ((foreach_sink *)s)->f, &rec, 1, &ignored);
}

static em_status foreach_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                              em_arena *res, em_val *out)
{
    em_fn f;
    foreach_sink fs = {{foreach_push}, &f};
    em_status st = em__fn_unpack(arg, &f);

    return st == EM_OK ? em__rdd_compute(rdd, part, t, &fs.base) : st;
}

static em_status foreach_partition_task(em_task *t, em_rdd *rdd, int part,
                                        em_val arg, em_arena *res, em_val *out)
{
    em__part p;
    em_val arr, ignored;
    em_fn f;
    em_status st = em__fn_unpack(arg, &f);

    if (st != EM_OK || (st = em__part_init(&p)) != EM_OK)
        return st;
    st = em__rdd_materialize(rdd, part, t, &p);
    arr = em_array(p.recs, p.n);
    if (st == EM_OK)
        st = em__fn_call(t, &f, &arr, 1, &ignored);
    em__part_fini(&p);
    return st;
}

static em_status run_each(em_rdd *rdd, em_fn f, em__task_fn body)
{
    em__job_result r;
    em_arena *a;
    em_val arg;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "foreach: no RDD");
    if (f.call == NULL)
        return em__err(EM_EINVAL, "foreach: no function given");
    if ((a = em_arena_create()) == NULL)
        return EM_ENOMEM;
    if ((st = em__fn_pack(a, f, &arg)) == EM_OK)
        st = em__job_run(rdd->ctx, rdd, NULL, 0, body, arg, &r);
    if (st == EM_OK)
        em__job_result_fini(&r);
    em_arena_destroy(a);
    return st;
}

em_status em_rdd_foreach(em_rdd *rdd, em_fn f)
{
    return run_each(rdd, f, foreach_task);
}

em_status em_rdd_foreach_partition(em_rdd *rdd, em_fn f)
{
    return run_each(rdd, f, foreach_partition_task);
}
