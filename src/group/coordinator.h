/* sl_coord: the classic consumer-group coordinator.
 *
 * Owns every group of this broker: membership (in memory), the rebalance
 * state machine, and committed offsets (in memory, made durable through a
 * store that appends records to the internal topic __consumer_offsets and
 * calls back once they are fsynced). The wire format of requests and
 * responses is the broker's business: this module takes plain parameters
 * and answers through callbacks, because joins and syncs wait for other
 * members and commits wait for the disk.
 *
 * Group state machine (checked on every move, see coordinator.c):
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined──▶ CompletingRebalance
 *     ▲                 ▲  │ (everyone left)                 │ leader sync
 *     │                 │  ▼                                 ▼
 *     └────── Empty ◀───┴───────── join/leave/timeout ──── Stable
 *   Any state ──delete / offsets expired──▶ Dead
 *
 * Thread: the broker's loop thread. Callbacks run on it, either before the
 * call returns or later; result pointers are valid only during a callback.
 */
#ifndef SL_GROUP_COORDINATOR_H
#define SL_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

typedef struct sl_coord sl_coord;

/* A length-delimited string or byte run (ptr may be NULL when len <= 0;
 * len -1 = null). Borrowed: the coordinator copies what it keeps. */
typedef struct sl_gstr {
    const char *ptr;
    int32_t len;
} sl_gstr;

/* ---- persistence ---- */

typedef void (*sl_coord_done_cb)(void *arg, int status);

/* How the coordinator writes to __consumer_offsets: the broker appends the
 * batch to partition `partition` and calls done once it is durable (the
 * same rule as an acks=all produce), or with an error. */
typedef struct sl_coord_store {
    void *ctx;
    int (*append)(void *ctx, int32_t partition, uint8_t *batch, size_t len, sl_coord_done_cb done,
                  void *arg);
} sl_coord_store;

typedef struct sl_coord_config {
    int32_t offsets_partitions; /* offsets.topic.num.partitions */
    int64_t initial_rebalance_delay_ms;
    int64_t min_session_timeout_ms, max_session_timeout_ms;
    int32_t max_size;             /* group.max.size */
    int64_t offsets_retention_ms; /* offsets.retention.minutes */
    int32_t offset_metadata_max_bytes;
} sl_coord_config;

sl_coord *sl_coord_new(const sl_coord_config *cfg, const sl_coord_store *store);
void sl_coord_free(sl_coord *c);
/* Answers every parked join/sync with COORDINATOR_NOT_AVAILABLE-style errors
 * (SL_ERR_CLOSED) so the broker can stop. */
void sl_coord_shutdown(sl_coord *c);

/* The __consumer_offsets partition that holds a group (Kafka's rule: Java
 * String.hashCode of the id, made non-negative, modulo the partition count,
 * so tools that compute it agree). */
int32_t sl_coord_partition_for(const sl_coord *c, const char *group, size_t len);

/* ---- loading at startup ---- */

/* Feeds one record read back from __consumer_offsets (in log order).
 * value_len -1 is a tombstone. Unknown or malformed records are skipped
 * with a warning (returns SL_ERR_CORRUPT for the log line). */
int sl_coord_load_record(sl_coord *c, const uint8_t *key, int32_t key_len, const uint8_t *value,
                         int32_t value_len, int64_t now_ms);
/* After loading: starts session timers of loaded members. */
void sl_coord_loaded(sl_coord *c, int64_t now_ms);

/* ---- membership ---- */

typedef struct sl_join_protocol {
    sl_gstr name;
    sl_gstr metadata;
} sl_join_protocol;

typedef struct sl_join_params {
    sl_gstr group_id;
    sl_gstr member_id;   /* "" for a new member */
    sl_gstr instance_id; /* len -1 = none (dynamic member) */
    sl_gstr client_id;
    sl_gstr client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* -1 = session timeout (JoinGroup v0) */
    sl_gstr protocol_type;
    const sl_join_protocol *protocols;
    int32_t nprotocols;
    bool require_known_member_id;  /* JoinGroup v4+: MEMBER_ID_REQUIRED first */
    bool supports_skip_assignment; /* JoinGroup v9+ */
} sl_join_params;

typedef struct sl_join_member {
    sl_gstr member_id;
    sl_gstr instance_id;
    sl_gstr metadata;
} sl_join_member;

typedef struct sl_join_result {
    int error;                /* 0 or SL_ERR_*: UNKNOWN_MEMBER, MEMBER_ID_REQUIRED, FENCED_INSTANCE,
                                 INCONSISTENT_PROTOCOL, GROUP_FULL, INVALID_ARG (group id / session
                                 timeout), CLOSED */
    bool bad_session_timeout; /* INVALID_ARG because of the session timeout */
    int32_t generation;
    sl_gstr protocol_type;
    sl_gstr protocol_name;
    sl_gstr leader;
    sl_gstr member_id;
    bool skip_assignment;
    const sl_join_member *members; /* only for the leader */
    int32_t nmembers;
} sl_join_result;

typedef void (*sl_join_cb)(void *arg, const sl_join_result *r);
void sl_coord_join(sl_coord *c, const sl_join_params *p, int64_t now_ms, sl_join_cb cb, void *arg);

typedef struct sl_sync_assignment {
    sl_gstr member_id;
    sl_gstr assignment;
} sl_sync_assignment;

typedef struct sl_sync_params {
    sl_gstr group_id;
    int32_t generation;
    sl_gstr member_id;
    sl_gstr instance_id;
    sl_gstr protocol_type; /* len -1 = not given (SyncGroup < v5) */
    sl_gstr protocol_name;
    const sl_sync_assignment *assignments; /* from the leader */
    int32_t nassignments;
} sl_sync_params;

