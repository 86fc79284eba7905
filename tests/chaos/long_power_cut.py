"""Power cut, long: 100 cuts with idempotent producers and a committing
consumer group, 50 with plain acks=all producers."""
import chaoslib as cl
import scenarios


def test_power_cut_loop_idempotent_long():
    scenarios.power_cut_loop(cl.cycles(100), idempotent=True, group=True)


def test_power_cut_loop_acks_all_long():
    scenarios.power_cut_loop(cl.cycles(50), idempotent=False)
