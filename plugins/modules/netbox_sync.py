#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: netbox_sync
short_description: Write the CMDB's OpenStack inventory into NetBox, incrementally
version_added: 0.1.0
description:
  - Writes the current state of the CMDB (filled by M(cmdb.openstack.cmdb_sync)) into the virtualization and IPAM
    models of a NetBox 4.7 or newer 4.x, through its REST API.
  - "Creates the cluster type C(OpenStack) (or reuses it), one cluster per cloud and region, one tenant and one VRF
    per project, one virtual machine per server (status from the server status, vCPUs and memory from the flavor,
    platform from the image name), VM interfaces from ports (MAC address, network), fixed and floating IP addresses
    with the primary IPv4 and IPv6, and virtual disks for the flavor's disks and the attached volumes."
  - Every object it creates carries the tag C(cmdb-openstack) and the custom fields C(openstack_id) and
    C(openstack_cloud) (created on the first run). Objects without that tag are never changed or deleted; platforms
    are shared by name and reused.
  - "Server tags become NetBox tags C(os:<tag>) (slug C(os-tag-...), marked as managed by their description); only
    those are added to or removed from a VM, tags a user adds stay, and a managed server tag nothing uses is
    deleted. The server's metadata is copied verbatim into the JSON custom field C(openstack_metadata): data only,
    never templated or executed."
  - A platform the sync created for an image that no VM or device uses any more is deleted O(retention) days after
    it was first found unused (the custom field C(openstack_deleted_at) records when).
  - Incremental. Each cluster keeps the last CMDB change-log id it applied in its custom field
    C(openstack_sync_state); a run writes only what changed since, in bulk requests, one batch of servers at a time,
    and saves the watermark after every batch, so an interrupted first load resumes where it stopped. A run with no
    new changes writes nothing.
  - "Deletions follow the CMDB's tombstones: the VM of a deleted server gets O(deleted_status) and the custom field
    C(openstack_deleted_at); it is deleted, with its addresses, O(retention) days after the deletion."
  - The watermark lives in NetBox, so a NetBox restored from a backup is brought up to date from its own state. If
    the CMDB purges change-log entries the sync has not applied yet, run once with O(full=true).
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
requirements:
  - python >= 3.8
  - pynetbox
  - requests
  - SQLAlchemy
  - alembic
  - psycopg (for a PostgreSQL CMDB)
