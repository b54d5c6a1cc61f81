"""Hangs, Keystone's passing faults and bad clouds.yaml shapes, through real ansible-playbook runs (issue 19).

ONE ansible-playbook run (``-vvvv``), one task per case, each with ``ignore_errors``, its own
``environment`` and its wall time measured around the task. The identity endpoints that never
answer are tiny socket servers in this process (plain, TLS that never completes the handshake,
TLS that completes it and then stays silent); the clouds are the OpenStack API simulator, with
fault injection on ``POST /v3/auth/tokens`` and hanging listings.
"""

from __future__ import annotations

import contextlib
import json
import subprocess

import pytest
import yaml
from conftest import MARKER_PASSWORD, query, set_password
from support.ansible import AnsibleRunner, Completed
from support.silent import self_signed, silent_server

#: Deadline of the cases that hang (seconds), and the slack allowed on top for one module run
#: (starting Python and the module takes 5 to 10 s on a loaded machine; the old code never ended).
HANG_DEADLINE = 3
SYNC_DEADLINE = 8
SLACK = 25


def _timed(name, module, args, env, result_dir):
    """Tasks: note the time, run the module (ignore_errors), save its result with ``elapsed``."""
    return [
        {"name": "Start %s" % name, "ansible.builtin.set_fact": {"t_%s" % name: "{{ now().timestamp() }}"}},
        {
            "name": "Case %s" % name,
            module: args,
            "environment": env,
            "register": "case_%s" % name,
            "ignore_errors": True,
        },
        {
            "name": "Save %s" % name,
            "ansible.builtin.copy": {
                "content": "{{ case_%s | combine({'elapsed': now().timestamp() - (t_%s | float)}) | to_json }}"
                % (name, name),
                "dest": str(result_dir / ("%s.json" % name)),
                "mode": "0600",
            },
        },
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):

    from os_simulator import Simulator

    tmp_path = tmp_path_factory.mktemp("hangs")
    sim = Simulator().start()
    stack = contextlib.ExitStack()
    try:
        certs = self_signed(tmp_path)
        ports = {
            "plain": stack.enter_context(silent_server()),
            "tls": stack.enter_context(silent_server()),
            "tls_silent": stack.enter_context(silent_server(certs)),
        }
        yield _run(sim, tmp_path, ports)
    finally:
        stack.close()
        sim.stop()


