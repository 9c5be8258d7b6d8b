/* The C API doing what bench/lua/bench.lua does with native functions:
 * the baseline for "native operators by name run at the speed of the C
 * API". Built by bench/lua/run.sh against build-release/libember.a:
 *   native MASTER N RUNS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ember.h>

static em_status times2(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = em_int(args[0].u.i * 2);
    return EM_OK;
}

static em_status div3(em_task *t, const em_val *env, const em_val *args,
                      size_t nargs, em_val *out)
{
    *out = em_bool(args[0].u.i % 3 == 0);
    return EM_OK;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_ctx *ctx;
    int64_t n, runs, p;
    const char *names[] = {"range count (no function)", "C map x*2, count",
                           "C filter x%3==0, count",
                           "reduce(em_op_add)"};

    if (argc != 4)
        return fprintf(stderr, "usage: native MASTER N RUNS\n"), 2;
    conf.master = argv[1];
    conf.progress = -1;
    n = atoll(argv[2]);
    runs = atoll(argv[3]);
    ctx = em_ctx_create(&conf);
    if (ctx == NULL)
        return fprintf(stderr, "%s\n", em_last_error()), 1;
    p = em_ctx_default_parallelism(ctx);
    for (int c = 0; c < 4; c++) {
        double best = 1e30;
        for (int64_t r = 0; r < runs; r++) {
            em_rdd *rdd = em_ctx_range(ctx, 0, n, 1, (int)p);
            em_arena *a = em_arena_create();
            int64_t cnt = 0;
            em_val v;
            double t0 = now();
            em_status st = EM_OK;
            if (c == 1)
                rdd = em_rdd_map(rdd, EM_FN(times2));
            if (c == 2)
                rdd = em_rdd_filter(rdd, EM_FN(div3));
            if (c == 3)
                st = em_rdd_reduce(rdd, EM_FN(em_op_add), a, &v);
            else
                st = em_rdd_count(rdd, &cnt);
            if (st != EM_OK)
                return fprintf(stderr, "%s\n", em_last_error()), 1;
            if (now() - t0 < best)
                best = now() - t0;
            em_arena_destroy(a);
        }
        printf("%s\t%s\t%.3f\t%.1f\n", argv[1], names[c], best,
               (double)n / best / 1e6);
    }
    em_ctx_destroy(ctx);
    return 0;
}
