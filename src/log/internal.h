/* Internal structures shared by the files of src/log/. Not for other modules. */
#ifndef SL_LOG_INTERNAL_H
#define SL_LOG_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "log/log.h"

#define SL_LOG_MODULE      "log"
#define SL_SEG_NAME_DIGITS 20
#define SL_LOG_PATH_MAX    4096
#define SL_LOG_SCRATCH     (64 * 1024)

/* ---- in-memory indexes (index.c) ------------------------------------------ */

typedef struct sl_idx_entry {
    uint32_t rel; /* base offset of a batch - segment base offset */
    uint32_t pos; /* file position of that batch */
} sl_idx_entry;

typedef struct sl_tidx_entry {
    int64_t ts;   /* largest timestamp of the segment up to this point */
    uint32_t rel; /* base offset of the batch that holds it - segment base */
} sl_tidx_entry;

typedef struct sl_index {
    sl_idx_entry *e;
    size_t n, cap;
    sl_tidx_entry *t;
    size_t nt, tcap;
} sl_index;

void sl_index_fini(sl_index *x);
void sl_index_clear(sl_index *x);
void sl_index_add(sl_index *x, uint32_t rel, uint32_t pos);
/* Adds (ts, rel) when ts is above the last entry. */
void sl_index_add_time(sl_index *x, int64_t ts, uint32_t rel);
/* Drops entries for offsets >= rel_end or positions >= pos_end. */
void sl_index_truncate(sl_index *x, uint32_t rel_end, uint32_t pos_end);
/* Greatest entry with rel <= rel_target; NULL when none. */
const sl_idx_entry *sl_index_lookup(const sl_index *x, uint32_t rel_target);
/* Greatest entry with pos <= pos_target; NULL when none. */
const sl_idx_entry *sl_index_lookup_pos(const sl_index *x, uint32_t pos_target);
/* Greatest time entry with ts < ts_target; NULL when none. */
const sl_tidx_entry *sl_index_lookup_time_below(const sl_index *x, int64_t ts_target);

/* File encodings (big-endian, Kafka's layout). */
#define SL_IDX_ENTRY_SIZE  8
#define SL_TIDX_ENTRY_SIZE 12
int sl_index_write_files(const sl_log_io *io, const char *idx_path, const char *tidx_path,
                         const sl_index *x);
/* Reads both files into x and checks them against the segment: sizes a
 * multiple of the entry size, strictly increasing keys, positions inside
 * log_size, relative offsets below rel_limit (0 = not known). Returns 0, or
 * SL_ERR_CORRUPT / SL_ERR_NOT_FOUND (x then empty: rebuild it). */
int sl_index_read_files(const sl_log_io *io, const char *idx_path, const char *tidx_path,
                        int64_t log_size, int64_t rel_limit, sl_index *x);

/* ---- segments (segment.c) -------------------------------------------------- */

typedef struct sl_segment {
    int64_t base_offset;
    int64_t next_offset;   /* last offset + 1; base_offset when empty */
    int64_t size;          /* bytes of whole batches in the .log */
    sl_fileref *file;      /* the .log, opened read-write */
    int64_t max_ts;        /* largest batch max timestamp, -1 if none */
    int64_t max_ts_offset; /* base offset of the (first) batch holding max_ts */
    bool max_ts_known;     /* false until the time index was read */
    int64_t created_ms;    /* base of the age roll */
    int64_t mtime_ms;      /* retention fallback when max_ts < 0 */
    int64_t roll_jitter_ms;
    bool idx_loaded; /* idx holds every entry of this segment */
    sl_index idx;
    int64_t bytes_since_index;
    bool synced; /* .log and index files fsynced (sealed segments) */
} sl_segment;

/* Header walk over a segment through a scratch buffer (pread in chunks). */
typedef struct sl_seg_cursor {
    const sl_log_io *io;
    int fd;
    int64_t pos; /* start of the next batch */
    int64_t end; /* bytes of the file that may be read */
    uint8_t *buf;
    size_t cap;
    int64_t buf_pos; /* file position of buf[0] */
    size_t buf_len;
} sl_seg_cursor;

void sl_seg_cursor_init(sl_seg_cursor *c, const sl_log_io *io, int fd, int64_t pos, int64_t end,
                        uint8_t *buf, size_t cap);
/* Decodes the header at c->pos. 1 = header in *h (the whole batch fits
 * before c->end), 0 = c->pos == c->end, SL_ERR_TRUNCATED/SL_ERR_CORRUPT =
 * not a batch, SL_ERR_IO. Does not advance; the caller adds the size. */
int sl_seg_cursor_peek(sl_seg_cursor *c, sl_batch_header *h);
/* CRC-32C over [from, from+len) of the file, via the cursor's buffer. */
int sl_seg_crc(sl_seg_cursor *c, int64_t from, int64_t len, uint32_t *crc);

