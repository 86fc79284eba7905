/* Unit tests for src/group/coordinator: sl_coord driven directly with a fake
 * in-memory store and a fake clock.
 *
 * The fake store keeps a copy of every batch the coordinator appends and
 * completes each write immediately, on demand, or with an error, so the
 * tests can check that answers wait for durability. At the end of most
 * tests every batch that was stored successfully is decoded (record/iter.h)
 * and replayed into a fresh coordinator through sl_coord_load_record; the
 * groups, members and offsets that come back must equal the live ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "group/coordinator.h"
#include "group/records.h"
#include "record/builder.h"
#include "record/iter.h"

#define T0 1700000000000LL /* the fake clock starts here (ms) */

/* ------------------------------------------------------------- fake store */

enum store_mode { STORE_IMMEDIATE, STORE_DEFERRED };

typedef struct stored_batch {
    int32_t partition;
    uint8_t *data;
    size_t len;
    int status; /* 1 = write pending, 0 = durable, < 0 = failed */
} stored_batch;

typedef struct pending_write {
    size_t batch;
    sl_coord_done_cb done;
    void *arg;
} pending_write;

typedef struct fake_store {
    enum store_mode mode;
    int append_error;    /* append returns this (nothing stored) when < 0 */
    int complete_status; /* immediate mode completes with this */
    stored_batch *batches;
    size_t nbatches, cap;
    pending_write *pending;
    size_t npending, pcap;
} fake_store;

static int fake_append(void *ctx, int32_t partition, uint8_t *batch, size_t len,
                       sl_coord_done_cb done, void *arg)
{
    fake_store *s = ctx;
    if (s->append_error < 0) return s->append_error;
    if (s->nbatches == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->batches = sl_realloc(s->batches, s->cap * sizeof *s->batches);
    }
    stored_batch *b = &s->batches[s->nbatches++];
    b->partition = partition;
    b->data = sl_malloc(len);
    memcpy(b->data, batch, len);
    b->len = len;
    if (s->mode == STORE_IMMEDIATE) {
        b->status = s->complete_status;
        done(arg, s->complete_status);
        return 0;
    }
    b->status = 1;
    if (s->npending == s->pcap) {
        s->pcap = s->pcap ? s->pcap * 2 : 16;
        s->pending = sl_realloc(s->pending, s->pcap * sizeof *s->pending);
    }
    s->pending[s->npending++] = (pending_write){s->nbatches - 1, done, arg};
    return 0;
}

/* Completes the oldest pending write with `status`; false if none. */
static bool store_complete_one(fake_store *s, int status)
{
    if (s->npending == 0) return false;
    pending_write w = s->pending[0];
    memmove(s->pending, s->pending + 1, (s->npending - 1) * sizeof *s->pending);
    s->npending--;
    s->batches[w.batch].status = status;
    w.done(w.arg, status);
    return true;
}

static void store_complete_all(fake_store *s, int status)
{
    while (store_complete_one(s, status)) {
    }
}

static void store_fini(fake_store *s)
{
    for (size_t i = 0; i < s->nbatches; i++)
        sl_free(s->batches[i].data);
    sl_free(s->batches);
    sl_free(s->pending);
    memset(s, 0, sizeof *s);
}

/* Counts the records of the durable batches whose key has this version and
 * whose value is null (tombstone) or not. */
static int count_records(const fake_store *s, int16_t key_version, bool tombstones,
                         const char *group)
{
    int n = 0;
    for (size_t i = 0; i < s->nbatches; i++) {
        if (s->batches[i].status != 0) continue;
        sl_batch_iter bi;
        sl_batch_iter_init(&bi, s->batches[i].data, s->batches[i].len, true);
        sl_batch_header h;
        const uint8_t *batch;
        while (sl_batch_iter_next(&bi, &h, &batch) > 0) {
            sl_record_iter ri;
            assert_int_equal(sl_record_iter_init(&ri, batch, &h, NULL, 0), 0);
            sl_record r;
            while (sl_record_iter_next(&ri, &r) > 0) {
                sl_grec_key k;
                assert_int_equal(sl_grec_decode_key(r.key, r.key_len, &k), 0);
                if (k.version != key_version || (r.value_len < 0) != tombstones) continue;
                if (group && ((size_t)k.group.len != strlen(group) ||
                              memcmp(k.group.ptr, group, strlen(group)) != 0))
                    continue;
                n++;
            }
        }
    }
    return n;
}

/* ---------------------------------------------------------------- fixture */

typedef struct fx {
    fake_store store;
    sl_coord_config cfg;
    sl_coord *c;
    int64_t now;
} fx;

static void fx_config(sl_coord_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->offsets_partitions = 50;
    cfg->initial_rebalance_delay_ms = 0;
    cfg->min_session_timeout_ms = 6000;
    cfg->max_session_timeout_ms = 300000;
    cfg->max_size = 1000;
    cfg->offsets_retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->offset_metadata_max_bytes = 4096;
}

static sl_coord *new_coord(fx *f)
{
    sl_coord_store st = {&f->store, fake_append};
    return sl_coord_new(&f->cfg, &st);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    fx_config(&f->cfg);
    f->now = T0;
    f->c = new_coord(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    sl_coord_free(f->c);
    store_fini(&f->store);
    free(f);
    return 0;
}

/* Recreates the coordinator with f->cfg (after a test changed it). */
static void fx_reconfigure(fx *f)
{
    sl_coord_free(f->c);
    store_fini(&f->store);
    f->c = new_coord(f);
}

static sl_gstr S(const char *s)
{
    return (sl_gstr){s, s ? (int32_t)strlen(s) : -1};
}

static const sl_gstr NOSTR = {NULL, -1};

/* ---------------------------------------------------------------- members */

#define MAXM  8
#define IDLEN 200

typedef struct blob {
    char p[IDLEN];
    int32_t len; /* -1 = null */
} blob;

static void blob_set(blob *b, sl_gstr s)
{
    b->len = s.len;
    memset(b->p, 0, sizeof b->p);
    if (s.len > 0) {
        assert_true((size_t)s.len < sizeof b->p);
        memcpy(b->p, s.ptr, (size_t)s.len);
    }
}

static bool blob_is(const blob *b, const char *s)
{
    return b->len >= 0 && (size_t)b->len == strlen(s) && memcmp(b->p, s, (size_t)b->len) == 0;
}

static bool blob_eq(const blob *a, const blob *b)
{
    return a->len == b->len && (a->len <= 0 || memcmp(a->p, b->p, (size_t)a->len) == 0);
}

typedef struct join_out {
    int calls;
    int error;
    bool bad_session_timeout;
    int32_t generation;
    char protocol_type[64];
    char protocol_name[64];
    char leader[IDLEN];
    char member_id[IDLEN];
    bool skip;
    int32_t nmembers;
    char members[MAXM][IDLEN];
    char instances[MAXM][64];
    blob metadata[MAXM];
} join_out;

typedef struct sync_out {
    int calls;
    int error;
    char protocol_name[64];
    blob assignment;
} sync_out;

typedef struct mem {
    const char *client;
    const char *instance; /* NULL: dynamic */
    const char *ptype;
    char id[IDLEN];
    int32_t generation;
    int32_t session_ms, rebalance_ms;
    const char *protos[3];
    sl_gstr metas[3];
    int nprotos;
    join_out j;
    sync_out s;
} mem;

static void copy_gstr(char *dst, size_t cap, sl_gstr s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    assert_true(n < cap);
    if (n) memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static void on_join(void *arg, const sl_join_result *r)
{
    join_out *o = arg;
    int calls = o->calls;
    memset(o, 0, sizeof *o);
    o->calls = calls + 1;
    o->error = r->error;
    o->bad_session_timeout = r->bad_session_timeout;
    o->generation = r->generation;
    copy_gstr(o->protocol_type, sizeof o->protocol_type, r->protocol_type);
    copy_gstr(o->protocol_name, sizeof o->protocol_name, r->protocol_name);
    copy_gstr(o->leader, sizeof o->leader, r->leader);
    copy_gstr(o->member_id, sizeof o->member_id, r->member_id);
    o->skip = r->skip_assignment;
    assert_true(r->nmembers <= MAXM);
    o->nmembers = r->nmembers;
    for (int32_t i = 0; i < r->nmembers; i++) {
        copy_gstr(o->members[i], sizeof o->members[i], r->members[i].member_id);
        copy_gstr(o->instances[i], sizeof o->instances[i], r->members[i].instance_id);
        blob_set(&o->metadata[i], r->members[i].metadata);
    }
}

static void on_sync(void *arg, const sl_sync_result *r)
{
    sync_out *o = arg;
    o->calls++;
    o->error = r->error;
    copy_gstr(o->protocol_name, sizeof o->protocol_name, r->protocol_name);
    blob_set(&o->assignment, r->assignment);
}

static void mem_init(mem *m, const char *client, const char *instance)
{
    memset(m, 0, sizeof *m);
    m->client = client;
    m->instance = instance;
    m->ptype = "consumer";
    m->session_ms = 10000;
    m->rebalance_ms = 30000;
    m->protos[0] = "range";
    m->metas[0] = S(client); /* distinct metadata per member */
    m->nprotos = 1;
    m->generation = -1;
}

static void mem_protocols(mem *m, const char *p0, const char *p1, const char *p2)
{
    const char *ps[3] = {p0, p1, p2};
    m->nprotos = 0;
    for (int i = 0; i < 3 && ps[i]; i++) {
        m->protos[i] = ps[i];
        m->nprotos++;
    }
}

/* Sends a JoinGroup with the member's current id: v9 semantics, or v0-3
 * (no MEMBER_ID_REQUIRED, no skip-assignment) when `legacy`. The answer
 * lands in m->j, maybe later. */
static void join_req_v(fx *f, const char *group, mem *m, bool legacy)
{
    sl_join_protocol ps[3];
    for (int i = 0; i < m->nprotos; i++)
        ps[i] = (sl_join_protocol){S(m->protos[i]), m->metas[i]};
    sl_join_params p = {
        .group_id = S(group),
        .member_id = S(m->id),
        .instance_id = m->instance ? S(m->instance) : NOSTR,
        .client_id = S(m->client),
        .client_host = S("/127.0.0.1"),
        .session_timeout_ms = m->session_ms,
        .rebalance_timeout_ms = m->rebalance_ms,
        .protocol_type = S(m->ptype),
        .protocols = ps,
        .nprotocols = m->nprotos,
        .require_known_member_id = !legacy,
        .supports_skip_assignment = !legacy,
    };
    m->j.calls = 0;
    sl_coord_join(f->c, &p, f->now, on_join, &m->j);
}

static void join_req(fx *f, const char *group, mem *m)
{
    join_req_v(f, group, m, false);
}

/* Takes the result of an answered join: member id and generation. */
static void join_take(mem *m)
{
    assert_int_equal(m->j.calls, 1);
    assert_int_equal(m->j.error, 0);
    strcpy(m->id, m->j.member_id);
    m->generation = m->j.generation;
}

/* A new member's first join: a dynamic member gets MEMBER_ID_REQUIRED with
 * its id and joins again with it (that second join may park). */
static void join_new(fx *f, const char *group, mem *m)
{
    m->id[0] = '\0';
    join_req(f, group, m);
    if (!m->instance) {
        assert_int_equal(m->j.calls, 1);
        assert_int_equal(m->j.error, SL_ERR_MEMBER_ID_REQUIRED);
        assert_int_equal(m->j.generation, -1);
        assert_true(strncmp(m->j.member_id, m->client, strlen(m->client)) == 0);
        assert_true(m->j.member_id[strlen(m->client)] == '-');
        assert_int_equal(strlen(m->j.member_id), strlen(m->client) + 37); /* "-" + UUID */
        strcpy(m->id, m->j.member_id);
        join_req(f, group, m);
    }
}

static void sync_req(fx *f, const char *group, mem *m, const sl_sync_assignment *as, int32_t n)
{
    sl_sync_params p = {
        .group_id = S(group),
        .generation = m->generation,
        .member_id = S(m->id),
        .instance_id = m->instance ? S(m->instance) : NOSTR,
        .protocol_type = S(m->ptype),
        .protocol_name = NOSTR,
        .assignments = as,
        .nassignments = n,
    };
    m->s.calls = 0;
    sl_coord_sync(f->c, &p, f->now, on_sync, &m->s);
}

static int heartbeat(fx *f, const char *group, const mem *m)
{
    return sl_coord_heartbeat(f->c, S(group), m->generation, S(m->id),
                              m->instance ? S(m->instance) : NOSTR, f->now);
}

/* Group state as DescribeGroups shows it. */
typedef struct dmember {
    blob id, instance, client, host, metadata, assignment;
} dmember;

typedef struct desc_out {
    char id[64];
    char state[32];
    int32_t generation;
    char protocol_type[32];
    char protocol_name[32];
    int32_t nmembers;
    dmember members[MAXM];
} desc_out;

static int cmp_dmember(const void *a, const void *b)
{
    return strcmp(((const dmember *)a)->id.p, ((const dmember *)b)->id.p);
}

static void on_describe(void *arg, const sl_group_info *g)
{
    desc_out *d = arg;
    memset(d, 0, sizeof *d);
    copy_gstr(d->id, sizeof d->id, g->group_id);
    snprintf(d->state, sizeof d->state, "%s", g->state);
    d->generation = g->generation;
    copy_gstr(d->protocol_type, sizeof d->protocol_type, g->protocol_type);
    copy_gstr(d->protocol_name, sizeof d->protocol_name, g->protocol_name);
    assert_true(g->nmembers <= MAXM);
    d->nmembers = g->nmembers;
    for (int32_t i = 0; i < g->nmembers; i++) {
        dmember *m = &d->members[i];
        blob_set(&m->id, g->members[i].member_id);
        blob_set(&m->instance, g->members[i].instance_id);
        blob_set(&m->client, g->members[i].client_id);
        blob_set(&m->host, g->members[i].client_host);
        blob_set(&m->metadata, g->members[i].metadata);
        blob_set(&m->assignment, g->members[i].assignment);
    }
    qsort(d->members, (size_t)d->nmembers, sizeof *d->members, cmp_dmember);
}

static desc_out describe_c(sl_coord *c, const char *group)
{
    desc_out d;
    sl_coord_describe(c, S(group), on_describe, &d);
    return d;
}

static desc_out describe(fx *f, const char *group)
{
    return describe_c(f->c, group);
}

static const dmember *member_of(const desc_out *d, const char *member_id)
{
    for (int32_t i = 0; i < d->nmembers; i++)
        if (blob_is(&d->members[i].id, member_id)) return &d->members[i];
    return NULL;
}

static sl_coord_stats stats(fx *f)
{
    sl_coord_stats st;
    sl_coord_get_stats(f->c, &st);
    return st;
}

/* Joins n new members; those answered before the last one arrived rejoin,
 * so everyone ends up in one generation. */
static void join_all(fx *f, const char *group, mem **ms, int n)
{
    for (int i = 0; i < n; i++)
        join_new(f, group, ms[i]);
    for (int i = 0; i < n - 1; i++)
        if (ms[i]->j.calls == 1) {
            assert_int_equal(ms[i]->j.error, 0);
            strcpy(ms[i]->id, ms[i]->j.member_id);
            join_req(f, group, ms[i]);
        }
    for (int i = 0; i < n; i++)
        join_take(ms[i]);
    for (int i = 1; i < n; i++)
        assert_int_equal(ms[i]->generation, ms[0]->generation);
}

static mem *leader_of(mem **ms, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ms[i]->j.leader, ms[i]->id) == 0) return ms[i];
    return NULL;
}

