/* Property tests of the core operators: pipelines of narrow
 * transformations and actions over randomized inputs (fixed seeds) are
 * checked against naive reference implementations written here, under
 * local[1], local[2] and local[7], and must give identical results on every
 * thread count. Inputs include empty ones, single records, more partitions
 * than records, skewed values and mixed ints, floats and strings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"

/* ---- inputs ---- */

typedef struct input {
    const em_val *recs; /* in the test's arena */
    size_t n;
    int slices;
    const char *kind; /* for messages */
} input;

enum {
    KIND_EMPTY,
    KIND_ONE,
    KIND_SPARSE,
    KIND_SKEWED,
    KIND_MIXED,
    KIND_INTS,
    KIND_COUNT
};

static em_val random_str(em_test_rng *rng, em_arena *a)
{
    static const char alphabet[] = "abc";
    char buf[4];
    size_t len = (size_t)em_test_below(rng, 4);
    em_val v;

    for (size_t i = 0; i < len; i++)
        buf[i] = alphabet[em_test_below(rng, 3)];
    EM_CHECK(em_str_copy(a, buf, len, &v));
    return v;
}

static em_val random_mixed(em_test_rng *rng, em_arena *a)
{
    switch (em_test_below(rng, 4)) {
    case 0:
        return em_int((int64_t)em_test_below(rng, 101) - 50);
    case 1: /* an integral float: equal to an int */
        return em_float((double)((int64_t)em_test_below(rng, 21) - 10));
    case 2:
        return em_float(((double)em_test_below(rng, 400) - 200) / 4.0);
    default:
        return random_str(rng, a);
    }
}

static void gen_input(em_test_rng *rng, int kind, em_arena *a, input *in)
{
    em_val *v, arr;
    size_t n;

    switch (kind) {
    case KIND_EMPTY:
        n = 0;
        in->slices = 1 + (int)em_test_below(rng, 5);
        in->kind = "empty";
        break;
    case KIND_ONE:
        n = 1;
        in->slices = 1 + (int)em_test_below(rng, 5);
        in->kind = "one";
        break;
    case KIND_SPARSE:
        n = 1 + (size_t)em_test_below(rng, 5);
        in->slices = (int)n + 1 + (int)em_test_below(rng, 8);
        in->kind = "sparse";
        break;
    case KIND_SKEWED:
        n = 50 + (size_t)em_test_below(rng, 350);
        in->slices = 1 + (int)em_test_below(rng, 12);
        in->kind = "skewed";
        break;
    case KIND_MIXED:
        n = (size_t)em_test_below(rng, 300);
        in->slices = 1 + (int)em_test_below(rng, 12);
        in->kind = "mixed";
        break;
    default:
        n = (size_t)em_test_below(rng, 600);
        in->slices = 1 + (int)em_test_below(rng, 16);
        in->kind = "ints";
        break;
    }
    v = em_array_make(a, n, &arr);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        if (kind == KIND_MIXED)
            v[i] = random_mixed(rng, a);
        else if (kind == KIND_SKEWED && em_test_below(rng, 10) < 8)
            v[i] = em_int(7);
        else if (kind == KIND_ONE && em_test_below(rng, 2))
            v[i] = random_str(rng, a);
        else
            v[i] = em_int((int64_t)em_test_below(rng, 2001) - 1000);
    }
    in->recs = v;
    in->n = n;
}

/* ---- comparison ---- */

