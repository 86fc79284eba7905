/* sl_buf: a growable byte buffer used for encoding, plus "splices".
 *
 * A splice says "at this point of the byte stream, send this file range".
 * The protocol encoder writes a Fetch response's headers into memory and,
 * where record data goes, adds a splice instead of copying the data; the
 * network layer then sends memory and file ranges in order (writev +
 * sendfile), so record bytes go from page cache to socket without a copy.
 *
 * Buffers are meant to be reused: sl_buf_reset keeps the allocation.
 */
#ifndef SL_BASE_BUF_H
#define SL_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/fileref.h"

typedef struct sl_splice {
    size_t at;        /* byte offset in sl_buf.data where the range goes */
    sl_fileref *file; /* one reference held by the buffer */
    int64_t pos;      /* file position */
    int64_t len;      /* bytes */
} sl_splice;

typedef struct sl_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    sl_splice *splices;
    size_t nsplices;
    size_t splice_cap;
    int64_t splice_bytes; /* sum of splice lengths */
} sl_buf;

void sl_buf_init(sl_buf *b);
void sl_buf_fini(sl_buf *b);
/* Empties the buffer (dropping splice references) but keeps its memory. */
void sl_buf_reset(sl_buf *b);
/* Ensures room for `extra` more bytes; returns a pointer to the free tail. */
uint8_t *sl_buf_reserve(sl_buf *b, size_t extra);
/* Frees memory above `keep` bytes of capacity (after a rare large message). */
void sl_buf_shrink(sl_buf *b, size_t keep);
/* Total bytes the buffer stands for: memory plus spliced file ranges. */
static inline int64_t sl_buf_total(const sl_buf *b)
{
    return (int64_t)b->len + b->splice_bytes;
}

static inline void sl_buf_put(sl_buf *b, const void *p, size_t n)
{
    if (n == 0) return;
    uint8_t *d = sl_buf_reserve(b, n);
    memcpy(d, p, n);
    b->len += n;
}
static inline void sl_buf_put_i8(sl_buf *b, int8_t v)
{
    *sl_buf_reserve(b, 1) = (uint8_t)v;
    b->len += 1;
}
static inline void sl_buf_put_i16(sl_buf *b, int16_t v)
{
    sl_store_be16(sl_buf_reserve(b, 2), (uint16_t)v);
    b->len += 2;
}
static inline void sl_buf_put_i32(sl_buf *b, int32_t v)
{
    sl_store_be32(sl_buf_reserve(b, 4), (uint32_t)v);
    b->len += 4;
}
static inline void sl_buf_put_i64(sl_buf *b, int64_t v)
{
    sl_store_be64(sl_buf_reserve(b, 8), (uint64_t)v);
    b->len += 8;
}
static inline void sl_buf_put_uvarint(sl_buf *b, uint64_t v)
{
    b->len += sl_put_uvarint(sl_buf_reserve(b, SL_VARLONG_MAX_LEN), v);
}
static inline void sl_buf_put_varint(sl_buf *b, int32_t v)
{
    sl_buf_put_uvarint(b, sl_zigzag32(v));
}
static inline void sl_buf_put_varlong(sl_buf *b, int64_t v)
{
    sl_buf_put_uvarint(b, sl_zigzag64(v));
}
/* Appends a splice of file bytes at the current end; takes a new reference. */
void sl_buf_put_file(sl_buf *b, sl_fileref *file, int64_t pos, int64_t len);

#endif
