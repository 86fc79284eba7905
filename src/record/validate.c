#include "record/validate.h"

#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/mem.h"
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
    o->decompressed = NULL;
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

/* The rules for record i once it parsed. */
static inline int check_record(const sl_rec_view *v, int32_t i, const sl_batch_header *h,
                               const sl_validate_opts *o, const ts_window *w)
{
    if (v->offset_delta != i) return SL_ERR_INVALID_RECORD;
    if (o->require_keys && v->key_len < 0) return SL_ERR_INVALID_RECORD;
    if (w->on) {
        /* Wrapping add: a hostile delta must not be undefined behaviour. */
        int64_t ts = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)v->timestamp_delta);
        if (ts_bad(w, ts)) return SL_ERR_INVALID_TIMESTAMP;
    }
    return 0;
}

/* The hot loop of produce validation: no allocation, one pass, a handful of
 * branches per record. */
static int walk_records(const uint8_t *p, const uint8_t *end, const sl_batch_header *h,
                        const sl_validate_opts *o, const ts_window *w)
{
    const int32_t n = h->records_count;
    for (int32_t i = 0; i < n; i++) {
        sl_rec_view v;
        p = sl_rec_parse(p, end, &v);
        if (!p) return SL_ERR_INVALID_RECORD;
        int rc = check_record(&v, i, h, o, w);
        if (rc < 0) return rc;
    }
    return p == end ? 0 : SL_ERR_INVALID_RECORD;
}

/* A compressed batch's records are walked through a window over the
 * decompression stream that holds the record being checked, never the whole
 * output: a bomb costs one window (or is refused at its first record, whose
 * length alone exceeds the cap), whatever it expands to. */
#define WINDOW_STEP (64 * 1024)

typedef struct rwin {
    sl_codec_ctx *ctx;
    sl_buf *buf; /* data[pos..len) not yet walked */
    size_t pos;
    bool eof;
    uint64_t made; /* bytes decompressed so far */
} rwin;

/* Makes at least `need` bytes available unless the stream ends first;
 * returns how many are, or a negative error. */
static int64_t rwin_fill(rwin *w, size_t need)
{
    sl_buf *b = w->buf;
    while (b->len - w->pos < need && !w->eof) {
        if (w->pos > 0) {
            memmove(b->data, b->data + w->pos, b->len - w->pos);
            b->len -= w->pos;
            w->pos = 0;
        }
        size_t want = SL_MAX(need, (size_t)WINDOW_STEP);
        if (b->cap < want) sl_buf_reserve(b, want - b->len);
        int64_t n = sl_dstream_read(w->ctx, b->data + b->len, b->cap - b->len);
        if (n < 0) return n;
        if (n == 0) w->eof = true;
        b->len += (size_t)n;
        w->made += (uint64_t)n;
    }
    return (int64_t)(b->len - w->pos);
}

static int walk_stream(rwin *w, const sl_batch_header *h, const sl_validate_opts *o,
                       const ts_window *tw)
{
    size_t used = 0; /* decompressed bytes walked, within max_decompressed_bytes */
    for (int32_t i = 0; i < h->records_count; i++) {
        int64_t have = rwin_fill(w, SL_UVARINT32_MAX_LEN);
        if (have < 0) return (int)have;
        const uint8_t *p = w->buf->data + w->pos, *q = p;
        int32_t len;
        if (!sl_rec_varint(&q, p + have, &len) || len < SL_REC_MIN_BODY)
            return SL_ERR_INVALID_RECORD;
        size_t whole = (size_t)(q - p) + (size_t)len;
        if (whole > o->max_decompressed_bytes - used) return SL_ERR_TOO_LARGE;
        have = rwin_fill(w, whole);
        if (have < 0) return (int)have;
        if ((size_t)have < whole) return SL_ERR_INVALID_RECORD; /* past the end */
        p = w->buf->data + w->pos;
        sl_rec_view v;
        if (!sl_rec_parse(p, p + whole, &v)) return SL_ERR_INVALID_RECORD;
        int rc = check_record(&v, i, h, o, tw);
        if (rc < 0) return rc;
        w->pos += whole;
        used += whole;
    }
    int64_t more = rwin_fill(w, 1);
    if (more < 0) return (int)more;
    return more == 0 ? 0 : SL_ERR_INVALID_RECORD;
}

/* Returns SL_ERR_UNSUPPORTED_COMPRESSION when the input needs the one-shot
 * decoder; the walk is then started over (it has no side effects). */
static int walk_compressed(enum sl_compression codec, const uint8_t *rec, size_t rec_len,
                           const sl_batch_header *h, const sl_validate_opts *o, const ts_window *tw,
                           sl_buf *scratch)
{
    sl_codec_ctx *ctx = o->codec_ctx ? o->codec_ctx : sl_codec_ctx_new();
    int rc = sl_dstream_begin(ctx, codec, rec, rec_len, o->max_decompressed_bytes);
    if (rc == 0) {
        rwin w = {ctx, scratch, 0, false, 0};
        sl_buf_reset(scratch);
        rc = walk_stream(&w, h, o, tw);
        if (o->decompressed) *o->decompressed += w.made;
    }
    if (!o->codec_ctx) sl_codec_ctx_free(ctx);
    return rc;
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
    rc = walk_compressed(codec, rec, rec_len, h, o, &w, scratch);
    if (rc != SL_ERR_UNSUPPORTED_COMPRESSION) return rc;
    /* A zstd frame too wide to stream: decoded whole, within the cap. */
    sl_buf_reset(scratch);
    int64_t n = o->codec_ctx
                    ? sl_decompress_ctx(o->codec_ctx, codec, rec, rec_len,
                                        o->max_decompressed_bytes, scratch)
                    : sl_decompress(codec, rec, rec_len, o->max_decompressed_bytes, scratch);
    /* a failed decode is charged what it wrote before failing */
    if (o->decompressed) *o->decompressed += n >= 0 ? (uint64_t)n : (uint64_t)scratch->len;
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
