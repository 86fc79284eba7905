"""The sluice command-line tool (build/sluice) against a real sluiced.

Every command and flag is driven through the binary as a user would, and
its effect is checked through the tool itself (and its JSON output, parsed
with json.loads). The sluice binary under test is the sanitizer build when
`make test` runs it: every invocation must exit without a sanitizer report.
"""
import datetime
import json
import os
import re
import select
import signal
import subprocess
import time

import pytest

from sltest import SLUICE, TOP, free_port

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND, EXIT_REFUSED = range(6)

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:")


def sl(*args, bootstrap=None, input=None, expect=EXIT_OK, env=None, timeout=120):
    """Runs sluice; checks the exit code and that no sanitizer spoke."""
    cmd = [SLUICE] + ([f"--bootstrap={bootstrap}"] if bootstrap else []) + list(args)
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=env,
                       text=isinstance(input, str) or input is None)
    err = p.stderr if isinstance(p.stderr, str) else p.stderr.decode(errors="replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, "sanitizer report from %s:\n%s" % (cmd, err)
    if expect is not None:
        assert p.returncode == expect, "%s exited %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(cmd), p.returncode, expect, p.stdout, err)
    return p


def sj(*args, bootstrap=None, **kw):
    """Runs sluice with --json and parses the one JSON object it prints."""
    p = sl("--json", *args, bootstrap=bootstrap, **kw)
    return json.loads(p.stdout)


def consume_json(b, topic, *args, expect=EXIT_OK, ordered=False):
    """All messages printed by `consume --format json` as dicts, in
    (topic, partition, offset) order unless `ordered` (as printed)."""
    p = sl("consume", topic, "--format", "json", *args, bootstrap=b.bootstrap, expect=expect)
    msgs = [json.loads(line) for line in p.stdout.splitlines()]
    if not ordered:
        msgs.sort(key=lambda m: (m["topic"], m["partition"], m["offset"]))
    return msgs


def produce(b, topic, lines, *args):
    data = "".join(line + "\n" for line in lines)
    return sl("produce", topic, *args, bootstrap=b.bootstrap, input=data)


def iso(ms, tz_hours=0):
    tz = datetime.timezone(datetime.timedelta(hours=tz_hours))
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, tz)
    s = dt.isoformat(timespec="milliseconds")
    return s.replace("+00:00", "Z")


def group_offsets(b, group):
    d = sj("group", "describe", group, bootstrap=b.bootstrap)
    return {(o["topic"], o["partition"]): o for o in d["offsets"]}, d


# ---- help and usage (no broker needed) -------------------------------------

HELP_PAGES = [
    [], ["topic"], ["topic", "list"], ["topic", "create"], ["topic", "describe"],
    ["topic", "alter-config"], ["topic", "add-partitions"], ["topic", "delete"],
    ["produce"], ["consume"], ["group"], ["group", "list"], ["group", "describe"],
    ["group", "reset-offsets"], ["group", "delete"], ["cluster"], ["cluster", "info"],
]


@pytest.mark.parametrize("words", HELP_PAGES, ids=lambda w: "-".join(w) or "main")
def test_help_for_every_command(words):
    p = sl(*words, "--help")
    assert p.stdout.startswith("Usage: sluice")
    for code in ("0  success", "2  usage error", "3  broker unreachable", "4  not found"):
        assert code in p.stdout
    assert "--bootstrap" in p.stdout and "-X KEY=VALUE" in p.stdout
    # "help WORDS" and "-h" print the same page.
    assert sl("help", *words).stdout == p.stdout
    assert sl(*words, "-h").stdout == p.stdout


def test_reference_doc_covers_every_flag():
    """docs/cli.md names every option that a --help page names."""
    with open(os.path.join(TOP, "docs", "cli.md")) as f:
        doc = f.read()
    for words in HELP_PAGES:
        text = sl(*words, "--help").stdout
        for flag in set(re.findall(r"--[a-z][a-z-]+", text)):
            assert flag in doc, "%s (sluice %s --help) is missing in docs/cli.md" % (
                flag, " ".join(words))
        for sub in re.findall(r"^  ([a-z][a-z-]+)\s", text, re.M):
            if words in (["topic"], ["group"], ["cluster"]):
                assert "%s %s" % (words[0], sub) in doc


def test_help_documents_flags():
    produce_help = sl("produce", "--help").stdout
    for flag in ("--file", "--key-sep", "--header", "--partition", "--acks", "--compression"):
        assert flag in produce_help
    consume_help = sl("consume", "--help").stdout
    for flag in ("--from", "--partition", "--group", "--count", "--follow", "--format",
                 "%k", "%v", "%h", "%p", "%o", "%t"):
        assert flag in consume_help
    reset_help = sl("group", "reset-offsets", "--help").stdout
    for flag in ("--topic", "--to-earliest", "--to-latest", "--to-offset", "--to-datetime",
                 "--shift-by", "--execute", "5"):
        assert flag in reset_help


