"""Renders the services' configuration files into <state>/etc from templates/ (string.Template)."""

from __future__ import annotations

import os
import shutil
import string

from . import config, install
from .util import run

TEMPLATES = os.path.join(config.HERE, "templates")

# template -> (directory under etc/, file name)
FILES = {
    "keystone.conf": ("keystone", "keystone.conf"),
    "glance-api.conf": ("glance", "glance-api.conf"),
    "placement.conf": ("placement", "placement.conf"),
    "nova.conf": ("nova", "nova.conf"),
    "neutron.conf": ("neutron", "neutron.conf"),
    "ml2_conf.ini": ("neutron", "ml2_conf.ini"),
    "cinder.conf": ("cinder", "cinder.conf"),
    "octavia.conf": ("octavia", "octavia.conf"),
}


def db_url(secrets, name):
    return "mysql+pymysql://%s:%s@%s:3306/%s%s?charset=utf8" % (
        config.DB_USER,
        secrets["db"],
        config.HOST,
        config.DB_PREFIX,
        name,
    )


def transport_url(secrets):
    return "rabbit://%s:%s@%s:5672/%s" % (config.MQ_USER, secrets["mq"], config.HOST, config.MQ_VHOST)


def keystone_url():
    return "http://%s:%d" % (config.HOST, config.PORTS["keystone"])


def _auth(user, secrets):
    """keystoneauth options of a service user (for [service_user], [placement], [neutron], [nova], ...)."""
    return "\n".join(
        [
            "auth_type = password",
            "auth_url = %s/v3" % keystone_url(),
            "project_domain_name = Default",
            "user_domain_name = Default",
            "project_name = service",
            "username = %s" % user,
            "password = %s" % secrets["service"],
            "region_name = %s" % config.REGION,
        ]
    )


def _authtoken(user, secrets):
    return "\n".join(
        [
            "[keystone_authtoken]",
            "www_authenticate_uri = %s/v3" % keystone_url(),
            _auth(user, secrets),
            "service_token_roles_required = true",
            "memcached_servers = %s:%d" % (config.HOST, config.PORTS["memcached"]),
        ]
    )


def values(layout, secrets):
    data = {
        "host": config.HOST,
        "region": config.REGION,
        "data": layout.data,
        "etc": layout.etc,
        "memcached": "%s:%d" % (config.HOST, config.PORTS["memcached"]),
        "transport_url": transport_url(secrets),
        "heartbeat_key": secrets["service"],
    }
    for name, port in config.PORTS.items():
        data["port_%s" % name] = port
    for name in config.DATABASES:
        data["db_%s" % name] = db_url(secrets, name)
    for user in ("glance", "placement", "nova", "neutron", "cinder", "octavia"):
        data["auth_%s" % user] = _auth(user, secrets)
        data["keystone_authtoken_%s" % user] = _authtoken(user, secrets)
    if config.notifications_enabled():
        data["notifications"] = "\n[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = %s\n" % (
            transport_url(secrets)
        )
        data["nova_notifications"] = (
            "\n[notifications]\nnotification_format = both\nnotify_on_state_change = vm_and_task_state\n"
        )
    else:
        data["notifications"] = "\n[oslo_messaging_notifications]\ndriver = noop\n"
        data["nova_notifications"] = ""
    data["nova_databases"] = "[api_database]\nconnection = %s\n\n[database]\nconnection = %s\n" % (
        data["db_nova_api"],
        data["db_nova"],
    )
    return data


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def render(layout, secrets, shipped_files=True):
    """Writes every configuration file; returns the path of etc/.

    ``shipped_files=False`` skips what needs the installed services (paste files, Octavia's CA).
    """
    data = values(layout, secrets)
    for template, (subdir, name) in FILES.items():
        with open(os.path.join(TEMPLATES, template)) as handle:
            text = string.Template(handle.read()).substitute(data)
        _write(os.path.join(layout.etc, subdir, name), text)
        if template == "nova.conf":
            with open(os.path.join(TEMPLATES, template)) as handle:
                compute = string.Template(handle.read()).substitute(dict(data, nova_databases=""))
            _write(os.path.join(layout.etc, "nova-compute", "nova.conf"), compute)
    if shipped_files:
        _copy_shipped_files(layout)
        _octavia_certs(layout)
    return layout.etc


def _copy_shipped_files(layout):
    """Paste and policy files that the services ship in their packages' etc/ (installed under venv/etc)."""
    venv_etc = os.path.join(layout.venv, "etc")
    wanted = {
        "glance": ["glance-api-paste.ini"],
        "nova": ["api-paste.ini"],
        "neutron": ["api-paste.ini"],
        "cinder": ["api-paste.ini", "resource_filters.json"],
    }
    for service, names in wanted.items():
        for name in names:
            target = os.path.join(layout.etc, service, name)
            source = _find_shipped(layout, venv_etc, service, name)
            shutil.copyfile(source, target)


def _find_shipped(layout, venv_etc, service, name):
    shipped = os.path.join(venv_etc, service, name)  # pip installs the packages' data files there
    if os.path.isfile(shipped):
        return shipped
    candidates = []
    pkg = install.package_dir(layout, service)
    candidates += [
        os.path.join(os.path.dirname(pkg), "etc", service, name),
        os.path.join(pkg, "etc", name),
        os.path.join(pkg, "common", name),
    ]
    for base, _dirs, files in os.walk(pkg):
        if name in files:
            candidates.append(os.path.join(base, name))
    for path in candidates:
        if os.path.isfile(path):
            return path
    from .util import HarnessError

    raise HarnessError("configure", service, layout.log("pip"), "%s not found in the installed package" % name)


def _octavia_certs(layout):
    """A self-signed CA and a client certificate: Octavia signs an amphora certificate even with noop drivers."""
    certs = os.path.join(layout.etc, "octavia", "certs")
    if os.path.exists(os.path.join(certs, "client.pem")):
        return
    os.makedirs(certs, exist_ok=True)
    log = layout.log("octavia-certs")
    ca_key, ca_pem = os.path.join(certs, "ca.key"), os.path.join(certs, "ca.pem")
    run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=cmdb-realcloud-ca"]
        + ["-keyout", ca_key, "-out", ca_pem],
        "make CA",
        "octavia",
        log,
    )
    key, csr, crt = (os.path.join(certs, n) for n in ("client.key", "client.csr", "client.crt"))
    run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=cmdb-realcloud-client"]
        + ["-keyout", key, "-out", csr],
        "make client key",
        "octavia",
        log,
    )
    run(
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial", "-days", "3650"]
        + ["-out", crt],
        "sign client cert",
        "octavia",
        log,
    )
    with open(os.path.join(certs, "client.pem"), "w") as out:
        for path in (crt, key):
            with open(path) as handle:
                out.write(handle.read())
