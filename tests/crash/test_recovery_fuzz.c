/* Randomized torn-tail recovery: a partition with a sealed segment and an
 * active segment is damaged the ways a crash or a bad disk damages files
 * (truncation at any byte, zero-filled ranges, garbage, sparse extension,
 * bit flips inside earlier batches, combinations), then reopened without a
 * clean-shutdown marker. The test computes independently, from the bytes it
 * wrote and the bytes it damaged, which batches must survive, and checks that
 * recovery kept exactly that prefix, byte for byte, cut everything after it,
 * and rebuilt indexes that resolve every offset and timestamp.
 *
 * SL_SEED=<n> reruns one sequence; SL_ITERATIONS=<n> changes the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "../unit/log_test_util.h"

#define NB 48 /* batches in the active segment */

typedef struct golden {
    uint8_t *bytes; /* the active segment as written */
    size_t len;
    int64_t pos[NB + 1];
    int64_t base[NB];
    int64_t last[NB];
    int64_t max_ts[NB];
    int64_t seg_base; /* base offset of the active segment */
    uint8_t *sealed;  /* the first (sealed) segment */
    size_t sealed_len;
    uint8_t *sealed_index;
    size_t sealed_index_len;
    uint8_t *sealed_tindex;
    size_t sealed_tindex_len;
} golden;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int64_t rnd_range(int64_t lo, int64_t hi) /* [lo, hi) */
{
    return hi <= lo ? lo : lo + (int64_t)(rnd() % (uint64_t)(hi - lo));
}

static int nofsync(void *ctx, int fd, bool data_only)
{
    (void)ctx, (void)fd, (void)data_only;
    return 0;
}

static uint8_t *slurp(const char *p, size_t *len)
{
    return (uint8_t *)tu_read_file(p, len);
}

static void spit(const char *p, const uint8_t *d, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, d, n), (ssize_t)n);
    close(fd);
}

static sl_logdir *open_logdir(uv_loop_t *loop, const char *dir, const sl_log_io *io,
                              const sl_log_config *cfg)
{
    sl_logdir_options o;
    sl_logdir_options_default(&o);
    o.io = io;
    o.default_config = cfg;
    sl_logdir *d = NULL;
    assert_int_equal(sl_logdir_open(loop, dir, &o, &d), 0);
    return d;
}

/* Builds the golden partition once through the real append path. */
static void make_golden(golden *g, uv_loop_t *loop, const sl_log_io *io, sl_log_config *cfg)
{
    char *dir = tu_mkdtemp();
    sl_logdir *d = open_logdir(loop, dir, io, cfg);
    sl_plog *l;
    assert_int_equal(sl_logdir_create_plog(d, "t", 0, cfg, &l), 0);
    sl_buf b;
    sl_buf_init(&b);
    /* first segment: 10 batches, then roll by switching segment size */
    for (int i = 0; i < 10; i++) {
        b.len = 0;
        size_t n = tu_batch(&b, 3, 40, 1000 + i, 1, (uint32_t)i);
        int64_t base;
        assert_int_equal(sl_plog_append(l, b.data, n, 1, &base), 0);
    }
    sl_log_config c = *cfg;
    c.segment_bytes = 14; /* the smallest allowed: the next append rolls */
    sl_plog_set_config(l, &c);
    g->seg_base = sl_plog_log_end(l);
    for (int i = 0; i < NB; i++) {
        if (i == 1) sl_plog_set_config(l, cfg);
        b.len = 0;
        int nrec = 1 + (int)(rnd() % 6);
        int vlen = (int)(rnd() % 300);
        int64_t ts = 5000 + i * 10 + (int64_t)(rnd() % 25);
        size_t n = tu_batch(&b, nrec, vlen, ts, 1, (uint32_t)(100 + i));
        int64_t base;
        assert_int_equal(sl_plog_append(l, b.data, n, 7, &base), 0);
        g->base[i] = base;
        g->last[i] = base + nrec - 1;
        g->max_ts[i] = ts + nrec - 1;
    }
    sl_buf_fini(&b);
    assert_int_equal(sl_plog_segment_count(l), 2);
    assert_int_equal(sl_logdir_close(d), 0);
    char p[4200];
    snprintf(p, sizeof p, "%s/t-0/%020lld.log", dir, (long long)g->seg_base);
    g->bytes = slurp(p, &g->len);
    snprintf(p, sizeof p, "%s/t-0/%020d.log", dir, 0);
    g->sealed = slurp(p, &g->sealed_len);
    snprintf(p, sizeof p, "%s/t-0/%020d.index", dir, 0);
    g->sealed_index = slurp(p, &g->sealed_index_len);
    snprintf(p, sizeof p, "%s/t-0/%020d.timeindex", dir, 0);
    g->sealed_tindex = slurp(p, &g->sealed_tindex_len);
    /* batch boundaries, found independently of the log module */
    int64_t pos = 0;
    for (int i = 0; i < NB; i++) {
        g->pos[i] = pos;
        assert_int_equal((int64_t)sl_load_be64(g->bytes + pos), g->base[i]);
        pos += 12 + (int64_t)sl_load_be32(g->bytes + pos + 8);
    }
    g->pos[NB] = pos;
    assert_int_equal(pos, (int64_t)g->len);
    tu_rm_rf(dir);
    sl_free(dir);
}

