# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``cloud_account`` module: its argument spec and its runner.

The layers: ``account_settings`` validates (pure), ``cmdb/accounts.py`` stores (all the SQL),
``credentials`` resolves a connection at sync time. ``run_cloud_account(params)`` validates
everything before it opens the CMDB, then registers, updates or unregisters the account.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cmdb.openstack.plugins.module_utils import secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.account_settings import (
    AUTH_KEYS,
    CONNECTION_EXTRAS,
    build_connection,
    validate_name,
    validate_pause_after,
    validate_projects,
    validate_regions,
    validate_resources,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError


def _auth_suboptions():
    spec = dict((key, dict(type="str")) for key in AUTH_KEYS)
    for key in secrets.ACCOUNT_SECRET_KEYS:
        spec[key]["no_log"] = True
    return spec


#: Argument spec of ``cloud_account`` (DOCUMENTATION in the module matches it).
CLOUD_ACCOUNT_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    cloud=dict(type="str"),
    auth=dict(type="dict", options=_auth_suboptions()),
    auth_type=dict(type="str"),
    interface=dict(type="str", choices=["public", "internal", "admin"]),
    validate_certs=dict(type="bool"),
    ca_cert=dict(type="path"),
    api_timeout=dict(type="float"),
    regions=dict(type="list", elements="str"),
    all_projects=dict(type="bool"),
    projects=dict(type="list", elements="str"),
    resources=dict(type="dict"),
    paused=dict(type="bool"),
    pause_after_auth_failures=dict(type="int"),
    cmdb_url=dict(type="str"),
)


def run_cloud_account(params, check_mode=False, open_store=None, now=None):
    """``cloud_account``: register/update (present) or unregister (absent); return the result dict."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts as cmdb_accounts

    if open_store is None:
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
    name = params.get("name")
    validate_name(name)
    state = params.get("state") or "present"
    auth = params.get("auth")
    if auth is not None:
        auth = dict((key, value) for key, value in auth.items() if value is not None)
    connection = None
    extras = dict((key, params.get(key)) for key in CONNECTION_EXTRAS)
    if state == "present":
        if params.get("cloud") or auth:
            connection = build_connection(
                cloud=params.get("cloud"), auth=auth, auth_type=params.get("auth_type"), account=name, **extras
            )
        elif params.get("auth_type") or any(value is not None for value in extras.values()):
            raise ConfigurationError(
                "account %r: auth_type, interface, validate_certs, ca_cert and api_timeout describe the "
                "connection: give them together with cloud or auth (the connection is replaced as a whole)" % name
            )
        # Validate everything before opening the database.
        validate_resources(params.get("resources"), account=name)
        validate_regions(params.get("regions"))
        validate_pause_after(params.get("pause_after_auth_failures"))
        validate_projects(params.get("projects"), params.get("all_projects"), account=name)
    store = open_store(params.get("cmdb_url"))
    try:
        if state == "absent":
            result = cmdb_accounts.unregister_account(store, name, check_mode=check_mode, now=now)
        else:
            result = cmdb_accounts.ensure_account(
                store,
                name,
                connection=connection,
                regions=params.get("regions"),
                resources=params.get("resources"),
                paused=params.get("paused"),
                pause_after_auth_failures=params.get("pause_after_auth_failures"),
                all_projects=params.get("all_projects"),
                projects=params.get("projects"),
                check_mode=check_mode,
                now=now,
            )
    finally:
        store.close()
    account = result["account"]
    if state == "absent":
        verb = "unregistered" if result["changed"] else "is not registered"
    elif not result["changed"]:
        verb = "is up to date"
    elif result["diff"]["before"]:
        verb = "updated"
    else:
        verb = "registered"
    msg = "cloud account %r %s%s" % (
        name,
        verb,
        " (check mode: nothing written)" if check_mode and result["changed"] else "",
    )
    return {
        "changed": result["changed"],
        "account": account,
        "diff": result["diff"],
        "msg": msg,
    }
