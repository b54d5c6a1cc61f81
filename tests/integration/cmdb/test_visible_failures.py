"""Failures are visible (issue 17) and a service that leaves the catalog is news (issue 19).

Real ``ansible-playbook`` / ``ansible-inventory`` runs against the simulator:

- an info module whose listing failed fails, and still returns what it did list;
- cmdb_sync applies what succeeded, then fails the task when a scope failed
  (``fail_on_scope_errors: false`` only warns);
- a type synced before whose service is gone from the catalog gives a warning, and shows in the
  sync result and in cmdb_info's ``sync_status``;
- cmdb_info and the inventory (from the CMDB) show per cloud, region and type the age of the last
  successful sync, ``stale`` past twice the interval.
"""

from __future__ import annotations

import datetime
import json

import pytest
import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store


@pytest.fixture
def cloud(os_simulator):
    return os_simulator.add_cloud(name="demo", regions=("RegionOne", "RegionTwo"), seed=3, servers=6, projects=2)


@pytest.fixture
def env(cloud, tmp_path):
    path = tmp_path / "clouds.yaml"
    cloud.sim.write_clouds_yaml(str(path), {"demo": cloud.clouds_yaml_entry(user="admin")})
    return {"OS_CLIENT_CONFIG_FILE": str(path)}


def _run(ansible, module, env, **args):
    completed = ansible.module(module, args, env=env)
    assert completed.result, completed.output
    assert "Traceback" not in completed.output, completed.output
    return completed


