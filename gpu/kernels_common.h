/* The per-element arithmetic of the GPU operators, compiled for the host
 * (gpu/cpu.c, the CPU path) and for the device (gpu/cuda/kernels.cu), so
 * that the CPU tests run the very arithmetic the kernels run. Each
 * function is the existing operator's formula, in its order of
 * summation. docs/gpu.md, "What runs on the GPU".
 */
#ifndef EMBER_GPU_KERNELS_COMMON_H
#define EMBER_GPU_KERNELS_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define EM_GPU_FN __host__ __device__ static inline
#else
#define EM_GPU_FN static inline
#endif

/* The squared distance of the rows x and c of d values. */
EM_GPU_FN double em__gk_sq_dist(const double *x, const double *c, size_t d)
{
    /* Four running sums, element i into sum i % 4, added pairwise at the
     * end: independent chains the CPU pipelines (and the compiler may
     * vectorize), where one sum waits on every add. k-means's sq_dist
     * (ops/ml/kmeans.c) adds in this order too. */
    double s[4] = {0, 0, 0, 0};
    size_t i = 0;

    for (; i + 4 <= d; i += 4)
        for (size_t l = 0; l < 4; l++) {
            double t = x[i + l] - c[i + l];
            s[l] += t * t;
        }
    for (; i < d; i++) {
        double t = x[i] - c[i];
        s[i % 4] += t * t;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* The index of the centre (k rows of d values at c) nearest to x, the
 * first on ties, as k-means's nearest(); its squared distance in *dist. */
EM_GPU_FN size_t em__gk_nearest(const double *x, const double *c, size_t k,
                                size_t d, double *dist)
{
    size_t best = 0;
    double bd = INFINITY;

    for (size_t j = 0; j < k; j++) {
        double s = em__gk_sq_dist(x, c + j * d, d);
        if (s < bd) {
            bd = s;
            best = j;
        }
    }
    *dist = bd;
    return best;
}

/* w . x over d values, in index order. */
EM_GPU_FN double em__gk_dot(const double *w, const double *x, size_t d)
{
    double s = 0;

    for (size_t j = 0; j < d; j++)
        s += w[j] * x[j];
    return s;
}

/* The logistic loss log(1 + e^m) - y m of margin m and label y, without
 * overflow. */
EM_GPU_FN double em__gk_logistic_loss(double m, double y)
{
    return log1p(exp(-fabs(m))) + fmax(m, 0.0) - y * m;
}

/* The derivative of the logistic loss in m: the factor of the point's
 * features in the gradient. */
EM_GPU_FN double em__gk_logistic_coef(double m, double y)
{
    return 1 / (1 + exp(-m)) - y;
}

/* Byte b of the signature of the row x of d values: bit t is set when x's
 * projection on plane 8b + t (row 8b + t of planes, d values each) is
 * >= 0; bits from `bits` on stay clear. */
EM_GPU_FN uint8_t em__gk_sign_byte(const double *x, const double *planes,
                                   size_t d, int bits, int b)
{
    uint8_t byte = 0;

    for (int t = 0; t < 8 && 8 * b + t < bits; t++)
        if (em__gk_dot(x, planes + (size_t)(8 * b + t) * d, d) >= 0)
            byte |= (uint8_t)(1u << t);
    return byte;
}

/* Element (i, j) of the row-major matrix a of `rows` x `cols` values, or
 * of its transpose when is_t (a then holds cols x rows). */
EM_GPU_FN double em__gk_at(const double *a, int is_t, size_t rows,
                           size_t cols, size_t i, size_t j)
{
    return is_t ? a[j * rows + i] : a[i * cols + j];
}

#endif /* EMBER_GPU_KERNELS_COMMON_H */
