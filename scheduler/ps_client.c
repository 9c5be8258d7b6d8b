/* The parameter server's client side (include/ember/ps.h): the handle tasks
 * capture, routing of keys to shards, requests with retries, and the
 * process's cache of pulled values for bounded staleness. docs/ps.md
 * describes the consistency it gives.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "peer.h"
#include "ps_client.h"
#include "runtime/arena.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "runtime/rdd.h"
#include "runtime/vmap.h"

/* What this process keeps per server for its tasks: the cache of pulled
 * values and the addresses of shards restored elsewhere. */
struct client {
    int64_t id;
    int dim;
    int nshards;
    pthread_mutex_t lock;
    em__vmap index;      /* key -> int slot in w and ver */
    double *w;           /* n * dim cached values */
    int64_t *ver;        /* the shard's version each copy was read at */
    size_t n, cap;
    char **addrs;        /* nshards slots; NULL: the handle's address */
    int64_t *acked;      /* nshards: the highest version a push of this
                            process was answered with (-1: none) */
    int64_t max_lag;     /* largest staleness served (for tests) */
    struct client *next;
};

/* Process-wide, as the shards are (scheduler/ps_shard.c). */
static struct {
    pthread_mutex_t lock;
    struct client *clients;
} reg = {PTHREAD_MUTEX_INITIALIZER, NULL};

static void client_free(struct client *c)
{
    for (int i = 0; i < c->nshards; i++)
        if (c->addrs[i] != NULL)
            em__mem_free(c->addrs[i], strlen(c->addrs[i]) + 1);
    em__mem_free(c->addrs, (size_t)c->nshards * sizeof(*c->addrs));
    em__mem_free(c->acked, (size_t)c->nshards * sizeof(*c->acked));
    em__mem_free(c->w, c->cap * (size_t)c->dim * sizeof(*c->w));
    em__mem_free(c->ver, c->cap * sizeof(*c->ver));
    em__vmap_fini(&c->index);
    pthread_mutex_destroy(&c->lock);
    em__mem_free(c, sizeof(*c));
}

/* A new client of server id; NULL when out of memory. */
static struct client *client_new(int64_t id, int dim, int nshards)
{
    struct client *c = em__mem_calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->id = id;
    c->dim = dim;
    c->nshards = nshards;
    c->addrs = em__mem_calloc((size_t)nshards, sizeof(*c->addrs));
    c->acked = em__mem_alloc((size_t)nshards * sizeof(*c->acked));
    if (c->addrs == NULL || c->acked == NULL ||
        em__vmap_init(&c->index) != EM_OK) {
        em__mem_free(c->addrs, (size_t)nshards * sizeof(*c->addrs));
        em__mem_free(c->acked, (size_t)nshards * sizeof(*c->acked));
        em__mem_free(c, sizeof(*c));
        return NULL;
    }
    for (int i = 0; i < nshards; i++)
        c->acked[i] = -1;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

/* The client of server id, or NULL; under reg.lock. */
static struct client *client_find(int64_t id)
{
    struct client *c = reg.clients;

    while (c != NULL && c->id != id)
        c = c->next;
    return c;
}

/* The client of server id, made when absent. */
static em_status client_get(int64_t id, int dim, int nshards,
                            struct client **out)
{
    struct client *c;

