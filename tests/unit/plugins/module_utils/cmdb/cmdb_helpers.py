"""Helpers for the CMDB unit tests: records, a fake gather report, table snapshots, write counting."""

from __future__ import annotations

import contextlib
from collections import namedtuple

import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import apply, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.apply import CmdbWriter

Scope = namedtuple("Scope", "cloud region type")


class Report:
    def __init__(self, status="ok", message=None, http_status=None):
        self.status = status
        self.message = message
        self.http_status = http_status


def record(rid, name=None, status="ACTIVE", project="p1", rtype="servers", **attrs):
    attributes = {"id": rid, "name": name if name is not None else "srv-%s" % rid, "status": status}
    attributes.update(attrs)
    return {
        "id": rid,
        "name": attributes["name"],
        "type": rtype,
        "cloud": "demo",
        "region": "RegionOne",
        "project_id": project,
        "status": status,
        "created_at": "2026-11-23T11:44:48Z",
        "updated_at": "2026-11-23T11:44:56Z",
        "attributes": attributes,
        "relations": [{"relation": "flavor", "target_type": "flavors", "target_id": None, "target_name": "m1.small"}],
    }


def sync(store, records, status="ok", rtype="servers", region="RegionOne", cloud="demo", page_size=100, **kwargs):
    """Feed ``records`` through a CmdbWriter as gather would; return the scope result."""
    writer = CmdbWriter(store, **kwargs)
    scope = Scope(cloud, region, rtype)
    writer.start(scope)
    for i in range(0, len(records), page_size):
        writer.page(scope, records[i : i + page_size])
    writer.finish(scope, Report(status, message=None if status == "ok" else "boom", http_status=None))
    result = writer.results()[0]
    result["writer"] = writer
    return result


def rows(store, table, order_by=None):
    with store.read() as conn:
        query = sa.select(table)
        if order_by is not None:
            query = query.order_by(*order_by)
        return [dict(r._mapping) for r in conn.execute(query)]


def snapshot(store):
    """Every data table's content (what must survive a failed or killed run unchanged)."""
    return {
        "resources": rows(store, schema.resources, [schema.resources.c.type, schema.resources.c.id]),
        "relations": rows(store, schema.relations, [schema.relations.c.id]),
        "changes": rows(store, schema.changes, [schema.changes.c.id]),
    }


def live(store, rtype="servers"):
    res = schema.resources
    with store.read() as conn:
        return {r.id: r for r in conn.execute(sa.select(res).where(res.c.type == rtype, res.c.deleted_at.is_(None)))}


def changes(store, rid=None):
    ch = schema.changes
    query = sa.select(ch).order_by(ch.c.id)
    if rid is not None:
        query = query.where(ch.c.resource_id == rid)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


@contextlib.contextmanager
def count_writes(store):
    """Count INSERT/UPDATE/DELETE statements (and rows) per table while the block runs.

    On PostgreSQL bulk inserts are ``COPY`` through the driver (no SQLAlchemy cursor event): they
    are counted by wrapping ``apply.copy_rows`` (one statement, ``len(rows)`` rows).
    """
    counts = {}
    original_copy = apply.copy_rows

    def counting_copy(conn, table, rows_):
        entry = counts.setdefault(table.name, {"statements": 0, "rows": 0})
        entry["statements"] += 1
        entry["rows"] += len(rows_)
        return original_copy(conn, table, rows_)

    def after(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 3)
        verb = head[0].upper() if head else ""
        if verb not in ("INSERT", "UPDATE", "DELETE"):
            return
        table = head[2] if verb in ("INSERT", "DELETE") else head[1]
        table = table.strip('"').split("(")[0]
        entry = counts.setdefault(table, {"statements": 0, "rows": 0})
        entry["statements"] += 1
        entry["rows"] += max(cursor.rowcount, 0)

    sa.event.listen(store.engine, "after_cursor_execute", after)
    apply.copy_rows = counting_copy
    try:
        yield counts
    finally:
        apply.copy_rows = original_copy
        sa.event.remove(store.engine, "after_cursor_execute", after)
