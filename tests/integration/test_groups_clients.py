"""Consumer groups with the other client libraries, which carry their own
protocol codecs: kafka-python and KafkaJS groups that join, consume and
commit; mixed groups (librdkafka + kafka-python, kafka-python + KafkaJS);
KafkaJS's admin setOffsets to replay an inactive group; kcat's balanced
consumer (-G) and its assign()-style consumer committing with generation -1."""
import json
import os
import signal
import subprocess
import threading
import time

from kafka import ConsumerRebalanceListener, KafkaConsumer

import sltest
from grouputil import (GroupConsumer, consumer_config, create_topic, end_offsets, produce,
                       stable_assignment, wait_until)
from confluent_kafka import Consumer, TopicPartition

PARTS = 6
HERE = os.path.dirname(os.path.abspath(__file__))
JS_ENV = dict(os.environ, NODE_PATH=os.path.join(sltest.TOP, "tests", "js", "node_modules"))


def committed(broker, group, topic, partitions=PARTS):
    c = Consumer(consumer_config(broker, group))
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


class KpConsumer:
    """A kafka-python group consumer in a thread, committing synchronously
    after each poll."""

    def __init__(self, broker, group, topic, name):
        self.c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group,
                               client_id=name, auto_offset_reset="earliest",
                               enable_auto_commit=False, session_timeout_ms=6000,
                               heartbeat_interval_ms=500, fetch_max_wait_ms=200)
        self.lock = threading.Lock()
        self.assigned = frozenset()
        # kafka-python is not thread-safe: the assignment is recorded by the
        # listener, which runs in the polling thread
        outer = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                with outer.lock:
                    outer.assigned = frozenset()

            def on_partitions_assigned(self, assigned):
                with outer.lock:
                    outer.assigned = frozenset(tp.partition for tp in assigned)
        self.c.subscribe([topic], listener=Listener())
        self.seen = []
        self.stop_flag = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        try:
            while not self.stop_flag.is_set():
                recs = self.c.poll(timeout_ms=200)
                n = sum(len(v) for v in recs.values())
                if not n:
                    continue
                with self.lock:
                    for tp, msgs in recs.items():
                        for m in msgs:
                            self.seen.append((tp.partition, m.offset, m.value.decode()))
                self.c.commit()
        except Exception as e:
            self.error = e

    def current(self):
        with self.lock:
            return self.assigned

    def count(self):
        with self.lock:
            return len(self.seen)

    def values(self):
        with self.lock:
            return [v for _, _, v in self.seen]

    def stop(self):
        self.stop_flag.set()
        self.thread.join(60)
        self.c.close()
        assert self.error is None, repr(self.error)


class JsConsumer:
    """tests/integration/js/group_consumer.js as a subprocess."""

    def __init__(self, broker, group, topic, name, assigner=""):
        self.proc = subprocess.Popen(
            ["node", os.path.join(HERE, "js", "group_consumer.js"), broker.bootstrap, group,
             topic, name, assigner], stdout=subprocess.PIPE, text=True, env=JS_ENV)
        self.lock = threading.Lock()
        self.seen = []
        self.assigned = frozenset()
        self.commits = 0
        self.events = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            e = json.loads(line)
            with self.lock:
                self.events.append(e["event"])
                if e["event"] == "msg":
                    self.seen.append((e["p"], e["o"], e["v"]))
                elif e["event"] == "assign":
                    self.assigned = frozenset(e["partitions"])
                elif e["event"] == "commit":
                    self.commits += 1

    def current(self):
        with self.lock:
            return self.assigned

    def count(self):
        with self.lock:
            return len(self.seen)

    def values(self):
        with self.lock:
            return [v for _, _, v in self.seen]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(60)
        self.reader.join(10)
        assert rc == 0, "KafkaJS consumer exited with %s" % rc
        assert "stopped" in self.events


def js_admin(broker, *args):
    p = sltest.run(["node", os.path.join(HERE, "js", "group_admin.js"), broker.bootstrap]
                   + list(args), env=JS_ENV, timeout=120)
    return json.loads(p.stdout)


def read_all(consumers, want, what):
    wait_until(lambda: sum(c.count() for c in consumers) >= len(want), what=what)
    time.sleep(0.5)  # anything extra (a duplicate) would show up now
    got = sorted(v for c in consumers for v in c.values())
    assert got == sorted(want)


def test_kafka_python_group(broker):
    topic = create_topic(broker, "kp", PARTS)
    cs = [KpConsumer(broker, "gkp", topic, "kp%d" % i).start() for i in range(2)]
    try:
        wait_until(lambda: stable_assignment(cs, PARTS) and all(c.current() for c in cs),
                   what="both kafka-python consumers assigned")
        sent = produce(broker, topic, 1200)
        read_all(cs, sent, "kafka-python to read everything")
        ends = end_offsets(broker, topic, PARTS)
        wait_until(lambda: committed(broker, "gkp", topic) == ends, what="kafka-python commits")
    finally:
        for c in cs:
            c.stop()


