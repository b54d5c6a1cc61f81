# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registered cloud accounts in the CMDB (the ``clouds`` table): persistence, due logic, auth pausing.

All the SQL about accounts lives here; the settings are validated by ``account_settings`` (pure
functions) and the connection of an account is resolved by ``credentials.connection_params``.

* ``get_account``, ``list_accounts``, ``available_account``: read (a read-only store is enough);
* ``ensure_account``, ``unregister_account``: register, update, unregister (``cloud_account``);
* ``due_types``, ``next_due``: which types to sync now, from ``queries.last_ok_syncs`` (the one
  definition of "last successful sync");
* ``record_auth_result``: count auth failures, pause the account.

``store`` is the CMDB store (``cmdb.store``) or anything with an SQLAlchemy ``engine``
attribute, or an ``Engine`` itself. Times are naive UTC ``datetime`` objects, as in every CMDB
table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import traceback
from collections import OrderedDict

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
    SQLALCHEMY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False
    SQLALCHEMY_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.account_settings import (
    AccountUnavailable,
    diff_view,
    naive_utc,
    normalize_settings,
    plain_connection,
    public_view,
    requirements_text,
    validate_name,
    validate_pause_after,
    validate_projects,
    validate_regions,
    validate_resources,
    validate_types,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.clock import iso
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError, StoreError

if HAS_SQLALCHEMY:
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import queries, schema
else:  # pragma: no cover
    queries = schema = None

__all__ = [
    "AccountUnavailable",
    "available_account",
    "due_types",
    "ensure_account",
    "get_account",
    "list_accounts",
    "next_due",
    "public_view",
    "record_auth_result",
    "unregister_account",
]


def _require_sqlalchemy():
    if not HAS_SQLALCHEMY:
        raise StoreError("the CMDB needs the Python library SQLAlchemy (pip install SQLAlchemy)")


def _engine(store):
    _require_sqlalchemy()
    engine = getattr(store, "engine", store)
    if not hasattr(engine, "connect"):
        raise StoreError("not a CMDB store: %r" % (store,))
    return engine


@contextlib.contextmanager
def _read(store):
    """A read connection: the store's own (its errors name the database) or one from an Engine."""
    if hasattr(store, "read"):
        with store.read() as connection:
            yield connection
        return
    try:
        with _engine(store).connect() as connection:
            yield connection
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError("cannot read the CMDB accounts: %s" % _db_message(exc))


@contextlib.contextmanager
def _write(store):
    """One write transaction (``cmdb_write``: the store takes SQLite's write lock at BEGIN)."""
    if hasattr(store, "write"):
        with store.write() as connection:
            yield connection
        return
    try:
        with _engine(store).connect() as connection:
            connection = connection.execution_options(cmdb_write=True)
            with connection.begin():
                yield connection
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError("cannot write the CMDB accounts: %s" % _db_message(exc))


def _db_message(exc):
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def _row_to_account(row):
    settings = normalize_settings(row["settings"])
    all_projects = row.get("all_projects")
    return OrderedDict(
        (
            ("name", row["name"]),
            ("connection", plain_connection(row["connection"] or {})),
            ("regions", list(row["regions"] or [])),
            ("all_projects", True if all_projects is None else bool(all_projects)),
            ("projects", list(row.get("projects") or [])),
            ("settings", settings),
            ("paused", bool(row["paused"])),
            ("pause_after_auth_failures", row["pause_after_auth_failures"]),
            ("auth_failures", row["auth_failures"] or 0),
            ("last_auth_error", row["last_auth_error"]),
            ("last_auth_error_at", row["last_auth_error_at"]),
            ("created_at", row["created_at"]),
            ("updated_at", row["updated_at"]),
            ("deleted_at", row["deleted_at"]),
        )
    )


def _select_row(connection, name):
    table = schema.clouds
    row = connection.execute(sa.select(table).where(table.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def get_account(store, name, include_unregistered=False):
    """The account ``name`` as a dict (``settings`` complete), or None."""
    with _read(store) as connection:
        row = _select_row(connection, name)
    if row is None or (row["deleted_at"] is not None and not include_unregistered):
        return None
    return _row_to_account(row)


def list_accounts(store, include_unregistered=False, names=None):
    """Every registered account (by name), as dicts."""
    with _read(store) as connection:
        return accounts_in(connection, include_unregistered=include_unregistered, names=names)


def accounts_in(connection, include_unregistered=False, names=None):
    """``list_accounts`` on an open connection (for readers that hold one: ``queries``)."""
    table = schema.clouds
    query = sa.select(table).order_by(table.c.name)
    if not include_unregistered:
        query = query.where(table.c.deleted_at.is_(None))
    if names:
        query = query.where(table.c.name.in_(list(names)))
    rows = [dict(row) for row in connection.execute(query).mappings()]
    return [_row_to_account(row) for row in rows]


def ensure_account(
    store,
    name,
    connection=None,
    regions=None,
    resources=None,
    paused=None,
    pause_after_auth_failures=None,
    check_mode=False,
    now=None,
    all_projects=None,
    projects=None,
):
    """Register or update ``name``; return ``{"changed", "account", "diff"}``.

    ``connection`` is the output of ``build_connection`` (required for a new or unregistered
    account). Options left as None keep their stored value (a new account gets the defaults:
    every region, the catalog's settings, not paused). ``resources`` is merged over the stored
    settings type by type and key by key. Changing ``connection`` or setting ``paused: false``
    clears the auth failure count, so an account paused after failed logins runs again once it
    is fixed. ``all_projects``/``projects``: the project scope (``account_settings.validate_projects``;
    both None keep the stored scope, a new account lists every project). In ``check_mode`` nothing is
    written.
    """
    validate_name(name)
    validate_regions(regions)
    validate_pause_after(pause_after_auth_failures)
    validate_projects(projects, all_projects, account=name)
    kwargs = dict(
        all_projects=all_projects,
        projects=projects,
        connection=connection,
        regions=regions,
        resources=resources,
        paused=paused,
        pause_after_auth_failures=pause_after_auth_failures,
        check_mode=check_mode,
        now=naive_utc(now),
    )
    try:
        return _ensure_account(store, name, **kwargs)
    except StoreError as exc:
        # Two registrations of one new account at once (PostgreSQL): the loser sees the winner's row.
        lowered = exc.message.lower()
        if "unique" not in lowered and "duplicate" not in lowered:
            raise
        return _ensure_account(store, name, **kwargs)


def _ensure_account(
    store,
    name,
    connection,
    regions,
    resources,
    paused,
    pause_after_auth_failures,
    check_mode,
    now,
    all_projects,
    projects,
):
    regions = validate_regions(regions)
    all_projects, projects = validate_projects(projects, all_projects, account=name)
    pause_after = validate_pause_after(pause_after_auth_failures)
    with _write(store) as db:
        row = _select_row(db, name)
        existing = _row_to_account(row) if row is not None else None
        registered = existing is not None and existing["deleted_at"] is None
        if not registered and connection is None:
            raise ConfigurationError(
                "account %r is not registered: give cloud (a clouds.yaml cloud name) or auth (%s) to register it"
                % (name, requirements_text())
            )
        base = existing if registered else None
        desired = OrderedDict()
        desired["name"] = name
        desired["connection"] = plain_connection(connection) if connection is not None else base["connection"]
        desired["regions"] = regions if regions is not None else (base["regions"] if base else [])
        if all_projects is not None:
            desired["all_projects"], desired["projects"] = all_projects, projects
        else:
            desired["all_projects"] = base["all_projects"] if base else True
            desired["projects"] = list(base["projects"]) if base else []
        desired["settings"] = validate_resources(resources, base["settings"] if base else None, account=name)
        desired["paused"] = bool(paused) if paused is not None else (base["paused"] if base else False)
        if pause_after_auth_failures is not None:
            desired["pause_after_auth_failures"] = pause_after
        else:
            desired["pause_after_auth_failures"] = base["pause_after_auth_failures"] if base else None
        desired["deleted_at"] = None
        desired["auth_failures"] = base["auth_failures"] if base else 0
        if base is not None and base["auth_failures"]:
            connection_changed = desired["connection"] != base["connection"]
            if connection_changed or paused is False:
                desired["auth_failures"] = 0
            if connection_changed and base["paused"] and paused is None and _auto_paused(base):
                desired["paused"] = False
        before = diff_view(existing)
        after = diff_view(desired)
        changed = before != after
        values = {
            "connection": dict(desired["connection"]),
            "regions": list(desired["regions"]),
            "all_projects": desired["all_projects"],
            "projects": list(desired["projects"]),
            "settings": dict((k, dict(v)) for k, v in desired["settings"].items()),
            "paused": desired["paused"],
            "pause_after_auth_failures": desired["pause_after_auth_failures"],
            "deleted_at": None,
        }
        if not desired["auth_failures"] and (base is None or base["auth_failures"]):
            values.update(auth_failures=0, last_auth_error=None, last_auth_error_at=None)
        if changed and not check_mode:
            table = schema.clouds
            if row is None:
                values.update(name=name, created_at=now, updated_at=now)
                db.execute(table.insert().values(**values))
            else:
                values["updated_at"] = now
                db.execute(table.update().where(table.c.name == name).values(**values))
        result_row = dict(row or {}, name=name)
        for key in ("auth_failures", "last_auth_error", "last_auth_error_at", "created_at", "updated_at"):
            result_row.setdefault(key, 0 if key == "auth_failures" else None)
        if changed:
            result_row.update(values, updated_at=now)
            result_row["created_at"] = result_row["created_at"] or now
    account = _row_to_account(result_row)
    return {
        "changed": changed,
        "account": public_view(account),
        "diff": {"before": before, "after": after},
    }


def _auto_paused(account):
    limit = account["pause_after_auth_failures"]
    return bool(limit) and account["auth_failures"] >= limit


def unregister_account(store, name, check_mode=False, now=None):
    """Mark ``name`` unregistered (``deleted_at``); its row and its resources' history stay."""
    validate_name(name)
    now = naive_utc(now)
    with _write(store) as db:
        row = _select_row(db, name)
        if row is None or row["deleted_at"] is not None:
            account = _row_to_account(row) if row is not None else None
            return {"changed": False, "account": public_view(account), "diff": {"before": {}, "after": {}}}
        before = diff_view(_row_to_account(row))
        if not check_mode:
            table = schema.clouds
            db.execute(table.update().where(table.c.name == name).values(deleted_at=now, updated_at=now))
        row = dict(row, deleted_at=now, updated_at=now)
    return {"changed": True, "account": public_view(_row_to_account(row)), "diff": {"before": before, "after": {}}}


# ---------------------------------------------------------------------------------------------
# Used by cmdb_sync


def available_account(store, name):
    with _read(store) as connection:
        row = _select_row(connection, name)
    if row is None:
        raise AccountUnavailable(
            "cloud account %r is not registered in the CMDB; register it with cmdb.openstack.cloud_account" % name,
            "unknown",
        )
    account = _row_to_account(row)
    if account["deleted_at"] is not None:
        raise AccountUnavailable(
            "cloud account %r was unregistered on %s; register it again with cmdb.openstack.cloud_account "
            "(state: present)" % (name, iso(account["deleted_at"])),
            "unregistered",
        )
    return account


def _last_ok_by_scope(store, name):
    """``{type: {region: finished_at}}`` for account ``name``, from ``queries.last_ok_syncs``.

    The due logic asks "when did an ``ok`` run last confirm this type in this region", whatever
    project it listed (a run of every project, or of one of the account's projects): the newest
    ``finished_at`` over the project ids of ``last_ok_syncs``' keys.
    """
    result = {}
    with _read(store) as connection:
        last_ok = queries.last_ok_syncs(connection, cloud=name)
    for (_cloud, region, type_name, _project), at in last_ok.items():
        per_region = result.setdefault(type_name, {})
        if region not in per_region or at > per_region[region]:
            per_region[region] = at
    return result


def _known_regions(store, name):
    table = schema.sync_runs
    query = sa.select(table.c.type, table.c.region).where(table.c.cloud == name).distinct()
    result = {}
    with _read(store) as connection:
        for row in connection.execute(query):
            result.setdefault(row.type, set()).add(row.region)
    return result


def due_types(store, name, requested_types=None, now=None, include_disabled=False, regions=None, force=None):
    """The resource types of account ``name`` to sync now, in catalog order.

    * ``requested_types`` None: the due run. A type is due when it is enabled and its interval
      has passed since its last successful sync (``sync_runs.status == "ok"``) in every region
      of the account: a region that never synced successfully makes the type due. With no
      regions configured (every region of the catalog) the regions are those seen in earlier
      runs of that type. Failed or forbidden runs do not count as syncs, so they are retried on
      the next due run.
    * ``requested_types`` a list (or comma-separated string) of type names, or ``["all"]``: a
      forced run. Those types are returned whether due or not; disabled types are still left
      out unless ``include_disabled`` is true.

    * ``force=False`` with ``requested_types``: only the due ones among them (``force`` defaults
      to true when types are named, false otherwise).
    * ``regions``: only these regions count (a sync of one region, e.g. one host of the
      ``cmdb.openstack.clouds`` inventory per account and region); default: the account's.

    A paused account has no due types (``[]``); an unknown or unregistered account raises
    ``AccountUnavailable``.
    """
    account = available_account(store, name)
    if account["paused"]:
        return []
    settings = account["settings"]
    named = validate_types(requested_types, field="types")
    if force is None:
        force = named is not None
    if force:
        wanted = named if named is not None else list(catalog.RESOURCE_TYPE_NAMES)
        return [t for t in catalog.RESOURCE_TYPE_NAMES if t in wanted and (include_disabled or settings[t]["enabled"])]
    due = []
    for type_name, seconds in _waits(store, account, naive_utc(now), regions).items():
        if seconds <= 0 and (named is None or type_name in named):
            due.append(type_name)
    return due


def _waits(store, account, now, regions=None):
    """``{enabled type: seconds until due}`` (<= 0: due) for ``regions`` (default: the account's)."""
    name = account["name"]
    wanted = validate_regions(regions) or list(account["regions"])
    last = _last_ok_by_scope(store, name)
    known = None if wanted else _known_regions(store, name)
    result = OrderedDict()
    for type_name, entry in account["settings"].items():
        if not entry["enabled"]:
            continue
        scope_regions = wanted or sorted(known.get(type_name, ()))
        per_region = last.get(type_name, {})
        if not scope_regions or any(region not in per_region for region in scope_regions):
            result[type_name] = 0
            continue
        oldest = min(per_region[region] for region in scope_regions)
        result[type_name] = entry["interval"] - (now - oldest).total_seconds()
    return result


def next_due(store, name, now=None, regions=None):
    """``{type: seconds until due (0: due now)}`` for the enabled types of ``name`` (for reports)."""
    account = available_account(store, name)
    waits = _waits(store, account, naive_utc(now), regions)
    return OrderedDict((type_name, max(0, int(seconds))) for type_name, seconds in waits.items())


_MAX_ERROR = 2000


def record_auth_result(store, name, ok, message=None, now=None):
    """Record an authentication attempt of account ``name``.

    A failure increments ``auth_failures`` and stores ``message`` (truncated) and the time; when
    ``pause_after_auth_failures`` is set and reached, the account is paused until someone resumes
    it (``cloud_account`` with ``paused: false`` or a changed auth). A success resets the count and
    clears the stored error. Returns ``{"auth_failures", "paused", "paused_now"}``, or None for an
    account that is not registered (clouds.yaml clouds synced without registration).
    """
    now = naive_utc(now)
    table = schema.clouds
    with _write(store) as db:
        row = _select_row(db, name)
        if row is None or row["deleted_at"] is not None:
            return None
        if ok:
            if row["auth_failures"] or row["last_auth_error"] is not None or row["last_auth_error_at"] is not None:
                db.execute(
                    table.update()
                    .where(table.c.name == name)
                    .values(auth_failures=0, last_auth_error=None, last_auth_error_at=None)
                )
            return {"auth_failures": 0, "paused": bool(row["paused"]), "paused_now": False}
        text = (message or "authentication failed").strip() or "authentication failed"
        if len(text) > _MAX_ERROR:
            text = text[: _MAX_ERROR - 3] + "..."
        db.execute(
            table.update()
            .where(table.c.name == name)
            .values(auth_failures=table.c.auth_failures + 1, last_auth_error=text, last_auth_error_at=now)
        )
        failures = db.execute(sa.select(table.c.auth_failures).where(table.c.name == name)).scalar_one()
        limit = row["pause_after_auth_failures"]
        paused_now = False
        if limit and failures >= limit and not row["paused"]:
            db.execute(table.update().where(table.c.name == name).values(paused=True))
            paused_now = True
        return {"auth_failures": failures, "paused": bool(row["paused"]) or paused_now, "paused_now": paused_now}


# ---------------------------------------------------------------------------------------------
# The cloud_account module
