/* Broker and topic configuration: one table of every setting sluiced knows,
 * with Kafka's property names, types, defaults and bounds.
 *
 * Broker settings come from (lowest to highest precedence) the built-in
 * default, a key=value properties file and `--name=value` command-line
 * arguments. Topic settings (retention.ms, segment.bytes, ...) default to a
 * broker setting (their "synonyms", e.g. log.retention.hours) and may be
 * overridden per topic through CreateTopics / AlterConfigs.
 *
 * Thread: immutable after startup, except topic overrides which belong to the
 * metadata image; read from the loop thread.
 */
#ifndef SL_BROKER_CONFIG_H
#define SL_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/kv.h"

typedef enum sl_cfg_type {
    SL_CFG_BOOLEAN = 1, /* values follow Kafka's DescribeConfigs ConfigType */
    SL_CFG_STRING = 2,
    SL_CFG_INT = 3,
    SL_CFG_LONG = 5,
    SL_CFG_DOUBLE = 6,
    SL_CFG_LIST = 7,
    SL_CFG_PASSWORD = 9,
} sl_cfg_type;

/* Where a value came from (Kafka's ConfigSource numbering). */
typedef enum sl_cfg_source {
    SL_CFG_SRC_UNKNOWN = 0,
    SL_CFG_SRC_TOPIC = 1,          /* DYNAMIC_TOPIC_CONFIG */
    SL_CFG_SRC_DYNAMIC_BROKER = 2, /* DYNAMIC_BROKER_CONFIG */
    SL_CFG_SRC_DYNAMIC_DEFAULT = 3,
    SL_CFG_SRC_STATIC_BROKER = 4, /* properties file or command line */
    SL_CFG_SRC_DEFAULT = 5,       /* built-in default */
} sl_cfg_source;

#define SL_CFG_READ_ONLY 0x1 /* cannot be changed while running */

