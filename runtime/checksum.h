/* Checksums for data that crosses a file or a wire (shuffle segments):
 * CRC-32 (zlib's), so corruption becomes an error instead of a wrong
 * answer. */
#ifndef EMBER_RUNTIME_CHECKSUM_H
#define EMBER_RUNTIME_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc (0 to start) over n bytes at p. */
uint32_t em__crc32(uint32_t crc, const void *p, size_t n);

#endif /* EMBER_RUNTIME_CHECKSUM_H */
