/* A driver program for the barrier stages' pool tests
 * (test_barrier_pool.sh) and the collectives' benchmark: each mode runs
 * a barrier stage whose tasks call the collectives, checks every task's
 * answer against a sequential computation in the driver, and prints what
 * it found.
 *
 *   barrier_job [--master URL] MODE ARGS
 *
 * Modes:
 *   reduce M K ALGO OP   allReduce (ALGO ring or tree, OP sum, mean, max
 *                        or min) of a K-element vector per task over M
 *                        tasks; prints "agree M" when every task has the
 *                        reference, then "task P elements E bytes B" and
 *                        the ring's bound 2(M-1)K/M
 *   sparse M K ALGO      the same for sparse vectors of dimension K (sum)
 *   gather M             allGather of each task's partition squared, after
 *                        a barrier; prints "gather M" when right
 *   fail M K             reduce (ring, sum) where task 1 fails in the
 *                        stage's first attempt; prints "agree M" and each
 *                        task's attempt
 *   kill M K DIR         reduce (ring, sum) where task 1 of the first
 *                        attempt writes its process id to DIR/pid and
 *                        waits there (to be killed) while the others wait
 *                        in the allreduce; prints as fail
 *   time M K ALGO R      R allReduce calls (sum) of K elements in one
 *                        stage; prints "seconds S" (the median over the
 *                        tasks of their per-call median) and "bytes B"
 *                        (the most any task sent per call)
 *
 * Exit status: 0 when the job succeeded and every answer was right, 1
 * otherwise (the message on stderr), 2 for bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ember.h"
#include "ember/barrier.h"

enum { F_MODE, F_K, F_OP, F_ALGO, F_REPS, F_DIR, F_NFIELDS };
enum { M_REDUCE, M_SPARSE, M_GATHER, M_FAIL, M_KILL, M_TIME };

/* Task p's dense vector: small multiples of 1/4, so that every order of
 * summation is exact. */
static double dense_at(int p, size_t j)
{
    return (double)((p * 31 + (int)j * 17) % 13 - 6) + 0.25 * p;
}

static bool sparse_has(int p, size_t j)
{
    return ((int)j * 7 + p * 3) % 5 < 2;
}

static double sparse_at(int p, size_t j)
{
    return (double)(p + 1) + 0.5 * (double)j;
}

static em_status make_vec(em_arena *a, int p, size_t k, bool is_sparse,
                          em_val *out)
{
    uint32_t *idx;
    double *x, *val;
    size_t n = 0;

    if (!is_sparse) {
        if ((x = em_vec_make(a, k, out)) == NULL && k > 0)
            return EM_ENOMEM;
        for (size_t j = 0; j < k; j++)
            x[j] = dense_at(p, j);
        return EM_OK;
    }
    idx = em_arena_alloc(a, (k + 1) * sizeof(*idx));
    val = em_arena_alloc(a, (k + 1) * sizeof(*val));
    if (idx == NULL || val == NULL)
        return EM_ENOMEM;
    for (size_t j = 0; j < k; j++) {
        if (sparse_has(p, j)) {
            idx[n] = (uint32_t)j;
            val[n++] = sparse_at(p, j);
        }
    }
    return em_spvec_make(a, (int64_t)k, idx, val, n, out);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* In the first attempt, task 1 of a "kill" job writes its process id and
 * waits to be killed (at most a minute). */
static void wait_to_be_killed(const em_val *dir)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%.*s/pid", (int)dir->len, dir->u.s);
    if ((f = fopen(path, "w")) != NULL) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    for (int i = 0; i < 600; i++)
        usleep(100000);
}

/* R calls; the row gets the median seconds per call and bytes per call. */
static em_status time_calls(em_barrier *b, em_val v, const em_val *f,
                            em_arena *a, em_val *row)
{
    int reps = (int)f[F_REPS].u.i;
    double *secs = em_arena_alloc(a, (size_t)reps * sizeof(*secs));
    em_barrier_stats stats;
    em_val res;
    em_status st;

    if (secs == NULL)
        return EM_ENOMEM;
    for (int r = 0; r < reps; r++) {
        double t0;
        if ((st = em_barrier_sync(b)) != EM_OK)
            return st;
        t0 = now_s();
        st = em_barrier_all_reduce(b, v, EM_REDUCE_SUM,
                                   (em_allreduce_algo)f[F_ALGO].u.i, a, &res);
        if (st != EM_OK)
            return st;
        secs[r] = now_s() - t0;
    }
    qsort(secs, (size_t)reps, sizeof(*secs), cmp_double);
    em_barrier_stats_get(b, &stats);
    row[2] = em_float(secs[reps / 2]);
    row[3] = em_int((int64_t)(stats.bytes / (uint64_t)reps));
    return EM_OK;
}

