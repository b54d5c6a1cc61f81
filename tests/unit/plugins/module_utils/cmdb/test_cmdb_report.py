"""cmdb.report on SQLite and PostgreSQL: trends walked back through the change log, waste rules."""

from __future__ import annotations

import datetime

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import report, schema

NOW = datetime.datetime(2026, 12, 6, 12, 0, 0)


def _server(rid, status, deleted_at=None, updated_at="2026-12-01T00:00:00Z"):
    return {
        "cloud": "demo",
        "region": "RegionOne",
        "type": "servers",
        "id": rid,
        "name": rid,
        "project_id": "p1",
        "status": status,
        "created_at": "2026-11-01T00:00:00Z",
        "updated_at": updated_at,
        "attributes": {"id": rid, "name": rid},
        "content_hash": "x",
        "first_seen": NOW - datetime.timedelta(days=5),
        "last_seen": NOW,
        "deleted_at": deleted_at,
    }


def _change(rid, action, days_ago, diff=None):
    return {
        "cloud": "demo",
        "region": "RegionOne",
        "type": "servers",
        "resource_id": rid,
        "action": action,
        "diff": diff,
        "at": NOW - datetime.timedelta(days=days_ago),
    }


def test_server_status_trend_and_counts_walk_back_exactly(store):
    with store.write() as conn:
        conn.execute(
            schema.resources.insert(),
            [
                _server(
                    "a", "SHUTOFF", updated_at="2026-10-01T00:00:00Z"
                ),  # created ACTIVE 3 days ago, SHUTOFF since 1
                _server("b", "ACTIVE"),  # created 2 days ago
                _server("c", "ERROR", deleted_at=NOW - datetime.timedelta(days=1)),  # created 4 days ago, deleted 1 ago
            ],
        )
        conn.execute(
            schema.changes.insert(),
            [
                _change("c", "created", 4),
                _change("a", "created", 3),
                _change("b", "created", 2),
                _change("a", "updated", 1, {"status": {"old": "ACTIVE", "new": "SHUTOFF"}}),
                _change("c", "deleted", 1),
            ],
        )
    data = report.build_report(store, now=NOW, trend_days=6, waste_days=30)
    trends = data["trends"]
    assert trends["days"][-1] == "2026-12-06" and len(trends["days"]) == 6
    # days: 12-01 .. 12-06 (4 days ago = 12-02)
    assert trends["types"]["servers"] == [0, 1, 2, 3, 2, 2]
    assert trends["server_status"] == {
        "ACTIVE": [0, 0, 1, 2, 1, 1],
        "ERROR": [0, 1, 1, 1, 0, 0],
        "SHUTOFF": [0, 0, 0, 0, 1, 1],
    }
    assert data["now"]["regions"] == [["demo", "RegionOne", "servers", 2, None]]
    shutoff = next(k for k in data["waste"]["kinds"] if k["kind"] == "servers_shutoff")
    assert shutoff["total"] == 1 and shutoff["rows"][0][3] == "a" and shutoff["rows"][0][7] == 66.5
