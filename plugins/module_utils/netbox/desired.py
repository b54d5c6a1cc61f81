# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What NetBox should hold for a batch of servers, built from the CMDB view (``cmdb/netbox_view.py``).

Pure data: a ``Desired`` keyed by OpenStack id, with tenants, platforms and tags still named (not NetBox ids); the
runner resolves them and the reconcile compares the result with what NetBox has.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.cmdb.openstack.plugins.module_utils.clock import utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox.model import (
    CF_CLOUD,
    CF_DELETED_AT,
    CF_ID,
    CF_METADATA,
    CF_REGION,
    OS_TAG_PREFIX,
    clean_text,
    host_prefix,
    map_status,
    norm_mac,
)


def _attrs(row):
    attrs = row.attributes if row is not None else None
    return attrs if isinstance(attrs, dict) else {}


def _disk_mb(gigabytes):
    try:
        value = int(gigabytes or 0)
    except (TypeError, ValueError):
        return 0
    return max(value, 0) * 1000  # NetBox keeps disk sizes in MB (4.1 converted GB x 1000)


def vm_name(server, duplicates):
    name = clean_text(server.name).strip() or server.id
    if duplicates:
        name = "%s (%s)" % (name[:50], server.id[:8])
    return name[:64]


def server_metadata(attrs):
    """The server's metadata as a JSON object of strings (None when empty): data only, copied, never interpreted."""
    metadata = attrs.get("metadata")
    if not isinstance(metadata, dict) or not metadata:
        return None
    return dict(
        (clean_text(k), clean_text(v) if not isinstance(v, (dict, list)) else json.dumps(v))
        for k, v in metadata.items()
    )


def server_tags(attrs):
    """The server's tags (Nova 2.26+), cleaned: strings, stripped, unique, sorted."""
    tags = attrs.get("tags")
    if not isinstance(tags, list):
        return []
    return sorted(set(clean_text(t, 90).strip() for t in tags if isinstance(t, (str, int)) and clean_text(t).strip()))


def os_tag_name(tag):
    return OS_TAG_PREFIX + tag


class Desired:
    """What NetBox should hold for one batch of servers (keyed by OpenStack id)."""

    def __init__(self):
        self.vms = {}  # server id -> payload (without refs resolved: tenant/platform keys)
        self.deleted = {}  # server id -> deleted_at (tombstoned servers)
        self.interfaces = {}  # server id -> [payload]
        self.ips = {}  # server id -> [payload]
        self.disks = {}  # server id -> [payload]
        self.projects = set()
        self.images = {}  # image name -> None
        self.tags = set()  # OpenStack server tags of the batch


