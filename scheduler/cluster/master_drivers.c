/* The master's submitted drivers (ember submit, jobs, logs, kill;
 * master_int.h): their files, kept in memory for workers to fetch by hash
 * until the submission ends; their state; and the last bytes of their
 * output, sent to the clients that follow it. A submission waits for a
 * live worker, runs on the one with the fewest running drivers, and ends
 * when its worker reports DRIVER_EXITED or is lost. The last
 * EM__MASTER_MAX_ENDED ended ones are remembered. Submitted drivers:
 * docs/pool.md ("Submitted jobs"); messages: proto.h, docs/protocol.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "master_int.h"
#include "proto.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "scheduler/net/net.h"

/* States of a submitted driver; the names are sub_state_names'. */
enum { SUB_SUBMITTED, SUB_RUNNING, SUB_FINISHED, SUB_FAILED, SUB_KILLED };

static const char *const sub_state_names[] = {"submitted", "running",
                                              "finished", "failed", "killed"};

/* A submitted file (a driver's executable, the `ember` binary, a Lua
 * script), kept for workers to fetch by hash. */
struct em__mprog {
    char hash[65];  /* em__bytes_hash of data */
    uint8_t *data;
    size_t len;
    int refs;       /* submissions not yet ended that use it */
};

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
struct em__msub {
    char id[64];           /* "driver-20240102030405-0001" */
    char name[128];
    int state;             /* SUB_* */
    char worker[128];      /* where it runs or ran; "" before */
    int64_t submitted_s;   /* Unix time */
    int64_t started_s;     /* when it was launched; 0 before */
    int exit_code;         /* when SUB_FINISHED */
    char message[256];     /* "exit 3", "worker w1 lost", ... */
    em__mprog *exe;        /* NULL once ended */
    em__mprog *script;     /* NULL: a C driver (or ended) */
    char exe_name[128];    /* its argv[0] */
    char script_name[128]; /* the script's file name */
    char *args;            /* nargs NUL-terminated strings in a row */
    size_t args_bytes;
    uint32_t nargs;
    mlogbuf log;
    em__conn **waiters;    /* clients following it or waiting for a kill */
    size_t nwaiters, cwaiters;
    bool is_kill_asked;    /* ember kill asked: its end is a kill */
};

/* ---- files, logs, states ---- */

static em__msub *find_sub(em__master *m, const char *id)
{
    for (size_t i = 0; i < m->nsubs; i++)
        if (strcmp(m->subs[i]->id, id) == 0)
            return m->subs[i];
    return NULL;
}

static em__mprog *find_prog(em__master *m, const char *hash)
{
    for (size_t i = 0; i < m->nprogs; i++)
        if (strcmp(m->progs[i]->hash, hash) == 0)
            return m->progs[i];
    return NULL;
}

/* The kept file with data's content (added when new), with one more
 * reference; NULL when out of memory. */
static em__mprog *prog_get(em__master *m, const void *data, size_t len)
{
    char hash[65];
    em__mprog *p;

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
static void prog_put(em__master *m, em__mprog *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    em__master_remove_ptr((void **)m->progs, &m->nprogs, p);
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
        em__master_send(m, c, EM__MSG_LOG, &msg);
        off += k;
    } while (off < l->len);
}

/* LOG_END for s: its state, exit code and message. */
static void send_log_end(em__master *m, em__conn *c, const em__msub *s)
{
    em__msg msg;

    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(s->id));
    em__msg_put(&msg, "state", em_cstr(sub_state_names[s->state]));
    if (s->state == SUB_FINISHED)
        em__msg_put(&msg, "exit", em_int(s->exit_code));
    em__msg_put(&msg, "message", em_cstr(s->message));
    em__master_send(m, c, EM__MSG_LOG_END, &msg);
}

/* Stops c from waiting on s (its connection closed). */
void em__master_drop_waiter(em__msub *s, em__conn *c)
{
    em__master_remove_ptr((void **)s->waiters, &s->nwaiters, c);
}

static void free_sub(em__master *m, em__msub *s)
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
        em__msub *s = m->subs[i];

        if (s->state < SUB_FINISHED) {
            i++;
            continue;
        }
        em__master_remove_ptr((void **)m->subs, &m->nsubs, s);
        free_sub(m, s);
        ended--;
    }
}

/* s ended (state, a message and for SUB_FINISHED the exit code): its
 * files are released and every client waiting on it gets LOG_END. */
