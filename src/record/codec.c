/* Record batch compression codecs.
 *
 * Every decoder writes straight into the caller's sl_buf and grows it in
 * steps, never past `max_out` new bytes: sizes declared inside the
 * compressed data (gzip ISIZE, lz4/zstd content size, snappy's length
 * preamble) are never used to size an allocation beyond that cap. When the
 * cap is reached the decoder is asked for one more byte into a tiny probe
 * buffer; if it produces one, the input is a bomb (SL_ERR_TOO_LARGE).
 *
 * Memory apart from `out`: zlib's inflate state (~40 KiB), the lz4 frame
 * context (up to two blocks of the frame's declared block size, at most
 * 4 MiB each, fixed by the format) and a zstd context whose window is capped
 * near max_out (frames that declare a larger window are decoded in one pass
 * into `out`, which needs no window at all).
 */
#include "record/codec.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/err.h"
#include "base/mem.h"

/* Decoder state kept between calls. Members are created on first use and
 * reset (not freed) at the start of each use, so their buffers are reused. */
struct sl_codec_ctx {
    z_stream z;
    bool z_ready;
    LZ4F_dctx *lz4;
    ZSTD_DCtx *zstd;
    /* the current pull stream (sl_dstream_*) */
    enum sl_compression s_codec;
    const uint8_t *s_in;
    size_t s_len, s_pos;  /* input and how much of it the decoder took */
    size_t s_max, s_made; /* output cap and output so far */
    size_t s_hint;        /* lz4/zstd: 0 once a frame ended with its input */
    bool s_done;
    int s_err;
    bool s_xerial; /* snappy: xerial framing, s_pos at the next block */
    sl_buf s_blk;  /* snappy: the decoded block being handed out */
    size_t s_blk_pos;
};

sl_codec_ctx *sl_codec_ctx_new(void)
{
    return SL_NEW(sl_codec_ctx);
}

static void codec_ctx_release(sl_codec_ctx *x)
{
    if (x->z_ready) inflateEnd(&x->z);
    if (x->lz4) LZ4F_freeDecompressionContext(x->lz4);
    ZSTD_freeDCtx(x->zstd);
    sl_buf_fini(&x->s_blk);
    memset(x, 0, sizeof *x);
}

void sl_codec_ctx_free(sl_codec_ctx *x)
{
    if (!x) return;
    codec_ctx_release(x);
    sl_free(x);
}

/* First growth step of the output when nothing better is known. */
#define OUT_STEP_MIN (64 * 1024)

/* Tracks how much of the cap is used and hands out room in `out`. */
typedef struct out_cursor {
    sl_buf *out;
    size_t start;   /* out->len when decompression began */
    size_t max_out; /* cap on new bytes */
    size_t hint;    /* next growth step */
} out_cursor;

static void cursor_init(out_cursor *c, sl_buf *out, size_t max_out, size_t in_len)
{
    c->out = out;
    c->start = out->len;
    c->max_out = max_out;
    /* Batches usually compress 2-5x; start there and double. */
    size_t guess = in_len <= SIZE_MAX / 4 ? in_len * 4 : SIZE_MAX;
    c->hint = SL_MAX(guess, (size_t)OUT_STEP_MIN);
}

static size_t cursor_produced(const out_cursor *c)
{
    return c->out->len - c->start;
}

/* Returns free room in out, at most the remaining cap; 0 means the cap is
 * used up (the caller then probes). */
static size_t cursor_room(out_cursor *c)
{
    size_t left = c->max_out - cursor_produced(c);
    if (left == 0) return 0;
    size_t room = c->out->cap - c->out->len;
    if (room == 0) {
        size_t step = SL_MIN(c->hint, left);
        sl_buf_reserve(c->out, step);
        if (c->hint <= SIZE_MAX / 2) c->hint *= 2;
        room = c->out->cap - c->out->len;
    }
    return SL_MIN(room, left);
}

static int64_t cursor_fail(out_cursor *c, int err)
{
    c->out->len = c->start;
    return err;
}

/* ---- gzip ---------------------------------------------------------------- */

