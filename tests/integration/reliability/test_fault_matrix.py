"""The fault matrix: one simulator cloud per fault, synced together by ONE ansible-playbook run (forks).

Every cloud is first synced without faults (the baseline), then its data is changed in the simulator
(one item deleted, one renamed in the failing scope and in a healthy scope), the fault is injected
and every cloud is synced again at -vvvv with ANSIBLE_LOG_PATH set. Each case then asserts:

- the exit status (the host failed or not in the PLAY RECAP, the module's ``failed``),
- a clear message naming the cloud, region and type,
- the CMDB unchanged for the failing scope (resources, relations, change log: the same rows),
- the other scopes of that cloud and the other clouds synced (their changes recorded).

The artefacts of the same runs are grepped for the marker password in test_secrets_untrusted.py.
"""

from __future__ import annotations

import contextlib
import json
import os

import pytest
from conftest import (
    SYNC_PER_HOST_PLAYBOOK,
    query,
    read_results,
    recap,
    scope_rows,
    set_password,
    snapshot,
    write_hosts_inventory,
)
from hostile import add_hostile_items
from support.ansible import AnsibleRunner

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import run_sync

TYPES = ["servers", "networks", "volumes", "load_balancers"]
REGIONS = ("RegionOne", "RegionTwo")
R1 = "RegionOne"

TOKEN_DEFECT = (
    "defect: gather._Lister.get treats the first 401 as final; when a token is revoked while several scopes "
    "are in flight, keystoneauth re-authenticates for one thread only (invalidate() returns False for the "
    "others) and the other scopes end auth_failed"
)

#: case -> how it is set up and what it must give. ``scope``: the failing (region, type), or None when
#: the whole cloud fails (before any region is known). ``status``: that scope's status.
CASES = {
    "good": dict(scope=None, status=None),
    "down": dict(scope=None, status="error", host_failed=True, msg=["cannot reach the identity service"]),
    "dns": dict(scope=None, status="error", host_failed=True, msg=["no-such-host.invalid", "identity service"]),
    "refused": dict(scope=(R1, "servers"), status="error", msg=["cannot connect to compute"]),
    "e500": dict(scope=(R1, "servers"), status="ok", recovered=True, attempts=3),
    "e503": dict(scope=(R1, "servers"), status="error", msg=["HTTP 503", "after 3 tries"], attempts=3),
    "strict503": dict(scope=(R1, "servers"), status="error", host_failed=True, strict=True, msg=["HTTP 503"]),
    "r429": dict(scope=(R1, "servers"), status="ok", recovered=True, attempts=2),
    "token": dict(scope=(R1, "servers"), status="ok", recovered=True, page_size=2, xfail=TOKEN_DEFECT),
    "f403": dict(scope=(R1, "load_balancers"), status="forbidden", msg=["forbidden (HTTP 403)"], http=403),
    "nosvc": dict(scope=(R1, "volumes"), status="not_in_catalog", msg=["not in the service catalog"]),
    "hang": dict(scope=(R1, "servers"), status="error", msg=["timed out"]),
    "badjson": dict(scope=(R1, "networks"), status="error", msg=["malformed JSON"]),
    "loop": dict(scope=(R1, "servers"), status="error", msg=["looping next link"], page_size=2),
    "empty": dict(scope=(R1, "servers"), status="refused_empty", msg=["came back empty", "allow_empty_sweep"]),
}
RETRY_AFTER = 2


def _inject(name, cloud, sim):
    """Add the fault of case ``name`` to ``cloud``; return the clouds.yaml entry changes."""
    faults = cloud.faults
    servers = dict(service="compute", path="/servers/detail", region=R1)
    if name == "refused":
        faults.add(kind="refuse", service="compute", region=R1)
    elif name == "e500":
        faults.add(kind="status", status=500, times=2, **servers)
    elif name in ("e503", "strict503"):
        faults.add(kind="status", status=503, **servers)
    elif name == "r429":
        faults.add(kind="rate_limit", retry_after=RETRY_AFTER, times=1, **servers)
    elif name == "token":
        faults.add(kind="token_expiry", after=1, times=1, **servers)  # on the second page
    elif name == "f403":
        faults.add(kind="forbidden", service="load-balancer", region=R1)
    elif name == "nosvc":
        faults.add(kind="missing_service", service="block-storage", region=R1)
    elif name == "hang":
        faults.add(kind="hang", delay=4, **servers)
        return {"api_timeout": 1}
    elif name == "badjson":
        faults.add(kind="malformed_json", service="network", path="/networks", region=R1)
    elif name == "loop":
        faults.add(kind="looping_next", **servers)
    elif name == "down":
        return {"auth": {"auth_url": sim.dead_url + "/v3"}}
    elif name == "dns":
        return {"auth": {"auth_url": "http://no-such-host.invalid:5000/v3"}}
    return {}


