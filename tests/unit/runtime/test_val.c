/* Tests of values (include/ember/val.h, runtime/val.c): the total order
 * across types, exact int/float comparison, equality and hash agreeing,
 * order properties on many random values checked against a reference
 * written here, pinned hash constants, map construction, deep copy,
 * rendering and constructor validation.
 */
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/err.h"

/* The reference order compares numbers as long double, which holds every
 * int64 and every double exactly only with a 64-bit or wider mantissa. */
_Static_assert(LDBL_MANT_DIG >= 64, "reference order needs long double");

#define TWO53 9007199254740992.0
#define TWO63 9223372036854775808.0

/* ---- helpers ---- */

static int sign(int c)
{
    return (c > 0) - (c < 0);
}

static em_val map_of(em_arena *a, const em_val *kv, size_t n)
{
    em_val m;

    EM_CHECK(em_map_make(a, kv, n, &m));
    return m;
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

static void expect_format(em_val v, const char *want)
{
    char buf[256];
    size_t n = em_val_format(v, buf, sizeof(buf));

    if (strcmp(buf, want) != 0)
        fail_msg("format: got \"%s\", want \"%s\"", buf, want);
    assert_int_equal(n, strlen(want));
}

/* ---- reference order ---- */

/* Rank of a type in the documented order across types. */
static int ref_rank(uint8_t t)
{
    switch ((em_type)t) {
    case EM_NIL: return 0;
    case EM_BOOL: return 1;
    case EM_INT:
    case EM_FLOAT: return 2;
    case EM_STR: return 3;
    case EM_BYTES: return 4;
    case EM_ARRAY: return 5;
    case EM_MAP: return 6;
    case EM_VEC: return 7;
    case EM_SPVEC: return 8;
    default: return 9;
    }
}

#define REF_UNKNOWN 2 /* the documentation leaves this comparison open */

static int ref_num(em_val a, em_val b)
{
    bool an = a.type == EM_FLOAT && isnan(a.u.f);
    bool bn = b.type == EM_FLOAT && isnan(b.u.f);
    long double x, y;

    if (an || bn)
        return an - bn;
    x = a.type == EM_INT ? (long double)a.u.i : (long double)a.u.f;
    y = b.type == EM_INT ? (long double)b.u.i : (long double)b.u.f;
    return (x > y) - (x < y);
}

static int ref_cmp(em_val a, em_val b);

static int ref_seq(const em_val *a, size_t an, const em_val *b, size_t bn)
{
    for (size_t i = 0; i < an && i < bn; i++) {
        int c = ref_cmp(a[i], b[i]);
        if (c != 0)
            return c;
    }
    return (an > bn) - (an < bn);
}

/* The order as documented in val.h, independent of the implementation:
 * -1, 0, 1, or REF_UNKNOWN inside vectors and handles. */
static int ref_cmp(em_val a, em_val b)
{
    int ra = ref_rank(a.type), rb = ref_rank(b.type);
    size_t n;
    int c;

    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (ra) {
    case 0:
        return 0;
    case 1:
        return (a.u.b > b.u.b) - (a.u.b < b.u.b);
    case 2:
        return ref_num(a, b);
    case 3:
    case 4:
        n = a.len < b.len ? a.len : b.len;
        c = n ? memcmp(a.u.bytes, b.u.bytes, n) : 0;
        if (c != 0)
            return sign(c);
        return (a.len > b.len) - (a.len < b.len);
    case 5:
        return ref_seq(a.u.arr, a.len, b.u.arr, b.len);
    case 6:
        return ref_seq(a.u.map, 2 * (size_t)a.len, b.u.map,
                       2 * (size_t)b.len);
    default:
        return REF_UNKNOWN;
    }
}

/* ---- random values ---- */

static const double some_floats[] = {
    -3.0, -2.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 0.1,
    TWO53, TWO53 + 2.0, -TWO53, TWO63, -TWO63, 9223372036854774784.0,
    1e300, -1e300, DBL_MIN, INFINITY, -INFINITY, NAN, -NAN,
};

static const int64_t some_ints[] = {
    -3, -2, -1, 0, 1, 2, 3, INT64_MIN, INT64_MAX, INT64_MAX - 1,
    9007199254740992LL, 9007199254740993LL, -9007199254740993LL,
    9223372036854774784LL,
};

#define NFLOATS (sizeof(some_floats) / sizeof(some_floats[0]))
#define NINTS (sizeof(some_ints) / sizeof(some_ints[0]))

static double rand_float(em_test_rng *r)
{
    return some_floats[em_test_below(r, NFLOATS)];
}

static em_val rand_blob(em_test_rng *r, em_arena *a, bool is_bytes)
{
    static const char alphabet[] = {'a', 'b', '\0', (char)0xff};
    size_t n = em_test_below(r, 4);
    char *s = em_arena_alloc(a, n + 1);

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[em_test_below(r, 4)];
    return is_bytes ? em_bytes(s, n) : em_str(s, n);
}

static em_val rand_val(em_test_rng *r, em_arena *a, int depth);

static em_val rand_container(em_test_rng *r, em_arena *a, int t, int depth)
{
    size_t n = em_test_below(r, 4);
    em_val out, *items;

    if (t == 6) {
        items = em_array_make(a, n, &out);
        assert_non_null(items);
        for (size_t i = 0; i < n; i++)
            items[i] = rand_val(r, a, depth - 1);
        return out;
    }
    /* a map from up to n random pairs (keys may repeat) */
    items = em_arena_alloc(a, (2 * n + 1) * sizeof(em_val));
    assert_non_null(items);
    for (size_t i = 0; i < 2 * n; i++)
        items[i] = rand_val(r, a, i % 2 ? depth - 1 : 0);
    return map_of(a, items, n);
}

static em_val rand_vector(em_test_rng *r, em_arena *a, int t)
{
    size_t n = em_test_below(r, 4);
    uint32_t idx[4];
    double val[4];
    size_t nnz = 0;
    em_val out;

    if (t == 8) {
        double *x = em_vec_make(a, n, &out);
        assert_non_null(x);
        for (size_t i = 0; i < n; i++)
            x[i] = rand_float(r);
        return out;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (em_test_below(r, 2)) {
            idx[nnz] = i;
            val[nnz++] = rand_float(r);
        }
    }
    return spvec_of(a, (int64_t)n, idx, val, nnz);
}

/* A random value; depth 0 gives scalars only. Small domains, so that many
 * pairs are equal or differ only deep inside. */
static em_val rand_val(em_test_rng *r, em_arena *a, int depth)
{
    static const uint8_t states[] = {0, 1, 2};
    int t = (int)em_test_below(r, depth > 0 ? 11 : 6);

    switch (t) {
    case 0:
        return em_nil();
    case 1:
        return em_bool(em_test_below(r, 2));
    case 2:
        return em_int(em_test_below(r, 2) ? some_ints[em_test_below(r, NINTS)]
                                           : (int64_t)em_test_below(r, 7) - 3);
    case 3:
        return em_float(rand_float(r));
    case 4:
    case 5:
        return rand_blob(r, a, t == 5);
    case 6:
    case 7:
        return rand_container(r, a, t, depth);
    case 8:
    case 9:
        return rand_vector(r, a, t);
    default:
        return handle_of((uint16_t)(1 + em_test_below(r, 2)), states,
                         (uint32_t)em_test_below(r, 3));
    }
}

/* ---- the order across types ---- */

static void test_val_cross_type_order(void **state)
{
    em_arena *a = em_arena_create();
    static const uint32_t idx[] = {0};
    static const double one[] = {1.0};
    em_val kv[2] = {em_int(1), em_int(2)};
    uint8_t b = 0;
    em_val v[10];
    char x[64], y[64];

    (void)state;
    assert_non_null(a);
    /* each value is "large" for its type, the next "small" for its own */
    v[0] = em_nil();
    v[1] = em_bool(true);
    v[2] = em_float(INFINITY);
    v[3] = em_cstr("\xff\xff");
    v[4] = em_bytes("", 0);
    v[5] = em_array(NULL, 0);
    v[6] = map_of(a, NULL, 0);
    v[7] = em_vec(NULL, 0);
    v[8] = spvec_of(a, 1, idx, one, 1);
    v[9] = handle_of(1, &b, 0);
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 10; j++) {
            int want = (i > j) - (i < j);
            if (sign(em_val_cmp(v[i], v[j])) != want) {
                em_val_format(v[i], x, sizeof(x));
                em_val_format(v[j], y, sizeof(y));
                fail_msg("cmp(%s, %s) = %d, want %d", x, y,
                         em_val_cmp(v[i], v[j]), want);
            }
            assert_true(em_val_eq(v[i], v[j]) == (i == j));
        }
    }
    /* the largest number is still below the smallest string, a bool
     * below every number, a non-empty map above every array */
    assert_true(em_val_cmp(em_float(NAN), em_str("", 0)) < 0);
    assert_true(em_val_cmp(em_int(INT64_MIN), em_bool(true)) > 0);
    assert_true(em_val_cmp(em_float(-INFINITY), em_bool(true)) > 0);
    assert_true(em_val_cmp(map_of(a, kv, 1), em_array(kv, 2)) > 0);
    assert_true(em_val_cmp(em_bytes("", 0), em_cstr("\xff")) > 0);
    em_arena_destroy(a);
}

