"""cmdb_info queries and cmdb_purge retention on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from cmdb_helpers import record, rows, sync

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import queries, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError


def _fill(store):
    sync(store, [record("a", name="web-1"), record("b", name="WEB-2", status="SHUTOFF"), record("c", name="db_1")])
    sync(store, [record("a", name="web-1"), record("b", name="WEB-2", status="SHUTOFF")])  # c deleted
    sync(store, [record("f", rtype="flavors", project=None, name="m1.small")], rtype="flavors")


def names(found):
    return sorted(r["name"] for r in found)


def test_find_resources_filters(store):
    _fill(store)
    assert names(queries.find_resources(store)) == ["WEB-2", "m1.small", "web-1"]
    assert names(queries.find_resources(store, name=["web-*"])) == ["WEB-2", "web-1"]
    assert names(queries.find_resources(store, name=["db_?"], include_deleted=True)) == ["db_1"]
    assert names(queries.find_resources(store, name=["db%"], include_deleted=True)) == []  # % is literal
    assert names(queries.find_resources(store, status=["shutoff"])) == ["WEB-2"]
    assert names(queries.find_resources(store, types=["flavors"])) == ["m1.small"]
    assert names(queries.find_resources(store, project_id=["p1"])) == ["WEB-2", "web-1"]
    deleted = queries.find_resources(store, ids=["c"], include_deleted=True)[0]
    assert deleted["deleted"] is True and deleted["deleted_at"].endswith("Z")
    web = queries.find_resources(store, ids=["a"])[0]
    assert web["relations"] == [
        {"relation": "flavor", "target_type": "flavors", "target_id": None, "target_name": "m1.small"}
    ]
    assert web["attributes"]["name"] == "web-1"
    # a no-change sync writes no row, yet last_seen moves to that sync
    assert web["last_seen"] >= web["first_seen"]
    lean = queries.find_resources(store, ids=["a"], include_relations=False, include_attributes=False)[0]
    assert "relations" not in lean and "attributes" not in lean


def test_changes_since_and_counts(store):
    start = utcnow() - datetime.timedelta(seconds=1)
    _fill(store)
    log = queries.find_changes(store, since=start)
    assert [(c["resource_id"], c["action"]) for c in log] == [
        ("a", "created"),
        ("b", "created"),
        ("c", "created"),
        ("c", "deleted"),
        ("f", "created"),
    ]
    assert log[0]["name"] == "web-1"
    assert queries.find_changes(store, since=utcnow() + datetime.timedelta(hours=1)) == []
    expected = {"servers": {"live": 2, "deleted": 1}, "flavors": {"live": 1, "deleted": 0}}
    assert queries.counts(store) == {"demo": expected}


def test_parse_time_accepts_iso_and_durations():
    now = datetime.datetime(2026, 11, 23, 12, 0, 0)
    assert queries.parse_time("2026-11-23T11:44:48Z", "x") == datetime.datetime(2026, 11, 23, 11, 44, 48)
    assert queries.parse_time("2026-11-23T12:44:48+01:00", "x") == datetime.datetime(2026, 11, 23, 11, 44, 48)
    assert queries.parse_time("2026-11-23", "x") == datetime.datetime(2026, 11, 23)
    assert queries.parse_time("1h30m", "x", now=now) == datetime.datetime(2026, 11, 23, 10, 30)
    with pytest.raises(ConfigurationError) as info:
        queries.parse_time("yesterday", "changes_since")
    assert "changes_since" in info.value.message and "ISO 8601" in info.value.message


def test_purge_removes_old_tombstones_and_changes_only(store):
    _fill(store)
    later = utcnow() + datetime.timedelta(days=10)
    would = queries.purge(store, 5 * 86400, check_mode=True, now=later)
    assert would["resources"] == 1 and would["relations"] == 1 and would["changes"] == 5
    assert len(rows(store, schema.resources)) == 4  # check mode removed nothing
    done = queries.purge(store, 5 * 86400, now=later)
    assert {k: done[k] for k in ("resources", "changes")} == {"resources": 1, "changes": 5}
    left = rows(store, schema.resources)
    assert sorted(r["id"] for r in left) == ["a", "b", "f"]  # live resources are never purged
    assert all(r["source_id"] != "c" for r in rows(store, schema.relations))
    # the newest applied run per scope stays (incremental sync and the due logic need it)
    kept = {(r["region"], r["type"]) for r in rows(store, schema.sync_runs)}
    assert kept == {("RegionOne", "servers"), ("RegionOne", "flavors")}
    assert queries.purge(store, 5 * 86400, now=later)["resources"] == 0


def test_run_info_and_run_purge(cmdb_url, store):
    _fill(store)
    info = queries.run_info({"cmdb_url": cmdb_url, "types": ["server"], "changes_since": "1h"})
    assert sorted(r["id"] for r in info["resources"]) == ["a", "b"]
    assert len(info["changes"]) == 4
    assert info["accounts"] == []
    result = queries.run_purge({"cmdb_url": cmdb_url, "older_than": "1w"}, check_mode=True)
    assert result["changed"] is False and "would purge 0 deleted resources" in result["msg"]
