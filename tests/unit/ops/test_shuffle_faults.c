/* In-process fault tests of the shuffle (scheduler/shuffle.c,
 * docs/shuffle.md): after a job has written its map outputs, one output
 * file is deleted, has a bit flipped in its data area, or is truncated;
 * the next action must give the same answer and recompute exactly the lost
 * map output (ctx->map_tasks_run grows by one). Losses in two chained
 * shuffles are recomputed stage by stage. An unwritable local directory
 * fails the action with EM_EIO and a message naming it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "em_test.h"
#include "runtime/rdd.h"
#include "scheduler/ctx.h"
#include "scheduler/shuffle.h"

/* ---- values ---- */

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* The records with array values sorted, then the records sorted. */
static em_val normalized(em_arena *a, em_val recs)
{
    em_val out, *items;

    if (recs.len == 0)
        return em_array(NULL, 0);
    items = em_array_make(a, recs.len, &out);
    assert_non_null(items);
    for (uint32_t i = 0; i < recs.len; i++) {
        em_val r = recs.u.arr[i];
        if (em_val_is_pair(r) && r.u.arr[1].type == EM_ARRAY &&
            r.u.arr[1].len > 0) {
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
    if (got.len != want.len)
        fail_msg("%s: %u records, want %u", what, got.len, want.len);
    for (uint32_t i = 0; i < got.len; i++) {
        if (!em_val_eq(got.u.arr[i], want.u.arr[i])) {
            em_val_format(got.u.arr[i], g, sizeof(g));
            em_val_format(want.u.arr[i], w, sizeof(w));
            fail_msg("%s: record %u is %s, want %s", what, i, g, w);
        }
    }
}

/* n pairs ("key<k>", v): k in [0, 80) with a skew to key 3, v small. */
static em_val make_pairs(em_arena *a, uint64_t seed, size_t n)
{
    em_test_rng r = {seed};
    em_val out, *items = em_array_make(a, n, &out);

    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        em_val k;
        uint64_t key = em_test_below(&r, 4) == 0 ? 3 : em_test_below(&r, 80);
        snprintf(buf, sizeof(buf), "key%llu", (unsigned long long)key);
        EM_CHECK(em_str_copy(a, buf, strlen(buf), &k));
        EM_CHECK(em_pair_make(a, k,
                              em_int((int64_t)em_test_below(&r, 1000)),
                              &items[i]));
    }
    return out;
}

/* The per-key sums of pairs, sorted. */
static em_val ref_sums(em_arena *a, em_val pairs)
{
    em_val s = normalized(a, pairs), out, *items;
    size_t k = 0;

    items = em_array_make(a, s.len, &out);
    assert_non_null(items);
    for (uint32_t i = 0; i < s.len;) {
        int64_t sum = 0;
        uint32_t e = i;
        while (e < s.len && em_val_eq(s.u.arr[e].u.arr[0], s.u.arr[i].u.arr[0]))
            sum += s.u.arr[e++].u.arr[1].u.i;
        EM_CHECK(em_pair_make(a, s.u.arr[i].u.arr[0], em_int(sum),
                              &items[k++]));
        i = e;
    }
    out.len = (uint32_t)k;
    return out;
}

/* The groups of pairs, normalized. */
static em_val ref_groups(em_arena *a, em_val pairs)
{
    em_val s = normalized(a, pairs), out, *items;
    size_t k = 0;

    items = em_array_make(a, s.len, &out);
    assert_non_null(items);
    for (uint32_t i = 0; i < s.len;) {
        uint32_t e = i;
        em_val vs, *v;
        while (e < s.len && em_val_eq(s.u.arr[e].u.arr[0], s.u.arr[i].u.arr[0]))
            e++;
        v = em_array_make(a, e - i, &vs);
        assert_non_null(v);
        for (uint32_t j = i; j < e; j++)
            v[j - i] = s.u.arr[j].u.arr[1];
        EM_CHECK(em_pair_make(a, s.u.arr[i].u.arr[0], vs, &items[k++]));
        i = e;
    }
    out.len = (uint32_t)k;
    return out;
}

/* ---- map output files ---- */

/* Finds the file of map output m of shuffle sid ("map-<sid>-<m>-<attempt>")
 * in the context's shuffle directory. */
static void map_output_path(const em_ctx *ctx, int sid, int m, char *buf,
                            size_t cap)
{
    char prefix[64];
    struct dirent *e;
    DIR *d;
    int found = 0;

    assert_non_null(ctx->shuffle_dir);
    snprintf(prefix, sizeof(prefix), "map-%d-%d-", sid, m);
    d = opendir(ctx->shuffle_dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(buf, cap, "%s/%s", ctx->shuffle_dir, e->d_name);
        found++;
    }
    closedir(d);
    if (found != 1)
        fail_msg("%d files for map output %d of shuffle %d in %s", found, m,
                 sid, ctx->shuffle_dir);
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t x = 0;

    for (int i = n - 1; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

/* The end of the data area (off[R]) of a map output, from its footer. */
static uint64_t data_end(const char *path)
{
    struct stat sb;
    uint8_t tail[8];
    uint64_t r, at;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &sb), 0);
    assert_true(sb.st_size >= 16);
    assert_int_equal(pread(fd, tail, 8, sb.st_size - 8), 8);
    r = get_le(tail, 4);
    assert_int_equal(get_le(tail + 4, 4), 0x48534d45u);
    at = (uint64_t)sb.st_size - 8 - 4 * r - 8; /* off[R] */
    assert_int_equal(pread(fd, tail, 8, (off_t)at), 8);
    close(fd);
    return get_le(tail, 8);
}

enum fault { F_DELETE, F_CORRUPT, F_TRUNCATE };

static const char *const fault_names[] = {"deleted", "corrupted",
                                          "truncated"};

static void inject(const char *path, enum fault f)
{
    struct stat sb;
    uint64_t end;
    uint8_t byte;
    int fd;

    switch (f) {
    case F_DELETE:
        assert_int_equal(unlink(path), 0);
        break;
    case F_CORRUPT:
        end = data_end(path);
        assert_true(end > 0);
        fd = open(path, O_RDWR);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, &byte, 1, (off_t)(end / 2)), 1);
        byte ^= 0x10;
        assert_int_equal(pwrite(fd, &byte, 1, (off_t)(end / 2)), 1);
        close(fd);
        break;
    case F_TRUNCATE: /* in the middle of the data, not only the footer */
        end = data_end(path);
        assert_int_equal(stat(path, &sb), 0);
        assert_true((uint64_t)sb.st_size > end);
        assert_int_equal(truncate(path, (off_t)(end / 2)), 0);
        break;
    }
}

