/* Metadata record codec.
 *
 * On-disk / on-wire format of one metadata record (one Raft log entry of type
 * RAFT_COMMAND holds exactly one record). All multi-byte integers are
 * variable-length; nothing is aligned.
 *
 *   byte 0    format    always 1 (SL_META_RECORD_FORMAT): this framing
 *   byte 1    type      enum sl_meta_record_type
 *   byte 2    version   body version of that type (1 for every type today)
 *   byte 3    flags     bit 0 IGNORABLE; bits 1-7 must be zero
 *   byte 4..  body      as below, and nothing after it
 *
 * Field encodings used in bodies:
 *   varint    zigzag LEB128 of a signed 32-bit value, 1-5 bytes
 *   varlong   zigzag LEB128 of a signed 64-bit value, 1-10 bytes
 *   uvarint   unsigned LEB128 of a 32-bit count or length, 1-5 bytes
 *   str       uvarint byte length, then the bytes (no terminator)
 *   nstr      uvarint (length + 1), then the bytes; 0 means null
 *   uuid      16 raw bytes
 *   pspec     a partition: varint leader (-1 none), varint leader_epoch,
 *             uvarint n_replicas, n_replicas x varint node id,
 *             uvarint n_isr, n_isr x varint node id
 *
 * Bodies, version 1:
 *   1 REGISTER_BROKER   varint node_id, varint port, str host, nstr rack
 *   2 TOPIC             str name, uuid topic_id, uvarint n_partitions,
 *                       n_partitions x pspec (partition 0, 1, ...),
 *                       uvarint n_configs, n_configs x (str key, str value)
 *   3 REMOVE_TOPIC      uuid topic_id
 *   4 PARTITIONS        uuid topic_id, uvarint first (the partition index of
 *                       the first new partition, i.e. the current count),
 *                       uvarint n, n x pspec
 *   5 CONFIG            u8 resource (1 topic, 2 broker), u8 flags (bit 0:
 *                       replace = remove every key not named below first,
 *                       bits 1-7 zero), then the resource: uuid topic_id for a
 *                       topic, varint node_id for a broker (-1 = cluster-wide
 *                       default), then uvarint n_ops, n_ops x (str key,
 *                       nstr value; null value = delete the key)
 *   6 PRODUCER_IDS      varint node_id, varlong first_id, varint count: the
 *                       ids [first_id, first_id + count) belong to node_id
 *   7 PARTITION_CHANGE  uuid topic_id, varint partition, varint leader,
 *                       varint leader_epoch, uvarint n_isr, n_isr x varint
 *   8                   reserved (feature levels)
 *
 * Rules for a valid record (the decoder checks them, so everything after it
 * can rely on them):
 *   1. The format byte is 1 and the body ends exactly at the end of input.
 *   2. A type this build does not know, or a version above the one it reads,
 *      is SL_ERR_UNSUPPORTED_VERSION (written by a newer sluice), unless the
 *      IGNORABLE flag is set, in which case the record decodes as SKIP.
 *   3. Every length and count is checked against the structural limits in
 *      record.h and against the bytes left before anything is allocated, so
 *      memory is bounded by a small multiple of the input size.
 * Semantic checks (does the topic exist, is the leader a replica, ...) are
 * the image's job at apply time (image.c).
 *
 * In the metadata log one Raft entry holds one record followed by 0-7 zero
 * bytes, so that the entry length is a multiple of 8: libraft 0.15 pads entry
 * data to 8 bytes when it writes a segment but not when it reads one back,
 * so an entry of any other length is lost or breaks the next load.
 *
 * Versioning: a change to a body adds a new version of that type; readers
 * keep decoding all older versions. New kinds of change get a new type.
 */
#include "meta/record.h"

#include <string.h>

#include "base/bytes.h"
#include "base/mem.h"

uint8_t sl_meta_record_version(uint8_t type)
{
    return (type >= 1 && type <= SL_META_REC__MAX) ? 1 : 0;
}

const char *sl_meta_record_type_name(uint8_t type)
{
    static const char *const names[] = {
        "none",       "register_broker", "topic",        "remove_topic",
        "partitions", "config",          "producer_ids", "partition_change",
    };
    if (type < SL_ARRAY_LEN(names)) return names[type];
    if (type == SL_META_REC_SKIP) return "skip";
    return "unknown";
}

