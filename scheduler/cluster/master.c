/* The master daemon (master.h): a registry of workers kept alive by
 * heartbeats, a registry of applications kept alive by their driver's
 * connection, and the launches that give every application one executor
 * on every worker. Submitted drivers (ember submit) are
 * master_drivers.c's; this file tells them apart from workers and
 * applications by the first frame of a connection. Runs on one thread (an
 * em__loop run in place), so no state here needs a lock. Messages:
 * proto.h, docs/protocol.md.
 */
#include "master.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "master_int.h"
#include "proto.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "scheduler/net/net.h"

/* An application that has executors on a worker (or had: after the
 * replacements ran out). */
struct em__wapp {
    char app[128];     /* application id */
    int64_t max_exec;  /* the highest executor id launched there */
    int replacements;  /* executors launched there to replace exited ones */
};

/* A live application. */
struct em__mapp {
    char id[128];          /* "app-20240102030405-0001" or the driver's */
    char name[128];        /* for logs */
    char exe_hash[65];     /* the driver's executable */
    char driver_host[256]; /* where executors connect */
    int driver_port;
    int64_t memory;        /* per executor; 0: the worker's */
    int64_t next_exec;     /* the next executor id */
    em__conn *conn;        /* the driver's connection */
};

/* ---- log ---- */

void em__master_log(em__master *m, const char *fmt, ...)
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
void em__master_send(em__master *m, em__conn *c, int type, em__msg *msg)
{
    em_val body;

    if (em__msg_done(msg, m->arena, &body) != EM_OK ||
        em__conn_send(c, type, body) != EM_OK)
        em__conn_close(c, em_last_error());
    em__arena_reset(m->arena);
}

/* ---- registries ---- */

static em__mapp *find_app(em__master *m, const char *id)
{
    for (size_t i = 0; i < m->napps; i++)
        if (strcmp(m->apps[i]->id, id) == 0)
            return m->apps[i];
    return NULL;
}

em__mworker *em__master_find_worker(em__master *m, const char *id)
{
    for (size_t i = 0; i < m->nworkers; i++)
        if (strcmp(m->workers[i]->id, id) == 0)
            return m->workers[i];
    return NULL;
}

static em__wapp *find_wapp(em__mworker *w, const char *app)
{
    for (size_t i = 0; i < w->napps; i++)
        if (strcmp(w->apps[i].app, app) == 0)
            return &w->apps[i];
    return NULL;
}

