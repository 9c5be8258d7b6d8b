/* The Bloom filter and the count-min sketch (ops/sketch/, docs/ml.md) on
 * real data from scripts/fetch-data.sh: a filter of Debian's American word
 * list is queried with the words of the huge American list that are not in
 * it (found here by sorting), and a count-min sketch of the words of the
 * King James and World English Bibles is compared with exact counts made
 * here by a separate tokenizer. Each case skips, printing why, when its
 * data cannot be fetched.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

/* A text, and its lines (or tokens) as (pointer, length) views into it. */
typedef struct text {
    char *bytes;   /* the file's contents */
    size_t n;      /* bytes */
    em_val *items; /* str views into bytes (or into files) */
    size_t count;  /* items */
    char **files;  /* contents of several files, for read_words */
    size_t nfiles;
} text;

/* Runs scripts/fetch-data.sh for `set`, leaving the printed path in path.
 * False, with the reason printed, when the data cannot be fetched. */
static bool fetch(const char *set, char *path, size_t cap)
{
    const char *data = getenv("EMBER_TEST_DATA");
    char cmd[4200];
    FILE *p;
    int rc;

    if (data == NULL) {
        print_message("EMBER_TEST_DATA is not set\n");
        return false;
    }
    snprintf(cmd, sizeof(cmd), "bash '%s/../../scripts/fetch-data.sh' %s "
             "2>/tmp/ember-fetch-%s.log", data, set, set);
    p = popen(cmd, "r");
    if (p == NULL || fgets(path, (int)cap, p) == NULL) {
        if (p != NULL)
            pclose(p);
        print_message("cannot fetch %s (see /tmp/ember-fetch-%s.log)\n",
                      set, set);
        return false;
    }
    path[strcspn(path, "\n")] = 0;
    rc = pclose(p);
    if (rc != 0) {
        print_message("cannot fetch %s (see /tmp/ember-fetch-%s.log)\n",
                      set, set);
        return false;
    }
    return true;
}

static void read_text(const char *path, text *t)
{
    FILE *f = fopen(path, "rb");

    memset(t, 0, sizeof(*t));
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    t->n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    t->bytes = malloc(t->n + 1);
    if (fread(t->bytes, 1, t->n, f) != t->n)
        fail_msg("cannot read %s", path);
    fclose(f);
}

static void add_item(text *t, size_t *cap, const char *s, size_t n)
{
    if (t->count == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        t->items = realloc(t->items, *cap * sizeof(em_val));
    }
    t->items[t->count++] = em_str(s, n);
}

/* The lines of the file at path (without their "\n"). */
static void read_lines(const char *path, text *t)
{
    size_t cap = 0, start = 0;

    read_text(path, t);
    for (size_t i = 0; i < t->n; i++)
        if (t->bytes[i] == '\n') {
            add_item(t, &cap, t->bytes + start, i - start);
            start = i + 1;
        }
    if (start < t->n)
        add_item(t, &cap, t->bytes + start, t->n - start);
}

/* Appends the words of the file at path to t: maximal runs of ASCII
 * letters, lowercased in place (what EM_TOKENIZER_ASCII defines). */
static void read_words(const char *path, text *t, size_t *cap)
{
    text f;

    read_text(path, &f);
    for (size_t i = 0; i < f.n;) {
        size_t j = i;
        while (j < f.n && ((f.bytes[j] | 0x20) >= 'a' &&
                           (f.bytes[j] | 0x20) <= 'z')) {
            f.bytes[j] |= 0x20;
            j++;
        }
        if (j > i)
            add_item(t, cap, f.bytes + i, j - i);
        i = j + 1;
    }
    t->files = realloc(t->files, (t->nfiles + 1) * sizeof(char *));
    t->files[t->nfiles++] = f.bytes;
}

static void free_text(text *t)
{
    for (size_t i = 0; i < t->nfiles; i++)
        free(t->files[i]);
    free(t->files);
    free(t->bytes);
    free(t->items);
}

