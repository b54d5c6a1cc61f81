"""playbooks/sync.yml over several simulator clouds with forks > 1: due runs, forced narrowing, the cron entry."""

from __future__ import annotations

import getpass
import os
import subprocess

from conftest import INVENTORY, query, recap
from support.paths import COLLECTIONS_DIR


def _server_counts(url):
    sql = "SELECT cloud, COUNT(*) FROM resources WHERE type = 'servers' AND deleted_at IS NULL GROUP BY cloud"
    return dict(query(url, sql))


def _runs(url, **where):
    sql = "SELECT cloud, region, type, status FROM sync_runs"
    if where:
        sql += " WHERE " + " AND ".join("%s = :%s" % (k, k) for k in where)
    return query(url, sql + " ORDER BY id", **where)


def test_sync_several_accounts_in_parallel_then_only_what_is_due(ansible, estate_factory, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    estate = estate_factory(3, url)
    estate.register(ansible)

    first = ansible.playbook("playbooks/sync.yml", "--forks", "3", inventory=INVENTORY, env=estate.env())
    assert first.rc == 0, first.output
    hosts = recap(first.stdout)
    assert len(hosts) == 3 and all(h["failed"] == 0 for h in hosts.values()), first.stdout
    expected = {name: len(cloud.store.list("servers")) for name, cloud in estate.clouds.items()}
    assert _server_counts(url) == expected
    assert all(count > 0 for count in expected.values())
    runs_after_first = len(_runs(url))
    assert {row[0] for row in _runs(url, type="servers", status="ok")} == set(estate.clouds)

    # Nothing is due a moment later (servers every 5 minutes, the rest less often): no new sync run.
    due = ansible.playbook("playbooks/sync.yml", "--forks", "3", inventory=INVENTORY, env=estate.env())
    assert due.rc == 0, due.output
    assert len(_runs(url)) == runs_after_first

    # -e clouds=... -e types=... narrows and forces: exactly one new run, acct1 servers.
    forced = ansible.playbook(
        "playbooks/sync.yml",
        "--forks",
        "3",
        "-e",
        "clouds=acct1",
        "-e",
        "types=servers",
        inventory=INVENTORY,
        env=estate.env(),
    )
    assert forced.rc == 0, forced.output
    new = _runs(url)[runs_after_first:]
    assert [(row[0], row[2]) for row in new] == [("acct1", "servers")], new


def test_the_cron_entry_runs_the_due_sync(ansible, estate_factory, tmp_path):
    """Install the cron entry, then run its command exactly as cron would: it syncs every account."""
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    estate = estate_factory(2, url)
    estate.register(ansible)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text("#!/bin/sh\nexit 97\n")
    (bin_dir / "crontab").chmod(0o755)
    cron_file = tmp_path / "cmdb-openstack-sync"
    result = ansible.playbook(
        "playbooks/cron.yml",
        extra_vars={
            "cron_file": str(cron_file),
            "cron_user": getpass.getuser(),
            "cron_dir": str(tmp_path / "job"),
            "cron_url": url,
            "cron_forks": 2,
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
    command = line.split(None, 6)[6]
    # cron's environment is nearly empty: only what the wrapper script sets may matter
    cron_like_env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "SHELL": "/bin/sh"}
    run = subprocess.run(
        ["sh", "-c", command], env=cron_like_env, capture_output=True, text=True, timeout=300, check=False
    )
    log = (tmp_path / "job" / "due-sync.log").read_text()
    assert run.returncode == 0, log
    assert "due sync" in log and "PLAY RECAP" in log
    assert _server_counts(url) == {name: len(cloud.store.list("servers")) for name, cloud in estate.clouds.items()}
