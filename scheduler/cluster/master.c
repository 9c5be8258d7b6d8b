/* The master daemon (master.h): a registry of workers kept alive by
 * heartbeats, a registry of applications kept alive by their driver's
 * connection, the launches that give every application one executor on
 * every worker, and submitted drivers (ember submit): their programs, kept
 * in memory for workers to fetch, their state, and their logs. Runs on
 * one thread (an em__loop run in place), so no state here needs a lock.
 * Messages: proto.h, docs/protocol.md; submitted drivers: docs/pool.md.
 */
#include "master.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "scheduler/net/net.h"

/* An application that has executors on a worker (or had: after the
 * replacements ran out). */
typedef struct wapp {
    char app[128];     /* application id */
    int64_t max_exec;  /* the highest executor id launched there */
    int replacements;  /* executors launched there to replace exited ones */
} wapp;

/* A live worker. */
typedef struct mworker {
    char id[128];      /* stable across reconnects */
    char host[256];    /* where its block server listens */
    int block_port;    /* the block server's port */
    int64_t cores;     /* cores it offers */
    int64_t memory;    /* bytes it offers */
    em__conn *conn;    /* its connection */
    em__timer *deadline; /* fires after a heartbeat timeout of silence */
    struct em__master *m;
    wapp *apps;        /* applications with executors there */
    size_t napps, capps;
} mworker;

/* A live application. */
typedef struct mapp {
    char id[128];          /* "app-20240102030405-0001" or the driver's */
    char name[128];        /* for logs */
    char exe_hash[65];     /* the driver's executable */
    char driver_host[256]; /* where executors connect */
    int driver_port;
    int64_t memory;        /* per executor; 0: the worker's */
    int64_t next_exec;     /* the next executor id */
    em__conn *conn;        /* the driver's connection */
} mapp;

/* States of a submitted driver; the names are sub_state_names'. */
enum { SUB_SUBMITTED, SUB_RUNNING, SUB_FINISHED, SUB_FAILED, SUB_KILLED };

static const char *const sub_state_names[] = {"submitted", "running",
                                              "finished", "failed", "killed"};

/* A submitted file (a driver's executable, the `ember` binary, a Lua
 * script), kept for workers to fetch by hash. */
typedef struct mprog {
    char hash[65];  /* em__bytes_hash of data */
    uint8_t *data;
    size_t len;
    int refs;       /* submissions not yet ended that use it */
} mprog;

/* A driver's log: its last bytes, a ring once the buffer reached the
 * limit. */
typedef struct mlogbuf {
    uint8_t *buf;     /* cap bytes */
    size_t cap;       /* grows by doubling up to the limit */
    size_t head;      /* offset of the oldest byte kept */
    size_t len;       /* bytes kept */
    uint64_t dropped; /* bytes of earlier output no longer kept */
} mlogbuf;

/* A submitted driver. */
typedef struct msub {
    char id[64];           /* "driver-20240102030405-0001" */
    char name[128];
    int state;             /* SUB_* */
    char worker[128];      /* where it runs or ran; "" before */
    int64_t submitted_s;   /* Unix time */
    int64_t started_s;     /* when it was launched; 0 before */
    int exit_code;         /* when SUB_FINISHED */
    char message[256];     /* "exit 3", "worker w1 lost", ... */
    mprog *exe;            /* NULL once ended */
    mprog *script;         /* NULL: a C driver (or ended) */
    char exe_name[128];    /* its argv[0] */
    char script_name[128]; /* the script's file name */
    char *args;            /* nargs NUL-terminated strings in a row */
    size_t args_bytes;
    uint32_t nargs;
    mlogbuf log;
    em__conn **waiters;    /* clients following it or waiting for a kill */
    size_t nwaiters, cwaiters;
    bool is_kill_asked;    /* ember kill asked: its end is a kill */
} msub;

/* What a connection is, once its first frame said so. */
enum { PEER_NEW, PEER_WORKER, PEER_APP, PEER_CLIENT };

typedef struct mpeer {
    int kind;          /* PEER_* */
    void *obj;         /* the mworker or mapp; NULL once detached; for a
                          client, the msub it waits on (or NULL) */
    bool is_following; /* a client waiting on obj receives its LOG */
} mpeer;

struct em__master {
    const em__master_opts *o;
    em__loop *loop;
    em__server *srv;
    em_arena *arena;         /* bodies being built */
    mworker **workers;
    size_t nworkers, cworkers;
    mapp **apps;
    size_t napps, capps;
    unsigned app_counter;    /* for generated application ids */
    msub **subs;             /* submitted drivers, oldest first */
    size_t nsubs, csubs;
    unsigned sub_counter;    /* for submission ids */
    mprog **progs;           /* files of submissions not yet ended */
    size_t nprogs, cprogs;
    size_t log_bytes;        /* the log kept per driver */
    int64_t timeout_ms;      /* heartbeat timeout */
    bool is_stopping;        /* closes are the shutdown's, not losses */
};

/* ---- log ---- */

