"""Processes killed with SIGKILL mid-write, overlapping runs, parallel slices and a database restart.

The invariant everywhere: the CMDB is whole (a scope is either untouched or completely applied), no
change-log row is lost or invented, and the next sync completes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
from conftest import MARKER_PASSWORD, query, recap, scope_rows, set_password, snapshot
from support.paths import COLLECTION_ROOT, COLLECTIONS_DIR

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import run_sync

R1 = "RegionOne"


def _sync_in_process(clouds_yaml, **params):
    saved = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(clouds_yaml)
    try:
        return run_sync(dict({"full_sync_interval": 0}, **params))
    finally:
        if saved is None:
            os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = saved


def _live_ids(url, cloud, region, rtype):
    return {
        row[0]
        for row in query(
            url,
            "SELECT id FROM resources WHERE cloud=:c AND region=:r AND type=:t AND deleted_at IS NULL",
            c=cloud,
            r=region,
            t=rtype,
        )
    }


def _actions(url, cloud, ids):
    """{resource id: [actions in order]} for ``ids``."""
    out = {rid: [] for rid in ids}
    for rid, action in query(url, "SELECT resource_id, action FROM changes WHERE cloud=:c ORDER BY id", c=cloud):
        if rid in out:
            out[rid].append(action)
    return out


def _descendants(pid):
    """Every descendant process of ``pid`` (from /proc), children first."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        todo.extend(children)
    return found


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _mutate_servers(cloud, renamed=12, deleted=3):
    store = cloud.store[R1]
    items = store.list("servers")
    for item in items[:renamed]:
        store.update("servers", item["id"], {"name": item["name"] + "-renamed"})
    for item in items[renamed : renamed + deleted]:
        store.delete("servers", item["id"])
    return [i["id"] for i in items[:renamed]], [i["id"] for i in items[renamed : renamed + deleted]]


def _assert_consistent_after_next_sync(url, cloud, renamed, deleted):
    """After the recovery sync: the CMDB equals the cloud; one change row per change, none lost or doubled."""
    assert _live_ids(url, cloud.name, R1, "servers") == {s["id"] for s in cloud.store[R1].list("servers")}
    actions = _actions(url, cloud.name, renamed + deleted)
    for rid in renamed:
        assert actions[rid] == ["created", "updated"], (rid, actions[rid])
    for rid in deleted:
        assert actions[rid] == ["created", "deleted"], (rid, actions[rid])
    assert query(url, "SELECT COUNT(*) FROM staging") == [(0,)]
    assert query(url, "SELECT COUNT(*) FROM locks") == [(0,)]
    assert query(url, "SELECT COUNT(*) FROM sync_runs WHERE status = 'running'") == [(0,)]


KILL_MID_APPLY = textwrap.dedent(
    """
    import os, signal, sys
    sys.path[:0] = [%(collections)r]
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import apply, sync
    apply.BATCH = 3  # several batches inside the one apply transaction
    original = apply.CmdbWriter._apply_batch
    calls = []

    def apply_batch_then_die(self, conn, run, *args):
        original(self, conn, run, *args)
        calls.append(run.type)
        if run.type == "servers" and calls.count("servers") == 2:
            print("killing myself in the middle of the servers apply", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    apply.CmdbWriter._apply_batch = apply_batch_then_die
    sync.run_sync({"cloud": %(cloud)r, "types": ["servers", "networks"], "cmdb_url": %(url)r,
                   "full_sync_interval": 0})
    print("not killed", flush=True)
    """
)


