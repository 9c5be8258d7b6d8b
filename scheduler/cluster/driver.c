/* The driver's side of the worker pool (see driver.h). Everything about
 * executors, the master and the running stage lives on the driver's loop
 * thread; the thread that runs an action encodes its stage, hands it to
 * the loop and waits for it to finish.
 */
#include "driver.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "scheduler/barrier.h"
#include "scheduler/ctx.h"
#include "scheduler/exec.h"
#include "scheduler/lineage.h"
#include "scheduler/peer.h"
#include "scheduler/net/client.h"
#include "scheduler/net/frame.h"
#include "scheduler/net/net.h"
#include "scheduler/shuffle.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"

extern const int em__executor_linked;

/* T_DRAIN: a task of a failed barrier round, still running: its result
 * only frees its core. */
enum { T_PENDING = 0, T_RUNNING, T_DONE, T_DRAIN };

/* How long a task waits for a core where its cached input lives before it
 * runs anywhere (Spark's spark.locality.wait). */
#define LOCALITY_WAIT_MS 3000

/* How long a barrier stage waits for a pool with as many cores as it has
 * tasks before it fails ($EMBER_BARRIER_WAIT_MS). */
#define BARRIER_WAIT_MS 30000

/* Where a cached block lives: in an executor's memory (exec >= 0), or as
 * a second copy kept by the worker whose block server is host (exec -1). */
typedef struct bloc {
    int rdd, part, exec;
    char host[300];
} bloc;

/* A worker whose block server serves a broadcast's bytes. */
typedef struct bholder {
    int id;
    char host[300];
    char path[4096];
    int64_t len, crc;
} bholder;

typedef struct dexec {
    em__conn *conn;
    int id;
    char worker[256];
    char block[300];       /* its worker's block server, host:port */
    char peer[300];        /* its peer endpoint (scheduler/peer.h), or "" */
    int cores, running;
    int64_t last_beat_ms;
    int *stages;           /* ids of the stages it was sent */
    size_t nstages, stages_cap;
    struct dexec *next;
} dexec;

typedef struct dtask {
    int part;
    int attempt;           /* of the running or next attempt */
    int failures;
    int state;
    dexec *on;
    int failed_on;         /* exec id of the last failure, or -1 */
    int64_t pending_ms;    /* when it last became pending */
} dtask;

typedef struct dstage dstage;

typedef struct stage_op {
    struct driver *d;
    dstage *s;
} stage_op;

struct dstage {
    int id;
    em__buf frame;         /* the STAGE frame */
    int n, done, running;
    int scan_from;         /* no task before it is pending */
    dtask *tasks;
    em__job_result *out;
    int shuffle_id;        /* a map stage's shuffle, or -1 */
    int *cached;           /* persisted RDDs its tasks read (narrowly) */
    int ncached;
    size_t cached_cap;
    bool is_finished;      /* set under the driver lock */
    em_status status;
    char message[1200];
    char first_cause[1024];
    int64_t idle_since_ms; /* no executor at all since */
    bool is_barrier;       /* every task at once (barrier.h) */
    int battempt;          /* a barrier stage's round: its attempt */
    int64_t short_since_ms; /* the pool has had too few cores since */
    struct bheld {         /* a barrier round's results, kept until every
                              task has one */
        em_arena *a;
        em_val result;
        char block[300];   /* the block server of its executor */
    } *held;
};

typedef struct driver {
    em_ctx *ctx;
    em__loop *loop;
    em__server *server;
    em__conn *master;
    em__timer *check;
    em__secret key;
    char master_host[256];
    int master_port;
    char host[256];        /* where executors reach us */
    int port;
    char app[128];
    bool has_app;
    char exe[PATH_MAX];
    char exe_hash[65];
    dexec *execs;
    dstage *cur;
    pthread_mutex_t lock;  /* cores, nexecs, has_app, cur->is_finished */
    pthread_cond_t cond;
    int nexecs, cores;
    char master_error[512];
    bool is_master_failed;
    int64_t hb_ms;
    bool is_stopping;      /* under lock: no reconnecting */
    bloc *blocs;           /* cached block locations (loop thread) */
    size_t nblocs, blocs_cap;
    unsigned rr;           /* rotates the choice of replica hosts */
    struct bholder *bholders; /* workers serving broadcasts (loop thread) */
    size_t nbholders, bholders_cap;
    unsigned brr;          /* rotates the choice of broadcast holders */
    int expected_execs;    /* executors the master is starting for us */
    struct {               /* em__peer_on_lost's callbacks, under lock */
        void (*fn)(void *arg, const char *addr);
        void *arg;
    } on_lost[8];
    int non_lost;
} driver;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t env_ms(const char *name, int64_t dflt)
{
    const char *s = getenv(name);

    return s && *s ? atoll(s) : dflt;
}

/* Sends a body built in a scratch arena. */
static void send_msg(em__conn *c, int type, em__msg *m)
{
    em_arena *a = em__arena_create(0);
    em_val body;

    if (a != NULL && em__msg_done(m, a, &body) == EM_OK)
        em__conn_send(c, type, body);
    em__arena_destroy(a);
}

static void send_error(em__conn *c, const char *msg)
{
    em__msg m;

    em__msg_init(&m);
    em__msg_put(&m, "message", em_cstr(msg));
    send_msg(c, EM__MSG_ERROR, &m);
}

/* ---- the running stage (loop thread) ---- */

