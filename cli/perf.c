/* sluice perf: load generator (see perf.h).
 *
 * Threads: the calling thread parses options, creates the topic, starts one
 * thread per producer/consumer instance and joins them. Each instance owns
 * its rd_kafka_t and serves its own callbacks (delivery reports are counted
 * on the producing thread inside rd_kafka_poll/produce). The only shared
 * state is `perf_run`: atomics for cross-thread stop conditions, written
 * from several threads, and read-only options.
 *
 * Latency payload (little-endian, at the start of every message value,
 * the rest is filler):
 *   0   u32  magic 0x46504c53 ("SLPF")
 *   4   u32  flags: 1 = warm-up message, not measured
 *   8   u64  sequence number within its producer
 *   16  i64  intended send time, CLOCK_MONOTONIC ns (same process as the
 *            consumer, so the clocks agree)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "base/clock.h"
#include "base/mem.h"
#include "hdr.h"
#include "perf.h"

#define PERF_MAGIC        0x46504c53u
#define PERF_HDR_BYTES    24
#define PERF_FLAG_WARMUP  1u
#define LAT_HIGHEST_NS    (60LL * 1000 * 1000 * 1000)
#define CONSUME_BATCH     1024
#define DEFAULT_BOOTSTRAP "127.0.0.1:9092"

enum perf_mode { MODE_PRODUCE, MODE_CONSUME, MODE_LATENCY };

typedef struct perf_opts {
    enum perf_mode mode;
    const char *bootstrap;
    const char *topic;
    const char *group;       /* consume with subscribe() in this group */
    const char *acks;        /* "0", "1", "all" */
    const char *compression; /* NULL: client default */
    int partitions;          /* create the topic with this many if missing */
    int partition;           /* -1: librdkafka's partitioner */
    int64_t size;
    int64_t count; /* 0: mode default */
    double duration_s;
    double rate; /* msgs/s over all producers; 0 = unlimited */
    int linger_ms;
    int64_t batch_size;
    int producers, consumers;
    bool from_end;
    bool json;
    bool histogram;
    int timeout_ms;
    int idle_ms;
    const char **props; /* -X key=value */
    int nprops;
} perf_opts;

/* Shared by every thread of one run. */
typedef struct perf_run {
    const perf_opts *o;
    pthread_barrier_t start;
    int32_t npartitions;
    int64_t consume_target;     /* 0: until end of partitions / duration */
    _Atomic int64_t consumed;   /* over all consumers */
    _Atomic int64_t planned;    /* latency: messages the producers will send */
    _Atomic int producers_done; /* latency: producers finished sending */
    _Atomic int consumers_warm; /* latency: consumers that saw a warm-up */
    _Atomic int abort_run;      /* fatal error somewhere */
    int64_t wall_minus_mono_ns; /* converts thread timestamps for JSON */
} perf_run;

typedef struct producer {
    perf_run *run;
    int id;
    pthread_t th;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int64_t quota; /* messages to send; 0 with a duration */
    double rate;   /* this instance's share; 0 = unlimited */
    int64_t sent, acked, failed, bytes_acked;
    int64_t t_start_ns, t_end_ns;
    int64_t max_behind_ns;
    rd_kafka_resp_err_t last_err;
    char *payload;
} producer;

typedef struct consumer {
    perf_run *run;
    int id;
    pthread_t th;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_topic_t *rkt; /* without a group: the legacy per-partition API */
    int32_t *parts;        /* partitions read without a group */
    int nparts;
    bool *eof; /* per partition of the topic; NULL with a group */
    int eof_left;
    int64_t msgs, bytes, errors;
    int64_t t_start_ns, t_first_ns, t_last_ns;
    sl_hdr *lat;     /* latency mode */
    int64_t foreign; /* latency mode: messages without our header */
} consumer;

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Sleeps until CLOCK_MONOTONIC reaches `t_ns`, serving the client's
 * callbacks during long waits. No spinning: on a small machine a spinning
 * load generator steals the core the broker needs; a late wake-up is not
 * hidden anyway, since latency counts from the intended time. */
