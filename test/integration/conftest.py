"""Every integration test gets a ROS 2 domain of its own, so the endpoints a previous test's
killed nodes leave in discovery (until their lease expires) never count as this test's
listeners; and every process group it started is killed when it ends, so a failing or
timed-out test never leaves a graph running into the next one."""

import itertools
import os

import pytest

from .rosgraph import reap_all

_BASE = int(os.environ["ROS_DOMAIN_ID"])  # this run's domain (test/conftest.py)
_NEXT = itertools.count(1)


@pytest.fixture(autouse=True)
def _own_domain(monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", str(1 + (_BASE + next(_NEXT)) % 100))
    yield


@pytest.fixture(autouse=True)
def _reap_processes():
    yield
    reap_all()
