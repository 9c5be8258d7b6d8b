/* Servers and connections (net.h): accept or connect, the handshake of
 * auth.h with a deadline, then frames both ways. A connection's memory is
 * freed only after libuv has closed its handles and finished its requests;
 * on_close is called then, once. Protocol in docs/protocol.md.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "frame.h"
#include "net.h"
#include "net_int.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"

/* Milliseconds em__conn_close waits for queued frames to drain. */
#define FLUSH_MS 2000

struct em__server {
    em__lnode node; /* in loop->servers; first */
    uv_tcp_t tcp;   /* the listening socket */
    em__loop *l;
    em__secret key;     /* handed to accepted connections */
    em__conn_handler h; /* handed to accepted connections */
    void *ud;
    size_t max_frame;     /* for accepted connections */
    int64_t handshake_ms; /* for accepted connections */
    int port;             /* the bound port */
};

/* Where a connection is in its life. */
enum {
    C_RESOLVING,  /* outgoing: looking the host up */
    C_CONNECTING, /* outgoing: TCP connect in flight */
    C_HANDSHAKE,  /* connected, not yet authenticated */
    C_OPEN,       /* authenticated: frames flow */
    C_CLOSING,    /* closed or closing; on_close pending */
};

struct em__conn {
    em__lnode node;       /* in loop->conns; first */
    uv_tcp_t tcp;         /* the socket */
    uv_timer_t timer;     /* handshake deadline, then flush deadline */
    uv_getaddrinfo_t gai; /* outgoing: the lookup */
    uv_connect_t creq;    /* outgoing: the connect */
    uv_shutdown_t sreq;   /* a graceful close */
    em__loop *l;
    em__conn_handler h;
    void *ud;   /* the handler's pointer */
    void *data; /* em__conn_set_data */
    em__secret key;
    em__auth auth;        /* handshake state */
    int state;            /* C_* */
    bool is_accepted;     /* from a server (else from connect) */
    bool notify;          /* on_close is due */
    bool gai_pending;     /* the lookup has not called back */
    bool handles_closing; /* uv_close was called on tcp and timer */
    int handles_open;     /* handles whose close callback is pending */
    int close_level;      /* log level of the close */
    size_t hs_len;        /* handshake bytes received in this step */
    size_t hs_need;       /* handshake bytes this step needs */
    uint8_t hs[EM__AUTH_REPLY_BYTES];
    em__frame_reader rd; /* frames received */
    em_arena *arena;     /* the frame being handled */
    size_t max_frame;    /* largest frame either way */
    size_t queued;       /* bytes in unfinished writes */
    int port;            /* outgoing: the port asked for */
    char host[256];      /* outgoing: the host asked for */
    char peer[80];       /* em__conn_peer */
    char reason[256];    /* why it closed */
};

/* One write: the request and the bytes it sends. */
typedef struct wreq {
    uv_write_t req;
    em__conn *c;
    em__buf buf;
} wreq;

static void close_conn(em__conn *c, int level, const char *reason);

/* ---- closing and freeing ---- */

/* Frees c once libuv is done with everything of it, after on_close. */
static void maybe_finish(em__conn *c)
{
    if (c->handles_open > 0 || !c->handles_closing || c->gai_pending)
        return;
    em__list_remove(&c->node);
    em__net_log(c->is_accepted ? c->close_level : EM__NET_LOG_DEBUG, "%s: %s",
                c->peer, c->reason);
    if (c->notify && c->h.on_close != NULL)
        c->h.on_close(c, c->reason, c->ud);
    em__auth_wipe(&c->auth);
    em__frame_reader_fini(&c->rd);
    em__arena_destroy(c->arena);
    em__mem_free(c, sizeof(*c));
}

static void on_handle_closed(uv_handle_t *h)
{
    em__conn *c = h->data;

    c->handles_open--;
    maybe_finish(c);
}