def test_kafkajs_group(broker):
    topic = create_topic(broker, "kj", PARTS)
    cs = [JsConsumer(broker, "gkj", topic, "kj%d" % i) for i in range(2)]
    try:
        wait_until(lambda: stable_assignment(cs, PARTS) and all(c.current() for c in cs),
                   what="both KafkaJS consumers assigned")
        sent = produce(broker, topic, 1200)
        read_all(cs, sent, "KafkaJS to read everything")
        ends = end_offsets(broker, topic, PARTS)
        wait_until(lambda: committed(broker, "gkj", topic) == ends, what="KafkaJS commits")
        assert js_admin(broker, "fetch-offsets", "gkj", topic) == {str(p): o
                                                                  for p, o in ends.items()}
        d = js_admin(broker, "describe", "gkj")
        assert d["state"] == "Stable" and d["protocol"] == "RoundRobinAssigner"
        assert len(d["members"]) == 2
    finally:
        for c in cs:
            c.stop()
    assert ["gkj", "consumer"] in js_admin(broker, "list")
    assert js_admin(broker, "describe", "gkj")["state"] == "Empty"


def test_librdkafka_and_kafka_python_share_a_group(broker):
    topic = create_topic(broker, "mix1", PARTS)
    a = GroupConsumer(broker, "gmix1", topic, "rdkafka").start()
    b = KpConsumer(broker, "gmix1", topic, "kafka-python").start()
    try:
        wait_until(lambda: stable_assignment([a, b], PARTS) and a.current() and b.current(),
                   what="both clients assigned")
        sent = produce(broker, topic, 1200)
        read_all([a, b], sent, "the mixed group to read everything")
        assert a.count() > 0 and b.count() > 0
    finally:
        a.stop()
        b.stop()


def test_kafka_python_and_kafkajs_share_a_group(broker):
    """KafkaJS offers its round-robin assigner under the name "roundrobin";
    kafka-python offers range and roundrobin: the group picks roundrobin."""
    topic = create_topic(broker, "mix2", PARTS)
    a = KpConsumer(broker, "gmix2", topic, "kafka-python").start()
    b = JsConsumer(broker, "gmix2", topic, "kafkajs", assigner="roundrobin")
    try:
        wait_until(lambda: stable_assignment([a, b], PARTS) and a.current() and b.current(),
                   what="both clients assigned")
        sent = produce(broker, topic, 1200)
        read_all([a, b], sent, "the mixed group to read everything")
        assert a.count() > 0 and b.count() > 0
        assert js_admin(broker, "describe", "gmix2")["protocol"] == "roundrobin"
    finally:
        a.stop()
        b.stop()


def test_kafkajs_set_offsets_replays(broker):
    """Alter an inactive group's offsets with KafkaJS's admin.setOffsets:
    the next consumer of the group re-reads from there."""
    topic = create_topic(broker, "kjreplay", PARTS)
    sent = produce(broker, topic, 1200)
    c = GroupConsumer(broker, "gkjr", topic, "first").start()
    wait_until(lambda: c.count() >= 1200, what="the first read")
    ends = end_offsets(broker, topic, PARTS)
    wait_until(lambda: committed(broker, "gkjr", topic) == ends, what="the first read's commits")
    c.stop()
    back = {p: ends[p] // 4 for p in range(PARTS)}
    assert js_admin(broker, "set-offsets", "gkjr", topic, json.dumps(back)) == {"ok": True}
    assert committed(broker, "gkjr", topic) == back
    c2 = GroupConsumer(broker, "gkjr", topic, "again").start()
    try:
        read_all([c2], [v for v, (p, o) in sent.items() if o >= back[p]], "the replay")
    finally:
        c2.stop()


def test_kcat_balanced_and_simple_consumers(broker):
    topic = create_topic(broker, "kc", 2)
    sent = produce(broker, topic, 200)
    ends = end_offsets(broker, topic, 2)
    # -G: a balanced consumer in a real group; commits on its way out
    p = sltest.run(["kcat", "-b", broker.bootstrap, "-G", "gkc", "-X", "auto.offset.reset=earliest",
                    "-o", "beginning", "-e", "-q", "-f", "%s\\n", topic], timeout=120)
    assert sorted(p.stdout.split()) == sorted(sent)
    assert committed(broker, "gkc", topic, 2) == ends
    # -C -o stored with a group.id: assign()-style consumption of one
    # partition whose offsets are committed without any group membership
    # (generation -1); a second run resumes from them
    def simple():
        return sltest.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o",
                           "stored", "-e", "-q", "-f", "%s\\n", "-X", "group.id=gkc-simple",
                           "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=100"],
                          timeout=120).stdout.split()
    assert sorted(simple()) == sorted(v for v, (part, _) in sent.items() if part == 0)
    got = committed(broker, "gkc-simple", topic, 2)
    assert got[0] == ends[0] and got[1] < 0, got
    more = produce(broker, topic, 200, start=200)
    assert sorted(simple()) == sorted(v for v, (part, _) in more.items() if part == 0)
    assert committed(broker, "gkc-simple", topic, 2)[0] == end_offsets(broker, topic, 2)[0]