/* Every mode's task: [[partition, attempt, answer, elements, bytes]]. */
static em_status task(em_task *t, const em_val *env, const em_val *args,
                      size_t nargs, em_val *out)
{
    em_barrier *b = em_task_barrier(t);
    const em_val *f = env->u.arr;
    em_arena *a = em_task_arena(t);
    int mode = (int)f[F_MODE].u.i, p;
    em_barrier_stats stats;
    em_val v, *one, *row;
    em_status st;

    (void)args;
    (void)nargs;
    if (b == NULL)
        return em_task_fail(t, "not in a barrier stage");
    p = em_barrier_partition(b);
    if ((one = em_array_make(a, 1, out)) == NULL ||
        (row = em_array_make(a, 5, &one[0])) == NULL)
        return EM_ENOMEM;
    row[0] = em_int(p);
    row[1] = em_int(em_task_attempt(t));
    if (p == 1 && em_task_attempt(t) == 0 && mode == M_FAIL)
        return em_task_fail(t, "task 1 fails in the first attempt");
    if (p == 1 && em_task_attempt(t) == 0 && mode == M_KILL)
        wait_to_be_killed(&f[F_DIR]);
    if (mode == M_GATHER) {
        if ((st = em_barrier_sync(b)) != EM_OK)
            return st;
        return em_barrier_all_gather(b, em_int((int64_t)p * p), a, &row[2]);
    }
    if ((st = make_vec(a, p, (size_t)f[F_K].u.i, mode == M_SPARSE, &v)))
        return st;
    if (mode == M_TIME)
        return time_calls(b, v, f, a, row);
    if ((st = em_barrier_all_reduce(b, v, (em_reduce_op)f[F_OP].u.i,
                                    (em_allreduce_algo)f[F_ALGO].u.i, a,
                                    &row[2])))
        return st;
    em_barrier_stats_get(b, &stats);
    row[3] = em_int((int64_t)stats.elements);
    row[4] = em_int((int64_t)stats.bytes);
    return EM_OK;
}

/* The sequential reduction of the tasks' element j. */
static double reference_at(int m, size_t j, int op, bool is_sparse)
{
    double acc = 0;

    for (int p = 0; p < m; p++) {
        double x = is_sparse ? (sparse_has(p, j) ? sparse_at(p, j) : 0)
                             : dense_at(p, j);
        if (p == 0 || op == EM_REDUCE_SUM || op == EM_REDUCE_MEAN)
            acc = p == 0 ? x : acc + x;
        else if (op == EM_REDUCE_MAX)
            acc = x > acc ? x : acc;
        else
            acc = x < acc ? x : acc;
    }
    return op == EM_REDUCE_MEAN ? acc / m : acc;
}

/* The answer's element j (a sparse answer's absent entries are 0). */
static double answer_at(em_val v, size_t j)
{
    if (v.type == EM_VEC)
        return v.u.vec[j];
    for (uint32_t i = 0; i < v.len; i++)
        if (v.u.sp->idx[i] == j)
            return v.u.sp->val[i];
    return 0;
}

static bool check_reduce(em_val rows, int m, size_t k, int op, int mode)
{
    bool is_sparse = mode == M_SPARSE;

    for (int p = 0; p < m; p++) {
        em_val ans = rows.u.arr[p].u.arr[2];
        if (ans.type != (is_sparse ? EM_SPVEC : EM_VEC) ||
            (!is_sparse && ans.len != k)) {
            fprintf(stderr, "task %d: a %s answer\n", p,
                    em_type_name((em_type)ans.type));
            return false;
        }
        for (size_t j = 0; j < k; j++) {
            if (answer_at(ans, j) != reference_at(m, j, op, is_sparse)) {
                fprintf(stderr, "task %d element %zu: %g, expected %g\n", p,
                        j, answer_at(ans, j),
                        reference_at(m, j, op, is_sparse));
                return false;
            }
        }
    }
    printf("agree %d\n", m);
    for (int p = 0; p < m; p++) {
        const em_val *row = rows.u.arr[p].u.arr;
        printf("task %d attempt %lld elements %lld bytes %lld\n", p,
               (long long)row[1].u.i, (long long)row[3].u.i,
               (long long)row[4].u.i);
    }
    printf("ring bound %.1f\n", 2.0 * (m - 1) * (double)k / m);
    return true;
}

