/* Log directory: the partitions of one `log.dirs` entry, its checkpoints,
 * its clean-shutdown marker and its offline state.
 *
 * Directory layout:
 *   <log.dir>/
 *     <topic>-<partition>/                 one partition log (plog.c)
 *     <topic>-<partition>.<n>-delete/      a deleted partition whose files
 *                                          are being removed (finished at open)
 *     recovery-point-offset-checkpoint     per partition: everything below
 *                                          this offset was fsynced
 *     log-start-offset-checkpoint          per partition: first readable offset
 *     .sluice_cleanshutdown                empty file; exists only between a
 *                                          clean close and the next open
 *
 * Checkpoint file format (Kafka's, ASCII, lines end in '\n'):
 *     line 1   version                 "0"
 *     line 2   number of entries N     decimal
 *     N lines  "<topic> <partition> <offset>"   single spaces, decimal
 *   A file that does not parse exactly is ignored with a warning: recovery
 *   then scans every segment of every partition (recovery point 0) and log
 *   starts fall back to the first segment's base offset.
 *
 * Atomic replacement: write "<name>.tmp", fsync it, rename it over <name>,
 * fsync the directory. Writes come from the loop thread (open, close,
 * sl_logdir_checkpoint) or a threadpool job (periodic, delete_records); a
 * mutex and a generation number make sure an older snapshot never replaces
 * a newer one.
 *
 * Invariants:
 *  1. The marker exists only if every partition was flushed, its index files
 *     written and both checkpoints written after the last append. open()
 *     deletes it (and fsyncs the directory) before anything is appended, so
 *     a crash later is always detected.
 *  2. A checkpointed recovery point never exceeds what was fsynced.
 *  3. Offline is sticky: once set, nothing is written to this directory
 *     again by this process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "log/internal.h"

#define MARKER_NAME    ".sluice_cleanshutdown"
#define RP_NAME        "recovery-point-offset-checkpoint"
#define LS_NAME        "log-start-offset-checkpoint"
#define CKPT_MAX_BYTES (64 * 1024 * 1024)

struct sl_ckpt_shared {
    pthread_mutex_t mu;
    uint64_t written_gen; /* under mu */
    int refs;             /* loop thread only */
};

struct sl_ckpt_job {
    uv_work_t req;
    sl_logdir *d; /* NULL once the directory closed */
    struct sl_ckpt_shared *ck;
    sl_log_io io;
    char *dirpath;
    uint64_t gen;
    sl_buf rp, ls;
    int err_no;
    const char *what;
};

/* ---- configuration ----------------------------------------------------------- */

void sl_log_config_default(sl_log_config *c)
{
    c->segment_bytes = 1024 * 1024 * 1024;
    c->segment_ms = 168LL * 3600 * 1000;
    c->segment_jitter_ms = 0;
    c->retention_ms = 168LL * 3600 * 1000;
    c->retention_bytes = -1;
    c->index_interval_bytes = 4096;
    c->flush_messages = INT64_MAX;
    c->flush_ms = INT64_MAX;
    c->preallocate = false;
}

int sl_log_config_validate(const sl_log_config *c)
{
    if (c->segment_bytes < 14 || c->segment_bytes > INT32_MAX || c->segment_ms < 1 ||
        c->segment_jitter_ms < 0 || c->retention_ms < -1 || c->retention_bytes < -1 ||
        c->index_interval_bytes < 0 || c->flush_messages < 1 || c->flush_ms < 0)
        return SL_ERR_INVALID_CONFIG;
    return 0;
}

void sl_logdir_options_default(sl_logdir_options *o)
{
    memset(o, 0, sizeof *o);
    o->checkpoint_interval_ms = 60000;
    o->retention_check_interval_ms = 300000;
}

/* ---- small accessors ---------------------------------------------------------- */

const char *sl_logdir_path(const sl_logdir *d)
{
    return d->path;
}
bool sl_logdir_is_offline(const sl_logdir *d)
{
    return d->offline;
}
const char *sl_logdir_offline_reason(const sl_logdir *d)
{
    return d->offline_reason;
}
bool sl_logdir_was_clean(const sl_logdir *d)
{
    return d->was_clean;
}
size_t sl_logdir_count(const sl_logdir *d)
{
    return d->nplogs;
}
sl_plog *sl_logdir_at(sl_logdir *d, size_t i)
{
    return i < d->nplogs ? d->plogs[i] : NULL;
}

