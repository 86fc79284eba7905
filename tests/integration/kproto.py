"""A tiny Kafka wire-protocol encoder/decoder for tests that must send
requests no client would send (bad frames, corrupt batches) or check
protocol details directly. Only non-flexible request versions are built here,
so every field is a fixed-width integer, an int16-length string or an
int32-length byte array."""
import socket
import struct
import time


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def nbytes(b):
    return i32(-1) if b is None else i32(len(b)) + b


def array(items):
    return i32(len(items)) + b"".join(items)


def uvarint(v):
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def compact_string(s):
    """Flexible-version string: unsigned varint length + 1 (0 = null)."""
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def compact_array(items):
    return uvarint(len(items) + 1) + b"".join(items)


TAGS = b"\0"  # an empty tagged-field section


def varint(v):
    v = (v << 1) ^ (v >> 63)  # zigzag
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def record(offset_delta, key, value, headers=(), ts_delta=0):
    body = (i8(0) + varint(ts_delta) + varint(offset_delta) +
            (varint(-1) if key is None else varint(len(key)) + key) +
            (varint(-1) if value is None else varint(len(value)) + value) +
            varint(len(headers)) +
            b"".join(varint(len(k)) + k + varint(len(v)) + v for k, v in headers))
    return varint(len(body)) + body


def batch(values, base_ts=None, producer_id=-1, producer_epoch=-1, base_sequence=-1,
          last_offset_delta=None, count=None, attributes=0, records=None):
    """A record batch (magic 2) with one record per value. last_offset_delta /
    count / records (the bytes after the header, e.g. compressed) override
    the computed fields to build bad batches; the CRC is computed over
    whatever was built."""
    ts = int(time.time() * 1000) if base_ts is None else base_ts
    recs = b"".join(record(i, None, v) for i, v in enumerate(values))
    if records is not None:
        recs = records(recs) if callable(records) else records
    n = len(values)
    lod = n - 1 if last_offset_delta is None else last_offset_delta
    after_crc = (i16(attributes) + i32(lod) + i64(ts) + i64(ts) + i64(producer_id) +
                 i16(producer_epoch) + i32(base_sequence) + i32(n if count is None else count) +
                 recs)
    crc = crc32c(after_crc)
    rest = i32(0) + i8(2) + struct.pack(">I", crc) + after_crc  # leader epoch, magic, crc
    return i64(0) + i32(len(rest)) + rest


def request(api_key, version, correlation_id, body, client_id="sluice-raw", flexible=False):
    """A whole frame: size, request header v1 (v2 with an empty tagged-field
    section when flexible), body."""
    payload = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    payload += (TAGS if flexible else b"") + body
    return i32(len(payload)) + payload


def produce_body(topic, partition, records, acks=-1, timeout_ms=10000):
    """Produce v3-v8 body (the layout is the same across those versions)."""
    return (string(None) + i16(acks) + i32(timeout_ms) +
            array([string(topic) + array([i32(partition) + nbytes(records)])]))


class Conn:
    """One raw connection to the broker."""

    def __init__(self, port, timeout=30.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.corr = 0

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def call(self, api_key, version, body, flexible=False):
        """Sends a request, returns the response body (after the header;
        flexible responses have header v1: an empty tagged-field section)."""
        self.corr += 1
        self.send(request(api_key, version, self.corr, body, flexible=flexible))
        resp = self.recv_frame()
        assert resp is not None, "connection closed instead of a response"
        corr, = struct.unpack_from(">i", resp, 0)
        assert corr == self.corr, "correlation id %d, expected %d" % (corr, self.corr)
        if flexible:
            assert resp[4] == 0, "unexpected tagged fields in the response header"
            return resp[5:]
        return resp[4:]

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def recv_frame(self):
        head = self._recv_exact(4)
        if head is None:
            return None
        n, = struct.unpack(">i", head)
        return self._recv_exact(n)

    def closed_by_peer(self):
        """True once the broker closed the connection (EOF or reset)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


class Reader:
    """Sequential decoder of a response body."""

    def __init__(self, data):
        self.d = data
        self.o = 0

    def _take(self, fmt):
        v, = struct.unpack_from(fmt, self.d, self.o)
        self.o += struct.calcsize(fmt)
        return v

    def i8(self):
        return self._take(">b")

    def i16(self):
        return self._take(">h")

    def i32(self):
        return self._take(">i")

    def i64(self):
        return self._take(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.d[self.o:self.o + n].decode()
        self.o += n
        return s

    def uvarint(self):
        shift = v = 0
        while True:
            b = self.d[self.o]
            self.o += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    def compact_string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.d[self.o:self.o + n].decode()
        self.o += n
        return s

    def compact_count(self):
        return self.uvarint() - 1

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.o += self.uvarint()

    def bytes(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.d[self.o:self.o + n]
        self.o += n
        return b


def api_versions(port):
    """{api_key: (min, max)} from an ApiVersions v0 request."""
    c = Conn(port)
    try:
        r = Reader(c.call(18, 0, b""))
        err = r.i16()
        assert err == 0, "ApiVersions error %d" % err
        out = {}
        for _ in range(r.i32()):
            k, lo, hi = r.i16(), r.i16(), r.i16()
            out[k] = (lo, hi)
        return out
    finally:
        c.close()


def parse_produce_v3(body):
    """[(topic, partition, error, base_offset)] of a Produce v3 response."""
    r = Reader(body)
    out = []
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p, err, base, _log_append = r.i32(), r.i16(), r.i64(), r.i64()
            out.append((topic, p, err, base))
    return out
