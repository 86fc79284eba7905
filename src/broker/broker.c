/* Broker life cycle and the topic table mirrored from the metadata image. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "broker/internal.h"

#define TICK_MS                200
#define PSTATE_EXPIRY_CHECK_MS 60000

void sl_broker_on_request(void *ctx, sl_conn *c, sl_req_id id, const uint8_t *frame, size_t len);

static void topic_config_to_log(const sl_topic_config *tc, sl_log_config *lc)
{
    sl_log_config_default(lc);
    lc->segment_bytes = tc->segment_bytes;
    lc->segment_ms = tc->segment_ms;
    lc->index_interval_bytes = (int32_t)tc->index_interval_bytes;
    lc->flush_messages = tc->flush_messages;
    lc->flush_ms = tc->flush_ms;
    /* A compact-only topic is never trimmed by time or size. */
    lc->retention_ms = tc->delete_retention ? tc->retention_ms : -1;
    lc->retention_bytes = tc->delete_retention ? tc->retention_bytes : -1;
}

static void resolve_topic_config(sl_broker *b, const sl_meta_topic *mt, sl_topic_config *out)
{
    size_t n = sl_meta_topic_config_count(mt);
    sl_config_kv kv[SL_TCFG__COUNT * 2];
    size_t k = 0;
    for (size_t i = 0; i < n && k < SL_ARRAY_LEN(kv); i++, k++)
        sl_meta_topic_config_at(mt, i, &kv[k].key, &kv[k].value);
    sl_topic_config_resolve(b->cfg, kv, (int)k, out);
}

const sl_meta_image *sl_broker_image(sl_broker *b)
{
    return sl_meta_get_image(b->meta);
}

sl_topic *sl_broker_topic(sl_broker *b, sl_str name)
{
    if (name.len <= 0) return NULL;
    return sl_map_get(&b->topics, name.ptr, (size_t)name.len);
}