sl_plog *sl_logdir_find(sl_logdir *d, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < d->nplogs; i++)
        if (d->plogs[i]->partition == partition && strcmp(d->plogs[i]->topic, topic) == 0)
            return d->plogs[i];
    return NULL;
}

void sl_logdir_set_offline(sl_logdir *d, int err_no, const char *what, const char *path)
{
    if (d->offline) return;
    d->offline = true;
    snprintf(d->offline_reason, sizeof d->offline_reason, "%s %s: %s", what, path,
             strerror(err_no));
    SL_ERROR(SL_LOG_MODULE, "log directory %s is offline: %s", d->path, d->offline_reason);
    for (size_t i = 0; i < d->nplogs; i++)
        sl_plog_fail_waiters(d->plogs[i], SL_ERR_OFFLINE);
}

static void plogs_push(sl_logdir *d, sl_plog *l)
{
    if (d->nplogs == d->plogs_cap) {
        d->plogs_cap = d->plogs_cap ? d->plogs_cap * 2 : 16;
        d->plogs = sl_realloc(d->plogs, d->plogs_cap * sizeof *d->plogs);
    }
    l->dir_slot = d->nplogs;
    d->plogs[d->nplogs++] = l;
}

/* ---- checkpoints ---------------------------------------------------------------- */

