/* Tests of the wide operators (ops/core/keyed.c, join.c, sort.c,
 * shuffled.c over scheduler/shuffle.c), each against a naive reference
 * computed in the test, over randomized inputs with fixed seeds: a skewed
 * key holding most records, keys mixing ints, floats equal to ints and
 * strings, empty input, one record, and inputs with empty partitions; input
 * slices 1, 3 and 8; the default and explicit partition counts; and the
 * contexts local[1], local[2] and local[7]. Every run is compared with the
 * same reference (after sorting with em_val_cmp where the operator defines
 * no order), so the answers are also identical across thread counts.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"

/* ------------------------------------------------------------------ */
/* Values and comparisons                                               */
/* ------------------------------------------------------------------ */

static char where[320]; /* the run being checked, for messages */

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* A new array of n elements in a; *items receives the elements. */
static em_val arr_new(em_arena *a, size_t n, em_val **items)
{
    em_val v;

    if (n == 0) {
        *items = NULL;
        return em_array(NULL, 0);
    }
    *items = em_array_make(a, n, &v);
    assert_non_null(*items);
    return v;
}

/* A copy of arr with its elements sorted by em_val_cmp. */
static em_val sorted(em_arena *a, em_val arr)
{
    em_val *items, v;

    if (arr.type != EM_ARRAY)
        fail_msg("%s: expected an array, got %s", where,
                 em_type_name((em_type)arr.type));
    v = arr_new(a, arr.len, &items);
    if (arr.len > 0) {
        memcpy(items, arr.u.arr, arr.len * sizeof(em_val));
        qsort(items, arr.len, sizeof(em_val), val_qcmp);
    }
    return v;
}

static em_val pair(em_arena *a, em_val k, em_val v)
{
    em_val p;

    EM_CHECK(em_pair_make(a, k, v, &p));
    return p;
}

static em_val pair2(em_arena *a, em_val k, em_val v, em_val w)
{
    return pair(a, k, pair(a, v, w));
}

/* A growable list of values (plain malloc: references only). */
typedef struct vec {
    em_val *v;
    size_t n, cap;
} vec;

static void vec_push(vec *x, em_val v)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->v = realloc(x->v, x->cap * sizeof(em_val));
        assert_non_null(x->v);
    }
    x->v[x->n++] = v;
}

/* The list as a sorted array in a; frees the list. */
static em_val vec_sorted(em_arena *a, vec *x)
{
    em_val v = sorted(a, em_array(x->v, x->n));

    free(x->v);
    memset(x, 0, sizeof(*x));
    return v;
}

static void fmt(em_val v, char *buf, size_t cap)
{
    em_val_format(v, buf, cap);
}

/* Two sorted arrays are equal element by element. */
static void expect_same(em_val got, em_val want, const char *op)
{
    char g[300], w[300];
    size_t n;

    if (got.type != EM_ARRAY || want.type != EM_ARRAY)
        fail_msg("%s: %s: not arrays", where, op);
    n = got.len < want.len ? got.len : want.len;
    for (size_t i = 0; i < n; i++) {
        if (!em_val_eq(got.u.arr[i], want.u.arr[i])) {
            fmt(got.u.arr[i], g, sizeof(g));
            fmt(want.u.arr[i], w, sizeof(w));
            fail_msg("%s: %s: sorted record %zu of %u is %s, want %s", where,
                     op, i, got.len, g, w);
        }
    }
    if (got.len != want.len) {
        fmt(got.len > want.len ? got.u.arr[n] : want.u.arr[n], g, sizeof(g));
        fail_msg("%s: %s: %u records, want %u (first extra/missing: %s)",
                 where, op, got.len, want.len, g);
    }
}

static void expect_val(em_val got, em_val want, const char *op)
{
    char g[600], w[600];

    if (em_val_eq(got, want))
        return;
    fmt(got, g, sizeof(g));
    fmt(want, w, sizeof(w));
    fail_msg("%s: %s: got %s, want %s", where, op, g, w);
}

/* ---- RDD helpers ---- */

static void need_rdd(const em_rdd *x, const char *op)
{
    if (x == NULL)
        fail_msg("%s: %s returned NULL: %s", where, op, em_last_error());
}

static em_val collect(em_rdd *x, em_arena *a, const char *op)
{
    em_val out;
    em_status st;

    need_rdd(x, op);
    st = em_rdd_collect(x, a, &out);
    if (st != EM_OK)
        fail_msg("%s: %s: collect -> %s: %s", where, op, em_status_name(st),
                 em_last_error());
    if (out.type != EM_ARRAY)
        fail_msg("%s: %s: collect gave a %s", where, op,
                 em_type_name((em_type)out.type));
    return out;
}

/* One array per partition. */
static em_val glom(em_rdd *x, em_arena *a, const char *op)
{
    need_rdd(x, op);
    return collect(em_rdd_glom(x), a, op);
}

static void expect_parts(const em_rdd *x, int want, const char *op)
{
    need_rdd(x, op);
    if (em_rdd_num_partitions(x) != want)
        fail_msg("%s: %s has %d partitions, want %d", where, op,
                 em_rdd_num_partitions(x), want);
}

/* The concatenation of glom's partitions. */
static em_val flatten(em_arena *a, em_val parts)
{
    size_t n = 0, k = 0;
    em_val *items, v;

    for (uint32_t i = 0; i < parts.len; i++)
        n += parts.u.arr[i].len;
    v = arr_new(a, n, &items);
    for (uint32_t i = 0; i < parts.len; i++)
        for (uint32_t j = 0; j < parts.u.arr[i].len; j++)
            items[k++] = parts.u.arr[i].u.arr[j];
    return v;
}

/* Every record of partition i of x has em_val_hash(key) % n == i, where
 * key is the record's key or, with is_whole, the record itself. */
static void expect_hash_placement(em_rdd *x, em_arena *a, const char *op,
                                  bool is_whole)
{
    em_val parts = glom(x, a, op);
    int n = em_rdd_num_partitions(x);
    char k[200];

    if (parts.len != (uint32_t)n)
        fail_msg("%s: %s: glom gave %u partitions of %d", where, op,
                 parts.len, n);
    for (int i = 0; i < n; i++) {
        em_val p = parts.u.arr[i];
        for (uint32_t j = 0; j < p.len; j++) {
            em_val key = is_whole ? p.u.arr[j] : p.u.arr[j].u.arr[0];
            int want = (int)(em_val_hash(key) % (uint64_t)n);
            if (want != i) {
                fmt(key, k, sizeof(k));
                fail_msg("%s: %s: key %s is in partition %d of %d; its "
                         "hash says %d", where, op, k, i, n, want);
            }
        }
    }
}

/* (k, [v...]) with the values sorted. */
static em_val norm_group(em_arena *a, em_val rec)
{
    if (!em_val_is_pair(rec) || rec.u.arr[1].type != EM_ARRAY) {
        char g[200];
        fmt(rec, g, sizeof(g));
        fail_msg("%s: expected (key, [values]), got %s", where, g);
    }
    return pair(a, rec.u.arr[0], sorted(a, rec.u.arr[1]));
}

/* Every group normalized, then the records sorted. */
static em_val norm_groups(em_arena *a, em_val recs)
{
    em_val *items, v = arr_new(a, recs.len, &items);

    for (uint32_t i = 0; i < recs.len; i++)
        items[i] = norm_group(a, recs.u.arr[i]);
    return sorted(a, v);
}

/* (k, [[v...], [w...], ...]) with each list sorted, then sorted. */
static em_val norm_cogroups(em_arena *a, em_val recs, size_t k)
{
    em_val *items, v = arr_new(a, recs.len, &items);
    char g[200];

    for (uint32_t i = 0; i < recs.len; i++) {
        em_val rec = recs.u.arr[i], lists, *ls;
        if (!em_val_is_pair(rec) || rec.u.arr[1].type != EM_ARRAY ||
            rec.u.arr[1].len != k) {
            fmt(rec, g, sizeof(g));
            fail_msg("%s: cogroup: expected (key, [%zu lists]), got %s",
                     where, k, g);
        }
        lists = arr_new(a, k, &ls);
        for (size_t j = 0; j < k; j++)
            ls[j] = sorted(a, rec.u.arr[1].u.arr[j]);
        items[i] = pair(a, rec.u.arr[0], lists);
    }
    return sorted(a, v);
}

