"""The ``realcloud`` session fixture: real OpenStack 2026.1 services on 127.0.0.1 (docs/realcloud.md).

Runs when ``CI=true`` or ``CMDB_REALCLOUD=1``: brings the cloud up with tests/realcloud/harness
(reusing a running healthy one), seeds it, and stops it at the end of the session when it started
it. Under ``CI=true`` any failure is an ERROR, never a skip. Otherwise every test here is skipped
with a reason that says how to run them. ``CMDB_REALCLOUD_CLOUD=<clouds.yaml name>`` runs them
read-only against your own cloud instead (nothing is installed, started or seeded).
"""

from __future__ import annotations

import os
import time

import pytest

from realcloud.harness import cloud as harness_cloud
from realcloud.harness import config as harness_config
from realcloud.harness import seed as harness_seed
from realcloud.harness.util import HarnessError, Phases

HERE = os.path.dirname(os.path.abspath(__file__))

SKIP_REASON = (
    "real-OpenStack tests: run them with `CMDB_REALCLOUD=1 bash scripts/test.sh tests/realcloud` "
    "(installs Keystone, Nova, Neutron, Cinder, Glance, Octavia 2026.1 from PyPI into "
    "~/.cache/cmdb-openstack/realcloud, memcached/qemu-utils with apt; ~4-6 min the first time, "
    "~1 min when installed; ~3 GiB RAM), or against your own cloud read-only with "
    "CMDB_REALCLOUD_CLOUD=<clouds.yaml name> (docs/realcloud.md); they always run under CI=true"
)


class _Times:
    setup = -1.0  # seconds the cloud's set-up took; -1: the fixture did not run
    tests = 0.0
    phases = ""
    mode = ""


_TIMES = _Times()


def _ci():
    return os.environ.get("CI", "").strip().lower() == "true"


def _enabled():
    return _ci() or os.environ.get("CMDB_REALCLOUD", "").strip().lower() in ("1", "true", "yes") or bool(_own_cloud())


def _own_cloud():
    return os.environ.get("CMDB_REALCLOUD_CLOUD", "").strip()


def _ours(item):
    return str(item.fspath).startswith(HERE + os.sep)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _ours(item):
            item.add_marker(pytest.mark.realcloud)
            if not _enabled():
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def pytest_runtest_logreport(report):
    if report.when == "call" and report.nodeid.replace("\\", "/").startswith("tests/realcloud/"):
        _TIMES.tests += report.duration


class RealCloud:
    """What a test gets from the ``realcloud`` fixture (interface documented in docs/realcloud.md)."""

    def __init__(self, clouds_yaml, seed, admin_cloud, member_cloud, read_only, state_dir=None):
        self.clouds_yaml = clouds_yaml  # path of clouds.yaml (None: openstacksdk's usual search)
        self.seed = seed  # parsed seed.json (None against your own cloud)
        self.admin_cloud = admin_cloud  # clouds.yaml name: admin, project admin, sees all projects
        self.member_cloud = member_cloud  # clouds.yaml name: member user on project alpha (or None)
        self.read_only = read_only  # True against your own cloud: tests must not create or delete
        self.state_dir = state_dir

    @property
    def env(self):
        """Environment for subprocesses (ansible-playbook) so that they find the same clouds.yaml."""
        return {"OS_CLIENT_CONFIG_FILE": self.clouds_yaml} if self.clouds_yaml else {}

    def connect(self, cloud=None):
        """An openstacksdk Connection for ``cloud`` (default: the admin cloud)."""
        import openstack.config
        import openstack.connection

        files = [self.clouds_yaml] if self.clouds_yaml else None
        region = openstack.config.OpenStackConfig(config_files=files).get_one(cloud=cloud or self.admin_cloud)
        return openstack.connection.Connection(config=region)

    def require_writable(self):
        if self.read_only:
            pytest.skip("read-only against your own cloud (CMDB_REALCLOUD_CLOUD): this test changes resources")

    def require_seed(self):
        if self.seed is None:
            pytest.skip("needs the harness's seeded cloud (not available with CMDB_REALCLOUD_CLOUD)")
        return self.seed


@pytest.fixture(scope="session")
def realcloud():
    if not _enabled():
        pytest.skip(SKIP_REASON)
    own = _own_cloud()
    if own:
        _TIMES.mode = "your own cloud %s (read-only)" % own
        yield RealCloud(
            os.environ.get("OS_CLIENT_CONFIG_FILE") or None,
            None,
            own,
            os.environ.get("CMDB_REALCLOUD_MEMBER_CLOUD") or None,
            read_only=True,
        )
        return
    layout = harness_config.Layout()
    phases = Phases()
    start = time.monotonic()
    started = False
    was_running = harness_cloud.is_healthy(layout)
    failure = None
    try:
        started = harness_cloud.up(layout, phases, seed=True)
        seed = harness_seed.load(layout)
    except HarnessError as exc:
        failure = "real cloud set-up failed (bash scripts/realcloud.sh logs <service>):\n%s" % exc.report()
    except Exception as exc:
        failure = "real cloud set-up failed: %s: %s" % (type(exc).__name__, exc)
    if failure:
        _TIMES.setup = time.monotonic() - start
        _TIMES.phases = phases.summary()
        if not was_running:
            harness_cloud.down(layout)
        # Fail, never skip: under CI=true a missing cloud must not look like a green run.
        pytest.fail(failure, pytrace=False)
    _TIMES.setup = time.monotonic() - start
    _TIMES.phases = phases.summary()
    _TIMES.mode = "started by this session (stopped at its end)" if started else "already running (left running)"
    try:
        yield RealCloud(
            layout.clouds_yaml,
            seed,
            harness_config.CLOUD_ADMIN,
            harness_config.CLOUD_MEMBER,
            read_only=False,
            state_dir=layout.root,
        )
    finally:
        if started:
            harness_cloud.down(layout)


def pytest_terminal_summary(terminalreporter):
    if _TIMES.setup < 0 and not _TIMES.mode:
        return
    writer = terminalreporter
    writer.section("real cloud")
    if _TIMES.mode:
        writer.write_line("cloud: %s" % _TIMES.mode)
    if _TIMES.setup >= 0:
        writer.write_line("set-up: %.1f s (%s)" % (_TIMES.setup, _TIMES.phases or "-"))
    writer.write_line("real-cloud tests: %.1f s" % _TIMES.tests)
