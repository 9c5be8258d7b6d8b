/* Bloom filters as Spark's sketch library has them (put, mightContain,
 * mergeInPlace, expectedFpp, bitSize), built over an RDD one partition at
 * a time and merged by treeReduce; and the two-filter trick that drops
 * singletons. A filter is one byte buffer in the layout of its value:
 *
 *   offset  size  field
 *   0       4     magic "EMBF"
 *   4       4     version (1)
 *   8       4     k, the number of hashes
 *   12      4     0
 *   16      8     m, the number of bits
 *   24      8*w   the bits, w = ceil(m / 64) words, bit i in word i / 64
 *
 * all little-endian. docs/ml.md, "Sketches".
 */
#include <math.h>
#include <stdio.h>

#include "sketch.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define HDR 24
#define MAX_BITS ((int64_t)1 << 34)

struct em_bloom {
    uint8_t *buf;  /* the value layout (mem.h) */
    size_t len;    /* its bytes */
};

static size_t layout_len(int64_t m)
{
    return HDR + 8 * (size_t)((m + 63) / 64);
}

static int64_t bits_of(const uint8_t *buf)
{
    return (int64_t)em__sk_get64(buf + 16);
}

static int hashes_of(const uint8_t *buf)
{
    return (int)em__sk_get32(buf + 8);
}

/* Writes the header of an empty filter (bits zeroed by the caller). */
static void write_header(uint8_t *buf, int64_t m, int k)
{
    memcpy(buf, "EMBF", 4);
    em__sk_put32(buf + 4, 1);
    em__sk_put32(buf + 8, (uint32_t)k);
    em__sk_put32(buf + 12, 0);
    em__sk_put64(buf + 16, (uint64_t)m);
}

/* Is buf[0..len) a filter layout? */
static bool valid_layout(const uint8_t *buf, size_t len)
{
    int64_t m;
    int k;

    if (len < HDR || memcmp(buf, "EMBF", 4) != 0 ||
        em__sk_get32(buf + 4) != 1)
        return false;
    m = bits_of(buf);
    k = hashes_of(buf);
    return m >= 1 && m <= MAX_BITS && k >= 1 && k <= 64 &&
           len == layout_len(m);
}

/* Calls probe on each of the k bit positions of x; stops at false. */
static bool probe_all(const uint8_t *buf, em_val x, uint8_t *set,
                      bool *changed)
{
    uint64_t h = em_val_hash(x), h1 = em__sk_mix(h);
    uint64_t h2 = em__sk_mix(h ^ 0x9e3779b97f4a7c15ull) | 1;
    uint64_t m = (uint64_t)bits_of(buf);
    int k = hashes_of(buf);

    for (int i = 0; i < k; i++) {
        uint64_t bit = em__sk_range(h1 + (uint64_t)i * h2, m);
        size_t at = HDR + (size_t)(bit >> 3);
        uint8_t mask = (uint8_t)(1u << (bit & 7));
        if (set != NULL) {
            *changed |= (set[at] & mask) == 0;
            set[at] |= mask;
        } else if ((buf[at] & mask) == 0) {
            return false;
        }
    }
    return true;
}

static bool layout_put(uint8_t *buf, em_val x)
{
    bool changed = false;

    probe_all(buf, x, buf, &changed);
    return changed;
}

/* dst |= src over the bits; both valid layouts of the same size. */
static void or_bits(uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = HDR; i < len; i += 8)
        em__sk_put64(dst + i, em__sk_get64(dst + i) | em__sk_get64(src + i));
}

static em_status check_same(const uint8_t *a, const uint8_t *b)
{
    if (bits_of(a) != bits_of(b) || hashes_of(a) != hashes_of(b))
        return em__err(EM_EINVAL, "Bloom filter: cannot merge a filter of "
                       "%lld bits and %d hashes with one of %lld bits and "
                       "%d hashes", (long long)bits_of(a), hashes_of(a),
                       (long long)bits_of(b), hashes_of(b));
    return EM_OK;
}

/* ---- the handle ---- */

em_bloom *em_bloom_create_bits(int64_t num_bits, int num_hashes)
{
    em_bloom *bf;

    if (num_bits < 1 || num_bits > MAX_BITS || num_hashes < 1 ||
        num_hashes > 64) {
        em__err(EM_EINVAL, "Bloom filter: %lld bits and %d hashes (want 1 "
                "to 2^34 bits, 1 to 64 hashes)", (long long)num_bits,
                num_hashes);
        return NULL;
    }
    if ((bf = em__mem_alloc(sizeof(*bf))) == NULL)
        return NULL;
    bf->len = layout_len(num_bits);
    if ((bf->buf = em__mem_calloc(1, bf->len)) == NULL) {
        em__mem_free(bf, sizeof(*bf));
        return NULL;
    }
    write_header(bf->buf, num_bits, num_hashes);
    return bf;
}

