"""Raw protocol requests for the chaos tests: exact bytes a library would
never send on its own schedule (the same idempotent batch twice, on two
connections, while the first is still waiting for its fsync). Encoding and
framing come from the integration tests' kproto; this adds only the split of
a request from its response, so a test can send and read back later.
InitProducerId v0, Produce v3, record batch v2."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import kproto  # noqa: E402


def record_batch(values, producer_id=-1, producer_epoch=-1, base_sequence=-1, timestamp_ms=None):
    """An uncompressed magic-2 batch holding the given byte-string values."""
    return kproto.batch(values, base_ts=timestamp_ms, producer_id=producer_id,
                        producer_epoch=producer_epoch, base_sequence=base_sequence)


class Conn(kproto.Conn):
    def __init__(self, host, port, timeout=60.0):
        assert host == "127.0.0.1", "tests talk to loopback only"
        super().__init__(port, timeout)

    def send_request(self, api_key, version, body):
        """Sends a request (header v1); returns its correlation id."""
        self.corr += 1
        self.send(kproto.request(api_key, version, self.corr, body, client_id="chaos-raw"))
        return self.corr

    def receive(self, corr):
        """The body of the response to `corr` (responses come in order)."""
        frame = self.recv_frame()
        if frame is None:
            raise ConnectionError("connection closed by the broker")
        r = kproto.Reader(frame)
        got = r.i32()
        if got != corr:
            raise AssertionError("correlation id %d, expected %d" % (got, corr))
        return frame[4:]

    def init_producer_id(self):
        """InitProducerId v0 without a transactional id -> (error, pid, epoch)."""
        corr = self.send_request(22, 0, kproto.string(None) + kproto.i32(60000))
        r = kproto.Reader(self.receive(corr))
        r.i32()  # throttle
        return r.i16(), r.i64(), r.i16()

    def send_produce(self, topic, partition, batch, acks=-1, timeout_ms=60000):
        return self.send_request(0, 3, kproto.produce_body(topic, partition, batch, acks, timeout_ms))

    def receive_produce(self, corr):
        """-> (error code, base offset) of the single partition produced to."""
        (_topic, _partition, err, base), = kproto.parse_produce_v3(self.receive(corr))
        return err, base
