"""Consumer groups with real clients against a real sluiced: more consumers
than partitions, independent groups, replay from an earlier committed offset
(plain assign()+commit, the "simple" commit with generation -1), and
OffsetDelete."""
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

import kraw
from grouputil import (GroupConsumer, admin, consumer_config, create_topic, end_offsets,
                       produce, stable_assignment, wait_until)

PARTS = 6


def consume_all(consumers, want, what):
    wait_until(lambda: sum(c.count() for c in consumers) >= want, what=what)


def test_more_consumers_than_partitions(broker):
    """8 consumers, 6 partitions: exactly 6 get one partition each, 2 stay
    idle until members leave and a rebalance gives them one."""
    topic = create_topic(broker, "eight", PARTS)
    cs = [GroupConsumer(broker, "g8", topic, "c%d" % i).start() for i in range(8)]
    try:
        wait_until(lambda: stable_assignment(cs, PARTS) and
                   sum(1 for c in cs if c.current()) == 6 and
                   all(c.nassign() > 0 for c in cs),
                   what="6 of 8 consumers owning one partition each")
        sizes = sorted(len(c.current()) for c in cs)
        assert sizes == [0, 0, 1, 1, 1, 1, 1, 1], sizes
        # all 8 are members of the group; 6 have an assignment
        (g,) = admin(broker).list_groups("g8", timeout=30)
        assert g.state == "Stable" and len(g.members) == 8
        owned = [kraw.parse_assignment(bytes(m.assignment)) for m in g.members]
        assert sorted(len(a.get(topic, [])) for a in owned) == [0, 0, 1, 1, 1, 1, 1, 1]
        # the idle ones consume nothing; everything produced is read once
        produce(broker, topic, 600)
        consume_all(cs, 600, "600 messages")
        idle = [c for c in cs if not c.current()]
        assert len(idle) == 2 and all(c.count() == 0 for c in idle)
        # two owners leave: the idle ones take over their partitions
        owners = [c for c in cs if c.current()]
        for c in owners[:2]:
            c.stop()
        rest = [c for c in cs if c not in owners[:2]]
        wait_until(lambda: stable_assignment(rest, PARTS) and
                   all(len(c.current()) == 1 for c in rest),
                   what="6 remaining consumers owning one partition each")
        produce(broker, topic, 600, start=600)
        consume_all(cs, 1200, "1200 messages")
        assert all(c.count() > 0 for c in idle)
        vals = sorted(v for c in cs for v in c.values())
        assert vals == sorted("m-%d" % i for i in range(1200))
    finally:
        for c in cs:
            if c.thread.is_alive():
                c.stop()


def test_two_groups_read_independently(broker):
    topic = create_topic(broker, "shared", PARTS)
    produce(broker, topic, 3000)
    a = [GroupConsumer(broker, "ga", topic, "a%d" % i).start() for i in range(2)]
    b = [GroupConsumer(broker, "gb", topic, "b%d" % i).start() for i in range(3)]
    try:
        consume_all(a, 3000, "group ga to read everything")
        consume_all(b, 3000, "group gb to read everything")
        want = sorted("m-%d" % i for i in range(3000))
        for group in (a, b):
            assert sorted(v for c in group for v in c.values()) == want
        ends = end_offsets(broker, topic, PARTS)
        wait_until(lambda: committed(broker, "ga", topic, PARTS) == ends, what="ga's commits")
        wait_until(lambda: committed(broker, "gb", topic, PARTS) == ends, what="gb's commits")
    finally:
        for c in a + b:
            c.stop()
    # a third group starts from the beginning regardless of the others
    c = GroupConsumer(broker, "gc", topic, "c0").start()
    try:
        consume_all([c], 3000, "group gc to read everything")
        assert sorted(c.values()) == sorted("m-%d" % i for i in range(3000))
    finally:
        c.stop()


def committed(broker, group, topic, partitions):
    c = Consumer(consumer_config(broker, group))
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