    pthread_mutex_lock(&reg.lock);
    if ((c = client_find(id)) == NULL &&
        (c = client_new(id, dim, nshards)) != NULL) {
        c->next = reg.clients;
        reg.clients = c;
    }
    pthread_mutex_unlock(&reg.lock);
    if (c == NULL)
        return em__oom();
    if (c->dim != dim || c->nshards != nshards)
        return em__err(EM_EINVAL, "parameter server %lld: a handle of "
                       "another shape", (long long)id);
    *out = c;
    return EM_OK;
}

void em__ps_client_drop(int64_t id)
{
    struct client **p, *c = NULL;

    pthread_mutex_lock(&reg.lock);
    for (p = &reg.clients; *p != NULL; p = &(*p)->next)
        if ((*p)->id == id) {
            c = *p;
            *p = c->next;
            break;
        }
    pthread_mutex_unlock(&reg.lock);
    if (c != NULL)
        client_free(c);
}

em_status em__ps_remap(const em_val *req)
{
    struct client *c;
    em_val addr;
    int64_t f[4];
    char *s;
    em_status st;

    /* [op, id, shard, addr, dim, shards] */
    if (req->len != 6 || (addr = req->u.arr[3]).type != EM_STR)
        return em__err(EM_EPROTO, "parameter server: malformed remap");
    for (int i = 0; i < 4; i++)
        if (!em_val_as_int(req->u.arr[i < 2 ? i + 1 : i + 2], &f[i]))
            return em__err(EM_EPROTO, "parameter server: malformed remap");
    if (f[1] < 0 || f[1] >= f[3] || f[2] < 1 || f[2] > INT32_MAX ||
        f[3] > 1 << 16)
        return em__err(EM_EPROTO, "parameter server: malformed remap");
    /* made when absent: a task that starts here later must not use the
       address its handle holds */
    if ((st = client_get(f[0], (int)f[2], (int)f[3], &c)) != EM_OK)
        return st;
    if ((s = em__mem_alloc(addr.len + 1)) == NULL)
        return em__oom();
    memcpy(s, addr.u.s, addr.len);
    s[addr.len] = '\0';
    pthread_mutex_lock(&c->lock);
    if (c->addrs[f[1]] != NULL)
        em__mem_free(c->addrs[f[1]], strlen(c->addrs[f[1]]) + 1);
    c->addrs[f[1]] = s;
    pthread_mutex_unlock(&c->lock);
    return EM_OK;
}

int64_t em__ps_acked(int64_t id, int shard)
{
    struct client *c;
    int64_t v = -1;

    pthread_mutex_lock(&reg.lock);
    c = client_find(id);
    pthread_mutex_unlock(&reg.lock);
    if (c != NULL && shard >= 0 && shard < c->nshards) {
        pthread_mutex_lock(&c->lock);
        v = c->acked[shard];
        pthread_mutex_unlock(&c->lock);
    }
    return v;
}

int64_t em__ps_client_max_lag(int64_t id)
{
    struct client *c;
    int64_t lag = 0;

    pthread_mutex_lock(&reg.lock);
    if ((c = client_find(id)) != NULL)
        lag = c->max_lag;
    pthread_mutex_unlock(&reg.lock);
    return lag;
}

/* ---- the handle ---- */

em_status em__ps_handle_make(const em__ps_desc *d, em_arena *a, em_val *out)
{
    em_val items[7], desc;
    em__buf b = EM__BUF_INIT;
    void *state;
    em_status st;

    items[0] = em_int(d->id);
    items[1] = em_int(d->dim);
    items[2] = em_int(d->nshards);
    items[3] = em_int(d->staleness);
    items[4] = em_int(d->timeout_ms);
    items[5] = d->addrs;
    items[6] = d->hot;
    desc = em_array(items, 7);
    if ((st = em__codec_encode(&b, desc)) != EM_OK ||
        (state = em__arena_dup(a, b.data, b.len)) == NULL) {
        em__buf_fini(&b);
        return st != EM_OK ? st : em__oom();
    }
    memset(out, 0, sizeof(*out));
    out->type = EM_HANDLE;
    out->kind = EM_PS_HANDLE_KIND;
    out->len = (uint32_t)b.len;
    out->u.state = state;
    em__buf_fini(&b);
    return EM_OK;
}

static em_status bad_handle(void)
{
    return em__err(EM_EINVAL, "not a parameter server handle (em_ps_ref)");
}

em_status em__ps_handle_parse(em_val ref, em_arena *a, em__ps_desc *out)
{
    em_val v;
    const em_val *f;
    em__ps_desc d;

    if (ref.type != EM_HANDLE || ref.kind != EM_PS_HANDLE_KIND ||
        em__codec_decode(ref.u.state, ref.len, NULL, a, &v, NULL) != EM_OK ||
        v.type != EM_ARRAY || v.len != 7)
        return bad_handle();
    f = v.u.arr;
    for (int i = 0; i < 5; i++)
        if (f[i].type != EM_INT)
            return bad_handle();
    d.id = f[0].u.i;
    d.dim = (int)f[1].u.i;
    d.nshards = (int)f[2].u.i;
    d.staleness = (int)f[3].u.i;
    d.timeout_ms = (int)f[4].u.i;
    d.addrs = f[5];
    d.hot = f[6];
    if (d.dim < 1 || d.nshards < 1 || d.addrs.type != EM_ARRAY ||
        d.addrs.len != (uint32_t)d.nshards || d.hot.type != EM_MAP)
        return bad_handle();
    for (int i = 0; i < d.nshards; i++)
        if (d.addrs.u.arr[i].type != EM_STR)
            return bad_handle();
    *out = d;
    return EM_OK;
}

int em__ps_shard_of(const em__ps_desc *d, em_val key)
{
    uint32_t lo = 0, hi = d->hot.len;

    /* the hot keys' map is sorted by key (em_map_make) */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = em_val_cmp(d->hot.u.map[2 * mid], key);
        if (c == 0)
            return (int)d->hot.u.map[2 * mid + 1].u.i;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int)(em_val_hash(key) % (uint64_t)d->nshards);
}

