"""Admin round trips with confluent-kafka's AdminClient and KafkaJS's admin
client: create a topic with 8 partitions and configs, describe its configs
(values and sources), alter them (AlterConfigs; IncrementalAlterConfigs,
which neither client here can send, over a raw request), add partitions,
delete records (low watermark, and consumers below it get
OFFSET_OUT_OF_RANGE or reset), delete the topic; the error answers; broker
configs with their sources; ListOffsets earliest / latest / by timestamp /
max timestamp."""
import time

import pytest
from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition)
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic)

from kclients import node, wait_until
from kproto import (TAGS, Conn, Reader, array, compact_array, compact_string, i8, i32, i64,
                    string)

TOPIC_CFG = {"retention.ms": "3600000", "max.message.bytes": "200000",
             "cleanup.policy": "delete"}

KERR_NONE = 0
KERR_OFFSET_OUT_OF_RANGE = 1
KERR_INVALID_CONFIG = 40


def admin_for(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def result_error(fut):
    """The KafkaError a failed admin future carries (None on success)."""
    try:
        fut.result(60)
        return None
    except Exception as e:  # confluent raises KafkaException(KafkaError)
        return e.args[0]


def partitions_of(admin, topic):
    """Partition count, None if the topic does not exist. (Asking for the
    topic by name would auto-create it: librdkafka's admin client is a
    producer, whose Metadata requests allow auto-creation.)"""
    t = admin.list_topics(timeout=30).topics.get(topic)
    return None if t is None else len(t.partitions)


def topic_configs(admin, topic):
    [(res, fut)] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)]).items()
    return fut.result(60)


def test_confluent_admin_round_trip(broker):
    admin = admin_for(broker)
    t = "admin-rt"
    assert result_error(admin.create_topics([NewTopic(t, 8, 1, config=TOPIC_CFG)])[t]) is None
    assert partitions_of(admin, t) == 8

    cfg = topic_configs(admin, t)
    for k, v in TOPIC_CFG.items():
        assert cfg[k].value == v, (k, cfg[k].value)
        assert cfg[k].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, (k, cfg[k].source)
        assert not cfg[k].is_default
    seg = cfg["segment.bytes"]
    assert seg.value == str(1 << 30) and seg.is_default, (seg.value, seg.source)
    assert seg.source == ConfigSource.DEFAULT_CONFIG.value, seg.source

    # AlterConfigs replaces the topic's whole set: what is not named goes back to its default.
    res = ConfigResource(ConfigResource.Type.TOPIC, t, set_config={"retention.ms": "7200000"})
    assert result_error(admin.alter_configs([res])[res]) is None
    cfg = wait_until(lambda: (lambda c: c if c["retention.ms"].value == "7200000" else None)(
        topic_configs(admin, t)), 30, "the altered config")
    assert cfg["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert cfg["max.message.bytes"].is_default, cfg["max.message.bytes"].value

    # validate_only changes nothing.
    res = ConfigResource(ConfigResource.Type.TOPIC, t, set_config={"retention.ms": "1000"})
    assert result_error(admin.alter_configs([res], validate_only=True)[res]) is None
    assert topic_configs(admin, t)["retention.ms"].value == "7200000"

    # Unknown and invalid config values are refused.
    for bad in ({"no.such.config": "1"}, {"retention.ms": "soon"}):
        res = ConfigResource(ConfigResource.Type.TOPIC, t, set_config=bad)
        err = result_error(admin.alter_configs([res])[res])
        assert err is not None and err.code() == KafkaError.INVALID_CONFIG, (bad, err)
    assert topic_configs(admin, t)["retention.ms"].value == "7200000"

    assert result_error(admin.create_partitions([NewPartitions(t, 12)])[t]) is None
    wait_until(lambda: partitions_of(admin, t) == 12, 30, "12 partitions")
    err = result_error(admin.create_partitions([NewPartitions(t, 4)])[t])
    assert err is not None and err.code() == KafkaError.INVALID_PARTITIONS, err

    # The new partitions take records.
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for part in range(12):
        p.produce(t, value=b"v%d" % part, partition=part)
    assert p.flush(60) == 0

    assert result_error(admin.delete_topics([t])[t]) is None
    wait_until(lambda: partitions_of(admin, t) is None, 30, "the topic to be gone")
    # (The future map must stay intact until the result arrives: no popitem.)
    [(_, fut)] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, t)]).items()
    err = result_error(fut)
    assert err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err


