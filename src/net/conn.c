/* One client connection: framing, the ordered request queue, the writer.
 *
 * Invariants
 *  1. Requests [head_id, next_id) are in ring[] in arrival order; the writer
 *     only ever sends the head response, so responses leave in request
 *     order whatever order they complete in.
 *  2. A PENDING request holds one reference on the read buffer its frame
 *     sits in; completion drops it. Buffers are reused only when their
 *     reference count says nobody points into them.
 *  3. Between wakes (unless paused with complete frames still buffered, or
 *     cut short by the per-wake read budget) a connection holds no pooled
 *     read buffer: a partial frame lives in its own buffer sized by what
 *     arrived, a partial size prefix in hdr[].
 *  4. unsent_bytes = bytes of DONE responses not yet written, counting the
 *     4-byte prefix and splice lengths; request_bytes = frame bytes of
 *     PENDING requests.
 *  5. After close no I/O happens; PENDING requests keep the struct alive
 *     until their completion (see the protocol in net.h).
 *
 * Runs on the server's loop thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/internal.h"

#define READS_PER_WAKE 16 /* fairness between busy connections */
#define IOV_BATCH      64
#define RING_MIN       8
#define MIN_ROOM       512 /* relocate the read buffer below this much room */
#define OWN_MIN        256 /* smallest own buffer for a parked partial frame */
#define SENDFILE_MAX   (1 << 30)

static void on_conn_poll(uv_poll_t *h, int status, int events);
static void conn_close(sl_conn *c, const char *why);

sl_conn *sl_net_conn_new(sl_server *s, int fd, const sl_ipkey *ip, const char *peer)
{
    sl_conn *c = SL_NEW(sl_conn);
    if (uv_poll_init_socket(s->loop, &c->poll, fd) != 0) {
        sl_free(c);
        return NULL;
    }
    c->poll.data = c;
    c->srv = s;
    c->tp = &sl_transport_tcp;
    c->fd = fd;
    c->id = ++s->next_conn_id;
    c->ip = *ip;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    sl_dlink_init(&c->lru);
    sl_dlink_init(&c->dirty);
    sl_dlink_init(&c->resume);
    c->last_active_ms = uv_now(s->loop);
    sl_dlink_push_back(&s->conns, &c->lru);
    s->nconns_alloc++;
    s->stats.mem_bytes += (int64_t)sizeof *c;
    c->events = UV_READABLE;
    uv_poll_start(&c->poll, UV_READABLE, on_conn_poll);
    return c;
}

/* ---- small helpers --------------------------------------------------------- */

static void conn_touch(sl_conn *c)
{
    sl_server *s = c->srv;
    c->last_active_ms = uv_now(s->loop);
    if (c->lru.next != &s->conns) {
        sl_dlink_remove(&c->lru);
        sl_dlink_push_back(&s->conns, &c->lru);
    }
}

static void conn_update_poll(sl_conn *c)
{
    if (c->flags & SL_CONN_CLOSING) return;
    int ev = 0;
    if (!(c->flags & SL_CONN_PAUSED)) ev |= UV_READABLE;
    if (c->flags & SL_CONN_WBLOCKED) ev |= UV_WRITABLE;
    if (ev == c->events) return;
    if (ev)
        uv_poll_start(&c->poll, ev, on_conn_poll);
    else
        uv_poll_stop(&c->poll);
    c->events = ev;
}

static uint64_t conn_queued(const sl_conn *c)
{
    return c->next_id - c->head_id;
}

static int conn_over_limits(const sl_conn *c)
{
    const sl_server_config *cfg = &c->srv->cfg;
    return conn_queued(c) >= (uint64_t)cfg->queued_max_requests ||
           c->unsent_bytes >= cfg->queued_max_response_bytes ||
           c->request_bytes >= cfg->queued_max_request_bytes;
}

static int conn_may_resume(const sl_conn *c)
{
    const sl_server_config *cfg = &c->srv->cfg;
    return conn_queued(c) <= (uint64_t)cfg->queued_max_requests / 2 &&
           c->unsent_bytes <= cfg->queued_max_response_bytes / 2 &&
           c->request_bytes <= cfg->queued_max_request_bytes / 2;
}

