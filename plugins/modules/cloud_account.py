#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cloud_account
short_description: Register, update or unregister an OpenStack account in the CMDB
version_added: 0.1.0
description:
  - Registers an OpenStack account once in the CMDB (the C(clouds) table), with how it
    authenticates, its regions and, for every resource type, whether it is synchronized and how
    often. The sync (M(cmdb.openstack.cmdb_sync) with its C(account) option),
    the C(cmdb.openstack.clouds) inventory plugin and the schedules read these settings.
  - No secret is ever stored. C(password), C(application_credential_secret) and C(token) are
    accepted in O(auth) (so the same dictionary can be reused) but never written; at sync time the
    secret comes from a vaulted variable passed to the sync, from C(OS_PASSWORD) /
    C(OS_APPLICATION_CREDENTIAL_SECRET), or from C(clouds.yaml)/C(secure.yaml) (accounts registered
    with O(cloud), for example a file written by an AWX credential).
  - Idempotent, C(changed) only when a stored setting changes. Options left out keep their
    stored values; O(resources) is merged into the stored settings type by type.
  - See C(docs/accounts.md) in the collection for the due logic and the pausing after failed logins.
author:
  - cmdb.openstack maintainers (@cmdb-openstack)
options:
  name:
    description:
      - The account's name. It is the cloud name of every record synchronized for it and the name of
        its host in the C(cmdb.openstack.clouds) inventory.
    type: str
    required: true
  state:
    description:
      - V(present) registers or updates the account; V(absent) unregisters it. An unregistered
        account keeps its row and the history of its resources, and is not synchronized any more.
    type: str
    default: present
    choices: [present, absent]
  cloud:
    description:
      - The name of a cloud in C(clouds.yaml) that the sync connects with (the secret stays in
        C(clouds.yaml) or C(secure.yaml)). Mutually exclusive with O(auth).
      - Giving O(cloud) or O(auth) replaces the stored connection as a whole (with O(auth_type),
        O(interface), O(validate_certs), O(ca_cert) and O(api_timeout)).
    type: str
  auth:
    description:
      - How to authenticate without C(clouds.yaml). Which fields are required depends on O(auth_type).
      - V(password) (the default) needs C(auth_url), C(username) (or C(user_id)) and C(project_name)
        (or C(project_id)); V(v3applicationcredential) needs C(auth_url) and
        C(application_credential_id) (or C(application_credential_name) with C(username)).
    type: dict
    suboptions:
      auth_url:
        description: The identity service (Keystone) URL, for example C(https://keystone.example.com:5000/v3).
        type: str
      username:
        description: The user name.
        type: str
      user_id:
        description: The user id (instead of O(auth.username)).
        type: str
      password:
        description:
          - The password. Never stored and never shown; give it at sync time instead.
        type: str
      project_name:
        description: The project to scope the token to.
        type: str
      project_id:
        description: The project id (instead of O(auth.project_name)).
        type: str
      user_domain_name:
        description: The domain of the user, for example C(Default).
        type: str
      user_domain_id:
        description: The domain id of the user.
        type: str
      project_domain_name:
        description: The domain of the project, for example C(Default).
        type: str
      project_domain_id:
        description: The domain id of the project.
        type: str
      domain_name:
        description: Domain name for a domain-scoped token, or the default for the user and project domains.
        type: str
      domain_id:
        description: Domain id for a domain-scoped token, or the default for the user and project domains.
        type: str
      application_credential_id:
        description: The application credential id (O(auth_type=v3applicationcredential)).
        type: str
      application_credential_name:
        description: The application credential name (with O(auth.username)), instead of its id.
        type: str
      application_credential_secret:
        description:
          - The application credential secret. Never stored and never shown; give it at sync time.
        type: str
      token:
        description:
          - A token (O(auth_type=token)). Never stored and never shown.
        type: str
  auth_type:
    description:
      - The keystoneauth plugin, for example V(password) (the default) or V(v3applicationcredential).
    type: str
  interface:
    description: The endpoint interface of the service catalog to use.
    type: str
    choices: [public, internal, admin]
  validate_certs:
    description: Whether to verify the TLS certificates of the cloud's endpoints.
    type: bool
  ca_cert:
    description: A CA bundle file to verify the cloud's TLS certificates with.
    type: path
  api_timeout:
    description: Timeout of one HTTP request to the cloud, in seconds.
    type: float
  regions:
    description:
      - The regions to synchronize. An empty list means every region of the service catalog (the
        default of a new account).
    type: list
    elements: str
  all_projects:
    description:
      - List the resources of every project (needs the admin role). The default of a new account.
      - With V(false) and no O(projects), only the token's project is listed, and only its items
        can be marked deleted.
      - Left out, the stored value stays (V(false) when only O(projects) is given).
    type: bool
  projects:
    description:
      - Limit the listing (and the marking of deleted items) to these projects, by name or id;
        M(cmdb.openstack.cmdb_sync) lists each of them. Cannot be combined with O(all_projects=true).
      - An empty list with O(all_projects=false) means the token's project only.
    type: list
    elements: str
  resources:
    description:
      - "Per resource type, C(enabled) (bool) and C(interval), for example
        C({servers: {interval: 10m}, load_balancers: {enabled: false}})."
      - Types are the catalog names C(servers), C(volumes), C(load_balancers), C(security_groups),
        C(volume_snapshots), C(images), C(flavors), C(networks), C(subnets), C(ports), C(routers),
        C(floating_ips) (singular names work too).
      - Intervals are seconds (C(300)) or a number with a unit, C(s), C(m), C(h), C(d), C(w), units
        combined largest first (C(30s), C(5m), C(6h), C(2w), C(1h30m)).
      - Types and keys left out keep their stored values; a new account starts from the catalog's
        defaults (every type enabled; servers 5m; volumes, load balancers and security groups 6h;
        the others 2w).
    type: dict
  paused:
    description:
      - A paused account is not synchronized. V(false) also clears the count of failed logins, which
        resumes an account paused by O(pause_after_auth_failures).
      - A new account is not paused.
    type: bool
  pause_after_auth_failures:
    description:
      - Pause the account after this many authentication failures in a row (a success resets the
        count). V(0) never pauses (the default of a new account).
    type: int
extends_documentation_fragment:
  - cmdb.openstack.cmdb
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the CMDB.
    support: full
  diff_mode:
    description: Returns the stored settings before and after.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
notes:
  - Requires SQLAlchemy and alembic (and psycopg for PostgreSQL) on the host that runs the module.
requirements:
  - python >= 3.8
  - SQLAlchemy >= 2.0
  - alembic
"""

EXAMPLES = r"""
- name: Register an account from clouds.yaml, servers every 10 minutes, no load balancers
  cmdb.openstack.cloud_account:
    name: prod
    cloud: prod
    regions: [RegionOne, RegionTwo]
    resources:
      servers: {interval: 10m}
      load_balancers: {enabled: false}
    pause_after_auth_failures: 3
    cmdb_url: postgresql+psycopg://cmdb@db.example.com/cmdb

- name: Register an account by auth URL (the password comes at sync time, from a vault)
  cmdb.openstack.cloud_account:
    name: staging
    auth:
      auth_url: https://keystone.staging.example.com:5000/v3
      username: cmdb-reader
      project_name: ops
      user_domain_name: Default
      project_domain_name: Default
    cmdb_url: sqlite:///cmdb.sqlite

- name: Register an application credential
  cmdb.openstack.cloud_account:
    name: lab
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.lab.example.com:5000/v3
      application_credential_id: 3b7c5e0f1d2a4c8e9f6a
    cmdb_url: sqlite:///cmdb.sqlite

- name: Resume an account paused after failed logins
  cmdb.openstack.cloud_account:
    name: staging
    paused: false
    cmdb_url: sqlite:///cmdb.sqlite

- name: Unregister (the history stays in the CMDB)
  cmdb.openstack.cloud_account:
    name: lab
    state: absent
    cmdb_url: sqlite:///cmdb.sqlite
"""

RETURN = r"""
account:
  description: The account as stored (after the change; in check mode, as it would be). No secret.
  returned: always, null when an unknown account is unregistered
  type: dict
  contains:
    name:
      description: The account name.
      type: str
      sample: prod
    connection:
      description: Non-secret connection settings, C(cloud) or C(auth_type) and C(auth).
      type: dict
      sample: {"cloud": "prod"}
    regions:
      description: Regions to synchronize; empty means every region of the catalog.
      type: list
      elements: str
      sample: [RegionOne]
    all_projects:
      description: Whether every project is listed.
      type: bool
      sample: true
    projects:
      description: The projects the listing is limited to (names or ids); empty unless given.
      type: list
      elements: str
      sample: []
    resources:
      description: Per type C(enabled), C(interval) (seconds) and C(interval_text).
      type: dict
      sample: {"servers": {"enabled": true, "interval": 300, "interval_text": "5m"}}
    paused:
      description: Whether the account is paused.
      type: bool
    pause_after_auth_failures:
      description: Failed logins in a row that pause the account (null never).
      type: int
    auth_failures:
      description: Failed logins in a row so far.
      type: int
    last_auth_error:
      description: The reason of the last failed login.
      type: str
    last_auth_error_at:
      description: When the last login failed (UTC).
      type: str
    created_at:
      description: When the account was first registered (UTC).
      type: str
    updated_at:
      description: When its settings last changed (UTC).
      type: str
    registered:
      description: False once the account is unregistered.
      type: bool
msg:
  description: What happened, in one line.
  returned: always
  type: str
  sample: cloud account 'prod' registered
"""

from ansible_collections.cmdb.openstack.plugins.module_utils import accounts
from ansible_collections.cmdb.openstack.plugins.module_utils.module import CMDB_LIBRARIES, CmdbModule, ModuleSpec

SPEC = ModuleSpec(
    groups=("cmdb",),
    # the account options are defined with the accounts code; cmdb_url comes from the cmdb group
    options=dict((key, value) for key, value in accounts.CLOUD_ACCOUNT_ARGUMENT_SPEC.items() if key != "cmdb_url"),
    mutually_exclusive=[("cloud", "auth")],
    libraries=CMDB_LIBRARIES,
)


def main():
    CmdbModule(SPEC).run(lambda module: accounts.run_cloud_account(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
