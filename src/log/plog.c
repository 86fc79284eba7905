/* Partition log: the segments of one partition, appends, reads, retention,
 * truncation, group-commit flushing, and recovery at open.
 *
 * Directory layout (Kafka's): <log.dir>/<topic>-<partition>/ holding
 *   NNNNNNNNNNNNNNNNNNNN.log        batches (format: segment.c)
 *   NNNNNNNNNNNNNNNNNNNN.index      offset index (format: index.c)
 *   NNNNNNNNNNNNNNNNNNNN.timeindex  time index (format: index.c)
 * where N... is the segment's base offset in 20 digits. Files ending in
 * .deleted, .cleaned, .swap or .tmp are leftovers of interrupted operations
 * and are removed at open, as are index files without a .log.
 *
 * Invariants:
 *  1. segs[] is sorted by base offset; segs[i+1].base == segs[i].next_offset;
 *     the last segment is the active one, the only one appended to.
 *  2. segs[0].base <= log_start <= log_end == active.next_offset.
 *  3. flushed <= log_end: every offset below `flushed` is on stable storage
 *     (the recovery point written to the checkpoint).
 *  4. At most one fsync job per partition log is in flight (l->job); every
 *     waiter whose end_offset <= flushed has been answered.
 *
 * Recovery (open without a clean-shutdown marker): segments wholly before
 * the one holding the recovery point are trusted (they were fsynced with
 * their indexes before the recovery point passed them); from that segment
 * on, every batch is validated (rules in segment.c), the first invalid byte
 * and everything after it is truncated, every later segment is deleted, the
 * indexes of the scanned segments are rebuilt, and the result is fsynced.
 *
 * Thread: the loop thread; flush_worker() runs on libuv's threadpool and
 * touches only its job (file references and paths it owns).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "record/iter.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "log/internal.h"

#define IO(l)      (&(l)->dir->io)
#define SCRATCH(l) ((l)->dir->scratch)
/* ListOffsets reads a whole batch to find a record's timestamp; bigger
 * batches are answered at batch level. */
#define SL_TS_REFINE_MAX (64 * 1024 * 1024)

struct sl_flush_job {
    uv_work_t req;
    sl_plog *l; /* NULL once the log closed: the job then only cleans up */
    sl_log_io io;
    int64_t target;
    uint64_t trunc_epoch;
    uint64_t dir_gen;
    char *dirpath; /* fsync the partition directory too */
    sl_fileref **files;
    size_t nfiles;
    char **paths; /* index files of newly sealed segments */
    size_t npaths;
    int64_t sealed_below; /* segments with a lower base become `synced` */
    int err_no;
    const char *what;
    char err_path[SL_LOG_PATH_MAX];
};

/* ---- small helpers ------------------------------------------------------- */

static int64_t now_ms(sl_plog *l)
{
    return IO(l)->now_ms(IO(l)->ctx);
}

static sl_segment *active(sl_plog *l)
{
    return l->segs[l->nsegs - 1];
}

static void seg_path(sl_plog *l, char *out, int64_t base, const char *ext)
{
    sl_segment_path(out, SL_LOG_PATH_MAX, l->path, base, ext);
}

static int offline(sl_plog *l, const char *what, const char *path)
{
    sl_logdir_set_offline(l->dir, errno, what, path);
    return SL_ERR_IO;
}