/* ---- requests ---- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* The address of shard i as this process knows it (into a). */
static em_status shard_addr(const em__ps_desc *d, int i, em_arena *a,
                            const char **out)
{
    struct client *c;
    em_val s = d->addrs.u.arr[i];
    char *p;

    pthread_mutex_lock(&reg.lock);
    c = client_find(d->id);
    pthread_mutex_unlock(&reg.lock);
    if (c != NULL)
        pthread_mutex_lock(&c->lock);
    if (c != NULL && c->addrs[i] != NULL)
        s = em_cstr(c->addrs[i]);
    if ((p = em__arena_alloc(a, s.len + 1, 1)) != NULL) {
        memcpy(p, s.u.s, s.len);
        p[s.len] = '\0';
    }
    if (c != NULL)
        pthread_mutex_unlock(&c->lock);
    if (p == NULL)
        return em__oom();
    *out = p;
    return EM_OK;
}

em_status em__ps_call(em_ctx *ctx, const em__ps_desc *d, int shard,
                      em_val req, em_arena *a, em_val *reply)
{
    int64_t deadline = now_ms() + d->timeout_ms;
    int wait_ms = 1;
    const char *addr = NULL;
    em_status st = EM_OK;

    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0 && st == EM_ELOST)
            return em__err(EM_ELOST, "parameter server: shard %d's "
                           "executor is gone and no restore came within "
                           "%d ms", shard, d->timeout_ms);
        if (left <= 0)
            return em__err(EM_ETIMEOUT, "parameter server: shard %d did "
                           "not answer within %d ms", shard, d->timeout_ms);
        /* looked up again each time: a restore elsewhere remaps it */
        if ((st = shard_addr(d, shard, a, &addr)) != EM_OK)
            return st;
        st = em__peer_call(ctx, addr, EM__PEER_PS, req, a, reply, (int)left);
        if (st == EM_OK && (reply->type != EM_ARRAY || reply->len < 1 ||
                            reply->u.arr[0].type != EM_INT))
            return em__err(EM_EPROTO, "parameter server: malformed reply");
        if (st == EM_OK && reply->u.arr[0].u.i == EM__PS_DONE)
            return EM_OK;
        if (st != EM_OK && st != EM_ELOST)
            return st;
        /* not yet, or the shard's executor is gone: wait for its
           restore, backing off */
        sleep_ms(wait_ms);
        wait_ms = wait_ms < 64 ? 2 * wait_ms : 64;
    }
}

/* ---- the cache ---- */

/* The versions of the cached copies of keys (-1: none), in a. */
static em_status cache_versions(struct client *c, const em_val *keys,
                                size_t m, em_arena *a, em_val *out)
{
    em_val *v = em_array_make(a, m, out);

    if (v == NULL)
        return em__oom();
    pthread_mutex_lock(&c->lock);
    for (size_t j = 0; j < m; j++) {
        const em_val *slot = em__vmap_get(&c->index, keys[j]);
        v[j] = em_int(slot != NULL ? c->ver[slot->u.i] : -1);
    }
    pthread_mutex_unlock(&c->lock);
    return EM_OK;
}

