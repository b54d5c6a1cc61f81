"""The pure functions of the cmdb.openstack.clouds inventory plugin: host names, variables, groups."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cmdb.openstack.plugins.inventory import clouds
from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings


def account(name, regions=(), paused=False, connection=None):
    return {
        "name": name,
        "connection": connection or {"cloud": name},
        "regions": list(regions),
        "settings": account_settings.normalize_settings(None),
        "paused": paused,
        "pause_after_auth_failures": None,
        "auth_failures": 0,
        "last_auth_error": None,
        "last_auth_error_at": None,
        "created_at": datetime.datetime(2026, 1, 1),
        "updated_at": datetime.datetime(2026, 1, 1),
        "deleted_at": None,
    }


def test_host_names():
    assert clouds.host_names(account("a")) == [("a", "")]
    assert clouds.host_names(account("a", ["R1"])) == [("a", "R1")]
    assert clouds.host_names(account("a", ["R1", "R2"])) == [("a_R1", "R1"), ("a_R2", "R2")]


def test_groups_and_paused():
    hosts = clouds.build_hosts([account("a", ["R1", "R2"]), account("p", paused=True)])
    assert [(name, groups) for name, _vars, groups in hosts] == [
        ("a_R1", ["openstack_clouds"]),
        ("a_R2", ["openstack_clouds"]),
        ("p", ["paused_clouds"]),
    ]
    assert [name for name, _v, _g in clouds.build_hosts([account("p", paused=True)], include_paused=False)] == []


def test_collisions_are_an_error_naming_both_accounts():
    with pytest.raises(ValueError) as info:
        clouds.build_hosts([account("a", ["R1", "R2"]), account("a_R1")])
    assert "'a'" in str(info.value) and "'a_R1'" in str(info.value)


def test_host_vars_never_carry_a_secret():
    leaky = account(
        "a",
        connection={"auth_type": "password", "auth": {"auth_url": "u", "password": "S3CRET"}, "token": "T0KEN"},
    )
    variables = clouds.host_vars(leaky, "")
    assert "S3CRET" not in repr(variables) and "T0KEN" not in repr(variables)
    assert variables["cmdb_connection"]["auth"] == {"auth_url": "u"}
    assert variables["cmdb_resources"]["servers"] == {"enabled": True, "interval": 300, "interval_text": "5m"}
    assert variables["cmdb_account"] == "a" and variables["cmdb_region"] == ""
