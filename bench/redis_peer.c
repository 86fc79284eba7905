/* The benchmark's peer client: Redis Streams driven the way `sluice perf`
 * drives sluiced, so the two can be compared in the same run.
 *
 *   bench_redis_peer produce --port P [--streams S] [--producers K] [--size B]
 *                            [--count N] [--pipeline D]
 *   bench_redis_peer consume --port P [--streams S] [--consumers K] [--count N]
 *                            [--batch C] [--idle-ms MS]
 *   bench_redis_peer latency --port P [--rate R] [--duration SEC] [--size B]
 *
 * A "partition" is a stream named <prefix>-<i>. produce sends XADD with one
 * field per entry, pipelined with up to D commands in flight per connection
 * (every command is pre-formatted once). consume reads with XREAD COUNT C
 * from the start, the streams split between consumer threads. latency sends
 * XADD at a fixed rate on a non-blocking connection (replies drained as they
 * come, so a slow reply never delays the schedule) and reads with
 * XREAD BLOCK on another; each value carries its intended send time (the
 * same 24-byte header as sluice perf) and latency counts from that time.
 * Output: one JSON object with the same field names as `sluice perf --json`.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "base/clock.h"
#include "hdr.h"

#define PEER_MAGIC       0x46504c53u
#define PEER_HDR_BYTES   24
#define PEER_FLAG_WARMUP 1u
#define LAT_HIGHEST_NS   (60LL * 1000 * 1000 * 1000)

typedef struct peer_opts {
    const char *mode;
    const char *host;
    int port;
    const char *prefix;
    int streams, producers, consumers;
    int64_t size, count;
    int pipeline, batch, idle_ms;
    double rate, duration_s;
} peer_opts;

typedef struct peer_run {
    const peer_opts *o;
    pthread_barrier_t start;
    _Atomic int64_t consumed;
    _Atomic int producers_done;
    _Atomic int warm;
    _Atomic int failed;
    _Atomic int64_t planned;
    int64_t wall_minus_mono_ns;
} peer_run;

typedef struct worker {
    peer_run *run;
    int id;
    pthread_t th;
    int64_t quota, msgs, bytes, errors;
    int64_t t_start_ns, t_end_ns;
    int64_t max_behind_ns;
    sl_hdr *lat;
} worker;

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static redisContext *connect_to(const peer_opts *o, bool nonblock)
{
    redisContext *c =
        nonblock ? redisConnectNonBlock(o->host, o->port) : redisConnect(o->host, o->port);
    if (!c || c->err) {
        fprintf(stderr, "redis_peer: connect %s:%d: %s\n", o->host, o->port,
                c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    if (nonblock) { /* wait for the connect to finish */
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        if (poll(&pfd, 1, 5000) != 1) {
            fprintf(stderr, "redis_peer: connect %s:%d timed out\n", o->host, o->port);
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

/* "*5 XADD <key> * d <value>" in RESP; the value is the last `size` bytes
 * before the final CRLF, so a caller can stamp it in place. */
static char *format_xadd(const char *key, int64_t size, size_t *len, size_t *value_at)
{
    size_t klen = strlen(key);
    size_t cap = klen + (size_t)size + 128;
    char *cmd = malloc(cap);
    if (!cmd) abort();
    int n = snprintf(cmd, cap,
                     "*5\r\n$4\r\nXADD\r\n$%zu\r\n%s\r\n$1\r\n*\r\n$1\r\nd\r\n$%" PRId64 "\r\n",
                     klen, key, size);
    *value_at = (size_t)n;
    for (int64_t i = 0; i < size; i++)
        cmd[n + i] = (char)('a' + (i * 7) % 26);
    memcpy(cmd + n + size, "\r\n", 2);
    *len = (size_t)n + (size_t)size + 2;
    return cmd;
}

static bool reply_ok(redisReply *r, const char *what)
{
    if (!r) return false;
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis_peer: %s: %s\n", what, r->str);
        return false;
    }
    return true;
}

/* ---- produce ------------------------------------------------------------- */

/* Reads one pipelined XADD reply and counts the message if it succeeded. */
static bool take_xadd_reply(redisContext *c, worker *w, int64_t size)
{
    redisReply *r = NULL;
    bool ok = redisGetReply(c, (void **)&r) == REDIS_OK && reply_ok(r, "XADD");
    if (r) freeReplyObject(r);
    if (ok) {
        w->msgs++;
        w->bytes += size;
    }
    return ok;
}

