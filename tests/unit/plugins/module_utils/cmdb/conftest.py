"""Fixtures of the CMDB unit tests: an open store on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store


@pytest.fixture
def store(cmdb_url):
    opened = open_store(cmdb_url)
    try:
        yield opened
    finally:
        opened.close()
