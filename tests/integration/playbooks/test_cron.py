"""playbooks/cron.yml and the cron role: one entry, under flock, idempotent, removable; in files under test control.

ansible.builtin.cron insists that a ``crontab`` command exists even when it only edits a cron file; this machine
may have no cron installed, so the tests put a ``crontab`` on PATH that fails the test if it is ever called.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import re
import shlex
import stat
import subprocess
import sys

import pytest
from support.paths import COLLECTIONS_DIR

NAME = "cmdb.openstack due sync"


@pytest.fixture
def cron_env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    called = tmp_path / "crontab-was-called"
    shim = bin_dir / "crontab"
    shim.write_text("#!/bin/sh\necho \"$@\" >> %s\necho 'crontab must not be called' >&2\nexit 97\n" % called)
    shim.chmod(0o755)
    return {"PATH": str(bin_dir) + os.pathsep + os.environ["PATH"]}, called


def _vars(tmp_path, **extra):
    values = {
        "cron_file": str(tmp_path / "cron.d" / "cmdb-openstack-sync"),
        "cron_user": getpass.getuser(),
        "cron_dir": str(tmp_path / "job"),
        "cron_url": "sqlite:///%s" % (tmp_path / "cmdb.sqlite"),
        "cron_environment": {"ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR},
    }
    values.update(extra)
    return values


def _recap(output):
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[4])}


def _entry(cron_file):
    lines = [line for line in cron_file.read_text().splitlines() if line.strip()]
    markers = [i for i, line in enumerate(lines) if line == "#Ansible: %s" % NAME]
    assert len(markers) == 1, lines
    return lines, lines[markers[0] + 1]


def _command(line):
    """The command cron runs for a cron.d line: after five time fields and the user."""
    fields = line.split(None, 6)
    assert fields[:5] == ["*", "*", "*", "*", "*"], line
    assert fields[5] == getpass.getuser()
    return fields[6]


def test_cron_entry_install_idempotence_flock_and_removal(ansible, tmp_path, cron_env):
    env, called = cron_env
    (tmp_path / "cron.d").mkdir()
    cron_file = tmp_path / "cron.d" / "cmdb-openstack-sync"
    job = tmp_path / "job"
    other = "#Ansible: something else\n0 3 * * * root /usr/bin/true\n"
    cron_file.write_text(other)  # another entry of the file must survive install and removal

    first = ansible.playbook("playbooks/cron.yml", extra_vars=_vars(tmp_path), env=env)
    assert first.rc == 0, first.output
    assert _recap(first.stdout)["changed"] >= 3
    lines, line = _entry(cron_file)
    assert len(lines) == 4 and "0 3 * * * root /usr/bin/true" in lines  # ours (marker + line) and the other
    command = _command(line)
    script, lock, log = job / "due-sync.sh", job / "due-sync.lock", job / "due-sync.log"
    assert command == "flock -n %s %s >> %s 2>&1" % (lock, script, log)
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    assert stat.S_IMODE(job.stat().st_mode) == 0o700
    text = script.read_text()
    assert "CMDB_URL=%s\nexport CMDB_URL" % shlex.quote(_vars(tmp_path)["cron_url"]) in text
    assert "ANSIBLE_COLLECTIONS_PATH=%s\nexport ANSIBLE_COLLECTIONS_PATH" % shlex.quote(COLLECTIONS_DIR) in text
    # The ansible-playbook of the virtualenv the role ran from, by absolute path; the summary by its Python.
    assert (
        "ANSIBLE_PLAYBOOK=%s\n" % shlex.quote(os.path.join(os.path.dirname(sys.executable), "ansible-playbook")) in text
    )
    assert "PYTHON=%s\n" % shlex.quote(sys.executable) in text
    assert ' cmdb.openstack.sync > "$OUT" 2>&1\n' in text
    assert "-i %s" % (job / "openstack_clouds.yml") in text
    inventory = (job / "openstack_clouds.yml").read_text()
    assert "plugin: cmdb.openstack.clouds" in inventory
    assert "sqlite" not in line  # the CMDB URL stays out of the crontab

    again = ansible.playbook("playbooks/cron.yml", extra_vars=_vars(tmp_path), env=env)
    assert again.rc == 0, again.output
    assert _recap(again.stdout)["changed"] == 0, again.stdout
    assert cron_file.read_text().count(NAME) == 1

    # flock -n: while another run holds the lock, the entry exits at once and runs nothing.
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60, check=False)
        fcntl.flock(held, fcntl.LOCK_UN)
    assert busy.returncode == 1
    assert not log.exists() or "due sync" not in log.read_text()

    absent = ansible.playbook("playbooks/cron.yml", extra_vars=_vars(tmp_path, cron_state="absent"), env=env)
    assert absent.rc == 0, absent.output
    assert cron_file.read_text() == other  # our entry is gone, the other one is untouched
    assert not script.exists() and not (job / "openstack_clouds.yml").exists()
    absent_again = ansible.playbook("playbooks/cron.yml", extra_vars=_vars(tmp_path, cron_state="absent"), env=env)
    assert absent_again.rc == 0, absent_again.output
    assert _recap(absent_again.stdout)["changed"] == 0, absent_again.stdout
    assert not called.exists(), called.read_text()


def test_a_cron_file_needs_a_user(ansible, tmp_path, cron_env):
    env, _called = cron_env
    result = ansible.playbook("playbooks/cron.yml", extra_vars=_vars(tmp_path, cron_user=""), env=env)
    assert result.rc != 0
    assert "needs cron_user" in result.output


def test_the_job_environment_is_captured_from_the_installing_environment(ansible, tmp_path, cron_env):
    """Without cron_url or cron_environment: CMDB_URL, OS_CLIENT_CONFIG_FILE and the collections path of now."""
    env, _called = cron_env
    (tmp_path / "cron.d").mkdir()
    url = "postgresql+psycopg://cmdb:pw-marker@db.example.com/cmdb"
    clouds_yaml = tmp_path / "clouds.yaml"
    values = _vars(tmp_path)
    del values["cron_url"], values["cron_environment"]
    result = ansible.playbook(
        "playbooks/cron.yml",
        extra_vars=values,
        env=dict(env, CMDB_URL=url, OS_CLIENT_CONFIG_FILE=str(clouds_yaml)),
    )
    assert result.rc == 0, result.output
    assert "pw-marker" not in result.output
    text = (tmp_path / "job" / "due-sync.sh").read_text()
    assert "CMDB_URL=%s\n" % shlex.quote(url) in text
    assert "OS_CLIENT_CONFIG_FILE=%s\n" % shlex.quote(str(clouds_yaml)) in text
    collections = re.search(r"^ANSIBLE_COLLECTIONS_PATH=(.*)$", text, re.M)[1]
    assert shlex.split(collections)[0].split(":")[0] == COLLECTIONS_DIR  # where the role is installed, first
    _lines, line = _entry(tmp_path / "cron.d" / "cmdb-openstack-sync")
    assert "pw-marker" not in line and "pw-marker" not in (tmp_path / "cron.d" / "cmdb-openstack-sync").read_text()
    assert stat.S_IMODE((tmp_path / "job" / "due-sync.sh").stat().st_mode) == 0o700


def test_a_missing_ansible_playbook_is_refused_at_install(ansible, tmp_path, cron_env):
    env, _called = cron_env
    result = ansible.playbook(
        "playbooks/cron.yml", extra_vars=_vars(tmp_path, cron_ansible_playbook="/nonexistent/ansible-playbook"), env=env
    )
    assert result.rc != 0
    assert "cron_ansible_playbook=/nonexistent/ansible-playbook is not an executable file" in " ".join(
        result.output.split()
    )
