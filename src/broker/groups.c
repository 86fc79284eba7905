/* Glue between the broker and the group coordinator: the coordinator's
 * store (append to __consumer_offsets + fsync), creating that topic on
 * first use, and loading it back at startup. */
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "broker/internal.h"
#include "record/iter.h"

#define LOAD_CHUNK (1 << 20)

typedef struct store_write {
    sl_coord_done_cb done;
    void *arg;
} store_write;

static void on_store_flushed(void *arg, int status)
{
    store_write *w = arg;
    sl_coord_done_cb done = w->done;
    void *a = w->arg;
    sl_free(w);
    done(a, status);
}

/* sl_coord_store.append: same durability rule as an acks=all produce. */
static int store_append(void *ctx, int32_t partition, uint8_t *batch, size_t len,
                        sl_coord_done_cb done, void *arg)
{
    sl_broker *b = ctx;
    int16_t kerr;
    sl_partition *p = sl_broker_partition(b, sl_str_c(SL_OFFSETS_TOPIC), partition, &kerr);
    if (!p) return kerr == KERR_KAFKA_STORAGE_ERROR ? SL_ERR_OFFLINE : SL_ERR_NOT_FOUND;
    int64_t base;
    int rc = sl_plog_append(p->log, batch, len, p->leader_epoch, &base);
    if (rc < 0) return rc;
    sl_partition_appended(p, (int64_t)len);
    sl_batch_header h;
    sl_batch_parse_header(batch, len, &h);
    store_write *w = SL_NEW(store_write);
    w->done = done;
    w->arg = arg;
    rc = sl_plog_flush_wait(p->log, base + h.last_offset_delta + 1, on_store_flushed, w);
    if (rc == 0) return 0;
    sl_free(w);
    if (rc < 0) return rc;
    done(arg, 0); /* already durable */
    return 0;
}

/* Reads one partition of __consumer_offsets back into the coordinator. */
static void load_partition(sl_broker *b, sl_partition *p, int64_t now_ms)
{
    int64_t offset = sl_plog_log_start(p->log);
    int64_t end = sl_plog_log_end(p->log);
    while (offset < end) {
        sl_log_read rd;
        int rc = sl_plog_read(p->log, offset, LOAD_CHUNK, end, &rd);
        if (rc < 0 || rd.len == 0) {
            if (rc < 0)
                SL_WARN("group", "reading %s-%d at %lld: %s", SL_OFFSETS_TOPIC, p->index,
                        (long long)offset, sl_err_str(rc));
            sl_fileref_unref(rd.file);
            return;
        }
        sl_buf_reset(&b->load_buf);
        uint8_t *dst = sl_buf_reserve(&b->load_buf, (size_t)rd.len);
        ssize_t n = pread(sl_fileref_fd(rd.file), dst, (size_t)rd.len, rd.pos);
        sl_fileref_unref(rd.file);
        if (n != rd.len) {
            SL_WARN("group", "short read of %s-%d", SL_OFFSETS_TOPIC, p->index);
            return;
        }
        sl_batch_iter bi;
        sl_batch_iter_init(&bi, dst, (size_t)rd.len, false);
        sl_batch_header h;
        const uint8_t *batch;
        while (sl_batch_iter_next(&bi, &h, &batch) > 0) {
            sl_record_iter ri;
            if (sl_record_iter_init(&ri, batch, &h, &b->scratch, 64u << 20) < 0) continue;
            sl_record r;
            while (sl_record_iter_next(&ri, &r) > 0) {
                if (r.offset < offset) continue;
                if (sl_coord_load_record(b->coord, r.key, r.key_len, r.value, r.value_len, now_ms) <
                    0)
                    SL_WARN("group", "skipped an unreadable record in %s-%d at offset %lld",
                            SL_OFFSETS_TOPIC, p->index, (long long)r.offset);
            }
        }
        offset = rd.next_offset;
    }
}