typedef struct sl_sync_result {
    int error; /* UNKNOWN_MEMBER, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS,
                  FENCED_INSTANCE, INCONSISTENT_PROTOCOL, CLOSED, IO */
    sl_gstr protocol_type;
    sl_gstr protocol_name;
    sl_gstr assignment;
} sl_sync_result;

typedef void (*sl_sync_cb)(void *arg, const sl_sync_result *r);
void sl_coord_sync(sl_coord *c, const sl_sync_params *p, int64_t now_ms, sl_sync_cb cb, void *arg);

/* 0 or UNKNOWN_MEMBER / ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS /
 * FENCED_INSTANCE. */
int sl_coord_heartbeat(sl_coord *c, sl_gstr group_id, int32_t generation, sl_gstr member_id,
                       sl_gstr instance_id, int64_t now_ms);

/* Removes one member (member id and/or instance id). 0 or UNKNOWN_MEMBER /
 * FENCED_INSTANCE. A group left empty records that durably (not awaited). */
int sl_coord_leave(sl_coord *c, sl_gstr group_id, sl_gstr member_id, sl_gstr instance_id,
                   int64_t now_ms);
/* Whether the group exists (for LeaveGroup's group-level error). */
bool sl_coord_group_exists(const sl_coord *c, sl_gstr group_id);

/* ---- offsets ---- */

typedef struct sl_commit_offset {
    sl_gstr topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    sl_gstr metadata; /* len -1 = null */
    int error;        /* out: per-partition result (0 or SL_ERR_TOO_LARGE) */
} sl_commit_offset;

typedef struct sl_commit_params {
    sl_gstr group_id;
    int32_t generation; /* -1 with an empty member id: "simple" commit */
    sl_gstr member_id;
    sl_gstr instance_id;
    sl_commit_offset *offsets; /* per-offset errors are written back here */
    int32_t noffsets;
} sl_commit_params;

/* Calls cb(arg, status) once the offsets are durable (status 0; failed
 * partitions have their own error) or rejected as a whole (UNKNOWN_MEMBER,
 * ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, FENCED_INSTANCE, INVALID_ARG for
 * an empty group id, IO/OFFLINE). */
void sl_coord_commit(sl_coord *c, sl_commit_params *p, int64_t now_ms, sl_coord_done_cb cb,
                     void *arg);

/* Committed offset of one partition: 0 and the fields, or SL_ERR_NOT_FOUND. */
int sl_coord_offset(const sl_coord *c, sl_gstr group_id, sl_gstr topic, int32_t partition,
                    int64_t *offset, int32_t *leader_epoch, sl_gstr *metadata);

/* Visits every committed offset of a group (topic order unspecified). */
typedef void (*sl_offset_visit_fn)(void *arg, sl_gstr topic, int32_t partition, int64_t offset,
                                   int32_t leader_epoch, sl_gstr metadata);
void sl_coord_visit_offsets(const sl_coord *c, sl_gstr group_id, sl_offset_visit_fn fn, void *arg);

/* ---- administration ---- */

typedef struct sl_group_member_info {
    sl_gstr member_id;
    sl_gstr instance_id;
    sl_gstr client_id;
    sl_gstr client_host;
    sl_gstr metadata; /* for the selected protocol */
    sl_gstr assignment;
} sl_group_member_info;

typedef struct sl_group_info {
    sl_gstr group_id;
    const char *state; /* "Empty", "PreparingRebalance", ..., "Dead" */
    sl_gstr protocol_type;
    sl_gstr protocol_name;
    int32_t generation;
    const sl_group_member_info *members;
    int32_t nmembers;
} sl_group_info;

/* Describes a group; an unknown group is reported as state "Dead" with no
 * members (as Kafka does). */
typedef void (*sl_group_visit_fn)(void *arg, const sl_group_info *g);
void sl_coord_describe(sl_coord *c, sl_gstr group_id, sl_group_visit_fn fn, void *arg);
/* Visits every group (members not filled in). */
void sl_coord_list(sl_coord *c, sl_group_visit_fn fn, void *arg);

/* Deletes an empty group and its offsets: 0 (durable when cb runs),
 * SL_ERR_NOT_FOUND, SL_ERR_NOT_EMPTY. cb is called only when 0 is returned. */
int sl_coord_delete_group(sl_coord *c, sl_gstr group_id, int64_t now_ms, sl_coord_done_cb cb,
                          void *arg);

/* OffsetDelete: removes committed offsets of partitions of one topic.
 * Returns 0 (cb follows), SL_ERR_NOT_FOUND (no group) or
 * SL_ERR_NOT_EMPTY when an active consumer group subscribes to the topic. */
int sl_coord_delete_offsets(sl_coord *c, sl_gstr group_id, sl_gstr topic, const int32_t *partitions,
                            int32_t n, int64_t now_ms, sl_coord_done_cb cb, void *arg);
/* Whether the group is active and subscribed to the topic (OffsetDelete). */
bool sl_coord_subscribed(const sl_coord *c, sl_gstr group_id, sl_gstr topic);

/* Timers: session and rebalance timeouts, delayed initial rebalance,
 * offset expiry. Call every ~100 ms. */
void sl_coord_tick(sl_coord *c, int64_t now_ms);

/* Counters for tests and metrics. */
typedef struct sl_coord_stats {
    uint64_t groups;
    uint64_t rebalances;
    uint64_t members_expired;
    uint64_t offsets_committed;
    uint64_t offsets_expired;
    uint64_t records_loaded;
} sl_coord_stats;
void sl_coord_get_stats(const sl_coord *c, sl_coord_stats *out);

#endif
