# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The load balancer listing option shared by load_balancer_info, resource_info and cmdb_sync.
    DOCUMENTATION = r"""
options:
  resolve_member_ports:
    description:
      - For load balancers, also find the Neutron port owning each pool member address and add it to the
        member as C(port_id) (and to the C(member_ports) relation as C(target_id)).
      - This costs one extra paged listing of ports per distinct member subnet and region, made one
        after the other inside the load balancer listing (about one call per load balancer in a typical
        cloud), so it is off by default. Without it, members keep C(address) and C(subnet_id), and the
        C(member_ports) relation keeps the address as C(target_name).
      - In the CMDB, changing it changes the stored load balancers once (their members gain or lose
        C(port_id)).
    type: bool
    default: false
"""
