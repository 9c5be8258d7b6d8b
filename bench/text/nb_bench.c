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

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct points {
    em_task *t;
    int64_t features;
    double label;
    em_val *out; /* growing array of points */
    size_t n, cap;
} points;

/* Adds the labelled point of the record s[0..n). */
static em_status add_point(points *ps, const char *s, size_t n)
{
    em_arena *a = em_task_arena(ps->t);
    em_val toks, f;
    em_status st;

    if ((st = em_text_words(s, n, EM_TOKENIZER_ASCII, a, &toks, NULL)) !=
            EM_OK ||
        (st = em_hashing_tf_transform(ps->features, 0, toks, a, &f)) != EM_OK)
        return st;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 256;
        em_val *grown = em_arena_alloc(a, cap * sizeof(em_val));
        if (grown == NULL)
            return EM_ENOMEM;
        if (ps->n > 0)
            memcpy(grown, ps->out, ps->n * sizeof(em_val));
        ps->out = grown;
        ps->cap = cap;
    }
    return em_ml_labeled_point(a, ps->label, f, &ps->out[ps->n++]);
}

/* (path, content) -> the points of its records; env: [sorted paths,
 * features]. A record ends at a line holding exactly "%". */
static em_status file_points(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr, paths = env->u.arr[0];
    const char *s = p[1].u.s;
    size_t n = p[1].len, start = 0, i = 0;
    points ps = {t, env->u.arr[1].u.i, -1, NULL, 0, 0};
    em_status st = EM_OK;

    for (uint32_t k = 0; k < paths.len; k++)
        if (em_val_eq(paths.u.arr[k], p[0]))
            ps.label = k;
    while (i <= n && st == EM_OK) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        if (e == n || (e - i == 1 && s[i] == '%')) {
            size_t end = e == n ? n : i;
            if (end > start)
                st = add_point(&ps, s + start, end - start);
            start = e + 1;
        }
        i = e + 1;
    }
    *out = em_array(ps.out, ps.n);
    return st;
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
