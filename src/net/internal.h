/* Internals of src/net shared by server.c, conn.c and transport_tcp.c.
 * Nothing outside src/net includes this file. */
#ifndef SL_NET_INTERNAL_H
#define SL_NET_INTERNAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <uv.h>

#include "base/buf.h"
#include "net/net.h"

#define SL_NET_MAX_LISTENERS 4
/* Read buffer size classes: 512 B << k, up to read_chunk_bytes. */
#define SL_RBUF_MIN_SHIFT 9
#define SL_RBUF_NCLASS    12   /* 512 B .. 1 MiB */
#define SL_RBUF_OWN       0xff /* class of a buffer that is never pooled */
#define SL_PEER_MAX       56   /* "[" + INET6_ADDRSTRLEN + "]:" + port */

/* Intrusive circular doubly linked list; an unlinked node points to itself. */
typedef struct sl_dlink {
    struct sl_dlink *prev, *next;
} sl_dlink;

static inline void sl_dlink_init(sl_dlink *l)
{
    l->prev = l->next = l;
}
static inline int sl_dlink_empty(const sl_dlink *l)
{
    return l->next == l;
}
static inline void sl_dlink_remove(sl_dlink *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}
static inline void sl_dlink_push_back(sl_dlink *head, sl_dlink *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}
#define SL_CONTAINER_OF(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

/* A reference-counted read buffer. Frames handed to on_request point into
 * `data`; each pending request holds one reference, the connection one while
 * it reads into it. */
typedef struct sl_rbuf {
    uint32_t refs;
    uint8_t cls; /* size class, or SL_RBUF_OWN */
    size_t cap;
    struct sl_rbuf *next_free;
    uint8_t data[];
} sl_rbuf;

enum sl_req_state { SL_REQ_PENDING = 0, SL_REQ_DONE, SL_REQ_NORESP };

typedef struct sl_req {
    struct sl_req *next_free;
    sl_rbuf *frame_buf; /* reference to the buffer the frame sits in */
    uint32_t frame_len;
    uint8_t state;
    uint8_t prefix[4]; /* big-endian response size */
    sl_buf resp;
} sl_req;

/* 16-byte address; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d). */
typedef struct sl_ipkey {
    uint8_t b[16];
} sl_ipkey;

/* Seam for a future TLS transport: the connection never calls read/write
 * syscalls directly. Results follow the syscalls: >= 0 bytes (0 = EOF for
 * recv), -1 with errno set (EAGAIN when the socket is not ready). A TLS
 * transport would also need to report "wants readable/writable" so that
 * conn.c can adjust poll interest; that belongs here when it is written. */
typedef struct sl_transport {
    const char *name;
    ssize_t (*recv)(sl_conn *c, void *buf, size_t len);
    /* `more`: further bytes follow at once (lets the kernel coalesce). */
    ssize_t (*sendv)(sl_conn *c, const struct iovec *iov, int iovcnt, int more);
    /* Sends up to len bytes of in_fd from *pos, advancing *pos. */
    ssize_t (*sendfile)(sl_conn *c, int in_fd, int64_t *pos, size_t len);
    /* Bytes readable without blocking (a sizing hint; 0 when unknown). */
    size_t (*readable)(sl_conn *c);
} sl_transport;

extern const sl_transport sl_transport_tcp;

enum {
    SL_CONN_CLOSING = 1u << 0,       /* closed: no more I/O */
    SL_CONN_HANDLE_CLOSED = 1u << 1, /* uv_close callback ran */
    SL_CONN_PAUSED = 1u << 2,        /* backpressure: not reading */
    SL_CONN_IN_READ = 1u << 3,       /* inside conn_read (on_request may run) */
    SL_CONN_WBLOCKED = 1u << 4,      /* write hit EAGAIN; waiting for POLLOUT */
    SL_CONN_BUSY = 1u << 5,          /* last read filled the buffer */
    SL_CONN_IP_COUNTED = 1u << 6,    /* counted in the per-IP table */
};

struct sl_conn {
    uv_poll_t poll;
    sl_server *srv;
    const sl_transport *tp;
    void *user;
    uint64_t id;
    int fd;
    int events; /* current poll interest */
    uint32_t flags;
    sl_dlink lru;    /* server->conns, least recently active first */
    sl_dlink dirty;  /* server->dirty: responses waiting for uncork */
    sl_dlink resume; /* server->resume: buffered frames after a pause */
    uint64_t last_active_ms;

