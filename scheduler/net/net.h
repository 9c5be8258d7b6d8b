/* libuv event loops, servers and connections for the worker pool. Every
 * connection is authenticated (auth.h) before its first frame, and then
 * carries frames (frame.h) both ways. The libuv types stay inside the .c
 * files of net/: code elsewhere in scheduler/ uses the opaque handles
 * below without including uv.h. Protocol in docs/protocol.md.
 *
 * Threads: an em__loop runs on one thread (its own, after em__loop_start,
 * or the caller's inside em__loop_run). Functions marked "loop thread" may
 * be called only from that thread -- that is, from a callback of the loop
 * (a handler, a timer, a posted function) -- or from any one thread while
 * the loop is not running (before start/run, after stop). em__loop_post
 * and em__loop_stop may be called from any thread at any time. While a
 * loop runs, SIGPIPE is blocked on its thread, so a peer that goes away
 * shows up as a closed connection, never as a signal.
 */
#ifndef EMBER_SCHEDULER_NET_NET_H
#define EMBER_SCHEDULER_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/val.h"
#include "runtime/buf.h"
#include "secret.h"

/* Seconds a peer has to complete the handshake (and, for an outgoing
 * connection, to connect) before it is closed. */
#define EM__NET_HANDSHAKE_MS 10000

typedef struct em__loop em__loop;
typedef struct em__timer em__timer;
typedef struct em__server em__server;
typedef struct em__conn em__conn;

/* What a connection tells its owner. Every callback runs on the loop
 * thread. */
typedef struct em__conn_handler {
    /* The handshake succeeded: frames may be sent. */
    void (*on_open)(em__conn *c, void *ud);
    /* A frame arrived. body lives in an arena the connection rewinds after
     * the call: copy (em_val_copy) what must outlast it. A status other
     * than EM_OK closes the connection with em_last_error() as the reason.
     * May be NULL (frames are then dropped). */
    em_status (*on_frame)(em__conn *c, int type, em_val body, void *ud);
    /* The connection is gone; reason says why ("closed by peer",
     * "authentication failed", the reason given to em__conn_close, ...).
     * Called exactly once for every connection returned by
     * em__conn_connect, and for every accepted connection that reached
     * on_open; never for an accepted peer that failed the handshake (the
     * server's log reports those). c is valid until this returns, then
     * freed. */
    void (*on_close)(em__conn *c, const char *reason, void *ud);
} em__conn_handler;

/* ---- logging ---- */

/* Levels passed to the log hook. */
enum {
    EM__NET_LOG_DEBUG = 0, /* accepted connections, normal closes */
    EM__NET_LOG_INFO = 1,  /* listening, closes the owner asked for */
    EM__NET_LOG_WARN = 2,  /* closes for a protocol, authentication or
                              I/O error, handshake timeouts */
};

/* Sets the process-wide log hook (NULL: nothing is logged, the default).
 * msg is one line without a newline ("127.0.0.1:40312: protocol version
 * 7, expected 1"), valid during the call; the hook may be called from any
 * loop's thread at once, so it must be thread-safe. Never prints the
 * secret. Thread-safe. */
void em__net_set_log(void (*fn)(int level, const char *msg));

/* ---- loops ---- */

/* Creates a loop (not yet running). NULL with em_last_error set on
 * failure. Destroy with em__loop_destroy. */
em__loop *em__loop_create(void);

/* Runs the loop on a new thread until em__loop_stop or
 * em__loop_destroy. EM_ESTATE if it runs already; EM_EIO if the thread
 * cannot start. */
em_status em__loop_start(em__loop *l);

/* Runs the loop on the calling thread until em__loop_stop is called (from
 * a callback or another thread). EM_ESTATE if it runs already. */
em_status em__loop_run(em__loop *l);

/* Asks the loop to stop: em__loop_run returns, or the loop thread ends
 * (em__loop_destroy joins it). Posted functions not run yet stay queued.
 * Any thread; also async-signal-safe (an atomic store and
 * uv_async_send), so a daemon's SIGTERM handler may call it. */
void em__loop_stop(em__loop *l);

/* Stops the loop (joining its thread, if em__loop_start made one), runs
 * the posted functions still queued, then closes every server, timer and
 * connection the loop owns: each open connection's on_close is called,
 * on the calling thread, with reason "loop destroyed". Must not be called
 * from the loop's own thread. Accepts NULL. */
void em__loop_destroy(em__loop *l);

/* Queues fn(arg) to run on the loop thread. Functions run in the order
 * they were posted. Any thread. EM_ENOMEM; EM_ESTATE once destruction has
 * begun (fn is then never called). */
