"""Disk errors, long: every short case in both durability modes, plus faults
that trigger after a random number of operations (which may hit while the
log directory is being opened at startup)."""
import pytest

import chaoslib as cl
import scenarios

AFTER_N = [("%s:%s:after=%d" % (op, err, n), False)
           for op in ("write", "fsync") for err in ("EIO", "ENOSPC") for n in (0, 3, 17, 60, 250)]


@pytest.mark.parametrize("idempotent", [True, False])
@pytest.mark.parametrize("spec,by_signal", scenarios.DISK_ERROR_SPECS)
def test_disk_error_long(spec, by_signal, idempotent):
    rng, _ = cl.seeded_rng("disk errors " + spec)
    scenarios.disk_error_case(spec, by_signal, rng, idempotent=idempotent)


@pytest.mark.parametrize("spec,by_signal", AFTER_N)
def test_disk_error_after_n(spec, by_signal):
    rng, _ = cl.seeded_rng("disk errors " + spec)
    scenarios.disk_error_case(spec, by_signal, rng)
