/* Produce (key 0): advertised v0-11, served v3-11 (record batch v2 only;
 * v0-2 are advertised because librdkafka 2.0.2 turns compression off unless
 * Produce v0 is in range, and answered UNSUPPORTED_VERSION like Kafka 4.0).
 *
 * Per partition: validate the batch completely (framing, CRC, counts,
 * records, size, timestamps), check idempotent-producer sequencing, stamp
 * the offset and leader epoch in place and append the wire bytes as they
 * are. acks=1 is answered after the append, acks=all after an fsync that
 * covers the batch (group commit: one fsync answers every batch appended
 * before it), acks=0 never — and on an error the connection is closed so
 * the producer notices, as Kafka does.
 *
 * The request frame is stamped in place: the net layer guarantees the frame
 * stays ours until the request completes.
 */
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "broker/internal.h"
#include "record/validate.h"

/* Decompressed size a single batch may expand to while being validated. */
#define MAX_DECOMPRESSED_BYTES (64u << 20)
/* What all batches of one request may decompress to together: without it
 * a request of many partitions, each a small batch expanding to the cap,
 * buys seconds of decompression on the loop thread (a 72 KB gzip batch
 * costs ~0.15 s). 128 bytes per request byte is above the ratio of real
 * data averaged over a request (very repetitive JSON compresses ~100:1 with
 * zstd) and bounds the amplification a request can buy. */
#define REQUEST_DECOMPRESS_BASE     ((uint64_t)MAX_DECOMPRESSED_BYTES)
#define REQUEST_DECOMPRESS_PER_BYTE 128u

/* Scratch memory kept between requests (validation windows of ordinary
 * batches fit; a bomb's or a huge record's window is released). */
#define SCRATCH_KEEP_BYTES (1u << 20)

typedef struct flush_ctx {
    sl_request *req;
    ProduceResponse_PartitionProduceResponse *out;
} flush_ctx;

static void finish(sl_request *req)
{
    sl_req_respond(req, req->resp);
}

static void on_flushed(void *arg, int status)
{
    flush_ctx *fc = arg;
    sl_request *req = fc->req;
    if (status < 0) {
        fc->out->ErrorCode =
            status == SL_ERR_NOT_LEADER ? KERR_NOT_LEADER_OR_FOLLOWER : KERR_KAFKA_STORAGE_ERROR;
        fc->out->BaseOffset = -1;
    }
    if (--req->pending == 0) finish(req);
}

static int16_t validation_error(int rc)
{
    switch (rc) {
    case SL_ERR_TRUNCATED:
    case SL_ERR_CORRUPT:
        return KERR_CORRUPT_MESSAGE;
    default:
        return sl_kerr_from(rc);
    }
}

/* acks=all: answers `out` once everything below end_offset is fsynced.
 * Returns true if the request must wait for that. */
static bool wait_durable(sl_request *req, sl_partition *p, int64_t end_offset,
                         ProduceResponse_PartitionProduceResponse *out)
{
    flush_ctx *fc = sl_req_alloc(req, sizeof *fc);
    fc->req = req;
    fc->out = out;
    int rc = sl_plog_flush_wait(p->log, end_offset, on_flushed, fc);
    if (rc == 0) return true;
    if (rc < 0) {
        out->ErrorCode = KERR_KAFKA_STORAGE_ERROR;
        out->BaseOffset = -1;
    }
    return false; /* rc == 1: already durable */
}

/* Appends one partition's records; fills `out`. Returns true if the request
 * must wait for an fsync of this partition. */