def _region_store(cloud, region):
    return cloud.store[region]


def _mutate(cloud, region, rtype, protected=()):
    """Delete one item and rename another in one scope; return (deleted id, renamed id)."""
    store = _region_store(cloud, region)
    items = [item for item in store.list(rtype) if item["id"] not in protected]
    assert len(items) >= 2, (cloud.name, region, rtype)
    store.delete(rtype, items[0]["id"])
    store.update(rtype, items[1]["id"], {"name": "renamed-%s" % cloud.name})
    return items[0]["id"], items[1]["id"]


class Matrix:
    pass


@contextlib.contextmanager
def _environ(**values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    from os_simulator import Simulator

    sim = Simulator().start()
    tmp = tmp_path_factory.mktemp("matrix")
    m = Matrix()
    m.sim, m.tmp = sim, tmp
    m.runner = AnsibleRunner(tmp)
    m.url = "sqlite:///%s" % (tmp / "cmdb.sqlite")
    m.clouds = {}
    try:
        for index, name in enumerate(CASES):
            page = CASES[name].get("page_size", 1000)
            cloud = sim.add_cloud(
                name=name, regions=REGIONS, seed=20 + index, servers=4, projects=1, max_page_size=page, load_balancers=2
            )
            set_password(cloud)
            m.clouds[name] = cloud
        m.hostile = add_hostile_items(m.clouds["good"])
        entries = {}
        for name, cloud in m.clouds.items():
            entries[name] = cloud.clouds_yaml_entry(user="admin", application_credential=(name == "good"))
        m.app_secret = entries["good"]["auth"]["application_credential_secret"]
        m.baseline_yaml = tmp / "clouds-baseline.yaml"
        sim.write_clouds_yaml(str(m.baseline_yaml), entries)
        m.result_dir = tmp / "results"
        m.result_dir.mkdir()
        hosts = {name: {"sync_strict": bool(CASES[name].get("strict"))} for name in CASES}
        m.inventory = write_hosts_inventory(
            tmp / "hosts.yml", hosts, {"sync_types": TYPES, "cmdb_url": m.url, "result_dir": str(m.result_dir)}
        )
        forks = str(len(CASES))
        # The baseline is not under test: synced in this process (one SDK import instead of 15 processes).
        m.baseline = {}
        with _environ(OS_CLIENT_CONFIG_FILE=str(m.baseline_yaml)):
            for name in CASES:
                m.baseline[name] = run_sync({"cloud": name, "types": TYPES, "cmdb_url": m.url, "full_sync_interval": 0})
        for result in m.baseline.values():
            assert all(scope["status"] == "ok" for scope in result["scopes"]), result["msg"]
        m.before = snapshot(m.url)

        # Change the data: the failing scope and a healthy scope (RegionTwo servers) of every cloud.
        m.mutations = {}
        for name, cloud in m.clouds.items():
            case = CASES[name]
            failing = case["scope"] or (R1, "servers")
            mutated = {}
            if name != "empty":
                mutated[failing] = _mutate(cloud, *failing, protected=m.hostile)
            else:
                for item in _region_store(cloud, R1).list("servers"):
                    _region_store(cloud, R1).delete("servers", item["id"])
            mutated[("RegionTwo", "servers")] = _mutate(cloud, "RegionTwo", "servers")
            m.mutations[name] = mutated

        fault_entries = {}
        for name, cloud in m.clouds.items():
            entry = json.loads(json.dumps(entries[name]))
            if name != "empty":
                extra = _inject(name, cloud, sim)
                if "auth" in extra:
                    entry["auth"].update(extra.pop("auth"))
                entry.update(extra)
            fault_entries[name] = entry
            cloud.clear_requests()
        m.fault_yaml = tmp / "clouds-faults.yaml"
        sim.write_clouds_yaml(str(m.fault_yaml), fault_entries)
        m.log_path = tmp / "ansible.log"
        m.run = m.runner.playbook(
            SYNC_PER_HOST_PLAYBOOK,
            "-vvvv",
            "--forks",
            forks,
            inventory=m.inventory,
            env={"OS_CLIENT_CONFIG_FILE": str(m.fault_yaml), "ANSIBLE_LOG_PATH": str(m.log_path)},
        )
        m.results = read_results(m.result_dir)
        m.recap = recap(m.run.stdout)
        m.after = snapshot(m.url)
        yield m
    finally:
        sim.stop()


def _scope(result, region, rtype):
    found = [s for s in result.get("scopes", []) if s["region"] == region and s["type"] == rtype]
    assert len(found) == 1, result
    return found[0]


def _run_changes(m, cloud, region, rtype):
    """Change-log rows the fault run added for one scope: [(action, resource_id)]."""
    old = set(scope_rows(m.before, "changes", cloud, region, rtype))
    rows = [json.loads(r) for r in scope_rows(m.after, "changes", cloud, region, rtype) if r not in old]
    return sorted((row["action"], row["resource_id"]) for row in rows)


def _assert_scope_unchanged(m, cloud, region=None, rtype=None):
    for table in ("resources", "relations", "changes"):
        before = scope_rows(m.before, table, cloud, region, rtype)
        after = scope_rows(m.after, table, cloud, region, rtype)
        if table == "resources":
            assert before, (cloud, region, rtype)  # the scope had data to lose
        assert after == before, "%s of %s/%s/%s changed" % (table, cloud, region, rtype)


def _assert_synced(m, cloud, region, rtype):
    """The scope was applied in the fault run: its deletion and rename are in the change log."""
    deleted, renamed = m.mutations[cloud][(region, rtype)]
    assert _run_changes(m, cloud, region, rtype) == sorted([("deleted", deleted), ("updated", renamed)])
    live = {item["id"] for item in m.clouds[cloud].store[region].list(rtype)}
    stored = {
        json.loads(r)["id"]
        for r in scope_rows(m.after, "resources", cloud, region, rtype)
        if json.loads(r)["deleted_at"] is None
    }
    assert stored == live


def test_the_fault_run_finished_and_every_cloud_reported(matrix):
    assert "Traceback" not in matrix.run.output
    assert set(matrix.results) == set(CASES), matrix.run.output[-3000:]
    assert set(matrix.recap) == set(CASES), matrix.run.output[-3000:]
    failing_hosts = sorted(name for name, case in CASES.items() if case.get("host_failed"))
    assert sorted(h for h, r in matrix.recap.items() if r["failed"]) == failing_hosts
    assert matrix.run.rc == 2  # some hosts failed; the others went on


def test_the_healthy_cloud_synced_every_scope(matrix):
    result = matrix.results["good"]
    assert not result.get("failed") and result["failed_scopes"] == 0
    assert all(s["status"] == "ok" for s in result["scopes"])
    for region, rtype in matrix.mutations["good"]:
        _assert_synced(matrix, "good", region, rtype)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=spec["xfail"])) if spec.get("xfail") else name
        for name, spec in CASES.items()
        if name != "good"
    ],
)
def test_fault(matrix, case):
    spec = CASES[case]
    result = matrix.results[case]
    output = matrix.run.output
    assert "Traceback" not in json.dumps(result)
    # exit status
    assert matrix.recap[case]["failed"] == (1 if spec.get("host_failed") else 0)
    assert bool(result.get("failed")) == bool(spec.get("host_failed"))
    msg = result["msg"]
    if spec["scope"] is None:
        # the cloud failed before any region or type was known: the message names the cloud
        assert ("cloud %r" % case) in msg, msg
        for text in spec["msg"]:
            assert text in msg, msg
        _assert_scope_unchanged(matrix, case)
        assert not [r for r in matrix.after["sync_runs"] if r["cloud"] == case and r not in matrix.before["sync_runs"]]
        return
    region, rtype = spec["scope"]
    scope = _scope(result, region, rtype)
    assert scope["status"] == spec["status"], scope
    if spec.get("recovered"):
        assert scope["message"] is None and not result.get("failed")
        _assert_synced(matrix, case, region, rtype)  # the complete listing was applied
    else:
        # a clear message naming the cloud, region and type, in the result and in the task output
        for text in spec["msg"]:
            assert text in scope["message"], scope
        if spec["status"] == "not_in_catalog":  # not an error: no warning, the module is ok
            assert ("cloud %r region %r %s" % (case, region, rtype)) in scope["message"], scope
        else:
            where = "%s/%s/%s %s" % (case, region, rtype, spec["status"])
            assert where in msg, msg
            assert "[WARNING]: " + where in output or spec.get("host_failed"), where
        if spec.get("http"):
            assert scope["http_status"] == spec["http"]
        # nothing applied to the failing scope: no tombstone, no change row lost or invented
        _assert_scope_unchanged(matrix, case, region, rtype)
    # the other scopes of this cloud were synced, unless strict stopped them
    if not spec.get("strict"):
        others = [s for s in result["scopes"] if (s["region"], s["type"]) != (region, rtype)]
        bad = [s for s in others if s["status"] != "ok" and not (case == "nosvc" and s["type"] == "volumes")]
        assert not bad, bad
        _assert_synced(matrix, case, "RegionTwo", "servers")
    if "attempts" in spec:
        tries = [
            r for r in matrix.clouds[case].requests(service="compute", path="/servers/detail") if r["region"] == region
        ]
        assert len(tries) == spec["attempts"], tries


