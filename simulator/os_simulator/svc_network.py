"""Neutron (network v2.0): networks, subnets, ports, routers, floating IPs, security groups and rules."""

from __future__ import annotations

import ipaddress
import secrets

from . import util
from .base import serve_list
from .http_util import HttpError, scalar_matches, sort_items

# URL collection -> (store type, singular, NotFound type name, display name)
COLLECTIONS = {
    "networks": ("networks", "network", "NetworkNotFound", "Network"),
    "subnets": ("subnets", "subnet", "SubnetNotFound", "Subnet"),
    "ports": ("ports", "port", "PortNotFound", "Port"),
    "routers": ("routers", "router", "RouterNotFound", "Router"),
    "floatingips": ("floating_ips", "floatingip", "FloatingIPNotFound", "Floating IP"),
    "security-groups": ("security_groups", "security_group", "SecurityGroupNotFound", "Security group"),
    "security-group-rules": (
        "security_group_rules",
        "security_group_rule",
        "SecurityGroupRuleNotFound",
        "Security group rule",
    ),
}
RESERVED = {"limit", "marker", "page_reverse", "fields", "sort_key", "sort_dir", "tags", "tags-any", "not-tags"}
RESERVED |= {"not-tags-any", "fixed_ips", "all_tenants", "all_projects"}


def _common(project_id):
    stamp = util.fmt(util.now())
    return {
        "created_at": stamp,
        "updated_at": stamp,
        "project_id": project_id,
        "tenant_id": project_id,
        "revision_number": 0,
        "tags": [],
    }


def _public_network_ids(store):
    return {n["id"] for n in store.table("networks").items.values() if n.get("shared") or n.get("router:external")}


def list_collection(ctx, collection):
    tname, _singular, _nf, _display = COLLECTIONS[collection]
    admin = ctx.admin
    project = None if admin else ctx.project_id
    q = ctx.q
    filters = tuple(sorted((k, tuple(v)) for k, v in q.items() if k not in RESERVED))
    fixed = tuple(q.get("fixed_ips", ()))
    tagq = tuple(sorted((k, tuple(v)) for k, v in q.items() if k in ("tags", "tags-any", "not-tags", "not-tags-any")))
    fields = tuple(sorted(set(q.get("fields", ())))) if "fields" in q else ()
    sort = (tuple(q.get("sort_key", ())), tuple(q.get("sort_dir", ())))
    listing_key = (tname, project, filters, fixed, tagq, sort)
    table = ctx.store.table(tname)
    store = ctx.store

    def build():
        public_nets = _public_network_ids(store) if project is not None and tname in ("networks", "subnets") else set()
        wanted_fixed = []
        for value in fixed:
            key, _sep, val = value.partition("=")
            wanted_fixed.append((key, val))
        out = []
        for item in table.ordered():
            if project is not None and item.get("project_id") != project:
                if tname == "networks" and item["id"] in public_nets:
                    pass
                elif tname == "subnets" and item["network_id"] in public_nets:
                    pass
                else:
                    continue
            ok = True
            for key, values in filters:
                if key not in item:
                    continue  # unknown filters are ignored
                current = item[key]
                if isinstance(current, (list, dict)):
                    continue
                if not any(scalar_matches(current, v) for v in values):
                    ok = False
                    break
            if ok and wanted_fixed:
                ips = item.get("fixed_ips") or []
                for key, val in wanted_fixed:
                    if key == "ip_address_substr":
                        ok = any(val in f["ip_address"] for f in ips)
                    else:
                        ok = any(f.get(key) == val for f in ips)
                    if not ok:
                        break
            if ok and tagq:
                tags = set(item.get("tags") or [])
                for key, values in tagq:
                    wanted = {t for v in values for t in v.split(",") if t}
                    if key == "tags" and not wanted <= tags:
                        ok = False
                    elif key == "tags-any" and not wanted & tags:
                        ok = False
                    elif key == "not-tags" and wanted and wanted <= tags:
                        ok = False
                    elif key == "not-tags-any" and wanted & tags:
                        ok = False
            if ok:
                out.append(item)
        if sort[0]:
            out = sort_items(out, sort[0][0], sort[1][0] if sort[1] else "asc")
        return out

    if fields:

        def render(item):
            return {k: v for k, v in item.items() if k in fields}

    else:

        def render(item):
            return item

    return serve_list(
        ctx,
        tname,
        listing_key,
        build,
        render,
        ("neutron", fields),
        "neutron",
        collection_key=collection.replace("-", "_"),
    )