static void mlog(em__master *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void mlog(em__master *m, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (m->o->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    m->o->log(line, m->o->ud);
}

/* ---- sending ---- */

/* Sends the fields of msg to c; a failure closes c (and is logged there). */
static void send_msg(em__master *m, em__conn *c, int type, em__msg *msg)
{
    em_val body;

    if (em__msg_done(msg, m->arena, &body) != EM_OK ||
        em__conn_send(c, type, body) != EM_OK)
        em__conn_close(c, em_last_error());
    em__arena_reset(m->arena);
}

/* ---- registries ---- */

static mapp *find_app(em__master *m, const char *id)
{
    for (size_t i = 0; i < m->napps; i++)
        if (strcmp(m->apps[i]->id, id) == 0)
            return m->apps[i];
    return NULL;
}

static mworker *find_worker(em__master *m, const char *id)
{
    for (size_t i = 0; i < m->nworkers; i++)
        if (strcmp(m->workers[i]->id, id) == 0)
            return m->workers[i];
    return NULL;
}

static wapp *find_wapp(mworker *w, const char *app)
{
    for (size_t i = 0; i < w->napps; i++)
        if (strcmp(w->apps[i].app, app) == 0)
            return &w->apps[i];
    return NULL;
}

/* The entry of app on w, added when missing; NULL when out of memory. */
static wapp *add_wapp(mworker *w, const char *app)
{
    wapp *e = find_wapp(w, app);

    if (e != NULL)
        return e;
    if (em__mem_grow((void **)&w->apps, &w->capps, w->napps + 1,
                     sizeof(*w->apps)) != 0)
        return NULL;
    e = &w->apps[w->napps++];
    memset(e, 0, sizeof(*e));
    snprintf(e->app, sizeof(e->app), "%s", app);
    return e;
}

static void drop_wapp(mworker *w, const char *app)
{
    wapp *e = find_wapp(w, app);

    if (e != NULL)
        *e = w->apps[--w->napps];
}

/* Removes p from arr (of *n pointers), keeping the order. */
static void remove_ptr(void **arr, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++)
        if (arr[i] == p) {
            memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
            (*n)--;
            return;
        }
}

/* Forgets w: cancels its timer and frees it. Its connection, if still
 * open, must have been detached first. */
static void free_worker(em__master *m, mworker *w)
{
    remove_ptr((void **)m->workers, &m->nworkers, w);
    em__timer_cancel(w->deadline);
    em__mem_free(w->apps, w->capps * sizeof(*w->apps));
    em__mem_free(w, sizeof(*w));
}

/* Detaches c from the object it stood for, so its close changes nothing,
 * and closes it. */
static void detach_and_close(em__conn *c, const char *reason)
{
    mpeer *p = em__conn_get_data(c);

    if (p != NULL)
        p->obj = NULL;
    em__conn_close(c, reason);
}

/* ---- launches ---- */

/* Asks w to start an executor of a. */
static void launch(em__master *m, mapp *a, mworker *w)
{
    wapp *e = add_wapp(w, a->id);
    int64_t exec = a->next_exec++;
    em__msg msg;

    if (e == NULL) {
        mlog(m, "cannot launch on worker %s: out of memory", w->id);
        return;
    }
    e->max_exec = exec > e->max_exec ? exec : e->max_exec;
    em__msg_init(&msg);
    em__msg_put(&msg, "app", em_cstr(a->id));
    em__msg_put(&msg, "exec", em_int(exec));
    em__msg_put(&msg, "driver_host", em_cstr(a->driver_host));
    em__msg_put(&msg, "driver_port", em_int(a->driver_port));
    em__msg_put(&msg, "exe_hash", em_cstr(a->exe_hash));
    em__msg_put(&msg, "memory", em_int(a->memory > 0 ? a->memory : w->memory));
    em__msg_put(&msg, "cores", em_int(w->cores));
    mlog(m, "launching executor %lld of %s on worker %s", (long long)exec,
         a->id, w->id);
    send_msg(m, w->conn, EM__MSG_LAUNCH, &msg);
}

/* ---- submitted drivers: files, logs, states ---- */

static msub *find_sub(em__master *m, const char *id)
{
    for (size_t i = 0; i < m->nsubs; i++)
        if (strcmp(m->subs[i]->id, id) == 0)
            return m->subs[i];
    return NULL;
}

static mprog *find_prog(em__master *m, const char *hash)
{
    for (size_t i = 0; i < m->nprogs; i++)
        if (strcmp(m->progs[i]->hash, hash) == 0)
            return m->progs[i];
    return NULL;
}

/* The kept file with data's content (added when new), with one more
 * reference; NULL when out of memory. */
static mprog *prog_get(em__master *m, const void *data, size_t len)
{
    char hash[65];
    mprog *p;

    if (em__bytes_hash(data, len, hash) != EM_OK)
        return NULL;
    if ((p = find_prog(m, hash)) != NULL) {
        p->refs++;
        return p;
    }
    if (em__mem_grow((void **)&m->progs, &m->cprogs, m->nprogs + 1,
                     sizeof(*m->progs)) != 0 ||
        (p = em__mem_calloc(1, sizeof(*p))) == NULL)
        return NULL;
    if ((p->data = em__mem_alloc(len)) == NULL) {
        em__mem_free(p, sizeof(*p));
        return NULL;
    }
    memcpy(p->data, data, len);
    memcpy(p->hash, hash, sizeof(hash));
    p->len = len;
    p->refs = 1;
    m->progs[m->nprogs++] = p;
    return p;
}

/* Drops a reference to p; the last one frees it. Accepts NULL. */
static void prog_put(em__master *m, mprog *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    remove_ptr((void **)m->progs, &m->nprogs, p);
    em__mem_free(p->data, p->len);
    em__mem_free(p, sizeof(*p));
}

/* Appends n bytes to the log, dropping the oldest beyond limit bytes. A
 * failure to grow keeps the buffer as it is and drops from it instead. */
static void log_append(mlogbuf *l, size_t limit, const uint8_t *p, size_t n)
{
    size_t want = l->len + n, cap = l->cap;

    if (n >= limit) { /* only the end of p stays */
        l->dropped += l->len + (n - limit);
        p += n - limit;
        n = limit;
        l->head = l->len = 0;
        want = n;
    }
    while (cap < want && cap < limit)
        cap = cap == 0 ? 65536 : cap * 2 > limit ? limit : cap * 2;
    if (cap > l->cap) { /* the ring wraps only at its final size */
        uint8_t *b = em__mem_realloc(l->buf, l->cap, cap);
        if (b != NULL) {
            l->buf = b;
            l->cap = cap;
        }
    }
    if (l->cap == 0) {
        l->dropped += n;
        return;
    }
    if (n > l->cap) {
        l->dropped += n - l->cap;
        p += n - l->cap;
        n = l->cap;
    }
    if (l->len + n > l->cap) { /* drop the oldest */
        size_t drop = l->len + n - l->cap;
        l->head = (l->head + drop) % l->cap;
        l->len -= drop;
        l->dropped += drop;
    }
    for (size_t done = 0; done < n;) {
        size_t at = (l->head + l->len) % l->cap;
        size_t k = l->cap - at < n - done ? l->cap - at : n - done;
        memcpy(l->buf + at, p + done, k);
        l->len += k;
        done += k;
    }
}

/* Sends the bytes the log keeps to c as LOG frames of at most 1 MiB; the
 * first says how many earlier bytes were dropped. */
static void log_send(em__master *m, em__conn *c, const mlogbuf *l)
{
    size_t off = 0;

    do {
        size_t at = l->cap ? (l->head + off) % l->cap : 0;
        size_t k = l->len - off;
        em__msg msg;

        if (k > ((size_t)1 << 20))
            k = (size_t)1 << 20;
        if (k > l->cap - at)
            k = l->cap - at;
        em__msg_init(&msg);
        em__msg_put(&msg, "data",
                    em_bytes(l->cap ? l->buf + at : (const uint8_t *)"", k));
        if (off == 0)
            em__msg_put(&msg, "dropped", em_int((int64_t)l->dropped));
        send_msg(m, c, EM__MSG_LOG, &msg);
        off += k;
    } while (off < l->len);
}

/* LOG_END for s: its state, exit code and message. */
static void send_log_end(em__master *m, em__conn *c, const msub *s)
{
    em__msg msg;

    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(s->id));
    em__msg_put(&msg, "state", em_cstr(sub_state_names[s->state]));
    if (s->state == SUB_FINISHED)
        em__msg_put(&msg, "exit", em_int(s->exit_code));
    em__msg_put(&msg, "message", em_cstr(s->message));
    send_msg(m, c, EM__MSG_LOG_END, &msg);
}

