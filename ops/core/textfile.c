/* File sources: textFile (lines, split into byte ranges on line
 * boundaries, gzip read whole) and wholeTextFiles ((path, content) pairs).
 *
 * Split ownership follows Hadoop's line reader: the split [start, end)
 * owns every line whose first byte lies in (start, end], and the first
 * split also owns the line at 0. So a split skips the line that straddles
 * its start and finishes the line that straddles its end.
 */
#include <string.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/err.h"
#include "runtime/input.h"
#include "runtime/mem.h"

#define MAX_SPLIT_BYTES ((int64_t)32 << 20)
#define CHUNK_BYTES ((int64_t)1 << 20)

/* Pushes one line (its "\r\n" ending loses the "\r"). */
static em_status push_line(em_task *t, const uint8_t *p, size_t len,
                           em__sink *out)
{
    em__arena_mark m = em__arena_mark_get(t->scratch);
    em_status st;

    if (len > 0 && p[len - 1] == '\r')
        len--;
    st = em__sink_push(out, t, em_str((const char *)p, len));
    em__arena_rewind(t->scratch, m);
    return st;
}

/* Pushes the lines of data[from, n) whose start offset is <= last. */
static em_status push_lines(em_task *t, const uint8_t *data, size_t n,
                            size_t from, size_t last, em__sink *out)
{
    size_t pos = from;

    while (pos < n && pos <= last) {
        const uint8_t *nl = memchr(data + pos, '\n', n - pos);
        size_t stop = nl ? (size_t)(nl - data) : n;
        em_status st = push_line(t, data + pos, stop - pos, out);

        if (st != EM_OK)
            return st;
        pos = stop + 1;
    }
    return EM_OK;
}

/* arg: array of splits [path, start, end, is_gzip] */
/* Pushes the lines of split [start, end) of a plain file, reading it in
 * chunks: memory is one chunk plus the longest line, not the split. */
static em_status stream_split(const char *path, int64_t start, int64_t end,
                              em_task *t, em__sink *out)
{
    em__buf b = EM__BUF_INIT;
    int64_t pos = start;       /* file offset of b.data[0] */
    bool is_skipping = start > 0, is_eof = false;
    em_status st = EM_OK;

    while (st == EM_OK && !is_eof && pos <= end) {
        size_t before = b.len, line = 0;
        st = em__input_read_range(path, pos + (int64_t)b.len,
                                  pos + (int64_t)b.len + CHUNK_BYTES, &b);
        is_eof = b.len == before;
        if (st != EM_OK)
            break;
        if (is_skipping) { /* the line straddling start is the previous
                              split's */
            const uint8_t *nl = memchr(b.data, '\n', b.len);
            size_t drop = nl ? (size_t)(nl - b.data) + 1 : b.len;
            pos += (int64_t)drop;
            memmove(b.data, b.data + drop, b.len - drop);
            b.len -= drop;
            is_skipping = nl == NULL;
            if (is_skipping)
                continue;
        }
        /* every complete line that starts at or before end */
        for (;;) {
            const uint8_t *nl = memchr(b.data + line, '\n', b.len - line);
            if (nl == NULL || pos + (int64_t)line > end)
                break;
            st = push_line(t, b.data + line, (size_t)(nl - b.data) - line,
                           out);
            line = (size_t)(nl - b.data) + 1;
            if (st != EM_OK)
                break;
        }
        pos += (int64_t)line;
        memmove(b.data, b.data + line, b.len - line);
        b.len -= line;
    }
    /* a last line without a newline */
    if (st == EM_OK && is_eof && !is_skipping && b.len > 0 && pos <= end)
        st = push_line(t, b.data, b.len, out);
    em__buf_fini(&b);
    return st;
}

static em_status text_compute(em_rdd *rdd, int part, em_task *t,
                              em__sink *out)
{
    const em_val *sp = rdd->arg.u.arr[part].u.arr;
    char path[4096];
    int64_t start = sp[1].u.i, end = sp[2].u.i;
    em__buf b = EM__BUF_INIT;
    em_status st;

    if (sp[0].len >= sizeof(path))
        return em__err(EM_EINVAL, "textFile: path too long");
    memcpy(path, sp[0].u.s, sp[0].len);
    path[sp[0].len] = '\0';
    if (sp[3].u.b) {
        st = em__input_read_gzip(path, &b);
        if (st == EM_OK)
            st = push_lines(t, b.data, b.len, 0, SIZE_MAX, out);
        em__buf_fini(&b);
        return st;
    }
    if (end <= start)
        return EM_OK;
    return stream_split(path, start, end, t, out);
}

static const em__rdd_kind text_kind = {"textFile", text_compute, NULL};

static em_status add_split(em_arena *a, em_val **v, size_t *n, size_t *cap,
                           const em__input_file *f, int64_t s, int64_t e)
{
    em_val *items, arr;
    void *p = *v;

    if (em__mem_grow(&p, cap, *n + 1, sizeof(em_val)) != 0)
        return EM_ENOMEM;
    *v = p;
    if ((items = em_array_make(a, 4, &arr)) == NULL)
        return EM_ENOMEM;
    items[0] = em_cstr(f->path);
    items[1] = em_int(s);
    items[2] = em_int(e);
    items[3] = em_bool(f->is_gzip);
    (*v)[(*n)++] = arr;
    return EM_OK;
}