def test_sigkill_in_the_middle_of_the_apply_transaction(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="killme", regions=(R1,), seed=7, servers=20, projects=1)
    set_password(cloud)
    clouds_yaml = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(clouds_yaml))
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    first = _sync_in_process(clouds_yaml, cloud="killme", types=["servers", "networks"], cmdb_url=url)
    assert first["failed_scopes"] == 0
    renamed, deleted = _mutate_servers(cloud)
    before = snapshot(url)

    script = KILL_MID_APPLY % {"collections": COLLECTIONS_DIR, "cloud": "killme", "url": url}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_yaml)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert "killing myself" in proc.stdout

    after = snapshot(url)
    for table in ("resources", "relations", "changes"):
        assert scope_rows(after, table, "killme") == scope_rows(before, table, "killme"), table
    running = query(url, "SELECT id FROM sync_runs WHERE status = 'running'")
    assert running  # the killed run's bookkeeping is left for the next run to find
    assert query(url, "SELECT COUNT(*) FROM staging")[0][0] > 0  # its staged pages too

    done = ansible.module(
        "cmdb_sync",
        {"cloud": "killme", "types": ["servers", "networks"], "cmdb_url": url, "full_sync_interval": 0},
        env={"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)},
    )
    assert done.rc == 0, done.output
    assert "Traceback" not in done.output
    assert done.result["summary"]["servers"]["updated"] == len(renamed)
    assert done.result["summary"]["servers"]["deleted"] == len(deleted)
    aborted = query(url, "SELECT id, error FROM sync_runs WHERE status = 'aborted'")
    assert sorted(row[0] for row in aborted) == sorted(row[0] for row in running)
    assert all("killed" in row[1] for row in aborted)
    _assert_consistent_after_next_sync(url, cloud, renamed, deleted)


def test_sigkill_of_ansible_playbook_during_the_sync(ansible, os_simulator, tmp_path):
    """Kill the whole ansible-playbook process group while it is writing (staging rows exist)."""
    cloud = os_simulator.add_cloud(name="killpb", regions=(R1,), seed=8, servers=30, projects=1)
    set_password(cloud)
    clouds_yaml = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(clouds_yaml))
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    types = ["servers", "networks", "ports", "volumes"]
    assert _sync_in_process(clouds_yaml, cloud="killpb", types=types, cmdb_url=url)["failed_scopes"] == 0
    renamed, deleted = _mutate_servers(cloud)
    cloud.faults.add(kind="latency", service="block-storage", path="/volumes", delay=20)  # keeps the run alive
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "cmdb.openstack.cmdb_sync": {
                        "cloud": "killpb",
                        "types": types,
                        "cmdb_url": url,
                        "full_sync_interval": 0,
                    }
                }
            ],
        }
    ]
    path = tmp_path / "sync.yml"
    path.write_text(json.dumps(play))
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)],
        env=ansible.env({"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)}),
        cwd=COLLECTION_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    killed = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            applied = query(url, "SELECT COUNT(*) FROM sync_runs WHERE status = 'ok' AND type = 'servers'")[0][0]
            if applied >= 2:  # the servers listing of this run is applied; volumes still hang
                tree = _descendants(proc.pid)
                assert any("cmdb_sync" in _cmdline(pid) for pid in tree), [_cmdline(pid) for pid in tree]
                for pid in [proc.pid] + tree:  # the module runs in its own session: kill the whole tree
                    _kill(pid)
                killed = True
                break
            time.sleep(0.05)
    finally:
        if not killed:
            for pid in [proc.pid] + _descendants(proc.pid):
                _kill(pid)
        proc.communicate(timeout=30)
    assert killed, "the run finished before it could be killed"
    cloud.faults.clear()
    # what was applied is whole (servers), what was not is untouched (volumes): both are consistent
    assert _live_ids(url, "killpb", R1, "servers") == {s["id"] for s in cloud.store[R1].list("servers")}
    done = ansible.module(
        "cmdb_sync",
        {"cloud": "killpb", "types": types, "cmdb_url": url, "full_sync_interval": 0},
        env={"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)},
    )
    assert done.rc == 0, done.output
    assert all(s["status"] == "ok" for s in done.result["scopes"]), done.result["msg"]
    assert done.result["summary"]["servers"]["updated"] == 0  # already applied before the kill: not twice
    _assert_consistent_after_next_sync(url, cloud, renamed, deleted)


def test_two_overlapping_runs_of_one_cloud(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="twice", regions=(R1,), seed=9, servers=16, projects=1)
    set_password(cloud)
    clouds_yaml = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(clouds_yaml))
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    types = ["servers", "networks"]
    assert _sync_in_process(clouds_yaml, cloud="twice", types=types, cmdb_url=url)["failed_scopes"] == 0
    renamed, deleted = _mutate_servers(cloud, renamed=5, deleted=2)
    cloud.faults.add(kind="latency", service="compute", path="/servers/detail", delay=1.5, times=1)
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "cmdb.openstack.cmdb_sync": {
                        "cloud": "twice",
                        "types": types,
                        "cmdb_url": url,
                        "full_sync_interval": 0,
                    },
                    "register": "sync",
                },
                {"ansible.builtin.debug": {"msg": "RESULT {{ sync.scopes | to_json }}"}},
            ],
        }
    ]
    path = tmp_path / "sync.yml"
    path.write_text(json.dumps(play))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)]
    env = ansible.env({"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)})
    procs = [
        subprocess.Popen(cmd, env=env, cwd=COLLECTION_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _index in range(2)
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output
        assert "Traceback" not in output
    statuses = [row[0] for row in query(url, "SELECT status FROM sync_runs WHERE type = 'servers' ORDER BY id")]
    assert statuses[0] == "ok"  # the baseline
    assert set(statuses[1:]) <= {"ok", "superseded"} and len(statuses) == 3, statuses
    _assert_consistent_after_next_sync(url, cloud, renamed, deleted)


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.mark.postgres
def test_three_parallel_slices_on_postgresql_with_a_failing_account(ansible, os_simulator, tmp_path, postgres_url):
    """sync.yml sliced with --limit into three concurrent processes; one account's servers API is down."""
    from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings
    from ansible_collections.cmdb.openstack.plugins.module_utils.catalog import RESOURCE_TYPE_NAMES
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

    enabled = ("servers", "networks")
    clouds = {}
    for index in range(3):
        name = "slice%d" % index
        clouds[name] = os_simulator.add_cloud(name=name, regions=(R1,), seed=40 + index, servers=4, projects=1)
        set_password(clouds[name])
    store = open_store(postgres_url)
    try:
        for name, cloud in clouds.items():
            creds = cloud.credentials()
            creds.pop("password")  # registered without a secret; it comes at sync time
            accounts.ensure_account(
                store,
                name,
                connection=account_settings.build_connection(auth=creds, auth_type="password"),
                regions=[R1],
                resources={t: {"enabled": t in enabled} for t in RESOURCE_TYPE_NAMES},
            )
    finally:
        store.close()
    secrets = {name: {"password": MARKER_PASSWORD} for name in clouds}
    env = {"CMDB_URL": postgres_url}
    base = ansible.playbook(
        "playbooks/sync.yml",
        "--forks",
        "3",
        inventory=os.path.join(COLLECTION_ROOT, "playbooks", "inventory", "openstack_clouds.yml"),
        extra_vars={"cmdb_account_secrets": secrets},
        env=env,
    )
    assert base.rc == 0, base.output[-3000:]
    for cloud in clouds.values():
        cloud.store[R1].delete("servers", cloud.store[R1].list("servers")[0]["id"])
    clouds["slice1"].faults.add(kind="status", status=503, service="compute", path="/servers/detail")
    before = snapshot(postgres_url)

    vars_file = tmp_path / "secrets.json"
    vars_file.write_text(json.dumps({"cmdb_account_secrets": secrets, "force": True}))
    inventory = os.path.join(COLLECTION_ROOT, "playbooks", "inventory", "openstack_clouds.yml")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/sync.yml", "-i", inventory]
    procs = [
        subprocess.Popen(
            cmd + ["-e", "@%s" % vars_file, "--limit", "openstack_clouds[%d]" % index],
            env=ansible.env(env),
            cwd=COLLECTION_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for index in range(3)
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    hosts = {}
    for proc, output in zip(procs, outputs):
        assert "Traceback" not in output and MARKER_PASSWORD not in output
        part = recap(output)
        assert len(part) == 1, output
        hosts.update(part)
        # the slice whose servers API fails: applied what it could, then failed the host (issue 17)
        assert proc.returncode == (2 if "slice1/RegionOne/servers error" in output else 0), output
    assert len(hosts) == 3
    failed_hosts = [h for h, r in hosts.items() if r["failed"]]
    assert len(failed_hosts) == 1 and failed_hosts[0].startswith("slice1"), hosts
    failing = [o for o in outputs if "slice1/RegionOne/servers error" in o]
    assert len(failing) == 1 and "HTTP 503" in failing[0]
    after = snapshot(postgres_url)
    for table in ("resources", "relations", "changes"):
        assert scope_rows(after, table, "slice1", R1, "servers") == scope_rows(before, table, "slice1", R1, "servers")
    for name in ("slice0", "slice2"):
        assert _live_ids(postgres_url, name, R1, "servers") == {s["id"] for s in clouds[name].store[R1].list("servers")}
    assert MARKER_PASSWORD not in json.dumps(after, default=str)
    assert query(postgres_url, "SELECT COUNT(*) FROM sync_runs WHERE status = 'running'") == [(0,)]


def _pg_bin():
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


class PrivatePostgres:
    """A throw-away PostgreSQL server in a temporary directory, on a free port (never the shared one)."""

    def __init__(self, bindir, base):
        import socket

        self.bindir = bindir
        self.base = base
        self.data = os.path.join(base, "data")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = "postgresql+psycopg://postgres@127.0.0.1:%d/postgres" % self.port
        self._as = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(base, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args):
        done = subprocess.run(self._as + list(args), capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def init(self):
        self._run(os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")
        return self

    def _ctl(self, action):
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.base)
        log = os.path.join(self.base, "server.log")
        self._run(
            os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", log, "-o", opts, "-w", "-m", "fast", action
        )

    def start(self):
        self._ctl("start")

    def restart(self):
        self._ctl("restart")

    def stop(self):
        subprocess.run(
            self._as + [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def private_postgres():
    bindir = _pg_bin()
    if not bindir or not os.path.exists(os.path.join(bindir, "initdb")):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and the PostgreSQL server binaries (initdb, pg_ctl) are missing")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin")
    base = tempfile.mkdtemp(prefix="cmdb-private-pg-")  # not under pytest's root-only tmp dir
    try:
        server = PrivatePostgres(bindir, base).init()
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.postgres
def test_postgresql_restart_during_a_sync(ansible, os_simulator, tmp_path, private_postgres):
    cloud = os_simulator.add_cloud(name="pgrestart", regions=(R1,), seed=11, servers=12, projects=1)
    set_password(cloud)
    clouds_yaml = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(clouds_yaml))
    url = private_postgres.url
    types = ["servers", "networks", "volumes"]
    assert _sync_in_process(clouds_yaml, cloud="pgrestart", types=types, cmdb_url=url)["failed_scopes"] == 0
    renamed, deleted = _mutate_servers(cloud, renamed=4, deleted=2)
    cloud.faults.add(kind="latency", service="compute", path="/servers/detail", delay=4, times=1)
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "cmdb.openstack.cmdb_sync": {
                        "cloud": "pgrestart",
                        "types": types,
                        "cmdb_url": url,
                        "full_sync_interval": 0,
                    }
                }
            ],
        }
    ]
    path = tmp_path / "sync.yml"
    path.write_text(json.dumps(play))
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)],
        env=ansible.env({"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)}),
        cwd=COLLECTION_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if query(url, "SELECT COUNT(*) FROM sync_runs WHERE status = 'running' AND type = 'servers'")[0][0]:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sync finished before the restart"
    private_postgres.restart()  # the servers listing is still waiting on the slow API
    output = proc.communicate(timeout=120)[0]
    assert "Traceback" not in output
    if proc.returncode != 0:
        # a clear message naming the database (its password hidden), and nothing half-applied
        assert "the CMDB at postgresql+psycopg://postgres@127.0.0.1:%d/postgres" % private_postgres.port in output
    done = ansible.module(
        "cmdb_sync",
        {"cloud": "pgrestart", "types": types, "cmdb_url": url, "full_sync_interval": 0},
        env={"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)},
    )
    assert done.rc == 0, done.output
    assert all(s["status"] == "ok" for s in done.result["scopes"]), done.result["msg"]
    _assert_consistent_after_next_sync(url, cloud, renamed, deleted)