@pytest.mark.parametrize("args,needle", [
    ([], "Usage"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["topic"], "missing subcommand"),
    (["topic", "explode"], "unknown subcommand 'explode'"),
    (["topic", "list", "--bogus"], "unknown option '--bogus'"),
    (["topic", "create"], "missing topic NAME"),
    (["topic", "create", "t", "-p", "zero"], "bad partition count"),
    (["topic", "create", "t", "-r", "0"], "bad replication factor"),
    (["topic", "create", "t", "-c", "novalue"], "expected KEY=VALUE"),
    (["topic", "alter-config", "t"], "nothing to change"),
    (["topic", "add-partitions", "t", "0"], "bad partition count"),
    (["produce"], "missing TOPIC"),
    (["produce", "t", "--acks", "2"], "--acks must be 0, 1 or all"),
    (["produce", "t", "--compression", "brotli"], "--compression must be"),
    (["produce", "t", "--header", "novalue"], "--header expects KEY=VALUE"),
    (["produce", "t", "--key-sep", ""], "--key-sep must not be empty"),
    (["produce", "t", "--partition", "-1"], "bad partition"),
    (["consume", "t", "--from", "yesterday"], "bad --from 'yesterday'"),
    (["consume", "t", "--from", "2026-02-31T00:00:00Z"], "bad --from"),
    (["consume", "t", "-n", "0"], "bad count"),
    (["consume", "t", "--format", "%q"], "unknown directive '%q'"),
    (["consume", "t", "--format", "\\x"], "unknown directive"),
    (["group", "reset-offsets", "g", "--topic", "t"], "missing the target"),
    (["group", "reset-offsets", "g", "--to-earliest"], "missing --topic"),
    (["group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"],
     "exactly one of"),
    (["group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "noon"],
     "bad --to-datetime"),
    (["group", "reset-offsets", "g", "--topic", "t", "--shift-by", "x"], "bad --shift-by"),
    (["group", "describe"], "missing GROUP"),
    (["topic", "list", "--timeout", "soon"], "bad --timeout"),
    (["topic", "list", "-X", "novalue"], "-X expects KEY=VALUE"),
    (["produce", "t", "--file", "/nonexistent/input.txt"], "cannot open"),
])
def test_usage_errors(args, needle):
    p = sl(*args, expect=EXIT_USAGE, bootstrap="127.0.0.1:1")
    assert needle in p.stderr
    if args:  # one line of error and one of hint
        assert len([line for line in p.stderr.splitlines() if line.strip()]) <= 2


def test_version():
    assert sl("version").stdout.startswith("sluice ")


# ---- unreachable broker ----------------------------------------------------

UNREACHABLE_COMMANDS = [
    ["topic", "list"], ["topic", "describe", "t"], ["topic", "create", "t"],
    ["consume", "t"], ["group", "list"], ["group", "describe", "g"], ["cluster", "info"],
]


@pytest.mark.parametrize("args", UNREACHABLE_COMMANDS, ids=lambda a: "-".join(a))
def test_unreachable_broker(args):
    addr = "127.0.0.1:%d" % free_port()  # nothing listens there
    p = sl(*args, "--timeout", "3s", bootstrap=addr, expect=EXIT_UNREACHABLE)
    assert p.stderr.startswith("sluice: cannot reach broker %s" % addr), p.stderr
    assert "refused" in p.stderr.lower()
    assert len(p.stderr.strip().splitlines()) == 1
    assert p.stdout == ""


def test_unreachable_produce_and_env_bootstrap():
    addr = "127.0.0.1:%d" % free_port()
    env = dict(os.environ, SLUICE_BOOTSTRAP=addr)
    p = sl("produce", "t", input="x\n", env=env, expect=EXIT_UNREACHABLE)
    assert "cannot reach broker %s" % addr in p.stderr
    # --bootstrap wins over the environment.
    other = "127.0.0.1:%d" % free_port()
    p = sl("topic", "list", "-b", other, env=env, expect=EXIT_UNREACHABLE)
    assert "cannot reach broker %s" % other in p.stderr


def test_timeout_without_an_answer():
    """A listener that never answers: the metadata wait ends after --timeout
    with a message naming the address."""
    import socket
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        addr = "127.0.0.1:%d" % srv.getsockname()[1]
        p = sl("topic", "list", "--timeout", "700ms", bootstrap=addr, expect=EXIT_UNREACHABLE)
        assert "cannot reach broker %s" % addr in p.stderr


# ---- topics -----------------------------------------------------------------

def test_topic_lifecycle(broker):
    bs = broker.bootstrap
    p = sl("topic", "create", "orders", "-p", "3", "-r", "1", "-c", "retention.ms=3600000",
           "segment.ms=7200000", bootstrap=bs)
    assert "created topic orders with 3 partitions" in p.stdout
    created = sj("topic", "create", "audit", bootstrap=bs)
    assert created == {"topic": "audit", "created": True, "partitions": None,
                       "replication_factor": None}
    p = sl("topic", "create", "orders", bootstrap=bs, expect=EXIT_FAILED)
    assert "topic 'orders' already exists" in p.stderr

    table = sl("topic", "list", bootstrap=bs).stdout.splitlines()
    assert table[0].split() == ["TOPIC", "PARTITIONS", "REPLICAS"]
    assert ["orders", "3", "1"] in [line.split() for line in table[1:]]
    listed = sj("topic", "list", bootstrap=bs)["topics"]
    assert {"name": "orders", "partitions": 3, "replication_factor": 1} in listed
    assert [t["name"] for t in listed] == sorted(t["name"] for t in listed)

    produce(broker, "orders", ["a", "b", "c", "d"], "--partition", "2")
    d = sj("topic", "describe", "orders", bootstrap=bs)
    assert d["topic"] == "orders"
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2]
    for part in d["partitions"]:
        assert part["leader"] == 1 and part["replicas"] == [1] and part["isr"] == [1]
        assert part["log_start_offset"] == 0
    assert [p["log_end_offset"] for p in d["partitions"]] == [0, 0, 4]
    configs = {c["name"]: c for c in d["configs"]}
    assert configs["retention.ms"]["value"] == "3600000"
    assert configs["retention.ms"]["source"] == "topic"
    assert configs["segment.ms"]["value"] == "7200000"
    assert configs["cleanup.policy"]["source"] == "default"
    text = sl("topic", "describe", "orders", bootstrap=bs).stdout
    assert "topic orders: 3 partitions, replication factor 1" in text
    assert "PARTITION  LEADER  REPLICAS  ISR  LOG-START  LOG-END" in text
    assert "4 messages in the log" in text
    assert [line for line in text.splitlines() if line.startswith("retention.ms")][0].split() \
        == ["retention.ms", "3600000", "topic"]

    # alter-config: set one, delete one, keep the others the topic had.
    p = sl("topic", "alter-config", "orders", "cleanup.policy=compact", "--delete",
           "retention.ms", bootstrap=bs)
    assert "orders: set cleanup.policy=compact" in p.stdout
    assert "orders: deleted retention.ms" in p.stdout
    configs = {c["name"]: c for c in sj("topic", "describe", "orders", bootstrap=bs)["configs"]}
    assert configs["cleanup.policy"]["value"] == "compact"
    assert configs["cleanup.policy"]["source"] == "topic"
    assert configs["retention.ms"]["source"] == "default"
    assert configs["segment.ms"]["value"] == "7200000"  # untouched, kept
    altered = sj("topic", "alter-config", "orders", "retention.bytes=1048576", "-d",
                 "cleanup.policy", bootstrap=bs)
    assert altered == {"topic": "orders", "set": {"retention.bytes": "1048576"},
                       "deleted": ["cleanup.policy"]}
    configs = {c["name"]: c for c in sj("topic", "describe", "orders", bootstrap=bs)["configs"]}
    assert configs["retention.bytes"]["value"] == "1048576"
    assert configs["cleanup.policy"]["source"] == "default"
    p = sl("topic", "alter-config", "orders", "no.such.config=1", bootstrap=bs,
           expect=EXIT_FAILED)
    assert "altering configs of 'orders' failed" in p.stderr

    # add-partitions adds N; the messages stay where they were.
    p = sl("topic", "add-partitions", "orders", "2", bootstrap=bs)
    assert "topic orders: 3 -> 5 partitions" in p.stdout
    assert sj("topic", "add-partitions", "orders", "1", bootstrap=bs) == {
        "topic": "orders", "partitions_before": 5, "partitions_after": 6}
    d = sj("topic", "describe", "orders", bootstrap=bs)
    assert len(d["partitions"]) == 6
    assert d["partitions"][2]["log_end_offset"] == 4

    assert "deleted topic orders" in sl("topic", "delete", "orders", bootstrap=bs).stdout
    assert sj("topic", "delete", "audit", bootstrap=bs) == {"topic": "audit", "deleted": True}
    assert sj("topic", "list", bootstrap=bs) == {"topics": []}
    assert sl("topic", "list", bootstrap=bs).stdout == "no topics\n"


