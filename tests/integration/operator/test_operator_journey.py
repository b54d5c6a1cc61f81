"""The operator's path, as README.md's "A minimal production set-up" writes it, from the installed collection.

The test builds the collection tarball, then runs the shell blocks of that README section, read from README.md (so
the two cannot drift), in one bash process with a fresh HOME: a new virtualenv (``pip install`` from the package
index, fast through pip's cache), the tarball installed into the default collections path of that HOME, then
register, permissions, sync, cron and inventory against the simulator. The only substitution is the documented
placeholder ``cmdb-openstack-<version>.tar.gz``; the clouds.yaml sits where the README says
(``~/.config/openstack/clouds.yaml``). The account may not list load balancers (HTTP 403), as happens in real clouds.

Then the crontab entry the cron step installed is run the way cron runs it (``env -i HOME=... PATH=/usr/bin:/bin``):
it must sync, and when it cannot (no CMDB, no collection, no cloud) it must exit non-zero and append one log line
naming the cause; the log is rotated. No command may print a Python warning.

``crontab`` is replaced by a small stand-in on PATH that keeps the user's crontab in a file of the test (this machine
may have no cron, and the test must not touch a real crontab).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest
import yaml
from support.paths import COLLECTION_ROOT

pytestmark = pytest.mark.slow

SECTION = "## A minimal production set-up"
PLACEHOLDER = "cmdb-openstack-<version>.tar.gz"
WARNING_RE = re.compile(r"\w*Warning: |DeprecationWarning|\[DEPRECATION WARNING\]")

CRONTAB_SHIM = """#!/bin/sh
# A stand-in for crontab(1): the user's crontab is the file %(store)s.
if [ "${1:-}" = "-u" ]; then shift 2; fi
case "${1:-}" in
  -l) if [ -f %(store)s ]; then cat %(store)s; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -r) rm -f %(store)s ;;
  -) cat > %(store)s ;;
  *) cat "$1" > %(store)s ;;
