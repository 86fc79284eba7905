/* sl_server / sl_conn: the Kafka-framed TCP layer of the broker.
 *
 * Owner thread: the libuv loop thread passed to sl_server_new. Every function
 * here, every callback and every object (server, connection, request id)
 * belongs to that thread; nothing is locked and nothing may be called from
 * another thread (a worker finishing blocking work must hop back to the loop
 * first, e.g. through uv_queue_work's after-callback).
 *
 * What it does: accepts connections on raw non-blocking sockets driven by
 * uv_poll_t, cuts the byte stream into Kafka frames ([int32 size][payload]),
 * hands each payload to the handler, and writes responses back strictly in
 * request order per connection: memory with writev, file ranges (sl_buf
 * splices) with sendfile. It enforces socket.request.max.bytes, connection
 * limits, the idle timeout and per-connection backpressure. It knows nothing
 * about the Kafka API: payloads are opaque bytes.
 *
 * Request lifecycle and the cancellation protocol
 *  1. on_request(ctx, c, id, frame, len) delivers one frame. `frame` stays
 *     valid until the request is completed, however long that takes.
 *  2. The handler completes every delivered request exactly once, with
 *     sl_conn_respond or sl_conn_complete_no_response - synchronously inside
 *     on_request or later from any loop callback.
 *  3. When the connection closes (peer gone, error, limit, idle timeout,
 *     sl_conn_close, sl_server_close) on_close(ctx, c) runs once. Requests
 *     still pending must nevertheless be completed (rule 2): on a closed
 *     connection completion only releases the request (the response is
 *     dropped, the caller's buffer is emptied) and returns SL_ERR_CLOSED.
 *     The handler may complete them inside on_close (cancellation) or let
 *     them finish normally.
 *  4. The sl_conn pointer stays valid until on_close has returned AND every
 *     delivered request has been completed; after that it is freed. So a
 *     late completion of a pending request is always safe, while keeping the
 *     pointer beyond that point is a use-after-free. sl_server_close's
 *     callback runs only once every connection is freed, i.e. once every
 *     request has been completed.
 *
 * Memory: an idle connection holds no read buffer. Reads are sized by what
 * the socket holds (FIONREAD) into pooled buffers; complete frames are
 * handed out in place (no copy) and pin only the buffer they sit in; a
 * frame larger than read_chunk_bytes, or left partial when the socket runs
 * dry, moves to its own buffer that grows with the bytes actually received,
 * never with the size the peer announced. See src/net/README.md.
 *
 * SIGPIPE: sendfile(2) on a socket the peer has reset raises SIGPIPE; the
 * process must ignore it (signal(SIGPIPE, SIG_IGN) in main). Memory parts
 * are sent with MSG_NOSIGNAL.
 */
#ifndef SL_NET_NET_H
#define SL_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"

typedef struct sl_server sl_server;
typedef struct sl_conn sl_conn;
/* Identifies one request of one connection; ids of a connection increase by
 * one per frame, starting at 0. */
typedef uint64_t sl_req_id;

typedef struct sl_server_config {
    /* socket.request.max.bytes: largest accepted frame payload (the size
     * field's value). Default 104857600. */
    int32_t socket_request_max_bytes;
    /* queued.max.requests, per connection: requests received whose response
     * is not yet fully written (pending + queued for sending). Reading from
     * the socket stops at this many and resumes at half. Default 100. */
    int32_t queued_max_requests;
    /* Per connection: response bytes (memory + file ranges) completed but not
     * yet written. Reading stops at this many and resumes at half.
     * Default 4 MiB. */
    int64_t queued_max_response_bytes;
    /* Per connection: bytes of request frames delivered and not yet
     * completed (what the broker still points into). Reading stops at this
     * many and resumes at half; one frame is always accepted whatever its
     * size. Default 64 MiB. */
    int64_t queued_max_request_bytes;
    /* max.connections: open connections per server; more are accepted and
     * closed at once. Default INT32_MAX. */
    int32_t max_connections;
    /* max.connections.per.ip: default INT32_MAX. */
    int32_t max_connections_per_ip;
    /* max.connections.per.ip.overrides: "ip:count,ip:count" with numeric
     * IPv4/IPv6 addresses (an IPv6 address may be written in brackets).
     * NULL or "" for none. Copied by sl_server_new. */
    const char *max_connections_per_ip_overrides;
    /* connections.max.idle.ms: close connections without traffic and without
     * pending requests for this long; <= 0 disables. Default 600000. */
    int64_t connections_max_idle_ms;
    /* socket.send.buffer.bytes / socket.receive.buffer.bytes: SO_SNDBUF /
     * SO_RCVBUF of accepted sockets; -1 keeps the kernel's autotuning.
     * Default -1 (Kafka's default is 102400; autotuning does better on
     * Linux). */
    int32_t socket_send_buffer_bytes;
    int32_t socket_receive_buffer_bytes;
    /* socket.listen.backlog.size: listen(2) backlog. Default 1024. */
    int32_t listen_backlog;
    /* Size of the pooled read buffers (a power of two, 4 KiB .. 1 MiB);
     * frames above it get their own buffer. Default 65536. */
    int32_t read_chunk_bytes;
} sl_server_config;

