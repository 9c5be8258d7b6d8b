/* The blocking client (client.h): a private libuv loop per client, run
 * only inside the client's calls until the awaited event or a deadline;
 * also the parsing of ember:// addresses. Protocol in docs/protocol.md.
 */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "frame.h"
#include "net_int.h"
#include "runtime/err.h"
#include "runtime/mem.h"

struct em__sclient {
    uv_loop_t loop; /* private: runs only inside our calls */
    uv_tcp_t tcp;
    uv_timer_t timer; /* the deadline of the current wait */
    uv_connect_t creq;
    uv_write_t wreq;
    em__frame_reader rd; /* frames received */
    em__auth auth;       /* handshake state */
    size_t max_frame;    /* largest frame either way */
    int io_timeout_ms;   /* bound of each send */
    bool is_broken;      /* an error made the connection unusable */
    em__buf stuck;       /* a frame whose write timed out: libuv
                            may still point at it until the close */
    bool is_done;        /* the awaited event happened */
    bool timed_out;      /* the deadline passed first */
    int uv_status;       /* libuv status of the event (< 0: error) */
    uint8_t hs[EM__AUTH_HELLO_BYTES]; /* a handshake message being read */
    size_t hs_len, hs_need;           /* its bytes so far, and in all */
    char peer[300];                   /* host:port */
    char readbuf[16384];
};

/* ---- waiting ---- */

static void on_deadline(uv_timer_t *t)
{
    em__sclient *c = t->data;

    c->timed_out = true;
}

/* Runs the loop until is_done or timeout_ms passes (< 0: no limit; 0:
 * one poll of what is ready). */
static void wait_event(em__sclient *c, int timeout_ms)
{
    c->timed_out = false;
    if (timeout_ms == 0) {
        uv_run(&c->loop, UV_RUN_NOWAIT);
        c->timed_out = !c->is_done;
        return;
    }
    if (timeout_ms > 0) {
        uv_update_time(&c->loop);
        uv_timer_start(&c->timer, on_deadline, (uint64_t)timeout_ms, 0);
    }
    while (!c->is_done && !c->timed_out) {
        if (uv_run(&c->loop, UV_RUN_ONCE) == 0 && !c->is_done &&
            !c->timed_out) {
            c->uv_status = UV_EINVAL; /* nothing left to wait for */
            c->is_done = true;
        }
    }
    uv_timer_stop(&c->timer);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    em__sclient *c = h->data;

    buf->base = c->readbuf;
    buf->len = sizeof(c->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    em__sclient *c = s->data;
    const char *p = buf->base;
    size_t n = nread > 0 ? (size_t)nread : 0, k = 0;

    if (nread < 0) {
        c->uv_status = (int)nread;
        c->is_done = true;
        uv_read_stop(s);
        return;
    }
    if (c->hs_len < c->hs_need) {
        k = c->hs_need - c->hs_len < n ? c->hs_need - c->hs_len : n;
        memcpy(c->hs + c->hs_len, p, k);
        c->hs_len += k;
    }
    if (k < n && em__frame_reader_feed(&c->rd, p + k, n - k) != EM_OK) {
        c->uv_status = UV_ENOMEM;
        c->is_done = true;
    }
    if (c->hs_len < c->hs_need)
        return;
    if (c->hs_need > 0 || em__frame_reader_ready(&c->rd)) {
        c->is_done = true;
        uv_read_stop(s);
    }
}

/* Reads until the handshake message of n bytes is in c->hs, or until a
 * frame is ready when n is 0. Returns the libuv status (0, or < 0). */
static int read_some(em__sclient *c, size_t n, int timeout_ms)
{
    c->hs_len = 0;
    c->hs_need = n;
    c->is_done = false;
    c->uv_status = 0;
    if (n == 0 && em__frame_reader_ready(&c->rd))
        return 0;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    wait_event(c, timeout_ms);
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (!c->is_done)
        return UV_ETIMEDOUT;
    return c->uv_status;
}

/* ---- writing ---- */

static void on_written(uv_write_t *req, int status)
{
    em__sclient *c = req->data;

    c->uv_status = status;
    c->is_done = true;
}

/* Writes n bytes and waits until the kernel has them. */
static int write_some(em__sclient *c, const void *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int rc;

    c->is_done = false;
    c->uv_status = 0;
    c->wreq.data = c;
    if ((rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written)) !=
        0)
        return rc;
    wait_event(c, c->io_timeout_ms);
    if (!c->is_done) {
        c->is_broken = true; /* the write is still pending */
        return UV_ETIMEDOUT;
    }
    return c->uv_status;
}

