/* The default file-I/O table of the log module: plain syscalls. Tests swap
 * in their own table (sl_logdir_options.io) to inject failures. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"
#include "log/internal.h"

static int io_open(void *ctx, const char *path, int flags, int mode)
{
    (void)ctx;
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

static ssize_t io_pwrite(void *ctx, int fd, const void *buf, size_t n, int64_t off)
{
    (void)ctx;
    return pwrite(fd, buf, n, (off_t)off);
}

static ssize_t io_pread(void *ctx, int fd, void *buf, size_t n, int64_t off)
{
    (void)ctx;
    return pread(fd, buf, n, (off_t)off);
}

static int io_fsync(void *ctx, int fd, bool data_only)
{
    (void)ctx;
    return data_only ? fdatasync(fd) : fsync(fd);
}

static int io_ftruncate(void *ctx, int fd, int64_t len)
{
    (void)ctx;
    return ftruncate(fd, (off_t)len);
}

static int io_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path);
}

static int io_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to);
}

static int64_t io_now_ms(void *ctx)
{
    (void)ctx;
    return sl_wall_ms();
}

static const sl_log_io default_io = {
    .ctx = NULL,
    .open = io_open,
    .pwrite = io_pwrite,
    .pread = io_pread,
    .fsync = io_fsync,
    .ftruncate = io_ftruncate,
    .unlink = io_unlink,
    .rename = io_rename,
    .now_ms = io_now_ms,
};

const sl_log_io *sl_log_io_default(void)
{
    return &default_io;
}

int sl_log_fsync_dir(const sl_log_io *io, const char *path)
{
    int fd = io->open(io->ctx, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return -1;
    int rc = io->fsync(io->ctx, fd, false);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}
