/* Tests of the tokenizers (ops/text/tokenize.c): the ASCII tokenizer
 * against a naive byte loop on random bytes; the Unicode tokenizer against
 * the tokens and invalid-byte counts that an independent Python reference
 * (ref_tokens.py: Python's UTF-8 decoder, unicodedata, str.casefold) gives
 * for tests/data/text/unicode.txt; properties on random byte strings; the
 * tokenize operator with its invalid-byte accumulator on local[1], [2], [7].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

static char *read_file(const char *name, size_t *len)
{
    const char *dir = getenv("EMBER_TEST_DATA");
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/text/%s", dir ? dir : "tests/data",
             name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Tokens joined by single spaces into buf. */
static void join_tokens(em_val toks, char *buf, size_t cap)
{
    size_t w = 0;

    buf[0] = 0;
    for (uint32_t i = 0; i < toks.len; i++) {
        em_val s = toks.u.arr[i];
        assert_int_equal(s.type, EM_STR);
        assert_true(w + s.len + 2 < cap);
        if (i > 0)
            buf[w++] = ' ';
        memcpy(buf + w, s.u.s, s.len);
        w += s.len;
        buf[w] = 0;
    }
}

static void test_tokenize_unicode_matches_python(void **state)
{
    size_t tlen, elen, nlines = 0;
    char *text = read_file("unicode.txt", &tlen);
    char *want = read_file("unicode.expected", &elen);
    char *tp = text, *wp = want, got[1024];
    em_arena *a = em_arena_create();

    while (wp < want + elen) {
        char *tend = memchr(tp, '\n', (size_t)(text + tlen - tp));
        char *wend = strchr(wp, '\n'), *tab = strchr(wp, '\t');
        size_t n = tend ? (size_t)(tend - tp) : (size_t)(text + tlen - tp);
        int64_t invalid = -1;
        em_val toks;

        assert_non_null(wend);
        assert_non_null(tab);
        EM_CHECK(em_text_words(tp, n, EM_TOKENIZER_UNICODE, a, &toks,
                               &invalid));
        join_tokens(toks, got, sizeof(got));
        *tab = 0;
        if (strcmp(got, wp) != 0)
            fail_msg("line %zu: got '%s', want '%s'", nlines + 1, got, wp);
        assert_int_equal(invalid, strtoll(tab + 1, NULL, 10));
        wp = wend + 1;
        tp = tend ? tend + 1 : text + tlen;
        nlines++;
    }
    assert_true(nlines >= 19);
    em_arena_destroy(a);
    free(text);
    free(want);
}

static void test_tokenize_known_answers(void **state)
{
    em_arena *a = em_arena_create();
    char got[256];
    int64_t invalid;
    em_val toks;

    EM_CHECK(em_text_words("Don't STOP-me now2day", 21, EM_TOKENIZER_ASCII,
                           a, &toks, &invalid));
    join_tokens(toks, got, sizeof(got));
    assert_string_equal(got, "don t stop me now day");
    assert_int_equal(invalid, 0);
    EM_CHECK(em_text_words("Gro\xc3\x9f \xff x", 9, EM_TOKENIZER_UNICODE, a,
                           &toks, &invalid));
    join_tokens(toks, got, sizeof(got));
    assert_string_equal(got, "gross x");
    assert_int_equal(invalid, 1);
    EM_CHECK(em_text_words(NULL, 0, EM_TOKENIZER_UNICODE, a, &toks, NULL));
    assert_int_equal(toks.len, 0);
    assert_int_equal(em_text_words("a", 1, (em_tokenizer)7, a, &toks, NULL),
                     EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "tokenizer"));
    em_arena_destroy(a);
}

/* The naive ASCII tokenizer: letters lowercased, anything else a space. */
static void naive_ascii(const unsigned char *s, size_t n, char *buf)
{
    size_t w = 0;
    int in_word = 0;

    for (size_t i = 0; i < n; i++) {
        int c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            if (!in_word && w > 0)
                buf[w++] = ' ';
            buf[w++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            in_word = 1;
        } else {
            in_word = 0;
        }
    }
    buf[w] = 0;
}

static void test_tokenize_ascii_random(void **state)
{
    em_test_rng r = {42};
    em_arena *a = em_arena_create();
    unsigned char s[200];
    char want[600], got[600];

    for (int iter = 0; iter < 2000; iter++) {
        size_t n = em_test_below(&r, sizeof(s));
        em_val toks;
        for (size_t i = 0; i < n; i++)
            s[i] = em_test_below(&r, 3) ? (unsigned char)('A' +
                   em_test_below(&r, 58)) : (unsigned char)em_test_next(&r);
        naive_ascii(s, n, want);
        EM_CHECK(em_text_words((const char *)s, n, EM_TOKENIZER_ASCII, a,
                               &toks, NULL));
        join_tokens(toks, got, sizeof(got));
        assert_string_equal(got, want);
    }
    em_arena_destroy(a);
}