/* X(id, name, type, default ("" = unset), min, max, flags, doc) */
#define SL_BROKER_CONFIGS(X)                                                                       \
    X(NODE_ID, "node.id", SL_CFG_INT, "1", 0, INT32_MAX, SL_CFG_READ_ONLY,                         \
      "Id of this broker in the cluster")                                                          \
    X(BROKER_ID, "broker.id", SL_CFG_INT, "", 0, INT32_MAX, SL_CFG_READ_ONLY,                      \
      "Alias of node.id (older Kafka name)")                                                       \
    X(LISTENERS, "listeners", SL_CFG_LIST, "PLAINTEXT://127.0.0.1:9092", 0, 0, SL_CFG_READ_ONLY,   \
      "Address to listen on, as PLAINTEXT://host:port")                                            \
    X(ADVERTISED_LISTENERS, "advertised.listeners", SL_CFG_LIST, "", 0, 0, SL_CFG_READ_ONLY,       \
      "Address given to clients in Metadata (default: listeners)")                                 \
    X(LOG_DIRS, "log.dirs", SL_CFG_LIST, "", 0, 0, SL_CFG_READ_ONLY,                               \
      "Directory holding partition logs (default: log.dir)")                                       \
    X(LOG_DIR, "log.dir", SL_CFG_STRING, "sluice-data", 0, 0, SL_CFG_READ_ONLY,                    \
      "Data directory used when log.dirs is not set (relative to the working directory)")          \
    X(LOG_LEVEL, "log.level", SL_CFG_STRING, "info", 0, 0, 0,                                      \
      "Log verbosity: debug, info, warn, error")                                                   \
    X(NUM_PARTITIONS, "num.partitions", SL_CFG_INT, "1", 1, 1000000, 0,                            \
      "Partitions of an auto-created topic")                                                       \
    X(DEFAULT_REPLICATION_FACTOR, "default.replication.factor", SL_CFG_INT, "1", 1, 1, 0,          \
      "Replicas of an auto-created topic (single node: 1)")                                        \
    X(AUTO_CREATE_TOPICS_ENABLE, "auto.create.topics.enable", SL_CFG_BOOLEAN, "true", 0, 0, 0,     \
      "Create a topic when a client asks for it in Metadata or Produce")                           \
    X(DELETE_TOPIC_ENABLE, "delete.topic.enable", SL_CFG_BOOLEAN, "true", 0, 0, 0,                 \
      "Allow DeleteTopics")                                                                        \
    X(MESSAGE_MAX_BYTES, "message.max.bytes", SL_CFG_INT, "1048588", 0, INT32_MAX, 0,              \
      "Largest record batch accepted (topic: max.message.bytes)")                                  \
    X(SOCKET_REQUEST_MAX_BYTES, "socket.request.max.bytes", SL_CFG_INT, "104857600", 1024,         \
      INT32_MAX, SL_CFG_READ_ONLY, "Largest request frame; bigger frames close the connection")    \
    X(QUEUED_MAX_REQUESTS, "queued.max.requests", SL_CFG_INT, "500", 1, 1000000, SL_CFG_READ_ONLY, \
      "Requests in flight per connection before the broker stops reading from it")                 \
    X(MAX_CONNECTIONS, "max.connections", SL_CFG_INT, "2147483647", 0, INT32_MAX, 0,               \
      "Maximum open client connections")                                                           \
    X(MAX_CONNECTIONS_PER_IP, "max.connections.per.ip", SL_CFG_INT, "2147483647", 0, INT32_MAX, 0, \
      "Maximum open connections from one IP address")                                              \
    X(MAX_CONNECTIONS_PER_IP_OVERRIDES, "max.connections.per.ip.overrides", SL_CFG_STRING, "", 0,  \
      0, 0, "Per-address exceptions to max.connections.per.ip, as ip:count,ip:count")              \
    X(CONNECTIONS_MAX_IDLE_MS, "connections.max.idle.ms", SL_CFG_LONG, "600000", 0, INT64_MAX, 0,  \
      "Idle connections are closed after this long")                                               \
    X(LOG_SEGMENT_BYTES, "log.segment.bytes", SL_CFG_INT, "1073741824", 14, INT32_MAX, 0,          \
      "Roll a new segment at this size (topic: segment.bytes)")                                    \
    X(LOG_ROLL_HOURS, "log.roll.hours", SL_CFG_INT, "168", 1, INT32_MAX, 0,                        \
      "Roll a new segment after this age (topic: segment.ms)")                                     \
    X(LOG_ROLL_MS, "log.roll.ms", SL_CFG_LONG, "", 1, INT64_MAX, 0,                                \
      "Overrides log.roll.hours when set")                                                         \
    X(LOG_RETENTION_HOURS, "log.retention.hours", SL_CFG_INT, "168", -1, INT32_MAX, 0,             \
      "Delete segments older than this (topic: retention.ms)")                                     \
    X(LOG_RETENTION_MINUTES, "log.retention.minutes", SL_CFG_INT, "", -1, INT32_MAX, 0,            \
      "Overrides log.retention.hours when set")                                                    \
    X(LOG_RETENTION_MS, "log.retention.ms", SL_CFG_LONG, "", -1, INT64_MAX, 0,                     \
      "Overrides log.retention.minutes/hours when set; -1 keeps forever")                          \
    X(LOG_RETENTION_BYTES, "log.retention.bytes", SL_CFG_LONG, "-1", -1, INT64_MAX, 0,             \
      "Delete old segments beyond this partition size; -1 = unlimited")                            \
    X(LOG_RETENTION_CHECK_INTERVAL_MS, "log.retention.check.interval.ms", SL_CFG_LONG, "300000",   \
      1, INT64_MAX, 0, "How often retention runs")                                                 \
    X(LOG_INDEX_INTERVAL_BYTES, "log.index.interval.bytes", SL_CFG_INT, "4096", 0, INT32_MAX, 0,   \
      "Bytes between offset index entries (topic: index.interval.bytes)")                          \
    X(LOG_FLUSH_INTERVAL_MESSAGES, "log.flush.interval.messages", SL_CFG_LONG,                     \
      "9223372036854775807", 1, INT64_MAX, 0,                                                      \
      "fsync after this many messages (topic: flush.messages); acks=all always fsyncs")            \
    X(LOG_FLUSH_INTERVAL_MS, "log.flush.interval.ms", SL_CFG_LONG, "", 0, INT64_MAX, 0,            \
      "fsync at least this often (topic: flush.ms); unset = never")                                \
    X(LOG_CLEANUP_POLICY, "log.cleanup.policy", SL_CFG_LIST, "delete", 0, 0, 0,                    \
      "delete or compact (topic: cleanup.policy)")                                                 \
    X(LOG_MESSAGE_TIMESTAMP_TYPE, "log.message.timestamp.type", SL_CFG_STRING, "CreateTime", 0, 0, \
      0, "CreateTime or LogAppendTime (topic: message.timestamp.type)")                            \
    X(LOG_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS, "log.message.timestamp.difference.max.ms",          \
      SL_CFG_LONG, "9223372036854775807", 0, INT64_MAX, 0,                                         \
      "Reject CreateTime timestamps further than this from the broker clock")                      \
    X(COMPRESSION_TYPE, "compression.type", SL_CFG_STRING, "producer", 0, 0, 0,                    \
      "Stored compression; only 'producer' (keep the client's) is supported")                      \
    X(MIN_INSYNC_REPLICAS, "min.insync.replicas", SL_CFG_INT, "1", 1, INT32_MAX, 0,                \
      "Replicas that must have a write for acks=all")                                              \
    X(OFFSETS_TOPIC_NUM_PARTITIONS, "offsets.topic.num.partitions", SL_CFG_INT, "50", 1, 1000,     \
      SL_CFG_READ_ONLY, "Partitions of __consumer_offsets")                                        \
    X(OFFSETS_TOPIC_SEGMENT_BYTES, "offsets.topic.segment.bytes", SL_CFG_INT, "104857600", 1024,   \
      INT32_MAX, SL_CFG_READ_ONLY, "Segment size of __consumer_offsets")                           \
    X(OFFSETS_RETENTION_MINUTES, "offsets.retention.minutes", SL_CFG_INT, "10080", 1, INT32_MAX,   \
      0, "Committed offsets of an empty group expire after this")                                  \
    X(OFFSETS_RETENTION_CHECK_INTERVAL_MS, "offsets.retention.check.interval.ms", SL_CFG_LONG,     \
      "600000", 1, INT64_MAX, 0, "How often expired offsets are removed")                          \
    X(OFFSET_METADATA_MAX_BYTES, "offset.metadata.max.bytes", SL_CFG_INT, "4096", 0, INT32_MAX, 0, \
      "Largest metadata string of a committed offset")                                             \
    X(GROUP_INITIAL_REBALANCE_DELAY_MS, "group.initial.rebalance.delay.ms", SL_CFG_INT, "3000", 0, \
      INT32_MAX, 0, "Wait for more members before the first rebalance of an empty group")          \
    X(GROUP_MIN_SESSION_TIMEOUT_MS, "group.min.session.timeout.ms", SL_CFG_INT, "6000", 0,         \
      INT32_MAX, 0, "Smallest session timeout a consumer may ask for")                             \
    X(GROUP_MAX_SESSION_TIMEOUT_MS, "group.max.session.timeout.ms", SL_CFG_INT, "1800000", 0,      \
      INT32_MAX, 0, "Largest session timeout a consumer may ask for")                              \
    X(GROUP_MAX_SIZE, "group.max.size", SL_CFG_INT, "2147483647", 1, INT32_MAX, 0,                 \
      "Most members a consumer group may have")                                                    \
    X(TRANSACTIONAL_ID_EXPIRATION_MS, "transactional.id.expiration.ms", SL_CFG_INT, "604800000",   \
      1, INT32_MAX, 0, "Unused transactional ids expire after this")                               \
    X(PRODUCER_ID_EXPIRATION_MS, "producer.id.expiration.ms", SL_CFG_INT, "86400000", 1,           \
      INT32_MAX, 0, "Idempotent producer state expires after this much inactivity")