def test_replay_after_plain_commit(broker):
    """An inactive group's offsets moved back by a plain OffsetCommit
    (assign() + commit(): generation -1): the next consumer re-reads from
    there."""
    topic = create_topic(broker, "replay", PARTS)
    sent = produce(broker, topic, 1200)
    c = GroupConsumer(broker, "gr", topic, "r0").start()
    consume_all([c], 1200, "first read")
    ends = end_offsets(broker, topic, PARTS)
    wait_until(lambda: {p: o for _, p, o in c.commits} == ends, what="all committed")
    c.stop()
    assert committed(broker, "gr", topic, PARTS) == ends

    back = {p: ends[p] // 3 for p in range(PARTS)}
    s = Consumer(consumer_config(broker, "gr"))
    try:
        s.assign([TopicPartition(topic, p) for p in range(PARTS)])
        res = s.commit(offsets=[TopicPartition(topic, p, o) for p, o in back.items()],
                       asynchronous=False)
        assert all(tp.error is None for tp in res)
    finally:
        s.close()
    assert committed(broker, "gr", topic, PARTS) == back

    c2 = GroupConsumer(broker, "gr", topic, "r1").start()
    try:
        want = sorted(v for v, (p, o) in sent.items() if o >= back[p])
        consume_all([c2], len(want), "the replay")
        wait_until(lambda: {p: o for _, p, o in c2.commits} == ends, what="replay committed")
        assert sorted(c2.values()) == want
    finally:
        c2.stop()


def test_simple_commit_with_assign(broker):
    """librdkafka's assign() + commit() is the "simple" commit (generation
    -1, no member id): accepted while the group has no members, refused with
    UNKNOWN_MEMBER_ID while it has; a subscribed consumer then starts from
    the simple commit."""
    topic = create_topic(broker, "simple", PARTS)
    sent = produce(broker, topic, 600)
    ends = end_offsets(broker, topic, PARTS)
    start = {p: ends[p] // 2 for p in range(PARTS)}

    s = Consumer(consumer_config(broker, "gs"))
    s.assign([TopicPartition(topic, p, 0) for p in range(PARTS)])
    res = s.commit(offsets=[TopicPartition(topic, p, o) for p, o in start.items()],
                   asynchronous=False)
    assert all(tp.error is None for tp in res)
    assert committed(broker, "gs", topic, PARTS) == start

    # a real member makes the group non-empty: simple commits are refused
    m = GroupConsumer(broker, "gs", topic, "member").start()
    try:
        want = sorted(v for v, (p, o) in sent.items() if o >= start[p])
        consume_all([m], len(want), "the member to read from the simple commits")
        assert sorted(m.values()) == want
        try:
            res = s.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
            errs = [tp.error for tp in res]
        except KafkaException as e:
            errs = [e.args[0]]
        assert errs and errs[0] is not None and errs[0].code() == KafkaError.UNKNOWN_MEMBER_ID, errs
    finally:
        m.stop()
        s.close()


def test_offset_delete(broker):
    """OffsetDelete (not sent by the Python clients; raw protocol): removes
    the offsets of an unsubscribed topic, refuses a subscribed one; deleting
    a partition that has no committed offset used to answer twice and crash
    the broker."""
    topic = create_topic(broker, "odel", 2)
    other = create_topic(broker, "odel-other", 2)
    s = Consumer(consumer_config(broker, "gd"))
    s.assign([TopicPartition(topic, 0, 0)])
    assert all(tp.error is None for tp in s.commit(
        offsets=[TopicPartition(topic, 0, 5), TopicPartition(other, 0, 7)], asynchronous=False))
    s.close()
    k = kraw.Conn(broker.bootstrap)
    try:
        # nothing committed for partition 1: answered once, no error
        assert k.offset_delete("gd", topic, [1]) == (0, {1: 0})
        assert k.offset_fetch("gd", topic, [0, 1]) == {0: 5, 1: -1}
        assert k.offset_delete("gd", topic, [0, 1]) == (0, {0: 0, 1: 0})
        assert k.offset_fetch("gd", topic, [0, 1]) == {0: -1, 1: -1}
        assert k.offset_fetch("gd", other, [0]) == {0: 7}
        # unknown group / partition
        err, _ = k.offset_delete("no-such-group", topic, [0])
        assert err == 69  # GROUP_ID_NOT_FOUND
        assert k.offset_delete("gd", other, [9]) == (0, {9: 3})  # UNKNOWN_TOPIC_OR_PARTITION
        # a topic the active group subscribes to
        m = GroupConsumer(broker, "gd", other, "member").start()
        try:
            wait_until(lambda: m.current() == {0, 1}, what="the member's assignment")
            assert k.offset_delete("gd", other, [0]) == (0, {0: 86})  # GROUP_SUBSCRIBED_TO_TOPIC
            assert k.offset_delete("gd", topic, [0]) == (0, {0: 0})
        finally:
            m.stop()
    finally:
        k.close()


def test_offset_fetch_of_many_partitions(broker):
    """OffsetFetch of all of a group's offsets (kafka-python's
    list_consumer_group_offsets without partitions) for a topic with 1500
    committed partitions: the response used to grow one partition at a time
    in the request arena, quadratic memory that aborted the broker from
    about 800 partitions on."""
    from kafka.admin import KafkaAdminClient
    n = 1500
    topic = create_topic(broker, "wide", n)
    c = Consumer(consumer_config(broker, "gwide"))
    try:
        res = c.commit(offsets=[TopicPartition(topic, p, p + 1) for p in range(n)],
                       asynchronous=False)
        assert all(tp.error is None for tp in res)
    finally:
        c.close()
    ka = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        got = ka.list_consumer_group_offsets("gwide")
    finally:
        ka.close()
    assert {tp.partition: om.offset for tp, om in got.items() if tp.topic == topic} == {
        p: p + 1 for p in range(n)}
