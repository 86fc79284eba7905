/* The metadata log: libraft driving the image.
 *
 * One sl_meta owns one Raft instance (libraft's libuv I/O in <log_dir>/__meta)
 * whose state machine is the image: every committed RAFT_COMMAND entry is one
 * record (record.c) applied by fsm_apply; a Raft snapshot is the encoded image
 * (image.c). On a single node the Raft configuration holds one voter, this
 * node, so raft_start makes it leader at once and commits by itself.
 *
 * Cluster seam: libraft talks to peers through a raft_uv_transport. Here it
 * is a null transport (no listener, connecting always fails), which is all a
 * single voter needs. A controller quorum plugs a real transport in, adds
 * voters with raft_add/raft_assign, and proposals go to whichever node is
 * leader; nothing in the record or image layers changes.
 *
 * States:  OPENING --(barrier applied, broker registered)--> READY
 *          OPENING|READY --(sl_meta_close)--> CLOSING --(raft closed)--> freed
 *          any --(undecodable record in the log)--> FAILED (sticky; image
 *          frozen at the record before, proposals refused, no snapshots)
 *
 * Threads: everything runs on the owner's loop except raft_init, which runs
 * once on a libuv worker thread. libraft does its I/O on a private loop
 * (rloop) that the owner's loop drives: rpoll watches rloop's backend fd,
 * rtimer fires at rloop's next timeout, and both run it with UV_RUN_NOWAIT.
 * Nothing touches rloop while raft_init runs, so that is safe, and it takes
 * raft_init's capability probe (io_setup + io_destroy, which waits for an
 * RCU grace period: 30-60 ms on some kernels) off the owner's loop.
 *
 * libraft rules learned the hard way (libraft 0.15 on libuv 1.44):
 *  - raft_close must not be called from inside a libraft callback (it
 *    asserts in uv_poll_stop), and proposing from inside one re-enters its
 *    append path; so both go through `kick`, an idle handle on the owner's
 *    loop, which also never nests uv_run of rloop.
 *  - Entries must be a multiple of 8 bytes long (see record.c).
 *  - Buffers libraft allocates are not zeroed and reach the disk (barrier
 *    payloads, segment padding). A zeroing heap (raft_heap_set) makes the
 *    on-disk bytes deterministic and keeps valgrind quiet.
 *  - Closing an open segment calls io_destroy on the loop thread, so
 *    sl_meta_close takes ~30 ms, and so does each segment roll-over (every
 *    `segment_size_bytes` of log, 1 MiB by default: ~15,000 records).
 */
#include "meta/meta.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <dirent.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

#define META_DIR             "__meta"
#define DEFAULT_SEGMENT_SIZE (1u << 20)

enum pending_kind { P_PLAIN, P_TOPIC, P_PID, P_REGISTER };

typedef struct pending {
    struct raft_apply req; /* req.data = this */
    struct pending *next;
    sl_meta *m;
    int kind;
    union {
        sl_meta_cb plain;
        sl_meta_topic_cb topic;
        sl_meta_pid_cb pid;
    } cb;
    void *arg;
    struct raft_buffer buf; /* encoded record (raft heap) until submitted */
    uint8_t topic_id[16];
    int32_t pid_count;
    int64_t pid_first;
} pending;

struct sl_meta {
    uv_loop_t *loop;
    struct raft raft;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft_uv_transport transport;
    struct raft_barrier barrier;
    uv_idle_t kick; /* deferred work on `loop` (proposals, close) */

    /* libraft runs on a private loop driven from `loop`, so raft_init (which
     * blocks on io_destroy) can run on a worker thread before anyone else
     * touches that loop. */
    uv_loop_t rloop;
    uv_poll_t rpoll;   /* on `loop`: rloop's backend fd is readable */
    uv_timer_t rtimer; /* on `loop`: rloop's next timeout */
    uv_work_t init_work;
    int init_rv;
    raft_id rid;
    char address[SL_META_MAX_HOST + 16];
    char raft_dir[PATH_MAX];
    bool initing;     /* raft_init running on a worker thread */
    bool raft_inited; /* raft_init succeeded: raft_close is owed */
    bool raft_closed; /* raft closed and its io released */
    bool tearing;
    int main_open; /* handles on `loop` still to be closed at teardown */

    sl_meta_image *img;
    sl_arena arena; /* decoded record being applied */
    int32_t node_id;
    char cluster_id[64];
    char *host;
    int32_t port;
    char *rack;

    sl_meta_ready_cb ready_cb;
    void *ready_arg;
    bool ready_fired;
    bool ready;
    bool loaded; /* replay done: applies now produce events */
    int fatal;   /* sticky: the log holds a record this build cannot apply */
    unsigned snapshot_threshold, snapshot_trailing;
    sl_meta_stats stats;
    int64_t open_ns; /* for startup timing in the logs */
    int startup_err;

    bool closing;
    bool raft_closing;
    sl_meta_close_cb close_cb;
    void *close_arg;

    pending *q_head, *q_tail;     /* proposals waiting for the next kick */
    pending *pid_head, *pid_tail; /* producer id blocks: one in flight at a time */
    bool pid_inflight;

    const sl_meta_listener **listeners;
    size_t n_listeners, cap_listeners;
};

/* ---- libraft heap --------------------------------------------------------- */

static void *zh_malloc(void *d, size_t n)
{
    (void)d;
    return calloc(1, n ? n : 1);
}
static void zh_free(void *d, void *p)
{
    (void)d;
    free(p);
}
static void *zh_calloc(void *d, size_t n, size_t size)
{
    (void)d;
    return calloc(n, size);
}
static void *zh_realloc(void *d, void *p, size_t n)
{
    (void)d;
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n);
    if (q && n > old) memset((char *)q + old, 0, n - old);
    return q;
}
static void *zh_aligned_alloc(void *d, size_t align, size_t size)
{
    (void)d;
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : align) != 0) return NULL;
    memset(p, 0, size);
    return p;
}
static void zh_aligned_free(void *d, size_t align, void *p)
{
    (void)d;
    (void)align;
    free(p);
}

/* libraft's allocator hook is process-wide by its design; it is set once,
 * to a stateless allocator, and never changed. */
