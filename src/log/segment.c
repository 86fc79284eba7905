/* Log segment (.log file): the batch stream of one offset range.
 *
 * On-disk format of NNNNNNNNNNNNNNNNNNNN.log, where the name is the
 * segment's base offset in 20 decimal digits (zero padded):
 *
 *   a concatenation of record batches (magic 2), each exactly the bytes a
 *   producer sent (see src/record/batch.h for the 61-byte header):
 *
 *     off size field
 *     0   8    baseOffset            int64  stamped by the broker on append
 *     8   4    batchLength           int32  bytes after this field
 *     12  4    partitionLeaderEpoch  int32  stamped by the broker on append
 *     16  1    magic                 int8   2
 *     17  4    crc                   uint32 CRC-32C of bytes [21, 12+batchLength)
 *     21  ..   attributes ... records (untouched client bytes)
 *
 *   No file header, no padding, no trailer: Fetch serves byte ranges of this
 *   file to consumers unchanged (sendfile).
 *
 * Invariants of a valid segment (what recovery checks, in this order):
 *  1. Every batch header parses: 61 bytes present, magic == 2,
 *     batchLength >= 49, and the whole batch (12 + batchLength bytes) lies
 *     inside the file.
 *  2. The CRC-32C over [21, end of batch) equals the stored crc.
 *  3. lastOffsetDelta >= 0 and offsets are contiguous: the first batch's
 *     baseOffset equals the segment's base offset (the file name) and each
 *     later batch's baseOffset equals the previous batch's last offset + 1.
 *     (sluice has no compaction yet, so a gap can only be damage: baseOffset
 *     is outside the CRC. When compaction arrives this relaxes to "strictly
 *     increasing".) partitionLeaderEpoch is also outside the CRC and cannot
 *     be checked.
 *  4. last offset - base offset <= INT32_MAX and every batch starts below
 *     2^31 bytes, so index entries fit their 32-bit fields.
 *  5. The file ends exactly at the end of the last valid batch. Anything
 *     after the longest valid prefix (torn write, zero-filled or
 *     preallocated tail, garbage) is cut off by recovery, and every later
 *     segment is deleted.
 *  6. A segment's first offset equals the previous segment's next offset.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "base/mem.h"
#include "log/internal.h"

void sl_segment_path(char *out, size_t cap, const char *dir, int64_t base, const char *ext)
{
    snprintf(out, cap, "%s/%020" PRId64 ".%s", dir, base, ext);
}

int64_t sl_segment_parse_name(const char *name, const char *ext)
{
    size_t el = strlen(ext);
    if (strlen(name) != SL_SEG_NAME_DIGITS + 1 + el || name[SL_SEG_NAME_DIGITS] != '.' ||
        strcmp(name + SL_SEG_NAME_DIGITS + 1, ext) != 0)
        return -1;
    int64_t v = 0;
    for (int i = 0; i < SL_SEG_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') return -1;
        if (v > (INT64_MAX - (name[i] - '0')) / 10) return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

void sl_segment_free(sl_segment *s)
{
    if (!s) return;
    sl_fileref_unref(s->file);
    sl_index_fini(&s->idx);
    sl_free(s);
}

void sl_segment_note_batch(sl_segment *s, int32_t interval, int64_t base_offset,
                           int64_t last_offset, int64_t max_ts, int64_t pos, int64_t size)
{
    if (max_ts > s->max_ts) {
        s->max_ts = max_ts;
        s->max_ts_offset = base_offset;
    }
    if (pos > 0 && s->bytes_since_index >= interval) {
        sl_index_add(&s->idx, (uint32_t)(base_offset - s->base_offset), (uint32_t)pos);
        if (s->max_ts >= 0)
            sl_index_add_time(&s->idx, s->max_ts, (uint32_t)(s->max_ts_offset - s->base_offset));
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += size;
    s->next_offset = last_offset + 1;
    s->size = pos + size;
}

void sl_segment_seal_time(sl_segment *s)
{
    if (s->max_ts >= 0)
        sl_index_add_time(&s->idx, s->max_ts, (uint32_t)(s->max_ts_offset - s->base_offset));
}

void sl_seg_cursor_init(sl_seg_cursor *c, const sl_log_io *io, int fd, int64_t pos, int64_t end,
                        uint8_t *buf, size_t cap)
{
    c->io = io;
    c->fd = fd;
    c->pos = pos;
    c->end = end;
    c->buf = buf;
    c->cap = cap;
    c->buf_pos = 0;
    c->buf_len = 0;
}

/* Makes [pos, pos+need) available in the buffer (need <= cap). */
static int cursor_fill(sl_seg_cursor *c, int64_t pos, size_t need)
{
    if (pos >= c->buf_pos && pos + (int64_t)need <= c->buf_pos + (int64_t)c->buf_len) return 0;
    /* Header peeks read a little ahead (enough for many small batches);
     * CRC passes ask for whole chunks. */
    size_t want = SL_MAX(need, (size_t)8192);
    want = (size_t)SL_MIN((int64_t)SL_MIN(want, c->cap), c->end - pos);
    size_t got = 0;
    c->buf_len = 0;
    c->buf_pos = pos;
    while (got < want) {
        ssize_t r = c->io->pread(c->io->ctx, c->fd, c->buf + got, want - got, pos + (int64_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return SL_ERR_IO;
        if (r == 0) break; /* the file is shorter than c->end says */
        got += (size_t)r;
    }
    c->buf_len = got;
    return got >= need ? 0 : SL_ERR_TRUNCATED;
}

int sl_seg_cursor_peek(sl_seg_cursor *c, sl_batch_header *h)
{
    if (c->pos == c->end) return 0;
    if (c->pos > c->end) return SL_ERR_CORRUPT;
    int64_t avail = c->end - c->pos;
    if (avail < SL_BATCH_HEADER_SIZE) return SL_ERR_TRUNCATED;
    int rc = cursor_fill(c, c->pos, SL_BATCH_HEADER_SIZE);
    if (rc != 0) return rc;
    rc = sl_batch_parse_header(c->buf + (c->pos - c->buf_pos), (size_t)avail, h);
    return rc == 0 ? 1 : rc;
}

int sl_seg_crc(sl_seg_cursor *c, int64_t from, int64_t len, uint32_t *crc)
{
    uint32_t v = 0;
    while (len > 0) {
        size_t k = (size_t)SL_MIN(len, (int64_t)c->cap);
        int rc = cursor_fill(c, from, k);
        if (rc != 0) return rc;
        v = sl_crc32c_extend(v, c->buf + (from - c->buf_pos), k);
        from += (int64_t)k;
        len -= (int64_t)k;
    }
    *crc = v;
    return 0;
}

int sl_segment_validate(const sl_log_io *io, int fd, int64_t expected_base, int32_t interval,
                        uint8_t *buf, size_t cap, sl_segment *s, sl_seg_scan *out)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return SL_ERR_IO;
    memset(out, 0, sizeof *out);
    out->file_size = st.st_size;
    out->next_offset = expected_base;
    if (s) {
        sl_index_clear(&s->idx);
        s->max_ts = -1;
        s->max_ts_offset = expected_base;
        s->bytes_since_index = 0;
        s->next_offset = expected_base;
        s->size = 0;
    }
    sl_seg_cursor c;
    sl_seg_cursor_init(&c, io, fd, 0, st.st_size, buf, cap);
    int64_t next = expected_base;
    for (;;) {
        sl_batch_header h;
        int rc = sl_seg_cursor_peek(&c, &h);
        if (rc == 0) break;
        if (rc == SL_ERR_IO) return rc;
        if (rc < 0) {
            out->why = rc == SL_ERR_TRUNCATED ? "batch extends past the end of the file"
                                              : "not a batch header (magic or length)";
            break;
        }
        if (h.last_offset_delta < 0) {
            out->why = "negative lastOffsetDelta";
            break;
        }
        if (h.base_offset != next) {
            out->why = "base offset not contiguous with the previous batch";
            break;
        }
        if (h.base_offset - expected_base > INT32_MAX - (int64_t)h.last_offset_delta) {
            out->why = "offset beyond the segment's 32-bit relative range";
            break;
        }
        if (c.pos > INT32_MAX) {
            out->why = "batch starts beyond 2 GiB";
            break;
        }
        int64_t total = sl_batch_total_size(&h);
        uint32_t crc;
        rc = sl_seg_crc(&c, c.pos + SL_BATCH_OFF_ATTRIBUTES, total - SL_BATCH_OFF_ATTRIBUTES, &crc);
        if (rc == SL_ERR_IO) return rc;
        if (rc != 0 || crc != h.crc) {
            out->why = "CRC mismatch";
            break;
        }
        if (s)
            sl_segment_note_batch(s, interval, h.base_offset, sl_batch_last_offset(&h),
                                  h.max_timestamp, c.pos, total);
        c.pos += total;
        next = sl_batch_last_offset(&h) + 1;
        out->batches++;
    }
    out->valid_end = c.pos;
    out->next_offset = next;
    return 0;
}
