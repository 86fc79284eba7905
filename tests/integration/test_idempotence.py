"""Idempotent producer (librdkafka, enable.idempotence=true) against
connection loss and broker restarts: every message is stored exactly once,
in order, with no gap.

All client traffic runs through a small TCP proxy in this file (the broker
advertises the proxy's address), which can cut every connection at chosen
points of the client's byte stream — alternately inside a request frame, and
at the broker's next response, so the broker has appended a batch whose
acknowledgement never arrives and the producer must retry it — or swallow
the broker's responses."""
import socket
import threading

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kclients import confluent_read, segment_batches, wait_until
from kproto import Conn, Reader, batch, i32, parse_produce_v3, produce_body, string
from sltest import free_port


class Proxy:
    """Forwards 127.0.0.1:<port> to the broker, one thread per direction."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = set()
        self.client_bytes = 0  # bytes forwarded client -> broker
        self.drop_points = []  # client_bytes values at which to cut everything
        self.drops = 0
        self.hold_responses = False  # swallow broker -> client bytes
        self.drop_on_response = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.lsock.close()
        self.drop_all()

    def drop_all(self):
        with self.lock:
            pairs, self.pairs = self.pairs, set()
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                s.settimeout(None)
            except OSError:
                c.close()  # broker down: the client sees a refused/closed connection
                continue
            pair = (c, s)
            with self.lock:
                self.pairs.add(pair)
            threading.Thread(target=self._pump, args=(c, s, pair, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, pair, False), daemon=True).start()

    def _pump(self, src, dst, pair, to_broker):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not to_broker:
                    with self.lock:
                        drop, self.drop_on_response = self.drop_on_response, False
                    if drop:
                        self.drop_all()  # that response is lost
                        return
                    if not self.hold_responses:
                        dst.sendall(data)
                    continue
                cut = None
                with self.lock:
                    if self.drop_points and self.client_bytes + len(data) >= self.drop_points[0]:
                        point = self.drop_points.pop(0)
                        if self.drops % 2 == 0:
                            cut = point - self.client_bytes  # tear a request frame
                        else:
                            # The broker handles what it got; its next
                            # response is dropped with the connections.
                            self.drop_on_response = True
                        self.drops += 1
                    self.client_bytes += len(data)
                if cut is not None:
                    dst.sendall(data[:cut])
                    self.drop_all()
                    return
                dst.sendall(data)
        except OSError:
            pass
        with self.lock:
            self.pairs.discard(pair)
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def proxied(broker_factory):
    """A broker whose advertised address is a proxy in front of it."""
    port = free_port()
    proxy = Proxy(port)
    b = broker_factory("--advertised.listeners=PLAINTEXT://127.0.0.1:%d" % proxy.port, port=port)
    b.start()
    yield b, proxy
    proxy.close()
    if b.running():
        b.stop_clean()


def idempotent_producer(bootstrap):
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 5, "message.timeout.ms": 180000, "request.timeout.ms": 10000,
                  "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                  "error_cb": lambda e: errors.append(e)})
    return p, errors


def value(i):
    return b"msg-%07d" % i + b"-" * (50 + i % 100)  # ~120 bytes a record on the wire


def check_exactly_once(bootstrap, topic, npart, total):
    got = confluent_read(bootstrap, topic, range(npart))
    for part in range(npart):
        vals = [r[2] for r in got[part]]
        want = [value(i) for i in range(part, total, npart)]
        if vals != want:
            dup = len(vals) - len(set(vals))
            missing = len(set(want) - set(vals))
            raise AssertionError("partition %d: %d records, %d expected; %d duplicates, %d missing"
                                 % (part, len(vals), len(want), dup, missing))


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(60)


def test_connection_drops_mid_stream(proxied):
    b, proxy = proxied
    bootstrap = "127.0.0.1:%d" % proxy.port
    create_topic(bootstrap, "idem", 2)
    total = 50000
    # About 6 MB go to the broker: cut all connections 8 times in the first 4.5 MB.
    start = proxy.client_bytes
    proxy.drop_points = [start + 300000 + k * 600000 for k in range(8)]
    p, errors = idempotent_producer(bootstrap)
    delivered, failed = [], []

    def on_delivery(err, msg):
        (failed if err else delivered).append(err or msg.offset())

    for i in range(total):
        while True:
            try:
                p.produce("idem", value=value(i), partition=i % 2, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(180) == 0, "messages still queued"
    assert not failed, failed[:5]
    assert len(delivered) == total
    assert proxy.drops == 8, "only %d connection drops happened" % proxy.drops
    fatal = [e for e in errors if e.fatal()]
    assert not fatal, fatal
    check_exactly_once(bootstrap, "idem", 2, total)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_restart_between_sends_keeps_producer_state(proxied, how):
    """The same producer sends before and after broker restarts. In the
    middle round its acknowledgements are swallowed, so after the restart it
    resends batches the broker already stored: only the producer state
    recovered from disk tells the broker they are duplicates."""
    b, proxy = proxied
    bootstrap = "127.0.0.1:%d" % proxy.port
    create_topic(bootstrap, "idem", 1)
    p, errors = idempotent_producer(bootstrap)
    failed = []

    def on_delivery(err, msg):
        if err:
            failed.append(err)

    def send(lo, hi):
        for i in range(lo, hi):
            p.produce("idem", value=value(i), partition=0, on_delivery=on_delivery)
        p.poll(0)

    send(0, 1000)
    assert p.flush(60) == 0

    def stored():
        return sum(last - base + 1 for base, last, _ in segment_batches(b.data_dir, "idem", 0))

    def restart():
        if how == "SIGTERM":
            assert b.stop() == 0, b.log_tail()
        else:
            b.kill()
        b.start()

    # Plain restart between sends.
    restart()
    send(1000, 2000)
    assert p.flush(120) == 0

    # Stored but never acknowledged, then a restart: the retries are duplicates.
    proxy.hold_responses = True
    send(2000, 3000)
    wait_until(lambda: stored() >= 3000, 60, "the broker to store the unacknowledged round")
    if how == "SIGTERM":
        assert b.stop() == 0, b.log_tail()
    else:
        b.kill()
    proxy.drop_all()
    proxy.hold_responses = False
    b.start()
    assert p.flush(120) == 0, "messages still queued"
    send(3000, 4000)
    assert p.flush(120) == 0
    assert not failed, failed[:5]
    fatal = [e for e in errors if e.fatal()]
    assert not fatal, fatal
    check_exactly_once(bootstrap, "idem", 1, 4000)
    assert stored() == 4000


# ---- sequence rules over raw requests ----

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47


def init_producer_id(port):
    c = Conn(port)
    try:
        r = Reader(c.call(22, 0, string(None) + i32(60000)))
    finally:
        c.close()
    r.i32()  # throttle
    err, pid, epoch = r.i16(), r.i64(), r.i16()
    assert err == 0, err
    return pid, epoch


def test_sequence_rules(broker):
    create_topic(broker.bootstrap, "seq", 1)
    pid, epoch = init_producer_id(broker.port)
    assert pid >= 0 and epoch >= 0
    assert init_producer_id(broker.port)[0] != pid, "producer ids are unique"
    c = Conn(broker.port)

    def produce(seq, values, ep=epoch, p=pid):
        b = batch(values, producer_id=p, producer_epoch=ep, base_sequence=seq)
        [(_, _, err, base)] = parse_produce_v3(c.call(0, 3, produce_body("seq", 0, b)))
        return err, base

    try:
        assert produce(0, [b"a", b"b"]) == (0, 0)  # sequences 0-1
        assert produce(2, [b"c"]) == (0, 2)
        # A retry of a stored batch is answered with its original offset.
        assert produce(0, [b"a", b"b"]) == (0, 0)
        assert produce(2, [b"c"]) == (0, 2)
        # A gap, or an overlap that is not a whole stored batch, is out of order.
        assert produce(5, [b"x"])[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert produce(1, [b"x", b"y"])[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert produce(3, [b"d"]) == (0, 3)
        # A new epoch must start at sequence 0; then the old one is fenced.
        assert produce(4, [b"x"], ep=epoch + 1)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert produce(0, [b"e"], ep=epoch + 1) == (0, 4)
        assert produce(4, [b"x"], ep=epoch)[0] == INVALID_PRODUCER_EPOCH
        assert produce(1, [b"f"], ep=epoch + 1) == (0, 5)
        # A batch with a producer id must carry a sequence.
        assert produce(-1, [b"x"], ep=epoch + 1)[0] == 87  # INVALID_RECORD
    finally:
        c.close()
    got = confluent_read(broker.bootstrap, "seq", [0])[0]
    assert [r[2] for r in got] == [b"a", b"b", b"c", b"d", b"e", b"f"]