static int write_all(const sl_log_io *io, int fd, const uint8_t *p, size_t n, int64_t off)
{
    while (n > 0) {
        ssize_t w = io->pwrite(io->ctx, fd, p, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int read_all(const sl_log_io *io, int fd, uint8_t *p, size_t n, int64_t off)
{
    while (n > 0) {
        ssize_t r = io->pread(io->ctx, fd, p, n, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 ? SL_ERR_TRUNCATED : SL_ERR_IO;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

static uint64_t rng_next(sl_plog *l)
{
    l->rng ^= l->rng << 13;
    l->rng ^= l->rng >> 7;
    l->rng ^= l->rng << 17;
    return l->rng;
}

static int64_t roll_jitter(sl_plog *l)
{
    if (l->cfg.segment_jitter_ms <= 0) return 0;
    return (int64_t)(rng_next(l) % (uint64_t)l->cfg.segment_jitter_ms);
}

static sl_segment *find_segment(sl_plog *l, int64_t offset)
{
    size_t lo = 0, hi = l->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->segs[mid]->base_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? l->segs[lo - 1] : NULL;
}

static size_t seg_slot(sl_plog *l, const sl_segment *s)
{
    for (size_t i = 0; i < l->nsegs; i++)
        if (l->segs[i] == s) return i;
    return l->nsegs;
}

static void segs_push(sl_plog *l, sl_segment *s)
{
    if (l->nsegs == l->segs_cap) {
        l->segs_cap = l->segs_cap ? l->segs_cap * 2 : 8;
        l->segs = sl_realloc(l->segs, l->segs_cap * sizeof *l->segs);
    }
    l->segs[l->nsegs++] = s;
}

/* ---- accessors ----------------------------------------------------------- */

const char *sl_plog_topic(const sl_plog *l)
{
    return l->topic;
}
int32_t sl_plog_partition(const sl_plog *l)
{
    return l->partition;
}
sl_logdir *sl_plog_logdir(sl_plog *l)
{
    return l->dir;
}
int64_t sl_plog_log_start(const sl_plog *l)
{
    return l->log_start;
}
int64_t sl_plog_log_end(const sl_plog *l)
{
    return l->log_end;
}
int64_t sl_plog_flushed_offset(const sl_plog *l)
{
    return l->flushed;
}
size_t sl_plog_segment_count(const sl_plog *l)
{
    return l->nsegs;
}
const sl_log_config *sl_plog_config(const sl_plog *l)
{
    return &l->cfg;
}

int64_t sl_plog_size_bytes(const sl_plog *l)
{
    int64_t n = 0;
    for (size_t i = 0; i < l->nsegs; i++)
        n += l->segs[i]->size;
    return n;
}

int sl_plog_set_config(sl_plog *l, const sl_log_config *cfg)
{
    int rc = sl_log_config_validate(cfg);
    if (rc != 0) return rc;
    l->cfg = *cfg;
    return 0;
}

/* ---- segment files --------------------------------------------------------- */

static void unlink_quiet(sl_plog *l, int64_t base, const char *ext)
{
    char p[SL_LOG_PATH_MAX];
    seg_path(l, p, base, ext);
    if (IO(l)->unlink(IO(l)->ctx, p) != 0 && errno != ENOENT)
        SL_WARN(SL_LOG_MODULE, "cannot remove %s: %s", p, strerror(errno));
}

static int seg_create(sl_plog *l, int64_t base, sl_segment **out)
{
    char p[SL_LOG_PATH_MAX];
    unlink_quiet(l, base, "index");
    unlink_quiet(l, base, "timeindex");
    seg_path(l, p, base, "log");
    /* A file at or past the log end holds nothing valid (recovery and
     * truncation delete such segments), so truncating it loses nothing. */
    int fd = IO(l)->open(IO(l)->ctx, p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return offline(l, "create segment", p);
    if (l->cfg.preallocate)
        (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)l->cfg.segment_bytes);
    sl_segment *s = SL_NEW(sl_segment);
    s->base_offset = base;
    s->next_offset = base;
    s->file = sl_fileref_new(fd);
    s->max_ts = -1;
    s->max_ts_offset = base;
    s->max_ts_known = true;
    s->created_ms = s->mtime_ms = now_ms(l);
    s->roll_jitter_ms = roll_jitter(l);
    s->idx_loaded = true;
    l->dir_gen++;
    *out = s;
    return 0;
}

static int seg_write_index(sl_plog *l, sl_segment *s)
{
    char ip[SL_LOG_PATH_MAX], tp[SL_LOG_PATH_MAX];
    seg_path(l, ip, s->base_offset, "index");
    seg_path(l, tp, s->base_offset, "timeindex");
    if (sl_index_write_files(IO(l), ip, tp, &s->idx) != 0) return offline(l, "write index", ip);
    return 0;
}

/* Releases blocks reserved beyond the data when preallocating. */
static void seg_trim(sl_plog *l, sl_segment *s)
{
    if (l->cfg.preallocate && l->cfg.segment_bytes > s->size)
        (void)fallocate(sl_fileref_fd(s->file), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        (off_t)s->size, (off_t)(l->cfg.segment_bytes - s->size));
}

/* Walks headers (no CRC: the data is trusted) from `pos`, where a batch with
 * base offset `expect` must start, to the end of the file, updating the
 * segment's size, next offset, timestamps and indexes. `first_indexed`: the
 * batch at pos already has its index entry. */
static int seg_walk_headers(sl_plog *l, sl_segment *s, int64_t pos, int64_t expect,
                            bool first_indexed, int64_t file_size)
{
    sl_seg_cursor c;
    sl_seg_cursor_init(&c, IO(l), sl_fileref_fd(s->file), pos, file_size, SCRATCH(l),
                       SL_LOG_SCRATCH);
    s->bytes_since_index = 0;
    bool first = true;
    for (;;) {
        sl_batch_header h;
        int rc = sl_seg_cursor_peek(&c, &h);
        if (rc == 0) return 0;
        if (rc < 0) return rc == SL_ERR_IO ? rc : SL_ERR_CORRUPT;
        if (h.base_offset != expect || h.last_offset_delta < 0 ||
            h.last_offset_delta >= INT64_MAX - h.base_offset)
            return SL_ERR_CORRUPT;
        int64_t total = sl_batch_total_size(&h);
        if (first && first_indexed) {
            if (h.max_timestamp > s->max_ts) {
                s->max_ts = h.max_timestamp;
                s->max_ts_offset = h.base_offset;
            }
            s->bytes_since_index = total;
            s->next_offset = sl_batch_last_offset(&h) + 1;
            s->size = c.pos + total;
        } else {
            sl_segment_note_batch(s, l->cfg.index_interval_bytes, h.base_offset,
                                  sl_batch_last_offset(&h), h.max_timestamp, c.pos, total);
        }
        first = false;
        expect = sl_batch_last_offset(&h) + 1;
        c.pos += total;
    }
}

/* Rebuilds a sealed segment's indexes from its headers. Size and next offset
 * stay as they are: a header that does not parse in trusted data is
 * reported, and reads past it fail with SL_ERR_CORRUPT. */
static int seg_rebuild_index(sl_plog *l, sl_segment *s)
{
    int64_t size = s->size, next = s->next_offset;
    sl_index_clear(&s->idx);
    s->max_ts = -1;
    s->max_ts_offset = s->base_offset;
    int rc = seg_walk_headers(l, s, 0, s->base_offset, false, size);
    if (rc != 0 || s->size != size || s->next_offset != next)
        SL_ERROR(SL_LOG_MODULE,
                 "segment %s/%020" PRId64 ".log does not frame as batches up to its end (%s)",
                 l->path, s->base_offset, rc ? sl_err_str(rc) : "offsets");
    s->size = size;
    s->next_offset = next;
    if (s != active(l)) sl_segment_seal_time(s);
    s->idx_loaded = true;
    s->max_ts_known = true;
    if (rc == 0 && s != active(l) && seg_write_index(l, s) != 0) return SL_ERR_IO;
    return rc == SL_ERR_IO ? rc : 0;
}

/* Loads a sealed segment's index files on first use; rebuilds when they are
 * missing or break an invariant. */
static int seg_ensure_loaded(sl_plog *l, sl_segment *s)
{
    if (s->idx_loaded) return 0;
    char ip[SL_LOG_PATH_MAX], tp[SL_LOG_PATH_MAX];
    seg_path(l, ip, s->base_offset, "index");
    seg_path(l, tp, s->base_offset, "timeindex");
    int rc = sl_index_read_files(IO(l), ip, tp, s->size, s->next_offset - s->base_offset, &s->idx);
    if (rc != 0) {
        SL_INFO(SL_LOG_MODULE, "rebuilding index of %s (%s)", ip, sl_err_str(rc));
        return seg_rebuild_index(l, s);
    }
    s->idx_loaded = true;
    if (!s->max_ts_known) {
        if (s->idx.nt > 0) {
            s->max_ts = s->idx.t[s->idx.nt - 1].ts;
            s->max_ts_offset = s->base_offset + s->idx.t[s->idx.nt - 1].rel;
        } else {
            s->max_ts = -1;
        }
        s->max_ts_known = true;
    }
    return 0;
}

/* Finds the batch holding `target` in s: its position and header. Uses the
 * index, re-checks the entry against the header it points at, and rebuilds
 * the index once if they disagree. */
static int seg_find(sl_plog *l, sl_segment *s, int64_t target, int64_t *pos_out, sl_batch_header *h)
{
    int rc = seg_ensure_loaded(l, s);
    if (rc != 0) return rc;
    for (int attempt = 0; attempt < 2; attempt++) {
        const sl_idx_entry *e = sl_index_lookup(&s->idx, (uint32_t)(target - s->base_offset));
        int64_t expect = e ? s->base_offset + e->rel : s->base_offset;
        sl_seg_cursor c;
        sl_seg_cursor_init(&c, IO(l), sl_fileref_fd(s->file), e ? e->pos : 0, s->size, SCRATCH(l),
                           SL_LOG_SCRATCH);
        for (;;) {
            rc = sl_seg_cursor_peek(&c, h);
            if (rc == SL_ERR_IO) return rc;
            if (rc != 1 || h->base_offset != expect) {
                rc = SL_ERR_CORRUPT;
                break;
            }
            if (sl_batch_last_offset(h) >= target) {
                *pos_out = c.pos;
                return 0;
            }
            expect = sl_batch_last_offset(h) + 1;
            c.pos += sl_batch_total_size(h);
        }
        if (attempt == 0 && e == NULL) break; /* no index involved: the data itself is bad */
        SL_WARN(SL_LOG_MODULE, "index of %s/%020" PRId64 " disagrees with the log; rebuilding",
                l->path, s->base_offset);
        rc = seg_rebuild_index(l, s);
        if (rc != 0) return rc;
    }
    SL_ERROR(SL_LOG_MODULE, "cannot find offset %" PRId64 " in %s/%020" PRId64 ".log", target,
             l->path, s->base_offset);
    return SL_ERR_CORRUPT;
}

/* Removes the oldest segment (retention, delete_records). */
static int delete_oldest(sl_plog *l)
{
    sl_segment *s = l->segs[0];
    char p[SL_LOG_PATH_MAX];
    seg_path(l, p, s->base_offset, "log");
    if (IO(l)->unlink(IO(l)->ctx, p) != 0 && errno != ENOENT)
        return offline(l, "delete segment", p);
    unlink_quiet(l, s->base_offset, "index");
    unlink_quiet(l, s->base_offset, "timeindex");
    memmove(l->segs, l->segs + 1, (l->nsegs - 1) * sizeof *l->segs);
    l->nsegs--;
    if (l->segs[0]->base_offset > l->log_start) l->log_start = l->segs[0]->base_offset;
    SL_INFO(SL_LOG_MODULE, "deleted segment %s (offsets %" PRId64 "..%" PRId64 ")", p,
            s->base_offset, s->next_offset - 1);
    sl_segment_free(s);
    l->dir_gen++;
    return 0;
}

/* Removes the newest segment (truncation, recovery). */
static int delete_newest(sl_plog *l)
{
    sl_segment *s = l->segs[l->nsegs - 1];
    char p[SL_LOG_PATH_MAX];
    seg_path(l, p, s->base_offset, "log");
    if (IO(l)->unlink(IO(l)->ctx, p) != 0 && errno != ENOENT)
        return offline(l, "delete segment", p);
    unlink_quiet(l, s->base_offset, "index");
    unlink_quiet(l, s->base_offset, "timeindex");
    l->nsegs--;
    sl_segment_free(s);
    l->dir_gen++;
    return 0;
}

/* Seals the active segment and starts a new one at the log end. */
static int roll(sl_plog *l)
{
    sl_segment *old = active(l);
    sl_segment_seal_time(old);
    if (seg_write_index(l, old) != 0) return SL_ERR_IO;
    seg_trim(l, old);
    sl_segment *s;
    int rc = seg_create(l, l->log_end, &s);
    if (rc != 0) return rc;
    old->synced = false;
    segs_push(l, s);
    SL_DEBUG(SL_LOG_MODULE, "rolled %s at offset %" PRId64, l->path, l->log_end);
    return 0;
}

/* ---- append --------------------------------------------------------------- */

static void start_flush(sl_plog *l);

int sl_plog_append(sl_plog *l, uint8_t *batch, size_t len, int32_t leader_epoch,
                   int64_t *base_offset_out)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    if (len < SL_BATCH_HEADER_SIZE || len > INT32_MAX ||
        (size_t)(int32_t)sl_load_be32(batch + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD != len)
        return SL_ERR_INVALID_ARG;
    int32_t delta = (int32_t)sl_load_be32(batch + SL_BATCH_OFF_LAST_OFFSET_DELTA);
    if (delta < 0 || l->log_end > INT64_MAX - 1 - delta) return SL_ERR_INVALID_ARG;
    int64_t max_ts = (int64_t)sl_load_be64(batch + SL_BATCH_OFF_MAX_TIMESTAMP);
    sl_segment *s = active(l);
    int64_t now = -1;
    if (s->size > 0) {
        bool full = s->size + (int64_t)len > l->cfg.segment_bytes || s->size > INT32_MAX ||
                    l->log_end + delta - s->base_offset > INT32_MAX;
        if (!full) {
            now = now_ms(l);
            full = now - s->created_ms >= l->cfg.segment_ms - s->roll_jitter_ms;
        }
        if (full) {
            int rc = roll(l);
            if (rc != 0) return rc;
            s = active(l);
        }
    }
    int64_t base = l->log_end;
    sl_batch_set_base_offset(batch, base);
    sl_batch_set_leader_epoch(batch, leader_epoch);
    int fd = sl_fileref_fd(s->file);
    if (write_all(IO(l), fd, batch, len, s->size) != 0) {
        int e = errno;
        /* Never leave half a batch that a later append would follow. */
        (void)IO(l)->ftruncate(IO(l)->ctx, fd, s->size);
        char p[SL_LOG_PATH_MAX];
        seg_path(l, p, s->base_offset, "log");
        errno = e;
        return offline(l, "write", p);
    }
    if (s->size == 0) s->created_ms = now >= 0 ? now : now_ms(l);
    sl_segment_note_batch(s, l->cfg.index_interval_bytes, base, base + delta, max_ts, s->size,
                          (int64_t)len);
    l->log_end = base + delta + 1;
    l->unflushed_records += (int64_t)delta + 1;
    if (l->unflushed_since_ms < 0) l->unflushed_since_ms = now >= 0 ? now : now_ms(l);
    if (l->unflushed_records >= l->cfg.flush_messages) start_flush(l);
    *base_offset_out = base;
    return 0;
}

/* ---- read ----------------------------------------------------------------- */

int sl_plog_read(sl_plog *l, int64_t fetch_offset, int32_t max_bytes, int64_t max_offset,
                 sl_log_read *out)
{
    memset(out, 0, sizeof *out);
    out->first_offset = -1;
    out->next_offset = fetch_offset;
    out->log_start_offset = l->log_start;
    out->log_end_offset = l->log_end;
    if (l->dir->offline) return SL_ERR_OFFLINE;
    if (fetch_offset < l->log_start || fetch_offset > l->log_end) return SL_ERR_OFFSET_OUT_OF_RANGE;
    if (fetch_offset == l->log_end || fetch_offset >= max_offset) return 0;
    sl_segment *s = find_segment(l, fetch_offset);
    size_t i = seg_slot(l, s);
    while (s->next_offset <= fetch_offset && i + 1 < l->nsegs)
        s = l->segs[++i];
    int64_t start;
    sl_batch_header h;
    int rc = seg_find(l, s, fetch_offset, &start, &h);
    if (rc != 0) return rc;
    if (sl_batch_last_offset(&h) >= max_offset) return 0;
    int64_t first_base = h.base_offset;
    int64_t end = start + sl_batch_total_size(&h);
    int64_t next = sl_batch_last_offset(&h) + 1;
    int64_t hard_end = s->size, hard_next = s->next_offset;
    if (max_offset < s->next_offset) {
        int64_t p;
        sl_batch_header mh;
        rc = seg_find(l, s, max_offset, &p, &mh);
        if (rc != 0) return rc;
        hard_end = p;
        hard_next = mh.base_offset;
    }
    int64_t soft_end = start + (max_bytes > 0 ? max_bytes : 0);
    if (soft_end >= hard_end) {
        if (hard_end > end) {
            end = hard_end;
            next = hard_next;
        }
    } else if (soft_end > end) {
        /* Largest batch boundary <= soft_end: jump by the index, then walk. */
        const sl_idx_entry *e = sl_index_lookup_pos(&s->idx, (uint32_t)soft_end);
        int64_t pos = end, expect = next;
        if (e && (int64_t)e->pos > end) {
            pos = e->pos;
            expect = s->base_offset + e->rel;
        }
        sl_seg_cursor c;
        sl_seg_cursor_init(&c, IO(l), sl_fileref_fd(s->file), pos, hard_end, SCRATCH(l),
                           SL_LOG_SCRATCH);
        bool verified = pos == end; /* an index position is trusted once its header matches */
        for (;;) {
            rc = sl_seg_cursor_peek(&c, &h);
            if (rc == SL_ERR_IO) return rc;
            if (rc != 1 || h.base_offset != expect) {
                if (verified) break; /* stop at what is known good; the next read reports it */
                c.pos = end;         /* the index entry is wrong: walk from the first batch */
                expect = next;
                verified = true;
                continue;
            }
            if (!verified) {
                end = c.pos;
                next = expect;
                verified = true;
            }
            int64_t total = sl_batch_total_size(&h);
            if (c.pos + total > soft_end) break;
            c.pos += total;
            expect = sl_batch_last_offset(&h) + 1;
            end = c.pos;
            next = expect;
        }
    }
    out->file = sl_fileref_ref(s->file);
    out->pos = start;
    out->len = end - start;
    out->first_offset = first_base;
    out->next_offset = next;
    return 0;
}

/* ---- timestamps ------------------------------------------------------------- */

/* Within the batch at pos: the first record with timestamp >= ts_target and
 * offset >= min_offset. Falls back to the batch level when the records cannot
 * be walked (too big, compressed without codec, malformed). */
static void batch_find_ts(sl_plog *l, sl_segment *s, int64_t pos, const sl_batch_header *h,
                          int64_t ts_target, int64_t min_offset, int64_t *offset, int64_t *ts)
{
    *offset = SL_MAX(h->base_offset, min_offset);
    *ts = h->max_timestamp;
    if (h->attributes & SL_BATCH_ATTR_LOG_APPEND_TIME)
        return; /* every record carries maxTimestamp */
    int64_t total = sl_batch_total_size(h);
    if (total > SL_TS_REFINE_MAX) return;
    uint8_t *raw = sl_malloc((size_t)total);
    if (read_all(IO(l), sl_fileref_fd(s->file), raw, (size_t)total, pos) != 0) {
        sl_free(raw);
        return;
    }
    /* The record module's iterator: one record parser for the whole broker,
     * with overflow-safe timestamps and bounded decompression. */
    sl_buf dec;
    sl_buf_init(&dec);
    sl_record_iter it;
    if (sl_record_iter_init(&it, raw, h, &dec, SL_TS_REFINE_MAX) == 0) {
        sl_record rec;
        while (sl_record_iter_next(&it, &rec) > 0) {
            if (rec.timestamp >= ts_target && rec.offset >= min_offset) {
                *offset = rec.offset;
                *ts = rec.timestamp;
                break;
            }
        }
    }
    sl_buf_fini(&dec);
    sl_free(raw);
}

static int ensure_max_ts(sl_plog *l, sl_segment *s)
{
    return s->max_ts_known ? 0 : seg_ensure_loaded(l, s);
}

int sl_plog_offset_for_timestamp(sl_plog *l, int64_t ts_ms, int64_t *offset, int64_t *timestamp)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    for (size_t i = 0; i < l->nsegs; i++) {
        sl_segment *s = l->segs[i];
        if (s->next_offset <= l->log_start || s->size == 0) continue;
        int rc = ensure_max_ts(l, s);
        if (rc != 0) return rc;
        if (s->max_ts < ts_ms) continue;
        rc = seg_ensure_loaded(l, s);
        if (rc != 0) return rc;
        const sl_tidx_entry *te = sl_index_lookup_time_below(&s->idx, ts_ms);
        int64_t from = te ? s->base_offset + te->rel : s->base_offset;
        from = SL_MAX(from, l->log_start);
        int64_t pos;
        sl_batch_header h;
        rc = seg_find(l, s, from, &pos, &h);
        if (rc != 0) return rc;
        sl_seg_cursor c;
        sl_seg_cursor_init(&c, IO(l), sl_fileref_fd(s->file), pos, s->size, SCRATCH(l),
                           SL_LOG_SCRATCH);
        for (;;) {
            rc = sl_seg_cursor_peek(&c, &h);
            if (rc != 1) return rc == 0 ? SL_ERR_CORRUPT : rc;
            if (h.max_timestamp >= ts_ms && sl_batch_last_offset(&h) >= l->log_start) {
                batch_find_ts(l, s, c.pos, &h, ts_ms, l->log_start, offset, timestamp);
                return 0;
            }
            c.pos += sl_batch_total_size(&h);
        }
    }
    return SL_ERR_NOT_FOUND;
}

int sl_plog_max_timestamp(sl_plog *l, int64_t *offset, int64_t *timestamp)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    sl_segment *best = NULL;
    for (size_t i = 0; i < l->nsegs; i++) {
        sl_segment *s = l->segs[i];
        if (s->size == 0 || s->next_offset <= l->log_start) continue;
        int rc = ensure_max_ts(l, s);
        if (rc != 0) return rc;
        if (s->max_ts >= 0 && (!best || s->max_ts > best->max_ts)) best = s;
    }
    if (!best) return SL_ERR_NOT_FOUND;
    int64_t pos;
    sl_batch_header h;
    int rc = seg_find(l, best, best->max_ts_offset, &pos, &h);
    if (rc != 0) return rc;
    batch_find_ts(l, best, pos, &h, best->max_ts, l->log_start, offset, timestamp);
    return 0;
}

/* ---- retention, delete records, truncation ------------------------------- */

int sl_plog_apply_retention(sl_plog *l, int64_t now)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    int deleted = 0;
    if (l->cfg.retention_ms >= 0) {
        for (;;) {
            sl_segment *s = l->segs[0];
            if (s->size == 0) break;
            int rc = ensure_max_ts(l, s);
            if (rc != 0) return rc;
            int64_t ts = s->max_ts >= 0 ? s->max_ts : s->mtime_ms;
            if (now - ts <= l->cfg.retention_ms) break;
            if (l->nsegs == 1 && (rc = roll(l)) != 0) return rc;
            if ((rc = delete_oldest(l)) != 0) return rc;
            deleted++;
        }
    }
    if (l->cfg.retention_bytes >= 0) {
        int64_t total = sl_plog_size_bytes(l);
        for (;;) {
            sl_segment *s = l->segs[0];
            if (s->size == 0 || total - s->size < l->cfg.retention_bytes) break;
            int rc;
            if (l->nsegs == 1 && (rc = roll(l)) != 0) return rc;
            total -= s->size;
            if ((rc = delete_oldest(l)) != 0) return rc;
            deleted++;
        }
    }
    return deleted;
}

int sl_plog_delete_records(sl_plog *l, int64_t before_offset)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    if (before_offset > l->log_end || before_offset < 0) return SL_ERR_OFFSET_OUT_OF_RANGE;
    if (before_offset <= l->log_start) return 0;
    l->log_start = before_offset;
    while (l->nsegs > 1 && l->segs[1]->base_offset <= before_offset) {
        int rc = delete_oldest(l);
        if (rc != 0) return rc;
    }
    sl_logdir_request_checkpoint(l->dir);
    return 0;
}

static void fail_waiters_above(sl_plog *l, int64_t end, int status);

/* Makes a truncation durable before anyone can rely on it. */
static int sync_after_truncate(sl_plog *l, sl_segment *s)
{
    char p[SL_LOG_PATH_MAX];
    seg_path(l, p, s->base_offset, "log");
    if (IO(l)->fsync(IO(l)->ctx, sl_fileref_fd(s->file), true) != 0) return offline(l, "fsync", p);
    if (sl_log_fsync_dir(IO(l), l->path) != 0) return offline(l, "fsync directory", l->path);
    l->dir_synced_gen = l->dir_gen;
    return 0;
}

int sl_plog_truncate_fully(sl_plog *l, int64_t new_start)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    if (new_start < 0) return SL_ERR_INVALID_ARG;
    while (l->nsegs > 0) {
        int rc = delete_newest(l);
        if (rc != 0) return rc;
    }
    sl_segment *s;
    int rc = seg_create(l, new_start, &s);
    if (rc != 0) return rc;
    segs_push(l, s);
    l->log_start = l->log_end = l->flushed = new_start;
    l->unflushed_records = 0;
    l->unflushed_since_ms = -1;
    l->trunc_epoch++;
    fail_waiters_above(l, new_start, SL_ERR_NOT_LEADER);
    rc = sync_after_truncate(l, s);
    SL_INFO(SL_LOG_MODULE, "%s truncated fully, starts at %" PRId64, l->path, new_start);
    return rc;
}

int sl_plog_truncate(sl_plog *l, int64_t offset)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    if (offset >= l->log_end) return 0;
    if (offset <= l->log_start || offset <= l->segs[0]->base_offset)
        return sl_plog_truncate_fully(l, offset < 0 ? 0 : offset);
    while (active(l)->base_offset >= offset) {
        int rc = delete_newest(l);
        if (rc != 0) return rc;
    }
    sl_segment *s = active(l);
    int64_t pos = s->size, new_end = s->next_offset;
    if (offset < s->next_offset) {
        sl_batch_header h;
        int rc = seg_find(l, s, offset, &pos, &h);
        if (rc != 0) return rc;
        new_end = h.base_offset;
    }
    char p[SL_LOG_PATH_MAX];
    seg_path(l, p, s->base_offset, "log");
    if (IO(l)->ftruncate(IO(l)->ctx, sl_fileref_fd(s->file), pos) != 0)
        return offline(l, "truncate", p);
    /* Re-derive indexes and timestamps of what is left. */
    s->size = pos;
    s->next_offset = new_end;
    sl_index_clear(&s->idx);
    s->max_ts = -1;
    s->max_ts_offset = s->base_offset;
    s->max_ts_known = true;
    s->idx_loaded = true;
    s->synced = false;
    int rc = seg_walk_headers(l, s, 0, s->base_offset, false, pos);
    if (rc != 0) return rc;
    l->log_end = new_end;
    l->trunc_epoch++;
    if (l->flushed > new_end) l->flushed = new_end;
    fail_waiters_above(l, new_end, SL_ERR_NOT_LEADER);
    SL_INFO(SL_LOG_MODULE, "%s truncated to %" PRId64, l->path, new_end);
    return sync_after_truncate(l, s);
}

