"""The fault scenarios of issue 7, parameterised by size: test_*.py run them
short in `make test`, long_*.py long in `make test-long`.

Every scenario drives real sl_workload producers (acks=all; idempotent unless
said otherwise) against a real sluiced, injects its fault, reads every
partition back at the end and lets sl_check judge the whole history."""
import os
import re
import signal
import statistics
import time

import chaoslib as cl
import rawkafka

TOPIC = "chaos"
GROUP = "chaos-group"
KERR_NOT_LEADER_OR_FOLLOWER = 6
KERR_KAFKA_STORAGE_ERROR = 56


def _paths(b):
    d = b.data_dir
    return {k: os.path.join(d, k) for k in ("history", "commits", "fetched", "read", "history2")}


def _probe_committed(b, p):
    """Reads the group's committed offsets right after a restart."""
    cl.run_workload("committed", b, TOPIC, p["fetched"], "-g", GROUP, "--timeout-ms", 60000)


def _producers(b, out, idempotent, partitions, producers, rate, *extra):
    args = ["-P", partitions, "-n", producers, "--rate", rate] + list(extra)
    if idempotent:
        args.append("--idempotent")
    return cl.Workload("produce", b, TOPIC, out, *args).start()


def _wait_acks(w, more_than, timeout=120):
    def acked():
        if w.proc.poll() is not None:
            raise AssertionError("sl_workload exited with %d:\n%s" % (w.proc.returncode, w.stderr()))
        return w.count("ack") > more_than
    cl.wait_for(acked, timeout, "acknowledged sends")


def _finish(b, prod, grp, p, idempotent, min_acked):
    """Lets traffic reach the last broker, stops the clients, reads every
    partition and runs the checker. Returns the checker's report."""
    _wait_acks(prod, prod.count("ack"))
    rc = prod.stop()
    assert rc == 0, "producers failed (%d):\n%s" % (rc, prod.stderr())
    files = [p["history"], p["read"]]
    if grp:
        rc = grp.stop()
        assert rc == 0, "group consumer failed (%d):\n%s" % (rc, grp.stderr())
        files += [p["commits"], p["fetched"]]
    cl.say(prod.stderr().strip().splitlines()[-1])
    if grp:
        cl.say(grp.stderr().strip().splitlines()[-1])
    cl.run_workload("read", b, TOPIC, p["read"])
    return cl.assert_checked(files, idempotent, min_acked=min_acked)


def _segments(b):
    n = 0
    for d in os.listdir(b.log_dir):
        if d.startswith(TOPIC + "-"):
            n += sum(1 for f in os.listdir(os.path.join(b.log_dir, d)) if f.endswith(".log"))
    return n


def _checked_count(report, check, field):
    m = re.search(r"^%s: (\d+) passed, (\d+) failed" % check, report, re.M)
    return int(m.group(1 if field == "passed" else 2)) if m else 0


# ---- kill loop ------------------------------------------------------------------


def _small_segments(segment_bytes):
    """Broker settings that make segments roll every few seconds under the
    test load, so rolls, index writes and new directory entries happen
    between faults."""
    return ("--log.segment.bytes=%d" % segment_bytes,
            "--offsets.topic.segment.bytes=%d" % max(1024, segment_bytes))


def kill_loop(cycles, idempotent=True, partitions=4, producers=3, rate=150, group=True,
              segment_bytes=16384):
    """SIGKILL at random moments under load (sometimes again while the broker
    recovers), restart, repeat. 0 lost, 0 duplicates with idempotence,
    committed offsets never go backwards."""
    rng, _ = cl.seeded_rng("kill loop")
    b = cl.ChaosBroker(*_small_segments(segment_bytes))
    try:
        b.start()
        cl.create_topic(b, TOPIC, partitions)
        p = _paths(b)
        prod = _producers(b, p["history"], idempotent, partitions, producers, rate)
        grp = None
        if group:
            grp = cl.Workload("group", b, TOPIC, p["commits"], "-g", GROUP, "--commit-ms", 100)
            grp.start()
        _wait_acks(prod, 0)
        during_recovery = during_shutdown = 0
        for i in range(cycles):
            time.sleep(rng.uniform(0.05, 1.2))
            if rng.random() < 0.1:
                # In the middle of a clean shutdown.
                b.proc.send_signal(signal.SIGTERM)
                time.sleep(rng.uniform(0.0, 0.3))
                during_shutdown += 1
            b.kill()
            if rng.random() < 0.2:
                b.spawn()
                time.sleep(rng.uniform(0.0, 0.4))
                b.kill()
                during_recovery += 1
            b.start()
            if group:
                _probe_committed(b, p)
            if (i + 1) % 25 == 0:
                cl.say("kill loop: %d/%d cycles, %d acknowledged" % (i + 1, cycles, prod.count("ack")))
        report = _finish(b, prod, grp, p, idempotent, min_acked=cycles * 5)
        if group:
            assert _checked_count(report, "committed", "passed") > 0, \
                "no committed offset was ever read back: the check proved nothing"
        rc, _ = b.stop_timed()
        assert rc == 0, b.log_tail()
        b.assert_no_sanitizer_report()
        recovered = b.log_text().count("(recovered)")
        cl.say("kill loop: %d segments in the data partitions" % _segments(b))
        cl.say("kill loop: %d kills (%d of them during recovery, %d during a clean shutdown), "
               "%d recoveries" % (cycles + during_recovery, during_recovery, during_shutdown,
                                  recovered))
    finally:
        cl.kill_workloads()
        b.cleanup()


