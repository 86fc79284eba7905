/* Consumer-group APIs: FindCoordinator (10, v0-5), JoinGroup (11, v0-9),
 * SyncGroup (14, v0-5), Heartbeat (12, v0-4), LeaveGroup (13, v0-5),
 * OffsetCommit (8, v2-9), OffsetFetch (9, v1-9), DescribeGroups (15, v0-5),
 * ListGroups (16, v0-5), DeleteGroups (42, v0-2), OffsetDelete (47, v0).
 *
 * The handlers translate between the wire structs and the coordinator
 * (src/group/), and map its errors to Kafka codes.
 */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "broker/internal.h"

#define KEY_TYPE_GROUP       0
#define KEY_TYPE_TRANSACTION 1
#define OPS_GROUP            ((1 << 3) | (1 << 6) | (1 << 8))
#define OPS_NOT_REQUESTED    INT32_MIN

static inline sl_gstr G(sl_str s)
{
    return (sl_gstr){s.ptr, s.len};
}
static inline sl_gstr GB(sl_bytes b)
{
    return (sl_gstr){(const char *)b.ptr, b.len};
}

/* Copies a coordinator string into the request arena. */
static sl_str req_gstr(sl_request *req, sl_gstr s)
{
    if (s.len < 0) return SL_STR_NULL;
    char *d = sl_req_alloc(req, (size_t)s.len + 1);
    if (s.len) memcpy(d, s.ptr, (size_t)s.len);
    return sl_str_n(d, s.len);
}
static sl_bytes req_gbytes(sl_request *req, sl_gstr s)
{
    sl_str t = req_gstr(req, s);
    return sl_bytes_n(t.ptr, t.len);
}

/* "/127.0.0.1" from "127.0.0.1:port", as Kafka shows client hosts. */
static sl_gstr client_host(sl_request *req)
{
    const char *peer = sl_conn_peer(req->conn);
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    char *d = sl_req_alloc(req, n + 2);
    d[0] = '/';
    memcpy(d + 1, peer, n);
    return (sl_gstr){d, (int32_t)n + 1};
}

static bool coordinator_ready(sl_request *req, int16_t *kerr)
{
    sl_broker *b = req->b;
    if (!b->coord || !b->offsets_loaded) {
        *kerr = KERR_COORDINATOR_LOAD_IN_PROGRESS;
        return false;
    }
    if (!sl_broker_topic(b, sl_str_c(SL_OFFSETS_TOPIC))) {
        /* FindCoordinator creates it; until then there is no coordinator. */
        *kerr = KERR_COORDINATOR_NOT_AVAILABLE;
        return false;
    }
    *kerr = KERR_NONE;
    return true;
}

/* ------------------------------------------------------------ FindCoordinator */

static void find_coordinator_respond(sl_request *req, int16_t err)
{
    sl_broker *b = req->b;
    const FindCoordinatorRequest *rq = req->body;
    const sl_meta_broker *self = sl_meta_broker_by_id(sl_broker_image(b), b->node_id);
    sl_str host = self ? sl_str_c(sl_meta_broker_host(self)) : sl_str_c("");
    int32_t port = self ? sl_meta_broker_port(self) : b->port;
    bool bad_type = rq->KeyType != KEY_TYPE_GROUP && rq->KeyType != KEY_TYPE_TRANSACTION;
    if (bad_type) err = KERR_INVALID_REQUEST;
    FindCoordinatorResponse resp;
    FindCoordinatorResponse_init(&resp);
    if (req->version < 4) {
        resp.ErrorCode = err;
        resp.ErrorMessage =
            err ? sl_str_c(bad_type ? "unknown key type" : "the group coordinator is not available")
                : SL_STR_NULL;
        resp.NodeId = err ? -1 : b->node_id;
        resp.Host = err ? sl_str_c("") : host;
        resp.Port = err ? -1 : port;
    } else {
        int32_t n = rq->CoordinatorKeys_count < 0 ? 0 : rq->CoordinatorKeys_count;
        resp.Coordinators = SL_REQ_ARRAY(req, FindCoordinatorResponse_Coordinator, n);
        resp.Coordinators_count = n;
        for (int32_t i = 0; i < n; i++) {
            FindCoordinatorResponse_Coordinator *c = &resp.Coordinators[i];
            FindCoordinatorResponse_Coordinator_init(c);
            c->Key = rq->CoordinatorKeys[i];
            c->ErrorCode = err;
            c->NodeId = err ? -1 : b->node_id;
            c->Host = err ? sl_str_c("") : host;
            c->Port = err ? -1 : port;
        }
    }
    sl_req_respond(req, &resp);
}

static void on_offsets_topic_ready(void *arg, int status)
{
    sl_request *req = arg;
    find_coordinator_respond(req, status < 0 ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE);
}