/* Stops c from waiting on s (its connection closed). */
static void drop_waiter(msub *s, em__conn *c)
{
    remove_ptr((void **)s->waiters, &s->nwaiters, c);
}

static void free_sub(em__master *m, msub *s)
{
    prog_put(m, s->exe);
    prog_put(m, s->script);
    em__mem_free(s->args, s->args_bytes);
    em__mem_free(s->log.buf, s->log.cap);
    em__mem_free(s->waiters, s->cwaiters * sizeof(*s->waiters));
    em__mem_free(s, sizeof(*s));
}

/* Forgets the oldest ended submissions beyond EM__MASTER_MAX_ENDED. */
static void trim_ended(em__master *m)
{
    size_t ended = 0;

    for (size_t i = 0; i < m->nsubs; i++)
        ended += m->subs[i]->state >= SUB_FINISHED;
    for (size_t i = 0; i < m->nsubs && ended > EM__MASTER_MAX_ENDED;) {
        msub *s = m->subs[i];

        if (s->state < SUB_FINISHED) {
            i++;
            continue;
        }
        remove_ptr((void **)m->subs, &m->nsubs, s);
        free_sub(m, s);
        ended--;
    }
}

/* s ended (state, a message and for SUB_FINISHED the exit code): its
 * files are released and every client waiting on it gets LOG_END. */
static void sub_end(em__master *m, msub *s, int state, int exit_code,
                    const char *message)
{
    s->state = state;
    s->exit_code = exit_code;
    snprintf(s->message, sizeof(s->message), "%s", message);
    prog_put(m, s->exe);
    prog_put(m, s->script);
    s->exe = s->script = NULL;
    mlog(m, "driver %s (%s) %s: %s", s->id, s->name, sub_state_names[state],
         message);
    for (size_t i = 0; i < s->nwaiters; i++) {
        mpeer *p = em__conn_get_data(s->waiters[i]);

        send_log_end(m, s->waiters[i], s);
        if (p != NULL)
            p->obj = NULL;
    }
    s->nwaiters = 0;
}

/* Running drivers on w. */
static size_t drivers_on(em__master *m, const mworker *w)
{
    size_t n = 0;

    for (size_t i = 0; i < m->nsubs; i++)
        n += m->subs[i]->state == SUB_RUNNING &&
             strcmp(m->subs[i]->worker, w->id) == 0;
    return n;
}

/* DRIVER_LAUNCH of s on w: s is running there from now. */
static void sub_launch(em__master *m, msub *s, mworker *w)
{
    em_val *args = em__arena_alloc(m->arena, (s->nargs + 1) * sizeof(em_val),
                                   8);
    const char *a = s->args;
    em__msg msg;

    if (args == NULL) {
        sub_end(m, s, SUB_FAILED, 0, "failed to start: out of memory");
        return;
    }
    for (uint32_t i = 0; i < s->nargs; i++, a += strlen(a) + 1)
        args[i] = em_cstr(a);
    s->state = SUB_RUNNING;
    s->started_s = (int64_t)time(NULL);
    snprintf(s->worker, sizeof(s->worker), "%s", w->id);
    snprintf(s->message, sizeof(s->message), "running on worker %s", w->id);
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(s->id));
    em__msg_put(&msg, "exe_hash", em_cstr(s->exe->hash));
    em__msg_put(&msg, "exe_name", em_cstr(s->exe_name));
    em__msg_put(&msg, "script_hash",
                s->script ? em_cstr(s->script->hash) : em_nil());
    em__msg_put(&msg, "script_name", em_cstr(s->script_name));
    em__msg_put(&msg, "args", em_array(args, s->nargs));
    mlog(m, "launching driver %s (%s) on worker %s", s->id, s->name, w->id);
    send_msg(m, w->conn, EM__MSG_DRIVER_LAUNCH, &msg);
}

/* Launches every waiting submission, each on the live worker with the
 * fewest running drivers. */
static void launch_waiting(em__master *m)
{
    for (size_t i = 0; i < m->nsubs && m->nworkers > 0; i++) {
        msub *s = m->subs[i];
        mworker *best = NULL;
        size_t best_n = 0;

        if (s->state != SUB_SUBMITTED)
            continue;
        for (size_t k = 0; k < m->nworkers; k++) {
            size_t n = drivers_on(m, m->workers[k]);
            if (best == NULL || n < best_n) {
                best = m->workers[k];
                best_n = n;
            }
        }
        sub_launch(m, s, best);
    }
}

/* w is gone: the drivers it ran failed. */
static void fail_drivers_of(em__master *m, const mworker *w)
{
    char why[200];

    snprintf(why, sizeof(why), "worker %s lost", w->id);
    for (size_t i = 0; i < m->nsubs; i++) {
        msub *s = m->subs[i];

        if (s->state == SUB_RUNNING && strcmp(s->worker, w->id) == 0)
            sub_end(m, s, s->is_kill_asked ? SUB_KILLED : SUB_FAILED, 0, why);
    }
}

/* WORKER_HELLO's drivers: one the master knows as not running there
 * (ended, or declared failed when the worker was lost) is killed. One it
 * does not know (a restarted master) runs on. */
static void check_worker_drivers(em__master *m, mworker *w, em_val body)
{
    em_val list = em__msg_get(body, "drivers");

    if (list.type != EM_ARRAY)
        return;
    for (uint32_t i = 0; i < list.len; i++) {
        em_val v = list.u.arr[i];
        char id[128];
        em__msg msg;
        msub *s;

        if (v.type != EM_STR || v.len >= sizeof(id))
            continue;
        memcpy(id, v.u.s, v.len);
        id[v.len] = '\0';
        s = find_sub(m, id);
        if (s == NULL ||
            (s->state == SUB_RUNNING && strcmp(s->worker, w->id) == 0))
            continue;
        mlog(m, "driver %s on worker %s is %s here: killing it", id, w->id,
             sub_state_names[s->state]);
        em__msg_init(&msg);
        em__msg_put(&msg, "id", em_cstr(id));
        send_msg(m, w->conn, EM__MSG_DRIVER_KILL, &msg);
    }
}

