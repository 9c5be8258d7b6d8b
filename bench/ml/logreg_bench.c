/* Logistic regression epoch time: the breast cancer set (standardized)
 * replicated to --rows rows, cached in memory, then timed epochs of
 * em_linear_train with one iteration: batch mode (one gradient pass,
 * broadcast + treeReduce) and averaging mode (one epoch of per-point SGD
 * per partition, then the average). Prints "mode<TAB>seconds" per run.
 *
 *   logreg_bench --master local[2] --rows 1000000 --runs 5 breast_cancer.csv
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "ember/ml.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *master = "local[2]", *path = NULL;
    long rows = 1000000, runs = 5;
    em_ml_load_opts lo = {.label_col = -1, .skip_header = 1};
    em_conf conf = {0};
    em_ctx *ctx;
    em_arena *a;
    em_val raw, *pts;
    em_rdd *rdd;
    int64_t n;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            master = argv[++i];
        else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = atol(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atol(argv[++i]);
        else
            path = argv[i];
    }
    conf.master = master;
    conf.progress = -1;
    if (path == NULL || (ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "usage: logreg_bench [--master M] [--rows N] "
                "[--runs R] breast_cancer.csv\n");
        return 2;
    }
    a = em_arena_create();
    if (em_rdd_collect(em_ml_load_csv(em_ctx_text_file(ctx, path, 1), &lo),
                       a, &raw) != EM_OK) {
        fprintf(stderr, "logreg_bench: %s\n", em_last_error());
        return 1;
    }
    for (uint32_t j = 0; j < raw.u.arr[0].u.arr[1].len; j++) {
        double mean = 0, var = 0;
        for (uint32_t i = 0; i < raw.len; i++)
            mean += raw.u.arr[i].u.arr[1].u.vec[j] / raw.len;
        for (uint32_t i = 0; i < raw.len; i++) {
            double x = raw.u.arr[i].u.arr[1].u.vec[j] - mean;
            var += x * x / raw.len;
        }
        for (uint32_t i = 0; i < raw.len; i++) {
            double *x = (double *)raw.u.arr[i].u.arr[1].u.vec;
            x[j] = (x[j] - mean) / sqrt(var);
        }
    }
    pts = malloc((size_t)rows * sizeof(em_val));
    for (long i = 0; i < rows; i++)
        pts[i] = raw.u.arr[i % raw.len];
    rdd = em_ctx_parallelize(ctx, pts, (size_t)rows,
                             em_ctx_default_parallelism(ctx));
    free(pts);
    em_rdd_cache(rdd);
    em_rdd_count(rdd, &n);
    for (int mode = 0; mode <= EM_LINEAR_AVERAGING; mode++)
        for (long r = 0; r < runs + 1; r++) {
            em_linear_opts o = {.iterations = 1, .step = 0.01,
                                .intercept = true,
                                .mode = (em_linear_mode)mode};
            em_arena *m = em_arena_create();
            em_val model;
            double t0 = now();
            if (em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, m, &model) !=
                EM_OK) {
                fprintf(stderr, "logreg_bench: %s\n", em_last_error());
                return 1;
            }
            /* the first run of each mode is a warm-up */
            if (r > 0)
                printf("%s\t%.4f\n", mode == 0 ? "batch" : "averaging",
                       now() - t0);
            em_arena_destroy(m);
        }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return 0;
}
