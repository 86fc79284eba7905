/* Unit tests for src/record/codec.c: round trips of every codec, the exact
 * output cap, xerial snappy framing, truncated and garbage inputs, and a
 * decompression bomb per codec built here with the libraries' own
 * (streaming) compressors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "record/codec.h"

static const enum sl_compression codecs[] = {SL_COMPRESSION_NONE, SL_COMPRESSION_GZIP,
                                             SL_COMPRESSION_SNAPPY, SL_COMPRESSION_LZ4,
                                             SL_COMPRESSION_ZSTD};
static const enum sl_compression real_codecs[] = {SL_COMPRESSION_GZIP, SL_COMPRESSION_SNAPPY,
                                                  SL_COMPRESSION_LZ4, SL_COMPRESSION_ZSTD};

#define ONE_GIB ((uint64_t)1 << 30)
#define MIB     ((size_t)1 << 20)

/* Deterministic test data: half text-like (compressible), half noise. */
static uint8_t *make_data(size_t n, uint32_t seed)
{
    uint8_t *d = sl_malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        d[i] = (i / 512) % 2 ? (uint8_t)(x >> 24) : (uint8_t)("sluice records "[i % 15]);
    }
    return d;
}

static void roundtrip(enum sl_compression c, const uint8_t *data, size_t n)
{
    sl_buf z, out;
    sl_buf_init(&z);
    sl_buf_init(&out);
    assert_int_equal(sl_compress(c, data, n, &z), 0);
    /* exact cap is enough */
    int64_t got = sl_decompress(c, z.data, z.len, n, &out);
    assert_int_equal(got, (int64_t)n);
    assert_int_equal(out.len, n);
    if (n) assert_memory_equal(out.data, data, n);
    /* one byte less is refused and leaves out untouched */
    if (n > 0) {
        sl_buf_reset(&out);
        sl_buf_put(&out, "prefix", 6);
        assert_int_equal(sl_decompress(c, z.data, z.len, n - 1, &out), SL_ERR_TOO_LARGE);
        assert_int_equal(out.len, 6);
        /* appending after existing bytes */
        assert_int_equal(sl_decompress(c, z.data, z.len, n + 100, &out), (int64_t)n);
        assert_memory_equal(out.data, "prefix", 6);
        assert_memory_equal(out.data + 6, data, n);
    }
    sl_buf_fini(&z);
    sl_buf_fini(&out);
}

static void test_roundtrip_all_codecs(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 15, 100, 4096, 65535, 65536, 65537, 300000, 3 * MIB + 17};
    for (size_t s = 0; s < SL_ARRAY_LEN(sizes); s++) {
        uint8_t *d = make_data(sizes[s], (uint32_t)s);
        for (size_t c = 0; c < SL_ARRAY_LEN(codecs); c++)
            roundtrip(codecs[c], d, sizes[s]);
        sl_free(d);
    }
}

static void test_compression_shrinks(void **state)
{
    (void)state;
    uint8_t *zeros = calloc(1, 100000);
    for (size_t c = 0; c < SL_ARRAY_LEN(real_codecs); c++) {
        sl_buf z;
        sl_buf_init(&z);
        assert_int_equal(sl_compress(real_codecs[c], zeros, 100000, &z), 0);
        assert_true(z.len < 10000);
        sl_buf_fini(&z);
    }
    free(zeros);
}

static void test_unknown_codec(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    for (int c = 5; c <= 7; c++) {
        assert_int_equal(sl_compress((enum sl_compression)c, "x", 1, &b),
                         SL_ERR_UNSUPPORTED_COMPRESSION);
        assert_int_equal(sl_decompress((enum sl_compression)c, "x", 1, 100, &b),
                         SL_ERR_UNSUPPORTED_COMPRESSION);
    }
    assert_int_equal(b.len, 0);
    sl_buf_fini(&b);
}

/* Java client framing: magic, version 1, compatible version 1, then
 * [int32 BE length][raw snappy] chunks. */
static void xerial_encode(const uint8_t *d, size_t n, size_t chunk, sl_buf *out)
{
    static const uint8_t magic[8] = {0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00};
    sl_buf_put(out, magic, 8);
    sl_buf_put_i32(out, 1);
    sl_buf_put_i32(out, 1);
    for (size_t off = 0; off < n; off += chunk) {
        size_t m = n - off < chunk ? n - off : chunk;
        size_t cap = snappy_max_compressed_length(m);
        uint8_t *tmp = sl_malloc(cap);
        assert_int_equal(snappy_compress((const char *)d + off, m, (char *)tmp, &cap), SNAPPY_OK);
        sl_buf_put_i32(out, (int32_t)cap);
        sl_buf_put(out, tmp, cap);
        sl_free(tmp);
    }
}

