/* The durable partition log: public interface of src/log/.
 *
 * Owns everything below a log directory (`log.dirs` entry): one directory per
 * partition `<topic>-<partition>/` holding segments (.log/.index/.timeindex),
 * plus the per-directory checkpoints and the clean-shutdown marker. The
 * on-disk formats are documented at the top of segment.c, index.c and
 * logdir.c and for operators in docs/storage-format.md.
 *
 * Thread: every function here runs on the libuv loop thread that was passed
 * to sl_logdir_open; nothing is thread-safe. Blocking fsyncs run on libuv's
 * threadpool (uv_queue_work) holding sl_fileref references, and their
 * completions come back on the loop thread.
 *
 * Errors: 0 or a negative SL_ERR_*. After any failed write, fsync, truncate or
 * file creation the whole log directory is offline (sticky): every later
 * append, read, flush or truncate on it returns SL_ERR_OFFLINE.
 */
#ifndef SL_LOG_LOG_H
#define SL_LOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <uv.h>

#include "base/fileref.h"
#include "record/batch.h"

typedef struct sl_logdir sl_logdir;
typedef struct sl_plog sl_plog;

/* ---- per-partition configuration (Kafka topic-level names) -------------- */

typedef struct sl_log_config {
    int64_t segment_bytes;        /* segment.bytes: roll above this size (default 1 GiB) */
    int64_t segment_ms;           /* segment.ms / log.roll.hours: roll when older (168 h) */
    int64_t segment_jitter_ms;    /* segment.jitter.ms: random [0, jitter) off segment_ms (0) */
    int64_t retention_ms;         /* retention.ms: -1 = keep forever (168 h) */
    int64_t retention_bytes;      /* retention.bytes: -1 = unlimited (-1) */
    int32_t index_interval_bytes; /* index.interval.bytes: bytes between index entries (4096) */
    int64_t flush_messages;       /* flush.messages: fsync after this many records (never) */
    int64_t flush_ms;             /* flush.ms: fsync unsynced data this old (never) */
    bool preallocate;             /* preallocate: reserve segment_bytes blocks on create */
} sl_log_config;

/* Kafka's defaults; flush_messages / flush_ms = INT64_MAX mean "rely on the OS". */
void sl_log_config_default(sl_log_config *c);
/* SL_ERR_INVALID_CONFIG if a value is out of its Kafka range. */
int sl_log_config_validate(const sl_log_config *c);

/* ---- file-I/O table (fault injection) ------------------------------------ */

/* Every file operation of the log module goes through this table so tests
 * (and the reliability work) can inject EIO/ENOSPC, short writes or clock
 * jumps. Functions follow the syscall convention: -1 and errno on failure.
 * fsync runs on libuv worker threads: an override must be thread-safe. */
typedef struct sl_log_io {
    void *ctx;
    int (*open)(void *ctx, const char *path, int flags, int mode);
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, int64_t off);
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t n, int64_t off);
    int (*fsync)(void *ctx, int fd, bool data_only); /* worker thread or loop thread */
    int (*ftruncate)(void *ctx, int fd, int64_t len);
    int (*unlink)(void *ctx, const char *path);
    int (*rename)(void *ctx, const char *from, const char *to);
    int64_t (*now_ms)(void *ctx); /* wall clock for rolling and retention */
} sl_log_io;

/* The real syscalls and CLOCK_REALTIME. */
const sl_log_io *sl_log_io_default(void);

/* ---- log directory -------------------------------------------------------- */

typedef struct sl_logdir_options {
    const sl_log_config *default_config; /* NULL = sl_log_config_default */
    const sl_log_io *io;                 /* NULL = sl_log_io_default; copied */
    int64_t checkpoint_interval_ms;      /* log.flush.offset.checkpoint.interval.ms (60000) */
    int64_t retention_check_interval_ms; /* log.retention.check.interval.ms (300000) */
} sl_logdir_options;

void sl_logdir_options_default(sl_logdir_options *o);

/* Opens (creating it if missing) one log directory and every partition log in
 * it. After a clean shutdown (marker present) the segments are not scanned;
 * otherwise each partition is recovered from its recovery point. The marker
 * is then removed so a later crash is detected. Blocking (startup only).
 * Partitions get opts->default_config; apply per-topic configs afterwards
 * with sl_plog_set_config. */
int sl_logdir_open(uv_loop_t *loop, const char *path, const sl_logdir_options *opts,
                   sl_logdir **out);