static void conn_maybe_resume(sl_conn *c)
{
    if (!(c->flags & SL_CONN_PAUSED) || (c->flags & SL_CONN_CLOSING) || !conn_may_resume(c)) return;
    c->flags &= ~(uint32_t)SL_CONN_PAUSED;
    if (c->flags & SL_CONN_IN_READ) return; /* the read loop picks up where it stopped */
    if (c->rb && c->rend > c->rstart)
        sl_net_schedule_resume(c->srv, c); /* frames buffered: no POLLIN for them */
    conn_update_poll(c);
}

static sl_req *conn_head(const sl_conn *c)
{
    return c->head_id < c->next_id ? c->ring[c->head_id & c->ring_mask] : NULL;
}

static void conn_ring_grow(sl_conn *c)
{
    uint32_t old = c->ring ? c->ring_mask + 1 : 0;
    uint32_t cap = old ? old * 2 : RING_MIN;
    sl_req **ring = sl_calloc(cap, sizeof *ring);
    for (uint64_t id = c->head_id; id < c->next_id; id++)
        ring[id & (cap - 1)] = c->ring[id & c->ring_mask];
    sl_free(c->ring);
    c->ring = ring;
    c->ring_mask = cap - 1;
    c->srv->stats.mem_bytes += (int64_t)(cap - old) * (int64_t)sizeof *ring;
}

/* Segments of a response: 0 = size prefix, odd = memory before splice
 * (seg-1)/2 (or the tail after the last one), even >= 2 = splice (seg-2)/2. */
static uint32_t resp_nseg(const sl_req *r)
{
    return 2 * (uint32_t)r->resp.nsplices + 2;
}

static int64_t resp_seg(const sl_req *r, uint32_t seg, const uint8_t **mem, const sl_splice **sp)
{
    *mem = NULL;
    *sp = NULL;
    if (seg == 0) {
        *mem = r->prefix;
        return 4;
    }
    size_t n = r->resp.nsplices;
    if (seg & 1) {
        size_t j = (seg - 1) / 2;
        size_t start = j ? r->resp.splices[j - 1].at : 0;
        size_t end = j < n ? r->resp.splices[j].at : r->resp.len;
        if (end <= start) return 0;
        *mem = r->resp.data + start;
        return (int64_t)(end - start);
    }
    *sp = &r->resp.splices[(seg - 2) / 2];
    return (*sp)->len;
}

/* ---- completion and close ------------------------------------------------- */

static void conn_free(sl_conn *c)
{
    sl_server *s = c->srv;
    if (c->ring) s->stats.mem_bytes -= (int64_t)(c->ring_mask + 1) * (int64_t)sizeof *c->ring;
    s->stats.mem_bytes -= (int64_t)sizeof *c;
    sl_free(c->ring);
    sl_free(c);
    sl_net_conn_freed(s);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    sl_conn *c = h->data;
    c->flags |= SL_CONN_HANDLE_CLOSED;
    if (c->npending == 0) conn_free(c);
}

static void conn_close(sl_conn *c, const char *why)
{
    if (c->flags & SL_CONN_CLOSING) return;
    sl_server *s = c->srv;
    c->flags |= SL_CONN_CLOSING;
    SL_DEBUG("net", "closing conn=%llu peer=%s: %s", (unsigned long long)c->id, c->peer, why);
    sl_net_conn_closed(s, c);
    /* uv_close before close(2): the poll handle must drop the descriptor
     * from epoll while the number still names this socket. */
    uv_close((uv_handle_t *)&c->poll, on_conn_handle_closed);
    close(c->fd);
    c->fd = -1;
    sl_net_rbuf_unref(s, c->rb);
    c->rb = NULL;
    c->rstart = c->rend = 0;
    sl_net_rbuf_unref(s, c->fb);
    c->fb = NULL;
    c->hdr_len = 0;
    for (uint64_t id = c->head_id; id < c->next_id; id++) {
        sl_req *r = c->ring[id & c->ring_mask];
        if (r && r->state != SL_REQ_PENDING) {
            c->ring[id & c->ring_mask] = NULL;
            sl_net_req_put(s, r);
        }
    }
    c->unsent_bytes = 0;
    if (s->h.on_close) s->h.on_close(s->ctx, c);
}

