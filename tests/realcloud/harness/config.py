"""Where the harness keeps its state, which ports it uses, and the switches (environment variables)."""

from __future__ import annotations

import json
import os
import secrets

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
REGION = "RegionOne"

# One block of non-default ports (19xxx): nothing here clashes with the machine's own services
# (PostgreSQL 5432, MariaDB 3306, RabbitMQ 5672, Redis 6379, NATS 4222, MQTT 1883, 8000).
PORTS = {
    "memcached": 19211,
    "keystone": 19500,
    "glance": 19292,
    "placement": 19778,
    "nova": 19774,
    "neutron": 19696,
    "cinder": 19776,
    "octavia": 19876,
}

# Versions that work together (measured): the services themselves; their libraries come from the
# pinned 2026.1 upper-constraints beside this file.
SERVICE_PACKAGES = [
    "keystone==29.1.0",
    "glance==32.0.0",
    "neutron==28.0.2",
    "cinder==28.0.0",
    "nova==33.0.2",
    "openstack-placement==15.0.0",
    "octavia==18.0.1",
    "gunicorn",
    "PyMySQL",
    "python-memcached",
    "pymemcache",
]
UPPER_CONSTRAINTS = os.path.join(HERE, "upper-constraints-2026.1.txt")
FAKE_MECH_DIR = os.path.join(HERE, "neutron_fake_mech")
SERVICE_PYTHON = os.environ.get("CMDB_REALCLOUD_PYTHON", "python3.11")

DB_PREFIX = "rc_"
DATABASES = ["keystone", "glance", "placement", "nova_api", "nova", "nova_cell0", "neutron", "cinder", "octavia"]
DB_USER = "cmdb_rc"
MQ_VHOST = "cmdb_rc"
MQ_USER = "cmdb_rc"

ADMIN_USER = "admin"
MEMBER_USER = "rc-member"
CLOUD_ADMIN = "realcloud-admin"
CLOUD_MEMBER = "realcloud-member"
CLOUD_BETA_ADMIN = "realcloud-beta-admin"


def state_dir():
    return os.path.abspath(
        os.path.expanduser(os.environ.get("CMDB_REALCLOUD_DIR") or "~/.cache/cmdb-openstack/realcloud")
    )


def notifications_enabled():
    """On by default (the event tests need them); ``CMDB_REALCLOUD_NOTIFICATIONS=0`` turns them off."""
    return os.environ.get("CMDB_REALCLOUD_NOTIFICATIONS", "1").strip().lower() in ("1", "true", "yes", "on")


class Layout:
    """Paths under the state directory."""

    def __init__(self, root=None):
        self.root = root or state_dir()
        self.venv = os.path.join(self.root, "venv")
        self.etc = os.path.join(self.root, "etc")
        self.logs = os.path.join(self.root, "logs")
        self.run = os.path.join(self.root, "run")
        self.data = os.path.join(self.root, "data")
        self.clouds_yaml = os.path.join(self.root, "clouds.yaml")
        self.seed_json = os.path.join(self.root, "seed.json")
        self.seed_marker = os.path.join(self.data, "seeded")
        self.generation = os.path.join(self.data, "generation")
        # Written when an up finished its start (all healthy, host mapped): a cloud left behind by a
        # failed up has live daemons but no marker, and the next up restarts it.
        self.ready = os.path.join(self.run, "ready")
        self.secrets = os.path.join(self.root, "secrets.json")

    def bin(self, name):
        return os.path.join(self.venv, "bin", name)

    def log(self, name):
        return os.path.join(self.logs, "%s.log" % name)

    def pidfile(self, name):
        return os.path.join(self.run, "%s.pid" % name)

    def ensure(self):
        for path in (self.root, self.etc, self.logs, self.run, self.data):
            os.makedirs(path, exist_ok=True)


def load_secrets(layout):
    """Passwords for the DB user, the RabbitMQ user and the OpenStack users: made once per state dir."""
    from .util import SECRETS

    try:
        with open(layout.secrets) as handle:
            values = json.load(handle)
        SECRETS.update(values.values())
        return values
    except (OSError, ValueError):
        pass
    values = {key: secrets.token_hex(12) for key in ("db", "mq", "admin", "member", "service")}
    os.makedirs(layout.root, exist_ok=True)
    fd = os.open(layout.secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    SECRETS.update(values.values())
    return values
