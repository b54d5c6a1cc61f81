"""The report refreshed after syncs: playbooks/sync.yml (role option), the cron job, and playbooks/report.yml."""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess

from support.paths import COLLECTION_ROOT, COLLECTIONS_DIR

INVENTORY = os.path.join(COLLECTION_ROOT, "playbooks", "inventory", "openstack_clouds.yml")
ENABLED = ("servers", "networks", "ports", "volumes")


def _live(html, cloud, rtype):
    match = re.search(r'data-cloud="%s" data-type="%s" data-live="(\d+)"' % (cloud, rtype), html)
    return int(match.group(1)) if match else None


def _estate(ansible, os_simulator, tmp_path, url):
    from ansible_collections.cmdb.openstack.plugins.module_utils.catalog import RESOURCE_TYPE_NAMES

    clouds = {
        n: os_simulator.add_cloud(name=n, seed=200 + i, servers=4, projects=1) for i, n in enumerate(("r0", "r1"))
    }
    clouds_yaml = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(str(clouds_yaml), {n: c.clouds_yaml_entry(user="admin") for n, c in clouds.items()})
    env = {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml), "CMDB_URL": url}
    resources = {name: {"enabled": name in ENABLED} for name in RESOURCE_TYPE_NAMES}
    accounts = [{"name": n, "cloud": n, "regions": ["RegionOne"], "resources": resources} for n in clouds]
    result = ansible.playbook("playbooks/register.yml", extra_vars={"cmdb_accounts": accounts}, env=env)
    assert result.rc == 0, result.output
    return clouds, clouds_yaml, env


def test_sync_role_and_cron_refresh_the_report(ansible, os_simulator, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    clouds, clouds_yaml, env = _estate(ansible, os_simulator, tmp_path, url)
    report = tmp_path / "www" / "cmdb report.html"
    report.parent.mkdir()

    # 1. sync.yml with cmdb_report_path: r0 synced, the report written once (run_once) after the syncs
    first = ansible.playbook(
        "playbooks/sync.yml",
        "--limit",
        "r0",
        inventory=INVENTORY,
        env=env,
        extra_vars={"cmdb_report_path": str(report)},
    )
    assert first.rc == 0, first.output
    assert first.output.count("TASK [cmdb.openstack.sync : Write the CMDB report") == 1
    html = report.read_text()
    assert _live(html, "r0", "servers") == len(clouds["r0"].store.list("servers"))
    assert _live(html, "r1", "servers") is None

    # 2. nothing due: no sync, so the report is not rewritten
    stamp = report.stat().st_mtime_ns
    again = ansible.playbook(
        "playbooks/sync.yml",
        "--limit",
        "r0",
        inventory=INVENTORY,
        env=env,
        extra_vars={"cmdb_report_path": str(report)},
    )
    assert again.rc == 0, again.output
    assert report.stat().st_mtime_ns == stamp and report.read_text() == html

    # 3. the cron job with cron_report_path: its due sync (r1) refreshes the report
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text("#!/bin/sh\nexit 97\n")
    (bin_dir / "crontab").chmod(0o755)
    cron_file = tmp_path / "cmdb-openstack-sync"
    installed = ansible.playbook(
        "playbooks/cron.yml",
        extra_vars={
            "cron_file": str(cron_file),
            "cron_user": getpass.getuser(),
            "cron_dir": str(tmp_path / "job"),
            "cron_url": url,
            "cron_report_path": str(report),
            "cron_environment": {
                "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR,
                "OS_CLIENT_CONFIG_FILE": str(clouds_yaml),
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            },
        },
        env={"PATH": str(bin_dir) + os.pathsep + os.environ["PATH"]},
    )
    assert installed.rc == 0, installed.output
    script = (tmp_path / "job" / "due-sync.sh").read_text()
    assert json.dumps({"cmdb_report_path": str(report)}) in script
    line = next(entry for entry in cron_file.read_text().splitlines() if entry and not entry.startswith("#"))
    command = line.split(None, 6)[6]
    cron_env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "SHELL": "/bin/sh"}
    run = subprocess.run(["sh", "-c", command], env=cron_env, capture_output=True, text=True, timeout=600, check=False)
    log = (tmp_path / "job" / "due-sync.log").read_text()
    assert run.returncode == 0, log
    html = report.read_text()
    assert _live(html, "r1", "servers") == len(clouds["r1"].store.list("servers")), log
    assert _live(html, "r0", "servers") == len(clouds["r0"].store.list("servers"))


def test_report_playbook(ansible, os_simulator, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    clouds, _clouds_yaml, env = _estate(ansible, os_simulator, tmp_path, url)
    synced = ansible.playbook("playbooks/sync.yml", inventory=INVENTORY, env=env)
    assert synced.rc == 0, synced.output
    path = tmp_path / "only-r1.html"
    result = ansible.playbook(
        "playbooks/report.yml", env={"CMDB_URL": url}, extra_vars={"report_path": str(path), "accounts": "r1"}
    )
    assert result.rc == 0, result.output
    assert "wrote the CMDB report %s" % path in result.output
    html = path.read_text()
    assert _live(html, "r1", "servers") == len(clouds["r1"].store.list("servers"))
    assert _live(html, "r0", "servers") is None  # clouds narrows the report