def _run(sim, tmp_path, ports):
    clouds = {}
    for name in ("flaky", "keystonedown", "slow"):
        clouds[name] = sim.add_cloud(name=name, regions=("RegionOne",), seed=7, servers=4, projects=1)
        set_password(clouds[name])
    faults = {
        # one passing 503 on the first token request
        "flaky": clouds["flaky"].faults.add(
            service="identity", path="/auth/tokens", method="POST", status=503, times=1
        ),
        "keystonedown": clouds["keystonedown"].faults.add(
            service="identity", path="/auth/tokens", method="POST", status=503
        ),
        # the baseline sync passes, the second sync's servers and volumes listings hang past the deadline
        "slow_servers": clouds["slow"].faults.add(
            service="compute", path="/servers/detail", kind="hang", delay=90, after=1
        ),
        "slow_volumes": clouds["slow"].faults.add(
            service="block-storage", path="/volumes/detail", kind="hang", delay=90, after=1
        ),
    }
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    good_yaml = cfg / "clouds.yaml"
    entries = {
        name: dict(cloud.clouds_yaml_entry(), **({"deadline": SYNC_DEADLINE} if name == "slow" else {}))
        for name, cloud in clouds.items()
    }
    silent_auth = dict(clouds["flaky"].credentials(), password=MARKER_PASSWORD)
    urls = {
        "plain": "http://localhost:%d/v3" % ports["plain"],
        "tls": "https://localhost:%d/v3" % ports["tls"],
        "tls_silent": "https://localhost:%d/v3" % ports["tls_silent"],
    }
    entries["silentyaml"] = {"auth": dict(silent_auth, auth_url=urls["plain"]), "deadline": HANG_DEADLINE}
    good_yaml.write_text(yaml.safe_dump({"clouds": entries}))
    bad = {}
    auth = dict(silent_auth, auth_url="http://127.0.0.1:9/v3")
    for case, content in {
        "clouds_list": {"clouds": [{"demo": {"auth": auth}}]},
        "auth_url_null": {"clouds": {"demo": {"auth": dict(auth, auth_url=None)}}},
        "auth_url_not_a_url": {"clouds": {"demo": {"auth": dict(auth, auth_url="not-a-url")}}},
    }.items():
        bad[case] = cfg / ("%s.yaml" % case)
        bad[case].write_text(yaml.safe_dump(content))
    config_dir = tmp_path / "config-dir"
    config_dir.mkdir()
    (config_dir / "clouds.yaml").write_text(good_yaml.read_text())

    def db(name):
        return "sqlite:///%s" % (tmp_path / ("%s.sqlite" % name))

    def silent(kind):
        return {"name": "hang_%s" % kind, "auth": dict(silent_auth, auth_url=urls[kind])}

    env = {"OS_CLIENT_CONFIG_FILE": str(good_yaml)}
    sync = "cmdb.openstack.cmdb_sync"
    # name -> (module, args, environment)
    cases = {
        "hang_plain": ("cmdb.openstack.server_info", {"cloud": silent("plain"), "deadline": HANG_DEADLINE}, env),
        "hang_tls": (
            "cmdb.openstack.server_info",
            {"cloud": silent("tls"), "deadline": HANG_DEADLINE, "validate_certs": False},
            env,
        ),
        "hang_tls_silent": (
            "cmdb.openstack.server_info",
            {"cloud": silent("tls_silent"), "deadline": HANG_DEADLINE, "validate_certs": False},
            env,
        ),
        "hang_connect_timeout": (
            "cmdb.openstack.server_info",
            {"cloud": silent("tls"), "connect_timeout": 1, "validate_certs": False},
            env,
        ),
        "auth_503_once": (sync, {"cloud": "flaky", "types": ["servers"], "cmdb_url": db("flaky")}, env),
        "auth_503_always": (sync, {"cloud": "keystonedown", "types": ["servers"], "cmdb_url": db("down")}, env),
        "slow_baseline": (
            sync,
            {"cloud": "slow", "types": ["servers", "volumes", "networks"], "cmdb_url": db("slow")},
            env,
        ),
        "slow_deadline": (
            sync,
            {"cloud": "slow", "types": ["servers", "volumes", "networks"], "cmdb_url": db("slow")},
            env,
        ),
        "clouds_list": (
            sync,
            {"cloud": "demo", "cmdb_url": db("bad")},
            {"OS_CLIENT_CONFIG_FILE": str(bad["clouds_list"])},
        ),
        "auth_url_null": (
            sync,
            {"cloud": "demo", "cmdb_url": db("bad")},
            {"OS_CLIENT_CONFIG_FILE": str(bad["auth_url_null"])},
        ),
        "auth_url_not_a_url": (
            sync,
            {"cloud": "demo", "cmdb_url": db("bad")},
            {"OS_CLIENT_CONFIG_FILE": str(bad["auth_url_not_a_url"])},
        ),
        "config_file_is_a_directory": (
            sync,
            {"cloud": "flaky", "cmdb_url": db("bad")},
            {"OS_CLIENT_CONFIG_FILE": str(config_dir)},
        ),
        "hang_sync_clouds_yaml": (sync, {"cloud": "silentyaml", "cmdb_url": db("silentyaml")}, env),
    }
    result_dir = tmp_path / "results"
    result_dir.mkdir()
    tasks = []
    for name, (module, args, case_env) in cases.items():
        tasks.extend(_timed(name, module, args, case_env, result_dir))
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    runner = AnsibleRunner(tmp_path)
    # The old code waited forever on a silent identity: bounded here, so that every case saved so
    # far is still checked and the rest fail on their missing result.
    try:
        done = runner.playbook(json.dumps(play, indent=1) + "\n", "-vvvv", timeout=300)
    except subprocess.TimeoutExpired as exc:
        done = Completed(-1, str(exc.stdout or ""), "ansible-playbook still running after %s s" % exc.timeout)
    results = {}
    for name in cases:
        path = result_dir / ("%s.json" % name)
        results[name] = json.loads(path.read_text()) if path.exists() else None
    return {
        "results": results,
        "run": done,
        "urls": urls,
        "faults": faults,
        "clouds": clouds,
        "bad": bad,
        "config_dir": config_dir,
        "db": db,
    }


def test_the_run_shows_no_traceback_and_no_secret(runs):
    done = runs["run"]
    assert done.rc == 0, done.output[-3000:]
    assert "Traceback" not in done.output and "module_stderr" not in done.output
    assert MARKER_PASSWORD not in done.output


@pytest.mark.parametrize("kind", ["plain", "tls", "tls_silent"])
def test_an_identity_that_never_answers_fails_at_the_deadline_naming_the_endpoint(runs, kind):
    result = runs["results"]["hang_%s" % kind]
    assert result is not None and result["failed"] is True, result
    assert result["elapsed"] < HANG_DEADLINE + SLACK, result["elapsed"]
    msg = result["msg"]
    assert "'hang_%s'" % kind in msg and runs["urls"][kind] in msg, msg
    assert "deadline of %d s" % HANG_DEADLINE in msg, msg
    assert "\n" not in msg and MARKER_PASSWORD not in msg


