#include "record/iter.h"

#include "base/err.h"
#include "record/codec.h"
#include "record/recparse.h"

void sl_batch_iter_init(sl_batch_iter *it, const uint8_t *data, size_t len, bool check_crc)
{
    it->data = data;
    it->len = len;
    it->pos = 0;
    it->check_crc = check_crc;
    it->truncated = false;
    it->err = 0;
}

int sl_batch_iter_next(sl_batch_iter *it, sl_batch_header *h, const uint8_t **batch)
{
    if (it->err) return it->err;
    size_t left = it->len - it->pos;
    if (left == 0) return 0;
    const uint8_t *p = it->data + it->pos;
    /* Judge what a partial header already shows, so that garbage is not
     * mistaken for a harmless truncated tail. */
    if (left >= SL_BATCH_OFF_LEADER_EPOCH &&
        (int32_t)sl_load_be32(p + SL_BATCH_OFF_LENGTH) < SL_BATCH_MIN_LENGTH)
        return it->err = SL_ERR_CORRUPT;
    if (left > SL_BATCH_OFF_MAGIC && p[SL_BATCH_OFF_MAGIC] != SL_BATCH_MAGIC)
        return it->err = SL_ERR_CORRUPT;
    int rc = sl_batch_parse_header(p, left, h);
    if (rc == SL_ERR_TRUNCATED) {
        it->truncated = true;
        return 0;
    }
    if (rc < 0) return it->err = rc;
    if (it->check_crc && sl_batch_check_crc(p, h) < 0) return it->err = SL_ERR_CORRUPT;
    *batch = p;
    it->pos += (size_t)sl_batch_total_size(h);
    return 1;
}

int sl_record_iter_init(sl_record_iter *it, const uint8_t *batch, const sl_batch_header *h,
                        sl_buf *scratch, size_t max_decompressed)
{
    return sl_record_iter_init_ctx(it, batch, h, scratch, max_decompressed, NULL);
}

int sl_record_iter_init_ctx(sl_record_iter *it, const uint8_t *batch, const sl_batch_header *h,
                            sl_buf *scratch, size_t max_decompressed, sl_codec_ctx *ctx)
{
    it->hdr = *h;
    it->index = 0;
    it->last_delta = -1;
    it->err = 0;
    it->pos = it->end = NULL;
    const uint8_t *rec = batch + SL_BATCH_HEADER_SIZE;
    size_t rec_len = (size_t)sl_batch_total_size(h) - SL_BATCH_HEADER_SIZE;
    enum sl_compression codec = sl_batch_compression(h);
    if (h->records_count < 0) return it->err = SL_ERR_CORRUPT;
    if (codec > SL_COMPRESSION_ZSTD) return it->err = SL_ERR_UNSUPPORTED_COMPRESSION;
    /* Compaction can leave a batch with no records (kept for producer
     * state); there is nothing to decompress then. */
    if (codec == SL_COMPRESSION_NONE || (h->records_count == 0 && rec_len == 0)) {
        it->pos = rec;
        it->end = rec + rec_len;
        return 0;
    }
    if (!scratch) return it->err = SL_ERR_INVALID_ARG;
    sl_buf_reset(scratch);
    int64_t n = ctx ? sl_decompress_ctx(ctx, codec, rec, rec_len, max_decompressed, scratch)
                    : sl_decompress(codec, rec, rec_len, max_decompressed, scratch);
    if (n < 0) return it->err = (int)n;
    if (n > 0) {
        it->pos = scratch->data;
        it->end = scratch->data + n;
    }
    return 0;
}

int sl_record_iter_next(sl_record_iter *it, sl_record *r)
{
    if (it->err) return it->err;
    const sl_batch_header *h = &it->hdr;
    if (it->index >= h->records_count) {
        if (it->pos != it->end) return it->err = SL_ERR_CORRUPT;
        return 0;
    }
    if (!it->pos) return it->err = SL_ERR_CORRUPT;
    sl_rec_view v;
    const uint8_t *next = sl_rec_parse(it->pos, it->end, &v);
    if (!next || v.offset_delta <= it->last_delta || v.offset_delta > h->last_offset_delta)
        return it->err = SL_ERR_CORRUPT;
    it->pos = next;
    it->index++;
    it->last_delta = v.offset_delta;
    r->offset = (int64_t)((uint64_t)h->base_offset + (uint64_t)v.offset_delta);
    if (h->attributes & SL_BATCH_ATTR_LOG_APPEND_TIME)
        r->timestamp = h->max_timestamp;
    else
        r->timestamp = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)v.timestamp_delta);
    r->attributes = v.attributes;
    r->key = v.key;
    r->key_len = v.key_len;
    r->value = v.value;
    r->value_len = v.value_len;
    r->header_count = v.header_count;
    r->headers = v.headers;
    r->headers_len = (size_t)(v.headers_end - v.headers);
    return 1;
}

void sl_header_iter_init(sl_header_iter *it, const sl_record *r)
{
    it->pos = r->headers;
    it->end = r->headers + r->headers_len;
    it->left = r->header_count;
}

int sl_header_iter_next(sl_header_iter *it, sl_header_kv *kv)
{
    if (it->left <= 0) return 0;
    int32_t klen, vlen;
    const uint8_t *k, *v;
    if (!sl_rec_bytes(&it->pos, it->end, false, &klen, &k) ||
        !sl_rec_bytes(&it->pos, it->end, true, &vlen, &v)) {
        it->left = 0; /* only reachable with a hand-made sl_record */
        return 0;
    }
    it->left--;
    kv->key = k;
    kv->key_len = klen;
    kv->value = v;
    kv->value_len = vlen;
    return 1;
}