static void test_val_number_compare_exact(void **state)
{
    (void)state;
    /* 2^53 + 1 is not representable as a double: the int is larger */
    assert_true(em_val_cmp(em_int(9007199254740993LL), em_float(TWO53)) > 0);
    assert_true(em_val_cmp(em_float(TWO53), em_int(9007199254740993LL)) < 0);
    assert_false(em_val_eq(em_int(9007199254740993LL), em_float(TWO53)));
    assert_true(em_val_eq(em_int(9007199254740992LL), em_float(TWO53)));
    assert_true(em_val_cmp(em_int(-9007199254740993LL), em_float(-TWO53)) < 0);
    /* INT64_MAX vs 9.223372036854775807e18, which is 2^63 as a double */
    assert_true(em_val_cmp(em_int(INT64_MAX),
                           em_float(9.223372036854775807e18)) < 0);
    assert_true(em_val_cmp(em_float(9.223372036854775807e18),
                           em_int(INT64_MAX)) > 0);
    assert_false(em_val_eq(em_int(INT64_MAX), em_float(TWO63)));
    /* -2^63 is both an int64 and a double */
    assert_int_equal(em_val_cmp(em_int(INT64_MIN), em_float(-TWO63)), 0);
    assert_true(em_val_eq(em_float(-TWO63), em_int(INT64_MIN)));
    assert_true(em_val_cmp(em_int(INT64_MIN), em_float(-1e300)) > 0);
    assert_true(em_val_cmp(em_int(INT64_MAX), em_float(1e300)) < 0);
    /* the largest double below 2^63 */
    assert_int_equal(em_val_cmp(em_int(9223372036854774784LL),
                                em_float(9223372036854774784.0)), 0);
    assert_true(em_val_cmp(em_int(9223372036854774785LL),
                           em_float(9223372036854774784.0)) > 0);
    /* fractions on either side of an int */
    assert_true(em_val_cmp(em_int(2), em_float(2.5)) < 0);
    assert_true(em_val_cmp(em_int(3), em_float(2.5)) > 0);
    assert_true(em_val_cmp(em_int(-2), em_float(-2.5)) > 0);
    assert_true(em_val_cmp(em_int(-3), em_float(-2.5)) < 0);
    assert_true(em_val_cmp(em_int(0), em_float(-0.5)) > 0);
    assert_true(em_val_cmp(em_int(0), em_float(0.5)) < 0);
    /* signed zeros */
    assert_int_equal(em_val_cmp(em_float(-0.0), em_float(0.0)), 0);
    assert_true(em_val_eq(em_float(-0.0), em_float(0.0)));
    assert_true(em_val_eq(em_float(-0.0), em_int(0)));
    /* NaN equals NaN and sits above every number, +inf included */
    assert_true(em_val_eq(em_float(NAN), em_float(NAN)));
    assert_true(em_val_eq(em_float(NAN), em_float(-NAN)));
    assert_int_equal(em_val_cmp(em_float(NAN), em_float(-NAN)), 0);
    assert_true(em_val_cmp(em_float(NAN), em_float(INFINITY)) > 0);
    assert_true(em_val_cmp(em_float(INFINITY), em_float(NAN)) < 0);
    assert_true(em_val_cmp(em_float(NAN), em_int(INT64_MAX)) > 0);
    assert_true(em_val_cmp(em_int(INT64_MAX), em_float(NAN)) < 0);
    assert_true(em_val_cmp(em_float(-NAN), em_float(-INFINITY)) > 0);
    assert_false(em_val_eq(em_float(NAN), em_float(INFINITY)));
    /* infinities against the int extremes */
    assert_true(em_val_cmp(em_int(INT64_MAX), em_float(INFINITY)) < 0);
    assert_true(em_val_cmp(em_int(INT64_MIN), em_float(-INFINITY)) > 0);
}

