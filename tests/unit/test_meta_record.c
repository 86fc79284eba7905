/* Unit tests for src/meta records and image, without Raft: codec round trips
 * of every record type, refusal of truncated / unknown / malformed input,
 * topic name rules, deterministic apply with its checks and events, and the
 * snapshot encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "meta/image.h"
#include "meta/record.h"

static const int32_t R1[] = {1};
static const int32_t R3[] = {1, 2, 3};
static const int32_t ISR2[] = {3, 1};

static const sl_meta_partition_spec PS[] = {
    {.leader = 1, .leader_epoch = 0, .n_replicas = 1, .n_isr = 1, .replicas = R1, .isr = R1},
    {.leader = 3, .leader_epoch = 7, .n_replicas = 3, .n_isr = 2, .replicas = R3, .isr = ISR2},
};

static const sl_meta_config_op TOPIC_CFG[] = {
    {{"cleanup.policy", 14}, {"compact", 7}},
    {{"retention.ms", 12}, {"86400000", 8}},
};
static const sl_meta_config_op ALTER_OPS[] = {
    {{"retention.ms", 12}, {"1000", 4}},
    {{"cleanup.policy", 14}, {NULL, 0}},
};

static const uint8_t ID_A[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t ID_B[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87};

/* One record of every type. */
static size_t sample_records(sl_meta_record *out)
{
    size_t n = 0;
    sl_meta_record r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_REGISTER_BROKER;
    r.broker.node_id = 1;
    r.broker.port = 9092;
    r.broker.host = sl_meta_cstr("broker-1.example");
    r.broker.rack = sl_meta_cstr("rack-a");
    out[n++] = r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_REGISTER_BROKER;
    r.broker.node_id = 0;
    r.broker.port = 1;
    r.broker.host = sl_meta_cstr("h");
    out[n++] = r; /* null rack */

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_TOPIC;
    r.topic.name = sl_meta_cstr("orders.v1");
    memcpy(r.topic.id, ID_A, 16);
    r.topic.n_partitions = 2;
    r.topic.partitions = PS;
    r.topic.n_configs = 2;
    r.topic.configs = TOPIC_CFG;
    out[n++] = r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_REMOVE_TOPIC;
    memcpy(r.remove_topic.id, ID_A, 16);
    out[n++] = r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_PARTITIONS;
    memcpy(r.partitions.id, ID_A, 16);
    r.partitions.first = 2;
    r.partitions.n = 2;
    r.partitions.partitions = PS;
    out[n++] = r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_CONFIG;
    r.config.resource = SL_META_CONFIG_TOPIC;
    memcpy(r.config.topic_id, ID_A, 16);
    r.config.n_ops = 2;
    r.config.ops = ALTER_OPS;
    out[n++] = r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_CONFIG;
    r.config.resource = SL_META_CONFIG_BROKER;
    r.config.node_id = -1;
    r.config.replace = true;
    r.config.n_ops = 1;
    r.config.ops = ALTER_OPS;
    out[n++] = r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_PRODUCER_IDS;
    r.producer_ids.node_id = 1;
    r.producer_ids.first_id = 5000000000LL;
    r.producer_ids.count = 1000;
    out[n++] = r;

    memset(&r, 0, sizeof r);
    r.type = SL_META_REC_PARTITION_CHANGE;
    memcpy(r.partition_change.topic_id, ID_A, 16);
    r.partition_change.partition = 1;
    r.partition_change.leader = 2;
    r.partition_change.leader_epoch = 8;
    r.partition_change.n_isr = 2;
    r.partition_change.isr = ISR2;
    out[n++] = r;
    return n;
}

