"""Deterministic, seeded generator of consistent cloud data (one region at a time).

Same (seed, cloud, region, sizes) -> the same ids, names, addresses and timestamps, from a dozen
servers to 100,000. Everything refers to everything else the way a real cloud does: every server
has a port on a subnet of one of its project's networks (some a second one on a shared network),
some a floating IP through its project's router; volumes are attached to servers (and listed in the
server's ``os-extended-volumes:volumes_attached``), snapshots belong to volumes, routers have an
external gateway and an interface on each subnet of their project, load balancers have a VIP port,
a listener, a pool and members whose addresses are the fixed IPs of the project's servers.
"""

from __future__ import annotations

import datetime
import hashlib
import random

from . import util

BASE_TS = int(datetime.datetime(2026, 1, 5, 8, 0, 0, tzinfo=util.UTC).timestamp())

PROJECT_NAMES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")
ROLES = ("web", "db", "app", "cache", "worker", "api", "batch", "proxy")
UNICODE_NAMES = ("ñandú", "数据库", "сервер", "δοκιμή", "café-crème", "🚀rocket", "東京", "straße")
STATUSES = (
    ("ACTIVE", "active", 1, None, 80),
    ("SHUTOFF", "stopped", 4, None, 9),
    ("ERROR", "error", 0, None, 4),
    ("BUILD", "building", 0, "spawning", 2),
    ("PAUSED", "paused", 3, None, 2),
    ("SUSPENDED", "suspended", 4, None, 2),
    ("VERIFY_RESIZE", "resized", 1, None, 1),
)
STATUS_WEIGHTS = [s[4] for s in STATUSES]

FLAVORS = (
    ("m1.tiny", 1, 512, 1, True),
    ("m1.small", 1, 2048, 20, True),
    ("m1.medium", 2, 4096, 40, True),
    ("m1.large", 4, 8192, 80, True),
    ("m1.xlarge", 8, 16384, 160, True),
    ("c1.gpu", 16, 65536, 200, False),
)

PUBLIC_IMAGES = (
    ("cirros-0.6.3", "qcow2", 21430272),
    ("ubuntu-24.04", "qcow2", 612368384),
    ("debian-12", "qcow2", 386007040),
    ("rocky-9.5", "qcow2", 1048576000),
    ("windows-server-2022", "raw", 10737418240),
)

ENVS = ("prod", "staging", "dev")
AZS = ("nova", "nova", "nova", "az-b")
EXT_NET_CIDR = "172.24.0.0/14"  # room for 260,000 floating IPs


def _ip4(value):
    return "%d.%d.%d.%d" % ((value >> 24) & 255, (value >> 16) & 255, (value >> 8) & 255, value & 255)


def _ip_int(text):
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


class _Ids:
    def __init__(self, rng):
        self.rng = rng

    def uuid(self):
        return util.rng_uuid(self.rng)

    def hex(self):
        return util.rng_hex(self.rng)


def identity_data(cloud_name, seed, projects):
    """Projects and users of a cloud (Keystone is global to the cloud, not per region)."""
    rng = random.Random("%s/%s/identity" % (seed, cloud_name))
    ids = _Ids(rng)
    admin_project = {"id": ids.hex(), "name": "admin", "domain_id": "default", "description": "Admin project"}
    plist = []
    for index in range(projects):
        name = PROJECT_NAMES[index] if index < len(PROJECT_NAMES) else "project-%d" % index
        plist.append({"id": ids.hex(), "name": name, "domain_id": "default", "description": "Project %s" % name})
    first = plist[0] if plist else admin_project
    secret = hashlib.sha256(("%s/%s" % (seed, cloud_name)).encode()).hexdigest()[:10]
    users = {
        "admin": {
            "project": admin_project["id"],
            "roles": ["reader", "admin", "manager", "member"],
            "denied_services": [],
        },
        "member": {"project": first["id"], "roles": ["reader", "member"], "denied_services": []},
        "reader": {"project": first["id"], "roles": ["reader"], "denied_services": []},
        "nolb": {"project": first["id"], "roles": ["reader", "member"], "denied_services": ["load-balancer"]},
    }
    for name, user in users.items():
        user["id"] = ids.hex()
        user["name"] = name
        user["password"] = "%s-%s" % (name, secret)
        user["domain_id"] = "default"
    return admin_project, plist, users


