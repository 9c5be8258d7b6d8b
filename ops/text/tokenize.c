/* Tokenizers: ASCII letters lowercased, and Unicode word characters of
 * UTF-8 text, case-folded, with invalid bytes as counted separators; the
 * tokenize operator over lines. Tables in unicode_tables.c (generated);
 * docs/ml.md describes both tokenizers.
 */
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "runtime/err.h"
#include "unicode.h"

static bool is_ascii_letter(uint8_t c)
{
    return (uint8_t)((c | 0x20) - 'a') < 26;
}

/* Decodes one UTF-8 sequence at s (n > 0 bytes left): returns its length
 * and *cp, or 0 when s[0] does not start a valid sequence. */
static int utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xBF;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c == 0xE0 || c == 0xF0)
        lo = c == 0xE0 ? 0xA0 : 0x90;
    if (c == 0xED || c == 0xF4)
        hi = c == 0xED ? 0x9F : 0x8F;
    if (n < 2 || s[1] < lo || s[1] > hi || n < 3 || (s[2] & 0xC0) != 0x80)
        return 0;
    if (c < 0xF0) {
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
              (s[2] & 0x3F);
        return 3;
    }
    if (n < 4 || (s[3] & 0xC0) != 0x80)
        return 0;
    *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
          ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
}

static bool is_word_cp(uint32_t cp)
{
    size_t lo = 0, hi = em__uni_nword_ranges;

    if (cp < 0x80)
        return is_ascii_letter((uint8_t)cp) || (cp >= '0' && cp <= '9');
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < em__uni_word_ranges[mid][0])
            hi = mid;
        else if (cp > em__uni_word_ranges[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* The folding of cp into to[0..3); returns how many code points. */
static int fold_cp(uint32_t cp, uint32_t to[3])
{
    size_t lo = 0, hi = em__uni_nfolds;

    if (cp < 0x80) {
        to[0] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        return 1;
    }
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < em__uni_folds[mid].cp) {
            hi = mid;
        } else if (cp > em__uni_folds[mid].cp) {
            lo = mid + 1;
        } else {
            int k = 0;
            while (k < 3 && em__uni_folds[mid].to[k] != 0) {
                to[k] = em__uni_folds[mid].to[k];
                k++;
            }
            return k;
        }
    }
    to[0] = cp;
    return 1;
}

/* Writes cp as UTF-8 to dst (when not NULL); returns its length. */
static size_t utf8_encode(uint32_t cp, char *dst)
{
    uint8_t b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (dst != NULL)
        memcpy(dst, b, n);
    return n;
}

/* One pass of the Unicode tokenizer over s[0..n). With toks == NULL it
 * only counts: *ntok tokens, *nbytes folded bytes, *invalid bytes. With
 * toks it also writes the folded text to buf and the tokens to toks. */
static void scan_unicode(const uint8_t *s, size_t n, em_val *toks, char *buf,
                         size_t *ntok, size_t *nbytes, int64_t *invalid)
{
    size_t i = 0, k = 0, w = 0, start = 0;
    bool in_word = false;

    *invalid = 0;
    while (i <= n) {
        uint32_t cp = 0, to[3];
        int len = i < n ? utf8_decode(s + i, n - i, &cp) : 1;
        bool word = i < n && len > 0 && is_word_cp(cp);

        if (in_word && !word) {
            if (toks != NULL)
                toks[k] = em_str(buf + start, w - start);
            k++;
            in_word = false;
        }
        if (i < n && len == 0)
            (*invalid)++;
        if (word) {
            int m = fold_cp(cp, to);
            if (!in_word)
                start = w;
            in_word = true;
            for (int j = 0; j < m; j++)
                w += utf8_encode(to[j], toks != NULL ? buf + w : NULL);
        }
        i += len > 0 ? (size_t)len : 1;
    }
    *ntok = k;
    *nbytes = w;
}

/* The ASCII tokenizer, in the same two-pass form as scan_unicode. */
static void scan_ascii(const uint8_t *s, size_t n, em_val *toks, char *buf,
                       size_t *ntok, size_t *nbytes)
{
    size_t k = 0, w = 0, i = 0;

    while (i < n) {
        size_t start;
        while (i < n && !is_ascii_letter(s[i]))
            i++;
        if (i == n)
            break;
        start = w;
        while (i < n && is_ascii_letter(s[i])) {
            if (toks != NULL)
                buf[w] = (char)(s[i] | 0x20);
            w++;
            i++;
        }
        if (toks != NULL)
            toks[k] = em_str(buf + start, w - start);
        k++;
    }
    *ntok = k;
    *nbytes = w;
}

