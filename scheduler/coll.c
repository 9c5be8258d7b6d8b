/* The collectives of barrier stages (include/ember/barrier.h,
 * barrier.h): the mailboxes messages are filed into, and barrier,
 * allGather and the ring and tree allreduce written on top of "send to
 * task j" and "wait for task j's message". docs/collectives.md.
 *
 * A message is the request
 *
 *   [serial, stage, attempt, seq, step, from, to, payload]
 *
 * of service EM__PEER_COLL; [serial, stage, attempt] alone aborts that
 * round. Both are answered with nil at once: the handler never waits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "barrier.h"
#include "peer.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "runtime/rdd.h"

#define DEFAULT_TIMEOUT_MS 120000
#define NABORTED 256 /* aborted rounds remembered, to refuse late mail */

/* Which message: a collective call's step from one task to another. */
typedef struct mkey {
    uint64_t serial;
    int64_t stage, attempt, seq, step, from, to;
} mkey;

typedef struct mail {
    mkey k;
    em_arena *a;   /* holds v */
    em_val v;
    struct mail *next;
} mail;

/* The process's mailboxes: mail waiting for its task, and the rounds
 * aborted lately, under lock; cond wakes the waiting tasks. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    mail *head;
    int n;
    mkey aborted[NABORTED]; /* serial, stage, attempt of each */
    int naborted;           /* ever: the slot of the next is % NABORTED */
} box = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static bool same_round(const mkey *a, const mkey *b)
{
    return a->serial == b->serial && a->stage == b->stage &&
           a->attempt == b->attempt;
}

/* Called with box.lock held. */
static bool is_aborted(const mkey *k)
{
    int n = box.naborted < NABORTED ? box.naborted : NABORTED;

    for (int i = 0; i < n; i++)
        if (same_round(&box.aborted[i], k))
            return true;
    return false;
}

static void mail_free(mail *m)
{
    if (m == NULL)
        return;
    em__arena_destroy(m->a);
    em__mem_free(m, sizeof(*m));
}

static void abort_round(const mkey *k)
{
    mail **pp, *dead = NULL;

    pthread_mutex_lock(&box.lock);
    if (!is_aborted(k))
        box.aborted[box.naborted++ % NABORTED] = *k;
    for (pp = &box.head; *pp != NULL;) {
        mail *m = *pp;
        if (same_round(&m->k, k)) {
            *pp = m->next;
            m->next = dead;
            dead = m;
            box.n--;
        } else {
            pp = &m->next;
        }
    }
    pthread_cond_broadcast(&box.cond);
    pthread_mutex_unlock(&box.lock);
    while (dead != NULL) {
        mail *m = dead;
        dead = m->next;
        mail_free(m);
    }
}

void em__coll_abort(uint64_t serial, int stage, int attempt)
{
    mkey k = {serial, stage, attempt, 0, 0, 0, 0};

    abort_round(&k);
}

int em__coll_pending(void)
{
    int n;

    pthread_mutex_lock(&box.lock);
    n = box.n;
    pthread_mutex_unlock(&box.lock);
    return n;
}

/* Files a message (copied) for its task; mail of an aborted round is
 * dropped. */
static em_status put(const mkey *k, em_val v)
{
    mail *m = em__mem_calloc(1, sizeof(*m));

    if (m == NULL)
        return EM_ENOMEM;
    m->k = *k;
    if ((m->a = em__arena_create(0)) == NULL ||
        em_val_copy(m->a, v, &m->v) != EM_OK) {
        mail_free(m);
        return EM_ENOMEM;
    }
    pthread_mutex_lock(&box.lock);
    if (is_aborted(k)) {
        pthread_mutex_unlock(&box.lock);
        mail_free(m);
        return EM_OK;
    }
    m->next = box.head;
    box.head = m;
    box.n++;
    pthread_cond_broadcast(&box.cond);
    pthread_mutex_unlock(&box.lock);
    return EM_OK;
}

