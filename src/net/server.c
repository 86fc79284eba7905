/* Listener side of src/net: configuration, accept and connection limits,
 * the idle sweep, buffer pools, cork/uncork and server shutdown.
 * Runs on the server's loop thread only. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/internal.h"

#define RPOOL_MAX_BYTES    (4u << 20) /* idle read buffers kept for reuse */
#define REQ_POOL_MAX       1024       /* idle request slots kept for reuse */
#define REQ_POOL_BUF_KEEP  65536      /* response buffer capacity kept in a slot */
#define REQ_POOL_MAX_BYTES (4 << 20)  /* idle slots and their buffers together */
#define ACCEPT_BATCH       64
#define ACCEPT_RETRY_MS    100
#define LOG_LINES_PER_SEC  20

void sl_server_config_default(sl_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->socket_request_max_bytes = 104857600;
    cfg->queued_max_requests = 100;
    cfg->queued_max_response_bytes = 4 << 20;
    cfg->queued_max_request_bytes = 64 << 20;
    cfg->max_connections = INT32_MAX;
    cfg->max_connections_per_ip = INT32_MAX;
    cfg->max_connections_per_ip_overrides = NULL;
    cfg->connections_max_idle_ms = 600000;
    cfg->socket_send_buffer_bytes = -1;
    cfg->socket_receive_buffer_bytes = -1;
    cfg->listen_backlog = 1024;
    cfg->read_chunk_bytes = 65536;
}

/* ---- addresses ----------------------------------------------------------- */

static int ipkey_from_string(const char *s, size_t n, sl_ipkey *k)
{
    char tmp[INET6_ADDRSTRLEN + 2];
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    struct in_addr a4;
    memset(k, 0, sizeof *k);
    if (inet_pton(AF_INET, tmp, &a4) == 1) {
        k->b[10] = k->b[11] = 0xff;
        memcpy(k->b + 12, &a4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, k->b) == 1) return 0;
    return -1;
}

static void ipkey_from_sockaddr(const struct sockaddr_storage *ss, sl_ipkey *k, char *peer,
                                size_t peer_len)
{
    char host[INET6_ADDRSTRLEN];
    memset(k, 0, sizeof *k);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        k->b[10] = k->b[11] = 0xff;
        memcpy(k->b + 12, &sin->sin_addr, 4);
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(peer, peer_len, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        memcpy(k->b, &sin6->sin6_addr, 16);
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        snprintf(peer, peer_len, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
    } else {
        snprintf(peer, peer_len, "unknown");
    }
}

/* Parses "ip:count,ip:count"; out may be NULL (validation only). Returns the
 * number of entries or -1 with a reason in msg. */
static long parse_overrides(const char *spec, sl_ipoverride *out, char *msg, size_t msg_len)
{
    long n = 0;
    const char *p = spec;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            const char *colon = NULL;
            for (size_t i = len; i > 0; i--)
                if (p[i - 1] == ':') {
                    colon = p + i - 1;
                    break;
                }
            sl_ipkey k;
            if (!colon || ipkey_from_string(p, (size_t)(colon - p), &k) != 0) {
                snprintf(msg, msg_len,
                         "max.connections.per.ip.overrides: '%.*s' is not <ip>:<count> with a "
                         "numeric IP address",
                         (int)len, p);
                return -1;
            }
            char num[16];
            size_t nl = len - (size_t)(colon + 1 - p);
            char *ep = NULL;
            long v = -1;
            if (nl > 0 && nl < sizeof num) {
                memcpy(num, colon + 1, nl);
                num[nl] = '\0';
                errno = 0;
                v = strtol(num, &ep, 10);
                if (errno || *ep) v = -1;
            }
            if (v < 0 || v > INT32_MAX) {
                snprintf(msg, msg_len, "max.connections.per.ip.overrides: bad count in '%.*s'",
                         (int)len, p);
                return -1;
            }
            if (out) {
                out[n].key = k;
                out[n].limit = (int32_t)v;
            }
            n++;
        }
        p = end ? end + 1 : NULL;
    }
    return n;
}