static void test_val_str_bytes_order(void **state)
{
    (void)state;
    /* bytewise unsigned, then by length; embedded NULs count */
    assert_true(em_val_cmp(em_cstr("a"), em_cstr("b")) < 0);
    assert_true(em_val_cmp(em_cstr("ab"), em_cstr("a")) > 0);
    assert_true(em_val_cmp(em_cstr("\x7f"), em_cstr("\x80")) < 0);
    assert_true(em_val_cmp(em_str("a\0b", 3), em_str("a\0a", 3)) > 0);
    assert_true(em_val_cmp(em_str("a\0", 2), em_str("a", 1)) > 0);
    assert_false(em_val_eq(em_str("a\0", 2), em_str("a", 1)));
    assert_true(em_val_eq(em_str("", 0), em_str(NULL, 0)));
    assert_false(em_val_eq(em_cstr("x"), em_bytes("x", 1)));
    assert_true(em_val_cmp(em_cstr("x"), em_bytes("x", 1)) < 0);
    assert_true(em_val_cmp(em_bytes("\x01", 1), em_bytes("\xff", 1)) < 0);
}

static void test_val_container_order(void **state)
{
    em_arena *a = em_arena_create();
    em_val x[3] = {em_int(1), em_cstr("a"), em_nil()};
    em_val y[3] = {em_float(1.0), em_cstr("b")};
    em_val k1[2] = {em_int(1), em_int(9)}, k2[4] = {em_int(1), em_int(9),
                                                    em_int(2), em_int(0)};
    double v1[2] = {1.0, 2.0}, v2[2] = {1.0, NAN}, v3[2] = {-0.0, 2.0};

    (void)state;
    assert_non_null(a);
    assert_true(em_val_cmp(em_array(x, 2), em_array(y, 2)) < 0);
    assert_true(em_val_cmp(em_array(x, 3), em_array(x, 2)) > 0);
    assert_true(em_val_cmp(em_array(x, 1), em_array(y, 1)) == 0);
    assert_true(em_val_eq(em_array(x, 1), em_array(y, 1)));
    assert_true(em_val_cmp(map_of(a, k2, 2), map_of(a, k1, 1)) > 0);
    assert_true(em_val_cmp(em_vec(v1, 2), em_vec(v2, 2)) < 0);
    assert_true(em_val_eq(em_vec(v2, 2), em_vec(v2, 2)));
    assert_true(em_val_eq(em_vec(v3, 2), em_vec((double[]){0.0, 2.0}, 2)));
    assert_true(em_val_eq(em_vec(NULL, 0), em_vec(v1, 0)));
    em_arena_destroy(a);
}

