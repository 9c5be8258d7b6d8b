/* The value codec (codec.h). Encoding drives msgpack-c's packer with a
 * callback that appends to an em__buf. Decoding treats its input as
 * untrusted: a pre-scan walks every header and checks it against the bytes
 * left and the limits before anything is allocated, then a walker over the
 * same bytes builds the value in the arena. The byte layout of every type is
 * tabled in docs/values.md.
 */
#include "codec.h"

#include <stdbool.h>
#include <string.h>

#include <msgpack.h>

#include "arena.h"
#include "err.h"
#include "mem.h"

/* The encoding, in short (docs/values.md has the full table):
 *
 *   nil, bool       c0, c2/c3
 *   int             the smallest msgpack int that holds it (msgpack-c's
 *                   int64 packer); any int format decodes, but a uint64
 *                   above INT64_MAX is malformed
 *   float           cb + 8 bytes; float32 (ca) decodes, widened
 *   str, bytes      msgpack str, bin
 *   array, map      msgpack array, map (keys in the map's sorted order)
 *   vec, spvec,     ext 1, 2, 3 with little-endian payloads:
 *   handle
 *
 *   ext 1 vec       offset 0: len doubles
 *   ext 2 spvec     0: int64 dim | 8: u32 nnz | 12: nnz u32 indices |
 *                   12 + 4*nnz: nnz doubles   (size exactly 12 + 12*nnz)
 *   ext 3 handle    0: u16 kind | 2: the state bytes
 */

const em__codec_limits em__codec_default_limits = {1ull << 30, 64, 1u << 28};

/* What empty strings, containers and vectors point to: never NULL, so that
 * a memcpy or memcmp of zero bytes from them is defined. */
static const em_val empty_vals[1];
static const double empty_doubles[1];
static const uint32_t empty_idx[1];
static const uint8_t empty_bytes[1];

/* ---- little- and big-endian fields ---- */

