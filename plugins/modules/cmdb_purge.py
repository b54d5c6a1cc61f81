#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmdb_purge
short_description: Purge old tombstones and change-log entries from the CMDB
version_added: 0.1.0
description:
  - Retention for the CMDB written by M(cmdb.openstack.cmdb_sync). Removes, for good, the
    resources marked deleted longer ago than O(older_than) (with their relations), the change-log
    entries older than that, and the finished sync runs older than that (except the newest
    successful one of each region and type, which incremental syncs and the due logic need).
  - Live resources are never removed.
  - The purge takes the same locks as M(cmdb.openstack.cmdb_sync) for every cloud, region and type
    whose tombstones it removes, so it waits for a sync of those scopes to finish (up to
    O(lock_timeout)) and never removes a row that a running sync is reviving.
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
options:
  older_than:
    description:
      - The age, as seconds or a duration such as C(90d), C(2w) or C(12h).
    type: str
    required: true
  cloud:
    description: Only purge these clouds (default every cloud).
    type: list
    elements: str
  lock_timeout:
    description:
      - Seconds to wait for a running sync of a cloud, region and type whose tombstones are to be
        removed.
    type: int
    default: 600
extends_documentation_fragment:
  - cmdb.openstack.cmdb
attributes:
  check_mode:
    description: Counts what would be purged and removes nothing.
    support: full
  diff_mode:
    description: Nothing to show beyond the counts.
    support: none
  platform:
    description: Runs on the host that can reach the database.
    support: N/A
    platforms: posix
"""

EXAMPLES = r"""
- name: Keep 90 days of history
  cmdb.openstack.cmdb_purge:
    older_than: 90d

- name: What a one-week retention would remove
  cmdb.openstack.cmdb_purge:
    older_than: 1w
    cloud: [demo]
  check_mode: true
  register: would
"""

RETURN = r"""
purged:
  description: How many rows were (in check mode, would be) removed, and the cutoff time.
  returned: success
  type: dict
  sample: {"resources": 3, "relations": 7, "changes": 120, "sync_runs": 40, "cutoff": "2026-08-25T10:00:00Z"}
msg:
  description: The counts in words.
  returned: always
  type: str
cmdb_url:
  description: The database (password hidden).
  returned: success
  type: str
"""

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.queries import run_purge
from ansible_collections.cmdb.openstack.plugins.module_utils.module import CMDB_LIBRARIES, CmdbModule, ModuleSpec

SPEC = ModuleSpec(
    groups=("cmdb",),
    options=dict(
        older_than=dict(type="str", required=True),
        cloud=dict(type="list", elements="str"),
        lock_timeout=dict(type="int", default=600),
    ),
    libraries=CMDB_LIBRARIES,
)


def main():
    CmdbModule(SPEC).run(lambda module: run_purge(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
