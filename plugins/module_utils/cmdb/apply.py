# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The streaming CMDB writer: a ``gather`` consumer that stages pages and applies complete listings.

Per scope (cloud, region, type):

``start``  creates the ``sync_runs`` row (status ``running``).
``page``   hashes each record and looks the page's ids up in ``resources`` (one indexed query per
           page, never a map of the whole scope); only records that are new, changed or
           tombstoned are written to the ``staging`` table (one small transaction per page). The
           listed ids are remembered for the sweep as 128-bit digests in two ``array``s (16 bytes
           per id, no Python object per id). A no-change listing therefore stages nothing.
``finish`` when the listing finished ``ok``: ONE transaction applies the staged rows batch by batch
           (each batch reads the current rows of its own ids): it inserts new items, updates
           changed ones (with a field-level diff in the change log), revives reappeared ones,
           rewrites their relation edges; then the sweep streams the scope's live ids in key order
           (chunks) and tombstones the ones the listing did not return (``deleted_at``; never a
           hard delete), marks the run ``ok`` and clears its staging rows. Any other status
           applies nothing and deletes nothing; the staged rows are dropped.

Memory is therefore a few pages plus 16 bytes per listed id, whatever the size of the scope.

A SIGKILL at any moment leaves the previous state whole: staging rows are not data, and the apply
is one transaction. Leftover staging rows of a killed run are discarded by the next run of that
scope (``discard_leftovers``). In check mode nothing is written: staging is kept in memory and the
apply transaction is rolled back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import array
import bisect
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
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.diff import compact_diff
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.normalize import is_partial

ENVELOPE = ("name", "project_id", "status", "created_at", "updated_at")
#: Statuses meaning "this item is gone" (Nova lists deleted servers for admins in changes-since).
GONE_STATUSES = dict(
    (rtype.name, frozenset(rtype.gone_statuses)) for rtype in catalog.RESOURCE_TYPES.values() if rtype.gone_statuses
)
#: Statuses of a scope whose listing was applied (``inconsistent``, ``refused_mass_deletion``:
#: applied, but nothing was marked deleted).
APPLIED = ("ok", "refused_empty", "inconsistent", "refused_mass_deletion")
#: Confirmation GETs per scope and run (the rest of the missing items wait for the next run).
DEFAULT_MAX_CONFIRMATIONS = 200
#: A scope where more than this share of the live items, and more than MASS_MIN_ITEMS items, vanish
#: at once is swept only when every one of them is confirmed gone within the bound.
MASS_SHARE = 0.5
MASS_MIN_ITEMS = 10
#: Ids named in a message.
MESSAGE_IDS = 5
BATCH = 500
#: Ids per ``IN (...)`` list (SQLite's default limit of bound parameters is 32766, older ones 999).
LOOKUP_CHUNK = 500
#: Ids per chunk of the sweep's key-ordered scan of the live rows.
SWEEP_CHUNK = 5000
_MISSING = object()


