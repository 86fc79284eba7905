/* Metadata (key 3), v0-12: brokers, cluster id, controller and topic
 * layout from the metadata image.
 *
 * Auto-creation: a requested topic that does not exist is created (with
 * num.partitions partitions) when auto.create.topics.enable is on and the
 * request allows it (always below v4, AllowAutoTopicCreation from v4). Kafka
 * answers LEADER_NOT_AVAILABLE and lets the client retry; on one node the
 * creation commits in milliseconds, so we wait for it and answer with the
 * new topic — the first produce to a new topic then needs no retry.
 */
#include <string.h>

#include "base/err.h"
#include "broker/internal.h"

/* Kafka's ACL operation bits, reported when a client asks for authorized
 * operations: without ACLs every operation is allowed. */
#define OPS_TOPIC                                                                                  \
    ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11))
#define OPS_CLUSTER       ((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12))
#define OPS_NOT_REQUESTED INT32_MIN

static bool all_topics(const sl_request *req, const MetadataRequest *rq)
{
    /* v0: an empty list means all topics; v1+: a null list does. */
    return rq->Topics_count < 0 || (req->version == 0 && rq->Topics_count == 0);
}

static void fill_topic(sl_request *req, const MetadataRequest *rq, const sl_meta_topic *mt,
                       MetadataResponse_MetadataResponseTopic *o)
{
    sl_broker *b = req->b;
    o->ErrorCode = KERR_NONE;
    o->Name = sl_str_c(sl_meta_topic_name(mt));
    memcpy(o->TopicId.b, sl_meta_topic_id(mt), 16);
    o->IsInternal = strcmp(sl_meta_topic_name(mt), "__consumer_offsets") == 0;
    o->TopicAuthorizedOperations =
        rq->IncludeTopicAuthorizedOperations ? OPS_TOPIC : OPS_NOT_REQUESTED;
    int32_t n = sl_meta_topic_partition_count(mt);
    o->Partitions = SL_REQ_ARRAY(req, MetadataResponse_MetadataResponsePartition, n);
    o->Partitions_count = n;
    sl_topic *t = sl_map_get(&b->topics, o->Name.ptr, (size_t)o->Name.len);
    for (int32_t i = 0; i < n; i++) {
        const sl_meta_partition *mp = sl_meta_topic_partition(mt, i);
        MetadataResponse_MetadataResponsePartition *p = &o->Partitions[i];
        MetadataResponse_MetadataResponsePartition_init(p);
        p->PartitionIndex = i;
        p->LeaderId = sl_meta_partition_leader(mp);
        p->LeaderEpoch = sl_meta_partition_leader_epoch(mp);
        size_t nr, ni;
        const int32_t *r = sl_meta_partition_replicas(mp, &nr);
        const int32_t *isr = sl_meta_partition_isr(mp, &ni);
        p->ReplicaNodes = (int32_t *)r;
        p->ReplicaNodes_count = (int32_t)nr;
        p->IsrNodes = (int32_t *)isr;
        p->IsrNodes_count = (int32_t)ni;
        p->OfflineReplicas_count = 0;
        bool offline =
            !t || i >= t->npartitions || !t->parts[i]->log || sl_logdir_is_offline(b->logdir);
        if (offline) {
            p->ErrorCode = KERR_KAFKA_STORAGE_ERROR;
            p->OfflineReplicas = (int32_t *)r;
            p->OfflineReplicas_count = (int32_t)nr;
        }
    }
}

