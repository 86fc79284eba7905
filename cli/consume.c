/* sluice consume TOPIC[,TOPIC...]
 *
 * Without --group the consumer assigns itself the partitions (no group, no
 * commits). With --group it subscribes, and commits the offset after each
 * message it printed (stored per message, committed periodically and once
 * more at exit), so a later run with the same group continues after it.
 * Without --follow it stops once every assigned partition has reported its
 * end (librdkafka's partition-EOF events). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/map.h"
#include "base/mem.h"
#include "cli.h"

static const char consume_help[] =
    "Usage: sluice consume TOPIC[,TOPIC...] [OPTIONS]\n"
    "\n"
    "Prints messages, by default one value per line, and stops when every partition\n"
    "has been read to its end (unless --follow).\n"
    "\n"
    "  -o, --from WHERE         where to start in each partition:\n"
    "                             beginning   the oldest message (default without --group)\n"
    "                             end         only messages produced from now on\n"
    "                             OFFSET      this offset (clamped into the log)\n"
    "                             TIME        the first message at or after an ISO-8601 time,\n"
    "                                         e.g. 2026-11-23T10:00:00Z, "
    "2026-11-23T11:00:00+01:00\n"
    "                           With --group the default is the group's committed offset\n"
    "                           (else beginning); --from overrides it at every assignment.\n"
    "  -p, --partition N        read only partition N (of every topic given)\n"
    "  -g, --group GROUP        consume as member of GROUP and commit what was printed\n"
    "                           (with --partition: no group membership, commits only)\n"
    "  -n, --count COUNT        exit after COUNT messages\n"
    "  -f, --follow             keep waiting for new messages (stop with Ctrl-C)\n"
    "  -F, --format TEMPLATE    how to print each message (default '%v\\n'):\n"
    "                             %k key  %v value  %h headers (k=v,k=v)  %p partition\n"
    "                             %o offset  %t timestamp (ms)  %T topic  %% a percent sign\n"
    "                             \\n newline  \\t tab  \\r  \\\\ backslash\n"
    "                           A newline is added unless the template contains one.\n"
    "  -F json (or --json)      JSON lines: {\"topic\":..,\"partition\":N,\"offset\":N,\n"
    "                           \"timestamp\":N,\"key\":..|null,\"value\":..|null,\n"
    "                           \"headers\":[{\"key\":..,\"value\":..|null}]}\n"
    "\n"
    "Keys and values are written as they are; in JSON, bytes that are not UTF-8 become\n"
    "\\u00XX escapes. A progress line is drawn on stderr when it is a terminal.\n";

enum { O_FROM = 1, O_PARTITION, O_GROUP, O_COUNT, O_FOLLOW, O_FORMAT };
enum { FROM_DEFAULT, FROM_BEGINNING, FROM_END, FROM_OFFSET, FROM_TIME };

/* A compiled --format template: literal text and field codes. */
typedef struct fmt_part {
    char code; /* 0 = literal */
    char *text;
    size_t len;
} fmt_part;

typedef struct part_state {
    bool eof;
} part_state;

typedef struct consume_state {
    const sl_cli *cli;
    sl_client *c;
    int from;
    int64_t from_value; /* offset or time in ms */
    fmt_part *fmt;      /* NULL: JSON lines */
    int nfmt;
    sl_map parts; /* "topic\0" + partition -> part_state */
    int nparts, neof;
    bool got_assignment;      /* false again between a revoke and the next assignment */
    int64_t waiting_since_ns; /* when the wait for an assignment began */
    int fatal;                /* exit code of an error met inside a callback */
} consume_state;

/* ---- template -------------------------------------------------------------- */

static void fmt_add(fmt_part **v, int *n, char code, const char *text, size_t len)
{
    if (code == 0 && len == 0) return;
    *v = sl_realloc(*v, sizeof(fmt_part) * (size_t)(*n + 1));
    (*v)[*n].code = code;
    (*v)[*n].text = code ? NULL : sl_strndup(text, len);
    (*v)[*n].len = len;
    (*n)++;
}

static void fmt_free(fmt_part *v, int n)
{
    for (int i = 0; i < n; i++)
        sl_free(v[i].text);
    sl_free(v);
}

