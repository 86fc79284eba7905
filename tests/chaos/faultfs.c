/* faultfs: an LD_PRELOAD shim that models what a disk keeps when the power
 * fails, and injects disk errors, for the chaos tests (tests/chaos/).
 *
 * Environment (nothing happens unless FAULTFS_DIR is set):
 *   FAULTFS_DIR    absolute directory; only files and directories below it
 *                  are modelled (the broker's data directory)
 *   FAULTFS_LOG    file the shim appends its report lines to ("cut ...",
 *                  "fault ...", "unmodeled ...")
 *   FAULTFS_DEBUG  1: also log every modelled open, write, sync and
 *                  directory operation
 *   FAULTFS_SEED   random seed for torn tails (default: pid)
 *   FAULTFS_TORN   probability 0..1 that a file with unsynced appended bytes
 *                  keeps a torn tail at a power cut (default 0)
 *   FAULTFS_SYNC_DELAY_MS  every fsync/fdatasync of a modelled file or
 *                  directory first sleeps a random 0.5x..1.5x this long (a
 *                  slow disk: more data stays unsynced for longer)
 *   FAULTFS_SKIP   paths containing this string get neither delays nor
 *                  injected errors (e.g. "/__meta")
 *   FAULTFS_FAIL   error injection "<op>:<errno>[:after=N][:once][:partial][:drop]"
 *                    op      write | fsync | any
 *                    errno   EIO | ENOSPC
 *                    after=N fail from the N+1-th matching operation on;
 *                            without it the fault is armed by SIGUSR1
 *                    once    fail one operation only (default: every one)
 *                    partial the first failing write writes half of its
 *                            bytes and returns that short count (ENOSPC)
 *                    drop    a failing fsync also discards the file's
 *                            unsynced writes (Linux marks the dirty pages
 *                            clean after a writeback error)
 *
 * Commands: SIGUSR2 = power cut, SIGUSR1 = arm FAULTFS_FAIL. The handlers
 * only write a byte to a pipe; a control thread does the work.
 *
 * What a power cut does. Under the shim's lock (so no modelled write is
 * half done, and none runs afterwards) it:
 *  0. shuts down every socket of the process (both directions), so nothing
 *     the process reads from the rolled-back files in the moments before it
 *     dies — a torn tail with garbage in it, say — can reach a client;
 *  1. restores every modelled regular file to its content as of the last
 *     completed fsync/fdatasync of that inode through any descriptor: bytes
 *     overwritten or truncated since then get their old content back (the
 *     shim saved a pre-image before each such change), and the file is cut to
 *     the size it had when that fsync started. With probability FAULTFS_TORN
 *     a random-length prefix of the unsynced appended bytes stays, and half
 *     of those torn tails get 1-64 random bytes somewhere in the kept part;
 *  2. undoes, newest first, directory changes not yet covered by an fsync of
 *     the parent directory: files created (unlinked again), files removed
 *     (linked back), renames (renamed back, a replaced target linked back),
 *     mkdir (removed). A removed or replaced file is kept alive until then
 *     as a hard link in <FAULTFS_DIR>/.faultfs-stash/ (a dot name, which the
 *     broker's directory scans skip; emptied when the shim starts);
 *  3. appends a "cut" line with what it did to FAULTFS_LOG and SIGKILLs the
 *     process.
 * An fsync that was still running when the cut came counts as not done (its
 * caller never returns, so nothing can have been acknowledged from it).
 *
 * What it does NOT model:
 *  - files opened with O_DSYNC, O_SYNC or O_DIRECT: every completed write is
 *    taken as durable and their content is never touched. libraft (the
 *    metadata log under __meta/) opens its segments with O_DSYNC and writes
 *    them with Linux AIO (io_submit through syscall(2)), which no preload
 *    shim can see; its writes are durable when they complete, so there is
 *    nothing unsynced to drop. A write torn in the middle of an io_submit is
 *    therefore not modelled; libraft's own checksums are what cover that.
 *    libraft's small files written with write+fsync (metadata1/2, snapshots)
 *    are modelled like any other file;
 *  - rmdir, and removals or renames whose stash link fails (other file
 *    system): reported as "unmodeled", left as they are;
 *  - writes through stdio (fwrite calls glibc-internal functions), mmap,
 *    dup'ed descriptors and io_uring;
 *  - reordering between files: each file independently keeps exactly its
 *    last synced state (plus an optional torn tail), which is what a power cut
 *    may leave under POSIX rules; a file system may keep more, never less;
 *  - a torn write in the middle of a file (only appended tails tear);
 *  - pre-images above 256 MiB in total: the file is then reported as
 *    "unmodeled" and left as it is.
 *
 * The shim is built without sanitizers; with an ASan broker the harness
 * preloads the ASan runtime first.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#define FF_MAX_FD        65536
#define FF_UNDO_CAP      (256u << 20) /* pre-image bytes kept in total */
#define FF_TORN_MAX      (16u << 20)  /* unsynced tail bytes read back for a torn tail */
#define FF_PATH_MAX      4096
#define FF_PRIVATE_FD_LO 900 /* the shim's own descriptors live above this */

/* glibc's fortified and 64-bit aliases have no prototypes in the headers
 * without _FORTIFY_SOURCE / _LARGEFILE64_SOURCE: declare what we define. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* ---- real functions ----------------------------------------------------- */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*close_fn)(int);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*pwritev2_fn)(int, const struct iovec *, int, off_t, int);
typedef int (*fd_fn)(int);
typedef int (*ftruncate_fn)(int, off_t);
typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat_fn)(int, const char *, int, const char *);
typedef int (*unlink_fn)(const char *);
typedef int (*unlinkat_fn)(int, const char *, int);
typedef int (*mkdir_fn)(const char *, mode_t);

