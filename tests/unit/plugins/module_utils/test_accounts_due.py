"""accounts.due_types: enabled types whose interval passed since their last successful sync (controlled clock)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings, catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

T0 = datetime.datetime(2026, 3, 1, 12, 0, 0)
ALL = list(catalog.RESOURCE_TYPE_NAMES)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def store(cmdb_url):
    opened = open_store(cmdb_url)
    yield opened
    opened.close()


def register(store, name="prod", **kwargs):
    connection = account_settings.build_connection(cloud="prod-yaml")
    return accounts.ensure_account(store, name, connection=connection, **kwargs)


def run(store, type_name, finished, status="ok", region="RegionOne", cloud="prod"):
    with store.write() as conn:
        conn.execute(
            schema.sync_runs.insert().values(
                cloud=cloud,
                region=region,
                type=type_name,
                mode="full",
                started_at=finished - datetime.timedelta(seconds=5),
                finished_at=finished,
                status=status,
            )
        )


def sync_all(store, when, region="RegionOne", types=None):
    for type_name in types or ALL:
        run(store, type_name, when, region=region)


def test_never_synced_means_everything_enabled_is_due(store):
    register(store, resources={"load_balancers": {"enabled": False}})
    assert accounts.due_types(store, "prod", now=T0) == [t for t in ALL if t != "load_balancers"]


def test_intervals_from_the_catalog(store):
    register(store, regions=["RegionOne"])
    sync_all(store, T0)
    assert accounts.due_types(store, "prod", now=at(0)) == []
    assert accounts.due_types(store, "prod", now=at(299)) == []
    assert accounts.due_types(store, "prod", now=at(300)) == ["servers"]
    six_hours = ["servers", "volumes", "load_balancers", "security_groups"]
    assert accounts.due_types(store, "prod", now=at(6 * 3600)) == six_hours
    assert accounts.due_types(store, "prod", now=at(14 * 86400 - 1)) == six_hours
    assert accounts.due_types(store, "prod", now=at(14 * 86400)) == ALL


def test_account_intervals_and_disabled_types(store):
    register(
        store,
        regions=["RegionOne"],
        resources={"servers": {"interval": "1h"}, "images": {"interval": "30s"}, "flavors": {"enabled": False}},
    )
    sync_all(store, T0)
    assert accounts.due_types(store, "prod", now=at(30)) == ["images"]
    assert accounts.due_types(store, "prod", now=at(3600)) == ["servers", "images"]
    # A disabled type is never due, even long after its last sync.
    assert "flavors" not in accounts.due_types(store, "prod", now=at(10**8))


def test_failed_and_forbidden_runs_do_not_count(store):
    register(store, regions=["RegionOne"])
    sync_all(store, T0)
    run(store, "servers", at(400), status="error")
    run(store, "servers", at(450), status="forbidden")
    assert accounts.due_types(store, "prod", now=at(500)) == ["servers"]
    run(store, "servers", at(460))
    assert accounts.due_types(store, "prod", now=at(500)) == []
    assert accounts.due_types(store, "prod", now=at(760)) == ["servers"]


def test_every_configured_region_must_have_synced(store):
    register(store, regions=["RegionOne", "RegionTwo"])
    sync_all(store, T0, region="RegionOne")
    assert accounts.due_types(store, "prod", now=at(1)) == ALL
    sync_all(store, at(100), region="RegionTwo")
    assert accounts.due_types(store, "prod", now=at(101)) == []
    # The oldest region decides: RegionOne synced at T0.
    assert accounts.due_types(store, "prod", now=at(300)) == ["servers"]


def test_all_regions_uses_the_regions_seen_before(store):
    register(store)  # regions: [] = every region in the catalog
    sync_all(store, T0, region="RegionOne")
    sync_all(store, T0, region="RegionTwo")
    assert accounts.due_types(store, "prod", now=at(10)) == []
    run(store, "servers", at(200), status="error", region="RegionThree")  # a new region, never ok
    assert accounts.due_types(store, "prod", now=at(210)) == ["servers"]


def test_other_accounts_runs_do_not_count(store):
    register(store, regions=["RegionOne"])
    register(store, name="other", regions=["RegionOne"])
    sync_all(store, T0, types=ALL)
    for type_name in ALL:
        run(store, type_name, T0, cloud="other")
    assert accounts.due_types(store, "other", now=at(10)) == []
    assert accounts.due_types(store, "prod", now=at(10)) == []
    assert accounts.due_types(store, "prod", now=at(300)) == ["servers"]


def test_forced_run_names_the_types(store):
    register(store, regions=["RegionOne"], resources={"flavors": {"enabled": False}})
    sync_all(store, T0)
    assert accounts.due_types(store, "prod", requested_types=["images", "servers"], now=at(1)) == ["servers", "images"]
    assert accounts.due_types(store, "prod", requested_types="image,volume", now=at(1)) == ["volumes", "images"]
    forced_all = accounts.due_types(store, "prod", requested_types=["all"], now=at(1))
    assert forced_all == [t for t in ALL if t != "flavors"]
    assert accounts.due_types(store, "prod", requested_types=["flavors"], now=at(1)) == []
    assert accounts.due_types(store, "prod", requested_types=["flavors"], include_disabled=True) == ["flavors"]
    with pytest.raises(ConfigurationError) as info:
        accounts.due_types(store, "prod", requested_types=["servers", "vms"])
    assert "vms" in info.value.message and "servers" in info.value.message


def test_paused_unknown_and_unregistered(store):
    register(store, paused=True)
    assert accounts.due_types(store, "prod", now=T0) == []
    assert accounts.due_types(store, "prod", requested_types=["all"], now=T0) == []
    with pytest.raises(accounts.AccountUnavailable):
        accounts.due_types(store, "ghost")
    accounts.unregister_account(store, "prod")
    with pytest.raises(accounts.AccountUnavailable):
        accounts.due_types(store, "prod")


def test_next_due(store):
    register(store, regions=["RegionOne"], resources={"flavors": {"enabled": False}})
    sync_all(store, T0)
    waits = accounts.next_due(store, "prod", now=at(100))
    assert "flavors" not in waits
    assert waits["servers"] == 200
    assert waits["volumes"] == 6 * 3600 - 100


def test_aware_and_epoch_clocks(store):
    register(store, regions=["RegionOne"])
    sync_all(store, T0)
    aware = at(300).replace(tzinfo=datetime.timezone.utc)
    assert accounts.due_types(store, "prod", now=aware) == ["servers"]
    epoch = aware.timestamp()
    assert accounts.due_types(store, "prod", now=epoch) == ["servers"]
    plus_one = at(300).replace(tzinfo=datetime.timezone(datetime.timedelta(hours=1)))  # 1h earlier in UTC
    assert accounts.due_types(store, "prod", now=plus_one) == []


def test_one_region_of_several(store):
    register(store, regions=["RegionOne", "RegionTwo"])
    sync_all(store, T0, region="RegionOne")
    sync_all(store, at(200), region="RegionTwo")
    assert accounts.due_types(store, "prod", now=at(300), regions=["RegionOne"]) == ["servers"]
    assert accounts.due_types(store, "prod", now=at(300), regions=["RegionTwo"]) == []
    assert accounts.due_types(store, "prod", now=at(300)) == ["servers"]
    assert accounts.next_due(store, "prod", now=at(300), regions=["RegionTwo"])["servers"] == 200


def test_due_among_named_types_and_force_without_names(store):
    register(store, regions=["RegionOne"], resources={"flavors": {"enabled": False}})
    sync_all(store, T0)
    named = ["servers", "volumes", "flavors"]
    assert accounts.due_types(store, "prod", requested_types=named, now=at(300), force=False) == ["servers"]
    assert accounts.due_types(store, "prod", requested_types=named, now=at(6 * 3600), force=False) == [
        "servers",
        "volumes",
    ]
    forced = accounts.due_types(store, "prod", now=at(1), force=True)
    assert forced == [t for t in ALL if t != "flavors"]
