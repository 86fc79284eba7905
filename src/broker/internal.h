/* Broker internals shared by the request handlers (one file per Kafka API).
 *
 * Thread: everything here runs on the broker's single libuv loop thread.
 */
#ifndef SL_BROKER_INTERNAL_H
#define SL_BROKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/map.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/kerr.h"
#include "group/coordinator.h"
#include "log/log.h"
#include "meta/meta.h"
#include "net/net.h"
#include "proto/api.h"
#include "replica/partition.h"

typedef struct sl_topic {
    char *name;
    uint8_t id[16];
    int32_t npartitions;
    sl_partition **parts;
    sl_topic_config cfg; /* effective settings */
    bool internal;       /* __consumer_offsets */
} sl_topic;

typedef struct sl_request sl_request;

struct sl_request {
    sl_broker *b;
    sl_conn *conn;
    sl_req_id id;
    int16_t api_key;
    int16_t version;
    int32_t correlation_id;
    sl_str client_id;
    const uint8_t *frame;
    size_t frame_len;
    void *body;                /* decoded request, in `arena` */
    sl_arena arena;            /* everything of this request; reset when it completes */
    int pending;               /* asynchronous parts still running (acks=all flushes...) */
    void *resp;                /* response under construction (handler-defined) */
    struct sl_req_file *files; /* file references released when the request ends */
    sl_request *next;          /* free list / held queue */
};

typedef void (*sl_handler_fn)(sl_request *req);

struct sl_broker {
    uv_loop_t *loop;
    sl_config *cfg;
    int32_t node_id;
    char *log_dir;
    sl_logdir *logdir;
    sl_meta *meta;
    sl_meta_listener listener;
    sl_server *server;
    int port; /* bound port */

    sl_map topics; /* name -> sl_topic* */

    sl_request *free_reqs; /* pool */
    size_t nfree;
    sl_request *held_head, *held_tail; /* arrived before metadata was ready */
    size_t active_reqs;

    sl_buf out;     /* response encoding scratch; swapped into the net layer */
    sl_buf scratch; /* batch decompression scratch for validation */

    uv_timer_t tick;
    uv_signal_t sig_term, sig_int;
    bool ready;
    bool stopping;
    int start_status;
    void (*on_stopped)(void *arg, int status);
    void *on_stopped_arg;
    int closing_handles;

    /* producer ids handed out by InitProducerId, from a metadata block */
    int64_t pid_next, pid_end;
    bool pid_alloc_running;
    sl_request *pid_waiters;

    /* long-poll fetches */
    struct sl_fetch_wait *fetch_waits; /* list of parked fetches */
    struct sl_fetch_wait *fetch_free;  /* pool */

    sl_coord *coord;     /* consumer groups */
    bool offsets_loaded; /* __consumer_offsets read back (or absent) */
    sl_buf load_buf;     /* scratch for loading __consumer_offsets */

    int64_t last_retention_ms;
    int64_t last_pstate_expiry_ms;
};

/* ---- requests (request.c) ---- */

/* Encodes `resp` (the API's response struct for req->version) and sends it;
 * the request is finished and returned to the pool. */
void sl_req_respond(sl_request *req, const void *resp);
/* Finishes a request that gets no response (Produce acks=0). */
void sl_req_finish_silent(sl_request *req);
/* Closes the connection because the request is unacceptable (logged). */
void sl_req_close(sl_request *req, const char *why);
/* Keeps a file reference until the request finishes (after its response was
 * encoded, which takes the encoder's own reference). Takes ownership. */
void sl_req_hold_file(sl_request *req, sl_fileref *f);
/* Arena helpers: zeroed memory that lives until the request finishes. */
void *sl_req_alloc(sl_request *req, size_t n);
/* Copies a C string into the request arena as an sl_str. */
sl_str sl_req_str(sl_request *req, const char *s);
/* NUL-terminated copy of an sl_str (NULL for a null string). */
char *sl_req_cstr(sl_request *req, sl_str s);
/* Processes requests that arrived before the metadata image was ready. */
void sl_broker_release_held(sl_broker *b);
/* Drops pooled requests (shutdown). */
void sl_broker_free_request_pool(sl_broker *b);

#define SL_REQ_ARRAY(req, type, n)                                                                 \
    ((type *)sl_req_alloc((req), sizeof(type) * (size_t)((n) > 0 ? (n) : 0)))

/* ---- topics (broker.c) ---- */
sl_topic *sl_broker_topic(sl_broker *b, sl_str name);
sl_partition *sl_broker_partition(sl_broker *b, sl_str topic, int32_t partition, int16_t *kerr);
const sl_meta_image *sl_broker_image(sl_broker *b);

/* ---- fetch waiting (fetch.c) ---- */
void sl_fetch_shutdown(sl_broker *b);

/* ---- producer ids (init_producer_id.c) ---- */
void sl_pid_shutdown(sl_broker *b);

/* ---- consumer groups (groups.c) ---- */
#define SL_OFFSETS_TOPIC "__consumer_offsets"
/* Creates the coordinator and loads __consumer_offsets if it exists. */
void sl_groups_start(sl_broker *b);
void sl_groups_tick(sl_broker *b, int64_t now_ms);
/* Answers parked joins/syncs (before the listener closes). */
void sl_groups_shutdown(sl_broker *b);
void sl_groups_free(sl_broker *b);
/* Ensures __consumer_offsets exists; cb(arg, status) once it does. Returns
 * 1 if it already exists (cb not called), 0 if creation is under way. */
int sl_groups_ensure_topic(sl_broker *b, void (*cb)(void *arg, int status), void *arg);
/* Kafka error for a coordinator-level failure. */
int16_t sl_groups_kerr(int err);

/* ---- handlers ---- */
void sl_handle_api_versions(sl_request *req);
void sl_handle_metadata(sl_request *req);
void sl_handle_produce(sl_request *req);
void sl_handle_fetch(sl_request *req);
void sl_handle_list_offsets(sl_request *req);
void sl_handle_create_topics(sl_request *req);
void sl_handle_delete_topics(sl_request *req);
void sl_handle_create_partitions(sl_request *req);
void sl_handle_describe_configs(sl_request *req);
void sl_handle_alter_configs(sl_request *req);
void sl_handle_incremental_alter_configs(sl_request *req);
void sl_handle_delete_records(sl_request *req);
void sl_handle_describe_cluster(sl_request *req);
void sl_handle_init_producer_id(sl_request *req);
void sl_handle_find_coordinator(sl_request *req);
void sl_handle_join_group(sl_request *req);
void sl_handle_sync_group(sl_request *req);
void sl_handle_heartbeat(sl_request *req);
void sl_handle_leave_group(sl_request *req);
void sl_handle_offset_commit(sl_request *req);
void sl_handle_offset_fetch(sl_request *req);
void sl_handle_describe_groups(sl_request *req);
void sl_handle_list_groups(sl_request *req);
void sl_handle_delete_groups(sl_request *req);
void sl_handle_offset_delete(sl_request *req);

/* The handler for an API key, NULL if not implemented (also drives which
 * APIs ApiVersions advertises). */
sl_handler_fn sl_handler_for(int16_t api_key);

#endif