/* ---- hash ---- */

static void test_val_hash_consistent_with_eq(void **state)
{
    em_arena *a = em_arena_create();
    em_val x[3], y[3], kv1[6], kv2[6], m1, m2, n1, n2;
    double v1[2] = {-0.0, NAN}, v2[2] = {0.0, -NAN};
    char *s;

    (void)state;
    assert_non_null(a);
    assert_int_equal(em_val_hash(em_int(1)), em_val_hash(em_float(1.0)));
    assert_int_equal(em_val_hash(em_int(-7)), em_val_hash(em_float(-7.0)));
    assert_int_equal(em_val_hash(em_int(0)), em_val_hash(em_float(-0.0)));
    assert_int_equal(em_val_hash(em_float(0.0)), em_val_hash(em_float(-0.0)));
    assert_int_equal(em_val_hash(em_float(NAN)), em_val_hash(em_float(-NAN)));
    assert_int_equal(em_val_hash(em_int(INT64_MIN)),
                     em_val_hash(em_float(-TWO63)));
    assert_int_equal(em_val_hash(em_int(9007199254740992LL)),
                     em_val_hash(em_float(TWO53)));
    assert_int_equal(em_val_hash(em_vec(v1, 2)), em_val_hash(em_vec(v2, 2)));
    /* the same key in two separately built arrays */
    s = em_arena_alloc(a, 6);
    assert_non_null(s);
    memcpy(s, "hello", 6);
    x[0] = em_int(3);
    x[1] = em_cstr("hello");
    x[2] = em_float(0.25);
    y[0] = em_float(3.0);
    y[1] = em_str(s, 5);
    y[2] = em_float(0.25);
    assert_true(em_val_eq(em_array(x, 3), em_array(y, 3)));
    assert_int_equal(em_val_hash(em_array(x, 3)), em_val_hash(em_array(y, 3)));
    /* maps from differently ordered input */
    kv1[0] = em_cstr("b"); kv1[1] = em_int(2);
    kv1[2] = em_int(5);    kv1[3] = em_nil();
    kv1[4] = em_cstr("a"); kv1[5] = em_array(x, 3);
    kv2[0] = em_cstr("a"); kv2[1] = em_array(y, 3);
    kv2[2] = em_cstr("b"); kv2[3] = em_float(2.0);
    kv2[4] = em_float(5.0); kv2[5] = em_nil();
    m1 = map_of(a, kv1, 3);
    m2 = map_of(a, kv2, 3);
    assert_true(em_val_eq(m1, m2));
    assert_int_equal(em_val_cmp(m1, m2), 0);
    assert_int_equal(em_val_hash(m1), em_val_hash(m2));
    /* in a third order, nested in arrays */
    n1 = em_array(&m1, 1);
    kv1[0] = em_float(5.0); kv1[1] = em_nil();
    kv1[2] = em_cstr("b"); kv1[3] = em_int(2);
    kv1[4] = em_cstr("a"); kv1[5] = em_array(y, 3);
    m2 = map_of(a, kv1, 3);
    n2 = em_array(&m2, 1);
    assert_int_equal(em_val_hash(n1), em_val_hash(n2));
    /* a few that differ */
    assert_true(em_val_hash(em_int(1)) != em_val_hash(em_int(2)));
    assert_true(em_val_hash(em_cstr("a")) != em_val_hash(em_bytes("a", 1)));
    assert_true(em_val_hash(em_float(0.5)) != em_val_hash(em_float(1.5)));
    em_arena_destroy(a);
}

/* These constants pin the seedless hash. Partitioners place keys by it in
 * every process, so a change to any of them breaks cross-process (and
 * cross-release) partitioning: shuffle outputs written by one build would
 * be read wrongly by another. Do not update them to make the test pass. */
