"""connection.py against hostile endpoints and configurations (issue 19).

- Every request gets connect and read timeouts, also without api_timeout; the run has a deadline
  after which no request is sent and listings end as failed (not empty), naming the endpoint.
- Identity endpoints that accept the connection and never answer (plain, TLS without handshake,
  TLS with a handshake) fail within the timeout, naming the endpoint.
- A passing 5xx from ``POST /v3/auth/tokens`` is retried with gather's HttpPolicy (bounded).
- Bad clouds.yaml shapes name the file, the key and the fix.

Sockets are real (tiny servers in threads); Keystone and the services are the OpenStack API
simulator.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests
import yaml
from support.silent import self_signed, silent_server

from ansible_collections.cmdb.openstack.plugins.module_utils import connection
from ansible_collections.cmdb.openstack.plugins.module_utils import gather as gather_mod
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CloudError, ConfigurationError

MARKER = "s3cr3t-M4RKER-pw"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No OS_* variables, and no clouds.yaml from the machine: HOME and cwd point at tmp_path."""
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def cloud_dict(auth_url, **extra):
    entry = {"name": "hang", "auth": {"auth_url": auth_url, "username": "u", "password": MARKER, "project_name": "p"}}
    entry.update(extra)
    return entry


def open_in_thread(params, limit):
    """open_cloud in a thread; returns (exception or session, seconds). Fails when it takes past ``limit``
    (the old code waited forever: the thread is left behind, the servers close its sockets)."""
    outcome = {}

    def run():
        started = time.monotonic()
        try:
            outcome["value"] = connection.open_cloud(params)
        except Exception as exc:  # the assertion is on the exception
            outcome["value"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), "open_cloud still waiting after %s s" % limit
    return outcome["value"], outcome["seconds"]


# -- timeouts on every request -----------------------------------------------------------------


@pytest.fixture
def sent_timeouts(monkeypatch):
    """The ``timeout`` of every request that reaches the requests library."""
    seen = []
    original = requests.Session.request

    def record(self, method, url, **kwargs):
        seen.append((method, url, kwargs.get("timeout")))
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", record)
    return seen


def test_every_request_has_default_connect_and_read_timeouts(clean_env, demo_cloud, sent_timeouts):
    session = connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry()})
    try:
        reports = gather_mod.gather(session, ["servers", "networks"], regions=["RegionOne"])
    finally:
        session.close()
    assert [report.status for report in reports] == ["ok", "ok"]
    assert any("/auth/tokens" in url for _m, url, _t in sent_timeouts)
    assert any("/servers/detail" in url for _m, url, _t in sent_timeouts)
    for method, url, timeout in sent_timeouts:
        assert timeout is not None, "%s %s was sent without a timeout" % (method, url)
        connect, read = timeout
        assert 0 < connect <= connection.DEFAULT_CONNECT_TIMEOUT
        assert 0 < read <= connection.DEFAULT_READ_TIMEOUT


def test_api_timeout_and_connect_timeout_override_the_defaults(clean_env, demo_cloud, sent_timeouts):
    params = {"cloud": demo_cloud.clouds_yaml_entry(), "api_timeout": 7, "connect_timeout": 2}
    connection.open_cloud(params).close()
    assert sent_timeouts and all(timeout == (2.0, 7.0) for _m, _u, timeout in sent_timeouts), sent_timeouts
    del sent_timeouts[:]
    connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry(api_timeout=3)}).close()
    assert sent_timeouts and all(timeout == (3.0, 3.0) for _m, _u, timeout in sent_timeouts), sent_timeouts


@pytest.mark.parametrize("value", ["soon", -1, 0, True])
def test_a_bad_timeout_is_a_configuration_error(clean_env, demo_cloud, value):
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry(connect_timeout=value)})
    assert "connect_timeout" in info.value.message and "positive number of seconds" in info.value.message


def test_a_bad_deadline_is_a_configuration_error(clean_env, demo_cloud):
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry(), "deadline": "tomorrow"})
    assert "deadline" in info.value.message and "'30s'" in info.value.message


