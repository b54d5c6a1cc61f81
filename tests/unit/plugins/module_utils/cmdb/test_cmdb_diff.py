"""Change rows hold what changed, not two full copies of a big attribute (issue 19), on both backends."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from cmdb_helpers import changes, record, sync

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import diff as cmdb_diff
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import queries
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import _diff_text

BIG_METADATA = {"key-%05d" % i: "value-%05d" % i for i in range(10000)}


def stored_diff_bytes(store, rid):
    """Bytes of the JSON text of the last change row of ``rid`` as the database stores it."""
    with store.read() as conn:
        text = conn.execute(
            sa.text("SELECT CAST(diff AS TEXT) FROM changes WHERE resource_id = :r ORDER BY id DESC"), {"r": rid}
        ).first()[0]
    return len(text.encode("utf-8"))


def test_one_key_of_10000_metadata_keys_writes_a_small_change_row(store):
    sync(store, [record("big", metadata=dict(BIG_METADATA))])
    changed = dict(BIG_METADATA, **{"key-04242": "changed"})
    result = sync(store, [record("big", metadata=changed)], diff=True)
    assert result["counts"]["updated"] == 1

    row_bytes = stored_diff_bytes(store, "big")
    assert row_bytes < 200, row_bytes  # two copies of the metadata were about 400 KB
    expected = {"old": {"key-04242": "value-04242"}, "new": {"key-04242": "changed"}, "partial": True}
    assert changes(store, "big")[-1]["diff"] == {"attributes.metadata": expected}
    # what cmdb_info returns and what the diff mode of cmdb_sync prints
    assert queries.find_changes(store, resource_ids=["big"])[-1]["diff"] == {"attributes.metadata": expected}
    text = _diff_text(result["writer"].changes, 0)
    assert "attributes.metadata: {'key-04242': 'value-04242'} -> {'key-04242': 'changed'}" in text

    # an added and a removed key: each side holds only its own
    fewer = dict(changed)
    del fewer["key-00001"]
    fewer["new-key"] = "x"
    sync(store, [record("big", metadata=fewer)])
    assert changes(store, "big")[-1]["diff"]["attributes.metadata"] == {
        "old": {"key-00001": "value-00001"},
        "new": {"new-key": "x"},
        "partial": True,
    }
    assert stored_diff_bytes(store, "big") < 200


def test_one_character_of_a_2_mb_description_writes_a_small_change_row(store):
    before = "".join("line %06d of a very long description\n" % i for i in range(55000))
    assert len(before) > 2 * 1000 * 1000
    middle = len(before) // 2
    after = before[:middle] + "#" + before[middle + 1 :]
    sync(store, [record("doc", description=before)])
    result = sync(store, [record("doc", description=after)], diff=True)
    assert result["counts"]["updated"] == 1

    row_bytes = stored_diff_bytes(store, "doc")
    assert row_bytes < 1500, row_bytes  # two copies were 4 MB
    entry = changes(store, "doc")[-1]["diff"]["attributes.description"]
    summary = entry["summary"]
    assert summary["old_length"] == summary["new_length"] == len(before)
    assert summary["old_sha256"] == hashlib.sha256(before.encode()).hexdigest()
    assert summary["new_sha256"] == hashlib.sha256(after.encode()).hexdigest()
    offset = summary["offset"]
    assert offset <= middle < offset + len(entry["new"])
    assert entry["old"] == before[offset : offset + len(entry["old"])]
    assert entry["new"] == after[offset : offset + len(entry["new"])]
    assert entry["new"][middle - offset] == "#" and entry["old"][middle - offset] == before[middle]
    assert len(entry["old"]) <= cmdb_diff.EXCERPT
    text = _diff_text(result["writer"].changes, 0)
    assert "    attributes.description: %r -> %r" % (entry["old"], entry["new"]) in text


def test_small_changes_keep_their_whole_values():
    diff = {
        "status": {"old": "ACTIVE", "new": "SHUTOFF"},
        "attributes.addresses": {"old": None, "new": {"net": [{"addr": "10.0.0.5"}]}},
        "attributes.tags": {"old": ["a"], "new": ["a", "b"]},
        "attributes.description": {"old": "short", "new": "shorter"},
    }
    assert cmdb_diff.compact_diff(diff) == diff
    assert cmdb_diff.compact_diff(None) is None and cmdb_diff.compact_diff({}) == {}


def test_dicts_keep_changed_keys_bounded_and_relations_keep_changed_edges():
    old = {"k%04d" % i: i for i in range(500)}
    new = {"k%04d" % i: i + 1 for i in range(500)}
    entry = cmdb_diff.compact_diff({"attributes.metadata": {"old": old, "new": new}})["attributes.metadata"]
    assert len(entry["old"]) == len(entry["new"]) == cmdb_diff.MAX_ITEMS
    assert entry["omitted"] == 500 - cmdb_diff.MAX_ITEMS and entry["partial"] is True
    assert list(entry["new"])[:2] == ["k0000", "k0001"]

    flavor = {"old": {"original_name": "m1.small", "ram": 2048}, "new": {"original_name": "m1.large", "ram": 2048}}
    assert cmdb_diff.compact_diff({"attributes.flavor": flavor})["attributes.flavor"] == {
        "old": {"original_name": "m1.small"},
        "new": {"original_name": "m1.large"},
        "partial": True,
    }

    keep = {"relation": "flavor", "target_type": "flavors", "target_id": None, "target_name": "m1.small"}
    gone = {"relation": "ports", "target_type": "ports", "target_id": "p-1", "target_name": None}
    came = {"relation": "ports", "target_type": "ports", "target_id": "p-2", "target_name": None}
    entry = cmdb_diff.compact_diff({"relations": {"old": [keep, gone], "new": [keep, came]}})["relations"]
    assert entry == {"old": [gone], "new": [came], "partial": True}


def test_other_big_values_become_lengths_and_hashes():
    tags = ["tag-%05d" % i for i in range(2000)]
    entry = cmdb_diff.compact_diff({"attributes.tags": {"old": ["a"], "new": tags}})["attributes.tags"]
    text = json.dumps(tags, sort_keys=True, separators=(",", ":"))
    assert entry == {
        "old": ["a"],
        "new": None,
        "summary": {"new_length": len(text), "new_sha256": hashlib.sha256(text.encode()).hexdigest()},
    }
    # a long value inside a changed dict key
    entry = cmdb_diff.compact_diff({"attributes.metadata": {"old": {"a": "x"}, "new": {"a": "y" * 10000}}})
    assert entry["attributes.metadata"]["new"]["a"]["summary"]["length"] == 10002
    assert len(json.dumps(entry)) < 400


def test_text_excerpts_of_unequal_lengths_and_edges():
    old = "a" * 10000
    for new in ("b" + old, old + "b", old[:5000] + "XYZ" + old[5000:], old[:-1], "c" * 9000):
        entry = cmdb_diff.compact_diff({"f": {"old": old, "new": new}})["f"]
        offset = entry["summary"]["offset"]
        assert old[offset : offset + len(entry["old"])] == entry["old"]
        assert new[offset : offset + len(entry["new"])] == entry["new"]
        assert entry["old"] != entry["new"]
        assert len(entry["old"]) <= cmdb_diff.EXCERPT and len(entry["new"]) <= cmdb_diff.EXCERPT
