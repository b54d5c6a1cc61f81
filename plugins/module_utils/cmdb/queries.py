# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the CMDB (``cmdb_info``, the inventory) and retention (``cmdb_purge``).

Every query is parameterized (SQLAlchemy Core); a value from a cloud or a user never becomes SQL.

``last_seen`` of a live resource is the later of the row's own ``last_seen`` (the last time it was
written) and the end of the last successful sync of its scope: a no-change resync writes no
resource row, yet it confirms that every live item of the scope is still there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import traceback

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False
    SQLALCHEMY_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.apply import APPLIED, exact_name
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import iso, utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError
from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import parse_interval

BATCH = 500

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:?\d{2})?$")


def parse_time(value, field, now=None):
    """An ISO 8601 time (``2026-11-23T11:44:48Z``, a date) or a duration meaning "that long ago" (``1h``)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value
    text = str(value).strip()
    match = _ISO.match(text)
    if match:
        try:
            stamp = datetime.datetime.fromisoformat(
                "%s%s%s"
                % (
                    match.group(1),
                    "T" + match.group(2) if match.group(2) else "",
                    (match.group(3) or "").replace("Z", "+00:00") if match.group(2) else "",
                )
            )
        except ValueError as exc:
            raise ConfigurationError("%s: %r is not a valid time (%s)" % (field, value, exc))
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return stamp
    try:
        seconds = parse_interval(text, field=field)
    except ConfigurationError:
        raise ConfigurationError(
            "%s: %r is neither an ISO 8601 time (2026-11-23T11:44:48Z) nor a duration meaning that long ago "
            "(30m, 6h, 2w)" % (field, value)
        )
    return (now or utcnow()) - datetime.timedelta(seconds=seconds)


def name_matcher(patterns):
    """A function telling whether a name matches one of the shell-style ``patterns``, ignoring case.

    Matched in Python on ``str.casefold()``: SQLite's ``lower()`` folds ASCII letters only and
    PostgreSQL's depends on the database's locale, so ``Ünïcødé-Server`` would match ``ünï*`` on
    one backend and not on the other. Same filter, same answer everywhere.
    """
    parts = []
    for pattern in patterns:
        regex = []
        for char in str(pattern).casefold():
            if char == "*":
                regex.append(".*")
            elif char == "?":
                regex.append(".")
            else:
                regex.append(re.escape(char))
        parts.append("(?:%s)" % "".join(regex))
    compiled = re.compile(r"\A(?:%s)\Z" % "|".join(parts), re.DOTALL)

    def matches(value):
        return value is not None and compiled.match(str(value).casefold()) is not None

    return matches


def _rows_matching_names(conn, query, patterns, limit):
    """The rows of ``query`` (in its order) whose ``name`` matches ``patterns`` (see ``name_matcher``).

    The names are read first (small rows), the full rows (attributes) only for the matches.
    """
    res = schema.resources
    matches = name_matcher(patterns)
    keys_query = query.with_only_columns(res.c.cloud, res.c.region, res.c.type, res.c.id, res.c.name)
    keys = []
    for row in conn.execute(keys_query):
        if matches(row.name):
            keys.append((row.cloud, row.region, row.type, row.id))
            if limit and len(keys) >= int(limit):
                break
    groups = {}
    for c, g, t, rid in keys:
        groups.setdefault((c, g, t), []).append(rid)
    found = {}
    for (c, g, t), idlist in groups.items():
        for i in range(0, len(idlist), BATCH):
            chunk = idlist[i : i + BATCH]
            for row in conn.execute(
                sa.select(res).where(res.c.cloud == c, res.c.region == g, res.c.type == t, res.c.id.in_(chunk))
            ):
                found[(row.cloud, row.region, row.type, row.id)] = row
    return [found[key] for key in keys if key in found]


def _as_list(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


def last_ok_syncs(conn, cloud=None, region=None, types=None):
    """THE last successful sync: ``{(cloud, region, type, project_id): finished_at}``.

    The newest ``finished_at`` of the runs with status ``ok`` per scope (``project_id`` None: a run
    of every project). ``cmdb_info``, the inventory and the staleness report all use this one
    definition; an ``ok`` run confirms every live item of its scope (and project) at its end.
    """
    runs = schema.sync_runs
    query = (
        sa.select(
            runs.c.cloud, runs.c.region, runs.c.type, runs.c.project_id, sa.func.max(runs.c.finished_at).label("at")
        )
        .where(runs.c.status == "ok", runs.c.finished_at.is_not(None))
        .group_by(runs.c.cloud, runs.c.region, runs.c.type, runs.c.project_id)
    )
    if cloud:
        query = query.where(runs.c.cloud.in_(_as_list(cloud)))
    if region:
        query = query.where(runs.c.region.in_(_as_list(region)))
    if types:
        query = query.where(runs.c.type.in_(_as_list(types)))
    return dict(((r.cloud, r.region, r.type, r.project_id), _naive(r.at)) for r in conn.execute(query))


def _naive(value):
    """A datetime from the database (SQLite may hand back text through a type_coerce) as naive UTC."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    return parse_time(str(value), "finished_at")


