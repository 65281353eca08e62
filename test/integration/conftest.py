"""Every process group an integration test started is killed when the test ends, so a
failing or timed-out test never leaves a graph running into the next one."""

import pytest

from .rosgraph import reap_all


@pytest.fixture(autouse=True)
def _reap_processes():
    yield
    reap_all()