/* The classic sizing; false with the error set for bad parameters. */
static bool optimal_size(int64_t n, double p, int64_t *m, int *k)
{
    double bits;

    if (n < 1 || !(p > 0 && p < 1)) {
        em__err(EM_EINVAL, "Bloom filter: expected items must be > 0 and "
                "fpp in (0, 1), not %lld and %g", (long long)n, p);
        return false;
    }
    bits = ceil(-(double)n * log(p) / (M_LN2 * M_LN2));
    if (bits > (double)MAX_BITS) {
        em__err(EM_EINVAL, "Bloom filter: %lld items at fpp %g need %.0f "
                "bits, over the 2^34 allowed", (long long)n, p, bits);
        return false;
    }
    *m = (int64_t)bits;
    *k = (int)fmax(1, round((double)*m / (double)n * M_LN2));
    if (*k > 64)
        *k = 64;
    return true;
}

em_bloom *em_bloom_create(int64_t expected_items, double fpp)
{
    int64_t m;
    int k;

    if (!optimal_size(expected_items, fpp, &m, &k))
        return NULL;
    return em_bloom_create_bits(m, k);
}

void em_bloom_destroy(em_bloom *bf)
{
    if (bf == NULL)
        return;
    em__mem_free(bf->buf, bf->len);
    em__mem_free(bf, sizeof(*bf));
}

bool em_bloom_put(em_bloom *bf, em_val x)
{
    return layout_put(bf->buf, x);
}

bool em_bloom_might_contain(const em_bloom *bf, em_val x)
{
    return probe_all(bf->buf, x, NULL, NULL);
}

em_status em_bloom_merge_in_place(em_bloom *bf, const em_bloom *other)
{
    em_status st = check_same(bf->buf, other->buf);

    if (st == EM_OK)
        or_bits(bf->buf, other->buf, bf->len);
    return st;
}

double em_bloom_expected_fpp(const em_bloom *bf)
{
    int64_t ones = 0;

    for (size_t i = HDR; i < bf->len; i += 8)
        ones += __builtin_popcountll(em__sk_get64(bf->buf + i));
    return pow((double)ones / (double)bits_of(bf->buf), hashes_of(bf->buf));
}

int64_t em_bloom_bit_size(const em_bloom *bf)
{
    return bits_of(bf->buf);
}

int em_bloom_num_hashes(const em_bloom *bf)
{
    return hashes_of(bf->buf);
}

em_status em_bloom_to_val(const em_bloom *bf, em_arena *a, em_val *out)
{
    uint8_t *p;

    if (bf->len > UINT32_MAX)
        return em__err(EM_ELIMIT, "Bloom filter: %zu bytes are too many "
                       "for a value", bf->len);
    if ((p = em_arena_alloc(a, bf->len)) == NULL)
        return EM_ENOMEM;
    memcpy(p, bf->buf, bf->len);
    *out = em_bytes(p, bf->len);
    return EM_OK;
}

em_bloom *em_bloom_from_val(em_val v)
{
    em_bloom *bf;

    if (v.type != EM_BYTES || !valid_layout(v.u.bytes, v.len)) {
        em__err(EM_EFORMAT, "Bloom filter: not a filter value");
        return NULL;
    }
    bf = em_bloom_create_bits(bits_of(v.u.bytes), hashes_of(v.u.bytes));
    if (bf != NULL)
        memcpy(bf->buf, v.u.bytes, bf->len);
    return bf;
}

em_status em_bloom_val_might_contain(em_val bf, em_val x, bool *out)
{
    if (bf.type != EM_BYTES || !valid_layout(bf.u.bytes, bf.len))
        return em__err(EM_EFORMAT, "Bloom filter: not a filter value");
    *out = probe_all(bf.u.bytes, x, NULL, NULL);
    return EM_OK;
}

em_status em__sk_fail_last(em_task *t)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "%s", em_last_error());
    return em_task_fail(t, "%s", msg);
}

em_status em_bloom_merge_op(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    const uint8_t *x = args[0].u.bytes, *y = args[1].u.bytes;
    uint8_t *p;

    if (args[0].type != EM_BYTES || !valid_layout(x, args[0].len) ||
        args[1].type != EM_BYTES || !valid_layout(y, args[1].len))
        return em_task_fail(t, "Bloom filter: merge of a value that is not "
                            "a filter");
    if (check_same(x, y) != EM_OK)
        return em__sk_fail_last(t);
    if ((p = em_arena_alloc(em_task_arena(t), args[0].len)) == NULL)
        return EM_ENOMEM;
    memcpy(p, x, args[0].len);
    or_bits(p, y, args[0].len);
    *out = em_bytes(p, args[0].len);
    return EM_OK;
}

/* ---- over an RDD ---- */

/* An empty filter layout of env's [m, k] in the task's arena. */
static uint8_t *task_filter(em_task *t, const em_val *env, size_t *len)
{
    int64_t m = env->u.arr[0].u.i;
    uint8_t *buf;

    *len = layout_len(m);
    if ((buf = em_arena_alloc(em_task_arena(t), *len)) == NULL)
        return NULL;
    memset(buf, 0, *len);
    write_header(buf, m, (int)env->u.arr[1].u.i);
    return buf;
}

