"""A minimal Kafka protocol client for the chaos tests: just enough to send
exact bytes a library would never send on its own schedule (the same
idempotent batch twice, on two connections, while the first is still
waiting for its fsync). InitProducerId v0, Produce v3, record batch v2.
Standard library only."""
import socket
import struct
import time

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _varint(n):
    z = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def record_batch(values, producer_id=-1, producer_epoch=-1, base_sequence=-1, timestamp_ms=None):
    """An uncompressed magic-2 batch holding the given byte-string values."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    recs = bytearray()
    for i, v in enumerate(values):
        body = bytes([0]) + _varint(0) + _varint(i) + _varint(-1) + _varint(len(v)) + v + _varint(0)
        recs += _varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, ts, ts, producer_id, producer_epoch,
                            base_sequence, len(values)) + bytes(recs)
    crc = crc32c(after_crc)
    tail = struct.pack(">ibI", -1, 2, crc) + after_crc  # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(tail)) + tail


class Conn:
    def __init__(self, host, port, timeout=60.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def send(self, api_key, version, body):
        """Sends a request (header v1); returns its correlation id."""
        self.corr += 1
        hdr = struct.pack(">hhi", api_key, version, self.corr) + _string("chaos-raw")
        frame = hdr + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        return self.corr

    def _read(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return bytes(buf)

    def receive(self, corr):
        """The body of the response to `corr` (responses come in order)."""
        size = struct.unpack(">i", self._read(4))[0]
        frame = self._read(size)
        got = struct.unpack(">i", frame[:4])[0]
        if got != corr:
            raise AssertionError("correlation id %d, expected %d" % (got, corr))
        return frame[4:]

    def init_producer_id(self):
        """InitProducerId v0 without a transactional id -> (error, pid, epoch)."""
        corr = self.send(22, 0, _string(None) + struct.pack(">i", 60000))
        body = self.receive(corr)
        _throttle, err, pid, epoch = struct.unpack(">ihqh", body[:16])
        return err, pid, epoch

    def send_produce(self, topic, partition, batch, acks=-1, timeout_ms=60000):
        body = (_string(None) + struct.pack(">hi", acks, timeout_ms) + struct.pack(">i", 1)
                + _string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition)
                + struct.pack(">i", len(batch)) + batch)
        return self.send(0, 3, body)

    def receive_produce(self, corr):
        """-> (error code, base offset) of the single partition produced to."""
        body = self.receive(corr)
        pos = 4  # topic count
        nlen = struct.unpack(">h", body[pos:pos + 2])[0]
        pos += 2 + nlen + 4  # name, partition count
        _index, err, base = struct.unpack(">ihq", body[pos:pos + 14])
        return err, base