int sl_server_config_check(const sl_server_config *cfg, char *msg, size_t msg_len)
{
    char dummy[8];
    if (!msg) {
        msg = dummy;
        msg_len = sizeof dummy;
    }
    int32_t rc = cfg->read_chunk_bytes;
    if (cfg->socket_request_max_bytes <= 0) {
        snprintf(msg, msg_len, "socket.request.max.bytes must be positive");
    } else if (cfg->queued_max_requests <= 0) {
        snprintf(msg, msg_len, "queued.max.requests must be positive");
    } else if (cfg->queued_max_response_bytes <= 0 || cfg->queued_max_request_bytes <= 0) {
        snprintf(msg, msg_len, "queued response/request byte limits must be positive");
    } else if (cfg->max_connections < 0 || cfg->max_connections_per_ip < 0) {
        snprintf(msg, msg_len, "max.connections and max.connections.per.ip must be >= 0");
    } else if (cfg->listen_backlog <= 0) {
        snprintf(msg, msg_len, "socket.listen.backlog.size must be positive");
    } else if (rc < 4096 || rc > (1 << 20) || (rc & (rc - 1)) != 0) {
        snprintf(msg, msg_len, "read chunk size must be a power of two in 4096..1048576");
    } else if (cfg->max_connections_per_ip_overrides &&
               parse_overrides(cfg->max_connections_per_ip_overrides, NULL, msg, msg_len) < 0) {
        /* msg set */
    } else {
        return 0;
    }
    return SL_ERR_INVALID_CONFIG;
}

/* ---- logging ------------------------------------------------------------- */

/* Connection-level warnings (rejections, bad frames) are driven by peers, so
 * a flood of them must not flood the log: at most LOG_LINES_PER_SEC lines a
 * second, then one line saying how many were dropped. */
void sl_net_log_limited(sl_server *s, const char *fmt, ...)
{
    if (SL_LOG_WARN < sl_log_get_level()) return;
    uint64_t now = uv_now(s->loop);
    if (now - s->log_window_ms >= 1000) {
        if (s->log_suppressed) SL_WARN("net", "%u similar log lines suppressed", s->log_suppressed);
        s->log_window_ms = now;
        s->log_in_window = 0;
        s->log_suppressed = 0;
    }
    if (s->log_in_window >= LOG_LINES_PER_SEC) {
        s->log_suppressed++;
        return;
    }
    s->log_in_window++;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sl_log_write(SL_LOG_WARN, "net", "%s", line);
}

void sl_server_log_peer(sl_server *s, const char *fmt, ...)
{
    if (SL_LOG_WARN < sl_log_get_level()) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sl_net_log_limited(s, "%s", line);
}

/* ---- per-IP connection counts -------------------------------------------- */

