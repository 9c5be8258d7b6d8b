/* logistic_regression: binary logistic regression (em_linear_train) on a
 * CSV of features then a 0/1 label after one header line (scikit-learn's
 * breast_cancer.csv: 569 rows of 30 features). The features are
 * standardized (mean 0, population standard deviation 1, over all rows);
 * rows 0, 5, 10, ... are held out. Prints the numbers of training and
 * held-out rows, the last iteration's training loss and the accuracy on
 * both sets. examples/lua/logistic_regression.lua prints the same.
 *
 *   logistic_regression [--master URL] [--iterations N] [--step S]
 *       [--reg-param R] [--optimizer sgd|...|adam]
 *       [--mode batch|averaging|ipm] CSV
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "points.h"

static bool parse_args(int argc, char **argv, em_conf *conf,
                       em_linear_opts *o, const char **path)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v != NULL && strcmp(opt, "--master") == 0)
            conf->master = v;
        else if (v != NULL && strcmp(opt, "--iterations") == 0)
            o->iterations = atoi(v);
        else if (v != NULL && strcmp(opt, "--step") == 0)
            o->step = strtod(v, NULL);
        else if (v != NULL && strcmp(opt, "--reg-param") == 0)
            o->reg_param = strtod(v, NULL);
        else if (v != NULL && strcmp(opt, "--optimizer") == 0) {
            if (em_optim_kind_parse(v, &o->optimizer) != EM_OK)
                return false;
        } else if (v != NULL && strcmp(opt, "--mode") == 0)
            o->mode = strcmp(v, "averaging") == 0 ? EM_LINEAR_AVERAGING
                      : strcmp(v, "ipm") == 0     ? EM_LINEAR_IPM
                                                  : EM_LINEAR_BATCH;
        else if (*path == NULL && opt[0] != '-') {
            *path = opt;
            continue;
        } else
            return false;
        i++;
    }
    return *path != NULL;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_linear_opts o = {.iterations = 300, .step = 0.1, .reg_param = 1e-3,
                        .reg_type = EM_REG_L2, .intercept = true,
                        .optimizer = EM_OPTIM_ADAM,
                        .schedule = EM_SCHEDULE_CONSTANT,
                        .convergence_tol = -1};
    em_ml_load_opts lo = {.label_col = -1, .skip_header = 1};
    const char *path = NULL;
    em_val raw, model, *sets[2], loss = em_nil();
    uint32_t n[2] = {0, 0};
    em_arena *a;
    em_ctx *ctx;
    em_rdd *train;
    int rc = 1;

    if (!parse_args(argc, argv, &conf, &o, &path)) {
        fprintf(stderr, "usage: logistic_regression [--master URL] "
                "[--iterations N] [--step S] [--reg-param R] [--optimizer "
                "sgd|momentum|nesterov|adagrad|rmsprop|adam] [--mode "
                "batch|averaging|ipm] CSV\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "logistic_regression: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    if (ex_load_points(ctx, path, &lo, a, &raw) != EM_OK)
        goto out;
    ex_standardize(raw.u.arr, raw.len);
    if (ex_split(raw, a, sets, n) != EM_OK)
        goto out;
    train = em_ctx_parallelize(ctx, sets[0], n[0], 4);
    if (em_rdd_cache(train) != EM_OK ||
        em_linear_train(train, EM_LOSS_LOGISTIC, &o, a, &model) != EM_OK)
        goto out;
    for (uint32_t i = 0; i < model.len; i++)
        if (em_val_eq(model.u.map[2 * i], em_cstr("loss")))
            loss = model.u.map[2 * i + 1];
    printf("train\t%u\nheld_out\t%u\n", n[0], n[1]);
    if (loss.type == EM_VEC && loss.len > 0)
        printf("loss\t%.6f\n", loss.u.vec[loss.len - 1]);
    printf("train_accuracy\t%.4f\n",
           ex_accuracy(model, sets[0], n[0], em_linear_predict));
    printf("held_out_accuracy\t%.4f\n",
           ex_accuracy(model, sets[1], n[1], em_linear_predict));
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "logistic_regression: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
