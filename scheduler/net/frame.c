/* Frames (frame.h): encoding, and an incremental reader that checks each
 * length prefix before buffering the frame and decodes the content with the
 * codec's limits. Layout in docs/protocol.md ("Frames").
 */
#include "frame.h"

#include <string.h>

#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24);
    p[1] = (uint8_t)(x >> 16);
    p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
}

static size_t frame_limit(size_t max_frame_bytes)
{
    size_t lim = max_frame_bytes ? max_frame_bytes : EM__NET_MAX_FRAME;

    return lim > UINT32_MAX ? UINT32_MAX : lim;
}

/* ---- encoding ---- */

em_status em__frame_encode(em__buf *out, int type, em_val body,
                           size_t max_frame_bytes)
{
    static const uint8_t array3 = 0x93; /* msgpack fixarray of 3 */
    size_t start = out->len, n;
    uint8_t zero[EM__FRAME_HEADER_BYTES] = {0};
    em_status st;

    if ((st = em__buf_append(out, zero, sizeof(zero))) != EM_OK ||
        (st = em__buf_append(out, &array3, 1)) != EM_OK ||
        (st = em__codec_encode(out, em_int(EM__NET_VERSION))) != EM_OK ||
        (st = em__codec_encode(out, em_int(type))) != EM_OK ||
        (st = em__codec_encode(out, body)) != EM_OK)
        goto out_restore;
    n = out->len - start - EM__FRAME_HEADER_BYTES;
    if (n > frame_limit(max_frame_bytes)) {
        st = em__err(EM_ELIMIT,
                     "frame of %zu bytes exceeds the limit of %zu "
                     "bytes",
                     n, frame_limit(max_frame_bytes));
        goto out_restore;
    }
    put_be32(out->data + start, (uint32_t)n);
    return EM_OK;

out_restore:
    out->len = start;
    return st;
}

/* ---- the reader ---- */

void em__frame_reader_init(em__frame_reader *r, size_t max_frame_bytes,
                           const em__codec_limits *lim)
{
    memset(r, 0, sizeof(*r));
    r->max_frame_bytes = frame_limit(max_frame_bytes);
    r->lim = lim != NULL ? *lim : em__codec_default_limits;
    if (r->lim.max_bytes > r->max_frame_bytes)
        r->lim.max_bytes = r->max_frame_bytes;
    r->failed = EM_OK;
}

void em__frame_reader_fini(em__frame_reader *r)
{
    em__buf_fini(&r->buf);
    r->off = 0;
}

size_t em__frame_reader_buffered(const em__frame_reader *r)
{
    return r->buf.len - r->off;
}

/* Moves the unread bytes to the front once at least half the buffer is
 * consumed, so that the buffer never grows past about two frames. */
static void compact(em__frame_reader *r)
{
    size_t left = r->buf.len - r->off;

    if (r->off == 0 || r->off < left)
        return;
    if (left > 0)
        memmove(r->buf.data, r->buf.data + r->off, left);
    r->buf.len = left;
    r->off = 0;
}

em_status em__frame_reader_feed(em__frame_reader *r, const void *data, size_t n)
{
    if (r->failed != EM_OK || n == 0)
        return EM_OK;
    compact(r);
    return em__buf_append(&r->buf, data, n);
}

bool em__frame_reader_ready(const em__frame_reader *r)
{
    size_t left = r->buf.len - r->off;
    uint32_t n;

    if (r->failed != EM_OK)
        return true;
    if (left < EM__FRAME_HEADER_BYTES)
        return false;
    n = get_be32(r->buf.data + r->off);
    return n > r->max_frame_bytes || left - EM__FRAME_HEADER_BYTES >= n;
}

/* Marks the reader failed with st (its message already set). */
static em_status fail(em__frame_reader *r, em_status st)
{
    if (st != EM_ENOMEM)
        r->failed = st;
    return st;
}

