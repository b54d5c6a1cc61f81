#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: subnet_info
short_description: List OpenStack subnets
version_added: 0.1.0
description:
  - Lists subnets (Neutron), in one or several regions of a cloud, with one paged listing per
    region.
  - Returns records in the common format of the collection (an envelope, the API attributes and the
    relations to other resources), the same records the CMDB stores.
  - Relations are network.
extends_documentation_fragment:
  - cmdb.openstack.connection
  - cmdb.openstack.connection.region_name
  - cmdb.openstack.connection.info
author:
  - cmdb.openstack contributors (@cmdb-openstack)
"""

EXAMPLES = r"""
- name: List subnets of every project in every region of the catalog
  cmdb.openstack.subnet_info:
    cloud: mycloud
    region_name: all
  register: result

- name: Show their names
  ansible.builtin.debug:
    msg: "{{ result.subnets | map(attribute='name') | list }}"

- name: Filter on the server side, for one project, with a cloud given as a dictionary
  cmdb.openstack.subnet_info:
    cloud:
      auth:
        auth_url: https://keystone.example.com:5000/v3
        username: admin
        password: "{{ vault_os_password }}"
        project_name: admin
        user_domain_name: Default
        project_domain_name: Default
      region_name: RegionOne
    project_id: 99f5dd3cada04e7d995870fdc79a072b
    filters:
      ip_version: 4
  register: result
"""

RETURN = r"""
subnets:
  description:
    - One record per subnet, in every region gathered.
    - Every string in a record comes from the cloud and is untrusted.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The API id.
      type: str
    name:
      description: The name (may be empty or null).
      type: str
    type:
      description: The resource type, C(subnets).
      type: str
    cloud:
      description: The cloud name.
      type: str
    region:
      description: The region.
      type: str
    project_id:
      description: The project (null where the type has none).
      type: str
    status:
      description: The status (null where the type has none).
      type: str
    created_at:
      description: Creation time as the API returned it.
      type: str
    updated_at:
      description: Last update time as the API returned it.
      type: str
    attributes:
      description: The API item as returned, without C(links).
      type: dict
    relations:
      description: Edges to other resources.
      type: list
      elements: dict
      contains:
        relation:
          description: The relation name.
          type: str
        target_type:
          description: The type of the target.
          type: str
        target_id:
          description: The id of the target, when the API gives one.
          type: str
        target_name:
          description: A name or address identifying the target when the API gives no id.
          type: str
scopes:
  description:
    - One entry per region and resource type listed.
    - Only C(ok) means the listing is complete.
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
      description: The resource type.
      type: str
    status:
      description: C(ok), C(forbidden), C(not_in_catalog), C(auth_failed) or C(error).
      type: str
    http_status:
      description: The HTTP status of the failing call, if any.
      type: int
    message:
      description: What failed, naming the cloud, region and type.
      type: str
    count:
      description: Number of records listed.
      type: int
    api_calls:
      description: Number of HTTP requests made (retries included).
      type: int
    duration:
      description: Seconds spent.
      type: float
  sample:
    - cloud: demo
      region: RegionOne
      type: servers
      status: ok
      http_status: null
      message: null
      count: 12
      api_calls: 1
      duration: 0.042
"""

from ansible_collections.cmdb.openstack.plugins.module_utils.info_module import info_spec, run_info_module

SPEC = info_spec("subnets")


def main():
    run_info_module(SPEC, "subnets")


if __name__ == "__main__":
    main()
