# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``cmdb_sync`` end to end: account -> cloud session -> locks -> gather -> CmdbWriter -> summary.

Servers are synced incrementally (Nova ``changes-since``, from the start of the last successful
servers run minus a safety margin) once a full listing succeeded within ``full_sync_interval``;
otherwise, and for every other type, a full listing is reconciled. Deletion is proven, never
inferred: an item a complete listing did not return is tombstoned only when a GET of it answers
404 (``gather.Confirmer``, at most ``max_delete_confirmations`` GETs per scope and run; see
``apply.CmdbWriter``). Deleted servers come back from ``changes-since`` with status ``DELETED``:
that status is Nova's own proof, and they are tombstoned without a GET.

A token without an admin role cannot list every project, whatever ``all_projects`` says: its
runs only sweep the token's own project (and never types without a project, such as flavors).

Two runs of one scope never interleave: every scope (cloud, region, type) of a run is locked with
a lease in the ``locks`` table before listing, renewed while pages arrive. Different clouds, or
different types of one cloud, run in parallel.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time
import traceback

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, credentials
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.apply import (
    APPLIED,
    DEFAULT_MAX_CONFIRMATIONS,
    CmdbWriter,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import (
    LeaseLock,
    lock_owner,
    open_store,
    sync_lock_name,
    utcnow,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import (
    CloudError,
    CmdbError,
    ConfigurationError,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import parse_interval

try:
    from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
    from ansible_collections.cmdb.openstack.plugins.module_utils import gather as _gather

    GATHER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - openstacksdk missing
    _connection = _gather = None
    GATHER_IMPORT_ERROR = traceback.format_exc()

#: ``changes-since`` starts this long before the previous run started (clock skew, in-flight changes).
CHANGES_SINCE_MARGIN = 300
DEFAULT_FULL_SYNC_INTERVAL = "1d"
SUMMARY_KEYS = ("new", "updated", "deleted", "reappeared", "unchanged", "errors")
#: Summary counts besides the table columns: items missing from a listing that wait for proof,
#: partial records left as the CMDB held them, scopes where the API still served a missing item.
EXTRA_SUMMARY_KEYS = ("unconfirmed", "partial", "inconsistent")
#: Roles that let a token list every project (the services' default policies).
ADMIN_ROLES = ("admin",)
#: Scope statuses that are not errors.
NOT_ERRORS = ("ok", "not_in_catalog")


def parse_full_sync_interval(value):
    """Seconds between full server reconciliations; 0 means every run is full."""
    if value in (None, ""):
        value = DEFAULT_FULL_SYNC_INTERVAL
    if value in (0, "0"):
        return 0
    return parse_interval(value, field="full_sync_interval")


def _project_match(column, project_id):
    return column.is_(None) if project_id is None else column == project_id


def plan_modes(store, cloud, regions, types, project_id, full_sync_interval, now=None):
    """``({type: mode}, changes_since or None)``: servers incremental when a full run is recent enough."""
    modes = dict((name, "full") for name in types)
    incremental = [name for name in types if catalog.RESOURCE_TYPES[name].changes_since]
    if not incremental or not full_sync_interval:
        return modes, None
    now = now or utcnow()
    runs = schema.sync_runs
    since = None
    with store.read() as conn:
        for name in incremental:
            oldest_ok = None
            full_ok = True
            for region in regions:
                base = sa.select(sa.func.max(runs.c.started_at)).where(
                    runs.c.cloud == cloud,
                    runs.c.region == region,
                    runs.c.type == name,
                    runs.c.status == "ok",
                    _project_match(runs.c.project_id, project_id),
                )
                last_full = conn.execute(base.where(runs.c.mode == "full")).scalar()
                last_ok = conn.execute(base).scalar()
                if last_full is None or (now - last_full).total_seconds() >= full_sync_interval or last_ok is None:
                    full_ok = False
                    break
                oldest_ok = last_ok if oldest_ok is None else min(oldest_ok, last_ok)
            if full_ok and oldest_ok is not None:
                modes[name] = "incremental"
                start = oldest_ok - datetime.timedelta(seconds=CHANGES_SINCE_MARGIN)
                since = start if since is None else min(since, start)
    return modes, (since.strftime("%Y-%m-%dT%H:%M:%SZ") if since else None)


def discard_leftovers(store, cloud, regions, types, owner):
    """Close runs of these scopes that were killed mid-way and drop their staging rows.

    Called while holding the scopes' locks, so no live run can own them.
    """
    runs = schema.sync_runs
    staging = schema.staging
    with store.write() as conn:
        stale = [
            row.id
            for row in conn.execute(
                sa.select(runs.c.id).where(
                    runs.c.cloud == cloud,
                    runs.c.region.in_(list(regions)),
                    runs.c.type.in_(list(types)),
                    runs.c.status == "running",
                    sa.or_(runs.c.owner.is_(None), runs.c.owner != owner),
                )
            )
        ]
        if stale:
            conn.execute(
                runs.update()
                .where(runs.c.id.in_(stale))
                .values(
                    status="aborted",
                    finished_at=utcnow(),
                    error="the run stopped before it finished (killed?); its staged listing was discarded",
                )
            )
        active = sa.select(runs.c.id).where(runs.c.status == "running", runs.c.owner == owner)
        conn.execute(
            staging.delete().where(
                staging.c.cloud == cloud,
                staging.c.region.in_(list(regions)),
                staging.c.type.in_(list(types)),
                staging.c.sync_run_id.not_in(active),
            )
        )
    return stale


def _summary(scopes, types):
    keys = SUMMARY_KEYS + EXTRA_SUMMARY_KEYS
    summary = dict((name, dict((key, 0) for key in keys)) for name in types)
    for scope in scopes:
        entry = summary.setdefault(scope["type"], dict((key, 0) for key in keys))
        for key in ("new", "updated", "deleted", "reappeared", "unchanged", "unconfirmed", "partial"):
            entry[key] += scope["counts"].get(key, 0)
        if scope["status"] not in NOT_ERRORS:
            entry["errors"] += 1
        if scope["status"] == "inconsistent":
            entry["inconsistent"] += 1
    return summary


def token_visibility(session):
    """``(project_id, limited)``: the token's project, and True when its roles are known and none
    lets it list every project (then only that project may be swept)."""
    project = session.project_id()
    try:
        auth_session = session.session
        roles = auth_session.auth.get_access(auth_session).role_names
    except Exception:  # unknown roles: the listing itself is checked (apply.CmdbWriter._visibility)
        return project, False
    if roles is None:
        return project, False
    return project, not any(role in ADMIN_ROLES for role in roles)


def parse_max_confirmations(value):
    if value is None or value == "":
        return DEFAULT_MAX_CONFIRMATIONS
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or str(value).strip() != str(number):
        raise ConfigurationError(
            "max_delete_confirmations: %r is not a whole number >= 0 (GETs per scope and run that prove "
            "a missing item is gone; default %d)" % (value, DEFAULT_MAX_CONFIRMATIONS)
        )
    return number


def _describe_scope(scope):
    text = "%s/%s/%s %s" % (scope["cloud"], scope["region"], scope["type"], scope["status"])
    if scope.get("http_status"):
        text += " (HTTP %s)" % scope["http_status"]
    if scope.get("message"):
        text += ": %s" % scope["message"]
    return text


def summary_lines(cloud, summary):
    """A fixed-width table (one line per type) a person reads in the task output."""
    header = "%-18s %7s %8s %8s %10s %10s %7s" % (
        "type",
        "new",
        "updated",
        "deleted",
        "reappeared",
        "unchanged",
        "errors",
    )
    lines = ["cloud %s" % cloud, header]
    for name, entry in summary.items():
        lines.append(
            "%-18s %7d %8d %8d %10d %10d %7d"
            % (
                name,
                entry["new"],
                entry["updated"],
                entry["deleted"],
                entry["reappeared"],
                entry["unchanged"],
                entry["errors"],
            )
        )
    return lines


def _diff_text(changes, truncated):
    lines = []
    signs = {"created": "+", "deleted": "-", "updated": "~", "reappeared": "*"}
    for change in changes:
        label = "%s %s/%s/%s %s" % (
            signs.get(change["action"], "?"),
            change["cloud"],
            change["region"],
            change["type"],
            change["id"],
        )
        if change.get("name"):
            label += " (%s)" % change["name"]
        lines.append("%s %s" % (label, change["action"]))
        for field, values in sorted((change.get("diff") or {}).items()):
            lines.append("    %s: %r -> %r" % (field, values.get("old"), values.get("new")))
    if truncated:
        lines.append("... and %d more changes" % truncated)
    return "\n".join(lines) + ("\n" if lines else "")


def run_sync(params, check_mode=False, diff=False, open_cloud=None, gather=None, now=None, confirmer=None):
    """Sync one cloud into the CMDB; return the module result dict (raises CmdbError).

    ``confirmer(session)`` -> an object with ``confirm(region, type, ids)`` (default
    ``gather.Confirmer``): the GETs that prove missing items gone.
    """
    started = time.monotonic()
    open_cloud = open_cloud or (_connection.open_cloud if _connection else None)
    gather = gather or (_gather.gather if _gather else None)
    confirmer = confirmer or (_gather.Confirmer if _gather else None)
    if open_cloud is None or gather is None:
        raise ConfigurationError("cmdb_sync needs openstacksdk: %s" % (GATHER_IMPORT_ERROR or "not importable"))
    types = catalog.resolve_type_names(params.get("types"))
    max_confirmations = parse_max_confirmations(params.get("max_delete_confirmations"))
    full_interval = parse_full_sync_interval(params.get("full_sync_interval"))
    account = params.get("account")
    if params.get("only_due") and not account:
        raise ConfigurationError("only_due: needs account (the due logic reads a registered account's intervals)")
    lock_timeout = params.get("lock_timeout")
    lock_timeout = 600 if lock_timeout is None else lock_timeout
    store = open_store(params.get("cmdb_url"))
    session = None
    account_row = None
    try:
        conn_params = _connection.connection_params(params)
        name = None
        if account:
            account_row = accounts.get_account(store, account)
            try:
                conn_params = credentials.connection_params(store, account, conn_params)
            except accounts.AccountUnavailable as exc:
                if exc.reason != "paused":
                    raise
                # A paused account is a state the operator chose (or auth failures caused), not an error.
                return {
                    "changed": False,
                    "skipped": True,
                    "cloud": account,
                    "cmdb_url": store.url,
                    "types": [],
                    "summary": {},
                    "scopes": [],
                    "warnings": [],
                    "msg": "account %s is paused: nothing synced (%s)" % (account, exc.message),
                    "duration": round(time.monotonic() - started, 3),
                }
            name = conn_params.pop("name", account)
            requested = params.get("types") if params.get("types") else None
            regions = list(params["regions"]) if params.get("regions") else None
            if params.get("only_due"):
                # With types named, only_due means "the due ones among these".
                types = accounts.due_types(
                    store, account, requested_types=requested, now=now, regions=regions, force=False
                )
            else:
                types = accounts.due_types(
                    store, account, requested_types=requested or ["all"], now=now, regions=regions
                )
        if params.get("regions"):
            conn_params["region_name"] = list(params["regions"])
        base = {
            "changed": False,
            "cloud": name,
            "cmdb_url": store.url,
            "types": types,
            "summary": {},
            "scopes": [],
            "warnings": [],
        }
        if not types:
            base["msg"] = "cloud %s: nothing to sync (no resource type is due or enabled)" % (name or "?")
            base["duration"] = round(time.monotonic() - started, 3)
            return base
        try:
            session = open_cloud(conn_params, name=name)
        except CloudError as exc:
            if account and exc.details.get("status") == "auth_failed":
                accounts.record_auth_result(store, account, False, exc.message)
            raise
        cloud = session.name
        regions = list(session.regions)
        project_id = params.get("project_id")
        all_projects = params.get("all_projects")
        projects = []
        if account_row is not None and all_projects is None and not project_id:
            # The account's project scope, unless the module's options say otherwise.
            all_projects = account_row["all_projects"]
            projects = list(account_row["projects"] or [])
        if all_projects is None:
            all_projects = True
        if projects:
            # One listing per project: a project filter (the admin's all-projects query plus the project,
            # as with the project_id option), or the token's own project without the admin query.
            own = session.project_id()
            targets = []
            for project in projects:
                resolved = resolve_project(session, project)
                targets.append((resolved, resolved != own))
        else:
            targets = [(project_id, all_projects)]
        scopes = []
        writers = []
        for target_project, target_all in targets:
            writer, target_scopes = _sync_target(
                store,
                session,
                params,
                types,
                regions,
                target_project,
                target_all,
                full_interval,
                max_confirmations,
                lock_timeout,
                check_mode,
                diff,
                now,
                confirmer,
                gather,
            )
            writers.append(writer)
            if projects:
                for scope in target_scopes:
                    scope["project_id"] = target_project
            scopes.extend(target_scopes)
        writer = _Changes(writers)
        if account:
            failed_auth = [s for s in scopes if s["status"] == "auth_failed"]
            if failed_auth:
                accounts.record_auth_result(store, account, False, _describe_scope(failed_auth[0]))
            elif not check_mode:
                accounts.record_auth_result(store, account, True)
        return _result(base, cloud, types, scopes, writer, params, check_mode, diff, started)
    finally:
        try:
            if session is not None:
                session.close()
        finally:
            store.close()


class _Changes:
    """The change rows of the writers of one run (one writer per project of a scoped account)."""

    def __init__(self, writers):
        self.changes = [change for writer in writers for change in writer.changes]
        self.changes_truncated = any(writer.changes_truncated for writer in writers)


def resolve_project(session, project):
    """The id of ``project`` (a project name or id) as Keystone knows it; CloudError when unknown."""
    try:
        conn = session.connection(next(iter(session.regions)))
        # ignore_missing=False: openstacksdk deprecates True (RemovedInSDK60Warning); not found is an exception
        found = conn.identity.find_project(project, ignore_missing=False)
    except Exception as exc:
        found = None
        if exc.__class__.__name__ in ("NotFoundException", "ResourceNotFound"):
            error = None
        else:
            error = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    else:
        error = None
    if found is not None:
        return found.id
    if project == session.project_id():
        return project
    raise CloudError(
        "cloud %s: the project %r of the account's projects is unknown%s; give project ids, or let the account "
        "list projects (identity:list_projects)" % (session.name, project, " (%s)" % error if error else "")
    )


def _sync_target(
    store,
    session,
    params,
    types,
    regions,
    project_id,
    all_projects,
    full_interval,
    max_confirmations,
    lock_timeout,
    check_mode,
    diff,
    now,
    confirmer,
    gather,
):
    """Gather ``types`` of one project target (``project_id`` or every/the token's project) into the CMDB."""
    cloud = session.name
    lock = None
    try:
        sweep_project = project_id
        if not all_projects and not project_id:
            sweep_project = session.project_id()
            if sweep_project is None:
                raise CloudError(
                    "cloud %s: all_projects is false but the token's project id is unknown; give project_id" % cloud
                )
        token_project, limited = token_visibility(session)
        modes, changes_since = plan_modes(store, cloud, regions, types, sweep_project, full_interval, now=now)
        owner = lock_owner()
        if not check_mode:
            lock = LeaseLock(store, [sync_lock_name(cloud, r, t) for r in regions for t in types], owner=owner)
            lock.acquire(timeout=lock_timeout)
            discard_leftovers(store, cloud, regions, types, owner)
            # Plan again: a run that held the lock meanwhile may have changed what is due.
            modes, changes_since = plan_modes(store, cloud, regions, types, sweep_project, full_interval, now=now)
        writer = CmdbWriter(
            store,
            cloud=cloud,
            modes=modes,
            project_id=sweep_project,
            allow_empty_sweep=bool(params.get("allow_empty_sweep")),
            check_mode=check_mode,
            diff=diff,
            owner=owner,
            heartbeat=lock.renew if lock is not None else None,
            confirm=confirmer(session).confirm if confirmer is not None else None,
            max_confirmations=max_confirmations,
            token_project=token_project,
            limited_visibility=limited and all_projects and not project_id,
        )
        try:
            reports = gather(
                session,
                types,
                regions=regions,
                consumer=writer,
                all_projects=all_projects,
                project_id=project_id,
                changes_since=changes_since,
                resolve_member_ports=bool(params.get("resolve_member_ports")),
            )
        except CmdbError as exc:
            writer.abort_unfinished(exc.message)
            raise
        except Exception as exc:
            message = "cloud %s: the sync stopped: %s: %s" % (cloud, exc.__class__.__name__, exc)
            writer.abort_unfinished(message)
            raise CloudError(message)
        scopes = writer.results()
        seen = set((s["region"], s["type"]) for s in scopes)
        for report in reports or ():
            scope = report.scope
            if (scope.region, scope.type) not in seen:
                scopes.append(
                    {
                        "cloud": cloud,
                        "region": scope.region,
                        "type": scope.type,
                        "mode": modes.get(scope.type, "full"),
                        "status": report.status,
                        "message": report.message,
                        "http_status": report.http_status,
                        "counts": {},
                        "sync_run_id": None,
                    }
                )
        return writer, scopes
    finally:
        if lock is not None:
            lock.release()


def _result(base, cloud, types, scopes, writer, params, check_mode, diff, started):
    summary = _summary(scopes, types)
    totals = dict((key, sum(entry[key] for entry in summary.values())) for key in SUMMARY_KEYS)
    changed = any(totals[key] for key in ("new", "updated", "deleted", "reappeared"))
    failed = [s for s in scopes if s["status"] not in NOT_ERRORS]
    applied = [s for s in scopes if s["status"] in APPLIED]
    duration = round(time.monotonic() - started, 3)
    regions = sorted(set(s["region"] for s in scopes))
    for key in EXTRA_SUMMARY_KEYS:
        totals[key] = sum(entry.get(key, 0) for entry in summary.values())
    msg = "cloud %s%s: %d new, %d updated, %d deleted, %d reappeared, %d unchanged (%d types x %d regions, %.1f s)" % (
        cloud,
        " (check mode, nothing written)" if check_mode else "",
        totals["new"],
        totals["updated"],
        totals["deleted"],
        totals["reappeared"],
        totals["unchanged"],
        len(types),
        len(regions),
        duration,
    )
    if totals["unconfirmed"]:
        msg += "; %d missing item(s) not marked deleted until a GET proves them gone" % totals["unconfirmed"]
    if totals["partial"]:
        msg += "; %d partial record(s) (a cell down?) left as the CMDB held them" % totals["partial"]
    warnings = ["%s" % _describe_scope(s) for s in failed]
    for scope in scopes:
        warnings.extend(scope.get("warnings") or ())
    if failed:
        msg += "; %d scope(s) not synced (nothing deleted there): %s" % (
            len(failed),
            "; ".join(_describe_scope(s) for s in failed),
        )
    result = dict(base)
    result.update(
        changed=changed,
        cloud=cloud,
        summary=summary,
        totals=totals,
        scopes=scopes,
        duration=duration,
        msg=msg,
        summary_lines=summary_lines(cloud, summary),
        warnings=warnings,
    )
    result["failed_scopes"] = len(failed)
    if diff:
        result["changes"] = writer.changes
        result["diff"] = {"prepared": _diff_text(writer.changes, writer.changes_truncated)}
    if failed and (params.get("strict") or not applied):
        result["failed"] = True
    return result
