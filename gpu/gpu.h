/* The device-neutral interface of the GPU operators: a task opens a device
 * context, fills its host buffer with the partition's dense rows (pinned
 * memory on CUDA), and runs operations on them; the rows move to the
 * device once, at the first operation, and stay for the task's stage.
 * Every operation runs on the CPU path (gpu/cpu.c, the same arithmetic)
 * when the device fails, after one logged warning for the task: callers
 * never see a device error. docs/gpu.md.
 */
#ifndef EMBER_GPU_GPU_H
#define EMBER_GPU_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember.h"
#include "ember/gpu.h"

/* A task's device context (gpu.c). Used by one thread at a time. */
typedef struct em__gpu em__gpu;

/* Opens a device context when is_on (the driver's ember.gpu, carried in
 * the task's environment) and this process has a device for its tasks:
 * $EMBER_GPU_DEVICE when the worker set it ("none": no device), else
 * device 0. Returns NULL for the CPU path: when off, without a device
 * (logging that once per process), or when the device cannot be opened
 * (logged). Close with em__gpu_close. */
em__gpu *em__gpu_open(bool is_on);

/* Frees the context and its device and host buffers. Accepts NULL. */
void em__gpu_close(em__gpu *g);

/* The host buffer for n rows of d values followed by n labels (row i at
 * i * d, label i at n * d + i), replacing the previous rows; valid until
 * the next call or the close. NULL when out of memory (EM_ENOMEM set). */
double *em__gpu_rows(em__gpu *g, size_t n, size_t d);

/* The E-step of k-means on the rows against the centres c (k rows of d):
 * adds, to acc laid out as [count of each centre (k), sum of each
 * centre's rows (k * d), summed squared distance (1)], each row's
 * nearest centre (the first on ties). */
void em__gpu_kmeans(em__gpu *g, const double *c, size_t k, double *acc);

/* The squared distance of x to c over d values, added as the k-means
 * kernels add it: the E-step's arithmetic for callers on the CPU. */
double em__gpu_sq_dist(const double *x, const double *c, size_t d);

/* The logistic loss and gradient over the rows with their 0/1 labels and
 * the weights w (d values, then the intercept when has_intercept): adds
 * the summed loss to *loss and the summed gradient to grad (as w). */
void em__gpu_logistic(em__gpu *g, const double *w, bool has_intercept,
                      double *grad, double *loss);

/* The signatures of the rows: bit i (byte i / 8, bit i % 8) of row r's
 * ceil(bits / 8) bytes at sigs + r * ceil(bits / 8) is set when the row's
 * projection on row i of planes (bits rows of d) is >= 0. */
void em__gpu_signs(em__gpu *g, const double *planes, int bits,
                   uint8_t *sigs);

/* c (m x n) += op(a) op(b), row-major, op(a) m x k and op(b) k x n; op
 * transposes when is_ta / is_tb (a is then stored k x m, b n x k). g may
 * be NULL: the CPU path. Independent of the rows. */
void em__gpu_gemm(em__gpu *g, bool is_ta, bool is_tb, size_t m, size_t n,
                  size_t k, const double *a, const double *b, double *c);

/* Test hooks (tests only; not thread-safe against running tasks). */

/* When on, the CPU path stands in for one device, so that the device
 * path, its staging and its fallback run on a machine without a GPU. */
void em__gpu_test_fake_device(bool is_on);

/* The next n device operations fail as if out of device memory. */
void em__gpu_test_fail(int n);

/* Forgets that the missing device was logged, so it is logged again. */
void em__gpu_test_reset(void);

#endif /* EMBER_GPU_GPU_H */
