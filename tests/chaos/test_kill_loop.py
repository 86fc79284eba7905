"""Kill loop, short: SIGKILL sluiced at random moments under load (idempotent
producers and a committing consumer group; then plain acks=all producers),
restart, repeat. The long version is long_kill_loop.py."""
import chaoslib as cl
import scenarios


def test_kill_loop_idempotent():
    scenarios.kill_loop(cl.cycles(10), idempotent=True)


def test_kill_loop_acks_all():
    scenarios.kill_loop(cl.cycles(5), idempotent=False, group=False)
