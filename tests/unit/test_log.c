/* Unit tests for src/log: append, read, roll, retention, delete-records,
 * truncation, timestamps, clean open without scan, recovery, index rebuild,
 * offline on I/O errors and group commit on a real libuv loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "log_test_util.h"

typedef struct env {
    char *dir;
    uv_loop_t loop;
    tu_faults f;
    sl_log_io io;
    sl_log_config cfg;
    sl_logdir *d;
    /* every appended batch as stored (stamped), in offset order */
    sl_buf stored;
    int64_t nbatches;
    int64_t pos[4096];  /* start of batch i in `stored` */
    int64_t base[4096]; /* base offset of batch i */
    int64_t last[4096];
} env;

static int setup(void **state)
{
    sl_log_set_level(getenv("SL_TEST_LOG") ? SL_LOG_DEBUG : SL_LOG_OFF);
    env *e = SL_NEW(env);
    e->dir = tu_mkdtemp();
    assert_non_null(e->dir);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    tu_faults_init(&e->f, &e->io);
    sl_log_config_default(&e->cfg);
    sl_buf_init(&e->stored);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    if (e->d) sl_logdir_close_unclean(e->d);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    tu_rm_rf(e->dir);
    sl_free(e->dir);
    sl_buf_fini(&e->stored);
    sl_free(e);
    return 0;
}

static sl_logdir *open_dir(env *e)
{
    sl_logdir_options o;
    sl_logdir_options_default(&o);
    o.io = &e->io;
    o.default_config = &e->cfg;
    assert_int_equal(sl_logdir_open(&e->loop, e->dir, &o, &e->d), 0);
    return e->d;
}

static void close_dir(env *e)
{
    assert_int_equal(sl_logdir_close(e->d), 0);
    e->d = NULL;
    uv_run(&e->loop, UV_RUN_DEFAULT);
}

static void crash_dir(env *e)
{
    sl_logdir_close_unclean(e->d);
    e->d = NULL;
    uv_run(&e->loop, UV_RUN_DEFAULT);
}

static sl_plog *reopen_plog(env *e)
{
    open_dir(e);
    sl_plog *l = sl_logdir_find(e->d, "t", 0);
    assert_non_null(l);
    return l;
}

static sl_plog *new_plog(env *e)
{
    open_dir(e);
    sl_plog *l;
    assert_int_equal(sl_logdir_create_plog(e->d, "t", 0, &e->cfg, &l), 0);
    return l;
}

/* Appends one batch of n records and remembers its stored bytes. */
static int64_t append(env *e, sl_plog *l, int n, int vlen, int64_t ts0, int64_t step)
{
    sl_buf b;
    sl_buf_init(&b);
    size_t len = tu_batch(&b, n, vlen, ts0, step, (uint32_t)e->nbatches + 7);
    int64_t base = -1;
    assert_int_equal(sl_plog_append(l, b.data, len, 5, &base), 0);
    assert_true(e->nbatches < 4096);
    e->pos[e->nbatches] = (int64_t)e->stored.len;
    e->base[e->nbatches] = base;
    e->last[e->nbatches] = base + n - 1;
    e->nbatches++;
    sl_buf_put(&e->stored, b.data, len);
    sl_buf_fini(&b);
    return base;
}

static int64_t batch_len(env *e, int64_t i)
{
    int64_t end = i + 1 < e->nbatches ? e->pos[i + 1] : (int64_t)e->stored.len;
    return end - e->pos[i];
}

static int64_t batch_of(env *e, int64_t offset)
{
    for (int64_t i = 0; i < e->nbatches; i++)
        if (e->base[i] <= offset && offset <= e->last[i]) return i;
    return -1;
}

/* The read range must be byte-identical to the stored batches starting
 * with the one holding fetch_offset; returns how many batches it holds. */
static int64_t check_read(env *e, const sl_log_read *r, int64_t fetch_offset)
{
    int64_t i = batch_of(e, fetch_offset);
    assert_true(i >= 0);
    assert_int_equal(r->first_offset, e->base[i]);
    uint8_t *got = sl_malloc((size_t)r->len);
    assert_int_equal(pread(sl_fileref_fd(r->file), got, (size_t)r->len, r->pos), r->len);
    int64_t off = 0, n = 0;
    while (off < r->len) {
        assert_true(i + n < e->nbatches);
        int64_t bl = batch_len(e, i + n);
        assert_true(off + bl <= r->len);
        assert_memory_equal(got + off, e->stored.data + e->pos[i + n], (size_t)bl);
        off += bl;
        n++;
    }
    assert_int_equal(r->next_offset, e->last[i + n - 1] + 1);
    sl_free(got);
    return n;
}

/* Reads the whole log from fetch_offset and checks every byte. */
static void check_all(env *e, sl_plog *l, int64_t from)
{
    int64_t off = from;
    while (off < sl_plog_log_end(l)) {
        sl_log_read r;
        assert_int_equal(sl_plog_read(l, off, 1 << 20, INT64_MAX, &r), 0);
        assert_true(r.len > 0);
        check_read(e, &r, off);
        off = r.next_offset;
        sl_fileref_unref(r.file);
    }
    assert_int_equal(off, sl_plog_log_end(l));
}

