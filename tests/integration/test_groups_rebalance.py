"""Rebalances with real librdkafka consumers: exactly-once reading by a
stable 3-member group, a 4th member joining and one leaving mid-stream (no
loss, duplicates only past the last commit), a member that stops
heartbeating (SIGSTOP) losing its partitions, and a static member restarted
within its session timeout without any rebalance."""
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

import kraw
from grouputil import (GroupConsumer, all_committed, create_topic, end_offsets, produce,
                       stable_assignment, wait_until)

PARTS = 6
HERE = os.path.dirname(os.path.abspath(__file__))


def group_log(broker, group):
    return "\n".join(ln for ln in broker.log_text().splitlines() if "group=%s " % group in ln)


def rebalances(broker, group):
    return broker.log_text().count("rebalance complete group=%s " % group)


def check_deliveries(consumers, expected):
    """Every expected message was delivered (no loss), and a message was
    delivered again only if no successful commit had covered it before the
    new delivery (duplicates only past the last commit)."""
    deliveries = defaultdict(list)  # value -> [(time, partition, offset)]
    for c in consumers:
        for t, p, o, v in c.seen:
            deliveries[v].append((t, p, o))
    assert set(deliveries) == set(expected)
    commits = defaultdict(list)  # partition -> [(time, next offset)]
    for c in consumers:
        for t, p, o in c.commits:
            commits[p].append((t, o))
    dups = 0
    for v, ds in deliveries.items():
        ds.sort()
        for t2, p, o in ds[1:]:
            dups += 1
            covered = max([off for t, off in commits[p] if t < t2], default=-1)
            assert o >= covered, (
                "%s (partition %d offset %d) delivered again at %.3f although offset %d "
                "was committed before" % (v, p, o, t2, covered))
    return dups


def produce_slowly(broker, topic, start, chunks, done, produced):
    for chunk in range(chunks):
        produced.update(produce(broker, topic, 1000, start=start + chunk * 1000))
        time.sleep(0.05)
    done.set()


def test_exactly_once_then_rebalance_mid_stream(broker):
    topic = create_topic(broker, "eo", PARTS)
    cs = [GroupConsumer(broker, "geo", topic, "c%d" % i).start() for i in (1, 2, 3)]
    c1, c2, c3 = cs
    c4 = None
    try:
        wait_until(lambda: stable_assignment(cs, PARTS) and
                   all(len(c.current()) == 2 for c in cs), what="3 members with 2 partitions each")
        n_assign = [c.nassign() for c in cs]
        n_rebalances = rebalances(broker, "geo")

        # Phase 1: stable membership, 30,000 messages, each read exactly once.
        sent = produce(broker, topic, 30000)
        wait_until(lambda: sum(c.count() for c in cs) >= 30000, what="30,000 messages")
        ends = end_offsets(broker, topic, PARTS)
        wait_until(lambda: all_committed(cs, ends), what="every partition committed")
        values = [v for c in cs for v in c.values()]
        assert len(values) == 30000, "duplicates: %d" % (len(values) - len(set(values)))
        assert set(values) == set(sent)
        assert [c.nassign() for c in cs] == n_assign, "membership changed"
        assert rebalances(broker, "geo") == n_rebalances
        for c in cs:
            assert not c.commit_errors, c.commit_errors[:5]
            # a partition is read by its owner only
            assert {p for _, p, _, _ in c.seen} <= c.current()

        # Phase 2: 30,000 more while a 4th member joins and c1 leaves.
        done = threading.Event()
        produced = {}
        pt = threading.Thread(target=produce_slowly,
                              args=(broker, topic, 30000, 30, done, produced), daemon=True)
        pt.start()
        wait_until(lambda: sum(c.count() for c in cs) >= 35000, what="mid-stream")
        c4 = GroupConsumer(broker, "geo", topic, "c4").start()
        members = [c1, c2, c3, c4]
        wait_until(lambda: c4.current() and stable_assignment(members, PARTS),
                   what="the 4th member to get partitions")
        c1.stop()  # a clean close: LeaveGroup
        members = [c2, c3, c4]
        wait_until(lambda: stable_assignment(members, PARTS) and
                   all(len(c.current()) == 2 for c in members), what="c1's partitions moving")
        wait_until(done.is_set, what="the producer")
        pt.join()
        ends = end_offsets(broker, topic, PARTS)
        wait_until(lambda: all_committed([c1, c2, c3, c4], ends), what="every partition committed")
        assert "member left group=geo member=c1-" in broker.log_text(), group_log(broker, "geo")

        check_deliveries([c1, c2, c3, c4], set(sent) | set(produced))
        assert len(produced) == 30000
    finally:
        for c in cs + ([c4] if c4 else []):
            if c.thread.is_alive():
                c.stop()