def _get(ctx, collection, item_id):
    tname, _singular, not_found, display = COLLECTIONS[collection]
    item = ctx.store.table(tname).items.get(item_id)
    if item is not None and not ctx.admin and item.get("project_id") != ctx.project_id:
        if not (tname == "networks" and (item.get("shared") or item.get("router:external"))):
            item = None
    if item is None:
        raise HttpError(404, "%s %s could not be found." % (display, item_id), kind=not_found)
    return item


def _next_ip(store, subnet):
    net = ipaddress.ip_network(subnet["cidr"], strict=False)
    used = set()
    for port in store.table("ports").items.values():
        for fixed in port["fixed_ips"]:
            if fixed["subnet_id"] == subnet["id"]:
                used.add(fixed["ip_address"])
    start = int(net.network_address) + 10
    for value in range(start, int(net.broadcast_address)):
        candidate = str(ipaddress.ip_address(value))
        if candidate not in used:
            return candidate
    raise HttpError(
        409, "No more IP addresses available on network %s." % subnet["network_id"], kind="IpAddressGenerationFailure"
    )


def _mac(store):
    del store
    return "fa:16:3e:%02x:%02x:%02x" % tuple(secrets.token_bytes(3))


def allocate_port(ctx, network_id, project_id, device_id="", device_owner="", host="", fixed_ips=None, name=""):
    store = ctx.store
    network = store.table("networks").items.get(network_id)
    if network is None:
        raise HttpError(404, "Network %s could not be found." % network_id, kind="NetworkNotFound")
    subnets = [store.table("subnets").items[s] for s in network["subnets"] if s in store.table("subnets").items]
    ips = []
    if fixed_ips:
        for fixed in fixed_ips:
            subnet = store.table("subnets").items.get(fixed.get("subnet_id")) if fixed.get("subnet_id") else None
            subnet = subnet or (subnets[0] if subnets else None)
            if subnet is None:
                continue
            ips.append({"ip_address": fixed.get("ip_address") or _next_ip(store, subnet), "subnet_id": subnet["id"]})
    elif subnets:
        ips.append({"ip_address": _next_ip(store, subnets[0]), "subnet_id": subnets[0]["id"]})
    sgs = []
    if device_owner.startswith("compute:"):
        sgs = [
            sg["id"]
            for sg in store.table("security_groups").items.values()
            if sg["project_id"] == project_id and sg["name"] == "default"
        ]
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
        "extra_dhcp_opts": [],
        "fixed_ips": ips,
        "id": util.new_uuid(),
        "ip_allocation": "immediate",
        "mac_address": _mac(store),
        "name": name,
        "network_id": network_id,
        "port_security_enabled": True,
        "qos_network_policy_id": None,
        "qos_policy_id": None,
        "resource_request": None,
        "security_groups": sgs,
        "status": "ACTIVE" if host else "DOWN",
    }
    port.update(_common(project_id))
    store.put("ports", port)
    return port


def _owner(ctx, body):
    project = body.get("project_id") or body.get("tenant_id")
    if project and project != ctx.project_id and not ctx.admin:
        raise HttpError(403, "Policy doesn't allow this operation to be performed.", kind="PolicyNotAuthorized")
    return project or ctx.project_id


