/* DescribeCluster (key 60), v0-1: brokers, controller and cluster id, from
 * the metadata image. */
#include "broker/internal.h"

void sl_handle_describe_cluster(sl_request *req)
{
    const DescribeClusterRequest *rq = req->body;
    sl_broker *b = req->b;
    const sl_meta_image *img = sl_broker_image(b);
    DescribeClusterResponse resp;
    DescribeClusterResponse_init(&resp);
    resp.EndpointType = rq->EndpointType;
    if (req->version >= 1 && rq->EndpointType != 1) {
        /* Only broker endpoints exist (no separate controller listener). */
        resp.ErrorCode = KERR_UNSUPPORTED_ENDPOINT_TYPE;
        resp.ErrorMessage = sl_str_c("only broker endpoints (type 1) are served");
        resp.ClusterId = sl_str_c(sl_meta_cluster_id(b->meta));
        resp.Brokers_count = 0;
        sl_req_respond(req, &resp);
        return;
    }
    resp.ClusterId = sl_str_c(sl_meta_cluster_id(b->meta));
    resp.ControllerId = b->node_id;
    size_t n = sl_meta_broker_count(img);
    resp.Brokers = SL_REQ_ARRAY(req, DescribeClusterResponse_DescribeClusterBroker, n);
    resp.Brokers_count = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        const sl_meta_broker *mb = sl_meta_broker_at(img, i);
        DescribeClusterResponse_DescribeClusterBroker *o = &resp.Brokers[i];
        DescribeClusterResponse_DescribeClusterBroker_init(o);
        o->BrokerId = sl_meta_broker_node_id(mb);
        o->Host = sl_str_c(sl_meta_broker_host(mb));
        o->Port = sl_meta_broker_port(mb);
        o->Rack = sl_str_c(sl_meta_broker_rack(mb));
    }
    sl_req_respond(req, &resp);
}
