"""Client-side helpers shared by the integration tests: read whole partitions
with confluent-kafka, kafka-python and KafkaJS, compare them through one
canonical record encoding, poll for a condition, and run the node scripts.

Runs under /usr/bin/python3 (Debian's Kafka clients load only there)."""
import hashlib
import json
import os
import struct
import time

from sltest import TOP, run

JS_DIR = os.path.join(TOP, "tests", "integration", "js")
NODE_MODULES = os.path.join(TOP, "tests", "js", "node_modules")


def wait_until(cond, timeout=60.0, what="condition", interval=0.05):
    """Polls cond() until it returns a true value (returned) or fails after
    timeout seconds."""
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def node(script, *args, timeout=300, check=True):
    """Runs tests/integration/js/<script> with KafkaJS on NODE_PATH."""
    env = dict(os.environ, NODE_PATH=NODE_MODULES, KAFKAJS_NO_PARTITIONER_WARNING="1")
    return run(["node", os.path.join(JS_DIR, script)] + [str(a) for a in args],
               timeout=timeout, check=check, env=env)


def norm_headers(headers):
    """Headers as a list of (str name, bytes-or-None value), whatever the client."""
    out = []
    for name, value in headers or []:
        if isinstance(name, bytes):
            name = name.decode()
        out.append((name, value))
    return out


def record(offset, key, value, headers):
    return (offset, key, value, tuple(norm_headers(headers)))


def digest_partition(records):
    """sha256 over (offset, key, value, headers) of every record, in order;
    the same encoding as js/kjs_read.js."""
    h = hashlib.sha256()

    def field(b):
        if b is None:
            h.update(struct.pack(">i", -1))
        else:
            h.update(struct.pack(">i", len(b)))
            h.update(b)

    for offset, key, value, headers in records:
        h.update(struct.pack(">q", offset))
        field(key)
        field(value)
        h.update(struct.pack(">i", len(headers)))
        for name, v in headers:
            field(name.encode())
            field(v)
    return h.hexdigest()


def confluent_read(bootstrap, topic, partitions, start=None, timeout=180.0, extra=None):
    """Reads every partition from `start` (dict partition -> offset; default
    the log start) to its high watermark with a confluent-kafka consumer
    (assign, no group membership). Returns {partition: [record, ...]}."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    conf = {"bootstrap.servers": bootstrap, "group.id": "sluice-test-reader",
            "enable.auto.commit": False, "enable.partition.eof": False,
            "auto.offset.reset": "error"}
    conf.update(extra or {})
    c = Consumer(conf)
    try:
        ends, first = {}, {}
        for p in partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            first[p] = max(lo, (start or {}).get(p, lo))
            ends[p] = hi
        out = {p: [] for p in partitions}
        c.assign([TopicPartition(topic, p, first[p] if start else OFFSET_BEGINNING)
                  for p in partitions])
        deadline = time.time() + timeout

        def done():
            return all((out[p][-1][0] + 1 if out[p] else first[p]) >= ends[p] for p in partitions)

        while not done():
            assert time.time() < deadline, "timed out reading %s: %s of %s" % (
                topic, {p: len(v) for p, v in out.items()}, ends)
            for m in c.consume(num_messages=5000, timeout=0.5):
                assert not m.error(), "consume error: %s" % m.error()
                out[m.partition()].append(record(m.offset(), m.key(), m.value(), m.headers()))
        return out
    finally:
        c.close()


def kafka_python_read(bootstrap, topic, partitions, timeout=180.0):
    """Reads every partition from its log start to its high watermark with
    kafka-python (version probing left on). Returns ({partition: [record]},
    the api_version kafka-python settled on)."""
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", consumer_timeout_ms=1000,
                      max_partition_fetch_bytes=1 << 20)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        out = {p: [] for p in partitions}
        deadline = time.time() + timeout

        def done():
            return all(c.position(tp) >= ends[tp] for tp in tps)

        while not done():
            assert time.time() < deadline, "kafka-python timed out reading %s" % topic
            for tp, msgs in c.poll(timeout_ms=500, max_records=10000).items():
                for m in msgs:
                    out[tp.partition].append(record(m.offset, m.key, m.value, m.headers))
        return out, c.config["api_version"]
    finally:
        c.close()


def kafkajs_digests(bootstrap, topic):
    """{partition: {"count", "first", "last", "digest"}} read by KafkaJS's
    consumer (in a consumer group, default isolation read_committed)."""
    p = node("kjs_read.js", bootstrap, topic)
    out = {}
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            out[d["partition"]] = d
    return out


def segment_batches(data_dir, topic, partition):
    """(base offset, last offset, attributes) of every batch stored in the
    partition's segment files, read straight from disk (stored bytes are
    wire bytes; see src/log/segment.c)."""
    d = os.path.join(data_dir, "logs", "%s-%d" % (topic, partition))
    out = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            attrs, last_delta = struct.unpack_from(">hi", data, pos + 21)
            out.append((base, base + last_delta, attrs))
            pos += 12 + length
    return out
