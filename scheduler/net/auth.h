/* The handshake that opens every connection of the worker pool: a mutual
 * challenge-response with HMAC-SHA256 over the cluster secret's key, in
 * fixed-size binary messages so that nothing is parsed before the peer is
 * authenticated. Transport-neutral: the libuv connections (net.c) and the
 * blocking client (client.c) move the bytes. Byte layout in
 * docs/protocol.md ("Handshake"):
 *
 *   hello   server -> client   40 bytes
 *     0   magic "EMBR"
 *     4   u32 BE protocol version (EM__NET_VERSION)
 *     8   32-byte server nonce
 *   reply   client -> server   72 bytes
 *     0   magic "EMBR"
 *     4   u32 BE protocol version
 *     8   32-byte client nonce
 *    40   HMAC-SHA256(key, "ember-client" || server nonce || client nonce)
 *   result  server -> client   33 bytes
 *     0   status: 0 accepted, 1 authentication failed, 2 version mismatch
 *     1   HMAC-SHA256(key, "ember-server" || client nonce || server nonce)
 *         when accepted, zeros otherwise
 */
#ifndef EMBER_SCHEDULER_NET_AUTH_H
#define EMBER_SCHEDULER_NET_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

#define EM__AUTH_MAGIC "EMBR"
#define EM__AUTH_MAGIC_BYTES 4
#define EM__AUTH_NONCE_BYTES 32
#define EM__AUTH_MAC_BYTES 32
#define EM__AUTH_HELLO_BYTES 40
#define EM__AUTH_REPLY_BYTES 72
#define EM__AUTH_RESULT_BYTES 33

/* Result status bytes. */
enum {
    EM__AUTH_ACCEPTED = 0,
    EM__AUTH_REFUSED = 1, /* wrong HMAC: the peers' secrets differ */
    EM__AUTH_VERSION = 2, /* the client speaks another protocol version */
};

/* One side's state during a handshake: the key and both nonces. Caller
 * storage; em__auth_wipe erases it. */
typedef struct em__auth {
    em__secret key;                             /* the cluster key */
    uint8_t server_nonce[EM__AUTH_NONCE_BYTES]; /* from the hello */
    uint8_t client_nonce[EM__AUTH_NONCE_BYTES]; /* from the reply */
} em__auth;

/* Server, step 1: starts a handshake with key and writes the hello (a
 * fresh random nonce). EM_EIO if libsodium cannot start. */
em_status em__auth_server_hello(em__auth *st, const em__secret *key,
                                uint8_t hello_out[EM__AUTH_HELLO_BYTES]);

/* Server: checks the first n (>= 4) bytes of a client's reply for the
 * magic, so that a stranger is refused without waiting for 72 bytes.
 * EM_EPROTO "not an Ember peer (bad magic)". */
em_status em__auth_check_magic(const uint8_t *p, size_t n);

/* Server, step 2: verifies the client's reply (the HMAC compared in
 * constant time) and always writes the result message to send back.
 * EM_OK: accepted. EM_EPROTO otherwise: "not an Ember peer (bad magic)",
 * "client speaks protocol version 7, expected 1", or "authentication
 * failed" (the result says refused; the client learns nothing else). */
em_status em__auth_server_check(em__auth *st,
                                const uint8_t reply[EM__AUTH_REPLY_BYTES],
                                uint8_t result_out[EM__AUTH_RESULT_BYTES]);

/* Client, step 1: reads the server's hello and writes the reply. EM_EPROTO
 * for a bad magic or another version. */
em_status em__auth_client_reply(em__auth *st, const em__secret *key,
                                const uint8_t hello[EM__AUTH_HELLO_BYTES],
                                uint8_t reply_out[EM__AUTH_REPLY_BYTES]);

/* Client, step 2: checks the server's result. EM_OK when the server
 * accepted and proved it knows the key; EM_EPROTO otherwise ("the server
 * refused authentication (wrong cluster secret?)", "the server failed
 * authentication", ...). */
em_status em__auth_client_check(em__auth *st,
                                const uint8_t result[EM__AUTH_RESULT_BYTES]);

/* Erases the key and nonces. */
void em__auth_wipe(em__auth *st);

#endif /* EMBER_SCHEDULER_NET_AUTH_H */
