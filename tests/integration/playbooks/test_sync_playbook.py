"""playbooks/sync.yml over several simulator clouds with forks > 1, the cron entry's due sync, forced narrowing."""

from __future__ import annotations

import getpass
import os
import subprocess

from conftest import INVENTORY, query, recap
from support.paths import COLLECTIONS_DIR


def _server_counts(url):
    sql = "SELECT cloud, COUNT(*) FROM resources WHERE type = 'servers' AND deleted_at IS NULL GROUP BY cloud"
    return dict(query(url, sql))


def _runs(url):
    return query(url, "SELECT cloud, region, type, status FROM sync_runs ORDER BY id")


def _install_cron(ansible, tmp_path, url, estate):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text("#!/bin/sh\nexit 97\n")  # ansible.builtin.cron wants one; never called
    (bin_dir / "crontab").chmod(0o755)
    cron_file = tmp_path / "cmdb-openstack-sync"
    result = ansible.playbook(
        "playbooks/cron.yml",
        extra_vars={
            "cron_file": str(cron_file),
            "cron_user": getpass.getuser(),
            "cron_dir": str(tmp_path / "job"),
            "cron_url": url,
            "cron_forks": 3,
            "cron_environment": {
                "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR,
                "OS_CLIENT_CONFIG_FILE": str(estate.clouds_yaml),
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            },
        },
        env={"PATH": str(bin_dir) + os.pathsep + os.environ["PATH"]},
    )
    assert result.rc == 0, result.output
    line = next(entry for entry in cron_file.read_text().splitlines() if entry and not entry.startswith("#"))
    return line.split(None, 6)[6]  # after the five time fields and the user: the command


def test_sync_playbook_forks_due_logic_cron_entry_and_forced_narrowing(ansible, estate_factory, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    estate = estate_factory(3, url)
    estate.register(ansible)
    expected = {name: len(cloud.store.list("servers")) for name, cloud in estate.clouds.items()}
    assert all(count > 0 for count in expected.values())

    # 1. sync.yml with forks > 1 on two of the three accounts.
    first = ansible.playbook(
        "playbooks/sync.yml", "--forks", "2", "--limit", "acct0:acct1", inventory=INVENTORY, env=estate.env()
    )
    assert first.rc == 0, first.output
    hosts = recap(first.stdout)
    assert sorted(hosts) == ["acct0", "acct1"] and all(h["failed"] == 0 for h in hosts.values()), first.stdout
    assert _server_counts(url) == {name: expected[name] for name in ("acct0", "acct1")}
    runs = _runs(url)
    assert {(r[0], r[2]) for r in runs} == {(a, t) for a in ("acct0", "acct1") for t in estate.enabled}
    assert all(r[3] == "ok" for r in runs), runs

    # 2. The cron entry, run exactly as cron runs it (nearly empty environment): the due sync of every
    #    account syncs acct2 only, since nothing of acct0 and acct1 is due yet.
    command = _install_cron(ansible, tmp_path, url, estate)
    cron_env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "SHELL": "/bin/sh"}
    run = subprocess.run(["sh", "-c", command], env=cron_env, capture_output=True, text=True, timeout=600, check=False)
    log = (tmp_path / "job" / "due-sync.log").read_text()
    output = (tmp_path / "job" / "last-run.out").read_text()
    assert run.returncode == 0, log + output
    # One line per run in the log; the whole output of the run next to it.
    assert len(log.splitlines()) == 1 and " ok: %d scopes synced (" % len(estate.enabled) in log, log
    assert sorted(set(recap(output)) - {"localhost"}) == ["acct0", "acct1", "acct2"], output
    assert _server_counts(url) == expected
    new = _runs(url)[len(runs) :]
    assert {(r[0], r[2]) for r in new} == {("acct2", t) for t in estate.enabled}, new
    runs = _runs(url)

    # 3. -e accounts=... -e types=... narrows and forces: exactly one new run, acct1 servers.
    forced = ansible.playbook(
        "playbooks/sync.yml",
        "--forks",
        "3",
        "-e",
        "accounts=acct1",
        "-e",
        "types=servers",
        inventory=INVENTORY,
        env=estate.env(),
    )
    assert forced.rc == 0, forced.output
    new = _runs(url)[len(runs) :]
    assert [(r[0], r[2], r[3]) for r in new] == [("acct1", "servers", "ok")], new


def test_sync_playbook_old_clouds_variable_still_narrows_with_a_deprecation_warning(ansible, estate_factory, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    estate = estate_factory(2, url)
    estate.register(ansible)
    result = ansible.playbook(
        "playbooks/sync.yml", "-e", "clouds=acct0", "-e", "types=servers", inventory=INVENTORY, env=estate.env()
    )
    assert result.rc == 0, result.output
    assert "the variable clouds is deprecated, use accounts" in " ".join(result.output.split())
    assert [(r[0], r[2], r[3]) for r in _runs(url)] == [("acct0", "servers", "ok")]


def test_sync_and_permissions_playbooks_without_the_clouds_inventory_fail_and_say_what_to_pass(ansible, tmp_path):
    env = {"CMDB_URL": "sqlite:///%s" % (tmp_path / "none.sqlite")}
    for playbook in ("playbooks/sync.yml", "playbooks/permissions.yml"):
        result = ansible.playbook(playbook, env=env)
        assert result.rc != 0, result.output
        text = " ".join(result.output.split())
        assert "No host in the group openstack_clouds: pass the cmdb.openstack.clouds inventory" in text, text
        assert not (tmp_path / "none.sqlite").exists()
