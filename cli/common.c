/* Shared plumbing of the sluice commands: option parsing, help footer,
 * librdkafka client setup, the reachability check, error mapping, number
 * and time parsing. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "cli.h"

/* ---- messages -------------------------------------------------------------- */

int sl_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("sluice: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int sl_usage(const sl_cli *cli, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sluice%s%s: ", cli->cmd[0] ? " " : "", cli->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sluice%s%s --help'.\n", cli->cmd[0] ? " " : "", cli->cmd);
    return SL_EXIT_USAGE;
}

bool sl_args_begin(sl_cli *cli, const sl_opt *opts, int argc, char **argv, const char *help,
                   int min_pos, int max_pos, const char *missing, sl_args *a, int *rc)
{
    if ((*rc = sl_args_parse(cli, opts, argc, argv, false, a))) return false;
    if (a->help)
        *rc = sl_help(help);
    else if (a->npos < min_pos)
        *rc = sl_usage(cli, "missing %s", missing);
    else if (max_pos >= 0 && a->npos > max_pos)
        *rc = sl_usage(cli, "unexpected argument '%s'", a->pos[max_pos]);
    else
        return true;
    return false;
}

void sl_cli_set_cmd(sl_cli *cli, const char *cmd)
{
    snprintf(cli->cmd, sizeof(cli->cmd), "%s", cmd);
}

static const char help_footer[] =
    "\n"
    "Global options (accepted by every command, anywhere on the line):\n"
    "  -b, --bootstrap HOST:PORT[,...]  brokers to start from (default $SLUICE_BOOTSTRAP,\n"
    "                              else " SL_DEFAULT_BOOTSTRAP ")\n"
    "  -X KEY=VALUE                any librdkafka property, e.g. -X security.protocol=ssl\n"
    "                              (repeatable; applied last, so it overrides sluice's choices)\n"
    "  --timeout DURATION          how long to wait for a broker answer: 500ms, 5s, 2000\n"
    "                              (milliseconds; default 5s)\n"
    "  --json                      machine-readable output: one JSON object, or JSON lines\n"
    "                              where output streams\n"
    "  -v, --verbose               show librdkafka's log lines on stderr\n"
    "  -h, --help                  this help\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  the operation failed (for produce: at least one message was not delivered)\n"
    "  2  usage error: unknown command or option, bad argument\n"
    "  3  broker unreachable: no broker answered within --timeout\n"
    "  4  not found: unknown topic, partition or group\n"
    "  5  refused as unsafe: the group has active members\n";

int sl_help(const char *text)
{
    fputs(text, stdout);
    fputs(help_footer, stdout);
    return SL_EXIT_OK;
}

/* ---- option parsing -------------------------------------------------------- */

enum { G_BOOTSTRAP = -100, G_PROP, G_TIMEOUT, G_JSON, G_VERBOSE, G_HELP };

static const sl_opt global_opts[] = {
    {"bootstrap", 'b', true, G_BOOTSTRAP},
    {NULL, 'X', true, G_PROP},
    {"timeout", 0, true, G_TIMEOUT},
    {"json", 0, false, G_JSON},
    {"verbose", 'v', false, G_VERBOSE},
    {"help", 'h', false, G_HELP},
    {NULL, 0, false, 0},
};

static const sl_opt *find_long(const sl_opt *t, const char *name, size_t n)
{
    for (; t && (t->name || t->short_name); t++)
        if (t->name && strlen(t->name) == n && memcmp(t->name, name, n) == 0) return t;
    return NULL;
}

static const sl_opt *find_short(const sl_opt *t, char c)
{
    for (; t && (t->name || t->short_name); t++)
        if (t->short_name == c) return t;
    return NULL;
}

/* "5000", "5000ms", "5s", "1.5s" */
static int parse_duration_ms(const char *s, int *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0) return -1;
    if (strcmp(end, "s") == 0)
        v *= 1000;
    else if (*end && strcmp(end, "ms") != 0)
        return -1;
    if (v < 1 || v > 24.0 * 3600 * 1000) return -1;
    *out = (int)v;
    return 0;
}

