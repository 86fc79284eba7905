#include "record/batch.h"

#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/err.h"

int sl_batch_parse_header(const uint8_t *p, size_t avail, sl_batch_header *h)
{
    if (avail < SL_BATCH_HEADER_SIZE) return SL_ERR_TRUNCATED;
    h->base_offset = (int64_t)sl_load_be64(p + SL_BATCH_OFF_BASE_OFFSET);
    h->batch_length = (int32_t)sl_load_be32(p + SL_BATCH_OFF_LENGTH);
    h->leader_epoch = (int32_t)sl_load_be32(p + SL_BATCH_OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[SL_BATCH_OFF_MAGIC];
    h->crc = sl_load_be32(p + SL_BATCH_OFF_CRC);
    h->attributes = (int16_t)sl_load_be16(p + SL_BATCH_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)sl_load_be32(p + SL_BATCH_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)sl_load_be64(p + SL_BATCH_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)sl_load_be64(p + SL_BATCH_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)sl_load_be64(p + SL_BATCH_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)sl_load_be16(p + SL_BATCH_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)sl_load_be32(p + SL_BATCH_OFF_BASE_SEQUENCE);
    h->records_count = (int32_t)sl_load_be32(p + SL_BATCH_OFF_RECORDS_COUNT);
    if (h->magic != SL_BATCH_MAGIC || h->batch_length < SL_BATCH_MIN_LENGTH) return SL_ERR_CORRUPT;
    if ((uint64_t)sl_batch_total_size(h) > avail) return SL_ERR_TRUNCATED;
    return 0;
}

int sl_batch_check_crc(const uint8_t *p, const sl_batch_header *h)
{
    size_t total = (size_t)sl_batch_total_size(h);
    uint32_t crc = sl_crc32c(p + SL_BATCH_OFF_ATTRIBUTES, total - SL_BATCH_OFF_ATTRIBUTES);
    return crc == h->crc ? 0 : SL_ERR_CORRUPT;
}

void sl_batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
    sl_store_be64(p + SL_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void sl_batch_set_leader_epoch(uint8_t *p, int32_t leader_epoch)
{
    sl_store_be32(p + SL_BATCH_OFF_LEADER_EPOCH, (uint32_t)leader_epoch);
}

void sl_batch_update_crc(uint8_t *p, size_t total_size)
{
    uint32_t crc = sl_crc32c(p + SL_BATCH_OFF_ATTRIBUTES, total_size - SL_BATCH_OFF_ATTRIBUTES);
    sl_store_be32(p + SL_BATCH_OFF_CRC, crc);
}