static bool in_epoch_field(const golden *g, int64_t at)
{
    for (int i = 0; i < NB; i++)
        if (at >= g->pos[i] + 12 && at < g->pos[i] + 16) return true;
    return false;
}

/* How many leading batches are intact in `m` (len mlen): every byte of
 * theirs equals the golden one (the leader epoch is outside the CRC and may
 * differ) and the whole batch is present. */
static int expected_batches(const golden *g, const uint8_t *m, int64_t mlen)
{
    int64_t first_diff = mlen;
    for (int64_t i = 0; i < mlen && i < (int64_t)g->len; i++) {
        if (m[i] != g->bytes[i] && !in_epoch_field(g, i)) {
            first_diff = i;
            break;
        }
    }
    int k = 0;
    while (k < NB && g->pos[k + 1] <= first_diff)
        k++;
    return k;
}

static const char *mutate(const golden *g, uint8_t **mp, int64_t *mlen)
{
    uint8_t *m = *mp;
    int64_t len = *mlen;
    const char *what = "";
    int kind = (int)(rnd() % 7);
    switch (kind) {
    case 0: /* torn write: truncate at any byte */
        len = rnd_range(0, len + 1);
        what = "truncate";
        break;
    case 1: { /* zero-filled range (unwritten blocks after a power cut) */
        int64_t a = rnd_range(0, len), n = rnd_range(1, 2000);
        memset(m + a, 0, (size_t)SL_MIN(n, len - a));
        what = "zero-fill";
        break;
    }
    case 2: { /* garbage overwrites a range */
        int64_t a = rnd_range(0, len), n = rnd_range(1, 500);
        for (int64_t i = a; i < SL_MIN(a + n, len); i++)
            m[i] = (uint8_t)rnd();
        what = "garbage";
        break;
    }
    case 3: { /* truncated, then extended with a hole (sparse zeros) */
        int64_t cut = rnd_range(0, len + 1), grow = rnd_range(1, 70000);
        m = sl_realloc(m, (size_t)(cut + grow));
        memset(m + cut, 0, (size_t)grow);
        len = cut + grow;
        what = "hole";
        break;
    }
    case 4: { /* one flipped bit inside an earlier batch */
        int b = (int)rnd_range(0, NB - 1);
        int64_t a = rnd_range(g->pos[b], g->pos[b + 1]);
        if (a < len) m[a] ^= (uint8_t)(1u << (rnd() % 8));
        what = "bit flip";
        break;
    }
    case 5: { /* torn tail followed by garbage appended */
        int64_t cut = rnd_range(0, len + 1), n = rnd_range(1, 3000);
        m = sl_realloc(m, (size_t)(cut + n));
        for (int64_t i = 0; i < n; i++)
            m[cut + i] = (uint8_t)rnd();
        len = cut + n;
        what = "truncate+garbage";
        break;
    }
    default: { /* a plausible header: a copy of an earlier batch after a cut */
        int b = (int)rnd_range(0, NB);
        int64_t cut = SL_MIN(g->pos[rnd_range(0, NB + 1)], len);
        int64_t bl = g->pos[b + 1] - g->pos[b];
        m = sl_realloc(m, (size_t)(cut + bl));
        memcpy(m + cut, g->bytes + g->pos[b], (size_t)bl);
        len = cut + bl;
        what = "stale batch copy";
        break;
    }
    }
    *mp = m;
    *mlen = len;
    return what;
}

