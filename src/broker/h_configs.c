/* DescribeConfigs (key 32, v1-4), AlterConfigs (key 33, v0-2) and
 * IncrementalAlterConfigs (key 44, v0-1).
 *
 * Topic settings are stored in the metadata log (only explicitly set keys);
 * their defaults come from the broker settings, shown with their source
 * (DEFAULT_CONFIG or STATIC_BROKER_CONFIG) and as synonyms. Broker settings
 * are fixed at startup (properties file / command line): they can be
 * described, and altering them is refused with a message saying so.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "broker/config_view.h"
#include "broker/internal.h"

#define RES_TOPIC         2
#define RES_BROKER        4
#define RES_BROKER_LOGGER 8

static bool wanted(const DescribeConfigsRequest_DescribeConfigsResource *r, const char *name)
{
    if (r->ConfigurationKeys_count < 0) return true;
    for (int32_t i = 0; i < r->ConfigurationKeys_count; i++)
        if (sl_str_eq_c(r->ConfigurationKeys[i], name)) return true;
    return false;
}

static bool is_this_broker(sl_broker *b, sl_str name)
{
    if (name.len == 0) return true; /* the cluster-wide default resource */
    char buf[16];
    snprintf(buf, sizeof buf, "%d", b->node_id);
    return sl_str_eq_c(name, buf);
}

static void describe_entries(sl_request *req, const DescribeConfigsRequest *rq,
                             const DescribeConfigsRequest_DescribeConfigsResource *r,
                             sl_cfg_entry *entries, int n,
                             DescribeConfigsResponse_DescribeConfigsResult *o)
{
    o->Configs = SL_REQ_ARRAY(req, DescribeConfigsResponse_DescribeConfigsResourceResult, n);
    int32_t k = 0;
    for (int i = 0; i < n; i++) {
        sl_cfg_entry *e = &entries[i];
        if (!wanted(r, e->name)) continue;
        DescribeConfigsResponse_DescribeConfigsResourceResult *c = &o->Configs[k++];
        DescribeConfigsResponse_DescribeConfigsResourceResult_init(c);
        c->Name = sl_req_str(req, e->name);
        c->Value = sl_req_str(req, e->value);
        c->ReadOnly = e->read_only;
        c->ConfigSource = e->source;
        c->IsSensitive = e->sensitive;
        c->ConfigType = e->type;
        c->Documentation = rq->IncludeDocumentation ? sl_req_str(req, e->doc) : SL_STR_NULL;
        if (rq->IncludeSynonyms) {
            c->Synonyms =
                SL_REQ_ARRAY(req, DescribeConfigsResponse_DescribeConfigsSynonym, e->nsynonyms);
            c->Synonyms_count = e->nsynonyms;
            for (int s = 0; s < e->nsynonyms; s++) {
                DescribeConfigsResponse_DescribeConfigsSynonym *sy = &c->Synonyms[s];
                DescribeConfigsResponse_DescribeConfigsSynonym_init(sy);
                sy->Name = sl_req_str(req, e->synonyms[s].name);
                sy->Value = sl_req_str(req, e->synonyms[s].value);
                sy->Source = e->synonyms[s].source;
            }
        } else {
            c->Synonyms_count = 0;
        }
    }
    o->Configs_count = k;
}

void sl_handle_describe_configs(sl_request *req)
{
    sl_broker *b = req->b;
    const DescribeConfigsRequest *rq = req->body;
    DescribeConfigsResponse resp;
    DescribeConfigsResponse_init(&resp);
    int32_t n = rq->Resources_count < 0 ? 0 : rq->Resources_count;
    resp.Results = SL_REQ_ARRAY(req, DescribeConfigsResponse_DescribeConfigsResult, n);
    resp.Results_count = n;
    sl_cfg_entry *entries = sl_req_alloc(req, sizeof(sl_cfg_entry) * SL_BCFG__COUNT);
    for (int32_t i = 0; i < n; i++) {
        const DescribeConfigsRequest_DescribeConfigsResource *r = &rq->Resources[i];
        DescribeConfigsResponse_DescribeConfigsResult *o = &resp.Results[i];
        DescribeConfigsResponse_DescribeConfigsResult_init(o);
        o->ResourceType = r->ResourceType;
        o->ResourceName = r->ResourceName;
        o->Configs_count = 0;
        if (r->ResourceType == RES_TOPIC) {
            const sl_meta_topic *mt =
                r->ResourceName.len > 0
                    ? sl_meta_topic_by_name(sl_broker_image(b), r->ResourceName.ptr,
                                            (size_t)r->ResourceName.len)
                    : NULL;
            if (!mt) {
                o->ErrorCode = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                o->ErrorMessage = sl_str_c("topic does not exist");
                continue;
            }
            int ne = sl_topic_config_entries(b->cfg, mt, entries);
            describe_entries(req, rq, r, entries, ne, o);
        } else if (r->ResourceType == RES_BROKER) {
            if (!is_this_broker(b, r->ResourceName)) {
                o->ErrorCode = KERR_INVALID_REQUEST;
                o->ErrorMessage = sl_str_c("unknown broker id");
                continue;
            }
            int ne = sl_broker_config_entries(b->cfg, entries);
            describe_entries(req, rq, r, entries, ne, o);
        } else if (r->ResourceType == RES_BROKER_LOGGER) {
            /* One logger, the process-wide level. */
            sl_cfg_entry *e = &entries[0];
            memset(e, 0, sizeof *e);
            e->name = "sluice";
            e->value = sl_config_str(b->cfg, SL_BCFG_LOG_LEVEL);
            e->source = 6; /* DYNAMIC_BROKER_LOGGER_CONFIG */
            e->type = SL_CFG_STRING;
            e->doc = "Log level of the broker";
            describe_entries(req, rq, r, entries, 1, o);
        } else {
            o->ErrorCode = KERR_INVALID_REQUEST;
            o->ErrorMessage = sl_str_c("unsupported resource type");
        }
    }
    sl_req_respond(req, &resp);
}

