# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: secret_keys
short_description: Keep only the secrets of a mapping, by the collection's one rule for secrets
version_added: 0.2.0
description:
  - Returns the entries of a mapping whose key names a secret (it contains C(password), C(secret),
    C(token), C(passcode) or C(totp)), the same rule the modules use for C(no_log).
  - Roles and playbooks use it to pass an account's secrets, and nothing else, to a module.
  - With O(only_account_secrets=true) only the secrets an account may be given at sync time are kept
    (C(password), C(application_credential_secret), C(token)).
options:
  _input:
    description: A mapping, for example the vaulted secrets of one account.
    type: dict
    required: true
  only_account_secrets:
    description: Keep only C(password), C(application_credential_secret) and C(token).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Sync one account with its vaulted secrets only
  cmdb.openstack.cmdb_sync:
    account: prod
    auth: "{{ vaulted_secrets['prod'] | cmdb.openstack.secret_keys(only_account_secrets=true) }}"
"""

RETURN = r"""
_value:
  description: The secret entries of the input (empty when there are none).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.cmdb.openstack.plugins.module_utils import secrets


def secret_keys(mapping, only_account_secrets=False):
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise AnsibleFilterError("secret_keys: expected a mapping of secrets, got %s" % type(mapping).__name__)
    keep = secrets.ACCOUNT_SECRET_KEYS if only_account_secrets else None
    return dict(
        (key, value)
        for key, value in mapping.items()
        if value is not None and secrets.is_secret_key(key) and (keep is None or key in keep)
    )


class FilterModule(object):
    def filters(self):
        return {"secret_keys": secret_keys}