def create(ctx, collection):
    ctx.mutating()
    tname, singular, _nf, _display = COLLECTIONS[collection]
    body = (ctx.body or {}).get(singular)
    if not isinstance(body, dict):
        raise HttpError(400, "Resource body required", kind="HTTPBadRequest")
    store = ctx.store
    project = _owner(ctx, body)
    with store.lock:
        if tname == "networks":
            item = {
                "admin_state_up": bool(body.get("admin_state_up", True)),
                "availability_zone_hints": [],
                "availability_zones": [],
                "description": body.get("description", ""),
                "id": util.new_uuid(),
                "ipv4_address_scope": None,
                "ipv6_address_scope": None,
                "l2_adjacency": True,
                "mtu": int(body.get("mtu", 1450)),
                "name": body.get("name", ""),
                "port_security_enabled": bool(body.get("port_security_enabled", True)),
                "provider:network_type": "vxlan",
                "provider:physical_network": None,
                "provider:segmentation_id": 4000 + len(store.table("networks").items),
                "qos_policy_id": None,
                "router:external": bool(body.get("router:external", False)),
                "shared": bool(body.get("shared", False)),
                "status": "ACTIVE",
                "subnets": [],
            }
        elif tname == "subnets":
            network = _get(ctx, "networks", body.get("network_id"))
            cidr = body.get("cidr")
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except (TypeError, ValueError):
                raise HttpError(
                    400, "Invalid input for cidr. Reason: '%s' is not a valid IP subnet." % cidr, kind="HTTPBadRequest"
                ) from None
            hosts = (
                list(net.hosts())
                if net.num_addresses <= 65536
                else [net.network_address + 1, net.broadcast_address - 1]
            )
            item = {
                "allocation_pools": body.get("allocation_pools") or [{"start": str(hosts[1]), "end": str(hosts[-1])}],
                "cidr": str(net),
                "description": body.get("description", ""),
                "dns_nameservers": list(body.get("dns_nameservers") or []),
                "enable_dhcp": bool(body.get("enable_dhcp", True)),
                "gateway_ip": body.get("gateway_ip", str(hosts[0])),
                "host_routes": [],
                "id": util.new_uuid(),
                "ip_version": net.version,
                "ipv6_address_mode": None,
                "ipv6_ra_mode": None,
                "name": body.get("name", ""),
                "network_id": network["id"],
                "router:external": network["router:external"],
                "segment_id": None,
                "service_types": [],
                "subnetpool_id": None,
            }
            store.update("networks", network["id"], {"subnets": [*network["subnets"], item["id"]]})
        elif tname == "ports":
            network = _get(ctx, "networks", body.get("network_id"))
            port = allocate_port(
                ctx,
                network["id"],
                project,
                device_id=body.get("device_id", ""),
                device_owner=body.get("device_owner", ""),
                fixed_ips=body.get("fixed_ips"),
                name=body.get("name", ""),
            )
            return ctx.ok({"port": port}, 201)
        elif tname == "routers":
            gateway = body.get("external_gateway_info")
            info = None
            if gateway and gateway.get("network_id"):
                ext = _get(ctx, "networks", gateway["network_id"])
                gw_port = allocate_port(ctx, ext["id"], "", device_owner="network:router_gateway", host="net-sim")
                info = {
                    "enable_snat": True,
                    "external_fixed_ips": gw_port["fixed_ips"],
                    "network_id": ext["id"],
                }
            item = {
                "admin_state_up": True,
                "availability_zone_hints": [],
                "availability_zones": [],
                "description": body.get("description", ""),
                "distributed": False,
                "external_gateway_info": info,
                "flavor_id": None,
                "ha": False,
                "id": util.new_uuid(),
                "name": body.get("name", ""),
                "routes": [],
                "status": "ACTIVE",
            }
            if info:
                gw = [
                    p
                    for p in store.table("ports").items.values()
                    if p["device_owner"] == "network:router_gateway" and not p["device_id"]
                ]
                for p in gw:
                    store.update("ports", p["id"], {"device_id": item["id"]})
        elif tname == "floating_ips":
            ext = _get(ctx, "networks", body.get("floating_network_id"))
            subnet_id = ext["subnets"][0] if ext["subnets"] else None
            subnet = store.table("subnets").items.get(subnet_id)
            used = {f["floating_ip_address"] for f in store.table("floating_ips").items.values()}
            used |= {
                f["ip_address"]
                for p in store.table("ports").items.values()
                for f in p["fixed_ips"]
                if f["subnet_id"] == subnet_id
            }
            address = body.get("floating_ip_address")
            if not address and subnet:
                base = ipaddress.ip_network(subnet["cidr"], strict=False)
                value = int(base.network_address) + 10
                while str(ipaddress.ip_address(value)) in used:
                    value += 1
                address = str(ipaddress.ip_address(value))
            item = {
                "description": body.get("description", ""),
                "fixed_ip_address": None,
                "floating_ip_address": address,
                "floating_network_id": ext["id"],
                "id": util.new_uuid(),
                "port_details": None,
                "port_forwardings": [],
                "port_id": None,
                "qos_policy_id": None,
                "router_id": None,
                "status": "DOWN",
            }
            item.update(_common(project))
            if body.get("port_id"):
                _associate(ctx, item, body["port_id"], body.get("fixed_ip_address"))
            store.put("floating_ips", item)
            return ctx.ok({"floatingip": item}, 201)
        elif tname == "security_groups":
            item = {
                "description": body.get("description", ""),
                "id": util.new_uuid(),
                "name": body.get("name", ""),
                "security_group_rules": [],
                "shared": False,
                "stateful": bool(body.get("stateful", True)),
            }
            item.update(_common(project))
            for eth in ("IPv4", "IPv6"):
                rule = _rule_item(item, {"direction": "egress", "ethertype": eth}, project)
                item["security_group_rules"].append(rule)
                store.put("security_group_rules", rule)
            store.put("security_groups", item)
            return ctx.ok({"security_group": item}, 201)
        elif tname == "security_group_rules":
            sg = _get(ctx, "security-groups", body.get("security_group_id"))
            rule = _rule_item(sg, body, sg["project_id"])
            store.put("security_group_rules", rule)
            store.update("security_groups", sg["id"], {"security_group_rules": [*sg["security_group_rules"], rule]})
            return ctx.ok({"security_group_rule": rule}, 201)
        else:
            raise HttpError(405, "Method not allowed", kind="HTTPMethodNotAllowed")
        item.update(_common(project))
        for key in ("tags",):
            if key in body:
                item[key] = list(body[key])
        store.put(tname, item)
    return ctx.ok({singular: item}, 201)


