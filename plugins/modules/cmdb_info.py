#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmdb_info
short_description: Query the CMDB - resources, change log, accounts and counts
version_added: 0.1.0
description:
  - Reads the CMDB written by M(cmdb.openstack.cmdb_sync); calls no cloud API.
  - Resources are filtered by cloud, region, type, project, name pattern, status or id, with or
    without the deleted ones (tombstones). The change log is returned since a time.
  - Registered accounts are returned with their last authentication error.
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
options:
  cloud:
    description: Only these clouds (account or C(clouds.yaml) names).
    type: list
    elements: str
  region:
    description: Only these regions.
    type: list
    elements: str
  types:
    description: Only these resource types (plural or singular names), or V(all).
    type: list
    elements: str
    choices: [servers, volumes, load_balancers, security_groups, volume_snapshots, images, flavors, networks,
              subnets, ports, routers, floating_ips, server, volume, load_balancer, security_group,
              volume_snapshot, image, flavor, network, subnet, port, router, floating_ip, all]
  project_id:
    description: Only resources of these projects.
    type: list
    elements: str
  name:
    description:
      - Only resources whose name matches one of these shell-style patterns (C(*) any text, C(?) one
        character), case-insensitive, for example C(web-*).
    type: list
    elements: str
  status:
    description: Only resources with one of these statuses (case-insensitive), for example C(ACTIVE).
    type: list
    elements: str
  ids:
    description: Only resources with these ids.
    type: list
    elements: str
  include_deleted:
    description: Also return deleted resources (tombstones, with C(deleted_at)).
    type: bool
    default: false
  include_attributes:
    description: Return each resource's C(attributes) (the API item as it was listed).
    type: bool
    default: true
  include_relations:
    description: Return each resource's C(relations).
    type: bool
    default: true
  limit:
    description: Return at most this many resources (and change-log entries).
    type: int
  changes_since:
    description:
      - Return the change log since this time, either an ISO 8601 time (C(2026-11-23T11:44:48Z)) or a
        duration meaning that long ago (C(30m), C(6h), C(2w)).
    type: str
  sections:
    description:
      - What to return. V(changes) is added when O(changes_since) is given.
      - V(sync_status) is, per cloud, region and type, the last successful sync, its age and
        whether it is stale; V(identities) the credentials (never a secret) that fed each cloud.
    type: list
    elements: str
    choices: [resources, changes, accounts, counts, sync_runs, sync_status, identities]
    default: [resources, accounts, counts, sync_status]
extends_documentation_fragment:
  - cmdb.openstack.cmdb
attributes:
  check_mode:
    description: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
  platform:
    description: Runs on the host that can reach the database.
    support: N/A
    platforms: posix
"""

EXAMPLES = r"""
- name: The live web servers of one cloud
  cmdb.openstack.cmdb_info:
    cloud: [production]
    types: [servers]
    name: ["web-*"]
    include_relations: false
  register: web

- name: What changed in the last 24 hours
  cmdb.openstack.cmdb_info:
    changes_since: 1d
    sections: [changes]
  register: recent

- name: Accounts and their last authentication error
  cmdb.openstack.cmdb_info:
    sections: [accounts]
  register: info

- name: Show the accounts that cannot log in
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.last_auth_error }}"
  loop: "{{ info.accounts | selectattr('last_auth_error') | list }}"
"""

RETURN = r"""
resources:
  description:
    - Resources in the record format (C(id), C(name), C(type), C(cloud), C(region), C(project_id),
      C(status), C(created_at), C(updated_at), C(attributes), C(relations)) plus C(first_seen),
      C(last_seen) (the last sync that saw it), C(deleted_at) and C(deleted).
    - Every string comes from a cloud and is untrusted.
  returned: when O(sections) contains V(resources)
  type: list
  elements: dict
changes:
  description:
    - Change-log entries, oldest first, with C(action) (created, updated, deleted, reappeared) and
      C(diff) for updates.
  returned: when O(changes_since) is given or O(sections) contains V(changes)
  type: list
  elements: dict
accounts:
  description:
    - Registered accounts (no secret is ever stored) with C(auth_failures), C(last_auth_error),
      C(paused) and C(last_sync) per type.
  returned: when O(sections) contains V(accounts)
  type: list
  elements: dict
counts:
  description: Live and deleted resources per cloud and type.
  returned: when O(sections) contains V(counts)
  type: dict
  sample: {"demo": {"servers": {"live": 12, "deleted": 1}}}
sync_runs:
  description: The latest sync runs (one per region and type and run), newest first.
  returned: when O(sections) contains V(sync_runs)
  type: list
  elements: dict
sync_status:
  description:
    - Per cloud, region and type, C(last_ok) (the end of the last successful sync; one definition,
      also used by the inventory), C(age) in seconds, C(interval) (the account's, else the
      catalog's default), C(stale) (never synced successfully, or longer ago than twice the
      interval), C(last_status) and C(last_run_at) of the newest run, and C(left_catalog) (the
      newest run found the service gone from the catalog after earlier successful syncs; its
      items are kept and no longer updated).
  returned: when O(sections) contains V(sync_status)
  type: list
  elements: dict
  sample:
    - {"cloud": "demo", "region": "RegionOne", "type": "servers", "last_ok": "2026-11-23T11:44:48Z",
       "age": 120, "interval": 300, "stale": false, "last_status": "ok",
       "last_run_at": "2026-11-23T11:44:40Z", "left_catalog": false}
identities:
  description:
    - Per cloud, the identity that feeds it (C(auth_url), C(project_id), C(project_domain_id),
      C(user_id) or C(application_credential_id); never a secret), its C(fingerprint),
      C(first_seen) and C(updated_at). See O(cmdb.openstack.cmdb_sync#module:accept_identity_change).
  returned: when O(sections) contains V(identities)
  type: list
  elements: dict
cmdb_url:
  description: The database read (password hidden).
  returned: always
  type: str
"""

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.queries import run_info
from ansible_collections.cmdb.openstack.plugins.module_utils.module import (
    CMDB_LIBRARIES,
    TYPE_CHOICES,
    CmdbModule,
    ModuleSpec,
)

SPEC = ModuleSpec(
    groups=("cmdb",),
    options=dict(
        cloud=dict(type="list", elements="str"),
        region=dict(type="list", elements="str"),
        types=dict(type="list", elements="str", choices=TYPE_CHOICES),
        project_id=dict(type="list", elements="str"),
        name=dict(type="list", elements="str"),
        status=dict(type="list", elements="str"),
        ids=dict(type="list", elements="str"),
        include_deleted=dict(type="bool", default=False),
        include_attributes=dict(type="bool", default=True),
        include_relations=dict(type="bool", default=True),
        limit=dict(type="int"),
        changes_since=dict(type="str"),
        sections=dict(
            type="list",
            elements="str",
            choices=["resources", "changes", "accounts", "counts", "sync_runs", "sync_status", "identities"],
            default=["resources", "accounts", "counts", "sync_status"],
        ),
    ),
    libraries=CMDB_LIBRARIES,
)


def main():
    CmdbModule(SPEC).run(lambda module: run_info(module.params))


if __name__ == "__main__":
    main()
