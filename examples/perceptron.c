/* perceptron: the averaged perceptron (em_linear_train with
 * EM_LOSS_PERCEPTRON and averaged weights) on a CSV of features then a 0/1
 * label after one header line (scikit-learn's breast_cancer.csv: 569 rows
 * of 30 features). The features are standardized (mean 0, population
 * standard deviation 1, over all rows); rows 0, 5, 10, ... are held out.
 * Prints the numbers of training and held-out rows and the accuracy on
 * both sets. examples/lua/perceptron.lua prints the same.
 *
 *   perceptron [--master URL] [--iterations N]
 *       [--mode batch|averaging|ipm|hogwild] CSV
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "points.h"

static bool parse_args(int argc, char **argv, em_conf *conf,
                       em_linear_opts *o, const char **path)
{
    static const char *const modes[] = {"batch", "averaging", "ipm",
                                        "hogwild"};

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int m = 4;
        if (v != NULL && strcmp(opt, "--master") == 0)
            conf->master = v;
        else if (v != NULL && strcmp(opt, "--iterations") == 0)
            o->iterations = atoi(v);
        else if (v != NULL && strcmp(opt, "--mode") == 0) {
            while (m > 0 && strcmp(v, modes[m - 1]) != 0)
                m--;
            if (m == 0)
                return false;
            o->mode = (em_linear_mode)(m - 1);
        } else if (*path == NULL && opt[0] != '-') {
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
    em_linear_opts o = {.iterations = 10, .step = 1, .intercept = true,
                        .schedule = EM_SCHEDULE_CONSTANT, .averaged = true,
                        .convergence_tol = -1, .mode = EM_LINEAR_IPM};
    em_ml_load_opts lo = {.label_col = -1, .skip_header = 1};
    const char *path = NULL;
    em_val raw, model, *sets[2];
    uint32_t n[2] = {0, 0};
    em_arena *a;
    em_ctx *ctx;
    em_rdd *train;
    int rc = 1;

    if (!parse_args(argc, argv, &conf, &o, &path)) {
        fprintf(stderr, "usage: perceptron [--master URL] [--iterations N] "
                "[--mode batch|averaging|ipm|hogwild] CSV\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "perceptron: %s\n", em_last_error());
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
        em_linear_train(train, EM_LOSS_PERCEPTRON, &o, a, &model) != EM_OK)
        goto out;
    printf("train\t%u\nheld_out\t%u\n", n[0], n[1]);
    printf("train_accuracy\t%.4f\n",
           ex_accuracy(model, sets[0], n[0], em_linear_predict));
    printf("held_out_accuracy\t%.4f\n",
           ex_accuracy(model, sets[1], n[1], em_linear_predict));
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "perceptron: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
