/* The executor process (DESIGN.md, "Programs on the pool"): a worker
 * starts the driver's own binary with EMBER_EXECUTOR in its environment;
 * libember's start-up hook below notices it before main runs and turns the
 * process into a task loop: it connects to the driver, decodes the stages
 * it is sent (lineage.h), runs their tasks on its cores and sends the
 * results back. Shuffle blocks are read from the block servers of the
 * workers that hold them; broadcasts are fetched from the driver once.
 * The process ends when the driver's connection does.
 */
#include <errno.h>
#include <pthread.h>
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
#include "runtime/checksum.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define FETCH_TIMEOUT_MS 60000

typedef struct xstage_ref {
    em__xstage *x;
    em_arena *wire;       /* the stage value the nodes point into */
    int refs;             /* queued or running tasks, plus one while listed */
    struct xstage_ref *next;
} xstage_ref;

typedef struct xtask {
    xstage_ref *stage;
    int index, part, attempt;
    char replica[300];    /* where second copies of _2 blocks go, or "" */
    em_arena *barrier_a;  /* a barrier stage's task: holds its peers */
    em__barrier_round round; /* and its round */
    struct xtask *next;
} xtask;

/* What a running task reports besides its result: the blocks it cached. */
typedef struct task_blocks {
    xtask *tk;
    em_arena *a;          /* the result's arena */
    em_val *items;        /* [rdd, part, replica or nil] arrays */
    size_t n, cap;
} task_blocks;

typedef struct executor {
    em_ctx *ctx;
    em__loop *loop;
    em__conn *driver;
    em__secret key;
    char driver_host[256];
    int driver_port;
    char app[128], worker[256], block[300];
    char replicas[4096];  /* WORK_DIR/APP/replicas of this worker */
    int exec_id, cores;
    em__timer *beat;
    xstage_ref *stages;   /* loop thread */
    pthread_mutex_t lock; /* the queue */
    pthread_cond_t work;
    xtask *head, *tail;
    bool is_stopping;
    pthread_t *threads;
    int nthreads;
} executor;

static executor *the_exec; /* the process's executor: set once at start */

/* ---- blocks and broadcasts ---- */

/* Asks host:port one request and returns the reply's body in a. */
static em_status ask(const char *hostport, int type, em_val body,
                     int want, em_arena *a, em_val *out)
{
    char host[256];
    int port;
    em_status st;

    if ((st = em__hostport_split(hostport, host, sizeof(host), &port)))
        return st;
    return em__ask(host, port, &the_exec->key, FETCH_TIMEOUT_MS,
                   FETCH_TIMEOUT_MS, hostport, type, body, want, a, out);
}

