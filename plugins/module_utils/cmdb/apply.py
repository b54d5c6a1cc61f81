# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The streaming CMDB writer: a ``gather`` consumer that stages pages and applies complete listings.

Per scope (cloud, region, type):

``start``  creates the ``sync_runs`` row (status ``running``) and loads the scope's current
           ``id -> (content hash, deleted)`` map (keys and hashes only, never whole records).
``page``   hashes each record; only records that are new, changed or tombstoned are written to the
           ``staging`` table (one small transaction per page). Seen ids are kept in a set for the
           sweep. A no-change listing therefore stages nothing.
``finish`` when the listing finished ``ok``: ONE transaction inserts new items, updates changed ones
           (with a field-level diff in the change log), revives reappeared ones, tombstones the
           ones that disappeared (``deleted_at``; never a hard delete), rewrites their relation
           edges, marks the run ``ok`` and clears its staging rows. Any other status applies
           nothing and deletes nothing; the staged rows are dropped.

A SIGKILL at any moment leaves the previous state whole: staging rows are not data, and the apply
is one transaction. Leftover staging rows of a killed run are discarded by the next run of that
scope (``discard_leftovers``). In check mode nothing is written: staging is kept in memory and the
apply transaction is rolled back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import traceback

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
    SQLALCHEMY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False
    SQLALCHEMY_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import utcnow

ENVELOPE = ("name", "project_id", "status", "created_at", "updated_at")
#: Statuses meaning "this item is gone" (Nova lists deleted servers for admins in changes-since).
GONE_STATUSES = {"servers": frozenset(["DELETED"])}
#: Statuses of a scope whose listing was applied.
APPLIED = ("ok", "refused_empty")
BATCH = 500
_MISSING = object()


class _Rollback(Exception):
    pass


def content_hash(record):
    """SHA-256 of the record's content (envelope fields, attributes, relations): what "changed" means."""
    content = {key: record.get(key) for key in ENVELOPE}
    content["attributes"] = record.get("attributes")
    content["relations"] = _relations_of(record)
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def exact_name(type_name, stored, attributes):
    """The name exactly as the API returned it: the ``name`` column is a cleaned, searchable copy
    (NUL replaced, length capped), the item in ``attributes`` keeps the original."""
    if isinstance(attributes, dict):
        rtype = catalog.RESOURCE_TYPES.get(type_name)
        value = attributes.get(rtype.fields["name"] if rtype else "name")
        if isinstance(value, str):
            return value
    return stored


