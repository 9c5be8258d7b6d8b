/* Time to a fixed training loss for every mode of logistic regression:
 * the breast cancer set (standardized), or with --libsvm DIM sparse points
 * of LIBSVM text (bench/ml/fortunes_libsvm.py: hashed fortunes), replicated
 * to --rows rows (0: as read), cached, in as many partitions as the
 * context has task slots. For each mode the
 * smallest number of iterations from a ladder (1, 2, 3, 5, 8, 13, 20, 30,
 * 50, 80, 130, 200) whose model has a mean training loss (the logistic
 * loss over every point, computed here from the model) at or below
 * --target is found, then --runs trainings of that many iterations are
 * timed. All modes take the same options: adagrad, step 0.5 constant, an
 * intercept, no regularization, ps mini-batches of 16. Prints
 * "mode<TAB>iterations<TAB>loss<TAB>seconds" per timed run, or
 * "mode<TAB>-<TAB>LOSS at K<TAB>-" when the ladder does not reach it
 * (its last K iterations, 200 or the first training over --cap seconds,
 * default 60).
 *
 *   modes_bench --master local[2] --rows 20000 --runs 3 --target 0.08 CSV
 *   modes_bench --master local[2] --rows 0 --libsvm 262144 FILE
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "ember/ml.h"
#include "ember/ml_linear.h"

static const char *const modes[] = {"batch", "averaging", "ipm",
                                    "hogwild", "allreduce", "ps"};
static const int ladder[] = {1, 2, 3, 5, 8, 13, 20, 30, 50, 80, 130, 200};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The mean logistic loss of the model over the n distinct points. */
static double mean_loss(em_val model, const em_val *pts, uint32_t n)
{
    double s = 0, m;

    for (uint32_t i = 0; i < n; i++) {
        double y = pts[i].u.arr[0].u.f;
        em_linear_margin(model, pts[i].u.arr[1], &m);
        s += log1p(exp(-fabs(m))) + fmax(m, 0) - y * m;
    }
    return s / n;
}

/* Trains in mode for k iterations: the loss into *loss, the seconds into
 * *secs. */
static em_status train(em_rdd *rdd, int mode, int k, em_val raw,
                       double *loss, double *secs)
{
    em_linear_opts o = {.iterations = k, .step = 0.5, .intercept = true,
                        .optimizer = EM_OPTIM_ADAGRAD,
                        .schedule = EM_SCHEDULE_CONSTANT,
                        .convergence_tol = -1, .batch_size = 16,
                        .mode = (em_linear_mode)mode};
    em_arena *m = em_arena_create();
    em_val model;
    double t0 = now();
    em_status st = em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, m, &model);

    *secs = now() - t0;
    if (st == EM_OK)
        *loss = mean_loss(model, raw.u.arr, raw.len);
    em_arena_destroy(m);
    return st;
}

/* Standardizes every feature of the points to mean 0 and deviation 1. */
static void standardize(em_val raw)
{
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
}

/* One mode: the ladder, then the timed runs. The ladder stops at a
 * training that took more than cap seconds. */
static em_status bench_mode(em_rdd *rdd, int mode, em_val raw, double target,
                            long runs, double cap)
{
    double loss = INFINITY, secs = 0;
    size_t at = 0, nl = sizeof(ladder) / sizeof(ladder[0]);
    em_status st;

    for (; at < nl && secs <= cap; at++) {
        if ((st = train(rdd, mode, ladder[at], raw, &loss, &secs)) != EM_OK)
            return st;
        if (loss <= target)
            break;
    }
    if (at == nl || loss > target) {
        printf("%s\t-\t%.4f at %d\t-\n", modes[mode], loss,
               ladder[at - 1]);
        return EM_OK;
    }
    for (long r = 0; r < runs; r++) {
        if ((st = train(rdd, mode, ladder[at], raw, &loss, &secs)) != EM_OK)
            return st;
        printf("%s\t%d\t%.4f\t%.4f\n", modes[mode], ladder[at], loss, secs);
        fflush(stdout);
    }
    return EM_OK;
}

/* The distinct points of path into *raw: CSV (standardized), or LIBSVM
 * of dim features when dim > 0. */
static em_status load(em_ctx *ctx, const char *path, int64_t dim,
                      em_arena *a, em_val *raw)
{
    em_ml_load_opts lo = {.label_col = -1, .skip_header = 1,
                          .num_features = dim};
    em_rdd *lines = em_ctx_text_file(ctx, path, 1);
    em_status st = em_rdd_collect(dim > 0 ? em_ml_load_libsvm(lines, &lo)
                                          : em_ml_load_csv(lines, &lo),
                                  a, raw);

    if (st == EM_OK && dim == 0)
        standardize(*raw);
    return st;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long rows = 20000, runs = 3;
    int64_t dim = 0;
    double target = 0.08, cap = 60;
    em_conf conf = {.progress = -1};
    em_val raw, *pts;
    em_arena *a;
    em_ctx *ctx;
    em_rdd *rdd;
    int64_t n;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            conf.master = argv[++i];
        else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = atol(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atol(argv[++i]);
        else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc)
            target = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--cap") == 0 && i + 1 < argc)
            cap = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--libsvm") == 0 && i + 1 < argc)
            dim = atoll(argv[++i]);
        else
            path = argv[i];
    }
    if (path == NULL || (ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "usage: modes_bench [--master M] [--rows N] "
                "[--runs R] [--target LOSS] [--cap S] [--libsvm DIM] "
                "FILE\n");
        return 2;
    }
    a = em_arena_create();
    if (load(ctx, path, dim, a, &raw) != EM_OK) {
        fprintf(stderr, "modes_bench: %s\n", em_last_error());
        return 1;
    }
    if (rows <= 0)
        rows = raw.len;
    pts = malloc((size_t)rows * sizeof(em_val));
    for (long i = 0; i < rows; i++)
        pts[i] = raw.u.arr[i % raw.len];
    rdd = em_ctx_parallelize(ctx, pts, (size_t)rows,
                             em_ctx_default_parallelism(ctx));
    free(pts);
    em_rdd_cache(rdd);
    em_rdd_count(rdd, &n);
    for (int mode = 0; mode <= EM_LINEAR_PS; mode++)
        if (bench_mode(rdd, mode, raw, target, runs, cap) != EM_OK) {
            fprintf(stderr, "modes_bench: %s: %s\n", modes[mode],
                    em_last_error());
            return 1;
        }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return 0;
}