/* After join_all: the leader hands out "a-<client>" to each member; the
 * store completes; everyone gets its share and the group is Stable. */
static void sync_all(fx *f, const char *group, mem **ms, int n)
{
    mem *leader = leader_of(ms, n);
    assert_non_null(leader);
    assert_int_equal(leader->j.nmembers, n);
    sl_sync_assignment as[MAXM];
    char bufs[MAXM][64];
    for (int i = 0; i < n; i++) {
        snprintf(bufs[i], sizeof bufs[i], "a-%s", ms[i]->client);
        as[i] = (sl_sync_assignment){S(ms[i]->id), S(bufs[i])};
    }
    for (int i = 0; i < n; i++)
        if (ms[i] != leader) sync_req(f, group, ms[i], NULL, 0);
    sync_req(f, group, leader, as, n);
    store_complete_all(&f->store, 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(ms[i]->s.calls, 1);
        assert_int_equal(ms[i]->s.error, 0);
        assert_true(blob_is(&ms[i]->s.assignment, bufs[i]));
    }
    assert_string_equal(describe(f, group).state, "Stable");
}

static void form_group(fx *f, const char *group, mem **ms, int n)
{
    join_all(f, group, ms, n);
    sync_all(f, group, ms, n);
}

/* ---------------------------------------------------------------- offsets */

typedef struct commit_op {
    sl_commit_offset o[4];
    int32_t n;
    int calls;
    int status;
} commit_op;

static void on_done(void *arg, int status)
{
    commit_op *op = arg;
    op->calls++;
    op->status = status;
}

static void commit_add(commit_op *op, const char *topic, int32_t partition, int64_t offset,
                       const char *metadata)
{
    assert_true(op->n < 4);
    op->o[op->n++] =
        (sl_commit_offset){S(topic), partition, offset, 7, metadata ? S(metadata) : NOSTR, 0};
}

/* Commits what `op` holds; op must outlive a deferred write. */
static void commit_send(fx *f, const char *group, int32_t generation, const char *member,
                        const char *instance, commit_op *op)
{
    sl_commit_params p = {S(group), generation, S(member), instance ? S(instance) : NOSTR,
                          op->o,    op->n};
    op->calls = 0;
    op->status = 1;
    sl_coord_commit(f->c, &p, f->now, on_done, op);
}

/* One offset, store completing at once: the callback status. */
static int commit1(fx *f, const char *group, int32_t generation, const char *member,
                   const char *instance, const char *topic, int32_t partition, int64_t offset)
{
    commit_op op = {0};
    commit_add(&op, topic, partition, offset, "md");
    commit_send(f, group, generation, member, instance, &op);
    store_complete_all(&f->store, 0);
    assert_int_equal(op.calls, 1);
    return op.status != 0 ? op.status : op.o[0].error;
}

static int commit_member(fx *f, const char *group, const mem *m, const char *topic,
                         int32_t partition, int64_t offset)
{
    return commit1(f, group, m->generation, m->id, m->instance, topic, partition, offset);
}

static int64_t committed(fx *f, const char *group, const char *topic, int32_t partition)
{
    int64_t off;
    int32_t epoch;
    sl_gstr md;
    if (sl_coord_offset(f->c, S(group), S(topic), partition, &off, &epoch, &md) < 0) return -1;
    return off;
}

/* ------------------------------------------------------------------ replay */

typedef struct off_snap {
    char topic[64];
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    blob metadata;
} off_snap;

typedef struct group_snap {
    desc_out d;
    off_snap offs[64];
    int noffs;
} group_snap;

typedef struct coord_snap {
    group_snap g[32];
    int n;
} coord_snap;

static void on_list(void *arg, const sl_group_info *g)
{
    coord_snap *s = arg;
    assert_true(s->n < 32);
    copy_gstr(s->g[s->n].d.id, sizeof s->g[s->n].d.id, g->group_id);
    s->n++;
}

static void on_offset(void *arg, sl_gstr topic, int32_t partition, int64_t offset,
                      int32_t leader_epoch, sl_gstr metadata)
{
    group_snap *g = arg;
    assert_true(g->noffs < 64);
    off_snap *o = &g->offs[g->noffs++];
    copy_gstr(o->topic, sizeof o->topic, topic);
    o->partition = partition;
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    blob_set(&o->metadata, metadata);
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const group_snap *)a)->d.id, ((const group_snap *)b)->d.id);
}

static int cmp_off(const void *a, const void *b)
{
    const off_snap *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Everything durable about a coordinator: groups (state, generation,
 * protocol, members) and offsets. Groups with nothing durable (created by a
 * join that went no further) are left out. */
static coord_snap *snapshot(sl_coord *c)
{
    coord_snap *s = calloc(1, sizeof *s);
    sl_coord_list(c, on_list, s);
    int kept = 0;
    for (int i = 0; i < s->n; i++) {
        group_snap *g = &s->g[i];
        char id[64];
        strcpy(id, g->d.id);
        g->d = describe_c(c, id);
        g->noffs = 0;
        sl_coord_visit_offsets(c, S(id), on_offset, g);
        qsort(g->offs, (size_t)g->noffs, sizeof *g->offs, cmp_off);
        if (g->d.generation == 0 && g->d.nmembers == 0 && g->noffs == 0) continue;
        if (kept != i) s->g[kept] = *g;
        kept++;
    }
    s->n = kept;
    qsort(s->g, (size_t)s->n, sizeof *s->g, cmp_group);
    return s;
}

static void assert_snap_equal(const coord_snap *a, const coord_snap *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        const desc_out *x = &a->g[i].d, *y = &b->g[i].d;
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->state, y->state);
        assert_int_equal(x->generation, y->generation);
        assert_string_equal(x->protocol_type, y->protocol_type);
        assert_string_equal(x->protocol_name, y->protocol_name);
        assert_int_equal(x->nmembers, y->nmembers);
        for (int32_t k = 0; k < x->nmembers; k++) {
            const dmember *p = &x->members[k], *q = &y->members[k];
            assert_true(blob_eq(&p->id, &q->id));
            assert_true(blob_eq(&p->instance, &q->instance));
            assert_true(blob_eq(&p->client, &q->client));
            assert_true(blob_eq(&p->host, &q->host));
            assert_true(blob_eq(&p->metadata, &q->metadata));
            assert_true(blob_eq(&p->assignment, &q->assignment));
        }
        assert_int_equal(a->g[i].noffs, b->g[i].noffs);
        for (int k = 0; k < a->g[i].noffs; k++) {
            const off_snap *p = &a->g[i].offs[k], *q = &b->g[i].offs[k];
            assert_string_equal(p->topic, q->topic);
            assert_int_equal(p->partition, q->partition);
            assert_int_equal(p->offset, q->offset);
            assert_int_equal(p->leader_epoch, q->leader_epoch);
            assert_true(blob_eq(&p->metadata, &q->metadata));
        }
    }
}

/* Feeds every durable batch of `s` (in append order) to a new coordinator,
 * as the broker does at startup. */
static sl_coord *replay(const fake_store *s, const sl_coord_config *cfg, fake_store *into,
                        int64_t now_ms)
{
    sl_coord_store st = {into, fake_append};
    sl_coord *c = sl_coord_new(cfg, &st);
    for (size_t i = 0; i < s->nbatches; i++) {
        if (s->batches[i].status != 0) continue;
        sl_batch_iter bi;
        sl_batch_iter_init(&bi, s->batches[i].data, s->batches[i].len, true);
        sl_batch_header h;
        const uint8_t *batch;
        int nb = 0;
        while (sl_batch_iter_next(&bi, &h, &batch) > 0) {
            nb++;
            sl_record_iter ri;
            assert_int_equal(sl_record_iter_init(&ri, batch, &h, NULL, 0), 0);
            sl_record r;
            int rc;
            while ((rc = sl_record_iter_next(&ri, &r)) > 0)
                assert_int_equal(
                    sl_coord_load_record(c, r.key, r.key_len, r.value, r.value_len, now_ms), 0);
            assert_int_equal(rc, 0);
        }
        assert_int_equal(nb, 1);
        assert_false(bi.truncated);
        assert_int_equal(bi.err, 0);
    }
    sl_coord_loaded(c, now_ms);
    assert_int_equal(into->nbatches, 0); /* loading writes nothing */
    return c;
}

