"""The plugin class itself: which files it claims (the rest runs through real ansible-inventory)."""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.inventory.inventory import InventoryModule


@pytest.mark.parametrize(
    ("name", "claimed"),
    [
        ("prod.cmdb_openstack.yml", True),
        ("prod.cmdb_openstack.yaml", True),
        ("openstack.yml", True),
        ("openstack.yaml", True),
        ("hosts.yml", False),
        ("clouds.yaml", False),
        ("openstack.yml.bak", False),
    ],
)
def test_verify_file(tmp_path, name, claimed):
    path = tmp_path / name
    path.write_text("plugin: cmdb.openstack.inventory\n")
    assert InventoryModule().verify_file(str(path)) is claimed


def test_verify_file_needs_a_readable_file(tmp_path):
    assert InventoryModule().verify_file(str(tmp_path / "missing.cmdb_openstack.yml")) is False
