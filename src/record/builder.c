#include "record/builder.h"

#include "base/err.h"
#include "record/codec.h"

void sl_batch_opts_default(sl_batch_opts *o)
{
    o->base_offset = 0;
    o->leader_epoch = -1;
    o->compression = SL_COMPRESSION_NONE;
    o->extra_attributes = 0;
    o->producer_id = -1;
    o->producer_epoch = -1;
    o->base_sequence = -1;
}

void sl_batch_builder_begin(sl_batch_builder *b, sl_buf *out, const sl_batch_opts *opts)
{
    b->out = out;
    b->start = out->len;
    sl_buf_init(&b->records);
    b->opts = *opts;
    b->count = 0;
    b->base_timestamp = -1;
    b->max_timestamp = -1;
}

static size_t bytes_field_size(int32_t len)
{
    return sl_varint_size(len) + (len > 0 ? (size_t)len : 0);
}

void sl_batch_builder_add(sl_batch_builder *b, int64_t timestamp_ms, const void *key,
                          int32_t key_len, const void *value, int32_t value_len,
                          const sl_header_kv *headers, int header_count)
{
    if (b->count == 0) b->base_timestamp = timestamp_ms;
    if (timestamp_ms > b->max_timestamp) b->max_timestamp = timestamp_ms;
    int64_t ts_delta = timestamp_ms - b->base_timestamp;
    size_t body = 1 + sl_varlong_size(ts_delta) + sl_varint_size(b->count) +
                  bytes_field_size(key_len) + bytes_field_size(value_len) +
                  sl_varint_size(header_count);
    for (int i = 0; i < header_count; i++)
        body += bytes_field_size(headers[i].key_len) + bytes_field_size(headers[i].value_len);

    sl_buf *r = &b->records;
    sl_buf_put_varint(r, (int32_t)body);
    sl_buf_put_i8(r, 0); /* record attributes: unused */
    sl_buf_put_varlong(r, ts_delta);
    sl_buf_put_varint(r, b->count);
    sl_buf_put_varint(r, key_len);
    if (key_len > 0) sl_buf_put(r, key, (size_t)key_len);
    sl_buf_put_varint(r, value_len);
    if (value_len > 0) sl_buf_put(r, value, (size_t)value_len);
    sl_buf_put_varint(r, header_count);
    for (int i = 0; i < header_count; i++) {
        sl_buf_put_varint(r, headers[i].key_len);
        if (headers[i].key_len > 0) sl_buf_put(r, headers[i].key, (size_t)headers[i].key_len);
        sl_buf_put_varint(r, headers[i].value_len);
        if (headers[i].value_len > 0) sl_buf_put(r, headers[i].value, (size_t)headers[i].value_len);
    }
    b->count++;
}

int64_t sl_batch_builder_finish(sl_batch_builder *b)
{
    sl_buf *out = b->out;
    const sl_batch_opts *o = &b->opts;
    uint8_t *h = sl_buf_reserve(out, SL_BATCH_HEADER_SIZE);
    memset(h, 0, SL_BATCH_HEADER_SIZE);
    out->len += SL_BATCH_HEADER_SIZE;

    int rc = 0;
    if (o->compression == SL_COMPRESSION_NONE)
        sl_buf_put(out, b->records.data, b->records.len);
    else
        rc = sl_compress(o->compression, b->records.data, b->records.len, out);
    sl_buf_fini(&b->records);
    if (rc < 0) {
        out->len = b->start;
        return rc;
    }

    size_t total = out->len - b->start;
    h = out->data + b->start; /* out may have moved */
    int16_t attributes =
        (int16_t)((o->compression & SL_BATCH_ATTR_COMPRESSION_MASK) | o->extra_attributes);
    sl_store_be64(h + SL_BATCH_OFF_BASE_OFFSET, (uint64_t)o->base_offset);
    sl_store_be32(h + SL_BATCH_OFF_LENGTH, (uint32_t)(total - SL_BATCH_LOG_OVERHEAD));
    sl_store_be32(h + SL_BATCH_OFF_LEADER_EPOCH, (uint32_t)o->leader_epoch);
    h[SL_BATCH_OFF_MAGIC] = SL_BATCH_MAGIC;
    sl_store_be16(h + SL_BATCH_OFF_ATTRIBUTES, (uint16_t)attributes);
    sl_store_be32(h + SL_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(b->count ? b->count - 1 : 0));
    sl_store_be64(h + SL_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
    sl_store_be64(h + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
    sl_store_be64(h + SL_BATCH_OFF_PRODUCER_ID, (uint64_t)o->producer_id);
    sl_store_be16(h + SL_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)o->producer_epoch);
    sl_store_be32(h + SL_BATCH_OFF_BASE_SEQUENCE, (uint32_t)o->base_sequence);
    sl_store_be32(h + SL_BATCH_OFF_RECORDS_COUNT, (uint32_t)b->count);
    sl_batch_update_crc(h, total);
    return (int64_t)total;
}
