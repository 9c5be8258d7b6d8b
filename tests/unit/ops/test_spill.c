/* Tests of the shuffle under a small memory budget (scheduler/shuffle.c,
 * ops/core/shuffled.c, docs/shuffle.md): with em_conf.memory_bytes about a
 * hundredth of the data, reduceByKey, foldByKey, groupByKey, sortByKey and
 * join give the same answers as with the default budget, and no spill or
 * run file is left in the local directory after the job, nor anything at
 * all after em_ctx_destroy. A single group larger than the whole budget
 * fails with EM_ELIMIT and a message that suggests reduceByKey.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "em_test.h"

#define NRECS 300000
#define SMALL_BUDGET (256 * 1024)

/* ---- values ---- */

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* The records with array values sorted (groups; join pairs are left
 * alone), then the records sorted. */
static em_val normalized(em_arena *a, em_val recs, bool sort_values)
{
    em_val out, *items;

    assert_int_equal(recs.type, EM_ARRAY);
    if (recs.len == 0)
        return em_array(NULL, 0);
    items = em_array_make(a, recs.len, &out);
    assert_non_null(items);
    for (uint32_t i = 0; i < recs.len; i++) {
        em_val r = recs.u.arr[i];
        if (sort_values && em_val_is_pair(r) &&
            r.u.arr[1].type == EM_ARRAY && r.u.arr[1].len > 1) {
            em_val vs, *v = em_array_make(a, r.u.arr[1].len, &vs);
            assert_non_null(v);
            memcpy(v, r.u.arr[1].u.arr, r.u.arr[1].len * sizeof(em_val));
            qsort(v, vs.len, sizeof(em_val), val_qcmp);
            EM_CHECK(em_pair_make(a, r.u.arr[0], vs, &r));
        }
        items[i] = r;
    }
    qsort(items, out.len, sizeof(em_val), val_qcmp);
    return out;
}

static void expect_same(em_val got, em_val want, const char *what)
{
    char g[300], w[300];

    assert_int_equal(got.type, EM_ARRAY);
    assert_int_equal(want.type, EM_ARRAY);
    for (uint32_t i = 0; i < got.len && i < want.len; i++) {
        if (!em_val_eq(got.u.arr[i], want.u.arr[i])) {
            em_val_format(got.u.arr[i], g, sizeof(g));
            em_val_format(want.u.arr[i], w, sizeof(w));
            fail_msg("%s: record %u is %s, want %s", what, i, g, w);
        }
    }
    if (got.len != want.len)
        fail_msg("%s: %u records, want %u", what, got.len, want.len);
}

/* n pairs ("k<key>", value) with keys below nkeys. */
static em_val make_pairs(em_arena *a, uint64_t seed, size_t n, uint64_t nkeys)
{
    em_test_rng r = {seed};
    em_val out, *items = em_array_make(a, n, &out);

    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        char buf[24];
        em_val k;
        snprintf(buf, sizeof(buf), "k%llu",
                 (unsigned long long)em_test_below(&r, nkeys));
        EM_CHECK(em_str_copy(a, buf, strlen(buf), &k));
        EM_CHECK(em_pair_make(a, k, em_int((int64_t)em_test_below(&r, 100)),
                              &items[i]));
    }
    return out;
}

/* ---- the local directory ---- */

/* Counts the entries under path (recursively); names the first in
 * first (when not NULL), and counts those whose name starts with "run-"
 * or contains "spill" in *runs. */
static int dir_entries(const char *path, char *first, size_t cap, int *runs)
{
    struct dirent *e;
    DIR *d = opendir(path);
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char sub[4200];
        struct stat sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (n == 0 && first != NULL && first[0] == '\0')
            snprintf(first, cap, "%s", sub);
        n++;
        if (strncmp(e->d_name, "run-", 4) == 0 ||
            strstr(e->d_name, "spill") != NULL)
            (*runs)++;
        if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            n += dir_entries(sub, first, cap, runs);
    }
    closedir(d);
    return n;
}

static void expect_no_runs(const char *dir, const char *what)
{
    int runs = 0;

    dir_entries(dir, NULL, 0, &runs);
    if (runs != 0)
        fail_msg("%s: %d spill/run files left in %s after the job", what,
                 runs, dir);
}

static void expect_empty(const char *dir, const char *what)
{
    char first[4200] = "";
    int runs = 0, n = dir_entries(dir, first, sizeof(first), &runs);

    if (n != 0)
        fail_msg("%s: %d entries left in %s after em_ctx_destroy, e.g. %s",
                 what, n, dir, first);
}

static em_ctx *ctx_with(int64_t memory, const char *dir)
{
    em_conf conf;
    em_ctx *ctx;

    memset(&conf, 0, sizeof(conf));
    conf.master = "local[2]";
    conf.progress = -1;
    conf.memory_bytes = memory;
    conf.local_dir = dir;
    ctx = em_ctx_create(&conf);
    if (ctx == NULL)
        fail_msg("em_ctx_create: %s", em_last_error());
    return ctx;
}

/* ---- one job under both budgets ---- */