/* Returns 0, or -1 with the offending directive in *bad. */
static int fmt_compile(const char *s, fmt_part **out, int *nout, char *bad)
{
    fmt_part *v = NULL;
    int n = 0;
    char *lit = sl_malloc(strlen(s) + 2);
    size_t ll = 0;
    bool newline = false;
    for (const char *p = s; *p; p++) {
        if (*p == '\\' && p[1]) {
            char e = *++p;
            char ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '\\' ? '\\' : 0;
            if (!ch) {
                bad[0] = '\\', bad[1] = e, bad[2] = 0;
                goto fail;
            }
            if (ch == '\n') newline = true;
            lit[ll++] = ch;
        } else if (*p == '%') {
            char d = p[1];
            if (d == '%') {
                lit[ll++] = '%';
                p++;
                continue;
            }
            if (!d || !strchr("kvhpotT", d)) {
                bad[0] = '%', bad[1] = d, bad[2] = 0;
                goto fail;
            }
            fmt_add(&v, &n, 0, lit, ll);
            ll = 0;
            fmt_add(&v, &n, d, NULL, 0);
            p++;
        } else {
            if (*p == '\n') newline = true;
            lit[ll++] = *p;
        }
    }
    if (!newline) lit[ll++] = '\n';
    fmt_add(&v, &n, 0, lit, ll);
    sl_free(lit);
    *out = v;
    *nout = n;
    return 0;
fail:
    sl_free(lit);
    fmt_free(v, n);
    return -1;
}

static void print_headers_text(FILE *f, const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) || !h) return;
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
        if (i) fputc(',', f);
        fputs(name, f);
        fputc('=', f);
        if (val) fwrite(val, 1, size, f);
    }
}

static void print_message(consume_state *st, const rd_kafka_message_t *m)
{
    FILE *f = stdout;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (!st->fmt) {
        sl_json j;
        sl_json_init(&j, f);
        sl_json_obj(&j);
        sl_json_kstr(&j, "topic", topic);
        sl_json_kint(&j, "partition", m->partition);
        sl_json_kint(&j, "offset", m->offset);
        sl_json_kint(&j, "timestamp", ts);
        sl_json_key(&j, "key");
        sl_json_bytes_or_null(&j, m->key, m->key_len);
        sl_json_key(&j, "value");
        sl_json_bytes_or_null(&j, m->payload, m->len);
        sl_json_key(&j, "headers");
        sl_json_arr(&j);
        rd_kafka_headers_t *h = NULL;
        if (rd_kafka_message_headers(m, &h) == 0 && h) {
            const char *name;
            const void *val;
            size_t size;
            for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
                sl_json_obj(&j);
                sl_json_kstr(&j, "key", name);
                sl_json_key(&j, "value");
                sl_json_bytes_or_null(&j, val, size);
                sl_json_obj_end(&j);
            }
        }
        sl_json_arr_end(&j);
        sl_json_obj_end(&j);
        sl_json_end_line(&j);
        return;
    }
    for (int i = 0; i < st->nfmt; i++) {
        const fmt_part *p = &st->fmt[i];
        switch (p->code) {
        case 0:
            fwrite(p->text, 1, p->len, f);
            break;
        case 'k':
            if (m->key) fwrite(m->key, 1, m->key_len, f);
            break;
        case 'v':
            if (m->payload) fwrite(m->payload, 1, m->len, f);
            break;
        case 'h':
            print_headers_text(f, m);
            break;
        case 'p':
            fprintf(f, "%" PRId32, m->partition);
            break;
        case 'o':
            fprintf(f, "%" PRId64, m->offset);
            break;
        case 't':
            fprintf(f, "%" PRId64, ts);
            break;
        case 'T':
            fputs(topic, f);
            break;
        }
    }
}

/* ---- partition tracking ---------------------------------------------------- */

static size_t part_key(char *buf, size_t n, const char *topic, int32_t partition)
{
    size_t tl = strlen(topic);
    if (tl + 1 + sizeof(partition) > n) tl = n - 1 - sizeof(partition);
    memcpy(buf, topic, tl);
    buf[tl] = 0;
    memcpy(buf + tl + 1, &partition, sizeof(partition));
    return tl + 1 + sizeof(partition);
}

static part_state *part_get(consume_state *st, const char *topic, int32_t partition)
{
    char k[300];
    size_t kl = part_key(k, sizeof(k), topic, partition);
    return sl_map_get(&st->parts, k, kl);
}

static void parts_add(consume_state *st, const rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; i < l->cnt; i++) {
        char k[300];
        size_t kl = part_key(k, sizeof(k), l->elems[i].topic, l->elems[i].partition);
        if (sl_map_get(&st->parts, k, kl)) continue;
        sl_map_put(&st->parts, k, kl, SL_NEW(part_state));
        st->nparts++;
    }
}

