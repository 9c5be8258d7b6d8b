/* The parameter server's driver side (include/ember/ps.h): placing the
 * shards on the application's processes, the handle tasks capture,
 * statistics, the rebalancing of hot keys, and restoring a lost shard
 * from its snapshot. docs/ps.md describes the design.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "peer.h"
#include "ps_client.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/log.h"
#include "runtime/mem.h"

#define DEFAULT_TIMEOUT_MS 30000
#define LOCAL_SHARDS 4

struct em_ps {
    em_ctx *ctx;
    em__ps_conf conf;
    pthread_mutex_t lock;  /* desc, ref and the counters */
    em_arena *arena;       /* desc's addresses and hot map, and ref;
                              replaced when they change */
    em__ps_desc desc;
    em_val ref;            /* the handle, made from desc */
    em_arena **retired;    /* arenas of earlier descs, which other
                              threads may still read: freed at destroy */
    size_t nretired, retired_cap;
    int64_t restores;
    int64_t lost_pushes;
    bool is_pool;          /* shards in executors, which may be lost */
    pthread_cond_t restored; /* signalled when the restorer stops */
    bool is_restoring;     /* a restorer thread runs */
    char **lost;           /* executors lost, waiting for the restorer */
    size_t nlost, lost_cap;
};

/* Ids are unique in the process (local mode runs several contexts in
 * one); on the pool each executor serves one driver. */
static _Atomic int64_t next_id = 1;

static em_status check_opts(const em_ps_opts *o)
{
    if (o == NULL || o->dim < 1)
        return em__err(EM_EINVAL, "em_ps_create: dim must be >= 1");
    if ((unsigned)o->init > EM_PS_INIT_NORMAL)
        return em__err(EM_EINVAL, "em_ps_create: unknown init %d",
                       (int)o->init);
    if (o->init == EM_PS_INIT_UNIFORM && !(o->init_a < o->init_b))
        return em__err(EM_EINVAL, "em_ps_create: uniform init needs a < b "
                       "(%g, %g)", o->init_a, o->init_b);
    if (o->init == EM_PS_INIT_NORMAL && !(o->init_b >= 0))
        return em__err(EM_EINVAL, "em_ps_create: normal init needs a "
                       "standard deviation >= 0 (%g)", o->init_b);
    if (o->snapshot_every < 0 || o->timeout_ms < 0 || o->shards > 1 << 16)
        return em__err(EM_EINVAL, "em_ps_create: snapshot_every and "
                       "timeout_ms must be >= 0, shards at most 65536");
    return EM_OK;
}

/* The string value v as a NUL-terminated copy in a; NULL when out of
 * memory. */
static const char *cstr(em_arena *a, em_val v)
{
    char *p = em__arena_alloc(a, v.len + 1, 1);

    if (p != NULL) {
        memcpy(p, v.u.s, v.len);
        p[v.len] = '\0';
    }
    return p;
}

/* The current desc: its addresses and hot keys stay valid until
 * destroy, though a restore or rebalance may replace them. */
static em__ps_desc desc_get(em_ps *ps)
{
    em__ps_desc d;

    pthread_mutex_lock(&ps->lock);
    d = ps->desc;
    pthread_mutex_unlock(&ps->lock);
    return d;
}

/* Sends req to shard s (driver side, through the handle's routing). */
static em_status ask(em_ps *ps, int s, em_val req, em_arena *a,
                     em_val *reply)
{
    em__ps_desc d = desc_get(ps);

    return em__ps_call(ps->ctx, &d, s, req, a, reply);
}

/* [op, id, s, extra...] in a. */
static em_status make_req(em_ps *ps, int op, int s, const em_val *extra,
                          size_t n, em_arena *a, em_val *out)
{
    em_val *items = em_array_make(a, 3 + n, out);

    if (items == NULL)
        return em__oom();
    items[0] = em_int(op);
    items[1] = em_int(ps->desc.id);
    items[2] = em_int(s);
    for (size_t i = 0; i < n; i++)
        items[3 + i] = extra[i];
    return EM_OK;
}

/* Makes shard s at addr, from snapshot snap (nil: empty). */
static em_status shard_create(em_ps *ps, int s, const char *addr,
                              em_val snap, em_arena *a)
{
    em_val extra[2], req, reply;
    em_status st;

    extra[1] = snap;
    if ((st = em__ps_conf_to_val(&ps->conf, a, &extra[0])) != EM_OK ||
        (st = make_req(ps, EM__PS_CREATE, s, extra, 2, a, &req)) != EM_OK)
        return st;
    st = em__peer_call(ps->ctx, addr, EM__PEER_PS, req, a, &reply,
                       ps->desc.timeout_ms);
    return st;
}

