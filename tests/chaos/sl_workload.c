/* sl_workload: the load and observation client of the chaos tests (librdkafka).
 *
 *   sl_workload create  -b HOST:PORT -t TOPIC -P PARTITIONS
 *   sl_workload produce -b HOST:PORT -t TOPIC -o HISTORY [-P PARTITIONS]
 *                       [-n PRODUCERS] [--idempotent] [--rate MSG_PER_S]
 *                       [--duration-ms MS] [--id-base N] [--retries N]
 *                       [--message-timeout-ms MS] [--drain-ms MS]
 *                       [--max-outstanding N] [--request-timeout-ms MS]
 *   sl_workload read    -b HOST:PORT -t TOPIC -o FILE [--timeout-ms MS]
 *   sl_workload group   -b HOST:PORT -t TOPIC -g GROUP -o FILE
 *                       [--duration-ms MS] [--commit-ms MS]
 *   sl_workload committed -b HOST:PORT -t TOPIC -g GROUP -o FILE [--timeout-ms MS]
 *
 * produce: PRODUCERS threads, each with its own producer instance, send the
 * unique values "p<id>-<seq>" (id = id-base + thread index) round-robin to
 * the partitions with acks=all (and enable.idempotence=true with
 * --idempotent; without it one request in flight per connection, so that
 * retries cannot reorder). Every send is written to HISTORY as "invoke"
 * before it is handed to librdkafka, and its outcome as "ack" (partition,
 * offset), "fail" (librdkafka says not persisted) or "unknown" (possibly
 * persisted: timed out, purged in flight at the end, ...). Runs until
 * SIGTERM/SIGINT or --duration-ms, then waits up to --drain-ms for
 * outstanding sends and purges the rest.
 *
 * read: reads every partition from its low to its high watermark and writes
 * "read <partition> <offset> <value>" per record and "range <partition>
 * <low> <high>" per partition.
 *
 * group: consumes TOPIC in consumer group GROUP and commits positions
 * synchronously every --commit-ms, writing "commit <group> <partition>
 * <offset>" for each acknowledged commit; on every assignment it reads the
 * committed offsets back first ("fetched <group> <partition> <offset>", -1 =
 * none), so a checker can see committed offsets going backwards across
 * broker restarts. Both lines end with a wall-clock millisecond timestamp:
 * when the commit was acknowledged, when the fetch was sent.
 *
 * committed: reads GROUP's committed offsets of every partition of TOPIC
 * once (OffsetFetch, without joining the group) and appends "fetched" lines
 * as above; retried until --timeout-ms while the broker starts.
 *
 * The line formats are those of tests/support/chaos_check.h. Exit status: 0,
 * 1 on a failure to do the job, 2 on usage errors, 3 when librdkafka raised a
 * fatal (idempotence) error, 4 when the group consumer received a corrupt
 * batch (it checks CRCs).
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PRODUCERS 64

typedef struct opts {
    const char *mode, *bootstrap, *topic, *out, *group;
    int partitions, producers, id_base, retries, max_outstanding;
    bool idempotent, verbose;
    double rate;
    long duration_ms, message_timeout_ms, drain_ms, timeout_ms, commit_ms, request_timeout_ms;
} opts;

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_fatal;
static bool g_verbose; /* set once in main, before any client exists */

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- output file shared by threads ---------------------------------------- */

typedef struct out {
    FILE *f;
    pthread_mutex_t mu;
} out;

static void out_line(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_line(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&o->mu);
    vfprintf(o->f, fmt, ap);
    pthread_mutex_unlock(&o->mu);
    va_end(ap);
}

static int out_open(out *o, const char *path)
{
    o->f = fopen(path, "a");
    if (!o->f) {
        fprintf(stderr, "sl_workload: %s: %s\n", path, strerror(errno));
        return -1;
    }
    setvbuf(o->f, NULL, _IOFBF, 1 << 16);
    pthread_mutex_init(&o->mu, NULL);
    return 0;
}

static int out_close(out *o)
{
    int rc = fclose(o->f);
    pthread_mutex_destroy(&o->mu);
    return rc;
}