static uint32_t ipkey_hash(const sl_ipkey *k)
{
    uint64_t a, b;
    memcpy(&a, k->b, 8);
    memcpy(&b, k->b + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
    return (uint32_t)(h >> 32);
}

static sl_ipcount **ipcount_slot(sl_server *s, const sl_ipkey *k)
{
    sl_ipcount **pp = &s->ipbuckets[ipkey_hash(k) & (s->ipbuckets_n - 1)];
    while (*pp && memcmp((*pp)->key.b, k->b, 16) != 0)
        pp = &(*pp)->next;
    return pp;
}

static int32_t ipcount_get(sl_server *s, const sl_ipkey *k)
{
    sl_ipcount **pp = ipcount_slot(s, k);
    return *pp ? (*pp)->count : 0;
}

static void ipcount_grow(sl_server *s)
{
    uint32_t n = s->ipbuckets_n * 2;
    sl_ipcount **nb = sl_calloc(n, sizeof *nb);
    for (uint32_t i = 0; i < s->ipbuckets_n; i++) {
        sl_ipcount *e = s->ipbuckets[i];
        while (e) {
            sl_ipcount *next = e->next;
            uint32_t h = ipkey_hash(&e->key) & (n - 1);
            e->next = nb[h];
            nb[h] = e;
            e = next;
        }
    }
    s->stats.mem_bytes += (int64_t)(n - s->ipbuckets_n) * (int64_t)sizeof *nb;
    sl_free(s->ipbuckets);
    s->ipbuckets = nb;
    s->ipbuckets_n = n;
}

static void ipcount_add(sl_server *s, const sl_ipkey *k, int delta)
{
    sl_ipcount **pp = ipcount_slot(s, k);
    if (!*pp) {
        if (delta <= 0) return;
        sl_ipcount *e = SL_NEW(sl_ipcount);
        e->key = *k;
        *pp = e;
        s->ipcount_n++;
        s->stats.mem_bytes += (int64_t)sizeof *e;
    }
    sl_ipcount *e = *pp;
    e->count += delta;
    if (e->count <= 0) {
        *pp = e->next;
        sl_free(e);
        s->ipcount_n--;
        s->stats.mem_bytes -= (int64_t)sizeof *e;
    } else if (delta > 0 && s->ipcount_n > 2 * s->ipbuckets_n) {
        ipcount_grow(s);
    }
}

static int32_t ip_limit(const sl_server *s, const sl_ipkey *k)
{
    for (size_t i = 0; i < s->noverrides; i++)
        if (memcmp(s->overrides[i].key.b, k->b, 16) == 0) return s->overrides[i].limit;
    return s->cfg.max_connections_per_ip;
}

/* ---- pools ----------------------------------------------------------------- */

static int rbuf_class(size_t want)
{
    int cls = 0;
    while (((size_t)1 << (SL_RBUF_MIN_SHIFT + cls)) < want)
        cls++;
    return cls;
}

sl_rbuf *sl_net_rbuf_get(sl_server *s, size_t want)
{
    if (want > (size_t)s->cfg.read_chunk_bytes) want = (size_t)s->cfg.read_chunk_bytes;
    int cls = rbuf_class(want);
    size_t cap = (size_t)1 << (SL_RBUF_MIN_SHIFT + cls);
    sl_rbuf *b = s->rpool[cls];
    if (b) {
        s->rpool[cls] = b->next_free;
        s->rpool_n[cls]--;
        s->rpool_bytes -= cap;
        s->stats.pool_bytes -= (int64_t)(sizeof *b + cap);
    } else {
        b = sl_malloc(sizeof *b + cap);
        b->cls = (uint8_t)cls;
        b->cap = cap;
        s->stats.mem_bytes += (int64_t)(sizeof *b + cap);
    }
    b->refs = 1;
    b->next_free = NULL;
    return b;
}

sl_rbuf *sl_net_rbuf_own(sl_server *s, size_t cap)
{
    sl_rbuf *b = sl_malloc(sizeof *b + cap);
    b->refs = 1;
    b->cls = SL_RBUF_OWN;
    b->cap = cap;
    b->next_free = NULL;
    s->stats.mem_bytes += (int64_t)(sizeof *b + cap);
    return b;
}

sl_rbuf *sl_net_rbuf_grow(sl_server *s, sl_rbuf *b, size_t cap)
{
    s->stats.mem_bytes += (int64_t)cap - (int64_t)b->cap;
    b = sl_realloc(b, sizeof *b + cap);
    b->cap = cap;
    return b;
}

void sl_net_rbuf_unref(sl_server *s, sl_rbuf *b)
{
    if (!b || --b->refs > 0) return;
    if (b->cls != SL_RBUF_OWN && s->rpool_bytes + b->cap <= RPOOL_MAX_BYTES && !s->closing) {
        b->next_free = s->rpool[b->cls];
        s->rpool[b->cls] = b;
        s->rpool_n[b->cls]++;
        s->rpool_bytes += b->cap;
        s->stats.pool_bytes += (int64_t)(sizeof *b + b->cap);
        return;
    }
    s->stats.mem_bytes -= (int64_t)(sizeof *b + b->cap);
    sl_free(b);
}

static int64_t buf_bytes(const sl_buf *b)
{
    return (int64_t)b->cap + (int64_t)(b->splice_cap * sizeof(sl_splice));
}

sl_req *sl_net_req_get(sl_server *s)
{
    sl_req *r = s->req_pool;
    if (r) {
        int64_t bytes = (int64_t)sizeof *r + buf_bytes(&r->resp);
        s->req_pool = r->next_free;
        s->req_pool_n--;
        s->req_pool_bytes -= bytes;
        s->stats.pool_bytes -= bytes;
    } else {
        r = SL_NEW(sl_req);
        sl_buf_init(&r->resp);
        s->stats.mem_bytes += (int64_t)sizeof *r;
    }
    r->next_free = NULL;
    r->frame_buf = NULL;
    r->frame_len = 0;
    r->state = SL_REQ_PENDING;
    return r;
}

void sl_net_req_put(sl_server *s, sl_req *r)
{
    sl_buf_reset(&r->resp);
    if (r->resp.cap > REQ_POOL_BUF_KEEP || r->resp.splice_cap > 64 ||
        s->req_pool_bytes + buf_bytes(&r->resp) > REQ_POOL_MAX_BYTES) {
        /* Response buffers travel back to the broker's encoder on the next
         * swap; keep the common small ones warm, not every rare big one. */
        s->stats.mem_bytes -= buf_bytes(&r->resp);
        sl_buf_fini(&r->resp);
        sl_buf_init(&r->resp);
    }
    int64_t bytes = (int64_t)sizeof *r + buf_bytes(&r->resp);
    if (s->req_pool_n >= REQ_POOL_MAX || s->closing ||
        s->req_pool_bytes + bytes > REQ_POOL_MAX_BYTES) {
        s->stats.mem_bytes -= bytes;
        sl_buf_fini(&r->resp);
        sl_free(r);
        return;
    }
    r->next_free = s->req_pool;
    s->req_pool = r;
    s->req_pool_n++;
    s->req_pool_bytes += bytes;
    s->stats.pool_bytes += bytes;
}

void sl_net_mem_buf_delta(sl_server *s, const sl_buf *before, const sl_buf *after)
{
    if (before) s->stats.mem_bytes -= buf_bytes(before);
    if (after) s->stats.mem_bytes += buf_bytes(after);
}

static void pools_free(sl_server *s)
{
    for (int i = 0; i < SL_RBUF_NCLASS; i++) {
        while (s->rpool[i]) {
            sl_rbuf *b = s->rpool[i];
            s->rpool[i] = b->next_free;
            s->stats.mem_bytes -= (int64_t)(sizeof *b + b->cap);
            s->stats.pool_bytes -= (int64_t)(sizeof *b + b->cap);
            sl_free(b);
        }
        s->rpool_n[i] = 0;
    }
    s->rpool_bytes = 0;
    while (s->req_pool) {
        sl_req *r = s->req_pool;
        s->req_pool = r->next_free;
        s->stats.mem_bytes -= (int64_t)sizeof *r + buf_bytes(&r->resp);
        s->stats.pool_bytes -= (int64_t)sizeof *r + buf_bytes(&r->resp);
        sl_buf_fini(&r->resp);
        sl_free(r);
    }
    s->req_pool_n = 0;
    s->req_pool_bytes = 0;
}

/* ---- server lifecycle ---------------------------------------------------- */

static void on_idle_timer(uv_timer_t *t);
static void on_resume_idle(uv_idle_t *h);
static void on_accept_timer(uv_timer_t *t);

sl_server *sl_server_new(uv_loop_t *loop, const sl_server_config *cfg, const sl_server_handler *h,
                         void *ctx)
{
    char msg[256];
    sl_server_config def;
    if (!cfg) {
        sl_server_config_default(&def);
        cfg = &def;
    }
    if (sl_server_config_check(cfg, msg, sizeof msg) != 0) {
        SL_ERROR("net", "invalid configuration: %s", msg);
        return NULL;
    }
    if (!h || !h->on_request) {
        SL_ERROR("net", "invalid configuration: no on_request handler");
        return NULL;
    }
    sl_server *s = SL_NEW(sl_server);
    s->loop = loop;
    s->cfg = *cfg;
    s->cfg.max_connections_per_ip_overrides = NULL;
    s->h = *h;
    s->ctx = ctx;
    s->stats.mem_bytes = (int64_t)sizeof *s;
    sl_dlink_init(&s->conns);
    sl_dlink_init(&s->dirty);
    sl_dlink_init(&s->resume);
    if (cfg->max_connections_per_ip_overrides) {
        long n = parse_overrides(cfg->max_connections_per_ip_overrides, NULL, msg, sizeof msg);
        if (n > 0) {
            s->overrides = sl_calloc((size_t)n, sizeof *s->overrides);
            s->noverrides = (size_t)n;
            parse_overrides(cfg->max_connections_per_ip_overrides, s->overrides, msg, sizeof msg);
            s->stats.mem_bytes += n * (int64_t)sizeof *s->overrides;
        }
    }
    s->track_ips = s->cfg.max_connections_per_ip < INT32_MAX || s->noverrides > 0;
    if (s->track_ips) {
        s->ipbuckets_n = 64;
        s->ipbuckets = sl_calloc(s->ipbuckets_n, sizeof *s->ipbuckets);
        s->stats.mem_bytes += s->ipbuckets_n * (int64_t)sizeof *s->ipbuckets;
    }
    uv_timer_init(loop, &s->idle_timer);
    s->idle_timer.data = s;
    uv_timer_init(loop, &s->accept_timer);
    s->accept_timer.data = s;
    uv_idle_init(loop, &s->resume_idle);
    s->resume_idle.data = s;
    s->handles_open = 3;
    if (s->cfg.connections_max_idle_ms > 0) {
        /* Checking at a quarter of the timeout closes an idle connection
         * within 1.25x the timeout, at a cost of a few wakeups a second. */
        uint64_t every = (uint64_t)s->cfg.connections_max_idle_ms / 4;
        if (every < 10) every = 10;
        if (every > 1000) every = 1000;
        uv_timer_start(&s->idle_timer, on_idle_timer, every, every);
    }
    return s;
}

static void on_listen(uv_poll_t *h, int status, int events);

int sl_server_listen(sl_server *s, const char *host, int port)
{
    if (s->closing || s->nlisteners >= SL_NET_MAX_LISTENERS || port < 0 || port > 65535)
        return SL_ERR_INVALID_ARG;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    if (host && !*host) host = NULL;
    if (!host) hints.ai_family = AF_INET;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        SL_ERROR("net", "cannot resolve listener host=%s: %s", host ? host : "*",
                 gai_strerror(gai));
        return SL_ERR_INVALID_ARG;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, s->cfg.listen_backlog) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        SL_ERROR("net", "cannot listen on %s:%d: %s", host ? host : "*", port, strerror(err));
        return SL_ERR_IO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    sl_listener *l = &s->listeners[s->nlisteners];
    memset(l, 0, sizeof *l);
    l->srv = s;
    l->fd = fd;
    l->port = bound;
    if (uv_poll_init_socket(s->loop, &l->poll, fd) != 0) {
        close(fd);
        return SL_ERR_IO;
    }
    l->poll.data = l;
    l->active = 1;
    s->nlisteners++;
    s->handles_open++;
    uv_poll_start(&l->poll, UV_READABLE, on_listen);
    SL_INFO("net", "listening host=%s port=%d", host ? host : "0.0.0.0", bound);
    return bound;
}