/* desc (with new addresses or hot keys, already in `a`) becomes the
 * current one, and its handle is made; takes a. */
static em_status desc_set(em_ps *ps, em_arena *a, em_val addrs, em_val hot)
{
    em__ps_desc d = desc_get(ps);
    em_val ref;
    em_status st;

    d.addrs = addrs;
    d.hot = hot;
    if ((st = em__ps_handle_make(&d, a, &ref)) != EM_OK)
        goto out_free;
    pthread_mutex_lock(&ps->lock);
    if (ps->arena != NULL &&
        em__mem_grow((void **)&ps->retired, &ps->retired_cap,
                     ps->nretired + 1, sizeof(*ps->retired)) != 0) {
        pthread_mutex_unlock(&ps->lock);
        st = em__oom();
        goto out_free;
    }
    if (ps->arena != NULL)
        ps->retired[ps->nretired++] = ps->arena;
    ps->arena = a;
    ps->desc = d;
    ps->ref = ref;
    pthread_mutex_unlock(&ps->lock);
    return EM_OK;
out_free:
    em__arena_destroy(a);
    return st;
}

/* Places shard i on member i mod m and makes it there. */
static em_status place_shards(em_ps *ps)
{
    em_arena *a = em__arena_create(0);
    em_val members, addrs, hot = {0}, *items;
    em_status st;

    if (a == NULL)
        return em__oom();
    if ((st = em__peer_members(ps->ctx, a, &members)) != EM_OK)
        goto out_free;
    if (members.type != EM_ARRAY || members.len == 0) {
        st = em__err(EM_ESTATE, "em_ps_create: no executor to place the "
                     "shards on");
        goto out_free;
    }
    if (ps->conf.shards <= 0)
        ps->conf.shards = strcmp(members.u.arr[0].u.s, "local") == 0
                              ? LOCAL_SHARDS
                              : (int)members.len;
    ps->desc.nshards = ps->conf.shards;
    if ((items = em_array_make(a, (size_t)ps->conf.shards, &addrs)) == NULL) {
        st = em__oom();
        goto out_free;
    }
    hot.type = EM_MAP;
    ps->is_pool = strcmp(members.u.arr[0].u.s, "local") != 0;
    for (int i = 0; i < ps->conf.shards; i++) {
        const char *addr;
        items[i] = members.u.arr[(uint32_t)i % members.len];
        if ((addr = cstr(a, items[i])) == NULL) {
            st = em__oom();
            goto out_free;
        }
        if ((st = shard_create(ps, i, addr, em_nil(), a)) != EM_OK)
            goto out_free;
    }
    return desc_set(ps, a, addrs, hot);
out_free:
    em__arena_destroy(a);
    return st;
}

static void on_lost(void *arg, const char *addr);

em_ps *em__ps_create(em_ctx *ctx, const em_ps_opts *opts)
{
    em_ps *ps;

    if (ctx == NULL)
        return em__err(EM_EINVAL, "em_ps_create: NULL context"), NULL;
    if (check_opts(opts) != EM_OK)
        return NULL;
    if ((ps = em__mem_calloc(1, sizeof(*ps))) == NULL)
        return em__oom(), NULL;
    ps->ctx = ctx;
    ps->conf.dim = opts->dim;
    ps->conf.shards = opts->shards;
    ps->conf.init = opts->init;
    ps->conf.init_a = opts->init_a;
    ps->conf.init_b = opts->init_b;
    ps->conf.seed = opts->seed;
    ps->conf.has_optim = opts->has_optim;
    ps->conf.optim = opts->optim;
    ps->conf.snapshot_every = opts->snapshot_every;
    ps->desc.id = atomic_fetch_add(&next_id, 1);
    ps->desc.dim = opts->dim;
    ps->desc.staleness = opts->is_blocking ? -1 : opts->staleness;
    ps->desc.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms
                                               : DEFAULT_TIMEOUT_MS;
    pthread_mutex_init(&ps->lock, NULL);
    pthread_cond_init(&ps->restored, NULL);
    if (place_shards(ps) != EM_OK) {
        em_ps_destroy(ps);
        return NULL;
    }
    if (ps->is_pool)
        em__peer_on_lost(ctx, on_lost, ps, 1);
    return ps;
}