def test_confluent_admin_errors(broker):
    admin = admin_for(broker)
    assert result_error(admin.create_topics([NewTopic("exists", 2, 1)])["exists"]) is None

    cases = [
        (NewTopic("exists", 2, 1), KafkaError.TOPIC_ALREADY_EXISTS),
        (NewTopic("bad/name", 1, 1), KafkaError.TOPIC_EXCEPTION),
        (NewTopic("..", 1, 1), KafkaError.TOPIC_EXCEPTION),
        (NewTopic("x" * 250, 1, 1), KafkaError.TOPIC_EXCEPTION),
        (NewTopic("rf3", 1, 3), KafkaError.INVALID_REPLICATION_FACTOR),
        (NewTopic("zero-partitions", 0, 1), KafkaError.INVALID_PARTITIONS),
        (NewTopic("unknown-config", 1, 1, config={"no.such.config": "1"}),
         KafkaError.INVALID_CONFIG),
        (NewTopic("bad-value", 1, 1, config={"retention.ms": "-5x"}), KafkaError.INVALID_CONFIG),
    ]
    for nt, code in cases:
        err = result_error(admin.create_topics([nt])[nt.topic])
        assert err is not None and err.code() == code, (nt.topic, err)
    md = admin.list_topics(timeout=30)
    assert set(md.topics) - {"__consumer_offsets"} == {"exists"}, set(md.topics)

    # validate_only: a valid request succeeds and creates nothing.
    assert result_error(admin.create_topics([NewTopic("dry", 3, 1)], validate_only=True)["dry"]) is None
    assert "dry" not in admin.list_topics(timeout=30).topics

    err = result_error(admin.delete_topics(["no-such-topic"])["no-such-topic"])
    assert err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err
    err = result_error(admin.create_partitions([NewPartitions("no-such-topic", 3)])["no-such-topic"])
    assert err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err


