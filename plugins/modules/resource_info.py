#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: resource_info
short_description: List any set of OpenStack resource types at once
version_added: 0.1.0
description:
  - Lists several resource types (or all of them) in one or several regions of a cloud, concurrently
    (one worker per region and type), with one paged listing per region and type.
  - Returns the records of each type under its plural name (C(servers), C(ports), ...), in the
    common record format of the collection, and the status of every listing in RV(scopes).
options:
  types:
    description:
      - The resource types to list, by plural or singular name, or C(all).
    type: list
    elements: str
    default: [all]
    choices: [all, servers, volumes, load_balancers, security_groups, volume_snapshots, images, flavors, networks,
              subnets, ports, routers, floating_ips, server, volume, load_balancer, security_group, volume_snapshot,
              image, flavor, network, subnet, port, router, floating_ip]
extends_documentation_fragment:
  - cmdb.openstack.load_balancers
  - cmdb.openstack.connection
  - cmdb.openstack.connection.region_name
  - cmdb.openstack.connection.info
author:
  - cmdb.openstack contributors (@cmdb-openstack)
"""

EXAMPLES = r"""
- name: List every resource type in every region
  cmdb.openstack.resource_info:
    cloud: mycloud
    region_name: all
  register: everything

- name: Servers and their ports, ACTIVE servers only
  cmdb.openstack.resource_info:
    cloud: mycloud
    types: [servers, ports]
    filters:
      servers:
        status: ACTIVE
  register: result

- name: Set the connection once for every module of the collection
  module_defaults:
    group/cmdb.openstack.openstack:
      cloud: mycloud
      region_name: all
  block:
    - name: Networks and subnets
      cmdb.openstack.resource_info:
        types: [networks, subnets]
      register: net
"""

RETURN = r"""
servers:
  description:
    - The records of type C(servers) (see M(cmdb.openstack.server_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
flavors:
  description:
    - The records of type C(flavors) (see M(cmdb.openstack.flavor_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
images:
  description:
    - The records of type C(images) (see M(cmdb.openstack.image_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
volumes:
  description:
    - The records of type C(volumes) (see M(cmdb.openstack.volume_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
volume_snapshots:
  description:
    - The records of type C(volume_snapshots) (see M(cmdb.openstack.volume_snapshot_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
load_balancers:
  description:
    - The records of type C(load_balancers) (see M(cmdb.openstack.load_balancer_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
security_groups:
  description:
    - The records of type C(security_groups) (see M(cmdb.openstack.security_group_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
networks:
  description:
    - The records of type C(networks) (see M(cmdb.openstack.network_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
subnets:
  description:
    - The records of type C(subnets) (see M(cmdb.openstack.subnet_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
ports:
  description:
    - The records of type C(ports) (see M(cmdb.openstack.port_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
routers:
  description:
    - The records of type C(routers) (see M(cmdb.openstack.router_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
floating_ips:
  description:
    - The records of type C(floating_ips) (see M(cmdb.openstack.floating_ip_info) for the record format).
  returned: when the type is in O(types)
  type: list
  elements: dict
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

SPEC = info_spec()


def main():
    run_info_module(SPEC)


if __name__ == "__main__":
    main()
