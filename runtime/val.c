/* Values (include/ember/val.h): constructors, deep copy, and the one
 * definition of equality, total order and hash that every partitioner,
 * join, distinct and sort uses. The rules are written down in
 * docs/values.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "err.h"
#include "ember/val.h"

/* ---- constructors ---- */

em_val em_cstr(const char *s)
{
    return em_str(s, strlen(s));
}

em_val *em_array_make(em_arena *a, size_t n, em_val *out)
{
    size_t bytes;
    em_val *items;

    if (n > UINT32_MAX || __builtin_mul_overflow(n, sizeof(em_val), &bytes)) {
        em__err(EM_ELIMIT, "array of %zu elements is too large", n);
        return NULL;
    }
    items = em__arena_alloc(a, bytes, 16);
    if (items == NULL)
        return NULL;
    memset(items, 0, bytes);
    *out = em_array(items, n);
    return items;
}

em_status em_pair_make(em_arena *a, em_val k, em_val v, em_val *out)
{
    em_val pair, *items = em_array_make(a, 2, &pair);

    if (items == NULL)
        return EM_ENOMEM;
    items[0] = k;
    items[1] = v;
    *out = pair;
    return EM_OK;
}

em_status em_str_copy(em_arena *a, const char *s, size_t n, em_val *out)
{
    char *d;

    if (n > UINT32_MAX)
        return em__err(EM_ELIMIT, "string of %zu bytes is too large", n);
    d = em__arena_dup(a, s, n);
    if (d == NULL)
        return EM_ENOMEM;
    *out = em_str(d, n);
    return EM_OK;
}

typedef struct kv_slot {
    const em_val *kv; /* key, then value */
    size_t pos;       /* position in the input, so the last one wins */
} kv_slot;

static int kv_slot_cmp(const void *x, const void *y)
{
    const kv_slot *a = x, *b = y;
    int c = em_val_cmp(a->kv[0], b->kv[0]);

    if (c != 0)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

em_status em_map_make(em_arena *a, const em_val *kv, size_t n, em_val *out)
{
    em__arena_mark m = em__arena_mark_get(a);
    kv_slot *slots;
    em_val *items;
    size_t k = 0, bytes;

    if (n > UINT32_MAX || __builtin_mul_overflow(n, 2 * sizeof(em_val), &bytes))
        return em__err(EM_ELIMIT, "map of %zu pairs is too large", n);
    items = em__arena_alloc(a, bytes, 16);
    slots = n ? em__arena_alloc(a, n * sizeof(*slots), 16) : NULL;
    if (items == NULL || (n && slots == NULL)) {
        em__arena_rewind(a, m);
        return EM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        slots[i].kv = kv + 2 * i;
        slots[i].pos = i;
    }
    if (n > 1)
        qsort(slots, n, sizeof(*slots), kv_slot_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && em_val_eq(slots[i].kv[0], slots[i + 1].kv[0]))
            continue; /* a later pair with the same key wins */
        items[2 * k] = slots[i].kv[0];
        items[2 * k + 1] = slots[i].kv[1];
        k++;
    }
    memset(out, 0, sizeof(*out));
    out->type = EM_MAP;
    out->len = (uint32_t)k;
    out->u.map = items;
    return EM_OK;
}

double *em_vec_make(em_arena *a, size_t n, em_val *out)
{
    double *x;

    if (n > UINT32_MAX || n > SIZE_MAX / sizeof(double)) {
        em__err(EM_ELIMIT, "vector of %zu elements is too large", n);
        return NULL;
    }
    x = em__arena_alloc(a, n * sizeof(double), 16);
    if (x == NULL)
        return NULL;
    memset(x, 0, n * sizeof(double));
    *out = em_vec(x, n);
    return x;
}

em_status em_spvec_make(em_arena *a, int64_t dim, const uint32_t *idx,
                        const double *val, size_t nnz, em_val *out)
{
    em_spvec *sp;
    uint32_t *i2;
    double *v2;

    if (dim < 0 || nnz > UINT32_MAX || (int64_t)nnz > dim)
        return em__err(EM_EINVAL, "sparse vector: %zu entries for dimension "
                       "%lld", nnz, (long long)dim);
    for (size_t i = 0; i < nnz; i++) {
        if ((int64_t)idx[i] >= dim || (i > 0 && idx[i] <= idx[i - 1]))
            return em__err(EM_EINVAL, "sparse vector: index %u at %zu is out "
                           "of order or range", idx[i], i);
    }
    sp = em__arena_alloc(a, sizeof(*sp), 16);
    i2 = em__arena_alloc(a, nnz * sizeof(*i2), 8);
    v2 = em__arena_alloc(a, nnz * sizeof(*v2), 16);
    if (sp == NULL || i2 == NULL || v2 == NULL)
        return EM_ENOMEM;
    if (nnz) {
        memcpy(i2, idx, nnz * sizeof(*i2));
        memcpy(v2, val, nnz * sizeof(*v2));
    }
    sp->dim = dim;
    sp->idx = i2;
    sp->val = v2;
    memset(out, 0, sizeof(*out));
    out->type = EM_SPVEC;
    out->len = (uint32_t)nnz;
    out->u.sp = sp;
    return EM_OK;
}

