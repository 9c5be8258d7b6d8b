/* Tests of pipe (ops/core/pipe.c) and saveAsTextFile (ops/core/save.c):
 * records through shell commands in order, formatting, commands that
 * write more than they read or stop reading, failing commands, and the
 * part files, _SUCCESS marker and errors of saveAsTextFile.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "em_test.h"

/* ---- helpers ---- */

static void expect_val(em_val got, em_val want, const char *what)
{
    char g[512], w[512];

    if (em_val_eq(got, want))
        return;
    em_val_format(got, g, sizeof(g));
    em_val_format(want, w, sizeof(w));
    fail_msg("%s: got %s, want %s", what, g, w);
}

static em_val collect(em_rdd *r, em_arena *a)
{
    em_val out;

    assert_non_null(r);
    EM_CHECK(em_rdd_collect(r, a, &out));
    assert_int_equal(out.type, EM_ARRAY);
    return out;
}

static em_rdd *strs_rdd(em_ctx *ctx, const char *const *s, size_t n, int slices)
{
    em_val v[64];
    em_rdd *r;

    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        v[i] = em_cstr(s[i]);
    r = em_ctx_parallelize(ctx, v, n, slices);
    assert_non_null(r);
    return r;
}

/* Expects arr to be the strings want[0..n). */
static void expect_strs(em_val arr, const char *const *want, size_t n,
                        const char *what)
{
    assert_int_equal(arr.type, EM_ARRAY);
    if (arr.len != n)
        fail_msg("%s: %u records, want %zu", what, arr.len, n);
    for (size_t i = 0; i < n; i++)
        expect_val(arr.u.arr[i], em_cstr(want[i]), what);
}

/* Reads a whole file (malloc'd, NUL-terminated); NULL when missing. */
static char *slurp(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;

    if (f == NULL)
        return NULL;
    do {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 8192;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    fclose(f);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

static bool file_exists(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0;
}

/* The names in a directory, sorted, joined by '/' into buf. */
static void list_dir(const char *dir, char *buf, size_t cap)
{
    char names[64][256];
    struct dirent *e;
    size_t n = 0, off = 0;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_true(n < 64);
        snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]),
          (int (*)(const void *, const void *))strcmp);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "/" : "",
                                names[i]);
}