/* Identical: same types everywhere, floats bit for bit. */
static bool same(em_val a, em_val b, double tol)
{
    if (a.type != b.type || a.len != b.len)
        return false;
    switch ((em_type)a.type) {
    case EM_NIL:
        return true;
    case EM_BOOL:
        return a.u.b == b.u.b;
    case EM_INT:
        return a.u.i == b.u.i;
    case EM_FLOAT:
        if (isnan(a.u.f) || isnan(b.u.f))
            return isnan(a.u.f) && isnan(b.u.f);
        if (tol > 0)
            return fabs(a.u.f - b.u.f) <= tol * fmax(1.0, fabs(b.u.f));
        return memcmp(&a.u.f, &b.u.f, sizeof(double)) == 0;
    case EM_STR:
    case EM_BYTES:
        return a.len == 0 || memcmp(a.u.s, b.u.s, a.len) == 0;
    case EM_ARRAY:
        for (size_t i = 0; i < a.len; i++) {
            if (!same(a.u.arr[i], b.u.arr[i], tol))
                return false;
        }
        return true;
    case EM_MAP:
        for (size_t i = 0; i < 2 * (size_t)a.len; i++) {
            if (!same(a.u.map[i], b.u.map[i], tol))
                return false;
        }
        return true;
    default:
        return em_val_eq(a, b);
    }
}

static void report(const char *what, const input *in, const char *master,
                   em_val got, em_val want)
{
    char g[2048], w[2048];

    em_val_format(got, g, sizeof(g));
    em_val_format(want, w, sizeof(w));
    fail_msg("%s on %s input (n=%zu, slices=%d) under %s:\n  got  %s\n  "
             "want %s",
             what, in->kind, in->n, in->slices, master, g, w);
}

/* ---- per-record kernels, shared by the user functions and the
 * references ---- */

static em_status k_map(em_arena *a, em_val x, em_val *out)
{
    char buf[16];

    switch ((em_type)x.type) {
    case EM_INT:
        *out = em_int(x.u.i * 3 + 1);
        return EM_OK;
    case EM_FLOAT:
        *out = em_float(x.u.f * 0.5);
        return EM_OK;
    case EM_STR:
        memcpy(buf, x.u.s, x.len);
        buf[x.len] = '!';
        return em_str_copy(a, buf, x.len + 1, out);
    default:
        *out = x;
        return EM_OK;
    }
}

static bool k_keep(em_val x)
{
    return em_val_hash(x) % 3 != 0;
}

/* nil, [], [x] or [x, (x, 1)] by the hash of x. */
static em_status k_flat(em_arena *a, em_val x, em_val *out)
{
    em_val *items;

    switch ((em_val_hash(x) >> 7) % 4) {
    case 0:
        *out = em_nil();
        return EM_OK;
    case 1:
        *out = em_array(NULL, 0);
        return EM_OK;
    case 2:
        items = em_array_make(a, 1, out);
        if (items == NULL)
            return EM_ENOMEM;
        items[0] = x;
        return EM_OK;
    default:
        items = em_array_make(a, 2, out);
        if (items == NULL)
            return EM_ENOMEM;
        items[0] = x;
        return em_pair_make(a, x, em_int(1), &items[1]);
    }
}

static em_val k_key(em_val x)
{
    return em_int((int64_t)(em_val_hash(x) % 5));
}

/* A number for every record: itself, or a string's length. */
static em_val k_num(em_val x)
{
    return x.type == EM_STR ? em_int(x.len) : x;
}

static em_val num_add(em_val a, em_val b)
{
    if (a.type == EM_INT && b.type == EM_INT)
        return em_int(a.u.i + b.u.i);
    return em_float((a.type == EM_INT ? (double)a.u.i : a.u.f) +
                    (b.type == EM_INT ? (double)b.u.i : b.u.f));
}

/* ---- user functions ---- */

static em_status fn_map(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    return k_map(em_task_arena(t), args[0], out);
}

static em_status fn_keep(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_bool(k_keep(args[0]));
    return EM_OK;
}

static em_status fn_flat(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return k_flat(em_task_arena(t), args[0], out);
}

static em_status fn_key(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = k_key(args[0]);
    return EM_OK;
}

static em_status fn_num(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = k_num(args[0]);
    return EM_OK;
}

static em_status fn_seq(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), num_add(args[0].u.arr[0], args[1]),
                        em_int(args[0].u.arr[1].u.i + 1), out);
}

static em_status fn_comb(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_pair_make(
        em_task_arena(t), num_add(args[0].u.arr[0], args[1].u.arr[0]),
        em_int(args[0].u.arr[1].u.i + args[1].u.arr[1].u.i), out);
}

/* ---- a growing array for references ---- */

