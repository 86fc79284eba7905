/* Plain TCP transport: the syscalls behind the sl_transport seam. */
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include "net/internal.h"

static ssize_t tcp_recv(sl_conn *c, void *buf, size_t len)
{
    return recv(c->fd, buf, len, 0);
}

static ssize_t tcp_sendv(sl_conn *c, const struct iovec *iov, int iovcnt, int more)
{
    struct msghdr mh = {0};
    mh.msg_iov = (struct iovec *)iov;
    mh.msg_iovlen = (size_t)iovcnt;
    return sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
}

static ssize_t tcp_sendfile(sl_conn *c, int in_fd, int64_t *pos, size_t len)
{
    off_t off = (off_t)*pos;
    ssize_t n = sendfile(c->fd, in_fd, &off, len);
    if (n > 0) *pos = (int64_t)off;
    return n;
}

static size_t tcp_readable(sl_conn *c)
{
    int n = 0;
    if (ioctl(c->fd, FIONREAD, &n) < 0 || n < 0) return 0;
    return (size_t)n;
}

const sl_transport sl_transport_tcp = {
    .name = "tcp",
    .recv = tcp_recv,
    .sendv = tcp_sendv,
    .sendfile = tcp_sendfile,
    .readable = tcp_readable,
};