void sl_handle_find_coordinator(sl_request *req)
{
    const FindCoordinatorRequest *rq = req->body;
    /* A single node coordinates every group and transaction; the offsets
     * topic is created the first time anyone looks for a group coordinator. */
    if (rq->KeyType == KEY_TYPE_GROUP) {
        int rc = sl_groups_ensure_topic(req->b, on_offsets_topic_ready, req);
        if (rc == 0) return;
        if (rc < 0) {
            find_coordinator_respond(req, KERR_COORDINATOR_NOT_AVAILABLE);
            return;
        }
    }
    find_coordinator_respond(req, KERR_NONE);
}

/* ------------------------------------------------------------------ JoinGroup */

static int16_t join_kerr(const sl_join_result *r)
{
    if (r->error == SL_ERR_INVALID_ARG)
        return r->bad_session_timeout ? KERR_INVALID_SESSION_TIMEOUT : KERR_INVALID_GROUP_ID;
    return sl_groups_kerr(r->error);
}

static void on_joined(void *arg, const sl_join_result *r)
{
    sl_request *req = arg;
    JoinGroupResponse resp;
    JoinGroupResponse_init(&resp);
    resp.ErrorCode = r->error ? join_kerr(r) : KERR_NONE;
    resp.GenerationId = r->generation;
    resp.ProtocolType = req_gstr(req, r->protocol_type);
    resp.ProtocolName = req_gstr(req, r->protocol_name);
    if (req->version < 7 && resp.ProtocolName.len < 0) resp.ProtocolName = sl_str_c("");
    resp.Leader = req_gstr(req, r->leader.len >= 0 ? r->leader : (sl_gstr){"", 0});
    resp.MemberId = req_gstr(req, r->member_id.len >= 0 ? r->member_id : (sl_gstr){"", 0});
    resp.SkipAssignment = r->skip_assignment;
    resp.Members = SL_REQ_ARRAY(req, JoinGroupResponse_JoinGroupResponseMember, r->nmembers);
    resp.Members_count = r->nmembers;
    for (int32_t i = 0; i < r->nmembers; i++) {
        JoinGroupResponse_JoinGroupResponseMember *m = &resp.Members[i];
        JoinGroupResponse_JoinGroupResponseMember_init(m);
        m->MemberId = req_gstr(req, r->members[i].member_id);
        m->GroupInstanceId = req_gstr(req, r->members[i].instance_id);
        m->Metadata = req_gbytes(req, r->members[i].metadata);
    }
    sl_req_respond(req, &resp);
}

void sl_handle_join_group(sl_request *req)
{
    const JoinGroupRequest *rq = req->body;
    int16_t kerr;
    if (!coordinator_ready(req, &kerr)) {
        sl_join_result r = {0};
        r.error =
            kerr == KERR_COORDINATOR_LOAD_IN_PROGRESS ? SL_ERR_COORDINATOR_LOADING : SL_ERR_CLOSED;
        r.generation = -1;
        r.member_id = G(rq->MemberId);
        r.protocol_type = r.protocol_name = (sl_gstr){NULL, -1};
        r.leader = (sl_gstr){"", 0};
        on_joined(req, &r);
        return;
    }
    int32_t n = rq->Protocols_count < 0 ? 0 : rq->Protocols_count;
    sl_join_protocol *ps = SL_REQ_ARRAY(req, sl_join_protocol, n);
    for (int32_t i = 0; i < n; i++) {
        ps[i].name = G(rq->Protocols[i].Name);
        ps[i].metadata = GB(rq->Protocols[i].Metadata);
    }
    sl_join_params p = {
        .group_id = G(rq->GroupId),
        .member_id = G(rq->MemberId),
        .instance_id = G(rq->GroupInstanceId),
        .client_id = G(req->client_id),
        .client_host = client_host(req),
        .session_timeout_ms = rq->SessionTimeoutMs,
        .rebalance_timeout_ms = req->version >= 1 ? rq->RebalanceTimeoutMs : -1,
        .protocol_type = G(rq->ProtocolType),
        .protocols = ps,
        .nprotocols = n,
        .require_known_member_id = req->version >= 4,
        .supports_skip_assignment = req->version >= 9,
    };
    if (p.client_id.len < 0) p.client_id = (sl_gstr){"", 0};
    sl_coord_join(req->b->coord, &p, sl_wall_ms(), on_joined, req);
}

/* ------------------------------------------------------------------ SyncGroup */

static void on_synced(void *arg, const sl_sync_result *r)
{
    sl_request *req = arg;
    SyncGroupResponse resp;
    SyncGroupResponse_init(&resp);
    resp.ErrorCode = r->error ? sl_groups_kerr(r->error) : KERR_NONE;
    resp.ProtocolType = req_gstr(req, r->protocol_type);
    resp.ProtocolName = req_gstr(req, r->protocol_name);
    resp.Assignment = req_gbytes(req, r->assignment.len >= 0 ? r->assignment : (sl_gstr){"", 0});
    sl_req_respond(req, &resp);
}