def test_broker_configs_show_defaults_and_sources(broker):
    admin = admin_for(broker)
    [(res, fut)] = admin.describe_configs([ConfigResource(ConfigResource.Type.BROKER, "1")]).items()
    cfg = fut.result(60)
    # Left at its default.
    assert cfg["num.partitions"].value == "1"
    assert cfg["num.partitions"].source == ConfigSource.DEFAULT_CONFIG.value
    assert cfg["num.partitions"].is_default
    # Set on the command line by the test harness.
    assert cfg["log.dirs"].value == broker.data_dir + "/logs"
    assert cfg["log.dirs"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert not cfg["log.dirs"].is_default
    for name in ("message.max.bytes", "log.retention.hours", "auto.create.topics.enable",
                 "socket.request.max.bytes"):
        assert name in cfg, name
    # Broker settings are fixed at startup: altering them is refused.
    res = ConfigResource(ConfigResource.Type.BROKER, "1", set_config={"num.partitions": "3"})
    err = result_error(admin.alter_configs([res])[res])
    assert err is not None, "altering a static broker setting succeeded"


# ---- raw requests for what the clients here cannot send ----

def list_offsets_v7(broker, topic, partition, timestamp):
    """(error, timestamp, offset) from ListOffsets v7 (flexible)."""
    body = (i32(-1) + i8(0) + compact_array([
        compact_string(topic) + compact_array([
            i32(partition) + i32(-1) + i64(timestamp) + TAGS]) + TAGS]) + TAGS)
    c = Conn(broker.port)
    try:
        r = Reader(c.call(2, 7, body, flexible=True))
    finally:
        c.close()
    r.i32()  # throttle
    assert r.compact_count() == 1 and r.compact_string() == topic
    assert r.compact_count() == 1 and r.i32() == partition
    err, ts, off = r.i16(), r.i64(), r.i64()
    return err, ts, off


def delete_records_v0(broker, topic, partition, offset):
    """(error, low watermark) from DeleteRecords v0."""
    body = array([string(topic) + array([i32(partition) + i64(offset)])]) + i32(30000)
    c = Conn(broker.port)
    try:
        r = Reader(c.call(21, 0, body))
    finally:
        c.close()
    r.i32()  # throttle
    assert r.i32() == 1 and r.string() == topic and r.i32() == 1 and r.i32() == partition
    low = r.i64()
    return r.i16(), low


def fetch_v4_error(broker, topic, partition, offset):
    """The partition error of a Fetch v4 at `offset`."""
    body = (i32(-1) + i32(100) + i32(1) + i32(1 << 20) + i8(1) +
            array([string(topic) + array([i32(partition) + i64(offset) + i32(1 << 20)])]))
    c = Conn(broker.port)
    try:
        r = Reader(c.call(1, 4, body))
    finally:
        c.close()
    r.i32()  # throttle
    assert r.i32() == 1 and r.string() == topic and r.i32() == 1 and r.i32() == partition
    return r.i16()


def incremental_alter_v0(broker, topic, ops, validate_only=False):
    """(error, message) of IncrementalAlterConfigs v0 on a topic;
    ops = [(name, op, value)] with op 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT."""
    body = (array([i8(2) + string(topic) + array([
        string(n) + i8(op) + string(v) for n, op, v in ops])]) + i8(1 if validate_only else 0))
    c = Conn(broker.port)
    try:
        r = Reader(c.call(44, 0, body))
    finally:
        c.close()
    r.i32()  # throttle
    assert r.i32() == 1
    err, msg = r.i16(), r.string()
    assert r.i8() == 2 and r.string() == topic
    return err, msg


def test_list_offsets(broker):
    admin = admin_for(broker)
    admin.create_topics([NewTopic("ts", 1, 1)])["ts"].result(60)
    base = int(time.time() * 1000) - 600000
    deltas = [0, 10, 20, 90, 30, 40, 50, 60, 70, 80]  # seconds; offset 3 holds the maximum
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50})
    for i, d in enumerate(deltas):  # one batch, then single-record batches
        p.produce("ts", value=b"%d" % i, partition=0, timestamp=base + d * 1000)
    assert p.flush(60) == 0
    for i, d in enumerate(deltas):
        p.produce("ts", value=b"%d" % (i + 10), partition=0, timestamp=base + (100 + d) * 1000)
        assert p.flush(60) == 0

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "lo"})
    try:
        assert c.get_watermark_offsets(TopicPartition("ts", 0), timeout=30) == (0, 20)

        def by_time(ts):
            [tp] = c.offsets_for_times([TopicPartition("ts", 0, ts)], timeout=30)
            assert tp.error is None, tp.error
            return tp.offset

        assert by_time(base - 1000) == 0
        assert by_time(base) == 0
        assert by_time(base + 1) == 1
        # First record at or after the time, inside a batch of unordered times.
        assert by_time(base + 25000) == 3
        assert by_time(base + 91000) == 10
        assert by_time(base + 125000) == 13
        assert by_time(base + 181000) == 13 and by_time(base + 190000) == 13
        assert by_time(base + 191000) == -1  # after every record: no offset
    finally:
        c.close()

    assert list_offsets_v7(broker, "ts", 0, -2)[::2] == (0, 0)  # earliest
    assert list_offsets_v7(broker, "ts", 0, -1)[::2] == (0, 20)  # latest
    assert list_offsets_v7(broker, "ts", 0, -3) == (0, base + 190000, 13)  # max timestamp
    assert list_offsets_v7(broker, "ts", 0, base + 25000) == (0, base + 90000, 3)
    assert list_offsets_v7(broker, "no-such", 0, -1)[0] == 3


def test_delete_records(broker):
    admin = admin_for(broker)
    admin.create_topics([NewTopic("dr", 2, 1)])["dr"].result(60)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(100):
        p.produce("dr", value=b"%d" % i, partition=0)
        p.produce("dr", value=b"%d" % i, partition=1)
    assert p.flush(60) == 0

    assert delete_records_v0(broker, "dr", 0, 40) == (KERR_NONE, 40)
    assert delete_records_v0(broker, "dr", 0, 10) == (KERR_NONE, 40)  # never moves back
    assert delete_records_v0(broker, "dr", 1, -1) == (KERR_NONE, 100)  # -1: high watermark
    assert delete_records_v0(broker, "dr", 0, 101)[0] == KERR_OFFSET_OUT_OF_RANGE
    assert delete_records_v0(broker, "dr", 5, 1)[0] == 3
    assert list_offsets_v7(broker, "dr", 0, -2)[::2] == (0, 40)
    assert fetch_v4_error(broker, "dr", 0, 39) == KERR_OFFSET_OUT_OF_RANGE
    assert fetch_v4_error(broker, "dr", 0, 40) == KERR_NONE

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "dr",
                  "enable.auto.commit": False})
    try:
        assert c.get_watermark_offsets(TopicPartition("dr", 0), timeout=30) == (40, 100)
        assert c.get_watermark_offsets(TopicPartition("dr", 1), timeout=30) == (100, 100)
    finally:
        c.close()

    # A consumer below the low watermark: an error with auto.offset.reset=error ...
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "dr",
                  "enable.auto.commit": False, "auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition("dr", 0, 5)])
        m = wait_until(lambda: c.poll(0.5), 60, "the out-of-range error")
        assert m.error() is not None and m.error().code() == KafkaError._AUTO_OFFSET_RESET, \
            m.error()
        assert "out of range" in m.error().str().lower(), m.error().str()
    finally:
        c.close()
    # ... and a reset to the log start with auto.offset.reset=earliest.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "dr",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition("dr", 0, 5)])
        m = wait_until(lambda: c.poll(0.5), 60, "a record after the reset")
        assert m.error() is None and (m.offset(), m.value()) == (40, b"40")
    finally:
        c.close()