/* ---- librdkafka configuration -------------------------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (g_verbose) fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        fprintf(stderr, "sl_workload: FATAL %s: %s\n", rd_kafka_err2name(orig), why);
        g_fatal = 1;
        return;
    }
    if (g_verbose) fprintf(stderr, "sl_workload: %s: %s\n", rd_kafka_err2name(err), reason);
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "sl_workload: %s=%s: %s\n", k, v, err);
        return -1;
    }
    return 0;
}

static int conf_setl(rd_kafka_conf_t *c, const char *k, long v)
{
    char b[32];
    snprintf(b, sizeof b, "%ld", v);
    return conf_set(c, k, b);
}

static rd_kafka_conf_t *base_conf(const opts *o)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(c, log_cb);
    rd_kafka_conf_set_error_cb(c, error_cb);
    if (conf_set(c, "bootstrap.servers", o->bootstrap) || conf_set(c, "client.id", "sl_workload") ||
        conf_set(c, "reconnect.backoff.ms", "50") ||
        conf_set(c, "reconnect.backoff.max.ms", "500") ||
        conf_set(c, "topic.metadata.refresh.interval.ms", "2000") ||
        conf_set(c, "log.connection.close", "false")) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    return c;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *c)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "sl_workload: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(c);
    }
    return rk;
}

/* ---- create ---------------------------------------------------------------------- */

static int run_create(const opts *o)
{
    rd_kafka_conf_t *c = base_conf(o);
    if (!c) return 1;
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, c);
    if (!rk) return 1;
    int rc = 1;
    int64_t deadline = now_ms() + o->timeout_ms;
    while (rc != 0 && now_ms() < deadline) {
        char err[512];
        rd_kafka_NewTopic_t *nt =
            rd_kafka_NewTopic_new(o->topic, o->partitions, 1, err, sizeof err);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        const char *msg = "timed out";
        if (ev) {
            e = rd_kafka_event_error(ev);
            msg = rd_kafka_event_error_string(ev);
            const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
            size_t n = 0;
            const rd_kafka_topic_result_t **tr =
                res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
            if (!e && n == 1) {
                e = rd_kafka_topic_result_error(tr[0]);
                msg = rd_kafka_topic_result_error_string(tr[0]);
            }
        }
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            rc = 0;
        else
            fprintf(stderr, "sl_workload: create %s: %s (%s)\n", o->topic, rd_kafka_err2name(e),
                    msg ? msg : "");
        if (ev) rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        if (rc != 0) usleep(200000);
    }
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- produce ------------------------------------------------------------------------ */

typedef struct producer {
    const opts *o;
    out *hist;
    int id;
    rd_kafka_t *rk;
    long outstanding;
    long invoked, acked, failed, unknown;
    int rc;
} producer;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    producer *p = opaque;
    char val[64];
    size_t n = m->len < sizeof val - 1 ? m->len : sizeof val - 1;
    memcpy(val, m->payload, n);
    val[n] = 0;
    p->outstanding--;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        p->acked++;
        out_line(p->hist, "ack %s %" PRId32 " %" PRId64 "\n", val, m->partition, m->offset);
        return;
    }
    rd_kafka_msg_status_t st = rd_kafka_message_status(m);
    if (st == RD_KAFKA_MSG_STATUS_NOT_PERSISTED) {
        p->failed++;
        out_line(p->hist, "fail %s %" PRId32 " not_persisted %s\n", val, m->partition,
                 rd_kafka_err2name(m->err));
    } else {
        p->unknown++;
        out_line(p->hist, "unknown %s %" PRId32 " %s %s\n", val, m->partition,
                 st == RD_KAFKA_MSG_STATUS_PERSISTED ? "persisted" : "possibly_persisted",
                 rd_kafka_err2name(m->err));
    }
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    const opts *o = p->o;
    int64_t start = now_ms();
    double interval_ms = o->rate > 0 ? 1000.0 / o->rate : 0;
    double next_at = (double)start;
    char val[64];
    for (int64_t seq = 0; !g_stop && !g_fatal;) {
        int64_t now = now_ms();
        if (o->duration_ms > 0 && now - start >= o->duration_ms) break;
        if (p->outstanding >= o->max_outstanding) {
            rd_kafka_poll(p->rk, 5);
            continue;
        }
        if (interval_ms > 0 && (double)now < next_at) {
            int wait = (int)(next_at - (double)now);
            rd_kafka_poll(p->rk, wait > 20 ? 20 : wait < 1 ? 1 : wait);
            continue;
        }
        next_at += interval_ms;
        if ((double)now - next_at > 1000) next_at = (double)now; /* do not burst after a stall */
        int n = snprintf(val, sizeof val, "p%d-%" PRId64, p->id, seq);
        int32_t part = (int32_t)(seq % o->partitions);
        out_line(p->hist, "invoke %s %" PRId32 "\n", val, part);
        p->invoked++;
        rd_kafka_resp_err_t e =
            rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_VALUE(val, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e) {
            p->failed++;
            out_line(p->hist, "fail %s %" PRId32 " not_persisted %s\n", val, part,
                     rd_kafka_err2name(e));
        } else {
            p->outstanding++;
        }
        seq++;
        rd_kafka_poll(p->rk, 0);
    }
    int64_t deadline = now_ms() + o->drain_ms;
    while (p->outstanding > 0 && now_ms() < deadline && !g_fatal)
        rd_kafka_poll(p->rk, 50);
    if (p->outstanding > 0) {
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        deadline = now_ms() + 10000;
        while (p->outstanding > 0 && now_ms() < deadline)
            rd_kafka_poll(p->rk, 50);
    }
    return NULL;
}

