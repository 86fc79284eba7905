/* One raw ApiVersions v0 exchange, for `sluice cluster info`.
 *
 * librdkafka negotiates API versions with every broker but keeps the
 * answer private, so this helper asks once itself: it connects over plain
 * TCP, sends a size-prefixed ApiVersions v0 request (request header v1,
 * empty body) encoded with the project's generated codec, and decodes the
 * answer (response header v0: the correlation id, then the v0 body). v0 is
 * answered by every Kafka-compatible broker, old or new. It is not a
 * client: no retries, no TLS (cluster info skips it when -X sets an SSL
 * security.protocol), one request per connection, bounded sizes and time.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/mem.h"
#include "cli.h"
#include "proto/api.h"

#define RESPONSE_MAX_BYTES (1 << 20) /* a real answer is a few hundred bytes */
#define CORRELATION_ID     0x51c3

static int64_t left_ms(int64_t deadline_ns)
{
    int64_t ms = (deadline_ns - sl_now_ns()) / 1000000;
    return ms < 0 ? 0 : ms;
}

/* Waits for `events` on fd until the deadline; 0 when ready, -1 on timeout. */
static int wait_fd(int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left_ms(deadline_ns));
        if (r > 0) return 0;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR) return -1;
    }
}

static int connect_host(const char *host, const char *port, int64_t deadline_ns, char *err,
                        size_t err_n)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai) {
        snprintf(err, err_n, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline_ns) == 0) {
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            if (soerr == 0) break;
            errno = soerr;
        }
        snprintf(err, err_n, "connect to %s:%s failed: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int io_all(int fd, void *buf, size_t len, bool out, int64_t deadline_ns)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (wait_fd(fd, out ? POLLOUT : POLLIN, deadline_ns) != 0) return -1;
    }
    return 0;
}

/* Splits the first entry of a bootstrap list ("[proto://]host:port[,...]",
 * IPv6 as [addr]:port) into host and port. */
static int split_host_port(const char *s, char *host, size_t host_n, char *port, size_t port_n)
{
    const char *scheme = strstr(s, "://");
    if (scheme) s = scheme + 3;
    size_t len = strcspn(s, ",");
    const char *end = s + len, *colon;
    if (*s == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb || rb + 1 >= end || rb[1] != ':') return -1;
        snprintf(host, host_n, "%.*s", (int)(rb - s - 1), s + 1);
        colon = rb + 1;
    } else {
        colon = NULL;
        for (const char *p = s; p < end; p++)
            if (*p == ':') colon = p;
        if (!colon || colon == s) return -1;
        snprintf(host, host_n, "%.*s", (int)(colon - s), s);
    }
    snprintf(port, port_n, "%.*s", (int)(end - colon - 1), colon + 1);
    return port[0] ? 0 : -1;
}

