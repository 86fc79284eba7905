/* CRC-32C (Castagnoli), as used by Kafka record batches.
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * first use), otherwise a slicing-by-8 table. */
#ifndef SL_BASE_CRC32C_H
#define SL_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: pass 0 for a fresh computation. */
uint32_t sl_crc32c_extend(uint32_t crc, const void *data, size_t len);
static inline uint32_t sl_crc32c(const void *data, size_t len)
{
    return sl_crc32c_extend(0, data, len);
}
/* The portable implementation, exposed so tests can compare both paths. */
uint32_t sl_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
