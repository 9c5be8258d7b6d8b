/* The allocation wrapper: every allocation of the library goes through
 * here. It counts outstanding bytes (frees are sized) and has a test hook
 * that makes allocations fail, for out-of-memory tests. Only mem.c knows
 * which allocator is underneath (jemalloc; libc malloc in sanitizer builds,
 * so that ASan sees every block).
 */
#ifndef EMBER_RUNTIME_MEM_H
#define EMBER_RUNTIME_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Returns n bytes, or NULL (with em_last_error set) when out of memory or
 * when the test hook says fail. n == 0 is treated as 1. */
void *em__mem_alloc(size_t n);

/* As em__mem_alloc for n*size zeroed bytes; NULL on overflow. */
void *em__mem_calloc(size_t n, size_t size);

/* Resizes a block of old_n bytes to n bytes. On failure returns NULL and
 * the old block is untouched. */
void *em__mem_realloc(void *p, size_t old_n, size_t n);

/* Frees a block of exactly n bytes (the size it was allocated with).
 * Accepts NULL. */
void em__mem_free(void *p, size_t n);

/* Duplicates a NUL-terminated string; free with em__mem_free(s,
 * strlen(s) + 1). */
char *em__mem_strdup(const char *s);

/* Grows *arr (of *cap elements of size elem) to hold at least need
 * elements, doubling. Returns 0, or -1 when out of memory (unchanged). */
int em__mem_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Overflow-checked multiply: returns 0 and *out = a*b, or -1. */
static inline int em__mul_ok(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

#endif /* EMBER_RUNTIME_MEM_H */