void sl_net_conn_idle_close(sl_conn *c)
{
    conn_close(c, "idle timeout (connections.max.idle.ms)");
}

static void conn_want_flush(sl_conn *c)
{
    sl_server *s = c->srv;
    if (s->cork > 0) {
        if (sl_dlink_empty(&c->dirty)) sl_dlink_push_back(&s->dirty, &c->dirty);
        return;
    }
    sl_net_conn_flush(c);
}

static int conn_complete(sl_conn *c, sl_req_id id, sl_buf *resp, int state)
{
    sl_server *s = c->srv;
    sl_req *r = NULL;
    if (id >= c->head_id && id < c->next_id && c->ring) r = c->ring[id & c->ring_mask];
    if (!r || r->state != SL_REQ_PENDING) {
        SL_ERROR("net", "conn=%llu peer=%s: completion of request id=%llu that is not pending",
                 (unsigned long long)c->id, c->peer, (unsigned long long)id);
        if (resp) sl_buf_reset(resp);
        return SL_ERR_INVALID_ARG;
    }
    sl_net_rbuf_unref(s, r->frame_buf);
    r->frame_buf = NULL;
    c->npending--;
    c->request_bytes -= r->frame_len;

    if (c->flags & SL_CONN_CLOSING) {
        c->ring[id & c->ring_mask] = NULL;
        sl_net_req_put(s, r);
        if (resp) sl_buf_reset(resp);
        if (c->npending == 0 && (c->flags & SL_CONN_HANDLE_CLOSED)) conn_free(c);
        return SL_ERR_CLOSED;
    }
    if (state == SL_REQ_DONE) {
        int64_t total = sl_buf_total(resp);
        if (total > INT32_MAX) {
            SL_ERROR("net", "conn=%llu peer=%s: response of %lld bytes exceeds the frame limit",
                     (unsigned long long)c->id, c->peer, (long long)total);
            sl_buf_reset(resp);
            r->state = SL_REQ_NORESP;
            conn_close(c, "response too large");
            return SL_ERR_TOO_LARGE;
        }
        sl_net_mem_buf_delta(s, &r->resp, resp);
        sl_buf tmp = r->resp;
        r->resp = *resp;
        *resp = tmp;
        sl_store_be32(r->prefix, (uint32_t)total);
        c->unsent_bytes += 4 + total;
        r->state = SL_REQ_DONE;
    } else {
        r->state = SL_REQ_NORESP;
    }
    /* Only the head can unblock the writer; a later response waits for it. */
    if (id == c->head_id) conn_want_flush(c);
    conn_maybe_resume(c);
    return 0;
}

int sl_conn_respond(sl_conn *c, sl_req_id id, sl_buf *resp)
{
    return conn_complete(c, id, resp, SL_REQ_DONE);
}

int sl_conn_complete_no_response(sl_conn *c, sl_req_id id)
{
    return conn_complete(c, id, NULL, SL_REQ_NORESP);
}

void sl_conn_close(sl_conn *c)
{
    if (c->flags & SL_CONN_CLOSING) return;
    sl_dlink_remove(&c->dirty);
    sl_net_conn_flush(c); /* best effort, never blocks */
    conn_close(c, "closed by broker");
}

/* ---- writing --------------------------------------------------------------- */

static void conn_pop(sl_conn *c)
{
    sl_server *s = c->srv;
    sl_req *r = c->ring[c->head_id & c->ring_mask];
    c->ring[c->head_id & c->ring_mask] = NULL;
    c->head_id++;
    c->wr_seg = 0;
    c->wr_off = 0;
    if (r->state == SL_REQ_DONE) s->stats.responses++;
    sl_net_req_put(s, r);
}

/* Consumes n written bytes from the head and pops finished responses and
 * leading no-response entries. */
