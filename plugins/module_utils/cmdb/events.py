# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply notification events to the CMDB (``cmdb_apply_event``): re-read each item, write as a sync does.

An event only says "something happened to item X"; what is written is what the API answers now:

- each (cloud, region, type, id) is read once per call (events are coalesced), by a GET of the
  catalog's show path (``gather.Confirmer``'s request and verdicts); load balancers and routers,
  whose records embed sub-resources, are listed with an ``id`` filter by ``gather.gather`` so that
  the record is the one a sync writes;
- a present item goes through ``CmdbWriter`` (``page``: unchanged items stage nothing; ``finish``:
  insert, update with a field diff, revive, history rows), under the same lease locks
  (``store.sync_lock_name``) and the same per-scope apply lock and "superseded" rule as a sync;
- an item is tombstoned only when its GET answers 404 naming it (or a status meaning gone, such as
  a DELETED server): the sync's proof. Anything else (403, 5xx, a timeout) changes nothing.

Each call records one ``sync_runs`` row per scope with mode ``event`` and status ``event``: never
``ok``, so an event never counts as a successful sync (due logic, staleness, incremental servers).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings, catalog, credentials
from ansible_collections.cmdb.openstack.plugins.module_utils import events as _events
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.apply import CmdbWriter
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.identity import check_identity, session_identity
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import (
    LeaseLock,
    lock_owner,
    open_store,
    sync_lock_name,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

try:
    from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
    from ansible_collections.cmdb.openstack.plugins.module_utils import gather as _gather
    from ansible_collections.cmdb.openstack.plugins.module_utils.normalize import normalize

    HAS_GATHER = True
except ImportError:  # pragma: no cover - openstacksdk missing: reported by the module
    HAS_GATHER = False
    _gather = None
    _connection = None

EVENT_MODE = "event"
EVENT_STATUS = "event"


class EventWriter(CmdbWriter):
    """``CmdbWriter`` for events: no sweep; only the ids proven gone are tombstoned."""

    def _prove(self, run):
        # The proof was made before (the GET of each item): run.gone holds the ids answered 404
        # naming them, and the ids listed with a status that means gone.
        run.doomed = sorted(run.gone)

    def _finish_run(self, conn, run):
        if run.status == "ok":
            run.status = EVENT_STATUS
        super(EventWriter, self)._finish_run(conn, run)


class _Done:
    """What ``CmdbWriter.finish`` reads of a gather report."""

    status = "ok"
    message = None
    http_status = None


if HAS_GATHER:

    class Reader(_gather.Confirmer):
        """``Confirmer`` that keeps the item it read: ``read(region, type, ids)`` ->
        ``{id: (verdict, detail, item)}`` (``item`` only with ``present``)."""

        def read(self, region, type_name, ids):
            self.items = {}
            verdicts = self.confirm(region, type_name, ids)
            return dict((rid, verdicts[rid] + (self.items.get(rid),)) for rid in verdicts)

        def _one(self, proxy, microversion, rtype, rid):
            return super(Reader, self)._one(_Keeper(proxy, self.items, rid), microversion, rtype, rid)

    class _Keeper:
        """A proxy wrapper that remembers the body of a successful GET (for ``Reader``)."""

        def __init__(self, proxy, items, rid):
            self._proxy = proxy
            self._items = items
            self._rid = rid

        def get(self, path, **kwargs):
            response = self._proxy.get(path, **kwargs)
            if 200 <= response.status_code < 300:
                try:
                    body = response.json()
                except ValueError:
                    body = None
                if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), dict):
                    body = next(iter(body.values()))
                if isinstance(body, dict):
                    self._items[self._rid] = body
            return response


def _listed_record(session, rtype, region, rid):
    """The record a sync would write for one load balancer or router (listing with an id filter)."""
    reports = _gather.gather(session, [rtype.name], regions=[region], filters={rtype.name: {"id": rid}}, max_workers=1)
    for report in reports or ():
        if report.status == "ok" and report.records:
            for record in report.records:
                if str(record.get("id")) == rid:
                    return record
    return None


def _open(params, store, open_cloud, check_mode, notes):
    conn_params = _connection.connection_params(params)
    name = None
    account = params.get("account")
    if account:
        conn_params = credentials.connection_params(store, account, conn_params)
        name = conn_params.pop("name", account)
    session = (open_cloud or _connection.open_cloud)(conn_params, name=name)
    try:
        notes.extend(getattr(session, "warnings", None) or [])
        warning = check_identity(
            store,
            session.name,
            session_identity(session),
            accept_change=bool(params.get("accept_identity_change")),
            check_mode=check_mode,
        )
        if warning:
            notes.append(warning)
    except BaseException:
        session.close()
        raise
    return session


