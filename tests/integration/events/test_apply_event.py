"""cmdb_apply_event through real ansible-playbook runs against the OpenStack simulator (SQLite CMDB).

Re-read by id, same writer as cmdb_sync: created / updated with a field diff / tombstoned only on a
404; duplicates and replays change nothing; a sync afterwards agrees; events never count as a sync.
"""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

HOSTILE = "{{ lookup('pipe', 'touch %s') }}"


@pytest.fixture
def cloud(os_simulator):
    return os_simulator.add_cloud(name="demo", regions=("RegionOne",), seed=5, servers=4, projects=1)


@pytest.fixture
def run(ansible, cloud, tmp_path):
    path = tmp_path / "clouds.yaml"
    cloud.sim.write_clouds_yaml(str(path), {"demo": cloud.clouds_yaml_entry(user="admin")})
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    env = {"OS_CLIENT_CONFIG_FILE": str(path)}

    def _run(module, **args):
        args.setdefault("cmdb_url", url)
        completed = ansible.module(module, args, env=env)
        assert completed.result, completed.output
        assert "Traceback" not in completed.output, completed.output
        return completed.result

    _run.url = url
    return _run


def _event(rtype, rid, event_type="x.update.end"):
    return {"cloud": "demo", "region": "RegionOne", "type": rtype, "id": rid, "event_type": event_type}


def _rows(url, table):
    store = open_store(url)
    try:
        with store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(table))]
    finally:
        store.close()


def test_events_follow_create_rename_delete(run, cloud, tmp_path):
    servers = cloud.store.list("servers")
    server, other = servers[0], servers[1]
    marker = tmp_path / "marker"
    cloud.store.update("servers", server["id"], {"name": HOSTILE % marker})
    burst = [_event("servers", server["id"], "instance.update") for _count in range(50)]
    burst.append(_event("servers", other["id"]))
    first = run("cmdb_apply_event", cloud="demo", events=burst)
    assert first["changed"] and not first.get("failed"), first
    assert sorted((i["id"], i["action"], i["count"]) for i in first["event_items"]) == sorted(
        [(server["id"], "created", 50), (other["id"], "created", 1)]
    )
    # the same events again (a duplicate, a redelivery): nothing changes
    again = run("cmdb_apply_event", cloud="demo", events=burst)
    assert not again["changed"] and {i["action"] for i in again["event_items"]} == {"unchanged"}, again
    # a rename: a field diff in the change log
    cloud.store.update("servers", other["id"], {"name": "renamed-by-event"})
    renamed = run("cmdb_apply_event", cloud="demo", events=[_event("servers", other["id"])])
    assert renamed["changes"][0]["diff"]["name"] == {"old": other["name"], "new": "renamed-by-event"}
    # a deletion: tombstoned because the GET answers 404
    cloud.store.delete("servers", other["id"])
    gone = run("cmdb_apply_event", cloud="demo", events=[_event("servers", other["id"], "instance.delete.end")])
    assert [(i["verdict"], i["action"]) for i in gone["event_items"]] == [("gone", "deleted")]
    # an event for an item that never existed creates nothing and deletes nothing
    ghost = run("cmdb_apply_event", cloud="demo", events=[_event("servers", "0" * 32)])
    assert not ghost["changed"]
    resources = {r["id"]: r for r in _rows(run.url, schema.resources)}
    assert resources[server["id"]]["name"] == HOSTILE % marker
    assert resources[other["id"]]["deleted_at"] is not None
    assert "0" * 32 not in resources
    assert not marker.exists()
    # events are recorded as runs of mode/status "event", never "ok"
    runs = _rows(run.url, schema.sync_runs)
    assert runs and {(r["mode"], r["status"]) for r in runs} == {("event", "event")}
    # a full sync afterwards agrees with what the events wrote (no update of those two)
    synced = run("cmdb_sync", cloud="demo", types=["servers"])
    changes = [c for c in _rows(run.url, schema.changes) if c["sync_run_id"] == synced["scopes"][0]["sync_run_id"]]
    assert {c["resource_id"] for c in changes if c["action"] != "created"} == set(), changes


def test_invalid_and_foreign_events_are_reported_not_applied(run, cloud):
    server = cloud.store.list("servers")[0]
    result = run(
        "cmdb_apply_event",
        cloud="demo",
        events=[
            {"type": "users", "id": "x"},
            {"type": "servers", "id": HOSTILE % "/tmp/never"},
            dict(_event("servers", server["id"]), region="Elsewhere"),
        ],
    )
    assert len(result["invalid"]) == 2 and not result["changed"]
    assert [s["reason"] for s in result["skipped_items"]] == ["region not served by this connection"]


def test_a_burst_is_one_read_per_item_and_late_events_change_nothing(run, cloud):
    """300 events naming 3 servers, shuffled, are applied with one GET per server; events that arrive
    after a later one (a create after the delete, an old update after a rename) change nothing wrongly:
    each re-read answers with the current state."""
    servers = cloud.store.list("servers")[:3]
    ids = [server["id"] for server in servers]
    kinds = ("instance.update", "instance.create.end", "instance.update", "instance.power_on.end")
    burst = [_event("servers", ids[n % 3], kinds[n % 4]) for n in range(300)]
    random.Random(23).shuffle(burst)
    cloud.clear_requests()
    first = run("cmdb_apply_event", cloud="demo", events=burst)
    assert sorted((i["id"], i["action"], i["count"]) for i in first["event_items"]) == sorted(
        (rid, "created", 100) for rid in ids
    )
    reads = [r for r in cloud.requests(service="compute", method="GET") if any(rid in r["path"] for rid in ids)]
    assert sorted(rid for r in reads for rid in ids if rid in r["path"]) == sorted(ids), reads
    # a deletion, then (late) an update and a create.end of the same server: it stays deleted
    cloud.store.delete("servers", ids[0])
    run("cmdb_apply_event", cloud="demo", events=[_event("servers", ids[0], "instance.delete.end")])
    late = run(
        "cmdb_apply_event",
        cloud="demo",
        events=[_event("servers", ids[0], "instance.update"), _event("servers", ids[0], "instance.create.end")],
    )
    assert not late["changed"], late
    # a rename, then the rename's events again and an older update: the new name stays, one diff
    cloud.store.update("servers", ids[1], {"name": "renamed-in-burst"})
    renamed = [_event("servers", ids[1], "instance.update")] * 3
    run("cmdb_apply_event", cloud="demo", events=renamed)
    again = run("cmdb_apply_event", cloud="demo", events=renamed + [_event("servers", ids[1], "instance.create.end")])
    assert not again["changed"], again
    resources = {r["id"]: r for r in _rows(run.url, schema.resources)}
    assert resources[ids[0]]["deleted_at"] is not None
    assert resources[ids[1]]["name"] == "renamed-in-burst" and resources[ids[1]]["deleted_at"] is None
    actions = [(c["resource_id"], c["action"]) for c in _rows(run.url, schema.changes) if c["resource_id"] in ids[:2]]
    assert sorted(actions) == sorted(
        [(ids[0], "created"), (ids[0], "deleted"), (ids[1], "created"), (ids[1], "updated")]
    ), actions
