/* The classic group coordinator: membership, rebalances and offsets.
 *
 * States and allowed transitions (checked by set_state on every move):
 *
 *   from \ to           Empty  Preparing  Completing  Stable  Dead
 *   Empty                 -       yes         -         -      yes
 *   PreparingRebalance   yes       -         yes        -      yes
 *   CompletingRebalance   -       yes         -        yes     yes
 *   Stable                -       yes         -         -      yes
 *   Dead                  -        -          -         -       -
 *
 * A rebalance: a join (or leave, or expiry) moves the group to
 * PreparingRebalance; it completes when every member has sent JoinGroup
 * again (or the rebalance timeout removes those that did not): the
 * generation increases, a protocol every member supports is chosen by vote,
 * the leader gets everyone's metadata, and the group waits in
 * CompletingRebalance for the leader's SyncGroup. The leader's assignment
 * is written to __consumer_offsets, then every member's SyncGroup is
 * answered with its share and the group is Stable.
 *
 * Timers are deadlines checked by sl_coord_tick (about every 100 ms): member
 * session timeouts, the rebalance timeout, the delayed initial rebalance and
 * offset expiry of empty groups.
 */
#include "group/coordinator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/err.h"
#include "base/log.h"
#include "base/map.h"
#include "base/mem.h"
#include "group/records.h"
#include "proto/api.h"
#include "record/builder.h"

typedef enum gstate { G_EMPTY, G_PREPARING, G_COMPLETING, G_STABLE, G_DEAD } gstate;

static const char *const k_state_names[] = {"Empty", "PreparingRebalance", "CompletingRebalance",
                                            "Stable", "Dead"};

#define BIT(s) (1u << (s))
static const unsigned k_allowed[] = {
    [G_EMPTY] = BIT(G_PREPARING) | BIT(G_DEAD),
    [G_PREPARING] = BIT(G_EMPTY) | BIT(G_COMPLETING) | BIT(G_DEAD),
    [G_COMPLETING] = BIT(G_PREPARING) | BIT(G_STABLE) | BIT(G_DEAD),
    [G_STABLE] = BIT(G_PREPARING) | BIT(G_DEAD),
    [G_DEAD] = 0,
};

typedef struct bytes {
    uint8_t *p;
    int32_t len; /* -1 = null */
} bytes;

typedef struct protocol {
    char *name;
    bytes metadata;
} protocol;

typedef struct member {
    char *id;
    char *instance_id; /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    protocol *protocols;
    int32_t nprotocols;
    bytes assignment;
    int64_t last_seen_ms;
    /* a JoinGroup or SyncGroup waiting for the rebalance to progress */
    sl_join_cb join_cb;
    void *join_arg;
    bool supports_skip;
    sl_sync_cb sync_cb;
    void *sync_arg;
} member;

typedef struct pending_member { /* got MEMBER_ID_REQUIRED, must rejoin */
    char *id;
    int64_t deadline_ms;
} pending_member;

typedef struct offset_entry {
    int64_t offset;
    int32_t leader_epoch;
    bytes metadata;
    int64_t commit_ms;
} offset_entry;

typedef struct group {
    char *id;
    gstate state;
    int32_t generation;
    char *protocol_type; /* NULL until the first member */
    char *protocol_name;
    char *leader;
    member **members;
    int32_t nmembers, members_cap;
    pending_member *pending;
    int32_t npending, pending_cap;
    sl_map offsets;   /* topic '\0' be32 partition -> offset_entry* */
    int64_t state_ms; /* when the current state began */
    int64_t rebalance_deadline_ms;
    int64_t initial_delay_deadline_ms; /* 0 = no initial delay running */
    int64_t initial_delay_limit_ms;
    int32_t sync_generation_inflight; /* leader's assignment being persisted */
} group;

struct sl_coord {
    sl_coord_config cfg;
    sl_coord_store store;
    sl_map groups; /* id -> group* */
    sl_buf rec;    /* record scratch */
    sl_buf batch;  /* batch scratch */
    sl_coord_stats stats;
    bool shutting_down;
};

static inline sl_gstr gs(const char *s)
{
    return (sl_gstr){s, s ? (int32_t)strlen(s) : -1};
}

static inline sl_gstr gb(bytes b)
{
    return (sl_gstr){(const char *)b.p, b.len};
}

static char *dup_gstr(sl_gstr s)
{
    if (s.len < 0) return NULL;
    return sl_strndup(s.ptr ? s.ptr : "", (size_t)s.len);
}

static bytes dup_bytes(sl_gstr s)
{
    bytes b = {NULL, s.len < 0 ? -1 : s.len};
    if (s.len > 0) {
        b.p = sl_malloc((size_t)s.len);
        memcpy(b.p, s.ptr, (size_t)s.len);
    }
    return b;
}

static bool gstr_eq(sl_gstr a, const char *b)
{
    if (!b) return a.len < 0;
    return a.len >= 0 && (size_t)a.len == strlen(b) && memcmp(a.ptr, b, (size_t)a.len) == 0;
}

static bool bytes_eq(bytes a, sl_gstr b)
{
    if (a.len != b.len) return false;
    return a.len <= 0 || memcmp(a.p, b.ptr, (size_t)a.len) == 0;
}

/* ------------------------------------------------------------------ objects */

static void member_free_protocols(member *m)
{
    for (int32_t i = 0; i < m->nprotocols; i++) {
        sl_free(m->protocols[i].name);
        sl_free(m->protocols[i].metadata.p);
    }
    sl_free(m->protocols);
    m->protocols = NULL;
    m->nprotocols = 0;
}

static void member_free(member *m)
{
    member_free_protocols(m);
    sl_free(m->id);
    sl_free(m->instance_id);
    sl_free(m->client_id);
    sl_free(m->client_host);
    sl_free(m->assignment.p);
    sl_free(m);
}

static void member_set_protocols(member *m, const sl_join_protocol *ps, int32_t n)
{
    member_free_protocols(m);
    m->protocols = sl_calloc((size_t)(n > 0 ? n : 1), sizeof *m->protocols);
    m->nprotocols = n;
    for (int32_t i = 0; i < n; i++) {
        m->protocols[i].name = dup_gstr(ps[i].name);
        if (!m->protocols[i].name) m->protocols[i].name = sl_strdup("");
        m->protocols[i].metadata = dup_bytes(ps[i].metadata);
    }
}

static bool member_same_protocols(const member *m, const sl_join_protocol *ps, int32_t n)
{
    if (m->nprotocols != n) return false;
    for (int32_t i = 0; i < n; i++)
        if (!gstr_eq(ps[i].name, m->protocols[i].name) ||
            !bytes_eq(m->protocols[i].metadata, ps[i].metadata))
            return false;
    return true;
}

static const protocol *member_protocol(const member *m, const char *name)
{
    if (!name) return NULL;
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (strcmp(m->protocols[i].name, name) == 0) return &m->protocols[i];
    return NULL;
}

/* Groups are kept under their id as a C string, so an id with a NUL byte
 * cannot name a group: it is refused where groups are created. */
static bool valid_group_id(sl_gstr id)
{
    return id.len >= 0 && (id.len == 0 || !memchr(id.ptr, 0, (size_t)id.len));
}

static group *group_get(const sl_coord *c, sl_gstr id)
{
    if (!valid_group_id(id)) return NULL;
    return sl_map_get(&c->groups, id.ptr ? id.ptr : "", (size_t)id.len);
}

static group *group_create(sl_coord *c, sl_gstr id, int64_t now_ms)
{
    group *g = SL_NEW(group);
    g->id = dup_gstr(id);
    g->state = G_EMPTY;
    g->state_ms = now_ms;
    sl_map_init(&g->offsets);
    sl_map_put(&c->groups, g->id, strlen(g->id), g);
    c->stats.groups = sl_map_count(&c->groups);
    return g;
}

static void group_clear_offsets(group *g)
{
    void *v;
    for (size_t it = 0; sl_map_next(&g->offsets, &it, NULL, NULL, &v);) {
        offset_entry *e = v;
        sl_free(e->metadata.p);
        sl_free(e);
    }
    sl_map_fini(&g->offsets);
    sl_map_init(&g->offsets);
}

