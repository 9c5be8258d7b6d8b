/* Fuzzing the frame reader (scheduler/net/frame.c) with fixed seeds:
 * streams of valid frames are mutated (bit flips, byte replacement,
 * insertion, deletion, truncation, rewritten length prefixes) and fed to a
 * reader in random chunks, and so are random byte streams. Each frame that
 * comes out must be well formed: it re-encodes to a frame that reads back
 * to the same type and value. Otherwise the reader must stop with
 * EM_EPROTO, EM_EFORMAT or EM_ELIMIT and keep failing. Each chunk sits in
 * a heap block of its exact size, so AddressSanitizer reports any read
 * past its end.
 */
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "scheduler/net/frame.h"

#define STREAMS 6000   /* mutated streams per seed (4 seeds) */
#define RANDOM 3000    /* random streams per seed */
#define MAX_FRAME 2048 /* the reader's limit */

/* Outcomes seen, to check that the inputs reach both. */
static long n_frames, n_errors;

static em_val gen_val(em_test_rng *g, em_arena *a, int depth)
{
    size_t n = em_test_below(g, 6);
    em_val v, *items;
    char *s;

    switch (em_test_below(g, depth < 3 ? 7 : 5)) {
    case 0:
        return em_nil();
    case 1:
        return em_int((int64_t)em_test_next(g) >> em_test_below(g, 64));
    case 2:
        return em_float((double)em_test_below(g, 1000) / 7.0);
    case 3:
    case 4:
        s = em_arena_alloc(a, n + 1);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('a' + em_test_below(g, 26));
        return em_test_below(g, 2) ? em_str(s, n) : em_bytes(s, n);
    default:
        items = em_array_make(a, n, &v);
        assert_true(n == 0 || items != NULL);
        for (size_t i = 0; i < n; i++)
            items[i] = gen_val(g, a, depth + 1);
        return v;
    }
}

/* A stream of 1-5 valid frames. */
static void gen_stream(em_test_rng *g, em_arena *a, em__buf *b)
{
    size_t k = 1 + em_test_below(g, 5);

    b->len = 0;
    for (size_t i = 0; i < k; i++)
        EM_CHECK(em__frame_encode(b, (int)em_test_below(g, 40) - 5,
                                  gen_val(g, a, 0), MAX_FRAME));
}

static void put_be32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24);
    p[1] = (uint8_t)(x >> 16);
    p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
}

/* One random mutation of b (which has room to grow by 16 bytes). */
static void mutate(em_test_rng *g, em__buf *b)
{
    size_t at = b->len ? em_test_below(g, b->len) : 0;

    switch (em_test_below(g, 7)) {
    case 0:
        if (b->len)
            b->data[at] ^= (uint8_t)(1u << em_test_below(g, 8));
        break;
    case 1:
        if (b->len)
            b->data[at] = (uint8_t)em_test_below(g, 256);
        break;
    case 2: /* insert */
        if (em__buf_reserve(b, 1) != NULL) {
            memmove(b->data + at + 1, b->data + at, b->len - at);
            b->data[at] = (uint8_t)em_test_below(g, 256);
            b->len++;
        }
        break;
    case 3: /* delete */
        if (b->len) {
            memmove(b->data + at, b->data + at + 1, b->len - at - 1);
            b->len--;
        }
        break;
    case 4: /* truncate */
        b->len = at;
        break;
    case 5: /* a length prefix: small, just over the limit, or huge */
        if (b->len >= 4) {
            static const uint32_t lens[] = {
                0, 1, 3, MAX_FRAME, MAX_FRAME + 1, 0xffffffffu};
            put_be32(b->data, em_test_below(g, 2)
                                  ? lens[em_test_below(g, 6)]
                                  : (uint32_t)em_test_below(g, 64));
        }
        break;
    default: /* the version byte of the first frame */
        if (b->len >= 6)
            b->data[5] = (uint8_t)em_test_below(g, 256);
        break;
    }
}