static int write_all_fd(const sl_log_io *io, int fd, const uint8_t *p, size_t n)
{
    int64_t off = 0;
    while (n > 0) {
        ssize_t w = io->pwrite(io->ctx, fd, p, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Atomic replacement of dir/name. -1/errno on failure, *what says the step. */
static int write_file_atomic(const sl_log_io *io, const char *dir, const char *name,
                             const uint8_t *data, size_t len, const char **what)
{
    char tmp[SL_LOG_PATH_MAX], dst[SL_LOG_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    *what = "create checkpoint";
    int fd = io->open(io->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    *what = "write checkpoint";
    int rc = write_all_fd(io, fd, data, len);
    if (rc == 0) {
        *what = "fsync checkpoint";
        rc = io->fsync(io->ctx, fd, false);
    }
    int e = errno;
    close(fd);
    errno = e;
    if (rc != 0) return -1;
    *what = "rename checkpoint";
    if (io->rename(io->ctx, tmp, dst) != 0) return -1;
    *what = "fsync directory";
    return sl_log_fsync_dir(io, dir);
}

static void ckpt_text(sl_logdir *d, sl_buf *rp, sl_buf *ls)
{
    char line[512];
    int n = snprintf(line, sizeof line, "0\n%zu\n", d->nplogs);
    sl_buf_put(rp, line, (size_t)n);
    sl_buf_put(ls, line, (size_t)n);
    for (size_t i = 0; i < d->nplogs; i++) {
        sl_plog *l = d->plogs[i];
        n = snprintf(line, sizeof line, "%s %" PRId32 " %" PRId64 "\n", l->topic, l->partition,
                     l->flushed);
        sl_buf_put(rp, line, (size_t)n);
        n = snprintf(line, sizeof line, "%s %" PRId32 " %" PRId64 "\n", l->topic, l->partition,
                     l->log_start);
        sl_buf_put(ls, line, (size_t)n);
    }
}

/* Writes both files unless a newer generation is already on disk. */
static int ckpt_write(struct sl_ckpt_shared *ck, const sl_log_io *io, const char *dir, uint64_t gen,
                      const sl_buf *rp, const sl_buf *ls, const char **what)
{
    int rc = 0;
    pthread_mutex_lock(&ck->mu);
    if (gen > ck->written_gen) {
        rc = write_file_atomic(io, dir, RP_NAME, rp->data, rp->len, what);
        if (rc == 0) rc = write_file_atomic(io, dir, LS_NAME, ls->data, ls->len, what);
        if (rc == 0) ck->written_gen = gen;
    }
    int e = errno;
    pthread_mutex_unlock(&ck->mu);
    errno = e;
    return rc;
}

static void ckpt_unref(struct sl_ckpt_shared *ck)
{
    if (--ck->refs > 0) return;
    pthread_mutex_destroy(&ck->mu);
    sl_free(ck);
}

int sl_logdir_checkpoint(sl_logdir *d)
{
    if (d->offline) return SL_ERR_OFFLINE;
    sl_buf rp, ls;
    sl_buf_init(&rp);
    sl_buf_init(&ls);
    ckpt_text(d, &rp, &ls);
    const char *what = "";
    int rc = ckpt_write(d->ck, &d->io, d->path, ++d->ckpt_gen, &rp, &ls, &what);
    sl_buf_fini(&rp);
    sl_buf_fini(&ls);
    if (rc != 0) {
        sl_logdir_set_offline(d, errno, what, d->path);
        return SL_ERR_IO;
    }
    return 0;
}

static void ckpt_worker(uv_work_t *req)
{
    struct sl_ckpt_job *j = req->data;
    if (ckpt_write(j->ck, &j->io, j->dirpath, j->gen, &j->rp, &j->ls, &j->what) != 0)
        j->err_no = errno ? errno : EIO;
    else
        j->what = NULL;
}

static void ckpt_start(sl_logdir *d);

static void ckpt_done(uv_work_t *req, int status)
{
    struct sl_ckpt_job *j = req->data;
    sl_logdir *d = j->d;
    if (status != 0 && !j->what) {
        j->what = "checkpoint job";
        j->err_no = ECANCELED;
    }
    if (d) {
        d->ckpt_job = NULL;
        if (j->what)
            sl_logdir_set_offline(d, j->err_no, j->what, d->path);
        else if (d->ckpt_again) {
            d->ckpt_again = false;
            ckpt_start(d);
        }
    } else if (j->what) {
        SL_ERROR(SL_LOG_MODULE, "%s in %s failed after close: %s", j->what, j->dirpath,
                 strerror(j->err_no));
    }
    sl_buf_fini(&j->rp);
    sl_buf_fini(&j->ls);
    sl_free(j->dirpath);
    ckpt_unref(j->ck);
    sl_free(j);
}

static void ckpt_start(sl_logdir *d)
{
    if (d->offline) return;
    if (d->ckpt_job) {
        d->ckpt_again = true;
        return;
    }
    struct sl_ckpt_job *j = SL_NEW(struct sl_ckpt_job);
    j->req.data = j;
    j->d = d;
    j->ck = d->ck;
    d->ck->refs++;
    j->io = d->io;
    j->dirpath = sl_strdup(d->path);
    j->gen = ++d->ckpt_gen;
    sl_buf_init(&j->rp);
    sl_buf_init(&j->ls);
    ckpt_text(d, &j->rp, &j->ls);
    d->ckpt_job = j;
    if (uv_queue_work(d->loop, &j->req, ckpt_worker, ckpt_done) != 0) {
        d->ckpt_job = NULL;
        j->d = NULL;
        ckpt_done(&j->req, 0);
        sl_logdir_set_offline(d, EAGAIN, "queue checkpoint", d->path);
    }
}

void sl_logdir_request_checkpoint(sl_logdir *d)
{
    ckpt_start(d);
}

typedef struct ckpt_entry {
    char *topic;
    int32_t partition;
    int64_t offset;
} ckpt_entry;

typedef struct ckpt_map {
    ckpt_entry *e;
    size_t n;
} ckpt_map;

static void ckpt_map_free(ckpt_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        sl_free(m->e[i].topic);
    sl_free(m->e);
    m->e = NULL;
    m->n = 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const ckpt_entry *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c) return c;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static int64_t ckpt_lookup(const ckpt_map *m, const char *topic, int32_t partition, int64_t dflt)
{
    ckpt_entry key = {(char *)topic, partition, 0};
    const ckpt_entry *e = m->n ? bsearch(&key, m->e, m->n, sizeof *m->e, cmp_entry) : NULL;
    return e ? e->offset : dflt;
}

static bool parse_i64(const char *s, const char *end, int64_t *out)
{
    if (s == end || end - s > 19) return false;
    int64_t v = 0;
    bool neg = false;
    if (*s == '-') {
        neg = true;
        if (++s == end) return false;
    }
    for (; s < end; s++) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    return true;
}

/* Parses one checkpoint file; on any error the map stays empty. */
static void ckpt_read(sl_logdir *d, const char *name, ckpt_map *m)
{
    m->e = NULL;
    m->n = 0;
    char path[SL_LOG_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size < CKPT_MAX_BYTES) {
        text = sl_malloc((size_t)st.st_size + 1);
        len = fread(text, 1, (size_t)st.st_size, f);
        text[len] = 0;
    }
    fclose(f);
    if (!text) return;
    const char *p = text, *end = text + len;
    int64_t version, count;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    bool ok = nl && parse_i64(p, nl, &version) && version == 0;
    if (ok) {
        p = nl + 1;
        nl = memchr(p, '\n', (size_t)(end - p));
        ok = nl && parse_i64(p, nl, &count) && count >= 0 && count <= (int64_t)len;
    }
    if (ok) {
        p = nl + 1;
        m->e = sl_calloc((size_t)count + 1, sizeof *m->e);
        for (int64_t i = 0; ok && i < count; i++) {
            nl = memchr(p, '\n', (size_t)(end - p));
            const char *s1 = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
            const char *s2 = s1 ? memchr(s1 + 1, ' ', (size_t)(nl - s1 - 1)) : NULL;
            int64_t part, off;
            ok = s2 && s1 > p && parse_i64(s1 + 1, s2, &part) && part >= 0 && part <= INT32_MAX &&
                 parse_i64(s2 + 1, nl, &off);
            if (ok) {
                m->e[m->n].topic = sl_strndup(p, (size_t)(s1 - p));
                m->e[m->n].partition = (int32_t)part;
                m->e[m->n].offset = off;
                m->n++;
                p = nl + 1;
            }
        }
        ok = ok && p == end;
    }
    sl_free(text);
    if (!ok) {
        SL_WARN(SL_LOG_MODULE, "ignoring malformed checkpoint %s", path);
        ckpt_map_free(m);
        return;
    }
    qsort(m->e, m->n, sizeof *m->e, cmp_entry);
}

/* ---- partition directories --------------------------------------------------------- */

static bool valid_topic(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* "<topic>-<partition>" -> topic (into buf) and partition; false if not one. */
static bool parse_partition_dir(const char *name, char *topic, size_t cap, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || dash[1] == 0 || (size_t)(dash - name) >= cap) return false;
    int64_t v;
    if (!parse_i64(dash + 1, dash + strlen(dash), &v) || v < 0 || v > INT32_MAX || dash[1] == '-')
        return false;
    memcpy(topic, name, (size_t)(dash - name));
    topic[dash - name] = 0;
    *partition = (int32_t)v;
    return valid_topic(topic);
}

static void remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *e;
        char p[SL_LOG_PATH_MAX];
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            if (unlink(p) != 0 && errno == EISDIR) remove_tree(p);
        }
        closedir(dir);
    }
    if (rmdir(path) != 0 && errno != ENOENT)
        SL_WARN(SL_LOG_MODULE, "cannot remove %s: %s", path, strerror(errno));
}

static void remove_worker(uv_work_t *req)
{
    remove_tree((const char *)req->data + sizeof(uv_work_t));
}

static void remove_done(uv_work_t *req, int status)
{
    (void)status;
    sl_free(req);
}

int sl_logdir_create_plog(sl_logdir *d, const char *topic, int32_t partition,
                          const sl_log_config *cfg, sl_plog **out)
{
    if (d->offline) return SL_ERR_OFFLINE;
    if (!valid_topic(topic) || partition < 0) return SL_ERR_INVALID_TOPIC;
    if (cfg && sl_log_config_validate(cfg) != 0) return SL_ERR_INVALID_CONFIG;
    if (sl_logdir_find(d, topic, partition)) return SL_ERR_EXISTS;
    char name[300];
    snprintf(name, sizeof name, "%s-%" PRId32, topic, partition);
    sl_plog *l;
    int rc = sl_plog_create_dir(d, name, topic, partition, cfg, &l);
    if (rc != 0) return rc;
    plogs_push(d, l);
    *out = l;
    return 0;
}

int sl_logdir_delete_plog(sl_logdir *d, sl_plog *l)
{
    size_t slot = l->dir_slot;
    if (slot >= d->nplogs || d->plogs[slot] != l) return SL_ERR_INVALID_ARG;
    char from[SL_LOG_PATH_MAX], name[300];
    snprintf(from, sizeof from, "%s", l->path);
    snprintf(name, sizeof name, "%s-%" PRId32 ".%" PRIu64 "-delete", l->topic, l->partition,
             ++d->delete_seq);
    d->plogs[slot] = d->plogs[--d->nplogs];
    d->plogs[slot]->dir_slot = slot;
    sl_plog_free_closed(l, SL_ERR_CLOSED);
    if (d->offline) return SL_ERR_OFFLINE;
    size_t plen = strlen(d->path) + strlen(name) + 2;
    uv_work_t *req = sl_malloc(sizeof(uv_work_t) + plen);
    char *to = (char *)req + sizeof(uv_work_t);
    snprintf(to, plen, "%s/%s", d->path, name);
    if (d->io.rename(d->io.ctx, from, to) != 0) {
        sl_logdir_set_offline(d, errno, "rename for deletion", from);
        sl_free(req);
        return SL_ERR_IO;
    }
    if (sl_log_fsync_dir(&d->io, d->path) != 0) {
        sl_logdir_set_offline(d, errno, "fsync directory", d->path);
        sl_free(req);
        return SL_ERR_IO;
    }
    req->data = req;
    if (uv_queue_work(d->loop, req, remove_worker, remove_done) != 0) {
        remove_tree(to);
        sl_free(req);
    }
    return 0;
}

/* ---- open, close, tick ------------------------------------------------------------------ */

static void logdir_free(sl_logdir *d)
{
    if (d->ckpt_job) d->ckpt_job->d = NULL;
    ckpt_unref(d->ck);
    sl_free(d->plogs);
    sl_free(d->scratch);
    sl_free(d->path);
    sl_free(d);
}

int sl_logdir_open(uv_loop_t *loop, const char *path, const sl_logdir_options *opts,
                   sl_logdir **out)
{
    sl_logdir_options dflt;
    if (!opts) {
        sl_logdir_options_default(&dflt);
        opts = &dflt;
    }
    if (opts->default_config && sl_log_config_validate(opts->default_config) != 0)
        return SL_ERR_INVALID_CONFIG;
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        SL_ERROR(SL_LOG_MODULE, "cannot create log directory %s: %s", path, strerror(errno));
        return SL_ERR_IO;
    }
    sl_logdir *d = SL_NEW(sl_logdir);
    d->loop = loop;
    d->path = sl_strdup(path);
    d->io = opts->io ? *opts->io : *sl_log_io_default();
    if (opts->default_config)
        d->default_cfg = *opts->default_config;
    else
        sl_log_config_default(&d->default_cfg);
    d->ckpt_interval_ms = opts->checkpoint_interval_ms > 0 ? opts->checkpoint_interval_ms : 60000;
    d->retention_interval_ms =
        opts->retention_check_interval_ms > 0 ? opts->retention_check_interval_ms : 300000;
    d->scratch = sl_malloc(SL_LOG_SCRATCH);
    d->ck = SL_NEW(struct sl_ckpt_shared);
    pthread_mutex_init(&d->ck->mu, NULL);
    d->ck->refs = 1;
    d->last_ckpt_ms = d->last_retention_ms = d->io.now_ms(d->io.ctx);

    char marker[SL_LOG_PATH_MAX];
    snprintf(marker, sizeof marker, "%s/%s", path, MARKER_NAME);
    struct stat st;
    d->was_clean = stat(marker, &st) == 0;
    ckpt_map rp, ls;
    ckpt_read(d, RP_NAME, &rp);
    ckpt_read(d, LS_NAME, &ls);
    char rp_path[SL_LOG_PATH_MAX];
    snprintf(rp_path, sizeof rp_path, "%s/%s", path, RP_NAME);
    if (!d->was_clean && stat(rp_path, &st) == 0)
        SL_WARN(SL_LOG_MODULE, "log directory %s was not shut down cleanly: recovering", path);

    int rc = 0;
    DIR *dir = opendir(path);
    if (!dir) rc = SL_ERR_IO;
    struct dirent *e;
    char sub[SL_LOG_PATH_MAX], topic[300];
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (stat(sub, &st) != 0) continue;
        size_t nl = strlen(e->d_name);
        if (!S_ISDIR(st.st_mode)) {
            if (nl > 4 && strcmp(e->d_name + nl - 4, ".tmp") == 0)
                (void)d->io.unlink(d->io.ctx, sub);
            continue;
        }
        if (nl > 7 && strcmp(e->d_name + nl - 7, "-delete") == 0) {
            remove_tree(sub);
            continue;
        }
        int32_t partition;
        if (!parse_partition_dir(e->d_name, topic, sizeof topic, &partition)) {
            SL_WARN(SL_LOG_MODULE, "ignoring %s: not a <topic>-<partition> directory", sub);
            continue;
        }
        sl_plog *l;
        rc = sl_plog_open_dir(d, e->d_name, topic, partition, d->was_clean,
                              ckpt_lookup(&rp, topic, partition, 0),
                              ckpt_lookup(&ls, topic, partition, -1), &l);
        if (rc == 0) plogs_push(d, l);
    }
    if (dir) closedir(dir);
    ckpt_map_free(&rp);
    ckpt_map_free(&ls);
    if (rc == 0 && d->was_clean) {
        if (d->io.unlink(d->io.ctx, marker) != 0 || sl_log_fsync_dir(&d->io, path) != 0) {
            sl_logdir_set_offline(d, errno, "remove clean-shutdown marker", marker);
            rc = SL_ERR_IO;
        }
    }
    if (rc == 0) rc = sl_logdir_checkpoint(d);
    if (rc != 0) {
        SL_ERROR(SL_LOG_MODULE, "cannot open log directory %s: %s", path, sl_err_str(rc));
        for (size_t i = 0; i < d->nplogs; i++)
            sl_plog_free_closed(d->plogs[i], SL_ERR_CLOSED);
        logdir_free(d);
        return rc;
    }
    SL_INFO(SL_LOG_MODULE, "opened log directory %s: %zu partitions (%s)", path, d->nplogs,
            d->was_clean ? "clean" : "recovered");
    *out = d;
    return 0;
}