static struct raft_heap zeroing_heap = {
    NULL, zh_malloc, zh_free, zh_calloc, zh_realloc, zh_aligned_alloc, zh_aligned_free,
};
static pthread_once_t heap_once = PTHREAD_ONCE_INIT;
static void heap_init(void)
{
    raft_heap_set(&zeroing_heap);
}

/* ---- helpers -------------------------------------------------------------- */

static int map_raft_err(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case RAFT_NOMEM:
        return SL_ERR_NOMEM;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST:
        return SL_ERR_NOT_LEADER;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED:
        return SL_ERR_CLOSED;
    case RAFT_TOOBIG:
        return SL_ERR_TOO_LARGE;
    case RAFT_CORRUPT:
    case RAFT_MALFORMED:
        return SL_ERR_CORRUPT;
    default:
        return SL_ERR_IO;
    }
}

static void kick_start(sl_meta *m);

static void fire_ready(sl_meta *m, int status)
{
    if (m->ready_fired) return;
    m->ready_fired = true;
    m->ready = status == 0;
    if (status == 0)
        SL_INFO("meta", "metadata ready node.id=%d cluster.id=%s offset=%lld topics=%zu in %.1f ms",
                (int)m->node_id, m->cluster_id, (long long)sl_meta_image_offset(m->img),
                sl_meta_topic_count(m->img), (double)(sl_mono_ns() - m->open_ns) / 1e6);
    else if (status == SL_ERR_CLOSED)
        SL_INFO("meta", "metadata log closed before it was ready");
    else
        SL_ERROR("meta", "metadata log failed to start: %s", sl_err_str(status));
    if (m->ready_cb) m->ready_cb(m->ready_arg, status);
}

/* ---- listeners ------------------------------------------------------------ */

void sl_meta_add_listener(sl_meta *m, const sl_meta_listener *l)
{
    if (m->n_listeners == m->cap_listeners) {
        m->cap_listeners = m->cap_listeners ? m->cap_listeners * 2 : 4;
        m->listeners = sl_realloc(m->listeners, m->cap_listeners * sizeof *m->listeners);
    }
    m->listeners[m->n_listeners++] = l;
}

void sl_meta_remove_listener(sl_meta *m, const sl_meta_listener *l)
{
    for (size_t i = 0; i < m->n_listeners; i++)
        if (m->listeners[i] == l) {
            memmove(&m->listeners[i], &m->listeners[i + 1],
                    (m->n_listeners - i - 1) * sizeof *m->listeners);
            m->n_listeners--;
            return;
        }
}

static void on_event(void *ctx, const sl_meta_event *ev)
{
    sl_meta *m = ctx;
    /* Index loop: a listener may remove itself (or add one) while called. */
    for (size_t i = 0; i < m->n_listeners; i++) {
        const sl_meta_listener *l = m->listeners[i];
        switch (ev->type) {
        case SL_META_EV_BROKER_REGISTERED:
            if (l->broker_registered) l->broker_registered(l->arg, ev->broker);
            break;
        case SL_META_EV_TOPIC_CREATED:
            if (l->topic_created) l->topic_created(l->arg, ev->topic);
            break;
        case SL_META_EV_TOPIC_DELETED:
            if (l->topic_deleted) l->topic_deleted(l->arg, ev->topic);
            break;
        case SL_META_EV_PARTITIONS_ADDED:
            if (l->partitions_added) l->partitions_added(l->arg, ev->topic, ev->old_count);
            break;
        case SL_META_EV_PARTITION_CHANGED:
            if (l->partition_changed) l->partition_changed(l->arg, ev->topic, ev->partition);
            break;
        case SL_META_EV_TOPIC_CONFIG_CHANGED:
            if (l->topic_config_changed) l->topic_config_changed(l->arg, ev->topic);
            break;
        case SL_META_EV_BROKER_CONFIG_CHANGED:
            if (l->broker_config_changed) l->broker_config_changed(l->arg, ev->node_id);
            break;
        default:
            break;
        }
    }
}

static void fire_loaded(sl_meta *m)
{
    for (size_t i = 0; i < m->n_listeners; i++)
        if (m->listeners[i]->loaded) m->listeners[i]->loaded(m->listeners[i]->arg, m->img);
}

/* ---- state machine ---------------------------------------------------------- */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    sl_meta *m = fsm->data;
    /* libraft advances last_applied after this returns. */
    int64_t index = (int64_t)raft_last_applied(&m->raft) + 1;
    *result = NULL;
    if (m->fatal) {
        *result = (void *)(intptr_t)m->fatal;
        return 0;
    }
    sl_arena_reset(&m->arena);
    sl_meta_record rec;
    int rc = sl_meta_record_decode_entry(buf->base, buf->len, &m->arena, &rec);
    if (rc) {
        /* Applying later records on top of one we could not read would build
         * an image no other replica has: stop here, loudly. */
        SL_ERROR("meta",
                 "metadata record at index %lld cannot be read (%s): %s; "
                 "the metadata image stays at index %lld",
                 (long long)index, sl_err_str(rc),
                 rc == SL_ERR_UNSUPPORTED_VERSION ? "it was written by a newer sluice"
                                                  : "the log is corrupt",
                 (long long)sl_meta_image_offset(m->img));
        m->fatal = rc;
        *result = (void *)(intptr_t)rc;
        return 0;
    }
    rc = sl_meta_image_apply(m->img, &rec, index, m->loaded ? on_event : NULL, m);
    if (m->loaded)
        m->stats.records_applied++;
    else
        m->stats.records_replayed++;
    if (rc) {
        m->stats.records_rejected++;
        SL_DEBUG("meta", "record %s at index %lld not applied: %s",
                 sl_meta_record_type_name(rec.type), (long long)index, sl_err_str(rc));
    }
    *result = (void *)(intptr_t)rc;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    sl_meta *m = fsm->data;
    if (m->fatal) return RAFT_CORRUPT; /* never persist a frozen image */
    sl_buf b;
    sl_buf_init(&b);
    sl_meta_image_encode(m->img, &b);
    struct raft_buffer *arr = sl_malloc(sizeof *arr);
    arr->base = b.data;
    arr->len = b.len;
    *bufs = arr;
    *n_bufs = 1;
    m->stats.snapshots_taken++;
    SL_DEBUG("meta", "snapshot at index %lld: %zu bytes", (long long)sl_meta_image_offset(m->img),
             b.len);
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    (void)fsm;
    if (*bufs) {
        for (unsigned i = 0; i < *n_bufs; i++)
            sl_free((*bufs)[i].base);
        sl_free(*bufs);
    }
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    sl_meta *m = fsm->data;
    sl_meta_image *img;
    int rc = sl_meta_image_decode(buf->base, buf->len, &img);
    if (rc) {
        SL_ERROR("meta", "metadata snapshot cannot be read: %s", sl_err_str(rc));
        return RAFT_CORRUPT;
    }
    if (strcmp(sl_meta_image_cluster_id(img), m->cluster_id) != 0) {
        SL_ERROR("meta", "metadata snapshot belongs to cluster %s, not %s",
                 sl_meta_image_cluster_id(img), m->cluster_id);
        sl_meta_image_free(img);
        return RAFT_CORRUPT;
    }
    sl_meta_image_free(m->img);
    m->img = img;
    raft_free(buf->base); /* ours on success */
    m->stats.snapshots_restored++;
    if (m->loaded) fire_loaded(m);
    return 0;
}