static bool check_gather(em_val rows, int m)
{
    for (int p = 0; p < m; p++) {
        em_val g = rows.u.arr[p].u.arr[2];
        if (g.type != EM_ARRAY || g.len != (uint32_t)m)
            return false;
        for (int q = 0; q < m; q++)
            if (g.u.arr[q].type != EM_INT || g.u.arr[q].u.i != q * q)
                return false;
    }
    printf("gather %d\n", m);
    return true;
}

static void print_times(em_val rows, int m)
{
    double *secs = calloc((size_t)m, sizeof(*secs));
    int64_t bytes = 0;

    if (secs == NULL)
        return;
    for (int p = 0; p < m; p++) {
        const em_val *row = rows.u.arr[p].u.arr;
        secs[p] = row[2].u.f;
        bytes = row[3].u.i > bytes ? row[3].u.i : bytes;
    }
    qsort(secs, (size_t)m, sizeof(*secs), cmp_double);
    printf("seconds %.6f\nbytes %lld\n", secs[m / 2], (long long)bytes);
    free(secs);
}

static int mode_of(const char *s)
{
    static const char *const names[] = {"reduce", "sparse", "gather",
                                        "fail",   "kill",   "time"};

    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: barrier_job [--master URL] reduce M K ALGO OP | "
            "sparse M K ALGO | gather M | fail M K | kill M K DIR | "
            "time M K ALGO R\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const char *const ops[] = {"sum", "mean", "max", "min"};
    em_conf conf = {0};
    em_val env[F_NFIELDS], rows;
    em_ctx *ctx;
    em_arena *a;
    em_rdd *r;
    int mode, m, i = 1;
    bool is_ok;

    if (argc > 2 && strcmp(argv[1], "--master") == 0) {
        conf.master = argv[2];
        i = 3;
    }
    if (argc - i < 2 || (mode = mode_of(argv[i])) < 0 ||
        (m = atoi(argv[i + 1])) < 1)
        return usage();
    env[F_MODE] = em_int(mode);
    env[F_K] = em_int(argc - i > 2 ? atoll(argv[i + 2]) : 0);
    env[F_ALGO] = em_int(argc - i > 3 && strcmp(argv[i + 3], "tree") == 0);
    env[F_OP] = em_int(EM_REDUCE_SUM);
    for (int o = 0; o < 4 && mode == M_REDUCE && argc - i > 4; o++)
        if (strcmp(argv[i + 4], ops[o]) == 0)
            env[F_OP] = em_int(o);
    env[F_REPS] = em_int(mode == M_TIME && argc - i > 4 ? atoi(argv[i + 4])
                                                        : 1);
    env[F_DIR] = em_cstr(mode == M_KILL && argc - i > 3 ? argv[i + 3] : "");
    conf.progress = -1;
    if ((ctx = em_ctx_create(&conf)) == NULL || (a = em_arena_create()) == NULL) {
        fprintf(stderr, "barrier_job: %s\n", em_last_error());
        return 1;
    }
    r = em_rdd_barrier_map_partitions(
        em_ctx_range(ctx, 0, m, 1, m),
        em_fn_of(task, em_array(env, F_NFIELDS)));
    if (r == NULL || em_rdd_collect(r, a, &rows) != EM_OK) {
        fprintf(stderr, "barrier_job: %s\n", em_last_error());
        em_ctx_destroy(ctx);
        return 1;
    }
    is_ok = true;
    if (mode == M_GATHER)
        is_ok = check_gather(rows, m);
    else if (mode == M_TIME)
        print_times(rows, m);
    else
        is_ok = check_reduce(rows, m, (size_t)env[F_K].u.i,
                             (int)env[F_OP].u.i, mode);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return is_ok ? 0 : 1;
}
