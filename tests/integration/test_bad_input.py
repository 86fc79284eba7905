"""Bad input over raw sockets: every case gets its documented answer (a
closed connection with a log line, or a Kafka error code with nothing
appended), and after each one a normal client (confluent-kafka) still
produces and consumes. One broker serves every case, so damage left behind
by one case shows up in the next."""
import gzip
import struct
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kclients import wait_until
from kproto import (Conn, Reader, array, batch, i8, i16, i32, i64, nbytes, parse_produce_v3,
                    produce_body, record, request, string)
from sltest import Broker

MAX_REQUEST = 1 << 20  # socket.request.max.bytes for this broker
SMALL_MAX_MESSAGE = 2000  # max.message.bytes of topic "small"

CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
UNSUPPORTED_VERSION = 35
INVALID_TIMESTAMP = 32
UNSUPPORTED_COMPRESSION_TYPE = 76
INVALID_RECORD = 87

API_PRODUCE, API_METADATA, API_API_VERSIONS = 0, 3, 18


@pytest.fixture(scope="module")
def broker():
    b = Broker("--socket.request.max.bytes=%d" % MAX_REQUEST).start()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    futs = admin.create_topics([
        NewTopic("raw", 2, 1),
        NewTopic("small", 1, 1, config={"max.message.bytes": str(SMALL_MAX_MESSAGE)}),
        NewTopic("healthy", 1, 1),
        NewTopic("strict-time", 1, 1, config={"message.timestamp.difference.max.ms": "60000"})])
    for f in futs.values():
        f.result(60)
    del admin, futs  # no client left to retry its connection after the broker stops
    yield b
    try:
        b.stop_clean()
    finally:
        b.cleanup()


def high_watermark(broker, topic, partition):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "hw"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)[1]
    finally:
        c.close()


def assert_healthy(broker):
    """A normal client still produces (acks=all) and reads its message back."""
    p = Producer({"bootstrap.servers": broker.bootstrap})
    acked = []
    p.produce("healthy", value=b"still serving",
              on_delivery=lambda err, msg: acked.append((err, msg.offset())))
    assert p.flush(60) == 0
    err, offset = acked[0]
    assert err is None, err
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "healthy",
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition("healthy", 0, offset)])
        m = wait_until(lambda: c.poll(0.5), 60, "the message just produced")
        assert m.error() is None and m.offset() == offset and m.value() == b"still serving"
    finally:
        c.close()


def send_expect_close(broker, data, log_fragment):
    """Sends raw bytes on a new connection; the broker must close it and log
    a (new) line containing log_fragment."""
    before = broker.log_text().count(log_fragment)
    c = Conn(broker.port)
    try:
        c.send(data)
        wait_until(c.closed_by_peer, 30, "the broker to close the connection")
    finally:
        c.close()
    wait_until(lambda: broker.log_text().count(log_fragment) > before, 30,
               "log line %r" % log_fragment)


def produce_v3(broker, topic, partition, records, acks=-1):
    """Sends one Produce v3 request; returns (error, base offset)."""
    c = Conn(broker.port)
    try:
        resp = c.call(API_PRODUCE, 3, produce_body(topic, partition, records, acks=acks))
        [(t, p, err, base)] = parse_produce_v3(resp)
        assert (t, p) == (topic, partition)
        return err, base
    finally:
        c.close()


# ---- framing ----

@pytest.mark.parametrize("size", [0, -1, -2147483648, MAX_REQUEST + 1, 2147483647])
def test_bad_frame_size_closes_connection(broker, size):
    send_expect_close(broker, struct.pack(">i", size) + b"\0" * 16,
                      "frame size %d outside" % size)
    assert_healthy(broker)


def test_frame_at_the_limit_is_read_whole_before_its_error(broker):
    """A frame of exactly socket.request.max.bytes is accepted as a frame
    (then rejected for its content, an unknown API key)."""
    body = struct.pack(">hhi", 1000, 0, 7) + b"\0" * (MAX_REQUEST - 8)
    send_expect_close(broker, struct.pack(">i", MAX_REQUEST) + body,
                      "api=1000 v=0: unknown API key")
    assert_healthy(broker)


