/* The handshake (auth.h): nonces from randombytes, HMAC-SHA256 proofs with
 * distinct labels for the two directions, constant-time comparison. Byte
 * layout in auth.h and docs/protocol.md ("Handshake").
 */
#include "auth.h"

#include <string.h>

#include <sodium.h>

#include "frame.h"
#include "runtime/err.h"

_Static_assert(EM__SECRET_KEY_BYTES == crypto_auth_hmacsha256_KEYBYTES,
               "the key is an HMAC-SHA256 key");
_Static_assert(EM__AUTH_MAC_BYTES == crypto_auth_hmacsha256_BYTES,
               "the proof is an HMAC-SHA256");

static void put_be32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24);
    p[1] = (uint8_t)(x >> 16);
    p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* mac = HMAC(key, label || a || b). */
static void proof(const em__auth *st, const char *label, const uint8_t *a,
                  const uint8_t *b, uint8_t mac[EM__AUTH_MAC_BYTES])
{
    crypto_auth_hmacsha256_state h;

    crypto_auth_hmacsha256_init(&h, st->key.key, sizeof(st->key.key));
    crypto_auth_hmacsha256_update(&h, (const uint8_t *)label, strlen(label));
    crypto_auth_hmacsha256_update(&h, a, EM__AUTH_NONCE_BYTES);
    crypto_auth_hmacsha256_update(&h, b, EM__AUTH_NONCE_BYTES);
    crypto_auth_hmacsha256_final(&h, mac);
    sodium_memzero(&h, sizeof(h));
}

/* Writes magic and version at p (8 bytes). */
static void put_preamble(uint8_t *p)
{
    memcpy(p, EM__AUTH_MAGIC, EM__AUTH_MAGIC_BYTES);
    put_be32(p + EM__AUTH_MAGIC_BYTES, EM__NET_VERSION);
}

em_status em__auth_check_magic(const uint8_t *p, size_t n)
{
    if (n > EM__AUTH_MAGIC_BYTES)
        n = EM__AUTH_MAGIC_BYTES;
    if (memcmp(p, EM__AUTH_MAGIC, n) != 0)
        return em__err(EM_EPROTO, "not an Ember peer (bad magic)");
    return EM_OK;
}

em_status em__auth_server_hello(em__auth *st, const em__secret *key,
                                uint8_t hello_out[EM__AUTH_HELLO_BYTES])
{
    em_status rc = em__net_sodium_init();

    if (rc != EM_OK)
        return rc;
    memset(st, 0, sizeof(*st));
    st->key = *key;
    randombytes_buf(st->server_nonce, sizeof(st->server_nonce));
    put_preamble(hello_out);
    memcpy(hello_out + 8, st->server_nonce, EM__AUTH_NONCE_BYTES);
    return EM_OK;
}

em_status em__auth_server_check(em__auth *st,
                                const uint8_t reply[EM__AUTH_REPLY_BYTES],
                                uint8_t result_out[EM__AUTH_RESULT_BYTES])
{
    uint8_t want[EM__AUTH_MAC_BYTES];
    uint32_t version = get_be32(reply + EM__AUTH_MAGIC_BYTES);
    int bad;

    memset(result_out, 0, EM__AUTH_RESULT_BYTES);
    result_out[0] = EM__AUTH_REFUSED;
    if (em__auth_check_magic(reply, EM__AUTH_MAGIC_BYTES) != EM_OK)
        return EM_EPROTO;
    if (version != EM__NET_VERSION) {
        result_out[0] = EM__AUTH_VERSION;
        return em__err(EM_EPROTO,
                       "client speaks protocol version %u, "
                       "expected %d",
                       version, EM__NET_VERSION);
    }
    memcpy(st->client_nonce, reply + 8, EM__AUTH_NONCE_BYTES);
    proof(st, "ember-client", st->server_nonce, st->client_nonce, want);
    bad = sodium_memcmp(want, reply + 40, EM__AUTH_MAC_BYTES);
    sodium_memzero(want, sizeof(want));
    if (bad != 0)
        return em__err(EM_EPROTO, "authentication failed");
    result_out[0] = EM__AUTH_ACCEPTED;
    proof(st, "ember-server", st->client_nonce, st->server_nonce,
          result_out + 1);
    return EM_OK;
}

em_status em__auth_client_reply(em__auth *st, const em__secret *key,
                                const uint8_t hello[EM__AUTH_HELLO_BYTES],
                                uint8_t reply_out[EM__AUTH_REPLY_BYTES])
{
    uint32_t version = get_be32(hello + EM__AUTH_MAGIC_BYTES);
    em_status rc = em__net_sodium_init();

    if (rc != EM_OK)
        return rc;
    if (memcmp(hello, EM__AUTH_MAGIC, EM__AUTH_MAGIC_BYTES) != 0)
        return em__err(EM_EPROTO, "the server is not an Ember server (bad "
                                  "magic)");
    if (version != EM__NET_VERSION)
        return em__err(EM_EPROTO,
                       "server speaks protocol version %u, "
                       "expected %d",
                       version, EM__NET_VERSION);
    memset(st, 0, sizeof(*st));
    st->key = *key;
    memcpy(st->server_nonce, hello + 8, EM__AUTH_NONCE_BYTES);
    randombytes_buf(st->client_nonce, sizeof(st->client_nonce));
    put_preamble(reply_out);
    memcpy(reply_out + 8, st->client_nonce, EM__AUTH_NONCE_BYTES);
    proof(st, "ember-client", st->server_nonce, st->client_nonce,
          reply_out + 40);
    return EM_OK;
}

em_status em__auth_client_check(em__auth *st,
                                const uint8_t result[EM__AUTH_RESULT_BYTES])
{
    uint8_t want[EM__AUTH_MAC_BYTES];
    int bad;

    switch (result[0]) {
    case EM__AUTH_ACCEPTED:
        break;
    case EM__AUTH_REFUSED:
        return em__err(EM_EPROTO, "the server refused authentication (wrong "
                                  "cluster secret?)");
    case EM__AUTH_VERSION:
        return em__err(EM_EPROTO, "the server refused protocol version %d",
                       EM__NET_VERSION);
    default:
        return em__err(EM_EPROTO, "malformed handshake result from the "
                                  "server");
    }
    proof(st, "ember-server", st->client_nonce, st->server_nonce, want);
    bad = sodium_memcmp(want, result + 1, EM__AUTH_MAC_BYTES);
    sodium_memzero(want, sizeof(want));
    if (bad != 0)
        return em__err(EM_EPROTO, "the server failed authentication (it does "
                                  "not know the cluster secret)");
    return EM_OK;
}

void em__auth_wipe(em__auth *st)
{
    sodium_memzero(st, sizeof(*st));
}
