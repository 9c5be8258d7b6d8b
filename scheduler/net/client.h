/* A blocking client of the worker pool's protocol, for threads that are
 * not an event loop's: a task fetching shuffle blocks, the command-line
 * tools. Each client has a private libuv loop, so any number of clients
 * may be used from different threads at once (one client per thread at a
 * time). The handshake and frames are those of auth.h and frame.h; see
 * docs/protocol.md.
 */
#ifndef EMBER_SCHEDULER_NET_CLIENT_H
#define EMBER_SCHEDULER_NET_CLIENT_H

#include <stddef.h>

#include "ember/val.h"
#include "runtime/buf.h"
#include "secret.h"

typedef struct em__sclient em__sclient;

/* Connects to host:port and runs the handshake, waiting at most
 * timeout_ms (< 0: no limit) for the connect and for each message of the
 * handshake; the same limit then bounds each em__sclient_send. The host
 * lookup (getaddrinfo) is not bounded. Returns the client, or NULL with
 * em_last_error set: EM_ETIMEOUT "connect to HOST:PORT: timed out after 3000
 * ms", EM_EIO "connect to HOST:PORT: connection refused", EM_EPROTO for a
 * refused or failed handshake ("the server refused authentication (wrong
 * cluster secret?)"), EM_EINVAL for a bad address. Free with em__sclient_close.
 */
em__sclient *em__sclient_connect(const char *host, int port,
                                 const em__secret *key, int timeout_ms);

/* Sets the largest frame sent or accepted (0: EM__NET_MAX_FRAME). */
void em__sclient_set_max_frame(em__sclient *c, size_t max_frame_bytes);

/* Sends one frame and waits until it is handed to the kernel. EM_ELIMIT
 * over the frame limit, EM_ETIMEOUT, EM_EIO (the connection is then
 * unusable: every later call fails with EM_ESTATE). */
em_status em__sclient_send(em__sclient *c, int type, em_val body);

/* As em__sclient_send for a frame already encoded with em__frame_encode
 * (so that the caller knows its size). Takes *frame's content in every
 * case and leaves *frame empty. */
em_status em__sclient_send_encoded(em__sclient *c, em__buf *frame);

/* Waits at most timeout_ms (< 0: no limit; 0: only what has arrived) for
 * the next frame and decodes it into `a`. EM_ETIMEOUT when none came in
 * time (the client stays usable: a partial frame is kept). EM_EIO "closed
 * by peer" or a read error; the frame errors of em__frame_reader_next.
 * After an error other than EM_ETIMEOUT the client is unusable. Outputs
 * are written only on EM_OK. */
em_status em__sclient_recv(em__sclient *c, em_arena *a, int *type, em_val *body,
                           int timeout_ms);

/* The server's address, "127.0.0.1:5432". */
const char *em__sclient_peer(const em__sclient *c);

/* Closes the connection and frees the client. Accepts NULL. */
void em__sclient_close(em__sclient *c);

/* Parses "ember://HOST:PORT" or "HOST:PORT" (HOST may be "[v6addr]") into
 * host (host_cap bytes, brackets removed) and *port. EM_EINVAL with a
 * message naming url for another scheme, a missing or bad port (1-65535),
 * an empty host or anything after the port; EM_ELIMIT when the host does
 * not fit. Outputs are written only on success. */
em_status em__net_parse_url(const char *url, char *host, size_t host_cap,
                            int *port);

#endif /* EMBER_SCHEDULER_NET_CLIENT_H */
