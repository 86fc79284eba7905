#include "broker/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

static const sl_cfg_def g_defs[SL_BCFG__COUNT] = {
#define SL_X(id, name, type, def, min, max, flags, doc) {name, type, def, min, max, flags, doc},
    SL_BROKER_CONFIGS(SL_X)
#undef SL_X
};

static const struct {
    const char *name;
    sl_cfg_type type;
    sl_bcfg broker;
} g_topic_defs[SL_TCFG__COUNT] = {
#define SL_X(id, name, type, broker) {name, type, SL_BCFG_##broker},
    SL_TOPIC_CONFIGS(SL_X)
#undef SL_X
};

struct sl_config {
    char *value[SL_BCFG__COUNT]; /* NULL = unset */
    int64_t num[SL_BCFG__COUNT]; /* parsed INT/LONG/BOOLEAN */
    sl_cfg_source source[SL_BCFG__COUNT];
    /* parsed listeners */
    char *listen_host;
    int listen_port;
    char *adv_host;
    int adv_port;
};

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
    if (!err || !len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!*s) return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, int64_t *out)
{
    if (strcasecmp(s, "true") == 0)
        *out = 1;
    else if (strcasecmp(s, "false") == 0)
        *out = 0;
    else
        return false;
    return true;
}

static bool in_list(const char *s, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(s, *allowed) == 0) return true;
    return false;
}

/* Checks each comma-separated item of a list against `allowed`. */
static bool list_items_in(const char *s, const char *const *allowed)
{
    char item[64];
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        while (n && isspace((unsigned char)*s))
            s++, n--;
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if (n == 0 || n >= sizeof item) return false;
        memcpy(item, s, n);
        item[n] = '\0';
        if (!in_list(item, allowed)) return false;
        if (!comma) break;
        s = comma + 1;
    }
    return true;
}

static const char *const k_cleanup[] = {"delete", "compact", NULL};
static const char *const k_ts_types[] = {"CreateTime", "LogAppendTime", NULL};
static const char *const k_compression[] = {"producer", NULL};
static const char *const k_levels[] = {"debug", "info", "warn", "warning", "error", "off", NULL};

/* Value checks beyond type and range, shared by broker and topic settings. */
static int check_enum(const char *name, const char *value, char *err, size_t err_len)
{
    if (strcmp(name, "log.cleanup.policy") == 0 || strcmp(name, "cleanup.policy") == 0) {
        if (!list_items_in(value, k_cleanup)) {
            set_err(err, err_len, "%s must be delete, compact or compact,delete (got '%s')", name,
                    value);
            return SL_ERR_INVALID_CONFIG;
        }
    } else if (strcmp(name, "log.message.timestamp.type") == 0 ||
               strcmp(name, "message.timestamp.type") == 0) {
        if (!in_list(value, k_ts_types)) {
            set_err(err, err_len, "%s must be CreateTime or LogAppendTime (got '%s')", name, value);
            return SL_ERR_INVALID_CONFIG;
        }
    } else if (strcmp(name, "compression.type") == 0) {
        if (!in_list(value, k_compression)) {
            set_err(err, err_len,
                    "%s: only 'producer' is supported (batches are stored as the client "
                    "compressed them; got '%s')",
                    name, value);
            return SL_ERR_INVALID_CONFIG;
        }
    } else if (strcmp(name, "log.level") == 0) {
        if (!in_list(value, k_levels)) {
            set_err(err, err_len, "log.level must be debug, info, warn or error (got '%s')", value);
            return SL_ERR_INVALID_CONFIG;
        }
    }
    return 0;
}