static bool produce_partition(sl_request *req, sl_topic *t, const ProduceRequest *rq,
                              const ProduceRequest_PartitionProduceData *pd,
                              ProduceResponse_PartitionProduceResponse *out, int64_t now_ms,
                              uint64_t *budget)
{
    sl_broker *b = req->b;
    int16_t kerr;
    sl_partition *p = sl_broker_partition(b, sl_str_c(t->name), pd->Index, &kerr);
    if (!p) {
        out->ErrorCode = kerr;
        return false;
    }
    out->LogStartOffset = sl_plog_log_start(p->log);
    if (pd->Records.len <= 0) {
        out->ErrorCode = KERR_INVALID_RECORD;
        out->ErrorMessage = sl_str_c("no record batch in the request");
        return false;
    }
    uint8_t *batch = (uint8_t *)pd->Records.ptr;
    size_t len = (size_t)pd->Records.len;

    sl_validate_opts vo;
    sl_validate_opts_default(&vo);
    vo.max_batch_bytes = (size_t)t->cfg.max_message_bytes;
    vo.max_decompressed_bytes = (size_t)SL_MIN((uint64_t)MAX_DECOMPRESSED_BYTES, *budget);
    uint64_t spent = 0;
    vo.decompressed = &spent;
    vo.allow_control = false;
    vo.require_keys = t->cfg.compact;
    vo.now_ms = now_ms;
    vo.max_timestamp_diff_ms =
        t->cfg.timestamp_difference_max_ms == INT64_MAX ? -1 : t->cfg.timestamp_difference_max_ms;
    vo.allow_zstd = req->version >= 7;
    vo.deep = true;
    sl_batch_header h;
    size_t nbatches = 0;
    int rc = sl_batch_validate(batch, len, &vo, &h, &b->scratch, &nbatches);
    *budget -= SL_MIN(spent, *budget);
    if (rc < 0) {
        out->ErrorCode = validation_error(rc);
        out->ErrorMessage = sl_str_c(sl_err_str(rc));
        if (rc == SL_ERR_TOO_LARGE && vo.max_decompressed_bytes < MAX_DECOMPRESSED_BYTES)
            out->ErrorMessage = sl_str_c("the request's batches decompress to more than one "
                                         "request may; send fewer partitions per request");
        SL_DEBUG("broker", "produce rejected topic=%s partition=%d peer=%s: %s", t->name, pd->Index,
                 sl_conn_peer(req->conn), sl_err_str(rc));
        return false;
    }
    if (sl_batch_is_transactional(&h) || rq->TransactionalId.len >= 0) {
        out->ErrorCode = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        out->ErrorMessage = sl_str_c("transactions are not supported yet");
        return false;
    }
    if (h.producer_id >= 0) {
        int64_t dup_offset = -1;
        rc = sl_pstate_check(p->pstate, &h, &dup_offset);
        if (rc == SL_ERR_DUPLICATE_SEQUENCE) {
            /* A retry of a batch we already have: acknowledge the original,
             * with acks=all only once the original is durable — it may still
             * be waiting for its fsync (the retry came because that was slow). */
            out->BaseOffset = dup_offset;
            if (rq->Acks != -1) return false;
            return wait_durable(req, p, dup_offset + h.last_offset_delta + 1, out);
        }
        if (rc < 0) {
            out->ErrorCode = sl_kerr_from(rc);
            out->ErrorMessage = sl_str_c(sl_err_str(rc));
            return false;
        }
    }
    if (t->cfg.log_append_time) {
        sl_batch_set_log_append_time(batch, len, now_ms);
        out->LogAppendTimeMs = now_ms;
    }
    int64_t base = -1;
    rc = sl_plog_append(p->log, batch, len, p->leader_epoch, &base);
    if (rc < 0) {
        out->ErrorCode = sl_kerr_from(rc == SL_ERR_IO ? SL_ERR_OFFLINE : rc);
        out->ErrorMessage = sl_str_c(sl_err_str(rc));
        return false;
    }
    h.base_offset = base;
    sl_pstate_record(p->pstate, &h, base, now_ms);
    out->BaseOffset = base;
    sl_partition_appended(p, (int64_t)len);

    if (rq->Acks != -1) return false;
    return wait_durable(req, p, base + h.last_offset_delta + 1, out);
}

void sl_handle_produce(sl_request *req)
{
    sl_broker *b = req->b;
    const ProduceRequest *rq = req->body;
    ProduceResponse *resp = sl_req_alloc(req, sizeof *resp);
    ProduceResponse_init(resp);
    req->resp = resp;
    resp->Responses = SL_REQ_ARRAY(req, ProduceResponse_TopicProduceResponse, rq->TopicData_count);
    resp->Responses_count = rq->TopicData_count < 0 ? 0 : rq->TopicData_count;

    int16_t request_error = KERR_NONE;
    if (req->version < sl_api_get(SL_API_PRODUCE)->served_min_version)
        request_error = KERR_UNSUPPORTED_VERSION;
    else if (rq->Acks != 0 && rq->Acks != 1 && rq->Acks != -1)
        request_error = KERR_INVALID_REQUIRED_ACKS;

    int64_t now_ms = sl_wall_ms();
    uint64_t budget =
        REQUEST_DECOMPRESS_BASE + REQUEST_DECOMPRESS_PER_BYTE * (uint64_t)req->frame_len;
    bool any_error = false;
    req->pending = 1; /* this function's own reference */
    for (int32_t i = 0; i < resp->Responses_count; i++) {
        const ProduceRequest_TopicProduceData *td = &rq->TopicData[i];
        ProduceResponse_TopicProduceResponse *to = &resp->Responses[i];
        ProduceResponse_TopicProduceResponse_init(to);
        to->Name = td->Name;
        int32_t np = td->PartitionData_count < 0 ? 0 : td->PartitionData_count;
        to->PartitionResponses = SL_REQ_ARRAY(req, ProduceResponse_PartitionProduceResponse, np);
        to->PartitionResponses_count = np;
        sl_topic *t = request_error ? NULL : sl_broker_topic(b, td->Name);
        for (int32_t j = 0; j < np; j++) {
            ProduceResponse_PartitionProduceResponse *po = &to->PartitionResponses[j];
            ProduceResponse_PartitionProduceResponse_init(po);
            po->Index = td->PartitionData[j].Index;
            po->BaseOffset = -1;
            if (request_error)
                po->ErrorCode = request_error;
            else if (!t || t->internal)
                po->ErrorCode = t ? KERR_INVALID_TOPIC_EXCEPTION : KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (produce_partition(req, t, rq, &td->PartitionData[j], po, now_ms, &budget))
                req->pending++;
            any_error |= po->ErrorCode != KERR_NONE;
        }
    }
    /* A batch that decompressed to a large window (up to the 64 MiB cap)
     * leaves the scratch buffer that big; give it back rather than keep the
     * peak of one request for the life of the process. */
    sl_buf_reset(&b->scratch);
    sl_buf_shrink(&b->scratch, SCRATCH_KEEP_BYTES);
    if (rq->Acks == 0) {
        /* No response: the only way to tell the producer about an error is
         * to drop the connection. */
        if (any_error)
            sl_req_close(req, "error in an acks=0 produce");
        else
            sl_req_finish_silent(req);
        return;
    }
    if (--req->pending == 0) finish(req);
}
