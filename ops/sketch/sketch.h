/* Shared pieces of the sketches: hash mixing, reduction to a range, and
 * little-endian words of the byte layouts (docs/ml.md, "Sketches").
 * Internal to ops/sketch/.
 */
#ifndef EMBER_OPS_SKETCH_SKETCH_H
#define EMBER_OPS_SKETCH_SKETCH_H

#include <stdint.h>
#include <string.h>

#include "ember.h"
#include "ember/ml.h"

/* The layouts are little-endian and read and written in host order. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the sketch layouts assume a little-endian host");

/* splitmix64's finalizer: a bijective mix of 64 bits. */
static inline uint64_t em__sk_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* x mapped onto [0, n) (Lemire's multiply-shift). */
static inline uint64_t em__sk_range(uint64_t x, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)x * n) >> 64);
}

static inline uint64_t em__sk_get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline void em__sk_put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static inline uint32_t em__sk_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void em__sk_put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Copies the current em_last_error() message into the task's failure
 * (em_task_fail writes the same buffer). */
em_status em__sk_fail_last(em_task *t);

#endif /* EMBER_OPS_SKETCH_SKETCH_H */