static void encode(const sl_meta_record *r, sl_buf *b)
{
    sl_buf_reset(b);
    assert_int_equal(sl_meta_record_encode(r, b), 0);
}

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    sl_meta_record recs[16];
    size_t n = sample_records(recs);
    bool seen[SL_META_REC__MAX + 1] = {false};
    sl_buf a, b;
    sl_buf_init(&a);
    sl_buf_init(&b);
    sl_arena arena;
    sl_arena_init(&arena, 1024, 0);
    for (size_t i = 0; i < n; i++) {
        encode(&recs[i], &a);
        assert_int_equal(a.data[0], SL_META_RECORD_FORMAT);
        assert_int_equal(a.data[1], recs[i].type);
        assert_int_equal(a.data[2], 1);
        sl_meta_record d;
        assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), 0);
        assert_int_equal(d.type, recs[i].type);
        seen[d.type] = true;
        /* Re-encoding the decoded record gives the same bytes. */
        encode(&d, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        sl_arena_reset(&arena);
    }
    for (int t = 1; t <= SL_META_REC__MAX; t++)
        assert_true(seen[t]);

    /* Spot-check decoded fields. */
    encode(&recs[2], &a);
    sl_meta_record d;
    assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), 0);
    assert_int_equal(d.topic.name.len, 9);
    assert_memory_equal(d.topic.name.ptr, "orders.v1", 9);
    assert_memory_equal(d.topic.id, ID_A, 16);
    assert_int_equal(d.topic.n_partitions, 2);
    assert_int_equal(d.topic.partitions[1].leader, 3);
    assert_int_equal(d.topic.partitions[1].leader_epoch, 7);
    assert_int_equal(d.topic.partitions[1].n_replicas, 3);
    assert_int_equal(d.topic.partitions[1].replicas[2], 3);
    assert_int_equal(d.topic.partitions[1].n_isr, 2);
    assert_int_equal(d.topic.partitions[1].isr[0], 3);
    assert_int_equal(d.topic.n_configs, 2);
    assert_memory_equal(d.topic.configs[1].value.ptr, "86400000", 8);

    encode(&recs[1], &a);
    assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), 0);
    assert_null(d.broker.rack.ptr);
    encode(&recs[5], &a);
    assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), 0);
    assert_null(d.config.ops[1].value.ptr);
    assert_false(d.config.replace);
    encode(&recs[6], &a);
    assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), 0);
    assert_true(d.config.replace);
    assert_int_equal(d.config.node_id, -1);
    encode(&recs[7], &a);
    assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), 0);
    assert_true(d.producer_ids.first_id == 5000000000LL);

    sl_arena_fini(&arena);
    sl_buf_fini(&a);
    sl_buf_fini(&b);
}

static void test_truncated_and_trailing(void **state)
{
    (void)state;
    sl_meta_record recs[16];
    size_t n = sample_records(recs);
    sl_buf a;
    sl_buf_init(&a);
    sl_arena arena;
    sl_arena_init(&arena, 1024, 0);
    for (size_t i = 0; i < n; i++) {
        encode(&recs[i], &a);
        for (size_t len = 0; len < a.len; len++) {
            sl_meta_record d;
            int rc = sl_meta_record_decode(a.data, len, &arena, &d);
            assert_true(rc == SL_ERR_TRUNCATED || rc == SL_ERR_DECODE);
            sl_arena_reset(&arena);
        }
        /* One byte too many is as wrong as one too few. */
        sl_buf_put_i8(&a, 0);
        sl_meta_record d;
        assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), SL_ERR_DECODE);
    }
    sl_arena_fini(&arena);
    sl_buf_fini(&a);
}

