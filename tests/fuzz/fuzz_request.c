/* Fuzz target for the request decoder: input = one request frame without
 * its size prefix (header + body), as the network layer hands it over.
 *
 * Decodes the header, then the body for its (api, version) through the
 * generic dispatch. Whatever decodes must re-encode to exactly size() bytes,
 * decode again, and re-encode to the same bytes. The body is also fed to the
 * response decoder of the same API, and consumer-group payloads found in
 * JoinGroup/SyncGroup requests to the ConsumerProtocol decoders (the CLI
 * decodes those). Decoding failures must leave the reader inside the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_request: %s\n", what);
        abort();
    }
}

static void roundtrip(const sl_api_info *api, int16_t version, const void *msg, bool request,
                      sl_arena *a)
{
    sl_api_encode_fn enc = request ? api->request_encode : api->response_encode;
    sl_api_decode_fn dec = request ? api->request_decode : api->response_decode;
    sl_api_size_fn size = request ? api->request_size : api->response_size;
    sl_buf b1, b2;
    sl_buf_init(&b1);
    sl_buf_init(&b2);
    enc(&b1, version, msg);
    check(size(version, msg) == b1.len, "size() differs from the encoded length");
    void *again = sl_arena_alloc(a, request ? api->request_sizeof : api->response_sizeof);
    if (again) {
        sl_reader r;
        /* An empty encoding has no buffer: never offset a NULL pointer. */
        sl_reader_init(&r, b1.len ? b1.data : (const uint8_t *)"", b1.len);
        int rc = dec(&r, a, version, again);
        /* The arena limit may refuse the second copy; anything else is a bug. */
        if (rc != SL_ERR_NOMEM) {
            check(rc == 0, "re-encoded message does not decode");
            check(sl_reader_left(&r) == 0, "re-encoded message has trailing bytes");
            enc(&b2, version, again);
            check(b1.len == b2.len && (b1.len == 0 || memcmp(b1.data, b2.data, b1.len) == 0),
                  "encode(decode(encode(x))) differs from encode(x)");
        }
    }
    sl_buf_fini(&b1);
    sl_buf_fini(&b2);
}

static void consumer_payload(sl_bytes p, bool assignment, sl_arena *a)
{
    if (p.len < 2) return;
    sl_reader r;
    sl_reader_init(&r, p.ptr, (size_t)p.len);
    int16_t v = sl_read_i16(&r);
    if (v < 0) return;
    if (v > 3) v = 3; /* newer versions extend the last one */
    if (assignment) {
        ConsumerProtocolAssignment m;
        if (ConsumerProtocolAssignment_decode(&r, a, v, &m) == 0) {
            sl_buf b;
            sl_buf_init(&b);
            ConsumerProtocolAssignment_encode(&b, v, &m);
            check(b.len == ConsumerProtocolAssignment_size(v, &m), "assignment size");
            sl_buf_fini(&b);
        }
    } else {
        ConsumerProtocolSubscription m;
        if (ConsumerProtocolSubscription_decode(&r, a, v, &m) == 0) {
            sl_buf b;
            sl_buf_init(&b);
            ConsumerProtocolSubscription_encode(&b, v, &m);
            check(b.len == ConsumerProtocolSubscription_size(v, &m), "subscription size");
            sl_buf_fini(&b);
        }
    }
}

static void request_body(const RequestHeader *h, const uint8_t *data, size_t size, size_t body_at,
                         sl_arena *a)
{
    int16_t key = h->RequestApiKey, version = h->RequestApiVersion;
    sl_reader r;
    sl_reader_init(&r, data, size);
    r.pos += body_at;
    void *req = NULL;
    int rc = sl_api_decode_request(key, version, &r, a, &req);
    check(sl_reader_offset(&r) <= size, "body reader beyond the input");
    if (rc != 0) {
        char msg[128];
        sl_proto_format_error(msg, sizeof msg, key, version, sl_reader_offset(&r), rc);
        return;
    }
    roundtrip(sl_api_get(key), version, req, true, a);

    if (key == SL_API_JOIN_GROUP) {
        const JoinGroupRequest *j = req;
        for (int32_t i = 0; i < j->Protocols_count; i++)
            consumer_payload(j->Protocols[i].Metadata, false, a);
    } else if (key == SL_API_SYNC_GROUP) {
        const SyncGroupRequest *s = req;
        for (int32_t i = 0; i < s->Assignments_count; i++)
            consumer_payload(s->Assignments[i].Assignment, true, a);
    }
}

/* The same bytes as a response body of that API (tools decode those). */
static void response_body(const RequestHeader *h, const uint8_t *body, size_t size, sl_arena *a)
{
    const sl_api_info *api = sl_api_get(h->RequestApiKey);
    if (!api) return;
    sl_reader r;
    sl_reader_init(&r, body, size);
    void *resp = NULL;
    if (sl_api_decode_response(api->key, h->RequestApiVersion, &r, a, &resp) == 0)
        roundtrip(api, h->RequestApiVersion, resp, false, a);
    check(sl_reader_offset(&r) <= size, "response reader beyond the input");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) data = (const uint8_t *)""; /* no NULL + 0 */
    sl_arena a;
    sl_arena_init(&a, 4096, 1u << 20);
    sl_reader r;
    sl_reader_init(&r, data, size);
    RequestHeader h;
    int rc = sl_proto_request_header_decode(&r, &a, &h);
    check(sl_reader_offset(&r) <= size, "header reader beyond the input");
    if (rc == 0) {
        size_t body_at = sl_reader_offset(&r);
        /* A v1 header re-encodes to its own bytes; a v2 one may lose skipped
         * tagged fields or non-minimal varints, so it can only shrink. */
        sl_buf hb;
        sl_buf_init(&hb);
        sl_proto_request_header_encode(&hb, &h);
        if (sl_api_request_header_version(h.RequestApiKey, h.RequestApiVersion) == 1)
            check(hb.len == body_at && memcmp(hb.data, data, body_at) == 0,
                  "v1 header does not re-encode to its bytes");
        else
            check(hb.len <= body_at, "v2 header grew when re-encoded");
        sl_buf_fini(&hb);

        request_body(&h, data, size, body_at, &a);
        response_body(&h, data + body_at, size - body_at, &a);
    }
    sl_arena_fini(&a);
    return 0;
}
