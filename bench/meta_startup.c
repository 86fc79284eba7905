/* Metadata log startup cost: time from sl_meta_open to ready (replayed,
 * leader, registered) and the memory it takes, for a fresh directory, a
 * restart of an empty one, and a restart with N topics; plus the proposal
 * rate while creating those topics.
 *
 *   bench_meta_startup [topics (default 1000)] [runs (default 5)] [segment bytes]
 */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "base/clock.h"
#include "base/log.h"
#include "meta/meta.h"

static size_t g_segment;
static bool g_ready;
static double g_open_call_ms; /* how long sl_meta_open itself blocked the caller */
static int g_status;
static void on_ready(void *arg, int status)
{
    (void)arg;
    g_ready = true;
    g_status = status;
}
static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

static long long g_bytes;
static int du_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p;
    (void)ftw;
    if (flag == FTW_F) g_bytes += (long long)st->st_blocks * 512;
    return 0;
}
static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Opens and runs until ready; returns the elapsed milliseconds. */
static double open_ready(uv_loop_t *loop, const char *dir, sl_meta **m)
{
    sl_meta_config cfg = {.log_dir = dir,
                          .node_id = 1,
                          .advertised_host = "127.0.0.1",
                          .advertised_port = 9092,
                          .ready_cb = on_ready,
                          .segment_size_bytes = g_segment};
    g_ready = false;
    int64_t t0 = sl_mono_ns();
    if (sl_meta_open(loop, &cfg, m) != 0) {
        fprintf(stderr, "open failed\n");
        exit(1);
    }
    g_open_call_ms = (double)(sl_mono_ns() - t0) / 1e6;
    while (!g_ready)
        uv_run(loop, UV_RUN_ONCE);
    if (g_status) {
        fprintf(stderr, "ready failed: %d\n", g_status);
        exit(1);
    }
    return (double)(sl_mono_ns() - t0) / 1e6;
}

static double close_meta(uv_loop_t *loop, sl_meta *m)
{
    bool closed = false;
    int64_t t0 = sl_mono_ns();
    sl_meta_close(m, on_closed, &closed);
    while (!closed)
        uv_run(loop, UV_RUN_ONCE);
    return (double)(sl_mono_ns() - t0) / 1e6;
}

static int g_done;
static void on_topic(void *arg, int status, const sl_meta_topic *t)
{
    (void)arg;
    (void)t;
    if (status) {
        fprintf(stderr, "create failed: %d\n", status);
        exit(1);
    }
    g_done++;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("%-34s min %7.2f ms  median %7.2f ms  max %7.2f ms\n", what, v[0], v[n / 2], v[n - 1]);
}

int main(int argc, char **argv)
{
    int topics = argc > 1 ? atoi(argv[1]) : 1000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    g_segment = argc > 3 ? (size_t)atol(argv[3]) : 0;
    if (runs < 1 || runs > 100 || topics < 0) return 2;
    sl_log_set_level(getenv("SL_BENCH_DEBUG") ? SL_LOG_DEBUG : SL_LOG_WARN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    double t[100], c[100], o[100];
    long rss0 = rss_kib();

    char dir[64];
    for (int i = 0; i < runs; i++) {
        snprintf(dir, sizeof dir, "/tmp/sl-meta-bench-XXXXXX");
        if (!mkdtemp(dir)) return 1;
        sl_meta *m;
        t[i] = open_ready(&loop, dir, &m);
        o[i] = g_open_call_ms;
        c[i] = close_meta(&loop, m);
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    report("fresh dir: sl_meta_open call", o, runs);
    report("fresh dir: open -> ready", t, runs);
    report("fresh dir: close", c, runs);

    snprintf(dir, sizeof dir, "/tmp/sl-meta-bench-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    sl_meta *m;
    open_ready(&loop, dir, &m);
    close_meta(&loop, m);
    for (int i = 0; i < runs; i++) {
        t[i] = open_ready(&loop, dir, &m);
        o[i] = g_open_call_ms;
        c[i] = close_meta(&loop, m);
    }
    report("empty dir restart: sl_meta_open call", o, runs);
    report("empty dir restart: open -> ready", t, runs);

    open_ready(&loop, dir, &m);
    long rss_open = rss_kib();
    int64_t t0 = sl_mono_ns();
    char name[64];
    g_done = 0;
    for (int i = 0; i < topics; i++) {
        snprintf(name, sizeof name, "bench-topic-%05d", i);
        if (sl_meta_create_topic(m, name, 1 + i % 4, 1, NULL, 0, on_topic, NULL) != 0) return 1;
        if (i % 100 == 99)
            while (g_done < i + 1)
                uv_run(&loop, UV_RUN_ONCE);
    }
    while (g_done < topics)
        uv_run(&loop, UV_RUN_ONCE);
    double create_ms = (double)(sl_mono_ns() - t0) / 1e6;
    size_t img_bytes = sl_meta_image_memory(sl_meta_get_image(m));
    long rss_topics = rss_kib();
    close_meta(&loop, m);
    printf("create %d topics (100 in flight):  %.1f ms (%.0f topics/s)\n", topics, create_ms,
           topics / (create_ms / 1e3));

    for (int i = 0; i < runs; i++) {
        t[i] = open_ready(&loop, dir, &m);
        o[i] = g_open_call_ms;
        if (i == runs - 1) break;
        c[i] = close_meta(&loop, m);
    }
    long rss_reopen = rss_kib();
    char what[64];
    snprintf(what, sizeof what, "%d topics restart: open -> ready", topics);
    report(what, t, runs);
    snprintf(what, sizeof what, "%d topics: sl_meta_open call", topics);
    report(what, o, runs);
    c[runs - 1] = close_meta(&loop, m);
    report("close", c, runs);

    g_bytes = 0;
    char mdir[128];
    snprintf(mdir, sizeof mdir, "%s/__meta", dir);
    nftw(mdir, du_cb, 16, FTW_PHYS);
    printf("image heap with %d topics: %zu KiB\n", topics, img_bytes / 1024);
    printf("RSS: process start %ld KiB, after open (empty) %ld KiB, after %d topics %ld KiB, "
           "after restart with them %ld KiB\n",
           rss0, rss_open, topics, rss_topics, rss_reopen);
    printf("__meta on disk: %lld KiB\n", g_bytes / 1024);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    uv_loop_close(&loop);
    return 0;
}
