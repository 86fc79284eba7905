"""bench/run --quick end to end against the build under test: the runner
measures the machine, starts Redis and sluiced per run, drives both with
their load generators and writes a results table with every workload row.
Proves the runner works; speed is never asserted (numbers from a sanitizer
build and seconds-long runs mean nothing)."""
import json
import os
import re
import subprocess
import sys

from sltest import BUILD, SLUICED, TOP

ROWS = ["W1 produce 100 B", "W2 produce 1 KiB", "W3 produce 100 B", "W3 produce 1 KiB",
        "W4 consume 100 B", "W4 consume 1 KiB", "W5 latency", "W6 8 partitions",
        "F idle RSS", "F exec to accepting", "F peak RSS during W1"]
NUMBER = re.compile(r"\d+(\.\d+)?")


def test_bench_quick(tmp_path):
    out = tmp_path / "results"
    env = dict(os.environ, SLUICED=SLUICED, TMPDIR=str(tmp_path))
    p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "run"), BUILD, "--quick",
                        "--out", str(out), "--dir", str(tmp_path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    log = p.stderr.decode(errors="replace")
    assert p.returncode == 0, log[-4000:]
    md = [f for f in os.listdir(out) if f.endswith("-quick.md")]
    js = [f for f in os.listdir(out) if f.endswith("-quick.json")]
    assert len(md) == 1 and len(js) == 1, os.listdir(out)
    text = (out / md[0]).read_text()
    assert "QUICK" in text
    assert re.search(r"commit: `[0-9a-f]{7,}", text), text
    assert re.search(r"machine: \d+ cores", text), text
    assert re.search(r"loopback TCP \d+ MB/s", text) and "write+fdatasync" in text, text

    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("| Workload |"))
    end = lines.index("", start)
    table = lines[start + 2:end]
    for name in ROWS:
        rows = [l for l in table if l.startswith("| " + name)]
        assert len(rows) == 1, (name, text)
        cells = [c.strip() for c in rows[0].strip("|").split("|")]
        sluiced, peer = cells[2], cells[3]
        assert NUMBER.search(sluiced) and "error" not in sluiced, rows[0]
        assert NUMBER.search(peer) and "error" not in peer, rows[0]
        if name.startswith("W") and not name.startswith("W5"):
            assert "msg/s" in sluiced and "msg/s" in peer, rows[0]
            assert re.search(r"\d+\.\d+x", cells[5]), rows[0]  # sluiced/peer ratio
            assert re.search(r"\d+\.\d+ / \d+\.\d+", cells[7]), rows[0]  # broker CPU
            assert re.search(r"\d+\.\d+ \+ \d+\.\d+ / \d+\.\d+ \+ \d+\.\d+", cells[8]), rows[0]
            assert cells[9].count("MiB") == 2, rows[0]  # peak RSS of both
    targets = [l for l in text.splitlines() if re.match(r"\| (W\d|F) .*\| (met|MISSED) \|$", l)]
    assert len(targets) == 13, text

    data = json.loads((out / js[0]).read_text())
    for key, systems in data["runs"].items():
        for system in ("sluiced", "peer"):
            assert systems[system], (key, system)
            for r in systems[system]:
                assert r["ok"], (key, system, r)
                assert r["messages"] > 0, (key, system, r)
                assert r["peak_rss_kib"] > 0, (key, system, r)
    # every latency message arrived (lost ones would be hidden by percentiles)
    for system in ("sluiced", "peer"):
        for r in data["runs"]["W5"][system]:
            assert r["lost"] == 0 and r["received"] == r["planned"], r
