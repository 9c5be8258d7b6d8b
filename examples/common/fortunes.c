/* The fortunes as labelled points (fortunes.h). */
#include "fortunes.h"

#include <string.h>

typedef struct points {
    em_task *t;
    double label;
    ex_records which;
    int64_t features;
    int64_t index;     /* of the record in its file, from 0 */
    em_val *out;       /* growing array of points */
    size_t n, cap;
} points;

/* Adds the point of the record s[0..n) when it is on the wanted side. */
static em_status add_point(points *ps, const char *s, size_t n)
{
    em_arena *a = em_task_arena(ps->t);
    bool is_held_out = ps->index++ % 5 == 4;
    em_val toks, f;
    em_status st;

    if (ps->which != EX_ALL && is_held_out != (ps->which == EX_HELD_OUT))
        return EM_OK;
    if ((st = em_text_words(s, n, EM_TOKENIZER_ASCII, a, &toks, NULL)) !=
            EM_OK ||
        (st = em_hashing_tf_transform(ps->features, 0, toks, a, &f)) != EM_OK)
        return st;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 64;
        em_val *grown = em_arena_alloc(a, cap * sizeof(em_val));
        if (grown == NULL)
            return EM_ENOMEM;
        if (ps->n > 0)
            memcpy(grown, ps->out, ps->n * sizeof(em_val));
        ps->out = grown;
        ps->cap = cap;
    }
    return em_ml_labeled_point(a, ps->label, f, &ps->out[ps->n++]);
}

em_status ex_fortune_points(em_task *t, em_val content, double label,
                            ex_records which, int64_t features, em_val *out)
{
    const char *s = content.u.s;
    size_t n = content.len, start = 0, i = 0;
    points ps = {t, label, which, features, 0, NULL, 0, 0};
    em_status st = EM_OK;

    /* a record ends at a line that is exactly "%", or at the end */
    while (i <= n && st == EM_OK) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        if (e == n || (e - i == 1 && s[i] == '%')) {
            size_t end = e == n ? n : i;
            if (end > start)
                st = add_point(&ps, s + start, end - start);
            start = e + 1;
        }
        i = e + 1;
    }
    *out = em_array(ps.out, ps.n);
    return st;
}
