/* Arenas (see arena.h): a list of chunks, bump allocation in the current
 * one, rewinding to marks. In ASan builds the unused part of every chunk is
 * poisoned, so a read past an allocation or of rewound memory is reported.
 */
#include "arena.h"

#include <stdint.h>
#include <string.h>

#include "err.h"
#include "mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define EM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EM_ASAN 1
#endif
#endif

#ifdef EM_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct chunk {
    struct chunk *next;  /* the next chunk, kept for reuse after a rewind */
    size_t size;         /* bytes of data[] */
    size_t off;          /* bytes of data[] handed out */
    unsigned char data[]; /* aligned by address when allocating */
} chunk;

struct em_arena {
    chunk *head;         /* first chunk, or NULL before the first alloc */
    chunk *cur;          /* the chunk allocations come from */
    size_t chunk_bytes;  /* default chunk size */
    size_t used;         /* bytes handed out (with alignment padding) */
    size_t footprint;    /* bytes of all chunks */
};

em_arena *em__arena_create(size_t chunk_bytes)
{
    em_arena *a = em__mem_alloc(sizeof(*a));

    if (a == NULL)
        return NULL;
    memset(a, 0, sizeof(*a));
    a->chunk_bytes = chunk_bytes ? chunk_bytes : 64 * 1024;
    return a;
}

em_arena *em_arena_create(void)
{
    return em__arena_create(0);
}

static chunk *chunk_new(size_t size)
{
    chunk *c;

    if (size > SIZE_MAX - sizeof(*c)) {
        em__oom();
        return NULL;
    }
    c = em__mem_alloc(sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->off = 0;
    POISON(c->data, size);
    return c;
}

/* Makes a chunk with room for n bytes at alignment align current. */
static int advance(em_arena *a, size_t n, size_t align)
{
    size_t need = n + align;
    chunk *c;

    if (need < n)
        return em__oom(), -1;
    if (a->cur != NULL && a->cur->next != NULL &&
        a->cur->next->size >= need) {
        a->cur = a->cur->next;
        a->cur->off = 0;
        return 0;
    }
    c = chunk_new(need > a->chunk_bytes ? need : a->chunk_bytes);
    if (c == NULL)
        return -1;
    a->footprint += c->size;
    if (a->cur == NULL) {
        a->head = c;
    } else {
        c->next = a->cur->next;
        a->cur->next = c;
    }
    a->cur = c;
    return 0;
}

/* The first offset at or after c->off whose address is aligned. */
static size_t aligned_offset(const chunk *c, size_t align)
{
    uintptr_t at = (uintptr_t)(c->data + c->off);

    return c->off + (((at + align - 1) & ~(uintptr_t)(align - 1)) - at);
}

void *em__arena_alloc(em_arena *a, size_t n, size_t align)
{
    chunk *c = a->cur;
    size_t start;

    if (n == 0)
        n = 1;
    if (c != NULL) {
        start = aligned_offset(c, align);
        if (start <= c->size && c->size - start >= n)
            goto found;
    }
    if (advance(a, n, align) != 0)
        return NULL;
    c = a->cur;
    start = aligned_offset(c, align);
found:
    a->used += start + n - c->off;
    c->off = start + n;
    UNPOISON(c->data + start, n);
    return c->data + start;
}

void *em_arena_alloc(em_arena *a, size_t n)
{
    return em__arena_alloc(a, n, 16);
}

size_t em_arena_used(const em_arena *a)
{
    return a->used;
}

void *em__arena_dup(em_arena *a, const void *p, size_t n)
{
    void *d = em__arena_alloc(a, n, 1);

    if (d != NULL && n > 0)
        memcpy(d, p, n);
    return d;
}

em__arena_mark em__arena_mark_get(const em_arena *a)
{
    em__arena_mark m;

    m.chunk = a->cur;
    m.off = a->cur ? a->cur->off : 0;
    m.used = a->used;
    return m;
}

void em__arena_rewind(em_arena *a, em__arena_mark m)
{
    chunk *c = m.chunk ? (chunk *)m.chunk : a->head;

    if (c == NULL)
        return;
    /* poison what is given back: the rest of the mark's chunk and every
     * chunk that was used after it */
    for (chunk *p = c; p != NULL; p = p->next) {
        size_t from = p == c && m.chunk ? m.off : 0;
        POISON(p->data + from, p->size - from);
        if (p == a->cur)
            break;
    }
    a->cur = c;
    c->off = m.chunk ? m.off : 0;
    a->used = m.used;
}

void em__arena_reset(em_arena *a)
{
    em__arena_mark m = {NULL, 0, 0};
    chunk *c, *next;

    em__arena_rewind(a, m);
    if (a->head == NULL)
        return;
    for (c = a->head->next; c != NULL; c = next) {
        next = c->next;
        a->footprint -= c->size;
        UNPOISON(c->data, c->size);
        em__mem_free(c, sizeof(*c) + c->size);
    }
    a->head->next = NULL;
}

size_t em__arena_footprint(const em_arena *a)
{
    return a->footprint;
}

void em__arena_destroy(em_arena *a)
{
    chunk *c, *next;

    if (a == NULL)
        return;
    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        UNPOISON(c->data, c->size);
        em__mem_free(c, sizeof(*c) + c->size);
    }
    em__mem_free(a, sizeof(*a));
}

void em_arena_destroy(em_arena *a)
{
    em__arena_destroy(a);
}
