/* Sparse offset index (.index) and time index (.timeindex) of a segment.
 *
 * On-disk format (Kafka's layout; all integers big-endian, no header):
 *
 *   NNNNNNNNNNNNNNNNNNNN.index      a sequence of 8-byte entries
 *     off size field
 *     0   4    relativeOffset  uint32  batch baseOffset - segment base offset
 *     4   4    position        uint32  byte position of that batch in the .log
 *
 *   NNNNNNNNNNNNNNNNNNNN.timeindex  a sequence of 12-byte entries
 *     off size field
 *     0   8    timestamp       int64   largest batch maxTimestamp of the
 *                                      segment up to and including the batch
 *                                      at which the entry was added
 *     8   4    relativeOffset  uint32  base offset of the batch holding that
 *                                      timestamp - segment base offset
 *
 * Invariants (checked whenever a file is read; a file that breaks one is
 * ignored and rebuilt from the .log):
 *  1. The file size is a multiple of the entry size (no partial entry).
 *  2. .index: relativeOffset and position strictly increase; every position
 *     is > 0 and < the .log size and is the start of a batch whose base
 *     offset is segment base + relativeOffset (the reader re-checks this
 *     header whenever it uses an entry). The batch at position 0 has no entry.
 *  3. .timeindex: timestamp strictly increases, relativeOffset never
 *     decreases; every relativeOffset is below the segment's next offset.
 *  4. An entry is added for a batch when at least index.interval.bytes were
 *     appended since the previous entry (sparse), and a sealed segment's
 *     last time entry holds the segment's largest timestamp.
 *
 * The files are caches of facts found in the .log: they are written whole
 * when a segment is sealed (roll), at clean shutdown and after recovery,
 * never on the append path (the active segment's entries live in memory).
 * A Kafka reader tolerates our entries (they point at batch starts whose
 * offsets are <= the key) and vice versa.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/mem.h"
#include "log/internal.h"

void sl_index_fini(sl_index *x)
{
    sl_free(x->e);
    sl_free(x->t);
    memset(x, 0, sizeof *x);
}

void sl_index_clear(sl_index *x)
{
    x->n = 0;
    x->nt = 0;
}

void sl_index_add(sl_index *x, uint32_t rel, uint32_t pos)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->e = sl_realloc(x->e, x->cap * sizeof *x->e);
    }
    x->e[x->n].rel = rel;
    x->e[x->n].pos = pos;
    x->n++;
}

void sl_index_add_time(sl_index *x, int64_t ts, uint32_t rel)
{
    if (x->nt > 0 && ts <= x->t[x->nt - 1].ts) return;
    if (x->nt == x->tcap) {
        x->tcap = x->tcap ? x->tcap * 2 : 32;
        x->t = sl_realloc(x->t, x->tcap * sizeof *x->t);
    }
    x->t[x->nt].ts = ts;
    x->t[x->nt].rel = rel;
    x->nt++;
}

void sl_index_truncate(sl_index *x, uint32_t rel_end, uint32_t pos_end)
{
    while (x->n > 0 && (x->e[x->n - 1].rel >= rel_end || x->e[x->n - 1].pos >= pos_end))
        x->n--;
    while (x->nt > 0 && x->t[x->nt - 1].rel >= rel_end)
        x->nt--;
}

const sl_idx_entry *sl_index_lookup(const sl_index *x, uint32_t rel_target)
{
    size_t lo = 0, hi = x->n; /* first entry with rel > target */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->e[mid].rel <= rel_target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &x->e[lo - 1] : NULL;
}

const sl_idx_entry *sl_index_lookup_pos(const sl_index *x, uint32_t pos_target)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->e[mid].pos <= pos_target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &x->e[lo - 1] : NULL;
}

const sl_tidx_entry *sl_index_lookup_time_below(const sl_index *x, int64_t ts_target)
{
    size_t lo = 0, hi = x->nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->t[mid].ts < ts_target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &x->t[lo - 1] : NULL;
}

