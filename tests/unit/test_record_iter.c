/* Unit tests for src/record/iter.c: builder -> validate -> iterate round
 * trips for every codec (keys, values, nulls, headers, timestamps, offsets),
 * batch ranges with truncated tails and garbage, CRC checking, compacted
 * batches with offset gaps, and the decompression cap of the reader. */
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
#include "record/iter.h"
#include "record/validate.h"
#include "record_testutil.h"

#define TS0  1700000000000LL
#define NREC 60

/* Record i of the test batch: which key/value/headers it carries. */
static void rec_key(int i, char *buf, int32_t *len)
{
    if (i % 7 == 3)
        *len = -1;
    else if (i % 7 == 5)
        *len = 0;
    else
        *len = snprintf(buf, 32, "key-%d", i);
}

static int32_t rec_value_len(int i)
{
    if (i % 11 == 4) return -1;
    if (i % 11 == 6) return 0;
    return i == 10 ? 5000 : 20 + i;
}

static uint8_t rec_value_byte(int i, int j)
{
    return (uint8_t)(i * 31 + j);
}

static int64_t rec_ts(int i)
{
    return TS0 + (i % 5 == 2 ? -1000 * i : 10 * i);
}

static void rec_headers(int i, sl_header_kv *h, int *n)
{
    static const char *keys[] = {"trace", "", "content-type"};
    *n = i % 4;
    for (int j = 0; j < *n; j++) {
        h[j].key = keys[j];
        h[j].key_len = (int32_t)strlen(keys[j]);
        h[j].value = j == 1 ? NULL : "hv";
        h[j].value_len = j == 1 ? -1 : 2;
    }
}

static void build_test_batch(sl_buf *out, enum sl_compression c, int64_t base_offset)
{
    sl_batch_opts bo;
    sl_batch_opts_default(&bo);
    bo.compression = c;
    bo.base_offset = base_offset;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &bo);
    uint8_t *val = sl_malloc(5000);
    for (int i = 0; i < NREC; i++) {
        char k[32];
        int32_t kl;
        rec_key(i, k, &kl);
        int32_t vl = rec_value_len(i);
        for (int j = 0; j < vl; j++)
            val[j] = rec_value_byte(i, j);
        sl_header_kv h[3];
        int nh;
        rec_headers(i, h, &nh);
        sl_batch_builder_add(&b, rec_ts(i), kl < 0 ? NULL : k, kl, vl < 0 ? NULL : val, vl, h, nh);
    }
    sl_free(val);
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void check_test_batch(const uint8_t *batch, const sl_batch_header *h, int64_t base_offset,
                             sl_buf *scratch)
{
    sl_record_iter it;
    assert_int_equal(sl_record_iter_init(&it, batch, h, scratch, 1 << 20), 0);
    sl_record r;
    int i = 0, rc;
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        assert_true(r.offset == base_offset + i);
        assert_true(r.timestamp == rec_ts(i));
        assert_int_equal(r.attributes, 0);
        char k[32];
        int32_t kl;
        rec_key(i, k, &kl);
        assert_int_equal(r.key_len, kl);
        if (kl < 0)
            assert_null(r.key);
        else if (kl > 0)
            assert_memory_equal(r.key, k, (size_t)kl);
        int32_t vl = rec_value_len(i);
        assert_int_equal(r.value_len, vl);
        if (vl < 0) assert_null(r.value);
        for (int j = 0; j < vl; j++)
            assert_int_equal(r.value[j], rec_value_byte(i, j));
        sl_header_kv want[3], got;
        int nh;
        rec_headers(i, want, &nh);
        assert_int_equal(r.header_count, nh);
        sl_header_iter hi;
        sl_header_iter_init(&hi, &r);
        for (int j = 0; j < nh; j++) {
            assert_int_equal(sl_header_iter_next(&hi, &got), 1);
            assert_int_equal(got.key_len, want[j].key_len);
            assert_memory_equal(got.key, want[j].key, (size_t)want[j].key_len);
            assert_int_equal(got.value_len, want[j].value_len);
            if (want[j].value_len < 0)
                assert_null(got.value);
            else
                assert_memory_equal(got.value, want[j].value, (size_t)want[j].value_len);
        }
        assert_int_equal(sl_header_iter_next(&hi, &got), 0);
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, NREC);
    assert_int_equal(sl_record_iter_next(&it, &r), 0); /* stays at the end */
}