static void group_free(group *g)
{
    for (int32_t i = 0; i < g->nmembers; i++)
        member_free(g->members[i]);
    sl_free(g->members);
    for (int32_t i = 0; i < g->npending; i++)
        sl_free(g->pending[i].id);
    sl_free(g->pending);
    group_clear_offsets(g);
    sl_map_fini(&g->offsets);
    sl_free(g->id);
    sl_free(g->protocol_type);
    sl_free(g->protocol_name);
    sl_free(g->leader);
    sl_free(g);
}

static void set_state(group *g, gstate to, int64_t now_ms)
{
    if (!(k_allowed[g->state] & BIT(to))) {
        SL_ERROR("group", "illegal transition group=%s %s -> %s", g->id, k_state_names[g->state],
                 k_state_names[to]);
        abort();
    }
    SL_DEBUG("group", "group=%s %s -> %s generation=%d", g->id, k_state_names[g->state],
             k_state_names[to], g->generation);
    g->state = to;
    g->state_ms = now_ms;
}

static member *find_member(const group *g, sl_gstr id, int32_t *index)
{
    for (int32_t i = 0; i < g->nmembers; i++)
        if (gstr_eq(id, g->members[i]->id)) {
            if (index) *index = i;
            return g->members[i];
        }
    return NULL;
}

static member *find_static(const group *g, sl_gstr instance_id)
{
    if (instance_id.len < 0) return NULL;
    for (int32_t i = 0; i < g->nmembers; i++)
        if (g->members[i]->instance_id && gstr_eq(instance_id, g->members[i]->instance_id))
            return g->members[i];
    return NULL;
}

static int32_t find_pending(const group *g, sl_gstr id)
{
    for (int32_t i = 0; i < g->npending; i++)
        if (gstr_eq(id, g->pending[i].id)) return i;
    return -1;
}

static void remove_pending(group *g, int32_t i)
{
    sl_free(g->pending[i].id);
    g->pending[i] = g->pending[--g->npending];
}

static void add_member(group *g, member *m)
{
    if (g->nmembers == g->members_cap) {
        g->members_cap = g->members_cap ? g->members_cap * 2 : 4;
        g->members = sl_realloc(g->members, sizeof *g->members * (size_t)g->members_cap);
    }
    g->members[g->nmembers++] = m;
}

/* A member id as Kafka builds it: client id, '-', a random UUID. */
static char *new_member_id(sl_gstr client_id)
{
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) memset(r, 0x5a, sizeof r);
    char buf[400];
    int n = client_id.len > 0 ? (client_id.len > 255 ? 255 : client_id.len) : 0;
    snprintf(buf, sizeof buf,
             "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", n,
             client_id.ptr ? client_id.ptr : "", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
             r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
    return sl_strdup(buf);
}

/* --------------------------------------------------------------- persistence */

typedef struct write_ctx {
    sl_coord *c;
    char *group_id;
    void (*apply)(struct write_ctx *w, int status);
    sl_coord_done_cb cb;
    void *arg;
    /* commit: the offsets to apply once durable */
    sl_commit_offset *offsets;
    int32_t noffsets;
    int64_t now_ms;
    int32_t generation; /* sync: generation whose assignment is written */
    /* static member rejoin: the join is answered once the new member id is
     * durable (as Kafka does) */
    char *member_id;
    char *leader_override; /* answer with this leader id (NULL: the group's) */
    bool skip_assignment;
} write_ctx;

static void begin_batch(sl_coord *c, sl_batch_builder *bb)
{
    sl_buf_reset(&c->batch);
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    sl_batch_builder_begin(bb, &c->batch, &o);
}

static void add_record(sl_coord *c, sl_batch_builder *bb, int64_t now_ms, size_t key_len,
                       bool tombstone)
{
    sl_batch_builder_add(bb, now_ms, c->rec.data, (int32_t)key_len,
                         tombstone ? NULL : c->rec.data + key_len,
                         tombstone ? -1 : (int32_t)(c->rec.len - key_len), NULL, 0);
}

static void on_written(void *arg, int status)
{
    write_ctx *w = arg;
    if (w->apply) w->apply(w, status);
    if (w->cb) w->cb(w->arg, status);
    sl_free(w->group_id);
    sl_free(w->member_id);
    sl_free(w->leader_override);
    sl_free(w);
}

/* Appends the batch in c->batch to the group's partition. */
static void write_batch(sl_coord *c, const char *group_id, write_ctx *w)
{
    int32_t part = sl_coord_partition_for(c, group_id, strlen(group_id));
    int rc = c->store.append(c->store.ctx, part, c->batch.data, c->batch.len, on_written, w);
    if (rc < 0) on_written(w, rc);
}

static write_ctx *new_write(sl_coord *c, const char *group_id)
{
    write_ctx *w = SL_NEW(write_ctx);
    w->c = c;
    w->group_id = sl_strdup(group_id);
    return w;
}

/* Encodes the group's metadata record (members and assignments) into the
 * current batch. */
static void add_group_record(sl_coord *c, sl_batch_builder *bb, group *g, int64_t now_ms,
                             const sl_sync_assignment *assign, int32_t nassign)
{
    sl_buf_reset(&c->rec);
    sl_grec_group_key(&c->rec, gs(g->id));
    size_t key_len = c->rec.len;
    sl_grec_group hdr = {gs(g->protocol_type), g->generation, gs(g->protocol_name),
                         gs(g->leader),        now_ms,        g->nmembers};
    sl_grec_group_value(&c->rec, &hdr);
    for (int32_t i = 0; i < g->nmembers; i++) {
        member *m = g->members[i];
        const protocol *p = member_protocol(m, g->protocol_name);
        sl_gstr asg = gb(m->assignment);
        for (int32_t k = 0; assign && k < nassign; k++)
            if (gstr_eq(assign[k].member_id, m->id)) asg = assign[k].assignment;
        if (assign && asg.ptr == (const char *)m->assignment.p && m->assignment.len >= 0)
            asg = (sl_gstr){"", 0}; /* the leader gave this member nothing */
        sl_grec_member rm = {gs(m->id),
                             gs(m->instance_id),
                             gs(m->client_id),
                             gs(m->client_host),
                             m->rebalance_timeout_ms,
                             m->session_timeout_ms,
                             p ? gb(p->metadata) : (sl_gstr){"", 0},
                             asg};
        sl_grec_group_member(&c->rec, &rm);
    }
    add_record(c, bb, now_ms, key_len, false);
}

/* Records the group's current membership durably without waiting. */
static void persist_group(sl_coord *c, group *g, int64_t now_ms)
{
    sl_batch_builder bb;
    begin_batch(c, &bb);
    add_group_record(c, &bb, g, now_ms, NULL, 0);
    if (sl_batch_builder_finish(&bb) < 0) return;
    write_batch(c, g->id, new_write(c, g->id));
}

/* ------------------------------------------------------------- rebalancing */

static void respond_join_error(member *m, int err)
{
    if (!m->join_cb) return;
    sl_join_cb cb = m->join_cb;
    m->join_cb = NULL;
    sl_join_result r = {0};
    r.error = err;
    r.generation = -1;
    r.member_id = gs(m->id);
    r.protocol_type = (sl_gstr){NULL, -1};
    r.protocol_name = (sl_gstr){NULL, -1};
    r.leader = (sl_gstr){"", 0};
    cb(m->join_arg, &r);
}

static void respond_sync(member *m, int err, const group *g)
{
    if (!m->sync_cb) return;
    sl_sync_cb cb = m->sync_cb;
    m->sync_cb = NULL;
    sl_sync_result r = {0};
    r.error = err;
    r.protocol_type = gs(g->protocol_type);
    r.protocol_name = gs(g->protocol_name);
    r.assignment = err ? (sl_gstr){"", 0} : gb(m->assignment);
    if (r.assignment.len < 0) r.assignment = (sl_gstr){"", 0};
    cb(m->sync_arg, &r);
}

