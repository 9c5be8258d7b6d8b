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
#include "fortunes.h"

/* (path, content) -> the labelled points of its records (one side of the
 * split); env: [sorted paths, want held-out, features], the label the
 * path's index */
static em_status file_points(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr, paths = env->u.arr[0];
    double label = -1;

    for (uint32_t i = 0; i < paths.len; i++)
        if (em_val_eq(paths.u.arr[i], p[0]))
            label = i;
    return ex_fortune_points(t, p[1], label,
                             env->u.arr[1].u.b ? EX_HELD_OUT : EX_TRAINING,
                             env->u.arr[2].u.i, out);
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
