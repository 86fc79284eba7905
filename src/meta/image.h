/* The metadata image: the in-memory state that the metadata log describes.
 *
 * Brokers, topics (by name and by id), partitions with their replicas,
 * leader, leader epoch and ISR, explicitly set topic configs, dynamic broker
 * configs (per node and cluster-wide), the cluster id, the next free producer
 * id and the offset (Raft index) of the last applied record.
 *
 * Owner: the thread that owns the sl_meta (the libuv loop thread). Readers
 * get borrowed const pointers that stay valid until the next record is
 * applied, i.e. until control returns to the loop; copy what must outlive
 * that.
 *
 * The read-only accessors are the broker's API. The mutating functions
 * (new/free/apply/snapshot) belong to meta.c; tests and the fuzz target use
 * them to drive a scratch image without Raft.
 */
#ifndef SL_META_IMAGE_H
#define SL_META_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "meta/record.h"

typedef struct sl_meta_image sl_meta_image;
typedef struct sl_meta_topic sl_meta_topic;
typedef struct sl_meta_partition sl_meta_partition;
typedef struct sl_meta_broker sl_meta_broker;

/* ---- read-only accessors ------------------------------------------------ */

const char *sl_meta_image_cluster_id(const sl_meta_image *img);
/* Raft index of the last record applied (0 before any). Changes whenever the
 * image may have changed, so it can key caches of encoded responses. */
int64_t sl_meta_image_offset(const sl_meta_image *img);
/* First producer id not yet handed out to any broker. */
int64_t sl_meta_image_next_producer_id(const sl_meta_image *img);

/* Topics in no particular order; index i is valid until the next apply. */
size_t sl_meta_topic_count(const sl_meta_image *img);
const sl_meta_topic *sl_meta_topic_at(const sl_meta_image *img, size_t i);
const sl_meta_topic *sl_meta_topic_by_name(const sl_meta_image *img, const char *name, size_t len);
const sl_meta_topic *sl_meta_topic_by_id(const sl_meta_image *img, const uint8_t id[16]);

const char *sl_meta_topic_name(const sl_meta_topic *t);  /* NUL-terminated */
const uint8_t *sl_meta_topic_id(const sl_meta_topic *t); /* 16 bytes */
int32_t sl_meta_topic_partition_count(const sl_meta_topic *t);
/* NULL if p is out of range. */
const sl_meta_partition *sl_meta_topic_partition(const sl_meta_topic *t, int32_t p);
/* Only explicitly set keys; defaults are resolved by the caller. Sorted by key. */
size_t sl_meta_topic_config_count(const sl_meta_topic *t);
void sl_meta_topic_config_at(const sl_meta_topic *t, size_t i, const char **key,
                             const char **value);
/* NULL if the key is not set on the topic. */
const char *sl_meta_topic_config(const sl_meta_topic *t, const char *key);

int32_t sl_meta_partition_leader(const sl_meta_partition *p); /* -1 = none */
int32_t sl_meta_partition_leader_epoch(const sl_meta_partition *p);
const int32_t *sl_meta_partition_replicas(const sl_meta_partition *p, size_t *n);
const int32_t *sl_meta_partition_isr(const sl_meta_partition *p, size_t *n);

/* Registered brokers, sorted by node id. */
size_t sl_meta_broker_count(const sl_meta_image *img);
const sl_meta_broker *sl_meta_broker_at(const sl_meta_image *img, size_t i);
const sl_meta_broker *sl_meta_broker_by_id(const sl_meta_image *img, int32_t node_id);
int32_t sl_meta_broker_node_id(const sl_meta_broker *b);
const char *sl_meta_broker_host(const sl_meta_broker *b);
int32_t sl_meta_broker_port(const sl_meta_broker *b);
const char *sl_meta_broker_rack(const sl_meta_broker *b); /* NULL if none */

/* Dynamic broker configs: node_id >= 0 for one broker, -1 for the
 * cluster-wide default. Only explicitly set keys, sorted by key. */
size_t sl_meta_broker_config_count(const sl_meta_image *img, int32_t node_id);
void sl_meta_broker_config_at(const sl_meta_image *img, int32_t node_id, size_t i, const char **key,
                              const char **value);