static void conn_advance(sl_conn *c, int64_t n)
{
    for (;;) {
        sl_req *r = conn_head(c);
        if (!r || r->state == SL_REQ_PENDING) return;
        if (r->state == SL_REQ_NORESP || c->wr_seg >= resp_nseg(r)) {
            conn_pop(c);
            continue;
        }
        int64_t whole = 4 + sl_buf_total(&r->resp);
        if (c->wr_seg == 0 && c->wr_off == 0 && n >= whole) {
            /* the common case: a write took whole responses */
            n -= whole;
            c->unsent_bytes -= whole;
            conn_pop(c);
            continue;
        }
        const uint8_t *m;
        const sl_splice *sp;
        int64_t left = resp_seg(r, c->wr_seg, &m, &sp) - c->wr_off;
        if (left <= 0) {
            c->wr_seg++;
            c->wr_off = 0;
            continue;
        }
        if (n == 0) return;
        int64_t take = n < left ? n : left;
        c->wr_off += take;
        c->unsent_bytes -= take;
        n -= take;
    }
}

static int write_failed(sl_conn *c, const char *what)
{
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK) {
        c->flags |= SL_CONN_WBLOCKED;
        return 0;
    }
    if (e == EINTR) return 1;
    SL_DEBUG("net", "conn=%llu peer=%s: %s failed: %s", (unsigned long long)c->id, c->peer, what,
             strerror(e));
    conn_close(c, "write error");
    return -1;
}

void sl_net_conn_flush(sl_conn *c)
{
    if (c->flags & (SL_CONN_CLOSING | SL_CONN_WBLOCKED)) return;
    sl_server *s = c->srv;
    int64_t written = 0;
    for (;;) {
        conn_advance(c, 0);
        sl_req *r = conn_head(c);
        if (!r || r->state != SL_REQ_DONE) break;
        const uint8_t *m;
        const sl_splice *sp;
        int64_t len = resp_seg(r, c->wr_seg, &m, &sp);
        if (sp) {
            int64_t left = len - c->wr_off;
            size_t want = left > SENDFILE_MAX ? SENDFILE_MAX : (size_t)left;
            int64_t pos = sp->pos + c->wr_off;
            ssize_t n = c->tp->sendfile(c, sl_fileref_fd(sp->file), &pos, want);
            if (n > 0) {
                /* A short count means a full socket or the end of the file;
                 * the next call tells which. */
                conn_advance(c, n);
                written += n;
                continue;
            }
            if (n == 0) {
                sl_net_log_limited(s,
                                   "closing connection %s: file range ended %lld bytes early "
                                   "(file truncated?); a short frame must not be sent",
                                   c->peer, (long long)left);
                conn_close(c, "sendfile hit end of file");
                return;
            }
            int f = write_failed(c, "sendfile");
            if (f < 0) return;
            if (f == 0) break;
            continue;
        }
        struct iovec iov[IOV_BATCH];
        int niov = 0, more = 0;
        int64_t total = 0;
        for (uint64_t id = c->head_id; id < c->next_id; id++) {
            sl_req *q = c->ring[id & c->ring_mask];
            if (q->state == SL_REQ_PENDING) break;
            if (q->state == SL_REQ_NORESP) continue;
            uint32_t sg = id == c->head_id ? c->wr_seg : 0;
            int64_t off = id == c->head_id ? c->wr_off : 0;
            uint32_t nseg = resp_nseg(q);
            for (; sg < nseg; sg++, off = 0) {
                if (niov == IOV_BATCH) {
                    more = 1;
                    goto gathered;
                }
                int64_t l = resp_seg(q, sg, &m, &sp);
                if (sp) {
                    more = 1;
                    goto gathered;
                }
                if (l - off > 0) {
                    iov[niov].iov_base = (void *)(m + off);
                    iov[niov].iov_len = (size_t)(l - off);
                    niov++;
                    total += l - off;
                }
            }
        }
    gathered:
        if (niov == 0) break; /* cannot happen: advance left a non-empty memory segment */
        ssize_t n = c->tp->sendv(c, iov, niov, more);
        if (n > 0) {
            conn_advance(c, n);
            written += n;
            if (n < total) {
                c->flags |= SL_CONN_WBLOCKED; /* socket buffer full */
                break;
            }
            continue;
        }
        int f = write_failed(c, "sendmsg");
        if (f < 0) return;
        if (f == 0) break;
    }
    if (written) {
        s->stats.bytes_out += (uint64_t)written;
        conn_touch(c);
    }
    conn_update_poll(c);
    conn_maybe_resume(c);
}