# -- identity endpoints that never answer ------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "tls-no-handshake", "tls-silent-after-handshake"])
def test_identity_that_never_answers_fails_at_the_deadline_naming_the_endpoint(clean_env, tmp_path, kind):
    tls = self_signed(tmp_path, stem="silent") if kind == "tls-silent-after-handshake" else None
    with silent_server(tls) as port:
        scheme = "http" if kind == "plain" else "https"
        url = "%s://localhost:%d/v3" % (scheme, port)
        params = {"cloud": cloud_dict(url), "deadline": 1.5, "validate_certs": False}
        error, seconds = open_in_thread(params, 20)
    assert isinstance(error, CloudError) and not isinstance(error, ConfigurationError), error
    assert 1.4 <= seconds < 6, seconds
    assert url in error.message and "'hang'" in error.message
    assert "deadline of 1.5 s" in error.message and MARKER not in error.message


@pytest.mark.parametrize("tls", [False, True])
def test_a_silent_identity_fails_within_connect_timeout_and_api_timeout(clean_env, tmp_path, tls):
    # Without the handshake the connect timeout applies (TLS); a silent answer waits api_timeout.
    with silent_server() as port:
        url = "%s://localhost:%d/v3" % ("https" if tls else "http", port)
        params = {"cloud": cloud_dict(url), "connect_timeout": 0.5, "api_timeout": 0.7, "validate_certs": False}
        error, seconds = open_in_thread(params, 20)
    assert isinstance(error, CloudError), error
    # version discovery, then the token request (keystoneauth retries neither for a timeout here)
    assert seconds < 5, seconds
    assert url in error.message and "(connect timeout 0.5 s, read timeout 0.7 s)" in error.message


# -- the run's deadline ------------------------------------------------------------------------


def test_after_the_deadline_remaining_scopes_fail_naming_their_endpoint(clean_env, os_simulator):
    cloud = os_simulator.add_cloud("slow", regions=("RegionOne",), seed=3, servers=4, projects=1)
    cloud.faults.add(service="compute", path="/servers/detail", kind="hang", delay=60)
    session = connection.open_cloud({"cloud": cloud.clouds_yaml_entry(), "deadline": 3})
    started = time.monotonic()
    try:
        # One worker: servers hangs until the deadline, networks and images start after it.
        reports = gather_mod.gather(session, ["servers", "networks", "images"], max_workers=1)
    finally:
        session.close()
    elapsed = time.monotonic() - started
    assert elapsed < 8, elapsed
    by_type = {report.scope.type: report for report in reports}
    assert set(by_type) == {"servers", "networks", "images"}
    for rtype, report in by_type.items():
        assert report.status == "error", (rtype, report.status, report.message)
        assert not report.complete and report.count == 0
        assert "deadline of 3 s" in report.message, report.message
        assert "slow" in report.message and rtype in report.message
    assert "while waiting for GET http://" in by_type["servers"].message
    assert "/servers/detail" in by_type["servers"].message
    for rtype in ("networks", "images"):
        assert "before GET http://" in by_type[rtype].message, by_type[rtype].message


def test_the_deadline_comes_from_clouds_yaml_too(clean_env, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud("slowyaml", regions=("RegionOne",), seed=3, servers=2, projects=1)
    cloud.faults.add(service="compute", path="/servers/detail", kind="hang", delay=60)
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"slowyaml": cloud.clouds_yaml_entry(deadline="2s")}}))
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    session = connection.open_cloud({"cloud": "slowyaml"})
    try:
        (report,) = gather_mod.gather(session, ["servers"])
    finally:
        session.close()
    assert report.status == "error" and "deadline of 2 s" in report.message


# -- Keystone's passing faults ------------------------------------------------------------------


class RecordingPolicy(gather_mod.HttpPolicy):
    def __init__(self):
        self.slept = []
        super().__init__(sleep=self.slept.append, jitter=lambda: 0.5)


def token_posts(cloud):
    return cloud.requests(service="identity", path="/auth/tokens", method="POST")


