/* Wire primitives of the Kafka protocol, used by the generated codecs.
 *
 * Every reader takes `compact` (the message version is flexible: lengths are
 * unsigned varints of length+1) and `nullable` (null is legal in this
 * version). Readers follow sl_reader's sticky-error rule: on failure they set
 * r->err, leave r->pos at the offending field and return a harmless value, so
 * generated code checks the error once per struct. Lengths are checked
 * against the bytes left before anything points at or allocates for them.
 *
 * Writers never fail (sl_buf aborts on allocation failure) and are exactly
 * mirrored by the *_size functions, so Msg_size() equals what Msg_encode()
 * writes. A null value handed to a writer for a version where the field is
 * not nullable is written as empty, and strings longer than the wire allows
 * are cut, so whatever a handler puts in a struct encodes to a valid message.
 */
#ifndef SL_PROTO_PRIM_H
#define SL_PROTO_PRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/bytes.h"
#include "base/err.h"
#include "proto/types.h"

#define SL_PROTO_STR_MAX INT16_MAX

/* ---- reading ------------------------------------------------------------ */

static inline bool sl_proto_read_bool(sl_reader *r)
{
    return sl_read_i8(r) != 0;
}
static inline uint16_t sl_proto_read_u16(sl_reader *r)
{
    return (uint16_t)sl_read_i16(r);
}
static inline double sl_proto_read_f64(sl_reader *r)
{
    uint64_t u = (uint64_t)sl_read_i64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
static inline void sl_proto_read_uuid(sl_reader *r, sl_uuid *out)
{
    const uint8_t *p = sl_read_raw(r, sizeof out->b);
    if (p) memcpy(out->b, p, sizeof out->b);
}

/* Reads a length (int16/int32 classic, uvarint-1 compact). Returns the
 * length, -1 for null, or -2 after failing (r->err set, r->pos at the
 * length). `max` bounds a non-null length. */
static inline int64_t sl_proto_read_len(sl_reader *r, bool compact, bool wide, bool nullable,
                                        int64_t max)
{
    const uint8_t *start = r->pos;
    int64_t n;
    if (compact)
        n = (int64_t)sl_read_uvarint(r) - 1;
    else
        n = wide ? sl_read_i32(r) : sl_read_i16(r);
    if (r->err) return -2;
    if (n < -1 || (n == -1 && !nullable) || n > max) {
        r->pos = start;
        sl_reader_fail(r, SL_ERR_DECODE);
        return -2;
    }
    if (n > 0 && sl_reader_left(r) < (size_t)n) {
        sl_reader_fail(r, SL_ERR_TRUNCATED);
        return -2;
    }
    return n;
}

static inline void sl_proto_read_str(sl_reader *r, bool compact, bool nullable, sl_str *out)
{
    int64_t n = sl_proto_read_len(r, compact, false, nullable, SL_PROTO_STR_MAX);
    if (n < -1) return;
    out->len = (int32_t)n;
    out->ptr = n >= 0 ? (const char *)sl_read_raw(r, (size_t)n) : NULL;
}

static inline void sl_proto_read_bytes(sl_reader *r, bool compact, bool nullable, sl_bytes *out)
{
    int64_t n = sl_proto_read_len(r, compact, true, nullable, INT32_MAX);
    if (n < -1) return;
    out->len = (int32_t)n;
    out->ptr = n >= 0 ? sl_read_raw(r, (size_t)n) : NULL;
}

static inline void sl_proto_read_records(sl_reader *r, bool compact, bool nullable, sl_records *out)
{
    int64_t n = sl_proto_read_len(r, compact, true, nullable, INT32_MAX);
    if (n < -1) return;
    out->len = (int32_t)n;
    out->ptr = n >= 0 ? sl_read_raw(r, (size_t)n) : NULL;
    out->file = NULL;
    out->file_pos = 0;
}

/* Reads an array count: >= 0, -1 for null, or 0 after failing. A count above
 * the bytes left cannot be honest (every element takes at least one byte) and
 * is refused before anything is allocated for it. */
static inline int32_t sl_proto_read_count(sl_reader *r, bool compact, bool nullable)
{
    const uint8_t *start = r->pos;
    int64_t n;
    if (compact)
        n = (int64_t)sl_read_uvarint(r) - 1;
    else
        n = sl_read_i32(r);
    if (r->err) return 0;
    if (n < -1 || (n == -1 && !nullable) || n > INT32_MAX) {
        r->pos = start;
        sl_reader_fail(r, SL_ERR_DECODE);
        return 0;
    }
    if (n > 0 && (uint64_t)n > sl_reader_left(r)) {
        sl_reader_fail(r, SL_ERR_TRUNCATED);
        return 0;
    }
    return (int32_t)n;
}

/* Zeroed memory for *count elements from the request arena. The arena's
 * limit turns a hostile count into SL_ERR_NOMEM instead of unbounded memory;
 * on failure *count becomes 0 so no caller walks a NULL array. */
static inline void *sl_proto_alloc(sl_reader *r, sl_arena *a, int32_t *count, size_t size)
{
    if (r->err || *count <= 0) return NULL;
    void *p = sl_arena_alloc_array(a, (size_t)*count, size);
    if (!p) {
        *count = 0;
        sl_reader_fail(r, SL_ERR_NOMEM);
    }
    return p;
}

/* Tagged fields: sl_proto_tag_open reads one (tag, size) pair and sets up
 * `sub` to cover exactly that field's bytes; sl_proto_tag_close moves `r`
 * past them. A known field must use all of its bytes; an unknown one is
 * skipped. */
static inline uint32_t sl_proto_tag_open(sl_reader *r, sl_reader *sub)
{
    uint32_t tag = sl_read_uvarint(r);
    uint32_t size = sl_read_uvarint(r);
    *sub = *r;
    if (!r->err && sl_reader_left(r) < size) sl_reader_fail(r, SL_ERR_TRUNCATED);
    if (r->err) {
        sub->err = r->err;
        return UINT32_MAX;
    }
    sub->end = r->pos + size;
    return tag;
}
static inline void sl_proto_tag_close(sl_reader *r, sl_reader *sub, bool known)
{
    if (r->err) return;
    if (sub->err) {
        r->pos = sub->pos;
        r->err = sub->err;
    } else if (known && sub->pos != sub->end) {
        r->pos = sub->pos;
        r->err = SL_ERR_DECODE;
    } else {
        r->pos = sub->end;
    }
}
/* Skips a whole tagged-field section (structs without known tags). */
void sl_proto_skip_tags(sl_reader *r);

/* ---- writing and sizes -------------------------------------------------- */

static inline void sl_proto_put_bool(sl_buf *b, bool v)
{
    sl_buf_put_i8(b, v ? 1 : 0);
}
static inline void sl_proto_put_u16(sl_buf *b, uint16_t v)
{
    sl_buf_put_i16(b, (int16_t)v);
}
static inline void sl_proto_put_f64(sl_buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    sl_buf_put_i64(b, (int64_t)u);
}
static inline void sl_proto_put_uuid(sl_buf *b, const sl_uuid *u)
{
    sl_buf_put(b, u->b, 16);
}

/* The length a writer puts on the wire for `len`: null collapses to empty
 * where null is not allowed, and over-long values are cut to `max`. */
static inline int32_t sl_proto_wire_len(int32_t len, bool nullable, int32_t max)
{
    if (len < 0) return nullable ? -1 : 0;
    return len > max ? max : len;
}
static inline size_t sl_proto_len_size(bool compact, bool wide, int32_t n)
{
    if (compact) return sl_uvarint_size((uint32_t)(n + 1));
    return wide ? 4 : 2;
}
static inline void sl_proto_put_len(sl_buf *b, bool compact, bool wide, int32_t n)
{
    if (compact)
        sl_buf_put_uvarint(b, (uint32_t)(n + 1));
    else if (wide)
        sl_buf_put_i32(b, n);
    else
        sl_buf_put_i16(b, (int16_t)n);
}

static inline void sl_proto_put_str(sl_buf *b, bool compact, bool nullable, sl_str s)
{
    int32_t n = sl_proto_wire_len(s.len, nullable, SL_PROTO_STR_MAX);
    sl_proto_put_len(b, compact, false, n);
    if (n > 0) sl_buf_put(b, s.ptr, (size_t)n);
}
static inline size_t sl_proto_str_size(bool compact, bool nullable, sl_str s)
{
    int32_t n = sl_proto_wire_len(s.len, nullable, SL_PROTO_STR_MAX);
    return sl_proto_len_size(compact, false, n) + (n > 0 ? (size_t)n : 0);
}

static inline void sl_proto_put_bytes(sl_buf *b, bool compact, bool nullable, sl_bytes s)
{
    int32_t n = sl_proto_wire_len(s.len, nullable, INT32_MAX);
    sl_proto_put_len(b, compact, true, n);
    if (n > 0) sl_buf_put(b, s.ptr, (size_t)n);
}
static inline size_t sl_proto_bytes_size(bool compact, bool nullable, sl_bytes s)
{
    int32_t n = sl_proto_wire_len(s.len, nullable, INT32_MAX);
    return sl_proto_len_size(compact, true, n) + (n > 0 ? (size_t)n : 0);
}

static inline void sl_proto_put_records(sl_buf *b, bool compact, bool nullable, sl_records s)
{
    int32_t n = sl_proto_wire_len(s.len, nullable, INT32_MAX);
    sl_proto_put_len(b, compact, true, n);
    if (n <= 0) return;
    if (s.file)
        sl_buf_put_file(b, s.file, s.file_pos, n);
    else
        sl_buf_put(b, s.ptr, (size_t)n);
}
/* Includes spliced file bytes: it is the size on the wire. */
static inline size_t sl_proto_records_size(bool compact, bool nullable, sl_records s)
{
    int32_t n = sl_proto_wire_len(s.len, nullable, INT32_MAX);
    return sl_proto_len_size(compact, true, n) + (n > 0 ? (size_t)n : 0);
}

static inline void sl_proto_put_count(sl_buf *b, bool compact, bool nullable, int32_t n)
{
    sl_proto_put_len(b, compact, true, sl_proto_wire_len(n, nullable, INT32_MAX));
}
static inline size_t sl_proto_count_size(bool compact, bool nullable, int32_t n)
{
    return sl_proto_len_size(compact, true, sl_proto_wire_len(n, nullable, INT32_MAX));
}

/* Header of one tagged field: tag, then the payload size. */
static inline void sl_proto_put_tag(sl_buf *b, uint32_t tag, size_t size)
{
    sl_buf_put_uvarint(b, tag);
    sl_buf_put_uvarint(b, size);
}
static inline size_t sl_proto_tag_size(uint32_t tag, size_t size)
{
    return sl_uvarint_size(tag) + sl_uvarint_size(size) + size;
}

#endif