static void wait_until(rd_kafka_t *rk, int64_t t_ns)
{
    for (;;) {
        int64_t left = t_ns - sl_mono_ns();
        if (left <= 0) return;
        if (left > 2000000) {
            rd_kafka_poll(rk, 1);
        } else {
            struct timespec ts = {.tv_sec = t_ns / 1000000000, .tv_nsec = t_ns % 1000000000};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
    }
}

/* ---- options ------------------------------------------------------------- */

static const char perf_help[] =
    "Usage: sluice perf produce|consume|latency [OPTIONS]\n"
    "\n"
    "Load generator for Kafka-protocol brokers (librdkafka).\n"
    "  produce   send --count messages (or for --duration) and report msgs/s, MB/s\n"
    "  consume   read the topic from the beginning (or --from end) and report msgs/s, MB/s\n"
    "  latency   produce at a fixed --rate and consume the same topic; report end-to-end\n"
    "            latency percentiles measured from each message's intended send time\n"
    "\n"
    "Options:\n"
    "  --bootstrap HOST:PORT   broker (default $SLUICE_BOOTSTRAP or " DEFAULT_BOOTSTRAP ")\n"
    "  --topic NAME            topic (default sluice-perf)\n"
    "  --partitions N          create the topic with N partitions if it does not exist\n"
    "                          (default 1; consume creates it only for N > 1; an\n"
    "                          existing topic keeps its partitions)\n"
    "  --partition N           produce to this partition only (default: partitioner)\n"
    "  --size BYTES            message value size (default 100; latency needs >= 24)\n"
    "  --count N               messages in total over all instances (produce default\n"
    "                          1000000; consume default: everything up to the end)\n"
    "  --duration SECONDS      run this long instead (latency default 10)\n"
    "  --rate MSGS_PER_S       total send rate, 0 = unlimited (latency default 10000)\n"
    "  --acks 0|1|all          producer acks (default 1)\n"
    "  --linger-ms MS          producer linger.ms (default: librdkafka's; latency 0)\n"
    "  --batch-size BYTES      producer batch.size\n"
    "  --compression CODEC     none, gzip, snappy, lz4 or zstd\n"
    "  --producers N           producer instances, each a thread with its own client\n"
    "  --consumers N           consumer instances; partitions are split between them\n"
    "  --group ID              consume by subscribing in this group (default: assign)\n"
    "  --from beginning|end    where consumers start (default beginning; latency end)\n"
    "  --idle-ms MS            consumers give up after this long without a message\n"
    "                          (default 10000)\n"
    "  --timeout-ms MS         wait this long for the broker and topic (default 10000)\n"
    "  --histogram             latency: print every histogram bucket\n"
    "  -X KEY=VALUE            librdkafka property for every client (repeatable)\n"
    "  --json                  print one JSON object instead of the summary\n"
    "\n"
    "MB/s counts message values only, MB = 10^6 bytes.\n"
    "Exit status: 0 ok, 1 messages failed or went missing, 2 usage error.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sluice perf: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see sluice perf --help)\n", stderr);
    va_end(ap);
    return 2;
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

/* Returns 0, 2 for a usage error, or -1 when help was printed. */
static int parse_opts(int argc, char **argv, perf_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bootstrap = getenv("SLUICE_BOOTSTRAP");
    if (!o->bootstrap || !*o->bootstrap) o->bootstrap = DEFAULT_BOOTSTRAP;
    o->topic = "sluice-perf";
    o->acks = "1";
    o->partitions = 1;
    o->partition = -1;
    o->size = 100;
    o->linger_ms = -1;
    o->batch_size = -1;
    o->producers = 1;
    o->consumers = 1;
    o->timeout_ms = 10000;
    o->idle_ms = 10000;
    o->rate = -1;
    o->props = sl_calloc((size_t)argc + 1, sizeof(char *));
    int i = 1;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(perf_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : -1;
    }
    if (strcmp(argv[1], "produce") == 0)
        o->mode = MODE_PRODUCE;
    else if (strcmp(argv[1], "consume") == 0)
        o->mode = MODE_CONSUME;
    else if (strcmp(argv[1], "latency") == 0)
        o->mode = MODE_LATENCY;
    else
        return usage_error("unknown mode '%s' (produce, consume or latency)", argv[1]);
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        char name[64];
        const char *val = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(perf_help, stdout);
            return -1;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "--histogram") == 0) {
            o->histogram = true;
            continue;
        }
        if (strncmp(a, "-X", 2) == 0) {
            val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val || !strchr(val, '=') || val[0] == '=')
                return usage_error("-X needs KEY=VALUE, got '%s'", val ? val : "");
            o->props[o->nprops++] = val;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) return usage_error("unexpected argument '%s'", a);
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (n >= sizeof name) return usage_error("unknown option '%s'", a);
        memcpy(name, a, n);
        name[n] = '\0';
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return usage_error("option '%s' needs a value", a);
        }
        int64_t v;
        double d;
        if (strcmp(name, "--bootstrap") == 0) {
            o->bootstrap = val;
        } else if (strcmp(name, "--topic") == 0) {
            if (!*val) return usage_error("empty topic name");
            o->topic = val;
        } else if (strcmp(name, "--group") == 0) {
            o->group = val;
        } else if (strcmp(name, "--acks") == 0) {
            if (strcmp(val, "0") && strcmp(val, "1") && strcmp(val, "all") && strcmp(val, "-1"))
                return usage_error("--acks must be 0, 1 or all, got '%s'", val);
            o->acks = strcmp(val, "-1") == 0 ? "all" : val;
        } else if (strcmp(name, "--compression") == 0) {
            o->compression = val;
        } else if (strcmp(name, "--from") == 0) {
            if (strcmp(val, "beginning") && strcmp(val, "end"))
                return usage_error("--from must be beginning or end, got '%s'", val);
            o->from_end = strcmp(val, "end") == 0;
        } else if (strcmp(name, "--partitions") == 0) {
            if (!parse_i64(val, 1, 100000, &v)) return usage_error("bad --partitions '%s'", val);
            o->partitions = (int)v;
        } else if (strcmp(name, "--partition") == 0) {
            if (!parse_i64(val, 0, 100000, &v)) return usage_error("bad --partition '%s'", val);
            o->partition = (int)v;
        } else if (strcmp(name, "--size") == 0) {
            if (!parse_i64(val, 0, 64 << 20, &v)) return usage_error("bad --size '%s'", val);
            o->size = v;
        } else if (strcmp(name, "--count") == 0) {
            if (!parse_i64(val, 1, INT64_MAX / 2, &v)) return usage_error("bad --count '%s'", val);
            o->count = v;
        } else if (strcmp(name, "--duration") == 0) {
            if (!parse_double(val, 0.001, 1e7, &d)) return usage_error("bad --duration '%s'", val);
            o->duration_s = d;
        } else if (strcmp(name, "--rate") == 0) {
            if (!parse_double(val, 0, 1e9, &d)) return usage_error("bad --rate '%s'", val);
            o->rate = d;
        } else if (strcmp(name, "--linger-ms") == 0) {
            if (!parse_i64(val, 0, 900000, &v)) return usage_error("bad --linger-ms '%s'", val);
            o->linger_ms = (int)v;
        } else if (strcmp(name, "--batch-size") == 0) {
            if (!parse_i64(val, 1, 1 << 30, &v)) return usage_error("bad --batch-size '%s'", val);
            o->batch_size = v;
        } else if (strcmp(name, "--producers") == 0) {
            if (!parse_i64(val, 1, 256, &v)) return usage_error("bad --producers '%s'", val);
            o->producers = (int)v;
        } else if (strcmp(name, "--consumers") == 0) {
            if (!parse_i64(val, 1, 256, &v)) return usage_error("bad --consumers '%s'", val);
            o->consumers = (int)v;
        } else if (strcmp(name, "--timeout-ms") == 0) {
            if (!parse_i64(val, 1, 3600000, &v)) return usage_error("bad --timeout-ms '%s'", val);
            o->timeout_ms = (int)v;
        } else if (strcmp(name, "--idle-ms") == 0) {
            if (!parse_i64(val, 1, 3600000, &v)) return usage_error("bad --idle-ms '%s'", val);
            o->idle_ms = (int)v;
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (o->mode == MODE_LATENCY) {
        if (o->rate < 0) o->rate = 10000;
        if (o->rate == 0) return usage_error("latency needs a --rate above 0");
        if (o->size < PERF_HDR_BYTES)
            return usage_error("latency needs --size >= 24 (the timestamp header)");
        if (!o->count && o->duration_s == 0) o->duration_s = 10;
        if (o->linger_ms < 0) o->linger_ms = 0;
        o->from_end = true;
    }
    if (o->rate < 0) o->rate = 0;
    if (o->mode == MODE_PRODUCE && !o->count && o->duration_s == 0) o->count = 1000000;
    if (o->partition >= 0 && o->partition >= o->partitions && o->partitions > 1)
        return usage_error("--partition is outside --partitions");
    return 0;
}

