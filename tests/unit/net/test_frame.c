/* Frames (scheduler/net/frame.h): round trips of every value type, the
 * incremental reader fed byte by byte and in random chunks, the known byte
 * layout, and every error with its message. */
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "scheduler/net/frame.h"

/* ---- helpers ---- */

/* A body holding every value type. */
static em_val every_type(em_arena *a)
{
    static const double x[3] = {1.5, -2.0, 1e300};
    static const uint32_t idx[2] = {1, 7};
    static const double spv[2] = {0.25, -8.0};
    static const char state[3] = {'s', 't', 0};
    em_val v, kv[4], *items = em_array_make(a, 12, &v);

    assert_non_null(items);
    items[0] = em_nil();
    items[1] = em_bool(true);
    items[2] = em_int(INT64_MIN);
    items[3] = em_float(-0.125);
    items[4] = em_cstr("héllo");
    items[5] = em_bytes("\0\1\2\377", 4);
    kv[0] = em_cstr("b");
    kv[1] = em_int(2);
    kv[2] = em_cstr("a");
    kv[3] = em_vec(x, 3);
    EM_CHECK(em_map_make(a, kv, 2, &items[6]));
    items[7] = em_vec(x, 3);
    EM_CHECK(em_spvec_make(a, 10, idx, spv, 2, &items[8]));
    items[9].type = EM_HANDLE;
    items[9].kind = 7;
    items[9].len = 3;
    items[9].u.state = state;
    EM_CHECK(em_pair_make(a, em_int(1), em_cstr("one"), &items[10]));
    items[11] = em_array(NULL, 0);
    return v;
}

/* Handles compare by kind and state bytes (em_val_eq may not know kind 7). */
static bool same(em_val a, em_val b)
{
    if (a.type == EM_HANDLE || b.type == EM_HANDLE)
        return a.type == b.type && a.kind == b.kind && a.len == b.len &&
               memcmp(a.u.state, b.u.state, a.len) == 0;
    if (a.type == EM_ARRAY && b.type == EM_ARRAY) {
        if (a.len != b.len)
            return false;
        for (uint32_t i = 0; i < a.len; i++)
            if (!same(a.u.arr[i], b.u.arr[i]))
                return false;
        return true;
    }
    return em_val_eq(a, b) && a.type == b.type;
}

/* Feeds raw frame content (after a correct length prefix) to a fresh reader
 * and returns next()'s status; *has_frame tells whether one came out. */
static em_status read_content(const void *p, uint32_t n, bool *has_frame)
{
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                      (uint8_t)n};
    em__frame_reader r;
    em_arena *a = em_arena_create();
    em_val body;
    int type;
    em_status st;

    em__frame_reader_init(&r, 0, NULL);
    EM_CHECK(em__frame_reader_feed(&r, hdr, 4));
    EM_CHECK(em__frame_reader_feed(&r, p, n));
    *has_frame = false;
    st = em__frame_reader_next(&r, a, &type, &body, has_frame);
    em__frame_reader_fini(&r);
    em_arena_destroy(a);
    return st;
}

/* Asserts content p[0..n) is refused with st and a message containing msg. */
static void expect_refused(const char *p, uint32_t n, em_status st,
                           const char *msg)
{
    bool has = true;
    em_status got = read_content(p, n, &has);

    if (got != st || strstr(em_last_error(), msg) == NULL)
        fail_msg("got %s (%s), want %s containing '%s'", em_status_name(got),
                 em_last_error(), em_status_name(st), msg);
    assert_false(has);
}

/* ---- cases ---- */

static void test_frame_layout_known_bytes(void **state)
{
    static const uint8_t want[] = {0, 0, 0, 4, 0x93, 0x01, 0x05, 0xc0};
    em__buf b = EM__BUF_INIT;

    (void)state;
    EM_CHECK(em__frame_encode(&b, 5, em_nil(), 0));
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));
    em__buf_fini(&b);
}

static void test_frame_round_trip_every_type(void **state)
{
    em_arena *a = em_arena_create(), *out = em_arena_create();
    em_val v = every_type(a), body;
    em__buf b = EM__BUF_INIT;
    em__frame_reader r;
    bool has;
    int type;

    (void)state;
    for (uint32_t i = 0; i <= v.len; i++) {
        em_val x = i < v.len ? v.u.arr[i] : v; /* each, then all together */

        b.len = 0;
        EM_CHECK(em__frame_encode(&b, (int)i * 1000 - 3, x, 0));
        em__frame_reader_init(&r, 0, NULL);
        EM_CHECK(em__frame_reader_feed(&r, b.data, b.len));
        EM_CHECK(em__frame_reader_next(&r, out, &type, &body, &has));
        assert_true(has);
        assert_int_equal(type, (int)i * 1000 - 3);
        assert_true(same(x, body));
        assert_int_equal(em__frame_reader_buffered(&r), 0);
        EM_CHECK(em__frame_reader_next(&r, out, &type, &body, &has));
        assert_false(has);
        em__frame_reader_fini(&r);
    }
    em__buf_fini(&b);
    em_arena_destroy(out);
    em_arena_destroy(a);
}

