/* The backends behind gpu/gpu.h: the CPU path (cpu.c), always built, and
 * CUDA (gpu/cuda/) when the toolkit was found. gpu.c picks one, stages
 * the rows and falls back to the CPU path when a device operation fails.
 * Internal to gpu/ and its tests.
 */
#ifndef EMBER_GPU_BACKEND_H
#define EMBER_GPU_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/gpu.h"
#include "ember/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A device backend. Each operation writes its outputs only when it
 * succeeds, so that a failed one can be rerun on the CPU path; failures
 * return a status with em_last_error set. */
typedef struct em__gpu_backend {
    const char *build;                   /* "CUDA 13.0" */
    int (*count)(void);                  /* devices seen */
    em_status (*info)(int dev, em_gpu_info *out);
    em_status (*open)(int dev, void **out);
    void (*close)(void *dev);
    void *(*host_alloc)(size_t bytes);   /* staging; NULL: no memory */
    void (*host_free)(void *p, size_t bytes);
    /* moves the n rows of d and their n labels to the device */
    em_status (*upload)(void *dev, const double *rows, size_t n, size_t d);
    em_status (*kmeans)(void *dev, const double *c, size_t k, double *acc);
    em_status (*logistic)(void *dev, const double *w, bool has_intercept,
                          double *grad, double *loss);
    em_status (*signs)(void *dev, const double *planes, int bits,
                       uint8_t *sigs);
    em_status (*gemm)(void *dev, bool is_ta, bool is_tb, size_t m, size_t n,
                      size_t k, const double *a, const double *b, double *c);
} em__gpu_backend;

/* The CPU path as a backend of one stand-in device (the test hook). */
extern const em__gpu_backend em__gpu_cpu_backend;

/* The CPU path on host arrays, as gpu.h describes each operation; x holds
 * n rows of d values, y their n labels. */
void em__gpu_cpu_kmeans(const double *x, size_t n, size_t d, const double *c,
                        size_t k, double *acc);
void em__gpu_cpu_logistic(const double *x, const double *y, size_t n,
                          size_t d, const double *w, bool has_intercept,
                          double *grad, double *loss);
void em__gpu_cpu_signs(const double *x, size_t n, size_t d,
                       const double *planes, int bits, uint8_t *sigs);
void em__gpu_cpu_gemm(bool is_ta, bool is_tb, size_t m, size_t n, size_t k,
                      const double *a, const double *b, double *c);

#ifdef EMBER_CUDA
/* The CUDA backend (cuda/backend.cu). */
extern const em__gpu_backend em__gpu_cuda_backend;
static inline const em__gpu_backend *em__gpu_cuda(void)
{
    return &em__gpu_cuda_backend;
}
#else
static inline const em__gpu_backend *em__gpu_cuda(void)
{
    return NULL;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* EMBER_GPU_BACKEND_H */
