/* libFuzzer target: loading __consumer_offsets records into the group
 * coordinator (sl_coord_load_record), then running the coordinator on the
 * state it loaded.
 *
 * Input: a sequence of records [u16 big-endian key length][key]
 * [u16 big-endian value length, 0xffff = null][value]. An input that is not
 * such a sequence is fed whole as a key (tombstone), and as the value of an
 * offset key and of a group key, so the raw decoders see arbitrary bytes.
 *
 * After loading, every group is described and listed, its loaded members
 * heartbeat, sync, commit and leave, a newcomer joins, and the clock jumps
 * past every session, rebalance and retention timeout. Checked invariants:
 * nothing crashes or aborts (illegal state transitions abort), and every
 * batch the coordinator writes meanwhile is a valid batch whose records load
 * back without error into a second coordinator. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/log.h"
#include "group/coordinator.h"
#include "group/records.h"
#include "record/iter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW        1700000000000LL
#define MAX_GROUPS 32
#define MAX_IDS    32

typedef struct checker {
    sl_coord *reload; /* receives every record written */
    sl_buf scratch;
} checker;

static int check_append(void *ctx, int32_t partition, uint8_t *batch, size_t len,
                        sl_coord_done_cb done, void *arg)
{
    checker *ck = ctx;
    (void)partition;
    sl_batch_iter bi;
    sl_batch_iter_init(&bi, batch, len, true);
    sl_batch_header h;
    const uint8_t *b;
    int n = 0;
    while (sl_batch_iter_next(&bi, &h, &b) > 0) {
        n++;
        sl_record_iter ri;
        if (sl_record_iter_init(&ri, b, &h, &ck->scratch, 1 << 24) < 0) abort();
        sl_record r;
        int rc;
        while ((rc = sl_record_iter_next(&ri, &r)) > 0)
            if (sl_coord_load_record(ck->reload, r.key, r.key_len, r.value, r.value_len, NOW) < 0)
                abort();
        if (rc < 0) abort();
    }
    if (n != 1 || bi.truncated || bi.err) abort();
    done(arg, 0);
    return 0;
}

static int discard_append(void *ctx, int32_t partition, uint8_t *batch, size_t len,
                          sl_coord_done_cb done, void *arg)
{
    (void)ctx;
    (void)partition;
    (void)batch;
    (void)len;
    done(arg, 0);
    return 0;
}

/* Copies of what DescribeGroups shows (callback pointers are borrowed). */
typedef struct ids {
    char *group[MAX_GROUPS];
    int ngroups;
    char *member[MAX_IDS];
    char *instance[MAX_IDS];
    int32_t generation;
    int nmembers;
} ids;