/* ---- flushing and group commit ----------------------------------------------- */

/* Answers waiters: those covered by `flushed` with 0, all of them with
 * `fail` when fail < 0, those above `above` (when >= 0) with `above_status`.
 * The array is swapped out first so callbacks may queue new waiters. */
static void answer_waiters(sl_plog *l, int fail, int64_t above, int above_status)
{
    sl_flush_waiter *arr = l->waiters;
    size_t n = l->nwaiters, cap = l->waiters_cap;
    if (n == 0) return;
    l->waiters = l->spare;
    l->waiters_cap = l->spare_cap;
    l->nwaiters = 0;
    l->spare = NULL;
    l->spare_cap = 0;
    for (size_t i = 0; i < n; i++) {
        sl_flush_waiter w = arr[i];
        int status;
        if (fail < 0)
            status = fail;
        else if (w.end_offset <= l->flushed)
            status = 0;
        else if (above >= 0 && w.end_offset > above)
            status = above_status;
        else if (l->dir->offline)
            status = SL_ERR_OFFLINE;
        else {
            if (l->nwaiters == l->waiters_cap) {
                l->waiters_cap = l->waiters_cap ? l->waiters_cap * 2 : 16;
                l->waiters = sl_realloc(l->waiters, l->waiters_cap * sizeof *l->waiters);
            }
            l->waiters[l->nwaiters++] = w;
            continue;
        }
        w.cb(w.arg, status);
    }
    if (l->spare == NULL) {
        l->spare = arr;
        l->spare_cap = cap;
    } else {
        sl_free(arr);
    }
}