/* Asks every executor to drop the server's state (best effort: an
 * executor that misses it keeps the state until the application ends). */
static void drop_on_pool(em_ps *ps)
{
    em_arena *a = em__arena_create(0);
    em_val members, req, reply;
    const char *addr;

    if (a != NULL && em__peer_members(ps->ctx, a, &members) == EM_OK &&
        make_req(ps, EM__PS_DROP, 0, NULL, 0, a, &req) == EM_OK)
        for (uint32_t i = 0; i < members.len; i++)
            if ((addr = cstr(a, members.u.arr[i])) != NULL)
                (void)em__peer_call(ps->ctx, addr, EM__PEER_PS, req, a,
                                    &reply, ps->desc.timeout_ms);
    em__arena_destroy(a);
}

void em_ps_destroy(em_ps *ps)
{
    if (ps == NULL)
        return;
    if (ps->is_pool)
        em__peer_on_lost(ps->ctx, on_lost, ps, 0);
    pthread_mutex_lock(&ps->lock);
    while (ps->is_restoring)
        pthread_cond_wait(&ps->restored, &ps->lock);
    pthread_mutex_unlock(&ps->lock);
    /* this process's state (all of it in local mode) goes without
       needing memory */
    em__ps_drop_here(ps->desc.id);
    if (ps->is_pool)
        drop_on_pool(ps);
    em__arena_destroy(ps->arena);
    for (size_t i = 0; i < ps->nretired; i++)
        em__arena_destroy(ps->retired[i]);
    em__mem_free(ps->retired, ps->retired_cap * sizeof(*ps->retired));
    for (size_t i = 0; i < ps->nlost; i++)
        em__mem_free(ps->lost[i], strlen(ps->lost[i]) + 1);
    em__mem_free(ps->lost, ps->lost_cap * sizeof(*ps->lost));
    pthread_cond_destroy(&ps->restored);
    pthread_mutex_destroy(&ps->lock);
    em__mem_free(ps, sizeof(*ps));
}

em_val em_ps_ref(const em_ps *ps)
{
    return ps->ref;
}

em_status em_ps_get(em_ps *ps, const em_val *keys, size_t n, double *out)
{
    em__ps_desc d = desc_get(ps);

    if (n > 0 && (keys == NULL || out == NULL))
        return em__err(EM_EINVAL, "em_ps_get: NULL keys or out");
    d.staleness = -1;
    return em__ps_pull(ps->ctx, &d, keys, n, out);
}

em_status em_ps_put(em_ps *ps, const em_val *keys, size_t n,
                    const double *deltas)
{
    em__ps_desc d = desc_get(ps);

    if (n > 0 && (keys == NULL || deltas == NULL))
        return em__err(EM_EINVAL, "em_ps_put: NULL keys or deltas");
    return em__ps_push(ps->ctx, &d, keys, n, deltas);
}

/* ---- statistics ---- */

int64_t em__ps_max_lag(const em_ps *ps)
{
    return em__ps_client_max_lag(ps->desc.id);
}

em_status em_ps_stats_get(em_ps *ps, em_ps_stats *out)
{
    pthread_mutex_lock(&ps->lock);
    out->shards = ps->desc.nshards;
    out->hot_keys = (int)ps->desc.hot.len;
    out->restores = ps->restores;
    out->lost_pushes = ps->lost_pushes;
    pthread_mutex_unlock(&ps->lock);
    return EM_OK;
}

/* Shard s's [done, keys, requests, version, snapshots, snap version]. */
static em_status stats_val(em_ps *ps, int s, em_arena *a, em_val *out)
{
    em_val req, reply;
    em_status st;

    if ((st = make_req(ps, EM__PS_STATS, s, NULL, 0, a, &req)) != EM_OK ||
        (st = ask(ps, s, req, a, &reply)) != EM_OK)
        return st;
    if (reply.len != 6)
        return em__err(EM_EPROTO, "parameter server: malformed reply");
    for (int i = 1; i < 6; i++)
        if (reply.u.arr[i].type != EM_INT)
            return em__err(EM_EPROTO, "parameter server: malformed reply");
    *out = reply;
    return EM_OK;
}

