/* Produce-path validation cost: one ~16 KiB batch validated over and over.
 *
 * Cases: records with 100-byte and 1 KiB values, uncompressed, validated
 * shallow ("crc-only": framing, header rules and the CRC-32C pass) and deep
 * (plus the walk over every record); lz4 and zstd deep for comparison (they
 * decompress into a reused scratch buffer first); and a bare CRC-32C pass
 * over the same bytes as the floor. Prints MB/s of batch bytes and records/s.
 *
 *   build/bench/bench_record_validate [seconds-per-case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "record/builder.h"
#include "record/codec.h"
#include "record/validate.h"

#define BATCH_TARGET (16 * 1024)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills `out` with one batch of ~16 KiB of records carrying `value_size`
 * byte values and 8-byte keys; returns the record count. */
static int build_batch(sl_buf *out, size_t value_size, enum sl_compression c)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    o.compression = c;
    o.producer_id = 1;
    o.producer_epoch = 0;
    o.base_sequence = 0;
    sl_batch_builder b;
    sl_batch_builder_begin(&b, out, &o);
    uint8_t *val = malloc(value_size);
    int n = 0;
    size_t approx = 0;
    unsigned x = 12345;
    while (approx + value_size + 20 <= BATCH_TARGET - 61) {
        /* JSON-ish values: compressible like real payloads, not trivially */
        for (size_t i = 0; i < value_size; i++) {
            x = x * 1103515245u + 12345u;
            val[i] = (i % 8 < 5) ? (uint8_t)("{\"id\":"[i % 6]) : (uint8_t)('0' + (x >> 28) % 10);
        }
        char key[16];
        snprintf(key, sizeof key, "k%07d", n);
        sl_batch_builder_add(&b, 1700000000000LL + n, key, 8, val, (int32_t)value_size, NULL, 0);
        approx += value_size + 20;
        n++;
    }
    free(val);
    if (sl_batch_builder_finish(&b) < 0) {
        fprintf(stderr, "build failed\n");
        exit(1);
    }
    return n;
}

static void run_case(const char *label, size_t value_size, enum sl_compression c, int mode,
                     double secs)
{
    sl_buf batch, scratch;
    sl_buf_init(&batch);
    sl_buf_init(&scratch);
    int nrec = build_batch(&batch, value_size, c);
    sl_validate_opts o;
    sl_validate_opts_default(&o);
    o.deep = mode >= 2;
    if (mode == 3) o.codec_ctx = sl_codec_ctx_new();
    o.now_ms = 1700000000000LL;
    o.max_timestamp_diff_ms = 3600 * 1000;
    sl_batch_header h;
    uint64_t iters = 0;
    unsigned sink = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 256; i++) {
            if (mode == 0) {
                sink += sl_crc32c(batch.data + 21, batch.len - 21);
            } else if (sl_batch_validate(batch.data, batch.len, &o, &h, &scratch, NULL) != 0) {
                fprintf(stderr, "%s: validation failed\n", label);
                exit(1);
            }
        }
        iters += 256;
        t = now_s() - t0;
    } while (t < secs);
    double mb = (double)batch.len * (double)iters / t / 1e6;
    double rps = (double)nrec * (double)iters / t;
    printf("%-26s value=%4zuB batch=%6zuB records=%4d  %9.1f MB/s  %12.0f records/s  %7.1f "
           "ns/record\n",
           label, value_size, batch.len, nrec, mb, rps, 1e9 / rps);
    if (sink == 1) printf(" ");
    sl_codec_ctx_free(o.codec_ctx);
    sl_buf_fini(&batch);
    sl_buf_fini(&scratch);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    if (secs <= 0) secs = 0.5;
    printf("record batch validation, one ~16 KiB batch repeated, %.1fs per case\n", secs);
    const size_t sizes[2] = {100, 1024};
    for (int s = 0; s < 2; s++) {
        run_case("crc32c alone (floor)", sizes[s], SL_COMPRESSION_NONE, 0, secs);
        run_case("validate crc-only", sizes[s], SL_COMPRESSION_NONE, 1, secs);
        run_case("validate deep", sizes[s], SL_COMPRESSION_NONE, 2, secs);
        run_case("validate deep gzip", sizes[s], SL_COMPRESSION_GZIP, 2, secs);
        run_case("validate deep gzip +ctx", sizes[s], SL_COMPRESSION_GZIP, 3, secs);
        run_case("validate deep snappy", sizes[s], SL_COMPRESSION_SNAPPY, 2, secs);
        run_case("validate deep lz4", sizes[s], SL_COMPRESSION_LZ4, 2, secs);
        run_case("validate deep lz4 +ctx", sizes[s], SL_COMPRESSION_LZ4, 3, secs);
        run_case("validate deep zstd", sizes[s], SL_COMPRESSION_ZSTD, 2, secs);
        run_case("validate deep zstd +ctx", sizes[s], SL_COMPRESSION_ZSTD, 3, secs);
    }
    return 0;
}
