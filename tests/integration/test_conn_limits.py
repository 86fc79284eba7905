"""Connection limits of the real broker process: 1,000 idle connections and
1,000 half-open ones (each sent part of a frame) cost a bounded amount of
memory, measured as the sluiced process's VmRSS growth per connection;
max.connections, max.connections.per.ip and its per-address overrides are
enforced end to end, and the broker raised its open-file limit to serve
2,000 clients. The numbers are printed (pytest -s) and documented in
docs/hostile-input.md."""
import os
import resource
import socket
import struct
import time

import pytest

from kclients import wait_until
from kproto import Conn, Reader, request
from sltest import Broker

# Per-connection RSS bound. The test broker runs with ASan (every allocation
# gets redzones; the quarantine is kept small below), where an idle
# connection measures a few KiB; the release build is ~1 KiB (see
# docs/hostile-input.md). What this catches is a connection that costs a
# read buffer (64 KiB) or what its peer announced (100 MiB).
IDLE_BOUND = 16 << 10
HALF_OPEN_BOUND = 24 << 10
N = 1000


def asan_env():
    return {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"}


@pytest.fixture
def limits_broker(broker_factory):
    def start(*settings):
        return broker_factory(*settings, env=asan_env()).start()
    return start


def raise_own_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        assert hard == resource.RLIM_INFINITY or hard >= need, \
            "this test needs %d open files; the hard limit is %d" % (need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def server_sockets(port):
    """(state, unread bytes) of every socket whose local port is `port`
    except the listener: the broker's side of its connections, accepted or
    still in the accept queue."""
    out = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port and parts[3] != "0A":
                out.append((parts[3], int(parts[4].split(":")[1], 16)))
    return out


def unread_bytes(port):
    return sum(n for st, n in server_sockets(port) if st == "01")


def no_connections(b):
    """Waits until the broker holds no client connection (the start-up
    probe's included), so that limits count only the test's own."""
    wait_until(lambda: not [st for st, _ in server_sockets(b.port) if st in ("01", "08")], 30,
               "the broker to drop its earlier connections")


def settle(b, fds):
    """Waits until the broker holds `fds` descriptors and has read every
    byte its clients sent, then for its RSS to stop moving."""
    wait_until(lambda: open_fds(b.proc.pid) >= fds, 60,
               "the broker to accept (%d fds, has %d)" % (fds, open_fds(b.proc.pid)))
    wait_until(lambda: unread_bytes(b.port) == 0, 60, "the broker to read what was sent")
    last = b.rss_kib()
    for _ in range(20):
        time.sleep(0.1)
        now = b.rss_kib()
        if now == last:
            break
        last = now
    return last


def half_open_bytes(i):
    """The unit test's mix: a quarter each sends 2 bytes of a size prefix, a
    prefix announcing 100 MiB, 100 MiB announced with 100 bytes of it, and
    1,000 bytes of a 5,000-byte frame."""
    k = i % 4
    if k == 0:
        return b"\0\0"
    if k == 1:
        return struct.pack(">i", 100 << 20)
    if k == 2:
        return struct.pack(">i", 100 << 20) + struct.pack(">hhi", 3, 1, i) + b"\0" * 92
    return struct.pack(">i", 5000) + struct.pack(">hhi", 3, 1, i) + b"\0" * 992


def test_idle_and_half_open_connections_cost_bounded_memory(limits_broker):
    raise_own_fd_limit(2 * N + 200)
    b = limits_broker("--socket.request.max.bytes=%d" % (200 << 20))
    log = b.log_text()
    assert "open file limit" in log, log
    limit = int(log.split("open file limit ")[1].split()[0])
    assert limit >= 2 * N + 100, "sluiced could not raise its open file limit: %d" % limit

    # Warm up: one request through the whole stack, so first-use allocations
    # (pools, the request arena) are not billed to the idle connections.
    c = Conn(b.port)
    assert Reader(c.call(18, 0, b"")).i16() == 0
    c.close()
    fds0 = open_fds(b.proc.pid)
    rss0 = settle(b, fds0)

    idle = [socket.create_connection(("127.0.0.1", b.port)) for _ in range(N)]
    rss1 = settle(b, fds0 + N)
    half = []
    for i in range(N):
        s = socket.create_connection(("127.0.0.1", b.port))
        s.sendall(half_open_bytes(i))
        half.append(s)
    rss2 = settle(b, fds0 + 2 * N)
    per_idle = (rss1 - rss0) * 1024 / N
    per_half = (rss2 - rss1) * 1024 / N
    print("\nRSS %d KiB; +%d idle: %d KiB (%.0f B each); +%d half-open: %d KiB (%.0f B each)" %
          (rss0, N, rss1, per_idle, N, rss2, per_half))
    try:
        assert per_idle < IDLE_BOUND, per_idle
        assert per_half < HALF_OPEN_BOUND, per_half
        # Every one of them is still open, and a new client is served.
        assert open_fds(b.proc.pid) >= fds0 + 2 * N
        c = Conn(b.port)
        assert Reader(c.call(18, 0, b"")).i16() == 0
        c.close()
    finally:
        for s in idle + half:
            s.close()
    # Closing them gives the descriptors back.
    wait_until(lambda: open_fds(b.proc.pid) <= fds0 + 5, 60, "the broker to close them")
    assert b.stop() == 0


def connect_from(port, source_ip):
    s = socket.socket()
    s.bind((source_ip, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    return s


def served(s):
    """True if the broker answers an ApiVersions request on s; False if it
    closed the connection."""
    try:
        s.sendall(request(18, 0, 1, b""))
        head = s.recv(4)
    except (ConnectionResetError, BrokenPipeError):
        return False
    if not head:
        return False
    n, = struct.unpack(">i", head)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk
        data += chunk
    return True


def test_max_connections(limits_broker):
    b = limits_broker("--max.connections=20")
    no_connections(b)
    conns = [connect_from(b.port, "127.0.0.1") for _ in range(20)]
    try:
        assert all(served(s) for s in conns)
        extra = [connect_from(b.port, "127.0.0.1") for _ in range(5)]
        assert not any(served(s) for s in extra)
        for s in extra:
            s.close()
        # A slot freed is a slot available again.
        for s in conns[:3]:
            s.close()
        del conns[:3]

        def one_more():
            s = connect_from(b.port, "127.0.0.1")
            if served(s):
                conns.append(s)
                return True
            s.close()
            return False
        for _ in range(3):
            wait_until(one_more, 30, "a freed slot")
        s = connect_from(b.port, "127.0.0.1")
        assert not served(s)
        s.close()
    finally:
        for s in conns:
            s.close()
    wait_until(lambda: "max.connections=20 reached" in b.log_text(), 30, "the log line")
    assert b.stop() == 0


def test_max_connections_per_ip_and_overrides(limits_broker):
    b = limits_broker("--max.connections.per.ip=4",
                      "--max.connections.per.ip.overrides=127.0.0.2:7,127.0.0.3:0")
    no_connections(b)
    held = []
    try:
        for ip, limit in (("127.0.0.1", 4), ("127.0.0.2", 7), ("127.0.0.4", 4)):
            mine = [connect_from(b.port, ip) for _ in range(limit)]
            held += mine
            assert all(served(s) for s in mine), ip
            s = connect_from(b.port, ip)
            assert not served(s), "connection %d from %s was served" % (limit + 1, ip)
            s.close()
        # An override of 0 refuses that address altogether.
        s = connect_from(b.port, "127.0.0.3")
        assert not served(s)
        s.close()
        # Another address's connections do not count: freeing one slot of
        # 127.0.0.1 admits exactly one more from it.
        held[0].close()
        held.pop(0)

        def one_more():
            s = connect_from(b.port, "127.0.0.1")
            if served(s):
                held.append(s)
                return True
            s.close()
            return False
        wait_until(one_more, 30, "a freed per-IP slot")
    finally:
        for s in held:
            s.close()
    assert "max.connections.per.ip=4 reached" in b.log_text()
    assert b.stop() == 0


def test_bad_per_ip_override_is_refused_at_startup(broker_factory):
    b = broker_factory("--max.connections.per.ip.overrides=localhost:5")
    with pytest.raises(RuntimeError):
        b.start(timeout=30)
    assert "max.connections.per.ip.overrides" in b.log_text(), b.log_text()