int sl_logdir_close(sl_logdir *d)
{
    int rc = 0;
    for (size_t i = 0; i < d->nplogs; i++) {
        int r = sl_plog_shutdown_flush(d->plogs[i]);
        if (r != 0 && rc == 0) rc = r;
    }
    if (rc == 0) rc = sl_logdir_checkpoint(d);
    if (rc == 0 && !d->offline) {
        char marker[SL_LOG_PATH_MAX];
        snprintf(marker, sizeof marker, "%s/%s", d->path, MARKER_NAME);
        int fd = d->io.open(d->io.ctx, marker, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || d->io.fsync(d->io.ctx, fd, false) != 0 ||
            sl_log_fsync_dir(&d->io, d->path) != 0) {
            SL_ERROR(SL_LOG_MODULE, "cannot write %s: %s", marker, strerror(errno));
            rc = SL_ERR_IO;
        }
        if (fd >= 0) close(fd);
    }
    if (d->offline && rc == 0) rc = SL_ERR_OFFLINE;
    for (size_t i = 0; i < d->nplogs; i++)
        sl_plog_free_closed(d->plogs[i], SL_ERR_CLOSED);
    SL_INFO(SL_LOG_MODULE, "closed log directory %s (%s)", d->path,
            rc == 0 ? "clean" : sl_err_str(rc));
    logdir_free(d);
    return rc;
}

void sl_logdir_close_unclean(sl_logdir *d)
{
    for (size_t i = 0; i < d->nplogs; i++)
        sl_plog_free_closed(d->plogs[i], SL_ERR_CLOSED);
    logdir_free(d);
}

void sl_logdir_tick(sl_logdir *d, int64_t now)
{
    if (d->offline) return;
    for (size_t i = 0; i < d->nplogs; i++)
        sl_plog_tick(d->plogs[i], now);
    if (now - d->last_retention_ms >= d->retention_interval_ms) {
        d->last_retention_ms = now;
        for (size_t i = 0; i < d->nplogs && !d->offline; i++)
            sl_plog_apply_retention(d->plogs[i], now);
    }
    if (now - d->last_ckpt_ms >= d->ckpt_interval_ms) {
        d->last_ckpt_ms = now;
        ckpt_start(d);
    }
}
