"""Hostile input, the part of the bad-input list that test_bad_input.py does
not cover: HTTP on the Kafka port, real requests truncated at every byte, a
slow sender, every API at versions it does not serve, broken flexible
encodings (compact nulls, huge counts, tagged fields, over-long varints),
batch lengths past the frame, client-sent control batches, a decompression
bomb for every codec, timestamps a year off, and idempotent producers that
lie about their sequence. Each case expects its documented answer (see
docs/hostile-input.md): a Kafka error code with nothing appended, or a
closed connection with a log line. After each group of cases a normal
client still produces and consumes, and the broker's resident memory has
grown by a bounded amount.

One broker serves the whole module, so damage one case leaves behind shows
up in the next. Its frame and batch limits are raised (16 MiB / 8 MiB) so
that the bigger bombs reach the decompressor instead of being refused for
their size."""
import gzip
import os
import socket
import struct
import threading
import time
import zlib

import lz4.frame
import pytest
import snappy
import zstandard
from confluent_kafka.admin import AdminClient, NewTopic

from kclients import wait_until
from kproto import (TAGS, Conn, Reader, array, batch, compact_array, compact_string, crc32c, i8,
                    i16, i32, i64, nbytes, parse_produce_v3, produce_body, record, request,
                    string, uvarint, varint)
from sltest import Broker
from test_bad_input import assert_healthy, high_watermark, send_expect_close

MAX_REQUEST = 16 << 20
BOMB_MAX_MESSAGE = 8 << 20  # max.message.bytes of topic "bombs"
GIB = 1 << 30

CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
INVALID_TIMESTAMP = 32
UNSUPPORTED_VERSION = 35
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
MEMBER_ID_REQUIRED = 79
INVALID_RECORD = 87

API_PRODUCE, API_FETCH, API_METADATA, API_JOIN_GROUP, API_API_VERSIONS = 0, 1, 3, 11, 18
API_INIT_PRODUCER_ID = 22

YEAR_MS = 365 * 24 * 3600 * 1000

# Resident memory a group of cases may add to the broker. The module's
# broker runs with ASan (redzones, a small quarantine: see the fixture);
# groups measure up to ~2.6 MiB, so this is generous. What it catches is
# memory that follows the attacker's numbers (a 1 GiB bomb, a 2 GiB frame,
# a count of 2^31) or a limit kept after use (a 64 MiB buffer).
RSS_GROWTH_BOUND_KIB = 32 << 10


@pytest.fixture(scope="module")
def broker():
    # A small ASan quarantine, so that freed memory does not sit in RSS and
    # hide (or fake) growth.
    asan = os.environ.get("ASAN_OPTIONS", "")
    b = Broker("--socket.request.max.bytes=%d" % MAX_REQUEST,
               env={"ASAN_OPTIONS": asan + ":quarantine_size_mb=4"}).start()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    futs = admin.create_topics([
        NewTopic("healthy", 1, 1),
        NewTopic("trunc", 1, 1),
        NewTopic("raw", 1, 1),
        NewTopic("bombs", 1, 1, config={"max.message.bytes": str(BOMB_MAX_MESSAGE)}),
        NewTopic("strict-time", 1, 1,
                 config={"message.timestamp.difference.max.ms": str(24 * 3600 * 1000)}),
        NewTopic("default-time", 1, 1),
        NewTopic("seq", 1, 1),
        NewTopic("many", 12, 1, config={"max.message.bytes": str(BOMB_MAX_MESSAGE)})])
    for f in futs.values():
        f.result(60)
    del admin, futs
    assert_healthy(b)
    yield b
    try:
        b.stop_clean()
    finally:
        b.cleanup()


@pytest.fixture
def bounded(broker):
    """Around one test: the broker serves a normal client afterwards and its
    RSS grew by less than RSS_GROWTH_BOUND_KIB."""
    before = broker.rss_kib()
    yield
    assert broker.running(), "sluiced died:\n%s" % broker.log_tail()
    assert_healthy(broker)
    after = broker.rss_kib()
    print("RSS %d -> %d KiB" % (before, after))
    assert after - before < RSS_GROWTH_BOUND_KIB, \
        "RSS grew from %d to %d KiB" % (before, after)


def expect_closed(broker, data):
    """Sends raw bytes on a new connection; the broker must close it (no
    response frame comes back first)."""
    c = Conn(broker.port)
    try:
        c.send(data)
        c.sock.settimeout(30)
        try:
            got = c.sock.recv(4)
        except ConnectionResetError:
            got = b""
        assert got == b"", "got %r instead of a closed connection" % got
    finally:
        c.close()


def call_raw(broker, frame):
    """Sends one whole frame on a new connection; returns the response frame
    (correlation id first) or None if the connection was closed."""
    c = Conn(broker.port)
    try:
        c.send(frame)
        return c.recv_frame()
    finally:
        c.close()


# ---- flexible-version encoders (kproto only builds classic ones) ----

def compact_bytes(b):
    return uvarint(0) if b is None else uvarint(len(b) + 1) + b


