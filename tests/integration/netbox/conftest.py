"""A real NetBox for the netbox_sync tests, from ``scripts/netbox.sh`` (cached under ~/.cache/cmdb-openstack/netbox).

The session fixture starts one NetBox (its own gunicorn on a free loopback port and its own database cloned from
the migrated template) and stops it at the end; ``netbox`` resets the database from the template before each test
(about a second). The first run on a machine installs NetBox with pip and migrates the template (about 7 minutes);
later runs start in seconds. The machine must have Python 3.12, PostgreSQL on 127.0.0.1:5432 with trust auth and
Redis (or redis-server): otherwise the tests skip, saying why, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from support.paths import COLLECTION_ROOT

SCRIPT = os.path.join(COLLECTION_ROOT, "scripts", "netbox.sh")
_WALL = {"start": 0.0, "tests": 0.0, "count": 0}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "netbox: runs against the real NetBox of scripts/netbox.sh (cached; the first run on a machine installs "
        "and migrates it, about 7 minutes)",
    )


def pytest_runtest_logreport(report):
    if "netbox" in report.keywords:
        _WALL["tests"] += report.duration
        if report.when == "call":
            _WALL["count"] += 1


def pytest_terminal_summary(terminalreporter):
    if _WALL["count"]:
        terminalreporter.write_line(
            "netbox tests: %d tests, %.1f s wall in all (NetBox start %.1f s, tests %.1f s)"
            % (_WALL["count"], _WALL["start"] + _WALL["tests"], _WALL["start"], _WALL["tests"])
        )


def _script(*args, timeout=60):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=timeout, check=False)


class NetBoxServer:
    def __init__(self, env, instance):
        self.env = env
        self.instance = instance
        self.url = env["NETBOX_URL"]
        self.token = env["NETBOX_TOKEN"]
        self.version = env["NETBOX_VERSION"]

    def reset(self):
        proc = _script("reset", "--instance", self.instance)
        if proc.returncode != 0:
            pytest.fail("scripts/netbox.sh reset failed: %s" % proc.stderr[-2000:])

    def api(self):
        import pynetbox

        return pynetbox.api(self.url, token=self.token)


@pytest.fixture(scope="session")
def netbox_server():
    pytest.importorskip("pynetbox", reason="pynetbox is not installed (tests/requirements.txt)")
    instance = "pytest-%d" % os.getpid()
    started = time.monotonic()
    try:
        proc = _script("start", "--instance", instance, timeout=1800)
    finally:
        _WALL["start"] = time.monotonic() - started
    ci = os.environ.get("CI", "").lower() == "true"
    if proc.returncode == 3:
        reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "scripts/netbox.sh exited 3"
        if ci:
            pytest.fail("CI=true and NetBox is required: %s" % reason)
        pytest.skip(reason)
    if proc.returncode != 0:
        _script("stop", "--instance", instance)
        pytest.fail("scripts/netbox.sh start failed (exit %d):\n%s" % (proc.returncode, proc.stderr[-4000:]))
    env = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    try:
        yield NetBoxServer(env, instance)
    finally:
        _script("stop", "--instance", instance)


@pytest.fixture
def netbox(netbox_server):
    """The session's NetBox, reset to the freshly migrated template (admin user and token only)."""
    netbox_server.reset()
    return netbox_server