static long syscall_write_fallback(const char *p, size_t n)
{
    return syscall(SYS_write, 2, p, n);
}

static struct {
    open_fn open, open64;
    openat_fn openat, openat64;
    close_fn close;
    write_fn write;
    pwrite_fn pwrite, pwrite64;
    writev_fn writev;
    pwritev_fn pwritev, pwritev64;
    pwritev2_fn pwritev2;
    fd_fn fsync, fdatasync;
    ftruncate_fn ftruncate, ftruncate64;
    rename_fn rename;
    renameat_fn renameat;
    unlink_fn unlink;
    unlinkat_fn unlinkat;
    mkdir_fn mkdir;
} real;

static void *next_sym(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) {
        static const char msg[] = "faultfs: missing libc symbol\n";
        (void)!syscall_write_fallback(msg, sizeof msg - 1);
        abort();
    }
    return p;
}

static void resolve_all(void)
{
    real.open = next_sym("open");
    real.open64 = next_sym("open64");
    real.openat = next_sym("openat");
    real.openat64 = next_sym("openat64");
    real.close = next_sym("close");
    real.write = next_sym("write");
    real.pwrite = next_sym("pwrite");
    real.pwrite64 = next_sym("pwrite64");
    real.writev = next_sym("writev");
    real.pwritev = next_sym("pwritev");
    real.pwritev64 = next_sym("pwritev64");
    real.pwritev2 = next_sym("pwritev2");
    real.fsync = next_sym("fsync");
    real.fdatasync = next_sym("fdatasync");
    real.ftruncate = next_sym("ftruncate");
    real.ftruncate64 = next_sym("ftruncate64");
    real.rename = next_sym("rename");
    real.renameat = next_sym("renameat");
    real.unlink = next_sym("unlink");
    real.unlinkat = next_sym("unlinkat");
    real.mkdir = next_sym("mkdir");
}

/* Wrappers may run before the constructor (other libraries' initializers). */
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
#define REAL(name) (pthread_once(&real_once, resolve_all), real.name)

/* ---- model -------------------------------------------------------------- */

typedef struct undo {
    struct undo *next; /* older */
    uint64_t seq;
    off_t off;
    size_t len;
    unsigned char data[];
} undo;

typedef struct inode {
    struct inode *next;
    dev_t dev;
    ino_t ino;
    int fd;        /* the shim's own O_RDWR descriptor */
    int app_fds;   /* application descriptors open on it */
    bool content;  /* writes are modelled (not O_DSYNC/O_SYNC/O_DIRECT) */
    bool overflow; /* pre-images did not fit: not modelled any more */
    off_t synced;  /* size when the last completed fsync started */
    uint64_t seq;  /* next modification number */
    undo *undo;    /* newest first */
    char path[FF_PATH_MAX];
} inode;

enum dirop_kind { DOP_CREATE, DOP_RENAME, DOP_MKDIR, DOP_UNLINK };

typedef struct dirop {
    struct dirop *prev; /* older */
    enum dirop_kind kind;
    uint64_t seq;
    char parent[FF_PATH_MAX]; /* directory whose fsync makes it durable */
    char path[FF_PATH_MAX];   /* created path / rename target */
    char from[FF_PATH_MAX];   /* rename source */
    char stash[FF_PATH_MAX];  /* removed / replaced file, kept alive ("" = none) */
} dirop;

enum fd_kind { FD_NONE = 0, FD_FILE, FD_DIR };

typedef struct fdent {
    _Atomic int kind;
    inode *ino; /* FD_FILE */
    char *dir;  /* FD_DIR: the directory's path (malloc'd) */
} fdent;

enum fail_op { FAIL_NONE, FAIL_WRITE, FAIL_FSYNC, FAIL_ANY };

