/* Count-min sketches (Cormode and Muthukrishnan), with Spark's sketch
 * library's names and the classic sizing; optional conservative update;
 * built over an RDD per partition and merged by treeReduce; heavy hitters
 * from a broadcast sketch. A sketch is one byte buffer in the layout of
 * its value:
 *
 *   offset  size     field
 *   0       4        magic "EMCM"
 *   4       4        version (1)
 *   8       4        depth d
 *   12      4        width w
 *   16      8        seed
 *   24      8        total count (int64)
 *   32      4        flags: 1 = conservative update
 *   36      4        0
 *   40      8*d*w    counters (int64), row after row
 *
 * all little-endian. docs/ml.md, "Sketches".
 */
#include <math.h>
#include <stdlib.h>

#include "sketch.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define HDR 40
#define MAX_TABLE_BYTES ((size_t)1 << 31)
#define FLAG_CONSERVATIVE 1u
#define HH_SEED 0 /* the seed of heavyHitters' sketch */

struct em_cms {
    uint8_t *buf; /* the value layout (mem.h) */
    size_t len;   /* its bytes */
};

static uint32_t depth_of(const uint8_t *b) { return em__sk_get32(b + 8); }
static uint32_t width_of(const uint8_t *b) { return em__sk_get32(b + 12); }
static uint64_t seed_of(const uint8_t *b) { return em__sk_get64(b + 16); }
static int64_t total_of(const uint8_t *b)
{
    return (int64_t)em__sk_get64(b + 24);
}

static size_t layout_len(uint32_t d, uint32_t w)
{
    return HDR + 8 * (size_t)d * w;
}

static bool valid_layout(const uint8_t *b, size_t len)
{
    if (len < HDR || memcmp(b, "EMCM", 4) != 0 || em__sk_get32(b + 4) != 1)
        return false;
    return depth_of(b) >= 1 && width_of(b) >= 1 &&
           (size_t)depth_of(b) * width_of(b) <= MAX_TABLE_BYTES / 8 &&
           len == layout_len(depth_of(b), width_of(b)) &&
           total_of(b) >= 0;
}

static void write_header(uint8_t *b, uint32_t d, uint32_t w, uint64_t seed,
                         uint32_t flags)
{
    memcpy(b, "EMCM", 4);
    em__sk_put32(b + 4, 1);
    em__sk_put32(b + 8, d);
    em__sk_put32(b + 12, w);
    em__sk_put64(b + 16, seed);
    em__sk_put64(b + 24, 0);
    em__sk_put32(b + 32, flags);
    em__sk_put32(b + 36, 0);
}

/* The offset of x's counter in row r. */
static size_t cell(const uint8_t *b, uint64_t h, uint32_t r)
{
    uint64_t rs = em__sk_mix(seed_of(b) + (r + 1) * 0x9e3779b97f4a7c15ull);
    uint64_t col = em__sk_range(em__sk_mix(h ^ rs), width_of(b));

    return HDR + 8 * ((size_t)r * width_of(b) + (size_t)col);
}

static int64_t layout_estimate(const uint8_t *b, em_val x)
{
    uint64_t h = em_val_hash(x);
    int64_t best = INT64_MAX;

    for (uint32_t r = 0; r < depth_of(b); r++) {
        int64_t c = (int64_t)em__sk_get64(b + cell(b, h, r));
        if (c < best)
            best = c;
    }
    return best;
}

/* Adds count to x; the caller checked count >= 0 and the total. */
static void layout_add(uint8_t *b, em_val x, int64_t count)
{
    uint64_t h = em_val_hash(x);
    int64_t floor = 0;
    bool cons = (em__sk_get32(b + 32) & FLAG_CONSERVATIVE) != 0;

    if (cons)
        floor = layout_estimate(b, x) + count;
    for (uint32_t r = 0; r < depth_of(b); r++) {
        size_t at = cell(b, h, r);
        int64_t c = (int64_t)em__sk_get64(b + at);
        em__sk_put64(b + at, (uint64_t)(cons ? (c > floor ? c : floor)
                                             : c + count));
    }
    em__sk_put64(b + 24, (uint64_t)(total_of(b) + count));
}

