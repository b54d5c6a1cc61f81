"""Keystone catalog (service project, users, roles, services, endpoints), clouds.yaml, service waits."""

from __future__ import annotations

import os
import time

from . import config
from .util import HarnessError, say

# catalog type -> (service name, user, URL path)
SERVICES = {
    "image": ("glance", "glance", ""),
    "placement": ("placement", "placement", ""),
    "compute": ("nova", "nova", "/v2.1"),
    "network": ("neutron", "neutron", ""),
    "block-storage": ("cinder", "cinder", "/v3"),  # nova: [cinder] catalog_info names it
    "load-balancer": ("octavia", "octavia", ""),
}
PORT_OF = {
    "image": "glance",
    "placement": "placement",
    "compute": "nova",
    "network": "neutron",
    "block-storage": "cinder",
    "load-balancer": "octavia",
}
ROLES = ["member", "reader", "service", "load-balancer_member", "load-balancer_observer", "load-balancer_admin"]


def auth(secrets, user=config.ADMIN_USER, project="admin"):
    return {
        "auth_url": "http://%s:%d/v3" % (config.HOST, config.PORTS["keystone"]),
        "username": user,
        "password": secrets["admin"] if user == config.ADMIN_USER else secrets["member"],
        "project_name": project,
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }


def connect(secrets, user=config.ADMIN_USER, project="admin"):
    import openstack

    return openstack.connect(
        auth=auth(secrets, user, project), region_name=config.REGION, api_timeout=60, identity_interface="public"
    )


def _find_or_create(finder, creator, name, **attrs):
    item = finder(name, ignore_missing=True)
    return item if item is not None else creator(name=name, **attrs)


def register(layout, secrets):
    """Creates the service project, roles, the services' users and the catalog (idempotent)."""
    try:
        conn = connect(secrets)
        ident = conn.identity
        service_project = _find_or_create(ident.find_project, ident.create_project, "service", domain_id="default")
        roles = {}
        for role in ["admin", *ROLES]:
            roles[role] = _find_or_create(ident.find_role, ident.create_role, role)
        for kind, (name, user, path) in SERVICES.items():
            account = _find_or_create(
                ident.find_user, ident.create_user, user, domain_id="default", password=secrets["service"]
            )
            for role in ("admin", "service"):
                ident.assign_project_role_to_user(service_project, account, roles[role])
            service = _find_or_create(ident.find_service, ident.create_service, name, type=kind)
            url = "http://%s:%d%s" % (config.HOST, config.PORTS[PORT_OF[kind]], path)
            have = {ep.interface for ep in ident.endpoints(service_id=service.id)}
            for interface in ("public", "internal", "admin"):
                if interface not in have:
                    ident.create_endpoint(service_id=service.id, interface=interface, url=url, region_id=config.REGION)
    except HarnessError:
        raise
    except Exception as exc:  # any SDK or HTTP error: name the step and Keystone's log
        raise HarnessError("register catalog", "keystone", layout.log("keystone"), "%s: %s" % (type(exc).__name__, exc))


def wait_compute_and_volume(layout, secrets, deadline, check_alive):
    """Servers scheduled before nova-compute reports up go to ERROR; volumes need cinder-volume up.

    Returns the compute hosts, for cloud._map_compute_hosts: nova-compute's service record comes
    seconds before its compute node record, which is what ``cell_v2 discover_hosts`` maps (and
    os-hypervisors lists only mapped nodes, so it cannot tell)."""
    conn = connect(secrets)
    waiting = {"nova-compute", "cinder-volume"}
    hosts = []
    last_error = None
    while waiting and time.monotonic() < deadline:
        check_alive()
        try:
            if "nova-compute" in waiting:
                hosts = [s.host for s in conn.compute.services() if s.binary == "nova-compute" and s.state == "up"]
                if hosts:
                    waiting.discard("nova-compute")
            if "cinder-volume" in waiting:
                for svc in conn.block_storage.services():
                    if svc.binary == "cinder-volume" and svc.state == "up":
                        waiting.discard("cinder-volume")
        except Exception as exc:  # services still starting
            last_error = exc
        if waiting:
            time.sleep(1)
    if waiting:
        name = sorted(waiting)[0]
        raise HarnessError(
            "wait healthy", name, layout.log(name), "not reported up in time (%s)" % (last_error or "no service record")
        )
    say("nova-compute and cinder-volume report up")
    return hosts


def write_clouds_yaml(layout, secrets, beta_admin=True):
    import yaml

    base = {"region_name": config.REGION, "api_timeout": 60, "identity_api_version": 3, "interface": "public"}
    clouds = {
        config.CLOUD_ADMIN: dict(base, auth=auth(secrets, config.ADMIN_USER, "admin")),
        config.CLOUD_MEMBER: dict(base, auth=auth(secrets, config.MEMBER_USER, "alpha")),
    }
    if beta_admin:
        clouds[config.CLOUD_BETA_ADMIN] = dict(base, auth=auth(secrets, config.ADMIN_USER, "beta"))
    fd = os.open(layout.clouds_yaml, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump({"clouds": clouds}, handle, default_flow_style=False, sort_keys=True)
    return layout.clouds_yaml
