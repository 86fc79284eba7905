/* Fetch (key 1), v4-12: whole stored batches served as file ranges
 * (sendfile, no copy), long-poll with MaxWaitMs / MinBytes.
 *
 * A fetch that finds fewer than MinBytes parks: it watches every partition
 * it asked for and wakes as soon as appends bring MinBytes, or when
 * MaxWaitMs expires; either way it then reads again and answers. Fetch
 * sessions (KIP-227) are not kept: every answer carries SessionId 0, which
 * tells clients to send full fetches. read_committed is served with the
 * last stable offset equal to the high watermark and an empty aborted list
 * (no transactions yet).
 */
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "broker/internal.h"

typedef struct sl_fetch_wait sl_fetch_wait;

/* One watched partition of a parked fetch. */
typedef struct watch_node {
    sl_append_watch watch; /* first member: a watch pointer is a node pointer */
    sl_fetch_wait *wait;
} watch_node;

struct sl_fetch_wait {
    sl_fetch_wait *next, *prev; /* parked list, or free pool (next only) */
    sl_request *req;
    uv_timer_t timer;
    watch_node *nodes; /* in the request's arena */
    int32_t nnodes;
    int64_t bytes;
    int64_t min_bytes;
};

/* Builds the response from the current logs. Returns the record bytes
 * gathered; *error is set when some partition has an error (answer now). */
static int64_t build_response(sl_request *req, FetchResponse *resp, bool *error)
{
    sl_broker *b = req->b;
    const FetchRequest *rq = req->body;
    FetchResponse_init(resp);
    int64_t total = 0;
    int64_t budget = rq->MaxBytes > 0 ? rq->MaxBytes : 0;
    int32_t nt = rq->Topics_count < 0 ? 0 : rq->Topics_count;
    resp->Responses = SL_REQ_ARRAY(req, FetchResponse_FetchableTopicResponse, nt);
    resp->Responses_count = nt;
    *error = false;
    if (req->version >= 7 && (rq->SessionId != 0 || rq->SessionEpoch > 0)) {
        /* We never hand out sessions, so any incremental fetch refers to an
         * unknown one. */
        resp->ErrorCode = KERR_FETCH_SESSION_ID_NOT_FOUND;
        resp->Responses_count = 0;
        *error = true;
        return 0;
    }
    for (int32_t i = 0; i < nt; i++) {
        const FetchRequest_FetchTopic *ft = &rq->Topics[i];
        FetchResponse_FetchableTopicResponse *to = &resp->Responses[i];
        FetchResponse_FetchableTopicResponse_init(to);
        to->Topic = ft->Topic;
        int32_t np = ft->Partitions_count < 0 ? 0 : ft->Partitions_count;
        to->Partitions = SL_REQ_ARRAY(req, FetchResponse_PartitionData, np);
        to->Partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            const FetchRequest_FetchPartition *fp = &ft->Partitions[j];
            FetchResponse_PartitionData *po = &to->Partitions[j];
            FetchResponse_PartitionData_init(po);
            po->PartitionIndex = fp->Partition;
            po->HighWatermark = -1;
            po->LastStableOffset = -1;
            po->LogStartOffset = -1;
            po->AbortedTransactions_count = 0; /* empty, not null */
            po->Records = sl_records_mem("", 0);
            int16_t kerr;
            sl_partition *p = sl_broker_partition(b, ft->Topic, fp->Partition, &kerr);
            if (!p) {
                po->ErrorCode = kerr;
                *error = true;
                continue;
            }
            if (fp->CurrentLeaderEpoch >= 0 && fp->CurrentLeaderEpoch != p->leader_epoch) {
                po->ErrorCode = fp->CurrentLeaderEpoch < p->leader_epoch
                                    ? KERR_FENCED_LEADER_EPOCH
                                    : KERR_UNKNOWN_LEADER_EPOCH;
                *error = true;
                continue;
            }
            po->HighWatermark = p->high_watermark;
            po->LastStableOffset = p->high_watermark;
            po->LogStartOffset = sl_plog_log_start(p->log);
            po->CurrentLeader.LeaderId = b->node_id;
            po->CurrentLeader.LeaderEpoch = p->leader_epoch;
            int64_t limit = SL_MIN((int64_t)(fp->PartitionMaxBytes > 0 ? fp->PartitionMaxBytes : 0),
                                   budget - total);
            if (limit <= 0 && total > 0)
                continue;              /* response full; the first batch rule applies only once */
            if (limit <= 0) limit = 1; /* KIP-74: still return the first batch whole */
            sl_log_read rd;
            int rc = sl_plog_read(p->log, fp->FetchOffset, (int32_t)SL_MIN(limit, INT32_MAX),
                                  p->high_watermark, &rd);
            if (rc < 0) {
                po->ErrorCode = sl_kerr_from(rc);
                *error = true;
                continue;
            }
            if (rd.len > 0) {
                sl_req_hold_file(req, rd.file);
                po->Records = sl_records_file(rd.file, rd.pos, (int32_t)rd.len);
                total += rd.len;
            }
        }
    }
    return total;
}