/* Byte order of strs (memcmp, then length). */
static int str_cmp(const void *x, const void *y)
{
    const em_val *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->u.s, b->u.s, n);

    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static bool contains(const em_val *sorted, size_t n, em_val key)
{
    return bsearch(&key, sorted, n, sizeof(em_val), str_cmp) != NULL;
}

/* Equal encodings (em_bloom_to_val or em_cms_to_val) of two sketches. */
static void assert_same_bytes(em_val x, em_val y, const char *what)
{
    if (x.len != y.len || memcmp(x.u.bytes, y.u.bytes, x.len) != 0)
        fail_msg("%s differs between masters", what);
}

static void test_ml_bloom_word_lists(void **state)
{
    static const double fpps[] = {0.001, 0.01, 0.05};
    char members_path[4096], queries_path[4096];
    text members, huge;
    em_val *sorted;
    size_t nq = 0, nm;

    if (!fetch("american", members_path, sizeof(members_path)) ||
        !fetch("american-huge", queries_path, sizeof(queries_path)))
        skip();
    read_lines(members_path, &members);
    read_lines(queries_path, &huge);
    /* the distinct members, sorted */
    sorted = malloc(members.count * sizeof(em_val));
    memcpy(sorted, members.items, members.count * sizeof(em_val));
    qsort(sorted, members.count, sizeof(em_val), str_cmp);
    nm = 0;
    for (size_t i = 0; i < members.count; i++)
        if (nm == 0 || str_cmp(&sorted[nm - 1], &sorted[i]) != 0)
            sorted[nm++] = sorted[i];
    for (size_t i = 0; i < huge.count; i++)
        nq += !contains(sorted, nm, huge.items[i]);
    assert_true(nm > 100000 && nq > 200000);

    for (size_t f = 0; f < sizeof(fpps) / sizeof(fpps[0]); f++) {
        em_arena *a = em_arena_create();
        em_val first = em_nil();
        em_bloom *bf = NULL;
        int64_t fp = 0, fn = 0;
        double rate;

        for (int m = 0; m < 3; m++) {
            em_ctx *ctx = em_test_ctx(masters[m]);
            em_val enc;
            em_bloom_destroy(bf);
            bf = em_sketch_bloom_filter(em_ctx_text_file(ctx, members_path,
                                                         m + 1),
                                        (int64_t)nm, fpps[f]);
            if (bf == NULL)
                fail_msg("bloomFilter on %s: %s", masters[m],
                         em_last_error());
            EM_CHECK(em_bloom_to_val(bf, a, &enc));
            if (m == 0)
                first = enc;
            else
                assert_same_bytes(first, enc, "the Bloom filter");
            em_ctx_destroy(ctx);
        }
        for (size_t i = 0; i < nm; i++)
            fn += !em_bloom_might_contain(bf, sorted[i]);
        for (size_t i = 0; i < huge.count; i++)
            if (!contains(sorted, nm, huge.items[i]))
                fp += em_bloom_might_contain(bf, huge.items[i]);
        rate = (double)fp / (double)nq;
        print_message("bloom fpp %.3f: %zu members, %lld bits, %d hashes; "
                      "%lld of %zu non-members reported (%.5f, %.1f%% off); "
                      "%lld false negatives\n",
                      fpps[f], nm, (long long)em_bloom_bit_size(bf),
                      em_bloom_num_hashes(bf), (long long)fp, nq, rate,
                      100 * (rate - fpps[f]) / fpps[f], (long long)fn);
        assert_int_equal(fn, 0);
        if (fabs(rate - fpps[f]) > 0.2 * fpps[f])
            fail_msg("false-positive rate %.5f is not within 20%% of %.5f",
                     rate, fpps[f]);
        em_bloom_destroy(bf);
        em_arena_destroy(a);
    }
    free(sorted);
    free_text(&members);
    free_text(&huge);
}

/* tokens -> tokens (flattens the arrays of em_text_tokenize) */
static em_status same(em_task *t, const em_val *env, const em_val *args,
                      size_t nargs, em_val *out)
{
    *out = args[0];
    return EM_OK;
}

