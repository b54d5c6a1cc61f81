"""The one rule for secrets (module_utils/secrets.py); the roles' filter built on it: tests/unit/plugins/filter."""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import secrets


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "OS_PASSWORD",
        "os-password",
        "application_credential_secret",
        "token",
        "auth_token",
        "client_secret",
        "passcode",
        "totp",
        "db_password",
    ],
)
def test_secret_keys(key):
    assert secrets.is_secret_key(key)


@pytest.mark.parametrize("key", ["username", "auth_url", "project_name", "application_credential_id", "auth_type"])
def test_not_secret_keys(key):
    assert not secrets.is_secret_key(key)


def test_secret_values_walks_nested_dicts_and_lists():
    params = {
        "cloud": {"auth": {"password": "pw-in-cloud", "username": "u"}, "clouds": [{"token": "tok"}]},
        "auth": {"application_credential_secret": "app-secret", "password": "pw-in-cloud"},
        "secrets": ["dbpw"],
        "flag": {"password": True},
    }
    assert secrets.secret_values(params) == ["pw-in-cloud", "tok", "app-secret", "dbpw"]
    assert secrets.secret_values({"cloud": "demo"}) == []


def test_strip_secrets_is_sorted_and_recursive():
    stripped = secrets.strip_secrets(
        {"username": "u", "password": "p", "nested": {"token": "t", "x": 1}, "auth_url": "http://k", "none": None}
    )
    assert list(stripped) == ["auth_url", "nested", "username"]
    assert stripped["nested"] == {"x": 1}