void sl_handle_sync_group(sl_request *req)
{
    const SyncGroupRequest *rq = req->body;
    int16_t kerr;
    if (!coordinator_ready(req, &kerr)) {
        SyncGroupResponse resp;
        SyncGroupResponse_init(&resp);
        resp.ErrorCode = kerr;
        resp.Assignment = sl_bytes_n("", 0);
        sl_req_respond(req, &resp);
        return;
    }
    int32_t n = rq->Assignments_count < 0 ? 0 : rq->Assignments_count;
    sl_sync_assignment *as = SL_REQ_ARRAY(req, sl_sync_assignment, n);
    for (int32_t i = 0; i < n; i++) {
        as[i].member_id = G(rq->Assignments[i].MemberId);
        as[i].assignment = GB(rq->Assignments[i].Assignment);
    }
    sl_sync_params p = {
        .group_id = G(rq->GroupId),
        .generation = rq->GenerationId,
        .member_id = G(rq->MemberId),
        .instance_id = G(rq->GroupInstanceId),
        .protocol_type = req->version >= 5 ? G(rq->ProtocolType) : (sl_gstr){NULL, -1},
        .protocol_name = req->version >= 5 ? G(rq->ProtocolName) : (sl_gstr){NULL, -1},
        .assignments = as,
        .nassignments = n,
    };
    sl_coord_sync(req->b->coord, &p, sl_wall_ms(), on_synced, req);
}

/* ------------------------------------------------------------------ Heartbeat */

void sl_handle_heartbeat(sl_request *req)
{
    const HeartbeatRequest *rq = req->body;
    HeartbeatResponse resp;
    HeartbeatResponse_init(&resp);
    int16_t kerr;
    if (!coordinator_ready(req, &kerr)) {
        resp.ErrorCode = kerr;
    } else {
        int rc = sl_coord_heartbeat(req->b->coord, G(rq->GroupId), rq->GenerationId,
                                    G(rq->MemberId), G(rq->GroupInstanceId), sl_wall_ms());
        resp.ErrorCode = rc ? sl_groups_kerr(rc) : KERR_NONE;
    }
    sl_req_respond(req, &resp);
}

/* ----------------------------------------------------------------- LeaveGroup */

void sl_handle_leave_group(sl_request *req)
{
    const LeaveGroupRequest *rq = req->body;
    sl_broker *b = req->b;
    LeaveGroupResponse resp;
    LeaveGroupResponse_init(&resp);
    int16_t kerr;
    int64_t now = sl_wall_ms();
    if (!coordinator_ready(req, &kerr)) {
        resp.ErrorCode = kerr;
    } else if (req->version < 3) {
        int rc =
            sl_coord_leave(b->coord, G(rq->GroupId), G(rq->MemberId), (sl_gstr){NULL, -1}, now);
        resp.ErrorCode = rc ? sl_groups_kerr(rc) : KERR_NONE;
    } else {
        int32_t n = rq->Members_count < 0 ? 0 : rq->Members_count;
        resp.Members = SL_REQ_ARRAY(req, LeaveGroupResponse_MemberResponse, n);
        resp.Members_count = n;
        if (!sl_coord_group_exists(b->coord, G(rq->GroupId)))
            resp.ErrorCode = KERR_UNKNOWN_MEMBER_ID;
        for (int32_t i = 0; i < n; i++) {
            const LeaveGroupRequest_MemberIdentity *mi = &rq->Members[i];
            LeaveGroupResponse_MemberResponse *o = &resp.Members[i];
            LeaveGroupResponse_MemberResponse_init(o);
            o->MemberId = mi->MemberId;
            o->GroupInstanceId = mi->GroupInstanceId;
            int rc = sl_coord_leave(b->coord, G(rq->GroupId), G(mi->MemberId),
                                    G(mi->GroupInstanceId), now);
            o->ErrorCode = rc ? sl_groups_kerr(rc) : KERR_NONE;
        }
    }
    sl_req_respond(req, &resp);
}

/* --------------------------------------------------------------- OffsetCommit */

typedef struct commit_ctx {
    sl_request *req;
    OffsetCommitResponse *resp;
    sl_commit_offset *offsets;
    int16_t **codes; /* where each offset's result goes */
    int32_t n;
} commit_ctx;

