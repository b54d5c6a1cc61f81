"""Bad input: one clear message each, never a traceback, nothing written.

All cases run as tasks of ONE ansible-playbook run (each task with its own ``environment``), with
``ignore_errors``; every registered result is saved and checked here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from conftest import MARKER_PASSWORD, query, set_password
from support.ansible import AnsibleRunner
from support.silent import self_signed

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

DATA_TABLES = ("resources", "changes", "relations", "sync_runs", "staging", "locks", "clouds")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Nothing(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def tls_server(tmp_path):
    """An https server with a self-signed certificate nobody trusts."""
    cert, key = self_signed(tmp_path, common_name="cmdb-test-self-signed")
    server = HTTPServer(("127.0.0.1", 0), _Nothing)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "https://localhost:%d/v3" % server.server_address[1]
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def read_only_sqlite(tmp_path):
    """An existing, migrated SQLite CMDB that this process cannot write (chattr +i as root, else chmod)."""
    path = tmp_path / "ro" / "cmdb.sqlite"
    path.parent.mkdir()
    open_store("sqlite:///%s" % path).close()
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            yield None  # cannot make a file read-only as root here: the case is skipped
            return
        try:
            yield path
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        path.chmod(0o444)
        yield path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every bad-input case as one task of ONE ansible-playbook run; returns (cases, results, run)."""
    from os_simulator import Simulator

    tmp_path = tmp_path_factory.mktemp("bad-input")
    sim = Simulator().start()
    stack = contextlib.ExitStack()
    try:
        tls_url = stack.enter_context(tls_server(tmp_path))
        read_only = stack.enter_context(read_only_sqlite(tmp_path))
        yield _run_cases(sim, tmp_path, tls_url, read_only)
    finally:
        stack.close()
        sim.stop()


def _run_cases(sim, tmp_path, tls_url, read_only):
    cloud = sim.add_cloud(name="demo", regions=("RegionOne",), seed=1, servers=2, projects=1)
    set_password(cloud)
    (tmp_path / "cfg").mkdir()
    good_yaml = tmp_path / "cfg" / "clouds.yaml"  # not in the current directory: no fallback
    sim.write_clouds_yaml(str(good_yaml), {"demo": cloud.clouds_yaml_entry()})
    broken_yaml = tmp_path / "cfg" / "broken-clouds.yaml"
    broken_yaml.write_text("clouds:\n  demo:\n    auth: {auth_url: [unclosed\n   password: %s\n" % MARKER_PASSWORD)
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not an SQLite database\n" * 200)
    pg_port = _free_port()

    def db(name):
        return "sqlite:///%s" % (tmp_path / ("%s.sqlite" % name))

    auth = dict(cloud.credentials(), password=MARKER_PASSWORD)
    # name -> (module args, environment, what the message must say)
    cases = {
        "bad_type": ({"cloud": "demo", "types": ["serverz"], "cmdb_url": db("bad_type")}, {}, ["types", "serverz"]),
        "bad_int": ({"cloud": "demo", "lock_timeout": "soon", "cmdb_url": db("bad_int")}, {}, ["lock_timeout"]),
        "unknown_option": ({"cloud": "demo", "colud": "x", "cmdb_url": db("unknown_option")}, {}, ["colud"]),
        "bad_interval": (
            {"cloud": "demo", "full_sync_interval": "every tuesday", "cmdb_url": db("bad_interval")},
            {},
            ["full_sync_interval"],
        ),
        "unknown_cloud": (
            {"cloud": "nosuchcloud", "cmdb_url": db("unknown_cloud")},
            {},
            ["'nosuchcloud'", "not found in clouds.yaml", "demo"],
        ),
        "broken_clouds_yaml": (
            {"cloud": "demo", "cmdb_url": db("broken_clouds_yaml")},
            {"OS_CLIENT_CONFIG_FILE": str(broken_yaml)},
            ["demo", str(broken_yaml)],
        ),
        "wrong_auth_url": (
            {
                "cloud": {"name": "wrongurl", "auth": dict(auth, auth_url=cloud.sim.url + "/nowhere/v3")},
                "cmdb_url": db("wrong_auth_url"),
            },
            {},
            ["'wrongurl'", "/nowhere/v3"],
        ),
        "certificate": (
            {"cloud": {"name": "tlscloud", "auth": dict(auth, auth_url=tls_url)}, "cmdb_url": db("certificate")},
            {},
            ["'tlscloud'", "certificate", "ca_cert"],
        ),
        "corrupt_sqlite": (
            {"cloud": "demo", "types": ["servers"], "cmdb_url": "sqlite:///%s" % corrupt},
            {},
            [str(corrupt), "not an SQLite database or is corrupt"],
        ),
        "unreachable_postgresql": (
            {
                "cloud": "demo",
                "types": ["servers"],
                "cmdb_url": "postgresql+psycopg://cmdb:%s@127.0.0.1:%d/cmdb" % (MARKER_PASSWORD, pg_port),
            },
            {},
            ["127.0.0.1:%d" % pg_port, "cannot open the CMDB"],
        ),
    }
    digests = {"corrupt_sqlite": (corrupt, _digest(corrupt))}
    if read_only is not None:
        cases["read_only_sqlite"] = (
            {"cloud": "demo", "types": ["servers"], "cmdb_url": "sqlite:///%s" % read_only},
            {},
            [str(read_only), "read-only"],
        )
        digests["read_only_sqlite"] = (read_only, _digest(read_only))
    result_dir = tmp_path / "results"
    result_dir.mkdir()
    tasks = []
    for name, (args, env, _expect) in cases.items():
        tasks.append(
            {
                "name": "Case %s" % name,
                "cmdb.openstack.cmdb_sync": args,
                "environment": dict({"OS_CLIENT_CONFIG_FILE": str(good_yaml)}, **env),
                "register": "case_%s" % name,
                "ignore_errors": True,
            }
        )
        tasks.append(
            {
                "name": "Save %s" % name,
                "ansible.builtin.copy": {
                    "content": "{{ case_%s | to_json }}" % name,
                    "dest": str(result_dir / ("%s.json" % name)),
                    "mode": "0600",
                },
            }
        )
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    runner = AnsibleRunner(tmp_path)
    done = runner.playbook(json.dumps(play, indent=1) + "\n", "-vvvv")
    results = {}
    for name in cases:
        path = result_dir / ("%s.json" % name)
        results[name] = json.loads(path.read_text()) if path.exists() else None
    return {"cases": cases, "results": results, "run": done, "digests": digests, "tmp": tmp_path}


