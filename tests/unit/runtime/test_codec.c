/* Tests of the value codec (runtime/codec.h, runtime/codec.c): exact round
 * trips of every type, the pinned byte layout of docs/values.md, foreign but
 * valid msgpack, malformed ext payloads, truncation at every prefix, the
 * decoder limits, lying headers, many random values, and out-of-memory
 * sweeps over encoding and decoding.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/codec.h"
#include "runtime/mem.h"

/* ---- helpers ---- */

static double double_of(uint64_t u)
{
    double f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static em_val handle_of(uint16_t kind, const void *state, uint32_t len)
{
    em_val v = {0};

    v.type = EM_HANDLE;
    v.kind = kind;
    v.len = len;
    v.u.state = state;
    return v;
}

static em_val spvec_of(em_arena *a, int64_t dim, const uint32_t *idx,
                       const double *val, size_t nnz)
{
    em_val v;

    EM_CHECK(em_spvec_make(a, dim, idx, val, nnz, &v));
    return v;
}

static em_val map_of(em_arena *a, const em_val *kv, size_t n)
{
    em_val m;

    EM_CHECK(em_map_make(a, kv, n, &m));
    return m;
}

/* Encodes v, decodes it into a, checks the result is identical and that
 * re-encoding gives the same bytes; returns the decoded value. */
static em_val round_trip(em_arena *a, em_val v)
{
    em__buf b = EM__BUF_INIT, b2 = EM__BUF_INIT;
    em_val got;
    size_t used = 0;

    EM_CHECK(em__codec_encode(&b, v));
    EM_CHECK(em__codec_decode(b.data, b.len, NULL, a, &got, &used));
    assert_int_equal(used, b.len);
    if (!em_test_identical(v, got) || !em_val_eq(v, got)) {
        char want[256], have[256];
        em_val_format(v, want, sizeof(want));
        em_val_format(got, have, sizeof(have));
        fail_msg("round trip changed %s into %s", want, have);
    }
    EM_CHECK(em__codec_encode(&b2, got));
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    em__buf_fini(&b);
    em__buf_fini(&b2);
    return got;
}

/* Checks that v encodes to exactly the n bytes at want. */
static void expect_bytes(em_val v, const uint8_t *want, size_t n)
{
    em__buf b = EM__BUF_INIT;

    EM_CHECK(em__codec_encode(&b, v));
    if (b.len != n || memcmp(b.data, want, n) != 0) {
        fprintf(stderr, "got:");
        for (size_t i = 0; i < b.len; i++)
            fprintf(stderr, " %02x", b.data[i]);
        fprintf(stderr, "\n");
        fail_msg("encoding differs (%zu bytes, want %zu)", b.len, n);
    }
    em__buf_fini(&b);
}

/* Decodes n bytes with limits lim (NULL: defaults) and checks the status;
 * a failure must leave *out and the arena untouched. */
static em_val expect_decode(em_arena *a, const uint8_t *p, size_t n,
                            const em__codec_limits *lim, em_status want)
{
    em_val out = em_str("untouched", 9);
    size_t used = 12345, before = em_arena_used(a);
    em_status st = em__codec_decode(p, n, lim, a, &out, &used);

    if (st != want)
        fail_msg("decode: %s (%s), want %s", em_status_name(st),
                 em_last_error(), em_status_name(want));
    if (st != EM_OK) {
        assert_int_equal(out.type, EM_STR);
        assert_int_equal(used, 12345);
        assert_int_equal(em_arena_used(a), before);
        assert_true(strncmp(em_last_error(), "codec: ", 7) == 0);
    } else {
        assert_true(used <= n);
    }
    return out;
}

/* ---- random values ---- */

typedef struct gen {
    em_test_rng rng;
    em_arena *a;
    uint32_t max_depth;  /* nesting allowed below the top */
} gen;

static uint64_t below(gen *g, uint64_t n)
{
    return em_test_below(&g->rng, n);
}

static int64_t gen_int(gen *g)
{
    static const int64_t edges[] = {
        0, 1, -1, 127, 128, -32, -33, 255, 256, -128, -129, 65535, 65536,
        -32768, -32769, INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN,
        (int64_t)INT32_MIN - 1, UINT32_MAX, (int64_t)UINT32_MAX + 1,
        INT64_MAX, INT64_MIN, INT64_MIN + 1,
    };
    int shift;

    switch (below(g, 4)) {
    case 0:
        return edges[below(g, sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return (int64_t)below(g, 200) - 100;
    case 2:
        shift = (int)below(g, 64); /* drawn first: a fixed order */
        return (int64_t)(em_test_next(&g->rng) >> shift);
    default:
        return (int64_t)em_test_next(&g->rng);
    }
}

static double gen_double(gen *g)
{
    static const double edges[] = {0.0, -0.0, 1.0, -1.5, 1e300, -1e-300,
                                   DBL_MIN, DBL_MAX, 4.9e-324, INFINITY,
                                   -INFINITY, NAN, 9007199254740993.0};

    switch (below(g, 3)) {
    case 0:
        return edges[below(g, sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return (double)((int64_t)below(g, 2000) - 1000) / 8;
    default:
        return double_of(em_test_next(&g->rng)); /* any bits, NaNs too */
    }
}

/* n random bytes in the arena, text or not. */
static uint8_t *gen_blob(gen *g, size_t n, bool is_text)
{
    uint8_t *p = em_arena_alloc(g->a, n ? n : 1);

    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = is_text ? (uint8_t)("abcxyz\0\n\xc3\xa9"[below(g, 10)])
                       : (uint8_t)below(g, 256);
    return p;
}

static size_t gen_len(gen *g, size_t small)
{
    uint64_t r = below(g, 100);

    if (r < 85)
        return below(g, small + 1);
    if (r < 98)
        return below(g, 300);
    return below(g, 70000);
}

static em_val gen_val(gen *g, uint32_t depth);

static em_val gen_vector(gen *g)
{
    size_t n = gen_len(g, 6), nnz = 0;
    em_val v;
    double *x;

    if (below(g, 2) == 0) {
        x = em_vec_make(g->a, n, &v);
        assert_non_null(x);
        for (size_t i = 0; i < n; i++)
            x[i] = gen_double(g);
        return v;
    } else {
        int64_t dim = below(g, 3) == 0 ? (int64_t)below(g, 5)
                                       : (int64_t)below(g, 1u << 31);
        uint32_t *idx = em_arena_alloc(g->a, 8 * (n + 1));
        double *val = em_arena_alloc(g->a, 8 * (n + 1));
        uint64_t at = below(g, 3);
        for (size_t i = 0; i < n && (int64_t)at < dim; i++) {
            idx[nnz] = (uint32_t)at;
            val[nnz++] = gen_double(g);
            at += 1 + below(g, below(g, 2) ? 3 : 100000);
        }
        return spvec_of(g->a, dim, idx, val, nnz);
    }
}

static em_val gen_container(gen *g, uint32_t depth)
{
    size_t n = below(g, 20) == 0 ? 16 + below(g, 25) : below(g, 6);
    em_val v, *items;

    if (below(g, 2) == 0) {
        items = em_array_make(g->a, n, &v);
        assert_non_null(items);
        for (size_t i = 0; i < n; i++)
            items[i] = gen_val(g, depth + 1);
        return v;
    }
    items = em_array_make(g->a, 2 * n, &v);
    assert_non_null(items);
    for (size_t i = 0; i < 2 * n; i++)
        items[i] = gen_val(g, depth + 1);
    return map_of(g->a, items, n);
}

/* A random value; containers only while depth < max_depth. */
static em_val gen_val(gen *g, uint32_t depth)
{
    uint64_t r = below(g, depth < g->max_depth ? 12 : 8);
    uint16_t kind;
    size_t n;

    switch (r) {
    case 0:
        return em_nil();
    case 1:
        return em_bool(below(g, 2));
    case 2:
    case 3:
        return em_int(gen_int(g));
    case 4:
        return em_float(gen_double(g));
    case 5:
        n = gen_len(g, 12);
        return em_str((const char *)gen_blob(g, n, true), n);
    case 6:
        n = gen_len(g, 12);
        return em_bytes(gen_blob(g, n, false), n);
    case 7:
        n = gen_len(g, 8);
        kind = (uint16_t)below(g, 65536);
        return handle_of(kind, gen_blob(g, n, false), (uint32_t)n);
    case 8:
    case 9:
        return gen_vector(g);
    default:
        return gen_container(g, depth);
    }
}

/* ---- cases ---- */

static void test_codec_scalars_round_trip(void **state)
{
    static const int64_t ints[] = {
        0, 1, -1, 31, 127, 128, -32, -33, 255, 256, -128, -129, 65535, 65536,
        -32768, -32769, INT32_MAX, INT32_MIN, UINT32_MAX, INT64_MAX,
        INT64_MIN, INT64_MIN + 1, INT64_MAX - 1,
    };
    const double floats[] = {
        0.0, -0.0, 1.5, -2.25, NAN, -NAN, INFINITY, -INFINITY, DBL_MIN,
        DBL_MAX, -DBL_MAX, 4.9e-324, double_of(0x7ff0000000000001ull),
        double_of(0xfff8dead0000beefull), 1.0, 0.1,
    };
    em_arena *a = em_arena_create();

    (void)state;
    round_trip(a, em_nil());
    round_trip(a, em_bool(true));
    round_trip(a, em_bool(false));
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        round_trip(a, em_int(ints[i]));
    for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++)
        round_trip(a, em_float(floats[i]));
    em_arena_destroy(a);
}

static void test_codec_strings_round_trip(void **state)
{
    static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536,
                                  70001, 300000};
    em_arena *a = em_arena_create();
    char *s = malloc(300000);

    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < 300000; i++)
        s[i] = (char)(i % 7 == 0 ? '\0' : 'a' + i % 26); /* NULs inside */
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        em_val got = round_trip(a, em_str(s, lens[i]));
        assert_true(lens[i] == 0 || got.u.s != s); /* copied, not viewed */
        round_trip(a, em_bytes(s, lens[i]));
        round_trip(a, handle_of(9, s, (uint32_t)lens[i]));
    }
    free(s);
    em_arena_destroy(a);
}

static void test_codec_containers_round_trip(void **state)
{
    em_arena *a = em_arena_create();
    em_val inner[3], outer[2], kv[8], arr, map, empty_map, big, *items;

    (void)state;
    round_trip(a, em_array(NULL, 0));
    empty_map = map_of(a, NULL, 0);
    round_trip(a, empty_map);
    inner[0] = em_array(NULL, 0);
    inner[1] = empty_map;
    inner[2] = em_str("x\0y", 3);
    arr = em_array(inner, 3);
    kv[0] = em_cstr("b");
    kv[1] = arr;
    kv[2] = em_int(-5);
    kv[3] = em_float(-0.0);
    kv[4] = arr; /* an array as a key */
    kv[5] = empty_map;
    kv[6] = em_float(NAN);
    kv[7] = em_nil();
    map = map_of(a, kv, 4);
    round_trip(a, map);
    outer[0] = map;
    outer[1] = arr;
    round_trip(a, em_array(outer, 2));
    /* 70000 elements: array32 and map32 headers */
    items = em_array_make(a, 140000, &big);
    assert_non_null(items);
    for (size_t i = 0; i < 140000; i++)
        items[i] = em_int((int64_t)i);
    round_trip(a, big);
    round_trip(a, map_of(a, items, 70000));
    em_arena_destroy(a);
}

static void test_codec_vectors_round_trip(void **state)
{
    static const uint32_t idx[] = {0, 5, 6, 1000, UINT32_MAX - 1};
    const double val[] = {1.0, -0.0, NAN, INFINITY, 2.5};
    em_arena *a = em_arena_create();
    double x[1000];
    em_val got;

    (void)state;
    for (size_t i = 0; i < 1000; i++)
        x[i] = i % 3 ? (double)i / 3 : -0.0;
    round_trip(a, em_vec(x, 0));
    round_trip(a, em_vec(x, 1)); /* fixext 8 */
    round_trip(a, em_vec(x, 2)); /* fixext 16 */
    round_trip(a, em_vec(x, 1000));
    round_trip(a, spvec_of(a, 0, NULL, NULL, 0));
    round_trip(a, spvec_of(a, 10, NULL, NULL, 0));
    round_trip(a, spvec_of(a, 7, idx, val, 3));
    got = round_trip(a, spvec_of(a, INT64_MAX, idx, val, 5));
    assert_int_equal(got.u.sp->idx[4], UINT32_MAX - 1);
    round_trip(a, handle_of(0, NULL, 0));
    got = round_trip(a, handle_of(65535, "st\0te", 5));
    assert_int_equal(got.kind, 65535);
    em_arena_destroy(a);
}

/* The byte layout documented in docs/values.md. */
static void test_codec_layout_pinned(void **state)
{
    static const uint8_t nil[] = {0xc0}, t[] = {0xc3}, f[] = {0xc2};
    static const uint8_t i1[] = {0x01}, im1[] = {0xff};
    static const uint8_t i300[] = {0xcd, 0x01, 0x2c};
    static const uint8_t imin[] = {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t fneg0[] = {0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t f15[] = {0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    static const uint8_t s[] = {0xa2, 'h', 'i'};
    static const uint8_t by[] = {0xc4, 0x02, 0x00, 0xff};
    static const uint8_t arr[] = {0x93, 0x01, 0xa1, 'a', 0x81, 0x01, 0xc0};
    static const uint8_t vec[] = {0xd7, EM__EXT_VEC, 0, 0, 0, 0,
                                  0, 0, 0xf0, 0x3f};
    static const uint8_t vec2[] = {0xd8, EM__EXT_VEC, 0, 0, 0, 0, 0, 0, 0xf0,
                                   0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0};
    static const uint8_t sp[] = {
        0xc7, 24, EM__EXT_SPVEC,
        10, 0, 0, 0, 0, 0, 0, 0, /* dim 10 */
        1, 0, 0, 0,              /* nnz 1 */
        3, 0, 0, 0,              /* idx 3 */
        0, 0, 0, 0, 0, 0, 0x04, 0x40, /* 2.5 */
    };
    static const uint8_t h[] = {0xd6, EM__EXT_HANDLE, 0x34, 0x12, 'o', 'k'};
    const double one[] = {1.0, -2.0};
    const uint32_t idx3 = 3;
    const double v25 = 2.5;
    em_arena *a = em_arena_create();
    em_val items[3], kv[2];

    (void)state;
    expect_bytes(em_nil(), nil, sizeof(nil));
    expect_bytes(em_bool(true), t, sizeof(t));
    expect_bytes(em_bool(false), f, sizeof(f));
    expect_bytes(em_int(1), i1, sizeof(i1));
    expect_bytes(em_int(-1), im1, sizeof(im1));
    expect_bytes(em_int(300), i300, sizeof(i300));
    expect_bytes(em_int(INT64_MIN), imin, sizeof(imin));
    expect_bytes(em_float(-0.0), fneg0, sizeof(fneg0));
    expect_bytes(em_float(1.5), f15, sizeof(f15));
    expect_bytes(em_str("hi", 2), s, sizeof(s));
    expect_bytes(em_bytes("\0\xff", 2), by, sizeof(by));
    kv[0] = em_int(1);
    kv[1] = em_nil();
    items[0] = em_int(1);
    items[1] = em_str("a", 1);
    items[2] = map_of(a, kv, 1);
    expect_bytes(em_array(items, 3), arr, sizeof(arr));
    expect_bytes(em_vec(one, 1), vec, sizeof(vec));
    expect_bytes(em_vec(one, 2), vec2, sizeof(vec2));
    expect_bytes(spvec_of(a, 10, &idx3, &v25, 1), sp, sizeof(sp));
    expect_bytes(handle_of(0x1234, "ok", 2), h, sizeof(h));
    em_arena_destroy(a);
}

/* Valid msgpack that the encoder never writes decodes to the same values. */
static void test_codec_decode_foreign(void **state)
{
    static const uint8_t u8[] = {0xcc, 0x05}, i64[] = {0xd3, 0, 0, 0, 0, 0,
                                                        0, 0, 0x05};
    static const uint8_t i8neg[] = {0xd0, 0x80};
    static const uint8_t u64max[] = {0xcf, 0x7f, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff};
    static const uint8_t f32[] = {0xca, 0x3f, 0xc0, 0, 0}; /* 1.5f */
    static const uint8_t f32nan[] = {0xca, 0x7f, 0xc0, 0, 0};
    static const uint8_t s8[] = {0xd9, 0x02, 'h', 'i'};
    static const uint8_t s32[] = {0xdb, 0, 0, 0, 0x02, 'h', 'i'};
    static const uint8_t a16[] = {0xdc, 0, 2, 0x01, 0x02};
    static const uint8_t m32[] = {0xdf, 0, 0, 0, 1, 0x01, 0xc0};
    static const uint8_t vec_ext8[] = {0xc7, 8, EM__EXT_VEC, 0, 0, 0, 0,
                                       0, 0, 0xf0, 0x3f};
    static const uint8_t h_ext32[] = {0xc9, 0, 0, 0, 2, EM__EXT_HANDLE, 7, 0};
    /* {2: "b", 1: "a", 2: "c", 1.0: "d"}: unsorted, repeated keys */
    static const uint8_t unsorted[] = {
        0x84, 0x02, 0xa1, 'b', 0x01, 0xa1, 'a', 0x02, 0xa1, 'c',
        0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xa1, 'd',
    };
    em_arena *a = em_arena_create();
    em_val v;

    (void)state;
    assert_true(em_test_identical(expect_decode(a, u8, 2, NULL, EM_OK), em_int(5)));
    assert_true(em_test_identical(expect_decode(a, i64, 9, NULL, EM_OK), em_int(5)));
    assert_true(em_test_identical(expect_decode(a, i8neg, 2, NULL, EM_OK), em_int(-128)));
    assert_true(em_test_identical(expect_decode(a, u64max, 9, NULL, EM_OK),
                     em_int(INT64_MAX)));
    assert_true(em_test_identical(expect_decode(a, f32, 5, NULL, EM_OK), em_float(1.5)));
    v = expect_decode(a, f32nan, 5, NULL, EM_OK);
    assert_true(v.type == EM_FLOAT && isnan(v.u.f));
    assert_true(em_test_identical(expect_decode(a, s8, 4, NULL, EM_OK), em_str("hi", 2)));
    assert_true(em_test_identical(expect_decode(a, s32, 7, NULL, EM_OK), em_str("hi", 2)));
    v = expect_decode(a, a16, 5, NULL, EM_OK);
    assert_true(v.type == EM_ARRAY && v.len == 2 && v.u.arr[1].u.i == 2);
    v = expect_decode(a, m32, 7, NULL, EM_OK);
    assert_true(v.type == EM_MAP && v.len == 1);
    v = expect_decode(a, vec_ext8, sizeof(vec_ext8), NULL, EM_OK);
    assert_true(v.type == EM_VEC && v.len == 1 && v.u.vec[0] == 1.0);
    v = expect_decode(a, h_ext32, sizeof(h_ext32), NULL, EM_OK);
    assert_true(em_test_identical(v, handle_of(7, NULL, 0)));
    /* sorted; of the keys equal to 1 the last (1.0 -> "d") wins */
    v = expect_decode(a, unsorted, sizeof(unsorted), NULL, EM_OK);
    assert_int_equal(v.type, EM_MAP);
    assert_int_equal(v.len, 2);
    assert_true(em_val_eq(v.u.map[0], em_int(1)));
    assert_true(em_test_identical(v.u.map[1], em_str("d", 1)));
    assert_true(em_test_identical(v.u.map[2], em_int(2)));
    assert_true(em_test_identical(v.u.map[3], em_str("c", 1)));
    em_arena_destroy(a);
}

static void test_codec_decode_rejects_malformed(void **state)
{
    static const struct {
        const char *name;
        uint8_t bytes[40];
        size_t n;
    } bad[] = {
        {"never used 0xc1", {0xc1}, 1},
        {"uint64 above int64", {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
        {"uint64 max", {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         9},
        {"timestamp ext", {0xd6, 0xff, 0, 0, 0, 0}, 6},
        {"unknown ext 4", {0xd4, 4, 0}, 3},
        {"unknown ext 0", {0xd4, 0, 0}, 3},
        {"vec of 7 bytes", {0xc7, 7, EM__EXT_VEC, 0, 0, 0, 0, 0, 0, 0}, 10},
        {"vec of 1 byte", {0xd4, EM__EXT_VEC, 0}, 3},
        {"handle of 1 byte", {0xd4, EM__EXT_HANDLE, 0}, 3},
        {"spvec too short", {0xd7, EM__EXT_SPVEC, 0}, 10},
        {"spvec nnz too big",
         {0xc7, 24, EM__EXT_SPVEC, 10, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
          3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 27},
        {"spvec nnz too small",
         {0xc7, 24, EM__EXT_SPVEC, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 27},
        {"spvec index = dim",
         {0xc7, 24, EM__EXT_SPVEC, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
          3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 27},
        {"spvec negative dim",
         {0xc7, 12, EM__EXT_SPVEC, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0},
         15},
        {"spvec indices repeat",
         {0xc7, 36, EM__EXT_SPVEC, 10, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
          3, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0}, 39},
        {"spvec indices decrease",
         {0xc7, 36, EM__EXT_SPVEC, 10, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
          4, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0}, 39},
        {"array element missing", {0x92, 0x01}, 2},
        {"map value missing", {0x81, 0x01}, 2},
        {"bad byte inside array", {0x92, 0x01, 0xc1}, 3},
        {"empty input", {0}, 0},
    };
    em_arena *a = em_arena_create();

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        em_val out = em_nil();
        em_status st = em__codec_decode(bad[i].bytes, bad[i].n, NULL, a, &out,
                                        NULL);
        if (st != EM_EFORMAT)
            fail_msg("%s: %s, want EM_EFORMAT", bad[i].name,
                     em_status_name(st));
        assert_int_equal(out.type, EM_NIL);
        assert_int_equal(em_arena_used(a), 0);
    }
    em_arena_destroy(a);
}

/* Every proper prefix of an encoding is truncated: EM_EFORMAT. */
static void test_codec_truncation_every_prefix(void **state)
{
    em_arena *a = em_arena_create(), *tmp = em_arena_create();
    gen g = {{42}, a, 4};
    em__buf b = EM__BUF_INIT;
    size_t checked = 0;

    (void)state;
    for (int k = 0; k < 60; k++) {
        em_val v = gen_val(&g, 0);
        b.len = 0;
        EM_CHECK(em__codec_encode(&b, v));
        if (b.len > 4096)
            continue;
        for (size_t n = 0; n < b.len; n++) {
            /* a heap copy of exactly n bytes, so ASan sees an overread */
            uint8_t *p = malloc(n ? n : 1);
            assert_non_null(p);
            memcpy(p, b.data, n);
            expect_decode(tmp, n ? p : NULL, n, NULL, EM_EFORMAT);
            if (n > 0 && strstr(em_last_error(), "truncated") == NULL)
                fail_msg("prefix %zu: %s", n, em_last_error());
            free(p);
            checked++;
        }
        expect_decode(tmp, b.data, b.len, NULL, EM_OK);
        em__arena_reset(tmp);
    }
    assert_true(checked > 1000);
    em__buf_fini(&b);
    em_arena_destroy(tmp);
    em_arena_destroy(a);
}

/* Writes n nested one-element arrays around nil; returns the length. */
static size_t deep_arrays(uint8_t *p, size_t n)
{
    memset(p, 0x91, n);
    p[n] = 0xc0;
    return n + 1;
}

static void test_codec_depth_limit(void **state)
{
    em_arena *a = em_arena_create();
    uint8_t p[300];
    em__codec_limits lim = em__codec_default_limits;
    em__buf b = EM__BUF_INIT;
    em_val v, *items, inner;
    size_t n;
    const double one = 1.0;

    (void)state;
    n = deep_arrays(p, 64);
    v = expect_decode(a, p, n, NULL, EM_OK);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(v.type, EM_ARRAY);
        v = v.u.arr[0];
    }
    assert_int_equal(v.type, EM_NIL);
    n = deep_arrays(p, 65);
    expect_decode(a, p, n, NULL, EM_ELIMIT);
    assert_non_null(strstr(em_last_error(), "deeper than 64"));
    n = deep_arrays(p, 200);
    expect_decode(a, p, n, NULL, EM_ELIMIT);
    /* maps nest too: {nil: {nil: ... nil}} */
    for (size_t i = 0; i < 65; i++) {
        p[2 * i] = 0x81;
        p[2 * i + 1] = 0xc0;
    }
    p[130] = 0xc0;
    expect_decode(a, p, 131, NULL, EM_ELIMIT);
    expect_decode(a, p + 2, 129, NULL, EM_OK);
    /* a vector is a level: 63 arrays around a vector is 64 */
    memset(p, 0x91, 64);
    memcpy(p + 64, "\xd7\x01\0\0\0\0\0\0\xf0\x3f", 10);
    expect_decode(a, p + 1, 73, NULL, EM_OK);
    expect_decode(a, p, 74, NULL, EM_ELIMIT);
    /* custom limits */
    lim.max_depth = 2;
    expect_decode(a, p + 63, 11, &lim, EM_OK);
    expect_decode(a, p + 62, 12, &lim, EM_ELIMIT);
    lim.max_depth = 0;
    expect_decode(a, (const uint8_t *)"\x05", 1, &lim, EM_OK);
    expect_decode(a, (const uint8_t *)"\x90", 1, &lim, EM_ELIMIT);
    /* the encoder refuses what the default decoder would refuse */
    v = em_vec(&one, 1);
    for (int i = 0; i < 63; i++) {
        inner = v;
        items = em_array_make(a, 1, &v);
        assert_non_null(items);
        items[0] = inner;
    }
    EM_CHECK(em__codec_encode(&b, v));
    assert_int_equal(b.len, 63 + 10);
    inner = v;
    items = em_array_make(a, 1, &v);
    assert_non_null(items);
    items[0] = inner;
    EM_CHECK(em__buf_append(&b, "x", 1));
    n = b.len;
    assert_int_equal(em__codec_encode(&b, v), EM_ELIMIT);
    assert_int_equal(b.len, n);
    em__buf_fini(&b);
    em_arena_destroy(a);
}

static void test_codec_size_limits(void **state)
{
    static const uint8_t arr5[] = {0x95, 1, 2, 3, 4, 5};
    static const uint8_t map3[] = {0x83, 1, 1, 2, 2, 3, 3};
    static const uint8_t str5[] = {0xa5, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t bin5[] = {0xc4, 5, 1, 2, 3, 4, 5};
    static const uint8_t vec3[] = {0xc7, 24, EM__EXT_VEC, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0};
    static const uint8_t sp3[] = {
        0xc7, 48, EM__EXT_SPVEC, 9, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0,
        1, 0, 0, 0, 2, 0, 0, 0, 8, 0, 0, 0, /* indices 1, 2, 8 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    em__codec_limits lim = em__codec_default_limits;
    em_arena *a = em_arena_create();

    (void)state;
    lim.max_elems = 4;
    expect_decode(a, arr5, sizeof(arr5), &lim, EM_ELIMIT);
    expect_decode(a, str5, sizeof(str5), &lim, EM_ELIMIT);
    expect_decode(a, bin5, sizeof(bin5), &lim, EM_ELIMIT);
    expect_decode(a, map3, sizeof(map3), &lim, EM_OK);
    expect_decode(a, vec3, sizeof(vec3), &lim, EM_OK);
    lim.max_elems = 2;
    expect_decode(a, map3, sizeof(map3), &lim, EM_ELIMIT);
    expect_decode(a, vec3, sizeof(vec3), &lim, EM_ELIMIT);
    expect_decode(a, sp3, sizeof(sp3), &lim, EM_ELIMIT);
    lim.max_elems = 3;
    expect_decode(a, sp3, sizeof(sp3), &lim, EM_OK);
    lim = em__codec_default_limits;
    lim.max_bytes = sizeof(arr5);
    expect_decode(a, arr5, sizeof(arr5), &lim, EM_OK);
    lim.max_bytes = sizeof(arr5) - 1;
    expect_decode(a, arr5, sizeof(arr5), &lim, EM_ELIMIT);
    lim.max_bytes = 3;
    expect_decode(a, str5, sizeof(str5), &lim, EM_ELIMIT);
    expect_decode(a, vec3, sizeof(vec3), &lim, EM_ELIMIT);
    /* a truncated input is malformed, whatever the limits */
    expect_decode(a, arr5, 3, &lim, EM_EFORMAT);
    em_arena_destroy(a);
}

/* Headers that claim far more than the input holds fail at once, with
 * nothing allocated. */
static void test_codec_lying_headers(void **state)
{
    static const uint8_t heads[][8] = {
        {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0}, /* array32 */
        {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0}, /* map32 */
        {0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'},    /* str32 */
        {0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3},          /* bin32 */
        {0xc9, 0xff, 0xff, 0xff, 0xf8, EM__EXT_VEC, 0, 0}, /* ext32 */
        {0xdc, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, /* array16 */
        {0x9f, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, /* fixarray 15 */
        {0x95, 0x92, 0x91, 0x90, 0xdd, 0, 0, 1},          /* nested */
    };
    em_arena *a = em_arena_create();
    int64_t before = em_mem_outstanding();

    (void)state;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        expect_decode(a, heads[i], sizeof(heads[i]), NULL, EM_EFORMAT);
        assert_int_equal(em_mem_outstanding(), before);
    }
    /* within the limit of elements only because few bytes remain */
    expect_decode(a, heads[0], sizeof(heads[0]), NULL, EM_EFORMAT);
    assert_non_null(strstr(em_last_error(), "4294967295 elements"));
    assert_non_null(strstr(em_last_error(), "at byte 0"));
    em_arena_destroy(a);
}

static void test_codec_error_names_offset(void **state)
{
    /* [1, 2, [3, 0xc1]]: the bad byte is at offset 5 */
    static const uint8_t p[] = {0x93, 0x01, 0x02, 0x92, 0x03, 0xc1};
    static const uint8_t q[] = {0x92, 0x01, 0xda, 0x00, 0x09, 'a'};
    em_arena *a = em_arena_create();

    (void)state;
    expect_decode(a, p, sizeof(p), NULL, EM_EFORMAT);
    assert_string_equal(em_last_error(),
                        "codec: invalid type byte 0xc1 at byte 5");
    expect_decode(a, q, sizeof(q), NULL, EM_EFORMAT);
    assert_non_null(strstr(em_last_error(), "truncated str at byte 2"));
    em_arena_destroy(a);
}

/* Consecutive values decode one at a time; used counts each. */
static void test_codec_consecutive_values(void **state)
{
    em_arena *a = em_arena_create();
    gen g = {{7}, a, 3};
    em_val vals[50], got;
    em__buf b = EM__BUF_INIT;
    size_t off = 0, used;

    (void)state;
    for (int i = 0; i < 50; i++) {
        vals[i] = gen_val(&g, 0);
        EM_CHECK(em__codec_encode(&b, vals[i]));
    }
    for (int i = 0; i < 50; i++) {
        EM_CHECK(em__codec_decode(b.data + off, b.len - off, NULL, a, &got,
                                  &used));
        assert_true(em_test_identical(got, vals[i]));
        off += used;
    }
    assert_int_equal(off, b.len);
    em__buf_fini(&b);
    em_arena_destroy(a);
}

/* Adds the types in v (recursively) to counts. */
static void count_types(em_val v, size_t *counts)
{
    counts[v.type]++;
    if (v.type == EM_ARRAY || v.type == EM_MAP) {
        for (size_t i = 0; i < (v.type == EM_MAP ? 2u : 1u) * v.len; i++)
            count_types(v.u.arr[i], counts);
    }
}

/* Thousands of random nested values round-trip exactly. */
static void test_codec_random_round_trip(void **state)
{
    static const uint64_t seeds[] = {1, 2, 3, 0xdeadbeef, 20240601};
    em_arena *a = em_arena_create(), *dec = em_arena_create();
    size_t counts[EM_NTYPES] = {0};

    (void)state;
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        gen g = {{seeds[s]}, a, 1 + (uint32_t)s * 2};
        for (int i = 0; i < 1000; i++) {
            em_val v = round_trip(dec, gen_val(&g, 0));
            count_types(v, counts);
            if (i % 50 == 49) {
                em__arena_reset(a);
                em__arena_reset(dec);
            }
        }
    }
    /* the generator reaches every type, many times */
    for (int t = 0; t < EM_NTYPES; t++) {
        if (counts[t] < 200)
            fail_msg("only %zu values of type %s", counts[t],
                     em_type_name((em_type)t));
    }
    em_arena_destroy(dec);
    em_arena_destroy(a);
}

static void test_codec_encode_rejects_bad_type(void **state)
{
    em__buf b = EM__BUF_INIT;
    em_val bad = em_nil(), items[2];

    (void)state;
    bad.type = EM_NTYPES;
    assert_int_equal(em__codec_encode(&b, bad), EM_EINVAL);
    items[0] = em_int(1);
    items[1] = bad;
    assert_int_equal(em__codec_encode(&b, em_array(items, 2)), EM_EINVAL);
    assert_int_equal(b.len, 0);
    em__buf_fini(&b);
}

/* Values no default decoder would accept are refused before their
 * contents are read (the pointers here are never dereferenced). */
static void test_codec_encode_limits(void **state)
{
    static const char dummy[1];
    em__buf b = EM__BUF_INIT;
    em_val v;

    (void)state;
    EM_CHECK(em__buf_append(&b, "keep", 4));
    v = em_str(dummy, (1u << 28) + 1);
    assert_int_equal(em__codec_encode(&b, v), EM_ELIMIT);
    v = em_bytes(dummy, UINT32_MAX);
    assert_int_equal(em__codec_encode(&b, v), EM_ELIMIT);
    v = em_vec((const double *)dummy, 1u << 29);
    assert_int_equal(em__codec_encode(&b, v), EM_ELIMIT);
    v = handle_of(1, dummy, UINT32_MAX);
    assert_int_equal(em__codec_encode(&b, v), EM_ELIMIT);
    v = em_array((const em_val *)dummy, UINT32_MAX);
    assert_int_equal(em__codec_encode(&b, v), EM_ELIMIT);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "keep", 4);
    em__buf_fini(&b);
}

/* ---- out of memory ---- */

typedef struct oom_case {
    em_val v;          /* the value */
    const uint8_t *p;  /* its encoding */
    size_t n;
} oom_case;

static em_status encode_into_fresh(void *arg)
{
    oom_case *c = arg;
    em__buf b = EM__BUF_INIT;
    em_status st = em__codec_encode(&b, c->v);

    if (st == EM_OK) {
        assert_int_equal(b.len, c->n);
        assert_memory_equal(b.data, c->p, c->n);
    } else {
        assert_int_equal(b.len, 0);
    }
    em__buf_fini(&b);
    return st;
}

/* Appends to a buffer that already holds bytes, with every allocation
 * failing: the bytes are kept and the length restored. */
static em_status encode_append(void *arg)
{
    oom_case *c = arg;
    em__buf b = EM__BUF_INIT;
    em_status st;

    EM_CHECK(em__buf_append(&b, "prefix", 6));
    em_mem_fail_after(0);
    st = em__codec_encode(&b, c->v);
    em_mem_fail_after(-1);
    assert_int_equal(b.len, st == EM_OK ? 6 + c->n : 6);
    assert_memory_equal(b.data, "prefix", 6);
    em__buf_fini(&b);
    return st;
}

static em_status decode_into_fresh(void *arg)
{
    oom_case *c = arg;
    em_arena *a = em__arena_create(256); /* small chunks: many allocations */
    em_val out = em_nil();
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    st = em__codec_decode(c->p, c->n, NULL, a, &out, NULL);
    if (st == EM_OK)
        assert_true(em_test_identical(out, c->v));
    else
        assert_int_equal(out.type, EM_NIL);
    em_arena_destroy(a);
    return st;
}

static void test_codec_oom_sweep(void **state)
{
    em_arena *a = em_arena_create();
    gen g = {{99}, a, 4};
    em_val items[40], kv[30];
    em__buf b = EM__BUF_INIT;
    uint8_t unsorted[1 + 15 * 3];
    oom_case c;
    char big[3000];
    const uint32_t sp_idx[] = {2, 7};
    const double sp_val[] = {0.5, -4.0};

    (void)state;
    memset(big, 'q', sizeof(big));
    for (int i = 0; i < 36; i++)
        items[i] = gen_val(&g, 1);
    items[36] = spvec_of(a, 9, sp_idx, sp_val, 2);
    items[37] = spvec_of(a, 9, NULL, NULL, 0);
    items[38] = em_vec(sp_val, 2);
    items[39] = em_str(big, sizeof(big));
    c.v = em_array(items, 40);
    EM_CHECK(em__codec_encode(&b, c.v));
    c.p = b.data;
    c.n = b.len;
    assert_true(em_test_oom_sweep(encode_into_fresh, &c, 1000) > 0);
    assert_int_equal(encode_append(&c), EM_ENOMEM);
    assert_true(em_test_oom_sweep(decode_into_fresh, &c, 100000) > 5);
    /* keys out of order: the decoder sorts them with em_map_make */
    unsorted[0] = 0x8f;
    for (int i = 0; i < 15; i++) {
        unsorted[1 + 3 * i] = (uint8_t)(14 - i);
        unsorted[2 + 3 * i] = 0xa1;
        unsorted[3 + 3 * i] = (uint8_t)('a' + i);
        kv[2 * i] = em_int(14 - i);
        kv[2 * i + 1] = em_str((const char *)&unsorted[3 + 3 * i], 1);
    }
    c.v = map_of(a, kv, 15);
    c.p = unsorted;
    c.n = sizeof(unsorted);
    assert_true(em_test_oom_sweep(decode_into_fresh, &c, 1000) > 2);
    em__buf_fini(&b);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_codec_scalars_round_trip),
        EM_TEST(test_codec_strings_round_trip),
        EM_TEST(test_codec_containers_round_trip),
        EM_TEST(test_codec_vectors_round_trip),
        EM_TEST(test_codec_layout_pinned),
        EM_TEST(test_codec_decode_foreign),
        EM_TEST(test_codec_decode_rejects_malformed),
        EM_TEST(test_codec_truncation_every_prefix),
        EM_TEST(test_codec_depth_limit),
        EM_TEST(test_codec_size_limits),
        EM_TEST(test_codec_lying_headers),
        EM_TEST(test_codec_error_names_offset),
        EM_TEST(test_codec_consecutive_values),
        EM_TEST(test_codec_random_round_trip),
        EM_TEST(test_codec_encode_rejects_bad_type),
        EM_TEST(test_codec_encode_limits),
        EM_TEST(test_codec_oom_sweep),
    };

    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
