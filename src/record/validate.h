/* Produce-side validation of one partition's record data.
 *
 * Produce v3+ carries exactly one magic-2 batch per partition; the broker
 * checks it completely before appending anything (DESIGN.md §4). Thread: any;
 * the functions are pure apart from the caller's scratch buffer.
 *
 * Error mapping (follows Kafka: CORRUPT_MESSAGE for bytes that cannot be a
 * batch or fail an integrity check, INVALID_RECORD for a well-formed batch
 * that breaks a rule). Checks run in this order; the first failure is
 * returned:
 *
 *   check                                                   error
 *   fewer than 61 bytes                                     SL_ERR_CORRUPT
 *   magic (byte 16) != 2                                    SL_ERR_INVALID_RECORD
 *   batchLength < 49                                        SL_ERR_CORRUPT
 *   batchLength + 12 past the available bytes               SL_ERR_CORRUPT
 *   bytes after the batch (a second batch or garbage)       SL_ERR_INVALID_RECORD
 *   batch total size > max_batch_bytes                      SL_ERR_TOO_LARGE
 *   CRC-32C mismatch                                        SL_ERR_CORRUPT
 *   recordsCount <= 0, lastOffsetDelta + 1 != recordsCount  SL_ERR_INVALID_RECORD
 *   control batch and !allow_control                        SL_ERR_INVALID_RECORD
 *   producerId >= 0 with baseSequence < 0                   SL_ERR_INVALID_RECORD
 *   codec 5-7                                               SL_ERR_UNSUPPORTED_COMPRESSION
 *   zstd and !allow_zstd (Produce < v7)                     SL_ERR_UNSUPPORTED_COMPRESSION
 *   CreateTime batch whose maxTimestamp (or baseTimestamp)
 *     is outside now_ms +- max_timestamp_diff_ms            SL_ERR_INVALID_TIMESTAMP
 *   -- record walk (deep or require_keys) --
 *   decompressed data above max_decompressed_bytes, or a
 *     record whose length alone goes past it                SL_ERR_TOO_LARGE
 *   compressed data that does not decode                    SL_ERR_CORRUPT
 *   a malformed record: length varint, field past its
 *     record, negative length other than -1, null header
 *     key, bytes left inside a record; offsetDelta not
 *     0,1,2,...; fewer or more records than recordsCount,
 *     bytes after the last record                           SL_ERR_INVALID_RECORD
 *   null key with require_keys (compacted topic)            SL_ERR_INVALID_RECORD
 *   a CreateTime record timestamp outside the window        SL_ERR_INVALID_TIMESTAMP
 *
 * Codec 5-7 gets UNSUPPORTED_COMPRESSION rather than CORRUPT: the CRC covers
 * the attributes, so the client really sent that codec. Timestamps of -1
 * (no timestamp) are not checked, like Kafka. The client's record structure
 * is only known to be sound with `deep`; the broker sets it on produce.
 */
#ifndef SL_RECORD_VALIDATE_H
#define SL_RECORD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "record/batch.h"
#include "record/codec.h"

typedef struct sl_validate_opts {
    size_t max_batch_bytes;        /* max.message.bytes: whole batch incl. 12-byte prefix */
    size_t max_decompressed_bytes; /* cap on a compressed batch's records when walked */
    bool allow_control;            /* only the broker itself writes control batches */
    bool require_keys;             /* compacted topic: every record needs a key */
    int64_t now_ms;                /* broker clock for the timestamp window */
    int64_t max_timestamp_diff_ms; /* message.timestamp.difference.max.ms, < 0 = off */
    bool allow_zstd;               /* Produce v7+ */
    bool deep;                     /* walk every record (decompressing first) */
    sl_codec_ctx *codec_ctx;       /* reused decoder state; NULL = set up per call */
    /* If set, the bytes the record walk of a compressed batch decompressed
     * are added to it, also when the batch is refused (callers budget the
     * decompression work of a whole request with it). */
    uint64_t *decompressed;
} sl_validate_opts;

/* Kafka's defaults: 1048588-byte batches, 64 MiB decompressed, no control
 * batches, no key requirement, timestamp check off, zstd allowed, deep, no
 * codec context. */
void sl_validate_opts_default(sl_validate_opts *o);

/* Validates the Records field `p[0..len)` of one partition in a Produce
 * request. On success returns 0 and fills *out with the batch header. The
 * record walk of a compressed batch streams the decompressed records
 * through `scratch` (reset first, kept for reuse by the caller), which holds
 * one record at a time: it grows to the largest record plus 64 KiB, never
 * to the whole output (the codec context holds one snappy block besides).
 * zstd frames whose window is too wide to stream are decompressed whole
 * into it (at most max_decompressed_bytes). An uncompressed batch never
 * touches it
 * and allocates nothing
 * (scratch may be NULL then: a compressed batch that must be walked gives
 * SL_ERR_INVALID_ARG).
 * *batch_count_out (may be NULL) receives the number of whole batches found
 * in the bytes: 1 on success, more when several were sent.
 * Returns 0 or a negative SL_ERR_* from the table above. */
int sl_batch_validate(const uint8_t *p, size_t len, const sl_validate_opts *o, sl_batch_header *out,
                      sl_buf *scratch, size_t *batch_count_out);

/* Marks the batch p[0..len) as LogAppendTime: sets attribute bit 3, writes
 * now_ms into maxTimestamp and recomputes the CRC (consumers then take every
 * record's timestamp from maxTimestamp). Returns 0, or SL_ERR_CORRUPT when
 * p does not start with a whole batch. */
int sl_batch_set_log_append_time(uint8_t *p, size_t len, int64_t now_ms);

#endif
