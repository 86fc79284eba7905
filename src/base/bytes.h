/* Big-endian loads/stores, varints and the bounds-checked reader.
 *
 * Two varint flavours exist in Kafka and are easy to mix up:
 *  - unsigned LEB128 (sl_*_uvarint): lengths and counts in flexible protocol
 *    versions and tagged fields;
 *  - zigzag (sl_*_varint / sl_*_varlong): fields inside record batches.
 */
#ifndef SL_BASE_BYTES_H
#define SL_BASE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

static inline uint16_t sl_load_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t sl_load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t sl_load_be64(const uint8_t *p)
{
    return ((uint64_t)sl_load_be32(p) << 32) | sl_load_be32(p + 4);
}
static inline void sl_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void sl_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void sl_store_be64(uint8_t *p, uint64_t v)
{
    sl_store_be32(p, (uint32_t)(v >> 32));
    sl_store_be32(p + 4, (uint32_t)v);
}

/* Largest encodings: 5 bytes for 32-bit, 10 bytes for 64-bit varints. */
#define SL_UVARINT32_MAX_LEN 5
#define SL_VARLONG_MAX_LEN   10

static inline uint32_t sl_zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}
static inline int32_t sl_unzigzag32(uint32_t v)
{
    return (int32_t)(v >> 1) ^ -(int32_t)(v & 1);
}
static inline uint64_t sl_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t sl_unzigzag64(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Encoded size of an unsigned varint. */
static inline size_t sl_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
static inline size_t sl_varint_size(int32_t v)
{
    return sl_uvarint_size(sl_zigzag32(v));
}
static inline size_t sl_varlong_size(int64_t v)
{
    return sl_uvarint_size(sl_zigzag64(v));
}

/* Writes v at p (room for SL_VARLONG_MAX_LEN assumed); returns bytes written. */
static inline size_t sl_put_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Bounds-checked sequential reader. The first failure sets `err` and leaves
 * `pos` where the failing read began, so the caller can report the byte
 * offset; every later read fails too (sticky), which lets decoders check once
 * at the end of a struct instead of after every field. */
typedef struct sl_reader {
    const uint8_t *base; /* start of the whole message (for offsets in errors) */
    const uint8_t *pos;
    const uint8_t *end;
    int err; /* 0 or SL_ERR_TRUNCATED / SL_ERR_DECODE */
} sl_reader;

static inline void sl_reader_init(sl_reader *r, const void *data, size_t len)
{
    r->base = r->pos = (const uint8_t *)data;
    r->end = r->base + len;
    r->err = 0;
}
static inline size_t sl_reader_left(const sl_reader *r)
{
    return (size_t)(r->end - r->pos);
}
static inline size_t sl_reader_offset(const sl_reader *r)
{
    return (size_t)(r->pos - r->base);
}
static inline bool sl_reader_need(sl_reader *r, size_t n)
{
    if (r->err) return false;
    if ((size_t)(r->end - r->pos) < n) {
        r->err = SL_ERR_TRUNCATED;
        return false;
    }
    return true;
}
static inline void sl_reader_fail(sl_reader *r, int err)
{
    if (!r->err) r->err = err;
}

static inline int8_t sl_read_i8(sl_reader *r)
{
    if (!sl_reader_need(r, 1)) return 0;
    return (int8_t)*r->pos++;
}
static inline int16_t sl_read_i16(sl_reader *r)
{
    if (!sl_reader_need(r, 2)) return 0;
    int16_t v = (int16_t)sl_load_be16(r->pos);
    r->pos += 2;
    return v;
}
static inline int32_t sl_read_i32(sl_reader *r)
{
    if (!sl_reader_need(r, 4)) return 0;
    int32_t v = (int32_t)sl_load_be32(r->pos);
    r->pos += 4;
    return v;
}
static inline int64_t sl_read_i64(sl_reader *r)
{
    if (!sl_reader_need(r, 8)) return 0;
    int64_t v = (int64_t)sl_load_be64(r->pos);
    r->pos += 8;
    return v;
}
/* Returns a pointer to the next n bytes and skips them, or NULL. */
static inline const uint8_t *sl_read_raw(sl_reader *r, size_t n)
{
    if (!sl_reader_need(r, n)) return NULL;
    const uint8_t *p = r->pos;
    r->pos += n;
    return p;
}

/* Unsigned LEB128, at most `maxlen` bytes; over-long or overflowing input is
 * SL_ERR_DECODE. */
uint64_t sl_read_uvarint_n(sl_reader *r, int maxlen);
static inline uint32_t sl_read_uvarint(sl_reader *r)
{
    uint64_t v = sl_read_uvarint_n(r, SL_UVARINT32_MAX_LEN);
    if (v > UINT32_MAX) {
        sl_reader_fail(r, SL_ERR_DECODE);
        return 0;
    }
    return (uint32_t)v;
}
static inline int32_t sl_read_varint(sl_reader *r)
{
    return sl_unzigzag32(sl_read_uvarint(r));
}
static inline int64_t sl_read_varlong(sl_reader *r)
{
    return sl_unzigzag64(sl_read_uvarint_n(r, SL_VARLONG_MAX_LEN));
}

#endif
