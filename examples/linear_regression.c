/* linear_regression: least-squares linear regression (em_linear_train)
 * on a CSV with one header line, the target in column --label (default 3)
 * and the features the columns before it; later columns are ignored. On
 * scikit-learn's iris.csv that is the petal width from the sepal length,
 * sepal width and petal length. Rows 0, 5, 10, ... are held out. Prints the
 * numbers of training and held-out rows, the weights and intercept, and the
 * root mean squared error on both sets. examples/lua/linear_regression.lua
 * prints the same.
 *
 *   linear_regression [--master URL] [--label COL] [--iterations N]
 *       [--step S] [--optimizer sgd|...|adam] CSV
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml.h"

static double rmse(em_val model, const em_val *pts, uint32_t n)
{
    double s = 0, y;

    for (uint32_t i = 0; i < n; i++) {
        if (em_linear_predict(model, pts[i].u.arr[1], &y) != EM_OK)
            return NAN;
        s += (y - pts[i].u.arr[0].u.f) * (y - pts[i].u.arr[0].u.f);
    }
    return sqrt(s / n);
}

static bool parse_args(int argc, char **argv, em_conf *conf,
                       em_linear_opts *o, int *label, const char **path)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v != NULL && strcmp(opt, "--master") == 0)
            conf->master = v;
        else if (v != NULL && strcmp(opt, "--label") == 0)
            *label = atoi(v);
        else if (v != NULL && strcmp(opt, "--iterations") == 0)
            o->iterations = atoi(v);
        else if (v != NULL && strcmp(opt, "--step") == 0)
            o->step = strtod(v, NULL);
        else if (v != NULL && strcmp(opt, "--optimizer") == 0) {
            if (em_optim_kind_parse(v, &o->optimizer) != EM_OK)
                return false;
        } else if (*path == NULL && opt[0] != '-') {
            *path = opt;
            continue;
        } else
            return false;
        i++;
    }
    return *path != NULL && *label >= 1;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_linear_opts o = {.iterations = 3000, .step = 0.05,
                        .intercept = true, .optimizer = EM_OPTIM_ADAM,
                        .schedule = EM_SCHEDULE_CONSTANT,
                        .convergence_tol = -1};
    em_ml_load_opts lo = {.skip_header = 1};
    const char *path = NULL;
    em_val raw, model, *sets[2], w;
    uint32_t n[2] = {0, 0};
    int label = 3, rc = 1;
    double b;
    em_arena *a;
    em_ctx *ctx;
    em_rdd *train;

    if (!parse_args(argc, argv, &conf, &o, &label, &path)) {
        fprintf(stderr, "usage: linear_regression [--master URL] [--label "
                "COL] [--iterations N] [--step S] [--optimizer NAME] CSV\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "linear_regression: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    lo.label_col = label;
    if (em_rdd_collect(em_ml_load_csv(em_ctx_text_file(ctx, path, 0), &lo),
                       a, &raw) != EM_OK)
        goto out;
    sets[0] = em_arena_alloc(a, raw.len * sizeof(em_val));
    sets[1] = em_arena_alloc(a, raw.len * sizeof(em_val));
    for (uint32_t i = 0; i < raw.len; i++) {
        int s = i % 5 == 0;
        em_val *p = em_array_make(a, 2, &sets[s][n[s]++]);
        p[0] = raw.u.arr[i].u.arr[0];
        p[1] = raw.u.arr[i].u.arr[1];
        p[1].len = (uint32_t)label; /* the columns before the label */
    }
    train = em_ctx_parallelize(ctx, sets[0], n[0], 4);
    if (em_rdd_cache(train) != EM_OK ||
        em_linear_train(train, EM_LOSS_SQUARED, &o, a, &model) != EM_OK ||
        em_linear_model_parts(model, NULL, &w, &b) != EM_OK)
        goto out;
    printf("train\t%u\nheld_out\t%u\nweights\t", n[0], n[1]);
    for (uint32_t j = 0; j < w.len; j++)
        printf("%s%.6f", j ? "," : "", w.u.vec[j]);
    printf("\nintercept\t%.6f\n", b);
    printf("train_rmse\t%.6f\n", rmse(model, sets[0], n[0]));
    printf("held_out_rmse\t%.6f\n", rmse(model, sets[1], n[1]));
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "linear_regression: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