em_rdd *em_ctx_text_file(em_ctx *ctx, const char *path, int min_partitions)
{
    em__input_list files;
    em_arena *a;
    em_val *splits = NULL;
    size_t n = 0, cap = 0;
    int64_t total = 0, size;
    em_rdd *r = NULL;
    em_status st;

    if (min_partitions <= 0)
        min_partitions = ctx->default_parallelism < 2
                             ? ctx->default_parallelism : 2;
    if (em__input_list_make(path, &files) != EM_OK)
        return NULL;
    if ((a = em_arena_create()) == NULL)
        goto out_files;
    for (size_t i = 0; i < files.n; i++)
        total += files.v[i].is_gzip ? 0 : files.v[i].size;
    size = total / min_partitions;
    if (size > MAX_SPLIT_BYTES)
        size = MAX_SPLIT_BYTES;
    if (size < 1)
        size = 1;
    st = EM_OK;
    for (size_t i = 0; i < files.n && st == EM_OK; i++) {
        const em__input_file *f = &files.v[i];
        int64_t off = 0;
        if (f->is_gzip || f->size == 0) {
            st = add_split(a, &splits, &n, &cap, f, 0, f->size);
            continue;
        }
        /* Hadoop's slop: the last split may be up to 10% larger */
        while (st == EM_OK && (double)(f->size - off) / (double)size > 1.1) {
            st = add_split(a, &splits, &n, &cap, f, off, off + size);
            off += size;
        }
        if (st == EM_OK)
            st = add_split(a, &splits, &n, &cap, f, off, f->size);
    }
    if (st == EM_OK && n > INT32_MAX)
        st = em__err(EM_ELIMIT, "textFile: too many splits");
    if (st == EM_OK)
        r = em__rdd_new(ctx, &text_kind, (int)n, NULL, 0, EM__DEP_NARROW);
    if (r != NULL && em__rdd_set_arg(r, em_array(splits, n)) != EM_OK)
        r = NULL;
    em__mem_free(splits, cap * sizeof(em_val));
    em_arena_destroy(a);
out_files:
    em__input_list_free(&files);
    return r;
}

/* ---- wholeTextFiles ---- */

/* arg: array of [path, is_gzip]; partition i holds a slice of it. */
static em_status whole_compute(em_rdd *rdd, int part, em_task *t,
                               em__sink *out)
{
    size_t n = rdd->arg.len, lo = n * (size_t)part / (size_t)rdd->nparts,
           hi = n * (size_t)(part + 1) / (size_t)rdd->nparts;
    em_status st = EM_OK;

    for (size_t i = lo; i < hi && st == EM_OK; i++) {
        const em_val *f = rdd->arg.u.arr[i].u.arr;
        em__buf b = EM__BUF_INIT;
        char path[4096];
        em_val pair;
        em__arena_mark m = em__arena_mark_get(t->scratch);

        if (f[0].len >= sizeof(path))
            return em__err(EM_EINVAL, "wholeTextFiles: path too long");
        memcpy(path, f[0].u.s, f[0].len);
        path[f[0].len] = '\0';
        st = f[1].u.b ? em__input_read_gzip(path, &b)
                      : em__input_read_range(path, 0, INT64_MAX, &b);
        if (st == EM_OK && b.len > UINT32_MAX)
            st = em__err(EM_ELIMIT, "wholeTextFiles: %s is larger than 4 "
                         "GiB", path);
        if (st == EM_OK)
            st = em_pair_make(t->scratch, f[0],
                              em_str((const char *)b.data, b.len), &pair);
        if (st == EM_OK)
            st = em__sink_push(out, t, pair);
        em__arena_rewind(t->scratch, m);
        em__buf_fini(&b);
    }
    return st;
}

static const em__rdd_kind whole_kind = {"wholeTextFiles", whole_compute,
                                        NULL};

em_rdd *em_ctx_whole_text_files(em_ctx *ctx, const char *path,
                                int min_partitions)
{
    em__input_list files;
    em_arena *a;
    em_val *items, arr, *pair;
    em_rdd *r = NULL;
    int parts;

    if (em__input_list_make(path, &files) != EM_OK)
        return NULL;
    if (min_partitions <= 0)
        min_partitions = ctx->default_parallelism < 2
                             ? ctx->default_parallelism : 2;
    parts = (size_t)min_partitions < files.n ? min_partitions
                                             : (int)files.n;
    if ((a = em_arena_create()) == NULL)
        goto out_files;
    if ((items = em_array_make(a, files.n, &arr)) == NULL)
        goto out_arena;
    for (size_t i = 0; i < files.n; i++) {
        if ((pair = em_array_make(a, 2, &items[i])) == NULL)
            goto out_arena;
        pair[0] = em_cstr(files.v[i].path);
        pair[1] = em_bool(files.v[i].is_gzip);
    }
    r = em__rdd_new(ctx, &whole_kind, parts, NULL, 0, EM__DEP_NARROW);
    if (r != NULL && em__rdd_set_arg(r, arr) != EM_OK)
        r = NULL;
out_arena:
    em_arena_destroy(a);
out_files:
    em__input_list_free(&files);
    return r;
}
