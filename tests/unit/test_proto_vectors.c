/* Request frames captured from real clients, decoded with the generated
 * codecs and checked field by field, then re-encoded byte for byte.
 *
 * Each array is one request exactly as the client sent it, minus the int32
 * size prefix. They were captured by pointing the client at a throwaway
 * listener that answered just enough of the protocol for the client to carry
 * on, and dumped every frame: kcat 1.7.1 and confluent-kafka 1.7.0 (both on
 * librdkafka 2.0.2), kafka-python 2.0.2 and KafkaJS 2.2.4. The values
 * asserted are the ones those runs asked for (topic and group names,
 * partitions, timestamps) or the clients' documented defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto_gen.h"
#include "record/batch.h"

static const uint8_t kcat_api_versions_v3[] = {
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x72, 0x64,
    0x6b, 0x61, 0x66, 0x6b, 0x61, 0x00, 0x0b, 0x6c, 0x69, 0x62, 0x72, 0x64,
    0x6b, 0x61, 0x66, 0x6b, 0x61, 0x06, 0x32, 0x2e, 0x30, 0x2e, 0x32, 0x00,
};
static const uint8_t kcat_metadata_v4[] = {
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x07, 0x72,
    0x64, 0x6b, 0x61, 0x66, 0x6b, 0x61, 0xff, 0xff, 0xff, 0xff, 0x01,
};
static const uint8_t kpy_produce_v7[] = {
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x02, 0x00, 0x17, 0x6b, 0x61, 0x66, 0x6b, 0x61, 0x2d,
    0x70, 0x79, 0x74, 0x68, 0x6f, 0x6e, 0x2d, 0x70, 0x72, 0x6f, 0x64, 0x75, 0x63, 0x65, 0x72, 0x2d,
    0x31, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0x76,
    0x65, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x59, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x02, 0xcf,
    0xe3, 0x3a, 0xa2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68,
    0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x36, 0x00, 0x00, 0x00, 0x06,
    0x6b, 0x65, 0x79, 0x18, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x73, 0x6c, 0x75, 0x69, 0x63, 0x65,
    0x02, 0x04, 0x68, 0x31, 0x04, 0x76, 0x31,
};
static const uint8_t kjs_fetch_v11[] = {
    0x00, 0x01, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x6b, 0x6a, 0x73, 0xff, 0xff,
    0xff, 0xff, 0x00, 0x00, 0x13, 0x88, 0x00, 0x00, 0x00, 0x01, 0x00, 0xa0, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x6a,
    0x73, 0x2d, 0x74, 0x6f, 0x70, 0x69, 0x63, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xff,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t kcat_join_group_v5[] = {
    0x00, 0x0b, 0x00, 0x05, 0x00, 0x00, 0x00, 0x02, 0x00, 0x07, 0x72, 0x64, 0x6b, 0x61, 0x66,
    0x6b, 0x61, 0x00, 0x04, 0x67, 0x72, 0x70, 0x31, 0x00, 0x00, 0xaf, 0xc8, 0x00, 0x04, 0x93,
    0xe0, 0x00, 0x00, 0xff, 0xff, 0x00, 0x08, 0x63, 0x6f, 0x6e, 0x73, 0x75, 0x6d, 0x65, 0x72,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x05, 0x72, 0x61, 0x6e, 0x67, 0x65, 0x00, 0x00, 0x00, 0x15,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05, 0x74, 0x65, 0x73, 0x74, 0x31, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x72, 0x6f, 0x75, 0x6e, 0x64, 0x72, 0x6f,
    0x62, 0x69, 0x6e, 0x00, 0x00, 0x00, 0x15, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05,
    0x74, 0x65, 0x73, 0x74, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t kjs_sync_group_v3[] = {
    0x00, 0x0e, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0x03, 0x6b, 0x6a, 0x73, 0x00, 0x05, 0x6a,
    0x73, 0x67, 0x72, 0x70, 0x00, 0x00, 0x00, 0x01, 0x00, 0x1a, 0x6d, 0x65, 0x6d, 0x62, 0x65, 0x72,
    0x2d, 0x31, 0x37, 0x39, 0x35, 0x34, 0x33, 0x31, 0x31, 0x33, 0x38, 0x30, 0x38, 0x31, 0x30, 0x38,
    0x35, 0x37, 0x39, 0x38, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x1a, 0x6d, 0x65, 0x6d, 0x62,
    0x65, 0x72, 0x2d, 0x31, 0x37, 0x39, 0x35, 0x34, 0x33, 0x31, 0x31, 0x33, 0x38, 0x30, 0x38, 0x31,
    0x30, 0x38, 0x35, 0x37, 0x39, 0x38, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x08, 0x6a, 0x73, 0x2d, 0x74, 0x6f, 0x70, 0x69, 0x63, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t rdk_offset_fetch_v7[] = {
    0x00, 0x09, 0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x00, 0x07, 0x72, 0x64, 0x6b, 0x61,
    0x66, 0x6b, 0x61, 0x00, 0x06, 0x63, 0x6b, 0x67, 0x72, 0x70, 0x02, 0x09, 0x63, 0x6b,
    0x2d, 0x74, 0x6f, 0x70, 0x69, 0x63, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00,
};
static const uint8_t kcat_init_producer_id_v4[] = {
    0x00, 0x16, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x07, 0x72, 0x64,
    0x6b, 0x61, 0x66, 0x6b, 0x61, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
};
static const uint8_t kpy_metadata_v0[] = {
    0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x17, 0x6b, 0x61, 0x66,
    0x6b, 0x61, 0x2d, 0x70, 0x79, 0x74, 0x68, 0x6f, 0x6e, 0x2d, 0x70, 0x72, 0x6f,
    0x64, 0x75, 0x63, 0x65, 0x72, 0x2d, 0x31, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t kpy_api_versions_v0[] = {
    0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x17, 0x6b,
    0x61, 0x66, 0x6b, 0x61, 0x2d, 0x70, 0x79, 0x74, 0x68, 0x6f, 0x6e,
    0x2d, 0x70, 0x72, 0x6f, 0x64, 0x75, 0x63, 0x65, 0x72, 0x2d, 0x31,
};
static const uint8_t kjs_sasl_authenticate_v1[] = {
    0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x08, 0x6b, 0x6a, 0x73,
    0x2d, 0x73, 0x61, 0x73, 0x6c, 0x00, 0x00, 0x00, 0x04, 0x00, 0x75, 0x00, 0x70,
};
static const uint8_t kjs_create_topics_v3[] = {
    0x00, 0x13, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x03, 0x6b, 0x6a, 0x73, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x08, 0x6a, 0x73, 0x2d, 0x74, 0x6f, 0x70, 0x69, 0x63, 0x00,
    0x00, 0x00, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x0c, 0x72, 0x65, 0x74, 0x65, 0x6e, 0x74, 0x69, 0x6f, 0x6e, 0x2e, 0x6d, 0x73, 0x00,
    0x04, 0x31, 0x30, 0x30, 0x30, 0x00, 0x00, 0x13, 0x88, 0x00,
};

typedef struct vec {
    sl_arena arena;
    sl_reader r;
    RequestHeader h;
    const uint8_t *data;
    size_t len;
} vec;

/* Decodes the header, checks it, and leaves v->r at the body. */
static void vec_open(vec *v, const uint8_t *data, size_t len, int16_t key, int16_t version,
                     int32_t correlation_id, const char *client_id)
{
    sl_arena_init(&v->arena, 4096, 1u << 20);
    v->data = data;
    v->len = len;
    sl_reader_init(&v->r, data, len);
    assert_int_equal(sl_proto_request_header_decode(&v->r, &v->arena, &v->h), 0);
    assert_int_equal(v->h.RequestApiKey, key);
    assert_int_equal(v->h.RequestApiVersion, version);
    assert_int_equal(v->h.CorrelationId, correlation_id);
    assert_true(sl_str_eq_c(v->h.ClientId, client_id));
}

