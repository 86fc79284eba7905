/* Unit tests for src/record/validate.c and the builder: the worked example
 * of RECORD_BATCH.md built byte-exactly, every validation error with its
 * error code, deep record walks over crafted malformed records (plain and
 * compressed), timestamps, and LogAppendTime stamping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "record/builder.h"
#include "record/codec.h"
#include "record/iter.h"
#include "record/validate.h"
#include "record_testutil.h"

#define TS0 1700000000000LL

/* RECORD_BATCH.md's worked example: one record, null key, value "hi",
 * timestamp 1700000000000, not idempotent, leader epoch 0. */
static const uint8_t example[70] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* baseOffset */
    0x00, 0x00, 0x00, 0x3a,                         /* batchLength 58 */
    0x00, 0x00, 0x00, 0x00,                         /* leader epoch */
    0x02,                                           /* magic */
    0xbb, 0xcc, 0x41, 0x15,                         /* crc */
    0x00, 0x00,                                     /* attributes */
    0x00, 0x00, 0x00, 0x00,                         /* lastOffsetDelta */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* baseTimestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* maxTimestamp */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producerId */
    0xff, 0xff,                                     /* producerEpoch */
    0xff, 0xff, 0xff, 0xff,                         /* baseSequence */
    0x00, 0x00, 0x00, 0x01,                         /* recordsCount */
    0x10, 0x00, 0x00, 0x00, 0x01, 0x04, 0x68, 0x69, 0x00};

static void opts_for_tests(sl_validate_opts *o)
{
    sl_validate_opts_default(o);
    o->now_ms = TS0;
    o->max_timestamp_diff_ms = -1;
}

static int validate(const uint8_t *p, size_t len, const sl_validate_opts *o)
{
    sl_buf scratch;
    sl_buf_init(&scratch);
    sl_batch_header h;
    size_t n;
    int rc = sl_batch_validate(p, len, o, &h, &scratch, &n);
    sl_buf_fini(&scratch);
    return rc;
}

static int validate_buf(const sl_buf *b, const sl_validate_opts *o)
{
    return validate(b->data, b->len, o);
}

/* Builds a batch with `n` records of value "v<i>", key "k<i>". */
static void build(sl_buf *out, const sl_batch_opts *bo, int n, int64_t ts)
{
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, bo);
    for (int i = 0; i < n; i++) {
        char k[16], v[16];
        int kl = snprintf(k, sizeof k, "k%d", i), vl = snprintf(v, sizeof v, "v%d", i);
        sl_batch_builder_add(&b, ts + i, k, kl, v, vl, NULL, 0);
    }
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void build_default(sl_buf *out, enum sl_compression c, int n)
{
    sl_batch_opts bo;
    sl_batch_opts_default(&bo);
    bo.compression = c;
    build(out, &bo, n, TS0);
}

/* Rewrites a header field and fixes the CRC, so only the rule under test
 * fails. */
static void patch32(sl_buf *b, size_t off, int32_t v)
{
    sl_store_be32(b->data + off, (uint32_t)v);
    sl_batch_update_crc(b->data, b->len);
}
static void patch64(sl_buf *b, size_t off, int64_t v)
{
    sl_store_be64(b->data + off, (uint64_t)v);
    sl_batch_update_crc(b->data, b->len);
}
static void patch_attr(sl_buf *b, int16_t attr)
{
    sl_store_be16(b->data + SL_BATCH_OFF_ATTRIBUTES, (uint16_t)attr);
    sl_batch_update_crc(b->data, b->len);
}

/* A batch around an arbitrary records section (replaces out). */
typedef struct raw_opts {
    int16_t attributes;
    int32_t count;
    int32_t last_delta;
    int64_t base_ts, max_ts;
} raw_opts;

static void raw_batch(sl_buf *out, const raw_opts *r, const void *records, size_t n)
{
    sl_test_batch f = sl_test_batch_plain(r->count, r->base_ts);
    f.attributes = r->attributes;
    f.last_offset_delta = r->last_delta;
    f.max_timestamp = r->max_ts;
    sl_buf_reset(out);
    sl_test_raw_batch(out, &f, records, n);
}

/* One record written field by field; `raw` keeps the byte counts as given
 * (to write fields that lie about their length). */