/* Doubles the cache's room. */
static em_status cache_grow(struct client *c)
{
    size_t ncap = c->cap < 64 ? 64 : 2 * c->cap, dim = (size_t)c->dim;
    double *w = em__mem_alloc(ncap * dim * sizeof(*w));
    int64_t *ver = em__mem_alloc(ncap * sizeof(*ver));

    if (w == NULL || ver == NULL) {
        em__mem_free(w, ncap * dim * sizeof(*w));
        em__mem_free(ver, ncap * sizeof(*ver));
        return em__oom();
    }
    if (c->n > 0) {
        memcpy(w, c->w, c->n * dim * sizeof(*w));
        memcpy(ver, c->ver, c->n * sizeof(*ver));
    }
    em__mem_free(c->w, c->cap * dim * sizeof(*w));
    em__mem_free(c->ver, c->cap * sizeof(*ver));
    c->w = w;
    c->ver = ver;
    c->cap = ncap;
    return EM_OK;
}

/* Keeps w as key's copy read at version ver, unless a newer one is kept:
 * a copy never goes back, so a version sent to the shard is a lower
 * bound of the one found after the reply. Under c->lock. */
static em_status cache_store(struct client *c, em_val key, const double *w,
                             int64_t ver)
{
    bool is_new;
    em_val *slot;
    size_t i;

    if (c->n == c->cap && cache_grow(c) != EM_OK)
        return EM_ENOMEM;
    if ((slot = em__vmap_upsert(&c->index, key, &is_new)) == NULL)
        return em__oom();
    if (is_new || slot->type != EM_INT) {
        *slot = em_int((int64_t)c->n);
        c->ver[c->n++] = -1;
    }
    i = (size_t)slot->u.i;
    if (c->ver[i] > ver)
        return EM_OK;
    memcpy(&c->w[i * (size_t)c->dim], w, (size_t)c->dim * sizeof(*w));
    c->ver[i] = ver;
    return EM_OK;
}

/* Key's cached copy into out; the staleness served is recorded. */
static em_status cache_read(struct client *c, em_val key, int64_t version,
                            double *out)
{
    const em_val *slot;
    int64_t lag;

    slot = em__vmap_get(&c->index, key);
    if (slot == NULL || slot->type != EM_INT)
        return em__err(EM_EPROTO, "parameter server: a cached copy went "
                       "missing");
    memcpy(out, &c->w[slot->u.i * c->dim], (size_t)c->dim * sizeof(*out));
    lag = version - c->ver[slot->u.i];
    if (lag > c->max_lag)
        c->max_lag = lag;
    return EM_OK;
}

/* ---- pull and push ---- */

/* Groups keys by shard: order[] lists the key indices shard by shard,
 * shard s's from start[s] to start[s + 1]. */
static em_status group(const em__ps_desc *d, const em_val *keys, size_t n,
                       em_arena *a, size_t **order_out, size_t **start_out)
{
    size_t *order = em__arena_alloc(a, (n + 1) * sizeof(*order), 8);
    size_t *start = em__arena_alloc(a, ((size_t)d->nshards + 2) *
                                           sizeof(*start), 8);
    int *sid = em__arena_alloc(a, (n + 1) * sizeof(*sid), 8);

    if (order == NULL || start == NULL || sid == NULL)
        return em__oom();
    memset(start, 0, ((size_t)d->nshards + 2) * sizeof(*start));
    for (size_t i = 0; i < n; i++) {
        sid[i] = em__ps_shard_of(d, keys[i]);
        start[sid[i] + 2]++;
    }
    for (int s = 0; s < d->nshards; s++)
        start[s + 2] += start[s + 1];
    for (size_t i = 0; i < n; i++)
        order[start[sid[i] + 1]++] = i;
    *order_out = order;
    *start_out = start;
    return EM_OK;
}

/* The reply's values into out (and the cache when c is not NULL). */
static em_status pull_scatter(const em__ps_desc *d, struct client *c,
                              const em_val *keys, const size_t *idx,
                              size_t m, em_val reply, double *out)
{
    em_val vals;
    int64_t version;
    em_status st = EM_OK;

    if (reply.len != 3 || reply.u.arr[1].type != EM_INT ||
        (vals = reply.u.arr[2]).type != EM_ARRAY || vals.len != m)
        return em__err(EM_EPROTO, "parameter server: malformed reply");
    version = reply.u.arr[1].u.i;
    if (c != NULL)
        pthread_mutex_lock(&c->lock);
    for (size_t j = 0; j < m && st == EM_OK; j++) {
        double *o = &out[idx[j] * (size_t)d->dim];
        em_val v = vals.u.arr[j];
        if (v.type == EM_VEC && v.len == (uint32_t)d->dim) {
            memcpy(o, v.u.vec, (size_t)d->dim * sizeof(*o));
            if (c != NULL)
                st = cache_store(c, keys[idx[j]], o, version);
        } else if (v.type == EM_NIL && c != NULL) {
            st = cache_read(c, keys[idx[j]], version, o);
        } else {
            st = em__err(EM_EPROTO, "parameter server: malformed reply");
        }
    }
    if (c != NULL)
        pthread_mutex_unlock(&c->lock);
    return st;
}

