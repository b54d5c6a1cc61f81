# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the ``cmdb.openstack.inventory`` plugin gets its servers: the CMDB, or the clouds live.

Both functions return an :class:`InventoryData`: ``views`` (one ``openstack`` host variable per
server, see ``inventory_hosts.server_view``), ``failures`` (one per failed cloud or region, each
naming the cloud) and ``warnings`` (old CMDB data). Neither raises for a failing cloud: the
plugin decides, with ``fail_on_errors``, whether a failure fails the inventory.

``read_cmdb`` uses a fixed handful of set-based queries (servers; their relations and the floating
IPs that point at them; the names of related resources; the last successful servers sync per
region) whatever the number of servers: no query per server, no API call.

``read_live`` runs one thread per cloud (``open_cloud`` + ``gather``); a cloud that is dead, slow
(past ``timeout``), forbidden or failing in any other way (any exception, keystoneauth's included)
becomes a failure naming the cloud, and the other clouds' servers are kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time

from ansible_collections.cmdb.openstack.plugins.module_utils.clock import naive_utc, utcnow
from ansible_collections.cmdb.openstack.plugins.plugin_utils.inventory_hosts import (
    VIEW_ATTRIBUTES,
    VIEW_SUBKEYS,
    server_view,
)

#: Types whose names the host variables show (looked up by id). Network and security group names,
#: the flavor and the addresses are in the server's own attributes already.
NAME_TYPES = ("images", "volumes", "floating_ips", "flavors")

#: What ``source: live`` lists: servers and images by default; ``expand_hostvars`` adds volumes
#: (names) and floating IPs (authoritative floating addresses).
LIVE_TYPES = ("servers", "images")
LIVE_EXPANDED_TYPES = ("servers", "images", "volumes", "floating_ips")


class Failure:
    """One cloud (or one region of it) whose servers could not be listed."""

    def __init__(self, cloud, message, region=None, status="error"):
        self.cloud = cloud
        self.region = region
        self.status = status
        self.message = message

    def __str__(self):
        where = "cloud %r" % self.cloud + (" region %r" % self.region if self.region else "")
        text = str(self.message or "")
        # Messages of the shared code already name the cloud; keep them as they are.
        if ("%r" % self.cloud) in text:
            return "%s (%s)" % (text, self.status)
        return "%s: %s (%s)" % (where, text, self.status)

    def as_dict(self):
        return {"cloud": self.cloud, "region": self.region, "status": self.status, "message": str(self.message)}


class InventoryData:
    def __init__(self, views=None, failures=None, warnings=None, info=None):
        self.views = views or []
        self.failures = failures or []
        self.warnings = warnings or []
        self.info = info or {}


def _json(value):
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value or {}


def _age_text(seconds):
    seconds = int(seconds)
    if seconds >= 86400:
        return "%dd%dh" % (seconds // 86400, seconds % 86400 // 3600)
    if seconds >= 3600:
        return "%dh%dm" % (seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "%dm%ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


# ---------------------------------------------------------------------------------------------
# source: cmdb


def open_cmdb(url):
    """Open the CMDB read-only (``cmdb/inventory_view.open_read_only``: nothing created or migrated)."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import inventory_view

    return inventory_view.open_read_only(url)


def read_cmdb(store, clouds=None, regions=None, projects=None, max_age=3600, include_deleted=False, now=None):
    """Servers of the CMDB ``store`` (a ``Store`` or an SQLAlchemy Engine) as host views.

    ``clouds``/``regions``/``projects``: only these (empty = all). ``max_age`` (seconds): a region
    whose last successful servers sync is older gives a warning, and its hosts are ``stale``.
    ``include_deleted``: also servers the CMDB marked deleted (always ``stale``). The queries are
    ``cmdb/inventory_view.server_rows``; this builds the views.
    """
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import inventory_view, queries

    now = naive_utc(now) or utcnow()
    rows = inventory_view.server_rows(
        store,
        clouds=clouds,
        regions=regions,
        projects=projects,
        include_deleted=include_deleted,
        attributes=VIEW_ATTRIBUTES,
        subkeys=VIEW_SUBKEYS,
        name_types=NAME_TYPES,
        now=now,
    )
    names, relations, servers, last_ok, status = rows.names, rows.relations, rows.servers, rows.last_ok, rows.status

    lookup = {}
    for row in names:
        if row[4]:
            lookup[(row[0], row[1], row[2], row[3])] = row[4]

    server_relations = {}
    for cloud, region, source_type, source_id, relation, target_type, target_id, target_name in relations:
        if source_type == "servers":
            server_relations.setdefault((cloud, region, source_id), []).append(
                {"relation": relation, "target_type": target_type, "target_id": target_id, "target_name": target_name}
            )
        elif target_id:  # a floating IP -> its server
            server_relations.setdefault((cloud, region, target_id), []).append(
                {
                    "relation": "floating_ips",
                    "target_type": "floating_ips",
                    "target_id": source_id,
                    "target_name": lookup.get((cloud, region, "floating_ips", source_id)),
                }
            )

    views = []
    newest = {}
    for row in servers:
        cloud, region, sid = row[0], row[1], row[2]
        attributes = _json(row[8])
        last_seen = naive_utc(row[10])
        confirmed = queries.confirmed_at(last_ok, cloud, region, "servers", row[4])
        if confirmed is not None and row[11] is None and (last_seen is None or confirmed > last_seen):
            # Unchanged servers are not rewritten by a sync: the last complete servers sync of the
            # region confirms every server it did not mark deleted.
            last_seen = confirmed
        name = attributes.get("name") if isinstance(attributes, dict) else None
        record = {
            "cloud": cloud,
            "region": region,
            "id": sid,
            # the name column is a cleaned copy (NUL replaced, length capped); the item has the exact name
            "name": name if isinstance(name, str) else row[3],
            "project_id": row[4],
            "status": row[5],
            "created_at": row[6],
            "updated_at": row[7],
            "attributes": attributes,
            "first_seen": row[9],
            "last_seen": last_seen,
            "deleted_at": row[11],
            "relations": server_relations.get((cloud, region, sid), ()),
        }
        views.append(server_view(record, lookup, now=now, max_age=max_age, source="cmdb"))
        key = (cloud, region)
        seen = confirmed or last_seen
        if seen is not None and (key not in newest or seen > newest[key]):
            newest[key] = seen

    warnings = []
    if max_age:
        for (cloud, region), seen in sorted(newest.items()):
            age = (now - seen).total_seconds()
            if age > max_age:
                warnings.append(
                    "cloud %r region %r: the CMDB's servers are %s old (last confirmed %sZ), older than max_age %s; "
                    "their hosts are marked stale. Run cmdb.openstack.cmdb_sync (playbooks/sync.yml) for this cloud"
                    % (cloud, region, _age_text(age), seen.replace(microsecond=0).isoformat(), _age_text(max_age))
                )
    for entry in status:
        if entry["left_catalog"]:
            warnings.append(
                "cloud %r region %r: the service of %s left the service catalog (last synced %s); the CMDB keeps "
                "its items as they were" % (entry["cloud"], entry["region"], entry["type"], entry["last_ok"])
            )
    info = {
        "servers": len(views),
        "regions": {"%s/%s" % key: value.isoformat() for key, value in newest.items()},
        "sync_status": status,
    }
    return InventoryData(views=views, warnings=warnings, info=info)


# ---------------------------------------------------------------------------------------------
# source: live


def live_views(records_by_type, now=None):
    """Host views from gathered records ``{type: [records]}`` (servers, images, volumes, floating_ips)."""
    lookup = {}
    fip_by_server = {}
    for rtype in NAME_TYPES:
        for record in records_by_type.get(rtype) or ():
            if record.get("name"):
                lookup[(record.get("cloud"), record.get("region"), rtype, record.get("id"))] = record["name"]
    for fip in records_by_type.get("floating_ips") or ():
        server_id = None
        for relation in fip.get("relations") or ():
            if relation.get("relation") == "server" and relation.get("target_id"):
                server_id = relation["target_id"]
        if server_id:
            fip_by_server.setdefault((fip.get("cloud"), fip.get("region"), server_id), []).append(
                {
                    "relation": "floating_ips",
                    "target_type": "floating_ips",
                    "target_id": fip.get("id"),
                    "target_name": fip.get("name"),
                }
            )
    now = naive_utc(now) or utcnow()
    views = []
    for record in records_by_type.get("servers") or ():
        extra = fip_by_server.get((record.get("cloud"), record.get("region"), record.get("id")))
        if extra:
            record = dict(record)
            record["relations"] = list(record.get("relations") or ()) + extra
        record = dict(record)
        record.setdefault("last_seen", now)
        record.setdefault("first_seen", None)
        views.append(server_view(record, lookup, now=now, max_age=None, source="live"))
    return views


def _describe(exc):
    """The collection's own errors say what failed and how to fix it; anything else gets its class name."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError

    if isinstance(exc, CmdbError):
        return exc.message
    text = str(getattr(exc, "message", None) or exc).strip()
    return "%s: %s" % (exc.__class__.__name__, text) if text else exc.__class__.__name__


def trim_record(rtype, record):
    """What the host views need of one listed record: for a server its envelope and the
    ``VIEW_ATTRIBUTES`` of its item; for an image, volume, flavor or floating IP its id, name and
    (floating IPs) the server it points at. Applied to every page as it arrives, so the Nova items
    (``user_data``, ~2 KB of JSON, several KB as Python objects) never pile up in memory."""
    if rtype == "servers":
        attributes = record.get("attributes") or {}
        trimmed = dict(record)
        trimmed["attributes"] = {key: attributes[key] for key in VIEW_ATTRIBUTES if key in attributes}
        return trimmed
    trimmed = {key: record.get(key) for key in ("id", "name", "cloud", "region")}
    if rtype == "floating_ips":
        trimmed["relations"] = [rel for rel in record.get("relations") or () if rel.get("relation") == "server"]
    return trimmed


class _TrimmingConsumer:
    """A ``gather`` consumer that keeps each page's records trimmed (see :func:`trim_record`)."""

    def __init__(self):
        self.records = {}

    def start(self, scope):
        self.records.setdefault(scope, [])

    def page(self, scope, records):
        self.records.setdefault(scope, []).extend(trim_record(scope.type, record) for record in records)

    def finish(self, scope, report):
        pass


def account_scope(account):
    """The project scope of a registered account (``cloud_account``'s ``all_projects`` and
    ``projects``) as keys of a ``read_live`` target: ``{"all_projects": True}`` and/or
    ``{"projects": [project ids]}``; ``{}`` when the account sets none (or the CMDB predates them)."""
    scope = {}
    if account.get("all_projects"):
        scope["all_projects"] = True
    projects = [str(project) for project in account.get("projects") or () if project]
    if projects:
        scope["projects"] = projects
    return scope


def _live_one(target, types, all_projects, server_filters, open_cloud, gather):
    """(records_by_type, failures, warnings) for one cloud; never raises.

    A target's own ``all_projects`` (an account's scope) wins over the option; a target with
    ``projects`` lists every project and keeps the servers of those projects."""
    name = target["name"]
    projects = set(target.get("projects") or ())
    all_projects = bool(target.get("all_projects", all_projects) or projects)
    records = {}
    failures = []
    warnings = []
    session = None
    try:
        session = open_cloud(target["params"], name=name)
        warnings.extend(getattr(session, "warnings", None) or [])
        filters = {"servers": dict(server_filters)} if server_filters else None
        consumer = _TrimmingConsumer()
        reports = gather(session, list(types), all_projects=all_projects, filters=filters, consumer=consumer)
        for report in reports:
            scope = report.scope
            kept = consumer.records.pop(scope, None)
            if report.status != "ok":
                if scope.type == "servers":
                    failures.append(Failure(name, report.message, region=scope.region, status=report.status))
                    continue
                # A missing listing of names only loses names, not hosts: a warning, not a failure.
                if report.status != "not_in_catalog":
                    warnings.append(
                        "cloud %r region %r: %s not listed (%s), the hosts lack their names: %s"
                        % (name, scope.region, scope.type, report.status, report.message)
                    )
                continue
            kept = kept if kept is not None else (report.records or ())
            if projects and scope.type == "servers":
                kept = [record for record in kept if record.get("project_id") in projects]
            records.setdefault(scope.type, []).extend(kept)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        status = getattr(exc, "details", {}).get("status") if hasattr(exc, "details") else None
        failures.append(Failure(name, _describe(exc), status=status or "error"))
        records = {}
    finally:
        if session is not None:
            try:
                session.close()
            except Exception:  # noqa: S110 - closing is best effort
                pass
    return records, failures, warnings


def read_live(
    targets,
    all_projects=False,
    server_filters=None,
    expand=False,
    timeout=120,
    open_cloud=None,
    gather=None,
    now=None,
):
    """Servers of every cloud in ``targets`` ([{"name": ..., "params": open_cloud params}]), concurrently.

    One thread per cloud; a cloud still running after ``timeout`` seconds is a failure ("did not
    answer within ..."), its thread abandoned (a daemon thread: it cannot keep Ansible from exiting).
    """
    if open_cloud is None or gather is None:
        from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
        from ansible_collections.cmdb.openstack.plugins.module_utils import gather as _gather

        open_cloud = open_cloud or _connection.open_cloud
        gather = gather or _gather.gather
    types = LIVE_EXPANDED_TYPES if expand else LIVE_TYPES
    results = {}
    threads = []
    for target in targets:

        def run(target=target):
            results[target["name"]] = _live_one(target, types, all_projects, server_filters, open_cloud, gather)

        thread = threading.Thread(target=run, name="cmdb-inventory-%s" % target["name"])
        thread.daemon = True
        thread.start()
        threads.append((target, thread))
    deadline = time.monotonic() + timeout if timeout else None
    failures = []
    warnings = []
    merged = {}
    for target, thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if thread.is_alive() or target["name"] not in results:
            failures.append(
                Failure(target["name"], "did not answer within %s seconds (timeout)" % timeout, status="timeout")
            )
            continue
        records, cloud_failures, cloud_warnings = results[target["name"]]
        failures.extend(cloud_failures)
        warnings.extend(cloud_warnings)
        for rtype, items in records.items():
            merged.setdefault(rtype, []).extend(items)
    views = live_views(merged, now=now)
    return InventoryData(views=views, failures=failures, warnings=warnings)


def clouds_yaml_names(config_files=None):
    """Cloud names in clouds.yaml (openstacksdk's search path, ``config_files`` first)."""
    import openstack.config
    from openstack.config import loader

    if config_files:
        files = list(config_files) + list(loader.CONFIG_FILES)
        config = openstack.config.OpenStackConfig(config_files=files, load_envvars=False)
    else:
        config = openstack.config.OpenStackConfig(load_envvars=False)
    return [name for name in config.get_cloud_names() if name not in ("envvars", "defaults")]