static void test_snappy_xerial(void **state)
{
    (void)state;
    size_t n = 200000;
    uint8_t *d = make_data(n, 7);
    sl_buf x, out;
    sl_buf_init(&x);
    sl_buf_init(&out);
    xerial_encode(d, n, 32768, &x);
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, x.data, x.len, n, &out), (int64_t)n);
    assert_memory_equal(out.data, d, n);
    /* the cap spans chunks */
    sl_buf_reset(&out);
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, x.data, x.len, n - 1, &out),
                     SL_ERR_TOO_LARGE);
    assert_int_equal(out.len, 0);
    /* header only: no chunks, no data */
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, x.data, 16, n, &out), 0);
    /* a chunk length past the end */
    uint8_t *bad = sl_malloc(x.len);
    memcpy(bad, x.data, x.len);
    sl_store_be32(bad + 16, 0x7fffffff);
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, bad, x.len, n, &out), SL_ERR_CORRUPT);
    /* a partial chunk length word */
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, x.data, 18, n, &out), SL_ERR_CORRUPT);
    /* a corrupt chunk body */
    memcpy(bad, x.data, x.len);
    memset(bad + 20, 0xff, 8);
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, bad, x.len, n, &out), SL_ERR_CORRUPT);
    assert_int_equal(out.len, 0);
    sl_free(bad);
    sl_free(d);
    sl_buf_fini(&x);
    sl_buf_fini(&out);
}

/* Every proper prefix of a compressed stream, and garbage, must be refused
 * as corrupt; never crash, never succeed. */
static void test_truncated_and_garbage(void **state)
{
    (void)state;
    size_t n = 5000;
    uint8_t *d = make_data(n, 3);
    sl_buf out;
    sl_buf_init(&out);
    for (size_t c = 0; c < SL_ARRAY_LEN(real_codecs); c++) {
        sl_buf z;
        sl_buf_init(&z);
        assert_int_equal(sl_compress(real_codecs[c], d, n, &z), 0);
        for (size_t cut = 0; cut < z.len; cut++) {
            sl_buf_reset(&out);
            int64_t rc = sl_decompress(real_codecs[c], z.data, cut, n, &out);
            if (rc != SL_ERR_CORRUPT)
                fail_msg("codec %d prefix %zu/%zu gave %lld", real_codecs[c], cut, z.len,
                         (long long)rc);
            assert_int_equal(out.len, 0);
        }
        /* trailing garbage after a complete stream */
        sl_buf_put(&z, "garbage!", 8);
        sl_buf_reset(&out);
        assert_int_equal(sl_decompress(real_codecs[c], z.data, z.len, n, &out), SL_ERR_CORRUPT);
        /* flipped bytes: may decode to something else (no checksum in every
         * format) but must stay within the cap or fail cleanly */
        sl_buf_reset(&z);
        assert_int_equal(sl_compress(real_codecs[c], d, n, &z), 0);
        for (size_t i = 0; i < z.len; i += 7) {
            z.data[i] ^= 0x5a;
            sl_buf_reset(&out);
            int64_t rc = sl_decompress(real_codecs[c], z.data, z.len, n, &out);
            assert_true(rc == SL_ERR_CORRUPT || rc == SL_ERR_TOO_LARGE ||
                        (rc >= 0 && (size_t)rc <= n));
            if (rc < 0) assert_int_equal(out.len, 0);
            z.data[i] ^= 0x5a;
        }
        sl_buf_fini(&z);
    }
    uint8_t *noise = make_data(4096, 99);
    for (size_t i = 0; i < 4096; i++)
        noise[i] ^= (uint8_t)(i * 31);
    for (size_t c = 0; c < SL_ARRAY_LEN(real_codecs); c++) {
        sl_buf_reset(&out);
        assert_int_equal(sl_decompress(real_codecs[c], noise, 4096, MIB, &out), SL_ERR_CORRUPT);
    }
    sl_free(noise);
    sl_free(d);
    sl_buf_fini(&out);
}

/* A refused bomb leaves out empty and never grew it much past the cap. */
static void expect_bomb_refused(enum sl_compression c, const uint8_t *bomb, size_t len, size_t cap)
{
    sl_buf out;
    sl_buf_init(&out);
    assert_int_equal(sl_decompress(c, bomb, len, cap, &out), SL_ERR_TOO_LARGE);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= 2 * cap || out.cap <= 256); /* 256: sl_buf's first allocation */
    sl_buf_fini(&out);
}

