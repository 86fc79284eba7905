"""Disk errors, short: EIO and ENOSPC on write and on fsync (armed under load
by a signal to faultfs) take the log directory offline; clients get
KAFKA_STORAGE_ERROR / NOT_LEADER_OR_FOLLOWER, the (ASan) broker survives and
stops normally, nothing acknowledged is lost. Long version: long_disk_errors.py."""
import pytest

import chaoslib as cl
import scenarios


@pytest.mark.parametrize("spec,by_signal", scenarios.DISK_ERROR_SPECS)
def test_disk_error(spec, by_signal):
    rng, _ = cl.seeded_rng("disk errors " + spec)
    scenarios.disk_error_case(spec, by_signal, rng)