/* ---- reading --------------------------------------------------------------- */

static void conn_dispatch(sl_conn *c, sl_rbuf *b, uint32_t off, uint32_t len)
{
    sl_server *s = c->srv;
    if (!c->ring || conn_queued(c) > c->ring_mask) conn_ring_grow(c);
    sl_req *r = sl_net_req_get(s);
    r->frame_buf = b;
    r->frame_len = len;
    sl_req_id id = c->next_id++;
    c->ring[id & c->ring_mask] = r;
    c->npending++;
    c->request_bytes += len;
    s->stats.requests++;
    s->h.on_request(s->ctx, c, id, b->data + off, len);
    if ((c->flags & SL_CONN_CLOSING) || !conn_over_limits(c)) return;
    /* Responses are corked during a read; write what is ready before
     * deciding that the client is the one falling behind. */
    sl_dlink_remove(&c->dirty);
    sl_net_conn_flush(c);
    if (!(c->flags & SL_CONN_CLOSING) && conn_over_limits(c)) {
        c->flags |= SL_CONN_PAUSED;
        s->stats.read_pauses++;
    }
}

static void bad_frame(sl_conn *c, int32_t size, const uint8_t *p)
{
    sl_server *s = c->srv;
    s->stats.frames_rejected++;
    const char *hint = "";
    if (!memcmp(p, "GET ", 4) || !memcmp(p, "POST", 4) || !memcmp(p, "HEAD", 4) ||
        !memcmp(p, "PUT ", 4))
        hint = " (looks like HTTP)";
    else if (p[0] == 0x16 && p[1] == 0x03)
        hint = " (looks like a TLS handshake)";
    sl_net_log_limited(s,
                       "closing connection %s: frame size %d outside 1..%d "
                       "(socket.request.max.bytes)%s",
                       c->peer, size, s->cfg.socket_request_max_bytes, hint);
    /* answers to the valid requests before it, if the socket takes them */
    sl_dlink_remove(&c->dirty);
    sl_net_conn_flush(c);
    conn_close(c, "bad frame size");
}

/* Moves a frame with `body` bytes received so far (at p) into its own
 * buffer, sized by what arrived rather than by what was announced. */
static void conn_start_own(sl_conn *c, const uint8_t *p, uint32_t body, uint32_t size, size_t cap)
{
    if (cap < body) cap = body;
    if (cap > size) cap = size;
    if (cap == 0) cap = size < OWN_MIN ? size : OWN_MIN;
    c->fb = sl_net_rbuf_own(c->srv, cap);
    memcpy(c->fb->data, p, body);
    c->fb_len = body;
    c->fb_size = size;
}

/* Delivers every complete frame in rb. Returns -1 if the conn closed. */
static int conn_parse(sl_conn *c)
{
    sl_server *s = c->srv;
    size_t chunk = (size_t)s->cfg.read_chunk_bytes;
    while (!(c->flags & (SL_CONN_CLOSING | SL_CONN_PAUSED))) {
        uint32_t have = c->rend - c->rstart;
        if (have < 4) return 0;
        const uint8_t *p = c->rb->data + c->rstart;
        int32_t size = (int32_t)sl_load_be32(p);
        if (size <= 0 || size > s->cfg.socket_request_max_bytes) {
            bad_frame(c, size, p);
            return -1;
        }
        if ((size_t)size + 4 > chunk) {
            /* have <= chunk < size + 4, so the body is still partial */
            uint32_t body = have - 4;
            size_t cap = (size_t)body * 2;
            conn_start_own(c, p + 4, body, (uint32_t)size, cap);
            c->rstart = c->rend;
            return 0;
        }
        if (have < 4 + (uint32_t)size) return 0;
        c->rstart += 4 + (uint32_t)size;
        c->rb->refs++;
        conn_dispatch(c, c->rb, c->rstart - (uint32_t)size, (uint32_t)size);
    }
    return (c->flags & SL_CONN_CLOSING) ? -1 : 0;
}