/* The body was consumed exactly, and header + body re-encode to the bytes
 * the client sent. */
static void vec_close(vec *v, const void *body)
{
    assert_int_equal(sl_reader_left(&v->r), 0);
    sl_buf b;
    sl_buf_init(&b);
    sl_proto_request_header_encode(&b, &v->h);
    sl_api_encode_request(v->h.RequestApiKey, v->h.RequestApiVersion, &b, body);
    assert_int_equal(b.len, v->len);
    assert_memory_equal(b.data, v->data, v->len);
    sl_buf_fini(&b);
    sl_arena_fini(&v->arena);
}

static void test_kcat_api_versions_v3(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kcat_api_versions_v3, sizeof kcat_api_versions_v3, SL_API_API_VERSIONS, 3, 1,
             "rdkafka");
    /* flexible: request header v2 */
    assert_int_equal(sl_api_request_header_version(SL_API_API_VERSIONS, 3), 2);
    ApiVersionsRequest req;
    assert_int_equal(ApiVersionsRequest_decode(&v.r, &v.arena, 3, &req), 0);
    assert_true(sl_str_eq_c(req.ClientSoftwareName, "librdkafka"));
    assert_true(sl_str_eq_c(req.ClientSoftwareVersion, "2.0.2"));
    vec_close(&v, &req);
}