typedef struct recspec {
    int64_t ts_delta;
    int32_t offset_delta;
    int32_t key_len, value_len;
    int32_t header_count; /* field value; actual headers: nheaders */
    int nheaders;
    int32_t hkey_len, hvalue_len;
    int len_adjust; /* added to the true length */
    int pad;        /* extra zero bytes inside the record */
    bool raw;
    int key_bytes, value_bytes; /* bytes actually written when raw */
} recspec;

static void put_fill(sl_buf *b, int n, char c)
{
    for (int i = 0; i < n; i++)
        sl_buf_put_i8(b, (int8_t)c);
}

static void put_rec(sl_buf *out, const recspec *r)
{
    sl_buf body;
    sl_buf_init(&body);
    sl_buf_put_i8(&body, 0);
    sl_buf_put_varlong(&body, r->ts_delta);
    sl_buf_put_varint(&body, r->offset_delta);
    sl_buf_put_varint(&body, r->key_len);
    put_fill(&body, r->raw ? r->key_bytes : (r->key_len > 0 ? r->key_len : 0), 'k');
    sl_buf_put_varint(&body, r->value_len);
    put_fill(&body, r->raw ? r->value_bytes : (r->value_len > 0 ? r->value_len : 0), 'v');
    sl_buf_put_varint(&body, r->raw ? r->header_count : r->nheaders);
    for (int i = 0; i < r->nheaders; i++) {
        sl_buf_put_varint(&body, r->hkey_len);
        put_fill(&body, r->hkey_len > 0 ? r->hkey_len : 0, 'h');
        sl_buf_put_varint(&body, r->hvalue_len);
        put_fill(&body, r->hvalue_len > 0 ? r->hvalue_len : 0, 'w');
    }
    put_fill(&body, r->pad, 0);
    sl_buf_put_varint(out, (int32_t)body.len + r->len_adjust);
    sl_buf_put(out, body.data, body.len);
    sl_buf_fini(&body);
}

static const recspec good_rec = {
    .key_len = 1, .value_len = 2, .nheaders = 1, .hkey_len = 1, .hvalue_len = -1};

/* Validates a batch of the given records (count/last delta as given). */
static int deep_records(const recspec *recs, int n, int32_t count, const sl_validate_opts *o)
{
    sl_buf r, b;
    sl_buf_init(&r);
    sl_buf_init(&b);
    for (int i = 0; i < n; i++)
        put_rec(&r, &recs[i]);
    raw_opts ro = {0, count, count - 1, TS0, TS0};
    raw_batch(&b, &ro, r.data, r.len);
    int rc = validate_buf(&b, o);
    /* the reader must refuse (or accept) the same records */
    sl_batch_header h;
    assert_int_equal(sl_batch_parse_header(b.data, b.len, &h), 0);
    sl_record_iter it;
    sl_buf scratch;
    sl_buf_init(&scratch);
    assert_int_equal(sl_record_iter_init(&it, b.data, &h, &scratch, 1 << 20), 0);
    sl_record rec;
    int irc;
    while ((irc = sl_record_iter_next(&it, &rec)) == 1)
        ;
    if (rc == 0)
        assert_int_equal(irc, 0);
    else if (rc == SL_ERR_INVALID_RECORD && !o->require_keys)
        assert_int_equal(irc, SL_ERR_CORRUPT);
    sl_buf_fini(&scratch);
    sl_buf_fini(&r);
    sl_buf_fini(&b);
    return rc;
}

static int deep_one(const recspec *r)
{
    sl_validate_opts o;
    opts_for_tests(&o);
    return deep_records(r, 1, 1, &o);
}

/* ------------------------------------------------------------------------ */

