/* Input files (see input.h). */
#include "input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "err.h"
#include "mem.h"

typedef em__input_list file_list;

static em_status add_file(file_list *l, const char *path)
{
    unsigned char magic[2];
    struct stat sb;
    em__input_file *f;
    int fd;

    if (stat(path, &sb) != 0)
        return em__err(EM_ENOENT, "cannot read %s: %s", path,
                       strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return EM_OK;
    if (em__mem_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
        return EM_ENOMEM;
    f = &l->v[l->n];
    f->path = em__mem_strdup(path);
    if (f->path == NULL)
        return EM_ENOMEM;
    f->size = sb.st_size;
    f->is_gzip = false;
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        em__mem_free(f->path, strlen(f->path) + 1);
        return em__err(EM_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    if (read(fd, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        f->is_gzip = true;
    close(fd);
    l->n++;
    return EM_OK;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const em__input_file *)a)->path,
                  ((const em__input_file *)b)->path);
}

static em_status add_dir(file_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    em_status st = EM_OK;

    if (d == NULL)
        return em__err(EM_EIO, "cannot list %s: %s", dir, strerror(errno));
    while (st == EM_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
            sizeof(path)) {
            st = em__err(EM_EINVAL, "path too long in %s", dir);
            break;
        }
        st = add_file(l, path);
    }
    closedir(d);
    return st;
}

static em_status add_glob(file_list *l, const char *pattern)
{
    glob_t g;
    em_status st = EM_OK;
    int rc = glob(pattern, 0, NULL, &g);

    if (rc == GLOB_NOMATCH)
        return em__err(EM_ENOENT, "no files match %s", pattern);
    if (rc != 0)
        return em__err(EM_EIO, "cannot expand %s", pattern);
    for (size_t i = 0; i < g.gl_pathc && st == EM_OK; i++)
        st = add_file(l, g.gl_pathv[i]);
    globfree(&g);
    return st;
}

em_status em__input_list_make(const char *path, em__input_list *out)
{
    file_list l = {NULL, 0, 0};
    struct stat sb;
    em_status st;

    if (strpbrk(path, "*?[") != NULL && stat(path, &sb) != 0)
        st = add_glob(&l, path);
    else if (stat(path, &sb) != 0)
        st = em__err(EM_ENOENT, "input path does not exist: %s", path);
    else if (S_ISDIR(sb.st_mode))
        st = add_dir(&l, path);
    else
        st = add_file(&l, path);
    if (st == EM_OK && l.n == 0)
        st = em__err(EM_ENOENT, "no input files in %s", path);
    if (st != EM_OK) {
        em__input_list_free(&l);
        return st;
    }
    qsort(l.v, l.n, sizeof(*l.v), by_path);
    *out = l;
    return EM_OK;
}

void em__input_list_free(em__input_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        em__mem_free(l->v[i].path, strlen(l->v[i].path) + 1);
    em__mem_free(l->v, l->cap * sizeof(*l->v));
    memset(l, 0, sizeof(*l));
}

em_status em__input_read_range(const char *path, int64_t start, int64_t end,
                               em__buf *out)
{
    int fd = open(path, O_RDONLY);
    em_status st = EM_OK;

    if (fd < 0)
        return em__err(EM_EIO, "cannot open %s: %s", path, strerror(errno));
    while (start < end) {
        size_t want = end - start > (1 << 22) ? (size_t)1 << 22
                                              : (size_t)(end - start);
        uint8_t *dst = em__buf_reserve(out, want);
        ssize_t got;
        if (dst == NULL) {
            st = EM_ENOMEM;
            break;
        }
        got = pread(fd, dst, want, start);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            st = em__err(EM_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        out->len += (size_t)got;
        start += got;
    }
    close(fd);
    return st;
}

em_status em__input_read_gzip(const char *path, em__buf *out)
{
    gzFile g = gzopen(path, "rb");
    em_status st = EM_OK;
    int got, errnum;

    if (g == NULL)
        return em__err(EM_EIO, "cannot open %s: %s", path, strerror(errno));
    gzbuffer(g, 1 << 17);
    for (;;) {
        uint8_t *dst = em__buf_reserve(out, 1 << 17);
        if (dst == NULL) {
            st = EM_ENOMEM;
            break;
        }
        got = gzread(g, dst, 1 << 17);
        if (got < 0) {
            const char *msg = gzerror(g, &errnum);
            st = em__err(EM_EFORMAT, "corrupt gzip file %s: %s", path, msg);
            break;
        }
        if (got == 0) {
            const char *msg = gzerror(g, &errnum);
            if (errnum != Z_OK && errnum != Z_STREAM_END)
                st = em__err(EM_EFORMAT, "corrupt gzip file %s: %s", path,
                             msg);
            break;
        }
        out->len += (size_t)got;
    }
    gzclose(g);
    return st;
}