/* ---- clients ------------------------------------------------------------- */

static bool conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "sluice perf: %s\n", err);
        return false;
    }
    return true;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    perf_run *run = opaque ? *(perf_run **)opaque : NULL;
    fprintf(stderr, "sluice perf: %s: %s\n", rd_kafka_err2name(err), reason);
    if (run && (err == RD_KAFKA_RESP_ERR__FATAL || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN))
        atomic_store(&run->abort_run, 1);
}

/* Base configuration: bootstrap, quiet connection closes, then -X. The
 * opaque must start with a perf_run pointer (error callback). */
static rd_kafka_conf_t *base_conf(const perf_opts *o, void *opaque, bool opaque_is_client)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bool ok = conf_set(conf, "bootstrap.servers", o->bootstrap) &&
              conf_set(conf, "log.connection.close", "false");
    /* the topic-setup client gets every -X too: keep its warnings about
     * consumer-only properties quiet */
    if (ok && !opaque_is_client) ok = conf_set(conf, "log_level", "3");
    if (ok && o->mode == MODE_LATENCY) ok = conf_set(conf, "socket.nagle.disable", "true");
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, opaque);
    for (int i = 0; ok && i < o->nprops; i++) {
        char key[256];
        const char *eq = strchr(o->props[i], '=');
        size_t n = (size_t)(eq - o->props[i]);
        if (n >= sizeof key) n = sizeof key - 1;
        memcpy(key, o->props[i], n);
        key[n] = '\0';
        ok = conf_set(conf, key, eq + 1);
    }
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "sluice perf: cannot create client: %s\n", err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Creates the topic if missing, then waits until metadata shows it with a
 * leader for every partition. Returns its partition count or -1. */