static int compress_gzip(const void *in, size_t len, sl_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 window bits + 16 selects the gzip wrapper. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return SL_ERR_NOMEM;
    const uint8_t *src = in;
    size_t left = len;
    int rc = 0;
    for (;;) {
        if (z.avail_in == 0 && left > 0) {
            z.next_in = (Bytef *)src;
            z.avail_in = (uInt)SL_MIN(left, (size_t)1 << 30);
            src += z.avail_in;
            left -= z.avail_in;
        }
        size_t want = deflateBound(&z, z.avail_in) + 64;
        z.next_out = sl_buf_reserve(out, want);
        z.avail_out = (uInt)SL_MIN(out->cap - out->len, (size_t)UINT_MAX);
        uInt before = z.avail_out;
        int ret = deflate(&z, left == 0 ? Z_FINISH : Z_NO_FLUSH);
        out->len += before - z.avail_out;
        if (ret == Z_STREAM_END) break;
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            rc = SL_ERR_INTERNAL;
            break;
        }
    }
    deflateEnd(&z);
    return rc;
}

/* Accepts one or more concatenated gzip members (as Java's GZIPInputStream
 * does) and nothing after them. */
static int64_t decompress_gzip(sl_codec_ctx *x, const uint8_t *in, size_t len, size_t max_out,
                               sl_buf *out)
{
    out_cursor c;
    cursor_init(&c, out, max_out, len);
    if (!x->z_ready) {
        memset(&x->z, 0, sizeof x->z);
        if (inflateInit2(&x->z, 15 + 16) != Z_OK) return SL_ERR_NOMEM;
        x->z_ready = true;
    } else if (inflateReset(&x->z) != Z_OK) {
        return SL_ERR_INTERNAL;
    }
    z_stream *zs = &x->z;
    zs->next_in = NULL;
    zs->avail_in = 0;
    size_t left = len;
    const uint8_t *src = in;
    int64_t rc = 0;
    uint8_t probe;
    for (;;) {
        if (zs->avail_in == 0 && left > 0) {
            zs->next_in = (Bytef *)src;
            zs->avail_in = (uInt)SL_MIN(left, (size_t)1 << 30);
            src += zs->avail_in;
            left -= zs->avail_in;
        }
        size_t room = cursor_room(&c);
        bool probing = room == 0;
        zs->next_out = probing ? &probe : out->data + out->len;
        zs->avail_out = probing ? 1 : (uInt)SL_MIN(room, (size_t)UINT_MAX);
        uInt before = zs->avail_out;
        int ret = inflate(zs, Z_NO_FLUSH);
        size_t made = before - zs->avail_out;
        if (probing && made > 0) {
            rc = SL_ERR_TOO_LARGE;
            break;
        }
        out->len += made;
        if (ret == Z_STREAM_END) {
            if (zs->avail_in == 0 && left == 0) break;
            /* Another member must follow; garbage after the stream fails in
             * its header. */
            if (inflateReset(zs) != Z_OK) {
                rc = SL_ERR_CORRUPT;
                break;
            }
            continue;
        }
        if (ret == Z_MEM_ERROR) {
            rc = SL_ERR_NOMEM;
            break;
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            rc = SL_ERR_CORRUPT;
            break;
        }
        /* Input used up, room left, stream not ended: truncated. */
        if (zs->avail_in == 0 && left == 0 && zs->avail_out > 0) {
            rc = SL_ERR_CORRUPT;
            break;
        }
    }
    if (rc < 0) return cursor_fail(&c, (int)rc);
    return (int64_t)cursor_produced(&c);
}

/* ---- snappy --------------------------------------------------------------- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16 /* magic + version + compatible version */

static int compress_snappy(const void *in, size_t len, sl_buf *out)
{
    size_t cap = snappy_max_compressed_length(len);
    uint8_t *dst = sl_buf_reserve(out, cap);
    if (snappy_compress(in, len, (char *)dst, &cap) != SNAPPY_OK) return SL_ERR_INTERNAL;
    out->len += cap;
    return 0;
}

/* Decodes one raw snappy block. Snappy has no streaming decoder, so the
 * length preamble is checked against the remaining cap and against the
 * format's own expansion limit (a copy element of 3 bytes yields at most 64
 * bytes) before it sizes anything. */