void sl_segment_path(char *out, size_t cap, const char *dir, int64_t base, const char *ext);
/* Parses "00000000000000000042.log" style names; -1 if not one. */
int64_t sl_segment_parse_name(const char *name, const char *ext);
void sl_segment_free(sl_segment *s);
/* Updates indexes and timestamps for a batch placed at pos. */
void sl_segment_note_batch(sl_segment *s, int32_t interval, int64_t base_offset,
                           int64_t last_offset, int64_t max_ts, int64_t pos, int64_t size);
/* Adds the final time entry (largest timestamp) before a segment is sealed. */
void sl_segment_seal_time(sl_segment *s);

/* Result of validating a segment's batches (recovery, fuzz, dumper). */
typedef struct sl_seg_scan {
    int64_t valid_end;   /* bytes of the longest valid prefix */
    int64_t next_offset; /* last valid offset + 1 (expected_base if none) */
    int64_t batches;
    int64_t file_size;
    const char *why; /* reason the scan stopped early, NULL if clean */
} sl_seg_scan;

/* Validates batches from position 0: header parses, magic 2, whole batch in
 * the file, CRC matches, lastOffsetDelta >= 0, base offset == expected next
 * offset (contiguous; the first == expected_base). If s is non-NULL its
 * indexes and timestamps are rebuilt from the valid batches. */
int sl_segment_validate(const sl_log_io *io, int fd, int64_t expected_base, int32_t interval,
                        uint8_t *buf, size_t cap, sl_segment *s, sl_seg_scan *out);

/* ---- partition log (plog.c) ------------------------------------------------ */

typedef struct sl_flush_waiter {
    int64_t end_offset;
    void (*cb)(void *arg, int status);
    void *arg;
} sl_flush_waiter;

struct sl_flush_job;

struct sl_plog {
    sl_logdir *dir;
    char *topic;
    int32_t partition;
    char *path; /* partition directory */
    size_t dir_slot;
    sl_log_config cfg;
    sl_segment **segs; /* ascending base offsets; the last one is active */
    size_t nsegs, segs_cap;
    int64_t log_start;
    int64_t log_end;
    int64_t flushed; /* everything below is fsynced (the recovery point) */
    int64_t unflushed_records;
    int64_t unflushed_since_ms; /* wall time of the first unflushed append, -1 */
    sl_flush_waiter *waiters;
    size_t nwaiters, waiters_cap;
    struct sl_flush_job *job; /* fsync in flight */
    uint64_t dir_gen;         /* bumped when a file is created in path */
    uint64_t dir_synced_gen;
    uint64_t trunc_epoch;   /* bumped by truncation: in-flight fsyncs prove nothing */
    sl_flush_waiter *spare; /* second waiter array, swapped in while answering */
    size_t spare_cap;
    uint64_t rng;
};

/* Opens (and recovers when !clean) the partition in directory `name`. */
int sl_plog_open_dir(sl_logdir *d, const char *name, const char *topic, int32_t partition,
                     bool clean, int64_t recovery_point, int64_t log_start_ckpt, sl_plog **out);
int sl_plog_create_dir(sl_logdir *d, const char *name, const char *topic, int32_t partition,
                       const sl_log_config *cfg, sl_plog **out);
/* Shutdown: seals the active segment's time index, writes its index files
 * and fsyncs everything (synchronously); answers covered waiters. */
int sl_plog_shutdown_flush(sl_plog *l);
/* Frees the log; remaining waiters get waiter_status; an fsync job still in
 * flight is detached and cleans up after itself. */
void sl_plog_free_closed(sl_plog *l, int waiter_status);
/* Fails every waiter with status (offline, close). */
void sl_plog_fail_waiters(sl_plog *l, int status);
/* Flush policy check (flush.ms / flush.messages). */
void sl_plog_tick(sl_plog *l, int64_t now_ms);

/* ---- log directory (logdir.c) ---------------------------------------------- */

struct sl_logdir {
    uv_loop_t *loop;
    char *path;
    sl_log_io io;
    sl_log_config default_cfg;
    int64_t ckpt_interval_ms;
    int64_t retention_interval_ms;
    int64_t last_ckpt_ms;
    int64_t last_retention_ms;
    sl_plog **plogs;
    size_t nplogs, plogs_cap;
    bool offline;
    bool was_clean;
    char offline_reason[256];
    uint8_t *scratch; /* SL_LOG_SCRATCH bytes for header walks (loop thread) */
    struct sl_ckpt_shared *ck;
    uint64_t ckpt_gen;
    struct sl_ckpt_job *ckpt_job; /* in flight, or NULL */
    bool ckpt_again;
    uint64_t delete_seq;
};

/* Marks the directory offline (sticky), logs why and fails every waiter. */
void sl_logdir_set_offline(sl_logdir *d, int err_no, const char *what, const char *path);
/* Asks for an asynchronous checkpoint write soon (delete_records). */
void sl_logdir_request_checkpoint(sl_logdir *d);
/* fsync of a directory by path (-1/errno on failure). */
int sl_log_fsync_dir(const sl_log_io *io, const char *path);

#endif
