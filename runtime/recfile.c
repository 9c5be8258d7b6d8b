/* Record files (see recfile.h). */
#include "recfile.h"

#include "codec.h"
#include "err.h"

em_status em__recfile_write(FILE *f, em__buf *b, em_val v)
{
    uint8_t len[4];
    em_status st;

    b->len = 0;
    if ((st = em__codec_encode(b, v)) != EM_OK)
        return st;
    if (b->len > UINT32_MAX)
        return em__err(EM_ELIMIT, "a record of %zu bytes is too large",
                       b->len);
    for (int i = 0; i < 4; i++)
        len[i] = (uint8_t)(b->len >> (8 * i));
    if (fwrite(len, 1, 4, f) != 4 || fwrite(b->data, 1, b->len, f) != b->len)
        return EM_EIO;
    return EM_OK;
}

em_status em__recfile_read(FILE *f, const char *path, em__buf *b,
                           em_arena *a, em_val *out, bool *has_out)
{
    uint8_t len[4];
    size_t n, got;
    em_status st;

    *has_out = false;
    got = fread(len, 1, 4, f);
    if (got == 0 && feof(f))
        return EM_OK;
    if (got != 4)
        return em__err(EM_EIO, "%s is truncated", path);
    n = (size_t)len[0] | (size_t)len[1] << 8 | (size_t)len[2] << 16 |
        (size_t)len[3] << 24;
    b->len = 0;
    if (em__buf_reserve(b, n) == NULL)
        return EM_ENOMEM;
    if (fread(b->data, 1, n, f) != n)
        return em__err(EM_EIO, "%s is truncated", path);
    b->len = n;
    st = em__codec_decode(b->data, n, NULL, a, out, NULL);
    if (st == EM_EFORMAT || st == EM_ELIMIT)
        return em__err(EM_EIO, "%s is corrupt: %s", path, em_last_error());
    if (st == EM_OK)
        *has_out = true;
    return st;
}