/* The client of server id if this process has one, else NULL. */
static struct client *client_lookup(int64_t id)
{
    struct client *c;

    pthread_mutex_lock(&reg.lock);
    c = client_find(id);
    pthread_mutex_unlock(&reg.lock);
    return c;
}

static em_status pull_shard(em_ctx *ctx, const em__ps_desc *d, int s,
                            const em_val *keys, const size_t *idx, size_t m,
                            em_arena *a, double *out)
{
    bool has_cache = d->staleness >= 0;
    struct client *c = has_cache ? client_lookup(d->id) : NULL;
    em_val *items, *ks, req, reply;
    em_status st;

    if ((items = em_array_make(a, 6, &req)) == NULL ||
        (ks = em_array_make(a, m, &items[3])) == NULL)
        return em__oom();
    items[0] = em_int(EM__PS_PULL);
    items[1] = em_int(d->id);
    items[2] = em_int(s);
    for (size_t j = 0; j < m; j++)
        ks[j] = keys[idx[j]];
    if (c != NULL && (st = cache_versions(c, ks, m, a, &items[4])) != EM_OK)
        return st;
    items[5] = em_int(d->staleness);
    if ((st = em__ps_call(ctx, d, s, req, a, &reply)) != EM_OK)
        return st;
    /* the cache is made on a first answer, so that a server that is gone
       leaves nothing behind here */
    if (has_cache && c == NULL &&
        (st = client_get(d->id, d->dim, d->nshards, &c)) != EM_OK)
        return st;
    return pull_scatter(d, c, keys, idx, m, reply, out);
}

em_status em__ps_pull(em_ctx *ctx, const em__ps_desc *d, const em_val *keys,
                      size_t n, double *out)
{
    em_arena *a = em__arena_create(0);
    size_t *order, *start;
    em_status st;

    if (a == NULL)
        return em__oom();
    st = group(d, keys, n, a, &order, &start);
    for (int s = 0; s < d->nshards && st == EM_OK; s++)
        if (start[s + 1] > start[s])
            st = pull_shard(ctx, d, s, keys, &order[start[s]],
                            start[s + 1] - start[s], a, out);
    em__arena_destroy(a);
    return st;
}

em_status em__ps_keeper(const em__ps_desc *d, int s, em_arena *a,
                        const char **out)
{
    const char *own, *other;
    em_status st;

    if ((st = shard_addr(d, s, a, &own)) != EM_OK)
        return st;
    for (int j = 1; j < d->nshards; j++) {
        if ((st = shard_addr(d, (s + j) % d->nshards, a, &other)) != EM_OK)
            return st;
        if (strcmp(other, own) != 0) {
            *out = other;
            return EM_OK;
        }
    }
    *out = NULL;
    return EM_OK;
}

/* Sends the snapshot a push took to the shard's keeper, so that it
 * outlives the shard's process. A keeper that cannot take it is not the
 * push's failure: the previous snapshot stays the one a restore uses. */
static void keep_snapshot(em_ctx *ctx, const em__ps_desc *d, int s,
                          em_val snap, em_arena *a)
{
    const char *keeper;
    em_val *items, req, reply;

    if (em__ps_keeper(d, s, a, &keeper) != EM_OK || keeper == NULL ||
        (items = em_array_make(a, 4, &req)) == NULL)
        return;
    items[0] = em_int(EM__PS_KEEP);
    items[1] = em_int(d->id);
    items[2] = em_int(s);
    items[3] = snap;
    (void)em__peer_call(ctx, keeper, EM__PEER_PS, req, a, &reply,
                        d->timeout_ms);
}