static void expect_zeros(enum sl_compression c, const uint8_t *z, size_t len, size_t n)
{
    sl_buf out;
    sl_buf_init(&out);
    assert_int_equal(sl_decompress(c, z, len, n, &out), (int64_t)n);
    for (size_t i = 0; i < n; i++)
        if (out.data[i] != 0) fail_msg("byte %zu is %d", i, out.data[i]);
    sl_buf_fini(&out);
}

/* gzip: deflate's ratio tops out near 1032:1, so 1 GiB needs ~1 MiB of
 * input. After a full flush deflate forgets its history, so the block of
 * one flushed MiB of zeros is self-contained and can be repeated; header and
 * trailer (CRC-32 and size of 1 GiB of zeros) make it a valid gzip stream. */
static void gzip_bomb(uint64_t total, sl_buf *out)
{
    const size_t chunk = MIB;
    uint8_t *zeros = calloc(1, chunk);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t *blk = sl_malloc(chunk);
    z.next_in = zeros;
    z.avail_in = (uInt)chunk;
    z.next_out = blk;
    z.avail_out = (uInt)chunk;
    assert_int_equal(deflate(&z, Z_FULL_FLUSH), Z_OK);
    assert_int_equal(z.avail_in, 0);
    size_t blk_len = chunk - z.avail_out;
    static const uint8_t hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    sl_buf_put(out, hdr, sizeof hdr);
    uLong crc1 = crc32(0, zeros, (uInt)chunk), crc = crc32(0, Z_NULL, 0);
    for (uint64_t done = 0; done < total; done += chunk) {
        sl_buf_put(out, blk, blk_len);
        crc = crc32_combine(crc, crc1, (z_off_t)chunk);
    }
    z.next_in = zeros;
    z.avail_in = 0;
    z.next_out = blk;
    z.avail_out = (uInt)chunk;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    sl_buf_put(out, blk, chunk - z.avail_out); /* final empty block */
    uint8_t trailer[8];
    for (int i = 0; i < 4; i++) {
        trailer[i] = (uint8_t)(crc >> (8 * i));
        trailer[4 + i] = (uint8_t)(total >> (8 * i));
    }
    sl_buf_put(out, trailer, 8);
    deflateEnd(&z);
    sl_free(blk);
    free(zeros);
}

static void test_bomb_gzip(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    gzip_bomb(3 * MIB, &b); /* the construction is a valid stream */
    expect_zeros(SL_COMPRESSION_GZIP, b.data, b.len, 3 * MIB);
    sl_buf_reset(&b);
    gzip_bomb(ONE_GIB, &b);
    assert_true(b.len < 1200 * 1024);
    expect_bomb_refused(SL_COMPRESSION_GZIP, b.data, b.len, 4 * MIB);
    expect_bomb_refused(SL_COMPRESSION_GZIP, b.data, b.len, 1000);
    sl_buf_fini(&b);
}

