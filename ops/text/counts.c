/* Word counts and n-gram counts of lines: tokens to (key, 1) pairs in one
 * flatMap, then reduceByKey with map-side combining, then the optional
 * minimum count. docs/ml.md, "Text".
 */
#include "text.h"
#include "runtime/err.h"

/* line -> array of (token, 1) pairs */
static em_status word_pairs(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    em_val toks, *pairs, *cells;
    em_status st = em__text_line_tokens(t, env, args[0], &toks);

    if (st != EM_OK)
        return st;
    pairs = em_array_make(a, toks.len, out);
    cells = em_arena_alloc(a, 2 * (size_t)toks.len * sizeof(em_val) + 1);
    if (pairs == NULL || cells == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < toks.len; i++) {
        cells[2 * i] = toks.u.arr[i];
        cells[2 * i + 1] = em_int(1);
        pairs[i] = em_array(cells + 2 * i, 2);
    }
    return EM_OK;
}

/* line -> array of ([w_i, ..., w_i+n-1], 1) pairs; n is env[2]. The
 * n-gram arrays view the token array, which lives in the task's arena. */
static em_status ngram_pairs(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    size_t n = (size_t)env->u.arr[2].u.i, m;
    em_val toks, *pairs, *cells;
    em_status st = em__text_line_tokens(t, env, args[0], &toks);

    if (st != EM_OK)
        return st;
    m = toks.len >= n ? toks.len - n + 1 : 0;
    pairs = em_array_make(a, m, out);
    cells = em_arena_alloc(a, 2 * m * sizeof(em_val) + 1);
    if (pairs == NULL || cells == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < m; i++) {
        cells[2 * i] = em_array(toks.u.arr + i, n);
        cells[2 * i + 1] = em_int(1);
        pairs[i] = em_array(cells + 2 * i, 2);
    }
    return EM_OK;
}

/* The counting pipeline shared by word and n-gram counts. */
static em_rdd *count_with(em_rdd *lines, em_fn_ptr pairs_fn, int n,
                          const em_text_opts *opts)
{
    em_arena *a;
    em_rdd *r = NULL;
    em_val env;

    if (lines == NULL)
        return NULL;
    if ((a = em_arena_create()) == NULL)
        return NULL;
    if (em__text_env(opts, n > 0 ? em_int(n) : em_nil(), a, &env) != EM_OK)
        goto out;
    r = em_rdd_flat_map(lines, em_fn_of(pairs_fn, env));
    r = em_rdd_reduce_by_key(r, EM_FN(em_op_add),
                             opts != NULL ? opts->num_partitions : 0);
    r = em__text_keep_min(r, opts != NULL ? opts->min_count : 0);
out:
    em_arena_destroy(a);
    return r;
}

em_rdd *em_text_word_count(em_rdd *lines, const em_text_opts *opts)
{
    return count_with(lines, word_pairs, 0, opts);
}

em_rdd *em_text_ngrams(em_rdd *lines, int n, const em_text_opts *opts)
{
    if (lines == NULL)
        return NULL;
    if (n < 1) {
        em__err(EM_EINVAL, "ngrams: n must be >= 1, not %d", n);
        return NULL;
    }
    return count_with(lines, ngram_pairs, n, opts);
}