static void *producer_main(void *arg)
{
    worker *w = arg;
    peer_run *run = w->run;
    const peer_opts *o = run->o;
    redisContext *c = connect_to(o, false);
    char **cmds = calloc((size_t)o->streams, sizeof(char *));
    size_t *lens = calloc((size_t)o->streams, sizeof(size_t));
    for (int s = 0; s < o->streams; s++) {
        char key[128];
        size_t at;
        snprintf(key, sizeof key, "%s-%d", o->prefix, s);
        cmds[s] = format_xadd(key, o->size, &lens[s], &at);
    }
    pthread_barrier_wait(&run->start);
    w->t_start_ns = sl_mono_ns();
    int64_t end_ns = o->duration_s > 0 ? w->t_start_ns + (int64_t)(o->duration_s * 1e9) : 0;
    int64_t inflight = 0;
    bool ok = c != NULL;
    for (int64_t i = 0; ok && (!w->quota || i < w->quota); i++) {
        if (end_ns && (i & 255) == 0 && sl_mono_ns() >= end_ns) break;
        int s = (int)((i + w->id) % o->streams);
        redisAppendFormattedCommand(c, cmds[s], lens[s]);
        inflight++;
        while (ok && inflight >= o->pipeline) {
            ok = take_xadd_reply(c, w, o->size);
            inflight--;
        }
    }
    while (ok && inflight > 0) {
        ok = take_xadd_reply(c, w, o->size);
        inflight--;
    }
    w->t_end_ns = sl_mono_ns();
    if (!ok) {
        if (c && c->err) fprintf(stderr, "redis_peer: produce: %s\n", c->errstr);
        atomic_store(&run->failed, 1);
    }
    for (int s = 0; s < o->streams; s++)
        free(cmds[s]);
    free(cmds);
    free(lens);
    if (c) redisFree(c);
    atomic_fetch_add(&run->producers_done, 1);
    return NULL;
}

/* ---- consume ------------------------------------------------------------- */

/* XREAD reply: [[key, [[id, [field, value, ...]], ...]], ...]. Counts the
 * entries, remembers the last id per stream, and for latency entries
 * records now - intended send time. */
static bool take_xread(worker *w, redisReply *r, const int *streams, char ids[][48], int n,
                       int64_t now)
{
    peer_run *run = w->run;
    if (r->type == REDIS_REPLY_NIL) return true;
    if (r->type != REDIS_REPLY_ARRAY) return false;
    for (size_t k = 0; k < r->elements; k++) {
        redisReply *sr = r->element[k];
        if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2) return false;
        int idx = -1;
        for (int j = 0; j < n; j++) {
            char key[128];
            snprintf(key, sizeof key, "%s-%d", run->o->prefix, streams[j]);
            if (strcmp(key, sr->element[0]->str) == 0) idx = j;
        }
        redisReply *entries = sr->element[1];
        if (idx < 0 || entries->type != REDIS_REPLY_ARRAY) return false;
        for (size_t e = 0; e < entries->elements; e++) {
            redisReply *ent = entries->element[e];
            if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2) return false;
            redisReply *fields = ent->element[1];
            size_t vlen = fields->elements >= 2 ? fields->element[1]->len : 0;
            snprintf(ids[idx], 48, "%s", ent->element[0]->str);
            if (w->lat) {
                const uint8_t *v = (const uint8_t *)fields->element[1]->str;
                if (vlen < PEER_HDR_BYTES || get_le(v, 4) != PEER_MAGIC) continue;
                if (get_le(v + 4, 4) & PEER_FLAG_WARMUP) {
                    if (!w->t_start_ns) {
                        w->t_start_ns = now;
                        atomic_fetch_add(&run->warm, 1);
                    }
                    continue;
                }
                sl_hdr_record(w->lat, now - (int64_t)get_le(v + 16, 8));
            }
            w->msgs++;
            w->bytes += (int64_t)vlen;
            w->t_end_ns = now;
            atomic_fetch_add(&run->consumed, 1);
        }
    }
    return true;
}

static bool consumer_finished(const worker *w)
{
    peer_run *run = w->run;
    const peer_opts *o = run->o;
    if (atomic_load(&run->failed)) return true;
    if (!strcmp(o->mode, "latency")) {
        return atomic_load(&run->producers_done) == o->producers &&
               atomic_load(&run->consumed) >= atomic_load(&run->planned);
    }
    return o->count && atomic_load(&run->consumed) >= o->count;
}