static void test_val_hash_stable(void **state)
{
    static const double x[2] = {1.0, 2.0};
    em_val items[2] = {em_int(1), em_cstr("a")};
    em_val kv[2] = {em_cstr("k"), em_float(2.5)};
    em_val m = {0};

    (void)state;
    m.type = EM_MAP;
    m.len = 1;
    m.u.map = kv;
    assert_int_equal(em_val_hash(em_nil()), 0xa0761d6478bd642full);
    assert_int_equal(em_val_hash(em_bool(true)), 0x57aeb84e9f09e7eaull);
    assert_int_equal(em_val_hash(em_bool(false)), 0xe6d24d7e0390ae94ull);
    assert_int_equal(em_val_hash(em_int(0)), 0xde80084b49fdc2cfull);
    assert_int_equal(em_val_hash(em_int(1)), 0xf7858b38a8499be9ull);
    assert_int_equal(em_val_hash(em_int(-1)), 0x9c990a9389fd34efull);
    assert_int_equal(em_val_hash(em_int(42)), 0xf7753bafeb6e10cfull);
    assert_int_equal(em_val_hash(em_float(0.5)), 0xc20ed89fc7cdcac2ull);
    assert_int_equal(em_val_hash(em_float(NAN)), 0x9eecc58d35ae94c3ull);
    assert_int_equal(em_val_hash(em_float(INFINITY)), 0x60ee0878064b4a7eull);
    assert_int_equal(em_val_hash(em_str("", 0)), 0xc30de6a5649a65f6ull);
    assert_int_equal(em_val_hash(em_cstr("ember")), 0xb1efd60fb88615b7ull);
    assert_int_equal(
        em_val_hash(em_cstr("the quick brown fox jumps over the lazy dog")),
        0x0072d7d1aef1b1f6ull);
    assert_int_equal(em_val_hash(em_bytes("\x00\x01\x02", 3)),
                     0x6d84fd070cf0c59bull);
    assert_int_equal(em_val_hash(em_array(items, 2)), 0x4d96e1c48a3cb0f9ull);
    assert_int_equal(em_val_hash(m), 0xc6e63dc56bc5b24full);
    assert_int_equal(em_val_hash(em_vec(x, 2)), 0xbbc4c90024d4d44dull);
    /* an integral float hashes as the int, so its constant is the int's */
    assert_int_equal(em_val_hash(em_float(42.0)), 0xf7753bafeb6e10cfull);
}

/* ---- properties on random values ---- */

#define NRAND 3000
#define NPAIRS 1200

static em_val *rand_vals(em_arena *a, uint64_t seed, size_t n)
{
    em_test_rng r = {seed};
    em_val *v = em_arena_alloc(a, n * sizeof(*v));

    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = rand_val(&r, a, 2);
    return v;
}

static void check_pair(em_val x, em_val y)
{
    int c = em_val_cmp(x, y), back = em_val_cmp(y, x);
    int want = ref_cmp(x, y);
    bool eq = em_val_eq(x, y);
    char s[256], t[256];

    if (sign(c) == -sign(back) && (c == 0) == eq &&
        (!eq || em_val_hash(x) == em_val_hash(y)) &&
        (want == REF_UNKNOWN || sign(c) == want) && eq == em_val_eq(y, x))
        return;
    em_val_format(x, s, sizeof(s));
    em_val_format(y, t, sizeof(t));
    fail_msg("%s vs %s: cmp %d, reverse %d, reference %d, eq %d, hashes "
             "%llx %llx", s, t, c, back, want, eq,
             (unsigned long long)em_val_hash(x),
             (unsigned long long)em_val_hash(y));
}

static void test_val_order_properties_pairs(void **state)
{
    em_arena *a = em_arena_create();
    em_val *v;
    int equal_pairs = 0;

    (void)state;
    assert_non_null(a);
    v = rand_vals(a, 20240611, NPAIRS);
    for (size_t i = 0; i < NPAIRS; i++) {
        assert_int_equal(em_val_cmp(v[i], v[i]), 0);
        assert_true(em_val_eq(v[i], v[i]));
        for (size_t j = i + 1; j < NPAIRS; j++) {
            check_pair(v[i], v[j]);
            equal_pairs += em_val_eq(v[i], v[j]);
        }
    }
    /* the domains are small: many distinct pairs must be equal */
    assert_true(equal_pairs > 1000);
    em_arena_destroy(a);
}

static int qsort_cmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

static void test_val_order_properties_transitive(void **state)
{
    em_arena *a = em_arena_create();
    em_test_rng r = {77};
    em_val *v, *s;

    (void)state;
    assert_non_null(a);
    v = rand_vals(a, 4242, NRAND);
    for (int k = 0; k < 300000; k++) {
        em_val x = v[em_test_below(&r, NRAND)], y = v[em_test_below(&r, NRAND)];
        em_val z = v[em_test_below(&r, NRAND)];
        int xy = em_val_cmp(x, y), yz = em_val_cmp(y, z), xz = em_val_cmp(x, z);
        if (xy <= 0 && yz <= 0)
            assert_true(xz <= 0);
        if (xy == 0 && yz == 0)
            assert_true(xz == 0);
        if (xy < 0 && yz <= 0)
            assert_true(xz < 0);
    }
    /* a sorted copy must be ordered between every pair, not only
     * neighbours, and equal runs must share a hash */
    s = em_arena_alloc(a, NRAND * sizeof(*s));
    assert_non_null(s);
    memcpy(s, v, NRAND * sizeof(*s));
    qsort(s, NRAND, sizeof(*s), qsort_cmp);
    for (size_t i = 0; i + 1 < NRAND; i++) {
        assert_true(em_val_cmp(s[i], s[i + 1]) <= 0);
        if (em_val_eq(s[i], s[i + 1]))
            assert_int_equal(em_val_hash(s[i]), em_val_hash(s[i + 1]));
    }
    for (int k = 0; k < 100000; k++) {
        size_t i = em_test_below(&r, NRAND), j = em_test_below(&r, NRAND);
        if (i > j) {
            size_t tmp = i;
            i = j;
            j = tmp;
        }
        assert_true(em_val_cmp(s[i], s[j]) <= 0);
    }
    em_arena_destroy(a);
}