def _rule_item(sg, body, project):
    stamp = util.fmt(util.now())
    port_min = body.get("port_range_min")
    return {
        "belongs_to_default_sg": True if sg["name"] == "default" else None,
        "created_at": stamp,
        "description": body.get("description", ""),
        "direction": body.get("direction", "ingress"),
        "ethertype": body.get("ethertype", "IPv4"),
        "id": util.new_uuid(),
        "normalized_cidr": body.get("remote_ip_prefix"),
        "port_range_max": body.get("port_range_max", port_min),
        "port_range_min": port_min,
        "project_id": project,
        "protocol": body.get("protocol"),
        "remote_address_group_id": None,
        "remote_group_id": body.get("remote_group_id"),
        "remote_ip_prefix": body.get("remote_ip_prefix"),
        "revision_number": 0,
        "security_group_id": sg["id"],
        "standard_attr_id": secrets.randbelow(10**6),
        "tags": [],
        "tenant_id": project,
        "updated_at": stamp,
    }


def _associate(ctx, fip, port_id, fixed_ip=None):
    store = ctx.store
    port = store.table("ports").items.get(port_id)
    if port is None:
        raise HttpError(404, "Port %s could not be found." % port_id, kind="PortNotFound")
    fixed = fixed_ip or (port["fixed_ips"][0]["ip_address"] if port["fixed_ips"] else None)
    router = next(
        (
            r
            for r in store.table("routers").items.values()
            if r["project_id"] == port["project_id"] and r.get("external_gateway_info")
        ),
        None,
    )
    fip.update(
        {
            "port_id": port_id,
            "fixed_ip_address": fixed,
            "router_id": router["id"] if router else None,
            "status": "ACTIVE",
            "port_details": {
                "admin_state_up": port["admin_state_up"],
                "device_id": port["device_id"],
                "device_owner": port["device_owner"],
                "mac_address": port["mac_address"],
                "name": port["name"],
                "network_id": port["network_id"],
                "status": port["status"],
            },
        }
    )
    server = store.table("servers").items.get(port["device_id"])
    if server is not None:
        addresses = {k: list(v) for k, v in server["addresses"].items()}
        net = store.table("networks").items.get(port["network_id"])
        addresses.setdefault(net["name"] if net else port["network_id"], []).append(
            util.nova_address(port, fip["floating_ip_address"], "floating")
        )
        store.update("servers", server["id"], {"addresses": addresses})


