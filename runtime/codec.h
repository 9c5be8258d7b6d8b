/* The value codec: every em_val to and from msgpack (msgpack-c), used for
 * the wire, shuffle files, spill, serialized cache and broadcasts. The
 * format table is in docs/values.md. The decoder is the guard against
 * untrusted bytes: it enforces limits and rejects malformed, truncated or
 * oversized input with EM_EFORMAT or EM_ELIMIT, never reading past the
 * input.
 */
#ifndef EMBER_RUNTIME_CODEC_H
#define EMBER_RUNTIME_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ember/val.h"

/* Limits enforced while decoding one value. */
typedef struct em__codec_limits {
    size_t max_bytes;    /* encoded size of the value */
    uint32_t max_depth;  /* nesting of arrays/maps/vectors */
    uint32_t max_elems;  /* elements of one array, map, vector or string */
} em__codec_limits;

/* Defaults: 1 GiB, depth 64, 2^28 elements. */
extern const em__codec_limits em__codec_default_limits;

/* msgpack ext type codes used for Ember's own types. */
enum {
    EM__EXT_VEC = 1,    /* little-endian doubles */
    EM__EXT_SPVEC = 2,  /* int64 dim, u32 nnz, u32 idx[nnz], double val[] */
    EM__EXT_HANDLE = 3, /* u16 kind, then the kind's state bytes */
};

/* Appends the encoding of v to b. EM_ENOMEM leaves b's content as it was
 * before the call (its length restored). */
em_status em__codec_encode(em__buf *b, em_val v);

/* Decodes one value from the n bytes at p into `a` (strings and bytes are
 * copied into the arena, so the input may be freed afterwards). *used_out
 * (optional) receives the bytes consumed. lim may be NULL for defaults.
 * EM_EFORMAT for malformed or truncated input, EM_ELIMIT past a limit,
 * EM_ENOMEM; *out is written only on success. */
em_status em__codec_decode(const uint8_t *p, size_t n,
                           const em__codec_limits *lim, em_arena *a,
                           em_val *out, size_t *used_out);

#endif /* EMBER_RUNTIME_CODEC_H */