/* ---- altering ---- */

typedef struct alter_op {
    sl_request *req;
    int16_t *error_code;
    sl_str *error_message;
} alter_op;

static void on_altered(void *arg, int status)
{
    alter_op *op = arg;
    sl_request *req = op->req;
    if (status < 0) {
        *op->error_code =
            status == SL_ERR_NOT_FOUND ? KERR_UNKNOWN_TOPIC_OR_PARTITION : sl_kerr_from(status);
        *op->error_message = sl_req_str(req, sl_err_str(status));
    }
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}

/* Validates and proposes a topic config change. */
static void alter_topic(sl_request *req, sl_str topic, sl_config_kv *ops, int32_t n, bool replace,
                        bool validate_only, int16_t *err, sl_str *msg)
{
    sl_broker *b = req->b;
    const sl_meta_topic *mt =
        topic.len > 0 ? sl_meta_topic_by_name(sl_broker_image(b), topic.ptr, (size_t)topic.len)
                      : NULL;
    if (!mt) {
        *err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        *msg = sl_str_c("topic does not exist");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        char why[256];
        int rc = ops[i].value ? sl_topic_config_validate(ops[i].key, ops[i].value, why, sizeof why)
                              : (sl_topic_config_lookup(ops[i].key) < 0 ? SL_ERR_NOT_FOUND : 0);
        if (rc == SL_ERR_NOT_FOUND)
            snprintf(why, sizeof why, "unknown topic config '%s'", ops[i].key);
        if (rc < 0) {
            *err = KERR_INVALID_CONFIG;
            *msg = sl_req_str(req, why);
            return;
        }
    }
    const char *name = sl_meta_topic_name(mt);
    if (validate_only) {
        int rc = sl_meta_check_alter_topic_config(b->meta, name, ops, (size_t)n, replace);
        if (rc < 0) {
            *err = sl_kerr_from(rc);
            *msg = sl_req_str(req, sl_err_str(rc));
        }
        return;
    }
    alter_op *op = sl_req_alloc(req, sizeof *op);
    *op = (alter_op){req, err, msg};
    int rc = sl_meta_alter_topic_config(b->meta, name, ops, (size_t)n, replace, on_altered, op);
    if (rc < 0) {
        *err = sl_kerr_from(rc);
        *msg = sl_req_str(req, sl_err_str(rc));
    } else {
        req->pending++;
    }
}

static void refuse_broker(sl_request *req, int8_t type, int16_t *err, sl_str *msg)
{
    (void)req;
    (void)type;
    *err = KERR_INVALID_REQUEST;
    *msg = sl_str_c("broker settings are fixed at startup: set them in the properties file or "
                    "on the command line and restart sluiced");
}

void sl_handle_alter_configs(sl_request *req)
{
    const AlterConfigsRequest *rq = req->body;
    AlterConfigsResponse *resp = sl_req_alloc(req, sizeof *resp);
    AlterConfigsResponse_init(resp);
    req->resp = resp;
    req->pending = 1;
    int32_t n = rq->Resources_count < 0 ? 0 : rq->Resources_count;
    resp->Responses = SL_REQ_ARRAY(req, AlterConfigsResponse_AlterConfigsResourceResponse, n);
    resp->Responses_count = n;
    for (int32_t i = 0; i < n; i++) {
        const AlterConfigsRequest_AlterConfigsResource *r = &rq->Resources[i];
        AlterConfigsResponse_AlterConfigsResourceResponse *o = &resp->Responses[i];
        AlterConfigsResponse_AlterConfigsResourceResponse_init(o);
        o->ResourceType = r->ResourceType;
        o->ResourceName = r->ResourceName;
        if (r->ResourceType != RES_TOPIC) {
            refuse_broker(req, r->ResourceType, &o->ErrorCode, &o->ErrorMessage);
            continue;
        }
        int32_t nc = r->Configs_count < 0 ? 0 : r->Configs_count;
        sl_config_kv *ops = SL_REQ_ARRAY(req, sl_config_kv, nc);
        for (int32_t k = 0; k < nc; k++) {
            ops[k].key = sl_req_cstr(req, r->Configs[k].Name);
            ops[k].value = sl_req_cstr(req, r->Configs[k].Value);
            if (!ops[k].key) ops[k].key = "";
        }
        alter_topic(req, r->ResourceName, ops, nc, true, rq->ValidateOnly, &o->ErrorCode,
                    &o->ErrorMessage);
    }
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}