static struct {
    bool on;
    char dir[FF_PATH_MAX];
    size_t dirlen;
    char stash_dir[FF_PATH_MAX];
    uint64_t stash_seq;
    int log_fd;
    double torn_p;
    uint64_t rng;
    pthread_mutex_t mu;
    inode *inodes;
    dirop *dirops; /* newest */
    uint64_t dirop_seq;
    size_t undo_bytes;
    fdent *fds;
    int pipe_rd, pipe_wr;
    /* error injection */
    enum fail_op fail_op;
    int fail_errno;
    long fail_after; /* -1: armed by SIGUSR1 */
    bool fail_once, fail_partial, fail_drop;
    char skip[256]; /* paths containing this are never delayed or failed */
    long sync_delay_ms;
    bool debug;
    long fail_seen;
    bool fail_armed;
    bool fail_spent;
    bool partial_done;
} ff = {.log_fd = -1, .pipe_rd = -1, .pipe_wr = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t rng_next(void)
{
    ff.rng ^= ff.rng << 13;
    ff.rng ^= ff.rng >> 7;
    ff.rng ^= ff.rng << 17;
    return ff.rng;
}

static void ff_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ff_log(const char *fmt, ...)
{
    if (ff.log_fd < 0) return;
    char line[FF_PATH_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!REAL(write)(ff.log_fd, line, (size_t)n);
}

/* Absolute, with "//" and "/./" collapsed (enough for the paths the broker
 * builds from its configured directory). */
static bool abs_path(int dirfd, const char *path, char *out, size_t cap)
{
    char tmp[FF_PATH_MAX * 2];
    if (path[0] == '/') {
        snprintf(tmp, sizeof tmp, "%s", path);
    } else if (dirfd == AT_FDCWD) {
        char cwd[FF_PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return false;
        snprintf(tmp, sizeof tmp, "%s/%s", cwd, path);
    } else {
        if (dirfd < 0 || dirfd >= FF_MAX_FD || !ff.fds ||
            atomic_load(&ff.fds[dirfd].kind) != FD_DIR || !ff.fds[dirfd].dir)
            return false;
        snprintf(tmp, sizeof tmp, "%s/%s", ff.fds[dirfd].dir, path);
    }
    size_t o = 0;
    for (size_t i = 0; tmp[i] && o + 1 < cap; i++) {
        if (tmp[i] == '/' && o > 0 && out[o - 1] == '/') continue;
        if (tmp[i] == '.' && o > 0 && out[o - 1] == '/' && (tmp[i + 1] == '/' || !tmp[i + 1]))
            continue;
        out[o++] = tmp[i];
    }
    while (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = 0;
    return true;
}

static bool under_dir(const char *p)
{
    return strncmp(p, ff.dir, ff.dirlen) == 0 && (p[ff.dirlen] == '/' || p[ff.dirlen] == 0);
}

static void parent_of(const char *p, char *out, size_t cap)
{
    snprintf(out, cap, "%s", p);
    char *s = strrchr(out, '/');
    if (s && s != out)
        *s = 0;
    else if (s)
        s[1] = 0;
}

static int private_fd(int fd)
{
    if (fd < 0) return fd;
    int d = fcntl(fd, F_DUPFD_CLOEXEC, FF_PRIVATE_FD_LO);
    REAL(close)(fd);
    return d;
}

static void free_undo(inode *n, uint64_t below_seq)
{
    undo **pp = &n->undo;
    while (*pp) {
        undo *u = *pp;
        if (u->seq < below_seq) {
            *pp = u->next;
            ff.undo_bytes -= u->len;
            free(u);
        } else {
            pp = &u->next;
        }
    }
}

static off_t fd_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

static bool inode_dirty(const inode *n)
{
    return n->undo != NULL || fd_size(n->fd) != n->synced;
}

static void inode_drop(inode *n)
{
    inode **pp = &ff.inodes;
    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp) *pp = n->next;
    free_undo(n, UINT64_MAX);
    REAL(close)(n->fd);
    free(n);
}

static inode *inode_find(dev_t dev, ino_t ino)
{
    for (inode *n = ff.inodes; n; n = n->next) {
        if (n->dev != dev || n->ino != ino) continue;
        struct stat st;
        if (fstat(n->fd, &st) == 0 && st.st_nlink > 0) return n;
        /* The file it described is gone and its inode number was reused. */
        if (n->app_fds == 0) inode_drop(n);
        return NULL;
    }
    return NULL;
}

/* Starts modelling the file at path (which exists): its current content is
 * taken as durable. */
static inode *inode_track(const char *path, bool content)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
    inode *n = inode_find(st.st_dev, st.st_ino);
    if (n) {
        if (!content) n->content = false;
        return n;
    }
    int fd = private_fd(REAL(open)(path, O_RDWR | O_CLOEXEC));
    if (fd < 0) return NULL;
    n = calloc(1, sizeof *n);
    if (!n) {
        REAL(close)(fd);
        return NULL;
    }
    n->dev = st.st_dev;
    n->ino = st.st_ino;
    n->fd = fd;
    n->content = content;
    n->synced = st.st_size;
    n->seq = 1;
    snprintf(n->path, sizeof n->path, "%s", path);
    n->next = ff.inodes;
    ff.inodes = n;
    return n;
}

/* Saves the bytes [off, off+len) as they are now, so a cut can put them back. */
static void save_preimage(inode *n, off_t off, size_t len)
{
    if (!n->content || n->overflow || len == 0) return;
    off_t size = fd_size(n->fd);
    if (size < 0 || off >= size) return;
    if ((off_t)len > size - off) len = (size_t)(size - off);
    if (ff.undo_bytes + len > FF_UNDO_CAP) {
        n->overflow = true;
        ff_log("unmodeled %s: pre-images above %u bytes", n->path, FF_UNDO_CAP);
        return;
    }
    undo *u = malloc(sizeof *u + len);
    if (!u) {
        n->overflow = true;
        return;
    }
    ssize_t r = pread(n->fd, u->data, len, off);
    if (r <= 0) {
        free(u);
        return;
    }
    u->len = (size_t)r;
    u->off = off;
    u->seq = n->seq++;
    u->next = n->undo;
    n->undo = u;
    ff.undo_bytes += u->len;
}

static void dirop_push(enum dirop_kind kind, const char *path, const char *from)
{
    dirop *d = calloc(1, sizeof *d);
    if (!d) return;
    d->kind = kind;
    d->seq = ++ff.dirop_seq;
    snprintf(d->path, sizeof d->path, "%s", path);
    if (from) snprintf(d->from, sizeof d->from, "%s", from);
    parent_of(path, d->parent, sizeof d->parent);
    d->prev = ff.dirops;
    ff.dirops = d;
}

static void dirops_commit(const char *dir, uint64_t below_seq)
{
    dirop **pp = &ff.dirops;
    while (*pp) {
        dirop *d = *pp;
        if (d->seq < below_seq && strcmp(d->parent, dir) == 0) {
            *pp = d->prev;
            if (d->stash[0]) (void)REAL(unlink)(d->stash);
            free(d);
        } else {
            pp = &d->prev;
        }
    }
}

static void fd_set_file(int fd, inode *n)
{
    if (fd < 0 || fd >= FF_MAX_FD) return;
    ff.fds[fd].ino = n;
    n->app_fds++;
    atomic_store(&ff.fds[fd].kind, FD_FILE);
}

static void fd_set_dir(int fd, const char *path)
{
    if (fd < 0 || fd >= FF_MAX_FD) return;
    free(ff.fds[fd].dir);
    ff.fds[fd].dir = strdup(path);
    if (ff.fds[fd].dir) atomic_store(&ff.fds[fd].kind, FD_DIR);
}

static fdent *fd_lookup(int fd)
{
    if (!ff.on || fd < 0 || fd >= FF_MAX_FD) return NULL;
    fdent *e = &ff.fds[fd];
    return atomic_load(&e->kind) == FD_NONE ? NULL : e;
}

/* Under the lock: whether the descriptor still refers to what the table says
 * (a descriptor closed behind the shim's back, then reused for a socket,
 * must not be treated as a modelled file). Forgets it if not. */
static bool fd_still_ours(fdent *e, int fd)
{
    struct stat st;
    int kind = atomic_load(&e->kind);
    bool ok = fstat(fd, &st) == 0 &&
              (kind == FD_DIR ? S_ISDIR(st.st_mode)
                              : kind == FD_FILE && e->ino && e->ino->dev == st.st_dev &&
                                    e->ino->ino == st.st_ino);
    if (!ok) {
        if (kind == FD_FILE && e->ino) e->ino->app_fds--;
        e->ino = NULL;
        atomic_store(&e->kind, FD_NONE);
    }
    return ok;
}

/* ---- error injection ----------------------------------------------------- */

/* Under the lock. Returns the errno to fail with, or 0. *partial is set when
 * this write should be cut short instead. */
static int fault_check(enum fail_op op, const char *path, bool *partial)
{
    *partial = false;
    if (ff.fail_op == FAIL_NONE || ff.fail_spent) return 0;
    if (ff.skip[0] && strstr(path, ff.skip)) return 0;
    if (ff.fail_op != FAIL_ANY && ff.fail_op != op) return 0;
    if (!ff.fail_armed && ff.fail_after >= 0 && ff.fail_seen++ >= ff.fail_after)
        ff.fail_armed = true;
    if (!ff.fail_armed) return 0;
    if (op == FAIL_WRITE && ff.fail_partial && !ff.partial_done) {
        ff.partial_done = true;
        *partial = true;
        ff_log("fault %s short write %s", op == FAIL_WRITE ? "write" : "fsync", path);
        return 0;
    }
    if (ff.fail_once) ff.fail_spent = true;
    ff_log("fault %s %s %s", op == FAIL_WRITE ? "write" : "fsync",
           ff.fail_errno == ENOSPC ? "ENOSPC" : "EIO", path);
    return ff.fail_errno;
}

/* ---- power cut ------------------------------------------------------------ */

typedef struct cut_stats {
    long files, reverted_bytes, dropped_bytes, torn_files, torn_bytes, garbled, dirops, unmodeled;
} cut_stats;

static void revert_inode(inode *n, bool torn_ok, cut_stats *st)
{
    if (!n->content) return;
    if (n->overflow) {
        st->unmodeled++;
        return;
    }
    off_t size = fd_size(n->fd);
    if (size < 0) return;
    if (size == n->synced && !n->undo) return;
    st->files++;
    unsigned char *tail = NULL;
    size_t tail_len = 0;
    if (torn_ok && size > n->synced && ff.torn_p > 0 &&
        (double)(rng_next() % 1000000) / 1e6 < ff.torn_p) {
        tail_len = (size_t)(size - n->synced);
        if (tail_len > FF_TORN_MAX) tail_len = FF_TORN_MAX;
        tail = malloc(tail_len);
        if (tail) {
            ssize_t r = pread(n->fd, tail, tail_len, n->synced);
            tail_len = r > 0 ? (size_t)r : 0;
        }
    }
    for (undo *u = n->undo; u; u = u->next) {
        (void)!REAL(pwrite)(n->fd, u->data, u->len, u->off);
        st->reverted_bytes += (long)u->len;
    }
    free_undo(n, UINT64_MAX);
    if (size > n->synced) st->dropped_bytes += (long)(size - n->synced);
    (void)!REAL(ftruncate)(n->fd, n->synced);
    if (tail && tail_len > 0) {
        size_t keep = (size_t)(rng_next() % (tail_len + 1));
        if (keep > 0) {
            if (rng_next() % 2) {
                size_t g = 1 + (size_t)(rng_next() % 64);
                if (g > keep) g = keep;
                size_t at = (size_t)(rng_next() % (keep - g + 1));
                for (size_t i = 0; i < g; i++)
                    tail[at + i] = (unsigned char)rng_next();
                st->garbled++;
            }
            (void)!REAL(pwrite)(n->fd, tail, keep, n->synced);
            st->torn_files++;
            st->torn_bytes += (long)keep;
            st->dropped_bytes -= (long)keep;
        }
    }
    free(tail);
    n->synced = fd_size(n->fd);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char p[FF_PATH_MAX * 2];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            if (REAL(unlink)(p) != 0 && errno == EISDIR) remove_tree(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static void undo_dirop(dirop *d)
{
    switch (d->kind) {
    case DOP_CREATE:
        (void)REAL(unlink)(d->path);
        break;
    case DOP_MKDIR:
        remove_tree(d->path);
        break;
    case DOP_RENAME:
        (void)REAL(rename)(d->path, d->from);
        if (d->stash[0] && REAL(rename)(d->stash, d->path) != 0)
            ff_log("unmodeled: cannot restore %s: %s", d->path, strerror(errno));
        break;
    case DOP_UNLINK:
        if (REAL(rename)(d->stash, d->path) != 0)
            ff_log("unmodeled: cannot restore %s: %s", d->path, strerror(errno));
        break;
    }
}

/* The network goes first: other threads keep running until the SIGKILL, and
 * a sendfile still pending must not ship bytes from a rolled-back file.
 *
 * Bytes sent with sendfile stay references to page-cache pages until the
 * peer reads them (on loopback even in the peer's receive queue), and the
 * roll-back rewrites those pages in place. A real power cut stops the
 * machine instead, so before rolling back, wait for what was already handed
 * to the sockets to drain and give the peer a moment to read it (the other
 * threads are frozen meanwhile: every file operation waits for ff.mu). */
#define FF_MAX_SOCKETS 4096
static long cut_network(void)
{
    static int socks[FF_MAX_SOCKETS];
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        if (*end || fd < 0 || fd == dirfd(d)) continue;
        if (fstat((int)fd, &st) == 0 && S_ISSOCK(st.st_mode) && shutdown((int)fd, SHUT_RDWR) == 0) {
            if (n < FF_MAX_SOCKETS) socks[n] = (int)fd;
            n++;
        }
    }
    closedir(d);
    struct timespec tick = {0, 5 * 1000 * 1000};
    for (int round = 0; round < 200; round++) { /* at most ~1 s */
        long queued = 0;
        for (long i = 0; i < n && i < FF_MAX_SOCKETS; i++) {
            int q = 0;
            if (ioctl(socks[i], SIOCOUTQ, &q) == 0) queued += q;
        }
        if (queued == 0) break;
        nanosleep(&tick, NULL);
    }
    struct timespec settle = {0, 150 * 1000 * 1000};
    nanosleep(&settle, NULL);
    return n;
}

static void power_cut(void)
{
    pthread_mutex_lock(&ff.mu); /* never released: the process dies holding it */
    long sockets = cut_network();
    cut_stats st = {0};
    for (inode *n = ff.inodes; n; n = n->next)
        revert_inode(n, true, &st);
    for (dirop *d = ff.dirops; d; d = d->prev) {
        undo_dirop(d);
        st.dirops++;
    }
    ff_log("cut files=%ld reverted_bytes=%ld dropped_bytes=%ld torn_files=%ld torn_bytes=%ld "
           "garbled=%ld dirops=%ld unmodeled=%ld sockets=%ld",
           st.files, st.reverted_bytes, st.dropped_bytes, st.torn_files, st.torn_bytes, st.garbled,
           st.dirops, st.unmodeled, sockets);
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}

static void *control_main(void *arg)
{
    (void)arg;
    for (;;) {
        char c;
        ssize_t r = read(ff.pipe_rd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return NULL;
        if (c == 'C') power_cut();
        if (c == 'F') {
            pthread_mutex_lock(&ff.mu);
            ff.fail_armed = true;
            ff_log("fault armed");
            pthread_mutex_unlock(&ff.mu);
        }
    }
}

static void on_signal(int sig)
{
    int e = errno;
    char c = sig == SIGUSR2 ? 'C' : 'F';
    (void)!REAL(write)(ff.pipe_wr, &c, 1);
    errno = e;
}

static void parse_fail(const char *spec)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    ff.fail_after = -1;
    char *save = NULL;
    int i = 0;
    for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save), i++) {
        if (i == 0)
            ff.fail_op = strcmp(tok, "write") == 0   ? FAIL_WRITE
                         : strcmp(tok, "fsync") == 0 ? FAIL_FSYNC
                         : strcmp(tok, "any") == 0   ? FAIL_ANY
                                                     : FAIL_NONE;
        else if (i == 1)
            ff.fail_errno = strcmp(tok, "ENOSPC") == 0 ? ENOSPC : EIO;
        else if (strncmp(tok, "after=", 6) == 0)
            ff.fail_after = strtol(tok + 6, NULL, 10);
        else if (strcmp(tok, "once") == 0)
            ff.fail_once = true;
        else if (strcmp(tok, "partial") == 0)
            ff.fail_partial = true;
        else if (strcmp(tok, "drop") == 0)
            ff.fail_drop = true;
    }
}

__attribute__((constructor)) static void ff_init(void)
{
    const char *dir = getenv("FAULTFS_DIR");
    if (!dir || dir[0] != '/') return;
    ff.fds = calloc(FF_MAX_FD, sizeof *ff.fds);
    if (!ff.fds) return;
    abs_path(AT_FDCWD, dir, ff.dir, sizeof ff.dir);
    ff.dirlen = strlen(ff.dir);
    /* Whatever a previous process left to undo is moot now: this start sees
     * the disk as it is. */
    int sn = snprintf(ff.stash_dir, sizeof ff.stash_dir, "%s/.faultfs-stash", ff.dir);
    if (sn < 0 || (size_t)sn >= sizeof ff.stash_dir) return; /* path too long: stay off */
    remove_tree(ff.stash_dir);
    (void)REAL(mkdir)(ff.stash_dir, 0755);
    const char *s = getenv("FAULTFS_SEED");
    ff.rng = (s ? strtoull(s, NULL, 10) : (uint64_t)getpid()) * 2654435761u + 1;
    s = getenv("FAULTFS_TORN");
    ff.torn_p = s ? strtod(s, NULL) : 0;
    s = getenv("FAULTFS_FAIL");
    if (s && *s) parse_fail(s);
    s = getenv("FAULTFS_DEBUG");
    ff.debug = s && *s == '1';
    s = getenv("FAULTFS_SYNC_DELAY_MS");
    ff.sync_delay_ms = s ? strtol(s, NULL, 10) : 0;
    s = getenv("FAULTFS_SKIP");
    if (s) snprintf(ff.skip, sizeof ff.skip, "%s", s);
    s = getenv("FAULTFS_LOG");
    if (s && *s)
        ff.log_fd = private_fd(REAL(open)(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    ff.pipe_rd = private_fd(p[0]);
    ff.pipe_wr = private_fd(p[1]);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* The control thread must not take signals meant for the process. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &a, control_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
    if (rc != 0) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    ff.on = true;
    ff_log("start pid=%d dir=%s torn=%.2f sync_delay_ms=%ld fail=%s", (int)getpid(), ff.dir,
           ff.torn_p, ff.sync_delay_ms, getenv("FAULTFS_FAIL") ? getenv("FAULTFS_FAIL") : "");
}

/* ---- wrappers: open / close ------------------------------------------------ */

static int do_open(int dirfd, const char *path, int flags, mode_t mode, bool at, bool is64)
{
    int fd;
#define CALL_REAL_OPEN()                                                                           \
    (at ? (is64 ? REAL(openat64)(dirfd, path, flags, mode)                                         \
                : REAL(openat)(dirfd, path, flags, mode))                                          \
        : (is64 ? REAL(open64)(path, flags, mode) : REAL(open)(path, flags, mode)))
    char ap[FF_PATH_MAX];
    if (!ff.on || !path || !abs_path(at ? dirfd : AT_FDCWD, path, ap, sizeof ap) || !under_dir(ap))
        return CALL_REAL_OPEN();
    bool content = !(flags & (O_DSYNC | O_SYNC | O_DIRECT));
    pthread_mutex_lock(&ff.mu);
    struct stat st;
    bool existed = stat(ap, &st) == 0;
    inode *n = NULL;
    if (existed && S_ISREG(st.st_mode)) {
        n = inode_track(ap, content);
        if (n && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && st.st_size > 0) {
            save_preimage(n, 0, (size_t)st.st_size);
        }
    }
    fd = CALL_REAL_OPEN();
    int e = errno;
    if (fd >= 0) {
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            fd_set_dir(fd, ap);
        } else if (S_ISREG(st.st_mode)) {
            if (!existed) {
                n = inode_track(ap, content);
                if (n) n->synced = 0; /* a new file: nothing of it is durable yet */
                dirop_push(DOP_CREATE, ap, NULL);
            } else if (!n || n->ino != st.st_ino) {
                n = inode_track(ap, content);
            }
            if (n) fd_set_file(fd, n);
        }
        if (ff.debug)
            ff_log("debug open fd=%d %s flags=%#x existed=%d content=%d", fd, ap, flags, existed,
                   n ? n->content : -1);
    }
    pthread_mutex_unlock(&ff.mu);
    errno = e;
    return fd;
#undef CALL_REAL_OPEN
}

static mode_t va_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return do_open(AT_FDCWD, path, flags, m, false, false);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return do_open(AT_FDCWD, path, flags, m, false, true);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return do_open(dirfd, path, flags, m, true, false);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return do_open(dirfd, path, flags, m, true, true);
}

int __open_2(const char *path, int flags)
{
    return do_open(AT_FDCWD, path, flags, 0, false, false);
}

int __open64_2(const char *path, int flags)
{
    return do_open(AT_FDCWD, path, flags, 0, false, true);
}

int __openat_2(int dirfd, const char *path, int flags)
{
    return do_open(dirfd, path, flags, 0, true, false);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
    return do_open(dirfd, path, flags, 0, true, true);
}

int creat(const char *path, mode_t mode)
{
    return do_open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode, false, false);
}