class RegionGenerator:
    """Builds every item of one region; ``build()`` returns {type name: [items]}."""

    def __init__(self, cloud_name, region, region_index, seed, admin_project, projects, users, servers, counts):
        self.rng = random.Random("%s/%s/%s" % (seed, cloud_name, region))
        self.ids = _Ids(self.rng)
        self.cloud_name = cloud_name
        self.region = region
        self.region_index = region_index
        self.admin_project = admin_project
        self.projects = projects or [admin_project]
        self.user_id = users["admin"]["id"]
        self.n_servers = servers
        self.counts = counts
        self.out = {
            name: []
            for name in (
                "servers",
                "flavors",
                "images",
                "volumes",
                "volume_snapshots",
                "networks",
                "subnets",
                "ports",
                "routers",
                "floating_ips",
                "security_groups",
                "security_group_rules",
                "load_balancers",
                "listeners",
                "pools",
                "members",
            )
        }
        self.clock = 0
        self._host_ids = {}
        self._shared = {}
        self.mac_counter = self.rng.randrange(1 << 20) << 4
        self.standard_attr = 100
        self.hosts = ["cmp-%s-%02d" % (region.lower()[:6], i) for i in range(max(2, min(64, servers // 200 + 2)))]

    # -- helpers --
    def tick(self, seconds=1):
        self.clock += seconds
        return BASE_TS + self.clock

    def shared(self, key, value):
        """One object for identical nested values of many items (saves memory at 100,000 servers).
        Safe because neither the store nor the handlers mutate nested values in place."""
        return self._shared.setdefault(key, value)

    def host_id(self, project_id, host):
        key = (project_id, host)
        value = self._host_ids.get(key)
        if value is None:
            value = self._host_ids[key] = hashlib.sha224((project_id + host).encode()).hexdigest()
        return value

    def mac(self):
        self.mac_counter += 1
        v = self.mac_counter
        return "fa:16:3e:%02x:%02x:%02x" % ((v >> 16) & 255, (v >> 8) & 255, v & 255)

    def neutron_common(self, project_id, when, updated=None, revision=0):
        created = util.fmt(when)
        return {
            "created_at": created,
            "updated_at": util.fmt(updated) if updated else created,
            "project_id": project_id,
            "tenant_id": project_id,
            "revision_number": revision,
            "tags": self.shared("empty-list-tags", []),
        }

    # -- builders --
    def build(self):
        self.build_flavors()
        self.build_images()
        self.build_external_network()
        self.build_security_groups()
        self.build_project_networks()
        self.build_servers()
        self.build_volumes()
        self.build_floating_ips()
        self.build_load_balancers()
        return self.out

    def build_flavors(self):
        extra = self.counts.get("flavors", 0)
        specs = list(FLAVORS) + [("x%d.custom" % i, 2, 2048 * (i + 1), 20, True) for i in range(max(0, extra))]
        for name, vcpus, ram, disk, public in specs:
            self.out["flavors"].append(
                {
                    "OS-FLV-DISABLED:disabled": False,
                    "OS-FLV-EXT-DATA:ephemeral": 0,
                    "description": None,
                    "disk": disk,
                    "extra_specs": {"hw:cpu_policy": "dedicated"} if not public else {},
                    "id": self.ids.uuid(),
                    "name": name,
                    "os-flavor-access:is_public": public,
                    "ram": ram,
                    "rxtx_factor": 1.0,
                    "swap": 0,
                    "vcpus": vcpus,
                }
            )
        self.public_flavors = [f for f in self.out["flavors"] if f["os-flavor-access:is_public"]][:5]

    def _image(self, name, owner, visibility, status="active", disk_format="qcow2", size=None):
        when = self.tick(7)
        image_id = self.ids.uuid()
        active = status == "active"
        image = {
            "checksum": hashlib.md5(image_id.encode(), usedforsecurity=False).hexdigest() if active else None,
            "container_format": "bare",
            "created_at": util.fmt(when),
            "disk_format": disk_format,
            "file": "/v2/images/%s/file" % image_id,
            "id": image_id,
            "min_disk": 0,
            "min_ram": 0,
            "name": name,
            "os_hash_algo": "sha512" if active else None,
            "os_hash_value": hashlib.sha512(image_id.encode()).hexdigest() if active else None,
            "os_hidden": False,
            "owner": owner,
            "owner_specified.openstack.md5": "",
            "owner_specified.openstack.object": "images/%s" % name,
            "owner_specified.openstack.sha256": "",
            "protected": False,
            "schema": "/v2/schemas/image",
            "self": "/v2/images/%s" % image_id,
            "size": size if active else None,
            "status": status,
            "stores": "file",
            "tags": [],
            "updated_at": util.fmt(when),
            "virtual_size": size if active else None,
            "visibility": visibility,
        }
        if not active:
            del image["stores"]
        return image

    def build_images(self):
        admin = self.admin_project["id"]
        images = self.out["images"]
        for name, disk_format, size in PUBLIC_IMAGES:
            images.append(self._image(name, admin, "public", disk_format=disk_format, size=size))
        for project in self.projects:
            images.append(self._image("%s-golden" % project["name"], project["id"], "private", size=123731968))
        images.append(self._image("shared-base", self.projects[0]["id"], "shared", size=52428800))
        images.append(self._image("upload-pending", admin, "private", status="queued"))
        for i in range(max(0, self.counts.get("images", 0) - len(images))):
            project = self.projects[i % len(self.projects)]
            images.append(self._image("image-%d" % i, project["id"], "private", size=1048576 * (i + 1)))
        for image in images:
            if image["status"] == "active" and image["name"].startswith("ubuntu"):
                image["tags"] = ["lts"]
        self.boot_images = [i for i in images if i["status"] == "active"]

    def build_external_network(self):
        admin = self.admin_project["id"]
        when = self.tick(60)
        net_id, subnet_id = self.ids.uuid(), self.ids.uuid()
        net = self._network("public", admin, when, external=True)
        net["id"] = net_id
        net["subnets"] = [subnet_id]
        net["provider:network_type"] = "flat"
        net["provider:physical_network"] = "physnet1"
        net["provider:segmentation_id"] = None
        self.out["networks"].append(net)
        subnet = self._subnet("public-subnet", admin, net_id, EXT_NET_CIDR, when, dhcp=False)
        subnet["id"] = subnet_id
        subnet["router:external"] = True
        self.out["subnets"].append(subnet)
        self.ext_net, self.ext_subnet = net, subnet
        self.ext_next_ip = _ip_int("172.24.0.10")
        # a shared network owned by the admin project that every project can attach to
        when = self.tick(30)
        shared = self._network("shared-services", admin, when, shared=True)
        self.out["networks"].append(shared)
        ssub = self._subnet("shared-services-v4", admin, shared["id"], "10.250.0.0/16", when)
        shared["subnets"] = [ssub["id"]]
        self.out["subnets"].append(ssub)
        self.shared_net, self.shared_subnet = shared, ssub
        self.shared_next_ip = _ip_int("10.250.0.10")
        self.dhcp_port(shared, ssub, "10.250.0.2", when)

    def _network(self, name, project_id, when, shared=False, external=False):
        net = {
            "admin_state_up": True,
            "availability_zone_hints": [],
            "availability_zones": ["nova"],
            "description": "",
            "id": self.ids.uuid(),
            "ipv4_address_scope": None,
            "ipv6_address_scope": None,
            "l2_adjacency": True,
            "mtu": 1500 if external else 1450,
            "name": name,
            "port_security_enabled": True,
            "provider:network_type": "vxlan",
            "provider:physical_network": None,
            "provider:segmentation_id": 100 + len(self.out["networks"]),
            "qos_policy_id": None,
            "router:external": external,
            "shared": shared,
            "status": "ACTIVE",
            "subnets": [],
        }
        net.update(self.neutron_common(project_id, when, revision=2))
        return net

    def _subnet(self, name, project_id, network_id, cidr, when, dhcp=True):
        base = _ip_int(cidr.split("/")[0])
        size = 1 << (32 - int(cidr.split("/")[1]))
        subnet = {
            "allocation_pools": [{"end": _ip4(base + size - 2), "start": _ip4(base + 2)}],
            "cidr": cidr,
            "description": "",
            "dns_nameservers": ["192.0.2.53"] if dhcp else [],
            "enable_dhcp": dhcp,
            "gateway_ip": _ip4(base + 1),
            "host_routes": [],
            "id": self.ids.uuid(),
            "ip_version": 4,
            "ipv6_address_mode": None,
            "ipv6_ra_mode": None,
            "name": name,
            "network_id": network_id,
            "router:external": False,
            "segment_id": None,
            "service_types": [],
            "subnetpool_id": None,
        }
        subnet.update(self.neutron_common(project_id, when))
        return subnet

    def port(self, network, project_id, fixed_ips, when, device_id="", device_owner="", name="", sgs=(), host=""):
        port = {
            "admin_state_up": True,
            "allowed_address_pairs": [],
            "binding:host_id": host,
            "binding:profile": {},
            "binding:vif_details": {"bound_drivers": {"0": "ovn"}, "ovs_hybrid_plug": False, "port_filter": True}
            if host
            else {},
            "binding:vif_type": "ovs" if host else "unbound",
            "binding:vnic_type": "normal",
            "description": "",
            "device_id": device_id,
            "device_owner": device_owner,
            "extra_dhcp_opts": self.shared("empty-list-dhcp", []),
            "fixed_ips": [{"ip_address": ip, "subnet_id": sid} for ip, sid in fixed_ips],
            "id": self.ids.uuid(),
            "ip_allocation": "immediate",
            "mac_address": self.mac(),
            "name": name,
            "network_id": network["id"],
            "port_security_enabled": bool(sgs),
            "qos_network_policy_id": None,
            "qos_policy_id": None,
            "resource_request": None,
            "security_groups": self.shared(("sgs", *sgs), list(sgs)),
            "status": "ACTIVE" if (host or device_owner.startswith("network:")) else "DOWN",
        }
        port.update(self.neutron_common(project_id, when, revision=4 if host else 1))
        self.out["ports"].append(port)
        return port

    def dhcp_port(self, network, subnet, ip, when):
        return self.port(
            network,
            network["project_id"],
            [(ip, subnet["id"])],
            when,
            device_id="dhcp%s-%s"
            % (hashlib.sha1(network["id"].encode(), usedforsecurity=False).hexdigest()[:32], network["id"]),
            device_owner="network:dhcp",
            host=self.hosts[0],
        )

    def _rule(self, sg, direction, ethertype, protocol=None, port=None, remote_ip=None, remote_group=None, desc=""):
        self.standard_attr += 1
        rule = {
            "belongs_to_default_sg": True if sg["name"] == "default" else None,
            "created_at": sg["created_at"],
            "description": desc,
            "direction": direction,
            "ethertype": ethertype,
            "id": self.ids.uuid(),
            "normalized_cidr": remote_ip,
            "port_range_max": port,
            "port_range_min": port,
            "project_id": sg["project_id"],
            "protocol": protocol,
            "remote_address_group_id": None,
            "remote_group_id": remote_group,
            "remote_ip_prefix": remote_ip,
            "revision_number": 0,
            "security_group_id": sg["id"],
            "standard_attr_id": self.standard_attr,
            "tags": [],
            "tenant_id": sg["project_id"],
            "updated_at": sg["updated_at"],
        }
        self.out["security_group_rules"].append(rule)
        sg["security_group_rules"].append(rule)
        return rule

    def build_security_groups(self):
        self.sgs = {}
        for project in [self.admin_project, *self.projects]:
            when = self.tick(5)
            groups = {}
            for name, desc in (
                ("default", "Default security group"),
                ("web", "ssh/http/https/icmp"),
                ("db", "database from web"),
            ):
                sg = {
                    "description": desc,
                    "id": self.ids.uuid(),
                    "name": name,
                    "security_group_rules": [],
                    "shared": False,
                    "stateful": True,
                }
                sg.update(self.neutron_common(project["id"], when, revision=len(groups) + 1))
                groups[name] = sg
            default, web, db = groups["default"], groups["web"], groups["db"]
            for eth in ("IPv4", "IPv6"):
                self._rule(default, "egress", eth)
                self._rule(default, "ingress", eth, remote_group=default["id"])
            for eth in ("IPv4", "IPv6"):
                self._rule(web, "egress", eth)
            self._rule(web, "ingress", "IPv4", "tcp", 22, "0.0.0.0/0")
            self._rule(web, "ingress", "IPv4", "tcp", 80, "0.0.0.0/0")
            self._rule(web, "ingress", "IPv4", "tcp", 443, "0.0.0.0/0")
            self._rule(web, "ingress", "IPv4", "icmp", None, "0.0.0.0/0")
            self._rule(db, "egress", "IPv4")
            self._rule(db, "ingress", "IPv4", "tcp", 5432, None, remote_group=web["id"], desc="postgres from web")
            self.out["security_groups"].extend(groups.values())
            self.sgs[project["id"]] = groups

    def build_project_networks(self):
        """Per project: networks with one /22 subnet each (about 500 ports of servers per network), a router."""
        self.project_nets = {}
        # ``ports_per_server`` (default 1) gives every server that many ports on its project network;
        # a network then holds fewer servers, so that its /22 never runs out of addresses.
        self.ports_per_server = max(1, self.counts.get("ports_per_server", 1))
        self.servers_per_net = max(1, 500 // self.ports_per_server)
        self.per_project_servers = {}
        n_projects = len(self.projects)
        for index, project in enumerate(self.projects):
            share = self.n_servers // n_projects + (1 if index < self.n_servers % n_projects else 0)
            self.per_project_servers[project["id"]] = share
        block = self.region_index * 2048
        extra_nets = self.counts.get("networks", 0)
        for index, project in enumerate(self.projects):
            pid = project["id"]
            n_nets = max(1, -(-self.per_project_servers[pid] // self.servers_per_net)) + (
                1 if index < extra_nets else 0
            )
            when = self.tick(30)
            router_id = self.ids.uuid()
            nets = []
            for k in range(n_nets):
                name = "%s-net" % project["name"] if k == 0 else "%s-net-%d" % (project["name"], k)
                net = self._network(name, pid, when)
                cidr = "10.%d.%d.0/22" % ((block >> 6) & 255, (block & 63) << 2)
                block += 1
                subnet = self._subnet(name.replace("-net", "-subnet"), pid, net["id"], cidr, when)
                net["subnets"] = [subnet["id"]]
                self.out["networks"].append(net)
                self.out["subnets"].append(subnet)
                base = _ip_int(subnet["cidr"].split("/")[0])
                self.dhcp_port(net, subnet, _ip4(base + 2), when)
                iface = self.port(
                    net,
                    pid,
                    [(subnet["gateway_ip"], subnet["id"])],
                    when,
                    device_id=router_id,
                    device_owner="network:router_interface",
                    host=self.hosts[0],
                )
                nets.append({"net": net, "subnet": subnet, "next_ip": base + 10, "iface": iface})
            self.project_nets[pid] = nets
            gw_ip = self.next_ext_ip()
            self.port(
                self.ext_net,
                "",
                [(gw_ip, self.ext_subnet["id"])],
                when,
                device_id=router_id,
                device_owner="network:router_gateway",
                host=self.hosts[0],
            )
            router = {
                "admin_state_up": True,
                "availability_zone_hints": [],
                "availability_zones": ["nova"],
                "description": "",
                "distributed": False,
                "external_gateway_info": {
                    "enable_snat": True,
                    "external_fixed_ips": [{"ip_address": gw_ip, "subnet_id": self.ext_subnet["id"]}],
                    "network_id": self.ext_net["id"],
                },
                "flavor_id": None,
                "ha": False,
                "id": router_id,
                "name": "%s-router" % project["name"],
                "routes": [],
                "status": "ACTIVE",
            }
            router.update(self.neutron_common(pid, when, revision=3))
            self.out["routers"].append(router)
            self.project_router = getattr(self, "project_router", {})
            self.project_router[pid] = router

    def next_ext_ip(self):
        ip = _ip4(self.ext_next_ip)
        self.ext_next_ip += 1
        return ip

    def build_servers(self):
        rng = self.rng
        statuses = self.rng.choices(STATUSES, weights=STATUS_WEIGHTS, k=self.n_servers)
        self.server_ports = {}  # server id -> [(port, net_name)]
        self.servers_by_project = {}
        order = []
        for project in self.projects:
            order.extend([project] * self.per_project_servers[project["id"]])
        rng.shuffle(order)
        counters = {}
        self.floating_candidates = []
        self.server_created = {}
        for i, project in enumerate(order):
            pid = project["id"]
            status, vm_state, power, task, _weight = statuses[i]
            role = ROLES[i % len(ROLES)]
            n = counters.get((pid, role), 0) + 1
            counters[(pid, role)] = n
            name = "%s-%d" % (role, n)
            if i % 9 == 4:
                name = "%s-%s-%d" % (role, UNICODE_NAMES[(i // 9) % len(UNICODE_NAMES)], n)
            when = self.tick(rng.randint(20, 90))
            updated = when + rng.randint(8, 3600)
            server_id = self.ids.uuid()
            host = self.hosts[i % len(self.hosts)]
            flavor = self.public_flavors[i % len(self.public_flavors)]
            boot_from_volume = i % 20 == 7
            image = self.boot_images[i % len(self.boot_images)]
            nets = self.project_nets[pid]
            placed = counters.get(pid, 0)
            counters[pid] = placed + 1
            slot = nets[(placed // self.servers_per_net) % len(nets)]
            ip = _ip4(slot["next_ip"])
            slot["next_ip"] += 1
            groups = self.sgs[pid]
            sg_names = ["default", "db"] if role == "db" else ["default", "web"]
            port_status_host = host if status not in ("BUILD",) else ""
            port = self.port(
                slot["net"],
                pid,
                [(ip, slot["subnet"]["id"])],
                when,
                device_id=server_id,
                device_owner="compute:%s" % AZS[i % len(AZS)],
                sgs=[groups[s]["id"] for s in sg_names],
                host=port_status_host,
            )
            addresses = {slot["net"]["name"]: [util.nova_address(port, ip)]}
            ports = [(port, slot)]
            for _extra_number in range(1, self.ports_per_server):
                extra_ip = _ip4(slot["next_ip"])
                slot["next_ip"] += 1
                extra_port = self.port(
                    slot["net"],
                    pid,
                    [(extra_ip, slot["subnet"]["id"])],
                    when,
                    device_id=server_id,
                    device_owner=port["device_owner"],
                    sgs=[groups["default"]["id"]],
                    host=port_status_host,
                )
                ports.append((extra_port, slot))
                addresses[slot["net"]["name"]].append(util.nova_address(extra_port, extra_ip))
            if i % 10 == 3:
                sip = _ip4(self.shared_next_ip)
                self.shared_next_ip += 1
                port2 = self.port(
                    self.shared_net,
                    pid,
                    [(sip, self.shared_subnet["id"])],
                    when,
                    device_id=server_id,
                    device_owner=port["device_owner"],
                    sgs=[groups["default"]["id"]],
                    host=port_status_host,
                )
                addresses[self.shared_net["name"]] = [util.nova_address(port2, sip)]
            if status == "ACTIVE" and i % 3 == 0:
                self.floating_candidates.append((server_id, port, slot, addresses[slot["net"]["name"]]))
            self.server_ports[server_id] = ports
            server = {
                "OS-DCF:diskConfig": "MANUAL",
                "OS-EXT-AZ:availability_zone": AZS[i % len(AZS)],
                "OS-EXT-SRV-ATTR:host": host if status != "BUILD" else None,
                "OS-EXT-SRV-ATTR:hostname": name.lower(),
                "OS-EXT-SRV-ATTR:hypervisor_hostname": (host + ".cloud.example") if status != "BUILD" else None,
                "OS-EXT-SRV-ATTR:instance_name": "instance-%08x" % (self.region_index * 1000000 + i + 1),
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:launch_index": 0,
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:reservation_id": "r-%08x" % rng.getrandbits(32),
                "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                "OS-EXT-SRV-ATTR:user_data": None,
                "OS-EXT-STS:power_state": power,
                "OS-EXT-STS:task_state": task,
                "OS-EXT-STS:vm_state": vm_state,
                "OS-SRV-USG:launched_at": util.fmt(when + 8, util.FMT_MICRO) if status != "BUILD" else None,
                "OS-SRV-USG:terminated_at": None,
                "accessIPv4": "",
                "accessIPv6": "",
                "addresses": addresses,
                "config_drive": "",
                "created": util.fmt(when),
                "description": None,
                "flavor": self.shared(
                    ("flavor", flavor["id"]),
                    {
                        "disk": flavor["disk"],
                        "ephemeral": 0,
                        "extra_specs": dict(flavor["extra_specs"]),
                        "original_name": flavor["name"],
                        "ram": flavor["ram"],
                        "swap": 0,
                        "vcpus": flavor["vcpus"],
                    },
                ),
                "hostId": self.host_id(pid, host) if status != "BUILD" else "",
                "host_status": "UP" if status != "BUILD" else "",
                "id": server_id,
                "image": "" if boot_from_volume else self.shared(("image", image["id"]), {"id": image["id"]}),
                "key_name": None if i % 7 == 5 else "%s-key" % project["name"],
                "locked": False,
                "locked_reason": None,
                "metadata": self.shared(("meta", role, i % 3), {"role": role, "env": ENVS[i % 3]}),
                "name": name,
                "os-extended-volumes:volumes_attached": [],
                "pinned_availability_zone": None,
                "progress": 0,
                "security_groups": self.shared(("sgn", *sg_names), [{"name": s} for s in sg_names]),
                "status": status,
                "tags": self.shared(("tags", role, i % 4 == 0), ["tier-%s" % role] if i % 4 == 0 else []),
                "tenant_id": pid,
                "trusted_image_certificates": None,
                "updated": util.fmt(updated),
                "user_id": self.user_id,
            }
            if status == "ERROR":
                server["fault"] = {
                    "code": 500,
                    "created": util.fmt(updated),
                    "message": "No valid host was found. There are not enough hosts available.",
                }
            if boot_from_volume:
                server["_boot_volume"] = True
            self.out["servers"].append(server)
            self.server_created[server_id] = when
            self.servers_by_project.setdefault(pid, []).append((server, port, slot))

    def _volume(self, project_id, name, size, when, status="available", bootable=False):
        return {
            "attachments": [],
            "availability_zone": "nova",
            "bootable": "true" if bootable else "false",
            "cluster_name": None,
            "consistencygroup_id": None,
            "consumes_quota": True,
            "created_at": util.fmt(when, util.FMT_MICRO),
            "description": None,
            "encrypted": False,
            "group_id": None,
            "id": self.ids.uuid(),
            "metadata": {},
            "migration_status": None,
            "multiattach": False,
            "name": name,
            "os-vol-host-attr:host": "cinder-%s@lvm#lvm" % self.region.lower()[:6],
            "os-vol-mig-status-attr:migstat": None,
            "os-vol-mig-status-attr:name_id": None,
            "os-vol-tenant-attr:tenant_id": project_id,
            "provider_id": None,
            "replication_status": None,
            "service_uuid": "c1d0e6f7-9a53-4f25-8d0f-%012x" % (self.region_index + 1),
            "shared_targets": False,
            "size": size,
            "snapshot_id": None,
            "source_volid": None,
            "status": status,
            "updated_at": util.fmt(when, util.FMT_MICRO),
            "user_id": self.user_id,
            "volume_type": "__DEFAULT__" if size < 50 else "ssd",
            "volume_type_id": "04b11a59-b457-4fd1-8dda-3958940e5504"
            if size < 50
            else "ed73f466-dfad-44ee-a907-60ae48eec804",
        }

    def build_volumes(self):
        rng = self.rng
        volumes = self.out["volumes"]
        for i, server in enumerate(self.out["servers"]):
            boot = server.pop("_boot_volume", False)
            attach = []
            if boot:
                attach.append(("/dev/vda", "%s-root" % server["name"], True))
            if i % 2 == 0 and server["status"] not in ("BUILD", "ERROR"):
                attach.append(("/dev/vdb", "%s-data" % server["name"], False))
            for device, vname, bootable in attach:
                when = self.server_created[server["id"]] + 5
                vol = self._volume(server["tenant_id"], vname, 10 if bootable else rng.choice((1, 5, 20, 100)), when)
                vol["bootable"] = "true" if bootable else "false"
                vol["status"] = "in-use"
                if bootable:
                    vol["volume_image_metadata"] = {
                        "image_id": self.boot_images[0]["id"],
                        "image_name": self.boot_images[0]["name"],
                    }
                vol["attachments"] = [
                    {
                        "attached_at": util.fmt(when + 3, util.FMT_MICRO),
                        "attachment_id": self.ids.uuid(),
                        "device": device,
                        "host_name": server["OS-EXT-SRV-ATTR:host"],
                        "id": vol["id"],
                        "server_id": server["id"],
                        "volume_id": vol["id"],
                    }
                ]
                vol["updated_at"] = util.fmt(when + 4, util.FMT_MICRO)
                server["os-extended-volumes:volumes_attached"].append(
                    {"delete_on_termination": bootable, "id": vol["id"]}
                )
                volumes.append(vol)
        n_free = self.counts.get("volumes", max(2, self.n_servers // 5))
        for i in range(n_free):
            project = self.projects[i % len(self.projects)]
            status = "error" if i % 17 == 16 else ("creating" if i % 23 == 22 else "available")
            name = "vol-%d" % i if i % 11 != 5 else "volume-%s-%d" % (UNICODE_NAMES[i % len(UNICODE_NAMES)], i)
            volumes.append(self._volume(project["id"], name, rng.choice((1, 2, 10, 50, 200)), self.tick(11), status))
        n_snaps = self.counts.get("volume_snapshots", max(1, len(volumes) // 3))
        candidates = [v for v in volumes if v["status"] in ("in-use", "available")]
        for i in range(min(n_snaps, len(candidates) * 3)):
            vol = candidates[(i * 3) % len(candidates)]
            when = self.tick(13)
            status = "error" if i % 19 == 18 else "available"
            self.out["volume_snapshots"].append(
                {
                    "consumes_quota": True,
                    "created_at": util.fmt(when, util.FMT_MICRO),
                    "description": None,
                    "group_snapshot_id": None,
                    "id": self.ids.uuid(),
                    "metadata": {},
                    "name": "%s-snap-%d" % (vol["name"], i),
                    "os-extended-snapshot-attributes:progress": "100%",
                    "os-extended-snapshot-attributes:project_id": vol["os-vol-tenant-attr:tenant_id"],
                    "size": vol["size"],
                    "status": status,
                    "updated_at": util.fmt(when, util.FMT_MICRO),
                    "user_id": self.user_id,
                    "volume_id": vol["id"],
                }
            )

    def _floating(self, project_id, when, port=None, fixed_ip=None, router_id=None):
        fip = {
            "description": "",
            "fixed_ip_address": fixed_ip,
            "floating_ip_address": self.next_ext_ip(),
            "floating_network_id": self.ext_net["id"],
            "id": self.ids.uuid(),
            "port_details": None,
            "port_forwardings": [],
            "port_id": None,
            "qos_policy_id": None,
            "router_id": router_id,
            "status": "DOWN",
        }
        fip.update(self.neutron_common(project_id, when))
        if port is not None:
            fip["port_id"] = port["id"]
            fip["status"] = "ACTIVE"
            fip["port_details"] = {
                "admin_state_up": True,
                "device_id": port["device_id"],
                "device_owner": port["device_owner"],
                "mac_address": port["mac_address"],
                "name": port["name"],
                "network_id": port["network_id"],
                "status": port["status"],
            }
        self.out["floating_ips"].append(fip)
        return fip

    def build_floating_ips(self):
        for _server_id, port, _slot, addr_list in list(self.floating_candidates):
            pid = port["project_id"]
            fixed = port["fixed_ips"][0]["ip_address"]
            fip = self._floating(pid, self.tick(2), port, fixed, self.project_router[pid]["id"])
            addr_list.append(util.nova_address(port, fip["floating_ip_address"], "floating"))
        n_free = self.counts.get("floating_ips", max(1, len(self.projects)))
        for i in range(n_free):
            self._floating(self.projects[i % len(self.projects)]["id"], self.tick(3))

    def build_load_balancers(self):
        default = max(len(self.projects), self.n_servers // 25) if self.n_servers >= 2 else 0
        n_lbs = self.counts.get("load_balancers", default)
        projects_with_servers = [p for p in self.projects if len(self.servers_by_project.get(p["id"], [])) >= 1]
        if not projects_with_servers:
            return
        for i in range(n_lbs):
            project = projects_with_servers[i % len(projects_with_servers)]
            pid = project["id"]
            members_src = self.servers_by_project[pid]
            first = (i // len(projects_with_servers)) * 3
            chosen = [members_src[(first + k) % len(members_src)] for k in range(min(3, len(members_src)))]
            seen = set()
            chosen = [c for c in chosen if not (c[0]["id"] in seen or seen.add(c[0]["id"]))]
            slot = chosen[0][2]
            when = self.tick(17)
            stamp = util.fmt(when, util.FMT_PLAIN)
            lb_id, listener_id, pool_id = self.ids.uuid(), self.ids.uuid(), self.ids.uuid()
            vip_ip = _ip4(slot["next_ip"])
            slot["next_ip"] += 1
            vip_port = self.port(
                slot["net"],
                pid,
                [(vip_ip, slot["subnet"]["id"])],
                when,
                device_id="lb-%s" % lb_id,
                device_owner="Octavia",
                name="octavia-lb-%s" % lb_id,
            )
            prov = "ERROR" if i % 13 == 12 else "ACTIVE"
            oper = ("ONLINE", "ONLINE", "DEGRADED", "OFFLINE")[i % 4] if prov == "ACTIVE" else "ERROR"
            name = "%s-lb-%d" % (project["name"], i) if i % 10 != 9 else "équilibreur-%d" % i
            common = {"created_at": stamp, "updated_at": stamp, "project_id": pid, "tenant_id": pid, "tags": []}
            members = []
            for server, port, _slot in chosen:
                member = {
                    "address": port["fixed_ips"][0]["ip_address"],
                    "admin_state_up": True,
                    "backup": False,
                    "id": self.ids.uuid(),
                    "monitor_address": None,
                    "monitor_port": None,
                    "name": server["name"],
                    "operating_status": "ONLINE" if server["status"] == "ACTIVE" else "ERROR",
                    "protocol_port": 80,
                    "provisioning_status": "ACTIVE",
                    "subnet_id": port["fixed_ips"][0]["subnet_id"],
                    "vnic_type": "normal",
                    "weight": 1,
                }
                member.update(common)
                members.append(member)
            self.out["members"].extend(members)
            pool = {
                "admin_state_up": True,
                "alpn_protocols": None,
                "ca_tls_container_ref": None,
                "crl_container_ref": None,
                "description": "",
                "healthmonitor_id": None,
                "id": pool_id,
                "lb_algorithm": "ROUND_ROBIN",
                "listeners": [{"id": listener_id}],
                "loadbalancers": [{"id": lb_id}],
                "members": [{"id": m["id"]} for m in members],
                "name": "%s-pool" % name,
                "operating_status": oper,
                "protocol": "HTTP",
                "provisioning_status": prov,
                "session_persistence": None,
                "tls_ciphers": None,
                "tls_container_ref": None,
                "tls_enabled": False,
                "tls_versions": None,
            }
            pool.update(common)
            listener = {
                "admin_state_up": True,
                "allowed_cidrs": None,
                "alpn_protocols": None,
                "client_authentication": "NONE",
                "client_ca_tls_container_ref": None,
                "client_crl_container_ref": None,
                "connection_limit": -1,
                "default_pool_id": pool_id,
                "default_tls_container_ref": None,
                "description": "",
                "hsts_include_subdomains": False,
                "hsts_max_age": None,
                "hsts_preload": False,
                "id": listener_id,
                "insert_headers": {},
                "l7policies": [],
                "loadbalancers": [{"id": lb_id}],
                "name": "%s-http" % name,
                "operating_status": oper,
                "protocol": "HTTP",
                "protocol_port": 80,
                "provisioning_status": prov,
                "sni_container_refs": [],
                "timeout_client_data": 50000,
                "timeout_member_connect": 5000,
                "timeout_member_data": 50000,
                "timeout_tcp_inspect": 0,
                "tls_ciphers": None,
                "tls_versions": None,
            }
            listener.update(common)
            lb = {
                "additional_vips": [],
                "admin_state_up": True,
                "availability_zone": None,
                "description": "",
                "flavor_id": None,
                "id": lb_id,
                "listeners": [{"id": listener_id}],
                "name": name,
                "operating_status": oper,
                "pools": [{"id": pool_id}],
                "provider": "amphora",
                "provisioning_status": prov,
                "vip_address": vip_ip,
                "vip_network_id": slot["net"]["id"],
                "vip_port_id": vip_port["id"],
                "vip_qos_policy_id": None,
                "vip_sg_ids": [],
                "vip_subnet_id": slot["subnet"]["id"],
                "vip_vnic_type": "normal",
            }
            lb.update(common)
            self.out["pools"].append(pool)
            self.out["listeners"].append(listener)
            self.out["load_balancers"].append(lb)