em_status em_ps_shard_stats_get(em_ps *ps, int shard, em_ps_shard_stats *out)
{
    em_arena *a;
    em_val v;
    em_status st;

    if (shard < 0 || shard >= ps->desc.nshards)
        return em__err(EM_EINVAL, "em_ps_shard_stats_get: no shard %d (of "
                       "%d)", shard, ps->desc.nshards);
    if ((a = em__arena_create(0)) == NULL)
        return em__oom();
    if ((st = stats_val(ps, shard, a, &v)) == EM_OK) {
        out->keys = v.u.arr[1].u.i;
        out->requests = v.u.arr[2].u.i;
        out->pushes = v.u.arr[3].u.i;
        out->snapshots = v.u.arr[4].u.i;
        out->snapshot_version = v.u.arr[5].u.i;
    }
    em__arena_destroy(a);
    return st;
}

/* ---- losses ---- */

/* A copy of the current addresses in a, with shard s's set to addr. */
static em_status addrs_with(em_ps *ps, int s, const char *addr, em_arena *a,
                            em_val *out)
{
    em__ps_desc d = desc_get(ps);
    em_val *items = em_array_make(a, (size_t)d.nshards, out);
    em_status st = EM_OK;

    if (items == NULL)
        return em__oom();
    for (int i = 0; i < d.nshards && st == EM_OK; i++)
        st = i == s ? em_str_copy(a, addr, strlen(addr), &items[i])
                    : em_val_copy(a, d.addrs.u.arr[i], &items[i]);
    return st;
}

/* Makes shard s again at addr from snapshot snap, counts the pushes
 * lost (those the shard applied after the snapshot) and says so. */
static em_status restore(em_ps *ps, int s, const char *addr, em_val snap,
                         int64_t lost)
{
    em_arena *a = em__arena_create(0);
    em_val addrs, hot;
    em_status st;

    if (a == NULL)
        return em__oom();
    if ((st = shard_create(ps, s, addr, snap, a)) != EM_OK ||
        (st = addrs_with(ps, s, addr, a, &addrs)) != EM_OK ||
        (st = em_val_copy(a, desc_get(ps).hot, &hot)) != EM_OK) {
        em__arena_destroy(a);
        return st;
    }
    if ((st = desc_set(ps, a, addrs, hot)) != EM_OK)
        return st;
    pthread_mutex_lock(&ps->lock);
    ps->restores++;
    ps->lost_pushes += lost;
    pthread_mutex_unlock(&ps->lock);
    /* a loss of updates is never silent: the log says how many */
    em__log_warn("parameter server %lld: shard %d restored at %.*s from "
                 "its snapshot; %lld pushes since the snapshot are lost",
                 (long long)ps->desc.id, s, (int)addrs.u.arr[s].len,
                 addrs.u.arr[s].u.s, (long long)lost);
    return EM_OK;
}

em_status em__ps_lose_shard(em_ps *ps, int shard)
{
    em_arena *a;
    em_val req, reply, stats, snap;
    int64_t from;
    const char *addr;
    em_status st;

    if (shard < 0 || shard >= ps->desc.nshards)
        return em__err(EM_EINVAL, "no shard %d", shard);
    if ((a = em__arena_create(0)) == NULL)
        return em__oom();
    if ((st = make_req(ps, EM__PS_SNAPSHOT, shard, NULL, 0, a, &req)) !=
            EM_OK ||
        (st = ask(ps, shard, req, a, &reply)) != EM_OK ||
        (st = stats_val(ps, shard, a, &stats)) != EM_OK)
        goto out;
    snap = reply.len == 2 ? reply.u.arr[1] : em_nil();
    from = snap.type == EM_ARRAY ? snap.u.arr[0].u.i : 0;
    if ((addr = cstr(a, desc_get(ps).addrs.u.arr[shard])) == NULL) {
        st = em__oom();
        goto out;
    }
    st = restore(ps, shard, addr, snap, stats.u.arr[3].u.i - from);
out:
    em__arena_destroy(a);
    return st;
}

/* ---- hot keys ---- */

/* A key the rebalance considers. */
struct hot {
    em_val key;
    int64_t hits;
    int from, to;  /* its shard now, and after */
};

static int hot_desc(const void *x, const void *y)
{
    int64_t hx = ((const struct hot *)x)->hits;
    int64_t hy = ((const struct hot *)y)->hits;

    return (hx < hy) - (hx > hy);
}

