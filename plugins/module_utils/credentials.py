# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credential resolution of a registered account: its stored settings plus the secret given now.

Secrets are never stored: ``password``, ``application_credential_secret`` and ``token`` come at
sync time from the caller (``overrides``: a vaulted variable), the environment (``OS_PASSWORD``,
``OS_APPLICATION_CREDENTIAL_SECRET``, ``OS_TOKEN``) or a clouds.yaml/secure.yaml (an account
registered by clouds.yaml name; AWX credentials write such a file). The account is read with
``cmdb.accounts.available_account``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import OrderedDict

from ansible_collections.cmdb.openstack.plugins.module_utils import secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.account_settings import (
    CONNECTION_EXTRAS,
    AccountUnavailable,
    secret_key,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.clock import iso
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError


def connection_params(store, name, overrides=None, environ=None, ignore_paused=False):
    """Parameters for ``connection.open_cloud`` from the stored settings plus secrets given now.

    ``overrides`` is a dict of connection options (``cloud``, ``auth`` merged key by key,
    ``auth_type``, ``region_name``, ``interface``, ``validate_certs``, ``ca_cert``,
    ``api_timeout``) and/or the secret alone as ``password``, ``application_credential_secret``
    or ``token``. When an auth-based account still has no secret, it is taken from
    ``OS_PASSWORD`` / ``OS_APPLICATION_CREDENTIAL_SECRET`` / ``OS_TOKEN``; a missing secret is an
    error that says where to put it. Accounts registered with ``cloud`` read their secret from
    clouds.yaml/secure.yaml. Raises ``AccountUnavailable`` for an unknown, unregistered or paused
    account (``ignore_paused``: also for a paused one, e.g. to check its permissions).
    """
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.accounts import available_account

    return resolve(available_account(store, name), overrides=overrides, environ=environ, ignore_paused=ignore_paused)


def resolve(account, overrides=None, environ=None, ignore_paused=False):
    """``connection_params`` for an account dict already read (``cmdb.accounts.get_account``)."""
    name = account["name"]
    if account["paused"] and not ignore_paused:
        reason = ""
        if account["last_auth_error"]:
            reason = " after %d failed authentication(s), last on %s: %s" % (
                account["auth_failures"],
                iso(account["last_auth_error_at"]),
                account["last_auth_error"],
            )
        raise AccountUnavailable(
            "cloud account %r is paused%s; fix it, then resume it with cmdb.openstack.cloud_account "
            "(name: %s, paused: false)" % (name, reason, name),
            "paused",
        )
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    stored = account["connection"]
    params = OrderedDict()
    cloud = overrides.pop("cloud", None) or stored.get("cloud")
    if cloud:
        params["cloud"] = cloud
    auth = dict(stored.get("auth") or {})
    auth.update((key, value) for key, value in (overrides.pop("auth", None) or {}).items() if value is not None)
    for key in secrets.SECRET_ENV:
        value = overrides.pop(key, None)
        if value is not None:
            auth[key] = value
    auth_type = overrides.pop("auth_type", None) or stored.get("auth_type")
    if auth_type:
        params["auth_type"] = auth_type
    if not cloud:
        needed = secret_key(auth_type)
        if needed and not auth.get(needed):
            env_name = secrets.SECRET_ENV[needed]
            if environ.get(env_name):
                auth[needed] = environ[env_name]
            else:
                raise ConfigurationError(
                    "cloud account %r authenticates with auth_type %r, whose %s is never stored: give it at "
                    "sync time (a vaulted variable passed as the account's secret, or the environment variable "
                    "%s), or register the account with a clouds.yaml cloud name (cloud), e.g. one written by an "
                    "AWX credential" % (name, auth_type or "password", needed, env_name)
                )
    if auth:
        params["auth"] = auth
    for key in CONNECTION_EXTRAS:
        if overrides.get(key) is not None:
            params[key] = overrides.pop(key)
        elif stored.get(key) is not None:
            params[key] = stored[key]
    region_name = overrides.pop("region_name", None)
    if region_name is None and account["regions"]:
        region_name = list(account["regions"])
    if region_name is not None:
        params["region_name"] = region_name
    for key, value in overrides.items():
        if value is not None and key not in params:
            params[key] = value
    return dict(params)