static void test_unknown_and_malformed(void **state)
{
    (void)state;
    sl_arena arena;
    sl_arena_init(&arena, 1024, 0);
    sl_meta_record d;
    /* A type from a newer version: a clear error, not a crash or a guess. */
    const uint8_t unknown[] = {1, 42, 1, 0, 0xff, 0xff};
    assert_int_equal(sl_meta_record_decode(unknown, sizeof unknown, &arena, &d),
                     SL_ERR_UNSUPPORTED_VERSION);
    /* The same marked ignorable is skipped. */
    const uint8_t ignorable[] = {1, 42, 1, SL_META_RECORD_IGNORABLE, 0xff, 0xff};
    assert_int_equal(sl_meta_record_decode(ignorable, sizeof ignorable, &arena, &d), 0);
    assert_int_equal(d.type, SL_META_REC_SKIP);
    /* A newer version of a known type. */
    const uint8_t newer[] = {1, SL_META_REC_REMOVE_TOPIC, 2, 0};
    assert_int_equal(sl_meta_record_decode(newer, sizeof newer, &arena, &d),
                     SL_ERR_UNSUPPORTED_VERSION);
    /* A newer framing, an impossible framing, version 0, unknown flags. */
    const uint8_t fmt2[] = {2, 1, 1, 0};
    assert_int_equal(sl_meta_record_decode(fmt2, sizeof fmt2, &arena, &d),
                     SL_ERR_UNSUPPORTED_VERSION);
    const uint8_t fmt0[] = {0, 1, 1, 0};
    assert_int_equal(sl_meta_record_decode(fmt0, sizeof fmt0, &arena, &d), SL_ERR_DECODE);
    const uint8_t v0[] = {1, SL_META_REC_REMOVE_TOPIC, 0, 0};
    assert_int_equal(sl_meta_record_decode(v0, sizeof v0, &arena, &d), SL_ERR_DECODE);
    const uint8_t flags[] = {1, SL_META_REC_REMOVE_TOPIC, 1, 0x80};
    assert_int_equal(sl_meta_record_decode(flags, sizeof flags, &arena, &d),
                     SL_ERR_UNSUPPORTED_VERSION);

    /* Counts larger than the bytes left are refused before allocating:
     * a TOPIC claiming 100000 partitions in a few bytes. */
    uint8_t huge[64] = {1, SL_META_REC_TOPIC, 1, 0, 1, 'x'};
    size_t off = 6;
    memcpy(huge + off, ID_A, 16);
    off += 16;
    off += sl_put_uvarint(huge + off, SL_META_MAX_PARTITIONS);
    assert_int_equal(sl_meta_record_decode(huge, off + 5, &arena, &d), SL_ERR_TRUNCATED);
    assert_true(arena.used < 1024);
    /* Above the structural limit is malformed whatever follows. */
    off = 22;
    off += sl_put_uvarint(huge + off, SL_META_MAX_PARTITIONS + 1);
    assert_int_equal(sl_meta_record_decode(huge, off, &arena, &d), SL_ERR_DECODE);
    /* A topic name longer than 249 bytes. */
    uint8_t longname[300] = {1, SL_META_REC_TOPIC, 1, 0};
    off = 4 + sl_put_uvarint(longname + 4, 250);
    memset(longname + off, 'a', 250);
    assert_int_equal(sl_meta_record_decode(longname, off + 250, &arena, &d), SL_ERR_DECODE);
    /* A config record naming an unknown resource type. */
    const uint8_t badres[] = {1, SL_META_REC_CONFIG, 1, 0, 9, 0, 0, 0};
    assert_int_equal(sl_meta_record_decode(badres, sizeof badres, &arena, &d), SL_ERR_DECODE);
    /* An over-long varint. */
    const uint8_t badvar[] = {1, SL_META_REC_PRODUCER_IDS, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 1};
    assert_int_equal(sl_meta_record_decode(badvar, sizeof badvar, &arena, &d), SL_ERR_DECODE);

    /* The encoder refuses what the decoder would. */
    sl_meta_record r = {.type = SL_META_REC_TOPIC};
    r.topic.name = sl_meta_cstr(NULL);
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_meta_record_encode(&r, &b), SL_ERR_INVALID_ARG);
    r.type = 99;
    assert_int_equal(sl_meta_record_encode(&r, &b), SL_ERR_INVALID_ARG);
    assert_int_equal(b.len, 0);
    sl_buf_fini(&b);
    sl_arena_fini(&arena);
}