/* Each shard's k most accessed keys into hs (*n of them), its total
 * requests into load[]. */
static em_status collect_hot(em_ps *ps, int k, em_arena *a, struct hot *hs,
                             size_t *n, int64_t *load)
{
    em_val extra = em_int(k), req, reply, list;
    em_status st;

    *n = 0;
    for (int s = 0; s < ps->desc.nshards; s++) {
        if ((st = make_req(ps, EM__PS_TOP, s, &extra, 1, a, &req)) != EM_OK ||
            (st = ask(ps, s, req, a, &reply)) != EM_OK)
            return st;
        if (reply.len != 3 || reply.u.arr[1].type != EM_INT ||
            (list = reply.u.arr[2]).type != EM_ARRAY || list.len % 2 != 0 ||
            list.len / 2 > (uint32_t)k)
            return em__err(EM_EPROTO, "parameter server: malformed reply");
        load[s] = reply.u.arr[1].u.i;
        for (uint32_t i = 0; i < list.len; i += 2) {
            hs[*n].key = list.u.arr[i];
            hs[*n].hits = list.u.arr[i + 1].u.i;
            hs[*n].from = hs[*n].to = s;
            (*n)++;
        }
    }
    return EM_OK;
}

/* Heaviest first, each key to the shard with the least load so far; the
 * loads start from each shard's requests without the keys placed. */
static void place_hot(struct hot *hs, size_t n, int64_t *load, int nshards)
{
    for (size_t i = 0; i < n; i++)
        load[hs[i].from] -= hs[i].hits;
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        for (int s = 1; s < nshards; s++)
            if (load[s] < load[best])
                best = s;
        hs[i].to = best;
        load[best] += hs[i].hits;
    }
}

/* Moves the keys whose shard changes: taken from the old shards (which
 * refuse them from now on), put on the new ones. */
static em_status move_hot(em_ps *ps, const struct hot *hs, size_t n,
                          em_arena *a)
{
    int ns = ps->desc.nshards;
    em_val *ks, *puts, keys, req, reply, extra;
    size_t *nput = em__arena_alloc(a, (size_t)ns * sizeof(*nput), 8);
    em_status st;

    if (nput == NULL || (ks = em__arena_alloc(a, (n + 1) * sizeof(*ks),
                                              16)) == NULL ||
        (puts = em__arena_alloc(a, (3 * n + 1) * sizeof(*puts), 16)) == NULL)
        return em__oom();
    memset(nput, 0, (size_t)ns * sizeof(*nput));
    for (int to = 0; to < ns; to++) {
        size_t m = 0;
        for (int from = 0; from < ns; from++) {
            size_t nk = 0;
            for (size_t i = 0; i < n; i++)
                if (hs[i].from == from && hs[i].to == to && from != to)
                    ks[nk++] = hs[i].key;
            if (nk == 0)
                continue;
            keys = em_array(ks, nk);
            if ((st = make_req(ps, EM__PS_TAKE, from, &keys, 1, a, &req)) !=
                    EM_OK ||
                (st = ask(ps, from, req, a, &reply)) != EM_OK)
                return st;
            if (reply.len != 2 || reply.u.arr[1].type != EM_ARRAY ||
                reply.u.arr[1].len != 3 * nk)
                return em__err(EM_EPROTO, "parameter server: malformed "
                               "reply");
            memcpy(&puts[m], reply.u.arr[1].u.arr, 3 * nk * sizeof(*puts));
            m += 3 * nk;
        }
        if (m == 0)
            continue;
        extra = em_array(puts, m);
        if ((st = make_req(ps, EM__PS_PUT, to, &extra, 1, a, &req)) != EM_OK ||
            (st = ask(ps, to, req, a, &reply)) != EM_OK)
            return st;
    }
    return EM_OK;
}

/* The hot map: the keys placed before, then hs (later wins), in na. */
static em_status hot_map(em_ps *ps, const struct hot *hs, size_t n,
                         em_arena *na, em_val *out)
{
    em_val prev = desc_get(ps).hot;
    size_t old = prev.len, m = 2 * (old + n);
    em_val *kv = em__arena_alloc(na, (m + 1) * sizeof(*kv), 16);
    em_status st;

    if (kv == NULL)
        return em__oom();
    for (size_t i = 0; i < 2 * old; i++)
        kv[i] = prev.u.map[i];
    for (size_t i = 0; i < n; i++) {
        kv[2 * (old + i)] = hs[i].key;
        kv[2 * (old + i) + 1] = em_int(hs[i].to);
    }
    for (size_t i = 0; i < m; i++)
        if ((st = em_val_copy(na, kv[i], &kv[i])) != EM_OK)
            return st;
    return em_map_make(na, kv, old + n, out);
}

