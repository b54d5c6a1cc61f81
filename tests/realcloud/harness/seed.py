"""Seeds the cloud through openstacksdk: projects, users, networks, servers, volumes, images, a load balancer.

Idempotent: skipped when the seed marker holds this database generation; every item is found by
name before it is created, so a seed interrupted half-way can simply be run again.
Writes seed.json (names and ids of everything, per project) and clouds.yaml in the state dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

from . import catalog, config
from .util import HarnessError, say

PROJECTS = {
    # project: (tenant CIDR, number of servers)
    "alpha": ("10.10.1.0/24", 2),
    "beta": ("10.10.2.0/24", 1),
}
PUBLIC_CIDR = "203.0.113.0/24"
WAIT = 300


def _generation(layout):
    try:
        with open(layout.generation) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def is_seeded(layout):
    try:
        with open(layout.seed_marker) as handle:
            marker = handle.read().strip()
    except OSError:
        return False
    return bool(marker) and marker == _generation(layout) and os.path.exists(layout.seed_json)


def seed(layout, secrets, force=False):
    catalog.write_clouds_yaml(layout, secrets)
    if is_seeded(layout) and not force:
        say("already seeded for this database generation (%s)" % layout.seed_json)
        return load(layout)
    step = ["connect"]
    try:
        data = _seed(layout, secrets, step)
    except HarnessError:
        raise
    except Exception as exc:
        raise HarnessError(
            "seed: %s" % step[0],
            _service_of(step[0]),
            layout.log(_service_of(step[0])),
            "%s: %s" % (type(exc).__name__, exc),
        )
    with open(layout.seed_json, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    with open(layout.seed_marker, "w") as handle:
        handle.write(_generation(layout))
    say("seeded: %s" % layout.seed_json)
    return data


def load(layout):
    with open(layout.seed_json) as handle:
        return json.load(handle)


def _service_of(step):
    for word, service in (
        ("attach", "nova-api"),
        ("server create", "nova-api"),
        ("server", "nova-compute"),
        ("flavor", "nova-api"),
        ("volume", "cinder-volume"),
        ("snapshot", "cinder-volume"),
        ("image", "glance-api"),
        ("load balancer", "octavia-worker"),
        ("network", "neutron-api"),
        ("router", "neutron-api"),
        ("floating", "neutron-api"),
        ("security", "neutron-api"),
    ):
        if word in step:
            return service
    return "keystone"


def _ref(item, **extra):
    return dict({"name": item.name, "id": item.id}, **extra)


def _one(items):
    items = list(items)
    return items[0] if items else None


def _qcow2(tmpdir):
    path = os.path.join(tmpdir, "rc-image.qcow2")
    # Glance checks that a qcow2 image really is one.
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "16M"], check=True)
    return path


def _image(conn, name, path, visibility, hidden=False):
    image = _one(conn.image.images(name=name))
    if image is None:
        image = conn.image.create_image(
            name=name,
            filename=path,
            disk_format="qcow2",
            container_format="bare",
            visibility=visibility,
            allow_duplicates=True,
        )
    if hidden and not image.is_hidden:
        image = conn.image.update_image(image, is_hidden=True)
    return image


def _seed(layout, secrets, step):
    started = time.monotonic()
    admin = catalog.connect(secrets)
    ident = admin.identity
    step[0] = "identity"
    roles = {role: ident.find_role(role, ignore_missing=False) for role in ["admin", *catalog.ROLES]}
    admin_user = ident.find_user(config.ADMIN_USER, ignore_missing=False)
    admin_project = ident.find_project("admin", ignore_missing=False)
    projects = {}
    for name in PROJECTS:
        project = ident.find_project(name, ignore_missing=True) or ident.create_project(
            name=name, domain_id="default", description="cmdb.openstack real-cloud test project"
        )
        ident.assign_project_role_to_user(project, admin_user, roles["admin"])
        projects[name] = project
    member = ident.find_user(config.MEMBER_USER, ignore_missing=True) or ident.create_user(
        name=config.MEMBER_USER, domain_id="default", password=secrets["member"]
    )
    for role in ("member", "load-balancer_member", "reader"):
        ident.assign_project_role_to_user(projects["alpha"], member, roles[role])

    step[0] = "flavors"
    flavors = {}
    for name, ram, vcpus, disk in (("m1.tiny", 512, 1, 1), ("m1.small", 1024, 1, 2)):
        flavor = admin.compute.find_flavor(name, ignore_missing=True) or admin.compute.create_flavor(
            name=name, ram=ram, vcpus=vcpus, disk=disk
        )
        flavors[name] = flavor

    step[0] = "public network"
    public = admin.network.find_network("public", ignore_missing=True) or admin.network.create_network(
        name="public",
        is_router_external=True,
        is_shared=True,
        provider_network_type="flat",
        provider_physical_network="public",
    )
    public_subnet = admin.network.find_subnet("public-subnet", ignore_missing=True) or admin.network.create_subnet(
        name="public-subnet",
        network_id=public.id,
        ip_version=4,
        cidr=PUBLIC_CIDR,
        gateway_ip="203.0.113.1",
        allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.250"}],
        is_dhcp_enabled=False,
    )

    step[0] = "images"
    with tempfile.TemporaryDirectory(prefix="cmdb-rc-img-") as tmp:
        path = _qcow2(tmp)
        images = {
            "public": _image(admin, "rc-public-image", path, "public"),
            "hidden": _image(admin, "rc-hidden-image", path, "public", hidden=True),
        }
        alpha_conn = catalog.connect(secrets, config.ADMIN_USER, "alpha")
        images["private"] = _image(alpha_conn, "rc-alpha-private-image", path, "private")

    out = {
        "generation": _generation(layout),
        "admin_project": _ref(admin_project),
        "users": {"admin": _ref(admin_user), "member": _ref(member, project="alpha")},
        "flavors": {name: _ref(f) for name, f in flavors.items()},
        "images": {
            key: _ref(img, visibility=img.visibility, hidden=bool(img.is_hidden)) for key, img in images.items()
        },
        "public_network": _ref(public, subnet=_ref(public_subnet)),
        "projects": {},
    }
    conns = {name: catalog.connect(secrets, config.ADMIN_USER, name) for name in PROJECTS}

    # Networks and servers first for every project, then wait once: the builds overlap.
    pending = {}
    for name, (cidr, count) in PROJECTS.items():
        conn, project = conns[name], projects[name]
        step[0] = "network (%s)" % name
        net = conn.network.find_network("%s-net" % name, ignore_missing=True) or conn.network.create_network(
            name="%s-net" % name
        )
        subnet = conn.network.find_subnet("%s-subnet" % name, ignore_missing=True) or conn.network.create_subnet(
            name="%s-subnet" % name, network_id=net.id, ip_version=4, cidr=cidr
        )
        step[0] = "router (%s)" % name
        router = conn.network.find_router("%s-router" % name, ignore_missing=True)
        if router is None:
            router = conn.network.create_router(
                name="%s-router" % name, external_gateway_info={"network_id": public.id}
            )
            conn.network.add_interface_to_router(router, subnet_id=subnet.id)
        step[0] = "security group (%s)" % name
        sg = conn.network.find_security_group("%s-sg" % name, ignore_missing=True, project_id=project.id)
        if sg is None:
            sg = conn.network.create_security_group(name="%s-sg" % name, description="seeded")
            for proto, port in (("tcp", 22), ("tcp", 80), ("icmp", None)):
                rule = {"security_group_id": sg.id, "direction": "ingress", "ethertype": "IPv4", "protocol": proto}
                if port:
                    rule.update(port_range_min=port, port_range_max=port)
                conn.network.create_security_group_rule(**rule)
        rules = list(conn.network.security_group_rules(security_group_id=sg.id))
        step[0] = "server create (%s)" % name
        servers = []
        for index in range(1, count + 1):
            server_name = "%s-server-%d" % (name, index)
            server = conn.compute.find_server(server_name, ignore_missing=True)
            if server is None:
                server = conn.compute.create_server(
                    name=server_name,
                    image_id=images["public"].id,
                    flavor_id=flavors["m1.tiny"].id,
                    networks=[{"uuid": net.id}],
                    security_groups=[{"name": sg.name}],
                    metadata={"seeded-by": "cmdb-realcloud"},
                )
            servers.append(server)
        pending[name] = (project, net, subnet, router, sg, rules, servers)

    for name, (project, net, subnet, router, sg, rules, servers) in pending.items():
        conn = conns[name]
        step[0] = "server ACTIVE (%s)" % name
        servers = [conn.compute.wait_for_server(s, status="ACTIVE", failures=["ERROR"], wait=WAIT) for s in servers]
        server_refs = []
        for server in servers:
            port = _one(conn.network.ports(device_id=server.id))
            fixed = port.fixed_ips[0]["ip_address"] if port else None
            server_refs.append(_ref(server, fixed_ip=fixed, port_id=port.id if port else None))
        step[0] = "floating ip (%s)" % name
        fip = _one(conn.network.ips(port_id=server_refs[0]["port_id"]))
        if fip is None:
            fip = conn.network.create_ip(floating_network_id=public.id, port_id=server_refs[0]["port_id"])
        step[0] = "volume (%s)" % name
        vol_name = "%s-volume-1" % name
        volume = conn.block_storage.find_volume(vol_name, ignore_missing=True) or conn.block_storage.create_volume(
            name=vol_name, size=1
        )
        if volume.status not in ("available", "in-use"):
            volume = conn.block_storage.wait_for_status(volume, "available", failures=["error"], wait=WAIT)
        step[0] = "volume snapshot (%s)" % name
        snap_name = "%s-snapshot-1" % name
        snapshot = conn.block_storage.find_snapshot(snap_name, ignore_missing=True)
        if snapshot is None:
            snapshot = conn.block_storage.create_snapshot(name=snap_name, volume_id=volume.id, force=True)
        snapshot = conn.block_storage.wait_for_status(snapshot, "available", failures=["error"], wait=WAIT)
        step[0] = "volume attach (%s)" % name
        if volume.status != "in-use":
            conn.compute.create_volume_attachment(servers[0], volume_id=volume.id)
        volume = conn.block_storage.wait_for_status(volume, "in-use", failures=["error", "error_attaching"], wait=WAIT)
        out["projects"][name] = {
            "id": project.id,
            "name": name,
            "network": _ref(net),
            "subnet": _ref(subnet, cidr=subnet.cidr),
            "router": _ref(router),
            "security_group": _ref(sg, rules=[r.id for r in rules]),
            "servers": server_refs,
            "floating_ip": {"id": fip.id, "address": fip.floating_ip_address, "port_id": fip.port_id},
            "volumes": [_ref(volume, attached_to=servers[0].id)],
            "snapshots": [_ref(snapshot, volume_id=volume.id)],
        }

    step[0] = "load balancer (alpha)"
    out["projects"]["alpha"]["load_balancer"] = _load_balancer(conns["alpha"], out["projects"]["alpha"])
    say("seed took %.1f s" % (time.monotonic() - started))
    return out


def _load_balancer(conn, alpha):
    lbs = conn.load_balancer

    def settle(lb_id):
        return lbs.wait_for_load_balancer(lb_id, status="ACTIVE", failures=["ERROR"], interval=1, wait=WAIT)

    lb = _one(lbs.load_balancers(name="alpha-lb"))
    if lb is None:
        lb = lbs.create_load_balancer(name="alpha-lb", vip_subnet_id=alpha["subnet"]["id"])
    lb = settle(lb.id)
    listener = _one(lbs.listeners(name="alpha-listener"))
    if listener is None:
        listener = lbs.create_listener(name="alpha-listener", protocol="HTTP", protocol_port=80, load_balancer_id=lb.id)
        settle(lb.id)
    pool = _one(lbs.pools(name="alpha-pool"))
    if pool is None:
        pool = lbs.create_pool(name="alpha-pool", protocol="HTTP", lb_algorithm="ROUND_ROBIN", listener_id=listener.id)
        settle(lb.id)
    have = {m.address for m in lbs.members(pool)}
    for index, server in enumerate(alpha["servers"], 1):
        if server["fixed_ip"] not in have:
            lbs.create_member(
                pool,
                name="alpha-member-%d" % index,
                address=server["fixed_ip"],
                protocol_port=80,
                subnet_id=alpha["subnet"]["id"],
            )
            settle(lb.id)
    members = [
        {"name": m.name, "id": m.id, "address": m.address, "server": s["name"], "port_id": s["port_id"]}
        for m in lbs.members(pool)
        for s in alpha["servers"]
        if s["fixed_ip"] == m.address
    ]
    lb = settle(lb.id)
    return dict(
        _ref(lb, vip_address=lb.vip_address, provisioning_status=lb.provisioning_status),
        listener=_ref(listener),
        pool=_ref(pool),
        members=members,
    )
