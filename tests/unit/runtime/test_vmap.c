/* Tests of value hash maps (runtime/vmap.h): upsert and get checked
 * against a plain array indexed by a key's identity (ints and the floats
 * equal to them share one), growth through many resizes, keys copied
 * into the map, and out-of-memory sweeps.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/vmap.h"

/* Key identities: kind * SPAN + k. Kind 0 is the number k (as an int or
 * as the equal float), 1 the string "s<k>", 2 the array [k, "x"], 3 the
 * float k + 0.5. */
#define SPAN 1000
#define NKINDS 4

/* Builds the key of identity id in `a`; which spelling of a number is
 * chosen by `variant`. */
static em_val make_key(em_arena *a, int id, unsigned variant)
{
    int kind = id / SPAN, k = id % SPAN;
    char buf[32];
    em_val out, *items;
    int n;

    switch (kind) {
    case 0:
        return variant % 2 ? em_float((double)k) : em_int(k);
    case 1:
        n = snprintf(buf, sizeof(buf), "s%d", k);
        EM_CHECK(em_str_copy(a, buf, (size_t)n, &out));
        return out;
    case 2:
        items = em_array_make(a, 2, &out);
        assert_non_null(items);
        items[0] = variant % 2 ? em_float((double)k) : em_int(k);
        EM_CHECK(em_str_copy(a, "x", 1, &items[1]));
        return out;
    default:
        return em_float(k + 0.5);
    }
}

/* The reference: counts per identity. */
typedef struct ref_map {
    int64_t count[NKINDS * SPAN];
    bool is_present[NKINDS * SPAN];
    size_t n;
} ref_map;

static void test_vmap_against_reference(void **state)
{
    static ref_map ref;
    em_test_rng r = {2024};
    em__vmap m;

    (void)state;
    memset(&ref, 0, sizeof(ref));
    EM_CHECK(em__vmap_init(&m));
    for (int step = 0; step < 20000; step++) {
        em_arena *tmp = em_arena_create();
        int id = (int)em_test_below(&r, NKINDS * SPAN);
        em_val key, *slot;
        bool is_new = !ref.is_present[id];
        bool got_new;

        assert_non_null(tmp);
        key = make_key(tmp, id, (unsigned)em_test_below(&r, 2));
        if (em_test_below(&r, 4) == 0) {
            /* a lookup only */
            slot = em__vmap_get(&m, key);
            if (ref.is_present[id]) {
                assert_non_null(slot);
                assert_int_equal(slot->u.i, ref.count[id]);
            } else {
                assert_null(slot);
            }
            em_arena_destroy(tmp);
            continue;
        }
        slot = em__vmap_upsert(&m, key, &got_new);
        assert_non_null(slot);
        assert_int_equal(got_new, is_new);
        if (got_new) {
            assert_int_equal(slot->type, EM_NIL);
            *slot = em_int(0);
            ref.is_present[id] = true;
            ref.n++;
        }
        slot->u.i++;
        ref.count[id]++;
        em_arena_destroy(tmp);
        assert_int_equal(m.n, ref.n);
    }
    /* every identity, present or not, in both spellings */
    for (int id = 0; id < NKINDS * SPAN; id++) {
        em_arena *tmp = em_arena_create();
        assert_non_null(tmp);
        for (unsigned v = 0; v < 2; v++) {
            em_val *slot = em__vmap_get(&m, make_key(tmp, id, v));
            if (ref.is_present[id]) {
                assert_non_null(slot);
                assert_int_equal(slot->u.i, ref.count[id]);
            } else {
                assert_null(slot);
            }
        }
        em_arena_destroy(tmp);
    }
    /* and the slots hold exactly the keys, each once */
    {
        size_t held = 0;
        for (size_t i = 0; i < m.cap; i++)
            held += m.slots[i].hash != 0;
        assert_int_equal(held, ref.n);
    }
    em__vmap_fini(&m);
}