static int snappy_block(const uint8_t *in, size_t len, out_cursor *c)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, len, &ulen) != SNAPPY_OK)
        return SL_ERR_CORRUPT;
    if (ulen > c->max_out - cursor_produced(c)) return SL_ERR_TOO_LARGE;
    if (ulen / 22 > len) return SL_ERR_CORRUPT;
    uint8_t *dst = sl_buf_reserve(c->out, ulen ? ulen : 1); /* never a NULL dst */
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, len, (char *)dst, &got) != SNAPPY_OK || got != ulen)
        return SL_ERR_CORRUPT;
    c->out->len += ulen;
    return 0;
}

static int64_t decompress_snappy(const uint8_t *in, size_t len, size_t max_out, sl_buf *out)
{
    out_cursor c;
    cursor_init(&c, out, max_out, len);
    int rc;
    if (len >= XERIAL_HEADER_SIZE && memcmp(in, xerial_magic, sizeof xerial_magic) == 0) {
        /* Java client framing: magic, two version words, then
         * [int32 length][raw snappy block] until the end. A raw snappy stream
         * cannot start with this magic (its first element would be a copy
         * with nothing to copy from), so the test is unambiguous. */
        size_t pos = XERIAL_HEADER_SIZE;
        rc = 0;
        while (pos < len && rc == 0) {
            if (len - pos < 4) {
                rc = SL_ERR_CORRUPT;
                break;
            }
            uint32_t n = sl_load_be32(in + pos);
            pos += 4;
            if (n > len - pos) {
                rc = SL_ERR_CORRUPT;
                break;
            }
            if (n > 0) rc = snappy_block(in + pos, n, &c);
            pos += n;
        }
    } else {
        rc = snappy_block(in, len, &c);
    }
    if (rc < 0) return cursor_fail(&c, rc);
    return (int64_t)cursor_produced(&c);
}

/* ---- lz4 frame -------------------------------------------------------------- */

static int compress_lz4(const void *in, size_t len, sl_buf *out)
{
    /* Independent 64 KiB blocks, no content size: what Kafka's own
     * KafkaLZ4BlockInputStream accepts, so Java consumers can read it. */
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    size_t cap = LZ4F_compressFrameBound(len, &prefs);
    uint8_t *dst = sl_buf_reserve(out, cap);
    size_t n = LZ4F_compressFrame(dst, cap, in, len, &prefs);
    if (LZ4F_isError(n)) return SL_ERR_INTERNAL;
    out->len += n;
    return 0;
}

/* Accepts one or more concatenated frames. */
static int64_t decompress_lz4(sl_codec_ctx *x, const uint8_t *in, size_t len, size_t max_out,
                              sl_buf *out)
{
    out_cursor c;
    cursor_init(&c, out, max_out, len);
    if (!x->lz4 && LZ4F_isError(LZ4F_createDecompressionContext(&x->lz4, LZ4F_VERSION))) {
        x->lz4 = NULL;
        return SL_ERR_NOMEM;
    }
    LZ4F_dctx *dctx = x->lz4;
    LZ4F_resetDecompressionContext(dctx);
    size_t pos = 0;
    size_t hint = 1;
    int rc = len == 0 ? SL_ERR_CORRUPT : 0;
    uint8_t probe;
    while (rc == 0 && (pos < len || hint != 0)) {
        size_t room = cursor_room(&c);
        bool probing = room == 0;
        size_t dst_n = probing ? 1 : room;
        size_t src_n = len - pos;
        hint = LZ4F_decompress(dctx, probing ? &probe : out->data + out->len, &dst_n, in + pos,
                               &src_n, NULL);
        if (LZ4F_isError(hint)) {
            rc = SL_ERR_CORRUPT;
            break;
        }
        if (probing && dst_n > 0) {
            rc = SL_ERR_TOO_LARGE;
            break;
        }
        out->len += dst_n;
        pos += src_n;
        /* Out of input mid-frame with room to spare: truncated. Also catches
         * a call that made no progress at all. */
        if (hint != 0 && pos == len && !probing && dst_n < room)
            rc = SL_ERR_CORRUPT;
        else if (hint != 0 && src_n == 0 && dst_n == 0)
            rc = SL_ERR_CORRUPT;
    }
    if (rc < 0) return cursor_fail(&c, rc);
    return (int64_t)cursor_produced(&c);
}

