#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmdb_sync
short_description: Synchronize an OpenStack cloud into the CMDB, keeping history
version_added: 0.1.0
description:
  - Lists every requested resource type in every region of one cloud and writes the result into
    the CMDB (SQLite or PostgreSQL, see O(cmdb_url)), keeping history. New items are inserted,
    changed items are updated with a field-level diff in the change log, items that disappeared
    from a complete listing are marked deleted (tombstoned, never removed) once a GET of each
    proves it gone (HTTP 404), and items that come back are revived.
  - Deletion is proven, never inferred. An item missing from a complete listing is marked
    deleted only when a GET of that item answers 404 naming it (or, for servers listed
    incrementally, Nova reports it C(DELETED)). If the GET still returns it, the scope is
    C(inconsistent) and nothing of it is marked deleted in that run; any other answer (403, 5xx,
    a timeout) leaves it live until a later run proves it. At most O(max_delete_confirmations)
    GETs per region, type and run. When more than half of a scope's items (and more than 10)
    vanish at once, they are marked deleted only if every one is proven gone in that run
    (otherwise C(refused_mass_deletion)). A token that cannot list every project sweeps only its
    own project, whatever O(all_projects) says.
  - Only a complete listing (scope status C(ok)) changes anything. A forbidden, failed or timed-out
    listing of a region and type applies nothing and deletes nothing; the other regions and types
    are still synchronized. An empty complete listing where items existed deletes nothing unless
    O(allow_empty_sweep=true).
  - Listings are streamed page by page into a staging table, and each complete listing is applied
    in one transaction, so a run killed at any moment leaves the previous state whole.
  - Servers are synchronized incrementally (Nova C(changes-since)) once a full listing succeeded
    within O(full_sync_interval); deleted servers are then reported by Nova with status C(DELETED).
  - A no-change resync writes no resource and no change-log row (only its C(sync_runs) bookkeeping).
  - Two runs of the same cloud, region and type never interleave (a lease lock in the CMDB); runs
    of different clouds run in parallel.
  - See C(docs/cmdb.md) in the collection for the tables and queries.
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
options:
  account:
    description:
      - The name of an account registered with M(cmdb.openstack.cloud_account). Its stored
        connection settings, regions and per-type settings are used; the connection options of
        this module are merged over them (for example O(auth) with only the C(password) from a
        vaulted variable).
      - The account name is the cloud name of the records. Without O(account), the cloud name is
        the C(clouds.yaml) name (or a C(name) key of a O(cloud) dictionary). A cloud given only by
        C(OS_*) variables (or a O(cloud) dictionary without C(name)) is named after the identity
        host and the project, C(<host>[:<port>]/<project>), with a warning advising to name it.
      - An authentication failure is recorded on the account (see M(cmdb.openstack.cmdb_info)).
    type: str
  types:
    description:
      - The resource types to synchronize (plural or singular names), or V(all).
      - Default without O(account) every type of the catalog; with O(account) its enabled types.
    type: list
    elements: str
    choices: [servers, volumes, load_balancers, security_groups, volume_snapshots, images, flavors, networks,
              subnets, ports, routers, floating_ips, server, volume, load_balancer, security_group,
              volume_snapshot, image, flavor, network, subnet, port, router, floating_ip, all]
  all_projects:
    description:
      - List the resources of every project (admin credentials).
      - With V(false), only the token's project is listed, and only that project's items can be
        marked deleted.
      - Default V(true); with O(account), the account's project scope (its C(all_projects) and
        C(projects), see M(cmdb.openstack.cloud_account)). Giving this option or O(project_id) wins.
    type: bool
  project_id:
    description:
      - Only synchronize this project; only its items can be marked deleted (types without a
        project, such as flavors, are reconciled as a whole).
    type: str
  only_due:
    description:
      - With O(account), synchronize only the enabled types whose interval has passed since their
        last successful sync (the due logic of the account). Requires O(account).
    type: bool
    default: false
  allow_empty_sweep:
    description:
      - Mark every known item of a scope deleted when its complete listing comes back empty.
        By default such a listing is refused (status C(refused_empty), a warning), because an
        empty answer is more often a fault than a real mass deletion.
    type: bool
    default: false
  max_delete_confirmations:
    description:
      - The most GETs per region, type and run that prove missing items deleted (32 run at a
        time). Missing items beyond it stay live until a later run proves them gone (counted as
        C(unconfirmed), with a warning).
      - V(0) marks nothing deleted.
    type: int
    default: 200
  full_sync_interval:
    description:
      - How often servers are listed in full (to reconcile deletions) instead of incrementally with
        Nova C(changes-since), as seconds or a duration such as C(6h), C(1d) or C(1h30m).
      - V(0) lists servers in full on every run.
    type: raw
    default: 1d
  strict:
    description:
      - Fail when any region and type could not be synchronized, even with
        O(fail_on_scope_errors=false) (the default O(fail_on_scope_errors=true) already does).
    type: bool
    default: false
  fail_on_scope_errors:
    description:
      - Fail the task when any region and type could not be synchronized (anything but C(ok) and
        C(not_in_catalog), for example C(forbidden), C(error) or C(refused_empty)). What did
        succeed is applied first either way.
      - With V(false) the task fails only when no listing succeeded at all, and reports the
        others as warnings and in RV(scopes) and RV(failed_scopes).
    type: bool
    default: true
  accept_identity_change:
    description:
      - The CMDB remembers which credentials fed each cloud name (identity service URL, project
        and its domain, user or application credential; never a secret). A run with other
        credentials under the same name is refused, because it would mark the items the other
        account sees as deleted.
      - Set V(true) once when the cloud really moved to the new credentials; the new identity is
        then stored. Otherwise give the cloud another name.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another run of the same cloud, region and type to finish.
    type: int
    default: 600