/* ---- losing workers, ending applications ---- */

/* Tells every application's driver that w (and its block server) is gone,
 * then forgets w. */
static void worker_lost(em__master *m, mworker *w, const char *why)
{
    char block[300];

    mlog(m, "worker %s lost: %s", w->id, why);
    snprintf(block, sizeof(block), "%s:%d", w->host, w->block_port);
    for (size_t i = 0; i < m->napps; i++) {
        em__msg msg;

        em__msg_init(&msg);
        em__msg_put(&msg, "worker", em_cstr(w->id));
        em__msg_put(&msg, "block", em_cstr(block));
        send_msg(m, m->apps[i]->conn, EM__MSG_WORKER_LOST, &msg);
    }
    fail_drivers_of(m, w);
    free_worker(m, w);
}

/* A worker's heartbeat deadline passed. */
static void on_deadline(void *arg)
{
    mworker *w = arg;
    em__master *m = w->m;
    char why[64];

    snprintf(why, sizeof(why), "no heartbeat for %g s",
             (double)m->timeout_ms / 1000.0);
    detach_and_close(w->conn, "no heartbeat");
    worker_lost(m, w, why);
}

/* The driver of a is gone: its executors end everywhere. */
static void app_end(em__master *m, mapp *a, const char *why)
{
    mlog(m, "application %s (%s) ended: %s", a->id, a->name, why);
    for (size_t i = 0; i < m->nworkers; i++) {
        mworker *w = m->workers[i];
        em__msg msg;

        em__msg_init(&msg);
        em__msg_put(&msg, "app", em_cstr(a->id));
        send_msg(m, w->conn, EM__MSG_APP_END, &msg);
        drop_wapp(w, a->id);
    }
    remove_ptr((void **)m->apps, &m->napps, a);
    em__mem_free(a, sizeof(*a));
}

/* ---- workers ---- */

/* Reads WORKER_HELLO's apps (and their highest executor ids, "execs")
 * into w. */
static em_status read_worker_apps(mworker *w, em_val body)
{
    em_val apps = em__msg_get(body, "apps");
    em_val execs = em__msg_get(body, "execs");

    if (apps.type == EM_NIL)
        return EM_OK;
    if (apps.type != EM_ARRAY)
        return em__err(EM_EPROTO, "WORKER_HELLO: field apps is not an array");
    for (uint32_t i = 0; i < apps.len; i++) {
        char id[128];
        em_val v = apps.u.arr[i], n;
        wapp *e;

        if (v.type != EM_STR || v.len >= sizeof(id))
            return em__err(EM_EPROTO, "WORKER_HELLO: apps holds a %s",
                           em_type_name((em_type)v.type));
        memcpy(id, v.u.s, v.len);
        id[v.len] = '\0';
        if ((e = add_wapp(w, id)) == NULL)
            return EM_ENOMEM;
        n = em__msg_get(execs, id);
        if (n.type == EM_INT && n.u.i > e->max_exec)
            e->max_exec = n.u.i;
    }
    return EM_OK;
}

/* Parses WORKER_HELLO into a new worker record. */
static em_status parse_worker(em_val body, mworker *w)
{
    int64_t port;
    em_status st;

    if ((st = em__msg_str(EM__MSG_WORKER_HELLO, body, "id", w->id,
                          sizeof(w->id))) != EM_OK ||
        (st = em__msg_str(EM__MSG_WORKER_HELLO, body, "host", w->host,
                          sizeof(w->host))) != EM_OK ||
        (st = em__msg_int(EM__MSG_WORKER_HELLO, body, "block_port",
                          &port)) != EM_OK ||
        (st = em__msg_int(EM__MSG_WORKER_HELLO, body, "cores", &w->cores)) !=
            EM_OK ||
        (st = em__msg_int(EM__MSG_WORKER_HELLO, body, "memory",
                          &w->memory)) != EM_OK)
        return st;
    if (!em__daemon_is_name(w->id))
        return em__err(EM_EPROTO, "WORKER_HELLO: bad worker id '%s'", w->id);
    if (port < 1 || port > 65535 || w->cores < 1 || w->memory < 0)
        return em__err(EM_EPROTO, "WORKER_HELLO: bad block_port, cores or "
                       "memory");
    w->block_port = (int)port;
    return read_worker_apps(w, body);
}

/* A worker with the same id registered again: the old entry goes. When
 * its block server moved (a new process), drivers learn the old one is
 * lost. */
static void replace_worker(em__master *m, mworker *old, const mworker *w)
{
    if (strcmp(old->host, w->host) != 0 || old->block_port != w->block_port) {
        detach_and_close(old->conn, "replaced by a new worker with its id");
        worker_lost(m, old, "replaced by a new process with the same id");
        return;
    }
    detach_and_close(old->conn, "replaced by a new connection");
    free_worker(m, old);
}

static em_status worker_hello(em__master *m, em__conn *c, mpeer *p,
                              em_val body)
{
    mworker *w = em__mem_calloc(1, sizeof(*w)), *old;
    em__msg msg;
    em_status st;

    if (w == NULL)
        return EM_ENOMEM;
    w->m = m;
    w->conn = c;
    if ((st = parse_worker(body, w)) != EM_OK)
        goto out_free;
    if (em__mem_grow((void **)&m->workers, &m->cworkers, m->nworkers + 1,
                     sizeof(*m->workers)) != 0) {
        st = EM_ENOMEM;
        goto out_free;
    }
    w->deadline = em__loop_timer(m->loop, m->timeout_ms, false, on_deadline, w);
    if (w->deadline == NULL) {
        st = EM_ENOMEM;
        goto out_free;
    }
    if ((old = find_worker(m, w->id)) != NULL)
        replace_worker(m, old, w);
    m->workers[m->nworkers++] = w;
    p->kind = PEER_WORKER;
    p->obj = w;
    mlog(m, "worker %s (%s, %lld cores) registered%s", w->id, w->host,
         (long long)w->cores, old != NULL ? " again" : "");
    em__msg_init(&msg);
    em__msg_put(&msg, "heartbeat_ms", em_int(m->timeout_ms / 4));
    send_msg(m, c, EM__MSG_WORKER_WELCOME, &msg);
    for (size_t i = 0; i < w->napps; i++) {
        mapp *a = find_app(m, w->apps[i].app);
        if (a != NULL && a->next_exec <= w->apps[i].max_exec)
            a->next_exec = w->apps[i].max_exec + 1;
    }
    for (size_t i = 0; i < m->napps; i++)
        if (find_wapp(w, m->apps[i]->id) == NULL)
            launch(m, m->apps[i], w);
    check_worker_drivers(m, w, body);
    launch_waiting(m);
    return EM_OK;

out_free:
    em__mem_free(w->apps, w->capps * sizeof(*w->apps));
    em__mem_free(w, sizeof(*w));
    return st;
}