sl_partition *sl_broker_partition(sl_broker *b, sl_str topic, int32_t partition, int16_t *kerr)
{
    sl_topic *t = sl_broker_topic(b, topic);
    if (!t || partition < 0 || partition >= t->npartitions) {
        *kerr = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    sl_partition *p = t->parts[partition];
    if (!p->log || sl_logdir_is_offline(b->logdir)) {
        *kerr = KERR_KAFKA_STORAGE_ERROR;
        return NULL;
    }
    *kerr = KERR_NONE;
    return p;
}

/* Opens (or creates) the log of one partition and wraps it. */
static sl_partition *open_partition(sl_broker *b, sl_topic *t, int32_t index, int32_t epoch)
{
    sl_log_config lc;
    topic_config_to_log(&t->cfg, &lc);
    sl_plog *log = sl_logdir_find(b->logdir, t->name, index);
    int rc = 0;
    if (log)
        rc = sl_plog_set_config(log, &lc);
    else
        rc = sl_logdir_create_plog(b->logdir, t->name, index, &lc, &log);
    if (rc < 0) {
        SL_ERROR("broker", "cannot open log topic=%s partition=%d: %s", t->name, index,
                 sl_err_str(rc));
        log = NULL;
    }
    sl_partition *p = sl_partition_new(t->name, index, log, epoch);
    if (log) {
        rc = sl_partition_load_pstate(p, b->log_dir, sl_wall_ms());
        if (rc < 0)
            SL_WARN("broker", "producer state of topic=%s partition=%d not rebuilt: %s", t->name,
                    index, sl_err_str(rc));
    }
    return p;
}

static void add_partitions(sl_broker *b, sl_topic *t, const sl_meta_topic *mt)
{
    int32_t n = sl_meta_topic_partition_count(mt);
    if (n <= t->npartitions) return;
    t->parts = sl_realloc(t->parts, sizeof *t->parts * (size_t)n);
    for (int32_t i = t->npartitions; i < n; i++) {
        const sl_meta_partition *mp = sl_meta_topic_partition(mt, i);
        t->parts[i] = open_partition(b, t, i, sl_meta_partition_leader_epoch(mp));
    }
    t->npartitions = n;
}

static void add_topic(sl_broker *b, const sl_meta_topic *mt)
{
    sl_topic *t = SL_NEW(sl_topic);
    t->name = sl_strdup(sl_meta_topic_name(mt));
    memcpy(t->id, sl_meta_topic_id(mt), 16);
    t->internal = strcmp(t->name, "__consumer_offsets") == 0;
    resolve_topic_config(b, mt, &t->cfg);
    sl_map_put(&b->topics, t->name, strlen(t->name), t);
    add_partitions(b, t, mt);
}

static void free_topic(sl_topic *t)
{
    for (int32_t i = 0; i < t->npartitions; i++)
        sl_partition_free(t->parts[i]);
    sl_free(t->parts);
    sl_free(t->name);
    sl_free(t);
}

static void on_loaded(void *arg, const sl_meta_image *img)
{
    sl_broker *b = arg;
    if (!b->logdir) return; /* shut down: a late metadata event finds no logs */
    size_t n = sl_meta_topic_count(img);
    for (size_t i = 0; i < n; i++)
        add_topic(b, sl_meta_topic_at(img, i));
    /* Partition directories the metadata does not know are left alone: they
     * may hold data someone wants back, and deleting is not our call here. */
    size_t nlogs = sl_logdir_count(b->logdir);
    for (size_t i = 0; i < nlogs; i++) {
        sl_plog *l = sl_logdir_at(b->logdir, i);
        sl_topic *t = sl_map_get(&b->topics, sl_plog_topic(l), strlen(sl_plog_topic(l)));
        if (!t || sl_plog_partition(l) >= t->npartitions)
            SL_WARN("broker", "partition directory %s-%d is not in the metadata; left untouched",
                    sl_plog_topic(l), sl_plog_partition(l));
    }
    SL_INFO("broker", "metadata loaded topics=%zu partitions=%zu", n, nlogs);
}

static void on_topic_created(void *arg, const sl_meta_topic *mt)
{
    sl_broker *b = arg;
    if (!b->logdir) return; /* shut down: a late metadata event finds no logs */
    const char *name = sl_meta_topic_name(mt);
    if (sl_map_get(&b->topics, name, strlen(name))) return;
    add_topic(b, mt);
    SL_INFO("broker", "topic created name=%s partitions=%d", name,
            sl_meta_topic_partition_count(mt));
}

static void on_topic_deleted(void *arg, const sl_meta_topic *mt)
{
    sl_broker *b = arg;
    if (!b->logdir) return; /* shut down: a late metadata event finds no logs */
    const char *name = sl_meta_topic_name(mt);
    sl_topic *t = sl_map_del(&b->topics, name, strlen(name));
    if (!t) return;
    for (int32_t i = 0; i < t->npartitions; i++) {
        sl_plog *log = t->parts[i]->log;
        sl_partition_free(t->parts[i]);
        t->parts[i] = NULL;
        if (log) {
            int rc = sl_logdir_delete_plog(b->logdir, log);
            if (rc < 0)
                SL_WARN("broker", "deleting log of topic=%s partition=%d: %s", name, i,
                        sl_err_str(rc));
        }
    }
    t->npartitions = 0;
    free_topic(t);
    SL_INFO("broker", "topic deleted name=%s", name);
}

static void on_partitions_added(void *arg, const sl_meta_topic *mt, int32_t old_count)
{
    sl_broker *b = arg;
    if (!b->logdir) return; /* shut down: a late metadata event finds no logs */
    const char *name = sl_meta_topic_name(mt);
    sl_topic *t = sl_map_get(&b->topics, name, strlen(name));
    if (t) add_partitions(b, t, mt);
    SL_INFO("broker", "partitions added topic=%s from=%d to=%d", name, old_count,
            sl_meta_topic_partition_count(mt));
}

static void on_topic_config_changed(void *arg, const sl_meta_topic *mt)
{
    sl_broker *b = arg;
    if (!b->logdir) return; /* shut down: a late metadata event finds no logs */
    const char *name = sl_meta_topic_name(mt);
    sl_topic *t = sl_map_get(&b->topics, name, strlen(name));
    if (!t) return;
    resolve_topic_config(b, mt, &t->cfg);
    sl_log_config lc;
    topic_config_to_log(&t->cfg, &lc);
    for (int32_t i = 0; i < t->npartitions; i++)
        if (t->parts[i]->log) sl_plog_set_config(t->parts[i]->log, &lc);
}

static void finish_shutdown(sl_broker *b);

static void on_tick(uv_timer_t *h)
{
    sl_broker *b = h->data;
    if (b->stopping && !b->server) {
        finish_shutdown(b);
        return;
    }
    int64_t now = sl_wall_ms();
    sl_logdir_tick(b->logdir, now);
    sl_groups_tick(b, now);
    if (now - b->last_pstate_expiry_ms >= PSTATE_EXPIRY_CHECK_MS) {
        b->last_pstate_expiry_ms = now;
        int64_t max_idle = sl_config_int(b->cfg, SL_BCFG_PRODUCER_ID_EXPIRATION_MS);
        const void *k;
        size_t kl;
        void *v;
        for (size_t it = 0; sl_map_next(&b->topics, &it, &k, &kl, &v);) {
            sl_topic *t = v;
            for (int32_t i = 0; i < t->npartitions; i++)
                sl_pstate_expire(t->parts[i]->pstate, now, max_idle);
        }
    }
}

static void on_meta_ready(void *arg, int status)
{
    sl_broker *b = arg;
    /* Stopped before the metadata log was ready: not a failure. The log could
     * also come ready (its barrier completing on the raft loop) after the
     * log directory was closed; then there is nothing to start. */
    if (b->stopping) return;
    if (status < 0) {
        SL_ERROR("broker", "metadata log failed to start: %s", sl_err_str(status));
        b->start_status = status;
        sl_broker_stop(b, NULL, NULL);
        return;
    }
    sl_groups_start(b);
    b->ready = true;
    b->last_pstate_expiry_ms = sl_wall_ms();
    uv_timer_start(&b->tick, on_tick, TICK_MS, TICK_MS);
    SL_INFO("broker", "ready node.id=%d cluster.id=%s", b->node_id, sl_meta_cluster_id(b->meta));
    sl_broker_release_held(b);
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

static void server_config_from(const sl_config *c, sl_server_config *sc)
{
    sl_server_config_default(sc);
    sc->socket_request_max_bytes = (int32_t)sl_config_int(c, SL_BCFG_SOCKET_REQUEST_MAX_BYTES);
    sc->queued_max_requests = (int32_t)sl_config_int(c, SL_BCFG_QUEUED_MAX_REQUESTS);
    sc->max_connections = (int32_t)sl_config_int(c, SL_BCFG_MAX_CONNECTIONS);
    sc->max_connections_per_ip = (int32_t)sl_config_int(c, SL_BCFG_MAX_CONNECTIONS_PER_IP);
    sc->max_connections_per_ip_overrides =
        sl_config_str(c, SL_BCFG_MAX_CONNECTIONS_PER_IP_OVERRIDES);
    sc->connections_max_idle_ms = sl_config_int(c, SL_BCFG_CONNECTIONS_MAX_IDLE_MS);
}

int sl_broker_start(uv_loop_t *loop, sl_config *cfg, sl_broker **out)
{
    sl_broker *b = SL_NEW(sl_broker);
    b->loop = loop;
    b->cfg = cfg;
    b->node_id = sl_config_node_id(cfg);
    b->log_dir = sl_strdup(sl_config_log_dir(cfg));
    sl_map_init(&b->topics);
    sl_buf_init(&b->out);
    sl_buf_init(&b->scratch);
    uv_timer_init(loop, &b->tick);
    b->tick.data = b;
    *out = b;

    if (mkdir_p(b->log_dir) != 0) {
        SL_ERROR("broker", "cannot create log directory %s: %s", b->log_dir, strerror(errno));
        return SL_ERR_IO;
    }

    sl_topic_config defaults;
    sl_topic_config_resolve(cfg, NULL, 0, &defaults);
    sl_log_config lc;
    topic_config_to_log(&defaults, &lc);
    sl_logdir_options lo;
    sl_logdir_options_default(&lo);
    lo.default_config = &lc;
    lo.retention_check_interval_ms = sl_config_int(cfg, SL_BCFG_LOG_RETENTION_CHECK_INTERVAL_MS);
    int rc = sl_logdir_open(loop, b->log_dir, &lo, &b->logdir);
    if (rc < 0) {
        SL_ERROR("broker", "cannot open log directory %s: %s", b->log_dir, sl_err_str(rc));
        return rc;
    }

    sl_server_config sc;
    server_config_from(cfg, &sc);
    static const sl_server_handler handler = {NULL, sl_broker_on_request, NULL};
    b->server = sl_server_new(loop, &sc, &handler, b);
    if (!b->server) {
        SL_ERROR("broker", "invalid network settings");
        return SL_ERR_INVALID_CONFIG;
    }
    rc = sl_server_listen(b->server, sl_config_listen_host(cfg), sl_config_listen_port(cfg));
    if (rc < 0) {
        SL_ERROR("broker", "cannot listen on %s:%d: %s", sl_config_listen_host(cfg),
                 sl_config_listen_port(cfg), sl_err_str(rc));
        return rc;
    }
    b->port = rc;

    b->listener = (sl_meta_listener){
        .arg = b,
        .loaded = on_loaded,
        .topic_created = on_topic_created,
        .topic_deleted = on_topic_deleted,
        .partitions_added = on_partitions_added,
        .topic_config_changed = on_topic_config_changed,
    };
    sl_meta_config mc = {
        .log_dir = b->log_dir,
        .node_id = b->node_id,
        .advertised_host = sl_config_advertised_host(cfg),
        .advertised_port =
            sl_config_advertised_port(cfg) ? sl_config_advertised_port(cfg) : b->port,
        .ready_cb = on_meta_ready,
        .ready_arg = b,
    };
    rc = sl_meta_open(loop, &mc, &b->meta);
    if (rc < 0) {
        SL_ERROR("broker", "cannot open the metadata log in %s: %s", b->log_dir, sl_err_str(rc));
        return rc;
    }
    sl_meta_add_listener(b->meta, &b->listener);
    SL_INFO("broker", "listening on %s:%d log.dirs=%s", sl_config_listen_host(cfg), b->port,
            b->log_dir);
    return 0;
}

int sl_broker_port(const sl_broker *b)
{
    return b->port;
}

/* ---- shutdown ---- */

static void finish_free(sl_broker *b)
{
    const void *k;
    size_t kl;
    void *v;
    for (size_t it = 0; sl_map_next(&b->topics, &it, &k, &kl, &v);)
        free_topic(v);
    sl_groups_free(b);
    sl_map_fini(&b->topics);
    sl_buf_fini(&b->out);
    sl_buf_fini(&b->scratch);
    sl_broker_free_request_pool(b);
    void (*cb)(void *, int) = b->on_stopped;
    void *arg = b->on_stopped_arg;
    int status = b->start_status;
    sl_free(b->log_dir);
    sl_free(b);
    if (cb) cb(arg, status);
}

static void on_meta_closed(void *arg)
{
    sl_broker *b = arg;
    b->meta = NULL;
    finish_free(b);
}

static void on_tick_closed(uv_handle_t *h)
{
    sl_broker *b = h->data;
    if (b->meta)
        sl_meta_close(b->meta, on_meta_closed, b);
    else
        finish_free(b);
}

static void save_all_pstates(sl_broker *b)
{
    const void *k;
    size_t kl;
    void *v;
    for (size_t it = 0; sl_map_next(&b->topics, &it, &k, &kl, &v);) {
        sl_topic *t = v;
        for (int32_t i = 0; i < t->npartitions; i++) {
            int rc = sl_partition_save_pstate(t->parts[i], b->log_dir);
            if (rc < 0)
                SL_WARN("broker", "producer state of topic=%s partition=%d not saved: %s", t->name,
                        i, sl_err_str(rc));
        }
    }
}

static void finish_shutdown(sl_broker *b)
{
    if (b->logdir) {
        /* Producer state first: its snapshot offset must be covered by the
         * final flush that sl_logdir_close performs. */
        if (!sl_logdir_is_offline(b->logdir)) save_all_pstates(b);
        int rc = sl_logdir_close(b->logdir);
        if (rc < 0) SL_WARN("broker", "log directory closed uncleanly: %s", sl_err_str(rc));
        b->logdir = NULL;
    }
    uv_timer_stop(&b->tick);
    uv_close((uv_handle_t *)&b->tick, on_tick_closed);
}

static void on_server_closed(void *ctx)
{
    sl_broker *b = ctx;
    b->server = NULL;
    /* The server reports its close from inside the completion of its last
     * request, and that may run inside a log callback (the flush waiter of an
     * acks=all produce): closing the log directory here would free the
     * partition log that callback is still iterating. Finish on the next
     * loop turn, from the tick timer (on_tick sees the server gone). */
    uv_timer_start(&b->tick, on_tick, 0, 0);
}

void sl_broker_stop(sl_broker *b, void (*cb)(void *arg, int status), void *arg)
{
    if (cb) {
        b->on_stopped = cb;
        b->on_stopped_arg = arg;
    }
    if (b->stopping) return;
    b->stopping = true;
    SL_INFO("broker", "shutting down");
    while (b->held_head) {
        sl_request *r = b->held_head;
        b->held_head = r->next;
        sl_req_close(r, "broker shutting down");
    }
    b->held_tail = NULL;
    sl_fetch_shutdown(b);
    sl_pid_shutdown(b);
    sl_groups_shutdown(b);
    if (b->server)
        sl_server_close(b->server, on_server_closed);
    else
        on_server_closed(b);
}