/* ------------------------------------------------------------------ */
/* User functions (no cmocka asserts: they run on task threads)         */
/* ------------------------------------------------------------------ */

static em_status need_pair_arg(em_task *t, em_val v)
{
    if (em_val_is_pair(v))
        return EM_OK;
    return em_task_fail(t, "expected a pair, got %s",
                        em_type_name((em_type)v.type));
}

/* v -> [v] */
static em_status fn_list1(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    em_val *items = em_array_make(em_task_arena(t), 1, out);

    if (items == NULL)
        return EM_ENOMEM;
    items[0] = args[0];
    return EM_OK;
}

/* (c, v) -> c ++ [v] */
static em_status fn_append(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val c = args[0], *items;

    if (nargs != 2 || c.type != EM_ARRAY)
        return em_task_fail(t, "append: bad arguments");
    items = em_array_make(em_task_arena(t), c.len + 1, out);
    if (items == NULL)
        return EM_ENOMEM;
    if (c.len > 0)
        memcpy(items, c.u.arr, c.len * sizeof(em_val));
    items[c.len] = args[1];
    return EM_OK;
}

/* (c, d) -> c ++ d */
static em_status fn_concat_lists(em_task *t, const em_val *env,
                                 const em_val *args, size_t nargs,
                                 em_val *out)
{
    em_val c = args[0], d = args[1], *items;

    if (nargs != 2 || c.type != EM_ARRAY || d.type != EM_ARRAY)
        return em_task_fail(t, "concat: bad arguments");
    if (c.len + d.len == 0) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    items = em_array_make(em_task_arena(t), c.len + d.len, out);
    if (items == NULL)
        return EM_ENOMEM;
    if (c.len > 0)
        memcpy(items, c.u.arr, c.len * sizeof(em_val));
    if (d.len > 0)
        memcpy(items + c.len, d.u.arr, d.len * sizeof(em_val));
    return EM_OK;
}

/* ([count, sum], v) -> [count + 1, sum + v] */
static em_status fn_cs_seq(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val acc = args[0], *items;

    if (acc.type != EM_ARRAY || acc.len != 2 || args[1].type != EM_INT)
        return em_task_fail(t, "cs_seq: bad arguments");
    if ((items = em_array_make(em_task_arena(t), 2, out)) == NULL)
        return EM_ENOMEM;
    items[0] = em_int(acc.u.arr[0].u.i + 1);
    items[1] = em_int(acc.u.arr[1].u.i + args[1].u.i);
    return EM_OK;
}

/* ([c1, s1], [c2, s2]) -> [c1 + c2, s1 + s2] */
static em_status fn_cs_comb(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    em_val x = args[0], y = args[1], *items;

    if (x.type != EM_ARRAY || y.type != EM_ARRAY || x.len != 2 || y.len != 2)
        return em_task_fail(t, "cs_comb: bad arguments");
    if ((items = em_array_make(em_task_arena(t), 2, out)) == NULL)
        return EM_ENOMEM;
    items[0] = em_int(x.u.arr[0].u.i + y.u.arr[0].u.i);
    items[1] = em_int(x.u.arr[1].u.i + y.u.arr[1].u.i);
    return EM_OK;
}

/* (k, v) -> v % 7 */
static int64_t mod7_of(em_val rec)
{
    return rec.u.arr[1].u.i % 7;
}

static em_status fn_mod7(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    em_status st = need_pair_arg(t, args[0]);

    if (st == EM_OK)
        *out = em_int(mod7_of(args[0]));
    return st;
}

/* (k, v) -> v */
static em_status fn_value(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    em_status st = need_pair_arg(t, args[0]);

    if (st == EM_OK)
        *out = args[0].u.arr[1];
    return st;
}

/* The user partition function's value for a key: numbers by value (so
 * that equal keys agree), others from their hash. */
static int64_t part_fn_value(em_val key)
{
    double f;

    if (key.type == EM_INT)
        return key.u.i;
    if (em_val_as_float(key, &f))
        return (int64_t)f;
    return (int64_t)(em_val_hash(key) >> 40);
}

static em_status fn_part(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_int(part_fn_value(args[0]));
    return EM_OK;
}

/* A non-negative modulo, as Python's. */
static int pymod(int64_t x, int n)
{
    return (int)(((x % n) + n) % n);
}

/* Ordering keys: 0 the key itself, 1 the lowercase of a string, 2 the
 * length of a string. */
enum { KF_NONE, KF_LOWER, KF_LEN };