/* The join answer for member m in the current generation. */
static void respond_join(sl_coord *c, group *g, member *m, sl_gstr leader_override,
                         bool skip_assignment)
{
    (void)c;
    if (!m->join_cb) return;
    sl_join_cb cb = m->join_cb;
    void *arg = m->join_arg;
    m->join_cb = NULL;
    sl_join_result r = {0};
    r.generation = g->generation;
    r.protocol_type = gs(g->protocol_type);
    r.protocol_name = gs(g->protocol_name);
    r.leader = leader_override.len >= 0 ? leader_override : gs(g->leader);
    r.member_id = gs(m->id);
    r.skip_assignment = skip_assignment;
    sl_join_member *list = NULL;
    bool is_leader = g->leader && strcmp(g->leader, m->id) == 0 && leader_override.len < 0;
    if (is_leader) {
        list = sl_calloc((size_t)(g->nmembers > 0 ? g->nmembers : 1), sizeof *list);
        for (int32_t i = 0; i < g->nmembers; i++) {
            const protocol *p = member_protocol(g->members[i], g->protocol_name);
            list[i].member_id = gs(g->members[i]->id);
            list[i].instance_id = gs(g->members[i]->instance_id);
            list[i].metadata = p ? gb(p->metadata) : (sl_gstr){"", 0};
        }
        r.members = list;
        r.nmembers = g->nmembers;
    }
    cb(arg, &r);
    sl_free(list);
}

/* Chooses the protocol every member supports that gets the most first-choice
 * votes (ties: the earlier candidate in the first member's order). */
static char *select_protocol(const group *g)
{
    const member *first = g->members[0];
    int best = -1, best_votes = -1;
    for (int32_t i = 0; i < first->nprotocols; i++) {
        const char *cand = first->protocols[i].name;
        bool everyone = true;
        for (int32_t k = 1; k < g->nmembers && everyone; k++)
            everyone = member_protocol(g->members[k], cand) != NULL;
        if (!everyone) continue;
        int votes = 0;
        for (int32_t k = 0; k < g->nmembers; k++) {
            const member *m = g->members[k];
            /* a member votes for its most preferred candidate */
            for (int32_t j = 0; j < m->nprotocols; j++) {
                const char *pn = m->protocols[j].name;
                bool common = true;
                for (int32_t q = 0; q < g->nmembers && common; q++)
                    common = member_protocol(g->members[q], pn) != NULL;
                if (common) {
                    votes += strcmp(pn, cand) == 0;
                    break;
                }
            }
        }
        if (votes > best_votes) {
            best_votes = votes;
            best = i;
        }
    }
    return best >= 0 ? sl_strdup(first->protocols[best].name) : NULL;
}

static void remove_member_at(sl_coord *c, group *g, int32_t i, int64_t now_ms);

static void complete_join(sl_coord *c, group *g, int64_t now_ms)
{
    /* Members that did not rejoin in time are out. */
    for (int32_t i = g->nmembers - 1; i >= 0; i--) {
        member *m = g->members[i];
        if (!m->join_cb) {
            SL_INFO("group", "member left the rebalance group=%s member=%s (did not rejoin)", g->id,
                    m->id);
            remove_member_at(c, g, i, now_ms);
        }
    }
    for (int32_t i = g->npending - 1; i >= 0; i--)
        remove_pending(g, i);
    g->initial_delay_deadline_ms = 0;
    g->generation++;
    c->stats.rebalances++;
    sl_free(g->protocol_name);
    g->protocol_name = NULL;
    if (g->nmembers == 0) {
        sl_free(g->leader);
        g->leader = NULL;
        set_state(g, G_EMPTY, now_ms);
        persist_group(c, g, now_ms);
        return;
    }
    g->protocol_name = select_protocol(g);
    if (!g->leader) g->leader = sl_strdup(g->members[0]->id);
    for (int32_t i = 0; i < g->nmembers; i++) {
        sl_free(g->members[i]->assignment.p);
        g->members[i]->assignment = (bytes){NULL, -1};
    }
    set_state(g, G_COMPLETING, now_ms);
    SL_INFO("group", "rebalance complete group=%s generation=%d members=%d protocol=%s leader=%s",
            g->id, g->generation, g->nmembers, g->protocol_name ? g->protocol_name : "-",
            g->leader);
    for (int32_t i = 0; i < g->nmembers; i++) {
        member *m = g->members[i];
        m->last_seen_ms = now_ms;
        respond_join(c, g, m, (sl_gstr){NULL, -1}, false);
    }
}

static bool all_joined(const group *g)
{
    if (g->npending > 0) return false;
    for (int32_t i = 0; i < g->nmembers; i++)
        if (!g->members[i]->join_cb) return false;
    return true;
}

static void try_complete_join(sl_coord *c, group *g, int64_t now_ms)
{
    if (g->state != G_PREPARING) return;
    if (g->initial_delay_deadline_ms && now_ms < g->initial_delay_deadline_ms) return;
    if (all_joined(g)) complete_join(c, g, now_ms);
}

static int32_t max_rebalance_timeout(const group *g)
{
    int32_t t = 0;
    for (int32_t i = 0; i < g->nmembers; i++)
        if (g->members[i]->rebalance_timeout_ms > t) t = g->members[i]->rebalance_timeout_ms;
    return t;
}

static void prepare_rebalance(sl_coord *c, group *g, int64_t now_ms, const char *reason)
{
    if (g->state == G_PREPARING) return;
    if (g->state == G_COMPLETING) {
        /* The leader's assignment for this generation will not come: everyone
         * waiting in SyncGroup must rejoin. */
        for (int32_t i = 0; i < g->nmembers; i++)
            respond_sync(g->members[i], SL_ERR_REBALANCE_IN_PROGRESS, g);
    }
    bool was_empty = g->state == G_EMPTY;
    set_state(g, G_PREPARING, now_ms);
    g->rebalance_deadline_ms = now_ms + max_rebalance_timeout(g);
    if (was_empty && c->cfg.initial_rebalance_delay_ms > 0) {
        g->initial_delay_deadline_ms = now_ms + c->cfg.initial_rebalance_delay_ms;
        g->initial_delay_limit_ms = now_ms + max_rebalance_timeout(g);
    }
    SL_INFO("group", "preparing rebalance group=%s generation=%d reason=%s", g->id, g->generation,
            reason);
}

/* After a membership change outside a rebalance. */
static void membership_changed(sl_coord *c, group *g, int64_t now_ms, const char *reason)
{
    if (g->state == G_STABLE || g->state == G_COMPLETING || g->state == G_EMPTY)
        prepare_rebalance(c, g, now_ms, reason);
    try_complete_join(c, g, now_ms);
}

static void remove_member_at(sl_coord *c, group *g, int32_t i, int64_t now_ms)
{
    member *m = g->members[i];
    respond_join_error(m, SL_ERR_UNKNOWN_MEMBER);
    respond_sync(m, SL_ERR_UNKNOWN_MEMBER, g);
    if (g->leader && strcmp(g->leader, m->id) == 0) {
        sl_free(g->leader);
        g->leader = NULL;
    }
    member_free(m);
    g->members[i] = g->members[--g->nmembers];
    (void)c;
    (void)now_ms;
}

/* --------------------------------------------------------------- public API */

sl_coord *sl_coord_new(const sl_coord_config *cfg, const sl_coord_store *store)
{
    sl_coord *c = SL_NEW(sl_coord);
    c->cfg = *cfg;
    if (c->cfg.offsets_partitions <= 0) c->cfg.offsets_partitions = 1;
    c->store = *store;
    sl_map_init(&c->groups);
    sl_buf_init(&c->rec);
    sl_buf_init(&c->batch);
    return c;
}

void sl_coord_shutdown(sl_coord *c)
{
    c->shutting_down = true;
    void *v;
    for (size_t it = 0; sl_map_next(&c->groups, &it, NULL, NULL, &v);) {
        group *g = v;
        for (int32_t i = 0; i < g->nmembers; i++) {
            respond_join_error(g->members[i], SL_ERR_CLOSED);
            respond_sync(g->members[i], SL_ERR_CLOSED, g);
        }
    }
}