static em_status remote_fetch(const em__block_fetcher *f,
                              const em__block_id *id,
                              const em__block_loc *loc, em__buf *out)
{
    em_arena *a;
    em__msg m;
    em_val body, reply, data;
    em_status st;

    if (loc->host == NULL || strcmp(loc->host, the_exec->block) == 0)
        return em__local_fetcher.fetch(&em__local_fetcher, id, loc, out);
    if (loc->len == 0)
        return EM_OK;
    if ((a = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    em__msg_init(&m);
    em__msg_put(&m, "path", em_cstr(loc->path));
    em__msg_put(&m, "offset", em_int((int64_t)loc->offset));
    em__msg_put(&m, "len", em_int((int64_t)loc->len));
    st = em__msg_done(&m, a, &body);
    if (st == EM_OK)
        st = ask(loc->host, EM__MSG_FETCH, body, EM__MSG_BLOCK, a, &reply);
    if (st == EM_OK) {
        data = em__msg_get(reply, "data");
        if (data.type != EM_BYTES || data.len != loc->len)
            st = em__err(EM_EFETCH, "from %s: short block", loc->host);
        else if (em__crc32(0, data.u.bytes, data.len) != loc->crc)
            st = em__err(EM_EFETCH, "from %s: failed its checksum",
                         loc->host);
        else if (em__buf_append(out, data.u.bytes, data.len) != EM_OK)
            st = EM_ENOMEM;
    } else if (st != EM_ENOMEM) {
        st = em__err(EM_EFETCH, "cannot be fetched: %s", em_last_error());
    }
    em__arena_destroy(a);
    return st;
}

static const em__block_fetcher remote_fetcher = {remote_fetch};

/* Fetches a broadcast's bytes from the worker the driver names. */
static em_status fetch_from_holder(em_val reply, em_arena *a, em__buf *out)
{
    char host[300], path[4096];
    int64_t len, crc;
    em__msg m;
    em_val body, block, data;
    em_status st;

    if ((st = em__msg_str(EM__MSG_BROADCAST, reply, "host", host,
                          sizeof(host))) ||
        (st = em__msg_str(EM__MSG_BROADCAST, reply, "path", path,
                          sizeof(path))) ||
        (st = em__msg_int(EM__MSG_BROADCAST, reply, "len", &len)) ||
        (st = em__msg_int(EM__MSG_BROADCAST, reply, "crc", &crc)))
        return st;
    em__msg_init(&m);
    em__msg_put(&m, "path", em_cstr(path));
    em__msg_put(&m, "offset", em_int(0));
    em__msg_put(&m, "len", em_int(len));
    if ((st = em__msg_done(&m, a, &body)) != EM_OK ||
        (st = ask(host, EM__MSG_FETCH, body, EM__MSG_BLOCK, a, &block)))
        return st;
    data = em__msg_get(block, "data");
    if (data.type != EM_BYTES || data.len != len ||
        em__crc32(0, data.u.bytes, data.len) != (uint32_t)crc)
        return em__err(EM_EIO, "broadcast from %s: short or corrupt", host);
    return em__buf_append(out, data.u.bytes, data.len);
}

typedef struct held {
    int id;
    int64_t len, crc;
    char path[4200];
} held;

static void held_on_loop(void *arg)
{
    held *h = arg;
    em__msg m;
    em_arena *a = em__arena_create(0);
    em_val body;

    em__msg_init(&m);
    em__msg_put(&m, "id", em_int(h->id));
    em__msg_put(&m, "path", em_cstr(h->path));
    em__msg_put(&m, "len", em_int(h->len));
    em__msg_put(&m, "crc", em_int(h->crc));
    if (a != NULL && the_exec->driver != NULL &&
        em__msg_done(&m, a, &body) == EM_OK)
        em__conn_send(the_exec->driver, EM__MSG_BCAST_HELD, body);
    em__arena_destroy(a);
    em__mem_free(h, sizeof(*h));
}

/* Keeps the broadcast's bytes in this worker's part of the application's
 * folder, where the worker's block server serves them to the executors of
 * other workers, and tells the driver. Best effort. */
static void hold_broadcast(int id, const em__buf *b)
{
    char tmp[4300];
    held *h = em__mem_calloc(1, sizeof(*h));
    FILE *f;

    if (h == NULL)
        return;
    snprintf(h->path, sizeof(h->path), "%s", the_exec->replicas);
    *strrchr(h->path, '/') = '\0'; /* WORK_DIR/APP */
    snprintf(h->path + strlen(h->path), sizeof(h->path) - strlen(h->path),
             "/broadcast-%d", id);
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", h->path, the_exec->exec_id);
    if ((f = fopen(tmp, "wb")) == NULL ||
        fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0 ||
        rename(tmp, h->path) != 0) {
        unlink(tmp);
        em__mem_free(h, sizeof(*h));
        return;
    }
    h->id = id;
    h->len = (int64_t)b->len;
    h->crc = em__crc32(0, b->data, b->len);
    if (em__loop_post(the_exec->loop, held_on_loop, h) != EM_OK)
        em__mem_free(h, sizeof(*h));
}

static em_status fetch_broadcast(em_ctx *ctx, int id, em__buf *out)
{
    char hostport[300];
    em_arena *a = em__arena_create(0);
    em__msg m;
    em_val body, reply, data;
    em_status st;

    (void)ctx;
    if (a == NULL)
        return EM_ENOMEM;
    snprintf(hostport, sizeof(hostport), "%s:%d", the_exec->driver_host,
             the_exec->driver_port);
    for (int direct = 0; direct < 2; direct++) {
        em__msg_init(&m);
        em__msg_put(&m, "id", em_int(id));
        em__msg_put(&m, "direct", em_bool(direct));
        st = em__msg_done(&m, a, &body);
        if (st == EM_OK)
            st = ask(hostport, EM__MSG_GET_BROADCAST, body,
                     EM__MSG_BROADCAST, a, &reply);
        if (st != EM_OK)
            break;
        data = em__msg_get(reply, "data");
        if (data.type == EM_BYTES) {
            st = em__buf_append(out, data.u.bytes, data.len);
            break;
        }
        out->len = 0;
        if ((st = fetch_from_holder(reply, a, out)) == EM_OK)
            break; /* else ask the driver itself */
    }
    if (st == EM_OK)
        hold_broadcast(id, out);
    em__arena_destroy(a);
    return st;
}

/* ---- second copies of cached blocks (_2 levels) ---- */

static bool is_level_2(em_storage level)
{
    return level >= EM_MEMORY_ONLY_2 && level <= EM_DISK_ONLY_2;
}

/* Sends the partition's records to the replica's block server. */
static bool replicate(const char *host, int rdd, int part, const em__part *p)
{
    em__buf b = EM__BUF_INIT;
    em_arena *a = em__arena_create(0);
    em__msg m;
    em_val body, reply;
    em_status st = a ? EM_OK : EM_ENOMEM;

    for (size_t i = 0; i < p->n && st == EM_OK; i++)
        st = em__codec_encode(&b, p->recs[i]);
    if (st == EM_OK) {
        em__msg_init(&m);
        em__msg_put(&m, "app", em_cstr(the_exec->app));
        em__msg_put(&m, "rdd", em_int(rdd));
        em__msg_put(&m, "part", em_int(part));
        em__msg_put(&m, "data", em_bytes(b.data, b.len));
        st = em__msg_done(&m, a, &body);
    }
    if (st == EM_OK)
        st = ask(host, EM__MSG_PUT_BLOCK, body, EM__MSG_STORED, a, &reply);
    if (st != EM_OK) /* best effort, as Spark: the block is still cached */
        fprintf(stderr, "ember executor %d: no second copy of block "
                "rdd %d part %d on %s: %s\n", the_exec->exec_id, rdd, part,
                host, em_last_error());
    em__buf_fini(&b);
    em__arena_destroy(a);
    return st == EM_OK;
}

static void on_block_put(em_task *t, int rdd, int part, em_storage level,
                         const em__part *p, bool is_replica)
{
    task_blocks *tb = t->hook_data;
    void *items = tb->items;
    em_val *it;
    bool has_copy = false;

    if (is_level_2(level) && !is_replica && tb->tk->replica[0] != '\0')
        has_copy = replicate(tb->tk->replica, rdd, part, p);
    if (em__mem_grow(&items, &tb->cap, tb->n + 1, sizeof(em_val)) != 0)
        return; /* the report is a hint: the block is cached anyway */
    tb->items = items;
    if ((it = em_array_make(tb->a, 3, &tb->items[tb->n])) == NULL)
        return;
    it[0] = em_int(rdd);
    it[1] = em_int(part);
    it[2] = has_copy ? em_cstr(tb->tk->replica) : em_nil();
    tb->n++;
}

/* A second copy kept by this executor's worker, when there is one. */
static em_status find_replica(em_task *t, int rdd, int part, em__part *p)
{
    char path[4200];
    FILE *f;
    em__buf b = EM__BUF_INIT;
    size_t off = 0;
    em_status st = EM_OK;
    uint8_t chunk[65536];
    size_t got;

    snprintf(path, sizeof(path), "%s/rdd-%d-%d", the_exec->replicas, rdd,
             part);
    if ((f = fopen(path, "rb")) == NULL)
        return EM_ENOENT;
    while (st == EM_OK && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        st = em__buf_append(&b, chunk, got);
    fclose(f);
    while (st == EM_OK && off < b.len) {
        em__arena_mark mk = em__arena_mark_get(t->scratch);
        em_val rec;
        size_t used;
        st = em__codec_decode(b.data + off, b.len - off, NULL, t->scratch,
                              &rec, &used);
        if (st == EM_OK)
            st = em__part_push(p, rec);
        em__arena_rewind(t->scratch, mk);
        off += used;
    }
    em__buf_fini(&b);
    if (st == EM_EFORMAT || st == EM_ELIMIT) { /* a damaged copy: recompute */
        em__part_fini(p);
        return em__part_init(p) == EM_OK ? EM_ENOENT : EM_ENOMEM;
    }
    return st;
}

/* ---- tasks ---- */

typedef struct sent {
    em__buf frame;
} sent;

static void send_on_loop(void *arg)
{
    sent *s = arg;

    if (the_exec->driver != NULL)
        em__conn_send_encoded(the_exec->driver, &s->frame);
    em__buf_fini(&s->frame);
    em__mem_free(s, sizeof(*s));
}

static void stage_release(void *arg)
{
    xstage_ref *r = arg;

    if (--r->refs > 0)
        return;
    em__xstage_free(r->x);
    em__arena_destroy(r->wire);
    em__mem_free(r, sizeof(*r));
}

static void run_task(xtask *tk, em_arena *scratch)
{
    em_arena *res = em__arena_create(0);
    em__msg m;
    em_val result, body;
    sent *s = em__mem_calloc(1, sizeof(*s));
    em_status st = res && s ? EM_OK : EM_ENOMEM;
    task_blocks tb = {tk, res, NULL, 0, 0};
    em__task_hooks hooks = {on_block_put, find_replica, &tb, NULL};
    em_barrier b;
    struct timespec t0, t1;
    int64_t run_us;

    if (tk->barrier_a != NULL) {
        em__barrier_init(&b, the_exec->ctx, &tk->round, tk->index);
        hooks.barrier = &b;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (st == EM_OK)
        st = em__exec_task(the_exec->ctx, tk->stage->x, tk->part, tk->attempt,
                           &hooks, scratch, res, &result);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    run_us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
             (t1.tv_nsec - t0.tv_nsec) / 1000;
    if (st == EM_OK) {
        em__msg_init(&m);
        em__msg_put(&m, "stage", em_int(tk->stage->x->id));
        em__msg_put(&m, "index", em_int(tk->index));
        em__msg_put(&m, "attempt", em_int(tk->attempt));
        em__msg_put(&m, "result", result);
        em__msg_put(&m, "blocks", em_array(tb.items, tb.n));
        em__msg_put(&m, "run_us", em_int(run_us));
        st = em__msg_done(&m, res, &body);
    }
    if (st == EM_OK)
        st = em__frame_encode(&s->frame, EM__MSG_RESULT, body, 0);
    if (st != EM_OK) { /* the result cannot be sent: report why */
        char msg[512];
        em_val items[5];
        snprintf(msg, sizeof(msg), "%s", em_last_error());
        em__buf_fini(&s->frame);
        items[0] = em_int(st == EM_OK ? EM_EIO : st);
        items[1] = em_cstr(msg);
        items[2] = em_nil();
        items[3] = em_array(NULL, 0);
        items[4] = em_nil();
        em__msg_init(&m);
        em__msg_put(&m, "stage", em_int(tk->stage->x->id));
        em__msg_put(&m, "index", em_int(tk->index));
        em__msg_put(&m, "attempt", em_int(tk->attempt));
        em__msg_put(&m, "result", em_array(items, 5));
        em__arena_reset(res);
        if (em__msg_done(&m, res, &body) == EM_OK)
            em__frame_encode(&s->frame, EM__MSG_RESULT, body, 0);
    }
    em__arena_destroy(res);
    em__mem_free(tb.items, tb.cap * sizeof(em_val));
    if (em__loop_post(the_exec->loop, send_on_loop, s) != EM_OK) {
        em__buf_fini(&s->frame);
        em__mem_free(s, sizeof(*s));
    }
    em__loop_post(the_exec->loop, stage_release, tk->stage);
}

static void *task_thread(void *arg)
{
    executor *e = arg;
    em_arena *scratch = em__arena_create(0);

    pthread_mutex_lock(&e->lock);
    while (!e->is_stopping) {
        xtask *tk = e->head;
        if (tk == NULL) {
            pthread_cond_wait(&e->work, &e->lock);
            continue;
        }
        e->head = tk->next;
        if (e->head == NULL)
            e->tail = NULL;
        pthread_mutex_unlock(&e->lock);
        run_task(tk, scratch);
        em__arena_destroy(tk->barrier_a);
        em__mem_free(tk, sizeof(*tk));
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    em__arena_destroy(scratch);
    return NULL;
}

/* ---- the driver link (loop thread) ---- */

static xstage_ref *find_stage(executor *e, int64_t id)
{
    for (xstage_ref *r = e->stages; r != NULL; r = r->next)
        if (r->x->id == id)
            return r;
    return NULL;
}

static em_status on_stage(executor *e, em_val body)
{
    xstage_ref *r = em__mem_calloc(1, sizeof(*r));
    em_val v;
    em_status st;

    if (r == NULL)
        return EM_ENOMEM;
    if ((r->wire = em__arena_create(0)) == NULL) {
        em__mem_free(r, sizeof(*r));
        return EM_ENOMEM;
    }
    st = em_val_copy(r->wire, em__msg_get(body, "stage"), &v);
    if (st == EM_OK)
        st = em__stage_decode(e->ctx, v, &r->x);
    if (st != EM_OK) {
        em__arena_destroy(r->wire);
        em__mem_free(r, sizeof(*r));
        return st;
    }
    if (find_stage(e, r->x->id) != NULL) {
        r->refs = 1;
        stage_release(r);
        return em__err(EM_EPROTO, "stage %d sent twice", r->x->id);
    }
    r->refs = 1;
    r->next = e->stages;
    e->stages = r;
    return EM_OK;
}

/* A barrier stage's task gets [serial, [peer address by task index]]
 * (nil for other tasks): its round, kept with the task. */
static em_status read_barrier(xtask *tk, em_val v)
{
    const em_val *it = v.u.arr;
    const char **peers;
    em_val copy;

    if (v.type == EM_NIL)
        return EM_OK;
    if (v.type != EM_ARRAY || v.len != 2 || it[0].type != EM_INT ||
        it[1].type != EM_ARRAY || it[1].len == 0 ||
        (int64_t)tk->index >= (int64_t)it[1].len)
        return em__err(EM_EPROTO, "TASK: malformed barrier field");
    if ((tk->barrier_a = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    peers = em__arena_alloc(tk->barrier_a, it[1].len * sizeof(*peers), 8);
    if (peers == NULL || em_val_copy(tk->barrier_a, it[1], &copy) != EM_OK)
        goto out_free;
    for (uint32_t i = 0; i < copy.len; i++) {
        em_val p = copy.u.arr[i];
        char *s = em__arena_alloc(tk->barrier_a, p.len + 1, 1);
        if (p.type != EM_STR || s == NULL) {
            em__arena_destroy(tk->barrier_a);
            tk->barrier_a = NULL;
            return em__err(EM_EPROTO, "TASK: malformed barrier peers");
        }
        memcpy(s, p.u.s, p.len);
        s[p.len] = '\0';
        peers[i] = s;
    }
    tk->round.serial = (uint64_t)it[0].u.i;
    tk->round.stage = tk->stage->x->id;
    tk->round.attempt = tk->attempt;
    tk->round.n = (int)copy.len;
    tk->round.peers = peers;
    return EM_OK;
out_free:
    em__arena_destroy(tk->barrier_a);
    tk->barrier_a = NULL;
    return EM_ENOMEM;
}

static em_status on_task(executor *e, em_val body)
{
    int64_t sid, index, part, attempt;
    xstage_ref *r;
    xtask *tk;
    em_status st;

    if ((st = em__msg_int(EM__MSG_TASK, body, "stage", &sid)) ||
        (st = em__msg_int(EM__MSG_TASK, body, "index", &index)) ||
        (st = em__msg_int(EM__MSG_TASK, body, "part", &part)) ||
        (st = em__msg_int(EM__MSG_TASK, body, "attempt", &attempt)))
        return st;
    if ((r = find_stage(e, sid)) == NULL)
        return em__err(EM_EPROTO, "task of unknown stage %lld",
                       (long long)sid);
    if ((tk = em__mem_calloc(1, sizeof(*tk))) == NULL)
        return EM_ENOMEM;
    tk->stage = r;
    tk->index = (int)index;
    tk->part = (int)part;
    tk->attempt = (int)attempt;
    em__msg_str(EM__MSG_TASK, body, "replica", tk->replica,
                sizeof(tk->replica)); /* absent: no second copies */
    if ((st = read_barrier(tk, em__msg_get(body, "barrier"))) != EM_OK) {
        em__mem_free(tk, sizeof(*tk));
        return st;
    }
    r->refs++;
    pthread_mutex_lock(&e->lock);
    if (e->tail)
        e->tail->next = tk;
    else
        e->head = tk;
    e->tail = tk;
    pthread_cond_signal(&e->work);
    pthread_mutex_unlock(&e->lock);
    return EM_OK;
}

static void on_stage_done(executor *e, em_val body)
{
    int64_t sid;
    xstage_ref **pp;

    if (em__msg_int(EM__MSG_STAGE_DONE, body, "stage", &sid) != EM_OK)
        return;
    for (pp = &e->stages; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->x->id == sid) {
            xstage_ref *r = *pp;
            *pp = r->next;
            stage_release(r);
            return;
        }
    }
}

static void heartbeat(void *arg)
{
    executor *e = arg;
    em_arena *a = em__arena_create(0);
    em__msg m;
    em_val body;

    em__msg_init(&m);
    if (a != NULL && e->driver != NULL && em__msg_done(&m, a, &body) == EM_OK)
        em__conn_send(e->driver, EM__MSG_EXEC_HEARTBEAT, body);
    em__arena_destroy(a);
}

static void on_open(em__conn *c, void *ud)
{
    executor *e = ud;
    em_arena *a = em__arena_create(0);
    em__msg m;
    em_val body;

    e->driver = c;
    em__msg_init(&m);
    em__msg_put(&m, "app", em_cstr(e->app));
    em__msg_put(&m, "exec", em_int(e->exec_id));
    em__msg_put(&m, "worker", em_cstr(e->worker));
    em__msg_put(&m, "block", em_cstr(e->block));
    em__msg_put(&m, "cores", em_int(e->cores));
    em__msg_put(&m, "pid", em_int(getpid()));
    if (em__peer_self(e->ctx) != NULL)
        em__msg_put(&m, "peer", em_cstr(em__peer_self(e->ctx)));
    if (a != NULL && em__msg_done(&m, a, &body) == EM_OK)
        em__conn_send(c, EM__MSG_EXEC_HELLO, body);
    em__arena_destroy(a);
    e->beat = em__loop_timer(e->loop, em__heartbeat_timeout_ms() / 4, true,
                             heartbeat, e);
}

static em_status on_frame(em__conn *c, int type, em_val body, void *ud)
{
    executor *e = ud;

    (void)c;
    switch (type) {
    case EM__MSG_STAGE:
        return on_stage(e, body);
    case EM__MSG_TASK:
        return on_task(e, body);
    case EM__MSG_STAGE_DONE:
        on_stage_done(e, body);
        return EM_OK;
    case EM__MSG_BARRIER_ABORT: {
        int64_t serial, stage, attempt;
        if (em__msg_int(type, body, "serial", &serial) == EM_OK &&
            em__msg_int(type, body, "stage", &stage) == EM_OK &&
            em__msg_int(type, body, "attempt", &attempt) == EM_OK)
            em__coll_abort((uint64_t)serial, (int)stage, (int)attempt);
        return EM_OK;
    }
    case EM__MSG_UNPERSIST: {
        int64_t rdd;
        if (em__msg_int(type, body, "rdd", &rdd) == EM_OK)
            em__blocks_drop_rdd(e->ctx->blocks, (int)rdd);
        return EM_OK;
    }
    default:
        return em__err(EM_EPROTO, "unexpected %s from the driver",
                       em__msg_name(type));
    }
}

static void on_close(em__conn *c, const char *reason, void *ud)
{
    executor *e = ud;

    (void)c;
    fprintf(stderr, "ember executor %d: driver connection closed: %s\n",
            e->exec_id, reason);
    e->driver = NULL;
    em__loop_stop(e->loop);
}

/* ---- start-up ---- */

static int env_int(const char *name, int64_t *out)
{
    const char *s = getenv(name);
    char *end;

    if (s == NULL || *s == '\0')
        return -1;
    *out = strtoll(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static void copy_env(const char *name, char *buf, size_t cap)
{
    const char *s = getenv(name);

    snprintf(buf, cap, "%s", s ? s : "");
}

/* Opens the peer endpoint (scheduler/peer.h) on the host of this
 * worker's block server, the address the pool reaches the worker at. */
static em_status start_peer(executor *e)
{
    char host[256];
    int port;
    em_status st;

    if ((st = em__hostport_split(e->block, host, sizeof(host), &port)) ||
        (st = em__coll_init()))
        return st;
    return em__peer_listen(e->loop, host, &e->key);
}

/* Runs the executor; returns the process's exit status. Messages go to
 * stderr, which the worker keeps in the executor's directory. */
static int executor_main(void)
{
    static executor e;
    static const em__conn_handler h = {on_open, on_frame, on_close};
    int64_t id = 0, cores = 1, memory = 0;
    char hostport[300];
    const char *work = getenv("EMBER_WORK_DIR");

    copy_env("EMBER_EXECUTOR", hostport, sizeof(hostport));
    copy_env("EMBER_APP_ID", e.app, sizeof(e.app));
    copy_env("EMBER_WORKER_ID", e.worker, sizeof(e.worker));
    copy_env("EMBER_BLOCK_SERVER", e.block, sizeof(e.block));
    if (env_int("EMBER_EXECUTOR_ID", &id) != 0 ||
        env_int("EMBER_EXECUTOR_CORES", &cores) != 0 || cores < 1 ||
        env_int("EMBER_EXECUTOR_MEMORY", &memory) != 0 || work == NULL ||
        em__hostport_split(hostport, e.driver_host, sizeof(e.driver_host),
                           &e.driver_port) != EM_OK) {
        fprintf(stderr, "ember executor: incomplete environment (started "
                "by hand? executors are started by `ember worker`)\n");
        return 2;
    }
    e.exec_id = (int)id;
    e.cores = (int)cores;
    snprintf(e.replicas, sizeof(e.replicas), "%s", work);
    if (strrchr(e.replicas, '/') != NULL) /* WORK_DIR/APP/exec-N */
        *strrchr(e.replicas, '/') = '\0';
    strncat(e.replicas, "/replicas", sizeof(e.replicas) - strlen(e.replicas) - 1);
    if (em__secret_load(getenv("EMBER_SECRET_FILE"), false, &e.key) !=
        EM_OK) {
        fprintf(stderr, "ember executor: %s\n", em_last_error());
        return 2;
    }
    the_exec = &e;
    pthread_mutex_init(&e.lock, NULL);
    pthread_cond_init(&e.work, NULL);
    e.ctx = em__exec_ctx_create(e.cores, memory, work);
    e.loop = em__loop_create();
    e.threads = em__mem_calloc((size_t)e.cores, sizeof(pthread_t));
    if (e.ctx == NULL || e.loop == NULL || e.threads == NULL) {
        fprintf(stderr, "ember executor: %s\n", em_last_error());
        return 1;
    }
    e.ctx->fetcher = &remote_fetcher;
    e.ctx->fetch_broadcast = fetch_broadcast;
    if (start_peer(&e) != EM_OK) /* collectives need it; the rest not */
        fprintf(stderr, "ember executor %d: %s\n", e.exec_id,
                em_last_error());
    for (int i = 0; i < e.cores; i++)
        if (pthread_create(&e.threads[e.nthreads], NULL, task_thread, &e) ==
            0)
            e.nthreads++;
    if (em__conn_connect(e.loop, e.driver_host, e.driver_port, &e.key, &h,
                         &e) == NULL) {
        fprintf(stderr, "ember executor: %s\n", em_last_error());
        return 1;
    }
    em__loop_run(e.loop);
    /* the driver is gone: nothing left to do; running tasks die with us */
    fflush(NULL);
    return 0;
}

/* libember's start-up hook: runs before main in every program linked with
 * it, and turns the process into an executor when a worker started it. */
__attribute__((constructor)) static void executor_hook(void)
{
    if (getenv("EMBER_EXECUTOR") != NULL)
        _exit(executor_main());
}

/* Referenced by the driver side, so that a static link keeps this file
 * (and its hook). */
const int em__executor_linked = 1;
