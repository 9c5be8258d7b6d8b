/* The parameter server's shards (include/ember/ps.h): the key -> vector
 * tables this process hosts, and the handler of the EM__PEER_PS requests
 * that read, update, snapshot, restore and move them. Handlers never wait:
 * a request for a shard not hosted here yet is answered "not yet" and the
 * caller asks again. docs/ps.md describes the design.
 */
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "ps_int.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "runtime/vmap.h"

/* One key's state; its vector is at w[index * dim] of the shard. */
struct entry {
    em_val key;     /* in the index's arena */
    void *opt;      /* the key's optimizer, or NULL */
    int64_t hits;   /* accesses since the last reset */
    bool is_moved;  /* placed on another shard by a rebalance */
};

struct shard {
    pthread_mutex_t lock;   /* in local mode tasks call in from threads */
    em__vmap index;         /* key -> int index into ents */
    struct entry *ents;
    size_t nents, ents_cap;
    double *w;              /* nents * dim values */
    size_t w_cap;           /* doubles */
    int64_t version;        /* pushes applied */
    int64_t requests;       /* key accesses since the last reset */
    int64_t snapshots;
    int64_t snap_version;   /* pushes the snapshot holds */
    em_arena *snap_arena;   /* the latest snapshot, or NULL */
    em_val snap;            /* [version, [key, w, optim|nil, ...]] */
};

struct server {
    int64_t id;
    em__ps_conf conf;
    struct shard **shards;  /* conf.shards slots; NULL: hosted elsewhere */
    struct server *next;
};

/* A snapshot kept for a shard of another process (EM__PS_KEEP). */
struct kept {
    int64_t id;
    int shard;
    em_arena *arena;
    em_val snap;
    struct kept *next;
};

/* The servers this process hosts shards of, and the snapshots it keeps
 * for others. Process-wide as the peer service's handler table is. */
static struct {
    pthread_mutex_t lock;
    struct server *servers;
    struct kept *kept;
    const em__ps_updater *upd;
} host = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL};

/* ---- initial values ---- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform on [0, 1) with 53 bits. */
static double unit(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) * 0x1p-53;
}

void em__ps_init_value(const em__ps_conf *c, em_val key, double *out)
{
    uint64_t s = c->seed ^ em_val_hash(key);

    for (int i = 0; i < c->dim; i++) {
        switch (c->init) {
        case EM_PS_INIT_CONSTANT:
            out[i] = c->init_a;
            break;
        case EM_PS_INIT_UNIFORM:
            out[i] = c->init_a + (c->init_b - c->init_a) * unit(&s);
            break;
        case EM_PS_INIT_NORMAL: {
            double u = 1.0 - unit(&s), v = unit(&s);
            out[i] = c->init_a +
                     c->init_b * sqrt(-2 * log(u)) * cos(2 * M_PI * v);
            break;
        }
        default:
            out[i] = 0;
        }
    }
}

/* ---- shards ---- */

static void shard_free(struct shard *sh)
{
    if (sh == NULL)
        return;
    for (size_t i = 0; i < sh->nents; i++)
        if (sh->ents[i].opt != NULL)
            host.upd->destroy(sh->ents[i].opt);
    em__mem_free(sh->ents, sh->ents_cap * sizeof(*sh->ents));
    em__mem_free(sh->w, sh->w_cap * sizeof(*sh->w));
    em__vmap_fini(&sh->index);
    em__arena_destroy(sh->snap_arena);
    pthread_mutex_destroy(&sh->lock);
    em__mem_free(sh, sizeof(*sh));
}

static struct shard *shard_new(void)
{
    struct shard *sh = em__mem_calloc(1, sizeof(*sh));

    if (sh == NULL)
        return NULL;
    if (em__vmap_init(&sh->index) != EM_OK) {
        em__mem_free(sh, sizeof(*sh));
        return NULL;
    }
    pthread_mutex_init(&sh->lock, NULL);
    return sh;
}

/* Finds key's entry, adding it with its initial value (and a fresh
 * optimizer) when absent; *out is its index. */
