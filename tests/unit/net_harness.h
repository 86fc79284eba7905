/* Test harness for src/net: a real uv loop and server in the test thread,
 * clients on non-blocking loopback sockets, and a scriptable handler.
 *
 * Request payload: [op u8][seq u32][op arguments]; response: [seq u32][...].
 *   'E' echo the rest                    'D' [ms u32] echo nothing, after ms
 *   'N' no response (acks=0)             'H' hold until harness_release()
 *   'B' [len u32] len pattern bytes      'C' close the connection
 *   'S' [pre u32][pos u32][len u32][post u32]: pre pattern bytes, file range,
 *       post pattern bytes
 *   'M' three file ranges [0,100) [200,300) [300,350) with 7 memory bytes
 *       between the first two and none between the last two
 *   'X' a response claiming 3 GiB of file (must be refused)
 * Pattern byte i of a response with sequence seq: (uint8_t)(seq * 31 + i).
 */
#ifndef SL_TEST_NET_HARNESS_H
#define SL_TEST_NET_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/fileref.h"
#include "base/log.h"
#include "net/net.h"

#define H_UNUSED      __attribute__((unused))
#define H_DEADLINE_MS 30000
#define H_MAX_HELD    4096

typedef struct harness harness;

typedef struct held_req {
    sl_conn *c;
    sl_req_id id;
    uint32_t seq;
    const uint8_t *frame; /* must stay valid until completion */
    size_t len;
    uint32_t sum; /* checksum of the frame when it arrived */
} held_req;

static uint32_t frame_sum(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

typedef struct delayed {
    uv_timer_t t;
    harness *h;
    sl_conn *c;
    sl_req_id id;
    uint32_t seq;
} delayed;

struct harness {
    uv_loop_t loop;
    uv_timer_t tick;
    sl_server *srv;
    int port;
    sl_buf out;
    sl_fileref *file;
    char file_path[64];
    held_req held[H_MAX_HELD];
    int nheld;
    int ndelayed;
    int nopen, nclose;
    int cancel_on_close; /* complete held requests of a closing conn in on_close */
    int late_rc;         /* last return of a late completion */
    int server_closed;
    int last_respond_rc;
};

static H_UNUSED void pattern(uint8_t *p, size_t n, uint32_t seq, size_t from)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seq * 31 + from + i);
}

static H_UNUSED void put_pattern(sl_buf *b, size_t n, uint32_t seq, size_t from)
{
    uint8_t *p = sl_buf_reserve(b, n);
    pattern(p, n, seq, from);
    b->len += n;
}

static void h_respond(harness *h, sl_conn *c, sl_req_id id)
{
    h->last_respond_rc = sl_conn_respond(c, id, &h->out);
    assert_int_equal(h->out.len, 0);
    assert_int_equal(h->out.nsplices, 0);
}

