/* Unit tests for src/proto: the API table, header rules, dispatch, zero-copy
 * records (memory and file splices), bounds checks and error offsets,
 * tagged fields and defaults. The generated round trips of every message
 * live in unit/test_proto_roundtrip (gen/proto_gen_test.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/fileref.h"
#include "proto/api.h"
#include "proto/prim.h"
#include "proto_gen.h"

static void test_api_table(void **state)
{
    (void)state;
    /* key, min, served min, max, first flexible (-1 none) */
    static const int16_t want[][5] = {
        {0, 0, 3, 11, 9},  {1, 4, 4, 12, 12}, {2, 1, 1, 10, 6}, {3, 0, 0, 12, 9},  {8, 2, 2, 9, 8},
        {9, 1, 1, 9, 6},   {10, 0, 0, 5, 3},  {11, 0, 0, 9, 6}, {12, 0, 0, 4, 4},  {13, 0, 0, 5, 4},
        {14, 0, 0, 5, 4},  {15, 0, 0, 5, 5},  {16, 0, 0, 5, 3}, {17, 0, 0, 1, -1}, {18, 0, 0, 4, 3},
        {19, 2, 2, 7, 5},  {20, 1, 1, 6, 4},  {21, 0, 0, 2, 2}, {22, 0, 0, 5, 2},  {32, 1, 1, 4, 4},
        {33, 0, 0, 2, 2},  {36, 0, 0, 2, 2},  {37, 0, 0, 3, 2}, {42, 0, 0, 2, 2},  {44, 0, 0, 1, 1},
        {47, 0, 0, 0, -1}, {60, 0, 0, 1, 0},
    };
    size_t n;
    const sl_api_info *all = sl_api_list(&n);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        const sl_api_info *api = sl_api_get(want[i][0]);
        assert_non_null(api);
        assert_ptr_equal(api, &all[i]); /* the list is sorted by key */
        assert_int_equal(api->key, want[i][0]);
        assert_int_equal(api->min_version, want[i][1]);
        assert_int_equal(api->served_min_version, want[i][2]);
        assert_int_equal(api->max_version, want[i][3]);
        assert_int_equal(api->first_flexible_version, want[i][4]);
        assert_non_null(api->name);
    }
    assert_string_equal(sl_api_get(SL_API_PRODUCE)->name, "Produce");
    assert_string_equal(sl_api_get(SL_API_DESCRIBE_CLUSTER)->name, "DescribeCluster");
    assert_null(sl_api_get(-1));
    assert_null(sl_api_get(4)); /* LeaderAndIsr: inter-broker, never served */
    assert_null(sl_api_get(61));
    assert_null(sl_api_get(INT16_MAX));
}

static void test_header_versions(void **state)
{
    (void)state;
    assert_int_equal(sl_api_request_header_version(SL_API_API_VERSIONS, 2), 1);
    assert_int_equal(sl_api_request_header_version(SL_API_API_VERSIONS, 3), 2);
    /* A newer client's ApiVersions is still parsed as flexible. */
    assert_int_equal(sl_api_request_header_version(SL_API_API_VERSIONS, 9), 2);
    assert_int_equal(sl_api_response_header_version(SL_API_API_VERSIONS, 3), 0);
    assert_int_equal(sl_api_response_header_version(SL_API_API_VERSIONS, 4), 0);
    assert_int_equal(sl_api_request_header_version(SL_API_PRODUCE, 8), 1);
    assert_int_equal(sl_api_request_header_version(SL_API_PRODUCE, 9), 2);
    assert_int_equal(sl_api_response_header_version(SL_API_PRODUCE, 8), 0);
    assert_int_equal(sl_api_response_header_version(SL_API_PRODUCE, 9), 1);
    assert_int_equal(sl_api_request_header_version(SL_API_SASL_HANDSHAKE, 1), 1);
    assert_int_equal(sl_api_request_header_version(SL_API_DESCRIBE_CLUSTER, 0), 2);
    assert_int_equal(sl_api_request_header_version(999, 0), 1);
    assert_int_equal(sl_api_response_header_version(999, 0), 0);
    assert_int_equal(sl_proto_response_header_size(SL_API_METADATA, 9), 5);
    assert_int_equal(sl_proto_response_header_size(SL_API_API_VERSIONS, 3), 4);
}