static void on_committed(void *arg, int status)
{
    commit_ctx *cc = arg;
    for (int32_t i = 0; i < cc->n; i++) {
        if (*cc->codes[i] != KERR_NONE)
            continue; /* already failed before the commit (unknown topic) */
        int err = status < 0 ? status : cc->offsets[i].error;
        *cc->codes[i] = err ? sl_groups_kerr(err) : KERR_NONE;
    }
    sl_req_respond(cc->req, cc->resp);
}

void sl_handle_offset_commit(sl_request *req)
{
    const OffsetCommitRequest *rq = req->body;
    sl_broker *b = req->b;
    OffsetCommitResponse *resp = sl_req_alloc(req, sizeof *resp);
    OffsetCommitResponse_init(resp);
    int32_t nt = rq->Topics_count < 0 ? 0 : rq->Topics_count;
    resp->Topics = SL_REQ_ARRAY(req, OffsetCommitResponse_OffsetCommitResponseTopic, nt);
    resp->Topics_count = nt;
    int32_t total = 0;
    for (int32_t i = 0; i < nt; i++)
        total += rq->Topics[i].Partitions_count > 0 ? rq->Topics[i].Partitions_count : 0;
    commit_ctx *cc = sl_req_alloc(req, sizeof *cc);
    cc->req = req;
    cc->resp = resp;
    cc->offsets = SL_REQ_ARRAY(req, sl_commit_offset, total);
    cc->codes = SL_REQ_ARRAY(req, int16_t *, total);
    int16_t kerr;
    bool ready = coordinator_ready(req, &kerr);
    int32_t k = 0;
    for (int32_t i = 0; i < nt; i++) {
        const OffsetCommitRequest_OffsetCommitRequestTopic *t = &rq->Topics[i];
        OffsetCommitResponse_OffsetCommitResponseTopic *to = &resp->Topics[i];
        OffsetCommitResponse_OffsetCommitResponseTopic_init(to);
        to->Name = t->Name;
        int32_t np = t->Partitions_count < 0 ? 0 : t->Partitions_count;
        to->Partitions = SL_REQ_ARRAY(req, OffsetCommitResponse_OffsetCommitResponsePartition, np);
        to->Partitions_count = np;
        sl_topic *topic = sl_broker_topic(b, t->Name);
        for (int32_t j = 0; j < np; j++) {
            const OffsetCommitRequest_OffsetCommitRequestPartition *pp = &t->Partitions[j];
            OffsetCommitResponse_OffsetCommitResponsePartition *po = &to->Partitions[j];
            OffsetCommitResponse_OffsetCommitResponsePartition_init(po);
            po->PartitionIndex = pp->PartitionIndex;
            if (!ready)
                po->ErrorCode = kerr;
            else if (!topic || pp->PartitionIndex < 0 || pp->PartitionIndex >= topic->npartitions)
                po->ErrorCode = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            sl_commit_offset *o = &cc->offsets[k];
            o->topic = G(t->Name);
            o->partition = pp->PartitionIndex;
            o->offset = pp->CommittedOffset;
            o->leader_epoch = pp->CommittedLeaderEpoch;
            o->metadata = G(pp->CommittedMetadata);
            o->error = po->ErrorCode ? SL_ERR_NOT_FOUND : 0;
            cc->codes[k] = &po->ErrorCode;
            k++;
        }
    }
    cc->n = k;
    if (!ready) {
        sl_req_respond(req, resp);
        return;
    }
    sl_commit_params p = {
        .group_id = G(rq->GroupId),
        .generation = rq->GenerationIdOrMemberEpoch,
        .member_id = G(rq->MemberId),
        .instance_id = G(rq->GroupInstanceId),
        .offsets = cc->offsets,
        .noffsets = k,
    };
    sl_coord_commit(b->coord, &p, sl_wall_ms(), on_committed, cc);
}

/* ---------------------------------------------------------------- OffsetFetch */

/* Where OffsetFetch results of one group go: the v1-7 and v8+ layouts have
 * the same partition fields in differently named structs. */
typedef struct fetch_part {
    int32_t PartitionIndex;
    int64_t CommittedOffset;
    int32_t CommittedLeaderEpoch;
    sl_str Metadata;
    int16_t ErrorCode;
} fetch_part;

typedef struct fetch_topic {
    sl_str Name;
    fetch_part *parts;
    int32_t nparts, cap;
} fetch_topic;

typedef struct collect_ctx {
    sl_request *req;
    fetch_topic *topics;
    int32_t ntopics, cap;
} collect_ctx;