#define OP_SET      0
#define OP_DELETE   1
#define OP_APPEND   2
#define OP_SUBTRACT 3

/* APPEND/SUBTRACT on a list setting: computes the new list text. */
static const char *edit_list(sl_request *req, const char *current, const char *item, bool add)
{
    size_t cap = (current ? strlen(current) : 0) + strlen(item) + 2;
    char *outp = sl_req_alloc(req, cap);
    size_t len = 0;
    bool present = false;
    const char *s = current ? current : "";
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        bool same = n == strlen(item) && strncmp(s, item, n) == 0;
        present |= same;
        if (n && !(same && !add)) {
            if (len) outp[len++] = ',';
            memcpy(outp + len, s, n);
            len += n;
        }
        if (!comma) break;
        s = comma + 1;
    }
    if (add && !present) {
        if (len) outp[len++] = ',';
        memcpy(outp + len, item, strlen(item));
        len += strlen(item);
    }
    outp[len] = '\0';
    return outp;
}

void sl_handle_incremental_alter_configs(sl_request *req)
{
    sl_broker *b = req->b;
    const IncrementalAlterConfigsRequest *rq = req->body;
    IncrementalAlterConfigsResponse *resp = sl_req_alloc(req, sizeof *resp);
    IncrementalAlterConfigsResponse_init(resp);
    req->resp = resp;
    req->pending = 1;
    int32_t n = rq->Resources_count < 0 ? 0 : rq->Resources_count;
    resp->Responses =
        SL_REQ_ARRAY(req, IncrementalAlterConfigsResponse_AlterConfigsResourceResponse, n);
    resp->Responses_count = n;
    sl_cfg_entry *entries = sl_req_alloc(req, sizeof(sl_cfg_entry) * SL_TCFG__COUNT);
    for (int32_t i = 0; i < n; i++) {
        const IncrementalAlterConfigsRequest_AlterConfigsResource *r = &rq->Resources[i];
        IncrementalAlterConfigsResponse_AlterConfigsResourceResponse *o = &resp->Responses[i];
        IncrementalAlterConfigsResponse_AlterConfigsResourceResponse_init(o);
        o->ResourceType = r->ResourceType;
        o->ResourceName = r->ResourceName;
        if (r->ResourceType != RES_TOPIC) {
            refuse_broker(req, r->ResourceType, &o->ErrorCode, &o->ErrorMessage);
            continue;
        }
        const sl_meta_topic *mt =
            r->ResourceName.len > 0 ? sl_meta_topic_by_name(sl_broker_image(b), r->ResourceName.ptr,
                                                            (size_t)r->ResourceName.len)
                                    : NULL;
        if (mt) sl_topic_config_entries(b->cfg, mt, entries);
        int32_t nc = r->Configs_count < 0 ? 0 : r->Configs_count;
        sl_config_kv *ops = SL_REQ_ARRAY(req, sl_config_kv, nc);
        for (int32_t k = 0; k < nc && !o->ErrorCode; k++) {
            const IncrementalAlterConfigsRequest_AlterableConfig *c = &r->Configs[k];
            ops[k].key = sl_req_cstr(req, c->Name);
            if (!ops[k].key) ops[k].key = "";
            const char *value = sl_req_cstr(req, c->Value);
            int idx = sl_topic_config_lookup(ops[k].key);
            switch (c->ConfigOperation) {
            case OP_SET:
                ops[k].value = value ? value : "";
                break;
            case OP_DELETE:
                ops[k].value = NULL;
                break;
            case OP_APPEND:
            case OP_SUBTRACT:
                if (idx < 0 || sl_topic_config_type((sl_tcfg)idx) != SL_CFG_LIST || !value) {
                    o->ErrorCode = KERR_INVALID_CONFIG;
                    o->ErrorMessage = sl_str_c("APPEND and SUBTRACT apply only to list settings");
                    break;
                }
                ops[k].value = edit_list(req, mt ? entries[idx].value : NULL, value,
                                         c->ConfigOperation == OP_APPEND);
                break;
            default:
                o->ErrorCode = KERR_INVALID_REQUEST;
                o->ErrorMessage = sl_str_c("unknown config operation");
                break;
            }
        }
        if (o->ErrorCode) continue;
        alter_topic(req, r->ResourceName, ops, nc, false, rq->ValidateOnly, &o->ErrorCode,
                    &o->ErrorMessage);
    }
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}
