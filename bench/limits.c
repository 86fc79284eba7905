/* The machine's own limits, measured by the benchmark runner in the same
 * run as the brokers (one JSON object per call on stdout):
 *
 *   bench_limits warm MIB                touch MIB of fresh memory once, then free it
 *   bench_limits tcp SECONDS             loopback TCP bandwidth, one stream, 256 KiB writes
 *   bench_limits rtt SECONDS             loopback TCP round trip of 100 B, one at a time
 *   bench_limits write DIR MIB           buffered write() of 1 MiB blocks into a new
 *                                        file, no sync (page cache bandwidth)
 *   bench_limits fdatasync DIR MIB       1 MiB write() + fdatasync(), repeated
 *   bench_limits sync4k DIR SECONDS      4 KiB append + fdatasync(), repeated
 *
 * Files are created in DIR (put it on the disk the brokers use) and removed.
 * Every measurement is one pass; the runner repeats and takes medians. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_limits: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- memory -------------------------------------------------------------- */

static int warm(long mib)
{
    double t0 = now_s();
    size_t n = (size_t)mib * MIB;
    char *p = malloc(n);
    if (!p) die("malloc");
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (char)i;
    /* keep the stores */
    volatile char sink = p[n / 2];
    (void)sink;
    free(p);
    double s = now_s() - t0;
    printf("{\"test\":\"warm\",\"mib\":%ld,\"seconds\":%.3f,\"mb_per_s\":%.1f}\n", mib, s,
           (double)n / s / 1e6);
    return 0;
}

/* ---- loopback TCP -------------------------------------------------------- */

typedef struct tcp_pair {
    int listen_fd, port;
    double seconds;
    long long bytes;
    int mode; /* 0 bandwidth, 1 echo */
} tcp_pair;

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(fd, 1) < 0) die("listen");
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void *tcp_server(void *arg)
{
    tcp_pair *tp = arg;
    int fd = accept(tp->listen_fd, NULL, NULL);
    if (fd < 0) die("accept");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static const size_t bufsz = 256 * 1024;
    char *buf = malloc(bufsz);
    for (;;) {
        ssize_t n = read(fd, buf, bufsz);
        if (n <= 0) break;
        tp->bytes += n;
        if (tp->mode == 1 && write(fd, buf, (size_t)n) != n) break;
    }
    free(buf);
    close(fd);
    return NULL;
}

static int tcp(double seconds, int mode)
{
    tcp_pair tp = {.seconds = seconds, .mode = mode};
    tp.listen_fd = listen_loopback(&tp.port);
    pthread_t th;
    pthread_create(&th, NULL, tcp_server, &tp);
    int fd = connect_loopback(tp.port);
    if (mode == 0) {
        size_t bufsz = 256 * 1024;
        char *buf = calloc(1, bufsz);
        double t0 = now_s(), t;
        while ((t = now_s()) - t0 < seconds) {
            ssize_t n = write(fd, buf, bufsz);
            if (n < 0) die("write");
        }
        shutdown(fd, SHUT_WR);
        pthread_join(th, NULL);
        double s = now_s() - t0;
        printf("{\"test\":\"tcp\",\"bytes\":%lld,\"seconds\":%.3f,\"mb_per_s\":%.1f}\n", tp.bytes,
               s, (double)tp.bytes / s / 1e6);
        free(buf);
    } else {
        char msg[100] = {0};
        size_t cap = 1 << 20, n = 0;
        double *rtts = malloc(cap * sizeof *rtts);
        double t0 = now_s();
        while (now_s() - t0 < seconds && n < cap) {
            double a = now_s();
            if (write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) die("write");
            size_t got = 0;
            while (got < sizeof msg) {
                ssize_t r = read(fd, msg + got, sizeof msg - got);
                if (r <= 0) die("read");
                got += (size_t)r;
            }
            rtts[n++] = now_s() - a;
        }
        shutdown(fd, SHUT_WR);
        pthread_join(th, NULL);
        qsort(rtts, n, sizeof *rtts, cmp_double);
        printf(
            "{\"test\":\"rtt\",\"count\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p99_9_us\":%.1f}\n",
            n, rtts[n / 2] * 1e6, rtts[n * 99 / 100] * 1e6, rtts[n * 999 / 1000] * 1e6);
        free(rtts);
    }
    close(fd);
    close(tp.listen_fd);
    return 0;
}

/* ---- disk ---------------------------------------------------------------- */

static int open_new(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/limits-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) die("mkstemp");
    return fd;
}

/* mode 0: buffered, 1: fdatasync after every block */
static int disk_write(const char *dir, long mib, int mode)
{
    char path[4096];
    int fd = open_new(dir, path, sizeof path);
    char *buf = malloc(MIB);
    memset(buf, 'x', MIB);
    double t0 = now_s();
    for (long i = 0; i < mib; i++) {
        if (write(fd, buf, MIB) != MIB) die("write");
        if (mode == 1 && fdatasync(fd) < 0) die("fdatasync");
    }
    double s = now_s() - t0;
    /* not timed: leave no dirty pages behind for the next measurement */
    if (mode == 0) fdatasync(fd);
    close(fd);
    unlink(path);
    free(buf);
    printf("{\"test\":\"%s\",\"mib\":%ld,\"seconds\":%.3f,\"mb_per_s\":%.1f}\n",
           mode ? "fdatasync" : "write", mib, s, (double)mib * MIB / s / 1e6);
    return 0;
}

static int sync4k(const char *dir, double seconds)
{
    char path[4096];
    int fd = open_new(dir, path, sizeof path);
    char buf[4096];
    memset(buf, 'y', sizeof buf);
    long n = 0;
    double t0 = now_s(), t;
    while ((t = now_s()) - t0 < seconds) {
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("write");
        if (fdatasync(fd) < 0) die("fdatasync");
        n++;
    }
    double s = now_s() - t0;
    close(fd);
    unlink(path);
    printf("{\"test\":\"sync4k\",\"count\":%ld,\"seconds\":%.3f,\"per_s\":%.1f}\n", n, s,
           (double)n / s);
    return 0;
}

static int usage(void)
{
    fputs("usage: bench_limits warm MIB | tcp SECONDS | rtt SECONDS | write DIR MIB |\n"
          "                    fdatasync DIR MIB | sync4k DIR SECONDS\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) return usage();
    const char *t = argv[1];
    if (!strcmp(t, "warm")) return warm(atol(argv[2]));
    if (!strcmp(t, "tcp")) return tcp(atof(argv[2]), 0);
    if (!strcmp(t, "rtt")) return tcp(atof(argv[2]), 1);
    if (argc < 4) return usage();
    if (!strcmp(t, "write")) return disk_write(argv[2], atol(argv[3]), 0);
    if (!strcmp(t, "fdatasync")) return disk_write(argv[2], atol(argv[3]), 1);
    if (!strcmp(t, "sync4k")) return sync4k(argv[2], atof(argv[3]));
    return usage();
}