static fetch_topic *collect_topic(collect_ctx *cc, sl_gstr name)
{
    for (int32_t i = 0; i < cc->ntopics; i++)
        if (cc->topics[i].Name.len == name.len &&
            memcmp(cc->topics[i].Name.ptr, name.ptr, (size_t)name.len) == 0)
            return &cc->topics[i];
    if (cc->ntopics == cc->cap) {
        int32_t cap = cc->cap ? cc->cap * 2 : 8;
        fetch_topic *t = SL_REQ_ARRAY(cc->req, fetch_topic, cap);
        if (cc->ntopics) memcpy(t, cc->topics, sizeof *t * (size_t)cc->ntopics);
        cc->topics = t;
        cc->cap = cap;
    }
    fetch_topic *t = &cc->topics[cc->ntopics++];
    t->Name = req_gstr(cc->req, name);
    t->parts = NULL;
    t->nparts = t->cap = 0;
    return t;
}

static void collect_offset(void *arg, sl_gstr topic, int32_t partition, int64_t offset,
                           int32_t leader_epoch, sl_gstr metadata)
{
    collect_ctx *cc = arg;
    fetch_topic *t = collect_topic(cc, topic);
    if (t->nparts == t->cap) {
        /* Doubling keeps the arena use linear: the old arrays stay in the
         * arena until the request ends, so growing one by one would use
         * quadratic memory and exhaust the arena for ~1000 partitions. */
        int32_t cap = t->cap ? t->cap * 2 : 16;
        fetch_part *p = SL_REQ_ARRAY(cc->req, fetch_part, cap);
        if (t->nparts) memcpy(p, t->parts, sizeof *p * (size_t)t->nparts);
        t->parts = p;
        t->cap = cap;
    }
    t->parts[t->nparts++] =
        (fetch_part){partition, offset, leader_epoch, req_gstr(cc->req, metadata), 0};
}

/* Offsets of one group: the requested partitions (topics != NULL) or all. */
static void fetch_group_offsets(sl_request *req, sl_gstr group,
                                const OffsetFetchRequest_OffsetFetchRequestTopics *topics,
                                int32_t ntopics, collect_ctx *cc)
{
    cc->req = req;
    cc->topics = NULL;
    cc->ntopics = cc->cap = 0;
    if (ntopics < 0) {
        sl_coord_visit_offsets(req->b->coord, group, collect_offset, cc);
        return;
    }
    cc->topics = SL_REQ_ARRAY(req, fetch_topic, ntopics);
    cc->ntopics = cc->cap = ntopics;
    for (int32_t i = 0; i < ntopics; i++) {
        fetch_topic *t = &cc->topics[i];
        t->Name = topics[i].Name;
        t->nparts = topics[i].PartitionIndexes_count < 0 ? 0 : topics[i].PartitionIndexes_count;
        t->cap = t->nparts;
        t->parts = SL_REQ_ARRAY(req, fetch_part, t->nparts);
        for (int32_t j = 0; j < t->nparts; j++) {
            fetch_part *p = &t->parts[j];
            p->PartitionIndex = topics[i].PartitionIndexes[j];
            sl_gstr md;
            if (sl_coord_offset(req->b->coord, group, G(t->Name), p->PartitionIndex,
                                &p->CommittedOffset, &p->CommittedLeaderEpoch, &md) == 0) {
                p->Metadata = req_gstr(req, md);
            } else {
                p->CommittedOffset = -1;
                p->CommittedLeaderEpoch = -1;
                p->Metadata = sl_str_c("");
            }
        }
    }
}