def test_cooperative_sticky_rebalances(broker):
    """librdkafka's cooperative-sticky assignor (incremental rebalances, two
    JoinGroup rounds per change, owned partitions in the metadata): a join
    and a leave mid-stream lose nothing, and duplicates are only past the
    last commit. (Stickiness itself is not asserted: what moves is the
    client-side assignor's decision, and in one run of about thirty a
    member's partitions did move whole, e.g. after the client considered
    its assignment lost.)"""
    topic = create_topic(broker, "coop", PARTS)
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    cs = [GroupConsumer(broker, "gcoop", topic, "k%d" % i, conf=conf).start() for i in (1, 2, 3)]
    k1, k2, k3 = cs
    k4 = None
    try:
        wait_until(lambda: stable_assignment(cs, PARTS) and
                   all(len(c.current()) == 2 for c in cs), what="3 members with 2 partitions each")
        done = threading.Event()
        produced = {}
        pt = threading.Thread(target=produce_slowly, args=(broker, topic, 0, 10, done, produced),
                              daemon=True)
        pt.start()
        wait_until(lambda: sum(c.count() for c in cs) >= 2000, what="mid-stream")
        k4 = GroupConsumer(broker, "gcoop", topic, "k4", conf=conf).start()
        members = [k1, k2, k3, k4]
        wait_until(lambda: k4.current() and stable_assignment(members, PARTS),
                   what="the 4th member to get partitions")
        k1.stop()
        members = [k2, k3, k4]
        wait_until(lambda: stable_assignment(members, PARTS) and
                   all(len(c.current()) == 2 for c in members), what="k1's partitions moving")
        wait_until(done.is_set, what="the producer")
        pt.join()
        ends = end_offsets(broker, topic, PARTS)
        wait_until(lambda: all_committed([k1, k2, k3, k4], ends), what="every partition committed")
        assert "protocol=cooperative-sticky" in group_log(broker, "gcoop")
        check_deliveries([k1, k2, k3, k4], produced)
    finally:
        for c in cs + ([k4] if k4 else []):
            if c.thread.is_alive():
                c.stop()


def proc_lines(proc, out, lock):
    for line in proc.stdout:
        with lock:
            out.append(line.strip())


def test_session_timeout_moves_partitions(broker):
    """A member that stops heartbeating (SIGSTOP) is removed after its
    session timeout; the other member gets its partitions and reads what is
    produced to them."""
    topic = create_topic(broker, "st", PARTS)
    b = GroupConsumer(broker, "gst", topic, "b").start()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "consumer_proc.py"),
                             broker.bootstrap, "gst", topic, "client.id=stopped"],
                            stdout=subprocess.PIPE, text=True)
    lines, lock = [], threading.Lock()
    reader = threading.Thread(target=proc_lines, args=(proc, lines, lock), daemon=True)
    reader.start()

    def proc_assigned():
        with lock:
            got = [ln for ln in lines if ln.startswith("assigned")]
        return got[-1].split(" ", 1)[1] if got and " " in got[-1] else ""
    try:
        wait_until(lambda: len(b.current()) == 3 and len(proc_assigned().split(",")) == 3,
                   what="both members with 3 partitions")
        proc.send_signal(signal.SIGSTOP)
        wait_until(lambda: b.current() == set(range(PARTS)), what="b to own every partition")
        assert "member session expired group=gst member=stopped-" in broker.log_text()
        produce(broker, topic, 600)
        wait_until(lambda: b.count() >= 600, what="b to read everything")
        assert sorted(b.values()) == sorted("m-%d" % i for i in range(600))
    finally:
        proc.kill()
        proc.wait()
        b.stop()