def clean_text(value, limit=None):
    """A string column value: NUL and lone surrogates replaced (PostgreSQL text cannot hold them).

    The exact value always stays in the ``attributes`` JSON; these columns are searchable copies.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    if limit is not None and len(value) > limit:
        value = value[:limit]
    return value


def _relations_of(record):
    edges = []
    for edge in record.get("relations") or ():
        edges.append(
            {
                "relation": edge.get("relation"),
                "target_type": edge.get("target_type"),
                "target_id": edge.get("target_id"),
                "target_name": edge.get("target_name"),
            }
        )
    return edges


def _edge_key(edge):
    return tuple(
        "" if edge.get(k) is None else str(edge.get(k)) for k in ("relation", "target_type", "target_id", "target_name")
    )


def field_diff(old_row, old_edges, record):
    """``{field: {"old": ..., "new": ...}}`` for envelope fields, ``attributes.<key>`` and ``relations``."""
    diff = {}
    for key in ENVELOPE:
        old = old_row.get(key)
        new = _column_value(key, record.get(key))
        if old != new:
            diff[key] = {"old": old, "new": new}
    old_attrs = old_row.get("attributes") or {}
    new_attrs = record.get("attributes") or {}
    if isinstance(old_attrs, dict) and isinstance(new_attrs, dict):
        for key in sorted(set(old_attrs) | set(new_attrs), key=str):
            old = old_attrs.get(key, _MISSING)
            new = new_attrs.get(key, _MISSING)
            if old != new:
                diff["attributes.%s" % key] = {
                    "old": None if old is _MISSING else old,
                    "new": None if new is _MISSING else new,
                }
    elif old_attrs != new_attrs:
        diff["attributes"] = {"old": old_attrs, "new": new_attrs}
    new_edges = _relations_of(record)
    if sorted(map(_edge_key, old_edges)) != sorted(map(_edge_key, new_edges)):
        diff["relations"] = {"old": old_edges, "new": new_edges}
    return diff


_LIMITS = {"name": None, "project_id": schema.NAME_LEN, "status": schema.TYPE_LEN}


def _column_value(key, value):
    return clean_text(value, _LIMITS.get(key, schema.TYPE_LEN))


class ScopeRun:
    """State of one scope during a sync (keys and hashes only)."""

    def __init__(self, cloud, region, rtype, mode):
        self.cloud = cloud
        self.region = region
        self.type = rtype
        self.mode = mode
        self.run_id = None
        self.started_at = None
        self.known = {}
        self.seen = set()
        self.gone = set()
        self.staged = 0
        self.memory = []
        self.status = "running"
        self.message = None
        self.http_status = None
        self.counts = {"new": 0, "updated": 0, "deleted": 0, "reappeared": 0, "unchanged": 0, "listed": 0}

    @property
    def key(self):
        return (self.cloud, self.region, self.type)

    def result(self):
        return {
            "cloud": self.cloud,
            "region": self.region,
            "type": self.type,
            "mode": self.mode,
            "status": self.status,
            "message": self.message,
            "http_status": self.http_status,
            "counts": dict(self.counts),
            "sync_run_id": self.run_id,
        }


class CmdbWriter:
    """The consumer ``gather`` feeds (``start``/``page``/``finish``, on the calling thread).

    ``cloud``: the CMDB cloud name (an account name) used instead of ``scope.cloud`` when given.
    ``modes``: ``{type: "full" | "incremental"}`` (default full). ``project_id``: the run lists one
    project only; the sweep then only considers that project's items (types without a project
    filter, such as flavors, are swept whole). ``heartbeat``: called on every callback (lease renewal).
    """

    def __init__(
        self,
        store,
        cloud=None,
        modes=None,
        project_id=None,
        allow_empty_sweep=False,
        check_mode=False,
        diff=False,
        owner=None,
        heartbeat=None,
        max_diff_items=1000,
        unscoped_types=("flavors",),
    ):
        self.store = store
        self.cloud = cloud
        self.modes = modes or {}
        self.project_id = project_id
        self.allow_empty_sweep = allow_empty_sweep
        self.check_mode = check_mode
        self.diff = diff
        self.owner = owner
        self.heartbeat = heartbeat
        self.max_diff_items = max_diff_items
        self.unscoped_types = frozenset(unscoped_types)
        self.scopes = {}
        self.order = []
        self.changes = []
        self.changes_truncated = 0

    # -- consumer interface ---------------------------------------------------------------
    def _key(self, scope):
        cloud = self.cloud or scope.cloud
        return (cloud, scope.region, scope.type)

    def start(self, scope):
        key = self._key(scope)
        run = ScopeRun(key[0], key[1], key[2], self.modes.get(scope.type, "full"))
        self.scopes[key] = run
        self.order.append(key)
        self._beat()
        run.started_at = utcnow()
        res = schema.resources
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(res.c.id, res.c.content_hash, res.c.deleted_at).where(
                    res.c.cloud == run.cloud, res.c.region == run.region, res.c.type == run.type
                )
            )
            run.known = {row.id: (row.content_hash, row.deleted_at is not None) for row in rows}
        if not self.check_mode:
            with self.store.write() as conn:
                run.run_id = conn.execute(
                    schema.sync_runs.insert().values(
                        cloud=run.cloud,
                        region=run.region,
                        type=run.type,
                        project_id=self.project_id,
                        mode=run.mode,
                        started_at=run.started_at,
                        status="running",
                        owner=self.owner,
                    )
                ).inserted_primary_key[0]
        return run

    def page(self, scope, records):
        run = self.scopes[self._key(scope)]
        self._beat()
        gone_statuses = GONE_STATUSES.get(run.type, ())
        rows = []
        for record in records:
            rid = str(record["id"])
            run.counts["listed"] += 1
            if record.get("status") in gone_statuses:
                run.gone.add(rid)
                run.seen.discard(rid)
                continue
            run.seen.add(rid)
            run.gone.discard(rid)
            digest = content_hash(record)
            known = run.known.get(rid)
            if known is not None and known[0] == digest and not known[1]:
                continue
            rows.append(
                {
                    "sync_run_id": run.run_id or 0,
                    "cloud": run.cloud,
                    "region": run.region,
                    "type": run.type,
                    "resource_id": rid,
                    "content_hash": digest,
                    "record": record,
                }
            )
        if not rows:
            return
        run.staged += len(rows)
        if self.check_mode:
            run.memory.extend(rows)
            return
        with self.store.write() as conn:
            conn.execute(schema.staging.insert(), rows)

    def finish(self, scope, report):
        run = self.scopes[self._key(scope)]
        self._beat()
        status = getattr(report, "status", "error")
        run.message = getattr(report, "message", None)
        run.http_status = getattr(report, "http_status", None)
        if status == "ok":
            self._apply(run)
        else:
            run.status = status
            self._close_failed(run)
        return run

    # -- results ----------------------------------------------------------------------------
    def results(self):
        return [self.scopes[key].result() for key in self.order]

    def abort_unfinished(self, message):
        """Close every scope that started but never finished (the gatherer raised)."""
        for key in self.order:
            run = self.scopes[key]
            if run.status == "running":
                run.status = "error"
                run.message = message
                self._close_failed(run)

    # -- internals ----------------------------------------------------------------------------
    def _beat(self):
        if self.heartbeat is not None:
            self.heartbeat()

    def _close_failed(self, run):
        run.memory = []
        if self.check_mode or run.run_id is None:
            return
        with self.store.write() as conn:
            if run.staged:
                conn.execute(schema.staging.delete().where(schema.staging.c.sync_run_id == run.run_id))
            conn.execute(
                schema.sync_runs.update()
                .where(schema.sync_runs.c.id == run.run_id)
                .values(
                    status=run.status,
                    finished_at=utcnow(),
                    error=clean_text(run.message),
                    counts={"listed": run.counts["listed"]},
                )
            )

    def _iter_staged(self, conn, run):
        if self.check_mode:
            for i in range(0, len(run.memory), BATCH):
                yield run.memory[i : i + BATCH]
            return
        stg = schema.staging
        last = 0
        while True:
            rows = conn.execute(
                sa.select(stg.c.seq, stg.c.resource_id, stg.c.content_hash, stg.c.record)
                .where(stg.c.sync_run_id == run.run_id, stg.c.seq > last)
                .order_by(stg.c.seq)
                .limit(BATCH)
            ).fetchall()
            if not rows:
                return
            last = rows[-1].seq
            yield [{"resource_id": r.resource_id, "content_hash": r.content_hash, "record": r.record} for r in rows]

    def _superseded(self, conn, run):
        runs = schema.sync_runs
        newer = conn.execute(
            sa.select(runs.c.id)
            .where(
                runs.c.cloud == run.cloud,
                runs.c.region == run.region,
                runs.c.type == run.type,
                runs.c.status.in_(APPLIED),
                runs.c.id != run.run_id,
                sa.or_(
                    runs.c.started_at > run.started_at,
                    sa.and_(runs.c.started_at == run.started_at, runs.c.id > run.run_id),
                ),
                sa.or_(runs.c.project_id.is_(None), runs.c.project_id == self.project_id)
                if self.project_id
                else runs.c.project_id.is_(None),
            )
            .limit(1)
        ).first()
        return newer is not None

    def _apply(self, run):
        try:
            with self.store.write() as conn:
                self.store.lock_scope_for_apply(conn, run.cloud, run.region, run.type)
                if not self.check_mode and self._superseded(conn, run):
                    run.status = "superseded"
                    run.message = "a newer sync of this scope was applied meanwhile; this listing was dropped"
                    self._finish_run(conn, run)
                else:
                    self._apply_in(conn, run)
                    self._finish_run(conn, run)
                if self.check_mode:
                    raise _Rollback()
        except _Rollback:
            pass
        run.memory = []

    def _finish_run(self, conn, run):
        if self.check_mode:
            return
        if run.staged:
            conn.execute(schema.staging.delete().where(schema.staging.c.sync_run_id == run.run_id))
        conn.execute(
            schema.sync_runs.update()
            .where(schema.sync_runs.c.id == run.run_id)
            .values(status=run.status, finished_at=utcnow(), counts=run.counts, error=clean_text(run.message))
        )

    def _apply_in(self, conn, run):
        res = schema.resources
        now = utcnow()
        scope_filter = (res.c.cloud == run.cloud, res.c.region == run.region, res.c.type == run.type)
        current = {}
        for row in conn.execute(
            sa.select(res.c.id, res.c.content_hash, res.c.deleted_at, res.c.project_id).where(*scope_filter)
        ):
            current[row.id] = [row.content_hash, row.deleted_at is not None, row.project_id]
        counts = run.counts
        for batch in self._iter_staged(conn, run):
            self._apply_batch(conn, run, batch, current, now)
        # The sweep: what a complete listing did not return is gone (tombstoned, never deleted).
        if run.mode == "incremental":
            doomed = sorted(rid for rid in run.gone if rid in current and not current[rid][1])
        else:
            in_scope = self._sweep_project_filter(run)
            live = [rid for rid, (_h, deleted, proj) in current.items() if not deleted and in_scope(proj)]
            doomed = sorted(rid for rid in live if rid not in run.seen)
            if live and not run.seen and not self.allow_empty_sweep:
                run.status = "refused_empty"
                run.message = (
                    "the listing came back empty while the CMDB has %d live items; nothing was marked "
                    "deleted (set allow_empty_sweep: true if they are really gone)" % len(live)
                )
                doomed = []
        if doomed:
            self._tombstone(conn, run, doomed, current, now)
        counts["unchanged"] = max(0, len(run.seen) - counts["new"] - counts["updated"] - counts["reappeared"])
        if run.status == "running":
            run.status = "ok"

    def _sweep_project_filter(self, run):
        project = self.project_id
        if project is None or run.type in self.unscoped_types:
            return lambda _proj: True
        return lambda proj: proj == project

    def _apply_batch(self, conn, run, batch, current, now):
        res = schema.resources
        rel = schema.relations
        # Rows we need the old content of (for the diff): existing ones whose hash differs.
        need_old = sorted(
            {
                item["resource_id"]
                for item in batch
                if item["resource_id"] in current and current[item["resource_id"]][0] != item["content_hash"]
            }
        )
        old_rows = {}
        old_edges = {}
        if need_old:
            for row in conn.execute(
                sa.select(res).where(
                    res.c.cloud == run.cloud, res.c.region == run.region, res.c.type == run.type, res.c.id.in_(need_old)
                )
            ):
                old_rows[row.id] = dict(row._mapping)
            for row in conn.execute(
                sa.select(rel).where(
                    rel.c.cloud == run.cloud,
                    rel.c.region == run.region,
                    rel.c.source_type == run.type,
                    rel.c.source_id.in_(need_old),
                )
            ):
                old_edges.setdefault(row.source_id, []).append(
                    {
                        "relation": row.relation,
                        "target_type": row.target_type,
                        "target_id": row.target_id,
                        "target_name": row.target_name,
                    }
                )
        inserts, updates, change_rows, edge_sources, edges = [], [], [], [], []
        for item in batch:
            rid = item["resource_id"]
            record = item["record"]
            digest = item["content_hash"]
            cur = current.get(rid)
            values = {
                "name": _column_value("name", record.get("name")),
                "project_id": _column_value("project_id", record.get("project_id")),
                "status": _column_value("status", record.get("status")),
                "created_at": _column_value("created_at", record.get("created_at")),
                "updated_at": _column_value("updated_at", record.get("updated_at")),
                "attributes": record.get("attributes"),
                "content_hash": digest,
                "last_seen": now,
                "deleted_at": None,
            }
            if cur is None:
                row = dict(values, cloud=run.cloud, region=run.region, type=run.type, id=rid, first_seen=now)
                inserts.append(row)
                action, diff = "created", None
                current[rid] = [digest, False, values["project_id"]]
            elif cur[1]:
                diff = None
                if cur[0] != digest:
                    diff = field_diff(old_rows.get(rid, {}), old_edges.get(rid, []), record) or None
                updates.append(dict(values, b_id=rid))
                action = "reappeared"
                current[rid] = [digest, False, values["project_id"]]
            elif cur[0] != digest:
                diff = field_diff(old_rows.get(rid, {}), old_edges.get(rid, []), record)
                updates.append(dict(values, b_id=rid))
                action = "updated"
                current[rid] = [digest, False, values["project_id"]]
            else:
                continue  # staged against an older view, but identical now
            run.counts["new" if action == "created" else action] += 1
            change_rows.append(
                {
                    "sync_run_id": run.run_id,
                    "cloud": run.cloud,
                    "region": run.region,
                    "type": run.type,
                    "resource_id": rid,
                    "action": action,
                    "diff": diff,
                    "at": now,
                }
            )
            self._note_change(run, rid, values["name"], action, diff)
            if action != "created":
                edge_sources.append(rid)
            for edge in _relations_of(record):
                edges.append(
                    {
                        "cloud": run.cloud,
                        "region": run.region,
                        "source_type": run.type,
                        "source_id": rid,
                        "relation": clean_text(edge["relation"], schema.TYPE_LEN) or "",
                        "target_type": clean_text(edge["target_type"], schema.TYPE_LEN),
                        "target_id": clean_text(edge["target_id"], schema.NAME_LEN),
                        "target_name": clean_text(edge["target_name"]),
                    }
                )
        if inserts:
            conn.execute(res.insert(), inserts)
        if updates:
            conn.execute(
                res.update().where(
                    res.c.cloud == run.cloud,
                    res.c.region == run.region,
                    res.c.type == run.type,
                    res.c.id == sa.bindparam("b_id"),
                ),
                updates,
            )
        if edge_sources:
            conn.execute(
                rel.delete().where(
                    rel.c.cloud == run.cloud,
                    rel.c.region == run.region,
                    rel.c.source_type == run.type,
                    rel.c.source_id.in_(edge_sources),
                )
            )
        if edges:
            conn.execute(rel.insert(), edges)
        if change_rows:
            conn.execute(schema.changes.insert(), change_rows)

    def _tombstone(self, conn, run, doomed, current, now):
        res = schema.resources
        names = {}
        for i in range(0, len(doomed), BATCH):
            chunk = doomed[i : i + BATCH]
            if self.diff:
                for row in conn.execute(
                    sa.select(res.c.id, res.c.name).where(
                        res.c.cloud == run.cloud,
                        res.c.region == run.region,
                        res.c.type == run.type,
                        res.c.id.in_(chunk),
                    )
                ):
                    names[row.id] = row.name
            conn.execute(
                res.update()
                .where(
                    res.c.cloud == run.cloud,
                    res.c.region == run.region,
                    res.c.type == run.type,
                    res.c.id.in_(chunk),
                    res.c.deleted_at.is_(None),
                )
                .values(deleted_at=now)
            )
            conn.execute(
                schema.changes.insert(),
                [
                    {
                        "sync_run_id": run.run_id,
                        "cloud": run.cloud,
                        "region": run.region,
                        "type": run.type,
                        "resource_id": rid,
                        "action": "deleted",
                        "diff": None,
                        "at": now,
                    }
                    for rid in chunk
                ],
            )
            for rid in chunk:
                current[rid][1] = True
                self._note_change(run, rid, names.get(rid), "deleted", None)
        run.counts["deleted"] += len(doomed)

    @staticmethod
    def _scope(run):
        res = schema.resources
        return (res.c.cloud == run.cloud, res.c.region == run.region, res.c.type == run.type)

    def _note_change(self, run, rid, name, action, diff):
        if not self.diff:
            return
        if len(self.changes) >= self.max_diff_items:
            self.changes_truncated += 1
            return
        self.changes.append(
            {
                "cloud": run.cloud,
                "region": run.region,
                "type": run.type,
                "id": rid,
                "name": name,
                "action": action,
                "diff": diff,
            }
        )