def confirmed_at(last_ok, cloud, region, rtype, project_id):
    """When the last successful sync confirmed a live item of this scope and project (or None)."""
    best = None
    for project in (None, project_id):
        at = last_ok.get((cloud, region, rtype, project))
        if at is not None and (best is None or at > best):
            best = at
    return best


def effective_last_seen(row, last_ok):
    seen = row.last_seen
    if row.deleted_at is None:
        at = confirmed_at(last_ok, row.cloud, row.region, row.type, row.project_id)
        if at is not None and at > seen:
            seen = at
    return seen


def _intervals(conn, clouds):
    """``{cloud: {type: seconds}}``: an account's interval per type, else the catalog's default."""
    from ansible_collections.cmdb.openstack.plugins.module_utils import catalog
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts

    defaults = dict((name, rtype.default_interval) for name, rtype in catalog.RESOURCE_TYPES.items())
    out = {}
    for account in accounts.accounts_in(conn, names=list(clouds) if clouds else None):
        intervals = dict(defaults)
        for name, entry in account["settings"].items():
            if name in intervals:
                intervals[name] = entry["interval"]
        out[account["name"]] = intervals
    return out, defaults


def sync_status(conn, cloud=None, region=None, types=None, now=None):
    """Per cloud, region and type: the last successful sync, its age, and whether it is ``stale``.

    ``stale``: never synced successfully, or longer ago than twice the type's interval (the
    account's setting, else the catalog's default). ``left_catalog``: the newest run found the
    service gone from the catalog although the type was synced successfully before.
    """
    now = now or utcnow()
    runs = schema.sync_runs
    last_ok = last_ok_syncs(conn, cloud, region, types)
    newest = sa.select(sa.func.max(runs.c.id).label("id")).group_by(runs.c.cloud, runs.c.region, runs.c.type)
    if cloud:
        newest = newest.where(runs.c.cloud.in_(_as_list(cloud)))
    if region:
        newest = newest.where(runs.c.region.in_(_as_list(region)))
    if types:
        newest = newest.where(runs.c.type.in_(_as_list(types)))
    latest = {}
    for row in conn.execute(
        sa.select(runs.c.cloud, runs.c.region, runs.c.type, runs.c.status, runs.c.started_at).where(
            runs.c.id.in_(newest.scalar_subquery())
        )
    ):
        latest[(row.cloud, row.region, row.type)] = (row.status, _naive(row.started_at))
    scopes = {}
    for (c, g, t, _project), at in last_ok.items():
        if (c, g, t) not in scopes or at > scopes[(c, g, t)]:
            scopes[(c, g, t)] = at
    for key in latest:
        scopes.setdefault(key, None)
    per_cloud, defaults = _intervals(conn, sorted(set(key[0] for key in scopes)))
    out = []
    for (c, g, t), at in sorted(scopes.items()):
        interval = per_cloud.get(c, defaults).get(t)
        age = None if at is None else max(0, int((now - at).total_seconds()))
        status, started = latest.get((c, g, t), (None, None))
        out.append(
            {
                "cloud": c,
                "region": g,
                "type": t,
                "last_ok": iso(at),
                "age": age,
                "interval": interval,
                "stale": age is None or (bool(interval) and age > 2 * interval),
                "last_status": status,
                "last_run_at": iso(started),
                "left_catalog": status == "not_in_catalog" and at is not None,
            }
        )
    return out