/* dst += src, both valid layouts of the same shape; false on overflow. */
static bool add_layouts(uint8_t *dst, const uint8_t *src, size_t len)
{
    int64_t t;

    if (__builtin_add_overflow(total_of(dst), total_of(src), &t))
        return false;
    em__sk_put64(dst + 24, (uint64_t)t);
    for (size_t i = HDR; i < len; i += 8)
        em__sk_put64(dst + i, em__sk_get64(dst + i) + em__sk_get64(src + i));
    return true;
}

static em_status check_same(const uint8_t *a, const uint8_t *b)
{
    if (depth_of(a) != depth_of(b) || width_of(a) != width_of(b) ||
        seed_of(a) != seed_of(b))
        return em__err(EM_EINVAL, "count-min sketch: cannot merge depth %u "
                       "width %u seed %llu with depth %u width %u seed %llu",
                       depth_of(a), width_of(a),
                       (unsigned long long)seed_of(a), depth_of(b),
                       width_of(b), (unsigned long long)seed_of(b));
    return EM_OK;
}

/* The classic sizing; false with the error set for bad parameters. */
static bool sizing(double eps, double conf, uint32_t *d, uint32_t *w)
{
    double dd, ww;

    if (!(eps > 0 && eps < 1) || !(conf > 0 && conf < 1)) {
        em__err(EM_EINVAL, "count-min sketch: eps and confidence must be in "
                "(0, 1), not %g and %g", eps, conf);
        return false;
    }
    ww = ceil(M_E / eps);
    dd = ceil(log(1 / (1 - conf)));
    if (dd < 1)
        dd = 1;
    if (dd * ww * 8 > (double)MAX_TABLE_BYTES) {
        em__err(EM_EINVAL, "count-min sketch: eps %g and confidence %g need "
                "%.0f x %.0f counters, over 2^31 bytes", eps, conf, dd, ww);
        return false;
    }
    *d = (uint32_t)dd;
    *w = (uint32_t)ww;
    return true;
}

/* ---- the handle ---- */

static em_cms *cms_alloc(size_t len)
{
    em_cms *c = em__mem_alloc(sizeof(*c));

    if (c == NULL)
        return NULL;
    c->len = len;
    if ((c->buf = em__mem_calloc(1, len)) == NULL) {
        em__mem_free(c, sizeof(*c));
        return NULL;
    }
    return c;
}

em_cms *em_cms_create(double eps, double confidence, uint64_t seed)
{
    uint32_t d, w;
    em_cms *c;

    if (!sizing(eps, confidence, &d, &w))
        return NULL;
    if ((c = cms_alloc(layout_len(d, w))) != NULL)
        write_header(c->buf, d, w, seed, 0);
    return c;
}

void em_cms_destroy(em_cms *cms)
{
    if (cms == NULL)
        return;
    em__mem_free(cms->buf, cms->len);
    em__mem_free(cms, sizeof(*cms));
}

void em_cms_set_conservative(em_cms *cms, bool on)
{
    em__sk_put32(cms->buf + 32, on ? FLAG_CONSERVATIVE : 0);
}

em_status em_cms_add(em_cms *cms, em_val x, int64_t count)
{
    if (count < 0)
        return em__err(EM_EINVAL, "count-min sketch: negative count %lld",
                       (long long)count);
    if (total_of(cms->buf) > INT64_MAX - count)
        return em__err(EM_ELIMIT, "count-min sketch: total count would "
                       "overflow");
    layout_add(cms->buf, x, count);
    return EM_OK;
}

int64_t em_cms_estimate_count(const em_cms *cms, em_val x)
{
    return layout_estimate(cms->buf, x);
}

em_status em_cms_merge_in_place(em_cms *cms, const em_cms *other)
{
    em_status st = check_same(cms->buf, other->buf);

    if (st == EM_OK && !add_layouts(cms->buf, other->buf, cms->len))
        st = em__err(EM_ELIMIT, "count-min sketch: total count would "
                     "overflow");
    return st;
}

