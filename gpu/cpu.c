/* The CPU path of gpu/gpu.h: each operation's loop around the per-element
 * functions of kernels_common.h, in the order of the operators' own code,
 * and the same as a backend of one stand-in device for the tests of the
 * device path (gpu.c's fake device). docs/gpu.md.
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "kernels_common.h"
#include "runtime/err.h"
#include "runtime/mem.h"

void em__gpu_cpu_kmeans(const double *x, size_t n, size_t d, const double *c,
                        size_t k, double *acc)
{
    for (size_t i = 0; i < n; i++) {
        const double *row = x + i * d;
        double dist, *sum;
        size_t j = em__gk_nearest(row, c, k, d, &dist);
        acc[j] += 1;
        acc[k + k * d] += dist;
        sum = acc + k + j * d;
        for (size_t t = 0; t < d; t++)
            sum[t] += row[t];
    }
}

void em__gpu_cpu_logistic(const double *x, const double *y, size_t n,
                          size_t d, const double *w, bool has_intercept,
                          double *grad, double *loss)
{
    for (size_t i = 0; i < n; i++) {
        const double *row = x + i * d;
        double m = em__gk_dot(w, row, d) + (has_intercept ? w[d] : 0), coef;
        *loss += em__gk_logistic_loss(m, y[i]);
        coef = em__gk_logistic_coef(m, y[i]);
        for (size_t j = 0; j < d; j++)
            grad[j] += coef * row[j];
        if (has_intercept)
            grad[d] += coef;
    }
}

void em__gpu_cpu_signs(const double *x, size_t n, size_t d,
                       const double *planes, int bits, uint8_t *sigs)
{
    int nb = (bits + 7) / 8;

    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < nb; b++)
            sigs[i * (size_t)nb + (size_t)b] =
                em__gk_sign_byte(x + i * d, planes, d, bits, b);
}

void em__gpu_cpu_gemm(bool is_ta, bool is_tb, size_t m, size_t n, size_t k,
                      const double *a, const double *b, double *c)
{
    /* i, l, j: the order of the autodiff tape's matmul */
    for (size_t i = 0; i < m; i++)
        for (size_t l = 0; l < k; l++) {
            double p = em__gk_at(a, is_ta, m, k, i, l);
            for (size_t j = 0; j < n; j++)
                c[i * n + j] += p * em__gk_at(b, is_tb, k, n, l, j);
        }
}

/* ---- the stand-in device ---- */

/* Its state: the staged rows, read in place. */
typedef struct fake_dev {
    const double *rows;  /* n rows of d, then n labels */
    size_t n, d;
} fake_dev;

static int fake_count(void)
{
    return 1;
}

static em_status fake_info(int dev, em_gpu_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "CPU stand-in");
    return EM_OK;
}

static em_status fake_open(int dev, void **out)
{
    fake_dev *f = em__mem_calloc(1, sizeof(*f));

    if (f == NULL)
        return EM_ENOMEM;
    *out = f;
    return EM_OK;
}

static void fake_close(void *dev)
{
    em__mem_free(dev, sizeof(fake_dev));
}

static void *fake_host_alloc(size_t bytes)
{
    return em__mem_alloc(bytes);
}

static void fake_host_free(void *p, size_t bytes)
{
    em__mem_free(p, bytes);
}

static em_status fake_upload(void *dev, const double *rows, size_t n,
                             size_t d)
{
    fake_dev *f = dev;

    f->rows = rows;
    f->n = n;
    f->d = d;
    return EM_OK;
}

static em_status fake_kmeans(void *dev, const double *c, size_t k,
                             double *acc)
{
    fake_dev *f = dev;

    em__gpu_cpu_kmeans(f->rows, f->n, f->d, c, k, acc);
    return EM_OK;
}

static em_status fake_logistic(void *dev, const double *w,
                               bool has_intercept, double *grad,
                               double *loss)
{
    fake_dev *f = dev;

    em__gpu_cpu_logistic(f->rows, f->rows + f->n * f->d, f->n, f->d, w,
                         has_intercept, grad, loss);
    return EM_OK;
}

static em_status fake_signs(void *dev, const double *planes, int bits,
                            uint8_t *sigs)
{
    fake_dev *f = dev;

    em__gpu_cpu_signs(f->rows, f->n, f->d, planes, bits, sigs);
    return EM_OK;
}

static em_status fake_gemm(void *dev, bool is_ta, bool is_tb, size_t m,
                           size_t n, size_t k, const double *a,
                           const double *b, double *c)
{
    em__gpu_cpu_gemm(is_ta, is_tb, m, n, k, a, b, c);
    return EM_OK;
}

const em__gpu_backend em__gpu_cpu_backend = {
    "CPU stand-in", fake_count, fake_info, fake_open, fake_close,
    fake_host_alloc, fake_host_free, fake_upload, fake_kmeans,
    fake_logistic, fake_signs, fake_gemm,
};
