/* Topic administration: CreateTopics (key 19, v2-7), DeleteTopics (key 20,
 * v1-6), CreatePartitions (key 37, v0-3). Each change is proposed to the
 * metadata log and answered once it is committed and applied (the broker's
 * listener has then created or removed the partition logs). */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "broker/config_view.h"
#include "broker/internal.h"

/* One pending metadata proposal of a request. */
typedef struct pending_op {
    sl_request *req;
    int16_t *error_code;
    sl_str *error_message;
} pending_op;

static void op_done(pending_op *op, int status);

static int16_t meta_error(int rc, sl_request *req, sl_str *msg, const char *what)
{
    char buf[256];
    int16_t kerr;
    switch (rc) {
    case SL_ERR_EXISTS:
        kerr = KERR_TOPIC_ALREADY_EXISTS;
        snprintf(buf, sizeof buf, "%s already exists", what);
        break;
    case SL_ERR_NOT_FOUND:
        kerr = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        snprintf(buf, sizeof buf, "%s does not exist", what);
        break;
    case SL_ERR_INVALID_TOPIC:
        kerr = KERR_INVALID_TOPIC_EXCEPTION;
        snprintf(buf, sizeof buf,
                 "%s is not a valid topic name (1-249 characters of [a-zA-Z0-9._-], not '.' or "
                 "'..', and not colliding with an existing name by '.' vs '_')",
                 what);
        break;
    case SL_ERR_INVALID_PARTITIONS:
        kerr = KERR_INVALID_PARTITIONS;
        snprintf(buf, sizeof buf, "invalid partition count for %s", what);
        break;
    case SL_ERR_INVALID_REPLICATION_FACTOR:
        kerr = KERR_INVALID_REPLICATION_FACTOR;
        snprintf(buf, sizeof buf, "replication factor larger than the number of brokers");
        break;
    case SL_ERR_INVALID_CONFIG:
        kerr = KERR_INVALID_CONFIG;
        snprintf(buf, sizeof buf, "invalid config for %s", what);
        break;
    default:
        kerr = sl_kerr_from(rc);
        snprintf(buf, sizeof buf, "%s", sl_err_str(rc));
        break;
    }
    if (msg) *msg = sl_req_str(req, buf);
    return kerr;
}

/* ---------------------------------------------------------------- CreateTopics */

typedef struct create_ctx {
    pending_op op;
    CreateTopicsResponse_CreatableTopicResult *out;
    const CreateTopicsRequest_CreatableTopic *in;
} create_ctx;

static void fill_created(sl_request *req, const sl_meta_topic *mt,
                         CreateTopicsResponse_CreatableTopicResult *o)
{
    memcpy(o->TopicId.b, sl_meta_topic_id(mt), 16);
    o->NumPartitions = sl_meta_topic_partition_count(mt);
    size_t nr = 0;
    if (o->NumPartitions > 0) sl_meta_partition_replicas(sl_meta_topic_partition(mt, 0), &nr);
    o->ReplicationFactor = (int16_t)nr;
    if (req->version < 5) return;
    sl_cfg_entry entries[SL_TCFG__COUNT];
    int n = sl_topic_config_entries(req->b->cfg, mt, entries);
    o->Configs = SL_REQ_ARRAY(req, CreateTopicsResponse_CreatableTopicConfigs, n);
    o->Configs_count = n;
    for (int i = 0; i < n; i++) {
        CreateTopicsResponse_CreatableTopicConfigs *c = &o->Configs[i];
        CreateTopicsResponse_CreatableTopicConfigs_init(c);
        c->Name = sl_str_c(entries[i].name);
        c->Value = sl_req_str(req, entries[i].value);
        c->ReadOnly = entries[i].read_only;
        c->ConfigSource = entries[i].source;
        c->IsSensitive = false;
    }
}

static void on_topic_created(void *arg, int status, const sl_meta_topic *mt)
{
    create_ctx *cc = arg;
    if (status == 0 && mt) fill_created(cc->op.req, mt, cc->out);
    op_done(&cc->op, status);
}

/* Checks the request-level rules Kafka applies before touching metadata.
 * Returns the partitions and replication factor to use, or an error. */