# ---- power cut ------------------------------------------------------------------


def power_cut_loop(cycles, idempotent=True, partitions=4, producers=3, rate=150, torn=0.5,
                   delays=(5, 20, 50), segment_bytes=16384, group=False):
    """faultfs drops every write not yet fsynced (optionally leaving a torn
    tail) and kills the broker; the next start must recover, and nothing
    acknowledged may be lost. With `group`, a consumer group commits all
    along and its committed offsets are read back after every restart: an
    acknowledged commit must survive the cut too. (Consumers may read, and
    commit past, data not yet fsynced — the high watermark is the log end,
    as on a single Kafka node — so after a cut a consumer can find its
    position beyond the log end and reset; the check compares with the
    latest acknowledged commit, which allows that.)"""
    rng, seed = cl.seeded_rng("power cut")
    b = cl.ChaosBroker(*_small_segments(segment_bytes))
    try:
        b.start()
        cl.create_topic(b, TOPIC, partitions)
        b.kill()
        p = _paths(b)
        prod = grp = None
        during_shutdown = 0
        for i in range(cycles):
            b.set_faults(True, FAULTFS_TORN=torn, FAULTFS_SEED=seed + i,
                         FAULTFS_SYNC_DELAY_MS=rng.choice(delays), FAULTFS_SKIP="/__meta")
            b.start()  # raises if recovery fails
            if prod is None:
                prod = _producers(b, p["history"], idempotent, partitions, producers, rate)
                if group:
                    grp = cl.Workload("group", b, TOPIC, p["commits"], "-g", GROUP,
                                      "--commit-ms", 100).start()
                _wait_acks(prod, 0)
            elif group:
                _probe_committed(b, p)
            time.sleep(rng.uniform(0.1, 1.5))
            if rng.random() < 0.1:
                # In the middle of a clean shutdown (its flushes and marker).
                b.proc.send_signal(signal.SIGTERM)
                time.sleep(rng.uniform(0.0, 0.3))
                during_shutdown += 1
                b.power_cut(shutting_down=True)
            else:
                b.power_cut()
            if (i + 1) % 25 == 0:
                cl.say("power cut: %d/%d cycles, %d acknowledged" % (i + 1, cycles, prod.count("ack")))
        b.set_faults(False)
        b.start()
        if group:
            _probe_committed(b, p)
        report = _finish(b, prod, grp, p, idempotent, min_acked=cycles * 5)
        if group:
            assert _checked_count(report, "committed", "passed") > 0, \
                "no committed offset was ever read back: the check proved nothing"
        stats = cl.cut_stats(b.faultfs_lines("cut"))
        truncations = b.log_text().count("recovery: ")
        cl.say("power cut: %d segments in the data partitions" % _segments(b))
        cuts = len(b.faultfs_lines("cut"))
        cl.say("power cut: %d cuts (%d during a clean shutdown): %s; recovery truncated a damaged "
               "tail %d times" % (cuts, during_shutdown, stats, truncations))
        assert cuts >= cycles - during_shutdown
        assert stats.get("dropped_bytes", 0) + stats.get("reverted_bytes", 0) > 0, \
            "no cut found unsynced data: the scenario proved nothing"
        assert stats.get("unmodeled", 0) == 0
        assert not b.faultfs_lines("unmodeled"), b.faultfs_lines("unmodeled")[:5]
        rc, _ = b.stop_timed()
        assert rc == 0, b.log_tail()
        b.assert_no_sanitizer_report()
        return report
    finally:
        cl.kill_workloads()
        b.cleanup()