static void close_handles(em__conn *c)
{
    if (c->handles_closing)
        return;
    c->handles_closing = true;
    c->handles_open = 2;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_flush_deadline(uv_timer_t *t)
{
    close_handles(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    close_handles(req->data);
}

/* Closes c: stops reading; flushes queued writes first (for at most
 * FLUSH_MS) when there are any and the socket is connected. */
static void close_conn(em__conn *c, int level, const char *reason)
{
    int prev = c->state;

    if (prev == C_CLOSING)
        return;
    c->state = C_CLOSING;
    c->close_level = level;
    snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "closed");
    if (c->gai_pending)
        uv_cancel((uv_req_t *)&c->gai);
    uv_timer_stop(&c->timer);
    if (prev < C_HANDSHAKE || c->queued == 0) {
        close_handles(c);
        return;
    }
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        close_handles(c);
        return;
    }
    uv_timer_start(&c->timer, on_flush_deadline, FLUSH_MS, 0);
}

/* Closes c with em_last_error() as the reason. */
static void close_with_error(em__conn *c)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s", em_last_error());
    close_conn(c, EM__NET_LOG_WARN, msg);
}

void em__conn_close(em__conn *c, const char *reason)
{
    close_conn(c, EM__NET_LOG_INFO, reason);
}

void em__net_close_all(em__loop *l)
{
    while (l->servers.next != &l->servers)
        em__server_close((em__server *)l->servers.next);
    for (em__lnode *n = l->conns.next; n != &l->conns; n = n->next) {
        em__conn *c = (em__conn *)n;

        close_conn(c, EM__NET_LOG_INFO, "loop destroyed");
        close_handles(c); /* no waiting for a flush */
    }
}

/* ---- writing ---- */

static void on_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    em__conn *c = w->c;
    char msg[200];

    c->queued -= w->buf.len;
    em__buf_fini(&w->buf);
    em__mem_free(w, sizeof(*w));
    if (status < 0 && c->state != C_CLOSING) {
        snprintf(msg, sizeof(msg), "write: %s", uv_strerror(status));
        close_conn(c, EM__NET_LOG_WARN, msg);
    }
}

/* Queues the content of *b (taken, b left empty) for writing. */
static em_status write_buf(em__conn *c, em__buf *b)
{
    wreq *w = em__mem_alloc(sizeof(*w));
    uv_buf_t ub;
    int rc;

    if (w == NULL) {
        em__buf_fini(b);
        return EM_ENOMEM;
    }
    w->c = c;
    w->buf = *b;
    *b = (em__buf)EM__BUF_INIT;
    ub = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);
    if ((rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_written)) !=
        0) {
        em__buf_fini(&w->buf);
        em__mem_free(w, sizeof(*w));
        return em__err(EM_EIO, "write to %s: %s", c->peer, uv_strerror(rc));
    }
    c->queued += ub.len;
    return EM_OK;
}

/* Queues n bytes of a handshake message. */
static em_status write_bytes(em__conn *c, const void *p, size_t n)
{
    em__buf b = EM__BUF_INIT;
    em_status st = em__buf_append(&b, p, n);

    return st != EM_OK ? st : write_buf(c, &b);
}

em_status em__conn_send_encoded(em__conn *c, em__buf *frame)
{
    if (c->state != C_OPEN) {
        em__buf_fini(frame);
        return em__err(EM_ESTATE, "connection to %s is not open", c->peer);
    }
    return write_buf(c, frame);
}

em_status em__conn_send(em__conn *c, int type, em_val body)
{
    em__buf b = EM__BUF_INIT;
    em_status st;

    if (c->state != C_OPEN)
        return em__err(EM_ESTATE, "connection to %s is not open", c->peer);
    if ((st = em__frame_encode(&b, type, body, c->max_frame)) != EM_OK) {
        em__buf_fini(&b);
        return st;
    }
    return write_buf(c, &b);
}

size_t em__conn_queued_bytes(const em__conn *c)
{
    return c->queued;
}

/* ---- reading ---- */

/* Handles frames buffered in the reader until none is complete or c
 * closes. */
static void take_frames(em__conn *c)
{
    while (c->state == C_OPEN) {
        em_val body;
        int type;
        bool has;

        if (em__frame_reader_next(&c->rd, c->arena, &type, &body, &has) !=
            EM_OK) {
            close_with_error(c);
            return;
        }
        if (!has)
            return;
        if (c->h.on_frame != NULL &&
            c->h.on_frame(c, type, body, c->ud) != EM_OK)
            close_with_error(c);
        em__arena_reset(c->arena);
    }
}

