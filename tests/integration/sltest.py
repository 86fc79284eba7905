"""Helpers for integration tests: start a real sluiced on a free loopback
port with a fresh data directory, stop it by PID, and find the client tools.

Used by pytest tests (through conftest.py fixtures) and importable by any
test script. Only the standard library is used here."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TOP = os.environ.get("SL_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SL_BUILD_DIR") or os.path.join(TOP, "build-test")
SLUICED = os.environ.get("SLUICED") or os.path.join(BUILD, "sluiced")
SLUICE = os.environ.get("SLUICE") or os.path.join(BUILD, "sluice")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("sluiced exited with %s before listening" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("nothing listening on port %d after %.0fs" % (port, timeout))


class Broker:
    """One sluiced process. The data directory survives restarts of the same
    object and is removed by cleanup()."""

    def __init__(self, *settings, data_dir=None, port=None, env=None):
        self.port = port or free_port()
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="sluice-test-")
        self.settings = list(settings)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "sluiced.log")
        self.starts = 0

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def args(self):
        return [SLUICED,
                "--listeners=PLAINTEXT://127.0.0.1:%d" % self.port,
                "--log.dirs=%s" % os.path.join(self.data_dir, "logs"),
                "--group.initial.rebalance.delay.ms=0",
                ] + self.settings

    def start(self, timeout=60.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(b"\n==== start %d ====\n" % self.starts)
        log.flush()
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=log, env=self.env,
                                     cwd=self.data_dir)
        log.close()
        wait_port(self.port, timeout, self.proc)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30.0):
        """SIGTERM and wait; returns the exit code (0 for a clean shutdown)."""
        if not self.running():
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self):
        """SIGKILL: an unclean stop."""
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def stop_clean(self):
        """SIGTERM, and fail unless the exit was clean (code 0, which also
        means no sanitizer report)."""
        rc = self.stop()
        assert rc == 0, "sluiced exited with %s on SIGTERM:\n%s" % (rc, self.log_tail())

    def restart(self, clean=True):
        if clean:
            self.stop_clean()
        else:
            self.kill()
        return self.start()

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cleanup(self):
        self.kill()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def run(cmd, input=None, timeout=120, check=True, env=None):
    """Runs a command, returns CompletedProcess with text stdout/stderr."""
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, text=True,
                       env=env)
    if check and p.returncode != 0:
        raise AssertionError("command failed (%d): %s\nstdout:\n%s\nstderr:\n%s" % (
            p.returncode, " ".join(cmd), p.stdout[-4000:], p.stderr[-4000:]))
    return p