typedef struct vec {
    em_val *v;
    size_t n, cap;
} vec;

static void vec_push(vec *x, em_val v)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 16;
        x->v = realloc(x->v, x->cap * sizeof(*x->v));
        assert_non_null(x->v);
    }
    x->v[x->n++] = v;
}

/* The array value of x, copied into a; frees x. */
static em_val vec_finish(vec *x, em_arena *a)
{
    em_val out, *items = em_array_make(a, x->n, &out);

    assert_true(items != NULL || x->n == 0);
    for (size_t i = 0; i < x->n; i++)
        EM_CHECK(em_val_copy(a, x->v[i], &items[i]));
    free(x->v);
    return out;
}

static em_val status_val(em_status st)
{
    return em_cstr(em_status_name(st));
}

/* ---- pipelines: run (on a context) and reference ---- */

typedef em_val (*run_fn)(em_ctx *ctx, const input *in, em_arena *a);
typedef em_val (*ref_fn)(const input *in, em_arena *a);

static em_rdd *source(em_ctx *ctx, const input *in)
{
    em_rdd *r = em_ctx_parallelize(ctx, in->recs, in->n, in->slices);

    assert_non_null(r);
    return r;
}

static em_val collect_or_status(em_rdd *r, em_arena *a)
{
    em_val out;
    em_status st;

    assert_non_null(r);
    st = em_rdd_collect(r, a, &out);
    return st == EM_OK ? out : status_val(st);
}

/* map -> filter -> flatMap -> map */
static em_val run_chain(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = em_rdd_map(source(ctx, in), EM_FN(fn_map));

    r = em_rdd_map(
        em_rdd_flat_map(em_rdd_filter(r, EM_FN(fn_keep)), EM_FN(fn_flat)),
        EM_FN(fn_map));
    return collect_or_status(r, a);
}

/* map -> persist (serialized) -> filter -> flatMap -> map, collected
 * twice: the second pass reads the stored partitions. */
static em_val run_cached_chain(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *m = em_rdd_map(source(ctx, in), EM_FN(fn_map)), *r;
    em_val out, *items = em_array_make(a, 2, &out);

    assert_non_null(m);
    EM_CHECK(em_rdd_persist(m, EM_MEMORY_ONLY_SER));
    r = em_rdd_map(
        em_rdd_flat_map(em_rdd_filter(m, EM_FN(fn_keep)), EM_FN(fn_flat)),
        EM_FN(fn_map));
    items[0] = collect_or_status(r, a);
    items[1] = collect_or_status(r, a);
    return out;
}

static em_val ref_chain(const input *in, em_arena *a);

static em_val ref_cached_chain(const input *in, em_arena *a)
{
    em_val out, *items = em_array_make(a, 2, &out);

    items[0] = ref_chain(in, a);
    items[1] = items[0];
    return out;
}

static em_val ref_chain(const input *in, em_arena *a)
{
    vec out = {0};

    for (size_t i = 0; i < in->n; i++) {
        em_val x, f, y;
        EM_CHECK(k_map(a, in->recs[i], &x));
        if (!k_keep(x))
            continue;
        EM_CHECK(k_flat(a, x, &f));
        for (size_t j = 0; f.type == EM_ARRAY && j < f.len; j++) {
            EM_CHECK(k_map(a, f.u.arr[j], &y));
            vec_push(&out, y);
        }
    }
    return vec_finish(&out, a);
}

/* keyBy -> mapValues; then [keys, values, pairs] */
static em_val run_pairs(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *p = em_rdd_map_values(em_rdd_key_by(source(ctx, in), EM_FN(fn_key)),
                                  EM_FN(fn_map));
    em_val out, *items = em_array_make(a, 3, &out);

    items[0] = collect_or_status(em_rdd_keys(p), a);
    items[1] = collect_or_status(em_rdd_values(p), a);
    items[2] = collect_or_status(p, a);
    return out;
}