static int16_t check_creatable(sl_request *req, const CreateTopicsRequest_CreatableTopic *t,
                               int32_t *partitions, int16_t *rf, sl_str *msg)
{
    sl_broker *b = req->b;
    char buf[256];
    int32_t nbrokers = (int32_t)sl_meta_broker_count(sl_broker_image(b));
    if (t->Assignments_count > 0) {
        if (t->NumPartitions != -1 || t->ReplicationFactor != -1) {
            *msg = sl_str_c("both replica assignments and a partition count or replication "
                            "factor were given");
            return KERR_INVALID_REQUEST;
        }
        *partitions = t->Assignments_count;
        *rf = (int16_t)t->Assignments[0].BrokerIds_count;
        for (int32_t i = 0; i < t->Assignments_count; i++) {
            const CreateTopicsRequest_CreatableReplicaAssignment *a = &t->Assignments[i];
            if (a->PartitionIndex != i || a->BrokerIds_count != *rf || *rf <= 0) {
                *msg = sl_str_c("replica assignments must list partitions 0..n-1 with the same "
                                "number of replicas each");
                return KERR_INVALID_REPLICA_ASSIGNMENT;
            }
            for (int32_t k = 0; k < a->BrokerIds_count; k++) {
                if (!sl_meta_broker_by_id(sl_broker_image(b), a->BrokerIds[k])) {
                    snprintf(buf, sizeof buf, "unknown broker id %d in replica assignment",
                             a->BrokerIds[k]);
                    *msg = sl_req_str(req, buf);
                    return KERR_INVALID_REPLICA_ASSIGNMENT;
                }
            }
        }
    } else {
        *partitions = t->NumPartitions == -1
                          ? (int32_t)sl_config_int(b->cfg, SL_BCFG_NUM_PARTITIONS)
                          : t->NumPartitions;
        *rf = t->ReplicationFactor == -1
                  ? (int16_t)sl_config_int(b->cfg, SL_BCFG_DEFAULT_REPLICATION_FACTOR)
                  : t->ReplicationFactor;
    }
    if (*partitions <= 0) {
        snprintf(buf, sizeof buf, "number of partitions must be larger than 0 (got %d)",
                 *partitions);
        *msg = sl_req_str(req, buf);
        return KERR_INVALID_PARTITIONS;
    }
    if (*rf <= 0 || *rf > nbrokers) {
        snprintf(buf, sizeof buf,
                 "replication factor %d is not between 1 and %d (the number of "
                 "brokers)",
                 *rf, nbrokers);
        *msg = sl_req_str(req, buf);
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    for (int32_t i = 0; i < t->Configs_count; i++) {
        const CreateTopicsRequest_CreatableTopicConfig *c = &t->Configs[i];
        char why[256];
        int rc = sl_topic_config_validate(sl_req_cstr(req, c->Name), sl_req_cstr(req, c->Value),
                                          why, sizeof why);
        if (rc < 0) {
            *msg = sl_req_str(req, why);
            return KERR_INVALID_CONFIG;
        }
    }
    return KERR_NONE;
}

void sl_handle_create_topics(sl_request *req)
{
    sl_broker *b = req->b;
    const CreateTopicsRequest *rq = req->body;
    CreateTopicsResponse *resp = sl_req_alloc(req, sizeof *resp);
    CreateTopicsResponse_init(resp);
    req->resp = resp;
    int32_t n = rq->Topics_count < 0 ? 0 : rq->Topics_count;
    resp->Topics = SL_REQ_ARRAY(req, CreateTopicsResponse_CreatableTopicResult, n);
    resp->Topics_count = n;
    req->pending = 1;
    for (int32_t i = 0; i < n; i++) {
        const CreateTopicsRequest_CreatableTopic *t = &rq->Topics[i];
        CreateTopicsResponse_CreatableTopicResult *o = &resp->Topics[i];
        CreateTopicsResponse_CreatableTopicResult_init(o);
        o->Name = t->Name;
        bool dup = false;
        for (int32_t j = 0; j < n && !dup; j++)
            dup = j != i && sl_str_eq(rq->Topics[j].Name, t->Name);
        if (dup) {
            o->ErrorCode = KERR_INVALID_REQUEST;
            o->ErrorMessage = sl_str_c("topic listed more than once in the request");
            continue;
        }
        int32_t partitions;
        int16_t rf;
        o->ErrorCode = check_creatable(req, t, &partitions, &rf, &o->ErrorMessage);
        if (o->ErrorCode) continue;
        int32_t nc = t->Configs_count < 0 ? 0 : t->Configs_count;
        sl_config_kv *kv = SL_REQ_ARRAY(req, sl_config_kv, nc);
        int32_t k = 0;
        for (int32_t j = 0; j < nc; j++) {
            if (t->Configs[j].Value.len < 0) continue; /* a null value means "use the default" */
            kv[k].key = sl_req_cstr(req, t->Configs[j].Name);
            kv[k].value = sl_req_cstr(req, t->Configs[j].Value);
            k++;
        }
        char *name = sl_req_cstr(req, t->Name);
        char what[300];
        snprintf(what, sizeof what, "topic '%s'", name ? name : "");
        if (rq->ValidateOnly) {
            int rc = sl_meta_check_create_topic(b->meta, name ? name : "", partitions, rf, kv,
                                                (size_t)k);
            if (rc < 0) {
                o->ErrorCode = meta_error(rc, req, &o->ErrorMessage, what);
            } else {
                o->NumPartitions = partitions;
                o->ReplicationFactor = rf;
            }
            continue;
        }
        create_ctx *cc = sl_req_alloc(req, sizeof *cc);
        cc->op = (pending_op){req, &o->ErrorCode, &o->ErrorMessage};
        cc->out = o;
        cc->in = t;
        int rc = sl_meta_create_topic(b->meta, name ? name : "", partitions, rf, kv, (size_t)k,
                                      on_topic_created, cc);
        if (rc < 0)
            o->ErrorCode = meta_error(rc, req, &o->ErrorMessage, what);
        else
            req->pending++;
    }
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}

static void op_done(pending_op *op, int status)
{
    sl_request *req = op->req;
    if (status < 0 && op->error_code)
        *op->error_code = meta_error(status, req, op->error_message, "topic");
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}

static void on_op_done(void *arg, int status)
{
    op_done(arg, status);
}

/* ---------------------------------------------------------------- DeleteTopics */

static void delete_one(sl_request *req, sl_str name, const sl_uuid *id,
                       DeleteTopicsResponse_DeletableTopicResult *o)
{
    sl_broker *b = req->b;
    const sl_meta_image *img = sl_broker_image(b);
    const sl_meta_topic *mt = NULL;
    if (name.len >= 0) {
        mt = sl_meta_topic_by_name(img, name.ptr, (size_t)name.len);
        o->Name = name;
    } else if (id) {
        mt = sl_meta_topic_by_id(img, id->b);
    }
    if (!mt) {
        o->ErrorCode = name.len >= 0 ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
        o->ErrorMessage = sl_str_c("topic does not exist");
        return;
    }
    o->Name = sl_req_str(req, sl_meta_topic_name(mt));
    memcpy(o->TopicId.b, sl_meta_topic_id(mt), 16);
    if (!sl_config_bool(b->cfg, SL_BCFG_DELETE_TOPIC_ENABLE)) {
        o->ErrorCode = KERR_TOPIC_DELETION_DISABLED;
        o->ErrorMessage = sl_str_c("delete.topic.enable is false");
        return;
    }
    if (strcmp(sl_meta_topic_name(mt), "__consumer_offsets") == 0) {
        o->ErrorCode = KERR_INVALID_REQUEST;
        o->ErrorMessage = sl_str_c("internal topics cannot be deleted");
        return;
    }
    pending_op *op = sl_req_alloc(req, sizeof *op);
    *op = (pending_op){req, &o->ErrorCode, &o->ErrorMessage};
    int rc = sl_meta_delete_topic_id(b->meta, sl_meta_topic_id(mt), on_op_done, op);
    if (rc < 0)
        o->ErrorCode = meta_error(rc, req, &o->ErrorMessage, "topic");
    else
        req->pending++;
}

void sl_handle_delete_topics(sl_request *req)
{
    const DeleteTopicsRequest *rq = req->body;
    DeleteTopicsResponse *resp = sl_req_alloc(req, sizeof *resp);
    DeleteTopicsResponse_init(resp);
    req->resp = resp;
    req->pending = 1;
    bool by_state = req->version >= 6;
    int32_t n = by_state ? rq->Topics_count : rq->TopicNames_count;
    if (n < 0) n = 0;
    resp->Responses = SL_REQ_ARRAY(req, DeleteTopicsResponse_DeletableTopicResult, n);
    resp->Responses_count = n;
    for (int32_t i = 0; i < n; i++) {
        DeleteTopicsResponse_DeletableTopicResult *o = &resp->Responses[i];
        DeleteTopicsResponse_DeletableTopicResult_init(o);
        if (by_state)
            delete_one(req, rq->Topics[i].Name, &rq->Topics[i].TopicId, o);
        else
            delete_one(req, rq->TopicNames[i], NULL, o);
    }
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}

/* ------------------------------------------------------------ CreatePartitions */

void sl_handle_create_partitions(sl_request *req)
{
    sl_broker *b = req->b;
    const CreatePartitionsRequest *rq = req->body;
    CreatePartitionsResponse *resp = sl_req_alloc(req, sizeof *resp);
    CreatePartitionsResponse_init(resp);
    req->resp = resp;
    req->pending = 1;
    int32_t n = rq->Topics_count < 0 ? 0 : rq->Topics_count;
    resp->Results = SL_REQ_ARRAY(req, CreatePartitionsResponse_CreatePartitionsTopicResult, n);
    resp->Results_count = n;
    const sl_meta_image *img = sl_broker_image(b);
    for (int32_t i = 0; i < n; i++) {
        const CreatePartitionsRequest_CreatePartitionsTopic *t = &rq->Topics[i];
        CreatePartitionsResponse_CreatePartitionsTopicResult *o = &resp->Results[i];
        CreatePartitionsResponse_CreatePartitionsTopicResult_init(o);
        o->Name = t->Name;
        char *name = sl_req_cstr(req, t->Name);
        const sl_meta_topic *mt =
            name ? sl_meta_topic_by_name(img, t->Name.ptr, (size_t)t->Name.len) : NULL;
        if (!mt) {
            o->ErrorCode = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            o->ErrorMessage = sl_str_c("topic does not exist");
            continue;
        }
        int32_t current = sl_meta_topic_partition_count(mt);
        char buf[256];
        if (t->Count <= current) {
            snprintf(buf, sizeof buf,
                     "topic currently has %d partitions, which is not less than the requested %d",
                     current, t->Count);
            o->ErrorCode = KERR_INVALID_PARTITIONS;
            o->ErrorMessage = sl_req_str(req, buf);
            continue;
        }
        if (t->Assignments_count >= 0 && t->Assignments_count != t->Count - current) {
            snprintf(buf, sizeof buf, "%d replica assignments given for %d new partitions",
                     t->Assignments_count, t->Count - current);
            o->ErrorCode = KERR_INVALID_REPLICA_ASSIGNMENT;
            o->ErrorMessage = sl_req_str(req, buf);
            continue;
        }
        bool bad = false;
        for (int32_t k = 0; k < t->Assignments_count && !bad; k++)
            for (int32_t r = 0; r < t->Assignments[k].BrokerIds_count && !bad; r++)
                bad = !sl_meta_broker_by_id(img, t->Assignments[k].BrokerIds[r]);
        if (bad) {
            o->ErrorCode = KERR_INVALID_REPLICA_ASSIGNMENT;
            o->ErrorMessage = sl_str_c("replica assignment names an unknown broker");
            continue;
        }
        if (rq->ValidateOnly) {
            int rc = sl_meta_check_create_partitions(b->meta, name, t->Count);
            if (rc < 0) o->ErrorCode = meta_error(rc, req, &o->ErrorMessage, "topic");
            continue;
        }
        pending_op *op = sl_req_alloc(req, sizeof *op);
        *op = (pending_op){req, &o->ErrorCode, &o->ErrorMessage};
        int rc = sl_meta_create_partitions(b->meta, name, t->Count, on_op_done, op);
        if (rc < 0)
            o->ErrorCode = meta_error(rc, req, &o->ErrorMessage, "topic");
        else
            req->pending++;
    }
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}