static int apply_global(sl_cli *cli, const sl_opt *o, const char *arg, sl_args *out)
{
    switch (o->id) {
    case G_BOOTSTRAP:
        if (!*arg) return sl_usage(cli, "--bootstrap needs HOST:PORT");
        cli->bootstrap = arg;
        return 0;
    case G_PROP:
        if (!strchr(arg, '=') || arg[0] == '=')
            return sl_usage(cli, "-X expects KEY=VALUE, got '%s'", arg);
        cli->props = sl_realloc(cli->props, sizeof(*cli->props) * (size_t)(cli->nprops + 1));
        cli->props[cli->nprops++] = arg;
        return 0;
    case G_TIMEOUT:
        if (parse_duration_ms(arg, &cli->timeout_ms) != 0)
            return sl_usage(cli, "bad --timeout '%s' (examples: 500ms, 5s, 2000)", arg);
        return 0;
    case G_JSON:
        cli->json = true;
        return 0;
    case G_VERBOSE:
        cli->verbose = true;
        return 0;
    case G_HELP:
        out->help = true;
        return 0;
    }
    return 0;
}

int sl_args_parse(sl_cli *cli, const sl_opt *opts, int argc, char **argv, bool stop_at_positional,
                  sl_args *out)
{
    memset(out, 0, sizeof(*out));
    out->pos = sl_calloc((size_t)argc + 1, sizeof(char *));
    out->opts = sl_calloc((size_t)argc + 1, sizeof(sl_optval));
    bool dashdash = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (dashdash || a[0] != '-' || a[1] == 0 || isdigit((unsigned char)a[1])) {
            /* A positional ("-" alone and negative numbers included). */
            if (stop_at_positional) {
                for (; i < argc; i++)
                    out->pos[out->npos++] = argv[i];
                return 0;
            }
            out->pos[out->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        const sl_opt *o;
        const char *arg = NULL;
        char shown[80];
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(opts, name, n);
            if (!o) o = find_long(global_opts, name, n);
            snprintf(shown, sizeof(shown), "--%.*s", (int)n, name);
            if (!o) return sl_usage(cli, "unknown option '%s'", shown);
            if (eq) {
                if (!o->has_arg) return sl_usage(cli, "option '%s' takes no value", shown);
                arg = eq + 1;
            }
        } else {
            o = find_short(opts, a[1]);
            if (!o) o = find_short(global_opts, a[1]);
            snprintf(shown, sizeof(shown), "-%c", a[1]);
            if (!o) return sl_usage(cli, "unknown option '%s'", shown);
            if (a[2]) {
                if (!o->has_arg) return sl_usage(cli, "unknown option '%s'", a);
                arg = a + 2;
            }
        }
        if (o->has_arg && !arg) {
            if (i + 1 >= argc) return sl_usage(cli, "option '%s' needs a value", shown);
            arg = argv[++i];
        }
        if (o->id < 0) {
            int rc = apply_global(cli, o, arg, out);
            if (rc) return rc;
            continue;
        }
        out->opts[out->nopts].id = o->id;
        out->opts[out->nopts].arg = arg;
        out->nopts++;
    }
    return 0;
}

void sl_args_free(sl_args *a)
{
    sl_free(a->opts);
    sl_free(a->pos);
    memset(a, 0, sizeof(*a));
}

int sl_dispatch(sl_cli *cli, const char *group, const char *help, const sl_subcmd *subs, int argc,
                char **argv)
{
    sl_args a;
    sl_cli_set_cmd(cli, group);
    int rc = sl_args_parse(cli, NULL, argc, argv, true, &a);
    if (rc) {
        sl_args_free(&a);
        return rc;
    }
    if (a.npos == 0) {
        bool help_asked = a.help;
        sl_args_free(&a);
        if (help_asked) return sl_help(help);
        return sl_usage(cli, "missing subcommand");
    }
    const char *name = a.pos[0];
    char **rest = a.pos + 1;
    int nrest = a.npos - 1;
    for (const sl_subcmd *s = subs; s->name; s++) {
        if (strcmp(s->name, name) != 0) continue;
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "%s %s", group, name);
        sl_cli_set_cmd(cli, cmd);
        /* "--help" seen before the subcommand is passed on to it. */
        if (a.help) {
            char *h[] = {"--help"};
            rc = s->fn(cli, 1, h);
        } else {
            rc = s->fn(cli, nrest, rest);
        }
        sl_args_free(&a);
        return rc;
    }
    rc = sl_usage(cli, "unknown subcommand '%s'", name);
    sl_args_free(&a);
    return rc;
}

/* ---- numbers and times ----------------------------------------------------- */