static void parts_clear(consume_state *st)
{
    const void *k;
    size_t kl;
    void *v;
    for (size_t it = 0; sl_map_next(&st->parts, &it, &k, &kl, &v);)
        sl_free(v);
    sl_map_fini(&st->parts);
    sl_map_init(&st->parts);
    st->nparts = st->neof = 0;
}

/* ---- start offsets --------------------------------------------------------- */

/* Sets each entry's start offset from --from. Returns 0 or an exit code. */
static int resolve_from(consume_state *st, rd_kafka_topic_partition_list_t *l, int64_t dflt)
{
    int rc = 0;
    switch (st->from) {
    case FROM_DEFAULT:
    case FROM_BEGINNING:
    case FROM_END: {
        int64_t off = st->from == FROM_BEGINNING ? RD_KAFKA_OFFSET_BEGINNING
                      : st->from == FROM_END     ? RD_KAFKA_OFFSET_END
                                                 : dflt;
        for (int i = 0; i < l->cnt; i++)
            l->elems[i].offset = off;
        return 0;
    }
    case FROM_OFFSET: {
        /* Clamped, because an offset outside the log would make the
         * consumer fall back to auto.offset.reset silently. */
        rd_kafka_topic_partition_list_t *lo = rd_kafka_topic_partition_list_copy(l);
        if ((rc = sl_offsets_at(st->c, lo, SL_TIME_EARLIEST, true)) ||
            (rc = sl_offsets_at(st->c, l, SL_TIME_LATEST, true))) {
            rd_kafka_topic_partition_list_destroy(lo);
            return rc;
        }
        for (int i = 0; i < l->cnt; i++) {
            int64_t want = st->from_value;
            if (want < lo->elems[i].offset) want = lo->elems[i].offset;
            if (want > l->elems[i].offset) want = l->elems[i].offset;
            l->elems[i].offset = want;
        }
        rd_kafka_topic_partition_list_destroy(lo);
        return 0;
    }
    case FROM_TIME:
        if ((rc = sl_offsets_at(st->c, l, st->from_value, true))) return rc;
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].offset < 0) l->elems[i].offset = RD_KAFKA_OFFSET_END;
        return 0;
    }
    return 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    sl_client *c = opaque;
    consume_state *st = c->cmd_state;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        int rc = resolve_from(st, parts, RD_KAFKA_OFFSET_INVALID);
        if (rc && !st->fatal) st->fatal = rc;
        rd_kafka_assign(rk, parts);
        parts_add(st, parts);
        st->got_assignment = true;
    } else {
        rd_kafka_assign(rk, NULL);
        parts_clear(st);
        st->got_assignment = false;
        st->waiting_since_ns = sl_now_ns();
    }
}

/* ---- the command ----------------------------------------------------------- */

static int parse_from(sl_cli *cli, const char *v, consume_state *st)
{
    if (!strcmp(v, "beginning") || !strcmp(v, "earliest") || !strcmp(v, "start")) {
        st->from = FROM_BEGINNING;
    } else if (!strcmp(v, "end") || !strcmp(v, "latest")) {
        st->from = FROM_END;
    } else if (sl_parse_i64(v, &st->from_value) == 0) {
        if (st->from_value < 0) return sl_usage(cli, "--from offset must be 0 or more");
        st->from = FROM_OFFSET;
    } else if (sl_parse_iso8601(v, &st->from_value) == 0) {
        st->from = FROM_TIME;
    } else {
        return sl_usage(cli,
                        "bad --from '%s': expected beginning, end, an offset or an ISO-8601 "
                        "time like 2026-11-23T10:00:00Z",
                        v);
    }
    return 0;
}

/* Splits "a,b,c" into topics (pointers into the copy `buf`). */
static int split_topics(char *buf, char ***out)
{
    int n = 0;
    char **v = sl_calloc(strlen(buf) / 2 + 2, sizeof(char *));
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        v[n++] = t;
    *out = v;
    return n;
}