/* ---- zstd ----------------------------------------------------------------- */

static int compress_zstd(const void *in, size_t len, sl_buf *out)
{
    size_t cap = ZSTD_compressBound(len);
    uint8_t *dst = sl_buf_reserve(out, cap);
    size_t n = ZSTD_compress(dst, cap, in, len, ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) return SL_ERR_INTERNAL;
    out->len += n;
    return 0;
}

/* zstd's own default streaming limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, which
 * sits behind ZSTD_STATIC_LINKING_ONLY). */
#define ZSTD_WLOG_STREAM_MAX 27

/* Smallest window log whose window covers max_out: a frame needing more
 * history than the whole allowed output would only make zstd allocate. */
static int zstd_window_log_for(size_t max_out)
{
    int wlog = 10; /* ZSTD_WINDOWLOG_ABSOLUTEMIN */
    while (wlog < ZSTD_WLOG_STREAM_MAX && ((size_t)1 << wlog) < max_out)
        wlog++;
    return wlog;
}

/* One-pass decode for frames whose declared window is above the streaming
 * limit. Single-pass mode keeps no window (matches reference `out` itself),
 * so memory is `out` only; the buffer doubles up to max_out and decoding
 * restarts each time, which costs at most ~2x the capped output. */
static int64_t zstd_one_pass(ZSTD_DCtx *dctx, const uint8_t *in, size_t len, out_cursor *c)
{
    size_t cap = SL_MIN(c->hint, c->max_out);
    for (;;) {
        uint8_t *dst = sl_buf_reserve(c->out, cap);
        size_t n = ZSTD_decompressDCtx(dctx, dst, cap, in, len);
        if (!ZSTD_isError(n)) {
            c->out->len += n;
            return (int64_t)n;
        }
        if (ZSTD_getErrorCode(n) != ZSTD_error_dstSize_tooSmall)
            return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? SL_ERR_NOMEM
                                                                        : SL_ERR_CORRUPT;
        if (cap == c->max_out) return SL_ERR_TOO_LARGE;
        cap = cap <= c->max_out / 2 ? cap * 2 : c->max_out;
    }
}

/* Accepts one or more concatenated frames (skippable frames included). */
static int64_t decompress_zstd(sl_codec_ctx *x, const uint8_t *in, size_t len, size_t max_out,
                               sl_buf *out)
{
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
        declared > max_out)
        return SL_ERR_TOO_LARGE; /* announced above the cap: refused before decoding */
    out_cursor c;
    cursor_init(&c, out, max_out, len);
    if (!x->zstd && !(x->zstd = ZSTD_createDCtx())) return SL_ERR_NOMEM;
    ZSTD_DCtx *dctx = x->zstd;
    /* A session reset keeps the context's buffers for reuse. */
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
    if (ZSTD_isError(
            ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, zstd_window_log_for(max_out))))
        return SL_ERR_INTERNAL;
    ZSTD_inBuffer ib = {in, len, 0};
    int64_t rc = len == 0 ? SL_ERR_CORRUPT : 0;
    uint8_t probe;
    size_t ret = 1;
    while (rc == 0 && (ib.pos < ib.size || ret != 0)) {
        size_t room = cursor_room(&c);
        bool probing = room == 0;
        ZSTD_outBuffer ob = {probing ? &probe : out->data + out->len, probing ? 1 : room, 0};
        size_t in_before = ib.pos;
        ret = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(ret)) {
            ZSTD_ErrorCode e = ZSTD_getErrorCode(ret);
            if (e == ZSTD_error_frameParameter_windowTooLarge) {
                out->len = c.start;
                ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
                rc = zstd_one_pass(dctx, in, len, &c);
                return rc < 0 ? cursor_fail(&c, (int)rc) : rc;
            }
            rc = e == ZSTD_error_memory_allocation ? SL_ERR_NOMEM : SL_ERR_CORRUPT;
            break;
        }
        if (probing && ob.pos > 0) {
            rc = SL_ERR_TOO_LARGE;
            break;
        }
        out->len += ob.pos;
        /* Input used up inside a frame while output room remained. */
        if (ret != 0 && ib.pos == ib.size && ob.pos < ob.size)
            rc = SL_ERR_CORRUPT;
        else if (ret != 0 && ib.pos == in_before && ob.pos == 0)
            rc = SL_ERR_CORRUPT;
    }
    if (rc < 0) return cursor_fail(&c, (int)rc);
    return (int64_t)cursor_produced(&c);
}

