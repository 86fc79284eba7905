#include "replica/partition.h"

#include <stdio.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

sl_partition *sl_partition_new(const char *topic, int32_t index, sl_plog *log, int32_t leader_epoch)
{
    sl_partition *p = SL_NEW(sl_partition);
    p->topic = topic;
    p->index = index;
    p->log = log;
    p->pstate = sl_pstate_new();
    p->leader_epoch = leader_epoch;
    p->high_watermark = log ? sl_plog_log_end(log) : 0;
    p->watchers.prev = p->watchers.next = &p->watchers;
    return p;
}

void sl_partition_free(sl_partition *p)
{
    if (!p) return;
    while (p->watchers.next != &p->watchers)
        sl_partition_unwatch(p->watchers.next);
    sl_pstate_free(p->pstate);
    sl_free(p);
}

void sl_partition_appended(sl_partition *p, int64_t bytes)
{
    p->high_watermark = sl_plog_log_end(p->log);
    /* Callbacks may unlink the current node and others: restart from the
     * head after each call that changed the list. A watcher that stays linked
     * is visited once per append because we advance past it first. */
    sl_append_watch *w = p->watchers.next;
    while (w != &p->watchers) {
        sl_append_watch *next = w->next;
        w->on_append(w, bytes);
        /* If `next` was unlinked by the callback its pointers point to itself. */
        if (next != &p->watchers && next->partition != p) next = p->watchers.next;
        w = next;
    }
}

void sl_partition_watch(sl_partition *p, sl_append_watch *w)
{
    w->partition = p;
    w->prev = p->watchers.prev;
    w->next = &p->watchers;
    p->watchers.prev->next = w;
    p->watchers.prev = w;
}

void sl_partition_unwatch(sl_append_watch *w)
{
    if (!w->partition) return;
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->prev = w->next = w;
    w->partition = NULL;
}

int sl_partition_pstate_path(const sl_partition *p, const char *log_dir, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s-%d/producer-state.snapshot", log_dir, p->topic, p->index);
    return n < 0 || (size_t)n >= len ? SL_ERR_INVALID_ARG : 0;
}

typedef struct replay_ctx {
    sl_pstate *s;
    int64_t now_ms;
    int64_t from;
    int64_t batches;
} replay_ctx;

static int replay_batch(void *arg, const sl_batch_header *h, int64_t file_pos)
{
    (void)file_pos;
    replay_ctx *rc = arg;
    /* The scan starts at the batch holding `from`: skip what the snapshot has. */
    if (h->base_offset >= rc->from) {
        sl_pstate_record(rc->s, h, h->base_offset, rc->now_ms);
        rc->batches++;
    }
    return 0;
}

int sl_partition_load_pstate(sl_partition *p, const char *log_dir, int64_t now_ms)
{
    if (!p->log) return SL_ERR_OFFLINE;
    char path[4096];
    int rc = sl_partition_pstate_path(p, log_dir, path, sizeof path);
    if (rc < 0) return rc;
    int64_t from = 0;
    int64_t start = sl_plog_log_start(p->log), end = sl_plog_log_end(p->log);
    rc = sl_pstate_load(p->pstate, path, &from);
    if (rc < 0 || from > end || from < start) {
        if (rc == 0)
            SL_WARN("replica", "producer snapshot beyond the log, replaying topic=%s partition=%d",
                    p->topic, p->index);
        sl_pstate_clear(p->pstate);
        from = start;
    }
    /* A snapshot is only ever written for fsynced offsets (clean shutdown),
     * so after a crash its offset is still within the recovered log and the
     * replay from there is exact. */
    if (from >= end) return 0;
    replay_ctx ctx = {p->pstate, now_ms, from, 0};
    rc = sl_plog_scan(p->log, from, replay_batch, &ctx);
    SL_DEBUG("replica", "producer state rebuilt topic=%s partition=%d from=%lld batches=%lld",
             p->topic, p->index, (long long)from, (long long)ctx.batches);
    return rc < 0 ? rc : 0;
}

int sl_partition_save_pstate(sl_partition *p, const char *log_dir)
{
    if (!p->log) return SL_ERR_OFFLINE;
    char path[4096];
    int rc = sl_partition_pstate_path(p, log_dir, path, sizeof path);
    if (rc < 0) return rc;
    if (sl_pstate_count(p->pstate) == 0) return 0;
    return sl_pstate_save(p->pstate, path, sl_plog_log_end(p->log));
}
