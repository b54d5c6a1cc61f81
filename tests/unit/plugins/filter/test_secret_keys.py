"""The cmdb.openstack.secret_keys filter (plugins/filter/secret_keys.py), built on module_utils/secrets.py.

Here, not under tests/unit/plugins/module_utils: ansible-test units runs module_utils tests with only
ansible.module_utils importable, and a filter plugin needs the controller (ansible.errors).
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cmdb.openstack.plugins.filter.secret_keys import secret_keys


def test_secret_keys_filter():
    given = {"password": "p", "username": "u", "totp": "1", "application_credential_secret": "s"}
    assert secret_keys(given) == {"password": "p", "totp": "1", "application_credential_secret": "s"}
    assert secret_keys(given, only_account_secrets=True) == {"password": "p", "application_credential_secret": "s"}
    assert secret_keys(None) == {}
    with pytest.raises(AnsibleFilterError, match="mapping"):
        secret_keys(["password"])
