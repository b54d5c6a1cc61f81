"""run_sync (cmdb_sync's logic) with a stand-in for the cloud: planning, incremental servers, locks, results."""

from __future__ import annotations

import datetime
import socket

import pytest
from cmdb_helpers import Report, Scope, changes, live, record, rows

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import run_sync
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError, StoreError


class FakeSession:
    def __init__(self, name="demo", regions=("RegionOne",)):
        self.name = name
        self.regions = list(regions)
        self.closed = False

    def project_id(self):
        return "p1"

    def close(self):
        self.closed = True


class FakeCloud:
    """open_cloud + gather over in-memory listings: ``data[(region, type)] = records``."""

    def __init__(self, regions=("RegionOne",)):
        self.regions = regions
        self.data = {}
        self.status = {}
        self.calls = []
        self.sessions = []
        self.confirmed = []

    def open_cloud(self, params, name=None):
        session = FakeSession(name or "demo", self.regions)
        self.sessions.append(session)
        return session

    def gather(self, session, types, regions=None, consumer=None, changes_since=None, **kwargs):
        self.calls.append({"types": list(types), "changes_since": changes_since, **kwargs})
        reports = []
        for region in regions or session.regions:
            for rtype in types:
                scope = Scope(session.name, region, rtype)
                consumer.start(scope)
                records = self.data.get((region, rtype), [])
                if changes_since and rtype == "servers":
                    records = [r for r in records if r.get("_changed") or r["status"] == "DELETED"]
                elif rtype == "servers":
                    records = [r for r in records if r["status"] != "DELETED"]
                consumer.page(scope, [{k: v for k, v in r.items() if k != "_changed"} for r in records])
                status = self.status.get((region, rtype), "ok")
                report = Report(
                    status, None if status == "ok" else "HTTP 403 Forbidden", 403 if status != "ok" else None
                )
                report.scope = scope
                consumer.finish(scope, report)
                reports.append(report)
        return reports


class FakeConfirmer:
    """The GETs that prove deletion: 404 ("gone") for ids the fake cloud no longer lists live."""

    def __init__(self, fake, session):
        self.fake = fake
        self.session = session

    def confirm(self, region, rtype, ids):
        self.fake.confirmed.extend(ids)
        live_ids = {r["id"] for r in self.fake.data.get((region, rtype), []) if r["status"] != "DELETED"}
        return {rid: ("present", "HTTP 200") if rid in live_ids else ("gone", "HTTP 404") for rid in ids}


def _run(fake, cmdb_url, check_mode=False, diff=False, **params):
    params.setdefault("types", ["servers", "flavors"])
    params["cmdb_url"] = cmdb_url
    return run_sync(
        params,
        check_mode=check_mode,
        diff=diff,
        open_cloud=fake.open_cloud,
        gather=fake.gather,
        confirmer=lambda session: FakeConfirmer(fake, session),
    )


def test_full_then_incremental_servers_then_full_again(cmdb_url, store):
    fake = FakeCloud()
    fake.data[("RegionOne", "servers")] = [record("a"), record("b"), record("c")]
    fake.data[("RegionOne", "flavors")] = [record("f1", rtype="flavors", project=None)]
    first = _run(fake, cmdb_url)
    assert fake.calls[-1]["changes_since"] is None
    assert first["changed"] is True
    assert first["summary"]["servers"]["new"] == 3 and first["summary"]["flavors"]["new"] == 1
    assert [s["mode"] for s in first["scopes"]] == ["full", "full"]
    assert "cloud demo: 4 new" in first["msg"]
    assert fake.sessions[-1].closed

    # second run: servers incremental from (last run start - margin); b changed, c deleted
    fake.data[("RegionOne", "servers")] = [
        record("a"),
        dict(record("b", status="SHUTOFF"), _changed=True),
        record("c", status="DELETED"),
    ]
    second = _run(fake, cmdb_url)
    since = fake.calls[-1]["changes_since"]
    assert since is not None and since.endswith("Z")
    started = rows(store, schema.sync_runs)[0]["started_at"]
    assert datetime.datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ") <= started - datetime.timedelta(seconds=299)
    servers = next(s for s in second["scopes"] if s["type"] == "servers")
    assert servers["mode"] == "incremental"
    assert servers["counts"]["updated"] == 1 and servers["counts"]["deleted"] == 1
    assert set(live(store)) == {"a", "b"}
    assert [c["action"] for c in changes(store, "c")] == ["created", "deleted"]

    # full_sync_interval 0: always a full listing
    _run(fake, cmdb_url, full_sync_interval=0)
    assert fake.calls[-1]["changes_since"] is None

    # no change at all: changed false, nothing written but bookkeeping
    fake.data[("RegionOne", "servers")] = [record("a"), record("b", status="SHUTOFF")]
    before = len(changes(store))
    again = _run(fake, cmdb_url, full_sync_interval=0)
    assert again["changed"] is False
    assert again["summary"]["servers"] == {
        "new": 0,
        "updated": 0,
        "deleted": 0,
        "reappeared": 0,
        "unchanged": 2,
        "errors": 0,
        "unconfirmed": 0,
        "partial": 0,
        "inconsistent": 0,
    }
    assert len(changes(store)) == before
    # the deletion of c was proven by changes-since (status DELETED): no GET was needed, and a
    # listing that returned every live item asks for no proof either
    assert fake.confirmed == []