/* Is s[0..n) valid UTF-8? (A second, table-free check: decodes and
 * re-encodes nothing, only tests the byte patterns of RFC 3629.) */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], need, cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        need = c >= 0xF8 ? 9 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 9;
        min = need == 3 ? 0x10000 : need == 2 ? 0x800 : 0x80;
        if (need == 9)
            return 0;
        cp = c & (0x3F >> need);
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Random mixes of ASCII, valid multi-byte characters and junk bytes: no
 * crash, every token is valid UTF-8, folding is idempotent (the tokens
 * joined by spaces tokenize to themselves), and the invalid count is the
 * number of bytes a naive validator cannot place in a valid sequence. */
static void test_tokenize_unicode_properties(void **state)
{
    static const char *pieces[] = {"a", "Z", " ", "\xc3\x9f", "\xc3\x89",
                                   "\xce\xa3", "\xd0\x81", "\xe6\x9d\xb1",
                                   "\xf0\x9f\x99\x82", "\xe1\xbe\x88", "9",
                                   ",", "\xc4\xb0", "\xef\xac\x81"};
    em_test_rng r = {7};
    em_arena *a = em_arena_create();
    unsigned char s[256];
    char joined[2048], again[2048];

    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 0;
        int64_t invalid, invalid2;
        em_val toks, toks2;
        while (n < 200) {
            if (em_test_below(&r, 6) == 0) {
                s[n++] = (unsigned char)em_test_next(&r);
            } else {
                const char *p = pieces[em_test_below(&r, 14)];
                memcpy(s + n, p, strlen(p));
                n += strlen(p);
            }
        }
        EM_CHECK(em_text_words((const char *)s, n, EM_TOKENIZER_UNICODE, a,
                               &toks, &invalid));
        assert_true(invalid >= 0 && (size_t)invalid <= n);
        if (valid_utf8(s, n))
            assert_int_equal(invalid, 0);
        for (uint32_t i = 0; i < toks.len; i++) {
            assert_true(toks.u.arr[i].len > 0);
            assert_true(valid_utf8((const unsigned char *)toks.u.arr[i].u.s,
                                   toks.u.arr[i].len));
        }
        join_tokens(toks, joined, sizeof(joined));
        EM_CHECK(em_text_words(joined, strlen(joined), EM_TOKENIZER_UNICODE,
                               a, &toks2, &invalid2));
        join_tokens(toks2, again, sizeof(again));
        assert_string_equal(again, joined);
        assert_int_equal(invalid2, 0);
    }
    em_arena_destroy(a);
}

/* The operator: tokens per line as em_text_words gives them, and the
 * accumulator holds the total of invalid bytes; a non-str record fails the
 * job with a message. */
static void test_tokenize_rdd(void **state)
{
    static const char *masters[] = {"local[1]", "local[2]", "local[7]"};
    size_t tlen;
    char *text = read_file("unicode.txt", &tlen);
    em_arena *a = em_arena_create();
    em_val lines[64], want[64];
    size_t n = 0;
    int64_t want_invalid = 0;

    for (char *p = text, *e; p < text + tlen; p = e + 1) {
        int64_t inv;
        e = memchr(p, '\n', (size_t)(text + tlen - p));
        if (e == NULL)
            e = text + tlen;
        lines[n] = em_str(p, (size_t)(e - p));
        EM_CHECK(em_text_words(p, (size_t)(e - p), EM_TOKENIZER_UNICODE, a,
                               &want[n], &inv));
        want_invalid += inv;
        n++;
    }
    assert_true(want_invalid > 10);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_accum *acc = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0),
                                           em_nil(), EM_FN_NONE);
        em_text_opts o = {.tokenizer = EM_TOKENIZER_UNICODE,
                          .invalid_bytes = acc};
        em_rdd *toks = em_text_tokenize(em_ctx_parallelize(ctx, lines, n, 3),
                                        &o);
        em_val got, total, bad = em_int(3);
        EM_CHECK(em_rdd_collect(toks, a, &got));
        assert_int_equal(got.len, n);
        for (size_t i = 0; i < n; i++)
            assert_true(em_val_eq(got.u.arr[i], want[i]));
        EM_CHECK(em_accum_value(acc, a, &total));
        assert_int_equal(total.u.i, want_invalid);
        toks = em_text_tokenize(em_ctx_parallelize(ctx, &bad, 1, 1), NULL);
        assert_int_equal(em_rdd_collect(toks, a, &got), EM_EUSER);
        assert_non_null(strstr(em_last_error(), "expected a line of text"));
        o.tokenizer = (em_tokenizer)9;
        assert_null(em_text_tokenize(em_ctx_parallelize(ctx, lines, 1, 1),
                                     &o));
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_tokenize_unicode_matches_python),
        EM_TEST(test_tokenize_known_answers),
        EM_TEST(test_tokenize_ascii_random),
        EM_TEST(test_tokenize_unicode_properties),
        EM_TEST(test_tokenize_rdd),
    };
    return cmocka_run_group_tests_name("tokenize", tests, NULL, NULL);
}
