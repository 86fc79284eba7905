#include "group/records.h"

#include "base/err.h"

static void put_str(sl_buf *b, sl_gstr s)
{
    if (s.len < 0) {
        sl_buf_put_i16(b, -1);
        return;
    }
    sl_buf_put_i16(b, (int16_t)s.len);
    sl_buf_put(b, s.ptr, (size_t)s.len);
}

static void put_bytes(sl_buf *b, sl_gstr s)
{
    if (s.len < 0) {
        sl_buf_put_i32(b, -1);
        return;
    }
    sl_buf_put_i32(b, s.len);
    sl_buf_put(b, s.ptr, (size_t)s.len);
}

static sl_gstr read_str(sl_reader *r)
{
    int16_t n = sl_read_i16(r);
    if (n < 0) return (sl_gstr){NULL, -1};
    const uint8_t *p = sl_read_raw(r, (size_t)n);
    return p ? (sl_gstr){(const char *)p, n} : (sl_gstr){NULL, -1};
}

static sl_gstr read_bytes(sl_reader *r)
{
    int32_t n = sl_read_i32(r);
    if (n < 0) return (sl_gstr){NULL, -1};
    const uint8_t *p = sl_read_raw(r, (size_t)n);
    return p ? (sl_gstr){(const char *)p, n} : (sl_gstr){NULL, -1};
}

void sl_grec_offset_key(sl_buf *b, sl_gstr group, sl_gstr topic, int32_t partition)
{
    sl_buf_put_i16(b, SL_GREC_KEY_OFFSET_V1);
    put_str(b, group);
    put_str(b, topic);
    sl_buf_put_i32(b, partition);
}

void sl_grec_offset_value(sl_buf *b, int64_t offset, int32_t leader_epoch, sl_gstr metadata,
                          int64_t commit_ms)
{
    sl_buf_put_i16(b, 3);
    sl_buf_put_i64(b, offset);
    sl_buf_put_i32(b, leader_epoch);
    /* Kafka stores an absent metadata string as "". */
    put_str(b, metadata.len < 0 ? (sl_gstr){"", 0} : metadata);
    sl_buf_put_i64(b, commit_ms);
}

void sl_grec_group_key(sl_buf *b, sl_gstr group)
{
    sl_buf_put_i16(b, SL_GREC_KEY_GROUP);
    put_str(b, group);
}

void sl_grec_group_value(sl_buf *b, const sl_grec_group *g)
{
    sl_buf_put_i16(b, 3);
    put_str(b, g->protocol_type.len < 0 ? (sl_gstr){"", 0} : g->protocol_type);
    sl_buf_put_i32(b, g->generation);
    put_str(b, g->protocol);
    put_str(b, g->leader);
    sl_buf_put_i64(b, g->state_ms);
    sl_buf_put_i32(b, g->nmembers);
}

void sl_grec_group_member(sl_buf *b, const sl_grec_member *m)
{
    put_str(b, m->member_id);
    put_str(b, m->instance_id);
    put_str(b, m->client_id);
    put_str(b, m->client_host);
    sl_buf_put_i32(b, m->rebalance_timeout_ms);
    sl_buf_put_i32(b, m->session_timeout_ms);
    put_bytes(b, m->subscription.len < 0 ? (sl_gstr){"", 0} : m->subscription);
    put_bytes(b, m->assignment.len < 0 ? (sl_gstr){"", 0} : m->assignment);
}

int sl_grec_decode_key(const uint8_t *p, int32_t len, sl_grec_key *out)
{
    if (!p || len < 2) return SL_ERR_CORRUPT;
    sl_reader r;
    sl_reader_init(&r, p, (size_t)len);
    out->version = sl_read_i16(&r);
    out->group = read_str(&r);
    out->topic = (sl_gstr){NULL, -1};
    out->partition = -1;
    if (out->version == SL_GREC_KEY_OFFSET_V0 || out->version == SL_GREC_KEY_OFFSET_V1) {
        out->topic = read_str(&r);
        out->partition = sl_read_i32(&r);
        if (out->topic.len < 0) return SL_ERR_CORRUPT;
    } else if (out->version != SL_GREC_KEY_GROUP) {
        return SL_ERR_UNSUPPORTED_VERSION;
    }
    if (r.err || out->group.len < 0 || sl_reader_left(&r) != 0) return SL_ERR_CORRUPT;
    return 0;
}

int sl_grec_decode_offset(const uint8_t *p, int32_t len, sl_grec_offset *out)
{
    if (!p || len < 2) return SL_ERR_CORRUPT;
    sl_reader r;
    sl_reader_init(&r, p, (size_t)len);
    int16_t version = sl_read_i16(&r);
    if (version != 3) return SL_ERR_UNSUPPORTED_VERSION;
    out->offset = sl_read_i64(&r);
    out->leader_epoch = sl_read_i32(&r);
    out->metadata = read_str(&r);
    out->commit_ms = sl_read_i64(&r);
    return r.err || sl_reader_left(&r) != 0 ? SL_ERR_CORRUPT : 0;
}

int sl_grec_decode_group(sl_reader *r, sl_grec_group *out)
{
    int16_t version = sl_read_i16(r);
    if (!r->err && version != 3) return SL_ERR_UNSUPPORTED_VERSION;
    out->protocol_type = read_str(r);
    out->generation = sl_read_i32(r);
    out->protocol = read_str(r);
    out->leader = read_str(r);
    out->state_ms = sl_read_i64(r);
    out->nmembers = sl_read_i32(r);
    if (r->err || out->nmembers < 0 || (size_t)out->nmembers > sl_reader_left(r))
        return SL_ERR_CORRUPT;
    return 0;
}

int sl_grec_next_member(sl_reader *r, sl_grec_member *m)
{
    m->member_id = read_str(r);
    m->instance_id = read_str(r);
    m->client_id = read_str(r);
    m->client_host = read_str(r);
    m->rebalance_timeout_ms = sl_read_i32(r);
    m->session_timeout_ms = sl_read_i32(r);
    m->subscription = read_bytes(r);
    m->assignment = read_bytes(r);
    return r->err || m->member_id.len < 0 ? SL_ERR_CORRUPT : 0;
}