/* ---- encoding ---------------------------------------------------------- */

void sl_meta_put_str(sl_buf *out, sl_meta_str s)
{
    sl_buf_put_uvarint(out, s.len);
    sl_buf_put(out, s.ptr, s.len);
}

void sl_meta_put_nstr(sl_buf *out, sl_meta_str s)
{
    if (!s.ptr) {
        sl_buf_put_uvarint(out, 0);
        return;
    }
    sl_buf_put_uvarint(out, (uint64_t)s.len + 1);
    sl_buf_put(out, s.ptr, s.len);
}

static void put_ids(sl_buf *out, const int32_t *ids, uint32_t n)
{
    sl_buf_put_uvarint(out, n);
    for (uint32_t i = 0; i < n; i++)
        sl_buf_put_varint(out, ids[i]);
}

static void put_pspec(sl_buf *out, const sl_meta_partition_spec *p)
{
    sl_buf_put_varint(out, p->leader);
    sl_buf_put_varint(out, p->leader_epoch);
    put_ids(out, p->replicas, p->n_replicas);
    put_ids(out, p->isr, p->n_isr);
}

static bool pspec_ok(const sl_meta_partition_spec *p)
{
    return p->n_replicas >= 1 && p->n_replicas <= SL_META_MAX_REPLICAS &&
           p->n_isr <= SL_META_MAX_REPLICAS;
}

static bool str_ok(sl_meta_str s, uint32_t max, bool nullable)
{
    if (!s.ptr) return nullable || s.len == 0;
    return s.len <= max;
}

static bool ops_ok(const sl_meta_config_op *ops, uint32_t n, bool nullable_values)
{
    if (n > SL_META_MAX_CONFIG_OPS) return false;
    for (uint32_t i = 0; i < n; i++) {
        if (!ops[i].key.ptr || !str_ok(ops[i].key, SL_META_MAX_CONFIG_KEY, false)) return false;
        if (!str_ok(ops[i].value, SL_META_MAX_CONFIG_VALUE, nullable_values)) return false;
        if (!nullable_values && !ops[i].value.ptr) return false;
    }
    return true;
}

void sl_meta_encode_topic_body(sl_buf *out, const sl_meta_record *rec)
{
    sl_meta_put_str(out, rec->topic.name);
    sl_buf_put(out, rec->topic.id, 16);
    sl_buf_put_uvarint(out, rec->topic.n_partitions);
    for (uint32_t i = 0; i < rec->topic.n_partitions; i++)
        put_pspec(out, &rec->topic.partitions[i]);
    sl_buf_put_uvarint(out, rec->topic.n_configs);
    for (uint32_t i = 0; i < rec->topic.n_configs; i++) {
        sl_meta_put_str(out, rec->topic.configs[i].key);
        sl_meta_put_str(out, rec->topic.configs[i].value);
    }
}