em_status em_val_copy(em_arena *a, em_val v, em_val *out)
{
    em_val c = v, *items;
    em_status st;

    switch ((em_type)v.type) {
    case EM_STR:
    case EM_BYTES:
    case EM_HANDLE:
        if (v.len == 0) {
            c.u.s = ""; /* depend on nothing */
            break;
        }
        c.u.bytes = em__arena_dup(a, v.u.bytes, v.len);
        if (c.u.bytes == NULL)
            return EM_ENOMEM;
        break;
    case EM_ARRAY:
    case EM_MAP: {
        size_t n = v.type == EM_MAP ? 2 * (size_t)v.len : v.len;
        em_val tmp;
        if (n == 0) {
            c.u.arr = NULL;
            break;
        }
        items = em_array_make(a, n, &tmp);
        if (items == NULL)
            return EM_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            st = em_val_copy(a, v.u.arr[i], &items[i]);
            if (st != EM_OK)
                return st;
        }
        c.u.arr = items;
        break;
    }
    case EM_VEC:
        if (v.len == 0) {
            c.u.vec = NULL;
            break;
        }
        {
            double *x = em__arena_alloc(a, v.len * sizeof(double), 16);
            if (x == NULL)
                return EM_ENOMEM;
            memcpy(x, v.u.vec, v.len * sizeof(double));
            c.u.vec = x;
        }
        break;
    case EM_SPVEC:
        return em_spvec_make(a, v.u.sp->dim, v.u.sp->idx, v.u.sp->val, v.len,
                             out);
    default:
        break;
    }
    *out = c;
    return EM_OK;
}

/* ---- accessors ---- */

bool em_val_as_int(em_val v, int64_t *out)
{
    if (v.type != EM_INT)
        return false;
    *out = v.u.i;
    return true;
}

bool em_val_as_float(em_val v, double *out)
{
    if (v.type == EM_FLOAT)
        *out = v.u.f;
    else if (v.type == EM_INT)
        *out = (double)v.u.i;
    else
        return false;
    return true;
}

bool em_val_is_pair(em_val v)
{
    return v.type == EM_ARRAY && v.len == 2;
}

const char *em_type_name(em_type t)
{
    static const char *const names[] = {
        "nil", "bool", "int", "float", "str", "bytes",
        "array", "map", "vec", "spvec", "handle",
    };

    return (unsigned)t < EM_NTYPES ? names[t] : "invalid";
}

/* ---- order ---- */

/* The class of a type in the order across types: int and float share one. */
static int type_class(uint8_t t)
{
    return t <= EM_INT ? t : t - 1;
}