def test_topic_list_all_shows_internal_topics(broker):
    bs = broker.bootstrap
    sl("topic", "create", "__internal_like", bootstrap=bs)
    sl("topic", "create", "visible", bootstrap=bs)
    assert [t["name"] for t in sj("topic", "list", bootstrap=bs)["topics"]] == ["visible"]
    names = [t["name"] for t in sj("topic", "list", "--all", bootstrap=bs)["topics"]]
    assert "__internal_like" in names and "visible" in names


def test_unknown_topic(broker_factory):
    b = broker_factory("--auto.create.topics.enable=false").start()
    bs = b.bootstrap
    sl("topic", "create", "known", "-p", "2", bootstrap=bs)
    for args in (["topic", "describe", "ghost"], ["topic", "delete", "ghost"],
                 ["topic", "alter-config", "ghost", "retention.ms=1"],
                 ["topic", "add-partitions", "ghost", "1"], ["consume", "ghost"],
                 ["consume", "known,ghost"],
                 ["group", "reset-offsets", "g", "--topic", "ghost", "--to-earliest"]):
        p = sl(*args, bootstrap=bs, expect=EXIT_NOT_FOUND)
        assert p.stderr == "sluice: unknown topic 'ghost'\n", (args, p.stderr)
    p = sl("produce", "ghost", input="x\n", bootstrap=bs, expect=EXIT_NOT_FOUND)
    assert p.stderr == "sluice: unknown topic 'ghost'\n"
    p = sl("consume", "known", "--partition", "7", bootstrap=bs, expect=EXIT_NOT_FOUND)
    assert "topic 'known' has no partition 7 (it has 2)" in p.stderr
    p = sl("produce", "known", "--partition", "2", input="x\n", bootstrap=bs,
           expect=EXIT_NOT_FOUND)
    assert "topic 'known' has no partition 2" in p.stderr
    p = sl("group", "reset-offsets", "g", "--topic", "known:0,5", "--to-earliest",
           bootstrap=bs, expect=EXIT_NOT_FOUND)
    assert "topic 'known' has no partition 5" in p.stderr
    assert b.stop() == 0
    b.cleanup()