int sl_meta_record_encode(const sl_meta_record *rec, sl_buf *out)
{
    uint8_t version = rec->version ? rec->version : sl_meta_record_version(rec->type);
    if (version == 0 || version != sl_meta_record_version(rec->type)) return SL_ERR_INVALID_ARG;
    if (rec->flags & ~SL_META_RECORD_IGNORABLE) return SL_ERR_INVALID_ARG;

    /* Validate first so a failed encode appends nothing. */
    switch (rec->type) {
    case SL_META_REC_REGISTER_BROKER:
        if (!rec->broker.host.ptr || !str_ok(rec->broker.host, SL_META_MAX_HOST, false) ||
            !str_ok(rec->broker.rack, SL_META_MAX_RACK, true))
            return SL_ERR_INVALID_ARG;
        break;
    case SL_META_REC_TOPIC:
        if (!rec->topic.name.ptr || !str_ok(rec->topic.name, SL_META_MAX_TOPIC_NAME, false) ||
            rec->topic.n_partitions > SL_META_MAX_PARTITIONS ||
            !ops_ok(rec->topic.configs, rec->topic.n_configs, false))
            return SL_ERR_INVALID_ARG;
        for (uint32_t i = 0; i < rec->topic.n_partitions; i++)
            if (!pspec_ok(&rec->topic.partitions[i])) return SL_ERR_INVALID_ARG;
        break;
    case SL_META_REC_REMOVE_TOPIC:
        break;
    case SL_META_REC_PARTITIONS:
        if (rec->partitions.n > SL_META_MAX_PARTITIONS) return SL_ERR_INVALID_ARG;
        for (uint32_t i = 0; i < rec->partitions.n; i++)
            if (!pspec_ok(&rec->partitions.partitions[i])) return SL_ERR_INVALID_ARG;
        break;
    case SL_META_REC_CONFIG:
        if ((rec->config.resource != SL_META_CONFIG_TOPIC &&
             rec->config.resource != SL_META_CONFIG_BROKER) ||
            !ops_ok(rec->config.ops, rec->config.n_ops, true))
            return SL_ERR_INVALID_ARG;
        break;
    case SL_META_REC_PRODUCER_IDS:
        break;
    case SL_META_REC_PARTITION_CHANGE:
        if (rec->partition_change.n_isr > SL_META_MAX_REPLICAS) return SL_ERR_INVALID_ARG;
        break;
    default:
        return SL_ERR_INVALID_ARG;
    }

    sl_buf_put_i8(out, SL_META_RECORD_FORMAT);
    sl_buf_put_i8(out, (int8_t)rec->type);
    sl_buf_put_i8(out, (int8_t)version);
    sl_buf_put_i8(out, (int8_t)rec->flags);
    switch (rec->type) {
    case SL_META_REC_REGISTER_BROKER:
        sl_buf_put_varint(out, rec->broker.node_id);
        sl_buf_put_varint(out, rec->broker.port);
        sl_meta_put_str(out, rec->broker.host);
        sl_meta_put_nstr(out, rec->broker.rack);
        break;
    case SL_META_REC_TOPIC:
        sl_meta_encode_topic_body(out, rec);
        break;
    case SL_META_REC_REMOVE_TOPIC:
        sl_buf_put(out, rec->remove_topic.id, 16);
        break;
    case SL_META_REC_PARTITIONS:
        sl_buf_put(out, rec->partitions.id, 16);
        sl_buf_put_uvarint(out, rec->partitions.first);
        sl_buf_put_uvarint(out, rec->partitions.n);
        for (uint32_t i = 0; i < rec->partitions.n; i++)
            put_pspec(out, &rec->partitions.partitions[i]);
        break;
    case SL_META_REC_CONFIG:
        sl_buf_put_i8(out, (int8_t)rec->config.resource);
        sl_buf_put_i8(out, rec->config.replace ? 1 : 0);
        if (rec->config.resource == SL_META_CONFIG_TOPIC)
            sl_buf_put(out, rec->config.topic_id, 16);
        else
            sl_buf_put_varint(out, rec->config.node_id);
        sl_buf_put_uvarint(out, rec->config.n_ops);
        for (uint32_t i = 0; i < rec->config.n_ops; i++) {
            sl_meta_put_str(out, rec->config.ops[i].key);
            sl_meta_put_nstr(out, rec->config.ops[i].value);
        }
        break;
    case SL_META_REC_PRODUCER_IDS:
        sl_buf_put_varint(out, rec->producer_ids.node_id);
        sl_buf_put_varlong(out, rec->producer_ids.first_id);
        sl_buf_put_varint(out, rec->producer_ids.count);
        break;
    case SL_META_REC_PARTITION_CHANGE:
        sl_buf_put(out, rec->partition_change.topic_id, 16);
        sl_buf_put_varint(out, rec->partition_change.partition);
        sl_buf_put_varint(out, rec->partition_change.leader);
        sl_buf_put_varint(out, rec->partition_change.leader_epoch);
        put_ids(out, rec->partition_change.isr, rec->partition_change.n_isr);
        break;
    }
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

sl_meta_str sl_meta_read_str(sl_reader *r, uint32_t max)
{
    sl_meta_str s = {NULL, 0};
    uint32_t len = sl_read_uvarint(r);
    if (r->err) return s;
    if (len > max) {
        sl_reader_fail(r, SL_ERR_DECODE);
        return s;
    }
    const uint8_t *p = sl_read_raw(r, len);
    if (!p) return s;
    s.ptr = (const char *)p;
    s.len = len;
    return s;
}

sl_meta_str sl_meta_read_nstr(sl_reader *r, uint32_t max)
{
    sl_meta_str s = {NULL, 0};
    uint32_t len1 = sl_read_uvarint(r);
    if (r->err || len1 == 0) return s;
    if (len1 - 1 > max) {
        sl_reader_fail(r, SL_ERR_DECODE);
        return s;
    }
    const uint8_t *p = sl_read_raw(r, len1 - 1);
    if (!p) return s;
    s.ptr = (const char *)p;
    s.len = len1 - 1;
    return s;
}

/* Reads a count and checks it against `max` and against the bytes left,
 * given that each element takes at least `min_bytes`. */
static uint32_t read_count(sl_reader *r, uint32_t max, size_t min_bytes)
{
    uint32_t n = sl_read_uvarint(r);
    if (r->err) return 0;
    if (n > max) {
        sl_reader_fail(r, SL_ERR_DECODE);
        return 0;
    }
    if ((uint64_t)n * min_bytes > sl_reader_left(r)) {
        sl_reader_fail(r, SL_ERR_TRUNCATED);
        return 0;
    }
    return n;
}

static void *arena_array(sl_reader *r, sl_arena *arena, size_t n, size_t size)
{
    if (r->err) return NULL;
    if (n == 0) return NULL;
    void *p = sl_arena_alloc_array(arena, n, size);
    if (!p) sl_reader_fail(r, SL_ERR_TOO_LARGE);
    return p;
}

static const int32_t *read_ids(sl_reader *r, sl_arena *arena, uint32_t *n_out)
{
    uint32_t n = read_count(r, SL_META_MAX_REPLICAS, 1);
    int32_t *ids = arena_array(r, arena, n, sizeof *ids);
    for (uint32_t i = 0; i < n && !r->err; i++)
        ids[i] = sl_read_varint(r);
    *n_out = r->err ? 0 : n;
    return r->err ? NULL : ids;
}

static const sl_meta_partition_spec *read_pspecs(sl_reader *r, sl_arena *arena, uint32_t *n_out)
{
    /* leader, epoch, n_replicas, one replica, n_isr: at least 5 bytes */
    uint32_t n = read_count(r, SL_META_MAX_PARTITIONS, 5);
    sl_meta_partition_spec *ps = arena_array(r, arena, n, sizeof *ps);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        ps[i].leader = sl_read_varint(r);
        ps[i].leader_epoch = sl_read_varint(r);
        ps[i].replicas = read_ids(r, arena, &ps[i].n_replicas);
        ps[i].isr = read_ids(r, arena, &ps[i].n_isr);
        if (!r->err && ps[i].n_replicas == 0) sl_reader_fail(r, SL_ERR_DECODE);
    }
    *n_out = r->err ? 0 : n;
    return r->err ? NULL : ps;
}

