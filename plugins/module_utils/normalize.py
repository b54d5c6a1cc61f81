# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""API item -> record: the common envelope, the attributes and the relations.

The record format is the contract of docs/architecture.md::

    {"id", "name", "type", "cloud", "region", "project_id", "status", "created_at", "updated_at",
     "attributes": {...the API item minus "links"...},
     "relations": [{"relation", "target_type", "target_id", "target_name"}, ...]}

Every value comes from a cloud and is untrusted: it is copied, never interpreted, and a
malformed item (wrong types anywhere) gives a record with fewer relations, never an exception.
Relations point at other records by id where the API gives one; where it does not (Nova gives
flavor names since microversion 2.47, security group names, network names, MAC addresses and
floating addresses), ``target_id`` is None and ``target_name`` holds the value to match on:
the target record's ``name`` (flavors, security groups, networks, keypairs, floating IPs,
whose name is their address) or, for ``ports``, the port's MAC address.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog as _catalog

ENVELOPE = ("id", "name", "type", "cloud", "region", "project_id", "status", "created_at", "updated_at")

# Target types of relations that point at objects which are not catalog types of their own.
LISTENERS = "load_balancer_listeners"
POOLS = "load_balancer_pools"
MEMBERS = "load_balancer_members"
KEYPAIRS = "keypairs"


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _text(value):
    """An id or name as a string (None/"" -> None); other scalars are stringified."""
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


class _Relations:
    __slots__ = ("_seen", "items")

    def __init__(self):
        self.items = []
        self._seen = set()

    def add(self, relation, target_type, target_id=None, target_name=None):
        # _text() inlined for the common cases (a str or None): this runs several times per item
        if target_id.__class__ is str:
            target_id = target_id or None
        elif target_id is not None:
            target_id = _text(target_id)
        if target_name.__class__ is str:
            target_name = target_name or None
        elif target_name is not None:
            target_name = _text(target_name)
        if target_id is None and target_name is None:
            return
        key = (relation, target_type, target_id, target_name)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(
            {"relation": relation, "target_type": target_type, "target_id": target_id, "target_name": target_name}
        )


def _server(item, rel):
    flavor = item.get("flavor")
    if isinstance(flavor, dict):
        rel.add("flavor", "flavors", flavor.get("id"), flavor.get("original_name") or flavor.get("name"))
    image = item.get("image")
    if isinstance(image, dict):
        rel.add("image", "images", image.get("id"))
    elif isinstance(image, str):
        rel.add("image", "images", image)
    addresses = _dict(item.get("addresses"))
    for network_name, entries in addresses.items():
        rel.add("networks", "networks", None, network_name)
        for entry in _list(entries):
            entry = _dict(entry)
            mac = entry.get("OS-EXT-IPS-MAC:mac_addr")
            if entry.get("OS-EXT-IPS:type") == "floating":
                rel.add("floating_ips", "floating_ips", None, entry.get("addr"))
            elif mac:
                rel.add("ports", "ports", None, mac)
    for group in _list(item.get("security_groups")):
        group = _dict(group)
        rel.add("security_groups", "security_groups", group.get("id"), group.get("name"))
    for volume in _list(item.get("os-extended-volumes:volumes_attached")):
        rel.add("volumes", "volumes", _dict(volume).get("id"))
    rel.add("keypair", KEYPAIRS, None, item.get("key_name"))


def _device_target(owner, device_id):
    owner = owner if isinstance(owner, str) else ""
    device_id = _text(device_id)
    if not device_id:
        return None, None
    if owner.startswith("compute:"):
        return "servers", device_id
    if owner.startswith("network:router") or owner == "network:ha_router_replicated_interface":
        return "routers", device_id
    if owner == "network:floatingip":
        return "floating_ips", device_id
    if owner.lower() == "octavia" or owner.startswith("Octavia"):
        return "load_balancers", device_id[3:] if device_id.startswith("lb-") else device_id
    return None, None


def _port(item, rel):
    rel.add("network", "networks", item.get("network_id"))
    for fixed in _list(item.get("fixed_ips")):
        fixed = _dict(fixed)
        rel.add("subnets", "subnets", fixed.get("subnet_id"), fixed.get("ip_address"))
    target_type, target_id = _device_target(item.get("device_owner"), item.get("device_id"))
    if target_type:
        rel.add("device", target_type, target_id)
    for group in _list(item.get("security_groups")):
        rel.add("security_groups", "security_groups", group)


def _volume(item, rel):
    for attachment in _list(item.get("attachments")):
        attachment = _dict(attachment)
        rel.add("servers", "servers", attachment.get("server_id"), attachment.get("device"))
    rel.add("snapshot", "volume_snapshots", item.get("snapshot_id"))
    rel.add("source_volume", "volumes", item.get("source_volid"))
    image = _dict(item.get("volume_image_metadata"))
    rel.add("image", "images", image.get("image_id"), image.get("image_name"))


def _snapshot(item, rel):
    rel.add("volume", "volumes", item.get("volume_id"))


def _network(item, rel):
    for subnet in _list(item.get("subnets")):
        rel.add("subnets", "subnets", subnet)