static void test_kpy_api_versions_v0(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kpy_api_versions_v0, sizeof kpy_api_versions_v0, SL_API_API_VERSIONS, 0, 1,
             "kafka-python-producer-1");
    ApiVersionsRequest req;
    assert_int_equal(ApiVersionsRequest_decode(&v.r, &v.arena, 0, &req), 0);
    /* fields of later versions get their defaults */
    assert_int_equal(req.ClientSoftwareName.len, 0);
    vec_close(&v, &req);
}

static void test_kcat_metadata_v4(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kcat_metadata_v4, sizeof kcat_metadata_v4, SL_API_METADATA, 4, 3, "rdkafka");
    MetadataRequest req;
    assert_int_equal(MetadataRequest_decode(&v.r, &v.arena, 4, &req), 0);
    assert_int_equal(req.Topics_count, -1); /* null: all topics */
    assert_true(req.AllowAutoTopicCreation);
    vec_close(&v, &req);
}

static void test_kpy_metadata_v0(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kpy_metadata_v0, sizeof kpy_metadata_v0, SL_API_METADATA, 0, 2,
             "kafka-python-producer-1");
    MetadataRequest req;
    assert_int_equal(MetadataRequest_decode(&v.r, &v.arena, 0, &req), 0);
    assert_int_equal(req.Topics_count, 0);   /* v0: empty means all topics */
    assert_true(req.AllowAutoTopicCreation); /* absent before v4: default true */
    vec_close(&v, &req);
}

static void test_kpy_produce_v7(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kpy_produce_v7, sizeof kpy_produce_v7, SL_API_PRODUCE, 7, 2,
             "kafka-python-producer-1");
    ProduceRequest req;
    assert_int_equal(ProduceRequest_decode(&v.r, &v.arena, 7, &req), 0);
    assert_true(sl_str_is_null(req.TransactionalId));
    assert_int_equal(req.Acks, 1);
    assert_int_equal(req.TimeoutMs, 30000);
    assert_int_equal(req.TopicData_count, 1);
    assert_true(sl_str_eq_c(req.TopicData[0].Name, "vec"));
    assert_int_equal(req.TopicData[0].PartitionData_count, 1);
    const ProduceRequest_PartitionProduceData *pd = &req.TopicData[0].PartitionData[0];
    assert_int_equal(pd->Index, 0);
    /* The records slice points into the frame and is exactly one valid batch. */
    assert_null(pd->Records.file);
    assert_true(pd->Records.ptr >= kpy_produce_v7 &&
                pd->Records.ptr + pd->Records.len == kpy_produce_v7 + sizeof kpy_produce_v7);
    sl_batch_header bh;
    assert_int_equal(sl_batch_parse_header(pd->Records.ptr, (size_t)pd->Records.len, &bh), 0);
    assert_int_equal(sl_batch_total_size(&bh), pd->Records.len);
    assert_int_equal(bh.magic, 2);
    assert_int_equal(bh.records_count, 1);
    assert_int_equal(bh.base_timestamp, 1700000000000LL);
    assert_int_equal(bh.producer_id, -1);
    assert_int_equal(sl_batch_check_crc(pd->Records.ptr, &bh), 0);
    assert_non_null(memmem(pd->Records.ptr, (size_t)pd->Records.len, "hello sluice", 12));
    vec_close(&v, &req);
}

