/* Ember's value type: one 16-byte tagged value used for every record, key,
 * closure environment and result. Equality, total order and hash are defined
 * once, in runtime/val.c; see docs/values.md for the rules and the encoding.
 * Part of the public API; included by ember.h.
 */
#ifndef EMBER_INCLUDE_VAL_H
#define EMBER_INCLUDE_VAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Value types, in the order of the total order across types. Ints and floats
 * form one "number" class and compare by value. */
typedef enum em_type {
    EM_NIL = 0,
    EM_BOOL,
    EM_INT,
    EM_FLOAT,
    EM_STR,
    EM_BYTES,
    EM_ARRAY,  /* immutable sequence; a pair is a 2-element array */
    EM_MAP,    /* keys unique and sorted by the total order */
    EM_VEC,    /* dense vector of doubles */
    EM_SPVEC,  /* sparse vector: dimension, sorted indices, values */
    EM_HANDLE, /* operator state of a registered handle kind */
    EM_NTYPES
} em_type;

struct em_val;

/* A sparse vector's body; `len` of the value is the number of non-zeros. */
typedef struct em_spvec {
    int64_t dim;          /* the vector's dimension */
    const uint32_t *idx;  /* strictly increasing indices, each < dim */
    const double *val;    /* the non-zero values, parallel to idx */
} em_spvec;

/* A value. Scalars are held inline; str, bytes, array, map, vectors and
 * handles point into memory owned by someone else (an arena, the caller's
 * buffer, static storage): a value never owns what it points to. */
typedef struct em_val {
    uint8_t type;   /* em_type */
    uint8_t flags;  /* reserved, 0 */
    uint16_t kind;  /* handle kind id for EM_HANDLE, else 0 */
    uint32_t len;   /* bytes (str, bytes), elements (array, vec), pairs
                       (map), non-zeros (spvec), state bytes (handle) */
    union {
        bool b;
        int64_t i;
        double f;
        const char *s;
        const uint8_t *bytes;
        const struct em_val *arr;
        const struct em_val *map; /* 2*len values: k0, v0, k1, v1, ... */
        const double *vec;
        const em_spvec *sp;
        const void *state;        /* handle state: len bytes */
    } u;
} em_val;

_Static_assert(sizeof(em_val) == 16, "em_val must stay 16 bytes");

/* An arena: bump allocation for values that live and die together. The
 * library's results are placed in an arena the caller owns; a user function
 * allocates its outputs from the task's arena (em_task_arena). */
typedef struct em_arena em_arena;

/* Creates an empty arena. Returns NULL (em_last_error set) when out of
 * memory. Free with em_arena_destroy. */
EM_API em_arena *em_arena_create(void);

/* Frees the arena and every value allocated from it. Accepts NULL. */
EM_API void em_arena_destroy(em_arena *a);

/* Allocates n bytes aligned to 16 from the arena; NULL when out of memory.
 * The memory lives until the arena is destroyed or reset. */
EM_API void *em_arena_alloc(em_arena *a, size_t n);

/* Bytes handed out by this arena so far. */
EM_API size_t em_arena_used(const em_arena *a);

/* ---- constructors (no allocation) ---- */

static inline em_val em_nil(void)
{
    em_val v = {0};
    return v;
}

static inline em_val em_bool(bool b)
{
    em_val v = {0};
    v.type = EM_BOOL;
    v.u.b = b;
    return v;
}

static inline em_val em_int(int64_t i)
{
    em_val v = {0};
    v.type = EM_INT;
    v.u.i = i;
    return v;
}

static inline em_val em_float(double f)
{
    em_val v = {0};
    v.type = EM_FLOAT;
    v.u.f = f;
    return v;
}

/* A string value viewing n bytes at s (borrowed, not copied). */
static inline em_val em_str(const char *s, size_t n)
{
    em_val v = {0};
    v.type = EM_STR;
    v.len = (uint32_t)n;
    v.u.s = s;
    return v;
}

/* A string value viewing the NUL-terminated string s (borrowed). */
EM_API em_val em_cstr(const char *s);

