"""Deletion is proven, never inferred (issue 17): cmdb_sync through real ansible-playbook runs against
the simulator, with listing faults that hide items.

An item a complete listing did not return is marked deleted only after a GET of it answers 404; a
GET that still returns it makes the scope ``inconsistent`` (nothing of it swept); 403, 5xx and
timeouts leave it live for the next run. Partial server records (a Nova cell down) never overwrite
the CMDB, a token without the admin role only sweeps its own project, and hidden images are listed.

Most tests run on SQLite only (the rule lives above the SQL); the real deletion runs on both.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
from os_simulator import svc_compute

SERVERS = 20
PAGE = 5  # the simulator's page size: 4 pages of servers


@pytest.fixture
def cloud(os_simulator):
    return os_simulator.add_cloud(
        name="proof", regions=("RegionOne",), seed=7, servers=SERVERS, projects=2, max_page_size=PAGE
    )


@pytest.fixture
def sqlite_url(tmp_path):
    return "sqlite:///%s" % (tmp_path / "cmdb.sqlite")


class Cmdb:
    def __init__(self, ansible, url, cloud, tmp_path, user="admin"):
        self.ansible = ansible
        self.url = url
        self.cloud = cloud
        path = tmp_path / "clouds.yaml"
        cloud.sim.write_clouds_yaml(str(path), {"proof": cloud.clouds_yaml_entry(user=user)})
        self.env = {"OS_CLIENT_CONFIG_FILE": str(path)}

    def sync(self, types=("servers",), **args):
        args.setdefault("cloud", "proof")
        args.setdefault("cmdb_url", self.url)
        args.setdefault("full_sync_interval", "0")  # every servers run is a full listing (a sweep)
        args["types"] = list(types)
        completed = self.ansible.module("cmdb_sync", args, env=self.env)
        assert completed.result, completed.output
        assert "Traceback" not in completed.output, completed.output
        return completed.result

    def rows(self, table, **where):
        store = open_store(self.url)
        try:
            with store.read() as conn:
                query = sa.select(table)
                for key, value in where.items():
                    query = query.where(table.c[key] == value)
                return [dict(r._mapping) for r in conn.execute(query)]
        finally:
            store.close()

    def live(self, rtype="servers"):
        return {r["id"] for r in self.rows(schema.resources, type=rtype) if r["deleted_at"] is None}

    def resources(self, rtype="servers"):
        return {r["id"]: r for r in self.rows(schema.resources, type=rtype)}

    def last_run(self, rtype="servers"):
        return max(self.rows(schema.sync_runs, type=rtype), key=lambda r: r["id"])

    def show_gets(self, service="compute", prefix="/servers/"):
        """Confirmation GETs served (single items, not listings)."""
        return [
            r
            for r in self.cloud.requests(service=service, method="GET")
            if r["path"].startswith(prefix) and r["path"].count("/") == 2 and not r["path"].endswith("/detail")
        ]


@pytest.fixture
def cmdb(ansible, sqlite_url, cloud, tmp_path):
    return Cmdb(ansible, sqlite_url, cloud, tmp_path)


def _scope(result, rtype="servers"):
    return next(s for s in result["scopes"] if s["type"] == rtype)


def _baseline(cmdb, types=("servers",)):
    first = cmdb.sync(types)
    assert all(s["status"] == "ok" for s in first["scopes"]), first["scopes"]
    return first


# -- a listing that looked complete but was not ----------------------------------------------------


def test_empty_page_two_marks_nothing_deleted(cmdb, cloud):
    _baseline(cmdb)
    stored = cmdb.resources()
    cloud.faults.add(kind="empty_page", service="compute", path="/servers/detail", after=1)
    result = cmdb.sync()
    servers = _scope(result)
    # 15 of 20 vanished at once: each GET still returns its server -> the listing lied
    assert servers["status"] == "inconsistent", servers
    assert servers["counts"]["deleted"] == 0
    assert result["summary"]["servers"]["inconsistent"] == 1
    assert any("still served by the API" in w for w in result["warnings"]), result["warnings"]
    assert cmdb.live() == set(stored)
    assert cmdb.last_run()["status"] == "inconsistent"
    assert not [c for c in cmdb.rows(schema.changes) if c["action"] == "deleted"]


def test_page_without_next_link_marks_nothing_deleted(cmdb, cloud):
    _baseline(cmdb)
    cloud.faults.add(kind="no_next", service="compute", path="/servers/detail", after=1)
    result = cmdb.sync()
    assert _scope(result)["status"] == "inconsistent"
    assert _scope(result)["counts"]["deleted"] == 0
    assert len(cmdb.live()) == SERVERS


def test_short_page_makes_the_scope_inconsistent_and_sweeps_nothing(cmdb, cloud):
    _baseline(cmdb)
    # a real deletion in the same run: the scope is inconsistent, so it waits for the next run
    gone = cloud.store.list("servers")[-1]["id"]
    cloud.store.delete("servers", gone)
    cloud.faults.add(kind="short_page", service="compute", path="/servers/detail", after=1, times=1, count=2)
    result = cmdb.sync()
    servers = _scope(result)
    assert servers["status"] == "inconsistent", servers
    assert servers["counts"]["deleted"] == 0
    assert gone in cmdb.live()
    assert "nothing of this scope was marked deleted" in servers["message"]
    # the fault fired once: the next run is complete, proves the deletion and sweeps it
    again = cmdb.sync()
    assert _scope(again)["status"] == "ok"
    assert _scope(again)["counts"]["deleted"] == 1
    assert cmdb.live() == {s["id"] for s in cloud.store.list("servers")}


def test_cut_body_fails_the_scope_and_marks_nothing_deleted(cmdb, cloud):
    _baseline(cmdb)
    cloud.faults.add(kind="malformed_json", service="compute", path="/servers/detail", after=1)
    result = cmdb.sync()
    assert _scope(result)["status"] == "error"
    assert len(cmdb.live()) == SERVERS


# -- proof: 404, 200, 403 ------------------------------------------------------------------------------


@pytest.fixture
def cmdb_both(ansible, cmdb_url, cloud, tmp_path):
    return Cmdb(ansible, cmdb_url, cloud, tmp_path)


def test_a_real_deletion_is_tombstoned_after_its_get_answers_404(cmdb_both, cloud):
    cmdb = cmdb_both
    _baseline(cmdb, types=("servers", "volumes", "networks"))
    server = cloud.store.list("servers")[3]["id"]
    volume = cloud.store.list("volumes")[0]["id"]
    cloud.store.delete("servers", server)
    cloud.store.delete("volumes", volume)
    cloud.clear_requests()
    result = cmdb.sync(types=("servers", "volumes", "networks"))
    assert result["summary"]["servers"]["deleted"] == 1 and result["summary"]["volumes"]["deleted"] == 1
    assert all(s["status"] == "ok" for s in result["scopes"])
    assert server not in cmdb.live() and volume not in cmdb.live("volumes")
    # the proof: one GET of each missing item, answered 404; nothing else was asked
    assert [(r["path"], r["status"]) for r in cmdb.show_gets()] == [("/servers/%s" % server, 404)]
    assert [(r["path"], r["status"]) for r in cmdb.show_gets("block-storage", "/volumes/")] == [
        ("/volumes/%s" % volume, 404)
    ]
    assert _scope(result)["counts"]["confirmations"] == 1


def test_a_no_change_sync_makes_no_confirmation_call(cmdb, cloud):
    _baseline(cmdb, types=("servers", "volumes", "images"))
    cloud.clear_requests()
    again = cmdb.sync(types=("servers", "volumes", "images"))
    assert again["changed"] is False
    assert cloud.requests(method="GET") and not [
        r for r in cloud.requests(method="GET") if r["path"].count("/") == 2 and "detail" not in r["path"]
    ]


def test_a_403_on_the_get_keeps_the_item_live_until_a_later_run_proves_it(cmdb, cloud):
    _baseline(cmdb)
    gone = cloud.store.list("servers")[5]["id"]
    cloud.store.delete("servers", gone)
    fault = cloud.faults.add(kind="forbidden", service="compute", path="/servers/%s" % gone, method="GET")
    result = cmdb.sync()
    servers = _scope(result)
    assert servers["status"] == "ok"
    assert servers["counts"]["deleted"] == 0 and servers["counts"]["unconfirmed"] == 1
    assert result["summary"]["servers"]["unconfirmed"] == 1
    assert gone in cmdb.live()
    assert any(gone in w and "HTTP 403" in w for w in result["warnings"]), result["warnings"]
    cloud.faults.remove(fault)
    again = cmdb.sync()
    assert _scope(again)["counts"]["deleted"] == 1
    assert gone not in cmdb.live()


def test_a_5xx_on_the_get_keeps_the_item_live(cmdb, cloud):
    _baseline(cmdb)
    gone = cloud.store.list("servers")[6]["id"]
    cloud.store.delete("servers", gone)
    cloud.faults.add(kind="status", status=503, service="compute", path="/servers/%s" % gone, method="GET")
    result = cmdb.sync()
    assert _scope(result)["counts"]["unconfirmed"] == 1 and _scope(result)["counts"]["deleted"] == 0
    assert gone in cmdb.live()


# -- down cells ---------------------------------------------------------------------------------------


def test_down_cell_before_269_omits_servers_and_their_get_fails_nothing_deleted(cmdb, cloud, monkeypatch):
    monkeypatch.setattr(svc_compute, "MAX_VERSION", (2, 68))  # a Nova older than 2.69
    _baseline(cmdb)
    stored = cmdb.resources()
    cloud.faults.add(kind="down_cell", service="compute", count=3)
    gone = cloud.store.list("servers")[-1]["id"]  # a real deletion outside the cell
    cloud.store.delete("servers", gone)
    result = cmdb.sync()
    servers = _scope(result)
    assert servers["status"] == "ok", servers
    # the down cell's 3 servers: GET answers 500 -> unconfirmed, kept; the real deletion: 404 -> deleted
    assert servers["counts"]["deleted"] == 1 and servers["counts"]["unconfirmed"] == 3
    assert cmdb.live() == set(stored) - {gone}
    assert any("HTTP 500" in w for w in result["warnings"]), result["warnings"]


def test_down_cell_from_269_paged_listing_omits_servers_and_their_get_says_unknown(cmdb, cloud):
    _baseline(cmdb)
    before = cmdb.resources()
    cloud.faults.add(kind="down_cell", service="compute", count=2)
    result = cmdb.sync()
    servers = _scope(result)
    # Nova skips down-cell servers in paged listings; their GET returns an UNKNOWN construct: they exist
    assert servers["status"] == "inconsistent", servers
    assert servers["counts"]["deleted"] == 0
    assert cmdb.resources() == before


def test_down_cell_unknown_records_never_overwrite_the_cmdb(cmdb, cloud):
    _baseline(cmdb)
    before = cmdb.resources()
    cloud.faults.add(kind="down_cell", service="compute", count=3, mode="constructs")
    result = cmdb.sync()
    servers = _scope(result)
    assert servers["status"] == "ok", servers
    assert servers["counts"]["partial"] == 3
    assert servers["counts"]["updated"] == 0 and servers["counts"]["deleted"] == 0
    assert result["changed"] is False
    assert cmdb.resources() == before  # status, attributes, hashes: as they were
    assert any("partial" in w for w in result["warnings"]), result["warnings"]
    assert not [c for c in cmdb.rows(schema.changes) if c["action"] != "created"]


# -- visibility follows the token -----------------------------------------------------------------------


def test_admin_role_removed_only_the_tokens_project_is_swept(ansible, sqlite_url, cloud, tmp_path):
    # an operator account with the admin role on a project that owns volumes
    ops = cloud.add_user("ops", project=cloud.projects[0]["id"], roles=("reader", "member", "admin"))
    cmdb = Cmdb(ansible, sqlite_url, cloud, tmp_path, user="ops")
    _baseline(cmdb, types=("volumes", "networks", "flavors"))
    own = ops["project"]
    volumes = cloud.store.list("volumes")
    mine = [v for v in volumes if v["os-vol-tenant-attr:tenant_id"] == own]
    others = [v for v in volumes if v["os-vol-tenant-attr:tenant_id"] != own]
    assert len(mine) >= 2 and others, "the seed must have volumes of the user's project and of others"
    assert len(cmdb.live("volumes")) == len(volumes)
    time.sleep(1.1)
    ops["roles"] = ["reader", "member"]  # another team removed the admin role
    cloud.store.delete("volumes", mine[0]["id"])
    cloud.store.delete("volumes", others[0]["id"])
    result = cmdb.sync(types=("volumes", "networks", "flavors"))
    volumes_scope = _scope(result, "volumes")
    live = cmdb.live("volumes")
    # the other projects' volumes, listed no more, are not marked deleted (even the one really gone:
    # this token cannot prove it); the token's own deleted volume is
    assert {v["id"] for v in others} <= live
    assert mine[0]["id"] not in live and {v["id"] for v in mine[1:]} <= live
    assert volumes_scope["counts"]["deleted"] == 1
    assert any("no admin role" in w and "volumes" in w for w in result["warnings"]), result["warnings"]
    assert any("flavors: not swept" in w for w in result["warnings"]), result["warnings"]
    assert result["summary"]["networks"]["deleted"] == 0


# -- listings that cover everything -----------------------------------------------------------------------


def test_a_hidden_image_is_listed_and_never_marked_deleted(cmdb, cloud):
    images = cloud.store.list("images")
    cloud.store.update("images", images[0]["id"], {"os_hidden": True})  # hidden before the first sync
    _baseline(cmdb, types=("images",))
    assert images[0]["id"] in cmdb.live("images")
    time.sleep(1.1)
    cloud.store.update("images", images[1]["id"], {"os_hidden": True})  # hidden between two syncs
    result = cmdb.sync(types=("images",))
    assert _scope(result, "images")["counts"]["deleted"] == 0
    assert {i["id"] for i in cloud.store.list("images")} == cmdb.live("images")
    hidden = cmdb.resources("images")[images[1]["id"]]
    assert hidden["attributes"]["os_hidden"] is True