static void test_worked_example_built_exactly(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    sl_buf_put(&out, "junk", 4); /* the builder appends after existing bytes */
    sl_batch_opts bo;
    sl_batch_opts_default(&bo);
    bo.leader_epoch = 0;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, &out, &bo);
    sl_batch_builder_add(&b, TS0, NULL, -1, "hi", 2, NULL, 0);
    assert_int_equal(sl_batch_builder_finish(&b), 70);
    assert_int_equal(out.len, 74);
    assert_memory_equal(out.data + 4, example, sizeof example);
    sl_buf_fini(&out);

    sl_validate_opts o;
    opts_for_tests(&o);
    sl_batch_header h;
    sl_buf scratch;
    sl_buf_init(&scratch);
    size_t n = 99;
    assert_int_equal(sl_batch_validate(example, sizeof example, &o, &h, &scratch, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(h.batch_length, 58);
    assert_int_equal(h.records_count, 1);
    assert_int_equal(h.crc, 0xbbcc4115u);
    assert_true(h.base_timestamp == TS0 && h.max_timestamp == TS0);
    assert_true(h.producer_id == -1);
    assert_null(scratch.data); /* uncompressed: scratch untouched */
    sl_buf_fini(&scratch);
}

static void test_framing_errors(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    uint8_t b[200];
    /* fewer than 61 bytes */
    assert_int_equal(validate(example, 0, &o), SL_ERR_CORRUPT);
    assert_int_equal(validate(example, 60, &o), SL_ERR_CORRUPT);
    /* batch length past the bytes */
    assert_int_equal(validate(example, 69, &o), SL_ERR_CORRUPT);
    memcpy(b, example, 70);
    sl_store_be32(b + 8, 0x7fffffff);
    assert_int_equal(validate(b, 70, &o), SL_ERR_CORRUPT);
    sl_store_be32(b + 8, (uint32_t)-5);
    assert_int_equal(validate(b, 70, &o), SL_ERR_CORRUPT);
    /* batchLength < 49 */
    sl_store_be32(b + 8, 48);
    assert_int_equal(validate(b, 70, &o), SL_ERR_CORRUPT);
    /* magic 0, 1 and 3: a rule violation (magic 2 only with Produce v3+) */
    for (int m = 0; m <= 3; m++) {
        if (m == 2) continue;
        memcpy(b, example, 70);
        b[16] = (uint8_t)m;
        assert_int_equal(validate(b, 70, &o), SL_ERR_INVALID_RECORD);
    }
    /* trailing bytes and a second batch */
    sl_buf scratch;
    sl_buf_init(&scratch);
    sl_batch_header h;
    size_t n;
    memcpy(b, example, 70);
    b[70] = 0;
    assert_int_equal(sl_batch_validate(b, 71, &o, &h, &scratch, &n), SL_ERR_INVALID_RECORD);
    assert_int_equal(n, 1);
    memcpy(b + 70, example, 70);
    assert_int_equal(sl_batch_validate(b, 140, &o, &h, &scratch, &n), SL_ERR_INVALID_RECORD);
    assert_int_equal(n, 2);
    /* a trailing partial second batch */
    assert_int_equal(sl_batch_validate(b, 139, &o, &h, &scratch, &n), SL_ERR_INVALID_RECORD);
    assert_int_equal(n, 1);
    sl_buf_fini(&scratch);
    /* NULL count pointer is fine */
    sl_buf_init(&scratch);
    assert_int_equal(sl_batch_validate(example, 70, &o, &h, &scratch, NULL), 0);
    sl_buf_fini(&scratch);
}

static void test_size_and_crc(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    o.max_batch_bytes = 69;
    assert_int_equal(validate(example, 70, &o), SL_ERR_TOO_LARGE);
    o.max_batch_bytes = 70;
    assert_int_equal(validate(example, 70, &o), 0);
    /* every single-byte change inside CRC coverage is caught */
    uint8_t b[70];
    for (size_t i = SL_BATCH_OFF_ATTRIBUTES; i < 70; i++) {
        memcpy(b, example, 70);
        b[i] ^= 0x01;
        assert_int_equal(validate(b, 70, &o), SL_ERR_CORRUPT);
    }
    memcpy(b, example, 70);
    b[17] ^= 0x80; /* the CRC field itself */
    assert_int_equal(validate(b, 70, &o), SL_ERR_CORRUPT);
    /* base offset and leader epoch are outside the CRC */
    memcpy(b, example, 70);
    sl_batch_set_base_offset(b, 12345);
    sl_batch_set_leader_epoch(b, 7);
    assert_int_equal(validate(b, 70, &o), 0);
}

static void test_count_rules(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    sl_buf b;
    sl_buf_init(&b);
    build_default(&b, SL_COMPRESSION_NONE, 3);
    assert_int_equal(validate_buf(&b, &o), 0);
    patch32(&b, SL_BATCH_OFF_RECORDS_COUNT, 0);
    patch32(&b, SL_BATCH_OFF_LAST_OFFSET_DELTA, -1);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    patch32(&b, SL_BATCH_OFF_RECORDS_COUNT, -3);
    patch32(&b, SL_BATCH_OFF_LAST_OFFSET_DELTA, -4);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    patch32(&b, SL_BATCH_OFF_RECORDS_COUNT, 3);
    patch32(&b, SL_BATCH_OFF_LAST_OFFSET_DELTA, 3);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    patch32(&b, SL_BATCH_OFF_LAST_OFFSET_DELTA, 1);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    /* lastOffsetDelta + 1 overflowing int32 */
    patch32(&b, SL_BATCH_OFF_RECORDS_COUNT, INT32_MIN);
    patch32(&b, SL_BATCH_OFF_LAST_OFFSET_DELTA, INT32_MAX);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    /* header consistent (count 2) but three records inside: deep catches it,
     * shallow cannot */
    patch32(&b, SL_BATCH_OFF_RECORDS_COUNT, 2);
    patch32(&b, SL_BATCH_OFF_LAST_OFFSET_DELTA, 1);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    o.deep = false;
    assert_int_equal(validate_buf(&b, &o), 0);
    /* count 4 but three records */
    o.deep = true;
    patch32(&b, SL_BATCH_OFF_RECORDS_COUNT, 4);
    patch32(&b, SL_BATCH_OFF_LAST_OFFSET_DELTA, 3);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    sl_buf_fini(&b);
}

static void test_control_and_producer(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    sl_buf b;
    sl_buf_init(&b);
    /* a COMMIT marker as the transaction coordinator writes it */
    sl_batch_opts bo;
    sl_batch_opts_default(&bo);
    bo.extra_attributes = SL_BATCH_ATTR_TRANSACTIONAL | SL_BATCH_ATTR_CONTROL;
    bo.producer_id = 42;
    bo.producer_epoch = 3;
    bo.base_sequence = -1;
    sl_batch_builder bb;
    sl_batch_builder_begin(&bb, &b, &bo);
    const uint8_t key[4] = {0, 0, 0, 1}, val[6] = {0, 0, 0, 0, 0, 9};
    sl_batch_builder_add(&bb, TS0, key, 4, val, 6, NULL, 0);
    assert_true(sl_batch_builder_finish(&bb) > 0);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    o.allow_control = true;
    /* producer id set, base sequence -1: still refused */
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    patch32(&b, SL_BATCH_OFF_BASE_SEQUENCE, 0);
    assert_int_equal(validate_buf(&b, &o), 0);

    /* idempotent data batch */
    sl_buf_reset(&b);
    bo.extra_attributes = 0;
    bo.base_sequence = 17;
    build(&b, &bo, 5, TS0);
    assert_int_equal(validate_buf(&b, &o), 0);
    patch32(&b, SL_BATCH_OFF_BASE_SEQUENCE, -1);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    patch32(&b, SL_BATCH_OFF_BASE_SEQUENCE, -7);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    /* no producer: any sequence */
    patch64(&b, SL_BATCH_OFF_PRODUCER_ID, -1);
    assert_int_equal(validate_buf(&b, &o), 0);
    sl_buf_fini(&b);
}

static void test_codec_rules(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    sl_buf b;
    sl_buf_init(&b);
    for (int16_t c = 5; c <= 7; c++) {
        sl_buf_reset(&b);
        sl_buf_put(&b, example, 70);
        patch_attr(&b, c);
        assert_int_equal(validate_buf(&b, &o), SL_ERR_UNSUPPORTED_COMPRESSION);
        o.deep = false;
        assert_int_equal(validate_buf(&b, &o), SL_ERR_UNSUPPORTED_COMPRESSION);
        o.deep = true;
    }
    sl_buf_reset(&b);
    build_default(&b, SL_COMPRESSION_ZSTD, 10);
    assert_int_equal(validate_buf(&b, &o), 0);
    o.allow_zstd = false;
    assert_int_equal(validate_buf(&b, &o), SL_ERR_UNSUPPORTED_COMPRESSION);
    /* compressed bytes that do not decode: corrupt; not looked at when
     * shallow */
    o.allow_zstd = true;
    const char garbage[] = "this is not a compressed stream at all";
    for (int16_t c = 1; c <= 4; c++) {
        raw_opts ro = {c, 1, 0, TS0, TS0};
        raw_batch(&b, &ro, garbage, sizeof garbage);
        assert_int_equal(validate_buf(&b, &o), SL_ERR_CORRUPT);
        o.deep = false;
        assert_int_equal(validate_buf(&b, &o), 0);
        o.deep = true;
    }
    sl_buf_fini(&b);
}

static void test_decompressed_cap(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    o.max_decompressed_bytes = 64 * 1024;
    sl_buf b, scratch;
    sl_buf_init(&b);
    sl_buf_init(&scratch);
    /* 2000 records of 100 zero bytes: ~200 KiB decompressed, tiny on the wire */
    sl_batch_opts bo;
    sl_batch_opts_default(&bo);
    uint8_t zeros[100] = {0};
    for (int c = 1; c <= 4; c++) {
        sl_buf_reset(&b);
        sl_buf_fini(&scratch); /* start small: the cap check below is about growth */
        bo.compression = (enum sl_compression)c;
        sl_batch_builder bb;
        sl_batch_builder_begin(&bb, &b, &bo);
        for (int i = 0; i < 2000; i++)
            sl_batch_builder_add(&bb, TS0, NULL, -1, zeros, 100, NULL, 0);
        assert_true(sl_batch_builder_finish(&bb) > 0);
        assert_true(b.len < 20000);
        sl_batch_header h;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL),
                         SL_ERR_TOO_LARGE);
        assert_true(scratch.cap <= 2 * o.max_decompressed_bytes);
        o.max_decompressed_bytes = 1 << 20;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL), 0);
        /* scratch is reused, not reallocated, on the next call */
        uint8_t *kept = scratch.data;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL), 0);
        assert_ptr_equal(scratch.data, kept);
        o.max_decompressed_bytes = 64 * 1024;
    }
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