/* A read returned n <= 0. Returns 0 if the socket is merely drained, -1 if
 * the connection closed. */
static int conn_read_end(sl_conn *c, ssize_t n)
{
    if (n == 0) {
        if (c->fb)
            SL_DEBUG("net", "conn=%llu peer=%s closed mid-frame (%u of %u bytes)",
                     (unsigned long long)c->id, c->peer, c->fb_len, c->fb_size);
        conn_close(c, "peer closed");
        return -1;
    }
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
        c->flags &= ~(uint32_t)SL_CONN_BUSY;
        return 0;
    }
    SL_DEBUG("net", "conn=%llu peer=%s: read failed: %s", (unsigned long long)c->id, c->peer,
             strerror(e));
    conn_close(c, "read error");
    return -1;
}

/* Reads into the frame's own buffer, never past the frame's end. Returns 1
 * to keep reading, 0 when drained, -1 when closed. */
static int conn_read_own(sl_conn *c)
{
    sl_server *s = c->srv;
    if (c->fb->cap == c->fb_len) {
        /* Grow by what the socket actually holds, at most doubling past
         * that: a peer announcing 100 MiB and sending 10 bytes costs ~10. */
        size_t avail = c->tp->readable(c);
        size_t cap = c->fb->cap * 2;
        if (cap < c->fb_len + (avail ? avail : 1)) cap = c->fb_len + (avail ? avail : 1);
        if (cap > c->fb_size) cap = c->fb_size;
        c->fb = sl_net_rbuf_grow(s, c->fb, cap);
    }
    size_t want = c->fb->cap - c->fb_len;
    ssize_t n = c->tp->recv(c, c->fb->data + c->fb_len, want);
    if (n <= 0) return conn_read_end(c, n);
    s->stats.bytes_in += (uint64_t)n;
    c->fb_len += (uint32_t)n;
    if (c->fb_len == c->fb_size) {
        sl_rbuf *fb = c->fb;
        c->fb = NULL;
        conn_dispatch(c, fb, 0, c->fb_size); /* the conn's reference moves */
        return (c->flags & SL_CONN_CLOSING) ? -1 : 1;
    }
    return (size_t)n == want ? 1 : 0;
}

/* Reads into a pooled buffer and delivers complete frames in place.
 * Returns 1 to keep reading, 0 when drained, -1 when closed. */
static int conn_read_chunk(sl_conn *c)
{
    sl_server *s = c->srv;
    size_t chunk = (size_t)s->cfg.read_chunk_bytes;
    if (c->rb) {
        uint32_t have = c->rend - c->rstart;
        if (have == 0 && c->rb->refs == 1) c->rstart = c->rend = 0;
        size_t need = have < 4 ? 4 : 4 + (size_t)sl_load_be32(c->rb->data + c->rstart);
        if (need > chunk) /* cannot happen: parse validated it; stay in bounds anyway */
            need = chunk;
        if (c->rb->cap - c->rend < MIN_ROOM || c->rb->cap - c->rstart < need) {
            size_t want = (c->flags & SL_CONN_BUSY) ? chunk : have + c->tp->readable(c);
            if (want < need) want = need;
            if (c->rb->refs == 1 && c->rb->cap >= want && c->rb->cap - have >= MIN_ROOM) {
                memmove(c->rb->data, c->rb->data + c->rstart, have);
            } else {
                sl_rbuf *nb = sl_net_rbuf_get(s, want);
                memcpy(nb->data, c->rb->data + c->rstart, have);
                sl_net_rbuf_unref(s, c->rb);
                c->rb = nb;
            }
            c->rstart = 0;
            c->rend = have;
        }
    } else {
        size_t want = (c->flags & SL_CONN_BUSY) ? chunk : c->hdr_len + c->tp->readable(c);
        c->rb = sl_net_rbuf_get(s, want ? want : 1);
        memcpy(c->rb->data, c->hdr, c->hdr_len);
        c->rstart = 0;
        c->rend = c->hdr_len;
        c->hdr_len = 0;
    }
    size_t room = c->rb->cap - c->rend;
    ssize_t n = c->tp->recv(c, c->rb->data + c->rend, room);
    if (n <= 0) return conn_read_end(c, n);
    s->stats.bytes_in += (uint64_t)n;
    c->rend += (uint32_t)n;
    if ((size_t)n == room)
        c->flags |= SL_CONN_BUSY;
    else
        c->flags &= ~(uint32_t)SL_CONN_BUSY;
    if (conn_parse(c) < 0) return -1;
    return (size_t)n == room ? 1 : 0;
}