/* The handshake is done: frames may flow. */
static void opened(em__conn *c)
{
    uv_timer_stop(&c->timer);
    em__auth_wipe(&c->auth);
    c->state = C_OPEN;
    c->notify = true;
    if (c->is_accepted)
        em__net_log(EM__NET_LOG_DEBUG, "%s: authenticated", c->peer);
    if (c->h.on_open != NULL)
        c->h.on_open(c, c->ud);
}

/* A complete handshake message is in c->hs: the next step. */
static void handshake_step(em__conn *c)
{
    uint8_t out[EM__AUTH_REPLY_BYTES];
    em_status st;

    c->hs_len = 0;
    if (c->is_accepted) { /* the client's reply */
        st = em__auth_server_check(&c->auth, c->hs, out);
        if (write_bytes(c, out, EM__AUTH_RESULT_BYTES) != EM_OK ||
            st != EM_OK) {
            close_with_error(c);
            return;
        }
        opened(c);
    } else if (c->hs_need == EM__AUTH_HELLO_BYTES) { /* the server's hello */
        if (em__auth_client_reply(&c->auth, &c->key, c->hs, out) != EM_OK ||
            write_bytes(c, out, EM__AUTH_REPLY_BYTES) != EM_OK) {
            close_with_error(c);
            return;
        }
        c->hs_need = EM__AUTH_RESULT_BYTES;
    } else { /* the server's result */
        if (em__auth_client_check(&c->auth, c->hs) != EM_OK) {
            close_with_error(c);
            return;
        }
        opened(c);
    }
}

