/* bench_gpu: one k-means E-step (k centres of D dimensions) and one
 * logistic regression epoch (a full-batch gradient) over N random points,
 * through gpu/gpu.h as the operators call it: on the GPU when the process
 * has one, else on the CPU path split over T threads (the local[T]
 * executor's tasks). Prints the median wall time of R runs of each.
 * run-gpu.sh builds and runs it; docs/gpu.md has the results.
 *
 *   bench_gpu [N [K [D [T [R]]]]]   defaults 1000000 100 64 2 3
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "gpu/backend.h"
#include "gpu/gpu.h"

static size_t n = 1000000, k = 100, d = 64;
static int threads = 2;
static double *x, *c, *w;      /* points (then labels), centres, weights */

typedef struct slice {
    size_t lo, hi;              /* rows */
    bool is_kmeans;
    double *acc;                /* k-means sums or gradient, then loss */
} slice;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *run_slice(void *arg)
{
    slice *s = arg;
    size_t m = s->hi - s->lo;
    const double *rows = x + s->lo * d, *y = x + n * d + s->lo;

    if (s->is_kmeans)
        em__gpu_cpu_kmeans(rows, m, d, c, k, s->acc);
    else
        em__gpu_cpu_logistic(rows, y, m, d, w, true, s->acc,
                             s->acc + d + 1);
    return NULL;
}

/* One operation on the CPU path over the threads; the sums are merged as
 * treeReduce would. */
static void run_cpu(bool is_kmeans, size_t nacc)
{
    pthread_t tid[64];
    slice s[64];

    for (int i = 0; i < threads; i++) {
        s[i].lo = n * (size_t)i / (size_t)threads;
        s[i].hi = n * (size_t)(i + 1) / (size_t)threads;
        s[i].is_kmeans = is_kmeans;
        s[i].acc = calloc(nacc, sizeof(double));
        pthread_create(&tid[i], NULL, run_slice, &s[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        free(s[i].acc);
    }
}

/* One operation on the device: staging included, as a task pays it. */
static void run_gpu(em__gpu *g, bool is_kmeans, size_t nacc)
{
    double *rows = em__gpu_rows(g, n, d), *acc = calloc(nacc, sizeof(double));

    memcpy(rows, x, (n * d + n) * sizeof(double));
    if (is_kmeans)
        em__gpu_kmeans(g, c, k, acc);
    else
        em__gpu_logistic(g, w, true, acc, acc + d + 1);
    free(acc);
}

static int cmp_double(const void *a, const void *b)
{
    double p = *(const double *)a, q = *(const double *)b;

    return (p > q) - (p < q);
}

static double median_time(em__gpu *g, bool is_kmeans, int runs)
{
    double t[32];
    size_t nacc = is_kmeans ? k + k * d + 1 : d + 2;

    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        if (g != NULL)
            run_gpu(g, is_kmeans, nacc);
        else
            run_cpu(is_kmeans, nacc);
        t[r] = now_s() - t0;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    return t[runs / 2];
}

int main(int argc, char **argv)
{
    int runs = 3;
    uint64_t s = 42;
    em__gpu *g;

    if (argc > 1) n = strtoull(argv[1], NULL, 10);
    if (argc > 2) k = strtoull(argv[2], NULL, 10);
    if (argc > 3) d = strtoull(argv[3], NULL, 10);
    if (argc > 4) threads = atoi(argv[4]);
    if (argc > 5) runs = atoi(argv[5]);
    if (n < 1 || k < 1 || d < 1 || threads < 1 || threads > 64 ||
        runs < 1 || runs > 32) {
        fprintf(stderr, "usage: bench_gpu [N [K [D [T [R]]]]]\n");
        return 2;
    }
    x = malloc((n * d + n) * sizeof(double));
    c = malloc(k * d * sizeof(double));
    w = malloc((d + 1) * sizeof(double));
    if (x == NULL || c == NULL || w == NULL) {
        fprintf(stderr, "bench_gpu: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n * d + n; i++) { /* splitmix64 in [-1, 1) */
        uint64_t z = (s += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        x[i] = (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-52 - 1.0;
    }
    for (size_t i = 0; i < n; i++)
        x[n * d + i] = x[i * d] > 0; /* labels */
    memcpy(c, x, k * d * sizeof(double));
    memset(w, 0, (d + 1) * sizeof(double));
    g = em__gpu_open(true);
    printf("path\t%s\npoints\t%zu\nk\t%zu\ndims\t%zu\nthreads\t%d\n",
           g != NULL ? "gpu" : "cpu", n, k, d, g != NULL ? 1 : threads);
    printf("kmeans_estep_s\t%.3f\n", median_time(g, true, runs));
    printf("logreg_epoch_s\t%.3f\n", median_time(g, false, runs));
    em__gpu_close(g);
    return 0;
}
