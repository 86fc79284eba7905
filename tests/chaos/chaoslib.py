"""Shared harness of the chaos scenarios (tests/chaos/test_*.py, long_*.py).

A ChaosBroker is an sltest.Broker that can run with the faultfs shim
preloaded, waits for the broker's "ready" line, measures SIGTERM shutdowns
and cuts the power (SIGUSR2 to the shim). Workload runs sl_workload in the
background; check() runs sl_check over everything recorded. Only the standard
library is used; the clients are the C programs next to this file."""
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from sltest import BUILD, Broker  # noqa: E402

CHAOS_BIN = os.path.join(BUILD, "tests", "chaos")
WORKLOAD = os.path.join(CHAOS_BIN, "sl_workload")
CHECK = os.path.join(CHAOS_BIN, "sl_check")
FAULTFS = os.path.join(CHAOS_BIN, "libfaultfs.so")

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "AddressSanitizer:DEADLYSIGNAL")


def say(*args):
    """Progress lines: ctest shows them when a test fails or with -V."""
    print(*args, flush=True)


def asan_runtime(binary):
    """Path of the ASan runtime the binary links, or None."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(libasan\.so\S*) => (\S+)", out)
    return m.group(2) if m else None


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError("timed out after %.0fs waiting for %s" % (timeout, what))


class ChaosBroker(Broker):
    def __init__(self, *settings, **kw):
        super().__init__(*settings, **kw)
        self.faultfs_log = os.path.join(self.data_dir, "faultfs.log")
        self.base_env = dict(self.env)
        self.start_marks = []

    @property
    def log_dir(self):
        return os.path.join(self.data_dir, "logs")

    def set_faults(self, enabled=True, **fault_env):
        """Preload faultfs (over the log directory) for the next starts."""
        env = dict(self.base_env)
        if enabled:
            preload = [FAULTFS]
            rt = asan_runtime(self.args()[0])
            if rt:
                preload.insert(0, rt)
            env["LD_PRELOAD"] = " ".join(preload)
            env["FAULTFS_DIR"] = self.log_dir
            env["FAULTFS_LOG"] = self.faultfs_log
            for k, v in fault_env.items():
                env[k] = str(v)
        self.env = env

    def start(self, timeout=60.0, ready=True):
        self.start_marks.append(len(self.log_text()))
        super().start(timeout)
        if ready:
            self.wait_ready(timeout)
        return self

    def spawn(self):
        """Starts the process without waiting for anything (to kill it while
        it recovers)."""
        assert not self.running(), "already running"
        self.start_marks.append(len(self.log_text()))
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(b"\n==== start %d ====\n" % self.starts)
            log.flush()
            self.proc = subprocess.Popen(self.args(), stdout=log, stderr=log, env=self.env,
                                         cwd=self.data_dir)
        return self

    def current_log(self):
        """The broker's output since the latest start."""
        text = self.log_text()
        return text[self.start_marks[-1]:] if self.start_marks else text

    def wait_ready(self, timeout=60.0):
        def ready():
            if not self.running():
                raise AssertionError("sluiced exited with %s while starting:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            return "broker: ready" in self.current_log()
        wait_for(ready, timeout, "sluiced to become ready")

    def stop_timed(self, timeout=120.0):
        """SIGTERM; returns (exit code, seconds until the process was gone)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sluiced did not stop within %.0fs of SIGTERM:\n%s"
                                 % (timeout, self.log_tail()))
        return rc, time.monotonic() - t0

    def power_cut(self, timeout=30.0, shutting_down=False):
        """SIGUSR2: the shim drops unsynced writes and SIGKILLs the process.
        shutting_down: a SIGTERM was sent before, so the process may have
        exited cleanly first; returns whether the cut happened."""
        self.proc.send_signal(signal.SIGUSR2)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("power cut did not end the process")
        if shutting_down and rc == 0:
            return False
        assert rc == -signal.SIGKILL, "sluiced ended with %s on a power cut, not by SIGKILL:\n%s" % (
            rc, self.log_tail())
        return True

    def arm_fault(self):
        self.proc.send_signal(signal.SIGUSR1)

    def assert_no_sanitizer_report(self):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            assert mark not in text, "sanitizer report in the broker log:\n%s" % self.log_tail(120)

    def cleanup(self):
        """Also keeps the data directory (for a post-mortem) when
        SL_CHAOS_KEEP is set."""
        if os.environ.get("SL_CHAOS_KEEP"):
            self.kill()
            say("kept data directory %s" % self.data_dir)
            return
        super().cleanup()

    def faultfs_lines(self, prefix):
        try:
            with open(self.faultfs_log) as f:
                return [ln.rstrip("\n") for ln in f if ln.startswith(prefix)]
        except OSError:
            return []


def cut_stats(lines):
    """Sums the key=value fields of faultfs "cut" lines."""
    total = {}
    for ln in lines:
        for k, v in re.findall(r"(\w+)=(-?\d+)", ln):
            total[k] = total.get(k, 0) + int(v)
    return total


_LIVE_WORKLOADS = []


def kill_workloads():
    """Kills every background workload this process started that still runs
    (a failed scenario must not leave clients behind)."""
    while _LIVE_WORKLOADS:
        w = _LIVE_WORKLOADS.pop()
        if w.proc is not None and w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


class Workload:
    """One sl_workload process in the background."""

    def __init__(self, mode, broker, topic, out, *args):
        self.out = out
        self.err_path = out + ".stderr"
        self.cmd = [WORKLOAD, mode, "-b", broker.bootstrap, "-t", topic, "-o", out] + [
            str(a) for a in args]
        self.proc = None

    def start(self):
        with open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=err)
        _LIVE_WORKLOADS.append(self)
        return self

    def stop(self, timeout=180.0):
        """SIGTERM (the workload drains, then exits); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sl_workload did not finish:\n" + self.stderr())

    def stderr(self):
        try:
            with open(self.err_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def count(self, kind):
        try:
            with open(self.out) as f:
                return sum(1 for ln in f if ln.startswith(kind + " "))
        except OSError:
            return 0


def run_workload(mode, broker, topic, out, *args, timeout=300):
    p = subprocess.run([WORKLOAD, mode, "-b", broker.bootstrap, "-t", topic, "-o", out]
                       + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "sl_workload %s failed (%d):\n%s" % (mode, p.returncode, p.stderr)
    return p.stderr


def create_topic(broker, topic, partitions):
    p = subprocess.run([WORKLOAD, "create", "-b", broker.bootstrap, "-t", topic,
                        "-P", str(partitions), "--timeout-ms", "60000"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "topic creation failed:\n" + p.stderr


def check(files, idempotent):
    """Runs sl_check; returns (exit code, report)."""
    cmd = [CHECK] + (["--idempotent"] if idempotent else []) + list(files)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


def assert_checked(files, idempotent, min_acked=1):
    rc, report = check(files, idempotent)
    say(report)
    assert rc == 0, "durability violations:\n" + report
    m = re.search(r"acknowledged=(\d+)", report)
    assert m and int(m.group(1)) >= min_acked, "too few acknowledged sends to prove anything:\n" + report
    return report


def seeded_rng(name):
    """A random source whose seed is printed, so a failing run can be replayed
    with SL_CHAOS_SEED."""
    seed = int(os.environ.get("SL_CHAOS_SEED") or random.SystemRandom().randrange(1 << 30))
    say("%s: seed %d (replay with SL_CHAOS_SEED=%d)" % (name, seed, seed))
    return random.Random(seed), seed


def cycles(default):
    """Cycle count: SL_CHAOS_CYCLES overrides a scenario's default."""
    v = os.environ.get("SL_CHAOS_CYCLES")
    return int(v) if v else default