static void finish(driver *d, em_status st, const char *msg)
{
    dstage *s = d->cur;

    pthread_mutex_lock(&d->lock);
    s->status = st;
    if (msg != NULL)
        snprintf(s->message, sizeof(s->message), "%s", msg);
    s->is_finished = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static bool was_sent(const dexec *e, int stage)
{
    for (size_t i = 0; i < e->nstages; i++)
        if (e->stages[i] == stage)
            return true;
    return false;
}

static em_status send_stage(driver *d, dexec *e, dstage *s)
{
    em__buf copy = EM__BUF_INIT;
    void *p = e->stages;

    if (was_sent(e, s->id))
        return EM_OK;
    if (em__mem_grow(&p, &e->stages_cap, e->nstages + 1, sizeof(int)) != 0 ||
        em__buf_append(&copy, s->frame.data, s->frame.len) != EM_OK)
        return EM_ENOMEM;
    e->stages = p;
    e->stages[e->nstages++] = s->id;
    (void)d;
    return em__conn_send_encoded(e->conn, &copy);
}

static bool reads_cached(const dstage *s, int rdd)
{
    for (int i = 0; i < s->ncached; i++)
        if (s->cached[i] == rdd)
            return true;
    return false;
}

static bool holds(const dexec *e, const bloc *b)
{
    return b->exec >= 0 ? e->id == b->exec : strcmp(e->block, b->host) == 0;
}

/* An executor with a free core where task t's cached input lives;
 * *has_pref tells whether such an executor exists at all. */
static dexec *local_exec(driver *d, const dstage *s, const dtask *t,
                         bool *has_pref)
{
    dexec *pick = NULL;

    *has_pref = false;
    for (size_t i = 0; s->ncached > 0 && i < d->nblocs; i++) {
        const bloc *b = &d->blocs[i];
        if (b->part != t->part || !reads_cached(s, b->rdd))
            continue;
        for (dexec *e = d->execs; e != NULL; e = e->next) {
            if (!holds(e, b))
                continue;
            *has_pref = true;
            if (pick == NULL && e->running < e->cores)
                pick = e;
        }
    }
    return pick;
}

/* Another worker's block server for second copies of _2 blocks, or NULL. */
static const char *replica_for(driver *d, const dexec *pick)
{
    int n = 0, k;
    dexec *e;

    for (e = d->execs; e != NULL; e = e->next)
        n += strcmp(e->block, pick->block) != 0;
    if (n == 0)
        return NULL;
    k = (int)(d->rr++ % (unsigned)n);
    for (e = d->execs; e != NULL; e = e->next)
        if (strcmp(e->block, pick->block) != 0 && k-- == 0)
            return e->block;
    return NULL;
}

static bool has_free_core(const driver *d)
{
    for (const dexec *e = d->execs; e != NULL; e = e->next)
        if (e->running < e->cores)
            return true;
    return false;
}

static void schedule_barrier(driver *d);

/* Gives pending tasks of the running stage to free cores. Tasks before
 * s->scan_from are not pending, so a stage of n tasks costs O(n) in all,
 * not O(n) per call. */
static void schedule(driver *d)
{
    dstage *s = d->cur;
    int64_t t_now = now_ms();
    int first_left = -1;

    if (s == NULL || s->is_finished)
        return;
    if (s->is_barrier) {
        schedule_barrier(d);
        return;
    }
    for (int i = s->scan_from; i < s->n; i++) {
        dtask *t = &s->tasks[i];
        dexec *pick = NULL;
        const char *replica;
        bool has_pref;
        em__msg m;
        if (t->state != T_PENDING)
            continue;
        if (!has_free_core(d)) {
            if (first_left < 0)
                first_left = i;
            break;
        }
        pick = local_exec(d, s, t, &has_pref);
        if (pick == NULL && has_pref &&
            t_now - t->pending_ms < LOCALITY_WAIT_MS) {
            if (first_left < 0)
                first_left = i;
            continue; /* wait a little for a core near its input */
        }
        /* a free core, preferring an executor it has not failed on */
        for (dexec *e = d->execs; pick == NULL && e != NULL; e = e->next) {
            if (e->running >= e->cores)
                continue;
            if (pick == NULL || (pick->id == t->failed_on &&
                                 e->id != t->failed_on))
                pick = e;
        }
        for (dexec *e = d->execs; pick != NULL && e != NULL; e = e->next)
            if (pick->id == t->failed_on && e->id != t->failed_on &&
                e->running < e->cores && !has_pref)
                pick = e;
        if (pick == NULL) {
            if (first_left < 0)
                first_left = i;
            continue;
        }
        if (send_stage(d, pick, s) != EM_OK) {
            first_left = first_left < 0 ? i : first_left;
            break;
        }
        em__msg_init(&m);
        em__msg_put(&m, "stage", em_int(s->id));
        em__msg_put(&m, "index", em_int(i));
        em__msg_put(&m, "part", em_int(t->part));
        em__msg_put(&m, "attempt", em_int(t->attempt));
        if ((replica = replica_for(d, pick)) != NULL)
            em__msg_put(&m, "replica", em_cstr(replica));
        send_msg(pick->conn, EM__MSG_TASK, &m);
        t->state = T_RUNNING;
        t->on = pick;
        pick->running++;
        __atomic_add_fetch(&s->running, 1, __ATOMIC_RELAXED);
    }
    s->scan_from = first_left >= 0 ? first_left : s->n;
}

static void barrier_failed(driver *d, em_status st, const char *why);

/* A task attempt failed (not a fetch failure): retry or give up. */
static void task_failed(driver *d, dtask *t, int index, em_status st,
                        const char *why)
{
    dstage *s = d->cur;
    char msg[1200];

    if (s->is_barrier) {
        t->state = T_PENDING;
        t->on = NULL;
        barrier_failed(d, st, why);
        return;
    }
    if (s->first_cause[0] == '\0')
        snprintf(s->first_cause, sizeof(s->first_cause), "%s", why);
    t->failed_on = t->on ? t->on->id : -1;
    t->on = NULL;
    t->state = T_PENDING;
    t->pending_ms = now_ms();
    if (index < s->scan_from)
        s->scan_from = index;
    t->failures++;
    t->attempt++;
    if (t->failures < d->ctx->max_attempts && st != EM_ENOMEM)
        return;
    snprintf(msg, sizeof(msg), "job aborted: task %d of stage %d "
             "(partition %d) failed %d times; first cause: %s", index, s->id,
             t->part, t->failures, s->first_cause);
    finish(d, st, msg);
}

static void forget_host(driver *d, const char *block)
{
    for (em__shuffle *s = d->ctx->shuffles; s != NULL; s = s->next)
        em__shuffle_forget_host(s, block);
}

static void bloc_add(driver *d, int rdd, int part, int exec,
                     const char *host)
{
    void *p = d->blocs;
    bloc *b;

    for (size_t i = 0; i < d->nblocs; i++) {
        b = &d->blocs[i];
        if (b->rdd == rdd && b->part == part && b->exec == exec &&
            strcmp(b->host, host) == 0)
            return;
    }
    pthread_mutex_lock(&d->lock);
    if (em__mem_grow(&p, &d->blocs_cap, d->nblocs + 1, sizeof(bloc)) != 0) {
        pthread_mutex_unlock(&d->lock);
        return; /* a hint only */
    }
    d->blocs = p;
    b = &d->blocs[d->nblocs++];
    b->rdd = rdd;
    b->part = part;
    b->exec = exec;
    snprintf(b->host, sizeof(b->host), "%s", host);
    pthread_mutex_unlock(&d->lock);
}

/* Forgets the blocks of an executor (exec >= 0), the copies a worker
 * kept (exec -1, host), or every block of an RDD (host NULL, exec -1,
 * rdd >= 0). Locations are written on the loop thread under the lock. */
static void bloc_drop_where(driver *d, int exec, const char *host, int rdd)
{
    size_t k = 0;

    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nblocs; i++) {
        bloc *b = &d->blocs[i];
        bool is_gone = rdd >= 0     ? b->rdd == rdd
                       : exec >= 0  ? b->exec == exec
                                    : b->exec < 0 && strcmp(b->host, host) == 0;
        if (!is_gone)
            d->blocs[k++] = *b;
    }
    d->nblocs = k;
    pthread_mutex_unlock(&d->lock);
}