static const sl_meta_config_op *read_ops(sl_reader *r, sl_arena *arena, uint32_t *n_out,
                                         bool nullable_values)
{
    uint32_t n = read_count(r, SL_META_MAX_CONFIG_OPS, 2);
    sl_meta_config_op *ops = arena_array(r, arena, n, sizeof *ops);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        ops[i].key = sl_meta_read_str(r, SL_META_MAX_CONFIG_KEY);
        ops[i].value = nullable_values ? sl_meta_read_nstr(r, SL_META_MAX_CONFIG_VALUE)
                                       : sl_meta_read_str(r, SL_META_MAX_CONFIG_VALUE);
    }
    *n_out = r->err ? 0 : n;
    return r->err ? NULL : ops;
}

static void read_uuid(sl_reader *r, uint8_t id[16])
{
    const uint8_t *p = sl_read_raw(r, 16);
    if (p)
        memcpy(id, p, 16);
    else
        memset(id, 0, 16);
}

int sl_meta_decode_topic_body(sl_reader *r, sl_arena *arena, sl_meta_record *out)
{
    out->topic.name = sl_meta_read_str(r, SL_META_MAX_TOPIC_NAME);
    read_uuid(r, out->topic.id);
    out->topic.partitions = read_pspecs(r, arena, &out->topic.n_partitions);
    out->topic.configs = read_ops(r, arena, &out->topic.n_configs, false);
    return r->err;
}