int sl_parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int sl_parse_i32(const char *s, int32_t min, int32_t max, int32_t *out)
{
    int64_t v;
    if (sl_parse_i64(s, &v) != 0 || v < min || v > max) return -1;
    *out = (int32_t)v;
    return 0;
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int sl_parse_iso8601(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec)) return -1;
            if (*p == '.' || *p == ',') {
                p++;
                if (!isdigit((unsigned char)*p)) return -1;
                int scale = 100;
                for (; isdigit((unsigned char)*p); p++) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                }
            }
        }
    }
    int64_t zone_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, zh, zm = 0;
        if (digits(&p, 2, &zh)) return -1;
        if (*p == ':') p++;
        if (*p && digits(&p, 2, &zm)) return -1;
        if (zh > 23 || zm > 59) return -1;
        zone_s = sign * (zh * 3600 + zm * 60);
    }
    if (*p) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    /* timegm normalises 2026-02-31 to March: refuse such dates. */
    if (tm.tm_mday != d || tm.tm_mon != mo - 1) return -1;
    *out_ms = ((int64_t)t - zone_s) * 1000 + ms;
    return 0;
}

void sl_format_iso8601(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)t * 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[40];
    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03dZ", tmp, frac);
}

int sl_split_kv(const char *s, char *key, size_t key_n, const char **value)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || (size_t)(eq - s) >= key_n) return -1;
    memcpy(key, s, (size_t)(eq - s));
    key[eq - s] = 0;
    *value = eq + 1;
    return 0;
}

/* ---- clients --------------------------------------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const sl_client *c = rd_kafka_opaque(rk);
    if (c && c->cli->verbose) fprintf(stderr, "%% rdkafka %d %s: %s\n", level, fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    sl_client *c = opaque;
    if (c->cli->verbose)
        fprintf(stderr, "%% rdkafka error %s: %s\n", rd_kafka_err2name(err), reason);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        c->brokers_down = true;
    } else if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE ||
               err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) {
        /* "host:port/bootstrap: Connect to ... refused (after 0ms in state
         * CONNECT)": keep the middle, the address is said by the caller. */
        const char *sep = strstr(reason, ": ");
        const char *slash = strchr(reason, '/');
        if (sep && slash && slash < sep) reason = sep + 2;
        size_t n = strlen(reason);
        const char *after = strstr(reason, " (after ");
        if (after && after[strlen(after) - 1] == ')') n = (size_t)(after - reason);
        snprintf(c->last_error, sizeof(c->last_error), "%.*s", (int)n, reason);
    }
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, bool from_user)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK) return 0;
    if (from_user) return sl_fail(SL_EXIT_USAGE, "bad property -X %s=%s: %s", key, value, errstr);
    return sl_fail(SL_EXIT_FAILED, "librdkafka refused %s=%s: %s", key, value, errstr);
}

rd_kafka_conf_t *sl_client_conf(sl_client *c, const sl_cli *cli, const char *const *defaults)
{
    memset(c, 0, sizeof(*c));
    c->cli = cli;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (conf_set(conf, "bootstrap.servers", cli->bootstrap, false) ||
        conf_set(conf, "client.id", "sluice", false))
        goto fail;
    for (const char *const *d = defaults; d && d[0]; d += 2)
        if (conf_set(conf, d[0], d[1], false)) goto fail;
    for (int i = 0; i < cli->nprops; i++) {
        char key[256];
        const char *value;
        if (sl_split_kv(cli->props[i], key, sizeof(key), &value) != 0) {
            sl_fail(SL_EXIT_USAGE, "bad property -X %s: expected KEY=VALUE", cli->props[i]);
            goto fail;
        }
        if (conf_set(conf, key, value, true)) goto fail;
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int sl_client_start(sl_client *c, rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    c->rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        return sl_fail(SL_EXIT_FAILED, "cannot create the Kafka client: %s", errstr);
    }
    return 0;
}

void sl_client_close(sl_client *c)
{
    if (!c->rk) return;
    rd_kafka_destroy(c->rk);
    c->rk = NULL;
    /* librdkafka frees its last resources on its own threads: wait for
     * them so the process exits with nothing left allocated. */
    rd_kafka_wait_destroyed(10000);
}

int sl_client_metadata(sl_client *c, const char *topic, const rd_kafka_metadata_t **md)
{
    /* Asked in slices so a "all brokers are down" report from librdkafka
     * ends the wait early instead of after the whole --timeout. */
    int64_t deadline = sl_now_ns() + (int64_t)c->cli->timeout_ms * 1000000;
    rd_kafka_topic_t *rkt = NULL;
    if (topic) {
        rkt = rd_kafka_topic_new(c->rk, topic, NULL);
        if (!rkt)
            return sl_fail(SL_EXIT_USAGE, "bad topic name '%s': %s", topic,
                           rd_kafka_err2str(rd_kafka_last_error()));
    }
    rd_kafka_resp_err_t err;
    *md = NULL;
    for (;;) {
        int64_t left_ms = (deadline - sl_now_ns()) / 1000000;
        int slice = (int)(left_ms < 1 ? 1 : left_ms > 500 ? 500 : left_ms);
        err = rd_kafka_metadata(c->rk, rkt ? 0 : 1, rkt, md, slice);
        if (!err) break;
        rd_kafka_poll(c->rk, 0); /* serves error_cb */
        if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT) break;
        if (c->brokers_down || sl_now_ns() >= deadline) break;
    }
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (!err) return 0;
    *md = NULL;
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        if (c->last_error[0])
            return sl_fail(SL_EXIT_UNREACHABLE, "cannot reach broker %s: %s", c->cli->bootstrap,
                           c->last_error);
        return sl_fail(SL_EXIT_UNREACHABLE, "cannot reach broker %s: no answer within %d ms",
                       c->cli->bootstrap, c->cli->timeout_ms);
    }
    return sl_fail(sl_exit_for(err), "metadata request failed: %s", rd_kafka_err2str(err));
}

