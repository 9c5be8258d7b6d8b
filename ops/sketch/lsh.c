/* Random-hyperplane LSH for cosine similarity with a pooled random
 * matrix, an index for approximate nearest neighbours by multi-index
 * hashing over signature chunks, and the batch similarity join. docs/ml.md,
 * "Sketches".
 */
#include <math.h>
#include <stdlib.h>

#include "sketch.h"
#include "gpu/gpu.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define POOL 10000
#define DEFAULT_BITS 64
#define DEFAULT_CHUNK 8
#define MAX_PLANE_CELLS (1u << 22) /* bits x dim of planes staged for a GPU */

struct em_rplsh {
    int64_t dim;     /* features */
    int bits;        /* signature bits */
    uint64_t seed;   /* of the pool and the pool indices */
    double *pool;    /* POOL standard normals (mem.h) */
};

/* ---- vectors ---- */

static bool vec_dim(em_val v, int64_t *dim)
{
    if (v.type == EM_VEC)
        *dim = v.len;
    else if (v.type == EM_SPVEC)
        *dim = v.u.sp->dim;
    else
        return false;
    return true;
}

/* <x, y> for vectors of one dimension, dense or sparse. */
static double dot(em_val x, em_val y)
{
    double s = 0;

    if (x.type == EM_SPVEC && y.type == EM_VEC) {
        em_val t = x;
        x = y;
        y = t;
    }
    if (x.type == EM_VEC && y.type == EM_VEC) {
        for (uint32_t i = 0; i < x.len; i++)
            s += x.u.vec[i] * y.u.vec[i];
    } else if (x.type == EM_VEC) {
        for (uint32_t i = 0; i < y.len; i++)
            s += x.u.vec[y.u.sp->idx[i]] * y.u.sp->val[i];
    } else {
        uint32_t i = 0, j = 0;
        while (i < x.len && j < y.len) {
            uint32_t a = x.u.sp->idx[i], b = y.u.sp->idx[j];
            if (a == b)
                s += x.u.sp->val[i++] * y.u.sp->val[j++];
            else if (a < b)
                i++;
            else
                j++;
        }
    }
    return s;
}

em_status em_ml_cosine(em_val x, em_val y, double *out)
{
    int64_t dx, dy;
    double nx, ny;

    if (!vec_dim(x, &dx) || !vec_dim(y, &dy) || dx != dy)
        return em__err(EM_EINVAL, "cosine: two vectors of one dimension "
                       "needed");
    nx = dot(x, x);
    ny = dot(y, y);
    *out = nx > 0 && ny > 0 ? dot(x, y) / sqrt(nx * ny) : 0;
    return EM_OK;
}

/* ---- signatures ---- */

static size_t sig_bytes(int bits)
{
    return ((size_t)bits + 7) / 8;
}

static uint32_t pool_index(uint64_t seed, int bit, uint64_t j)
{
    return (uint32_t)em__sk_range(
        em__sk_mix(seed ^ em__sk_mix(((uint64_t)bit << 40) ^ j)), POOL);
}