/* ---- constructors ---- */

static void test_val_map_make_sorts_last_wins(void **state)
{
    em_arena *a = em_arena_create();
    em_val kv[12], m;
    char buf[128];

    (void)state;
    assert_non_null(a);
    kv[0] = em_cstr("b");   kv[1] = em_int(1);
    kv[2] = em_cstr("a");   kv[3] = em_int(2);
    kv[4] = em_cstr("b");   kv[5] = em_int(3);
    kv[6] = em_int(1);      kv[7] = em_cstr("x");
    kv[8] = em_nil();       kv[9] = em_bool(false);
    kv[10] = em_float(1.0); kv[11] = em_cstr("y");
    EM_CHECK(em_map_make(a, kv, 6, &m));
    assert_int_equal(m.type, EM_MAP);
    assert_int_equal(m.len, 4);
    /* nil < number < str */
    assert_int_equal(m.u.map[0].type, EM_NIL);
    assert_true(em_val_eq(m.u.map[1], em_bool(false)));
    assert_true(em_val_eq(m.u.map[2], em_int(1)));
    assert_true(em_val_eq(m.u.map[3], em_cstr("y")));
    assert_true(em_val_eq(m.u.map[4], em_cstr("a")));
    assert_true(em_val_eq(m.u.map[5], em_int(2)));
    assert_true(em_val_eq(m.u.map[6], em_cstr("b")));
    assert_true(em_val_eq(m.u.map[7], em_int(3)));
    for (uint32_t i = 0; i + 1 < m.len; i++)
        assert_true(em_val_cmp(m.u.map[2 * i], m.u.map[2 * i + 2]) < 0);
    /* the map is independent of the input array */
    kv[3] = em_int(99);
    assert_true(em_val_eq(m.u.map[5], em_int(2)));
    /* only the strings: which of 1 and 1.0 is kept is not specified */
    EM_CHECK(em_map_make(a, kv, 3, &m));
    em_val_format(m, buf, sizeof(buf));
    assert_string_equal(buf, "{'a': 99, 'b': 3}");
    /* empty */
    EM_CHECK(em_map_make(a, NULL, 0, &m));
    assert_int_equal(m.type, EM_MAP);
    assert_int_equal(m.len, 0);
    em_arena_destroy(a);
}

/* The value the copy test builds, from static data. */
static em_val build_nested(em_arena *a, const char *word)
{
    static const uint8_t raw[] = {0, 1, 2, 255};
    static const uint8_t hstate[] = {9, 8, 7};
    static const uint32_t idx[] = {1, 4};
    static const double sv[] = {0.5, -2.0};
    em_val out, *top, *inner, kv[4], inner_arr;
    double *x;

    top = em_array_make(a, 7, &out);
    assert_non_null(top);
    EM_CHECK(em_str_copy(a, word, strlen(word), &top[0]));
    top[1] = em_bytes(raw, sizeof(raw));
    inner = em_array_make(a, 3, &inner_arr);
    assert_non_null(inner);
    inner[0] = em_int(-5);
    inner[1] = em_float(2.25);
    EM_CHECK(em_str_copy(a, "deep", 4, &inner[2]));
    top[2] = inner_arr;
    kv[0] = em_cstr("k");
    kv[1] = inner_arr;
    kv[2] = em_int(3);
    kv[3] = em_bool(true);
    top[3] = map_of(a, kv, 2);
    x = em_vec_make(a, 3, &top[4]);
    assert_non_null(x);
    x[0] = 1.5;
    x[1] = -0.25;
    x[2] = 1e10;
    top[5] = spvec_of(a, 6, idx, sv, 2);
    top[6] = handle_of(7, hstate, sizeof(hstate));
    return out;
}