def flex(api_key, version, corr, body, client_id="sluice-raw"):
    return request(api_key, version, corr, body, client_id=client_id, flexible=True)


def api_versions_v3_body():
    return compact_string("sluice-hostile") + compact_string("1.0") + TAGS


def metadata_v9_body(topics, allow_auto=False):
    return (compact_array([compact_string(t) + TAGS for t in topics]) + i8(allow_auto) +
            i8(0) + i8(0) + TAGS)


def metadata_v12_body(topics):
    return (compact_array([b"\0" * 16 + compact_string(t) + TAGS for t in topics]) + i8(0) +
            i8(0) + TAGS)


def produce_v9_body(topic, partition, records, acks=1):
    return (compact_string(None) + i16(acks) + i32(10000) + compact_array([
        compact_string(topic) + compact_array([i32(partition) + compact_bytes(records) + TAGS]) +
        TAGS]) + TAGS)


def fetch_v12_body(topic, partition, offset):
    part = i32(partition) + i32(-1) + i64(offset) + i32(-1) + i64(-1) + i32(1 << 20) + TAGS
    return (i32(-1) + i32(0) + i32(1) + i32(1 << 20) + i8(0) + i32(0) + i32(-1) +
            compact_array([compact_string(topic) + compact_array([part]) + TAGS]) +
            compact_array([]) + compact_string("") + TAGS)


def subscription_v0(topics):
    return i16(0) + array([string(t) for t in topics]) + nbytes(b"")


def join_group_v6_body(group):
    return (compact_string(group) + i32(10000) + i32(30000) + compact_string("") +
            compact_string(None) + compact_string("consumer") +
            compact_array([compact_string("range") + compact_bytes(subscription_v0(["trunc"])) +
                           TAGS]) + TAGS)


# ---- framing and transport ----

@pytest.mark.usefixtures("bounded")
def test_http_get_on_the_kafka_port(broker):
    """'GET ' read as a size is 1,195,725,856 bytes: far above the limit, so
    the frame is refused at once, with a hint in the log."""
    send_expect_close(broker, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "looks like HTTP")
    # The same with a socket.request.max.bytes check that cannot save us: an
    # HTTP POST with a body, and a TLS ClientHello.
    send_expect_close(broker, b"POST /topics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
                      "looks like HTTP")
    send_expect_close(broker, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 32,
                      "looks like a TLS handshake")


def real_requests():
    """(name, frame payload without the size prefix, check) for requests as
    the clients send them; check(response frame) validates the answer to
    the whole request."""
    hw = 0

    def produce_records():
        return batch([b"t1", b"t2"])

    def ok_api_versions(f):
        r = Reader(f[4:])
        return r.i16() == 0

    def ok_metadata(f):
        r = Reader(f[5:])
        r.i32()  # throttle
        return r.compact_count() == 1  # one broker

    def ok_produce(f):
        r = Reader(f[5:])
        return (r.compact_count() == 1 and r.compact_string() == "trunc" and
                r.compact_count() == 1 and r.i32() == 0 and r.i16() == 0)

    def ok_fetch(f):
        r = Reader(f[5:])
        r.i32()
        return r.i16() == 0

    def ok_join(f):
        r = Reader(f[5:])
        r.i32()
        return r.i16() == MEMBER_ID_REQUIRED

    out = [
        ("ApiVersions v3", flex(API_API_VERSIONS, 3, 7, api_versions_v3_body())[4:],
         ok_api_versions),
        ("Metadata v9", flex(API_METADATA, 9, 7, metadata_v9_body(["trunc", "healthy"]))[4:],
         ok_metadata),
        ("Metadata v12", flex(API_METADATA, 12, 7, metadata_v12_body(["trunc"]))[4:],
         ok_metadata),
        ("Produce v9", flex(API_PRODUCE, 9, 7, produce_v9_body("trunc", 0, produce_records()))[4:],
         ok_produce),
        ("Fetch v12", flex(API_FETCH, 12, 7, fetch_v12_body("trunc", 0, hw))[4:], ok_fetch),
        ("JoinGroup v6", flex(API_JOIN_GROUP, 6, 7, join_group_v6_body("trunc-group"))[4:],
         ok_join),
    ]
    return out


@pytest.mark.usefixtures("bounded")
@pytest.mark.parametrize("name,payload,check", real_requests(), ids=lambda v: None)
def test_request_truncated_at_every_byte(broker, name, payload, check):
    """Every strict prefix of a real request, sent as a frame whose size
    field matches the prefix (so the body, not the frame, is short), closes
    the connection; the whole request is answered normally."""
    before = high_watermark(broker, "trunc", 0)
    f = call_raw(broker, struct.pack(">i", len(payload)) + payload)
    assert f is not None and struct.unpack_from(">i", f)[0] == 7 and check(f), \
        "%s: the whole request is not answered normally" % name
    appended = high_watermark(broker, "trunc", 0) - before
    for n in range(len(payload)):
        expect_closed(broker, struct.pack(">i", n) + payload[:n])
    # Produce appended once (the whole request), never for a prefix.
    assert high_watermark(broker, "trunc", 0) - before == appended