def build_desired(view, cloud, region, server_ids, retention_cutoff):
    """Read the CMDB view for ``server_ids`` and return a ``Desired``."""
    desired = Desired()
    servers = view.rows(cloud, region, "servers", server_ids)
    live = [s for s in servers.values() if s.deleted_at is None and map_status(s.status) != "decommissioning"]
    for server in servers.values():
        if server not in live:
            desired.deleted[server.id] = server.deleted_at or utcnow()
    # names that collide inside one (cluster, tenant): the earliest server keeps the plain name
    names = set(clean_text(s.name).strip().lower() for s in live if clean_text(s.name).strip())
    rivals = {}
    for row in view.same_names(cloud, region, names, retention_cutoff):
        rivals.setdefault((clean_text(row.name).strip().lower(), row.project_id), []).append(row)
    image_ids = set()
    for server in live:
        image = _attrs(server).get("image")
        if isinstance(image, dict) and image.get("id"):
            image_ids.add(image["id"])
    images = view.rows(cloud, region, "images", image_ids)
    live_ids = [s.id for s in live]
    ports_of = view.related_sources(cloud, region, "ports", "device", live_ids)
    port_rows = view.rows(cloud, region, "ports", [p for ids in ports_of.values() for p in ids])
    port_rows = dict((k, v) for k, v in port_rows.items() if v.deleted_at is None)
    fips_of = view.related_sources(cloud, region, "floating_ips", "port", list(port_rows))
    fip_rows = view.rows(cloud, region, "floating_ips", [f for ids in fips_of.values() for f in ids])
    subnet_ids = set()
    network_ids = set()
    for port in port_rows.values():
        network_ids.add(_attrs(port).get("network_id"))
        for fixed in _attrs(port).get("fixed_ips") or []:
            if isinstance(fixed, dict):
                subnet_ids.add(fixed.get("subnet_id"))
    subnets = view.rows(cloud, region, "subnets", subnet_ids)
    networks = view.rows(cloud, region, "networks", network_ids)
    vols_of = view.related_sources(cloud, region, "volumes", "servers", live_ids)
    vol_rows = view.rows(cloud, region, "volumes", [v for ids in vols_of.values() for v in ids])

    for server in sorted(live, key=lambda s: s.id):
        attrs = _attrs(server)
        key = (clean_text(server.name).strip().lower(), server.project_id)
        group = rivals.get(key, [])
        first = min(group, key=lambda r: (r.first_seen, r.id)) if len(group) > 1 else None
        flavor = attrs.get("flavor") if isinstance(attrs.get("flavor"), dict) else {}
        image = attrs.get("image")
        image_row = images.get(image.get("id")) if isinstance(image, dict) else None
        platform = clean_text(image_row.name if image_row is not None else "", 100).strip() or None
        if platform:
            desired.images[platform] = None
        if server.project_id:
            desired.projects.add(server.project_id)
        vm = {
            "name": vm_name(server, first is not None and first.id != server.id),
            "status": map_status(server.status),
            "vcpus": flavor.get("vcpus"),
            "memory": flavor.get("ram"),
            "platform": platform,
            "project": server.project_id,
            "description": clean_text(attrs.get("description") or "", 200),
            "custom_fields": {
                CF_ID: server.id,
                CF_CLOUD: cloud,
                CF_REGION: region,
                CF_DELETED_AT: None,
                CF_METADATA: server_metadata(attrs),
            },
            "os_tags": server_tags(attrs),
        }
        desired.tags.update(vm["os_tags"])
        desired.vms[server.id] = vm
        interfaces, ips = _interfaces_and_ips(
            server, attrs, ports_of.get(server.id, ()), port_rows, fips_of, fip_rows, subnets, networks, cloud
        )
        desired.interfaces[server.id] = interfaces
        desired.ips[server.id] = ips
        desired.disks[server.id] = _disks(server, flavor, vols_of.get(server.id, ()), vol_rows, cloud)
    return desired


def _unique_name(name, used, limit=64):
    name = (name or "").strip()[:limit] or "if"
    candidate = name
    n = 1
    while candidate.lower() in used:
        n += 1
        suffix = "-%d" % n
        candidate = name[: limit - len(suffix)] + suffix
    used.add(candidate.lower())
    return candidate