# ---- produce ----------------------------------------------------------------

def test_produce_keys_headers_partition(broker, tmp_path):
    bs = broker.bootstrap
    sl("topic", "create", "p", "-p", "4", bootstrap=bs)
    p = produce(broker, "p", ["k1::v1", "k2::v::2", "no separator", "::empty key", ""],
                "--key-sep", "::", "--header", "h1=one", "-H", "h2=", "--partition", "3")
    assert p.stdout == "delivered 5, failed 0\n"
    msgs = consume_json(broker, "p")
    assert [(m["key"], m["value"]) for m in msgs] == [
        ("k1", "v1"), ("k2", "v::2"), (None, "no separator"), ("", "empty key"), (None, "")]
    for i, m in enumerate(msgs):
        assert m["topic"] == "p" and m["partition"] == 3 and m["offset"] == i
        assert m["headers"] == [{"key": "h1", "value": "one"}, {"key": "h2", "value": ""}]

    # --file, and keyed messages spread over partitions by key.
    f = tmp_path / "lines.txt"
    f.write_text("".join("key%d=value%d\n" % (i, i) for i in range(200)))
    res = sj("produce", "p", "--file", str(f), "-K", "=", bootstrap=bs)
    assert res == {"topic": "p", "delivered": 200, "failed": 0, "error": None}
    msgs = [m for m in consume_json(broker, "p") if m["key"] and m["key"].startswith("key")]
    assert len(msgs) == 200
    assert len({m["partition"] for m in msgs}) > 1
    by_key = {}
    for m in msgs:
        assert m["value"] == "value" + m["key"][3:]
        by_key.setdefault(m["key"], set()).add(m["partition"])
    assert all(len(parts) == 1 for parts in by_key.values())


@pytest.mark.parametrize("acks", ["0", "1", "all"])
@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_produce_acks_and_compression(broker, acks, codec):
    lines = ["%s-%s-%04d %s" % (acks, codec, i, "x" * (i % 50)) for i in range(300)]
    p = produce(broker, "c", lines, "--acks", acks, "--compression", codec)
    assert p.stdout == "delivered 300, failed 0\n"
    assert [m["value"] for m in consume_json(broker, "c")] == lines


def test_produce_failures_exit_nonzero(broker):
    bs = broker.bootstrap
    # Refused by librdkafka itself (-X reaches the client): too large for it.
    p = sl("produce", "t", "-X", "message.max.bytes=1000", bootstrap=bs,
           input="small\n" + "y" * 5000 + "\n", expect=EXIT_FAILED)
    assert p.stdout == "delivered 1, failed 1\n"
    assert "1 message was not delivered to 't'" in p.stderr
    # Refused by the broker: the topic's max.message.bytes.
    sl("topic", "create", "tiny", "-c", "max.message.bytes=200", bootstrap=bs)
    p = sl("--json", "produce", "tiny", bootstrap=bs, input="z" * 3000 + "\n",
           expect=EXIT_FAILED)
    res = json.loads(p.stdout)
    assert res["delivered"] == 0 and res["failed"] == 1 and res["error"]
    p = sl("produce", "t", "-X", "no.such.property=1", bootstrap=bs, input="x\n",
           expect=EXIT_USAGE)
    assert "no.such.property" in p.stderr


# ---- consume ----------------------------------------------------------------