def bulk_insert(conn, table, rows):
    """Insert ``rows`` (dicts with the same keys) into ``table`` inside the connection's transaction.

    PostgreSQL: one ``COPY ... FROM STDIN`` (psycopg 3) instead of an ``executemany`` that sends and
    executes one INSERT per row; it is the same transaction, so a failure or a kill still rolls
    everything back. SQLite: ``executemany`` (sqlite3 loops in C; there is no network round trip).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        copy_rows(conn, table, rows)
    else:
        conn.execute(table.insert(), rows)


def copy_rows(conn, table, rows):
    """``COPY table (columns) FROM STDIN`` of ``rows``; JSON columns are serialized as SQLAlchemy's
    ``JSON`` type does it (``json.dumps``, Python None as JSON ``null``)."""
    columns = list(rows[0])
    as_json = [isinstance(table.c[name].type, sa.JSON) for name in columns]
    quote = conn.dialect.identifier_preparer.quote
    statement = "COPY %s (%s) FROM STDIN" % (quote(table.name), ", ".join(quote(name) for name in columns))
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [json.dumps(row[name]) if is_json else row[name] for name, is_json in zip(columns, as_json)]
                )


class IdDigests:
    """A set of ids kept as 128-bit BLAKE2b digests in two ``array('Q')`` (16 bytes per id).

    ``add`` appends (duplicates allowed); ``freeze`` sorts and de-duplicates (a transient list of
    ints, once per scope); then ``len`` is the number of distinct ids and ``in`` a binary search.
    A collision of two ids' 128-bit digests is as unlikely as one of the SHA-256 content hashes the
    CMDB already trusts to mean "unchanged".
    """

    __slots__ = ("_frozen", "_hi", "_lo")

    def __init__(self):
        self._hi = array.array("Q")
        self._lo = array.array("Q")
        self._frozen = True

    @staticmethod
    def _digest(rid):
        value = int.from_bytes(hashlib.blake2b(rid.encode("utf-8", "surrogatepass"), digest_size=16).digest(), "big")
        return value >> 64, value & 0xFFFFFFFFFFFFFFFF

    def add(self, rid):
        high, low = self._digest(rid)
        self._hi.append(high)
        self._lo.append(low)
        self._frozen = False

    def freeze(self):
        if self._frozen:
            return self
        keys = sorted((high << 64) | low for high, low in zip(self._hi, self._lo))
        self._hi = array.array("Q")
        self._lo = array.array("Q")
        previous = None
        for key in keys:
            if key != previous:
                self._hi.append(key >> 64)
                self._lo.append(key & 0xFFFFFFFFFFFFFFFF)
                previous = key
        self._frozen = True
        return self

    def __len__(self):
        self.freeze()
        return len(self._hi)

    def __contains__(self, rid):
        self.freeze()
        high, low = self._digest(rid)
        index = bisect.bisect_left(self._hi, high)
        while index < len(self._hi) and self._hi[index] == high:
            if self._lo[index] == low:
                return True
            index += 1
        return False


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


def _some(ids):
    """The first few ids of a list, for a message."""
    text = ", ".join(str(rid) for rid in ids[:MESSAGE_IDS])
    if len(ids) > MESSAGE_IDS:
        text += ", ..."
    return text


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


def _unique_parts(batch):
    """Split a staged batch into consecutive parts in which every id occurs once (a listing may
    return an id twice: the second occurrence is then applied against the first one's result)."""
    part, ids = [], set()
    for item in batch:
        if item["resource_id"] in ids:
            yield part
            part, ids = [], set()
        part.append(item)
        ids.add(item["resource_id"])
    if part:
        yield part


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
        # ids listed (for the sweep; duplicates allowed until frozen) and ids whose last listed
        # status means "gone" (a DELETED server): released when the scope finishes
        self.seen = IdDigests()
        self.gone = set()
        self.staged = 0
        self.memory = []
        self.status = "running"
        self.message = None
        self.http_status = None
        self.counts = {
            "new": 0,
            "updated": 0,
            "deleted": 0,
            "reappeared": 0,
            "unchanged": 0,
            "listed": 0,
            "partial": 0,
            "unconfirmed": 0,
            "confirmations": 0,
        }
        # the sweep: None = every live row the listing did not return (no proof asked: tests and
        # fakes without a cloud); else the ids proven gone
        self.doomed = None
        self.sweep_project = None  # the sweep only considers this project's rows (token visibility)
        self.foreign = False  # the listing returned an item of a project other than the token's
        self.warnings = []

    @property
    def key(self):
        return (self.cloud, self.region, self.type)

    def release(self):
        """Drop the per-id state of a finished scope (only counts and status stay for the result)."""
        self.seen = IdDigests()
        self.gone = set()
        self.memory = []
        self.doomed = None

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
            "warnings": list(self.warnings),
        }


