/* Requests between the processes of one application that bypass the
 * driver: the messages of barrier stages' collectives and the parameter
 * server's pulls and pushes (DESIGN.md, "Collectives").
 *
 * Every process that runs tasks has one peer endpoint. In local mode the
 * driver is the only process and its address is "local": a call is a
 * direct call of the registered handler. On the pool each executor
 * listens on a port of its own (the same frames and handshake as the rest
 * of the protocol, docs/protocol.md) and its address is "host:port"; the
 * driver learns it from EXEC_HELLO. A call to the caller's own address is
 * a direct call there too.
 *
 * Handlers run on the executor's event-loop thread (in local mode, on the
 * caller's thread): they must not block. A request that cannot be served
 * yet (a value not pushed yet, a staleness bound not reached) is answered
 * with a reply that says so and the caller asks again.
 */
#ifndef EMBER_SCHEDULER_PEER_H
#define EMBER_SCHEDULER_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "ember.h"
#include "runtime/arena.h"

/* Services: the first element of every request names one. */
enum {
    EM__PEER_COLL = 1, /* collectives of barrier stages */
    EM__PEER_PS = 2,   /* parameter-server shards */
    EM__PEER_NSERVICES = 3
};

/* Answers one request. `req` and everything it points to live until the
 * handler returns; the reply is built in `a` (the caller's arena in local
 * mode, the connection's on the pool). A non-OK status travels back to
 * the caller as that status with em_last_error's message. */
typedef em_status (*em__peer_handler)(void *state, const em_val *req,
                                      em_arena *a, em_val *reply);

/* Sets the handler of `service` in this process (once, before tasks run;
 * later calls replace it). Returns EM_EINVAL for an unknown service. */
em_status em__peer_register(int service, em__peer_handler h, void *state);

/* This process's peer address: "local" in local mode, "host:port" in an
 * executor, NULL in a pool driver (which runs no tasks). */
const char *em__peer_self(const em_ctx *ctx);

/* Sends `req` to the process at `addr` for `service` and waits at most
 * timeout_ms for its reply, decoded into `a`. Connections are kept per
 * thread and address. EM_ETIMEOUT when no reply came in time, EM_ELOST
 * when the peer cannot be reached or closed the connection, or the
 * handler's own status. Outputs are written only on EM_OK. */
em_status em__peer_call(em_ctx *ctx, const char *addr, int service,
                        em_val req, em_arena *a, em_val *reply,
                        int timeout_ms);

/* As em__peer_call, and adds the encoded bytes of the request sent (each
 * time it is sent) to *bytes: what one caller sent, where
 * em__peer_bytes_sent is the whole process's. */
em_status em__peer_call_counted(em_ctx *ctx, const char *addr, int service,
                                em_val req, em_arena *a, em_val *reply,
                                int timeout_ms, uint64_t *bytes);

/* Closes the connections kept for later calls (they reopen on demand). */
void em__peer_drop_idle(void);

/* Bytes of requests this process has sent to other processes through
 * em__peer_call (encoded frames; direct calls in the same process count
 * their encoded size too, so local and pool figures compare). */
uint64_t em__peer_bytes_sent(void);

struct em__loop;
struct em__secret;

/* Executor side, at start-up (the loop not running yet, or on its
 * thread): listens on host, port 0, on loop l, for requests authenticated
 * with key, which also authenticates this process's own calls; the
 * address becomes em__peer_self's. EM_EIO when it cannot listen. */
em_status em__peer_listen(struct em__loop *l, const char *host,
                          const struct em__secret *key);

/* Driver side, at start-up: the key of the driver's own calls to
 * executors (kept when one is set already). */
void em__peer_set_key(const struct em__secret *key);

/* Driver side: the peer addresses of the live executors, in the order of
 * their executor ids, as an array of strings in `a`; ["local"] in local
 * mode. */
em_status em__peer_members(em_ctx *ctx, em_arena *a, em_val *out);

/* Driver side: calls fn(arg, addr) on the driver's event-loop thread (in
 * local mode: never) when the executor at addr is lost. One callback per
 * (fn, arg); em__peer_on_lost(ctx, fn, arg, false) removes it. */
void em__peer_on_lost(em_ctx *ctx, void (*fn)(void *arg, const char *addr),
                      void *arg, int add);

#endif /* EMBER_SCHEDULER_PEER_H */