static em_val ref_pairs(const input *in, em_arena *a)
{
    vec keys = {0}, vals = {0}, pairs = {0};
    em_val out, *items = em_array_make(a, 3, &out);

    for (size_t i = 0; i < in->n; i++) {
        em_val k = k_key(in->recs[i]), v, p;
        EM_CHECK(k_map(a, in->recs[i], &v));
        EM_CHECK(em_pair_make(a, k, v, &p));
        vec_push(&keys, k);
        vec_push(&vals, v);
        vec_push(&pairs, p);
    }
    items[0] = vec_finish(&keys, a);
    items[1] = vec_finish(&vals, a);
    items[2] = vec_finish(&pairs, a);
    return out;
}

static em_val run_zip_index(em_ctx *ctx, const input *in, em_arena *a)
{
    return collect_or_status(em_rdd_zip_with_index(source(ctx, in)), a);
}

static em_val ref_zip_index(const input *in, em_arena *a)
{
    vec out = {0};

    for (size_t i = 0; i < in->n; i++) {
        em_val p;
        EM_CHECK(em_pair_make(a, in->recs[i], em_int((int64_t)i), &p));
        vec_push(&out, p);
    }
    return vec_finish(&out, a);
}

/* Slice i of s over n: [floor(i*n/s), floor((i+1)*n/s)). */
static size_t slice_lo(size_t n, int s, int i)
{
    return (size_t)((unsigned __int128)n * (unsigned)i / (unsigned)s);
}

static em_val run_unique_id(em_ctx *ctx, const input *in, em_arena *a)
{
    return collect_or_status(em_rdd_zip_with_unique_id(source(ctx, in)), a);
}

static em_val ref_unique_id(const input *in, em_arena *a)
{
    vec out = {0};

    for (int p = 0; p < in->slices; p++) {
        size_t lo = slice_lo(in->n, in->slices, p);
        size_t hi = slice_lo(in->n, in->slices, p + 1);
        for (size_t k = lo; k < hi; k++) {
            em_val pair;
            EM_CHECK(em_pair_make(a, in->recs[k],
                                  em_int((int64_t)(k - lo) * in->slices + p),
                                  &pair));
            vec_push(&out, pair);
        }
    }
    return vec_finish(&out, a);
}

static em_val run_glom(em_ctx *ctx, const input *in, em_arena *a)
{
    return collect_or_status(em_rdd_glom(source(ctx, in)), a);
}

static em_val ref_glom(const input *in, em_arena *a)
{
    em_val out, *parts = em_array_make(a, (size_t)in->slices, &out);

    for (int p = 0; p < in->slices; p++) {
        size_t lo = slice_lo(in->n, in->slices, p);
        size_t hi = slice_lo(in->n, in->slices, p + 1);
        EM_CHECK(em_val_copy(a, em_array(in->recs + lo, hi - lo), &parts[p]));
    }
    return out;
}

/* coalesce to 1, 3 and 2*slices partitions; [partitions, records] each. */
static em_val run_coalesce(em_ctx *ctx, const input *in, em_arena *a)
{
    int ks[3] = {1, 3, 2 * in->slices};
    em_val out, *items = em_array_make(a, 6, &out);

    for (int i = 0; i < 3; i++) {
        em_rdd *c = em_rdd_coalesce(source(ctx, in), ks[i]);
        assert_non_null(c);
        items[2 * i] = em_int(em_rdd_num_partitions(c));
        items[2 * i + 1] = collect_or_status(c, a);
    }
    return out;
}

static em_val ref_coalesce(const input *in, em_arena *a)
{
    int ks[3] = {1, 3, 2 * in->slices};
    em_val out, *items = em_array_make(a, 6, &out);

    for (int i = 0; i < 3; i++) {
        items[2 * i] = em_int(ks[i] < in->slices ? ks[i] : in->slices);
        EM_CHECK(em_val_copy(a, em_array(in->recs, in->n), &items[2 * i + 1]));
    }
    return out;
}