int64_t em_cms_total_count(const em_cms *cms) { return total_of(cms->buf); }
int em_cms_depth(const em_cms *cms) { return (int)depth_of(cms->buf); }
int em_cms_width(const em_cms *cms) { return (int)width_of(cms->buf); }

em_status em_cms_to_val(const em_cms *cms, em_arena *a, em_val *out)
{
    uint8_t *p;

    if (cms->len > UINT32_MAX)
        return em__err(EM_ELIMIT, "count-min sketch: too large for a value");
    if ((p = em_arena_alloc(a, cms->len)) == NULL)
        return EM_ENOMEM;
    memcpy(p, cms->buf, cms->len);
    *out = em_bytes(p, cms->len);
    return EM_OK;
}

em_cms *em_cms_from_val(em_val v)
{
    em_cms *c;

    if (v.type != EM_BYTES || !valid_layout(v.u.bytes, v.len)) {
        em__err(EM_EFORMAT, "count-min sketch: not a sketch value");
        return NULL;
    }
    if ((c = cms_alloc(v.len)) != NULL)
        memcpy(c->buf, v.u.bytes, v.len);
    return c;
}

em_status em_cms_val_estimate_count(em_val cms, em_val x, int64_t *out)
{
    if (cms.type != EM_BYTES || !valid_layout(cms.u.bytes, cms.len))
        return em__err(EM_EFORMAT, "count-min sketch: not a sketch value");
    *out = layout_estimate(cms.u.bytes, x);
    return EM_OK;
}

em_status em_cms_merge_op(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    uint8_t *p;

    for (int i = 0; i < 2; i++)
        if (args[i].type != EM_BYTES ||
            !valid_layout(args[i].u.bytes, args[i].len))
            return em_task_fail(t, "count-min sketch: merge of a value "
                                "that is not a sketch");
    if (check_same(args[0].u.bytes, args[1].u.bytes) != EM_OK)
        return em__sk_fail_last(t);
    if ((p = em_arena_alloc(em_task_arena(t), args[0].len)) == NULL)
        return EM_ENOMEM;
    memcpy(p, args[0].u.bytes, args[0].len);
    if (!add_layouts(p, args[1].u.bytes, args[0].len))
        return em_task_fail(t, "count-min sketch: total count overflows");
    *out = em_bytes(p, args[0].len);
    return EM_OK;
}

/* ---- over an RDD ---- */

/* records -> [sketch of the records]; env is [depth, width, seed, flags] */
static em_status cms_partition(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    uint32_t d = (uint32_t)e[0].u.i, w = (uint32_t)e[1].u.i;
    size_t len = layout_len(d, w);
    uint8_t *b = em_arena_alloc(em_task_arena(t), len);
    em_val *item = em_array_make(em_task_arena(t), 1, out);

    if (b == NULL || item == NULL)
        return EM_ENOMEM;
    memset(b, 0, len);
    write_header(b, d, w, (uint64_t)e[2].u.i, (uint32_t)e[3].u.i);
    for (uint32_t i = 0; i < args[0].len; i++)
        layout_add(b, args[0].u.arr[i], 1);
    *item = em_bytes(b, len);
    return EM_OK;
}

/* em_sketch_count_min with its status. */
static em_status build(em_rdd *rdd, double eps, double confidence,
                       uint64_t seed, bool conservative, em_cms **out)
{
    em_val env[4], v;
    em_cms *c = NULL;
    em_arena *a;
    uint32_t d, w;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "count-min sketch: no input RDD");
    if (!sizing(eps, confidence, &d, &w))
        return EM_EINVAL;
    if ((a = em_arena_create()) == NULL)
        return EM_ENOMEM;
    env[0] = em_int(d);
    env[1] = em_int(w);
    env[2] = em_int((int64_t)seed);
    env[3] = em_int(conservative ? FLAG_CONSERVATIVE : 0);
    rdd = em_rdd_map_partitions(rdd, em_fn_of(cms_partition,
                                              em_array(env, 4)));
    st = rdd == NULL ? EM_ENOMEM
                     : em_rdd_tree_reduce(rdd, EM_FN(em_cms_merge_op), 2, a,
                                          &v);
    if (st == EM_OK) {
        c = em_cms_from_val(v);
    } else if (st == EM_EEMPTY) { /* no partitions */
        st = EM_OK;
        if ((c = em_cms_create(eps, confidence, seed)) != NULL)
            em_cms_set_conservative(c, conservative);
    }
    em_arena_destroy(a);
    if (st == EM_OK && c == NULL)
        st = EM_ENOMEM;
    if (st == EM_OK)
        *out = c;
    return st;
}