static void test_request_header_v2(void **state)
{
    (void)state;
    /* Metadata v9 (flexible): ClientId keeps its int16 length; an unknown
     * tagged field in the header is skipped. */
    const uint8_t frame[] = {0x00, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x2a, 0x00,
                             0x02, 'c',  'k',  0x01, 0x05, 0x02, 0xaa, 0xbb, 0x77};
    sl_arena a;
    sl_arena_init(&a, 1024, 0);
    sl_reader r;
    sl_reader_init(&r, frame, sizeof frame);
    RequestHeader h;
    assert_int_equal(sl_proto_request_header_decode(&r, &a, &h), 0);
    assert_int_equal(h.RequestApiKey, 3);
    assert_int_equal(h.RequestApiVersion, 9);
    assert_int_equal(h.CorrelationId, 42);
    assert_true(sl_str_eq_c(h.ClientId, "ck"));
    assert_int_equal(sl_reader_offset(&r), sizeof frame - 1); /* at the body */

    /* Re-encoded: same bytes minus the skipped tag. */
    sl_buf b;
    sl_buf_init(&b);
    sl_proto_request_header_encode(&b, &h);
    const uint8_t want[] = {0x00, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00,
                            0x2a, 0x00, 0x02, 'c',  'k',  0x00};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);

    /* Null client id in a v1 header. */
    const uint8_t v1[] = {0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
    sl_reader_init(&r, v1, sizeof v1);
    assert_int_equal(sl_proto_request_header_decode(&r, &a, &h), 0);
    assert_true(sl_str_is_null(h.ClientId));

    /* Too short to hold key and version. */
    sl_reader_init(&r, v1, 3);
    assert_int_equal(sl_proto_request_header_decode(&r, &a, &h), SL_ERR_TRUNCATED);
    /* Unknown key: parsed as v1, so the correlation id is still known. */
    const uint8_t unk[] = {0x03, 0xe7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00};
    sl_reader_init(&r, unk, sizeof unk);
    assert_int_equal(sl_proto_request_header_decode(&r, &a, &h), 0);
    assert_int_equal(h.CorrelationId, 5);
    sl_buf_fini(&b);
    sl_arena_fini(&a);
}

static void test_response_header_and_frame(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    size_t at = sl_proto_frame_begin(&b);
    sl_proto_response_header_encode(&b, SL_API_API_VERSIONS, 3, 7);
    assert_int_equal(b.len, 8); /* size + correlation id: header v0 */
    size_t at2 = sl_proto_frame_begin(&b);
    sl_proto_response_header_encode(&b, SL_API_METADATA, 12, 8);
    assert_int_equal(b.len, 8 + 4 + 5);
    sl_proto_frame_end(&b, at2);
    sl_proto_frame_end(&b, at);
    assert_int_equal(sl_load_be32(b.data + at), 4 + 4 + 5);
    assert_int_equal(sl_load_be32(b.data + at2), 5);
    assert_int_equal(b.data[b.len - 1], 0); /* empty tagged-field section */
    sl_buf_fini(&b);
}

/* Builds the contiguous bytes a buffer stands for (memory + file splices). */
static uint8_t *materialize(const sl_buf *b, size_t *len)
{
    size_t total = (size_t)sl_buf_total(b);
    uint8_t *out = malloc(total ? total : 1);
    assert_non_null(out);
    size_t mem = 0, o = 0;
    for (size_t i = 0; i < b->nsplices; i++) {
        const sl_splice *s = &b->splices[i];
        memcpy(out + o, b->data + mem, s->at - mem);
        o += s->at - mem;
        mem = s->at;
        assert_int_equal(pread(sl_fileref_fd(s->file), out + o, (size_t)s->len, s->pos), s->len);
        o += (size_t)s->len;
    }
    memcpy(out + o, b->data + mem, b->len - mem);
    *len = o + b->len - mem;
    return out;
}

