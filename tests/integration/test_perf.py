"""The load generator (`sluice perf`, cli/perf.c) against a real sluiced:
counts, bytes and latency samples add up, instances split the work, missing
messages and bad options are reported. Never asserts speed."""
import json
import os
import subprocess

from sltest import BUILD, SLUICE


def perf_cmd():
    """`sluice perf` once the CLI dispatches to it, else the standalone build."""
    if os.access(SLUICE, os.X_OK):
        r = subprocess.run([SLUICE, "perf", "--help"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return [SLUICE, "perf"]
    return [os.path.join(BUILD, "bench", "bench_sluice_perf")]


def perf(broker, *args, check=True, timeout=120):
    cmd = perf_cmd() + [str(a) for a in args]
    if broker is not None:
        cmd += ["--bootstrap", broker.bootstrap]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if check:
        assert p.returncode == 0, (cmd, p.returncode, out, err)
    return p.returncode, out, err


def perf_json(broker, *args):
    _, out, _ = perf(broker, *args, "--json")
    return json.loads(out.strip().splitlines()[-1])


def test_produce_then_consume_counts(broker):
    r = perf_json(broker, "produce", "--topic", "a", "--count", 5000, "--size", 300)
    assert r["mode"] == "produce" and r["messages"] == 5000 and r["failed"] == 0
    assert r["bytes"] == 5000 * 300 and r["msgs_per_s"] > 0 and r["t_end"] >= r["t_start"]
    # without --count a consumer reads to the end of the partition
    c = perf_json(broker, "consume", "--topic", "a")
    assert c["messages"] == 5000 and c["bytes"] == 5000 * 300 and c["failed"] == 0


def test_acks_all_compression_and_duration(broker):
    r = perf_json(broker, "produce", "--topic", "b", "--count", 3000, "--acks", "all",
                  "--compression", "lz4", "--linger-ms", 1, "--batch-size", 65536)
    assert r["messages"] == 3000 and r["acks"] == "all"
    r = perf_json(broker, "produce", "--topic", "b", "--duration", 0.5, "--rate", 2000)
    # a rate limit holds: 0.5 s at 2000/s is about 1000 messages, never 10x that
    assert 0 < r["messages"] <= 1100
    c = perf_json(broker, "consume", "--topic", "b")
    assert c["messages"] == 3000 + r["messages"]


def test_instances_split_partitions(broker):
    r = perf_json(broker, "produce", "--topic", "m", "--partitions", 4, "--producers", 3,
                  "--count", 9001, "-X", "linger.ms=2")
    assert r["partitions"] == 4 and r["instances"] == 3 and r["messages"] == 9001
    c = perf_json(broker, "consume", "--topic", "m", "--consumers", 3)
    assert c["instances"] == 3 and c["messages"] == 9001
    # more consumers than partitions: the extra ones idle, the total holds
    c = perf_json(broker, "consume", "--topic", "m", "--consumers", 6, "--count", 9001)
    assert c["messages"] == 9001


def test_latency_every_message_measured(broker):
    r = perf_json(broker, "latency", "--topic", "lat", "--rate", 2000, "--duration", 1)
    assert r["planned"] == 2000 and r["received"] == 2000 and r["lost"] == 0
    assert 0 < r["min_us"] <= r["p50_us"] <= r["p99_us"] <= r["p99_9_us"] <= r["max_us"]
    # the human summary carries the same percentiles
    rc, out, _ = perf(broker, "latency", "--topic", "lat", "--rate", 1000, "--count", 500,
                      "--histogram")
    assert "500 of 500 messages" in out and "p99.9" in out and "percentile" in out


def test_missing_messages_fail(broker):
    perf_json(broker, "produce", "--topic", "few", "--count", 10)
    rc, out, err = perf(broker, "consume", "--topic", "few", "--count", 20, "--idle-ms", 500,
                        "--json", check=False)
    assert rc == 1, (out, err)
    assert json.loads(out.strip().splitlines()[-1])["messages"] == 10
    assert "giving up" in err


def test_usage_errors():
    rc, out, _ = perf(None, "--help")
    assert rc == 0 and "produce|consume|latency" in out
    for args in (["bogus"], ["produce", "--acks", "2"], ["latency", "--size", "10"],
                 ["produce", "--count", "x"], ["produce", "-X", "novalue"],
                 ["produce", "--size"], ["produce", "--nope", "1"]):
        rc, _, err = perf(None, *args, check=False)
        assert rc == 2 and "sluice perf:" in err, (args, err)


def test_unreachable_broker_fails():
    rc, _, err = perf(None, "produce", "--bootstrap", "127.0.0.1:1", "--count", 1,
                      "--timeout-ms", 1500, check=False)
    assert rc == 1 and "sluice perf:" in err, err


def test_group_consumers(broker):
    perf_json(broker, "produce", "--topic", "g", "--partitions", 4, "--count", 4000)
    c = perf_json(broker, "consume", "--topic", "g", "--group", "perf-g", "--consumers", 2,
                  "--count", 4000)
    assert c["instances"] == 2 and c["messages"] == 4000
