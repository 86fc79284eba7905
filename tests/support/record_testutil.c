#include "record_testutil.h"

#include "record/batch.h"

sl_test_batch sl_test_batch_plain(int32_t count, int64_t ts)
{
    sl_test_batch f = {
        .base_offset = 0,
        .leader_epoch = -1,
        .attributes = 0,
        .last_offset_delta = count - 1,
        .base_timestamp = ts,
        .max_timestamp = ts,
        .producer_id = -1,
        .producer_epoch = -1,
        .base_sequence = -1,
        .records_count = count,
    };
    return f;
}

void sl_test_raw_batch(sl_buf *out, const sl_test_batch *f, const void *records, size_t n)
{
    size_t start = out->len;
    sl_buf_put_i64(out, f->base_offset);
    sl_buf_put_i32(out, (int32_t)(SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD + n));
    sl_buf_put_i32(out, f->leader_epoch);
    sl_buf_put_i8(out, SL_BATCH_MAGIC);
    sl_buf_put_i32(out, 0); /* crc, set below */
    sl_buf_put_i16(out, f->attributes);
    sl_buf_put_i32(out, f->last_offset_delta);
    sl_buf_put_i64(out, f->base_timestamp);
    sl_buf_put_i64(out, f->max_timestamp);
    sl_buf_put_i64(out, f->producer_id);
    sl_buf_put_i16(out, f->producer_epoch);
    sl_buf_put_i32(out, f->base_sequence);
    sl_buf_put_i32(out, f->records_count);
    sl_buf_put(out, records, n);
    sl_batch_update_crc(out->data + start, out->len - start);
}
