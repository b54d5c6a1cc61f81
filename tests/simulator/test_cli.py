"""The ``openstack`` CLI against the simulator, and the simulator's own command line and control API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import openstack
import pytest
import requests
import yaml

from os_simulator import Simulator

pytestmark = pytest.mark.filterwarnings("ignore::Warning:openstack")

SIMULATOR_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "simulator")
OPENSTACK = shutil.which("openstack") or os.path.join(os.path.dirname(sys.executable), "openstack")


@pytest.fixture(scope="module")
def cli_cloud(tmp_path_factory):
    sim = Simulator().start()
    cloud = sim.add_cloud("clisim", regions=("RegionOne", "RegionTwo"), servers=12, projects=2, max_page_size=3)
    path = str(tmp_path_factory.mktemp("cli") / "clouds.yaml")
    sim.write_clouds_yaml(
        path,
        {
            "clisim": cloud.clouds_yaml_entry(),
            "clisim-member": cloud.clouds_yaml_entry(user="member", regions=["RegionOne"]),
        },
    )
    try:
        yield cloud, path
    finally:
        sim.stop()


def run_openstack(clouds_yaml, *commands):
    """Run several ``openstack`` commands in parallel (each takes seconds to start); returns parsed JSON."""
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds_yaml)
    for key in [k for k in env if k.startswith("OS_") and k != "OS_CLIENT_CONFIG_FILE"]:
        del env[key]
    procs = [
        subprocess.Popen(
            [OPENSTACK, *cmd, "-f", "json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for cmd in commands
    ]
    results = []
    for cmd, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=120)
        results.append((cmd, proc.returncode, out, err))
    return results


@pytest.mark.skipif(not os.path.exists(OPENSTACK), reason="python-openstackclient is not installed")
def test_openstack_cli(cli_cloud):
    cloud, path = cli_cloud
    base = ["--os-cloud", "clisim", "--os-region-name", "RegionOne"]
    results = run_openstack(
        path,
        [*base, "server", "list", "--all-projects", "--limit", "2"],
        [*base, "network", "list"],
        ["--os-cloud", "clisim", "--os-region-name", "RegionTwo", "volume", "list", "--all-projects"],
        ["--os-cloud", "clisim-member", "server", "list", "--all-projects"],
    )
    outputs = []
    for cmd, code, out, err in results[:3]:
        assert code == 0, (cmd, err[-2000:])
        outputs.append(json.loads(out))
    limited, networks, volumes_two = outputs
    stored = cloud.store.list("servers")  # in the API's order (newest first)
    # --limit is one page for the openstack CLI (capped by the server's page size, 3 here)
    assert [s["ID"] for s in limited] == [s["id"] for s in stored[:2]]
    by_id = {s["id"]: s for s in stored}
    for row in limited:
        assert row["Name"] == by_id[row["ID"]]["name"]
        assert row["Status"] == by_id[row["ID"]]["status"]
        assert row["Flavor"] == by_id[row["ID"]]["flavor"]["original_name"]
    assert sorted((n["ID"], n["Name"]) for n in networks) == sorted(
        (n["id"], n["name"]) for n in cloud.store.list("networks")
    )
    assert sorted(v["ID"] for v in volumes_two) == sorted(
        v["id"] for v in cloud.store.list("volumes", region="RegionTwo")
    )
    _cmd, code, _out, err = results[3]
    assert code != 0
    assert "403" in err or "Policy" in err


def test_serve_command_line_and_control_api(tmp_path):
    ready = tmp_path / "ready.json"
    clouds_yaml = tmp_path / "clouds.yaml"
    env = dict(os.environ, PYTHONPATH=SIMULATOR_DIR)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "os_simulator",
            "serve",
            "--port",
            "0",
            "--cloud",
            "demo:RegionOne,RegionTwo",
            "--cloud",
            "other::servers=5,projects=1",
            "--servers",
            "8",
            "--max-page-size",
            "4",
            "--write-clouds-yaml",
            str(clouds_yaml),
            "--print-env",
            "--ready-file",
            str(ready),
            "--fault",
            "cloud=other,kind=status,service=network,status=503",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the simulator did not get ready"
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        base = info["control_url"]
        assert requests.get(base + "/health", timeout=5).json()["clouds"] == ["demo", "other"]
        config = yaml.safe_load(clouds_yaml.read_text())
        assert set(config["clouds"]) == {"demo", "other"}
        assert config["clouds"]["demo"]["regions"] == ["RegionOne", "RegionTwo"]
        assert config["clouds"]["demo"]["auth"]["auth_url"] == info["clouds"]["demo"]
        conn = openstack.connect(**config["clouds"]["demo"]["auth"], region_name="RegionTwo")
        assert len(list(conn.compute.servers(all_projects=True))) == 8
        other = openstack.connect(**config["clouds"]["other"]["auth"], region_name="RegionOne")
        with pytest.raises(openstack.exceptions.HttpException):
            list(other.network.networks())
        # control API: data, faults, settings, requests
        servers = requests.get(base + "/clouds/demo/data/RegionTwo/servers", timeout=5).json()["items"]
        target = servers[0]["id"]
        patched = requests.patch(
            base + "/clouds/demo/data/RegionTwo/servers/" + target, json={"name": "via-control"}, timeout=5
        )
        assert patched.json()["name"] == "via-control"
        assert conn.compute.get_server(target).name == "via-control"
        assert requests.delete(base + "/clouds/demo/data/RegionTwo/servers/" + target, timeout=5).status_code == 204
        assert len(list(conn.compute.servers(all_projects=True))) == 7
        fault = requests.post(
            base + "/clouds/demo/faults", json={"kind": "forbidden", "service": "image"}, timeout=5
        ).json()
        with pytest.raises(openstack.exceptions.ForbiddenException):
            list(conn.image.images())
        assert requests.get(base + "/clouds/demo/faults", timeout=5).json()["faults"][0]["hits"] >= 1
        assert requests.delete(base + "/clouds/demo/faults/%d" % fault["id"], timeout=5).status_code == 204
        assert list(conn.image.images())
        bad = requests.post(base + "/clouds/demo/faults", json={"kind": "nonsense"}, timeout=5)
        assert bad.status_code == 400 and "valid kinds" in bad.json()["error"]["message"]
        requests.patch(base + "/clouds/demo", json={"max_page_size": 1}, timeout=5)
        requests.delete(base + "/clouds/demo/requests", timeout=5)
        assert len(list(conn.network.routers())) == 2
        logged = requests.get(base + "/clouds/demo/requests?service=network&path=/routers", timeout=5).json()[
            "requests"
        ]
        assert len(logged) == 3  # two full pages of one router, then an empty one
        cred = requests.post(base + "/clouds/demo/application_credentials", json={"user": "member"}, timeout=5).json()
        app = openstack.connect(
            auth_type="v3applicationcredential",
            auth_url=info["clouds"]["demo"],
            application_credential_id=cred["id"],
            application_credential_secret=cred["secret"],
            region_name="RegionOne",
        )
        assert list(app.compute.servers())
        added = requests.post(base + "/clouds", json={"name": "late", "servers": 3}, timeout=30)
        assert added.status_code == 201 and added.json()["auth_url"].endswith("/late/identity/v3")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "os_simulator listening on http://127.0.0.1:%d" % info["port"] in out
    assert "export OS_AUTH_URL=%s" % info["clouds"]["demo"] in out


def test_cli_rejects_bad_arguments():
    env = dict(os.environ, PYTHONPATH=SIMULATOR_DIR)
    proc = subprocess.run(
        [sys.executable, "-m", "os_simulator", "serve", "--cloud", "x::servers=1,bogus=2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown setting 'bogus'" in proc.stderr