def test_the_run_shows_no_traceback_and_no_secret(bad_runs):
    done = bad_runs["run"]
    assert done.rc == 0, done.output[-3000:]
    assert "Traceback" not in done.output
    assert MARKER_PASSWORD not in done.output


CASE_NAMES = [
    "bad_type",
    "bad_int",
    "unknown_option",
    "bad_interval",
    "unknown_cloud",
    "broken_clouds_yaml",
    "wrong_auth_url",
    "certificate",
    "read_only_sqlite",
    "corrupt_sqlite",
    "unreachable_postgresql",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_input(bad_runs, name):
    if name not in bad_runs["cases"]:
        pytest.skip("cannot make a file read-only as root here (chattr +i failed)")
    args, _env, expect = bad_runs["cases"][name]
    result = bad_runs["results"][name]
    assert result is not None, bad_runs["run"].output[-3000:]
    assert result.get("failed") is True, (name, result.get("msg"))
    msg = result["msg"]
    assert "Traceback" not in json.dumps(result) and "module_stderr" not in result, (name, result)
    assert "\n" not in msg.strip(), (name, msg)  # one message, not a dump
    for text in expect:
        assert text in msg, (name, msg)
    # nothing written
    url = args["cmdb_url"]
    if name in bad_runs["digests"]:
        path, digest = bad_runs["digests"][name]
        assert _digest(path) == digest, name
    elif name in ("bad_type", "bad_int", "unknown_option"):
        assert not os.path.exists(url[len("sqlite:///") :]), name  # refused before anything was opened
    elif url.startswith("sqlite:///") and os.path.exists(url[len("sqlite:///") :]):
        for table in DATA_TABLES:
            assert query(url, "SELECT COUNT(*) FROM %s" % table) == [(0,)], (name, table)