static int prepare_topic(const perf_opts *o, perf_run *run)
{
    perf_run *self = run;
    rd_kafka_conf_t *conf = base_conf(o, &self, false);
    if (!conf) return -1;
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    if (!rk) return -1;
    int result = -1;
    int64_t deadline = sl_mono_ns() + (int64_t)o->timeout_ms * 1000000;

    if (o->mode != MODE_CONSUME || o->partitions > 1) {
        char err[256];
        rd_kafka_NewTopic_t *nt =
            rd_kafka_NewTopic_new(o->topic, o->partitions, 1, err, sizeof err);
        if (!nt) {
            fprintf(stderr, "sluice perf: %s\n", err);
            goto out;
        }
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(ao, o->timeout_ms, err, sizeof err);
        rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, o->timeout_ms + 1000);
        bool ok = false;
        if (!ev) {
            fprintf(stderr, "sluice perf: no answer to CreateTopics from %s\n", o->bootstrap);
        } else if (rd_kafka_event_error(ev)) {
            fprintf(stderr, "sluice perf: CreateTopics: %s\n", rd_kafka_event_error_string(ev));
        } else {
            size_t n;
            const rd_kafka_topic_result_t **tr =
                rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
            ok = true;
            for (size_t i = 0; i < n; i++) {
                rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
                if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    fprintf(stderr, "sluice perf: cannot create topic %s: %s\n", o->topic,
                            rd_kafka_topic_result_error_string(tr[i]));
                    ok = false;
                }
            }
        }
        if (ev) rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(ao);
        rd_kafka_NewTopic_destroy(nt);
        rd_kafka_queue_destroy(q);
        if (!ok) goto out;
    }

    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    while (sl_mono_ns() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        int left_ms = (int)((deadline - sl_mono_ns()) / 1000000);
        if (left_ms < 1) left_ms = 1;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, left_ms);
        if (!e && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
            bool leaders = true;
            for (int p = 0; p < md->topics[0].partition_cnt; p++)
                if (md->topics[0].partitions[p].leader < 0) leaders = false;
            if (leaders) result = md->topics[0].partition_cnt;
        }
        if (md) rd_kafka_metadata_destroy(md);
        if (result > 0) break;
        usleep(50000);
    }
    rd_kafka_topic_destroy(rkt);
    if (result < 0)
        fprintf(stderr, "sluice perf: topic %s not available on %s within %d ms\n", o->topic,
                o->bootstrap, o->timeout_ms);
out:
    rd_kafka_destroy(rk);
    return result;
}

/* Connects and learns the partition leaders before the clock starts, so a
 * run measures streaming, not connection setup (a consumer started before
 * it knows the leader also waits out a 500 ms offset-query backoff). */
static int warm_metadata(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (md) rd_kafka_metadata_destroy(md);
    if (e) {
        fprintf(stderr, "sluice perf: metadata: %s\n", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* ---- producers ----------------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    producer *p = opaque;
    if (m->err) {
        p->failed++;
        p->last_err = m->err;
    } else {
        p->acked++;
        p->bytes_acked += (int64_t)m->len;
    }
}

static int producer_setup(producer *p)
{
    const perf_opts *o = p->run->o;
    rd_kafka_conf_t *conf = base_conf(o, p, true);
    if (!conf) return -1;
    char num[32];
    bool ok = conf_set(conf, "acks", o->acks);
    if (ok && o->linger_ms >= 0) {
        snprintf(num, sizeof num, "%d", o->linger_ms);
        ok = conf_set(conf, "linger.ms", num);
    }
    if (ok && o->batch_size > 0) {
        snprintf(num, sizeof num, "%" PRId64, o->batch_size);
        ok = conf_set(conf, "batch.size", num);
    }
    if (ok && o->compression) ok = conf_set(conf, "compression.codec", o->compression);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    p->rk = new_client(RD_KAFKA_PRODUCER, conf);
    if (!p->rk) return -1;
    p->rkt = rd_kafka_topic_new(p->rk, o->topic, NULL);
    if (warm_metadata(p->rk, p->rkt, o->timeout_ms) < 0) return -1;
    p->payload = sl_malloc((size_t)o->size + 1);
    /* Varied, mildly compressible filler like a text log line. */
    for (int64_t i = 0; i < o->size; i++)
        p->payload[i] = (char)('a' + (i * 7 + p->id) % 26);
    return 0;
}

static int32_t pick_partition(const producer *p, int64_t i)
{
    const perf_opts *o = p->run->o;
    if (o->partition >= 0) return o->partition;
    if (o->mode == MODE_LATENCY && p->run->npartitions > 1)
        return (int32_t)((i + p->id) % p->run->npartitions);
    return RD_KAFKA_PARTITION_UA;
}

/* Enqueues one message; waits for queue space. `copy` for per-message
 * payloads (latency), otherwise the shared buffer is referenced. */
static int produce_one(producer *p, int32_t partition, bool copy)
{
    const perf_opts *o = p->run->o;
    for (;;) {
        if (rd_kafka_produce(p->rkt, partition, copy ? RD_KAFKA_MSG_F_COPY : 0, p->payload,
                             (size_t)o->size, NULL, 0, NULL) == 0) {
            p->sent++;
            return 0;
        }
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "sluice perf: produce: %s\n", rd_kafka_err2str(e));
            p->last_err = e;
            return -1;
        }
        rd_kafka_poll(p->rk, 1);
        if (atomic_load(&p->run->abort_run)) return -1;
    }
}

static void stamp(producer *p, uint32_t flags, uint64_t seq, int64_t intended_ns)
{
    uint8_t *b = (uint8_t *)p->payload;
    put_u32(b, PERF_MAGIC);
    put_u32(b + 4, flags);
    put_u64(b + 8, seq);
    put_u64(b + 16, (uint64_t)intended_ns);
}

/* Latency: send warm-up messages until every consumer has seen one, so
 * connection setup and assignment are not measured. */