/* ---- null transport (single voter) -------------------------------------- */

static int tr_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    (void)t;
    (void)id;
    (void)address;
    return 0;
}
static int tr_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    (void)t;
    (void)cb;
    return 0;
}
static int tr_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb)
{
    (void)t;
    (void)req;
    (void)id;
    (void)address;
    (void)cb;
    return RAFT_NOCONNECTION;
}
static void tr_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    cb(t);
}

/* ---- proposals: queue, submit, complete ------------------------------------ */

static void complete(pending *p, int status)
{
    sl_meta *m = p->m;
    switch (p->kind) {
    case P_TOPIC: {
        const sl_meta_topic *t = status == 0 ? sl_meta_topic_by_id(m->img, p->topic_id) : NULL;
        if (p->cb.topic) p->cb.topic(p->arg, status, t);
        break;
    }
    case P_PID:
        m->pid_inflight = false;
        p->cb.pid(p->arg, status, status == 0 ? p->pid_first : -1, status == 0 ? p->pid_count : 0);
        if (m->pid_head) kick_start(m);
        break;
    case P_REGISTER:
        fire_ready(m, status);
        break;
    default:
        if (p->cb.plain) p->cb.plain(p->arg, status);
        break;
    }
    if (p->buf.base) raft_free(p->buf.base);
    sl_free(p);
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    pending *p = req->data;
    p->buf.base = NULL; /* libraft owns and frees the entry */
    int st = status ? map_raft_err(status) : (int)(intptr_t)result;
    complete(p, st);
}

static void enqueue(sl_meta *m, pending *p)
{
    p->next = NULL;
    if (m->q_tail)
        m->q_tail->next = p;
    else
        m->q_head = p;
    m->q_tail = p;
    kick_start(m);
}

static pending *pending_new(sl_meta *m, int kind, void *arg)
{
    pending *p = SL_NEW(pending);
    p->m = m;
    p->kind = kind;
    p->arg = arg;
    p->req.data = p;
    return p;
}

/* Encodes rec into p->buf (libraft's heap: it frees entries itself). */
static int pending_set_record(pending *p, const sl_meta_record *rec)
{
    sl_buf b;
    sl_buf_init(&b);
    int rc = sl_meta_record_encode(rec, &b);
    if (rc == 0) {
        sl_meta_record_pad(&b);
        p->buf.base = raft_malloc(b.len);
        if (!p->buf.base)
            rc = SL_ERR_NOMEM;
        else {
            memcpy(p->buf.base, b.data, b.len);
            p->buf.len = b.len;
        }
    }
    sl_buf_fini(&b);
    return rc;
}

static void submit(sl_meta *m, pending *p)
{
    int rv = raft_apply(&m->raft, &p->req, &p->buf, 1, apply_cb);
    if (rv != 0) {
        SL_WARN("meta", "cannot propose metadata record: %s", raft_strerror(rv));
        complete(p, map_raft_err(rv));
    }
}

static void start_pid(sl_meta *m)
{
    if (m->pid_inflight || !m->pid_head) return;
    pending *p = m->pid_head;
    m->pid_head = p->next;
    if (!m->pid_head) m->pid_tail = NULL;
    /* One block in flight at a time, so the image's next id is the start. */
    sl_meta_record rec = {.type = SL_META_REC_PRODUCER_IDS};
    rec.producer_ids.node_id = m->node_id;
    rec.producer_ids.first_id = sl_meta_image_next_producer_id(m->img);
    rec.producer_ids.count = p->pid_count;
    p->pid_first = rec.producer_ids.first_id;
    int rc = sl_meta_image_check(m->img, &rec);
    if (!rc) rc = pending_set_record(p, &rec);
    m->pid_inflight = true;
    if (rc) {
        complete(p, rc);
        return;
    }
    submit(m, p);
}

static void on_raft_closed(struct raft *r);
static void rearm(sl_meta *m);
static void rtimer_cb(uv_timer_t *h);

static void kick_cb(uv_idle_t *h)
{
    sl_meta *m = h->data;
    uv_idle_stop(h);
    if (m->tearing) return;
    if (m->closing) {
        while (m->q_head) {
            pending *p = m->q_head;
            m->q_head = p->next;
            complete(p, SL_ERR_CLOSED);
        }
        m->q_tail = NULL;
        while (m->pid_head) {
            pending *p = m->pid_head;
            m->pid_head = p->next;
            complete(p, SL_ERR_CLOSED);
        }
        m->pid_tail = NULL;
        if (m->initing) return; /* init_done_cb kicks again */
        if (m->raft_inited && !m->raft_closing) {
            m->raft_closing = true;
            raft_close(&m->raft, on_raft_closed);
        }
        rearm(m);
        return;
    }
    if (m->startup_err) {
        fire_ready(m, m->startup_err);
        return;
    }
    while (m->q_head) {
        pending *p = m->q_head;
        m->q_head = p->next;
        if (!m->q_head) m->q_tail = NULL;
        submit(m, p);
    }
    start_pid(m);
    rearm(m);
}

static void kick_start(sl_meta *m)
{
    if (!m->tearing && !uv_is_active((uv_handle_t *)&m->kick)) uv_idle_start(&m->kick, kick_cb);
}

/* ---- driving the private loop ----------------------------------------------- */

