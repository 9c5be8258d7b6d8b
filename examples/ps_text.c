/* ps_text: hogwild-style asynchronous sparse SGD through the parameter
 * server on real text. Two topic files of the fortune(6) format (records
 * end at a line holding "%") give the classes (TOPIC0 -> 0, TOPIC1 -> 1);
 * every fifth record of each file is held out. Tokens are the ASCII
 * tokenizer's, hashed to 2^18 features (HashingTF); logistic regression
 * trains in the chosen mode (default ps: the weights in a parameter
 * server, each task pulling and pushing the weights of its mini-batch's
 * words) with adagrad.
 *
 *   ps_text [--master URL] [--mode M] [--iterations K] [--step S]
 *           [--batch B] [--partitions P] DIR TOPIC0 TOPIC1
 *
 * Prints the record counts, the held-out rate of the training set's
 * majority class, the held-out accuracy, the last training loss and the
 * training time. docs/ml.md, "Allreduce and parameter-server modes".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "ember/ml.h"
#include "ember/ml_linear.h"
#include "fortunes.h"

#define FEATURES (1 << 18)

/* (path, content) -> the labelled points of one side of the split; env:
 * [label, want held-out] */
static em_status file_points(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    return ex_fortune_points(t, args[0].u.arr[1], env->u.arr[0].u.f,
                             env->u.arr[1].u.b ? EX_HELD_OUT : EX_TRAINING,
                             FEATURES, out);
}

/* point -> 1 when the model (env) predicts its label, else 0 */
static em_status is_hit(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    em_val pred;
    em_status st = em_linear_predict_op(t, env, args, nargs, &pred);

    *out = em_int(st == EM_OK && pred.u.f == args[0].u.arr[0].u.f);
    return st;
}

/* point -> its label as an int */
static em_status label_of(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    *out = em_int((int64_t)args[0].u.arr[0].u.f);
    return EM_OK;
}

/* The points of both topics, one side of the split, in p partitions. */
static em_rdd *points(em_ctx *ctx, const char *dir, char **topics,
                      bool held_out, int p)
{
    em_rdd *sides[2];
    em_val env[2][2];
    char path[4096];

    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof(path), "%s/%s", dir, topics[c]);
        env[c][0] = em_float(c);
        env[c][1] = em_bool(held_out);
        sides[c] = em_rdd_flat_map(em_ctx_whole_text_files(ctx, path, 0),
                                   em_fn_of(file_points,
                                            em_array(env[c], 2)));
    }
    return em_rdd_repartition(em_ctx_union(ctx, sides, 2), p);
}

/* The sum of f over pts, an int. */
static em_status count_of(em_rdd *pts, em_fn f, int64_t *out)
{
    em_val sum;
    em_status st = em_rdd_sum(em_rdd_map(pts, f), &sum);

    if (st == EM_OK)
        *out = sum.u.i;
    return st;
}

/* The model's loss per iteration. */
static em_val loss_of(em_val model)
{
    for (uint32_t k = 0; k < model.len; k++)
        if (strcmp(model.u.map[2 * k].u.s, "loss") == 0)
            return model.u.map[2 * k + 1];
    return em_nil();
}

static double seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *const modes[] = {"batch", "averaging", "ipm",
                                    "hogwild", "allreduce", "ps"};

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_linear_opts o = {.iterations = 10, .step = 0.5, .intercept = true,
                        .optimizer = EM_OPTIM_ADAGRAD,
                        .schedule = EM_SCHEDULE_CONSTANT,
                        .convergence_tol = -1, .batch_size = 16,
                        .mode = EM_LINEAR_PS};
    int i, rc = 1, parts = 2;
    em_val model, loss;
    int64_t ntrain, ntest, ones_train, ones_test, hits;
    em_rdd *train, *test;
    em_broadcast *b;
    double t0, secs;
    em_arena *a;
    em_ctx *ctx;

    for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *k = argv[i] + 2, *v = argv[i + 1];
        if (strcmp(k, "master") == 0)
            conf.master = v;
        else if (strcmp(k, "iterations") == 0)
            o.iterations = atoi(v);
        else if (strcmp(k, "step") == 0)
            o.step = strtod(v, NULL);
        else if (strcmp(k, "batch") == 0)
            o.batch_size = atoi(v);
        else if (strcmp(k, "partitions") == 0)
            parts = atoi(v);
        else if (strcmp(k, "mode") == 0)
            for (o.mode = EM_LINEAR_BATCH;
                 o.mode < EM_LINEAR_PS && strcmp(v, modes[o.mode]) != 0;)
                o.mode++;
        else
            break;
        if (strcmp(k, "mode") == 0 && strcmp(v, modes[o.mode]) != 0)
            break;
    }
    if (argc - i != 3) {
        fprintf(stderr, "usage: ps_text [--master URL] [--mode M] "
                        "[--iterations K] [--step S] [--batch B] "
                        "[--partitions P] DIR TOPIC0 TOPIC1\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL ||
        (a = em_arena_create()) == NULL) {
        fprintf(stderr, "ps_text: %s\n", em_last_error());
        return 1;
    }
    train = points(ctx, argv[i], argv + i + 1, false, parts);
    test = points(ctx, argv[i], argv + i + 1, true, parts);
    if (train == NULL || test == NULL || em_rdd_cache(train) != EM_OK ||
        em_rdd_cache(test) != EM_OK || em_rdd_count(train, &ntrain) != EM_OK ||
        em_rdd_count(test, &ntest) != EM_OK ||
        count_of(train, EM_FN(label_of), &ones_train) != EM_OK ||
        count_of(test, EM_FN(label_of), &ones_test) != EM_OK)
        goto fail;
    t0 = seconds();
    if (em_linear_train(train, EM_LOSS_LOGISTIC, &o, a, &model) != EM_OK)
        goto fail;
    secs = seconds() - t0;
    if ((b = em_ctx_broadcast(ctx, model)) == NULL ||
        count_of(test, em_fn_of(is_hit, em_broadcast_ref(b)), &hits) != EM_OK)
        goto fail;
    loss = loss_of(model);
    /* the rate a constant guess of the training set's majority gets */
    if (2 * ones_train < ntrain)
        ones_test = ntest - ones_test;
    printf("mode\t%s\n", modes[o.mode]);
    printf("training records\t%lld\n", (long long)ntrain);
    printf("held-out records\t%lld\n", (long long)ntest);
    printf("held-out majority rate\t%.4f\n",
           (double)ones_test / (double)ntest);
    printf("held-out accuracy\t%.4f\n", (double)hits / (double)ntest);
    printf("last training loss\t%.4f\n", loss.u.vec[loss.len - 1]);
    printf("training seconds\t%.2f\n", secs);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "ps_text: %s\n", em_last_error());
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