static int latency_warmup(producer *p)
{
    perf_run *run = p->run;
    int64_t deadline = sl_mono_ns() + (int64_t)run->o->timeout_ms * 1000000;
    for (int64_t k = 0; atomic_load(&run->consumers_warm) < run->o->consumers; k++) {
        if (sl_mono_ns() > deadline || atomic_load(&run->abort_run)) {
            fprintf(stderr, "sluice perf: consumers saw no warm-up message within %d ms\n",
                    run->o->timeout_ms);
            return -1;
        }
        stamp(p, PERF_FLAG_WARMUP, (uint64_t)k, sl_mono_ns());
        int32_t part =
            run->npartitions > 1 ? (int32_t)(k % run->npartitions) : pick_partition(p, k);
        if (produce_one(p, part, true) < 0) return -1;
        rd_kafka_poll(p->rk, 20);
    }
    return 0;
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    perf_run *run = p->run;
    const perf_opts *o = run->o;
    bool latency = o->mode == MODE_LATENCY;
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    pthread_barrier_wait(&run->start);
    if (latency) {
        if (latency_warmup(p) < 0) {
            atomic_store(&run->abort_run, 1);
            atomic_fetch_add(&run->producers_done, 1);
            return NULL;
        }
        p->sent = 0; /* warm-up messages are not part of the run */
    }
    p->t_start_ns = sl_mono_ns();
    int64_t end_ns = o->duration_s > 0 ? p->t_start_ns + (int64_t)(o->duration_s * 1e9) : 0;
    int64_t quota = p->quota;
    if (latency) {
        /* a duration fixes the message count up front: the schedule is
         * rate * duration messages whatever the producer manages */
        if (!quota) quota = (int64_t)(o->duration_s * p->rate + 0.5);
        atomic_fetch_add(&run->planned, quota);
        end_ns = 0;
    }
    int64_t t0 = p->t_start_ns + 1000000; /* first intended send 1 ms ahead */
    for (int64_t i = 0; !quota || i < quota; i++) {
        int64_t intended = 0;
        if (p->rate > 0) {
            intended = t0 + (int64_t)((double)i * 1e9 / p->rate);
            if (end_ns && intended >= end_ns) break;
            wait_until(p->rk, intended);
        } else if (end_ns && (i & 255) == 0 && sl_mono_ns() >= end_ns) {
            break;
        }
        if (latency) {
            int64_t now = sl_mono_ns();
            if (now - intended > p->max_behind_ns) p->max_behind_ns = now - intended;
            stamp(p, 0, (uint64_t)i, intended);
        }
        if (produce_one(p, pick_partition(p, i), latency) < 0) {
            atomic_store(&run->abort_run, 1);
            break;
        }
        if (latency || (i & 1023) == 0) rd_kafka_poll(p->rk, 0);
        if ((i & 4095) == 0 && atomic_load(&run->abort_run)) break;
    }
    if (latency && p->sent < quota) /* never sent (aborted): not missing either */
        atomic_fetch_sub(&run->planned, quota - p->sent);
    rd_kafka_flush(p->rk, 60000);
    while (rd_kafka_outq_len(p->rk) > 0 && !atomic_load(&run->abort_run))
        rd_kafka_poll(p->rk, 100);
    p->t_end_ns = sl_mono_ns();
    atomic_fetch_add(&run->producers_done, 1);
    return NULL;
}

/* ---- consumers ----------------------------------------------------------- */

static int consumer_setup(consumer *c)
{
    perf_run *run = c->run;
    const perf_opts *o = run->o;
    rd_kafka_conf_t *conf = base_conf(o, c, true);
    if (!conf) return -1;
    /* Without --group no group is involved at all (no coordinator lookup,
     * which on a fresh broker would create __consumer_offsets mid-run):
     * partitions are read with the per-partition API into one queue. */
    bool ok = conf_set(conf, "enable.partition.eof", "true") &&
              conf_set(conf, "auto.offset.reset", o->from_end ? "latest" : "earliest");
    if (ok && o->group)
        ok = conf_set(conf, "group.id", o->group) && conf_set(conf, "enable.auto.commit", "false");
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    c->rk = new_client(RD_KAFKA_CONSUMER, conf);
    if (!c->rk) return -1;
    if (o->group) {
        rd_kafka_poll_set_consumer(c->rk);
        c->q = rd_kafka_queue_get_consumer(c->rk);
    } else {
        c->q = rd_kafka_queue_new(c->rk);
        c->rkt = rd_kafka_topic_new(c->rk, o->topic, NULL);
        if (warm_metadata(c->rk, c->rkt, o->timeout_ms) < 0) return -1;
        c->parts = sl_calloc((size_t)run->npartitions + 1, sizeof(int32_t));
        for (int32_t p = c->id; p < run->npartitions; p += o->consumers)
            c->parts[c->nparts++] = p;
        c->eof = sl_calloc((size_t)run->npartitions + 1, sizeof(bool));
        c->eof_left = c->nparts;
    }
    if (o->mode == MODE_LATENCY) c->lat = sl_hdr_new(LAT_HIGHEST_NS, 3);
    return 0;
}