static void test_recovery_fuzz(void **state)
{
    (void)state;
    sl_log_set_level(getenv("SL_TEST_LOG") ? SL_LOG_DEBUG : SL_LOG_OFF);
    const char *s = getenv("SL_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 10) : 0x5eed1234ull;
    const char *it = getenv("SL_ITERATIONS");
    int iterations = it ? atoi(it) : 1200;
    rng_state = seed | 1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tu_faults f;
    sl_log_io io;
    tu_faults_init(&f, &io);
    io.fsync = nofsync; /* recovery logic, not the disk, is under test */
    sl_log_config cfg;
    sl_log_config_default(&cfg);
    cfg.index_interval_bytes = 400;
    golden g;
    make_golden(&g, &loop, &io, &cfg);

    char *dir = tu_mkdtemp();
    char pdir[4200], p[4300];
    snprintf(pdir, sizeof pdir, "%s/t-0", dir);
    FILE *devnull = fopen("/dev/null", "w");
    int kept_all = 0, kept_none = 0;
    for (int iter = 0; iter < iterations; iter++) {
        uint64_t iter_seed = rng_state;
        mkdir(pdir, 0755);
        snprintf(p, sizeof p, "%s/%020d.log", pdir, 0);
        spit(p, g.sealed, g.sealed_len);
        snprintf(p, sizeof p, "%s/%020d.index", pdir, 0);
        spit(p, g.sealed_index, g.sealed_index_len);
        snprintf(p, sizeof p, "%s/%020d.timeindex", pdir, 0);
        spit(p, g.sealed_tindex, g.sealed_tindex_len);
        /* the recovery point is inside the active segment: only it is scanned */
        char ck[64];
        int ckn = snprintf(ck, sizeof ck, "0\n1\nt 0 %lld\n", (long long)(g.seg_base + 3));
        snprintf(p, sizeof p, "%s/recovery-point-offset-checkpoint", dir);
        spit(p, (const uint8_t *)ck, (size_t)ckn);

        int64_t mlen = (int64_t)g.len;
        uint8_t *m = sl_malloc(g.len);
        memcpy(m, g.bytes, g.len);
        const char *what = mutate(&g, &m, &mlen);
        if (rnd() % 4 == 0) /* sometimes two kinds of damage at once */
            what = mutate(&g, &m, &mlen);
        int k = expected_batches(&g, m, mlen);
        snprintf(p, sizeof p, "%s/%020lld.log", pdir, (long long)g.seg_base);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        /* all-zero 4 KiB blocks are not written, so they become real holes */
        for (int64_t i = 0; i < mlen; i += 4096) {
            int64_t n = SL_MIN(4096, mlen - i);
            bool zero = true;
            for (int64_t j = 0; j < n && zero; j++)
                zero = m[i + j] == 0;
            if (!zero) assert_int_equal(pwrite(fd, m + i, (size_t)n, i), n);
        }
        assert_int_equal(ftruncate(fd, mlen), 0);
        close(fd);
        /* stale index files of the active segment must not be trusted */
        snprintf(p, sizeof p, "%s/%020lld.index", pdir, (long long)g.seg_base);
        spit(p, (const uint8_t *)"\0\0\0\x05\0\0\x01\0", 8);

        sl_logdir *d = open_logdir(&loop, dir, &io, &cfg);
        sl_plog *l = sl_logdir_find(d, "t", 0);
        assert_non_null(l);
        int64_t want_end = k ? g.last[k - 1] + 1 : g.seg_base;
        if (sl_plog_log_end(l) != want_end)
            fail_msg("iteration %d (seed %llu, %s): log end %lld, expected %lld (%d batches)", iter,
                     (unsigned long long)iter_seed, what, (long long)sl_plog_log_end(l),
                     (long long)want_end, k);
        snprintf(p, sizeof p, "%s/%020lld.log", pdir, (long long)g.seg_base);
        size_t got_len;
        uint8_t *got = slurp(p, &got_len);
        assert_int_equal(got_len, g.pos[k]);
        for (int64_t b = 0; b < g.pos[k]; b++)
            if (got[b] != g.bytes[b] && !in_epoch_field(&g, b))
                fail_msg("iteration %d: byte %lld differs after recovery", iter, (long long)b);
        sl_free(got);
        /* rebuilt indexes: every offset resolves to its batch */
        for (int b = 0; b < k; b++) {
            for (int64_t off = g.base[b]; off <= g.last[b]; off++) {
                sl_log_read r;
                assert_int_equal(sl_plog_read(l, off, 1, INT64_MAX, &r), 0);
                assert_int_equal(r.first_offset, g.base[b]);
                assert_int_equal(r.pos, g.pos[b]);
                assert_int_equal(r.len, g.pos[b + 1] - g.pos[b]);
                sl_fileref_unref(r.file);
            }
        }
        int64_t off, ts;
        if (k > 0) {
            int b = (int)rnd_range(0, k);
            int64_t target = g.max_ts[b] - (int64_t)(rnd() % 8);
            int x = 0;
            while (g.max_ts[x] < target)
                x++;
            int64_t ts0 = g.max_ts[x] - (g.last[x] - g.base[x]);
            assert_int_equal(sl_plog_offset_for_timestamp(l, target, &off, &ts), 0);
            assert_int_equal(off, g.base[x] + SL_MAX(0, target - ts0));
            assert_int_equal(ts, SL_MAX(target, ts0));
            int64_t top = 0;
            for (int y = 0; y < k; y++)
                top = SL_MAX(top, g.max_ts[y]);
            assert_int_equal(sl_plog_offset_for_timestamp(l, top + 1, &off, &ts), SL_ERR_NOT_FOUND);
        }
        /* the sealed segment is untouched and still readable */
        sl_log_read r;
        assert_int_equal(sl_plog_read(l, 0, 1 << 20, INT64_MAX, &r), 0);
        assert_int_equal(r.len, (int64_t)g.sealed_len);
        sl_fileref_unref(r.file);
        snprintf(p, sizeof p, "%s/%020lld.index", pdir, (long long)g.seg_base);
        assert_int_equal(sl_log_dump_file(p, false, devnull), 0);
        snprintf(p, sizeof p, "%s/%020lld.timeindex", pdir, (long long)g.seg_base);
        assert_int_equal(sl_log_dump_file(p, false, devnull), 0);
        snprintf(p, sizeof p, "%s/%020lld.log", pdir, (long long)g.seg_base);
        assert_int_equal(sl_log_dump_file(p, true, devnull), 0);
        /* appending after recovery continues the offsets */
        sl_buf b;
        sl_buf_init(&b);
        size_t n = tu_batch(&b, 2, 10, 1, 1, 1);
        int64_t base;
        assert_int_equal(sl_plog_append(l, b.data, n, 9, &base), 0);
        assert_int_equal(base, want_end);
        sl_buf_fini(&b);
        sl_logdir_close_unclean(d);
        uv_run(&loop, UV_RUN_DEFAULT);
        tu_rm_rf(pdir);
        sl_free(m);
        kept_all += k == NB;
        kept_none += k == 0;
    }
    fclose(devnull);
    print_message("%d iterations (seed %llu): %d kept everything, %d kept nothing\n", iterations,
                  (unsigned long long)seed, kept_all, kept_none);
    tu_rm_rf(dir);
    sl_free(dir);
    sl_free(g.bytes);
    sl_free(g.sealed);
    sl_free(g.sealed_index);
    sl_free(g.sealed_tindex);
    uv_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_recovery_fuzz)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