esac
"""


def readme_blocks():
    """The ```bash blocks of the README's production section, in order."""
    with open(os.path.join(COLLECTION_ROOT, "README.md")) as handle:
        text = handle.read()
    assert SECTION in text
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```bash\n(.*?)^```$", section, re.S | re.M)
    assert len(blocks) >= 3, section
    return blocks


def test_the_readme_section_has_the_five_steps():
    script = "\n".join(readme_blocks())
    for step in ("cmdb.openstack.register", "cmdb.openstack.permissions", "cmdb.openstack.sync", "cmdb.openstack.cron"):
        assert re.search(r"^ansible-playbook %s\b" % re.escape(step), script, re.M), step
    assert re.search(r"^ansible-inventory -i \S+ --graph", script, re.M)
    assert "playbooks/" not in script.replace("playbooks/vars", "")  # no path of the git checkout
    assert script.count(PLACEHOLDER) == 1
    # The versions the README installs before the collection are the pinned ones
    # (requirements.txt, tests/requirements.txt; ansible-core: a cell of tests/matrix.txt).
    pins = {}
    for name in ("requirements.txt", os.path.join("tests", "requirements.txt")):
        with open(os.path.join(COLLECTION_ROOT, name)) as handle:
            pins.update(re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", handle.read(), re.M))
    with open(os.path.join(COLLECTION_ROOT, "tests", "matrix.txt")) as handle:
        core_versions = re.findall(r"^2\.\d+\s+(\S+)", handle.read(), re.M)
    installs = re.findall(r"^pip install ((?:[A-Za-z0-9_.-]+==\S+ ?)+)", script, re.M)
    assert installs, script
    for requirement in installs[0].split():
        package, version = requirement.split("==")
        if package == "ansible-core":  # a cell of the support matrix (tests/matrix.txt)
            assert version in core_versions, (requirement, core_versions)
        else:
            assert pins.get(package) == version, (requirement, pins.get(package))
    assert "due-sync.log" in open(os.path.join(COLLECTION_ROOT, "README.md")).read().split(SECTION, 1)[1]


def _run(args, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False, **kwargs)
    assert proc.returncode == 0, (args, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


def _query(db, sql):
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def _log_lines(log):
    return log.read_text().splitlines() if log.exists() else []


def _no_python_warning(text, what):
    found = [line for line in text.splitlines() if WARNING_RE.search(line)]
    assert not found, "%s printed a warning: %s" % (what, found[:5])


def test_operator_journey_from_the_installed_collection(tmp_path, os_simulator):
    # The release tarball, built from this checkout.
    dist = tmp_path / "dist"
    _run(
        [
            os.path.join(os.path.dirname(sys.executable), "ansible-galaxy"),
            "collection",
            "build",
            "--output-path",
            str(dist),
        ],
        cwd=COLLECTION_ROOT,
    )
    (tarball,) = dist.glob("cmdb-openstack-*.tar.gz")

    # A fresh HOME: no virtualenv, no collection, no CMDB; the clouds.yaml where the README says.
    home = tmp_path / "home"
    clouds_yaml = home / ".config" / "openstack" / "clouds.yaml"
    clouds_yaml.parent.mkdir(parents=True)
    cloud = os_simulator.add_cloud(name="prod", regions=("RegionOne",), seed=7, servers=3, projects=1)
    user = cloud.add_user("cmdb", project=cloud.admin_project["id"], roles=("reader", "admin"))
    os_simulator.write_clouds_yaml(str(clouds_yaml), {"prod": cloud.clouds_yaml_entry(user="cmdb")})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    crontab = tmp_path / "crontab.txt"
    (bin_dir / "crontab").write_text(CRONTAB_SHIM % {"store": crontab})
    (bin_dir / "crontab").chmod(0o755)

    env = {
        key: value
        for key, value in os.environ.items()
        if key.startswith("PIP_") or key in ("LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")
    }
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join(
            [str(bin_dir), os.path.join(sys.base_prefix, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR") or os.path.expanduser("~/.cache/pip"),
    )
    script = "set -euxo pipefail\n" + "\n".join(readme_blocks()).replace(PLACEHOLDER, str(tarball))
    journey = subprocess.run(
        ["bash", "-c", script], cwd=home, env=env, capture_output=True, text=True, timeout=1500, check=False
    )
    output = journey.stdout + journey.stderr
    assert journey.returncode == 0, output[-8000:]
    _no_python_warning(output, "the README's commands")

    # Installed, not the checkout: the collection comes from HOME's default collections path.
    installed = home / ".ansible" / "collections" / "ansible_collections" / "cmdb" / "openstack"
    assert (installed / "MANIFEST.json").is_file()
    assert not (installed / "simulator").exists()

    # permissions: the report lists each type and what the account may do.
    assert re.search(r"servers .*allowed", output), output[-6000:]

    # sync: the CMDB (where the README put it) holds the cloud's servers; the inventory shows them.
    db = home / "cmdb" / "cmdb.sqlite"
    servers = sorted(
        row[0] for row in _query(db, "SELECT name FROM resources WHERE type = 'servers' AND deleted_at IS NULL")
    )
    assert len(servers) == 3, servers
    assert _query(db, "SELECT count(*) FROM resources WHERE type = 'networks'")[0][0] > 0
    graph = journey.stdout.rsplit("PLAY RECAP", 1)[1]  # stdout after the cron step's play: the inventory graph
    assert "@all:" in graph, graph[-3000:]
    for name in servers:
        assert name in graph, (name, graph[-3000:])

    # cron: one entry in the user's crontab; the CMDB URL is in the 0700 script, not in the crontab.
    entries = [line for line in crontab.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(entries) == 1, crontab.read_text()
    fields = entries[0].split(None, 5)
    assert fields[:5] == ["*"] * 5
    command = fields[5]
    job = home / "cmdb"
    log = job / "due-sync.log"
    assert command == "flock -n %s %s >> %s 2>&1" % (job / "due-sync.lock", job / "due-sync.sh", log)
    assert "sqlite" not in entries[0]
    assert oct((job / "due-sync.sh").stat().st_mode & 0o777) == "0o700"
    assert oct(job.stat().st_mode & 0o777) == "0o700"

    def cron_run():
        """The entry as cron runs it: only HOME and PATH."""
        before = _log_lines(log)
        proc = subprocess.run(
            ["env", "-i", "HOME=%s" % home, "PATH=/usr/bin:/bin", "sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        after = _log_lines(log)
        assert after[: len(before)] == before or len(after) == 1  # appended (or a fresh log after rotation)
        new = after[len(before) :] if after[: len(before)] == before and len(after) > len(before) else after
        assert len(new) == 1, (before[-3:], after[-3:])
        last_run = (job / "last-run.out").read_text() if (job / "last-run.out").exists() else ""
        _no_python_warning(proc.stdout + proc.stderr + last_run, "the cron entry")
        return proc.returncode, new[0], last_run

    # Make everything due again (as if the intervals had passed), and take the load balancers away from the
    # account (HTTP 403 from now on): the entry's run must sync (new ok runs) and warn about that type.
    user["denied_services"] = ["load-balancer"]
    _query_write(db, "UPDATE sync_runs SET started_at = '2000-01-01 00:00:00', finished_at = '2000-01-01 00:00:01'")
    runs_before = _query(db, "SELECT count(*) FROM sync_runs WHERE status = 'ok'")[0][0]
    rc, line, last_run = cron_run()
    assert rc == 0, (line, last_run[-4000:])
    # The forbidden type is a warning that names it and what to do, not a failure of every run.
    assert line.split(" ", 1)[1].startswith("WARNING: "), line
    assert "prod/RegionOne/load_balancers" in line and "load_balancers: {enabled: false}" in line, line
    assert re.search(r"WARNING: [1-9]\d* scopes synced", line), line
    assert _query(db, "SELECT count(*) FROM sync_runs WHERE status = 'ok'")[0][0] > runs_before

    # Broken: no CMDB at the captured URL (a wrong URL or a lost file) -> non-zero, one line naming it.
    shutil.move(str(db), str(db) + ".away")
    rc, line, _output = cron_run()
    shutil.move(str(db) + ".away", str(db))
    assert rc != 0
    assert " FAILED rc=" in line and "there is no CMDB at sqlite:///%s" % db in line, line

    # Broken: the collection was removed -> non-zero, one line naming it.
    moved = tmp_path / "collection-away"
    shutil.move(str(installed), str(moved))
    rc, line, _output = cron_run()
    shutil.move(str(moved), str(installed))
    assert rc != 0
    assert "FAILED rc=3: the collection cmdb.openstack is not installed" in line, line

    # Rotation: a log over 256 KiB becomes due-sync.log.1 before the run writes its line.
    filler = "x" * 1023 + "\n"
    log.write_text(filler * 257)
    rc, line, _output = cron_run()
    assert rc == 0, line
    assert (job / "due-sync.log.1").read_text() == filler * 257
    assert len(_log_lines(log)) == 1
    for _round in range(4):  # keeps 3 old files
        log.write_text(filler * 257)
        cron_run()
    assert sorted(p.name for p in job.glob("due-sync.log*")) == [
        "due-sync.log",
        "due-sync.log.1",
        "due-sync.log.2",
        "due-sync.log.3",
    ]

    # Broken: the cloud is gone (the simulator stops) -> non-zero, one line naming the failing host.
    _query_write(db, "UPDATE sync_runs SET started_at = '2000-01-01 00:00:00', finished_at = '2000-01-01 00:00:01'")
    os_simulator.stop()
    rc, line, last_run = cron_run()
    assert rc != 0, last_run[-3000:]
    assert " FAILED" in line and "prod" in line, line


def _query_write(db, sql):
    connection = sqlite3.connect(db)
    try:
        connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


def test_accounts_file_of_the_readme_is_valid_yaml():
    script = "\n".join(readme_blocks())
    match = re.search(r"cat > accounts.yml <<'EOF'\n(.*?)\nEOF\n", script, re.S)
    assert match, script
    accounts = yaml.safe_load(match.group(1))["cmdb_accounts"]
    assert [account["name"] for account in accounts] == ["prod"]
