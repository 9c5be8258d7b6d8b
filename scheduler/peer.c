/* Requests between an application's processes (see peer.h): the handler
 * table, direct calls in the same process, the executor's peer server and
 * the blocking calls to other processes. The frames are PEER and
 * PEER_REPLY of docs/protocol.md.
 */
#include "peer.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cluster/driver.h"
#include "cluster/proto.h"
#include "ctx.h"
#include "net/client.h"
#include "net/frame.h"
#include "net/net.h"
#include "runtime/buf.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "runtime/mem.h"

/* A connection not in use, kept for the next call to its address. A call
 * takes one out of the list for its duration, so no two threads ever share
 * a connection, and each thread finds its connection again afterwards. */
typedef struct idle_client {
    em__sclient *c;
    char addr[300];
    struct idle_client *next;
} idle_client;

/* The process's endpoint: set once at start-up (the handlers, the
 * executor's address and key); the idle connections under the lock. */
static struct {
    pthread_mutex_t lock;
    em__peer_handler handlers[EM__PEER_NSERVICES];
    void *states[EM__PEER_NSERVICES];
    char self[300];        /* "host:port" in an executor, else "" */
    em__secret key;        /* the cluster key, for outgoing calls */
    bool has_key;
    idle_client *idle;
} peer = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t bytes_sent; /* atomic */

em_status em__peer_register(int service, em__peer_handler h, void *state)
{
    if (service <= 0 || service >= EM__PEER_NSERVICES)
        return em__err(EM_EINVAL, "no peer service %d", service);
    pthread_mutex_lock(&peer.lock);
    peer.handlers[service] = h;
    peer.states[service] = state;
    pthread_mutex_unlock(&peer.lock);
    return EM_OK;
}

const char *em__peer_self(const em_ctx *ctx)
{
    if (ctx->is_executor)
        return peer.self[0] != '\0' ? peer.self : NULL;
    return ctx->exec != NULL ? NULL : "local";
}

uint64_t em__peer_bytes_sent(void)
{
    return __atomic_load_n(&bytes_sent, __ATOMIC_RELAXED);
}

/* Runs the handler of service on req, in this thread. */
static em_status serve(int service, const em_val *req, em_arena *a,
                       em_val *reply)
{
    em__peer_handler h = NULL;
    void *state = NULL;

    if (service > 0 && service < EM__PEER_NSERVICES) {
        pthread_mutex_lock(&peer.lock);
        h = peer.handlers[service];
        state = peer.states[service];
        pthread_mutex_unlock(&peer.lock);
    }
    if (h == NULL)
        return em__err(EM_ENOENT, "no handler for peer service %d here",
                       service);
    return h(state, req, a, reply);
}

/* ---- the executor's server (loop thread) ---- */

