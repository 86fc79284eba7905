/* DeleteRecords (key 21), v0-2: moves a partition's log start offset
 * forward (offset -1 means the high watermark). Whole segments below the new
 * start are deleted; readers below it get OFFSET_OUT_OF_RANGE. */
#include "base/err.h"
#include "broker/internal.h"

void sl_handle_delete_records(sl_request *req)
{
    const DeleteRecordsRequest *rq = req->body;
    DeleteRecordsResponse resp;
    DeleteRecordsResponse_init(&resp);
    int32_t nt = rq->Topics_count < 0 ? 0 : rq->Topics_count;
    resp.Topics = SL_REQ_ARRAY(req, DeleteRecordsResponse_DeleteRecordsTopicResult, nt);
    resp.Topics_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        const DeleteRecordsRequest_DeleteRecordsTopic *t = &rq->Topics[i];
        DeleteRecordsResponse_DeleteRecordsTopicResult *to = &resp.Topics[i];
        DeleteRecordsResponse_DeleteRecordsTopicResult_init(to);
        to->Name = t->Name;
        int32_t np = t->Partitions_count < 0 ? 0 : t->Partitions_count;
        to->Partitions = SL_REQ_ARRAY(req, DeleteRecordsResponse_DeleteRecordsPartitionResult, np);
        to->Partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            const DeleteRecordsRequest_DeleteRecordsPartition *qp = &t->Partitions[j];
            DeleteRecordsResponse_DeleteRecordsPartitionResult *o = &to->Partitions[j];
            DeleteRecordsResponse_DeleteRecordsPartitionResult_init(o);
            o->PartitionIndex = qp->PartitionIndex;
            o->LowWatermark = -1;
            int16_t kerr;
            sl_partition *p = sl_broker_partition(req->b, t->Name, qp->PartitionIndex, &kerr);
            if (!p) {
                o->ErrorCode = kerr;
                continue;
            }
            int64_t target = qp->Offset == -1 ? p->high_watermark : qp->Offset;
            if (target < 0 || target > p->high_watermark) {
                o->ErrorCode = KERR_OFFSET_OUT_OF_RANGE;
                o->LowWatermark = sl_plog_log_start(p->log);
                continue;
            }
            if (target > sl_plog_log_start(p->log)) {
                int rc = sl_plog_delete_records(p->log, target);
                if (rc < 0) {
                    o->ErrorCode = sl_kerr_from(rc);
                    continue;
                }
            }
            o->LowWatermark = sl_plog_log_start(p->log);
        }
    }
    sl_req_respond(req, &resp);
}