int sl_api_versions_fetch(const char *host_port, int timeout_ms, sl_api_range **out, char *err,
                          size_t err_n)
{
    char host[256], port[32];
    *out = NULL;
    if (split_host_port(host_port, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(err, err_n, "bad broker address '%s'", host_port);
        return -1;
    }
    int64_t deadline = sl_now_ns() + (int64_t)timeout_ms * 1000000;
    int fd = connect_host(host, port, deadline, err, err_n);
    if (fd < 0) return -1;

    int result = -1;
    uint8_t *body = NULL;
    sl_arena arena;
    sl_arena_init(&arena, 4096, RESPONSE_MAX_BYTES * 4);
    sl_buf b;
    sl_buf_init(&b);
    size_t at = sl_proto_frame_begin(&b);
    RequestHeader h;
    RequestHeader_init(&h);
    h.RequestApiKey = SL_API_API_VERSIONS;
    h.RequestApiVersion = 0;
    h.CorrelationId = CORRELATION_ID;
    h.ClientId = sl_str_c("sluice");
    sl_proto_request_header_encode(&b, &h);
    ApiVersionsRequest req;
    ApiVersionsRequest_init(&req);
    ApiVersionsRequest_encode(&b, 0, &req);
    sl_proto_frame_end(&b, at);

    uint8_t size_be[4];
    if (io_all(fd, b.data, b.len, true, deadline) != 0 ||
        io_all(fd, size_be, 4, false, deadline) != 0) {
        snprintf(err, err_n, "ApiVersions exchange with %s:%s failed: %s", host, port,
                 strerror(errno));
        goto done;
    }
    uint32_t size = sl_load_be32(size_be);
    if (size < 4 || size > RESPONSE_MAX_BYTES) {
        snprintf(err, err_n, "ApiVersions answer from %s:%s has a bad size (%u bytes)", host, port,
                 size);
        goto done;
    }
    body = sl_malloc(size);
    if (io_all(fd, body, size, false, deadline) != 0) {
        snprintf(err, err_n, "reading the ApiVersions answer from %s:%s failed: %s", host, port,
                 strerror(errno));
        goto done;
    }
    sl_reader r;
    sl_reader_init(&r, body, size);
    int32_t corr = sl_read_i32(&r);
    ApiVersionsResponse resp;
    ApiVersionsResponse_init(&resp);
    int derr = ApiVersionsResponse_decode(&r, &arena, 0, &resp);
    if (corr != CORRELATION_ID || derr != 0) {
        snprintf(err, err_n, "malformed ApiVersions answer from %s:%s (%s)", host, port,
                 corr != CORRELATION_ID ? "wrong correlation id" : sl_err_str(derr));
        goto done;
    }
    if (resp.ErrorCode != 0) {
        snprintf(err, err_n, "ApiVersions answer from %s:%s carries error code %d", host, port,
                 resp.ErrorCode);
        goto done;
    }
    int n = resp.ApiKeys_count > 0 ? resp.ApiKeys_count : 0;
    sl_api_range *v = sl_calloc((size_t)n + 1, sizeof(*v));
    for (int i = 0; i < n; i++) {
        v[i].key = resp.ApiKeys[i].ApiKey;
        v[i].min_version = resp.ApiKeys[i].MinVersion;
        v[i].max_version = resp.ApiKeys[i].MaxVersion;
    }
    *out = v;
    result = n;
done:
    sl_free(body);
    sl_buf_fini(&b);
    sl_arena_fini(&arena);
    close(fd);
    return result;
}

/* Kafka's API keys, for display. */
static const char *const api_names[] = {
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "LeaderAndIsr",
    "StopReplica",
    "UpdateMetadata",
    "ControlledShutdown",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeAcls",
    "CreateAcls",
    "DeleteAcls",
    "DescribeConfigs",
    "AlterConfigs",
    "AlterReplicaLogDirs",
    "DescribeLogDirs",
    "SaslAuthenticate",
    "CreatePartitions",
    "CreateDelegationToken",
    "RenewDelegationToken",
    "ExpireDelegationToken",
    "DescribeDelegationToken",
    "DeleteGroups",
    "ElectLeaders",
    "IncrementalAlterConfigs",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "OffsetDelete",
    "DescribeClientQuotas",
    "AlterClientQuotas",
    "DescribeUserScramCredentials",
    "AlterUserScramCredentials",
    "Vote",
    "BeginQuorumEpoch",
    "EndQuorumEpoch",
    "DescribeQuorum",
    "AlterPartition",
    "UpdateFeatures",
    "Envelope",
    "FetchSnapshot",
    "DescribeCluster",
    "DescribeProducers",
    "BrokerRegistration",
    "BrokerHeartbeat",
    "UnregisterBroker",
    "DescribeTransactions",
    "ListTransactions",
    "AllocateProducerIds",
    "ConsumerGroupHeartbeat",
};

const char *sl_api_key_name(int16_t key)
{
    if (key < 0 || (size_t)key >= SL_ARRAY_LEN(api_names)) return NULL;
    return api_names[key];
}
