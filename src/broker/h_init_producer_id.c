/* InitProducerId (key 22), v0-5: hands idempotent producers a producer id
 * (epoch 0) from a block reserved in the metadata log, so ids stay unique
 * across restarts. A producer that sends its current id and epoch (v3+,
 * KIP-360, after a sequence error) gets the same id with the epoch bumped,
 * or a fresh id when the epoch would overflow.
 *
 * Transactional ids are refused until transactions are implemented.
 */
#include "base/err.h"
#include "broker/internal.h"

#define PID_BLOCK 1000

static void answer(sl_request *req, int16_t err, int64_t pid, int16_t epoch)
{
    InitProducerIdResponse resp;
    InitProducerIdResponse_init(&resp);
    resp.ErrorCode = err;
    resp.ProducerId = pid;
    resp.ProducerEpoch = epoch;
    sl_req_respond(req, &resp);
}

static void serve_waiters(sl_broker *b);

static void on_block(void *arg, int status, int64_t first_id, int32_t count)
{
    sl_broker *b = arg;
    b->pid_alloc_running = false;
    if (status < 0) {
        SL_WARN("broker", "producer id block allocation failed: %s", sl_err_str(status));
        while (b->pid_waiters) {
            sl_request *req = b->pid_waiters;
            b->pid_waiters = req->next;
            answer(req, KERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
        }
        return;
    }
    b->pid_next = first_id;
    b->pid_end = first_id + count;
    serve_waiters(b);
}

static void serve_waiters(sl_broker *b)
{
    while (b->pid_waiters && b->pid_next < b->pid_end) {
        sl_request *req = b->pid_waiters;
        b->pid_waiters = req->next;
        answer(req, KERR_NONE, b->pid_next++, 0);
    }
    if (b->pid_waiters && !b->pid_alloc_running && !b->stopping) {
        int rc = sl_meta_alloc_producer_ids(b->meta, PID_BLOCK, on_block, b);
        if (rc < 0)
            on_block(b, rc, 0, 0);
        else
            b->pid_alloc_running = true;
    }
}

void sl_handle_init_producer_id(sl_request *req)
{
    sl_broker *b = req->b;
    const InitProducerIdRequest *rq = req->body;
    if (rq->TransactionalId.len >= 0) {
        SL_INFO("broker",
                "transactional producer refused (transactions not supported yet) "
                "peer=%s",
                sl_conn_peer(req->conn));
        answer(req, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1);
        return;
    }
    if (rq->ProducerId >= 0 && rq->ProducerEpoch >= 0) {
        if (rq->ProducerEpoch < INT16_MAX - 1) {
            answer(req, KERR_NONE, rq->ProducerId, (int16_t)(rq->ProducerEpoch + 1));
            return;
        }
        /* epoch exhausted: fall through to a new id */
    }
    /* Queue behind earlier waiters so ids go out in arrival order. */
    sl_request **tail = &b->pid_waiters;
    while (*tail)
        tail = &(*tail)->next;
    req->next = NULL;
    *tail = req;
    serve_waiters(b);
}

void sl_pid_shutdown(sl_broker *b)
{
    while (b->pid_waiters) {
        sl_request *req = b->pid_waiters;
        b->pid_waiters = req->next;
        answer(req, KERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
    }
}
