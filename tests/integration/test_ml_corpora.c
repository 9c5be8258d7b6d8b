/* Bigram PMI and corpus comparison (ops/text/pmi.c, docs/ml.md) on the King
 * James and World English Bibles from scripts/fetch-data.sh: every record
 * against a straightforward Python reference (tests/integration/
 * ref_corpora.py, counts with collections.Counter and the formulas written
 * out) to a relative 1e-9, for several minimum counts and smoothings, and
 * the same records on local[1], local[2] and local[7]. Skips, printing why,
 * when the Bibles cannot be fetched or /usr/bin/python3 is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/ml.h"

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};
static const char *python = "/usr/bin/python3";

/* Runs scripts/fetch-data.sh for `set`, leaving the printed path in path.
 * False, with the reason printed, when the data cannot be fetched. */
static bool fetch(const char *set, char *path, size_t cap)
{
    const char *data = getenv("EMBER_TEST_DATA");
    char cmd[4200];
    FILE *p;

    if (data == NULL) {
        print_message("EMBER_TEST_DATA is not set\n");
        return false;
    }
    snprintf(cmd, sizeof(cmd), "bash '%s/../../scripts/fetch-data.sh' %s "
             "2>/tmp/ember-fetch-%s.log", data, set, set);
    p = popen(cmd, "r");
    if (p == NULL || fgets(path, (int)cap, p) == NULL || pclose(p) != 0) {
        print_message("cannot fetch %s (see /tmp/ember-fetch-%s.log)\n",
                      set, set);
        return false;
    }
    path[strcspn(path, "\n")] = 0;
    return true;
}

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* The records of rdd, sorted. */
static em_val sorted_records(em_rdd *rdd, em_arena *a)
{
    em_val v;

    if (rdd == NULL)
        fail_msg("operator: %s", em_last_error());
    EM_CHECK(em_rdd_collect(rdd, a, &v));
    qsort((void *)v.u.arr, v.len, sizeof(em_val), val_qcmp);
    return v;
}

static void assert_same(em_val got, em_val want, const char *what)
{
    if (got.len != want.len)
        fail_msg("%s: %u records, first master %u", what, got.len,
                 want.len);
    for (uint32_t i = 0; i < got.len; i++)
        if (!em_val_eq(got.u.arr[i], want.u.arr[i]))
            fail_msg("%s: record %u differs from the first master's", what,
                     i);
}

/* Writes [[w1, w2], pmi, count] records as "w1 w2\tcount\tpmi". */
static void write_pmi(const char *path, em_val recs)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    for (uint32_t i = 0; i < recs.len; i++) {
        const em_val *r = recs.u.arr[i].u.arr, *w = r[0].u.arr;
        fprintf(f, "%.*s %.*s\t%lld\t%.17g\n", (int)w[0].len, w[0].u.s,
                (int)w[1].len, w[1].u.s, (long long)r[2].u.i, r[1].u.f);
    }
    fclose(f);
}

/* Writes [word, countA, countB, score] records as tab-separated lines. */
static void write_compare(const char *path, em_val recs)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    for (uint32_t i = 0; i < recs.len; i++) {
        const em_val *r = recs.u.arr[i].u.arr;
        fprintf(f, "%.*s\t%lld\t%lld\t%.17g\n", (int)r[0].len, r[0].u.s,
                (long long)r[1].u.i, (long long)r[2].u.i, r[3].u.f);
    }
    fclose(f);
}

/* Runs the reference with args (a shell word list); fails on a mismatch. */
static void check_reference(const char *args)
{
    const char *data = getenv("EMBER_TEST_DATA");
    char cmd[8400], line[512];
    FILE *p;
    int rc;

    snprintf(cmd, sizeof(cmd), "%s '%s/../integration/ref_corpora.py' %s "
             "2>&1", python, data, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL)
        print_message("  %s", line);
    rc = pclose(p);
    if (rc != 0)
        fail_msg("the reference disagrees (exit status %d)", rc);
}

static bool have_inputs(char *kjv, char *web, size_t cap)
{
    if (access(python, X_OK) != 0) {
        print_message("%s is missing\n", python);
        return false;
    }
    return fetch("kjv", kjv, cap) && fetch("web", web, cap);
}

static void test_ml_bigram_pmi_bibles(void **state)
{
    static const int64_t mins[] = {1, 10};
    char kjv[4096], web[4096], dir[4096], out[4200], args[13000];
    const char *corpora[2] = {kjv, web};

    if (!have_inputs(kjv, web, sizeof(kjv)))
        skip();
    em_test_tmpdir(dir, sizeof(dir));
    for (int c = 0; c < 2; c++)
        for (size_t k = 0; k < sizeof(mins) / sizeof(mins[0]); k++) {
            em_arena *a = em_arena_create();
            em_text_opts o = {.min_count = mins[k]};
            em_val first = em_nil();
            for (int m = 0; m < 3; m++) {
                em_ctx *ctx = em_test_ctx(masters[m]);
                em_val v = sorted_records(
                    em_text_bigram_pmi(em_ctx_text_file(ctx, corpora[c],
                                                        m + 1), &o), a);
                if (m == 0)
                    first = v;
                else
                    assert_same(v, first, masters[m]);
                em_ctx_destroy(ctx);
            }
            snprintf(out, sizeof(out), "%s/pmi", dir);
            write_pmi(out, first);
            print_message("bigram PMI of %s, min count %lld: %u records\n",
                          c ? "web" : "kjv", (long long)mins[k], first.len);
            snprintf(args, sizeof(args), "pmi '%s' %lld '%s'", corpora[c],
                     (long long)mins[k], out);
            check_reference(args);
            em_arena_destroy(a);
        }
    em_test_rmtree(dir);
}

static void test_ml_compare_corpora_bibles(void **state)
{
    static const struct {
        int64_t min_count;
        double smoothing; /* 0: the default, 1 */
    } cases[] = {{1, 0}, {5, 0.5}, {20, 0.01}};
    char kjv[4096], web[4096], dir[4096], out[4200], args[13000];

    if (!have_inputs(kjv, web, sizeof(kjv)))
        skip();
    em_test_tmpdir(dir, sizeof(dir));
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        em_arena *a = em_arena_create();
        em_text_opts o = {.min_count = cases[k].min_count,
                          .smoothing = cases[k].smoothing};
        em_val first = em_nil();
        for (int m = 0; m < 3; m++) {
            em_ctx *ctx = em_test_ctx(masters[m]);
            em_val v = sorted_records(
                em_text_compare_corpora(em_ctx_text_file(ctx, kjv, m + 1),
                                        em_ctx_text_file(ctx, web, m + 1),
                                        &o), a);
            if (m == 0)
                first = v;
            else
                assert_same(v, first, masters[m]);
            em_ctx_destroy(ctx);
        }
        snprintf(out, sizeof(out), "%s/compare", dir);
        write_compare(out, first);
        print_message("kjv against web, min count %lld, smoothing %g: %u "
                      "records\n", (long long)cases[k].min_count,
                      cases[k].smoothing ? cases[k].smoothing : 1.0,
                      first.len);
        snprintf(args, sizeof(args), "compare '%s' '%s' %lld %.17g '%s'",
                 kjv, web, (long long)cases[k].min_count,
                 cases[k].smoothing ? cases[k].smoothing : 1.0, out);
        check_reference(args);
        em_arena_destroy(a);
    }
    em_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_ml_bigram_pmi_bibles),
        EM_TEST(test_ml_compare_corpora_bibles),
    };
    return cmocka_run_group_tests_name("ml_corpora", tests, NULL, NULL);
}