static void test_fetch_records_from_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sl_proto_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    const char content[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    assert_int_equal(write(fd, content, sizeof content - 1), (ssize_t)sizeof content - 1);
    sl_fileref *file = sl_fileref_new(fd);

    sl_arena a;
    sl_arena_init(&a, 4096, 0);
    FetchResponse resp;
    FetchResponse_init(&resp);
    FetchResponse_FetchableTopicResponse topic;
    FetchResponse_FetchableTopicResponse_init(&topic);
    FetchResponse_PartitionData parts[2];
    topic.Topic = SL_STR_LIT("t");
    topic.Partitions = parts;
    topic.Partitions_count = 2;
    resp.Responses = &topic;
    resp.Responses_count = 1;
    for (int i = 0; i < 2; i++) {
        FetchResponse_PartitionData_init(&parts[i]);
        parts[i].PartitionIndex = i;
        parts[i].HighWatermark = 100 + i;
        parts[i].LastStableOffset = 100 + i;
        parts[i].AbortedTransactions_count = 0;
    }
    /* Partition 0 from the file (zero copy), partition 1 from memory. */
    parts[0].Records = sl_records_file(file, 10, 16);
    parts[1].Records = sl_records_mem("MEM", 3);

    for (int16_t v = 4; v <= 12; v++) {
        sl_buf b;
        sl_buf_init(&b);
        FetchResponse_encode(&b, v, &resp);
        assert_int_equal(b.nsplices, 1);
        assert_int_equal(b.splices[0].len, 16);
        assert_int_equal(b.splices[0].pos, 10);
        assert_int_equal(b.splice_bytes, 16);
        /* size() counts the spliced bytes */
        assert_int_equal(FetchResponse_size(v, &resp), (size_t)sl_buf_total(&b));

        size_t len;
        uint8_t *wire = materialize(&b, &len);
        sl_reader r;
        sl_reader_init(&r, wire, len);
        FetchResponse back;
        assert_int_equal(FetchResponse_decode(&r, &a, v, &back), 0);
        assert_int_equal(sl_reader_left(&r), 0);
        const FetchResponse_PartitionData *p = back.Responses[0].Partitions;
        assert_int_equal(p[0].Records.len, 16);
        assert_memory_equal(p[0].Records.ptr, content + 10, 16);
        assert_null(p[0].Records.file);
        assert_int_equal(p[1].Records.len, 3);
        assert_memory_equal(p[1].Records.ptr, "MEM", 3);
        assert_int_equal(p[1].HighWatermark, 101);
        free(wire);
        sl_buf_fini(&b); /* drops the buffer's file reference */
        sl_arena_reset(&a);
    }
    sl_fileref_unref(file);
    sl_arena_fini(&a);
}

/* Produce v9 with one topic "abc", one partition, 3 bytes of records. */
static size_t produce_v9(sl_buf *b)
{
    ProduceRequest req;
    ProduceRequest_init(&req);
    ProduceRequest_TopicProduceData t;
    ProduceRequest_TopicProduceData_init(&t);
    ProduceRequest_PartitionProduceData p;
    ProduceRequest_PartitionProduceData_init(&p);
    p.Index = 4;
    p.Records = sl_records_mem("xyz", 3);
    t.Name = SL_STR_LIT("abc");
    t.PartitionData = &p;
    t.PartitionData_count = 1;
    req.Acks = -1;
    req.TimeoutMs = 1500;
    req.TopicData = &t;
    req.TopicData_count = 1;
    ProduceRequest_encode(b, 9, &req);
    return b->len;
}

