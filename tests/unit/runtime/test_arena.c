/* Tests of arenas (runtime/arena.h): alignment, allocations larger than a
 * chunk, marks and rewinding (memory reused, earlier data intact), reset,
 * the footprint, and out-of-memory behaviour through the allocation
 * wrapper's failure hook.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"

/* Fills n bytes at p with a pattern derived from seed. */
static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;

    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)(seed * 131u + i * 7u + 1u);
}

/* True when the n bytes at p still hold fill(p, n, seed). */
static bool holds(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++) {
        if (c[i] != (unsigned char)(seed * 131u + i * 7u + 1u))
            return false;
    }
    return true;
}

static void test_arena_alignment(void **state)
{
    static const size_t aligns[] = {1, 2, 4, 8, 16, 32, 64};
    em_test_rng r = {1};

    (void)state;
    /* several arenas and chunk sizes, so chunk addresses vary */
    for (size_t chunk = 0; chunk <= 4096; chunk += 1000) {
        em_arena *a = em__arena_create(chunk);
        assert_non_null(a);
        for (int k = 0; k < 2000; k++) {
            size_t align = aligns[em_test_below(&r, 7)];
            size_t n = 1 + em_test_below(&r, 100);
            unsigned char *p = em__arena_alloc(a, n, align);
            assert_non_null(p);
            if ((uintptr_t)p % align != 0)
                fail_msg("alloc(%zu, %zu) -> %p, misaligned", n, align,
                         (void *)p);
            fill(p, n, (unsigned)k);
        }
        em__arena_destroy(a);
    }
}

/* Small chunks: the alignment must hold wherever the allocator placed the
 * chunk, not only relative to the chunk's start. */
static void test_arena_alignment_small_chunks(void **state)
{
    static const size_t aligns[] = {8, 16, 32, 64};
    em_arena *arenas[64];
    char why[128] = "";

    (void)state;
    for (size_t i = 0; i < 64; i++) {
        arenas[i] = em__arena_create(1 + i * 3);
        assert_non_null(arenas[i]);
    }
    for (size_t i = 0; i < 64 && why[0] == '\0'; i++) {
        for (size_t k = 0; k < 4; k++) {
            size_t align = aligns[(i + k) % 4];
            unsigned char *p = em__arena_alloc(arenas[i], 24, align);
            if (p == NULL || (uintptr_t)p % align != 0) {
                snprintf(why, sizeof(why), "alloc(24, %zu) -> %p", align,
                         (void *)p);
                break;
            }
            memset(p, 0x3c, 24);
        }
    }
    for (size_t i = 0; i < 64; i++)
        em__arena_destroy(arenas[i]);
    if (why[0] != '\0')
        fail_msg("misaligned: %s", why);
}

static void test_arena_public_alloc_aligned_16(void **state)
{
    em_arena *a = em_arena_create();

    (void)state;
    assert_non_null(a);
    for (size_t n = 1; n < 300; n += 7) {
        void *p = em_arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, n);
    }
    em_arena_destroy(a);
    em_arena_destroy(NULL);
}

/* Every allocation is distinct: patterns written into each survive all
 * the allocations made after it. */
static void test_arena_allocations_disjoint(void **state)
{
    em_arena *a = em__arena_create(512);
    unsigned char *p[500];
    size_t n[500];
    em_test_rng r = {99};

    (void)state;
    assert_non_null(a);
    for (unsigned i = 0; i < 500; i++) {
        n[i] = 1 + em_test_below(&r, 200);
        p[i] = em__arena_alloc(a, n[i], (size_t)1 << em_test_below(&r, 7));
        assert_non_null(p[i]);
        fill(p[i], n[i], i);
    }
    for (unsigned i = 0; i < 500; i++)
        assert_true(holds(p[i], n[i], i));
    em__arena_destroy(a);
}

static void test_arena_large_allocations(void **state)
{
    em_arena *a = em__arena_create(1024);
    unsigned char *small, *big, *huge, *after;

    (void)state;
    assert_non_null(a);
    small = em__arena_alloc(a, 100, 8);
    assert_non_null(small);
    fill(small, 100, 1);
    big = em__arena_alloc(a, 10000, 64);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 64, 0);
    fill(big, 10000, 2);
    huge = em__arena_alloc(a, 1 << 20, 16);
    assert_non_null(huge);
    fill(huge, 1 << 20, 3);
    after = em__arena_alloc(a, 50, 1);
    assert_non_null(after);
    fill(after, 50, 4);
    assert_true(holds(small, 100, 1));
    assert_true(holds(big, 10000, 2));
    assert_true(holds(huge, 1 << 20, 3));
    assert_true(holds(after, 50, 4));
    assert_true(em__arena_footprint(a) >= 100 + 10000 + (1 << 20) + 50);
    assert_true(em_arena_used(a) >= 100 + 10000 + (1 << 20) + 50);
    em__arena_destroy(a);
}