em_status em__loop_post(em__loop *l, void (*fn)(void *arg), void *arg);

/* True when called on the thread that runs the loop. */
bool em__loop_on_thread(const em__loop *l);

/* ---- timers (loop thread) ---- */

/* Calls fn(arg) after ms milliseconds, then every ms milliseconds if
 * repeat. NULL with em_last_error on failure. A timer lives until
 * em__timer_cancel (also allowed inside fn) or em__loop_destroy, even
 * after a one-shot timer fired. */
em__timer *em__loop_timer(em__loop *l, int64_t ms, bool repeat,
                          void (*fn)(void *arg), void *arg);

/* Starts the timer again from now with a new interval (a deadline pushed
 * back by activity). */
void em__timer_again(em__timer *t, int64_t ms);

/* Stops the timer and frees it; fn is not called again. Accepts NULL. */
void em__timer_cancel(em__timer *t);

/* ---- servers (loop thread) ---- */

/* Listens on host (an IP address or a name; bound exactly, so "127.0.0.1"
 * takes only loopback connections) and port (0: a free port, see
 * em__server_port). Each accepted peer gets the handshake with key; once
 * it passes, it becomes a connection reported to h with ud. The handler
 * and key are copied. NULL with em_last_error ("listen on
 * 127.0.0.1:80: permission denied") on failure. */
em__server *em__server_listen(em__loop *l, const char *host, int port,
                              const em__secret *key, const em__conn_handler *h,
                              void *ud);

/* The port the server listens on. */
int em__server_port(const em__server *s);

/* Sets limits for connections accepted from now on: the largest frame in
 * either direction (0: EM__NET_MAX_FRAME) and the handshake timeout (0:
 * EM__NET_HANDSHAKE_MS). */
void em__server_set_limits(em__server *s, size_t max_frame_bytes,
                           int64_t handshake_ms);

/* Stops listening and frees the server. Connections it accepted stay
 * open. Accepts NULL. */
void em__server_close(em__server *s);

/* ---- connections (loop thread) ---- */

/* Connects to host:port and runs the handshake with key. Returns the
 * connection at once; h->on_open follows when it is authenticated, or
 * h->on_close with the reason when it fails ("connect to 127.0.0.1:9:
 * connection refused", "the server refused authentication (wrong cluster
 * secret?)", "handshake timed out"). NULL (no callback ever) with
 * em_last_error on a bad argument or no memory. The handler and key are
 * copied. */
em__conn *em__conn_connect(em__loop *l, const char *host, int port,
                           const em__secret *key, const em__conn_handler *h,
                           void *ud);

/* Sets the largest frame the connection sends or accepts (0:
 * EM__NET_MAX_FRAME). Call before the first frame. */
void em__conn_set_max_frame(em__conn *c, size_t max_frame_bytes);

/* Sends one frame [version, type, body]. The frame is encoded at once
 * (body may be freed after the call) and queued behind the frames sent
 * before it; frames go out in order. The queue is not bounded: watch
 * em__conn_queued_bytes to slow down a fast producer. EM_ESTATE if the
 * connection is not open (handshake not done, or closing); EM_ELIMIT over
 * the frame limit; EM_ENOMEM. A write error later closes the connection. */
em_status em__conn_send(em__conn *c, int type, em_val body);

/* As em__conn_send for a frame already encoded with em__frame_encode
 * (possibly on another thread). Takes *frame's content in every case and
 * leaves *frame empty. */
em_status em__conn_send_encoded(em__conn *c, em__buf *frame);

/* Bytes queued for writing and not yet handed to the kernel. */
size_t em__conn_queued_bytes(const em__conn *c);

/* Closes the connection: no more on_frame calls; frames already queued
 * are flushed first (for at most 2 seconds). on_close follows, from the
 * loop, with reason (copied; NULL means "closed"). Calling it again, or
 * on a closing connection, does nothing. */
void em__conn_close(em__conn *c, const char *reason);

/* The owner's pointer for this connection (NULL until set). */
void em__conn_set_data(em__conn *c, void *data);
void *em__conn_get_data(const em__conn *c);

/* The peer's address, "127.0.0.1:5432" or "[::1]:5432" (for a connection
 * still connecting, the host and port it was given). Valid while c is. */
const char *em__conn_peer(const em__conn *c);

/* True for a connection accepted by a server, false for one from
 * em__conn_connect. */
bool em__conn_is_accepted(const em__conn *c);

#endif /* EMBER_SCHEDULER_NET_NET_H */