static void teardown(sl_meta *m);

/* Runs what is ready on rloop. Only from callbacks of `loop`, never from
 * inside rloop (uv_run does not nest). */
static void drive(sl_meta *m)
{
    if (!m->tearing) uv_run(&m->rloop, UV_RUN_NOWAIT);
}

/* Re-arms the timer for rloop's next deadline, or finishes a close. */
static void rearm(sl_meta *m)
{
    if (m->tearing) return;
    bool alive = uv_loop_alive(&m->rloop);
    if (m->closing && !m->initing && (m->raft_closed || !m->raft_inited) && !alive) {
        teardown(m);
        return;
    }
    int t = alive ? uv_backend_timeout(&m->rloop) : -1;
    if (t < 0)
        uv_timer_stop(&m->rtimer);
    else
        uv_timer_start(&m->rtimer, rtimer_cb, (uint64_t)t, 0);
}

static void rtimer_cb(uv_timer_t *h)
{
    sl_meta *m = h->data;
    drive(m);
    rearm(m);
}

static void rpoll_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    sl_meta *m = h->data;
    drive(m);
    rearm(m);
}

/* ---- startup -------------------------------------------------------------- */

static bool registration_current(const sl_meta *m)
{
    const sl_meta_broker *b = sl_meta_broker_by_id(m->img, m->node_id);
    if (!b) return false;
    const char *rack = sl_meta_broker_rack(b);
    return sl_meta_broker_port(b) == m->port && strcmp(sl_meta_broker_host(b), m->host) == 0 &&
           ((!rack && !m->rack) || (rack && m->rack && strcmp(rack, m->rack) == 0));
}

static void barrier_cb(struct raft_barrier *req, int status)
{
    sl_meta *m = req->data;
    if (status != 0) {
        fire_ready(m, m->closing ? SL_ERR_CLOSED : map_raft_err(status));
        return;
    }
    if (m->fatal) {
        fire_ready(m, m->fatal);
        return;
    }
    m->loaded = true;
    SL_DEBUG("meta", "log replayed %.1f ms after open", (double)(sl_mono_ns() - m->open_ns) / 1e6);
    fire_loaded(m);
    if (m->closing) {
        fire_ready(m, SL_ERR_CLOSED);
        return;
    }
    if (registration_current(m)) {
        fire_ready(m, 0);
        return;
    }
    sl_meta_record rec = {.type = SL_META_REC_REGISTER_BROKER};
    rec.broker.node_id = m->node_id;
    rec.broker.port = m->port;
    rec.broker.host = sl_meta_cstr(m->host);
    rec.broker.rack = sl_meta_cstr(m->rack);
    pending *p = pending_new(m, P_REGISTER, NULL);
    int rc = sl_meta_image_check(m->img, &rec);
    if (!rc) rc = pending_set_record(p, &rec);
    if (rc) {
        complete(p, rc);
        return;
    }
    enqueue(m, p);
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
        SL_ERROR("meta", "%s exists and is not a directory", path);
        return SL_ERR_IO;
    }
    SL_ERROR("meta", "cannot create %s: %s", path, strerror(errno));
    return SL_ERR_IO;
}

/* Whether a directory has entries other than . and .. (false if absent). */
static bool dir_has_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d)) != NULL)
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* Reads or creates meta.properties; fills m->cluster_id. */
static int load_identity(sl_meta *m, const sl_meta_config *cfg, const char *raft_dir)
{
    sl_meta_props p;
    int rc = sl_meta_props_read(cfg->log_dir, &p);
    if (rc == 0) {
        if (p.node_id != cfg->node_id) {
            SL_ERROR("meta",
                     "%s/meta.properties says node.id=%d but node.id=%d is configured; "
                     "a log directory belongs to one node",
                     cfg->log_dir, (int)p.node_id, (int)cfg->node_id);
            return SL_ERR_INVALID_CONFIG;
        }
        if (cfg->cluster_id && strcmp(cfg->cluster_id, p.cluster_id) != 0) {
            SL_ERROR("meta",
                     "%s/meta.properties says cluster.id=%s but cluster.id=%s is configured",
                     cfg->log_dir, p.cluster_id, cfg->cluster_id);
            return SL_ERR_INVALID_CONFIG;
        }
        snprintf(m->cluster_id, sizeof m->cluster_id, "%s", p.cluster_id);
        return 0;
    }
    if (rc != SL_ERR_NOT_FOUND) return rc;
    if (dir_has_entries(raft_dir)) {
        SL_ERROR("meta", "%s holds a metadata log but %s/meta.properties is missing", raft_dir,
                 cfg->log_dir);
        return SL_ERR_INVALID_CONFIG;
    }
    memset(&p, 0, sizeof p);
    p.version = 1;
    p.node_id = cfg->node_id;
    if (cfg->cluster_id) {
        if (strlen(cfg->cluster_id) >= sizeof p.cluster_id) return SL_ERR_INVALID_CONFIG;
        snprintf(p.cluster_id, sizeof p.cluster_id, "%s", cfg->cluster_id);
    } else {
        char id[23];
        rc = sl_meta_new_cluster_id(id);
        if (rc) return rc;
        snprintf(p.cluster_id, sizeof p.cluster_id, "%s", id);
    }
    rc = sl_meta_props_write(cfg->log_dir, &p);
    if (rc == SL_ERR_INVALID_ARG) {
        SL_ERROR("meta", "invalid cluster.id '%s'", p.cluster_id);
        return SL_ERR_INVALID_CONFIG;
    }
    if (rc) return rc;
    SL_INFO("meta", "new log directory %s: node.id=%d cluster.id=%s", cfg->log_dir, (int)p.node_id,
            p.cluster_id);
    snprintf(m->cluster_id, sizeof m->cluster_id, "%s", p.cluster_id);
    return 0;
}

static void meta_free(sl_meta *m)
{
    while (m->q_head) {
        pending *p = m->q_head;
        m->q_head = p->next;
        if (p->buf.base) raft_free(p->buf.base);
        sl_free(p);
    }
    sl_meta_image_free(m->img);
    sl_arena_fini(&m->arena);
    sl_free(m->listeners);
    sl_free(m->host);
    sl_free(m->rack);
    sl_free(m);
}