@pytest.mark.usefixtures("bounded")
def test_slow_senders_do_not_block_others(broker):
    """40 clients each send a Metadata request one byte a second (2 s of it
    here, then the rest at once); meanwhile another client is answered at
    once, many times over, and the broker holds only the bytes received."""
    frame = request(API_METADATA, 1, 99, array([string("healthy")]))
    slow = [Conn(broker.port) for _ in range(40)]
    stop = threading.Event()
    errors = []

    def dribble():
        try:
            for i in range(3):
                if i:
                    time.sleep(1.0)
                for c in slow:
                    c.send(frame[i:i + 1])
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
        finally:
            stop.set()

    t = threading.Thread(target=dribble)
    t.start()
    answered = 0
    fast = Conn(broker.port)
    try:
        while not stop.is_set():
            r = Reader(fast.call(API_API_VERSIONS, 0, b""))
            assert r.i16() == 0
            answered += 1
        t.join()
        assert not errors, errors
        # While the slow frames were partial, the fast client kept going.
        assert answered > 10, answered
        for c in slow:
            c.send(frame[3:])
        for c in slow:
            f = c.recv_frame()
            assert f is not None and struct.unpack_from(">i", f)[0] == 99
    finally:
        fast.close()
        for c in slow:
            c.close()


@pytest.mark.usefixtures("bounded")
def test_partial_frame_is_held_without_its_announced_size(broker):
    """A client announcing a 16 MiB frame and sending 100 bytes of it, 200
    times over: the broker holds what arrived, not what was announced."""
    before = broker.rss_kib()
    conns = [Conn(broker.port) for _ in range(200)]
    try:
        for c in conns:
            c.send(struct.pack(">i", MAX_REQUEST) + struct.pack(">hhi", 3, 1, 1) + b"\0" * 92)
        time.sleep(0.5)
        # 200 x 16 MiB would be 3.2 GiB.
        assert broker.rss_kib() - before < 64 << 10
    finally:
        for c in conns:
            c.close()


# ---- unknown API keys and versions ----

def advertised(broker):
    c = Conn(broker.port)
    try:
        r = Reader(c.call(API_API_VERSIONS, 0, b""))
        assert r.i16() == 0
        return {k: (lo, hi) for k, lo, hi in
                ((r.i16(), r.i16(), r.i16()) for _ in range(r.i32()))}
    finally:
        c.close()


@pytest.mark.usefixtures("bounded")
def test_every_api_above_and_below_its_versions(broker):
    """Every advertised API at max+1, at -1 and at 32767 closes the
    connection (ApiVersions answers UNSUPPORTED_VERSION with a v0 body
    instead); every key that is not advertised (all others in -1..100 and
    the int16 extremes) closes it whatever the version."""
    apis = advertised(broker)
    cases = 0
    for key, (lo, hi) in sorted(apis.items()):
        for v in (hi + 1, -1, 32767, -32768):
            frame = request(key, v, 5, b"\0" * 32)
            if key == API_API_VERSIONS:
                f = call_raw(broker, frame)
                r = Reader(f)
                assert r.i32() == 5 and r.i16() == UNSUPPORTED_VERSION, (key, v)
            else:
                expect_closed(broker, frame)
            cases += 1
    for key in list(range(-1, 101)) + [32767, -32768]:
        if key in apis:
            continue
        for v in (0, 3):
            expect_closed(broker, request(key, v, 5, b"\0" * 32))
            cases += 1
    assert cases > 250, cases


# ---- negative and null lengths ----