static void seg_file(env *e, char *out, size_t cap, int64_t base, const char *ext)
{
    snprintf(out, cap, "%s/t-0/%020lld.%s", e->dir, (long long)base, ext);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_config(void **state)
{
    (void)state;
    sl_log_config c;
    sl_log_config_default(&c);
    assert_int_equal(sl_log_config_validate(&c), 0);
    assert_int_equal(c.segment_bytes, 1 << 30);
    assert_int_equal(c.retention_ms, 168LL * 3600 * 1000);
    assert_int_equal(c.index_interval_bytes, 4096);
    c.segment_bytes = 5;
    assert_int_equal(sl_log_config_validate(&c), SL_ERR_INVALID_CONFIG);
    sl_log_config_default(&c);
    c.retention_bytes = -2;
    assert_int_equal(sl_log_config_validate(&c), SL_ERR_INVALID_CONFIG);
}

static void test_append_read(void **state)
{
    env *e = *state;
    sl_plog *l = new_plog(e);
    assert_int_equal(sl_plog_log_start(l), 0);
    assert_int_equal(sl_plog_log_end(l), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(append(e, l, 10, 100, 1000 + i, 1), i * 10);
    assert_int_equal(sl_plog_log_end(l), 200);
    /* stamped fields: base offset and leader epoch */
    assert_int_equal((int64_t)sl_load_be64(e->stored.data + e->pos[3]), 30);
    assert_int_equal((int32_t)sl_load_be32(e->stored.data + e->pos[3] + 12), 5);
    check_all(e, l, 0);
    /* an offset in the middle of a batch returns the whole batch holding it */
    sl_log_read r;
    assert_int_equal(sl_plog_read(l, 57, 1 << 20, INT64_MAX, &r), 0);
    assert_int_equal(r.first_offset, 50);
    assert_int_equal(check_read(e, &r, 57), 15);
    assert_int_equal(r.log_start_offset, 0);
    assert_int_equal(r.log_end_offset, 200);
    sl_fileref_unref(r.file);
    /* at the log end: empty; past it or negative: out of range */
    assert_int_equal(sl_plog_read(l, 200, 100, INT64_MAX, &r), 0);
    assert_int_equal(r.len, 0);
    assert_null(r.file);
    assert_int_equal(sl_plog_read(l, 201, 100, INT64_MAX, &r), SL_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(sl_plog_read(l, -1, 100, INT64_MAX, &r), SL_ERR_OFFSET_OUT_OF_RANGE);
    /* a wrong length is refused before anything is written */
    uint8_t junk[80] = {0};
    int64_t b;
    assert_int_equal(sl_plog_append(l, junk, sizeof junk, 0, &b), SL_ERR_INVALID_ARG);
    assert_int_equal(sl_plog_log_end(l), 200);
}

static void test_max_bytes(void **state)
{
    env *e = *state;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 10; i++)
        append(e, l, 5, 300, 1, 1);
    int64_t bl = batch_len(e, 0);
    sl_log_read r;
    /* first batch larger than max_bytes is still returned whole (KIP-74) */
    assert_int_equal(sl_plog_read(l, 0, 1, INT64_MAX, &r), 0);
    assert_int_equal(check_read(e, &r, 0), 1);
    sl_fileref_unref(r.file);
    assert_int_equal(sl_plog_read(l, 12, 0, INT64_MAX, &r), 0);
    assert_int_equal(check_read(e, &r, 12), 1);
    sl_fileref_unref(r.file);
    /* never ends mid-batch */
    assert_int_equal(sl_plog_read(l, 0, (int32_t)(bl * 2 + bl / 2), INT64_MAX, &r), 0);
    assert_int_equal(check_read(e, &r, 0), 2);
    sl_fileref_unref(r.file);
    assert_int_equal(sl_plog_read(l, 0, (int32_t)(bl * 3), INT64_MAX, &r), 0);
    assert_int_equal(check_read(e, &r, 0), 3);
    sl_fileref_unref(r.file);
    /* max_offset (high watermark) excludes batches reaching it */
    assert_int_equal(sl_plog_read(l, 0, 1 << 20, 20, &r), 0);
    assert_int_equal(check_read(e, &r, 0), 4);
    sl_fileref_unref(r.file);
    assert_int_equal(sl_plog_read(l, 0, 1 << 20, 22, &r), 0);
    assert_int_equal(check_read(e, &r, 0), 4);
    sl_fileref_unref(r.file);
    assert_int_equal(sl_plog_read(l, 20, 1 << 20, 20, &r), 0);
    assert_int_equal(r.len, 0);
    assert_int_equal(sl_plog_read(l, 20, 1 << 20, 24, &r), 0);
    assert_int_equal(r.len, 0);
}

static void test_small_index_interval_many_batches(void **state)
{
    env *e = *state;
    e->cfg.index_interval_bytes = 1000;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 300; i++)
        append(e, l, 1 + i % 7, 50 + i % 13, i, 1);
    /* every offset resolves to its batch, through the index */
    for (int64_t off = 0; off < sl_plog_log_end(l); off += 3) {
        sl_log_read r;
        assert_int_equal(sl_plog_read(l, off, 700, INT64_MAX, &r), 0);
        int64_t n = check_read(e, &r, off);
        assert_true(n >= 1);
        assert_true(r.len <= 700 || n == 1);
        /* and as many whole batches as fit: the next one would not */
        int64_t i = batch_of(e, off) + n;
        if (i < e->nbatches) assert_true(r.len + batch_len(e, i) > 700);
        sl_fileref_unref(r.file);
    }
    close_dir(e);
    l = reopen_plog(e);
    check_all(e, l, 0);
    char p[512];
    seg_file(e, p, sizeof p, 0, "index");
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(sl_log_dump_file(p, false, devnull), 0);
    seg_file(e, p, sizeof p, 0, "timeindex");
    assert_int_equal(sl_log_dump_file(p, false, devnull), 0);
    seg_file(e, p, sizeof p, 0, "log");
    assert_int_equal(sl_log_dump_file(p, true, devnull), 0);
    fclose(devnull);
    assert_true(tu_file_size(p) > 0);
}

static void test_roll_by_size(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 4000;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 30; i++)
        append(e, l, 4, 200, 1, 1); /* ~ 900 bytes each */
    assert_true(sl_plog_segment_count(l) >= 7);
    char p[512];
    seg_file(e, p, sizeof p, 0, "log");
    assert_true(tu_file_size(p) <= 4000);
    /* segment names are base offsets; each sealed one has its indexes */
    int64_t base = e->base[0];
    size_t segs = 0;
    for (int64_t i = 0; i < e->nbatches; i++) {
        seg_file(e, p, sizeof p, e->base[i], "log");
        if (tu_file_size(p) >= 0) {
            segs++;
            base = e->base[i];
        }
    }
    assert_int_equal(segs, sl_plog_segment_count(l));
    (void)base;
    check_all(e, l, 0);
    /* a read stops at the end of its segment */
    sl_log_read r;
    assert_int_equal(sl_plog_read(l, 0, 1 << 20, INT64_MAX, &r), 0);
    assert_true(r.len <= 4000);
    sl_fileref_unref(r.file);
    close_dir(e);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_end(l), 120);
    check_all(e, l, 0);
    append(e, l, 4, 200, 1, 1);
    check_all(e, l, 0);
}