static bool consumer_done(consumer *c, int64_t now)
{
    perf_run *run = c->run;
    const perf_opts *o = run->o;
    if (atomic_load(&run->abort_run)) return true;
    if (o->mode == MODE_LATENCY) {
        if (atomic_load(&run->producers_done) < o->producers) return false;
        return atomic_load(&run->consumed) >= atomic_load(&run->planned);
    }
    if (run->consume_target && atomic_load(&run->consumed) >= run->consume_target) return true;
    if (o->duration_s > 0 && now - c->t_start_ns >= (int64_t)(o->duration_s * 1e9)) return true;
    if (!run->consume_target && o->duration_s == 0 && c->eof && c->eof_left == 0) return true;
    return false;
}

static void consume_message(consumer *c, const rd_kafka_message_t *m, int64_t now)
{
    perf_run *run = c->run;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (c->eof && m->partition >= 0 && m->partition < run->npartitions &&
            !c->eof[m->partition]) {
            c->eof[m->partition] = true;
            c->eof_left--;
        }
        return;
    }
    if (m->err) {
        c->errors++;
        fprintf(stderr, "sluice perf: consume: %s\n", rd_kafka_message_errstr(m));
        return;
    }
    if (c->eof && m->partition >= 0 && m->partition < run->npartitions && c->eof[m->partition]) {
        c->eof[m->partition] = false;
        c->eof_left++;
    }
    if (c->lat) {
        const uint8_t *b = m->payload;
        if (m->len < PERF_HDR_BYTES || get_u32(b) != PERF_MAGIC) {
            c->foreign++;
            return;
        }
        if (get_u32(b + 4) & PERF_FLAG_WARMUP) {
            if (!c->msgs && !c->t_first_ns) {
                c->t_first_ns = now; /* marks "warm" once */
                atomic_fetch_add(&run->consumers_warm, 1);
            }
            return;
        }
        sl_hdr_record(c->lat, now - (int64_t)get_u64(b + 16));
    }
    if (!c->msgs && !c->lat) c->t_first_ns = now;
    c->msgs++;
    c->bytes += (int64_t)m->len;
    c->t_last_ns = now;
}

static void *consumer_main(void *arg)
{
    consumer *c = arg;
    perf_run *run = c->run;
    const perf_opts *o = run->o;
    rd_kafka_message_t *batch[CONSUME_BATCH];
    pthread_barrier_wait(&run->start);
    c->t_start_ns = sl_mono_ns();
    if (c->rkt) {
        int64_t start = o->from_end ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
        for (int i = 0; i < c->nparts; i++) {
            if (rd_kafka_consume_start_queue(c->rkt, c->parts[i], start, c->q) < 0) {
                fprintf(stderr, "sluice perf: consume partition %d: %s\n", c->parts[i],
                        rd_kafka_err2str(rd_kafka_last_error()));
                atomic_store(&run->abort_run, 1);
                return NULL;
            }
        }
        if (c->nparts == 0) {
            /* more consumers than partitions: nothing to read */
            if (o->mode == MODE_LATENCY) atomic_fetch_add(&run->consumers_warm, 1);
            return NULL;
        }
    } else {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (e) {
            fprintf(stderr, "sluice perf: subscribe: %s\n", rd_kafka_err2str(e));
            atomic_store(&run->abort_run, 1);
            return NULL;
        }
    }
    rd_kafka_queue_t *q = c->q;
    int64_t last_msg_ns = sl_mono_ns();
    int64_t idle_ns = (int64_t)o->idle_ms * 1000000;
    for (;;) {
        int64_t now;
        if (o->mode == MODE_LATENCY) {
            /* one message at a time: a batch call may wait to fill up */
            rd_kafka_message_t *m = rd_kafka_consume_queue(q, 10);
            now = sl_mono_ns();
            if (m) {
                int64_t before = c->msgs;
                consume_message(c, m, now);
                if (c->msgs != before) atomic_fetch_add(&run->consumed, 1);
                if (!m->err) last_msg_ns = now;
                rd_kafka_message_destroy(m);
            }
        } else {
            /* Take what is queued without waiting (a batch call with a
             * timeout waits for the batch to fill); block only when the
             * queue is empty, and then for the first message alone. */
            ssize_t n = rd_kafka_consume_batch_queue(q, 0, batch, CONSUME_BATCH);
            if (n == 0) {
                batch[0] = rd_kafka_consume_queue(q, 100);
                n = batch[0] ? 1 : 0;
            }
            now = sl_mono_ns();
            int64_t before = c->msgs;
            for (ssize_t i = 0; i < n; i++) {
                consume_message(c, batch[i], now);
                rd_kafka_message_destroy(batch[i]);
            }
            if (c->msgs != before) {
                atomic_fetch_add(&run->consumed, c->msgs - before);
                last_msg_ns = now;
            }
        }
        if (consumer_done(c, now)) break;
        bool waiting_producers =
            o->mode == MODE_LATENCY && atomic_load(&run->producers_done) < o->producers;
        if (!waiting_producers && now - last_msg_ns > idle_ns) {
            if (run->consume_target || o->mode == MODE_LATENCY)
                fprintf(stderr, "sluice perf: consumer %d: no message for %d ms, giving up\n",
                        c->id, o->idle_ms);
            break;
        }
    }
    for (int i = 0; i < c->nparts; i++)
        rd_kafka_consume_stop(c->rkt, c->parts[i]);
    return NULL;
}

