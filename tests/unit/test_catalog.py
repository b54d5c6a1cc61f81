"""The resource catalog is the single source of truth; these checks keep it consistent."""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog

SEED_TABLE = {
    # resource type: (service, default interval in seconds), from the brief's table
    "servers": ("compute", 300),
    "volumes": ("block-storage", 6 * 3600),
    "load_balancers": ("load-balancer", 6 * 3600),
    "security_groups": ("network", 6 * 3600),
    "volume_snapshots": ("block-storage", 14 * 86400),
    "images": ("image", 14 * 86400),
    "flavors": ("compute", 14 * 86400),
    "networks": ("network", 14 * 86400),
    "subnets": ("network", 14 * 86400),
    "ports": ("network", 14 * 86400),
    "routers": ("network", 14 * 86400),
    "floating_ips": ("network", 14 * 86400),
}


def test_catalog_matches_the_table_of_the_brief():
    assert set(catalog.RESOURCE_TYPES) == set(SEED_TABLE)
    for name, (service, interval) in SEED_TABLE.items():
        rtype = catalog.RESOURCE_TYPES[name]
        assert rtype.service_type == service, name
        assert rtype.default_interval == interval, name


@pytest.mark.parametrize("rtype", list(catalog.RESOURCE_TYPES.values()), ids=lambda t: t.name)
def test_every_entry_is_complete(rtype):
    assert rtype.list_path.startswith("/")
    assert rtype.pagination in ("links", "next")
    assert rtype.max_page_size > 0
    assert set(rtype.fields) == {"id", "name", "project_id", "status", "created_at", "updated_at"}
    assert rtype.permission_hint
    assert catalog.get_type(rtype.singular) is rtype


def test_unknown_type_names_the_valid_ones():
    with pytest.raises(KeyError) as info:
        catalog.get_type("instances")
    assert "servers" in str(info.value) and "floating_ips" in str(info.value)


def test_default_settings_enable_every_type_with_its_interval():
    settings = catalog.default_settings()
    assert list(settings) == list(catalog.RESOURCE_TYPE_NAMES)
    assert settings["servers"] == {"enabled": True, "interval": 300}
