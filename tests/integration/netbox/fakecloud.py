"""A consistent set of OpenStack API items (as the real APIs return them) written into a CMDB by its own writer.

Used where a simulator run would only add time: the NetBox benchmark (1,000 servers) and tests that need
exact control over one field. Items go through ``normalize.normalize`` and ``CmdbWriter`` exactly as
``cmdb_sync`` writes them, so the CMDB rows, relations and change log are the real thing.
"""

from __future__ import annotations

import copy
import uuid

from ansible_collections.cmdb.openstack.plugins.module_utils import normalize
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.apply import CmdbWriter
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
from ansible_collections.cmdb.openstack.plugins.module_utils.gather import Scope

TYPES = ("images", "networks", "subnets", "servers", "ports", "floating_ips", "volumes")


class _Report:
    status = "ok"
    message = None
    http_status = None


def _uuid(seed, *parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join([str(seed), *map(str, parts)])))


class FakeCloud:
    """``items[type][id] = api item``; edit them, then ``write(url)`` records a sync in the CMDB."""

    def __init__(self, name="demo", region="RegionOne", servers=10, projects=2, seed=0):
        self.name, self.region, self.seed = name, region, seed
        self.items = {t: {} for t in TYPES}
        self.projects = [uuid.UUID(_uuid(seed, "project", p)).hex for p in range(projects)]
        self.image = self.add(
            "images",
            {"id": _uuid(seed, "image", 0), "name": "Debian 13", "status": "active", "owner": self.projects[0]},
        )
        self.networks, self.subnets = {}, {}
        for index, project in enumerate(self.projects):
            net = self.add(
                "networks",
                {"id": _uuid(seed, "net", index), "name": "net-%d" % index, "project_id": project, "status": "ACTIVE"},
            )
            sub = self.add(
                "subnets",
                {
                    "id": _uuid(seed, "subnet", index),
                    "name": "subnet-%d" % index,
                    "network_id": net["id"],
                    "cidr": "10.0.%d.0/24" % (index % 250),
                    "ip_version": 4,
                    "project_id": project,
                },
            )
            self.networks[project], self.subnets[project] = net, sub
        for index in range(servers):
            self.add_server(index)

    def add(self, rtype, item):
        self.items[rtype][item["id"]] = item
        return item

    def add_server(self, index, name=None, volume=True, floating=None):
        project = self.projects[index % len(self.projects)]
        net, sub = self.networks[project], self.subnets[project]
        sid = _uuid(self.seed, "server", index)
        mac = "fa:16:3e:%02x:%02x:%02x" % ((index >> 16) & 255, (index >> 8) & 255, index & 255)
        fixed = "10.0.%d.%d" % (self.projects.index(project) % 250, 10 + index % 240)
        port = self.add(
            "ports",
            {
                "id": _uuid(self.seed, "port", index),
                "name": "",
                "network_id": net["id"],
                "mac_address": mac,
                "fixed_ips": [{"subnet_id": sub["id"], "ip_address": fixed}],
                "device_id": sid,
                "device_owner": "compute:nova",
                "admin_state_up": True,
                "status": "ACTIVE",
                "project_id": project,
            },
        )
        addresses = {
            net["name"]: [{"OS-EXT-IPS-MAC:mac_addr": mac, "OS-EXT-IPS:type": "fixed", "addr": fixed, "version": 4}]
        }
        if floating if floating is not None else index % 3 == 0:
            address = "192.0.%d.%d" % (2 + (index // 250) % 200, 1 + index % 250)
            self.add(
                "floating_ips",
                {
                    "id": _uuid(self.seed, "fip", index),
                    "floating_ip_address": address,
                    "fixed_ip_address": fixed,
                    "port_id": port["id"],
                    "status": "ACTIVE",
                    "project_id": project,
                    "floating_network_id": _uuid(self.seed, "public"),
                    "port_details": {"device_id": sid, "device_owner": "compute:nova"},
                },
            )
            addresses[net["name"]].append(
                {"OS-EXT-IPS-MAC:mac_addr": mac, "OS-EXT-IPS:type": "floating", "addr": address, "version": 4}
            )
        attached = []
        if volume:
            vol = self.add(
                "volumes",
                {
                    "id": _uuid(self.seed, "vol", index),
                    "name": "vol-%d" % index,
                    "size": 10 + index % 5,
                    "status": "in-use",
                    "os-vol-tenant-attr:tenant_id": project,
                    "attachments": [
                        {"server_id": sid, "device": "/dev/vdb", "volume_id": _uuid(self.seed, "vol", index)}
                    ],
                },
            )
            attached.append({"id": vol["id"]})
        return self.add(
            "servers",
            {
                "id": sid,
                "name": name or "vm-%d" % index,
                "status": "ACTIVE",
                "tenant_id": project,
                "flavor": {"original_name": "m1.small", "vcpus": 2, "ram": 2048, "disk": 20, "ephemeral": 0, "swap": 0},
                "image": {"id": self.image["id"]},
                "addresses": addresses,
                "key_name": None,
                "os-extended-volumes:volumes_attached": attached,
                "security_groups": [],
                "metadata": {},
                "created": "2026-11-23T11:44:48Z",
                "updated": "2026-11-23T11:44:56Z",
            },
        )

    def server(self, index):
        return self.items["servers"][_uuid(self.seed, "server", index)]

    def delete_server(self, index):
        self.items["servers"].pop(_uuid(self.seed, "server", index))
        for rtype, tag in (("ports", "port"), ("floating_ips", "fip"), ("volumes", "vol")):
            self.items[rtype].pop(_uuid(self.seed, tag, index), None)

    def write(self, url, types=TYPES):
        """Record one complete listing of ``types`` in the CMDB at ``url`` (what cmdb_sync does)."""
        store = open_store(url)
        try:
            writer = CmdbWriter(store, cloud=self.name)
            for rtype in types:
                scope = Scope(self.name, self.region, rtype)
                writer.start(scope)
                records = [
                    normalize.normalize(rtype, copy.deepcopy(item), self.name, self.region)
                    for item in self.items[rtype].values()
                ]
                for i in range(0, len(records), 1000):
                    writer.page(scope, records[i : i + 1000])
                writer.finish(scope, _Report())
            return writer.results()
        finally:
            store.close()
