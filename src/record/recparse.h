/* Internal to src/record: decoding one record of a batch's records section.
 * Shared by the produce-path validator (which must stay allocation-free and
 * cheap per record) and the reader iterator, so both accept exactly the same
 * records. Not part of the module's public API.
 *
 * Record layout (all varints zigzag):
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
 *   | keyLength varint (-1 null) | key | valueLength varint (-1 null) | value
 *   | headersCount varint | headers: keyLength varint (never null) | key
 *                                    | valueLength varint (-1 null) | value
 */
#ifndef SL_RECORD_RECPARSE_H
#define SL_RECORD_RECPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"

/* Smallest record body: attributes + five one-byte varints. */
#define SL_REC_MIN_BODY 6

typedef struct sl_rec_view {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    int32_t key_len; /* -1 = null */
    const uint8_t *key;
    int32_t value_len; /* -1 = null */
    const uint8_t *value;
    int32_t header_count;
    const uint8_t *headers; /* encoded headers, up to headers_end */
    const uint8_t *headers_end;
} sl_rec_view;

/* Canonical unsigned LEB128 of at most 32 bits (5 bytes, no bits above 32):
 * what every Kafka client writes. Returns false on truncation or overflow. */
static inline bool sl_rec_uvarint32(const uint8_t **pp, const uint8_t *end, uint32_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return true;
    }
    uint32_t v = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
        if (p >= end) return false;
        uint8_t b = *p++;
        if (shift == 28 && b > 0x0f) return false;
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

static inline bool sl_rec_uvarint64(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
        if (p >= end) return false;
        uint8_t b = *p++;
        if (shift == 63 && b > 0x01) return false;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

static inline bool sl_rec_varint(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
    uint32_t u;
    if (!sl_rec_uvarint32(pp, end, &u)) return false;
    *out = sl_unzigzag32(u);
    return true;
}

/* A length-prefixed byte field (-1 = null allowed when nullable). */
static inline bool sl_rec_bytes(const uint8_t **pp, const uint8_t *end, bool nullable, int32_t *len,
                                const uint8_t **data)
{
    if (!sl_rec_varint(pp, end, len)) return false;
    if (*len < 0) {
        *data = NULL;
        return *len == -1 && nullable;
    }
    if ((size_t)*len > (size_t)(end - *pp)) return false;
    *data = *pp;
    *pp += *len;
    return true;
}

/* Decodes the record at p (records section ends at end). Returns the start
 * of the next record, or NULL if the record is malformed: length prefix past
 * the end or shorter than its fields, a field past the record, a negative
 * length other than -1 for key/values, a null header key, or bytes left over
 * inside the record. */
static inline const uint8_t *sl_rec_parse(const uint8_t *p, const uint8_t *end, sl_rec_view *v)
{
    int32_t len;
    if (!sl_rec_varint(&p, end, &len)) return NULL;
    if (len < SL_REC_MIN_BODY || (size_t)len > (size_t)(end - p)) return NULL;
    const uint8_t *rend = p + len;
    v->attributes = (int8_t)*p++;
    uint64_t ts;
    if (!sl_rec_uvarint64(&p, rend, &ts)) return NULL;
    v->timestamp_delta = sl_unzigzag64(ts);
    if (!sl_rec_varint(&p, rend, &v->offset_delta) ||
        !sl_rec_bytes(&p, rend, true, &v->key_len, &v->key) ||
        !sl_rec_bytes(&p, rend, true, &v->value_len, &v->value) ||
        !sl_rec_varint(&p, rend, &v->header_count))
        return NULL;
    /* Each header takes at least two bytes: refuse absurd counts up front. */
    if (v->header_count < 0 || (size_t)v->header_count > (size_t)(rend - p) / 2) return NULL;
    v->headers = p;
    for (int32_t i = 0; i < v->header_count; i++) {
        int32_t n;
        const uint8_t *d;
        if (!sl_rec_bytes(&p, rend, false, &n, &d) || !sl_rec_bytes(&p, rend, true, &n, &d))
            return NULL;
    }
    v->headers_end = p;
    return p == rend ? p : NULL;
}

#endif
