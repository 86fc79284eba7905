/* libFuzzer target for src/record: produce-side validation (shallow and
 * deep), the batch / record / header iterators, LogAppendTime stamping and
 * the bounded decompressors (one-shot and pull streams, which must agree),
 * over arbitrary bytes.
 *
 * Random mutations almost never keep a CRC-32C right, which would stop
 * everything at the CRC check; so each input is also run with the CRC of
 * every framed batch recomputed, which lets the fuzzer reach the record
 * walk and the codecs. Besides "no crash, no leak, no UB", it checks that
 * the validator and the reader agree: a batch the validator accepts must
 * read back with exactly recordsCount records at consecutive offsets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "record/codec.h"
#include "record/iter.h"
#include "record/validate.h"

#define FUZZ_CAP (1 << 20) /* decompression cap: keeps each run fast */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

/* Reads every record and header of one batch, touching all bytes. Returns
 * the number of records or a negative error. */
static int64_t read_batch(const uint8_t *batch, const sl_batch_header *h, sl_buf *scratch,
                          sl_codec_ctx *ctx, bool consecutive, uint32_t *sink)
{
    sl_record_iter it;
    int rc = sl_record_iter_init_ctx(&it, batch, h, scratch, FUZZ_CAP, ctx);
    if (rc < 0) return rc;
    sl_record r;
    int64_t n = 0, prev = -1;
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        /* deltas from the base (wrapping, the base is arbitrary here) */
        int64_t delta = (int64_t)((uint64_t)r.offset - (uint64_t)h->base_offset);
        CHECK(delta > prev && delta <= h->last_offset_delta);
        CHECK(!consecutive || delta == n);
        prev = delta;
        for (int32_t i = 0; i < r.key_len; i++)
            *sink += r.key[i];
        for (int32_t i = 0; i < r.value_len; i++)
            *sink += r.value[i];
        CHECK((r.key_len < 0) == (r.key == NULL));
        CHECK((r.value_len < 0) == (r.value == NULL));
        sl_header_iter hi;
        sl_header_iter_init(&hi, &r);
        sl_header_kv kv;
        int32_t nh = 0;
        while (sl_header_iter_next(&hi, &kv) == 1) {
            CHECK(kv.key_len >= 0);
            for (int32_t i = 0; i < kv.key_len; i++)
                *sink += ((const uint8_t *)kv.key)[i];
            for (int32_t i = 0; i < kv.value_len; i++)
                *sink += ((const uint8_t *)kv.value)[i];
            nh++;
        }
        CHECK(nh == r.header_count);
        n++;
    }
    return rc < 0 ? rc : n;
}

/* `ctx` (may be NULL) is shared by every call for one input, so context
 * reuse after errors is exercised too. */
static void validate_and_crosscheck(const uint8_t *p, size_t len, bool require_keys,
                                    sl_buf *scratch, sl_buf *scratch2, sl_codec_ctx *ctx,
                                    uint32_t *sink)
{
    sl_validate_opts o;
    sl_validate_opts_default(&o);
    o.max_decompressed_bytes = FUZZ_CAP;
    o.allow_control = true;
    o.require_keys = require_keys;
    o.now_ms = 1700000000000LL;
    o.max_timestamp_diff_ms = 7LL * 24 * 3600 * 1000;
    o.codec_ctx = ctx;
    sl_batch_header h;
    size_t count;
    int rc = sl_batch_validate(p, len, &o, &h, scratch, &count);
    CHECK(rc <= 0);
    if (rc != 0) return;
    CHECK(count == 1 && (size_t)sl_batch_total_size(&h) == len);
    /* the shallow checks are a subset of the deep ones */
    o.deep = false;
    o.require_keys = false;
    CHECK(sl_batch_validate(p, len, &o, &h, NULL, NULL) == 0);
    int64_t n = read_batch(p, &h, scratch2, ctx, true, sink);
    CHECK(n == h.records_count);
}

/* The pull decoder must agree with the one-shot one: the same bytes when
 * either succeeds (zstd may ask for the one-shot decoder instead), an error
 * when either fails. Read in pieces of 1000 so pieces end mid-block. */