NEG = [
    # classic string: -1 where not nullable (Metadata v1 topic name), -2, INT16_MIN
    ("string -1 not nullable", request(API_METADATA, 1, 1, i32(1) + i16(-1))),
    ("string -2", request(API_METADATA, 1, 1, i32(1) + i16(-2) + b"abc")),
    ("string -32768", request(API_METADATA, 1, 1, i32(1) + i16(-32768) + b"abc")),
    ("client id -2", struct.pack(">i", 10) + struct.pack(">hhih", 3, 1, 1, -2)),
    # classic bytes: records -2 and INT32_MIN; JoinGroup metadata -1 (never nullable)
    ("records -2", request(API_PRODUCE, 3, 1, string(None) + i16(1) + i32(1000) +
                           array([string("raw") + array([i32(0) + i32(-2)])]))),
    ("records INT32_MIN", request(API_PRODUCE, 3, 1, string(None) + i16(1) + i32(1000) +
                                  array([string("raw") + array([i32(0) + i32(-2 ** 31)])]))),
    ("join metadata -1", request(API_JOIN_GROUP, 5, 1, string("g") + i32(10000) + i32(30000) +
                                 string("") + string(None) + string("consumer") +
                                 array([string("range") + i32(-1)]))),
    # classic arrays: -1 where not nullable (Metadata v0 topics, Produce topics), INT32_MIN
    ("array -1 not nullable (Metadata v0)", request(API_METADATA, 0, 1, i32(-1))),
    ("array -1 not nullable (Produce)", request(API_PRODUCE, 3, 1, string(None) + i16(1) +
                                                i32(1000) + i32(-1))),
    ("array INT32_MIN", request(API_METADATA, 1, 1, i32(-2 ** 31))),
    ("array INT32_MAX", request(API_METADATA, 1, 1, i32(2 ** 31 - 1))),
    # compact (flexible) lengths: 0 means null
    ("compact array null (Produce v9 topics)",
     flex(API_PRODUCE, 9, 1, compact_string(None) + i16(1) + i32(1000) + uvarint(0) + TAGS)),
    ("compact array null (Fetch v12 topics)",
     flex(API_FETCH, 12, 1, i32(-1) + i32(0) + i32(1) + i32(1 << 20) + i8(0) + i32(0) + i32(-1) +
          uvarint(0) + compact_array([]) + compact_string("") + TAGS)),
    ("compact array null (Produce v9 partitions)",
     flex(API_PRODUCE, 9, 1, compact_string(None) + i16(1) + i32(1000) +
          compact_array([compact_string("raw") + uvarint(0) + TAGS]) + TAGS)),
    ("compact string null (Produce v9 topic name)",
     flex(API_PRODUCE, 9, 1, compact_string(None) + i16(1) + i32(1000) +
          compact_array([uvarint(0) + compact_array([]) + TAGS]) + TAGS)),
    ("compact string null (JoinGroup v6 group id)",
     flex(API_JOIN_GROUP, 6, 1, uvarint(0) + i32(10000) + i32(30000) + compact_string("") +
          compact_string(None) + compact_string("consumer") + compact_array([]) + TAGS)),
    ("compact bytes null (JoinGroup v6 metadata)",
     flex(API_JOIN_GROUP, 6, 1, compact_string("g") + i32(10000) + i32(30000) +
          compact_string("") + compact_string(None) + compact_string("consumer") +
          compact_array([compact_string("range") + uvarint(0) + TAGS]) + TAGS)),
    # huge compact counts and lengths
    ("compact array 2^32-2", flex(API_METADATA, 9, 1, uvarint(2 ** 32 - 1) + b"\0" * 64)),
    ("compact array 2^31-1", flex(API_METADATA, 9, 1, uvarint(2 ** 31) + b"\0" * 64)),
    ("compact array 2^31", flex(API_METADATA, 9, 1, uvarint(2 ** 31 + 1) + b"\0" * 64)),
    ("compact string 2^32-2", flex(API_API_VERSIONS, 3, 1, uvarint(2 ** 32 - 1) + b"x" * 64)),
    ("compact string 40000", flex(API_API_VERSIONS, 3, 1, uvarint(40001) + b"x" * 40000 + TAGS)),
    ("compact bytes 2^31", flex(API_PRODUCE, 9, 1, compact_string(None) + i16(1) + i32(1000) +
                                compact_array([compact_string("raw") + compact_array(
                                    [i32(0) + uvarint(2 ** 31 + 1) + b"\0" * 64])]))),
]


@pytest.mark.usefixtures("bounded")
@pytest.mark.parametrize("name,frame", NEG, ids=[n for n, _ in NEG])
def test_negative_null_and_huge_lengths_close_the_connection(broker, name, frame):
    before = high_watermark(broker, "raw", 0)
    expect_closed(broker, frame)
    assert high_watermark(broker, "raw", 0) == before


@pytest.mark.usefixtures("bounded")
def test_null_topics_where_nullable_means_all_topics(broker):
    """The contrast case: Metadata v9 topics = compact null is legal (all
    topics)."""
    f = call_raw(broker, flex(API_METADATA, 9, 3, uvarint(0) + i8(0) + i8(0) + i8(0) + TAGS))
    assert f is not None
    r = Reader(f[5:])
    r.i32()
    for _ in range(r.compact_count()):  # brokers
        r.i32(), r.compact_string(), r.i32(), r.compact_string(), r.skip_tags()
    r.compact_string(), r.i32()
    names = set()
    for _ in range(r.compact_count()):
        r.i16()
        names.add(r.compact_string())
        break
    assert names and names <= {"healthy", "trunc", "raw", "bombs", "strict-time",
                               "default-time", "seq", "__consumer_offsets"}, names


@pytest.mark.usefixtures("bounded")
def test_huge_count_backed_by_bytes_is_bounded(broker):
    """A compact array count of 4,000,000 backed by 4,000,000 bytes (each a
    null topic name): the count passes the bytes-left check, so the decoder
    allocates for it within the request's arena limit, then fails on the
    first element."""
    n = 4000000
    body = uvarint(n + 1) + b"\0" * n + i8(0) + i8(0) + i8(0) + TAGS
    expect_closed(broker, flex(API_METADATA, 9, 1, body))


# ---- tagged fields and varints ----