void sl_coord_free(sl_coord *c)
{
    if (!c) return;
    sl_coord_shutdown(c);
    void *v;
    for (size_t it = 0; sl_map_next(&c->groups, &it, NULL, NULL, &v);)
        group_free(v);
    sl_map_fini(&c->groups);
    sl_buf_fini(&c->rec);
    sl_buf_fini(&c->batch);
    sl_free(c);
}

int32_t sl_coord_partition_for(const sl_coord *c, const char *group_id, size_t len)
{
    /* Java's String.hashCode over UTF-16 code units; group ids are almost
     * always ASCII, for which bytes and code units agree. */
    int32_t h = 0;
    for (size_t i = 0; i < len; i++)
        h = (int32_t)(31u * (uint32_t)h + (unsigned char)group_id[i]);
    /* Kafka's Utils.abs: Integer.MIN_VALUE maps to 0. */
    uint32_t a = h == INT32_MIN ? 0 : (uint32_t)(h < 0 ? -h : h);
    return (int32_t)(a % (uint32_t)c->cfg.offsets_partitions);
}

/* Adds a new member (id owned by the member from now on) and rebalances. */
static void admit_member(sl_coord *c, group *g, char *id, const sl_join_params *p,
                         int32_t rebalance_timeout, int64_t now_ms, sl_join_cb cb, void *arg)
{
    member *m = SL_NEW(member);
    m->id = id;
    m->instance_id = dup_gstr(p->instance_id);
    m->client_id = dup_gstr(p->client_id);
    m->client_host = dup_gstr(p->client_host);
    m->session_timeout_ms = p->session_timeout_ms;
    m->rebalance_timeout_ms = rebalance_timeout;
    m->assignment = (bytes){NULL, -1};
    m->last_seen_ms = now_ms;
    member_set_protocols(m, p->protocols, p->nprotocols);
    m->join_cb = cb;
    m->join_arg = arg;
    m->supports_skip = p->supports_skip_assignment;
    if (g->nmembers == 0) {
        /* The first member of an empty group sets its protocol type (an
         * earlier generation may have used another). */
        sl_free(g->protocol_type);
        g->protocol_type = dup_gstr(p->protocol_type);
    }
    add_member(g, m);
    if (g->state == G_PREPARING && g->initial_delay_deadline_ms) {
        /* Each new member extends the initial delay, up to the limit. */
        int64_t d = now_ms + c->cfg.initial_rebalance_delay_ms;
        g->initial_delay_deadline_ms =
            d < g->initial_delay_limit_ms ? d : g->initial_delay_limit_ms;
    }
    membership_changed(c, g, now_ms, "new member joined");
}

/* A restarted static member's new id is durable (or could not be stored). */
static void static_join_written(write_ctx *w, int status)
{
    sl_coord *c = w->c;
    group *g = group_get(c, gs(w->group_id));
    member *m = g ? find_member(g, gs(w->member_id), NULL) : NULL;
    if (!m || !m->join_cb) return; /* answered meanwhile: rebalance, newer instance, shutdown */
    if (status < 0) {
        SL_WARN("group", "group=%s static member %s not stored: %s", g->id, m->id,
                sl_err_str(status));
        respond_join_error(m, status);
        return;
    }
    if (g->state != G_STABLE || g->generation != w->generation)
        return; /* a rebalance started: it answers the parked join */
    respond_join(c, g, m, w->leader_override ? gs(w->leader_override) : (sl_gstr){NULL, -1},
                 w->skip_assignment);
}

void sl_coord_join(sl_coord *c, const sl_join_params *p, int64_t now_ms, sl_join_cb cb, void *arg)
{
    sl_join_result err = {0};
    err.generation = -1;
    err.member_id = p->member_id.len >= 0 ? p->member_id : (sl_gstr){"", 0};
    err.leader = (sl_gstr){"", 0};
    err.protocol_type = (sl_gstr){NULL, -1};
    err.protocol_name = (sl_gstr){NULL, -1};
    if (c->shutting_down) {
        err.error = SL_ERR_CLOSED;
        cb(arg, &err);
        return;
    }
    if (p->group_id.len <= 0 || !valid_group_id(p->group_id)) {
        err.error = SL_ERR_INVALID_ARG;
        cb(arg, &err);
        return;
    }
    if (p->session_timeout_ms < c->cfg.min_session_timeout_ms ||
        p->session_timeout_ms > c->cfg.max_session_timeout_ms) {
        err.error = SL_ERR_INVALID_ARG;
        err.bad_session_timeout = true;
        cb(arg, &err);
        return;
    }
    bool new_member = p->member_id.len <= 0;
    group *g = group_get(c, p->group_id);
    if (!g) {
        if (!new_member) {
            err.error = SL_ERR_UNKNOWN_MEMBER;
            cb(arg, &err);
            return;
        }
        g = group_create(c, p->group_id, now_ms);
    }
    /* Protocol compatibility: same type, and (with members) a protocol every
     * member supports. */
    if (p->protocol_type.len <= 0 || p->nprotocols <= 0 ||
        (g->nmembers > 0 && g->protocol_type && !gstr_eq(p->protocol_type, g->protocol_type))) {
        err.error = SL_ERR_INCONSISTENT_PROTOCOL;
        cb(arg, &err);
        return;
    }
    if (g->nmembers > 0) {
        bool common = false;
        for (int32_t i = 0; i < p->nprotocols && !common; i++) {
            char *name = dup_gstr(p->protocols[i].name);
            bool all = true;
            for (int32_t k = 0; k < g->nmembers && all; k++) {
                member *o = g->members[k];
                if (gstr_eq(p->member_id, o->id)) continue;
                all = member_protocol(o, name ? name : "") != NULL;
            }
            common = all;
            sl_free(name);
        }
        if (!common) {
            err.error = SL_ERR_INCONSISTENT_PROTOCOL;
            cb(arg, &err);
            return;
        }
    }
    int32_t rebalance_timeout =
        p->rebalance_timeout_ms > 0 ? p->rebalance_timeout_ms : p->session_timeout_ms;
    member *existing_static = find_static(g, p->instance_id);

    if (new_member) {
        if (!existing_static && g->nmembers + g->npending >= c->cfg.max_size) {
            err.error = SL_ERR_GROUP_FULL;
            cb(arg, &err);
            return;
        }
        char *id = new_member_id(p->client_id);
        if (existing_static) {
            /* A restarted static member: it takes over the old member's
             * place (fencing the old id) and, if nothing changed, the group
             * stays as it is — no rebalance. */
            member *m = existing_static;
            respond_join_error(m, SL_ERR_FENCED_INSTANCE);
            respond_sync(m, SL_ERR_FENCED_INSTANCE, g);
            char *old_id = m->id;
            bool was_leader = g->leader && strcmp(g->leader, old_id) == 0;
            m->id = id;
            if (was_leader) {
                sl_free(g->leader);
                g->leader = sl_strdup(id);
            }
            m->session_timeout_ms = p->session_timeout_ms;
            m->rebalance_timeout_ms = rebalance_timeout;
            m->last_seen_ms = now_ms;
            sl_free(m->client_id);
            m->client_id = dup_gstr(p->client_id);
            sl_free(m->client_host);
            m->client_host = dup_gstr(p->client_host);
            m->join_cb = cb;
            m->join_arg = arg;
            m->supports_skip = p->supports_skip_assignment;
            SL_INFO("group", "static member rejoined group=%s instance=%s old=%s new=%s", g->id,
                    m->instance_id, old_id, m->id);
            /* Kafka's rule: in a Stable group new metadata alone is no
             * reason to rebalance, only a change of the protocol the group
             * would select next. The new metadata is what the leader sees
             * at the next rebalance. */
            member_set_protocols(m, p->protocols, p->nprotocols);
            char *next = g->state == G_STABLE ? select_protocol(g) : NULL;
            bool keep = next && g->protocol_name && strcmp(next, g->protocol_name) == 0;
            sl_free(next);
            if (keep) {
                /* The answer (join_cb stays parked) waits for the new member
                 * id to be durable. A leader on JoinGroup v9+ is told to
                 * skip the assignment; an older one gets the old leader id,
                 * so it does not compute an assignment that a Stable group
                 * would not hand out. */
                write_ctx *w = new_write(c, g->id);
                w->apply = static_join_written;
                w->generation = g->generation;
                w->member_id = sl_strdup(m->id);
                w->skip_assignment = was_leader && p->supports_skip_assignment;
                if (was_leader && !p->supports_skip_assignment)
                    w->leader_override = old_id;
                else
                    sl_free(old_id);
                sl_batch_builder bb;
                begin_batch(c, &bb);
                add_group_record(c, &bb, g, now_ms, NULL, 0);
                if (sl_batch_builder_finish(&bb) < 0) {
                    on_written(w, SL_ERR_INTERNAL);
                    return;
                }
                write_batch(c, g->id, w);
                return;
            }
            sl_free(old_id);
            if (g->state == G_PREPARING)
                try_complete_join(c, g, now_ms);
            else
                membership_changed(c, g, now_ms, "static member rejoined with new metadata");
            return;
        }
        if (p->instance_id.len < 0 && p->require_known_member_id) {
            /* KIP-394: hand out the id first; the member joins with it. */
            if (g->npending == g->pending_cap) {
                g->pending_cap = g->pending_cap ? g->pending_cap * 2 : 4;
                g->pending = sl_realloc(g->pending, sizeof *g->pending * (size_t)g->pending_cap);
            }
            g->pending[g->npending++] = (pending_member){id, now_ms + p->session_timeout_ms};
            err.error = SL_ERR_MEMBER_ID_REQUIRED;
            err.member_id = gs(id);
            cb(arg, &err);
            return;
        }
        admit_member(c, g, id, p, rebalance_timeout, now_ms, cb, arg);
        return;
    }

    /* A member that already has an id. */
    if (existing_static && !gstr_eq(p->member_id, existing_static->id)) {
        err.error = SL_ERR_FENCED_INSTANCE;
        cb(arg, &err);
        return;
    }
    int32_t pi = find_pending(g, p->member_id);
    if (pi >= 0) {
        remove_pending(g, pi);
        if (g->nmembers >= c->cfg.max_size) {
            err.error = SL_ERR_GROUP_FULL;
            cb(arg, &err);
            return;
        }
        admit_member(c, g, dup_gstr(p->member_id), p, rebalance_timeout, now_ms, cb, arg);
        return;
    }
    member *m = find_member(g, p->member_id, NULL);
    if (!m || g->state == G_EMPTY || g->state == G_DEAD) {
        err.error = SL_ERR_UNKNOWN_MEMBER;
        cb(arg, &err);
        return;
    }
    /* A second JoinGroup while one is parked replaces it. */
    respond_join_error(m, SL_ERR_UNKNOWN_MEMBER);
    m->last_seen_ms = now_ms;
    m->session_timeout_ms = p->session_timeout_ms;
    m->rebalance_timeout_ms = rebalance_timeout;
    m->supports_skip = p->supports_skip_assignment;
    bool same = member_same_protocols(m, p->protocols, p->nprotocols);
    bool is_leader = g->leader && strcmp(g->leader, m->id) == 0;
    m->join_cb = cb;
    m->join_arg = arg;
    switch (g->state) {
    case G_PREPARING:
        member_set_protocols(m, p->protocols, p->nprotocols);
        try_complete_join(c, g, now_ms);
        return;
    case G_COMPLETING:
        if (same) {
            /* It missed the join answer: give it again. */
            respond_join(c, g, m, (sl_gstr){NULL, -1}, false);
            return;
        }
        member_set_protocols(m, p->protocols, p->nprotocols);
        membership_changed(c, g, now_ms, "member metadata changed");
        return;
    case G_STABLE:
        if (is_leader || !same) {
            member_set_protocols(m, p->protocols, p->nprotocols);
            membership_changed(c, g, now_ms,
                               is_leader ? "leader rejoined" : "member metadata changed");
            return;
        }
        respond_join(c, g, m, (sl_gstr){NULL, -1}, false);
        return;
    default:
        respond_join_error(m, SL_ERR_UNKNOWN_MEMBER);
        return;
    }
}

