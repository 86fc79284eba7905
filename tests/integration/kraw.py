"""A minimal raw Kafka protocol client for tests that need requests real
clients do not send (OffsetDelete), or need to behave badly on purpose (join a
group and then go silent). Only non-flexible request versions are used, so
every field is plain big-endian. Standard library only."""
import socket
import struct


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("response truncated at %d (+%d of %d)" % (self.pos, n, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes_(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, fn):
        n = self.i32()
        return [] if n < 0 else [fn(self) for _ in range(n)]

    def done(self):
        return self.pos == len(self.data)


def s16(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def b32(b):
    if b is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(b)) + b


def arr(items):
    return struct.pack(">i", len(items)) + b"".join(items)


def subscription(topics):
    """ConsumerProtocolSubscription v0."""
    return struct.pack(">h", 0) + arr([s16(t) for t in topics]) + b32(None)


def assignment(parts):
    """ConsumerProtocolAssignment v0 from {topic: [partitions]}."""
    return struct.pack(">h", 0) + arr(
        [s16(t) + arr([struct.pack(">i", p) for p in ps]) for t, ps in sorted(parts.items())]
    ) + b32(None)


def parse_assignment(b):
    """{topic: [partitions]} from ConsumerProtocolAssignment bytes."""
    if not b:
        return {}
    r = Reader(b)
    r.i16()
    return dict(r.array(lambda r: (r.string(), r.array(lambda r: r.i32()))))


class Conn:
    def __init__(self, bootstrap, client_id="kraw", timeout=30.0):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.client_id = client_id
        self.correlation = 0

    def close(self):
        self.sock.close()

    def _recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            out += chunk
        return out

    def send(self, api_key, version, body):
        self.correlation += 1
        hdr = struct.pack(">hhi", api_key, version, self.correlation) + s16(self.client_id)
        msg = hdr + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        return self.correlation

    def receive(self, correlation):
        size = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(size)
        got = struct.unpack(">i", data[:4])[0]
        if got != correlation:
            raise AssertionError("response for correlation id %d, expected %d" % (got, correlation))
        return Reader(data[4:])

    def request(self, api_key, version, body):
        return self.receive(self.send(api_key, version, body))

    # ---- APIs (fixed non-flexible versions)

    def find_coordinator(self, group):
        r = self.request(10, 2, s16(group) + struct.pack(">b", 0))
        r.i32()
        err = r.i16()
        r.string()
        return err, r.i32(), r.string(), r.i32()

    def send_join_group(self, group, member_id="", instance_id=None, session_ms=6000,
                        rebalance_ms=10000, topics=("t",), protocols=("range",)):
        """Sends JoinGroup v5 without waiting; returns the correlation id for
        receive_join_group."""
        meta = subscription(list(topics))
        body = (s16(group) + struct.pack(">ii", session_ms, rebalance_ms) + s16(member_id)
                + s16(instance_id) + s16("consumer")
                + arr([s16(p) + b32(meta) for p in protocols]))
        return self.send(11, 5, body)

    def join_group(self, group, **kw):
        """JoinGroup v5. Returns a dict with error, generation, protocol,
        leader, member_id, members [(id, instance, metadata)]."""
        return self.receive_join_group(self.send_join_group(group, **kw))

    def receive_join_group(self, correlation):
        r = self.receive(correlation)
        r.i32()
        out = {"error": r.i16(), "generation": r.i32(), "protocol": r.string(),
               "leader": r.string(), "member_id": r.string()}
        out["members"] = r.array(lambda r: (r.string(), r.string(), r.bytes_()))
        return out

    def sync_group(self, group, generation, member_id, assignments=None, instance_id=None):
        """SyncGroup v3; assignments {member_id: bytes}. Returns (error, bytes)."""
        items = [s16(m) + b32(a) for m, a in sorted((assignments or {}).items())]
        body = (s16(group) + struct.pack(">i", generation) + s16(member_id) + s16(instance_id)
                + arr(items))
        r = self.request(14, 3, body)
        r.i32()
        return r.i16(), r.bytes_()

    def heartbeat(self, group, generation, member_id, instance_id=None):
        r = self.request(12, 3, s16(group) + struct.pack(">i", generation) + s16(member_id)
                         + s16(instance_id))
        r.i32()
        return r.i16()

    def offset_delete(self, group, topic, partitions):
        """OffsetDelete v0: (error, {partition: error})."""
        body = s16(group) + arr([s16(topic) + arr([struct.pack(">i", p) for p in partitions])])
        r = self.request(47, 0, body)
        err = r.i16()
        r.i32()
        topics = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16()))))
        assert r.done()
        parts = {}
        for _, ps in topics:
            parts.update(dict(ps))
        return err, parts

    def offset_fetch(self, group, topic, partitions):
        """OffsetFetch v5: {partition: committed offset}."""
        body = s16(group) + arr([s16(topic) + arr([struct.pack(">i", p) for p in partitions])])
        r = self.request(9, 5, body)
        r.i32()
        out = {}
        for _, ps in r.array(lambda r: (r.string(), r.array(
                lambda r: (r.i32(), r.i64(), r.i32(), r.string(), r.i16())))):
            for p, off, _epoch, _md, err in ps:
                assert err == 0, err
                out[p] = off
        assert r.i16() == 0
        return out