void sl_groups_start(sl_broker *b)
{
    const sl_config *c = b->cfg;
    sl_topic *t = sl_broker_topic(b, sl_str_c(SL_OFFSETS_TOPIC));
    sl_coord_config cc = {
        .offsets_partitions =
            t ? t->npartitions : (int32_t)sl_config_int(c, SL_BCFG_OFFSETS_TOPIC_NUM_PARTITIONS),
        .initial_rebalance_delay_ms = sl_config_int(c, SL_BCFG_GROUP_INITIAL_REBALANCE_DELAY_MS),
        .min_session_timeout_ms = sl_config_int(c, SL_BCFG_GROUP_MIN_SESSION_TIMEOUT_MS),
        .max_session_timeout_ms = sl_config_int(c, SL_BCFG_GROUP_MAX_SESSION_TIMEOUT_MS),
        .max_size = (int32_t)sl_config_int(c, SL_BCFG_GROUP_MAX_SIZE),
        .offsets_retention_ms = sl_config_int(c, SL_BCFG_OFFSETS_RETENTION_MINUTES) * 60000,
        .offset_metadata_max_bytes = (int32_t)sl_config_int(c, SL_BCFG_OFFSET_METADATA_MAX_BYTES),
    };
    sl_coord_store store = {b, store_append};
    b->coord = sl_coord_new(&cc, &store);
    sl_buf_init(&b->load_buf);
    if (t) {
        int64_t now = sl_wall_ms();
        int64_t t0 = sl_mono_ms();
        for (int32_t i = 0; i < t->npartitions; i++)
            if (t->parts[i]->log) load_partition(b, t->parts[i], now);
        sl_coord_loaded(b->coord, now);
        sl_coord_stats st;
        sl_coord_get_stats(b->coord, &st);
        SL_INFO("group", "loaded %s: groups=%llu records=%llu in %lld ms", SL_OFFSETS_TOPIC,
                (unsigned long long)st.groups, (unsigned long long)st.records_loaded,
                (long long)(sl_mono_ms() - t0));
    }
    /* The load buffer is only needed at startup. */
    sl_buf_fini(&b->load_buf);
    b->offsets_loaded = true;
}

void sl_groups_tick(sl_broker *b, int64_t now_ms)
{
    if (b->coord) sl_coord_tick(b->coord, now_ms);
}

void sl_groups_shutdown(sl_broker *b)
{
    if (b->coord) sl_coord_shutdown(b->coord);
}

void sl_groups_free(sl_broker *b)
{
    sl_coord_free(b->coord);
    b->coord = NULL;
}

typedef struct ensure_ctx {
    void (*cb)(void *arg, int status);
    void *arg;
} ensure_ctx;

static void on_offsets_topic(void *arg, int status, const sl_meta_topic *t)
{
    (void)t;
    ensure_ctx *e = arg;
    void (*cb)(void *, int) = e->cb;
    void *a = e->arg;
    sl_free(e);
    cb(a, status == SL_ERR_EXISTS ? 0 : status);
}

int sl_groups_ensure_topic(sl_broker *b, void (*cb)(void *arg, int status), void *arg)
{
    if (sl_broker_topic(b, sl_str_c(SL_OFFSETS_TOPIC))) return 1;
    char seg[32];
    snprintf(seg, sizeof seg, "%lld",
             (long long)sl_config_int(b->cfg, SL_BCFG_OFFSETS_TOPIC_SEGMENT_BYTES));
    /* Compacted (never trimmed by time or size): committed offsets must stay
     * until their group expires them. */
    sl_config_kv configs[] = {{"cleanup.policy", "compact"}, {"segment.bytes", seg}};
    ensure_ctx *e = SL_NEW(ensure_ctx);
    e->cb = cb;
    e->arg = arg;
    int rc =
        sl_meta_create_topic(b->meta, SL_OFFSETS_TOPIC,
                             (int32_t)sl_config_int(b->cfg, SL_BCFG_OFFSETS_TOPIC_NUM_PARTITIONS),
                             1, configs, 2, on_offsets_topic, e);
    if (rc < 0) {
        sl_free(e);
        return rc;
    }
    return 0;
}

int16_t sl_groups_kerr(int err)
{
    switch (err) {
    case SL_ERR_INVALID_ARG:
        return KERR_INVALID_GROUP_ID;
    case SL_ERR_NOT_FOUND:
    case SL_ERR_CLOSED:
    case SL_ERR_OFFLINE:
    case SL_ERR_IO:
        return KERR_COORDINATOR_NOT_AVAILABLE;
    case SL_ERR_TOO_LARGE:
        return KERR_OFFSET_METADATA_TOO_LARGE;
    default:
        return sl_kerr_from(err);
    }
}