typedef enum sl_bcfg {
#define SL_X(id, name, type, def, min, max, flags, doc) SL_BCFG_##id,
    SL_BROKER_CONFIGS(SL_X)
#undef SL_X
        SL_BCFG__COUNT
} sl_bcfg;

/* Topic-level settings. Each names the broker setting that supplies its
 * default; the resolution rules live in config.c. */
#define SL_TOPIC_CONFIGS(X)                                                                        \
    X(CLEANUP_POLICY, "cleanup.policy", SL_CFG_LIST, LOG_CLEANUP_POLICY)                           \
    X(COMPRESSION_TYPE, "compression.type", SL_CFG_STRING, COMPRESSION_TYPE)                       \
    X(FLUSH_MESSAGES, "flush.messages", SL_CFG_LONG, LOG_FLUSH_INTERVAL_MESSAGES)                  \
    X(FLUSH_MS, "flush.ms", SL_CFG_LONG, LOG_FLUSH_INTERVAL_MS)                                    \
    X(INDEX_INTERVAL_BYTES, "index.interval.bytes", SL_CFG_INT, LOG_INDEX_INTERVAL_BYTES)          \
    X(MAX_MESSAGE_BYTES, "max.message.bytes", SL_CFG_INT, MESSAGE_MAX_BYTES)                       \
    X(MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS, "message.timestamp.difference.max.ms", SL_CFG_LONG,     \
      LOG_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS)                                                     \
    X(MESSAGE_TIMESTAMP_TYPE, "message.timestamp.type", SL_CFG_STRING, LOG_MESSAGE_TIMESTAMP_TYPE) \
    X(MIN_INSYNC_REPLICAS, "min.insync.replicas", SL_CFG_INT, MIN_INSYNC_REPLICAS)                 \
    X(RETENTION_BYTES, "retention.bytes", SL_CFG_LONG, LOG_RETENTION_BYTES)                        \
    X(RETENTION_MS, "retention.ms", SL_CFG_LONG, LOG_RETENTION_MS)                                 \
    X(SEGMENT_BYTES, "segment.bytes", SL_CFG_INT, LOG_SEGMENT_BYTES)                               \
    X(SEGMENT_MS, "segment.ms", SL_CFG_LONG, LOG_ROLL_MS)

