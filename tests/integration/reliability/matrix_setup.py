"""The fault-matrix run, shared by the matrix, secrets and untrusted-data tests (one session fixture)."""

from __future__ import annotations

import contextlib
import json
import os

from conftest import SYNC_PER_HOST_PLAYBOOK, read_results, recap, set_password, snapshot, write_hosts_inventory
from hostile import add_hostile_items
from support.ansible import AnsibleRunner

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import run_sync

TYPES = ["servers", "networks", "volumes", "load_balancers"]
REGIONS = ("RegionOne", "RegionTwo")
R1 = "RegionOne"

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
    "token": dict(scope=(R1, "servers"), status="ok", recovered=True, page_size=2),
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


def build_matrix(tmp_path_factory):
    """Generator: set up, run, yield the Matrix, stop the simulator."""
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