static void test_decode_errors_report_offset(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    size_t len = produce_v9(&b);
    /* bytes: txnid(1) acks(2) timeout(4) ntopics(1) name(1+3) nparts(1)
     * index(4) records(1+3) tags(1) tags(1) tags(1) */
    assert_int_equal(len, 24);
    sl_arena a;
    sl_arena_init(&a, 4096, 0);
    ProduceRequest req;
    sl_reader r;

    /* Cut inside the records bytes: truncated, reported where they start. */
    sl_reader_init(&r, b.data, 19);
    int rc = ProduceRequest_decode(&r, &a, 9, &req);
    assert_int_equal(rc, SL_ERR_TRUNCATED);
    assert_int_equal(sl_reader_offset(&r), 18);
    char msg[96];
    sl_proto_format_error(msg, sizeof msg, SL_API_PRODUCE, 9, sl_reader_offset(&r), rc);
    assert_string_equal(msg, "api=Produce v=9 offset=18: truncated");

    /* A null topic name (non-nullable): malformed, at the name's length. */
    uint8_t bad[64];
    memcpy(bad, b.data, len);
    bad[8] = 0x00; /* compact length 0 = null */
    sl_reader_init(&r, bad, len);
    assert_int_equal(ProduceRequest_decode(&r, &a, 9, &req), SL_ERR_DECODE);
    assert_int_equal(sl_reader_offset(&r), 8);

    /* A string length beyond the message. */
    memcpy(bad, b.data, len);
    bad[8] = 0x7f;
    sl_reader_init(&r, bad, len);
    assert_int_equal(ProduceRequest_decode(&r, &a, 9, &req), SL_ERR_TRUNCATED);

    /* An over-long varint. */
    memcpy(bad, b.data, len);
    memset(bad + 7, 0xff, 6);
    sl_reader_init(&r, bad, len);
    assert_int_equal(ProduceRequest_decode(&r, &a, 9, &req), SL_ERR_DECODE);

    sl_proto_format_error(msg, sizeof msg, 999, 1, 5, SL_ERR_DECODE);
    assert_string_equal(msg, "api=999 v=1 offset=5: malformed message");
    sl_buf_fini(&b);
    sl_arena_fini(&a);
}

static void test_hostile_counts(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 4096, 1u << 16);
    MetadataRequest req;
    sl_reader r;
    /* Metadata v1: 2^31-1 topics claimed in 6 bytes: refused before any
     * allocation. */
    const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
    sl_reader_init(&r, huge, sizeof huge);
    assert_int_equal(MetadataRequest_decode(&r, &a, 1, &req), SL_ERR_TRUNCATED);
    assert_int_equal(a.used, 0);
    assert_int_equal(sl_reader_offset(&r), 4);
    /* A negative count other than -1, and -1 where null is not allowed (v0). */
    const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    sl_reader_init(&r, neg, sizeof neg);
    assert_int_equal(MetadataRequest_decode(&r, &a, 1, &req), SL_ERR_DECODE);
    const uint8_t null[] = {0xff, 0xff, 0xff, 0xff};
    sl_reader_init(&r, null, sizeof null);
    assert_int_equal(MetadataRequest_decode(&r, &a, 0, &req), SL_ERR_DECODE);
    sl_reader_init(&r, null, sizeof null);
    assert_int_equal(MetadataRequest_decode(&r, &a, 1, &req), 0);
    assert_int_equal(req.Topics_count, -1);

    /* A well-formed request whose arrays exceed the arena limit: NOMEM. */
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_i32(&b, 20000); /* 20000 topics with empty names (v1) */
    for (int i = 0; i < 20000; i++)
        sl_buf_put_i16(&b, 0);
    sl_reader_init(&r, b.data, b.len);
    assert_int_equal(MetadataRequest_decode(&r, &a, 1, &req), SL_ERR_NOMEM);
    assert_true(a.used <= a.limit);
    sl_arena_reset(&a);
    a.limit = 0;
    sl_reader_init(&r, b.data, b.len);
    assert_int_equal(MetadataRequest_decode(&r, &a, 1, &req), 0);
    assert_int_equal(req.Topics_count, 20000);
    sl_buf_fini(&b);
    sl_arena_fini(&a);
}

