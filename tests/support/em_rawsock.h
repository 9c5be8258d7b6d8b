/* Raw TCP peers for the tests of the protocol's servers: clients that
 * break the protocol on purpose (bad magic, oversized or truncated
 * frames) need a socket, not the blocking client. Failures are cmocka
 * failures of the calling test. */
#ifndef EMBER_TESTS_SUPPORT_EM_RAWSOCK_H
#define EMBER_TESTS_SUPPORT_EM_RAWSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler/net/secret.h"

/* A socket connected to 127.0.0.1:port whose reads give up after
 * timeout_s seconds. */
int em_raw_connect(int port, int timeout_s);

void em_raw_send(int fd, const void *p, size_t n);
void em_raw_recv_exact(int fd, uint8_t *p, size_t n);

/* Reads until the server closes the connection (fails if it does not
 * before the read timeout), then closes fd. */
void em_raw_expect_close(int fd);

/* The client side of the handshake (scheduler/net/auth.h), by hand. */
void em_raw_auth(int fd, const em__secret *key);

#endif /* EMBER_TESTS_SUPPORT_EM_RAWSOCK_H */
