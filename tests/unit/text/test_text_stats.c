/* Tests of the counting and association operators (ops/text/counts.c,
 * pmi.c): word counts, n-gram counts, bigram PMI and corpus comparison,
 * each against a naive reference computed here from the lines (tokens from
 * em_text_words, tested in test_tokenize.c; counts by sorting; the
 * formulas of the issue written out), on generated skewed text, for
 * local[1], local[2] and local[7], 1 and 4 input slices, with and without
 * a minimum count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* n generated lines in a: words of a skewed vocabulary, mixed case,
 * punctuation, empty lines. */
static em_val *make_lines(em_arena *a, size_t n, uint64_t seed)
{
    static const char *vocab[] = {
        "the", "of", "and", "to", "in", "is", "that", "it", "was", "for",
        "on", "are", "as", "with", "his", "they", "at", "be", "this", "from",
        "I", "have", "or", "by", "one", "had", "not", "but", "what", "all",
        "were", "when", "we", "there", "can", "an", "your", "which", "their",
        "said", "if", "do", "will", "each", "about", "how", "up", "out",
        "them", "then", "she", "many", "some", "so", "these", "would",
        "other", "into", "has", "more"};
    em_test_rng r = {seed};
    em_val *lines = em_arena_alloc(a, n * sizeof(em_val));

    for (size_t i = 0; i < n; i++) {
        char buf[400];
        size_t w = 0, nw = em_test_below(&r, 12);
        for (size_t k = 0; k < nw; k++) {
            uint64_t x = em_test_below(&r, 60);
            const char *word = vocab[(x * x) / 60]; /* skewed to the front */
            w += (size_t)snprintf(buf + w, sizeof(buf) - w, "%s%s%s",
                                  k ? (em_test_below(&r, 5) ? " " : ", ")
                                    : "",
                                  em_test_below(&r, 7) ? "" : "\"", word);
            if (em_test_below(&r, 9) == 0)
                buf[w - 1] = (char)(buf[w - 1] & ~0x20);
        }
        EM_CHECK(em_str_copy(a, buf, w, &lines[i]));
    }
    return lines;
}

/* The naive counts of keys[0..n): a sorted array of (key, count) pairs. */
static em_val naive_counts(em_arena *a, em_val *keys, size_t n)
{
    em_val *out = em_arena_alloc(a, (n + 1) * sizeof(em_val)), v;
    size_t m = 0;

    qsort(keys, n, sizeof(em_val), val_qcmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && em_val_eq(keys[j], keys[i]))
            j++;
        EM_CHECK(em_pair_make(a, keys[i], em_int((int64_t)(j - i)),
                              &out[m++]));
        i = j;
    }
    v = em_array(out, m);
    return v;
}

/* All n-grams (as arrays; n == 0: single tokens as strs) of the lines. */
static em_val naive_ngrams(em_arena *a, const em_val *lines, size_t nl,
                           int n)
{
    size_t cap = 1024, k = 0;
    em_val *keys = malloc(cap * sizeof(em_val)), res;

    for (size_t i = 0; i < nl; i++) {
        em_val toks;
        size_t len = n == 0 ? 1 : (size_t)n;
        EM_CHECK(em_text_words(lines[i].u.s, lines[i].len,
                               EM_TOKENIZER_ASCII, a, &toks, NULL));
        for (size_t j = 0; j + len <= toks.len; j++) {
            if (k == cap)
                keys = realloc(keys, (cap *= 2) * sizeof(em_val));
            keys[k++] = n == 0 ? toks.u.arr[j] : em_array(toks.u.arr + j, len);
        }
    }
    res = naive_counts(a, keys, k);
    free(keys);
    return res;
}

static int64_t lookup(em_val counts, em_val key)
{
    size_t lo = 0, hi = counts.len;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = em_val_cmp(counts.u.arr[mid].u.arr[0], key);
        if (c == 0)
            return counts.u.arr[mid].u.arr[1].u.i;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int64_t total(em_val counts)
{
    int64_t s = 0;

    for (uint32_t i = 0; i < counts.len; i++)
        s += counts.u.arr[i].u.arr[1].u.i;
    return s;
}

/* The records of counts with count >= min. */
static em_val keep_min(em_arena *a, em_val counts, int64_t min)
{
    em_val *out = em_arena_alloc(a, (counts.len + 1) * sizeof(em_val));
    size_t m = 0;

    for (uint32_t i = 0; i < counts.len; i++)
        if (counts.u.arr[i].u.arr[1].u.i >= min)
            out[m++] = counts.u.arr[i];
    return em_array(out, m);
}

static em_val collect_sorted(em_rdd *rdd, em_arena *a)
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
        fail_msg("%s: %u records, want %u", what, got.len, want.len);
    for (uint32_t i = 0; i < got.len; i++)
        if (!em_val_eq(got.u.arr[i], want.u.arr[i])) {
            char g[200], w[200];
            em_val_format(got.u.arr[i], g, sizeof(g));
            em_val_format(want.u.arr[i], w, sizeof(w));
            fail_msg("%s: record %u is %s, want %s", what, i, g, w);
        }
}

