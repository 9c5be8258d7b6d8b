/* The pool's message helpers (see proto.h). */
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sodium.h>

#include "runtime/err.h"
#include "scheduler/net/client.h"

const char *em__msg_name(int type)
{
    switch (type) {
#define NAME(t)                                                                \
    case EM__MSG_##t:                                                          \
        return #t;
        NAME(ERROR)
        NAME(WORKER_HELLO)
        NAME(WORKER_HEARTBEAT)
        NAME(EXEC_EXITED)
        NAME(LAUNCH)
        NAME(APP_END)
        NAME(WORKER_WELCOME)
        NAME(APP_HELLO)
        NAME(APP_WELCOME)
        NAME(WORKER_LOST)
        NAME(EXEC_HELLO)
        NAME(EXEC_HEARTBEAT)
        NAME(RESULT)
        NAME(STAGE)
        NAME(TASK)
        NAME(STAGE_DONE)
        NAME(UNPERSIST)
        NAME(BCAST_HELD)
        NAME(BARRIER_ABORT)
        NAME(PEER)
        NAME(PEER_REPLY)
        NAME(GET_BINARY)
        NAME(BINARY)
        NAME(GET_BROADCAST)
        NAME(BROADCAST)
        NAME(FETCH)
        NAME(BLOCK)
        NAME(PUT_BLOCK)
        NAME(STORED)
        NAME(SUBMIT)
        NAME(SUBMITTED)
        NAME(JOBS)
        NAME(JOB_LIST)
        NAME(LOGS)
        NAME(LOG)
        NAME(LOG_END)
        NAME(KILL)
        NAME(DRIVER_LAUNCH)
        NAME(DRIVER_KILL)
        NAME(DRIVER_OUTPUT)
        NAME(DRIVER_EXITED)
#undef NAME
    default:
        return "unknown";
    }
}

void em__msg_put(em__msg *m, const char *key, em_val v)
{
    if (m->n + 2 > sizeof(m->kv) / sizeof(m->kv[0]))
        return; /* a programming error: bodies are small and fixed */
    m->kv[m->n++] = em_cstr(key);
    m->kv[m->n++] = v;
}

em_status em__msg_done(em__msg *m, em_arena *a, em_val *out)
{
    return em_map_make(a, m->kv, m->n / 2, out);
}

em_val em__msg_get(em_val body, const char *key)
{
    size_t n = strlen(key);

    if (body.type != EM_MAP)
        return em_nil();
    for (uint32_t i = 0; i < body.len; i++) {
        em_val k = body.u.map[2 * i];
        if (k.type == EM_STR && k.len == n && memcmp(k.u.s, key, n) == 0)
            return body.u.map[2 * i + 1];
    }
    return em_nil();
}

em_status em__msg_int(int type, em_val body, const char *key, int64_t *out)
{
    em_val v = em__msg_get(body, key);

    if (v.type != EM_INT)
        return em__err(EM_EPROTO, "%s: field %s missing or not an int",
                       em__msg_name(type), key);
    *out = v.u.i;
    return EM_OK;
}

em_status em__msg_str(int type, em_val body, const char *key, char *buf,
                      size_t cap)
{
    em_val v = em__msg_get(body, key);

    if (v.type != EM_STR || v.len >= cap || memchr(v.u.s, 0, v.len))
        return em__err(EM_EPROTO, "%s: field %s missing, not a string or "
                       "too long", em__msg_name(type), key);
    memcpy(buf, v.u.s, v.len);
    buf[v.len] = '\0';
    return EM_OK;
}

em_status em__ask(const char *host, int port, const em__secret *key,
                  int connect_ms, int recv_ms, const char *who, int type,
                  em_val body, int want, em_arena *a, em_val *out)
{
    em__sclient *c;
    em_val reply;
    int rtype;
    em_status st;

    if ((c = em__sclient_connect(host, port, key, connect_ms)) == NULL)
        return em__err(EM_EIO, "%s", em_last_error());
    st = em__sclient_send(c, type, body);
    if (st == EM_OK)
        st = em__sclient_recv(c, a, &rtype, &reply, recv_ms);
    em__sclient_close(c);
    if (st != EM_OK)
        return st;
    if (rtype == EM__MSG_ERROR) {
        em_val m = em__msg_get(reply, "message");
        return em__err(EM_EIO, "%s: %.*s", who,
                       m.type == EM_STR ? (int)m.len : 0,
                       m.type == EM_STR ? m.u.s : "");
    }
    if (rtype != want)
        return em__err(EM_EPROTO, "%s answered %s with %s", who,
                       em__msg_name(type), em__msg_name(rtype));
    *out = reply;
    return EM_OK;
}

em_status em__hostport_split(const char *s, char *host, size_t cap,
                             int *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long p;

    if (colon == NULL || (size_t)(colon - s) >= cap || colon == s)
        return em__err(EM_EINVAL, "'%s' is not HOST:PORT", s);
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
        return em__err(EM_EINVAL, "'%s' is not HOST:PORT", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return EM_OK;
}

int64_t em__heartbeat_timeout_ms(void)
{
    const char *s = getenv("EMBER_HEARTBEAT_TIMEOUT_MS");
    long long v = s ? atoll(s) : 0;

    return v >= 100 ? (int64_t)v : 10000;
}

em_status em__file_hash(const char *path, char hex[65])
{
    crypto_generichash_state h;
    unsigned char buf[65536], out[32];
    size_t n;
    FILE *f;

    if (sodium_init() < 0)
        return em__err(EM_EIO, "libsodium cannot start");
    if ((f = fopen(path, "rb")) == NULL)
        return em__err(EM_EIO, "cannot read %s: %s", path, strerror(errno));
    crypto_generichash_init(&h, NULL, 0, sizeof(out));
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        crypto_generichash_update(&h, buf, n);
    if (ferror(f)) {
        fclose(f);
        return em__err(EM_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    fclose(f);
    crypto_generichash_final(&h, out, sizeof(out));
    sodium_bin2hex(hex, 65, out, sizeof(out));
    return EM_OK;
}

em_status em__bytes_hash(const void *p, size_t n, char hex[65])
{
    unsigned char out[32];

    if (sodium_init() < 0)
        return em__err(EM_EIO, "libsodium cannot start");
    crypto_generichash(out, sizeof(out), p, n, NULL, 0);
    sodium_bin2hex(hex, 65, out, sizeof(out));
    return EM_OK;
}