/* Type and range check of one value; on success *num holds the number. */
static int check_value(const char *name, sl_cfg_type type, int64_t min, int64_t max,
                       const char *value, int64_t *num, char *err, size_t err_len)
{
    *num = 0;
    switch (type) {
    case SL_CFG_INT:
    case SL_CFG_LONG:
        if (!parse_i64(value, num)) {
            set_err(err, err_len, "%s must be an integer (got '%s')", name, value);
            return SL_ERR_INVALID_CONFIG;
        }
        if (type == SL_CFG_INT && (*num < INT32_MIN || *num > INT32_MAX)) {
            set_err(err, err_len, "%s must fit in 32 bits (got '%s')", name, value);
            return SL_ERR_INVALID_CONFIG;
        }
        if ((min || max) && (*num < min || *num > max)) {
            set_err(err, err_len, "%s must be between %lld and %lld (got '%s')", name,
                    (long long)min, (long long)max, value);
            return SL_ERR_INVALID_CONFIG;
        }
        break;
    case SL_CFG_BOOLEAN:
        if (!parse_bool(value, num)) {
            set_err(err, err_len, "%s must be true or false (got '%s')", name, value);
            return SL_ERR_INVALID_CONFIG;
        }
        break;
    default:
        break;
    }
    return check_enum(name, value, err, err_len);
}

int sl_config_lookup(const char *name)
{
    for (int i = 0; i < SL_BCFG__COUNT; i++)
        if (strcmp(g_defs[i].name, name) == 0) return i;
    return -1;
}

const sl_cfg_def *sl_config_def(sl_bcfg id)
{
    return &g_defs[id];
}

sl_config *sl_config_new(void)
{
    sl_config *c = SL_NEW(sl_config);
    for (int i = 0; i < SL_BCFG__COUNT; i++) {
        const sl_cfg_def *d = &g_defs[i];
        c->source[i] = SL_CFG_SRC_DEFAULT;
        if (d->default_value[0]) {
            c->value[i] = sl_strdup(d->default_value);
            int rc = check_value(d->name, d->type, d->min, d->max, d->default_value, &c->num[i],
                                 NULL, 0);
            (void)rc; /* the built-in table is checked by the unit tests */
        }
    }
    return c;
}

void sl_config_free(sl_config *c)
{
    if (!c) return;
    for (int i = 0; i < SL_BCFG__COUNT; i++)
        sl_free(c->value[i]);
    sl_free(c->listen_host);
    sl_free(c->adv_host);
    sl_free(c);
}