static em_status reset_all(em_ps *ps, em_arena *a)
{
    em_val req, reply;
    em_status st;

    for (int s = 0; s < ps->desc.nshards; s++)
        if ((st = make_req(ps, EM__PS_RESET, s, NULL, 0, a, &req)) !=
                EM_OK ||
            (st = ask(ps, s, req, a, &reply)) != EM_OK)
            return st;
    return EM_OK;
}

em_status em_ps_rebalance(em_ps *ps, int hot_keys)
{
    int ns = ps->desc.nshards;
    em_arena *a, *na;
    struct hot *hs;
    int64_t *load;
    size_t n;
    em_val hot, addrs;
    em_status st;

    if (hot_keys < 0 || hot_keys > 1 << 20)
        return em__err(EM_EINVAL, "em_ps_rebalance: hot_keys %d out of "
                       "range", hot_keys);
    if ((a = em__arena_create(0)) == NULL)
        return em__oom();
    if ((hs = em__arena_alloc(a, ((size_t)hot_keys * (size_t)ns + 1) *
                                     sizeof(*hs), 16)) == NULL ||
        (load = em__arena_alloc(a, (size_t)ns * sizeof(*load), 8)) == NULL) {
        st = em__oom();
        goto out;
    }
    if ((st = collect_hot(ps, hot_keys, a, hs, &n, load)) != EM_OK)
        goto out;
    qsort(hs, n, sizeof(*hs), hot_desc);
    n = n < (size_t)hot_keys ? n : (size_t)hot_keys;
    place_hot(hs, n, load, ns);
    if ((st = move_hot(ps, hs, n, a)) != EM_OK ||
        (st = reset_all(ps, a)) != EM_OK)
        goto out;
    if ((na = em__arena_create(0)) == NULL) {
        st = em__oom();
        goto out;
    }
    if ((st = hot_map(ps, hs, n, na, &hot)) != EM_OK ||
        (st = em_val_copy(na, desc_get(ps).addrs, &addrs)) != EM_OK) {
        em__arena_destroy(na);
        goto out;
    }
    st = desc_set(ps, na, addrs, hot);
out:
    em__arena_destroy(a);
    return st;
}

/* ---- executors lost on the pool ---- */

/* Sends req to addr, waiting at most the server's timeout. */
static em_status ask_at(em_ps *ps, const char *addr, em_val req, em_arena *a,
                        em_val *reply)
{
    return em__peer_call(ps->ctx, addr, EM__PEER_PS, req, a, reply,
                         ps->desc.timeout_ms);
}

/* The highest version of shard s any live process (the driver included)
 * had a push answered with: pushes up to there were applied, and those
 * after the snapshot are lost with the shard. Pushes answered only to
 * tasks of the lost executor are not seen: the count is a lower bound
 * (docs/ps.md). */
static int64_t acked_max(em_ps *ps, int s, em_val members, em_arena *a)
{
    em_val req, reply;
    int64_t v = em__ps_acked(ps->desc.id, s); /* the driver's own pushes */
    const char *addr;

    if (make_req(ps, EM__PS_ACKED, s, NULL, 0, a, &req) != EM_OK)
        return v;
    for (uint32_t i = 0; i < members.len; i++)
        if ((addr = cstr(a, members.u.arr[i])) != NULL &&
            ask_at(ps, addr, req, a, &reply) == EM_OK && reply.len == 2 &&
            reply.u.arr[1].type == EM_INT && reply.u.arr[1].u.i > v)
            v = reply.u.arr[1].u.i;
    return v;
}

/* Tells every live process, the driver's too, that shard s now lives at
 * addr. */
static void remap_all(em_ps *ps, int s, const char *addr, em_val members,
                      em_arena *a)
{
    em_val extra[3], req, reply;
    const char *m;

    extra[0] = em_cstr(addr);
    extra[1] = em_int(ps->desc.dim);
    extra[2] = em_int(ps->desc.nshards);
    if (make_req(ps, EM__PS_REMAP, s, extra, 3, a, &req) != EM_OK)
        return;
    (void)em__ps_remap(&req); /* the driver's own calls in flight */
    for (uint32_t i = 0; i < members.len; i++)
        if ((m = cstr(a, members.u.arr[i])) != NULL)
            (void)ask_at(ps, m, req, a, &reply);
}