void sl_plog_fail_waiters(sl_plog *l, int status)
{
    answer_waiters(l, status, -1, 0);
}

static void fail_waiters_above(sl_plog *l, int64_t end, int status)
{
    answer_waiters(l, 0, end, status);
}

static void job_free(struct sl_flush_job *j)
{
    for (size_t i = 0; i < j->nfiles; i++)
        sl_fileref_unref(j->files[i]);
    for (size_t i = 0; i < j->npaths; i++)
        sl_free(j->paths[i]);
    sl_free(j->files);
    sl_free(j->paths);
    sl_free(j->dirpath);
    sl_free(j);
}

static void flush_worker(uv_work_t *req)
{
    struct sl_flush_job *j = req->data;
    for (size_t i = 0; i < j->nfiles; i++) {
        if (j->io.fsync(j->io.ctx, sl_fileref_fd(j->files[i]), true) != 0) {
            j->err_no = errno;
            j->what = "fsync";
            snprintf(j->err_path, sizeof j->err_path, "fd %d", sl_fileref_fd(j->files[i]));
            return;
        }
    }
    for (size_t i = 0; i < j->npaths; i++) {
        int fd = j->io.open(j->io.ctx, j->paths[i], O_RDONLY, 0);
        if (fd < 0) {
            if (errno == ENOENT) continue; /* deleted by retention meanwhile */
            j->err_no = errno;
            j->what = "open index for fsync";
            snprintf(j->err_path, sizeof j->err_path, "%s", j->paths[i]);
            return;
        }
        int rc = j->io.fsync(j->io.ctx, fd, true);
        int e = errno;
        close(fd);
        if (rc != 0) {
            j->err_no = e;
            j->what = "fsync index";
            snprintf(j->err_path, sizeof j->err_path, "%s", j->paths[i]);
            return;
        }
    }
    if (j->dirpath && sl_log_fsync_dir(&j->io, j->dirpath) != 0) {
        j->err_no = errno;
        j->what = "fsync directory";
        snprintf(j->err_path, sizeof j->err_path, "%s", j->dirpath);
    }
}