static void test_timestamps(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    sl_buf b;
    sl_buf_init(&b);
    sl_batch_opts bo;
    sl_batch_opts_default(&bo);
    /* records at TS0 .. TS0+9 */
    build(&b, &bo, 10, TS0);
    o.max_timestamp_diff_ms = 1000;
    o.now_ms = TS0 + 500;
    assert_int_equal(validate_buf(&b, &o), 0);
    o.now_ms = TS0 + 1000; /* base TS0 exactly at the edge */
    assert_int_equal(validate_buf(&b, &o), 0);
    o.now_ms = TS0 + 1001;
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_TIMESTAMP);
    o.now_ms = TS0 + 9 - 1001; /* max TS0+9 one past the edge */
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_TIMESTAMP);
    o.max_timestamp_diff_ms = -1; /* off */
    assert_int_equal(validate_buf(&b, &o), 0);
    o.max_timestamp_diff_ms = INT64_MAX; /* Kafka's default: no overflow */
    o.now_ms = INT64_MAX - 5;
    assert_int_equal(validate_buf(&b, &o), 0);
    /* LogAppendTime batches are not judged by their timestamps */
    o.max_timestamp_diff_ms = 10;
    o.now_ms = TS0 + 100000;
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_TIMESTAMP);
    patch_attr(&b, SL_BATCH_ATTR_LOG_APPEND_TIME);
    assert_int_equal(validate_buf(&b, &o), 0);

    /* a record far off while base and max timestamps look fine: only the
     * deep walk sees it */
    recspec recs[2] = {good_rec, good_rec};
    recs[1].offset_delta = 1;
    recs[1].ts_delta = -86400000LL;
    sl_buf r;
    sl_buf_init(&r);
    put_rec(&r, &recs[0]);
    put_rec(&r, &recs[1]);
    raw_opts ro = {0, 2, 1, TS0, TS0};
    raw_batch(&b, &ro, r.data, r.len);
    o.now_ms = TS0;
    o.max_timestamp_diff_ms = 3600000;
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_TIMESTAMP);
    o.deep = false;
    assert_int_equal(validate_buf(&b, &o), 0);
    /* records without timestamps (-1) pass */
    o.deep = true;
    sl_buf_reset(&r);
    recs[1].ts_delta = 0;
    put_rec(&r, &recs[0]);
    put_rec(&r, &recs[1]);
    raw_opts none = {0, 2, 1, -1, -1};
    raw_batch(&b, &none, r.data, r.len);
    assert_int_equal(validate_buf(&b, &o), 0);
    /* a hostile delta that overflows base+delta is just a bad timestamp */
    sl_buf_reset(&r);
    recs[0].ts_delta = INT64_MAX;
    put_rec(&r, &recs[0]);
    raw_opts one = {0, 1, 0, TS0, TS0};
    raw_batch(&b, &one, r.data, r.len);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_TIMESTAMP);
    sl_buf_fini(&r);
    sl_buf_fini(&b);
}