/* The error for a libuv status during `what`; marks c broken unless it is
 * a timeout of a read. */
static em_status io_error(em__sclient *c, int rc, const char *what,
                          int timeout_ms)
{
    if (rc == UV_ETIMEDOUT)
        return em__err(EM_ETIMEOUT, "%s %s: timed out after %d ms", what,
                       c->peer, timeout_ms);
    c->is_broken = true;
    if (rc == UV_EOF)
        return em__err(EM_EIO, "%s %s: closed by peer", what, c->peer);
    return em__err(EM_EIO, "%s %s: %s", what, c->peer, uv_strerror(rc));
}

/* ---- connecting ---- */

static void on_connected(uv_connect_t *req, int status)
{
    em__sclient *c = req->data;

    c->uv_status = status;
    c->is_done = true;
}

/* Resolves, connects and runs the client side of the handshake. */
static em_status open_conn(em__sclient *c, const char *host, int port,
                           const em__secret *key, int timeout_ms)
{
    struct addrinfo hints, *res = NULL, *a;
    uint8_t reply[EM__AUTH_REPLY_BYTES];
    char ps[16];
    int rc;
    em_status st;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(ps, sizeof(ps), "%d", port);
    if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0)
        return em__err(EM_EINVAL, "connect to %s: cannot resolve %s: %s",
                       c->peer, host, gai_strerror(rc));
    for (a = res; a != NULL && a->ai_family != AF_INET; a = a->ai_next)
        ;
    c->creq.data = c;
    c->is_done = false;
    rc =
        uv_tcp_connect(&c->creq, &c->tcp, (a ? a : res)->ai_addr, on_connected);
    freeaddrinfo(res);
    if (rc != 0)
        return io_error(c, rc, "connect to", timeout_ms);
    wait_event(c, timeout_ms);
    if ((rc = c->is_done ? c->uv_status : UV_ETIMEDOUT) != 0)
        return io_error(c, rc, "connect to", timeout_ms);
    uv_tcp_nodelay(&c->tcp, 1);
    if ((rc = read_some(c, EM__AUTH_HELLO_BYTES, timeout_ms)) != 0)
        return io_error(c, rc, "handshake with", timeout_ms);
    if ((st = em__auth_client_reply(&c->auth, key, c->hs, reply)) != EM_OK)
        return st;
    if ((rc = write_some(c, reply, sizeof(reply))) != 0)
        return io_error(c, rc, "handshake with", timeout_ms);
    if ((rc = read_some(c, EM__AUTH_RESULT_BYTES, timeout_ms)) != 0)
        return io_error(c, rc, "handshake with", timeout_ms);
    st = em__auth_client_check(&c->auth, c->hs);
    em__auth_wipe(&c->auth);
    return st;
}

