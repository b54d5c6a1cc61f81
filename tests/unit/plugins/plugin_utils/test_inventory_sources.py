"""Where the inventory's servers come from: the CMDB (set-based reads) and the clouds live (isolated failures)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from inventory_fakes import INJECTION, age_cmdb, estate, fill_cmdb, nova_server, record

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError
from ansible_collections.cmdb.openstack.plugins.module_utils.gather import Scope, ScopeReport
from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_sources as sources


@pytest.fixture
def store(cmdb_url):
    opened = open_store(cmdb_url)
    yield opened
    opened.close()


def count_queries(store):
    counter = {"n": 0}

    def before(*_args, **_kwargs):
        counter["n"] += 1

    sa.event.listen(store.engine, "before_cursor_execute", before)
    return counter, lambda: sa.event.remove(store.engine, "before_cursor_execute", before)


def test_read_cmdb_resolves_names_with_a_fixed_number_of_queries(store):
    fill_cmdb(store, estate(5, cloud="small"), cloud="small")
    counter, stop = count_queries(store)
    small = sources.read_cmdb(store, clouds=["small"])
    few = counter["n"]
    fill_cmdb(store, estate(60, cloud="big"), cloud="big")
    counter["n"] = 0
    big = sources.read_cmdb(store, clouds=["big"])
    stop()
    assert len(small.views) == 5 and len(big.views) == 60
    assert counter["n"] == few  # no query per server
    view = next(v for v in big.views if v["name"] == "vm-7")
    assert view["cloud"] == "big" and view["region"] == "RegionOne"
    assert view["image"]["name"] == "cirros-0.6"
    assert view["volumes"][0]["name"] == "vol-7"
    assert view["flavor"]["name"] == "m1.small"
    assert view["source"] == "cmdb" and view["stale"] is False
    assert view["last_seen"] and view["first_seen"]
    assert big.warnings == []
    assert len(sources.read_cmdb(store).views) == 65


def test_old_data_warns_and_marks_hosts_stale(store):
    fill_cmdb(store, estate(3, cloud="old"), cloud="old")
    fill_cmdb(store, estate(2, cloud="fresh"), cloud="fresh")
    age_cmdb(store, "old", 3 * 3600)
    data = sources.read_cmdb(store, max_age=3600)
    assert len(data.warnings) == 1
    assert "'old'" in data.warnings[0] and "3h0m old" in data.warnings[0] and "max_age 1h0m" in data.warnings[0]
    stale = {v["cloud"]: v["stale"] for v in data.views}
    assert stale == {"old": True, "fresh": False}
    assert sources.read_cmdb(store, max_age=0).warnings == []


def test_a_resync_without_changes_keeps_hosts_fresh(store):
    """Unchanged servers are not rewritten by a sync: the sync run confirms them."""
    records = estate(2, cloud="c")
    fill_cmdb(store, records, cloud="c")
    age_cmdb(store, "c", 3 * 3600)
    fill_cmdb(store, records, cloud="c")  # no change: zero resource rows written
    data = sources.read_cmdb(store, max_age=3600)
    assert data.warnings == []
    assert [v["stale"] for v in data.views] == [False, False]


def test_deleted_servers_only_on_request(store):
    records = estate(3, cloud="c")
    fill_cmdb(store, records, cloud="c")
    records["servers"] = records["servers"][:2]
    fill_cmdb(store, records, cloud="c")
    assert len(sources.read_cmdb(store).views) == 2
    views = sources.read_cmdb(store, include_deleted=True).views
    deleted = [v for v in views if v["deleted"]]
    assert [v["name"] for v in deleted] == ["vm-2"] and deleted[0]["stale"] is True


def test_untrusted_strings_come_back_unchanged(store):
    item = nova_server(1, name=INJECTION, metadata={"note": INJECTION})
    fill_cmdb(store, {"servers": [record(item, cloud="c")]}, cloud="c")
    view = sources.read_cmdb(store).views[0]
    assert view["name"] == INJECTION and view["metadata"] == {"note": INJECTION}


def test_open_cmdb_does_not_create_a_missing_sqlite_file(tmp_path):
    path = tmp_path / "nothing.sqlite"
    with pytest.raises(StoreError, match=r"no CMDB at .*nothing\.sqlite.*cmdb_sync"):
        sources.open_cmdb("sqlite:///%s" % path)
    assert not path.exists()


# ---------------------------------------------------------------------------------------------
# live, with stand-ins for open_cloud/gather (the real ones run in tests/integration/inventory)


class FakeSession:
    def __init__(self, name):
        self.name = name
        self.closed = False

    def close(self):
        self.closed = True


def make_live(behaviour):
    sessions = []

    def open_cloud(params, name=None):
        kind = behaviour[name]
        if kind == "refused":
            from keystoneauth1 import exceptions as ks

            raise ks.ConnectFailure("Unable to establish connection to http://127.0.0.1:1/v3/auth/tokens")
        session = FakeSession(name)
        sessions.append(session)
        return session

    def gather(session, types, **kwargs):
        kind = behaviour[session.name]
        if kind == "hang":
            time.sleep(30)
        reports = []
        for rtype in types:
            report = ScopeReport(Scope(session.name, "RegionOne", rtype), keep_records=True)
            if kind == "forbidden" and rtype == "servers":
                report.fail("forbidden", "cloud %r region 'RegionOne' servers: HTTP 403 Forbidden" % session.name, 403)
            elif rtype == "servers":
                report.records.extend(record(nova_server(i, cloud=session.name), cloud=session.name) for i in range(3))
            reports.append(report)
        return reports

    return open_cloud, gather, sessions


def test_live_failures_are_isolated_per_cloud():
    behaviour = {"good": "ok", "dead": "refused", "locked": "forbidden", "slow": "hang"}
    open_cloud, gather, sessions = make_live(behaviour)
    targets = [{"name": name, "params": {"cloud": name}} for name in behaviour]
    started = time.monotonic()
    data = sources.read_live(targets, timeout=3, open_cloud=open_cloud, gather=gather)
    assert time.monotonic() - started < 20
    assert sorted({v["cloud"] for v in data.views}) == ["good"]
    assert len(data.views) == 3 and all(v["source"] == "live" and not v["stale"] for v in data.views)
    failures = {f.cloud: f for f in data.failures}
    assert sorted(failures) == ["dead", "locked", "slow"]
    assert "ConnectFailure" in str(failures["dead"]) and "'dead'" in str(failures["dead"])
    assert failures["locked"].status == "forbidden" and "403" in str(failures["locked"])
    assert failures["slow"].status == "timeout" and "3 seconds" in str(failures["slow"])
    assert any(s.name == "good" and s.closed for s in sessions)
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("cmdb-inventory-"))


def test_live_names_come_from_gathered_images_and_floating_ips():
    server = record(nova_server(1, floating=False, cloud="c"), cloud="c")
    image = record({"id": server["attributes"]["image"]["id"], "name": "ubuntu"}, "images", "c")
    fip = record(
        {
            "id": "f1",
            "floating_ip_address": "198.51.100.4",
            "port_id": "p1",
            "port_details": {"device_id": server["id"], "device_owner": "compute:nova"},
        },
        "floating_ips",
        "c",
    )
    views = sources.live_views({"servers": [server], "images": [image], "floating_ips": [fip]})
    assert views[0]["image"]["name"] == "ubuntu"
    assert views[0]["floating_ips"] == ["198.51.100.4"]


def test_read_cmdb_reads_only_what_the_view_needs_and_keeps_names_exact(store):
    """The database projects the stored Nova items to ``VIEW_ATTRIBUTES``; the views must be the same
    as from the whole items (server_view over the stored records), NUL escapes and non-ASCII included,
    on SQLite and on PostgreSQL (whose json operators refuse NUL escapes)."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
    from ansible_collections.cmdb.openstack.plugins.plugin_utils.inventory_hosts import server_view

    data = estate(4)
    hostile = nova_server(50, name="nul\x00" + "n" * 300, metadata={"k": "v\x00w", "é": "😀", "x": INJECTION})
    hostile["OS-EXT-SRV-ATTR:user_data"] = "c2VjcmV0"
    data["servers"].append(record(hostile))
    fill_cmdb(store, data)
    now = sources.utcnow()
    views = {v["id"]: v for v in sources.read_cmdb(store, now=now).views}
    assert len(views) == 5
    assert views[hostile["id"]]["name"] == hostile["name"]  # exact, not the cleaned name column
    assert views[hostile["id"]]["metadata"] == hostile["metadata"]
    res = schema.resources
    with store.read() as conn:
        rows = conn.execute(sa.select(res).where(res.c.type == "servers")).fetchall()
    with store.read() as conn:
        names = {
            (r.cloud, r.region, r.type, r.id): r.name
            for r in conn.execute(sa.select(res.c.cloud, res.c.region, res.c.type, res.c.id, res.c.name))
        }
    for row in rows:
        expected = server_view(
            {
                "cloud": row.cloud,
                "region": row.region,
                "id": row.id,
                "name": row.attributes["name"],
                "project_id": row.project_id,
                "status": row.status,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "attributes": row.attributes,
                "first_seen": row.first_seen,
                "last_seen": row.last_seen,
                "deleted_at": row.deleted_at,
                "relations": [],
            },
            names,
            now=now,
            max_age=3600,
        )
        got = dict(views[row.id])
        for key in ("last_seen", "stale"):  # the last sync run confirms last_seen (tested above)
            expected.pop(key)
            got.pop(key)
        assert got == expected
