/* Compression codecs for record batches: gzip (zlib), snappy (raw and the
 * Java client's xerial framing), lz4 (frame format) and zstd, all from the
 * Debian libraries. Decompression is always bounded by a caller-given cap so
 * a small batch that inflates to gigabytes is refused, not allocated. */
#ifndef SL_RECORD_CODEC_H
#define SL_RECORD_CODEC_H

#include <stddef.h>

#include "base/buf.h"
#include "record/batch.h"

/* Appends the compressed form of in[0..len) to out. */
int sl_compress(enum sl_compression codec, const void *in, size_t len, sl_buf *out);

/* Appends the decompressed form of in[0..len) to out, producing at most
 * `max_out` bytes. Returns the number of bytes produced, SL_ERR_TOO_LARGE if
 * the output would exceed max_out, SL_ERR_CORRUPT on malformed input or
 * SL_ERR_UNSUPPORTED_COMPRESSION for an unknown codec. */
int64_t sl_decompress(enum sl_compression codec, const void *in, size_t len, size_t max_out,
                      sl_buf *out);

/* Reusable decoder state for callers that decompress many batches (the
 * produce path, log readers). sl_decompress sets up and tears down zlib,
 * lz4 and zstd contexts on every call, which for small batches costs more
 * than the decoding; a context keeps them and their buffers. What it keeps
 * is bounded: zlib ~40 KiB, lz4 two blocks of the largest block size seen
 * (<= 2 x 4 MiB), zstd a window no larger than ~2x the largest max_out used.
 * Owned by one thread at a time. */
typedef struct sl_codec_ctx sl_codec_ctx;

sl_codec_ctx *sl_codec_ctx_new(void);
void sl_codec_ctx_free(sl_codec_ctx *ctx);

/* sl_decompress with the contexts in `ctx` (same results and limits). */
int64_t sl_decompress_ctx(sl_codec_ctx *ctx, enum sl_compression codec, const void *in, size_t len,
                          size_t max_out, sl_buf *out);

/* Pull-style decompression for callers that look at the output a piece at a
 * time and must not hold all of it: the produce-path validator walks a
 * batch's records through a small window, so a bomb costs the window, not
 * its output. One stream per context at a time; `in` must stay valid until
 * the last read.
 *
 * Snappy, which has no streaming decoder, is decoded a block at a time:
 * one xerial block (32 KiB from the Java client), or a raw stream whole
 * (within max_out and 22 times its input).
 *
 * sl_dstream_begin returns 0, SL_ERR_CORRUPT (empty input), SL_ERR_TOO_LARGE
 * (a zstd frame declaring more than max_out bytes), or
 * SL_ERR_UNSUPPORTED_COMPRESSION for codecs other than the four.
 * sl_dstream_read fills up to n bytes of dst and returns how many: 0 only
 * once the input is fully and cleanly decoded. Errors are sticky:
 * SL_ERR_CORRUPT, SL_ERR_NOMEM, SL_ERR_TOO_LARGE once more than max_out
 * bytes came out, and SL_ERR_UNSUPPORTED_COMPRESSION when a zstd frame's
 * window is above the streaming limit (usually at the first read, but a
 * later frame may ask too): the caller then starts over with
 * sl_decompress_ctx, which decodes such frames in one pass. */
int sl_dstream_begin(sl_codec_ctx *ctx, enum sl_compression codec, const void *in, size_t len,
                     size_t max_out);
int64_t sl_dstream_read(sl_codec_ctx *ctx, uint8_t *dst, size_t n);

#endif