static void on_delay(uv_timer_t *t)
{
    delayed *d = t->data;
    sl_buf_put_i32(&d->h->out, (int32_t)d->seq);
    d->h->late_rc = sl_conn_respond(d->c, d->id, &d->h->out);
    d->h->ndelayed--;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void h_on_request(void *ctx, sl_conn *c, sl_req_id id, const uint8_t *f, size_t len)
{
    harness *h = ctx;
    assert_true(len >= 5);
    uint8_t op = f[0];
    uint32_t seq = sl_load_be32(f + 1);
    const uint8_t *a = f + 5;
    size_t alen = len - 5;
    sl_buf *o = &h->out;
    switch (op) {
    case 'E':
        sl_buf_put_i32(o, (int32_t)seq);
        sl_buf_put(o, a, alen);
        h_respond(h, c, id);
        break;
    case 'D': {
        assert_true(alen >= 4);
        delayed *d = calloc(1, sizeof *d);
        d->h = h;
        d->c = c;
        d->id = id;
        d->seq = seq;
        uv_timer_init(&h->loop, &d->t);
        d->t.data = d;
        uv_timer_start(&d->t, on_delay, sl_load_be32(a), 0);
        h->ndelayed++;
        break;
    }
    case 'N':
        assert_int_equal(sl_conn_complete_no_response(c, id), 0);
        break;
    case 'H':
        assert_true(h->nheld < H_MAX_HELD);
        h->held[h->nheld++] = (held_req){c, id, seq, f, len, frame_sum(f, len)};
        break;
    case 'B': {
        assert_true(alen >= 4);
        sl_buf_put_i32(o, (int32_t)seq);
        put_pattern(o, sl_load_be32(a), seq, 0);
        h_respond(h, c, id);
        break;
    }
    case 'C':
        sl_conn_close(c);
        assert_false(sl_conn_is_open(c));
        h->last_respond_rc = sl_conn_respond(c, id, &h->out);
        break;
    case 'S': {
        assert_true(alen >= 16);
        uint32_t pre = sl_load_be32(a), pos = sl_load_be32(a + 4), flen = sl_load_be32(a + 8),
                 post = sl_load_be32(a + 12);
        sl_buf_put_i32(o, (int32_t)seq);
        put_pattern(o, pre, seq, 0);
        sl_buf_put_file(o, h->file, pos, flen);
        put_pattern(o, post, seq, pre);
        h_respond(h, c, id);
        break;
    }
    case 'M':
        sl_buf_put_i32(o, (int32_t)seq);
        sl_buf_put_file(o, h->file, 0, 100);
        put_pattern(o, 7, seq, 0);
        sl_buf_put_file(o, h->file, 200, 100);
        sl_buf_put_file(o, h->file, 300, 50);
        h_respond(h, c, id);
        break;
    case 'X':
        sl_buf_put_i32(o, (int32_t)seq);
        sl_buf_put_file(o, h->file, 0, 3LL << 30);
        h_respond(h, c, id);
        break;
    default:
        fail_msg("unknown op %c", op);
    }
}

static void h_on_open(void *ctx, sl_conn *c)
{
    harness *h = ctx;
    h->nopen++;
    assert_non_null(sl_conn_peer(c));
    assert_true(strncmp(sl_conn_peer(c), "127.0.0.", 8) == 0);
    sl_conn_set_user(c, h);
}

static void h_on_close(void *ctx, sl_conn *c)
{
    harness *h = ctx;
    h->nclose++;
    assert_ptr_equal(sl_conn_user(c), h);
    assert_false(sl_conn_is_open(c));
    if (!h->cancel_on_close) return;
    for (int i = 0; i < h->nheld; i++) {
        if (h->held[i].c != c) continue;
        sl_buf_put_i32(&h->out, 0);
        h->late_rc = sl_conn_respond(c, h->held[i].id, &h->out);
        h->held[i--] = h->held[--h->nheld];
    }
}

static void h_tick(uv_timer_t *t)
{
    (void)t;
}

static H_UNUSED void harness_init_file(harness *h, size_t size)
{
    snprintf(h->file_path, sizeof h->file_path, "/tmp/sl_test_net_XXXXXX");
    int fd = mkstemp(h->file_path);
    assert_true(fd >= 0);
    unlink(h->file_path);
    uint8_t *p = malloc(size);
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(i * 7 + (i >> 10));
    assert_int_equal(write(fd, p, size), (ssize_t)size);
    free(p);
    h->file = sl_fileref_new(fd);
}

static H_UNUSED uint8_t file_byte(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 10));
}

static H_UNUSED harness *harness_new(const sl_server_config *cfg)
{
    signal(SIGPIPE, SIG_IGN);
    sl_log_set_level(SL_LOG_ERROR);
    if (getenv("SL_TEST_LOG")) sl_log_set_level(SL_LOG_DEBUG);
    harness *h = calloc(1, sizeof *h);
    assert_int_equal(uv_loop_init(&h->loop), 0);
    uv_timer_init(&h->loop, &h->tick);
    uv_timer_start(&h->tick, h_tick, 1, 1);
    sl_buf_init(&h->out);
    harness_init_file(h, 1 << 20);
    sl_server_handler hd = {
        .on_open = h_on_open, .on_request = h_on_request, .on_close = h_on_close};
    h->srv = sl_server_new(&h->loop, cfg, &hd, h);
    assert_non_null(h->srv);
    h->port = sl_server_listen(h->srv, "127.0.0.1", 0);
    assert_true(h->port > 0);
    assert_int_equal(sl_server_port(h->srv), h->port);
    return h;
}

static H_UNUSED void pump(harness *h)
{
    uv_run(&h->loop, UV_RUN_ONCE);
}