static void sub_end(em__master *m, em__msub *s, int state, int exit_code,
                    const char *message)
{
    s->state = state;
    s->exit_code = exit_code;
    snprintf(s->message, sizeof(s->message), "%s", message);
    prog_put(m, s->exe);
    prog_put(m, s->script);
    s->exe = s->script = NULL;
    em__master_log(m, "driver %s (%s) %s: %s", s->id, s->name,
                   sub_state_names[state], message);
    for (size_t i = 0; i < s->nwaiters; i++) {
        em__mpeer *p = em__conn_get_data(s->waiters[i]);

        send_log_end(m, s->waiters[i], s);
        if (p != NULL)
            p->obj = NULL;
    }
    s->nwaiters = 0;
}

/* Running drivers on w. */
static size_t drivers_on(em__master *m, const em__mworker *w)
{
    size_t n = 0;

    for (size_t i = 0; i < m->nsubs; i++)
        n += m->subs[i]->state == SUB_RUNNING &&
             strcmp(m->subs[i]->worker, w->id) == 0;
    return n;
}

/* DRIVER_LAUNCH of s on w: s is running there from now. */
static void sub_launch(em__master *m, em__msub *s, em__mworker *w)
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
    em__master_log(m, "launching driver %s (%s) on worker %s", s->id, s->name,
                   w->id);
    em__master_send(m, w->conn, EM__MSG_DRIVER_LAUNCH, &msg);
}

/* Launches every waiting submission, each on the live worker with the
 * fewest running drivers. */
void em__master_launch_waiting(em__master *m)
{
    for (size_t i = 0; i < m->nsubs && m->nworkers > 0; i++) {
        em__msub *s = m->subs[i];
        em__mworker *best = NULL;
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
void em__master_fail_drivers_of(em__master *m, const em__mworker *w)
{
    char why[200];

    snprintf(why, sizeof(why), "worker %s lost", w->id);
    for (size_t i = 0; i < m->nsubs; i++) {
        em__msub *s = m->subs[i];

        if (s->state == SUB_RUNNING && strcmp(s->worker, w->id) == 0)
            sub_end(m, s, s->is_kill_asked ? SUB_KILLED : SUB_FAILED, 0, why);
    }
}

/* WORKER_HELLO's drivers: one the master knows as not running there
 * (ended, or declared failed when the worker was lost) is killed. One it
 * does not know (a restarted master) runs on. */
void em__master_check_worker_drivers(em__master *m, em__mworker *w, em_val body)
{
    em_val list = em__msg_get(body, "drivers");

    if (list.type != EM_ARRAY)
        return;
    for (uint32_t i = 0; i < list.len; i++) {
        em_val v = list.u.arr[i];
        char id[128];
        em__msg msg;
        em__msub *s;

        if (v.type != EM_STR || v.len >= sizeof(id))
            continue;
        memcpy(id, v.u.s, v.len);
        id[v.len] = '\0';
        s = find_sub(m, id);
        if (s == NULL ||
            (s->state == SUB_RUNNING && strcmp(s->worker, w->id) == 0))
            continue;
        em__master_log(m, "driver %s on worker %s is %s here: killing it", id,
                       w->id, sub_state_names[s->state]);
        em__msg_init(&msg);
        em__msg_put(&msg, "id", em_cstr(id));
        em__master_send(m, w->conn, EM__MSG_DRIVER_KILL, &msg);
    }
}

/* ---- requests of clients ---- */

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
    em__master_send(m, c, EM__MSG_ERROR, &msg);
}

/* Copies SUBMIT's args into s (NUL-separated). */
static em_status read_args(em__msub *s, em_val args)
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
static em_status parse_submit(em__master *m, em_val body, em__msub *s)
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
    em__msub *s = em__mem_calloc(1, sizeof(*s));
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
    em__master_log(m, "driver %s (%s) submitted from %s: %zu bytes%s", s->id,
                   s->name, em__conn_peer(c), s->exe->len,
                   s->script ? " and a Lua script" : "");
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(s->id));
    em__master_send(m, c, EM__MSG_SUBMITTED, &msg);
    em__master_launch_waiting(m);
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
        const em__msub *s = m->subs[i];

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
    em__master_send(m, c, EM__MSG_JOB_LIST, &msg);
    return EM_OK;
}