static void test_val_copy_deep(void **state)
{
    em_arena *src = em_arena_create(), *dst = em_arena_create();
    em_arena *third = em_arena_create();
    char word[] = "payload";
    em_val v, copy, want;

    (void)state;
    assert_non_null(src);
    assert_non_null(dst);
    assert_non_null(third);
    v = build_nested(src, word);
    EM_CHECK(em_val_copy(dst, v, &copy));
    /* nothing of the source may be reachable from the copy: free the
     * source arena and scribble on the caller's buffer */
    em_arena_destroy(src);
    memset(word, 'X', sizeof(word) - 1);
    want = build_nested(third, "payload");
    /* element storage keeps its type's alignment (checked before any
     * element is read: a misaligned double would trap under UBSan) */
    if ((uintptr_t)copy.u.arr % _Alignof(em_val) != 0 ||
        (uintptr_t)copy.u.arr[4].u.vec % _Alignof(double) != 0) {
        const void *p = copy.u.arr[4].u.vec;
        em_arena_destroy(dst);
        em_arena_destroy(third);
        fail_msg("copied vector elements at %p are not aligned for double",
                 p);
    }
    assert_true(em_val_eq(copy, want));
    assert_int_equal(em_val_hash(copy), em_val_hash(want));
    assert_int_equal(copy.u.arr[6].type, EM_HANDLE);
    assert_int_equal(copy.u.arr[6].kind, 7);
    assert_int_equal(copy.u.arr[5].u.sp->dim, 6);
    em_arena_destroy(dst);
    em_arena_destroy(third);
}

static em_status copy_under_oom(void *arg)
{
    const em_val *v = arg;
    em_arena *a = em_arena_create();
    em_val out;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    st = em_val_copy(a, *v, &out);
    /* compared only when the vector is aligned: test_val_copy_deep
     * reports misalignment, and reading it would trap under UBSan */
    if (st == EM_OK &&
        (uintptr_t)out.u.arr[4].u.vec % _Alignof(double) == 0 &&
        !em_val_eq(out, *v))
        st = em__err(EM_EINVAL, "the copy differs");
    em__arena_destroy(a);
    return st;
}

static void test_val_copy_oom_sweep(void **state)
{
    em_arena *a = em_arena_create();
    em_val v;

    (void)state;
    assert_non_null(a);
    {
        /* strings larger than a chunk, so that the copy needs several */
        char *big = em_arena_alloc(a, 150000);
        assert_non_null(big);
        memset(big, 'w', 149999);
        big[149999] = '\0';
        v = build_nested(a, big);
    }
    assert_true(em_test_oom_sweep(copy_under_oom, &v, 1000) >= 2);
    em_arena_destroy(a);
}

static void test_val_format(void **state)
{
    em_arena *a = em_arena_create();
    em_val items[3] = {em_cstr("a"), em_int(1), em_float(2.0)};
    em_val kv[2] = {em_cstr("k"), em_float(2.5)};
    static const double x[2] = {1.0, 0.5};
    static const uint32_t idx[] = {2};
    static const double sv[] = {3.0};
    char buf[8];

    (void)state;
    assert_non_null(a);
    expect_format(em_cstr("a"), "a");
    expect_format(em_array(items, 2), "['a', 1]");
    expect_format(em_array(items, 3), "['a', 1, 2.0]");
    expect_format(map_of(a, kv, 1), "{'k': 2.5}");
    expect_format(em_nil(), "nil");
    expect_format(em_bool(true), "true");
    expect_format(em_bool(false), "false");
    expect_format(em_int(-42), "-42");
    expect_format(em_int(INT64_MIN), "-9223372036854775808");
    expect_format(em_float(1.0), "1.0");
    expect_format(em_float(0.1), "0.1");
    expect_format(em_float(0.1 + 0.2), "0.30000000000000004");
    expect_format(em_float(-0.0), "-0.0");
    expect_format(em_float(123456789.0), "123456789.0");
    expect_format(em_float(1e20), "1e+20");
    expect_format(em_float(NAN), "nan");
    expect_format(em_float(INFINITY), "inf");
    expect_format(em_float(-INFINITY), "-inf");
    expect_format(em_array(NULL, 0), "[]");
    expect_format(map_of(a, NULL, 0), "{}");
    expect_format(em_bytes("ab", 2), "b'ab'");
    expect_format(em_vec(x, 2), "vec[1.0, 0.5]");
    expect_format(spvec_of(a, 4, idx, sv, 1), "spvec(4, {2: 3.0})");
    /* a nested array quotes its strings; a float inside stays a float */
    items[2] = em_array(items, 2);
    expect_format(em_array(items, 3), "['a', 1, ['a', 1]]");
    /* truncation: snprintf's contract */
    assert_int_equal(em_val_format(em_array(items, 2), buf, 4), 8);
    assert_string_equal(buf, "['a");
    assert_int_equal(em_val_format(em_cstr("hello"), buf, 0), 5);
    assert_int_equal(em_val_format(em_cstr("hello"), buf, 1), 5);
    assert_string_equal(buf, "");
    em_arena_destroy(a);
}