/* Flushes every partition, writes the checkpoints and, if nothing failed and
 * the directory is online, the clean-shutdown marker; frees everything.
 * Pending flush waiters get SL_ERR_CLOSED. Blocking. fsync jobs still in
 * flight finish on the loop afterwards: run the loop until idle before
 * closing it. Returns 0 or the error that prevented a clean shutdown.
 * Never call it (directly or through callbacks it triggers) from inside a
 * flush-waiter callback: it frees the partition log that is answering it. */
int sl_logdir_close(sl_logdir *d);

/* Tests and crash drills: frees everything without flushing, checkpointing
 * or writing the marker, as if the process had died (data already written
 * stays in the page cache). */
void sl_logdir_close_unclean(sl_logdir *d);

const char *sl_logdir_path(const sl_logdir *d);
bool sl_logdir_is_offline(const sl_logdir *d);
/* Why it went offline ("" when online). */
const char *sl_logdir_offline_reason(const sl_logdir *d);
/* True when the last open found the clean-shutdown marker (no scan). */
bool sl_logdir_was_clean(const sl_logdir *d);

/* Creates the directory `<topic>-<partition>` and an empty log whose first
 * offset is 0. SL_ERR_EXISTS if that partition is open already,
 * SL_ERR_INVALID_TOPIC for a name Kafka would refuse. cfg NULL = default. */
int sl_logdir_create_plog(sl_logdir *d, const char *topic, int32_t partition,
                          const sl_log_config *cfg, sl_plog **out);
/* Closes the log (waiters get SL_ERR_CLOSED), renames its directory to
 * `<topic>-<partition>.<n>-delete` and removes the files on the threadpool. */
int sl_logdir_delete_plog(sl_logdir *d, sl_plog *l);
/* Linear lookup (startup / admin paths). NULL if absent. */
sl_plog *sl_logdir_find(sl_logdir *d, const char *topic, int32_t partition);
size_t sl_logdir_count(const sl_logdir *d);
/* The i-th open partition log (order unspecified, stable until create/delete). */
sl_plog *sl_logdir_at(sl_logdir *d, size_t i);

/* Periodic work the broker drives from a timer (every 100 ms - 1 s):
 * flush.ms / flush.messages flushes, retention every retention check
 * interval, asynchronous checkpoint writes every checkpoint interval. */
void sl_logdir_tick(sl_logdir *d, int64_t now_ms);
/* Writes both checkpoint files now, synchronously (tests, admin). */
int sl_logdir_checkpoint(sl_logdir *d);

/* ---- partition log --------------------------------------------------------- */

const char *sl_plog_topic(const sl_plog *l);
int32_t sl_plog_partition(const sl_plog *l);
sl_logdir *sl_plog_logdir(sl_plog *l);
/* First offset a reader may fetch. */
int64_t sl_plog_log_start(const sl_plog *l);
/* Offset the next appended record gets. */
int64_t sl_plog_log_end(const sl_plog *l);
/* Everything below this offset is fsynced. */
int64_t sl_plog_flushed_offset(const sl_plog *l);
/* Bytes in all segments. */
int64_t sl_plog_size_bytes(const sl_plog *l);
size_t sl_plog_segment_count(const sl_plog *l);
const sl_log_config *sl_plog_config(const sl_plog *l);
/* Replaces the configuration live (AlterConfigs); takes effect at the next
 * append / retention run. */
int sl_plog_set_config(sl_plog *l, const sl_log_config *cfg);

/* Appends one batch that the caller has validated completely (framing, CRC,
 * counts). Stamps baseOffset = log end and partitionLeaderEpoch into the
 * caller's buffer (outside the CRC), writes it with one pwrite, and updates
 * log end, max timestamp and the in-memory indexes. Rolls the segment first
 * if it is full (segment_bytes) or old (segment_ms). `len` must equal the
 * batch's total size. No allocation or syscall beyond the write in the
 * common case (a roll creates files). Returns 0 or SL_ERR_OFFLINE,
 * SL_ERR_INVALID_ARG, SL_ERR_IO (the directory is then offline). */
int sl_plog_append(sl_plog *l, uint8_t *batch, size_t len, int32_t leader_epoch,
                   int64_t *base_offset_out);

/* A file range of whole batches for the network layer (sendfile). */
typedef struct sl_log_read {
    sl_fileref *file;     /* new reference owned by the caller; NULL if len == 0 */
    int64_t pos;          /* file position of the first batch */
    int64_t len;          /* bytes; 0 = nothing to return */
    int64_t first_offset; /* base offset of the first batch returned (-1 if empty) */
    int64_t next_offset;  /* last offset returned + 1 (fetch_offset if empty) */
    int64_t log_start_offset;
    int64_t log_end_offset;
} sl_log_read;