def find_resources(
    store,
    cloud=None,
    region=None,
    types=None,
    project_id=None,
    name=None,
    status=None,
    ids=None,
    include_deleted=False,
    include_relations=True,
    include_attributes=True,
    limit=None,
):
    """Resources as records (the architecture's format) plus ``first_seen``, ``last_seen``, ``deleted_at``."""
    res = schema.resources
    rel = schema.relations
    cloud, region, types = _as_list(cloud), _as_list(region), _as_list(types)
    query = sa.select(res)
    if cloud:
        query = query.where(res.c.cloud.in_(cloud))
    if region:
        query = query.where(res.c.region.in_(region))
    if types:
        query = query.where(res.c.type.in_(types))
    if project_id:
        query = query.where(res.c.project_id.in_(_as_list(project_id)))
    if status:
        query = query.where(sa.func.upper(res.c.status).in_([s.upper() for s in _as_list(status)]))
    if ids:
        query = query.where(res.c.id.in_(_as_list(ids)))
    if not include_deleted:
        query = query.where(res.c.deleted_at.is_(None))
    order = (res.c.cloud, res.c.region, res.c.type, res.c.name, res.c.id)
    query = query.order_by(*order)
    if limit and not name:
        query = query.limit(int(limit))
    out = []
    with store.read() as conn:
        last_ok = last_ok_syncs(conn, cloud)
        if name:
            rows = _rows_matching_names(conn, query, _as_list(name), limit)
        else:
            rows = conn.execute(query).fetchall()
        for row in rows:
            record = {
                "id": row.id,
                "name": exact_name(row.type, row.name, row.attributes),
                "type": row.type,
                "cloud": row.cloud,
                "region": row.region,
                "project_id": row.project_id,
                "status": row.status,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "first_seen": iso(row.first_seen),
                "last_seen": iso(effective_last_seen(row, last_ok)),
                "deleted_at": iso(row.deleted_at),
                "deleted": row.deleted_at is not None,
            }
            if include_attributes:
                record["attributes"] = row.attributes
            if include_relations:
                record["relations"] = []
            out.append(record)
        if include_relations and out:
            by_key = dict(((r["cloud"], r["region"], r["type"], r["id"]), r) for r in out)
            groups = {}
            for r in out:
                groups.setdefault((r["cloud"], r["region"], r["type"]), []).append(r["id"])
            for (c, g, t), idlist in groups.items():
                for i in range(0, len(idlist), BATCH):
                    chunk = idlist[i : i + BATCH]
                    for edge in conn.execute(
                        sa.select(rel)
                        .where(rel.c.cloud == c, rel.c.region == g, rel.c.source_type == t, rel.c.source_id.in_(chunk))
                        .order_by(rel.c.id)
                    ):
                        by_key[(c, g, t, edge.source_id)]["relations"].append(
                            {
                                "relation": edge.relation,
                                "target_type": edge.target_type,
                                "target_id": edge.target_id,
                                "target_name": edge.target_name,
                            }
                        )
    return out