static void test_val_spvec_make_validates(void **state)
{
    em_arena *a = em_arena_create();
    uint32_t unsorted[] = {3, 1}, dup[] = {1, 1}, ok[] = {0, 4};
    double val[] = {1.0, 2.0};
    em_val v = em_int(123), want = em_int(123);
    size_t used;

    (void)state;
    assert_non_null(a);
    used = em_arena_used(a);
    assert_int_equal(em_spvec_make(a, 5, unsorted, val, 2, &v), EM_EINVAL);
    assert_int_equal(em_spvec_make(a, 5, dup, val, 2, &v), EM_EINVAL);
    assert_int_equal(em_spvec_make(a, 4, ok, val, 2, &v), EM_EINVAL);
    assert_int_equal(em_spvec_make(a, -1, NULL, NULL, 0, &v), EM_EINVAL);
    assert_int_equal(em_spvec_make(a, 1, ok, val, 2, &v), EM_EINVAL);
    assert_true(strlen(em_last_error()) > 0);
    /* out untouched, nothing allocated */
    assert_true(em_val_eq(v, want) && v.type == EM_INT);
    assert_int_equal(em_arena_used(a), used);
    EM_CHECK(em_spvec_make(a, 5, ok, val, 2, &v));
    assert_int_equal(v.type, EM_SPVEC);
    assert_int_equal(v.len, 2);
    assert_int_equal(v.u.sp->dim, 5);
    /* the entries were copied */
    ok[1] = 3;
    val[1] = 7.0;
    assert_int_equal(v.u.sp->idx[1], 4);
    assert_true(v.u.sp->val[1] == 2.0);
    EM_CHECK(em_spvec_make(a, 0, NULL, NULL, 0, &v));
    assert_int_equal(v.len, 0);
    em_arena_destroy(a);
}

static void test_val_array_make_huge(void **state)
{
    em_arena *a = em_arena_create();
    em_val out = em_int(5);
    size_t used;

    (void)state;
    assert_non_null(a);
    used = em_arena_used(a);
    assert_null(em_array_make(a, (size_t)UINT32_MAX + 1, &out));
    assert_null(em_array_make(a, SIZE_MAX, &out));
    assert_null(em_array_make(a, SIZE_MAX / sizeof(em_val) + 1, &out));
    assert_non_null(strstr(em_last_error(), "too large"));
    assert_int_equal(out.type, EM_INT);
    assert_int_equal(em_arena_used(a), used);
    assert_null(em_vec_make(a, (size_t)UINT32_MAX + 1, &out));
    assert_int_equal(out.type, EM_INT);
    /* small ones start as nil */
    {
        em_val *items = em_array_make(a, 3, &out);
        assert_non_null(items);
        assert_int_equal(out.len, 3);
        for (int i = 0; i < 3; i++)
            assert_int_equal(items[i].type, EM_NIL);
    }
    em_arena_destroy(a);
}

static void test_val_accessors(void **state)
{
    int64_t i = 0;
    double f = 0;
    em_val pair[2] = {em_int(1), em_int(2)};

    (void)state;
    assert_true(em_val_as_int(em_int(-9), &i));
    assert_int_equal(i, -9);
    assert_false(em_val_as_int(em_float(1.0), &i));
    assert_int_equal(i, -9);
    assert_true(em_val_as_float(em_int(3), &f));
    assert_true(f == 3.0);
    assert_false(em_val_as_float(em_cstr("3"), &f));
    assert_true(em_val_is_pair(em_array(pair, 2)));
    assert_false(em_val_is_pair(em_array(pair, 1)));
    assert_string_equal(em_type_name(EM_INT), "int");
    assert_string_equal(em_type_name(EM_STR), "str");
    assert_string_equal(em_type_name(EM_HANDLE), "handle");
}

/* The comparison and hashing functions are public API: the shared library
 * must export them (declared with EM_API, built with hidden visibility). */
static void test_val_functions_exported(void **state)
{
    static const char *const names[] = {
        "em_val_eq", "em_val_cmp", "em_val_hash", "em_val_format",
        "em_val_copy", "em_map_make", "em_array_make", "em_cstr",
    };
    const char *build = getenv("EMBER_BUILD");
    char path[4096];
    void *lib;

    (void)state;
    if (build == NULL)
        skip();
    snprintf(path, sizeof(path), "%s/libember.so", build);
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        skip();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (dlsym(lib, names[i]) == NULL) {
            dlclose(lib);
            fail_msg("%s is not exported by %s", names[i], path);
        }
    }
    dlclose(lib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_val_cross_type_order),
        EM_TEST(test_val_number_compare_exact),
        EM_TEST(test_val_str_bytes_order),
        EM_TEST(test_val_container_order),
        EM_TEST(test_val_hash_consistent_with_eq),
        EM_TEST(test_val_hash_stable),
        EM_TEST(test_val_order_properties_pairs),
        EM_TEST(test_val_order_properties_transitive),
        EM_TEST(test_val_map_make_sorts_last_wins),
        EM_TEST(test_val_copy_deep),
        EM_TEST(test_val_copy_oom_sweep),
        EM_TEST(test_val_format),
        EM_TEST(test_val_spvec_make_validates),
        EM_TEST(test_val_array_make_huge),
        EM_TEST(test_val_accessors),
        EM_TEST(test_val_functions_exported),
    };

    return cmocka_run_group_tests_name("val", tests, NULL, NULL);
}