/* Checks a request that names a member: SL_ERR_* or 0 with *out set. */
static int check_member(group *g, sl_gstr member_id, sl_gstr instance_id, member **out)
{
    if (!g || g->state == G_DEAD) return SL_ERR_UNKNOWN_MEMBER;
    member *st = find_static(g, instance_id);
    if (st && !gstr_eq(member_id, st->id)) return SL_ERR_FENCED_INSTANCE;
    member *m = find_member(g, member_id, NULL);
    if (!m) return SL_ERR_UNKNOWN_MEMBER;
    *out = m;
    return 0;
}

static void sync_written(write_ctx *w, int status)
{
    sl_coord *c = w->c;
    group *g = group_get(c, gs(w->group_id));
    if (!g || g->state != G_COMPLETING || g->generation != w->generation)
        return; /* the group moved on meanwhile: its members were answered */
    g->sync_generation_inflight = 0;
    if (status < 0) {
        SL_WARN("group", "group=%s assignment not stored: %s", g->id, sl_err_str(status));
        for (int32_t i = 0; i < g->nmembers; i++) {
            sl_free(g->members[i]->assignment.p);
            g->members[i]->assignment = (bytes){NULL, -1};
            respond_sync(g->members[i], status, g);
        }
        prepare_rebalance(c, g, w->now_ms, "assignment could not be stored");
        return;
    }
    set_state(g, G_STABLE, w->now_ms);
    for (int32_t i = 0; i < g->nmembers; i++)
        respond_sync(g->members[i], 0, g);
}

void sl_coord_sync(sl_coord *c, const sl_sync_params *p, int64_t now_ms, sl_sync_cb cb, void *arg)
{
    sl_sync_result r = {0};
    r.protocol_type = (sl_gstr){NULL, -1};
    r.protocol_name = (sl_gstr){NULL, -1};
    r.assignment = (sl_gstr){"", 0};
    group *g = group_get(c, p->group_id);
    member *m = NULL;
    r.error = c->shutting_down ? SL_ERR_CLOSED : check_member(g, p->member_id, p->instance_id, &m);
    if (!r.error && p->generation != g->generation) r.error = SL_ERR_ILLEGAL_GENERATION;
    if (!r.error && ((p->protocol_type.len >= 0 && !gstr_eq(p->protocol_type, g->protocol_type)) ||
                     (p->protocol_name.len >= 0 && !gstr_eq(p->protocol_name, g->protocol_name))))
        r.error = SL_ERR_INCONSISTENT_PROTOCOL;
    if (!r.error && g->state == G_EMPTY) r.error = SL_ERR_UNKNOWN_MEMBER;
    if (!r.error && g->state == G_PREPARING) r.error = SL_ERR_REBALANCE_IN_PROGRESS;
    if (r.error) {
        cb(arg, &r);
        return;
    }
    m->last_seen_ms = now_ms;
    if (g->state == G_STABLE) {
        r.protocol_type = gs(g->protocol_type);
        r.protocol_name = gs(g->protocol_name);
        r.assignment = m->assignment.len >= 0 ? gb(m->assignment) : (sl_gstr){"", 0};
        cb(arg, &r);
        return;
    }
    /* CompletingRebalance: wait for the leader's assignment. */
    respond_sync(m, SL_ERR_REBALANCE_IN_PROGRESS, g); /* a duplicate sync replaces the old */
    m->sync_cb = cb;
    m->sync_arg = arg;
    bool is_leader = g->leader && strcmp(g->leader, m->id) == 0;
    if (!is_leader || g->sync_generation_inflight == g->generation) return;
    /* Keep the assignments; persist; answer everyone once durable. */
    for (int32_t i = 0; i < g->nmembers; i++) {
        member *o = g->members[i];
        sl_free(o->assignment.p);
        o->assignment = (bytes){NULL, 0};
        for (int32_t k = 0; k < p->nassignments; k++)
            if (gstr_eq(p->assignments[k].member_id, o->id)) {
                o->assignment = dup_bytes(p->assignments[k].assignment);
                break;
            }
    }
    sl_batch_builder bb;
    begin_batch(c, &bb);
    add_group_record(c, &bb, g, now_ms, NULL, 0);
    write_ctx *w = new_write(c, g->id);
    w->apply = sync_written;
    w->generation = g->generation;
    w->now_ms = now_ms;
    g->sync_generation_inflight = g->generation;
    if (sl_batch_builder_finish(&bb) < 0) {
        on_written(w, SL_ERR_INTERNAL);
        return;
    }
    write_batch(c, g->id, w);
}

