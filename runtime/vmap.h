/* A hash map from values to values (open addressing, linear probing),
 * keyed by the one hash and equality of val.h. Keys are deep-copied into
 * the map's arena on insert; values are whatever the caller stores (copy
 * them into em__vmap_arena() when they must live as long as the map). Used
 * for map-side combining, countByValue and other per-key state.
 */
#ifndef EMBER_RUNTIME_VMAP_H
#define EMBER_RUNTIME_VMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/val.h"

typedef struct em__vmap_slot {
    uint64_t hash;  /* the key's hash; 0 marks an empty slot */
    em_val key;     /* in the map's arena */
    em_val val;     /* the caller's value */
} em__vmap_slot;

typedef struct em__vmap {
    em_arena *arena;       /* keys (and values the caller copies) */
    em__vmap_slot *slots;  /* cap slots, cap a power of two */
    size_t cap;
    size_t n;              /* keys held */
} em__vmap;

em_status em__vmap_init(em__vmap *m);

/* Finds key, inserting it with a nil value when absent (*is_new_out set
 * accordingly). Returns the value slot, valid until the next insert; NULL
 * when out of memory. */
em_val *em__vmap_upsert(em__vmap *m, em_val key, bool *is_new_out);

/* The value slot of key, or NULL when absent. */
em_val *em__vmap_get(const em__vmap *m, em_val key);

/* Bytes the map uses (slots and what its arena handed out), for
 * budgets. */
size_t em__vmap_bytes(const em__vmap *m);

void em__vmap_fini(em__vmap *m);

#endif /* EMBER_RUNTIME_VMAP_H */