/* Many frames back to back, delivered in pieces of the sizes chunk() picks;
 * every frame must come out once, in order, as soon as it is complete. */
static void feed_in_pieces(em_test_rng *rng, size_t max_piece)
{
    em_arena *a = em_arena_create(), *out = em_arena_create();
    em_val all = every_type(a), body;
    em__buf b = EM__BUF_INIT;
    size_t ends[40], at = 0, got = 0;
    em__frame_reader r;
    bool has;
    int type;

    for (int i = 0; i < 40; i++) {
        EM_CHECK(em__frame_encode(&b, i, all.u.arr[i % all.len], 0));
        ends[i] = b.len;
    }
    em__frame_reader_init(&r, 0, NULL);
    while (at < b.len) {
        size_t k = max_piece == 1 ? 1 : 1 + em_test_below(rng, max_piece);

        k = k > b.len - at ? b.len - at : k;
        EM_CHECK(em__frame_reader_feed(&r, b.data + at, k));
        at += k;
        for (;;) {
            EM_CHECK(em__frame_reader_next(&r, out, &type, &body, &has));
            if (!has)
                break;
            assert_true(got < 40 && ends[got] <= at);
            assert_int_equal(type, (int)got);
            assert_true(same(body, all.u.arr[got % all.len]));
            got++;
        }
        /* a frame that is complete has been taken */
        assert_true(got == 40 || ends[got] > at);
        em__arena_reset(out);
    }
    assert_int_equal(got, 40);
    em__frame_reader_fini(&r);
    em__buf_fini(&b);
    em_arena_destroy(out);
    em_arena_destroy(a);
}

static void test_frame_reader_one_byte_at_a_time(void **state)
{
    em_test_rng rng = {1};

    (void)state;
    feed_in_pieces(&rng, 1);
}

static void test_frame_reader_random_chunks(void **state)
{
    em_test_rng rng = {42};

    (void)state;
    for (int round = 0; round < 20; round++)
        feed_in_pieces(&rng, 1 + em_test_below(&rng, 300));
}

static void test_frame_reader_long_array_headers(void **state)
{
    static const char a16[] = "\xdc\x00\x03\x01\x05\xc0";
    static const char a32[] = "\xdd\x00\x00\x00\x03\x01\x05\xc3";
    bool has;

    (void)state;
    EM_CHECK(read_content(a16, 6, &has));
    assert_true(has);
    EM_CHECK(read_content(a32, 8, &has));
    assert_true(has);
}

static void test_frame_oversized_length_before_body(void **state)
{
    static const uint8_t hdr[4] = {0, 0, 0, 101};
    em_arena *a = em_arena_create();
    em__frame_reader r;
    em_val body = em_int(99);
    int type = 99;
    bool has = true;

    (void)state;
    em__frame_reader_init(&r, 100, NULL);
    /* three bytes of the prefix: nothing to say yet */
    EM_CHECK(em__frame_reader_feed(&r, hdr, 3));
    assert_false(em__frame_reader_ready(&r));
    EM_CHECK(em__frame_reader_next(&r, a, &type, &body, &has));
    assert_false(has);
    /* the fourth byte: refused at once, no body needed */
    EM_CHECK(em__frame_reader_feed(&r, hdr + 3, 1));
    assert_true(em__frame_reader_ready(&r));
    assert_int_equal(em__frame_reader_next(&r, a, &type, &body, &has),
                     EM_ELIMIT);
    assert_non_null(
        strstr(em_last_error(), "frame of 101 bytes exceeds the limit of 100"));
    assert_int_equal(type, 99); /* outputs untouched */
    assert_int_equal(body.u.i, 99);
    /* the reader stays failed and drops what comes after */
    EM_CHECK(em__frame_reader_feed(&r, "xxxx", 4));
    assert_int_equal(em__frame_reader_buffered(&r), 4);
    assert_int_equal(em__frame_reader_next(&r, a, &type, &body, &has),
                     EM_ELIMIT);
    em__frame_reader_fini(&r);
    em_arena_destroy(a);
}

static void test_frame_huge_length_prefix_default_limit(void **state)
{
    static const uint8_t hdr[4] = {0xff, 0xff, 0xff, 0xff};
    em_arena *a = em_arena_create();
    em__frame_reader r;
    em_val body;
    int type;
    bool has;

    (void)state;
    em__frame_reader_init(&r, 0, NULL);
    EM_CHECK(em__frame_reader_feed(&r, hdr, 4));
    assert_int_equal(em__frame_reader_next(&r, a, &type, &body, &has),
                     EM_ELIMIT);
    assert_non_null(strstr(em_last_error(), "4294967295 bytes exceeds the "
                                            "limit of 268435456 bytes"));
    em__frame_reader_fini(&r);
    em_arena_destroy(a);
}

