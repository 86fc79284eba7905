/* Helpers shared by the storage tests (unit and crash): temporary
 * directories, deterministic test batches, and a fault-injecting file-I/O
 * table for the log module. Header-only so each test program stays one file. */
#ifndef SL_TESTS_LOG_TEST_UTIL_H
#define SL_TESTS_LOG_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "log/log.h"
#include "record/builder.h"

static inline char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/sl-log-XXXXXX", base && *base ? base : "/tmp");
    char *p = mkdtemp(tmpl);
    return p ? sl_strdup(p) : NULL;
}

static inline void tu_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char sub[4608];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            int n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            if (n < 0 || (size_t)n >= sizeof sub) continue;
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                tu_rm_rf(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

/* Deterministic value bytes for record i of a batch identified by seed. */
static inline void tu_value(uint8_t *v, int len, uint32_t seed, int i)
{
    uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u + 1;
    for (int k = 0; k < len; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[k] = (uint8_t)x;
    }
}

/* Appends one uncompressed batch of n records (value_len bytes each, record
 * k stamped ts0 + k * ts_step) to out; returns its size. */
static inline size_t tu_batch(sl_buf *out, int n, int value_len, int64_t ts0, int64_t ts_step,
                              uint32_t seed)
{
    sl_batch_opts o;
    sl_batch_opts_default(&o);
    sl_batch_builder b;
    size_t start = out->len;
    sl_batch_builder_begin(&b, out, &o);
    uint8_t *v = sl_malloc(value_len > 0 ? (size_t)value_len : 1);
    for (int i = 0; i < n; i++) {
        tu_value(v, value_len, seed, i);
        sl_batch_builder_add(&b, ts0 + i * ts_step, NULL, -1, v, value_len, NULL, 0);
    }
    sl_free(v);
    int64_t sz = sl_batch_builder_finish(&b);
    (void)sz;
    return out->len - start;
}

/* ---- fault-injecting I/O table -------------------------------------------------- */

typedef struct tu_faults {
    atomic_int pwrite_fail_after; /* -1 = never; else succeed this many more writes */
    atomic_int pwrite_errno;
    atomic_int pwrite_short; /* next failing write first writes half */
    atomic_int fsync_fail;   /* fail every fsync with this errno (0 = no) */
    atomic_long fsync_calls; /* on regular files */
    atomic_long fsync_dir_calls;
    atomic_long pread_bytes;
    atomic_long pwrite_calls;
    atomic_int fsync_delay_us;
    atomic_long now_ms; /* fake wall clock; 0 = real clock */
} tu_faults;

static inline int tu_open(void *ctx, const char *path, int flags, int mode)
{
    (void)ctx;
    return open(path, flags | O_CLOEXEC, mode);
}

static inline ssize_t tu_pwrite(void *ctx, int fd, const void *buf, size_t n, int64_t off)
{
    tu_faults *f = ctx;
    atomic_fetch_add(&f->pwrite_calls, 1);
    int after = atomic_load(&f->pwrite_fail_after);
    if (after == 0) {
        if (atomic_load(&f->pwrite_short) && n > 1) {
            atomic_store(&f->pwrite_short, 0);
            return pwrite(fd, buf, n / 2, (off_t)off);
        }
        errno = atomic_load(&f->pwrite_errno);
        return -1;
    }
    if (after > 0) atomic_fetch_sub(&f->pwrite_fail_after, 1);
    return pwrite(fd, buf, n, (off_t)off);
}

static inline ssize_t tu_pread(void *ctx, int fd, void *buf, size_t n, int64_t off)
{
    tu_faults *f = ctx;
    ssize_t r = pread(fd, buf, n, (off_t)off);
    if (r > 0) atomic_fetch_add(&f->pread_bytes, r);
    return r;
}

static inline int tu_fsync(void *ctx, int fd, bool data_only)
{
    tu_faults *f = ctx;
    struct stat st;
    bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    atomic_fetch_add(dir ? &f->fsync_dir_calls : &f->fsync_calls, 1);
    int us = atomic_load(&f->fsync_delay_us);
    if (us > 0) usleep((useconds_t)us);
    int e = atomic_load(&f->fsync_fail);
    if (e) {
        errno = e;
        return -1;
    }
    return data_only ? fdatasync(fd) : fsync(fd);
}

static inline int tu_ftruncate(void *ctx, int fd, int64_t len)
{
    (void)ctx;
    return ftruncate(fd, (off_t)len);
}
static inline int tu_unlink(void *ctx, const char *p)
{
    (void)ctx;
    return unlink(p);
}
static inline int tu_rename(void *ctx, const char *a, const char *b)
{
    (void)ctx;
    return rename(a, b);
}
static inline int64_t tu_now(void *ctx)
{
    tu_faults *f = ctx;
    long v = atomic_load(&f->now_ms);
    return v ? v : sl_log_io_default()->now_ms(NULL);
}

static inline void tu_faults_init(tu_faults *f, sl_log_io *io)
{
    memset(f, 0, sizeof *f);
    atomic_store(&f->pwrite_fail_after, -1);
    atomic_store(&f->pwrite_errno, EIO);
    io->ctx = f;
    io->open = tu_open;
    io->pwrite = tu_pwrite;
    io->pread = tu_pread;
    io->fsync = tu_fsync;
    io->ftruncate = tu_ftruncate;
    io->unlink = tu_unlink;
    io->rename = tu_rename;
    io->now_ms = tu_now;
}

static inline int64_t tu_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static inline char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = sl_malloc((size_t)n + 1);
    size_t got = fread(p, 1, (size_t)n, f);
    fclose(f);
    p[got] = 0;
    if (len) *len = got;
    return p;
}

#endif