/* EXEC_EXITED: the driver learns of it; a replacement is launched while
 * the application lives, up to EM__MASTER_MAX_REPLACEMENTS. */
static em_status exec_exited(em__master *m, mworker *w, em_val body)
{
    char app[128], status[128];
    int64_t exec;
    em_status st;
    mapp *a;
    wapp *e;

    if ((st = em__msg_str(EM__MSG_EXEC_EXITED, body, "app", app,
                          sizeof(app))) != EM_OK ||
        (st = em__msg_int(EM__MSG_EXEC_EXITED, body, "exec", &exec)) !=
            EM_OK ||
        (st = em__msg_str(EM__MSG_EXEC_EXITED, body, "status", status,
                          sizeof(status))) != EM_OK)
        return st;
    mlog(m, "executor %lld of %s on worker %s exited: %s", (long long)exec,
         app, w->id, status);
    if ((a = find_app(m, app)) == NULL)
        return EM_OK;
    if (em__conn_send(a->conn, EM__MSG_EXEC_EXITED, body) != EM_OK)
        em__conn_close(a->conn, em_last_error());
    e = find_wapp(w, app);
    if (e != NULL && e->replacements >= EM__MASTER_MAX_REPLACEMENTS) {
        mlog(m, "no more executors of %s on worker %s: %d replacements "
             "exited", app, w->id, e->replacements);
        return EM_OK;
    }
    if (e != NULL)
        e->replacements++;
    launch(m, a, w);
    return EM_OK;
}

/* ---- applications ---- */

/* Parses APP_HELLO into a. */
static em_status parse_app(em_val body, mapp *a)
{
    em_val id = em__msg_get(body, "app");
    int64_t port;
    em_status st;

    if (id.type != EM_NIL &&
        (st = em__msg_str(EM__MSG_APP_HELLO, body, "app", a->id,
                          sizeof(a->id))) != EM_OK)
        return st;
    if (em__msg_get(body, "name").type == EM_NIL)
        snprintf(a->name, sizeof(a->name), "unnamed");
    else if ((st = em__msg_str(EM__MSG_APP_HELLO, body, "name", a->name,
                               sizeof(a->name))) != EM_OK)
        return st;
    if (em__msg_get(body, "memory").type != EM_NIL &&
        (st = em__msg_int(EM__MSG_APP_HELLO, body, "memory", &a->memory)) !=
            EM_OK)
        return st;
    if ((st = em__msg_str(EM__MSG_APP_HELLO, body, "exe_hash", a->exe_hash,
                          sizeof(a->exe_hash))) != EM_OK ||
        (st = em__msg_str(EM__MSG_APP_HELLO, body, "driver_host",
                          a->driver_host, sizeof(a->driver_host))) != EM_OK ||
        (st = em__msg_int(EM__MSG_APP_HELLO, body, "driver_port", &port)) !=
            EM_OK)
        return st;
    if (a->id[0] != '\0' && !em__daemon_is_name(a->id))
        return em__err(EM_EPROTO, "APP_HELLO: bad application id '%s'", a->id);
    if (!em__daemon_is_hash(a->exe_hash))
        return em__err(EM_EPROTO, "APP_HELLO: exe_hash is not 64 hex digits");
    if (port < 1 || port > 65535 || a->memory < 0)
        return em__err(EM_EPROTO, "APP_HELLO: bad driver_port or memory");
    a->driver_port = (int)port;
    return EM_OK;
}

/* A fresh application id: app-<local time>-<counter>. */
static void new_app_id(em__master *m, char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    snprintf(buf, cap, "app-%s-%04u", stamp, m->app_counter++ % 10000);
}

static em_status app_hello(em__master *m, em__conn *c, mpeer *p, em_val body)
{
    mapp *a = em__mem_calloc(1, sizeof(*a)), *old;
    bool is_again;
    em__msg msg;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    if ((st = parse_app(body, a)) == EM_OK &&
        em__mem_grow((void **)&m->apps, &m->capps, m->napps + 1,
                     sizeof(*m->apps)) != 0)
        st = EM_ENOMEM;
    if (st != EM_OK) {
        em__mem_free(a, sizeof(*a));
        return st;
    }
    is_again = a->id[0] != '\0';
    if (!is_again)
        new_app_id(m, a->id, sizeof(a->id));
    if ((old = find_app(m, a->id)) != NULL) {
        detach_and_close(old->conn, "replaced by a new driver connection");
        remove_ptr((void **)m->apps, &m->napps, old);
        em__mem_free(old, sizeof(*old));
    }
    a->conn = c;
    a->next_exec = 1;
    for (size_t i = 0; i < m->nworkers; i++) {
        wapp *e = find_wapp(m->workers[i], a->id);
        if (e != NULL && a->next_exec <= e->max_exec)
            a->next_exec = e->max_exec + 1;
    }
    m->apps[m->napps++] = a;
    p->kind = PEER_APP;
    p->obj = a;
    mlog(m, "application %s (%s) registered%s", a->id, a->name,
         is_again ? " again" : "");
    em__msg_init(&msg);
    em__msg_put(&msg, "app", em_cstr(a->id));
    /* the executors it will get now: the driver waits for them */
    em__msg_put(&msg, "workers", em_int((int64_t)m->nworkers));
    send_msg(m, c, EM__MSG_APP_WELCOME, &msg);
    for (size_t i = 0; i < m->nworkers; i++)
        if (find_wapp(m->workers[i], a->id) == NULL)
            launch(m, a, m->workers[i]);
    return EM_OK;
}

/* ---- submitted drivers: requests ---- */