int sl_server_port(const sl_server *s)
{
    return s->nlisteners > 0 ? s->listeners[0].port : 0;
}

const sl_server_stats *sl_server_stats_get(const sl_server *s)
{
    return &s->stats;
}

static void admit(sl_server *s, int fd, const struct sockaddr_storage *ss)
{
    sl_ipkey ip;
    char peer[SL_PEER_MAX];
    ipkey_from_sockaddr(ss, &ip, peer, sizeof peer);
    if (s->stats.connections_open >= (uint64_t)s->cfg.max_connections) {
        s->stats.connections_rejected++;
        sl_net_log_limited(s, "rejecting connection from %s: max.connections=%d reached", peer,
                           s->cfg.max_connections);
        close(fd);
        return;
    }
    if (s->track_ips) {
        int32_t limit = ip_limit(s, &ip);
        if (ipcount_get(s, &ip) >= limit) {
            s->stats.connections_rejected++;
            sl_net_log_limited(s, "rejecting connection from %s: max.connections.per.ip=%d reached",
                               peer, limit);
            close(fd);
            return;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (s->cfg.socket_send_buffer_bytes > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->cfg.socket_send_buffer_bytes, sizeof(int));
    if (s->cfg.socket_receive_buffer_bytes > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->cfg.socket_receive_buffer_bytes, sizeof(int));
    sl_conn *c = sl_net_conn_new(s, fd, &ip, peer);
    if (!c) {
        close(fd);
        return;
    }
    if (s->track_ips) {
        ipcount_add(s, &ip, 1);
        c->flags |= SL_CONN_IP_COUNTED;
    }
    s->stats.connections_open++;
    s->stats.connections_accepted++;
    SL_DEBUG("net", "accepted conn=%llu peer=%s", (unsigned long long)c->id, peer);
    if (s->h.on_open) s->h.on_open(s->ctx, c);
}

static void listeners_poll(sl_server *s, int on)
{
    for (int i = 0; i < s->nlisteners; i++) {
        sl_listener *l = &s->listeners[i];
        if (!l->active) continue;
        if (on)
            uv_poll_start(&l->poll, UV_READABLE, on_listen);
        else
            uv_poll_stop(&l->poll);
    }
}

static void on_accept_timer(uv_timer_t *t)
{
    sl_server *s = t->data;
    if (!s->closing) listeners_poll(s, 1);
}

static void on_listen(uv_poll_t *h, int status, int events)
{
    (void)events;
    sl_listener *l = h->data;
    sl_server *s = l->srv;
    if (status < 0) {
        SL_ERROR("net", "listener port=%d poll error: %s", l->port, uv_strerror(status));
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH && !s->closing; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
            if (e == EAGAIN || e == EWOULDBLOCK) break;
            /* Out of descriptors or memory: the pending connection stays in
             * the backlog and the listener stays readable, so back off
             * instead of spinning. */
            sl_net_log_limited(s, "accept failed on port %d: %s; pausing accepts for %d ms",
                               l->port, strerror(e), ACCEPT_RETRY_MS);
            listeners_poll(s, 0);
            uv_timer_start(&s->accept_timer, on_accept_timer, ACCEPT_RETRY_MS, 0);
            break;
        }
        admit(s, fd, &ss);
    }
}

/* Called by conn.c when a connection closes (before on_close). */
void sl_net_conn_closed(sl_server *s, sl_conn *c)
{
    sl_dlink_remove(&c->lru);
    sl_dlink_remove(&c->dirty);
    sl_dlink_remove(&c->resume);
    if (c->flags & SL_CONN_IP_COUNTED) {
        ipcount_add(s, &c->ip, -1);
        c->flags &= ~(uint32_t)SL_CONN_IP_COUNTED;
    }
    s->stats.connections_open--;
    s->stats.connections_closed++;
}

static void server_finish(sl_server *s)
{
    pools_free(s);
    for (uint32_t i = 0; i < s->ipbuckets_n; i++) {
        while (s->ipbuckets[i]) {
            sl_ipcount *e = s->ipbuckets[i];
            s->ipbuckets[i] = e->next;
            sl_free(e);
        }
    }
    sl_free(s->ipbuckets);
    sl_free(s->overrides);
    sl_server_close_cb cb = s->close_cb;
    void *ctx = s->ctx;
    sl_free(s);
    if (cb) cb(ctx);
}

static void server_maybe_finish(sl_server *s)
{
    if (s->closing && s->handles_open == 0 && s->nconns_alloc == 0) server_finish(s);
}

void sl_net_conn_freed(sl_server *s)
{
    s->nconns_alloc--;
    server_maybe_finish(s);
}

static void on_server_handle_closed(uv_handle_t *h)
{
    sl_server *s = h->type == UV_POLL ? ((sl_listener *)h->data)->srv : h->data;
    s->handles_open--;
    server_maybe_finish(s);
}

void sl_server_close(sl_server *s, sl_server_close_cb cb)
{
    if (s->closing) return;
    s->closing = 1;
    s->close_cb = cb;
    for (int i = 0; i < s->nlisteners; i++) {
        sl_listener *l = &s->listeners[i];
        uv_close((uv_handle_t *)&l->poll, on_server_handle_closed);
        close(l->fd);
        l->active = 0;
    }
    uv_close((uv_handle_t *)&s->idle_timer, on_server_handle_closed);
    uv_close((uv_handle_t *)&s->accept_timer, on_server_handle_closed);
    uv_close((uv_handle_t *)&s->resume_idle, on_server_handle_closed);
    while (!sl_dlink_empty(&s->conns))
        sl_conn_close(SL_CONTAINER_OF(s->conns.next, sl_conn, lru));
    pools_free(s);
}

/* ---- idle sweep, resume, cork -------------------------------------------- */

static void on_idle_timer(uv_timer_t *t)
{
    sl_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    uint64_t idle = (uint64_t)s->cfg.connections_max_idle_ms;
    while (!sl_dlink_empty(&s->conns)) {
        sl_conn *c = SL_CONTAINER_OF(s->conns.next, sl_conn, lru);
        if (now - c->last_active_ms < idle) break;
        if (c->npending > 0) {
            /* Waiting on the broker (long poll, fsync) is not idleness. */
            c->last_active_ms = now;
            sl_dlink_remove(&c->lru);
            sl_dlink_push_back(&s->conns, &c->lru);
            continue;
        }
        s->stats.connections_idle_closed++;
        SL_DEBUG("net", "closing idle conn=%llu peer=%s after %llu ms", (unsigned long long)c->id,
                 c->peer, (unsigned long long)(now - c->last_active_ms));
        sl_net_conn_idle_close(c);
    }
}

void sl_net_schedule_resume(sl_server *s, sl_conn *c)
{
    if (!sl_dlink_empty(&c->resume) || s->closing) return;
    if (sl_dlink_empty(&s->resume)) uv_idle_start(&s->resume_idle, on_resume_idle);
    sl_dlink_push_back(&s->resume, &c->resume);
}

static void on_resume_idle(uv_idle_t *h)
{
    sl_server *s = h->data;
    /* Conns resumed while this runs wait for the next turn: bounded work. */
    sl_dlink batch;
    sl_dlink_init(&batch);
    if (!sl_dlink_empty(&s->resume)) {
        batch.next = s->resume.next;
        batch.prev = s->resume.prev;
        batch.next->prev = &batch;
        batch.prev->next = &batch;
        sl_dlink_init(&s->resume);
    }
    while (!sl_dlink_empty(&batch)) {
        sl_conn *c = SL_CONTAINER_OF(batch.next, sl_conn, resume);
        sl_dlink_remove(&c->resume);
        if (!(c->flags & (SL_CONN_CLOSING | SL_CONN_PAUSED))) sl_net_conn_read(c);
    }
    if (sl_dlink_empty(&s->resume)) uv_idle_stop(&s->resume_idle);
}

void sl_server_cork(sl_server *s)
{
    s->cork++;
}

void sl_server_uncork(sl_server *s)
{
    if (--s->cork > 0) return;
    while (!sl_dlink_empty(&s->dirty)) {
        sl_conn *c = SL_CONTAINER_OF(s->dirty.next, sl_conn, dirty);
        sl_dlink_remove(&c->dirty);
        sl_net_conn_flush(c);
    }
}
