# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: awx_plan
short_description: The AWX objects (credentials, inventory, job template, schedules) for cmdb.openstack accounts
version_added: 0.1.0
description:
  - Computes, without contacting AWX, every AWX object that runs cmdb.openstack syncs for a list of
    accounts; the C(cmdb.openstack.awx) role creates them with the awx.awx collection.
  - One schedule per account and resource type, whose RRULE follows the type's interval (the account's own
    or the resource catalog's default) and which is enabled when the type is enabled and the account is not paused.
  - Secrets never enter the plan; see P(cmdb.openstack.awx_credential_inputs#filter).
options:
  _input:
    description:
      - The accounts registered in the CMDB, as the C(accounts) section of M(cmdb.openstack.cmdb_info)
        returns them (the C(cmdb.openstack.awx) role reads them so).
      - Deprecated, still accepted, the list of C(playbooks/vars/accounts.example.yml).
    type: list
    elements: dict
    required: true
  prefix:
    description: Prefix of every object name.
    type: str
    default: cmdb.openstack
  organization:
    description: The AWX organization.
    type: str
    default: Default
  project:
    description: The project (C(name), C(scm_type), C(scm_url), C(scm_branch), C(scm_credential)).
    type: dict
  inventory_source_path:
    description: Path, in the project, of the inventory file that uses the C(cmdb.openstack.clouds) plugin.
    type: str
    default: playbooks/inventory/openstack_clouds.yml
  playbook:
    description: The sync playbook in the project.
    type: str
    default: playbooks/sync.yml
  credential_kind:
    description:
      - C(clouds_yaml) creates a custom credential type that carries a whole clouds.yaml (works with
        application credentials); C(openstack) uses AWX's built-in OpenStack type (password only).
    type: str
    default: clouds_yaml
    choices: [clouds_yaml, openstack]
  dtstart:
    description: First start of the schedules (UTC), before staggering.
    type: str
    default: "2026-01-01T00:00:00Z"
  stagger:
    description: Shift each schedule's start by a stable number of minutes below its interval.
    type: bool
    default: true
  job_slice_count:
    description: AWX job slicing of the sync job template.
    type: int
    default: 1
  forks:
    description: Forks of the sync job template.
    type: int
    default: 5
  execution_environment:
    description: Name of the execution environment of the job template.
    type: str
  cmdb_credential:
    description: Create a credential type and a credential that inject C(CMDB_URL).
    type: bool
    default: true
  types:
    description: Schedule only these resource types (default every type).
    type: list
    elements: str
  clouds_yaml_accounts:
    description:
      - Names of the accounts whose secrets hold a whole C(clouds_yaml). When given, an account registered
        with a clouds.yaml cloud name and not listed gets no AWX credential (its jobs find that cloud in a
        clouds.yaml of the execution environment) and the plan warns. Left out, every account gets one.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Show the AWX objects for the registered accounts
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.rrule }} enabled={{ item.enabled }}"
  loop: "{{ (cmdb_accounts | cmdb.openstack.awx_plan(project=my_project)).schedules }}"
  vars:
    my_project:
      scm_url: https://git.example.com/ops.git
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    credential_types:
      description: Custom credential types to create.
      type: list
      elements: dict
    credentials:
      description: One credential per account (without secrets), and the CMDB credential.
      type: list
      elements: dict
    project:
      description: The project.
      type: dict
    inventory:
      description: The inventory.
      type: dict
    inventory_source:
      description: The inventory source (the clouds inventory file of the project).
      type: dict
    job_templates:
      description: The sync job template.
      type: list
      elements: dict
    schedules:
      description: One per account and type, with C(rrule), C(enabled), C(extra_data) and C(credentials).
      type: list
      elements: dict
    warnings:
      description: Intervals AWX cannot follow exactly, and accounts planned without a credential.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.cmdb.openstack.plugins.module_utils.awx_planner import build_plan
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError


def awx_plan(accounts, **options):
    try:
        return build_plan(accounts, **options)
    except CmdbError as exc:
        raise AnsibleFilterError("cmdb.openstack.awx_plan: %s" % exc.message)
    except TypeError as exc:
        raise AnsibleFilterError("cmdb.openstack.awx_plan: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"awx_plan": awx_plan}