/* Raft entries carry a record plus zero padding to a multiple of 8 bytes. */
static void test_entry_padding(void **state)
{
    (void)state;
    sl_meta_record recs[16];
    size_t n = sample_records(recs);
    sl_buf a;
    sl_buf_init(&a);
    sl_arena arena;
    sl_arena_init(&arena, 1024, 0);
    size_t unpadded = 0;
    for (size_t i = 0; i < n; i++) {
        encode(&recs[i], &a);
        size_t len = a.len;
        unpadded += len % 8 != 0;
        sl_meta_record_pad(&a);
        assert_int_equal(a.len % 8, 0);
        assert_true(a.len - len < 8);
        sl_meta_record d;
        assert_int_equal(sl_meta_record_decode_entry(a.data, a.len, &arena, &d), 0);
        assert_int_equal(d.type, recs[i].type);
        if (a.len != len) {
            /* the strict decoder refuses the padding; a non-zero pad byte or
             * a length that is not a multiple of 8 is refused by both */
            assert_int_equal(sl_meta_record_decode(a.data, a.len, &arena, &d), SL_ERR_DECODE);
            a.data[a.len - 1] = 1;
            assert_int_equal(sl_meta_record_decode_entry(a.data, a.len, &arena, &d), SL_ERR_DECODE);
            a.data[a.len - 1] = 0;
            assert_int_not_equal(sl_meta_record_decode_entry(a.data, a.len - 1, &arena, &d), 0);
        }
        /* eight more zero bytes are not padding */
        sl_buf_put(&a, "\0\0\0\0\0\0\0\0", 8);
        assert_int_equal(sl_meta_record_decode_entry(a.data, a.len, &arena, &d), SL_ERR_DECODE);
        sl_arena_reset(&arena);
    }
    assert_true(unpadded > 0); /* the test exercised real padding */
    sl_arena_fini(&arena);
    sl_buf_fini(&a);
}

