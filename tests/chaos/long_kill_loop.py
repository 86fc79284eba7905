"""Kill loop, long: 200 SIGKILL cycles with idempotent producers and a
committing consumer group, 50 with plain acks=all producers."""
import chaoslib as cl
import scenarios


def test_kill_loop_idempotent_long():
    scenarios.kill_loop(cl.cycles(200), idempotent=True)


def test_kill_loop_acks_all_long():
    scenarios.kill_loop(cl.cycles(50), idempotent=False, group=False)