#define PUMP_UNTIL(h, cond)                                                                        \
    do {                                                                                           \
        int64_t dl_ = sl_mono_ms() + H_DEADLINE_MS;                                                \
        while (!(cond)) {                                                                          \
            if (sl_mono_ms() > dl_) fail_msg("timed out waiting for %s", #cond);                   \
            pump(h);                                                                               \
        }                                                                                          \
    } while (0)

static H_UNUSED void pump_ms(harness *h, int ms)
{
    int64_t end = sl_mono_ms() + ms;
    while (sl_mono_ms() < end)
        pump(h);
}

static H_UNUSED const sl_server_stats *stats(harness *h)
{
    return sl_server_stats_get(h->srv);
}

static void on_server_closed(void *ctx)
{
    ((harness *)ctx)->server_closed = 1;
}

static H_UNUSED void harness_release(harness *h)
{
    held_req held[H_MAX_HELD];
    int n = h->nheld;
    memcpy(held, h->held, sizeof held[0] * (size_t)n);
    h->nheld = 0;
    for (int i = 0; i < n; i++) {
        /* the frame is still intact however much was read since */
        if (sl_conn_is_open(held[i].c))
            assert_int_equal(frame_sum(held[i].frame, held[i].len), held[i].sum);
        sl_buf_put_i32(&h->out, (int32_t)held[i].seq);
        h->late_rc = sl_conn_respond(held[i].c, held[i].id, &h->out);
    }
}

/* Frees the harness once its server has closed. */
static H_UNUSED void harness_destroy(harness *h)
{
    uv_close((uv_handle_t *)&h->tick, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    sl_buf_fini(&h->out);
    sl_fileref_unref(h->file);
    free(h);
}

static H_UNUSED void harness_free(harness *h)
{
    sl_server_close(h->srv, on_server_closed);
    harness_release(h);
    PUMP_UNTIL(h, h->server_closed && h->ndelayed == 0);
    harness_destroy(h);
}

/* ---- clients ---------------------------------------------------------------- */

static H_UNUSED int cli_connect_from(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    /* loopback: the kernel completes the handshake into the backlog */
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static H_UNUSED int cli_connect(int port)
{
    return cli_connect_from(port, NULL);
}

static H_UNUSED void cli_send(harness *h, int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    int64_t dl = sl_mono_ms() + H_DEADLINE_MS;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        assert_true(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        if (sl_mono_ms() > dl) fail_msg("send timed out");
        pump(h);
    }
}

static H_UNUSED void cli_recv(harness *h, int fd, void *p, size_t n)
{
    uint8_t *b = p;
    int64_t dl = sl_mono_ms() + H_DEADLINE_MS;
    while (n > 0) {
        ssize_t r = recv(fd, b, n, MSG_DONTWAIT);
        if (r > 0) {
            b += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0) fail_msg("connection closed with %zu bytes still expected", n);
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        if (sl_mono_ms() > dl) fail_msg("recv timed out with %zu bytes still expected", n);
        pump(h);
    }
}

/* Pumps until the server closes fd; returns the bytes received meanwhile. */
static H_UNUSED size_t cli_wait_closed(harness *h, int fd)
{
    uint8_t tmp[65536];
    size_t got = 0;
    int64_t dl = sl_mono_ms() + H_DEADLINE_MS;
    for (;;) {
        ssize_t r = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0 || errno == ECONNRESET) return got;
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        if (sl_mono_ms() > dl) fail_msg("server did not close the connection");
        pump(h);
    }
}

/* True if nothing arrived and the connection is still open. */
static H_UNUSED int cli_quiet(int fd)
{
    uint8_t b;
    ssize_t r = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Appends one request frame [size][op][seq][args...] (args as u32s). */
static H_UNUSED void req_u32s(sl_buf *b, uint8_t op, uint32_t seq, int nargs, ...)
{
    sl_buf_put_i32(b, 5 + 4 * nargs);
    sl_buf_put_i8(b, (int8_t)op);
    sl_buf_put_i32(b, (int32_t)seq);
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++)
        sl_buf_put_i32(b, (int32_t)va_arg(ap, uint32_t));
    va_end(ap);
}

static H_UNUSED void req_echo(sl_buf *b, uint32_t seq, size_t n)
{
    sl_buf_put_i32(b, (int32_t)(5 + n));
    sl_buf_put_i8(b, 'E');
    sl_buf_put_i32(b, (int32_t)seq);
    put_pattern(b, n, seq, 0);
}

/* Reads one response and checks its size and sequence; returns payload
 * length (after the sequence) and leaves the payload in *out (malloc'd). */
static H_UNUSED size_t cli_recv_resp(harness *h, int fd, uint32_t want_seq, uint8_t **out)
{
    uint8_t hdr[8];
    cli_recv(h, fd, hdr, 8);
    int32_t size = (int32_t)sl_load_be32(hdr);
    assert_true(size >= 4);
    assert_int_equal(sl_load_be32(hdr + 4), want_seq);
    size_t n = (size_t)size - 4;
    uint8_t *p = malloc(n ? n : 1);
    cli_recv(h, fd, p, n);
    if (out)
        *out = p;
    else
        free(p);
    return n;
}

static H_UNUSED void check_pattern(const uint8_t *p, size_t n, uint32_t seq, size_t from)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seq * 31 + from + i))
            fail_msg("pattern mismatch at byte %zu of seq %u", i, seq);
}

static H_UNUSED void cli_expect_echo(harness *h, int fd, uint32_t seq, size_t n)
{
    uint8_t *p;
    assert_int_equal(cli_recv_resp(h, fd, seq, &p), n);
    check_pattern(p, n, seq, 0);
    free(p);
}

#endif