static void test_tagged_fields(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 4096, 0);
    FetchRequest req, back;
    FetchRequest_init(&req);
    req.ClusterId = SL_STR_LIT("cluster");
    sl_buf b;
    sl_buf_init(&b);
    FetchRequest_encode(&b, 12, &req);
    /* last bytes: one tagged field, tag 0, size 8, compact string "cluster" */
    const uint8_t tail[] = {0x01, 0x00, 0x08, 0x08, 'c', 'l', 'u', 's', 't', 'e', 'r'};
    assert_true(b.len > sizeof tail);
    assert_memory_equal(b.data + b.len - sizeof tail, tail, sizeof tail);
    sl_reader r;
    sl_reader_init(&r, b.data, b.len);
    assert_int_equal(FetchRequest_decode(&r, &a, 12, &back), 0);
    assert_true(sl_str_eq_c(back.ClusterId, "cluster"));

    /* Default (null) ClusterId is not written at all. */
    sl_buf b2;
    sl_buf_init(&b2);
    req.ClusterId = SL_STR_NULL;
    FetchRequest_encode(&b2, 12, &req);
    assert_int_equal(b2.len, b.len - sizeof tail + 1);
    assert_int_equal(b2.data[b2.len - 1], 0);

    /* An unknown tag (5) before the known one is skipped. */
    uint8_t buf[256];
    size_t head = b.len - sizeof tail;
    memcpy(buf, b.data, head);
    const uint8_t two[] = {0x02, 0x00, 0x08, 0x08, 'c',  'l',  'u', 's',
                           't',  'e',  'r',  0x05, 0x02, 0xde, 0xad};
    memcpy(buf + head, two, sizeof two);
    sl_reader_init(&r, buf, head + sizeof two);
    assert_int_equal(FetchRequest_decode(&r, &a, 12, &back), 0);
    assert_true(sl_str_eq_c(back.ClusterId, "cluster"));
    assert_int_equal(sl_reader_left(&r), 0);

    /* A known tag whose declared size does not match its contents. */
    const uint8_t wrong[] = {0x01, 0x00, 0x09, 0x08, 'c', 'l', 'u', 's', 't', 'e', 'r', 'X'};
    memcpy(buf + head, wrong, sizeof wrong);
    sl_reader_init(&r, buf, head + sizeof wrong);
    assert_int_equal(FetchRequest_decode(&r, &a, 12, &back), SL_ERR_DECODE);
    /* A tag size beyond the input. */
    const uint8_t past[] = {0x01, 0x05, 0x30, 0x00};
    memcpy(buf + head, past, sizeof past);
    sl_reader_init(&r, buf, head + sizeof past);
    assert_int_equal(FetchRequest_decode(&r, &a, 12, &back), SL_ERR_TRUNCATED);

    /* A tagged struct: written only when it differs from its defaults. */
    ProduceResponse pr;
    ProduceResponse_init(&pr);
    ProduceResponse_TopicProduceResponse t;
    ProduceResponse_TopicProduceResponse_init(&t);
    ProduceResponse_PartitionProduceResponse p;
    ProduceResponse_PartitionProduceResponse_init(&p);
    assert_int_equal(p.CurrentLeader.LeaderId, -1);
    assert_int_equal(p.LogAppendTimeMs, -1);
    t.PartitionResponses = &p;
    t.PartitionResponses_count = 1;
    pr.Responses = &t;
    pr.Responses_count = 1;
    size_t plain = ProduceResponse_size(10, &pr);
    p.CurrentLeader.LeaderId = 1;
    p.CurrentLeader.LeaderEpoch = 2;
    assert_int_equal(ProduceResponse_size(10, &pr), plain + 1 + 1 + 9);
    /* ... and never below the version where it exists. */
    assert_int_equal(ProduceResponse_size(9, &pr), plain);
    sl_buf_fini(&b);
    sl_buf_fini(&b2);
    sl_arena_fini(&a);
}

static void test_defaults_and_absent_fields(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 4096, 0);
    sl_reader r;
    /* Metadata v3: no AllowAutoTopicCreation on the wire, default true. */
    const uint8_t md[] = {0x00, 0x00, 0x00, 0x00};
    MetadataRequest m;
    sl_reader_init(&r, md, sizeof md);
    assert_int_equal(MetadataRequest_decode(&r, &a, 3, &m), 0);
    assert_true(m.AllowAutoTopicCreation);
    assert_int_equal(m.Topics_count, 0);

    /* Encoding: fields absent in a version are dropped, and a null where
     * the version cannot carry one is written as empty. */
    MetadataRequest_init(&m);
    m.Topics_count = -1;
    m.AllowAutoTopicCreation = false;
    sl_buf b;
    sl_buf_init(&b);
    MetadataRequest_encode(&b, 0, &m);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "\0\0\0\0", 4);
    sl_buf_reset(&b);
    MetadataRequest_encode(&b, 4, &m);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "\xff\xff\xff\xff\0", 5);

    FetchRequest f;
    FetchRequest_init(&f);
    assert_int_equal(f.ReplicaId, -1);
    assert_int_equal(f.MaxBytes, INT32_MAX);
    assert_int_equal(f.SessionEpoch, -1);
    DescribeClusterRequest dc;
    DescribeClusterRequest_init(&dc);
    assert_int_equal(dc.EndpointType, 1);
    MetadataResponse mr;
    MetadataResponse_init(&mr);
    assert_int_equal(mr.ClusterAuthorizedOperations, INT32_MIN);
    assert_true(sl_str_is_null(mr.ClusterId));
    sl_buf_fini(&b);
    sl_arena_fini(&a);
}