@pytest.mark.parametrize("api_key", [4, 1000, -1])
def test_unknown_api_key_closes_connection(broker, api_key):
    send_expect_close(broker, request(api_key, 0, 1, b""), "api=%d v=0: unknown API key" % api_key)
    assert_healthy(broker)


def test_unsupported_version_closes_connection(broker):
    send_expect_close(broker, request(API_METADATA, 99, 1, array([])),
                      "api=3 v=99: unsupported API version")
    assert_healthy(broker)


def test_api_versions_unknown_version_gets_v0_error_body(broker):
    c = Conn(broker.port)
    try:
        c.send(request(API_API_VERSIONS, 99, 42, b"\0" * 8))
        frame = c.recv_frame()
        assert frame is not None, "connection closed"
        r = Reader(frame)
        assert r.i32() == 42  # response header v0: correlation id only
        assert r.i16() == UNSUPPORTED_VERSION
        entries = [(r.i16(), r.i16(), r.i16()) for _ in range(r.i32())]
        assert r.o == len(frame), "a v0 body has nothing after the array"
        assert (API_API_VERSIONS, 0, 4) in entries, entries
        # The connection stays usable: the client retries at a lower version.
        r = Reader(c.call(API_API_VERSIONS, 0, b""))
        assert r.i16() == 0
    finally:
        c.close()
    assert_healthy(broker)


@pytest.mark.parametrize("name,frame,log", [
    ("truncated header", struct.pack(">i", 3) + b"\0\3\0", "request header truncated"),
    ("client id past the frame", struct.pack(">i", 10) + struct.pack(">hhih", 3, 1, 1, 500),
     "api=Metadata v=1 offset=10: truncated"),
    ("topic array without topics", request(API_METADATA, 1, 1, i32(5)),
     "api=Metadata v=1 offset=24: truncated"),
    ("topic name past the frame", request(API_METADATA, 1, 1, i32(1) + i16(1000) + b"abc"),
     "api=Metadata v=1 offset=26: truncated"),
    ("negative array length", request(API_METADATA, 1, 1, i32(-7)),
     "api=Metadata v=1 offset=20: malformed"),
    ("produce body of garbage", request(API_PRODUCE, 3, 1, b"\xff" * 7),
     "api=Produce v=3 offset=24: truncated"),
    ("produce records past the frame",
     request(API_PRODUCE, 3, 1, string(None) + i16(1) + i32(1000) +
             array([string("raw") + array([i32(0) + i32(5000) + b"\0" * 10])])),
     "api=Produce v=3 offset="),
])
def test_malformed_body_closes_connection(broker, name, frame, log):
    send_expect_close(broker, frame, log)
    assert_healthy(broker)


# ---- produce ----

def test_corrupt_crc_is_rejected_and_nothing_appended(broker):
    before = high_watermark(broker, "raw", 0)
    good = batch([b"a", b"b", b"c"])
    bad = bytearray(good)
    bad[17] ^= 0x01  # the CRC field
    assert produce_v3(broker, "raw", 0, bytes(bad))[0] == CORRUPT_MESSAGE
    bad = bytearray(good)
    bad[-1] ^= 0xFF  # record bytes: the CRC no longer matches
    assert produce_v3(broker, "raw", 0, bytes(bad))[0] == CORRUPT_MESSAGE
    assert high_watermark(broker, "raw", 0) == before
    err, base = produce_v3(broker, "raw", 0, good)
    assert (err, base) == (0, before)
    assert high_watermark(broker, "raw", 0) == before + 3
    assert_healthy(broker)