/* The durable state replayed into a fresh coordinator equals the live one. */
static void check_replay(fx *f)
{
    fake_store into = {0};
    sl_coord *c2 = replay(&f->store, &f->cfg, &into, f->now);
    coord_snap *a = snapshot(f->c), *b = snapshot(c2);
    assert_snap_equal(a, b);
    free(a);
    free(b);
    sl_coord_free(c2);
    store_fini(&into);
}

/* Every batch of a group went to the group's partition. */
static void check_partitions(fx *f)
{
    for (size_t i = 0; i < f->store.nbatches; i++) {
        const stored_batch *b = &f->store.batches[i];
        sl_batch_iter bi;
        sl_batch_iter_init(&bi, b->data, b->len, true);
        sl_batch_header h;
        const uint8_t *batch;
        while (sl_batch_iter_next(&bi, &h, &batch) > 0) {
            sl_record_iter ri;
            assert_int_equal(sl_record_iter_init(&ri, batch, &h, NULL, 0), 0);
            sl_record r;
            while (sl_record_iter_next(&ri, &r) > 0) {
                sl_grec_key k;
                assert_int_equal(sl_grec_decode_key(r.key, r.key_len, &k), 0);
                assert_int_equal(b->partition,
                                 sl_coord_partition_for(f->c, k.group.ptr, (size_t)k.group.len));
            }
        }
    }
}

/* ------------------------------------------------------------------- tests */

static void test_partition_for(void **state)
{
    fx *f = *state;
    /* Kafka's rule: abs(String.hashCode) % partitions */
    assert_int_equal(sl_coord_partition_for(f->c, "my-group", 8), 12);
    assert_int_equal(sl_coord_partition_for(f->c, "test-group", 10), 12);
    assert_int_equal(sl_coord_partition_for(f->c, "console-consumer-12345", 22), 6);
    /* hashCode == Integer.MIN_VALUE maps to partition 0 */
    assert_int_equal(sl_coord_partition_for(f->c, "polygenelubricants", 18), 0);
    assert_int_equal(sl_coord_partition_for(f->c, "", 0), 0);
}

static void test_join_member_id_required(void **state)
{
    fx *f = *state;
    mem a;
    mem_init(&a, "client-a", NULL);
    join_req(f, "g", &a);
    assert_int_equal(a.j.calls, 1);
    assert_int_equal(a.j.error, SL_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(a.j.generation, -1);
    assert_true(strncmp(a.j.member_id, "client-a-", 9) == 0);
    strcpy(a.id, a.j.member_id);
    /* a pending member is not a member yet */
    desc_out d = describe(f, "g");
    assert_string_equal(d.state, "Empty");
    assert_int_equal(d.nmembers, 0);

    join_req(f, "g", &a);
    assert_int_equal(a.j.calls, 1);
    assert_int_equal(a.j.error, 0);
    assert_int_equal(a.j.generation, 1);
    assert_string_equal(a.j.member_id, a.id);
    assert_string_equal(a.j.leader, a.id);
    assert_string_equal(a.j.protocol_type, "consumer");
    assert_string_equal(a.j.protocol_name, "range");
    assert_int_equal(a.j.nmembers, 1);
    assert_string_equal(a.j.members[0], a.id);
    assert_true(blob_is(&a.j.metadata[0], "client-a"));
    join_take(&a);
    d = describe(f, "g");
    assert_string_equal(d.state, "CompletingRebalance");
    assert_int_equal(d.generation, 1);
    assert_int_equal(d.nmembers, 1);
    assert_string_equal(d.protocol_name, ""); /* shown once Stable, as Kafka does */

    /* an id the group never handed out */
    mem x;
    mem_init(&x, "x", NULL);
    strcpy(x.id, "x-not-a-member");
    join_req(f, "g", &x);
    assert_int_equal(x.j.error, SL_ERR_UNKNOWN_MEMBER);
    join_req(f, "no-such-group", &x);
    assert_int_equal(x.j.error, SL_ERR_UNKNOWN_MEMBER);

    /* JoinGroup v0-3: no MEMBER_ID_REQUIRED round trip */
    mem b;
    mem_init(&b, "client-b", NULL);
    join_req_v(f, "g2", &b, true);
    assert_int_equal(b.j.calls, 1);
    assert_int_equal(b.j.error, 0);
    assert_int_equal(b.j.generation, 1);
    assert_true(strncmp(b.j.member_id, "client-b-", 9) == 0);

    /* refused joins */
    mem bad;
    mem_init(&bad, "bad", NULL);
    join_req(f, "", &bad);
    assert_int_equal(bad.j.error, SL_ERR_INVALID_ARG);
    assert_false(bad.j.bad_session_timeout);
    bad.session_ms = 5999;
    join_req(f, "g3", &bad);
    assert_int_equal(bad.j.error, SL_ERR_INVALID_ARG);
    assert_true(bad.j.bad_session_timeout);
    bad.session_ms = 300001;
    join_req(f, "g3", &bad);
    assert_true(bad.j.bad_session_timeout);
    bad.session_ms = 10000;
    bad.ptype = "";
    join_req(f, "g3", &bad);
    assert_int_equal(bad.j.error, SL_ERR_INCONSISTENT_PROTOCOL);
    bad.ptype = "consumer";
    bad.nprotos = 0;
    join_req(f, "g3", &bad);
    assert_int_equal(bad.j.error, SL_ERR_INCONSISTENT_PROTOCOL);
}

static void test_rebalance_and_sync(void **state)
{
    fx *f = *state;
    f->store.mode = STORE_DEFERRED;
    mem a, b;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    join_new(f, "g", &a);
    join_take(&a);
    assert_int_equal(a.generation, 1);
    join_new(f, "g", &b);
    assert_int_equal(b.j.calls, 0); /* waits for a to rejoin */
    assert_string_equal(describe(f, "g").state, "PreparingRebalance");
    assert_int_equal(heartbeat(f, "g", &a), SL_ERR_REBALANCE_IN_PROGRESS);
    sync_req(f, "g", &a, NULL, 0);
    assert_int_equal(a.s.calls, 1);
    assert_int_equal(a.s.error, SL_ERR_REBALANCE_IN_PROGRESS);

    join_req(f, "g", &a);
    join_take(&a);
    join_take(&b);
    assert_int_equal(a.generation, 2);
    assert_int_equal(b.generation, 2);
    /* a stays leader and gets everyone's metadata; b gets none */
    assert_string_equal(a.j.leader, a.id);
    assert_string_equal(b.j.leader, a.id);
    assert_int_equal(a.j.nmembers, 2);
    assert_int_equal(b.j.nmembers, 0);
    for (int i = 0; i < 2; i++) {
        const char *want = strcmp(a.j.members[i], a.id) == 0 ? "ca" : "cb";
        assert_true(strcmp(a.j.members[i], a.id) == 0 || strcmp(a.j.members[i], b.id) == 0);
        assert_true(blob_is(&a.j.metadata[i], want));
    }
    assert_string_equal(describe(f, "g").state, "CompletingRebalance");
    assert_int_equal(heartbeat(f, "g", &a), 0);
    /* commits wait for the assignment */
    assert_int_equal(commit_member(f, "g", &a, "t", 0, 1), SL_ERR_REBALANCE_IN_PROGRESS);

    /* the follower's sync waits for the leader's, which waits for the store */
    sync_req(f, "g", &b, NULL, 0);
    assert_int_equal(b.s.calls, 0);
    sl_sync_assignment as[] = {{S(a.id), S("A-parts")}, {S(b.id), S("B-parts")}};
    sync_req(f, "g", &a, as, 2);
    assert_int_equal(a.s.calls, 0);
    assert_int_equal(b.s.calls, 0);
    assert_int_equal(f->store.npending, 1);
    assert_string_equal(describe(f, "g").state, "CompletingRebalance");
    /* a second sync from the leader while the write is in flight writes nothing more */
    store_complete_all(&f->store, 0);
    assert_int_equal(a.s.calls, 1);
    assert_int_equal(b.s.calls, 1);
    assert_int_equal(a.s.error, 0);
    assert_int_equal(b.s.error, 0);
    assert_true(blob_is(&a.s.assignment, "A-parts"));
    assert_true(blob_is(&b.s.assignment, "B-parts"));
    assert_string_equal(a.s.protocol_name, "range");
    desc_out d = describe(f, "g");
    assert_string_equal(d.state, "Stable");
    assert_int_equal(d.generation, 2);
    assert_true(blob_is(&member_of(&d, a.id)->assignment, "A-parts"));
    assert_true(blob_is(&member_of(&d, b.id)->assignment, "B-parts"));
    assert_true(blob_is(&member_of(&d, b.id)->metadata, "cb"));
    assert_true(blob_is(&member_of(&d, b.id)->client, "cb"));
    assert_true(blob_is(&member_of(&d, b.id)->host, "/127.0.0.1"));
    f->store.mode = STORE_IMMEDIATE;
    check_replay(f);

    /* a repeated sync in Stable is answered at once */
    sync_req(f, "g", &b, NULL, 0);
    assert_int_equal(b.s.calls, 1);
    assert_true(blob_is(&b.s.assignment, "B-parts"));
    /* an older generation */
    mem stale = b;
    stale.generation = 1;
    assert_int_equal(heartbeat(f, "g", &stale), SL_ERR_ILLEGAL_GENERATION);
    sync_req(f, "g", &stale, NULL, 0);
    assert_int_equal(stale.s.error, SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(commit_member(f, "g", &stale, "t", 0, 1), SL_ERR_ILLEGAL_GENERATION);
    /* SyncGroup v5 checks the protocol */
    mem other = b;
    other.ptype = "connect";
    sync_req(f, "g", &other, NULL, 0);
    assert_int_equal(other.s.error, SL_ERR_INCONSISTENT_PROTOCOL);

    /* a follower rejoining with the same metadata: same generation, no rebalance */
    uint64_t r0 = stats(f).rebalances;
    join_req(f, "g", &b);
    join_take(&b);
    assert_int_equal(b.generation, 2);
    assert_int_equal(b.j.nmembers, 0);
    assert_int_equal(stats(f).rebalances, r0);
    assert_string_equal(describe(f, "g").state, "Stable");
    /* ... with new metadata: a rebalance */
    b.metas[0] = S("cb-v2");
    join_req(f, "g", &b);
    assert_int_equal(b.j.calls, 0);
    assert_string_equal(describe(f, "g").state, "PreparingRebalance");
    join_req(f, "g", &a);
    join_take(&a);
    join_take(&b);
    assert_int_equal(a.generation, 3);
    for (int i = 0; i < 2; i++)
        if (strcmp(a.j.members[i], b.id) == 0) assert_true(blob_is(&a.j.metadata[i], "cb-v2"));
    /* the leader rejoining in Stable starts a rebalance too */
    mem *ms[] = {&a, &b};
    sync_all(f, "g", ms, 2);
    join_req(f, "g", &a);
    assert_int_equal(a.j.calls, 0);
    assert_string_equal(describe(f, "g").state, "PreparingRebalance");
    join_req(f, "g", &b);
    join_take(&a);
    join_take(&b);
    assert_int_equal(a.generation, 4);
    sync_all(f, "g", ms, 2);
    check_replay(f);
    check_partitions(f);
}

static void test_missed_join_answer(void **state)
{
    fx *f = *state;
    mem a, b;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    mem *ms[] = {&a, &b};
    join_all(f, "g", ms, 2);
    /* b lost the answer and joins again with the same metadata while the
     * group waits for the leader's sync: it gets the same answer */
    uint64_t r0 = stats(f).rebalances;
    join_req(f, "g", &b);
    join_take(&b);
    assert_int_equal(b.generation, a.generation);
    assert_int_equal(stats(f).rebalances, r0);
    sync_all(f, "g", ms, 2);
    /* a second JoinGroup while one is parked replaces it */
    mem c;
    mem_init(&c, "cc", NULL);
    join_new(f, "g", &c);
    join_req(f, "g", &a);
    assert_int_equal(a.j.calls, 0);
    join_out *old = &a.j;
    join_out again = {0};
    /* a second join for a, with its own result slot */
    sl_join_protocol ps[] = {{S("range"), S("ca")}};
    sl_join_params p = {.group_id = S("g"),
                        .member_id = S(a.id),
                        .instance_id = NOSTR,
                        .client_id = S("ca"),
                        .client_host = S("/127.0.0.1"),
                        .session_timeout_ms = 10000,
                        .rebalance_timeout_ms = 30000,
                        .protocol_type = S("consumer"),
                        .protocols = ps,
                        .nprotocols = 1,
                        .require_known_member_id = true,
                        .supports_skip_assignment = true};
    sl_coord_join(f->c, &p, f->now, on_join, &again);
    assert_int_equal(old->calls, 1);
    assert_int_equal(old->error, SL_ERR_UNKNOWN_MEMBER);
    assert_int_equal(again.calls, 0);
    join_req(f, "g", &b);
    assert_int_equal(again.calls, 1);
    assert_int_equal(again.error, 0);
    join_take(&b);
    join_take(&c);
    assert_int_equal(again.generation, b.generation);
}

static void test_protocol_vote(void **state)
{
    fx *f = *state;
    mem a, b, c;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    mem_init(&c, "cc", NULL);
    mem_protocols(&a, "range", "roundrobin", NULL);
    a.metas[0] = S("a-range");
    a.metas[1] = S("a-rr");
    mem_protocols(&b, "roundrobin", "range", NULL);
    b.metas[0] = S("b-rr");
    b.metas[1] = S("b-range");
    mem_protocols(&c, "roundrobin", "range", "sticky");
    c.metas[0] = S("c-rr");
    c.metas[1] = S("c-range");
    c.metas[2] = S("c-sticky");
    mem *ms[] = {&a, &b, &c};
    join_all(f, "g", ms, 3);
    /* two of three prefer roundrobin */
    for (int i = 0; i < 3; i++)
        assert_string_equal(ms[i]->j.protocol_name, "roundrobin");
    mem *leader = leader_of(ms, 3);
    assert_int_equal(leader->j.nmembers, 3);
    /* the leader sees each member's metadata for the chosen protocol */
    for (int i = 0; i < 3; i++) {
        const char *want = strcmp(leader->j.members[i], a.id) == 0   ? "a-rr"
                           : strcmp(leader->j.members[i], b.id) == 0 ? "b-rr"
                                                                     : "c-rr";
        assert_true(blob_is(&leader->j.metadata[i], want));
    }
    sync_all(f, "g", ms, 3);
    assert_string_equal(describe(f, "g").protocol_name, "roundrobin");

    /* sticky is not supported by everyone: a member offering only it is refused */
    mem d;
    mem_init(&d, "cd", NULL);
    mem_protocols(&d, "sticky", NULL, NULL);
    join_req(f, "g", &d);
    assert_int_equal(d.j.error, SL_ERR_INCONSISTENT_PROTOCOL);
    /* so is another protocol type */
    mem e;
    mem_init(&e, "ce", NULL);
    e.ptype = "connect";
    join_req(f, "g", &e);
    assert_int_equal(e.j.error, SL_ERR_INCONSISTENT_PROTOCOL);

    /* the preferred protocol wins when most members rank it first */
    mem x, y, z;
    mem_init(&x, "cx", NULL);
    mem_init(&y, "cy", NULL);
    mem_init(&z, "cz", NULL);
    mem_protocols(&x, "roundrobin", "range", NULL);
    mem_protocols(&y, "range", "roundrobin", NULL);
    mem_protocols(&z, "range", "roundrobin", NULL);
    mem *ms2[] = {&x, &y, &z};
    join_all(f, "g2", ms2, 3);
    assert_string_equal(x.j.protocol_name, "range");
}

static void test_heartbeat(void **state)
{
    fx *f = *state;
    mem a, b;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    assert_int_equal(heartbeat(f, "nope", &a), SL_ERR_UNKNOWN_MEMBER);
    mem *ms[] = {&a};
    form_group(f, "g", ms, 1);
    assert_int_equal(heartbeat(f, "g", &a), 0);
    mem ghost = a;
    strcpy(ghost.id, "ca-ghost");
    assert_int_equal(heartbeat(f, "g", &ghost), SL_ERR_UNKNOWN_MEMBER);
    mem old = a;
    old.generation = a.generation - 1;
    assert_int_equal(heartbeat(f, "g", &old), SL_ERR_ILLEGAL_GENERATION);
    old.generation = a.generation + 1;
    assert_int_equal(heartbeat(f, "g", &old), SL_ERR_ILLEGAL_GENERATION);

    /* heartbeats keep a member alive well past its session timeout */
    for (int i = 0; i < 10; i++) {
        f->now += 5000;
        assert_int_equal(heartbeat(f, "g", &a), 0);
        sl_coord_tick(f->c, f->now);
    }
    assert_int_equal(describe(f, "g").nmembers, 1);

    /* PreparingRebalance: REBALANCE_IN_PROGRESS; CompletingRebalance: fine */
    join_new(f, "g", &b);
    assert_int_equal(heartbeat(f, "g", &a), SL_ERR_REBALANCE_IN_PROGRESS);
    join_req(f, "g", &a);
    join_take(&a);
    join_take(&b);
    assert_string_equal(describe(f, "g").state, "CompletingRebalance");
    assert_int_equal(heartbeat(f, "g", &a), 0);
    assert_int_equal(heartbeat(f, "g", &b), 0);

    /* Empty group: UNKNOWN_MEMBER */
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(a.id), NOSTR, f->now), 0);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(b.id), NOSTR, f->now), 0);
    assert_string_equal(describe(f, "g").state, "Empty");
    assert_int_equal(heartbeat(f, "g", &a), SL_ERR_UNKNOWN_MEMBER);
}

