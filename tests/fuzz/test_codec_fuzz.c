/* Fuzzing the value decoder (runtime/codec.c) with fixed seeds: valid
 * encodings of random values are mutated (bit flips, byte replacement,
 * insertion, deletion, truncation, splicing two encodings) and decoded,
 * and so are random byte strings. Every input must either fail with
 * EM_EFORMAT or EM_ELIMIT, leaving the output and the arena untouched, or
 * decode to a well-formed value that re-encodes and re-decodes to the same
 * value and bytes. Each input sits in a heap block of its exact size, so
 * AddressSanitizer reports any read past its end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/codec.h"

#define N_BASES 48        /* valid encodings per seed */
#define MAX_BASE 1536     /* bytes of the largest base kept */
#define WORK_CAP 4096     /* bytes a mutated input may grow to */
#define MUTANTS 100000    /* mutated inputs per seed (4 seeds) */
#define RANDOM_INPUTS 40000

/* ---- helpers ---- */

static double double_of(uint64_t u)
{
    double f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Fails unless v keeps the invariants of val.h: known type, reserved
 * fields zero, map keys strictly increasing, sparse indices valid, and
 * nesting within max_depth. */
static void check_valid(em_val v, uint32_t depth, uint32_t max_depth)
{
    assert_true(v.type < EM_NTYPES);
    assert_int_equal(v.flags, 0);
    if (v.type != EM_HANDLE)
        assert_int_equal(v.kind, 0);
    if (v.type == EM_ARRAY || v.type == EM_MAP || v.type == EM_VEC ||
        v.type == EM_SPVEC)
        assert_true(depth < max_depth);
    if (v.type == EM_ARRAY) {
        for (size_t i = 0; i < v.len; i++)
            check_valid(v.u.arr[i], depth + 1, max_depth);
    } else if (v.type == EM_MAP) {
        for (size_t i = 0; i < v.len; i++) {
            if (i > 0)
                assert_true(em_val_cmp(v.u.map[2 * i - 2], v.u.map[2 * i]) < 0);
            check_valid(v.u.map[2 * i], depth + 1, max_depth);
            check_valid(v.u.map[2 * i + 1], depth + 1, max_depth);
        }
    } else if (v.type == EM_SPVEC) {
        assert_true(v.u.sp->dim >= 0);
        for (size_t i = 0; i < v.len; i++) {
            assert_true((int64_t)v.u.sp->idx[i] < v.u.sp->dim);
            assert_true(i == 0 || v.u.sp->idx[i] > v.u.sp->idx[i - 1]);
        }
    }
}

/* ---- random values (small, every type) ---- */

typedef struct gen {
    em_test_rng rng;
    em_arena *a;
} gen;

static uint64_t below(gen *g, uint64_t n)
{
    return em_test_below(&g->rng, n);
}

static double gen_double(gen *g)
{
    static const double edges[] = {0.0, -0.0, 1.0, -2.5, INFINITY, NAN,
                                   1e-310};

    if (below(g, 2))
        return edges[below(g, sizeof(edges) / sizeof(edges[0]))];
    return double_of(em_test_next(&g->rng));
}

static int64_t gen_int(gen *g)
{
    int shift;
    switch (below(g, 3)) {
    case 0:
        return (int64_t)below(g, 300) - 150;
    case 1:
        return below(g, 2) ? INT64_MIN : INT64_MAX;
    default:
        shift = (int)below(g, 64); /* drawn first: a fixed order */
        return (int64_t)(em_test_next(&g->rng) >> shift);
    }
}

static void *gen_blob(gen *g, size_t n)
{
    uint8_t *p = em_arena_alloc(g->a, n + 1);

    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(below(g, 2) ? 'a' + below(g, 4) : below(g, 256));
    return p;
}

static em_val gen_val(gen *g, int depth);

static em_val gen_seq(gen *g, int depth, bool is_map)
{
    size_t n = below(g, 7);
    em_val v, *items = em_array_make(g->a, is_map ? 2 * n : n, &v);

    assert_non_null(items);
    for (size_t i = 0; i < (is_map ? 2 * n : n); i++)
        items[i] = gen_val(g, depth + 1);
    if (is_map)
        assert_int_equal(em_map_make(g->a, items, n, &v), EM_OK);
    return v;
}

static em_val gen_spvec(gen *g)
{
    uint32_t idx[6];
    double val[6];
    int64_t dim = (int64_t)below(g, 40);
    size_t nnz = 0;
    em_val v;

    for (int64_t i = (int64_t)below(g, 3); i < dim && nnz < 6;
         i += 1 + (int64_t)below(g, 8)) {
        idx[nnz] = (uint32_t)i;
        val[nnz++] = gen_double(g);
    }
    assert_int_equal(em_spvec_make(g->a, dim, idx, val, nnz, &v), EM_OK);
    return v;
}

static em_val gen_val(gen *g, int depth)
{
    size_t n = below(g, 12);
    em_val v = em_nil();
    double *x;

    uint64_t r = depth < 4 ? below(g, 12) : below(g, 8);

    if (depth == 0 && below(g, 4) != 0)
        r = 9 + below(g, 3); /* mostly containers at the top */
    switch (r) {
    case 0:
        return em_nil();
    case 1:
        return em_bool(below(g, 2));
    case 2:
        return em_int(gen_int(g));
    case 3:
        return em_float(gen_double(g));
    case 4:
        return em_str(gen_blob(g, n), n);
    case 5:
        return em_bytes(gen_blob(g, n), n);
    case 6:
        v.type = EM_HANDLE;
        v.kind = (uint16_t)below(g, 70000);
        v.len = (uint32_t)below(g, 5);
        v.u.state = gen_blob(g, v.len);
        return v;
    case 7:
        x = em_vec_make(g->a, below(g, 5), &v);
        assert_non_null(x);
        for (size_t i = 0; i < v.len; i++)
            x[i] = gen_double(g);
        return v;
    case 8:
        return gen_spvec(g);
    case 9:
        return gen_seq(g, depth, true);
    default:
        return gen_seq(g, depth, false);
    }
}

/* ---- mutation ---- */

typedef struct input {
    uint8_t data[WORK_CAP];
    size_t n;
} input;

static uint8_t interesting_byte(gen *g)
{
    static const uint8_t bytes[] = {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
        0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcf, 0xd3,
        0xd4, 0xd7, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
    };

    return bytes[below(g, sizeof(bytes))];
}

static uint8_t some_byte(gen *g)
{
    return below(g, 2) ? interesting_byte(g) : (uint8_t)below(g, 256);
}

/* Applies one random mutation to in; other is a second valid encoding for
 * splicing. */
static void mutate(gen *g, input *in, const em__buf *other)
{
    size_t at = in->n ? below(g, in->n) : 0, k = 1 + below(g, 8);

    switch (below(g, 9)) {
    case 0: /* bit flip */
        if (in->n)
            in->data[at] ^= (uint8_t)(1u << below(g, 8));
        break;
    case 1:
    case 2: /* byte replace */
        if (in->n)
            in->data[at] = some_byte(g);
        break;
    case 3: /* insert */
        if (in->n + k > WORK_CAP)
            break;
        memmove(in->data + at + k, in->data + at, in->n - at);
        for (size_t i = 0; i < k; i++)
            in->data[at + i] = some_byte(g);
        in->n += k;
        break;
    case 4: /* delete */
        k = k < in->n - at ? k : in->n - at;
        memmove(in->data + at, in->data + at + k, in->n - at - k);
        in->n -= k;
        break;
    case 5: /* truncate */
        in->n = at;
        break;
    case 6: { /* splice: our prefix, then a suffix of the other */
        size_t from = below(g, other->len + 1);
        if (at + other->len - from > WORK_CAP)
            break;
        memcpy(in->data + at, other->data + from, other->len - from);
        in->n = at + other->len - from;
        break;
    }
    case 7: /* a run of 0xff or 0x00, as a length field */
        k = k < in->n - at ? k : in->n - at;
        memset(in->data + at, below(g, 2) ? 0xff : 0x00, k);
        break;
    default: /* copy a chunk of ourselves elsewhere */
        if (in->n) {
            size_t from = below(g, in->n);
            k = k < in->n - from ? k : in->n - from;
            k = k < in->n - at ? k : in->n - at;
            memmove(in->data + at, in->data + from, k);
        }
        break;
    }
}

/* ---- the property ---- */

typedef struct stats {
    size_t ok, eformat, elimit;
} stats;

/* Decodes n bytes (in a heap block of exactly n bytes) and checks the
 * outcome as described at the top of the file. */
static void check_input(const uint8_t *bytes, size_t n, bool is_tight,
                        em_arena *a, stats *s)
{
    static const em__codec_limits tight = {96, 3, 6};
    const em__codec_limits *lim = is_tight ? &tight : NULL;
    uint8_t *p = malloc(n ? n : 1);
    em__buf b = EM__BUF_INIT, b2 = EM__BUF_INIT;
    em_val v = em_str("sentinel", 8), v2;
    size_t used = SIZE_MAX, before = em_arena_used(a);
    em_status st;

    assert_non_null(p);
    if (n)
        memcpy(p, bytes, n);
    st = em__codec_decode(p, n, lim, a, &v, &used);
    if (st != EM_OK) {
        if (st != EM_EFORMAT && st != EM_ELIMIT)
            fail_msg("decode: %s (%s)", em_status_name(st), em_last_error());
        assert_true(v.type == EM_STR && v.len == 8 && used == SIZE_MAX);
        assert_int_equal(em_arena_used(a), before);
        if (st == EM_EFORMAT)
            s->eformat++;
        else
            s->elimit++;
        free(p);
        return;
    }
    s->ok++;
    assert_true(used >= 1 && used <= n);
    check_valid(v, 0, is_tight ? tight.max_depth : 64);
    free(p); /* the value must not point into the input */
    if (em__codec_encode(&b, v) != EM_OK)
        fail_msg("re-encode: %s", em_last_error());
    if (em__codec_decode(b.data, b.len, NULL, a, &v2, &used) != EM_OK)
        fail_msg("re-decode: %s", em_last_error());
    assert_int_equal(used, b.len);
    assert_true(em_test_identical(v, v2) && em_val_eq(v, v2));
    assert_int_equal(em__codec_encode(&b2, v2), EM_OK);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    em__buf_fini(&b);
    em__buf_fini(&b2);
}

/* ---- cases ---- */

static void test_codec_fuzz_mutations(void **state)
{
    static const uint64_t seeds[] = {11, 22, 33, 44};
    em_arena *vals = em_arena_create(), *dec = em_arena_create();
    em__buf bases[N_BASES];
    static input in;
    stats s = {0, 0, 0};

    (void)state;
    for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
        gen g = {{seeds[si]}, vals};
        for (int i = 0; i < N_BASES; i++) {
            bases[i] = (em__buf)EM__BUF_INIT;
            do {
                bases[i].len = 0;
                EM_CHECK(em__codec_encode(&bases[i], gen_val(&g, 0)));
            } while (bases[i].len > MAX_BASE);
        }
        for (int m = 0; m < MUTANTS; m++) {
            const em__buf *base = &bases[below(&g, N_BASES)];
            int k = 1 + (int)below(&g, 4);
            memcpy(in.data, base->data, base->len);
            in.n = base->len;
            while (k-- > 0)
                mutate(&g, &in, &bases[below(&g, N_BASES)]);
            check_input(in.data, in.n, below(&g, 8) == 0, dec, &s);
            if (m % 256 == 255)
                em__arena_reset(dec);
        }
        for (int i = 0; i < N_BASES; i++)
            em__buf_fini(&bases[i]);
        em__arena_reset(vals);
    }
    print_message("%zu mutated inputs: %zu decoded, %zu malformed, %zu over "
                  "limits\n", s.ok + s.eformat + s.elimit, s.ok, s.eformat,
                  s.elimit);
    /* the mutations reach every outcome often */
    assert_true(s.ok > 10000 && s.eformat > 10000 && s.elimit > 1000);
    em_arena_destroy(dec);
    em_arena_destroy(vals);
}

/* Random bytes, half of them drawn from msgpack's type bytes. */
static void test_codec_fuzz_random_bytes(void **state)
{
    em_arena *a = em_arena_create(), *dec = em_arena_create();
    gen g = {{5150}, a};
    uint8_t buf[256];
    stats s = {0, 0, 0};

    (void)state;
    for (int i = 0; i < RANDOM_INPUTS; i++) {
        size_t n = below(&g, 4) ? below(&g, 24) : below(&g, sizeof(buf));
        for (size_t j = 0; j < n; j++)
            buf[j] = some_byte(&g);
        check_input(buf, n, below(&g, 8) == 0, dec, &s);
        if (i % 256 == 255)
            em__arena_reset(dec);
    }
    print_message("%d random inputs: %zu decoded, %zu malformed, %zu over "
                  "limits\n", RANDOM_INPUTS, s.ok, s.eformat, s.elimit);
    assert_true(s.ok > 1000 && s.eformat > 1000);
    em_arena_destroy(dec);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_codec_fuzz_mutations),
        EM_TEST(test_codec_fuzz_random_bytes),
    };

    return cmocka_run_group_tests_name("codec_fuzz", tests, NULL, NULL);
}
