# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule for what is a secret, used by modules, module_utils, the AWX planner, the inventory
plugins and (through the ``cmdb.openstack.secret_keys`` filter) the roles and playbooks.

A key names a secret when, lower-cased with ``-`` read as ``_``, it contains one of
:data:`SECRET_WORDS` (``password``, ``os_password``, ``application_credential_secret``,
``auth_token``, ``client_secret``, ``totp`` ...). Secret values are never stored, logged or
returned: modules add them to ``no_log_values``, stored connections go through
:func:`strip_secrets`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import OrderedDict

#: A key containing one of these words holds a secret.
SECRET_WORDS = ("password", "secret", "token", "passcode", "totp")
_SECRET_KEY = re.compile("|".join(SECRET_WORDS))

#: The auth key of each auth family's secret, and the environment variable it may come from.
SECRET_ENV = OrderedDict(
    (
        ("password", "OS_PASSWORD"),
        ("application_credential_secret", "OS_APPLICATION_CREDENTIAL_SECRET"),
        ("token", "OS_TOKEN"),
    )
)

#: The secrets an account may be given at sync time (the keys of :data:`SECRET_ENV`).
ACCOUNT_SECRET_KEYS = tuple(SECRET_ENV)


def is_secret_key(key):
    """True when values under ``key`` are secrets."""
    return bool(_SECRET_KEY.search(str(key).lower().replace("-", "_")))


def secret_values(value):
    """Every secret string found under a secret key anywhere in ``value`` (dicts and lists walked),
    in order of appearance, without duplicates: what a module passes to ``no_log_values``."""
    found = []

    def walk(item, secret=False):
        if isinstance(item, dict):
            for key, child in item.items():
                walk(child, secret or is_secret_key(key))
        elif isinstance(item, (list, tuple)):
            for child in item:
                walk(child, secret)
        elif secret and item not in (None, "") and not isinstance(item, bool):
            text = str(item)
            if text not in found:
                found.append(text)

    walk(value or {})
    return found


def strip_secrets(mapping):
    """A copy of ``mapping`` (sorted, ``None`` values dropped) without any secret key, nested
    mappings stripped too."""
    if not mapping:
        return OrderedDict()
    stripped = OrderedDict()
    for key, value in sorted(mapping.items()):
        if value is None or is_secret_key(key):
            continue
        stripped[key] = strip_secrets(value) if isinstance(value, dict) else value
    return stripped
