"""Opening, migrating and locking the CMDB; SIGKILL in the middle of a write; bad databases."""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cmdb_helpers import changes, live, record, rows, snapshot, sync
from support.paths import COLLECTIONS_DIR

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import migrations, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import (
    LeaseLock,
    lock_owner,
    open_store,
    resolve_url,
    utcnow,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import discard_leftovers
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError

HERE = os.path.dirname(os.path.abspath(__file__))


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([COLLECTIONS_DIR, HERE, env.get("PYTHONPATH", "")])
    return env


def test_migrated_database_matches_schema_and_reopen_is_idempotent(store, cmdb_url):
    with store.engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.HEAD
        diffs = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diffs == []
    assert migrations.upgrade(store.engine) == []
    again = open_store(cmdb_url)
    with again.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    again.close()


def test_sqlite_uses_wal(tmp_path):
    store = open_store("sqlite:///%s" % (tmp_path / "w.sqlite"))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    store.close()


def test_default_url_expands_home_and_creates_directories(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CMDB_URL", raising=False)
    assert resolve_url(None).startswith("sqlite:///~/")
    store = open_store(None)
    path = tmp_path / ".local" / "share" / "cmdb.openstack" / "cmdb.sqlite"
    assert path.is_file()
    assert str(path) in store.url
    store.close()
    monkeypatch.setenv("CMDB_URL", "sqlite:///%s" % (tmp_path / "env.sqlite"))
    open_store(None).close()
    assert (tmp_path / "env.sqlite").is_file()


def test_concurrent_first_opens_migrate_once(cmdb_url):
    code = "from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store\n"
    code += "open_store(%r).close()\n" % cmdb_url
    command = [sys.executable, "-c", code]
    procs = [subprocess.Popen(command, env=_child_env(), stderr=subprocess.PIPE) for _i in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    store = open_store(cmdb_url)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [migrations.HEAD]
    store.close()


@pytest.mark.parametrize(
    "url, words",
    [
        ("not a url", "not a valid database URL"),
        ("mysql://user@localhost/cmdb", "supports SQLite and PostgreSQL"),
        ("sqlite://", "names no SQLite file"),
        ("postgresql+psycopg://cmdb:S3cretMarker@127.0.0.1:1/cmdb", "cannot open the CMDB"),
    ],
)
def test_bad_urls_give_one_clear_error(url, words):
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert words in info.value.message
    assert "S3cretMarker" not in info.value.message
    assert "\n" not in info.value.message


def test_corrupt_sqlite_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "corrupt.sqlite"
    garbage = b"this is not a database" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        open_store("sqlite:///%s" % path)
    assert "not an SQLite database or is corrupt" in info.value.message
    assert path.read_bytes() == garbage
    assert not (tmp_path / "corrupt.sqlite-wal").exists() or (tmp_path / "corrupt.sqlite-wal").stat().st_size == 0


def test_read_only_sqlite_file_is_reported_and_left_alone(tmp_path):
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="cmdb-ro-"))  # reachable by an unprivileged user
    os.chmod(tmp_path, 0o755)
    path = tmp_path / "ro.sqlite"
    store = open_store("sqlite:///%s" % path)
    sync(store, [record("a")])
    store.close()
    for extra in ("-wal", "-shm"):
        if os.path.exists(str(path) + extra):
            os.remove(str(path) + extra)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    os.chmod(tmp_path, 0o555)
    code = textwrap.dedent(
        """
        import os, sys
        import sqlite3
        import sqlalchemy.dialects.sqlite.pysqlite
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
        from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError
        from cmdb_helpers import record, sync
        # store imports migrations lazily; import it while the collection is still readable
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import migrations  # noqa: F401
        if os.getuid() == 0:  # root writes anywhere: drop to nobody so that the mode bits count
            os.setgid(65534); os.setuid(65534)
        try:
            store = open_store(sys.argv[1])
            sync(store, [record("b")])
        except StoreError as exc:
            print(exc.message)
            sys.exit(3)
        """
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, "sqlite:///%s" % path],
            env=_child_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        os.chmod(tmp_path, 0o755)
        os.chmod(path, 0o644)
        after = path.read_bytes()
        shutil.rmtree(tmp_path)
    if "Permission denied" in proc.stderr and "python" in proc.stderr.lower():
        pytest.skip("the unprivileged user cannot run this virtualenv's python")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "read-only" in proc.stdout or "readonly" in proc.stdout or "unable to open" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert after == before


def test_lease_lock_excludes_waits_and_takes_over_dead_owners(store):
    first = LeaseLock(store, ["sync:demo/RegionOne/servers"]).acquire(timeout=1)
    second = LeaseLock(store, ["sync:demo/RegionOne/servers", "sync:demo/RegionOne/images"])
    with pytest.raises(StoreError) as info:
        second.acquire(timeout=0.6, poll=0.2)
    assert "another sync holds the lock sync:demo/RegionOne/servers" in info.value.message
    # all or nothing: the free lock was not kept either
    assert [r["name"] for r in rows(store, schema.locks)] == ["sync:demo/RegionOne/servers"]
    first.release()
    second.acquire(timeout=1)
    second.renew(force=True)
    second.release()
    assert rows(store, schema.locks) == []

    # a SIGKILLed holder on this host (its pid is gone) is taken over at once
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    far = utcnow().replace(year=utcnow().year + 1)
    with store.write() as conn:
        conn.execute(
            schema.locks.insert().values(
                name="sync:demo/RegionOne/servers",
                owner="%s:%d:dead" % (socket.gethostname(), dead.pid),
                acquired_at=utcnow(),
                expires_at=far,
            )
        )
    LeaseLock(store, ["sync:demo/RegionOne/servers"]).acquire(timeout=0.5).release()

    # an expired lease of another host is taken over too; a live one is not
    with store.write() as conn:
        conn.execute(
            schema.locks.insert().values(
                name="sync:x/R/servers", owner="otherhost:1:x", acquired_at=utcnow(), expires_at=utcnow()
            )
        )
    LeaseLock(store, ["sync:x/R/servers"]).acquire(timeout=0.5).release()
    with store.write() as conn:
        conn.execute(
            schema.locks.insert().values(
                name="sync:x/R/servers", owner="otherhost:1:x", acquired_at=utcnow(), expires_at=far
            )
        )
    with pytest.raises(StoreError):
        LeaseLock(store, ["sync:x/R/servers"]).acquire(timeout=0.3, poll=0.1)


KILL_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import sqlalchemy as sa
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store, lock_owner
    from cmdb_helpers import record, sync

    url, phase, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = open_store(url)
    seen = {"staging": 0}

    def after(conn, cursor, statement, parameters, context, executemany):
        text = statement.lstrip().upper()
        if phase == "apply" and (text.startswith("UPDATE RESOURCES") or text.startswith("INSERT INTO RESOURCES")):
            os.kill(os.getpid(), signal.SIGKILL)  # rows of the apply are written, not committed
        if phase == "staging" and text.startswith("INSERT INTO STAGING"):
            seen["staging"] += 1
            if seen["staging"] == 3:
                os.kill(os.getpid(), signal.SIGKILL)

    sa.event.listen(store.engine, "after_cursor_execute", after)
    records = [record("k%05d" % i, status="SHUTOFF") for i in range(200, total)]
    records += [record("n%05d" % i) for i in range(500)]
    sync(store, records, page_size=500, owner=lock_owner())
    print("not killed")
    """
)


@pytest.mark.parametrize("phase", ["staging", "apply"])
def test_sigkill_mid_write_leaves_previous_state_and_next_sync_completes(store, cmdb_url, phase):
    total = 3000
    sync(store, [record("k%05d" % i) for i in range(total)], page_size=1000)
    before = snapshot(store)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_CHILD, cmdb_url, phase, str(total)],
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stdout + proc.stderr
    # the previous state is whole: same rows, same change log, nothing half-applied
    assert snapshot(store) == before
    if cmdb_url.startswith("sqlite"):
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert [r["status"] for r in rows(store, schema.sync_runs)][-1] == "running"
    assert rows(store, schema.staging) != []  # the killed run's leftovers...

    owner = lock_owner()
    stale = discard_leftovers(store, "demo", ["RegionOne"], ["servers"], owner)
    assert len(stale) == 1
    assert rows(store, schema.staging) == []  # ...are discarded by the next run
    assert rows(store, schema.sync_runs)[-1]["status"] == "aborted"

    records = [record("k%05d" % i, status="SHUTOFF") for i in range(200, total)]
    records += [record("n%05d" % i) for i in range(500)]
    result = sync(store, records, page_size=1000, owner=owner)
    assert result["status"] == "ok"
    assert result["counts"] == dict(result["counts"], new=500, updated=total - 200, deleted=200)
    assert len(live(store)) == total - 200 + 500
    log = changes(store)
    assert len(log) == total + 500 + (total - 200) + 200
    assert len({(c["resource_id"], c["action"]) for c in log}) == len(log)  # no duplicated change rows


def test_read_only_open_checks_the_schema_revision_without_alembic(tmp_path, cmdb_url):
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import store as store_module

    assert store_module.SCHEMA_HEAD == migrations.HEAD
    # a database that cmdb_sync never filled: one clear error, nothing created
    if cmdb_url.startswith("sqlite"):
        empty = tmp_path / "empty.sqlite"
        sa.create_engine("sqlite:///%s" % empty).connect().close()
        url = "sqlite:///%s" % empty
    else:
        url = cmdb_url
    with pytest.raises(StoreError, match=r"not a CMDB of cmdb\.openstack .*cmdb_sync"):
        open_store(url, migrate=False)
    # a current CMDB opens; an unknown (newer) revision is named
    open_store(url).close()
    store = open_store(url, migrate=False)
    store.close()
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    with pytest.raises(StoreError, match=r"0099_future.*upgrade the collection"):
        open_store(url, migrate=False)
    store.engine.dispose()


def test_read_only_open_imports_no_alembic(tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    open_store(url).close()
    code = textwrap.dedent(
        """
        import sys
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
        open_store(sys.argv[1], migrate=False).close()
        print(sorted(m for m in sys.modules if m.split(".")[0] == "alembic" or m.endswith("cmdb.migrations")))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, url], env=_child_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
