"""Round trip through real clients: 100,000 keyed messages with headers are
produced by kcat and 100,000 by librdkafka (confluent-kafka), spread over
every compression codec, onto a 4-partition topic with small segments, then read back by
confluent-kafka, kafka-python and KafkaJS. Every record (offset, key, value,
headers) and the order within every partition must be what was produced, and
every stored batch must carry the codec its producer used (librdkafka 2.0.2
silently stops compressing if the broker advertises the wrong versions)."""
import random
import struct

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kclients import (confluent_read, digest_partition, kafka_python_read, kafkajs_digests,
                      segment_batches)
from kproto import api_versions
from sltest import run

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CODEC_ID = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
PER_RUN = 20000  # 5 codecs x 20,000 = 100,000 messages from each of kcat and librdkafka
NPART = 4
TOPIC = "roundtrip"


def create_topic(bootstrap, name, partitions, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    fut[name].result(60)


def kcat_run(bootstrap, codec):
    """Produces PER_RUN 'key:value' lines with kcat; returns {value: (index,
    key, headers)}."""
    lines, expect = [], {}
    for i in range(PER_RUN):
        key = "user-%d" % (i % 101)
        value = "kcat/%s/%05d/%s" % (codec, i, "abcdefgh" * (i % 20))
        lines.append("%s:%s" % (key, value))
        expect[value.encode()] = (i, key.encode(),
                                  (("origin", b"kcat"), ("codec", codec.encode())))
    run(["kcat", "-P", "-b", bootstrap, "-t", TOPIC, "-K:", "-z", codec,
         "-H", "origin=kcat", "-H", "codec=%s" % codec, "-X", "linger.ms=20"],
        input="\n".join(lines) + "\n", timeout=300)
    return expect


def rdkafka_run(bootstrap, codec, seed):
    """Produces PER_RUN messages with confluent-kafka (binary values, a few
    null keys and null values, per-message headers); returns
    {(partition, offset): (index, key, value, headers)} from the delivery
    reports."""
    rng = random.Random(seed)
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                  "linger.ms": 20, "acks": "all"})
    acked, errors = {}, []

    def on_delivery(err, msg, what):
        if err:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = what

    for i in range(PER_RUN):
        key = None if i % 997 == 0 else b"k%d" % (i % 89)
        value = struct.pack(">I", i) + rng.randbytes(rng.randrange(0, 64)) + b"xyz" * (i % 50)
        if i % 1009 == 0:
            value = None
        headers = [("origin", b"rdkafka"), ("codec", codec.encode()), ("seq", b"%d" % i)]
        if i % 3 == 0:
            headers.append(("empty", b""))
        what = (i, key, value, tuple(headers))
        p.produce(TOPIC, key=key, value=value, headers=headers,
                  on_delivery=lambda err, msg, what=what: on_delivery(err, msg, what))
        if i % 1000 == 999:
            p.poll(0)
    assert p.flush(120) == 0, "messages still queued"
    assert not errors, "delivery errors: %s" % errors[:5]
    assert len(acked) == PER_RUN
    return acked


def lz4_negotiable(broker):
    """librdkafka 2.0.2 enables its LZ4 feature only when the broker
    advertises FindCoordinator v0 (a relic of LZ4's arrival in Kafka 0.8.2);
    without it, it silently produces uncompressed batches instead. Checked
    on its own so a narrowed FindCoordinator range is named as the cause."""
    fc = api_versions(broker.port).get(10)
    return fc is not None and fc[0] <= 0


