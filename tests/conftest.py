"""Shared pytest fixtures: the collection on sys.path, PostgreSQL, and Ansible runners.

Fixtures for the OpenStack API simulator come from ``os_simulator.pytest_plugin``.
"""

from __future__ import annotations

import os
import sys

import pytest

# ansible-test units imports conftest files without putting their folder on sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import paths  # puts the collection and the simulator on sys.path
from support.postgres import PostgresUnavailable, create_database, drop_database, probe

pytest_plugins = ["os_simulator.pytest_plugin"]


@pytest.fixture(scope="session")
def postgres_server_url():
    """URL of the PostgreSQL server for tests; skips (fails under CI=true) when unreachable."""
    try:
        return probe()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and PostgreSQL is required: %s" % exc)
        pytest.skip("PostgreSQL not available: %s (set CMDB_TEST_POSTGRES_URL)" % exc)


@pytest.fixture
def postgres_url(postgres_server_url):
    """A fresh, empty PostgreSQL database for one test (SQLAlchemy URL), dropped afterwards."""
    url, name = create_database(postgres_server_url)
    try:
        yield url
    finally:
        drop_database(postgres_server_url, name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cmdb_url(request, tmp_path):
    """Each test using this runs once on SQLite and once on the real PostgreSQL server."""
    if request.param == "sqlite":
        return "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def ansible(tmp_path):
    """Runs real ansible-playbook / ansible-inventory processes against this checkout."""
    from support.ansible import AnsibleRunner

    return AnsibleRunner(tmp_path)


def pytest_report_header(config):
    return "python %s; collection from %s" % (sys.version.split()[0], paths.COLLECTION_ROOT)