void sl_handle_offset_fetch(sl_request *req)
{
    const OffsetFetchRequest *rq = req->body;
    OffsetFetchResponse resp;
    OffsetFetchResponse_init(&resp);
    int16_t kerr;
    bool ready = coordinator_ready(req, &kerr);
    if (!ready && kerr == KERR_COORDINATOR_NOT_AVAILABLE)
        ready = req->b->coord != NULL; /* no offsets topic yet: nothing committed */
    if (req->version < 8) {
        resp.ErrorCode = ready ? KERR_NONE : kerr;
        collect_ctx cc = {0};
        if (ready) {
            /* v1-7 topic structs have the same layout as the v8 ones */
            fetch_group_offsets(req, G(rq->GroupId),
                                (const OffsetFetchRequest_OffsetFetchRequestTopics *)rq->Topics,
                                rq->Topics_count, &cc);
        }
        resp.Topics = SL_REQ_ARRAY(req, OffsetFetchResponse_OffsetFetchResponseTopic, cc.ntopics);
        resp.Topics_count = cc.ntopics;
        for (int32_t i = 0; i < cc.ntopics; i++) {
            OffsetFetchResponse_OffsetFetchResponseTopic *t = &resp.Topics[i];
            OffsetFetchResponse_OffsetFetchResponseTopic_init(t);
            t->Name = cc.topics[i].Name;
            t->Partitions = SL_REQ_ARRAY(req, OffsetFetchResponse_OffsetFetchResponsePartition,
                                         cc.topics[i].nparts);
            t->Partitions_count = cc.topics[i].nparts;
            for (int32_t j = 0; j < cc.topics[i].nparts; j++) {
                OffsetFetchResponse_OffsetFetchResponsePartition *p = &t->Partitions[j];
                const fetch_part *f = &cc.topics[i].parts[j];
                OffsetFetchResponse_OffsetFetchResponsePartition_init(p);
                p->PartitionIndex = f->PartitionIndex;
                p->CommittedOffset = f->CommittedOffset;
                p->CommittedLeaderEpoch = f->CommittedLeaderEpoch;
                p->Metadata = f->Metadata;
                p->ErrorCode = f->ErrorCode;
            }
        }
        if (req->version < 2 && !ready) {
            /* v1 has no top-level error: report it per partition */
            resp.Topics_count = 0;
        }
        sl_req_respond(req, &resp);
        return;
    }
    int32_t ng = rq->Groups_count < 0 ? 0 : rq->Groups_count;
    resp.Groups = SL_REQ_ARRAY(req, OffsetFetchResponse_OffsetFetchResponseGroup, ng);
    resp.Groups_count = ng;
    for (int32_t g = 0; g < ng; g++) {
        const OffsetFetchRequest_OffsetFetchRequestGroup *qg = &rq->Groups[g];
        OffsetFetchResponse_OffsetFetchResponseGroup *og = &resp.Groups[g];
        OffsetFetchResponse_OffsetFetchResponseGroup_init(og);
        og->GroupId = qg->GroupId;
        og->ErrorCode = ready ? KERR_NONE : kerr;
        if (!ready) continue;
        collect_ctx cc = {0};
        fetch_group_offsets(req, G(qg->GroupId), qg->Topics, qg->Topics_count, &cc);
        og->Topics = SL_REQ_ARRAY(req, OffsetFetchResponse_OffsetFetchResponseTopics, cc.ntopics);
        og->Topics_count = cc.ntopics;
        for (int32_t i = 0; i < cc.ntopics; i++) {
            OffsetFetchResponse_OffsetFetchResponseTopics *t = &og->Topics[i];
            OffsetFetchResponse_OffsetFetchResponseTopics_init(t);
            t->Name = cc.topics[i].Name;
            t->Partitions = SL_REQ_ARRAY(req, OffsetFetchResponse_OffsetFetchResponsePartitions,
                                         cc.topics[i].nparts);
            t->Partitions_count = cc.topics[i].nparts;
            for (int32_t j = 0; j < cc.topics[i].nparts; j++) {
                OffsetFetchResponse_OffsetFetchResponsePartitions *p = &t->Partitions[j];
                const fetch_part *f = &cc.topics[i].parts[j];
                OffsetFetchResponse_OffsetFetchResponsePartitions_init(p);
                p->PartitionIndex = f->PartitionIndex;
                p->CommittedOffset = f->CommittedOffset;
                p->CommittedLeaderEpoch = f->CommittedLeaderEpoch;
                p->Metadata = f->Metadata;
                p->ErrorCode = f->ErrorCode;
            }
        }
    }
    sl_req_respond(req, &resp);
}

/* ------------------------------------------------------------- DescribeGroups */

typedef struct describe_ctx {
    sl_request *req;
    DescribeGroupsResponse_DescribedGroup *out;
} describe_ctx;

static void on_described(void *arg, const sl_group_info *g)
{
    describe_ctx *dc = arg;
    sl_request *req = dc->req;
    DescribeGroupsResponse_DescribedGroup *o = dc->out;
    o->GroupState = sl_str_c(g->state);
    o->ProtocolType = req_gstr(req, g->protocol_type);
    o->ProtocolData = req_gstr(req, g->protocol_name);
    o->Members = SL_REQ_ARRAY(req, DescribeGroupsResponse_DescribedGroupMember, g->nmembers);
    o->Members_count = g->nmembers;
    for (int32_t i = 0; i < g->nmembers; i++) {
        DescribeGroupsResponse_DescribedGroupMember *m = &o->Members[i];
        DescribeGroupsResponse_DescribedGroupMember_init(m);
        m->MemberId = req_gstr(req, g->members[i].member_id);
        m->GroupInstanceId = req_gstr(req, g->members[i].instance_id);
        m->ClientId = req_gstr(req, g->members[i].client_id);
        m->ClientHost = req_gstr(req, g->members[i].client_host);
        m->MemberMetadata = req_gbytes(req, g->members[i].metadata);
        m->MemberAssignment = req_gbytes(req, g->members[i].assignment);
    }
}

