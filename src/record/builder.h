/* Building record batches: for internal topics (__consumer_offsets), tools
 * and tests. The broker never rebuilds client batches on the produce path. */
#ifndef SL_RECORD_BUILDER_H
#define SL_RECORD_BUILDER_H

#include <stdint.h>

#include "base/buf.h"
#include "record/batch.h"

typedef struct sl_header_kv {
    const void *key;
    int32_t key_len; /* never null in Kafka; -1 is refused */
    const void *value;
    int32_t value_len; /* -1 = null */
} sl_header_kv;

typedef struct sl_batch_opts {
    int64_t base_offset;
    int32_t leader_epoch; /* usually -1 from producers */
    enum sl_compression compression;
    int16_t extra_attributes; /* e.g. SL_BATCH_ATTR_TRANSACTIONAL | ..._CONTROL */
    int64_t producer_id;      /* -1 if none */
    int16_t producer_epoch;   /* -1 if none */
    int32_t base_sequence;    /* -1 if none */
} sl_batch_opts;

/* Defaults: offset 0, no producer, no compression, epoch -1. */
void sl_batch_opts_default(sl_batch_opts *o);

typedef struct sl_batch_builder {
    sl_buf *out;    /* the finished batch is appended here */
    size_t start;   /* where this batch begins in out */
    sl_buf records; /* records section before compression */
    sl_batch_opts opts;
    int32_t count;
    int64_t base_timestamp;
    int64_t max_timestamp;
} sl_batch_builder;

void sl_batch_builder_begin(sl_batch_builder *b, sl_buf *out, const sl_batch_opts *opts);
/* Adds one record. key_len / value_len of -1 mean null. */
void sl_batch_builder_add(sl_batch_builder *b, int64_t timestamp_ms, const void *key,
                          int32_t key_len, const void *value, int32_t value_len,
                          const sl_header_kv *headers, int header_count);
/* Writes header, (compressed) records and CRC to `out`. Returns the batch's
 * total size or a negative SL_ERR_*. Frees the builder's scratch memory. */
int64_t sl_batch_builder_finish(sl_batch_builder *b);

#endif
