/* Unit tests for src/net limits: backpressure (pending requests, unsent
 * response bytes), max.connections, per-IP limits and overrides, and the
 * idle timeout. Real loopback sockets, a real uv loop. */
#include "net_harness.h"

static sl_server_config default_cfg(void)
{
    sl_server_config cfg;
    sl_server_config_default(&cfg);
    return cfg;
}

/* A client pipelines thousands of requests and reads nothing: the server
 * stops reading once the unsent bytes pass the limit, so its memory stays
 * bounded while the rest waits in kernel buffers; once the client reads,
 * everything is answered in order. */
static void test_backpressure_unread_responses(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.queued_max_requests = 50;
    cfg.queued_max_response_bytes = 64 * 1024;
    harness *h = harness_new(&cfg);
    int64_t mem0 = stats(h)->mem_bytes;
    int fd = cli_connect(h->port);
    const uint32_t n = 4000, each = 4096;
    sl_buf b;
    sl_buf_init(&b);
    for (uint32_t i = 0; i < n; i++)
        req_u32s(&b, 'B', i, 1, each);
    size_t sent = 0;
    /* send what the kernel takes; keep pumping the server meanwhile */
    for (int round = 0; round < 400 && sent < b.len; round++) {
        ssize_t w = send(fd, b.data + sent, b.len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) sent += (size_t)w;
        pump(h);
    }
    /* kernel buffers fill up, then the server stops reading for good */
    uint64_t served = 0;
    for (int round = 0; round < 100; round++) {
        served = stats(h)->requests;
        pump_ms(h, 100);
        if (stats(h)->requests == served) break;
    }
    assert_true(served < n);
    assert_true(stats(h)->read_pauses >= 1);
    pump_ms(h, 100);
    assert_int_equal(stats(h)->requests, served);
    int64_t held = stats(h)->mem_bytes - mem0;
    print_message("backpressure: %llu of %u requests read, net memory %lld bytes\n",
                  (unsigned long long)served, n, (long long)held);
    /* pooled buffers (<= 4 MiB) + 50 queued responses of 4 KiB */
    assert_true(held < (6 << 20));

    /* now read everything (and send the rest as the kernel takes it) */
    uint8_t *p = malloc(each);
    for (uint32_t i = 0; i < n; i++) {
        if (sent < b.len) {
            ssize_t w = send(fd, b.data + sent, b.len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0) sent += (size_t)w;
        }
        uint8_t hdr[8];
        cli_recv(h, fd, hdr, 8);
        assert_int_equal(sl_load_be32(hdr), each + 4);
        assert_int_equal(sl_load_be32(hdr + 4), i);
        cli_recv(h, fd, p, each);
        check_pattern(p, each, i, 0);
    }
    free(p);
    assert_int_equal(sent, b.len);
    assert_int_equal(stats(h)->requests, n);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

/* Requests the broker holds (long poll): at most queued.max.requests are
 * delivered; completing them resumes delivery from the frames already
 * buffered, in order. */
static void test_backpressure_pending_requests(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.queued_max_requests = 8;
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    const uint32_t n = 100;
    for (uint32_t i = 0; i < n; i++)
        req_u32s(&b, 'H', i, 0);
    cli_send(h, fd, b.data, b.len);
    PUMP_UNTIL(h, h->nheld == 8);
    pump_ms(h, 20);
    assert_int_equal(h->nheld, 8);
    assert_int_equal(stats(h)->requests, 8);
    uint32_t next = 0;
    while (next < n) {
        PUMP_UNTIL(h, h->nheld > 0);
        assert_true(h->nheld <= 8);
        /* held requests arrive in order */
        for (int i = 0; i < h->nheld; i++)
            assert_int_equal(h->held[i].seq, next + (uint32_t)i);
        uint32_t k = (uint32_t)h->nheld;
        harness_release(h);
        for (uint32_t i = 0; i < k; i++)
            cli_recv_resp(h, fd, next + i, NULL);
        next += k;
    }
    assert_int_equal(stats(h)->requests, n);
    assert_true(stats(h)->read_pauses >= n / 8 - 1);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

/* Large frames held pending: queued.max.request.bytes stops reading too. */
static void test_backpressure_request_bytes(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.queued_max_request_bytes = 256 * 1024;
    harness *h = harness_new(&cfg);
    int fd = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    const uint32_t n = 20;
    for (uint32_t i = 0; i < n; i++) {
        sl_buf_put_i32(&b, 5 + 100000);
        sl_buf_put_i8(&b, 'H');
        sl_buf_put_i32(&b, (int32_t)i);
        put_pattern(&b, 100000, i, 0);
    }
    size_t sent = 0;
    for (int round = 0; round < 2000 && h->nheld < 3; round++) {
        ssize_t w = send(fd, b.data + sent, b.len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) sent += (size_t)w;
        pump(h);
    }
    pump_ms(h, 30);
    assert_int_equal(h->nheld, 3); /* 3 x 100 kB >= 256 KiB */
    uint32_t done = 0;
    while (done < n) {
        uint32_t k = (uint32_t)h->nheld;
        harness_release(h);
        for (uint32_t i = 0; i < k; i++)
            cli_recv_resp(h, fd, done + i, NULL);
        done += k;
        while (done < n && h->nheld == 0) {
            if (sent < b.len) {
                ssize_t w = send(fd, b.data + sent, b.len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (w > 0) sent += (size_t)w;
            }
            pump(h);
        }
        assert_true(h->nheld <= 3);
    }
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

static void test_max_connections(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.max_connections = 3;
    harness *h = harness_new(&cfg);
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = cli_connect(h->port);
        PUMP_UNTIL(h, h->nopen + stats(h)->connections_rejected == (uint64_t)i + 1);
    }
    assert_int_equal(h->nopen, 3);
    assert_int_equal(stats(h)->connections_rejected, 2);
    assert_int_equal(stats(h)->connections_accepted, 3);
    assert_int_equal(stats(h)->connections_open, 3);
    cli_wait_closed(h, fds[3]);
    cli_wait_closed(h, fds[4]);
    sl_buf b;
    sl_buf_init(&b);
    req_echo(&b, 1, 3);
    for (int i = 0; i < 3; i++) {
        cli_send(h, fds[i], b.data, b.len);
        cli_expect_echo(h, fds[i], 1, 3);
    }
    /* a slot frees up when one closes */
    close(fds[0]);
    PUMP_UNTIL(h, stats(h)->connections_open == 2);
    fds[0] = cli_connect(h->port);
    PUMP_UNTIL(h, h->nopen == 4);
    cli_send(h, fds[0], b.data, b.len);
    cli_expect_echo(h, fds[0], 1, 3);
    for (int i = 0; i < 5; i++)
        close(fds[i]);
    sl_buf_fini(&b);
    harness_free(h);
}

static void test_per_ip_limits(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.max_connections_per_ip = 2;
    cfg.max_connections_per_ip_overrides = "127.0.0.2:3, 127.0.0.3:0";
    harness *h = harness_new(&cfg);
    const char *src[] = {"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2",
                         "127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3"};
    const int admitted[] = {1, 1, 0, 1, 1, 1, 0, 0};
    int fds[8];
    for (int i = 0; i < 8; i++) {
        fds[i] = cli_connect_from(h->port, src[i]);
        PUMP_UNTIL(h, h->nopen + stats(h)->connections_rejected == (uint64_t)i + 1);
    }
    assert_int_equal(h->nopen, 5);
    assert_int_equal(stats(h)->connections_rejected, 3);
    sl_buf b;
    sl_buf_init(&b);
    req_echo(&b, 1, 3);
    for (int i = 0; i < 8; i++) {
        if (admitted[i]) {
            cli_send(h, fds[i], b.data, b.len);
            cli_expect_echo(h, fds[i], 1, 3);
        } else {
            cli_wait_closed(h, fds[i]);
        }
    }
    /* closing one from 127.0.0.1 lets another in */
    close(fds[0]);
    PUMP_UNTIL(h, stats(h)->connections_open == 4);
    fds[0] = cli_connect_from(h->port, "127.0.0.1");
    PUMP_UNTIL(h, h->nopen == 6);
    cli_send(h, fds[0], b.data, b.len);
    cli_expect_echo(h, fds[0], 1, 3);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    sl_buf_fini(&b);
    harness_free(h);
}

/* Idle connections are closed; one with a pending request is not. */
static void test_idle_timeout(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    cfg.connections_max_idle_ms = 60;
    harness *h = harness_new(&cfg);
    int idle = cli_connect(h->port);
    int busy = cli_connect(h->port);
    sl_buf b;
    sl_buf_init(&b);
    req_u32s(&b, 'H', 1, 0);
    cli_send(h, busy, b.data, b.len);
    PUMP_UNTIL(h, h->nheld == 1);
    int64_t t0 = sl_mono_ms();
    cli_wait_closed(h, idle);
    int64_t waited = sl_mono_ms() - t0;
    assert_int_equal(stats(h)->connections_idle_closed, 1);
    print_message("idle connection closed after %lld ms (connections.max.idle.ms=60)\n",
                  (long long)waited);
    pump_ms(h, 200);
    assert_true(cli_quiet(busy)); /* still open while its request is pending */
    harness_release(h);
    cli_recv_resp(h, busy, 1, NULL);
    cli_wait_closed(h, busy); /* and idle after answering */
    assert_int_equal(stats(h)->connections_idle_closed, 2);
    close(idle);
    close(busy);
    sl_buf_fini(&b);
    harness_free(h);
}

static void test_listen_errors(void **state)
{
    (void)state;
    sl_server_config cfg = default_cfg();
    harness *h = harness_new(&cfg);
    sl_log_set_level(SL_LOG_OFF);
    /* the port is taken */
    assert_int_equal(sl_server_listen(h->srv, "127.0.0.1", h->port), SL_ERR_IO);
    assert_int_equal(sl_server_listen(h->srv, "127.0.0.1", 70000), SL_ERR_INVALID_ARG);
    /* a second listener works */
    int p2 = sl_server_listen(h->srv, "127.0.0.1", 0);
    assert_true(p2 > 0 && p2 != h->port);
    int fd = cli_connect(p2);
    sl_buf b;
    sl_buf_init(&b);
    req_echo(&b, 1, 3);
    cli_send(h, fd, b.data, b.len);
    cli_expect_echo(h, fd, 1, 3);
    close(fd);
    sl_buf_fini(&b);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backpressure_unread_responses),
        cmocka_unit_test(test_backpressure_pending_requests),
        cmocka_unit_test(test_backpressure_request_bytes),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_per_ip_limits),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_listen_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