/* Writes the signature of vec (checked) to sig (zeroed, sig_bytes). */
static void signature(uint64_t seed, int bits, const double *pool,
                      em_val vec, uint8_t *sig)
{
    for (int i = 0; i < bits; i++) {
        double s = 0;
        if (vec.type == EM_VEC)
            for (uint32_t j = 0; j < vec.len; j++)
                s += vec.u.vec[j] * pool[pool_index(seed, i, j)];
        else
            for (uint32_t j = 0; j < vec.len; j++)
                s += vec.u.sp->val[j] *
                     pool[pool_index(seed, i, vec.u.sp->idx[j])];
        if (s >= 0)
            sig[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
}

em_rplsh *em_rplsh_create(int64_t dim, int bits, uint64_t seed)
{
    em_rplsh *l;
    uint64_t s = seed;

    if (bits <= 0)
        bits = DEFAULT_BITS;
    if (dim < 1 || dim > UINT32_MAX || bits > 4096) {
        em__err(EM_EINVAL, "RandomProjectionLSH: dim must be >= 1 and bits "
                "<= 4096, not %lld and %d", (long long)dim, bits);
        return NULL;
    }
    if ((l = em__mem_alloc(sizeof(*l))) == NULL)
        return NULL;
    if ((l->pool = em__mem_alloc(POOL * sizeof(double))) == NULL) {
        em__mem_free(l, sizeof(*l));
        return NULL;
    }
    l->dim = dim;
    l->bits = bits;
    l->seed = seed;
    for (int i = 0; i < POOL; i += 2) { /* Box-Muller */
        double u1 = ((double)(em__sk_mix(s += 0x9e3779b97f4a7c15ull) >> 11) +
                     0.5) / 9007199254740992.0;
        double u2 = (double)(em__sk_mix(s += 0x9e3779b97f4a7c15ull) >> 11) /
                    9007199254740992.0;
        double r = sqrt(-2 * log(u1));
        l->pool[i] = r * cos(2 * M_PI * u2);
        l->pool[i + 1] = r * sin(2 * M_PI * u2);
    }
    return l;
}

void em_rplsh_destroy(em_rplsh *lsh)
{
    if (lsh == NULL)
        return;
    em__mem_free(lsh->pool, POOL * sizeof(double));
    em__mem_free(lsh, sizeof(*lsh));
}

int em_rplsh_bits(const em_rplsh *lsh)
{
    return lsh->bits;
}

/* A signature of vec in a with the parameters given. */
static em_status sig_make(int64_t dim, int bits, uint64_t seed,
                          const double *pool, em_val vec, em_arena *a,
                          em_val *out)
{
    int64_t d;
    uint8_t *sig;

    if (!vec_dim(vec, &d) || d != dim)
        return em__err(EM_EINVAL, "RandomProjectionLSH: expected a vector "
                       "of dimension %lld", (long long)dim);
    if ((sig = em_arena_alloc(a, sig_bytes(bits))) == NULL)
        return EM_ENOMEM;
    memset(sig, 0, sig_bytes(bits));
    signature(seed, bits, pool, vec, sig);
    *out = em_bytes(sig, sig_bytes(bits));
    return EM_OK;
}

em_status em_rplsh_signature(const em_rplsh *lsh, em_val vec, em_arena *a,
                             em_val *out)
{
    return sig_make(lsh->dim, lsh->bits, lsh->seed, lsh->pool, vec, a, out);
}

static int hamming(const uint8_t *x, const uint8_t *y, size_t n)
{
    int h = 0;

    for (size_t i = 0; i < n; i++)
        h += __builtin_popcount((unsigned)(x[i] ^ y[i]));
    return h;
}

em_status em_rplsh_estimate_cosine(em_val sig_a, em_val sig_b, int bits,
                                   double *out)
{
    if (sig_a.type != EM_BYTES || sig_b.type != EM_BYTES || bits < 1 ||
        sig_a.len != sig_b.len || sig_a.len != sig_bytes(bits))
        return em__err(EM_EINVAL, "RandomProjectionLSH: two signatures of "
                       "%d bits needed", bits);
    *out = cos(M_PI * hamming(sig_a.u.bytes, sig_b.u.bytes, sig_a.len) /
               bits);
    return EM_OK;
}

/* The value of chunk c (bits [c * cb, (c + 1) * cb) below `bits`). */
static uint32_t chunk_of(const uint8_t *sig, int bits, int cb, int c)
{
    uint32_t v = 0;

    for (int i = c * cb, k = 0; i < bits && k < cb; i++, k++)
        v |= (uint32_t)((sig[i >> 3] >> (i & 7)) & 1) << k;
    return v;
}

/* ---- the environment of tasks: [dim, bits, seed, pool, chunk bits,
 * GPU on] ---- */

static void make_env(const em_rplsh *l, int cb, bool is_gpu, em_val env[6])
{
    env[0] = em_int(l->dim);
    env[1] = em_int(l->bits);
    env[2] = em_int((int64_t)l->seed);
    env[3] = em_vec(l->pool, POOL);
    env[4] = em_int(cb);
    env[5] = em_bool(is_gpu);
}

/* The signature of a record [id, vector] in a task, from env. */
static em_status task_sig(em_task *t, const em_val *env, em_val rec,
                          em_val *sig)
{
    const em_val *e = env->u.arr;

    if (!em_val_is_pair(rec))
        return em_task_fail(t, "LSH: records must be [id, vector]");
    if (sig_make(e[0].u.i, (int)e[1].u.i, (uint64_t)e[2].u.i, e[3].u.vec,
                 rec.u.arr[1], em_task_arena(t), sig) != EM_OK)
        return em__sk_fail_last(t);
    return EM_OK;
}

/* [id, vector] -> [id, vector, signature] */
static em_status with_sig(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    em_val *r, sig = em_nil();
    em_status st = task_sig(t, env, args[0], &sig);

    if (st != EM_OK)
        return st;
    if ((r = em_array_make(em_task_arena(t), 3, out)) == NULL)
        return EM_ENOMEM;
    r[0] = args[0].u.arr[0];
    r[1] = args[0].u.arr[1];
    r[2] = sig;
    return EM_OK;
}

/* True when every record of recs is [id, dense vector of dimension d]. */
static bool is_dense_batch(em_val recs, int64_t d)
{
    for (uint32_t r = 0; r < recs.len; r++) {
        em_val p = recs.u.arr[r];
        if (!em_val_is_pair(p) || p.u.arr[1].type != EM_VEC ||
            p.u.arr[1].len != d)
            return false;
    }
    return true;
}

/* The signatures of the dense records recs on the device of g: the
 * vectors staged once, the pooled planes spelled out as a bits x dim
 * matrix (signature()'s arithmetic, in its order), into items. */
static em_status sigs_gpu(em_task *t, em__gpu *g, const em_val *e,
                          em_val recs, em_val *items)
{
    em_arena *a = em_task_arena(t);
    size_t d = (size_t)e[0].u.i, sb = sig_bytes((int)e[1].u.i);
    int bits = (int)e[1].u.i;
    double *rows = em__gpu_rows(g, recs.len, d);
    double *planes = em_arena_alloc(a, (size_t)bits * d * sizeof(double));
    uint8_t *sigs = em_arena_alloc(a, recs.len * sb + 1);

    if (rows == NULL || planes == NULL || sigs == NULL)
        return EM_ENOMEM;
    for (int i = 0; i < bits; i++)
        for (size_t j = 0; j < d; j++)
            planes[(size_t)i * d + j] =
                e[3].u.vec[pool_index((uint64_t)e[2].u.i, i, j)];
    for (uint32_t r = 0; r < recs.len; r++)
        memcpy(rows + (size_t)r * d, recs.u.arr[r].u.arr[1].u.vec,
               d * sizeof(double));
    em__gpu_signs(g, planes, bits, sigs);
    for (uint32_t r = 0; r < recs.len; r++) {
        em_val *x = em_array_make(a, 3, &items[r]);
        if (x == NULL)
            return EM_ENOMEM;
        x[0] = recs.u.arr[r].u.arr[0];
        x[1] = recs.u.arr[r].u.arr[1];
        x[2] = em_bytes(sigs + r * sb, sb);
    }
    return EM_OK;
}

/* records -> [id, vector, signature] for each: with_sig's, on the task's
 * GPU when the environment says so and the vectors are dense. */
static em_status with_sigs(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    em_val recs = args[0], *items;
    em_status st = EM_OK;
    em__gpu *g;

    if ((items = em_array_make(em_task_arena(t), recs.len, out)) == NULL)
        return EM_ENOMEM;
    if (e[5].u.b && (uint64_t)e[0].u.i * (uint64_t)e[1].u.i <=
                        MAX_PLANE_CELLS &&
        is_dense_batch(recs, e[0].u.i) && (g = em__gpu_open(true)) != NULL) {
        st = sigs_gpu(t, g, e, recs, items);
        em__gpu_close(g);
        return st;
    }
    for (uint32_t r = 0; r < recs.len && st == EM_OK; r++)
        st = with_sig(t, env, &recs.u.arr[r], 1, &items[r]);
    return st;
}

/* ---- the index ---- */

typedef struct chunk_entry {
    uint32_t val;  /* chunk value */
    uint32_t item; /* record number */
} chunk_entry;

struct em_lsh_index {
    em_rplsh *lsh;         /* a copy of the parameters */
    int cb, nchunks;       /* chunk bits, chunks per signature */
    em_arena *arena;       /* the collected records */
    em_val recs;           /* array of [id, vector, signature] */
    chunk_entry **tables;  /* per chunk, sorted by val (mem.h) */
};

static int entry_cmp(const void *x, const void *y)
{
    const chunk_entry *a = x, *b = y;

    if (a->val != b->val)
        return a->val < b->val ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

void em_lsh_index_destroy(em_lsh_index *idx)
{
    if (idx == NULL)
        return;
    for (int c = 0; idx->tables != NULL && c < idx->nchunks; c++)
        em__mem_free(idx->tables[c],
                     (idx->recs.len + 1) * sizeof(chunk_entry));
    em__mem_free(idx->tables, (size_t)idx->nchunks * sizeof(chunk_entry *));
    em_rplsh_destroy(idx->lsh);
    em_arena_destroy(idx->arena);
    em__mem_free(idx, sizeof(*idx));
}

static em_status build_tables(em_lsh_index *idx)
{
    size_t n = idx->recs.len;

    idx->tables = em__mem_calloc((size_t)idx->nchunks, sizeof(chunk_entry *));
    if (idx->tables == NULL)
        return EM_ENOMEM;
    for (int c = 0; c < idx->nchunks; c++) {
        chunk_entry *t = em__mem_alloc((n + 1) * sizeof(chunk_entry));
        if ((idx->tables[c] = t) == NULL)
            return EM_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            t[i].val = chunk_of(idx->recs.u.arr[i].u.arr[2].u.bytes,
                                idx->lsh->bits, idx->cb, c);
            t[i].item = (uint32_t)i;
        }
        qsort(t, n, sizeof(chunk_entry), entry_cmp);
    }
    return EM_OK;
}

em_lsh_index *em_rplsh_index_create(const em_rplsh *lsh, em_rdd *id_vectors,
                                    int chunk_bits)
{
    em_lsh_index *idx;
    em_val env[6];
    em_status st;

    if (id_vectors == NULL)
        return NULL;
    if (chunk_bits <= 0)
        chunk_bits = DEFAULT_CHUNK;
    if (chunk_bits > 32 || chunk_bits > lsh->bits) {
        em__err(EM_EINVAL, "LSH index: chunk bits must be at most 32 and "
                "the signature's %d, not %d", lsh->bits, chunk_bits);
        return NULL;
    }
    if ((idx = em__mem_calloc(1, sizeof(*idx))) == NULL)
        return NULL;
    idx->cb = chunk_bits;
    idx->nchunks = (lsh->bits + chunk_bits - 1) / chunk_bits;
    idx->lsh = em_rplsh_create(lsh->dim, lsh->bits, lsh->seed);
    idx->arena = em_arena_create();
    st = idx->lsh == NULL || idx->arena == NULL ? EM_ENOMEM : EM_OK;
    make_env(lsh, chunk_bits, em_ctx_gpu(em_rdd_ctx(id_vectors)), env);
    if (st == EM_OK)
        st = em_rdd_collect(
            em_rdd_map_partitions(id_vectors,
                                  em_fn_of(with_sigs, em_array(env, 6))),
            idx->arena, &idx->recs);
    if (st == EM_OK && idx->recs.len >= UINT32_MAX)
        st = em__err(EM_ELIMIT, "LSH index: too many records");
    if (st == EM_OK)
        st = build_tables(idx);
    if (st != EM_OK) {
        em_lsh_index_destroy(idx);
        return NULL;
    }
    return idx;
}

/* A candidate: record number and its score. */
typedef struct cand {
    uint32_t item;
    double score; /* cosine, or -Hamming while filling */
    em_val id;
} cand;

static int cand_cmp(const void *x, const void *y)
{
    const cand *a = x, *b = y;

    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return em_val_cmp(a->id, b->id);
}

/* Marks the records sharing a chunk with sig; returns how many. */
static size_t mark_candidates(const em_lsh_index *idx, const uint8_t *sig,
                              uint8_t *mark)
{
    size_t n = idx->recs.len, count = 0;

    for (int c = 0; c < idx->nchunks; c++) {
        const chunk_entry *t = idx->tables[c];
        uint32_t v = chunk_of(sig, idx->lsh->bits, idx->cb, c);
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (t[mid].val < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < n && t[lo].val == v; lo++)
            if (!mark[t[lo].item]) {
                mark[t[lo].item] = 1;
                count++;
            }
    }
    return count;
}

/* Marks the nearest unmarked records by Hamming distance until `want`
 * are marked. */
static em_status fill_by_hamming(const em_lsh_index *idx, const uint8_t *sig,
                                 uint8_t *mark, size_t want)
{
    size_t n = idx->recs.len, m = 0, sb = sig_bytes(idx->lsh->bits);
    cand *all = em__mem_alloc((n + 1) * sizeof(cand));

    if (all == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!mark[i]) {
            all[m].item = (uint32_t)i;
            all[m].id = idx->recs.u.arr[i].u.arr[0];
            all[m++].score = -hamming(sig,
                                      idx->recs.u.arr[i].u.arr[2].u.bytes,
                                      sb);
        }
    qsort(all, m, sizeof(cand), cand_cmp);
    for (size_t i = 0; i < m && i < want; i++)
        mark[all[i].item] = 1;
    em__mem_free(all, (n + 1) * sizeof(cand));
    return EM_OK;
}

/* The marked records ranked by exact cosine: the best k into *out. */
static em_status rank(const em_lsh_index *idx, em_val query,
                      const uint8_t *mark, size_t k, em_arena *a,
                      em_val *out)
{
    size_t n = idx->recs.len, m = 0;
    cand *c = em__mem_alloc((n + 1) * sizeof(cand));
    em_val *items;
    em_status st = EM_OK;

    if (c == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (mark[i]) {
            c[m].item = (uint32_t)i;
            c[m].id = idx->recs.u.arr[i].u.arr[0];
            em_ml_cosine(query, idx->recs.u.arr[i].u.arr[1], &c[m++].score);
        }
    qsort(c, m, sizeof(cand), cand_cmp);
    if (m > k)
        m = k;
    if ((items = em_array_make(a, m, out)) == NULL)
        st = EM_ENOMEM;
    for (size_t i = 0; i < m && st == EM_OK; i++)
        st = em_pair_make(a, c[i].id, em_float(c[i].score), &items[i]);
    em__mem_free(c, (n + 1) * sizeof(cand));
    return st;
}

em_status em_lsh_index_nearest(const em_lsh_index *idx, em_val query, int k,
                               em_arena *a, em_val *out)
{
    size_t n = idx->recs.len, found;
    uint8_t *mark, sig[512];
    em_status st;

    if (k < 0)
        return em__err(EM_EINVAL, "LSH index: k must be >= 0, not %d", k);
    memset(sig, 0, sizeof(sig));
    {
        int64_t d;
        if (!vec_dim(query, &d) || d != idx->lsh->dim)
            return em__err(EM_EINVAL, "LSH index: the query must be a "
                           "vector of dimension %lld",
                           (long long)idx->lsh->dim);
    }
    signature(idx->lsh->seed, idx->lsh->bits, idx->lsh->pool, query, sig);
    if ((mark = em__mem_calloc(n + 1, 1)) == NULL)
        return EM_ENOMEM;
    found = mark_candidates(idx, sig, mark);
    st = found < (size_t)k ? fill_by_hamming(idx, sig, mark, (size_t)k -
                                                                found)
                           : EM_OK;
    if (st == EM_OK)
        st = rank(idx, query, mark, (size_t)k, a, out);
    em__mem_free(mark, n + 1);
    return st;
}

/* ---- the similarity join ---- */

/* [id, vector] -> ([chunk, value], [id, vector]) for each chunk */
static em_status chunk_keys(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    int bits = (int)e[1].u.i, cb = (int)e[4].u.i;
    int nchunks = (bits + cb - 1) / cb;
    em_arena *a = em_task_arena(t);
    em_val sig = em_nil(), *items, *cells;
    em_status st = task_sig(t, env, args[0], &sig);

    if (st != EM_OK)
        return st;
    items = em_array_make(a, (size_t)nchunks, out);
    cells = em_arena_alloc(a, 4 * (size_t)nchunks * sizeof(em_val));
    if (items == NULL || cells == NULL)
        return EM_ENOMEM;
    for (int c = 0; c < nchunks; c++) {
        em_val *k = cells + 4 * c;
        k[0] = em_int(c);
        k[1] = em_int(chunk_of(sig.u.bytes, bits, cb, c));
        k[2] = em_array(k, 2);
        k[3] = args[0];
        items[c] = em_array(k + 2, 2);
    }
    return EM_OK;
}

/* (key, ([idA, vA], [idB, vB])) -> [([idA, idB], cos)] when cos >= env */
static em_status close_pair(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    const em_val *jv = args[0].u.arr[1].u.arr;
    const em_val *x = jv[0].u.arr, *y = jv[1].u.arr;
    em_arena *a = em_task_arena(t);
    em_val *item, ids;
    double c;

    if (em_ml_cosine(x[1], y[1], &c) != EM_OK)
        return em__sk_fail_last(t);
    if (c < env->u.f) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    if ((item = em_array_make(a, 1, out)) == NULL ||
        em_pair_make(a, x[0], y[0], &ids) != EM_OK)
        return EM_ENOMEM;
    return em_pair_make(a, ids, em_float(c), item);
}

/* ([idA, idB], cos) -> [idA, idB, cos] */
static em_status flatten(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    const em_val *p = args[0].u.arr;
    em_val *r = em_array_make(em_task_arena(t), 3, out);

    if (r == NULL)
        return EM_ENOMEM;
    r[0] = p[0].u.arr[0];
    r[1] = p[0].u.arr[1];
    r[2] = p[1];
    return EM_OK;
}

em_rdd *em_rplsh_similarity_join(const em_rplsh *lsh, em_rdd *a, em_rdd *b,
                                 double threshold, int chunk_bits)
{
    em_val env[6];
    em_rdd *ka, *kb, *r;

    if (a == NULL || b == NULL)
        return NULL;
    if (chunk_bits <= 0)
        chunk_bits = DEFAULT_CHUNK;
    if (chunk_bits > 32 || chunk_bits > lsh->bits) {
        em__err(EM_EINVAL, "approxSimilarityJoin: chunk bits must be at "
                "most 32 and %d, not %d", lsh->bits, chunk_bits);
        return NULL;
    }
    make_env(lsh, chunk_bits, false, env);
    ka = em_rdd_flat_map(a, em_fn_of(chunk_keys, em_array(env, 6)));
    kb = em_rdd_flat_map(b, em_fn_of(chunk_keys, em_array(env, 6)));
    r = em_rdd_flat_map(em_rdd_join(ka, kb, 0),
                        em_fn_of(close_pair, em_float(threshold)));
    r = em_rdd_reduce_by_key(r, EM_FN(em_op_max), 0);
    return em_rdd_map(r, EM_FN(flatten));
}