static void *consumer_main(void *arg)
{
    worker *w = arg;
    peer_run *run = w->run;
    const peer_opts *o = run->o;
    bool latency = !strcmp(o->mode, "latency");
    int *streams = calloc((size_t)o->streams + 1, sizeof(int));
    char(*ids)[48] = calloc((size_t)o->streams + 1, 48);
    int n = 0;
    for (int s = w->id; s < o->streams; s += o->consumers) {
        streams[n] = s;
        snprintf(ids[n], 48, "%s", latency ? "$" : "0-0");
        n++;
    }
    redisContext *c = n ? connect_to(o, false) : NULL;
    /* argv: XREAD COUNT c BLOCK ms STREAMS k1..kn id1..idn */
    int argc = 6 + 2 * n;
    const char **argv = calloc((size_t)argc, sizeof(char *));
    char(*keys)[128] = calloc((size_t)n + 1, 128);
    char count[32], block[32];
    snprintf(count, sizeof count, "%d", o->batch);
    snprintf(block, sizeof block, "%d", latency ? 10 : 100);
    for (int j = 0; j < n; j++)
        snprintf(keys[j], 128, "%s-%d", o->prefix, streams[j]);
    pthread_barrier_wait(&run->start);
    if (!latency) w->t_start_ns = sl_mono_ns();
    if (n == 0) {
        if (latency) atomic_fetch_add(&run->warm, 1);
        goto out;
    }
    if (!c) {
        atomic_store(&run->failed, 1);
        goto out;
    }
    int64_t last_ns = sl_mono_ns();
    while (!consumer_finished(w)) {
        argv[0] = "XREAD";
        argv[1] = "COUNT";
        argv[2] = count;
        argv[3] = "BLOCK";
        argv[4] = block;
        argv[5] = "STREAMS";
        for (int j = 0; j < n; j++) {
            argv[6 + j] = keys[j];
            argv[6 + n + j] = ids[j];
        }
        redisReply *r = redisCommandArgv(c, argc, argv, NULL);
        int64_t now = sl_mono_ns();
        if (!r || !reply_ok(r, "XREAD")) {
            if (!r) fprintf(stderr, "redis_peer: XREAD: %s\n", c->errstr);
            if (r) freeReplyObject(r);
            atomic_store(&run->failed, 1);
            break;
        }
        int64_t before = w->msgs;
        bool ok = take_xread(w, r, streams, ids, n, now);
        freeReplyObject(r);
        if (!ok) {
            fprintf(stderr, "redis_peer: unexpected XREAD reply shape\n");
            atomic_store(&run->failed, 1);
            break;
        }
        if (w->msgs != before) last_ns = now;
        bool producers_running = latency && atomic_load(&run->producers_done) < o->producers;
        if (!producers_running && now - last_ns > (int64_t)o->idle_ms * 1000000) {
            if (o->count || latency)
                fprintf(stderr, "redis_peer: consumer %d: no entry for %d ms, giving up\n", w->id,
                        o->idle_ms);
            break;
        }
    }
out:
    if (c) redisFree(c);
    free(streams);
    free(ids);
    free(argv);
    free(keys);
    return NULL;
}

/* ---- latency producer ---------------------------------------------------- */

/* Writes what is buffered and frees every reply already readable, without
 * blocking (the connection is non-blocking). */
static bool pump(redisContext *c, int64_t *inflight, bool wait)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) return false;
    for (;;) {
        void *r = NULL;
        if (redisGetReplyFromReader(c, &r) != REDIS_OK) return false;
        if (r) {
            bool ok = reply_ok(r, "XADD");
            freeReplyObject(r);
            if (!ok) return false;
            (*inflight)--;
            continue;
        }
        if (*inflight == 0) return true;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, wait ? 1000 : 0) != 1) return !wait;
        if (redisBufferRead(c) != REDIS_OK) return false;
    }
}