options:
  netbox_url:
    description:
      - Base URL of NetBox, for example C(https://netbox.example.com).
      - Defaults to the environment variable E(NETBOX_URL).
    type: str
    required: true
  netbox_token:
    description:
      - A NetBox API token, v2 (C(nbt_<key>.<secret>)) or v1. Its user needs view, add, change and delete
        permissions on virtual machines, VM interfaces, virtual disks, clusters, cluster types, tenants, VRFs,
        IP addresses, platforms, tags and custom fields, and the token must be write-enabled.
      - Defaults to the environment variable E(NETBOX_TOKEN).
    type: str
    required: true
  validate_certs:
    description: Verify NetBox's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for one NetBox request (a bulk write of 500 objects can take half a minute).
    type: int
    default: 300
  clouds:
    description: Only these CMDB clouds (default every cloud with servers in the CMDB).
    type: list
    elements: str
  deleted_status:
    description: NetBox status given to the VM of a server deleted in OpenStack, until O(retention) has passed.
    type: str
    choices: [decommissioning, offline]
    default: decommissioning
  retention:
    description: Days a deleted server's VM stays in NetBox (with O(deleted_status)) before it is deleted.
    type: int
    default: 30
  batch_size:
    description: Servers written per batch; the watermark is saved after every batch.
    type: int
    default: 500
  max_batches:
    description:
      - Stop after this many batches (0 means no limit); the next run resumes. Spreads a large first load over
        several runs.
    type: int
    default: 0
  parallel_writes:
    description:
      - Concurrent requests for a large bulk write (at least 100 objects); NetBox serves each request on one CPU.
        V(1) writes one request at a time. The children of one VM always go in the same request.
    type: int
    default: 2
  full:
    description:
      - Compare every server of the CMDB with NetBox instead of only what changed since the last run, and mark
        managed VMs whose server the CMDB does not know as deleted. Reads every managed VM; writes only differences.
    type: bool
    default: false
notes:
  - Supports check mode (reads NetBox and reports what it would write) and diff mode (one line per object).
  - "NetBox status mapping: ACTIVE and transitional states -> active, BUILD/REBUILD -> staged, SHUTOFF/STOPPED/SHELVED
    -> offline, PAUSED/SUSPENDED -> paused, ERROR/UNKNOWN -> failed, DELETED -> O(deleted_status)."
  - Disk sizes are written in MB (NetBox 4.1 and newer), 1 GB = 1000 MB as NetBox's own conversion.
seealso:
  - module: cmdb.openstack.cmdb_sync
extends_documentation_fragment:
  - cmdb.openstack.cmdb
"""

EXAMPLES = r"""
- name: Sync the demo cloud into the CMDB
  cmdb.openstack.cmdb_sync:
    cloud: demo
    cmdb_url: sqlite:///cmdb.sqlite

- name: Write the changes into NetBox
  cmdb.openstack.netbox_sync:
    netbox_url: https://netbox.example.com
    netbox_token: "{{ vault_netbox_token }}"
    cmdb_url: sqlite:///cmdb.sqlite
    retention: 14

- name: A first load of a large estate, 20 batches of 500 servers per run
  cmdb.openstack.netbox_sync:
    netbox_url: https://netbox.example.com
    netbox_token: "{{ vault_netbox_token }}"
    max_batches: 20

- name: Preview what would change
  cmdb.openstack.netbox_sync:
    netbox_url: https://netbox.example.com
    netbox_token: "{{ vault_netbox_token }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
msg:
  description: One line summing up the run.
  returned: always
  type: str
  sample: "NetBox https://nb.example.com: 12 created, 0 updated (0 decommissioned), 0 deleted in 2 cluster(s), 1.4 s"
netbox_url:
  description: The NetBox base URL used.
  returned: success
  type: str
netbox_version:
  description: The NetBox version reported by C(/api/status/).
  returned: success
  type: str
  sample: 4.7.3
counts:
  description: Per object kind, the number of objects created, updated and deleted (would be, in check mode).
  returned: success
  type: dict
  sample: {"virtual_machines": {"created": 12, "updated": 0, "deleted": 0}}
totals:
  description: Sums of RV(counts) per action.
  returned: success
  type: dict
  sample: {"created": 40, "updated": 2, "deleted": 0}
decommissioned:
  description: VMs that got O(deleted_status) in this run.
  returned: success
  type: int
clusters:
  description: Per cloud and region, the cluster name, mode (full or incremental) and the watermark reached.
  returned: success
  type: list
  elements: dict
  sample: [{"cloud": "demo", "region": "RegionOne", "cluster": "demo/RegionOne", "mode": "full", "watermark": 812}]
batches:
  description: Batches of servers processed.
  returned: success
  type: int
complete:
  description: False when O(max_batches) stopped the run before everything was written (the next run resumes).
  returned: success
  type: bool
requests:
  description: REST calls made (reads, writes), objects written and the seconds spent inside REST calls.
  returned: success
  type: dict
  sample: {"reads": 10, "writes": 8, "objects_written": 52, "seconds": 1.9}
duration:
  description: Seconds the run took.
  returned: success
  type: float
diff:
  description: In diff mode, one line per object created (+), updated (~) or deleted (-).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.cmdb.openstack.plugins.module_utils.module import CMDB_LIBRARIES, CmdbModule, ModuleSpec
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox import runner

SPEC = ModuleSpec(
    groups=("cmdb",),
    options=dict(
        netbox_url=dict(type="str", required=True, fallback=(env_fallback, ["NETBOX_URL"])),
        netbox_token=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["NETBOX_TOKEN"])),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
        clouds=dict(type="list", elements="str"),
        deleted_status=dict(type="str", choices=["decommissioning", "offline"], default="decommissioning"),
        retention=dict(type="int", default=30),
        batch_size=dict(type="int", default=500),
        max_batches=dict(type="int", default=0),
        full=dict(type="bool", default=False),
        parallel_writes=dict(type="int", default=2),
    ),
    libraries=("pynetbox", "requests") + CMDB_LIBRARIES,
)


def run(module):
    return runner.run_netbox_sync(module.params, check_mode=module.check_mode, diff=module._diff)


def main():
    CmdbModule(SPEC).run(run)


if __name__ == "__main__":
    main()
