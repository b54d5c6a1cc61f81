# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: clouds
short_description: The registered OpenStack accounts as hosts, one per account and region
version_added: 0.1.0
author: cmdb.openstack maintainers (@cmdb-openstack)
description:
  - Reads the accounts registered in the CMDB with M(cmdb.openstack.cloud_account) (not the
    unregistered ones) and adds one host per account and region, so that a sync playbook runs on
    C(hosts=openstack_clouds), C(--forks) syncs clouds in parallel and AWX job slicing spreads the
    clouds over execution nodes.
  - Host names. An account with no regions configured (every region of the service catalog) or with
    one region is the host C(<account>). An account with several regions gives one host per region,
    C(<account>_<region>). Two hosts with the same name are an error naming both accounts.
  - Host variables. C(cmdb_account) (the account name), C(cmdb_region) (the region of the host, an
    empty string for every region of the catalog), C(cmdb_regions) (the account's regions),
    C(cmdb_resources) (per type C(enabled), C(interval) in seconds and C(interval_text)),
    C(cmdb_paused), C(cmdb_pause_after_auth_failures), C(cmdb_auth_failures),
    C(cmdb_last_auth_error), C(cmdb_last_auth_error_at), C(cmdb_connection) (the non-secret
    connection settings, a clouds.yaml name or the auth type and auth URL, user and project) and
    C(ansible_connection=local). C(ansible_python_interpreter) is left to the user.
  - Groups. C(openstack_clouds) holds every account that is not paused; C(paused_clouds) the paused
    ones (a paused account is not synchronized, so it stays out of C(openstack_clouds)). O(compose),
    O(groups) and O(keyed_groups) add more.
  - Host variables C(cmdb_all_projects) and C(cmdb_projects) give the account's project scope
    (M(cmdb.openstack.cloud_account) options C(all_projects) and C(projects)).
  - The CMDB stores no secret, and this plugin never adds one. Every value read from the CMDB is
    untrusted data (never templated); the last authentication error comes from a cloud.
  - Errors (a missing CMDB, an unknown name in O(only_clouds), two accounts giving one host name)
    raise a parse error naming this file. Ansible then warns and goes on without this source, unless
    C([inventory] any_unparsed_is_failed) (or C(unparsed_is_failed) when it is the only source) is
    set; then the command fails.
  - The configuration file name must end with C(clouds.yml) or C(clouds.yaml), for example
    C(openstack_clouds.yml).
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: Marks this file as a configuration file of this plugin.
    required: true
    type: str
    choices: [cmdb.openstack.clouds]
  cmdb_url:
    description:
      - SQLAlchemy URL of the CMDB, for example C(sqlite:////var/lib/cmdb/cmdb.sqlite) or
        C(postgresql+psycopg://cmdb@db.example.com/cmdb).
      - Defaults to the environment variable E(CMDB_URL), else C(sqlite:///~/.local/share/cmdb.openstack/cmdb.sqlite).
      - The database is only read, never created or migrated. A missing SQLite file is an error naming
        the URL.
    type: str
    env:
      - name: CMDB_URL
  only_clouds:
    description:
      - Only these accounts. Empty means every registered account.
      - A name that is not a registered account is an error naming it and the registered accounts.
    type: list
    elements: str
    default: []
  include_paused:
    description: Add paused accounts (in the group C(paused_clouds) only).
    type: bool
    default: true
"""

EXAMPLES = r"""
# openstack_clouds.yml
plugin: cmdb.openstack.clouds
cmdb_url: postgresql+psycopg://cmdb@db.example.com/cmdb

# ansible-inventory -i openstack_clouds.yml --graph
# @all:
#   |--@openstack_clouds:
#   |  |--prod_RegionOne
#   |  |--prod_RegionTwo
#   |  |--staging
#   |--@paused_clouds:
#   |  |--lab

---
# A group per region, and only some accounts:
plugin: cmdb.openstack.clouds
only_clouds: [prod, staging]
keyed_groups:
  - key: cmdb_region
    prefix: region
    default_value: all_regions
"""

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError
from ansible_collections.cmdb.openstack.plugins.plugin_utils.inventory_base import CmdbInventoryBase

GROUP = "openstack_clouds"
PAUSED_GROUP = "paused_clouds"


def host_names(account):
    """``[(host name, region)]`` for one account: ``<account>`` or ``<account>_<region>`` per region."""
    regions = list(account.get("regions") or [])
    if len(regions) <= 1:
        return [(account["name"], regions[0] if regions else "")]
    return [("%s_%s" % (account["name"], region), region) for region in regions]


def host_vars(account, region):
    """The variables of one host (no secret: the connection is stripped again on the way out)."""
    from ansible_collections.cmdb.openstack.plugins.module_utils import secrets as _secrets
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts as _accounts

    view = _accounts.public_view(account)
    connection = dict(view["connection"])
    if isinstance(connection.get("auth"), dict):
        connection["auth"] = dict(_secrets.strip_secrets(connection["auth"]))
    for key in list(connection):
        if key != "auth" and _secrets.is_secret_key(key):
            connection.pop(key)
    return {
        "ansible_connection": "local",
        "cmdb_account": view["name"],
        "cmdb_region": region,
        "cmdb_regions": list(view["regions"]),
        # the account's project scope (cloud_account all_projects / projects; absent on older CMDBs)
        "cmdb_all_projects": bool(view.get("all_projects", account.get("all_projects"))),
        "cmdb_projects": list(view.get("projects", account.get("projects")) or []),
        "cmdb_resources": dict((name, dict(entry)) for name, entry in view["resources"].items()),
        "cmdb_paused": view["paused"],
        "cmdb_pause_after_auth_failures": view["pause_after_auth_failures"],
        "cmdb_auth_failures": view["auth_failures"],
        "cmdb_last_auth_error": view["last_auth_error"],
        "cmdb_last_auth_error_at": view["last_auth_error_at"],
        "cmdb_connection": connection,
    }


def build_hosts(accounts_list, include_paused=True):
    """``[(host name, vars, groups)]`` for the accounts; raises ValueError on a host name collision."""
    hosts = []
    seen = {}
    for account in accounts_list:
        if account["paused"] and not include_paused:
            continue
        group = PAUSED_GROUP if account["paused"] else GROUP
        for name, region in host_names(account):
            if name in seen:
                raise ValueError(
                    "the accounts %r and %r both give the host name %r (hosts are named <account> or "
                    "<account>_<region>); rename one account" % (seen[name], account["name"], name)
                )
            seen[name] = account["name"]
            hosts.append((name, host_vars(account, region), [group]))
    return hosts


class InventoryModule(CmdbInventoryBase):
    NAME = "cmdb.openstack.clouds"
    SUFFIXES = ("clouds.yml", "clouds.yaml")

    def parse(self, inventory, loader, path, cache=True):
        self.read_config(inventory, loader, path, cache=cache)
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts as _accounts

        only = list(self.get_option("only_clouds") or [])
        store = self.open_cmdb(self.get_option("cmdb_url"))
        try:
            try:
                found = _accounts.list_accounts(store)
                self.check_known("only_clouds", only, [account["name"] for account in found], kind="account")
                if only:
                    found = [account for account in found if account["name"] in only]
                hosts = build_hosts(found, include_paused=self.get_option("include_paused"))
            except (CmdbError, ValueError) as exc:
                raise self.error_from(exc)
        finally:
            store.close()
        self.inventory.add_group(GROUP)
        self.inventory.add_group(PAUSED_GROUP)
        for name, variables, groups in hosts:
            host = self.add_host_with_vars(name, variables)
            for group in groups:
                self.inventory.add_child(group, host)
            self.construct(host, variables)
