/* naive_bayes_text: text classification with hashed features and
 * multinomial naive Bayes. The input is files of the fortune(6) format
 * (records separated by lines holding "%"); a record's label is its file
 * (the index of the file in path order). Every fifth record of each file
 * (the 5th, 10th, ...) is held out; the rest train the model. Tokens are
 * the ASCII tokenizer's; features are HashingTF term frequencies.
 *
 *   naive_bayes_text [--master URL] [--features N] [--lambda L] PATH
 *
 * Prints the number of labels, training and held-out records, and the
 * accuracy on both. docs/ml.md shows a run on Debian's fortunes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember/ml.h"

/* Splits content into records at lines that are exactly "%". Calls
 * f(rec, len, arg) for each non-empty record. */
static em_status each_record(const char *s, size_t n,
                             em_status (*f)(const char *, size_t, void *),
                             void *arg)
{
    size_t start = 0, i = 0;
    em_status st = EM_OK;

    while (i <= n && st == EM_OK) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        if (e == n || (e - i == 1 && s[i] == '%')) {
            size_t end = e == n ? n : i;
            if (end > start)
                st = f(s + start, end - start, arg);
            start = e + 1;
        }
        i = e + 1;
    }
    return st;
}

typedef struct split_state {
    em_task *t;
    const em_val *env; /* [sorted paths, want held-out, features] */
    double label;
    em_val *out;       /* growing array of points */
    size_t n, cap;
    int64_t index;     /* of the record in its file, from 0 */
} split_state;

static em_status add_record(const char *s, size_t n, void *arg)
{
    split_state *ss = arg;
    em_arena *a = em_task_arena(ss->t);
    bool held_out = ss->index++ % 5 == 4;
    em_val toks, f;
    em_status st;

    if (held_out != ss->env->u.arr[1].u.b)
        return EM_OK;
    if ((st = em_text_words(s, n, EM_TOKENIZER_ASCII, a, &toks, NULL)) !=
            EM_OK ||
        (st = em_hashing_tf_transform(ss->env->u.arr[2].u.i, 0, toks, a,
                                      &f)) != EM_OK)
        return st;
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? 2 * ss->cap : 64;
        em_val *grown = em_arena_alloc(a, cap * sizeof(em_val));
        if (grown == NULL)
            return EM_ENOMEM;
        if (ss->n > 0)
            memcpy(grown, ss->out, ss->n * sizeof(em_val));
        ss->out = grown;
        ss->cap = cap;
    }
    return em_ml_labeled_point(a, ss->label, f, &ss->out[ss->n++]);
}

/* (path, content) -> the labelled points of its records (one side of the
 * split) */
static em_status file_points(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr, paths = env->u.arr[0];
    split_state ss = {t, env, -1, NULL, 0, 0, 0};
    em_status st;

    for (uint32_t i = 0; i < paths.len; i++)
        if (em_val_eq(paths.u.arr[i], p[0]))
            ss.label = i;
    st = each_record(p[1].u.s, p[1].len, add_record, &ss);
    *out = em_array(ss.out, ss.n);
    return st;
}

/* point -> 1 when the model (env) predicts its label, else 0 */
static em_status is_correct(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    em_val pred;
    em_status st = em_nb_predict_op(t, env, args, nargs, &pred);

    *out = em_int(st == EM_OK && pred.u.f == args[0].u.arr[0].u.f);
    return st;
}

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* Accuracy of model on points; *n receives their number. */
static em_status accuracy(em_rdd *points, em_broadcast *model, double *acc,
                          int64_t *n)
{
    em_val hits;
    em_status st = em_rdd_count(points, n);

    if (st == EM_OK)
        st = em_rdd_sum(em_rdd_map(points, em_fn_of(is_correct,
                                   em_broadcast_ref(model))), &hits);
    if (st == EM_OK)
        *acc = *n > 0 ? (double)hits.u.i / (double)*n : 0;
    return st;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    int64_t features = 1 << 18, ntrain, ntest;
    double lambda = 1.0, acc_train, acc_test;
    int i, rc = 1;
    em_val paths, env[3], model, labels;
    em_rdd *files, *train, *test;
    em_broadcast *b;
    em_arena *a;
    em_ctx *ctx;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            conf.master = argv[++i];
        else if (strcmp(argv[i], "--features") == 0 && i + 1 < argc)
            features = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--lambda") == 0 && i + 1 < argc)
            lambda = strtod(argv[++i], NULL);
        else
            break;
    }
    if (argc - i != 1) {
        fprintf(stderr, "usage: naive_bayes_text [--master URL] "
                        "[--features N] [--lambda L] PATH\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL || (a = em_arena_create()) ==
                                                    NULL) {
        fprintf(stderr, "naive_bayes_text: %s\n", em_last_error());
        return 1;
    }
    files = em_ctx_whole_text_files(ctx, argv[i], 0);
    if (files == NULL || em_rdd_cache(files) != EM_OK ||
        em_rdd_collect(em_rdd_keys(files), a, &paths) != EM_OK)
        goto fail;
    qsort((void *)paths.u.arr, paths.len, sizeof(em_val), val_qcmp);
    env[0] = paths;
    env[1] = em_bool(false);
    env[2] = em_int(features);
    train = em_rdd_flat_map(files, em_fn_of(file_points, em_array(env, 3)));
    env[1] = em_bool(true);
    test = em_rdd_flat_map(files, em_fn_of(file_points, em_array(env, 3)));
    if (em_nb_train(train, lambda, a, &model) != EM_OK ||
        em_nb_model_parts(model, &labels, NULL, NULL) != EM_OK ||
        (b = em_ctx_broadcast(ctx, model)) == NULL ||
        accuracy(train, b, &acc_train, &ntrain) != EM_OK ||
        accuracy(test, b, &acc_test, &ntest) != EM_OK)
        goto fail;
    printf("labels\t%u\n", labels.len);
    printf("training records\t%lld\n", (long long)ntrain);
    printf("held-out records\t%lld\n", (long long)ntest);
    printf("training accuracy\t%.4f\n", acc_train);
    printf("held-out accuracy\t%.4f\n", acc_test);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "naive_bayes_text: %s\n", em_last_error());
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