static int decode(const void *data, size_t len, sl_arena *arena, sl_meta_record *out, size_t *used)
{
    sl_reader r;
    sl_reader_init(&r, data, len);
    memset(out, 0, sizeof *out);

    uint8_t format = (uint8_t)sl_read_i8(&r);
    uint8_t type = (uint8_t)sl_read_i8(&r);
    uint8_t version = (uint8_t)sl_read_i8(&r);
    uint8_t flags = (uint8_t)sl_read_i8(&r);
    if (r.err) return r.err;
    if (format != SL_META_RECORD_FORMAT) {
        /* A different framing cannot be read at all, ignorable or not. */
        return format > SL_META_RECORD_FORMAT ? SL_ERR_UNSUPPORTED_VERSION : SL_ERR_DECODE;
    }
    uint8_t known = sl_meta_record_version(type);
    if (known == 0 || version > known || (flags & ~SL_META_RECORD_IGNORABLE)) {
        if (flags & SL_META_RECORD_IGNORABLE) {
            out->type = SL_META_REC_SKIP;
            out->version = version;
            out->flags = flags;
            *used = len; /* the body is opaque: all of it */
            return 0;
        }
        return SL_ERR_UNSUPPORTED_VERSION;
    }
    if (version == 0) return SL_ERR_DECODE;
    out->type = type;
    out->version = version;
    out->flags = flags;

    switch (type) {
    case SL_META_REC_REGISTER_BROKER:
        out->broker.node_id = sl_read_varint(&r);
        out->broker.port = sl_read_varint(&r);
        out->broker.host = sl_meta_read_str(&r, SL_META_MAX_HOST);
        out->broker.rack = sl_meta_read_nstr(&r, SL_META_MAX_RACK);
        break;
    case SL_META_REC_TOPIC:
        sl_meta_decode_topic_body(&r, arena, out);
        break;
    case SL_META_REC_REMOVE_TOPIC:
        read_uuid(&r, out->remove_topic.id);
        break;
    case SL_META_REC_PARTITIONS:
        read_uuid(&r, out->partitions.id);
        out->partitions.first = sl_read_uvarint(&r);
        out->partitions.partitions = read_pspecs(&r, arena, &out->partitions.n);
        break;
    case SL_META_REC_CONFIG: {
        out->config.resource = (uint8_t)sl_read_i8(&r);
        uint8_t cflags = (uint8_t)sl_read_i8(&r);
        if (r.err) break;
        if (cflags & ~1u) {
            sl_reader_fail(&r, SL_ERR_DECODE);
            break;
        }
        out->config.replace = cflags & 1;
        if (out->config.resource == SL_META_CONFIG_TOPIC)
            read_uuid(&r, out->config.topic_id);
        else if (out->config.resource == SL_META_CONFIG_BROKER)
            out->config.node_id = sl_read_varint(&r);
        else
            sl_reader_fail(&r, SL_ERR_DECODE);
        out->config.ops = read_ops(&r, arena, &out->config.n_ops, true);
        break;
    }
    case SL_META_REC_PRODUCER_IDS:
        out->producer_ids.node_id = sl_read_varint(&r);
        out->producer_ids.first_id = sl_read_varlong(&r);
        out->producer_ids.count = sl_read_varint(&r);
        break;
    case SL_META_REC_PARTITION_CHANGE:
        read_uuid(&r, out->partition_change.topic_id);
        out->partition_change.partition = sl_read_varint(&r);
        out->partition_change.leader = sl_read_varint(&r);
        out->partition_change.leader_epoch = sl_read_varint(&r);
        out->partition_change.isr = read_ids(&r, arena, &out->partition_change.n_isr);
        break;
    }
    if (r.err) return r.err;
    *used = sl_reader_offset(&r);
    return 0;
}

int sl_meta_record_decode(const void *data, size_t len, sl_arena *arena, sl_meta_record *out)
{
    size_t used;
    int rc = decode(data, len, arena, out, &used);
    if (rc == 0 && used != len) rc = SL_ERR_DECODE;
    return rc;
}

int sl_meta_record_decode_entry(const void *data, size_t len, sl_arena *arena, sl_meta_record *out)
{
    size_t used;
    int rc = decode(data, len, arena, out, &used);
    if (rc) return rc;
    if (len % 8 != 0 || len - used >= 8) return SL_ERR_DECODE;
    for (size_t i = used; i < len; i++)
        if (((const uint8_t *)data)[i] != 0) return SL_ERR_DECODE;
    return 0;
}

void sl_meta_record_pad(sl_buf *out)
{
    static const uint8_t zeros[8];
    sl_buf_put(out, zeros, (8 - out->len % 8) % 8);
}