def test_one_bad_partition_does_not_stop_the_other(broker):
    hw0, hw1 = high_watermark(broker, "raw", 0), high_watermark(broker, "raw", 1)
    bad = bytearray(batch([b"x"]))
    bad[17] ^= 0x80
    body = string(None) + i16(-1) + i32(10000) + array([string("raw") + array([
        i32(0) + nbytes(bytes(bad)), i32(1) + nbytes(batch([b"y", b"z"]))])])
    c = Conn(broker.port)
    try:
        res = sorted(parse_produce_v3(c.call(API_PRODUCE, 3, body)))
    finally:
        c.close()
    assert res == [("raw", 0, CORRUPT_MESSAGE, -1), ("raw", 1, 0, hw1)]
    assert high_watermark(broker, "raw", 0) == hw0
    assert high_watermark(broker, "raw", 1) == hw1 + 2


def test_batch_above_max_message_bytes_is_rejected(broker):
    before = high_watermark(broker, "small", 0)
    big = batch([b"x" * (SMALL_MAX_MESSAGE + 100)])
    assert produce_v3(broker, "small", 0, big)[0] == MESSAGE_TOO_LARGE
    assert high_watermark(broker, "small", 0) == before
    assert produce_v3(broker, "small", 0, batch([b"fits"])) == (0, before)
    assert_healthy(broker)


@pytest.mark.parametrize("name,kw", [
    ("last offset delta beyond the records", {"last_offset_delta": 5}),
    ("count above the records", {"count": 4}),
    ("count below the records", {"count": 2, "last_offset_delta": 1}),
    ("zero count", {"count": 0, "last_offset_delta": -1}),
])
def test_count_offset_delta_mismatch_is_invalid_record(broker, name, kw):
    before = high_watermark(broker, "raw", 0)
    assert produce_v3(broker, "raw", 0, batch([b"1", b"2", b"3"], **kw))[0] == INVALID_RECORD
    assert high_watermark(broker, "raw", 0) == before
    assert_healthy(broker)


def zeros_gzip(n):
    """gzip of one record holding n zero bytes: tiny on the wire, n bytes
    once decompressed."""
    rec = record(0, None, b"\0" * n)
    return gzip.compress(rec, compresslevel=1)


@pytest.mark.parametrize("name,records,error", [
    ("null records", None, INVALID_RECORD),
    ("two batches", batch([b"1"]) + batch([b"2"]), INVALID_RECORD),
    ("magic 1", bytes(batch([b"1"])[:16]) + b"\1" + bytes(batch([b"1"])[17:]), INVALID_RECORD),
    ("short", batch([b"1"])[:40], CORRUPT_MESSAGE),
    ("gzip garbage", batch([b"1"], attributes=1, records=b"\x1f\x8b" + b"garbage" * 20),
     CORRUPT_MESSAGE),
    ("zstd below Produce v7", batch([b"1"], attributes=4), UNSUPPORTED_COMPRESSION_TYPE),
    ("codec 5", batch([b"1"], attributes=5), UNSUPPORTED_COMPRESSION_TYPE),
    ("decompresses to 80 MiB", batch([b"1"], attributes=1, records=zeros_gzip(80 << 20)),
     MESSAGE_TOO_LARGE),
    ("far-future timestamp", batch([b"1"], base_ts=int(time.time() * 1000) + 3600000),
     INVALID_TIMESTAMP),
])
def test_bad_batches_are_rejected(broker, name, records, error):
    topic = "strict-time" if error == INVALID_TIMESTAMP else "raw"
    before = high_watermark(broker, topic, 0)
    c = Conn(broker.port)
    try:
        body = string(None) + i16(-1) + i32(10000) + array(
            [string(topic) + array([i32(0) + nbytes(records)])])
        [(_, _, err, _)] = parse_produce_v3(c.call(API_PRODUCE, 3, body))
    finally:
        c.close()
    assert err == error, "%s: error %d, expected %d" % (name, err, error)
    assert high_watermark(broker, topic, 0) == before
    assert_healthy(broker)


@pytest.mark.parametrize("topic,partition", [("no-such-topic", 0), ("raw", 2), ("raw", -1)])
def test_unknown_topic_or_partition(broker, topic, partition):
    assert produce_v3(broker, topic, partition, batch([b"v"]))[0] == UNKNOWN_TOPIC_OR_PARTITION
    assert_healthy(broker)


