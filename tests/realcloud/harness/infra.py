"""The machine's own MariaDB and RabbitMQ (started and configured when needed), our databases and vhost."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time

from . import config
from .util import HarnessError, run, say


def _mysql(sql, layout, step):
    client = shutil.which("mariadb") or shutil.which("mysql") or "mysql"
    return run(
        [client, "-uroot", "-h", config.HOST, "-P", "3306", "-N", "-e", sql], step, "mariadb", layout.log("mariadb")
    )


def _service_start(name, layout):
    """Starts a Debian service through its init script (works with and without systemd)."""
    say("starting %s (it was not running)" % name)
    if shutil.which("systemctl") and os.path.isdir("/run/systemd/system"):
        run(["systemctl", "start", name], "start %s" % name, name, layout.log(name))
    else:
        run(["service", name, "start"], "start %s" % name, name, layout.log(name))


def _mariadb_up():
    client = shutil.which("mariadb-admin") or shutil.which("mysqladmin") or "mysqladmin"
    return (
        subprocess.run([client, "-uroot", "-h", config.HOST, "ping"], capture_output=True, check=False).returncode == 0
    )


def _rabbit_up():
    return subprocess.run(["rabbitmqctl", "-q", "status"], capture_output=True, check=False).returncode == 0


def ensure_running(layout):
    if not _mariadb_up():
        _service_start("mariadb", layout)
        _wait(_mariadb_up, "mariadb", layout, 60)
    if not _rabbit_up():
        _service_start("rabbitmq-server", layout)
        _wait(_rabbit_up, "rabbitmq-server", layout, 120)


def _wait(check, name, layout, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise HarnessError("wait for %s" % name, name, layout.log(name), "not answering after %d s" % timeout)


def recreate_databases(layout, secrets):
    """Drops and creates our databases (rc_*) and (re)creates our DB user with the current password."""
    pw = secrets["db"].replace("'", "")
    stmts = []
    for host in ("127.0.0.1", "localhost"):
        user = "'%s'@'%s'" % (config.DB_USER, host)
        stmts += [
            "CREATE USER IF NOT EXISTS %s IDENTIFIED BY '%s'" % (user, pw),
            "ALTER USER %s IDENTIFIED BY '%s'" % (user, pw),
            "GRANT ALL PRIVILEGES ON `%s%%`.* TO %s" % (config.DB_PREFIX.replace("_", "\\_"), user),
        ]
    for name in config.DATABASES:
        db = config.DB_PREFIX + name
        stmts += ["DROP DATABASE IF EXISTS `%s`" % db, "CREATE DATABASE `%s`" % db]
    _mysql("; ".join(stmts) + ";", layout, "recreate databases")


def reset_vhost(layout, secrets):
    """A fresh vhost (no messages left from an earlier run) and our user with rights on it only."""
    log = layout.log("rabbitmq")
    users = run(["rabbitmqctl", "-q", "list_users"], "list rabbitmq users", "rabbitmq", None)
    if any(line.split("\t")[0] == config.MQ_USER for line in users.splitlines()):
        run(["rabbitmqctl", "change_password", config.MQ_USER, secrets["mq"]], "rabbitmq user", "rabbitmq", log)
    else:
        run(["rabbitmqctl", "add_user", config.MQ_USER, secrets["mq"]], "rabbitmq user", "rabbitmq", log)
    vhosts = run(["rabbitmqctl", "-q", "list_vhosts"], "list rabbitmq vhosts", "rabbitmq", None)
    if config.MQ_VHOST in [line.strip() for line in vhosts.splitlines()]:
        run(["rabbitmqctl", "delete_vhost", config.MQ_VHOST], "rabbitmq vhost", "rabbitmq", log)
    run(["rabbitmqctl", "add_vhost", config.MQ_VHOST], "rabbitmq vhost", "rabbitmq", log)
    run(
        ["rabbitmqctl", "set_permissions", "-p", config.MQ_VHOST, config.MQ_USER, ".*", ".*", ".*"],
        "rabbitmq permissions",
        "rabbitmq",
        log,
    )
    # oslo.messaging declares the shared notification queues on every send and nobody consumes
    # them (the event source binds its own durable queue): bound them.
    run(
        ["rabbitmqctl", "set_policy", "-p", config.MQ_VHOST, "--apply-to", "queues", "cmdb-rc-notifications"]
        + [r"^(versioned_)?notifications\.", '{"max-length": 10000}'],
        "rabbitmq policy",
        "rabbitmq",
        log,
    )


def schema_snapshot(layout, secrets, venv_stamp):
    """Path of the dump of our databases right after the syncs, for this venv and these passwords.

    Nova's cell mappings hold the database and RabbitMQ URLs (with passwords), so the passwords are
    part of the key; the venv stamp covers the schema versions.
    Restoring it gives the very databases the syncs make (fresh, empty), without their minutes of CPU.
    """
    digest = hashlib.sha256((venv_stamp + json.dumps(secrets, sort_keys=True)).encode())
    # ... and the harness itself (ports and URLs written by keystone-manage bootstrap, templates).
    for base, dirs, files in os.walk(config.HERE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".conf", ".ini")):
                with open(os.path.join(base, name), "rb") as handle:
                    digest.update(name.encode() + handle.read())
    key = digest.hexdigest()[:16]
    return os.path.join(layout.root, "dbcache", "schema-%s.sql" % key)


def _dump_tool():
    return shutil.which("mariadb-dump") or shutil.which("mysqldump") or "mysqldump"


def save_databases(layout, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for old in os.listdir(os.path.dirname(path)):
        os.unlink(os.path.join(os.path.dirname(path), old))  # one snapshot: older keys are stale
    tmp = path + ".tmp"
    databases = [config.DB_PREFIX + name for name in config.DATABASES]
    cmd = [_dump_tool(), "-uroot", "-h", config.HOST, "--add-drop-database", "--routines", "--databases", *databases]
    with open(tmp, "wb") as out, open(layout.log("mariadb"), "ab") as log:
        proc = subprocess.run(cmd, stdout=out, stderr=log, check=False)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise HarnessError("save database snapshot", "mariadb", layout.log("mariadb"), "exit %d" % proc.returncode)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def restore_databases(layout, path):
    client = shutil.which("mariadb") or shutil.which("mysql") or "mysql"
    with open(path, "rb") as dump, open(layout.log("mariadb"), "ab") as log:
        proc = subprocess.run([client, "-uroot", "-h", config.HOST], stdin=dump, stdout=log, stderr=log, check=False)
    if proc.returncode != 0:
        os.unlink(path)  # a snapshot that does not load is dropped: the next run syncs again
        raise HarnessError("restore database snapshot", "mariadb", layout.log("mariadb"), "exit %d" % proc.returncode)