/* records -> [filter of the records]; env is [m, k] */
static em_status bloom_partition(em_task *t, const em_val *env,
                                 const em_val *args, size_t nargs,
                                 em_val *out)
{
    size_t len;
    uint8_t *buf = task_filter(t, env, &len);
    em_val *item;

    if (buf == NULL || (item = em_array_make(em_task_arena(t), 1, out)) ==
                           NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < args[0].len; i++)
        layout_put(buf, args[0].u.arr[i]);
    *item = em_bytes(buf, len);
    return EM_OK;
}

em_bloom *em_sketch_bloom_filter(em_rdd *rdd, int64_t expected_items,
                                 double fpp)
{
    em_val env[2], v;
    em_arena *a;
    em_bloom *bf = NULL;
    int64_t m;
    int k;

    if (rdd == NULL || !optimal_size(expected_items, fpp, &m, &k))
        return NULL;
    if ((a = em_arena_create()) == NULL)
        return NULL;
    env[0] = em_int(m);
    env[1] = em_int(k);
    rdd = em_rdd_map_partitions(rdd, em_fn_of(bloom_partition,
                                              em_array(env, 2)));
    if (rdd != NULL) {
        em_status st = em_rdd_tree_reduce(rdd, EM_FN(em_bloom_merge_op), 2,
                                          a, &v);
        if (st == EM_OK)
            bf = em_bloom_from_val(v);
        else if (st == EM_EEMPTY) /* no partitions */
            bf = em_bloom_create_bits(m, k);
    }
    em_arena_destroy(a);
    return bf;
}

/* records -> [[once, twice]]: filters of the values seen once and at
 * least twice in the partition; env is [m, k] */
static em_status pair_partition(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    size_t len;
    uint8_t *once = task_filter(t, env, &len), *twice = task_filter(t, env,
                                                                    &len);
    em_val *item, *both;

    if (once == NULL || twice == NULL ||
        (item = em_array_make(em_task_arena(t), 1, out)) == NULL ||
        (both = em_array_make(em_task_arena(t), 2, item)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < args[0].len; i++)
        if (!layout_put(once, args[0].u.arr[i]))
            layout_put(twice, args[0].u.arr[i]);
    both[0] = em_bytes(once, len);
    both[1] = em_bytes(twice, len);
    return EM_OK;
}

/* [A1, B1], [A2, B2] -> [A1 | A2, B1 | B2 | (A1 & A2)] */
static em_status pair_merge(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    const em_val *x = args[0].u.arr, *y = args[1].u.arr;
    size_t len = x[0].len;
    em_arena *a = em_task_arena(t);
    uint8_t *once = em_arena_alloc(a, len), *twice = em_arena_alloc(a, len);
    em_val *both = em_array_make(a, 2, out);

    if (once == NULL || twice == NULL || both == NULL)
        return EM_ENOMEM;
    memcpy(once, x[0].u.bytes, HDR);
    memcpy(twice, x[1].u.bytes, HDR);
    for (size_t i = HDR; i < len; i += 8) {
        uint64_t a1 = em__sk_get64(x[0].u.bytes + i);
        uint64_t a2 = em__sk_get64(y[0].u.bytes + i);
        em__sk_put64(once + i, a1 | a2);
        em__sk_put64(twice + i, em__sk_get64(x[1].u.bytes + i) |
                                    em__sk_get64(y[1].u.bytes + i) |
                                    (a1 & a2));
    }
    both[0] = em_bytes(once, len);
    both[1] = em_bytes(twice, len);
    return EM_OK;
}

/* rec -> is it in the filter of env (a broadcast reference)? */
static em_status in_filter(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val bf;
    bool hit;
    em_status st = em_task_broadcast(t, *env, &bf);

    if (st == EM_OK)
        st = em_bloom_val_might_contain(bf, args[0], &hit);
    if (st != EM_OK)
        return em__sk_fail_last(t);
    *out = em_bool(hit);
    return EM_OK;
}

em_rdd *em_sketch_drop_singletons(em_rdd *rdd, int64_t expected_items,
                                  double fpp)
{
    em_val env[2], pair;
    em_broadcast *b = NULL;
    em_arena *a;
    em_rdd *filters;
    bool empty = false;
    int64_t m;
    int k;

    if (rdd == NULL || !optimal_size(expected_items, fpp, &m, &k))
        return NULL;
    if ((a = em_arena_create()) == NULL)
        return NULL;
    env[0] = em_int(m);
    env[1] = em_int(k);
    filters = em_rdd_map_partitions(rdd, em_fn_of(pair_partition,
                                                  em_array(env, 2)));
    if (filters != NULL) {
        em_status st = em_rdd_tree_reduce(filters, EM_FN(pair_merge), 2, a,
                                          &pair);
        empty = st == EM_EEMPTY; /* no partitions: nothing to keep */
        if (st == EM_OK)
            b = em_ctx_broadcast(em_rdd_ctx(rdd), pair.u.arr[1]);
    }
    em_arena_destroy(a);
    if (empty)
        return em_ctx_empty(em_rdd_ctx(rdd));
    if (b == NULL)
        return NULL;
    return em_rdd_filter(rdd, em_fn_of(in_filter, em_broadcast_ref(b)));
}