static void test_leave(void **state)
{
    fx *f = *state;
    mem a, b, s;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    mem_init(&s, "cs", "static-s");
    mem *ms[] = {&a, &b, &s};
    form_group(f, "g", ms, 3);
    int32_t gen = a.generation;
    assert_true(sl_coord_group_exists(f->c, S("g")));
    assert_false(sl_coord_group_exists(f->c, S("h")));
    assert_int_equal(sl_coord_leave(f->c, S("h"), S(a.id), NOSTR, f->now), SL_ERR_UNKNOWN_MEMBER);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S("nobody"), NOSTR, f->now),
                     SL_ERR_UNKNOWN_MEMBER);
    /* a static member leaves by instance id; a wrong member id is fenced */
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(a.id), S("static-s"), f->now),
                     SL_ERR_FENCED_INSTANCE);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S("x"), S("static-x"), f->now),
                     SL_ERR_UNKNOWN_MEMBER);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(""), S("static-s"), f->now), 0);
    assert_string_equal(describe(f, "g").state, "PreparingRebalance");
    assert_int_equal(heartbeat(f, "g", &s), SL_ERR_UNKNOWN_MEMBER);
    join_req(f, "g", &a);
    join_req(f, "g", &b);
    join_take(&a);
    join_take(&b);
    assert_int_equal(a.generation, gen + 1);
    assert_int_equal(a.j.nmembers + b.j.nmembers, 2);
    mem *ms2[] = {&a, &b};
    sync_all(f, "g", ms2, 2);

    /* b leaves: a alone rejoins */
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(b.id), NOSTR, f->now), 0);
    assert_int_equal(heartbeat(f, "g", &a), SL_ERR_REBALANCE_IN_PROGRESS);
    join_req(f, "g", &a);
    join_take(&a);
    assert_int_equal(a.generation, gen + 2);
    assert_string_equal(a.j.leader, a.id);
    mem *ms3[] = {&a};
    sync_all(f, "g", ms3, 1);
    check_replay(f);

    /* the last member leaves: Empty, with a new generation, recorded */
    int groups_before = count_records(&f->store, SL_GREC_KEY_GROUP, false, "g");
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(a.id), NOSTR, f->now), 0);
    desc_out d = describe(f, "g");
    assert_string_equal(d.state, "Empty");
    assert_int_equal(d.generation, gen + 3);
    assert_int_equal(d.nmembers, 0);
    assert_int_equal(count_records(&f->store, SL_GREC_KEY_GROUP, false, "g"), groups_before + 1);
    check_replay(f);

    /* a member that only got its id (MEMBER_ID_REQUIRED) may leave too */
    mem p;
    mem_init(&p, "cp", NULL);
    join_req(f, "g", &p);
    assert_int_equal(p.j.error, SL_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(p.j.member_id), NOSTR, f->now), 0);
    strcpy(p.id, p.j.member_id);
    join_req(f, "g", &p);
    assert_int_equal(p.j.error, SL_ERR_UNKNOWN_MEMBER);
    assert_string_equal(describe(f, "g").state, "Empty");
}

static void test_session_expiry(void **state)
{
    fx *f = *state;
    mem a, b;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    b.session_ms = 20000;
    mem *ms[] = {&a, &b};
    form_group(f, "g", ms, 2);
    int32_t gen = a.generation;
    f->now += 9000;
    assert_int_equal(heartbeat(f, "g", &a), 0);
    assert_int_equal(heartbeat(f, "g", &b), 0);
    f->now += 10000; /* exactly a's session timeout since its heartbeat */
    sl_coord_tick(f->c, f->now);
    assert_int_equal(describe(f, "g").nmembers, 2);
    assert_int_equal(stats(f).members_expired, 0);
    f->now += 1;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(stats(f).members_expired, 1);
    desc_out d = describe(f, "g");
    assert_string_equal(d.state, "PreparingRebalance");
    assert_int_equal(d.nmembers, 1);
    assert_null(member_of(&d, a.id));
    assert_int_equal(heartbeat(f, "g", &a), SL_ERR_UNKNOWN_MEMBER);
    assert_int_equal(heartbeat(f, "g", &b), SL_ERR_REBALANCE_IN_PROGRESS);
    join_req(f, "g", &b);
    join_take(&b);
    assert_int_equal(b.generation, gen + 1);
    assert_string_equal(b.j.leader, b.id); /* a was the leader */
    assert_int_equal(b.j.nmembers, 1);

    /* a member waiting in SyncGroup for the leader is alive */
    mem c;
    mem_init(&c, "cc", NULL);
    join_new(f, "g", &c);
    join_req(f, "g", &b);
    join_take(&b);
    join_take(&c);
    mem *follower = strcmp(b.j.leader, b.id) == 0 ? &c : &b;
    mem *leader = follower == &b ? &c : &b;
    sync_req(f, "g", follower, NULL, 0);
    f->now += 15000;
    assert_int_equal(heartbeat(f, "g", leader), 0);
    f->now += 15000;
    assert_int_equal(heartbeat(f, "g", leader), 0);
    sl_coord_tick(f->c, f->now);
    assert_int_equal(describe(f, "g").nmembers, 2);
    assert_int_equal(follower->s.calls, 0);
    /* the leader dies before syncing: the follower is told to rejoin */
    f->now += 25000;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(follower->s.calls, 1);
    assert_int_equal(follower->s.error, SL_ERR_REBALANCE_IN_PROGRESS);
    d = describe(f, "g");
    assert_int_equal(d.nmembers, 1);
    assert_non_null(member_of(&d, follower->id));
}