static int run_produce(const opts *o)
{
    out hist;
    if (out_open(&hist, o->out) != 0) return 1;
    out_line(&hist, "# sl_workload produce topic=%s partitions=%d producers=%d idempotent=%d\n",
             o->topic, o->partitions, o->producers, o->idempotent);
    producer ps[MAX_PRODUCERS];
    pthread_t th[MAX_PRODUCERS];
    int started = 0, rc = 0;
    for (int i = 0; i < o->producers; i++) {
        producer *p = &ps[i];
        memset(p, 0, sizeof *p);
        p->o = o;
        p->hist = &hist;
        p->id = o->id_base + i;
        rd_kafka_conf_t *c = base_conf(o);
        if (!c) {
            rc = 1;
            break;
        }
        rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
        rd_kafka_conf_set_opaque(c, p);
        if (conf_set(c, "acks", "all") ||
            conf_set(c, "enable.idempotence", o->idempotent ? "true" : "false") ||
            (!o->idempotent && conf_set(c, "max.in.flight.requests.per.connection", "1")) ||
            conf_set(c, "linger.ms", "5") || conf_setl(c, "message.send.max.retries", o->retries) ||
            conf_set(c, "retry.backoff.ms", "100") ||
            conf_setl(c, "message.timeout.ms", o->message_timeout_ms) ||
            conf_setl(c, "request.timeout.ms", o->request_timeout_ms)) {
            rd_kafka_conf_destroy(c);
            rc = 1;
            break;
        }
        p->rk = new_client(RD_KAFKA_PRODUCER, c);
        if (!p->rk) {
            rc = 1;
            break;
        }
        if (pthread_create(&th[i], NULL, producer_main, p) != 0) {
            rd_kafka_destroy(p->rk);
            rc = 1;
            break;
        }
        started++;
    }
    long inv = 0, ack = 0, fail = 0, unk = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        rd_kafka_destroy(ps[i].rk);
        inv += ps[i].invoked;
        ack += ps[i].acked;
        fail += ps[i].failed;
        unk += ps[i].unknown;
    }
    if (out_close(&hist) != 0) rc = 1;
    fprintf(stderr, "sl_workload produce: invoked=%ld acknowledged=%ld failed=%ld unknown=%ld%s\n",
            inv, ack, fail, unk, g_fatal ? " FATAL" : "");
    return g_fatal ? 3 : rc;
}

/* ---- read ---------------------------------------------------------------------------- */

static int topic_partitions(rd_kafka_t *rk, const char *topic, int64_t deadline)
{
    while (now_ms() < deadline) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 5000);
        int n = -1;
        if (!e && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[0].partition_cnt;
        if (md) rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
        if (n > 0) return n;
        usleep(200000);
    }
    return -1;
}