static void test_kjs_fetch_v11(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kjs_fetch_v11, sizeof kjs_fetch_v11, SL_API_FETCH, 11, 0, "kjs");
    FetchRequest req;
    assert_int_equal(FetchRequest_decode(&v.r, &v.arena, 11, &req), 0);
    assert_int_equal(req.ReplicaId, -1);
    assert_int_equal(req.MaxWaitMs, 5000);
    assert_int_equal(req.MinBytes, 1);
    assert_int_equal(req.MaxBytes, 10485760);
    assert_int_equal(req.IsolationLevel, 1); /* KafkaJS reads committed by default */
    assert_int_equal(req.SessionId, 0);
    assert_int_equal(req.SessionEpoch, -1);
    assert_true(sl_str_is_null(req.ClusterId)); /* tagged, v12+ only */
    assert_int_equal(req.Topics_count, 1);
    assert_true(sl_str_eq_c(req.Topics[0].Topic, "js-topic"));
    assert_int_equal(req.Topics[0].Partitions_count, 3);
    static const int32_t parts[] = {1, 2, 0};
    for (int i = 0; i < 3; i++) {
        const FetchRequest_FetchPartition *p = &req.Topics[0].Partitions[i];
        assert_int_equal(p->Partition, parts[i]);
        assert_int_equal(p->CurrentLeaderEpoch, -1);
        assert_int_equal(p->FetchOffset, 0);
        assert_int_equal(p->LogStartOffset, -1);
        assert_int_equal(p->PartitionMaxBytes, 1048576);
        assert_int_equal(p->LastFetchedEpoch, -1); /* v12+ only: default */
    }
    assert_int_equal(req.ForgottenTopicsData_count, 0);
    assert_int_equal(req.RackId.len, 0);
    vec_close(&v, &req);
}

static void test_kcat_join_group_v5(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kcat_join_group_v5, sizeof kcat_join_group_v5, SL_API_JOIN_GROUP, 5, 2, "rdkafka");
    JoinGroupRequest req;
    assert_int_equal(JoinGroupRequest_decode(&v.r, &v.arena, 5, &req), 0);
    assert_true(sl_str_eq_c(req.GroupId, "grp1"));
    assert_int_equal(req.SessionTimeoutMs, 45000);
    assert_int_equal(req.RebalanceTimeoutMs, 300000);
    assert_int_equal(req.MemberId.len, 0);
    assert_true(sl_str_is_null(req.GroupInstanceId));
    assert_true(sl_str_eq_c(req.ProtocolType, "consumer"));
    assert_int_equal(req.Protocols_count, 2);
    assert_true(sl_str_eq_c(req.Protocols[0].Name, "range"));
    assert_true(sl_str_eq_c(req.Protocols[1].Name, "roundrobin"));

    /* The protocol metadata is a version-prefixed ConsumerProtocolSubscription. */
    sl_reader m;
    sl_reader_init(&m, req.Protocols[0].Metadata.ptr, (size_t)req.Protocols[0].Metadata.len);
    int16_t sv = sl_read_i16(&m);
    assert_int_equal(sv, 1);
    ConsumerProtocolSubscription sub;
    assert_int_equal(ConsumerProtocolSubscription_decode(&m, &v.arena, sv, &sub), 0);
    assert_int_equal(sl_reader_left(&m), 0);
    assert_int_equal(sub.Topics_count, 1);
    assert_true(sl_str_eq_c(sub.Topics[0], "test1"));
    assert_int_equal(sub.UserData.len, 0);
    assert_int_equal(sub.OwnedPartitions_count, 0);
    assert_int_equal(sub.GenerationId, -1); /* v2+: default */
    vec_close(&v, &req);
}

static void test_kjs_sync_group_v3(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kjs_sync_group_v3, sizeof kjs_sync_group_v3, SL_API_SYNC_GROUP, 3, 5, "kjs");
    SyncGroupRequest req;
    assert_int_equal(SyncGroupRequest_decode(&v.r, &v.arena, 3, &req), 0);
    assert_true(sl_str_eq_c(req.GroupId, "jsgrp"));
    assert_int_equal(req.GenerationId, 1);
    assert_true(sl_str_is_null(req.GroupInstanceId));
    assert_int_equal(req.Assignments_count, 1);
    assert_true(sl_str_eq(req.Assignments[0].MemberId, req.MemberId));

    sl_reader m;
    sl_reader_init(&m, req.Assignments[0].Assignment.ptr,
                   (size_t)req.Assignments[0].Assignment.len);
    int16_t av = sl_read_i16(&m);
    assert_int_equal(av, 0);
    ConsumerProtocolAssignment asg;
    assert_int_equal(ConsumerProtocolAssignment_decode(&m, &v.arena, av, &asg), 0);
    assert_int_equal(sl_reader_left(&m), 0);
    assert_int_equal(asg.AssignedPartitions_count, 1);
    assert_true(sl_str_eq_c(asg.AssignedPartitions[0].Topic, "js-topic"));
    assert_int_equal(asg.AssignedPartitions[0].Partitions_count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(asg.AssignedPartitions[0].Partitions[i], i);
    assert_int_equal(asg.UserData.len, 0);
    vec_close(&v, &req);
}