static void mark_synced(sl_plog *l, int64_t sealed_below)
{
    for (size_t i = 0; i + 1 < l->nsegs && l->segs[i]->base_offset < sealed_below; i++)
        l->segs[i]->synced = true;
}

static void flush_done(uv_work_t *req, int status)
{
    struct sl_flush_job *j = req->data;
    sl_plog *l = j->l;
    if (!l) {
        if (j->what)
            SL_ERROR(SL_LOG_MODULE, "%s failed after close (%s): %s", j->what, j->err_path,
                     strerror(j->err_no));
        job_free(j);
        return;
    }
    l->job = NULL;
    if (status != 0 && !j->what) {
        j->what = "fsync job";
        j->err_no = ECANCELED;
        snprintf(j->err_path, sizeof j->err_path, "%s", l->path);
    }
    if (j->what) {
        errno = j->err_no;
        sl_logdir_set_offline(l->dir, j->err_no, j->what, j->err_path);
        job_free(j);
        return;
    }
    if (j->trunc_epoch == l->trunc_epoch) {
        int64_t t = SL_MIN(j->target, l->log_end);
        if (t > l->flushed) l->flushed = t;
        mark_synced(l, j->sealed_below);
        if (j->dirpath && j->dir_gen > l->dir_synced_gen) l->dir_synced_gen = j->dir_gen;
    }
    job_free(j);
    answer_waiters(l, 0, -1, 0);
    if (l->nwaiters > 0 && !l->dir->offline) start_flush(l);
}