static void test_rebalance_timeout(void **state)
{
    fx *f = *state;
    mem a, b, c;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    mem_init(&c, "cc", NULL);
    b.rebalance_ms = 20000;
    c.rebalance_ms = 25000;
    mem *ms[] = {&a, &b};
    form_group(f, "g", ms, 2);
    int32_t gen = a.generation;
    int64_t t = f->now;
    join_new(f, "g", &c); /* deadline: t + max(30000, 20000, 25000) */
    join_req(f, "g", &a);
    assert_int_equal(a.j.calls, 0);
    /* b keeps heartbeating but never rejoins */
    while (f->now < t + 29000) {
        f->now += 1000;
        assert_int_equal(heartbeat(f, "g", &b), SL_ERR_REBALANCE_IN_PROGRESS);
        sl_coord_tick(f->c, f->now);
    }
    f->now = t + 29999;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(a.j.calls, 0);
    assert_int_equal(c.j.calls, 0);
    f->now = t + 30000;
    sl_coord_tick(f->c, f->now);
    join_take(&a);
    join_take(&c);
    assert_int_equal(a.generation, gen + 1);
    assert_int_equal(a.j.nmembers, 2);
    assert_int_equal(heartbeat(f, "g", &b), SL_ERR_UNKNOWN_MEMBER);
    desc_out d = describe(f, "g");
    assert_int_equal(d.nmembers, 2);
    assert_null(member_of(&d, b.id));
    mem *ms2[] = {&a, &c};
    sync_all(f, "g", ms2, 2);
    check_replay(f);
}

static void test_initial_delay(void **state)
{
    fx *f = *state;
    f->cfg.initial_rebalance_delay_ms = 3000;
    fx_reconfigure(f);
    mem a, b;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    a.rebalance_ms = b.rebalance_ms = 10000;
    int64_t t = f->now;
    join_new(f, "g", &a);
    f->now = t + 2000;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(a.j.calls, 0);
    join_new(f, "g", &b); /* extends the delay to t + 5000 */
    f->now = t + 4999;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(a.j.calls, 0);
    assert_int_equal(b.j.calls, 0);
    f->now = t + 5000;
    sl_coord_tick(f->c, f->now);
    join_take(&a);
    join_take(&b);
    assert_int_equal(a.generation, 1);
    assert_int_equal(a.j.nmembers + b.j.nmembers, 2);
    assert_int_equal(stats(f).rebalances, 1);

    /* each newcomer extends the delay, but never past the rebalance timeout */
    mem x, y, z;
    mem_init(&x, "cx", NULL);
    mem_init(&y, "cy", NULL);
    mem_init(&z, "cz", NULL);
    x.rebalance_ms = y.rebalance_ms = z.rebalance_ms = 6000;
    t = f->now;
    join_new(f, "g2", &x);
    f->now = t + 2500;
    join_new(f, "g2", &y);
    f->now = t + 5000;
    join_new(f, "g2", &z);
    f->now = t + 5999;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(x.j.calls, 0);
    f->now = t + 6000;
    sl_coord_tick(f->c, f->now);
    join_take(&x);
    join_take(&y);
    join_take(&z);
    assert_int_equal(x.generation, 1);

    /* a rebalance of a non-empty group is not delayed */
    mem *ms[] = {&a, &b};
    sync_all(f, "g", ms, 2);
    mem c;
    mem_init(&c, "cc", NULL);
    join_new(f, "g", &c);
    join_req(f, "g", &a);
    join_req(f, "g", &b);
    join_take(&a);
    join_take(&b);
    join_take(&c);
    assert_int_equal(c.generation, 2);
}

static void test_group_max_size(void **state)
{
    fx *f = *state;
    f->cfg.max_size = 2;
    fx_reconfigure(f);
    mem a, b, c, s;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", "static-b");
    mem_init(&c, "cc", NULL);
    mem *ms[] = {&a, &b};
    form_group(f, "g", ms, 2);
    join_req(f, "g", &c);
    assert_int_equal(c.j.error, SL_ERR_GROUP_FULL);
    mem_init(&s, "cs", "static-s");
    join_req(f, "g", &s);
    assert_int_equal(s.j.error, SL_ERR_GROUP_FULL);
    /* a known static member restarting is not a new member */
    mem b2;
    mem_init(&b2, "cb", "static-b");
    join_req(f, "g", &b2);
    assert_int_equal(b2.j.error, 0);
    /* a member waiting to come back with its id counts */
    mem x, y;
    mem_init(&x, "cx", NULL);
    mem_init(&y, "cy", NULL);
    mem *one[] = {&x};
    form_group(f, "g2", one, 1);
    join_req(f, "g2", &y);
    assert_int_equal(y.j.error, SL_ERR_MEMBER_ID_REQUIRED);
    join_req(f, "g2", &c);
    assert_int_equal(c.j.error, SL_ERR_GROUP_FULL);
    strcpy(y.id, y.j.member_id);
    join_req(f, "g2", &y);
    assert_int_equal(y.j.calls, 0);
    join_req(f, "g2", &x);
    join_take(&x);
    join_take(&y);
    assert_int_equal(x.j.nmembers + y.j.nmembers, 2);
}

static void test_static_membership(void **state)
{
    fx *f = *state;
    mem a, b;
    mem_init(&a, "ca", "inst-a");
    mem_init(&b, "cb", "inst-b");
    mem *ms[] = {&a, &b};
    form_group(f, "g", ms, 2);
    assert_string_equal(a.j.leader, a.id); /* first in: leader */
    int32_t gen = a.generation;
    uint64_t r0 = stats(f).rebalances;
    check_replay(f);

    /* b restarts (new process, no member id): same generation, no rebalance */
    mem b2;
    mem_init(&b2, "cb", "inst-b");
    join_req(f, "g", &b2);
    join_take(&b2);
    assert_string_not_equal(b2.id, b.id);
    assert_int_equal(b2.generation, gen);
    assert_string_equal(b2.j.leader, a.id);
    assert_false(b2.j.skip);
    assert_int_equal(stats(f).rebalances, r0);
    desc_out d = describe(f, "g");
    assert_string_equal(d.state, "Stable");
    assert_null(member_of(&d, b.id));
    assert_true(blob_is(&member_of(&d, b2.id)->assignment, "a-cb"));
    sync_req(f, "g", &b2, NULL, 0);
    assert_int_equal(b2.s.error, 0);
    assert_true(blob_is(&b2.s.assignment, "a-cb"));
    assert_int_equal(heartbeat(f, "g", &a), 0);
    assert_int_equal(heartbeat(f, "g", &b2), 0);
    /* the old process is fenced everywhere */
    assert_int_equal(heartbeat(f, "g", &b), SL_ERR_FENCED_INSTANCE);
    sync_req(f, "g", &b, NULL, 0);
    assert_int_equal(b.s.error, SL_ERR_FENCED_INSTANCE);
    assert_int_equal(commit_member(f, "g", &b, "t", 0, 5), SL_ERR_FENCED_INSTANCE);
    join_req(f, "g", &b);
    assert_int_equal(b.j.error, SL_ERR_FENCED_INSTANCE);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(b.id), S("inst-b"), f->now),
                     SL_ERR_FENCED_INSTANCE);
    assert_int_equal(commit_member(f, "g", &b2, "t", 0, 5), 0);
    check_replay(f);

    /* the leader restarts: told it leads but must skip the assignment (v9) */
    mem a2;
    mem_init(&a2, "ca", "inst-a");
    join_req(f, "g", &a2);
    join_take(&a2);
    assert_int_equal(a2.generation, gen);
    assert_true(a2.j.skip);
    assert_string_equal(a2.j.leader, a2.id);
    assert_int_equal(a2.j.nmembers, 2);
    assert_int_equal(stats(f).rebalances, r0);
    /* ... and with JoinGroup < v9: the leader id it gets is not its own */
    mem a3;
    mem_init(&a3, "ca", "inst-a");
    join_req_v(f, "g", &a3, true);
    join_take(&a3);
    assert_int_equal(a3.generation, gen);
    assert_false(a3.j.skip);
    assert_string_not_equal(a3.j.leader, a3.id);
    assert_int_equal(a3.j.nmembers, 0);
    assert_int_equal(stats(f).rebalances, r0);
    assert_int_equal(heartbeat(f, "g", &a2), SL_ERR_FENCED_INSTANCE);
    assert_int_equal(heartbeat(f, "g", &a3), 0);
    sync_req(f, "g", &a3, NULL, 0);
    assert_true(blob_is(&a3.s.assignment, "a-ca"));
    check_replay(f);

    /* a static member whose join is parked is fenced by a newer instance */
    mem c;
    mem_init(&c, "cc", NULL);
    join_new(f, "g", &c);
    join_req(f, "g", &b2);
    assert_int_equal(b2.j.calls, 0);
    mem b3;
    mem_init(&b3, "cb", "inst-b");
    join_req(f, "g", &b3);
    assert_int_equal(b2.j.calls, 1);
    assert_int_equal(b2.j.error, SL_ERR_FENCED_INSTANCE);
    assert_int_equal(b3.j.calls, 0);
    join_req(f, "g", &a3);
    join_take(&a3);
    join_take(&b3);
    join_take(&c);
    assert_int_equal(b3.generation, gen + 1);
    assert_int_equal(a3.j.nmembers, 3);
    mem *ms3[] = {&a3, &b3, &c};
    sync_all(f, "g", ms3, 3);

    /* static members are removed by the session timeout like anyone */
    f->now += 10001;
    assert_int_equal(heartbeat(f, "g", &a3), 0);
    assert_int_equal(heartbeat(f, "g", &c), 0);
    sl_coord_tick(f->c, f->now);
    d = describe(f, "g");
    assert_int_equal(d.nmembers, 2);
    assert_null(member_of(&d, b3.id));
}

/* A restarted static member is answered once its new member id is durable. */
static void test_static_rejoin_waits_for_store(void **state)
{
    fx *f = *state;
    mem a, b;
    mem_init(&a, "ca", "inst-a");
    mem_init(&b, "cb", "inst-b");
    mem *ms[] = {&a, &b};
    form_group(f, "g", ms, 2);
    int32_t gen = a.generation;
    f->store.mode = STORE_DEFERRED;
    mem b2;
    mem_init(&b2, "cb", "inst-b");
    join_req(f, "g", &b2);
    assert_int_equal(b2.j.calls, 0);
    assert_int_equal(f->store.npending, 1);
    assert_int_equal(heartbeat(f, "g", &b), SL_ERR_FENCED_INSTANCE); /* already replaced */
    store_complete_all(&f->store, 0);
    join_take(&b2);
    assert_int_equal(b2.generation, gen);
    assert_string_equal(b2.j.leader, a.id);
    check_replay(f);

    /* the store fails: the member is told, and comes again */
    mem b3;
    mem_init(&b3, "cb", "inst-b");
    join_req(f, "g", &b3);
    store_complete_all(&f->store, SL_ERR_IO);
    assert_int_equal(b3.j.calls, 1);
    assert_int_equal(b3.j.error, SL_ERR_IO);
    mem_init(&b3, "cb", "inst-b");
    join_req(f, "g", &b3);
    store_complete_all(&f->store, 0);
    join_take(&b3);
    assert_int_equal(b3.generation, gen);

    /* a rebalance starts while the write is in flight: the rebalance
     * answers the parked join, the write's completion does nothing more */
    mem b4, c;
    mem_init(&b4, "cb", "inst-b");
    mem_init(&c, "cc", NULL);
    join_req(f, "g", &b4);
    assert_int_equal(b4.j.calls, 0);
    f->store.mode = STORE_IMMEDIATE;
    join_new(f, "g", &c);
    join_req(f, "g", &a);
    join_take(&a);
    join_take(&c);
    join_take(&b4);
    assert_int_equal(b4.generation, gen + 1);
    assert_int_equal(a.j.nmembers, 3);
    store_complete_all(&f->store, 0);
    assert_int_equal(b4.j.calls, 1);
    mem *ms3[] = {&a, &b4, &c};
    sync_all(f, "g", ms3, 3);
    check_replay(f);
}

