"""pytest fixtures of the OpenStack API simulator (load with ``pytest_plugins = ["os_simulator.pytest_plugin"]``).

- ``os_simulator``: a running ``Simulator`` on 127.0.0.1 (a free port), stopped after the test.
- ``os_simulator_session``: one simulator for the whole session (add clouds with unique names).
- ``demo_cloud``: a small cloud "demo" with two regions (RegionOne, RegionTwo), 12 servers per region,
  2 projects, on the test's ``os_simulator``.
"""

from __future__ import annotations

import pytest

from os_simulator import Simulator


@pytest.fixture
def os_simulator():
    sim = Simulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def os_simulator_session():
    sim = Simulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def demo_cloud(os_simulator):
    return os_simulator.add_cloud("demo", regions=("RegionOne", "RegionTwo"), seed=0, servers=12, projects=2)
