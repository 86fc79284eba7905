/* Request life cycle: frame -> header -> dispatch -> handler -> response.
 *
 * A request object (with its arena) comes from a pool and goes back to it
 * when the response is handed to the net layer, so steady-state traffic
 * allocates nothing. Decoding failures close the connection (as Kafka does)
 * with a log line naming the API, version and byte offset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "broker/internal.h"

#define REQ_POOL_MAX    256
#define REQ_ARENA_BLOCK (16 * 1024)
/* Decoded structs can be larger than their wire form (an empty struct is
 * one byte on the wire); bound what one request may allocate. */
#define REQ_ARENA_BASE     (16u << 20)
#define REQ_ARENA_PER_BYTE 4u

static const sl_handler_fn g_handlers[] = {
    [SL_API_PRODUCE] = sl_handle_produce,
    [SL_API_FETCH] = sl_handle_fetch,
    [SL_API_LIST_OFFSETS] = sl_handle_list_offsets,
    [SL_API_METADATA] = sl_handle_metadata,
    [SL_API_API_VERSIONS] = sl_handle_api_versions,
    [SL_API_CREATE_TOPICS] = sl_handle_create_topics,
    [SL_API_DELETE_TOPICS] = sl_handle_delete_topics,
    [SL_API_DELETE_RECORDS] = sl_handle_delete_records,
    [SL_API_INIT_PRODUCER_ID] = sl_handle_init_producer_id,
    [SL_API_DESCRIBE_CONFIGS] = sl_handle_describe_configs,
    [SL_API_ALTER_CONFIGS] = sl_handle_alter_configs,
    [SL_API_CREATE_PARTITIONS] = sl_handle_create_partitions,
    [SL_API_INCREMENTAL_ALTER_CONFIGS] = sl_handle_incremental_alter_configs,
    [SL_API_DESCRIBE_CLUSTER] = sl_handle_describe_cluster,
    [SL_API_FIND_COORDINATOR] = sl_handle_find_coordinator,
    [SL_API_JOIN_GROUP] = sl_handle_join_group,
    [SL_API_SYNC_GROUP] = sl_handle_sync_group,
    [SL_API_HEARTBEAT] = sl_handle_heartbeat,
    [SL_API_LEAVE_GROUP] = sl_handle_leave_group,
    [SL_API_OFFSET_COMMIT] = sl_handle_offset_commit,
    [SL_API_OFFSET_FETCH] = sl_handle_offset_fetch,
    [SL_API_DESCRIBE_GROUPS] = sl_handle_describe_groups,
    [SL_API_LIST_GROUPS] = sl_handle_list_groups,
    [SL_API_DELETE_GROUPS] = sl_handle_delete_groups,
    [SL_API_OFFSET_DELETE] = sl_handle_offset_delete,
};

sl_handler_fn sl_handler_for(int16_t api_key)
{
    if (api_key < 0 || (size_t)api_key >= SL_ARRAY_LEN(g_handlers)) return NULL;
    return g_handlers[api_key];
}

static sl_request *req_get(sl_broker *b)
{
    sl_request *r = b->free_reqs;
    if (r) {
        b->free_reqs = r->next;
        b->nfree--;
    } else {
        r = SL_NEW(sl_request);
        sl_arena_init(&r->arena, REQ_ARENA_BLOCK, REQ_ARENA_BASE);
    }
    r->next = NULL;
    r->b = b;
    b->active_reqs++;
    return r;
}

typedef struct sl_req_file {
    struct sl_req_file *next;
    sl_fileref *file;
} sl_req_file;

void sl_req_hold_file(sl_request *req, sl_fileref *f)
{
    sl_req_file *h = sl_req_alloc(req, sizeof *h);
    h->file = f;
    h->next = req->files;
    req->files = h;
}

static void req_put(sl_request *r)
{
    sl_broker *b = r->b;
    for (sl_req_file *f = r->files; f; f = f->next)
        sl_fileref_unref(f->file);
    r->files = NULL;
    b->active_reqs--;
    sl_arena_reset(&r->arena);
    r->body = NULL;
    r->resp = NULL;
    r->pending = 0;
    r->conn = NULL;
    if (b->nfree >= REQ_POOL_MAX) {
        sl_arena_fini(&r->arena);
        sl_free(r);
        return;
    }
    r->next = b->free_reqs;
    b->free_reqs = r;
    b->nfree++;
}

void sl_broker_free_request_pool(sl_broker *b)
{
    while (b->free_reqs) {
        sl_request *r = b->free_reqs;
        b->free_reqs = r->next;
        sl_arena_fini(&r->arena);
        sl_free(r);
    }
    b->nfree = 0;
}

void *sl_req_alloc(sl_request *req, size_t n)
{
    void *p = sl_arena_alloc(&req->arena, n);
    if (!p) {
        /* The arena limit only bounds decoding of hostile input; a handler
         * building a response within it cannot fail sensibly. */
        SL_ERROR("broker", "request arena exhausted building a response api=%d", req->api_key);
        abort();
    }
    return p;
}

sl_str sl_req_str(sl_request *req, const char *s)
{
    if (!s) return SL_STR_NULL;
    size_t n = strlen(s);
    char *d = sl_req_alloc(req, n + 1);
    memcpy(d, s, n);
    return sl_str_n(d, (int32_t)n);
}