def test_429_waited_for_retry_after(matrix):
    result = matrix.results["r429"]
    statuses = [
        r["status"]
        for r in matrix.clouds["r429"].requests(service="compute", path="/servers/detail")
        if r["region"] == R1
    ]
    assert statuses == [429, 200]
    assert result["duration"] >= RETRY_AFTER  # Retry-After was honoured (a lower bound, never flaky)


def test_token_expiry_mid_pagination_reauthenticated_and_completed(matrix):
    """One scope alone (no concurrent scope shares the token): re-authenticates and the listing completes."""
    cloud = matrix.clouds["token"]
    cloud.faults.clear()
    cloud.faults.add(kind="token_expiry", after=1, times=1, service="compute", path="/servers/detail", region=R1)
    cloud.clear_requests()
    done = matrix.runner.module(
        "cmdb_sync",
        {"cloud": "token", "types": ["servers"], "regions": [R1], "cmdb_url": matrix.url, "full_sync_interval": 0},
        env={"OS_CLIENT_CONFIG_FILE": str(matrix.fault_yaml)},
    )
    assert done.rc == 0, done.output
    pages = cloud.requests(service="compute", path="/servers/detail")
    assert [r["status"] for r in pages].count(401) == 1
    assert len(pages) >= 3  # several pages, one of them retried
    tokens = cloud.requests(service="identity", path="/auth/tokens", method="POST")
    assert len(tokens) == 2  # the first login and the re-authentication
    scope = _scope(done.result, R1, "servers")
    assert scope["status"] == "ok"
    assert scope["counts"]["listed"] == len(cloud.store[R1].list("servers"))
    live = {item["id"] for item in cloud.store[R1].list("servers")}
    stored = {
        row[0]
        for row in query(
            matrix.url,
            "SELECT id FROM resources WHERE cloud='token' AND region=:r AND type='servers' AND deleted_at IS NULL",
            r=R1,
        )
    }
    assert stored == live


def test_empty_listing_is_swept_only_when_allowed(matrix):
    cloud = matrix.clouds["empty"]
    known = [
        json.loads(r)["id"]
        for r in scope_rows(matrix.after, "resources", "empty", R1, "servers")
        if json.loads(r)["deleted_at"] is None
    ]
    assert known  # the refused empty listing left every server live
    done = matrix.runner.module(
        "cmdb_sync",
        {
            "cloud": "empty",
            "types": ["servers"],
            "regions": [R1],
            "cmdb_url": matrix.url,
            "full_sync_interval": 0,
            "allow_empty_sweep": True,
        },
        env={"OS_CLIENT_CONFIG_FILE": str(matrix.fault_yaml)},
    )
    assert done.rc == 0, done.output
    assert _scope(done.result, R1, "servers")["status"] == "ok"
    assert done.result["summary"]["servers"]["deleted"] == len(known)
    assert not cloud.store[R1].list("servers")
