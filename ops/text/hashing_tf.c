/* Feature hashing (the hash kernel), as pyspark.mllib's HashingTF: a
 * document's tokens become a sparse vector of term frequencies at indices
 * given by a fixed hash of each term, optionally signed by a second hash.
 * The hash is em_val_hash, the same on every process. docs/ml.md.
 */
#include <stdlib.h>

#include "text.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define MAX_FEATURES ((int64_t)1 << 32)

/* One token's contribution. */
typedef struct term_hit {
    uint32_t idx; /* feature index */
    double v;     /* +1 or -1 */
    em_val term;  /* the token, for EM_HASHING_BINARY */
} term_hit;

/* A second, independent mix of the hash (splitmix64's finalizer). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t em_hashing_tf_index(int64_t num_features, em_val term)
{
    if (num_features < 1 || num_features > MAX_FEATURES)
        return -1;
    return (int64_t)(em_val_hash(term) % (uint64_t)num_features);
}

int em_hashing_tf_sign(em_val term)
{
    return (mix64(em_val_hash(term) ^ 0x5bd1e995u) >> 63) ? -1 : 1;
}

static int hit_cmp(const void *x, const void *y)
{
    const term_hit *a = x, *b = y;

    if (a->idx != b->idx)
        return a->idx < b->idx ? -1 : 1;
    return em_val_cmp(a->term, b->term);
}

/* Sums the sorted hits into idx/val (in place over the hits' order);
 * returns the number of non-zero entries. */
static size_t sum_hits(term_hit *h, size_t n, bool binary, uint32_t *idx,
                       double *val)
{
    size_t m = 0;

    for (size_t i = 0; i < n;) {
        double s = 0;
        size_t j = i;
        for (; j < n && h[j].idx == h[i].idx; j++)
            if (!binary || j == i || !em_val_eq(h[j].term, h[j - 1].term))
                s += h[j].v;
        if (s != 0) {
            idx[m] = h[i].idx;
            val[m++] = s;
        }
        i = j;
    }
    return m;
}

em_status em_hashing_tf_transform(int64_t num_features, unsigned flags,
                                  em_val tokens, em_arena *a, em_val *out)
{
    size_t n = tokens.len, m;
    term_hit *h;
    uint32_t *idx;
    double *val;
    em_status st;

    if (num_features < 1 || num_features > MAX_FEATURES)
        return em__err(EM_EINVAL, "HashingTF: numFeatures must be in [1, "
                       "2^32], not %lld", (long long)num_features);
    if ((flags & ~(EM_HASHING_SIGNED | EM_HASHING_BINARY)) != 0)
        return em__err(EM_EINVAL, "HashingTF: unknown flags 0x%x", flags);
    if (tokens.type != EM_ARRAY)
        return em__err(EM_ETYPE, "HashingTF: tokens must be an array, not "
                       "%s", em_type_name((em_type)tokens.type));
    h = em__mem_alloc(n * sizeof(*h));
    idx = em_arena_alloc(a, n * sizeof(*idx) + 1);
    val = em_arena_alloc(a, n * sizeof(*val) + 1);
    if (h == NULL || idx == NULL || val == NULL) {
        em__mem_free(h, n * sizeof(*h));
        return EM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        em_val term = tokens.u.arr[i];
        h[i].idx = (uint32_t)em_hashing_tf_index(num_features, term);
        h[i].v = (flags & EM_HASHING_SIGNED) ? em_hashing_tf_sign(term) : 1;
        h[i].term = term;
    }
    if (n > 1)
        qsort(h, n, sizeof(*h), hit_cmp);
    m = sum_hits(h, n, (flags & EM_HASHING_BINARY) != 0, idx, val);
    em__mem_free(h, n * sizeof(*h));
    st = em_spvec_make(a, num_features, idx, val, m, out);
    return st;
}

em_status em_hashing_tf_op(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;

    if (em_hashing_tf_transform(e[0].u.i, (unsigned)e[1].u.i, args[0],
                                em_task_arena(t), out) != EM_OK)
        return em__text_fail_last(t);
    return EM_OK;
}

em_rdd *em_hashing_tf(em_rdd *docs, int64_t num_features, unsigned flags)
{
    em_val env[2];

    if (docs == NULL)
        return NULL;
    if (num_features < 1 || num_features > MAX_FEATURES ||
        (flags & ~(EM_HASHING_SIGNED | EM_HASHING_BINARY)) != 0) {
        em__err(EM_EINVAL, "HashingTF: numFeatures must be in [1, 2^32] "
                "(got %lld) and flags SIGNED or BINARY (got 0x%x)",
                (long long)num_features, flags);
        return NULL;
    }
    env[0] = em_int(num_features);
    env[1] = em_int(flags);
    return em_rdd_map(docs, em_fn_of(em_hashing_tf_op, em_array(env, 2)));
}