/* 1 and 1.0 (and -0.0 and 0) are one key. */
static void test_vmap_numbers_equal_across_types(void **state)
{
    em__vmap m;
    bool is_new;
    em_val *slot;

    (void)state;
    EM_CHECK(em__vmap_init(&m));
    slot = em__vmap_upsert(&m, em_int(1), &is_new);
    assert_non_null(slot);
    assert_true(is_new);
    *slot = em_cstr("one");
    slot = em__vmap_upsert(&m, em_float(1.0), &is_new);
    assert_non_null(slot);
    assert_false(is_new);
    assert_true(em_val_eq(*slot, em_cstr("one")));
    assert_non_null(em__vmap_upsert(&m, em_float(-0.0), &is_new));
    assert_true(is_new);
    assert_non_null(em__vmap_upsert(&m, em_int(0), &is_new));
    assert_false(is_new);
    assert_non_null(em__vmap_upsert(&m, em_float(NAN), &is_new));
    assert_true(is_new);
    assert_non_null(em__vmap_upsert(&m, em_float(-NAN), &is_new));
    assert_false(is_new);
    assert_non_null(em__vmap_get(&m, em_float(NAN)));
    assert_null(em__vmap_get(&m, em_float(1.5)));
    assert_null(em__vmap_get(&m, em_cstr("1")));
    assert_int_equal(m.n, 3);
    em__vmap_fini(&m);
}

static void test_vmap_growth(void **state)
{
    em__vmap m;
    size_t cap0, bytes0;
    bool is_new;

    (void)state;
    EM_CHECK(em__vmap_init(&m));
    cap0 = m.cap;
    bytes0 = em__vmap_bytes(&m);
    for (int64_t i = 0; i < 100000; i++) {
        em_val *slot = em__vmap_upsert(&m, em_int(i * 7919), &is_new);
        assert_non_null(slot);
        assert_true(is_new);
        *slot = em_int(i);
    }
    assert_int_equal(m.n, 100000);
    /* many doublings, and never fuller than the load factor allows */
    assert_true(m.cap >= cap0 << 10);
    assert_true(m.n < m.cap);
    assert_true(em__vmap_bytes(&m) > bytes0);
    for (int64_t i = 0; i < 100000; i++) {
        em_val *slot = em__vmap_get(&m, em_float((double)(i * 7919)));
        assert_non_null(slot);
        assert_int_equal(slot->u.i, i);
        assert_null(em__vmap_get(&m, em_int(i * 7919 + 1)));
    }
    em__vmap_fini(&m);
}

static void test_vmap_keys_copied(void **state)
{
    em_arena *src = em_arena_create();
    em__vmap m;
    bool is_new;
    char word[16];

    (void)state;
    assert_non_null(src);
    EM_CHECK(em__vmap_init(&m));
    for (int i = 0; i < 300; i++) {
        em_val *slot = em__vmap_upsert(&m, make_key(src, SPAN + i, 0),
                                       &is_new);
        assert_non_null(slot);
        assert_true(is_new);
        *slot = em_int(i);
        slot = em__vmap_upsert(&m, make_key(src, 2 * SPAN + i, 0), &is_new);
        assert_non_null(slot);
        *slot = em_int(-i);
    }
    /* the sources are gone: lookups must read only the map's copies */
    em_arena_destroy(src);
    src = em_arena_create();
    assert_non_null(src);
    for (int i = 0; i < 300; i++) {
        em_val *slot;
        snprintf(word, sizeof(word), "s%d", i);
        slot = em__vmap_get(&m, em_cstr(word));
        assert_non_null(slot);
        assert_int_equal(slot->u.i, i);
        slot = em__vmap_get(&m, make_key(src, 2 * SPAN + i, 1));
        assert_non_null(slot);
        assert_int_equal(slot->u.i, -i);
    }
    for (size_t i = 0; i < m.cap; i++) {
        char buf[64];
        if (m.slots[i].hash != 0)
            em_val_format(m.slots[i].key, buf, sizeof(buf));
    }
    em_arena_destroy(src);
    em__vmap_fini(&m);
}

