# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared runner of every ``*_info`` module: argument spec, gather, result.

A module file is DOCUMENTATION + ``SPEC = info_spec("servers")`` + ``run_info_module(SPEC, "servers")``.
The work is in ``run_gather`` (importable and testable without Ansible); the module base
(``module.py``) does the argument spec, secrets, the openstacksdk check and the failure messages.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog as _catalog
from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
from ansible_collections.cmdb.openstack.plugins.module_utils.module import CmdbModule, ModuleSpec

#: Scope statuses that are not failures: the listing is complete, or the service is absent from
#: the catalog (reported as a warning; nothing of that type exists to list).
NOT_FAILED = ("ok", "not_in_catalog")


def info_spec(type_name=None):
    """The :class:`ModuleSpec` of ``<singular>_info`` (``type_name`` given) or ``resource_info`` (None).

    Groups: connection, region_name, info, and load_balancers for the modules that list load
    balancers; ``resource_info`` adds ``types``.
    """
    groups = ["connection", "region_name", "info"]
    if type_name in (None, "load_balancers"):
        groups.insert(0, "load_balancers")
    options = {}
    if type_name is None:
        options["types"] = dict(type="list", elements="str", default=["all"], choices=_catalog.TYPE_CHOICES)
    return ModuleSpec(groups=groups, options=options, libraries=("openstacksdk",))


def run_gather(params, types, warnings=None):
    """Open the cloud, gather ``types``, return ``(records_by_type, scope_dicts, failed_messages)``.

    ``failed_messages`` names every listing that did not complete (``not_in_catalog`` excluded: its
    message goes to ``warnings``, a list, when given, with the session's own warnings).
    """
    # Imported here so that a missing openstacksdk is reported by the module, not at import.
    from ansible_collections.cmdb.openstack.plugins.module_utils import gather as _gather

    rtypes = _catalog.resolve_types(types)
    session = _connection.open_cloud(params)
    if warnings is not None:
        warnings.extend(getattr(session, "warnings", None) or [])
    try:
        reports = _gather.gather(
            session,
            [rtype.name for rtype in rtypes],
            all_projects=params.get("all_projects", True),
            project_id=params.get("project_id"),
            filters=params.get("filters"),
            strict=params.get("strict", False),
            resolve_member_ports=params.get("resolve_member_ports", False),
        )
    finally:
        session.close()
    records = _gather.records_by_type(reports)
    for rtype in rtypes:
        records.setdefault(rtype.name, [])
    scopes = [report.as_dict() for report in reports]
    failed = []
    for report in reports:
        if report.ok:
            continue
        message = report.message or "%s: %s" % (report.scope.type, report.status)
        if report.status in NOT_FAILED and not params.get("strict"):
            if warnings is not None:
                warnings.append(message)
        else:
            failed.append(message)
    return records, scopes, failed


def info_result(params, types):
    """The result dict of an info module: records by type, ``scopes``, warnings; ``failed`` with a
    message when a listing failed (unless ``fail_on_listing_errors: false``, then warnings)."""
    warnings = []
    records, scopes, failed = run_gather(params, types, warnings=warnings)
    result = dict(changed=False, scopes=scopes)
    result.update(records)
    if failed and params.get("strict"):
        result.update(failed=True, msg="strict is set and %d listing(s) failed: %s" % (len(failed), "; ".join(failed)))
    elif failed and params.get("fail_on_listing_errors", True) is not False:
        # A failed listing must never look like an empty one: fail, with what did succeed.
        result.update(
            failed=True,
            msg="%d listing(s) failed (the results of the others are returned; set fail_on_listing_errors: false "
            "to only warn): %s" % (len(failed), "; ".join(failed)),
        )
    else:
        warnings.extend(failed)
    result["warnings"] = warnings
    return result


def run_info_module(spec, type_name=None):
    """main() of ``<singular>_info`` (``type_name`` given) and of ``resource_info`` (None)."""
    module = CmdbModule(spec)
    types = [type_name] if type_name else module.params["types"]
    module.run(lambda mod: info_result(mod.params, types))
