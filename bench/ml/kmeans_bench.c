/* k-means iteration time: the digits (features only) replicated to --rows
 * points, parallelized, cached and counted, then timed runs of
 * em_kmeans_train from the centres of CENTERS (epsilon -1: no early stop)
 * with 1 and with 1 + --iters Lloyd iterations; the difference over
 * --iters is the time of one iteration without the per-call overhead.
 * After a warm-up, prints per run "one<TAB>seconds", "many<TAB>seconds"
 * and "iter<TAB>seconds", then "cost1" and "costmany", the cost
 * (computeCost) of the centres after 1 and 1 + --iters iterations.
 *
 *   kmeans_bench --master local[2] --rows 1000000 --runs 5 --iters 10 \
 *       --centers CENTERS digits.csv
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "ember/ml.h"

#define DIM 64

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads rows of at least `cols` comma-separated numbers; keeps the first
 * `cols` of each. Returns the row count, rows in *out (malloc'd). */
static size_t read_csv(const char *path, size_t cols, double **out)
{
    FILE *f = fopen(path, "r");
    char line[16384];
    size_t n = 0, cap = 0;
    double *x = NULL;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *end;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            x = realloc(x, cap * cols * sizeof(double));
        }
        for (size_t j = 0; j < cols; j++) {
            x[n * cols + j] = strtod(p, &end);
            p = *end == ',' ? end + 1 : end;
        }
        n++;
    }
    fclose(f);
    *out = x;
    return n;
}

static int train(em_rdd *rdd, em_val centers, int iters, em_arena *a,
                 em_val *model)
{
    em_kmeans_opts o = {.max_iterations = iters, .initial_centers = centers,
                        .epsilon = -1};

    if (em_kmeans_train(rdd, 10, &o, a, model) != EM_OK) {
        fprintf(stderr, "kmeans_bench: %s\n", em_last_error());
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *master = "local[2]", *path = NULL, *cpath = NULL;
    long rows = 1000000, runs = 5, iters = 10;
    em_conf conf = {0};
    double *digits, *ctr;
    size_t nd, nc;
    em_val *pts, *cv, centers, model;
    em_arena *a;
    em_ctx *ctx;
    em_rdd *rdd;
    int64_t n;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            master = argv[++i];
        else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = atol(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atol(argv[++i]);
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atol(argv[++i]);
        else if (strcmp(argv[i], "--centers") == 0 && i + 1 < argc)
            cpath = argv[++i];
        else
            path = argv[i];
    }
    conf.master = master;
    conf.progress = -1;
    if (path == NULL || cpath == NULL || iters < 1 ||
        (nd = read_csv(path, DIM, &digits)) == 0 ||
        (nc = read_csv(cpath, DIM, &ctr)) != 10 ||
        (ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "usage: kmeans_bench [--master M] [--rows N] "
                "[--runs R] [--iters I] --centers CENTERS(10 rows) "
                "digits.csv\n");
        return 2;
    }
    a = em_arena_create();
    cv = em_array_make(a, nc, &centers);
    for (size_t j = 0; j < nc; j++)
        memcpy(em_vec_make(a, DIM, &cv[j]), ctr + j * DIM,
               DIM * sizeof(double));
    /* the 1,797 distinct vectors; parallelize deep-copies every point */
    pts = malloc((size_t)rows * sizeof(em_val));
    for (size_t i = 0; i < nd; i++)
        memcpy(em_vec_make(a, DIM, &pts[i]), digits + i * DIM,
               DIM * sizeof(double));
    for (long i = (long)nd; i < rows; i++)
        pts[i] = pts[i % (long)nd];
    rdd = em_ctx_parallelize(ctx, pts, (size_t)rows,
                             em_ctx_default_parallelism(ctx));
    free(pts);
    if (em_rdd_cache(rdd) != EM_OK || em_rdd_count(rdd, &n) != EM_OK) {
        fprintf(stderr, "kmeans_bench: %s\n", em_last_error());
        return 1;
    }
    for (long r = 0; r < runs + 1; r++) {
        em_arena *m = em_arena_create();
        double t0 = now(), t1, t2;
        if (train(rdd, centers, 1, m, &model) != 0)
            return 1;
        t1 = now();
        if (train(rdd, centers, 1 + (int)iters, m, &model) != 0)
            return 1;
        t2 = now();
        if (r > 0) /* the first round is a warm-up */
            printf("one\t%.4f\nmany\t%.4f\niter\t%.5f\n", t1 - t0, t2 - t1,
                   ((t2 - t1) - (t1 - t0)) / (double)iters);
        em_arena_destroy(m);
    }
    for (int it = 1; it <= 1 + iters; it += (int)iters) {
        em_arena *m = em_arena_create();
        double cost;
        if (train(rdd, centers, it, m, &model) != 0 ||
            em_kmeans_compute_cost(model, rdd, &cost) != EM_OK)
            return 1;
        printf("%s\t%.17g\n", it == 1 ? "cost1" : "costmany", cost);
        em_arena_destroy(m);
    }
    free(digits);
    free(ctr);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return 0;
}