@pytest.mark.parametrize("status", [500, 503])
def test_one_5xx_from_the_token_endpoint_is_retried(clean_env, demo_cloud, status):
    fault = demo_cloud.faults.add(service="identity", path="/auth/tokens", method="POST", status=status, times=1)
    policy = RecordingPolicy()
    session = connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry()}, policy=policy)
    session.close()
    assert fault.hits == 1 and len(token_posts(demo_cloud)) == 1  # the fault, then one good token
    assert policy.slept == [policy.backoff(1)]  # gather's jittered backoff, not a copy of it


def test_a_429_from_the_token_endpoint_waits_for_retry_after(clean_env, demo_cloud):
    fault = demo_cloud.faults.add(
        service="identity", path="/auth/tokens", method="POST", kind="rate_limit", retry_after=2, times=1
    )
    policy = RecordingPolicy()
    connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry()}, policy=policy).close()
    assert fault.hits == 1 and len(token_posts(demo_cloud)) == 1
    assert policy.slept == [2.0]


def test_a_persistent_5xx_from_the_token_endpoint_is_bounded(clean_env, demo_cloud):
    fault = demo_cloud.faults.add(service="identity", path="/auth/tokens", method="POST", status=503)
    policy = RecordingPolicy()
    with pytest.raises(CloudError) as info:
        connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry()}, policy=policy)
    assert fault.hits == policy.server_error_tries == 3
    assert policy.slept == [policy.backoff(1), policy.backoff(2)]
    assert "HTTP 503" in info.value.message and "3 time(s)" in info.value.message
    assert demo_cloud.auth_url in info.value.message


def test_a_5xx_when_reauthenticating_in_the_middle_of_a_listing_is_retried(clean_env, demo_cloud):
    demo_cloud.faults.add(service="compute", path="/servers/detail", kind="token_expiry", after=1)
    fault = demo_cloud.faults.add(service="identity", path="/auth/tokens", method="POST", status=503, after=1, times=1)
    session = connection.open_cloud({"cloud": demo_cloud.clouds_yaml_entry()}, policy=RecordingPolicy())
    try:
        (report,) = gather_mod.gather(session, ["servers"], regions=["RegionOne"], page_size=5)
    finally:
        session.close()
    assert fault.hits == 1
    assert report.status == "ok", report.message
    assert report.count == len(demo_cloud.store.region("RegionOne").table("servers").items) > 5


# -- bad clouds.yaml shapes ------------------------------------------------------------------

AUTH = {"auth_url": "http://127.0.0.1:9/v3", "username": "u", "password": MARKER, "project_name": "p"}

BAD_SHAPES = {
    # case: (clouds.yaml content, the key named in the message, a word of the fix)
    "clouds_is_a_list": ({"clouds": [{"demo": {"auth": AUTH}}]}, "'clouds' is a list", "mapping of cloud names"),
    "clouds_is_null": ({"clouds": None}, "'clouds' is empty", "mapping of cloud names"),
    "entry_is_a_string": ({"clouds": {"demo": "http://keystone/v3"}}, "clouds.demo is a string", "auth_url"),
    "auth_is_a_list": ({"clouds": {"demo": {"auth": [AUTH]}}}, "clouds.demo.auth is a list", "not a list"),
    "auth_url_null": (
        {"clouds": {"demo": {"auth": dict(AUTH, auth_url=None)}}},
        "clouds.demo.auth.auth_url is empty",
        "URL of the identity service",
    ),
    "auth_url_not_a_url": (
        {"clouds": {"demo": {"auth": dict(AUTH, auth_url="not-a-url")}}},
        "clouds.demo.auth.auth_url is 'not-a-url', not an http:// or https:// URL",
        "URL of the identity service",
    ),
    "auth_url_a_number": (
        {"clouds": {"demo": {"auth": dict(AUTH, auth_url=5000)}}},
        "clouds.demo.auth.auth_url is a number",
        "URL of the identity service",
    ),
    "regions_without_name": (
        {"clouds": {"demo": {"auth": AUTH, "regions": [{"values": {"interface": "internal"}}]}}},
        "clouds.demo.regions[0] is a mapping without a 'name'",
        "{name: RegionTwo}",
    ),
    "region_name_dicts_without_name": (
        {"clouds": {"demo": {"auth": AUTH, "region_name": [{"id": "RegionOne"}]}}},
        "clouds.demo.region_name[0] is a mapping without a 'name'",
        "{name: RegionTwo}",
    ),
    "regions_a_string": (
        {"clouds": {"demo": {"auth": AUTH, "regions": "RegionOne"}}},
        "clouds.demo.regions is a string",
        "not a list",
    ),
    "api_timeout_not_a_number": (
        {"clouds": {"demo": {"auth": AUTH, "api_timeout": "soon"}}},
        "clouds.demo.api_timeout must be a positive number",
        "api_timeout: 30",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SHAPES))
