/* textFile and wholeTextFiles against the files read naively: random
 * line lengths (empty lines, lines longer than a split, CRLF), every
 * split count, directories, globs, gzip, and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "em_test.h"

/* Writes n random lines; returns the file's content (malloc'd). */
static char *write_lines(const char *path, em_test_rng *r, int n,
                         bool is_crlf, bool has_final_newline, size_t *len)
{
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap);
    FILE *f;

    for (int i = 0; i < n; i++) {
        size_t k = em_test_below(r, 10) == 0 ? em_test_below(r, 3000)
                                               : em_test_below(r, 40);
        while (used + k + 3 > cap)
            buf = realloc(buf, cap *= 2);
        for (size_t j = 0; j < k; j++)
            buf[used++] = (char)('a' + em_test_below(r, 26));
        if (i + 1 < n || has_final_newline) {
            if (is_crlf)
                buf[used++] = '\r';
            buf[used++] = '\n';
        }
    }
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, used, f), used);
    fclose(f);
    *len = used;
    return buf;
}

/* The lines of content as Ember defines them. */
static int naive_lines(const char *s, size_t n, char ***out, size_t **lens)
{
    int count = 0, cap = 16;
    size_t start = 0;

    *out = malloc(cap * sizeof(char *));
    *lens = malloc(cap * sizeof(size_t));
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\n')
            continue;
        if (i == n && start == n)
            break; /* no line after a final newline */
        if (count == cap) {
            cap *= 2;
            *out = realloc(*out, cap * sizeof(char *));
            *lens = realloc(*lens, cap * sizeof(size_t));
        }
        (*out)[count] = (char *)s + start;
        (*lens)[count] = i - start - (i > start && s[i - 1] == '\r');
        count++;
        start = i + 1;
    }
    return count;
}

static void check_lines(em_rdd *rdd, const char *content, size_t len)
{
    em_arena *a = em_arena_create();
    char **want;
    size_t *wlen;
    int n = naive_lines(content, len, &want, &wlen);
    em_val got;

    assert_non_null(rdd);
    EM_CHECK(em_rdd_collect(rdd, a, &got));
    if ((int)got.len != n)
        fail_msg("%u lines, want %d", got.len, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(got.u.arr[i].len, wlen[i]);
        assert_memory_equal(got.u.arr[i].u.s, want[i], wlen[i]);
    }
    free(want);
    free(wlen);
    em_arena_destroy(a);
}

static void test_textfile_splits(void **state)
{
    char dir[256], path[300];
    em_test_rng r = {42};

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/in.txt", dir);
    for (int round = 0; round < 6; round++) {
        size_t len;
        char *content = write_lines(path, &r, 1 + (int)em_test_below(&r, 900),
                                    round % 2, round % 3 != 0, &len);
        static const char *masters[] = {"local[1]", "local[3]"};
        for (int m = 0; m < 2; m++) {
            em_ctx *ctx = em_test_ctx(masters[m]);
            for (int parts = 1; parts <= 64; parts = parts * 2 + 1) {
                em_rdd *rdd = em_ctx_text_file(ctx, path, parts);
                assert_non_null(rdd);
                assert_true(em_rdd_num_partitions(rdd) >= parts ||
                            (size_t)em_rdd_num_partitions(rdd) >= len);
                check_lines(rdd, content, len);
            }
            em_ctx_destroy(ctx);
        }
        free(content);
    }
    em_test_rmtree(dir);
}

static void test_textfile_dir_glob_gzip(void **state)
{
    char dir[256], path[300], gz[300], all[1 << 16];
    em_test_rng r = {9};
    em_ctx *ctx = em_test_ctx("local[2]");
    size_t la, lb, total = 0;
    char *a, *b;
    gzFile g;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/a.txt", dir);
    a = write_lines(path, &r, 50, false, true, &la);
    snprintf(path, sizeof(path), "%s/b.txt", dir);
    b = write_lines(path, &r, 60, false, true, &lb);
    snprintf(path, sizeof(path), "%s/_SUCCESS", dir); /* skipped */
    fclose(fopen(path, "w"));
    snprintf(gz, sizeof(gz), "%s/c.gz", dir);
    g = gzopen(gz, "wb");
    assert_int_equal(gzwrite(g, b, (unsigned)lb), (int)lb);
    gzclose(g);
    assert_true(la + 2 * lb < sizeof(all));
    memcpy(all, a, la);
    memcpy(all + la, b, lb);
    memcpy(all + la + lb, b, lb);
    total = la + 2 * lb;
    check_lines(em_ctx_text_file(ctx, dir, 4), all, total);
    snprintf(path, sizeof(path), "%s/*.txt", dir);
    check_lines(em_ctx_text_file(ctx, path, 3), all, la + lb);
    check_lines(em_ctx_text_file(ctx, gz, 5), b, lb);
    /* wholeTextFiles: (path, content), gzip decompressed */
    {
        em_arena *ar = em_arena_create();
        em_rdd *w = em_ctx_whole_text_files(ctx, dir, 2);
        em_val got;
        assert_non_null(w);
        EM_CHECK(em_rdd_collect(w, ar, &got));
        assert_int_equal(got.len, 3);
        assert_int_equal(got.u.arr[0].u.arr[1].len, la);
        assert_memory_equal(got.u.arr[0].u.arr[1].u.s, a, la);
        assert_non_null(strstr(got.u.arr[0].u.arr[0].u.s, "a.txt"));
        assert_int_equal(got.u.arr[2].u.arr[1].len, lb);
        assert_memory_equal(got.u.arr[2].u.arr[1].u.s, b, lb);
        em_arena_destroy(ar);
    }
    free(a);
    free(b);
    em_ctx_destroy(ctx);
    em_test_rmtree(dir);
}

static void test_textfile_errors(void **state)
{
    char dir[256], path[300];
    em_ctx *ctx = em_test_ctx("local[2]");
    FILE *f;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/missing.txt", dir);
    assert_null(em_ctx_text_file(ctx, path, 2));
    assert_non_null(strstr(em_last_error(), "missing.txt"));
    snprintf(path, sizeof(path), "%s/*.nothing", dir);
    assert_null(em_ctx_text_file(ctx, path, 2));
    assert_null(em_ctx_whole_text_files(ctx, dir, 2)); /* empty dir */
    /* a corrupt gzip file fails its task with a message naming it */
    snprintf(path, sizeof(path), "%s/bad.gz", dir);
    f = fopen(path, "wb");
    fwrite("\x1f\x8b\x08\x00garbage-not-deflate", 1, 24, f);
    fclose(f);
    {
        int64_t n;
        em_rdd *r = em_ctx_text_file(ctx, path, 1);
        assert_non_null(r);
        assert_int_equal(em_rdd_count(r, &n), EM_EFORMAT);
        assert_non_null(strstr(em_last_error(), "bad.gz"));
    }
    /* an empty file has no lines */
    snprintf(path, sizeof(path), "%s/empty.txt", dir);
    fclose(fopen(path, "w"));
    {
        int64_t n = -1;
        EM_CHECK(em_rdd_count(em_ctx_text_file(ctx, path, 3), &n));
        assert_int_equal(n, 0);
    }
    em_ctx_destroy(ctx);
    em_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_textfile_splits),
        EM_TEST(test_textfile_dir_glob_gzip),
        EM_TEST(test_textfile_errors),
    };

    return cmocka_run_group_tests_name("textfile", tests, NULL, NULL);
}