/* Answers a client's request with ERROR {message}. */
static void send_error(em__master *m, em__conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void send_error(em__master *m, em__conn *c, const char *fmt, ...)
{
    char text[512];
    em__msg msg;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    em__msg_init(&msg);
    em__msg_put(&msg, "message", em_cstr(text));
    send_msg(m, c, EM__MSG_ERROR, &msg);
}

/* Copies SUBMIT's args into s (NUL-separated). */
static em_status read_args(msub *s, em_val args)
{
    size_t bytes = 0;
    char *p;

    if (args.type == EM_NIL)
        return EM_OK;
    if (args.type != EM_ARRAY || args.len > EM__MASTER_MAX_ARGS)
        return em__err(EM_EPROTO, "SUBMIT: field args is not an array of at "
                       "most %d strings", EM__MASTER_MAX_ARGS);
    for (uint32_t i = 0; i < args.len; i++) {
        em_val v = args.u.arr[i];
        if (v.type != EM_STR || memchr(v.u.s, 0, v.len) != NULL)
            return em__err(EM_EPROTO, "SUBMIT: args holds a %s or a NUL",
                           em_type_name((em_type)v.type));
        bytes += v.len + 1;
    }
    if ((s->args = p = em__mem_alloc(bytes)) == NULL)
        return EM_ENOMEM;
    s->args_bytes = bytes;
    s->nargs = args.len;
    for (uint32_t i = 0; i < args.len; i++) {
        memcpy(p, args.u.arr[i].u.s, args.u.arr[i].len);
        p += args.u.arr[i].len;
        *p++ = '\0';
    }
    return EM_OK;
}

/* Reads SUBMIT into s: names, arguments and files. */
static em_status parse_submit(em__master *m, em_val body, msub *s)
{
    const int t = EM__MSG_SUBMIT;
    em_val prog = em__msg_get(body, "program");
    em_val script = em__msg_get(body, "script");
    em_status st;

    if ((st = em__msg_str(t, body, "name", s->name, sizeof(s->name))) !=
            EM_OK ||
        (st = em__msg_str(t, body, "program_name", s->exe_name,
                          sizeof(s->exe_name))) != EM_OK)
        return st;
    if (!em__daemon_is_name(s->name) || !em__daemon_is_name(s->exe_name))
        return em__err(EM_EPROTO, "SUBMIT: bad name '%s' or program name "
                       "'%s' (use letters, digits, '.', '_' and '-')",
                       s->name, s->exe_name);
    if (prog.type != EM_BYTES || prog.len == 0 ||
        (script.type != EM_NIL && script.type != EM_BYTES))
        return em__err(EM_EPROTO, "SUBMIT: field program missing or not "
                       "bytes, or script not bytes");
    if (script.type == EM_BYTES &&
        ((st = em__msg_str(t, body, "script_name", s->script_name,
                           sizeof(s->script_name))) != EM_OK ||
         !em__daemon_is_name(s->script_name)))
        return em__err(EM_EPROTO, "SUBMIT: bad script_name");
    if ((st = read_args(s, em__msg_get(body, "args"))) != EM_OK)
        return st;
    if ((s->exe = prog_get(m, prog.u.bytes, prog.len)) == NULL ||
        (script.type == EM_BYTES &&
         (s->script = prog_get(m, script.u.bytes, script.len)) == NULL))
        return EM_ENOMEM;
    return EM_OK;
}

/* A fresh submission id: driver-<local time>-<counter>. */
static void new_sub_id(em__master *m, char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    snprintf(buf, cap, "driver-%s-%04u", stamp, m->sub_counter++ % 10000);
}

/* SUBMIT -> SUBMITTED {id}: kept, and launched when a worker is live. */
static em_status on_submit(em__master *m, em__conn *c, em_val body)
{
    msub *s = em__mem_calloc(1, sizeof(*s));
    em__msg msg;
    em_status st;

    if (s == NULL)
        return EM_ENOMEM;
    if ((st = parse_submit(m, body, s)) == EM_OK &&
        em__mem_grow((void **)&m->subs, &m->csubs, m->nsubs + 1,
                     sizeof(*m->subs)) != 0)
        st = EM_ENOMEM;
    if (st != EM_OK) {
        free_sub(m, s);
        if (st != EM_ENOMEM)
            return st;
        send_error(m, c, "the master is out of memory");
        return EM_OK;
    }
    new_sub_id(m, s->id, sizeof(s->id));
    s->state = SUB_SUBMITTED;
    s->submitted_s = (int64_t)time(NULL);
    snprintf(s->message, sizeof(s->message), "waiting for a worker");
    m->subs[m->nsubs++] = s;
    mlog(m, "driver %s (%s) submitted from %s: %zu bytes%s", s->id, s->name,
         em__conn_peer(c), s->exe->len, s->script ? " and a Lua script" : "");
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(s->id));
    send_msg(m, c, EM__MSG_SUBMITTED, &msg);
    launch_waiting(m);
    trim_ended(m);
    return EM_OK;
}

/* JOBS -> JOB_LIST. */
static em_status on_jobs(em__master *m, em__conn *c)
{
    em_val *jobs = em__arena_alloc(m->arena, (m->nsubs + 1) * sizeof(em_val),
                                   8);
    em__msg msg;

    if (jobs == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < m->nsubs; i++) {
        const msub *s = m->subs[i];

        em__msg_init(&msg);
        em__msg_put(&msg, "id", em_cstr(s->id));
        em__msg_put(&msg, "name", em_cstr(s->name));
        em__msg_put(&msg, "state", em_cstr(sub_state_names[s->state]));
        em__msg_put(&msg, "worker", em_cstr(s->worker));
        em__msg_put(&msg, "submitted", em_int(s->submitted_s));
        em__msg_put(&msg, "started", em_int(s->started_s));
        em__msg_put(&msg, "exit", s->state == SUB_FINISHED
                                      ? em_int(s->exit_code) : em_nil());
        em__msg_put(&msg, "message", em_cstr(s->message));
        if (em__msg_done(&msg, m->arena, &jobs[i]) != EM_OK)
            return EM_ENOMEM;
    }
    em__msg_init(&msg);
    em__msg_put(&msg, "jobs", em_array(jobs, m->nsubs));
    send_msg(m, c, EM__MSG_JOB_LIST, &msg);
    return EM_OK;
}

/* Makes c wait on s: for its LOG frames when following, and its end. */
static em_status add_waiter(msub *s, em__conn *c, mpeer *p, bool follow)
{
    if (em__mem_grow((void **)&s->waiters, &s->cwaiters, s->nwaiters + 1,
                     sizeof(*s->waiters)) != 0)
        return EM_ENOMEM;
    s->waiters[s->nwaiters++] = c;
    p->obj = s;
    p->is_following = follow;
    return EM_OK;
}

/* The submission a LOGS or KILL names; NULL after answering ERROR. */
static msub *request_sub(em__master *m, em__conn *c, int type, em_val body)
{
    char id[128];
    msub *s;

    if (em__msg_str(type, body, "id", id, sizeof(id)) != EM_OK) {
        send_error(m, c, "%s", em_last_error());
        return NULL;
    }
    if ((s = find_sub(m, id)) == NULL)
        send_error(m, c, "no submission '%s' on this master (ember jobs "
                   "lists them)", id);
    return s;
}