enum op { OP_REDUCE, OP_FOLD, OP_GROUP, OP_SORT, OP_JOIN };

static const char *const op_names[] = {"reduceByKey", "foldByKey",
                                       "groupByKey", "sortByKey", "join"};

typedef struct input {
    em_val a, b; /* pairs; b for the join */
} input;

static em_rdd *build(em_ctx *ctx, enum op op, const input *in)
{
    em_rdd *a = em_ctx_parallelize(ctx, in->a.u.arr, in->a.len, 4);

    switch (op) {
    case OP_REDUCE:
        return em_rdd_reduce_by_key(a, EM_FN(em_op_add), 3);
    case OP_FOLD:
        return em_rdd_fold_by_key(a, em_int(0), EM_FN(em_op_add), 3);
    case OP_GROUP:
        return em_rdd_group_by_key(a, 3);
    case OP_SORT:
        return em_rdd_sort_by_key(a, true, 3, EM_FN_NONE);
    case OP_JOIN:
        return em_rdd_join(a, em_ctx_parallelize(ctx, in->b.u.arr,
                                                 in->b.len, 3),
                           3);
    }
    return NULL;
}

/* Runs op under the budget (0: default) in a fresh local directory;
 * returns the collected records in a and checks the directory. */
static em_val run_op(enum op op, const input *in, int64_t memory,
                     em_arena *a)
{
    char dir[4096], what[96];
    em_ctx *ctx;
    em_rdd *x;
    em_val out;
    em_status st;

    snprintf(what, sizeof(what), "%s, memory %lld", op_names[op],
             (long long)memory);
    em_test_tmpdir(dir, sizeof(dir));
    ctx = ctx_with(memory, dir);
    x = build(ctx, op, in);
    if (x == NULL)
        fail_msg("%s: NULL: %s", what, em_last_error());
    st = em_rdd_collect(x, a, &out);
    if (st != EM_OK)
        fail_msg("%s: collect -> %s: %s", what, em_status_name(st),
                 em_last_error());
    expect_no_runs(dir, what);
    em_ctx_destroy(ctx);
    expect_empty(dir, what);
    em_test_rmtree(dir);
    return out;
}

/* Runs op under the small and the default budget and compares; the
 * small budget's records are left in *out (in a) when out is not NULL. */
static void spill_case(enum op op, const input *in, em_arena *a, em_val *out)
{
    em_val small = run_op(op, in, SMALL_BUDGET, a);
    em_val big = run_op(op, in, 0, a);
    char what[96];

    snprintf(what, sizeof(what), "%s under %d bytes vs the default budget",
             op_names[op], SMALL_BUDGET);
    if (op == OP_SORT) {
        /* the same keys in the same order; ties may differ */
        assert_int_equal(small.len, big.len);
        for (uint32_t i = 0; i < small.len; i++) {
            if (!em_val_eq(small.u.arr[i].u.arr[0], big.u.arr[i].u.arr[0]))
                fail_msg("%s: key %u differs", what, i);
            if (i > 0 && em_val_cmp(small.u.arr[i - 1].u.arr[0],
                                    small.u.arr[i].u.arr[0]) > 0)
                fail_msg("%s: not sorted at %u", what, i);
        }
    }
    expect_same(normalized(a, small, op == OP_GROUP),
                normalized(a, big, op == OP_GROUP), what);
    if (out != NULL)
        *out = small;
}

static void test_spill_reduce_by_key(void **state)
{
    em_arena *a = em_arena_create();
    input in = {make_pairs(a, 1, NRECS, 20000), em_nil()};
    em_val sums;
    int64_t total = 0, want = 0;

    spill_case(OP_REDUCE, &in, a, &sums);
    spill_case(OP_FOLD, &in, a, NULL);
    /* and the answer itself */
    for (uint32_t i = 0; i < sums.len; i++)
        total += sums.u.arr[i].u.arr[1].u.i;
    for (uint32_t i = 0; i < in.a.len; i++)
        want += in.a.u.arr[i].u.arr[1].u.i;
    assert_int_equal(total, want);
    em_arena_destroy(a);
}

static void test_spill_group_by_key(void **state)
{
    em_arena *a = em_arena_create();
    input in = {make_pairs(a, 2, NRECS, 100000), em_nil()};

    spill_case(OP_GROUP, &in, a, NULL);
    em_arena_destroy(a);
}

static void test_spill_sort_by_key(void **state)
{
    em_arena *a = em_arena_create();
    input in = {make_pairs(a, 3, NRECS, 1000000), em_nil()};

    spill_case(OP_SORT, &in, a, NULL);
    em_arena_destroy(a);
}

static void test_spill_join(void **state)
{
    em_arena *a = em_arena_create();
    input in = {make_pairs(a, 4, NRECS / 2, 60000),
                make_pairs(a, 5, NRECS / 4, 60000)};

    spill_case(OP_JOIN, &in, a, NULL);
    em_arena_destroy(a);
}

/* aggregateByKey starts each key of each map partition from zero
 * (ember.h), also when the map side spills its combining table: with zero
 * 100 and add, a key's result is 100 per input partition holding it plus
 * its count. */