static void sleep_until(int64_t t_ns)
{
    while (sl_mono_ns() < t_ns) {
        struct timespec ts = {.tv_sec = t_ns / 1000000000, .tv_nsec = t_ns % 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

static void *latency_producer_main(void *arg)
{
    worker *w = arg;
    peer_run *run = w->run;
    const peer_opts *o = run->o;
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    redisContext *c = connect_to(o, true);
    char key[128];
    snprintf(key, sizeof key, "%s-0", o->prefix);
    size_t len, at;
    char *cmd = format_xadd(key, o->size, &len, &at);
    uint8_t *v = (uint8_t *)cmd + at;
    int64_t inflight = 0;
    bool ok = c != NULL;
    pthread_barrier_wait(&run->start);
    int64_t deadline = sl_mono_ns() + 10000000000LL;
    for (int64_t k = 0; ok && atomic_load(&run->warm) < o->consumers; k++) {
        put_le(v, PEER_MAGIC, 4);
        put_le(v + 4, PEER_FLAG_WARMUP, 4);
        put_le(v + 8, (uint64_t)k, 8);
        put_le(v + 16, (uint64_t)sl_mono_ns(), 8);
        redisAppendFormattedCommand(c, cmd, len);
        inflight++;
        ok = pump(c, &inflight, false);
        usleep(10000);
        if (sl_mono_ns() > deadline) {
            fprintf(stderr, "redis_peer: consumer saw no warm-up entry\n");
            ok = false;
        }
    }
    int64_t quota = w->quota ? w->quota : (int64_t)(o->duration_s * o->rate + 0.5);
    atomic_fetch_add(&run->planned, quota);
    w->t_start_ns = sl_mono_ns();
    int64_t t0 = w->t_start_ns + 1000000;
    int64_t i = 0;
    for (; ok && i < quota; i++) {
        int64_t intended = t0 + (int64_t)((double)i * 1e9 / o->rate);
        sleep_until(intended);
        int64_t behind = sl_mono_ns() - intended;
        if (behind > w->max_behind_ns) w->max_behind_ns = behind;
        put_le(v, PEER_MAGIC, 4);
        put_le(v + 4, 0, 4);
        put_le(v + 8, (uint64_t)i, 8);
        put_le(v + 16, (uint64_t)intended, 8);
        redisAppendFormattedCommand(c, cmd, len);
        inflight++;
        ok = pump(c, &inflight, false);
        w->msgs++;
    }
    while (ok && inflight > 0)
        ok = pump(c, &inflight, true);
    if (i < quota) atomic_fetch_sub(&run->planned, quota - i);
    if (!ok) atomic_store(&run->failed, 1);
    w->t_end_ns = sl_mono_ns();
    free(cmd);
    if (c) redisFree(c);
    atomic_fetch_add(&run->producers_done, 1);
    return NULL;
}

/* ---- main ---------------------------------------------------------------- */

static int usage(void)
{
    fputs("usage: bench_redis_peer produce|consume|latency --port P [--host H]\n"
          "  [--prefix NAME] [--streams S] [--producers K] [--consumers K] [--size B]\n"
          "  [--count N] [--duration SEC] [--rate R] [--pipeline D] [--batch C]\n"
          "  [--idle-ms MS]\n",
          stderr);
    return 2;
}

static bool parse_args(int argc, char **argv, peer_opts *o)
{
    *o = (peer_opts){.host = "127.0.0.1",
                     .prefix = "perf",
                     .streams = 1,
                     .producers = 1,
                     .consumers = 1,
                     .size = 100,
                     .pipeline = 1000,
                     .batch = 10000,
                     .idle_ms = 10000,
                     .rate = 10000};
    if (argc < 2) return false;
    o->mode = argv[1];
    if (strcmp(o->mode, "produce") && strcmp(o->mode, "consume") && strcmp(o->mode, "latency"))
        return false;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        char *end;
        double d = strtod(v, &end);
        bool num = *v && !*end;
        if (!strcmp(k, "--host"))
            o->host = v;
        else if (!strcmp(k, "--prefix"))
            o->prefix = v;
        else if (!num || d < 0)
            return false;
        else if (!strcmp(k, "--port"))
            o->port = (int)d;
        else if (!strcmp(k, "--streams"))
            o->streams = (int)d;
        else if (!strcmp(k, "--producers"))
            o->producers = (int)d;
        else if (!strcmp(k, "--consumers"))
            o->consumers = (int)d;
        else if (!strcmp(k, "--size"))
            o->size = (int64_t)d;
        else if (!strcmp(k, "--count"))
            o->count = (int64_t)d;
        else if (!strcmp(k, "--duration"))
            o->duration_s = d;
        else if (!strcmp(k, "--rate"))
            o->rate = d;
        else if (!strcmp(k, "--pipeline"))
            o->pipeline = (int)d;
        else if (!strcmp(k, "--batch"))
            o->batch = (int)d;
        else if (!strcmp(k, "--idle-ms"))
            o->idle_ms = (int)d;
        else
            return false;
    }
    if (argc % 2) return false; /* an option without its value */
    if (o->port <= 0 || o->streams < 1 || o->producers < 1 || o->consumers < 1 || o->pipeline < 1 ||
        o->batch < 1 || o->size > (64 << 20))
        return false;
    if (!strcmp(o->mode, "latency")) {
        if (o->size < PEER_HDR_BYTES || o->rate <= 0) return false;
        if (!o->count && o->duration_s == 0) o->duration_s = 10;
        o->streams = 1;
        o->producers = 1;
        o->consumers = 1;
    }
    if (!strcmp(o->mode, "produce") && !o->count && o->duration_s == 0) o->count = 1000000;
    return true;
}

int main(int argc, char **argv)
{
    peer_opts o;
    if (!parse_args(argc, argv, &o)) return usage();
    peer_run run = {.o = &o};
    run.wall_minus_mono_ns = sl_wall_ns() - sl_mono_ns();
    bool lat = !strcmp(o.mode, "latency");
    int np = !strcmp(o.mode, "consume") ? 0 : o.producers;
    int nc = !strcmp(o.mode, "produce") ? 0 : o.consumers;
    worker *ws = calloc((size_t)(np + nc), sizeof *ws);
    pthread_barrier_init(&run.start, NULL, (unsigned)(np + nc));
    double cpu0 = sl_cpu_seconds();
    for (int i = 0; i < np + nc; i++) {
        worker *w = &ws[i];
        w->run = &run;
        w->id = i < np ? i : i - np;
        if (i < np && o.count) w->quota = o.count / np + (w->id < o.count % np ? 1 : 0);
        if (i >= np && lat) w->lat = sl_hdr_new(LAT_HIGHEST_NS, 3);
        void *(*fn)(void *) = i >= np ? consumer_main : lat ? latency_producer_main : producer_main;
        if (pthread_create(&w->th, NULL, fn, w) != 0) abort();
    }
    for (int i = 0; i < np + nc; i++)
        pthread_join(ws[i].th, NULL);
    double cpu_s = sl_cpu_seconds() - cpu0;
    int64_t msgs = 0, bytes = 0, t0 = INT64_MAX, t1 = 0, behind = 0;
    /* produce reports its producers, consume (and latency) its consumers */
    worker *first = np && !lat ? ws : ws + np;
    int nreport = np && !lat ? np : nc;
    for (int i = 0; i < nreport; i++) {
        worker *w = &first[i];
        msgs += w->msgs;
        bytes += w->bytes;
        if (w->t_start_ns && w->t_start_ns < t0) t0 = w->t_start_ns;
        if (w->t_end_ns > t1) t1 = w->t_end_ns;
    }
    for (int i = 0; i < np; i++)
        if (ws[i].max_behind_ns > behind) behind = ws[i].max_behind_ns;
    if (t0 == INT64_MAX || t1 < t0) t0 = t1;
    double secs = (double)(t1 - t0) / 1e9;
    int rc = atomic_load(&run.failed) ? 1 : 0;
    if (lat) {
        sl_hdr *h = ws[np].lat;
        int64_t planned = atomic_load(&run.planned);
        printf("{\"mode\":\"latency\",\"size\":%" PRId64 ",\"rate\":%.1f,\"planned\":%" PRId64
               ",\"sent\":%" PRId64 ",\"received\":%" PRId64 ",\"lost\":%" PRId64,
               o.size, o.rate, planned, ws[0].msgs, sl_hdr_count(h), planned - sl_hdr_count(h));
        const double ps[] = {50, 90, 99, 99.9, 99.99};
        const char *pk[] = {"p50", "p90", "p99", "p99_9", "p99_99"};
        for (int i = 0; i < 5; i++)
            printf(",\"%s_us\":%.1f", pk[i], (double)sl_hdr_percentile(h, ps[i]) / 1e3);
        printf(",\"min_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"producer_max_behind_us\":%.1f,"
               "\"client_cpu_s\":%.3f}\n",
               (double)sl_hdr_min(h) / 1e3, (double)sl_hdr_max(h) / 1e3, sl_hdr_mean(h) / 1e3,
               (double)behind / 1e3, cpu_s);
        if (planned != sl_hdr_count(h)) rc = 1;
    } else {
        printf("{\"mode\":\"%s\",\"streams\":%d,\"instances\":%d,\"size\":%" PRId64
               ",\"messages\":%" PRId64 ",\"bytes\":%" PRId64 ",\"seconds\":%.6f,"
               "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"t_start\":%.6f,\"t_end\":%.6f,"
               "\"client_cpu_s\":%.3f}\n",
               o.mode, o.streams, nreport, o.size, msgs, bytes, secs,
               secs > 0 ? (double)msgs / secs : 0.0, secs > 0 ? (double)bytes / secs / 1e6 : 0.0,
               (double)(t0 + run.wall_minus_mono_ns) / 1e9,
               (double)(t1 + run.wall_minus_mono_ns) / 1e9, cpu_s);
        if (o.count && msgs < o.count) rc = 1;
    }
    for (int i = 0; i < np + nc; i++)
        if (ws[i].lat) sl_hdr_free(ws[i].lat);
    pthread_barrier_destroy(&run.start);
    free(ws);
    return rc;
}
