# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data of the CMDB report (``cmdb_report``): read-only queries, SQLite and PostgreSQL.

``build_report(store, ...)`` returns one JSON-able dict; ``report_html.render`` turns it into the
HTML file. Every query is parameterized (SQLAlchemy Core) and reads aggregates or bounded lists, so
the report of a CMDB of 100,000 servers is built in seconds: big lists (changes, waste, per-project
counts, per-server pages) are capped and say how many rows there were.

Every string here came from a cloud: it is data for the HTML renderer, never a template.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re
import tempfile

try:
    import sqlalchemy as sa
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    sa = None

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.queries import BATCH, _as_list
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import iso, utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

#: The marker of the embedded data in a written report (read back for "change since previous").
DATA_ID = "cmdb-report-data"

#: Sync statuses that mean the account may not list a type (a permission gap).
GAP_STATUSES = ("forbidden", "not_in_catalog", "auth_failed")

#: A scope is stale when its last successful sync is older than this many intervals.
STALE_FACTOR = 2

DEFAULTS = {
    "waste_days": 30,
    "trend_days": 30,
    "changes_limit": 2000,
    "server_pages": 2000,
    "rows_limit": 1000,
}

_API_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})")


def api_time(value):
    """An API timestamp string (``2026-11-23T11:44:48Z``, with or without fraction or offset) as naive UTC."""
    if not isinstance(value, str):
        return None
    match = _API_TIME.match(value)
    if not match:
        return None
    try:
        stamp = datetime.datetime(*[int(g) for g in match.groups()])
    except ValueError:
        return None
    rest = value[match.end() :]
    offset = re.search(r"([+-])(\d{2}):?(\d{2})$", rest)
    if offset:
        delta = datetime.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        stamp = stamp - delta if offset.group(1) == "+" else stamp + delta
    return stamp


def _days(now, then):
    if then is None:
        return None
    return round((now - then).total_seconds() / 86400.0, 1)


def _cloud_filter(column, clouds):
    return column.in_(clouds) if clouds else sa.true()


def _chunks(items, size=BATCH):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def live_counts(conn, clouds=None):
    """``{(cloud, region, project_id, type): n}`` of live resources (one scan of the table)."""
    res = schema.resources
    out = {}
    for row in conn.execute(
        sa.select(res.c.cloud, res.c.region, res.c.project_id, res.c.type, sa.func.count().label("n"))
        .where(res.c.deleted_at.is_(None), _cloud_filter(res.c.cloud, clouds))
        .group_by(res.c.cloud, res.c.region, res.c.project_id, res.c.type)
    ):
        out[(row.cloud, row.region, row.project_id or "", row.type)] = row.n
    return out