def test_bad_clouds_yaml_shapes_name_the_file_the_key_and_the_fix(clean_env, tmp_path, case):
    content, key, fix = BAD_SHAPES[case]
    path = tmp_path / "cfg" / "clouds.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(content))
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": "demo"})
    message = info.value.message
    assert str(path) in message and key in message and fix in message, message
    assert "AttributeError" not in message and "EndpointNotFound" not in message and MARKER not in message


def test_the_entry_checked_is_the_one_used(clean_env, tmp_path, demo_cloud):
    # another, broken entry does not stop a good one (openstacksdk reads it without complaint)
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"broken": "oops", "demo": demo_cloud.clouds_yaml_entry()}}))
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    connection.open_cloud({"cloud": "demo"}).close()


def test_secure_yaml_completes_a_null_auth_url(clean_env, tmp_path, demo_cloud):
    entry = demo_cloud.clouds_yaml_entry()
    (tmp_path / "clouds.yaml").write_text(
        yaml.safe_dump({"clouds": {"demo": dict(entry, auth=dict(entry["auth"], auth_url=None))}})
    )
    (tmp_path / "secure.yaml").write_text(yaml.safe_dump({"clouds": {"demo": {"auth": dict(entry["auth"])}}}))
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    clean_env.setenv("OS_CLIENT_SECURE_FILE", str(tmp_path / "secure.yaml"))
    connection.open_cloud({"cloud": "demo"}).close()


def test_os_client_config_file_pointing_at_a_directory(clean_env, tmp_path):
    folder = tmp_path / "openstack"
    folder.mkdir()
    (folder / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"demo": {"auth": AUTH}}}))
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(folder))
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": "demo"})
    message = info.value.message
    assert "OS_CLIENT_CONFIG_FILE=%s is a directory" % folder in message
    assert str(folder / "clouds.yaml") in message


def test_os_client_config_file_that_does_not_exist_is_named(clean_env, tmp_path):
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": "demo"})
    assert "OS_CLIENT_CONFIG_FILE=%s does not exist" % (tmp_path / "nope.yaml") in info.value.message


@pytest.mark.parametrize(
    "cloud, key",
    [
        ({"auth": dict(AUTH, auth_url="not-a-url")}, "cloud.auth.auth_url is 'not-a-url'"),
        ({"auth": dict(AUTH, auth_url=None)}, "cloud.auth.auth_url is empty"),
        ({"auth": [AUTH]}, "cloud.auth is a list"),
        ({"auth": AUTH, "regions": [{"id": "x"}]}, "cloud.regions[0] is a mapping without a 'name'"),
    ],
)
def test_bad_cloud_dict_shapes_name_the_key(clean_env, cloud, key):
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": cloud})
    assert "the cloud option" in info.value.message and key in info.value.message, info.value.message


def test_os_auth_url_that_is_not_a_url(clean_env):
    for name, value in {"OS_AUTH_URL": "keystone.example.com", "OS_USERNAME": "u", "OS_PASSWORD": MARKER}.items():
        clean_env.setenv(name, value)
    clean_env.setenv("OS_PROJECT_NAME", "p")
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({})
    message = info.value.message
    assert "OS_AUTH_URL is 'keystone.example.com', not an http:// or https:// URL" in message, message
    assert MARKER not in message