static void bloc_drop(driver *d, int exec, const char *host)
{
    bloc_drop_where(d, exec, host, -1);
}

static void note_blocks(driver *d, dexec *e, em_val blocks)
{
    for (uint32_t i = 0; blocks.type == EM_ARRAY && i < blocks.len; i++) {
        const em_val *b = blocks.u.arr[i].u.arr;
        if (blocks.u.arr[i].type != EM_ARRAY || blocks.u.arr[i].len != 3 ||
            b[0].type != EM_INT || b[1].type != EM_INT)
            continue;
        bloc_add(d, (int)b[0].u.i, (int)b[1].u.i, e->id, e->block);
        if (b[2].type == EM_STR && b[2].len < 300) {
            char host[300];
            memcpy(host, b[2].u.s, b[2].len);
            host[b[2].len] = '\0';
            bloc_add(d, (int)b[0].u.i, (int)b[1].u.i, -1, host);
        }
    }
}

/* Takes a task's successful result: its accumulator updates merged, its
 * value kept as the job's, its map output registered (block: the block
 * server of the executor that ran it). *fs and *fm name a lost map
 * output on EM_EFETCH. */
static em_status keep_result(driver *d, dstage *s, int index,
                             const char *block, em_val result, int *fs,
                             int *fm)
{
    em_val value;
    em_arena *a;
    em_status st;

    if ((st = em__exec_result_apply(d->ctx, result, &value, fs, fm)))
        return st;
    a = em__arena_create(0);
    if (a == NULL || em_val_copy(a, value, &s->out->vals[index]) != EM_OK)
        st = EM_ENOMEM;
    s->out->arenas[index] = a;
    if (st == EM_OK && s->shuffle_id >= 0) {
        em__shuffle *sh = em__shuffle_find(d->ctx, s->shuffle_id);
        st = sh ? em__shuffle_register(sh, s->tasks[index].part, block, value)
                : em__err(EM_ESTATE, "shuffle %d vanished", s->shuffle_id);
    }
    return st;
}

/* A task could not read map output fm of shuffle fs: forget it (or its
 * whole host) and fail the stage, so that the job recomputes it. */
static void fetch_failed(driver *d, int fs, int fm)
{
    char why[1024], host[300] = "";
    em__shuffle *sh = fs >= 0 ? em__shuffle_find(d->ctx, fs) : NULL;

    snprintf(why, sizeof(why), "%s", em_last_error());
    if (sh != NULL && em__shuffle_output_host(sh, fm, host, sizeof(host)))
        forget_host(d, host);
    else if (sh != NULL)
        em__shuffle_forget_output(sh, fm);
    finish(d, EM_EFETCH, why);
}

static void barrier_result(driver *d, dexec *e, int index, em_val body);

static void on_result(driver *d, dexec *e, em_val body)
{
    dstage *s = d->cur;
    int64_t sid, index, attempt;
    int fs, fm;
    dtask *t;
    em_status st;

    if (em__msg_int(EM__MSG_RESULT, body, "stage", &sid) ||
        em__msg_int(EM__MSG_RESULT, body, "index", &index) ||
        em__msg_int(EM__MSG_RESULT, body, "attempt", &attempt))
        return;
    if (s == NULL || s->is_finished || sid != s->id || index < 0 ||
        index >= s->n)
        return; /* late: the stage is over */
    t = &s->tasks[index];
    if ((t->state != T_RUNNING && t->state != T_DRAIN) || t->on != e ||
        t->attempt != attempt)
        return;
    e->running--;
    __atomic_sub_fetch(&s->running, 1, __ATOMIC_RELAXED);
    note_blocks(d, e, em__msg_get(body, "blocks"));
    if (em__msg_get(body, "run_us").type == EM_INT)
        __atomic_add_fetch(&d->ctx->task_us, em__msg_get(body, "run_us").u.i,
                           __ATOMIC_RELAXED);
    if (s->is_barrier) {
        barrier_result(d, e, (int)index, em__msg_get(body, "result"));
        return;
    }
    st = keep_result(d, s, (int)index, e->block, em__msg_get(body, "result"),
                     &fs, &fm);
    if (st == EM_OK) {
        t->state = T_DONE;
        t->on = NULL;
        if (__atomic_add_fetch(&s->done, 1, __ATOMIC_RELAXED) == s->n)
            finish(d, EM_OK, NULL);
    } else if (st == EM_EFETCH) {
        fetch_failed(d, fs, fm);
    } else {
        char why[1024];
        snprintf(why, sizeof(why), "%s", em_last_error());
        task_failed(d, t, (int)index, st, why);
    }
}

/* ---- barrier stages (loop thread) ---- */

/* The round of the barrier stage failed: its executors abort its
 * collectives, its running tasks drain, its results are dropped, and the
 * stage runs again as the next attempt -- or fails after the attempts. */
static void barrier_failed(driver *d, em_status st, const char *why)
{
    dstage *s = d->cur;
    char msg[1200];
    em__msg m;

    if (s->first_cause[0] == '\0')
        snprintf(s->first_cause, sizeof(s->first_cause), "%s", why);
    for (dexec *e = d->execs; e != NULL; e = e->next) {
        if (!was_sent(e, s->id))
            continue;
        em__msg_init(&m);
        em__msg_put(&m, "serial", em_int((int64_t)d->ctx->serial));
        em__msg_put(&m, "stage", em_int(s->id));
        em__msg_put(&m, "attempt", em_int(s->battempt));
        send_msg(e->conn, EM__MSG_BARRIER_ABORT, &m);
    }
    for (int i = 0; i < s->n; i++) {
        dtask *t = &s->tasks[i];
        if (t->state == T_RUNNING)
            t->state = T_DRAIN;
        else if (t->state == T_DONE)
            t->state = T_PENDING;
        em__arena_destroy(s->held[i].a);
        s->held[i].a = NULL;
    }
    __atomic_store_n(&s->done, 0, __ATOMIC_RELAXED);
    s->battempt++;
    if (s->battempt < d->ctx->max_attempts && st != EM_ENOMEM)
        return;
    snprintf(msg, sizeof(msg), "job aborted: barrier stage %d failed %d "
             "times (every task retried each time); first cause: %s", s->id,
             s->battempt, s->first_cause);
    finish(d, st, msg);
}