static em_status push_shard(em_ctx *ctx, const em__ps_desc *d, int s,
                            const em_val *keys, const size_t *idx, size_t m,
                            const double *deltas, em_arena *a)
{
    struct client *c;
    em_val *items, *ks, req, reply;
    double *g;
    size_t dim = (size_t)d->dim;
    em_status st;

    if ((items = em_array_make(a, 5, &req)) == NULL ||
        (ks = em_array_make(a, m, &items[3])) == NULL ||
        (g = em_vec_make(a, m * dim, &items[4])) == NULL)
        return em__oom();
    items[0] = em_int(EM__PS_PUSH);
    items[1] = em_int(d->id);
    items[2] = em_int(s);
    for (size_t j = 0; j < m; j++) {
        ks[j] = keys[idx[j]];
        memcpy(&g[j * dim], &deltas[idx[j] * dim], dim * sizeof(*g));
    }
    if ((st = em__ps_call(ctx, d, s, req, a, &reply)) != EM_OK)
        return st;
    if (reply.len != 3 || reply.u.arr[1].type != EM_INT)
        return em__err(EM_EPROTO, "parameter server: malformed reply");
    if ((st = client_get(d->id, d->dim, d->nshards, &c)) != EM_OK)
        return st;
    pthread_mutex_lock(&c->lock);
    if (reply.u.arr[1].u.i > c->acked[s])
        c->acked[s] = reply.u.arr[1].u.i;
    pthread_mutex_unlock(&c->lock);
    if (reply.u.arr[2].type != EM_NIL)
        keep_snapshot(ctx, d, s, reply.u.arr[2], a);
    return EM_OK;
}

em_status em__ps_push(em_ctx *ctx, const em__ps_desc *d, const em_val *keys,
                      size_t n, const double *deltas)
{
    em_arena *a;
    size_t *order, *start;
    em_status st;

    for (size_t i = 0; i < n * (size_t)d->dim; i++)
        if (!isfinite(deltas[i]))
            return em__err(EM_EINVAL, "parameter server push: delta %zu of "
                           "key %zu is not finite", i % (size_t)d->dim,
                           i / (size_t)d->dim);
    if ((a = em__arena_create(0)) == NULL)
        return em__oom();
    st = group(d, keys, n, a, &order, &start);
    for (int s = 0; s < d->nshards && st == EM_OK; s++)
        if (start[s + 1] > start[s])
            st = push_shard(ctx, d, s, keys, &order[start[s]],
                            start[s + 1] - start[s], deltas, a);
    em__arena_destroy(a);
    return st;
}

/* ---- in tasks ---- */

static em_status task_desc(em_task *t, em_val ps, em_arena **a,
                           em__ps_desc *d)
{
    em_status st;

    if (t == NULL)
        return em__err(EM_EINVAL, "parameter server: no task");
    if ((*a = em__arena_create(0)) == NULL)
        return em__oom();
    if ((st = em__ps_handle_parse(ps, *a, d)) != EM_OK)
        em__arena_destroy(*a);
    return st;
}

em_status em_ps_ref_dim(em_val ps, int *out)
{
    em_arena *a = em__arena_create(0);
    em__ps_desc d;
    em_status st;

    if (a == NULL)
        return em__oom();
    if ((st = em__ps_handle_parse(ps, a, &d)) == EM_OK)
        *out = d.dim;
    em__arena_destroy(a);
    return st;
}

em_status em_ps_pull(em_task *t, em_val ps, const em_val *keys, size_t n,
                     double *out)
{
    em_arena *a;
    em__ps_desc d;
    em_status st;

    if (n > 0 && (keys == NULL || out == NULL))
        return em__err(EM_EINVAL, "em_ps_pull: NULL keys or out");
    if ((st = task_desc(t, ps, &a, &d)) != EM_OK)
        return st;
    st = em__ps_pull(t->ctx, &d, keys, n, out);
    em__arena_destroy(a);
    return st;
}

em_status em_ps_push(em_task *t, em_val ps, const em_val *keys, size_t n,
                     const double *deltas)
{
    em_arena *a;
    em__ps_desc d;
    em_status st;

    if (n > 0 && (keys == NULL || deltas == NULL))
        return em__err(EM_EINVAL, "em_ps_push: NULL keys or deltas");
    if ((st = task_desc(t, ps, &a, &d)) != EM_OK)
        return st;
    st = em__ps_push(t->ctx, &d, keys, n, deltas);
    em__arena_destroy(a);
    return st;
}