/* ---- pull streams ----------------------------------------------------------- */

/* The loops below fill all of dst unless the input ends; the
 * truncation and no-progress checks mirror the one-shot decoders above. */

static int64_t gzip_read(sl_codec_ctx *x, uint8_t *dst, size_t n)
{
    z_stream *zs = &x->z;
    size_t got = 0;
    while (got < n) {
        if (zs->avail_in == 0 && x->s_pos < x->s_len) {
            zs->next_in = (Bytef *)(x->s_in + x->s_pos);
            zs->avail_in = (uInt)SL_MIN(x->s_len - x->s_pos, (size_t)1 << 30);
            x->s_pos += zs->avail_in;
        }
        zs->next_out = dst + got;
        zs->avail_out = (uInt)SL_MIN(n - got, (size_t)UINT_MAX);
        uInt before = zs->avail_out;
        int ret = inflate(zs, Z_NO_FLUSH);
        got += before - zs->avail_out;
        if (ret == Z_STREAM_END) {
            if (zs->avail_in == 0 && x->s_pos == x->s_len) {
                x->s_done = true;
                break;
            }
            if (inflateReset(zs) != Z_OK) return SL_ERR_CORRUPT;
            continue;
        }
        if (ret == Z_MEM_ERROR) return SL_ERR_NOMEM;
        if (ret != Z_OK && ret != Z_BUF_ERROR) return SL_ERR_CORRUPT;
        if (zs->avail_in == 0 && x->s_pos == x->s_len && zs->avail_out > 0) return SL_ERR_CORRUPT;
    }
    return (int64_t)got;
}

static int64_t lz4_read(sl_codec_ctx *x, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (x->s_pos == x->s_len && x->s_hint == 0) {
            x->s_done = true;
            break;
        }
        size_t room = n - got, dst_n = room, src_n = x->s_len - x->s_pos;
        size_t hint = LZ4F_decompress(x->lz4, dst + got, &dst_n, x->s_in + x->s_pos, &src_n, NULL);
        if (LZ4F_isError(hint)) return SL_ERR_CORRUPT;
        x->s_hint = hint;
        got += dst_n;
        x->s_pos += src_n;
        if (hint != 0 && x->s_pos == x->s_len && dst_n < room) return SL_ERR_CORRUPT;
        if (hint != 0 && src_n == 0 && dst_n == 0) return SL_ERR_CORRUPT;
    }
    return (int64_t)got;
}

static int64_t zstd_read(sl_codec_ctx *x, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (x->s_pos == x->s_len && x->s_hint == 0) {
            x->s_done = true;
            break;
        }
        ZSTD_inBuffer ib = {x->s_in, x->s_len, x->s_pos};
        ZSTD_outBuffer ob = {dst + got, n - got, 0};
        size_t ret = ZSTD_decompressStream(x->zstd, &ob, &ib);
        if (ZSTD_isError(ret)) {
            ZSTD_ErrorCode e = ZSTD_getErrorCode(ret);
            if (e == ZSTD_error_frameParameter_windowTooLarge)
                return SL_ERR_UNSUPPORTED_COMPRESSION;
            return e == ZSTD_error_memory_allocation ? SL_ERR_NOMEM : SL_ERR_CORRUPT;
        }
        size_t in_before = x->s_pos;
        x->s_pos = ib.pos;
        x->s_hint = ret;
        got += ob.pos;
        if (ret != 0 && ib.pos == ib.size && ob.pos < ob.size) return SL_ERR_CORRUPT;
        if (ret != 0 && ib.pos == in_before && ob.pos == 0) return SL_ERR_CORRUPT;
    }
    return (int64_t)got;
}