static bool needs_flush(const sl_plog *l)
{
    if (l->flushed < l->log_end || l->dir_gen != l->dir_synced_gen) return true;
    for (size_t i = 0; i + 1 < l->nsegs; i++)
        if (!l->segs[i]->synced) return true;
    return false;
}

static void start_flush(sl_plog *l)
{
    if (l->job || l->dir->offline || !needs_flush(l)) return;
    struct sl_flush_job *j = SL_NEW(struct sl_flush_job);
    j->req.data = j;
    j->l = l;
    j->io = l->dir->io;
    j->target = l->log_end;
    j->trunc_epoch = l->trunc_epoch;
    j->dir_gen = l->dir_gen;
    j->sealed_below = active(l)->base_offset;
    if (l->dir_gen != l->dir_synced_gen) j->dirpath = sl_strdup(l->path);
    size_t first = l->nsegs - 1;
    while (first > 0 && !l->segs[first - 1]->synced)
        first--;
    j->files = sl_calloc(l->nsegs - first, sizeof *j->files);
    if (l->nsegs - 1 > first) j->paths = sl_calloc(2 * (l->nsegs - 1 - first), sizeof *j->paths);
    for (size_t i = first; i < l->nsegs; i++) {
        sl_segment *s = l->segs[i];
        j->files[j->nfiles++] = sl_fileref_ref(s->file);
        if (i + 1 < l->nsegs) {
            char p[SL_LOG_PATH_MAX];
            seg_path(l, p, s->base_offset, "index");
            j->paths[j->npaths++] = sl_strdup(p);
            seg_path(l, p, s->base_offset, "timeindex");
            j->paths[j->npaths++] = sl_strdup(p);
        }
    }
    l->unflushed_records = 0;
    l->unflushed_since_ms = -1;
    l->job = j;
    int rc = uv_queue_work(l->dir->loop, &j->req, flush_worker, flush_done);
    if (rc != 0) {
        l->job = NULL;
        job_free(j);
        errno = EAGAIN;
        sl_logdir_set_offline(l->dir, EAGAIN, "queue fsync", l->path);
    }
}

int sl_plog_flush(sl_plog *l)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    start_flush(l);
    return 0;
}

int sl_plog_flush_wait(sl_plog *l, int64_t end_offset, void (*cb)(void *arg, int status), void *arg)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    if (end_offset > l->log_end) return SL_ERR_INVALID_ARG;
    if (end_offset <= l->flushed) return 1;
    if (l->nwaiters == l->waiters_cap) {
        l->waiters_cap = l->waiters_cap ? l->waiters_cap * 2 : 16;
        l->waiters = sl_realloc(l->waiters, l->waiters_cap * sizeof *l->waiters);
    }
    l->waiters[l->nwaiters++] = (sl_flush_waiter){end_offset, cb, arg};
    start_flush(l);
    return 0;
}

/* fsync of everything on the loop thread; with_active_index: the active
 * segment's index files too (shutdown). */
static int flush_now(sl_plog *l, bool with_active_index)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    char p[SL_LOG_PATH_MAX];
    for (size_t i = 0; i < l->nsegs; i++) {
        sl_segment *s = l->segs[i];
        bool is_active = i + 1 == l->nsegs;
        if (s->synced && !is_active) continue;
        seg_path(l, p, s->base_offset, "log");
        if (IO(l)->fsync(IO(l)->ctx, sl_fileref_fd(s->file), true) != 0)
            return offline(l, "fsync", p);
        if (!is_active || with_active_index) {
            static const char *const exts[] = {"index", "timeindex"};
            for (int k = 0; k < 2; k++) {
                seg_path(l, p, s->base_offset, exts[k]);
                int fd = IO(l)->open(IO(l)->ctx, p, O_RDONLY, 0);
                if (fd < 0) {
                    if (errno == ENOENT) continue;
                    return offline(l, "open index for fsync", p);
                }
                int rc = IO(l)->fsync(IO(l)->ctx, fd, true);
                int e = errno;
                close(fd);
                errno = e;
                if (rc != 0) return offline(l, "fsync index", p);
            }
        }
        if (!is_active) s->synced = true;
    }
    if (l->dir_gen != l->dir_synced_gen) {
        if (sl_log_fsync_dir(IO(l), l->path) != 0) return offline(l, "fsync directory", l->path);
        l->dir_synced_gen = l->dir_gen;
    }
    l->flushed = l->log_end;
    l->unflushed_records = 0;
    l->unflushed_since_ms = -1;
    return 0;
}

int sl_plog_flush_sync(sl_plog *l)
{
    int rc = flush_now(l, false);
    if (rc == 0) answer_waiters(l, 0, -1, 0);
    return rc;
}

void sl_plog_tick(sl_plog *l, int64_t now)
{
    if (l->dir->offline || l->job || l->flushed >= l->log_end) return;
    if (l->unflushed_records >= l->cfg.flush_messages ||
        (l->unflushed_since_ms >= 0 && l->cfg.flush_ms != INT64_MAX &&
         now - l->unflushed_since_ms >= l->cfg.flush_ms))
        start_flush(l);
}

/* ---- header scan ------------------------------------------------------------ */

int sl_plog_scan(sl_plog *l, int64_t from_offset, sl_plog_scan_cb cb, void *arg)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    int64_t from = SL_MAX(from_offset, l->log_start);
    if (from >= l->log_end) return 0;
    sl_segment *s = find_segment(l, from);
    size_t i = seg_slot(l, s);
    uint8_t *buf = sl_malloc(SL_LOG_SCRATCH);
    int rc = 0;
    for (; i < l->nsegs && rc == 0; i++) {
        s = l->segs[i];
        if (s->size == 0) continue;
        int64_t pos = 0;
        sl_batch_header h;
        if (from > s->base_offset && from < s->next_offset) {
            rc = seg_find(l, s, from, &pos, &h);
            if (rc != 0) break;
        } else if (from >= s->next_offset) {
            continue;
        }
        sl_seg_cursor c;
        sl_seg_cursor_init(&c, IO(l), sl_fileref_fd(s->file), pos, s->size, buf, SL_LOG_SCRATCH);
        for (;;) {
            int p = sl_seg_cursor_peek(&c, &h);
            if (p == 0) break;
            if (p < 0) {
                rc = p == SL_ERR_IO ? p : SL_ERR_CORRUPT;
                break;
            }
            int64_t at = c.pos;
            c.pos += sl_batch_total_size(&h);
            rc = cb(arg, &h, at);
            if (rc != 0) break;
        }
    }
    sl_free(buf);
    return rc;
}