static void put_le32(uint8_t *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t x = 0;

    for (int i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t x = 0;

    for (int i = 0; i < n; i++)
        x = (x << 8) | p[i];
    return x;
}

/* Doubles are little-endian on the wire: on such a host their bytes are
 * copied as they are (large vectors: collectives, broadcast models). */
static const bool is_little_endian =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

static uint64_t double_bits(double f)
{
    uint64_t u;

    memcpy(&u, &f, sizeof(u));
    return u;
}

static double bits_double(uint64_t u)
{
    double f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

/* ---- encoding ---- */

/* msgpack-c's write callback: appends to the em__buf in data. */
static int buf_write(void *data, const char *p, size_t n)
{
    if (em__buf_append(data, p, n) != EM_OK) {
        em__oom();
        return -1;
    }
    return 0;
}

/* Maps a msgpack-c return code (non-zero only when buf_write failed). */
static em_status packed(int rc)
{
    return rc == 0 ? EM_OK : EM_ENOMEM;
}

/* True for the types that count as a level of nesting. */
static bool is_nested(uint8_t type)
{
    return type == EM_ARRAY || type == EM_MAP || type == EM_VEC ||
           type == EM_SPVEC;
}

/* Writes n doubles as little-endian ext body bytes, a block at a time. */
static em_status pack_doubles(msgpack_packer *pk, const double *x, size_t n)
{
    uint8_t tmp[512];

    if (is_little_endian)
        return msgpack_pack_ext_body(pk, x, 8 * n) != 0 ? EM_ENOMEM : EM_OK;
    while (n > 0) {
        size_t k = n < sizeof(tmp) / 8 ? n : sizeof(tmp) / 8;
        for (size_t i = 0; i < k; i++)
            put_le64(tmp + 8 * i, double_bits(x[i]));
        if (msgpack_pack_ext_body(pk, tmp, 8 * k) != 0)
            return EM_ENOMEM;
        x += k;
        n -= k;
    }
    return EM_OK;
}

/* Writes n indices as little-endian ext body bytes, a block at a time. */
static em_status pack_indices(msgpack_packer *pk, const uint32_t *idx, size_t n)
{
    uint8_t tmp[512];

    while (n > 0) {
        size_t k = n < sizeof(tmp) / 4 ? n : sizeof(tmp) / 4;
        for (size_t i = 0; i < k; i++)
            put_le32(tmp + 4 * i, idx[i]);
        if (msgpack_pack_ext_body(pk, tmp, 4 * k) != 0)
            return EM_ENOMEM;
        idx += k;
        n -= k;
    }
    return EM_OK;
}

/* ext EM__EXT_VEC: the doubles, little-endian. */
static em_status pack_vec(msgpack_packer *pk, em_val v)
{
    if (v.len > UINT32_MAX / 8)
        return em__err(EM_ELIMIT, "codec: vector of %u elements is too "
                       "large to encode", v.len);
    if (msgpack_pack_ext(pk, 8 * (size_t)v.len, EM__EXT_VEC) != 0)
        return EM_ENOMEM;
    return pack_doubles(pk, v.u.vec, v.len);
}

/* ext EM__EXT_SPVEC: int64 dim, u32 nnz, nnz u32 indices, nnz doubles. */
static em_status pack_spvec(msgpack_packer *pk, em_val v)
{
    uint8_t head[12];
    em_status st;

    if (v.len > (UINT32_MAX - 12) / 12)
        return em__err(EM_ELIMIT, "codec: sparse vector of %u entries is "
                       "too large to encode", v.len);
    put_le64(head, (uint64_t)v.u.sp->dim);
    put_le32(head + 8, v.len);
    if (msgpack_pack_ext(pk, 12 + 12 * (size_t)v.len, EM__EXT_SPVEC) != 0 ||
        msgpack_pack_ext_body(pk, head, sizeof(head)) != 0)
        return EM_ENOMEM;
    if ((st = pack_indices(pk, v.u.sp->idx, v.len)) != EM_OK)
        return st;
    return pack_doubles(pk, v.u.sp->val, v.len);
}

/* ext EM__EXT_HANDLE: u16 kind, then the state bytes. */
static em_status pack_handle(msgpack_packer *pk, em_val v)
{
    uint8_t kind[2] = {(uint8_t)v.kind, (uint8_t)(v.kind >> 8)};

    if (v.len > UINT32_MAX - 2)
        return em__err(EM_ELIMIT, "codec: handle state of %u bytes is too "
                       "large to encode", v.len);
    return packed(msgpack_pack_ext(pk, 2 + (size_t)v.len,
                                   EM__EXT_HANDLE) ||
                  msgpack_pack_ext_body(pk, kind, 2) ||
                  msgpack_pack_ext_body(pk, v.u.state, v.len));
}

static em_status pack_val(msgpack_packer *pk, em_val v, uint32_t depth);

/* An array or map: the header, then the elements (keys and values of a map
 * alternate, in the map's stored order). */
static em_status pack_seq(msgpack_packer *pk, em_val v, uint32_t depth)
{
    size_t n = v.type == EM_MAP ? 2 * (size_t)v.len : v.len;
    int rc = v.type == EM_MAP ? msgpack_pack_map(pk, v.len)
                              : msgpack_pack_array(pk, v.len);

    if (rc != 0)
        return EM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        em_status st = pack_val(pk, v.u.arr[i], depth + 1);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

/* Refuses what a decoder with the default limits would refuse, so that
 * nothing is written that cannot be read back (and deep values cannot
 * exhaust the stack here). */
static em_status check_encodable(em_val v, uint32_t depth)
{
    const em__codec_limits *lim = &em__codec_default_limits;
    bool is_counted = is_nested(v.type) || v.type == EM_STR ||
                      v.type == EM_BYTES;

    if (is_nested(v.type) && depth >= lim->max_depth)
        return em__err(EM_ELIMIT, "codec: cannot encode a value nested "
                       "deeper than %u levels", lim->max_depth);
    if (is_counted && v.len > lim->max_elems)
        return em__err(EM_ELIMIT, "codec: cannot encode a %s of %u "
                       "elements (limit %u)", em_type_name(v.type), v.len,
                       lim->max_elems);
    return EM_OK;
}

static em_status pack_val(msgpack_packer *pk, em_val v, uint32_t depth)
{
    em_status st = check_encodable(v, depth);

    if (st != EM_OK)
        return st;
    switch ((em_type)v.type) {
    case EM_NIL:
        return packed(msgpack_pack_nil(pk));
    case EM_BOOL:
        return packed(v.u.b ? msgpack_pack_true(pk)
                            : msgpack_pack_false(pk));
    case EM_INT:
        return packed(msgpack_pack_int64(pk, v.u.i));
    case EM_FLOAT:
        return packed(msgpack_pack_double(pk, v.u.f));
    case EM_STR:
        return packed(msgpack_pack_str_with_body(pk, v.u.s, v.len));
    case EM_BYTES:
        return packed(msgpack_pack_bin_with_body(pk, v.u.bytes, v.len));
    case EM_ARRAY:
    case EM_MAP:
        return pack_seq(pk, v, depth);
    case EM_VEC:
        return pack_vec(pk, v);
    case EM_SPVEC:
        return pack_spvec(pk, v);
    case EM_HANDLE:
        return pack_handle(pk, v);
    default:
        return em__err(EM_EINVAL, "codec: cannot encode a value of type %u",
                       v.type);
    }
}

em_status em__codec_encode(em__buf *b, em_val v)
{
    size_t len0 = b->len;
    msgpack_packer pk;
    em_status st;

    msgpack_packer_init(&pk, b, buf_write);
    st = pack_val(&pk, v, 0);
    if (st == EM_OK && b->len - len0 > em__codec_default_limits.max_bytes)
        st = em__err(EM_ELIMIT, "codec: encoding of %zu bytes exceeds the "
                     "limit of %zu", b->len - len0,
                     em__codec_default_limits.max_bytes);
    if (st != EM_OK)
        b->len = len0;
    return st;
}

/* ---- decoding: reading one header ----
 *
 * Decoding makes two passes over the same bytes. scan() checks everything
 * the input could lie about (lengths and counts against the bytes left,
 * nesting, the limits, ext payloads) and allocates nothing, so malformed
 * input costs no memory and a header claiming 2^32-1 elements is refused
 * before anything is sized by it. build() then reads the same headers with
 * the same read_head(), so the checks still hold, and makes the value in
 * the arena. Both recurse at most max_depth levels.
 */

/* A cursor over the input. */
typedef struct reader {
    const uint8_t *start;         /* the first byte of the input */
    const uint8_t *p;             /* the next byte to read */
    const uint8_t *end;           /* one past the last byte of the input */
    const em__codec_limits *lim;  /* what the value may not exceed */
} reader;

/* What one msgpack header says. Payloads point into the input. */
typedef struct head {
    em_val v;             /* scalars complete; others: type, len, kind */
    const uint8_t *body;  /* str/bin bytes, vector or handle payload */
    int64_t dim;          /* a sparse vector's dimension */
    size_t at;            /* offset of the header in the input */
} head;

static size_t left(const reader *r)
{
    return (size_t)(r->end - r->p);
}

/* EM_EFORMAT unless k more bytes of `what` are there. */
static em_status need(const reader *r, size_t k, const char *what, size_t at)
{
    if (left(r) < k)
        return em__err(EM_EFORMAT, "codec: truncated %s at byte %zu", what,
                       at);
    return EM_OK;
}

/* Reads a big-endian field of k bytes (k <= 8). */
static em_status read_be(reader *r, int k, const char *what, size_t at,
                         uint64_t *out)
{
    em_status st = need(r, (size_t)k, what, at);

    if (st != EM_OK)
        return st;
    *out = get_be(r->p, k);
    r->p += k;
    return EM_OK;
}

/* The msgpack integer families: k bytes, signed or not. */
static em_status read_int(reader *r, head *h, int k, bool is_signed)
{
    uint64_t u;
    em_status st = read_be(r, k, "integer", h->at, &u);

    if (st != EM_OK)
        return st;
    h->v.type = EM_INT;
    if (!is_signed) {
        if (u > INT64_MAX)
            return em__err(EM_EFORMAT, "codec: unsigned integer %llu at "
                           "byte %zu is outside int64",
                           (unsigned long long)u, h->at);
        h->v.u.i = (int64_t)u;
    } else if (k == 1) {
        h->v.u.i = (int8_t)u;
    } else if (k == 2) {
        h->v.u.i = (int16_t)u;
    } else if (k == 4) {
        h->v.u.i = (int32_t)u;
    } else {
        h->v.u.i = (int64_t)u;
    }
    return EM_OK;
}

/* float32 (widened) or float64. */
static em_status read_float(reader *r, head *h, int k)
{
    uint64_t u;
    em_status st = read_be(r, k, "float", h->at, &u);

    if (st != EM_OK)
        return st;
    h->v.type = EM_FLOAT;
    if (k == 4) {
        uint32_t u32 = (uint32_t)u;
        float f32;
        memcpy(&f32, &u32, sizeof(f32));
        h->v.u.f = f32;
    } else {
        h->v.u.f = bits_double(u);
    }
    return EM_OK;
}

/* The payload of a str or bin of len bytes. */
static em_status read_blob(reader *r, head *h, uint8_t type, uint64_t len)
{
    const char *what = type == EM_STR ? "str" : "bin";

    if (len > left(r))
        return em__err(EM_EFORMAT, "codec: truncated %s at byte %zu (%llu "
                       "bytes declared, %zu left)", what, h->at,
                       (unsigned long long)len, left(r));
    if (len > r->lim->max_elems)
        return em__err(EM_ELIMIT, "codec: %s of %llu bytes at byte %zu "
                       "exceeds the limit of %u", what,
                       (unsigned long long)len, h->at, r->lim->max_elems);
    h->v.type = type;
    h->v.len = (uint32_t)len;
    h->body = r->p;
    r->p += len;
    return EM_OK;
}

/* An array or map header of count elements (pairs for a map). Every
 * element takes at least one byte, so a count the input cannot hold is
 * rejected here, before anything is allocated for it. */
static em_status read_seq(reader *r, head *h, uint8_t type, uint64_t count)
{
    const char *what = type == EM_MAP ? "map" : "array";
    uint64_t min_bytes = type == EM_MAP ? 2 * count : count;

    if (min_bytes > left(r))
        return em__err(EM_EFORMAT, "codec: truncated %s at byte %zu (%llu "
                       "elements declared, %zu bytes left)", what, h->at,
                       (unsigned long long)count, left(r));
    if (count > r->lim->max_elems)
        return em__err(EM_ELIMIT, "codec: %s of %llu elements at byte %zu "
                       "exceeds the limit of %u", what,
                       (unsigned long long)count, h->at, r->lim->max_elems);
    h->v.type = type;
    h->v.len = (uint32_t)count;
    return EM_OK;
}

/* An EM__EXT_VEC payload of size bytes. */
static em_status check_vec(const reader *r, head *h, uint32_t size)
{
    if (size % 8 != 0)
        return em__err(EM_EFORMAT, "codec: vector payload of %u bytes at "
                       "byte %zu is not a whole number of doubles", size,
                       h->at);
    if (size / 8 > r->lim->max_elems)
        return em__err(EM_ELIMIT, "codec: vector of %u elements at byte %zu "
                       "exceeds the limit of %u", size / 8, h->at,
                       r->lim->max_elems);
    h->v.type = EM_VEC;
    h->v.len = size / 8;
    return EM_OK;
}

/* An EM__EXT_SPVEC payload of size bytes: lengths consistent, dimension
 * not negative, indices strictly increasing and below the dimension. */
static em_status check_spvec(const reader *r, head *h, uint32_t size)
{
    const uint8_t *idx = h->body + 12;
    uint64_t nnz, prev = 0;

    if (size < 12)
        return em__err(EM_EFORMAT, "codec: sparse vector payload of %u bytes "
                       "at byte %zu is too short", size, h->at);
    h->dim = (int64_t)get_le(h->body, 8);
    nnz = get_le(h->body + 8, 4);
    if (12 * nnz != (uint64_t)size - 12)
        return em__err(EM_EFORMAT, "codec: sparse vector at byte %zu has %llu "
                       "entries in a payload of %u bytes", h->at,
                       (unsigned long long)nnz, size);
    if (h->dim < 0)
        return em__err(EM_EFORMAT, "codec: sparse vector at byte %zu has "
                       "negative dimension %lld", h->at, (long long)h->dim);
    if (nnz > r->lim->max_elems)
        return em__err(EM_ELIMIT, "codec: sparse vector of %llu entries at "
                       "byte %zu exceeds the limit of %u",
                       (unsigned long long)nnz, h->at, r->lim->max_elems);
    for (uint64_t i = 0; i < nnz; i++) {
        uint64_t x = get_le(idx + 4 * i, 4);
        if ((int64_t)x >= h->dim || (i > 0 && x <= prev))
            return em__err(EM_EFORMAT, "codec: sparse vector at byte %zu: "
                           "index %llu at %llu is out of order or range",
                           h->at, (unsigned long long)x,
                           (unsigned long long)i);
        prev = x;
    }
    h->v.type = EM_SPVEC;
    h->v.len = (uint32_t)nnz;
    return EM_OK;
}

/* An ext of size payload bytes whose type byte is next in the input. */
static em_status read_ext(reader *r, head *h, uint64_t size)
{
    int8_t type;
    em_status st = need(r, 1 + size, "ext", h->at);

    if (st != EM_OK)
        return st;
    type = (int8_t)*r->p++;
    h->body = r->p;
    r->p += size;
    switch (type) {
    case EM__EXT_VEC:
        return check_vec(r, h, (uint32_t)size);
    case EM__EXT_SPVEC:
        return check_spvec(r, h, (uint32_t)size);
    case EM__EXT_HANDLE:
        if (size < 2)
            return em__err(EM_EFORMAT, "codec: handle payload of %llu bytes "
                           "at byte %zu is too short",
                           (unsigned long long)size, h->at);
        h->v.type = EM_HANDLE;
        h->v.kind = (uint16_t)get_le(h->body, 2);
        h->v.len = (uint32_t)(size - 2);
        h->body += 2;
        return EM_OK;
    default:
        return em__err(EM_EFORMAT, "codec: unknown ext type %d at byte %zu",
                       type, h->at);
    }
}

/* An ext8/16/32 header: a size field of k bytes, then the type. */
static em_status read_ext_sized(reader *r, head *h, int k)
{
    uint64_t size;
    em_status st = read_be(r, k, "ext", h->at, &size);

    return st != EM_OK ? st : read_ext(r, h, size);
}

/* A str/bin/array/map header whose length field is k bytes. */
static em_status read_sized(reader *r, head *h, uint8_t type, int k)
{
    const char *what = type == EM_STR     ? "str"
                       : type == EM_BYTES ? "bin"
                       : type == EM_MAP   ? "map"
                                          : "array";
    uint64_t n;
    em_status st = read_be(r, k, what, h->at, &n);

    if (st != EM_OK)
        return st;
    if (type == EM_STR || type == EM_BYTES)
        return read_blob(r, h, type, n);
    return read_seq(r, h, type, n);
}

/* The header bytes 0xc0-0xdf. */
static em_status read_tagged(reader *r, head *h, uint8_t c)
{
    switch (c) {
    case 0xc0:
        h->v = em_nil();
        return EM_OK;
    case 0xc2:
    case 0xc3:
        h->v = em_bool(c == 0xc3);
        return EM_OK;
    case 0xc4: return read_sized(r, h, EM_BYTES, 1);
    case 0xc5: return read_sized(r, h, EM_BYTES, 2);
    case 0xc6: return read_sized(r, h, EM_BYTES, 4);
    case 0xc7: return read_ext_sized(r, h, 1);
    case 0xc8: return read_ext_sized(r, h, 2);
    case 0xc9: return read_ext_sized(r, h, 4);
    case 0xca: return read_float(r, h, 4);
    case 0xcb: return read_float(r, h, 8);
    case 0xcc: return read_int(r, h, 1, false);
    case 0xcd: return read_int(r, h, 2, false);
    case 0xce: return read_int(r, h, 4, false);
    case 0xcf: return read_int(r, h, 8, false);
    case 0xd0: return read_int(r, h, 1, true);
    case 0xd1: return read_int(r, h, 2, true);
    case 0xd2: return read_int(r, h, 4, true);
    case 0xd3: return read_int(r, h, 8, true);
    case 0xd4: return read_ext(r, h, 1);
    case 0xd5: return read_ext(r, h, 2);
    case 0xd6: return read_ext(r, h, 4);
    case 0xd7: return read_ext(r, h, 8);
    case 0xd8: return read_ext(r, h, 16);
    case 0xd9: return read_sized(r, h, EM_STR, 1);
    case 0xda: return read_sized(r, h, EM_STR, 2);
    case 0xdb: return read_sized(r, h, EM_STR, 4);
    case 0xdc: return read_sized(r, h, EM_ARRAY, 2);
    case 0xdd: return read_sized(r, h, EM_ARRAY, 4);
    case 0xde: return read_sized(r, h, EM_MAP, 2);
    case 0xdf: return read_sized(r, h, EM_MAP, 4);
    default:
        return em__err(EM_EFORMAT, "codec: invalid type byte 0x%02x at byte "
                       "%zu", c, h->at);
    }
}

/* Reads and checks the header at the cursor, and the payload of a scalar,
 * str, bin or ext: afterwards the cursor is past them, at the first element
 * of an array or map. */
static em_status read_head(reader *r, head *h)
{
    em_status st;
    uint8_t c;

    memset(h, 0, sizeof(*h));
    h->at = (size_t)(r->p - r->start);
    if ((st = need(r, 1, "value", h->at)) != EM_OK)
        return st;
    c = *r->p++;
    if (c <= 0x7f)
        h->v = em_int(c);
    else if (c >= 0xe0)
        h->v = em_int((int8_t)c);
    else if (c <= 0x8f)
        st = read_seq(r, h, EM_MAP, c & 0x0f);
    else if (c <= 0x9f)
        st = read_seq(r, h, EM_ARRAY, c & 0x0f);
    else if (c <= 0xbf)
        st = read_blob(r, h, EM_STR, c & 0x1f);
    else
        st = read_tagged(r, h, c);
    if (st != EM_OK)
        return st;
    if ((size_t)(r->p - r->start) > r->lim->max_bytes)
        return em__err(EM_ELIMIT, "codec: value at byte %zu runs past the "
                       "limit of %zu bytes", h->at, r->lim->max_bytes);
    return EM_OK;
}

/* ---- decoding: the pre-scan ---- */

/* Checks one value and everything in it, allocating nothing: afterwards
 * the cursor is past the value. Recursion is bounded by max_depth. */
static em_status scan(reader *r, uint32_t depth)
{
    head h;
    size_t n;
    em_status st = read_head(r, &h);

    if (st != EM_OK || !is_nested(h.v.type))
        return st;
    if (depth >= r->lim->max_depth)
        return em__err(EM_ELIMIT, "codec: %s at byte %zu is nested deeper "
                       "than %u levels", em_type_name(h.v.type), h.at,
                       r->lim->max_depth);
    n = h.v.type == EM_MAP     ? 2 * (size_t)h.v.len
        : h.v.type == EM_ARRAY ? h.v.len
                               : 0;
    for (size_t i = 0; i < n; i++) {
        if ((st = scan(r, depth + 1)) != EM_OK)
            return st;
    }
    return EM_OK;
}

/* ---- decoding: building the value ---- */

static em_status build(reader *r, em_arena *a, em_val *out);

/* Copies a str, bin or handle payload into the arena. */
static em_status build_blob(em_arena *a, const head *h, em_val *out)
{
    em_val v = h->v;
    void *d = (void *)empty_bytes;

    if (v.len > 0 && (d = em__arena_dup(a, h->body, v.len)) == NULL)
        return EM_ENOMEM;
    v.u.bytes = d;
    *out = v;
    return EM_OK;
}

/* Allocates n values in the arena (n may be 0). */
static em_val *alloc_vals(em_arena *a, size_t n)
{
    size_t bytes;

    if (n == 0)
        return (em_val *)empty_vals;
    if (em__mul_ok(n, sizeof(em_val), &bytes) != 0) {
        em__oom();
        return NULL;
    }
    return em__arena_alloc(a, bytes, 16);
}

static em_status build_array(reader *r, em_arena *a, const head *h,
                             em_val *out)
{
    em_val *items = alloc_vals(a, h->v.len);
    em_status st;

    if (items == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < h->v.len; i++) {
        if ((st = build(r, a, &items[i])) != EM_OK)
            return st;
    }
    *out = em_array(items, h->v.len);
    return EM_OK;
}

/* True when the n keys of kv are strictly increasing. */
static bool keys_sorted(const em_val *kv, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (em_val_cmp(kv[2 * (i - 1)], kv[2 * i]) >= 0)
            return false;
    }
    return true;
}

/* A map: the pairs in input order, used as they are when the keys are
 * sorted and unique (as the encoder writes them), otherwise passed through
 * em_map_make, which sorts them and keeps the last value of a repeated
 * key. */
static em_status build_map(reader *r, em_arena *a, const head *h,
                           em_val *out)
{
    size_t n = h->v.len;
    em_val *kv = alloc_vals(a, 2 * n);
    em_status st;

    if (kv == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < 2 * n; i++) {
        if ((st = build(r, a, &kv[i])) != EM_OK)
            return st;
    }
    if (!keys_sorted(kv, n))
        return em_map_make(a, kv, n, out);
    memset(out, 0, sizeof(*out));
    out->type = EM_MAP;
    out->len = (uint32_t)n;
    out->u.map = kv;
    return EM_OK;
}

/* Reads n little-endian doubles into the arena (n may be 0). */
static double *read_doubles(em_arena *a, const uint8_t *p, size_t n)
{
    double *x;

    if (n == 0)
        return (double *)empty_doubles;
    if ((x = em__arena_alloc(a, n * sizeof(*x), 16)) == NULL)
        return NULL;
    if (is_little_endian) {
        memcpy(x, p, n * sizeof(*x));
        return x;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = bits_double(get_le(p + 8 * i, 8));
    return x;
}

static em_status build_spvec(em_arena *a, const head *h, em_val *out)
{
    size_t n = h->v.len;
    em_spvec *sp = em__arena_alloc(a, sizeof(*sp), 16);
    uint32_t *idx = (uint32_t *)empty_idx;
    double *val;

    if (sp == NULL)
        return EM_ENOMEM;
    if (n > 0 && (idx = em__arena_alloc(a, n * sizeof(*idx), 8)) == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)get_le(h->body + 12 + 4 * i, 4);
    if ((val = read_doubles(a, h->body + 12 + 4 * n, n)) == NULL)
        return EM_ENOMEM;
    sp->dim = h->dim;
    sp->idx = idx;
    sp->val = val;
    *out = h->v;
    out->u.sp = sp;
    return EM_OK;
}

/* Builds the value at the cursor, which the pre-scan has checked. */
static em_status build(reader *r, em_arena *a, em_val *out)
{
    head h;
    const double *x;
    em_status st = read_head(r, &h);

    if (st != EM_OK)
        return st;
    switch ((em_type)h.v.type) {
    case EM_STR:
    case EM_BYTES:
    case EM_HANDLE:
        return build_blob(a, &h, out);
    case EM_ARRAY:
        return build_array(r, a, &h, out);
    case EM_MAP:
        return build_map(r, a, &h, out);
    case EM_VEC:
        if ((x = read_doubles(a, h.body, h.v.len)) == NULL)
            return EM_ENOMEM;
        *out = em_vec(x, h.v.len);
        return EM_OK;
    case EM_SPVEC:
        return build_spvec(a, &h, out);
    default:
        *out = h.v;
        return EM_OK;
    }
}

em_status em__codec_decode(const uint8_t *p, size_t n,
                           const em__codec_limits *lim, em_arena *a,
                           em_val *out, size_t *used_out)
{
    reader r;
    em__arena_mark m;
    em_val v;
    size_t used;
    em_status st;

    if (n == 0)
        return em__err(EM_EFORMAT, "codec: truncated value at byte 0");
    r.start = r.p = p;
    r.end = p + n;
    r.lim = lim != NULL ? lim : &em__codec_default_limits;
    if ((st = scan(&r, 0)) != EM_OK)
        return st;
    used = (size_t)(r.p - p);
    r.p = p;
    m = em__arena_mark_get(a);
    if ((st = build(&r, a, &v)) != EM_OK) {
        em__arena_rewind(a, m);
        return st;
    }
    EM_ASSERT((size_t)(r.p - p) == used);
    *out = v;
    if (used_out != NULL)
        *used_out = used;
    return EM_OK;
}
