/* saveAsTextFile: one part file per partition in a new directory, each
 * record a line (em_val_format), then an empty _SUCCESS marker. The
 * contract is em_rdd_save_as_text_file in include/ember.h.
 *
 * A task writes its partition to a hidden temporary file named for the
 * attempt and renames it into place only when everything was written, so
 * a failed or retried attempt never leaves a partial part file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ops.h"
#include "runtime/err.h"
#include "runtime/mem.h"

/* Bytes buffered before a write(2). */
#define SAVE_CHUNK (64 * 1024)

/* A sink writing formatted records, one per line, to a file. */
typedef struct file_sink {
    em__sink base;
    int fd;           /* the open temporary file */
    const char *path; /* its name, for messages */
    char *buf;        /* lines not yet written (mem.h) */
    size_t len, cap;  /* bytes held, bytes allocated */
} file_sink;

/* Formats a path into a new mem.h string; *bytes_out is its allocation
 * size, for em__mem_free. NULL when out of memory. */
static char *path_make(size_t *bytes_out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *path_make(size_t *bytes_out, const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (p = em__mem_alloc((size_t)n + 1)) == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *bytes_out = (size_t)n + 1;
    return p;
}

/* Writes the whole buffer, retrying short writes. */
static em_status file_flush(file_sink *fs)
{
    size_t off = 0;

    while (off < fs->len) {
        ssize_t w = write(fs->fd, fs->buf + off, fs->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return em__err(EM_EIO, "saveAsTextFile: cannot write %s: %s",
                           fs->path, w < 0 ? strerror(errno) : "no space");
        off += (size_t)w;
    }
    fs->len = 0;
    return EM_OK;
}

static em_status file_push(em__sink *s, em_task *t, em_val rec)
{
    file_sink *fs = (file_sink *)s;
    size_t need = em_val_format(rec, fs->buf + fs->len, fs->cap - fs->len);
    em_status st;

    if (need >= fs->cap - fs->len) {
        /* does not fit: write what is held, then format again, growing
         * the buffer for a record longer than it */
        if ((st = file_flush(fs)) != EM_OK)
            return st;
        if (need >= fs->cap) {
            void *p = fs->buf;
            if (need + 1 < need || em__mem_grow(&p, &fs->cap, need + 1, 1) != 0)
                return em__oom();
            fs->buf = p;
        }
        em_val_format(rec, fs->buf, fs->cap);
    }
    fs->buf[fs->len + need] = '\n'; /* over the terminating NUL */
    fs->len += need + 1;
    return EM_OK;
}

/* Writes the partition into the open temporary file and closes it. */
static em_status write_part(file_sink *fs, em_rdd *rdd, int part, em_task *t)
{
    em_status st = em__rdd_compute(rdd, part, t, &fs->base);

    if (st == EM_OK)
        st = file_flush(fs);
    if (close(fs->fd) != 0 && st == EM_OK)
        st = em__err(EM_EIO, "saveAsTextFile: cannot write %s: %s", fs->path,
                     strerror(errno));
    fs->fd = -1;
    return st;
}

/* Task: writes partition `part` to dir/part-NNNNN through a temporary
 * file of this attempt. arg: the directory. */
static em_status save_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                           em_arena *res, em_val *out)
{
    file_sink fs = {{file_push}, -1, NULL, NULL, 0, SAVE_CHUNK};
    size_t tmp_bytes = 0, dst_bytes = 0;
    char *tmp, *dst;
    em_status st = EM_ENOMEM;

    if (arg.type != EM_STR)
        return em__err(EM_EPROTO, "saveAsTextFile: malformed task parameters");
    tmp = path_make(&tmp_bytes, "%.*s/.part-%05d.tmp-%d", (int)arg.len,
                    arg.u.s, part, t->attempt);
    dst = path_make(&dst_bytes, "%.*s/part-%05d", (int)arg.len, arg.u.s, part);
    if (tmp == NULL || dst == NULL ||
        (fs.buf = em__mem_alloc(SAVE_CHUNK)) == NULL)
        goto out_free;
    fs.path = tmp;
    fs.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fs.fd < 0) {
        st = em__err(EM_EIO, "saveAsTextFile: cannot create %s: %s", tmp,
                     strerror(errno));
        goto out_free;
    }
    st = write_part(&fs, rdd, part, t);
    if (st == EM_OK && rename(tmp, dst) != 0)
        st = em__err(EM_EIO, "saveAsTextFile: cannot rename %s to %s: %s", tmp,
                     dst, strerror(errno));
    if (st != EM_OK)
        unlink(tmp);
    *out = em_nil();
out_free:
    em__mem_free(fs.buf, fs.cap);
    em__mem_free(dst, dst_bytes);
    em__mem_free(tmp, tmp_bytes);
    return st;
}

/* Creates the empty dir/_SUCCESS marker. */
static em_status mark_success(const char *dir)
{
    size_t bytes = 0;
    char *path = path_make(&bytes, "%s/_SUCCESS", dir);
    em_status st = EM_OK;
    int fd;

    if (path == NULL)
        return EM_ENOMEM;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || close(fd) != 0)
        st = em__err(EM_EIO, "saveAsTextFile: cannot create %s: %s", path,
                     strerror(errno));
    em__mem_free(path, bytes);
    return st;
}

em_status em_rdd_save_as_text_file(em_rdd *rdd, const char *path)
{
    em__job_result r;
    struct stat sb;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "saveAsTextFile: no RDD");
    if (path == NULL || path[0] == '\0')
        return em__err(EM_EINVAL, "saveAsTextFile: no path given");
    if (stat(path, &sb) == 0)
        return em__err(EM_EEXIST, "saveAsTextFile: %s already exists", path);
    if (mkdir(path, 0777) != 0) {
        if (errno == EEXIST)
            return em__err(EM_EEXIST, "saveAsTextFile: %s already exists",
                           path);
        return em__err(EM_EIO,
                       "saveAsTextFile: cannot create directory "
                       "%s: %s",
                       path, strerror(errno));
    }
    st = em__job_run(rdd->ctx, rdd, NULL, 0, save_task, em_cstr(path), &r);
    if (st != EM_OK)
        return st;
    em__job_result_fini(&r);
    return mark_success(path);
}
