"""The cloud's lifecycle: up (install, configure, db sync, start, wait healthy, seed), down, status."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import fcntl
import itertools
import os
import shutil
import subprocess
import time
import uuid

from . import catalog, config, configure, infra, install, processes, services
from .util import HarnessError, Phases, run, say

DATA_DIRS = ["keystone", "glance", "nova", "neutron", "cinder", "octavia", "placement"]


@contextlib.contextmanager
def _locked(layout):
    """One up or down at a time per state dir (two test sessions started together share one cloud)."""
    os.makedirs(layout.root, exist_ok=True)
    with open(os.path.join(layout.root, ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def status(layout):
    """{service name: (pid or None, healthy bool)}"""
    out = {}
    for svc in services.definitions(layout):
        pid = processes.running_pid(layout.pidfile(svc.name))
        healthy = pid is not None and (svc.port is None or services.http_ok(svc.health_url()))
        out[svc.name] = (pid, healthy)
    return out


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def is_ready(layout):
    """The last up completed its start for the current database generation."""
    marker = _read(layout.ready)
    return bool(marker) and marker == _read(layout.generation)


def is_healthy(layout):
    if not is_ready(layout):
        return False
    states = status(layout)
    return bool(states) and all(healthy for _pid, healthy in states.values())


def down(layout):
    with _locked(layout):
        return _down(layout)


def _down(layout):
    if os.path.exists(layout.ready):
        os.unlink(layout.ready)
    names = {layout.pidfile(svc.name): svc.name for svc in services.definitions(layout)}
    return [names[path] for path in processes.stop_many(list(names))]


def _manage(layout, service, args, step):
    run([layout.bin(args[0]), *args[1:]], step, service, layout.log("%s-manage" % service), timeout=600)


def _map_compute_hosts(layout, hosts, deadline):
    """``cell_v2 discover_hosts`` until ``cell_v2 list_hosts`` names every compute host: run once
    before nova-compute has written its compute node record, it maps nothing, and every server
    then goes to ERROR (HostMappingNotFound)."""
    conf = ["--config-file", os.path.join(layout.etc, "nova", "nova.conf")]
    for attempt in itertools.count(1):
        _manage(layout, "nova", ["nova-manage", *conf, "cell_v2", "discover_hosts"], "cell_v2 discover_hosts")
        listed = subprocess.run(
            [layout.bin("nova-manage"), *conf, "cell_v2", "list_hosts"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        unmapped = [host for host in hosts if host not in listed.stdout.split()]
        if not unmapped:
            say("compute host(s) %s mapped to a cell (discover_hosts run %d time(s))" % (", ".join(hosts), attempt))
            return
        if time.monotonic() > deadline:
            raise HarnessError(
                "wait healthy",
                "nova-compute",
                layout.log("nova-manage"),
                "compute host(s) %s not mapped to a cell by discover_hosts" % ", ".join(unmapped),
            )
        time.sleep(1)


def _key_repositories(layout):
    """What keystone-manage fernet_setup and credential_setup write (two processes saved: ~10 s of CPU
    each): a key repository holding a staged key "0" and a primary key "1", Fernet keys, mode 0600."""
    for name in ("fernet-keys", "credential-keys"):
        repo = os.path.join(layout.data, "keystone", name)
        os.makedirs(repo, mode=0o700, exist_ok=True)
        for index in ("0", "1"):
            fd = os.open(os.path.join(repo, index), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.urlsafe_b64encode(os.urandom(32)))


def _sync_keystone(layout, secrets):
    conf = ["--config-file", os.path.join(layout.etc, "keystone", "keystone.conf")]
    _manage(layout, "keystone", ["keystone-manage", *conf, "db_sync"], "db sync")
    url = configure.keystone_url() + "/v3"
    _manage(
        layout,
        "keystone",
        ["keystone-manage", *conf, "bootstrap", "--bootstrap-password", secrets["admin"]]
        + ["--bootstrap-admin-url", url, "--bootstrap-public-url", url, "--bootstrap-internal-url", url]
        + ["--bootstrap-region-id", config.REGION],
        "bootstrap",
    )


def _sync_nova(layout, secrets):
    conf = ["--config-file", os.path.join(layout.etc, "nova", "nova.conf")]
    _manage(layout, "nova", ["nova-manage", *conf, "api_db", "sync"], "api_db sync")
    _manage(
        layout,
        "nova",
        [
            "nova-manage",
            *conf,
            "cell_v2",
            "map_cell0",
            "--database_connection",
            configure.db_url(secrets, "nova_cell0"),
        ],
        "cell_v2 map_cell0",
    )
    _manage(layout, "nova", ["nova-manage", *conf, "cell_v2", "create_cell", "--name", "cell1"], "cell_v2 create_cell")
    _manage(layout, "nova", ["nova-manage", *conf, "db", "sync"], "db sync")


def _db_syncs(layout, secrets):
    etc = layout.etc
    return [
        lambda: _sync_keystone(layout, secrets),
        lambda: _sync_nova(layout, secrets),
        lambda: _manage(
            layout,
            "neutron",
            ["neutron-db-manage", "--config-file", os.path.join(etc, "neutron", "neutron.conf")]
            + ["--config-file", os.path.join(etc, "neutron", "ml2_conf.ini"), "upgrade", "heads"],
            "db sync",
        ),
        lambda: _manage(
            layout,
            "cinder",
            ["cinder-manage", "--config-file", os.path.join(etc, "cinder", "cinder.conf"), "db", "sync"],
            "db sync",
        ),
        lambda: _manage(
            layout,
            "glance",
            ["glance-manage", "--config-file", os.path.join(etc, "glance", "glance-api.conf"), "db_sync"],
            "db sync",
        ),
        lambda: _manage(
            layout,
            "placement",
            ["placement-manage", "--config-file", os.path.join(etc, "placement", "placement.conf"), "db", "sync"],
            "db sync",
        ),
        lambda: _manage(
            layout,
            "octavia",
            ["octavia-db-manage", "--config-file", os.path.join(etc, "octavia", "octavia.conf"), "upgrade", "head"],
            "db sync",
        ),
    ]


def _fresh_data(layout):
    """New database generation: empty data dirs, a pinned nova-compute identity, no seed marker."""
    for name in DATA_DIRS:
        shutil.rmtree(os.path.join(layout.data, name), ignore_errors=True)
        os.makedirs(os.path.join(layout.data, name, "locks"), exist_ok=True)
    # FakeDriverWithoutFakeNodes invents a node UUID per start and nova-compute then refuses to
    # start a second time: pin it (nova reads <state_path>/compute_id).
    with open(os.path.join(layout.data, "nova", "compute_id"), "w") as handle:
        handle.write(str(uuid.uuid4()))
    _key_repositories(layout)
    for path in (layout.seed_marker, layout.seed_json):
        if os.path.exists(path):
            os.unlink(path)
    with open(layout.generation, "w") as handle:
        handle.write("%s %s\n" % (uuid.uuid4(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))


def _start(layout, svc):
    env = dict(os.environ, **svc.env)
    for key in list(env):
        if key.startswith(("OS_", "VIRTUAL_ENV", "PYTHON")) and key not in svc.env:
            del env[key]  # the caller's OS_CLOUD, OS_AUTH_URL or PYTHONPATH must not reach the services
    processes.start(svc.name, svc.argv, layout.pidfile(svc.name), layout.log(svc.name), env=env, cwd=layout.data)


def _wait_http(layout, svc, deadline):
    while time.monotonic() < deadline:
        if processes.running_pid(layout.pidfile(svc.name)) is None:
            raise HarnessError("start", svc.name, layout.log(svc.name), "the process exited")
        if services.http_ok(svc.health_url()):
            return
        time.sleep(0.5)
    raise HarnessError("wait healthy", svc.name, layout.log(svc.name), "no answer at %s" % svc.health_url())


def _check_alive(layout, defs):
    for svc in defs:
        if processes.running_pid(layout.pidfile(svc.name)) is None:
            raise HarnessError("start", svc.name, layout.log(svc.name), "the process exited")


def up(layout, phases=None, seed=True, timeout=600):
    """Brings the cloud up; a no-op (health check only) when it already runs healthy.

    Returns True when it started the services, False when they were already running.
    """
    with _locked(layout):
        return _up(layout, phases or Phases(), seed, timeout)


def _up(layout, phases, seed, timeout):
    layout.ensure()
    secrets = config.load_secrets(layout)
    started = False
    if is_healthy(layout) and install.venv_is_current(layout):
        say("cloud already running and healthy (%s)" % layout.root)
    else:
        stale = _down(layout)
        if stale:
            say("stopped what was left running: %s" % ", ".join(stale))
        with phases.phase("install"):
            missing = install.ensure_debian_packages(layout)
            if missing:
                say("installed Debian packages: %s" % ", ".join(missing))
            install.ensure_venv(layout)
            infra.ensure_running(layout)
            configure.render(layout, secrets)
            services.write_wsgi_wrappers(layout)
        defs = services.definitions(layout)
        with phases.phase("db sync"):
            _fresh_data(layout)
            infra.recreate_databases(layout, secrets)
            infra.reset_vhost(layout, secrets)
            snapshot = infra.schema_snapshot(layout, secrets, install.stamp_value())
            if os.path.exists(snapshot):
                # The databases exactly as the syncs below left them last time: minutes of CPU saved.
                infra.restore_databases(layout, snapshot)
                say("databases restored from the post-sync snapshot %s" % snapshot)
            else:
                with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
                    for future in [pool.submit(job) for job in _db_syncs(layout, secrets)]:
                        future.result()
                infra.save_databases(layout, snapshot)
        deadline = time.monotonic() + timeout
        with phases.phase("start"):
            for svc in defs[:2]:  # memcached, keystone
                _start(layout, svc)
            _wait_http(layout, defs[1], deadline)
            catalog.register(layout, secrets)
            for svc in defs[2:]:
                _start(layout, svc)
        with phases.phase("wait-healthy"):
            for svc in defs:
                if svc.port:
                    _wait_http(layout, svc, deadline)
            hosts = catalog.wait_compute_and_volume(layout, secrets, deadline, lambda: _check_alive(layout, defs))
            _map_compute_hosts(layout, hosts, deadline)
        with open(layout.ready, "w") as handle:
            handle.write(_read(layout.generation))
        started = True
    if seed:
        from . import seed as seeding

        with phases.phase("seed"):
            seeding.seed(layout, secrets)
    return started