static void test_roll_by_time(void **state)
{
    env *e = *state;
    atomic_store(&e->f.now_ms, 1000000);
    e->cfg.segment_ms = 1000;
    sl_plog *l = new_plog(e);
    append(e, l, 1, 10, 1, 1);
    atomic_store(&e->f.now_ms, 1000500);
    append(e, l, 1, 10, 1, 1);
    assert_int_equal(sl_plog_segment_count(l), 1);
    atomic_store(&e->f.now_ms, 1001000);
    append(e, l, 1, 10, 1, 1);
    assert_int_equal(sl_plog_segment_count(l), 2);
    /* age counts from the segment's first batch */
    atomic_store(&e->f.now_ms, 1001999);
    append(e, l, 1, 10, 1, 1);
    assert_int_equal(sl_plog_segment_count(l), 2);
    atomic_store(&e->f.now_ms, 1002001);
    append(e, l, 1, 10, 1, 1);
    assert_int_equal(sl_plog_segment_count(l), 3);
    check_all(e, l, 0);
    /* live config change */
    sl_log_config c = *sl_plog_config(l);
    c.segment_ms = 100000;
    assert_int_equal(sl_plog_set_config(l, &c), 0);
    atomic_store(&e->f.now_ms, 1004000);
    append(e, l, 1, 10, 1, 1);
    assert_int_equal(sl_plog_segment_count(l), 3);
    c.segment_bytes = 1;
    assert_int_equal(sl_plog_set_config(l, &c), SL_ERR_INVALID_CONFIG);
}

static void test_retention_time(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 2000;
    e->cfg.retention_ms = 10000;
    atomic_store(&e->f.now_ms, 50000);
    sl_plog *l = new_plog(e);
    /* timestamps 1000, 2000, ... : one batch ~ 700 bytes, 2 per segment */
    for (int i = 0; i < 10; i++)
        append(e, l, 3, 200, 1000 * (i + 1), 0);
    size_t segs = sl_plog_segment_count(l);
    assert_int_equal(segs, 5);
    /* now 15000: segments whose largest timestamp < 5000 go: ts 1000,2000 | 3000,4000 */
    assert_int_equal(sl_plog_apply_retention(l, 15000), 2);
    assert_int_equal(sl_plog_log_start(l), e->base[4]);
    sl_log_read r;
    assert_int_equal(sl_plog_read(l, 0, 100, INT64_MAX, &r), SL_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(r.log_start_offset, e->base[4]);
    check_all(e, l, e->base[4]);
    char p[512];
    seg_file(e, p, sizeof p, 0, "log");
    assert_int_equal(tu_file_size(p), -1);
    seg_file(e, p, sizeof p, 0, "index");
    assert_int_equal(tu_file_size(p), -1);
    /* reopen: retention state survives (from segments) */
    close_dir(e);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_start(l), e->base[4]);
    /* everything expired: the active segment is rolled, then deleted */
    assert_int_equal(sl_plog_apply_retention(l, 100000), 3);
    assert_int_equal(sl_plog_log_start(l), sl_plog_log_end(l));
    assert_int_equal(sl_plog_log_end(l), 30);
    assert_int_equal(sl_plog_segment_count(l), 1);
    assert_int_equal(sl_plog_read(l, 30, 100, INT64_MAX, &r), 0);
    assert_int_equal(r.len, 0);
    assert_int_equal(append(e, l, 1, 1, 100000, 0), 30);
    check_all(e, l, 30);
}

