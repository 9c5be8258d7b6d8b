/* A driver program for the worker pool's integration tests: each mode is a
 * job whose answer is printed, so a test can compare the pool's answer
 * with local mode's, or a failure mode whose error is printed.
 *
 *   pool_job [--master URL] MODE [ARG]
 *
 * Modes:
 *   iter N       a cached RDD of N ints read by five jobs (sums printed)
 *   join N       a join and cogroup of two keyed RDDs (sorted pairs)
 *   shared N     a broadcast read by every task and an accumulator
 *   slow N MS    word-like counts of N records, each map task sleeping MS
 *                milliseconds first (for killing processes mid-stage)
 *   slow2 N MS   the same counts, but the reduce side sleeps MS per task
 *                (for killing processes while reduce tasks read)
 *   replicated N DIR  an RDD of N ints persisted at MEMORY_ONLY_2, counted;
 *                then DIR/ready is made and the job waits for DIR/go
 *                before counting again; prints how many records the map
 *                function saw in all (N when nothing was recomputed)
 *   cancel       a job of slow tasks canceled (em_ctx_cancel) after 1 s
 *                from another thread; prints how it ended, then runs a
 *                small job on the same context
 *   crash        a user function that segfaults on one record
 *   exit         a user function that calls exit(3) on one record
 *   fail         a user function that fails (an error, not a crash)
 *   empty N      N empty tasks; prints the count and the tasks per second
 *   tiny R       parallelize(1..10).count() R times; prints the median
 *                latency in microseconds
 *
 * Exit status: 0 when the job succeeded, 1 when it failed (the message is
 * printed on stderr), 2 for bad usage.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ember.h"

static em_status times_k(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_int(args[0].u.i * env->u.i);
    return EM_OK;
}

static em_status mod_pair(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), em_int(args[0].u.i % env->u.i),
                        em_int(args[0].u.i), out);
}

static em_status plus_bcast(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    em_val b;
    em_status st = em_task_broadcast(t, env->u.arr[0], &b);

    if (st != EM_OK)
        return st;
    st = em_task_accum_add(t, env->u.arr[1], em_int(1));
    *out = em_int(args[0].u.i + b.u.arr[args[0].u.i % b.len].u.i);
    return st;
}

/* Sleeps env milliseconds once per partition (on its first record). */
static em_status slow_parts(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    struct timespec ts = {env->u.i / 1000, (env->u.i % 1000) * 1000000};
    em_val *items = em_array_make(em_task_arena(t), args[0].len, out);

    nanosleep(&ts, NULL);
    if (items == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < args[0].len; i++) {
        em_status st = em_pair_make(em_task_arena(t),
                                    em_int(args[0].u.arr[i].u.i % 101),
                                    em_int(1), &items[i]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

/* Sleeps env milliseconds, then passes the partition through. */
static em_status sleep_pass(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    struct timespec ts = {env->u.i / 1000, (env->u.i % 1000) * 1000000};

    nanosleep(&ts, NULL);
    *out = args[0];
    return EM_OK;
}

/* x -> x, counting calls in the accumulator (env) */
static em_status counted(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = args[0];
    return em_task_accum_add(t, *env, em_int(1));
}

static em_status misbehave(em_task *t, const em_val *env,
                           const em_val *args, size_t nargs, em_val *out)
{
    if (args[0].u.i == 7) {
        if (env->u.i == 0)
            raise(SIGSEGV);
        if (env->u.i == 1)
            exit(3);
        return em_task_fail(t, "record 7 is refused");
    }
    *out = args[0];
    return EM_OK;
}

static em_status nothing(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_array(NULL, 0);
    return EM_OK;
}

static int cmp_vals(const void *a, const void *b)
{
    return em_val_cmp(*(const em_val *)a, *(const em_val *)b);
}

static void print_sorted(em_val v)
{
    char buf[256];

    qsort((void *)v.u.arr, v.len, sizeof(em_val), cmp_vals);
    for (uint32_t i = 0; i < v.len; i++) {
        em_val_format(v.u.arr[i], buf, sizeof(buf));
        printf("%s\n", buf);
    }
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static const char *sync_dir; /* replicated: DIR */

static void *cancel_soon(void *arg)
{
    sleep(1);
    em_ctx_cancel(arg);
    return NULL;
}

static em_status run(em_ctx *ctx, const char *mode, int64_t n, int64_t ms,
                     em_arena *a)
{
    em_status st = EM_OK;
    em_val v;
    int64_t count;

    if (strcmp(mode, "iter") == 0) {
        em_rdd *c = em_rdd_map(em_ctx_range(ctx, 0, n, 1, 6),
                               em_fn_of(times_k, em_int(3)));
        em_rdd_cache(c);
        for (int k = 1; k <= 5 && st == EM_OK; k++) {
            st = em_rdd_sum(em_rdd_map(c, em_fn_of(times_k, em_int(k))), &v);
            if (st == EM_OK)
                printf("iteration %d: %lld\n", k, (long long)v.u.i);
        }
    } else if (strcmp(mode, "join") == 0) {
        em_rdd *x = em_rdd_map(em_ctx_range(ctx, 0, n, 1, 4),
                               em_fn_of(mod_pair, em_int(17)));
        em_rdd *y = em_rdd_map(em_ctx_range(ctx, 0, n / 2, 3, 3),
                               em_fn_of(mod_pair, em_int(13)));
        em_rdd *both[2] = {x, y};
        st = em_rdd_collect(em_rdd_join(x, y, 5), a, &v);
        if (st == EM_OK) {
            printf("join: %u pairs\n", v.len);
            print_sorted(v);
        }
        if (st == EM_OK &&
            (st = em_rdd_count(em_rdd_cogroup(both, 2, 3), &count)) == EM_OK)
            printf("cogroup: %lld keys\n", (long long)count);
    } else if (strcmp(mode, "shared") == 0) {
        em_val items[5] = {em_int(10), em_int(20), em_int(30), em_int(40),
                           em_int(50)}, env[2];
        em_broadcast *b = em_ctx_broadcast(ctx, em_array(items, 5));
        em_accum *acc = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0),
                                           em_nil(), EM_FN_NONE);
        env[0] = em_broadcast_ref(b);
        env[1] = em_accum_ref(acc);
        st = em_rdd_sum(em_rdd_map(em_ctx_range(ctx, 0, n, 1, 5),
                                   em_fn_of(plus_bcast, em_array(env, 2))),
                        &v);
        if (st == EM_OK)
            printf("sum: %lld\n", (long long)v.u.i);
        if (st == EM_OK && (st = em_accum_value(acc, a, &v)) == EM_OK)
            printf("records seen: %lld\n", (long long)v.u.i);
    } else if (strcmp(mode, "slow") == 0) {
        em_rdd *r = em_rdd_map_partitions(em_ctx_range(ctx, 0, n, 1, 8),
                                          em_fn_of(slow_parts, em_int(ms)));
        st = em_rdd_collect(em_rdd_reduce_by_key(r, EM_FN(em_op_add), 4), a,
                            &v);
        if (st == EM_OK)
            print_sorted(v);
    } else if (strcmp(mode, "slow2") == 0) {
        em_rdd *r = em_rdd_map(em_ctx_range(ctx, 0, n, 1, 8),
                               em_fn_of(mod_pair, em_int(101)));
        em_rdd *red = em_rdd_reduce_by_key(r, EM_FN(em_op_add), 4);
        st = em_rdd_collect(em_rdd_map_partitions(
                                red, em_fn_of(sleep_pass, em_int(ms))),
                            a, &v);
        if (st == EM_OK)
            print_sorted(v);
    } else if (strcmp(mode, "replicated") == 0) {
        em_accum *acc = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0),
                                           em_nil(), EM_FN_NONE);
        em_rdd *r = em_rdd_map(em_ctx_range(ctx, 0, n, 1, 6),
                               em_fn_of(counted, em_accum_ref(acc)));
        char path[4096];
        FILE *f;
        em_rdd_persist(r, EM_MEMORY_ONLY_2);
        if ((st = em_rdd_count(r, &count)) != EM_OK)
            return st;
        printf("first count: %lld\n", (long long)count);
        fflush(stdout);
        snprintf(path, sizeof(path), "%s/ready", sync_dir ? sync_dir : ".");
        if ((f = fopen(path, "w")) != NULL)
            fclose(f);
        snprintf(path, sizeof(path), "%s/go", sync_dir ? sync_dir : ".");
        for (int i = 0; i < 600 && access(path, F_OK) != 0; i++)
            usleep(100000);
        if ((st = em_rdd_count(r, &count)) != EM_OK)
            return st;
        printf("second count: %lld\n", (long long)count);
        if ((st = em_accum_value(acc, a, &v)) == EM_OK)
            printf("records computed: %lld\n", (long long)v.u.i);
    } else if (strcmp(mode, "cancel") == 0) {
        pthread_t th;
        int64_t t0 = now_us();
        em_rdd *r = em_rdd_map_partitions(em_ctx_range(ctx, 0, 4000, 1, 8),
                                          em_fn_of(slow_parts, em_int(3000)));
        pthread_create(&th, NULL, cancel_soon, ctx);
        st = em_rdd_count(r, &count);
        pthread_join(th, NULL);
        printf("first job: %s after %s than 2.5 s\n", em_status_name(st),
               now_us() - t0 < 2500000 ? "less" : "more");
        st = em_rdd_count(em_ctx_range(ctx, 0, 100, 1, 4), &count);
        if (st == EM_OK)
            printf("next job: %lld\n", (long long)count);
    } else if (strcmp(mode, "crash") == 0 || strcmp(mode, "exit") == 0 ||
               strcmp(mode, "fail") == 0) {
        int how = mode[0] == 'c' ? 0 : mode[0] == 'e' ? 1 : 2;
        st = em_rdd_collect(em_rdd_map(em_ctx_range(ctx, 0, 20, 1, 4),
                                       em_fn_of(misbehave, em_int(how))),
                            a, &v);
        if (st == EM_OK)
            printf("%u records\n", v.len);
    } else if (strcmp(mode, "empty") == 0) {
        int64_t t0 = now_us();
        st = em_rdd_count(em_rdd_map_partitions(
                              em_ctx_range(ctx, 0, n, 1, (int)n),
                              EM_FN(nothing)),
                          &count);
        if (st == EM_OK)
            printf("%lld tasks, %.0f tasks/s\n", (long long)n,
                   (double)n * 1e6 / (double)(now_us() - t0 + 1));
    } else if (strcmp(mode, "tiny") == 0) {
        int64_t *lat = calloc((size_t)n, sizeof(int64_t));
        em_val ten[10];
        for (int i = 0; i < 10; i++)
            ten[i] = em_int(i + 1);
        for (int64_t i = 0; i < n && st == EM_OK; i++) {
            int64_t t0 = now_us();
            st = em_rdd_count(em_ctx_parallelize(ctx, ten, 10, 0), &count);
            lat[i] = now_us() - t0;
        }
        if (st == EM_OK) {
            qsort(lat, (size_t)n, sizeof(int64_t), cmp_i64);
            printf("count %lld, median latency %lld us\n", (long long)count,
                   (long long)lat[n / 2]);
        }
        free(lat);
    } else {
        return EM_EINVAL;
    }
    return st;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    int i = 1;
    em_ctx *ctx;
    em_arena *a;
    em_status st;

    if (argc > 2 && strcmp(argv[1], "--master") == 0) {
        conf.master = argv[2];
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: pool_job [--master URL] MODE [ARG]\n");
        return 2;
    }
    conf.progress = -1;
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "pool_job: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    if (strcmp(argv[i], "replicated") == 0 && i + 2 < argc)
        sync_dir = argv[i + 2];
    st = run(ctx, argv[i], i + 1 < argc ? atoll(argv[i + 1]) : 1000,
             i + 2 < argc ? atoll(argv[i + 2]) : 0, a);
    if (st == EM_EINVAL && em_last_error()[0] == '\0')
        fprintf(stderr, "pool_job: unknown mode %s\n", argv[i]);
    else if (st != EM_OK)
        fprintf(stderr, "pool_job: %s\n", em_last_error());
    fflush(stdout);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return st == EM_OK ? 0 : 1;
}
