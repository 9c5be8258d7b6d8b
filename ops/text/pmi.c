/* Bigram association by pointwise mutual information, and the comparison
 * of two corpora by smoothed log-ratio of word frequencies. Both are joins
 * of count RDDs (ops/text/counts.c); the totals they need come from jobs
 * run when the operator is called. docs/ml.md, "Text".
 */
#include <math.h>

#include "text.h"
#include "runtime/err.h"

/* The sum of the values of a pair RDD of ints (0 when empty). */
static em_status sum_values(em_rdd *pairs, int64_t *out)
{
    em_val s;
    em_status st = em_rdd_sum(em_rdd_values(pairs), &s);

    if (st == EM_OK)
        *out = s.u.i;
    return st;
}

/* The options with min_count cleared: totals count every token. */
static em_text_opts all_counts(const em_text_opts *opts)
{
    em_text_opts o = {0};

    if (opts != NULL)
        o = *opts;
    o.min_count = 0;
    return o;
}

/* ([w1, w2], c) -> (w1, [w2, c]) */
static em_status key_by_first(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr, *ws = p[0].u.arr;
    em_val *v = em_arena_alloc(em_task_arena(t), 4 * sizeof(em_val));

    if (v == NULL)
        return EM_ENOMEM;
    v[0] = ws[1];
    v[1] = p[1];
    v[2] = ws[0];
    v[3] = em_array(v, 2);
    *out = em_array(v + 2, 2);
    return EM_OK;
}

/* (w1, ([w2, c], c1)) -> (w2, [w1, c, c1]) */
static em_status key_by_second(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr, *jv = p[1].u.arr, *l = jv[0].u.arr;
    em_val *v = em_arena_alloc(em_task_arena(t), 5 * sizeof(em_val));

    if (v == NULL)
        return EM_ENOMEM;
    v[0] = p[0];
    v[1] = l[1];
    v[2] = jv[1];
    v[3] = l[0];
    v[4] = em_array(v, 3);
    *out = em_array(v + 3, 2);
    return EM_OK;
}

/* (w2, ([w1, c, c1], c2)) -> [[w1, w2], pmi, c]; env is [N, B]. */
static em_status pmi_record(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr, *jv = p[1].u.arr, *l = jv[0].u.arr;
    double ntok = (double)env->u.arr[0].u.i, nbi = (double)env->u.arr[1].u.i;
    double c = (double)l[1].u.i, c1 = (double)l[2].u.i;
    double c2 = (double)jv[1].u.i;
    double pxy = c / nbi, px = c1 / ntok, py = c2 / ntok;
    em_val *v = em_arena_alloc(em_task_arena(t), 5 * sizeof(em_val));

    if (v == NULL)
        return EM_ENOMEM;
    v[0] = l[0];
    v[1] = p[0];
    v[2] = em_array(v, 2);
    v[3] = em_float(log(pxy / (px * py)));
    v[4] = l[1];
    *out = em_array(v + 2, 3);
    return EM_OK;
}

em_rdd *em_text_bigram_pmi(em_rdd *lines, const em_text_opts *opts)
{
    em_text_opts o = all_counts(opts);
    int np = o.num_partitions;
    em_rdd *uni, *bi, *r;
    int64_t ntok, nbi;
    em_val env[2];

    if (lines == NULL)
        return NULL;
    uni = em_text_word_count(lines, &o);
    bi = em_text_ngrams(lines, 2, &o);
    if (uni == NULL || bi == NULL || sum_values(uni, &ntok) != EM_OK ||
        sum_values(bi, &nbi) != EM_OK)
        return NULL;
    env[0] = em_int(ntok);
    env[1] = em_int(nbi);
    r = em__text_keep_min(bi, opts != NULL ? opts->min_count : 0);
    r = em_rdd_map(r, EM_FN(key_by_first));
    r = em_rdd_map(em_rdd_join(r, uni, np), EM_FN(key_by_second));
    r = em_rdd_join(r, uni, np);
    return em_rdd_map(r, em_fn_of(pmi_record, em_array(env, 2)));
}

/* (w, (cA or nil, cB or nil)) -> [] or [[w, cA, cB, score]]; env is
 * [NA, NB, V, a, min_count]. */
static em_status compare_record(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    const em_val *e = env->u.arr, *p = args[0].u.arr, *jv = p[1].u.arr;
    int64_t ca = jv[0].type == EM_INT ? jv[0].u.i : 0;
    int64_t cb = jv[1].type == EM_INT ? jv[1].u.i : 0;
    double na = (double)e[0].u.i, nb = (double)e[1].u.i;
    double v = (double)e[2].u.i, s = e[3].u.f;
    em_val *items, *rec;

    if (ca + cb < e[4].u.i) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    items = em_array_make(em_task_arena(t), 1, out);
    rec = em_arena_alloc(em_task_arena(t), 4 * sizeof(em_val));
    if (items == NULL || rec == NULL)
        return EM_ENOMEM;
    rec[0] = p[0];
    rec[1] = em_int(ca);
    rec[2] = em_int(cb);
    rec[3] = em_float(log(((double)ca + s) / (na + s * v)) -
                      log(((double)cb + s) / (nb + s * v)));
    items[0] = em_array(rec, 4);
    return EM_OK;
}

em_rdd *em_text_compare_corpora(em_rdd *lines_a, em_rdd *lines_b,
                                const em_text_opts *opts)
{
    em_text_opts o = all_counts(opts);
    em_rdd *ca, *cb, *both;
    int64_t na, nb, vocab;
    em_val env[5];

    if (lines_a == NULL || lines_b == NULL)
        return NULL;
    if (o.smoothing == 0)
        o.smoothing = 1.0;
    ca = em_text_word_count(lines_a, &o);
    cb = em_text_word_count(lines_b, &o);
    both = em_rdd_full_outer_join(ca, cb, o.num_partitions);
    if (both == NULL || sum_values(ca, &na) != EM_OK ||
        sum_values(cb, &nb) != EM_OK || em_rdd_count(both, &vocab) != EM_OK)
        return NULL;
    env[0] = em_int(na);
    env[1] = em_int(nb);
    env[2] = em_int(vocab);
    env[3] = em_float(o.smoothing);
    env[4] = em_int(opts != NULL ? opts->min_count : 0);
    return em_rdd_flat_map(both, em_fn_of(compare_record,
                                          em_array(env, 5)));
}
