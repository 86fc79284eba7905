/* net_echo: throughput of src/net over loopback.
 *
 * The server (this thread, one uv loop) answers every frame at once:
 *   'e' small echo: a 16-byte response from memory;
 *   'f' fetch-like: a 64-byte header, then a file range (sendfile);
 *   'p' produce-like: a large request, a 16-byte response.
 * Client threads (a writer and a reader per connection, blocking sockets)
 * pipeline frames as fast as the socket takes them and read every response.
 *
 * Scenarios (one output line each):
 *   small      N small frames (100-byte payload) over C connections
 *   splice     N responses each carrying a file range of S bytes
 *   produce    N requests of P bytes (frames above the read chunk)
 *   baseline   raw loopback copy: write()/read() of 1 MiB blocks, no framing,
 *              the machine's own ceiling for the splice/produce numbers
 *
 * Usage: bench_net_echo [small|splice|produce|baseline|all] [--quick]
 * Requests/s and MB/s are printed; both client and server share the cores.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/clock.h"
#include "base/fileref.h"
#include "base/log.h"
#include "net/net.h"

typedef struct bench {
    uv_loop_t loop;
    sl_server *srv;
    sl_buf out;
    sl_fileref *file;
    int64_t file_len;
    int64_t splice_len;
    uv_async_t done;
    int port;
} bench;

typedef struct client {
    bench *b;
    int fd;
    long frames;
    char op;
    size_t payload;
    uint64_t resp_bytes;
    pthread_t wr, rd;
} client;

static void on_request(void *ctx, sl_conn *c, sl_req_id id, const uint8_t *f, size_t len)
{
    bench *b = ctx;
    sl_buf *o = &b->out;
    (void)len;
    switch (f[0]) {
    case 'f': {
        uint8_t hdr[64];
        memset(hdr, 0, sizeof hdr);
        memcpy(hdr, f + 1, 4);
        sl_buf_put(o, hdr, sizeof hdr);
        sl_buf_put_file(o, b->file, 0, b->splice_len);
        break;
    }
    default: {
        uint8_t r[16];
        memset(r, 0, sizeof r);
        memcpy(r, f + 1, 4);
        sl_buf_put(o, r, sizeof r);
        break;
    }
    }
    sl_conn_respond(c, id, o);
}

static void on_done(uv_async_t *a)
{
    bench *b = a->data;
    sl_server_close(b->srv, NULL);
    uv_close((uv_handle_t *)&b->done, NULL);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void *writer(void *arg)
{
    client *cl = arg;
    size_t flen = 4 + 1 + 4 + cl->payload;
    /* batch many frames per write, like a pipelining client */
    size_t per = cl->payload < 4096 ? 256 : 1;
    uint8_t *buf = calloc(per, flen);
    for (size_t i = 0; i < per; i++) {
        uint8_t *p = buf + i * flen;
        sl_store_be32(p, (uint32_t)(flen - 4));
        p[4] = (uint8_t)cl->op;
    }
    for (long sent = 0; sent < cl->frames;) {
        size_t k = (size_t)(cl->frames - sent) < per ? (size_t)(cl->frames - sent) : per;
        for (size_t i = 0; i < k; i++)
            sl_store_be32(buf + i * flen + 5, (uint32_t)(sent + (long)i));
        write_all(cl->fd, buf, k * flen);
        sent += (long)k;
    }
    free(buf);
    return NULL;
}