static void test_deep_record_structure(void **state)
{
    (void)state;
    recspec r;
    assert_int_equal(deep_one(&good_rec), 0);
    /* length past the end of the batch */
    r = good_rec;
    r.len_adjust = 1;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* length shorter than the fields */
    r = good_rec;
    r.len_adjust = -1;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* length covering bytes the fields do not use */
    r = good_rec;
    r.pad = 1;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* negative and absurd record lengths */
    r = good_rec;
    r.len_adjust = -1000;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* key length -2, value length -5 */
    r = good_rec;
    r.key_len = -2;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    r = good_rec;
    r.value_len = -5;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* key / value lengths past the record (the bytes are not there) */
    r = good_rec;
    r.raw = true;
    r.key_len = 50;
    r.key_bytes = 1;
    r.value_len = -1;
    r.header_count = 0;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    r = good_rec;
    r.raw = true;
    r.key_bytes = 1;
    r.value_len = 1000000;
    r.value_bytes = 3;
    r.header_count = 0;
    r.nheaders = 0;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* null and empty key / value are fine */
    r = good_rec;
    r.key_len = -1;
    r.value_len = -1;
    assert_int_equal(deep_one(&r), 0);
    r.key_len = 0;
    r.value_len = 0;
    assert_int_equal(deep_one(&r), 0);
    /* header count negative, too large, more than present */
    r = good_rec;
    r.raw = true;
    r.key_bytes = 1;
    r.value_bytes = 2;
    r.header_count = -1;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    r.header_count = 1000000;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    r.header_count = 2;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    r.header_count = 0; /* fewer than present: leftover bytes */
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* header key null (refused) or empty (fine); header value null, empty */
    r = good_rec;
    r.hkey_len = -1;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    r.hkey_len = 0;
    assert_int_equal(deep_one(&r), 0);
    r.hvalue_len = 0;
    r.nheaders = 5;
    assert_int_equal(deep_one(&r), 0);
    r.hvalue_len = -2;
    assert_int_equal(deep_one(&r), SL_ERR_INVALID_RECORD);
    /* offset deltas must run 0,1,2 */
    sl_validate_opts o;
    opts_for_tests(&o);
    recspec three[3] = {good_rec, good_rec, good_rec};
    three[1].offset_delta = 1;
    three[2].offset_delta = 2;
    assert_int_equal(deep_records(three, 3, 3, &o), 0);
    three[2].offset_delta = 3;
    assert_int_equal(deep_records(three, 3, 3, &o), SL_ERR_INVALID_RECORD);
    three[2].offset_delta = 1;
    assert_int_equal(deep_records(three, 3, 3, &o), SL_ERR_INVALID_RECORD);
    three[0].offset_delta = 1;
    three[2].offset_delta = 2;
    assert_int_equal(deep_records(three, 3, 3, &o), SL_ERR_INVALID_RECORD);
    /* count disagrees with the records present */
    three[0].offset_delta = 0;
    assert_int_equal(deep_records(three, 2, 3, &o), SL_ERR_INVALID_RECORD);
    assert_int_equal(deep_records(three, 3, 2, &o), SL_ERR_INVALID_RECORD);
    /* empty records section */
    assert_int_equal(deep_records(three, 0, 1, &o), SL_ERR_INVALID_RECORD);
}