static bool read_key(const em_val *it, size_t n, mkey *k)
{
    int64_t f[7] = {0};

    for (size_t i = 0; i < n; i++) {
        if (it[i].type != EM_INT)
            return false;
        f[i] = it[i].u.i;
    }
    k->serial = (uint64_t)f[0];
    k->stage = f[1];
    k->attempt = f[2];
    k->seq = f[3];
    k->step = f[4];
    k->from = f[5];
    k->to = f[6];
    return true;
}

static em_status handler(void *state, const em_val *req, em_arena *a,
                         em_val *reply)
{
    mkey k;

    (void)state;
    (void)a;
    *reply = em_nil();
    if (req->type == EM_ARRAY && req->len == 3 && read_key(req->u.arr, 3, &k)) {
        abort_round(&k);
        return EM_OK;
    }
    if (req->type != EM_ARRAY || req->len != 8 || !read_key(req->u.arr, 7, &k))
        return em__err(EM_EPROTO, "malformed collective message");
    return put(&k, req->u.arr[7]);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static em_status init_status;

static void init_handler(void)
{
    init_status = em__peer_register(EM__PEER_COLL, handler, NULL);
}

em_status em__coll_init(void)
{
    pthread_once(&init_once, init_handler);
    return init_status;
}

/* ---- a task's side ---- */

void em__barrier_init(em_barrier *b, em_ctx *ctx, const em__barrier_round *r,
                      int index)
{
    const char *s = getenv("EMBER_BARRIER_TIMEOUT_MS");
    long v = s != NULL ? atol(s) : 0;

    memset(b, 0, sizeof(*b));
    b->ctx = ctx;
    b->round = r;
    b->index = index;
    b->timeout_ms = v > 0 ? (int)v : DEFAULT_TIMEOUT_MS;
}

static mkey key_of(const em_barrier *b, int step, int from, int to)
{
    mkey k = {b->round->serial, b->round->stage, b->round->attempt,
              b->seq, step, from, to};

    return k;
}

static uint64_t elements(em_val v)
{
    return v.type == EM_VEC || v.type == EM_SPVEC ? v.len : 0;
}

/* Ends this round here after a failure of this task, keeping the
 * failure's status and message. */
static em_status fail_round(em_barrier *b, em_status st)
{
    char msg[1024];
    mkey k = key_of(b, 0, 0, 0);

    em__err_save(msg, sizeof(msg));
    abort_round(&k);
    return em__err(st, "%s", msg);
}

/* Sends payload to task `to` as this call's message `step`. */
static em_status send_to(em_barrier *b, int to, int step, em_val payload)
{
    em_arena *a = em__arena_create(0);
    mkey k = key_of(b, step, b->index, to);
    em_val *it, req, reply;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    if ((it = em_array_make(a, 8, &req)) == NULL) {
        em__arena_destroy(a);
        return EM_ENOMEM;
    }
    it[0] = em_int((int64_t)k.serial);
    it[1] = em_int(k.stage);
    it[2] = em_int(k.attempt);
    it[3] = em_int(k.seq);
    it[4] = em_int(k.step);
    it[5] = em_int(k.from);
    it[6] = em_int(k.to);
    it[7] = payload;
    st = em__peer_call_counted(b->ctx, b->round->peers[to], EM__PEER_COLL,
                               req, a, &reply, b->timeout_ms,
                               &b->stats.bytes);
    em__arena_destroy(a);
    if (st != EM_OK)
        return fail_round(b, st);
    b->stats.messages++;
    b->stats.elements += elements(payload);
    return EM_OK;
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static mail *unlink_mail(const mkey *k)
{
    for (mail **pp = &box.head; *pp != NULL; pp = &(*pp)->next) {
        mail *m = *pp;
        if (memcmp(&m->k, k, sizeof(*k)) == 0) {
            *pp = m->next;
            box.n--;
            return m;
        }
    }
    return NULL;
}

/* Waits for task from's message `step` of this call; the caller frees
 * it with mail_free. */
static em_status take(em_barrier *b, int from, int step, mail **out)
{
    mkey k = key_of(b, step, from, b->index);
    struct timespec until;
    mail *m = NULL;
    bool is_aborted_now = false;
    int rc = 0;

    deadline_in(&until, b->timeout_ms);
    pthread_mutex_lock(&box.lock);
    while ((m = unlink_mail(&k)) == NULL && rc != ETIMEDOUT &&
           !(is_aborted_now = is_aborted(&k)))
        rc = pthread_cond_timedwait(&box.cond, &box.lock, &until);
    pthread_mutex_unlock(&box.lock);
    if (m != NULL) {
        *out = m;
        return EM_OK;
    }
    if (is_aborted_now)
        return em__err(EM_ECANCELED, "barrier stage %d attempt %d was "
                       "aborted: another of its tasks failed",
                       b->round->stage, b->round->attempt);
    em__err(EM_ETIMEOUT, "barrier task %d: no message from task %d within "
            "%d ms (stage %d attempt %d)", b->index, from, b->timeout_ms,
            b->round->stage, b->round->attempt);
    return fail_round(b, EM_ETIMEOUT);
}

/* ---- barrier and allGather ---- */

static em_status gather(em_barrier *b, em_val v, em_arena *a, em_val *out)
{
    int n = b->round->n;
    em_val *items;
    em_status st = EM_OK;

    if ((items = em_array_make(a, (size_t)n, out)) == NULL)
        return EM_ENOMEM;
    for (int j = 0; j < n && st == EM_OK; j++)
        if (j != b->index)
            st = send_to(b, j, 0, v);
    if (st == EM_OK)
        st = em_val_copy(a, v, &items[b->index]);
    for (int j = 0; j < n && st == EM_OK; j++) {
        mail *m;
        if (j == b->index || (st = take(b, j, 0, &m)) != EM_OK)
            continue;
        st = em_val_copy(a, m->v, &items[j]);
        mail_free(m);
    }
    return st;
}

em_status em_barrier_all_gather(em_barrier *b, em_val v, em_arena *a,
                                em_val *out)
{
    em_val res;
    em_status st;

    b->seq++;
    if ((st = gather(b, v, a, &res)) == EM_OK)
        *out = res;
    return st;
}

em_status em_barrier_sync(em_barrier *b)
{
    em_arena *a = em__arena_create(0);
    em_val out;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    st = em_barrier_all_gather(b, em_nil(), a, &out);
    em__arena_destroy(a);
    return st;
}

/* ---- dense allreduce ---- */

static void combine(double *acc, const double *x, size_t n, em_reduce_op op)
{
    size_t i;

    switch (op) {
    case EM_REDUCE_MAX:
        for (i = 0; i < n; i++)
            acc[i] = x[i] > acc[i] ? x[i] : acc[i];
        break;
    case EM_REDUCE_MIN:
        for (i = 0; i < n; i++)
            acc[i] = x[i] < acc[i] ? x[i] : acc[i];
        break;
    default: /* sum, and mean's sum */
        for (i = 0; i < n; i++)
            acc[i] += x[i];
        break;
    }
}

/* Checks that a received piece is a dense vector of n elements. */
static em_status expect_vec(const em_barrier *b, const mail *m, size_t n)
{
    if (m->v.type == EM_VEC && m->v.len == n)
        return EM_OK;
    return em__err(EM_EINVAL, "allReduce: task %d gave a %s of %u elements "
                   "where task %d expected a dense vector of %zu (every "
                   "task must give the same length)", (int)m->k.from,
                   em_type_name((em_type)m->v.type), m->v.len, b->index, n);
}

/* Receives a piece into acc: combined with op, or copied when op < 0. */
static em_status recv_into(em_barrier *b, int from, int step, double *acc,
                           size_t n, int op)
{
    mail *m;
    em_status st;

    if ((st = take(b, from, step, &m)) != EM_OK)
        return st;
    if ((st = expect_vec(b, m, n)) != EM_OK) {
        mail_free(m);
        return fail_round(b, st);
    }
    if (op < 0 && n > 0)
        memcpy(acc, m->v.u.vec, n * sizeof(double));
    else if (op >= 0)
        combine(acc, m->v.u.vec, n, (em_reduce_op)op);
    mail_free(m);
    return EM_OK;
}

static size_t chunk_lo(size_t k, int m, int c)
{
    return (size_t)((uint64_t)k * (uint64_t)c / (uint64_t)m);
}

/* Ring: m-1 steps of reduce-scatter leave task i with the reduced chunk
 * i+1; m-1 steps of all-gather pass the reduced chunks around. */
static em_status ring_dense(em_barrier *b, double *acc, size_t k,
                            em_reduce_op op)
{
    int m = b->round->n, i = b->index;
    int next = (i + 1) % m, prev = (i + m - 1) % m;
    em_status st = EM_OK;

    for (int s = 0; s < 2 * (m - 1) && st == EM_OK; s++) {
        bool is_gather = s >= m - 1;
        int r = is_gather ? s - (m - 1) : s;
        int c = ((is_gather ? i + 1 : i) - r + 2 * m) % m;
        int rc = ((is_gather ? i : i - 1) - r + 2 * m) % m;
        size_t lo = chunk_lo(k, m, c), hi = chunk_lo(k, m, c + 1);
        size_t rlo = chunk_lo(k, m, rc), rhi = chunk_lo(k, m, rc + 1);
        st = send_to(b, next, s, em_vec(acc + lo, hi - lo));
        if (st == EM_OK)
            st = recv_into(b, prev, s, acc + rlo, rhi - rlo,
                           is_gather ? -1 : (int)op);
    }
    return st;
}

/* Tree: children 2i+1 and 2i+2 send their subtree's reduction up (step
 * 0), the root's result comes down (step 1). */
static em_status tree_dense(em_barrier *b, double *acc, size_t k,
                            em_reduce_op op)
{
    int m = b->round->n, i = b->index;
    em_status st = EM_OK;

    for (int c = 2 * i + 1; c <= 2 * i + 2 && c < m && st == EM_OK; c++)
        st = recv_into(b, c, 0, acc, k, (int)op);
    if (st == EM_OK && i > 0) {
        st = send_to(b, (i - 1) / 2, 0, em_vec(acc, k));
        if (st == EM_OK)
            st = recv_into(b, (i - 1) / 2, 1, acc, k, -1);
    }
    for (int c = 2 * i + 1; c <= 2 * i + 2 && c < m && st == EM_OK; c++)
        st = send_to(b, c, 1, em_vec(acc, k));
    return st;
}

static em_status reduce_dense(em_barrier *b, em_val v, em_reduce_op op,
                              em_allreduce_algo algo, em_arena *a,
                              em_val *out)
{
    em_val res;
    double *acc = em_vec_make(a, v.len, &res);
    em_status st;

    if (acc == NULL)
        return EM_ENOMEM;
    if (v.len > 0)
        memcpy(acc, v.u.vec, v.len * sizeof(double));
    st = algo == EM_ALLREDUCE_TREE ? tree_dense(b, acc, v.len, op)
                                   : ring_dense(b, acc, v.len, op);
    if (st != EM_OK)
        return st;
    if (op == EM_REDUCE_MEAN)
        for (uint32_t j = 0; j < v.len; j++)
            acc[j] /= b->round->n;
    *out = res;
    return EM_OK;
}

/* ---- sparse sum ---- */

/* The entries of x with index in [lo, hi), as a view (the struct in a). */
static em_status sp_slice(em_arena *a, em_val x, int64_t lo, int64_t hi,
                          em_val *out)
{
    const em_spvec *sp = x.u.sp;
    em_spvec *v = em__arena_alloc(a, sizeof(*v), _Alignof(em_spvec));
    uint32_t first = 0, last;

    if (v == NULL)
        return EM_ENOMEM;
    while (first < x.len && sp->idx[first] < lo)
        first++;
    for (last = first; last < x.len && sp->idx[last] < hi; last++)
        ;
    v->dim = sp->dim;
    v->idx = sp->idx + first;
    v->val = sp->val + first;
    out->type = EM_SPVEC;
    out->flags = 0;
    out->kind = 0;
    out->len = last - first;
    out->u.sp = v;
    return EM_OK;
}

/* x + y, merged by index, in a. */
static em_status sp_add(em_arena *a, em_val x, em_val y, em_val *out)
{
    size_t n = (size_t)x.len + y.len, k = 0, i = 0, j = 0;
    uint32_t *idx = em__arena_alloc(a, (n ? n : 1) * sizeof(*idx), 8);
    double *val = em__arena_alloc(a, (n ? n : 1) * sizeof(*val), 8);
    const em_spvec *p = x.u.sp, *q = y.u.sp;

    if (idx == NULL || val == NULL)
        return EM_ENOMEM;
    while (i < x.len || j < y.len) {
        if (j == y.len || (i < x.len && p->idx[i] < q->idx[j])) {
            idx[k] = p->idx[i];
            val[k++] = p->val[i++];
        } else if (i == x.len || q->idx[j] < p->idx[i]) {
            idx[k] = q->idx[j];
            val[k++] = q->val[j++];
        } else {
            idx[k] = p->idx[i];
            val[k++] = p->val[i++] + q->val[j++];
        }
    }
    return em_spvec_make(a, p->dim > q->dim ? p->dim : q->dim, idx, val, k,
                         out);
}

/* Receives a sparse piece of dimension dim: added to *acc, or replacing
 * it (is_copy). */
static em_status recv_sparse(em_barrier *b, int from, int step, int64_t dim,
                             em_arena *a, em_val *acc, bool is_copy)
{
    mail *m;
    em_status st;

    if ((st = take(b, from, step, &m)) != EM_OK)
        return st;
    if (m->v.type != EM_SPVEC || m->v.u.sp->dim != dim)
        st = em__err(EM_EINVAL, "allReduce: task %d gave a %s where task %d "
                     "expected a sparse vector of dimension %lld (every task "
                     "must give the same dimension)", from,
                     em_type_name((em_type)m->v.type), b->index,
                     (long long)dim);
    else if (is_copy)
        st = em_val_copy(a, m->v, acc);
    else
        st = sp_add(a, *acc, m->v, acc);
    mail_free(m);
    return st == EM_EINVAL ? fail_round(b, st) : st;
}

/* Ring over index ranges [c dim/m, (c+1) dim/m): the dense ring's steps
 * on sparse pieces. */
static em_status ring_sparse(em_barrier *b, em_val v, em_arena *w,
                             em_val *chunks)
{
    int m = b->round->n, i = b->index;
    int next = (i + 1) % m, prev = (i + m - 1) % m;
    int64_t dim = v.u.sp->dim;
    em_status st = EM_OK;

    for (int c = 0; c < m && st == EM_OK; c++)
        st = sp_slice(w, v, dim * c / m, dim * (c + 1) / m, &chunks[c]);
    for (int s = 0; s < 2 * (m - 1) && st == EM_OK; s++) {
        bool is_gather = s >= m - 1;
        int r = is_gather ? s - (m - 1) : s;
        int c = ((is_gather ? i + 1 : i) - r + 2 * m) % m;
        int rc = ((is_gather ? i : i - 1) - r + 2 * m) % m;
        st = send_to(b, next, s, chunks[c]);
        if (st == EM_OK)
            st = recv_sparse(b, prev, s, dim, w, &chunks[rc], is_gather);
    }
    return st;
}

static em_status tree_sparse(em_barrier *b, em_val *acc, em_arena *w)
{
    int m = b->round->n, i = b->index;
    int64_t dim = acc->u.sp->dim;
    em_status st = EM_OK;

    for (int c = 2 * i + 1; c <= 2 * i + 2 && c < m && st == EM_OK; c++)
        st = recv_sparse(b, c, 0, dim, w, acc, false);
    if (st == EM_OK && i > 0) {
        st = send_to(b, (i - 1) / 2, 0, *acc);
        if (st == EM_OK)
            st = recv_sparse(b, (i - 1) / 2, 1, dim, w, acc, true);
    }
    for (int c = 2 * i + 1; c <= 2 * i + 2 && c < m && st == EM_OK; c++)
        st = send_to(b, c, 1, *acc);
    return st;
}

/* The ring's chunks, in index order, as one vector in a. */
static em_status sp_concat(em_arena *a, const em_val *chunks, int m,
                           int64_t dim, em_val *out)
{
    size_t n = 0, k = 0;
    uint32_t *idx;
    double *val;

    for (int c = 0; c < m; c++)
        n += chunks[c].len;
    idx = em__arena_alloc(a, (n ? n : 1) * sizeof(*idx), 8);
    val = em__arena_alloc(a, (n ? n : 1) * sizeof(*val), 8);
    if (idx == NULL || val == NULL)
        return EM_ENOMEM;
    for (int c = 0; c < m; c++) {
        const em_spvec *sp = chunks[c].u.sp;
        if (chunks[c].len == 0)
            continue;
        memcpy(idx + k, sp->idx, chunks[c].len * sizeof(*idx));
        memcpy(val + k, sp->val, chunks[c].len * sizeof(*val));
        k += chunks[c].len;
    }
    return em_spvec_make(a, dim, idx, val, k, out);
}

static em_status reduce_sparse(em_barrier *b, em_val v,
                               em_allreduce_algo algo, em_arena *a,
                               em_val *out)
{
    em_arena *w = em__arena_create(0);
    em_val acc = v, *chunks = NULL;
    em_status st;

    if (w == NULL)
        return EM_ENOMEM;
    if (algo == EM_ALLREDUCE_TREE) {
        st = tree_sparse(b, &acc, w);
        if (st == EM_OK)
            st = em_val_copy(a, acc, out);
    } else {
        chunks = em__arena_alloc(w, (size_t)b->round->n * sizeof(em_val), 8);
        st = chunks ? ring_sparse(b, v, w, chunks) : EM_ENOMEM;
        if (st == EM_OK)
            st = sp_concat(a, chunks, b->round->n, v.u.sp->dim, out);
    }
    em__arena_destroy(w);
    return st;
}

em_status em_barrier_all_reduce(em_barrier *b, em_val v, em_reduce_op op,
                                em_allreduce_algo algo, em_arena *a,
                                em_val *out)
{
    b->seq++;
    if (op < EM_REDUCE_SUM || op > EM_REDUCE_MIN ||
        (algo != EM_ALLREDUCE_RING && algo != EM_ALLREDUCE_TREE))
        return em__err(EM_EINVAL, "allReduce: unknown operator %d or "
                       "algorithm %d", (int)op, (int)algo);
    if (v.type == EM_VEC)
        return reduce_dense(b, v, op, algo, a, out);
    if (v.type != EM_SPVEC)
        return em__err(EM_ETYPE, "allReduce: a dense or sparse vector is "
                       "needed, not %s", em_type_name((em_type)v.type));
    if (op != EM_REDUCE_SUM)
        return em__err(EM_EINVAL, "allReduce: sparse vectors are reduced by "
                       "sum only");
    return reduce_sparse(b, v, algo, a, out);
}

em_barrier *em_task_barrier(em_task *t)
{
    return t != NULL ? t->barrier : NULL;
}

int em_barrier_partition(const em_barrier *b)
{
    return b->index;
}

int em_barrier_num_tasks(const em_barrier *b)
{
    return b->round->n;
}

void em_barrier_stats_get(const em_barrier *b, em_barrier_stats *out)
{
    *out = b->stats;
}
