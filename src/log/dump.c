/* Offline dumper / verifier of segment files (tools/sluice-dump-log and the
 * recovery fuzz target). Reads files only; formats are documented in
 * segment.c and index.c. Runs on any thread (no shared state). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/mem.h"
#include "log/internal.h"

static const char *codec_name(int c)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    return c >= 0 && c < 5 ? names[c] : "unknown";
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Base offset from a segment-style file name, -1 if the name is not one. */
static int64_t base_from_path(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    return sl_segment_parse_name(slash ? slash + 1 : path, ext);
}

static int read_exact(int fd, void *buf, size_t n, int64_t off)
{
    const sl_log_io *io = sl_log_io_default();
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = io->pread(io->ctx, fd, p, n, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* Record-level walk of an uncompressed batch: the record lengths must tile
 * the records section exactly, their count must equal recordsCount and the
 * offset deltas must increase up to lastOffsetDelta. */
static const char *deep_check(int fd, int64_t pos, const sl_batch_header *h)
{
    if (sl_batch_compression(h) != SL_COMPRESSION_NONE)
        return NULL; /* needs the codecs: header level only */
    int64_t total = sl_batch_total_size(h);
    if (total > 256 * 1024 * 1024) return NULL;
    uint8_t *b = sl_malloc((size_t)total);
    const char *why = NULL;
    if (read_exact(fd, b, (size_t)total, pos) != 0) {
        sl_free(b);
        return "cannot read batch";
    }
    sl_reader r;
    sl_reader_init(&r, b + SL_BATCH_HEADER_SIZE, (size_t)total - SL_BATCH_HEADER_SIZE);
    int32_t n = 0, prev_delta = -1;
    while (sl_reader_left(&r) > 0 && !why) {
        int32_t len = sl_read_varint(&r);
        if (r.err || len < 0 || (size_t)len > sl_reader_left(&r)) {
            why = "record length runs past the batch";
            break;
        }
        const uint8_t *end = r.pos + len;
        (void)sl_read_i8(&r);
        (void)sl_read_varlong(&r);
        int32_t od = sl_read_varint(&r);
        if (r.err || r.pos > end)
            why = "malformed record header";
        else if (od <= prev_delta || od > h->last_offset_delta)
            why = "record offset delta out of order";
        prev_delta = od;
        r.pos = end;
        n++;
    }
    if (!why && n != h->records_count) why = "recordsCount does not match the records";
    sl_free(b);
    return why;
}

static int dump_log(const char *path, int fd, int64_t size, bool deep, FILE *out)
{
    int64_t base = base_from_path(path, "log");
    uint8_t *buf = sl_malloc(SL_LOG_SCRATCH);
    sl_seg_cursor c;
    sl_seg_cursor_init(&c, sl_log_io_default(), fd, 0, size, buf, SL_LOG_SCRATCH);
    int bad = 0;
    int64_t expect = base, batches = 0;
    fprintf(out, "Dumping %s (%" PRId64 " bytes)\n", path, size);
    for (;;) {
        sl_batch_header h;
        int rc = sl_seg_cursor_peek(&c, &h);
        if (rc == 0) break;
        if (rc < 0) {
            fprintf(out, "CORRUPT at position %" PRId64 ": %s; %" PRId64 " trailing bytes\n", c.pos,
                    rc == SL_ERR_TRUNCATED ? "batch runs past the end of the file"
                    : rc == SL_ERR_IO      ? "read error"
                                           : "not a batch header (magic/length)",
                    size - c.pos);
            bad = 1;
            break;
        }
        int64_t total = sl_batch_total_size(&h);
        uint32_t crc = 0;
        bool crc_ok = sl_seg_crc(&c, c.pos + SL_BATCH_OFF_ATTRIBUTES,
                                 total - SL_BATCH_OFF_ATTRIBUTES, &crc) == 0 &&
                      crc == h.crc;
        fprintf(out,
                "baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %" PRId32 " size: %" PRId64
                " position: %" PRId64 " baseTimestamp: %" PRId64 " maxTimestamp: %" PRId64
                " producerId: %" PRId64 " producerEpoch: %d"
                " baseSequence: %" PRId32 " leaderEpoch: %" PRId32 " codec: %s%s%s%s crc: %s\n",
                h.base_offset, sl_batch_last_offset(&h), h.records_count, total, c.pos,
                h.base_timestamp, h.max_timestamp, h.producer_id, h.producer_epoch, h.base_sequence,
                h.leader_epoch, codec_name(sl_batch_compression(&h)),
                (h.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME) ? " logAppendTime" : "",
                sl_batch_is_transactional(&h) ? " transactional" : "",
                sl_batch_is_control(&h) ? " control" : "", crc_ok ? "ok" : "BAD");
        if (!crc_ok) bad = 1;
        if (h.last_offset_delta < 0) {
            fprintf(out, "  CORRUPT: negative lastOffsetDelta\n");
            bad = 1;
        }
        if (expect >= 0 && h.base_offset != expect) {
            fprintf(out, "  CORRUPT: expected baseOffset %" PRId64 "\n", expect);
            bad = 1;
        }
        if (deep && crc_ok) {
            const char *why = deep_check(fd, c.pos, &h);
            if (why) {
                fprintf(out, "  CORRUPT records: %s\n", why);
                bad = 1;
            }
        }
        /* a damaged header may claim any offset: stop checking continuity
         * rather than overflow past INT64_MAX */
        int64_t last = sl_batch_last_offset(&h);
        expect = last >= 0 && last < INT64_MAX ? last + 1 : -1;
        c.pos += total;
        batches++;
    }
    fprintf(out, "%" PRId64 " batches, %s\n", batches, bad ? "CORRUPTION FOUND" : "clean");
    sl_free(buf);
    return bad;
}

/* Opens the .log beside an index file, if there is one. */
static int open_sibling_log(const char *path, const char *ext, int64_t *size)
{
    char p[SL_LOG_PATH_MAX];
    size_t n = strlen(path) - strlen(ext);
    if (n + 4 >= sizeof p) return -1;
    memcpy(p, path, n);
    memcpy(p + n, "log", 4);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if (fd >= 0) *size = st.st_size;
    return fd;
}

static bool header_at(int fd, int64_t log_size, int64_t pos, sl_batch_header *h)
{
    uint8_t b[SL_BATCH_HEADER_SIZE];
    if (pos < 0 || pos + SL_BATCH_HEADER_SIZE > log_size || read_exact(fd, b, sizeof b, pos) != 0)
        return false;
    return sl_batch_parse_header(b, (size_t)(log_size - pos), h) == 0;
}

static int dump_index(const char *path, int fd, int64_t size, bool time, FILE *out)
{
    const char *ext = time ? "timeindex" : "index";
    size_t es = time ? SL_TIDX_ENTRY_SIZE : SL_IDX_ENTRY_SIZE;
    int64_t base = base_from_path(path, ext);
    int64_t log_size = 0;
    int lfd = base >= 0 ? open_sibling_log(path, ext, &log_size) : -1;
    int bad = 0;
    fprintf(out, "Dumping %s (%" PRId64 " bytes)%s\n", path, size,
            lfd >= 0 ? ", checking against the .log" : "");
    if (size % (int64_t)es != 0) {
        fprintf(out, "CORRUPT: size is not a multiple of %zu\n", es);
        bad = 1;
    }
    int64_t n = size / (int64_t)es, prev_key = INT64_MIN, prev_pos = 0;
    uint8_t e[SL_TIDX_ENTRY_SIZE];
    for (int64_t i = 0; i < n; i++) {
        if (read_exact(fd, e, es, i * (int64_t)es) != 0) {
            fprintf(out, "read error at entry %" PRId64 "\n", i);
            bad = 1;
            break;
        }
        sl_batch_header h;
        if (!time) {
            uint32_t rel = sl_load_be32(e), pos = sl_load_be32(e + 4);
            fprintf(out, "offset: %" PRId64 " position: %" PRIu32, base >= 0 ? base + rel : rel,
                    pos);
            if ((int64_t)rel <= prev_key || (i > 0 && (int64_t)pos <= prev_pos)) {
                fprintf(out, " CORRUPT: not increasing");
                bad = 1;
            }
            if (lfd >= 0 && (!header_at(lfd, log_size, pos, &h) || h.base_offset != base + rel)) {
                fprintf(out, " CORRUPT: no batch with this base offset at this position");
                bad = 1;
            }
            prev_key = rel;
            prev_pos = pos;
        } else {
            int64_t ts = (int64_t)sl_load_be64(e);
            uint32_t rel = sl_load_be32(e + 8);
            fprintf(out, "timestamp: %" PRId64 " offset: %" PRId64, ts,
                    base >= 0 ? base + rel : rel);
            if (ts <= prev_key || (int64_t)rel < prev_pos) {
                fprintf(out, " CORRUPT: not increasing");
                bad = 1;
            }
            prev_key = ts;
            prev_pos = rel;
        }
        fprintf(out, "\n");
    }
    if (time && lfd >= 0 && n > 0 && !bad) {
        /* every entry must name a batch that holds that timestamp */
        uint8_t *buf = sl_malloc(SL_LOG_SCRATCH);
        sl_seg_cursor c;
        sl_seg_cursor_init(&c, sl_log_io_default(), lfd, 0, log_size, buf, SL_LOG_SCRATCH);
        int64_t i = 0;
        int64_t ts = 0, want = 0;
        bool have = false;
        sl_batch_header h;
        while (i < n) {
            if (!have) {
                if (read_exact(fd, e, es, i * (int64_t)es) != 0) break;
                ts = (int64_t)sl_load_be64(e);
                want = base + sl_load_be32(e + 8);
                have = true;
            }
            if (sl_seg_cursor_peek(&c, &h) != 1 || h.base_offset > want) {
                fprintf(out,
                        "CORRUPT: time entry %" PRId64 " (offset %" PRId64
                        ") names no batch of the log\n",
                        i, want);
                bad = 1;
                break;
            }
            if (h.base_offset == want) {
                if (h.max_timestamp != ts) {
                    fprintf(out,
                            "CORRUPT: time entry %" PRId64 " says %" PRId64
                            " but the batch's maxTimestamp is %" PRId64 "\n",
                            i, ts, h.max_timestamp);
                    bad = 1;
                }
                i++;
                have = false;
                continue; /* the next entry may name the same batch */
            }
            c.pos += sl_batch_total_size(&h);
        }
        sl_free(buf);
    }
    if (lfd >= 0) close(lfd);
    fprintf(out, "%" PRId64 " entries, %s\n", n, bad ? "CORRUPTION FOUND" : "clean");
    return bad;
}

int sl_log_dump_file(const char *path, bool deep, FILE *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(out, "%s: %s\n", path, strerror(errno));
        return SL_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(out, "%s: not a regular file\n", path);
        close(fd);
        return SL_ERR_IO;
    }
    int rc;
    if (ends_with(path, ".timeindex"))
        rc = dump_index(path, fd, st.st_size, true, out);
    else if (ends_with(path, ".index"))
        rc = dump_index(path, fd, st.st_size, false, out);
    else
        rc = dump_log(path, fd, st.st_size, deep, out);
    close(fd);
    return rc;
}