/* Restores shard s, whose process at dead is gone, on its keeper (or the
 * first live process) from the snapshot the keeper holds. */
static em_status restore_shard(em_ps *ps, int s, const char *dead,
                               em_val members, em_arena *a)
{
    em__ps_desc d = desc_get(ps);
    const char *keeper, *host = NULL;
    em_val snap = em_nil(), req, reply;
    int64_t acked, from;
    em_status st;

    if ((st = em__ps_keeper(&d, s, a, &keeper)) != EM_OK)
        return st;
    for (uint32_t i = 0; i < members.len && host == NULL; i++)
        if (keeper != NULL && members.u.arr[i].len == strlen(keeper) &&
            memcmp(members.u.arr[i].u.s, keeper, strlen(keeper)) == 0)
            host = keeper;
    if (host != NULL &&
        (st = make_req(ps, EM__PS_KEPT, s, NULL, 0, a, &req)) == EM_OK &&
        ask_at(ps, host, req, a, &reply) == EM_OK && reply.len == 2)
        snap = reply.u.arr[1];
    if (host == NULL && (host = cstr(a, members.u.arr[0])) == NULL)
        return em__oom();
    acked = acked_max(ps, s, members, a);
    from = snap.type == EM_ARRAY && snap.len == 2 &&
                   snap.u.arr[0].type == EM_INT
               ? snap.u.arr[0].u.i
               : 0;
    if ((st = restore(ps, s, host, snap, acked > from ? acked - from : 0)) !=
        EM_OK)
        return st;
    remap_all(ps, s, host, members, a);
    return EM_OK;
}

/* Restores every shard that lived at dead. */
static void restore_lost(em_ps *ps, const char *dead)
{
    em_arena *a = em__arena_create(0);
    em_val members;
    em__ps_desc d = desc_get(ps);
    em_status st = EM_OK;

    if (a == NULL || em__peer_members(ps->ctx, a, &members) != EM_OK ||
        members.len == 0)
        st = em__err(EM_ELOST, "no live executor");
    for (int s = 0; s < d.nshards && st == EM_OK; s++) {
        em_val at = d.addrs.u.arr[s];
        if (at.len == strlen(dead) && memcmp(at.u.s, dead, at.len) == 0)
            st = restore_shard(ps, s, dead, members, a);
    }
    if (st != EM_OK) /* tasks will time out on the shard: say why */
        em__log_warn("parameter server %lld: shards at %s not restored: %s",
                     (long long)d.id, dead, em_last_error());
    em__arena_destroy(a);
}

/* The restorer thread: works through the lost executors. */
static void *restorer(void *arg)
{
    em_ps *ps = arg;
    char *dead;

    pthread_mutex_lock(&ps->lock);
    while (ps->nlost > 0) {
        dead = ps->lost[--ps->nlost];
        pthread_mutex_unlock(&ps->lock);
        restore_lost(ps, dead);
        em__mem_free(dead, strlen(dead) + 1);
        pthread_mutex_lock(&ps->lock);
    }
    ps->is_restoring = false;
    pthread_cond_broadcast(&ps->restored);
    pthread_mutex_unlock(&ps->lock);
    return NULL;
}

/* On the driver's event loop, which must not wait: the restore runs on a
 * thread of its own. */
static void on_lost(void *arg, const char *addr)
{
    em_ps *ps = arg;
    char *dead = em__mem_strdup(addr);
    pthread_t th;
    pthread_attr_t attr;

    pthread_mutex_lock(&ps->lock);
    if (dead == NULL ||
        em__mem_grow((void **)&ps->lost, &ps->lost_cap, ps->nlost + 1,
                     sizeof(*ps->lost)) != 0) {
        pthread_mutex_unlock(&ps->lock);
        if (dead != NULL)
            em__mem_free(dead, strlen(dead) + 1);
        em__log_warn("parameter server %lld: out of memory; the shards at "
                     "%s are not restored", (long long)ps->desc.id, addr);
        return;
    }
    ps->lost[ps->nlost++] = dead;
    if (!ps->is_restoring) {
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        ps->is_restoring = pthread_create(&th, &attr, restorer, ps) == 0;
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&ps->lock);
}