/* Snappy has no streaming decoder, but xerial framing (the Java client's)
 * cuts the data into independent blocks, 32 KiB by default: one block is
 * decoded at a time. Raw snappy is one block, decoded whole (within the cap
 * and the format's 22:1 ratio of its input). `room` is what the cap still
 * allows. */
static int snappy_next_block(sl_codec_ctx *x, size_t room)
{
    const uint8_t *blk = x->s_in + x->s_pos;
    size_t n = x->s_len - x->s_pos;
    if (x->s_xerial) {
        if (n < 4) return SL_ERR_CORRUPT;
        n = sl_load_be32(blk);
        blk += 4;
        if (n > x->s_len - x->s_pos - 4) return SL_ERR_CORRUPT;
        x->s_pos += 4 + n;
        if (n == 0) return 0;
    } else {
        x->s_pos = x->s_len;
    }
    size_t ulen;
    if (snappy_uncompressed_length((const char *)blk, n, &ulen) != SNAPPY_OK) return SL_ERR_CORRUPT;
    if (ulen > room) return SL_ERR_TOO_LARGE;
    if (ulen / 22 > n) return SL_ERR_CORRUPT;
    sl_buf_reset(&x->s_blk);
    uint8_t *dst = sl_buf_reserve(&x->s_blk, ulen ? ulen : 1);
    size_t got = ulen;
    if (snappy_uncompress((const char *)blk, n, (char *)dst, &got) != SNAPPY_OK || got != ulen)
        return SL_ERR_CORRUPT;
    x->s_blk.len = ulen;
    x->s_blk_pos = 0;
    return 0;
}

static int64_t snappy_read(sl_codec_ctx *x, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (x->s_blk_pos == x->s_blk.len) {
            if (x->s_pos == x->s_len) {
                x->s_done = true;
                break;
            }
            int rc = snappy_next_block(x, x->s_max - x->s_made - got);
            if (rc < 0) return rc;
            continue;
        }
        size_t k = SL_MIN(n - got, x->s_blk.len - x->s_blk_pos);
        memcpy(dst + got, x->s_blk.data + x->s_blk_pos, k);
        x->s_blk_pos += k;
        got += k;
    }
    return (int64_t)got;
}

int sl_dstream_begin(sl_codec_ctx *x, enum sl_compression codec, const void *in, size_t len,
                     size_t max_out)
{
    x->s_codec = codec;
    x->s_in = in;
    x->s_len = len;
    x->s_pos = 0;
    x->s_max = max_out;
    x->s_made = 0;
    x->s_hint = 1;
    x->s_done = false;
    x->s_err = 0;
    switch (codec) {
    case SL_COMPRESSION_GZIP:
        if (!x->z_ready) {
            memset(&x->z, 0, sizeof x->z);
            if (inflateInit2(&x->z, 15 + 16) != Z_OK) return x->s_err = SL_ERR_NOMEM;
            x->z_ready = true;
        } else if (inflateReset(&x->z) != Z_OK) {
            return x->s_err = SL_ERR_INTERNAL;
        }
        x->z.next_in = NULL;
        x->z.avail_in = 0;
        return 0;
    case SL_COMPRESSION_SNAPPY:
        if (len == 0) return x->s_err = SL_ERR_CORRUPT;
        /* a raw stream's block is kept between uses only while small */
        if (x->s_blk.cap > ((size_t)1 << 20)) sl_buf_fini(&x->s_blk);
        sl_buf_reset(&x->s_blk);
        x->s_blk_pos = 0;
        x->s_xerial =
            len >= XERIAL_HEADER_SIZE && memcmp(in, xerial_magic, sizeof xerial_magic) == 0;
        if (x->s_xerial) x->s_pos = XERIAL_HEADER_SIZE;
        return 0;
    case SL_COMPRESSION_LZ4:
        if (len == 0) return x->s_err = SL_ERR_CORRUPT;
        if (!x->lz4 && LZ4F_isError(LZ4F_createDecompressionContext(&x->lz4, LZ4F_VERSION))) {
            x->lz4 = NULL;
            return x->s_err = SL_ERR_NOMEM;
        }
        LZ4F_resetDecompressionContext(x->lz4);
        return 0;
    case SL_COMPRESSION_ZSTD: {
        if (len == 0) return x->s_err = SL_ERR_CORRUPT;
        /* A frame that announces more than the cap is refused before any
         * decoding (a lying size would fail the decode anyway). */
        unsigned long long declared = ZSTD_getFrameContentSize(in, len);
        if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
            declared > max_out)
            return x->s_err = SL_ERR_TOO_LARGE;
        if (!x->zstd && !(x->zstd = ZSTD_createDCtx())) return x->s_err = SL_ERR_NOMEM;
        ZSTD_DCtx_reset(x->zstd, ZSTD_reset_session_only);
        if (ZSTD_isError(
                ZSTD_DCtx_setParameter(x->zstd, ZSTD_d_windowLogMax, zstd_window_log_for(max_out))))
            return x->s_err = SL_ERR_INTERNAL;
        return 0;
    }
    default:
        return x->s_err = SL_ERR_UNSUPPORTED_COMPRESSION;
    }
}

