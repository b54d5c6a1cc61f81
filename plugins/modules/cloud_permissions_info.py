#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cloud_permissions_info
short_description: Report which resource types an OpenStack account may list, and what to grant
version_added: 0.1.0
description:
  - Authenticates, reads the service catalog and, for every resource type (or those in O(types))
    and every region, lists one item through the same code path as a sync.
  - Each region and type is reported as V(allowed), V(forbidden) (HTTP 403), V(not_in_catalog)
    (the service is not in the catalog) or V(error), with the service and what to grant.
  - "What to grant, from the resource catalog: servers and flavors need the compute service (Nova);
    volumes and volume snapshots block-storage (Cinder); images image (Glance); security groups,
    networks, subnets, ports, routers and floating IPs network (Neutron); load balancers
    load-balancer (Octavia), whose policies usually need the C(load-balancer_observer) or
    C(member) role."
  - When listing every project is refused but the token's own project may be listed, the row says
    so; the account lacks the admin role that O(all_projects) needs.
  - The result is data (RV(permissions), RV(summary)) and a table a person can read (RV(report),
    RV(msg)). Nothing is changed anywhere.
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
options:
  types:
    description:
      - The resource types to check (plural or singular catalog names), or V(all).
    type: list
    elements: str
    default: [all]
  all_projects:
    description:
      - Check listing every project, as a sync with O(all_projects=true) does (C(all_tenants) for Nova
        and Cinder). With V(false), only the token's project is listed.
    type: bool
    default: true
  account:
    description:
      - Check a registered account (M(cmdb.openstack.cloud_account)); its stored connection
        settings and regions are used, the connection options given here add the secret (for example
        O(auth) with only C(password)) or override them.
      - A paused account is checked too.
      - The CMDB (O(cmdb_url)) is only opened when O(account) is given.
    type: str
extends_documentation_fragment:
  - cmdb.openstack.connection
  - cmdb.openstack.connection.regions
  - cmdb.openstack.cmdb
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
"""

EXAMPLES = r"""
- name: What may this account list?
  cmdb.openstack.cloud_permissions_info:
    cloud: prod
  register: perms

- name: Show the table
  ansible.builtin.debug:
    var: perms.report

- name: Fail when load balancers are forbidden
  ansible.builtin.assert:
    that: perms.permissions | selectattr('type', '==', 'load_balancers')
          | rejectattr('status', '==', 'allowed') | list | length == 0
    fail_msg: "{{ perms.msg }}"

- name: Check a registered account, the password from a vault
  cmdb.openstack.cloud_permissions_info:
    account: staging
    auth:
      password: "{{ vault_staging_password }}"
    cmdb_url: sqlite:///cmdb.sqlite
"""

RETURN = r"""
cloud:
  description: The cloud (or account) name.
  returned: always
  type: str
  sample: prod
regions:
  description: The regions checked.
  returned: always
  type: list
  elements: str
  sample: [RegionOne]
permissions:
  description: One entry per region and type.
  returned: always
  type: list
  elements: dict
  contains:
    cloud:
      description: The cloud name.
      type: str
    region:
      description: The region.
      type: str
    type:
      description: The resource type (catalog name).
      type: str
      sample: load_balancers
    service:
      description: The service type in the catalog.
      type: str
      sample: load-balancer
    status:
      description: V(allowed), V(forbidden), V(not_in_catalog) or V(error).
      type: str
      sample: forbidden
    http_status:
      description: The HTTP status of a failed listing, when there was one.
      type: int
      sample: 403
    grant:
      description: What to grant or do (null when allowed).
      type: str
    permission_hint:
      description: What the type needs, from the resource catalog.
      type: str
    message:
      description: The error message (null when allowed).
      type: str
    own_project:
      description: >-
        For a type forbidden when listing every project: the status when listing only the token's
        project.
      type: str
      returned: when listing every project was forbidden
summary:
  description: The number of region and type pairs per status.
  returned: always
  type: dict
  sample: {"allowed": 11, "forbidden": 1, "not_in_catalog": 0, "error": 0}
report:
  description: The result as a fixed-width table, one line per region and type.
  returned: always
  type: list
  elements: str
msg:
  description: One line summing up the result and the problems.
  returned: always
  type: str
"""

from ansible_collections.cmdb.openstack.plugins.module_utils import permissions
from ansible_collections.cmdb.openstack.plugins.module_utils.module import CmdbModule, ModuleSpec

SPEC = ModuleSpec(
    groups=("connection", "regions", "cmdb"),
    options=dict(
        types=dict(type="list", elements="str", default=["all"]),
        all_projects=dict(type="bool", default=True),
        account=dict(type="str"),
    ),
    # The CMDB is opened only to read a registered account.
    libraries=(
        "openstacksdk",
        ("SQLAlchemy", lambda params: bool(params.get("account"))),
        ("alembic", lambda params: bool(params.get("account"))),
    ),
)


def run(module):
    # permissions reads the connection options, where the region option is named region_name
    params = dict(module.params, region_name=module.params.get("regions"))
    return permissions.run_permissions_info(params, secrets_sink=module.no_log_values)


def main():
    CmdbModule(SPEC).run(run)


if __name__ == "__main__":
    main()