def find_changes(store, since=None, cloud=None, region=None, types=None, resource_ids=None, limit=None):
    """Change-log entries (oldest first) since a time."""
    ch = schema.changes
    res = schema.resources
    query = sa.select(ch, res.c.name).select_from(
        ch.outerjoin(
            res,
            sa.and_(
                res.c.cloud == ch.c.cloud,
                res.c.region == ch.c.region,
                res.c.type == ch.c.type,
                res.c.id == ch.c.resource_id,
            ),
        )
    )
    if since is not None:
        query = query.where(ch.c.at >= since)
    if cloud:
        query = query.where(ch.c.cloud.in_(_as_list(cloud)))
    if region:
        query = query.where(ch.c.region.in_(_as_list(region)))
    if types:
        query = query.where(ch.c.type.in_(_as_list(types)))
    if resource_ids:
        query = query.where(ch.c.resource_id.in_(_as_list(resource_ids)))
    query = query.order_by(ch.c.id)
    if limit:
        query = query.limit(int(limit))
    with store.read() as conn:
        return [
            {
                "id": row.id,
                "sync_run_id": row.sync_run_id,
                "cloud": row.cloud,
                "region": row.region,
                "type": row.type,
                "resource_id": row.resource_id,
                "name": row.name,
                "action": row.action,
                "diff": row.diff,
                "at": iso(row.at),
            }
            for row in conn.execute(query)
        ]