int close(int fd)
{
    fdent *e = fd_lookup(fd);
    if (e) {
        pthread_mutex_lock(&ff.mu);
        if (atomic_load(&e->kind) == FD_FILE && e->ino) {
            inode *n = e->ino;
            e->ino = NULL;
            struct stat st;
            bool gone = fstat(n->fd, &st) == 0 && st.st_nlink == 0;
            if (--n->app_fds == 0 && (gone || !inode_dirty(n))) {
                /* Keep it while a directory operation on it is pending. */
                bool pending = false;
                for (dirop *d = ff.dirops; d && !pending; d = d->prev)
                    pending = strcmp(d->path, n->path) == 0;
                if (!pending) inode_drop(n);
            }
        }
        atomic_store(&e->kind, FD_NONE);
        free(e->dir);
        e->dir = NULL;
        pthread_mutex_unlock(&ff.mu);
    }
    return REAL(close)(fd);
}

/* ---- wrappers: writes -------------------------------------------------------- */

static size_t iov_len(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* Common part of every write. off < 0: the descriptor's file position.
 * Returns true with *ret set (errno too) when the call is answered without
 * writing. */
static bool write_pre(fdent *e, off_t off, int fd, size_t len, size_t *allow, ssize_t *ret)
{
    inode *n = e->ino;
    *allow = len;
    bool partial;
    int err = fault_check(FAIL_WRITE, n->path, &partial);
    if (err) {
        errno = err;
        *ret = -1;
        return true;
    }
    if (partial) *allow = len / 2;
    if (off < 0) {
        int fl = fcntl(fd, F_GETFL);
        off = (fl >= 0 && (fl & O_APPEND)) ? fd_size(fd) : lseek(fd, 0, SEEK_CUR);
    }
    if (off >= 0) save_preimage(n, off, *allow);
    if (ff.debug)
        ff_log("debug write fd=%d %s off=%lld len=%zu synced=%lld", fd, n->path, (long long)off,
               *allow, (long long)n->synced);
    return false;
}

#define WRITE_WRAPPER(call_real, off_expr, len_expr, ...)                                          \
    fdent *e = fd_lookup(fd);                                                                      \
    if (!e || atomic_load(&e->kind) != FD_FILE) return call_real;                                  \
    pthread_mutex_lock(&ff.mu);                                                                    \
    if (!fd_still_ours(e, fd) || !e->ino->content) {                                               \
        pthread_mutex_unlock(&ff.mu);                                                              \
        return call_real;                                                                          \
    }                                                                                              \
    ssize_t ret;                                                                                   \
    size_t allow;                                                                                  \
    if (!write_pre(e, off_expr, fd, len_expr, &allow, &ret)) {                                     \
        __VA_ARGS__                                                                                \
    }                                                                                              \
    int saved_errno = errno;                                                                       \
    pthread_mutex_unlock(&ff.mu);                                                                  \
    errno = saved_errno;                                                                           \
    return ret;

ssize_t write(int fd, const void *buf, size_t n)
{
    WRITE_WRAPPER(REAL(write)(fd, buf, n), -1, n, ret = REAL(write)(fd, buf, allow);)
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    WRITE_WRAPPER(REAL(pwrite)(fd, buf, n, off), off, n, ret = REAL(pwrite)(fd, buf, allow, off);)
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    WRITE_WRAPPER(REAL(pwrite64)(fd, buf, n, off), off, n,
                  ret = REAL(pwrite64)(fd, buf, allow, off);)
}

/* A short vectored write writes the first `allow` bytes only. */
static int iov_clip(const struct iovec *iov, int cnt, size_t allow, struct iovec *out)
{
    int k = 0;
    for (int i = 0; i < cnt && allow > 0 && k < 64; i++) {
        out[k] = iov[i];
        if (out[k].iov_len > allow) out[k].iov_len = allow;
        allow -= out[k].iov_len;
        k++;
    }
    return k;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct iovec clip[64];
    WRITE_WRAPPER(REAL(writev)(fd, iov, cnt), -1, iov_len(iov, cnt),
                  ret = allow == iov_len(iov, cnt)
                            ? REAL(writev)(fd, iov, cnt)
                            : REAL(writev)(fd, clip, iov_clip(iov, cnt, allow, clip));)
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    struct iovec clip[64];
    WRITE_WRAPPER(REAL(pwritev)(fd, iov, cnt, off), off, iov_len(iov, cnt),
                  ret = allow == iov_len(iov, cnt)
                            ? REAL(pwritev)(fd, iov, cnt, off)
                            : REAL(pwritev)(fd, clip, iov_clip(iov, cnt, allow, clip), off);)
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    struct iovec clip[64];
    WRITE_WRAPPER(REAL(pwritev64)(fd, iov, cnt, off), off, iov_len(iov, cnt),
                  ret = allow == iov_len(iov, cnt)
                            ? REAL(pwritev64)(fd, iov, cnt, off)
                            : REAL(pwritev64)(fd, clip, iov_clip(iov, cnt, allow, clip), off);)
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    struct iovec clip[64];
    WRITE_WRAPPER(REAL(pwritev2)(fd, iov, cnt, off, flags), off, iov_len(iov, cnt),
                  ret =
                      allow == iov_len(iov, cnt)
                          ? REAL(pwritev2)(fd, iov, cnt, off, flags)
                          : REAL(pwritev2)(fd, clip, iov_clip(iov, cnt, allow, clip), off, flags);)
}

static int do_truncate(int fd, off_t len, bool is64)
{
    fdent *e = fd_lookup(fd);
    if (!e || atomic_load(&e->kind) != FD_FILE)
        return is64 ? REAL(ftruncate64)(fd, len) : REAL(ftruncate)(fd, len);
    pthread_mutex_lock(&ff.mu);
    inode *n = fd_still_ours(e, fd) ? e->ino : NULL;
    if (n) {
        off_t size = fd_size(n->fd);
        if (size > len) save_preimage(n, len, (size_t)(size - len));
    }
    int rc = is64 ? REAL(ftruncate64)(fd, len) : REAL(ftruncate)(fd, len);
    int err = errno;
    pthread_mutex_unlock(&ff.mu);
    errno = err;
    return rc;
}

int ftruncate(int fd, off_t len)
{
    return do_truncate(fd, len, false);
}

int ftruncate64(int fd, off_t len)
{
    return do_truncate(fd, len, true);
}

/* ---- wrappers: fsync ------------------------------------------------------------ */

static int do_sync(int fd, bool data_only)
{
    fdent *e = fd_lookup(fd);
    if (!e) return data_only ? REAL(fdatasync)(fd) : REAL(fsync)(fd);
    pthread_mutex_lock(&ff.mu);
    if (!fd_still_ours(e, fd)) {
        pthread_mutex_unlock(&ff.mu);
        return data_only ? REAL(fdatasync)(fd) : REAL(fsync)(fd);
    }
    int kind = atomic_load(&e->kind);
    inode *n = kind == FD_FILE ? e->ino : NULL;
    char dir[FF_PATH_MAX] = "";
    if (kind == FD_DIR && e->dir) snprintf(dir, sizeof dir, "%s", e->dir);
    bool partial;
    int err = (n && !n->content) || (!n && kind != FD_DIR)
                  ? 0
                  : fault_check(FAIL_FSYNC, n ? n->path : dir, &partial);
    if (err) {
        if (n && ff.fail_drop) {
            cut_stats st = {0};
            revert_inode(n, false, &st);
            ff_log("fault fsync dropped %ld unsynced bytes of %s", st.dropped_bytes, n->path);
        }
        pthread_mutex_unlock(&ff.mu);
        errno = err;
        return -1;
    }
    off_t snap_size = n ? fd_size(n->fd) : 0;
    uint64_t snap_seq = n ? n->seq : 0;
    uint64_t snap_dirop = ff.dirop_seq + 1;
    long delay_us = 0;
    if (ff.sync_delay_ms > 0 && (!n || n->content) &&
        !(ff.skip[0] && strstr(n ? n->path : dir, ff.skip)))
        delay_us =
            ff.sync_delay_ms * 500 + (long)(rng_next() % (uint64_t)(ff.sync_delay_ms * 1000 + 1));
    pthread_mutex_unlock(&ff.mu);
    /* The writes that count are those before the fsync started (snapshot
     * above); the delay only widens the window in which more arrive. */
    if (delay_us > 0) usleep((useconds_t)delay_us);

    int rc = data_only ? REAL(fdatasync)(fd) : REAL(fsync)(fd);
    err = errno;

    pthread_mutex_lock(&ff.mu); /* blocks for good once a cut has started */
    if (ff.debug)
        ff_log("debug sync fd=%d %s rc=%d size=%lld", fd, n ? n->path : dir, rc,
               (long long)snap_size);
    if (rc == 0) {
        if (n && e->ino == n) {
            n->synced = snap_size;
            free_undo(n, snap_seq);
        }
        if (kind == FD_DIR) dirops_commit(dir, snap_dirop);
    }
    pthread_mutex_unlock(&ff.mu);
    errno = err;
    return rc;
}

int fsync(int fd)
{
    return do_sync(fd, false);
}

int fdatasync(int fd)
{
    return do_sync(fd, true);
}

/* ---- wrappers: directory operations ---------------------------------------------- */

/* Keeps the file at path alive under a stash name so a cut can put it back.
 * Returns false (and logs) when it cannot. */
static bool stash_link(const char *path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%llu", ff.stash_dir, (unsigned long long)++ff.stash_seq);
    if (n < 0 || (size_t)n >= cap) {
        ff_log("unmodeled: stash path too long for %s", path);
        out[0] = 0;
        return false;
    }
    /* The data directory may not have existed when the shim started. */
    (void)REAL(mkdir)(ff.stash_dir, 0755);
    if (link(path, out) == 0) return true;
    ff_log("unmodeled: cannot keep %s for undo: %s", path, strerror(errno));
    out[0] = 0;
    return false;
}

static int do_rename(int ofd, const char *from, int nfd, const char *to, bool at)
{
    char af[FF_PATH_MAX], at_[FF_PATH_MAX];
    if (!ff.on || !abs_path(at ? ofd : AT_FDCWD, from, af, sizeof af) ||
        !abs_path(at ? nfd : AT_FDCWD, to, at_, sizeof at_) || (!under_dir(af) && !under_dir(at_)))
        return at ? REAL(renameat)(ofd, from, nfd, to) : REAL(rename)(from, to);
    pthread_mutex_lock(&ff.mu);
    dirop *d = calloc(1, sizeof *d);
    struct stat st;
    if (d && stat(at_, &st) == 0 && S_ISREG(st.st_mode))
        (void)stash_link(at_, d->stash, sizeof d->stash);
    int rc = at ? REAL(renameat)(ofd, from, nfd, to) : REAL(rename)(from, to);
    int err = errno;
    if (d && rc == 0) {
        d->kind = DOP_RENAME;
        d->seq = ++ff.dirop_seq;
        snprintf(d->path, sizeof d->path, "%s", at_);
        snprintf(d->from, sizeof d->from, "%s", af);
        parent_of(at_, d->parent, sizeof d->parent);
        d->prev = ff.dirops;
        ff.dirops = d;
        for (inode *n = ff.inodes; n; n = n->next)
            if (strcmp(n->path, af) == 0) snprintf(n->path, sizeof n->path, "%s", at_);
    } else if (d) {
        if (d->stash[0]) (void)REAL(unlink)(d->stash);
        free(d);
    }
    pthread_mutex_unlock(&ff.mu);
    errno = err;
    return rc;
}

int rename(const char *from, const char *to)
{
    return do_rename(AT_FDCWD, from, AT_FDCWD, to, false);
}

int renameat(int ofd, const char *from, int nfd, const char *to)
{
    return do_rename(ofd, from, nfd, to, true);
}

static int do_unlink(int dirfd, const char *path, int flags, bool at)
{
    char ap[FF_PATH_MAX];
    if (!ff.on || (flags & AT_REMOVEDIR) || !abs_path(at ? dirfd : AT_FDCWD, path, ap, sizeof ap) ||
        !under_dir(ap))
        return at ? REAL(unlinkat)(dirfd, path, flags) : REAL(unlink)(path);
    pthread_mutex_lock(&ff.mu);
    struct stat st;
    dirop *d = NULL;
    if (stat(ap, &st) == 0 && S_ISREG(st.st_mode)) {
        d = calloc(1, sizeof *d);
        if (d && !stash_link(ap, d->stash, sizeof d->stash)) {
            free(d);
            d = NULL;
        }
    }
    int rc = at ? REAL(unlinkat)(dirfd, path, flags) : REAL(unlink)(path);
    int err = errno;
    if (rc == 0 && d) {
        /* The inode lives on through the stash link, with its model. */
        d->kind = DOP_UNLINK;
        d->seq = ++ff.dirop_seq;
        snprintf(d->path, sizeof d->path, "%s", ap);
        parent_of(ap, d->parent, sizeof d->parent);
        d->prev = ff.dirops;
        ff.dirops = d;
    } else if (d) {
        (void)REAL(unlink)(d->stash);
        free(d);
    }
    pthread_mutex_unlock(&ff.mu);
    errno = err;
    return rc;
}

int unlink(const char *path)
{
    return do_unlink(AT_FDCWD, path, 0, false);
}

int unlinkat(int dirfd, const char *path, int flags)
{
    return do_unlink(dirfd, path, flags, true);
}

int mkdir(const char *path, mode_t mode)
{
    char ap[FF_PATH_MAX];
    if (!ff.on || !abs_path(AT_FDCWD, path, ap, sizeof ap) || !under_dir(ap) ||
        strcmp(ap, ff.dir) == 0)
        return REAL(mkdir)(path, mode);
    pthread_mutex_lock(&ff.mu);
    int rc = REAL(mkdir)(path, mode);
    int err = errno;
    if (rc == 0) dirop_push(DOP_MKDIR, ap, NULL);
    pthread_mutex_unlock(&ff.mu);
    errno = err;
    return rc;
}
