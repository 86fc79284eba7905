/* ListOffsets (key 2), v1-10: earliest (-2), latest (-1), max timestamp
 * (-3, v7+) and the first offset at or after a timestamp.
 * With read_committed the latest offset is the last stable offset, which
 * equals the high watermark while there are no transactions. */
#include "base/err.h"
#include "broker/internal.h"

#define TS_LATEST        (-1)
#define TS_EARLIEST      (-2)
#define TS_MAX_TIMESTAMP (-3)

static void list_partition(sl_request *req, sl_str topic,
                           const ListOffsetsRequest_ListOffsetsPartition *qp,
                           ListOffsetsResponse_ListOffsetsPartitionResponse *o)
{
    int16_t kerr;
    sl_partition *p = sl_broker_partition(req->b, topic, qp->PartitionIndex, &kerr);
    if (!p) {
        o->ErrorCode = kerr;
        return;
    }
    if (qp->CurrentLeaderEpoch >= 0 && qp->CurrentLeaderEpoch != p->leader_epoch) {
        o->ErrorCode = qp->CurrentLeaderEpoch < p->leader_epoch ? KERR_FENCED_LEADER_EPOCH
                                                                : KERR_UNKNOWN_LEADER_EPOCH;
        return;
    }
    o->LeaderEpoch = p->leader_epoch;
    o->Timestamp = -1;
    switch (qp->Timestamp) {
    case TS_LATEST:
        o->Offset = p->high_watermark;
        return;
    case TS_EARLIEST:
        o->Offset = sl_plog_log_start(p->log);
        return;
    case TS_MAX_TIMESTAMP:
        if (req->version < 7) break;
        {
            int64_t off, ts;
            int rc = sl_plog_max_timestamp(p->log, &off, &ts);
            if (rc == 0) {
                o->Offset = off;
                o->Timestamp = ts;
            } else if (rc != SL_ERR_NOT_FOUND) {
                o->ErrorCode = sl_kerr_from(rc);
            }
        }
        return;
    default:
        break;
    }
    if (qp->Timestamp < 0) {
        o->ErrorCode = KERR_INVALID_REQUEST;
        return;
    }
    int64_t off, ts;
    int rc = sl_plog_offset_for_timestamp(p->log, qp->Timestamp, &off, &ts);
    if (rc == 0 && off < p->high_watermark) {
        o->Offset = off;
        o->Timestamp = ts;
    } else if (rc == 0 || rc == SL_ERR_NOT_FOUND) {
        o->Offset = -1; /* no record at or after that time */
    } else {
        o->ErrorCode = sl_kerr_from(rc);
    }
}

void sl_handle_list_offsets(sl_request *req)
{
    const ListOffsetsRequest *rq = req->body;
    ListOffsetsResponse resp;
    ListOffsetsResponse_init(&resp);
    int32_t nt = rq->Topics_count < 0 ? 0 : rq->Topics_count;
    resp.Topics = SL_REQ_ARRAY(req, ListOffsetsResponse_ListOffsetsTopicResponse, nt);
    resp.Topics_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        const ListOffsetsRequest_ListOffsetsTopic *qt = &rq->Topics[i];
        ListOffsetsResponse_ListOffsetsTopicResponse *to = &resp.Topics[i];
        ListOffsetsResponse_ListOffsetsTopicResponse_init(to);
        to->Name = qt->Name;
        int32_t np = qt->Partitions_count < 0 ? 0 : qt->Partitions_count;
        to->Partitions = SL_REQ_ARRAY(req, ListOffsetsResponse_ListOffsetsPartitionResponse, np);
        to->Partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            ListOffsetsResponse_ListOffsetsPartitionResponse *o = &to->Partitions[j];
            ListOffsetsResponse_ListOffsetsPartitionResponse_init(o);
            o->PartitionIndex = qt->Partitions[j].PartitionIndex;
            o->Offset = -1;
            o->Timestamp = -1;
            list_partition(req, qt->Name, &qt->Partitions[j], o);
        }
    }
    sl_req_respond(req, &resp);
}
