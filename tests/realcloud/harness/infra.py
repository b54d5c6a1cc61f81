"""The machine's own MariaDB and RabbitMQ (started and configured when needed), our databases and vhost."""

from __future__ import annotations

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