static em_status keyfunc_of(int kf, em_arena *a, em_val k, em_val *out)
{
    char *p;

    *out = k;
    if (kf == KF_NONE || k.type != EM_STR)
        return EM_OK;
    if (kf == KF_LEN) {
        *out = em_int((int64_t)k.len);
        return EM_OK;
    }
    if ((p = em_arena_alloc(a, k.len ? k.len : 1)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < k.len; i++)
        p[i] = (char)tolower((unsigned char)k.u.s[i]);
    *out = em_str(p, k.len);
    return EM_OK;
}

static em_status fn_lower(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    return keyfunc_of(KF_LOWER, em_task_arena(t), args[0], out);
}

static em_status fn_len(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    return keyfunc_of(KF_LEN, em_task_arena(t), args[0], out);
}

static em_fn keyfn(int kf)
{
    if (kf == KF_LOWER)
        return EM_FN(fn_lower);
    if (kf == KF_LEN)
        return EM_FN(fn_len);
    return EM_FN_NONE;
}

/* v -> v, counting the calls in the accumulator env. */
static em_status fn_count_calls(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    *out = args[0];
    return em_task_accum_add(t, *env, em_int(1));
}

/* x -> x % 3 for ints */
static em_status fn_int_mod3(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    if (args[0].type != EM_INT)
        return em_task_fail(t, "mod3: not an int");
    *out = em_int(args[0].u.i % 3);
    return EM_OK;
}

/* Fails every call. */
static em_status fn_fail(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_task_fail(t, "deliberate failure in reduce");
}

/* ------------------------------------------------------------------ */
/* Inputs and the sweep                                                 */
/* ------------------------------------------------------------------ */

#define NMASTERS 3
#define NSLICES 3
#define NDATA 5
#define SKEW_KEY 7

static const char *const masters[NMASTERS] = {"local[1]", "local[2]",
                                              "local[7]"};
static const int slice_counts[NSLICES] = {1, 3, 8};

typedef struct dataset {
    const char *name;
    const em_val *recs;  /* (key, int value) pairs */
    const em_val *srecs; /* the same values with mixed-case string keys */
    size_t n;
} dataset;

/* A key: mostly the int k, sometimes the float equal to it (the same key
 * under em_val_eq), sometimes the string "k<k>" (another key). */
static em_val gen_key(em_test_rng *r, em_arena *a, int64_t k)
{
    uint64_t u = em_test_below(r, 8);
    char buf[32];
    em_val s;

    if (u < 5)
        return em_int(k);
    if (u < 6)
        return em_float((double)k);
    snprintf(buf, sizeof(buf), "k%lld", (long long)k);
    EM_CHECK(em_str_copy(a, buf, strlen(buf), &s));
    return s;
}

/* A short string over "aAbBc": many differ only in case or share a
 * length. */
static em_val gen_skey(em_test_rng *r, em_arena *a)
{
    static const char alpha[] = "aAbBc";
    size_t len = 1 + (size_t)em_test_below(r, 4);
    char buf[8];
    em_val s;

    for (size_t i = 0; i < len; i++)
        buf[i] = alpha[em_test_below(r, 5)];
    EM_CHECK(em_str_copy(a, buf, len, &s));
    return s;
}

/* n pairs; skew_pct percent of them with SKEW_KEY, the others with keys in
 * [-5, nkeys - 5); values in [-20, 20]. */
static dataset make_dataset(em_arena *a, const char *name, uint64_t seed,
                            size_t n, int64_t nkeys, int skew_pct)
{
    em_test_rng r = {seed};
    dataset d = {name, NULL, NULL, n};
    em_val *recs = NULL, *srecs = NULL;

    if (n > 0) {
        recs = em_arena_alloc(a, n * sizeof(em_val));
        srecs = em_arena_alloc(a, n * sizeof(em_val));
        assert_true(recs != NULL && srecs != NULL);
    }
    for (size_t i = 0; i < n; i++) {
        int64_t k = (int)em_test_below(&r, 100) < skew_pct
                        ? SKEW_KEY
                        : (int64_t)em_test_below(&r, (uint64_t)nkeys) - 5;
        em_val v = em_int((int64_t)em_test_below(&r, 41) - 20);
        recs[i] = pair(a, gen_key(&r, a, k), v);
        srecs[i] = pair(a, gen_skey(&r, a), v);
    }
    d.recs = recs;
    d.srecs = srecs;
    return d;
}

typedef struct run {
    em_ctx *ctx;
    const char *master;
    em_arena *a;        /* this run's results and references */
    const dataset *d;   /* the input */
    int s;              /* its slices */
    const dataset *b;   /* a second input */
    int sb;
    const dataset *c;   /* a third input */
    int sc;
    int np;             /* num_partitions passed: 0 or explicit */
} run;

typedef void (*check_fn)(const run *r);

/* Runs check over every context, input slicing and input, with the
 * default or an explicit partition count. */
static void sweep(check_fn check)
{
    em_arena *data = em_arena_create();
    dataset A[NDATA], B[NDATA];

    assert_non_null(data);
    A[0] = make_dataset(data, "skewed", 11, 600, 50, 80);
    A[1] = make_dataset(data, "uniform", 12, 400, 100, 0);
    A[2] = make_dataset(data, "empty", 13, 0, 10, 0);
    A[3] = make_dataset(data, "one record", 14, 1, 10, 0);
    A[4] = make_dataset(data, "sparse", 15, 5, 10, 0);
    B[0] = make_dataset(data, "uniform b", 21, 150, 60, 0);
    B[1] = make_dataset(data, "empty b", 22, 0, 10, 0);
    B[2] = make_dataset(data, "one b", 23, 1, 10, 0);
    B[3] = make_dataset(data, "uniform b2", 24, 120, 60, 2);
    B[4] = make_dataset(data, "sparse b", 25, 5, 10, 0);
    for (int m = 0; m < NMASTERS; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        for (int si = 0; si < NSLICES; si++) {
            for (int di = 0; di < NDATA; di++) {
                /* the default count and an explicit one alternate, so
                 * that each input meets both over the slicings */
                for (int k = (m + si + di) % 2; k < 2; k += 2) {
                    run r;
                    r.ctx = ctx;
                    r.master = masters[m];
                    r.a = em_arena_create();
                    assert_non_null(r.a);
                    r.d = &A[di];
                    r.s = slice_counts[si];
                    r.b = &B[di];
                    r.sb = slice_counts[(si + 1) % NSLICES];
                    r.c = &B[(di + 1) % NDATA];
                    r.sc = slice_counts[(si + 2) % NSLICES];
                    r.np = k ? slice_counts[(si + 1) % NSLICES] : 0;
                    snprintf(where, sizeof(where),
                             "%s, input %s (%zu records, %d slices), "
                             "b %s (%zu, %d), num_partitions %d",
                             masters[m], r.d->name, r.d->n, r.s, r.b->name,
                             r.b->n, r.sb, r.np);
                    check(&r);
                    em_arena_destroy(r.a);
                }
            }
        }
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(data);
}

static em_rdd *par_n(const run *r, const dataset *d, size_t n, int s,
                     bool is_str)
{
    em_rdd *x = em_ctx_parallelize(r->ctx, is_str ? d->srecs : d->recs, n,
                                   s);

    if (x == NULL)
        fail_msg("%s: parallelize: %s", where, em_last_error());
    return x;
}

static em_rdd *par(const run *r, const dataset *d, int s)
{
    return par_n(r, d, d->n, s, false);
}

static int unary_parts(const run *r)
{
    return r->np > 0 ? r->np : r->s;
}

static int binary_parts(const run *r)
{
    if (r->np > 0)
        return r->np;
    return r->s > r->sb ? r->s : r->sb;
}

/* ---- the reference: records grouped by key ---- */

typedef struct kv {
    em_val k, v;
    int slice; /* the input partition holding the record */
} kv;

typedef struct group {
    em_val key;
    const kv *items;
    size_t n;
    int nslices; /* input partitions holding the key */
} group;

static int kv_cmp(const void *x, const void *y)
{
    return em_val_cmp(((const kv *)x)->k, ((const kv *)y)->k);
}

/* The slice of record j of n over s slices (parallelize's rule). */
static int slice_of(size_t j, size_t n, int s)
{
    for (int i = 0; i < s; i++)
        if (j < (size_t)(((uint64_t)(i + 1) * n) / (uint64_t)s))
            return i;
    return s - 1;
}

/* The pairs grouped by key (em_val_cmp), keys ascending. */
static group *make_groups(em_arena *a, const em_val *recs, size_t n, int s,
                          size_t *ng)
{
    kv *items = em_arena_alloc(a, (n ? n : 1) * sizeof(kv));
    group *g = em_arena_alloc(a, (n ? n : 1) * sizeof(group));
    size_t k = 0;

    assert_true(items != NULL && g != NULL);
    for (size_t j = 0; j < n; j++) {
        items[j].k = recs[j].u.arr[0];
        items[j].v = recs[j].u.arr[1];
        items[j].slice = slice_of(j, n, s);
    }
    qsort(items, n, sizeof(kv), kv_cmp);
    for (size_t i = 0; i < n;) {
        size_t e = i + 1;
        uint64_t mask = 0;
        while (e < n && em_val_cmp(items[e].k, items[i].k) == 0)
            e++;
        for (size_t x = i; x < e; x++)
            mask |= 1ull << items[x].slice;
        g[k].key = items[i].k;
        g[k].items = items + i;
        g[k].n = e - i;
        g[k].nslices = __builtin_popcountll(mask);
        k++;
        i = e;
    }
    *ng = k;
    return g;
}

static const group *find_group(const group *g, size_t ng, em_val key)
{
    size_t lo = 0, hi = ng;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = em_val_cmp(g[mid].key, key);
        if (c == 0)
            return &g[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int64_t group_sum(const group *g)
{
    int64_t s = 0;

    for (size_t i = 0; i < g->n; i++)
        s += g->items[i].v.u.i;
    return s;
}

static int64_t group_min(const group *g)
{
    int64_t m = g->items[0].v.u.i;

    for (size_t i = 1; i < g->n; i++)
        if (g->items[i].v.u.i < m)
            m = g->items[i].v.u.i;
    return m;
}

/* The values of a group, sorted. */
static em_val group_values(em_arena *a, const group *g)
{
    em_val *items, v;

    if (g == NULL)
        return em_array(NULL, 0);
    v = arr_new(a, g->n, &items);
    for (size_t i = 0; i < g->n; i++)
        items[i] = g->items[i].v;
    return sorted(a, v);
}

/* ------------------------------------------------------------------ */
/* The *ByKey family                                                    */
/* ------------------------------------------------------------------ */

static void check_reduce_by_key(const run *r)
{
    size_t ng;
    group *g = make_groups(r->a, r->d->recs, r->d->n, r->s, &ng);
    em_rdd *in = par(r, r->d, r->s);
    em_rdd *sum = em_rdd_reduce_by_key(in, EM_FN(em_op_add), r->np);
    em_rdd *min = em_rdd_reduce_by_key(in, EM_FN(em_op_min), r->np);
    vec ws = {0}, wm = {0};

    for (size_t i = 0; i < ng; i++) {
        vec_push(&ws, pair(r->a, g[i].key, em_int(group_sum(&g[i]))));
        vec_push(&wm, pair(r->a, g[i].key, em_int(group_min(&g[i]))));
    }
    expect_parts(sum, unary_parts(r), "reduceByKey");
    expect_same(sorted(r->a, collect(sum, r->a, "reduceByKey(add)")),
                vec_sorted(r->a, &ws), "reduceByKey(add)");
    expect_same(sorted(r->a, collect(min, r->a, "reduceByKey(min)")),
                vec_sorted(r->a, &wm), "reduceByKey(min)");
    expect_hash_placement(sum, r->a, "reduceByKey", false);
}

static void test_wide_reduce_by_key(void **state)
{
    sweep(check_reduce_by_key);
}

/* foldByKey and aggregateByKey start every key of every map partition
 * from zero: with zero 100 and add, 100 per input partition holding the
 * key plus the sum. */
static void check_fold_aggregate(const run *r)
{
    size_t ng;
    group *g = make_groups(r->a, r->d->recs, r->d->n, r->s, &ng);
    em_rdd *in = par(r, r->d, r->s);
    em_val zero2[2] = {em_int(0), em_int(0)};
    em_rdd *fold = em_rdd_fold_by_key(in, em_int(100), EM_FN(em_op_add),
                                      r->np);
    em_rdd *agg = em_rdd_aggregate_by_key(in, em_int(100), EM_FN(em_op_add),
                                          EM_FN(em_op_add), r->np);
    em_rdd *cs = em_rdd_aggregate_by_key(in, em_array(zero2, 2),
                                         EM_FN(fn_cs_seq), EM_FN(fn_cs_comb),
                                         r->np);
    vec wf = {0}, wc = {0};

    for (size_t i = 0; i < ng; i++) {
        em_val *cnt, c = arr_new(r->a, 2, &cnt);
        vec_push(&wf, pair(r->a, g[i].key,
                           em_int(100 * g[i].nslices + group_sum(&g[i]))));
        cnt[0] = em_int((int64_t)g[i].n);
        cnt[1] = em_int(group_sum(&g[i]));
        vec_push(&wc, pair(r->a, g[i].key, c));
    }
    expect_parts(fold, unary_parts(r), "foldByKey");
    expect_parts(agg, unary_parts(r), "aggregateByKey");
    {
        em_val want = vec_sorted(r->a, &wf);
        expect_same(sorted(r->a, collect(fold, r->a, "foldByKey")), want,
                    "foldByKey(100, add)");
        expect_same(sorted(r->a, collect(agg, r->a, "aggregateByKey")),
                    want, "aggregateByKey(100, add, add)");
    }
    expect_same(sorted(r->a, collect(cs, r->a, "aggregateByKey(count,sum)")),
                vec_sorted(r->a, &wc), "aggregateByKey([0, 0], count/sum)");
    expect_hash_placement(agg, r->a, "aggregateByKey", false);
}

static void test_wide_fold_aggregate_by_key(void **state)
{
    sweep(check_fold_aggregate);
}

/* groupByKey, and combineByKey building the same lists. */
static void check_group_by_key(const run *r)
{
    size_t ng;
    group *g = make_groups(r->a, r->d->recs, r->d->n, r->s, &ng);
    em_rdd *in = par(r, r->d, r->s);
    em_rdd *grp = em_rdd_group_by_key(in, r->np);
    em_rdd *cmb = em_rdd_combine_by_key(in, EM_FN(fn_list1),
                                        EM_FN(fn_append),
                                        EM_FN(fn_concat_lists), r->np);
    vec w = {0};
    em_val want;

    for (size_t i = 0; i < ng; i++)
        vec_push(&w, pair(r->a, g[i].key, group_values(r->a, &g[i])));
    want = vec_sorted(r->a, &w);
    expect_parts(grp, unary_parts(r), "groupByKey");
    expect_parts(cmb, unary_parts(r), "combineByKey");
    expect_same(norm_groups(r->a, collect(grp, r->a, "groupByKey")), want,
                "groupByKey");
    expect_same(norm_groups(r->a, collect(cmb, r->a, "combineByKey")), want,
                "combineByKey(list)");
    expect_hash_placement(grp, r->a, "groupByKey", false);
    expect_hash_placement(cmb, r->a, "combineByKey", false);
}

static void test_wide_group_combine_by_key(void **state)
{
    sweep(check_group_by_key);
}

/* groupBy(v % 7): (f(rec), [rec...]). */
static void check_group_by(const run *r)
{
    em_val *keyed, kv_arr = arr_new(r->a, r->d->n, &keyed);
    size_t ng;
    group *g;
    em_rdd *x;
    vec w = {0};

    for (size_t i = 0; i < r->d->n; i++)
        keyed[i] = pair(r->a, em_int(mod7_of(r->d->recs[i])), r->d->recs[i]);
    g = make_groups(r->a, kv_arr.u.arr, r->d->n, r->s, &ng);
    for (size_t i = 0; i < ng; i++)
        vec_push(&w, pair(r->a, g[i].key, group_values(r->a, &g[i])));
    x = em_rdd_group_by(par(r, r->d, r->s), EM_FN(fn_mod7), r->np);
    expect_parts(x, unary_parts(r), "groupBy");
    expect_same(norm_groups(r->a, collect(x, r->a, "groupBy")),
                vec_sorted(r->a, &w), "groupBy");
    expect_hash_placement(x, r->a, "groupBy", false);
}

static void test_wide_group_by(void **state)
{
    sweep(check_group_by);
}

/* distinct of the pairs and of the keys. */
static void check_distinct(const run *r)
{
    em_val *keys, karr = arr_new(r->a, r->d->n, &keys);
    em_val all = sorted(r->a, em_array(r->d->recs, r->d->n));
    em_rdd *in = par(r, r->d, r->s);
    em_rdd *dp = em_rdd_distinct(in, r->np);
    em_rdd *dk = em_rdd_distinct(em_rdd_keys(in), r->np);
    vec wp = {0}, wk = {0};

    for (size_t i = 0; i < r->d->n; i++)
        keys[i] = r->d->recs[i].u.arr[0];
    karr = sorted(r->a, karr);
    for (uint32_t i = 0; i < all.len; i++)
        if (i == 0 || !em_val_eq(all.u.arr[i], all.u.arr[i - 1]))
            vec_push(&wp, all.u.arr[i]);
    for (uint32_t i = 0; i < karr.len; i++)
        if (i == 0 || !em_val_eq(karr.u.arr[i], karr.u.arr[i - 1]))
            vec_push(&wk, karr.u.arr[i]);
    expect_parts(dp, unary_parts(r), "distinct");
    expect_same(sorted(r->a, collect(dp, r->a, "distinct(pairs)")),
                vec_sorted(r->a, &wp), "distinct(pairs)");
    expect_same(sorted(r->a, collect(dk, r->a, "distinct(keys)")),
                vec_sorted(r->a, &wk), "distinct(keys)");
    expect_hash_placement(dk, r->a, "distinct(keys)", true);
}

static void test_wide_distinct(void **state)
{
    sweep(check_distinct);
}

static void check_count_by_key(const run *r)
{
    size_t ng;
    group *g = make_groups(r->a, r->d->recs, r->d->n, r->s, &ng);
    em_val *kvs = em_arena_alloc(r->a, (2 * ng + 1) * sizeof(em_val));
    em_val got, want;
    em_status st;

    assert_non_null(kvs);
    for (size_t i = 0; i < ng; i++) {
        kvs[2 * i] = g[i].key;
        kvs[2 * i + 1] = em_int((int64_t)g[i].n);
    }
    EM_CHECK(em_map_make(r->a, kvs, ng, &want));
    st = em_rdd_count_by_key(par(r, r->d, r->s), r->a, &got);
    if (st != EM_OK)
        fail_msg("%s: countByKey -> %s: %s", where, em_status_name(st),
                 em_last_error());
    if (got.type != EM_MAP)
        fail_msg("%s: countByKey gave a %s", where,
                 em_type_name((em_type)got.type));
    expect_val(got, want, "countByKey");
}

static void test_wide_count_by_key(void **state)
{
    sweep(check_count_by_key);
}

/* ------------------------------------------------------------------ */
/* Partitioning                                                         */
/* ------------------------------------------------------------------ */

/* partitionBy by hash and by a function: every record lands in
 * em_val_hash(key) % n, or in fn(key) modulo n (non-negative). */
static void check_partition_by(const run *r)
{
    int n = unary_parts(r);
    em_rdd *in = par(r, r->d, r->s);
    em_rdd *h = em_rdd_partition_by(in, r->np, EM_FN_NONE);
    em_rdd *f = em_rdd_partition_by(in, r->np, EM_FN(fn_part));
    em_val want = sorted(r->a, em_array(r->d->recs, r->d->n));
    em_val ph, pf;
    char k[200];

    expect_parts(h, n, "partitionBy");
    expect_parts(f, n, "partitionBy(fn)");
    ph = glom(h, r->a, "partitionBy");
    pf = glom(f, r->a, "partitionBy(fn)");
    assert_int_equal(ph.len, n);
    assert_int_equal(pf.len, n);
    for (int i = 0; i < n; i++) {
        for (uint32_t j = 0; j < ph.u.arr[i].len; j++) {
            em_val key = ph.u.arr[i].u.arr[j].u.arr[0];
            if ((int)(em_val_hash(key) % (uint64_t)n) != i) {
                fmt(key, k, sizeof(k));
                fail_msg("%s: partitionBy: key %s in partition %d", where,
                         k, i);
            }
        }
        for (uint32_t j = 0; j < pf.u.arr[i].len; j++) {
            em_val key = pf.u.arr[i].u.arr[j].u.arr[0];
            if (pymod(part_fn_value(key), n) != i) {
                fmt(key, k, sizeof(k));
                fail_msg("%s: partitionBy(fn): key %s (fn %lld) in "
                         "partition %d of %d", where, k,
                         (long long)part_fn_value(key), i, n);
            }
        }
    }
    expect_same(sorted(r->a, flatten(r->a, ph)), want, "partitionBy");
    expect_same(sorted(r->a, flatten(r->a, pf)), want, "partitionBy(fn)");
}

static void test_wide_partition_by(void **state)
{
    sweep(check_partition_by);
}

/* repartition and coalesce(shuffle): exactly n partitions, every record
 * kept, sizes within the number of input partitions of each other. */
static void check_repartition_one(const run *r, em_rdd *x, int n,
                                  const char *op)
{
    em_val parts, want = sorted(r->a, em_array(r->d->recs, r->d->n));
    uint32_t lo = UINT32_MAX, hi = 0;

    expect_parts(x, n, op);
    parts = glom(x, r->a, op);
    assert_int_equal(parts.len, n);
    for (uint32_t i = 0; i < parts.len; i++) {
        lo = parts.u.arr[i].len < lo ? parts.u.arr[i].len : lo;
        hi = parts.u.arr[i].len > hi ? parts.u.arr[i].len : hi;
    }
    if (hi - lo > (uint32_t)r->s)
        fail_msg("%s: %s into %d: partition sizes from %u to %u (%zu "
                 "records from %d partitions)", where, op, n, lo, hi,
                 r->d->n, r->s);
    expect_same(sorted(r->a, flatten(r->a, parts)), want, op);
}

static void check_repartition(const run *r)
{
    int n = r->np > 0 ? r->np : 5;
    em_rdd *in = par(r, r->d, r->s);

    check_repartition_one(r, em_rdd_repartition(in, n), n, "repartition");
    check_repartition_one(r, em_rdd_coalesce_shuffle(in, n + 1), n + 1,
                          "coalesce(shuffle)");
}

static void test_wide_repartition(void **state)
{
    sweep(check_repartition);
}

/* lookup without a partitioner (scans everything) and with one (reads
 * only the key's partition: the counting mapValues sees only it). */
static void check_lookup(const run *r)
{
    size_t ng;
    group *g = make_groups(r->a, r->d->recs, r->d->n, r->s, &ng);
    int n = unary_parts(r);
    em_rdd *in = par(r, r->d, r->s);
    em_accum *acc = em_ctx_accumulator(r->ctx, EM_ACCUM_SUM, em_int(0),
                                       em_nil(), EM_FN_NONE);
    em_rdd *pc;
    em_val keys[4];

    assert_non_null(acc);
    pc = em_rdd_map_values(em_rdd_partition_by(in, n, EM_FN_NONE),
                           em_fn_of(fn_count_calls, em_accum_ref(acc)));
    need_rdd(pc, "partitionBy.mapValues");
    keys[0] = em_int(SKEW_KEY);
    keys[1] = em_float(SKEW_KEY); /* the same key */
    keys[2] = em_cstr("absent");
    keys[3] = r->d->n > 0 ? r->d->recs[r->d->n - 1].u.arr[0] : em_int(-99);
    for (int i = 0; i < 4; i++) {
        em_val want = group_values(r->a, find_group(g, ng, keys[i]));
        em_val got, before, after;
        int64_t in_part = 0;
        int p = (int)(em_val_hash(keys[i]) % (uint64_t)n);
        em_status st;

        st = em_rdd_lookup(in, keys[i], r->a, &got);
        if (st != EM_OK)
            fail_msg("%s: lookup -> %s: %s", where, em_status_name(st),
                     em_last_error());
        expect_same(sorted(r->a, got), want, "lookup");
        EM_CHECK(em_accum_value(acc, r->a, &before));
        st = em_rdd_lookup(pc, keys[i], r->a, &got);
        if (st != EM_OK)
            fail_msg("%s: lookup (partitioned) -> %s: %s", where,
                     em_status_name(st), em_last_error());
        expect_same(sorted(r->a, got), want, "lookup (partitioned)");
        EM_CHECK(em_accum_value(acc, r->a, &after));
        for (size_t j = 0; j < r->d->n; j++)
            in_part += (int)(em_val_hash(r->d->recs[j].u.arr[0]) %
                             (uint64_t)n) == p;
        if (after.u.i - before.u.i != in_part)
            fail_msg("%s: lookup with a partitioner read %lld records; the "
                     "key's partition %d of %d holds %lld", where,
                     (long long)(after.u.i - before.u.i), p, n,
                     (long long)in_part);
    }
}

static void test_wide_lookup(void **state)
{
    sweep(check_lookup);
}

/* ------------------------------------------------------------------ */
/* Sorting                                                              */
/* ------------------------------------------------------------------ */

/* Sign of the order of two keys under a key function and direction. */
static int key_order(em_arena *a, int kf, bool asc, em_val x, em_val y)
{
    em_val kx, ky;
    int c;

    EM_CHECK(keyfunc_of(kf, a, x, &kx));
    EM_CHECK(keyfunc_of(kf, a, y, &ky));
    c = em_val_cmp(kx, ky);
    return asc ? c : -c;
}

static void check_sort_by_key_one(const run *r, bool is_str, bool asc,
                                  int kf)
{
    const em_val *recs = is_str ? r->d->srecs : r->d->recs;
    em_rdd *x = em_rdd_sort_by_key(par_n(r, r->d, r->d->n, r->s, is_str),
                                   asc, r->np, keyfn(kf));
    em_val parts, all, flat;
    char op[96], g1[200], g2[200];
    int nonempty = 0;

    snprintf(op, sizeof(op), "sortByKey(%s, %s)",
             asc ? "ascending" : "descending",
             kf == KF_NONE ? "no keyfunc"
                           : kf == KF_LOWER ? "lowercase" : "length");
    expect_parts(x, unary_parts(r), op);
    parts = glom(x, r->a, op);
    all = collect(x, r->a, op);
    flat = flatten(r->a, parts);
    assert_int_equal(parts.len, unary_parts(r));
    /* collect is the partitions in order */
    expect_same(all, flat, op);
    for (uint32_t i = 1; i < all.len; i++) {
        em_val k0 = all.u.arr[i - 1].u.arr[0], k1 = all.u.arr[i].u.arr[0];
        if (key_order(r->a, kf, asc, k0, k1) > 0) {
            fmt(k0, g1, sizeof(g1));
            fmt(k1, g2, sizeof(g2));
            fail_msg("%s: %s: record %u has key %s after %s", where, op, i,
                     g2, g1);
        }
    }
    for (uint32_t i = 0; i < parts.len; i++)
        nonempty += parts.u.arr[i].len > 0;
    /* range partitioning spreads many distinct keys */
    if (!is_str && kf == KF_NONE && strcmp(r->d->name, "uniform") == 0 &&
        nonempty < (int)parts.len / 2)
        fail_msg("%s: %s: only %d of %u partitions hold records", where, op,
                 nonempty, parts.len);
    expect_same(sorted(r->a, all), sorted(r->a, em_array(recs, r->d->n)),
                op);
}

static void check_sort_by_key(const run *r)
{
    check_sort_by_key_one(r, false, true, KF_NONE);
    check_sort_by_key_one(r, false, false, KF_NONE);
    check_sort_by_key_one(r, true, true, KF_LOWER);
    check_sort_by_key_one(r, true, false, KF_LOWER);
    check_sort_by_key_one(r, true, true, KF_LEN);
    check_sort_by_key_one(r, true, false, KF_LEN);
}

static void test_wide_sort_by_key(void **state)
{
    sweep(check_sort_by_key);
}

/* sortBy(value). */
static void check_sort_by(const run *r)
{
    for (int asc = 0; asc < 2; asc++) {
        em_rdd *x = em_rdd_sort_by(par(r, r->d, r->s), EM_FN(fn_value),
                                   asc != 0, r->np);
        const char *op = asc ? "sortBy(value, ascending)"
                             : "sortBy(value, descending)";
        em_val all;

        expect_parts(x, unary_parts(r), op);
        all = collect(x, r->a, op);
        for (uint32_t i = 1; i < all.len; i++) {
            int64_t v0 = all.u.arr[i - 1].u.arr[1].u.i,
                    v1 = all.u.arr[i].u.arr[1].u.i;
            if (asc ? v0 > v1 : v0 < v1)
                fail_msg("%s: %s: value %lld at %u after %lld", where, op,
                         (long long)v1, i, (long long)v0);
        }
        expect_same(sorted(r->a, all),
                    sorted(r->a, em_array(r->d->recs, r->d->n)), op);
    }
}

static void test_wide_sort_by(void **state)
{
    sweep(check_sort_by);
}

/* repartitionAndSortWithinPartitions: partitionBy's placement, each
 * partition ordered by key. */
static void check_rsw_one(const run *r, bool is_fn, bool asc, int kf)
{
    int n = unary_parts(r);
    bool is_str = kf != KF_NONE;
    const em_val *recs = is_str ? r->d->srecs : r->d->recs;
    em_rdd *x = em_rdd_repartition_and_sort_within_partitions(
        par_n(r, r->d, r->d->n, r->s, is_str), r->np,
        is_fn ? EM_FN(fn_part) : EM_FN_NONE, asc, keyfn(kf));
    char op[120], g1[200], g2[200];
    em_val parts;

    snprintf(op, sizeof(op), "repartitionAndSortWithinPartitions(%s, %s, "
             "%s)", is_fn ? "fn" : "hash", asc ? "asc" : "desc",
             kf == KF_NONE ? "no keyfunc" : "lowercase");
    expect_parts(x, n, op);
    parts = glom(x, r->a, op);
    assert_int_equal(parts.len, n);
    for (int i = 0; i < n; i++) {
        em_val p = parts.u.arr[i];
        for (uint32_t j = 0; j < p.len; j++) {
            em_val key = p.u.arr[j].u.arr[0];
            int want = is_fn ? pymod(part_fn_value(key), n)
                             : (int)(em_val_hash(key) % (uint64_t)n);
            if (want != i) {
                fmt(key, g1, sizeof(g1));
                fail_msg("%s: %s: key %s in partition %d, want %d", where,
                         op, g1, i, want);
            }
            if (j > 0 &&
                key_order(r->a, kf, asc, p.u.arr[j - 1].u.arr[0], key) > 0) {
                fmt(p.u.arr[j - 1].u.arr[0], g1, sizeof(g1));
                fmt(key, g2, sizeof(g2));
                fail_msg("%s: %s: in partition %d key %s comes after %s",
                         where, op, i, g2, g1);
            }
        }
    }
    expect_same(sorted(r->a, flatten(r->a, parts)),
                sorted(r->a, em_array(recs, r->d->n)), op);
}

static void check_rsw(const run *r)
{
    check_rsw_one(r, false, true, KF_NONE);
    check_rsw_one(r, true, false, KF_NONE);
    check_rsw_one(r, false, false, KF_LOWER);
    check_rsw_one(r, true, true, KF_LOWER);
}

static void test_wide_repartition_and_sort(void **state)
{
    sweep(check_rsw);
}

/* ------------------------------------------------------------------ */
/* Joins, cogroup and set operations                                    */
/* ------------------------------------------------------------------ */

enum { J_INNER, J_LEFT, J_RIGHT, J_FULL };

/* The join of the pairs of a and b per mode. */
static em_val ref_join(em_arena *a, const dataset *da, int sa,
                       const dataset *db, int sb, int mode)
{
    size_t na, nb, i = 0, j = 0;
    group *ga = make_groups(a, da->recs, da->n, sa, &na);
    group *gb = make_groups(a, db->recs, db->n, sb, &nb);
    vec w = {0};

    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : em_val_cmp(ga[i].key, gb[j].key);
        if (c == 0) {
            for (size_t x = 0; x < ga[i].n; x++)
                for (size_t y = 0; y < gb[j].n; y++)
                    vec_push(&w, pair2(a, ga[i].key, ga[i].items[x].v,
                                       gb[j].items[y].v));
            i++;
            j++;
        } else if (c < 0) {
            for (size_t x = 0;
                 (mode == J_LEFT || mode == J_FULL) && x < ga[i].n; x++)
                vec_push(&w, pair2(a, ga[i].key, ga[i].items[x].v,
                                   em_nil()));
            i++;
        } else {
            for (size_t y = 0;
                 (mode == J_RIGHT || mode == J_FULL) && y < gb[j].n; y++)
                vec_push(&w, pair2(a, gb[j].key, em_nil(),
                                   gb[j].items[y].v));
            j++;
        }
    }
    return vec_sorted(a, &w);
}

static void check_joins(const run *r)
{
    static const char *const names[] = {"join", "leftOuterJoin",
                                        "rightOuterJoin", "fullOuterJoin"};
    em_rdd *a = par(r, r->d, r->s), *b = par(r, r->b, r->sb);

    for (int mode = J_INNER; mode <= J_FULL; mode++) {
        em_rdd *x = mode == J_INNER ? em_rdd_join(a, b, r->np)
                    : mode == J_LEFT ? em_rdd_left_outer_join(a, b, r->np)
                    : mode == J_RIGHT ? em_rdd_right_outer_join(a, b, r->np)
                                      : em_rdd_full_outer_join(a, b, r->np);
        expect_parts(x, binary_parts(r), names[mode]);
        expect_same(sorted(r->a, collect(x, r->a, names[mode])),
                    ref_join(r->a, r->d, r->s, r->b, r->sb, mode),
                    names[mode]);
    }
    expect_hash_placement(em_rdd_join(a, b, r->np), r->a, "join", false);
}

static void test_wide_joins(void **state)
{
    sweep(check_joins);
}

/* The cogroup of k inputs: every key of any input with its value lists. */
static em_val ref_cogroup(em_arena *a, const dataset *const *ds, size_t k)
{
    size_t n = 0;
    em_val *keys, karr;
    vec w = {0};
    group *g[3];
    size_t ng[3];

    for (size_t i = 0; i < k; i++) {
        n += ds[i]->n;
        g[i] = make_groups(a, ds[i]->recs, ds[i]->n, 1, &ng[i]);
    }
    karr = arr_new(a, n, &keys);
    n = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < ng[i]; j++)
            keys[n++] = g[i][j].key;
    karr.len = (uint32_t)n;
    karr = sorted(a, karr);
    for (uint32_t i = 0; i < karr.len; i++) {
        em_val *ls, lists;
        if (i > 0 && em_val_eq(karr.u.arr[i], karr.u.arr[i - 1]))
            continue;
        lists = arr_new(a, k, &ls);
        for (size_t j = 0; j < k; j++)
            ls[j] = group_values(a, find_group(g[j], ng[j], karr.u.arr[i]));
        vec_push(&w, pair(a, karr.u.arr[i], lists));
    }
    return vec_sorted(a, &w);
}

static void check_cogroup(const run *r)
{
    const dataset *ds[3] = {r->d, r->b, r->c};
    em_rdd *in[3];
    int most = 0, slices[3] = {r->s, r->sb, r->sc};

    in[0] = par(r, r->d, r->s);
    in[1] = par(r, r->b, r->sb);
    in[2] = par(r, r->c, r->sc);
    for (size_t k = 1; k <= 3; k++) {
        char op[32];
        em_rdd *x = em_rdd_cogroup(in, k, r->np);
        most = slices[k - 1] > most ? slices[k - 1] : most;
        snprintf(op, sizeof(op), "cogroup of %zu", k);
        expect_parts(x, r->np > 0 ? r->np : most, op);
        expect_same(norm_cogroups(r->a, collect(x, r->a, op), k),
                    ref_cogroup(r->a, ds, k), op);
        expect_hash_placement(x, r->a, op, false);
    }
}

static void test_wide_cogroup(void **state)
{
    sweep(check_cogroup);
}

/* The records of a (every copy) with no equal record in b. */
static em_val ref_subtract(em_arena *a, em_val ra, em_val rb)
{
    em_val sb = sorted(a, rb);
    vec w = {0};

    for (uint32_t i = 0; i < ra.len; i++) {
        if (sb.len == 0 || bsearch(&ra.u.arr[i], sb.u.arr, sb.len,
                                   sizeof(em_val), val_qcmp) == NULL)
            vec_push(&w, ra.u.arr[i]);
    }
    return vec_sorted(a, &w);
}

static em_val keys_of(em_arena *a, const dataset *d)
{
    em_val *items, v = arr_new(a, d->n, &items);

    for (size_t i = 0; i < d->n; i++)
        items[i] = d->recs[i].u.arr[0];
    return v;
}

static void check_subtract(const run *r)
{
    em_rdd *a = par(r, r->d, r->s), *b = par(r, r->b, r->sb);
    em_rdd *sp = em_rdd_subtract(a, b, r->np);
    em_rdd *sk = em_rdd_subtract(em_rdd_keys(a), em_rdd_keys(b), r->np);
    em_rdd *sbk = em_rdd_subtract_by_key(a, b, r->np);
    em_val ka = keys_of(r->a, r->d), kb = keys_of(r->a, r->b);
    size_t nb;
    group *gb = make_groups(r->a, r->b->recs, r->b->n, r->sb, &nb);
    vec w = {0};

    /* the default count of subtract is checked on its own below */
    if (r->np > 0) {
        expect_parts(sp, r->np, "subtract");
        expect_parts(sbk, r->np, "subtractByKey");
    }
    expect_same(sorted(r->a, collect(sp, r->a, "subtract(pairs)")),
                ref_subtract(r->a, em_array(r->d->recs, r->d->n),
                             em_array(r->b->recs, r->b->n)),
                "subtract(pairs)");
    expect_same(sorted(r->a, collect(sk, r->a, "subtract(keys)")),
                ref_subtract(r->a, ka, kb), "subtract(keys)");
    for (size_t i = 0; i < r->d->n; i++)
        if (find_group(gb, nb, r->d->recs[i].u.arr[0]) == NULL)
            vec_push(&w, r->d->recs[i]);
    expect_same(sorted(r->a, collect(sbk, r->a, "subtractByKey")),
                vec_sorted(r->a, &w), "subtractByKey");
}

static void test_wide_subtract(void **state)
{
    sweep(check_subtract);
}

static void check_intersection(const run *r)
{
    em_rdd *a = par(r, r->d, r->s), *b = par(r, r->b, r->sb);
    em_val ka = sorted(r->a, keys_of(r->a, r->d));
    em_val kb = sorted(r->a, keys_of(r->a, r->b));
    em_rdd *ik = em_rdd_intersection(em_rdd_keys(a), em_rdd_keys(b));
    em_rdd *ip = em_rdd_intersection(a, b);
    em_val pa = sorted(r->a, em_array(r->d->recs, r->d->n));
    em_val pb = sorted(r->a, em_array(r->b->recs, r->b->n));
    vec wk = {0}, wp = {0};

    for (uint32_t i = 0; i < ka.len; i++) {
        if (i > 0 && em_val_eq(ka.u.arr[i], ka.u.arr[i - 1]))
            continue;
        if (kb.len > 0 && bsearch(&ka.u.arr[i], kb.u.arr, kb.len,
                                  sizeof(em_val), val_qcmp) != NULL)
            vec_push(&wk, ka.u.arr[i]);
    }
    for (uint32_t i = 0; i < pa.len; i++) {
        if (i > 0 && em_val_eq(pa.u.arr[i], pa.u.arr[i - 1]))
            continue;
        if (pb.len > 0 && bsearch(&pa.u.arr[i], pb.u.arr, pb.len,
                                  sizeof(em_val), val_qcmp) != NULL)
            vec_push(&wp, pa.u.arr[i]);
    }
    expect_parts(ik, r->s > r->sb ? r->s : r->sb, "intersection");
    expect_same(sorted(r->a, collect(ik, r->a, "intersection(keys)")),
                vec_sorted(r->a, &wk), "intersection(keys)");
    expect_same(sorted(r->a, collect(ip, r->a, "intersection(pairs)")),
                vec_sorted(r->a, &wp), "intersection(pairs)");
}

static void test_wide_intersection(void **state)
{
    sweep(check_intersection);
}

static void check_cartesian(const run *r)
{
    size_t na = r->d->n < 40 ? r->d->n : 40, nb = r->b->n < 30 ? r->b->n : 30;
    em_rdd *x = em_rdd_cartesian(par_n(r, r->d, na, r->s, false),
                                 par_n(r, r->b, nb, r->sb, false));
    vec w = {0};

    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            vec_push(&w, pair(r->a, r->d->recs[i], r->b->recs[j]));
    expect_parts(x, r->s * r->sb, "cartesian");
    expect_same(sorted(r->a, collect(x, r->a, "cartesian")),
                vec_sorted(r->a, &w), "cartesian");
}

static void test_wide_cartesian(void **state)
{
    sweep(check_cartesian);
}

/* ------------------------------------------------------------------ */
/* Single cases                                                         */
/* ------------------------------------------------------------------ */

/* Joins over inputs that already have a partitioner (read narrowly):
 * same answers as over plain inputs. */
static void test_wide_join_copartitioned(void **state)
{
    em_arena *a = em_arena_create();
    dataset da = make_dataset(a, "a", 31, 500, 80, 20);
    dataset db = make_dataset(a, "b", 32, 300, 80, 0);
    run r;

    memset(&r, 0, sizeof(r));
    r.a = a;
    for (int m = 0; m < NMASTERS; m++) {
        em_rdd *pa, *pb, *p3, *sa;
        em_val want = ref_join(a, &da, 3, &db, 2, J_INNER);
        em_val wfull = ref_join(a, &da, 3, &db, 2, J_FULL);

        r.ctx = em_test_ctx(masters[m]);
        snprintf(where, sizeof(where), "%s, co-partitioned", masters[m]);
        pa = em_rdd_partition_by(par(&r, &da, 3), 4, EM_FN_NONE);
        pb = em_rdd_partition_by(par(&r, &db, 2), 4, EM_FN_NONE);
        p3 = em_rdd_partition_by(par(&r, &db, 2), 6, EM_FN(fn_part));
        sa = em_rdd_sort_by_key(par(&r, &da, 3), true, 3, EM_FN_NONE);
        /* both sides partitioned alike: no shuffle at all */
        expect_parts(em_rdd_join(pa, pb, 0), 4, "join(4, 4)");
        expect_same(sorted(a, collect(em_rdd_join(pa, pb, 0), a, "join")),
                    want, "join(partitioned 4, partitioned 4)");
        /* one side partitioned */
        expect_same(sorted(a, collect(em_rdd_join(pa, par(&r, &db, 2), 0),
                                      a, "join")),
                    want, "join(partitioned, plain)");
        expect_same(sorted(a, collect(em_rdd_full_outer_join(
                                          par(&r, &da, 3), pb, 0),
                                      a, "fullOuterJoin")),
                    wfull, "fullOuterJoin(plain, partitioned)");
        /* different partitioners: the larger is used, the other moves */
        expect_parts(em_rdd_join(pa, p3, 0), 6, "join(4, fn 6)");
        expect_same(sorted(a, collect(em_rdd_join(pa, p3, 0), a, "join")),
                    want, "join(hash 4, fn 6)");
        /* a range-partitioned side */
        expect_same(sorted(a, collect(em_rdd_join(sa, pb, 0), a, "join")),
                    want, "join(sorted 3, hash 4)");
        expect_same(sorted(a, collect(em_rdd_join(sa, par(&r, &db, 2), 0),
                                      a, "join")),
                    want, "join(sorted 3, plain)");
        /* an explicit count moves both */
        expect_same(sorted(a, collect(em_rdd_join(pa, pb, 5), a, "join")),
                    want, "join(partitioned 4, partitioned 4, 5)");
        em_ctx_destroy(r.ctx);
    }
    em_arena_destroy(a);
}

/* With em_conf.default_parallelism set, every wide operator given 0
 * partitions uses it (ember.h, "Wide transformations"). */
static void test_wide_default_parallelism(void **state)
{
    em_conf conf;
    em_ctx *ctx;
    em_arena *a = em_arena_create();
    dataset d = make_dataset(a, "d", 41, 60, 20, 0);
    em_rdd *x, *y, *sorted_x;
    char bad[1024] = "";
    struct {
        const char *name;
        em_rdd *r;
    } ops[12];
    int n = 0;

    memset(&conf, 0, sizeof(conf));
    conf.master = "local[2]";
    conf.progress = -1;
    conf.default_parallelism = 5;
    ctx = em_ctx_create(&conf);
    assert_non_null(ctx);
    x = em_ctx_parallelize(ctx, d.recs, d.n, 2);
    y = em_ctx_parallelize(ctx, d.recs, d.n, 3);
    sorted_x = em_rdd_sort_by_key(x, true, 0, EM_FN_NONE);
    ops[n].name = "reduceByKey";
    ops[n++].r = em_rdd_reduce_by_key(x, EM_FN(em_op_add), 0);
    ops[n].name = "groupByKey";
    ops[n++].r = em_rdd_group_by_key(x, 0);
    ops[n].name = "distinct";
    ops[n++].r = em_rdd_distinct(x, 0);
    ops[n].name = "partitionBy";
    ops[n++].r = em_rdd_partition_by(x, 0, EM_FN_NONE);
    ops[n].name = "sortByKey";
    ops[n++].r = sorted_x;
    ops[n].name = "join";
    ops[n++].r = em_rdd_join(x, y, 0);
    ops[n].name = "cogroup";
    ops[n++].r = em_rdd_cogroup((em_rdd *[]){x, y}, 2, 0);
    ops[n].name = "subtractByKey";
    ops[n++].r = em_rdd_subtract_by_key(x, y, 0);
    ops[n].name = "subtract";
    ops[n++].r = em_rdd_subtract(x, y, 0);
    ops[n].name = "intersection";
    ops[n++].r = em_rdd_intersection(x, y);
    ops[n].name = "repartitionAndSortWithinPartitions";
    ops[n++].r = em_rdd_repartition_and_sort_within_partitions(
        x, 0, EM_FN_NONE, true, EM_FN_NONE);
    for (int i = 0; i < n; i++) {
        int got = ops[i].r ? em_rdd_num_partitions(ops[i].r) : -1;
        if (got != 5) {
            size_t len = strlen(bad);
            snprintf(bad + len, sizeof(bad) - len, " %s: %d;", ops[i].name,
                     got);
        }
    }
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
    if (bad[0] != '\0')
        fail_msg("default_parallelism 5 not used by:%s", bad);
}

/* subtract with 0 partitions: the largest partition count of the inputs
 * when no default parallelism is configured (ember.h). */
static void test_wide_subtract_default_partitions(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *a = em_ctx_range(ctx, 0, 50, 1, 2);
    em_rdd *b = em_ctx_range(ctx, 0, 50, 3, 6);
    em_rdd *s = em_rdd_subtract(a, b, 0);
    em_rdd *sbk = em_rdd_subtract_by_key(em_rdd_key_by(a, EM_FN(fn_part)),
                                         em_rdd_key_by(b, EM_FN(fn_part)),
                                         0);
    int ns, nk;

    assert_non_null(s);
    assert_non_null(sbk);
    ns = em_rdd_num_partitions(s);
    nk = em_rdd_num_partitions(sbk);
    em_ctx_destroy(ctx);
    assert_int_equal(nk, 6);
    if (ns != 6)
        fail_msg("subtract(a in 2, b in 6, 0) has %d partitions; ember.h "
                 "says the largest of the inputs, 6 (subtractByKey has %d)",
                 ns, nk);
}

/* Non-pair records and a failing function fail the job with a message;
 * the context stays usable. */
static void test_wide_errors(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *ints = em_ctx_range(ctx, 0, 100, 1, 3);
    em_val out;
    em_status st;
    int64_t n;

    st = em_rdd_collect(em_rdd_reduce_by_key(ints, EM_FN(em_op_add), 2), a,
                        &out);
    assert_int_equal(st, EM_ETYPE);
    assert_non_null(strstr(em_last_error(), "pair"));
    st = em_rdd_collect(em_rdd_group_by_key(ints, 2), a, &out);
    assert_int_equal(st, EM_ETYPE);
    st = em_rdd_collect(em_rdd_join(ints, ints, 2), a, &out);
    assert_int_equal(st, EM_ETYPE);
    st = em_rdd_collect(em_rdd_sort_by_key(ints, true, 1, EM_FN_NONE), a,
                        &out);
    assert_int_equal(st, EM_ETYPE);
    st = em_rdd_collect(
        em_rdd_reduce_by_key(em_rdd_key_by(ints, EM_FN(fn_int_mod3)),
                             EM_FN(fn_fail), 2),
        a, &out);
    assert_int_equal(st, EM_EUSER);
    assert_non_null(strstr(em_last_error(), "deliberate failure"));
    /* still usable */
    EM_CHECK(em_rdd_count(
        em_rdd_reduce_by_key(em_rdd_key_by(ints, EM_FN(fn_part)),
                             EM_FN(em_op_add), 2),
        &n));
    assert_int_equal(n, 100);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Shuffles chained: reduceByKey of a groupByKey's sizes, then sortByKey,
 * then a join with the first result. */
static void test_wide_chained(void **state)
{
    em_arena *a = em_arena_create();
    dataset d = make_dataset(a, "chain", 51, 800, 60, 30);
    size_t ng;
    group *g = make_groups(a, d.recs, d.n, 4, &ng);

    for (int m = 0; m < NMASTERS; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *in = em_ctx_parallelize(ctx, d.recs, d.n, 4);
        em_rdd *sums = em_rdd_reduce_by_key(in, EM_FN(em_op_add), 3);
        em_rdd *srt = em_rdd_sort_by_key(sums, false, 5, EM_FN_NONE);
        em_rdd *j = em_rdd_join(srt, em_rdd_group_by_key(in, 2), 0);
        em_val all, got;
        vec w = {0};

        snprintf(where, sizeof(where), "%s, chained shuffles", masters[m]);
        all = collect(srt, a, "sortByKey(reduceByKey)");
        assert_int_equal(all.len, ng);
        for (size_t i = 0; i < ng; i++) {
            /* descending: the largest key first */
            const group *gi = &g[ng - 1 - i];
            expect_val(all.u.arr[i],
                       pair(a, gi->key, em_int(group_sum(gi))),
                       "sortByKey(reduceByKey, descending)");
            vec_push(&w, pair2(a, gi->key, em_int(group_sum(gi)),
                               group_values(a, gi)));
        }
        got = collect(j, a, "join");
        {
            em_val *items, v = arr_new(a, got.len, &items);
            for (uint32_t i = 0; i < got.len; i++) {
                em_val rec = got.u.arr[i];
                items[i] = pair2(a, rec.u.arr[0], rec.u.arr[1].u.arr[0],
                                 sorted(a, rec.u.arr[1].u.arr[1]));
            }
            expect_same(sorted(a, v), vec_sorted(a, &w), "join(chained)");
        }
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_wide_reduce_by_key),
        EM_TEST(test_wide_fold_aggregate_by_key),
        EM_TEST(test_wide_group_combine_by_key),
        EM_TEST(test_wide_group_by),
        EM_TEST(test_wide_distinct),
        EM_TEST(test_wide_count_by_key),
        EM_TEST(test_wide_partition_by),
        EM_TEST(test_wide_repartition),
        EM_TEST(test_wide_lookup),
        EM_TEST(test_wide_sort_by_key),
        EM_TEST(test_wide_sort_by),
        EM_TEST(test_wide_repartition_and_sort),
        EM_TEST(test_wide_joins),
        EM_TEST(test_wide_cogroup),
        EM_TEST(test_wide_subtract),
        EM_TEST(test_wide_intersection),
        EM_TEST(test_wide_cartesian),
        EM_TEST(test_wide_join_copartitioned),
        EM_TEST(test_wide_default_parallelism),
        EM_TEST(test_wide_subtract_default_partitions),
        EM_TEST(test_wide_errors),
        EM_TEST(test_wide_chained),
    };

    return cmocka_run_group_tests_name("wide_ops", tests, NULL, NULL);
}
