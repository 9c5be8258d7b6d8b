/* kmeans: k-means (em_kmeans_train) on the rows of a CSV file, each row
 * the features then a label that is ignored (scikit-learn's digits.csv:
 * 64 pixels and the digit). Prints the cost of the final centres
 * (computeCost), the iterations run, and the centres.
 *
 *   kmeans [--master URL] [--partitions N] [--k K] [--iterations N]
 *          [--init random|k-means||] [--centers CSV] [--seed S]
 *          [--epsilon E] CSV
 *
 * --centers gives the first centres (k rows of features only); epsilon
 * below 0 iterates until no centre moves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml.h"

/* "x1,...,xd,label" -> vec of d (env: true to keep the last column) */
static em_status parse_row(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    char buf[8192], *p = buf, *end;
    double x[1024], *v;
    size_t n = 0;

    if (args[0].len >= sizeof(buf))
        return em_task_fail(t, "kmeans: a line over %zu bytes", sizeof(buf));
    memcpy(buf, args[0].u.s, args[0].len);
    buf[args[0].len] = '\0';
    while (*p != '\0' && n < 1024) {
        x[n++] = strtod(p, &end);
        if (end == p)
            return em_task_fail(t, "kmeans: not a number in '%s'", buf);
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0' && *end != '\r')
            return em_task_fail(t, "kmeans: bad field in '%s'", buf);
        if (*end == '\r')
            break;
    }
    if (!env->u.b)
        n--;
    if ((v = em_vec_make(em_task_arena(t), n, out)) == NULL)
        return EM_ENOMEM;
    memcpy(v, x, n * sizeof(double));
    return EM_OK;
}

/* The rows of a centres file as an array of vecs, in a. */
static em_status read_centers(em_ctx *ctx, const char *path, em_arena *a,
                              em_val *out)
{
    return em_rdd_collect(em_rdd_map(em_ctx_text_file(ctx, path, 1),
                                     em_fn_of(parse_row, em_bool(true))),
                          a, out);
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_kmeans_opts o = {0};
    const char *path = NULL, *centers = NULL;
    long parts = 0, k = 10;
    em_val model, c;
    em_arena *a;
    em_ctx *ctx;
    em_rdd *pts;
    double cost;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 < argc && strcmp(opt, "--master") == 0)
            conf.master = argv[++i];
        else if (i + 1 < argc && strcmp(opt, "--partitions") == 0)
            parts = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(opt, "--k") == 0)
            k = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(opt, "--iterations") == 0)
            o.max_iterations = (int)strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(opt, "--init") == 0)
            o.init_mode = strcmp(argv[++i], "random") == 0
                              ? EM_KMEANS_RANDOM : EM_KMEANS_PARALLEL;
        else if (i + 1 < argc && strcmp(opt, "--centers") == 0)
            centers = argv[++i];
        else if (i + 1 < argc && strcmp(opt, "--seed") == 0)
            o.seed = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(opt, "--epsilon") == 0)
            o.epsilon = strtod(argv[++i], NULL);
        else if (path == NULL && opt[0] != '-')
            path = opt;
        else
            path = NULL, i = argc;
    }
    if (path == NULL) {
        fprintf(stderr, "usage: kmeans [--master URL] [--partitions N] [--k "
                        "K] [--iterations N] [--init random|k-means||] "
                        "[--centers CSV] [--seed S] [--epsilon E] CSV\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "kmeans: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    if (centers != NULL &&
        read_centers(ctx, centers, a, &o.initial_centers) != EM_OK)
        goto out;
    pts = em_rdd_map(em_ctx_text_file(ctx, path, (int)parts),
                     em_fn_of(parse_row, em_bool(false)));
    if (em_rdd_cache(pts) != EM_OK ||
        em_kmeans_train(pts, (int)k, &o, a, &model) != EM_OK ||
        em_kmeans_compute_cost(model, pts, &cost) != EM_OK ||
        em_kmeans_model_centers(model, &c) != EM_OK)
        goto out;
    printf("cost\t%.17g\n", cost);
    for (uint32_t i = 0; i < model.len; i++)
        if (em_val_eq(model.u.map[2 * i], em_cstr("numIter")))
            printf("iterations\t%lld\n",
                   (long long)model.u.map[2 * i + 1].u.i);
    for (uint32_t j = 0; j < c.len; j++) {
        printf("center %u\t", j);
        for (uint32_t i = 0; i < c.u.arr[j].len; i++)
            printf("%s%.6f", i ? "," : "", c.u.arr[j].u.vec[i]);
        printf("\n");
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "kmeans: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
