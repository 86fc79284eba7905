/* Unit tests for src/net: framing, ordering, splices, large responses and
 * hostile frame sizes, over real loopback sockets and a real uv loop. */
#include "net_harness.h"

static sl_server_config default_cfg(void)
{
    sl_server_config cfg;
    sl_server_config_default(&cfg);
    return cfg;
}

static void test_echo_pipelined(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    const int n = 300;
    for (int i = 0; i < n; i++)
        req_echo(&b, (uint32_t)i, (size_t)(i * 37) % 3000);
    cli_send(h, fd, b.data, b.len); /* one write: many frames per read */
    for (int i = 0; i < n; i++)
        cli_expect_echo(h, fd, (uint32_t)i, (size_t)(i * 37) % 3000);
    assert_int_equal(stats(h)->requests, n);
    PUMP_UNTIL(h, stats(h)->responses == (uint64_t)n);
    assert_int_equal(stats(h)->bytes_in, b.len);
    assert_int_equal(h->nopen, 1);
    assert_int_equal(stats(h)->connections_open, 1);
    close(fd);
    PUMP_UNTIL(h, h->nclose == 1);
    assert_int_equal(stats(h)->connections_open, 0);
    assert_int_equal(stats(h)->connections_closed, 1);
    sl_buf_fini(&b);
    harness_free(h);
}

/* The same three frames split in two at every byte boundary, then sent one
 * byte at a time: frames and size prefixes cut anywhere reassemble. */