/* Every task of the round succeeded: their results become the job's. */
static void barrier_done(driver *d)
{
    dstage *s = d->cur;
    int fs, fm;
    em_status st = EM_OK;

    for (int i = 0; i < s->n && st == EM_OK; i++)
        st = keep_result(d, s, i, s->held[i].block, s->held[i].result, &fs,
                         &fm);
    if (st == EM_OK) {
        finish(d, EM_OK, NULL);
    } else if (st == EM_EFETCH) {
        fetch_failed(d, fs, fm);
    } else {
        char why[1024];
        snprintf(why, sizeof(why), "%s", em_last_error());
        barrier_failed(d, st, why);
    }
}

/* A result of a barrier task: kept until the round is complete, or the
 * round's failure. A task of a failed round only frees its core. */
static void barrier_result(driver *d, dexec *e, int index, em_val result)
{
    dstage *s = d->cur;
    dtask *t = &s->tasks[index];
    struct bheld *h = &s->held[index];
    bool is_ok = result.type == EM_ARRAY && result.len == 5 &&
                 result.u.arr[0].type == EM_INT && result.u.arr[0].u.i == 0;
    int fs, fm;
    char why[1024];
    em_status st;

    t->on = NULL;
    if (t->state == T_DRAIN) {
        t->state = T_PENDING;
        return;
    }
    if (is_ok) {
        h->a = em__arena_create(0);
        if (h->a != NULL && em_val_copy(h->a, result, &h->result) == EM_OK) {
            snprintf(h->block, sizeof(h->block), "%s", e->block);
            t->state = T_DONE;
            if (__atomic_add_fetch(&s->done, 1, __ATOMIC_RELAXED) == s->n)
                barrier_done(d);
            return;
        }
        st = em__oom();
    } else {
        st = em__exec_result_apply(d->ctx, result, &result, &fs, &fm);
    }
    snprintf(why, sizeof(why), "%s", em_last_error());
    t->state = T_PENDING;
    barrier_failed(d, st, why);
}

/* Fails the stage when the pool has had fewer cores than it has tasks
 * for longer than the wait. */
static void barrier_check_cores(driver *d, int cores)
{
    dstage *s = d->cur;
    int64_t t = now_ms();
    char msg[600];

    if (cores >= s->n) {
        s->short_since_ms = 0;
        return;
    }
    if (s->short_since_ms == 0)
        s->short_since_ms = t;
    if (t - s->short_since_ms < env_ms("EMBER_BARRIER_WAIT_MS",
                                       BARRIER_WAIT_MS))
        return;
    snprintf(msg, sizeof(msg), "barrier stage %d needs %d task slots at "
             "once, and the pool has had %d cores for %lld s: barrier mode "
             "cannot run a stage that needs more slots than the cluster has; "
             "start more workers or use fewer partitions (coalesce)", s->id,
             s->n, cores, (long long)(t - s->short_since_ms) / 1000);
    finish(d, EM_ESTATE, msg);
}

/* Picks an executor with a free core for each task, filling executors in
 * turn; false when the free cores are too few. */
static bool barrier_place(driver *d, dstage *s)
{
    dexec *e = d->execs;
    int used = 0;

    for (int i = 0; i < s->n; i++) {
        while (e != NULL && e->running + used >= e->cores) {
            e = e->next;
            used = 0;
        }
        if (e == NULL)
            return false;
        s->tasks[i].on = e;
        used++;
    }
    return true;
}

/* Starts the next round of the barrier stage when no task of the last
 * one still runs and the free cores can take every task at once. */
static void schedule_barrier(driver *d)
{
    dstage *s = d->cur;
    int cores = 0;
    em_arena *a;
    em_val *pair, *peers, barrier;
    em__msg m;

    for (int i = 0; i < s->n; i++)
        if (s->tasks[i].state != T_PENDING)
            return;
    for (dexec *e = d->execs; e != NULL; e = e->next)
        cores += e->cores;
    barrier_check_cores(d, cores);
    if (s->is_finished || !barrier_place(d, s))
        return;
    if ((a = em__arena_create(0)) == NULL ||
        (pair = em_array_make(a, 2, &barrier)) == NULL ||
        (peers = em_array_make(a, (size_t)s->n, &pair[1])) == NULL) {
        em__arena_destroy(a);
        return; /* the next check tries again */
    }
    pair[0] = em_int((int64_t)d->ctx->serial);
    for (int i = 0; i < s->n; i++) {
        dexec *e = s->tasks[i].on;
        if (e->peer[0] == '\0') {
            em__arena_destroy(a);
            finish(d, EM_ESTATE, "an executor has no peer endpoint: barrier "
                   "stages cannot run (see its log)");
            return;
        }
        peers[i] = em_cstr(e->peer);
    }
    for (int i = 0; i < s->n; i++) {
        dtask *t = &s->tasks[i];
        if (send_stage(d, t->on, s) != EM_OK) {
            /* the tasks sent already would wait for this one */
            em__arena_destroy(a);
            barrier_failed(d, EM_ELOST, "a barrier task could not be sent "
                           "to its executor");
            return;
        }
        t->attempt = s->battempt;
        em__msg_init(&m);
        em__msg_put(&m, "stage", em_int(s->id));
        em__msg_put(&m, "index", em_int(i));
        em__msg_put(&m, "part", em_int(t->part));
        em__msg_put(&m, "attempt", em_int(t->attempt));
        em__msg_put(&m, "barrier", barrier);
        send_msg(t->on->conn, EM__MSG_TASK, &m);
        t->state = T_RUNNING;
        t->on->running++;
        __atomic_add_fetch(&s->running, 1, __ATOMIC_RELAXED);
    }
    em__arena_destroy(a);
}

/* ---- executors (loop thread) ---- */

/* Tells em__peer_on_lost's callbacks that the peer at addr is gone. */
static void peer_lost(driver *d, const char *addr)
{
    int n;
    struct {
        void (*fn)(void *arg, const char *addr);
        void *arg;
    } calls[8];

    pthread_mutex_lock(&d->lock);
    n = d->non_lost;
    memcpy(calls, d->on_lost, sizeof(calls));
    pthread_mutex_unlock(&d->lock);
    for (int i = 0; i < n; i++)
        calls[i].fn(calls[i].arg, addr);
}