    /* Reading. rb: buffer being parsed, bytes [rstart, rend) unconsumed.
     * fb: a frame being received into its own buffer, fb_len of fb_size.
     * hdr: up to 3 bytes of a size prefix kept between wakes. */
    sl_rbuf *rb;
    uint32_t rstart, rend;
    sl_rbuf *fb;
    uint32_t fb_len, fb_size;
    uint8_t hdr[4];
    uint8_t hdr_len;

    /* Requests [head_id, next_id) in order; ring[id & ring_mask]. */
    sl_req **ring;
    uint32_t ring_mask;
    uint32_t npending; /* delivered, not completed */
    uint64_t head_id, next_id;
    int64_t unsent_bytes;  /* completed response bytes not yet written */
    int64_t request_bytes; /* frame bytes of pending requests */
    uint32_t wr_seg;       /* write cursor in the head response */
    int64_t wr_off;

    sl_ipkey ip;
    char peer[SL_PEER_MAX];
};

typedef struct sl_listener {
    uv_poll_t poll;
    sl_server *srv;
    int fd;
    int port;
    int active;
} sl_listener;

typedef struct sl_ipcount {
    struct sl_ipcount *next;
    sl_ipkey key;
    int32_t count;
} sl_ipcount;

typedef struct sl_ipoverride {
    sl_ipkey key;
    int32_t limit;
} sl_ipoverride;

struct sl_server {
    uv_loop_t *loop;
    sl_server_config cfg;
    sl_server_handler h;
    void *ctx;
    sl_server_stats stats;

    sl_listener listeners[SL_NET_MAX_LISTENERS];
    int nlisteners;
    uv_timer_t idle_timer;   /* connections.max.idle.ms sweep */
    uv_timer_t accept_timer; /* resumes accepting after EMFILE */
    uv_idle_t resume_idle;   /* runs conns with buffered frames after a pause */
    int handles_open;

    sl_dlink conns;  /* open connections, LRU by activity */
    sl_dlink dirty;  /* connections with responses to write at uncork */
    sl_dlink resume; /* connections to run from resume_idle */
    int cork;
    uint64_t next_conn_id;
    uint64_t nconns_alloc; /* open + closed-but-not-freed */

    sl_rbuf *rpool[SL_RBUF_NCLASS];
    uint32_t rpool_n[SL_RBUF_NCLASS];
    size_t rpool_bytes;
    sl_req *req_pool;
    uint32_t req_pool_n;
    int64_t req_pool_bytes;

    sl_ipcount **ipbuckets;
    uint32_t ipbuckets_n;
    uint32_t ipcount_n;
    sl_ipoverride *overrides;
    size_t noverrides;
    int track_ips;

    int closing;
    sl_server_close_cb close_cb;

    /* log rate limit for per-connection warnings */
    uint64_t log_window_ms;
    uint32_t log_in_window;
    uint32_t log_suppressed;
};

/* server.c */
void sl_net_log_limited(sl_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_net_conn_closed(sl_server *s, sl_conn *c); /* limits/LRU bookkeeping */
void sl_net_conn_freed(sl_server *s);              /* may free the server */
void sl_net_schedule_resume(sl_server *s, sl_conn *c);
sl_rbuf *sl_net_rbuf_get(sl_server *s, size_t want);
sl_rbuf *sl_net_rbuf_own(sl_server *s, size_t cap);
sl_rbuf *sl_net_rbuf_grow(sl_server *s, sl_rbuf *b, size_t cap);
void sl_net_rbuf_unref(sl_server *s, sl_rbuf *b);
sl_req *sl_net_req_get(sl_server *s);
void sl_net_req_put(sl_server *s, sl_req *r);
void sl_net_mem_buf_delta(sl_server *s, const sl_buf *before_or_null, const sl_buf *after_or_null);

/* conn.c */
sl_conn *sl_net_conn_new(sl_server *s, int fd, const sl_ipkey *ip, const char *peer);
void sl_net_conn_read(sl_conn *c);
void sl_net_conn_flush(sl_conn *c);
void sl_net_conn_idle_close(sl_conn *c);

#endif