char *sl_req_cstr(sl_request *req, sl_str s)
{
    if (s.len < 0) return NULL;
    char *d = sl_req_alloc(req, (size_t)s.len + 1);
    if (s.len) memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

void sl_req_respond(sl_request *req, const void *resp)
{
    sl_broker *b = req->b;
    sl_buf_reset(&b->out);
    sl_proto_response_header_encode(&b->out, req->api_key, req->version, req->correlation_id);
    sl_api_encode_response(req->api_key, req->version, &b->out, resp);
    int rc = sl_conn_respond(req->conn, req->id, &b->out);
    if (rc < 0 && rc != SL_ERR_CLOSED)
        SL_WARN("broker", "response not sent api=%d peer=%s: %s", req->api_key,
                sl_conn_peer(req->conn), sl_err_str(rc));
    sl_buf_reset(&b->out);
    req_put(req);
}

void sl_req_finish_silent(sl_request *req)
{
    sl_conn_complete_no_response(req->conn, req->id);
    req_put(req);
}

void sl_req_close(sl_request *req, const char *why)
{
    /* Peer-driven: rate-limited with the net layer's own warnings. */
    sl_server_log_peer(sl_conn_server(req->conn), "closing connection peer=%s api=%d v=%d: %s",
                       sl_conn_peer(req->conn), req->api_key, req->version, why);
    sl_conn_close(req->conn);
    sl_conn_complete_no_response(req->conn, req->id);
    req_put(req);
}

/* ApiVersions at a version we don't know: Kafka answers with a v0 body
 * carrying UNSUPPORTED_VERSION and the supported range of ApiVersions so the
 * client can retry lower. */
static void respond_api_versions_unsupported(sl_request *req)
{
    const sl_api_info *api = sl_api_get(SL_API_API_VERSIONS);
    ApiVersionsResponse resp;
    ApiVersionsResponse_init(&resp);
    resp.ErrorCode = KERR_UNSUPPORTED_VERSION;
    resp.ApiKeys = SL_REQ_ARRAY(req, ApiVersionsResponse_ApiVersion, 1);
    resp.ApiKeys_count = 1;
    resp.ApiKeys[0].ApiKey = SL_API_API_VERSIONS;
    resp.ApiKeys[0].MinVersion = api->min_version;
    resp.ApiKeys[0].MaxVersion = api->max_version;
    req->version = 0;
    sl_req_respond(req, &resp);
}

static bool needs_metadata(int16_t api_key)
{
    return api_key != SL_API_API_VERSIONS;
}

static void dispatch(sl_request *req)
{
    sl_handler_for(req->api_key)(req);
}

void sl_broker_release_held(sl_broker *b)
{
    while (b->held_head) {
        sl_request *r = b->held_head;
        b->held_head = r->next;
        if (!b->held_head) b->held_tail = NULL;
        r->next = NULL;
        dispatch(r);
    }
}

void sl_broker_on_request(void *ctx, sl_conn *c, sl_req_id id, const uint8_t *frame, size_t len);
void sl_broker_on_request(void *ctx, sl_conn *c, sl_req_id id, const uint8_t *frame, size_t len)
{
    sl_broker *b = ctx;
    sl_request *req = req_get(b);
    req->conn = c;
    req->id = id;
    req->frame = frame;
    req->frame_len = len;
    req->arena.limit = REQ_ARENA_BASE + REQ_ARENA_PER_BYTE * len;

    sl_reader r;
    sl_reader_init(&r, frame, len);
    RequestHeader h;
    int rc = sl_proto_request_header_decode(&r, &req->arena, &h);
    req->api_key = h.RequestApiKey;
    req->version = h.RequestApiVersion;
    req->correlation_id = h.CorrelationId;
    req->client_id = h.ClientId;
    if (rc < 0) {
        char why[160];
        if (len < 4) {
            /* Not even the API key and version: naming an API would mislead. */
            req->api_key = req->version = -1;
            snprintf(why, sizeof why, "request header truncated (%zu-byte frame)", len);
        } else {
            sl_proto_format_error(why, sizeof why, h.RequestApiKey, h.RequestApiVersion,
                                  sl_reader_offset(&r), rc);
        }
        sl_req_close(req, why);
        return;
    }
    const sl_api_info *api = sl_api_get(req->api_key);
    if (!api || !sl_handler_for(req->api_key)) {
        sl_req_close(req, "unknown API key");
        return;
    }
    if (!sl_api_version_supported(api, req->version)) {
        if (req->api_key == SL_API_API_VERSIONS) {
            respond_api_versions_unsupported(req);
            return;
        }
        sl_req_close(req, "unsupported API version");
        return;
    }
    rc = sl_api_decode_request(req->api_key, req->version, &r, &req->arena, &req->body);
    if (rc < 0) {
        char why[160];
        sl_proto_format_error(why, sizeof why, req->api_key, req->version, sl_reader_offset(&r),
                              rc);
        sl_req_close(req, why);
        return;
    }
    if (b->stopping) {
        sl_req_close(req, "broker shutting down");
        return;
    }
    if (!b->ready && needs_metadata(req->api_key)) {
        if (b->held_tail)
            b->held_tail->next = req;
        else
            b->held_head = req;
        b->held_tail = req;
        return;
    }
    dispatch(req);
}