static int run_read(const opts *o)
{
    rd_kafka_conf_t *c = base_conf(o);
    if (!c) return 1;
    if (conf_set(c, "group.id", "sl_workload_reader") ||
        conf_set(c, "enable.auto.commit", "false") ||
        conf_set(c, "enable.auto.offset.store", "false") ||
        conf_set(c, "enable.partition.eof", "false") || conf_set(c, "check.crcs", "true") ||
        conf_set(c, "auto.offset.reset", "error")) {
        rd_kafka_conf_destroy(c);
        return 1;
    }
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, c);
    if (!rk) return 1;
    int64_t deadline = now_ms() + o->timeout_ms;
    int np = topic_partitions(rk, o->topic, deadline);
    if (np <= 0) {
        fprintf(stderr, "sl_workload read: no metadata for %s\n", o->topic);
        rd_kafka_destroy(rk);
        return 1;
    }
    int64_t *lo = calloc((size_t)np, sizeof *lo), *hi = calloc((size_t)np, sizeof *hi);
    int64_t *next = calloc((size_t)np, sizeof *next);
    int rc = 0;
    rd_kafka_topic_partition_list_t *as = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np && rc == 0; p++) {
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo[p], &hi[p], 5000)) &&
               now_ms() < deadline)
            usleep(200000);
        if (e) {
            fprintf(stderr, "sl_workload read: watermarks of partition %d: %s\n", p,
                    rd_kafka_err2name(e));
            rc = 1;
        }
        next[p] = lo[p];
        rd_kafka_topic_partition_list_add(as, o->topic, p)->offset = lo[p];
    }
    out f;
    if (rc == 0 && out_open(&f, o->out) != 0) rc = 1;
    if (rc == 0) {
        rd_kafka_assign(rk, as);
        int remaining = 0;
        for (int p = 0; p < np; p++)
            remaining += next[p] < hi[p];
        long nread = 0;
        while (remaining > 0 && rc == 0) {
            if (now_ms() > deadline) {
                fprintf(stderr, "sl_workload read: timed out with %d partitions unfinished\n",
                        remaining);
                rc = 1;
                break;
            }
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
            if (!m) continue;
            if (m->err) {
                fprintf(stderr, "sl_workload read: %s: %s\n", rd_kafka_err2name(m->err),
                        rd_kafka_message_errstr(m));
                if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                    m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
                    rc = 1;
            } else if (m->partition >= 0 && m->partition < np) {
                int p = m->partition;
                if (m->offset < hi[p]) {
                    out_line(&f, "read %d %" PRId64 " %.*s\n", p, m->offset, (int)m->len,
                             (const char *)m->payload);
                    nread++;
                }
                bool was = next[p] < hi[p];
                if (m->offset + 1 > next[p]) next[p] = m->offset + 1;
                if (was && next[p] >= hi[p]) remaining--;
            }
            rd_kafka_message_destroy(m);
        }
        for (int p = 0; p < np; p++)
            out_line(&f, "range %d %" PRId64 " %" PRId64 "\n", p, lo[p], hi[p]);
        if (out_close(&f) != 0) rc = 1;
        fprintf(stderr, "sl_workload read: partitions=%d records=%ld\n", np, nread);
    }
    rd_kafka_topic_partition_list_destroy(as);
    free(lo);
    free(hi);
    free(next);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- group ------------------------------------------------------------------------------ */

typedef struct group_ctx {
    const opts *o;
    out *f;
    long fetches, commits, commit_failures;
} group_ctx;

static group_ctx *g_group; /* rebalance callback context (one consumer per process) */

/* OffsetFetch of the partitions in c; writes "fetched" lines stamped with
 * the time the request was sent. Returns how many were read (-1: failed). */