def test_incremental_alter_configs(broker):
    admin = admin_for(broker)
    admin.create_topics([NewTopic("inc", 1, 1, config={"max.message.bytes": "300000"})])[
        "inc"].result(60)
    assert incremental_alter_v0(broker, "inc", [("retention.ms", 0, "5000")])[0] == KERR_NONE
    cfg = topic_configs(admin, "inc")
    # Incremental: the other explicitly set key stays.
    assert cfg["retention.ms"].value == "5000" and cfg["max.message.bytes"].value == "300000"
    assert incremental_alter_v0(broker, "inc", [("cleanup.policy", 2, "compact")])[0] == KERR_NONE
    assert topic_configs(admin, "inc")["cleanup.policy"].value == "delete,compact"
    assert incremental_alter_v0(broker, "inc", [("cleanup.policy", 3, "delete")])[0] == KERR_NONE
    assert topic_configs(admin, "inc")["cleanup.policy"].value == "compact"
    assert incremental_alter_v0(broker, "inc", [("max.message.bytes", 1, None)])[0] == KERR_NONE
    cfg = topic_configs(admin, "inc")
    assert cfg["max.message.bytes"].is_default and cfg["retention.ms"].value == "5000"
    assert incremental_alter_v0(broker, "inc", [("retention.ms", 0, "1")], True)[0] == KERR_NONE
    assert topic_configs(admin, "inc")["retention.ms"].value == "5000"
    assert incremental_alter_v0(broker, "inc", [("no.such.config", 0, "1")])[0] == \
        KERR_INVALID_CONFIG
    assert incremental_alter_v0(broker, "no-such", [("retention.ms", 0, "1")])[0] == 3


def test_kafkajs_admin_round_trip(broker):
    out = node("kjs_admin.js", broker.bootstrap).stdout
    assert out.strip().endswith("kjs-admin ok"), out


@pytest.mark.parametrize("clean", [True, False], ids=["SIGTERM", "SIGKILL"])
def test_metadata_survives_restart(broker, clean):
    admin = admin_for(broker)
    admin.create_topics([NewTopic("keep", 3, 1, config={"retention.ms": "123456"})])[
        "keep"].result(60)
    assert incremental_alter_v0(broker, "keep", [("max.message.bytes", 0, "5000")])[0] == 0
    admin.create_partitions([NewPartitions("keep", 5)])["keep"].result(60)
    admin.create_topics([NewTopic("again", 2, 1)])["again"].result(60)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        p.produce("again", value=b"old %d" % i, partition=i % 2)
    assert p.flush(60) == 0
    # Deleted and created again under the same name: none of the old records.
    admin.delete_topics(["again"])["again"].result(60)
    wait_until(lambda: partitions_of(admin, "again") is None, 30, "the topic to be gone")
    admin.create_topics([NewTopic("again", 1, 1)])["again"].result(60)

    def check():
        topics = set(admin_for(broker).list_topics(timeout=30).topics) - {"__consumer_offsets"}
        assert topics == {"keep", "again"}
        assert partitions_of(admin_for(broker), "keep") == 5
        cfg = topic_configs(admin_for(broker), "keep")
        assert cfg["retention.ms"].value == "123456"
        assert cfg["max.message.bytes"].value == "5000"
        assert partitions_of(admin_for(broker), "again") == 1
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "again"})
        try:
            return c.get_watermark_offsets(TopicPartition("again", 0), timeout=30)
        finally:
            c.close()

    assert check() == (0, 0)
    p.produce("again", value=b"new", partition=0)
    assert p.flush(60) == 0
    broker.restart(clean=clean)
    assert check() == (0, 1)