/* lz4: ratio ~255:1 per block; independent 4 MiB blocks of zeros repeat. */
static void lz4_bomb(uint64_t total, sl_buf *out)
{
    const size_t blk = 4 * MIB;
    LZ4F_cctx *cctx;
    assert_false(LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max4MB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    uint8_t *zeros = calloc(1, blk);
    size_t cap = LZ4F_compressBound(blk, &prefs) + 64;
    uint8_t *tmp = sl_malloc(cap);
    size_t n = LZ4F_compressBegin(cctx, tmp, cap, &prefs);
    assert_false(LZ4F_isError(n));
    sl_buf_put(out, tmp, n);
    n = LZ4F_compressUpdate(cctx, tmp, cap, zeros, blk, NULL);
    assert_false(LZ4F_isError(n));
    assert_true(n > 0 && n < blk / 200);
    for (uint64_t done = 0; done < total; done += blk)
        sl_buf_put(out, tmp, n);
    n = LZ4F_compressEnd(cctx, tmp, cap, NULL);
    assert_false(LZ4F_isError(n));
    sl_buf_put(out, tmp, n);
    LZ4F_freeCompressionContext(cctx);
    sl_free(tmp);
    free(zeros);
}

static void test_bomb_lz4(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    lz4_bomb(8 * MIB, &b);
    expect_zeros(SL_COMPRESSION_LZ4, b.data, b.len, 8 * MIB);
    sl_buf_reset(&b);
    lz4_bomb(ONE_GIB, &b);
    assert_true(b.len < 5 * MIB);
    expect_bomb_refused(SL_COMPRESSION_LZ4, b.data, b.len, 4 * MIB);
    expect_bomb_refused(SL_COMPRESSION_LZ4, b.data, b.len, 100);
    sl_buf_fini(&b);
}

/* zstd: blocks of 128 KiB zeros become 4-byte RLE blocks after the first,
 * so 1 GiB fits in ~32 KiB. window_log 0 keeps the library's default. */
static void zstd_bomb(uint64_t total, int window_log, sl_buf *out)
{
    const size_t blk = 128 * 1024;
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    if (window_log)
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log)));
    uint8_t *zeros = calloc(1, blk);
    size_t cap = ZSTD_compressBound(blk) + 64;
    uint8_t *first = sl_malloc(cap), *rep = sl_malloc(cap), *again = sl_malloc(cap);
    size_t lens[3];
    uint8_t *bufs[3] = {first, rep, again};
    for (int i = 0; i < 3; i++) {
        ZSTD_inBuffer in = {zeros, blk, 0};
        ZSTD_outBuffer o = {bufs[i], cap, 0};
        assert_int_equal(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_flush), 0);
        lens[i] = o.pos;
    }
    /* the encoder reached a fixed point: the repeated block is stable */
    assert_int_equal(lens[1], lens[2]);
    assert_memory_equal(rep, again, lens[1]);
    sl_buf_put(out, first, lens[0]);
    for (uint64_t done = blk; done < total; done += blk)
        sl_buf_put(out, rep, lens[1]);
    ZSTD_inBuffer in = {zeros, 0, 0};
    ZSTD_outBuffer o = {first, cap, 0};
    assert_int_equal(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end), 0);
    sl_buf_put(out, first, o.pos);
    ZSTD_freeCCtx(cctx);
    sl_free(first);
    sl_free(rep);
    sl_free(again);
    free(zeros);
}

static void test_bomb_zstd(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    zstd_bomb(2 * MIB, 0, &b);
    expect_zeros(SL_COMPRESSION_ZSTD, b.data, b.len, 2 * MIB);
    sl_buf_reset(&b);
    zstd_bomb(ONE_GIB, 0, &b);
    assert_true(b.len < 64 * 1024);
    /* default 2 MiB window: streaming path with a 4 MiB cap, one-pass
     * fallback (window above the cap) with 1 MiB and 1000 bytes */
    expect_bomb_refused(SL_COMPRESSION_ZSTD, b.data, b.len, 4 * MIB);
    expect_bomb_refused(SL_COMPRESSION_ZSTD, b.data, b.len, MIB);
    expect_bomb_refused(SL_COMPRESSION_ZSTD, b.data, b.len, 1000);
    /* small window: streaming path even with a small cap */
    sl_buf_reset(&b);
    zstd_bomb(ONE_GIB, 17, &b);
    expect_bomb_refused(SL_COMPRESSION_ZSTD, b.data, b.len, 256 * 1024);
    sl_buf_fini(&b);
}

/* A zstd frame whose header claims a 1 GiB content size (single segment,
 * so the window is that size too) over blocks holding 1000 bytes: the
 * declared size must never size an allocation. */
static void test_zstd_lying_content_size(void **state)
{
    (void)state;
    uint8_t *d = make_data(1000, 5);
    size_t cap = ZSTD_compressBound(1000);
    uint8_t *z = sl_malloc(cap);
    size_t n = ZSTD_compress(z, cap, d, 1000, 3);
    assert_false(ZSTD_isError(n));
    sl_buf out;
    sl_buf_init(&out);
    assert_int_equal(sl_decompress(SL_COMPRESSION_ZSTD, z, n, 1000, &out), 1000);
    /* Frame header: magic(4) FHD(1) [window(1) unless single segment]
     * [dictID(0/1/2/4)] [FCS(0-or-1/2/4/8)]. */
    uint8_t fhd = z[4];
    int fcs_flag = fhd >> 6, single = (fhd >> 5) & 1, did_flag = fhd & 3;
    static const int did_size[4] = {0, 1, 2, 4};
    static const int fcs_size[4] = {0, 2, 4, 8};
    assert_int_equal(did_flag, 0);
    int fcs_len = fcs_flag == 0 ? single : fcs_size[fcs_flag];
    size_t hdr_len = 5 + (single ? 0 : 1) + (size_t)did_size[did_flag] + (size_t)fcs_len;
    sl_buf lie;
    sl_buf_init(&lie);
    sl_buf_put(&lie, z, 4);
    sl_buf_put_i8(&lie, (int8_t)((2 << 6) | (1 << 5) | (fhd & 0x04))); /* keep checksum flag */
    uint8_t fcs[4] = {0, 0, 0, 0x40};                                  /* 1 GiB, LE */
    sl_buf_put(&lie, fcs, 4);
    sl_buf_put(&lie, z + hdr_len, n - hdr_len);
    sl_buf_reset(&out);
    int64_t rc = sl_decompress(SL_COMPRESSION_ZSTD, lie.data, lie.len, MIB, &out);
    assert_true(rc == SL_ERR_TOO_LARGE || rc == SL_ERR_CORRUPT);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= 2 * MIB);
    sl_buf_fini(&lie);
    sl_buf_fini(&out);
    sl_free(z);
    sl_free(d);
}