static void test_deep_varints(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    sl_buf b;
    sl_buf_init(&b);
    raw_opts ro = {0, 1, 0, TS0, TS0};
    /* a record with an over-long (6-byte) offsetDelta varint */
    const uint8_t overlong[] = {0x16, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 0};
    raw_batch(&b, &ro, overlong, sizeof overlong);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    /* 5-byte varint with bits above 32 */
    const uint8_t wide[] = {0x14, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x7f, 1, 1, 0};
    raw_batch(&b, &ro, wide, sizeof wide);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    /* a non-minimal but in-range 5-byte zero is accepted (Kafka does) */
    const uint8_t padded[] = {0x14, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 0};
    raw_batch(&b, &ro, padded, sizeof padded);
    assert_int_equal(validate_buf(&b, &o), 0);
    /* record length varint cut off at the end of the batch */
    const uint8_t cut[] = {0xff};
    raw_batch(&b, &ro, cut, sizeof cut);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    /* negative record length */
    const uint8_t neg[] = {0x01, 0, 0, 0, 1, 1, 0};
    raw_batch(&b, &ro, neg, sizeof neg);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    /* 11-byte timestamp varlong */
    const uint8_t longts[] = {0x20, 0,    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                              0x80, 0x80, 0x80, 0x00, 0,    1,    1,    0};
    raw_batch(&b, &ro, longts, sizeof longts);
    assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    sl_buf_fini(&b);
}