static void test_topic_names(void **state)
{
    (void)state;
    const char *good[] = {"a", "orders", "Orders-2024_v1.x",  "..a", "a..", "_",
                          "-", "...",    "__consumer_offsets"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(sl_meta_valid_topic_name(good[i], strlen(good[i])));
    const char *bad[] = {"", ".", "..", "a b", "a/b", "caf\xc3\xa9", "a:b", "a\nb", "t*"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(sl_meta_valid_topic_name(bad[i], strlen(bad[i])));
    char name[251];
    memset(name, 'x', sizeof name);
    assert_true(sl_meta_valid_topic_name(name, 249));
    assert_false(sl_meta_valid_topic_name(name, 250));
    assert_false(sl_meta_valid_topic_name(NULL, 0));
    /* An embedded NUL is not a valid character. */
    assert_false(sl_meta_valid_topic_name("a\0b", 3));
}

static void test_uuid_text(void **state)
{
    (void)state;
    char s[23];
    uint8_t back[16];
    sl_meta_uuid_format(ID_B, s);
    assert_int_equal(strlen(s), 22);
    assert_true(sl_meta_uuid_parse(s, back));
    assert_memory_equal(back, ID_B, 16);
    uint8_t zero[16] = {0};
    sl_meta_uuid_format(zero, s);
    assert_string_equal(s, "AAAAAAAAAAAAAAAAAAAAAA");
    assert_true(sl_meta_uuid_is_zero(zero));
    uint8_t one[16] = {[15] = 1};
    sl_meta_uuid_format(one, s);
    assert_string_equal(s, "AAAAAAAAAAAAAAAAAAAAAQ"); /* Kafka's METADATA_TOPIC_ID text */
    assert_false(sl_meta_uuid_parse("short", back));
    assert_false(sl_meta_uuid_parse("AAAAAAAAAAAAAAAAAAAAA*", back));
    assert_false(sl_meta_uuid_parse("AAAAAAAAAAAAAAAAAAAAAB", back)); /* stray low bits */
}

/* ---- image ---------------------------------------------------------------- */

typedef struct events {
    int n;
    int types[32];
    char names[32][64];
    int32_t old_count[32];
    int32_t node[32];
} events;

static void record_event(void *ctx, const sl_meta_event *ev)
{
    events *e = ctx;
    assert_true(e->n < 32);
    e->types[e->n] = ev->type;
    e->names[e->n][0] = '\0';
    if (ev->topic) snprintf(e->names[e->n], 64, "%s", sl_meta_topic_name(ev->topic));
    e->old_count[e->n] = ev->old_count;
    e->node[e->n] = ev->node_id;
    e->n++;
}

static sl_meta_record topic_rec(const char *name, const uint8_t id[16], uint32_t nparts)
{
    sl_meta_record r = {.type = SL_META_REC_TOPIC};
    r.topic.name = sl_meta_cstr(name);
    memcpy(r.topic.id, id, 16);
    r.topic.n_partitions = nparts;
    r.topic.partitions = PS; /* nparts <= 2 */
    return r;
}

static void test_image_apply_and_checks(void **state)
{
    (void)state;
    sl_meta_image *img = sl_meta_image_new("cluster-x");
    events ev = {0};

    sl_meta_record recs[16];
    sample_records(recs);
    assert_int_equal(sl_meta_image_apply(img, &recs[0], 1, record_event, &ev), 0);
    assert_int_equal(sl_meta_broker_count(img), 1);
    const sl_meta_broker *b = sl_meta_broker_by_id(img, 1);
    assert_non_null(b);
    assert_string_equal(sl_meta_broker_host(b), "broker-1.example");
    assert_int_equal(sl_meta_broker_port(b), 9092);
    assert_string_equal(sl_meta_broker_rack(b), "rack-a");
    assert_int_equal(sl_meta_image_apply(img, &recs[1], 2, record_event, &ev), 0);
    assert_int_equal(sl_meta_broker_node_id(sl_meta_broker_at(img, 0)), 0); /* sorted */
    assert_null(sl_meta_broker_rack(sl_meta_broker_by_id(img, 0)));

    /* create */
    sl_meta_record t = recs[2];
    assert_int_equal(sl_meta_image_apply(img, &t, 3, record_event, &ev), 0);
    const sl_meta_topic *tp = sl_meta_topic_by_name(img, "orders.v1", 9);
    assert_non_null(tp);
    assert_ptr_equal(sl_meta_topic_by_id(img, ID_A), tp);
    assert_int_equal(sl_meta_topic_partition_count(tp), 2);
    const sl_meta_partition *p1 = sl_meta_topic_partition(tp, 1);
    size_t n;
    const int32_t *rep = sl_meta_partition_replicas(p1, &n);
    assert_int_equal(n, 3);
    assert_int_equal(rep[1], 2);
    const int32_t *isr = sl_meta_partition_isr(p1, &n);
    assert_int_equal(n, 2);
    assert_int_equal(isr[1], 1);
    assert_int_equal(sl_meta_partition_leader(p1), 3);
    assert_int_equal(sl_meta_partition_leader_epoch(p1), 7);
    assert_null(sl_meta_topic_partition(tp, 2));
    assert_string_equal(sl_meta_topic_config(tp, "cleanup.policy"), "compact");
    assert_null(sl_meta_topic_config(tp, "segment.bytes"));
    assert_int_equal(sl_meta_image_offset(img), 3);

    /* same name, same id, colliding name, bad name, zero id */
    uint8_t id2[16];
    memcpy(id2, ID_B, 16);
    sl_meta_record dup = topic_rec("orders.v1", id2, 1);
    assert_int_equal(sl_meta_image_apply(img, &dup, 4, record_event, &ev), SL_ERR_EXISTS);
    dup = topic_rec("other", ID_A, 1);
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_EXISTS);
    dup = topic_rec("orders_v1", id2, 1);
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_TOPIC);
    assert_ptr_equal(sl_meta_topic_colliding(img, "orders_v1", 9), tp);
    assert_null(sl_meta_topic_colliding(img, "orders.v1", 9)); /* itself is not a collision */
    dup = topic_rec("bad name", id2, 1);
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_TOPIC);
    uint8_t zero[16] = {0};
    dup = topic_rec("fine", zero, 1);
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_ARG);
    dup = topic_rec("fine", id2, 0);
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_PARTITIONS);
    /* leader not a replica; isr not a subset; duplicate replica */
    sl_meta_partition_spec bad = PS[0];
    bad.leader = 9;
    dup = topic_rec("fine", id2, 1);
    dup.topic.partitions = &bad;
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_ARG);
    bad = PS[1];
    bad.isr = (const int32_t[]){1, 7};
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_ARG);
    bad = PS[1];
    bad.replicas = (const int32_t[]){1, 1, 3};
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_ARG);
    /* duplicate config key in one record */
    const sl_meta_config_op twice[] = {{{"a", 1}, {"1", 1}}, {{"a", 1}, {"2", 1}}};
    dup = topic_rec("fine", id2, 1);
    dup.topic.configs = twice;
    dup.topic.n_configs = 2;
    assert_int_equal(sl_meta_image_check(img, &dup), SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_meta_topic_count(img), 1);
    assert_int_equal(sl_meta_image_offset(img), 4); /* skipped records still advance it */

    /* partitions: only from the current count */
    sl_meta_record parts = recs[4]; /* first = 2, n = 2 */
    assert_int_equal(sl_meta_image_apply(img, &parts, 5, record_event, &ev), 0);
    assert_int_equal(sl_meta_topic_partition_count(tp), 4);
    assert_int_equal(sl_meta_image_apply(img, &parts, 6, record_event, &ev),
                     SL_ERR_INVALID_PARTITIONS);
    parts.partitions.first = 4;
    memcpy(parts.partitions.id, ID_B, 16);
    assert_int_equal(sl_meta_image_check(img, &parts), SL_ERR_NOT_FOUND);

    /* topic config: set retention.ms, delete cleanup.policy */
    assert_int_equal(sl_meta_image_apply(img, &recs[5], 7, record_event, &ev), 0);
    assert_string_equal(sl_meta_topic_config(tp, "retention.ms"), "1000");
    assert_null(sl_meta_topic_config(tp, "cleanup.policy"));
    assert_int_equal(sl_meta_topic_config_count(tp), 1);
    /* replace: keys not named go away */
    const sl_meta_config_op only_seg[] = {{{"segment.bytes", 13}, {"1048576", 7}}};
    sl_meta_record rep_cfg = recs[5];
    rep_cfg.config.replace = true;
    rep_cfg.config.ops = only_seg;
    rep_cfg.config.n_ops = 1;
    assert_int_equal(sl_meta_image_apply(img, &rep_cfg, 8, record_event, &ev), 0);
    assert_int_equal(sl_meta_topic_config_count(tp), 1);
    const char *k, *v;
    sl_meta_topic_config_at(tp, 0, &k, &v);
    assert_string_equal(k, "segment.bytes");
    assert_string_equal(v, "1048576");

    /* cluster-wide broker config with replace, then per-node */
    assert_int_equal(sl_meta_image_apply(img, &recs[6], 9, record_event, &ev), 0);
    assert_string_equal(sl_meta_broker_config(img, -1, "retention.ms"), "1000");
    assert_int_equal(sl_meta_broker_config_count(img, -1), 1);
    assert_int_equal(sl_meta_broker_config_count(img, 1), 0);
    sl_meta_record bc = recs[6];
    bc.config.node_id = -2;
    assert_int_equal(sl_meta_image_check(img, &bc), SL_ERR_INVALID_ARG);

    /* producer ids: contiguous from 0 */
    sl_meta_record pid = recs[7];
    assert_int_equal(sl_meta_image_check(img, &pid), SL_ERR_INVALID_ARG);
    pid.producer_ids.first_id = 0;
    assert_int_equal(sl_meta_image_apply(img, &pid, 10, record_event, &ev), 0);
    assert_int_equal(sl_meta_image_next_producer_id(img), 1000);
    assert_int_equal(sl_meta_image_apply(img, &pid, 11, record_event, &ev), SL_ERR_INVALID_ARG);
    pid.producer_ids.first_id = 1000;
    pid.producer_ids.count = 0;
    assert_int_equal(sl_meta_image_check(img, &pid), SL_ERR_INVALID_ARG);

    /* partition change: leader epochs only go up, and up on a leader change */
    sl_meta_record pc = recs[8]; /* p1: leader 3 epoch 7 -> leader 2 epoch 8 */
    assert_int_equal(sl_meta_image_apply(img, &pc, 12, record_event, &ev), 0);
    p1 = sl_meta_topic_partition(tp, 1);
    assert_int_equal(sl_meta_partition_leader(p1), 2);
    assert_int_equal(sl_meta_partition_leader_epoch(p1), 8);
    pc.partition_change.leader = 1; /* new leader, same epoch */
    assert_int_equal(sl_meta_image_check(img, &pc), SL_ERR_INVALID_ARG);
    pc.partition_change.leader_epoch = 9;
    assert_int_equal(sl_meta_image_check(img, &pc), 0);
    pc.partition_change.partition = 4;
    assert_int_equal(sl_meta_image_check(img, &pc), SL_ERR_NOT_FOUND);

    /* remove */
    assert_int_equal(sl_meta_image_apply(img, &recs[3], 13, record_event, &ev), 0);
    assert_null(sl_meta_topic_by_name(img, "orders.v1", 9));
    assert_null(sl_meta_topic_by_id(img, ID_A));
    assert_int_equal(sl_meta_topic_count(img), 0);
    assert_int_equal(sl_meta_image_apply(img, &recs[3], 14, record_event, &ev), SL_ERR_NOT_FOUND);
    /* the freed name can be reused, and so can its collision class */
    dup = topic_rec("orders_v1", id2, 1);
    assert_int_equal(sl_meta_image_apply(img, &dup, 15, record_event, &ev), 0);

    /* events, in order, only for changes that happened */
    int want[] = {SL_META_EV_BROKER_REGISTERED,     SL_META_EV_BROKER_REGISTERED,
                  SL_META_EV_TOPIC_CREATED,         SL_META_EV_PARTITIONS_ADDED,
                  SL_META_EV_TOPIC_CONFIG_CHANGED,  SL_META_EV_TOPIC_CONFIG_CHANGED,
                  SL_META_EV_BROKER_CONFIG_CHANGED, SL_META_EV_PRODUCER_IDS,
                  SL_META_EV_PARTITION_CHANGED,     SL_META_EV_TOPIC_DELETED,
                  SL_META_EV_TOPIC_CREATED};
    assert_int_equal(ev.n, (int)(sizeof want / sizeof *want));
    for (int i = 0; i < ev.n; i++)
        assert_int_equal(ev.types[i], want[i]);
    assert_string_equal(ev.names[2], "orders.v1");
    assert_int_equal(ev.old_count[3], 2);
    assert_int_equal(ev.node[6], -1);
    assert_string_equal(ev.names[9], "orders.v1");
    assert_string_equal(ev.names[10], "orders_v1");

    sl_meta_image_free(img);
}