static void test_generic_dispatch(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 4096, 0);
    sl_buf b;
    sl_buf_init(&b);
    produce_v9(&b);
    sl_reader r;
    void *out;
    sl_reader_init(&r, b.data, b.len);
    assert_int_equal(sl_api_decode_request(SL_API_PRODUCE, 9, &r, &a, &out), 0);
    const ProduceRequest *req = out;
    assert_int_equal(req->Acks, -1);
    assert_true(sl_str_eq_c(req->TopicData[0].Name, "abc"));
    assert_int_equal(sl_api_request_size(SL_API_PRODUCE, 9, out), b.len);

    sl_reader_init(&r, b.data, b.len);
    assert_int_equal(sl_api_decode_request(4, 0, &r, &a, &out), SL_ERR_NOT_FOUND);
    assert_null(out);
    assert_int_equal(sl_api_decode_request(SL_API_PRODUCE, 12, &r, &a, &out),
                     SL_ERR_UNSUPPORTED_VERSION);
    assert_int_equal(sl_api_decode_request(SL_API_FETCH, 3, &r, &a, &out),
                     SL_ERR_UNSUPPORTED_VERSION);

    /* Produce v0-2 are advertised, hence codable; serving them is the
     * handler's decision (served_min_version). */
    const uint8_t v0[] = {0x00, 0x01, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00};
    sl_reader_init(&r, v0, sizeof v0);
    assert_int_equal(sl_api_decode_request(SL_API_PRODUCE, 0, &r, &a, &out), 0);
    assert_true(0 < sl_api_get(SL_API_PRODUCE)->served_min_version);
    sl_buf_fini(&b);
    sl_arena_fini(&a);
}

/* The ApiVersions response a broker builds from the table, at v3: body
 * flexible, header v0. */
static void test_api_versions_response(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 4096, 0);
    size_t n;
    const sl_api_info *apis = sl_api_list(&n);
    ApiVersionsResponse resp;
    ApiVersionsResponse_init(&resp);
    resp.ApiKeys = sl_arena_alloc_array(&a, n, sizeof *resp.ApiKeys);
    resp.ApiKeys_count = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        ApiVersionsResponse_ApiVersion_init(&resp.ApiKeys[i]);
        resp.ApiKeys[i].ApiKey = apis[i].key;
        resp.ApiKeys[i].MinVersion = apis[i].min_version;
        resp.ApiKeys[i].MaxVersion = apis[i].max_version;
    }
    sl_buf b;
    sl_buf_init(&b);
    size_t at = sl_proto_frame_begin(&b);
    sl_proto_response_header_encode(&b, SL_API_API_VERSIONS, 3, 99);
    size_t body = b.len;
    sl_api_encode_response(SL_API_API_VERSIONS, 3, &b, &resp);
    sl_proto_frame_end(&b, at);
    assert_int_equal(sl_load_be32(b.data), b.len - 4);
    assert_int_equal(sl_load_be32(b.data + 4), 99);
    /* error 0, compact count n+1, n x (3 int16 + empty tags), throttle, tags */
    assert_int_equal(b.len - body, 2 + 1 + n * 7 + 4 + 1);
    sl_reader r;
    sl_reader_init(&r, b.data + body, b.len - body);
    ApiVersionsResponse back;
    assert_int_equal(ApiVersionsResponse_decode(&r, &a, 3, &back), 0);
    assert_int_equal(back.ApiKeys_count, (int32_t)n);
    assert_int_equal(back.ApiKeys[0].ApiKey, SL_API_PRODUCE);
    assert_int_equal(back.ApiKeys[0].MinVersion, 0);
    assert_int_equal(back.ApiKeys[0].MaxVersion, 11);
    assert_int_equal(back.FinalizedFeaturesEpoch, -1);
    sl_buf_fini(&b);
    sl_arena_fini(&a);
}

