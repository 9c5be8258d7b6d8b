/* Naive Bayes training throughput: the records of fortune(6)-format files
 * (one label per file, as examples/naive_bayes_text) tokenized with the
 * ASCII tokenizer, hashed (HashingTF) and trained with em_nb_train, timed
 * from the cached file contents to the model: record splitting,
 * tokenization, hashing and training, all inside the job. Prints one line
 * per run: "seconds<TAB>records". bench/text/run-naive-bayes.sh builds and
 * runs it next to scikit-learn.
 *
 *   nb_bench [--master URL] [--features N] [--lambda L] [--runs R] DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "ember/ml.h"
#include "fortunes.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* (path, content) -> the points of its records; env: [sorted paths,
 * features], the label the path's index */
static em_status file_points(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr, paths = env->u.arr[0];
    double label = -1;

    for (uint32_t k = 0; k < paths.len; k++)
        if (em_val_eq(paths.u.arr[k], p[0]))
            label = k;
    return ex_fortune_points(t, p[1], label, EX_ALL, env->u.arr[1].u.i, out);
}

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    int64_t features = 1 << 16, records = 0;
    double lambda = 1.0;
    int i, runs = 5, rc = 1;
    em_val paths, env[2];
    em_rdd *files, *pts;
    em_arena *a;
    em_ctx *ctx;

    for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--master") == 0)
            conf.master = argv[i + 1];
        else if (strcmp(argv[i], "--features") == 0)
            features = strtoll(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--lambda") == 0)
            lambda = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else
            break;
    }
    if (argc - i != 1) {
        fprintf(stderr, "usage: nb_bench [--master URL] [--features N] "
                        "[--lambda L] [--runs R] DIR\n");
        return 2;
    }
    conf.progress = -1;
    if ((ctx = em_ctx_create(&conf)) == NULL ||
        (a = em_arena_create()) == NULL) {
        fprintf(stderr, "nb_bench: %s\n", em_last_error());
        return 1;
    }
    /* as many partitions as files: whole files are the unit of work */
    files = em_ctx_whole_text_files(ctx, argv[i], 0);
    if (files == NULL || em_rdd_cache(files) != EM_OK ||
        em_rdd_collect(em_rdd_keys(files), a, &paths) != EM_OK)
        goto fail;
    qsort((void *)paths.u.arr, paths.len, sizeof(em_val), val_qcmp);
    env[0] = paths;
    env[1] = em_int(features);
    pts = em_rdd_flat_map(files, em_fn_of(file_points, em_array(env, 2)));
    if (em_rdd_count(pts, &records) != EM_OK) /* also warms the cache */
        goto fail;
    for (int r = 0; r < runs; r++) {
        em_arena *ma = em_arena_create();
        em_val model;
        double t0 = now(), dt;
        if (ma == NULL || em_nb_train(pts, lambda, ma, &model) != EM_OK) {
            em_arena_destroy(ma);
            goto fail;
        }
        dt = now() - t0;
        printf("%.6f\t%lld\n", dt, (long long)records);
        em_arena_destroy(ma);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "nb_bench: %s\n", em_last_error());
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