int64_t sl_dstream_read(sl_codec_ctx *x, uint8_t *dst, size_t n)
{
    if (x->s_err) return x->s_err;
    if (x->s_done || n == 0) return 0;
    int64_t got;
    switch (x->s_codec) {
    case SL_COMPRESSION_GZIP:
        got = gzip_read(x, dst, n);
        break;
    case SL_COMPRESSION_LZ4:
        got = lz4_read(x, dst, n);
        break;
    case SL_COMPRESSION_ZSTD:
        got = zstd_read(x, dst, n);
        break;
    case SL_COMPRESSION_SNAPPY:
        got = snappy_read(x, dst, n);
        break;
    default:
        got = SL_ERR_UNSUPPORTED_COMPRESSION;
        break;
    }
    if (got >= 0 && (size_t)got > x->s_max - x->s_made) got = SL_ERR_TOO_LARGE;
    if (got < 0) {
        x->s_err = (int)got;
        return got;
    }
    x->s_made += (size_t)got;
    return got;
}

/* ---- dispatch ------------------------------------------------------------- */

int sl_compress(enum sl_compression codec, const void *in, size_t len, sl_buf *out)
{
    size_t start = out->len;
    int rc;
    switch (codec) {
    case SL_COMPRESSION_NONE:
        sl_buf_put(out, in, len);
        return 0;
    case SL_COMPRESSION_GZIP:
        rc = compress_gzip(in, len, out);
        break;
    case SL_COMPRESSION_SNAPPY:
        rc = compress_snappy(in, len, out);
        break;
    case SL_COMPRESSION_LZ4:
        rc = compress_lz4(in, len, out);
        break;
    case SL_COMPRESSION_ZSTD:
        rc = compress_zstd(in, len, out);
        break;
    default:
        return SL_ERR_UNSUPPORTED_COMPRESSION;
    }
    if (rc < 0) out->len = start;
    return rc;
}

int64_t sl_decompress(enum sl_compression codec, const void *in, size_t len, size_t max_out,
                      sl_buf *out)
{
    sl_codec_ctx tmp;
    memset(&tmp, 0, sizeof tmp);
    int64_t rc = sl_decompress_ctx(&tmp, codec, in, len, max_out, out);
    codec_ctx_release(&tmp);
    return rc;
}

int64_t sl_decompress_ctx(sl_codec_ctx *x, enum sl_compression codec, const void *in, size_t len,
                          size_t max_out, sl_buf *out)
{
    switch (codec) {
    case SL_COMPRESSION_NONE:
        if (len > max_out) return SL_ERR_TOO_LARGE;
        sl_buf_put(out, in, len);
        return (int64_t)len;
    case SL_COMPRESSION_GZIP:
        return decompress_gzip(x, in, len, max_out, out);
    case SL_COMPRESSION_SNAPPY:
        return decompress_snappy(in, len, max_out, out);
    case SL_COMPRESSION_LZ4:
        return decompress_lz4(x, in, len, max_out, out);
    case SL_COMPRESSION_ZSTD:
        return decompress_zstd(x, in, len, max_out, out);
    default:
        return SL_ERR_UNSUPPORTED_COMPRESSION;
    }
}