int sl_coord_heartbeat(sl_coord *c, sl_gstr group_id, int32_t generation, sl_gstr member_id,
                       sl_gstr instance_id, int64_t now_ms)
{
    group *g = group_get(c, group_id);
    member *m = NULL;
    int rc = check_member(g, member_id, instance_id, &m);
    if (rc < 0) return rc;
    if (g->state == G_EMPTY) return SL_ERR_UNKNOWN_MEMBER;
    if (generation != g->generation) return SL_ERR_ILLEGAL_GENERATION;
    m->last_seen_ms = now_ms;
    if (g->state == G_PREPARING) return SL_ERR_REBALANCE_IN_PROGRESS;
    return 0;
}

bool sl_coord_group_exists(const sl_coord *c, sl_gstr group_id)
{
    const group *g = group_get(c, group_id);
    return g && g->state != G_DEAD;
}

int sl_coord_leave(sl_coord *c, sl_gstr group_id, sl_gstr member_id, sl_gstr instance_id,
                   int64_t now_ms)
{
    group *g = group_get(c, group_id);
    if (!g || g->state == G_DEAD) return SL_ERR_UNKNOWN_MEMBER;
    int32_t idx = -1;
    member *m = NULL;
    if (instance_id.len >= 0) {
        m = find_static(g, instance_id);
        if (!m) return SL_ERR_UNKNOWN_MEMBER;
        if (member_id.len > 0 && !gstr_eq(member_id, m->id)) return SL_ERR_FENCED_INSTANCE;
        find_member(g, gs(m->id), &idx);
    } else {
        int32_t pi = find_pending(g, member_id);
        if (pi >= 0) {
            remove_pending(g, pi);
            try_complete_join(c, g, now_ms);
            return 0;
        }
        m = find_member(g, member_id, &idx);
        if (!m) return SL_ERR_UNKNOWN_MEMBER;
    }
    SL_INFO("group", "member left group=%s member=%s", g->id, m->id);
    remove_member_at(c, g, idx, now_ms);
    membership_changed(c, g, now_ms, "member left");
    return 0;
}

/* ------------------------------------------------------------------ offsets */

static size_t offset_key(char *buf, size_t cap, sl_gstr topic, int32_t partition)
{
    size_t n = topic.len > 0 ? (size_t)topic.len : 0;
    if (n + 5 > cap) n = cap - 5;
    if (n) memcpy(buf, topic.ptr, n);
    buf[n] = '\0';
    sl_store_be32((uint8_t *)buf + n + 1, (uint32_t)partition);
    return n + 5;
}

static void set_offset(group *g, sl_gstr topic, int32_t partition, int64_t offset, int32_t epoch,
                       sl_gstr metadata, int64_t commit_ms)
{
    char key[512];
    size_t kl = offset_key(key, sizeof key, topic, partition);
    offset_entry *e = sl_map_get(&g->offsets, key, kl);
    if (!e) {
        e = SL_NEW(offset_entry);
        sl_map_put(&g->offsets, key, kl, e);
    }
    sl_free(e->metadata.p);
    e->offset = offset;
    e->leader_epoch = epoch;
    /* Null metadata is kept as "", as it is stored (and as Kafka answers). */
    e->metadata = dup_bytes(metadata.len < 0 ? (sl_gstr){"", 0} : metadata);
    e->commit_ms = commit_ms;
}

static void del_offset(group *g, sl_gstr topic, int32_t partition)
{
    char key[512];
    size_t kl = offset_key(key, sizeof key, topic, partition);
    offset_entry *e = sl_map_del(&g->offsets, key, kl);
    if (e) {
        sl_free(e->metadata.p);
        sl_free(e);
    }
}

static void commit_written(write_ctx *w, int status)
{
    if (status < 0) return;
    sl_coord *c = w->c;
    group *g = group_get(c, gs(w->group_id));
    if (!g) g = group_create(c, gs(w->group_id), w->now_ms);
    for (int32_t i = 0; i < w->noffsets; i++) {
        sl_commit_offset *o = &w->offsets[i];
        if (o->error) continue;
        set_offset(g, o->topic, o->partition, o->offset, o->leader_epoch, o->metadata, w->now_ms);
        c->stats.offsets_committed++;
    }
}

void sl_coord_commit(sl_coord *c, sl_commit_params *p, int64_t now_ms, sl_coord_done_cb cb,
                     void *arg)
{
    if (c->shutting_down) {
        cb(arg, SL_ERR_CLOSED);
        return;
    }
    if (p->group_id.len <= 0 || !valid_group_id(p->group_id)) {
        cb(arg, SL_ERR_INVALID_ARG);
        return;
    }
    group *g = group_get(c, p->group_id);
    /* Kafka's order of checks. Generation -1 is a "simple" commit (assign()
     * consumers, admin tools): fine while the group has no members. */
    int rc = 0;
    member *m = NULL;
    if (!g)
        rc = p->generation < 0 ? 0 : SL_ERR_ILLEGAL_GENERATION;
    else if (p->generation < 0 && g->state == G_EMPTY)
        rc = 0;
    else if (p->generation >= 0 || p->member_id.len > 0 || p->instance_id.len >= 0) {
        rc = check_member(g, p->member_id, p->instance_id, &m);
        if (rc == 0 && p->generation != g->generation) rc = SL_ERR_ILLEGAL_GENERATION;
        if (rc == 0 && g->state == G_COMPLETING) rc = SL_ERR_REBALANCE_IN_PROGRESS;
    } else
        rc = SL_ERR_UNKNOWN_MEMBER; /* a simple commit while the group has members */
    if (rc < 0) {
        cb(arg, rc);
        return;
    }
    if (m) m->last_seen_ms = now_ms;
    sl_batch_builder bb;
    begin_batch(c, &bb);
    int32_t n = 0;
    for (int32_t i = 0; i < p->noffsets; i++) {
        sl_commit_offset *o = &p->offsets[i];
        if (o->error) continue;
        if (o->metadata.len > c->cfg.offset_metadata_max_bytes) {
            o->error = SL_ERR_TOO_LARGE;
            continue;
        }
        sl_buf_reset(&c->rec);
        sl_grec_offset_key(&c->rec, p->group_id, o->topic, o->partition);
        size_t key_len = c->rec.len;
        sl_grec_offset_value(&c->rec, o->offset, o->leader_epoch, o->metadata, now_ms);
        add_record(c, &bb, now_ms, key_len, false);
        n++;
    }
    if (n == 0) {
        sl_buf_reset(&c->batch);
        cb(arg, 0);
        return;
    }
    write_ctx *w = new_write(c, "");
    sl_free(w->group_id);
    w->group_id = dup_gstr(p->group_id);
    w->apply = commit_written;
    w->cb = cb;
    w->arg = arg;
    w->offsets = p->offsets;
    w->noffsets = p->noffsets;
    w->now_ms = now_ms;
    if (sl_batch_builder_finish(&bb) < 0) {
        on_written(w, SL_ERR_INTERNAL);
        return;
    }
    write_batch(c, w->group_id, w);
}

int sl_coord_offset(const sl_coord *c, sl_gstr group_id, sl_gstr topic, int32_t partition,
                    int64_t *offset, int32_t *leader_epoch, sl_gstr *metadata)
{
    const group *g = group_get(c, group_id);
    if (!g) return SL_ERR_NOT_FOUND;
    char key[512];
    size_t kl = offset_key(key, sizeof key, topic, partition);
    const offset_entry *e = sl_map_get(&g->offsets, key, kl);
    if (!e) return SL_ERR_NOT_FOUND;
    *offset = e->offset;
    *leader_epoch = e->leader_epoch;
    *metadata = gb(e->metadata);
    return 0;
}