/* Reads whole batches from one segment, starting with the batch containing
 * fetch_offset, up to max_bytes; the first batch is returned whole even if
 * larger (KIP-74). Batches whose last offset is >= max_offset (a high
 * watermark, exclusive; INT64_MAX = none) are not returned.
 * fetch_offset == log end (or >= max_offset) gives an empty range;
 * fetch_offset below log start or above log end gives
 * SL_ERR_OFFSET_OUT_OF_RANGE (out->log_* are still filled in).
 * SL_ERR_CORRUPT if the bytes on disk do not frame as batches. */
int sl_plog_read(sl_plog *l, int64_t fetch_offset, int32_t max_bytes, int64_t max_offset,
                 sl_log_read *out);

/* ListOffsets by timestamp: the first offset whose record timestamp is
 * >= ts_ms and that record's timestamp. Record level for uncompressed
 * batches (and compressed ones once the codecs exist); otherwise the batch's
 * base offset and max timestamp. Returns SL_ERR_NOT_FOUND when no record
 * has such a timestamp (Kafka answers offset -1 / "none"). */
int sl_plog_offset_for_timestamp(sl_plog *l, int64_t ts_ms, int64_t *offset, int64_t *timestamp);

/* ListOffsets -3 (KIP-734): the largest timestamp in the log and the first
 * offset holding it. SL_ERR_NOT_FOUND on an empty log. */
int sl_plog_max_timestamp(sl_plog *l, int64_t *offset, int64_t *timestamp);

/* Deletes whole segments by retention.ms (a segment's largest timestamp, or
 * its file mtime when it has no timestamps) and retention.bytes, oldest
 * first. The active segment is deleted only when it is itself expired and
 * non-empty: the log rolls first (Kafka does the same), so the log becomes
 * empty with log start = log end. Returns the number of segments deleted. */
int sl_plog_apply_retention(sl_plog *l, int64_t now_ms);

/* DeleteRecords: moves log start to before_offset (<= high watermark, checked
 * by the caller), deletes segments entirely below it and schedules the
 * log-start checkpoint write. SL_ERR_OFFSET_OUT_OF_RANGE if before_offset >
 * log end. A lower value than the current log start is a no-op. */
int sl_plog_delete_records(sl_plog *l, int64_t before_offset);

/* Drops every batch at or after `offset` (rounded down to the batch holding
 * it: a batch is never split). Offset <= log start truncates fully. */
int sl_plog_truncate(sl_plog *l, int64_t offset);
/* Deletes every segment and starts an empty log at new_start. */
int sl_plog_truncate_fully(sl_plog *l, int64_t new_start);

/* Group commit. cb(arg, status) is called on the loop thread once every
 * offset below end_offset is fsynced (status 0) or the flush failed /
 * the log closed (status < 0). At most one fsync per partition log is in
 * flight; its completion answers every waiter it covers, then starts the next
 * fsync if waiters remain. Returns 0 when the waiter is queued, 1 when
 * end_offset is already durable (cb is NOT called), SL_ERR_OFFLINE, or
 * SL_ERR_INVALID_ARG if end_offset > log end. */
int sl_plog_flush_wait(sl_plog *l, int64_t end_offset, void (*cb)(void *arg, int status),
                       void *arg);
/* Starts an fsync of everything appended so far if none is running. */
int sl_plog_flush(sl_plog *l);
/* Synchronous fsync of everything appended so far (tests, shutdown). */
int sl_plog_flush_sync(sl_plog *l);

/* Calls cb with each batch header from the batch holding from_offset to the
 * log end, in offset order (producer-state rebuild). A non-zero return from
 * cb stops the scan and is returned. */
typedef int (*sl_plog_scan_cb)(void *arg, const sl_batch_header *h, int64_t file_pos);
int sl_plog_scan(sl_plog *l, int64_t from_offset, sl_plog_scan_cb cb, void *arg);

/* ---- offline dumper (tools/sluice-dump-log, fuzz target) ------------------ */

/* Prints a .log, .index or .timeindex file (kind from the name; an index is
 * checked against the .log beside it when present). deep: also walk records
 * (header level only until a record iterator exists). Returns 0 if clean,
 * 1 if corruption was found, negative on I/O error. */
int sl_log_dump_file(const char *path, bool deep, FILE *out);

#endif
