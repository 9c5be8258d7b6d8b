/* The CUDA backend of gpu/gpu.h: a task's stream and cuBLAS handle, its
 * rows moved once from the pinned staging buffer, kernels of our own for
 * the nearest-centre assignment with per-centre partial sums, the fused
 * logistic loss and gradient factor, and the projection signs, and cuBLAS
 * for the matrix products. The per-element arithmetic is
 * gpu/kernels_common.h, shared with the CPU path. docs/gpu.md.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include <new>

#include "gpu/backend.h"
#include "gpu/kernels_common.h"
extern "C" {
#include "runtime/err.h"
}

#define THREADS 256 /* per block */

/* A device buffer that grows. */
typedef struct dbuf {
    void *p;
    size_t bytes;
} dbuf;

/* A task's device state. */
typedef struct cuda_dev {
    int dev;
    cudaStream_t stream;
    cublasHandle_t blas;
    dbuf rows;            /* n rows of d, then n labels */
    size_t n, d;
    dbuf work;            /* operands and results of one operation */
    void *host;           /* pinned copy of the results */
    size_t host_bytes;
} cuda_dev;

static em_status check(cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return EM_OK;
    return em__err(e == cudaErrorMemoryAllocation ? EM_ENOMEM : EM_EIO,
                   "CUDA %s: %s", what, cudaGetErrorString(e));
}

static em_status check_blas(cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return EM_OK;
    return em__err(s == CUBLAS_STATUS_ALLOC_FAILED ? EM_ENOMEM : EM_EIO,
                   "cuBLAS %s: status %d", what, (int)s);
}

/* Makes b hold at least bytes (its contents are lost). */
static em_status dbuf_reserve(dbuf *b, size_t bytes)
{
    if (bytes <= b->bytes)
        return EM_OK;
    cudaFree(b->p);
    b->p = NULL;
    b->bytes = 0;
    if (check(cudaMalloc(&b->p, bytes), "device buffer") != EM_OK)
        return EM_ENOMEM;
    b->bytes = bytes;
    return EM_OK;
}

/* Makes the pinned result buffer hold at least bytes. */
static em_status host_reserve(cuda_dev *c, size_t bytes)
{
    if (bytes <= c->host_bytes)
        return EM_OK;
    cudaFreeHost(c->host);
    c->host = NULL;
    c->host_bytes = 0;
    if (check(cudaMallocHost(&c->host, bytes), "pinned buffer") != EM_OK)
        return EM_ENOMEM;
    c->host_bytes = bytes;
    return EM_OK;
}

/* Waits for the task's stream: launch and execution errors show here. */
static em_status finish(cuda_dev *c, const char *what)
{
    em_status st = check(cudaGetLastError(), what);

    if (st == EM_OK)
        st = check(cudaStreamSynchronize(c->stream), what);
    return st;
}

static unsigned blocks_for(size_t n)
{
    return (unsigned)((n + THREADS - 1) / THREADS);
}

/* ---- kernels ---- */

/* One thread per row: its nearest centre, then its count, distance and
 * coordinates added to the centre's partial sums (acc as gpu.h lays it). */
__global__ void kmeans_assign(const double *x, size_t n, size_t d,
                              const double *c, size_t k, double *acc)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    double dist;
    size_t j;

    if (i >= n)
        return;
    j = em__gk_nearest(x + i * d, c, k, d, &dist);
    atomicAdd(&acc[j], 1.0);
    atomicAdd(&acc[k + k * d], dist);
    for (size_t t = 0; t < d; t++)
        atomicAdd(&acc[k + j * d + t], x[i * d + t]);
}

/* One thread per row: the margin (from cuBLAS, plus the intercept b)
 * becomes the gradient factor in place; the block sums the loss and the
 * factors (the intercept's gradient) into sums[1] and sums[0]. */
__global__ void logistic_coef(double *marg, const double *y, size_t n,
                              double b, double *sums)
{
    __shared__ double loss[THREADS], coef[THREADS];
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    double m;

    loss[threadIdx.x] = 0;
    coef[threadIdx.x] = 0;
    if (i < n) {
        m = marg[i] + b;
        loss[threadIdx.x] = em__gk_logistic_loss(m, y[i]);
        coef[threadIdx.x] = marg[i] = em__gk_logistic_coef(m, y[i]);
    }
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) {
            loss[threadIdx.x] += loss[threadIdx.x + s];
            coef[threadIdx.x] += coef[threadIdx.x + s];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        atomicAdd(&sums[0], coef[0]);
        atomicAdd(&sums[1], loss[0]);
    }
}

/* One thread per signature byte of a row. */
__global__ void sign_bytes(const double *x, size_t n, size_t d,
                           const double *planes, int bits, uint8_t *sigs)
{
    size_t nb = ((size_t)bits + 7) / 8;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;

    if (i >= n * nb)
        return;
    sigs[i] = em__gk_sign_byte(x + (i / nb) * d, planes, d, bits,
                               (int)(i % nb));
}