static em_status entry_get(const em__ps_conf *c, struct shard *sh,
                           em_val key, size_t *out)
{
    bool is_new;
    em_val *slot = em__vmap_upsert(&sh->index, key, &is_new);
    struct entry *e;

    if (slot == NULL)
        return em__oom();
    if (!is_new && slot->type == EM_INT) {
        *out = (size_t)slot->u.i;
        return EM_OK;
    }
    if (em__mem_grow((void **)&sh->ents, &sh->ents_cap, sh->nents + 1,
                     sizeof(*sh->ents)) != 0 ||
        em__mem_grow((void **)&sh->w, &sh->w_cap,
                     (sh->nents + 1) * (size_t)c->dim, sizeof(*sh->w)) != 0)
        return em__oom();
    e = &sh->ents[sh->nents];
    memset(e, 0, sizeof(*e));
    /* the map's deep copy of the key, which lives as long as the map */
    e->key = ((em__vmap_slot *)((char *)slot -
                                offsetof(em__vmap_slot, val)))->key;
    if (c->has_optim &&
        (e->opt = host.upd->create(&c->optim, (size_t)c->dim)) == NULL)
        return EM_ENOMEM;
    em__ps_init_value(c, key, &sh->w[sh->nents * (size_t)c->dim]);
    *slot = em_int((int64_t)sh->nents);
    *out = sh->nents++;
    return EM_OK;
}

static em_status moved_err(void)
{
    return em__err(EM_ESTATE, "parameter server: a key was moved by "
                   "em_ps_rebalance; capture the new em_ps_ref");
}

/* The snapshot [version, [key, w, optim|nil, ...]] replaces the previous
 * one. Taken under the shard's lock, so it is one consistent version. */
static em_status snapshot_take(const em__ps_conf *c, struct shard *sh)
{
    em_arena *a = em__arena_create(0);
    em_val *items, *top, list, v;
    size_t n = 0;

    if (a == NULL || (items = em_array_make(a, 3 * sh->nents, &list)) == NULL)
        goto out_oom;
    for (size_t i = 0; i < sh->nents; i++) {
        const struct entry *e = &sh->ents[i];
        double *w;
        if (e->is_moved)
            continue;
        items[n] = e->key;
        if ((w = em_vec_make(a, (size_t)c->dim, &items[n + 1])) == NULL)
            goto out_oom;
        memcpy(w, &sh->w[i * (size_t)c->dim], (size_t)c->dim * sizeof(*w));
        if (e->opt != NULL && host.upd->to_val(e->opt, a, &items[n + 2]) !=
                                  EM_OK)
            goto out_oom;
        n += 3;
    }
    list.len = (uint32_t)n;
    if ((top = em_array_make(a, 2, &v)) == NULL)
        goto out_oom;
    top[0] = em_int(sh->version);
    top[1] = list;
    em__arena_destroy(sh->snap_arena);
    sh->snap_arena = a;
    sh->snap = v;
    sh->snap_version = sh->version;
    sh->snapshots++;
    return EM_OK;
out_oom:
    em__arena_destroy(a);
    return em__oom();
}

/* Sets key's vector and optimizer state (nil: a fresh optimizer). */
static em_status entry_load(const em__ps_conf *c, struct shard *sh,
                            em_val key, em_val w, em_val opt)
{
    size_t i;
    struct entry *e;
    void *o;
    em_status st;

    if (w.type != EM_VEC || w.len != (uint32_t)c->dim)
        return em__err(EM_EFORMAT, "parameter server: a stored vector of "
                       "the wrong dimension");
    if ((st = entry_get(c, sh, key, &i)) != EM_OK)
        return st;
    e = &sh->ents[i];
    memcpy(&sh->w[i * (size_t)c->dim], w.u.vec, w.len * sizeof(double));
    e->is_moved = false;
    if (opt.type == EM_NIL || e->opt == NULL)
        return EM_OK;
    if ((st = host.upd->from_val(&c->optim, (size_t)c->dim, opt, &o)) !=
        EM_OK)
        return st;
    host.upd->destroy(e->opt);
    e->opt = o;
    return EM_OK;
}