def apply_events(params, check_mode=False, open_cloud=None):
    """``cmdb_apply_event``: the module result dict (raises CmdbError)."""
    started = time.monotonic()
    if not HAS_GATHER and open_cloud is None:
        raise ConfigurationError("cmdb_apply_event needs openstacksdk")
    raw = params.get("events") or []
    if isinstance(raw, dict):
        raw = [raw]
    cleaned, invalid = [], []
    for index, event in enumerate(raw):
        try:
            cleaned.append(_events.validate_event(event))
        except _events.InvalidEvent as exc:
            invalid.append("event %d: %s" % (index, exc))
    items = _events.coalesce(cleaned)
    result = {
        "changed": False,
        "events": len(raw),
        "event_items": [],
        "invalid": invalid,
        "skipped_items": [],
        "scopes": [],
        "changes": [],
        "warnings": [],
    }
    if not items:
        result["msg"] = "no event to apply (%d given, %d invalid)" % (len(raw), len(invalid))
        result["duration"] = round(time.monotonic() - started, 3)
        return result
    store = open_store(params.get("cmdb_url"))
    session = None
    lock = None
    try:
        account = params.get("account")
        want_cloud = account or None
        mine = []
        for item in items:
            if item.get("cloud") and want_cloud and item["cloud"] != want_cloud:
                result["skipped_items"].append(dict(item, reason="another cloud"))
            else:
                mine.append(item)
        try:
            # every region of the connection (an event naming another region is skipped, not fatal)
            session = _open(params, store, open_cloud, check_mode, result["warnings"])
        except account_settings.AccountUnavailable as exc:
            if exc.reason != "paused":
                raise
            result["skipped_items"].extend(dict(item, reason="account paused") for item in mine)
            result["msg"] = "account %s is paused: nothing applied" % account
            return result
        cloud = session.name
        known_regions = list(session.regions)
        scopes = {}
        for item in mine:
            if item.get("cloud") and item["cloud"] != cloud:
                result["skipped_items"].append(dict(item, reason="another cloud"))
                continue
            region = item.get("region") or (known_regions[0] if len(known_regions) == 1 else None)
            if region not in known_regions:
                result["skipped_items"].append(dict(item, reason="region not served by this connection"))
                continue
            scopes.setdefault((region, item["type"]), []).append(item)
        owner = lock_owner()
        if scopes and not check_mode:
            names = [sync_lock_name(cloud, region, rtype) for region, rtype in scopes]
            lock = LeaseLock(store, names, owner=owner)
            lock_timeout = params.get("lock_timeout")
            lock.acquire(timeout=120 if lock_timeout is None else lock_timeout, poll=0.1)
        writer = EventWriter(
            store,
            cloud=cloud,
            modes=dict((rtype, EVENT_MODE) for _region, rtype in scopes),
            check_mode=check_mode,
            diff=True,
            owner=owner,
            heartbeat=lock.renew if lock is not None else None,
        )
        reader = Reader(session)
        for (region, type_name), group in sorted(scopes.items()):
            rtype = catalog.get_type(type_name)
            scope = _gather.Scope(cloud, region, type_name)
            run = writer.start(scope)
            ids = [item["id"] for item in group]
            verdicts = reader.read(region, type_name, ids)
            records = []
            for item in group:
                rid = item["id"]
                verdict, detail, body = verdicts.get(rid) or ("unknown", "no answer", None)
                entry = {
                    "region": region,
                    "type": type_name,
                    "id": rid,
                    "event_types": item["event_types"],
                    "count": item["count"],
                    "verdict": verdict,
                }
                if verdict == "present" and body is not None:
                    record = None
                    if rtype.sub_listings:
                        record = _listed_record(session, rtype, region, rid)
                    records.append(record or normalize(rtype, body, cloud, region))
                elif verdict == "gone":
                    run.gone.add(rid)
                else:
                    entry["detail"] = detail
                    result["warnings"].append(
                        "%s/%s/%s %s: not applied (%s); the next event or sync tries again"
                        % (cloud, region, type_name, rid, detail)
                    )
                result["event_items"].append(entry)
            if records:
                writer.page(scope, records)
            writer.finish(scope, _Done())
        actions = dict(((c["region"], c["type"], c["id"]), c["action"]) for c in writer.changes)
        for entry in result["event_items"]:
            entry["action"] = actions.get((entry["region"], entry["type"], entry["id"]), "unchanged")
            if entry["verdict"] not in ("present", "gone"):
                entry["action"] = "none"
        result["changes"] = writer.changes
        result["scopes"] = writer.results()
        result["cloud"] = cloud
        result["changed"] = bool(writer.changes)
        counts = {}
        for entry in result["event_items"]:
            counts[entry["action"]] = counts.get(entry["action"], 0) + 1
        result["msg"] = "cloud %s: %d event(s), %d item(s): %s" % (
            cloud,
            len(raw),
            len(result["event_items"]),
            ", ".join("%d %s" % (n, a) for a, n in sorted(counts.items())) or "nothing",
        )
        return result
    finally:
        result["duration"] = round(time.monotonic() - started, 3)
        try:
            if lock is not None:
                lock.release()
        finally:
            if session is not None:
                session.close()
            store.close()
