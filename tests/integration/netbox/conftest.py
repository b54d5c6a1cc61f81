"""A real NetBox for the netbox_sync tests, from ``tests/support/netbox_server.py`` (cached under
~/.cache/cmdb-openstack/netbox).

The session fixture starts one NetBox (its own gunicorn on a free loopback port and its own database cloned from
the migrated template) and stops it at the end; ``netbox`` resets the database from the template before each test
(about a second). The first run on a machine installs NetBox with pip and migrates the template (about 7 minutes);
later runs start in seconds. The machine must have Python 3.12, PostgreSQL on 127.0.0.1:5432 with trust auth and
Redis (or redis-server): otherwise the tests skip, saying why, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import time

import pytest
from support import netbox_server as netbox_server_support

_WALL = {"start": 0.0, "tests": 0.0, "count": 0}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "netbox: runs against the real NetBox of tests/support/netbox_server.py (cached; the first run on a machine "
        "installs and migrates it, about 7 minutes)",
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


class NetBoxServer:
    """The session's NetBox: ``url``, ``token``, ``version``, ``reset()`` and a pynetbox client (``api()``)."""

    def __init__(self, server, env):
        self.server = server
        self.env = env
        self.instance = server.instance
        self.url = env["NETBOX_URL"]
        self.token = env["NETBOX_TOKEN"]
        self.version = env["NETBOX_VERSION"]

    def reset(self):
        try:
            self.server.reset()
        except netbox_server_support.NetBoxSetupError as exc:
            pytest.fail("resetting NetBox failed: %s" % exc)

    def api(self):
        import pynetbox

        return pynetbox.api(self.url, token=self.token)


@pytest.fixture(scope="session")
def netbox_server():
    pytest.importorskip("pynetbox", reason="pynetbox is not installed (tests/requirements.txt)")
    server = netbox_server_support.NetBoxServer("pytest-%d" % os.getpid())
    started = time.monotonic()
    try:
        env = server.start()
    except netbox_server_support.NetBoxUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and NetBox is required: %s" % exc)
        pytest.skip("cannot run NetBox on this machine: %s" % exc)
    except Exception as exc:
        server.stop()
        pytest.fail("starting NetBox failed: %s" % exc)
    finally:
        _WALL["start"] = time.monotonic() - started
    try:
        yield NetBoxServer(server, env)
    finally:
        server.stop()


@pytest.fixture
def netbox(netbox_server):
    """The session's NetBox, reset to the freshly migrated template (admin user and token only)."""
    netbox_server.reset()
    return netbox_server
