"""The daemons of the cloud: how each is started, where it logs, how its health is checked."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request

from . import config

# API services under gunicorn (gthread): module with ``application``, config environment, argv seen
# by the service (oslo.config reads sys.argv in some services, so the wrapper sets it).
WSGI = {
    "keystone": (
        "keystone.wsgi.api",
        {"OS_KEYSTONE_CONFIG_DIR": "keystone", "OS_KEYSTONE_CONFIG_FILES": "keystone.conf"},
        [],
    ),
    "glance": ("glance.wsgi.api", {"OS_GLANCE_CONFIG_DIR": "glance"}, []),
    "placement": ("placement.wsgi.api", {"OS_PLACEMENT_CONFIG_DIR": "placement"}, []),
    "nova": ("nova.wsgi.osapi_compute", {"OS_NOVA_CONFIG_DIR": "nova"}, []),
    "neutron": (
        "neutron.wsgi.api",
        {"OS_NEUTRON_CONFIG_DIR": "neutron", "OS_NEUTRON_CONFIG_FILES": "neutron.conf;ml2_conf.ini"},
        ["neutron/neutron.conf", "neutron/ml2_conf.ini"],
    ),
    "cinder": ("cinder.wsgi.api", {}, ["cinder/cinder.conf"]),
    "octavia": ("octavia.wsgi.api", {}, ["octavia/octavia.conf"]),
}

WRAPPER = '''"""Rendered by tests/realcloud/harness: points %(service)s's WSGI module at our config."""
import sys

sys.argv = %(argv)r
from %(module)s import application  # noqa: E402,F401
'''


class Service:
    """One daemon: ``name`` is also its pid file, log file and the name ``logs`` takes."""

    def __init__(self, name, argv, env=None, port=None, project=None):
        self.name = name
        self.argv = argv
        self.env = env or {}
        self.port = port
        self.project = project or name.split("-")[0]

    def health_url(self):
        return "http://%s:%d/" % (config.HOST, self.port) if self.port else None


def _conf_args(layout, *paths):
    args = []
    for path in paths:
        args += ["--config-file", os.path.join(layout.etc, path)]
    return args


def write_wsgi_wrappers(layout):
    wsgi_dir = os.path.join(layout.etc, "wsgi")
    os.makedirs(wsgi_dir, exist_ok=True)
    for service, (module, _env, confs) in WSGI.items():
        argv = ["%s-api" % service] + _conf_args(layout, *confs)
        with open(os.path.join(wsgi_dir, "rc_wsgi_%s.py" % service), "w") as handle:
            handle.write(WRAPPER % {"service": service, "module": module, "argv": argv})
    return wsgi_dir


def _gunicorn(layout, service, threads=4):
    return [
        layout.bin("gunicorn"),
        "--bind",
        "%s:%d" % (config.HOST, config.PORTS[service]),
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "300",
        "--graceful-timeout",
        "5",
        # Longer than any client's pause between polls: with gunicorn's default (2 s) a poll every
        # 2 s reuses a connection the server is closing and fails with RemoteDisconnected.
        "--keep-alive",
        "75",
        # gunicorn 25's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl):
        # seven masters (and anyone else's gunicorn) would fight over it.
        "--no-control-socket",
        "--pythonpath",
        os.path.join(layout.etc, "wsgi"),
        "--access-logfile",
        "-",
        "rc_wsgi_%s:application" % service,
    ]


def definitions(layout):
    """Every daemon in start order: memcached, Keystone, then the others."""
    memcached = shutil.which("memcached") or "/usr/bin/memcached"
    env_base = {"PATH": "%s:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" % os.path.join(layout.venv, "bin")}
    out = [
        Service(
            "memcached",
            [memcached, "-l", config.HOST, "-p", str(config.PORTS["memcached"]), "-U", "0", "-m", "64", "-u", "nobody"],
            env_base,
            project="memcached",
        )
    ]
    for service, (_module, env, _confs) in WSGI.items():
        env = {key: (os.path.join(layout.etc, value) if key.endswith("_DIR") else value) for key, value in env.items()}
        name = "keystone" if service == "keystone" else "%s-api" % service
        out.append(Service(name, _gunicorn(layout, service), dict(env_base, **env), config.PORTS[service], service))
        if service == "nova":
            nova_conf = _conf_args(layout, "nova/nova.conf")
            out.append(Service("nova-conductor", [layout.bin("nova-conductor"), *nova_conf], env_base))
            out.append(Service("nova-scheduler", [layout.bin("nova-scheduler"), *nova_conf], env_base))
            out.append(
                Service(
                    "nova-compute",
                    [layout.bin("nova-compute"), *_conf_args(layout, "nova-compute/nova.conf")],
                    env_base,
                )
            )
        if service == "cinder":
            cinder_conf = _conf_args(layout, "cinder/cinder.conf")
            out.append(Service("cinder-scheduler", [layout.bin("cinder-scheduler"), *cinder_conf], env_base))
            out.append(Service("cinder-volume", [layout.bin("cinder-volume"), *cinder_conf], env_base))
        if service == "octavia":
            out.append(
                Service(
                    "octavia-worker",
                    [layout.bin("octavia-worker"), *_conf_args(layout, "octavia/octavia.conf")],
                    env_base,
                )
            )
    return out


def http_ok(url, timeout=3.0):
    """True when the URL answers HTTP at all below 500 (version documents answer 200 or 300)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False