static void test_require_keys(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    o.require_keys = true;
    /* the example has a null key: refused even without deep */
    assert_int_equal(validate(example, 70, &o), SL_ERR_INVALID_RECORD);
    o.deep = false;
    assert_int_equal(validate(example, 70, &o), SL_ERR_INVALID_RECORD);
    sl_buf b;
    sl_buf_init(&b);
    for (int c = 0; c <= 4; c++) {
        sl_buf_reset(&b);
        build_default(&b, (enum sl_compression)c, 20);
        assert_int_equal(validate_buf(&b, &o), 0);
        /* one null key among keyed records, inside a compressed batch */
        sl_buf_reset(&b);
        sl_batch_opts bo;
        sl_batch_opts_default(&bo);
        bo.compression = (enum sl_compression)c;
        sl_batch_builder bb;
        sl_batch_builder_begin(&bb, &b, &bo);
        sl_batch_builder_add(&bb, TS0, "a", 1, "x", 1, NULL, 0);
        sl_batch_builder_add(&bb, TS0, NULL, -1, NULL, -1, NULL, 0); /* tombstone w/o key */
        assert_true(sl_batch_builder_finish(&bb) > 0);
        assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
        o.require_keys = false;
        assert_int_equal(validate_buf(&b, &o), 0);
        o.require_keys = true;
    }
    sl_buf_fini(&b);
}

/* Malformed records inside a compressed stream are found after inflating. */
static void test_deep_compressed_malformed(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    recspec bad = good_rec;
    bad.hkey_len = -1;
    sl_buf r, z, b;
    sl_buf_init(&r);
    sl_buf_init(&z);
    sl_buf_init(&b);
    put_rec(&r, &bad);
    for (int c = 1; c <= 4; c++) {
        sl_buf_reset(&z);
        assert_int_equal(sl_compress((enum sl_compression)c, r.data, r.len, &z), 0);
        raw_opts ro = {(int16_t)c, 1, 0, TS0, TS0};
        raw_batch(&b, &ro, z.data, z.len);
        assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
        /* an empty stream: records missing */
        sl_buf_reset(&z);
        assert_int_equal(sl_compress((enum sl_compression)c, "", 0, &z), 0);
        raw_batch(&b, &ro, z.data, z.len);
        assert_int_equal(validate_buf(&b, &o), SL_ERR_INVALID_RECORD);
    }
    sl_buf_fini(&r);
    sl_buf_fini(&z);
    sl_buf_fini(&b);
}

static void test_every_codec_through_validate(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    o.max_timestamp_diff_ms = 60000;
    sl_buf b, scratch;
    sl_buf_init(&b);
    sl_buf_init(&scratch);
    for (int c = 0; c <= 4; c++) {
        for (int n = 1; n <= 1000; n *= 10) {
            sl_buf_reset(&b);
            build_default(&b, (enum sl_compression)c, n);
            sl_batch_header h;
            size_t cnt;
            assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, &cnt), 0);
            assert_int_equal(cnt, 1);
            assert_int_equal(h.records_count, n);
            assert_int_equal(h.last_offset_delta, n - 1);
            assert_int_equal(sl_batch_compression(&h), c);
            assert_true(h.max_timestamp == TS0 + n - 1);
        }
    }
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

