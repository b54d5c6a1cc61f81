# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: awx_credential_inputs
short_description: The AWX inputs of one planned credential, with its secret
version_added: 0.1.0
description:
  - Merges the secret of one account (or the CMDB URL) into the inputs of a credential planned by
    P(cmdb.openstack.awx_plan#filter). Use it only in a task with C(no_log), since the result holds the secret.
options:
  _input:
    description: One credential of the plan (an item of its C(credentials)).
    type: dict
    required: true
  secrets:
    description:
      - The account's secrets, C(password), C(application_credential_secret) or a whole C(clouds_yaml);
        C(cmdb_url) for the CMDB credential.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Create the credential of each account
  awx.awx.credential:
    name: "{{ item.name }}"
    organization: Default
    credential_type: "{{ item.credential_type }}"
    inputs: "{{ item | cmdb.openstack.awx_credential_inputs(cmdb_account_secrets[item.account]) }}"
  loop: "{{ plan.credentials }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The credential's C(inputs) for AWX, secret included.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.cmdb.openstack.plugins.module_utils.awx_planner import credential_inputs
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError


def awx_credential_inputs(credential, secrets):
    try:
        return credential_inputs(credential, secrets)
    except CmdbError as exc:
        raise AnsibleFilterError("cmdb.openstack.awx_credential_inputs: %s" % exc.message)


class FilterModule(object):
    def filters(self):
        return {"awx_credential_inputs": awx_credential_inputs}