class CmdbWriter:
    """The consumer ``gather`` feeds (``start``/``page``/``finish``, on the calling thread).

    ``cloud``: the CMDB cloud name (an account name) used instead of ``scope.cloud`` when given.
    ``modes``: ``{type: "full" | "incremental"}`` (default full). ``project_id``: the run lists one
    project only; the sweep then only considers that project's items (types without a project
    filter, such as flavors, are swept whole). ``heartbeat``: called on every callback (lease renewal).

    ``confirm(region, type, ids)`` -> ``{id: (verdict, detail)}`` (``gather.Confirmer.confirm``):
    an item a complete listing did not return is tombstoned only when its GET says ``gone`` (404);
    ``present`` makes the scope ``inconsistent`` (nothing of it is swept); anything else leaves it
    live until a later run. At most ``max_confirmations`` GETs per scope and run. Without
    ``confirm`` the listing is trusted (fakes and tests that have no cloud to ask).

    ``token_project``: the project of the token. ``limited_visibility``: the token cannot list
    every project (no admin role): only the token's project is swept, types without a project
    not at all. A listing of every project that returns only the token's project's items while
    the CMDB holds live items of other projects is treated the same way.
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
        confirm=None,
        max_confirmations=DEFAULT_MAX_CONFIRMATIONS,
        token_project=None,
        limited_visibility=False,
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
        self.confirm = confirm
        self.max_confirmations = max(0, int(max_confirmations))
        self.token_project = token_project
        self.limited_visibility = bool(limited_visibility)
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
        rtype = catalog.RESOURCE_TYPES.get(run.type)
        check_partial = rtype is not None and bool(rtype.partial_statuses or rtype.complete_keys)
        own = self.token_project
        listed = []
        for record in records:
            rid = str(record["id"])
            run.counts["listed"] += 1
            if record.get("status") in gone_statuses:
                run.gone.add(rid)
                continue
            run.seen.add(rid)
            if run.gone:
                run.gone.discard(rid)
            if check_partial and is_partial(rtype, record):
                # A server of a cell that is down: it exists (not swept), but what the CMDB holds
                # stays as it is (never overwritten, never a change).
                run.counts["partial"] += 1
                continue
            if own is not None and not run.foreign:
                project = record.get("project_id")
                if project is not None and project != own:
                    run.foreign = True
            listed.append((rid, record))
        if not listed:
            return
        known = self._lookup(run, sorted(set(rid for rid, _record in listed)))
        rows = []
        for rid, record in listed:
            digest = content_hash(record)
            if known.get(rid) == digest:
                continue  # stored, live and identical: nothing to stage
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

    def _rows_by_id(self, conn, run, columns, ids, live_only=False):
        """Rows (``columns`` of ``resources``) of this scope whose id is in ``ids``.

        PostgreSQL: one index probe per id (``unnest`` + ``LATERAL ... OFFSET 0``). A plain
        ``id IN (...)`` is planned from the table's statistics, which lag behind during a load
        (rows inserted by the running transaction are not in them): the planner then scans the
        whole scope on the (cloud, region, type) prefix of the key and filters the ids, once per
        batch. SQLite plans ``IN`` on the full key by itself.
        """
        res = schema.resources
        if conn.dialect.name != "postgresql":
            conditions = list(self._scope(run)) + [res.c.id.in_(ids)]
            if live_only:
                conditions.append(res.c.deleted_at.is_(None))
            return conn.execute(sa.select(*columns).where(*conditions))
        # Here, not at the top: the engine has loaded the dialect by now, and readers of a SQLite
        # CMDB (the inventory plugin) do not pay ~45 ms for importing it.
        from sqlalchemy.dialects import postgresql

        keys = (
            sa.func.unnest(sa.cast(sa.bindparam("ids", list(ids)), postgresql.ARRAY(sa.Text())))
            .table_valued("key")
            .render_derived(name="k")
        )
        conditions = list(self._scope(run)) + [res.c.id == keys.c.key]
        if live_only:
            conditions.append(res.c.deleted_at.is_(None))
        names = [column.name for column in columns]
        probe = sa.select(*[res.c[name] for name in names]).where(*conditions).offset(0).lateral("r")
        statement = sa.select(*[probe.c[name] for name in names]).select_from(keys).join(probe, sa.true())
        return conn.execute(statement)

    def _lookup(self, run, ids):
        """``{id: content_hash}`` of the live stored rows among ``ids`` (one indexed query per chunk)."""
        res = schema.resources
        known = {}
        with self.store.read() as conn:
            for i in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[i : i + LOOKUP_CHUNK]
                for row in self._rows_by_id(conn, run, (res.c.id, res.c.content_hash), chunk, live_only=True):
                    known[row.id] = row.content_hash
        return known

    def finish(self, scope, report):
        run = self.scopes[self._key(scope)]
        self._beat()
        status = getattr(report, "status", "error")
        run.message = getattr(report, "message", None)
        run.http_status = getattr(report, "http_status", None)
        try:
            if status == "ok":
                self._apply(run)
                if run.counts["partial"]:
                    run.warnings.append(
                        "%s/%s/%s: %d record(s) came back partial (status %s or usual fields missing: a cell "
                        "down?); what the CMDB holds for them was kept"
                        % (
                            run.cloud,
                            run.region,
                            run.type,
                            run.counts["partial"],
                            "/".join(catalog.RESOURCE_TYPES[run.type].partial_statuses) or "unknown",
                        )
                    )
            else:
                run.status = status
                self._close_failed(run)
        finally:
            run.release()
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
                try:
                    self._close_failed(run)
                finally:
                    run.release()

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
        if run.mode != "incremental":
            self._prove(run)
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
        now = utcnow()
        counts = run.counts
        for batch in self._iter_staged(conn, run):
            for part in _unique_parts(batch):
                self._apply_batch(conn, run, part, now)
        # The sweep: what a complete listing did not return is gone (tombstoned, never deleted).
        seen = run.seen.freeze()
        # ids listed live (their last listed status was not a "gone" one)
        listed_live = len(seen) - sum(1 for rid in run.gone if rid in seen)
        if run.mode == "incremental":
            # Nova's changes-since lists deleted servers with status DELETED: that is the proof.
            gone = sorted(run.gone)
            for i in range(0, len(gone), LOOKUP_CHUNK):
                self._tombstone(conn, run, self._live_among(conn, run, gone[i : i + LOOKUP_CHUNK]), now)
        elif run.status != "running":
            pass  # refused or inconsistent (see _prove): nothing of this scope is swept
        elif run.doomed is None:
            gone = run.gone
            for ids in self._live_ids(conn, run):
                doomed = [rid for rid in ids if rid in gone or rid not in seen]
                if doomed:
                    self._tombstone(conn, run, doomed, now)
        else:
            doomed = sorted(run.doomed)
            for i in range(0, len(doomed), LOOKUP_CHUNK):
                self._tombstone(conn, run, self._live_among(conn, run, doomed[i : i + LOOKUP_CHUNK]), now)
        counts["unchanged"] = max(
            0, listed_live - counts["new"] - counts["updated"] - counts["reappeared"] - counts["partial"]
        )
        if run.status == "running":
            run.status = "ok"

    def _sweep_filter(self, run):
        """Conditions of the rows a complete listing of this run accounts for (live, in its project)."""
        res = schema.resources
        conditions = list(self._scope(run)) + [res.c.deleted_at.is_(None)]
        project = self.project_id if self.project_id is not None else run.sweep_project
        if project is not None and run.type not in self.unscoped_types:
            conditions.append(res.c.project_id == project)
        return conditions

    # -- proof before a tombstone ------------------------------------------------------------
    def _prove(self, run):
        """Decide what the sweep of a complete listing may tombstone, before the apply transaction.

        Sets ``run.doomed`` (ids proven gone), or a status (``refused_empty``, ``inconsistent``,
        ``refused_mass_deletion``) under which nothing of the scope is swept. The confirmation
        GETs run here, outside any CMDB transaction, and only for ids the listing did not return:
        a listing that returned every live item makes no call.
        """
        seen = run.seen.freeze()
        listed_live = len(seen) - sum(1 for rid in run.gone if rid in seen)
        if not self._visibility(run, listed_live):
            run.doomed = []
            return
        with self.store.read() as conn:
            live = self._count_live(conn, run)
            if not listed_live and live and not self.allow_empty_sweep:
                run.status = "refused_empty"
                run.message = (
                    "the listing came back empty while the CMDB has %d live items; nothing was marked "
                    "deleted (set allow_empty_sweep: true if they are really gone)" % live
                )
                return
            if self.confirm is None:
                return  # trusted listing: the sweep takes every live row it did not return
            doomed, candidates, missing = [], [], 0
            gone = run.gone
            for ids in self._live_ids(conn, run):
                for rid in ids:
                    if rid in gone:
                        doomed.append(rid)  # listed with a status that means gone: its own proof
                    elif rid not in seen:
                        missing += 1
                        if len(candidates) < self.max_confirmations:
                            candidates.append(rid)
        run.doomed = doomed
        if not missing:
            return
        where = "%s/%s/%s" % (run.cloud, run.region, run.type)
        mass = missing > MASS_MIN_ITEMS and missing > MASS_SHARE * live
        if mass and missing > len(candidates):
            self._refuse_mass(run, missing, live, "more than max_delete_confirmations=%d" % self.max_confirmations)
            return
        verdicts = self.confirm(run.region, run.type, candidates) if candidates else {}
        run.counts["confirmations"] = len(candidates)
        present, unknown, proven = [], [], []
        for rid in candidates:
            verdict, detail = verdicts.get(rid) or ("unknown", "no answer")
            if verdict == "gone":
                proven.append(rid)
            elif verdict == "present":
                present.append(rid)
            else:
                unknown.append((rid, detail))
        if present:
            run.doomed = []
            run.status = "inconsistent"
            run.message = (
                "%d item(s) missing from the listing are still served by the API (%s): the listing was "
                "incomplete; nothing of this scope was marked deleted" % (len(present), _some(present))
            )
            return
        if mass and (unknown or missing > len(proven)):
            self._refuse_mass(run, missing, live, "%d of them could not be confirmed gone" % (missing - len(proven)))
            return
        doomed.extend(proven)
        pending = missing - len(proven)
        if pending:
            run.counts["unconfirmed"] = pending
            reasons = []
            if unknown:
                reasons.append(
                    "%d unconfirmed (%s)" % (len(unknown), "; ".join("%s: %s" % pair for pair in unknown[:MESSAGE_IDS]))
                )
            if missing > len(candidates):
                reasons.append(
                    "%d over max_delete_confirmations=%d" % (missing - len(candidates), self.max_confirmations)
                )
            run.warnings.append(
                "%s: %d item(s) missing from the listing stay live until a GET proves them gone (HTTP 404): %s; "
                "the next run tries again" % (where, pending, ", ".join(reasons))
            )

    def _refuse_mass(self, run, missing, live, why):
        run.doomed = []
        run.status = "refused_mass_deletion"
        run.message = (
            "%d of %d live items are missing from the listing (%s): so large a share is marked deleted only "
            "when every one is confirmed gone; nothing was marked deleted" % (missing, live, why)
        )

    def _visibility(self, run, listed_live):
        """Restrict the sweep to what the token can see; False when nothing may be swept.

        The check of the listing itself (only the token's project came back) needs a listing that
        returned items: an empty one is refused as a whole (``refused_empty``) or, with
        ``allow_empty_sweep``, every item goes through the proof.
        """
        if self.project_id is not None:
            return True  # the run lists one project on purpose; its sweep is already that project
        own = self.token_project
        where = "%s/%s/%s" % (run.cloud, run.region, run.type)
        limited = self.limited_visibility
        reason = "the token has no admin role"
        if not limited and listed_live and own is not None and not run.foreign and run.type not in self.unscoped_types:
            others = self._count_other_projects(run, own)
            if others:
                limited = True
                reason = (
                    "the listing of every project returned only the token's project's items while the CMDB "
                    "holds %d live items of other projects" % others
                )
        if not limited:
            return True
        if run.type in self.unscoped_types or own is None:
            run.warnings.append(
                "%s: not swept: %s, so the listing may not show every item (nothing marked deleted)" % (where, reason)
            )
            return False
        run.sweep_project = own
        run.warnings.append(
            "%s: %s: only items of the token's project %s were considered for deletion" % (where, reason, own)
        )
        return True

    def _count_other_projects(self, run, own):
        res = schema.resources
        with self.store.read() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(res)
                .where(
                    *self._scope(run),
                    res.c.deleted_at.is_(None),
                    res.c.project_id.is_not(None),
                    res.c.project_id != own,
                )
            ).scalar()

    def _count_live(self, conn, run):
        res = schema.resources
        return conn.execute(sa.select(sa.func.count()).select_from(res).where(*self._sweep_filter(run))).scalar()

    def _live_ids(self, conn, run):
        """The live ids of the scope in key order, ``SWEEP_CHUNK`` at a time (keyset pagination)."""
        res = schema.resources
        last = None
        while True:
            query = sa.select(res.c.id).where(*self._sweep_filter(run))
            if last is not None:
                query = query.where(res.c.id > last)
            ids = conn.execute(query.order_by(res.c.id).limit(SWEEP_CHUNK)).scalars().all()
            if not ids:
                return
            yield ids
            last = ids[-1]

    def _live_among(self, conn, run, ids):
        res = schema.resources
        rows = conn.execute(sa.select(res.c.id).where(*self._scope(run), res.c.deleted_at.is_(None), res.c.id.in_(ids)))
        return sorted(rows.scalars().all())

    def _apply_batch(self, conn, run, batch, now):
        """Apply staged items with distinct ids: read their current rows, then write in bulk."""
        res = schema.resources
        rel = schema.relations
        digests = {item["resource_id"]: item["content_hash"] for item in batch}
        old_rows = {}
        for row in self._rows_by_id(conn, run, tuple(res.columns), sorted(digests)):
            old_rows[row.id] = row._mapping
        need_edges = sorted(rid for rid, row in old_rows.items() if row["content_hash"] != digests[rid])
        old_edges = {}
        if need_edges:
            for row in conn.execute(
                sa.select(rel.c.source_id, rel.c.relation, rel.c.target_type, rel.c.target_id, rel.c.target_name)
                .where(
                    rel.c.cloud == run.cloud,
                    rel.c.region == run.region,
                    rel.c.source_type == run.type,
                    rel.c.source_id.in_(need_edges),
                )
                .order_by(rel.c.id)
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
            old = old_rows.get(rid)
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
            if old is None:
                inserts.append(dict(values, cloud=run.cloud, region=run.region, type=run.type, id=rid, first_seen=now))
                action, diff = "created", None
            elif old["deleted_at"] is not None:
                diff = None
                if old["content_hash"] != digest:
                    diff = compact_diff(field_diff(old, old_edges.get(rid, []), record)) or None
                updates.append(dict(values, b_id=rid))
                action = "reappeared"
            elif old["content_hash"] != digest:
                diff = compact_diff(field_diff(old, old_edges.get(rid, []), record))
                updates.append(dict(values, b_id=rid))
                action = "updated"
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
        bulk_insert(conn, res, inserts)
        if updates:
            conn.execute(
                res.update().where(*self._scope(run), res.c.id == sa.bindparam("b_id")),
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
        bulk_insert(conn, rel, edges)
        bulk_insert(conn, schema.changes, change_rows)

    def _tombstone(self, conn, run, doomed, now):
        """Mark ``doomed`` (live ids of the scope, at most a chunk) deleted, with a change row each."""
        if not doomed:
            return
        res = schema.resources
        names = {}
        for i in range(0, len(doomed), LOOKUP_CHUNK):
            chunk = doomed[i : i + LOOKUP_CHUNK]
            if self.diff:
                for row in conn.execute(sa.select(res.c.id, res.c.name).where(*self._scope(run), res.c.id.in_(chunk))):
                    names[row.id] = row.name
            conn.execute(
                res.update()
                .where(*self._scope(run), res.c.id.in_(chunk), res.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            bulk_insert(
                conn,
                schema.changes,
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