/* Loads triples [key, w, optim|nil, ...]. */
static em_status entries_load(const em__ps_conf *c, struct shard *sh,
                              em_val list)
{
    em_status st;

    if (list.type != EM_ARRAY || list.len % 3 != 0)
        return em__err(EM_EFORMAT, "parameter server: malformed entries");
    for (uint32_t i = 0; i < list.len; i += 3) {
        st = entry_load(c, sh, list.u.arr[i], list.u.arr[i + 1],
                        list.u.arr[i + 2]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

/* A shard made from snapshot snap (nil: empty), which it keeps as its
 * latest snapshot. */
static em_status shard_from_snapshot(const em__ps_conf *c, em_val snap,
                                     struct shard **out)
{
    struct shard *sh = shard_new();
    em_status st;

    if (sh == NULL)
        return em__oom();
    if (snap.type != EM_NIL) {
        if (snap.type != EM_ARRAY || snap.len != 2 ||
            snap.u.arr[0].type != EM_INT) {
            st = em__err(EM_EFORMAT, "parameter server: malformed "
                         "snapshot");
            goto out_free;
        }
        if ((st = entries_load(c, sh, snap.u.arr[1])) != EM_OK)
            goto out_free;
        sh->version = sh->snap_version = snap.u.arr[0].u.i;
        if ((sh->snap_arena = em__arena_create(0)) == NULL ||
            em_val_copy(sh->snap_arena, snap, &sh->snap) != EM_OK) {
            st = em__oom();
            goto out_free;
        }
    }
    *out = sh;
    return EM_OK;
out_free:
    shard_free(sh);
    return st;
}

/* ---- requests ---- */

static int64_t arg_int(const em_val *req, uint32_t i)
{
    return i < req->len && req->u.arr[i].type == EM_INT ? req->u.arr[i].u.i
                                                        : -1;
}

static em_val arg(const em_val *req, uint32_t i)
{
    return i < req->len ? req->u.arr[i] : em_nil();
}

static em_status reply_make(em_arena *a, size_t n, em_val **items,
                            em_val *reply)
{
    if ((*items = em_array_make(a, n, reply)) == NULL)
        return em__oom();
    (*items)[0] = em_int(EM__PS_DONE);
    return EM_OK;
}

static em_status reply_done(em_arena *a, em_val *reply)
{
    em_val *items;

    return reply_make(a, 1, &items, reply);
}

/* [done, version, [vec|nil per key]]: nil where the caller's copy
 * (versions[i], -1: none) is at most `staleness` pushes old. */
static em_status op_pull(const em__ps_conf *c, struct shard *sh,
                         const em_val *req, em_arena *a, em_val *reply)
{
    em_val keys = arg(req, 3), vers = arg(req, 4), *items, *vals, list;
    int64_t s = arg_int(req, 5);
    size_t i;
    em_status st;

    if (keys.type != EM_ARRAY ||
        (vers.type != EM_NIL &&
         (vers.type != EM_ARRAY || vers.len != keys.len)))
        return em__err(EM_EPROTO, "parameter server: malformed pull");
    if ((st = reply_make(a, 3, &items, reply)) != EM_OK)
        return st;
    if ((vals = em_array_make(a, keys.len, &list)) == NULL)
        return em__oom();
    items[2] = list;
    for (uint32_t k = 0; k < keys.len; k++) {
        if ((st = entry_get(c, sh, keys.u.arr[k], &i)) != EM_OK)
            return st;
        if (sh->ents[i].is_moved)
            return moved_err();
        sh->ents[i].hits++;
        sh->requests++;
        if (vers.type == EM_ARRAY && vers.u.arr[k].type == EM_INT &&
            vers.u.arr[k].u.i >= 0 && sh->version - vers.u.arr[k].u.i <= s)
            continue;
        double *w = em_vec_make(a, (size_t)c->dim, &vals[k]);
        if (w == NULL)
            return em__oom();
        memcpy(w, &sh->w[i * (size_t)c->dim], (size_t)c->dim * sizeof(*w));
    }
    items[1] = em_int(sh->version);
    return EM_OK;
}

/* Applies one key's delta: added, or a step of the key's optimizer. */
static void apply(const em__ps_conf *c, struct shard *sh, size_t i,
                  const double *g)
{
    double *w = &sh->w[i * (size_t)c->dim];

    sh->ents[i].hits++;
    if (sh->ents[i].opt != NULL) {
        host.upd->step(sh->ents[i].opt, w, g);
        return;
    }
    for (int j = 0; j < c->dim; j++)
        w[j] += g[j];
}

static em_status op_push(const em__ps_conf *c, struct shard *sh,
                         const em_val *req, em_arena *a, em_val *reply)
{
    em_val keys = arg(req, 3), d = arg(req, 4), *items;
    size_t i;
    em_status st;

    if (keys.type != EM_ARRAY || d.type != EM_VEC ||
        (uint64_t)d.len != (uint64_t)keys.len * (uint64_t)c->dim)
        return em__err(EM_EPROTO, "parameter server: malformed push");
    /* every key first, so that a moved key leaves the shard unchanged */
    for (uint32_t k = 0; k < keys.len; k++) {
        if ((st = entry_get(c, sh, keys.u.arr[k], &i)) != EM_OK)
            return st;
        if (sh->ents[i].is_moved)
            return moved_err();
    }
    for (uint32_t k = 0; k < keys.len; k++) {
        entry_get(c, sh, keys.u.arr[k], &i);
        apply(c, sh, i, &d.u.vec[(size_t)k * (size_t)c->dim]);
    }
    sh->requests += keys.len;
    sh->version++;
    if ((st = reply_make(a, 3, &items, reply)) != EM_OK)
        return st;
    items[1] = em_int(sh->version);
    /* a snapshot that finds no memory is taken at the next due push */
    if (c->snapshot_every > 0 && sh->version % c->snapshot_every == 0 &&
        snapshot_take(c, sh) == EM_OK)
        return em_val_copy(a, sh->snap, &items[2]);
    return EM_OK;
}

static em_status op_stats(const em__ps_conf *c, struct shard *sh,
                          em_arena *a, em_val *reply)
{
    em_val *items;
    int64_t keys = 0;
    em_status st;

    for (size_t i = 0; i < sh->nents; i++)
        keys += !sh->ents[i].is_moved;
    if ((st = reply_make(a, 6, &items, reply)) != EM_OK)
        return st;
    items[1] = em_int(keys);
    items[2] = em_int(sh->requests);
    items[3] = em_int(sh->version);
    items[4] = em_int(sh->snapshots);
    items[5] = em_int(sh->snap_version);
    return EM_OK;
}

static int by_hits_desc(const void *x, const void *y, void *arg)
{
    const struct shard *sh = arg;
    int64_t hx = sh->ents[*(const size_t *)x].hits;
    int64_t hy = sh->ents[*(const size_t *)y].hits;

    return (hx < hy) - (hx > hy);
}

/* [done, requests, [key, hits, ...]] for the k most accessed keys. */
static em_status op_top(struct shard *sh, const em_val *req, em_arena *a,
                        em_val *reply)
{
    size_t k = (size_t)(arg_int(req, 3) < 0 ? 0 : arg_int(req, 3));
    size_t *order, n = 0;
    em_val *items, *out, list;
    em_status st;

    if ((order = em__arena_alloc(a, (sh->nents + 1) * sizeof(*order), 8)) ==
        NULL)
        return em__oom();
    for (size_t i = 0; i < sh->nents; i++)
        if (!sh->ents[i].is_moved)
            order[n++] = i;
    qsort_r(order, n, sizeof(*order), by_hits_desc, sh);
    k = k < n ? k : n;
    if ((st = reply_make(a, 3, &items, reply)) != EM_OK)
        return st;
    if ((out = em_array_make(a, 2 * k, &list)) == NULL)
        return em__oom();
    for (size_t i = 0; i < k; i++) {
        out[2 * i] = sh->ents[order[i]].key;
        out[2 * i + 1] = em_int(sh->ents[order[i]].hits);
    }
    items[1] = em_int(sh->requests);
    items[2] = list;
    return EM_OK;
}

/* [done, [key, w, optim|nil, ...]]; the keys are marked moved. */
static em_status op_take(const em__ps_conf *c, struct shard *sh,
                         const em_val *req, em_arena *a, em_val *reply)
{
    em_val keys = arg(req, 3), *items, *out, list;
    size_t i;
    em_status st;

    if (keys.type != EM_ARRAY)
        return em__err(EM_EPROTO, "parameter server: malformed take");
    if ((st = reply_make(a, 2, &items, reply)) != EM_OK)
        return st;
    if ((out = em_array_make(a, 3 * (size_t)keys.len, &list)) == NULL)
        return em__oom();
    items[1] = list;
    for (uint32_t k = 0; k < keys.len; k++) {
        struct entry *e;
        if ((st = entry_get(c, sh, keys.u.arr[k], &i)) != EM_OK)
            return st;
        e = &sh->ents[i];
        out[3 * k] = e->key;
        st = em_val_copy(a, em_vec(&sh->w[i * (size_t)c->dim],
                                   (size_t)c->dim), &out[3 * k + 1]);
        if (st == EM_OK && e->opt != NULL)
            st = host.upd->to_val(e->opt, a, &out[3 * k + 2]);
        if (st != EM_OK)
            return st;
        e->is_moved = true;
    }
    return EM_OK;
}

static void op_reset(struct shard *sh)
{
    sh->requests = 0;
    for (size_t i = 0; i < sh->nents; i++)
        sh->ents[i].hits = 0;
}

/* ---- servers ---- */

static void server_free(struct server *srv)
{
    for (int i = 0; i < srv->conf.shards; i++)
        shard_free(srv->shards[i]);
    em__mem_free(srv->shards, (size_t)srv->conf.shards *
                                  sizeof(*srv->shards));
    em__mem_free(srv, sizeof(*srv));
}

/* Server id, or NULL; under host.lock. */
static struct server *server_find(int64_t id)
{
    struct server *srv = host.servers;

    while (srv != NULL && srv->id != id)
        srv = srv->next;
    return srv;
}

/* Server id with conf c, made when absent; under host.lock. */
static em_status server_get(int64_t id, const em__ps_conf *c,
                            struct server **out)
{
    struct server *srv = server_find(id);

    if (srv != NULL) {
        *out = srv;
        return EM_OK;
    }
    if ((srv = em__mem_calloc(1, sizeof(*srv))) == NULL ||
        (srv->shards = em__mem_calloc((size_t)c->shards,
                                      sizeof(*srv->shards))) == NULL) {
        em__mem_free(srv, sizeof(*srv));
        return em__oom();
    }
    srv->id = id;
    srv->conf = *c;
    srv->next = host.servers;
    host.servers = srv;
    *out = srv;
    return EM_OK;
}

/* Makes (or remakes, after a loss elsewhere) shard req[2] here. */
static em_status op_create(const em_val *req, em_arena *a, em_val *reply)
{
    int64_t id = arg_int(req, 1), idx = arg_int(req, 2);
    struct server *srv = NULL;
    struct shard *sh = NULL;
    em__ps_conf c;
    em_status st;

    if ((st = em__ps_conf_from_val(arg(req, 3), &c)) != EM_OK)
        return st;
    if (idx < 0 || idx >= c.shards)
        return em__err(EM_EPROTO, "parameter server: no shard %lld",
                       (long long)idx);
    if (c.has_optim && host.upd == NULL)
        return em__err(EM_ESTATE, "parameter server: no optimizer module "
                       "in this process");
    if ((st = shard_from_snapshot(&c, arg(req, 4), &sh)) != EM_OK)
        return st;
    pthread_mutex_lock(&host.lock);
    if ((st = server_get(id, &c, &srv)) == EM_OK) {
        shard_free(srv->shards[idx]);
        srv->shards[idx] = sh;
    }
    pthread_mutex_unlock(&host.lock);
    if (st != EM_OK) {
        shard_free(sh);
        return st;
    }
    return reply_done(a, reply);
}

/* Removes the kept snapshots of server id (shard < 0: every shard);
 * under host.lock. */
static void kept_remove(int64_t id, int shard)
{
    struct kept **p = &host.kept, *k;

    while ((k = *p) != NULL) {
        if (k->id == id && (shard < 0 || k->shard == shard)) {
            *p = k->next;
            em__arena_destroy(k->arena);
            em__mem_free(k, sizeof(*k));
        } else {
            p = &k->next;
        }
    }
}

/* The version a snapshot holds (-1 for a malformed one). */
static int64_t snap_version(em_val snap)
{
    return snap.type == EM_ARRAY && snap.len == 2 &&
                   snap.u.arr[0].type == EM_INT
               ? snap.u.arr[0].u.i
               : -1;
}

/* The snapshot kept for (id, shard), or NULL; under host.lock. */
static struct kept *kept_find(int64_t id, int shard)
{
    struct kept *k = host.kept;

    while (k != NULL && (k->id != id || k->shard != shard))
        k = k->next;
    return k;
}

/* Keeps snap for shard req[2] of server req[1] unless a newer one is kept
 * already: snapshots sent by different clients may arrive out of order. */
static em_status op_keep(const em_val *req, em_arena *a, em_val *reply)
{
    struct kept *k = em__mem_calloc(1, sizeof(*k)), *old;

    if (k == NULL || (k->arena = em__arena_create(0)) == NULL ||
        em_val_copy(k->arena, arg(req, 3), &k->snap) != EM_OK) {
        if (k != NULL)
            em__arena_destroy(k->arena);
        em__mem_free(k, sizeof(*k));
        return em__oom();
    }
    k->id = arg_int(req, 1);
    k->shard = (int)arg_int(req, 2);
    pthread_mutex_lock(&host.lock);
    old = kept_find(k->id, k->shard);
    if (old != NULL && snap_version(old->snap) > snap_version(k->snap)) {
        pthread_mutex_unlock(&host.lock);
        em__arena_destroy(k->arena);
        em__mem_free(k, sizeof(*k));
        return reply_done(a, reply);
    }
    kept_remove(k->id, k->shard);
    k->next = host.kept;
    host.kept = k;
    pthread_mutex_unlock(&host.lock);
    return reply_done(a, reply);
}

/* [done, snapshot|nil] of what this process keeps for the shard. */
static em_status op_kept(const em_val *req, em_arena *a, em_val *reply)
{
    struct kept *k;
    em_val *items;
    em_status st;

    if ((st = reply_make(a, 2, &items, reply)) != EM_OK)
        return st;
    pthread_mutex_lock(&host.lock);
    if ((k = kept_find(arg_int(req, 1), (int)arg_int(req, 2))) != NULL)
        st = em_val_copy(a, k->snap, &items[1]);
    pthread_mutex_unlock(&host.lock);
    return st;
}

static em_status op_acked(const em_val *req, em_arena *a, em_val *reply)
{
    em_val *items;
    em_status st;

    if ((st = reply_make(a, 2, &items, reply)) != EM_OK)
        return st;
    items[1] = em_int(em__ps_acked(arg_int(req, 1), (int)arg_int(req, 2)));
    return EM_OK;
}

void em__ps_drop_here(int64_t id)
{
    struct server **p, *srv = NULL;

    pthread_mutex_lock(&host.lock);
    for (p = &host.servers; *p != NULL; p = &(*p)->next)
        if ((*p)->id == id) {
            srv = *p;
            *p = srv->next;
            break;
        }
    kept_remove(id, -1);
    pthread_mutex_unlock(&host.lock);
    if (srv != NULL)
        server_free(srv);
    em__ps_client_drop(id);
}

/* The requests on one hosted shard, under its lock. */
static em_status shard_request(const em__ps_conf *c, struct shard *sh,
                               int op, const em_val *req, em_arena *a,
                               em_val *reply)
{
    em_val *items;
    em_status st;

    switch (op) {
    case EM__PS_PULL:
        return op_pull(c, sh, req, a, reply);
    case EM__PS_PUSH:
        return op_push(c, sh, req, a, reply);
    case EM__PS_STATS:
        return op_stats(c, sh, a, reply);
    case EM__PS_TOP:
        return op_top(sh, req, a, reply);
    case EM__PS_TAKE:
        return op_take(c, sh, req, a, reply);
    case EM__PS_PUT:
        if ((st = entries_load(c, sh, arg(req, 3))) != EM_OK)
            return st;
        return reply_done(a, reply);
    case EM__PS_RESET:
        op_reset(sh);
        return reply_done(a, reply);
    case EM__PS_SNAPSHOT:
        if ((st = reply_make(a, 2, &items, reply)) != EM_OK)
            return st;
        return em_val_copy(a, sh->snap, &items[1]);
    default:
        return em__err(EM_EPROTO, "parameter server: unknown request %d",
                       op);
    }
}

static em_status handle(void *state, const em_val *req, em_arena *a,
                        em_val *reply)
{
    int64_t op = arg_int(req, 0), id = arg_int(req, 1), idx;
    struct server *srv;
    struct shard *sh = NULL;
    em_val *items;
    em_status st;

    if (req->type != EM_ARRAY || req->len < 3)
        return em__err(EM_EPROTO, "parameter server: malformed request");
    idx = arg_int(req, 2);
    switch (op) { /* the requests about no hosted shard */
    case EM__PS_CREATE:
        return op_create(req, a, reply);
    case EM__PS_DROP:
        em__ps_drop_here(id);
        return reply_done(a, reply);
    case EM__PS_REMAP:
        if ((st = em__ps_remap(req)) != EM_OK)
            return st;
        return reply_done(a, reply);
    case EM__PS_KEEP:
        return op_keep(req, a, reply);
    case EM__PS_KEPT:
        return op_kept(req, a, reply);
    case EM__PS_ACKED:
        return op_acked(req, a, reply);
    default:
        break;
    }
    pthread_mutex_lock(&host.lock);
    srv = server_find(id);
    if (srv != NULL && idx >= 0 && idx < srv->conf.shards)
        sh = srv->shards[idx];
    pthread_mutex_unlock(&host.lock);
    if (sh == NULL) { /* not made here yet (a restore under way) */
        if ((st = reply_make(a, 1, &items, reply)) == EM_OK)
            items[0] = em_int(EM__PS_NOT_YET);
        return st;
    }
    pthread_mutex_lock(&sh->lock);
    st = shard_request(&srv->conf, sh, (int)op, req, a, reply);
    pthread_mutex_unlock(&sh->lock);
    return st;
}

void em__ps_init(const em__ps_updater *u)
{
    host.upd = u;
    em__peer_register(EM__PEER_PS, handle, NULL);
}

/* ---- the configuration as a value ---- */

em_status em__ps_conf_to_val(const em__ps_conf *c, em_arena *a, em_val *out)
{
    em_val *v = em_array_make(a, 17, out);
    const em_optim_conf *o = &c->optim;

    if (v == NULL)
        return em__oom();
    v[0] = em_int(c->dim);
    v[1] = em_int(c->shards);
    v[2] = em_int(c->init);
    v[3] = em_float(c->init_a);
    v[4] = em_float(c->init_b);
    v[5] = em_int((int64_t)c->seed);
    v[6] = em_bool(c->has_optim);
    v[7] = em_int(c->snapshot_every);
    v[8] = em_int(o->kind);
    v[9] = em_float(o->step);
    v[10] = em_int(o->schedule);
    v[11] = em_int(o->reg);
    v[12] = em_float(o->reg_param);
    v[13] = em_float(o->momentum);
    v[14] = em_float(o->beta2);
    v[15] = em_float(o->rho);
    v[16] = em_float(o->eps);
    return EM_OK;
}

/* Element i of the conf array as an int (false when it is not one). */
static bool conf_int(em_val v, uint32_t i, int64_t *out)
{
    return em_val_as_int(v.u.arr[i], out);
}

static bool conf_float(em_val v, uint32_t i, double *out)
{
    return em_val_as_float(v.u.arr[i], out);
}

em_status em__ps_conf_from_val(em_val v, em__ps_conf *out)
{
    em__ps_conf c = {0};
    int64_t dim, shards, init, seed, kind, sched, reg;
    em_optim_conf *o = &c.optim;

    if (v.type != EM_ARRAY || v.len != 17 || v.u.arr[6].type != EM_BOOL ||
        !conf_int(v, 0, &dim) || !conf_int(v, 1, &shards) ||
        !conf_int(v, 2, &init) || !conf_float(v, 3, &c.init_a) ||
        !conf_float(v, 4, &c.init_b) || !conf_int(v, 5, &seed) ||
        !conf_int(v, 7, &c.snapshot_every) || !conf_int(v, 8, &kind) ||
        !conf_float(v, 9, &o->step) || !conf_int(v, 10, &sched) ||
        !conf_int(v, 11, &reg) || !conf_float(v, 12, &o->reg_param) ||
        !conf_float(v, 13, &o->momentum) || !conf_float(v, 14, &o->beta2) ||
        !conf_float(v, 15, &o->rho) || !conf_float(v, 16, &o->eps) ||
        dim < 1 || dim > INT32_MAX || shards < 1 || shards > 1 << 16)
        return em__err(EM_EPROTO, "parameter server: malformed "
                       "configuration");
    c.dim = (int)dim;
    c.shards = (int)shards;
    c.init = (em_ps_init)init;
    c.seed = (uint64_t)seed;
    c.has_optim = v.u.arr[6].u.b;
    o->kind = (em_optim_kind)kind;
    o->schedule = (em_schedule)sched;
    o->reg = (em_reg)reg;
    *out = c;
    return EM_OK;
}