static void test_retention_bytes(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 2000;
    e->cfg.retention_ms = -1;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 10; i++)
        append(e, l, 3, 200, 1, 0);
    int64_t total = sl_plog_size_bytes(l);
    int64_t seg = 2 * batch_len(e, 0);
    sl_log_config c = *sl_plog_config(l);
    c.retention_bytes = total - seg; /* exactly one segment too much */
    sl_plog_set_config(l, &c);
    assert_int_equal(sl_plog_apply_retention(l, 0), 1);
    assert_int_equal(sl_plog_log_start(l), 6);
    c.retention_bytes = total - 2 * seg + 1; /* deleting one more would go below */
    sl_plog_set_config(l, &c);
    assert_int_equal(sl_plog_apply_retention(l, 0), 0);
    c.retention_bytes = total - 3 * seg - 1; /* two more must go */
    sl_plog_set_config(l, &c);
    assert_int_equal(sl_plog_apply_retention(l, 0), 2);
    assert_int_equal(sl_plog_log_start(l), 18);
    assert_int_equal(sl_plog_apply_retention(l, 0), 0);
    check_all(e, l, 18);
}

static void test_delete_records(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 2000;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 10; i++)
        append(e, l, 3, 200, 1, 0);
    assert_int_equal(sl_plog_delete_records(l, 31), SL_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(sl_plog_delete_records(l, 13), 0);
    assert_int_equal(sl_plog_log_start(l), 13);
    assert_int_equal(sl_plog_segment_count(l), 3); /* 0-5 and 6-11 went */
    sl_log_read r;
    assert_int_equal(sl_plog_read(l, 12, 100, INT64_MAX, &r), SL_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(sl_plog_read(l, 13, 100, INT64_MAX, &r), 0);
    assert_int_equal(r.first_offset, 12); /* the batch holding 13 */
    sl_fileref_unref(r.file);
    assert_int_equal(sl_plog_delete_records(l, 5), 0); /* lower: no-op */
    assert_int_equal(sl_plog_log_start(l), 13);
    /* the asynchronous checkpoint write makes it survive a crash */
    uv_run(&e->loop, UV_RUN_DEFAULT);
    crash_dir(e);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_start(l), 13);
    assert_int_equal(sl_plog_log_end(l), 30);
    size_t len;
    char p[512];
    snprintf(p, sizeof p, "%s/log-start-offset-checkpoint", e->dir);
    char *text = tu_read_file(p, &len);
    assert_string_equal(text, "0\n1\nt 0 13\n");
    sl_free(text);
}

static void test_truncate(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 2000;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 10; i++)
        append(e, l, 3, 200, 100 + i, 0);
    /* mid-batch: the batch holding 20 (18-20) goes too */
    assert_int_equal(sl_plog_truncate(l, 20), 0);
    assert_int_equal(sl_plog_log_end(l), 18);
    assert_int_equal(sl_plog_segment_count(l), 4);
    int64_t ts, off;
    assert_int_equal(sl_plog_max_timestamp(l, &off, &ts), 0);
    assert_int_equal(ts, 105);
    assert_int_equal(off, 15);
    e->nbatches = 6;
    e->stored.len = (size_t)e->pos[6];
    assert_int_equal(append(e, l, 3, 200, 500, 0), 18);
    check_all(e, l, 0);
    /* at a segment boundary: the later segment is deleted whole */
    assert_int_equal(sl_plog_truncate(l, 12), 0);
    assert_int_equal(sl_plog_log_end(l), 12);
    assert_int_equal(sl_plog_segment_count(l), 2);
    e->nbatches = 4;
    e->stored.len = (size_t)e->pos[4];
    check_all(e, l, 0);
    assert_int_equal(sl_plog_truncate(l, 100), 0); /* beyond the end: nothing */
    crash_dir(e);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_end(l), 12);
    check_all(e, l, 0);
    /* fully */
    assert_int_equal(sl_plog_truncate_fully(l, 1000), 0);
    assert_int_equal(sl_plog_log_start(l), 1000);
    assert_int_equal(sl_plog_log_end(l), 1000);
    assert_int_equal(sl_plog_segment_count(l), 1);
    e->nbatches = 0;
    e->stored.len = 0;
    assert_int_equal(append(e, l, 2, 10, 1, 0), 1000);
    close_dir(e);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_start(l), 1000);
    assert_int_equal(sl_plog_log_end(l), 1002);
    check_all(e, l, 1000);
}