static int cmp_float(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

/* Exact comparison of an int with a float. */
static int cmp_int_float(int64_t i, double f)
{
    double t;
    int64_t ti;

    if (isnan(f))
        return -1;
    if (f >= 9223372036854775808.0)
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    t = trunc(f);
    ti = (int64_t)t;
    if (i != ti)
        return (i > ti) - (i < ti);
    return (0.0 > f - t) - (0.0 < f - t);
}

static int cmp_num(em_val a, em_val b)
{
    if (a.type == EM_INT && b.type == EM_INT)
        return (a.u.i > b.u.i) - (a.u.i < b.u.i);
    if (a.type == EM_FLOAT && b.type == EM_FLOAT)
        return cmp_float(a.u.f, b.u.f);
    if (a.type == EM_INT)
        return cmp_int_float(a.u.i, b.u.f);
    return -cmp_int_float(b.u.i, a.u.f);
}

static int cmp_bytes(const void *a, size_t an, const void *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c < 0 ? -1 : 1;
    return (an > bn) - (an < bn);
}

static int cmp_vals(const em_val *a, size_t an, const em_val *b, size_t bn)
{
    size_t n = an < bn ? an : bn;

    for (size_t i = 0; i < n; i++) {
        int c = em_val_cmp(a[i], b[i]);
        if (c != 0)
            return c;
    }
    return (an > bn) - (an < bn);
}

static int cmp_spvec(em_val a, em_val b)
{
    size_t n = a.len < b.len ? a.len : b.len;

    if (a.u.sp->dim != b.u.sp->dim)
        return a.u.sp->dim < b.u.sp->dim ? -1 : 1;
    for (size_t i = 0; i < n; i++) {
        int c;
        if (a.u.sp->idx[i] != b.u.sp->idx[i])
            return a.u.sp->idx[i] < b.u.sp->idx[i] ? -1 : 1;
        c = cmp_float(a.u.sp->val[i], b.u.sp->val[i]);
        if (c != 0)
            return c;
    }
    return (a.len > b.len) - (a.len < b.len);
}

int em_val_cmp(em_val a, em_val b)
{
    int ca = type_class(a.type), cb = type_class(b.type);

    if (ca != cb)
        return ca < cb ? -1 : 1;
    switch ((em_type)a.type) {
    case EM_NIL:
        return 0;
    case EM_BOOL:
        return (a.u.b > b.u.b) - (a.u.b < b.u.b);
    case EM_INT:
    case EM_FLOAT:
        return cmp_num(a, b);
    case EM_STR:
    case EM_BYTES:
        return cmp_bytes(a.u.bytes, a.len, b.u.bytes, b.len);
    case EM_ARRAY:
        return cmp_vals(a.u.arr, a.len, b.u.arr, b.len);
    case EM_MAP:
        return cmp_vals(a.u.map, 2 * (size_t)a.len, b.u.map,
                        2 * (size_t)b.len);
    case EM_VEC: {
        size_t n = a.len < b.len ? a.len : b.len;
        for (size_t i = 0; i < n; i++) {
            int c = cmp_float(a.u.vec[i], b.u.vec[i]);
            if (c != 0)
                return c;
        }
        return (a.len > b.len) - (a.len < b.len);
    }
    case EM_SPVEC:
        return cmp_spvec(a, b);
    case EM_HANDLE:
        if (a.kind != b.kind)
            return a.kind < b.kind ? -1 : 1;
        return cmp_bytes(a.u.state, a.len, b.u.state, b.len);
    default:
        return 0;
    }
}

bool em_val_eq(em_val a, em_val b)
{
    if (a.type == b.type) {
        switch ((em_type)a.type) {
        case EM_INT:
            return a.u.i == b.u.i;
        case EM_STR:
        case EM_BYTES:
            return a.len == b.len &&
                   (a.len == 0 || memcmp(a.u.s, b.u.s, a.len) == 0);
        default:
            break;
        }
    }
    return em_val_cmp(a, b) == 0;
}

/* ---- hash ---- */

#define K0 0xa0761d6478bd642full
#define K1 0xe7037ed1a0b428dbull
#define K2 0x8ebc6af09c88c6e3ull
#define K3 0x589965cc75374cc3ull

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;

    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t x;

    memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ mix(n ^ K0, K1), a, b;
    size_t i = 0;

    for (; i + 16 <= n; i += 16)
        h = mix(rd64(p + i) ^ K1, rd64(p + i + 8) ^ h);
    {
        /* the 0..15 tail bytes, zero-padded, read as two little-endian
         * words */
        uint8_t tail[16] = {0};
        if (n > i)
            memcpy(tail, p + i, n - i);
        a = rd64(tail);
        b = rd64(tail + 8);
    }
    return mix(a ^ K2, b ^ h ^ K3);
}

static uint64_t hash_int(int64_t i)
{
    return mix((uint64_t)i ^ K0, K1 ^ EM_INT);
}

static uint64_t hash_float(double f)
{
    uint64_t bits;

    if (isnan(f))
        f = NAN;
    else if (f == trunc(f) && f >= -9223372036854775808.0 &&
             f < 9223372036854775808.0)
        return hash_int((int64_t)f);
    memcpy(&bits, &f, 8);
    return mix(bits ^ K2, K3 ^ EM_FLOAT);
}

static uint64_t hash_combine(uint64_t h, uint64_t x)
{
    return mix(h ^ K2, x ^ K3);
}

uint64_t em_val_hash(em_val v)
{
    uint64_t h;

    switch ((em_type)v.type) {
    case EM_NIL:
        return K0;
    case EM_BOOL:
        return mix(K1 ^ v.u.b, K2);
    case EM_INT:
        return hash_int(v.u.i);
    case EM_FLOAT:
        return hash_float(v.u.f);
    case EM_STR:
    case EM_BYTES:
        return hash_bytes(v.u.bytes, v.len, v.type);
    case EM_ARRAY:
    case EM_MAP: {
        size_t n = v.type == EM_MAP ? 2 * (size_t)v.len : v.len;
        h = mix(K3 ^ v.type, n ^ K0);
        for (size_t i = 0; i < n; i++)
            h = hash_combine(h, em_val_hash(v.u.arr[i]));
        return h;
    }
    case EM_VEC:
        h = mix(K3 ^ v.type, v.len ^ K0);
        for (size_t i = 0; i < v.len; i++)
            h = hash_combine(h, hash_float(v.u.vec[i]));
        return h;
    case EM_SPVEC:
        h = mix(K3 ^ v.type, (uint64_t)v.u.sp->dim ^ K0);
        for (size_t i = 0; i < v.len; i++) {
            h = hash_combine(h, v.u.sp->idx[i]);
            h = hash_combine(h, hash_float(v.u.sp->val[i]));
        }
        return h;
    case EM_HANDLE:
        return hash_bytes(v.u.state, v.len, ((uint64_t)v.kind << 8) | v.type);
    default:
        return 0;
    }
}