void sl_coord_visit_offsets(const sl_coord *c, sl_gstr group_id, sl_offset_visit_fn fn, void *arg)
{
    const group *g = group_get(c, group_id);
    if (!g) return;
    const void *k;
    size_t kl;
    void *v;
    for (size_t it = 0; sl_map_next(&g->offsets, &it, &k, &kl, &v);) {
        const offset_entry *e = v;
        const char *key = k;
        sl_gstr topic = {key, (int32_t)(kl - 5)};
        int32_t part = (int32_t)sl_load_be32((const uint8_t *)key + kl - 4);
        fn(arg, topic, part, e->offset, e->leader_epoch, gb(e->metadata));
    }
}

/* ------------------------------------------------------------ administration */

static void fill_info(const group *g, sl_group_info *info)
{
    info->group_id = gs(g->id);
    info->state = k_state_names[g->state];
    info->protocol_type = g->protocol_type ? gs(g->protocol_type) : (sl_gstr){"", 0};
    info->protocol_name = g->protocol_name ? gs(g->protocol_name) : (sl_gstr){"", 0};
    info->generation = g->generation;
    info->members = NULL;
    info->nmembers = 0;
}

void sl_coord_describe(sl_coord *c, sl_gstr group_id, sl_group_visit_fn fn, void *arg)
{
    group *g = group_get(c, group_id);
    sl_group_info info = {0};
    if (!g) {
        info.group_id = group_id;
        info.state = k_state_names[G_DEAD];
        info.protocol_type = (sl_gstr){"", 0};
        info.protocol_name = (sl_gstr){"", 0};
        fn(arg, &info);
        return;
    }
    fill_info(g, &info);
    /* As Kafka: the protocol is shown only once the group is Stable. */
    if (g->state != G_STABLE) info.protocol_name = (sl_gstr){"", 0};
    sl_group_member_info *ms = sl_calloc((size_t)(g->nmembers ? g->nmembers : 1), sizeof *ms);
    /* Membership is shown once a generation exists (as Kafka does in
     * PreparingRebalance, members are listed without assignments). */
    for (int32_t i = 0; i < g->nmembers; i++) {
        const member *m = g->members[i];
        const protocol *p = member_protocol(m, g->protocol_name);
        ms[i].member_id = gs(m->id);
        ms[i].instance_id = gs(m->instance_id);
        ms[i].client_id = m->client_id ? gs(m->client_id) : (sl_gstr){"", 0};
        ms[i].client_host = m->client_host ? gs(m->client_host) : (sl_gstr){"", 0};
        ms[i].metadata = p && g->state == G_STABLE ? gb(p->metadata) : (sl_gstr){"", 0};
        ms[i].assignment =
            g->state == G_STABLE && m->assignment.len >= 0 ? gb(m->assignment) : (sl_gstr){"", 0};
    }
    info.members = ms;
    info.nmembers = g->nmembers;
    fn(arg, &info);
    sl_free(ms);
}

void sl_coord_list(sl_coord *c, sl_group_visit_fn fn, void *arg)
{
    void *v;
    for (size_t it = 0; sl_map_next(&c->groups, &it, NULL, NULL, &v);) {
        sl_group_info info;
        fill_info(v, &info);
        fn(arg, &info);
    }
}

/* Writes tombstones for the listed offsets (all if partitions == NULL and
 * topic.len < 0) and, if `group_too`, for the group itself. */
static void write_tombstones(sl_coord *c, group *g, sl_gstr topic, const int32_t *partitions,
                             int32_t n, bool group_too, int64_t now_ms, write_ctx *w)
{
    sl_batch_builder bb;
    begin_batch(c, &bb);
    int32_t count = 0;
    const void *k;
    size_t kl;
    void *v;
    for (size_t it = 0; sl_map_next(&g->offsets, &it, &k, &kl, &v);) {
        const char *key = k;
        sl_gstr t = {key, (int32_t)(kl - 5)};
        int32_t part = (int32_t)sl_load_be32((const uint8_t *)key + kl - 4);
        if (topic.len >= 0) {
            if (t.len != topic.len || memcmp(t.ptr, topic.ptr, (size_t)t.len) != 0) continue;
            bool listed = false;
            for (int32_t i = 0; i < n && !listed; i++)
                listed = partitions[i] == part;
            if (!listed) continue;
        }
        sl_buf_reset(&c->rec);
        sl_grec_offset_key(&c->rec, gs(g->id), t, part);
        add_record(c, &bb, now_ms, c->rec.len, true);
        count++;
    }
    if (group_too) {
        sl_buf_reset(&c->rec);
        sl_grec_group_key(&c->rec, gs(g->id));
        add_record(c, &bb, now_ms, c->rec.len, true);
        count++;
    }
    if (count == 0 || sl_batch_builder_finish(&bb) < 0) {
        sl_buf_reset(&c->batch);
        on_written(w, 0);
        return;
    }
    write_batch(c, g->id, w);
}

int sl_coord_delete_group(sl_coord *c, sl_gstr group_id, int64_t now_ms, sl_coord_done_cb cb,
                          void *arg)
{
    group *g = group_get(c, group_id);
    if (!g || g->state == G_DEAD) return SL_ERR_NOT_FOUND;
    if (g->state != G_EMPTY) return SL_ERR_NOT_EMPTY;
    write_ctx *w = new_write(c, g->id);
    w->cb = cb;
    w->arg = arg;
    sl_map_del(&c->groups, g->id, strlen(g->id));
    c->stats.groups = sl_map_count(&c->groups);
    set_state(g, G_DEAD, now_ms);
    write_tombstones(c, g, (sl_gstr){NULL, -1}, NULL, 0, true, now_ms, w);
    SL_INFO("group", "group deleted group=%s", g->id);
    group_free(g);
    return 0;
}

bool sl_coord_subscribed(const sl_coord *c, sl_gstr group_id, sl_gstr topic)
{
    const group *g = group_get(c, group_id);
    if (!g || g->state == G_EMPTY || g->state == G_DEAD || !g->protocol_type ||
        strcmp(g->protocol_type, "consumer") != 0)
        return false;
    for (int32_t i = 0; i < g->nmembers; i++) {
        const protocol *p = member_protocol(g->members[i], g->protocol_name);
        if (!p || p->metadata.len < 2) continue;
        sl_reader r;
        sl_reader_init(&r, p->metadata.p, (size_t)p->metadata.len);
        int16_t version = sl_read_i16(&r);
        sl_arena a;
        sl_arena_init(&a, 1024, 1 << 20);
        ConsumerProtocolSubscription sub;
        bool found = false;
        if (ConsumerProtocolSubscription_decode(&r, &a, version > 3 ? 3 : version, &sub) == 0)
            for (int32_t t = 0; t < sub.Topics_count && !found; t++)
                found = sub.Topics[t].len == topic.len &&
                        memcmp(sub.Topics[t].ptr, topic.ptr, (size_t)topic.len) == 0;
        sl_arena_fini(&a);
        if (found) return true;
    }
    return false;
}

int sl_coord_delete_offsets(sl_coord *c, sl_gstr group_id, sl_gstr topic, const int32_t *partitions,
                            int32_t n, int64_t now_ms, sl_coord_done_cb cb, void *arg)
{
    group *g = group_get(c, group_id);
    if (!g || g->state == G_DEAD) return SL_ERR_NOT_FOUND;
    if (sl_coord_subscribed(c, group_id, topic)) return SL_ERR_NOT_EMPTY;
    write_ctx *w = new_write(c, g->id);
    w->cb = cb;
    w->arg = arg;
    write_tombstones(c, g, topic, partitions, n, false, now_ms, w);
    for (int32_t i = 0; i < n; i++)
        del_offset(g, topic, partitions[i]);
    return 0;
}

/* -------------------------------------------------------------------- timers */

