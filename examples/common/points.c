/* The learning examples' shared handling of points (points.h). */
#include "points.h"

#include <math.h>

em_status ex_load_points(em_ctx *ctx, const char *path,
                         const em_ml_load_opts *lo, em_arena *a, em_val *pts)
{
    return em_rdd_collect(em_ml_load_csv(em_ctx_text_file(ctx, path, 0), lo),
                          a, pts);
}

void ex_standardize(const em_val *pts, uint32_t n)
{
    uint32_t d = n > 0 ? pts[0].u.arr[1].len : 0;

    for (uint32_t j = 0; j < d; j++) {
        double mean = 0, var = 0;
        for (uint32_t i = 0; i < n; i++)
            mean += pts[i].u.arr[1].u.vec[j];
        mean /= n;
        for (uint32_t i = 0; i < n; i++) {
            double x = pts[i].u.arr[1].u.vec[j] - mean;
            var += x * x;
        }
        var = sqrt(var / n);
        for (uint32_t i = 0; i < n; i++)
            ((double *)pts[i].u.arr[1].u.vec)[j] =
                (pts[i].u.arr[1].u.vec[j] - mean) / var;
    }
}

em_status ex_split(em_val pts, em_arena *a, em_val **sets, uint32_t *n)
{
    n[0] = n[1] = 0;
    sets[0] = em_arena_alloc(a, (pts.len + 1) * sizeof(em_val));
    sets[1] = em_arena_alloc(a, (pts.len + 1) * sizeof(em_val));
    if (sets[0] == NULL || sets[1] == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < pts.len; i++) {
        int s = i % 5 == 0;
        sets[s][n[s]++] = pts.u.arr[i];
    }
    return EM_OK;
}

double ex_accuracy(em_val model, const em_val *pts, uint32_t n,
                   em_status (*predict)(em_val, em_val, double *))
{
    uint32_t right = 0;
    double y;

    for (uint32_t i = 0; i < n; i++)
        if (predict(model, pts[i].u.arr[1], &y) == EM_OK &&
            y == pts[i].u.arr[0].u.f)
            right++;
    return n > 0 ? (double)right / n : 0;
}
