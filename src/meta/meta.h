/* sl_meta: the metadata log and its image.
 *
 * Metadata (brokers, topics, partitions, replica assignment, configs,
 * producer id blocks) is a log of records (record.h) applied to an in-memory
 * image (image.h). The log is a Raft group (libraft, the only user of it in
 * sluice): on one node a single voter that is leader as soon as it starts;
 * in a cluster the same log would be replicated by a quorum of controllers
 * (the transport is the seam: see meta.c).
 *
 * Owner thread: the libuv loop passed to sl_meta_open. Every function and
 * every callback runs on it.
 *
 * Files, under the log directory `log_dir` given in the config:
 *   meta.properties   cluster.id / node.id / version=1, like Kafka's
 *   __meta/           libraft's directory (metadata1/2, segments, snapshots)
 *
 * Proposals: each sl_meta_<change> function validates the change against
 * the image and returns a negative SL_ERR_* at once if it cannot apply (the
 * callback is then never called); otherwise it returns 0 and the callback
 * runs exactly once, after the record is committed and applied (status 0)
 * or when it failed (the apply-time check, which repeats the validation
 * deterministically on every replica, or SL_ERR_CLOSED / SL_ERR_IO).
 */
#ifndef SL_META_META_H
#define SL_META_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/kv.h"
#include "meta/image.h"

typedef struct sl_meta sl_meta;

typedef void (*sl_meta_ready_cb)(void *arg, int status);
typedef void (*sl_meta_close_cb)(void *arg);
typedef void (*sl_meta_cb)(void *arg, int status);
/* `topic` is the applied topic (borrowed; NULL on failure). */
typedef void (*sl_meta_topic_cb)(void *arg, int status, const sl_meta_topic *topic);
/* On success the ids [first_id, first_id + count) are this broker's. */
typedef void (*sl_meta_pid_cb)(void *arg, int status, int64_t first_id, int32_t count);

typedef struct sl_meta_config {
    const char *log_dir;         /* meta.properties and __meta/ go here */
    int32_t node_id;             /* >= 0; must match meta.properties if present */
    const char *cluster_id;      /* NULL: generate on first start, then keep */
    const char *advertised_host; /* registered for this node */
    int32_t advertised_port;
    const char *rack; /* NULL: none */
    /* Raft log tuning; 0 = default. */
    unsigned snapshot_threshold; /* entries between snapshots (default 1024) */
    unsigned snapshot_trailing;  /* entries kept after a snapshot (default 128) */
    size_t segment_size_bytes;   /* preallocated open segment size (default 1 MiB) */
    sl_meta_ready_cb ready_cb;   /* once: image replayed, this node leader and registered */
    void *ready_arg;
} sl_meta_config;

/* Listener of applied changes. Every member may be NULL. Calls run on the
 * loop thread right after the record is applied (before the proposer's
 * callback), with borrowed pointers valid only during the call.
 *
 * Startup: records replayed from the log or restored from a snapshot do NOT
 * produce per-record events. Instead `loaded` is called once, after the
 * replay and before ready_cb, with the whole image: reconcile against it
 * (e.g. create missing partition directories, remove those of deleted
 * topics). Every record applied after that produces its events. */
typedef struct sl_meta_listener {
    void *arg;
    void (*loaded)(void *arg, const sl_meta_image *img);
    void (*broker_registered)(void *arg, const sl_meta_broker *b);
    void (*topic_created)(void *arg, const sl_meta_topic *t);
    /* The topic is already removed from the lookups; `t` is freed after. */
    void (*topic_deleted)(void *arg, const sl_meta_topic *t);
    void (*partitions_added)(void *arg, const sl_meta_topic *t, int32_t old_count);
    void (*partition_changed)(void *arg, const sl_meta_topic *t, int32_t partition);
    void (*topic_config_changed)(void *arg, const sl_meta_topic *t);
    void (*broker_config_changed)(void *arg, int32_t node_id); /* -1: cluster-wide */
} sl_meta_listener;

/* Opens (creating on first start) the metadata log under cfg->log_dir and
 * starts replaying it. Synchronous failures return a negative SL_ERR_* and
 * leave nothing to close: SL_ERR_INVALID_CONFIG (node id or cluster id
 * differ from meta.properties, bad config), SL_ERR_IO (directory or file
 * errors), SL_ERR_CORRUPT (unreadable meta.properties). Later failures
 * (unreadable log, a record from a newer version) arrive as ready_cb's
 * status; the caller then closes the instance. */
int sl_meta_open(uv_loop_t *loop, const sl_meta_config *cfg, sl_meta **out);

/* Stops: pending proposals fail with SL_ERR_CLOSED (ready_cb too if it has
 * not run yet), Raft and its files are closed, then `cb` runs and the
 * instance is freed. Safe to call from any sl_meta callback. */
void sl_meta_close(sl_meta *m, sl_meta_close_cb cb, void *arg);

const sl_meta_image *sl_meta_get_image(const sl_meta *m);
int32_t sl_meta_node_id(const sl_meta *m);
const char *sl_meta_cluster_id(const sl_meta *m);
bool sl_meta_is_ready(const sl_meta *m);