def _interfaces_and_ips(server, attrs, port_ids, port_rows, fips_of, fip_rows, subnets, networks, cloud):
    interfaces, ips = [], []
    used = set()
    macs_done = set()
    common = {CF_CLOUD: cloud}
    ports = sorted(
        (port_rows[p] for p in port_ids if p in port_rows),
        key=lambda p: (norm_mac(_attrs(p).get("mac_address")) or "", p.id),
    )
    for port in ports:
        pattrs = _attrs(port)
        network = networks.get(pattrs.get("network_id"))
        label = (
            clean_text(port.name).strip()
            or (clean_text(network.name).strip() if network is not None else "")
            or ("port-" + port.id[:8])
        )
        mac = norm_mac(pattrs.get("mac_address"))
        macs_done.add(mac)
        interfaces.append(
            {
                "key": port.id,
                "name": _unique_name(label, used),
                "enabled": bool(pattrs.get("admin_state_up", True)),
                "mac_address": mac,
                "description": clean_text(
                    "network %s" % (network.name if network is not None else pattrs.get("network_id") or "?"), 200
                ),
                "custom_fields": dict(common, **{CF_ID: port.id}),
            }
        )
        fixed_by_addr = {}
        for fixed in pattrs.get("fixed_ips") or []:
            if not isinstance(fixed, dict):
                continue
            subnet = subnets.get(fixed.get("subnet_id"))
            address = host_prefix(fixed.get("ip_address"), _attrs(subnet).get("cidr") if subnet is not None else None)
            if not address:
                continue
            key = "%s:%s" % (port.id, fixed.get("ip_address"))
            fixed_by_addr[str(fixed.get("ip_address"))] = key
            ips.append(
                {
                    "key": key,
                    "interface": port.id,
                    "address": address,
                    "floating": False,
                    "nat_inside": None,
                    "project": port.project_id or server.project_id,
                    "custom_fields": dict(common, **{CF_ID: key}),
                }
            )
        for fip_id in sorted(fips_of.get(port.id, ())):
            fip = fip_rows.get(fip_id)
            if fip is None or fip.deleted_at is not None:
                continue
            fattrs = _attrs(fip)
            address = host_prefix(fattrs.get("floating_ip_address"))
            if not address:
                continue
            ips.append(
                {
                    "key": fip.id,
                    "interface": port.id,
                    "address": address,
                    "floating": True,
                    "nat_inside": fixed_by_addr.get(str(fattrs.get("fixed_ip_address"))),
                    "project": fip.project_id or server.project_id,
                    "custom_fields": dict(common, **{CF_ID: fip.id}),
                }
            )
    # Addresses the server lists on MACs no synced port covers (ports not in the CMDB): one interface per MAC.
    addresses = attrs.get("addresses") if isinstance(attrs.get("addresses"), dict) else {}
    fallback = {}
    for network_name in sorted(addresses, key=str):
        for entry in addresses[network_name] or []:
            if not isinstance(entry, dict):
                continue
            mac = norm_mac(entry.get("OS-EXT-IPS-MAC:mac_addr"))
            if not mac or mac in macs_done:
                continue
            key = "%s/%s" % (server.id, mac)
            if mac not in fallback:
                fallback[mac] = key
                interfaces.append(
                    {
                        "key": key,
                        "name": _unique_name(clean_text(network_name), used),
                        "enabled": True,
                        "mac_address": mac,
                        "description": clean_text("network %s" % network_name, 200),
                        "custom_fields": dict(common, **{CF_ID: key}),
                    }
                )
            address = host_prefix(entry.get("addr"))
            if not address:
                continue
            floating = entry.get("OS-EXT-IPS:type") == "floating"
            ip_key = "%s/%s" % (key, entry.get("addr"))
            ips.append(
                {
                    "key": ip_key,
                    "interface": key,
                    "address": address,
                    "floating": floating,
                    "nat_inside": None,
                    "project": server.project_id,
                    "custom_fields": dict(common, **{CF_ID: ip_key}),
                }
            )
    return interfaces, ips


def _disks(server, flavor, volume_ids, vol_rows, cloud):
    disks, used = [], set()
    common = {CF_CLOUD: cloud}
    root = _disk_mb(flavor.get("disk"))
    if root:
        key = "%s:root" % server.id
        disks.append(
            {
                "key": key,
                "name": _unique_name("root", used),
                "size": root,
                "description": "flavor root disk",
                "custom_fields": dict(common, **{CF_ID: key}),
            }
        )
    ephemeral = _disk_mb(flavor.get("ephemeral"))
    if ephemeral:
        key = "%s:ephemeral" % server.id
        disks.append(
            {
                "key": key,
                "name": _unique_name("ephemeral", used),
                "size": ephemeral,
                "description": "flavor ephemeral disk",
                "custom_fields": dict(common, **{CF_ID: key}),
            }
        )
    for vid in sorted(volume_ids):
        vol = vol_rows.get(vid)
        if vol is None or vol.deleted_at is not None:
            continue
        vattrs = _attrs(vol)
        device = ""
        for attachment in vattrs.get("attachments") or []:
            if isinstance(attachment, dict) and attachment.get("server_id") == server.id:
                device = clean_text(attachment.get("device"))
        size = _disk_mb(vattrs.get("size"))
        if not size:
            continue
        disks.append(
            {
                "key": vol.id,
                "name": _unique_name(clean_text(vol.name).strip() or vol.id, used),
                "size": size,
                "description": clean_text(("volume %s %s" % (vol.id, device)).strip(), 200),
                "custom_fields": dict(common, **{CF_ID: vol.id}),
            }
        )
    return disks
