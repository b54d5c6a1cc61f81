"""cmdb/accounts.py: the 0003 migration of the project scope, and the due logic on queries.last_ok_syncs.

Each database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts, migrations, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader, open_store
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError, StoreError

T0 = datetime.datetime(2026, 3, 1, 12, 0, 0)


def _engine(url):
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_a_0002_cmdb_is_upgraded_and_its_accounts_list_every_project(cmdb_url, monkeypatch):
    monkeypatch.setattr(migrations, "REVISIONS", migrations.REVISIONS[:2])  # the previous release
    engine = _engine(cmdb_url)
    try:
        assert migrations.upgrade(engine)[-1] == "0002_cloud_identities"
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO clouds (name, connection, regions, settings) VALUES ('old', :c, '[]', '{}')"),
                {"c": '{"cloud": "old"}'},
            )
    finally:
        engine.dispose()
    monkeypatch.undo()
    with pytest.raises(StoreError) as info:  # a reader never migrates
        open_reader(cmdb_url)
    assert "0002_cloud_identities" in info.value.message and "migrate" in info.value.message
    store = open_store(cmdb_url)  # a writer migrates
    try:
        with store.engine.connect() as conn:
            assert migrations.current_revision(conn) == migrations.HEAD == "0003_account_projects"
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
        view = accounts.public_view(accounts.get_account(store, "old"))
        assert view["all_projects"] is True and view["projects"] == []
        result = accounts.ensure_account(store, "old", projects=["p-alpha", "p-beta", "p-alpha"])
        assert result["changed"] is True
        assert result["account"]["all_projects"] is False and result["account"]["projects"] == ["p-alpha", "p-beta"]
        assert result["diff"]["before"]["all_projects"] is True
        # Options left out keep the stored scope; all_projects: true clears the list.
        assert accounts.ensure_account(store, "old", regions=["R1"])["account"]["projects"] == ["p-alpha", "p-beta"]
        back = accounts.ensure_account(store, "old", all_projects=True, projects=[])["account"]
        assert back["all_projects"] is True and back["projects"] == []
    finally:
        store.close()
    reader = open_reader(cmdb_url)
    try:
        assert accounts.get_account(reader, "old")["all_projects"] is True
    finally:
        reader.close()


def test_project_scope_validation():
    assert account_settings.validate_projects(None, None) == (None, None)
    assert account_settings.validate_projects(["a"], None) == (False, ["a"])
    assert account_settings.validate_projects([], False) == (False, [])
    assert account_settings.validate_projects(None, True) == (True, [])
    with pytest.raises(ConfigurationError, match="not both"):
        account_settings.validate_projects(["a"], True, account="x")
    with pytest.raises(ConfigurationError, match="non-empty"):
        account_settings.validate_projects([""], None)


def _run(store, type_name, region, finished, project_id=None, status="ok"):
    with store.write() as conn:
        conn.execute(
            schema.sync_runs.insert().values(
                cloud="acct",
                region=region,
                type=type_name,
                project_id=project_id,
                mode="full",
                started_at=finished - datetime.timedelta(seconds=5),
                finished_at=finished,
                status=status,
            )
        )


def test_due_logic_reads_the_one_last_successful_sync(cmdb_url):
    """Any ok run of the account's scope (every project or one project) counts; failed runs do not."""
    store = open_store(cmdb_url)
    try:
        off = {name: {"enabled": False} for name in account_settings.normalize_settings(None)}
        off.update(servers={"enabled": True, "interval": "10m"}, flavors={"enabled": True, "interval": "1h"})
        connection = account_settings.build_connection(cloud="acct")
        accounts.ensure_account(store, "acct", connection=connection, regions=["R1", "R2"], resources=off)
        assert accounts.due_types(store, "acct", now=T0) == ["servers", "flavors"]
        _run(store, "servers", "R1", T0, project_id="p1")  # a run of one project
        _run(store, "servers", "R2", T0)  # a run of every project
        _run(store, "flavors", "R1", T0)
        _run(store, "flavors", "R2", T0 + datetime.timedelta(minutes=1), status="error")  # does not count
        later = T0 + datetime.timedelta(minutes=5)
        assert accounts.due_types(store, "acct", now=later) == ["flavors"]
        assert accounts.next_due(store, "acct", now=later) == {"servers": 300, "flavors": 0}
        assert accounts.due_types(store, "acct", now=later, regions=["R1"]) == []
        assert accounts.due_types(store, "acct", now=T0 + datetime.timedelta(minutes=11)) == ["servers", "flavors"]
        assert not hasattr(accounts, "last_successful_syncs")
    finally:
        store.close()