/* Fills a fresh map with n string and array keys. */
static em_status fill_map(void *arg)
{
    const int *n = arg;
    em_arena *tmp = em_arena_create();
    em__vmap m;
    em_status st = EM_OK;
    bool is_new;

    if (tmp == NULL)
        return EM_ENOMEM;
    st = em__vmap_init(&m);
    if (st != EM_OK) {
        em_arena_destroy(tmp);
        return st;
    }
    for (int i = 0; i < *n && st == EM_OK; i++) {
        em__arena_mark mk = em__arena_mark_get(tmp);
        char buf[80];
        em_val key, *items, *slot;
        int len = snprintf(buf, sizeof(buf), "a longer key string number %d "
                           "to fill chunks", i);
        items = em_array_make(tmp, 2, &key);
        if (items == NULL) {
            st = EM_ENOMEM;
            break;
        }
        items[0] = em_str(buf, (size_t)len);
        items[1] = em_int(i);
        slot = em__vmap_upsert(&m, i % 2 ? key : items[0], &is_new);
        if (slot == NULL)
            st = EM_ENOMEM;
        else if (!is_new)
            st = EM_EINVAL;
        else
            *slot = em_int(i);
        em__arena_rewind(tmp, mk);
    }
    if (st == EM_OK && m.n != (size_t)*n)
        st = EM_EINVAL;
    em__vmap_fini(&m);
    em_arena_destroy(tmp);
    return st;
}

static void test_vmap_oom_sweep(void **state)
{
    int n = 3000;

    (void)state;
    assert_true(em_test_oom_sweep(fill_map, &n, 100000) > 5);
}

/* A failed init leaves nothing to free. */
static em_status init_only(void *arg)
{
    em__vmap m;
    em_status st = em__vmap_init(&m);

    (void)arg;
    if (st == EM_OK)
        em__vmap_fini(&m);
    return st;
}

static void test_vmap_init_oom(void **state)
{
    (void)state;
    assert_true(em_test_oom_sweep(init_only, NULL, 10) >= 1);
}

/* A failed insert leaves the map as it was and usable. */
static void test_vmap_upsert_oom_keeps_map(void **state)
{
    em__vmap m;
    bool is_new;
    em_val *slot;
    size_t n;
    char big[300];

    (void)state;
    memset(big, 'k', sizeof(big));
    EM_CHECK(em__vmap_init(&m));
    for (int i = 0; i < 40; i++) {
        slot = em__vmap_upsert(&m, em_int(i), &is_new);
        assert_non_null(slot);
        *slot = em_int(i);
    }
    n = m.n;
    /* a string key needs arena memory (the first chunk) */
    em_mem_fail_after(0);
    slot = em__vmap_upsert(&m, em_str(big, sizeof(big)), &is_new);
    em_mem_fail_after(-1);
    assert_null(slot);
    assert_int_equal(m.n, n);
    assert_null(em__vmap_get(&m, em_str(big, sizeof(big))));
    for (int i = 0; i < 40; i++) {
        slot = em__vmap_get(&m, em_int(i));
        assert_non_null(slot);
        assert_int_equal(slot->u.i, i);
    }
    slot = em__vmap_upsert(&m, em_str(big, sizeof(big)), &is_new);
    assert_non_null(slot);
    assert_true(is_new);
    em__vmap_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_vmap_against_reference),
        EM_TEST(test_vmap_numbers_equal_across_types),
        EM_TEST(test_vmap_growth),
        EM_TEST(test_vmap_keys_copied),
        EM_TEST(test_vmap_oom_sweep),
        EM_TEST(test_vmap_init_oom),
        EM_TEST(test_vmap_upsert_oom_keeps_map),
    };

    return cmocka_run_group_tests_name("vmap", tests, NULL, NULL);
}
