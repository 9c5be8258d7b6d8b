/* The handshake (scheduler/net/auth.h), without a network: the byte layout
 * against HMAC-SHA256 computed here with libsodium's one-shot API, mutual
 * acceptance with equal keys, refusal of a wrong key, a tampered or
 * replayed reply, a bad magic, another version, and a server that does not
 * know the key. */
#include <string.h>

#include <sodium.h>

#include "em_test.h"
#include "scheduler/net/auth.h"
#include "scheduler/net/frame.h"

typedef struct hs {
    em__auth srv, cli;
    uint8_t hello[EM__AUTH_HELLO_BYTES];
    uint8_t reply[EM__AUTH_REPLY_BYTES];
    uint8_t result[EM__AUTH_RESULT_BYTES];
} hs;

static em__secret key_of(const char *s)
{
    em__secret k;

    EM_CHECK(em__secret_from_bytes(s, strlen(s), &k));
    return k;
}

/* HMAC(key, label || a || b), computed independently. */
static void hmac(const em__secret *k, const char *label, const uint8_t *a,
                 const uint8_t *b, uint8_t out[32])
{
    uint8_t msg[64 + 32];
    size_t n = strlen(label);

    memcpy(msg, label, n);
    memcpy(msg + n, a, 32);
    memcpy(msg + n + 32, b, 32);
    crypto_auth_hmacsha256(out, msg, n + 64, k->key);
}

static void test_auth_layout_and_accept(void **state)
{
    em__secret k = key_of("cluster-1");
    uint8_t mac[32];
    hs h;

    (void)state;
    EM_CHECK(em__auth_server_hello(&h.srv, &k, h.hello));
    assert_memory_equal(h.hello, "EMBR\0\0\0\1", 8);
    EM_CHECK(em__auth_client_reply(&h.cli, &k, h.hello, h.reply));
    assert_memory_equal(h.reply, "EMBR\0\0\0\1", 8);
    /* reply: client nonce at 8, HMAC at 40 */
    hmac(&k, "ember-client", h.hello + 8, h.reply + 8, mac);
    assert_memory_equal(h.reply + 40, mac, 32);
    EM_CHECK(em__auth_server_check(&h.srv, h.reply, h.result));
    assert_int_equal(h.result[0], EM__AUTH_ACCEPTED);
    hmac(&k, "ember-server", h.reply + 8, h.hello + 8, mac);
    assert_memory_equal(h.result + 1, mac, 32);
    EM_CHECK(em__auth_client_check(&h.cli, h.result));
    em__auth_wipe(&h.srv);
    em__auth_wipe(&h.cli);
}

static void test_auth_nonces_are_fresh(void **state)
{
    em__secret k = key_of("cluster-1");
    uint8_t h1[EM__AUTH_HELLO_BYTES], h2[EM__AUTH_HELLO_BYTES];
    uint8_t r1[EM__AUTH_REPLY_BYTES], r2[EM__AUTH_REPLY_BYTES];
    em__auth a;

    (void)state;
    EM_CHECK(em__auth_server_hello(&a, &k, h1));
    EM_CHECK(em__auth_server_hello(&a, &k, h2));
    assert_true(memcmp(h1 + 8, h2 + 8, 32) != 0);
    EM_CHECK(em__auth_client_reply(&a, &k, h1, r1));
    EM_CHECK(em__auth_client_reply(&a, &k, h1, r2));
    assert_true(memcmp(r1 + 8, r2 + 8, 32) != 0);
}

static void test_auth_wrong_key_refused(void **state)
{
    em__secret ks = key_of("cluster-1"), kc = key_of("cluster-2");
    hs h;

    (void)state;
    EM_CHECK(em__auth_server_hello(&h.srv, &ks, h.hello));
    EM_CHECK(em__auth_client_reply(&h.cli, &kc, h.hello, h.reply));
    assert_int_equal(em__auth_server_check(&h.srv, h.reply, h.result),
                     EM_EPROTO);
    assert_string_equal(em_last_error(), "authentication failed");
    assert_int_equal(h.result[0], EM__AUTH_REFUSED);
    for (int i = 1; i < EM__AUTH_RESULT_BYTES; i++)
        assert_int_equal(h.result[i], 0);
    assert_int_equal(em__auth_client_check(&h.cli, h.result), EM_EPROTO);
    assert_non_null(strstr(em_last_error(), "refused authentication"));
}