static int fetch_committed(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *c, const char *group,
                           out *f, int timeout_ms)
{
    int64_t sent = wall_ms();
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, c, timeout_ms);
    if (e) {
        out_line(f, "fetchfail %s %s\n", group, rd_kafka_err2name(e));
        return -1;
    }
    int n = 0;
    for (int i = 0; i < c->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &c->elems[i];
        if (tp->err) {
            out_line(f, "fetchfail %s %" PRId32 " %s\n", group, tp->partition,
                     rd_kafka_err2name(tp->err));
            continue;
        }
        out_line(f, "fetched %s %" PRId32 " %" PRId64 " %" PRId64 "\n", group, tp->partition,
                 tp->offset >= 0 ? tp->offset : -1, sent);
        n++;
    }
    return n;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    group_ctx *g = g_group;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_copy(parts);
        g->fetches += fetch_committed(rk, c, g->o->group, g->f, 10000);
        rd_kafka_topic_partition_list_destroy(c);
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static void group_commit(rd_kafka_t *rk, group_ctx *g)
{
    rd_kafka_topic_partition_list_t *as = NULL;
    if (rd_kafka_assignment(rk, &as) || !as) return;
    if (as->cnt > 0 && rd_kafka_position(rk, as) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(as->cnt);
        for (int i = 0; i < as->cnt; i++)
            if (as->elems[i].offset >= 0)
                rd_kafka_topic_partition_list_add(c, as->elems[i].topic, as->elems[i].partition)
                    ->offset = as->elems[i].offset;
        if (c->cnt > 0) {
            rd_kafka_resp_err_t e = rd_kafka_commit(rk, c, 0);
            int64_t acked_ms = wall_ms();
            if (e) {
                out_line(g->f, "commitfail %s %s\n", g->o->group, rd_kafka_err2name(e));
                g->commit_failures++;
            } else {
                for (int i = 0; i < c->cnt; i++) {
                    const rd_kafka_topic_partition_t *tp = &c->elems[i];
                    if (tp->err) {
                        out_line(g->f, "commitfail %s %" PRId32 " %s\n", g->o->group, tp->partition,
                                 rd_kafka_err2name(tp->err));
                        g->commit_failures++;
                    } else {
                        out_line(g->f, "commit %s %" PRId32 " %" PRId64 " %" PRId64 "\n",
                                 g->o->group, tp->partition, tp->offset, acked_ms);
                        g->commits++;
                    }
                }
            }
        }
        rd_kafka_topic_partition_list_destroy(c);
    }
    rd_kafka_topic_partition_list_destroy(as);
}

static int run_group(const opts *o)
{
    out f;
    if (out_open(&f, o->out) != 0) return 1;
    group_ctx g = {o, &f, 0, 0, 0};
    g_group = &g;
    rd_kafka_conf_t *c = base_conf(o);
    if (!c || conf_set(c, "group.id", o->group) || conf_set(c, "enable.auto.commit", "false") ||
        conf_set(c, "auto.offset.reset", "earliest") ||
        conf_set(c, "session.timeout.ms", "10000") ||
        conf_set(c, "heartbeat.interval.ms", "1000") || conf_set(c, "check.crcs", "true") ||
        conf_set(c, "partition.assignment.strategy", "range")) {
        if (c) rd_kafka_conf_destroy(c);
        out_close(&f);
        return 1;
    }
    rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, c);
    if (!rk) {
        out_close(&f);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    int rc = 0;
    if (e) {
        fprintf(stderr, "sl_workload group: subscribe: %s\n", rd_kafka_err2name(e));
        rc = 1;
    }
    long messages = 0, corrupt = 0;
    int64_t start = now_ms(), last_commit = start;
    while (rc == 0 && !g_stop) {
        int64_t now = now_ms();
        if (o->duration_ms > 0 && now - start >= o->duration_ms) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m) {
            if (!m->err) {
                messages++;
            } else if (m->err == RD_KAFKA_RESP_ERR__BAD_MSG) {
                /* The broker served bytes that are not a valid batch. */
                corrupt++;
                fprintf(stderr, "sl_workload group: corrupt data: %s\n",
                        rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
        if (now_ms() - last_commit >= o->commit_ms) {
            group_commit(rk, &g);
            last_commit = now_ms();
        }
    }
    if (rc == 0) group_commit(rk, &g);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (out_close(&f) != 0) rc = 1;
    fprintf(stderr,
            "sl_workload group: messages=%ld commits=%ld commit_failures=%ld fetched=%ld "
            "corrupt=%ld\n",
            messages, g.commits, g.commit_failures, g.fetches, corrupt);
    return rc ? rc : corrupt ? 4 : 0;
}

static int run_committed(const opts *o)
{
    rd_kafka_conf_t *c = base_conf(o);
    if (!c || conf_set(c, "group.id", o->group) || conf_set(c, "enable.auto.commit", "false")) {
        if (c) rd_kafka_conf_destroy(c);
        return 1;
    }
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, c);
    if (!rk) return 1;
    out f;
    if (out_open(&f, o->out) != 0) {
        rd_kafka_destroy(rk);
        return 1;
    }
    int64_t deadline = now_ms() + o->timeout_ms;
    int np = topic_partitions(rk, o->topic, deadline);
    int rc = 1;
    while (np > 0 && rc != 0 && now_ms() < deadline) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
        for (int p = 0; p < np; p++)
            rd_kafka_topic_partition_list_add(l, o->topic, p);
        if (fetch_committed(rk, l, o->group, &f, 10000) == np)
            rc = 0;
        else
            usleep(200000);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (out_close(&f) != 0) rc = 1;
    if (rc) fprintf(stderr, "sl_workload committed: no committed offsets read\n");
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: sl_workload create|produce|read|group|committed -b HOST:PORT -t TOPIC [options]\n"
        "  -o FILE  -P PARTITIONS  -n PRODUCERS  -g GROUP  --idempotent  --rate N\n"
        "  --duration-ms N  --id-base N  --retries N  --message-timeout-ms N\n"
        "  --drain-ms N  --max-outstanding N  --timeout-ms N  --commit-ms N\n"
        "  --request-timeout-ms N  -v\n");
}

