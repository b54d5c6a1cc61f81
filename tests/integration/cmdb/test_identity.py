"""One cloud is never taken for another (issue 17, "Cloud identity").

Real ``ansible-playbook`` runs of cmdb_sync against the simulator, on SQLite and PostgreSQL:

- two RC-file style environments (``OS_*`` variables only) for two projects of one cloud, synced in
  turn into one CMDB: they land in two CMDB clouds, nothing is marked deleted, and each run warns
  that the cloud should be named;
- one clouds.yaml name whose credentials change to another project: the run is refused with a
  message naming both identities and the way out; ``accept_identity_change: true`` accepts it.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

#: What a member of one project can list in full (Neutron filters on the token's project).
TYPES = ["networks", "subnets", "security_groups", "routers"]


@pytest.fixture
def rc_cloud(os_simulator):
    cloud = os_simulator.add_cloud(name="rc", regions=("RegionOne",), seed=5, servers=4, projects=2)
    cloud.add_user("alice", project="alpha", roles=("reader", "member"))
    cloud.add_user("bob", project="beta", roles=("reader", "member"))
    return cloud


def _rows(url, table):
    store = open_store(url)
    try:
        with store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(table))]
    finally:
        store.close()


def _sync(ansible, url, env, **args):
    args.setdefault("types", TYPES)
    args["cmdb_url"] = url
    completed = ansible.module("cmdb_sync", args, env=env)
    assert completed.result, completed.output
    assert "Traceback" not in completed.output, completed.output
    return completed


def test_two_rc_files_of_one_cloud_never_delete_each_others_items(ansible, cmdb_url, rc_cloud):
    port = urlparse(rc_cloud.auth_url).port
    first = _sync(ansible, cmdb_url, rc_cloud.env(user="alice"))
    assert not first.result.get("failed"), first.result.get("msg")
    assert first.result["totals"]["new"] > 0

    second = _sync(ansible, cmdb_url, rc_cloud.env(user="bob"))
    assert not second.result.get("failed"), second.result.get("msg")
    assert second.result["totals"]["new"] > 0
    assert second.result["totals"]["deleted"] == 0  # alice's items stay

    assert first.result["cloud"] == "127.0.0.1:%d/alpha" % port
    assert second.result["cloud"] == "127.0.0.1:%d/beta" % port
    # the made-up name is announced, with the advice to name the cloud
    assert "has no name and is named '127.0.0.1:%d/alpha'" % port in first.output
    assert rc_cloud.password("alice") not in first.output

    third = _sync(ansible, cmdb_url, rc_cloud.env(user="alice"))
    assert third.result["totals"]["deleted"] == 0 and third.result["totals"]["new"] == 0

    resources = _rows(cmdb_url, schema.resources)
    assert [r for r in resources if r["deleted_at"] is not None] == []
    assert [c for c in _rows(cmdb_url, schema.changes) if c["action"] == "deleted"] == []
    assert {r["cloud"] for r in resources} == {"127.0.0.1:%d/alpha" % port, "127.0.0.1:%d/beta" % port}
    # each CMDB cloud remembers its own identity, no secret in it
    identities = {row["cloud"]: row["identity"] for row in _rows(cmdb_url, schema.cloud_identities)}
    alice, bob = rc_cloud.users["alice"], rc_cloud.users["bob"]
    assert identities["127.0.0.1:%d/alpha" % port]["user_id"] == alice["id"]
    assert identities["127.0.0.1:%d/alpha" % port]["project_id"] == alice["project"]
    assert identities["127.0.0.1:%d/beta" % port]["project_id"] == bob["project"]
    assert alice["password"] not in str(identities) and bob["password"] not in str(identities)


def test_identity_change_under_one_name_is_refused_until_accepted(ansible, cmdb_url, rc_cloud, tmp_path):
    clouds_yaml = tmp_path / "clouds.yaml"
    rc_cloud.sim.write_clouds_yaml(str(clouds_yaml), {"shared": rc_cloud.clouds_yaml_entry(user="alice")})
    env = {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)}
    first = _sync(ansible, cmdb_url, env, cloud="shared")
    assert not first.result.get("failed"), first.result.get("msg")
    live_before = [r for r in _rows(cmdb_url, schema.resources) if r["deleted_at"] is None]
    runs_before = len(_rows(cmdb_url, schema.sync_runs))
    assert live_before

    # the same name now points at another project's credentials
    rc_cloud.sim.write_clouds_yaml(str(clouds_yaml), {"shared": rc_cloud.clouds_yaml_entry(user="bob")})
    refused = _sync(ansible, cmdb_url, env, cloud="shared")
    assert refused.result.get("failed"), refused.result
    msg = refused.result["msg"]
    alice, bob = rc_cloud.users["alice"], rc_cloud.users["bob"]
    assert "'shared'" in msg and alice["project"] in msg and bob["project"] in msg
    assert alice["id"] in msg and bob["id"] in msg
    assert "another name" in msg and "accept_identity_change: true" in msg
    assert bob["password"] not in refused.output
    # refused before listing: nothing written, nothing deleted
    assert len(_rows(cmdb_url, schema.sync_runs)) == runs_before
    assert [r for r in _rows(cmdb_url, schema.resources) if r["deleted_at"] is None] == live_before

    accepted = _sync(ansible, cmdb_url, env, cloud="shared", accept_identity_change=True)
    assert not accepted.result.get("failed"), accepted.result.get("msg")
    assert "identity change accepted" in accepted.output
    identity = {row["cloud"]: row["identity"] for row in _rows(cmdb_url, schema.cloud_identities)}["shared"]
    assert identity["project_id"] == bob["project"] and identity["user_id"] == bob["id"]
    # and from now on bob's credentials are the cloud's identity: no option needed
    again = _sync(ansible, cmdb_url, env, cloud="shared")
    assert not again.result.get("failed"), again.result.get("msg")
    info = ansible.module("cmdb_info", {"cmdb_url": cmdb_url, "sections": ["identities"]}).result
    assert [i["cloud"] for i in info["identities"]] == ["shared"]
    assert info["identities"][0]["identity"]["project_id"] == bob["project"]