static int consume_loop(consume_state *st, rd_kafka_t *rk, int sigfd, int64_t count, bool follow,
                        bool group)
{
    sl_progress prog;
    sl_progress_init(&prog, "consumed");
    int64_t seen = 0;
    int rc = 0;
    /* Without --follow, a group that never assigns anything (no
     * coordinator, a stuck rebalance) must not hang the command forever. */
    int64_t assign_wait_ms = st->cli->timeout_ms > 60000 ? st->cli->timeout_ms : 60000;
    st->waiting_since_ns = sl_now_ns();
    for (;;) {
        if (st->fatal) {
            rc = st->fatal;
            break;
        }
        if (!follow && !st->got_assignment &&
            sl_now_ns() - st->waiting_since_ns > assign_wait_ms * 1000000) {
            sl_progress_done(&prog);
            rc = sl_fail(SL_EXIT_FAILED,
                         "no partitions were assigned within %lld s: is the group coordinator "
                         "available? (-v shows librdkafka's view)",
                         (long long)(assign_wait_ms / 1000));
            break;
        }
        if (count >= 0 && seen >= count) break;
        if (!follow && st->got_assignment && st->neof == st->nparts) break;
        struct signalfd_siginfo si;
        if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            fflush(stdout);
            if (ferror(stdout)) break;
            sl_progress_update(&prog, seen);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            part_state *p = part_get(st, rd_kafka_topic_name(m->rkt), m->partition);
            if (p && !p->eof) {
                p->eof = true;
                st->neof++;
            }
        } else if (m->err) {
            rd_kafka_resp_err_t err = m->err;
            const char *what = m->rkt ? rd_kafka_topic_name(m->rkt) : "consumer";
            if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
                sl_progress_done(&prog);
                rc = sl_fail(SL_EXIT_NOT_FOUND, "%s: %s", what, rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                break;
            }
            if (rd_kafka_fatal_error(rk, NULL, 0)) {
                sl_progress_done(&prog);
                rc = sl_fail(SL_EXIT_FAILED, "%s: %s", what, rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                break;
            }
            if (st->cli->verbose) fprintf(stderr, "%% %s: %s\n", what, rd_kafka_message_errstr(m));
        } else {
            part_state *p = part_get(st, rd_kafka_topic_name(m->rkt), m->partition);
            if (p && p->eof) { /* new messages after the end was reached */
                p->eof = false;
                st->neof--;
            }
            print_message(st, m);
            if (group) rd_kafka_offset_store(m->rkt, m->partition, m->offset);
            seen++;
            sl_progress_update(&prog, seen);
        }
        rd_kafka_message_destroy(m);
        if (ferror(stdout)) break; /* the reader went away (EPIPE) */
    }
    sl_progress_done(&prog);
    fflush(stdout);
    if (group && st->got_assignment && st->nparts == 0 && !follow && rc == 0)
        fprintf(stderr, "sluice: no partitions were assigned to this consumer\n");
    return rc;
}