def test_produce_v2_is_unsupported_version(broker):
    before = high_watermark(broker, "raw", 0)
    body = i16(-1) + i32(10000) + array([string("raw") + array([i32(0) + nbytes(batch([b"v"]))])])
    c = Conn(broker.port)
    try:
        r = Reader(c.call(API_PRODUCE, 2, body))
        assert r.i32() == 1 and r.string() == "raw" and r.i32() == 1
        assert r.i32() == 0  # partition
        assert r.i16() == UNSUPPORTED_VERSION
    finally:
        c.close()
    assert high_watermark(broker, "raw", 0) == before
    assert_healthy(broker)


def test_acks0_success_sends_no_response(broker):
    before = high_watermark(broker, "raw", 0)
    c = Conn(broker.port)
    try:
        c.send(request(API_PRODUCE, 3, 1, produce_body("raw", 0, batch([b"q"]), acks=0)))
        # The next request's answer is the first frame to come back.
        c.corr = 1
        r = Reader(c.call(API_API_VERSIONS, 0, b""))
        assert r.i16() == 0
    finally:
        c.close()
    wait_until(lambda: high_watermark(broker, "raw", 0) == before + 1, 30, "the acks=0 append")


@pytest.mark.parametrize("what", ["unknown partition", "corrupt batch"])
def test_acks0_with_an_error_closes_connection(broker, what):
    before = high_watermark(broker, "raw", 0)
    if what == "unknown partition":
        body = produce_body("raw", 7, batch([b"v"]), acks=0)
    else:
        bad = bytearray(batch([b"v"]))
        bad[17] ^= 0x10
        body = produce_body("raw", 0, bytes(bad), acks=0)
    send_expect_close(broker, request(API_PRODUCE, 3, 1, body), "error in an acks=0 produce")
    assert high_watermark(broker, "raw", 0) == before
    assert_healthy(broker)


# ---- many requests on one connection ----

def fetch_v4_body(topic, partition, offset, max_wait_ms):
    return (i32(-1) + i32(max_wait_ms) + i32(1) + i32(1 << 20) + i8(0) +
            array([string(topic) + array([i32(partition) + i64(offset) + i32(1 << 20)])]))


def test_pipelined_responses_keep_request_order(broker):
    """1,000 requests written back to back without reading: answers come in
    request order, including after long-polling fetches that park while
    later requests are done at once; acks=0 produces get none."""
    hw = high_watermark(broker, "raw", 1)
    frames, expect = [], []
    for corr in range(1, 1001):
        kind = corr % 5
        if kind == 0:  # parks until its max wait: nothing new arrives on partition 1
            frames.append(request(1, 4, corr, fetch_v4_body("raw", 1, hw, 50)))
        elif kind == 1:
            frames.append(request(API_PRODUCE, 3, corr,
                                  produce_body("raw", 0, batch([b"p%d" % corr]), acks=1)))
        elif kind == 2:
            frames.append(request(API_PRODUCE, 3, corr,
                                  produce_body("raw", 0, batch([b"z%d" % corr]), acks=0)))
            continue  # no response
        elif kind == 3:
            frames.append(request(API_METADATA, 1, corr, array([string("raw")])))
        else:
            frames.append(request(API_API_VERSIONS, 0, corr, b""))
        expect.append(corr)
    before = high_watermark(broker, "raw", 0)
    c = Conn(broker.port, timeout=60)
    try:
        c.send(b"".join(frames))
        got = []
        for _ in expect:
            frame = c.recv_frame()
            assert frame is not None, "closed after %d responses" % len(got)
            got.append(struct.unpack_from(">i", frame)[0])
            if got[-1] % 5 == 0:  # the parked fetch found nothing, without error
                r = Reader(frame[4:])
                r.i32()
                assert (r.i32(), r.string(), r.i32(), r.i32(), r.i16(), r.i64()) == \
                    (1, "raw", 1, 1, 0, hw)
        assert got == expect
    finally:
        c.close()
    assert high_watermark(broker, "raw", 0) == before + 400
    assert_healthy(broker)