def test_consume_from_positions_and_formats(broker):
    bs = broker.bootstrap
    sl("topic", "create", "ev", "-p", "2", bootstrap=bs)
    produce(broker, "ev", ["a%d" % i for i in range(10)], "--partition", "0")
    time.sleep(0.3)
    middle_ms = int(time.time() * 1000)
    time.sleep(0.3)
    produce(broker, "ev", ["b%d" % i for i in range(5)], "--partition", "0",
            "--header", "kind=late", "--key-sep", "|")
    produce(broker, "ev", ["k|c%d" % i for i in range(3)], "--partition", "1", "-K", "|")

    every = consume_json(broker, "ev")
    assert sorted(m["value"] for m in every) == sorted(
        ["a%d" % i for i in range(10)] + ["b%d" % i for i in range(5)] +
        ["c%d" % i for i in range(3)])
    # Default format: the value and a newline.
    assert sorted(sl("consume", "ev", bootstrap=bs).stdout.splitlines()) == \
        sorted(m["value"] for m in every)
    assert consume_json(broker, "ev", "--from", "beginning") == every
    assert consume_json(broker, "ev", "--from", "end") == []
    p0 = consume_json(broker, "ev", "--partition", "0", "--from", "7")
    assert [m["value"] for m in p0] == ["a7", "a8", "a9", "b0", "b1", "b2", "b3", "b4"]
    # Offsets outside the log are clamped into it.
    assert consume_json(broker, "ev", "--partition", "0", "--from", "999") == []
    # Times: the first message at or after it, in any ISO-8601 zone.
    for stamp in (iso(middle_ms), iso(middle_ms, 2), iso(middle_ms, -5)):
        late = consume_json(broker, "ev", "--partition", "0", "--from", stamp)
        assert [m["value"] for m in late] == ["b%d" % i for i in range(5)], stamp
    assert consume_json(broker, "ev", "--from", "2000-01-01T00:00:00Z") == every
    assert consume_json(broker, "ev", "--from", "2999-01-01") == []
    late = consume_json(broker, "ev", "--partition", "0", "--from", "end")
    assert late == []

    # -n stops after COUNT messages.
    assert len(consume_json(broker, "ev", "-n", "4")) == 4
    assert len(sl("consume", "ev", "--count", "2", bootstrap=bs).stdout.splitlines()) == 2

    # Template: every directive and escape.
    m = [x for x in every if x["value"] == "b3"][0]
    out = sl("consume", "ev", "--partition", "0", "--from", str(m["offset"]), "-n", "1",
             "--format", "%T|%p|%o|%t|%k|%v|%h|%%|\\t|\\\\|end\\n", bootstrap=bs).stdout
    assert out == "ev|0|%d|%d||b3|kind=late|%%|\t|\\|end\n" % (m["offset"], m["timestamp"])
    out = sl("consume", "ev", "--partition", "1", "-F", "%k=%v", bootstrap=bs).stdout
    assert out == "k=c0\nk=c1\nk=c2\n"  # a newline is added when the template has none
    assert m["timestamp"] >= middle_ms

    # --json is JSON lines too; every line parses, with all fields.
    lines = sl("--json", "consume", "ev", "--partition", "1", bootstrap=bs).stdout.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [(x["key"], x["value"], x["partition"], x["offset"]) for x in parsed] == \
        [("k", "c%d" % i, 1, i) for i in range(3)]
    assert set(parsed[0]) == {"topic", "partition", "offset", "timestamp", "key", "value",
                              "headers"}


def test_consume_several_topics_and_binary_json(broker):
    bs = broker.bootstrap
    produce(broker, "one", ["1a", "1b"])
    produce(broker, "two", ["2a"])
    got = consume_json(broker, "one,two")
    assert sorted((m["topic"], m["value"]) for m in got) == [
        ("one", "1a"), ("one", "1b"), ("two", "2a")]
    # Values that are not UTF-8 (and quotes, control bytes) still give valid JSON.
    raw = b"\xff\xfe\"quoted\"\x01\tend\n"
    p = sl("produce", "bin", bootstrap=bs, input=raw)
    assert p.stdout == b"delivered 1, failed 0\n"
    p = sl("consume", "bin", "--format", "json", bootstrap=bs)
    m = json.loads(p.stdout)
    assert m["value"] == "\u00ff\u00fe\"quoted\"\u0001\tend"
    # The template writes the bytes as they are.
    p = subprocess.run([SLUICE, "consume", "bin", "-b", bs], capture_output=True, timeout=60)
    assert p.returncode == 0 and p.stdout == raw


def read_lines(proc, n, timeout=60.0):
    """Reads n lines from a running process's stdout (bounded in time)."""
    lines, buf = [], b""
    deadline = time.time() + timeout
    fd = proc.stdout.fileno()
    while len(lines) < n and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf and len(lines) < n:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode())
    return lines