def find_accounts(store, cloud=None, include_deleted=False):
    """Registered accounts (no secret is ever stored) with their last auth error and last syncs."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts

    out = []
    with store.read() as conn:
        last_ok = last_ok_syncs(conn, _as_list(cloud))
        found = accounts.accounts_in(
            conn, include_unregistered=include_deleted, names=_as_list(cloud) if cloud else None
        )
    for account in found:
        last_sync = {}
        for (c, _region, rtype, _project), at in last_ok.items():
            if c == account["name"] and (rtype not in last_sync or at > last_sync[rtype]):
                last_sync[rtype] = at
        out.append(
            {
                "name": account["name"],
                "connection": account["connection"],
                "regions": account["regions"],
                "all_projects": account["all_projects"],
                "projects": account["projects"],
                "settings": dict((k, dict(v)) for k, v in account["settings"].items()),
                "paused": account["paused"],
                "pause_after_auth_failures": account["pause_after_auth_failures"],
                "auth_failures": account["auth_failures"],
                "last_auth_error": account["last_auth_error"],
                "last_auth_error_at": iso(account["last_auth_error_at"]),
                "created_at": iso(account["created_at"]),
                "updated_at": iso(account["updated_at"]),
                "deleted_at": iso(account["deleted_at"]),
                "last_sync": dict((k, iso(v)) for k, v in sorted(last_sync.items())),
            }
        )
    return out


def find_identities(store, cloud=None):
    """Every stored identity (for ``cmdb_info``), by cloud name."""
    table = schema.cloud_identities
    query = sa.select(table).order_by(table.c.cloud)
    if cloud:
        query = query.where(table.c.cloud.in_(_as_list(cloud)))
    with store.read() as conn:
        return [
            {
                "cloud": row.cloud,
                "fingerprint": row.fingerprint,
                "identity": row.identity,
                "first_seen": iso(row.first_seen),
                "updated_at": iso(row.updated_at),
            }
            for row in conn.execute(query)
        ]


def find_sync_runs(store, cloud=None, limit=100):
    """The newest sync runs (one row per scope and run), newest first."""
    runs = schema.sync_runs
    query = sa.select(runs).order_by(runs.c.id.desc()).limit(int(limit or 100))
    if cloud:
        query = query.where(runs.c.cloud.in_(_as_list(cloud)))
    with store.read() as conn:
        return [
            {
                "id": r.id,
                "cloud": r.cloud,
                "region": r.region,
                "type": r.type,
                "project_id": r.project_id,
                "mode": r.mode,
                "status": r.status,
                "started_at": iso(r.started_at),
                "finished_at": iso(r.finished_at),
                "counts": r.counts,
                "error": r.error,
            }
            for r in conn.execute(query)
        ]


def counts(store, cloud=None):
    """``{cloud: {type: {"live": n, "deleted": n}}}``."""
    res = schema.resources
    query = sa.select(
        res.c.cloud,
        res.c.type,
        (res.c.deleted_at.is_(None)).label("live"),
        sa.func.count().label("n"),
    ).group_by(res.c.cloud, res.c.type, res.c.deleted_at.is_(None))
    if cloud:
        query = query.where(res.c.cloud.in_(_as_list(cloud)))
    out = {}
    with store.read() as conn:
        for row in conn.execute(query):
            entry = out.setdefault(row.cloud, {}).setdefault(row.type, {"live": 0, "deleted": 0})
            entry["live" if row.live else "deleted"] += row.n
    return out


def purge(store, older_than, cloud=None, check_mode=False, now=None, lock_timeout=600):
    """Delete tombstones (and their edges) and change-log entries older than ``older_than`` seconds.

    Finished sync runs older than that go too, except the newest applied one per scope and mode
    (incremental sync and the due logic need them). Returns the counts (what would go in check mode).

    A sync may be about to revive a tombstone (its listing is staged, its apply not yet done): the
    purge takes the sync locks of every scope whose tombstones it deletes (the lease locks a sync
    holds for its whole run, and on PostgreSQL the advisory lock of each scope's apply), so it
    waits for such a sync (up to ``lock_timeout`` seconds) and never deletes a row a sync writes.
    """
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import LeaseLock, sync_lock_name

    cutoff = (now or utcnow()) - datetime.timedelta(seconds=older_than)
    res = schema.resources
    clouds = _as_list(cloud)
    lock = None
    if not check_mode:
        with store.read() as conn:
            query = (
                sa.select(res.c.cloud, res.c.region, res.c.type)
                .where(res.c.deleted_at.is_not(None), res.c.deleted_at < cutoff)
                .distinct()
            )
            if clouds:
                query = query.where(res.c.cloud.in_(clouds))
            scopes = sorted(tuple(row) for row in conn.execute(query))
        if scopes:
            lock = LeaseLock(store, [sync_lock_name(*scope) for scope in scopes])
            lock.acquire(timeout=lock_timeout)
    try:
        return _purge_locked(store, cutoff, clouds, check_mode, locked=None if lock is None else scopes)
    finally:
        if lock is not None:
            lock.release()


def _purge_locked(store, cutoff, clouds, check_mode, locked):
    res, rel, ch, runs = schema.resources, schema.relations, schema.changes, schema.sync_runs
    result = {"resources": 0, "relations": 0, "changes": 0, "sync_runs": 0, "cutoff": iso(cutoff)}

    def cloud_filter(column):
        return column.in_(clouds) if clouds else sa.true()

    with store.write() as conn:
        for scope in locked or ():
            store.lock_scope_for_apply(conn, *scope)  # PostgreSQL: wait for an apply in progress
        doomed = conn.execute(
            sa.select(res.c.cloud, res.c.region, res.c.type, res.c.id).where(
                res.c.deleted_at.is_not(None), res.c.deleted_at < cutoff, cloud_filter(res.c.cloud)
            )
        ).fetchall()
        if not check_mode:
            # Only the scopes whose locks are held (a tombstone of another scope waits for the next purge).
            held = set(locked or ())
            doomed = [row for row in doomed if (row.cloud, row.region, row.type) in held]
        groups = {}
        for row in doomed:
            groups.setdefault((row.cloud, row.region, row.type), []).append(row.id)
        for (c, g, t), idlist in groups.items():
            for i in range(0, len(idlist), BATCH):
                chunk = idlist[i : i + BATCH]
                edges = rel.c.cloud == c, rel.c.region == g, rel.c.source_type == t, rel.c.source_id.in_(chunk)
                result["relations"] += conn.execute(sa.select(sa.func.count()).where(*edges)).scalar()
                result["resources"] += len(chunk)
                if not check_mode:
                    conn.execute(rel.delete().where(*edges))
                    conn.execute(
                        res.delete().where(
                            res.c.cloud == c,
                            res.c.region == g,
                            res.c.type == t,
                            res.c.id.in_(chunk),
                            res.c.deleted_at.is_not(None),
                        )
                    )
        old_changes = sa.and_(ch.c.at < cutoff, cloud_filter(ch.c.cloud))
        result["changes"] = conn.execute(sa.select(sa.func.count()).where(old_changes)).scalar()
        keep = [
            row.id
            for row in conn.execute(
                sa.select(sa.func.max(runs.c.id).label("id"))
                .where(runs.c.status.in_(APPLIED))
                .group_by(runs.c.cloud, runs.c.region, runs.c.type, runs.c.project_id, runs.c.mode)
            )
        ]
        old_runs = sa.and_(
            runs.c.finished_at.is_not(None),
            runs.c.finished_at < cutoff,
            cloud_filter(runs.c.cloud),
            runs.c.id.not_in(keep) if keep else sa.true(),
        )
        result["sync_runs"] = conn.execute(sa.select(sa.func.count()).where(old_runs)).scalar()
        if not check_mode:
            conn.execute(ch.delete().where(old_changes))
            conn.execute(runs.delete().where(old_runs))
    return result


def _type_names(types):
    if not types or "all" in types:
        return None
    from ansible_collections.cmdb.openstack.plugins.module_utils import catalog

    return catalog.resolve_type_names(types)


def run_info(params, now=None):
    """``cmdb_info``: the result dict for the module's parameters."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader

    sections = list(params.get("sections") or ["resources", "accounts", "counts", "sync_status"])
    since = parse_time(params.get("changes_since"), "changes_since", now=now)
    if since is not None and "changes" not in sections:
        sections.append("changes")
    types = _type_names(params.get("types"))
    store = open_reader(params.get("cmdb_url"))
    try:
        result = {"cmdb_url": store.url}
        if "resources" in sections:
            result["resources"] = find_resources(
                store,
                cloud=params.get("cloud"),
                region=params.get("region"),
                types=types,
                project_id=params.get("project_id"),
                name=params.get("name"),
                status=params.get("status"),
                ids=params.get("ids"),
                include_deleted=bool(params.get("include_deleted")),
                include_relations=params.get("include_relations", True) is not False,
                include_attributes=params.get("include_attributes", True) is not False,
                limit=params.get("limit"),
            )
        if "changes" in sections:
            result["changes"] = find_changes(
                store,
                since=since,
                cloud=params.get("cloud"),
                region=params.get("region"),
                types=types,
                resource_ids=params.get("ids"),
                limit=params.get("limit"),
            )
        if "accounts" in sections:
            result["accounts"] = find_accounts(store, cloud=params.get("cloud"))
        if "counts" in sections:
            result["counts"] = counts(store, cloud=params.get("cloud"))
        if "sync_runs" in sections:
            result["sync_runs"] = find_sync_runs(store, cloud=params.get("cloud"), limit=params.get("limit") or 100)
        if "sync_status" in sections:
            with store.read() as conn:
                result["sync_status"] = sync_status(
                    conn, cloud=params.get("cloud"), region=params.get("region"), types=types, now=now
                )
        if "identities" in sections:
            result["identities"] = find_identities(store, cloud=params.get("cloud"))
        return result
    finally:
        store.close()


def run_purge(params, check_mode=False, now=None):
    """``cmdb_purge``: the result dict for the module's parameters."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

    older_than = parse_interval(params.get("older_than"), field="older_than")
    lock_timeout = params.get("lock_timeout")
    store = open_store(params.get("cmdb_url"))
    try:
        purged = purge(
            store,
            older_than,
            cloud=params.get("cloud"),
            check_mode=check_mode,
            now=now,
            lock_timeout=600 if lock_timeout is None else lock_timeout,
        )
    finally:
        store.close()
    total = purged["resources"] + purged["changes"] + purged["sync_runs"]
    msg = "%s %d deleted resources (%d relations), %d change-log entries and %d sync runs older than %s" % (
        "would purge" if check_mode else "purged",
        purged["resources"],
        purged["relations"],
        purged["changes"],
        purged["sync_runs"],
        purged["cutoff"],
    )
    return {"changed": total > 0, "purged": purged, "msg": msg, "cmdb_url": store.url}
