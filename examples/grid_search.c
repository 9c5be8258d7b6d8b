/* grid_search: k-fold cross-validation of logistic regression over a grid
 * of step sizes and L2 regularization (em_ml_grid_search with the in-task
 * trainer em_linear_train_op) on a CSV of features then a 0/1 label after
 * one header line (scikit-learn's breast_cancer.csv), the features
 * standardized. Prints each cell's parameters, mean accuracy and its
 * standard deviation over the folds, then the best cell.
 * examples/lua/grid_search.lua prints the same.
 *
 *   grid_search [--master URL] [--folds K] CSV
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "points.h"

static em_val field(em_val m, const char *k)
{
    for (uint32_t i = 0; i < m.len; i++)
        if (em_val_eq(m.u.map[2 * i], em_cstr(k)))
            return m.u.map[2 * i + 1];
    return em_nil();
}

/* Prints a cell's parameters as name=value,... (names in order). */
static void print_params(em_val params)
{
    for (uint32_t i = 0; i < params.len; i++)
        printf("%s%.*s=%g", i > 0 ? "," : "", (int)params.u.map[2 * i].len,
               params.u.map[2 * i].u.s, params.u.map[2 * i + 1].u.f);
}

/* The grid {step: [0.01, 0.1, 1], regParam: [0, 0.01, 0.1]} and the
 * trainer's fixed options, in a. */
static void make_grid(em_arena *a, em_val *grid, em_val *base)
{
    static const double steps[3] = {0.01, 0.1, 1}, regs[3] = {0, 0.01, 0.1};
    em_val kv[10], *s = em_array_make(a, 3, &kv[1]),
                   *r = em_array_make(a, 3, &kv[3]);

    for (int i = 0; i < 3; i++) {
        s[i] = em_float(steps[i]);
        r[i] = em_float(regs[i]);
    }
    kv[0] = em_cstr("step");
    kv[2] = em_cstr("regParam");
    em_map_make(a, kv, 2, grid);
    kv[0] = em_cstr("mode");
    kv[1] = em_cstr("averaging");
    kv[2] = em_cstr("iterations");
    kv[3] = em_int(5);
    kv[4] = em_cstr("regType");
    kv[5] = em_cstr("l2");
    kv[6] = em_cstr("intercept");
    kv[7] = em_bool(true);
    kv[8] = em_cstr("loss");
    kv[9] = em_cstr("logistic");
    em_map_make(a, kv, 5, base);
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_grid_opts go = {.folds = 5};
    em_ml_load_opts lo = {.label_col = -1, .skip_header = 1};
    const char *path = NULL;
    em_val raw, grid, base, res, params, mean, sd;
    em_arena *a;
    em_ctx *ctx;
    int rc = 1;

    for (int i = 1; i < argc; i++)
        if (i + 1 < argc && strcmp(argv[i], "--master") == 0)
            conf.master = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--folds") == 0)
            go.folds = atoi(argv[++i]);
        else if (path == NULL && argv[i][0] != '-')
            path = argv[i];
        else
            path = NULL, i = argc;
    if (path == NULL) {
        fprintf(stderr, "usage: grid_search [--master URL] [--folds K] "
                "CSV\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "grid_search: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    if (ex_load_points(ctx, path, &lo, a, &raw) != EM_OK)
        goto out;
    ex_standardize(raw.u.arr, raw.len);
    make_grid(a, &grid, &base);
    if (em_ml_grid_search(em_ctx_parallelize(ctx, raw.u.arr, raw.len, 4),
                          em_fn_of(em_linear_train_op, base), grid, &go, a,
                          &res) != EM_OK)
        goto out;
    params = field(res, "params");
    mean = field(res, "mean_test_score");
    sd = field(res, "std_test_score");
    printf("folds\t%d\n", go.folds);
    for (uint32_t c = 0; c < params.len; c++) {
        print_params(params.u.arr[c]);
        printf("\t%.4f\t%.4f\n", mean.u.vec[c], sd.u.vec[c]);
    }
    printf("best\t");
    print_params(field(res, "best_params"));
    printf("\t%.4f\n", field(res, "best_score").u.f);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "grid_search: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
