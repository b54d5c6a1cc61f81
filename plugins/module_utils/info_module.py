# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared runner of every ``*_info`` module: argument spec, gather, result.

A module file is DOCUMENTATION + ``run_info_module("servers")``. The work is in
``run_gather`` (importable and testable without Ansible).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog as _catalog
from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
from ansible_collections.cmdb.openstack.plugins.module_utils import secrets as _secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError, ConfigurationError

INFO_ARGUMENT_SPEC = dict(
    all_projects=dict(type="bool", default=True),
    project_id=dict(type="str"),
    filters=dict(type="dict"),
    strict=dict(type="bool", default=False),
    fail_on_listing_errors=dict(type="bool", default=True),
)

#: Scope statuses that are not failures: the listing is complete, or the service is absent from
#: the catalog (reported as a warning; nothing of that type exists to list).
NOT_FAILED = ("ok", "not_in_catalog")

TYPE_CHOICES = _catalog.TYPE_CHOICES


#: Options of the modules that list load balancers (load_balancer_info, resource_info).
LOAD_BALANCER_ARGUMENT_SPEC = dict(
    resolve_member_ports=dict(type="bool", default=False),
)


def argument_spec(with_types=False, load_balancers=None):
    """Connection options + the options every info module has (+ ``types`` for resource_info).

    ``load_balancers`` (default: ``with_types``) adds ``resolve_member_ports``.
    """
    spec = copy.deepcopy(_connection.CONNECTION_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(INFO_ARGUMENT_SPEC))
    if with_types:
        spec["types"] = dict(type="list", elements="str", default=["all"], choices=TYPE_CHOICES)
    if with_types if load_balancers is None else load_balancers:
        spec.update(copy.deepcopy(LOAD_BALANCER_ARGUMENT_SPEC))
    return spec


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


def run_info_module(type_name=None):
    """main() of ``<singular>_info`` (``type_name`` given) and of ``resource_info`` (None)."""
    spec = argument_spec(with_types=type_name is None, load_balancers=type_name in (None, "load_balancers"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    secrets = _secrets.secret_values({"cloud": module.params.get("cloud"), "auth": module.params.get("auth")})
    module.no_log_values.update(secrets)
    if not _connection.HAS_OPENSTACK:
        module.fail_json(msg=missing_required_lib("openstacksdk"), exception=str(_connection.OPENSTACK_IMPORT_ERROR))
    types = [type_name] if type_name else module.params["types"]
    warnings = []
    try:
        records, scopes, failed = run_gather(module.params, types, warnings=warnings)
    except ConfigurationError as exc:
        module.fail_json(msg=exc.message)
    except CmdbError as exc:
        module.fail_json(msg=exc.message)
    except Exception as exc:  # a bug or an unforeseen library error: still one message
        module.fail_json(
            msg="unexpected error while gathering %s: %s: %s" % (", ".join(types), type(exc).__name__, exc),
            exception=traceback.format_exc(),
        )
    result = dict(changed=False, scopes=scopes)
    result.update(records)
    for message in warnings:
        module.warn(message)
    if failed and module.params.get("strict"):
        module.fail_json(msg="strict is set and %d listing(s) failed: %s" % (len(failed), "; ".join(failed)), **result)
    if failed and module.params.get("fail_on_listing_errors", True) is not False:
        # A failed listing must never look like an empty one: fail, with what did succeed.
        module.fail_json(
            msg="%d listing(s) failed (the results of the others are returned; set fail_on_listing_errors: false "
            "to only warn): %s" % (len(failed), "; ".join(failed)),
            **result,
        )
    for message in failed:
        module.warn(message)
    module.exit_json(**result)