static int shuffle_id(const em_rdd *r)
{
    assert_non_null(r->shuffles);
    assert_non_null(r->shuffles[0]);
    return r->shuffles[0]->id;
}

static em_status fn_key_len(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), em_int(args[0].u.arr[0].len),
                        args[0].u.arr[1], out);
}

/* ---- one fault on one operator ---- */

enum op { OP_REDUCE, OP_GROUP, OP_SORT };

static void fault_case(enum op op, enum fault f, const char *master)
{
    em_ctx *ctx = em_test_ctx(master);
    em_arena *a = em_arena_create();
    em_val pairs = make_pairs(a, 77 + (uint64_t)op, 3000), want, got;
    em_rdd *in = em_ctx_parallelize(ctx, pairs.u.arr, pairs.len, 4), *x;
    char path[4200], what[128];
    int64_t m0, n;

    snprintf(what, sizeof(what), "%s: %s after a map output was %s",
             master, op == OP_REDUCE ? "reduceByKey" : op == OP_GROUP
                                                           ? "groupByKey"
                                                           : "sortByKey",
             fault_names[f]);
    x = op == OP_REDUCE ? em_rdd_reduce_by_key(in, EM_FN(em_op_add), 3)
        : op == OP_GROUP ? em_rdd_group_by_key(in, 3)
                         : em_rdd_sort_by_key(in, true, 3, EM_FN_NONE);
    assert_non_null(x);
    want = op == OP_REDUCE ? ref_sums(a, pairs)
           : op == OP_GROUP ? ref_groups(a, pairs)
                            : normalized(a, pairs);
    EM_CHECK(em_rdd_count(x, &n));
    assert_int_equal(n, want.len);

    map_output_path(ctx, shuffle_id(x), 1, path, sizeof(path));
    inject(path, f);
    m0 = ctx->map_tasks_run;
    {
        em_status st = em_rdd_collect(x, a, &got);
        if (st != EM_OK)
            fail_msg("%s: collect -> %s: %s", what, em_status_name(st),
                     em_last_error());
    }
    if (ctx->map_tasks_run - m0 != 1)
        fail_msg("%s: %lld map tasks ran again, want 1", what,
                 (long long)(ctx->map_tasks_run - m0));
    if (op == OP_SORT) {
        for (uint32_t i = 1; i < got.len; i++)
            if (em_val_cmp(got.u.arr[i - 1].u.arr[0], got.u.arr[i].u.arr[0]) >
                0)
                fail_msg("%s: not sorted at %u", what, i);
    }
    expect_same(normalized(a, got), want, what);
    /* and the next action needs nothing again */
    m0 = ctx->map_tasks_run;
    EM_CHECK(em_rdd_count(x, &n));
    assert_int_equal(n, want.len);
    assert_int_equal(ctx->map_tasks_run, m0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_shuffle_faults_deleted(void **state)
{
    fault_case(OP_REDUCE, F_DELETE, "local[2]");
    fault_case(OP_GROUP, F_DELETE, "local[1]");
    fault_case(OP_SORT, F_DELETE, "local[3]");
}

static void test_shuffle_faults_corrupted(void **state)
{
    fault_case(OP_REDUCE, F_CORRUPT, "local[2]");
    fault_case(OP_GROUP, F_CORRUPT, "local[1]");
    fault_case(OP_SORT, F_CORRUPT, "local[3]");
}

static void test_shuffle_faults_truncated(void **state)
{
    fault_case(OP_REDUCE, F_TRUNCATE, "local[2]");
    fault_case(OP_GROUP, F_TRUNCATE, "local[1]");
    fault_case(OP_SORT, F_TRUNCATE, "local[3]");
}

/* Every output of a shuffle lost: all its map tasks run again. */
static void test_shuffle_faults_all_lost(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val pairs = make_pairs(a, 5, 2000), got;
    em_rdd *x = em_rdd_reduce_by_key(
        em_ctx_parallelize(ctx, pairs.u.arr, pairs.len, 5),
        EM_FN(em_op_add), 2);
    char path[4200];
    int64_t n, m0;

    EM_CHECK(em_rdd_count(x, &n));
    for (int m = 0; m < 5; m++) {
        map_output_path(ctx, shuffle_id(x), m, path, sizeof(path));
        inject(path, F_DELETE);
    }
    m0 = ctx->map_tasks_run;
    EM_CHECK(em_rdd_collect(x, a, &got));
    assert_int_equal(ctx->map_tasks_run - m0, 5);
    expect_same(normalized(a, got), ref_sums(a, pairs), "all lost");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Chained shuffles: a lost output of the downstream shuffle needs the
 * upstream one, which is lost too; both are recomputed, one task each. */
static void test_shuffle_faults_two_stages(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val pairs = make_pairs(a, 6, 2500), got, sums;
    em_rdd *in = em_ctx_parallelize(ctx, pairs.u.arr, pairs.len, 4);
    em_rdd *up = em_rdd_reduce_by_key(in, EM_FN(em_op_add), 3);
    em_rdd *mid = em_rdd_map(up, EM_FN(fn_key_len));
    em_rdd *down = em_rdd_reduce_by_key(mid, EM_FN(em_op_add), 2);
    char path[4200];
    int64_t n, m0, total = 0;

    EM_CHECK(em_rdd_count(down, &n));
    sums = ref_sums(a, pairs);
    for (uint32_t i = 0; i < sums.len; i++)
        total += sums.u.arr[i].u.arr[1].u.i;
    /* only the downstream output lost: the upstream is not needed */
    map_output_path(ctx, shuffle_id(down), 0, path, sizeof(path));
    inject(path, F_CORRUPT);
    m0 = ctx->map_tasks_run;
    EM_CHECK(em_rdd_collect(down, a, &got));
    assert_int_equal(ctx->map_tasks_run - m0, 1);
    /* both lost */
    map_output_path(ctx, shuffle_id(up), 2, path, sizeof(path));
    inject(path, F_DELETE);
    map_output_path(ctx, shuffle_id(down), 1, path, sizeof(path));
    inject(path, F_DELETE);
    m0 = ctx->map_tasks_run;
    EM_CHECK(em_rdd_collect(down, a, &got));
    if (ctx->map_tasks_run - m0 != 2)
        fail_msg("two lost outputs in two stages: %lld map tasks ran, "
                 "want 2", (long long)(ctx->map_tasks_run - m0));
    n = 0;
    for (uint32_t i = 0; i < got.len; i++)
        n += got.u.arr[i].u.arr[1].u.i;
    assert_int_equal(n, total);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- an unwritable local directory ---- */

static void expect_eio(const char *local_dir)
{
    em_conf conf;
    em_ctx *ctx;
    em_rdd *x;
    int64_t n;
    em_status st;
    em_arena *a = em_arena_create();
    em_val pairs = make_pairs(a, 9, 200);

    memset(&conf, 0, sizeof(conf));
    conf.master = "local[2]";
    conf.progress = -1;
    conf.local_dir = local_dir;
    ctx = em_ctx_create(&conf);
    if (ctx == NULL)
        fail_msg("em_ctx_create(local_dir %s) failed: %s (the error belongs "
                 "to the action)", local_dir, em_last_error());
    x = em_rdd_reduce_by_key(em_ctx_parallelize(ctx, pairs.u.arr, pairs.len,
                                                3),
                             EM_FN(em_op_add), 2);
    assert_non_null(x);
    for (int i = 0; i < 2; i++) { /* and again: still a clean failure */
        st = em_rdd_count(x, &n);
        if (st != EM_EIO)
            fail_msg("local_dir %s: count -> %s (%s), want EM_EIO", local_dir,
                     em_status_name(st), em_last_error());
        if (strstr(em_last_error(), local_dir) == NULL)
            fail_msg("local_dir %s: the message does not name it: %s",
                     local_dir, em_last_error());
    }
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

static void test_shuffle_faults_unwritable_local_dir(void **state)
{
    char dir[4096], file[4200], missing[4200], ro[4200];
    FILE *f;

    em_test_tmpdir(dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/a-file", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("not a directory\n", f);
    fclose(f);
    expect_eio(file);
    snprintf(missing, sizeof(missing), "%s/missing/deeper", dir);
    expect_eio(missing);
    if (geteuid() != 0) {
        snprintf(ro, sizeof(ro), "%s/read-only", dir);
        assert_int_equal(mkdir(ro, 0500), 0);
        expect_eio(ro);
        chmod(ro, 0700);
    }
    em_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_shuffle_faults_deleted),
        EM_TEST(test_shuffle_faults_corrupted),
        EM_TEST(test_shuffle_faults_truncated),
        EM_TEST(test_shuffle_faults_all_lost),
        EM_TEST(test_shuffle_faults_two_stages),
        EM_TEST(test_shuffle_faults_unwritable_local_dir),
    };

    return cmocka_run_group_tests_name("shuffle_faults", tests, NULL, NULL);
}