def stop_background(proc):
    """SIGINT, then the exit code and stderr (checked for sanitizer reports)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    err = proc.stderr.read().decode(errors="replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    return rc, err


def test_consume_follow(broker):
    bs = broker.bootstrap
    produce(broker, "live", ["old"])
    proc = subprocess.Popen([SLUICE, "consume", "live", "--follow", "-b", bs],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert read_lines(proc, 1) == ["old"]
        # Past the end it keeps waiting instead of exiting.
        time.sleep(1.0)
        assert proc.poll() is None
        produce(broker, "live", ["new1", "new2"])
        assert read_lines(proc, 2) == ["new1", "new2"]
    finally:
        rc, err = stop_background(proc)
    assert rc == 0, err
    # --follow with -n still ends after COUNT.
    p = sl("consume", "live", "--follow", "-n", "2", bootstrap=bs)
    assert p.stdout.splitlines() == ["old", "new1"]


def read_pty(fd, seconds):
    out = b""
    deadline = time.time() + seconds
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out.decode(errors="replace")


def test_progress_line_only_on_a_terminal(broker):
    import pty
    bs = broker.bootstrap
    # stderr a pipe: no progress line, nothing at all on stderr.
    p = produce(broker, "prog", ["m%d" % i for i in range(2000)])
    assert p.stderr == ""
    assert sl("consume", "prog", bootstrap=bs).stderr == ""

    # stderr a terminal: produce redraws a line with msgs/s while it runs.
    master, slave = pty.openpty()
    proc = subprocess.Popen([SLUICE, "produce", "prog", "-b", bs], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    try:
        proc.stdin.write(b"first\n")
        proc.stdin.flush()
        time.sleep(0.5)  # the next message finds the line due for a redraw
        proc.stdin.write(b"second\n")
        proc.stdin.flush()
        time.sleep(0.3)
        proc.stdin.close()
        tty = read_pty(master, 3)
        assert proc.wait(60) == 0
    finally:
        os.close(master)
    assert "produced" in tty and "msgs/s" in tty
    for mark in SANITIZER_MARKS:
        assert mark not in tty
    assert proc.stdout.read() == b"delivered 2, failed 0\n"

    # consume --follow draws it while idle too.
    master, slave = pty.openpty()
    proc = subprocess.Popen([SLUICE, "consume", "prog", "--follow", "-b", bs],
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    try:
        tty = read_pty(master, 2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        tty += read_pty(master, 0.5)
    finally:
        os.close(master)
    assert "consumed 2002 msgs" in tty and "msgs/s" in tty
    for mark in SANITIZER_MARKS:
        assert mark not in tty


# ---- cluster ----------------------------------------------------------------

def test_cluster_info(broker):
    bs = broker.bootstrap
    sl("topic", "create", "x", bootstrap=bs)
    info = sj("cluster", "info", bootstrap=bs)
    assert info["brokers"] == [{"id": 1, "host": "127.0.0.1", "port": broker.port}]
    assert info["controller_id"] == 1
    assert isinstance(info["cluster_id"], str) and info["cluster_id"]
    assert info["topics"] >= 1
    assert info["api_versions_from"] == bs
    apis = {a["name"]: a for a in info["api_versions"]}
    assert apis["ApiVersions"]["key"] == 18 and apis["ApiVersions"]["min_version"] == 0
    assert apis["Produce"]["max_version"] >= 3
    assert apis["Metadata"]["key"] == 3
    text = sl("cluster", "info", bootstrap=bs).stdout
    assert "cluster id:  %s" % info["cluster_id"] in text
    assert "controller:  1" in text
    assert "1       127.0.0.1  %d  controller" % broker.port in text
    assert "API versions of %s:" % bs in text
    assert any(line.split()[:2] == ["18", "ApiVersions"] for line in text.splitlines())


# ---- consumer groups -----------------------------------------------------------

def wait_for(cond, timeout=60.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def test_group_replay_story(broker):
    """produce 1,000 -> consume with a group (commits) -> describe shows lag 0 ->
    reset to earliest (dry run changes nothing, --execute does) -> the group
    reads all 1,000 again."""
    bs = broker.bootstrap
    sl("topic", "create", "orders", "-p", "3", bootstrap=bs)
    values = ["order-%04d" % i for i in range(1000)]
    keyed = ["customer-%d|%s" % (i % 37, v) for i, v in enumerate(values)]
    p = produce(broker, "orders", keyed, "--key-sep", "|")
    assert p.stdout == "delivered 1000, failed 0\n"

    first = consume_json(broker, "orders", "--group", "billing")
    assert sorted(m["value"] for m in first) == values

    offsets, d = group_offsets(broker, "billing")
    assert d["group"] == "billing" and d["state"] == "Empty" and d["members"] == []
    assert d["total_lag"] == 0
    assert sorted(offsets) == [("orders", 0), ("orders", 1), ("orders", 2)]
    ends = {p["partition"]: p["log_end_offset"]
            for p in sj("topic", "describe", "orders", bootstrap=bs)["partitions"]}
    assert sum(ends.values()) == 1000
    for (_, part), o in offsets.items():
        assert o["committed"] == ends[part] == o["log_end_offset"] and o["lag"] == 0
    text = sl("group", "describe", "billing", bootstrap=bs).stdout
    assert "group billing: state Empty, 0 members" in text
    assert "total lag: 0" in text
    assert "TOPIC   PARTITION  COMMITTED  LOG-END  LAG  MEMBER" in text

    # Nothing left for the group.
    assert consume_json(broker, "orders", "--group", "billing") == []

    # Dry run: prints the plan, changes nothing.
    p = sl("group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest",
           bootstrap=bs)
    assert "dry run: nothing changed" in p.stdout
    rows = [line.split() for line in p.stdout.splitlines()[1:4]]
    assert rows == [["orders", str(part), str(ends[part]), "0", "0", str(ends[part])]
                    for part in range(3)]
    after, d = group_offsets(broker, "billing")
    assert after == offsets and d["total_lag"] == 0

    plan = sj("group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest",
              "--execute", bootstrap=bs)
    assert plan["executed"] is True and plan["group"] == "billing"
    assert [(x["partition"], x["current"], x["new"]) for x in plan["plan"]] == \
        [(part, ends[part], 0) for part in range(3)]
    _, d = group_offsets(broker, "billing")
    assert d["total_lag"] == 1000
    assert all(o["committed"] == 0 for o in d["offsets"])

    again = consume_json(broker, "orders", "--group", "billing")
    assert sorted(m["value"] for m in again) == values
    _, d = group_offsets(broker, "billing")
    assert d["total_lag"] == 0


def test_group_reset_modes(broker):
    bs = broker.bootstrap
    sl("topic", "create", "r", "-p", "2", bootstrap=bs)
    produce(broker, "r", ["a%d" % i for i in range(10)], "--partition", "0")
    produce(broker, "r", ["x%d" % i for i in range(4)], "--partition", "1")
    time.sleep(0.3)
    middle_ms = int(time.time() * 1000)
    time.sleep(0.3)
    produce(broker, "r", ["b%d" % i for i in range(10)], "--partition", "0")
    # The group reads 5 messages of partition 0 and commits them.
    got = consume_json(broker, "r", "--group", "g", "--partition", "0", "-n", "5")
    assert [m["value"] for m in got] == ["a%d" % i for i in range(5)]
    offsets, _ = group_offsets(broker, "g")
    assert offsets[("r", 0)]["committed"] == 5 and offsets[("r", 0)]["lag"] == 15

    def plan(*mode, topic="r:0"):
        res = sj("group", "reset-offsets", "g", "--topic", topic, *mode, bootstrap=bs)
        return {(x["topic"], x["partition"]): (x["current"], x["new"]) for x in res["plan"]}

    assert plan("--to-latest") == {("r", 0): (5, 20)}
    assert plan("--to-earliest") == {("r", 0): (5, 0)}
    assert plan("--to-offset", "12") == {("r", 0): (5, 12)}
    assert plan("--to-offset", "500") == {("r", 0): (5, 20)}        # clamped to log end
    assert plan("--shift-by", "3") == {("r", 0): (5, 8)}
    assert plan("--shift-by", "-2") == {("r", 0): (5, 3)}
    assert plan("--shift-by", "-100") == {("r", 0): (5, 0)}          # clamped to log start
    assert plan("--shift-by", "100") == {("r", 0): (5, 20)}
    assert plan("--to-datetime", iso(middle_ms)) == {("r", 0): (5, 10)}
    assert plan("--to-datetime", iso(middle_ms, 3)) == {("r", 0): (5, 10)}
    assert plan("--to-datetime", "2999-01-01T00:00:00Z") == {("r", 0): (5, 20)}
    # All partitions of the topic; no committed offset shows as null.
    assert plan("--to-earliest", topic="r") == {("r", 0): (5, 0), ("r", 1): (None, 0)}
    p = sl("group", "reset-offsets", "g", "--topic", "r", "--shift-by", "1", bootstrap=bs,
           expect=EXIT_FAILED)
    assert "no committed offset for r[1] to shift from" in p.stderr

    # None of the dry runs changed anything.
    offsets, _ = group_offsets(broker, "g")
    assert offsets[("r", 0)]["committed"] == 5 and ("r", 1) not in offsets

    def execute(*mode, topic="r:0"):
        sl("group", "reset-offsets", "g", "--topic", topic, *mode, "--execute", bootstrap=bs)
        return group_offsets(broker, "g")[0]

    assert execute("--to-datetime", iso(middle_ms))[("r", 0)]["committed"] == 10
    got = consume_json(broker, "r", "--group", "g", "--partition", "0")
    assert [m["value"] for m in got] == ["b%d" % i for i in range(10)]
    assert execute("--shift-by", "-4")[("r", 0)]["committed"] == 16
    assert execute("--to-offset", "7")[("r", 0)]["committed"] == 7
    o = execute("--to-latest", topic="r:0,1")
    assert o[("r", 0)]["committed"] == 20 and o[("r", 1)]["committed"] == 4
    p = sl("group", "reset-offsets", "g", "--topic", "r:1", "--to-earliest", "--execute",
           bootstrap=bs)
    assert "offsets of group 'g' reset" in p.stdout
    o = group_offsets(broker, "g")[0]
    assert o[("r", 1)]["committed"] == 0 and o[("r", 0)]["committed"] == 20


def test_group_active_refused(broker):
    bs = broker.bootstrap
    sl("topic", "create", "busy", "-p", "2", bootstrap=bs)
    produce(broker, "busy", ["m%d" % i for i in range(20)])
    proc = subprocess.Popen([SLUICE, "consume", "busy", "--group", "workers", "--follow",
                             "-b", bs], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert len(read_lines(proc, 20)) == 20

        def stable():
            d = sj("group", "describe", "workers", bootstrap=bs)
            return d if d["state"] == "Stable" and d["members"] else None
        d = wait_for(stable, what="group Stable")
        member = d["members"][0]
        assert member["client_id"] == "sluice" and member["host"]
        assert sorted((a["topic"], a["partition"]) for a in member["assignment"]) == \
            [("busy", 0), ("busy", 1)]
        assert {o["member_id"] for o in d["offsets"]} == {member["member_id"]}
        text = sl("group", "describe", "workers", bootstrap=bs).stdout
        assert "state Stable, 1 member" in text and "busy[0,1]" in text
        listed = sj("group", "list", bootstrap=bs)["groups"]
        assert {"group": "workers", "state": "Stable", "simple": False} in listed

        before, _ = wait_for(lambda: (lambda o: o if sum(
            x["committed"] or 0 for x in o[0].values()) == 20 else None)(
                group_offsets(broker, "workers")), what="commits")
        p = sl("group", "reset-offsets", "workers", "--topic", "busy", "--to-earliest",
               "--execute", bootstrap=bs, expect=EXIT_REFUSED)
        assert "refusing to reset offsets of group 'workers'" in p.stderr
        assert "active" in p.stderr and "overwrite" in p.stderr
        assert "Stop the group's consumers" in p.stderr and "Empty" in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
        # The dry run still shows the plan, with a warning.
        p = sl("group", "reset-offsets", "workers", "--topic", "busy", "--to-earliest",
               bootstrap=bs)
        assert "dry run" in p.stdout and "--execute will be refused" in p.stdout
        p = sl("group", "delete", "workers", bootstrap=bs, expect=EXIT_REFUSED)
        assert "active members" in p.stderr
        after, _ = group_offsets(broker, "workers")
        assert {k: v["committed"] for k, v in after.items()} == \
            {k: v["committed"] for k, v in before.items()}
    finally:
        rc, err = stop_background(proc)
    assert rc == 0, err
    # Once the consumer left, the group is Empty and the reset goes through.
    wait_for(lambda: sj("group", "describe", "workers", bootstrap=bs)["state"] == "Empty",
             what="group Empty")
    sl("group", "reset-offsets", "workers", "--topic", "busy", "--to-earliest", "--execute",
       bootstrap=bs)
    assert sj("group", "describe", "workers", bootstrap=bs)["total_lag"] == 20


def test_group_list_describe_delete(broker):
    bs = broker.bootstrap
    assert sl("group", "list", bootstrap=bs).stdout == "no groups\n"
    assert sj("group", "list", bootstrap=bs) == {"groups": []}
    produce(broker, "t", ["1", "2", "3"])
    consume_json(broker, "t", "--group", "alpha")
    consume_json(broker, "t", "--group", "beta", "-n", "1")
    groups = sj("group", "list", bootstrap=bs)["groups"]
    assert [(g["group"], g["state"]) for g in groups] == [("alpha", "Empty"), ("beta", "Empty")]
    table = sl("group", "list", bootstrap=bs).stdout.splitlines()
    assert table[0].split() == ["GROUP", "STATE", "TYPE"]
    assert table[1].split()[:2] == ["alpha", "Empty"]
    _, d = group_offsets(broker, "beta")
    assert d["total_lag"] == 2

    p = sl("group", "describe", "nobody", bootstrap=bs, expect=EXIT_NOT_FOUND)
    assert p.stderr == "sluice: unknown group 'nobody'\n"
    assert "deleted group alpha" in sl("group", "delete", "alpha", bootstrap=bs).stdout
    assert sj("group", "delete", "beta", bootstrap=bs) == {"group": "beta", "deleted": True}
    assert sj("group", "list", bootstrap=bs) == {"groups": []}
    p = sl("group", "delete", "alpha", bootstrap=bs, expect=EXIT_NOT_FOUND)
    assert "unknown group 'alpha'" in p.stderr
    # A deleted group starts over from the beginning.
    assert len(consume_json(broker, "t", "--group", "alpha")) == 3


def test_group_with_from_overrides_commits(broker):
    bs = broker.bootstrap
    produce(broker, "f", ["v%d" % i for i in range(6)])
    assert len(consume_json(broker, "f", "--group", "g")) == 6
    # --from beats the committed offset, and the new position is committed.
    again = consume_json(broker, "f", "--group", "g", "--from", "beginning", "-n", "2")
    assert [m["value"] for m in again] == ["v0", "v1"]
    offsets, _ = group_offsets(broker, "g")
    assert offsets[("f", 0)]["committed"] == 2
    rest = consume_json(broker, "f", "--group", "g")
    assert [m["value"] for m in rest] == ["v2", "v3", "v4", "v5"]
    assert consume_json(broker, "f", "--group", "g", "--from", "end") == []
