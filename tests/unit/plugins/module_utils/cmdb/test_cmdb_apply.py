"""The CMDB writer fed with records directly (no cloud), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from cmdb_helpers import Report, Scope, changes, count_writes, live, record, rows, snapshot, sync

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import apply, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.apply import CmdbWriter, IdDigests, content_hash


def test_create_change_delete_reappear_with_change_log(store):
    first = sync(store, [record("a"), record("b"), record("c")])
    assert first["status"] == "ok"
    assert first["counts"]["new"] == 3
    assert set(live(store)) == {"a", "b", "c"}
    assert [c["action"] for c in changes(store)] == ["created"] * 3

    changed = record("b", status="SHUTOFF", addresses={"net": [{"addr": "10.0.0.5"}]})
    second = sync(store, [record("a"), changed, record("c")])
    assert second["counts"] == dict(second["counts"], new=0, updated=1, deleted=0, reappeared=0, unchanged=2)
    log = changes(store, "b")
    assert [c["action"] for c in log] == ["created", "updated"]
    diff = log[-1]["diff"]
    assert diff["status"] == {"old": "ACTIVE", "new": "SHUTOFF"}
    assert diff["attributes.status"] == {"old": "ACTIVE", "new": "SHUTOFF"}
    assert diff["attributes.addresses"] == {"old": None, "new": {"net": [{"addr": "10.0.0.5"}]}}
    assert live(store)["b"].status == "SHUTOFF"

    third = sync(store, [record("a"), changed])
    assert third["counts"]["deleted"] == 1
    res = schema.resources
    tomb = [r for r in rows(store, res) if r["id"] == "c"]
    assert len(tomb) == 1 and tomb[0]["deleted_at"] is not None  # tombstoned, never hard deleted
    assert [c["action"] for c in changes(store, "c")] == ["created", "deleted"]

    fourth = sync(store, [record("a"), changed, record("c", name="renamed")])
    assert fourth["counts"]["reappeared"] == 1 and fourth["counts"]["new"] == 0
    log = changes(store, "c")
    assert [c["action"] for c in log] == ["created", "deleted", "reappeared"]
    assert log[-1]["diff"]["name"] == {"old": "srv-c", "new": "renamed"}
    row = live(store)["c"]
    assert row.deleted_at is None and row.name == "renamed"
    assert row.first_seen < row.last_seen
    # one row per resource, whatever happened
    assert len(rows(store, res)) == 3


def test_relations_follow_the_record(store):
    rec = record("a")
    rec["relations"].append({"relation": "ports", "target_type": "ports", "target_id": "p-1", "target_name": None})
    sync(store, [rec])
    edges = rows(store, schema.relations)
    assert sorted((e["relation"], e["target_id"]) for e in edges) == [("flavor", None), ("ports", "p-1")]
    rec["relations"] = [rec["relations"][1]]
    result = sync(store, [rec])
    assert result["counts"]["updated"] == 1
    assert [(e["relation"], e["target_id"]) for e in rows(store, schema.relations)] == [("ports", "p-1")]
    assert "relations" in changes(store, "a")[-1]["diff"]


@pytest.mark.parametrize("status", ["forbidden", "error", "auth_failed", "not_in_catalog"])
def test_failed_listing_applies_and_deletes_nothing(store, status):
    sync(store, [record("a"), record("b"), record("c")])
    before = snapshot(store)
    # a partial listing (pages arrived, then the scope failed): new and changed items are not applied
    result = sync(store, [record("a", status="ERROR"), record("z")], status=status)
    assert result["status"] == status
    assert snapshot(store) == before
    assert rows(store, schema.staging) == []
    run = next(r for r in rows(store, schema.sync_runs) if r["id"] == result["sync_run_id"])
    assert run["status"] == status and run["error"] == "boom" and run["finished_at"] is not None


def test_empty_complete_listing_is_not_swept_unless_allowed(store):
    sync(store, [record("a"), record("b")])
    before = snapshot(store)
    refused = sync(store, [])
    assert refused["status"] == "refused_empty"
    assert "allow_empty_sweep" in refused["message"]
    assert snapshot(store) == before
    allowed = sync(store, [], allow_empty_sweep=True)
    assert allowed["status"] == "ok" and allowed["counts"]["deleted"] == 2
    assert live(store) == {}


def test_an_empty_scope_stays_ok(store):
    assert sync(store, [])["status"] == "ok"


def test_no_change_resync_writes_zero_resource_and_change_rows(store):
    records = [record("r%03d" % i, flavor={"id": i}) for i in range(250)]
    sync(store, records)
    before = snapshot(store)
    with count_writes(store) as writes:
        result = sync(store, records)
    assert result["counts"]["unchanged"] == 250 and result["counts"]["new"] == 0
    # only the sync_runs bookkeeping row (insert + update) is written
    assert set(writes) == {"sync_runs"}, writes
    assert writes["sync_runs"]["statements"] == 2
    assert snapshot(store) == before


def test_check_mode_computes_changes_without_writing(store):
    sync(store, [record("a"), record("b")])
    before = snapshot(store)
    runs_before = rows(store, schema.sync_runs)
    with count_writes(store) as writes:
        result = sync(store, [record("a", status="SHUTOFF"), record("c")], check_mode=True, diff=True)
    # the apply runs in a transaction that is rolled back; no bookkeeping, no staging
    assert "sync_runs" not in writes and "staging" not in writes
    assert result["counts"] == dict(result["counts"], new=1, updated=1, deleted=1)
    actions = sorted((c["id"], c["action"]) for c in result["writer"].changes)
    assert actions == [("a", "updated"), ("b", "deleted"), ("c", "created")]
    assert snapshot(store) == before
    assert rows(store, schema.sync_runs) == runs_before


def test_incremental_mode_tombstones_deleted_servers_only(store):
    sync(store, [record("a"), record("b"), record("c")])
    result = sync(
        store,
        [record("b", status="DELETED"), record("d"), record("x", status="DELETED")],
        modes={"servers": "incremental"},
    )
    assert result["mode"] == "incremental"
    assert result["counts"]["deleted"] == 1 and result["counts"]["new"] == 1
    # "a" and "c" were not in the changes-since listing: untouched, not swept
    assert set(live(store)) == {"a", "c", "d"}
    # a server never seen that comes back DELETED is not invented as a tombstone
    assert [r for r in rows(store, schema.resources) if r["id"] == "x"] == []


def test_full_listing_with_deleted_status_sweeps_it(store):
    sync(store, [record("a"), record("b")])
    result = sync(store, [record("a"), record("b", status="DELETED")])
    assert result["counts"]["deleted"] == 1
    assert set(live(store)) == {"a"}


def test_project_scoped_sweep_leaves_other_projects(store):
    sync(store, [record("a", project="p1"), record("b", project="p2")])
    result = sync(store, [], project_id="p1", allow_empty_sweep=True)
    assert result["counts"]["deleted"] == 1
    assert set(live(store)) == {"b"}


def test_scopes_are_independent(store):
    sync(store, [record("a")], region="RegionOne")
    sync(store, [record("a"), record("b")], region="RegionTwo")
    # a complete listing of RegionOne never touches RegionTwo
    sync(store, [record("c")], region="RegionOne")
    res = schema.resources
    state = sorted((r["region"], r["id"], r["deleted_at"] is None) for r in rows(store, res))
    assert state == [
        ("RegionOne", "a", False),
        ("RegionOne", "c", True),
        ("RegionTwo", "a", True),
        ("RegionTwo", "b", True),
    ]


def test_duplicate_ids_in_one_listing_make_one_row(store):
    result = sync(store, [record("a"), record("a", status="SHUTOFF")], page_size=1)
    assert result["status"] == "ok"
    assert len(rows(store, schema.resources)) == 1
    assert [c["action"] for c in changes(store)] == ["created", "updated"]


def test_untrusted_strings_are_stored_literally(store):
    jinja = "{{ lookup('pipe', 'id') }}"
    weird = "nul\x00byte \u2603 " + "x" * 5000
    rec = record("a", name=jinja, description=weird, metadata={"{% raw %}": jinja})
    rec["status"] = "S" * 300  # longer than the column: truncated in the column, exact in attributes
    sync(store, [rec])
    row = live(store)["a"]
    assert row.name == jinja
    assert row.attributes["description"] == weird
    assert row.attributes["metadata"] == {"{% raw %}": jinja}
    assert row.status == "S" * 64
    assert row.content_hash == content_hash(rec)
    # and a resync of the same record is a no-op
    assert sync(store, [rec])["counts"]["unchanged"] == 1


def test_overlapping_writers_make_no_duplicates_and_lose_no_change_rows(store):
    """Two runs of one scope interleave page by page (no lock): every order ends consistent."""
    records = [record("o%02d" % i) for i in range(30)]
    first = CmdbWriter(store)
    second = CmdbWriter(store)
    scope = Scope("demo", "RegionOne", "servers")
    first.start(scope)
    second.start(scope)
    for i in range(0, 30, 10):
        first.page(scope, records[i : i + 10])
        second.page(scope, records[i : i + 10])
    # the later-started run finishes first; the older listing is then dropped as superseded
    second.finish(scope, Report("ok"))
    first.finish(scope, Report("ok"))
    assert second.results()[0]["status"] == "ok"
    assert first.results()[0]["status"] == "superseded"
    assert len(rows(store, schema.resources)) == 30
    assert [c["action"] for c in changes(store)] == ["created"] * 30
    assert rows(store, schema.staging) == []

    # the other order: both apply, the second one finds nothing left to do
    a, b = CmdbWriter(store), CmdbWriter(store)
    changed = [record(r["id"], status="SHUTOFF") for r in records]
    a.start(scope)
    b.start(scope)
    a.page(scope, changed)
    b.page(scope, changed)
    a.finish(scope, Report("ok"))
    b.finish(scope, Report("ok"))
    assert a.results()[0]["counts"]["updated"] == 30
    assert b.results()[0]["status"] == "ok" and b.results()[0]["counts"]["updated"] == 0
    assert [c["action"] for c in changes(store)].count("updated") == 30
    assert len(rows(store, schema.resources)) == 30


def test_large_listing_streams_through_staging(store):
    records = [record("L%05d" % i) for i in range(3000)]
    with count_writes(store) as writes:
        result = sync(store, records, page_size=1000)
    assert result["counts"]["new"] == 3000
    assert writes["staging"]["statements"] >= 3  # one small transaction per page
    assert rows(store, schema.staging) == []
    assert len(live(store)) == 3000


def test_id_digests_are_a_set_of_ids():
    ids = IdDigests()
    for rid in ["a", "b", "a", "\udcff-lone-surrogate", "x" * 300, "b"]:
        ids.add(rid)
    assert len(ids) == 4
    assert "a" in ids and "\udcff-lone-surrogate" in ids and "x" * 300 in ids
    assert "c" not in ids and "x" * 299 not in ids
    ids.add("c")  # adding after a lookup re-sorts
    assert "c" in ids and len(ids) == 5
    assert len(IdDigests()) == 0 and "a" not in IdDigests()


def test_sweep_and_lookups_work_in_chunks(store, monkeypatch):
    """Small chunks: the page lookups, the key-ordered sweep and the tombstoning span many chunks."""
    monkeypatch.setattr(apply, "LOOKUP_CHUNK", 4)
    monkeypatch.setattr(apply, "SWEEP_CHUNK", 7)
    monkeypatch.setattr(apply, "BATCH", 6)
    records = [record("s%03d" % i, project="p%d" % (i % 2)) for i in range(60)]
    assert sync(store, records, page_size=9)["counts"]["new"] == 60
    kept = [r for i, r in enumerate(records) if i % 5]
    kept[0] = record(kept[0]["id"], status="SHUTOFF", project=kept[0]["project_id"])
    result = sync(store, kept, page_size=9, diff=True)
    assert result["counts"] == dict(result["counts"], new=0, updated=1, deleted=12, unchanged=47)
    assert set(live(store)) == {r["id"] for r in kept}
    deleted = sorted(c["id"] for c in result["writer"].changes if c["action"] == "deleted")
    assert deleted == ["s%03d" % i for i in range(0, 60, 5)]
    assert all(c["name"] == "srv-%s" % c["id"] for c in result["writer"].changes if c["action"] == "deleted")
    # a project-scoped sweep only considers that project's rows, chunk after chunk
    result = sync(store, [r for r in kept if r["project_id"] == "p0"][:3], project_id="p0")
    p0_live = [r for r in kept if r["project_id"] == "p0"]
    assert result["counts"]["deleted"] == len(p0_live) - 3
    assert set(live(store)) == {r["id"] for r in kept if r["project_id"] == "p1"} | {r["id"] for r in p0_live[:3]}


def test_duplicate_id_in_one_batch_keeps_one_set_of_edges(store):
    first = record("a")
    second = record("a", status="SHUTOFF")
    second["relations"].append({"relation": "ports", "target_type": "ports", "target_id": "p-9", "target_name": None})
    result = sync(store, [first, second], page_size=1)
    assert result["counts"] == dict(result["counts"], new=1, updated=1, unchanged=0)
    edges = sorted((e["relation"], e["target_id"]) for e in rows(store, schema.relations))
    assert edges == [("flavor", None), ("ports", "p-9")]
    diff = changes(store, "a")[-1]["diff"]
    assert diff["status"] == {"old": "ACTIVE", "new": "SHUTOFF"} and "relations" in diff and "name" not in diff


def test_a_finished_scope_keeps_no_per_id_state(store):
    records = [record("k%03d" % i) for i in range(50)]
    result = sync(store, records)
    run = result["writer"].scopes[("demo", "RegionOne", "servers")]
    assert len(run.seen) == 0 and run.gone == set() and run.memory == []
    assert result["counts"]["new"] == 50
