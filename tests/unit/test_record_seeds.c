/* Seed batches for tests/fuzz/fuzz_batch, and a check of what each one is.
 *
 * Every seed is built here and validated with the options the fuzz target
 * uses, against the result it is meant to exercise. With SL_WRITE_CORPUS=DIR
 * in the environment the seeds are also written to DIR (one file each);
 * that is how tests/fuzz/corpus/fuzz_batch/seed-* were made:
 *   SL_WRITE_CORPUS=tests/fuzz/corpus/fuzz_batch build/tests/unit_test_record_seeds
 * The cov-* files beside them are inputs the fuzzer found that reach code the
 * seeds do not (kept with libFuzzer's -merge=1), so `make test` replays them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "record/builder.h"
#include "record/codec.h"
#include "record/iter.h"
#include "record/validate.h"
#include "record_testutil.h"

#define TS0 1700000000000LL

typedef void (*seed_fn)(sl_buf *out);

/* A few records with keys, null values and headers. */
static void add_mixed(sl_batch_builder *b, int n)
{
    sl_header_kv hs[2] = {{"trace-id", 8, "abc123", 6}, {"empty", 5, NULL, -1}};
    for (int i = 0; i < n; i++) {
        char k[16], v[64];
        int kl = snprintf(k, sizeof k, "user-%d", i);
        int vl = snprintf(v, sizeof v, "{\"n\":%d,\"text\":\"hello sluice\"}", i);
        sl_batch_builder_add(b, TS0 + i * 3 - 2, i == 2 ? NULL : k, i == 2 ? -1 : kl,
                             i == 3 ? NULL : v, i == 3 ? -1 : vl, hs, i % 3);
    }
}

static void mixed(sl_buf *out, enum sl_compression c)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    o.compression = c;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    add_mixed(&b, 6);
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void seed_none(sl_buf *out)
{
    mixed(out, SL_COMPRESSION_NONE);
}
static void seed_gzip(sl_buf *out)
{
    mixed(out, SL_COMPRESSION_GZIP);
}
static void seed_snappy(sl_buf *out)
{
    mixed(out, SL_COMPRESSION_SNAPPY);
}
static void seed_lz4(sl_buf *out)
{
    mixed(out, SL_COMPRESSION_LZ4);
}
static void seed_zstd(sl_buf *out)
{
    mixed(out, SL_COMPRESSION_ZSTD);
}

static void seed_example(sl_buf *out)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    o.leader_epoch = 0;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    sl_batch_builder_add(&b, TS0, NULL, -1, "hi", 2, NULL, 0);
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void seed_control(sl_buf *out)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    o.extra_attributes = SL_BATCH_ATTR_TRANSACTIONAL | SL_BATCH_ATTR_CONTROL;
    o.producer_id = 9;
    o.producer_epoch = 1;
    o.base_sequence = 0;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    const uint8_t key[4] = {0, 0, 0, 1}, val[6] = {0, 0, 0, 0, 0, 3};
    sl_batch_builder_add(&b, TS0, key, 4, val, 6, NULL, 0);
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void seed_idempotent(sl_buf *out)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    o.producer_id = 1234;
    o.producer_epoch = 0;
    o.base_sequence = 100;
    o.compression = SL_COMPRESSION_LZ4;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    add_mixed(&b, 4);
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void seed_log_append_time(sl_buf *out)
{
    mixed(out, SL_COMPRESSION_NONE);
    assert_int_equal(sl_batch_set_log_append_time(out->data, out->len, TS0 + 5), 0);
}

/* Appends a plain batch around an arbitrary records section. */
static void raw_batch(sl_buf *out, int16_t attr, int32_t count, const void *rec, size_t n)
{
    sl_test_batch f = sl_test_batch_plain(count, TS0);
    f.attributes = attr;
    sl_test_raw_batch(out, &f, rec, n);
}

/* The records section of a `mixed` batch, to wrap other ways. */
static void mixed_records(sl_buf *rec, int *count)
{
    sl_buf b;
    sl_buf_init(&b);
    mixed(&b, SL_COMPRESSION_NONE);
    sl_buf_put(rec, b.data + SL_BATCH_HEADER_SIZE, b.len - SL_BATCH_HEADER_SIZE);
    *count = (int)sl_load_be32(b.data + SL_BATCH_OFF_RECORDS_COUNT);
    sl_buf_fini(&b);
}