void sl_handle_describe_groups(sl_request *req)
{
    const DescribeGroupsRequest *rq = req->body;
    DescribeGroupsResponse resp;
    DescribeGroupsResponse_init(&resp);
    int32_t n = rq->Groups_count < 0 ? 0 : rq->Groups_count;
    resp.Groups = SL_REQ_ARRAY(req, DescribeGroupsResponse_DescribedGroup, n);
    resp.Groups_count = n;
    int16_t kerr;
    bool ready = coordinator_ready(req, &kerr) || (req->b->coord && req->b->offsets_loaded);
    for (int32_t i = 0; i < n; i++) {
        DescribeGroupsResponse_DescribedGroup *o = &resp.Groups[i];
        DescribeGroupsResponse_DescribedGroup_init(o);
        o->GroupId = rq->Groups[i];
        o->GroupState = sl_str_c("");
        o->ProtocolType = sl_str_c("");
        o->ProtocolData = sl_str_c("");
        o->AuthorizedOperations = rq->IncludeAuthorizedOperations ? OPS_GROUP : OPS_NOT_REQUESTED;
        if (!ready) {
            o->ErrorCode = kerr;
            continue;
        }
        if (rq->Groups[i].len <= 0) {
            o->ErrorCode = KERR_INVALID_GROUP_ID;
            continue;
        }
        describe_ctx dc = {req, o};
        sl_coord_describe(req->b->coord, G(rq->Groups[i]), on_described, &dc);
    }
    sl_req_respond(req, &resp);
}

/* ----------------------------------------------------------------- ListGroups */

typedef struct list_ctx {
    sl_request *req;
    const ListGroupsRequest *rq;
    ListGroupsResponse *resp;
    int32_t cap;
} list_ctx;

static bool in_filter(const sl_str *list, int32_t n, const char *value)
{
    if (n <= 0) return true;
    for (int32_t i = 0; i < n; i++)
        if (list[i].len == (int32_t)strlen(value) &&
            strncasecmp(list[i].ptr, value, (size_t)list[i].len) == 0)
            return true;
    return false;
}

static void on_listed(void *arg, const sl_group_info *g)
{
    list_ctx *lc = arg;
    if (lc->req->version >= 4 &&
        !in_filter(lc->rq->StatesFilter, lc->rq->StatesFilter_count, g->state))
        return;
    if (lc->req->version >= 5 &&
        !in_filter(lc->rq->TypesFilter, lc->rq->TypesFilter_count, "classic"))
        return;
    ListGroupsResponse *resp = lc->resp;
    if (resp->Groups_count == lc->cap) {
        int32_t cap = lc->cap ? lc->cap * 2 : 16;
        ListGroupsResponse_ListedGroup *n =
            SL_REQ_ARRAY(lc->req, ListGroupsResponse_ListedGroup, cap);
        if (resp->Groups_count) memcpy(n, resp->Groups, sizeof *n * (size_t)resp->Groups_count);
        resp->Groups = n;
        lc->cap = cap;
    }
    ListGroupsResponse_ListedGroup *o = &resp->Groups[resp->Groups_count++];
    ListGroupsResponse_ListedGroup_init(o);
    o->GroupId = req_gstr(lc->req, g->group_id);
    o->ProtocolType = req_gstr(lc->req, g->protocol_type);
    o->GroupState = sl_str_c(g->state);
    o->GroupType = sl_str_c("classic");
}

void sl_handle_list_groups(sl_request *req)
{
    const ListGroupsRequest *rq = req->body;
    ListGroupsResponse resp;
    ListGroupsResponse_init(&resp);
    resp.Groups_count = 0;
    if (req->b->coord && req->b->offsets_loaded) {
        list_ctx lc = {req, rq, &resp, 0};
        sl_coord_list(req->b->coord, on_listed, &lc);
    } else {
        resp.ErrorCode = KERR_COORDINATOR_LOAD_IN_PROGRESS;
    }
    sl_req_respond(req, &resp);
}

/* --------------------------------------------------------------- DeleteGroups */

typedef struct delete_op {
    sl_request *req;
    int16_t *code;
} delete_op;

static void on_group_deleted(void *arg, int status)
{
    delete_op *op = arg;
    if (status < 0) *op->code = sl_groups_kerr(status);
    if (--op->req->pending == 0) sl_req_respond(op->req, op->req->resp);
}