static void test_text_counts_match_naive(void **state)
{
    em_arena *a = em_arena_create();
    size_t nl = 700;
    em_val *lines = make_lines(a, nl, 3);

    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        for (int slices = 1; slices <= 4; slices += 3) {
            em_rdd *src = em_ctx_parallelize(ctx, lines, nl, slices);
            for (int64_t min = 0; min <= 5; min += 5) {
                em_text_opts o = {.min_count = min, .num_partitions = 3};
                char what[100];
                snprintf(what, sizeof(what), "%s slices %d min %lld words",
                         masters[m], slices, (long long)min);
                assert_same(collect_sorted(em_text_word_count(src, &o), a),
                            keep_min(a, naive_ngrams(a, lines, nl, 0), min),
                            what);
                for (int n = 1; n <= 3; n++) {
                    snprintf(what, sizeof(what), "%s slices %d min %lld "
                             "%d-grams", masters[m], slices, (long long)min,
                             n);
                    assert_same(collect_sorted(em_text_ngrams(src, n, &o),
                                               a),
                                keep_min(a, naive_ngrams(a, lines, nl, n),
                                         min), what);
                }
            }
        }
        assert_null(em_text_ngrams(em_ctx_empty(ctx), 0, NULL));
        assert_int_equal(em_text_word_count(em_ctx_empty(ctx), NULL) != NULL,
                         1);
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

static void assert_close(double got, double want, const char *what)
{
    if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
        fail_msg("%s: %.17g, want %.17g", what, got, want);
}

static void test_text_bigram_pmi_matches_naive(void **state)
{
    em_arena *a = em_arena_create();
    size_t nl = 500;
    em_val *lines = make_lines(a, nl, 11);
    em_val uni = naive_ngrams(a, lines, nl, 0);
    em_val bi = naive_ngrams(a, lines, nl, 2);
    double ntok = (double)total(uni), nbi = (double)total(bi);

    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *src = em_ctx_parallelize(ctx, lines, nl, 4);
        for (int64_t min = 1; min <= 8; min += 7) {
            em_text_opts o = {.min_count = min};
            em_val got = collect_sorted(em_text_bigram_pmi(src, &o), a);
            em_val want = keep_min(a, bi, min);
            assert_int_equal(got.len, want.len);
            for (uint32_t i = 0; i < got.len; i++) {
                const em_val *g = got.u.arr[i].u.arr, *w = want.u.arr[i].u.arr;
                const em_val *ws = w[0].u.arr;
                double c = (double)w[1].u.i;
                double px = (double)lookup(uni, ws[0]) / ntok;
                double py = (double)lookup(uni, ws[1]) / ntok;
                assert_int_equal(got.u.arr[i].len, 3);
                assert_true(em_val_eq(g[0], w[0]));
                assert_int_equal(g[2].u.i, w[1].u.i);
                assert_close(g[1].u.f, log((c / nbi) / (px * py)), "pmi");
            }
        }
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

static void test_text_compare_corpora_matches_naive(void **state)
{
    em_arena *a = em_arena_create();
    size_t na_l = 400, nb_l = 300;
    em_val *la = make_lines(a, na_l, 5), *lb = make_lines(a, nb_l, 6);
    em_val ca = naive_ngrams(a, la, na_l, 0), cb = naive_ngrams(a, lb, nb_l, 0);
    double na = (double)total(ca), nb = (double)total(cb);
    em_val *vocab = malloc((ca.len + cb.len) * sizeof(em_val)), words;
    size_t nv = 0;

    /* the joint vocabulary */
    for (uint32_t i = 0; i < ca.len; i++)
        vocab[nv++] = ca.u.arr[i].u.arr[0];
    for (uint32_t i = 0; i < cb.len; i++)
        if (lookup(ca, cb.u.arr[i].u.arr[0]) == 0)
            vocab[nv++] = cb.u.arr[i].u.arr[0];
    qsort(vocab, nv, sizeof(em_val), val_qcmp);
    words = em_array(vocab, nv);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *ra = em_ctx_parallelize(ctx, la, na_l, 3);
        em_rdd *rb = em_ctx_parallelize(ctx, lb, nb_l, 2);
        for (int k = 0; k < 2; k++) {
            double s = k == 0 ? 1.0 : 0.25;
            em_text_opts o = {.min_count = k == 0 ? 0 : 30,
                              .smoothing = k == 0 ? 0 : 0.25};
            em_val got = collect_sorted(em_text_compare_corpora(ra, rb, &o),
                                        a);
            uint32_t gi = 0;
            for (uint32_t i = 0; i < words.len; i++) {
                em_val w = words.u.arr[i];
                int64_t x = lookup(ca, w), y = lookup(cb, w);
                const em_val *g;
                if (x + y < o.min_count)
                    continue;
                assert_true(gi < got.len);
                g = got.u.arr[gi++].u.arr;
                assert_true(em_val_eq(g[0], w));
                assert_int_equal(g[1].u.i, x);
                assert_int_equal(g[2].u.i, y);
                assert_close(g[3].u.f,
                             log((x + s) / (na + s * (double)nv)) -
                                 log((y + s) / (nb + s * (double)nv)),
                             "score");
            }
            assert_int_equal(gi, got.len);
        }
        {
            em_text_opts bad = {.smoothing = -1};
            assert_null(em_text_compare_corpora(ra, rb, &bad));
            assert_int_equal(em_rdd_count(em_text_bigram_pmi(
                                              em_ctx_empty(ctx), NULL),
                                          &(int64_t){0}),
                             EM_OK);
        }
        em_ctx_destroy(ctx);
    }
    free(vocab);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_text_counts_match_naive),
        EM_TEST(test_text_bigram_pmi_matches_naive),
        EM_TEST(test_text_compare_corpora_matches_naive),
    };
    return cmocka_run_group_tests_name("text_stats", tests, NULL, NULL);
}
