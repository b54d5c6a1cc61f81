#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmdb_report
short_description: Write the CMDB report, one self-contained HTML file to open in a browser
version_added: 0.1.0
description:
  - Reads the CMDB written by M(cmdb.openstack.cmdb_sync) (SQLite or PostgreSQL) and writes one HTML
    file that opens offline from disk or from any web server and loads nothing from the network
    (a Content-Security-Policy forbids it). It can be kept as an AWX artifact.
  - "Sections: B(Now) (live counts per cloud, region and type, and per project, with the change since
    the report previously written at O(path)); B(Trends) (counts per type and servers by status per
    day, from the change log, as SVG charts); B(Changes) (recent changes with their field diffs, in a
    table that sorts, filters and searches in the browser); B(Waste and orphans); B(Sync health)
    (last successful sync per account, region and type against its interval, stale scopes, last
    errors, paused accounts, permission gaps); and one page per server."
  - Every string from a cloud is shown as text; nothing is templated and no script from data runs.
  - Calls no cloud API.
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
options:
  path:
    description:
      - The HTML file to write (replaced atomically). Its directory must exist.
      - The previous report at that path, if any, is read first to show the change since then.
    type: path
    required: true
  cloud:
    description: Only these clouds (account or C(clouds.yaml) names). Default every cloud.
    type: list
    elements: str
  title:
    description: The page title.
    type: str
    default: CMDB report
  waste_days:
    description:
      - Age in days after which available volumes, snapshots and SHUTOFF servers are listed as waste.
    type: int
    default: 30
  trend_days:
    description: How many days the trend charts cover.
    type: int
    default: 30
  changes_limit:
    description: How many of the newest change-log entries the Changes table holds.
    type: int
    default: 2000
  server_pages:
    description:
      - How many servers get a page (the first ones by name); the others are
        counted. Each page holds the server's ports, IPs, volumes, security groups, flavor, image,
        load balancers and history, so this bounds the file size of large estates.
    type: int
    default: 2000
  rows_limit:
    description: How many rows (the oldest first) each waste list holds; the totals are always shown.
    type: int
    default: 1000
  permissions:
    description:
      - Results registered from M(cmdb.openstack.cloud_permissions_info) (one, or a list). Their
        forbidden, not_in_catalog and error rows are shown as permission gaps, next to the gaps the
        last syncs met.
    type: raw
extends_documentation_fragment:
  - cmdb.openstack.cmdb
attributes:
  check_mode:
    description: Builds the report but writes nothing.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
  platform:
    description: Runs on the host that can reach the database and writes the file there.
    support: N/A
    platforms: posix
notes:
  - A volume's or a SHUTOFF server's age is counted from the API's C(updated_at) (else its
    C(created_at), else the first time the CMDB saw it).
  - A scope is stale when its last successful sync is older than twice its interval.
"""

EXAMPLES = r"""
- name: Write the CMDB report
  cmdb.openstack.cmdb_report:
    path: /var/lib/cmdb/report.html

- name: The report of one cloud, with the permission check's gaps
  cmdb.openstack.cmdb_report:
    path: /var/www/html/cmdb/production.html
    cloud: [production]
    waste_days: 14
    permissions: "{{ permissions_result }}"
"""

RETURN = r"""
path:
  description: The file written.
  returned: always
  type: str
size:
  description: Its size in bytes.
  returned: always
  type: int
summary:
  description:
    - Numbers of the report, no cloud string - C(live) (per cloud and type), C(changes) (entries in
      the log), C(waste) (per kind), C(stale_scopes), C(permission_gaps), C(servers) and
      C(server_pages).
  returned: always
  type: dict
  sample: {"live": {"demo": {"servers": 12}}, "changes": 40, "waste": {"volumes_available": 1},
           "stale_scopes": 0, "permission_gaps": 0, "servers": 12, "server_pages": 12}
cmdb_url:
  description: The database read (password hidden).
  returned: always
  type: str
"""

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.report import run_report
from ansible_collections.cmdb.openstack.plugins.module_utils.module import CMDB_LIBRARIES, CmdbModule, ModuleSpec

SPEC = ModuleSpec(
    groups=("cmdb",),
    options=dict(
        path=dict(type="path", required=True),
        cloud=dict(type="list", elements="str"),
        title=dict(type="str", default="CMDB report"),
        waste_days=dict(type="int", default=30),
        trend_days=dict(type="int", default=30),
        changes_limit=dict(type="int", default=2000),
        server_pages=dict(type="int", default=2000),
        rows_limit=dict(type="int", default=1000),
        permissions=dict(type="raw"),
    ),
    libraries=CMDB_LIBRARIES,
)


def main():
    CmdbModule(SPEC).run(lambda module: run_report(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
