"""Durability across broker stops: after SIGKILL in the middle of acks=all
produces, every acknowledged message is there after the restart, and a
consumer resumes from the offset it had reached. After SIGTERM the shutdown
is clean (logged) and the next start skips recovery."""
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kclients import confluent_read, wait_until

TOPIC = "durable"
NPART = 3


def log_section(broker, start):
    """The log lines written by the start-th start of this broker."""
    text = broker.log_text()
    marker = "==== start %d ====" % start
    assert marker in text, "no log of start %d" % start
    section = text.split(marker, 1)[1]
    return section.split("==== start %d ====" % (start + 1), 1)[0]


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(60)


def message(i):
    return b"k%d" % (i % 50), b"durable message %06d " % i + b"." * (i % 200)


def read_partition(bootstrap, topic, partition, offset, count, timeout=60):
    """count records of one partition from offset, via assign()."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "resume",
                  "enable.auto.commit": False, "auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, partition, offset)])
        out = []

        def more():
            for m in c.consume(1000, 0.5):
                assert m.error() is None, m.error()
                out.append((m.offset(), m.key(), m.value()))
            return len(out) >= count

        wait_until(more, timeout, "%d records of %s-%d" % (count, topic, partition), 0)
        return out
    finally:
        c.close()


def test_sigkill_keeps_every_acknowledged_message(broker_factory):
    b = broker_factory().start()
    create_topic(b.bootstrap, TOPIC, NPART)
    acked = {}  # (partition, offset) -> message index
    errors = []

    def on_delivery(err, msg, i):
        if err:
            errors.append((i, err))
        else:
            acked[(msg.partition(), msg.offset())] = i

    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 2,
                  "message.timeout.ms": 120000, "reconnect.backoff.max.ms": 200})
    total = 30000

    def produce(lo, hi):
        for i in range(lo, hi):
            key, value = message(i)
            p.produce(TOPIC, key=key, value=value, on_delivery=lambda e, m, i=i: on_delivery(e, m, i))
            if i % 500 == 0:
                p.poll(0)

    # A consumer reads part of partition 0 and remembers where it stopped.
    produce(0, 10000)
    assert p.flush(60) == 0 and not errors
    first = read_partition(b.bootstrap, TOPIC, 0, 0, 1000)
    resume_at = first[-1][0] + 1
    # The position is also committed for a consumer group (acknowledged
    # commits are durable too).
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "resume-group",
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(TOPIC, 0, resume_at)], asynchronous=False)
    finally:
        c.close()

    # Kill the broker while acks=all produces are in flight: the producer
    # keeps sending, and the kill comes once 15,000 are acknowledged.
    killed_with = None
    for i in range(10000, total):
        key, value = message(i)
        p.produce(TOPIC, key=key, value=value, on_delivery=lambda e, m, i=i: on_delivery(e, m, i))
        if i % 100 == 0:
            p.poll(0)
        if killed_with is None and len(acked) >= 15000:
            b.kill()
            killed_with = len(acked)
        if killed_with is None and i == total - 1:
            wait_until(lambda: p.poll(0.05) >= 0 and len(acked) >= 15000, 60, "15,000 acks")
            b.kill()
            killed_with = len(acked)
    p.poll(0.5)

    b.start()
    section = log_section(b, 2)
    assert "was not shut down cleanly: recovering" in section
    assert "partitions (recovered)" in section

    # The producer reconnects and delivers the rest (a retry after the kill
    # may store a message twice: without idempotence that is allowed).
    assert p.flush(120) == 0, "messages still queued"
    assert not errors, errors[:5]
    assert set(acked.values()) == set(range(total))

    got = confluent_read(b.bootstrap, TOPIC, range(NPART))
    for (part, offset), i in acked.items():
        recs = got[part]
        assert offset < len(recs), "acknowledged offset %d of partition %d lost" % (offset, part)
        assert recs[offset] == (offset, *message(i), ()), "partition %d offset %d" % (part, offset)

    # Resume by offset: the rest of partition 0, from where the first read
    # stopped, as the group's committed offset says.
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "resume-group",
                  "enable.auto.commit": False})
    try:
        [tp] = c.committed([TopicPartition(TOPIC, 0)], timeout=60)
        assert tp.error is None and tp.offset == resume_at, tp
    finally:
        c.close()
    rest = read_partition(b.bootstrap, TOPIC, 0, resume_at, len(got[0]) - resume_at)
    assert [r[0] for r in rest] == list(range(resume_at, len(got[0])))
    assert rest == [(o, k, v) for o, k, v, _ in got[0][resume_at:]]

    b.stop_clean()


def test_sigterm_is_clean_and_restart_skips_recovery(broker_factory):
    b = broker_factory().start()
    create_topic(b.bootstrap, TOPIC, NPART)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    for i in range(3000):
        p.produce(TOPIC, key=message(i)[0], value=message(i)[1])
    assert p.flush(60) == 0

    b.stop_clean()
    first = log_section(b, 1)
    assert "received SIGTERM, shutting down" in first
    assert "closed log directory" in first and "(clean)" in first.split("closed log directory")[1]

    b.start()
    second = log_section(b, 2)
    assert "partitions (clean)" in second, second
    assert "recovering" not in second, second
    assert "not shut down cleanly" not in second, second
    got = confluent_read(b.bootstrap, TOPIC, range(NPART))
    assert sum(len(v) for v in got.values()) == 3000

    b.stop_clean()
