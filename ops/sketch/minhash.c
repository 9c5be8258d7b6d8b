/* MinHash LSH for Jaccard similarity of token sets: signatures, the
 * estimate, and near-duplicate detection by banding (a self-join on band
 * keys, then exact Jaccard of the candidates). docs/ml.md, "Sketches".
 */
#include <stdlib.h>

#include "sketch.h"
#include "runtime/err.h"
#include "runtime/mem.h"

struct em_minhash {
    int n;          /* hashes */
    int bands;      /* bands of n / bands rows */
    uint64_t seed;  /* of the hash family */
};

em_minhash *em_minhash_create(int num_hashes, int bands, uint64_t seed)
{
    em_minhash *mh;

    if (num_hashes < 1 || num_hashes > 65536 || bands < 1 ||
        bands > num_hashes || num_hashes % bands != 0) {
        em__err(EM_EINVAL, "MinHashLSH: num_hashes (1..65536) must be a "
                "multiple of bands, not %d and %d", num_hashes, bands);
        return NULL;
    }
    if ((mh = em__mem_alloc(sizeof(*mh))) == NULL)
        return NULL;
    mh->n = num_hashes;
    mh->bands = bands;
    mh->seed = seed;
    return mh;
}

void em_minhash_destroy(em_minhash *mh)
{
    em__mem_free(mh, mh != NULL ? sizeof(*mh) : 0);
}

/* The signature of tokens with n hashes from seed, in a. */
static em_status sig_make(int n, uint64_t seed, em_val tokens, em_arena *a,
                          em_val *out)
{
    em_val *h;

    if (tokens.type != EM_ARRAY)
        return em__err(EM_ETYPE, "MinHashLSH: tokens must be an array, not "
                       "%s", em_type_name((em_type)tokens.type));
    if ((h = em_array_make(a, (size_t)n, out)) == NULL)
        return EM_ENOMEM;
    for (int i = 0; i < n; i++) {
        uint64_t si = em__sk_mix(seed + (uint64_t)(i + 1) *
                                            0x9e3779b97f4a7c15ull);
        uint64_t best = UINT64_MAX;
        for (uint32_t j = 0; j < tokens.len; j++) {
            uint64_t v = em__sk_mix(em_val_hash(tokens.u.arr[j]) ^ si);
            if (v < best)
                best = v;
        }
        h[i] = em_int(best == UINT64_MAX ? INT64_MAX : (int64_t)(best >> 1));
    }
    return EM_OK;
}

em_status em_minhash_signature(const em_minhash *mh, em_val tokens,
                               em_arena *a, em_val *out)
{
    return sig_make(mh->n, mh->seed, tokens, a, out);
}

em_status em_minhash_estimate_jaccard(em_val sig_a, em_val sig_b,
                                      double *out)
{
    uint32_t eq = 0;

    if (sig_a.type != EM_ARRAY || sig_b.type != EM_ARRAY ||
        sig_a.len != sig_b.len || sig_a.len == 0)
        return em__err(EM_EINVAL, "MinHashLSH: two signatures of one "
                       "length needed");
    for (uint32_t i = 0; i < sig_a.len; i++)
        eq += em_val_eq(sig_a.u.arr[i], sig_b.u.arr[i]);
    *out = (double)eq / sig_a.len;
    return EM_OK;
}

/* [id, tokens] -> ([band, hash of the band], [id, tokens]) per band; env
 * is [num_hashes, bands, seed] */
static em_status band_keys(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    int n = (int)e[0].u.i, bands = (int)e[1].u.i, rows = n / bands;
    em_arena *a = em_task_arena(t);
    em_val sig = em_nil(), *items, *cells;

    if (!em_val_is_pair(args[0]))
        return em_task_fail(t, "MinHashLSH: records must be [id, tokens]");
    if (sig_make(n, (uint64_t)e[2].u.i, args[0].u.arr[1], a, &sig) != EM_OK)
        return em__sk_fail_last(t);
    items = em_array_make(a, (size_t)bands, out);
    cells = em_arena_alloc(a, 4 * (size_t)bands * sizeof(em_val));
    if (items == NULL || cells == NULL)
        return EM_ENOMEM;
    for (int b = 0; b < bands; b++) {
        em_val *k = cells + 4 * b;
        k[0] = em_int(b);
        k[1] = em_int((int64_t)(em_val_hash(em_array(sig.u.arr + b * rows,
                                                     (size_t)rows)) >> 1));
        k[2] = em_array(k, 2);
        k[3] = args[0];
        items[b] = em_array(k + 2, 2);
    }
    return EM_OK;
}

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* The distinct values of tokens, sorted, in a; NULL when out of memory. */
static em_val *sorted_set(em_arena *a, em_val tokens, size_t *n)
{
    em_val *s = em_arena_alloc(a, (tokens.len + 1) * sizeof(em_val));
    size_t m = 0;

    if (s == NULL)
        return NULL;
    memcpy(s, tokens.u.arr, tokens.len * sizeof(em_val));
    qsort(s, tokens.len, sizeof(em_val), val_qcmp);
    for (size_t i = 0; i < tokens.len; i++)
        if (m == 0 || !em_val_eq(s[m - 1], s[i]))
            s[m++] = s[i];
    *n = m;
    return s;
}

/* (key, ([idA, tA], [idB, tB])) -> [([idA, idB], jaccard)] when idA < idB
 * and the exact Jaccard is >= env */
static em_status similar_pair(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    const em_val *jv = args[0].u.arr[1].u.arr;
    const em_val *x = jv[0].u.arr, *y = jv[1].u.arr;
    em_arena *a = em_task_arena(t);
    size_t nx, ny, i = 0, j = 0, both = 0;
    em_val *sx, *sy, *item, ids;
    double jac;

    *out = em_array(NULL, 0);
    if (em_val_cmp(x[0], y[0]) >= 0)
        return EM_OK;
    if (x[1].type != EM_ARRAY || y[1].type != EM_ARRAY)
        return em_task_fail(t, "MinHashLSH: tokens must be an array");
    if ((sx = sorted_set(a, x[1], &nx)) == NULL ||
        (sy = sorted_set(a, y[1], &ny)) == NULL)
        return EM_ENOMEM;
    while (i < nx && j < ny) {
        int c = em_val_cmp(sx[i], sy[j]);
        both += c == 0;
        i += c <= 0;
        j += c >= 0;
    }
    jac = nx + ny > both ? (double)both / (double)(nx + ny - both) : 1.0;
    if (jac < env->u.f)
        return EM_OK;
    if ((item = em_array_make(a, 1, out)) == NULL ||
        em_pair_make(a, x[0], y[0], &ids) != EM_OK)
        return EM_ENOMEM;
    return em_pair_make(a, ids, em_float(jac), item);
}

/* ([idA, idB], j) -> [idA, idB, j] */
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

em_rdd *em_minhash_similarity_join(const em_minhash *mh, em_rdd *docs,
                                   double threshold)
{
    em_val env[3];
    em_rdd *keys, *r;

    if (docs == NULL)
        return NULL;
    env[0] = em_int(mh->n);
    env[1] = em_int(mh->bands);
    env[2] = em_int((int64_t)mh->seed);
    keys = em_rdd_flat_map(docs, em_fn_of(band_keys, em_array(env, 3)));
    r = em_rdd_flat_map(em_rdd_join(keys, keys, 0),
                        em_fn_of(similar_pair, em_float(threshold)));
    r = em_rdd_reduce_by_key(r, EM_FN(em_op_max), 0);
    return em_rdd_map(r, EM_FN(flatten));
}
