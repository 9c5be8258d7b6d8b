/* Reading input files: listing what a path names (a file, a directory, a
 * glob), reading byte ranges, and reading gzip files whole (zlib). Every
 * failure names the path. */
#ifndef EMBER_RUNTIME_INPUT_H
#define EMBER_RUNTIME_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ember/status.h"

/* One input file. */
typedef struct em__input_file {
    char *path;      /* mem.h string */
    int64_t size;    /* bytes on disk */
    bool is_gzip;    /* starts with the gzip magic bytes */
} em__input_file;

/* Lists the files of path: the file itself, the regular files of a
 * directory (names starting with '.' or '_' skipped), or the files matching
 * a glob, sorted by path. Nothing matching is EM_ENOENT. Free with
 * em__input_list_free. */
typedef struct em__input_list {
    em__input_file *v;  /* n files */
    size_t n;
    size_t cap;         /* allocated entries */
} em__input_list;

em_status em__input_list_make(const char *path, em__input_list *out);
void em__input_list_free(em__input_list *l);

/* Appends bytes [start, end) of path to out (fewer at end of file). */
em_status em__input_read_range(const char *path, int64_t start, int64_t end,
                               em__buf *out);

/* Appends the whole decompressed content of a gzip file (all members) to
 * out. A truncated or corrupt stream is EM_EFORMAT naming the path. */
em_status em__input_read_gzip(const char *path, em__buf *out);

#endif /* EMBER_RUNTIME_INPUT_H */
