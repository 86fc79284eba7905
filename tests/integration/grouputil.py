"""Helpers shared by the consumer-group integration tests: topic creation,
keyed production, confluent-kafka group consumers running in threads that
record every message, commit and assignment, AdminClient snapshots of group
state, and poll-until waiting."""
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

# Short timeouts keep rebalances quick (the broker's minimum session timeout
# is 6000 ms); generous test deadlines keep the tests from being flaky on a
# loaded machine.
SESSION_MS = 6000
HEARTBEAT_MS = 500
DEADLINE = 90.0


def wait_until(cond, timeout=DEADLINE, interval=0.1, what="condition"):
    """Polls cond() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create_topic(broker, name, partitions):
    a = admin(broker)  # must outlive the future
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    fs[name].result(30)
    return name


def produce(broker, topic, n, start=0, prefix="m"):
    """Produces n keyed messages (values "<prefix>-<i>" for i in
    [start, start+n)) with acks=all; returns {value: (partition, offset)}."""
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5,
                  "enable.idempotence": False})
    out = {}
    errors = []

    def dr(err, msg):
        if err:
            errors.append(err)
        else:
            out[msg.value().decode()] = (msg.partition(), msg.offset())

    for i in range(start, start + n):
        while True:
            try:
                p.produce(topic, key=("k%d" % i).encode(), value=("%s-%d" % (prefix, i)).encode(),
                          on_delivery=dr)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(60) == 0
    assert not errors, errors[:5]
    assert len(out) == n
    return out


def end_offsets(broker, topic, partitions):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "end-offsets-probe"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in range(partitions)}
    finally:
        c.close()


def consumer_config(broker, group, **extra):
    conf = {
        "bootstrap.servers": broker.bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": HEARTBEAT_MS,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    conf.update({k.replace("_", "."): v for k, v in extra.items()})
    return conf


class GroupConsumer:
    """A confluent-kafka consumer in its own thread. It records each message
    as (monotonic time, partition, offset, value), commits synchronously
    after each batch it processed (recording successful commits as
    (time, partition, next offset)), and records every assignment change."""

    def __init__(self, broker, group, topic, name, batch=200, conf=None):
        self.name = name
        self.topic = topic
        self.batch = batch
        cfg = consumer_config(broker, group)
        cfg["client.id"] = name
        cfg.update(conf or {})
        # cooperative assignors hand out and take back increments
        self.incremental = "cooperative" in cfg.get("partition.assignment.strategy", "")
        self.c = Consumer(cfg)
        self.lock = threading.Lock()
        self.seen = []
        self.commits = []
        self.commit_errors = []
        self.assignments = []  # (time, frozenset of partitions) after each change
        self.assigned = frozenset()
        self.paused = threading.Event()
        self.stop_flag = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self.c.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                         on_lost=self._on_revoke)
        self.thread.start()
        return self

    def _on_assign(self, consumer, parts):
        got = frozenset(p.partition for p in parts)
        with self.lock:
            self.assigned = self.assigned | got if self.incremental else got
            self.assignments.append((time.monotonic(), self.assigned))

    def _on_revoke(self, consumer, parts):
        gone = frozenset(p.partition for p in parts)
        with self.lock:
            self.assigned = self.assigned - gone if self.incremental else frozenset()
            self.assignments.append((time.monotonic(), self.assigned))

    def _poll_batch(self):
        """Up to self.batch messages. Single-message poll() rather than
        consume(): with consume(), librdkafka 2.0.2 was seen (debug logs) to
        pause and resume partitions around a cooperative rebalance at its
        fetch position instead of the application's, dropping messages it
        had fetched but not yet handed out -- a client bug (pause/resume
        skips are fixed in librdkafka 2.1), not the broker's."""
        out = []
        m = self.c.poll(0.2)
        while m is not None:
            if not m.error():
                out.append(m)
                if len(out) >= self.batch:
                    break
            m = self.c.poll(0)
        return out

    def _run(self):
        pending = {}  # partition -> next offset, not yet committed
        try:
            while not self.stop_flag.is_set():
                if self.paused.is_set():
                    time.sleep(0.05)
                    continue
                good = self._poll_batch()
                now = time.monotonic()
                with self.lock:
                    for m in good:
                        self.seen.append((now, m.partition(), m.offset(), m.value().decode()))
                        pending[m.partition()] = m.offset() + 1
                    owned = self.assigned
                # commit what was read, retrying a failed commit (for
                # partitions still owned) on the next round
                for p in list(pending):
                    if p not in owned:
                        del pending[p]
                if not pending:
                    continue
                offs = [TopicPartition(self.topic, p, o) for p, o in pending.items()]
                try:
                    res = self.c.commit(offsets=offs, asynchronous=False)
                    t = time.monotonic()
                    with self.lock:
                        for tp in res:
                            if tp.error is None:
                                self.commits.append((t, tp.partition, tp.offset))
                                if pending.get(tp.partition) == tp.offset:
                                    del pending[tp.partition]
                            else:
                                self.commit_errors.append((t, tp.partition, str(tp.error)))
                except KafkaException as e:
                    with self.lock:
                        self.commit_errors.append((time.monotonic(), -1, str(e)))
        except Exception as e:  # surfaced by the test through .error
            self.error = e

    def count(self):
        with self.lock:
            return len(self.seen)

    def values(self):
        with self.lock:
            return [v for _, _, _, v in self.seen]

    def current(self):
        with self.lock:
            return self.assigned

    def nassign(self):
        with self.lock:
            return len(self.assignments)

    def stop(self, close=True):
        self.stop_flag.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "%s did not stop" % self.name
        if close:
            self.c.close()
        assert self.error is None, "%s failed: %r" % (self.name, self.error)