const rd_kafka_metadata_topic_t *sl_metadata_topic(const rd_kafka_metadata_t *md, const char *topic,
                                                   int *code)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (strcmp(t->topic, topic) != 0) continue;
        switch (t->err) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
        case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE: /* being created or moving */
            *code = 0;
            return t;
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
            break;
        default:
            *code = sl_fail(sl_exit_for(t->err), "topic '%s': %s", topic, rd_kafka_err2str(t->err));
            return NULL;
        }
        break;
    }
    *code = sl_fail(SL_EXIT_NOT_FOUND, "unknown topic '%s'", topic);
    return NULL;
}

int sl_exit_for(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return SL_EXIT_OK;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
        return SL_EXIT_NOT_FOUND;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
        return SL_EXIT_UNREACHABLE;
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
        return SL_EXIT_REFUSED;
    default:
        return SL_EXIT_FAILED;
    }
}

int sl_admin_client_open(sl_client *c, const sl_cli *cli)
{
    static const char *const defaults[] = {"allow.auto.create.topics", "false", "isolation.level",
                                           "read_uncommitted", NULL};
    rd_kafka_conf_t *conf = sl_client_conf(c, cli, defaults);
    if (!conf) return SL_EXIT_USAGE;
    return sl_client_start(c, RD_KAFKA_CONSUMER, conf);
}

void sl_admin_begin(sl_client *c, sl_admin *a, rd_kafka_admin_op_t op)
{
    char errstr[256];
    a->q = rd_kafka_queue_new(c->rk);
    a->o = rd_kafka_AdminOptions_new(c->rk, op);
    rd_kafka_AdminOptions_set_request_timeout(a->o, c->cli->timeout_ms, errstr, sizeof(errstr));
    /* Only some operations have an operation timeout (the broker waits for
     * the change to take effect); the call fails harmlessly on the others. */
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS || op == RD_KAFKA_ADMIN_OP_DELETERECORDS)
        rd_kafka_AdminOptions_set_operation_timeout(a->o, c->cli->timeout_ms, errstr,
                                                    sizeof(errstr));
}

rd_kafka_event_t *sl_admin_end(sl_client *c, sl_admin *a, const char *what, int *code)
{
    /* The request timeout is --timeout; give librdkafka time to report it. */
    rd_kafka_event_t *ev = rd_kafka_queue_poll(a->q, c->cli->timeout_ms * 2 + 1000);
    rd_kafka_AdminOptions_destroy(a->o);
    rd_kafka_queue_destroy(a->q);
    a->o = NULL;
    a->q = NULL;
    if (!ev) {
        *code = sl_fail(SL_EXIT_FAILED, "%s: no answer within %d ms", what, c->cli->timeout_ms);
        return NULL;
    }
    rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    if (err) {
        *code = sl_fail(sl_exit_for(err), "%s failed: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    *code = 0;
    return ev;
}

int sl_offsets_at(sl_client *c, rd_kafka_topic_partition_list_t *parts, int64_t ts, bool strict)
{
    for (int i = 0; i < parts->cnt; i++) {
        parts->elems[i].offset = ts;
        parts->elems[i].err = 0;
    }
    if (parts->cnt == 0) return 0;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(c->rk, parts, c->cli->timeout_ms);
    if (err) return sl_fail(sl_exit_for(err), "listing offsets failed: %s", rd_kafka_err2str(err));
    for (int i = 0; strict && i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (p->err)
            return sl_fail(sl_exit_for(p->err), "listing offsets of %s[%" PRId32 "] failed: %s",
                           p->topic, p->partition, rd_kafka_err2str(p->err));
    }
    return 0;
}
