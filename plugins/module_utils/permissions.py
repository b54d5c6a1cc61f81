# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which resource types may this account list? A one-item listing per region and type.

``check_permissions(session, types)`` lists one item (``limit=1``, one page) of every type in
every region of an authenticated ``connection.CloudSession`` through the same code path as a sync
(``gather.gather``), and classifies each scope:

* ``allowed``: the listing worked;
* ``forbidden``: HTTP 403, with what to grant (the catalog's ``permission_hint``). When listing
  every project was refused but the token's own project may be listed, the row says so
  (``own_project: allowed``): the account lacks the admin role that ``all_projects`` needs;
* ``not_in_catalog``: the service is not in the token's service catalog for that region;
* ``error``: anything else (a 5xx, a timeout, malformed JSON...), with the message.

The result is data (``permissions``: one dict per region and type, ``summary``) and a table a
person can read (``report``: lines; ``msg``: one line). Nothing here writes anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog
from ansible_collections.cmdb.openstack.plugins.module_utils import secrets as _secrets

STATUSES = ("allowed", "forbidden", "not_in_catalog", "error")

_FROM_SCOPE = {"ok": "allowed", "forbidden": "forbidden", "not_in_catalog": "not_in_catalog"}

#: The project behind each service type, for people reading the table.
SERVICE_NAMES = {
    "compute": "Nova",
    "block-storage": "Cinder",
    "image": "Glance",
    "network": "Neutron",
    "load-balancer": "Octavia",
}

_ALL_PROJECTS_HINT = (
    "listing every project (all_projects) needs the admin role; the token's own project may be listed: "
    "grant admin, or sync with all_projects: false"
)


def _quick_policy():
    """Few, short retries: a permission check should answer in seconds."""
    from ansible_collections.cmdb.openstack.plugins.module_utils import gather as _gather

    return _gather.HttpPolicy(server_error_tries=2, rate_limit_tries=2, backoff_max=2.0, retry_after_max=5.0)


def _grant(rtype, status, region, own_project=None):
    if status == "allowed":
        return None
    if status == "forbidden":
        if own_project == "allowed":
            return _ALL_PROJECTS_HINT
        return rtype.permission_hint
    if status == "not_in_catalog":
        return (
            "the %s service (%s) is not in the service catalog of region %s for this interface: it is not "
            "deployed there, or not visible to this project; disable %s for this account"
            % (rtype.service_type, SERVICE_NAMES.get(rtype.service_type, rtype.service_type), region, rtype.name)
        )
    return "see the message; run the check again to tell a passing fault from a lasting one"


def classify(report):
    """A gather ``ScopeReport`` -> one of ``STATUSES``."""
    return _FROM_SCOPE.get(report.status, "error")


def check_permissions(session, types=None, regions=None, all_projects=True, policy=None, max_workers=8):
    """Check every type in ``types`` (default: all) and region of ``session``; return the result dict."""
    from ansible_collections.cmdb.openstack.plugins.module_utils import gather as _gather

    rtypes = catalog.resolve_types(types)
    names = [rtype.name for rtype in rtypes]
    regions = list(regions or session.regions)
    policy = policy or _quick_policy()
    reports = _gather.gather(
        session,
        names,
        regions=regions,
        all_projects=all_projects,
        page_size=1,
        max_pages=1,
        max_workers=max_workers,
        policy=policy,
    )
    # Forbidden only because of all_projects? Ask again for the token's own project.
    own = {}
    retry = [
        report
        for report in reports
        if all_projects and report.status == "forbidden" and catalog.get_type(report.scope.type).all_projects_query
    ]
    if retry:
        retry_types = sorted(set(report.scope.type for report in retry))
        retry_regions = sorted(set(report.scope.region for report in retry))
        for report in _gather.gather(
            session,
            retry_types,
            regions=retry_regions,
            all_projects=False,
            page_size=1,
            max_pages=1,
            max_workers=max_workers,
            policy=policy,
        ):
            own[(report.scope.region, report.scope.type)] = classify(report)
    rows = []
    for report in reports:
        rtype = catalog.get_type(report.scope.type)
        status = classify(report)
        own_project = own.get((report.scope.region, report.scope.type))
        row = OrderedDict(
            (
                ("cloud", report.scope.cloud),
                ("region", report.scope.region),
                ("type", rtype.name),
                ("service", rtype.service_type),
                ("status", status),
                ("http_status", report.http_status),
                ("grant", _grant(rtype, status, report.scope.region, own_project)),
                ("permission_hint", rtype.permission_hint),
                ("message", None if status == "allowed" else report.message),
            )
        )
        if own_project is not None:
            row["own_project"] = own_project
        rows.append(row)
    return build_result(session.name, regions, rows)


def build_result(cloud, regions, rows):
    """``permissions``, ``summary``, ``report`` (table lines) and ``msg`` from the rows."""
    summary = OrderedDict((status, 0) for status in STATUSES)
    for row in rows:
        summary[row["status"]] += 1
    return OrderedDict(
        (
            ("cloud", cloud),
            ("regions", list(regions)),
            ("permissions", rows),
            ("summary", summary),
            ("report", format_table(rows)),
            ("msg", summary_line(cloud, rows, summary)),
        )
    )


def summary_line(cloud, rows, summary):
    counts = ", ".join("%d %s" % (count, status) for status, count in summary.items() if count)
    problems = [row for row in rows if row["status"] != "allowed"]
    if not problems:
        return "cloud %r: every resource type checked may be listed (%s)" % (cloud, counts or "nothing checked")
    details = "; ".join(
        "%s in %s: %s%s"
        % (
            row["type"],
            row["region"],
            row["status"],
            " (grant %s)" % row["grant"] if row["grant"] and row["status"] == "forbidden" else "",
        )
        for row in problems
    )
    return "cloud %r: %s. %s" % (cloud, counts, details)


def _cell(value):
    text = "" if value is None else str(value)
    # Cloud-provided text in a table: one line, no control characters.
    return "".join(ch if ch >= " " else " " for ch in text)


def format_table(rows):
    """Fixed-width table lines: region, type, service, status, what to grant."""
    headers = ("REGION", "TYPE", "SERVICE", "STATUS", "WHAT TO GRANT / WHY")
    body = []
    for row in rows:
        status = row["status"]
        if row.get("http_status") and status != "allowed":
            status = "%s (%s)" % (status, row["http_status"])
        note = row["grant"] or ""
        if row["status"] == "error" and row.get("message"):
            note = row["message"]
        body.append(
            (
                _cell(row["region"]),
                _cell(row["type"]),
                _cell("%s (%s)" % (row["service"], SERVICE_NAMES.get(row["service"], "?"))),
                _cell(status),
                _cell(note),
            )
        )
    widths = [len(header) for header in headers[:-1]]
    for cells in body:
        for index, cell in enumerate(cells[:-1]):
            widths[index] = max(widths[index], len(cell))

    def line(cells):
        return ("  ".join(cell.ljust(width) for cell, width in zip(cells[:-1], widths)) + "  " + cells[-1]).rstrip()

    lines = [line(headers), line(tuple("-" * width for width in widths) + ("-" * len(headers[-1]),))]
    lines.extend(line(cells) for cells in body)
    return lines


# ---------------------------------------------------------------------------------------------
# The cloud_permissions_info module

# (its options are declared in plugins/modules/cloud_permissions_info.py, through the module base)


def run_permissions_info(params, open_cloud=None, open_store=None, secrets_sink=None):
    """``cloud_permissions_info``: authenticate, check every type, return the result dict.

    With ``account``, the registered account's stored settings are used (the connection options
    given add the secret, or override); a paused account is checked too (that is how to find out
    what to fix). Raises ``CmdbError`` (bad options, unknown account, failed authentication).
    ``secrets_sink``: a set (``module.no_log_values``) that receives the secrets used.
    """
    from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
    from ansible_collections.cmdb.openstack.plugins.module_utils import credentials as _credentials

    types = catalog.resolve_type_names(params.get("types"))
    conn_params = _connection.connection_params(params)
    name = None
    if params.get("account"):
        if open_store is None:
            from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader as open_store
        store = open_store(params.get("cmdb_url"))
        try:
            conn_params = _credentials.connection_params(store, params["account"], conn_params, ignore_paused=True)
        finally:
            store.close()
        name = params["account"]
    if secrets_sink is not None:
        secrets_sink.update(_secrets.secret_values(conn_params))
    open_cloud = open_cloud or _connection.open_cloud
    session = open_cloud(conn_params, name=name)
    try:
        all_projects = params.get("all_projects")
        result = check_permissions(session, types, all_projects=True if all_projects is None else all_projects)
    finally:
        session.close()
    result["changed"] = False
    return result