typedef enum sl_tcfg {
#define SL_X(id, name, type, broker) SL_TCFG_##id,
    SL_TOPIC_CONFIGS(SL_X)
#undef SL_X
        SL_TCFG__COUNT
} sl_tcfg;

/* The broker's settings. Opaque. */
typedef struct sl_config sl_config;

sl_config *sl_config_new(void);
void sl_config_free(sl_config *c);

/* Sets one setting from text, with source. Returns 0, SL_ERR_NOT_FOUND for an
 * unknown name or SL_ERR_INVALID_CONFIG for a bad value; `err` (may be NULL)
 * receives a one-line explanation. */
int sl_config_set(sl_config *c, const char *name, const char *value, sl_cfg_source source,
                  char *err, size_t err_len);
/* Loads a key=value properties file (# and ! comments, blank lines). */
int sl_config_load_file(sl_config *c, const char *path, char *err, size_t err_len);
/* Parses a properties text held in memory (used by the file loader and fuzzing). */
int sl_config_load_text(sl_config *c, const char *text, size_t len, const char *origin, char *err,
                        size_t err_len);
/* Cross-setting checks after everything is loaded (e.g. listener syntax). */
int sl_config_finish(sl_config *c, char *err, size_t err_len);

/* Typed getters. A setting whose value is unset reads as `fallback`/NULL. */
bool sl_config_is_set(const sl_config *c, sl_bcfg id);
int64_t sl_config_int(const sl_config *c, sl_bcfg id);
bool sl_config_bool(const sl_config *c, sl_bcfg id);
const char *sl_config_str(const sl_config *c, sl_bcfg id); /* NULL if unset */
sl_cfg_source sl_config_source(const sl_config *c, sl_bcfg id);

/* Derived values used everywhere. */
int32_t sl_config_node_id(const sl_config *c);
/* First log directory (log.dirs' first entry, else log.dir). */
const char *sl_config_log_dir(const sl_config *c);
/* Host and port parsed from listeners / advertised.listeners. */
const char *sl_config_listen_host(const sl_config *c);
int sl_config_listen_port(const sl_config *c);
const char *sl_config_advertised_host(const sl_config *c);
int sl_config_advertised_port(const sl_config *c);

/* Table access for --help and DescribeConfigs. */
typedef struct sl_cfg_def {
    const char *name;
    sl_cfg_type type;
    const char *default_value; /* "" = unset */
    int64_t min, max;
    unsigned flags;
    const char *doc;
} sl_cfg_def;
const sl_cfg_def *sl_config_def(sl_bcfg id);
/* Index of a broker setting by name, or -1. */
int sl_config_lookup(const char *name);

/* ---- topic settings ---- */

/* Index of a topic setting by name, or -1. */
int sl_topic_config_lookup(const char *name);
const char *sl_topic_config_name(sl_tcfg id);
sl_cfg_type sl_topic_config_type(sl_tcfg id);
/* The broker setting that supplies this topic setting's default. */
sl_bcfg sl_topic_config_broker_synonym(sl_tcfg id);
/* Validates one topic override. 0 or SL_ERR_NOT_FOUND / SL_ERR_INVALID_CONFIG. */
int sl_topic_config_validate(const char *name, const char *value, char *err, size_t err_len);
/* The effective broker-level default of a topic setting, as text written into
 * buf (e.g. retention.ms from log.retention.hours). Returns buf, or NULL when
 * the setting has no value (e.g. flush.ms never). */
const char *sl_topic_config_default(const sl_config *c, sl_tcfg id, char *buf, size_t len);

/* A topic's effective settings, resolved from overrides and broker defaults. */
typedef struct sl_topic_config {
    int64_t retention_ms;    /* -1 = forever */
    int64_t retention_bytes; /* -1 = unlimited */
    int64_t segment_bytes;
    int64_t segment_ms;
    int64_t index_interval_bytes;
    int64_t flush_messages; /* INT64_MAX = never */
    int64_t flush_ms;       /* -1 = never */
    int64_t max_message_bytes;
    int64_t timestamp_difference_max_ms;
    int32_t min_insync_replicas;
    bool log_append_time;  /* message.timestamp.type=LogAppendTime */
    bool compact;          /* cleanup.policy contains compact */
    bool delete_retention; /* cleanup.policy contains delete */
} sl_topic_config;

void sl_topic_config_resolve(const sl_config *c, const sl_config_kv *overrides, int n,
                             sl_topic_config *out);

/* Writes `sluiced --help`'s settings table. */
void sl_config_print_help(FILE *out);
/* The same as a markdown table (docs/configuration.md is generated from it). */
void sl_config_print_markdown(FILE *out);

#endif