def test_a_tls_endpoint_without_handshake_fails_within_connect_timeout(runs):
    result = runs["results"]["hang_connect_timeout"]
    assert result is not None and result["failed"] is True, result
    # two requests (version discovery, then the token), each cut at connect_timeout: 1
    assert result["elapsed"] < 2 + SLACK, result["elapsed"]
    assert runs["urls"]["tls"] in result["msg"] and "connect timeout 1 s" in result["msg"], result["msg"]


def test_a_sync_against_a_silent_identity_fails_at_the_clouds_yaml_deadline(runs):
    result = runs["results"]["hang_sync_clouds_yaml"]
    assert result is not None and result["failed"] is True, result
    assert result["elapsed"] < HANG_DEADLINE + SLACK, result["elapsed"]
    assert runs["urls"]["plain"] in result["msg"] and "deadline of %d s" % HANG_DEADLINE in result["msg"]


def test_one_503_from_the_token_endpoint_is_retried(runs):
    result = runs["results"]["auth_503_once"]
    assert result is not None and not result.get("failed"), result
    assert runs["faults"]["flaky"].hits == 1
    (scope,) = result["scopes"]
    assert scope["status"] == "ok" and scope["counts"]["new"] == 4, scope


def test_a_persistent_503_from_the_token_endpoint_is_bounded(runs):
    result = runs["results"]["auth_503_always"]
    assert result is not None and result["failed"] is True, result
    assert runs["faults"]["keystonedown"].hits == 3  # gather's policy: at most 3 tries
    msg = result["msg"]
    assert "'keystonedown'" in msg and "HTTP 503" in msg and "3 time(s)" in msg, msg
    assert runs["clouds"]["keystonedown"].auth_url in msg


def test_after_the_deadline_the_hanging_scopes_fail_and_nothing_is_marked_deleted(runs):
    baseline = runs["results"]["slow_baseline"]
    assert baseline is not None and not baseline.get("failed"), baseline
    assert {s["type"]: s["status"] for s in baseline["scopes"]} == {"servers": "ok", "volumes": "ok", "networks": "ok"}
    result = runs["results"]["slow_deadline"]
    # the other scopes synced and were applied; the failed ones fail the task (fail_on_scope_errors)
    assert result is not None and result.get("failed") is True, result
    assert result["failed_scopes"] == 2, result
    assert result["elapsed"] < SYNC_DEADLINE + SLACK, result["elapsed"]
    by_type = {s["type"]: s for s in result["scopes"]}
    assert by_type["networks"]["status"] == "ok", by_type["networks"]
    for rtype, path in (("servers", "/servers/detail"), ("volumes", "/volumes/detail")):
        scope = by_type[rtype]
        assert scope["status"] == "error", scope
        assert "deadline of %d s" % SYNC_DEADLINE in scope["message"] and path in scope["message"], scope
        assert "http://" in scope["message"]
    # a failed scope is not an empty listing: every resource of the baseline is still live
    url = runs["db"]("slow")
    for rtype in ("servers", "volumes"):
        live = query(url, "SELECT count(*) FROM resources WHERE type = :t AND deleted_at IS NULL", t=rtype)[0][0]
        deleted = query(url, "SELECT count(*) FROM changes WHERE type = :t AND action = 'deleted'", t=rtype)[0][0]
        assert live == len(runs["clouds"]["slow"].store.region("RegionOne").table(rtype).items) > 0
        assert deleted == 0


@pytest.mark.parametrize(
    "case, words",
    [
        ("clouds_list", ["'clouds' is a list", "mapping of cloud names"]),
        ("auth_url_null", ["clouds.demo.auth.auth_url is empty", "URL of the identity service"]),
        ("auth_url_not_a_url", ["clouds.demo.auth.auth_url is 'not-a-url'", "URL of the identity service"]),
    ],
)
def test_bad_clouds_yaml_shapes_name_the_file_the_key_and_the_fix(runs, case, words):
    result = runs["results"][case]
    assert result is not None and result["failed"] is True, result
    msg = result["msg"]
    assert str(runs["bad"][case]) in msg, msg
    for word in words:
        assert word in msg, msg
    assert "AttributeError" not in msg and "EndpointNotFound" not in msg and "\n" not in msg


def test_os_client_config_file_pointing_at_a_directory_is_named(runs):
    result = runs["results"]["config_file_is_a_directory"]
    assert result is not None and result["failed"] is True, result
    folder = runs["config_dir"]
    assert "OS_CLIENT_CONFIG_FILE=%s is a directory" % folder in result["msg"], result["msg"]
    assert str(folder / "clouds.yaml") in result["msg"]