static void test_arena_dup(void **state)
{
    em_arena *a = em__arena_create(0);
    char src[] = "copy me";
    char *d;

    (void)state;
    assert_non_null(a);
    d = em__arena_dup(a, src, sizeof(src));
    assert_non_null(d);
    assert_ptr_not_equal(d, src);
    src[0] = 'X';
    assert_string_equal(d, "copy me");
    assert_non_null(em__arena_dup(a, src, 0));
    em__arena_destroy(a);
}

static void test_arena_mark_rewind_reuses(void **state)
{
    em_arena *a = em__arena_create(256);
    unsigned char *pre[20], *first, *again;
    em__arena_mark m;
    size_t used, footprint;

    (void)state;
    assert_non_null(a);
    for (unsigned i = 0; i < 20; i++) {
        pre[i] = em__arena_alloc(a, 40, 8);
        assert_non_null(pre[i]);
        fill(pre[i], 40, i);
    }
    m = em__arena_mark_get(a);
    used = em_arena_used(a);
    /* allocate past several chunks, then give it all back */
    first = em__arena_alloc(a, 30, 8);
    assert_non_null(first);
    for (unsigned i = 0; i < 100; i++) {
        unsigned char *p = em__arena_alloc(a, 64, 16);
        assert_non_null(p);
        memset(p, 0xee, 64);
    }
    footprint = em__arena_footprint(a);
    em__arena_rewind(a, m);
    assert_int_equal(em_arena_used(a), used);
    for (unsigned i = 0; i < 20; i++)
        assert_true(holds(pre[i], 40, i));
    /* the same sequence again: the same first address, no new chunks */
    again = em__arena_alloc(a, 30, 8);
    assert_ptr_equal(again, first);
    for (unsigned i = 0; i < 100; i++) {
        unsigned char *p = em__arena_alloc(a, 64, 16);
        assert_non_null(p);
        memset(p, 0x11, 64);
    }
    assert_int_equal(em__arena_footprint(a), footprint);
    for (unsigned i = 0; i < 20; i++)
        assert_true(holds(pre[i], 40, i));
    em__arena_destroy(a);
}

/* Marks nest: rewinding an inner mark keeps what lies between the outer
 * and the inner one. */
static void test_arena_nested_marks(void **state)
{
    em_arena *a = em__arena_create(128);
    em__arena_mark outer, inner;
    unsigned char *mid[10];

    (void)state;
    assert_non_null(a);
    outer = em__arena_mark_get(a);
    for (unsigned i = 0; i < 10; i++) {
        mid[i] = em__arena_alloc(a, 50, 4);
        assert_non_null(mid[i]);
        fill(mid[i], 50, i + 100);
    }
    for (int round = 0; round < 50; round++) {
        inner = em__arena_mark_get(a);
        for (int k = 0; k < 20; k++) {
            unsigned char *p = em__arena_alloc(a, 1 + (size_t)k * 13, 32);
            assert_non_null(p);
            memset(p, 0x5a, 1 + (size_t)k * 13);
        }
        em__arena_rewind(a, inner);
        for (unsigned i = 0; i < 10; i++)
            assert_true(holds(mid[i], 50, i + 100));
    }
    em__arena_rewind(a, outer);
    assert_int_equal(em_arena_used(a), 0);
    em__arena_destroy(a);
}

/* A mark taken on an empty arena rewinds it to empty. */
static void test_arena_mark_on_empty(void **state)
{
    em_arena *a = em__arena_create(0);
    em__arena_mark m;
    void *p, *q;

    (void)state;
    assert_non_null(a);
    m = em__arena_mark_get(a);
    p = em__arena_alloc(a, 10, 16);
    assert_non_null(p);
    em__arena_rewind(a, m);
    assert_int_equal(em_arena_used(a), 0);
    q = em__arena_alloc(a, 10, 16);
    assert_ptr_equal(p, q);
    em__arena_destroy(a);
}

