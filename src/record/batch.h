/* Kafka record batch v2 ("magic 2"): header access, validation, stamping.
 *
 * A batch travels on the wire and sits in a .log segment as the same bytes:
 *
 *   off size field                     notes
 *   0   8    baseOffset      int64     assigned by the broker on append
 *   8   4    batchLength     int32     bytes after this field (total = +12)
 *   12  4    partitionLeaderEpoch      stamped by the broker on append
 *   16  1    magic           int8      must be 2
 *   17  4    crc             uint32    CRC-32C of bytes [21, end)
 *   21  2    attributes      int16     bits 0-2 codec, 3 timestamp type,
 *                                      4 transactional, 5 control, 6 delete horizon
 *   23  4    lastOffsetDelta int32
 *   27  8    baseTimestamp   int64
 *   35  8    maxTimestamp    int64
 *   43  8    producerId      int64
 *   51  2    producerEpoch   int16
 *   53  4    baseSequence    int32
 *   57  4    recordsCount    int32
 *   61  ..   records (possibly one compressed stream)
 *
 * Because the CRC does not cover bytes [0, 21), the broker can stamp the base
 * offset and leader epoch without recomputing it.
 */
#ifndef SL_RECORD_BATCH_H
#define SL_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_BATCH_HEADER_SIZE  61
#define SL_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define SL_BATCH_MIN_LENGTH   49 /* smallest legal batchLength (header only) */
#define SL_BATCH_MAGIC        2

#define SL_BATCH_OFF_BASE_OFFSET       0
#define SL_BATCH_OFF_LENGTH            8
#define SL_BATCH_OFF_LEADER_EPOCH      12
#define SL_BATCH_OFF_MAGIC             16
#define SL_BATCH_OFF_CRC               17
#define SL_BATCH_OFF_ATTRIBUTES        21
#define SL_BATCH_OFF_LAST_OFFSET_DELTA 23
#define SL_BATCH_OFF_BASE_TIMESTAMP    27
#define SL_BATCH_OFF_MAX_TIMESTAMP     35
#define SL_BATCH_OFF_PRODUCER_ID       43
#define SL_BATCH_OFF_PRODUCER_EPOCH    51
#define SL_BATCH_OFF_BASE_SEQUENCE     53
#define SL_BATCH_OFF_RECORDS_COUNT     57

enum sl_compression {
    SL_COMPRESSION_NONE = 0,
    SL_COMPRESSION_GZIP = 1,
    SL_COMPRESSION_SNAPPY = 2,
    SL_COMPRESSION_LZ4 = 3,
    SL_COMPRESSION_ZSTD = 4,
};

#define SL_BATCH_ATTR_COMPRESSION_MASK 0x07
#define SL_BATCH_ATTR_LOG_APPEND_TIME  0x08
#define SL_BATCH_ATTR_TRANSACTIONAL    0x10
#define SL_BATCH_ATTR_CONTROL          0x20
#define SL_BATCH_ATTR_DELETE_HORIZON   0x40

/* The decoded fixed header of one batch. */
typedef struct sl_batch_header {
    int64_t base_offset;
    int32_t batch_length; /* bytes after the length field */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} sl_batch_header;

static inline int64_t sl_batch_total_size(const sl_batch_header *h)
{
    return (int64_t)h->batch_length + SL_BATCH_LOG_OVERHEAD;
}
/* Wraps instead of overflowing: headers read from a damaged file or a
 * client may hold any base offset and delta (callers reject those; this only
 * keeps computing the value defined, e.g. for the dumper's report). */
static inline int64_t sl_batch_last_offset(const sl_batch_header *h)
{
    return (int64_t)((uint64_t)h->base_offset + (uint64_t)(int64_t)h->last_offset_delta);
}
static inline enum sl_compression sl_batch_compression(const sl_batch_header *h)
{
    return (enum sl_compression)(h->attributes & SL_BATCH_ATTR_COMPRESSION_MASK);
}
static inline bool sl_batch_is_control(const sl_batch_header *h)
{
    return (h->attributes & SL_BATCH_ATTR_CONTROL) != 0;
}
static inline bool sl_batch_is_transactional(const sl_batch_header *h)
{
    return (h->attributes & SL_BATCH_ATTR_TRANSACTIONAL) != 0;
}

/* Decodes the fixed header of the batch starting at p, with `avail` bytes
 * readable from p. Checks only framing: the 61-byte header fits, magic is 2,
 * batchLength >= 49 and the whole batch fits in `avail`.
 * Returns 0, SL_ERR_TRUNCATED (needs more bytes than avail) or SL_ERR_CORRUPT
 * (impossible length or wrong magic). */
int sl_batch_parse_header(const uint8_t *p, size_t avail, sl_batch_header *out);

/* Recomputes the CRC-32C over [21, total) and compares with the stored one.
 * `p` must hold the whole batch (sl_batch_total_size(h) bytes).
 * Returns 0 or SL_ERR_CORRUPT. */
int sl_batch_check_crc(const uint8_t *p, const sl_batch_header *h);

/* Stamps broker-assigned fields (outside CRC coverage). */
void sl_batch_set_base_offset(uint8_t *p, int64_t base_offset);
void sl_batch_set_leader_epoch(uint8_t *p, int32_t leader_epoch);
/* Rewrites the CRC field from the batch bytes (after changing [21, end)). */
void sl_batch_update_crc(uint8_t *p, size_t total_size);

#endif