/* Under spilling the map side may start a key's combiner again, so (as in
 * Spark) the zero of aggregateByKey must be neutral: with zero 0 the sums
 * are exact however often the table spills. (Without spilling, a
 * non-neutral zero is applied exactly once per key per map partition:
 * test_wide_ops checks that.) */
static void test_spill_aggregate_neutral_zero(void **state)
{
    enum { NKEYS = 20000, SLICES = 4 };
    em_arena *a = em_arena_create();
    static int64_t count[NKEYS];
    em_val *recs, arr, out;
    char dir[4096];
    em_ctx *ctx;
    em_status st;
    int64_t bad = 0, first_bad = -1, got_first = 0, want_first = 0;

    memset(count, 0, sizeof(count));
    recs = em_array_make(a, NRECS, &arr);
    assert_non_null(recs);
    for (size_t i = 0; i < NRECS; i++) {
        size_t k = (i * 7919) % NKEYS;
        char buf[24];
        em_val key;
        snprintf(buf, sizeof(buf), "k%zu", k);
        EM_CHECK(em_str_copy(a, buf, strlen(buf), &key));
        EM_CHECK(em_pair_make(a, key, em_int(1), &recs[i]));
        count[k]++;
    }
    em_test_tmpdir(dir, sizeof(dir));
    ctx = ctx_with(SMALL_BUDGET, dir);
    st = em_rdd_collect(
        em_rdd_aggregate_by_key(em_ctx_parallelize(ctx, recs, NRECS, SLICES),
                                em_int(0), EM_FN(em_op_add),
                                EM_FN(em_op_add), 3),
        a, &out);
    if (st != EM_OK)
        fail_msg("aggregateByKey -> %s: %s", em_status_name(st),
                 em_last_error());
    em_ctx_destroy(ctx);
    expect_empty(dir, "aggregateByKey");
    em_test_rmtree(dir);
    assert_int_equal(out.len, NKEYS);
    for (uint32_t i = 0; i < out.len; i++) {
        em_val rec = out.u.arr[i];
        size_t k = 0;
        int64_t want;
        for (uint32_t j = 1; j < rec.u.arr[0].len; j++)
            k = k * 10 + (size_t)(rec.u.arr[0].u.s[j] - '0');
        assert_true(k < NKEYS);
        want = count[k];
        if (rec.u.arr[1].u.i != want) {
            if (bad++ == 0) {
                first_bad = (int64_t)k;
                got_first = rec.u.arr[1].u.i;
                want_first = want;
            }
        }
    }
    em_arena_destroy(a);
    if (bad > 0)
        fail_msg("aggregateByKey(zero 0, add, add) under %d bytes: %lld "
                 "of %d keys wrong, e.g. k%lld is %lld, want %lld",
                 SMALL_BUDGET, (long long)bad, NKEYS, (long long)first_bad,
                 (long long)got_first, (long long)want_first);
}

/* One key holding every record, under 64 KiB: groupByKey cannot hold the
 * group and says to combine instead. */
static void test_spill_group_too_large(void **state)
{
    em_arena *a = em_arena_create();
    em_val *recs, arr;
    char dir[4096];
    em_ctx *ctx;
    em_rdd *x;
    em_val out;
    em_status st;

    recs = em_array_make(a, NRECS, &arr);
    assert_non_null(recs);
    for (size_t i = 0; i < NRECS; i++)
        EM_CHECK(em_pair_make(a, em_cstr("the-key"), em_int((int64_t)i),
                              &recs[i]));
    em_test_tmpdir(dir, sizeof(dir));
    ctx = ctx_with(64 * 1024, dir);
    x = em_rdd_group_by_key(em_ctx_parallelize(ctx, recs, NRECS, 4), 2);
    assert_non_null(x);
    st = em_rdd_collect(x, a, &out);
    if (st != EM_ELIMIT)
        fail_msg("groupByKey of one key with %d values under 64 KiB -> %s "
                 "(%s), want EM_ELIMIT", NRECS, em_status_name(st),
                 em_last_error());
    if (strstr(em_last_error(), "reduceByKey") == NULL)
        fail_msg("the message does not suggest reduceByKey: %s",
                 em_last_error());
    /* the context is still usable: a combining job of the same data */
    {
        int64_t n;
        EM_CHECK(em_rdd_count(em_rdd_reduce_by_key(
                                  em_ctx_parallelize(ctx, recs, NRECS, 4),
                                  EM_FN(em_op_add), 2),
                              &n));
        assert_int_equal(n, 1);
    }
    expect_no_runs(dir, "groupByKey of one large group");
    em_ctx_destroy(ctx);
    expect_empty(dir, "groupByKey of one large group");
    em_test_rmtree(dir);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_spill_reduce_by_key),
        EM_TEST(test_spill_group_by_key),
        EM_TEST(test_spill_sort_by_key),
        EM_TEST(test_spill_join),
        EM_TEST(test_spill_aggregate_neutral_zero),
        EM_TEST(test_spill_group_too_large),
    };

    return cmocka_run_group_tests_name("spill", tests, NULL, NULL);
}