/* The formatted records of arr, each followed by '\n' (malloc'd). */
static char *format_lines(em_val arr)
{
    size_t cap = 1024, len = 0;
    char *buf = malloc(cap);

    assert_non_null(buf);
    for (size_t i = 0; i < arr.len; i++) {
        size_t need = em_val_format(arr.u.arr[i], NULL, 0);
        while (cap - len < need + 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        em_val_format(arr.u.arr[i], buf + len, cap - len);
        len += need;
        buf[len++] = '\n';
    }
    buf[len] = '\0';
    return buf;
}

/* Concatenates dir/part-00000 .. dir/part-(n-1) (malloc'd). */
static char *read_parts(const char *dir, int n)
{
    size_t cap = 1, len = 0;
    char *all = malloc(cap);

    assert_non_null(all);
    for (int i = 0; i < n; i++) {
        char path[4200];
        size_t flen;
        char *f;
        snprintf(path, sizeof(path), "%s/part-%05d", dir, i);
        f = slurp(path, &flen);
        if (f == NULL)
            fail_msg("missing %s", path);
        all = realloc(all, cap += flen);
        assert_non_null(all);
        memcpy(all + len, f, flen);
        len += flen;
        free(f);
    }
    all[len] = '\0';
    return all;
}

/* ---- pipe ---- */

static const char *const words[] = {
    "alpha", "Beta",  "gamma delta", "",   "epsilon", "zeta-eta", "Theta 9",
    "iota",  "kappa", "lambda mu",   "nu", "xi",      "omicron",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void test_pipe_cat_keeps_order(void **state)
{
    static const int slices[] = {1, 2, 3, 5, 13, 20};
    static const char *const masters[] = {"local[1]", "local[2]", "local[4]"};

    for (size_t m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        for (size_t s = 0; s < sizeof(slices) / sizeof(slices[0]); s++) {
            em_arena *a = em_arena_create();
            em_rdd *r = strs_rdd(ctx, words, NWORDS, slices[s]);
            em_rdd *p = em_rdd_pipe(r, "cat");
            assert_non_null(p);
            assert_int_equal(em_rdd_num_partitions(p), slices[s]);
            expect_strs(collect(p, a), words, NWORDS, "cat");
            em_arena_destroy(a);
        }
        em_ctx_destroy(ctx);
    }
}

static void test_pipe_empty_partitions(void **state)
{
    static const char *const three[] = {"one", "two", "three"};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = strs_rdd(ctx, three, 3, 7);
    em_rdd *p = em_rdd_pipe(r, "cat");
    int64_t n;

    assert_int_equal(em_rdd_num_partitions(p), 7);
    expect_strs(collect(p, a), three, 3, "cat over 7 slices");
    /* the command runs for empty partitions too */
    EM_CHECK(em_rdd_count(em_rdd_pipe(r, "cat; echo end"), &n));
    assert_int_equal(n, 3 + 7);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_tr_uppercase(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    char upper[NWORDS][64];
    const char *want[NWORDS];
    em_val got;

    for (size_t i = 0; i < NWORDS; i++) {
        size_t j = 0;
        for (; words[i][j] != '\0'; j++) {
            char c = words[i][j];
            upper[i][j] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        }
        upper[i][j] = '\0';
        want[i] = upper[i];
    }
    got =
        collect(em_rdd_pipe(strs_rdd(ctx, words, NWORDS, 4), "tr a-z A-Z"), a);
    expect_strs(got, want, NWORDS, "tr a-z A-Z");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_formats_records(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val vals[6], pair, got;
    char want[6][64];

    /* ints */
    got = collect(em_rdd_pipe(em_ctx_range(ctx, -5, 25, 3, 4), "cat"), a);
    assert_int_equal(got.len, 10);
    for (int64_t i = 0; i < 10; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)(-5 + 3 * i));
        expect_val(got.u.arr[i], em_cstr(buf), "int line");
    }
    /* other types, as em_val_format writes them */
    EM_CHECK(em_pair_make(a, em_cstr("a"), em_int(1), &pair));
    vals[0] = pair;
    vals[1] = em_nil();
    vals[2] = em_bool(true);
    vals[3] = em_float(2.5);
    vals[4] = em_cstr("raw 'str'");
    vals[5] = em_int(-42);
    got = collect(em_rdd_pipe(em_ctx_parallelize(ctx, vals, 6, 3), "cat"), a);
    assert_int_equal(got.len, 6);
    for (size_t i = 0; i < 6; i++) {
        em_val_format(vals[i], want[i], sizeof(want[i]));
        expect_val(got.u.arr[i], em_cstr(want[i]), "formatted line");
    }
    expect_val(got.u.arr[0], em_cstr("['a', 1]"), "pair line");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_line_splitting(void **state)
{
    static const char *const want[] = {"a", "", "b", "a", "", "b"};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = strs_rdd(ctx, words, 2, 2);

    /* an empty line counts; a last line without a newline counts */
    expect_strs(collect(em_rdd_pipe(r, "cat >/dev/null; printf 'a\\n\\nb'"), a),
                want, 6, "printf");
    /* no output at all: no records */
    expect_strs(collect(em_rdd_pipe(r, "cat >/dev/null"), a), want, 0,
                "silent");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_long_record(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    size_t n = 300000;
    char *big = malloc(n + 1);
    em_val vals[3], got;

    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    vals[0] = em_cstr("short");
    vals[1] = em_str(big, n);
    vals[2] = em_cstr("after");
    got = collect(em_rdd_pipe(em_ctx_parallelize(ctx, vals, 3, 1), "cat"), a);
    assert_int_equal(got.len, 3);
    for (size_t i = 0; i < 3; i++)
        expect_val(got.u.arr[i], vals[i], "long record");
    free(big);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_output_before_input(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *input = em_ctx_range(ctx, 0, 100000, 1, 4);
    em_val got;
    int64_t n;

    /* the command fills its stdout before reading: the input must keep
     * flowing while the output is drained */
    EM_CHECK(em_rdd_count(em_rdd_pipe(input, "cat; seq 1 200000"), &n));
    assert_int_equal(n, 100000 + 4 * 200000);
    EM_CHECK(em_rdd_count(em_rdd_pipe(input, "seq 1 200000; cat"), &n));
    assert_int_equal(n, 100000 + 4 * 200000);
    /* the exact order on one partition */
    got = collect(
        em_rdd_pipe(em_ctx_range(ctx, 0, 30000, 1, 1), "seq 1 50000; cat"), a);
    assert_int_equal(got.len, 80000);
    for (int64_t i = 0; i < 80000; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld",
                 (long long)(i < 50000 ? i + 1 : i - 50000));
        expect_val(got.u.arr[i], em_cstr(buf), "seq then cat");
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_command_stops_reading(void **state)
{
    static const char *const want[] = {"0", "1", "100000", "100001"};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *input = em_ctx_range(ctx, 0, 200000, 1, 2);
    int64_t n;

    /* the command exits with status 0 before reading everything: the
     * writes see a closed pipe, which is not an error */
    expect_strs(collect(em_rdd_pipe(input, "head -n 2"), a), want, 4, "head");
    EM_CHECK(em_rdd_count(em_rdd_pipe(input, "echo only"), &n));
    assert_int_equal(n, 2);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_take_stops_command(void **state)
{
    static const char *const want[] = {"y", "y", "y"};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val got;

    /* an endless command is killed once take has its records */
    EM_CHECK(em_rdd_take(em_rdd_pipe(em_ctx_range(ctx, 0, 10, 1, 2), "yes"), 3,
                         a, &got));
    expect_strs(got, want, 3, "take from yes");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_failing_command(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *input = em_ctx_range(ctx, 0, 1000, 1, 3);
    em_val got;
    int64_t n;

    assert_int_equal(em_rdd_collect(em_rdd_pipe(input, "cat; exit 3"), a, &got),
                     EM_EIO);
    assert_non_null(strstr(em_last_error(), "exit 3"));
    assert_non_null(strstr(em_last_error(), "status 3"));
    /* the context runs the next job */
    EM_CHECK(em_rdd_count(input, &n));
    assert_int_equal(n, 1000);
    /* a command killed by a signal fails too */
    assert_int_equal(em_rdd_count(em_rdd_pipe(input, "kill -9 $$"), &n),
                     EM_EIO);
    assert_non_null(strstr(em_last_error(), "signal 9"));
    /* a missing program: sh reports it and exits with 127 */
    assert_int_equal(em_rdd_count(em_rdd_pipe(input, "/nonexistent/ember-cmd"
                                                     " 2>/dev/null"),
                                  &n),
                     EM_EIO);
    assert_non_null(strstr(em_last_error(), "status 127"));
    EM_CHECK(em_rdd_count(em_rdd_pipe(input, "cat"), &n));
    assert_int_equal(n, 1000);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Open descriptors of the process, or -1 without /proc. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void test_pipe_leaves_no_fd_or_child(void **state)
{
    em_ctx *ctx = em_test_ctx("local[4]");
    em_rdd *input = em_ctx_range(ctx, 0, 50000, 1, 8);
    int before = open_fds();
    em_arena *a = em_arena_create();
    em_val got;
    int64_t n;

    EM_CHECK(em_rdd_count(em_rdd_pipe(input, "cat"), &n));
    assert_int_equal(n, 50000);
    assert_int_equal(em_rdd_count(em_rdd_pipe(input, "exit 1"), &n), EM_EIO);
    EM_CHECK(em_rdd_take(em_rdd_pipe(input, "yes"), 5, a, &got));
    EM_CHECK(em_rdd_count(em_rdd_pipe(input, "head -n 1"), &n));
    assert_int_equal(n, 8);
    assert_int_equal(open_fds(), before);
    /* every child was reaped */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_pipe_bad_arguments(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *input = em_ctx_range(ctx, 0, 10, 1, 2);

    assert_null(em_rdd_pipe(NULL, "cat"));
    assert_null(em_rdd_pipe(input, NULL));
    assert_null(em_rdd_pipe(input, ""));
    assert_non_null(strstr(em_last_error(), "pipe"));
    em_ctx_destroy(ctx);
}

static void test_pipe_of_pipe(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = strs_rdd(ctx, words, NWORDS, 3);
    em_val once, twice;

    once = collect(em_rdd_pipe(r, "tr a-z A-Z"), a);
    twice = collect(em_rdd_pipe(em_rdd_pipe(r, "tr a-z A-Z"), "cat"), a);
    expect_val(twice, once, "pipe of pipe");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- saveAsTextFile ---- */

static void test_save_text_file_parts(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    char dir[512], out[1024], path[2048], names[4096];
    em_rdd *r = em_ctx_range(ctx, 0, 1000, 1, 4);
    char *want, *got;
    size_t len;

    em_test_tmpdir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/out", dir);
    EM_CHECK(em_rdd_save_as_text_file(r, out));
    list_dir(out, names, sizeof(names));
    assert_string_equal(names, "_SUCCESS/part-00000/part-00001/"
                               "part-00002/part-00003");
    want = format_lines(collect(r, a));
    got = read_parts(out, 4);
    assert_string_equal(got, want);
    free(got);
    free(want);
    snprintf(path, sizeof(path), "%s/_SUCCESS", out);
    got = slurp(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 0);
    free(got);
    em_test_rmtree(dir);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_save_empty_partitions(void **state)
{
    static const char *const three[] = {"one", "two", "three"};
    em_ctx *ctx = em_test_ctx("local[2]");
    char dir[512], out[1024], names[4096];
    char *got;

    em_test_tmpdir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/out", dir);
    EM_CHECK(em_rdd_save_as_text_file(strs_rdd(ctx, three, 3, 7), out));
    list_dir(out, names, sizeof(names));
    assert_string_equal(names, "_SUCCESS/part-00000/part-00001/part-00002/"
                               "part-00003/part-00004/part-00005/"
                               "part-00006");
    got = read_parts(out, 7);
    assert_string_equal(got, "one\ntwo\nthree\n");
    free(got);
    /* an RDD without partitions gives only the marker */
    snprintf(out, sizeof(out), "%s/none", dir);
    EM_CHECK(em_rdd_save_as_text_file(em_ctx_empty(ctx), out));
    list_dir(out, names, sizeof(names));
    assert_string_equal(names, "_SUCCESS");
    em_test_rmtree(dir);
    em_ctx_destroy(ctx);
}

static void test_save_text_file_exists(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    char dir[512], out[1024], names[4096], again[4096];
    em_rdd *r = em_ctx_range(ctx, 0, 100, 1, 2);
    em_rdd *other = em_ctx_range(ctx, 500, 600, 1, 3);
    char *before, *after;

    em_test_tmpdir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/out", dir);
    EM_CHECK(em_rdd_save_as_text_file(r, out));
    list_dir(out, names, sizeof(names));
    before = read_parts(out, 2);
    assert_int_equal(em_rdd_save_as_text_file(other, out), EM_EEXIST);
    assert_non_null(strstr(em_last_error(), out));
    list_dir(out, again, sizeof(again));
    assert_string_equal(again, names);
    after = read_parts(out, 2);
    assert_string_equal(after, before);
    free(after);
    free(before);
    /* a plain file is in the way too */
    assert_int_equal(em_rdd_save_as_text_file(other, dir), EM_EEXIST);
    em_test_rmtree(dir);
    em_ctx_destroy(ctx);
}

static void test_save_text_file_pairs(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    char dir[512], out[1024];
    em_val pairs[3];
    char *got;

    EM_CHECK(em_pair_make(a, em_cstr("a"), em_int(1), &pairs[0]));
    EM_CHECK(em_pair_make(a, em_cstr("b"), em_float(2.5), &pairs[1]));
    EM_CHECK(em_pair_make(a, em_int(3), em_cstr("c d"), &pairs[2]));
    em_test_tmpdir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/pairs", dir);
    EM_CHECK(
        em_rdd_save_as_text_file(em_ctx_parallelize(ctx, pairs, 3, 2), out));
    got = read_parts(out, 2);
    assert_string_equal(got, "['a', 1]\n['b', 2.5]\n[3, 'c d']\n");
    free(got);
    em_test_rmtree(dir);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_save_text_file_long_records(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    char dir[512], out[1024];
    size_t n = 200000;
    char *big = malloc(n + 1), *want, *got;
    em_val vals[4];
    em_rdd *r;

    assert_non_null(big);
    memset(big, 'q', n);
    big[n] = '\0';
    vals[0] = em_cstr("x");
    vals[1] = em_str(big, n);
    vals[2] = em_str(big, 70000);
    vals[3] = em_cstr("y");
    r = em_ctx_parallelize(ctx, vals, 4, 1);
    em_test_tmpdir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/long", dir);
    EM_CHECK(em_rdd_save_as_text_file(r, out));
    want = format_lines(collect(r, a));
    got = read_parts(out, 1);
    assert_int_equal(strlen(got), 1 + 1 + n + 1 + 70000 + 1 + 1 + 1);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(big);
    em_test_rmtree(dir);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_save_text_file_missing_parent(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    char dir[512], parent[1024], out[2048];

    em_test_tmpdir(dir, sizeof(dir));
    snprintf(parent, sizeof(parent), "%s/missing", dir);
    snprintf(out, sizeof(out), "%s/out", parent);
    assert_int_equal(
        em_rdd_save_as_text_file(em_ctx_range(ctx, 0, 10, 1, 2), out), EM_EIO);
    assert_non_null(strstr(em_last_error(), out));
    assert_false(file_exists(parent));
    assert_int_equal(em_rdd_save_as_text_file(NULL, out), EM_EINVAL);
    em_test_rmtree(dir);
    em_ctx_destroy(ctx);
}

static void test_save_failing_task_leaves_no_part(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    char dir[512], out[1024], names[4096];
    em_rdd *r = em_ctx_range(ctx, 0, 100, 1, 2);

    em_test_tmpdir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/out", dir);
    /* every task fails after its command printed its records */
    assert_int_equal(
        em_rdd_save_as_text_file(em_rdd_pipe(r, "cat; exit 5"), out), EM_EIO);
    assert_non_null(strstr(em_last_error(), "status 5"));
    list_dir(out, names, sizeof(names));
    /* no part file, no temporary file and no marker */
    assert_string_equal(names, "");
    em_test_rmtree(dir);
    em_ctx_destroy(ctx);
}

/* ---- out of memory ---- */

/* The sweeps run one action on a context and RDD made (and warmed up)
 * before the failure hook is set, as tests/unit/ops/test_oom.c does. */
typedef struct oom_job {
    em_ctx *ctx;
    em_rdd *rdd;     /* the RDD the action runs on */
    const char *dir; /* for saves: runs write to dir/run-N */
    int runs;        /* runs so far */
    int successes;
} oom_job;

static em_status oom_pipe_fn(void *arg)
{
    static const char *const want[] = {"A", "B", "C", "D", "E"};
    oom_job *j = arg;
    em_arena *a = em_arena_create();
    em_val got;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    st = em_rdd_collect(j->rdd, a, &got);
    if (st == EM_OK) {
        expect_strs(got, want, 5, "oom pipe");
        j->successes++;
    }
    em_arena_destroy(a);
    return st;
}

static void test_pipe_oom_sweep(void **state)
{
    static const char *const in[] = {"a", "b", "c", "d", "e"};
    oom_job j = {em_test_ctx("local[1]"), NULL, NULL, 0, 0};

    j.rdd = em_rdd_pipe(strs_rdd(j.ctx, in, 5, 3), "tr a-z A-Z");
    assert_non_null(j.rdd);
    EM_CHECK(oom_pipe_fn(&j));
    j.successes = 0;
    assert_true(em_test_oom_sweep(oom_pipe_fn, &j, 100000) > 0);
    assert_int_equal(j.successes, 1);
    em_ctx_destroy(j.ctx);
}

static em_status oom_save_fn(void *arg)
{
    oom_job *j = arg;
    char out[1024], want[256], *got;
    size_t off = 0;
    em_status st;

    snprintf(out, sizeof(out), "%s/run-%d", j->dir, j->runs++);
    st = em_rdd_save_as_text_file(j->rdd, out);
    if (st != EM_OK)
        return st;
    got = read_parts(out, 3);
    for (int i = 0; i < 50; i++)
        off += (size_t)snprintf(want + off, sizeof(want) - off, "%d\n", i);
    assert_string_equal(got, want);
    free(got);
    j->successes++;
    return st;
}

static void test_save_oom_sweep(void **state)
{
    char dir[512];
    oom_job j = {em_test_ctx("local[1]"), NULL, dir, 0, 0};

    em_test_tmpdir(dir, sizeof(dir));
    j.rdd = em_ctx_range(j.ctx, 0, 50, 1, 3);
    assert_non_null(j.rdd);
    EM_CHECK(oom_save_fn(&j));
    j.successes = 0;
    assert_true(em_test_oom_sweep(oom_save_fn, &j, 100000) > 0);
    assert_int_equal(j.successes, 1);
    em_test_rmtree(dir);
    em_ctx_destroy(j.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_pipe_cat_keeps_order),
        EM_TEST(test_pipe_empty_partitions),
        EM_TEST(test_pipe_tr_uppercase),
        EM_TEST(test_pipe_formats_records),
        EM_TEST(test_pipe_line_splitting),
        EM_TEST(test_pipe_long_record),
        EM_TEST(test_pipe_output_before_input),
        EM_TEST(test_pipe_command_stops_reading),
        EM_TEST(test_pipe_take_stops_command),
        EM_TEST(test_pipe_failing_command),
        EM_TEST(test_pipe_leaves_no_fd_or_child),
        EM_TEST(test_pipe_bad_arguments),
        EM_TEST(test_pipe_of_pipe),
        EM_TEST(test_save_text_file_parts),
        EM_TEST(test_save_empty_partitions),
        EM_TEST(test_save_text_file_exists),
        EM_TEST(test_save_text_file_pairs),
        EM_TEST(test_save_text_file_long_records),
        EM_TEST(test_save_text_file_missing_parent),
        EM_TEST(test_save_failing_task_leaves_no_part),
        EM_TEST(test_pipe_oom_sweep),
        EM_TEST(test_save_oom_sweep),
    };

    return cmocka_run_group_tests_name("pipe_save", tests, NULL, NULL);
}
