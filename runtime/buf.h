/* A growable byte buffer on the allocation wrapper, for encodings. */
#ifndef EMBER_RUNTIME_BUF_H
#define EMBER_RUNTIME_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "ember/status.h"

typedef struct em__buf {
    uint8_t *data; /* len bytes of content, cap allocated */
    size_t len;
    size_t cap;
} em__buf;

/* An empty buffer; nothing to free until something is appended. */
#define EM__BUF_INIT {NULL, 0, 0}

/* Appends n bytes. EM_ENOMEM leaves the buffer as it was. */
em_status em__buf_append(em__buf *b, const void *p, size_t n);

/* Makes room for n more bytes and returns where they go (len unchanged);
 * NULL when out of memory. */
uint8_t *em__buf_reserve(em__buf *b, size_t n);

/* Frees the content and empties the buffer. */
void em__buf_fini(em__buf *b);

#endif /* EMBER_RUNTIME_BUF_H */