/* ---- open, recovery, close ---------------------------------------------------- */

static sl_plog *plog_new(sl_logdir *d, const char *name, const char *topic, int32_t partition)
{
    sl_plog *l = SL_NEW(sl_plog);
    l->dir = d;
    l->topic = sl_strdup(topic);
    l->partition = partition;
    size_t n = strlen(d->path) + strlen(name) + 2;
    l->path = sl_malloc(n);
    snprintf(l->path, n, "%s/%s", d->path, name);
    l->cfg = d->default_cfg;
    l->unflushed_since_ms = -1;
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    l->rng = h | 1;
    return l;
}

static void plog_free(sl_plog *l)
{
    for (size_t i = 0; i < l->nsegs; i++)
        sl_segment_free(l->segs[i]);
    sl_free(l->segs);
    sl_free(l->waiters);
    sl_free(l->spare);
    sl_free(l->topic);
    sl_free(l->path);
    sl_free(l);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Lists segment base offsets; removes leftovers of interrupted operations. */
static int list_segments(sl_plog *l, int64_t **bases_out, size_t *n_out)
{
    DIR *dir = opendir(l->path);
    if (!dir) return offline(l, "open partition directory", l->path);
    int64_t *bases = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    char p[SL_LOG_PATH_MAX];
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int64_t b = sl_segment_parse_name(e->d_name, "log");
        if (b >= 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                bases = sl_realloc(bases, cap * sizeof *bases);
            }
            bases[n++] = b;
        } else if (has_suffix(e->d_name, ".deleted") || has_suffix(e->d_name, ".cleaned") ||
                   has_suffix(e->d_name, ".swap") || has_suffix(e->d_name, ".tmp")) {
            snprintf(p, sizeof p, "%s/%s", l->path, e->d_name);
            SL_INFO(SL_LOG_MODULE, "removing leftover %s", p);
            (void)IO(l)->unlink(IO(l)->ctx, p);
        }
    }
    closedir(dir);
    /* An empty partition directory (a crash between its mkdir and the
     * first segment's creation) has no bases: qsort/bsearch take no NULL. */
    if (n > 1) qsort(bases, n, sizeof *bases, cmp_i64);
    /* Index files without a .log belong to no segment. */
    dir = opendir(l->path);
    while (dir && (e = readdir(dir)) != NULL) {
        int64_t b = sl_segment_parse_name(e->d_name, "index");
        if (b < 0) b = sl_segment_parse_name(e->d_name, "timeindex");
        if (b >= 0 && (n == 0 || !bsearch(&b, bases, n, sizeof *bases, cmp_i64))) {
            snprintf(p, sizeof p, "%s/%s", l->path, e->d_name);
            (void)IO(l)->unlink(IO(l)->ctx, p);
        }
    }
    if (dir) closedir(dir);
    *bases_out = bases;
    *n_out = n;
    return 0;
}

static int seg_open_existing(sl_plog *l, int64_t base, sl_segment **out)
{
    char p[SL_LOG_PATH_MAX];
    seg_path(l, p, base, "log");
    int fd = IO(l)->open(IO(l)->ctx, p, O_RDWR, 0);
    if (fd < 0) return offline(l, "open segment", p);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return offline(l, "stat segment", p);
    }
    sl_segment *s = SL_NEW(sl_segment);
    s->base_offset = base;
    s->next_offset = base;
    s->size = st.st_size;
    s->file = sl_fileref_new(fd);
    s->max_ts = -1;
    s->max_ts_offset = base;
    s->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    s->created_ms = s->mtime_ms;
    s->roll_jitter_ms = roll_jitter(l);
    s->synced = true;
    *out = s;
    return 0;
}

/* A sealed, trusted segment: its largest timestamp is the last time index
 * entry (written at roll); everything else is loaded when first needed. */
static void seg_read_last_time(sl_plog *l, sl_segment *s)
{
    char p[SL_LOG_PATH_MAX];
    seg_path(l, p, s->base_offset, "timeindex");
    int fd = IO(l)->open(IO(l)->ctx, p, O_RDONLY, 0);
    if (fd < 0) return;
    struct stat st;
    uint8_t b[SL_TIDX_ENTRY_SIZE];
    if (fstat(fd, &st) == 0 && st.st_size % SL_TIDX_ENTRY_SIZE == 0) {
        if (st.st_size == 0) {
            s->max_ts = -1;
            s->max_ts_known = true;
        } else if (read_all(IO(l), fd, b, sizeof b, st.st_size - SL_TIDX_ENTRY_SIZE) == 0) {
            int64_t ts = (int64_t)sl_load_be64(b);
            uint32_t rel = sl_load_be32(b + 8);
            if (ts >= 0 && (int64_t)rel < s->next_offset - s->base_offset) {
                s->max_ts = ts;
                s->max_ts_offset = s->base_offset + rel;
                s->max_ts_known = true;
            }
        }
    }
    close(fd);
}

/* After a clean shutdown: the active segment's index files are complete;
 * only the batches after its last index entry are walked (headers only). */
static int open_active_clean(sl_plog *l, sl_segment *s)
{
    char ip[SL_LOG_PATH_MAX], tp[SL_LOG_PATH_MAX];
    seg_path(l, ip, s->base_offset, "index");
    seg_path(l, tp, s->base_offset, "timeindex");
    int64_t size = s->size;
    int rc = sl_index_read_files(IO(l), ip, tp, size, 0, &s->idx);
    if (rc != 0 && rc != SL_ERR_NOT_FOUND) return rc;
    if (rc == SL_ERR_NOT_FOUND && size > 0) return rc;
    s->max_ts = -1;
    if (s->idx.nt > 0) {
        s->max_ts = s->idx.t[s->idx.nt - 1].ts;
        s->max_ts_offset = s->base_offset + s->idx.t[s->idx.nt - 1].rel;
    }
    const sl_idx_entry *e = s->idx.n ? &s->idx.e[s->idx.n - 1] : NULL;
    s->size = 0;
    s->next_offset = s->base_offset;
    rc = seg_walk_headers(l, s, e ? e->pos : 0, e ? s->base_offset + e->rel : s->base_offset,
                          e != NULL, size);
    if (rc != 0 || s->size != size) return rc ? rc : SL_ERR_CORRUPT;
    if (s->idx.nt > 0 && s->idx.t[s->idx.nt - 1].rel >= s->next_offset - s->base_offset)
        return SL_ERR_CORRUPT;
    s->idx_loaded = true;
    s->max_ts_known = true;
    return 0;
}

/* Age base of the active segment after a restart: the first batch's
 * timestamp (as Kafka), never in the future; the open time without one. */
