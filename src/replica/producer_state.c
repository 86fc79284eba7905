#include "replica/producer_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/map.h"
#include "base/mem.h"

typedef struct pbatch {
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
} pbatch;

typedef struct pentry {
    int64_t producer_id;
    int16_t epoch;
    uint8_t nbatches; /* oldest first in batches[] */
    int64_t last_ms;
    pbatch batches[SL_PSTATE_CACHED_BATCHES];
} pentry;

struct sl_pstate {
    sl_map by_pid; /* producer id -> pentry* */
};

sl_pstate *sl_pstate_new(void)
{
    sl_pstate *s = SL_NEW(sl_pstate);
    sl_map_init(&s->by_pid);
    return s;
}

void sl_pstate_clear(sl_pstate *s)
{
    void *v;
    for (size_t it = 0; sl_map_next(&s->by_pid, &it, NULL, NULL, &v);)
        sl_free(v);
    sl_map_fini(&s->by_pid);
    sl_map_init(&s->by_pid);
}

void sl_pstate_free(sl_pstate *s)
{
    if (!s) return;
    sl_pstate_clear(s);
    sl_map_fini(&s->by_pid);
    sl_free(s);
}

size_t sl_pstate_count(const sl_pstate *s)
{
    return sl_map_count(&s->by_pid);
}

static int32_t batch_last_seq(const sl_batch_header *h)
{
    /* Sequences wrap past INT32_MAX back to 0. */
    int64_t last = (int64_t)h->base_sequence + h->last_offset_delta;
    return (int32_t)(last > INT32_MAX ? last - INT32_MAX - 1 : last);
}

static int in_sequence(int32_t last_seq, int32_t next_seq)
{
    return next_seq == (last_seq == INT32_MAX ? 0 : last_seq + 1);
}

int sl_pstate_check(const sl_pstate *s, const sl_batch_header *h, int64_t *dup_base_offset)
{
    if (h->producer_id < 0) return 0;
    const pentry *e = sl_map_get_u64(&s->by_pid, (uint64_t)h->producer_id);
    if (!e) return 0;
    if (h->producer_epoch < e->epoch) return SL_ERR_INVALID_PRODUCER_EPOCH;
    if (h->producer_epoch > e->epoch)
        return h->base_sequence == 0 ? 0 : SL_ERR_OUT_OF_ORDER_SEQUENCE;
    int32_t last_seq = batch_last_seq(h);
    for (int i = 0; i < e->nbatches; i++) {
        if (e->batches[i].first_seq == h->base_sequence && e->batches[i].last_seq == last_seq) {
            *dup_base_offset = e->batches[i].base_offset;
            return SL_ERR_DUPLICATE_SEQUENCE;
        }
    }
    if (e->nbatches && !in_sequence(e->batches[e->nbatches - 1].last_seq, h->base_sequence))
        return SL_ERR_OUT_OF_ORDER_SEQUENCE;
    return 0;
}

static pentry *entry_for(sl_pstate *s, int64_t pid)
{
    pentry *e = sl_map_get_u64(&s->by_pid, (uint64_t)pid);
    if (!e) {
        e = SL_NEW(pentry);
        e->producer_id = pid;
        e->epoch = -1;
        sl_map_put_u64(&s->by_pid, (uint64_t)pid, e);
    }
    return e;
}

static void push_batch(pentry *e, int32_t first_seq, int32_t last_seq, int64_t base_offset)
{
    if (e->nbatches == SL_PSTATE_CACHED_BATCHES) {
        memmove(&e->batches[0], &e->batches[1], sizeof(pbatch) * (SL_PSTATE_CACHED_BATCHES - 1));
        e->nbatches--;
    }
    e->batches[e->nbatches++] = (pbatch){first_seq, last_seq, base_offset};
}

void sl_pstate_record(sl_pstate *s, const sl_batch_header *h, int64_t base_offset, int64_t now_ms)
{
    if (h->producer_id < 0 || sl_batch_is_control(h)) return;
    pentry *e = entry_for(s, h->producer_id);
    if (h->producer_epoch != e->epoch) {
        e->epoch = h->producer_epoch;
        e->nbatches = 0;
    }
    push_batch(e, h->base_sequence, batch_last_seq(h), base_offset);
    e->last_ms = now_ms;
}

void sl_pstate_expire(sl_pstate *s, int64_t now_ms, int64_t max_idle_ms)
{
    void *v;
    for (size_t it = 0; sl_map_next(&s->by_pid, &it, NULL, NULL, &v);) {
        pentry *e = v;
        if (now_ms - e->last_ms > max_idle_ms) {
            sl_map_del_u64(&s->by_pid, (uint64_t)e->producer_id);
            sl_free(e);
        }
    }
}