int sl_cmd_consume(sl_cli *cli, int argc, char **argv)
{
    static const sl_opt opts[] = {
        {"from", 'o', true, O_FROM},
        {"partition", 'p', true, O_PARTITION},
        {"group", 'g', true, O_GROUP},
        {"count", 'n', true, O_COUNT},
        {"follow", 'f', false, O_FOLLOW},
        {"format", 'F', true, O_FORMAT},
        {NULL, 0, false, 0},
    };
    sl_args a;
    consume_state st;
    memset(&st, 0, sizeof(st));
    sl_map_init(&st.parts);
    st.cli = cli;
    int32_t partition = -1;
    const char *group = NULL, *format = NULL;
    int64_t count = -1;
    bool follow = false;
    char *topics_buf = NULL;
    char **topics = NULL;
    int sigfd = -1;
    int rc;
    if (!sl_args_begin(cli, opts, argc, argv, consume_help, 1, 1, "TOPIC", &a, &rc)) goto out;
    for (int i = 0; i < a.nopts; i++) {
        const char *v = a.opts[i].arg;
        switch (a.opts[i].id) {
        case O_FROM:
            if ((rc = parse_from(cli, v, &st))) goto out;
            break;
        case O_PARTITION:
            if (sl_parse_i32(v, 0, INT32_MAX, &partition) != 0) {
                rc = sl_usage(cli, "bad partition '%s'", v);
                goto out;
            }
            break;
        case O_GROUP:
            if (!*v) {
                rc = sl_usage(cli, "--group must not be empty");
                goto out;
            }
            group = v;
            break;
        case O_COUNT:
            if (sl_parse_i64(v, &count) != 0 || count < 1) {
                rc = sl_usage(cli, "bad count '%s' (1 or more)", v);
                goto out;
            }
            break;
        case O_FOLLOW:
            follow = true;
            break;
        case O_FORMAT:
            format = v;
            break;
        }
    }
    if (format && strcmp(format, "json") == 0)
        format = NULL;
    else if (!format && !cli->json)
        format = "%v\\n";
    if (format) {
        char bad[4];
        if (fmt_compile(format, &st.fmt, &st.nfmt, bad) != 0) {
            rc = sl_usage(cli, "unknown directive '%s' in --format", bad);
            goto out;
        }
    }
    topics_buf = sl_strdup(a.pos[0]);
    int ntopics = split_topics(topics_buf, &topics);
    if (ntopics == 0) {
        rc = sl_usage(cli, "missing TOPIC");
        goto out;
    }

    /* Signals are taken from a signalfd so Ctrl-C ends the loop cleanly
     * (offsets committed, client closed); blocked before librdkafka starts
     * its threads so none of them receives them. SIGPIPE too: a closed
     * stdout shows up as a write error instead of killing the process. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGPIPE);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, SIGINT);
    sigaddset(&wake, SIGTERM);
    sigfd = signalfd(-1, &wake, SFD_NONBLOCK | SFD_CLOEXEC);

    /* Offsets are stored after each printed message and committed by
     * librdkafka (with --group). librdkafka refuses assign() without a
     * group.id, so plain consumers get one that never joins (no subscribe)
     * and never commits: the broker never records it. */
    const char *defaults[] = {"group.id",
                              group ? group : "sluice-assign-only",
                              "enable.auto.commit",
                              group ? "true" : "false",
                              "enable.auto.offset.store",
                              "false",
                              "auto.offset.reset",
                              "earliest",
                              "enable.partition.eof",
                              "true",
                              NULL};
    sl_client c;
    rd_kafka_conf_t *conf = sl_client_conf(&c, cli, defaults);
    if (!conf) {
        rc = SL_EXIT_USAGE;
        goto out;
    }
    c.cmd_state = &st;
    st.c = &c;
    bool subscribe = group && partition < 0;
    if (subscribe) rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    if ((rc = sl_client_start(&c, RD_KAFKA_CONSUMER, conf))) goto out;

    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    if ((rc = sl_client_metadata(&c, NULL, &md))) goto done;
    l = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; i < ntopics; i++) {
        const rd_kafka_metadata_topic_t *t = sl_metadata_topic(md, topics[i], &rc);
        if (!t) goto done;
        if (partition >= 0 && partition >= t->partition_cnt) {
            rc = sl_fail(SL_EXIT_NOT_FOUND, "topic '%s' has no partition %" PRId32 " (it has %d)",
                         topics[i], partition, t->partition_cnt);
            goto done;
        }
        if (subscribe) {
            rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
            continue;
        }
        for (int p = 0; p < t->partition_cnt; p++)
            if (partition < 0 || t->partitions[p].id == partition)
                rd_kafka_topic_partition_list_add(l, topics[i], t->partitions[p].id);
    }
    rd_kafka_poll_set_consumer(c.rk);
    if (subscribe) {
        rd_kafka_resp_err_t err = rd_kafka_subscribe(c.rk, l);
        if (err) {
            rc = sl_fail(SL_EXIT_FAILED, "subscribing failed: %s", rd_kafka_err2str(err));
            goto done;
        }
    } else {
        if ((rc = resolve_from(&st, l, group ? RD_KAFKA_OFFSET_STORED : RD_KAFKA_OFFSET_BEGINNING)))
            goto done;
        rd_kafka_resp_err_t err = rd_kafka_assign(c.rk, l);
        if (err) {
            rc = sl_fail(SL_EXIT_FAILED, "assigning partitions failed: %s", rd_kafka_err2str(err));
            goto done;
        }
        parts_add(&st, l);
        st.got_assignment = true;
    }

    rc = consume_loop(&st, c.rk, sigfd, count, follow, group != NULL);
    if (group) {
        rd_kafka_resp_err_t err = rd_kafka_commit(c.rk, NULL, 0);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET && !rc)
            rc = sl_fail(SL_EXIT_FAILED, "committing offsets of group '%s' failed: %s", group,
                         rd_kafka_err2str(err));
    }
    if (!subscribe) rd_kafka_assign(c.rk, NULL);
    rd_kafka_consumer_close(c.rk);
done:
    if (l) rd_kafka_topic_partition_list_destroy(l);
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    if (sigfd >= 0) close(sigfd);
    parts_clear(&st);
    sl_map_fini(&st.parts);
    fmt_free(st.fmt, st.nfmt);
    sl_free(topics);
    sl_free(topics_buf);
    sl_args_free(&a);
    return rc;
}
