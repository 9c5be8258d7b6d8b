/* Value hash maps (see vmap.h). */
#include "vmap.h"

#include <string.h>

#include "arena.h"
#include "err.h"
#include "mem.h"

/* Hash 0 marks an empty slot, so a key hashing to 0 is stored as 1. */
static uint64_t slot_hash(em_val k)
{
    uint64_t h = em_val_hash(k);

    return h ? h : 1;
}

em_status em__vmap_init(em__vmap *m)
{
    memset(m, 0, sizeof(*m));
    m->cap = 64;
    m->slots = em__mem_calloc(m->cap, sizeof(*m->slots));
    if (m->slots == NULL)
        return EM_ENOMEM;
    m->arena = em__arena_create(0);
    if (m->arena == NULL) {
        em__mem_free(m->slots, m->cap * sizeof(*m->slots));
        return EM_ENOMEM;
    }
    return EM_OK;
}

/* em_val_eq with the common case, string keys, inline. */
static inline bool key_eq(em_val a, em_val b)
{
    if (a.type == EM_STR && b.type == EM_STR)
        return a.len == b.len && memcmp(a.u.s, b.u.s, a.len) == 0;
    return em_val_eq(a, b);
}

static em__vmap_slot *probe(em__vmap_slot *slots, size_t cap, uint64_t h,
                            em_val k)
{
    size_t i = (size_t)h & (cap - 1);

    for (;;) {
        em__vmap_slot *s = &slots[i];
        if (s->hash == 0 || (s->hash == h && key_eq(s->key, k)))
            return s;
        i = (i + 1) & (cap - 1);
    }
}

static em_status grow(em__vmap *m)
{
    size_t ncap = m->cap * 2;
    em__vmap_slot *ns = em__mem_calloc(ncap, sizeof(*ns));

    if (ns == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].hash != 0)
            *probe(ns, ncap, m->slots[i].hash, m->slots[i].key) = m->slots[i];
    }
    em__mem_free(m->slots, m->cap * sizeof(*m->slots));
    m->slots = ns;
    m->cap = ncap;
    return EM_OK;
}

em_val *em__vmap_upsert(em__vmap *m, em_val key, bool *is_new_out)
{
    uint64_t h = slot_hash(key);
    em__vmap_slot *s;

    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) != EM_OK)
        return NULL;
    s = probe(m->slots, m->cap, h, key);
    if (s->hash != 0) {
        *is_new_out = false;
        return &s->val;
    }
    if (em_val_copy(m->arena, key, &s->key) != EM_OK)
        return NULL;
    s->hash = h;
    s->val = em_nil();
    m->n++;
    *is_new_out = true;
    return &s->val;
}

em_val *em__vmap_get(const em__vmap *m, em_val key)
{
    em__vmap_slot *s = probe(m->slots, m->cap, slot_hash(key), key);

    return s->hash != 0 ? &s->val : NULL;
}

size_t em__vmap_bytes(const em__vmap *m)
{
    return m->cap * sizeof(*m->slots) + em_arena_used(m->arena);
}

void em__vmap_fini(em__vmap *m)
{
    em__mem_free(m->slots, m->cap * sizeof(*m->slots));
    em__arena_destroy(m->arena);
    memset(m, 0, sizeof(*m));
}