def stable_assignment(consumers, partitions):
    """True once the consumers' current assignments are disjoint and cover
    every partition."""
    cur = [c.current() for c in consumers]
    union = set()
    for a in cur:
        if union & a:
            return False
        union |= a
    return union == set(range(partitions))


def all_committed(consumers, ends):
    """True once the consumers' last successful commits reach `ends`."""
    last = {}
    for c in consumers:
        with c.lock:
            for _, p, o in c.commits:
                last[p] = max(last.get(p, -1), o)
    return last == ends


def group_snapshot(broker, group, topic, partitions):
    """What admin clients show about a group: ListGroups + DescribeGroups
    through librdkafka (confluent AdminClient.list_groups) and through
    kafka-python's KafkaAdminClient, and OffsetFetch through kafka-python."""
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition as KTP
    groups = admin(broker).list_groups(timeout=30)
    listed = sorted(g.id for g in groups)
    g = [g for g in groups if g.id == group]
    assert len(g) == 1, listed
    g = g[0]
    assert g.error is None, g.error
    rk = {
        "state": g.state,
        "protocol_type": g.protocol_type,
        "protocol": g.protocol,
        "members": sorted((m.id, m.client_id, m.client_host, bytes(m.metadata),
                           bytes(m.assignment)) for m in g.members),
    }
    ka = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        klisted = sorted(ka.list_consumer_groups())
        (kd,) = ka.describe_consumer_groups([group])
        kp = {
            "state": kd.state,
            "protocol_type": kd.protocol_type,
            "protocol": kd.protocol,
            "members": sorted((m.member_id, m.client_id, m.client_host,
                               bytes(m.member_metadata) if isinstance(m.member_metadata, bytes)
                               else repr(m.member_metadata),
                               repr(m.member_assignment)) for m in kd.members),
        }
        offs = ka.list_consumer_group_offsets(
            group, partitions=[KTP(topic, p) for p in range(partitions)])
        offsets = {tp.partition: om.offset for tp, om in offs.items()}
    finally:
        ka.close()
    return {"listed": listed, "librdkafka": rk, "kafka-python-listed": klisted,
            "kafka-python": kp, "offsets": offsets}