static void test_timestamps(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 3000;
    e->cfg.index_interval_bytes = 500;
    sl_plog *l = new_plog(e);
    int64_t off, ts;
    assert_int_equal(sl_plog_max_timestamp(l, &off, &ts), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 0, &off, &ts), SL_ERR_NOT_FOUND);
    /* batch i holds 4 records with timestamps 1000*i + {0,10,20,30} */
    for (int i = 0; i < 20; i++)
        append(e, l, 4, 100, 1000 * (i + 1), 10);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 0, &off, &ts), 0);
    assert_int_equal(off, 0);
    assert_int_equal(ts, 1000);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 5015, &off, &ts), 0);
    assert_int_equal(off, 4 * 4 + 2); /* record ts 5020 */
    assert_int_equal(ts, 5020);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 5030, &off, &ts), 0);
    assert_int_equal(off, 19);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 5031, &off, &ts), 0);
    assert_int_equal(off, 20);
    assert_int_equal(ts, 6000);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 20030, &off, &ts), 0);
    assert_int_equal(off, 79);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 20031, &off, &ts), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_plog_max_timestamp(l, &off, &ts), 0);
    assert_int_equal(ts, 20030);
    assert_int_equal(off, 79);
    /* a late batch with an old timestamp does not move the maximum */
    append(e, l, 2, 10, 50, 1);
    /* and one with a larger timestamp in its first record */
    append(e, l, 3, 10, 90000, -5);
    assert_int_equal(sl_plog_max_timestamp(l, &off, &ts), 0);
    assert_int_equal(ts, 90000);
    assert_int_equal(off, 82);
    /* same answers after a clean reopen (indexes from files) and after
     * recovery (indexes rebuilt) */
    for (int round = 0; round < 2; round++) {
        if (round == 0)
            close_dir(e);
        else
            crash_dir(e);
        l = reopen_plog(e);
        assert_int_equal(sl_plog_offset_for_timestamp(l, 5015, &off, &ts), 0);
        assert_int_equal(off, 18);
        assert_int_equal(sl_plog_offset_for_timestamp(l, 13001, &off, &ts), 0);
        assert_int_equal(off, 12 * 4 + 1);
        assert_int_equal(ts, 13010);
        assert_int_equal(sl_plog_max_timestamp(l, &off, &ts), 0);
        assert_int_equal(ts, 90000);
        assert_int_equal(off, 82);
    }
    /* below log start: answers start at log start */
    assert_int_equal(sl_plog_delete_records(l, 6), 0);
    assert_int_equal(sl_plog_offset_for_timestamp(l, 0, &off, &ts), 0);
    assert_int_equal(off, 6);
    assert_int_equal(ts, 2020);
}

static void test_clean_open_does_not_scan(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 100000;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 200; i++)
        append(e, l, 10, 100, i, 1); /* ~ 1.2 KiB each, ~240 KiB, 3 segments */
    assert_int_equal(sl_plog_segment_count(l), 3);
    close_dir(e);
    char marker[512];
    snprintf(marker, sizeof marker, "%s/.sluice_cleanshutdown", e->dir);
    assert_true(tu_file_size(marker) == 0);
    /* damage a record inside the first segment: a scan would cut the log there */
    char p[512];
    seg_file(e, p, sizeof p, 0, "log");
    int fd = open(p, O_RDWR);
    uint8_t x = 0x5a;
    assert_int_equal(pwrite(fd, &x, 1, e->pos[10] + 100), 1);
    close(fd);
    atomic_store(&e->f.pread_bytes, 0);
    l = reopen_plog(e);
    assert_true(sl_logdir_was_clean(e->d));
    assert_int_equal(sl_plog_log_end(l), 2000);
    /* only the tail after the active segment's last index entry is read */
    assert_true(atomic_load(&e->f.pread_bytes) < 70000);
    /* the marker is gone, so a crash now is detected */
    assert_int_equal(tu_file_size(marker), -1);
    crash_dir(e);
    l = reopen_plog(e);
    assert_false(sl_logdir_was_clean(e->d));
    /* recovery point is the log end: the old damage is not rescanned */
    assert_int_equal(sl_plog_log_end(l), 2000);
    crash_dir(e);
    /* with no checkpoint, recovery scans everything and cuts at the damage */
    snprintf(p, sizeof p, "%s/recovery-point-offset-checkpoint", e->dir);
    unlink(p);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_end(l), 100);
    assert_int_equal(sl_plog_segment_count(l), 1);
    e->nbatches = 10;
    e->stored.len = (size_t)e->pos[10];
    check_all(e, l, 0);
}