static void respond(sl_request *req)
{
    sl_broker *b = req->b;
    const MetadataRequest *rq = req->body;
    const sl_meta_image *img = sl_broker_image(b);
    MetadataResponse resp;
    MetadataResponse_init(&resp);

    size_t nb = sl_meta_broker_count(img);
    resp.Brokers = SL_REQ_ARRAY(req, MetadataResponse_MetadataResponseBroker, nb);
    resp.Brokers_count = (int32_t)nb;
    for (size_t i = 0; i < nb; i++) {
        const sl_meta_broker *mb = sl_meta_broker_at(img, i);
        MetadataResponse_MetadataResponseBroker *o = &resp.Brokers[i];
        MetadataResponse_MetadataResponseBroker_init(o);
        o->NodeId = sl_meta_broker_node_id(mb);
        o->Host = sl_str_c(sl_meta_broker_host(mb));
        o->Port = sl_meta_broker_port(mb);
        o->Rack = sl_str_c(sl_meta_broker_rack(mb));
    }
    resp.ClusterId = sl_str_c(sl_meta_cluster_id(b->meta));
    resp.ControllerId = b->node_id;
    resp.ClusterAuthorizedOperations =
        rq->IncludeClusterAuthorizedOperations ? OPS_CLUSTER : OPS_NOT_REQUESTED;

    if (all_topics(req, rq)) {
        size_t nt = sl_meta_topic_count(img);
        resp.Topics = SL_REQ_ARRAY(req, MetadataResponse_MetadataResponseTopic, nt);
        resp.Topics_count = (int32_t)nt;
        for (size_t i = 0; i < nt; i++) {
            MetadataResponse_MetadataResponseTopic_init(&resp.Topics[i]);
            fill_topic(req, rq, sl_meta_topic_at(img, i), &resp.Topics[i]);
        }
    } else {
        resp.Topics = SL_REQ_ARRAY(req, MetadataResponse_MetadataResponseTopic, rq->Topics_count);
        resp.Topics_count = rq->Topics_count;
        for (int32_t i = 0; i < rq->Topics_count; i++) {
            const MetadataRequest_MetadataRequestTopic *qt = &rq->Topics[i];
            MetadataResponse_MetadataResponseTopic *o = &resp.Topics[i];
            MetadataResponse_MetadataResponseTopic_init(o);
            o->TopicAuthorizedOperations = OPS_NOT_REQUESTED;
            const sl_meta_topic *mt = NULL;
            if (qt->Name.len >= 0) {
                mt = sl_meta_topic_by_name(img, qt->Name.ptr, (size_t)qt->Name.len);
                o->Name = qt->Name;
                if (!mt)
                    o->ErrorCode = sl_meta_valid_topic_name(qt->Name.ptr, (size_t)qt->Name.len)
                                       ? KERR_UNKNOWN_TOPIC_OR_PARTITION
                                       : KERR_INVALID_TOPIC_EXCEPTION;
            } else {
                mt = sl_meta_topic_by_id(img, qt->TopicId.b);
                o->TopicId = qt->TopicId;
                if (!mt) o->ErrorCode = KERR_UNKNOWN_TOPIC_ID;
            }
            if (mt) fill_topic(req, rq, mt, o);
        }
    }
    sl_req_respond(req, &resp);
}

static void on_created(void *arg, int status, const sl_meta_topic *topic)
{
    (void)topic;
    sl_request *req = arg;
    if (status < 0 && status != SL_ERR_EXISTS)
        SL_WARN("broker", "auto-creating a topic failed: %s", sl_err_str(status));
    if (--req->pending == 0) respond(req);
}

void sl_handle_metadata(sl_request *req)
{
    sl_broker *b = req->b;
    const MetadataRequest *rq = req->body;
    bool allow = (req->version < 4 || rq->AllowAutoTopicCreation) &&
                 sl_config_bool(b->cfg, SL_BCFG_AUTO_CREATE_TOPICS_ENABLE);
    req->pending = 1; /* held by this function until every proposal is out */
    if (allow && !all_topics(req, rq)) {
        const sl_meta_image *img = sl_broker_image(b);
        for (int32_t i = 0; i < rq->Topics_count; i++) {
            sl_str name = rq->Topics[i].Name;
            if (name.len <= 0 || sl_meta_topic_by_name(img, name.ptr, (size_t)name.len) ||
                !sl_meta_valid_topic_name(name.ptr, (size_t)name.len))
                continue;
            /* The same name twice in one request: propose once. */
            bool dup = false;
            for (int32_t j = 0; j < i && !dup; j++)
                dup = sl_str_eq(rq->Topics[j].Name, name);
            if (dup) continue;
            int rc = sl_meta_create_topic(
                b->meta, sl_req_cstr(req, name),
                (int32_t)sl_config_int(b->cfg, SL_BCFG_NUM_PARTITIONS),
                (int16_t)sl_config_int(b->cfg, SL_BCFG_DEFAULT_REPLICATION_FACTOR), NULL, 0,
                on_created, req);
            if (rc == 0) req->pending++;
        }
    }
    if (--req->pending == 0) respond(req);
}