em_status em_text_words(const char *s, size_t n, em_tokenizer kind,
                        em_arena *a, em_val *out, int64_t *invalid_out)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t ntok, nbytes;
    int64_t invalid = 0;
    em_val *toks, arr;
    char *buf;

    if (kind != EM_TOKENIZER_ASCII && kind != EM_TOKENIZER_UNICODE)
        return em__err(EM_EINVAL, "tokenizer: unknown kind %d", (int)kind);
    if (s == NULL && n > 0)
        return em__err(EM_EINVAL, "tokenizer: NULL text");
    if (kind == EM_TOKENIZER_ASCII)
        scan_ascii(u, n, NULL, NULL, &ntok, &nbytes);
    else
        scan_unicode(u, n, NULL, NULL, &ntok, &nbytes, &invalid);
    toks = em_array_make(a, ntok, &arr);
    buf = em_arena_alloc(a, nbytes + 1);
    if (toks == NULL || buf == NULL)
        return EM_ENOMEM;
    if (kind == EM_TOKENIZER_ASCII)
        scan_ascii(u, n, toks, buf, &ntok, &nbytes);
    else
        scan_unicode(u, n, toks, buf, &ntok, &nbytes, &invalid);
    *out = arr;
    if (invalid_out != NULL)
        *invalid_out = invalid;
    return EM_OK;
}

/* ---- inside tasks ---- */

em_status em__text_line_tokens(em_task *t, const em_val *env, em_val line,
                               em_val *out)
{
    const em_val *e = env->u.arr;
    int64_t invalid = 0;
    em_status st;

    if (line.type != EM_STR)
        return em_task_fail(t, "tokenize: expected a line of text (str), "
                            "got %s", em_type_name((em_type)line.type));
    st = em_text_words(line.u.s, line.len, (em_tokenizer)e[0].u.i,
                       em_task_arena(t), out, &invalid);
    if (st == EM_OK && invalid > 0 && e[1].type != EM_NIL)
        st = em_task_accum_add(t, e[1], em_int(invalid));
    return st;
}

em_status em__text_env(const em_text_opts *opts, em_val extra, em_arena *a,
                       em_val *out)
{
    em_text_opts none = {0};
    em_val *e;

    if (opts == NULL)
        opts = &none;
    if (opts->tokenizer != EM_TOKENIZER_ASCII &&
        opts->tokenizer != EM_TOKENIZER_UNICODE)
        return em__err(EM_EINVAL, "text: unknown tokenizer %d",
                       (int)opts->tokenizer);
    if (!(opts->smoothing >= 0))
        return em__err(EM_EINVAL, "text: smoothing must be >= 0, not %g",
                       opts->smoothing);
    if ((e = em_array_make(a, 3, out)) == NULL)
        return EM_ENOMEM;
    e[0] = em_int(opts->tokenizer);
    e[1] = opts->invalid_bytes != NULL ? em_accum_ref(opts->invalid_bytes)
                                       : em_nil();
    e[2] = extra;
    return EM_OK;
}

em_status em__text_min_count(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    *out = em_bool(args[0].u.arr[1].u.i >= env->u.i);
    return EM_OK;
}

em_status em__text_fail_last(em_task *t)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "%s", em_last_error());
    return em_task_fail(t, "%s", msg);
}

em_rdd *em__text_keep_min(em_rdd *rdd, int64_t min_count)
{
    if (rdd == NULL || min_count <= 1)
        return rdd;
    return em_rdd_filter(rdd, em_fn_of(em__text_min_count,
                                       em_int(min_count)));
}

/* line -> array of tokens */
static em_status tokenize_line(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    return em__text_line_tokens(t, env, args[0], out);
}

em_rdd *em_text_tokenize(em_rdd *lines, const em_text_opts *opts)
{
    em_arena *a;
    em_rdd *r = NULL;
    em_val env;

    if (lines == NULL)
        return NULL;
    if ((a = em_arena_create()) == NULL)
        return NULL;
    if (em__text_env(opts, em_nil(), a, &env) == EM_OK)
        r = em_rdd_map(lines, em_fn_of(tokenize_line, env));
    em_arena_destroy(a);
    return r;
}
