"""Clean restart loop, short: SIGTERM under load, 10 cycles: every shutdown
ends (bounded generously, as a hang detector; times are printed), the next
start finds the log directory clean, nothing is lost. Long version:
long_clean_restart.py."""
import chaoslib as cl
import scenarios

HANG_BOUND_S = 30


def test_clean_restart_loop():
    times = scenarios.clean_restart_loop(cl.cycles(10))
    assert max(times) < HANG_BOUND_S


def test_shutdown_while_produce_waits_for_fsync():
    scenarios.shutdown_while_produce_waits_for_fsync()
