"""Cloud identity, the migration that stores it, one "last successful sync", casefolded names, and a
purge that takes the sync locks (issues 17 and 19). Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cmdb_helpers import changes, live, record, sync

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import identity, migrations, queries, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store, utcnow
from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_sources

ALICE = {
    "auth_url": "https://keystone.example.com:5000",
    "project_id": "p-alpha",
    "project_domain_id": "default",
    "user_id": "u-alice",
    "application_credential_id": None,
}
BOB = dict(ALICE, project_id="p-beta", user_id="u-bob")


def test_a_cmdb_of_the_previous_release_is_upgraded_in_place(cmdb_url, monkeypatch):
    # the previous release: only the first revision
    monkeypatch.setattr(migrations, "REVISIONS", migrations.REVISIONS[:1])
    engine = sa.create_engine(cmdb_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        assert migrations.upgrade(engine) == ["0001_initial"]
        with engine.begin() as conn:
            assert not sa.inspect(conn).has_table("cloud_identities")
            conn.execute(
                sa.text(
                    "INSERT INTO resources (cloud, region, type, id, name, content_hash, first_seen, last_seen) "
                    "VALUES ('demo', 'RegionOne', 'servers', 's1', 'web-1', 'h', :now, :now)"
                ).bindparams(sa.bindparam("now", type_=sa.DateTime())),  # SQLAlchemy's type, not sqlite3's adapter
                {"now": utcnow()},
            )
    finally:
        engine.dispose()
    monkeypatch.undo()

    store = open_store(cmdb_url)  # what the next cmdb_sync does
    try:
        with store.engine.connect() as conn:
            assert migrations.current_revision(conn) == migrations.HEAD == "0003_account_projects"
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
        assert [r["id"] for r in queries.find_resources(store)] == ["s1"]
        assert identity.check_identity(store, "demo", ALICE) is None  # the new table works
        assert identity.stored_identity(store, "demo")["identity"]["user_id"] == "u-alice"
    finally:
        store.close()


def test_identity_is_recorded_compared_and_changed_only_when_accepted(store):
    assert identity.check_identity(store, "demo", ALICE, check_mode=True) is None
    assert identity.stored_identity(store, "demo") is None  # check mode writes nothing
    assert identity.check_identity(store, "demo", ALICE) is None
    first = identity.stored_identity(store, "demo")
    assert first["fingerprint"] == identity.fingerprint(ALICE) and first["identity"] == ALICE
    # the same identity, spelled differently (trailing /v3/, case of the host): the same cloud
    same = dict(ALICE, auth_url="https://KEYSTONE.example.com:5000/v3/")
    normalized = dict(same, auth_url=identity.normalize_auth_url(same["auth_url"]))
    assert identity.check_identity(store, "demo", normalized) is None
    assert identity.check_identity(store, "other", BOB) is None  # another name: its own identity

    with pytest.raises(identity.IdentityChanged) as info:
        identity.check_identity(store, "demo", BOB)
    message = info.value.message
    assert "p-alpha" in message and "u-alice" in message and "p-beta" in message and "u-bob" in message
    assert "another name" in message and "accept_identity_change: true" in message
    assert identity.stored_identity(store, "demo")["fingerprint"] == first["fingerprint"]

    warning = identity.check_identity(store, "demo", BOB, accept_change=True)
    assert "accepted" in warning and "p-alpha" in warning and "p-beta" in warning
    assert identity.stored_identity(store, "demo")["identity"] == BOB
    assert identity.check_identity(store, "demo", BOB) is None
    assert [i["cloud"] for i in queries.find_identities(store)] == ["demo", "other"]


def test_normalize_auth_url():
    assert identity.normalize_auth_url("https://Keystone:5000/v3/") == "https://keystone:5000"
    assert identity.normalize_auth_url("http://h/identity/v3") == "http://h/identity"
    assert identity.normalize_auth_url("http://h/identity/V2.0") == "http://h/identity"


def test_name_filter_matches_non_ascii_letters_the_same_on_both_backends(store):
    # Cyrillic letters are written as escapes (they look like Latin ones)
    names = ["Ünïcødé-Server", "ünïcødé-db", "Straße-1", "\u0421\u0415\u0420\u0412\u0415\u0420-7", "plain-web", "ÉCOLE"]
    sync(store, [record(str(i), name=name) for i, name in enumerate(names)])

    def found(*patterns, **kwargs):
        return sorted(r["name"] for r in queries.find_resources(store, name=list(patterns), **kwargs))

    assert found("ünïcødé-*") == ["Ünïcødé-Server", "ünïcødé-db"]
    assert found("ÜNÏCØDÉ-SERVER") == ["Ünïcødé-Server"]
    assert found("\u0441\u0435\u0440\u0432\u0435\u0440-?") == ["\u0421\u0415\u0420\u0412\u0415\u0420-7"]
    assert found("strasse-1") == ["Straße-1"]  # casefold: ß is ss
    assert found("école", "PLAIN-*") == ["plain-web", "ÉCOLE"]
    assert found("%") == [] and found("*-_") == []  # SQL wildcards are literal
    assert len(found("*", limit=2)) == 2


def test_inventory_and_cmdb_info_share_one_last_successful_sync(store):
    # a full sync of every project, then a sync of project p1 only
    sync(store, [record("a", project="p1"), record("b", project="p2")], cloud="demo", modes={"servers": "full"})
    time.sleep(1.1)
    sync(store, [record("a", project="p1")], cloud="demo", project_id="p1")
    time.sleep(1.1)
    info = {r["id"]: r["last_seen"] for r in queries.find_resources(store, types=["servers"])}
    views = {v["id"]: v["last_seen"] for v in inventory_sources.read_cmdb(store, max_age=0).views}
    assert views == info
    # b (project p2) was last confirmed by the first run, a by the second
    assert info["b"] < info["a"]
    with store.read() as conn:
        last_ok = queries.last_ok_syncs(conn, ["demo"])
    assert set(last_ok) == {("demo", "RegionOne", "servers", None), ("demo", "RegionOne", "servers", "p1")}


def _wait_for_lock(store, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.read() as conn:
            if conn.execute(sa.select(schema.locks.c.name).where(schema.locks.c.name == name)).first():
                return True
        time.sleep(0.05)
    return False


def test_purge_waits_for_a_sync_of_its_scope_and_never_deletes_a_row_it_revives(store, cmdb_url, os_simulator):
    cloud = os_simulator.add_cloud(name="demo", regions=("RegionOne",), seed=4, servers=6, projects=2)
    params = {
        "cloud": dict(cloud.clouds_yaml_entry(user="admin"), name="demo"),
        "cmdb_url": cmdb_url,
        "types": ["servers"],
        "full_sync_interval": 0,
    }
    first = identity.run_cmdb_sync(dict(params))
    assert not first.get("failed") and first["totals"]["new"] == 6
    victim = sorted(live(store))[0]
    first_seen = live(store)[victim].first_seen
    # the item was marked deleted two days ago (say a page went missing); it is still in the cloud
    res = schema.resources
    with store.write() as conn:
        conn.execute(res.update().where(res.c.id == victim).values(deleted_at=utcnow() - datetime.timedelta(days=2)))
    # the next sync lists slowly: a purge starts while it holds its scope
    cloud.faults.add(kind="latency", service="compute", path="/servers/detail", delay=3, times=1)
    outcome = {}

    def run():
        outcome["sync"] = identity.run_cmdb_sync(dict(params))

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert _wait_for_lock(store, "sync:demo/RegionOne/servers")
        started = time.monotonic()
        purged = queries.purge(store, 86400, lock_timeout=60)
        waited = time.monotonic() - started
    finally:
        thread.join(60)
    assert not outcome["sync"].get("failed"), outcome["sync"].get("msg")
    assert outcome["sync"]["totals"]["reappeared"] == 1
    assert purged["resources"] == 0  # the sync revived it before the purge could look
    assert waited > 1.0  # the purge waited for the sync's lock
    assert victim in live(store) and live(store)[victim].first_seen == first_seen
    assert [c["action"] for c in changes(store, victim)][-1] == "reappeared"


def test_purge_gives_up_naming_the_sync_that_holds_the_scope(store):
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import LeaseLock
    from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError

    sync(store, [record("a"), record("b")])
    sync(store, [record("a")])  # b tombstoned
    holder = LeaseLock(store, ["sync:demo/RegionOne/servers"]).acquire(timeout=5)
    try:
        later = utcnow() + datetime.timedelta(days=30)
        with pytest.raises(StoreError, match=r"another sync holds the lock sync:demo/RegionOne/servers"):
            queries.purge(store, 86400, now=later, lock_timeout=1)
        assert "b" in {row.id for row in _all(store)}
    finally:
        holder.release()
    assert queries.purge(store, 86400, now=later, lock_timeout=1)["resources"] == 1
    assert "b" not in {row.id for row in _all(store)}


def _all(store):
    with store.read() as conn:
        return conn.execute(sa.select(schema.resources)).fetchall()