/* ---- the backend ---- */

static int count_devices(void)
{
    int n = 0;

    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* no driver or no device: clear the error */
        return 0;
    }
    return n;
}

static int cuda_count(void)
{
    static const int n = count_devices(); /* once, thread-safe */

    return n;
}

static em_status cuda_info(int dev, em_gpu_info *out)
{
    cudaDeviceProp p;
    em_status st = check(cudaGetDeviceProperties(&p, dev), "properties");

    if (st != EM_OK)
        return st;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", p.name);
    out->memory_bytes = (int64_t)p.totalGlobalMem;
    out->major = p.major;
    out->minor = p.minor;
    return EM_OK;
}

static void cuda_close(void *dev)
{
    cuda_dev *c = (cuda_dev *)dev;

    if (c == NULL)
        return;
    cudaSetDevice(c->dev);
    if (c->blas != NULL)
        cublasDestroy(c->blas);
    if (c->stream != NULL)
        cudaStreamDestroy(c->stream);
    cudaFree(c->rows.p);
    cudaFree(c->work.p);
    cudaFreeHost(c->host);
    delete c;
}

static em_status cuda_open(int dev, void **out)
{
    cuda_dev *c = new (std::nothrow) cuda_dev();
    em_status st;

    if (c == NULL)
        return em__oom();
    c->dev = dev;
    st = check(cudaSetDevice(dev), "set device");
    if (st == EM_OK)
        st = check(cudaStreamCreateWithFlags(&c->stream,
                                             cudaStreamNonBlocking),
                   "stream");
    if (st == EM_OK)
        st = check_blas(cublasCreate(&c->blas), "create");
    if (st == EM_OK)
        st = check_blas(cublasSetStream(c->blas, c->stream), "stream");
    if (st != EM_OK) {
        cuda_close(c);
        return st;
    }
    *out = c;
    return EM_OK;
}

static void *cuda_host_alloc(size_t bytes)
{
    void *p = NULL;

    return cudaMallocHost(&p, bytes) == cudaSuccess ? p : NULL;
}

static void cuda_host_free(void *p, size_t bytes)
{
    cudaFreeHost(p);
}

static em_status cuda_upload(void *dev, const double *rows, size_t n,
                             size_t d)
{
    cuda_dev *c = (cuda_dev *)dev;
    size_t bytes = (n * d + n) * sizeof(double);
    em_status st = check(cudaSetDevice(c->dev), "set device");

    if (st == EM_OK)
        st = dbuf_reserve(&c->rows, bytes > 0 ? bytes : 1);
    if (st == EM_OK && bytes > 0)
        st = check(cudaMemcpyAsync(c->rows.p, rows, bytes,
                                   cudaMemcpyHostToDevice, c->stream),
                   "copy rows");
    if (st == EM_OK) {
        c->n = n;
        c->d = d;
    }
    return st;
}

/* Prepares an operation: the device current, `bytes` of work space, and
 * as many pinned bytes for the results. */
static em_status begin(cuda_dev *c, size_t bytes)
{
    em_status st = check(cudaSetDevice(c->dev), "set device");

    if (st == EM_OK)
        st = dbuf_reserve(&c->work, bytes);
    if (st == EM_OK)
        st = host_reserve(c, bytes);
    return st;
}

/* Copies `bytes` at the device's src to the pinned buffer and waits. */
static em_status fetch(cuda_dev *c, const void *src, size_t bytes,
                       const char *what)
{
    em_status st = check(cudaMemcpyAsync(c->host, src, bytes,
                                         cudaMemcpyDeviceToHost, c->stream),
                         what);

    return st == EM_OK ? finish(c, what) : st;
}

static em_status cuda_kmeans(void *dev, const double *cs, size_t k,
                             double *acc)
{
    cuda_dev *c = (cuda_dev *)dev;
    size_t nacc = k + k * c->d + 1, nc = k * c->d;
    double *w, *h;
    em_status st = begin(c, (nc + nacc) * sizeof(double));

    if (st != EM_OK)
        return st;
    w = (double *)c->work.p;
    st = check(cudaMemcpyAsync(w, cs, nc * sizeof(double),
                               cudaMemcpyHostToDevice, c->stream),
               "copy centres");
    if (st == EM_OK)
        st = check(cudaMemsetAsync(w + nc, 0, nacc * sizeof(double),
                                   c->stream), "clear sums");
    if (st == EM_OK && c->n > 0)
        kmeans_assign<<<blocks_for(c->n), THREADS, 0, c->stream>>>(
            (const double *)c->rows.p, c->n, c->d, w, k, w + nc);
    if (st == EM_OK)
        st = fetch(c, w + nc, nacc * sizeof(double), "k-means assignment");
    h = (double *)c->host;
    for (size_t i = 0; st == EM_OK && i < nacc; i++)
        acc[i] += h[i];
    return st;
}