static void test_roundtrip_every_codec(void **state)
{
    (void)state;
    sl_buf b, scratch;
    sl_buf_init(&b);
    sl_buf_init(&scratch);
    sl_validate_opts o;
    sl_validate_opts_default(&o);
    for (int c = 0; c <= 4; c++) {
        sl_buf_reset(&b);
        build_test_batch(&b, (enum sl_compression)c, 0);
        sl_batch_header h;
        assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL), 0);
        /* the broker stamps the offset; readers see absolute offsets */
        sl_batch_set_base_offset(b.data, 1000);
        sl_batch_iter bi;
        sl_batch_iter_init(&bi, b.data, b.len, true);
        const uint8_t *batch;
        assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
        assert_ptr_equal(batch, b.data);
        assert_int_equal(sl_batch_compression(&h), c);
        assert_true(h.base_offset == 1000);
        assert_true(sl_batch_last_offset(&h) == 1000 + NREC - 1);
        check_test_batch(batch, &h, 1000, &scratch);
        assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 0);
        assert_false(bi.truncated);
        assert_int_equal(bi.pos, b.len);
    }
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

/* Five batches (one per codec) back to back, cut at every length. */
static void test_batch_range_truncation(void **state)
{
    (void)state;
    sl_buf b, scratch;
    sl_buf_init(&b);
    sl_buf_init(&scratch);
    size_t ends[5];
    for (int c = 0; c <= 4; c++) {
        build_test_batch(&b, (enum sl_compression)c, c * NREC);
        ends[c] = b.len;
    }
    for (size_t cut = 0; cut <= b.len; cut++) {
        sl_batch_iter bi;
        sl_batch_iter_init(&bi, b.data, cut, true);
        sl_batch_header h;
        const uint8_t *batch;
        int n = 0, rc;
        while ((rc = sl_batch_iter_next(&bi, &h, &batch)) == 1)
            n++;
        assert_int_equal(rc, 0);
        int whole = 0;
        while (whole < 5 && ends[whole] <= cut)
            whole++;
        assert_int_equal(n, whole);
        assert_int_equal(bi.pos, whole ? ends[whole - 1] : 0);
        assert_int_equal(bi.truncated, cut != bi.pos);
    }
    /* and every batch's records read back */
    sl_batch_iter bi;
    sl_batch_iter_init(&bi, b.data, b.len, true);
    sl_batch_header h;
    const uint8_t *batch;
    for (int c = 0; c <= 4; c++) {
        assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
        check_test_batch(batch, &h, c * NREC, &scratch);
    }
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

static void test_batch_range_garbage(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    build_test_batch(&b, SL_COMPRESSION_NONE, 0);
    size_t one = b.len;
    build_test_batch(&b, SL_COMPRESSION_GZIP, NREC);
    size_t two = b.len;
    sl_batch_header h;
    const uint8_t *batch;
    sl_batch_iter bi;

    /* wrong magic after two good batches: corrupt, sticky */
    uint8_t junk[80];
    memset(junk, 0, sizeof junk);
    sl_store_be32(junk + 8, 68);
    junk[16] = 1;
    sl_buf_put(&b, junk, sizeof junk);
    sl_batch_iter_init(&bi, b.data, b.len, true);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), SL_ERR_CORRUPT);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), SL_ERR_CORRUPT);
    assert_int_equal(bi.pos, two);
    /* even when only the first 17 bytes of it are there */
    sl_batch_iter_init(&bi, b.data, two + 17, true);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), SL_ERR_CORRUPT);
    /* 16 bytes cannot show the magic: a truncated tail */
    sl_batch_iter_init(&bi, b.data, two + 16, true);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 0);
    assert_true(bi.truncated);
    /* batchLength below the minimum, visible after 12 bytes */
    b.len = two;
    sl_store_be32(junk + 8, 48);
    junk[16] = 2;
    sl_buf_put(&b, junk, 12);
    sl_batch_iter_init(&bi, b.data, b.len, true);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), SL_ERR_CORRUPT);

    /* a flipped byte inside the first batch: CRC catches it when asked */
    b.len = two;
    b.data[one - 5] ^= 0x40;
    sl_batch_iter_init(&bi, b.data, b.len, true);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), SL_ERR_CORRUPT);
    assert_int_equal(bi.pos, 0);
    sl_batch_iter_init(&bi, b.data, b.len, false);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 0);

    /* empty range */
    sl_batch_iter_init(&bi, b.data, 0, true);
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 0);
    assert_false(bi.truncated);
    sl_buf_fini(&b);
}