static void test_frame_rejects_bad_content(void **state)
{
    (void)state;
    expect_refused("", 0, EM_EPROTO, "not a 3-element array");
    expect_refused("\xc0", 1, EM_EPROTO, "not a 3-element array");
    expect_refused("\x92\x01\x05", 3, EM_EPROTO, "not a 3-element array");
    expect_refused("\x94\x01\x05\xc0\xc0", 5, EM_EPROTO,
                   "not a 3-element array");
    expect_refused("\x81\x01\x05", 3, EM_EPROTO, "not a 3-element array");
    expect_refused("\x93\x07\x05\xc0", 4, EM_EPROTO,
                   "protocol version 7, expected 1");
    expect_refused("\x93\xff\x05\xc0", 4, EM_EPROTO,
                   "protocol version -1, expected 1");
    expect_refused("\x93\xa1v\x05\xc0", 5, EM_EPROTO,
                   "frame version is a str, expected an int");
    expect_refused("\x93\x01\xc3\xc0", 4, EM_EPROTO,
                   "frame type is a bool, expected an int");
    expect_refused("\x93\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xc0", 12,
                   EM_EPROTO, "frame type 4294967296 is out of range");
    expect_refused("\x93\x01\x05\xc0\xc0", 5, EM_EPROTO,
                   "frame has 1 bytes after its body");
    expect_refused("\x93\x01\x05\xc1", 4, EM_EFORMAT, "invalid type byte");
    expect_refused("\x93\x01\x05", 3, EM_EFORMAT, "truncated");
    expect_refused("\x93\x01\x05\x92\x01", 5, EM_EFORMAT, "truncated");
    expect_refused("\x93\x01", 2, EM_EFORMAT, "truncated");
}

static void test_frame_codec_limits_apply(void **state)
{
    em__codec_limits lim = {1 << 20, 3, 1000};
    em_arena *a = em_arena_create();
    em_val v = em_int(1), cells[6], body;
    em__buf b = EM__BUF_INIT;
    em__frame_reader r;
    bool has;
    int type;

    (void)state;
    for (int i = 0; i < 6; i++) { /* six levels of nesting */
        cells[i] = v;
        v = em_array(&cells[i], 1);
    }
    EM_CHECK(em__frame_encode(&b, 1, v, 0));
    em__frame_reader_init(&r, 0, &lim);
    EM_CHECK(em__frame_reader_feed(&r, b.data, b.len));
    assert_int_equal(em__frame_reader_next(&r, a, &type, &body, &has),
                     EM_ELIMIT);
    assert_non_null(strstr(em_last_error(), "nested deeper than 3"));
    em__frame_reader_fini(&r);
    em__buf_fini(&b);
    em_arena_destroy(a);
}

static void test_frame_encode_limit_restores_buffer(void **state)
{
    em__buf b = EM__BUF_INIT;
    char big[100];

    (void)state;
    memset(big, 'x', sizeof(big));
    EM_CHECK(em__frame_encode(&b, 1, em_int(1), 0));
    assert_int_equal(b.len, 8);
    assert_int_equal(em__frame_encode(&b, 1, em_str(big, sizeof(big)), 50),
                     EM_ELIMIT);
    assert_non_null(strstr(em_last_error(), "exceeds the limit of 50"));
    assert_int_equal(b.len, 8);
    /* exactly at the limit is accepted: 3 + 2 + 100 bytes of content */
    EM_CHECK(em__frame_encode(&b, 1, em_str(big, sizeof(big)), 105));
    assert_int_equal(b.len, 8 + 4 + 105);
    em__buf_fini(&b);
}

/* The OOM sweep over encoding and reading one frame of *arg. */
static em_status encode_and_read(void *arg)
{
    const em_val *want = arg;
    em_arena *a = em_arena_create();
    em__buf b = EM__BUF_INIT;
    em__frame_reader r;
    em_val body;
    bool has = false;
    int type;
    em_status st = EM_ENOMEM;

    em__frame_reader_init(&r, 0, NULL);
    if (a == NULL)
        goto out;
    if ((st = em__frame_encode(&b, 9, *want, 0)) != EM_OK ||
        (st = em__frame_reader_feed(&r, b.data, b.len)) != EM_OK ||
        (st = em__frame_reader_next(&r, a, &type, &body, &has)) != EM_OK)
        goto out;
    assert_true(has && type == 9 && same(body, *want));
out:
    em__frame_reader_fini(&r);
    em__buf_fini(&b);
    em_arena_destroy(a);
    return st;
}

static void test_frame_oom_sweep(void **state)
{
    em_arena *src = em_arena_create();
    em_val v = every_type(src);

    (void)state;
    assert_true(em_test_oom_sweep(encode_and_read, &v, 200) > 0);
    em_arena_destroy(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_frame_layout_known_bytes),
        EM_TEST(test_frame_round_trip_every_type),
        EM_TEST(test_frame_reader_one_byte_at_a_time),
        EM_TEST(test_frame_reader_random_chunks),
        EM_TEST(test_frame_reader_long_array_headers),
        EM_TEST(test_frame_oversized_length_before_body),
        EM_TEST(test_frame_huge_length_prefix_default_limit),
        EM_TEST(test_frame_rejects_bad_content),
        EM_TEST(test_frame_codec_limits_apply),
        EM_TEST(test_frame_encode_limit_restores_buffer),
        EM_TEST(test_frame_oom_sweep),
    };

    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