/* Snappy in the Java client's xerial framing, two chunks. */
static void seed_snappy_xerial(sl_buf *out)
{
    sl_buf rec, x;
    sl_buf_init(&rec);
    sl_buf_init(&x);
    int count;
    mixed_records(&rec, &count);
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    sl_buf_put(&x, magic, 8);
    sl_buf_put_i32(&x, 1);
    sl_buf_put_i32(&x, 1);
    size_t half = rec.len / 2;
    for (int i = 0; i < 2; i++) {
        const uint8_t *p = rec.data + (i ? half : 0);
        size_t n = i ? rec.len - half : half;
        size_t cap = snappy_max_compressed_length(n);
        char *tmp = sl_malloc(cap);
        assert_int_equal(snappy_compress((const char *)p, n, tmp, &cap), SNAPPY_OK);
        sl_buf_put_i32(&x, (int32_t)cap);
        sl_buf_put(&x, tmp, cap);
        sl_free(tmp);
    }
    raw_batch(out, SL_COMPRESSION_SNAPPY, count, x.data, x.len);
    sl_buf_fini(&rec);
    sl_buf_fini(&x);
}

/* gzip with two members, as some encoders write. */
static void seed_gzip_two_members(sl_buf *out)
{
    sl_buf rec, z;
    sl_buf_init(&rec);
    sl_buf_init(&z);
    int count;
    mixed_records(&rec, &count);
    size_t half = rec.len / 2;
    assert_int_equal(sl_compress(SL_COMPRESSION_GZIP, rec.data, half, &z), 0);
    assert_int_equal(sl_compress(SL_COMPRESSION_GZIP, rec.data + half, rec.len - half, &z), 0);
    raw_batch(out, SL_COMPRESSION_GZIP, count, z.data, z.len);
    sl_buf_fini(&rec);
    sl_buf_fini(&z);
}

/* 2 MiB of zeros in one record, zstd: above the fuzz target's 1 MiB cap. */
static void seed_zstd_over_cap(sl_buf *out)
{
    size_t n = 2 << 20;
    uint8_t *zeros = calloc(1, n);
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    o.compression = SL_COMPRESSION_ZSTD;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    sl_batch_builder_add(&b, TS0, "k", 1, zeros, (int32_t)n, NULL, 0);
    assert_true(sl_batch_builder_finish(&b) > 0);
    free(zeros);
}

static void seed_many_small(sl_buf *out)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    o.compression = SL_COMPRESSION_LZ4;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    for (int i = 0; i < 200; i++)
        sl_batch_builder_add(&b, TS0 + i, NULL, -1, &i, 1, NULL, 0);
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void seed_empty_fields(sl_buf *out)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    sl_header_kv h = {"", 0, "", 0};
    sl_batch_builder_add(&b, -1, "", 0, "", 0, &h, 1);
    sl_batch_builder_add(&b, -1, NULL, -1, NULL, -1, NULL, 0);
    assert_true(sl_batch_builder_finish(&b) > 0);
}

static void seed_two_batches(sl_buf *out)
{
    seed_example(out);
    mixed(out, SL_COMPRESSION_SNAPPY);
}

static void seed_truncated(sl_buf *out)
{
    seed_example(out);
    mixed(out, SL_COMPRESSION_NONE);
    out->len -= 30;
}

/* Offsets 0, 2, 7 as compaction leaves them: readable, not producible. */
static void seed_compacted(sl_buf *out)
{
    sl_buf rec;
    sl_buf_init(&rec);
    const int32_t deltas[3] = {0, 2, 7};
    for (int i = 0; i < 3; i++) {
        sl_buf_put_varint(&rec, 7);
        sl_buf_put_i8(&rec, 0);
        sl_buf_put_varlong(&rec, i);
        sl_buf_put_varint(&rec, deltas[i]);
        sl_buf_put_varint(&rec, 1);
        sl_buf_put_i8(&rec, 'K');
        sl_buf_put_varint(&rec, -1);
        sl_buf_put_varint(&rec, 0);
    }
    raw_batch(out, 0, 3, rec.data, rec.len);
    sl_store_be32(out->data + SL_BATCH_OFF_LAST_OFFSET_DELTA, 7);
    sl_batch_update_crc(out->data, out->len);
    sl_buf_fini(&rec);
}