/* snappy: raw snappy has no streaming decoder; a length preamble above the
 * cap is refused before anything is allocated, and one the input could not
 * possibly produce is corrupt. Xerial chunks add up against the cap. */
static void test_bomb_snappy(void **state)
{
    (void)state;
    uint8_t raw[1024];
    memset(raw, 0, sizeof raw);
    size_t n = 0;
    uint64_t claim = ONE_GIB;
    while (claim >= 0x80) {
        raw[n++] = (uint8_t)(claim | 0x80);
        claim >>= 7;
    }
    raw[n++] = (uint8_t)claim;
    raw[n] = 0xfc; /* a long literal follows */
    expect_bomb_refused(SL_COMPRESSION_SNAPPY, raw, sizeof raw, 4 * MIB);
    /* claims 1 MiB (under the cap) from 1 KiB: impossible, corrupt */
    sl_buf out;
    sl_buf_init(&out);
    n = 0;
    claim = MIB;
    while (claim >= 0x80) {
        raw[n++] = (uint8_t)(claim | 0x80);
        claim >>= 7;
    }
    raw[n++] = (uint8_t)claim;
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, raw, sizeof raw, 4 * MIB, &out),
                     SL_ERR_CORRUPT);
    assert_true(out.cap < 64 * 1024);
    /* xerial: many chunks of zeros, more in total than the cap */
    uint8_t *zeros = calloc(1, 8 * MIB);
    sl_buf x;
    sl_buf_init(&x);
    xerial_encode(zeros, 8 * MIB, 64 * 1024, &x);
    expect_bomb_refused(SL_COMPRESSION_SNAPPY, x.data, x.len, MIB);
    assert_int_equal(sl_decompress(SL_COMPRESSION_SNAPPY, x.data, x.len, 8 * MIB, &out),
                     (int64_t)(8 * MIB));
    free(zeros);
    sl_buf_fini(&x);
    sl_buf_fini(&out);
}

/* A zero cap: only empty output is allowed. */
static void test_zero_cap(void **state)
{
    (void)state;
    sl_buf z, out;
    sl_buf_init(&z);
    sl_buf_init(&out);
    for (size_t c = 0; c < SL_ARRAY_LEN(codecs); c++) {
        sl_buf_reset(&z);
        assert_int_equal(sl_compress(codecs[c], "", 0, &z), 0);
        assert_int_equal(sl_decompress(codecs[c], z.data, z.len, 0, &out), 0);
        sl_buf_reset(&z);
        assert_int_equal(sl_compress(codecs[c], "a", 1, &z), 0);
        assert_int_equal(sl_decompress(codecs[c], z.data, z.len, 0, &out), SL_ERR_TOO_LARGE);
    }
    assert_int_equal(out.len, 0);
    sl_buf_fini(&z);
    sl_buf_fini(&out);
}

/* One context reused across codecs, after errors and bombs, gives the same
 * results as fresh contexts. */
