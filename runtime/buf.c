/* Growable byte buffers (see buf.h). */
#include "buf.h"

#include <string.h>

#include "mem.h"

uint8_t *em__buf_reserve(em__buf *b, size_t n)
{
    void *p = b->data;

    if (b->len + n < b->len)
        return NULL;
    if (em__mem_grow(&p, &b->cap, b->len + n, 1) != 0)
        return NULL;
    b->data = p;
    return b->data + b->len;
}

em_status em__buf_append(em__buf *b, const void *p, size_t n)
{
    uint8_t *dst = em__buf_reserve(b, n);

    if (dst == NULL)
        return EM_ENOMEM;
    if (n > 0)
        memcpy(dst, p, n);
    b->len += n;
    return EM_OK;
}

void em__buf_fini(em__buf *b)
{
    em__mem_free(b->data, b->cap);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