static void test_log_append_time(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    build_default(&b, SL_COMPRESSION_LZ4, 4);
    int64_t now = TS0 + 123456;
    assert_int_equal(sl_batch_set_log_append_time(b.data, b.len, now), 0);
    sl_validate_opts o;
    opts_for_tests(&o);
    sl_batch_header h;
    sl_buf scratch;
    sl_buf_init(&scratch);
    assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL), 0);
    assert_true(h.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME);
    assert_int_equal(sl_batch_compression(&h), SL_COMPRESSION_LZ4);
    assert_true(h.max_timestamp == now);
    assert_true(h.base_timestamp == TS0);
    /* readers see the append time on every record */
    sl_record_iter it;
    assert_int_equal(sl_record_iter_init(&it, b.data, &h, &scratch, 1 << 20), 0);
    sl_record rec;
    int n = 0;
    while (sl_record_iter_next(&it, &rec) == 1) {
        assert_true(rec.timestamp == now);
        n++;
    }
    assert_int_equal(n, 4);
    /* not a whole batch */
    assert_int_equal(sl_batch_set_log_append_time(b.data, b.len - 1, now), SL_ERR_CORRUPT);
    assert_int_equal(sl_batch_set_log_append_time(b.data, 20, now), SL_ERR_CORRUPT);
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

/* Compressed records are walked through a window holding one record, not
 * the whole output (raw snappy is decoded whole, but into the codec
 * context); a first record longer than the cap is refused before its bytes
 * are read. */
static void test_compressed_walk_holds_one_record(void **state)
{
    (void)state;
    sl_validate_opts o;
    opts_for_tests(&o);
    sl_buf b, scratch;
    sl_buf_init(&b);
    sl_buf_init(&scratch);
    uint8_t *zeros = calloc(1, 3u << 20);
    sl_batch_opts bo;
    sl_batch_opts_default(&bo);
    for (int c = 1; c <= 4; c++) {
        bo.compression = (enum sl_compression)c;
        /* 200 records of 10 KiB: 2 MB of output */
        sl_buf_reset(&b);
        sl_batch_builder bb;
        sl_batch_builder_begin(&bb, &b, &bo);
        for (int i = 0; i < 200; i++)
            sl_batch_builder_add(&bb, TS0, NULL, -1, zeros, 10240, NULL, 0);
        assert_true(sl_batch_builder_finish(&bb) > 0);
        sl_batch_header h;
        sl_buf_fini(&scratch);
        o.max_decompressed_bytes = 4u << 20;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL), 0);
        assert_true(scratch.cap <= 128 * 1024);
        o.max_decompressed_bytes = 1u << 20;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL),
                         SL_ERR_TOO_LARGE);
        /* the decompressed-bytes counter: the whole records section when
         * accepted, at most the cap when refused, and it adds up */
        uint64_t spent = 0;
        o.decompressed = &spent;
        o.max_decompressed_bytes = 4u << 20;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL), 0);
        sl_buf whole;
        sl_buf_init(&whole);
        int64_t n = sl_decompress(bo.compression, b.data + SL_BATCH_HEADER_SIZE,
                                  b.len - SL_BATCH_HEADER_SIZE, 4u << 20, &whole);
        assert_true(n > 2000000);
        assert_int_equal(spent, (uint64_t)n);
        o.max_decompressed_bytes = 1u << 20;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL),
                         SL_ERR_TOO_LARGE);
        assert_true(spent >= (uint64_t)n && spent <= (uint64_t)n + (1u << 20));
        sl_buf_fini(&whole);
        o.decompressed = NULL;
        /* one record of 3 MiB against a 1 MiB cap */
        sl_buf_reset(&b);
        sl_batch_builder_begin(&bb, &b, &bo);
        sl_batch_builder_add(&bb, TS0, NULL, -1, zeros, 3u << 20, NULL, 0);
        assert_true(sl_batch_builder_finish(&bb) > 0);
        sl_buf_fini(&scratch);
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL),
                         SL_ERR_TOO_LARGE);
        assert_true(scratch.cap <= 128 * 1024);
        /* and accepted when the cap allows it: the window grows to the record */
        o.max_decompressed_bytes = 4u << 20;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL), 0);
    }
    free(zeros);
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example_built_exactly),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_size_and_crc),
        cmocka_unit_test(test_count_rules),
        cmocka_unit_test(test_control_and_producer),
        cmocka_unit_test(test_codec_rules),
        cmocka_unit_test(test_decompressed_cap),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_deep_record_structure),
        cmocka_unit_test(test_deep_varints),
        cmocka_unit_test(test_require_keys),
        cmocka_unit_test(test_deep_compressed_malformed),
        cmocka_unit_test(test_every_codec_through_validate),
        cmocka_unit_test(test_log_append_time),
        cmocka_unit_test(test_compressed_walk_holds_one_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