static void test_ctx_reuse(void **state)
{
    (void)state;
    sl_codec_ctx *ctx = sl_codec_ctx_new();
    size_t n = 100000;
    uint8_t *d = make_data(n, 11);
    sl_buf z[4], out, bomb;
    sl_buf_init(&out);
    sl_buf_init(&bomb);
    for (int c = 0; c < 4; c++) {
        sl_buf_init(&z[c]);
        assert_int_equal(sl_compress(real_codecs[c], d, n, &z[c]), 0);
    }
    zstd_bomb(ONE_GIB, 0, &bomb);
    for (int round = 0; round < 3; round++) {
        for (int c = 0; c < 4; c++) {
            enum sl_compression codec = real_codecs[c];
            /* garbage, a truncated stream, a too-small cap, then the real thing */
            sl_buf_reset(&out);
            assert_int_equal(sl_decompress_ctx(ctx, codec, d, 64, n, &out), SL_ERR_CORRUPT);
            assert_int_equal(sl_decompress_ctx(ctx, codec, z[c].data, z[c].len / 2, n, &out),
                             SL_ERR_CORRUPT);
            assert_int_equal(sl_decompress_ctx(ctx, codec, z[c].data, z[c].len, n / 3, &out),
                             SL_ERR_TOO_LARGE);
            assert_int_equal(out.len, 0);
            assert_int_equal(sl_decompress_ctx(ctx, codec, z[c].data, z[c].len, n, &out),
                             (int64_t)n);
            assert_memory_equal(out.data, d, n);
        }
        /* the zstd bomb through both paths (one-pass fallback, streaming) */
        sl_buf_reset(&out);
        assert_int_equal(
            sl_decompress_ctx(ctx, SL_COMPRESSION_ZSTD, bomb.data, bomb.len, MIB, &out),
            SL_ERR_TOO_LARGE);
        assert_int_equal(
            sl_decompress_ctx(ctx, SL_COMPRESSION_ZSTD, bomb.data, bomb.len, 4 * MIB, &out),
            SL_ERR_TOO_LARGE);
        assert_true(out.cap <= 8 * MIB);
    }
    for (int c = 0; c < 4; c++)
        sl_buf_fini(&z[c]);
    sl_buf_fini(&out);
    sl_buf_fini(&bomb);
    sl_free(d);
    sl_codec_ctx_free(ctx);
    sl_codec_ctx_free(NULL);
}

/* ---- pull streams (sl_dstream_*) ---- */

static const enum sl_compression stream_codecs[] = {SL_COMPRESSION_GZIP, SL_COMPRESSION_LZ4,
                                                    SL_COMPRESSION_ZSTD, SL_COMPRESSION_SNAPPY};

/* Reads a whole stream in pieces of `piece` bytes; returns the total or the
 * first error, checking that the end (0) and errors are sticky. */
static int64_t dstream_all(sl_codec_ctx *ctx, enum sl_compression c, const uint8_t *z, size_t len,
                           size_t max_out, size_t piece, sl_buf *out)
{
    int rc = sl_dstream_begin(ctx, c, z, len, max_out);
    if (rc < 0) return rc;
    uint8_t *tmp = sl_malloc(piece);
    int64_t total = 0, n;
    while ((n = sl_dstream_read(ctx, tmp, piece)) > 0) {
        assert_true((size_t)n <= piece);
        sl_buf_put(out, tmp, (size_t)n);
        total += n;
    }
    assert_int_equal(sl_dstream_read(ctx, tmp, piece), n); /* sticky */
    sl_free(tmp);
    return n < 0 ? n : total;
}