def _disassociate(ctx, fip):
    store = ctx.store
    port = store.table("ports").items.get(fip.get("port_id") or "")
    if port is not None:
        server = store.table("servers").items.get(port["device_id"])
        if server is not None:
            addresses = {
                k: [a for a in v if a["addr"] != fip["floating_ip_address"]] for k, v in server["addresses"].items()
            }
            store.update("servers", server["id"], {"addresses": addresses})
    return {"port_id": None, "fixed_ip_address": None, "router_id": None, "status": "DOWN", "port_details": None}


UPDATABLE = {
    "networks": ("name", "description", "admin_state_up", "shared", "mtu", "port_security_enabled", "router:external"),
    "subnets": (
        "name",
        "description",
        "enable_dhcp",
        "dns_nameservers",
        "gateway_ip",
        "host_routes",
        "allocation_pools",
    ),
    "ports": ("name", "description", "admin_state_up", "device_id", "device_owner", "security_groups", "fixed_ips"),
    "routers": ("name", "description", "admin_state_up", "routes", "external_gateway_info"),
    "floating_ips": ("description", "port_id", "fixed_ip_address"),
    "security_groups": ("name", "description", "stateful"),
    "security_group_rules": ("description",),
}


def update(ctx, collection, item_id):
    ctx.mutating()
    tname, singular, _nf, _display = COLLECTIONS[collection]
    item = _get(ctx, collection, item_id)
    body = (ctx.body or {}).get(singular)
    if not isinstance(body, dict):
        raise HttpError(400, "Resource body required", kind="HTTPBadRequest")
    store = ctx.store
    with store.lock:
        changes = {k: v for k, v in body.items() if k in UPDATABLE[tname] or k == "tags"}
        if tname == "floating_ips" and "port_id" in body:
            fip = dict(item)
            if item.get("port_id"):
                fip.update(_disassociate(ctx, item))
            if body["port_id"]:
                _associate(ctx, fip, body["port_id"], body.get("fixed_ip_address"))
            changes = {k: fip[k] for k in ("port_id", "fixed_ip_address", "router_id", "status", "port_details")}
        updated = store.update(tname, item_id, changes)
        if tname == "networks" and "name" in changes and changes["name"] != item["name"]:
            _rename_network_in_servers(store, item["name"], changes["name"], item_id)
    return ctx.ok({singular: updated})


def _rename_network_in_servers(store, old, new, network_id):
    port_devices = {p["device_id"] for p in store.table("ports").items.values() if p["network_id"] == network_id}
    for server_id in port_devices:
        server = store.table("servers").items.get(server_id)
        if server and old in server["addresses"]:
            addresses = {(new if k == old else k): v for k, v in server["addresses"].items()}
            store.update("servers", server_id, {"addresses": addresses})