/* End of a wake: give the pooled buffer back unless it is still needed
 * (invariant 3). */
static void conn_park(sl_conn *c)
{
    sl_server *s = c->srv;
    sl_rbuf *rb = c->rb;
    if (!rb) return;
    uint32_t have = c->rend - c->rstart;
    if (have > 0 && (c->flags & (SL_CONN_PAUSED | SL_CONN_BUSY))) return;
    if (have > 0 && have < 4) {
        memcpy(c->hdr, rb->data + c->rstart, have);
        c->hdr_len = (uint8_t)have;
    } else if (have >= 4) {
        uint32_t size = sl_load_be32(rb->data + c->rstart);
        conn_start_own(c, rb->data + c->rstart + 4, have - 4, size, OWN_MIN);
    }
    c->rb = NULL;
    c->rstart = c->rend = 0;
    sl_net_rbuf_unref(s, rb);
}

void sl_net_conn_read(sl_conn *c)
{
    sl_server *s = c->srv;
    sl_server_cork(s);
    c->flags |= SL_CONN_IN_READ;
    conn_touch(c);
    int r = 1;
    if (c->rb && c->rend > c->rstart) r = conn_parse(c) < 0 ? -1 : 1;
    for (int i = 0; r > 0 && i < READS_PER_WAKE; i++) {
        if (c->flags & (SL_CONN_CLOSING | SL_CONN_PAUSED)) break;
        r = c->fb ? conn_read_own(c) : conn_read_chunk(c);
    }
    c->flags &= ~(uint32_t)SL_CONN_IN_READ;
    if (!(c->flags & SL_CONN_CLOSING)) {
        conn_park(c);
        conn_update_poll(c);
    }
    sl_server_uncork(s);
}

static void on_conn_poll(uv_poll_t *h, int status, int events)
{
    sl_conn *c = h->data;
    if (c->flags & SL_CONN_CLOSING) return;
    if (status < 0) {
        SL_DEBUG("net", "conn=%llu peer=%s: poll error: %s", (unsigned long long)c->id, c->peer,
                 uv_strerror(status));
        conn_close(c, "poll error");
        return;
    }
    if (events & UV_WRITABLE) {
        c->flags &= ~(uint32_t)SL_CONN_WBLOCKED;
        sl_net_conn_flush(c);
    }
    if ((events & UV_READABLE) && !(c->flags & (SL_CONN_CLOSING | SL_CONN_PAUSED)))
        sl_net_conn_read(c);
    else
        conn_update_poll(c);
}

/* ---- accessors ------------------------------------------------------------- */

void sl_conn_set_user(sl_conn *c, void *user)
{
    c->user = user;
}

void *sl_conn_user(const sl_conn *c)
{
    return c->user;
}

const char *sl_conn_peer(const sl_conn *c)
{
    return c->peer;
}

uint64_t sl_conn_id(const sl_conn *c)
{
    return c->id;
}

sl_server *sl_conn_server(const sl_conn *c)
{
    return c->srv;
}

bool sl_conn_is_open(const sl_conn *c)
{
    return !(c->flags & SL_CONN_CLOSING);
}

uint32_t sl_conn_pending(const sl_conn *c)
{
    return c->npending;
}