static void test_dstream_matches_one_shot(void **state)
{
    (void)state;
    sl_codec_ctx *ctx = sl_codec_ctx_new();
    static const size_t sizes[] = {1, 5000, 300000};
    static const size_t pieces[] = {1, 7, 4096, 1 << 20};
    sl_buf z, out;
    sl_buf_init(&z);
    sl_buf_init(&out);
    for (size_t c = 0; c < SL_ARRAY_LEN(stream_codecs); c++) {
        for (size_t s = 0; s < SL_ARRAY_LEN(sizes); s++) {
            size_t n = sizes[s];
            uint8_t *d = make_data(n, (uint32_t)(n + c));
            sl_buf_reset(&z);
            assert_int_equal(sl_compress(stream_codecs[c], d, n, &z), 0);
            for (size_t p = 0; p < SL_ARRAY_LEN(pieces); p++) {
                if (n > 5000 && pieces[p] == 1) continue; /* slow under valgrind */
                sl_buf_reset(&out);
                assert_int_equal(
                    dstream_all(ctx, stream_codecs[c], z.data, z.len, n, pieces[p], &out),
                    (int64_t)n);
                assert_memory_equal(out.data, d, n);
                /* one byte over the cap is refused */
                sl_buf_reset(&out);
                assert_int_equal(
                    dstream_all(ctx, stream_codecs[c], z.data, z.len, n - 1, pieces[p], &out),
                    SL_ERR_TOO_LARGE);
            }
            sl_free(d);
        }
    }
    /* two concatenated streams (gzip members, lz4 and zstd frames) */
    uint8_t *d = make_data(3000, 1);
    for (size_t c = 0; c < 3; c++) { /* raw snappy has no concatenation */
        sl_buf_reset(&z);
        assert_int_equal(sl_compress(stream_codecs[c], d, 1000, &z), 0);
        assert_int_equal(sl_compress(stream_codecs[c], d + 1000, 2000, &z), 0);
        sl_buf_reset(&out);
        assert_int_equal(dstream_all(ctx, stream_codecs[c], z.data, z.len, 3000, 100, &out), 3000);
        assert_memory_equal(out.data, d, 3000);
    }
    sl_free(d);
    /* xerial snappy: 300000 bytes in 32 KiB blocks, an empty block, the cap */
    d = make_data(300000, 8);
    sl_buf_reset(&z);
    xerial_encode(d, 300000, 32768, &z);
    sl_buf_put_i32(&z, 0);
    for (size_t p = 1; p < SL_ARRAY_LEN(pieces); p++) {
        sl_buf_reset(&out);
        assert_int_equal(
            dstream_all(ctx, SL_COMPRESSION_SNAPPY, z.data, z.len, 300000, pieces[p], &out),
            300000);
        assert_memory_equal(out.data, d, 300000);
        sl_buf_reset(&out);
        assert_int_equal(
            dstream_all(ctx, SL_COMPRESSION_SNAPPY, z.data, z.len, 299999, pieces[p], &out),
            SL_ERR_TOO_LARGE);
    }
    /* a block length past the input */
    sl_buf_put_i32(&z, 1000);
    sl_buf_reset(&out);
    assert_int_equal(dstream_all(ctx, SL_COMPRESSION_SNAPPY, z.data, z.len, 400000, 4096, &out),
                     SL_ERR_CORRUPT);
    sl_free(d);
    assert_int_equal(sl_dstream_begin(ctx, SL_COMPRESSION_NONE, "x", 1, 10),
                     SL_ERR_UNSUPPORTED_COMPRESSION);
    assert_int_equal(sl_dstream_begin(ctx, (enum sl_compression)5, "x", 1, 10),
                     SL_ERR_UNSUPPORTED_COMPRESSION);
    sl_buf_fini(&z);
    sl_buf_fini(&out);
    sl_codec_ctx_free(ctx);
}

/* Every proper prefix is corrupt, as is trailing garbage and noise. */
static void test_dstream_truncated_and_garbage(void **state)
{
    (void)state;
    sl_codec_ctx *ctx = sl_codec_ctx_new();
    size_t n = 5000;
    uint8_t *d = make_data(n, 3);
    sl_buf z, out;
    sl_buf_init(&z);
    sl_buf_init(&out);
    for (size_t c = 0; c < SL_ARRAY_LEN(stream_codecs); c++) {
        sl_buf_reset(&z);
        assert_int_equal(sl_compress(stream_codecs[c], d, n, &z), 0);
        for (size_t cut = 0; cut < z.len; cut++) {
            sl_buf_reset(&out);
            int64_t rc = dstream_all(ctx, stream_codecs[c], z.data, cut, n, 333, &out);
            if (rc != SL_ERR_CORRUPT)
                fail_msg("codec %d prefix %zu/%zu gave %lld", stream_codecs[c], cut, z.len,
                         (long long)rc);
        }
        sl_buf_put(&z, "garbage!", 8);
        sl_buf_reset(&out);
        assert_int_equal(dstream_all(ctx, stream_codecs[c], z.data, z.len, n, 4096, &out),
                         SL_ERR_CORRUPT);
        uint8_t *noise = make_data(4096, 99);
        for (size_t i = 0; i < 4096; i++)
            noise[i] ^= (uint8_t)(i * 31);
        sl_buf_reset(&out);
        assert_int_equal(dstream_all(ctx, stream_codecs[c], noise, 4096, MIB, 4096, &out),
                         SL_ERR_CORRUPT);
        sl_free(noise);
    }
    sl_free(d);
    sl_buf_fini(&z);
    sl_buf_fini(&out);
    sl_codec_ctx_free(ctx);
}

/* 1 GiB bombs read through a 64 KiB window stop at the cap; a zstd frame
 * that announces more than the cap stops before decoding; one whose window
 * is too wide to stream asks for the one-shot decoder at the first read. */