int sl_config_set(sl_config *c, const char *name, const char *value, sl_cfg_source source,
                  char *err, size_t err_len)
{
    int i = sl_config_lookup(name);
    if (i < 0) {
        set_err(err, err_len, "unknown setting '%s' (see sluiced --help)", name);
        return SL_ERR_NOT_FOUND;
    }
    const sl_cfg_def *d = &g_defs[i];
    int64_t num;
    int rc = check_value(d->name, d->type, d->min, d->max, value, &num, err, err_len);
    if (rc < 0) return rc;
    sl_free(c->value[i]);
    c->value[i] = sl_strdup(value);
    c->num[i] = num;
    c->source[i] = source;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int sl_config_load_text(sl_config *c, const char *text, size_t len, const char *origin, char *err,
                        size_t err_len)
{
    char line[4096];
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        size_t eol = pos;
        while (eol < len && text[eol] != '\n')
            eol++;
        lineno++;
        size_t n = eol - pos;
        if (n >= sizeof line) {
            set_err(err, err_len, "%s:%d: line too long", origin, lineno);
            return SL_ERR_INVALID_CONFIG;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = eol + 1;
        if (memchr(line, '\0', n)) {
            set_err(err, err_len, "%s:%d: NUL byte in line", origin, lineno);
            return SL_ERR_INVALID_CONFIG;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!') continue;
        char *eq = strpbrk(s, "=:");
        if (!eq) {
            set_err(err, err_len, "%s:%d: expected key=value, got '%s'", origin, lineno, s);
            return SL_ERR_INVALID_CONFIG;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        char why[256];
        int rc = sl_config_set(c, key, value, SL_CFG_SRC_STATIC_BROKER, why, sizeof why);
        if (rc < 0) {
            set_err(err, err_len, "%s:%d: %s", origin, lineno, why);
            return rc;
        }
    }
    return 0;
}

int sl_config_load_file(sl_config *c, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, err_len, "cannot open config file %s: %s", path, strerror(errno));
        return SL_ERR_IO;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > 16 * 1024 * 1024) {
            fclose(f);
            sl_free(text);
            set_err(err, err_len, "config file %s is larger than 16 MiB", path);
            return SL_ERR_INVALID_CONFIG;
        }
        if (len + n > cap) {
            cap = (len + n) * 2;
            text = sl_realloc(text, cap);
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    fclose(f);
    int rc = sl_config_load_text(c, text ? text : "", len, path, err, err_len);
    sl_free(text);
    return rc;
}

/* Parses "PLAINTEXT://host:port" (first entry of a list). */
static int parse_listener(const char *name, const char *v, char **host, int *port, char *err,
                          size_t err_len)
{
    const char *p = strstr(v, "://");
    if (!p) {
        set_err(err, err_len, "%s must look like PLAINTEXT://host:port (got '%s')", name, v);
        return SL_ERR_INVALID_CONFIG;
    }
    if (strncmp(v, "PLAINTEXT://", 12) != 0) {
        set_err(err, err_len, "%s: only the PLAINTEXT security protocol is supported (got '%s')",
                name, v);
        return SL_ERR_INVALID_CONFIG;
    }
    p += 3;
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (p[i] == ':') colon = p + i;
    if (!colon) {
        set_err(err, err_len, "%s: missing :port in '%s'", name, v);
        return SL_ERR_INVALID_CONFIG;
    }
    char portbuf[16];
    size_t plen = n - (size_t)(colon + 1 - p);
    if (plen == 0 || plen >= sizeof portbuf) {
        set_err(err, err_len, "%s: bad port in '%s'", name, v);
        return SL_ERR_INVALID_CONFIG;
    }
    memcpy(portbuf, colon + 1, plen);
    portbuf[plen] = '\0';
    int64_t port64;
    if (!parse_i64(portbuf, &port64) || port64 < 0 || port64 > 65535) {
        set_err(err, err_len, "%s: bad port in '%s'", name, v);
        return SL_ERR_INVALID_CONFIG;
    }
    size_t hlen = (size_t)(colon - p);
    if (hlen >= 2 && p[0] == '[' && p[hlen - 1] == ']') { /* [::1] */
        p++;
        hlen -= 2;
    }
    sl_free(*host);
    *host = sl_strndup(p, hlen);
    *port = (int)port64;
    return 0;
}

int sl_config_finish(sl_config *c, char *err, size_t err_len)
{
    if (sl_config_is_set(c, SL_BCFG_BROKER_ID) && !sl_config_is_set(c, SL_BCFG_NODE_ID))
        sl_config_set(c, "node.id", c->value[SL_BCFG_BROKER_ID], c->source[SL_BCFG_BROKER_ID], NULL,
                      0);
    else if (!sl_config_is_set(c, SL_BCFG_BROKER_ID))
        /* Kafka shows the same id under both names. */
        sl_config_set(c, "broker.id", c->value[SL_BCFG_NODE_ID], c->source[SL_BCFG_NODE_ID], NULL,
                      0);
    int rc = parse_listener("listeners", c->value[SL_BCFG_LISTENERS], &c->listen_host,
                            &c->listen_port, err, err_len);
    if (rc < 0) return rc;
    if (sl_config_is_set(c, SL_BCFG_ADVERTISED_LISTENERS)) {
        rc = parse_listener("advertised.listeners", c->value[SL_BCFG_ADVERTISED_LISTENERS],
                            &c->adv_host, &c->adv_port, err, err_len);
        if (rc < 0) return rc;
    } else {
        c->adv_host = sl_strdup(c->listen_host);
        c->adv_port = c->listen_port;
    }
    if (!c->adv_host[0] || strcmp(c->adv_host, "0.0.0.0") == 0) {
        set_err(err, err_len,
                "advertised.listeners must name a host clients can reach (listeners binds to "
                "all interfaces)");
        return SL_ERR_INVALID_CONFIG;
    }
    const char *dir = sl_config_log_dir(c);
    if (!dir || !dir[0]) {
        set_err(err, err_len, "log.dirs must name a directory");
        return SL_ERR_INVALID_CONFIG;
    }
    if (sl_config_is_set(c, SL_BCFG_LOG_DIRS) && strchr(c->value[SL_BCFG_LOG_DIRS], ',')) {
        set_err(err, err_len, "log.dirs: more than one log directory is not supported yet");
        return SL_ERR_INVALID_CONFIG;
    }
    return 0;
}

bool sl_config_is_set(const sl_config *c, sl_bcfg id)
{
    return c->value[id] != NULL;
}

int64_t sl_config_int(const sl_config *c, sl_bcfg id)
{
    return c->num[id];
}

bool sl_config_bool(const sl_config *c, sl_bcfg id)
{
    return c->num[id] != 0;
}

const char *sl_config_str(const sl_config *c, sl_bcfg id)
{
    return c->value[id];
}

sl_cfg_source sl_config_source(const sl_config *c, sl_bcfg id)
{
    return c->source[id];
}

int32_t sl_config_node_id(const sl_config *c)
{
    return (int32_t)c->num[SL_BCFG_NODE_ID];
}

const char *sl_config_log_dir(const sl_config *c)
{
    if (sl_config_is_set(c, SL_BCFG_LOG_DIRS)) return c->value[SL_BCFG_LOG_DIRS];
    return c->value[SL_BCFG_LOG_DIR];
}

const char *sl_config_listen_host(const sl_config *c)
{
    return c->listen_host;
}
int sl_config_listen_port(const sl_config *c)
{
    return c->listen_port;
}
const char *sl_config_advertised_host(const sl_config *c)
{
    return c->adv_host;
}
int sl_config_advertised_port(const sl_config *c)
{
    return c->adv_port;
}

/* ---- topic settings ---- */

int sl_topic_config_lookup(const char *name)
{
    for (int i = 0; i < SL_TCFG__COUNT; i++)
        if (strcmp(g_topic_defs[i].name, name) == 0) return i;
    return -1;
}

const char *sl_topic_config_name(sl_tcfg id)
{
    return g_topic_defs[id].name;
}

sl_cfg_type sl_topic_config_type(sl_tcfg id)
{
    return g_topic_defs[id].type;
}

sl_bcfg sl_topic_config_broker_synonym(sl_tcfg id)
{
    return g_topic_defs[id].broker;
}

int sl_topic_config_validate(const char *name, const char *value, char *err, size_t err_len)
{
    int i = sl_topic_config_lookup(name);
    if (i < 0) {
        set_err(err, err_len, "unknown topic config '%s'", name);
        return SL_ERR_NOT_FOUND;
    }
    if (!value) {
        set_err(err, err_len, "%s needs a value", name);
        return SL_ERR_INVALID_CONFIG;
    }
    const sl_cfg_def *b = &g_defs[g_topic_defs[i].broker];
    int64_t min = b->min, max = b->max;
    /* A few topic settings accept values their broker synonym's unit doesn't. */
    if (i == SL_TCFG_RETENTION_MS || i == SL_TCFG_RETENTION_BYTES)
        min = -1, max = INT64_MAX;
    else if (i == SL_TCFG_SEGMENT_MS || i == SL_TCFG_FLUSH_MS)
        min = i == SL_TCFG_FLUSH_MS ? 0 : 1, max = INT64_MAX;
    int64_t num;
    return check_value(name, g_topic_defs[i].type, min, max, value, &num, err, err_len);
}

const char *sl_topic_config_default(const sl_config *c, sl_tcfg id, char *buf, size_t len)
{
    int64_t v;
    switch (id) {
    case SL_TCFG_RETENTION_MS:
        if (sl_config_is_set(c, SL_BCFG_LOG_RETENTION_MS))
            v = c->num[SL_BCFG_LOG_RETENTION_MS];
        else if (sl_config_is_set(c, SL_BCFG_LOG_RETENTION_MINUTES))
            v = c->num[SL_BCFG_LOG_RETENTION_MINUTES] < 0
                    ? -1
                    : c->num[SL_BCFG_LOG_RETENTION_MINUTES] * 60000;
        else
            v = c->num[SL_BCFG_LOG_RETENTION_HOURS] < 0
                    ? -1
                    : c->num[SL_BCFG_LOG_RETENTION_HOURS] * 3600000;
        break;
    case SL_TCFG_SEGMENT_MS:
        v = sl_config_is_set(c, SL_BCFG_LOG_ROLL_MS) ? c->num[SL_BCFG_LOG_ROLL_MS]
                                                     : c->num[SL_BCFG_LOG_ROLL_HOURS] * 3600000;
        break;
    case SL_TCFG_FLUSH_MS:
        v = sl_config_is_set(c, SL_BCFG_LOG_FLUSH_INTERVAL_MS)
                ? c->num[SL_BCFG_LOG_FLUSH_INTERVAL_MS]
                : INT64_MAX;
        break;
    default: {
        const char *s = c->value[g_topic_defs[id].broker];
        if (!s) return NULL;
        snprintf(buf, len, "%s", s);
        return buf;
    }
    }
    snprintf(buf, len, "%lld", (long long)v);
    return buf;
}

static int64_t num_or(const char *s, int64_t fallback)
{
    int64_t v;
    return s && parse_i64(s, &v) ? v : fallback;
}

void sl_topic_config_resolve(const sl_config *c, const sl_config_kv *overrides, int n,
                             sl_topic_config *out)
{
    const char *val[SL_TCFG__COUNT];
    char bufs[SL_TCFG__COUNT][64];
    for (int i = 0; i < SL_TCFG__COUNT; i++)
        val[i] = sl_topic_config_default(c, (sl_tcfg)i, bufs[i], sizeof bufs[i]);
    for (int k = 0; k < n; k++) {
        int i = sl_topic_config_lookup(overrides[k].key);
        if (i >= 0 && overrides[k].value) val[i] = overrides[k].value;
    }
    out->retention_ms = num_or(val[SL_TCFG_RETENTION_MS], -1);
    out->retention_bytes = num_or(val[SL_TCFG_RETENTION_BYTES], -1);
    out->segment_bytes = num_or(val[SL_TCFG_SEGMENT_BYTES], 1073741824);
    out->segment_ms = num_or(val[SL_TCFG_SEGMENT_MS], 604800000);
    out->index_interval_bytes = num_or(val[SL_TCFG_INDEX_INTERVAL_BYTES], 4096);
    out->flush_messages = num_or(val[SL_TCFG_FLUSH_MESSAGES], INT64_MAX);
    out->flush_ms = num_or(val[SL_TCFG_FLUSH_MS], INT64_MAX);
    out->max_message_bytes = num_or(val[SL_TCFG_MAX_MESSAGE_BYTES], 1048588);
    out->timestamp_difference_max_ms =
        num_or(val[SL_TCFG_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS], INT64_MAX);
    out->min_insync_replicas = (int32_t)num_or(val[SL_TCFG_MIN_INSYNC_REPLICAS], 1);
    const char *tt = val[SL_TCFG_MESSAGE_TIMESTAMP_TYPE];
    out->log_append_time = tt && strcmp(tt, "LogAppendTime") == 0;
    const char *cp = val[SL_TCFG_CLEANUP_POLICY];
    out->compact = cp && strstr(cp, "compact") != NULL;
    out->delete_retention = !cp || strstr(cp, "delete") != NULL;
}

void sl_config_print_help(FILE *out)
{
    fprintf(out,
            "Settings (Kafka property names; set in a properties file or as --name=value):\n\n");
    for (int i = 0; i < SL_BCFG__COUNT; i++) {
        const sl_cfg_def *d = &g_defs[i];
        fprintf(out, "  %-42s default: %s\n      %s\n", d->name,
                d->default_value[0] ? d->default_value : "(unset)", d->doc);
    }
}

void sl_config_print_markdown(FILE *out)
{
    fprintf(out, "| setting | default | what it does |\n|---|---|---|\n");
    for (int i = 0; i < SL_BCFG__COUNT; i++) {
        const sl_cfg_def *d = &g_defs[i];
        fprintf(out, "| `%s` | %s%s%s | %s |\n", d->name, d->default_value[0] ? "`" : "",
                d->default_value[0] ? d->default_value : "(unset)", d->default_value[0] ? "`" : "",
                d->doc);
    }
}