static void test_recovery_truncates_tail(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 5000;
    e->cfg.index_interval_bytes = 300;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 20; i++)
        append(e, l, 5, 120, i, 1);
    assert_int_equal(sl_plog_flush_sync(l), 0);
    int64_t end = sl_plog_log_end(l);
    size_t segs = sl_plog_segment_count(l);
    assert_true(segs >= 3);
    int64_t active_base = -1;
    for (int64_t i = e->nbatches - 1; i >= 0; i--) {
        char p[512];
        seg_file(e, p, sizeof p, e->base[i], "log");
        if (tu_file_size(p) >= 0) {
            active_base = e->base[i];
            break;
        }
    }
    crash_dir(e);
    /* torn tail: half a batch of garbage, plus a stale bogus index */
    char p[512];
    seg_file(e, p, sizeof p, active_base, "log");
    int64_t size = tu_file_size(p);
    int fd = open(p, O_RDWR);
    uint8_t junk[300];
    memcpy(junk, e->stored.data + e->pos[2], sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, size), (ssize_t)sizeof junk);
    close(fd);
    seg_file(e, p, sizeof p, active_base, "index");
    fd = open(p, O_RDWR | O_CREAT, 0644);
    assert_int_equal(pwrite(fd, "garbage", 7, 0), 7);
    close(fd);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_end(l), end);
    seg_file(e, p, sizeof p, active_base, "log");
    assert_int_equal(tu_file_size(p), size);
    check_all(e, l, 0);
    FILE *devnull = fopen("/dev/null", "w");
    seg_file(e, p, sizeof p, active_base, "index");
    assert_int_equal(sl_log_dump_file(p, false, devnull), 0);
    assert_int_equal(tu_file_size(p) % 8, 0);
    fclose(devnull);
    /* a segment after a damaged one is deleted */
    crash_dir(e);
    seg_file(e, p, sizeof p, 0, "log");
    fd = open(p, O_RDWR);
    assert_int_equal(ftruncate(fd, e->pos[1] + 10), 0);
    close(fd);
    snprintf(p, sizeof p, "%s/recovery-point-offset-checkpoint", e->dir);
    unlink(p);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_end(l), 5);
    assert_int_equal(sl_plog_segment_count(l), 1);
    seg_file(e, p, sizeof p, active_base, "log");
    assert_int_equal(tu_file_size(p), -1);
    /* and the log goes on from there */
    e->nbatches = 1;
    e->stored.len = (size_t)e->pos[1];
    assert_int_equal(append(e, l, 5, 120, 0, 1), 5);
    check_all(e, l, 0);
}

static void test_index_rebuild(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 6000;
    e->cfg.index_interval_bytes = 200;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 60; i++)
        append(e, l, 3, 100, i, 1);
    assert_true(sl_plog_segment_count(l) >= 3);
    close_dir(e);
    char p[512];
    FILE *devnull = fopen("/dev/null", "w");
    /* first segment: size not a multiple of 8 */
    seg_file(e, p, sizeof p, 0, "index");
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "xyz", 3), 3);
    close(fd);
    assert_int_equal(sl_log_dump_file(p, false, devnull), 1);
    /* second segment: well-formed entries that point at the wrong batches */
    int64_t second = -1;
    for (int64_t i = 1; i < e->nbatches && second < 0; i++) {
        seg_file(e, p, sizeof p, e->base[i], "index");
        if (tu_file_size(p) > 16) second = e->base[i];
    }
    assert_true(second > 0);
    seg_file(e, p, sizeof p, second, "index");
    fd = open(p, O_RDWR);
    uint8_t ent[8];
    assert_int_equal(pread(fd, ent, 8, 8), 8);
    sl_store_be32(ent, sl_load_be32(ent) + 1); /* offset no longer at that position */
    assert_int_equal(pwrite(fd, ent, 8, 8), 8);
    close(fd);
    assert_int_equal(sl_log_dump_file(p, false, devnull), 1);
    l = reopen_plog(e);
    /* a byte limit that lands on the bad entry: still whole, right batches */
    sl_log_read r0;
    int64_t bl = batch_len(e, 0);
    assert_int_equal(sl_plog_read(l, second, (int32_t)(bl * 5 / 2), INT64_MAX, &r0), 0);
    assert_int_equal(check_read(e, &r0, second), 2);
    sl_fileref_unref(r0.file);
    for (int64_t off = 0; off < sl_plog_log_end(l); off++) {
        sl_log_read r;
        assert_int_equal(sl_plog_read(l, off, 1, INT64_MAX, &r), 0);
        assert_int_equal(check_read(e, &r, off), 1);
        sl_fileref_unref(r.file);
    }
    /* both were rewritten from the log */
    seg_file(e, p, sizeof p, 0, "index");
    assert_int_equal(sl_log_dump_file(p, false, devnull), 0);
    seg_file(e, p, sizeof p, second, "index");
    assert_int_equal(sl_log_dump_file(p, false, devnull), 0);
    fclose(devnull);
}