extends_documentation_fragment:
  - cmdb.openstack.connection
  - cmdb.openstack.connection.regions
  - cmdb.openstack.load_balancers
  - cmdb.openstack.cmdb
attributes:
  check_mode:
    description: Computes every change (in a transaction that is rolled back) and writes nothing.
    support: full
  diff_mode:
    description: Shows each created, updated, deleted and reappeared item with its field diff.
    support: full
  platform:
    description: Runs on the host that can reach the clouds and the database.
    support: N/A
    platforms: posix
"""

EXAMPLES = r"""
- name: Sync a clouds.yaml cloud into the default SQLite CMDB
  cmdb.openstack.cmdb_sync:
    cloud: mycloud
  register: sync

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ sync.summary_lines }}"

- name: Sync what is due for a registered account into a shared PostgreSQL CMDB
  cmdb.openstack.cmdb_sync:
    account: production
    only_due: true
    auth:
      password: "{{ vault_production_password }}"
    cmdb_url: postgresql+psycopg://cmdb@db.example.com/cmdb

- name: Force a full server reconciliation, showing what would change
  cmdb.openstack.cmdb_sync:
    cloud: mycloud
    types: [servers]
    full_sync_interval: 0
  check_mode: true
  diff: true
"""

RETURN = r"""
cloud:
  description: The cloud name the records were stored under.
  returned: always
  type: str
  sample: demo
cmdb_url:
  description: The database written to (password hidden).
  returned: always
  type: str
  sample: sqlite:////home/me/cmdb.sqlite
types:
  description: The resource types synchronized.
  returned: always
  type: list
  elements: str
summary:
  description:
    - Per resource type, summed over the regions.
    - C(errors) counts the regions whose listing did not succeed; C(inconsistent) the regions
      whose deletions were contradicted by a GET; C(unconfirmed) and C(partial) as in RV(scopes).
  returned: always
  type: dict
  sample: {"servers": {"new": 12, "updated": 0, "deleted": 0, "reappeared": 0, "unchanged": 0, "errors": 0}}
totals:
  description: The counts of RV(summary) summed over the types.
  returned: success
  type: dict
  sample: {"new": 12, "updated": 0, "deleted": 0, "reappeared": 0, "unchanged": 0, "errors": 0}
summary_lines:
  description: RV(summary) as a fixed-width table, one line per type, for a person to read.
  returned: success
  type: list
  elements: str
scopes:
  description:
    - One entry per region and type, with C(status) C(ok), C(forbidden), C(not_in_catalog),
      C(auth_failed), C(error), C(refused_empty) (an empty listing was not applied),
      C(inconsistent) (an item missing from the listing is still served by its GET, so nothing
      was marked deleted), C(refused_mass_deletion) (most items vanished and not all were proven
      gone) or C(superseded) (a newer run of the same scope was applied first).
    - C(mode) is C(full) or C(incremental); C(counts) has C(new), C(updated), C(deleted),
      C(reappeared), C(unchanged), C(listed), C(confirmations) (GETs made to prove deletions),
      C(unconfirmed) (missing items not yet proven gone) and C(partial) (records the API could
      not fill, such as servers of a Nova cell that is down, left as they were).
  returned: always
  type: list
  elements: dict
  sample:
    - {"cloud": "demo", "region": "RegionOne", "type": "servers", "mode": "full", "status": "ok",
       "message": null, "http_status": null, "sync_run_id": 1,
       "counts": {"new": 12, "updated": 0, "deleted": 0, "reappeared": 0, "unchanged": 0, "listed": 12}}
failed_scopes:
  description: How many regions and types could not be synchronized.
  returned: success
  type: int
left_catalog:
  description:
    - The regions and types whose service left the service catalog although they were
      synchronized successfully before (also a warning); their items are kept, no longer updated.
  returned: always
  type: list
  elements: dict
  sample: [{"region": "RegionOne", "type": "load_balancers", "last_ok": "2026-11-23T11:44:48Z", "live": 4}]
duration:
  description: Seconds the sync took.
  returned: always
  type: float
changes:
  description:
    - In diff mode, the changes (at most 1000) with C(action), C(cloud), C(region), C(type), C(id),
      C(name) and C(diff).
  returned: when diff mode is on
  type: list
  elements: dict
msg:
  description: A one-line summary naming the failed scopes, if any.
  returned: always
  type: str
  sample: "cloud demo: 12 new, 0 updated, 0 deleted, 0 reappeared, 0 unchanged (12 types x 1 regions, 0.8 s)"
"""

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.identity import run_cmdb_sync
from ansible_collections.cmdb.openstack.plugins.module_utils.module import (
    CMDB_LIBRARIES,
    TYPE_CHOICES,
    CmdbModule,
    ModuleSpec,
)

SPEC = ModuleSpec(
    groups=("connection", "regions", "load_balancers", "cmdb"),
    options=dict(
        account=dict(type="str"),
        types=dict(type="list", elements="str", choices=TYPE_CHOICES),
        all_projects=dict(type="bool"),
        project_id=dict(type="str"),
        only_due=dict(type="bool", default=False),
        allow_empty_sweep=dict(type="bool", default=False),
        max_delete_confirmations=dict(type="int", default=200),
        full_sync_interval=dict(type="raw", default="1d"),
        strict=dict(type="bool", default=False),
        fail_on_scope_errors=dict(type="bool", default=True),
        accept_identity_change=dict(type="bool", default=False),
        lock_timeout=dict(type="int", default=600),
    ),
    libraries=CMDB_LIBRARIES,
)


def main():
    CmdbModule(SPEC).run(lambda module: run_cmdb_sync(module.params, check_mode=module.check_mode, diff=module._diff))


if __name__ == "__main__":
    main()