@pytest.mark.parametrize("assignor", ["range", "cooperative-sticky"])
def test_static_member_restart_keeps_generation(broker, assignor):
    """A static member (group.instance.id) closed and started again within
    its session timeout rejoins without a rebalance: no new generation, the
    other member's assignment is untouched, and it gets its old partitions.
    A third member comes and goes first, so that the members' last
    JoinGroup carried the partitions they owned: with cooperative-sticky the
    restarted member's metadata (nothing owned yet) differs from its
    predecessor's, which used to force a rebalance."""
    topic = create_topic(broker, "sm", PARTS)
    static = {"session.timeout.ms": 30000, "partition.assignment.strategy": assignor}
    a = GroupConsumer(broker, "gsm", topic, "a",
                      conf=dict(static, **{"group.instance.id": "inst-a"})).start()
    b = GroupConsumer(broker, "gsm", topic, "b",
                      conf=dict(static, **{"group.instance.id": "inst-b"})).start()
    a2 = None
    try:
        wait_until(lambda: stable_assignment([a, b], PARTS) and len(a.current()) == 3,
                   what="both static members with 3 partitions")
        c = GroupConsumer(broker, "gsm", topic, "c",
                          conf={"partition.assignment.strategy": assignor}).start()
        wait_until(lambda: stable_assignment([a, b, c], PARTS) and len(c.current()) == 2,
                   what="a third member with 2 partitions")
        c.stop()
        wait_until(lambda: stable_assignment([a, b], PARTS) and len(a.current()) == 3,
                   what="the static members with 3 partitions again")
        produce(broker, topic, 600)
        wait_until(lambda: a.count() + b.count() >= 600, what="600 messages")
        n = rebalances(broker, "gsm")
        b_assign = b.nassign()
        owned = a.current()

        a.stop()  # librdkafka does not send LeaveGroup for a static member
        a2 = GroupConsumer(broker, "gsm", topic, "a",
                           conf=dict(static, **{"group.instance.id": "inst-a"})).start()
        wait_until(lambda: a2.current() == owned, what="the restarted member's partitions")
        assert "static member rejoined group=gsm instance=inst-a" in broker.log_text()
        produce(broker, topic, 600, start=600)
        wait_until(lambda: a.count() + a2.count() + b.count() >= 1200, what="1200 messages")
        assert rebalances(broker, "gsm") == n
        assert b.nassign() == b_assign
        assert b.current() == set(range(PARTS)) - owned
        # a2 resumed from a's commits: nothing read twice
        vals = a.values() + a2.values() + b.values()
        assert sorted(vals) == sorted("m-%d" % i for i in range(1200))
    finally:
        for c in (a, b, a2):
            if c and c.thread.is_alive():
                c.stop()


def test_parked_join_of_a_disconnected_member(broker):
    """A member whose JoinGroup waits for the rebalance disconnects: the
    rebalance still completes (its answer goes nowhere), and the member is
    removed after its session timeout, with another rebalance."""
    topic = create_topic(broker, "parked", 2)
    a = kraw.Conn(broker.bootstrap, client_id="a")
    b = kraw.Conn(broker.bootstrap, client_id="b")
    try:
        assert a.find_coordinator("gpk")[0] == 0
        j = a.join_group("gpk", topics=[topic])
        j = a.join_group("gpk", member_id=j["member_id"], topics=[topic])
        aid, gen = j["member_id"], j["generation"]
        asg = kraw.assignment({topic: [0, 1]})
        assert a.sync_group("gpk", gen, aid, {aid: asg}) == (0, asg)
        bid = b.join_group("gpk", topics=[topic])["member_id"]
        b.send_join_group("gpk", member_id=bid, topics=[topic])  # parks: a must rejoin
        wait_until(lambda: a.heartbeat("gpk", gen, aid) == 27, what="the rebalance")
        b.close()
        j2 = a.join_group("gpk", member_id=aid, topics=[topic])
        assert j2["error"] == 0 and j2["generation"] == gen + 1
        assert sorted(m[0] for m in j2["members"]) == sorted([aid, bid])
        assert a.sync_group("gpk", j2["generation"], aid, {aid: asg, bid: b""}) == (0, asg)
        # b never heartbeats: removed after its 6 s session timeout
        wait_until(lambda: a.heartbeat("gpk", j2["generation"], aid) == 27,
                   what="b's session to expire")
        assert "member session expired group=gpk member=b-" in broker.log_text()
        j3 = a.join_group("gpk", member_id=aid, topics=[topic])
        assert j3["error"] == 0 and [m[0] for m in j3["members"]] == [aid]
    finally:
        a.close()