TAGGED = [
    ("header tag count 2^32-1", struct.pack(">hhih", API_API_VERSIONS, 3, 1, 1) + b"x" +
     uvarint(2 ** 32 - 1) + b"\0" * 32),
    ("header tag count past 32 bits", struct.pack(">hhih", API_API_VERSIONS, 3, 1, 1) + b"x" +
     b"\xff\xff\xff\xff\x7f" + b"\0" * 32),
    ("header tag size 2^32-1", struct.pack(">hhih", API_API_VERSIONS, 3, 1, 1) + b"x" +
     uvarint(1) + uvarint(5) + uvarint(2 ** 32 - 1) + b"\0" * 32),
    ("body tag count 2^31", api_versions_v3_body()[:-1] + uvarint(2 ** 31) + b"\0" * 32),
    ("body tag size past the frame", api_versions_v3_body()[:-1] + uvarint(1) + uvarint(9) +
     uvarint(1000) + b"\0" * 32),
    ("known tag with a short value (Fetch ClusterId)", None),
    ("uvarint of 6 bytes (compact string length)",
     struct.pack(">hhih", API_API_VERSIONS, 3, 1, 1) + b"x" + TAGS +
     b"\x81\x80\x80\x80\x80\x00" + b"x" * 8),
    ("uvarint of 10 bytes (tag count)", struct.pack(">hhih", API_API_VERSIONS, 3, 1, 1) + b"x" +
     b"\x80" * 9 + b"\x01" + b"\0" * 8),
    ("uvarint without an end", struct.pack(">hhih", API_API_VERSIONS, 3, 1, 1) + b"x" +
     b"\xff" * 64),
]


def _fetch_with_cluster_id_tag(value):
    body = fetch_v12_body("raw", 0, 0)
    return body[:-1] + uvarint(1) + uvarint(0) + uvarint(len(value)) + value


@pytest.mark.usefixtures("bounded")
@pytest.mark.parametrize("name,payload", TAGGED, ids=[n for n, _ in TAGGED])
def test_bad_tags_and_varints_close_the_connection(broker, name, payload):
    if payload is None:  # ClusterId says 10 bytes, its field holds 3
        payload = flex(API_FETCH, 12, 1, _fetch_with_cluster_id_tag(uvarint(11) + b"abc"))[4:]
    elif payload[0:2] == i16(API_API_VERSIONS) and name.startswith("body"):
        payload = flex(API_API_VERSIONS, 3, 1, payload)[4:]
    expect_closed(broker, struct.pack(">i", len(payload)) + payload)


@pytest.mark.usefixtures("bounded")
def test_tolerated_encodings_are_answered(broker):
    """The contrast cases: unknown tags are skipped, a known tag is used, and
    a non-minimal (padded) varint of at most 5 bytes is read like Kafka."""
    unknown = api_versions_v3_body()[:-1] + uvarint(2) + uvarint(7) + uvarint(3) + b"abc" + \
        uvarint(9000) + uvarint(0)
    f = call_raw(broker, flex(API_API_VERSIONS, 3, 4, unknown))
    assert f is not None and Reader(f[4:]).i16() == 0
    f = call_raw(broker, flex(API_FETCH, 12, 4, _fetch_with_cluster_id_tag(compact_string("c"))))
    assert f is not None and struct.unpack_from(">i", f)[0] == 4
    padded = b"\x8f\x80\x80\x80\x00" + b"sluice-hostile" + compact_string("1.0") + TAGS
    f = call_raw(broker, flex(API_API_VERSIONS, 3, 4, padded))
    assert f is not None and Reader(f[4:]).i16() == 0


# ---- record batches ----

def produce(broker, topic, records, version=3, partition=0):
    """One Produce request with acks=-1; returns (error, base offset)."""
    c = Conn(broker.port)
    try:
        if version >= 9:
            f = c.call(API_PRODUCE, version, produce_v9_body(topic, partition, records, acks=-1),
                       flexible=True)
            r = Reader(f)
            assert r.compact_count() == 1 and r.compact_string() == topic
            assert r.compact_count() == 1 and r.i32() == partition
            return r.i16(), r.i64()
        [(_, _, err, base)] = parse_produce_v3(c.call(API_PRODUCE, version,
                                                      produce_body(topic, partition, records)))
        return err, base
    finally:
        c.close()


def with_length(b, length):
    return bytes(b[:8]) + i32(length) + bytes(b[12:])


def with_crc(b):
    """The batch with its CRC recomputed (after editing fields)."""
    b = bytes(b)
    return b[:17] + struct.pack(">I", crc32c(b[21:])) + b[21:]


