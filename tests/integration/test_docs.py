"""The user-facing reference docs are generated from the code; these tests
fail when they drift: docs/protocol.md (tools/protogen.py --docs),
docs/configuration.md (sluiced --help-markdown), and the APIs a running
broker advertises versus what docs/protocol.md says it serves."""
import os
import re
import socket
import struct
import subprocess
import tempfile

from sltest import SLUICED, TOP, run


def test_protocol_matrix_is_current():
    defs = sorted(os.path.join(TOP, "proto", f) for f in os.listdir(os.path.join(TOP, "proto"))
                  if f.endswith(".def"))
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "protocol.md")
        run(["/usr/bin/python3", os.path.join(TOP, "tools", "protogen.py"), "--docs", out] + defs)
        with open(out) as f:
            fresh = f.read()
    with open(os.path.join(TOP, "docs", "protocol.md")) as f:
        assert f.read() == fresh, "docs/protocol.md is stale: regenerate with tools/protogen.py --docs"


def test_configuration_table_is_current():
    table = run([SLUICED, "--help-markdown"]).stdout
    with open(os.path.join(TOP, "docs", "configuration.md")) as f:
        doc = f.read()
    assert table.strip() in doc, "docs/configuration.md is stale: regenerate with sluiced --help-markdown"


def api_versions(port):
    """ApiVersions v0 over a raw socket: {api_key: (min, max)}."""
    body = struct.pack(">hhih", 18, 0, 7, 4) + b"test"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        data = b""
        while len(data) < size:
            chunk = s.recv(size - len(data))
            assert chunk
            data += chunk
    corr, err, n = struct.unpack(">ihi", data[:10])
    assert corr == 7 and err == 0
    out = {}
    for i in range(n):
        key, lo, hi = struct.unpack(">hhh", data[10 + 6 * i:16 + 6 * i])
        out[key] = (lo, hi)
    return out


def test_advertised_apis_match_docs(broker):
    advertised = api_versions(broker.port)
    with open(os.path.join(TOP, "docs", "protocol.md")) as f:
        rows = re.findall(r"^\| (\d+) \| (\w+) \| ([^|]+) \| ([^|]+) \|", f.read(), re.M)
    documented = {}
    for key, _name, adv, _served in rows:
        adv = adv.strip()
        if adv.startswith("not yet"):
            continue
        lo, _, hi = adv.partition("-")
        documented[int(key)] = (int(lo), int(hi or lo))
    assert advertised == documented