static void test_record_iter_cap_and_codec(void **state)
{
    (void)state;
    sl_buf b, scratch;
    sl_buf_init(&b);
    sl_buf_init(&scratch);
    sl_record_iter it;
    sl_record r;
    sl_batch_header h;
    for (int c = 1; c <= 4; c++) {
        sl_buf_reset(&b);
        build_test_batch(&b, (enum sl_compression)c, 0);
        assert_int_equal(sl_batch_parse_header(b.data, b.len, &h), 0);
        assert_int_equal(sl_record_iter_init(&it, b.data, &h, &scratch, 1000), SL_ERR_TOO_LARGE);
        assert_int_equal(sl_record_iter_next(&it, &r), SL_ERR_TOO_LARGE);
    }
    /* unknown codec */
    h.attributes = 6;
    assert_int_equal(sl_record_iter_init(&it, b.data, &h, &scratch, 1 << 20),
                     SL_ERR_UNSUPPORTED_COMPRESSION);
    /* corrupt compressed data */
    sl_buf_reset(&b);
    build_test_batch(&b, SL_COMPRESSION_ZSTD, 0);
    memset(b.data + SL_BATCH_HEADER_SIZE, 0x55, 8);
    assert_int_equal(sl_batch_parse_header(b.data, b.len, &h), 0);
    assert_int_equal(sl_record_iter_init(&it, b.data, &h, &scratch, 1 << 20), SL_ERR_CORRUPT);
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

/* A batch around hand-written records with the given offset deltas. */
static void gap_batch(sl_buf *out, const int32_t *deltas, int n, int32_t count, int32_t last)
{
    sl_buf recs;
    sl_buf_init(&recs);
    for (int i = 0; i < n; i++) {
        sl_buf_put_varint(&recs, 3 + (int32_t)sl_varint_size(deltas[i]) + 3);
        sl_buf_put_i8(&recs, 0);
        sl_buf_put_varlong(&recs, 0);
        sl_buf_put_varint(&recs, deltas[i]);
        sl_buf_put_varint(&recs, -1);
        sl_buf_put_varint(&recs, 1);
        sl_buf_put_i8(&recs, 'x');
        sl_buf_put_varint(&recs, 0);
    }
    sl_test_batch f = sl_test_batch_plain(count, TS0);
    f.base_offset = 500;
    f.leader_epoch = 0;
    f.last_offset_delta = last;
    sl_buf_reset(out);
    sl_test_raw_batch(out, &f, recs.data, recs.len);
    sl_buf_fini(&recs);
}

static int read_offsets(const sl_buf *b, int64_t *offs, int max)
{
    sl_batch_iter bi;
    sl_batch_iter_init(&bi, b->data, b->len, true);
    sl_batch_header h;
    const uint8_t *batch;
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    sl_record_iter it;
    assert_int_equal(sl_record_iter_init(&it, batch, &h, NULL, 0), 0);
    sl_record r;
    int n = 0, rc;
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        assert_true(n < max);
        assert_true(r.value_len == 1 && r.value[0] == 'x');
        offs[n++] = r.offset;
    }
    return rc < 0 ? rc : n;
}

static void test_compacted_gaps(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    int64_t offs[8];
    const int32_t gaps[] = {0, 3, 5};
    gap_batch(&b, gaps, 3, 3, 5);
    assert_int_equal(read_offsets(&b, offs, 8), 3);
    assert_true(offs[0] == 500 && offs[1] == 503 && offs[2] == 505);
    /* the produce path would refuse it */
    sl_validate_opts o;
    sl_validate_opts_default(&o);
    sl_batch_header h;
    assert_int_equal(sl_batch_validate(b.data, b.len, &o, &h, NULL, NULL), SL_ERR_INVALID_RECORD);
    /* deltas must increase and stay within lastOffsetDelta */
    const int32_t back[] = {0, 3, 3};
    gap_batch(&b, back, 3, 3, 5);
    assert_int_equal(read_offsets(&b, offs, 8), SL_ERR_CORRUPT);
    const int32_t past[] = {0, 3, 6};
    gap_batch(&b, past, 3, 3, 5);
    assert_int_equal(read_offsets(&b, offs, 8), SL_ERR_CORRUPT);
    /* count vs records present */
    gap_batch(&b, gaps, 3, 2, 5);
    assert_int_equal(read_offsets(&b, offs, 8), SL_ERR_CORRUPT);
    gap_batch(&b, gaps, 2, 3, 5);
    assert_int_equal(read_offsets(&b, offs, 8), SL_ERR_CORRUPT);
    /* compaction can empty a batch entirely */
    gap_batch(&b, gaps, 0, 0, 5);
    assert_int_equal(read_offsets(&b, offs, 8), 0);
    /* a negative count is corrupt */
    gap_batch(&b, gaps, 0, -1, 5);
    sl_batch_iter bi;
    sl_batch_iter_init(&bi, b.data, b.len, true);
    const uint8_t *batch;
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    sl_record_iter it;
    assert_int_equal(sl_record_iter_init(&it, batch, &h, NULL, 0), SL_ERR_CORRUPT);
    sl_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_codec),
        cmocka_unit_test(test_batch_range_truncation),
        cmocka_unit_test(test_batch_range_garbage),
        cmocka_unit_test(test_record_iter_cap_and_codec),
        cmocka_unit_test(test_compacted_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
