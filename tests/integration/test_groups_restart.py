"""Group state across a broker restart, clean (SIGTERM) and unclean
(SIGKILL): committed offsets, group listings and descriptions (librdkafka
and kafka-python) are the same before and after; consumers resume from the
committed offsets; a member that was Stable before keeps its generation; a
consumer running across the restart carries on without loss."""
import pytest

import kraw
from grouputil import (GroupConsumer, all_committed, create_topic, end_offsets, group_snapshot,
                       produce, wait_until)

PARTS = 6


@pytest.mark.parametrize("clean", [True, False], ids=["sigterm", "sigkill"])
def test_restart_keeps_groups(broker, clean):
    topic = create_topic(broker, "rs", PARTS)
    sent = produce(broker, topic, 3000)

    # gres: reads about half, commits, and goes away (Empty, with offsets)
    rs = [GroupConsumer(broker, "gres", topic, "r%d" % i, batch=50).start() for i in range(2)]
    wait_until(lambda: sum(c.count() for c in rs) >= 1500, what="half of the messages")
    for c in rs:
        c.paused.set()
    for c in rs:
        c.stop()
    committed = {}
    for c in rs:
        for _, p, o in c.commits:
            committed[p] = max(committed.get(p, 0), o)
    seen_before = {v for c in rs for v in c.values()}

    # glive: a raw member, Stable with an assignment, that stays silent
    k = kraw.Conn(broker.bootstrap, client_id="raw")
    j = k.join_group("glive", session_ms=60000, topics=[topic])
    if j["error"] == 79:  # MEMBER_ID_REQUIRED
        j = k.join_group("glive", member_id=j["member_id"], session_ms=60000, topics=[topic])
    assert j["error"] == 0 and j["leader"] == j["member_id"], j
    asg = kraw.assignment({topic: list(range(PARTS))})
    assert k.sync_group("glive", j["generation"], j["member_id"], {j["member_id"]: asg}) == (0, asg)
    k.close()

    # gcont: a consumer that keeps running across the restart
    cont = GroupConsumer(broker, "gcont", topic, "cont").start()
    try:
        wait_until(lambda: cont.count() >= 3000, what="gcont to read everything")
        ends = end_offsets(broker, topic, PARTS)
        wait_until(lambda: all_committed([cont], ends), what="gcont's commits")
        before = {g: group_snapshot(broker, g, topic, PARTS) for g in ("gres", "glive")}
        assert before["gres"]["offsets"] == {p: committed.get(p, -1) for p in range(PARTS)}
        assert before["gres"]["librdkafka"]["state"] == "Empty"
        assert before["glive"]["librdkafka"]["state"] == "Stable"
        assert {"gres", "glive", "gcont"} <= set(before["gres"]["listed"])

        broker.restart(clean=clean)

        after = {g: wait_until(lambda g=g: group_snapshot(broker, g, topic, PARTS),
                               what="the coordinator after the restart")
                 for g in ("gres", "glive")}
        assert after == before
        # glive's member still belongs to the same generation
        k = kraw.Conn(broker.bootstrap, client_id="raw")
        assert k.heartbeat("glive", j["generation"], j["member_id"]) == 0
        assert k.sync_group("glive", j["generation"], j["member_id"]) == (0, asg)
        k.close()

        # the running consumer carries on: new messages, none lost or repeated
        more = produce(broker, topic, 600, start=3000)
        wait_until(lambda: cont.count() >= 3600, what="gcont to read the new messages")
        assert sorted(cont.values()) == sorted(set(sent) | set(more))
    finally:
        cont.stop()

    # gres resumes exactly at its committed offsets
    r2 = GroupConsumer(broker, "gres", topic, "r-again").start()
    try:
        want = sorted(v for v, (p, o) in list(sent.items()) + list(more.items())
                      if o >= committed.get(p, 0))
        wait_until(lambda: r2.count() >= len(want), what="gres to resume")
        assert sorted(r2.values()) == want
        assert not seen_before & set(r2.values())
        assert len(seen_before) + len(want) == 3600
    finally:
        r2.stop()