def test_stale_full_run_forces_a_full_listing(cmdb_url, store):
    fake = FakeCloud()
    fake.data[("RegionOne", "servers")] = [record("a")]
    _run(fake, cmdb_url, types=["servers"])
    with store.write() as conn:
        conn.execute(schema.sync_runs.update().values(started_at=utcnow() - datetime.timedelta(days=2)))
    _run(fake, cmdb_url, types=["servers"])
    assert fake.calls[-1]["changes_since"] is None
    _run(fake, cmdb_url, types=["servers"])
    assert fake.calls[-1]["changes_since"] is not None


def test_failed_scope_is_a_warning_strict_fails_and_all_failed_fails(cmdb_url, store):
    fake = FakeCloud(regions=("RegionOne", "RegionTwo"))
    fake.data[("RegionOne", "servers")] = [record("a")]
    fake.data[("RegionTwo", "servers")] = [record("b")]
    fake.status[("RegionTwo", "servers")] = "forbidden"
    result = _run(fake, cmdb_url, types=["servers"])
    assert "failed" not in result
    assert result["summary"]["servers"]["errors"] == 1
    assert result["warnings"] and "demo/RegionTwo/servers forbidden (HTTP 403)" in result["warnings"][0]
    assert "1 scope(s) not synced" in result["msg"]
    assert _run(fake, cmdb_url, types=["servers"], strict=True)["failed"] is True
    fake.status[("RegionOne", "servers")] = "error"
    assert _run(fake, cmdb_url, types=["servers"])["failed"] is True
    assert set(live(store)) == {"a"}


def test_check_mode_writes_nothing_and_diff_lists_changes(cmdb_url, store):
    fake = FakeCloud()
    fake.data[("RegionOne", "servers")] = [record("a")]
    result = _run(fake, cmdb_url, check_mode=True, diff=True, types=["servers"])
    assert result["changed"] is True and result["summary"]["servers"]["new"] == 1
    assert "+ demo/RegionOne/servers a (srv-a) created" in result["diff"]["prepared"]
    assert rows(store, schema.resources) == [] and rows(store, schema.sync_runs) == []
    assert rows(store, schema.locks) == []


def test_a_held_lock_blocks_the_same_scope_only(cmdb_url, store):
    fake = FakeCloud()
    fake.data[("RegionOne", "servers")] = [record("a")]
    far = utcnow() + datetime.timedelta(hours=1)
    with store.write() as conn:
        conn.execute(
            schema.locks.insert().values(
                name="sync:demo/RegionOne/servers",
                owner="%s:1:other" % socket.gethostname(),  # pid 1 is alive
                acquired_at=utcnow(),
                expires_at=far,
            )
        )
    with pytest.raises(StoreError) as info:
        _run(fake, cmdb_url, types=["servers"], lock_timeout=1)
    assert "another sync holds the lock sync:demo/RegionOne/servers" in info.value.message
    assert rows(store, schema.resources) == []
    # another type of the same cloud is not blocked, and the locks are released afterwards
    fake.data[("RegionOne", "flavors")] = [record("f", rtype="flavors")]
    assert _run(fake, cmdb_url, types=["flavors"], lock_timeout=1)["summary"]["flavors"]["new"] == 1
    assert [r["name"] for r in rows(store, schema.locks)] == ["sync:demo/RegionOne/servers"]


def test_bad_options_are_one_clear_error(cmdb_url):
    fake = FakeCloud()
    with pytest.raises(ConfigurationError) as info:
        _run(fake, cmdb_url, types=["servers", "spaceships"])
    assert "spaceships" in info.value.message and "floating_ips" in info.value.message
    with pytest.raises(ConfigurationError) as info:
        _run(fake, cmdb_url, full_sync_interval="soon")
    assert "full_sync_interval" in info.value.message
    with pytest.raises(ConfigurationError) as info:
        _run(fake, cmdb_url, only_due=True)
    assert "only_due" in info.value.message


def test_resolve_member_ports_reaches_gather_and_is_off_by_default(cmdb_url, store):
    fake = FakeCloud()
    fake.data[("RegionOne", "flavors")] = [record("f1", rtype="flavors", project=None)]
    _run(fake, cmdb_url, types=["flavors"])
    assert fake.calls[-1]["resolve_member_ports"] is False
    _run(fake, cmdb_url, types=["flavors"], resolve_member_ports=True)
    assert fake.calls[-1]["resolve_member_ports"] is True