static void exec_lost(driver *d, dexec *e, const char *reason)
{
    dexec **pp;
    char why[1024];

    for (pp = &d->execs; *pp != NULL && *pp != e; pp = &(*pp)->next)
        ;
    if (*pp == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    *pp = e->next;
    d->nexecs--;
    d->cores -= e->cores;
    pthread_mutex_unlock(&d->lock);
    if (e->peer[0] != '\0')
        peer_lost(d, e->peer);
    snprintf(why, sizeof(why), "executor %d on worker %s was lost: %s",
             e->id, e->worker, reason);
    bloc_drop(d, e->id, NULL);
    if (d->cur != NULL && !d->cur->is_finished) {
        for (int i = 0; i < d->cur->n && !d->cur->is_finished; i++) {
            dtask *t = &d->cur->tasks[i];
            if (t->on != e)
                continue;
            if (t->state == T_DRAIN) { /* no result will come */
                __atomic_sub_fetch(&d->cur->running, 1, __ATOMIC_RELAXED);
                t->state = T_PENDING;
                t->on = NULL;
            } else if (t->state == T_RUNNING) {
                __atomic_sub_fetch(&d->cur->running, 1, __ATOMIC_RELAXED);
                task_failed(d, t, i, EM_ELOST, why);
            }
        }
    }
    em__mem_free(e->stages, e->stages_cap * sizeof(int));
    em__mem_free(e, sizeof(*e));
    schedule(d);
}

static em_status on_exec_hello(driver *d, em__conn *c, em_val body)
{
    dexec *e;
    int64_t id, cores;
    em_status st;

    if (em__conn_get_data(c) != NULL)
        return em__err(EM_EPROTO, "EXEC_HELLO twice");
    if ((e = em__mem_calloc(1, sizeof(*e))) == NULL)
        return EM_ENOMEM;
    if ((st = em__msg_int(EM__MSG_EXEC_HELLO, body, "exec", &id)) ||
        (st = em__msg_int(EM__MSG_EXEC_HELLO, body, "cores", &cores)) ||
        (st = em__msg_str(EM__MSG_EXEC_HELLO, body, "block", e->block,
                          sizeof(e->block))) ||
        (st = em__msg_str(EM__MSG_EXEC_HELLO, body, "worker", e->worker,
                          sizeof(e->worker)))) {
        em__mem_free(e, sizeof(*e));
        return st;
    }
    if (cores < 1 || cores > 4096) {
        em__mem_free(e, sizeof(*e));
        return em__err(EM_EPROTO, "EXEC_HELLO: %lld cores", (long long)cores);
    }
    e->conn = c;
    e->id = (int)id;
    e->cores = (int)cores;
    e->last_beat_ms = now_ms();
    em__msg_str(EM__MSG_EXEC_HELLO, body, "peer", e->peer,
                sizeof(e->peer)); /* absent: an executor without one */
    em__conn_set_data(c, e);
    pthread_mutex_lock(&d->lock);
    e->next = d->execs;
    d->execs = e;
    d->nexecs++;
    d->cores += e->cores;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    schedule(d);
    return EM_OK;
}

static em_status reply_binary(driver *d, em__conn *c, em_val body)
{
    char hash[80];
    em__msg m;
    FILE *f;
    long n;
    uint8_t *data;

    if (em__msg_str(EM__MSG_GET_BINARY, body, "hash", hash, sizeof(hash)) !=
            EM_OK ||
        strcmp(hash, d->exe_hash) != 0) {
        send_error(c, "no such binary here");
        return EM_OK;
    }
    if ((f = fopen(d->exe, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
        (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        if (f)
            fclose(f);
        send_error(c, "cannot read the driver's program");
        return EM_OK;
    }
    if ((data = em__mem_alloc((size_t)n + 1)) == NULL) {
        fclose(f);
        return EM_ENOMEM;
    }
    if (fread(data, 1, (size_t)n, f) != (size_t)n) {
        send_error(c, "cannot read the driver's program");
    } else {
        em__msg_init(&m);
        em__msg_put(&m, "data", em_bytes(data, (size_t)n));
        send_msg(c, EM__MSG_BINARY, &m);
    }
    fclose(f);
    em__mem_free(data, (size_t)n + 1);
    return EM_OK;
}

static em_status on_bcast_held(driver *d, dexec *e, em_val body)
{
    bholder *h;
    void *p = d->bholders;
    int64_t id, len, crc;
    char path[4096];

    if (e == NULL || em__msg_int(EM__MSG_BCAST_HELD, body, "id", &id) ||
        em__msg_int(EM__MSG_BCAST_HELD, body, "len", &len) ||
        em__msg_int(EM__MSG_BCAST_HELD, body, "crc", &crc) ||
        em__msg_str(EM__MSG_BCAST_HELD, body, "path", path, sizeof(path)))
        return EM_OK; /* a hint: ignore what cannot be read */
    if (em__mem_grow(&p, &d->bholders_cap, d->nbholders + 1,
                     sizeof(bholder)) != 0)
        return EM_OK;
    d->bholders = p;
    h = &d->bholders[d->nbholders++];
    h->id = (int)id;
    h->len = len;
    h->crc = crc;
    snprintf(h->host, sizeof(h->host), "%s", e->block);
    snprintf(h->path, sizeof(h->path), "%s", path);
    return EM_OK;
}

/* Forgets the broadcasts a lost worker served. */
static void bholders_drop(driver *d, const char *host)
{
    size_t k = 0;

    for (size_t i = 0; i < d->nbholders; i++)
        if (strcmp(d->bholders[i].host, host) != 0)
            d->bholders[k++] = d->bholders[i];
    d->nbholders = k;
}

/* Sends a broadcast's bytes, or -- unless direct is asked -- the address
 * of a worker that serves them, so that the driver does not send every
 * executor its own copy (the executors of a large pool fetch from each
 * other's workers). */
static em_status reply_broadcast(driver *d, em__conn *c, em_val body)
{
    int64_t id;
    const void *data;
    size_t len, n = 0, pick;
    em__msg m;
    em_val direct = em__msg_get(body, "direct");

    if (em__msg_int(EM__MSG_GET_BROADCAST, body, "id", &id) != EM_OK ||
        id < 1 || id > INT_MAX ||
        em__broadcast_bytes(d->ctx, (int)id, &data, &len) != EM_OK) {
        send_error(c, em_last_error());
        return EM_OK;
    }
    em__msg_init(&m);
    for (size_t i = 0; i < d->nbholders; i++)
        n += d->bholders[i].id == id;
    if (n > 0 && !(direct.type == EM_BOOL && direct.u.b)) {
        pick = d->brr++ % n;
        for (size_t i = 0; i < d->nbholders; i++) {
            bholder *h = &d->bholders[i];
            if (h->id != id || pick-- != 0)
                continue;
            em__msg_put(&m, "host", em_cstr(h->host));
            em__msg_put(&m, "path", em_cstr(h->path));
            em__msg_put(&m, "len", em_int(h->len));
            em__msg_put(&m, "crc", em_int(h->crc));
            send_msg(c, EM__MSG_BROADCAST, &m);
            return EM_OK;
        }
    }
    em__msg_put(&m, "data", em_bytes(data, len));
    send_msg(c, EM__MSG_BROADCAST, &m);
    return EM_OK;
}

static em_status server_frame(em__conn *c, int type, em_val body, void *ud)
{
    driver *d = ud;
    dexec *e = em__conn_get_data(c);

    switch (type) {
    case EM__MSG_EXEC_HELLO:
        return on_exec_hello(d, c, body);
    case EM__MSG_EXEC_HEARTBEAT:
        if (e != NULL)
            e->last_beat_ms = now_ms();
        return EM_OK;
    case EM__MSG_RESULT:
        if (e == NULL)
            return em__err(EM_EPROTO, "RESULT before EXEC_HELLO");
        e->last_beat_ms = now_ms();
        on_result(d, e, body);
        schedule(d);
        return EM_OK;
    case EM__MSG_GET_BINARY:
        return reply_binary(d, c, body);
    case EM__MSG_GET_BROADCAST:
        return reply_broadcast(d, c, body);
    case EM__MSG_BCAST_HELD:
        return on_bcast_held(d, e, body);
    default:
        return em__err(EM_EPROTO, "unexpected %s at the driver",
                       em__msg_name(type));
    }
}

static void server_close(em__conn *c, const char *reason, void *ud)
{
    dexec *e = em__conn_get_data(c);

    if (e != NULL)
        exec_lost(ud, e, reason);
}

/* ---- the master (loop thread) ---- */

static void connect_master(void *arg);

static void master_open(em__conn *c, void *ud)
{
    driver *d = ud;
    em__msg m;

    em__msg_init(&m);
    em__msg_put(&m, "app", d->has_app ? em_cstr(d->app) : em_nil());
    em__msg_put(&m, "name", em_cstr(d->ctx->app_name));
    em__msg_put(&m, "exe_hash", em_cstr(d->exe_hash));
    em__msg_put(&m, "driver_host", em_cstr(d->host));
    em__msg_put(&m, "driver_port", em_int(d->port));
    em__msg_put(&m, "memory",
                em_int(d->ctx->has_memory ? d->ctx->memory_bytes : 0));
    send_msg(c, EM__MSG_APP_HELLO, &m);
}

static em_status master_frame(em__conn *c, int type, em_val body, void *ud)
{
    driver *d = ud;
    char block[300];

    (void)c;
    switch (type) {
    case EM__MSG_APP_WELCOME:
        pthread_mutex_lock(&d->lock);
        em__msg_str(type, body, "app", d->app, sizeof(d->app));
        if (!d->has_app) {
            int64_t w = 0;
            em__msg_int(type, body, "workers", &w);
            d->expected_execs = w > 0 && w < 100000 ? (int)w : 1;
        }
        d->has_app = true;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
        return EM_OK;
    case EM__MSG_WORKER_LOST:
        if (em__msg_str(type, body, "block", block, sizeof(block)) == EM_OK) {
            forget_host(d, block);
            bloc_drop(d, -1, block);
            bholders_drop(d, block);
            for (dexec *e = d->execs; e != NULL; e = e->next)
                if (strcmp(e->block, block) == 0)
                    em__conn_close(e->conn, "its worker was lost");
        }
        return EM_OK;
    case EM__MSG_EXEC_EXITED:
    case EM__MSG_ERROR:
        return EM_OK;
    default:
        return EM_OK; /* newer masters may say more */
    }
}

static void master_close(em__conn *c, const char *reason, void *ud)
{
    driver *d = ud;

    (void)c;
    d->master = NULL;
    pthread_mutex_lock(&d->lock);
    if (d->is_stopping) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    if (!d->has_app) { /* never registered: em_ctx_create reports it */
        snprintf(d->master_error, sizeof(d->master_error), "%s", reason);
        d->is_master_failed = true;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
        return;
    }
    pthread_mutex_unlock(&d->lock);
    /* a restarting master: register again, keeping the app's id */
    em__loop_timer(d->loop, 1000, false, connect_master, d);
}

static const em__conn_handler master_handler = {master_open, master_frame,
                                                master_close};
static const em__conn_handler server_handler = {NULL, server_frame,
                                                server_close};

static void connect_master(void *arg)
{
    driver *d = arg;

    d->master = em__conn_connect(d->loop, d->master_host, d->master_port,
                                 &d->key, &master_handler, d);
}

static void check(void *arg)
{
    driver *d = arg;
    int64_t t = now_ms();
    dstage *s = d->cur;

    for (dexec *e = d->execs; e != NULL; e = e->next) {
        if (t - e->last_beat_ms > d->hb_ms) {
            char why[128];
            snprintf(why, sizeof(why), "no heartbeat for %lld ms",
                     (long long)(t - e->last_beat_ms));
            em__conn_close(e->conn, why);
        }
    }
    schedule(d); /* tasks whose wait for locality is over */
    if (s != NULL && !s->is_finished) {
        if (d->execs != NULL) {
            s->idle_since_ms = 0;
        } else if (s->idle_since_ms == 0) {
            s->idle_since_ms = t;
        } else if (t - s->idle_since_ms >
                   env_ms("EMBER_NO_EXECUTOR_TIMEOUT_MS", 120000)) {
            char msg[600];
            snprintf(msg, sizeof(msg), "no executor has been available for "
                     "%lld s: is a worker running and registered with the "
                     "master at %s:%d?",
                     (long long)(t - s->idle_since_ms) / 1000, d->master_host,
                     d->master_port);
            finish(d, EM_ESTATE, msg);
        }
    }
}

/* ---- running a stage ---- */

static void cancel_on_loop(void *arg)
{
    stage_op *op = arg;

    if (op->d->cur == op->s && !op->s->is_finished)
        finish(op->d, EM_ECANCELED, "job canceled");
    em__mem_free(op, sizeof(*op));
}

static void dstage_free(dstage *s)
{
    for (int i = 0; s->held != NULL && i < s->n; i++)
        em__arena_destroy(s->held[i].a);
    em__mem_free(s->held,
                 s->held ? (size_t)(s->n ? s->n : 1) * sizeof(*s->held) : 0);
    em__buf_fini(&s->frame);
    em__mem_free(s->tasks, (size_t)(s->n ? s->n : 1) * sizeof(dtask));
    em__mem_free(s->cached, s->cached_cap * sizeof(int));
    em__mem_free(s, sizeof(*s));
}



static void stage_begin(void *arg)
{
    stage_op *op = arg;

    op->d->cur = op->s;
    schedule(op->d);
    em__mem_free(op, sizeof(*op));
}

static void stage_end(void *arg)
{
    stage_op *op = arg;
    driver *d = op->d;
    dstage *s = op->s;
    em__msg m;

    for (dexec *e = d->execs; e != NULL; e = e->next) {
        if (!was_sent(e, s->id))
            continue;
        for (int i = 0; i < s->n; i++) /* attempts still running count */
            if ((s->tasks[i].state == T_RUNNING ||
                 s->tasks[i].state == T_DRAIN) && s->tasks[i].on == e)
                e->running--;
        em__msg_init(&m);
        em__msg_put(&m, "stage", em_int(s->id));
        send_msg(e->conn, EM__MSG_STAGE_DONE, &m);
    }
    if (d->cur == s)
        d->cur = NULL;
    dstage_free(s);
    em__mem_free(op, sizeof(*op));
}

/* Adds the persisted RDDs that rdd's tasks read through narrow
 * dependencies to s->cached. */
static void find_cached(dstage *s, em_rdd *rdd, int depth)
{
    void *p;

    if (depth > 64)
        return;
    if (rdd->storage != EM_STORAGE_NONE && !reads_cached(s, rdd->id)) {
        p = s->cached;
        if (em__mem_grow(&p, &s->cached_cap, (size_t)s->ncached + 1,
                         sizeof(int)) == 0) {
            s->cached = p;
            s->cached[s->ncached++] = rdd->id;
        }
    }
    for (int i = 0; i < rdd->nparents; i++)
        if (rdd->shuffles == NULL || rdd->shuffles[i] == NULL)
            find_cached(s, rdd->parents[i], depth + 1);
}

static em_status cluster_stage_run(em_ctx *ctx, em_rdd *rdd,
                                   const int *parts, int n, em__task_fn fn,
                                   em_val arg, em__job_result *out)
{
    driver *d = ctx->exec;
    dstage *s;
    stage_op *op;
    em_arena *a;
    em__msg m;
    em_val stage, body;
    em_status st;
    int sid;

    if (parts == NULL)
        n = rdd->nparts;
    pthread_mutex_lock(&ctx->lock);
    sid = ctx->next_stage_id++;
    ctx->stages_run++;
    pthread_mutex_unlock(&ctx->lock);
    if ((a = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    s = em__mem_calloc(1, sizeof(*s));
    op = em__mem_calloc(1, sizeof(*op));
    if (s == NULL || op == NULL ||
        (s->tasks = em__mem_calloc((size_t)(n ? n : 1), sizeof(dtask))) ==
            NULL) {
        st = EM_ENOMEM;
        goto out_free;
    }
    st = em__stage_encode(ctx, sid, ctx->next_job_id, rdd, fn, arg, a,
                          &stage);
    if (st == EM_OK) {
        em__msg_init(&m);
        em__msg_put(&m, "stage", stage);
        st = em__msg_done(&m, a, &body);
    }
    if (st == EM_OK)
        st = em__frame_encode(&s->frame, EM__MSG_STAGE, body, 0);
    if (st == EM_OK)
        st = em__job_result_init(out, n);
    if (st != EM_OK)
        goto out_free;
    em__arena_destroy(a);
    a = NULL;
    s->id = sid;
    s->n = n;
    s->out = out;
    s->shuffle_id = fn == em__shuffle_map_task ? (int)arg.u.i : -1;
    if (em__stage_is_barrier(rdd)) {
        s->is_barrier = true;
        s->held = em__mem_calloc((size_t)(n ? n : 1), sizeof(*s->held));
        if ((st = em__barrier_check_parts(rdd, parts, n)) != EM_OK ||
            s->held == NULL) {
            st = s->held == NULL ? EM_ENOMEM : st;
            em__job_result_fini(out);
            goto out_free;
        }
    }
    for (int i = 0; i < n; i++) {
        s->tasks[i].part = parts ? parts[i] : i;
        s->tasks[i].failed_on = -1;
        s->tasks[i].pending_ms = now_ms();
    }
    find_cached(s, rdd, 0);
    if (n == 0)
        s->is_finished = true;
    op->d = d;
    op->s = s;
    pthread_mutex_lock(&ctx->job_lock); /* one stage at a time */
    if (n > 0 && em__loop_post(d->loop, stage_begin, op) == EM_OK) {
        int64_t drawn_ms = 0;
        bool is_cancel_sent = false;
        pthread_mutex_lock(&d->lock);
        while (!s->is_finished) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&d->cond, &d->lock, &until);
            if (ctx->is_cancel_asked && !is_cancel_sent) {
                stage_op *cop = em__mem_calloc(1, sizeof(*cop));
                if (cop != NULL) {
                    cop->d = d;
                    cop->s = s;
                    if (em__loop_post(d->loop, cancel_on_loop, cop) != EM_OK)
                        em__mem_free(cop, sizeof(*cop));
                    else
                        is_cancel_sent = true;
                }
            }
            /* done and running are the loop's: a momentary view is fine */
            em__progress_draw(ctx, sid, __atomic_load_n(&s->done,
                                                        __ATOMIC_RELAXED),
                              __atomic_load_n(&s->running, __ATOMIC_RELAXED),
                              n, &drawn_ms, false);
        }
        pthread_mutex_unlock(&d->lock);
        em__progress_draw(ctx, sid, n, 0, n, &drawn_ms, true);
        op = em__mem_calloc(1, sizeof(*op));
        if (op != NULL) {
            op->d = d;
            op->s = s;
        }
    }
    st = s->status;
    if (st != EM_OK)
        em__err(st, "%s", s->message);
    if (op == NULL || em__loop_post(d->loop, stage_end, op) != EM_OK) {
        /* the loop is gone or no memory: nothing else refers to s now */
        dstage_free(s);
        em__mem_free(op, op ? sizeof(*op) : 0);
    }
    pthread_mutex_unlock(&ctx->job_lock);
    if (st != EM_OK)
        em__job_result_fini(out);
    if (fn == em__shuffle_map_task && st == EM_OK) {
        pthread_mutex_lock(&ctx->lock);
        ctx->map_tasks_run += n;
        pthread_mutex_unlock(&ctx->lock);
    }
    return st;
out_free:
    em__arena_destroy(a);
    if (s != NULL) {
        s->n = n;
        dstage_free(s);
    }
    em__mem_free(op, op ? sizeof(*op) : 0);
    return st;
}

/* ---- start and stop ---- */

em_status em__driver_start(em_ctx *ctx, const char *url)
{
    driver *d;
    const char *host = getenv("EMBER_DRIVER_HOST");
    struct timespec until;
    ssize_t n;
    em_status st;

    if (!em__executor_linked) /* a real reference: keeps the hook linked */
        return em__err(EM_ESTATE, "no executor start-up hook");
    if ((d = em__mem_calloc(1, sizeof(*d))) == NULL)
        return EM_ENOMEM;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->ctx = ctx;
    d->hb_ms = em__heartbeat_timeout_ms();
    snprintf(d->host, sizeof(d->host), "%s", host && *host ? host
                                                           : "127.0.0.1");
    ctx->exec = d;
    if ((st = em__net_parse_url(url, d->master_host, sizeof(d->master_host),
                                &d->master_port)) != EM_OK ||
        (st = em__secret_load(NULL, false, &d->key)) != EM_OK)
        goto out_fail;
    em__peer_set_key(&d->key);
    n = readlink("/proc/self/exe", d->exe, sizeof(d->exe) - 1);
    if (n <= 0) {
        st = em__err(EM_EIO, "cannot find the driver's own program");
        goto out_fail;
    }
    d->exe[n] = '\0';
    if ((st = em__file_hash(d->exe, d->exe_hash)) != EM_OK)
        goto out_fail;
    if ((d->loop = em__loop_create()) == NULL) {
        st = EM_ENOMEM;
        goto out_fail;
    }
    d->server = em__server_listen(d->loop, d->host, 0, &d->key,
                                  &server_handler, d);
    if (d->server == NULL) {
        st = em__err(EM_EIO, "%s", em_last_error());
        goto out_fail;
    }
    d->port = em__server_port(d->server);
    d->check = em__loop_timer(d->loop, d->hb_ms / 4 > 0 ? d->hb_ms / 4 : 1,
                              true, check, d);
    connect_master(d);
    if (d->master == NULL || d->check == NULL ||
        (st = em__loop_start(d->loop)) != EM_OK) {
        st = em__err(EM_EIO, "cannot reach the master: %s", em_last_error());
        goto out_fail;
    }
    ctx->remote_stage_run = cluster_stage_run;
    /* wait for registration, then (briefly) for the first executor */
    pthread_mutex_lock(&d->lock);
    while (!d->has_app && !d->is_master_failed)
        pthread_cond_wait(&d->cond, &d->lock);
    if (d->is_master_failed) {
        pthread_mutex_unlock(&d->lock);
        st = em__err(EM_EIO, "cannot register with the master at %s:%d: %s",
                     d->master_host, d->master_port, d->master_error);
        goto out_fail;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += env_ms("EMBER_EXECUTOR_WAIT_MS", 10000) / 1000;
    while (d->nexecs < d->expected_execs &&
           pthread_cond_timedwait(&d->cond, &d->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&d->lock);
    return EM_OK;
out_fail:
    em__driver_stop(ctx);
    return st;
}

void em__driver_stop(em_ctx *ctx)
{
    driver *d = ctx->exec;

    if (d == NULL)
        return;
    ctx->remote_stage_run = NULL;
    pthread_mutex_lock(&d->lock);
    d->is_stopping = true;
    pthread_mutex_unlock(&d->lock);
    em__loop_destroy(d->loop); /* closes every connection */
    while (d->execs != NULL) {
        dexec *e = d->execs;
        d->execs = e->next;
        em__mem_free(e->stages, e->stages_cap * sizeof(int));
        em__mem_free(e, sizeof(*e));
    }
    em__mem_free(d->blocs, d->blocs_cap * sizeof(bloc));
    em__mem_free(d->bholders, d->bholders_cap * sizeof(bholder));
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    em__mem_free(d, sizeof(*d));
    ctx->exec = NULL;
}

int em__driver_cached_parts(em_ctx *ctx, int rdd)
{
    driver *d = ctx->exec;
    int n = 0;

    if (d == NULL)
        return 0;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nblocs; i++) {
        bool is_new = d->blocs[i].rdd == rdd;
        for (size_t j = 0; is_new && j < i; j++) /* count partitions once */
            if (d->blocs[j].rdd == rdd && d->blocs[j].part == d->blocs[i].part)
                is_new = false;
        n += is_new;
    }
    pthread_mutex_unlock(&d->lock);
    return n;
}

typedef struct unpersist_op {
    driver *d;
    int rdd;
} unpersist_op;

static void unpersist_on_loop(void *arg)
{
    unpersist_op *op = arg;
    em__msg m;

    bloc_drop_where(op->d, -1, NULL, op->rdd);
    for (dexec *e = op->d->execs; e != NULL; e = e->next) {
        em__msg_init(&m);
        em__msg_put(&m, "rdd", em_int(op->rdd));
        send_msg(e->conn, EM__MSG_UNPERSIST, &m);
    }
    em__mem_free(op, sizeof(*op));
}

void em__driver_unpersist(em_ctx *ctx, int rdd)
{
    driver *d = ctx->exec;
    unpersist_op *op;

    if (d == NULL || (op = em__mem_calloc(1, sizeof(*op))) == NULL)
        return;
    op->d = d;
    op->rdd = rdd;
    if (em__loop_post(d->loop, unpersist_on_loop, op) != EM_OK)
        em__mem_free(op, sizeof(*op));
}

int em__driver_cores(em_ctx *ctx)
{
    driver *d = ctx->exec;
    int n;

    if (d == NULL)
        return 0;
    pthread_mutex_lock(&d->lock);
    n = d->cores;
    pthread_mutex_unlock(&d->lock);
    return n;
}

em_status em__driver_peers(em_ctx *ctx, em_arena *a, em_val *out)
{
    driver *d = ctx->exec;
    em_val *it;
    int n = 0, k = 0, last = -1;

    pthread_mutex_lock(&d->lock);
    for (dexec *e = d->execs; e != NULL; e = e->next)
        n += e->peer[0] != '\0';
    if ((it = em_array_make(a, (size_t)n, out)) == NULL) {
        pthread_mutex_unlock(&d->lock);
        return EM_ENOMEM;
    }
    while (k < n) { /* in the order of executor ids */
        dexec *next = NULL;
        for (dexec *e = d->execs; e != NULL; e = e->next)
            if (e->peer[0] != '\0' && e->id > last &&
                (next == NULL || e->id < next->id))
                next = e;
        it[k++] = em_cstr(next->peer);
        last = next->id;
    }
    pthread_mutex_unlock(&d->lock);
    /* the strings must outlive the executors: copy them into a */
    return em_val_copy(a, *out, out);
}

void em__driver_on_lost(em_ctx *ctx, void (*fn)(void *arg, const char *addr),
                        void *arg, bool add)
{
    driver *d = ctx->exec;
    int k = 0;

    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < d->non_lost; i++)
        if (d->on_lost[i].fn != fn || d->on_lost[i].arg != arg)
            d->on_lost[k++] = d->on_lost[i];
    d->non_lost = k;
    if (add && k < (int)(sizeof(d->on_lost) / sizeof(d->on_lost[0]))) {
        d->on_lost[k].fn = fn;
        d->on_lost[k].arg = arg;
        d->non_lost++;
    }
    pthread_mutex_unlock(&d->lock);
}