/* LOGS {id, follow} -> the log kept, then LOG_END now or, when following
 * a driver not yet ended, once it ends. */
static em_status on_logs(em__master *m, em__conn *c, mpeer *p, em_val body)
{
    em_val follow = em__msg_get(body, "follow");
    msub *s = request_sub(m, c, EM__MSG_LOGS, body);

    if (s == NULL)
        return EM_OK;
    log_send(m, c, &s->log);
    if (follow.type == EM_BOOL && follow.u.b && s->state < SUB_FINISHED)
        return add_waiter(s, c, p, true);
    send_log_end(m, c, s);
    return EM_OK;
}

/* KILL {id} -> LOG_END once the driver has ended; ERROR when it had. */
static em_status on_kill(em__master *m, em__conn *c, mpeer *p, em_val body)
{
    msub *s = request_sub(m, c, EM__MSG_KILL, body);
    mworker *w;
    em__msg msg;

    if (s == NULL)
        return EM_OK;
    if (s->state >= SUB_FINISHED) {
        send_error(m, c, "driver %s is not running: it %s (%s)", s->id,
                   s->state == SUB_FINISHED ? "finished"
                   : s->state == SUB_KILLED ? "was killed" : "failed",
                   s->message);
        return EM_OK;
    }
    mlog(m, "driver %s (%s): kill asked by %s", s->id, s->name,
         em__conn_peer(c));
    s->is_kill_asked = true;
    if (s->state == SUB_SUBMITTED ||
        (w = find_worker(m, s->worker)) == NULL) {
        sub_end(m, s, SUB_KILLED, 0, "killed before it started");
        send_log_end(m, c, s);
        return EM_OK;
    }
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(s->id));
    send_msg(m, w->conn, EM__MSG_DRIVER_KILL, &msg);
    return add_waiter(s, c, p, false);
}

/* GET_BINARY {hash} from a worker -> BINARY {data} or ERROR. */
static em_status on_get_binary(em__master *m, em__conn *c, em_val body)
{
    char hash[65];
    em__msg msg;
    mprog *p;
    em_status st;

    if ((st = em__msg_str(EM__MSG_GET_BINARY, body, "hash", hash,
                          sizeof(hash))) != EM_OK)
        return st;
    if ((p = find_prog(m, hash)) == NULL) {
        send_error(m, c, "the master keeps no file %.12s... (its driver "
                   "ended)", hash);
        return EM_OK;
    }
    em__msg_init(&msg);
    em__msg_put(&msg, "data", em_bytes(p->data, p->len));
    send_msg(m, c, EM__MSG_BINARY, &msg);
    return EM_OK;
}

/* A request of ember submit, jobs, logs or kill, or a worker's fetch. */
static em_status client_frame(em__master *m, em__conn *c, mpeer *p, int type,
                              em_val body)
{
    if (p->obj != NULL)
        return em__err(EM_EPROTO, "%s (type %d) while a request waits",
                       em__msg_name(type), type);
    switch (type) {
    case EM__MSG_SUBMIT:
        return on_submit(m, c, body);
    case EM__MSG_JOBS:
        return on_jobs(m, c);
    case EM__MSG_LOGS:
        return on_logs(m, c, p, body);
    case EM__MSG_KILL:
        return on_kill(m, c, p, body);
    case EM__MSG_GET_BINARY:
        return on_get_binary(m, c, body);
    default:
        return em__err(EM_EPROTO, "unexpected %s (type %d) from a client",
                       em__msg_name(type), type);
    }
}

static bool is_client_request(int type)
{
    return type == EM__MSG_SUBMIT || type == EM__MSG_JOBS ||
           type == EM__MSG_LOGS || type == EM__MSG_KILL ||
           type == EM__MSG_GET_BINARY;
}

/* ---- submitted drivers: what workers report ---- */

/* The running submission a worker's DRIVER_* frame names, or NULL when
 * it is not running on w (ended, or forgotten). */
static em_status worker_sub(em__master *m, mworker *w, int type,
                            em_val body, msub **out)
{
    char id[128];
    em_status st;
    msub *s;

    if ((st = em__msg_str(type, body, "id", id, sizeof(id))) != EM_OK)
        return st;
    s = find_sub(m, id);
    *out = s != NULL && s->state == SUB_RUNNING &&
                   strcmp(s->worker, w->id) == 0
               ? s : NULL;
    return EM_OK;
}

/* DRIVER_OUTPUT {id, data}: kept, and sent to the clients following. */
static em_status driver_output(em__master *m, mworker *w, em_val body)
{
    em_val data = em__msg_get(body, "data");
    em_status st;
    msub *s;

    if ((st = worker_sub(m, w, EM__MSG_DRIVER_OUTPUT, body, &s)) != EM_OK)
        return st;
    if (data.type != EM_BYTES)
        return em__err(EM_EPROTO, "DRIVER_OUTPUT: field data missing or not "
                       "bytes");
    if (s == NULL || data.len == 0)
        return EM_OK;
    log_append(&s->log, m->log_bytes, data.u.bytes, data.len);
    for (size_t i = 0; i < s->nwaiters; i++) {
        em__conn *c = s->waiters[i];
        mpeer *p = em__conn_get_data(c);
        em__msg msg;

        if (p == NULL || !p->is_following)
            continue;
        if (em__conn_queued_bytes(c) > EM__MASTER_MAX_CLIENT_QUEUE) {
            em__conn_close(c, "the client reads the log too slowly");
            continue;
        }
        em__msg_init(&msg);
        em__msg_put(&msg, "data", data);
        send_msg(m, c, EM__MSG_LOG, &msg);
    }
    return EM_OK;
}

/* DRIVER_EXITED {id, status, exit}: the submission ends. */
static em_status driver_exited(em__master *m, mworker *w, em_val body)
{
    char status[256];
    em_val code = em__msg_get(body, "exit");
    em_status st;
    msub *s;

    if ((st = worker_sub(m, w, EM__MSG_DRIVER_EXITED, body, &s)) != EM_OK ||
        (st = em__msg_str(EM__MSG_DRIVER_EXITED, body, "status", status,
                          sizeof(status))) != EM_OK)
        return st;
    if (s == NULL)
        return EM_OK;
    if (s->is_kill_asked)
        sub_end(m, s, SUB_KILLED, 0, status);
    else if (code.type == EM_INT && code.u.i >= 0 && code.u.i <= 255)
        sub_end(m, s, SUB_FINISHED, (int)code.u.i, status);
    else
        sub_end(m, s, SUB_FAILED, 0, status);
    return EM_OK;
}

/* ---- connections ---- */