static void test_offline_on_write_error(void **state)
{
    env *e = *state;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 3; i++)
        append(e, l, 3, 100, 1, 1);
    char p[512];
    seg_file(e, p, sizeof p, 0, "log");
    int64_t size = tu_file_size(p);
    /* a short write followed by ENOSPC: the half batch must not stay */
    atomic_store(&e->f.pwrite_fail_after, 0);
    atomic_store(&e->f.pwrite_errno, ENOSPC);
    atomic_store(&e->f.pwrite_short, 1);
    sl_buf b;
    sl_buf_init(&b);
    size_t len = tu_batch(&b, 3, 100, 1, 1, 99);
    int64_t base;
    assert_int_equal(sl_plog_append(l, b.data, len, 0, &base), SL_ERR_IO);
    assert_int_equal(tu_file_size(p), size);
    assert_true(sl_logdir_is_offline(e->d));
    assert_non_null(strstr(sl_logdir_offline_reason(e->d), "No space left"));
    /* sticky, never retried */
    atomic_store(&e->f.pwrite_fail_after, -1);
    long calls = atomic_load(&e->f.pwrite_calls);
    assert_int_equal(sl_plog_append(l, b.data, len, 0, &base), SL_ERR_OFFLINE);
    assert_int_equal(atomic_load(&e->f.pwrite_calls), calls);
    assert_int_equal(sl_plog_flush_wait(l, 9, NULL, NULL), SL_ERR_OFFLINE);
    sl_log_read r;
    assert_int_equal(sl_plog_read(l, 0, 100, INT64_MAX, &r), SL_ERR_OFFLINE);
    assert_int_equal(sl_plog_truncate(l, 3), SL_ERR_OFFLINE);
    sl_plog *l2;
    assert_int_equal(sl_logdir_create_plog(e->d, "u", 0, NULL, &l2), SL_ERR_OFFLINE);
    assert_int_equal(sl_logdir_close(e->d), SL_ERR_OFFLINE);
    e->d = NULL;
    /* no clean marker after an offline close: the next open recovers */
    l = reopen_plog(e);
    assert_false(sl_logdir_was_clean(e->d));
    assert_int_equal(sl_plog_log_end(l), 9);
    check_all(e, l, 0);
    sl_buf_fini(&b);
}

typedef struct waiter_rec {
    int calls;
    int status;
    int order;
    int *counter;
} waiter_rec;

static void on_flushed(void *arg, int status)
{
    waiter_rec *w = arg;
    w->calls++;
    w->status = status;
    w->order = (*w->counter)++;
}

static void test_group_commit(void **state)
{
    env *e = *state;
    sl_plog *l = new_plog(e);
    atomic_store(&e->f.fsync_delay_us, 20000);
    int counter = 0;
    waiter_rec w[8] = {{0}};
    for (int i = 0; i < 8; i++)
        w[i].counter = &counter;
    append(e, l, 2, 10, 1, 1);
    atomic_store(&e->f.fsync_calls, 0);
    assert_int_equal(sl_plog_flush_wait(l, 2, on_flushed, &w[0]), 0);
    assert_int_equal(sl_plog_flush_wait(l, 3, on_flushed, &w[1]), SL_ERR_INVALID_ARG);
    /* the first fsync is in flight: these wait for one more */
    for (int i = 1; i < 8; i++) {
        append(e, l, 2, 10, 1, 1);
        assert_int_equal(sl_plog_flush_wait(l, sl_plog_log_end(l), on_flushed, &w[i]), 0);
    }
    uv_run(&e->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(w[i].calls, 1);
        assert_int_equal(w[i].status, 0);
        assert_int_equal(w[i].order, i);
    }
    /* one fsync for the first waiter, one for the seven others */
    assert_int_equal(atomic_load(&e->f.fsync_calls), 2);
    assert_int_equal(sl_plog_flushed_offset(l), 16);
    assert_int_equal(sl_plog_flush_wait(l, 16, on_flushed, &w[0]), 1);
    /* a failing fsync takes the directory offline and fails the waiters */
    append(e, l, 2, 10, 1, 1);
    atomic_store(&e->f.fsync_fail, EIO);
    waiter_rec bad = {.counter = &counter};
    assert_int_equal(sl_plog_flush_wait(l, 18, on_flushed, &bad), 0);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(bad.calls, 1);
    assert_int_equal(bad.status, SL_ERR_OFFLINE);
    assert_true(sl_logdir_is_offline(e->d));
    assert_non_null(strstr(sl_logdir_offline_reason(e->d), "fsync"));
    sl_buf b;
    sl_buf_init(&b);
    size_t len = tu_batch(&b, 1, 1, 1, 1, 1);
    int64_t base;
    assert_int_equal(sl_plog_append(l, b.data, len, 0, &base), SL_ERR_OFFLINE);
    sl_buf_fini(&b);
}

static void test_close_answers_waiters(void **state)
{
    env *e = *state;
    sl_plog *l = new_plog(e);
    int counter = 0;
    waiter_rec w = {.counter = &counter};
    append(e, l, 2, 10, 1, 1);
    assert_int_equal(sl_plog_flush_wait(l, 2, on_flushed, &w), 0);
    close_dir(e); /* flushes synchronously: the waiter is covered */
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.status, 0);
}

