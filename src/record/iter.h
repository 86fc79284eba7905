/* Reading record batches: for the group coordinator loading its internal
 * topic, tools and tests. (The Fetch path never looks inside batches.)
 *
 * Two levels: sl_batch_iter walks the batches in a byte range (a segment
 * slice, a Fetch response's Records field), stopping cleanly at a truncated
 * trailing batch as Fetch responses and torn segment tails have;
 * sl_record_iter walks the records of one batch, decompressing into a
 * caller-owned buffer under a cap; sl_header_iter walks one record's headers.
 * All returned pointers borrow from the input or the scratch buffer.
 * Thread: any; no hidden state.
 */
#ifndef SL_RECORD_ITER_H
#define SL_RECORD_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "record/batch.h"
#include "record/builder.h" /* sl_header_kv */
#include "record/codec.h"

typedef struct sl_batch_iter {
    const uint8_t *data;
    size_t len;
    size_t pos;     /* start of the next batch = bytes consumed so far */
    bool check_crc; /* verify each batch's CRC-32C */
    bool truncated; /* the range ended inside a batch (at `pos`) */
    int err;        /* sticky error */
} sl_batch_iter;

void sl_batch_iter_init(sl_batch_iter *it, const uint8_t *data, size_t len, bool check_crc);

/* Next batch. Returns 1 and fills *h and *batch (its first byte; it is
 * sl_batch_total_size(h) bytes long), 0 at the end of the range (a partial
 * trailing batch sets it->truncated and is not returned), or SL_ERR_CORRUPT
 * for bytes that cannot be a batch: wrong magic, batchLength < 49, or a CRC
 * mismatch when checked. Errors are sticky. */
int sl_batch_iter_next(sl_batch_iter *it, sl_batch_header *h, const uint8_t **batch);

/* One record; key/value are NULL with length -1 when null. */
typedef struct sl_record {
    int64_t offset;    /* absolute: baseOffset + offsetDelta */
    int64_t timestamp; /* batch maxTimestamp for LogAppendTime batches */
    int8_t attributes;
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    int32_t header_count;
    const uint8_t *headers; /* encoded headers, for sl_header_iter_init */
    size_t headers_len;
} sl_record;

typedef struct sl_record_iter {
    const uint8_t *pos, *end;
    sl_batch_header hdr;
    int32_t index;
    int32_t last_delta; /* previous offsetDelta, -1 before the first */
    int err;
} sl_record_iter;

/* Prepares to walk the records of the whole batch at `batch` (header `h`,
 * e.g. from sl_batch_iter_next). A compressed batch is decompressed into
 * `scratch` (reset first; at most max_decompressed bytes), which must stay
 * untouched while the records are used (NULL is fine for an uncompressed
 * batch). Returns 0, SL_ERR_TOO_LARGE, SL_ERR_CORRUPT,
 * SL_ERR_UNSUPPORTED_COMPRESSION or SL_ERR_INVALID_ARG (compressed, no
 * scratch). */
int sl_record_iter_init(sl_record_iter *it, const uint8_t *batch, const sl_batch_header *h,
                        sl_buf *scratch, size_t max_decompressed);
/* The same, decompressing with reusable decoder state (see codec.h). */
int sl_record_iter_init_ctx(sl_record_iter *it, const uint8_t *batch, const sl_batch_header *h,
                            sl_buf *scratch, size_t max_decompressed, sl_codec_ctx *ctx);

/* Returns 1 with *r filled, 0 after the last record, or SL_ERR_CORRUPT for a
 * malformed record, offsetDeltas that do not increase or pass
 * lastOffsetDelta, or a record count / byte count that disagrees with the
 * header. Errors are sticky. Offsets may have gaps (compacted batches). */
int sl_record_iter_next(sl_record_iter *it, sl_record *r);

typedef struct sl_header_iter {
    const uint8_t *pos, *end;
    int32_t left;
} sl_header_iter;

void sl_header_iter_init(sl_header_iter *it, const sl_record *r);
/* Returns 1 with *kv filled (value NULL / -1 when null), 0 at the end. The
 * headers were checked by sl_record_iter_next, so this cannot fail. */
int sl_header_iter_next(sl_header_iter *it, sl_header_kv *kv);

#endif
