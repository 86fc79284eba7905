/* libFuzzer target for the recovery scanner and the offline dumper.
 *
 * The input becomes the only segment (base offset 0) of a partition that is
 * opened without a clean-shutdown marker or checkpoint, so recovery scans it
 * completely. Invariants checked (abort on violation):
 *  - recovery never fails on bad data (only I/O errors may fail it);
 *  - the recovered .log is a prefix of the input and verifies clean with the
 *    dumper, and so do the rebuilt .index and .timeindex;
 *  - every offset below the log end is readable, and a second recovery of
 *    the recovered partition changes nothing.
 * The input is also fed to the dumper as a .log, .index and .timeindex.
 * fsync is a no-op here: the disk is not under test, the parsing is. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "log/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[256];
static uv_loop_t loop;
static sl_log_io io;
static FILE *devnull;

static int nofsync(void *ctx, int fd, bool data_only)
{
    (void)ctx, (void)fd, (void)data_only;
    return 0;
}

static void cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", root);
}

static void init_once(void)
{
    if (root[0]) return;
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/sl-fuzz-recovery-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(root)) abort();
    atexit(cleanup);
    uv_loop_init(&loop);
    io = *sl_log_io_default();
    io.fsync = nofsync;
    devnull = fopen("/dev/null", "w");
    sl_log_set_level(SL_LOG_OFF);
}

static void put(const char *path, const uint8_t *d, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) abort();
    if (n && write(fd, d, n) != (ssize_t)n) abort();
    close(fd);
}

static void rm_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == 0 || e->d_name[1] == '.')) continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_dir(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(path);
}

static int64_t recover_once(const char *dir, int64_t *size)
{
    sl_logdir_options o;
    sl_logdir_options_default(&o);
    o.io = &io;
    sl_logdir *d;
    if (sl_logdir_open(&loop, dir, &o, &d) != 0) abort();
    sl_plog *l = sl_logdir_find(d, "t", 0);
    if (!l) abort();
    int64_t end = sl_plog_log_end(l);
    *size = sl_plog_size_bytes(l);
    for (int64_t off = 0; off < end; off++) {
        sl_log_read r;
        if (sl_plog_read(l, off, 1, INT64_MAX, &r) != 0 || r.len <= 0 || r.first_offset > off ||
            r.next_offset <= off)
            abort();
        off = r.next_offset - 1;
        sl_fileref_unref(r.file);
    }
    int64_t o2, ts;
    (void)sl_plog_max_timestamp(l, &o2, &ts);
    (void)sl_plog_offset_for_timestamp(l, 0, &o2, &ts);
    sl_logdir_close_unclean(d);
    uv_run(&loop, UV_RUN_DEFAULT);
    return end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    char dir[300], pdir[320], p[400];
    snprintf(dir, sizeof dir, "%s/d", root);
    snprintf(pdir, sizeof pdir, "%s/t-0", dir);
    mkdir(dir, 0755);
    mkdir(pdir, 0755);

    /* the dumper over the raw input as each file kind */
    static const char *const exts[] = {"log", "index", "timeindex"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/x.%s", root, exts[i]);
        put(p, data, size);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/x.%s", root, exts[i]);
        (void)sl_log_dump_file(p, true, devnull);
    }

    snprintf(p, sizeof p, "%s/%020d.log", pdir, 0);
    put(p, data, size);
    int64_t size1, size2;
    int64_t end1 = recover_once(dir, &size1);
    if (size1 < 0 || (uint64_t)size1 > size) abort();
    /* the kept bytes are the input's prefix */
    int fd = open(p, O_RDONLY);
    uint8_t buf[4096];
    for (int64_t off = 0; off < size1;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r <= 0 || memcmp(buf, data + off, (size_t)r) != 0) abort();
        off += r;
    }
    close(fd);
    static const char *const names[] = {"log", "index", "timeindex"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%020d.%s", pdir, 0, names[i]);
        if (sl_log_dump_file(p, true, devnull) != 0) abort();
    }
    int64_t end2 = recover_once(dir, &size2);
    if (end2 != end1 || size2 != size1) abort();
    rm_dir(dir);
    return 0;
}