/* Checks a count-min sketch of the Bibles' words against exact counts. */
static void check_count_min(const char *paths[2], const text *words,
                            double eps, double confidence, bool conservative)
{
    em_val *sorted = malloc(words->count * sizeof(em_val));
    em_arena *a = em_arena_create();
    em_val first = em_nil();
    em_cms *cms = NULL;
    int64_t below = 0, over = 0, distinct = 0, n = (int64_t)words->count;
    double bound;

    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *lines[2] = {em_ctx_text_file(ctx, paths[0], m + 1),
                            em_ctx_text_file(ctx, paths[1], m + 1)};
        em_rdd *tokens = em_rdd_flat_map(
            em_text_tokenize(em_ctx_union(ctx, lines, 2), NULL),
            EM_FN(same));
        em_val enc;
        em_cms_destroy(cms);
        cms = em_sketch_count_min(tokens, eps, confidence, 7, conservative);
        if (cms == NULL)
            fail_msg("countMinSketch on %s: %s", masters[m], em_last_error());
        EM_CHECK(em_cms_to_val(cms, a, &enc));
        /* conservative update depends on the order of the adds, so only
         * a plain sketch is the same for every partitioning */
        if (m == 0)
            first = enc;
        else if (!conservative)
            assert_same_bytes(first, enc, "the count-min sketch");
        em_ctx_destroy(ctx);
    }
    assert_int_equal(em_cms_total_count(cms), n);
    bound = eps * (double)n;
    memcpy(sorted, words->items, words->count * sizeof(em_val));
    qsort(sorted, words->count, sizeof(em_val), str_cmp);
    for (size_t i = 0; i < words->count;) {
        size_t j = i;
        int64_t est;
        while (j < words->count && str_cmp(&sorted[i], &sorted[j]) == 0)
            j++;
        est = em_cms_estimate_count(cms, sorted[i]);
        below += est < (int64_t)(j - i);
        over += (double)(est - (int64_t)(j - i)) > bound;
        distinct++;
        i = j;
    }
    print_message("count-min eps %g confidence %g%s: width %d depth %d; "
                  "%lld words, %lld distinct; %lld below the truth, %lld "
                  "over eps*N = %.1f (%.5f, bound %.5f)\n",
                  eps, confidence, conservative ? " conservative" : "",
                  em_cms_width(cms), em_cms_depth(cms), (long long)n,
                  (long long)distinct, (long long)below, (long long)over,
                  bound, (double)over / (double)distinct, 1 - confidence);
    assert_int_equal(below, 0);
    if ((double)over / (double)distinct >= 1 - confidence)
        fail_msg("%lld of %lld words over eps*N", (long long)over,
                 (long long)distinct);
    em_cms_destroy(cms);
    em_arena_destroy(a);
    free(sorted);
}

static void test_ml_count_min_bibles(void **state)
{
    char kjv[4096], web[4096];
    const char *paths[2] = {kjv, web};
    text words = {0};
    size_t cap = 0;

    if (!fetch("kjv", kjv, sizeof(kjv)) || !fetch("web", web, sizeof(web)))
        skip();
    read_words(kjv, &words, &cap);
    read_words(web, &words, &cap);
    assert_true(words.count > 1500000);
    /* one row: a sketch small enough for some estimates to pass eps*N */
    check_count_min(paths, &words, 1e-3, 0.5, false);
    check_count_min(paths, &words, 1e-3, 0.9, false);
    check_count_min(paths, &words, 1e-4, 0.99, false);
    check_count_min(paths, &words, 1e-5, 0.9, false);
    check_count_min(paths, &words, 1e-5, 0.9, true);
    check_count_min(paths, &words, 2e-6, 0.99, false);
    free_text(&words);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_ml_bloom_word_lists),
        EM_TEST(test_ml_count_min_bibles),
    };
    return cmocka_run_group_tests_name("ml_sketches", tests, NULL, NULL);
}