static void test_flush_policy(void **state)
{
    env *e = *state;
    e->cfg.flush_messages = 10;
    atomic_store(&e->f.now_ms, 1000);
    sl_plog *l = new_plog(e);
    append(e, l, 4, 10, 1, 1);
    append(e, l, 4, 10, 1, 1);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(sl_plog_flushed_offset(l), 0);
    append(e, l, 4, 10, 1, 1); /* 12 unflushed records >= 10 */
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(sl_plog_flushed_offset(l), 12);
    /* flush.ms through the tick */
    sl_log_config c = *sl_plog_config(l);
    c.flush_messages = INT64_MAX;
    c.flush_ms = 500;
    sl_plog_set_config(l, &c);
    append(e, l, 1, 10, 1, 1);
    sl_logdir_tick(e->d, 1400);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(sl_plog_flushed_offset(l), 12);
    sl_logdir_tick(e->d, 1500);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(sl_plog_flushed_offset(l), 13);
}

typedef struct scan_acc {
    int64_t n;
    int64_t offsets[256];
    int stop_at;
} scan_acc;

static int on_header(void *arg, const sl_batch_header *h, int64_t pos)
{
    scan_acc *a = arg;
    (void)pos;
    a->offsets[a->n++] = h->base_offset;
    return a->n == a->stop_at ? 42 : 0;
}

static void test_scan(void **state)
{
    env *e = *state;
    e->cfg.segment_bytes = 1000;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 20; i++)
        append(e, l, 3, 50, 1, 1);
    scan_acc a = {0};
    assert_int_equal(sl_plog_scan(l, 0, on_header, &a), 0);
    assert_int_equal(a.n, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(a.offsets[i], 3 * i);
    memset(&a, 0, sizeof a);
    assert_int_equal(sl_plog_scan(l, 31, on_header, &a), 0);
    assert_int_equal(a.n, 10);
    assert_int_equal(a.offsets[0], 30);
    memset(&a, 0, sizeof a);
    a.stop_at = 3;
    assert_int_equal(sl_plog_scan(l, 0, on_header, &a), 42);
    assert_int_equal(a.n, 3);
}

static void test_logdir_partitions(void **state)
{
    env *e = *state;
    open_dir(e);
    sl_plog *a, *b, *c;
    assert_int_equal(sl_logdir_create_plog(e->d, "orders", 0, NULL, &a), 0);
    assert_int_equal(sl_logdir_create_plog(e->d, "orders", 1, NULL, &b), 0);
    assert_int_equal(sl_logdir_create_plog(e->d, "my-topic.v2", 7, NULL, &c), 0);
    assert_int_equal(sl_logdir_create_plog(e->d, "orders", 1, NULL, &b), SL_ERR_EXISTS);
    assert_int_equal(sl_logdir_create_plog(e->d, "../x", 0, NULL, &b), SL_ERR_INVALID_TOPIC);
    assert_int_equal(sl_logdir_create_plog(e->d, "a/b", 0, NULL, &b), SL_ERR_INVALID_TOPIC);
    assert_int_equal(sl_logdir_count(e->d), 3);
    append(e, a, 2, 10, 1, 1);
    append(e, c, 3, 10, 1, 1);
    assert_int_equal(sl_logdir_delete_plog(e->d, b), 0);
    assert_null(sl_logdir_find(e->d, "orders", 1));
    close_dir(e);
    char p[512];
    snprintf(p, sizeof p, "%s/orders-1", e->dir);
    assert_int_equal(tu_file_size(p), -1);
    snprintf(p, sizeof p, "%s/not_a_partition", e->dir);
    mkdir(p, 0755);
    open_dir(e);
    assert_int_equal(sl_logdir_count(e->d), 2);
    c = sl_logdir_find(e->d, "my-topic.v2", 7);
    assert_non_null(c);
    assert_string_equal(sl_plog_topic(c), "my-topic.v2");
    assert_int_equal(sl_plog_partition(c), 7);
    assert_int_equal(sl_plog_log_end(c), 3);
    assert_int_equal(sl_plog_log_end(sl_logdir_find(e->d, "orders", 0)), 2);
    close_dir(e);
    /* the checkpoints are Kafka's text format */
    snprintf(p, sizeof p, "%s/recovery-point-offset-checkpoint", e->dir);
    char *text = tu_read_file(p, NULL);
    assert_non_null(strstr(text, "0\n2\n"));
    assert_non_null(strstr(text, "\nmy-topic.v2 7 3\n"));
    assert_non_null(strstr(text, "\norders 0 2\n"));
    sl_free(text);
}

static void test_preallocate(void **state)
{
    env *e = *state;
    e->cfg.preallocate = true;
    e->cfg.segment_bytes = 1 << 20;
    sl_plog *l = new_plog(e);
    for (int i = 0; i < 5; i++)
        append(e, l, 3, 100, 1, 1);
    char p[512];
    seg_file(e, p, sizeof p, 0, "log");
    assert_int_equal(tu_file_size(p), (int64_t)e->stored.len); /* size is the data */
    crash_dir(e);
    l = reopen_plog(e);
    assert_int_equal(sl_plog_log_end(l), 15);
    check_all(e, l, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test_setup_teardown(test_append_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_index_interval_many_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_open_does_not_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_truncates_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_on_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_answers_waiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logdir_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preallocate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