def retried_batch_power_cut():
    """Regression: an idempotent producer's retry of a batch the broker
    already appended was acknowledged at once, although the original was
    still waiting for its fsync; a power cut then lost it. Sends the same
    batch on two connections while fsyncs take 1-3 s, cuts the power as soon
    as the retry is acknowledged, and checks the batch survived."""
    b = cl.ChaosBroker()
    try:
        b.start()
        cl.create_topic(b, TOPIC, 1)
        b.stop()
        b.set_faults(True, FAULTFS_SYNC_DELAY_MS=2000, FAULTFS_SKIP="/__meta")
        b.start()
        first = rawkafka.Conn("127.0.0.1", b.port)
        err, pid, epoch = first.init_producer_id()
        assert err == 0, "InitProducerId failed with %d" % err
        values = [b"p900-0", b"p900-1"]
        batch = rawkafka.record_batch(values, pid, epoch, 0)
        first.send_produce(TOPIC, 0, batch)
        time.sleep(0.3)  # appended; its fsync sleeps 1-3 s
        retry = rawkafka.Conn("127.0.0.1", b.port)
        err, base = retry.receive_produce(retry.send_produce(TOPIC, 0, batch))
        assert err == 0 and base == 0, "retry answered %d at %d" % (err, base)
        b.power_cut()
        first.close()
        retry.close()
        b.set_faults(False)
        b.start()
        p = _paths(b)
        with open(p["history"], "w") as f:
            for i, v in enumerate(values):
                f.write("invoke %s 0\n" % v.decode())
                f.write("ack %s 0 %d\n" % (v.decode(), base + i))
        cl.run_workload("read", b, TOPIC, p["read"])
        cl.assert_checked([p["history"], p["read"]], True, min_acked=2)
        b.stop()
    finally:
        cl.kill_workloads()
        b.cleanup()


# ---- disk errors -----------------------------------------------------------------

def disk_error_case(spec, by_signal, rng, idempotent=True, partitions=3):
    """Injects `spec` (faultfs FAULTFS_FAIL) into the log directory under
    load: the directory must go offline, clients get KAFKA_STORAGE_ERROR or
    NOT_LEADER_OR_FOLLOWER, the process survives and stops normally, and
    after a restart without faults nothing acknowledged is missing."""
    b = cl.ChaosBroker()
    try:
        b.start()
        cl.create_topic(b, TOPIC, partitions)
        b.stop()
        b.set_faults(True, FAULTFS_FAIL=spec, FAULTFS_SKIP="/__meta", FAULTFS_SEED=rng.randrange(1 << 30))
        p = _paths(b)
        prod = None
        try:
            b.start()
        except (AssertionError, RuntimeError):
            # The fault hit while the log directory was being opened: the
            # broker must refuse to start with an error, not crash.
            assert b.proc.returncode > 0, "sluiced died by signal %d" % -b.proc.returncode
            assert "cannot open log directory" in b.current_log(), b.log_tail()
            cl.say("disk errors %s: failed while opening the log directory (exit %d)" % (
                spec, b.proc.returncode))
        if b.running():
            prod = _producers(b, p["history"], idempotent, partitions, 2, 100,
                              "--message-timeout-ms", 8000, "--drain-ms", 15000, "--retries", 1)
            if by_signal:
                _wait_acks(prod, 20)
                b.arm_fault()
            cl.wait_for(lambda: "is offline" in b.current_log() or not b.running(), 60,
                        "the log directory to go offline")
            time.sleep(1.0)  # keep producing into the offline directory
            assert b.running(), "sluiced exited after the disk error:\n" + b.log_tail()
            # What a client is told now, for both durability modes.
            conn = rawkafka.Conn("127.0.0.1", b.port)
            for acks in (-1, 1):
                err, _ = conn.receive_produce(conn.send_produce(
                    TOPIC, 0, rawkafka.record_batch([b"probe"]), acks=acks))
                assert err in (KERR_KAFKA_STORAGE_ERROR, KERR_NOT_LEADER_OR_FOLLOWER), \
                    "produce acks=%d to an offline log directory answered %d" % (acks, err)
            conn.close()
            rc = prod.stop()
            assert rc == 0, "producers failed (%d):\n%s" % (rc, prod.stderr())
            errors = {}
            with open(p["history"]) as f:
                for ln in f:
                    if ln.startswith(("fail ", "unknown ")):
                        e = ln.split()[4]
                        errors[e] = errors.get(e, 0) + 1
            cl.say("disk errors %s: client errors %s; %s" % (spec, errors, b.faultfs_lines("fault")[:2]))
            rc, secs = b.stop_timed()
            assert rc >= 0, "sluiced died by signal %d on SIGTERM" % -rc
            b.assert_no_sanitizer_report()
        b.set_faults(False)
        b.start()
        if prod is not None:
            cl.run_workload("read", b, TOPIC, p["read"])
            cl.assert_checked([p["history"], p["read"]], idempotent, min_acked=0)
        # And the broker serves again.
        cl.run_workload("produce", b, TOPIC, p["history2"], "-P", partitions, "-n", 1,
                        "--duration-ms", 1000, "--id-base", 1000, "--idempotent")
        prod2_acks = cl.Workload("produce", b, TOPIC, p["history2"]).count("ack")
        assert prod2_acks > 0, "no produce succeeded after the restart"
        rc, _ = b.stop_timed()
        assert rc == 0, b.log_tail()
        b.assert_no_sanitizer_report()
    finally:
        cl.kill_workloads()
        b.cleanup()