static void expire_offsets(sl_coord *c, group *g, int64_t now_ms)
{
    if (g->state != G_EMPTY || c->cfg.offsets_retention_ms <= 0) return;
    bool any = false;
    void *v;
    for (size_t it = 0; sl_map_next(&g->offsets, &it, NULL, NULL, &v);) {
        const offset_entry *e = v;
        int64_t base = e->commit_ms > g->state_ms ? e->commit_ms : g->state_ms;
        if (now_ms - base >= c->cfg.offsets_retention_ms) {
            any = true;
            break;
        }
    }
    if (!any && sl_map_count(&g->offsets) > 0) return;
    /* Expire those past retention; a group with nothing left is removed. */
    int32_t n = 0;
    sl_batch_builder bb;
    begin_batch(c, &bb);
    const void *k;
    size_t kl;
    for (size_t it = 0; sl_map_next(&g->offsets, &it, &k, &kl, &v);) {
        offset_entry *e = v;
        int64_t base = e->commit_ms > g->state_ms ? e->commit_ms : g->state_ms;
        if (now_ms - base < c->cfg.offsets_retention_ms) continue;
        const char *key = k;
        sl_gstr t = {key, (int32_t)(kl - 5)};
        int32_t part = (int32_t)sl_load_be32((const uint8_t *)key + kl - 4);
        sl_buf_reset(&c->rec);
        sl_grec_offset_key(&c->rec, gs(g->id), t, part);
        add_record(c, &bb, now_ms, c->rec.len, true);
        sl_map_del(&g->offsets, key, kl);
        sl_free(e->metadata.p);
        sl_free(e);
        n++;
        c->stats.offsets_expired++;
    }
    bool remove =
        sl_map_count(&g->offsets) == 0 && now_ms - g->state_ms >= c->cfg.offsets_retention_ms;
    if (remove) {
        sl_buf_reset(&c->rec);
        sl_grec_group_key(&c->rec, gs(g->id));
        add_record(c, &bb, now_ms, c->rec.len, true);
        n++;
    }
    if (n > 0 && sl_batch_builder_finish(&bb) >= 0)
        write_batch(c, g->id, new_write(c, g->id));
    else
        sl_buf_reset(&c->batch);
    if (remove) {
        SL_INFO("group", "group expired group=%s", g->id);
        sl_map_del(&c->groups, g->id, strlen(g->id));
        c->stats.groups = sl_map_count(&c->groups);
        set_state(g, G_DEAD, now_ms);
        group_free(g);
    }
}

void sl_coord_tick(sl_coord *c, int64_t now_ms)
{
    void *v;
    for (size_t it = 0; sl_map_next(&c->groups, &it, NULL, NULL, &v);) {
        group *g = v;
        /* Pending (MEMBER_ID_REQUIRED) members that never came back were
         * never part of a generation: forgetting them only matters to a
         * rebalance that waits for them, and is no reason to start one. */
        bool changed = false, pending_gone = false;
        for (int32_t i = g->npending - 1; i >= 0; i--)
            if (now_ms >= g->pending[i].deadline_ms) {
                remove_pending(g, i);
                pending_gone = true;
            }
        /* session timeouts; a member parked in Join/Sync is alive */
        for (int32_t i = g->nmembers - 1; i >= 0; i--) {
            member *m = g->members[i];
            if (m->join_cb || m->sync_cb) continue;
            if (now_ms - m->last_seen_ms > m->session_timeout_ms) {
                SL_INFO("group", "member session expired group=%s member=%s", g->id, m->id);
                c->stats.members_expired++;
                remove_member_at(c, g, i, now_ms);
                changed = true;
            }
        }
        if (changed)
            membership_changed(c, g, now_ms, "member session expired");
        else if (pending_gone)
            try_complete_join(c, g, now_ms);
        if (g->state == G_PREPARING) {
            if (g->initial_delay_deadline_ms && now_ms >= g->initial_delay_deadline_ms)
                g->initial_delay_deadline_ms = 0;
            try_complete_join(c, g, now_ms);
            if (g->state == G_PREPARING && !g->initial_delay_deadline_ms &&
                now_ms >= g->rebalance_deadline_ms)
                complete_join(c, g, now_ms);
        }
        if (g->state == G_EMPTY) expire_offsets(c, g, now_ms); /* may free g: last use */
    }
}

void sl_coord_get_stats(const sl_coord *c, sl_coord_stats *out)
{
    *out = c->stats;
}

/* ------------------------------------------------------------------ loading */

static int load_group(sl_coord *c, sl_gstr id, const uint8_t *value, int32_t len, int64_t now_ms)
{
    group *g = group_get(c, id);
    if (!value || len < 0) { /* tombstone */
        if (g) {
            sl_map_del(&c->groups, g->id, strlen(g->id));
            c->stats.groups = sl_map_count(&c->groups);
            group_free(g);
        }
        return 0;
    }
    sl_reader r;
    sl_reader_init(&r, value, (size_t)len);
    sl_grec_group h;
    int rc = sl_grec_decode_group(&r, &h);
    if (rc < 0) return rc;
    /* The whole record is checked before the group changes: a damaged one
     * leaves the previous state as it was. Members need the protocol they
     * were assigned under. */
    if (h.nmembers > 0 && h.protocol.len < 0) return SL_ERR_CORRUPT;
    sl_reader check = r;
    sl_grec_member rm;
    for (int32_t i = 0; i < h.nmembers; i++)
        if (sl_grec_next_member(&check, &rm) < 0) return SL_ERR_CORRUPT;
    if (sl_reader_left(&check) != 0) return SL_ERR_CORRUPT;

    if (!g) g = group_create(c, id, now_ms);
    for (int32_t i = 0; i < g->nmembers; i++)
        member_free(g->members[i]);
    g->nmembers = 0;
    sl_free(g->protocol_type);
    sl_free(g->protocol_name);
    sl_free(g->leader);
    g->protocol_type = h.protocol_type.len > 0 ? dup_gstr(h.protocol_type) : NULL;
    g->protocol_name = dup_gstr(h.protocol);
    g->leader = NULL;
    g->generation = h.generation;
    g->state_ms = h.state_ms;
    for (int32_t i = 0; i < h.nmembers; i++) {
        sl_grec_next_member(&r, &rm);
        member *m = SL_NEW(member);
        m->id = dup_gstr(rm.member_id);
        m->instance_id = dup_gstr(rm.instance_id);
        m->client_id = dup_gstr(rm.client_id);
        m->client_host = dup_gstr(rm.client_host);
        m->rebalance_timeout_ms = rm.rebalance_timeout_ms;
        m->session_timeout_ms = rm.session_timeout_ms;
        sl_join_protocol jp = {gs(g->protocol_name), rm.subscription};
        member_set_protocols(m, &jp, 1);
        m->assignment = dup_bytes(rm.assignment);
        add_member(g, m);
    }
    /* A leader that is not a member would never be asked for an assignment;
     * the next rebalance picks one. */
    if (h.leader.len >= 0 && find_member(g, h.leader, NULL)) g->leader = dup_gstr(h.leader);
    g->state = g->nmembers > 0 ? G_STABLE : G_EMPTY;
    return 0;
}

int sl_coord_load_record(sl_coord *c, const uint8_t *key, int32_t key_len, const uint8_t *value,
                         int32_t value_len, int64_t now_ms)
{
    sl_grec_key k;
    int rc = sl_grec_decode_key(key, key_len, &k);
    if (rc < 0) return rc;
    if (!valid_group_id(k.group)) return SL_ERR_CORRUPT;
    c->stats.records_loaded++;
    if (k.version == SL_GREC_KEY_GROUP) return load_group(c, k.group, value, value_len, now_ms);
    group *g = group_get(c, k.group);
    if (!value || value_len < 0) {
        if (g) del_offset(g, k.topic, k.partition);
        return 0;
    }
    sl_grec_offset o;
    rc = sl_grec_decode_offset(value, value_len, &o);
    if (rc < 0) return rc;
    if (!g) g = group_create(c, k.group, now_ms);
    set_offset(g, k.topic, k.partition, o.offset, o.leader_epoch, o.metadata, o.commit_ms);
    return 0;
}

void sl_coord_loaded(sl_coord *c, int64_t now_ms)
{
    void *v;
    for (size_t it = 0; sl_map_next(&c->groups, &it, NULL, NULL, &v);) {
        group *g = v;
        /* Loaded members get a full session timeout to show up again. */
        for (int32_t i = 0; i < g->nmembers; i++)
            g->members[i]->last_seen_ms = now_ms;
        if (g->state == G_EMPTY && g->state_ms == 0) g->state_ms = now_ms;
    }
}
