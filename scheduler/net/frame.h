/* Frames of the worker pool's protocol: a big-endian u32 length, then that
 * many bytes holding one msgpack array [version, type, body]. An encoder
 * and an incremental reader that treats its input as untrusted. The byte
 * layout is in docs/protocol.md ("Frames").
 */
#ifndef EMBER_SCHEDULER_NET_FRAME_H
#define EMBER_SCHEDULER_NET_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/val.h"
#include "runtime/buf.h"
#include "runtime/codec.h"

/* The protocol version every frame carries. */
#define EM__NET_VERSION 1

/* Default limit on a frame's length (the bytes after the length prefix). */
#define EM__NET_MAX_FRAME ((size_t)256 << 20)

/* Bytes of the length prefix. */
#define EM__FRAME_HEADER_BYTES 4

/* An incremental frame reader: bytes go in as they arrive, whole frames
 * come out. Caller storage; em__frame_reader_init / em__frame_reader_fini.
 * Not thread-safe: one reader per connection. */
typedef struct em__frame_reader {
    em__buf buf;            /* received bytes; buf.data[off..len) unread */
    size_t off;             /* start of the first unread byte */
    size_t max_frame_bytes; /* largest accepted frame length */
    em__codec_limits lim;   /* limits for decoding one frame's content */
    em_status failed;       /* EM_OK, or the error that stopped the reader */
} em__frame_reader;

/* Initializes an empty reader. max_frame_bytes 0 means EM__NET_MAX_FRAME;
 * lim NULL means the codec's default limits (its max_bytes is lowered to
 * the frame limit). Allocates nothing; cannot fail. */
void em__frame_reader_init(em__frame_reader *r, size_t max_frame_bytes,
                           const em__codec_limits *lim);

/* Frees the buffered bytes. */
void em__frame_reader_fini(em__frame_reader *r);

/* Appends n received bytes. EM_ENOMEM leaves the reader as it was. Bytes
 * fed after the reader failed are dropped (and EM_OK returned): the
 * failure is reported again by em__frame_reader_next. */
em_status em__frame_reader_feed(em__frame_reader *r, const void *data,
                                size_t n);

/* Takes the next complete frame, if there is one. On EM_OK, *has_frame
 * says whether a frame was taken; if so *type and *body hold it, body
 * decoded into `a` (strings and containers copied there, so the reader's
 * buffer may move). Errors, after which the reader stays failed and
 * returns the same code with the same message class:
 *   EM_ELIMIT  a length prefix above the limit, reported as soon as the 4
 *              length bytes are there, before any of the body is needed;
 *              or the codec's limits (depth, element count)
 *   EM_EPROTO  content that is not a 3-element array, a version other
 *              than EM__NET_VERSION ("protocol version 7, expected 1"), a
 *              type that is not an int, bytes left over after the array
 *   EM_EFORMAT malformed msgpack (the codec's message)
 *   EM_ENOMEM  out of memory (the reader is not failed: it may be retried)
 * *has_frame is written on EM_OK; *type and *body only when a frame is
 * taken. */
em_status em__frame_reader_next(em__frame_reader *r, em_arena *a, int *type,
                                em_val *body, bool *has_frame);

/* True when em__frame_reader_next would return a frame or an error without
 * more input (a complete frame, or a bad length prefix, is buffered). */
bool em__frame_reader_ready(const em__frame_reader *r);

/* Bytes fed and not yet taken. */
size_t em__frame_reader_buffered(const em__frame_reader *r);

/* Appends one whole frame [EM__NET_VERSION, type, body] to out. EM_ELIMIT
 * when the content would exceed max_frame_bytes (0: EM__NET_MAX_FRAME), or
 * the codec's own errors; on any error out's length is restored. */
em_status em__frame_encode(em__buf *out, int type, em_val body,
                           size_t max_frame_bytes);

#endif /* EMBER_SCHEDULER_NET_FRAME_H */