/* Fills every field with its default. */
void sl_server_config_default(sl_server_config *cfg);
/* Checks a configuration; on error writes a one-line reason to msg and
 * returns SL_ERR_INVALID_CONFIG. */
int sl_server_config_check(const sl_server_config *cfg, char *msg, size_t msg_len);

typedef struct sl_server_handler {
    /* Optional: a connection was accepted (set its user pointer here). */
    void (*on_open)(void *ctx, sl_conn *c);
    /* Required: one complete frame payload, without the size prefix. */
    void (*on_request)(void *ctx, sl_conn *c, sl_req_id id, const uint8_t *frame, size_t len);
    /* Optional: the connection closed; see the cancellation protocol above. */
    void (*on_close)(void *ctx, sl_conn *c);
} sl_server_handler;

/* Counters for metrics; read them through sl_server_stats_get. */
typedef struct sl_server_stats {
    uint64_t connections_open;     /* currently open */
    uint64_t connections_accepted; /* admitted since start */
    uint64_t connections_closed;   /* closed for any reason */
    uint64_t connections_rejected; /* refused by max.connections[.per.ip] */
    uint64_t connections_idle_closed;
    uint64_t frames_rejected; /* size <= 0 or > socket.request.max.bytes */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t requests;    /* frames delivered to on_request */
    uint64_t responses;   /* responses fully written */
    uint64_t read_pauses; /* times a connection stopped reading (backpressure) */
    /* Bytes currently allocated by this layer: connection structs, request
     * slots, read and frame buffers (pooled ones included), response
     * buffers it holds. Excludes kernel socket buffers and libuv. */
    int64_t mem_bytes;
    /* Part of mem_bytes that is idle in the pools (read buffers and request
     * slots kept for reuse, at most a few MiB). */
    int64_t pool_bytes;
} sl_server_stats;

typedef void (*sl_server_close_cb)(void *ctx);

/* Creates a server on `loop`; `h` is copied, `ctx` is passed to every
 * callback. Returns NULL (and logs why) if cfg is invalid. */
sl_server *sl_server_new(uv_loop_t *loop, const sl_server_config *cfg, const sl_server_handler *h,
                         void *ctx);
/* Binds and listens on host:port (host NULL or "" means all IPv4
 * addresses; port 0 picks a free port). May be called up to 4 times for
 * several listeners. Returns the bound port (> 0) or a negative SL_ERR_*. */
int sl_server_listen(sl_server *s, const char *host, int port);
/* Port of the first listener, or 0 if none. */
int sl_server_port(const sl_server *s);
/* Stops accepting, closes every connection (on_close runs for each) and
 * frees the server once every handle is closed and every request completed;
 * then cb(ctx) runs (cb may be NULL). Don't use `s` after calling this. */
void sl_server_close(sl_server *s, sl_server_close_cb cb);
const sl_server_stats *sl_server_stats_get(const sl_server *s);
/* Logs a warning that a peer caused (a malformed request...) under the same
 * budget as this layer's own: at most 20 such lines a second per server,
 * then one line counting those dropped, so a client sending garbage in a
 * loop cannot flood the log. */
void sl_server_log_peer(sl_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* While corked, responses completed on any connection of the server are
 * queued, and written by the sl_server_uncork that brings the count back to
 * zero: completing many requests at once (a group commit) then costs one
 * writev per connection instead of one per response. Nests. Reads are
 * corked this way automatically around on_request. */
void sl_server_cork(sl_server *s);
void sl_server_uncork(sl_server *s);

/* Completes request `id` with the payload in `resp` (without the size
 * prefix; the layer writes it). Takes the buffer's contents, memory and
 * splices (the file references move with them), and leaves `resp` empty
 * with a recycled allocation, ready for the next response: a swap, not a
 * copy. Writes at once if the response is next in line and nothing is
 * corked. Returns 0; SL_ERR_CLOSED if the connection is closed (response
 * dropped); SL_ERR_INVALID_ARG if `id` is not pending (a caller bug,
 * logged); SL_ERR_TOO_LARGE if the response exceeds INT32_MAX bytes (the
 * connection is closed, since order can't be kept). */
int sl_conn_respond(sl_conn *c, sl_req_id id, sl_buf *resp);
/* Completes request `id` without a response (Produce with acks=0). */
int sl_conn_complete_no_response(sl_conn *c, sl_req_id id);
/* Closes the connection now (malformed request, auth failure...). Responses
 * already completed are written first if the socket takes them without
 * blocking (so an error response sent just before usually arrives); the
 * rest is dropped; on_close runs. Idempotent. */
void sl_conn_close(sl_conn *c);

void sl_conn_set_user(sl_conn *c, void *user);
void *sl_conn_user(const sl_conn *c);
/* "1.2.3.4:5678" or "[::1]:5678"; borrowed, valid as long as the conn. */
const char *sl_conn_peer(const sl_conn *c);
/* Unique per server, increasing; for logs. */
uint64_t sl_conn_id(const sl_conn *c);
sl_server *sl_conn_server(const sl_conn *c);
bool sl_conn_is_open(const sl_conn *c);
/* Requests delivered and not yet completed. */
uint32_t sl_conn_pending(const sl_conn *c);

#endif