def _previous_counts(previous):
    """The counts of the previous report's data (``{}`` when there is none)."""
    try:
        now = previous.get("now") or {}
        regions = dict(((c, r, t), int(n)) for c, r, t, n, _d in now.get("regions") or [])
        projects = dict(((c, p, t), int(n)) for c, p, t, n, _d in now.get("projects") or [])
        return regions, projects, str(previous["generated_at"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return {}, {}, None  # not a report of this version: nothing to compare with


def now_section(conn, clouds, previous):
    counts = live_counts(conn, clouds)
    by_region, by_project = {}, {}
    for (cloud, region, project, rtype), n in counts.items():
        by_region[(cloud, region, rtype)] = by_region.get((cloud, region, rtype), 0) + n
        by_project[(cloud, project, rtype)] = by_project.get((cloud, project, rtype), 0) + n
    prev_regions, prev_projects, prev_at = _previous_counts(previous)

    def rows(current, before):
        out = []
        for key in sorted(set(current) | set(before)):
            n = current.get(key, 0)
            out.append([key[0], key[1], key[2], n, None if prev_at is None else n - before.get(key, 0)])
        return out

    # every project row is kept: the next report compares against it
    return {
        "previous_at": prev_at,
        "regions": rows(by_region, prev_regions),
        "projects": rows(by_project, prev_projects),
    }


# --- Trends ----------------------------------------------------------------------------------------


def _day(value):
    return str(value)[:10]


def trends_section(conn, clouds, now, days, current):
    """Live counts per type at the end of each of the last ``days`` days, and servers by status.

    Walked back from today's counts (``current``: ``{type: n}``) through the change log: a day's
    count is today's minus what was created (or reappeared) after it plus what was deleted after it.
    """
    ch = schema.changes
    start = (now - datetime.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_list = [(start + datetime.timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]
    net = {}  # (day, type) -> created - deleted
    day = _day_expr(conn, ch.c.at)
    for row in conn.execute(
        sa.select(day.label("day"), ch.c.type, ch.c.action, sa.func.count().label("n"))
        .where(
            ch.c.at >= start,
            ch.c.action.in_(("created", "reappeared", "deleted")),
            _cloud_filter(ch.c.cloud, clouds),
        )
        .group_by(day, ch.c.type, ch.c.action)
    ):
        key = (_day(row.day), row.type)
        net[key] = net.get(key, 0) + (-1 if row.action == "deleted" else 1) * row.n
    types = [t for t in catalog.RESOURCE_TYPE_NAMES if t in current or any(k[1] == t for k in net)]
    series = {}
    for rtype in types:
        values = [0] * days
        count = current.get(rtype, 0)
        for i in range(days - 1, -1, -1):
            values[i] = count
            count -= net.get((day_list[i], rtype), 0)
        series[rtype] = values
    return {"days": day_list, "types": series, "server_status": _server_status_trend(conn, clouds, start, day_list)}


def _server_status_trend(conn, clouds, start, day_list):
    """Servers per status at the end of each day: today's tally minus what happened after that day.

    Creations, reappearances and deletions are counted per day and status in SQL (a server is
    created with the status it has now, or had when deleted, unless a status change followed: the
    few servers whose status changed in the window are read one by one and corrected).
    """
    res, ch = schema.resources, schema.changes
    servers = sa.and_(ch.c.type == "servers", ch.c.at >= start, _cloud_filter(ch.c.cloud, clouds))
    status = sa.func.coalesce(res.c.status, "UNKNOWN")
    tally = {}
    for row in conn.execute(
        sa.select(status.label("status"), sa.func.count().label("n"))
        .where(res.c.type == "servers", res.c.deleted_at.is_(None), _cloud_filter(res.c.cloud, clouds))
        .group_by(status)
    ):
        tally[row.status] = row.n
    forward = {}  # (day, status) -> change of the tally that day

    def move(day, state, n):
        forward[(day, state)] = forward.get((day, state), 0) + n

    day = _day_expr(conn, ch.c.at)
    for row in conn.execute(
        sa.select(day.label("day"), ch.c.action, status.label("status"), sa.func.count().label("n"))
        .select_from(_resource_join(ch, res))
        .where(servers, ch.c.action.in_(("created", "reappeared", "deleted")))
        .group_by(day, ch.c.action, status)
    ):
        move(_day(row.day), row.status, -row.n if row.action == "deleted" else row.n)
    # status changes, newest first: the "old" status of a server's earliest change is the one it
    # was created with (when it was created in the window)
    first_status = {}
    for row in conn.execute(
        sa.select(ch.c.cloud, ch.c.region, ch.c.resource_id, ch.c.diff, day.label("day"), status.label("status"))
        .select_from(_resource_join(ch, res))
        .where(servers, ch.c.action == "updated")
        .order_by(ch.c.id.desc())
    ):
        diff = row.diff if isinstance(row.diff, dict) else {}
        if not isinstance(diff.get("status"), dict):
            continue
        old, new = diff["status"].get("old") or "UNKNOWN", diff["status"].get("new") or "UNKNOWN"
        move(_day(row.day), old, -1)
        move(_day(row.day), new, 1)
        key = (row.cloud, row.region, row.resource_id)
        first_status[key] = (old, first_status.get(key, (None, row.status))[1])
    by_cloud = {}
    for cloud, region, rid in first_status:
        by_cloud.setdefault((cloud, region), []).append(rid)
    for (cloud, region), ids in by_cloud.items():
        for chunk in _chunks(ids):
            for row in conn.execute(
                sa.select(ch.c.resource_id, ch.c.action, day.label("day")).where(
                    servers,
                    ch.c.cloud == cloud,
                    ch.c.region == region,
                    ch.c.resource_id.in_(chunk),
                    ch.c.action.in_(("created", "reappeared")),
                )
            ):
                created_as, counted_as = first_status[(cloud, region, row.resource_id)]
                move(_day(row.day), counted_as, -1)
                move(_day(row.day), created_as, 1)
    statuses = set(tally) | set(s for _d, s in forward)
    series = dict((s, [0] * len(day_list)) for s in statuses)
    current = dict(tally)
    for i in range(len(day_list) - 1, -1, -1):
        for s in statuses:
            series[s][i] = current.get(s, 0)
            current[s] = current.get(s, 0) - forward.get((day_list[i], s), 0)
    return dict((s, v) for s, v in sorted(series.items()) if any(v))


def _day_expr(conn, column):
    """The day of a timestamp as ``YYYY-MM-DD`` text; SQLite stores the text, so it is a prefix there."""
    if conn.dialect.name == "sqlite":
        return sa.func.substr(column, 1, 10)
    return sa.func.date(column)


# --- Changes ---------------------------------------------------------------------------------------


def _resource_join(ch, res):
    return ch.outerjoin(
        res,
        sa.and_(
            res.c.cloud == ch.c.cloud,
            res.c.region == ch.c.region,
            res.c.type == ch.c.type,
            res.c.id == ch.c.resource_id,
        ),
    )


def changes_section(conn, clouds, limit):
    ch, res = schema.changes, schema.resources
    total = conn.execute(sa.select(sa.func.count()).select_from(ch).where(_cloud_filter(ch.c.cloud, clouds))).scalar()
    rows = []
    query = (
        sa.select(ch.c.at, ch.c.cloud, ch.c.region, ch.c.type, ch.c.resource_id, ch.c.action, ch.c.diff, res.c.name)
        .select_from(_resource_join(ch, res))
        .where(_cloud_filter(ch.c.cloud, clouds))
        .order_by(ch.c.id.desc())
        .limit(int(limit))
    )
    for row in conn.execute(query):
        rows.append([iso(row.at), row.cloud, row.region, row.type, row.resource_id, row.name, row.action, row.diff])
    return {"total": total, "rows": rows}


# --- Waste and orphans -----------------------------------------------------------------------------
#
# Each list is one query that the database answers through its indexes: the anti-joins (NOT EXISTS)
# follow ix_relations_source or ix_relations_target per candidate row, so no relation is read into
# Python and the cost grows with the candidates, not with the 2 million edges of a large estate.


def _edge_from(res, source_type, relation, with_target=True):
    """EXISTS: ``res`` (a candidate) has a ``relation`` edge (to something) as source."""
    rel = schema.relations
    return sa.exists().where(
        rel.c.cloud == res.c.cloud,
        rel.c.region == res.c.region,
        rel.c.source_type == source_type,
        rel.c.source_id == res.c.id,
        rel.c.relation == relation,
        rel.c.target_id.is_not(None)
        if with_target
        else sa.or_(rel.c.target_id.is_not(None), rel.c.target_name.is_not(None)),
    )


def _edge_to(res, source_type, relation, target_type):
    """EXISTS: a live resource of ``source_type`` points to ``res`` with ``relation``."""
    rel = schema.relations
    src = schema.resources.alias("src")
    return sa.exists().where(
        rel.c.cloud == res.c.cloud,
        rel.c.target_type == target_type,
        rel.c.target_id == res.c.id,
        rel.c.source_type == source_type,
        rel.c.relation == relation,
        src.c.cloud == rel.c.cloud,
        src.c.region == rel.c.region,
        src.c.type == rel.c.source_type,
        src.c.id == rel.c.source_id,
        src.c.deleted_at.is_(None),
    )


def _since_expr(res):
    """When a resource entered its current state, as the API says: ``updated_at``, else ``created_at``.

    API times are ISO 8601 strings, so they compare (and sort) as text; the first time the CMDB saw
    the resource stands in when the API gives neither."""
    return sa.func.coalesce(res.c.updated_at, res.c.created_at)


def _older_than(expr, res, cutoff):
    return sa.or_(
        expr <= cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"),
        sa.and_(expr.is_(None), res.c.first_seen <= cutoff),
    )


def _waste_list(conn, clouds, rtype, where, age_expr, limit):
    """``(total, rows)``: how many live resources of ``rtype`` match, and the ``limit`` oldest."""
    res = schema.resources
    cond = [res.c.type == rtype, res.c.deleted_at.is_(None), _cloud_filter(res.c.cloud, clouds)] + list(where)
    # the total rides along as a window count: one pass over the candidates, not two
    rows = conn.execute(
        sa.select(
            sa.func.count().over().label("total"),
            res.c.cloud,
            res.c.region,
            res.c.type,
            res.c.id,
            res.c.name,
            res.c.project_id,
            res.c.status,
            age_expr.label("since"),
            res.c.first_seen,
        )
        .where(*cond)
        .order_by(age_expr.is_(None), age_expr, res.c.id)
        .limit(int(limit))
    ).fetchall()
    return (rows[0].total if rows else 0), rows


def waste_section(conn, clouds, now, days, rows_limit):
    """The waste lists: each is counted and its ``rows_limit`` oldest rows read, in SQL; the
    anti-joins (NOT EXISTS) follow ix_relations_source or ix_relations_target per candidate."""
    res = schema.resources
    cutoff = now - datetime.timedelta(days=days)
    since, created = _since_expr(res), res.c.created_at
    specs = [
        (
            "volumes_available",
            "Volumes available for more than %d days" % days,
            "volumes",
            [sa.func.lower(res.c.status) == "available", _older_than(since, res, cutoff)],
            since,
            "available (attached to nothing) since %s",
        ),
        (
            "floating_ips_unassociated",
            "Floating IPs not associated",
            "floating_ips",
            [~_edge_from(res, "floating_ips", "port")],
            created,
            "associated with no port (created %s)",
        ),
        (
            "security_groups_unused",
            "Security groups no port uses",
            "security_groups",
            [~_edge_to(res, "ports", "security_groups", "security_groups")],
            created,
            "no port uses it (created %s)",
        ),
        (
            "images_unused",
            "Images no server uses",
            "images",
            [~_edge_to(res, "servers", "image", "images"), ~_edge_to(res, "volumes", "image", "images")],
            created,
            "no server (or volume) uses it (created %s)",
        ),
        (
            "snapshots_old",
            "Snapshots older than %d days" % days,
            "volume_snapshots",
            [_older_than(created, res, cutoff)],
            created,
            "created %s, older than " + "%d days" % days,
        ),
        (
            "servers_shutoff",
            "Servers SHUTOFF for more than %d days" % days,
            "servers",
            [sa.func.upper(res.c.status) == "SHUTOFF", _older_than(since, res, cutoff)],
            since,
            "SHUTOFF since %s",
        ),
        (
            "load_balancers_empty",
            "Load balancers without members",
            "load_balancers",
            [~_edge_from(res, "load_balancers", "members", with_target=False)],
            created,
            "no pool has a member (created %s)",
        ),
        (
            "ports_down_unbound",
            "Ports DOWN and unbound",
            "ports",
            [sa.func.upper(res.c.status) == "DOWN", ~_edge_from(res, "ports", "device")],
            since,
            "DOWN and bound to no device since %s",
        ),
    ]
    kinds = []
    for kind, title, rtype, where, age_expr, reason in specs:
        total, rows = _waste_list(conn, clouds, rtype, where, age_expr, rows_limit)
        out = []
        for row in rows:
            when = api_time(row.since) or row.first_seen
            # [cloud, region, type, id, name, project_id, status, age_days, reason]
            out.append(
                [
                    row.cloud,
                    row.region,
                    row.type,
                    row.id,
                    row.name,
                    row.project_id,
                    row.status,
                    _days(now, when),
                    reason % iso(when),
                ]
            )
        kinds.append({"kind": kind, "title": title, "total": total, "rows": out})
    return {"days": days, "kinds": kinds}


# --- Sync health -----------------------------------------------------------------------------------


def _permission_rows(permissions):
    """Gaps from ``cloud_permissions_info`` results (a result dict, or a list of them)."""
    out = []
    if not permissions:
        return out
    if isinstance(permissions, dict):
        permissions = [permissions]
    if not isinstance(permissions, list):
        raise ConfigurationError("permissions: expected the result of cloud_permissions_info (or a list of them)")
    for result in permissions:
        if not isinstance(result, dict):
            raise ConfigurationError("permissions: each entry must be a cloud_permissions_info result (a dict)")
        for row in result.get("permissions") or []:
            if isinstance(row, dict) and row.get("status") not in (None, "allowed"):
                out.append(
                    [
                        str(result.get("cloud") or row.get("cloud") or ""),
                        str(row.get("region") or ""),
                        str(row.get("type") or ""),
                        str(row.get("status")),
                        "permission check",
                        str(row.get("grant") or row.get("message") or ""),
                    ]
                )
    return out


def health_section(conn, clouds, now, permissions=None):
    runs, cl = schema.sync_runs, schema.clouds
    accounts = []
    settings = {}
    for row in conn.execute(
        sa.select(cl).where(cl.c.deleted_at.is_(None), _cloud_filter(cl.c.name, clouds)).order_by(cl.c.name)
    ):
        settings[row.name] = row.settings if isinstance(row.settings, dict) else {}
        accounts.append(
            [row.name, bool(row.paused), row.auth_failures or 0, row.last_auth_error, iso(row.last_auth_error_at)]
        )
    scope = (runs.c.cloud, runs.c.region, runs.c.type)
    where = _cloud_filter(runs.c.cloud, clouds)
    last_ok = {}
    for row in conn.execute(
        sa.select(*scope, sa.func.max(runs.c.finished_at).label("at"))
        .where(where, runs.c.status == "ok")
        .group_by(*scope)
    ):
        last_ok[(row.cloud, row.region, row.type)] = row.at
    latest_ids = sa.select(sa.func.max(runs.c.id).label("id")).where(where).group_by(*scope)
    latest = {}
    for row in conn.execute(sa.select(runs).where(runs.c.id.in_(latest_ids))):
        latest[(row.cloud, row.region, row.type)] = row
    error_ids = (
        sa.select(sa.func.max(runs.c.id).label("id"))
        .where(where, runs.c.error.is_not(None), runs.c.status != "ok")
        .group_by(*scope)
    )
    errors = {}
    for row in conn.execute(
        sa.select(runs.c.cloud, runs.c.region, runs.c.type, runs.c.error, runs.c.started_at, runs.c.status).where(
            runs.c.id.in_(error_ids)
        )
    ):
        errors[(row.cloud, row.region, row.type)] = row
    scopes = []
    gaps = []
    for key in sorted(set(latest) | set(last_ok)):
        cloud, region, rtype = key
        interval = None
        entry = (settings.get(cloud) or {}).get(rtype)
        if isinstance(entry, dict) and entry.get("interval"):
            interval = int(entry["interval"])
        elif rtype in catalog.RESOURCE_TYPES:
            interval = catalog.RESOURCE_TYPES[rtype].default_interval
        ok_at = last_ok.get(key)
        age = None if ok_at is None else int((now - ok_at).total_seconds())
        stale = ok_at is None or (interval is not None and age > STALE_FACTOR * interval)
        last = latest.get(key)
        err = errors.get(key)
        scopes.append(
            [
                cloud,
                region,
                rtype,
                iso(ok_at),
                age,
                interval,
                bool(stale),
                last.status if last is not None else None,
                err.error if err is not None else None,
                iso(err.started_at) if err is not None else None,
            ]
        )
        if last is not None and last.status in GAP_STATUSES:
            hint = ""
            if last.status == "forbidden" and rtype in catalog.RESOURCE_TYPES:
                hint = catalog.RESOURCE_TYPES[rtype].permission_hint or ""
            gaps.append([cloud, region, rtype, last.status, "last sync", last.error or hint])
    gaps.extend(_permission_rows(permissions))
    return {"accounts": accounts, "scopes": scopes, "gaps": gaps, "stale_factor": STALE_FACTOR}


# --- One page per server ---------------------------------------------------------------------------


def servers_section(conn, clouds, limit, total):
    """Detail of up to ``limit`` live servers (the first by name): ports and IPs, volumes,
    security groups, flavor, image, load balancer membership, history."""
    res, rel, ch = schema.resources, schema.relations, schema.changes
    live = sa.and_(res.c.type == "servers", res.c.deleted_at.is_(None), _cloud_filter(res.c.cloud, clouds))
    rows = conn.execute(
        sa.select(
            res.c.cloud,
            res.c.region,
            res.c.id,
            res.c.name,
            res.c.project_id,
            res.c.status,
            res.c.created_at,
            res.c.first_seen,
        )
        .where(live)
        # by name, the order of ix_resources_type_name: the first pages come without sorting every server
        .order_by(res.c.name, res.c.id)
        .limit(int(limit))
    ).fetchall()
    servers = []
    by_key = {}
    groups = {}
    for row in rows:
        entry = {
            "cloud": row.cloud,
            "region": row.region,
            "id": row.id,
            "name": row.name,
            "project_id": row.project_id,
            "status": row.status,
            "created_at": row.created_at,
            "first_seen": iso(row.first_seen),
            "flavor": None,
            "image": None,
            "security_groups": [],
            "volumes": [],
            "ports": [],
            "load_balancers": [],
            "history": [],
        }
        servers.append(entry)
        by_key[(row.cloud, row.region, row.id)] = entry
        groups.setdefault((row.cloud, row.region), []).append(row.id)
    lb_by_address = _lb_members(conn, clouds)
    for (cloud, region), ids in groups.items():
        for chunk in _chunks(ids):
            volume_ids = []
            for edge in conn.execute(
                sa.select(rel.c.source_id, rel.c.relation, rel.c.target_id, rel.c.target_name)
                .where(
                    rel.c.cloud == cloud,
                    rel.c.region == region,
                    rel.c.source_type == "servers",
                    rel.c.source_id.in_(chunk),
                )
                .order_by(rel.c.id)
            ):
                entry = by_key[(cloud, region, edge.source_id)]
                if edge.relation == "flavor":
                    entry["flavor"] = edge.target_name or edge.target_id
                elif edge.relation == "image":
                    entry["image"] = edge.target_id
                elif edge.relation == "security_groups":
                    entry["security_groups"].append(edge.target_name or edge.target_id)
                elif edge.relation == "volumes" and edge.target_id:
                    entry["volumes"].append([edge.target_id, None, None, None])
                    volume_ids.append(edge.target_id)
            _fill_volumes(conn, cloud, region, by_key, chunk, volume_ids)
            _fill_ports(conn, cloud, region, by_key, chunk, lb_by_address.get(cloud, {}))
            for change in conn.execute(
                sa.select(ch.c.resource_id, ch.c.at, ch.c.action, ch.c.diff)
                .where(ch.c.cloud == cloud, ch.c.region == region, ch.c.type == "servers", ch.c.resource_id.in_(chunk))
                .order_by(ch.c.id)
            ):
                by_key[(cloud, region, change.resource_id)]["history"].append(
                    [iso(change.at), change.action, change.diff]
                )
    images = _names(conn, "images", set((s["cloud"], s["image"]) for s in servers if s["image"]))
    for entry in servers:
        if entry["image"]:
            entry["image"] = [entry["image"], images.get((entry["cloud"], entry["image"]))]
    return {"total": total, "rows": servers}


def _names(conn, rtype, keys):
    """``{(cloud, id): name}`` of resources of ``rtype``."""
    res = schema.resources
    out = {}
    by_cloud = {}
    for cloud, rid in keys:
        by_cloud.setdefault(cloud, []).append(rid)
    for cloud, ids in by_cloud.items():
        for chunk in _chunks(ids):
            for row in conn.execute(
                sa.select(res.c.id, res.c.name).where(res.c.cloud == cloud, res.c.type == rtype, res.c.id.in_(chunk))
            ):
                out[(cloud, row.id)] = row.name
    return out


def _fill_volumes(conn, cloud, region, by_key, server_ids, volume_ids):
    res = schema.resources
    info = {}
    for chunk in _chunks(volume_ids):
        for row in conn.execute(
            sa.select(res.c.id, res.c.name, res.c.status, res.c.attributes).where(
                res.c.cloud == cloud, res.c.region == region, res.c.type == "volumes", res.c.id.in_(chunk)
            )
        ):
            size = row.attributes.get("size") if isinstance(row.attributes, dict) else None
            info[row.id] = (row.name, row.status, size)
    for server_id in server_ids:
        for volume in by_key[(cloud, region, server_id)]["volumes"]:
            name, status, size = info.get(volume[0], (None, None, None))
            volume[1:] = [name, status, size]


def _fill_ports(conn, cloud, region, by_key, server_ids, lb_by_address):
    """Ports whose device is one of the servers, their IPs (subnet edges) and the load balancers
    that have a member on one of those IPs."""
    res, rel = schema.resources, schema.relations
    port_server = {}
    # only the columns of ix_relations_target in the WHERE: with region and source_type there too,
    # SQLite picks ix_relations_source and reads every port edge of the region (seconds at 200,000 ports)
    for edge in conn.execute(
        sa.select(rel.c.region, rel.c.source_type, rel.c.source_id, rel.c.target_id).where(
            rel.c.cloud == cloud,
            rel.c.target_type == "servers",
            rel.c.target_id.in_(server_ids),
            rel.c.relation == "device",
        )
    ):
        if edge.region == region and edge.source_type == "ports":
            port_server[edge.source_id] = edge.target_id
    ports = {}
    for chunk in _chunks(port_server):
        for row in conn.execute(
            sa.select(res.c.id, res.c.name, res.c.status).where(
                res.c.cloud == cloud,
                res.c.region == region,
                res.c.type == "ports",
                res.c.id.in_(chunk),
                res.c.deleted_at.is_(None),
            )
        ):
            ports[row.id] = [row.id, row.name, row.status, []]
        for edge in conn.execute(
            sa.select(rel.c.source_id, rel.c.target_name)
            .where(
                rel.c.cloud == cloud,
                rel.c.region == region,
                rel.c.source_type == "ports",
                rel.c.relation == "subnets",
                rel.c.source_id.in_(chunk),
            )
            .order_by(rel.c.id)
        ):
            if edge.source_id in ports and edge.target_name:
                ports[edge.source_id][3].append(edge.target_name)
    for port_id, server_id in sorted(port_server.items()):
        port = ports.get(port_id)
        if port is None:
            continue
        entry = by_key[(cloud, region, server_id)]
        entry["ports"].append(port)
        for address in port[3]:
            for lb in lb_by_address.get(address, ()):
                if lb not in entry["load_balancers"]:
                    entry["load_balancers"].append(lb)


def _lb_members(conn, clouds):
    """``{cloud: {member address: [[lb id, lb name], ...]}}`` of live load balancers."""
    res, rel = schema.resources, schema.relations
    out = {}
    query = (
        sa.select(rel.c.cloud, rel.c.target_name, res.c.id, res.c.name)
        # from the load balancers (few, through the type index) to their edges (ix_relations_source)
        .select_from(
            res.join(
                rel,
                sa.and_(
                    rel.c.cloud == res.c.cloud,
                    rel.c.region == res.c.region,
                    rel.c.source_type == res.c.type,
                    rel.c.source_id == res.c.id,
                ),
            )
        )
        .where(
            res.c.type == "load_balancers",
            rel.c.relation == "members",
            rel.c.target_name.is_not(None),
            res.c.deleted_at.is_(None),
            _cloud_filter(res.c.cloud, clouds),
        )
    )
    for row in conn.execute(query):
        entry = out.setdefault(row.cloud, {}).setdefault(row.target_name, [])
        if [row.id, row.name] not in entry:
            entry.append([row.id, row.name])
    return out


# --- The whole report ------------------------------------------------------------------------------


def build_report(store, now=None, clouds=None, previous=None, permissions=None, **options):
    """The report's data (a JSON-able dict) from the CMDB of ``store``."""
    opts = dict(DEFAULTS)
    opts.update((k, v) for k, v in options.items() if v is not None)
    for key, value in opts.items():
        if not isinstance(value, int) or value < (1 if key != "server_pages" else 0):
            raise ConfigurationError("%s: %r must be a whole number of at least 1 (0 for server_pages)" % (key, value))
    now = now or utcnow()
    clouds = _as_list(clouds)
    with store.read() as conn:
        now_data = now_section(conn, clouds, previous)
        current = {}
        for _cloud, _region, rtype, n, _delta in now_data["regions"]:
            current[rtype] = current.get(rtype, 0) + n
        data = {
            "generated_at": iso(now),
            "cmdb_url": store.url,
            "clouds": clouds or [],
            "options": opts,
            "now": now_data,
            "trends": trends_section(conn, clouds, now, opts["trend_days"], current),
            "changes": changes_section(conn, clouds, opts["changes_limit"]),
            "waste": waste_section(conn, clouds, now, opts["waste_days"], opts["rows_limit"]),
            "health": health_section(conn, clouds, now, permissions),
            "servers": servers_section(conn, clouds, opts["server_pages"], current.get("servers", 0)),
        }
    return data


def read_previous(path):
    """The data embedded in an earlier report at ``path`` (``None`` when absent or unreadable)."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None
    marker = 'id="%s">' % DATA_ID
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = text.find("</script>", start)
    try:
        data = json.loads(text[start:end])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def write_atomically(path, content, mode=0o644):
    """Write ``content`` (bytes) to ``path`` through a temporary file in the same directory."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(directory):
        raise ConfigurationError("path: the directory %s does not exist; create it or choose another path" % directory)
    fd, tmp = tempfile.mkstemp(prefix=".cmdb-report-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def summary(data):
    """A small summary for the module's result (numbers only: no cloud string)."""
    live = {}
    for cloud, _region, rtype, n, _delta in data["now"]["regions"]:
        live.setdefault(cloud, {})
        live[cloud][rtype] = live[cloud].get(rtype, 0) + n
    return {
        "live": live,
        "changes": data["changes"]["total"],
        "waste": dict((k["kind"], k["total"]) for k in data["waste"]["kinds"]),
        "stale_scopes": sum(1 for s in data["health"]["scopes"] if s[6]),
        "permission_gaps": len(data["health"]["gaps"]),
        "server_pages": len(data["servers"]["rows"]),
        "servers": data["servers"]["total"],
    }


def run_report(params, check_mode=False, now=None):
    """``cmdb_report``: build the data, render, write ``path``; the result dict."""
    from ansible_collections.cmdb.openstack.plugins.module_utils import report_html
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader

    path = params.get("path")
    if not path:
        raise ConfigurationError("path: give the file to write, for example /var/lib/cmdb/report.html")
    previous = read_previous(path)
    store = open_reader(params.get("cmdb_url"))
    try:
        data = build_report(
            store,
            now=now,
            clouds=params.get("cloud"),
            previous=previous,
            permissions=params.get("permissions"),
            waste_days=params.get("waste_days"),
            trend_days=params.get("trend_days"),
            changes_limit=params.get("changes_limit"),
            server_pages=params.get("server_pages"),
            rows_limit=params.get("rows_limit"),
        )
    finally:
        store.close()
    content = report_html.render(data, title=params.get("title") or "CMDB report").encode("utf-8")
    if not check_mode:
        write_atomically(path, content)
    return {
        "changed": True,
        "path": path,
        "size": len(content),
        "summary": summary(data),
        "cmdb_url": store.url,
        "msg": "%s the CMDB report %s (%d bytes)" % ("would write" if check_mode else "wrote", path, len(content)),
    }
