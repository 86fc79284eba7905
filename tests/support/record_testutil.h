/* Test helpers for record batches: a batch around an arbitrary (possibly
 * malformed) records section, with any header values and a correct CRC, so
 * that a test fails exactly the rule it is about. */
#ifndef SL_TEST_RECORD_TESTUTIL_H
#define SL_TEST_RECORD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

typedef struct sl_test_batch {
    int64_t base_offset;
    int32_t leader_epoch;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp, max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} sl_test_batch;

/* Fields of a plain client batch: offset 0, epoch -1, no producer, no
 * compression, `count` records at timestamp ts. */
sl_test_batch sl_test_batch_plain(int32_t count, int64_t ts);

/* Appends the batch (header from f, then records[0..n)) to out, CRC set. */
void sl_test_raw_batch(sl_buf *out, const sl_test_batch *f, const void *records, size_t n);

#endif
