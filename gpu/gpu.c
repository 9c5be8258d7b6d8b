/* gpu/gpu.h: picks the device of a task, stages a partition's rows in the
 * backend's host buffer, runs each operation on the device and, when the
 * device fails, on the CPU path after one warning for the task. The
 * public device list (include/ember/gpu.h) lives here too. docs/gpu.md.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "gpu.h"
#include "kernels_common.h"
#include "runtime/err.h"
#include "runtime/log.h"
#include "runtime/mem.h"

struct em__gpu {
    const em__gpu_backend *be; /* the device's backend */
    void *dev;                 /* its state for this task */
    double *rows;              /* staging: n rows of d, n labels */
    size_t rows_bytes;         /* allocated at rows (be->host_alloc) */
    size_t n, d;
    bool is_loaded;            /* the rows are on the device */
    bool is_failed;            /* a device operation failed: the CPU path
                                  for the rest of the task */
};

/* The test hooks' state (gpu.h). */
static _Atomic(const em__gpu_backend *) fake_backend;
static atomic_int fails_left;
static atomic_bool is_missing_logged;

/* The backend of this process's devices, or NULL. */
static const em__gpu_backend *backend(void)
{
    const em__gpu_backend *b = atomic_load(&fake_backend);

    return b != NULL ? b : em__gpu_cuda();
}

const char *em_gpu_build(void)
{
    const em__gpu_backend *b = em__gpu_cuda();

    return b != NULL ? b->build : NULL;
}

int em_gpu_count(void)
{
    const em__gpu_backend *b = backend();

    return b != NULL ? b->count() : 0;
}

em_status em_gpu_device_info(int i, em_gpu_info *out)
{
    const em__gpu_backend *b = backend();

    if (i < 0 || i >= em_gpu_count())
        return em__err(EM_EINVAL, "GPU %d: no such device (%d seen)", i,
                       em_gpu_count());
    return b->info(i, out);
}

/* The device this process's tasks use, -1 for none: $EMBER_GPU_DEVICE
 * when the worker set it, else the first. */
static int task_device(void)
{
    const char *v = getenv("EMBER_GPU_DEVICE");
    int n = em_gpu_count();
    char *end;
    long dev;

    if (v == NULL || v[0] == '\0')
        return n > 0 ? 0 : -1;
    dev = strtol(v, &end, 10);
    return end != v && *end == '\0' && dev >= 0 && dev < n ? (int)dev : -1;
}

em__gpu *em__gpu_open(bool is_on)
{
    int dev = is_on ? task_device() : -1;
    em__gpu *g;

    if (!is_on)
        return NULL;
    if (dev < 0) {
        if (!atomic_exchange(&is_missing_logged, true))
            em__log_warn("ember.gpu is on but %s: the GPU operators run on "
                         "the CPU", backend() == NULL
                             ? "this build has no CUDA"
                             : "this process has no GPU device");
        return NULL;
    }
    if ((g = em__mem_calloc(1, sizeof(*g))) == NULL)
        return NULL;
    g->be = backend();
    if (g->be->open(dev, &g->dev) != EM_OK) {
        em__log_warn("GPU %d cannot be opened (%s): the task runs on the "
                     "CPU", dev, em_last_error());
        em__mem_free(g, sizeof(*g));
        return NULL;
    }
    return g;
}

void em__gpu_close(em__gpu *g)
{
    if (g == NULL)
        return;
    if (g->rows != NULL)
        g->be->host_free(g->rows, g->rows_bytes);
    g->be->close(g->dev);
    em__mem_free(g, sizeof(*g));
}

double *em__gpu_rows(em__gpu *g, size_t n, size_t d)
{
    size_t cells, bytes;

    if (em__mul_ok(n, d + 1, &cells) != 0 ||
        em__mul_ok(cells > 0 ? cells : 1, sizeof(double), &bytes) != 0) {
        em__oom();
        return NULL;
    }
    if (bytes > g->rows_bytes) {
        if (g->rows != NULL)
            g->be->host_free(g->rows, g->rows_bytes);
        g->rows_bytes = 0;
        if ((g->rows = g->be->host_alloc(bytes)) == NULL) {
            em__oom();
            return NULL;
        }
        g->rows_bytes = bytes;
    }
    g->n = n;
    g->d = d;
    g->is_loaded = false;
    return g->rows;
}

/* Records the failure st of the device operation `what`: one warning, and
 * the CPU path for the rest of the task. Returns whether st is EM_OK. */
static bool is_done(em__gpu *g, const char *what, em_status st)
{
    if (st == EM_OK)
        return true;
    g->is_failed = true;
    em__log_warn("GPU %s failed (%s): the task runs on the CPU", what,
                 em_last_error());
    return false;
}

/* True when the device may run the next operation: the rows are on it
 * (moved now if not) and no failure was injected. */
static bool is_ready(em__gpu *g, const char *what)
{
    em_status st = EM_OK;

    if (g == NULL || g->is_failed)
        return false;
    if (atomic_load(&fails_left) > 0 && atomic_fetch_sub(&fails_left, 1) > 0)
        st = em__err(EM_ENOMEM, "out of device memory (injected)");
    else if (!g->is_loaded &&
             (st = g->be->upload(g->dev, g->rows, g->n, g->d)) == EM_OK)
        g->is_loaded = true;
    return is_done(g, what, st);
}

void em__gpu_kmeans(em__gpu *g, const double *c, size_t k, double *acc)
{
    if (is_ready(g, "k-means assignment") &&
        is_done(g, "k-means assignment", g->be->kmeans(g->dev, c, k, acc)))
        return;
    em__gpu_cpu_kmeans(g->rows, g->n, g->d, c, k, acc);
}

void em__gpu_logistic(em__gpu *g, const double *w, bool has_intercept,
                      double *grad, double *loss)
{
    if (is_ready(g, "logistic gradient") &&
        is_done(g, "logistic gradient",
                g->be->logistic(g->dev, w, has_intercept, grad, loss)))
        return;
    em__gpu_cpu_logistic(g->rows, g->rows + g->n * g->d, g->n, g->d, w,
                         has_intercept, grad, loss);
}

void em__gpu_signs(em__gpu *g, const double *planes, int bits,
                   uint8_t *sigs)
{
    if (is_ready(g, "projection signs") &&
        is_done(g, "projection signs",
                g->be->signs(g->dev, planes, bits, sigs)))
        return;
    em__gpu_cpu_signs(g->rows, g->n, g->d, planes, bits, sigs);
}

void em__gpu_gemm(em__gpu *g, bool is_ta, bool is_tb, size_t m, size_t n,
                  size_t k, const double *a, const double *b, double *c)
{
    if (is_ready(g, "matrix product") &&
        is_done(g, "matrix product",
                g->be->gemm(g->dev, is_ta, is_tb, m, n, k, a, b, c)))
        return;
    em__gpu_cpu_gemm(is_ta, is_tb, m, n, k, a, b, c);
}

void em__gpu_test_fake_device(bool is_on)
{
    atomic_store(&fake_backend, is_on ? &em__gpu_cpu_backend : NULL);
}

void em__gpu_test_fail(int n)
{
    atomic_store(&fails_left, n);
}

void em__gpu_test_reset(void)
{
    atomic_store(&is_missing_logged, false);
}

double em__gpu_sq_dist(const double *x, const double *c, size_t d)
{
    return em__gk_sq_dist(x, c, d);
}