void sl_handle_delete_groups(sl_request *req)
{
    const DeleteGroupsRequest *rq = req->body;
    DeleteGroupsResponse *resp = sl_req_alloc(req, sizeof *resp);
    DeleteGroupsResponse_init(resp);
    req->resp = resp;
    int32_t n = rq->GroupsNames_count < 0 ? 0 : rq->GroupsNames_count;
    resp->Results = SL_REQ_ARRAY(req, DeleteGroupsResponse_DeletableGroupResult, n);
    resp->Results_count = n;
    int16_t kerr;
    bool ready = coordinator_ready(req, &kerr);
    req->pending = 1;
    for (int32_t i = 0; i < n; i++) {
        DeleteGroupsResponse_DeletableGroupResult *o = &resp->Results[i];
        DeleteGroupsResponse_DeletableGroupResult_init(o);
        o->GroupId = rq->GroupsNames[i];
        if (!ready) {
            o->ErrorCode = kerr == KERR_COORDINATOR_NOT_AVAILABLE ? KERR_GROUP_ID_NOT_FOUND : kerr;
            continue;
        }
        delete_op *op = sl_req_alloc(req, sizeof *op);
        op->req = req;
        op->code = &o->ErrorCode;
        /* Counted before the call: the callback may run inside it. */
        req->pending++;
        int rc = sl_coord_delete_group(req->b->coord, G(rq->GroupsNames[i]), sl_wall_ms(),
                                       on_group_deleted, op);
        if (rc == 0) continue;
        req->pending--;
        if (rc == SL_ERR_NOT_FOUND)
            o->ErrorCode = KERR_GROUP_ID_NOT_FOUND;
        else if (rc == SL_ERR_NOT_EMPTY)
            o->ErrorCode = KERR_NON_EMPTY_GROUP;
        else
            o->ErrorCode = sl_groups_kerr(rc);
    }
    if (--req->pending == 0) sl_req_respond(req, req->resp);
}

/* --------------------------------------------------------------- OffsetDelete */

static void on_offsets_deleted(void *arg, int status)
{
    sl_request *req = arg;
    OffsetDeleteResponse *resp = req->resp;
    if (status < 0) resp->ErrorCode = sl_groups_kerr(status);
    if (--req->pending == 0) sl_req_respond(req, resp);
}

void sl_handle_offset_delete(sl_request *req)
{
    const OffsetDeleteRequest *rq = req->body;
    sl_broker *b = req->b;
    OffsetDeleteResponse *resp = sl_req_alloc(req, sizeof *resp);
    OffsetDeleteResponse_init(resp);
    req->resp = resp;
    req->pending = 1;
    int32_t nt = rq->Topics_count < 0 ? 0 : rq->Topics_count;
    resp->Topics = SL_REQ_ARRAY(req, OffsetDeleteResponse_OffsetDeleteResponseTopic, nt);
    resp->Topics_count = nt;
    int16_t kerr;
    if (!coordinator_ready(req, &kerr)) {
        resp->ErrorCode = kerr == KERR_COORDINATOR_NOT_AVAILABLE ? KERR_GROUP_ID_NOT_FOUND : kerr;
        resp->Topics_count = 0;
    } else if (!sl_coord_group_exists(b->coord, G(rq->GroupId))) {
        resp->ErrorCode = KERR_GROUP_ID_NOT_FOUND;
        resp->Topics_count = 0;
    }
    for (int32_t i = 0; i < resp->Topics_count; i++) {
        const OffsetDeleteRequest_OffsetDeleteRequestTopic *t = &rq->Topics[i];
        OffsetDeleteResponse_OffsetDeleteResponseTopic *to = &resp->Topics[i];
        OffsetDeleteResponse_OffsetDeleteResponseTopic_init(to);
        to->Name = t->Name;
        int32_t np = t->Partitions_count < 0 ? 0 : t->Partitions_count;
        to->Partitions = SL_REQ_ARRAY(req, OffsetDeleteResponse_OffsetDeleteResponsePartition, np);
        to->Partitions_count = np;
        int32_t *parts = SL_REQ_ARRAY(req, int32_t, np);
        sl_topic *topic = sl_broker_topic(b, t->Name);
        int32_t k = 0;
        for (int32_t j = 0; j < np; j++) {
            OffsetDeleteResponse_OffsetDeleteResponsePartition *po = &to->Partitions[j];
            OffsetDeleteResponse_OffsetDeleteResponsePartition_init(po);
            po->PartitionIndex = t->Partitions[j].PartitionIndex;
            if (!topic || po->PartitionIndex < 0 || po->PartitionIndex >= topic->npartitions)
                po->ErrorCode = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else
                parts[k++] = po->PartitionIndex;
        }
        if (k == 0) continue;
        /* Counted before the call: the callback may run inside it (nothing
         * to delete, or the store answered at once). */
        req->pending++;
        int rc = sl_coord_delete_offsets(b->coord, G(rq->GroupId), G(t->Name), parts, k,
                                         sl_wall_ms(), on_offsets_deleted, req);
        if (rc != 0) {
            req->pending--;
            int16_t code =
                rc == SL_ERR_NOT_EMPTY ? KERR_GROUP_SUBSCRIBED_TO_TOPIC : sl_groups_kerr(rc);
            for (int32_t j = 0; j < np; j++)
                if (!to->Partitions[j].ErrorCode) to->Partitions[j].ErrorCode = code;
        }
    }
    if (--req->pending == 0) sl_req_respond(req, resp);
}
