/* Generic dispatch over the generated API table, and the header rules. */
#include "proto/api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"

static const sl_api_info *api_checked(int16_t api_key, int16_t version, const char *what)
{
    const sl_api_info *api = sl_api_get(api_key);
    if (!api || !sl_api_version_supported(api, version)) {
        /* Encoding an unsupported version is a handler bug: there are no
         * valid bytes to produce, and sending garbage would desync the
         * connection. */
        SL_ERROR("proto", "%s of unsupported api=%d v=%d", what, api_key, version);
        abort();
    }
    return api;
}

static int decode_any(int16_t api_key, int16_t version, sl_reader *r, sl_arena *a, void **out,
                      bool request)
{
    *out = NULL;
    const sl_api_info *api = sl_api_get(api_key);
    if (!api) return SL_ERR_NOT_FOUND;
    if (!sl_api_version_supported(api, version)) return SL_ERR_UNSUPPORTED_VERSION;
    void *msg = sl_arena_alloc(a, request ? api->request_sizeof : api->response_sizeof);
    if (!msg) return SL_ERR_NOMEM;
    int rc = request ? api->request_decode(r, a, version, msg)
                     : api->response_decode(r, a, version, msg);
    if (rc == 0) *out = msg;
    return rc;
}

int sl_api_decode_request(int16_t api_key, int16_t version, sl_reader *r, sl_arena *a, void **out)
{
    return decode_any(api_key, version, r, a, out, true);
}

int sl_api_decode_response(int16_t api_key, int16_t version, sl_reader *r, sl_arena *a, void **out)
{
    return decode_any(api_key, version, r, a, out, false);
}

void sl_api_encode_request(int16_t api_key, int16_t version, sl_buf *b, const void *req)
{
    api_checked(api_key, version, "encode request")->request_encode(b, version, req);
}

void sl_api_encode_response(int16_t api_key, int16_t version, sl_buf *b, const void *resp)
{
    api_checked(api_key, version, "encode response")->response_encode(b, version, resp);
}

size_t sl_api_request_size(int16_t api_key, int16_t version, const void *req)
{
    return api_checked(api_key, version, "size request")->request_size(version, req);
}

size_t sl_api_response_size(int16_t api_key, int16_t version, const void *resp)
{
    return api_checked(api_key, version, "size response")->response_size(version, resp);
}

int16_t sl_api_request_header_version(int16_t api_key, int16_t version)
{
    const sl_api_info *api = sl_api_get(api_key);
    return api && sl_api_is_flexible(api, version) ? 2 : 1;
}

int16_t sl_api_response_header_version(int16_t api_key, int16_t version)
{
    if (api_key == SL_API_API_VERSIONS) return 0;
    const sl_api_info *api = sl_api_get(api_key);
    return api && sl_api_is_flexible(api, version) ? 1 : 0;
}

int sl_proto_request_header_decode(sl_reader *r, sl_arena *a, RequestHeader *h)
{
    RequestHeader_init(h);
    if (r->err) return r->err;
    if (sl_reader_left(r) < 4) {
        r->err = SL_ERR_TRUNCATED;
        return r->err;
    }
    int16_t key = (int16_t)sl_load_be16(r->pos);
    int16_t version = (int16_t)sl_load_be16(r->pos + 2);
    return RequestHeader_decode(r, a, sl_api_request_header_version(key, version), h);
}

void sl_proto_request_header_encode(sl_buf *b, const RequestHeader *h)
{
    RequestHeader_encode(b, sl_api_request_header_version(h->RequestApiKey, h->RequestApiVersion),
                         h);
}

void sl_proto_response_header_encode(sl_buf *b, int16_t api_key, int16_t version,
                                     int32_t correlation_id)
{
    ResponseHeader h;
    ResponseHeader_init(&h);
    h.CorrelationId = correlation_id;
    ResponseHeader_encode(b, sl_api_response_header_version(api_key, version), &h);
}

size_t sl_proto_response_header_size(int16_t api_key, int16_t version)
{
    return sl_api_response_header_version(api_key, version) ? 5 : 4;
}

size_t sl_proto_frame_begin(sl_buf *b)
{
    size_t at = b->len;
    sl_buf_put_i32(b, 0);
    return at;
}

void sl_proto_frame_end(sl_buf *b, size_t at)
{
    int64_t spliced = 0;
    for (size_t i = b->nsplices; i > 0 && b->splices[i - 1].at > at; i--)
        spliced += b->splices[i - 1].len;
    int64_t size = (int64_t)(b->len - at - 4) + spliced;
    sl_store_be32(b->data + at, (uint32_t)size);
}

int sl_proto_format_error(char *buf, size_t n, int16_t api_key, int16_t version, size_t offset,
                          int err)
{
    const sl_api_info *api = sl_api_get(api_key);
    if (api)
        return snprintf(buf, n, "api=%s v=%d offset=%zu: %s", api->name, version, offset,
                        sl_err_str(err));
    return snprintf(buf, n, "api=%d v=%d offset=%zu: %s", api_key, version, offset,
                    sl_err_str(err));
}