static void crosscheck_stream(sl_codec_ctx *ctx, enum sl_compression c, const uint8_t *data,
                              size_t size, const sl_buf *one_shot, int64_t n)
{
    uint8_t piece[1000], *all = sl_malloc(4096 + sizeof piece);
    size_t got = 0;
    int64_t r = sl_dstream_begin(ctx, c, data, size, 4096);
    while (r == 0 && (r = sl_dstream_read(ctx, piece, sizeof piece)) > 0) {
        CHECK(got + (size_t)r <= 4096);
        memcpy(all + got, piece, (size_t)r);
        got += (size_t)r;
        r = 0;
    }
    if (r == SL_ERR_UNSUPPORTED_COMPRESSION) {
        CHECK(c == SL_COMPRESSION_ZSTD);
    } else if (n >= 0 || r == 0) {
        CHECK(n >= 0 && r == 0 && got == (size_t)n);
        CHECK(n == 0 || memcmp(all, one_shot->data + 1, got) == 0);
    }
    sl_free(all);
}

/* Decompresses the input with every codec; checks the cap contract. */
static void fuzz_codecs(const uint8_t *data, size_t size, sl_buf *out, sl_codec_ctx *ctx)
{
    for (int c = 1; c <= 4; c++) {
        sl_buf_reset(out);
        sl_buf_put(out, "x", 1);
        int64_t n = ctx ? sl_decompress_ctx(ctx, (enum sl_compression)c, data, size, 4096, out)
                        : sl_decompress((enum sl_compression)c, data, size, 4096, out);
        CHECK(n == SL_ERR_CORRUPT || n == SL_ERR_TOO_LARGE || n == SL_ERR_NOMEM ||
              (n >= 0 && n <= 4096));
        CHECK(out->len == 1 + (n > 0 ? (size_t)n : 0));
        if (ctx) crosscheck_stream(ctx, (enum sl_compression)c, data, size, out, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t sink = 0; /* sums every byte handed out, so ASan sees each read */
    sl_buf scratch, scratch2;
    sl_buf_init(&scratch);
    sl_buf_init(&scratch2);
    sl_codec_ctx *ctx = sl_codec_ctx_new();

    /* 1. the bytes as sent */
    validate_and_crosscheck(data, size, false, &scratch, &scratch2, NULL, &sink);

    /* 2. the same bytes with every framed batch's CRC made right */
    uint8_t *copy = sl_malloc(size ? size : 1);
    if (size) memcpy(copy, data, size);
    sl_batch_iter bi;
    sl_batch_iter_init(&bi, copy, size, false);
    sl_batch_header h;
    const uint8_t *batch;
    int rc;
    while ((rc = sl_batch_iter_next(&bi, &h, &batch)) == 1) {
        size_t total = (size_t)sl_batch_total_size(&h);
        uint8_t *b = copy + (batch - copy);
        sl_batch_update_crc(b, total);
        validate_and_crosscheck(b, total, false, &scratch, &scratch2, ctx, &sink);
        validate_and_crosscheck(b, total, true, &scratch, &scratch2, NULL, &sink);
        (void)read_batch(b, &h, &scratch2, ctx, false, &sink);
        CHECK(sl_batch_set_log_append_time(b, total, 1700000000123LL) == 0);
        sl_batch_header h2;
        CHECK(sl_batch_parse_header(b, total, &h2) == 0 && sl_batch_check_crc(b, &h2) == 0);
        CHECK((h2.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME) &&
              h2.max_timestamp == 1700000000123LL);
    }
    CHECK(rc <= 0);
    CHECK(bi.pos <= size);
    validate_and_crosscheck(copy, size, false, &scratch, &scratch2, ctx, &sink);

    /* 3. the whole range again, now with CRC checks: stamping kept them valid */
    sl_batch_iter_init(&bi, copy, size, true);
    while ((rc = sl_batch_iter_next(&bi, &h, &batch)) == 1)
        (void)read_batch(batch, &h, &scratch2, NULL, false, &sink);

    /* 4. the raw codecs */
    fuzz_codecs(data, size, &scratch, ctx);
    fuzz_codecs(data, size, &scratch, NULL);

    sl_codec_ctx_free(ctx);
    sl_free(copy);
    sl_buf_fini(&scratch);
    sl_buf_fini(&scratch2);
    volatile uint32_t keep = sink;
    (void)keep;
    return 0;
}