def test_roundtrip(broker):
    bs = broker.bootstrap
    # Small segments: readers cross many segment boundaries.
    create_topic(bs, TOPIC, NPART, {"segment.bytes": "262144"})
    runs = []  # (producer, codec), in produce order
    by_value = {}  # kcat: value -> (run, index, key, headers)
    by_offset = {}  # rdkafka: (partition, offset) -> (run, index, key, value, headers)
    for n, codec in enumerate(CODECS):
        runs.append(("kcat", codec))
        for value, (i, key, headers) in kcat_run(bs, codec).items():
            by_value[value] = (len(runs) - 1, i, key, headers)
        runs.append(("rdkafka", codec))
        for po, (i, key, value, headers) in rdkafka_run(bs, codec, n).items():
            by_offset[po] = (len(runs) - 1, i, key, value, headers)
    assert len(by_value) == len(by_offset) == 100000

    ref = confluent_read(bs, TOPIC, range(NPART))
    assert sum(len(v) for v in ref.values()) == 200000
    run_of = {}  # (partition, offset) -> run
    for p, recs in ref.items():
        assert [r[0] for r in recs] == list(range(len(recs))), "offsets not contiguous"
        last = (-1, -1)  # (run, index) of the previous record in this partition
        for offset, key, value, headers in recs:
            if (p, offset) in by_offset:
                r, i, ekey, evalue, eheaders = by_offset.pop((p, offset))
                assert (key, value, headers) == (ekey, evalue, eheaders), \
                    "partition %d offset %d differs" % (p, offset)
            else:
                assert value in by_value, "unexpected record p=%d o=%d" % (p, offset)
                r, i, ekey, eheaders = by_value.pop(value)
                assert (key, headers) == (ekey, eheaders), "partition %d offset %d" % (p, offset)
            assert (r, i) > last, "order broken in partition %d at offset %d" % (p, offset)
            last = (r, i)
            run_of[(p, offset)] = r
    assert not by_value and not by_offset, "records missing"

    # Stored batches carry their producer's codec. librdkafka sends a batch
    # uncompressed when compressing would not make it smaller, so a few may
    # be plain; most records of a compressed run must be compressed.
    compressed = [0] * len(runs)
    for p in range(NPART):
        for base, last_off, attrs in segment_batches(broker.data_dir, TOPIC, p):
            r = run_of[(p, base)]
            assert run_of[(p, last_off)] == r, "a batch spans two producer runs"
            assert attrs & 7 in (0, CODEC_ID[runs[r][1]]), \
                "batch at %d: attributes %#x for %s" % (base, attrs, runs[r])
            if attrs & 7:
                compressed[r] += last_off - base + 1
    for r, (producer, codec) in enumerate(runs):
        if codec != "none":
            assert compressed[r] > PER_RUN * 0.9, "%s/%s: %d records compressed" % (
                producer, codec, compressed[r])

    kp, api_version = kafka_python_read(bs, TOPIC, range(NPART))
    assert api_version >= (2, 4), "kafka-python guessed broker version %s" % (api_version,)
    for p in range(NPART):
        assert kp[p] == ref[p], "kafka-python differs in partition %d" % p

    js = kafkajs_digests(bs, TOPIC)
    for p in range(NPART):
        assert js[p]["count"] == len(ref[p]), "KafkaJS partition %d: %s" % (p, js[p])
        assert js[p]["digest"] == digest_partition(ref[p]), "KafkaJS differs in partition %d" % p


def test_librdkafka_lz4_batches_are_compressed(broker):
    assert lz4_negotiable(broker), "FindCoordinator v0 is not advertised"
    create_topic(broker.bootstrap, "lz4", 1)
    lines = "".join("k%d:%s\n" % (i, "lz4 compresses this " * 10) for i in range(200))
    run(["kcat", "-P", "-b", broker.bootstrap, "-t", "lz4", "-K:", "-z", "lz4"], input=lines)
    batches = segment_batches(broker.data_dir, "lz4", 0)
    assert batches and all(attrs & 7 == CODEC_ID["lz4"] for _, _, attrs in batches), batches


def test_kafka_python_probe_uses_record_batch_v2(broker):
    """kafka-python 2.0.2 guesses the broker release from a few probe
    versions and hard-codes its request versions from that guess: it must
    land on 2.4 or later, so it produces magic-2 batches (with headers)."""
    from kafka import KafkaProducer
    create_topic(broker.bootstrap, "kp", 1)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip", acks="all")
    try:
        assert p.config["api_version"] >= (2, 4), p.config["api_version"]
        futs = [p.send("kp", key=b"k%d" % i, value=b"v%d" % i, headers=[("n", b"%d" % i)])
                for i in range(1000)]
        p.flush(60)
        assert [f.get(60).offset for f in futs] == list(range(1000))
    finally:
        p.close(30)
    # (Like librdkafka, kafka-python leaves a batch plain when gzip would not
    # shrink it, e.g. a lone small record.)
    batches = segment_batches(broker.data_dir, "kp", 0)
    assert all(attrs & 7 in (0, CODEC_ID["gzip"]) for _, _, attrs in batches), batches
    assert sum(last - base + 1 for base, last, attrs in batches if attrs & 7) > 900, batches
    got = confluent_read(broker.bootstrap, "kp", [0])[0]
    assert got == [(i, b"k%d" % i, b"v%d" % i, (("n", b"%d" % i),)) for i in range(1000)]
