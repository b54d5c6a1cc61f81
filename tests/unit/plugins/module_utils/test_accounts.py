"""accounts: register/update/unregister in the clouds table, secrets never stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import json

import pytest
import sqlalchemy as sa

from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings, catalog, credentials, secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts, schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

MARKER = "Marker-S3cret-7f3a"

AUTH = {
    "auth_url": "http://127.0.0.1:5000/v3",
    "username": "admin",
    "password": MARKER,
    "project_name": "admin",
    "user_domain_name": "Default",
    "project_domain_name": "Default",
}


@pytest.fixture
def store(cmdb_url):
    opened = open_store(cmdb_url)
    yield opened
    opened.close()


def dump_clouds(store):
    with store.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(sa.select(schema.clouds)).mappings()]
    return json.dumps(rows, default=str)


def register(store, name="prod", **kwargs):
    connection = kwargs.pop("connection", None) or account_settings.build_connection(auth=dict(AUTH), account=name)
    return accounts.ensure_account(store, name, connection=connection, **kwargs)


def test_register_stores_no_secret_and_defaults_from_the_catalog(store):
    result = register(store)
    assert result["changed"] is True
    account = result["account"]
    assert account["connection"] == {
        "auth_type": "password",
        "auth": {k: v for k, v in AUTH.items() if k != "password"},
    }
    assert account["regions"] == []
    assert account["paused"] is False
    assert account["registered"] is True
    defaults = catalog.default_settings()
    assert {k: {"enabled": v["enabled"], "interval": v["interval"]} for k, v in account["resources"].items()} == {
        k: dict(v) for k, v in defaults.items()
    }
    assert account["resources"]["servers"]["interval_text"] == "5m"
    assert account["resources"]["images"]["interval_text"] == "2w"
    stored = accounts.get_account(store, "prod")
    assert stored["settings"]["servers"] == {"enabled": True, "interval": 300}
    assert MARKER not in dump_clouds(store)
    assert MARKER not in json.dumps(result)


def test_second_register_is_unchanged_and_partial_updates_merge(store):
    register(store, regions=["RegionOne"], resources={"servers": {"interval": "10m"}})
    again = register(store, regions=["RegionOne"], resources={"servers": {"interval": 600}})
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"]
    # Leaving options out keeps their stored values.
    kept = accounts.ensure_account(store, "prod")
    assert kept["changed"] is False
    assert kept["account"]["regions"] == ["RegionOne"]
    update = accounts.ensure_account(store, "prod", resources={"load_balancers": {"enabled": False}})
    assert update["changed"] is True
    assert update["diff"]["before"]["resources"]["load_balancers"]["enabled"] is True
    assert update["diff"]["after"]["resources"]["load_balancers"]["enabled"] is False
    assert update["diff"]["after"]["resources"]["servers"]["interval"] == 600
    stored = accounts.get_account(store, "prod")
    assert stored["settings"]["load_balancers"]["enabled"] is False
    assert stored["settings"]["servers"]["interval"] == 600


def test_check_mode_writes_nothing(store):
    result = register(store, check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["name"] == "prod"
    assert accounts.get_account(store, "prod") is None
    register(store)
    result = accounts.ensure_account(store, "prod", regions=["RegionTwo"], check_mode=True)
    assert result["changed"] is True
    assert result["account"]["regions"] == ["RegionTwo"]
    assert accounts.get_account(store, "prod")["regions"] == []
    gone = accounts.unregister_account(store, "prod", check_mode=True)
    assert gone["changed"] is True
    assert accounts.get_account(store, "prod") is not None


def test_unregister_keeps_the_row_and_is_idempotent(store):
    register(store)
    first = accounts.unregister_account(store, "prod")
    assert first["changed"] is True
    assert first["diff"]["after"] == {}
    assert first["account"]["registered"] is False
    assert accounts.unregister_account(store, "prod")["changed"] is False
    assert accounts.unregister_account(store, "never-registered")["changed"] is False
    assert accounts.get_account(store, "prod") is None
    assert accounts.get_account(store, "prod", include_unregistered=True)["deleted_at"] is not None
    assert [a["name"] for a in accounts.list_accounts(store)] == []
    assert [a["name"] for a in accounts.list_accounts(store, include_unregistered=True)] == ["prod"]
    # Registering again starts from the defaults and is a change.
    again = register(store)
    assert again["changed"] is True
    assert again["account"]["registered"] is True


def test_an_update_needs_no_auth_but_a_registration_does(store):
    with pytest.raises(ConfigurationError) as info:
        accounts.ensure_account(store, "new")
    assert "not registered" in info.value.message and "auth_url" in info.value.message


def test_cloud_name_account_and_switching(store):
    conn = account_settings.build_connection(cloud="mycloud", interface="internal", api_timeout=30.0)
    result = accounts.ensure_account(store, "c", connection=conn)
    assert result["account"]["connection"] == {"cloud": "mycloud", "interface": "internal", "api_timeout": 30.0}
    assert accounts.ensure_account(store, "c", connection=conn)["changed"] is False
    switched = accounts.ensure_account(store, "c", connection=account_settings.build_connection(auth=dict(AUTH)))
    assert switched["changed"] is True
    assert "cloud" not in switched["account"]["connection"]


def test_build_connection_errors_list_what_is_valid():
    with pytest.raises(ConfigurationError) as info:
        account_settings.build_connection()
    assert "cloud" in info.value.message and "auth_url" in info.value.message
    with pytest.raises(ConfigurationError) as info:
        account_settings.build_connection(auth={"auth_url": "http://x", "password": MARKER})
    message = info.value.message
    assert "auth.username or auth.user_id" in message
    assert "auth.project_name or auth.project_id" in message
    assert MARKER not in message
    with pytest.raises(ConfigurationError) as info:
        account_settings.build_connection(auth={"auth_url": "http://x"}, auth_type="v3applicationcredential")
    assert "auth.application_credential_id" in info.value.message
    appcred = account_settings.build_connection(
        auth={"auth_url": "http://x", "application_credential_id": "abc", "application_credential_secret": MARKER},
        auth_type="v3applicationcredential",
    )
    assert appcred == {
        "auth_type": "v3applicationcredential",
        "auth": {"application_credential_id": "abc", "auth_url": "http://x"},
    }
    with pytest.raises(ConfigurationError) as info:
        account_settings.build_connection(auth={"auth_url": "http://x", "usrname": "a"})
    assert "usrname" in info.value.message and "username" in info.value.message
    with pytest.raises(ConfigurationError):
        account_settings.build_connection(cloud="a", auth=dict(AUTH))
    with pytest.raises(ConfigurationError) as info:
        account_settings.build_connection(cloud={"auth": {"password": MARKER}})
    assert MARKER not in info.value.message


def test_strip_secrets():
    stripped = secrets.strip_secrets(
        dict(AUTH, application_credential_secret="x", token="y", totp="1", some_password="z", client_secret="q")
    )
    assert set(stripped) == {"auth_url", "username", "project_name", "user_domain_name", "project_domain_name"}


def test_resources_validation_collects_every_error(store):
    with pytest.raises(ConfigurationError) as info:
        register(
            store,
            resources={
                "servers": {"interval": "5x"},
                "nope": {"enabled": True},
                "volumes": {"enabeld": False},
                "images": {"enabled": "maybe"},
            },
        )
    message = info.value.message
    assert "unknown resource type(s) nope" in message
    for name in catalog.RESOURCE_TYPE_NAMES:
        assert name in message
    assert "resources.servers.interval: invalid interval '5x'" in message
    assert "'1h30m'" in message
    assert "resources.volumes has unknown key(s) enabeld" in message
    assert "resources.images.enabled must be true or false" in message
    assert accounts.get_account(store, "prod") is None  # nothing written


def test_singular_names_and_strings_are_accepted(store):
    result = register(store, resources={"server": {"interval": "1h30m", "enabled": "yes"}})
    assert result["account"]["resources"]["servers"]["interval"] == 5400


def test_bad_scalar_options(store):
    with pytest.raises(ConfigurationError):
        register(store, pause_after_auth_failures=-1)
    with pytest.raises(ConfigurationError):
        register(store, regions=[""])
    with pytest.raises(ConfigurationError):
        register(store, name=" x")


def test_connection_params_adds_secrets_from_overrides_or_environment(store):
    register(store, regions=["RegionOne", "RegionTwo"])
    params = credentials.connection_params(store, "prod", {"password": MARKER}, environ={})
    assert params["auth"]["password"] == MARKER
    assert params["auth"]["username"] == "admin"
    assert params["region_name"] == ["RegionOne", "RegionTwo"]
    assert params["auth_type"] == "password"
    assert secrets.secret_values(params) == [MARKER]
    from_env = credentials.connection_params(store, "prod", None, environ={"OS_PASSWORD": "env-secret"})
    assert from_env["auth"]["password"] == "env-secret"
    nested = credentials.connection_params(
        store, "prod", {"auth": {"password": "nested"}, "api_timeout": 5}, environ={}
    )
    assert nested["auth"]["password"] == "nested" and nested["api_timeout"] == 5
    with pytest.raises(ConfigurationError) as info:
        credentials.connection_params(store, "prod", {}, environ={})
    assert "OS_PASSWORD" in info.value.message and "never stored" in info.value.message
    # The stored row still has no secret.
    assert MARKER not in dump_clouds(store)


def test_connection_params_for_clouds_yaml_and_app_credentials(store):
    accounts.ensure_account(store, "c", connection=account_settings.build_connection(cloud="mycloud"))
    assert credentials.connection_params(store, "c", environ={}) == {"cloud": "mycloud"}
    accounts.ensure_account(
        store,
        "ac",
        connection=account_settings.build_connection(
            auth={"auth_url": "http://x", "application_credential_id": "id1"}, auth_type="v3applicationcredential"
        ),
    )
    params = credentials.connection_params(store, "ac", environ={"OS_APPLICATION_CREDENTIAL_SECRET": "s"})
    assert params["auth"] == {
        "auth_url": "http://x",
        "application_credential_id": "id1",
        "application_credential_secret": "s",
    }


def test_connection_params_refuses_unknown_unregistered_and_paused(store):
    with pytest.raises(accounts.AccountUnavailable) as info:
        credentials.connection_params(store, "ghost", {"password": "x"})
    assert info.value.reason == "unknown" and "cloud_account" in info.value.message
    register(store)
    accounts.unregister_account(store, "prod")
    with pytest.raises(accounts.AccountUnavailable) as info:
        credentials.connection_params(store, "prod", {"password": "x"})
    assert info.value.reason == "unregistered"
    register(store, paused=True)
    with pytest.raises(accounts.AccountUnavailable) as info:
        credentials.connection_params(store, "prod", {"password": "x"})
    assert info.value.reason == "paused" and "paused: false" in info.value.message


T0 = datetime.datetime(2026, 3, 1, 12, 0, 0)


def test_auth_failures_pause_the_account_and_success_resets(store):
    register(store, pause_after_auth_failures=3)
    first = accounts.record_auth_result(store, "prod", False, "HTTP 401: bad password", now=T0)
    assert first == {"auth_failures": 1, "paused": False, "paused_now": False}
    account = accounts.get_account(store, "prod")
    assert account["last_auth_error"] == "HTTP 401: bad password"
    assert account["last_auth_error_at"] == T0
    assert accounts.record_auth_result(store, "prod", True)["auth_failures"] == 0
    account = accounts.get_account(store, "prod")
    assert (account["auth_failures"], account["last_auth_error"], account["paused"]) == (0, None, False)
    for _attempt in range(2):
        accounts.record_auth_result(store, "prod", False, "401", now=T0)
    third = accounts.record_auth_result(store, "prod", False, "401 again", now=T0)
    assert third == {"auth_failures": 3, "paused": True, "paused_now": True}
    assert accounts.due_types(store, "prod", now=T0) == []
    with pytest.raises(accounts.AccountUnavailable) as info:
        credentials.connection_params(store, "prod", {"password": "x"})
    assert "after 3 failed authentication(s)" in info.value.message and "401 again" in info.value.message
    # Resuming clears the failures; it is a change, then idempotent.
    resumed = accounts.ensure_account(store, "prod", paused=False)
    assert resumed["changed"] is True
    assert resumed["account"]["paused"] is False and resumed["account"]["auth_failures"] == 0
    assert accounts.ensure_account(store, "prod", paused=False)["changed"] is False


def test_no_pause_without_the_option_and_unknown_accounts_are_ignored(store):
    register(store)
    for _attempt in range(5):
        result = accounts.record_auth_result(store, "prod", False, "x" * 5000)
    assert result["paused"] is False and result["auth_failures"] == 5
    assert len(accounts.get_account(store, "prod")["last_auth_error"]) == 2000
    assert accounts.record_auth_result(store, "ghost", False, "x") is None


def test_changing_the_auth_resumes_an_auto_paused_account(store):
    register(store, pause_after_auth_failures=1)
    accounts.record_auth_result(store, "prod", False, "401")
    assert accounts.get_account(store, "prod")["paused"] is True
    fixed = dict(AUTH, username="other")
    result = accounts.ensure_account(store, "prod", connection=account_settings.build_connection(auth=fixed))
    assert result["changed"] is True
    assert result["account"]["paused"] is False
    assert accounts.get_account(store, "prod")["auth_failures"] == 0
    # A pause set by hand stays when the auth changes.
    accounts.ensure_account(store, "prod", paused=True)
    result = accounts.ensure_account(store, "prod", connection=account_settings.build_connection(auth=dict(AUTH)))
    assert result["account"]["paused"] is True


def test_concurrent_registrations_of_one_new_account(cmdb_url):
    import threading

    stores = [open_store(cmdb_url) for _index in range(4)]
    results, errors = [], []
    barrier = threading.Barrier(len(stores))

    def worker(one_store):
        barrier.wait()
        try:
            results.append(register(one_store)["changed"])
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(one,)) for one in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for one in stores:
        one.close()
    assert errors == []
    assert sorted(results) == [False, False, False, True]