/* Makes c wait on s: for its LOG frames when following, and its end. */
static em_status add_waiter(em__msub *s, em__conn *c, em__mpeer *p, bool follow)
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
static em__msub *request_sub(em__master *m, em__conn *c, int type, em_val body)
{
    char id[128];
    em__msub *s;

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
static em_status on_logs(em__master *m, em__conn *c, em__mpeer *p, em_val body)
{
    em_val follow = em__msg_get(body, "follow");
    em__msub *s = request_sub(m, c, EM__MSG_LOGS, body);

    if (s == NULL)
        return EM_OK;
    log_send(m, c, &s->log);
    if (follow.type == EM_BOOL && follow.u.b && s->state < SUB_FINISHED)
        return add_waiter(s, c, p, true);
    send_log_end(m, c, s);
    return EM_OK;
}

/* KILL {id} -> LOG_END once the driver has ended; ERROR when it had. */
static em_status on_kill(em__master *m, em__conn *c, em__mpeer *p, em_val body)
{
    em__msub *s = request_sub(m, c, EM__MSG_KILL, body);
    em__mworker *w;
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
    em__master_log(m, "driver %s (%s): kill asked by %s", s->id, s->name,
                   em__conn_peer(c));
    s->is_kill_asked = true;
    if (s->state == SUB_SUBMITTED ||
        (w = em__master_find_worker(m, s->worker)) == NULL) {
        sub_end(m, s, SUB_KILLED, 0, "killed before it started");
        send_log_end(m, c, s);
        return EM_OK;
    }
    em__msg_init(&msg);
    em__msg_put(&msg, "id", em_cstr(s->id));
    em__master_send(m, w->conn, EM__MSG_DRIVER_KILL, &msg);
    return add_waiter(s, c, p, false);
}

/* GET_BINARY {hash} from a worker -> BINARY {data} or ERROR. */
static em_status on_get_binary(em__master *m, em__conn *c, em_val body)
{
    char hash[65];
    em__msg msg;
    em__mprog *p;
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
    em__master_send(m, c, EM__MSG_BINARY, &msg);
    return EM_OK;
}

/* A request of ember submit, jobs, logs or kill, or a worker's fetch. */
em_status em__master_client_frame(em__master *m, em__conn *c, em__mpeer *p,
                                  int type, em_val body)
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

/* The frame types of em__master_client_frame. */
bool em__master_is_client_request(int type)
{
    return type == EM__MSG_SUBMIT || type == EM__MSG_JOBS ||
           type == EM__MSG_LOGS || type == EM__MSG_KILL ||
           type == EM__MSG_GET_BINARY;
}

/* ---- what workers report ---- */

/* The running submission a worker's DRIVER_* frame names, or NULL when
 * it is not running on w (ended, or forgotten). */
static em_status worker_sub(em__master *m, em__mworker *w, int type,
                            em_val body, em__msub **out)
{
    char id[128];
    em_status st;
    em__msub *s;

    if ((st = em__msg_str(type, body, "id", id, sizeof(id))) != EM_OK)
        return st;
    s = find_sub(m, id);
    *out = s != NULL && s->state == SUB_RUNNING &&
                   strcmp(s->worker, w->id) == 0
               ? s : NULL;
    return EM_OK;
}

/* DRIVER_OUTPUT {id, data}: kept, and sent to the clients following. */
em_status em__master_driver_output(em__master *m, em__mworker *w, em_val body)
{
    em_val data = em__msg_get(body, "data");
    em_status st;
    em__msub *s;

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
        em__mpeer *p = em__conn_get_data(c);
        em__msg msg;

        if (p == NULL || !p->is_following)
            continue;
        if (em__conn_queued_bytes(c) > EM__MASTER_MAX_CLIENT_QUEUE) {
            em__conn_close(c, "the client reads the log too slowly");
            continue;
        }
        em__msg_init(&msg);
        em__msg_put(&msg, "data", data);
        em__master_send(m, c, EM__MSG_LOG, &msg);
    }
    return EM_OK;
}

/* DRIVER_EXITED {id, status, exit}: the submission ends. */
em_status em__master_driver_exited(em__master *m, em__mworker *w, em_val body)
{
    char status[256];
    em_val code = em__msg_get(body, "exit");
    em_status st;
    em__msub *s;

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

/* The log kept per driver: $EMBER_DRIVER_LOG_BYTES (at least 1024), else
 * EM__MASTER_LOG_BYTES. */
size_t em__master_driver_log_bytes(void)
{
    const char *s = getenv("EMBER_DRIVER_LOG_BYTES");
    long long v = s ? atoll(s) : 0;

    return v >= 1024 ? (size_t)v : EM__MASTER_LOG_BYTES;
}

/* Closes the clients waiting on drivers and frees every submission. */
void em__master_close_subs(em__master *m)
{
    for (size_t i = 0; i < m->nsubs; i++) {
        em__msub *s = m->subs[i];
        for (size_t k = 0; k < s->nwaiters; k++)
            em__master_detach_and_close(s->waiters[k], "master shutting down");
        s->nwaiters = 0;
        free_sub(m, s);
    }
    m->nsubs = 0;
}
