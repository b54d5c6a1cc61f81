"""connection.py: option resolution (clouds.yaml, OS_* env, dicts), secrets, regions, clear errors.

Authentication runs against a minimal Keystone v3 stub over real HTTP (identity only: version
document and POST /v3/auth/tokens with a two-region catalog); the service listings are covered by
the integration tests against the simulator.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
import requests
import urllib3
import yaml

from ansible_collections.cmdb.openstack.plugins.module_utils import connection, secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CloudError, ConfigurationError

MARKER = "s3cr3t-M4RKER-pw"


class KeystoneStub:
    """Keystone v3: password auth for user admin / MARKER; catalog with RegionOne and RegionTwo."""

    def __init__(self, regions=("RegionOne", "RegionTwo")):
        self.regions = regions
        self.token_requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                base = "http://127.0.0.1:%d" % stub.port
                version = {
                    "id": "v3.14",
                    "status": "stable",
                    "updated": "2020-04-07T00:00:00Z",
                    "links": [{"href": base + "/v3/", "rel": "self"}],
                    "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
                }
                if self.path.rstrip("/") == "/v3":
                    self._send(200, {"version": version})
                else:
                    self._send(300, {"versions": {"values": [version]}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                stub.token_requests.append(request)
                password = request["auth"]["identity"].get("password", {}).get("user", {}).get("password")
                if password != MARKER:
                    self._send(
                        401,
                        {
                            "error": {
                                "code": 401,
                                "message": "The request you have made requires authentication.",
                                "title": "Unauthorized",
                            }
                        },
                    )
                    return
                base = "http://127.0.0.1:%d" % stub.port
                catalog = [
                    {
                        "type": service,
                        "name": service,
                        "id": service,
                        "endpoints": [
                            {
                                "id": "%s-%s" % (service, region),
                                "interface": "public",
                                "region": region,
                                "region_id": region,
                                "url": "%s/%s/%s" % (base, service, region),
                            }
                            for region in stub.regions
                        ],
                    }
                    for service in ("compute", "network")
                ]
                token = {
                    "token": {
                        "methods": ["password"],
                        "expires_at": "2999-01-01T00:00:00.000000Z",
                        "issued_at": "2026-01-01T00:00:00.000000Z",
                        "user": {"id": "u1", "name": "admin", "domain": {"id": "default", "name": "Default"}},
                        "project": {"id": "p1", "name": "admin", "domain": {"id": "default", "name": "Default"}},
                        "roles": [{"id": "r1", "name": "admin"}],
                        "catalog": catalog,
                        "audit_ids": ["a"],
                    }
                }
                self._send(201, token, {"X-Subject-Token": "tok-1"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def auth_url(self):
        return "http://127.0.0.1:%d/v3" % self.port

    def auth(self, password=MARKER):
        return {
            "auth_url": self.auth_url,
            "username": "admin",
            "password": password,
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        }

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def keystone():
    stub = KeystoneStub()
    yield stub
    stub.stop()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No OS_* variables, and no clouds.yaml from the machine: HOME and cwd point at tmp_path."""
    import os

    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def write_clouds(tmp_path, clouds, secure=None):
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    if secure:
        (tmp_path / "secure.yaml").write_text(yaml.safe_dump({"clouds": secure}))
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_argument_spec_marks_auth_no_log():
    spec = connection.CONNECTION_ARGUMENT_SPEC
    assert spec["auth"]["no_log"] is True
    assert spec["cloud"]["type"] == "raw"
    assert spec["region_name"] == {"type": "list", "elements": "str"}
    assert set(spec) == {
        "cloud",
        "auth",
        "auth_type",
        "region_name",
        "interface",
        "validate_certs",
        "ca_cert",
        "api_timeout",
        "connect_timeout",
        "deadline",
    }


def test_connection_secrets_finds_passwords_in_a_cloud_dict_and_auth():
    params = {
        "cloud": {
            "auth": {"auth_url": "http://x/v3", "username": "admin", "password": "pw-in-cloud"},
            "auth_type": "password",
            "nested": [{"application_credential_secret": "app-secret"}],
        },
        "auth": {"token": "tok", "project_name": "demo", "password": None},
        "region_name": ["RegionOne"],
        "other": {"db_password": "dbpw", "verify": True},
    }
    assert sorted(secrets.secret_values(params)) == ["app-secret", "dbpw", "pw-in-cloud", "tok"]
    assert secrets.secret_values({"cloud": "demo"}) == []


def test_named_cloud_from_os_client_config_file_with_secure_yaml(clean_env, tmp_path, keystone):
    auth = keystone.auth()
    auth.pop("password")
    path = write_clouds(
        tmp_path,
        {"demo": {"auth": auth, "regions": ["RegionTwo"]}},
        secure={"demo": {"auth": {"password": MARKER}}},
    )
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    # openstacksdk computes ./secure.yaml at import time; OS_CLIENT_SECURE_FILE is the standard override
    clean_env.setenv("OS_CLIENT_SECURE_FILE", str(tmp_path / "secure.yaml"))
    session = connection.open_cloud({"cloud": "demo"})
    try:
        assert session.name == "demo"
        assert session.regions == ["RegionTwo"]  # the regions of clouds.yaml
        assert session.catalog_regions == ["RegionOne", "RegionTwo"]
        assert session.connection("RegionTwo").config.region_name == "RegionTwo"
        assert session.project_id() == "p1"
    finally:
        session.close()


