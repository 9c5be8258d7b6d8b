/* als: matrix factorization of a ratings file (lines "user,item,rating"
 * with more fields ignored, such as MovieLens's timestamp; user and item
 * integers) by alternating least squares (em_als_train) or DSGD
 * (em_dsgd_train). Every fifth line (the 5th, 10th, ...) is held out; the
 * program prints the numbers of training and held-out ratings, the
 * held-out ratings it could not score (user or item unseen in training)
 * and the RMSE on both sets.
 *
 *   als [--master URL] [--partitions N] [--rank R] [--iterations N]
 *       [--lambda L] [--seed S] [--dsgd] [--step S] CSV
 *
 * --partitions is ALS's blocks or DSGD's d.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml.h"

/* ("user,item,rating,...", index) -> [index mod 5 == 4, [user, item,
 * rating]] */
static em_status parse_line(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    em_val line = args[0].u.arr[0], rec, *r, *p;
    char buf[256], *end;
    long long user, item = 0;
    double rating;

    if (line.len >= sizeof(buf))
        return em_task_fail(t, "als: a line over %zu bytes", sizeof(buf));
    memcpy(buf, line.u.s, line.len);
    buf[line.len] = '\0';
    user = strtoll(buf, &end, 10);
    if (*end == ',')
        item = strtoll(end + 1, &end, 10);
    if (*end != ',')
        return em_task_fail(t, "als: not user,item,rating: '%s'", buf);
    rating = strtod(end + 1, &end);
    if (*end != ',' && *end != '\0' && *end != '\r')
        return em_task_fail(t, "als: not a rating: '%s'", buf);
    if ((r = em_array_make(em_task_arena(t), 3, &rec)) == NULL ||
        (p = em_array_make(em_task_arena(t), 2, out)) == NULL)
        return EM_ENOMEM;
    r[0] = em_int(user);
    r[1] = em_int(item);
    r[2] = em_float(rating);
    p[0] = em_bool(args[0].u.arr[1].u.i % 5 == 4);
    p[1] = rec;
    return EM_OK;
}

/* [held out?, rating] -> whether it is in the set env (a bool) names */
static em_status in_set(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = em_bool(args[0].u.arr[0].u.b == env->u.b);
    return EM_OK;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_als_opts ao = {0};
    em_dsgd_opts dopts = {0};
    bool dsgd = false;
    int rank = 10, parts = 0;
    const char *path = NULL;
    em_ctx *ctx;
    em_arena *a;
    em_rdd *all, *sets[2];
    em_val model;
    int64_t n[2], skipped;
    double rmse[2];
    em_status st;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--dsgd") == 0) {
            dsgd = true;
            continue;
        }
        if (v == NULL && argv[i][0] == '-')
            goto usage;
        if (strcmp(argv[i], "--master") == 0)
            conf.master = v;
        else if (strcmp(argv[i], "--partitions") == 0)
            parts = atoi(v);
        else if (strcmp(argv[i], "--rank") == 0)
            rank = atoi(v);
        else if (strcmp(argv[i], "--iterations") == 0)
            ao.iterations = dopts.iterations = atoi(v);
        else if (strcmp(argv[i], "--lambda") == 0)
            ao.lambda = dopts.lambda = atof(v);
        else if (strcmp(argv[i], "--seed") == 0)
            ao.seed = dopts.seed = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--step") == 0)
            dopts.step = atof(v);
        else if (argv[i][0] != '-' && path == NULL) {
            path = argv[i];
            continue;
        } else
            goto usage;
        i++;
    }
    if (path == NULL)
        goto usage;
    ao.blocks = dopts.d = parts;
    conf.progress = -1;
    if ((ctx = em_ctx_create(&conf)) == NULL || (a = em_arena_create()) == NULL) {
        fprintf(stderr, "als: %s\n", em_last_error());
        return 1;
    }
    all = em_rdd_map(em_rdd_zip_with_index(em_ctx_text_file(ctx, path, 0)),
                     EM_FN(parse_line));
    st = all == NULL ? EM_ENOMEM : em_rdd_cache(all);
    for (int s = 0; s < 2 && st == EM_OK; s++) {
        sets[s] = em_rdd_values(em_rdd_filter(all, em_fn_of(in_set,
                                                            em_bool(s))));
        st = sets[s] == NULL ? EM_ENOMEM : em_rdd_cache(sets[s]);
        if (st == EM_OK)
            st = em_rdd_count(sets[s], &n[s]);
    }
    if (st == EM_OK)
        st = dsgd ? em_dsgd_train(sets[0], rank, &dopts, a, &model)
                  : em_als_train(sets[0], rank, &ao, a, &model);
    if (st == EM_OK)
        st = em_mf_rmse(model, sets[0], &rmse[0], NULL);
    if (st == EM_OK)
        st = em_mf_rmse(model, sets[1], &rmse[1], &skipped);
    if (st != EM_OK) {
        fprintf(stderr, "als: %s\n", em_last_error());
        return 1;
    }
    printf("train\t%lld\nheld_out\t%lld\nunscored\t%lld\n", (long long)n[0],
           (long long)n[1], (long long)skipped);
    printf("train_rmse\t%.6f\nheld_out_rmse\t%.6f\n", rmse[0], rmse[1]);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return 0;
usage:
    fprintf(stderr, "usage: als [--master URL] [--partitions N] [--rank R] "
            "[--iterations N] [--lambda L] [--seed S] [--dsgd] [--step S] "
            "CSV\n");
    return 2;
}