static em_status cuda_logistic(void *dev, const double *wts,
                               bool has_intercept, double *grad,
                               double *loss)
{
    cuda_dev *c = (cuda_dev *)dev;
    size_t n = c->n, d = c->d;
    const double one = 1, zero = 0, *x = (const double *)c->rows.p;
    double *w, *marg, *sums, *h;
    em_status st = begin(c, (d + n + d + 2) * sizeof(double));

    if (st != EM_OK)
        return st;
    w = (double *)c->work.p;
    marg = w + d;
    sums = marg + n; /* gradient (d), intercept gradient, loss */
    st = check(cudaMemcpyAsync(w, wts, d * sizeof(double),
                               cudaMemcpyHostToDevice, c->stream),
               "copy weights");
    if (st == EM_OK)
        st = check(cudaMemsetAsync(sums, 0, (d + 2) * sizeof(double),
                                   c->stream), "clear sums");
    /* row-major n x d rows are column-major d x n: margins = rows^T w */
    if (st == EM_OK && n > 0)
        st = check_blas(cublasDgemv(c->blas, CUBLAS_OP_T, (int)d, (int)n,
                                    &one, x, (int)d, w, 1, &zero, marg, 1),
                        "margins");
    if (st == EM_OK && n > 0)
        logistic_coef<<<blocks_for(n), THREADS, 0, c->stream>>>(
            marg, x + n * d, n, has_intercept ? wts[d] : 0, sums + d);
    if (st == EM_OK && n > 0)
        st = check_blas(cublasDgemv(c->blas, CUBLAS_OP_N, (int)d, (int)n,
                                    &one, x, (int)d, marg, 1, &zero, sums,
                                    1), "gradient");
    if (st == EM_OK)
        st = fetch(c, sums, (d + 2) * sizeof(double), "logistic gradient");
    if (st != EM_OK)
        return st;
    h = (double *)c->host;
    for (size_t j = 0; j < d; j++)
        grad[j] += h[j];
    if (has_intercept)
        grad[d] += h[d];
    *loss += h[d + 1];
    return EM_OK;
}

static em_status cuda_signs(void *dev, const double *planes, int bits,
                            uint8_t *sigs)
{
    cuda_dev *c = (cuda_dev *)dev;
    size_t np = (size_t)bits * c->d, nsig = c->n * (((size_t)bits + 7) / 8);
    double *p;
    em_status st = begin(c, np * sizeof(double) + nsig);

    if (st != EM_OK)
        return st;
    p = (double *)c->work.p;
    st = check(cudaMemcpyAsync(p, planes, np * sizeof(double),
                               cudaMemcpyHostToDevice, c->stream),
               "copy planes");
    if (st == EM_OK && nsig > 0)
        sign_bytes<<<blocks_for(nsig), THREADS, 0, c->stream>>>(
            (const double *)c->rows.p, c->n, c->d, p, bits,
            (uint8_t *)(p + np));
    if (st == EM_OK)
        st = fetch(c, p + np, nsig, "projection signs");
    if (st == EM_OK)
        memcpy(sigs, c->host, nsig);
    return st;
}

static em_status cuda_gemm(void *dev, bool is_ta, bool is_tb, size_t m,
                           size_t n, size_t k, const double *a,
                           const double *b, double *out)
{
    cuda_dev *c = (cuda_dev *)dev;
    size_t na = m * k, nb = k * n, nc = m * n;
    const double one = 1;
    double *da, *db, *dc;
    em_status st = begin(c, (na + nb + nc) * sizeof(double));

    if (st != EM_OK)
        return st;
    da = (double *)c->work.p;
    db = da + na;
    dc = db + nb;
    st = check(cudaMemcpyAsync(da, a, na * sizeof(double),
                               cudaMemcpyHostToDevice, c->stream), "copy a");
    if (st == EM_OK)
        st = check(cudaMemcpyAsync(db, b, nb * sizeof(double),
                                   cudaMemcpyHostToDevice, c->stream),
                   "copy b");
    if (st == EM_OK)
        st = check(cudaMemcpyAsync(dc, out, nc * sizeof(double),
                                   cudaMemcpyHostToDevice, c->stream),
                   "copy c");
    /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T:
     * the row-major arrays are already the transposes cuBLAS reads */
    if (st == EM_OK && nc > 0 && k > 0)
        st = check_blas(cublasDgemm(c->blas, is_tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    is_ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    (int)n, (int)m, (int)k, &one, db,
                                    (int)(is_tb ? k : n), da,
                                    (int)(is_ta ? m : k), &one, dc, (int)n),
                        "gemm");
    if (st == EM_OK)
        st = fetch(c, dc, nc * sizeof(double), "matrix product");
    if (st == EM_OK)
        memcpy(out, c->host, nc * sizeof(double));
    return st;
}

extern "C" const em__gpu_backend em__gpu_cuda_backend = {
    "CUDA " EM_CUDA_VERSION, cuda_count, cuda_info, cuda_open, cuda_close,
    cuda_host_alloc, cuda_host_free, cuda_upload, cuda_kmeans,
    cuda_logistic, cuda_signs, cuda_gemm,
};