def test_region_name_all_and_default_mean_every_catalog_region(clean_env, tmp_path, keystone):
    path = write_clouds(tmp_path, {"demo": {"auth": keystone.auth()}})
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    for regions in (None, ["all"]):
        session = connection.open_cloud({"cloud": "demo", "region_name": regions})
        assert session.regions == ["RegionOne", "RegionTwo"]
        one, two = session.connection("RegionOne"), session.connection("RegionTwo")
        assert one.session is two.session  # one token for every region
        assert (one.config.region_name, two.config.region_name) == ("RegionOne", "RegionTwo")
        session.close()
    session = connection.open_cloud({"cloud": "demo", "region_name": ["RegionTwo"]})
    assert session.regions == ["RegionTwo"]
    session.close()


def test_os_cloud_selects_the_cloud(clean_env, tmp_path, keystone):
    path = write_clouds(tmp_path, {"other": {"auth": keystone.auth("wrong")}, "demo": {"auth": keystone.auth()}})
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    clean_env.setenv("OS_CLOUD", "demo")
    session = connection.open_cloud({})
    assert session.name == "demo"
    session.close()


def test_os_environment_variables(clean_env, keystone):
    clean_env.setenv("OS_AUTH_URL", keystone.auth_url)
    clean_env.setenv("OS_USERNAME", "admin")
    clean_env.setenv("OS_PASSWORD", MARKER)
    clean_env.setenv("OS_PROJECT_NAME", "admin")
    clean_env.setenv("OS_USER_DOMAIN_NAME", "Default")
    clean_env.setenv("OS_PROJECT_DOMAIN_NAME", "Default")
    clean_env.setenv("OS_REGION_NAME", "RegionOne")
    session = connection.open_cloud({})
    assert session.regions == ["RegionOne"]
    # host, port and project: two RC files of one identity host never share a CMDB cloud name
    port = urlparse(keystone.auth_url).port
    assert session.name == "127.0.0.1:%d/admin" % port
    assert len(session.warnings) == 1 and "name it" in session.warnings[0] and session.name in session.warnings[0]
    assert MARKER not in session.warnings[0]
    session.close()
    clean_env.setenv("OS_PROJECT_NAME", "alpha")
    session = connection.open_cloud({})
    assert session.name == "127.0.0.1:%d/alpha" % port
    session.close()


def test_cloud_dict_and_auth_option(clean_env, keystone):
    session = connection.open_cloud(
        {"cloud": {"name": "dictcloud", "auth": keystone.auth(), "region_name": "RegionTwo"}}
    )
    assert (session.name, session.regions) == ("dictcloud", ["RegionTwo"])
    session.close()
    session = connection.open_cloud({"auth": keystone.auth(), "region_name": ["RegionOne", "RegionTwo"]}, name="acct")
    assert (session.name, session.regions) == ("acct", ["RegionOne", "RegionTwo"])
    session.close()


def test_unknown_cloud_names_the_known_ones(clean_env, tmp_path, keystone):
    path = write_clouds(tmp_path, {"demo": {"auth": keystone.auth()}, "prod": {"auth": keystone.auth()}})
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": "nope"})
    assert "'nope'" in info.value.message and "demo, prod" in info.value.message
    assert str(path) in info.value.message


def test_region_not_in_the_catalog(clean_env, keystone):
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"auth": keystone.auth(), "region_name": ["RegionNine"]})
    assert "RegionNine" in info.value.message and "RegionOne, RegionTwo" in info.value.message


def test_all_cannot_be_mixed_with_names(clean_env, keystone):
    with pytest.raises(ConfigurationError, match="cannot be combined"):
        connection.open_cloud({"auth": keystone.auth(), "region_name": ["all", "RegionOne"]})


def test_bad_password_is_an_authentication_failure_without_the_password(clean_env, keystone):
    with pytest.raises(connection.AuthenticationFailed) as info:
        connection.open_cloud({"auth": keystone.auth("wrong-" + MARKER)})
    assert "401" in info.value.message and keystone.auth_url in info.value.message
    assert MARKER not in info.value.message
    assert info.value.details["status"] == "auth_failed"


def test_unreachable_auth_url_is_one_clear_cloud_error(clean_env):
    url = "http://127.0.0.1:%d/v3" % free_port()
    params = {
        "cloud": {"name": "down", "auth": {"auth_url": url, "username": "u", "password": MARKER, "project_name": "p"}}
    }
    with pytest.raises(CloudError) as info:
        connection.open_cloud(params)
    assert "'down'" in info.value.message and "cannot reach the identity service" in info.value.message
    assert url in info.value.message and MARKER not in info.value.message


def test_missing_auth_options_are_a_configuration_error(clean_env):
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"auth": {"username": "u", "password": MARKER}})
    assert "auth_url" in info.value.message and MARKER not in info.value.message


def test_cloud_of_a_wrong_type(clean_env):
    with pytest.raises(ConfigurationError, match="cloud must be"):
        connection.open_cloud({"cloud": 42})


def test_broken_clouds_yaml_is_a_configuration_error(clean_env, tmp_path):
    path = tmp_path / "clouds.yaml"
    path.write_text("clouds:\n  demo: [unclosed\n")
    clean_env.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    with pytest.raises(ConfigurationError) as info:
        connection.open_cloud({"cloud": "demo"})
    assert "clouds.yaml" in info.value.message or "cloud configuration" in info.value.message


def _aborted(cause):
    """What requests raises when urllib3 gave up: ConnectionError(ProtocolError(..., cause))."""
    return requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", cause))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_aborted(http.client.RemoteDisconnected("Remote end closed connection without response")), True),
        (_aborted(ConnectionResetError(104, "Connection reset by peer")), True),
        (requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused")), False),
        (requests.exceptions.SSLError(ConnectionResetError(104, "reset in the handshake")), False),
        (requests.exceptions.ReadTimeout("read timed out"), False),
    ],
    ids=["remote-disconnected", "reset", "refused", "tls", "timeout"],
)
def test_only_a_connection_closed_without_an_answer_is_sent_again(error, expected):
    assert connection._closed_without_answer(error) is expected