/* Consumes handshake bytes from p; returns how many were used. */
static size_t handshake_bytes(em__conn *c, const uint8_t *p, size_t n)
{
    size_t used = 0;

    while (used < n && c->state == C_HANDSHAKE) {
        size_t k = c->hs_need - c->hs_len;

        k = k < n - used ? k : n - used;
        memcpy(c->hs + c->hs_len, p + used, k);
        c->hs_len += k;
        used += k;
        if (c->is_accepted && em__auth_check_magic(c->hs, c->hs_len) != EM_OK) {
            close_with_error(c);
            break;
        }
        if (c->hs_len == c->hs_need)
            handshake_step(c);
    }
    return used;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    em__conn *c = h->data;

    buf->base = c->l->readbuf;
    buf->len = sizeof(c->l->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    em__conn *c = s->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = nread > 0 ? (size_t)nread : 0, used = 0;
    char msg[200];

    if (nread < 0) {
        if (nread == UV_EOF && c->state != C_OPEN)
            close_conn(c, EM__NET_LOG_WARN,
                       "closed by peer during the handshake");
        else if (nread == UV_EOF && em__frame_reader_buffered(&c->rd) > 0) {
            snprintf(msg, sizeof(msg),
                     "closed by peer in the middle of a "
                     "frame (%zu bytes of it received)",
                     em__frame_reader_buffered(&c->rd));
            close_conn(c, EM__NET_LOG_WARN, msg);
        } else if (nread == UV_EOF)
            close_conn(c, EM__NET_LOG_DEBUG, "closed by peer");
        else {
            snprintf(msg, sizeof(msg), "read: %s", uv_strerror((int)nread));
            close_conn(c, EM__NET_LOG_WARN, msg);
        }
        return;
    }
    if (c->state == C_HANDSHAKE)
        used = handshake_bytes(c, p, n);
    if (c->state != C_OPEN || used == n)
        return;
    if (em__frame_reader_feed(&c->rd, p + used, n - used) != EM_OK) {
        close_with_error(c);
        return;
    }
    take_frames(c);
}

/* ---- setting up ---- */

static void on_handshake_deadline(uv_timer_t *t)
{
    em__conn *c = t->data;

    close_conn(c, EM__NET_LOG_WARN,
               c->state == C_HANDSHAKE ? "handshake timed out"
                                       : "connect timed out");
}

/* Allocates a connection with its handles initialized and linked into
 * the loop. NULL when out of memory. */
static em__conn *conn_new(em__loop *l, const em__secret *key,
                          const em__conn_handler *h, void *ud, size_t max_frame)
{
    em__conn *c = em__mem_calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if ((c->arena = em__arena_create(0)) == NULL) {
        em__mem_free(c, sizeof(*c));
        return NULL;
    }
    c->l = l;
    c->key = *key;
    c->h = *h;
    c->ud = ud;
    c->max_frame = max_frame ? max_frame : EM__NET_MAX_FRAME;
    em__frame_reader_init(&c->rd, c->max_frame, NULL);
    uv_tcp_init(&l->uv, &c->tcp);
    uv_timer_init(&l->uv, &c->timer);
    c->tcp.data = c->timer.data = c;
    em__list_push(&l->conns, &c->node);
    return c;
}

/* Socket options and reading, once connected. */
static int start_io(em__conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 60);
    return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void em__conn_set_max_frame(em__conn *c, size_t max_frame_bytes)
{
    c->max_frame = max_frame_bytes ? max_frame_bytes : EM__NET_MAX_FRAME;
    c->rd.max_frame_bytes = c->max_frame;
    if (c->rd.lim.max_bytes > c->max_frame)
        c->rd.lim.max_bytes = c->max_frame;
}

void em__conn_set_data(em__conn *c, void *data)
{
    c->data = data;
}

void *em__conn_get_data(const em__conn *c)
{
    return c->data;
}

const char *em__conn_peer(const em__conn *c)
{
    return c->peer;
}

bool em__conn_is_accepted(const em__conn *c)
{
    return c->is_accepted;
}

/* ---- servers ---- */

static void on_connection(uv_stream_t *ls, int status)
{
    em__server *s = ls->data;
    uint8_t hello[EM__AUTH_HELLO_BYTES];
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc;
    em__conn *c;

    if (status < 0) {
        em__net_log(EM__NET_LOG_WARN, "accept on port %d: %s", s->port,
                    uv_strerror(status));
        return;
    }
    c = conn_new(s->l, &s->key, &s->h, s->ud, s->max_frame);
    if (c == NULL) {
        em__net_log(EM__NET_LOG_WARN, "accept on port %d: out of memory",
                    s->port);
        return; /* the peer waits in the backlog; a later accept takes it */
    }
    c->is_accepted = true;
    c->state = C_HANDSHAKE;
    c->hs_need = EM__AUTH_REPLY_BYTES;
    snprintf(c->peer, sizeof(c->peer), "?");
    if ((rc = uv_accept(ls, (uv_stream_t *)&c->tcp)) != 0) {
        close_conn(c, EM__NET_LOG_WARN, uv_strerror(rc));
        return;
    }
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        em__net_format_addr((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
    em__net_log(EM__NET_LOG_DEBUG, "%s: accepted on port %d", c->peer, s->port);
    uv_timer_start(&c->timer, on_handshake_deadline, (uint64_t)s->handshake_ms,
                   0);
    if (em__auth_server_hello(&c->auth, &c->key, hello) != EM_OK ||
        write_bytes(c, hello, sizeof(hello)) != EM_OK) {
        close_with_error(c);
        return;
    }
    if ((rc = start_io(c)) != 0)
        close_conn(c, EM__NET_LOG_WARN, uv_strerror(rc));
}

static void on_server_closed(uv_handle_t *h)
{
    em__mem_free(h->data, sizeof(em__server));
}

/* Resolves host:port for binding or connecting (blocking lookup). */
static em_status resolve(const char *host, int port, bool passive,
                         struct sockaddr_storage *out)
{
    struct addrinfo hints, *res = NULL;
    char ps[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(ps, sizeof(ps), "%d", port);
    if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0)
        return em__err(EM_EINVAL, "cannot resolve %s: %s", host,
                       gai_strerror(rc));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return EM_OK;
}

em__server *em__server_listen(em__loop *l, const char *host, int port,
                              const em__secret *key, const em__conn_handler *h,
                              void *ud)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc;
    em__server *s;

    if (host == NULL || host[0] == '\0' || port < 0 || port > 65535) {
        em__err(EM_EINVAL, "listen: bad address %s:%d", host ? host : "", port);
        return NULL;
    }
    if (resolve(host, port, true, &ss) != EM_OK)
        return NULL;
    if ((s = em__mem_calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->l = l;
    s->key = *key;
    s->h = *h;
    s->ud = ud;
    s->handshake_ms = EM__NET_HANDSHAKE_MS;
    uv_tcp_init(&l->uv, &s->tcp);
    s->tcp.data = s;
    if ((rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&s->tcp, 511, on_connection)) != 0) {
        em__err(EM_EIO, "listen on %s:%d: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->tcp, on_server_closed);
        return NULL;
    }
    if (uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&ss)->sin6_port
                            : ((struct sockaddr_in *)&ss)->sin_port);
    em__list_push(&l->servers, &s->node);
    em__net_log(EM__NET_LOG_INFO, "listening on %s:%d", host, s->port);
    return s;
}

int em__server_port(const em__server *s)
{
    return s->port;
}

void em__server_set_limits(em__server *s, size_t max_frame_bytes,
                           int64_t handshake_ms)
{
    s->max_frame = max_frame_bytes;
    s->handshake_ms = handshake_ms > 0 ? handshake_ms : EM__NET_HANDSHAKE_MS;
}

void em__server_close(em__server *s)
{
    if (s == NULL)
        return;
    em__list_remove(&s->node);
    uv_close((uv_handle_t *)&s->tcp, on_server_closed);
}

/* ---- outgoing connections ---- */

static void on_connected(uv_connect_t *req, int status)
{
    em__conn *c = req->data;
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc;
    char msg[400];

    if (c->state == C_CLOSING)
        return;
    if (status < 0) {
        snprintf(msg, sizeof(msg), "connect to %s: %s", c->peer,
                 uv_strerror(status));
        close_conn(c, EM__NET_LOG_WARN, msg);
        return;
    }
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        em__net_format_addr((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
    c->state = C_HANDSHAKE;
    c->hs_need = EM__AUTH_HELLO_BYTES;
    if ((rc = start_io(c)) != 0) {
        snprintf(msg, sizeof(msg), "read from %s: %s", c->peer,
                 uv_strerror(rc));
        close_conn(c, EM__NET_LOG_WARN, msg);
    }
}

/* Picks an IPv4 address when there is one (servers bind 127.0.0.1 by
 * default, and "localhost" may list ::1 first). */
static const struct addrinfo *pick(const struct addrinfo *res)
{
    for (const struct addrinfo *a = res; a != NULL; a = a->ai_next)
        if (a->ai_family == AF_INET)
            return a;
    return res;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    em__conn *c = req->data;
    char msg[400];
    int rc;

    c->gai_pending = false;
    if (c->state == C_CLOSING) {
        uv_freeaddrinfo(res);
        maybe_finish(c);
        return;
    }
    if (status < 0 || res == NULL) {
        snprintf(msg, sizeof(msg), "connect to %s: cannot resolve %s: %s",
                 c->peer, c->host, uv_strerror(status));
        close_conn(c, EM__NET_LOG_WARN, msg);
        uv_freeaddrinfo(res);
        return;
    }
    c->state = C_CONNECTING;
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->tcp, pick(res)->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "connect to %s: %s", c->peer,
                 uv_strerror(rc));
        close_conn(c, EM__NET_LOG_WARN, msg);
    }
}

em__conn *em__conn_connect(em__loop *l, const char *host, int port,
                           const em__secret *key, const em__conn_handler *h,
                           void *ud)
{
    struct addrinfo hints;
    char ps[16];
    em__conn *c;
    int rc;

    if (host == NULL || host[0] == '\0' || strlen(host) >= sizeof(c->host) ||
        port <= 0 || port > 65535) {
        em__err(EM_EINVAL, "connect: bad address %s:%d", host ? host : "",
                port);
        return NULL;
    }
    if ((c = conn_new(l, key, h, ud, 0)) == NULL)
        return NULL;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    snprintf(c->peer, sizeof(c->peer), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
             host, port);
    c->state = C_RESOLVING;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(ps, sizeof(ps), "%d", port);
    c->gai.data = c;
    if ((rc = uv_getaddrinfo(&l->uv, &c->gai, on_resolved, host, ps, &hints)) !=
        0) {
        em__err(EM_EIO, "connect to %s: %s", c->peer, uv_strerror(rc));
        close_conn(c, EM__NET_LOG_DEBUG, "connect failed"); /* no on_close */
        return NULL;
    }
    c->gai_pending = true;
    c->notify = true; /* from now on, on_close reports the outcome */
    uv_timer_start(&c->timer, on_handshake_deadline, EM__NET_HANDSHAKE_MS, 0);
    return c;
}
