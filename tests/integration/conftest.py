"""pytest fixtures shared by the integration tests."""
import pytest

from sltest import Broker


@pytest.fixture
def broker():
    """A fresh single-node sluiced; a clean SIGTERM exit (code 0, which also
    means no sanitizer report) is part of every test."""
    b = Broker().start()
    yield b
    try:
        if b.running():
            b.stop_clean()
    finally:
        b.cleanup()


@pytest.fixture
def broker_factory():
    made = []

    def make(*settings, **kw):
        b = Broker(*settings, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.cleanup()
