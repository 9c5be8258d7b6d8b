/* Tests of the allocation wrapper (runtime/mem.h): outstanding byte counts
 * through alloc, calloc, realloc, strdup and sized frees; the failure hook
 * failing exactly the (n+1)-th allocation; array growth; overflow-checked
 * multiplication.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "em_test.h"
#include "runtime/mem.h"

static void test_mem_counts_alloc_free(void **state)
{
    int64_t base = em_mem_outstanding();
    unsigned char *p, *q;

    (void)state;
    p = em__mem_alloc(100);
    assert_non_null(p);
    memset(p, 1, 100);
    assert_int_equal(em_mem_outstanding() - base, 100);
    q = em__mem_alloc(28);
    assert_non_null(q);
    assert_int_equal(em_mem_outstanding() - base, 128);
    em__mem_free(p, 100);
    assert_int_equal(em_mem_outstanding() - base, 28);
    em__mem_free(q, 28);
    assert_int_equal(em_mem_outstanding(), base);
    em__mem_free(NULL, 50);
    assert_int_equal(em_mem_outstanding(), base);
}

/* A request of 0 bytes is one byte, allocated and freed. */
static void test_mem_zero_bytes(void **state)
{
    int64_t base = em_mem_outstanding();
    void *p = em__mem_alloc(0);

    (void)state;
    assert_non_null(p);
    assert_int_equal(em_mem_outstanding() - base, 1);
    em__mem_free(p, 0);
    assert_int_equal(em_mem_outstanding(), base);
}

static void test_mem_realloc_counts(void **state)
{
    int64_t base = em_mem_outstanding();
    unsigned char *p = em__mem_alloc(10), *q;

    (void)state;
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        p[i] = (unsigned char)i;
    q = em__mem_realloc(p, 10, 5000);
    assert_non_null(q);
    assert_int_equal(em_mem_outstanding() - base, 5000);
    for (int i = 0; i < 10; i++)
        assert_int_equal(q[i], i);
    q = em__mem_realloc(q, 5000, 3);
    assert_non_null(q);
    assert_int_equal(em_mem_outstanding() - base, 3);
    assert_int_equal(q[2], 2);
    em__mem_free(q, 3);
    assert_int_equal(em_mem_outstanding(), base);
    /* realloc of NULL allocates */
    q = em__mem_realloc(NULL, 0, 64);
    assert_non_null(q);
    assert_int_equal(em_mem_outstanding() - base, 64);
    em__mem_free(q, 64);
    assert_int_equal(em_mem_outstanding(), base);
}