static void *reader(void *arg)
{
    client *cl = arg;
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    size_t have = 0, off = 0;
    long got = 0;
    int64_t need = -1; /* bytes left of the current frame body */
    while (got < cl->frames) {
        if (off == have) {
            ssize_t r = read(cl->fd, buf, cap);
            if (r <= 0) {
                fprintf(stderr, "reader: connection closed after %ld responses\n", got);
                exit(1);
            }
            cl->resp_bytes += (uint64_t)r;
            have = (size_t)r;
            off = 0;
        }
        if (need < 0) {
            if (have - off < 8) { /* keep the partial header */
                memmove(buf, buf + off, have - off);
                have -= off;
                off = 0;
                ssize_t r = read(cl->fd, buf + have, cap - have);
                if (r <= 0) {
                    fprintf(stderr, "reader: closed mid-header\n");
                    exit(1);
                }
                cl->resp_bytes += (uint64_t)r;
                have += (size_t)r;
                continue;
            }
            need = (int64_t)sl_load_be32(buf + off);
            if (sl_load_be32(buf + off + 4) != (uint32_t)got) {
                fprintf(stderr, "reader: response %ld out of order\n", got);
                exit(1);
            }
            off += 4;
        }
        size_t take = (size_t)need < have - off ? (size_t)need : have - off;
        off += take;
        need -= (int64_t)take;
        if (need == 0) {
            got++;
            need = -1;
        }
    }
    free(buf);
    return NULL;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

typedef struct run_args {
    bench *b;
    client *cl;
    int nconn;
} run_args;

static void *clients_main(void *arg)
{
    run_args *ra = arg;
    for (int i = 0; i < ra->nconn; i++) {
        pthread_create(&ra->cl[i].rd, NULL, reader, &ra->cl[i]);
        pthread_create(&ra->cl[i].wr, NULL, writer, &ra->cl[i]);
    }
    for (int i = 0; i < ra->nconn; i++) {
        pthread_join(ra->cl[i].wr, NULL);
        pthread_join(ra->cl[i].rd, NULL);
        close(ra->cl[i].fd);
    }
    uv_async_send(&ra->b->done);
    return NULL;
}

/* CPU time of the calling thread (the server loop), in ns. */
static int64_t thread_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void run(const char *name, char op, int nconn, long frames, size_t payload,
                int64_t splice_len)
{
    bench b;
    memset(&b, 0, sizeof b);
    uv_loop_init(&b.loop);
    sl_buf_init(&b.out);
    char path[] = "/tmp/sl_bench_net_XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    b.splice_len = splice_len;
    if (splice_len > 0) {
        uint8_t *blk = malloc(1 << 20);
        memset(blk, 'x', 1 << 20);
        for (int64_t w = 0; w < splice_len; w += 1 << 20)
            write_all(fd, blk, 1 << 20);
        free(blk);
    }
    b.file = sl_fileref_new(fd);
    sl_server_config cfg;
    sl_server_config_default(&cfg);
    sl_server_handler h = {.on_request = on_request};
    b.srv = sl_server_new(&b.loop, &cfg, &h, &b);
    b.port = sl_server_listen(b.srv, "127.0.0.1", 0);
    uv_async_init(&b.loop, &b.done, on_done);
    b.done.data = &b;

    client *cl = calloc((size_t)nconn, sizeof *cl);
    for (int i = 0; i < nconn; i++) {
        cl[i] = (client){.b = &b, .frames = frames / nconn, .op = op, .payload = payload};
        cl[i].fd = connect_to(b.port);
    }
    run_args ra = {&b, cl, nconn};
    int64_t t0 = sl_mono_ns();
    int64_t cpu0 = thread_cpu_ns();
    pthread_t ct;
    pthread_create(&ct, NULL, clients_main, &ra);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    pthread_join(ct, NULL);
    double secs = (double)(sl_mono_ns() - t0) / 1e9;
    double cpu = (double)(thread_cpu_ns() - cpu0);
    uint64_t in = 0, out = 0;
    long total = 0;
    for (int i = 0; i < nconn; i++) {
        out += cl[i].resp_bytes;
        total += cl[i].frames;
        in += (uint64_t)cl[i].frames * (4 + 1 + 4 + payload);
    }
    printf("net_echo %-8s conns=%d frames=%ld req_bytes=%zu resp_bytes=%lld  %10.0f req/s  "
           "in %8.1f MB/s  out %8.1f MB/s  (%.2f s; server thread %.0f ns/req, %.0f%% cpu)\n",
           name, nconn, total, 4 + 1 + 4 + payload,
           (long long)(out / (uint64_t)(total ? total : 1)), (double)total / secs,
           (double)in / secs / 1e6, (double)out / secs / 1e6, secs, cpu / (double)total,
           cpu / 1e7 / secs);
    fflush(stdout);
    free(cl);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    sl_buf_fini(&b.out);
    sl_fileref_unref(b.file);
}

static void *baseline_reader(void *arg)
{
    int fd = *(int *)arg;
    uint8_t *buf = malloc(1 << 20);
    while (read(fd, buf, 1 << 20) > 0) {
    }
    free(buf);
    return NULL;
}

static void baseline(long mib)
{
    int sv[2];
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t al = sizeof a;
    bind(lfd, (struct sockaddr *)&a, sizeof a);
    listen(lfd, 1);
    getsockname(lfd, (struct sockaddr *)&a, &al);
    sv[0] = connect_to(ntohs(a.sin_port));
    sv[1] = accept(lfd, NULL, NULL);
    pthread_t t;
    pthread_create(&t, NULL, baseline_reader, &sv[0]);
    uint8_t *blk = malloc(1 << 20);
    memset(blk, 'y', 1 << 20);
    int64_t t0 = sl_mono_ns();
    for (long i = 0; i < mib; i++)
        write_all(sv[1], blk, 1 << 20);
    close(sv[1]);
    pthread_join(t, NULL);
    double secs = (double)(sl_mono_ns() - t0) / 1e9;
    printf("net_echo %-8s raw write()/read() of 1 MiB blocks over loopback: %8.1f MB/s  "
           "(%.2f s)\n",
           "baseline", (double)mib * (1 << 20) / secs / 1e6, secs);
    free(blk);
    close(sv[0]);
    close(lfd);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    sl_log_set_level(SL_LOG_WARN);
    const char *which = argc > 1 ? argv[1] : "all";
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    long scale = quick ? 10 : 1;
    int all = strcmp(which, "all") == 0;
    if (all || !strcmp(which, "baseline")) baseline(4096 / scale);
    if (all || !strcmp(which, "small")) {
        run("small", 'e', 1, 2000000 / scale, 100, 0);
        run("small", 'e', 8, 2000000 / scale, 100, 0);
    }
    if (all || !strcmp(which, "splice")) run("splice", 'f', 1, 4000 / scale, 8, 1 << 20);
    if (all || !strcmp(which, "produce")) run("produce", 'p', 1, 4000 / scale, 1 << 20, 0);
    return 0;
}