DISK_ERROR_SPECS = [
    ("write:EIO", True),
    ("write:ENOSPC:partial", True),
    ("fsync:EIO", True),
    ("fsync:ENOSPC", True),
    ("fsync:EIO:drop", True),
]


# ---- clean restart loop -----------------------------------------------------------

def clean_restart_loop(cycles, idempotent=True, partitions=4, producers=3, rate=150, group=True,
                       segment_bytes=65536):
    """SIGTERM under load; every shutdown must end (a generous bound, as a
    hang detector), the next start must find the log directory clean (no
    recovery scan), nothing may be lost. Returns the shutdown times."""
    rng, _ = cl.seeded_rng("clean restart")
    b = cl.ChaosBroker(*_small_segments(segment_bytes))
    times = []
    try:
        b.start()
        cl.create_topic(b, TOPIC, partitions)
        p = _paths(b)
        prod = _producers(b, p["history"], idempotent, partitions, producers, rate)
        grp = None
        if group:
            grp = cl.Workload("group", b, TOPIC, p["commits"], "-g", GROUP, "--commit-ms", 100)
            grp.start()
        _wait_acks(prod, 0)
        for i in range(cycles):
            time.sleep(rng.uniform(0.2, 1.5))
            rc, secs = b.stop_timed(timeout=60)
            assert rc == 0, "sluiced exited with %d on SIGTERM:\n%s" % (rc, b.log_tail())
            times.append(secs)
            b.start()
            log = b.current_log()
            assert re.search(r"opened log directory .*\(clean\)", log), \
                "restart %d after a clean shutdown scanned the log:\n%s" % (i + 1, log[-3000:])
            assert "not shut down cleanly" not in log and "recovering" not in log, log[-3000:]
            if group:
                _probe_committed(b, p)
            if (i + 1) % 25 == 0:
                cl.say("clean restart: %d/%d cycles" % (i + 1, cycles))
        _finish(b, prod, grp, p, idempotent, min_acked=cycles * 5)
        rc, secs = b.stop_timed()
        assert rc == 0, b.log_tail()
        times.append(secs)
        b.assert_no_sanitizer_report()
    finally:
        cl.kill_workloads()
        b.cleanup()
    cl.say("clean restart: %d shutdowns under load: min %.3fs median %.3fs max %.3fs; %d over 5 s" % (
        len(times), min(times), statistics.median(times), max(times), sum(t >= 5 for t in times)))
    return times


def shutdown_while_produce_waits_for_fsync():
    """Regression: SIGTERM while an acks=all produce waits for its fsync. The
    server reported its close from inside that produce's completion, which
    ran inside the log's flush callback, and the broker closed the log
    directory right there: heap-use-after-free in answer_waiters (ASan).
    With fsyncs slowed to ~1 s the order of events is deterministic."""
    b = cl.ChaosBroker()
    try:
        b.start()
        cl.create_topic(b, TOPIC, 1)
        b.stop()
        b.set_faults(True, FAULTFS_SYNC_DELAY_MS=1000, FAULTFS_SKIP="/__meta")
        b.start()
        conn = rawkafka.Conn("127.0.0.1", b.port)
        conn.send_produce(TOPIC, 0, rawkafka.record_batch([b"p0-0"]), acks=-1)
        time.sleep(0.2)  # appended, fsync in progress
        rc, secs = b.stop_timed()
        conn.close()
        b.assert_no_sanitizer_report()
        assert rc == 0, "sluiced exited with %d:\n%s" % (rc, b.log_tail())
        assert re.search(r"closed log directory .*\(clean\)", b.current_log()), b.log_tail()
        cl.say("shutdown with a produce waiting for a 0.5-1.5 s fsync took %.2fs" % secs)
    finally:
        cl.kill_workloads()
        b.cleanup()