def _plain(value):
    """ansible-inventory writes untrusted strings as {"__ansible_unsafe": ...}: unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _live(url, rtype):
    store = open_store(url)
    try:
        res = schema.resources
        with store.read() as conn:
            return conn.execute(
                sa.select(sa.func.count()).where(res.c.type == rtype, res.c.deleted_at.is_(None))
            ).scalar()
    finally:
        store.close()


def test_info_module_fails_when_a_listing_failed_and_returns_the_rest(ansible, cloud, env):
    cloud.faults.add(kind="forbidden", service="network", path="/networks", region="RegionTwo")
    failed = _run(ansible, "network_info", env, cloud="demo", region_name=["all"])
    result = failed.result
    assert result.get("failed") is True, result
    assert "1 listing(s) failed" in result["msg"] and "RegionTwo" in result["msg"]
    # what did succeed comes with the failure
    assert result["networks"] and {n["region"] for n in result["networks"]} == {"RegionOne"}
    assert {(s["region"], s["status"]) for s in result["scopes"]} == {("RegionOne", "ok"), ("RegionTwo", "forbidden")}

    relaxed = _run(ansible, "network_info", env, cloud="demo", region_name=["all"], fail_on_listing_errors=False)
    assert not relaxed.result.get("failed"), relaxed.result
    assert "RegionTwo" in relaxed.output and "WARNING" in relaxed.output

    # resource_info: one type failed, the other types are returned with the failure
    several = _run(
        ansible, "resource_info", env, cloud="demo", region_name=["RegionTwo"], types=["networks", "flavors"]
    )
    assert several.result.get("failed") is True
    assert several.result["flavors"] and several.result["networks"] == []


def test_cmdb_sync_applies_what_succeeded_then_fails(ansible, cloud, env, cmdb_url):
    cloud.faults.add(kind="forbidden", service="load-balancer", path="/lbaas/loadbalancers", region="RegionTwo")
    args = dict(cloud="demo", types=["networks", "load_balancers"], cmdb_url=cmdb_url)
    failed = _run(ansible, "cmdb_sync", env, **args)
    result = failed.result
    assert result.get("failed") is True, result
    assert result["failed_scopes"] == 1
    assert "RegionTwo/load_balancers forbidden" in result["msg"]
    # applied before failing: both regions' networks and RegionOne's load balancers are in the CMDB
    ok = {(s["region"], s["type"]) for s in result["scopes"] if s["status"] == "ok"}
    assert ok == {("RegionOne", "networks"), ("RegionTwo", "networks"), ("RegionOne", "load_balancers")}
    assert _live(cmdb_url, "networks") > 0 and _live(cmdb_url, "load_balancers") > 0

    relaxed = _run(ansible, "cmdb_sync", env, fail_on_scope_errors=False, **args)
    assert not relaxed.result.get("failed"), relaxed.result
    assert relaxed.result["failed_scopes"] == 1 and "load_balancers forbidden" in relaxed.output


def test_a_service_that_leaves_the_catalog_is_news(ansible, cloud, env, cmdb_url):
    args = dict(cloud="demo", types=["networks", "load_balancers"], cmdb_url=cmdb_url)
    first = _run(ansible, "cmdb_sync", env, **args)
    assert not first.result.get("failed") and first.result["left_catalog"] == []
    lbs = _live(cmdb_url, "load_balancers")
    assert lbs > 0

    cloud.faults.add(kind="missing_service", service="load-balancer")
    second = _run(ansible, "cmdb_sync", env, **args)
    result = second.result
    assert not result.get("failed"), result  # a warning, not a failure: nothing to list there
    gone = sorted((e["region"], e["type"]) for e in result["left_catalog"])
    assert gone == [("RegionOne", "load_balancers"), ("RegionTwo", "load_balancers")]
    assert "left the service catalog" in second.output and "left the service catalog" in result["msg"]
    assert any(line.startswith("left the catalog:") for line in result["summary_lines"])
    assert _live(cmdb_url, "load_balancers") == lbs  # kept, not marked deleted

    info = _run(ansible, "cmdb_info", {}, cmdb_url=cmdb_url, sections=["sync_status"]).result
    status = {(e["region"], e["type"]): e for e in info["sync_status"]}
    assert status[("RegionOne", "load_balancers")]["left_catalog"] is True
    assert status[("RegionOne", "load_balancers")]["last_status"] == "not_in_catalog"
    assert status[("RegionOne", "networks")]["left_catalog"] is False


def test_age_of_the_last_successful_sync_and_stale_in_cmdb_info_and_inventory(ansible, cloud, env, cmdb_url, tmp_path):
    synced = _run(ansible, "cmdb_sync", env, cloud="demo", types=["servers", "flavors"], cmdb_url=cmdb_url)
    assert not synced.result.get("failed"), synced.result.get("msg")

    info = _run(ansible, "cmdb_info", {}, cmdb_url=cmdb_url).result  # sync_status is a default section
    status = {(e["region"], e["type"]): e for e in info["sync_status"]}
    assert set(status) == {(r, t) for r in ("RegionOne", "RegionTwo") for t in ("servers", "flavors")}
    servers = status[("RegionOne", "servers")]
    assert servers["interval"] == 300 and servers["age"] < 120 and servers["stale"] is False

    # servers synced 11 minutes ago (interval 5 min: stale past 10), flavors 11 minutes ago (2 weeks: fresh)
    store = open_store(cmdb_url)
    try:
        runs = schema.sync_runs
        back = datetime.timedelta(minutes=11)
        with store.write() as conn:
            for row in conn.execute(sa.select(runs.c.id, runs.c.started_at, runs.c.finished_at)).fetchall():
                conn.execute(
                    runs.update()
                    .where(runs.c.id == row.id)
                    .values(started_at=row.started_at - back, finished_at=row.finished_at - back)
                )
    finally:
        store.close()
    info = _run(ansible, "cmdb_info", {}, cmdb_url=cmdb_url, sections=["sync_status"]).result
    status = {(e["region"], e["type"]): e for e in info["sync_status"]}
    assert status[("RegionOne", "servers")]["stale"] is True
    assert 11 * 60 <= status[("RegionOne", "servers")]["age"] < 13 * 60
    assert status[("RegionOne", "flavors")]["stale"] is False

    config = tmp_path / "inventory.cmdb_openstack.yml"
    config.write_text("plugin: cmdb.openstack.inventory\ncmdb_url: %s\nmax_age: 1d\n" % json.dumps(cmdb_url))
    inventory = ansible.inventory(config, "--export")  # --export: group variables stay on their group
    assert inventory.rc == 0, inventory.output
    shown = _plain(inventory.result["all"].get("vars", {}).get("cmdb_sync_status"))
    assert shown, inventory.result["all"]
    by_scope = {(e["region"], e["type"]): e for e in shown}
    assert by_scope[("RegionOne", "servers")]["stale"] is True
    assert by_scope[("RegionOne", "servers")]["last_ok"] == status[("RegionOne", "servers")]["last_ok"]
    assert by_scope[("RegionOne", "flavors")]["stale"] is False
