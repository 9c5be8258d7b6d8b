/* Arenas: bump allocation on chunks from the allocation wrapper. Records of
 * a partition live in its arena and are freed as a whole; a task's scratch
 * arena is rewound to a mark after each record has been consumed. The
 * public type em_arena (ember/val.h) is this arena.
 */
#ifndef EMBER_RUNTIME_ARENA_H
#define EMBER_RUNTIME_ARENA_H

#include <stddef.h>

#include "ember/val.h"

/* A position in an arena, to rewind to. */
typedef struct em__arena_mark {
    void *chunk;  /* the chunk that was current */
    size_t off;   /* its fill offset */
    size_t used;  /* em_arena_used at the mark */
} em__arena_mark;

/* Creates an arena whose chunks are at least chunk_bytes (0: 64 KiB). */
em_arena *em__arena_create(size_t chunk_bytes);

/* Allocates n bytes aligned to align (a power of two <= 64). NULL when out
 * of memory, with em_last_error set. */
void *em__arena_alloc(em_arena *a, size_t n, size_t align);

/* Copies n bytes into the arena. */
void *em__arena_dup(em_arena *a, const void *p, size_t n);

/* The current position. */
em__arena_mark em__arena_mark_get(const em_arena *a);

/* Rewinds to a mark: everything allocated after it is gone; chunks are
 * kept for reuse. */
void em__arena_rewind(em_arena *a, em__arena_mark m);

/* Rewinds to empty, keeping the first chunk. */
void em__arena_reset(em_arena *a);

/* Bytes of memory the arena holds (chunks), for budgets. */
size_t em__arena_footprint(const em_arena *a);

void em__arena_destroy(em_arena *a);

#endif /* EMBER_RUNTIME_ARENA_H */