/* Many topics: the hash tables grow, and deleting every other one (backward
 * shift deletion) keeps every survivor findable by name and id. */
static void test_image_many_topics(void **state)
{
    (void)state;
    sl_meta_image *img = sl_meta_image_new("c");
    char name[32];
    uint8_t id[16] = {0};
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "t.%d", i);
        id[0] = (uint8_t)(i >> 8) | 0x80;
        id[1] = (uint8_t)i;
        sl_meta_record r = topic_rec(name, id, 1);
        assert_int_equal(sl_meta_image_apply(img, &r, i + 1, NULL, NULL), 0);
    }
    for (int i = 0; i < 3000; i += 2) {
        sl_meta_record r = {.type = SL_META_REC_REMOVE_TOPIC};
        r.remove_topic.id[0] = (uint8_t)(i >> 8) | 0x80;
        r.remove_topic.id[1] = (uint8_t)i;
        assert_int_equal(sl_meta_image_apply(img, &r, 0, NULL, NULL), 0);
    }
    assert_int_equal(sl_meta_topic_count(img), 1500);
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "t.%d", i);
        id[0] = (uint8_t)(i >> 8) | 0x80;
        id[1] = (uint8_t)i;
        const sl_meta_topic *t = sl_meta_topic_by_name(img, name, strlen(name));
        if (i % 2) {
            assert_non_null(t);
            assert_ptr_equal(sl_meta_topic_by_id(img, id), t);
            snprintf(name, sizeof name, "t_%d", i);
            assert_ptr_equal(sl_meta_topic_colliding(img, name, strlen(name)), t);
        } else {
            assert_null(t);
            assert_null(sl_meta_topic_by_id(img, id));
        }
    }
    /* iteration sees each survivor once */
    size_t seen = 0;
    for (size_t i = 0; i < sl_meta_topic_count(img); i++)
        seen += sl_meta_topic_at(img, i) != NULL;
    assert_int_equal(seen, 1500);
    assert_true(sl_meta_image_memory(img) > 1500 * 16);
    sl_meta_image_free(img);
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    sl_meta_image *img = sl_meta_image_new("snap-cluster");
    sl_meta_record recs[16];
    sample_records(recs);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sl_meta_image_apply(img, &recs[i], i + 1, NULL, NULL), 0);
    assert_int_equal(sl_meta_image_apply(img, &recs[6], 4, NULL, NULL), 0);
    sl_meta_record pid = recs[7];
    pid.producer_ids.first_id = 0;
    assert_int_equal(sl_meta_image_apply(img, &pid, 5, NULL, NULL), 0);
    sl_meta_record t2 = topic_rec("b-topic", ID_B, 1);
    assert_int_equal(sl_meta_image_apply(img, &t2, 6, NULL, NULL), 0);

    sl_buf b;
    sl_buf_init(&b);
    sl_meta_image_encode(img, &b);
    sl_meta_image *back;
    assert_int_equal(sl_meta_image_decode(b.data, b.len, &back), 0);
    assert_true(sl_meta_image_equal(img, back));
    assert_string_equal(sl_meta_image_cluster_id(back), "snap-cluster");
    assert_int_equal(sl_meta_image_offset(back), 6);
    assert_int_equal(sl_meta_image_next_producer_id(back), 1000);
    const sl_meta_topic *t = sl_meta_topic_by_id(back, ID_A);
    assert_non_null(t);
    assert_string_equal(sl_meta_topic_name(t), "orders.v1");
    assert_string_equal(sl_meta_topic_config(t, "retention.ms"), "86400000");
    assert_string_equal(sl_meta_broker_config(back, -1, "retention.ms"), "1000");

    /* equal images built in a different order encode identically */
    sl_meta_image *other = sl_meta_image_new("snap-cluster");
    assert_int_equal(sl_meta_image_apply(other, &t2, 1, NULL, NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sl_meta_image_apply(other, &recs[2 - i], 2, NULL, NULL), 0);
    assert_int_equal(sl_meta_image_apply(other, &recs[6], 3, NULL, NULL), 0);
    assert_int_equal(sl_meta_image_apply(other, &pid, 6, NULL, NULL), 0);
    assert_true(sl_meta_image_equal(img, other));
    sl_meta_image_free(other);

    /* every flipped byte is caught (CRC or header); every truncation too */
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x40;
        sl_meta_image *x = NULL;
        assert_int_not_equal(sl_meta_image_decode(b.data, b.len, &x), 0);
        assert_null(x);
        b.data[i] ^= 0x40;
    }
    for (size_t len = 0; len < b.len; len++) {
        sl_meta_image *x = NULL;
        assert_int_not_equal(sl_meta_image_decode(b.data, len, &x), 0);
    }
    b.data[4] = 2;
    sl_meta_image *newer = NULL;
    assert_int_equal(sl_meta_image_decode(b.data, b.len, &newer), SL_ERR_UNSUPPORTED_VERSION);
    assert_null(newer);

    sl_buf_fini(&b);
    sl_meta_image_free(back);
    sl_meta_image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_unknown_and_malformed),
        cmocka_unit_test(test_entry_padding),
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_uuid_text),
        cmocka_unit_test(test_image_apply_and_checks),
        cmocka_unit_test(test_image_many_topics),
        cmocka_unit_test(test_snapshot_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