def _subnet(item, rel):
    rel.add("network", "networks", item.get("network_id"))


def _router(item, rel):
    gateway = _dict(item.get("external_gateway_info"))
    rel.add("external_network", "networks", gateway.get("network_id"))
    for fixed in _list(gateway.get("external_fixed_ips")):
        fixed = _dict(fixed)
        rel.add("subnets", "subnets", fixed.get("subnet_id"), fixed.get("ip_address"))
    for interface in _list(item.get("interfaces")):
        interface = _dict(interface)
        rel.add("subnets", "subnets", interface.get("subnet_id"), interface.get("ip_address"))
        rel.add("ports", "ports", interface.get("port_id"), interface.get("ip_address"))


def _floating_ip(item, rel):
    rel.add("port", "ports", item.get("port_id"), item.get("fixed_ip_address") if item.get("port_id") else None)
    rel.add("floating_network", "networks", item.get("floating_network_id"))
    rel.add("router", "routers", item.get("router_id"))
    details = _dict(item.get("port_details"))
    target_type, target_id = _device_target(details.get("device_owner"), details.get("device_id"))
    if target_type == "servers":
        rel.add("server", "servers", target_id)


def _security_group(item, rel):
    for rule in _list(item.get("security_group_rules")):
        rel.add("remote_groups", "security_groups", _dict(rule).get("remote_group_id"))


def _load_balancer(item, rel):
    rel.add("vip_port", "ports", item.get("vip_port_id"), item.get("vip_address"))
    rel.add("vip_subnet", "subnets", item.get("vip_subnet_id"))
    rel.add("vip_network", "networks", item.get("vip_network_id"))
    for listener in _list(item.get("listeners")):
        listener = _dict(listener)
        rel.add("listeners", LISTENERS, listener.get("id"), listener.get("name"))
    for pool in _list(item.get("pools")):
        pool = _dict(pool)
        rel.add("pools", POOLS, pool.get("id"), pool.get("name"))
        for member in _list(pool.get("members")):
            member = _dict(member)
            rel.add("members", MEMBERS, member.get("id"), member.get("address"))
            if member.get("address") or member.get("port_id"):
                rel.add("member_ports", "ports", member.get("port_id"), member.get("address"))


_RELATIONS = {
    "servers": _server,
    "ports": _port,
    "volumes": _volume,
    "volume_snapshots": _snapshot,
    "networks": _network,
    "subnets": _subnet,
    "routers": _router,
    "floating_ips": _floating_ip,
    "security_groups": _security_group,
    "load_balancers": _load_balancer,
}


def relations_for(rtype, item):
    """The relations of one API item (a list of relation dicts)."""
    name = rtype.name if hasattr(rtype, "name") else _catalog.get_type(rtype).name
    rel = _Relations()
    function = _RELATIONS.get(name)
    if function is not None and isinstance(item, dict):
        function(item, rel)
    return rel.items


# type name -> (name key, project key, status key, created key, updated key, relations function):
# what normalize() looks up in the catalog entry, computed once per type instead of once per item.
_PLANS = {}


def _plan(rtype):
    plan = _PLANS.get(rtype.name)
    if plan is None:
        fields = rtype.fields
        plan = tuple(fields.get(key) for key in ("name", "project_id", "status", "created_at", "updated_at"))
        plan += (_RELATIONS.get(rtype.name),)
        _PLANS[rtype.name] = plan
    return plan


def normalize(rtype, item, cloud, region):
    """One API item of type ``rtype`` (catalog entry or name) -> a record."""
    if not hasattr(rtype, "fields"):
        rtype = _catalog.get_type(rtype)
    if not isinstance(item, dict):
        item = {"id": item}
    name_key, project_key, status_key, created_key, updated_key, function = _plan(rtype)
    attributes = dict(item)  # the API item minus "links", in the API's key order
    attributes.pop("links", None)
    name = item.get(name_key) if name_key else None
    rel = _Relations()
    if function is not None:
        function(item, rel)
    # plain dicts: insertion-ordered on every Python the collection supports, and cheaper
    return {
        "id": _text(item.get("id")),
        "name": name if isinstance(name, str) or name is None else str(name),
        "type": rtype.name,
        "cloud": cloud,
        "region": region,
        "project_id": _text(item.get(project_key)) if project_key else None,
        "status": _text(item.get(status_key)) if status_key else None,
        "created_at": _text(item.get(created_key)) if created_key else None,
        "updated_at": _text(item.get(updated_key)) if updated_key else None,
        "attributes": attributes,
        "relations": rel.items,
    }


def is_partial(rtype, record):
    """True when the API could not fill the item (Nova's servers of a cell that is down: status
    UNKNOWN and few fields): such a record must never replace what the CMDB holds."""
    if not hasattr(rtype, "fields"):
        rtype = _catalog.get_type(rtype)
    if not rtype.partial_statuses and not rtype.complete_keys:
        return False
    if record.get("status") in rtype.partial_statuses:
        return True
    attributes = record.get("attributes")
    if not isinstance(attributes, dict):
        return True
    return any(key not in attributes for key in rtype.complete_keys)
