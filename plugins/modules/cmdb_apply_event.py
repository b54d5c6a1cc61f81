#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmdb_apply_event
short_description: Apply OpenStack notification events to the CMDB (re-reading each item through the API)
version_added: 0.2.0
description:
  - Takes events as the event source plugin C(cmdb.openstack.notifications) emits them (cloud,
    region, catalog type, id, project, event type, time) and brings the CMDB's copy of each named
    item up to date. Events are coalesced per item, so a burst costs one read per item.
  - The event is never trusted for content. Each item is read back by id through the API (the GET
    of the catalog's show path; load balancers and routers through a listing filtered by id, so
    that the record embeds what a sync embeds) and written by the writer of
    M(cmdb.openstack.cmdb_sync), with its field diff, history rows and lease locks.
  - An item is marked deleted only when its GET answers HTTP 404 naming it (or a status meaning
    gone, such as a C(DELETED) server), the proof M(cmdb.openstack.cmdb_sync) asks for. Any other
    answer changes nothing; the next event or the periodic sync tries again.
  - Duplicate and out-of-order events change nothing wrongly, because what is written is the
    item's current state. Each call records a C(sync_runs) row per region and type with mode and
    status C(event), which never counts as a successful sync.
  - Names, metadata and descriptions are stored and returned as data, never templated. Event data
    is untrusted; pass the events as given (only ids, types and times are read from them).
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
options:
  events:
    description:
      - The events, each a dictionary with C(type) (a catalog type such as C(servers)), C(id), and
        optionally C(cloud), C(region), C(project_id), C(event_type), C(timestamp).
      - An event whose C(cloud) differs from the account or cloud name is skipped. An event
        without C(region) applies to the cloud's only region.
      - An event with an unknown type or an id that is not a plain identifier is reported in
        RV(invalid) and ignored.
    type: list
    elements: dict
    required: true
  account:
    description:
      - The name of an account registered with M(cmdb.openstack.cloud_account); its stored
        connection settings are used, the connection options of this module merged over them.
      - The account name is the cloud name of the records, as with M(cmdb.openstack.cmdb_sync).
    type: str
  accept_identity_change:
    description:
      - Accept credentials other than those that fed this cloud name before (see
        M(cmdb.openstack.cmdb_sync)).
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for a sync of the same cloud, region and type to finish.
    type: int
    default: 120
extends_documentation_fragment:
  - cmdb.openstack.connection
  - cmdb.openstack.connection.region_name
  - cmdb.openstack.cmdb
attributes:
  check_mode:
    description: Reads every item and computes every change (in a transaction that is rolled back); writes nothing.
    support: full
  diff_mode:
    description: The changes are always returned in RV(changes).
    support: none
  platform:
    description: Runs on the host that can reach the clouds and the database.
    support: N/A
    platforms: posix
"""

EXAMPLES = r"""
- name: Apply the events of a rulebook (ids only; everything else is read back from the API)
  cmdb.openstack.cmdb_apply_event:
    account: prod
    events:
      - {cloud: prod, region: RegionOne, type: servers, id: 5041dd58-0d3b-4c1d-a1ad-4b8a3e0e5b71}
"""

RETURN = r"""
cloud:
  description: The cloud name the items were written under.
  returned: when an event was applied
  type: str
events:
  description: How many events were given.
  returned: always
  type: int
event_items:
  description:
    - One entry per item the events named (events coalesced), with C(region), C(type), C(id), C(count) (how many
      events named it), C(event_types), C(verdict) (C(present), C(gone) or C(unknown)) and
      C(action) (C(created), C(updated), C(deleted), C(reappeared), C(unchanged), or C(none) when
      the API gave no answer that proves anything).
  returned: always
  type: list
  elements: dict
changes:
  description: The change rows written (cloud, region, type, id, name, action, diff).
  returned: always
  type: list
  elements: dict
invalid:
  description: The events that were ignored, with the reason.
  returned: always
  type: list
  elements: str
skipped_items:
  description:
    - The items of another cloud, an unknown region or a paused account, with C(reason).
    - Not C(skipped), which Ansible reserves for a skipped task.
  returned: always
  type: list
  elements: dict
scopes:
  description: One entry per region and type, as M(cmdb.openstack.cmdb_sync) returns them (status C(event)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.events import apply_events
from ansible_collections.cmdb.openstack.plugins.module_utils.module import CMDB_LIBRARIES, CmdbModule, ModuleSpec

SPEC = ModuleSpec(
    groups=("connection", "region_name", "cmdb"),
    options=dict(
        events=dict(type="list", elements="dict", required=True),
        account=dict(type="str"),
        accept_identity_change=dict(type="bool", default=False),
        lock_timeout=dict(type="int", default=120),
    ),
    libraries=CMDB_LIBRARIES,
)


def main():
    CmdbModule(SPEC).run(lambda module: apply_events(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