/* A frame that came out must survive a round trip unchanged. */
static void check_frame(int type, em_val body)
{
    em_arena *a = em_arena_create();
    em__buf b = EM__BUF_INIT;
    em__frame_reader r;
    em_val again;
    int t2;
    bool has;

    EM_CHECK(em__frame_encode(&b, type, body, MAX_FRAME));
    em__frame_reader_init(&r, MAX_FRAME, NULL);
    EM_CHECK(em__frame_reader_feed(&r, b.data, b.len));
    EM_CHECK(em__frame_reader_next(&r, a, &t2, &again, &has));
    assert_true(has);
    assert_int_equal(t2, type);
    assert_true(em_val_eq(again, body) && again.type == body.type);
    em__frame_reader_fini(&r);
    em__buf_fini(&b);
    em_arena_destroy(a);
}

/* Feeds the stream in random chunks (each copied to an exact-size heap
 * block) and checks every outcome. */
static void feed_stream(em_test_rng *g, const uint8_t *p, size_t n)
{
    em_arena *a = em_arena_create();
    em__frame_reader r;
    em_status failed = EM_OK;
    size_t at = 0;

    em__frame_reader_init(&r, MAX_FRAME, NULL);
    while (at < n && failed == EM_OK) {
        size_t k = 1 + em_test_below(g, 64);
        uint8_t *chunk;

        k = k > n - at ? n - at : k;
        chunk = malloc(k);
        assert_non_null(chunk);
        memcpy(chunk, p + at, k);
        EM_CHECK(em__frame_reader_feed(&r, chunk, k));
        free(chunk);
        at += k;
        for (;;) {
            em_val body;
            int type;
            bool has;
            em_status st = em__frame_reader_next(&r, a, &type, &body, &has);

            if (st != EM_OK) {
                assert_true(st == EM_EPROTO || st == EM_EFORMAT ||
                            st == EM_ELIMIT);
                assert_true(em__frame_reader_ready(&r));
                failed = st;
                n_errors++;
                break;
            }
            if (!has)
                break;
            check_frame(type, body);
            n_frames++;
        }
        em__arena_reset(a);
    }
    if (failed != EM_OK) { /* stays failed */
        em_val body;
        int type;
        bool has;

        assert_int_equal(em__frame_reader_next(&r, a, &type, &body, &has),
                         failed);
    }
    em__frame_reader_fini(&r);
    em_arena_destroy(a);
}

static void test_frame_fuzz_mutations(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        em_test_rng g = {seed};
        em_arena *a = em_arena_create();
        em__buf b = EM__BUF_INIT;

        for (int i = 0; i < STREAMS; i++) {
            int k = 1 + (int)em_test_below(&g, 4);

            gen_stream(&g, a, &b);
            for (int j = 0; j < k; j++)
                mutate(&g, &b);
            feed_stream(&g, b.data, b.len);
            em__arena_reset(a);
        }
        em__buf_fini(&b);
        em_arena_destroy(a);
    }
    /* mutations leave many frames intact and break many */
    assert_true(n_frames > STREAMS && n_errors > STREAMS);
}

static void test_frame_fuzz_random_bytes(void **state)
{
    (void)state;
    for (uint64_t seed = 11; seed <= 14; seed++) {
        em_test_rng g = {seed};
        uint8_t buf[512];

        for (int i = 0; i < RANDOM; i++) {
            size_t n = em_test_below(&g, sizeof(buf));

            for (size_t j = 0; j < n; j++)
                buf[j] = (uint8_t)em_test_below(&g, 256);
            if (n >= 4 && em_test_below(&g, 2)) /* a plausible prefix */
                put_be32(buf, (uint32_t)(n - 4));
            feed_stream(&g, buf, n);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_frame_fuzz_mutations),
        EM_TEST(test_frame_fuzz_random_bytes),
    };

    return cmocka_run_group_tests_name("frame_fuzz", tests, NULL, NULL);
}