/* union(r, map(r), r) and its partition count */
static em_val run_union(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = source(ctx, in);
    em_rdd *parts[3] = {r, em_rdd_map(r, EM_FN(fn_map)), r};
    em_rdd *u = em_ctx_union(ctx, parts, 3);
    em_val out, *items = em_array_make(a, 2, &out);

    assert_non_null(u);
    items[0] = em_int(em_rdd_num_partitions(u));
    items[1] = collect_or_status(u, a);
    return out;
}

static em_val ref_union(const input *in, em_arena *a)
{
    vec all = {0};
    em_val out, *items = em_array_make(a, 2, &out);

    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < in->n; i++) {
            em_val x = in->recs[i];
            if (k == 1)
                EM_CHECK(k_map(a, x, &x));
            vec_push(&all, x);
        }
    }
    items[0] = em_int(3 * in->slices);
    items[1] = vec_finish(&all, a);
    return out;
}

/* zip(r, map(r)) */
static em_val run_zip(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = source(ctx, in);

    return collect_or_status(em_rdd_zip(r, em_rdd_map(r, EM_FN(fn_map))), a);
}

static em_val ref_zip(const input *in, em_arena *a)
{
    vec out = {0};

    for (size_t i = 0; i < in->n; i++) {
        em_val y, p;
        EM_CHECK(k_map(a, in->recs[i], &y));
        EM_CHECK(em_pair_make(a, in->recs[i], y, &p));
        vec_push(&out, p);
    }
    return vec_finish(&out, a);
}

/* [count, isEmpty, take(3), first or its status] */
static em_val run_count_take(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = source(ctx, in);
    em_val out, *items = em_array_make(a, 4, &out);
    int64_t n;
    bool b;
    em_status st;

    EM_CHECK(em_rdd_count(r, &n));
    items[0] = em_int(n);
    EM_CHECK(em_rdd_is_empty(r, &b));
    items[1] = em_bool(b);
    EM_CHECK(em_rdd_take(r, 3, a, &items[2]));
    st = em_rdd_first(r, a, &items[3]);
    if (st != EM_OK)
        items[3] = status_val(st);
    return out;
}

static em_val ref_count_take(const input *in, em_arena *a)
{
    em_val out, *items = em_array_make(a, 4, &out);

    items[0] = em_int((int64_t)in->n);
    items[1] = em_bool(in->n == 0);
    EM_CHECK(
        em_val_copy(a, em_array(in->recs, in->n < 3 ? in->n : 3), &items[2]));
    items[3] = in->n ? in->recs[0] : status_val(EM_EEMPTY);
    return out;
}

/* [sum, fold(1, add), aggregate (sum, count), reduce(add)] over the
 * numbers of the records */
static em_val run_numbers(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = em_rdd_map(source(ctx, in), EM_FN(fn_num));
    em_val out, *items = em_array_make(a, 8, &out), zero;
    em_val zero_items[2] = {em_int(0), em_int(0)};
    em_status st;
    double mean;

    zero = em_array(zero_items, 2);
    EM_CHECK(em_rdd_sum(r, &items[0]));
    EM_CHECK(em_rdd_fold(r, em_int(1), EM_FN(em_op_add), a, &items[1]));
    EM_CHECK(
        em_rdd_aggregate(r, zero, EM_FN(fn_seq), EM_FN(fn_comb), a, &items[2]));
    st = em_rdd_reduce(r, EM_FN(em_op_add), a, &items[3]);
    if (st != EM_OK)
        items[3] = status_val(st);
    st = em_rdd_tree_reduce(r, EM_FN(em_op_add), 2, a, &items[4]);
    if (st != EM_OK)
        items[4] = status_val(st);
    EM_CHECK(em_rdd_tree_aggregate(r, zero, EM_FN(fn_seq), EM_FN(fn_comb), 3, a,
                                   &items[5]));
    EM_CHECK(em_rdd_mean(r, &mean));
    items[6] = em_float(mean);
    EM_CHECK(em_rdd_count(r, &items[7].u.i));
    items[7].type = EM_INT;
    return out;
}