/* Worker thread: nothing else touches rloop or the raft instance yet. */
static void init_work_cb(uv_work_t *w)
{
    sl_meta *m = w->data;
    int64_t t0 = sl_mono_ns();
    m->init_rv = raft_init(&m->raft, &m->io, &m->fsm, m->rid, m->address);
    SL_DEBUG("meta", "raft_init took %.1f ms (worker thread)", (double)(sl_mono_ns() - t0) / 1e6);
}

static int start_raft(sl_meta *m)
{
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    int rv = raft_configuration_add(&conf, m->rid, m->address, RAFT_VOTER);
    if (rv == 0) {
        rv = raft_bootstrap(&m->raft, &conf);
        if (rv == RAFT_CANTBOOTSTRAP)
            rv = 0; /* not a fresh directory: the log has its configuration */
    }
    raft_configuration_close(&conf);
    if (rv != 0) {
        SL_ERROR("meta", "cannot bootstrap the metadata log in %s: %s", m->raft_dir,
                 raft_errmsg(&m->raft));
        return map_raft_err(rv);
    }
    int64_t t0 = sl_mono_ns();
    rv = raft_start(&m->raft);
    SL_DEBUG("meta", "raft_start (load + replay) took %.1f ms, last index %llu",
             (double)(sl_mono_ns() - t0) / 1e6, (unsigned long long)raft_last_index(&m->raft));
    if (rv != 0) {
        SL_ERROR("meta", "cannot load the metadata log in %s: %s", m->raft_dir,
                 raft_errmsg(&m->raft));
        return m->fatal ? m->fatal : map_raft_err(rv);
    }
    if (raft_state(&m->raft) != RAFT_LEADER) {
        SL_ERROR("meta",
                 "the metadata log in %s has other voters; this build runs a single voter only",
                 m->raft_dir);
        return SL_ERR_NOT_LEADER;
    }
    /* Everything committed before now is applied once the barrier is. */
    m->barrier.data = m;
    rv = raft_barrier(&m->raft, &m->barrier, barrier_cb);
    return map_raft_err(rv);
}

static void init_done_cb(uv_work_t *w, int status)
{
    sl_meta *m = w->data;
    m->initing = false;
    if (status != 0 || m->init_rv != 0) {
        SL_ERROR("meta", "cannot start the metadata log in %s: %s", m->raft_dir,
                 status ? uv_strerror(status) : raft_errmsg(&m->raft));
        raft_uv_close(&m->io);
        m->startup_err = m->init_rv == RAFT_NOMEM ? SL_ERR_NOMEM : SL_ERR_IO;
        kick_start(m);
        return;
    }
    m->raft_inited = true;
    m->raft.data = m;
    raft_set_snapshot_threshold(&m->raft, m->snapshot_threshold);
    raft_set_snapshot_trailing(&m->raft, m->snapshot_trailing);
    if (m->closing) {
        kick_start(m);
        return;
    }
    int rc = start_raft(m);
    if (rc) {
        m->startup_err = rc;
        kick_start(m);
    }
    rearm(m);
}

int sl_meta_open(uv_loop_t *loop, const sl_meta_config *cfg, sl_meta **out)
{
    *out = NULL;
    if (!cfg->log_dir || cfg->node_id < 0 || !cfg->advertised_host || !*cfg->advertised_host ||
        strlen(cfg->advertised_host) > SL_META_MAX_HOST || cfg->advertised_port < 1 ||
        cfg->advertised_port > 65535 || (cfg->rack && strlen(cfg->rack) > SL_META_MAX_RACK) ||
        cfg->node_id == INT32_MAX) {
        SL_ERROR("meta", "invalid metadata configuration (log dir, node.id, advertised host/port)");
        return SL_ERR_INVALID_CONFIG;
    }
    pthread_once(&heap_once, heap_init);
    sl_meta *m = SL_NEW(sl_meta);
    m->open_ns = sl_mono_ns();
    m->loop = loop;
    m->node_id = cfg->node_id;
    m->host = sl_strdup(cfg->advertised_host);
    m->port = cfg->advertised_port;
    m->rack = cfg->rack ? sl_strdup(cfg->rack) : NULL;
    m->ready_cb = cfg->ready_cb;
    m->ready_arg = cfg->ready_arg;
    m->snapshot_threshold = cfg->snapshot_threshold ? cfg->snapshot_threshold : 1024;
    m->snapshot_trailing = cfg->snapshot_trailing ? cfg->snapshot_trailing : 128;
    sl_arena_init(&m->arena, 4096, 0);

    int rc = 0;
    if (snprintf(m->raft_dir, sizeof m->raft_dir, "%s/%s", cfg->log_dir, META_DIR) >=
        (int)sizeof m->raft_dir)
        rc = SL_ERR_INVALID_CONFIG;
    if (!rc) rc = ensure_dir(cfg->log_dir);
    if (!rc) rc = load_identity(m, cfg, m->raft_dir);
    if (!rc) rc = ensure_dir(m->raft_dir);
    if (rc) {
        meta_free(m);
        return rc;
    }
    m->img = sl_meta_image_new(m->cluster_id);

    if (uv_loop_init(&m->rloop) != 0) {
        meta_free(m);
        return SL_ERR_IO;
    }
    m->transport.init = tr_init;
    m->transport.listen = tr_listen;
    m->transport.connect = tr_connect;
    m->transport.close = tr_close;
    int rv = raft_uv_init(&m->io, &m->rloop, m->raft_dir, &m->transport);
    if (rv != 0) {
        SL_ERROR("meta", "cannot use %s: %s", m->raft_dir, m->io.errmsg);
        uv_loop_close(&m->rloop);
        meta_free(m);
        return SL_ERR_IO;
    }
    raft_uv_set_segment_size(&m->io, cfg->segment_size_bytes ? cfg->segment_size_bytes
                                                             : DEFAULT_SEGMENT_SIZE);
    /* The image encoding carries its own CRC32C and is small; uncompressed,
     * a damaged snapshot is reported by our decoder instead of an error path
     * in libraft's LZ4 loader that leaks the snapshot's configuration. */
    raft_uv_set_snapshot_compression(&m->io, false);
    m->fsm.version = 2;
    m->fsm.data = m;
    m->fsm.apply = fsm_apply;
    m->fsm.snapshot = fsm_snapshot;
    m->fsm.snapshot_finalize = fsm_snapshot_finalize;
    m->fsm.restore = fsm_restore;
    snprintf(m->address, sizeof m->address, "%s:%d", m->host, (int)m->port);
    m->rid = (raft_id)m->node_id + 1; /* raft ids start at 1, Kafka's at 0 */

    /* From here on failures are reported through ready_cb; the caller closes. */
    uv_idle_init(loop, &m->kick);
    uv_timer_init(loop, &m->rtimer);
    uv_poll_init(loop, &m->rpoll, uv_backend_fd(&m->rloop));
    m->kick.data = m->rtimer.data = m->rpoll.data = m;
    m->main_open = 3;
    uv_poll_start(&m->rpoll, UV_READABLE, rpoll_cb);
    m->init_work.data = m;
    m->initing = true;
    rv = uv_queue_work(loop, &m->init_work, init_work_cb, init_done_cb);
    if (rv != 0) {
        /* No worker: do it here. */
        init_work_cb(&m->init_work);
        init_done_cb(&m->init_work, 0);
    }
    *out = m;
    return 0;
}

