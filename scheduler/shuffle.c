/* The shuffle (see shuffle.h): partitioners, the map-side writer with
 * combining and spilling, map output files, the reduce-side reader, and
 * the scheduling of missing map stages.
 */
#include "shuffle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "job.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/checksum.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "runtime/vmap.h"

#define SHUF_MAGIC 0x48534d45u

/* ---- partitioners ---- */

bool em__partitioner_eq(const em__partitioner *a, const em__partitioner *b)
{
    if (a == NULL || b == NULL || a->kind != b->kind || a->n != b->n)
        return false;
    switch (a->kind) {
    case EM__PART_HASH:
        return true;
    case EM__PART_RANGE:
        return a->is_desc == b->is_desc && a->fn.call == b->fn.call &&
               em_val_eq(a->bounds, b->bounds);
    default:
        return a->fn.call == b->fn.call && em_val_eq(a->fn.env, b->fn.env);
    }
}

em_status em__partitioner_of(const em__partitioner *p, em_task *t,
                             em_val key, int *out)
{
    em_val k = key, r;
    em_status st;
    int lo, hi;

    switch (p->kind) {
    case EM__PART_HASH:
        *out = (int)(em_val_hash(key) % (uint64_t)p->n);
        return EM_OK;
    case EM__PART_RANGE:
        if (p->fn.call != NULL &&
            (st = em__fn_call(t, &p->fn, &key, 1, &k)) != EM_OK)
            return st;
        lo = 0;
        hi = (int)p->bounds.len; /* first bound >= k */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (em_val_cmp(p->bounds.u.arr[mid], k) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        *out = p->is_desc ? p->n - 1 - lo : lo;
        return EM_OK;
    default:
        if ((st = em__fn_call(t, &p->fn, &key, 1, &r)) != EM_OK)
            return st;
        if (r.type != EM_INT)
            return em__err(EM_ETYPE, "partitioner: the function must return "
                           "an int, not %s", em_type_name((em_type)r.type));
        *out = (int)(((r.u.i % p->n) + p->n) % p->n);
        return EM_OK;
    }
}

em_status em__agg_create(const em__aggregator *agg, em_task *t, em_val v,
                         em_val *out)
{
    em_val args[2];

    if (agg->create.call != NULL)
        return em__fn_call(t, &agg->create, &v, 1, out);
    args[0] = agg->zero;
    args[1] = v;
    return em__fn_call(t, &agg->merge_value, args, 2, out);
}

/* ---- shuffles ---- */

em__shuffle *em__shuffle_new(em_rdd *parent, const em__partitioner *p,
                             const em__aggregator *agg)
{
    em_ctx *ctx = parent->ctx;
    em__shuffle *s = em__mem_calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->outs = em__mem_calloc((size_t)(parent->nparts ? parent->nparts : 1),
                             sizeof(*s->outs));
    if (s->outs == NULL) {
        em__mem_free(s, sizeof(*s));
        return NULL;
    }
    s->ctx = ctx;
    s->parent = parent;
    s->nmaps = parent->nparts;
    s->part = *p;
    if (agg != NULL) {
        s->agg = *agg;
        s->has_agg = true;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&ctx->lock);
    s->id = ctx->next_shuffle_id++;
    s->next = ctx->shuffles;
    ctx->shuffles = s;
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

static em_status copy_fn(em_arena *a, em_fn f, em_fn *out)
{
    out->call = f.call;
    return em_val_copy(a, f.env, &out->env);
}

em__shuffle *em__shuffle_define(em_ctx *ctx, int id, int nmaps,
                                const em__partitioner *p,
                                const em__aggregator *agg)
{
    em__shuffle *s = em__shuffle_find(ctx, id);

    if (s != NULL)
        return s;
    if ((s = em__mem_calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->outs = em__mem_calloc((size_t)(nmaps ? nmaps : 1), sizeof(*s->outs));
    s->arena = em__arena_create(0);
    if (s->outs == NULL || s->arena == NULL)
        goto out_free;
    s->id = id;
    s->ctx = ctx;
    s->nmaps = nmaps;
    s->part = *p;
    if (em_val_copy(s->arena, p->bounds, &s->part.bounds) ||
        copy_fn(s->arena, p->fn, &s->part.fn))
        goto out_free;
    if (agg != NULL) {
        s->has_agg = true;
        s->agg = *agg;
        if (copy_fn(s->arena, agg->create, &s->agg.create) ||
            copy_fn(s->arena, agg->merge_value, &s->agg.merge_value) ||
            copy_fn(s->arena, agg->merge_combiners,
                    &s->agg.merge_combiners) ||
            em_val_copy(s->arena, agg->zero, &s->agg.zero))
            goto out_free;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&ctx->lock);
    s->next = ctx->shuffles;
    ctx->shuffles = s;
    pthread_mutex_unlock(&ctx->lock);
    return s;
out_free:
    em__arena_destroy(s->arena);
    em__mem_free(s->outs, (size_t)(nmaps ? nmaps : 1) * sizeof(*s->outs));
    em__mem_free(s, sizeof(*s));
    return NULL;
}

static void output_clear(em__shuffle *s, em__map_output *o)
{
    if (o->path != NULL) {
        if (o->host == NULL) /* another machine's file is its own */
            unlink(o->path);
        em__mem_free(o->path, strlen(o->path) + 1);
    }
    if (o->host != NULL)
        em__mem_free(o->host, strlen(o->host) + 1);
    em__mem_free(o->offsets, ((size_t)s->part.n + 1) * sizeof(uint64_t));
    em__mem_free(o->crcs, (size_t)(s->part.n ? s->part.n : 1) *
                              sizeof(uint32_t));
    memset(o, 0, sizeof(*o));
}

void em__shuffles_free(em_ctx *ctx)
{
    em__shuffle *s, *next;

    for (s = ctx->shuffles; s != NULL; s = next) {
        next = s->next;
        for (int m = 0; m < s->nmaps; m++)
            output_clear(s, &s->outs[m]);
        em__mem_free(s->outs, (size_t)(s->nmaps ? s->nmaps : 1) *
                                  sizeof(*s->outs));
        em__arena_destroy(s->arena);
        pthread_mutex_destroy(&s->lock);
        em__mem_free(s, sizeof(*s));
    }
    ctx->shuffles = NULL;
    if (ctx->shuffle_dir != NULL) {
        rmdir(ctx->shuffle_dir);
        em__mem_free(ctx->shuffle_dir, strlen(ctx->shuffle_dir) + 1);
        ctx->shuffle_dir = NULL;
    }
}

int64_t em__task_budget(const em_ctx *ctx)
{
    int64_t b = ctx->memory_bytes / 2 / (ctx->threads > 0 ? ctx->threads : 1);

    return b > 65536 ? b : 65536; /* below this, runs get too small */
}

/* Makes (once) the context's directory for map outputs; returns a new
 * file name in it. */
static em_status shuffle_path(em_ctx *ctx, const char *what, int sid, int m,
                              int k, char *buf, size_t cap)
{
    pthread_mutex_lock(&ctx->lock);
    if (ctx->shuffle_dir == NULL) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/ember-shuffle-XXXXXX", ctx->local_dir);
        if (mkdtemp(dir) == NULL) {
            pthread_mutex_unlock(&ctx->lock);
            return em__err(EM_EIO, "shuffle: cannot create a directory in "
                           "%s: %s", ctx->local_dir, strerror(errno));
        }
        ctx->shuffle_dir = em__mem_strdup(dir);
        if (ctx->shuffle_dir == NULL) {
            rmdir(dir);
            pthread_mutex_unlock(&ctx->lock);
            return EM_ENOMEM;
        }
    }
    snprintf(buf, cap, "%s/%s-%d-%d-%d", ctx->shuffle_dir, what, sid, m, k);
    pthread_mutex_unlock(&ctx->lock);
    return EM_OK;
}

/* ---- the map-side writer ---- */

typedef struct run {
    char path[4096];    /* the run's file */
    uint64_t *offsets;  /* nreduce + 1 */
} run;

typedef struct entry {
    int r;         /* reduce partition */
    em_val rec;    /* the pair, in the writer's arena */
} entry;

typedef struct writer {
    em__sink base;
    em__shuffle *s;
    int map;             /* map partition */
    int attempt;
    int64_t budget;      /* bytes before spilling */
    em_arena *arena;     /* buffered records */
    entry *v;            /* buffered (no combining) */
    size_t n, cap;
    em__vmap combine;    /* buffered (combining) */
    bool is_combining;
    uint64_t pushed;     /* records pushed */
    run *runs;           /* spilled runs */
    size_t nruns, runs_cap;
} writer;

static em_status need_pair(em_val rec)
{
    if (em_val_is_pair(rec))
        return EM_OK;
    return em__err(EM_ETYPE, "shuffle: records must be (key, value) pairs, "
                   "got %s", em_type_name((em_type)rec.type));
}

/* Encodes the buffered records grouped by reduce partition into a new
 * run file. */
static em_status write_run(writer *w, em_task *t)
{
    int R = w->s->part.n;
    size_t *count = NULL, *order = NULL, total = 0;
    em__buf b = EM__BUF_INIT;
    em_status st = EM_OK;
    run *rn;
    FILE *f;
    void *p = w->runs;

    if (em__mem_grow(&p, &w->runs_cap, w->nruns + 1, sizeof(run)) != 0)
        return EM_ENOMEM;
    w->runs = p;
    rn = &w->runs[w->nruns];
    memset(rn, 0, sizeof(*rn));
    st = shuffle_path(w->s->ctx, "run", w->s->id, w->map,
                      (int)w->nruns * 1000 + w->attempt, rn->path,
                      sizeof(rn->path));
    if (st != EM_OK)
        return st;
    rn->offsets = em__mem_calloc((size_t)R + 1, sizeof(uint64_t));
    count = em__mem_calloc((size_t)R + 1, sizeof(size_t));
    if (rn->offsets == NULL || count == NULL) {
        st = EM_ENOMEM;
        goto out;
    }
    if (w->is_combining) {
        /* turn the combining table into entries */
        for (size_t i = 0; i < w->combine.cap && st == EM_OK; i++) {
            em__vmap_slot *sl = &w->combine.slots[i];
            em_val pair;
            void *q = w->v;
            int r;
            if (sl->hash == 0)
                continue;
            st = em__partitioner_of(&w->s->part, t, sl->key, &r);
            if (st == EM_OK)
                st = em_pair_make(w->combine.arena, sl->key, sl->val, &pair);
            if (st == EM_OK &&
                em__mem_grow(&q, &w->cap, w->n + 1, sizeof(entry)) != 0)
                st = EM_ENOMEM;
            if (st == EM_OK) {
                w->v = q;
                w->v[w->n].r = r;
                w->v[w->n++].rec = pair;
            }
        }
        if (st != EM_OK)
            goto out;
    }
    /* counting sort of the entries by partition */
    order = em__mem_calloc(w->n ? w->n : 1, sizeof(size_t));
    if (order == NULL) {
        st = EM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < w->n; i++)
        count[w->v[i].r + 1]++;
    for (int r = 0; r < R; r++)
        count[r + 1] += count[r];
    for (size_t i = 0; i < w->n; i++)
        order[count[w->v[i].r]++] = i;
    {
        size_t i = 0;
        for (int r = 0; r < R && st == EM_OK; r++) {
            rn->offsets[r] = b.len;
            while (st == EM_OK && i < w->n && w->v[order[i]].r == r)
                st = em__codec_encode(&b, w->v[order[i++]].rec);
        }
        rn->offsets[R] = b.len;
    }
    if (st != EM_OK)
        goto out;
    total = b.len;
    f = st == EM_OK ? fopen(rn->path, "wb") : NULL;
    if (st == EM_OK && f == NULL)
        st = em__err(EM_EIO, "shuffle: cannot write %s: %s", rn->path,
                     strerror(errno));
    if (f != NULL) {
        bool ok = total == 0 || fwrite(b.data, 1, total, f) == total;
        if (fclose(f) != 0 || !ok) {
            st = em__err(EM_EIO, "shuffle: writing %s failed: %s", rn->path,
                         strerror(errno));
            unlink(rn->path);
        }
    }
    if (st == EM_OK)
        w->nruns++;
out:
    if (st != EM_OK)
        em__mem_free(rn->offsets, ((size_t)R + 1) * sizeof(uint64_t));
    em__mem_free(count, ((size_t)R + 1) * sizeof(size_t));
    em__mem_free(order, (w->n ? w->n : 1) * sizeof(size_t));
    em__buf_fini(&b);
    /* the buffer is empty again */
    w->n = 0;
    em__arena_reset(w->arena);
    if (w->is_combining) {
        em__vmap_fini(&w->combine);
        if (st == EM_OK)
            st = em__vmap_init(&w->combine);
    }
    return st;
}

static int64_t writer_bytes(const writer *w)
{
    int64_t n = (int64_t)em_arena_used(w->arena) +
                (int64_t)(w->n * sizeof(entry));

    if (w->is_combining)
        n += (int64_t)em__vmap_bytes(&w->combine);
    return n;
}

static em_status writer_push(em__sink *base, em_task *t, em_val rec)
{
    writer *w = (writer *)base;
    em_status st = need_pair(rec);
    em_val c, args[2];
    void *p;
    int r;

    if (st != EM_OK)
        return st;
    if (w->is_combining) {
        bool is_new;
        em_val *slot = em__vmap_upsert(&w->combine, rec.u.arr[0], &is_new);
        if (slot == NULL)
            return EM_ENOMEM;
        if (is_new) {
            st = em__agg_create(&w->s->agg, t, rec.u.arr[1], &c);
        } else {
            args[0] = *slot;
            args[1] = rec.u.arr[1];
            st = em__fn_call(t, &w->s->agg.merge_value, args, 2, &c);
        }
        if (st == EM_OK && c.type <= EM_FLOAT)
            *slot = c; /* a scalar points to nothing */
        else if (st == EM_OK)
            st = em_val_copy(w->combine.arena, c, slot);
    } else {
        st = em__partitioner_of(&w->s->part, t, rec.u.arr[0], &r);
        p = w->v;
        if (st == EM_OK &&
            em__mem_grow(&p, &w->cap, w->n + 1, sizeof(entry)) != 0)
            st = EM_ENOMEM;
        if (st == EM_OK) {
            w->v = p;
            w->v[w->n].r = r;
            st = em_val_copy(w->arena, rec, &w->v[w->n].rec);
            if (st == EM_OK)
                w->n++;
        }
    }
    /* the size is checked every 64 records: the buffer may pass its
     * budget by 64 records, never more */
    if (st == EM_OK && (++w->pushed & 63) == 0 && writer_bytes(w) > w->budget)
        st = write_run(w, t);
    return st;
}

/* Copies bytes [from, to) of a file into out, updating *crc. */
static em_status copy_range(const char *path, uint64_t from, uint64_t to,
                            FILE *out, const char *out_path, uint32_t *crc)
{
    uint8_t buf[1 << 16];
    int fd = open(path, O_RDONLY);
    em_status st = EM_OK;

    if (fd < 0)
        return em__err(EM_EIO, "shuffle: cannot read %s: %s", path,
                       strerror(errno));
    while (from < to) {
        size_t want = to - from < sizeof(buf) ? (size_t)(to - from)
                                              : sizeof(buf);
        ssize_t got = pread(fd, buf, want, (off_t)from);
        if (got <= 0) {
            st = em__err(EM_EIO, "shuffle: reading %s failed: %s", path,
                         got < 0 ? strerror(errno) : "truncated");
            break;
        }
        *crc = em__crc32(*crc, buf, (size_t)got);
        if (fwrite(buf, 1, (size_t)got, out) != (size_t)got) {
            st = em__err(EM_EIO, "shuffle: writing %s failed: %s", out_path,
                         strerror(errno));
            break;
        }
        from += (uint64_t)got;
    }
    close(fd);
    return st;
}

static void put_le(uint8_t *p, uint64_t x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

/* The description of a map output as a value: [path, [offsets], [crcs]],
 * in a. */
static em_status output_to_val(const em__shuffle *s, const em__map_output *o,
                               em_arena *a, em_val *out)
{
    em_val *items, *offs, *crcs;
    em_status st;

    if ((items = em_array_make(a, 3, out)) == NULL ||
        (offs = em_array_make(a, (size_t)s->part.n + 1, &items[1])) == NULL ||
        (crcs = em_array_make(a, (size_t)s->part.n, &items[2])) == NULL)
        return EM_ENOMEM;
    if ((st = em_str_copy(a, o->path, strlen(o->path), &items[0])) != EM_OK)
        return st;
    for (int r = 0; r <= s->part.n; r++)
        offs[r] = em_int((int64_t)o->offsets[r]);
    for (int r = 0; r < s->part.n; r++)
        crcs[r] = em_int(o->crcs[r]);
    return EM_OK;
}

em_status em__shuffle_register(em__shuffle *s, int m, const char *host,
                               em_val desc)
{
    em__map_output o = {NULL, NULL, NULL, NULL};
    const em_val *it = desc.u.arr;
    int R = s->part.n;

    if (m < 0 || m >= s->nmaps || desc.type != EM_ARRAY || desc.len != 3 ||
        it[0].type != EM_STR || it[1].type != EM_ARRAY ||
        it[1].len != (uint32_t)R + 1 || it[2].type != EM_ARRAY ||
        it[2].len != (uint32_t)R)
        return em__err(EM_EPROTO, "shuffle %d: malformed map output %d",
                       s->id, m);
    o.offsets = em__mem_calloc((size_t)R + 1, sizeof(uint64_t));
    o.crcs = em__mem_calloc((size_t)(R ? R : 1), sizeof(uint32_t));
    o.path = em__mem_alloc(it[0].len + 1);
    o.host = host ? em__mem_strdup(host) : NULL;
    if (o.offsets == NULL || o.crcs == NULL || o.path == NULL ||
        (host != NULL && o.host == NULL)) {
        em__mem_free(o.path, o.path ? it[0].len + 1 : 0);
        o.path = NULL;
        output_clear(s, &o);
        return EM_ENOMEM;
    }
    memcpy(o.path, it[0].u.s, it[0].len);
    o.path[it[0].len] = '\0';
    for (int r = 0; r <= R; r++)
        o.offsets[r] = (uint64_t)it[1].u.arr[r].u.i;
    for (int r = 0; r < R; r++)
        o.crcs[r] = (uint32_t)it[2].u.arr[r].u.i;
    pthread_mutex_lock(&s->lock);
    output_clear(s, &s->outs[m]);
    s->outs[m] = o;
    pthread_mutex_unlock(&s->lock);
    return EM_OK;
}

void em__shuffle_forget_host(em__shuffle *s, const char *host)
{
    pthread_mutex_lock(&s->lock);
    for (int m = 0; m < s->nmaps; m++)
        if (s->outs[m].host != NULL && strcmp(s->outs[m].host, host) == 0)
            output_clear(s, &s->outs[m]);
    pthread_mutex_unlock(&s->lock);
}

void em__shuffle_forget_output(em__shuffle *s, int m)
{
    if (m < 0 || m >= s->nmaps)
        return;
    pthread_mutex_lock(&s->lock);
    output_clear(s, &s->outs[m]);
    pthread_mutex_unlock(&s->lock);
}

bool em__shuffle_output_host(em__shuffle *s, int m, char *buf, size_t cap)
{
    bool has = false;

    if (m < 0 || m >= s->nmaps)
        return false;
    pthread_mutex_lock(&s->lock);
    if (s->outs[m].path != NULL && s->outs[m].host != NULL) {
        snprintf(buf, cap, "%s", s->outs[m].host);
        has = true;
    }
    pthread_mutex_unlock(&s->lock);
    return has;
}

em__shuffle *em__shuffle_find(em_ctx *ctx, int id)
{
    em__shuffle *s;

    pthread_mutex_lock(&ctx->lock);
    for (s = ctx->shuffles; s != NULL && s->id != id; s = s->next)
        ;
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

/* Concatenates the runs segment by segment into the map output file, with
 * checksums and the footer; registers it in this process unless it runs
 * in an executor (the driver registers it from the task's result), and
 * writes its description to *desc (in res). */
static em_status write_output(writer *w, em_task *t, em_arena *res,
                              em_val *desc)
{
    em__shuffle *s = w->s;
    int R = s->part.n;
    em__map_output o = {NULL, NULL, NULL, NULL};
    char path[4096];
    em_status st;
    FILE *f;
    uint8_t tail[8];
    bool is_short = false;

    if (w->n > 0 || w->is_combining || w->nruns == 0)
        if ((st = write_run(w, t)) != EM_OK)
            return st;
    st = shuffle_path(s->ctx, "map", s->id, w->map, w->attempt, path,
                      sizeof(path));
    if (st != EM_OK)
        return st;
    o.offsets = em__mem_calloc((size_t)R + 1, sizeof(uint64_t));
    o.crcs = em__mem_calloc((size_t)(R ? R : 1), sizeof(uint32_t));
    o.path = em__mem_strdup(path);
    if (o.offsets == NULL || o.crcs == NULL || o.path == NULL) {
        output_clear(s, &o);
        return EM_ENOMEM;
    }
    if ((f = fopen(path, "wb")) == NULL) {
        em__mem_free(o.path, strlen(o.path) + 1);
        o.path = NULL;
        output_clear(s, &o);
        return em__err(EM_EIO, "shuffle: cannot write %s: %s", path,
                       strerror(errno));
    }
    for (int r = 0; r < R && st == EM_OK; r++) {
        o.offsets[r + 1] = o.offsets[r];
        for (size_t k = 0; k < w->nruns && st == EM_OK; k++) {
            const run *rn = &w->runs[k];
            st = copy_range(rn->path, rn->offsets[r], rn->offsets[r + 1], f,
                            path, &o.crcs[r]);
            o.offsets[r + 1] += rn->offsets[r + 1] - rn->offsets[r];
        }
    }
    for (int r = 0; st == EM_OK && r <= R; r++) {
        put_le(tail, o.offsets[r], 8);
        is_short |= fwrite(tail, 1, 8, f) != 8;
    }
    for (int r = 0; st == EM_OK && r < R; r++) {
        put_le(tail, o.crcs[r], 4);
        is_short |= fwrite(tail, 1, 4, f) != 4;
    }
    put_le(tail, (uint64_t)R, 4);
    put_le(tail + 4, SHUF_MAGIC, 4);
    if (st == EM_OK)
        is_short |= fwrite(tail, 1, 8, f) != 8;
    is_short |= fclose(f) != 0;
    if (st == EM_OK && is_short) /* copy_range names its own failures */
        st = em__err(EM_EIO, "shuffle: writing %s failed: %s", path,
                     strerror(errno));
    if (st != EM_OK) {
        output_clear(s, &o); /* unlinks the partial file */
        return st;
    }
    if ((st = output_to_val(s, &o, res, desc)) != EM_OK) {
        output_clear(s, &o);
        return st;
    }
    if (s->ctx->is_executor) { /* the file stays for the block server */
        o.host = NULL;
        em__mem_free(o.path, strlen(o.path) + 1);
        o.path = NULL;
        output_clear(s, &o);
        return EM_OK;
    }
    pthread_mutex_lock(&s->lock);
    output_clear(s, &s->outs[w->map]);
    s->outs[w->map] = o;
    pthread_mutex_unlock(&s->lock);
    return EM_OK;
}

static void writer_fini(writer *w)
{
    for (size_t k = 0; k < w->nruns; k++) {
        unlink(w->runs[k].path);
        em__mem_free(w->runs[k].offsets,
                     ((size_t)w->s->part.n + 1) * sizeof(uint64_t));
    }
    em__mem_free(w->runs, w->runs_cap * sizeof(run));
    em__mem_free(w->v, w->cap * sizeof(entry));
    em__arena_destroy(w->arena);
    if (w->is_combining)
        em__vmap_fini(&w->combine);
}

/* The map task: the parent's partition through a writer. */
em_status em__shuffle_map_task(em_task *t, em_rdd *rdd, int part,
                               em_val arg, em_arena *res, em_val *out)
{
    em__shuffle *s = em__shuffle_find(t->ctx, (int)arg.u.i);
    writer w;
    em_status st;

    if (s == NULL)
        return em__err(EM_ESTATE, "shuffle %lld is unknown here",
                       (long long)arg.u.i);
    memset(&w, 0, sizeof(w));
    w.base.push = writer_push;
    w.s = s;
    w.map = part;
    w.attempt = t->attempt;
    w.budget = em__task_budget(s->ctx);
    w.is_combining = s->has_agg && s->agg.map_side_combine;
    if ((w.arena = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    if (w.is_combining && (st = em__vmap_init(&w.combine)) != EM_OK) {
        w.is_combining = false;
        writer_fini(&w);
        return st;
    }
    st = em__rdd_compute(rdd, part, t, &w.base);
    if (st == EM_OK)
        st = write_output(&w, t, res, out);
    writer_fini(&w);
    return st;
}

/* ---- scheduling ---- */

static em_status run_missing(em_ctx *ctx, em__shuffle *s)
{
    int *missing, n = 0;
    em__job_result r;
    em_status st;

    missing = em__mem_calloc((size_t)(s->nmaps ? s->nmaps : 1), sizeof(int));
    if (missing == NULL)
        return EM_ENOMEM;
    pthread_mutex_lock(&s->lock);
    for (int m = 0; m < s->nmaps; m++) {
        if (s->outs[m].path == NULL)
            missing[n++] = m;
    }
    pthread_mutex_unlock(&s->lock);
    st = EM_OK;
    if (n == 0) {
        pthread_mutex_lock(&ctx->lock);
        ctx->stages_skipped++;
        pthread_mutex_unlock(&ctx->lock);
    }
    if (n > 0) {
        st = em__stage_run(ctx, s->parent, missing, n, em__shuffle_map_task,
                           em_int(s->id), &r);
        if (st == EM_OK) {
            em__job_result_fini(&r);
            pthread_mutex_lock(&ctx->lock);
            ctx->map_tasks_run += n;
            pthread_mutex_unlock(&ctx->lock);
        }
    }
    em__mem_free(missing, (size_t)(s->nmaps ? s->nmaps : 1) * sizeof(int));
    return st;
}

static bool fully_cached(em_rdd *r)
{
    return r->storage != EM_STORAGE_NONE &&
           em__blocks_count_rdd(r->blocks, r->id) == r->nparts;
}

static em_status prepare(em_ctx *ctx, em_rdd *rdd, unsigned epoch)
{
    em_status st;

    if (rdd->visit == epoch || fully_cached(rdd))
        return EM_OK;
    rdd->visit = epoch;
    for (int i = 0; i < rdd->nparents; i++) {
        em__shuffle *s = rdd->shuffles ? rdd->shuffles[i] : NULL;
        if ((st = prepare(ctx, rdd->parents[i], epoch)) != EM_OK)
            return st;
        if (s != NULL && (st = run_missing(ctx, s)) != EM_OK)
            return st;
    }
    return EM_OK;
}

em_status em__shuffle_prepare(em_ctx *ctx, em_rdd *rdd)
{
    unsigned epoch;

    pthread_mutex_lock(&ctx->lock);
    epoch = ++ctx->visit_epoch;
    pthread_mutex_unlock(&ctx->lock);
    return prepare(ctx, rdd, epoch);
}

/* ---- the reduce-side reader ---- */

/* The size a map output file must have: its segments and the footer. */
static uint64_t file_size(const em__shuffle *s, const em__map_output *o)
{
    return o->offsets[s->part.n] + 8 * ((uint64_t)s->part.n + 1) +
           4 * (uint64_t)s->part.n + 8;
}

static em_status fetch_failed(em__shuffle *s, int m, const char *why)
{
    char path[4096];
    struct stat sb;

    pthread_mutex_lock(&s->lock);
    snprintf(path, sizeof(path), "%s",
             s->outs[m].path ? s->outs[m].path : "(missing)");
    output_clear(s, &s->outs[m]);
    /* what lost one output (a cleaned directory, a dead disk) often lost
     * others: forget every output whose file is gone or the wrong size,
     * so one retry recomputes them all */
    for (int i = 0; i < s->nmaps; i++) {
        em__map_output *o = &s->outs[i];
        if (o->path != NULL && o->host == NULL &&
            (stat(o->path, &sb) != 0 ||
                                (uint64_t)sb.st_size != file_size(s, o)))
            output_clear(s, o);
    }
    pthread_mutex_unlock(&s->lock);
    return em__err(EM_EFETCH, "shuffle %d: map output %d (%s) %s", s->id, m,
                   path, why);
}

static em_status local_fetch(const em__block_fetcher *f,
                             const em__block_id *id,
                             const em__block_loc *loc, em__buf *out)
{
    struct stat sb;
    ssize_t got;
    int fd;

    (void)f;
    (void)id;
    if ((fd = open(loc->path, O_RDONLY)) < 0)
        return em__err(EM_EFETCH, "cannot be opened: %s", strerror(errno));
    if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != loc->file_size) {
        close(fd);
        return em__err(EM_EFETCH, "has the wrong size");
    }
    if (loc->len == 0) {
        close(fd);
        return EM_OK;
    }
    if (em__buf_reserve(out, loc->len) == NULL) {
        close(fd);
        return EM_ENOMEM;
    }
    got = pread(fd, out->data + out->len, (size_t)loc->len,
                (off_t)loc->offset);
    close(fd);
    if (got != (ssize_t)loc->len)
        return em__err(EM_EFETCH, "is truncated");
    if (em__crc32(0, out->data + out->len, (size_t)loc->len) != loc->crc)
        return em__err(EM_EFETCH, "failed its checksum");
    out->len += (size_t)loc->len;
    return EM_OK;
}

const em__block_fetcher em__local_fetcher = {local_fetch};

static em_status read_segment(em__shuffle *s, int m, int r, em_task *t,
                              em__buf *b)
{
    char path[4096], host[256], why[256];
    em__block_id id = {s->id, m, r};
    em__block_loc loc;
    em_status st;

    pthread_mutex_lock(&s->lock);
    t->fetch_shuffle = s->id;
    t->fetch_map = m;
    if (s->outs[m].path == NULL) {
        pthread_mutex_unlock(&s->lock);
        t->has_fetch_failure = true;
        return fetch_failed(s, m, "is missing");
    }
    snprintf(path, sizeof(path), "%s", s->outs[m].path);
    snprintf(host, sizeof(host), "%s", s->outs[m].host ? s->outs[m].host
                                                       : "");
    loc.host = s->outs[m].host ? host : NULL;
    loc.path = path;
    loc.offset = s->outs[m].offsets[r];
    loc.len = s->outs[m].offsets[r + 1] - loc.offset;
    loc.crc = s->outs[m].crcs[r];
    loc.file_size = file_size(s, &s->outs[m]);
    pthread_mutex_unlock(&s->lock);
    st = s->ctx->fetcher->fetch(s->ctx->fetcher, &id, &loc, b);
    if (st == EM_EFETCH) {
        t->has_fetch_failure = true;
        snprintf(why, sizeof(why), "%s", em_last_error());
        return fetch_failed(s, m, why);
    }
    return st;
}

em_status em__shuffle_read(em__shuffle *s, int r, em_task *t, em__sink *out)
{
    em_status st = EM_OK;

    for (int m = 0; m < s->nmaps && st == EM_OK; m++) {
        em__buf b = EM__BUF_INIT;
        size_t off = 0;
        st = read_segment(s, m, r, t, &b);
        while (st == EM_OK && off < b.len) {
            em__arena_mark mk = em__arena_mark_get(t->scratch);
            em_val rec;
            size_t used;
            st = em__codec_decode(b.data + off, b.len - off, NULL,
                                  t->scratch, &rec, &used);
            if (st == EM_EFORMAT || st == EM_ELIMIT ||
                (st == EM_OK && !em_val_is_pair(rec))) {
                t->has_fetch_failure = true;
                st = fetch_failed(s, m, "holds a malformed record");
            }
            if (st == EM_OK)
                st = em__sink_push(out, t, rec);
            em__arena_rewind(t->scratch, mk);
            off += used;
        }
        em__buf_fini(&b);
    }
    return st;
}