/* ---- format ---- */

typedef struct fmt_out {
    char *buf;   /* destination */
    size_t cap;  /* its size */
    size_t n;    /* length the full rendering needs so far */
} fmt_out;

static void fmt_put(fmt_out *o, const char *s, size_t n)
{
    if (o->n < o->cap) {
        size_t room = o->cap - o->n;
        memcpy(o->buf + o->n, s, n < room ? n : room);
    }
    o->n += n;
}

static void fmt_puts(fmt_out *o, const char *s)
{
    fmt_put(o, s, strlen(s));
}

static void fmt_double(fmt_out *o, double f)
{
    char tmp[40];

    if (isnan(f)) {
        fmt_puts(o, "nan");
        return;
    }
    if (isinf(f)) {
        fmt_puts(o, f > 0 ? "inf" : "-inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    fmt_puts(o, tmp);
    if (strpbrk(tmp, ".e") == NULL)
        fmt_puts(o, ".0");
}

static void fmt_quoted(fmt_out *o, const uint8_t *s, size_t n, bool is_bytes)
{
    char tmp[8];

    fmt_puts(o, is_bytes ? "b'" : "'");
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '\'' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            fmt_put(o, tmp, 2);
        } else if (c == '\n') {
            fmt_puts(o, "\\n");
        } else if (c == '\t') {
            fmt_puts(o, "\\t");
        } else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80)) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            fmt_puts(o, tmp);
        } else {
            fmt_put(o, (const char *)&c, 1);
        }
    }
    fmt_puts(o, "'");
}

static void fmt_val(fmt_out *o, em_val v, bool top)
{
    char tmp[64];

    switch ((em_type)v.type) {
    case EM_NIL:
        fmt_puts(o, "nil");
        break;
    case EM_BOOL:
        fmt_puts(o, v.u.b ? "true" : "false");
        break;
    case EM_INT:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)v.u.i);
        fmt_puts(o, tmp);
        break;
    case EM_FLOAT:
        fmt_double(o, v.u.f);
        break;
    case EM_STR:
        if (top)
            fmt_put(o, v.u.s, v.len);
        else
            fmt_quoted(o, v.u.bytes, v.len, false);
        break;
    case EM_BYTES:
        fmt_quoted(o, v.u.bytes, v.len, true);
        break;
    case EM_ARRAY:
        fmt_puts(o, "[");
        for (size_t i = 0; i < v.len; i++) {
            if (i)
                fmt_puts(o, ", ");
            fmt_val(o, v.u.arr[i], false);
        }
        fmt_puts(o, "]");
        break;
    case EM_MAP:
        fmt_puts(o, "{");
        for (size_t i = 0; i < v.len; i++) {
            if (i)
                fmt_puts(o, ", ");
            fmt_val(o, v.u.map[2 * i], false);
            fmt_puts(o, ": ");
            fmt_val(o, v.u.map[2 * i + 1], false);
        }
        fmt_puts(o, "}");
        break;
    case EM_VEC:
        fmt_puts(o, "vec[");
        for (size_t i = 0; i < v.len; i++) {
            if (i)
                fmt_puts(o, ", ");
            fmt_double(o, v.u.vec[i]);
        }
        fmt_puts(o, "]");
        break;
    case EM_SPVEC:
        snprintf(tmp, sizeof(tmp), "spvec(%lld, {", (long long)v.u.sp->dim);
        fmt_puts(o, tmp);
        for (size_t i = 0; i < v.len; i++) {
            snprintf(tmp, sizeof(tmp), "%s%u: ", i ? ", " : "",
                     v.u.sp->idx[i]);
            fmt_puts(o, tmp);
            fmt_double(o, v.u.sp->val[i]);
        }
        fmt_puts(o, "})");
        break;
    case EM_HANDLE:
        snprintf(tmp, sizeof(tmp), "handle(kind %u, %u bytes)", v.kind, v.len);
        fmt_puts(o, tmp);
        break;
    default:
        fmt_puts(o, "?");
        break;
    }
}

size_t em_val_format(em_val v, char *buf, size_t cap)
{
    fmt_out o = {buf, cap, 0};

    fmt_val(&o, v, true);
    if (cap > 0)
        buf[o.n < cap ? o.n : cap - 1] = '\0';
    return o.n;
}