em_cms *em_sketch_count_min(em_rdd *rdd, double eps, double confidence,
                            uint64_t seed, bool conservative)
{
    em_cms *c = NULL;

    if (rdd == NULL)
        return NULL;
    build(rdd, eps, confidence, seed, conservative, &c);
    return c;
}

static int by_key(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* records -> [item, estimate] for each distinct item of the partition
 * whose estimate is >= env[1]; env[0] is the broadcast sketch */
static em_status hh_partition(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    size_t n = args[0].len, m = 0;
    em_arena *a = em_task_arena(t);
    em_val sk, *items, *res;
    em_status st = em_task_broadcast(t, env->u.arr[0], &sk);

    if (st != EM_OK)
        return em__sk_fail_last(t);
    items = em_arena_alloc(a, (n + 1) * sizeof(em_val));
    res = em_array_make(a, n, out);
    if (items == NULL || res == NULL)
        return EM_ENOMEM;
    memcpy(items, args[0].u.arr, n * sizeof(em_val));
    qsort(items, n, sizeof(em_val), by_key);
    for (size_t i = 0; i < n; i++) {
        int64_t est;
        if (i > 0 && em_val_eq(items[i], items[i - 1]))
            continue;
        em_cms_val_estimate_count(sk, items[i], &est);
        if (est >= env->u.arr[1].u.i &&
            em_pair_make(a, items[i], em_int(est), &res[m++]) != EM_OK)
            return EM_ENOMEM;
    }
    out->len = (uint32_t)m;
    return EM_OK;
}

/* [item, est] pairs: estimate descending, then item ascending */
static int by_estimate(const void *x, const void *y)
{
    const em_val *a = ((const em_val *)x)->u.arr;
    const em_val *b = ((const em_val *)y)->u.arr;

    if (a[1].u.i != b[1].u.i)
        return a[1].u.i > b[1].u.i ? -1 : 1;
    return em_val_cmp(a[0], b[0]);
}

em_status em_sketch_heavy_hitters(em_rdd *rdd, double phi, double eps,
                                  double confidence, em_arena *a,
                                  em_val *out)
{
    em_cms *c;
    em_arena *tmp;
    em_broadcast *b = NULL;
    em_val sk, env[2];
    em_rdd *hits;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "heavyHitters: no input RDD");
    if (!(phi > 0 && phi <= 1))
        return em__err(EM_EINVAL, "heavyHitters: phi must be in (0, 1], "
                       "not %g", phi);
    if ((st = build(rdd, eps, confidence, HH_SEED, false, &c)) != EM_OK)
        return st;
    if ((tmp = em_arena_create()) == NULL) {
        em_cms_destroy(c);
        return EM_ENOMEM;
    }
    st = em_cms_to_val(c, tmp, &sk);
    if (st == EM_OK && (b = em_ctx_broadcast(em_rdd_ctx(rdd), sk)) == NULL)
        st = EM_ENOMEM;
    if (st == EM_OK) {
        env[0] = em_broadcast_ref(b);
        env[1] = em_int((int64_t)ceil(phi * (double)em_cms_total_count(c)));
        hits = em_rdd_map_partitions(rdd, em_fn_of(hh_partition,
                                                   em_array(env, 2)));
        st = em_rdd_collect(em_rdd_distinct(hits, 0), a, out);
    }
    if (st == EM_OK)
        qsort((void *)out->u.arr, out->len, sizeof(em_val), by_estimate);
    em_broadcast_destroy(b);
    em_arena_destroy(tmp);
    em_cms_destroy(c);
    return st;
}
