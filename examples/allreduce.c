/* allreduce: synchronous data-parallel gradient descent in a barrier
 * stage, as Horovod does it. Every task holds a share of the points of
 * y = 2 x1 - 3 x2 + 1 and a full copy of the model; each step it computes
 * its share's gradient of the squared error and the tasks allReduce the
 * sums (ring or tree), so that every copy takes the same step. Prints the
 * weights, whether every task ended with the same ones, and the bytes a
 * task sent. docs/collectives.md.
 *
 *   allreduce [--master URL] [--partitions N] [--steps N]
 *             [--algorithm ring|tree]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember/barrier.h"

#define NPOINTS 1000

/* Point i: [x1, x2, y] on the plane y = 2 x1 - 3 x2 + 1. */
static void point(int i, double p[3])
{
    p[0] = (i % 7 - 3) / 5.0;
    p[1] = ((i * 3) % 11 - 5) / 5.0;
    p[2] = 2 * p[0] - 3 * p[1] + 1;
}

/* The task: env [steps, algorithm]; records: point indices. Returns
 * [[w1, w2, b, bytes sent]]. */
static em_status train(em_task *t, const em_val *env, const em_val *args,
                       size_t nargs, em_val *out)
{
    em_barrier *b = em_task_barrier(t);
    em_arena *a = em_task_arena(t);
    em_val recs = args[0], sum, *row, *one;
    em_barrier_stats stats;
    double w[3] = {0, 0, 0}, *g;
    em_status st;

    (void)nargs;
    for (int64_t step = 0; step < env->u.arr[0].u.i; step++) {
        if ((g = em_vec_make(a, 4, &sum)) == NULL)
            return EM_ENOMEM;
        memset(g, 0, 4 * sizeof(double)); /* gradient sums, then count */
        for (uint32_t i = 0; i < recs.len; i++) {
            double p[3], err;
            point((int)recs.u.arr[i].u.i, p);
            err = w[0] * p[0] + w[1] * p[1] + w[2] - p[2];
            g[0] += err * p[0];
            g[1] += err * p[1];
            g[2] += err;
            g[3] += 1;
        }
        st = em_barrier_all_reduce(b, sum, EM_REDUCE_SUM,
                                   (em_allreduce_algo)env->u.arr[1].u.i, a,
                                   &sum);
        if (st != EM_OK)
            return st;
        for (int j = 0; j < 3; j++)
            w[j] -= 0.5 * sum.u.vec[j] / sum.u.vec[3];
    }
    em_barrier_stats_get(b, &stats);
    if ((one = em_array_make(a, 1, out)) == NULL ||
        (row = em_array_make(a, 4, &one[0])) == NULL)
        return EM_ENOMEM;
    for (int j = 0; j < 3; j++)
        row[j] = em_float(w[j]);
    row[3] = em_int((int64_t)stats.bytes);
    return EM_OK;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_val env[2], rows, ids[NPOINTS];
    int parts = 0, steps = 200;
    bool is_tree = false, is_same = true;
    em_ctx *ctx;
    em_arena *a;
    em_rdd *r;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--master") == 0)
            conf.master = argv[i + 1];
        else if (strcmp(argv[i], "--partitions") == 0)
            parts = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--steps") == 0)
            steps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--algorithm") == 0)
            is_tree = strcmp(argv[i + 1], "tree") == 0;
        else {
            fprintf(stderr, "usage: allreduce [--master URL] [--partitions "
                    "N] [--steps N] [--algorithm ring|tree]\n");
            return 2;
        }
    }
    if ((ctx = em_ctx_create(&conf)) == NULL ||
        (a = em_arena_create()) == NULL) {
        fprintf(stderr, "allreduce: %s\n", em_last_error());
        return 1;
    }
    for (int i = 0; i < NPOINTS; i++)
        ids[i] = em_int(i);
    env[0] = em_int(steps);
    env[1] = em_int(is_tree ? EM_ALLREDUCE_TREE : EM_ALLREDUCE_RING);
    r = em_rdd_barrier_map_partitions(
        em_ctx_parallelize(ctx, ids, NPOINTS,
                           parts > 0 ? parts
                                     : em_ctx_default_parallelism(ctx)),
        em_fn_of(train, em_array(env, 2)));
    if (r == NULL || em_rdd_collect(r, a, &rows) != EM_OK) {
        fprintf(stderr, "allreduce: %s\n", em_last_error());
        em_ctx_destroy(ctx);
        return 1;
    }
    for (uint32_t i = 1; i < rows.len; i++)
        for (int j = 0; j < 3; j++)
            is_same = is_same && rows.u.arr[i].u.arr[j].u.f ==
                                     rows.u.arr[0].u.arr[j].u.f;
    printf("weights %.6f %.6f bias %.6f\n", rows.u.arr[0].u.arr[0].u.f,
           rows.u.arr[0].u.arr[1].u.f, rows.u.arr[0].u.arr[2].u.f);
    printf("tasks %u, the same model in each: %s\n", rows.len,
           is_same ? "yes" : "no");
    printf("bytes sent by task 0: %lld\n",
           (long long)rows.u.arr[0].u.arr[3].u.i);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return is_same ? 0 : 1;
}