/* ---- shutdown ------------------------------------------------------------- */

static void main_closed_cb(uv_handle_t *h)
{
    sl_meta *m = h->data;
    if (--m->main_open > 0) return;
    sl_meta_close_cb cb = m->close_cb;
    void *arg = m->close_arg;
    meta_free(m);
    if (cb) cb(arg);
}

static void teardown(sl_meta *m)
{
    m->tearing = true;
    fire_ready(m, SL_ERR_CLOSED);
    uv_close((uv_handle_t *)&m->rpoll, main_closed_cb); /* before its fd goes */
    uv_close((uv_handle_t *)&m->rtimer, main_closed_cb);
    uv_close((uv_handle_t *)&m->kick, main_closed_cb);
    if (m->raft_closed) raft_uv_close(&m->io);
    int rc = uv_loop_close(&m->rloop);
    if (rc != 0) SL_ERROR("meta", "libraft left handles open at close: %s", uv_strerror(rc));
}

/* Runs inside rloop; rearm (on `loop`) finishes once rloop is idle.
 *
 * libraft 0.15 can run its io close check once more after this callback
 * (a disk-I/O completion that lands after the close), which then calls
 * raft's io-close callback a second time. Freeing the io here made that late
 * check read freed memory (a SEGV in libraft at shutdown, about one clean
 * stop in 300 under load), so the io is released in teardown, once rloop has
 * nothing left to run; and what raft's close callback frees is emptied here,
 * so a second call frees nothing and does not call us again. */
static void on_raft_closed(struct raft *r)
{
    sl_meta *m = r->data;
    r->close_cb = NULL;
    r->address = NULL;
    memset(&r->log, 0, sizeof r->log);
    memset(&r->configuration, 0, sizeof r->configuration);
    m->raft_closed = true;
}

void sl_meta_close(sl_meta *m, sl_meta_close_cb cb, void *arg)
{
    if (m->closing) return;
    m->closing = true;
    m->close_cb = cb;
    m->close_arg = arg;
    kick_start(m);
}

/* ---- accessors -------------------------------------------------------------- */

const sl_meta_image *sl_meta_get_image(const sl_meta *m)
{
    return m->img;
}
int32_t sl_meta_node_id(const sl_meta *m)
{
    return m->node_id;
}
const char *sl_meta_cluster_id(const sl_meta *m)
{
    return m->cluster_id;
}
void sl_meta_get_stats(const sl_meta *m, sl_meta_stats *out)
{
    *out = m->stats;
}
bool sl_meta_is_ready(const sl_meta *m)
{
    return m->ready && !m->closing && !m->fatal;
}

/* ---- building records ------------------------------------------------------- */

static int can_propose(const sl_meta *m)
{
    if (m->closing) return SL_ERR_CLOSED;
    if (m->fatal) return m->fatal;
    if (!m->ready) return SL_ERR_NOT_LEADER;
    return 0;
}

static int random_bytes(void *p, size_t n)
{
    return getrandom(p, n, 0) == (ssize_t)n ? 0 : SL_ERR_IO;
}

/* Replica lists for partitions [first, first+n): round-robin over the
 * registered brokers from a random start, like Kafka without racks. The
 * caller frees *specs_out and *ids_out. */
static int assign(const sl_meta *m, uint32_t first, uint32_t n, int32_t rf,
                  sl_meta_partition_spec **specs_out, int32_t **ids_out)
{
    size_t nb = sl_meta_broker_count(m->img);
    if (rf < 1 || rf > SL_META_MAX_REPLICAS || (size_t)rf > nb)
        return SL_ERR_INVALID_REPLICATION_FACTOR;
    uint32_t start = 0;
    if (nb > 1) {
        int rc = random_bytes(&start, sizeof start);
        if (rc) return rc;
    }
    sl_meta_partition_spec *specs = sl_calloc(n, sizeof *specs);
    int32_t *ids = sl_calloc((size_t)n * (size_t)rf, sizeof *ids);
    for (uint32_t i = 0; i < n; i++) {
        int32_t *r = ids + (size_t)i * (size_t)rf;
        for (int32_t j = 0; j < rf; j++)
            r[j] = sl_meta_broker_node_id(
                sl_meta_broker_at(m->img, ((size_t)start + first + i + (size_t)j) % nb));
        specs[i].replicas = r;
        specs[i].n_replicas = (uint32_t)rf;
        specs[i].isr = r;
        specs[i].n_isr = (uint32_t)rf;
        specs[i].leader = r[0];
        specs[i].leader_epoch = 0;
    }
    *specs_out = specs;
    *ids_out = ids;
    return 0;
}

/* Converts caller configs to record ops; structural limits checked here so
 * they come back as SL_ERR_INVALID_CONFIG rather than a failed encode. */
static int to_ops(const sl_config_kv *kvs, size_t n, bool allow_delete, sl_meta_config_op **out)
{
    *out = NULL;
    if (n > SL_META_MAX_CONFIG_OPS) return SL_ERR_INVALID_CONFIG;
    if (n == 0) return 0;
    sl_meta_config_op *ops = sl_calloc(n, sizeof *ops);
    for (size_t i = 0; i < n; i++) {
        if (!kvs[i].key || strlen(kvs[i].key) == 0 || strlen(kvs[i].key) > SL_META_MAX_CONFIG_KEY ||
            (!kvs[i].value && !allow_delete) ||
            (kvs[i].value && strlen(kvs[i].value) > SL_META_MAX_CONFIG_VALUE)) {
            sl_free(ops);
            return SL_ERR_INVALID_CONFIG;
        }
        ops[i].key = sl_meta_cstr(kvs[i].key);
        ops[i].value = sl_meta_cstr(kvs[i].value);
    }
    *out = ops;
    return 0;
}