def delete(ctx, collection, item_id):
    ctx.mutating()
    tname, _singular, _nf, _display = COLLECTIONS[collection]
    item = _get(ctx, collection, item_id)
    store = ctx.store
    with store.lock:
        if tname == "networks":
            in_use = [
                p
                for p in store.table("ports").items.values()
                if p["network_id"] == item_id and p["device_owner"].startswith("compute:")
            ]
            if in_use:
                raise HttpError(
                    409,
                    "Unable to complete operation on network %s. "
                    "There are one or more ports still in use on the network." % item_id,
                    kind="NetworkInUse",
                )
            for port in [p for p in store.table("ports").items.values() if p["network_id"] == item_id]:
                store.delete("ports", port["id"])
            for subnet_id in item["subnets"]:
                if subnet_id in store.table("subnets").items:
                    store.delete("subnets", subnet_id)
        elif tname == "subnets":
            network = store.table("networks").items.get(item["network_id"])
            if network:
                store.update("networks", network["id"], {"subnets": [s for s in network["subnets"] if s != item_id]})
        elif tname == "security_group_rules":
            sg = store.table("security_groups").items.get(item["security_group_id"])
            if sg:
                rules = [r for r in sg["security_group_rules"] if r["id"] != item_id]
                store.update("security_groups", sg["id"], {"security_group_rules": rules})
        elif tname == "security_groups":
            for rule in item["security_group_rules"]:
                if rule["id"] in store.table("security_group_rules").items:
                    store.delete("security_group_rules", rule["id"])
        elif tname == "floating_ips" and item.get("port_id"):
            _disassociate(ctx, item)
        elif tname == "routers":
            for port in [p for p in store.table("ports").items.values() if p["device_id"] == item_id]:
                store.delete("ports", port["id"])
        store.delete(tname, item_id)
    return ctx.empty(204)


def router_interface(ctx, router_id, add):
    ctx.mutating()
    router = _get(ctx, "routers", router_id)
    body = ctx.body or {}
    store = ctx.store
    with store.lock:
        if add:
            subnet = _get(ctx, "subnets", body.get("subnet_id"))
            port = allocate_port(
                ctx,
                subnet["network_id"],
                router["project_id"],
                device_id=router_id,
                device_owner="network:router_interface",
                host="net-sim",
                fixed_ips=[{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}],
            )
        else:
            port = next(
                (
                    p
                    for p in store.table("ports").items.values()
                    if p["device_id"] == router_id
                    and p["device_owner"] == "network:router_interface"
                    and any(f["subnet_id"] == body.get("subnet_id") for f in p["fixed_ips"])
                ),
                None,
            )
            if port is None:
                raise HttpError(
                    404,
                    "Router %s has no interface on subnet %s" % (router_id, body.get("subnet_id")),
                    kind="RouterInterfaceNotFoundForSubnet",
                )
            store.delete("ports", port["id"])
        store.update("routers", router_id, {})
    subnet_id = port["fixed_ips"][0]["subnet_id"] if port["fixed_ips"] else None
    return ctx.ok(
        {
            "id": router_id,
            "network_id": port["network_id"],
            "port_id": port["id"],
            "subnet_id": subnet_id,
            "subnet_ids": [subnet_id],
            "project_id": router["project_id"],
            "tenant_id": router["project_id"],
            "tags": [],
        }
    )


def handle(ctx):
    segs = [s[:-5] if s.endswith(".json") else s for s in ctx.segs]
    n = len(segs)
    method = ctx.method
    # GET /v2.0/ (the resource list) is answered by discovery.py
    if n and segs[0] in COLLECTIONS:
        collection = segs[0]
        if n == 1:
            if method == "GET":
                return list_collection(ctx, collection)
            if method == "POST":
                return create(ctx, collection)
        elif n == 2:
            if method == "GET":
                item = _get(ctx, collection, segs[1])
                fields = ctx.q.get("fields")
                if fields:
                    item = {k: v for k, v in item.items() if k in fields}
                return ctx.ok({COLLECTIONS[collection][1]: item})
            if method == "PUT":
                return update(ctx, collection, segs[1])
            if method == "DELETE":
                return delete(ctx, collection, segs[1])
        elif n == 3 and collection == "routers" and method == "PUT":
            if segs[2] in ("add_router_interface", "remove_router_interface"):
                return router_interface(ctx, segs[1], segs[2].startswith("add"))
    elif segs[0] == "extensions" and method == "GET":
        return ctx.ok({"extensions": []})
    elif segs[0] in ("quotas", "availability_zones", "agents", "qos", "network-ip-availabilities") and method == "GET":
        return ctx.ok({segs[0].replace("-", "_"): []})
    raise HttpError(404, "The resource could not be found.", kind="HTTPNotFound")