static int write_all(const sl_log_io *io, int fd, const uint8_t *p, size_t n, int64_t off)
{
    while (n > 0) {
        ssize_t w = io->pwrite(io->ctx, fd, p, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Writes `count` entries produced by enc() through a small buffer, then
 * trims the file to exactly that size. */
static int write_entries(const sl_log_io *io, const char *path, size_t count, size_t esize,
                         void (*enc)(const sl_index *, size_t, uint8_t *), const sl_index *x)
{
    int fd = io->open(io->ctx, path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) return -1;
    uint8_t buf[8192];
    size_t per = sizeof buf / esize, i = 0;
    int64_t off = 0;
    int rc = 0;
    while (i < count && rc == 0) {
        size_t k = SL_MIN(per, count - i);
        for (size_t j = 0; j < k; j++)
            enc(x, i + j, buf + j * esize);
        rc = write_all(io, fd, buf, k * esize, off);
        off += (int64_t)(k * esize);
        i += k;
    }
    if (rc == 0) rc = io->ftruncate(io->ctx, fd, off);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static void enc_idx(const sl_index *x, size_t i, uint8_t *p)
{
    sl_store_be32(p, x->e[i].rel);
    sl_store_be32(p + 4, x->e[i].pos);
}

static void enc_tidx(const sl_index *x, size_t i, uint8_t *p)
{
    sl_store_be64(p, (uint64_t)x->t[i].ts);
    sl_store_be32(p + 8, x->t[i].rel);
}

int sl_index_write_files(const sl_log_io *io, const char *idx_path, const char *tidx_path,
                         const sl_index *x)
{
    if (write_entries(io, idx_path, x->n, SL_IDX_ENTRY_SIZE, enc_idx, x) != 0) return -1;
    return write_entries(io, tidx_path, x->nt, SL_TIDX_ENTRY_SIZE, enc_tidx, x);
}

/* Reads a whole small file; the size bound comes from the segment (an index
 * can never need more than one entry per batch of >= 61 bytes). */
static int read_file(const sl_log_io *io, const char *path, size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = io->open(io->ctx, path, O_RDONLY, 0);
    if (fd < 0) return errno == ENOENT ? SL_ERR_NOT_FOUND : SL_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return SL_ERR_IO;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return SL_ERR_CORRUPT;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = sl_malloc(n ? n : 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = io->pread(io->ctx, fd, p + got, n - got, (int64_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        sl_free(p);
        return SL_ERR_IO;
    }
    *out = p;
    *len = n;
    return 0;
}

int sl_index_read_files(const sl_log_io *io, const char *idx_path, const char *tidx_path,
                        int64_t log_size, int64_t rel_limit, sl_index *x)
{
    sl_index_clear(x);
    size_t max_batches = (size_t)(log_size / SL_BATCH_HEADER_SIZE) + 1;
    uint8_t *p;
    size_t len;
    int rc = read_file(io, idx_path, max_batches * SL_IDX_ENTRY_SIZE, &p, &len);
    if (rc != 0) return rc;
    if (len % SL_IDX_ENTRY_SIZE != 0) rc = SL_ERR_CORRUPT;
    for (size_t i = 0; rc == 0 && i < len / SL_IDX_ENTRY_SIZE; i++) {
        uint32_t rel = sl_load_be32(p + i * SL_IDX_ENTRY_SIZE);
        uint32_t pos = sl_load_be32(p + i * SL_IDX_ENTRY_SIZE + 4);
        if (pos == 0 || (int64_t)pos >= log_size || (rel_limit > 0 && rel >= rel_limit) ||
            (x->n > 0 && (rel <= x->e[x->n - 1].rel || pos <= x->e[x->n - 1].pos)))
            rc = SL_ERR_CORRUPT;
        else
            sl_index_add(x, rel, pos);
    }
    sl_free(p);
    if (rc != 0) {
        sl_index_clear(x);
        return rc;
    }
    rc = read_file(io, tidx_path, max_batches * SL_TIDX_ENTRY_SIZE, &p, &len);
    if (rc != 0) {
        sl_index_clear(x);
        return rc;
    }
    if (len % SL_TIDX_ENTRY_SIZE != 0) rc = SL_ERR_CORRUPT;
    for (size_t i = 0; rc == 0 && i < len / SL_TIDX_ENTRY_SIZE; i++) {
        int64_t ts = (int64_t)sl_load_be64(p + i * SL_TIDX_ENTRY_SIZE);
        uint32_t rel = sl_load_be32(p + i * SL_TIDX_ENTRY_SIZE + 8);
        if ((rel_limit > 0 && rel >= rel_limit) ||
            (x->nt > 0 && (ts <= x->t[x->nt - 1].ts || rel < x->t[x->nt - 1].rel)))
            rc = SL_ERR_CORRUPT;
        else
            sl_index_add_time(x, ts, rel);
    }
    sl_free(p);
    if (rc != 0) sl_index_clear(x);
    return rc;
}
