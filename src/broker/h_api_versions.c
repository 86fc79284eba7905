/* ApiVersions (key 18), v0-4: the APIs this broker serves, each with one
 * contiguous version range. Only APIs with a handler are advertised, so a
 * definition in proto/ never leaks into the list before it is implemented.
 * The response always goes out with header v0 (handled by the proto layer). */
#include "broker/internal.h"

void sl_handle_api_versions(sl_request *req)
{
    size_t n;
    const sl_api_info *apis = sl_api_list(&n);
    ApiVersionsResponse resp;
    ApiVersionsResponse_init(&resp);
    resp.ApiKeys = SL_REQ_ARRAY(req, ApiVersionsResponse_ApiVersion, n);
    int32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sl_handler_for(apis[i].key)) continue;
        ApiVersionsResponse_ApiVersion *v = &resp.ApiKeys[k++];
        v->ApiKey = apis[i].key;
        v->MinVersion = apis[i].min_version;
        v->MaxVersion = apis[i].max_version;
    }
    resp.ApiKeys_count = k;
    resp.ErrorCode = KERR_NONE;
    sl_req_respond(req, &resp);
}
