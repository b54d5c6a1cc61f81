"""cmdb_sync / cmdb_info / cmdb_purge through real ansible-playbook runs against the OpenStack simulator.

Each test runs on SQLite and on the real PostgreSQL server (the ``cmdb_url`` fixture).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

TYPES = ["servers", "volumes", "flavors", "networks", "load_balancers"]


@pytest.fixture
def cloud(os_simulator):
    return os_simulator.add_cloud(name="demo", regions=("RegionOne",), seed=3, servers=12, projects=2)


@pytest.fixture
def clouds_yaml(cloud, tmp_path):
    path = tmp_path / "clouds.yaml"
    entries = {
        "demo": cloud.clouds_yaml_entry(user="admin"),
        "demo-nolb": dict(cloud.clouds_yaml_entry(user="nolb")),
    }
    cloud.sim.write_clouds_yaml(str(path), entries)
    return str(path)


class Cmdb:
    """Runs the CMDB modules of this collection with ansible-playbook, and reads the database."""

    def __init__(self, ansible, url, clouds_yaml):
        self.ansible = ansible
        self.url = url
        self.env = {"OS_CLIENT_CONFIG_FILE": clouds_yaml}

    def run(self, module, check=False, diff=False, **args):
        args.setdefault("cmdb_url", self.url)
        completed = self.ansible.module(module, args, check=check, diff=diff, env=self.env)
        assert completed.result, completed.output
        assert "Traceback" not in completed.output, completed.output
        return completed.result

    def sync(self, check=False, diff=False, **args):
        args.setdefault("cloud", "demo")
        args.setdefault("types", TYPES)
        result = self.run("cmdb_sync", check=check, diff=diff, **args)
        assert not result.get("failed"), result.get("msg")
        return result

    def table(self, table):
        store = open_store(self.url)
        try:
            with store.read() as conn:
                return [dict(r._mapping) for r in conn.execute(sa.select(table))]
        finally:
            store.close()


@pytest.fixture
def cmdb(ansible, cmdb_url, clouds_yaml):
    return Cmdb(ansible, cmdb_url, clouds_yaml)


def _actions(cmdb, rid):
    return [c["action"] for c in sorted(cmdb.table(schema.changes), key=lambda c: c["id"]) if c["resource_id"] == rid]


def test_create_change_delete_reappear_across_syncs(cmdb, cloud):
    check = cmdb.sync(check=True, diff=True)
    assert check["changed"] is True and check["summary"]["servers"]["new"] == 12
    assert len(check["changes"]) > 12 and "created" in check["diff"]["prepared"]
    assert cmdb.table(schema.resources) == [] and cmdb.table(schema.sync_runs) == []  # check mode wrote nothing

    first = cmdb.sync()
    assert first["changed"] is True
    assert first["summary"]["servers"]["new"] == 12
    assert all(s["status"] == "ok" for s in first["scopes"]), first["scopes"]
    assert first["summary_lines"][0] == "cloud demo"
    resources = cmdb.table(schema.resources)
    assert len([r for r in resources if r["type"] == "servers"]) == 12
    assert len({(r["cloud"], r["region"], r["type"], r["id"]) for r in resources}) == len(resources)

    # a no-change resync writes zero resource, relation, change and staging rows
    data_tables = (schema.resources, schema.relations, schema.changes, schema.staging)
    before = {t.name: cmdb.table(t) for t in data_tables}
    again = cmdb.sync()
    assert again["changed"] is False
    assert all(entry["new"] + entry["updated"] + entry["deleted"] == 0 for entry in again["summary"].values())
    assert {t.name: cmdb.table(t) for t in data_tables} == before

    servers = cloud.store.list("servers")
    changed_id, deleted_id = servers[0]["id"], servers[1]["id"]
    volume = cloud.store.list("volumes")[0]
    time.sleep(1.1)  # the API's timestamps have a one-second resolution
    cloud.store.update("servers", changed_id, {"name": "renamed-by-test"})
    cloud.store.delete("servers", deleted_id)
    cloud.store.delete("volumes", volume["id"])

    second = cmdb.sync(diff=True)
    by_type = {s["type"]: s for s in second["scopes"]}
    assert by_type["servers"]["mode"] == "incremental"  # changes-since after a recent full run
    assert second["summary"]["servers"]["updated"] == 1
    assert second["summary"]["servers"]["deleted"] == 1
    assert second["summary"]["volumes"]["deleted"] == 1
    assert "renamed-by-test" in second["diff"]["prepared"]
    assert _actions(cmdb, changed_id) == ["created", "updated"]
    assert _actions(cmdb, deleted_id) == ["created", "deleted"]
    updated = [c for c in cmdb.table(schema.changes) if c["resource_id"] == changed_id][-1]
    assert updated["diff"]["name"]["new"] == "renamed-by-test"

    cloud.store.create("volumes", dict(volume, name="back-again"))
    third = cmdb.sync(types=["volumes"])
    assert third["summary"]["volumes"]["reappeared"] == 1
    assert _actions(cmdb, volume["id"]) == ["created", "deleted", "reappeared"]

    info = cmdb.run("cmdb_info", cloud=["demo"], types=["servers"], include_deleted=True, changes_since="1h")
    assert len(info["resources"]) == 12
    gone = next(r for r in info["resources"] if r["id"] == deleted_id)
    assert gone["deleted"] is True
    renamed = next(r for r in info["resources"] if r["id"] == changed_id)
    assert renamed["name"] == "renamed-by-test" and renamed["relations"]
    assert {"created", "updated", "deleted"} <= {c["action"] for c in info["changes"]}
    assert info["counts"]["demo"]["servers"] == {"live": 11, "deleted": 1}


def test_forbidden_failing_and_empty_listings_delete_nothing(cmdb, cloud):
    cmdb.sync()

    def state():  # cloud "demo" (the nolb user's clouds.yaml entry is another cloud name)
        return [[r for r in cmdb.table(t) if r["cloud"] == "demo"] for t in (schema.resources, schema.changes)]

    before = state()

    # a user without the load-balancer role: that scope is forbidden, the rest is synced, and the
    # task fails (issue 17: failures are visible) unless fail_on_scope_errors is false
    forbidden = cmdb.run("cmdb_sync", cloud="demo-nolb", types=["load_balancers", "flavors"])
    assert [s["status"] for s in forbidden["scopes"]] == ["forbidden", "ok"]
    assert forbidden.get("failed") is True and "load_balancers forbidden (HTTP 403)" in forbidden["msg"]
    assert forbidden["summary"]["flavors"]["new"] > 0  # applied before failing
    relaxed = cmdb.run("cmdb_sync", cloud="demo-nolb", types=["load_balancers", "flavors"], fail_on_scope_errors=False)
    assert not relaxed.get("failed") and "load_balancers forbidden (HTTP 403)" in relaxed["msg"]
    # when no listing at all succeeded, the task fails (and still deletes nothing)
    only = cmdb.run("cmdb_sync", cloud="demo-nolb", types=["load_balancers"])
    assert only.get("failed") is True and only["scopes"][0]["status"] == "forbidden"

    # a failing listing (malformed JSON in the middle of it), through the module
    cloud.faults.add(service="compute", path="/servers/detail", kind="malformed_json")
    failing = cmdb.run("cmdb_sync", cloud="demo", types=["servers", "flavors"], full_sync_interval=0)
    cloud.faults.clear()
    scopes = {s["type"]: s["status"] for s in failing["scopes"]}
    assert scopes == {"servers": "error", "flavors": "ok"}
    assert "demo/RegionOne/servers error" in failing["msg"]

    # an empty complete listing where items existed
    for item in cloud.store.list("volumes"):
        cloud.store.delete("volumes", item["id"])
    empty = cmdb.run("cmdb_sync", cloud="demo", types=["volumes"])
    assert empty["scopes"][0]["status"] == "refused_empty"
    assert empty.get("failed") is True and "allow_empty_sweep" in empty["msg"]  # visible, not applied
    assert state() == before

    swept = cmdb.sync(types=["volumes"], allow_empty_sweep=True)
    assert swept["summary"]["volumes"]["deleted"] > 0


def test_purge_and_bad_input(ansible, tmp_path, clouds_yaml, cloud):
    cmdb = Cmdb(ansible, "sqlite:///%s" % (tmp_path / "purge.sqlite"), clouds_yaml)  # PostgreSQL: unit tests
    cmdb.sync(types=["volumes"])
    cloud.store.delete("volumes", cloud.store.list("volumes")[0]["id"])
    cmdb.sync(types=["volumes"])
    time.sleep(1.5)  # older_than is at least one second
    would = cmdb.run("cmdb_purge", check=True, older_than="1")
    assert would["changed"] is True and would["purged"]["resources"] == 1
    assert len([r for r in cmdb.table(schema.resources) if r["deleted_at"]]) == 1
    done = cmdb.run("cmdb_purge", older_than="1")
    assert done["purged"]["resources"] == 1
    assert [r for r in cmdb.table(schema.resources) if r["deleted_at"]] == []

    bad = cmdb.run("cmdb_info", cmdb_url="mysql://nobody@localhost/x")
    assert bad.get("failed") is True and "supports SQLite and PostgreSQL" in bad["msg"]


def test_overlapping_syncs_of_one_cloud(cmdb, ansible, tmp_path):
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "sync",
                    "cmdb.openstack.cmdb_sync": {"cloud": "demo", "types": TYPES, "cmdb_url": cmdb.url},
                    "register": "out",
                },
                {"name": "show", "ansible.builtin.debug": {"msg": "{{ out.summary | to_json }}"}},
            ],
        }
    ]
    path = tmp_path / "overlap.yml"
    path.write_text(json.dumps(play))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)]
    procs = [
        subprocess.Popen(
            command, env=ansible.env(cmdb.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _i in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    resources = cmdb.table(schema.resources)
    keys = [(r["cloud"], r["region"], r["type"], r["id"]) for r in resources]
    assert len(keys) == len(set(keys))
    created = [(c["type"], c["resource_id"]) for c in cmdb.table(schema.changes) if c["action"] == "created"]
    assert sorted(created) == sorted((r["type"], r["id"]) for r in resources)  # each exactly once
    assert cmdb.table(schema.staging) == [] and cmdb.table(schema.locks) == []