em__sclient *em__sclient_connect(const char *host, int port,
                                 const em__secret *key, int timeout_ms)
{
    em__sigpipe_guard g;
    em__sclient *c;
    em_status st;

    if (host == NULL || host[0] == '\0' || port <= 0 || port > 65535) {
        em__err(EM_EINVAL, "connect: bad address %s:%d", host ? host : "",
                port);
        return NULL;
    }
    if ((c = em__mem_calloc(1, sizeof(*c))) == NULL)
        return NULL;
    if (uv_loop_init(&c->loop) != 0) {
        em__mem_free(c, sizeof(*c));
        em__err(EM_EIO, "connect to %s:%d: cannot create an event loop", host,
                port);
        return NULL;
    }
    uv_tcp_init(&c->loop, &c->tcp);
    uv_timer_init(&c->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->io_timeout_ms = timeout_ms;
    c->max_frame = EM__NET_MAX_FRAME;
    em__frame_reader_init(&c->rd, 0, NULL);
    snprintf(c->peer, sizeof(c->peer), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
             host, port);
    em__net_sigpipe_block(&g);
    st = open_conn(c, host, port, key, timeout_ms);
    em__net_sigpipe_restore(&g);
    if (st != EM_OK) {
        char msg[512];

        snprintf(msg, sizeof(msg), "%s", em_last_error());
        em__sclient_close(c);
        em__err(st, "%s", msg);
        return NULL;
    }
    return c;
}

/* ---- frames ---- */

void em__sclient_set_max_frame(em__sclient *c, size_t max_frame_bytes)
{
    c->max_frame = max_frame_bytes ? max_frame_bytes : EM__NET_MAX_FRAME;
    c->rd.max_frame_bytes = c->max_frame;
    if (c->rd.lim.max_bytes > c->max_frame)
        c->rd.lim.max_bytes = c->max_frame;
}

em_status em__sclient_send(em__sclient *c, int type, em_val body)
{
    em__buf b = EM__BUF_INIT;
    em_status st;

    if (c->is_broken)
        return em__err(EM_ESTATE, "connection to %s is broken", c->peer);
    if ((st = em__frame_encode(&b, type, body, c->max_frame)) != EM_OK) {
        em__buf_fini(&b);
        return st;
    }
    return em__sclient_send_encoded(c, &b);
}

em_status em__sclient_send_encoded(em__sclient *c, em__buf *frame)
{
    em__buf b = *frame;
    em__sigpipe_guard g;
    int rc;

    *frame = (em__buf)EM__BUF_INIT;
    if (c->is_broken) {
        em__buf_fini(&b);
        return em__err(EM_ESTATE, "connection to %s is broken", c->peer);
    }
    em__net_sigpipe_block(&g);
    rc = write_some(c, b.data, b.len);
    em__net_sigpipe_restore(&g);
    if (c->is_broken && rc == UV_ETIMEDOUT) {
        /* libuv still points at the bytes: freed by em__sclient_close */
        c->stuck = b;
        return em__err(EM_ETIMEOUT, "send to %s: timed out after %d ms",
                       c->peer, c->io_timeout_ms);
    }
    em__buf_fini(&b);
    return rc == 0 ? EM_OK : io_error(c, rc, "send to", c->io_timeout_ms);
}

em_status em__sclient_recv(em__sclient *c, em_arena *a, int *type, em_val *body,
                           int timeout_ms)
{
    em_status st;
    bool has;
    int rc;

    if (c->is_broken)
        return em__err(EM_ESTATE, "connection to %s is broken", c->peer);
    if ((rc = read_some(c, 0, timeout_ms)) != 0)
        return io_error(c, rc, "receive from", timeout_ms);
    st = em__frame_reader_next(&c->rd, a, type, body, &has);
    if (st != EM_OK) {
        if (st != EM_ENOMEM)
            c->is_broken = true;
        return st;
    }
    if (!has) /* cannot happen: read_some waited for a ready reader */
        return em__err(EM_ETIMEOUT, "receive from %s: timed out after %d ms",
                       c->peer, timeout_ms);
    return EM_OK;
}

const char *em__sclient_peer(const em__sclient *c)
{
    return c->peer;
}

void em__sclient_close(em__sclient *c)
{
    if (c == NULL)
        return;
    uv_close((uv_handle_t *)&c->tcp, NULL);
    uv_close((uv_handle_t *)&c->timer, NULL);
    while (uv_run(&c->loop, UV_RUN_DEFAULT) != 0)
        ;
    uv_loop_close(&c->loop);
    em__buf_fini(&c->stuck);
    em__frame_reader_fini(&c->rd);
    em__auth_wipe(&c->auth);
    em__mem_free(c, sizeof(*c));
}

/* ---- addresses ---- */

em_status em__net_parse_url(const char *url, char *host, size_t host_cap,
                            int *port)
{
    const char *p = url, *h, *colon, *sep = strstr(url, "://");
    size_t hn;
    char *end;
    long v;

    if (strncmp(url, "ember://", 8) == 0)
        p = url + 8;
    else if (sep != NULL)
        return em__err(EM_EINVAL,
                       "%s: unsupported scheme (expected "
                       "ember://HOST:PORT)",
                       url);
    if (*p == '[') {
        h = p + 1;
        if ((colon = strchr(h, ']')) == NULL || colon[1] != ':')
            return em__err(EM_EINVAL, "%s: expected [ADDRESS]:PORT", url);
        hn = (size_t)(colon - h);
        colon++;
    } else {
        h = p;
        if ((colon = strrchr(p, ':')) == NULL)
            return em__err(EM_EINVAL,
                           "%s: missing port (expected "
                           "ember://HOST:PORT)",
                           url);
        hn = (size_t)(colon - h);
        if (memchr(h, ':', hn) != NULL)
            return em__err(EM_EINVAL,
                           "%s: an IPv6 address goes in brackets, "
                           "as [::1]:7077",
                           url);
    }
    if (hn == 0)
        return em__err(EM_EINVAL, "%s: missing host", url);
    errno = 0;
    v = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
        v < 1 || v > 65535)
        return em__err(EM_EINVAL, "%s: bad port '%s' (expected 1-65535)", url,
                       colon + 1);
    if (hn >= host_cap)
        return em__err(EM_ELIMIT, "%s: host name too long", url);
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (int)v;
    return EM_OK;
}