/* Reads the msgpack array header at p (n bytes): its element count, or -1
 * when the bytes do not start an array. *used_out gets the header size. */
static int64_t array_header(const uint8_t *p, size_t n, size_t *used_out)
{
    if (n >= 1 && p[0] >= 0x90 && p[0] <= 0x9f) {
        *used_out = 1;
        return p[0] & 0x0f;
    }
    if (n >= 3 && p[0] == 0xdc) {
        *used_out = 3;
        return (int64_t)p[1] << 8 | p[2];
    }
    if (n >= 5 && p[0] == 0xdd) {
        *used_out = 5;
        return get_be32(p + 1);
    }
    return -1;
}

/* Decodes one int field of a frame's array ("version" or "type") at *at. */
static em_status int_field(const em__frame_reader *r, const uint8_t *p,
                           size_t n, size_t *at, em_arena *a, const char *what,
                           int64_t *out)
{
    size_t used;
    em_val v;
    em_status st;

    st = em__codec_decode(p + *at, n - *at, &r->lim, a, &v, &used);
    if (st != EM_OK)
        return st;
    if (v.type != EM_INT)
        return em__err(EM_EPROTO, "frame %s is a %s, expected an int", what,
                       em_type_name(v.type));
    *at += used;
    *out = v.u.i;
    return EM_OK;
}

/* Decodes the n bytes of one frame's content into a. */
static em_status decode_content(em__frame_reader *r, const uint8_t *p, size_t n,
                                em_arena *a, int *type, em_val *body)
{
    size_t at = 0, used;
    int64_t version = 0, t = 0; /* set by int_field on success */
    em_val v;
    em_status st;

    if (array_header(p, n, &at) != 3)
        return em__err(EM_EPROTO, "frame is not a 3-element array "
                                  "[version, type, body]");
    if ((st = int_field(r, p, n, &at, a, "version", &version)) != EM_OK)
        return st;
    if (version != EM__NET_VERSION)
        return em__err(EM_EPROTO, "protocol version %lld, expected %d",
                       (long long)version, EM__NET_VERSION);
    if ((st = int_field(r, p, n, &at, a, "type", &t)) != EM_OK)
        return st;
    if (t < INT32_MIN || t > INT32_MAX)
        return em__err(EM_EPROTO, "frame type %lld is out of range",
                       (long long)t);
    if ((st = em__codec_decode(p + at, n - at, &r->lim, a, &v, &used)) != EM_OK)
        return st;
    if (at + used != n)
        return em__err(EM_EPROTO, "frame has %zu bytes after its body",
                       n - at - used);
    *type = (int)t;
    *body = v;
    return EM_OK;
}

em_status em__frame_reader_next(em__frame_reader *r, em_arena *a, int *type,
                                em_val *body, bool *has_frame)
{
    size_t left = r->buf.len - r->off;
    const uint8_t *p = r->buf.data + r->off;
    em__arena_mark m;
    uint32_t n;
    em_status st;

    if (r->failed != EM_OK)
        return em__err(r->failed, "frame reader stopped after an error");
    *has_frame = false;
    if (left < EM__FRAME_HEADER_BYTES)
        return EM_OK;
    n = get_be32(p);
    if (n > r->max_frame_bytes)
        return fail(r, em__err(EM_ELIMIT,
                               "frame of %u bytes exceeds the "
                               "limit of %zu bytes",
                               n, r->max_frame_bytes));
    if (left - EM__FRAME_HEADER_BYTES < n)
        return EM_OK;
    m = em__arena_mark_get(a);
    st = decode_content(r, p + EM__FRAME_HEADER_BYTES, n, a, type, body);
    if (st != EM_OK) {
        em__arena_rewind(a, m);
        return fail(r, st);
    }
    r->off += EM__FRAME_HEADER_BYTES + (size_t)n;
    if (r->off == r->buf.len)
        r->off = r->buf.len = 0;
    *has_frame = true;
    return EM_OK;
}