static int new_topic_id(const sl_meta *m, uint8_t id[16])
{
    static const uint8_t reserved[16] = {[15] = 1}; /* Kafka's metadata topic id */
    char text[23];
    for (;;) {
        int rc = random_bytes(id, 16);
        if (rc) return rc;
        sl_meta_uuid_format(id, text);
        if (!sl_meta_uuid_is_zero(id) && memcmp(id, reserved, 16) != 0 && text[0] != '-' &&
            !sl_meta_topic_by_id(m->img, id))
            return 0;
    }
}

/* Builds and checks a TOPIC record; on success the caller frees the three
 * arrays and the record may be encoded. */
static int build_topic(const sl_meta *m, const char *name, int32_t partitions, int16_t rf,
                       const sl_config_kv *configs, size_t n_configs, sl_meta_record *rec,
                       sl_meta_partition_spec **specs, int32_t **ids, sl_meta_config_op **ops)
{
    *specs = NULL;
    *ids = NULL;
    *ops = NULL;
    size_t len = name ? strlen(name) : 0;
    if (!sl_meta_valid_topic_name(name, len)) return SL_ERR_INVALID_TOPIC;
    if (sl_meta_topic_by_name(m->img, name, len)) return SL_ERR_EXISTS;
    if (sl_meta_topic_colliding(m->img, name, len)) return SL_ERR_INVALID_TOPIC;
    if (partitions < 1 || partitions > SL_META_MAX_PARTITIONS) return SL_ERR_INVALID_PARTITIONS;
    int rc = to_ops(configs, n_configs, false, ops);
    if (!rc) rc = assign(m, 0, (uint32_t)partitions, rf, specs, ids);
    if (rc) goto fail;
    memset(rec, 0, sizeof *rec);
    rec->type = SL_META_REC_TOPIC;
    rec->topic.name = sl_meta_cstr(name);
    rc = new_topic_id(m, rec->topic.id);
    if (rc) goto fail;
    rec->topic.n_partitions = (uint32_t)partitions;
    rec->topic.partitions = *specs;
    rec->topic.n_configs = (uint32_t)n_configs;
    rec->topic.configs = *ops;
    rc = sl_meta_image_check(m->img, rec);
    if (rc) goto fail;
    return 0;
fail:
    sl_free(*specs);
    sl_free(*ids);
    sl_free(*ops);
    *specs = NULL;
    *ids = NULL;
    *ops = NULL;
    return rc;
}

int sl_meta_check_create_topic(const sl_meta *m, const char *name, int32_t partitions,
                               int16_t replication_factor, const sl_config_kv *configs,
                               size_t n_configs)
{
    sl_meta_record rec;
    sl_meta_partition_spec *specs;
    int32_t *ids;
    sl_meta_config_op *ops;
    int rc = build_topic(m, name, partitions, replication_factor, configs, n_configs, &rec, &specs,
                         &ids, &ops);
    sl_free(specs);
    sl_free(ids);
    sl_free(ops);
    return rc;
}

/* Encodes a checked record into a new pending proposal and queues it. */
static int propose(sl_meta *m, const sl_meta_record *rec, pending *p)
{
    int rc = pending_set_record(p, rec);
    if (rc) {
        sl_free(p);
        return rc;
    }
    enqueue(m, p);
    return 0;
}

int sl_meta_create_topic(sl_meta *m, const char *name, int32_t partitions,
                         int16_t replication_factor, const sl_config_kv *configs, size_t n_configs,
                         sl_meta_topic_cb cb, void *arg)
{
    int rc = can_propose(m);
    if (rc) return rc;
    sl_meta_record rec;
    sl_meta_partition_spec *specs;
    int32_t *ids;
    sl_meta_config_op *ops;
    rc = build_topic(m, name, partitions, replication_factor, configs, n_configs, &rec, &specs,
                     &ids, &ops);
    if (rc) return rc;
    pending *p = pending_new(m, P_TOPIC, arg);
    p->cb.topic = cb;
    memcpy(p->topic_id, rec.topic.id, 16);
    rc = propose(m, &rec, p);
    sl_free(specs);
    sl_free(ids);
    sl_free(ops);
    return rc;
}

int sl_meta_delete_topic_id(sl_meta *m, const uint8_t id[16], sl_meta_cb cb, void *arg)
{
    int rc = can_propose(m);
    if (rc) return rc;
    sl_meta_record rec = {.type = SL_META_REC_REMOVE_TOPIC};
    memcpy(rec.remove_topic.id, id, 16);
    rc = sl_meta_image_check(m->img, &rec);
    if (rc) return rc;
    pending *p = pending_new(m, P_PLAIN, arg);
    p->cb.plain = cb;
    return propose(m, &rec, p);
}

int sl_meta_delete_topic(sl_meta *m, const char *name, sl_meta_cb cb, void *arg)
{
    int rc = can_propose(m);
    if (rc) return rc;
    const sl_meta_topic *t = name ? sl_meta_topic_by_name(m->img, name, strlen(name)) : NULL;
    if (!t) return SL_ERR_NOT_FOUND;
    uint8_t id[16];
    memcpy(id, sl_meta_topic_id(t), 16);
    return sl_meta_delete_topic_id(m, id, cb, arg);
}