int main(int argc, char **argv)
{
    opts o = {
        .partitions = 4,
        .producers = 3,
        .retries = 1000000,
        .max_outstanding = 2000,
        .rate = 200,
        .message_timeout_ms = 60000,
        .drain_ms = 60000,
        .timeout_ms = 120000,
        .commit_ms = 200,
        .request_timeout_ms = 10000,
    };
    if (argc < 2) {
        usage();
        return 2;
    }
    o.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "-b") == 0 && v)
            o.bootstrap = v;
        else if (strcmp(a, "-t") == 0 && v)
            o.topic = v;
        else if (strcmp(a, "-o") == 0 && v)
            o.out = v;
        else if (strcmp(a, "-g") == 0 && v)
            o.group = v;
        else if (strcmp(a, "-P") == 0 && v)
            o.partitions = atoi(v);
        else if (strcmp(a, "-n") == 0 && v)
            o.producers = atoi(v);
        else if (strcmp(a, "--rate") == 0 && v)
            o.rate = atof(v);
        else if (strcmp(a, "--duration-ms") == 0 && v)
            o.duration_ms = atol(v);
        else if (strcmp(a, "--id-base") == 0 && v)
            o.id_base = atoi(v);
        else if (strcmp(a, "--retries") == 0 && v)
            o.retries = atoi(v);
        else if (strcmp(a, "--message-timeout-ms") == 0 && v)
            o.message_timeout_ms = atol(v);
        else if (strcmp(a, "--drain-ms") == 0 && v)
            o.drain_ms = atol(v);
        else if (strcmp(a, "--max-outstanding") == 0 && v)
            o.max_outstanding = atoi(v);
        else if (strcmp(a, "--timeout-ms") == 0 && v)
            o.timeout_ms = atol(v);
        else if (strcmp(a, "--request-timeout-ms") == 0 && v)
            o.request_timeout_ms = atol(v);
        else if (strcmp(a, "--commit-ms") == 0 && v)
            o.commit_ms = atol(v);
        else {
            takes = false;
            if (strcmp(a, "--idempotent") == 0)
                o.idempotent = true;
            else if (strcmp(a, "-v") == 0)
                o.verbose = true;
            else {
                usage();
                return 2;
            }
        }
        if (takes) i++;
    }
    if (!o.bootstrap || !o.topic || o.partitions <= 0 || o.producers <= 0 ||
        o.producers > MAX_PRODUCERS || o.max_outstanding <= 0) {
        usage();
        return 2;
    }
    g_verbose = o.verbose;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (strcmp(o.mode, "create") == 0) return run_create(&o);
    if (!o.out) {
        usage();
        return 2;
    }
    if (strcmp(o.mode, "produce") == 0) return run_produce(&o);
    if (strcmp(o.mode, "read") == 0) return run_read(&o);
    if (strcmp(o.mode, "group") == 0 && o.group) return run_group(&o);
    if (strcmp(o.mode, "committed") == 0 && o.group) return run_committed(&o);
    usage();
    return 2;
}