static void test_auth_tampered_reply_refused(void **state)
{
    em__secret k = key_of("cluster-1");
    hs h;

    (void)state;
    EM_CHECK(em__auth_server_hello(&h.srv, &k, h.hello));
    EM_CHECK(em__auth_client_reply(&h.cli, &k, h.hello, h.reply));
    for (int i = 0; i < EM__AUTH_REPLY_BYTES; i++) {
        uint8_t bad[EM__AUTH_REPLY_BYTES];

        memcpy(bad, h.reply, sizeof(bad));
        bad[i] ^= 0x10;
        assert_int_equal(em__auth_server_check(&h.srv, bad, h.result),
                         EM_EPROTO);
        assert_int_not_equal(h.result[0], EM__AUTH_ACCEPTED);
    }
    EM_CHECK(em__auth_server_check(&h.srv, h.reply, h.result));
}

static void test_auth_replayed_reply_refused(void **state)
{
    em__secret k = key_of("cluster-1");
    hs h;

    (void)state;
    EM_CHECK(em__auth_server_hello(&h.srv, &k, h.hello));
    EM_CHECK(em__auth_client_reply(&h.cli, &k, h.hello, h.reply));
    /* a new connection: the recorded reply answers the old nonce */
    EM_CHECK(em__auth_server_hello(&h.srv, &k, h.hello));
    assert_int_equal(em__auth_server_check(&h.srv, h.reply, h.result),
                     EM_EPROTO);
    assert_string_equal(em_last_error(), "authentication failed");
}

static void test_auth_magic_and_version(void **state)
{
    em__secret k = key_of("cluster-1");
    hs h;

    (void)state;
    assert_int_equal(em__auth_check_magic((const uint8_t *)"GET ", 4),
                     EM_EPROTO);
    assert_string_equal(em_last_error(), "not an Ember peer (bad magic)");
    EM_CHECK(em__auth_check_magic((const uint8_t *)"EMB", 3));
    assert_int_equal(em__auth_check_magic((const uint8_t *)"EX", 2), EM_EPROTO);
    /* the client checks the server's hello */
    EM_CHECK(em__auth_server_hello(&h.srv, &k, h.hello));
    h.hello[0] = 'X';
    assert_int_equal(em__auth_client_reply(&h.cli, &k, h.hello, h.reply),
                     EM_EPROTO);
    assert_non_null(strstr(em_last_error(), "not an Ember server"));
    h.hello[0] = 'E';
    h.hello[7] = 2;
    assert_int_equal(em__auth_client_reply(&h.cli, &k, h.hello, h.reply),
                     EM_EPROTO);
    assert_string_equal(em_last_error(),
                        "server speaks protocol version 2, expected 1");
    /* the server checks the client's reply */
    h.hello[7] = 1;
    EM_CHECK(em__auth_client_reply(&h.cli, &k, h.hello, h.reply));
    h.reply[7] = 9;
    assert_int_equal(em__auth_server_check(&h.srv, h.reply, h.result),
                     EM_EPROTO);
    assert_string_equal(em_last_error(),
                        "client speaks protocol version 9, expected 1");
    assert_int_equal(h.result[0], EM__AUTH_VERSION);
    assert_int_equal(em__auth_client_check(&h.cli, h.result), EM_EPROTO);
    assert_non_null(strstr(em_last_error(), "refused protocol version 1"));
    h.reply[7] = 1;
    h.reply[1] = 'X';
    assert_int_equal(em__auth_server_check(&h.srv, h.reply, h.result),
                     EM_EPROTO);
    assert_string_equal(em_last_error(), "not an Ember peer (bad magic)");
}

static void test_auth_client_checks_the_server(void **state)
{
    em__secret k = key_of("cluster-1");
    hs h;

    (void)state;
    EM_CHECK(em__auth_server_hello(&h.srv, &k, h.hello));
    EM_CHECK(em__auth_client_reply(&h.cli, &k, h.hello, h.reply));
    /* an impostor that accepts without knowing the key */
    memset(h.result, 0, sizeof(h.result));
    assert_int_equal(em__auth_client_check(&h.cli, h.result), EM_EPROTO);
    assert_non_null(strstr(em_last_error(), "server failed authentication"));
    /* an unknown status byte */
    h.result[0] = 77;
    assert_int_equal(em__auth_client_check(&h.cli, h.result), EM_EPROTO);
    assert_non_null(strstr(em_last_error(), "malformed handshake result"));
    /* the server's proof for another client nonce does not pass */
    EM_CHECK(em__auth_server_check(&h.srv, h.reply, h.result));
    h.cli.client_nonce[0] ^= 1;
    assert_int_equal(em__auth_client_check(&h.cli, h.result), EM_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_auth_layout_and_accept),
        EM_TEST(test_auth_nonces_are_fresh),
        EM_TEST(test_auth_wrong_key_refused),
        EM_TEST(test_auth_tampered_reply_refused),
        EM_TEST(test_auth_replayed_reply_refused),
        EM_TEST(test_auth_magic_and_version),
        EM_TEST(test_auth_client_checks_the_server),
    };

    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