static void test_split_every_byte(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_echo(&b, 1, 0);
    req_echo(&b, 2, 40);
    req_echo(&b, 3, 700);
    for (size_t k = 1; k < b.len; k++) {
        uint64_t in0 = stats(h)->bytes_in;
        cli_send(h, fd, b.data, k);
        PUMP_UNTIL(h, stats(h)->bytes_in == in0 + k);
        cli_send(h, fd, b.data + k, b.len - k);
        cli_expect_echo(h, fd, 1, 0);
        cli_expect_echo(h, fd, 2, 40);
        cli_expect_echo(h, fd, 3, 700);
    }
    for (size_t k = 0; k < b.len; k++) {
        uint64_t in0 = stats(h)->bytes_in;
        cli_send(h, fd, b.data + k, 1);
        PUMP_UNTIL(h, stats(h)->bytes_in == in0 + 1);
    }
    cli_expect_echo(h, fd, 1, 0);
    cli_expect_echo(h, fd, 2, 40);
    cli_expect_echo(h, fd, 3, 700);
    assert_int_equal(stats(h)->requests, 3 * b.len);
    assert_int_equal(stats(h)->connections_open, 1);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

/* Handlers finishing out of order (timers) and requests without response
 * (acks=0) in the middle of a pipeline: responses still leave in request
 * order, and the no-response ones leave no gap or stall. */
static void test_out_of_order_completion(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_u32s(&b, 'D', 0, 1, 40);
    req_u32s(&b, 'D', 1, 1, 5);
    req_echo(&b, 2, 10);
    req_u32s(&b, 'N', 3, 0);
    req_u32s(&b, 'D', 4, 1, 20);
    req_u32s(&b, 'N', 5, 0);
    req_u32s(&b, 'N', 6, 0);
    req_echo(&b, 7, 3);
    req_u32s(&b, 'D', 8, 1, 0);
    req_u32s(&b, 'N', 9, 0);
    cli_send(h, fd, b.data, b.len);
    cli_recv_resp(h, fd, 0, NULL);
    cli_recv_resp(h, fd, 1, NULL);
    cli_expect_echo(h, fd, 2, 10);
    cli_recv_resp(h, fd, 4, NULL);
    cli_expect_echo(h, fd, 7, 3);
    cli_recv_resp(h, fd, 8, NULL);
    PUMP_UNTIL(h, stats(h)->responses == 6);
    pump_ms(h, 20);
    assert_true(cli_quiet(fd));
    assert_int_equal(stats(h)->requests, 10);

    /* acks=0 requests alone, then a normal one */
    sl_buf_reset(&b);
    for (uint32_t i = 0; i < 50; i++)
        req_u32s(&b, 'N', 100 + i, 0);
    req_echo(&b, 150, 1);
    cli_send(h, fd, b.data, b.len);
    cli_expect_echo(h, fd, 150, 1);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

/* memory + file range + memory, and several ranges back to back. */
static void test_splice_responses(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_u32s(&b, 'S', 1, 4, 100, 1000, 5000, 50);
    req_u32s(&b, 'M', 2, 0);
    req_u32s(&b, 'S', 3, 4, 0, 7, 1, 0);
    req_echo(&b, 4, 3);
    cli_send(h, fd, b.data, b.len);

    uint8_t *p;
    assert_int_equal(cli_recv_resp(h, fd, 1, &p), 100 + 5000 + 50);
    check_pattern(p, 100, 1, 0);
    for (size_t i = 0; i < 5000; i++)
        assert_int_equal(p[100 + i], file_byte(1000 + i));
    check_pattern(p + 5100, 50, 1, 100);
    free(p);

    assert_int_equal(cli_recv_resp(h, fd, 2, &p), 100 + 7 + 100 + 50);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(p[i], file_byte(i));
    check_pattern(p + 100, 7, 2, 0);
    for (size_t i = 0; i < 150; i++)
        assert_int_equal(p[107 + i], file_byte(200 + i));
    free(p);

    assert_int_equal(cli_recv_resp(h, fd, 3, &p), 1);
    assert_int_equal(p[0], file_byte(7));
    free(p);
    cli_expect_echo(h, fd, 4, 3);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

/* Responses far above the socket buffer (small SO_SNDBUF on purpose):
 * partial writev and sendfile, resumed on POLLOUT, while the client reads
 * in small pieces. */
static void test_large_responses(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.socket_send_buffer_bytes = 8192;
    cfg.queued_max_response_bytes = 64 << 20;
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    const uint32_t big = 6 << 20;
    req_u32s(&b, 'B', 1, 1, big);
    req_u32s(&b, 'S', 2, 4, 3000, 0, 1 << 20, 70000);
    req_u32s(&b, 'B', 3, 1, 10);
    cli_send(h, fd, b.data, b.len);

    uint8_t hdr[8];
    cli_recv(h, fd, hdr, 8);
    assert_int_equal(sl_load_be32(hdr), big + 4);
    assert_int_equal(sl_load_be32(hdr + 4), 1);
    uint8_t *p = malloc(big);
    for (size_t got = 0; got < big;) {
        size_t n = big - got < 4000 ? big - got : 4000; /* slow reader */
        cli_recv(h, fd, p + got, n);
        got += n;
    }
    check_pattern(p, big, 1, 0);
    free(p);

    size_t n2 = cli_recv_resp(h, fd, 2, &p);
    assert_int_equal(n2, 3000 + (1 << 20) + 70000);
    check_pattern(p, 3000, 2, 0);
    for (size_t i = 0; i < (1 << 20); i++)
        if (p[3000 + i] != file_byte(i)) fail_msg("file byte %zu differs", i);
    check_pattern(p + 3000 + (1 << 20), 70000, 2, 3000);
    free(p);
    assert_int_equal(cli_recv_resp(h, fd, 3, &p), 10);
    check_pattern(p, 10, 3, 0);
    free(p);
    PUMP_UNTIL(h, stats(h)->responses == 3);
    assert_true(stats(h)->bytes_out > big + (1 << 20));
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

static void expect_rejected(harness *h, const uint8_t *bytes, size_t n)
{
    uint64_t rej = stats(h)->frames_rejected;
    int fd = cli_connect(h->port);
    cli_send(h, fd, bytes, n);
    assert_int_equal(cli_wait_closed(h, fd), 0);
    assert_int_equal(stats(h)->frames_rejected, rej + 1);
    close(fd);
}

static void test_bad_frame_sizes(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.socket_request_max_bytes = 1 << 20;
    harness *h = harness_new(&cfg);
    int32_t sizes[] = {0, -1, INT32_MIN, INT32_MAX, (1 << 20) + 1, -5};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t f[12] = {0};
        sl_store_be32(f, (uint32_t)sizes[i]);
        expect_rejected(h, f, sizeof f);
        expect_rejected(h, f, 4);
    }
    expect_rejected(h, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18);
    const uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    expect_rejected(h, tls, sizeof tls);

    /* a valid frame followed by a bad one: the first is answered, then close */
    sl_buf b;
    sl_buf_init(&b);
    req_echo(&b, 9, 5);
    sl_buf_put_i32(&b, 0);
    int fd = cli_connect(h->port);
    cli_send(h, fd, b.data, b.len);
    cli_expect_echo(h, fd, 9, 5);
    cli_wait_closed(h, fd);
    close(fd);

    /* exactly the limit is fine (and goes through a frame's own buffer) */
    sl_buf_reset(&b);
    req_echo(&b, 10, (1 << 20) - 5);
    fd = cli_connect(h->port);
    cli_send(h, fd, b.data, b.len);
    cli_expect_echo(h, fd, 10, (1 << 20) - 5);
    close(fd);
    sl_buf_fini(&b);
    PUMP_UNTIL(h, stats(h)->connections_open == 0);
    assert_int_equal(stats(h)->frames_rejected, 15);
    harness_free(h);
}

/* A slow sender: a frame above the read chunk arrives in tiny pieces; the
 * memory held grows with what arrived, not with the announced size. */
static void test_slow_sender(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int64_t mem0 = stats(h)->mem_bytes;
    int fd = cli_connect(h->port);
    PUMP_UNTIL(h, h->nopen == 1);
    sl_buf b;
    sl_buf_init(&b);
    const size_t big = 300000;
    req_echo(&b, 5, big);
    size_t sent = 0;
    size_t steps[] = {1, 2, 1, 3, 10, 100, 1000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        cli_send(h, fd, b.data + sent, steps[i]);
        sent += steps[i];
        PUMP_UNTIL(h, stats(h)->bytes_in == sent);
        int64_t held = stats(h)->mem_bytes - stats(h)->pool_bytes - mem0;
        /* connection struct + a buffer proportional to `sent` */
        if (held >= 1024 + 2 * (int64_t)sent)
            fail_msg("%lld bytes held after %zu received", (long long)held, sent);
    }
    cli_send(h, fd, b.data + sent, b.len - sent);
    cli_expect_echo(h, fd, 5, big);

    /* a small frame one byte per loop turn */
    sl_buf_reset(&b);
    req_echo(&b, 6, 20);
    uint64_t in0 = stats(h)->bytes_in;
    for (size_t i = 0; i < b.len; i++) {
        cli_send(h, fd, b.data + i, 1);
        PUMP_UNTIL(h, stats(h)->bytes_in == in0 + i + 1);
    }
    cli_expect_echo(h, fd, 6, 20);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

static void test_peer_closes_mid_frame(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int64_t mem0 = stats(h)->mem_bytes;
    sl_buf b;
    sl_buf_init(&b);
    req_echo(&b, 1, 100000);
    size_t cuts[] = {2, 4, 7, 3000, 99000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        int fd = cli_connect(h->port);
        uint64_t in0 = stats(h)->bytes_in;
        cli_send(h, fd, b.data, cuts[i]);
        PUMP_UNTIL(h, stats(h)->bytes_in == in0 + cuts[i]);
        close(fd);
        PUMP_UNTIL(h, h->nclose == (int)i + 1);
    }
    assert_int_equal(stats(h)->requests, 0);
    assert_int_equal(stats(h)->connections_open, 0);
    /* everything released but pooled buffers */
    assert_true(stats(h)->mem_bytes - mem0 <= (4 << 20));
    sl_buf_fini(&b);
    harness_free(h);
}

/* sendfile reaching the end of a file shorter than the splice claims: the
 * connection is closed rather than sending a short frame. */
static void test_sendfile_truncated(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_u32s(&b, 'S', 1, 4, 10, (1 << 20) - 100, 5000, 10);
    cli_send(h, fd, b.data, b.len);
    size_t got = cli_wait_closed(h, fd);
    assert_true(got < 4 + 4 + 10 + 5000 + 10);
    assert_true(got >= 4 + 4 + 10 + 100);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

static void test_response_too_large(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_u32s(&b, 'X', 1, 0);
    cli_send(h, fd, b.data, b.len);
    assert_int_equal(cli_wait_closed(h, fd), 0);
    assert_int_equal(h->last_respond_rc, SL_ERR_TOO_LARGE);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

/* The handler closes its own connection; a completion after close is a
 * harmless no-op; a completion of an unknown id is refused. */
static void test_close_from_handler_and_bad_ids(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_echo(&b, 1, 1);
    req_u32s(&b, 'C', 2, 0);
    req_echo(&b, 3, 1);
    cli_send(h, fd, b.data, b.len);
    cli_wait_closed(h, fd);
    assert_int_equal(h->last_respond_rc, SL_ERR_CLOSED);
    assert_int_equal(stats(h)->requests, 2); /* nothing after the close */
    close(fd);

    fd = cli_connect(h->port);
    sl_buf_reset(&b);
    req_u32s(&b, 'H', 1, 0);
    cli_send(h, fd, b.data, b.len);
    PUMP_UNTIL(h, h->nheld == 1);
    sl_conn *c = h->held[0].c;
    assert_int_equal(sl_conn_pending(c), 1);
    sl_buf_put_i32(&h->out, 1);
    assert_int_equal(sl_conn_respond(c, 7, &h->out), SL_ERR_INVALID_ARG);
    assert_int_equal(h->out.len, 0);
    assert_int_equal(sl_conn_complete_no_response(c, 1), SL_ERR_INVALID_ARG);
    harness_release(h);
    assert_int_equal(h->late_rc, 0);
    assert_int_equal(sl_conn_respond(c, 0, &h->out), SL_ERR_INVALID_ARG);
    cli_recv_resp(h, fd, 1, NULL);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

/* on_close runs, then the broker completes the pending request: the
 * response is dropped, the connection is freed only then, and nothing
 * leaks (ASan/valgrind). Also the variant that cancels inside on_close,
 * and server shutdown waiting for a pending request. */
static void test_late_respond_after_close(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    int64_t mem0 = stats(h)->mem_bytes;
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_u32s(&b, 'H', 1, 0);
    req_u32s(&b, 'D', 2, 1, 30);
    req_echo(&b, 3, 100000); /* completed, maybe unsent at close */
    req_u32s(&b, 'H', 4, 0);
    cli_send(h, fd, b.data, b.len);
    PUMP_UNTIL(h, h->nheld == 2);
    close(fd);
    PUMP_UNTIL(h, h->nclose == 1);
    assert_int_equal(stats(h)->connections_open, 0);
    PUMP_UNTIL(h, h->ndelayed == 0); /* the timer's respond ran after close */
    assert_int_equal(h->late_rc, SL_ERR_CLOSED);
    sl_conn *c = h->held[0].c;
    assert_int_equal(sl_conn_pending(c), 2);
    harness_release(h);
    assert_int_equal(h->late_rc, SL_ERR_CLOSED);
    pump_ms(h, 5);
    PUMP_UNTIL(h, stats(h)->mem_bytes - mem0 < (4 << 20) + 65536);

    /* cancellation inside on_close */
    h->cancel_on_close = 1;
    fd = cli_connect(h->port);
    cli_send(h, fd, b.data, b.len);
    PUMP_UNTIL(h, h->nheld == 2);
    close(fd);
    PUMP_UNTIL(h, h->nclose == 2);
    assert_int_equal(h->nheld, 0);
    assert_int_equal(h->late_rc, SL_ERR_CLOSED);
    PUMP_UNTIL(h, h->ndelayed == 0);

    /* server close waits for the last pending request */
    h->cancel_on_close = 0;
    fd = cli_connect(h->port);
    cli_send(h, fd, b.data, 9);
    PUMP_UNTIL(h, h->nheld == 1);
    sl_server_close(h->srv, on_server_closed);
    pump_ms(h, 10);
    assert_int_equal(h->server_closed, 0);
    assert_int_equal(h->nclose, 3);
    harness_release(h);
    assert_int_equal(h->late_rc, SL_ERR_CLOSED);
    PUMP_UNTIL(h, h->server_closed);
    close(fd);
    sl_buf_fini(&b);
    harness_destroy(h);
}

/* A frame held by the broker stays intact while its connection and another
 * one keep reading through pooled buffers, and cork/uncork batches writes. */
static void test_held_frames_and_cork(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.queued_max_requests = 100000;
    harness *h = harness_new(&cfg);
    int a = cli_connect(h->port);
    int other = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_i32(&b, 5 + 300);
    sl_buf_put_i8(&b, 'H');
    sl_buf_put_i32(&b, 1000);
    put_pattern(&b, 300, 7, 0);
    for (uint32_t i = 0; i < 2000; i++)
        req_echo(&b, i, 97 + i % 50);
    cli_send(h, a, b.data, b.len);
    PUMP_UNTIL(h, stats(h)->requests == 2001);
    assert_int_equal(h->nheld, 1);
    /* the other connection's traffic cycles through the buffer pool */
    sl_buf_reset(&b);
    for (uint32_t i = 0; i < 2000; i++)
        req_echo(&b, i, 1 + i % 300);
    cli_send(h, other, b.data, b.len);
    for (uint32_t i = 0; i < 2000; i++)
        cli_expect_echo(h, other, i, 1 + i % 300);
    assert_true(cli_quiet(a)); /* all of a's answers wait behind the held one */

    sl_server_cork(h->srv);
    harness_release(h); /* asserts the held frame is intact */
    pump_ms(h, 20);
    assert_true(cli_quiet(a));
    sl_server_uncork(h->srv);
    cli_recv_resp(h, a, 1000, NULL);
    for (uint32_t i = 0; i < 2000; i++)
        cli_expect_echo(h, a, i, 97 + i % 50);
    close(a);
    close(other);
    sl_buf_fini(&b);
    harness_free(h);
}

/* Random streams: several connections, frames of random sizes (some above
 * the read chunk), random op mix (echo, delayed, no response), written in
 * random pieces while responses are read concurrently; every response must
 * arrive complete and in order. Deterministic seed. */
typedef struct rstream {
    int fd;
    sl_buf out;
    size_t sent;
    uint32_t *expect_seq; /* responses expected, in order */
    uint32_t *expect_len;
    uint32_t nexpect, ngot;
    uint8_t *in;
    size_t in_len, in_cap;
} rstream;

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (uint32_t)(rnd_state % n);
}

static void rstream_parse(rstream *r)
{
    size_t off = 0;
    while (r->in_len - off >= 8) {
        uint32_t size = sl_load_be32(r->in + off);
        if (r->in_len - off < 4 + (size_t)size) break;
        assert_true(r->ngot < r->nexpect);
        assert_int_equal(sl_load_be32(r->in + off + 4), r->expect_seq[r->ngot]);
        assert_int_equal(size - 4, r->expect_len[r->ngot]);
        check_pattern(r->in + off + 8, size - 4, r->expect_seq[r->ngot], 0);
        r->ngot++;
        off += 4 + size;
    }
    memmove(r->in, r->in + off, r->in_len - off);
    r->in_len -= off;
}

static void test_random_streams(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.queued_max_requests = 20;
    cfg.queued_max_response_bytes = 256 * 1024;
    harness *h = harness_new(&cfg);
    enum { NS = 3, NF = 1500 };
    rstream rs[NS];
    for (int k = 0; k < NS; k++) {
        rstream *r = &rs[k];
        memset(r, 0, sizeof *r);
        r->fd = cli_connect(h->port);
        sl_buf_init(&r->out);
        r->expect_seq = calloc(NF, sizeof *r->expect_seq);
        r->expect_len = calloc(NF, sizeof *r->expect_len);
        r->in_cap = 1 << 20;
        r->in = malloc(r->in_cap);
        for (uint32_t i = 0; i < NF; i++) {
            uint32_t dice = rnd(100);
            if (dice < 10) {
                req_u32s(&r->out, 'N', i, 0);
                continue;
            }
            if (dice < 15) {
                req_u32s(&r->out, 'D', i, 1, rnd(3));
                r->expect_seq[r->nexpect] = i;
                r->expect_len[r->nexpect++] = 0;
                continue;
            }
            uint32_t n = dice < 70 ? rnd(100) : dice < 97 ? 100 + rnd(3000) : 60000 + rnd(90000);
            req_echo(&r->out, i, n);
            r->expect_seq[r->nexpect] = i;
            r->expect_len[r->nexpect++] = n;
        }
    }
    int64_t dl = sl_mono_ms() + H_DEADLINE_MS;
    for (;;) {
        int done = 1;
        for (int k = 0; k < NS; k++) {
            rstream *r = &rs[k];
            if (r->sent < r->out.len) {
                size_t left = r->out.len - r->sent;
                uint32_t pick = rnd(4);
                size_t n = pick == 0 ? 1 + rnd(8) : pick == 1 ? 1 + rnd(500) : 1 + rnd(70000);
                if (n > left) n = left;
                ssize_t w = send(r->fd, r->out.data + r->sent, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (w > 0) r->sent += (size_t)w;
            }
            ssize_t got = recv(r->fd, r->in + r->in_len, r->in_cap - r->in_len, MSG_DONTWAIT);
            if (got == 0) fail_msg("server closed stream %d", k);
            if (got > 0) {
                r->in_len += (size_t)got;
                rstream_parse(r);
            }
            if (r->ngot < r->nexpect) done = 0;
        }
        if (done) break;
        if (sl_mono_ms() > dl) fail_msg("random streams timed out");
        uv_run(&h->loop, UV_RUN_NOWAIT);
    }
    for (int k = 0; k < NS; k++) {
        close(rs[k].fd);
        sl_buf_fini(&rs[k].out);
        free(rs[k].expect_seq);
        free(rs[k].expect_len);
        free(rs[k].in);
    }
    assert_int_equal(stats(h)->requests, NS * NF);
    harness_free(h);
}

static void test_config_check(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    char msg[256];
    assert_int_equal(sl_server_config_check(&cfg, msg, sizeof msg), 0);
    cfg.max_connections_per_ip_overrides = "127.0.0.1:5, [::1]:7,10.0.0.1:0";
    assert_int_equal(sl_server_config_check(&cfg, msg, sizeof msg), 0);
    const char *bad[] = {"localhost:5", "1.2.3.4", "1.2.3.4:x",
                         "1.2.3.4:-1",  ":5",      "1.2.3.4:99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.max_connections_per_ip_overrides = bad[i];
        assert_int_equal(sl_server_config_check(&cfg, msg, sizeof msg), SL_ERR_INVALID_CONFIG);
        assert_non_null(strstr(msg, "max.connections.per.ip.overrides"));
    }
    cfg = default_cfg();
    cfg.socket_request_max_bytes = 0;
    assert_int_equal(sl_server_config_check(&cfg, msg, sizeof msg), SL_ERR_INVALID_CONFIG);
    cfg = default_cfg();
    cfg.read_chunk_bytes = 5000;
    assert_int_equal(sl_server_config_check(&cfg, msg, sizeof msg), SL_ERR_INVALID_CONFIG);
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_server_handler hd = {.on_request = h_on_request};
    sl_log_set_level(SL_LOG_OFF);
    assert_null(sl_server_new(&loop, &cfg, &hd, NULL));
    uv_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_pipelined),
        cmocka_unit_test(test_split_every_byte),
        cmocka_unit_test(test_out_of_order_completion),
        cmocka_unit_test(test_splice_responses),
        cmocka_unit_test(test_large_responses),
        cmocka_unit_test(test_bad_frame_sizes),
        cmocka_unit_test(test_slow_sender),
        cmocka_unit_test(test_peer_closes_mid_frame),
        cmocka_unit_test(test_sendfile_truncated),
        cmocka_unit_test(test_response_too_large),
        cmocka_unit_test(test_close_from_handler_and_bad_ids),
        cmocka_unit_test(test_late_respond_after_close),
        cmocka_unit_test(test_held_frames_and_cork),
        cmocka_unit_test(test_random_streams),
        cmocka_unit_test(test_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