static char *dup_g(sl_gstr s)
{
    if (s.len < 0) return NULL;
    char *d = malloc((size_t)s.len + 1);
    if (s.len) memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

static void on_list(void *arg, const sl_group_info *g)
{
    ids *x = arg;
    if (x->ngroups < MAX_GROUPS) x->group[x->ngroups++] = dup_g(g->group_id);
}

static void on_describe(void *arg, const sl_group_info *g)
{
    ids *x = arg;
    x->generation = g->generation;
    for (int32_t i = 0; i < g->nmembers && x->nmembers < MAX_IDS; i++) {
        x->member[x->nmembers] = dup_g(g->members[i].member_id);
        x->instance[x->nmembers] = dup_g(g->members[i].instance_id);
        x->nmembers++;
    }
}

static void on_offset(void *arg, sl_gstr topic, int32_t partition, int64_t offset,
                      int32_t leader_epoch, sl_gstr metadata)
{
    (void)topic;
    (void)partition;
    (void)offset;
    (void)leader_epoch;
    (void)metadata;
    (*(int *)arg)++;
}

static void on_join(void *arg, const sl_join_result *r)
{
    (void)r;
    (*(int *)arg)++;
}

static void on_sync(void *arg, const sl_sync_result *r)
{
    (void)r;
    (*(int *)arg)++;
}

static void on_done(void *arg, int status)
{
    (void)status;
    (*(int *)arg)++;
}

static sl_gstr G(const char *s)
{
    return (sl_gstr){s, s ? (int32_t)strlen(s) : -1};
}

/* Drives one loaded group through the coordinator's API. */
static void exercise(sl_coord *c, const char *group, int64_t now, int *calls)
{
    ids x = {0};
    sl_coord_describe(c, G(group), on_describe, &x);
    int n = 0;
    sl_coord_visit_offsets(c, G(group), on_offset, &n);
    for (int i = 0; i < x.nmembers; i++) {
        sl_gstr mid = G(x.member[i]), inst = G(x.instance[i]);
        sl_coord_heartbeat(c, G(group), x.generation, mid, inst, now);
        sl_sync_params sp = {G(group), x.generation, mid, inst, G(NULL), G(NULL), NULL, 0};
        sl_coord_sync(c, &sp, now, on_sync, calls);
        sl_commit_offset o = {G("t"), i, 42, -1, G("m"), 0};
        sl_commit_params cp = {G(group), x.generation, mid, inst, &o, 1};
        sl_coord_commit(c, &cp, now, on_done, calls);
        int64_t off;
        int32_t epoch;
        sl_gstr md;
        sl_coord_offset(c, G(group), G("t"), i, &off, &epoch, &md);
        sl_coord_subscribed(c, G(group), G("t"));
    }
    /* a newcomer (JoinGroup v3: no MEMBER_ID_REQUIRED) */
    sl_join_protocol ps[] = {{G("range"), G("meta")}};
    sl_join_params jp = {.group_id = G(group),
                         .member_id = G(""),
                         .instance_id = G(NULL),
                         .client_id = G("fuzz"),
                         .client_host = G("/127.0.0.1"),
                         .session_timeout_ms = 10000,
                         .rebalance_timeout_ms = 20000,
                         .protocol_type = G("consumer"),
                         .protocols = ps,
                         .nprotocols = 1};
    sl_coord_join(c, &jp, now, on_join, calls);
    /* the first loaded member rejoins with its id, the second leaves */
    if (x.nmembers > 0) {
        jp.member_id = G(x.member[0]);
        jp.instance_id = G(x.instance[0]);
        sl_coord_join(c, &jp, now, on_join, calls);
    }
    if (x.nmembers > 1) sl_coord_leave(c, G(group), G(x.member[1]), G(x.instance[1]), now);
    for (int i = 0; i < x.nmembers; i++) {
        free(x.member[i]);
        free(x.instance[i]);
    }
}

static void load(sl_coord *c, const uint8_t *key, int32_t key_len, const uint8_t *value,
                 int32_t value_len)
{
    sl_coord_load_record(c, key, key_len, value, value_len, NOW);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_log_set_level(SL_LOG_OFF);
    sl_coord_config cfg = {
        .offsets_partitions = 3,
        .initial_rebalance_delay_ms = 0,
        .min_session_timeout_ms = 6000,
        .max_session_timeout_ms = 300000,
        .max_size = 100,
        .offsets_retention_ms = 3600000,
        .offset_metadata_max_bytes = 4096,
    };
    checker ck;
    sl_buf_init(&ck.scratch);
    sl_coord_store discard = {NULL, discard_append};
    ck.reload = sl_coord_new(&cfg, &discard);
    sl_coord_store store = {&ck, check_append};
    sl_coord *c = sl_coord_new(&cfg, &store);

    size_t off = 0;
    bool framed = size >= 4;
    while (framed && off < size) {
        if (size - off < 4) {
            framed = false;
            break;
        }
        size_t kl = sl_load_be16(data + off);
        if (size - off - 2 < kl + 2) {
            framed = false;
            break;
        }
        size_t vl = sl_load_be16(data + off + 2 + kl);
        size_t vbytes = vl == 0xffff ? 0 : vl;
        if (size - off - 4 - kl < vbytes) framed = false;
        off += 4 + kl + vbytes;
    }
    if (framed) {
        for (off = 0; off < size;) {
            size_t kl = sl_load_be16(data + off);
            const uint8_t *key = data + off + 2;
            size_t vl = sl_load_be16(data + off + 2 + kl);
            const uint8_t *value = data + off + 4 + kl;
            bool null = vl == 0xffff;
            load(c, key, (int32_t)kl, null ? NULL : value, null ? -1 : (int32_t)vl);
            off += 4 + kl + (null ? 0 : vl);
        }
    } else {
        load(c, data, (int32_t)size, NULL, -1);
        sl_buf k;
        sl_buf_init(&k);
        sl_grec_offset_key(&k, G("g"), G("t"), 0);
        load(c, k.data, (int32_t)k.len, data, (int32_t)size);
        sl_buf_reset(&k);
        sl_grec_group_key(&k, G("g"));
        load(c, k.data, (int32_t)k.len, data, (int32_t)size);
        sl_buf_fini(&k);
    }
    sl_coord_loaded(c, NOW);

    ids groups = {0};
    sl_coord_list(c, on_list, &groups);
    int calls = 0;
    for (int i = 0; i < groups.ngroups; i++)
        exercise(c, groups.group[i], NOW + 1, &calls);
    /* past every session and rebalance timeout, then past retention */
    sl_coord_tick(c, NOW + 400000);
    sl_coord_tick(c, NOW + 800000);
    for (int i = 0; i < groups.ngroups; i++)
        exercise(c, groups.group[i], NOW + 800001, &calls);
    sl_coord_tick(c, NOW + 2000000);
    sl_coord_tick(c, NOW + 10000000);
    for (int i = 0; i < groups.ngroups; i++) {
        int done = 0;
        if (sl_coord_delete_group(c, G(groups.group[i]), NOW + 10000001, on_done, &done) == 0 &&
            done != 1)
            abort();
        free(groups.group[i]);
    }
    sl_coord_free(c);
    sl_coord_free(ck.reload);
    sl_buf_fini(&ck.scratch);
    return 0;
}