/* What a Produce handler does: decode the request, answer per partition. */
static void test_example_produce_handler(void **state)
{
    (void)state;
    sl_buf in;
    sl_buf_init(&in);
    produce_v9(&in);
    const int16_t version = 9;

    sl_arena a;
    sl_arena_init(&a, 4096, 1u << 20);
    sl_reader r;
    sl_reader_init(&r, in.data, in.len);
    ProduceRequest req;
    assert_int_equal(ProduceRequest_decode(&r, &a, version, &req), 0);

    ProduceResponse resp;
    ProduceResponse_init(&resp);
    resp.Responses_count = req.TopicData_count;
    resp.Responses = sl_arena_alloc_array(&a, (size_t)req.TopicData_count, sizeof *resp.Responses);
    for (int32_t i = 0; i < req.TopicData_count; i++) {
        const ProduceRequest_TopicProduceData *t = &req.TopicData[i];
        ProduceResponse_TopicProduceResponse *rt = &resp.Responses[i];
        ProduceResponse_TopicProduceResponse_init(rt);
        rt->Name = t->Name; /* zero copy: points into the request */
        rt->PartitionResponses_count = t->PartitionData_count;
        rt->PartitionResponses = sl_arena_alloc_array(&a, (size_t)t->PartitionData_count,
                                                      sizeof *rt->PartitionResponses);
        for (int32_t j = 0; j < t->PartitionData_count; j++) {
            ProduceResponse_PartitionProduceResponse *rp = &rt->PartitionResponses[j];
            ProduceResponse_PartitionProduceResponse_init(rp);
            rp->Index = t->PartitionData[j].Index;
            rp->BaseOffset = 42; /* from the log append */
            rp->LogStartOffset = 0;
        }
    }
    sl_buf out;
    sl_buf_init(&out);
    size_t at = sl_proto_frame_begin(&out);
    sl_proto_response_header_encode(&out, SL_API_PRODUCE, version, 1234);
    ProduceResponse_encode(&out, version, &resp);
    sl_proto_frame_end(&out, at);

    const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x32,                         /* frame size 50 */
        0x00, 0x00, 0x04, 0xd2, 0x00,                   /* header v1: correlation id, tags */
        0x02, 0x04, 'a',  'b',  'c',                    /* 1 topic, "abc" */
        0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00,       /* 1 partition, index 4, no error */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* base offset 42 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log append time -1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* log start offset 0 */
        0x01, 0x00, 0x00,                               /* no record errors, null message, tags */
        0x00,                                           /* topic tags */
        0x00, 0x00, 0x00, 0x00,                         /* throttle time */
        0x00,                                           /* tags */
    };
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.data, want, sizeof want);
    sl_buf_fini(&in);
    sl_buf_fini(&out);
    sl_arena_fini(&a);
}

static void test_prim_strings(void **state)
{
    (void)state;
    assert_true(sl_str_eq_c(SL_STR_LIT("ab"), "ab"));
    assert_false(sl_str_eq_c(SL_STR_LIT("ab"), "abc"));
    assert_true(sl_str_eq_c(SL_STR_NULL, NULL));
    assert_false(sl_str_eq_c(SL_STR_NULL, ""));
    assert_true(sl_str_eq(sl_str_n("", 0), sl_str_c("")));
    /* An over-long string is cut to the wire limit, size() agreeing. */
    char *big = malloc(40000);
    assert_non_null(big);
    memset(big, 'x', 40000);
    sl_buf b;
    sl_buf_init(&b);
    sl_proto_put_str(&b, false, false, sl_str_n(big, 40000));
    assert_int_equal(b.len, 2 + INT16_MAX);
    assert_int_equal(sl_proto_str_size(false, false, sl_str_n(big, 40000)), b.len);
    sl_buf_fini(&b);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_table),
        cmocka_unit_test(test_header_versions),
        cmocka_unit_test(test_request_header_v2),
        cmocka_unit_test(test_response_header_and_frame),
        cmocka_unit_test(test_fetch_records_from_file),
        cmocka_unit_test(test_decode_errors_report_offset),
        cmocka_unit_test(test_hostile_counts),
        cmocka_unit_test(test_tagged_fields),
        cmocka_unit_test(test_defaults_and_absent_fields),
        cmocka_unit_test(test_generic_dispatch),
        cmocka_unit_test(test_api_versions_response),
        cmocka_unit_test(test_example_produce_handler),
        cmocka_unit_test(test_prim_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