static void test_mem_realloc_failure_keeps_block(void **state)
{
    int64_t base = em_mem_outstanding();
    unsigned char *p = em__mem_alloc(16);

    (void)state;
    assert_non_null(p);
    memset(p, 0x7c, 16);
    em_mem_fail_after(0);
    assert_null(em__mem_realloc(p, 16, 1 << 16));
    em_mem_fail_after(-1);
    assert_string_equal(em_last_error(), "out of memory");
    assert_int_equal(em_mem_outstanding() - base, 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(p[i], 0x7c);
    em__mem_free(p, 16);
    assert_int_equal(em_mem_outstanding(), base);
}

static void test_mem_calloc_and_strdup(void **state)
{
    int64_t base = em_mem_outstanding();
    unsigned char *p = em__mem_calloc(10, 8);
    char *s;

    (void)state;
    assert_non_null(p);
    for (int i = 0; i < 80; i++)
        assert_int_equal(p[i], 0);
    assert_int_equal(em_mem_outstanding() - base, 80);
    em__mem_free(p, 80);
    /* overflow of n*size fails without allocating */
    assert_null(em__mem_calloc(SIZE_MAX / 2, 4));
    assert_string_equal(em_last_error(), "out of memory");
    assert_int_equal(em_mem_outstanding(), base);
    s = em__mem_strdup("ember");
    assert_non_null(s);
    assert_string_equal(s, "ember");
    assert_int_equal(em_mem_outstanding() - base, 6);
    em__mem_free(s, strlen(s) + 1);
    assert_int_equal(em_mem_outstanding(), base);
}

/* em_mem_fail_after(n): n more allocations succeed, the (n+1)-th and all
 * after it fail, until the hook is turned off. */
static void test_mem_fail_after_exact(void **state)
{
    (void)state;
    for (int64_t n = 0; n < 6; n++) {
        int64_t base = em_mem_outstanding();
        void *p[10];

        em_mem_fail_after(n);
        for (int64_t i = 0; i < 10; i++) {
            p[i] = em__mem_alloc(8);
            if (i < n)
                assert_non_null(p[i]);
            else
                assert_null(p[i]);
        }
        em_mem_fail_after(-1);
        assert_int_equal(em_mem_outstanding() - base, 8 * n);
        for (int i = 0; i < 10; i++)
            em__mem_free(p[i], 8);
        assert_int_equal(em_mem_outstanding(), base);
    }
    /* off again */
    {
        void *p = em__mem_alloc(8);
        assert_non_null(p);
        em__mem_free(p, 8);
    }
}

/* calloc, realloc and strdup count against the hook as allocations. */
static void test_mem_fail_after_counts_every_kind(void **state)
{
    void *a, *b, *c, *d;

    (void)state;
    em_mem_fail_after(3);
    a = em__mem_calloc(2, 4);
    b = em__mem_strdup("x");
    a = em__mem_realloc(a, 8, 16);
    c = em__mem_alloc(1);
    d = em__mem_realloc(b, 2, 100);
    em_mem_fail_after(-1);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_null(d);
    em__mem_free(a, 16);
    em__mem_free(b, 2);
}

static void test_mem_grow(void **state)
{
    int64_t base = em_mem_outstanding();
    int *arr = NULL;
    void *vp = NULL;
    size_t cap = 0;

    (void)state;
    /* from empty: at least the need, doubling from 8 */
    assert_int_equal(em__mem_grow(&vp, &cap, 5, sizeof(int)), 0);
    arr = vp;
    assert_non_null(arr);
    assert_int_equal(cap, 8);
    assert_int_equal(em_mem_outstanding() - base, 8 * sizeof(int));
    for (int i = 0; i < 8; i++)
        arr[i] = i * 3;
    /* within capacity: nothing happens, no allocation even when failing */
    em_mem_fail_after(0);
    assert_int_equal(em__mem_grow(&vp, &cap, 8, sizeof(int)), 0);
    em_mem_fail_after(-1);
    assert_ptr_equal(vp, arr);
    assert_int_equal(cap, 8);
    assert_int_equal(em__mem_grow(&vp, &cap, 9, sizeof(int)), 0);
    assert_int_equal(cap, 16);
    assert_int_equal(em__mem_grow(&vp, &cap, 100, sizeof(int)), 0);
    assert_int_equal(cap, 128);
    arr = vp;
    for (int i = 0; i < 8; i++)
        assert_int_equal(arr[i], i * 3);
    assert_int_equal(em_mem_outstanding() - base, 128 * sizeof(int));
    /* out of memory leaves the array as it was */
    em_mem_fail_after(0);
    assert_int_equal(em__mem_grow(&vp, &cap, 129, sizeof(int)), -1);
    em_mem_fail_after(-1);
    assert_ptr_equal(vp, arr);
    assert_int_equal(cap, 128);
    assert_int_equal(em_mem_outstanding() - base, 128 * sizeof(int));
    /* sizes that overflow fail, unchanged */
    assert_int_equal(em__mem_grow(&vp, &cap, SIZE_MAX, sizeof(int)), -1);
    assert_int_equal(em__mem_grow(&vp, &cap, SIZE_MAX / 4, 64), -1);
    assert_string_equal(em_last_error(), "out of memory");
    assert_ptr_equal(vp, arr);
    assert_int_equal(cap, 128);
    for (int i = 0; i < 8; i++)
        assert_int_equal(arr[i], i * 3);
    em__mem_free(vp, cap * sizeof(int));
    assert_int_equal(em_mem_outstanding(), base);
}

static void test_mem_mul_ok(void **state)
{
    size_t out = 12345;

    (void)state;
    assert_int_equal(em__mul_ok(6, 7, &out), 0);
    assert_int_equal(out, 42);
    assert_int_equal(em__mul_ok(0, SIZE_MAX, &out), 0);
    assert_int_equal(out, 0);
    assert_int_equal(em__mul_ok(SIZE_MAX, 1, &out), 0);
    assert_int_equal(out, SIZE_MAX);
    assert_int_equal(em__mul_ok(SIZE_MAX / 2, 2, &out), 0);
    assert_int_equal(out, SIZE_MAX - 1);
    assert_int_equal(em__mul_ok(SIZE_MAX / 2 + 1, 2, &out), -1);
    assert_int_equal(em__mul_ok(SIZE_MAX, 2, &out), -1);
    assert_int_equal(em__mul_ok((size_t)1 << 32, (size_t)1 << 32, &out), -1);
    assert_int_equal(em__mul_ok((size_t)1 << 31, (size_t)1 << 32, &out), 0);
    assert_int_equal(out, (size_t)1 << 63);
}

static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        size_t n = 1 + (size_t)(i % 97);
        void *p = em__mem_alloc(n);
        p = em__mem_realloc(p, n, n * 2);
        em__mem_free(p, n * 2);
    }
    return NULL;
}

/* The count is exact under concurrent use. */
static void test_mem_counts_across_threads(void **state)
{
    int64_t base = em_mem_outstanding();
    pthread_t th[4];

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churn, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(em_mem_outstanding(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_mem_counts_alloc_free),
        EM_TEST(test_mem_zero_bytes),
        EM_TEST(test_mem_realloc_counts),
        EM_TEST(test_mem_realloc_failure_keeps_block),
        EM_TEST(test_mem_calloc_and_strdup),
        EM_TEST(test_mem_fail_after_exact),
        EM_TEST(test_mem_fail_after_counts_every_kind),
        EM_TEST(test_mem_grow),
        EM_TEST(test_mem_mul_ok),
        EM_TEST(test_mem_counts_across_threads),
    };

    return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
