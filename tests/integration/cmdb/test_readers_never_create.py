"""Readers open the CMDB read-only: a missing file is an error naming the URL, nothing is created or migrated."""

from __future__ import annotations

import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import migrations
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader, open_store


def test_cmdb_info_and_permissions_info_on_a_missing_path_fail_and_create_nothing(ansible, tmp_path):
    missing_dir = tmp_path / "nowhere"
    path = missing_dir / "cmdb.sqlite"
    url = "sqlite:///%s" % path
    info = ansible.module("cmdb_info", {"cmdb_url": url})
    assert info.result["failed"] is True
    assert str(path) in info.result["msg"] and "does not exist" in info.result["msg"]
    assert "cmdb.openstack.cloud_account" in info.result["msg"] and "cmdb.openstack.cmdb_sync" in info.result["msg"]
    perm = ansible.module("cloud_permissions_info", {"account": "prod", "cmdb_url": url})
    assert perm.result["failed"] is True
    assert str(path) in perm.result["msg"] and "does not exist" in perm.result["msg"]
    report = ansible.module("cmdb_report", {"cmdb_url": url, "path": str(tmp_path / "r.html")})
    assert report.result["failed"] is True and str(path) in report.result["msg"]
    assert not missing_dir.exists()
    assert not (tmp_path / "r.html").exists()


def test_a_reader_never_migrates_an_empty_or_old_database(ansible, tmp_path):
    empty = tmp_path / "empty.sqlite"
    sa.create_engine("sqlite:///%s" % empty).connect().close()  # an SQLite file without our schema
    before = empty.read_bytes()
    info = ansible.module("cmdb_info", {"cmdb_url": "sqlite:///%s" % empty})
    assert info.result["failed"] is True
    assert "not a CMDB of cmdb.openstack" in info.result["msg"] and str(empty) in info.result["msg"]
    assert empty.read_bytes() == before
    engine = sa.create_engine("sqlite:///%s" % empty)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()

    old = tmp_path / "old.sqlite"
    engine = sa.create_engine("sqlite:///%s" % old)
    original = migrations.REVISIONS
    try:
        migrations.REVISIONS = original[:2]  # the previous release: 0002
        assert migrations.upgrade(engine) == ["0001_initial", "0002_cloud_identities"]
    finally:
        migrations.REVISIONS = original
        engine.dispose()
    info = ansible.module("cmdb_info", {"cmdb_url": "sqlite:///%s" % old})
    assert info.result["failed"] is True
    assert "0002_cloud_identities" in info.result["msg"] and "run a writer once to migrate" in info.result["msg"]
    engine = sa.create_engine("sqlite:///%s" % old)
    try:
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == "0002_cloud_identities"
            assert "all_projects" not in [c["name"] for c in sa.inspect(conn).get_columns("clouds")]
    finally:
        engine.dispose()
    # A writer migrates it; then readers read it.
    open_store("sqlite:///%s" % old).close()
    open_reader("sqlite:///%s" % old).close()
    ok = ansible.module("cmdb_info", {"cmdb_url": "sqlite:///%s" % old})
    assert not ok.result.get("failed"), ok.output[-3000:]


def test_open_reader_masks_the_postgresql_password(tmp_path):
    import pytest

    from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError

    with pytest.raises(StoreError) as info:
        open_reader("postgresql://cmdb:Sup3rS3cret@127.0.0.1:1/cmdb")
    assert "Sup3rS3cret" not in info.value.message and "127.0.0.1" in info.value.message