static void test_dstream_bombs(void **state)
{
    (void)state;
    sl_codec_ctx *ctx = sl_codec_ctx_new();
    sl_buf b, out;
    sl_buf_init(&b);
    sl_buf_init(&out);
    for (int c = 0; c < 3; c++) {
        sl_buf_reset(&b);
        if (c == 0) gzip_bomb(ONE_GIB, &b);
        if (c == 1) lz4_bomb(ONE_GIB, &b);
        if (c == 2) zstd_bomb(ONE_GIB, 17, &b);
        sl_buf_reset(&out);
        assert_int_equal(
            dstream_all(ctx, stream_codecs[c], b.data, b.len, 4 * MIB, 64 * 1024, &out),
            SL_ERR_TOO_LARGE);
        assert_true(out.len <= 4 * MIB);
    }
    /* xerial snappy: 16 MiB of zeros in 32 KiB blocks against a 1 MiB cap;
     * the decoder holds one block */
    uint8_t *zeros = calloc(1, 16 * MIB);
    sl_buf_reset(&b);
    xerial_encode(zeros, 16 * MIB, 32768, &b);
    free(zeros);
    assert_true(b.len < 16 * MIB / 20);
    sl_buf_reset(&out);
    assert_int_equal(dstream_all(ctx, SL_COMPRESSION_SNAPPY, b.data, b.len, MIB, 64 * 1024, &out),
                     SL_ERR_TOO_LARGE);
    assert_true(out.len <= MIB);
    /* content size in the frame header above the cap */
    uint8_t *d = make_data(100000, 2);
    sl_buf_reset(&b);
    assert_int_equal(sl_compress(SL_COMPRESSION_ZSTD, d, 100000, &b), 0);
    assert_int_equal(sl_dstream_begin(ctx, SL_COMPRESSION_ZSTD, b.data, b.len, 99999),
                     SL_ERR_TOO_LARGE);
    sl_buf_reset(&out);
    assert_int_equal(sl_decompress_ctx(ctx, SL_COMPRESSION_ZSTD, b.data, b.len, 99999, &out),
                     SL_ERR_TOO_LARGE);
    sl_free(d);
    /* default window (2 MiB at this size) with a 1 MiB cap: too wide */
    sl_buf_reset(&b);
    zstd_bomb(ONE_GIB, 0, &b);
    assert_int_equal(sl_dstream_begin(ctx, SL_COMPRESSION_ZSTD, b.data, b.len, MIB), 0);
    uint8_t tmp[256];
    assert_int_equal(sl_dstream_read(ctx, tmp, sizeof tmp), SL_ERR_UNSUPPORTED_COMPRESSION);
    /* ... also when only a later frame is too wide: a small frame, then one
     * with a 128 MiB window and no content size */
    d = make_data(2000, 4);
    sl_buf_reset(&b);
    assert_int_equal(sl_compress(SL_COMPRESSION_ZSTD, d, 1000, &b), 0);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 27)));
    uint8_t frame[2048];
    ZSTD_inBuffer zin = {d + 1000, 1000, 0};
    ZSTD_outBuffer zout = {frame, sizeof frame, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(cctx, &zout, &zin, ZSTD_e_continue)));
    zin.size = zin.pos = 0;
    zin.src = NULL;
    assert_int_equal(ZSTD_compressStream2(cctx, &zout, &zin, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cctx);
    sl_buf_put(&b, frame, zout.pos);
    sl_buf_reset(&out);
    assert_int_equal(dstream_all(ctx, SL_COMPRESSION_ZSTD, b.data, b.len, MIB, 100, &out),
                     SL_ERR_UNSUPPORTED_COMPRESSION);
    sl_buf_reset(&out);
    assert_int_equal(sl_decompress_ctx(ctx, SL_COMPRESSION_ZSTD, b.data, b.len, MIB, &out), 2000);
    assert_memory_equal(out.data, d, 2000);
    sl_free(d);
    sl_buf_fini(&b);
    sl_buf_fini(&out);
    sl_codec_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_codecs),
        cmocka_unit_test(test_compression_shrinks),
        cmocka_unit_test(test_unknown_codec),
        cmocka_unit_test(test_snappy_xerial),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_bomb_gzip),
        cmocka_unit_test(test_bomb_lz4),
        cmocka_unit_test(test_bomb_zstd),
        cmocka_unit_test(test_zstd_lying_content_size),
        cmocka_unit_test(test_bomb_snappy),
        cmocka_unit_test(test_zero_cap),
        cmocka_unit_test(test_ctx_reuse),
        cmocka_unit_test(test_dstream_matches_one_shot),
        cmocka_unit_test(test_dstream_truncated_and_garbage),
        cmocka_unit_test(test_dstream_bombs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