static em_val ref_numbers(const input *in, em_arena *a)
{
    em_val out, *items = em_array_make(a, 8, &out), sum = em_int(0);
    double fsum = 0;

    for (size_t i = 0; i < in->n; i++) {
        em_val x = k_num(in->recs[i]);
        sum = num_add(sum, x);
        fsum += x.type == EM_INT ? (double)x.u.i : x.u.f;
    }
    items[0] = sum;
    items[1] = num_add(sum, em_int(in->slices + 1));
    EM_CHECK(em_pair_make(a, sum, em_int((int64_t)in->n), &items[2]));
    items[3] = in->n ? sum : status_val(EM_EEMPTY);
    items[4] = items[3];
    items[5] = items[2];
    items[6] = em_float(in->n ? fsum / (double)in->n : NAN);
    items[7] = em_int((int64_t)in->n);
    return out;
}

/* Stable sort of indices by cmp(key) (descending when desc). */
static void stable_sort(const em_val *keys, size_t *idx, size_t n, bool desc)
{
    for (size_t i = 1; i < n; i++) {
        size_t cur = idx[i], j = i;
        while (j > 0) {
            int c = em_val_cmp(keys[idx[j - 1]], keys[cur]);
            if (desc ? c >= 0 : c <= 0)
                break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = cur;
    }
}

static em_val first_n_sorted(const input *in, em_arena *a, size_t n, bool desc,
                             bool by_num)
{
    size_t *idx = calloc(in->n + 1, sizeof(*idx));
    em_val *keys = calloc(in->n + 1, sizeof(*keys));
    vec out = {0};

    for (size_t i = 0; i < in->n; i++) {
        idx[i] = i;
        keys[i] = by_num ? k_num(in->recs[i]) : in->recs[i];
    }
    stable_sort(keys, idx, in->n, desc);
    for (size_t i = 0; i < n && i < in->n; i++)
        vec_push(&out, in->recs[idx[i]]);
    free(idx);
    free(keys);
    return vec_finish(&out, a);
}

/* takeOrdered and top, with and without a key, for n = 0, 1, 5, 40 */
static const size_t take_ns[] = {0, 1, 5, 40};

static em_val run_ordered(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = source(ctx, in);
    em_val out, *items = em_array_make(a, 16, &out);

    for (size_t i = 0; i < 4; i++) {
        int64_t n = (int64_t)take_ns[i];
        EM_CHECK(em_rdd_take_ordered(r, n, EM_FN_NONE, a, &items[4 * i]));
        EM_CHECK(em_rdd_top(r, n, EM_FN_NONE, a, &items[4 * i + 1]));
        EM_CHECK(
            em_rdd_take_ordered(r, n, EM_FN(fn_num), a, &items[4 * i + 2]));
        EM_CHECK(em_rdd_top(r, n, EM_FN(fn_num), a, &items[4 * i + 3]));
    }
    return out;
}

static em_val ref_ordered(const input *in, em_arena *a)
{
    em_val out, *items = em_array_make(a, 16, &out);

    for (size_t i = 0; i < 4; i++) {
        items[4 * i] = first_n_sorted(in, a, take_ns[i], false, false);
        items[4 * i + 1] = first_n_sorted(in, a, take_ns[i], true, false);
        items[4 * i + 2] = first_n_sorted(in, a, take_ns[i], false, true);
        items[4 * i + 3] = first_n_sorted(in, a, take_ns[i], true, true);
    }
    return out;
}

/* [max, min, max by number, min by number], or the status */
static em_val run_extremes(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = source(ctx, in);
    em_val out, *items = em_array_make(a, 4, &out);
    em_status st[4];

    st[0] = em_rdd_max(r, EM_FN_NONE, a, &items[0]);
    st[1] = em_rdd_min(r, EM_FN_NONE, a, &items[1]);
    st[2] = em_rdd_max(r, EM_FN(fn_num), a, &items[2]);
    st[3] = em_rdd_min(r, EM_FN(fn_num), a, &items[3]);
    for (int i = 0; i < 4; i++) {
        if (st[i] != EM_OK)
            items[i] = status_val(st[i]);
    }
    return out;
}

/* Python's max/min: the first of the extreme records. */
static em_val ref_extreme(const input *in, bool is_max, bool by_num)
{
    size_t best = 0;

    if (in->n == 0)
        return status_val(EM_EEMPTY);
    for (size_t i = 1; i < in->n; i++) {
        em_val x = by_num ? k_num(in->recs[i]) : in->recs[i];
        em_val b = by_num ? k_num(in->recs[best]) : in->recs[best];
        int c = em_val_cmp(x, b);
        if (is_max ? c > 0 : c < 0)
            best = i;
    }
    return in->recs[best];
}

static em_val ref_extremes(const input *in, em_arena *a)
{
    em_val out, *items = em_array_make(a, 4, &out);

    items[0] = ref_extreme(in, true, false);
    items[1] = ref_extreme(in, false, false);
    items[2] = ref_extreme(in, true, true);
    items[3] = ref_extreme(in, false, true);
    return out;
}

static em_val run_count_by_value(em_ctx *ctx, const input *in, em_arena *a)
{
    em_val out;

    EM_CHECK(em_rdd_count_by_value(source(ctx, in), a, &out));
    return out;
}

/* A map from each distinct record (first occurrence) to its count. */
static em_val ref_count_by_value(const input *in, em_arena *a)
{
    vec kv = {0};
    em_val out;

    for (size_t i = 0; i < in->n; i++) {
        size_t j;
        for (j = 0; j < kv.n; j += 2) {
            if (em_val_eq(kv.v[j], in->recs[i]))
                break;
        }
        if (j < kv.n) {
            kv.v[j + 1].u.i++;
        } else {
            vec_push(&kv, in->recs[i]);
            vec_push(&kv, em_int(1));
        }
    }
    EM_CHECK(em_map_make(a, kv.v, kv.n / 2, &out));
    free(kv.v);
    return out;
}

/* sample(false, 0.5, 11) and sample(true, 1.5, 11): only repeatability
 * across thread counts and containment are checked. */
static em_val run_sample(em_ctx *ctx, const input *in, em_arena *a)
{
    em_rdd *r = source(ctx, in);
    em_val out, *items = em_array_make(a, 2, &out);

    items[0] = collect_or_status(em_rdd_sample(r, false, 0.5, 11), a);
    items[1] = collect_or_status(em_rdd_sample(r, true, 1.5, 11), a);
    return out;
}

/* ---- the driver ---- */

typedef struct pipeline {
    const char *name;
    run_fn run;
    ref_fn ref;      /* NULL: no reference, only consistency */
    double tol;      /* relative tolerance for floats against ref */
    bool is_eq_only; /* compare to ref with em_val_eq (key choice free) */
} pipeline;

static const pipeline pipelines[] = {
    {"map/filter/flatMap", run_chain, ref_chain, 0, false},
    {"keyBy/mapValues/keys/values", run_pairs, ref_pairs, 0, false},
    {"zipWithIndex", run_zip_index, ref_zip_index, 0, false},
    {"zipWithUniqueId", run_unique_id, ref_unique_id, 0, false},
    {"glom", run_glom, ref_glom, 0, false},
    {"coalesce", run_coalesce, ref_coalesce, 0, false},
    {"union", run_union, ref_union, 0, false},
    {"zip", run_zip, ref_zip, 0, false},
    {"count/isEmpty/take/first", run_count_take, ref_count_take, 0, false},
    {"sum/fold/aggregate/reduce", run_numbers, ref_numbers, 1e-12, false},
    {"takeOrdered/top", run_ordered, ref_ordered, 0, false},
    {"max/min", run_extremes, ref_extremes, 0, false},
    {"countByValue", run_count_by_value, ref_count_by_value, 0, true},
    {"sample", run_sample, NULL, 0, false},
    {"cached map/filter/flatMap", run_cached_chain, ref_cached_chain, 0, false},
};

static const char *const masters[] = {"local[1]", "local[2]", "local[7]"};

static void check_input(em_ctx **ctxs, const input *in, const pipeline *p)
{
    em_arena *a = em_arena_create();
    em_val got[3], want;
    char what[128];

    for (int m = 0; m < 3; m++)
        got[m] = p->run(ctxs[m], in, a);
    for (int m = 1; m < 3; m++) {
        snprintf(what, sizeof(what), "%s differs from local[1]", p->name);
        if (!same(got[m], got[0], 0))
            report(what, in, masters[m], got[m], got[0]);
    }
    if (p->ref != NULL) {
        bool ok;
        want = p->ref(in, a);
        ok = p->is_eq_only ? em_val_eq(got[0], want)
                           : same(got[0], want, p->tol);
        snprintf(what, sizeof(what), "%s differs from the reference", p->name);
        if (!ok)
            report(what, in, masters[0], got[0], want);
    }
    em_arena_destroy(a);
}

static void run_property(size_t which)
{
    em_ctx *ctxs[3];
    em_arena *a = em_arena_create();
    em_test_rng rng = {0x5eed0000u + which};

    for (int m = 0; m < 3; m++)
        ctxs[m] = em_test_ctx(masters[m]);
    for (int round = 0; round < 8; round++) {
        for (int kind = 0; kind < KIND_COUNT; kind++) {
            input in;
            gen_input(&rng, kind, a, &in);
            check_input(ctxs, &in, &pipelines[which]);
        }
    }
    for (int m = 0; m < 3; m++)
        em_ctx_destroy(ctxs[m]);
    em_arena_destroy(a);
}

/* The sample pipeline also keeps every sampled record from the input, in
 * order without replacement. */
static void test_properties_sample_contained(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_test_rng rng = {77};

    for (int kind = 0; kind < KIND_COUNT; kind++) {
        input in;
        em_val s;
        size_t j = 0;
        gen_input(&rng, kind, a, &in);
        s = run_sample(ctx, &in, a);
        for (size_t i = 0; i < s.u.arr[0].len; i++) {
            while (j < in.n && !same(in.recs[j], s.u.arr[0].u.arr[i], 0))
                j++;
            assert_true(j < in.n);
            j++;
        }
        for (size_t i = 0; i < s.u.arr[1].len; i++) {
            bool found = false;
            for (size_t k = 0; k < in.n && !found; k++)
                found = same(in.recs[k], s.u.arr[1].u.arr[i], 0);
            assert_true(found);
        }
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

#define PROPERTY(fn, i)                                                        \
    static void fn(void **state)                                               \
    {                                                                          \
        run_property(i);                                                       \
    }

PROPERTY(test_properties_chain, 0)
PROPERTY(test_properties_pairs, 1)
PROPERTY(test_properties_zip_with_index, 2)
PROPERTY(test_properties_zip_with_unique_id, 3)
PROPERTY(test_properties_glom, 4)
PROPERTY(test_properties_coalesce, 5)
PROPERTY(test_properties_union, 6)
PROPERTY(test_properties_zip, 7)
PROPERTY(test_properties_count_take, 8)
PROPERTY(test_properties_numbers, 9)
PROPERTY(test_properties_ordered, 10)
PROPERTY(test_properties_extremes, 11)
PROPERTY(test_properties_count_by_value, 12)
PROPERTY(test_properties_sample, 13)
PROPERTY(test_properties_cached_chain, 14)

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_properties_chain),
        EM_TEST(test_properties_pairs),
        EM_TEST(test_properties_zip_with_index),
        EM_TEST(test_properties_zip_with_unique_id),
        EM_TEST(test_properties_glom),
        EM_TEST(test_properties_coalesce),
        EM_TEST(test_properties_union),
        EM_TEST(test_properties_zip),
        EM_TEST(test_properties_count_take),
        EM_TEST(test_properties_ordered),
        EM_TEST(test_properties_extremes),
        EM_TEST(test_properties_count_by_value),
        EM_TEST(test_properties_sample),
        EM_TEST(test_properties_sample_contained),
        EM_TEST(test_properties_cached_chain),
        /* last: reduce over empty partitions may abort under ASan */
        EM_TEST(test_properties_numbers),
    };

    return cmocka_run_group_tests_name("properties", tests, NULL, NULL);
}