static void seg_set_created(sl_plog *l, sl_segment *s)
{
    int64_t now = now_ms(l);
    s->created_ms = now;
    if (s->size < SL_BATCH_HEADER_SIZE) return;
    uint8_t b[SL_BATCH_HEADER_SIZE];
    if (read_all(IO(l), sl_fileref_fd(s->file), b, sizeof b, 0) != 0) return;
    int64_t ts = (int64_t)sl_load_be64(b + SL_BATCH_OFF_MAX_TIMESTAMP);
    if (ts >= 0 && ts < now) s->created_ms = ts;
}

static int recover(sl_plog *l, int64_t recovery_point)
{
    size_t first = 0;
    for (size_t i = 0; i < l->nsegs; i++)
        if (l->segs[i]->base_offset <= recovery_point) first = i;
    for (size_t i = 0; i < first; i++) {
        l->segs[i]->next_offset = l->segs[i + 1]->base_offset;
        seg_read_last_time(l, l->segs[i]);
    }
    int64_t expected = l->segs[first]->base_offset;
    int64_t dropped_bytes = 0;
    size_t i = first;
    for (; i < l->nsegs; i++) {
        sl_segment *s = l->segs[i];
        if (s->base_offset != expected) {
            SL_WARN(SL_LOG_MODULE,
                    "%s: segment %020" PRId64 " does not follow offset %" PRId64
                    "; deleting it and later ones",
                    l->path, s->base_offset, expected);
            break;
        }
        sl_seg_scan sc;
        int rc =
            sl_segment_validate(IO(l), sl_fileref_fd(s->file), s->base_offset,
                                l->cfg.index_interval_bytes, SCRATCH(l), SL_LOG_SCRATCH, s, &sc);
        if (rc != 0) return offline(l, "read segment", l->path);
        s->idx_loaded = true;
        s->max_ts_known = true;
        if (sc.valid_end < sc.file_size) {
            char p[SL_LOG_PATH_MAX];
            seg_path(l, p, s->base_offset, "log");
            SL_WARN(SL_LOG_MODULE,
                    "recovery: %s: %s at byte %" PRId64 "; truncating %" PRId64
                    " bytes (kept offsets %" PRId64 "..%" PRId64 ")",
                    p, sc.why ? sc.why : "trailing bytes", sc.valid_end,
                    sc.file_size - sc.valid_end, s->base_offset, sc.next_offset - 1);
            if (IO(l)->ftruncate(IO(l)->ctx, sl_fileref_fd(s->file), sc.valid_end) != 0)
                return offline(l, "truncate", p);
            dropped_bytes += sc.file_size - sc.valid_end;
        }
        s->synced = false;
        expected = sc.next_offset;
        if (sc.why) {
            i++;
            break;
        }
    }
    /* Everything after the first damage goes. */
    while (l->nsegs > i) {
        dropped_bytes += active(l)->size;
        int rc = delete_newest(l);
        if (rc != 0) return rc;
    }
    for (size_t k = first; k < l->nsegs; k++) {
        sl_segment *s = l->segs[k];
        if (k + 1 < l->nsegs) sl_segment_seal_time(s);
        if (seg_write_index(l, s) != 0) return SL_ERR_IO;
    }
    l->log_end = active(l)->next_offset;
    if (dropped_bytes > 0)
        SL_WARN(SL_LOG_MODULE, "recovery of %s dropped %" PRId64 " bytes; log end %" PRId64,
                l->path, dropped_bytes, l->log_end);
    l->dir_gen++;
    return flush_now(l, true);
}

int sl_plog_open_dir(sl_logdir *d, const char *name, const char *topic, int32_t partition,
                     bool clean, int64_t recovery_point, int64_t log_start_ckpt, sl_plog **out)
{
    sl_plog *l = plog_new(d, name, topic, partition);
    int64_t *bases = NULL;
    size_t n = 0;
    int rc = list_segments(l, &bases, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sl_segment *s;
        rc = seg_open_existing(l, bases[i], &s);
        if (rc == 0) segs_push(l, s);
    }
    sl_free(bases);
    if (rc == 0 && l->nsegs == 0) {
        sl_segment *s;
        rc = seg_create(l, SL_MAX(log_start_ckpt, 0), &s);
        if (rc == 0) segs_push(l, s);
        clean = true;
    }
    if (rc == 0 && clean) {
        for (size_t i = 0; i + 1 < l->nsegs; i++) {
            l->segs[i]->next_offset = l->segs[i + 1]->base_offset;
            seg_read_last_time(l, l->segs[i]);
        }
        rc = open_active_clean(l, active(l));
        if (rc == SL_ERR_IO) {
            rc = offline(l, "read segment", l->path);
        } else if (rc != 0) {
            SL_WARN(SL_LOG_MODULE,
                    "%s: index does not match the log after a clean shutdown (%s);"
                    " recovering",
                    l->path, sl_err_str(rc));
            clean = false;
            recovery_point = active(l)->base_offset;
            sl_index_clear(&active(l)->idx);
            struct stat st;
            if (fstat(sl_fileref_fd(active(l)->file), &st) == 0) active(l)->size = st.st_size;
            rc = 0;
        } else {
            l->log_end = active(l)->next_offset;
            l->flushed = l->log_end;
        }
    }
    if (rc == 0 && !clean) {
        SL_INFO(SL_LOG_MODULE, "recovering %s from offset %" PRId64, l->path, recovery_point);
        rc = recover(l, recovery_point);
    }
    if (rc != 0) {
        plog_free(l);
        return rc;
    }
    seg_set_created(l, active(l));
    l->dir_synced_gen = l->dir_gen;
    l->flushed = l->log_end;
    l->log_start = SL_MAX(log_start_ckpt, l->segs[0]->base_offset);
    if (l->log_start > l->log_end) l->log_start = l->log_end;
    *out = l;
    return 0;
}

int sl_plog_create_dir(sl_logdir *d, const char *name, const char *topic, int32_t partition,
                       const sl_log_config *cfg, sl_plog **out)
{
    sl_plog *l = plog_new(d, name, topic, partition);
    if (cfg) l->cfg = *cfg;
    if (mkdir(l->path, 0755) != 0) {
        int rc = errno == EEXIST ? SL_ERR_EXISTS : offline(l, "create directory", l->path);
        plog_free(l);
        return rc;
    }
    sl_segment *s;
    int rc = seg_create(l, 0, &s);
    if (rc == 0) {
        segs_push(l, s);
        if (sl_log_fsync_dir(IO(l), d->path) != 0) rc = offline(l, "fsync directory", d->path);
    }
    if (rc != 0) {
        plog_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int sl_plog_shutdown_flush(sl_plog *l)
{
    if (l->dir->offline) return SL_ERR_OFFLINE;
    sl_segment *s = active(l);
    sl_segment_seal_time(s);
    int rc = seg_write_index(l, s);
    if (rc == 0) {
        seg_trim(l, s);
        rc = flush_now(l, true);
    }
    if (rc == 0) answer_waiters(l, 0, -1, 0);
    return rc;
}

void sl_plog_free_closed(sl_plog *l, int waiter_status)
{
    sl_plog_fail_waiters(l, waiter_status);
    if (l->job) l->job->l = NULL;
    plog_free(l);
}