/* A bytes value viewing n bytes at p (borrowed). */
static inline em_val em_bytes(const void *p, size_t n)
{
    em_val v = {0};
    v.type = EM_BYTES;
    v.len = (uint32_t)n;
    v.u.bytes = (const uint8_t *)p;
    return v;
}

/* An array value viewing n values at items (borrowed). */
static inline em_val em_array(const em_val *items, size_t n)
{
    em_val v = {0};
    v.type = EM_ARRAY;
    v.len = (uint32_t)n;
    v.u.arr = items;
    return v;
}

/* A dense vector viewing n doubles at x (borrowed). */
static inline em_val em_vec(const double *x, size_t n)
{
    em_val v = {0};
    v.type = EM_VEC;
    v.len = (uint32_t)n;
    v.u.vec = x;
    return v;
}

/* ---- constructors that allocate from an arena ---- */

/* Makes an array of n elements in `a`, all nil, and returns a pointer to the
 * elements for the caller to fill before the value is used; *out is the
 * array value. Returns NULL when out of memory or n is too large. */
EM_API em_val *em_array_make(em_arena *a, size_t n, em_val *out);

/* Makes the pair (k, v) in `a`. k and v are stored shallowly: what they point
 * to must live as long as the pair. */
EM_API em_status em_pair_make(em_arena *a, em_val k, em_val v, em_val *out);

/* Copies n bytes at s into `a` and makes a string value of them. */
EM_API em_status em_str_copy(em_arena *a, const char *s, size_t n, em_val *out);

/* Makes a map from n key/value pairs (kv holds k0, v0, k1, v1, ...): copies
 * the pairs shallowly, sorts them by key and keeps the last value of a
 * repeated key. */
EM_API em_status em_map_make(em_arena *a, const em_val *kv, size_t n, em_val *out);

/* Makes a dense vector of n zeros in `a`; returns the writable elements. */
EM_API double *em_vec_make(em_arena *a, size_t n, em_val *out);

/* Makes a sparse vector of dimension dim from nnz (index, value) entries;
 * indices must be strictly increasing and below dim (EM_EINVAL otherwise). */
EM_API em_status em_spvec_make(em_arena *a, int64_t dim, const uint32_t *idx,
                        const double *val, size_t nnz, em_val *out);

/* Deep-copies v into `a`, so that the copy depends on nothing v points to. */
EM_API em_status em_val_copy(em_arena *a, em_val v, em_val *out);

/* ---- comparison and hashing: one definition for the whole system ---- */

/* True when a and b are equal: same type class and contents; an int and a
 * float are equal when their values are. NaN equals NaN here (total order). */
EM_API bool em_val_eq(em_val a, em_val b);

/* Total order: negative, 0 or positive. Across types: nil < bool < number <
 * str < bytes < array < map < vec < spvec < handle; numbers by value (NaN
 * above every other number); str and bytes bytewise then by length; arrays
 * and maps elementwise then by length. */
EM_API int em_val_cmp(em_val a, em_val b);

/* A fixed, seedless 64-bit hash consistent with em_val_eq (a float with an
 * integral value hashes as that integer). Stable across processes,
 * machines and releases: partitioners depend on it. */
EM_API uint64_t em_val_hash(em_val v);

/* Writes a readable rendering of v to buf (at most cap bytes, always
 * NUL-terminated when cap > 0) and returns the length the full rendering
 * needs, as snprintf. A top-level string is written raw; inside containers
 * strings are quoted: ['a', 1], {'k': 2.5}, nil. */
EM_API size_t em_val_format(em_val v, char *buf, size_t cap);

/* Accessors that check the type: the value for true, false when v has
 * another type. */
EM_API bool em_val_as_int(em_val v, int64_t *out);
EM_API bool em_val_as_float(em_val v, double *out); /* ints convert */
EM_API bool em_val_is_pair(em_val v);

/* Name of a type ("int", "str", ...). */
EM_API const char *em_type_name(em_type t);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_VAL_H */
