#include "record/validate.h"

#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "record/codec.h"
#include "record/recparse.h"

void sl_validate_opts_default(sl_validate_opts *o)
{
    o->max_batch_bytes = 1048588;
    o->max_decompressed_bytes = (size_t)64 << 20;
    o->allow_control = false;
    o->require_keys = false;
    o->now_ms = 0;
    o->max_timestamp_diff_ms = -1;
    o->allow_zstd = true;
    o->deep = true;
    o->codec_ctx = NULL;
}

/* Inclusive window [lo, hi] of acceptable CreateTime timestamps, saturated
 * so that a huge diff (Kafka's default is Long.MAX_VALUE) means "anything". */
typedef struct ts_window {
    bool on;
    int64_t lo, hi;
} ts_window;

static ts_window ts_window_make(const sl_validate_opts *o, const sl_batch_header *h)
{
    ts_window w = {false, INT64_MIN, INT64_MAX};
    if (o->max_timestamp_diff_ms < 0 || (h->attributes & SL_BATCH_ATTR_LOG_APPEND_TIME)) return w;
    w.on = true;
    if (__builtin_sub_overflow(o->now_ms, o->max_timestamp_diff_ms, &w.lo)) w.lo = INT64_MIN;
    if (__builtin_add_overflow(o->now_ms, o->max_timestamp_diff_ms, &w.hi)) w.hi = INT64_MAX;
    return w;
}

static inline bool ts_bad(const ts_window *w, int64_t ts)
{
    return ts != -1 && (ts < w->lo || ts > w->hi);
}

/* The hot loop of produce validation: no allocation, one pass, a handful of
 * branches per record. */
static int walk_records(const uint8_t *p, const uint8_t *end, const sl_batch_header *h,
                        const sl_validate_opts *o, const ts_window *w)
{
    const int32_t n = h->records_count;
    const bool keys = o->require_keys;
    for (int32_t i = 0; i < n; i++) {
        sl_rec_view v;
        p = sl_rec_parse(p, end, &v);
        if (!p || v.offset_delta != i) return SL_ERR_INVALID_RECORD;
        if (keys && v.key_len < 0) return SL_ERR_INVALID_RECORD;
        if (w->on) {
            /* Wrapping add: a hostile delta must not be undefined behaviour. */
            int64_t ts = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)v.timestamp_delta);
            if (ts_bad(w, ts)) return SL_ERR_INVALID_TIMESTAMP;
        }
    }
    return p == end ? 0 : SL_ERR_INVALID_RECORD;
}

/* Counts whole batches framed back to back from p (for the diagnostic
 * count); stops at the first thing that is not one. */
static size_t count_batches(const uint8_t *p, size_t len)
{
    size_t n = 0;
    while (len >= SL_BATCH_HEADER_SIZE && p[SL_BATCH_OFF_MAGIC] == SL_BATCH_MAGIC) {
        int32_t bl = (int32_t)sl_load_be32(p + SL_BATCH_OFF_LENGTH);
        if (bl < SL_BATCH_MIN_LENGTH || (uint64_t)bl + SL_BATCH_LOG_OVERHEAD > len) break;
        size_t total = (size_t)bl + SL_BATCH_LOG_OVERHEAD;
        n++;
        p += total;
        len -= total;
    }
    return n;
}

int sl_batch_validate(const uint8_t *p, size_t len, const sl_validate_opts *o, sl_batch_header *h,
                      sl_buf *scratch, size_t *batch_count_out)
{
    if (batch_count_out) *batch_count_out = 0;
    if (len < SL_BATCH_HEADER_SIZE) return SL_ERR_CORRUPT;
    if (p[SL_BATCH_OFF_MAGIC] != SL_BATCH_MAGIC) return SL_ERR_INVALID_RECORD;
    int rc = sl_batch_parse_header(p, len, h);
    if (rc < 0) return SL_ERR_CORRUPT; /* length < 49 or past the bytes we have */
    size_t total = (size_t)sl_batch_total_size(h);
    if (total != len) {
        if (batch_count_out) *batch_count_out = count_batches(p, len);
        return SL_ERR_INVALID_RECORD;
    }
    if (batch_count_out) *batch_count_out = 1;
    if (total > o->max_batch_bytes) return SL_ERR_TOO_LARGE;
    if (sl_batch_check_crc(p, h) < 0) return SL_ERR_CORRUPT;
    if (h->records_count <= 0 || (int64_t)h->last_offset_delta + 1 != h->records_count)
        return SL_ERR_INVALID_RECORD;
    if (sl_batch_is_control(h) && !o->allow_control) return SL_ERR_INVALID_RECORD;
    if (h->producer_id >= 0 && h->base_sequence < 0) return SL_ERR_INVALID_RECORD;
    enum sl_compression codec = sl_batch_compression(h);
    if (codec > SL_COMPRESSION_ZSTD || (codec == SL_COMPRESSION_ZSTD && !o->allow_zstd))
        return SL_ERR_UNSUPPORTED_COMPRESSION;

    ts_window w = ts_window_make(o, h);
    if (w.on) {
        bool horizon = (h->attributes & SL_BATCH_ATTR_DELETE_HORIZON) != 0;
        if (ts_bad(&w, h->max_timestamp) || (!horizon && ts_bad(&w, h->base_timestamp)))
            return SL_ERR_INVALID_TIMESTAMP;
    }
    if (!o->deep && !o->require_keys) return 0;

    const uint8_t *rec = p + SL_BATCH_HEADER_SIZE;
    size_t rec_len = total - SL_BATCH_HEADER_SIZE;
    if (codec == SL_COMPRESSION_NONE) return walk_records(rec, rec + rec_len, h, o, &w);
    if (!scratch) return SL_ERR_INVALID_ARG;
    sl_buf_reset(scratch);
    int64_t n = o->codec_ctx
                    ? sl_decompress_ctx(o->codec_ctx, codec, rec, rec_len,
                                        o->max_decompressed_bytes, scratch)
                    : sl_decompress(codec, rec, rec_len, o->max_decompressed_bytes, scratch);
    if (n < 0) return (int)n;
    if (n == 0) /* recordsCount > 0 already holds: records are missing */
        return SL_ERR_INVALID_RECORD;
    return walk_records(scratch->data, scratch->data + n, h, o, &w);
}

int sl_batch_set_log_append_time(uint8_t *p, size_t len, int64_t now_ms)
{
    sl_batch_header h;
    if (sl_batch_parse_header(p, len, &h) < 0) return SL_ERR_CORRUPT;
    uint16_t attr = (uint16_t)h.attributes | SL_BATCH_ATTR_LOG_APPEND_TIME;
    sl_store_be16(p + SL_BATCH_OFF_ATTRIBUTES, attr);
    sl_store_be64(p + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
    sl_batch_update_crc(p, (size_t)sl_batch_total_size(&h));
    return 0;
}