/* Counters for metrics and tests. */
typedef struct sl_meta_stats {
    uint64_t records_replayed; /* applied at startup, before `loaded` */
    uint64_t records_applied;  /* applied after it */
    uint64_t records_rejected; /* applied but refused by the image checks */
    uint64_t snapshots_taken;
    uint64_t snapshots_restored;
} sl_meta_stats;
void sl_meta_get_stats(const sl_meta *m, sl_meta_stats *out);

/* The listener struct is borrowed until removed (or the instance closed). */
void sl_meta_add_listener(sl_meta *m, const sl_meta_listener *l);
void sl_meta_remove_listener(sl_meta *m, const sl_meta_listener *l);

/* ---- proposals ------------------------------------------------------------ */

/* Validation only (CreateTopics validate_only): 0 or the error a create
 * would fail with right now. */
int sl_meta_check_create_topic(const sl_meta *m, const char *name, int32_t partitions,
                               int16_t replication_factor, const sl_config_kv *configs,
                               size_t n_configs);
/* Creates a topic with a fresh random id, `partitions` >= 1 partitions and
 * `replication_factor` replicas each, assigned round-robin over the
 * registered brokers (single node: replicas=[self], leader=self, epoch 0).
 * `configs` (values non-NULL) are stored with the topic in the same record.
 * Errors: SL_ERR_INVALID_TOPIC (bad name or '.'/'_' collision),
 * SL_ERR_EXISTS, SL_ERR_INVALID_PARTITIONS, SL_ERR_INVALID_REPLICATION_FACTOR,
 * SL_ERR_INVALID_CONFIG, SL_ERR_NOT_LEADER / SL_ERR_CLOSED. */
int sl_meta_create_topic(sl_meta *m, const char *name, int32_t partitions,
                         int16_t replication_factor, const sl_config_kv *configs, size_t n_configs,
                         sl_meta_topic_cb cb, void *arg);

/* Deletes by name or by id (the record names the id, so a topic deleted and
 * re-created meanwhile is not touched: SL_ERR_NOT_FOUND). */
int sl_meta_delete_topic(sl_meta *m, const char *name, sl_meta_cb cb, void *arg);
int sl_meta_delete_topic_id(sl_meta *m, const uint8_t id[16], sl_meta_cb cb, void *arg);

/* Grows a topic to `new_total` partitions (SL_ERR_INVALID_PARTITIONS if not
 * larger than now). */
int sl_meta_check_create_partitions(const sl_meta *m, const char *name, int32_t new_total);
int sl_meta_create_partitions(sl_meta *m, const char *name, int32_t new_total, sl_meta_cb cb,
                              void *arg);

/* Sets (value != NULL) or deletes (value == NULL) topic config keys in one
 * record. `replace` = AlterConfigs semantics: keys not listed are removed. */
int sl_meta_check_alter_topic_config(const sl_meta *m, const char *name, const sl_config_kv *ops,
                                     size_t n_ops, bool replace);
int sl_meta_alter_topic_config(sl_meta *m, const char *name, const sl_config_kv *ops, size_t n_ops,
                               bool replace, sl_meta_cb cb, void *arg);

/* Same for dynamic broker configs: node_id >= 0 for one broker, -1 for the
 * cluster-wide default. */
int sl_meta_check_alter_broker_config(const sl_meta *m, int32_t node_id, const sl_config_kv *ops,
                                      size_t n_ops, bool replace);
int sl_meta_alter_broker_config(sl_meta *m, int32_t node_id, const sl_config_kv *ops, size_t n_ops,
                                bool replace, sl_meta_cb cb, void *arg);

/* Takes the next block of `count` producer ids (1..SL_META_MAX_PID_BLOCK)
 * for this broker. Blocks never overlap, across restarts too. */
int sl_meta_alloc_producer_ids(sl_meta *m, int32_t count, sl_meta_pid_cb cb, void *arg);

/* Proposes `len` raw bytes as one log entry (zero-padded to 8 bytes), for
 * tests of how replicas treat records they cannot read. Not for production
 * use: nothing is validated. */
int sl_meta_propose_raw(sl_meta *m, const void *data, size_t len, sl_meta_cb cb, void *arg);

/* ---- meta.properties -------------------------------------------------------- */

typedef struct sl_meta_props {
    int32_t node_id;
    char cluster_id[64];
    int version;
} sl_meta_props;

/* Reads <dir>/meta.properties: 0, SL_ERR_NOT_FOUND if absent,
 * SL_ERR_CORRUPT if malformed (missing key, bad number, unknown version). */
int sl_meta_props_read(const char *dir, sl_meta_props *out);
/* Writes it atomically (temporary file, fsync, rename, fsync of dir). */
int sl_meta_props_write(const char *dir, const sl_meta_props *p);
/* A new random cluster id in Kafka's form (22 URL-safe base64 chars). */
int sl_meta_new_cluster_id(char out[23]);

#endif