static void test_static_rejoin_new_metadata(void **state)
{
    fx *f = *state;
    mem a, b;
    mem_init(&a, "ca", "inst-a");
    mem_init(&b, "cb", "inst-b");
    mem *ms[] = {&a, &b};
    form_group(f, "g", ms, 2);
    int32_t gen = a.generation;
    uint64_t r0 = stats(f).rebalances;
    /* Kafka: a static member rejoining a Stable group with other metadata
     * but the same selected protocol keeps the generation; its new metadata
     * is what the leader sees next time */
    mem b2;
    mem_init(&b2, "cb", "inst-b");
    b2.metas[0] = S("cb-owned-partitions");
    join_req(f, "g", &b2);
    join_take(&b2);
    assert_int_equal(b2.generation, gen);
    assert_int_equal(stats(f).rebalances, r0);
    desc_out d = describe(f, "g");
    assert_string_equal(d.state, "Stable");
    assert_true(blob_is(&member_of(&d, b2.id)->metadata, "cb-owned-partitions"));
    assert_true(blob_is(&member_of(&d, b2.id)->assignment, "a-cb"));
    check_replay(f);
    /* a change of the protocol the group would select next does rebalance:
     * with z now preferring roundrobin, two of three vote for it */
    mem x, y, z;
    mem_init(&x, "cx", "inst-x");
    mem_init(&y, "cy", "inst-y");
    mem_init(&z, "cz", "inst-z");
    mem_protocols(&x, "range", "roundrobin", NULL);
    mem_protocols(&y, "roundrobin", "range", NULL);
    mem_protocols(&z, "range", "roundrobin", NULL);
    x.metas[1] = y.metas[1] = z.metas[1] = S("m");
    mem *ms3[] = {&x, &y, &z};
    form_group(f, "g3", ms3, 3);
    assert_string_equal(describe(f, "g3").protocol_name, "range");
    r0 = stats(f).rebalances;
    mem z2;
    mem_init(&z2, "cz", "inst-z");
    mem_protocols(&z2, "roundrobin", "range", NULL);
    z2.metas[1] = S("m");
    join_req(f, "g3", &z2);
    assert_int_equal(z2.j.calls, 0);
    assert_string_equal(describe(f, "g3").state, "PreparingRebalance");
    join_req(f, "g3", &x);
    join_req(f, "g3", &y);
    join_take(&x);
    join_take(&y);
    join_take(&z2);
    assert_string_equal(z2.j.protocol_name, "roundrobin");
    assert_int_equal(x.generation, z.generation + 1);
    assert_int_equal(stats(f).rebalances, r0 + 1);
}

static void test_simple_commit(void **state)
{
    fx *f = *state;
    assert_int_equal(commit1(f, "sg", -1, "", NULL, "t", 0, 10), 0);
    assert_int_equal(committed(f, "sg", "t", 0), 10);
    int64_t off;
    int32_t epoch;
    sl_gstr md;
    assert_int_equal(sl_coord_offset(f->c, S("sg"), S("t"), 0, &off, &epoch, &md), 0);
    assert_int_equal(epoch, 7);
    assert_int_equal(md.len, 2);
    assert_memory_equal(md.ptr, "md", 2);
    desc_out d = describe(f, "sg");
    assert_string_equal(d.state, "Empty");
    assert_string_equal(d.protocol_type, "");

    /* acknowledged and visible only once durable */
    f->store.mode = STORE_DEFERRED;
    commit_op op = {0};
    commit_add(&op, "t", 0, 20, NULL);
    commit_add(&op, "t", 1, 21, "");
    commit_send(f, "sg", -1, "", NULL, &op);
    assert_int_equal(op.calls, 0);
    assert_int_equal(committed(f, "sg", "t", 0), 10);
    assert_int_equal(committed(f, "sg", "t", 1), -1);
    store_complete_all(&f->store, 0);
    assert_int_equal(op.calls, 1);
    assert_int_equal(op.status, 0);
    assert_int_equal(committed(f, "sg", "t", 0), 20);
    assert_int_equal(committed(f, "sg", "t", 1), 21);
    /* null metadata reads back as "", the same before and after a reload */
    assert_int_equal(sl_coord_offset(f->c, S("sg"), S("t"), 0, &off, &epoch, &md), 0);
    assert_int_equal(md.len, 0);
    f->store.mode = STORE_IMMEDIATE;
    check_replay(f);

    /* a group with members refuses simple commits */
    mem a;
    mem_init(&a, "ca", NULL);
    mem *ms[] = {&a};
    form_group(f, "sg", ms, 1);
    assert_int_equal(commit1(f, "sg", -1, "", NULL, "t", 0, 30), SL_ERR_UNKNOWN_MEMBER);
    assert_int_equal(committed(f, "sg", "t", 0), 20);
    assert_int_equal(commit_member(f, "sg", &a, "t", 0, 31), 0);
    assert_int_equal(committed(f, "sg", "t", 0), 31);
    /* ... even one that names a member (Kafka validates it then) */
    assert_int_equal(commit1(f, "sg", -1, a.id, NULL, "t", 0, 30), SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(commit1(f, "sg", -1, "ghost", NULL, "t", 0, 30), SL_ERR_UNKNOWN_MEMBER);
    /* empty again: simple commits are fine again, whatever member id they
     * carry (a consumer that was kicked out and commits with -1) */
    assert_int_equal(sl_coord_leave(f->c, S("sg"), S(a.id), NOSTR, f->now), 0);
    assert_int_equal(commit1(f, "sg", -1, "", NULL, "t", 0, 5), 0);
    assert_int_equal(committed(f, "sg", "t", 0), 5);
    assert_int_equal(commit1(f, "sg", -1, a.id, NULL, "t", 0, 6), 0);
    assert_int_equal(committed(f, "sg", "t", 0), 6);
    check_replay(f);
    check_partitions(f);
}

static void test_commit_errors(void **state)
{
    fx *f = *state;
    assert_int_equal(commit1(f, "", -1, "", NULL, "t", 0, 1), SL_ERR_INVALID_ARG);
    /* a member of a group that does not exist (Kafka: ILLEGAL_GENERATION) */
    assert_int_equal(commit1(f, "nope", 3, "m-1", NULL, "t", 0, 1), SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(committed(f, "nope", "t", 0), -1);
    assert_false(sl_coord_group_exists(f->c, S("nope")));

    mem a, b;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    mem *ms[] = {&a};
    form_group(f, "g", ms, 1);
    assert_int_equal(commit1(f, "g", a.generation + 1, a.id, NULL, "t", 0, 1),
                     SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(commit1(f, "g", a.generation, "ghost", NULL, "t", 0, 1),
                     SL_ERR_UNKNOWN_MEMBER);
    /* PreparingRebalance: the current generation may still commit */
    join_new(f, "g", &b);
    assert_string_equal(describe(f, "g").state, "PreparingRebalance");
    assert_int_equal(commit_member(f, "g", &a, "t", 0, 2), 0);
    assert_int_equal(committed(f, "g", "t", 0), 2);
    join_req(f, "g", &a);
    join_take(&a);
    join_take(&b);
    /* CompletingRebalance: no */
    assert_int_equal(commit_member(f, "g", &a, "t", 0, 3), SL_ERR_REBALANCE_IN_PROGRESS);
    mem *ms2[] = {&a, &b};
    sync_all(f, "g", ms2, 2);

    /* metadata above offset.metadata.max.bytes fails that partition only */
    char *big = calloc(1, 5000);
    memset(big, 'm', 4999);
    commit_op op = {0};
    commit_add(&op, "t", 0, 40, big);
    commit_add(&op, "t", 1, 41, "ok");
    commit_send(f, "g", a.generation, a.id, NULL, &op);
    assert_int_equal(op.calls, 1);
    assert_int_equal(op.status, 0);
    assert_int_equal(op.o[0].error, SL_ERR_TOO_LARGE);
    assert_int_equal(op.o[1].error, 0);
    assert_int_equal(committed(f, "g", "t", 0), 2);
    assert_int_equal(committed(f, "g", "t", 1), 41);
    /* nothing valid left: answered at once, nothing written */
    size_t nb = f->store.nbatches;
    commit_op op2 = {0};
    commit_add(&op2, "t", 0, 42, big);
    commit_send(f, "g", a.generation, a.id, NULL, &op2);
    assert_int_equal(op2.calls, 1);
    assert_int_equal(op2.o[0].error, SL_ERR_TOO_LARGE);
    assert_int_equal(f->store.nbatches, nb);
    free(big);

    /* the store fails: nothing is applied */
    f->store.mode = STORE_DEFERRED;
    commit_op op3 = {0};
    commit_add(&op3, "t", 1, 50, NULL);
    commit_send(f, "g", a.generation, a.id, NULL, &op3);
    assert_int_equal(op3.calls, 0);
    store_complete_all(&f->store, SL_ERR_IO);
    assert_int_equal(op3.calls, 1);
    assert_int_equal(op3.status, SL_ERR_IO);
    assert_int_equal(committed(f, "g", "t", 1), 41);
    /* the append itself fails */
    f->store.append_error = SL_ERR_OFFLINE;
    commit_send(f, "g", a.generation, a.id, NULL, &op3);
    assert_int_equal(op3.calls, 1);
    assert_int_equal(op3.status, SL_ERR_OFFLINE);
    assert_int_equal(committed(f, "g", "t", 1), 41);
    f->store.append_error = 0;
    f->store.mode = STORE_IMMEDIATE;
    check_replay(f);

    /* after shutdown everything is refused */
    sl_coord_shutdown(f->c);
    commit_send(f, "g", a.generation, a.id, NULL, &op3);
    assert_int_equal(op3.status, SL_ERR_CLOSED);
    join_req(f, "g", &a);
    assert_int_equal(a.j.error, SL_ERR_CLOSED);
}

static void test_sync_store_failure(void **state)
{
    fx *f = *state;
    mem a, b;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    mem *ms[] = {&a, &b};
    join_all(f, "g", ms, 2);
    mem *leader = leader_of(ms, 2), *follower = leader == &a ? &b : &a;
    f->store.mode = STORE_DEFERRED;
    sl_sync_assignment as[] = {{S(a.id), S("A")}, {S(b.id), S("B")}};
    sync_req(f, "g", follower, NULL, 0);
    sync_req(f, "g", leader, as, 2);
    store_complete_all(&f->store, SL_ERR_IO);
    assert_int_equal(a.s.calls, 1);
    assert_int_equal(b.s.calls, 1);
    assert_int_equal(a.s.error, SL_ERR_IO);
    assert_int_equal(b.s.error, SL_ERR_IO);
    assert_string_equal(describe(f, "g").state, "PreparingRebalance");
    /* both rejoin; this time the append itself fails */
    f->store.mode = STORE_IMMEDIATE;
    join_req(f, "g", &a);
    join_req(f, "g", &b);
    join_take(&a);
    join_take(&b);
    leader = leader_of(ms, 2);
    follower = leader == &a ? &b : &a;
    f->store.append_error = SL_ERR_OFFLINE;
    sync_req(f, "g", follower, NULL, 0);
    sync_req(f, "g", leader, as, 2);
    assert_int_equal(a.s.error, SL_ERR_OFFLINE);
    assert_int_equal(b.s.error, SL_ERR_OFFLINE);
    f->store.append_error = 0;
    join_req(f, "g", &a);
    join_req(f, "g", &b);
    join_take(&a);
    join_take(&b);
    sync_all(f, "g", ms, 2);
    check_replay(f);
}

static void test_sync_after_group_moved_on(void **state)
{
    fx *f = *state;
    mem a, b, c;
    mem_init(&a, "ca", NULL);
    mem_init(&b, "cb", NULL);
    mem_init(&c, "cc", NULL);
    mem *ms[] = {&a, &b};
    join_all(f, "g", ms, 2);
    mem *leader = leader_of(ms, 2), *follower = leader == &a ? &b : &a;
    f->store.mode = STORE_DEFERRED;
    sl_sync_assignment as[] = {{S(a.id), S("A")}, {S(b.id), S("B")}};
    sync_req(f, "g", follower, NULL, 0);
    sync_req(f, "g", leader, as, 2);
    /* a newcomer arrives while the assignment is being written */
    join_new(f, "g", &c);
    assert_int_equal(a.s.error, SL_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(b.s.error, SL_ERR_REBALANCE_IN_PROGRESS);
    store_complete_all(&f->store, 0);
    assert_string_equal(describe(f, "g").state, "PreparingRebalance");
    assert_int_equal(a.s.calls, 1);
    f->store.mode = STORE_IMMEDIATE;
    join_req(f, "g", &a);
    join_req(f, "g", &b);
    join_take(&a);
    join_take(&b);
    join_take(&c);
    mem *ms3[] = {&a, &b, &c};
    sync_all(f, "g", ms3, 3);
    check_replay(f);
}

static void test_offset_expiry(void **state)
{
    fx *f = *state;
    f->cfg.offsets_retention_ms = 60000;
    fx_reconfigure(f);
    int64_t t = f->now;
    assert_int_equal(commit1(f, "old", -1, "", NULL, "t", 0, 1), 0);
    f->now = t + 30000;
    assert_int_equal(commit1(f, "old", -1, "", NULL, "t", 1, 2), 0);
    f->now = t + 59999;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(committed(f, "old", "t", 0), 1);
    f->now = t + 60000;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(committed(f, "old", "t", 0), -1);
    assert_int_equal(committed(f, "old", "t", 1), 2);
    assert_int_equal(stats(f).offsets_expired, 1);
    assert_int_equal(count_records(&f->store, SL_GREC_KEY_OFFSET_V1, true, "old"), 1);
    check_replay(f);
    f->now = t + 90000;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(committed(f, "old", "t", 1), -1);
    assert_string_equal(describe(f, "old").state, "Dead");
    assert_false(sl_coord_group_exists(f->c, S("old")));
    assert_int_equal(stats(f).groups, 0);
    assert_int_equal(count_records(&f->store, SL_GREC_KEY_GROUP, true, "old"), 1);
    check_replay(f);

    /* offsets of a group with members do not expire; after the last member
     * leaves, the retention counts from then */
    mem a;
    mem_init(&a, "ca", NULL);
    a.session_ms = 100000;
    mem *ms[] = {&a};
    form_group(f, "live", ms, 1);
    assert_int_equal(commit_member(f, "live", &a, "t", 0, 7), 0);
    f->now += 90000;
    assert_int_equal(heartbeat(f, "live", &a), 0);
    sl_coord_tick(f->c, f->now);
    assert_int_equal(committed(f, "live", "t", 0), 7);
    assert_int_equal(sl_coord_leave(f->c, S("live"), S(a.id), NOSTR, f->now), 0);
    int64_t left = f->now;
    f->now = left + 59999;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(committed(f, "live", "t", 0), 7);
    check_replay(f);
    f->now = left + 60000;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(committed(f, "live", "t", 0), -1);
    assert_false(sl_coord_group_exists(f->c, S("live")));
    check_replay(f);
}

static void test_delete_group(void **state)
{
    fx *f = *state;
    commit_op op = {0};
    assert_int_equal(sl_coord_delete_group(f->c, S("nope"), f->now, on_done, &op),
                     SL_ERR_NOT_FOUND);
    mem a;
    mem_init(&a, "ca", NULL);
    mem *ms[] = {&a};
    form_group(f, "g", ms, 1);
    assert_int_equal(commit_member(f, "g", &a, "t", 0, 5), 0);
    assert_int_equal(commit_member(f, "g", &a, "t", 1, 6), 0);
    assert_int_equal(commit1(f, "keep", -1, "", NULL, "t", 0, 9), 0);
    assert_int_equal(sl_coord_delete_group(f->c, S("g"), f->now, on_done, &op), SL_ERR_NOT_EMPTY);
    assert_int_equal(op.calls, 0);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(a.id), NOSTR, f->now), 0);
    f->store.mode = STORE_DEFERRED;
    assert_int_equal(sl_coord_delete_group(f->c, S("g"), f->now, on_done, &op), 0);
    assert_int_equal(op.calls, 0);
    assert_string_equal(describe(f, "g").state, "Dead");
    assert_int_equal(committed(f, "g", "t", 0), -1);
    store_complete_all(&f->store, 0);
    assert_int_equal(op.calls, 1);
    assert_int_equal(op.status, 0);
    assert_int_equal(count_records(&f->store, SL_GREC_KEY_OFFSET_V1, true, "g"), 2);
    assert_int_equal(count_records(&f->store, SL_GREC_KEY_GROUP, true, "g"), 1);
    assert_int_equal(sl_coord_delete_group(f->c, S("g"), f->now, on_done, &op), SL_ERR_NOT_FOUND);
    f->store.mode = STORE_IMMEDIATE;
    check_replay(f);
    /* the id can be used again */
    assert_int_equal(commit1(f, "g", -1, "", NULL, "t", 0, 1), 0);
    check_replay(f);
}

/* ConsumerProtocolSubscription v0 naming `topic`. */
static size_t subscription(uint8_t *out, const char *topic)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_i16(&b, 0);
    sl_buf_put_i32(&b, 1);
    sl_buf_put_i16(&b, (int16_t)strlen(topic));
    sl_buf_put(&b, topic, strlen(topic));
    sl_buf_put_i32(&b, -1);
    size_t n = b.len;
    memcpy(out, b.data, n);
    sl_buf_fini(&b);
    return n;
}

static void test_delete_offsets(void **state)
{
    fx *f = *state;
    uint8_t sub[64];
    size_t sublen = subscription(sub, "t1");
    mem a;
    mem_init(&a, "ca", NULL);
    a.metas[0] = (sl_gstr){(const char *)sub, (int32_t)sublen};
    mem *ms[] = {&a};
    form_group(f, "g", ms, 1);
    assert_int_equal(commit_member(f, "g", &a, "t1", 0, 1), 0);
    assert_int_equal(commit_member(f, "g", &a, "t2", 0, 2), 0);
    assert_int_equal(commit_member(f, "g", &a, "t2", 1, 3), 0);
    assert_true(sl_coord_subscribed(f->c, S("g"), S("t1")));
    assert_false(sl_coord_subscribed(f->c, S("g"), S("t2")));
    commit_op op = {0};
    int32_t p0[] = {0};
    assert_int_equal(sl_coord_delete_offsets(f->c, S("nope"), S("t2"), p0, 1, f->now, on_done, &op),
                     SL_ERR_NOT_FOUND);
    assert_int_equal(sl_coord_delete_offsets(f->c, S("g"), S("t1"), p0, 1, f->now, on_done, &op),
                     SL_ERR_NOT_EMPTY);
    assert_int_equal(op.calls, 0);
    assert_int_equal(sl_coord_delete_offsets(f->c, S("g"), S("t2"), p0, 1, f->now, on_done, &op),
                     0);
    assert_int_equal(op.calls, 1);
    assert_int_equal(committed(f, "g", "t2", 0), -1);
    assert_int_equal(committed(f, "g", "t2", 1), 3);
    /* nothing committed there: fine, and the callback still comes */
    int32_t p7[] = {7};
    assert_int_equal(sl_coord_delete_offsets(f->c, S("g"), S("t2"), p7, 1, f->now, on_done, &op),
                     0);
    assert_int_equal(op.calls, 2);
    check_replay(f);
    /* once the group is empty its subscription no longer protects t1 */
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(a.id), NOSTR, f->now), 0);
    assert_false(sl_coord_subscribed(f->c, S("g"), S("t1")));
    assert_int_equal(sl_coord_delete_offsets(f->c, S("g"), S("t1"), p0, 1, f->now, on_done, &op),
                     0);
    assert_int_equal(committed(f, "g", "t1", 0), -1);
    check_replay(f);
}