const char *sl_meta_broker_config(const sl_meta_image *img, int32_t node_id, const char *key);

/* Kafka's topic name rule: 1-249 characters of [a-zA-Z0-9._-], and neither
 * "." nor "..". Pure function. */
bool sl_meta_valid_topic_name(const char *name, size_t len);
/* Kafka treats '.' and '_' as the same character when it checks a new topic
 * name against existing ones (both map to the same metric names). Returns
 * the existing topic that `name` collides with (different name, equal after
 * replacing '.' by '_'), or NULL. */
const sl_meta_topic *sl_meta_topic_colliding(const sl_meta_image *img, const char *name,
                                             size_t len);

/* Formats a 16-byte id as Kafka prints it: URL-safe base64 without padding
 * (22 characters + NUL). */
void sl_meta_uuid_format(const uint8_t id[16], char out[23]);
/* Parses that form back; returns false if `s` is not 22 valid characters. */
bool sl_meta_uuid_parse(const char *s, uint8_t id[16]);
bool sl_meta_uuid_is_zero(const uint8_t id[16]);

/* ---- change events ------------------------------------------------------ */

enum sl_meta_event_type {
    SL_META_EV_BROKER_REGISTERED = 1,
    SL_META_EV_TOPIC_CREATED,
    SL_META_EV_TOPIC_DELETED, /* topic still readable, no longer findable */
    SL_META_EV_PARTITIONS_ADDED,
    SL_META_EV_PARTITION_CHANGED,
    SL_META_EV_TOPIC_CONFIG_CHANGED,
    SL_META_EV_BROKER_CONFIG_CHANGED,
    SL_META_EV_PRODUCER_IDS,
};

typedef struct sl_meta_event {
    int type; /* enum sl_meta_event_type */
    const sl_meta_topic *topic;
    const sl_meta_broker *broker;
    int32_t node_id;   /* BROKER_CONFIG_CHANGED (-1 cluster-wide), PRODUCER_IDS */
    int32_t partition; /* PARTITION_CHANGED */
    int32_t old_count; /* PARTITIONS_ADDED: partition count before */
} sl_meta_event;

typedef void (*sl_meta_event_fn)(void *ctx, const sl_meta_event *ev);

/* ---- mutation (meta.c, tests, fuzz) ------------------------------------- */

sl_meta_image *sl_meta_image_new(const char *cluster_id);
void sl_meta_image_free(sl_meta_image *img);

/* Would `rec` apply cleanly? 0, or the status its apply would report:
 * SL_ERR_EXISTS, SL_ERR_NOT_FOUND, SL_ERR_INVALID_TOPIC,
 * SL_ERR_INVALID_PARTITIONS, SL_ERR_INVALID_REPLICATION_FACTOR,
 * SL_ERR_INVALID_CONFIG, SL_ERR_INVALID_ARG. Depends only on the image and
 * the record, never on the clock or the node, so every replica agrees. */
int sl_meta_image_check(const sl_meta_image *img, const sl_meta_record *rec);

/* Applies `rec`, stored at log index `offset`, to the image. A record that
 * does not pass sl_meta_image_check changes nothing but the offset and its
 * status is returned; SKIP records are no-ops. `fn` (may be NULL) hears one
 * event per change, after the change is made. */
int sl_meta_image_apply(sl_meta_image *img, const sl_meta_record *rec, int64_t offset,
                        sl_meta_event_fn fn, void *ctx);

/* Serializes the image in canonical form (topics sorted by name, everything
 * else sorted by key), so two images are equal iff their encodings are.
 * Format documented in image.c. */
void sl_meta_image_encode(const sl_meta_image *img, sl_buf *out);
/* Rebuilds an image from sl_meta_image_encode output; SL_ERR_CORRUPT on a
 * checksum mismatch, SL_ERR_DECODE / SL_ERR_TRUNCATED / SL_ERR_UNSUPPORTED_VERSION
 * on malformed input, or an apply status if the content breaks an image rule. */
int sl_meta_image_decode(const void *data, size_t len, sl_meta_image **out);
bool sl_meta_image_equal(const sl_meta_image *a, const sl_meta_image *b);

/* Bytes of heap the image holds (approximate; for measurements). */
size_t sl_meta_image_memory(const sl_meta_image *img);

#endif
