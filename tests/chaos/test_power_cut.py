"""Power cut, short: faultfs drops unsynced writes (with torn tails) and kills
sluiced under load (idempotent producers, a committing consumer group);
recovery must always succeed, nothing acknowledged may be lost, committed
offsets never go backwards. The long version is long_power_cut.py."""
import chaoslib as cl
import scenarios


def test_power_cut_loop():
    scenarios.power_cut_loop(cl.cycles(8), idempotent=True, group=True)


def test_retried_batch_acknowledged_only_when_durable():
    scenarios.retried_batch_power_cut()
