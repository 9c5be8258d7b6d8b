/* The allocation wrapper (see mem.h): counting, the failure hook, and the
 * one place that knows the allocator. jemalloc when EM_USE_JEMALLOC is
 * defined; libc malloc otherwise (sanitizer builds).
 */
#include "mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "err.h"

#ifdef EM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#define raw_alloc(n) mallocx((n), 0)
#define raw_realloc(p, n) rallocx((p), (n), 0)
#define raw_free(p, n) sdallocx((p), (n), 0)
#else
#define raw_alloc(n) malloc(n)
#define raw_realloc(p, n) realloc((p), (n))
#define raw_free(p, n) ((void)(n), free(p))
#endif

static atomic_int_least64_t outstanding_bytes;
static atomic_int_least64_t fail_countdown = -1; /* < 0: never fail */

void em_mem_fail_after(int64_t n)
{
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

int64_t em_mem_outstanding(void)
{
    return atomic_load(&outstanding_bytes);
}

/* True when the test hook says this allocation must fail. */
static int hook_fails(void)
{
    int64_t c = atomic_load(&fail_countdown);

    while (c >= 0) {
        if (c == 0)
            return 1;
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1))
            return 0;
    }
    return 0;
}

void *em__mem_alloc(size_t n)
{
    void *p;

    if (n == 0)
        n = 1;
    if (hook_fails() || (p = raw_alloc(n)) == NULL) {
        em__oom();
        return NULL;
    }
    atomic_fetch_add(&outstanding_bytes, (int64_t)n);
    return p;
}

void *em__mem_calloc(size_t n, size_t size)
{
    size_t total;
    void *p;

    if (em__mul_ok(n, size, &total) != 0) {
        em__oom();
        return NULL;
    }
    p = em__mem_alloc(total);
    if (p != NULL)
        memset(p, 0, total ? total : 1);
    return p;
}

void *em__mem_realloc(void *p, size_t old_n, size_t n)
{
    void *q;

    if (p == NULL)
        return em__mem_alloc(n);
    if (n == 0)
        n = 1;
    if (old_n == 0)
        old_n = 1;
    if (hook_fails() || (q = raw_realloc(p, n)) == NULL) {
        em__oom();
        return NULL;
    }
    atomic_fetch_add(&outstanding_bytes, (int64_t)n - (int64_t)old_n);
    return q;
}

void *em_mem_realloc(void *p, size_t old_n, size_t n)
{
    if (n == 0) {
        em__mem_free(p, old_n);
        return NULL;
    }
    return em__mem_realloc(p, p != NULL ? old_n : 0, n);
}

void em__mem_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    if (n == 0)
        n = 1;
    raw_free(p, n);
    atomic_fetch_sub(&outstanding_bytes, (int64_t)n);
}

char *em__mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = em__mem_alloc(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

int em__mem_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 8, old_bytes, new_bytes;
    void *p;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return em__oom(), -1;
        ncap *= 2;
    }
    if (em__mul_ok(*cap, elem, &old_bytes) != 0 ||
        em__mul_ok(ncap, elem, &new_bytes) != 0)
        return em__oom(), -1;
    p = em__mem_realloc(*arr, old_bytes, new_bytes);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}
