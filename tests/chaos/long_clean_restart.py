"""Clean restart loop, long: 100 SIGTERM cycles under load."""
import chaoslib as cl
import scenarios

HANG_BOUND_S = 30


def test_clean_restart_loop_long():
    times = scenarios.clean_restart_loop(cl.cycles(100))
    assert max(times) < HANG_BOUND_S
