/* Metadata records: the entries of the metadata log (see record.c for the
 * byte layout).
 *
 * A record is one change to the metadata image: a broker registered, a topic
 * created or removed, partitions added, configs altered, a block of producer
 * ids handed out, a partition's leader/ISR changed. Records are encoded by the
 * proposer, stored and replicated by Raft, and decoded by every replica when
 * they are applied; the decoder is therefore a parser of disk (and, in a
 * cluster, network) input and refuses anything malformed or oversized before
 * allocating.
 *
 * Pure functions; no owning thread.
 */
#ifndef SL_META_RECORD_H
#define SL_META_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"

/* Framing version (byte 0 of every record). */
#define SL_META_RECORD_FORMAT 1
/* Flag bit: an older reader that does not know this type/version may skip
 * the record instead of stopping (only for records that carry hints, never
 * for state an image needs to be correct). */
#define SL_META_RECORD_IGNORABLE 0x01

/* Structural limits enforced by the decoder and by proposals. */
#define SL_META_MAX_TOPIC_NAME   249
#define SL_META_MAX_HOST         255
#define SL_META_MAX_RACK         255
#define SL_META_MAX_CONFIG_KEY   255
#define SL_META_MAX_CONFIG_VALUE 65535
#define SL_META_MAX_CONFIG_OPS   1024
#define SL_META_MAX_PARTITIONS   100000  /* per topic */
#define SL_META_MAX_REPLICAS     64      /* per partition */
#define SL_META_MAX_PID_BLOCK    1000000 /* producer ids per allocation */

enum sl_meta_record_type {
    SL_META_REC_REGISTER_BROKER = 1,
    SL_META_REC_TOPIC = 2,
    SL_META_REC_REMOVE_TOPIC = 3,
    SL_META_REC_PARTITIONS = 4,
    SL_META_REC_CONFIG = 5,
    SL_META_REC_PRODUCER_IDS = 6,
    SL_META_REC_PARTITION_CHANGE = 7,
    /* 8 is reserved for feature levels (metadata.version); 9.. for later. */
    SL_META_REC__MAX = 7,
    /* Returned by the decoder for an unknown record marked ignorable. */
    SL_META_REC_SKIP = 255
};

enum sl_meta_config_resource {
    SL_META_CONFIG_TOPIC = 1,
    SL_META_CONFIG_BROKER = 2 /* node_id >= 0, or -1 for the cluster-wide default */
};

/* A byte string that is not NUL-terminated; ptr == NULL means null (only
 * where a field is nullable). Decoded strings point into the input. */
typedef struct sl_meta_str {
    const char *ptr;
    uint32_t len;
} sl_meta_str;

typedef struct sl_meta_partition_spec {
    int32_t leader; /* -1 = none */
    int32_t leader_epoch;
    uint32_t n_replicas;
    uint32_t n_isr;
    const int32_t *replicas;
    const int32_t *isr;
} sl_meta_partition_spec;

typedef struct sl_meta_config_op {
    sl_meta_str key;
    sl_meta_str value; /* ptr == NULL: delete the key */
} sl_meta_config_op;

typedef struct sl_meta_record {
    uint8_t type; /* enum sl_meta_record_type */
    uint8_t version;
    uint8_t flags;
    union {
        struct {
            int32_t node_id;
            int32_t port;
            sl_meta_str host;
            sl_meta_str rack; /* nullable */
        } broker;
        struct {
            sl_meta_str name;
            uint8_t id[16];
            uint32_t n_partitions;
            const sl_meta_partition_spec *partitions;
            uint32_t n_configs;
            const sl_meta_config_op *configs; /* values are never null here */
        } topic;
        struct {
            uint8_t id[16];
        } remove_topic;
        struct {
            uint8_t id[16];
            uint32_t first; /* index of the first new partition = current count */
            uint32_t n;
            const sl_meta_partition_spec *partitions;
        } partitions;
        struct {
            uint8_t resource; /* enum sl_meta_config_resource */
            bool replace;     /* drop every key not named in ops first */
            uint8_t topic_id[16];
            int32_t node_id;
            uint32_t n_ops;
            const sl_meta_config_op *ops;
        } config;
        struct {
            int32_t node_id; /* broker that takes the block */
            int64_t first_id;
            int32_t count;
        } producer_ids;
        struct {
            uint8_t topic_id[16];
            int32_t partition;
            int32_t leader;
            int32_t leader_epoch;
            uint32_t n_isr;
            const int32_t *isr;
        } partition_change;
    };
} sl_meta_record;

/* Current body version of each record type this build writes and reads. */
uint8_t sl_meta_record_version(uint8_t type);
/* Short name ("topic", "config", ...) for logs; "unknown" otherwise. */
const char *sl_meta_record_type_name(uint8_t type);

/* Appends the encoding of `rec` (its type; version and flags are taken from
 * the record, version 0 meaning current) to `out`. Returns 0, or
 * SL_ERR_INVALID_ARG if a field breaks a structural limit. */
int sl_meta_record_encode(const sl_meta_record *rec, sl_buf *out);

/* Decodes one record occupying exactly [data, data+len). Arrays come from
 * `arena`; strings point into `data`, which must outlive the record.
 * Returns 0; SL_ERR_TRUNCATED / SL_ERR_DECODE for malformed input;
 * SL_ERR_UNSUPPORTED_VERSION for a record type or version this build does
 * not know (written by a newer sluice); an unknown record marked ignorable
 * decodes as type SL_META_REC_SKIP. */
int sl_meta_record_decode(const void *data, size_t len, sl_arena *arena, sl_meta_record *out);

/* Decodes a metadata log entry: one record followed by zero padding up to
 * a multiple of 8 bytes (see record.c). Same errors as above; bad padding
 * is SL_ERR_DECODE. */
int sl_meta_record_decode_entry(const void *data, size_t len, sl_arena *arena, sl_meta_record *out);
/* Appends the zero padding that makes `out` a valid entry. */
void sl_meta_record_pad(sl_buf *out);

/* The partition list and configs of a TOPIC record body, shared by the
 * snapshot format (image.c). */
void sl_meta_encode_topic_body(sl_buf *out, const sl_meta_record *rec);
int sl_meta_decode_topic_body(sl_reader *r, sl_arena *arena, sl_meta_record *out);
void sl_meta_put_str(sl_buf *out, sl_meta_str s);
void sl_meta_put_nstr(sl_buf *out, sl_meta_str s);
sl_meta_str sl_meta_read_str(sl_reader *r, uint32_t max);
sl_meta_str sl_meta_read_nstr(sl_reader *r, uint32_t max);

static inline sl_meta_str sl_meta_cstr(const char *s)
{
    sl_meta_str r = {s, s ? (uint32_t)strlen(s) : 0};
    return r;
}

#endif