static void test_arena_reset(void **state)
{
    em_arena *a = em__arena_create(1024);
    size_t first_chunk, used, footprint;
    void *p, *q;

    (void)state;
    assert_non_null(a);
    assert_int_equal(em__arena_footprint(a), 0);
    p = em__arena_alloc(a, 16, 16);
    assert_non_null(p);
    first_chunk = em__arena_footprint(a);
    assert_true(first_chunk >= 1024);
    for (int i = 0; i < 100; i++)
        assert_non_null(em__arena_alloc(a, 100, 8));
    assert_true(em__arena_footprint(a) > first_chunk);
    em__arena_reset(a);
    used = em_arena_used(a);
    footprint = em__arena_footprint(a);
    q = em__arena_alloc(a, 16, 16);
    em__arena_destroy(a);
    assert_int_equal(used, 0);
    assert_ptr_equal(p, q);
    /* "rewinds to empty, keeping the first chunk" (arena.h): the chunks
     * after the first are given back */
    assert_int_equal(footprint, first_chunk);
}

static void test_arena_footprint_and_used(void **state)
{
    em_arena *a = em__arena_create(4096);
    size_t total = 0;
    em_test_rng r = {5};

    (void)state;
    assert_non_null(a);
    assert_int_equal(em_arena_used(a), 0);
    assert_non_null(em__arena_alloc(a, 10, 1));
    assert_int_equal(em_arena_used(a), 10);
    total = 10;
    for (int i = 0; i < 1000; i++) {
        size_t n = 1 + em_test_below(&r, 300);
        assert_non_null(em__arena_alloc(a, n, 8));
        total += n;
        assert_true(em_arena_used(a) >= total);
        assert_true(em__arena_footprint(a) >= em_arena_used(a));
    }
    em__arena_destroy(a);
}

static void test_arena_oom(void **state)
{
    em_arena *a = em__arena_create(256);
    void *p;

    (void)state;
    assert_non_null(a);
    /* the first allocation needs a chunk: the hook makes it fail */
    em_mem_fail_after(0);
    p = em__arena_alloc(a, 10, 8);
    em_mem_fail_after(-1);
    assert_null(p);
    assert_string_equal(em_last_error(), "out of memory");
    assert_int_equal(em_arena_used(a), 0);
    /* the arena still works afterwards */
    p = em__arena_alloc(a, 10, 8);
    assert_non_null(p);
    /* an allocation that fits the current chunk needs no new memory */
    em_mem_fail_after(0);
    assert_non_null(em__arena_alloc(a, 10, 8));
    assert_null(em__arena_alloc(a, 1000, 8));
    em_mem_fail_after(-1);
    assert_string_equal(em_last_error(), "out of memory");
    /* sizes that cannot be represented fail without calling malloc */
    assert_null(em__arena_alloc(a, SIZE_MAX, 1));
    assert_null(em__arena_alloc(a, SIZE_MAX - 8, 64));
    assert_string_equal(em_last_error(), "out of memory");
    em__arena_destroy(a);
    /* creation itself */
    em_mem_fail_after(0);
    assert_null(em__arena_create(0));
    assert_null(em_arena_create());
    em_mem_fail_after(-1);
    assert_string_equal(em_last_error(), "out of memory");
}

typedef struct fill_job {
    size_t chunk;  /* chunk size of the arena made */
    int n;         /* allocations */
} fill_job;

static em_status fill_arena(void *arg)
{
    const fill_job *job = arg;
    em_arena *a = em__arena_create(job->chunk);
    em_status st = EM_OK;

    if (a == NULL)
        return EM_ENOMEM;
    for (int i = 0; i < job->n; i++) {
        void *p = em__arena_alloc(a, 30 + (size_t)i * 5, 16);
        if (p == NULL) {
            st = EM_ENOMEM;
            break;
        }
        memset(p, 1, 30 + (size_t)i * 5);
    }
    em__arena_destroy(a);
    return st;
}

static void test_arena_oom_sweep(void **state)
{
    fill_job job = {128, 60};

    (void)state;
    assert_true(em_test_oom_sweep(fill_arena, &job, 1000) > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_arena_alignment),
        EM_TEST(test_arena_public_alloc_aligned_16),
        EM_TEST(test_arena_allocations_disjoint),
        EM_TEST(test_arena_large_allocations),
        EM_TEST(test_arena_dup),
        EM_TEST(test_arena_mark_rewind_reuses),
        EM_TEST(test_arena_nested_marks),
        EM_TEST(test_arena_mark_on_empty),
        EM_TEST(test_arena_reset),
        EM_TEST(test_arena_footprint_and_used),
        EM_TEST(test_arena_oom),
        EM_TEST(test_arena_oom_sweep),
        /* last: under UBSan a misaligned chunk aborts the executable */
        EM_TEST(test_arena_alignment_small_chunks),
    };

    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