static void on_open(em__conn *c, void *ud)
{
    mpeer *p = em__mem_calloc(1, sizeof(*p));

    if (p == NULL) {
        em__conn_close(c, "out of memory");
        return;
    }
    em__conn_set_data(c, p);
}

/* The first frame: who the peer is. */
static em_status first_frame(em__master *m, em__conn *c, mpeer *p, int type,
                             em_val body)
{
    if (type == EM__MSG_WORKER_HELLO)
        return worker_hello(m, c, p, body);
    if (type == EM__MSG_APP_HELLO)
        return app_hello(m, c, p, body);
    if (is_client_request(type)) {
        p->kind = PEER_CLIENT;
        return client_frame(m, c, p, type, body);
    }
    return em__err(EM_EPROTO, "first frame is %s (type %d), expected "
                   "WORKER_HELLO, APP_HELLO or a client's request",
                   em__msg_name(type), type);
}

static em_status on_frame(em__conn *c, int type, em_val body, void *ud)
{
    em__master *m = ud;
    mpeer *p = em__conn_get_data(c);

    if (p == NULL)
        return em__err(EM_ENOMEM, "out of memory");
    if (p->kind == PEER_NEW)
        return first_frame(m, c, p, type, body);
    if (p->kind == PEER_CLIENT)
        return client_frame(m, c, p, type, body);
    if (p->obj == NULL)
        return EM_OK; /* detached: closing */
    if (p->kind == PEER_WORKER && type == EM__MSG_WORKER_HEARTBEAT) {
        em__timer_again(((mworker *)p->obj)->deadline, m->timeout_ms);
        return EM_OK;
    }
    if (p->kind == PEER_WORKER && type == EM__MSG_EXEC_EXITED)
        return exec_exited(m, p->obj, body);
    if (p->kind == PEER_WORKER && type == EM__MSG_DRIVER_OUTPUT)
        return driver_output(m, p->obj, body);
    if (p->kind == PEER_WORKER && type == EM__MSG_DRIVER_EXITED)
        return driver_exited(m, p->obj, body);
    return em__err(EM_EPROTO, "unexpected %s (type %d) from %s",
                   em__msg_name(type), type,
                   p->kind == PEER_WORKER ? "a worker" : "a driver");
}

static void on_close(em__conn *c, const char *reason, void *ud)
{
    em__master *m = ud;
    mpeer *p = em__conn_get_data(c);
    char why[300];

    if (p == NULL)
        return;
    if (p->obj != NULL && !m->is_stopping) {
        snprintf(why, sizeof(why), "connection closed (%s)", reason);
        if (p->kind == PEER_WORKER)
            worker_lost(m, p->obj, why);
        else if (p->kind == PEER_APP)
            app_end(m, p->obj, why);
        else if (p->kind == PEER_CLIENT)
            drop_waiter(p->obj, c);
    }
    em__mem_free(p, sizeof(*p));
    em__conn_set_data(c, NULL);
}

static const em__conn_handler handler = {on_open, on_frame, on_close};

/* ---- running ---- */

/* Listens and writes the port file. */
static em_status start(em__master *m)
{
    const char *host = m->o->host ? m->o->host : "127.0.0.1";
    char text[32];
    int port;

    m->srv = em__server_listen(m->loop, host, m->o->port, &m->o->key,
                               &handler, m);
    if (m->srv == NULL)
        return EM_EIO;
    port = em__server_port(m->srv); /* net/ logs "listening on H:P" */
    if (m->o->port_file != NULL) {
        snprintf(text, sizeof(text), "%d\n", port);
        if (em__daemon_write_file(m->o->port_file, text) != EM_OK)
            return EM_EIO;
    }
    if (m->o->on_ready != NULL)
        m->o->on_ready(m, port, m->o->ud);
    return EM_OK;
}

/* Closes everything: connections close without losses being reported. */
static void shut_down(em__master *m)
{
    m->is_stopping = true;
    em__server_close(m->srv);
    while (m->nworkers > 0) {
        mworker *w = m->workers[0];
        detach_and_close(w->conn, "master shutting down");
        free_worker(m, w);
    }
    while (m->napps > 0) {
        mapp *a = m->apps[0];
        detach_and_close(a->conn, "master shutting down");
        remove_ptr((void **)m->apps, &m->napps, a);
        em__mem_free(a, sizeof(*a));
    }
    for (size_t i = 0; i < m->nsubs; i++) {
        msub *s = m->subs[i];
        for (size_t k = 0; k < s->nwaiters; k++)
            detach_and_close(s->waiters[k], "master shutting down");
        s->nwaiters = 0;
        free_sub(m, s);
    }
    m->nsubs = 0;
}

/* The log kept per driver: $EMBER_DRIVER_LOG_BYTES (at least 1024), else
 * EM__MASTER_LOG_BYTES. */
static size_t driver_log_bytes(void)
{
    const char *s = getenv("EMBER_DRIVER_LOG_BYTES");
    long long v = s ? atoll(s) : 0;

    return v >= 1024 ? (size_t)v : EM__MASTER_LOG_BYTES;
}

em_status em__master_run(const em__master_opts *o)
{
    em__master m = {0};
    em__sigwatch sw;
    em_status st;

    m.o = o;
    m.timeout_ms = em__heartbeat_timeout_ms();
    m.log_bytes = driver_log_bytes();
    if ((m.loop = em__loop_create()) == NULL)
        return EM_ENOMEM;
    if ((m.arena = em_arena_create()) == NULL) {
        st = EM_ENOMEM;
        goto out_loop;
    }
    if (o->handle_signals && (st = em__sigwatch_start(&sw, m.loop)) != EM_OK)
        goto out_arena;
    if ((st = start(&m)) == EM_OK) {
        em__loop_run(m.loop);
        if (o->handle_signals && atomic_load(&sw.signal) != 0)
            mlog(&m, "%s received, shutting down",
                 atomic_load(&sw.signal) == SIGINT ? "SIGINT" : "SIGTERM");
    }
    shut_down(&m);
    if (o->handle_signals)
        em__sigwatch_stop(&sw);
out_arena:
    em__loop_destroy(m.loop);
    em_arena_destroy(m.arena);
    em__mem_free(m.workers, m.cworkers * sizeof(*m.workers));
    em__mem_free(m.apps, m.capps * sizeof(*m.apps));
    em__mem_free(m.subs, m.csubs * sizeof(*m.subs));
    em__mem_free(m.progs, m.cprogs * sizeof(*m.progs));
    return st;
out_loop:
    em__loop_destroy(m.loop);
    return st;
}

void em__master_stop(em__master *m)
{
    em__loop_stop(m->loop);
}