static void test_rdkafka_offset_fetch_v7(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, rdk_offset_fetch_v7, sizeof rdk_offset_fetch_v7, SL_API_OFFSET_FETCH, 7, 6,
             "rdkafka");
    OffsetFetchRequest req;
    assert_int_equal(OffsetFetchRequest_decode(&v.r, &v.arena, 7, &req), 0);
    assert_true(sl_str_eq_c(req.GroupId, "ckgrp"));
    assert_int_equal(req.Topics_count, 1);
    assert_true(sl_str_eq_c(req.Topics[0].Name, "ck-topic"));
    assert_int_equal(req.Topics[0].PartitionIndexes_count, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(req.Topics[0].PartitionIndexes[i], i);
    assert_true(req.RequireStable);
    assert_int_equal(req.Groups_count, 0); /* v8+ only */
    vec_close(&v, &req);
}

static void test_kcat_init_producer_id_v4(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kcat_init_producer_id_v4, sizeof kcat_init_producer_id_v4, SL_API_INIT_PRODUCER_ID,
             4, 3, "rdkafka");
    InitProducerIdRequest req;
    assert_int_equal(InitProducerIdRequest_decode(&v.r, &v.arena, 4, &req), 0);
    assert_true(sl_str_is_null(req.TransactionalId));
    assert_int_equal(req.TransactionTimeoutMs, -1);
    assert_int_equal(req.ProducerId, -1);
    assert_int_equal(req.ProducerEpoch, -1);
    vec_close(&v, &req);
}

static void test_kjs_sasl_authenticate_v1(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kjs_sasl_authenticate_v1, sizeof kjs_sasl_authenticate_v1,
             SL_API_SASL_AUTHENTICATE, 1, 2, "kjs-sasl");
    SaslAuthenticateRequest req;
    assert_int_equal(SaslAuthenticateRequest_decode(&v.r, &v.arena, 1, &req), 0);
    /* SASL PLAIN: authzid NUL user NUL password */
    assert_int_equal(req.AuthBytes.len, 4);
    assert_memory_equal(req.AuthBytes.ptr, "\0u\0p", 4);
    vec_close(&v, &req);
}

static void test_kjs_create_topics_v3(void **state)
{
    (void)state;
    vec v;
    vec_open(&v, kjs_create_topics_v3, sizeof kjs_create_topics_v3, SL_API_CREATE_TOPICS, 3, 2,
             "kjs");
    CreateTopicsRequest req;
    assert_int_equal(CreateTopicsRequest_decode(&v.r, &v.arena, 3, &req), 0);
    assert_int_equal(req.Topics_count, 1);
    const CreateTopicsRequest_CreatableTopic *t = &req.Topics[0];
    assert_true(sl_str_eq_c(t->Name, "js-topic"));
    assert_int_equal(t->NumPartitions, 2);
    assert_int_equal(t->ReplicationFactor, -1);
    assert_int_equal(t->Assignments_count, 0);
    assert_int_equal(t->Configs_count, 1);
    assert_true(sl_str_eq_c(t->Configs[0].Name, "retention.ms"));
    assert_true(sl_str_eq_c(t->Configs[0].Value, "1000"));
    assert_int_equal(req.TimeoutMs, 5000);
    assert_false(req.ValidateOnly);
    vec_close(&v, &req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kcat_api_versions_v3),
        cmocka_unit_test(test_kpy_api_versions_v0),
        cmocka_unit_test(test_kcat_metadata_v4),
        cmocka_unit_test(test_kpy_metadata_v0),
        cmocka_unit_test(test_kpy_produce_v7),
        cmocka_unit_test(test_kjs_fetch_v11),
        cmocka_unit_test(test_kcat_join_group_v5),
        cmocka_unit_test(test_kjs_sync_group_v3),
        cmocka_unit_test(test_rdkafka_offset_fetch_v7),
        cmocka_unit_test(test_kcat_init_producer_id_v4),
        cmocka_unit_test(test_kjs_sasl_authenticate_v1),
        cmocka_unit_test(test_kjs_create_topics_v3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