static void respond_now(sl_request *req)
{
    FetchResponse *resp = sl_req_alloc(req, sizeof *resp);
    bool error;
    build_response(req, resp, &error);
    sl_req_respond(req, resp);
}

static void unpark(sl_fetch_wait *w)
{
    sl_broker *b = w->req->b;
    for (int32_t i = 0; i < w->nnodes; i++)
        sl_partition_unwatch(&w->nodes[i].watch);
    uv_timer_stop(&w->timer);
    if (w->prev)
        w->prev->next = w->next;
    else
        b->fetch_waits = w->next;
    if (w->next) w->next->prev = w->prev;
    sl_request *req = w->req;
    w->req = NULL;
    w->prev = NULL;
    w->next = b->fetch_free;
    b->fetch_free = w;
    respond_now(req);
}

static void on_timeout(uv_timer_t *t)
{
    unpark(t->data);
}

static void on_append(sl_append_watch *aw, int64_t bytes)
{
    sl_fetch_wait *w = ((watch_node *)aw)->wait;
    w->bytes += bytes;
    if (w->bytes >= w->min_bytes) unpark(w);
}

static void park(sl_request *req, int64_t have)
{
    sl_broker *b = req->b;
    const FetchRequest *rq = req->body;
    sl_fetch_wait *w = b->fetch_free;
    if (w) {
        b->fetch_free = w->next;
    } else {
        w = SL_NEW(sl_fetch_wait);
        uv_timer_init(b->loop, &w->timer);
        w->timer.data = w;
    }
    w->req = req;
    w->bytes = have;
    w->min_bytes = rq->MinBytes;
    int32_t n = 0;
    for (int32_t i = 0; i < rq->Topics_count; i++)
        n += rq->Topics[i].Partitions_count > 0 ? rq->Topics[i].Partitions_count : 0;
    w->nodes = SL_REQ_ARRAY(req, watch_node, n);
    w->nnodes = 0;
    for (int32_t i = 0; i < rq->Topics_count; i++) {
        for (int32_t j = 0; j < rq->Topics[i].Partitions_count; j++) {
            int16_t kerr;
            sl_partition *p = sl_broker_partition(b, rq->Topics[i].Topic,
                                                  rq->Topics[i].Partitions[j].Partition, &kerr);
            if (!p) continue;
            watch_node *wn = &w->nodes[w->nnodes++];
            wn->wait = w;
            wn->watch.on_append = on_append;
            sl_partition_watch(p, &wn->watch);
        }
    }
    w->prev = NULL;
    w->next = b->fetch_waits;
    if (w->next) w->next->prev = w;
    b->fetch_waits = w;
    uv_timer_start(&w->timer, on_timeout, (uint64_t)rq->MaxWaitMs, 0);
}

void sl_handle_fetch(sl_request *req)
{
    const FetchRequest *rq = req->body;
    FetchResponse *resp = sl_req_alloc(req, sizeof *resp);
    bool error;
    int64_t have = build_response(req, resp, &error);
    if (error || have >= rq->MinBytes || rq->MaxWaitMs <= 0 || req->b->stopping) {
        sl_req_respond(req, resp);
        return;
    }
    /* The answer is rebuilt from the logs when the wait ends. */
    park(req, have);
}

static void on_timer_closed(uv_handle_t *h)
{
    sl_free(h->data);
}

void sl_fetch_shutdown(sl_broker *b)
{
    while (b->fetch_waits)
        unpark(b->fetch_waits);
    while (b->fetch_free) {
        sl_fetch_wait *w = b->fetch_free;
        b->fetch_free = w->next;
        uv_close((uv_handle_t *)&w->timer, on_timer_closed);
    }
}