def overlong_varint_record():
    """A record whose length is written as a 6-byte varint."""
    body = i8(0) + varint(0) + varint(0) + varint(-1) + varint(1) + b"v" + varint(0)
    n = (len(body) << 1)  # zigzag of a positive int
    six = bytes([(n & 0x7F) | 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
    return six + body


BATCHES = [
    ("every bit of the CRC flipped", None, CORRUPT_MESSAGE),
    ("batch length past the frame", with_length(batch([b"a"]), len(batch([b"a"])) - 12 + 100),
     CORRUPT_MESSAGE),
    ("batch length INT32_MAX", with_length(batch([b"a"]), 2 ** 31 - 1), CORRUPT_MESSAGE),
    ("batch length negative", with_length(batch([b"a"]), -1), CORRUPT_MESSAGE),
    ("batch length below the header", with_length(batch([b"a"]), 10), CORRUPT_MESSAGE),
    ("batch length short of its records", None, INVALID_RECORD),
    ("count INT32_MAX", batch([b"a"], count=2 ** 31 - 1, last_offset_delta=2 ** 31 - 2),
     INVALID_RECORD),
    ("count negative", batch([b"a"], count=-1, last_offset_delta=-2), INVALID_RECORD),
    ("offset deltas out of order", batch([b"a", b"b"], records=lambda r: record(
        1, None, b"a") + record(0, None, b"b")), INVALID_RECORD),
    ("record length past the batch", batch([b"a"], records=varint(1000) + b"\0" * 8),
     INVALID_RECORD),
    ("record length negative", batch([b"a"], records=varint(-5) + b"\0" * 8), INVALID_RECORD),
    ("over-long varint in a record", batch([b"v"], records=overlong_varint_record()),
     INVALID_RECORD),
    ("header count INT32_MAX", batch([b"a"], records=lambda r: r[:-1] + varint(2 ** 31 - 1)),
     INVALID_RECORD),
    ("control batch from a client", batch([b"a"], attributes=0x20), INVALID_RECORD),
    ("transactional batch", batch([b"a"], attributes=0x10, producer_id=1, producer_epoch=0,
                                  base_sequence=0), TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
    ("producer id without a sequence", batch([b"a"], producer_id=1, producer_epoch=0),
     INVALID_RECORD),
]


@pytest.mark.usefixtures("bounded")
@pytest.mark.parametrize("name,records,error", BATCHES, ids=[n for n, _, _ in BATCHES])
def test_bad_batches(broker, name, records, error):
    before = high_watermark(broker, "raw", 0)
    if name == "every bit of the CRC flipped":
        good = batch([b"x", b"y"])
        for bit in range(32):
            bad = bytearray(good)
            bad[17 + bit // 8] ^= 1 << (bit % 8)
            assert produce(broker, "raw", bytes(bad))[0] == CORRUPT_MESSAGE, bit
            assert produce(broker, "raw", bytes(bad), version=9)[0] == CORRUPT_MESSAGE, bit
    else:
        if records is None:  # the length says 20 bytes less: the records overrun it
            good = batch([b"a" * 30])
            records = with_crc(with_length(good, len(good) - 12 - 20))[:len(good) - 20] + \
                good[len(good) - 20:]
        assert produce(broker, "raw", records)[0] == error, name
        assert produce(broker, "raw", records, version=9)[0] == error, name
    assert high_watermark(broker, "raw", 0) == before


# ---- decompression bombs ----

def bomb_record_head(value_len, offset_delta=0):
    """The start of one record holding a value of value_len zero bytes (the
    zeros follow in the compressed stream)."""
    body_len = 1 + 1 + len(varint(offset_delta)) + 1 + len(varint(value_len)) + value_len + 1
    return (varint(body_len) + i8(0) + varint(0) + varint(offset_delta) + varint(-1) +
            varint(value_len))


def stream(compressor, records, chunk=1 << 20, finish=None):
    """Feeds records [(head, zero count)] to compressor, returning the
    compressed bytes; each record's value ends with its header count (0)."""
    zeros = b"\0" * chunk
    out = []
    for head, n in records:
        out.append(compressor.compress(head))
        left = n + 1  # the value's zeros, then a zero header count
        while left:
            k = min(left, chunk)
            out.append(compressor.compress(zeros[:k]))
            left -= k
    out.append(finish() if finish else compressor.flush())
    return b"".join(out)


ONE_RECORD = [(bomb_record_head(GIB), GIB)]
# 1 GiB as 1,024 records of 1 MiB: no single record is past the cap.
MANY_RECORDS = [(bomb_record_head(1 << 20, i), 1 << 20) for i in range(1024)]


def gzip_bomb():
    """Deflate tops out at ~1032:1: 1 GiB -> ~1 MB."""
    return stream(zlib.compressobj(6, zlib.DEFLATED, 31), ONE_RECORD)


def lz4_bomb():
    """LZ4 tops out at ~255:1 (a match length costs one byte per 255):
    1 GiB -> ~4.2 MB, in 4 MiB blocks."""
    c = lz4.frame.LZ4FrameCompressor(block_size=lz4.frame.BLOCKSIZE_MAX4MB,
                                     compression_level=lz4.frame.COMPRESSIONLEVEL_MAX)
    return c.begin() + stream(c, ONE_RECORD)


def zstd_bomb(records=ONE_RECORD):
    """zstd: 128 KiB blocks of one repeated byte are RLE blocks of 4 bytes:
    1 GiB -> ~32 KiB. The frame header does not announce the size (a frame
    that does is refused before decoding: see the unit tests)."""
    return stream(zstandard.ZstdCompressor(level=3).compressobj(), records)


def snappy_literal(data):
    """Snappy literal element(s) for up to 60 bytes each."""
    out = b""
    for i in range(0, len(data), 60):
        part = data[i:i + 60]
        out += bytes([(len(part) - 1) << 2]) + part
    return out


def snappy_zeros_block(head, copies):
    """One raw snappy block: a literal record head and one zero, then
    `copies` 64-byte copies at offset 1 (tag 0b10, length-1 in the top six
    bits): the format's best ratio, ~21:1."""
    body = snappy_literal(head + b"\0") + bytes([(63 << 2) | 2, 1, 0]) * copies
    return uvarint(len(head) + 1 + 64 * copies) + body


def snappy_bombs():
    """Snappy's best is ~21:1, so within the 8 MiB batch limit a bomb reaches
    ~170 MiB; the raw format announces its length up front, which is what a
    lying header attacks; xerial framing (the Java client's) cuts it into
    blocks that are decoded one at a time."""
    copies = (8 << 20) // 3 - 64
    raw = snappy_zeros_block(bomb_record_head(64 * copies), copies)
    lying = uvarint(GIB) + snappy_literal(b"\0")
    nblocks = (8 << 20) // (3 * 512 + 16) - 1
    first = snappy_zeros_block(bomb_record_head(nblocks * (1 + 512 * 64)), 512)
    rest = snappy_zeros_block(b"", 512)
    xerial = (b"\x82SNAPPY\0" + i32(1) + i32(1) + i32(len(first)) + first +
              (i32(len(rest)) + rest) * (nblocks - 1))
    return [("snappy raw ~21:1", raw), ("snappy announcing 1 GiB", lying),
            ("snappy xerial 32 KiB blocks", xerial)]


def bombs():
    out = [("gzip 1 GiB", 1, gzip_bomb()), ("lz4 1 GiB", 3, lz4_bomb()),
           ("zstd 1 GiB", 4, zstd_bomb()),
           ("zstd 1 GiB in 1,024 records", 4, zstd_bomb(MANY_RECORDS))]
    out += [(n, 2, b) for n, b in snappy_bombs()]
    return out


@pytest.mark.usefixtures("bounded")
def test_decompression_bombs(broker):
    """Each codec's bomb is refused with MESSAGE_TOO_LARGE (at its first
    record, whose length is past the broker's 64 MiB decompression cap, or
    at the cap), nothing is appended, and the broker never holds the output:
    records are checked through a window, so its RSS grows by a few MiB
    (asserted: under 32 MiB, which also covers the 8 MiB request frames the
    allocator may keep), not by the 64 MiB cap or the 1 GiB a bomb expands
    to."""
    before_rss = broker.rss_kib()
    hw = high_watermark(broker, "bombs", 0)
    sizes = []
    for name, codec, data in bombs():
        n = 1024 if "1,024" in name else 1
        b = batch([b"1"] * n, attributes=codec, records=data)
        assert len(b) < BOMB_MAX_MESSAGE, (name, len(b))
        err, _ = produce(broker, "bombs", b, version=9)
        rss = broker.rss_kib()
        sizes.append((name, len(data), err, rss - before_rss))
        assert err == MESSAGE_TOO_LARGE, sizes
        assert rss - before_rss < 32 << 10, sizes
    assert high_watermark(broker, "bombs", 0) == hw
    print("bombs (name, compressed bytes, error, RSS growth KiB):", sizes)


@pytest.mark.usefixtures("bounded")
def test_decompression_budget_per_request(broker):
    """12 partitions in one request, each a valid zstd batch of 40 records of
    1 MiB (40 MiB decompressed, ~2 KB on the wire): alone, each is accepted;
    together they are over what one request may decompress (64 MiB plus 128
    bytes per request byte), so the first is appended and the others get
    MESSAGE_TOO_LARGE instead of costing the event loop 480 MiB of
    decompression."""
    recs = [(bomb_record_head(1 << 20, i), 1 << 20) for i in range(40)]
    one = batch([b"1"] * 40, attributes=4, records=zstd_bomb(recs))
    parts = [i32(p) + compact_bytes(one) + TAGS for p in range(12)]
    body = (compact_string(None) + i16(-1) + i32(30000) +
            compact_array([compact_string("many") + compact_array(parts) + TAGS]) + TAGS)
    c = Conn(broker.port)
    try:
        r = Reader(c.call(API_PRODUCE, 9, body, flexible=True))
        assert r.compact_count() == 1 and r.compact_string() == "many"
        errors = {}
        for _ in range(r.compact_count()):
            p, err = r.i32(), r.i16()
            r.i64(), r.i64(), r.i64()  # base offset, log append time, log start offset
            r.compact_count()  # record errors (v8+): none
            r.compact_string()  # error message
            r.skip_tags()
            errors[p] = err
    finally:
        c.close()
    assert sorted(errors.values()) == [0] + [MESSAGE_TOO_LARGE] * 11, errors
    # Each partition's batch alone is fine.
    for p in range(12):
        if errors[p]:
            assert produce(broker, "many", one, version=9, partition=p)[0] == 0, p


# ---- timestamps ----

@pytest.mark.usefixtures("bounded")
def test_timestamps_a_year_off(broker):
    """With message.timestamp.difference.max.ms (a day on "strict-time") a
    batch a year in the past or future, or one record a year off inside an
    honest batch, is INVALID_TIMESTAMP; with the default (Long.MAX_VALUE, as
    in Kafka) the same batches are accepted as they are."""
    now = int(time.time() * 1000)
    cases = [
        batch([b"past"], base_ts=now - YEAR_MS),
        batch([b"future"], base_ts=now + YEAR_MS),
        batch([b"r"], base_ts=now, records=record(0, None, b"r", ts_delta=YEAR_MS)),
    ]
    hw = high_watermark(broker, "strict-time", 0)
    for b in cases:
        assert produce(broker, "strict-time", b)[0] == INVALID_TIMESTAMP
    assert high_watermark(broker, "strict-time", 0) == hw
    assert produce(broker, "strict-time", batch([b"now"]))[0] == 0
    hw = high_watermark(broker, "default-time", 0)
    for i, b in enumerate(cases):
        assert produce(broker, "default-time", b) == (0, hw + i)


# ---- idempotent producers ----

def init_producer_id(port):
    c = Conn(port)
    try:
        r = Reader(c.call(API_INIT_PRODUCER_ID, 0, string(None) + i32(60000)))
    finally:
        c.close()
    r.i32()
    err, pid, epoch = r.i16(), r.i64(), r.i16()
    assert err == 0
    return pid, epoch


@pytest.mark.usefixtures("bounded")
def test_idempotent_producer_lies(broker):
    """Beyond test_idempotence.py's sequence rules (gap, duplicate, stale
    epoch, new epoch not at 0, over Produce v3): the same over Produce v9, a
    gap of 2^31-1, a negative epoch, sequences wrapping at INT32_MAX like
    Kafka's, and producer ids that were never issued, which Kafka (and
    sluice) accept at any first sequence since no state says otherwise."""
    pid, epoch = init_producer_id(broker.port)

    def send(seq, n, ep=epoch, p=pid):
        b = batch([b"s%d" % i for i in range(n)], producer_id=p, producer_epoch=ep,
                  base_sequence=seq)
        return produce(broker, "seq", b, version=9)

    hw = high_watermark(broker, "seq", 0)
    assert send(0, 2) == (0, hw)
    assert send(0, 2) == (0, hw)  # duplicate: the original offset
    assert send(2 ** 31 - 1, 1)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER  # gap
    assert send(3, 1)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER  # gap of one
    assert send(1, 2)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER  # overlap
    assert send(2, 1) == (0, hw + 2)
    assert send(3, 1, ep=-1)[0] == INVALID_PRODUCER_EPOCH
    assert send(0, 1, ep=epoch + 1) == (0, hw + 3)
    assert send(3, 1, ep=epoch)[0] == INVALID_PRODUCER_EPOCH  # stale after the bump
    # Never issued: accepted at any first sequence, then held to the rules.
    assert send(5, 1, p=pid + 1000, ep=0) == (0, hw + 4)
    assert send(7, 1, p=pid + 1000, ep=0)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
    # Wrapping: the sequence after INT32_MAX is 0.
    assert send(2 ** 31 - 1, 1, p=pid + 1001, ep=0) == (0, hw + 5)
    assert send(0, 1, p=pid + 1001, ep=0) == (0, hw + 6)
    assert send(2, 1, p=pid + 1001, ep=0)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
    assert high_watermark(broker, "seq", 0) == hw + 7


# ---- summary ----

def test_case_count():
    """Keeps the number of listed cases visible in the test output."""
    n = len(NEG) + len(TAGGED) + len(BATCHES)
    assert n >= 45, n


# ---- log flooding ----

def test_malformed_request_flood_does_not_flood_the_log(broker_factory):
    """2,000 malformed requests as fast as possible (each closes its
    connection) write at most ~20 log lines a second, then one line saying
    how many were dropped; the broker keeps serving."""
    b = broker_factory().start()
    frame = request(API_METADATA, 1, 1, i32(-7))
    start = time.time()
    for _ in range(2000):
        expect_closed(b, frame)
    elapsed = time.time() - start
    time.sleep(1.1)
    expect_closed(b, frame)  # the next window reports the dropped lines
    log = b.log_text()
    lines = log.count("malformed message")
    assert lines <= 20 * (elapsed + 3), (lines, elapsed)
    assert "similar log lines suppressed" in log
    c = Conn(b.port)
    assert Reader(c.call(API_API_VERSIONS, 0, b"")).i16() == 0
    c.close()
    assert b.stop() == 0
