/* CRC-32 over zlib (see checksum.h). */
#include "checksum.h"

#include <zlib.h>

uint32_t em__crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;

    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return crc;
}
