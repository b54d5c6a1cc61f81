"""SIGKILL of the ansible-playbook process group in the middle of a sync (issue 19).

What happens (documented in docs/reliability.md): ansible-core's worker process calls ``setsid``,
so the worker and the module it runs are in another process group (and session) than
``ansible-playbook``. Killing the playbook's process group kills the controller only: the module
goes on, finishes its sync, and its temporary directory is left behind. This test keeps that
observation true and proves that a second run, started at once while the orphaned module still
runs, is safe: both complete, every change is recorded exactly once, no lock, staging row or
``running`` sync run is left.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import MARKER_PASSWORD, query, set_password
from support.paths import COLLECTION_ROOT
from test_kill_and_concurrency import (
    R1,
    _assert_consistent_after_next_sync,
    _cmdline,
    _descendants,
    _live_ids,
    _mutate_servers,
    _sync_in_process,
)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("kill", ["playbook_group", "playbook_group_and_worker"])
def test_killing_the_playbook_process_group_leaves_the_module_running_and_a_second_run_is_safe(
    ansible, os_simulator, tmp_path, kill
):
    cloud = os_simulator.add_cloud(name="killpg", regions=(R1,), seed=11, servers=30, projects=1)
    set_password(cloud)
    clouds_yaml = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(clouds_yaml))
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    types = ["servers", "networks", "ports", "volumes"]
    assert _sync_in_process(clouds_yaml, cloud="killpg", types=types, cmdb_url=url)["failed_scopes"] == 0
    baseline_runs = query(url, "SELECT MAX(id) FROM sync_runs")[0][0]
    renamed, deleted = _mutate_servers(cloud)
    # keeps the run alive after the servers scope is applied, for a few seconds after the kill
    cloud.faults.add(kind="latency", service="block-storage", path="/volumes", delay=8, times=1)
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"cmdb.openstack.cmdb_sync": {"cloud": "killpg", "types": types, "cmdb_url": url}}],
        }
    ]
    path = tmp_path / "sync.yml"
    path.write_text(json.dumps(play))
    env = ansible.env({"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)})
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)],
        env=env,
        cwd=COLLECTION_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a shell job or a CI step has
    )
    tree = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            applied = query(url, "SELECT COUNT(*) FROM sync_runs WHERE status = 'ok' AND type = 'servers'")[0][0]
            if applied >= 2:
                tree = _descendants(proc.pid)
                break
            time.sleep(0.05)
        assert tree, "the run finished before it could be killed"
        module = [pid for pid in tree if "AnsiballZ_cmdb_sync" in _cmdline(pid)]
        assert module, [_cmdline(pid) for pid in tree]
        # ansible-core's worker (a fork of ansible-playbook) calls setsid: it and the module it runs
        # are in a process group of their own, not in the playbook's
        workers = [pid for pid in tree if "ansible-playbook" in _cmdline(pid)]
        assert workers and all(os.getpgid(pid) == pid != proc.pid for pid in workers)
        assert all(os.getpgid(pid) in workers for pid in module)
        os.killpg(proc.pid, signal.SIGKILL)  # what `kill -9 -PGID` or a CI job timeout does
        if kill == "playbook_group_and_worker":
            for pid in workers:  # e.g. the OOM killer took the worker too
                os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL

        # the module is not killed: it runs to the end of its sync
        assert any(_alive(pid) for pid in module)
        # a second run right away, while the orphaned module still holds the volumes scope
        second = ansible.module(
            "cmdb_sync",
            {"cloud": "killpg", "types": types, "cmdb_url": url},
            env={"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)},
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in tree)
    finally:
        for pid in tree:  # never leave a process of this test behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    assert second.rc == 0, second.output
    assert "Traceback" not in second.output
    assert all(s["status"] == "ok" for s in second.result["scopes"]), second.result["msg"]
    runs = query(url, "SELECT type, status FROM sync_runs WHERE id > :b ORDER BY id", b=baseline_runs)
    # the orphaned module completed every scope (ok), or the second run superseded it; none aborted
    assert {status for _type, status in runs} <= {"ok", "superseded"}, runs
    assert [t for t, status in runs].count("volumes") == 2, runs
    left = glob.glob(str(tmp_path / "ansible-remote-tmp" / "ansible-tmp-*"))
    if kill == "playbook_group":
        assert left == []  # the orphaned worker saw the module end and removed its directory
    else:  # nobody is left to remove it: the module's directory stays (harmless, no secret in it)
        assert len(left) == 1 and os.listdir(left[0]) == ["AnsiballZ_cmdb_sync.py"], left
        assert os.stat(left[0]).st_mode & 0o077 == 0  # private to the user
        with open(os.path.join(left[0], "AnsiballZ_cmdb_sync.py"), "rb") as handle:
            assert MARKER_PASSWORD.encode() not in handle.read()  # it holds the module arguments only
    assert _live_ids(url, "killpg", R1, "servers") == {s["id"] for s in cloud.store[R1].list("servers")}
    _assert_consistent_after_next_sync(url, cloud, renamed, deleted)