void sl_pstate_truncate(sl_pstate *s, int64_t offset)
{
    void *v;
    for (size_t it = 0; sl_map_next(&s->by_pid, &it, NULL, NULL, &v);) {
        pentry *e = v;
        while (e->nbatches && e->batches[e->nbatches - 1].base_offset >= offset)
            e->nbatches--;
        if (!e->nbatches) {
            sl_map_del_u64(&s->by_pid, (uint64_t)e->producer_id);
            sl_free(e);
        }
    }
}

#define SNAP_MAGIC   "SLPS"
#define SNAP_VERSION 1
#define SNAP_HEADER  20

int sl_pstate_save(const sl_pstate *s, const char *path, int64_t offset)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put(&b, SNAP_MAGIC, 4);
    sl_buf_put_i16(&b, SNAP_VERSION);
    sl_buf_put_i16(&b, 0);
    sl_buf_put_i64(&b, offset);
    sl_buf_put_i32(&b, (int32_t)sl_map_count(&s->by_pid));
    void *v;
    for (size_t it = 0; sl_map_next(&s->by_pid, &it, NULL, NULL, &v);) {
        const pentry *e = v;
        sl_buf_put_i64(&b, e->producer_id);
        sl_buf_put_i16(&b, e->epoch);
        sl_buf_put_i8(&b, (int8_t)e->nbatches);
        sl_buf_put_i8(&b, 0);
        sl_buf_put_i64(&b, e->last_ms);
        for (int i = 0; i < e->nbatches; i++) {
            sl_buf_put_i32(&b, e->batches[i].first_seq);
            sl_buf_put_i32(&b, e->batches[i].last_seq);
            sl_buf_put_i64(&b, e->batches[i].base_offset);
        }
    }
    sl_buf_put_i32(&b, (int32_t)sl_crc32c(b.data, b.len));

    char tmp[4096];
    int rc = SL_ERR_IO;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        sl_buf_fini(&b);
        return SL_ERR_INVALID_ARG;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        size_t done = 0;
        while (done < b.len) {
            ssize_t n = write(fd, b.data + done, b.len - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += (size_t)n;
        }
        if (done == b.len && fsync(fd) == 0) rc = 0;
        close(fd);
        if (rc == 0 && rename(tmp, path) != 0) rc = SL_ERR_IO;
        if (rc != 0) unlink(tmp);
    }
    sl_buf_fini(&b);
    return rc;
}

int sl_pstate_load(sl_pstate *s, const char *path, int64_t *offset)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? SL_ERR_NOT_FOUND : SL_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < SNAP_HEADER + 4 || st.st_size > (64 << 20)) {
        close(fd);
        return SL_ERR_CORRUPT;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *data = sl_malloc(len);
    ssize_t n = pread(fd, data, len, 0);
    close(fd);
    int rc = SL_ERR_CORRUPT;
    if (n != (ssize_t)len || memcmp(data, SNAP_MAGIC, 4) != 0 ||
        sl_load_be16(data + 4) != SNAP_VERSION ||
        sl_load_be32(data + len - 4) != sl_crc32c(data, len - 4))
        goto out;

    sl_reader r;
    sl_reader_init(&r, data + 8, len - 12);
    int64_t snap_offset = sl_read_i64(&r);
    int32_t count = sl_read_i32(&r);
    if (count < 0) goto out;
    sl_pstate_clear(s);
    for (int32_t i = 0; i < count && !r.err; i++) {
        int64_t pid = sl_read_i64(&r);
        int16_t epoch = sl_read_i16(&r);
        uint8_t nb = (uint8_t)sl_read_i8(&r);
        sl_read_i8(&r);
        int64_t last_ms = sl_read_i64(&r);
        if (r.err || pid < 0 || nb == 0 || nb > SL_PSTATE_CACHED_BATCHES) break;
        pentry *e = entry_for(s, pid);
        e->epoch = epoch;
        e->last_ms = last_ms;
        e->nbatches = 0;
        for (int k = 0; k < nb; k++) {
            int32_t first = sl_read_i32(&r), last = sl_read_i32(&r);
            int64_t base = sl_read_i64(&r);
            push_batch(e, first, last, base);
        }
    }
    if (r.err || sl_reader_left(&r) != 0 || (int32_t)sl_pstate_count(s) != count) {
        sl_pstate_clear(s);
        goto out;
    }
    *offset = snap_offset;
    rc = 0;
out:
    sl_free(data);
    return rc;
}