/* ---- report -------------------------------------------------------------- */

static double wall_s(const perf_run *run, int64_t mono)
{
    return (double)(mono + run->wall_minus_mono_ns) / 1e9;
}

static void report_throughput(const perf_opts *o, const perf_run *run, const char *what,
                              int64_t msgs, int64_t bytes, int64_t failed, int64_t t0, int64_t t1,
                              double cpu_s, int instances)
{
    double secs = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
    double mps = secs > 0 ? (double)msgs / secs : 0;
    double mbs = secs > 0 ? (double)bytes / secs / 1e6 : 0;
    if (o->json) {
        printf("{\"mode\":\"%s\",\"topic\":\"%s\",\"partitions\":%d,\"instances\":%d,"
               "\"size\":%" PRId64 ",\"acks\":\"%s\",\"messages\":%" PRId64 ",\"bytes\":%" PRId64
               ",\"failed\":%" PRId64 ",\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
               "\"t_start\":%.6f,\"t_end\":%.6f,\"client_cpu_s\":%.3f}\n",
               what, o->topic, run->npartitions, instances, o->size, o->acks, msgs, bytes, failed,
               secs, mps, mbs, wall_s(run, t0), wall_s(run, t1), cpu_s);
    } else {
        printf("%s: %" PRId64 " messages, %" PRId64 " bytes in %.3f s: %.0f msgs/s, %.1f MB/s\n",
               what, msgs, bytes, secs, mps, mbs);
        printf("  %d instance(s), topic %s (%d partitions), message %" PRId64 " B", instances,
               o->topic, run->npartitions, o->size);
        if (strcmp(what, "produce") == 0) printf(", acks=%s", o->acks);
        printf("; client CPU %.2f s (%.0f%% of one core)\n", cpu_s,
               secs > 0 ? 100.0 * cpu_s / secs : 0.0);
        if (failed) printf("  FAILED: %" PRId64 " messages\n", failed);
    }
}