static int build_partitions(const sl_meta *m, const char *name, int32_t new_total,
                            sl_meta_record *rec, sl_meta_partition_spec **specs, int32_t **ids)
{
    *specs = NULL;
    *ids = NULL;
    const sl_meta_topic *t = name ? sl_meta_topic_by_name(m->img, name, strlen(name)) : NULL;
    if (!t) return SL_ERR_NOT_FOUND;
    int32_t cur = sl_meta_topic_partition_count(t);
    if (new_total <= cur || new_total > SL_META_MAX_PARTITIONS) return SL_ERR_INVALID_PARTITIONS;
    size_t rf;
    sl_meta_partition_replicas(sl_meta_topic_partition(t, 0), &rf);
    int rc = assign(m, (uint32_t)cur, (uint32_t)(new_total - cur), (int32_t)rf, specs, ids);
    if (rc) return rc;
    memset(rec, 0, sizeof *rec);
    rec->type = SL_META_REC_PARTITIONS;
    memcpy(rec->partitions.id, sl_meta_topic_id(t), 16);
    rec->partitions.first = (uint32_t)cur;
    rec->partitions.n = (uint32_t)(new_total - cur);
    rec->partitions.partitions = *specs;
    rc = sl_meta_image_check(m->img, rec);
    if (rc) {
        sl_free(*specs);
        sl_free(*ids);
        *specs = NULL;
        *ids = NULL;
    }
    return rc;
}

int sl_meta_check_create_partitions(const sl_meta *m, const char *name, int32_t new_total)
{
    sl_meta_record rec;
    sl_meta_partition_spec *specs;
    int32_t *ids;
    int rc = build_partitions(m, name, new_total, &rec, &specs, &ids);
    sl_free(specs);
    sl_free(ids);
    return rc;
}

int sl_meta_create_partitions(sl_meta *m, const char *name, int32_t new_total, sl_meta_cb cb,
                              void *arg)
{
    int rc = can_propose(m);
    if (rc) return rc;
    sl_meta_record rec;
    sl_meta_partition_spec *specs;
    int32_t *ids;
    rc = build_partitions(m, name, new_total, &rec, &specs, &ids);
    if (rc) return rc;
    pending *p = pending_new(m, P_PLAIN, arg);
    p->cb.plain = cb;
    rc = propose(m, &rec, p);
    sl_free(specs);
    sl_free(ids);
    return rc;
}

static int build_config(const sl_meta *m, int resource, const char *name, int32_t node_id,
                        const sl_config_kv *kvs, size_t n, bool replace, sl_meta_record *rec,
                        sl_meta_config_op **ops)
{
    *ops = NULL;
    memset(rec, 0, sizeof *rec);
    rec->type = SL_META_REC_CONFIG;
    rec->config.resource = (uint8_t)resource;
    rec->config.replace = replace;
    if (resource == SL_META_CONFIG_TOPIC) {
        const sl_meta_topic *t = name ? sl_meta_topic_by_name(m->img, name, strlen(name)) : NULL;
        if (!t) return SL_ERR_NOT_FOUND;
        memcpy(rec->config.topic_id, sl_meta_topic_id(t), 16);
    } else {
        if (node_id < -1) return SL_ERR_INVALID_ARG;
        rec->config.node_id = node_id;
    }
    int rc = to_ops(kvs, n, true, ops);
    if (rc) return rc;
    rec->config.n_ops = (uint32_t)n;
    rec->config.ops = *ops;
    rc = sl_meta_image_check(m->img, rec);
    if (rc) {
        sl_free(*ops);
        *ops = NULL;
    }
    return rc;
}

static int alter_config(sl_meta *m, int resource, const char *name, int32_t node_id,
                        const sl_config_kv *kvs, size_t n, bool replace, sl_meta_cb cb, void *arg)
{
    int rc = can_propose(m);
    if (rc) return rc;
    sl_meta_record rec;
    sl_meta_config_op *ops;
    rc = build_config(m, resource, name, node_id, kvs, n, replace, &rec, &ops);
    if (rc) return rc;
    pending *p = pending_new(m, P_PLAIN, arg);
    p->cb.plain = cb;
    rc = propose(m, &rec, p);
    sl_free(ops);
    return rc;
}

int sl_meta_check_alter_topic_config(const sl_meta *m, const char *name, const sl_config_kv *ops,
                                     size_t n_ops, bool replace)
{
    sl_meta_record rec;
    sl_meta_config_op *o;
    int rc = build_config(m, SL_META_CONFIG_TOPIC, name, 0, ops, n_ops, replace, &rec, &o);
    sl_free(o);
    return rc;
}

int sl_meta_alter_topic_config(sl_meta *m, const char *name, const sl_config_kv *ops, size_t n_ops,
                               bool replace, sl_meta_cb cb, void *arg)
{
    return alter_config(m, SL_META_CONFIG_TOPIC, name, 0, ops, n_ops, replace, cb, arg);
}

int sl_meta_check_alter_broker_config(const sl_meta *m, int32_t node_id, const sl_config_kv *ops,
                                      size_t n_ops, bool replace)
{
    sl_meta_record rec;
    sl_meta_config_op *o;
    int rc = build_config(m, SL_META_CONFIG_BROKER, NULL, node_id, ops, n_ops, replace, &rec, &o);
    sl_free(o);
    return rc;
}

int sl_meta_alter_broker_config(sl_meta *m, int32_t node_id, const sl_config_kv *ops, size_t n_ops,
                                bool replace, sl_meta_cb cb, void *arg)
{
    return alter_config(m, SL_META_CONFIG_BROKER, NULL, node_id, ops, n_ops, replace, cb, arg);
}

int sl_meta_alloc_producer_ids(sl_meta *m, int32_t count, sl_meta_pid_cb cb, void *arg)
{
    int rc = can_propose(m);
    if (rc) return rc;
    if (count < 1 || count > SL_META_MAX_PID_BLOCK || !cb) return SL_ERR_INVALID_ARG;
    pending *p = pending_new(m, P_PID, arg);
    p->cb.pid = cb;
    p->pid_count = count;
    if (m->pid_tail)
        m->pid_tail->next = p;
    else
        m->pid_head = p;
    m->pid_tail = p;
    kick_start(m);
    return 0;
}

int sl_meta_propose_raw(sl_meta *m, const void *data, size_t len, sl_meta_cb cb, void *arg)
{
    int rc = can_propose(m);
    if (rc) return rc;
    size_t padded = (len + 7) / 8 * 8;
    pending *p = pending_new(m, P_PLAIN, arg);
    p->cb.plain = cb;
    p->buf.base = raft_malloc(padded ? padded : 8);
    if (!p->buf.base) {
        sl_free(p);
        return SL_ERR_NOMEM;
    }
    memset(p->buf.base, 0, padded ? padded : 8);
    memcpy(p->buf.base, data, len);
    p->buf.len = padded ? padded : 8;
    enqueue(m, p);
    return 0;
}