static em_status server_frame(em__conn *c, int type, em_val body, void *ud)
{
    em_arena *a;
    em_val req = em__msg_get(body, "req"), reply = em_nil(), out;
    int64_t service;
    em__msg m;
    em_status st;

    (void)ud;
    if (type != EM__MSG_PEER)
        return em__err(EM_EPROTO, "unexpected %s at a peer endpoint",
                       em__msg_name(type));
    if ((st = em__msg_int(type, body, "service", &service)) != EM_OK)
        return st;
    if ((a = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    st = serve((int)service, &req, a, &reply);
    em__msg_init(&m);
    em__msg_put(&m, "status", em_int(st));
    if (st != EM_OK)
        em__msg_put(&m, "message", em_cstr(em_last_error()));
    em__msg_put(&m, "reply", st == EM_OK ? reply : em_nil());
    st = em__msg_done(&m, a, &out);
    if (st == EM_OK)
        st = em__conn_send(c, EM__MSG_PEER_REPLY, out);
    em__arena_destroy(a);
    return st;
}

em_status em__peer_listen(em__loop *l, const char *host,
                          const em__secret *key)
{
    static const em__conn_handler h = {NULL, server_frame, NULL};
    em__server *s = em__server_listen(l, host, 0, key, &h, NULL);

    if (s == NULL)
        return em__err(EM_EIO, "peer endpoint: %s", em_last_error());
    pthread_mutex_lock(&peer.lock);
    snprintf(peer.self, sizeof(peer.self), "%s:%d", host,
             em__server_port(s));
    peer.key = *key;
    peer.has_key = true;
    pthread_mutex_unlock(&peer.lock);
    return EM_OK;
}

/* ---- calls ---- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A direct call: the request is encoded only to be counted. */
static em_status call_here(int service, em_val req, em_arena *a,
                           em_val *reply, uint64_t *bytes)
{
    em__buf b = EM__BUF_INIT;
    em_val out = em_nil();
    em_status st = em__codec_encode(&b, req);

    __atomic_add_fetch(&bytes_sent, b.len, __ATOMIC_RELAXED);
    *bytes += b.len;
    em__buf_fini(&b);
    if (st != EM_OK)
        return st;
    if ((st = serve(service, &req, a, &out)) == EM_OK)
        *reply = out;
    return st;
}

/* An idle connection to addr, or a new one (NULL with the error). */
static em__sclient *client_take(const char *addr, int timeout_ms,
                                bool *is_reused)
{
    char host[300];
    int port;
    em__secret key;

    pthread_mutex_lock(&peer.lock);
    for (idle_client **pp = &peer.idle; *pp != NULL; pp = &(*pp)->next) {
        idle_client *ic = *pp;
        if (strcmp(ic->addr, addr) == 0) {
            em__sclient *c = ic->c;
            *pp = ic->next;
            pthread_mutex_unlock(&peer.lock);
            em__mem_free(ic, sizeof(*ic));
            *is_reused = true;
            return c;
        }
    }
    key = peer.key;
    if (!peer.has_key) {
        pthread_mutex_unlock(&peer.lock);
        em__err(EM_ESTATE, "no cluster key for peer calls");
        return NULL;
    }
    pthread_mutex_unlock(&peer.lock);
    *is_reused = false;
    if (em__hostport_split(addr, host, sizeof(host), &port) != EM_OK)
        return NULL;
    return em__sclient_connect(host, port, &key, timeout_ms);
}

/* Keeps a connection that answered for the next call (or closes it). */
static void client_give(const char *addr, em__sclient *c)
{
    idle_client *ic = em__mem_calloc(1, sizeof(*ic));

    if (ic == NULL) {
        em__sclient_close(c);
        return;
    }
    ic->c = c;
    snprintf(ic->addr, sizeof(ic->addr), "%s", addr);
    pthread_mutex_lock(&peer.lock);
    ic->next = peer.idle;
    peer.idle = ic;
    pthread_mutex_unlock(&peer.lock);
}

/* Reads a PEER_REPLY body into *reply, or its error. */
static em_status read_reply(const char *addr, int type, em_val body,
                            em_val *reply)
{
    int64_t st;
    em_val msg;

    if (type != EM__MSG_PEER_REPLY ||
        em__msg_int(type, body, "status", &st) != EM_OK || st > 0 ||
        st < -1000)
        return em__err(EM_EPROTO, "peer %s answered with %s", addr,
                       em__msg_name(type));
    if (st != EM_OK) {
        msg = em__msg_get(body, "message");
        return em__err((em_status)st, "%.*s",
                       msg.type == EM_STR ? (int)msg.len : 0,
                       msg.type == EM_STR ? msg.u.s : "");
    }
    *reply = em__msg_get(body, "reply");
    return EM_OK;
}

/* One request on connection c: EM_EIO when the connection failed (the
 * caller may try a new one), EM_ETIMEOUT, or the reply's status. The
 * request is encoded here, at each try, so that no copy of a large one
 * is kept for a second try. */
static em_status call_on(em__sclient *c, const char *addr, em_val body,
                         int64_t deadline_ms, em_arena *a, em_val *reply,
                         uint64_t *bytes)
{
    em__buf frame = EM__BUF_INIT;
    size_t len;
    int type;
    int64_t left;
    em_status st;

    if ((st = em__frame_encode(&frame, EM__MSG_PEER, body, 0)) != EM_OK) {
        em__buf_fini(&frame);
        return st; /* no memory, or a request over the frame limit */
    }
    len = frame.len;
    if ((st = em__sclient_send_encoded(c, &frame)) != EM_OK)
        return st == EM_ETIMEOUT || st == EM_ENOMEM ? st : EM_EIO;
    __atomic_add_fetch(&bytes_sent, len, __ATOMIC_RELAXED);
    *bytes += len;
    left = deadline_ms - now_ms();
    st = em__sclient_recv(c, a, &type, &body, left > 0 ? (int)left : 0);
    if (st == EM_ETIMEOUT)
        return em__err(EM_ETIMEOUT, "peer %s: no reply in time", addr);
    if (st != EM_OK)
        return st == EM_ENOMEM ? st : EM_EIO;
    return read_reply(addr, type, body, reply);
}

/* A call to another process: a kept connection, or a new one when it was
 * closed meanwhile (once). */
static em_status call_remote(const char *addr, int service, em_val req,
                             em_arena *a, em_val *reply, int timeout_ms,
                             uint64_t *bytes)
{
    int64_t deadline = now_ms() + timeout_ms;
    em__msg m;
    em_val body;
    em_status st;

    em__msg_init(&m);
    em__msg_put(&m, "service", em_int(service));
    em__msg_put(&m, "req", req);
    if ((st = em__msg_done(&m, a, &body)) != EM_OK)
        return st;
    for (int tries = 0; tries < 2; tries++) {
        bool is_reused = false;
        int64_t left = deadline - now_ms();
        em__sclient *c = client_take(addr, left > 0 ? (int)left : 1,
                                     &is_reused);
        if (c == NULL) {
            st = em__err(EM_ELOST, "peer %s cannot be reached: %s", addr,
                         em_last_error());
            break;
        }
        st = call_on(c, addr, body, deadline, a, reply, bytes);
        if (st == EM_EIO) {
            em__sclient_close(c);
            st = em__err(EM_ELOST, "peer %s closed the connection", addr);
            if (is_reused)
                continue; /* a kept connection the peer had closed */
            break;
        }
        if (st == EM_ETIMEOUT || st == EM_ENOMEM)
            em__sclient_close(c); /* a late reply would answer the next */
        else
            client_give(addr, c);
        break;
    }
    return st;
}

em_status em__peer_call_counted(em_ctx *ctx, const char *addr, int service,
                                em_val req, em_arena *a, em_val *reply,
                                int timeout_ms, uint64_t *bytes)
{
    const char *self = em__peer_self(ctx);

    if (addr == NULL)
        return em__err(EM_EINVAL, "peer call without an address");
    if (strcmp(addr, "local") == 0 || (self != NULL && strcmp(addr, self) == 0))
        return call_here(service, req, a, reply, bytes);
    return call_remote(addr, service, req, a, reply,
                       timeout_ms > 0 ? timeout_ms : 1, bytes);
}

em_status em__peer_call(em_ctx *ctx, const char *addr, int service,
                        em_val req, em_arena *a, em_val *reply,
                        int timeout_ms)
{
    uint64_t bytes = 0;

    return em__peer_call_counted(ctx, addr, service, req, a, reply,
                                 timeout_ms, &bytes);
}

void em__peer_drop_idle(void)
{
    idle_client *ic;

    pthread_mutex_lock(&peer.lock);
    ic = peer.idle;
    peer.idle = NULL;
    pthread_mutex_unlock(&peer.lock);
    while (ic != NULL) {
        idle_client *next = ic->next;
        em__sclient_close(ic->c);
        em__mem_free(ic, sizeof(*ic));
        ic = next;
    }
}

void em__peer_set_key(const em__secret *key)
{
    pthread_mutex_lock(&peer.lock);
    if (!peer.has_key) {
        peer.key = *key;
        peer.has_key = true;
    }
    pthread_mutex_unlock(&peer.lock);
}

/* ---- the driver's view ---- */

em_status em__peer_members(em_ctx *ctx, em_arena *a, em_val *out)
{
    if (ctx->exec == NULL || ctx->is_executor) {
        em_val *it = em_array_make(a, 1, out);
        if (it == NULL)
            return EM_ENOMEM;
        it[0] = em_cstr("local");
        return EM_OK;
    }
    return em__driver_peers(ctx, a, out);
}

void em__peer_on_lost(em_ctx *ctx, void (*fn)(void *arg, const char *addr),
                      void *arg, int add)
{
    if (ctx->exec != NULL && !ctx->is_executor)
        em__driver_on_lost(ctx, fn, arg, add != 0);
}