static void test_pending_member_expiry(void **state)
{
    fx *f = *state;
    mem a, p;
    mem_init(&a, "ca", NULL);
    mem_init(&p, "cp", NULL);
    a.session_ms = 60000;
    mem *ms[] = {&a};
    form_group(f, "g", ms, 1);
    uint64_t r0 = stats(f).rebalances;
    /* p gets its member id and never comes back */
    join_req(f, "g", &p);
    assert_int_equal(p.j.error, SL_ERR_MEMBER_ID_REQUIRED);
    for (int i = 0; i < 4; i++) {
        f->now += 4000;
        assert_int_equal(heartbeat(f, "g", &a), 0);
        sl_coord_tick(f->c, f->now);
    }
    /* forgetting it is no reason to rebalance */
    assert_string_equal(describe(f, "g").state, "Stable");
    assert_int_equal(stats(f).rebalances, r0);
    assert_int_equal(heartbeat(f, "g", &a), 0);
    strcpy(p.id, p.j.member_id);
    join_req(f, "g", &p);
    assert_int_equal(p.j.error, SL_ERR_UNKNOWN_MEMBER);
    /* nor for an empty group */
    join_req(f, "e", &p);
    p.id[0] = '\0';
    join_req(f, "e", &p);
    assert_int_equal(p.j.error, SL_ERR_MEMBER_ID_REQUIRED);
    f->now += 20000;
    sl_coord_tick(f->c, f->now);
    desc_out d = describe(f, "e");
    assert_true(strcmp(d.state, "Empty") == 0 || strcmp(d.state, "Dead") == 0);
    assert_int_equal(d.generation, 0);

    /* a rebalance waits for a pending member until its session timeout */
    mem b, q;
    mem_init(&b, "cb", NULL);
    mem_init(&q, "cq", NULL);
    join_new(f, "g", &b);
    join_req(f, "g", &q);
    assert_int_equal(q.j.error, SL_ERR_MEMBER_ID_REQUIRED);
    int64_t t = f->now;
    join_req(f, "g", &a);
    f->now = t + 9999;
    sl_coord_tick(f->c, f->now);
    assert_int_equal(a.j.calls, 0);
    f->now = t + 10000;
    sl_coord_tick(f->c, f->now);
    join_take(&a);
    join_take(&b);
    assert_int_equal(a.j.nmembers + b.j.nmembers, 2);
}

static void test_protocol_type_of_empty_group(void **state)
{
    fx *f = *state;
    mem a, k;
    mem_init(&a, "ca", NULL);
    mem *ms[] = {&a};
    form_group(f, "g", ms, 1);
    assert_int_equal(sl_coord_leave(f->c, S("g"), S(a.id), NOSTR, f->now), 0);
    /* an empty group takes the protocol type of its next first member */
    mem_init(&k, "ck", NULL);
    k.ptype = "connect";
    mem *ks[] = {&k};
    form_group(f, "g", ks, 1);
    desc_out d = describe(f, "g");
    assert_string_equal(d.protocol_type, "connect");
    check_replay(f);
}