static void seed_null_header_key(sl_buf *out)
{
    const uint8_t rec[] = {0x10, 0, 0, 0, 1, 1, 2, 1, 1};
    raw_batch(out, 0, 1, rec, sizeof rec);
}

static void seed_bad_crc(sl_buf *out)
{
    seed_example(out);
    out->data[out->len - 2] ^= 1;
}

static const struct seed {
    const char *name;
    seed_fn make;
    int expect; /* sl_batch_validate result with the fuzz target's options */
} seeds[] = {
    {"seed-example", seed_example, 0},
    {"seed-none-headers", seed_none, 0},
    {"seed-gzip", seed_gzip, 0},
    {"seed-snappy-raw", seed_snappy, 0},
    {"seed-lz4", seed_lz4, 0},
    {"seed-zstd", seed_zstd, 0},
    {"seed-control", seed_control, 0},
    {"seed-idempotent-lz4", seed_idempotent, 0},
    {"seed-log-append-time", seed_log_append_time, 0},
    {"seed-snappy-xerial", seed_snappy_xerial, 0},
    {"seed-gzip-two-members", seed_gzip_two_members, 0},
    {"seed-zstd-over-cap", seed_zstd_over_cap, SL_ERR_TOO_LARGE},
    {"seed-lz4-many-small", seed_many_small, 0},
    {"seed-empty-fields", seed_empty_fields, 0},
    {"seed-two-batches", seed_two_batches, SL_ERR_INVALID_RECORD},
    {"seed-truncated", seed_truncated, SL_ERR_INVALID_RECORD},
    {"seed-compacted", seed_compacted, SL_ERR_INVALID_RECORD},
    {"seed-null-header-key", seed_null_header_key, SL_ERR_INVALID_RECORD},
    {"seed-bad-crc", seed_bad_crc, SL_ERR_CORRUPT},
};

static void test_seeds(void **state)
{
    (void)state;
    const char *dir = getenv("SL_WRITE_CORPUS");
    sl_validate_opts o;
    sl_validate_opts_default(&o);
    o.max_decompressed_bytes = 1 << 20;
    o.allow_control = true;
    o.now_ms = TS0;
    o.max_timestamp_diff_ms = 7LL * 24 * 3600 * 1000;
    sl_buf b, scratch;
    sl_buf_init(&b);
    sl_buf_init(&scratch);
    for (size_t i = 0; i < SL_ARRAY_LEN(seeds); i++) {
        sl_buf_reset(&b);
        seeds[i].make(&b);
        sl_batch_header h;
        int rc = sl_batch_validate(b.data, b.len, &o, &h, &scratch, NULL);
        if (rc != seeds[i].expect)
            fail_msg("%s: validate gave %d, expected %d", seeds[i].name, rc, seeds[i].expect);
        assert_true(b.len < 64 * 1024); /* seeds stay small */
        if (dir) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, seeds[i].name);
            FILE *f = fopen(path, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
            fclose(f);
        }
    }
    sl_buf_fini(&scratch);
    sl_buf_fini(&b);
}

/* The readable-but-not-producible seeds read back as intended. */
static void test_compacted_seed_reads(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    seed_compacted(&b);
    sl_batch_iter bi;
    sl_batch_iter_init(&bi, b.data, b.len, true);
    sl_batch_header h;
    const uint8_t *batch;
    assert_int_equal(sl_batch_iter_next(&bi, &h, &batch), 1);
    sl_record_iter it;
    assert_int_equal(sl_record_iter_init(&it, batch, &h, NULL, 0), 0);
    sl_record r;
    int64_t want[3] = {0, 2, 7};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sl_record_iter_next(&it, &r), 1);
        assert_true(r.offset == want[i] && r.timestamp == TS0 + i);
        assert_true(r.key_len == 1 && r.key[0] == 'K' && r.value == NULL);
    }
    assert_int_equal(sl_record_iter_next(&it, &r), 0);
    sl_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_compacted_seed_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