static int run_perf(const perf_opts *o)
{
    perf_run run = {.o = o};
    run.wall_minus_mono_ns = sl_wall_ns() - sl_mono_ns();
    int np = prepare_topic(o, &run);
    if (np < 0) return 1;
    run.npartitions = np;
    if (o->partition >= np) {
        fprintf(stderr, "sluice perf: topic %s has %d partitions, no partition %d\n", o->topic, np,
                o->partition);
        return 2;
    }
    int nprod = o->mode == MODE_CONSUME ? 0 : o->producers;
    int ncons = o->mode == MODE_PRODUCE ? 0 : o->consumers;
    if (o->mode == MODE_CONSUME) run.consume_target = o->count;
    producer *prods = sl_calloc((size_t)nprod + 1, sizeof *prods);
    consumer *conss = sl_calloc((size_t)ncons + 1, sizeof *conss);
    int rc = 0, nthreads = 0;
    for (int i = 0; i < nprod && rc == 0; i++) {
        prods[i].run = &run;
        prods[i].id = i;
        prods[i].rate = o->rate / nprod;
        if (o->count) prods[i].quota = o->count / nprod + (i < o->count % nprod ? 1 : 0);
        if (producer_setup(&prods[i]) < 0) rc = 1;
    }
    for (int i = 0; i < ncons && rc == 0; i++) {
        conss[i].run = &run;
        conss[i].id = i;
        if (consumer_setup(&conss[i]) < 0) rc = 1;
    }
    double cpu0 = sl_cpu_seconds();
    if (rc == 0) {
        pthread_barrier_init(&run.start, NULL, (unsigned)(nprod + ncons));
        for (int i = 0; i < ncons; i++)
            if (pthread_create(&conss[i].th, NULL, consumer_main, &conss[i]) == 0) nthreads++;
        for (int i = 0; i < nprod; i++)
            if (pthread_create(&prods[i].th, NULL, producer_main, &prods[i]) == 0) nthreads++;
        if (nthreads != nprod + ncons) {
            /* cannot happen short of resource exhaustion; the barrier would hang */
            fprintf(stderr, "sluice perf: cannot start threads\n");
            abort();
        }
        for (int i = 0; i < nprod; i++)
            pthread_join(prods[i].th, NULL);
        for (int i = 0; i < ncons; i++)
            pthread_join(conss[i].th, NULL);
        pthread_barrier_destroy(&run.start);
    }
    double cpu_s = sl_cpu_seconds() - cpu0;

    if (rc == 0 && o->mode == MODE_PRODUCE) {
        int64_t msgs = 0, bytes = 0, failed = 0, t0 = INT64_MAX, t1 = 0;
        for (int i = 0; i < nprod; i++) {
            msgs += prods[i].acked;
            bytes += prods[i].bytes_acked;
            failed += prods[i].failed + (prods[i].sent - prods[i].acked - prods[i].failed);
            t0 = SL_MIN(t0, prods[i].t_start_ns);
            t1 = SL_MAX(t1, prods[i].t_end_ns);
            if (prods[i].last_err)
                fprintf(stderr, "sluice perf: producer %d: %s\n", i,
                        rd_kafka_err2str(prods[i].last_err));
        }
        report_throughput(o, &run, "produce", msgs, bytes, failed, t0, t1, cpu_s, nprod);
        if (failed || atomic_load(&run.abort_run) || (o->count && msgs < o->count)) rc = 1;
    } else if (rc == 0 && o->mode == MODE_CONSUME) {
        int64_t msgs = 0, bytes = 0, errors = 0, t0 = INT64_MAX, t1 = 0;
        for (int i = 0; i < ncons; i++) {
            msgs += conss[i].msgs;
            bytes += conss[i].bytes;
            errors += conss[i].errors;
            t0 = SL_MIN(t0, conss[i].t_start_ns);
            if (conss[i].msgs) t1 = SL_MAX(t1, conss[i].t_last_ns);
        }
        if (t1 < t0) t1 = t0;
        report_throughput(o, &run, "consume", msgs, bytes, errors, t0, t1, cpu_s, ncons);
        if (errors || atomic_load(&run.abort_run) || (o->count && msgs < o->count)) rc = 1;
    } else if (rc == 0) {
        sl_hdr *all = sl_hdr_new(LAT_HIGHEST_NS, 3);
        int64_t sent = 0, failed = 0, behind = 0, foreign = 0;
        for (int i = 0; i < ncons; i++) {
            sl_hdr_add(all, conss[i].lat);
            foreign += conss[i].foreign;
        }
        for (int i = 0; i < nprod; i++) {
            sent += prods[i].sent;
            failed += prods[i].failed;
            behind = SL_MAX(behind, prods[i].max_behind_ns);
        }
        int64_t planned = atomic_load(&run.planned);
        int64_t got = sl_hdr_count(all);
        int64_t lost = planned - got;
        const double ps[] = {50, 90, 99, 99.9, 99.99};
        const char *pk[] = {"p50", "p90", "p99", "p99_9", "p99_99"};
        if (o->json) {
            printf("{\"mode\":\"latency\",\"topic\":\"%s\",\"partitions\":%d,\"size\":%" PRId64
                   ",\"acks\":\"%s\",\"rate\":%.1f,\"planned\":%" PRId64 ",\"sent\":%" PRId64
                   ",\"received\":%" PRId64 ",\"lost\":%" PRId64 ",\"failed\":%" PRId64,
                   o->topic, run.npartitions, o->size, o->acks, o->rate, planned, sent, got, lost,
                   failed);
            for (int i = 0; i < 5; i++)
                printf(",\"%s_us\":%.1f", pk[i], (double)sl_hdr_percentile(all, ps[i]) / 1e3);
            printf(",\"min_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"producer_max_behind_us\":"
                   "%.1f,\"client_cpu_s\":%.3f}\n",
                   (double)sl_hdr_min(all) / 1e3, (double)sl_hdr_max(all) / 1e3,
                   sl_hdr_mean(all) / 1e3, (double)behind / 1e3, cpu_s);
        } else {
            printf("latency: %" PRId64 " of %" PRId64 " messages at %.0f msgs/s (%" PRId64
                   " B, acks=%s), from intended send time to consume:\n",
                   got, planned, o->rate, o->size, o->acks);
            printf("  min %.1f us, mean %.1f us\n", (double)sl_hdr_min(all) / 1e3,
                   sl_hdr_mean(all) / 1e3);
            for (int i = 0; i < 5; i++)
                printf("  p%-6g %10.1f us\n", ps[i], (double)sl_hdr_percentile(all, ps[i]) / 1e3);
            printf("  max     %10.1f us\n", (double)sl_hdr_max(all) / 1e3);
            printf("  producer fell behind its schedule by up to %.1f us\n", (double)behind / 1e3);
            if (lost) printf("  MISSING: %" PRId64 " messages\n", lost);
            if (o->histogram) sl_hdr_print(all, stdout, 1e3);
        }
        if (foreign)
            fprintf(stderr, "sluice perf: %" PRId64 " messages without a perf header ignored\n",
                    foreign);
        if (lost || failed || atomic_load(&run.abort_run)) rc = 1;
        sl_hdr_free(all);
    }

    for (int i = 0; i < nprod; i++) {
        if (prods[i].rkt) rd_kafka_topic_destroy(prods[i].rkt);
        if (prods[i].rk) rd_kafka_destroy(prods[i].rk);
        sl_free(prods[i].payload);
    }
    for (int i = 0; i < ncons; i++) {
        if (conss[i].q) rd_kafka_queue_destroy(conss[i].q);
        if (conss[i].rkt) rd_kafka_topic_destroy(conss[i].rkt);
        if (conss[i].rk) {
            if (run.o->group) rd_kafka_consumer_close(conss[i].rk);
            rd_kafka_destroy(conss[i].rk);
        }
        sl_free(conss[i].parts);
        sl_free(conss[i].eof);
        if (conss[i].lat) sl_hdr_free(conss[i].lat);
    }
    sl_free(prods);
    sl_free(conss);
    return rc;
}

int sl_cli_perf(int argc, char **argv)
{
    perf_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc == 0) rc = run_perf(&o);
    sl_free(o.props);
    return rc < 0 ? 0 : rc;
}