/* The entry of app on w, added when missing; NULL when out of memory. */
static em__wapp *add_wapp(em__mworker *w, const char *app)
{
    em__wapp *e = find_wapp(w, app);

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

static void drop_wapp(em__mworker *w, const char *app)
{
    em__wapp *e = find_wapp(w, app);

    if (e != NULL)
        *e = w->apps[--w->napps];
}

/* Removes p from arr (of *n pointers), keeping the order. */
void em__master_remove_ptr(void **arr, size_t *n, const void *p)
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
static void free_worker(em__master *m, em__mworker *w)
{
    em__master_remove_ptr((void **)m->workers, &m->nworkers, w);
    em__timer_cancel(w->deadline);
    em__mem_free(w->apps, w->capps * sizeof(*w->apps));
    em__mem_free(w, sizeof(*w));
}

/* Detaches c from the object it stood for, so its close changes nothing,
 * and closes it. */
void em__master_detach_and_close(em__conn *c, const char *reason)
{
    em__mpeer *p = em__conn_get_data(c);

    if (p != NULL)
        p->obj = NULL;
    em__conn_close(c, reason);
}

/* ---- launches ---- */

/* Asks w to start an executor of a. */
static void launch(em__master *m, em__mapp *a, em__mworker *w)
{
    em__wapp *e = add_wapp(w, a->id);
    int64_t exec = a->next_exec++;
    em__msg msg;

    if (e == NULL) {
        em__master_log(m, "cannot launch on worker %s: out of memory", w->id);
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
    em__master_log(m, "launching executor %lld of %s on worker %s",
                   (long long)exec, a->id, w->id);
    em__master_send(m, w->conn, EM__MSG_LAUNCH, &msg);
}

/* ---- losing workers, ending applications ---- */

/* Tells every application's driver that w (and its block server) is gone,
 * then forgets w. */
static void worker_lost(em__master *m, em__mworker *w, const char *why)
{
    char block[300];

    em__master_log(m, "worker %s lost: %s", w->id, why);
    snprintf(block, sizeof(block), "%s:%d", w->host, w->block_port);
    for (size_t i = 0; i < m->napps; i++) {
        em__msg msg;

        em__msg_init(&msg);
        em__msg_put(&msg, "worker", em_cstr(w->id));
        em__msg_put(&msg, "block", em_cstr(block));
        em__master_send(m, m->apps[i]->conn, EM__MSG_WORKER_LOST, &msg);
    }
    em__master_fail_drivers_of(m, w);
    free_worker(m, w);
}

/* A worker's heartbeat deadline passed. */
static void on_deadline(void *arg)
{
    em__mworker *w = arg;
    em__master *m = w->m;
    char why[64];

    snprintf(why, sizeof(why), "no heartbeat for %g s",
             (double)m->timeout_ms / 1000.0);
    em__master_detach_and_close(w->conn, "no heartbeat");
    worker_lost(m, w, why);
}

/* The driver of a is gone: its executors end everywhere. */
static void app_end(em__master *m, em__mapp *a, const char *why)
{
    em__master_log(m, "application %s (%s) ended: %s", a->id, a->name, why);
    for (size_t i = 0; i < m->nworkers; i++) {
        em__mworker *w = m->workers[i];
        em__msg msg;

        em__msg_init(&msg);
        em__msg_put(&msg, "app", em_cstr(a->id));
        em__master_send(m, w->conn, EM__MSG_APP_END, &msg);
        drop_wapp(w, a->id);
    }
    em__master_remove_ptr((void **)m->apps, &m->napps, a);
    em__mem_free(a, sizeof(*a));
}

/* ---- workers ---- */

/* Reads WORKER_HELLO's apps (and their highest executor ids, "execs")
 * into w. */
static em_status read_worker_apps(em__mworker *w, em_val body)
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
        em__wapp *e;

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
static em_status parse_worker(em_val body, em__mworker *w)
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
static void replace_worker(em__master *m, em__mworker *old,
                           const em__mworker *w)
{
    if (strcmp(old->host, w->host) != 0 || old->block_port != w->block_port) {
        em__master_detach_and_close(old->conn,
                                    "replaced by a new worker with its id");
        worker_lost(m, old, "replaced by a new process with the same id");
        return;
    }
    em__master_detach_and_close(old->conn, "replaced by a new connection");
    free_worker(m, old);
}

static em_status worker_hello(em__master *m, em__conn *c, em__mpeer *p,
                              em_val body)
{
    em__mworker *w = em__mem_calloc(1, sizeof(*w)), *old;
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
    if ((old = em__master_find_worker(m, w->id)) != NULL)
        replace_worker(m, old, w);
    m->workers[m->nworkers++] = w;
    p->kind = EM__PEER_WORKER;
    p->obj = w;
    em__master_log(m, "worker %s (%s, %lld cores) registered%s", w->id, w->host,
                   (long long)w->cores, old != NULL ? " again" : "");
    em__msg_init(&msg);
    em__msg_put(&msg, "heartbeat_ms", em_int(m->timeout_ms / 4));
    em__master_send(m, c, EM__MSG_WORKER_WELCOME, &msg);
    for (size_t i = 0; i < w->napps; i++) {
        em__mapp *a = find_app(m, w->apps[i].app);
        if (a != NULL && a->next_exec <= w->apps[i].max_exec)
            a->next_exec = w->apps[i].max_exec + 1;
    }
    for (size_t i = 0; i < m->napps; i++)
        if (find_wapp(w, m->apps[i]->id) == NULL)
            launch(m, m->apps[i], w);
    em__master_check_worker_drivers(m, w, body);
    em__master_launch_waiting(m);
    return EM_OK;

out_free:
    em__mem_free(w->apps, w->capps * sizeof(*w->apps));
    em__mem_free(w, sizeof(*w));
    return st;
}

/* EXEC_EXITED: the driver learns of it; a replacement is launched while
 * the application lives, up to EM__MASTER_MAX_REPLACEMENTS. */
static em_status exec_exited(em__master *m, em__mworker *w, em_val body)
{
    char app[128], status[128];
    int64_t exec;
    em_status st;
    em__mapp *a;
    em__wapp *e;

    if ((st = em__msg_str(EM__MSG_EXEC_EXITED, body, "app", app,
                          sizeof(app))) != EM_OK ||
        (st = em__msg_int(EM__MSG_EXEC_EXITED, body, "exec", &exec)) !=
            EM_OK ||
        (st = em__msg_str(EM__MSG_EXEC_EXITED, body, "status", status,
                          sizeof(status))) != EM_OK)
        return st;
    em__master_log(m, "executor %lld of %s on worker %s exited: %s",
                   (long long)exec, app, w->id, status);
    if ((a = find_app(m, app)) == NULL)
        return EM_OK;
    if (em__conn_send(a->conn, EM__MSG_EXEC_EXITED, body) != EM_OK)
        em__conn_close(a->conn, em_last_error());
    e = find_wapp(w, app);
    if (e != NULL && e->replacements >= EM__MASTER_MAX_REPLACEMENTS) {
        em__master_log(m,
                       "no more executors of %s on worker %s: %d replacements "
                       "exited",
                       app, w->id, e->replacements);
        return EM_OK;
    }
    if (e != NULL)
        e->replacements++;
    launch(m, a, w);
    return EM_OK;
}

/* ---- applications ---- */

/* Parses APP_HELLO into a. */
static em_status parse_app(em_val body, em__mapp *a)
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

static em_status app_hello(em__master *m, em__conn *c, em__mpeer *p,
                           em_val body)
{
    em__mapp *a = em__mem_calloc(1, sizeof(*a)), *old;
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
        em__master_detach_and_close(old->conn,
                                    "replaced by a new driver connection");
        em__master_remove_ptr((void **)m->apps, &m->napps, old);
        em__mem_free(old, sizeof(*old));
    }
    a->conn = c;
    a->next_exec = 1;
    for (size_t i = 0; i < m->nworkers; i++) {
        em__wapp *e = find_wapp(m->workers[i], a->id);
        if (e != NULL && a->next_exec <= e->max_exec)
            a->next_exec = e->max_exec + 1;
    }
    m->apps[m->napps++] = a;
    p->kind = EM__PEER_APP;
    p->obj = a;
    em__master_log(m, "application %s (%s) registered%s", a->id, a->name,
                   is_again ? " again" : "");
    em__msg_init(&msg);
    em__msg_put(&msg, "app", em_cstr(a->id));
    /* the executors it will get now: the driver waits for them */
    em__msg_put(&msg, "workers", em_int((int64_t)m->nworkers));
    em__master_send(m, c, EM__MSG_APP_WELCOME, &msg);
    for (size_t i = 0; i < m->nworkers; i++)
        if (find_wapp(m->workers[i], a->id) == NULL)
            launch(m, a, m->workers[i]);
    return EM_OK;
}

/* ---- connections ---- */

static void on_open(em__conn *c, void *ud)
{
    em__mpeer *p = em__mem_calloc(1, sizeof(*p));

    if (p == NULL) {
        em__conn_close(c, "out of memory");
        return;
    }
    em__conn_set_data(c, p);
}

/* The first frame: who the peer is. */
static em_status first_frame(em__master *m, em__conn *c, em__mpeer *p, int type,
                             em_val body)
{
    if (type == EM__MSG_WORKER_HELLO)
        return worker_hello(m, c, p, body);
    if (type == EM__MSG_APP_HELLO)
        return app_hello(m, c, p, body);
    if (em__master_is_client_request(type)) {
        p->kind = EM__PEER_CLIENT;
        return em__master_client_frame(m, c, p, type, body);
    }
    return em__err(EM_EPROTO, "first frame is %s (type %d), expected "
                   "WORKER_HELLO, APP_HELLO or a client's request",
                   em__msg_name(type), type);
}

static em_status on_frame(em__conn *c, int type, em_val body, void *ud)
{
    em__master *m = ud;
    em__mpeer *p = em__conn_get_data(c);

    if (p == NULL)
        return em__err(EM_ENOMEM, "out of memory");
    if (p->kind == EM__PEER_NEW)
        return first_frame(m, c, p, type, body);
    if (p->kind == EM__PEER_CLIENT)
        return em__master_client_frame(m, c, p, type, body);
    if (p->obj == NULL)
        return EM_OK; /* detached: closing */
    if (p->kind == EM__PEER_WORKER && type == EM__MSG_WORKER_HEARTBEAT) {
        em__timer_again(((em__mworker *)p->obj)->deadline, m->timeout_ms);
        return EM_OK;
    }
    if (p->kind == EM__PEER_WORKER && type == EM__MSG_EXEC_EXITED)
        return exec_exited(m, p->obj, body);
    if (p->kind == EM__PEER_WORKER && type == EM__MSG_DRIVER_OUTPUT)
        return em__master_driver_output(m, p->obj, body);
    if (p->kind == EM__PEER_WORKER && type == EM__MSG_DRIVER_EXITED)
        return em__master_driver_exited(m, p->obj, body);
    return em__err(EM_EPROTO, "unexpected %s (type %d) from %s",
                   em__msg_name(type), type,
                   p->kind == EM__PEER_WORKER ? "a worker" : "a driver");
}

static void on_close(em__conn *c, const char *reason, void *ud)
{
    em__master *m = ud;
    em__mpeer *p = em__conn_get_data(c);
    char why[300];

    if (p == NULL)
        return;
    if (p->obj != NULL && !m->is_stopping) {
        snprintf(why, sizeof(why), "connection closed (%s)", reason);
        if (p->kind == EM__PEER_WORKER)
            worker_lost(m, p->obj, why);
        else if (p->kind == EM__PEER_APP)
            app_end(m, p->obj, why);
        else if (p->kind == EM__PEER_CLIENT)
            em__master_drop_waiter(p->obj, c);
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
        em__mworker *w = m->workers[0];
        em__master_detach_and_close(w->conn, "master shutting down");
        free_worker(m, w);
    }
    while (m->napps > 0) {
        em__mapp *a = m->apps[0];
        em__master_detach_and_close(a->conn, "master shutting down");
        em__master_remove_ptr((void **)m->apps, &m->napps, a);
        em__mem_free(a, sizeof(*a));
    }
    em__master_close_subs(m);
}

em_status em__master_run(const em__master_opts *o)
{
    em__master m = {0};
    em__sigwatch sw;
    em_status st;

    m.o = o;
    m.timeout_ms = em__heartbeat_timeout_ms();
    m.log_bytes = em__master_driver_log_bytes();
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
            em__master_log(&m, "%s received, shutting down",
                           atomic_load(&sw.signal) == SIGINT ? "SIGINT"
                                                             : "SIGTERM");
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