/* A group id with a NUL byte would be cut short as a map key: refused. */
static void test_group_id_with_nul(void **state)
{
    fx *f = *state;
    static const char id1[] = {'g', 0, 'x'}, id2[] = {'g', 0, 'y'};
    sl_gstr g1 = {id1, 3}, g2 = {id2, 3};
    for (int i = 0; i < 2; i++) {
        sl_commit_offset o = {S("t"), 0, 5, -1, NOSTR, 0};
        sl_commit_params p = {i ? g2 : g1, -1, S(""), NOSTR, &o, 1};
        commit_op op = {0};
        sl_coord_commit(f->c, &p, f->now, on_done, &op);
        assert_int_equal(op.status, SL_ERR_INVALID_ARG);
    }
    sl_join_protocol ps[] = {{S("range"), S("m")}};
    sl_join_params jp = {.group_id = g1,
                         .member_id = S(""),
                         .instance_id = NOSTR,
                         .client_id = S("c"),
                         .client_host = S("/h"),
                         .session_timeout_ms = 10000,
                         .rebalance_timeout_ms = 10000,
                         .protocol_type = S("consumer"),
                         .protocols = ps,
                         .nprotocols = 1};
    join_out jo = {0};
    sl_coord_join(f->c, &jp, f->now, on_join, &jo);
    assert_int_equal(jo.error, SL_ERR_INVALID_ARG);
    assert_int_equal(stats(f).groups, 0);
    assert_int_equal(f->store.nbatches, 0);
    /* nor does one come from the log */
    sl_buf k, v;
    sl_buf_init(&k);
    sl_buf_init(&v);
    sl_grec_offset_key(&k, g1, S("t"), 0);
    sl_grec_offset_value(&v, 5, -1, S(""), f->now);
    assert_int_equal(
        sl_coord_load_record(f->c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now),
        SL_ERR_CORRUPT);
    sl_buf_reset(&k);
    sl_grec_offset_key(&k, g2, S("t"), 0);
    assert_int_equal(
        sl_coord_load_record(f->c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now),
        SL_ERR_CORRUPT);
    assert_int_equal(stats(f).groups, 0);
    assert_int_equal(sl_coord_delete_group(f->c, g1, f->now, on_done, NULL), SL_ERR_NOT_FOUND);
    sl_buf_fini(&k);
    sl_buf_fini(&v);
}

/* Everything at once, several groups over several partitions, replayed. */
static void test_persistence_replay(void **state)
{
    fx *f = *state;
    f->cfg.offsets_partitions = 3;
    fx_reconfigure(f);
    char names[6][16];
    mem m[6][2];
    for (int g = 0; g < 6; g++) {
        snprintf(names[g], sizeof names[g], "group-%d", g);
        mem_init(&m[g][0], "c0", NULL);
        mem_init(&m[g][1], "c1", g % 2 ? "inst-1" : NULL);
        mem *ms[] = {&m[g][0], &m[g][1]};
        form_group(f, names[g], ms, 2);
        for (int p = 0; p < 4; p++)
            for (int round = 0; round < 3; round++)
                assert_int_equal(
                    commit_member(f, names[g], &m[g][p % 2], "topic", p, 100 * g + 10 * round + p),
                    0);
    }
    /* group-0: everyone leaves; group-1: deleted; group-2: offsets deleted */
    assert_int_equal(sl_coord_leave(f->c, S("group-0"), S(m[0][0].id), NOSTR, f->now), 0);
    assert_int_equal(sl_coord_leave(f->c, S("group-0"), S(m[0][1].id), NOSTR, f->now), 0);
    assert_int_equal(sl_coord_leave(f->c, S("group-1"), S(m[1][0].id), NOSTR, f->now), 0);
    assert_int_equal(sl_coord_leave(f->c, S("group-1"), S(""), S("inst-1"), f->now), 0);
    commit_op op = {0};
    assert_int_equal(sl_coord_delete_group(f->c, S("group-1"), f->now, on_done, &op), 0);
    int32_t parts[] = {1, 3};
    assert_int_equal(
        sl_coord_delete_offsets(f->c, S("group-2"), S("topic"), parts, 2, f->now, on_done, &op), 0);
    /* simple-commit groups */
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "simple-%d", i);
        assert_int_equal(commit1(f, name, -1, "", NULL, "x", i, i), 0);
    }
    /* a commit that failed is not durable */
    f->store.mode = STORE_DEFERRED;
    commit_op bad = {0};
    commit_add(&bad, "topic", 0, 999999, NULL);
    commit_send(f, "group-3", m[3][0].generation, m[3][0].id, NULL, &bad);
    store_complete_all(&f->store, SL_ERR_IO);
    f->store.mode = STORE_IMMEDIATE;
    check_partitions(f);
    bool used[3] = {false, false, false};
    for (size_t i = 0; i < f->store.nbatches; i++)
        used[f->store.batches[i].partition] = true;
    assert_true(used[0] && used[1] && used[2]);
    check_replay(f);

    /* the replayed coordinator carries on: members heartbeat with their
     * generation; those that do not come back expire */
    fake_store into = {0};
    sl_coord *c2 = replay(&f->store, &f->cfg, &into, f->now);
    sl_coord *live = f->c;
    f->c = c2;
    assert_int_equal(heartbeat(f, "group-3", &m[3][0]), 0);
    sync_req(f, "group-3", &m[3][1], NULL, 0);
    assert_int_equal(m[3][1].s.error, 0);
    assert_true(blob_is(&m[3][1].s.assignment, "a-c1"));
    assert_int_equal(commit_member(f, "group-3", &m[3][0], "topic", 0, 1000), 0);
    /* group-5's static member restarts after the broker did: it takes its
     * place again without a rebalance */
    uint64_t r0 = stats(f).rebalances;
    mem s5;
    mem_init(&s5, "c1", "inst-1");
    join_req(f, "group-5", &s5);
    join_take(&s5);
    assert_int_equal(s5.generation, m[5][1].generation);
    assert_int_equal(stats(f).rebalances, r0);
    sync_req(f, "group-5", &s5, NULL, 0);
    assert_true(blob_is(&s5.s.assignment, "a-c1"));
    assert_int_equal(heartbeat(f, "group-5", &m[5][1]), SL_ERR_FENCED_INSTANCE);
    f->now += 9000;
    assert_int_equal(heartbeat(f, "group-3", &m[3][0]), 0);
    assert_int_equal(heartbeat(f, "group-3", &m[3][1]), 0);
    assert_int_equal(heartbeat(f, "group-5", &m[5][0]), 0);
    assert_int_equal(heartbeat(f, "group-5", &s5), 0);
    f->now += 2000;
    sl_coord_tick(f->c, f->now);
    assert_string_equal(describe(f, "group-3").state, "Stable");
    assert_string_equal(describe(f, "group-5").state, "Stable");
    /* nobody of group-4 came back: both expired, the group is empty */
    desc_out d4 = describe(f, "group-4");
    assert_string_equal(d4.state, "Empty");
    assert_int_equal(d4.nmembers, 0);
    assert_int_equal(d4.generation, m[4][0].generation + 1);
    assert_int_equal(heartbeat(f, "group-4", &m[4][0]), SL_ERR_UNKNOWN_MEMBER);
    f->c = live;
    sl_coord_free(c2);
    store_fini(&into);
}

/* Malformed records are refused (or skipped) without harm. */
static void test_load_malformed(void **state)
{
    fx *f = *state;
    sl_coord *c = f->c;
    uint8_t junk[] = {0, 1, 0, 3, 'a', 'b'};
    assert_true(sl_coord_load_record(c, NULL, -1, NULL, -1, f->now) < 0);
    assert_true(sl_coord_load_record(c, junk, 1, NULL, -1, f->now) < 0);
    assert_true(sl_coord_load_record(c, junk, sizeof junk, NULL, -1, f->now) < 0);
    uint8_t v9[] = {0, 9, 0, 1, 'g'};
    assert_int_equal(sl_coord_load_record(c, v9, sizeof v9, NULL, -1, f->now),
                     SL_ERR_UNSUPPORTED_VERSION);
    sl_buf k, v;
    sl_buf_init(&k);
    sl_buf_init(&v);
    /* key with trailing bytes */
    sl_grec_group_key(&k, S("g"));
    sl_buf_put_i8(&k, 0);
    assert_int_equal(sl_coord_load_record(c, k.data, (int32_t)k.len, NULL, -1, f->now),
                     SL_ERR_CORRUPT);
    /* tombstones of things never seen */
    sl_buf_reset(&k);
    sl_grec_group_key(&k, S("g"));
    assert_int_equal(sl_coord_load_record(c, k.data, (int32_t)k.len, NULL, -1, f->now), 0);
    sl_buf_reset(&k);
    sl_grec_offset_key(&k, S("g"), S("t"), 0);
    assert_int_equal(sl_coord_load_record(c, k.data, (int32_t)k.len, NULL, -1, f->now), 0);
    /* offset value of an unknown version / truncated */
    sl_buf_put_i16(&v, 2);
    sl_buf_put_i64(&v, 5);
    assert_true(sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now) <
                0);
    sl_buf_reset(&v);
    sl_grec_offset_value(&v, 5, 1, S("m"), f->now);
    assert_true(
        sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len - 1, f->now) < 0);
    assert_int_equal(
        sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now), 0);
    assert_int_equal(committed(f, "g", "t", 0), 5);
    /* group value claiming more members than bytes */
    sl_buf_reset(&k);
    sl_grec_group_key(&k, S("g"));
    sl_buf_reset(&v);
    sl_grec_group hdr = {S("consumer"), 4, S("range"), S("m1"), f->now, 1000000};
    sl_grec_group_value(&v, &hdr);
    assert_true(sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now) <
                0);
    /* a truncated member list */
    sl_buf_reset(&v);
    hdr.nmembers = 2;
    sl_grec_group_value(&v, &hdr);
    sl_grec_member gm = {S("m1"), NOSTR, S("c"), S("/h"), 1000, 10000, S("sub"), S("asg")};
    sl_grec_group_member(&v, &gm);
    assert_true(sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now) <
                0);
    /* a good record with one member, then damaged ones that change nothing */
    sl_buf_reset(&v);
    hdr.nmembers = 1;
    sl_grec_group_value(&v, &hdr);
    sl_grec_group_member(&v, &gm);
    assert_int_equal(
        sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now), 0);
    sl_buf_put_i8(&v, 0); /* trailing byte */
    assert_true(sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now) <
                0);
    sl_buf_reset(&v);
    sl_grec_group nop = {S("consumer"), 9, NOSTR, S("m1"), f->now, 1}; /* members, no protocol */
    sl_grec_group_value(&v, &nop);
    sl_grec_group_member(&v, &gm);
    assert_true(sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now) <
                0);
    desc_out d0 = describe(f, "g");
    assert_string_equal(d0.state, "Stable");
    assert_int_equal(d0.generation, 4);
    assert_int_equal(d0.nmembers, 1);
    assert_true(blob_is(&d0.members[0].assignment, "asg"));
    /* a leader that is not a member: the next rebalance chooses one that is */
    sl_buf_reset(&k);
    sl_grec_group_key(&k, S("h"));
    sl_buf_reset(&v);
    sl_grec_group lost = {S("consumer"), 3, S("range"), S("gone"), f->now, 1};
    sl_grec_group_value(&v, &lost);
    sl_grec_group_member(&v, &gm);
    assert_int_equal(
        sl_coord_load_record(c, k.data, (int32_t)k.len, v.data, (int32_t)v.len, f->now), 0);
    sl_coord_loaded(c, f->now);
    mem m1;
    mem_init(&m1, "c", NULL);
    strcpy(m1.id, "m1");
    m1.generation = 3;
    m1.metas[0] = S("sub2");
    assert_int_equal(heartbeat(f, "h", &m1), 0);
    join_req(f, "h", &m1); /* new metadata: a rebalance */
    join_take(&m1);
    assert_int_equal(m1.generation, 4);
    assert_string_equal(m1.j.leader, "m1");
    assert_int_equal(m1.j.nmembers, 1);
    /* whatever was refused, the group that exists is consistent */
    sl_coord_loaded(c, f->now);
    desc_out d = describe(f, "g");
    assert_true(d.nmembers <= 2);
    assert_int_equal(committed(f, "g", "t", 0), 5);
    f->now += 60000;
    sl_coord_tick(c, f->now);
    sl_buf_fini(&k);
    sl_buf_fini(&v);
}

int main(void)
{
    sl_log_set_level(SL_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partition_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_member_id_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_and_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missed_join_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_vote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_max_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_membership, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_rejoin_waits_for_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_rejoin_new_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simple_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_store_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_after_group_moved_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_member_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_type_of_empty_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_id_with_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
