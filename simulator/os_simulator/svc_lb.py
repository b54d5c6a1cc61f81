"""Octavia (load-balancer v2): load balancers, listeners, pools and members."""

from __future__ import annotations

from . import util
from .base import serve_list
from .http_util import HttpError, scalar_matches, sort_items
from .svc_network import allocate_port

COLLECTIONS = {
    "loadbalancers": ("load_balancers", "loadbalancer", "Load Balancer"),
    "listeners": ("listeners", "listener", "Listener"),
    "pools": ("pools", "pool", "Pool"),
}
RESERVED = {"limit", "marker", "page_reverse", "fields", "sort", "sort_key", "sort_dir", "tags", "tags-any"}
RESERVED |= {"not-tags", "not-tags-any"}


def _listing(ctx, tname, collection_key, base_items, scope_key):
    admin = ctx.admin
    project = None if admin else ctx.project_id
    q = ctx.q
    filters = tuple(sorted((k, tuple(v)) for k, v in q.items() if k not in RESERVED))
    fields = tuple(sorted(set(q.get("fields", ())))) if "fields" in q else ()
    sort = ctx.first("sort") or ""
    sort_key, sort_dir = ctx.first("sort_key"), ctx.first("sort_dir")
    if sort:
        sort_key, _sep, sort_dir = sort.split(",")[0].partition(":")
    listing_key = (tname, scope_key, project, filters, sort_key, sort_dir)

    def build():
        out = []
        for item in base_items():
            if project is not None and item.get("project_id") != project:
                continue
            ok = True
            for key, values in filters:
                if key not in item or isinstance(item[key], (list, dict)):
                    continue
                if not any(scalar_matches(item[key], v) for v in values):
                    ok = False
                    break
            if ok:
                out.append(item)
        return sort_items(out, sort_key, sort_dir) if sort_key else out

    if fields:

        def render(item):
            return {k: v for k, v in item.items() if k in fields}

    else:

        def render(item):
            return item

    return serve_list(
        ctx, tname, listing_key, build, render, ("octavia", fields), "octavia", collection_key=collection_key
    )


def _get(ctx, tname, item_id, display):
    item = ctx.store.table(tname).items.get(item_id)
    if item is None or (not ctx.admin and item.get("project_id") != ctx.project_id):
        raise HttpError(404, "%s %s not found." % (display, item_id))
    return item


def _stamp():
    return util.fmt(util.now(), util.FMT_PLAIN)


def create(ctx, collection):
    ctx.mutating()
    tname, singular, _display = COLLECTIONS[collection]
    body = (ctx.body or {}).get(singular)
    if not isinstance(body, dict):
        raise HttpError(400, "Invalid input for field/attribute %s." % singular)
    store = ctx.store
    project = body.get("project_id") or ctx.project_id
    stamp = _stamp()
    common = {"created_at": stamp, "updated_at": None, "project_id": project, "tenant_id": project}
    common["tags"] = list(body.get("tags") or [])
    with store.lock:
        if tname == "load_balancers":
            subnet = store.table("subnets").items.get(body.get("vip_subnet_id") or "")
            if subnet is None:
                raise HttpError(400, "Validation failure: Subnet %s not found." % body.get("vip_subnet_id"))
            item = {
                "additional_vips": [],
                "admin_state_up": True,
                "availability_zone": body.get("availability_zone"),
                "description": body.get("description", ""),
                "flavor_id": None,
                "id": util.new_uuid(),
                "listeners": [],
                "name": body.get("name", ""),
                "operating_status": "ONLINE",
                "pools": [],
                "provider": "amphora",
                "provisioning_status": "ACTIVE",
                "vip_qos_policy_id": None,
                "vip_sg_ids": [],
                "vip_subnet_id": subnet["id"],
                "vip_vnic_type": "normal",
            }
            port = allocate_port(
                ctx,
                subnet["network_id"],
                project,
                device_id="lb-%s" % item["id"],
                device_owner="Octavia",
                name="octavia-lb-%s" % item["id"],
                fixed_ips=[{"subnet_id": subnet["id"], "ip_address": body.get("vip_address")}],
            )
            item.update(
                {
                    "vip_address": port["fixed_ips"][0]["ip_address"],
                    "vip_network_id": subnet["network_id"],
                    "vip_port_id": port["id"],
                }
            )
        elif tname == "listeners":
            lb = _get(ctx, "load_balancers", body.get("loadbalancer_id"), "Load Balancer")
            item = {
                "admin_state_up": True,
                "allowed_cidrs": None,
                "alpn_protocols": None,
                "client_authentication": "NONE",
                "client_ca_tls_container_ref": None,
                "client_crl_container_ref": None,
                "connection_limit": -1,
                "default_pool_id": body.get("default_pool_id"),
                "default_tls_container_ref": None,
                "description": body.get("description", ""),
                "hsts_include_subdomains": False,
                "hsts_max_age": None,
                "hsts_preload": False,
                "id": util.new_uuid(),
                "insert_headers": {},
                "l7policies": [],
                "loadbalancers": [{"id": lb["id"]}],
                "name": body.get("name", ""),
                "operating_status": "ONLINE",
                "protocol": body.get("protocol", "HTTP"),
                "protocol_port": int(body.get("protocol_port", 80)),
                "provisioning_status": "ACTIVE",
                "sni_container_refs": [],
                "timeout_client_data": 50000,
                "timeout_member_connect": 5000,
                "timeout_member_data": 50000,
                "timeout_tcp_inspect": 0,
                "tls_ciphers": None,
                "tls_versions": None,
            }
            store.update("load_balancers", lb["id"], {"listeners": [*lb["listeners"], {"id": item["id"]}]})
        elif tname == "pools":
            lb_id = body.get("loadbalancer_id")
            listener = None
            if body.get("listener_id"):
                listener = _get(ctx, "listeners", body["listener_id"], "Listener")
                lb_id = listener["loadbalancers"][0]["id"]
            lb = _get(ctx, "load_balancers", lb_id, "Load Balancer")
            item = {
                "admin_state_up": True,
                "alpn_protocols": None,
                "ca_tls_container_ref": None,
                "crl_container_ref": None,
                "description": body.get("description", ""),
                "healthmonitor_id": None,
                "id": util.new_uuid(),
                "lb_algorithm": body.get("lb_algorithm", "ROUND_ROBIN"),
                "listeners": [{"id": listener["id"]}] if listener else [],
                "loadbalancers": [{"id": lb["id"]}],
                "members": [],
                "name": body.get("name", ""),
                "operating_status": "ONLINE",
                "protocol": body.get("protocol", "HTTP"),
                "provisioning_status": "ACTIVE",
                "session_persistence": None,
                "tls_ciphers": None,
                "tls_container_ref": None,
                "tls_enabled": False,
                "tls_versions": None,
            }
            store.update("load_balancers", lb["id"], {"pools": [*lb["pools"], {"id": item["id"]}]})
            if listener:
                store.update("listeners", listener["id"], {"default_pool_id": item["id"]})
        else:
            raise HttpError(405, "Method not allowed")
        item.update(common)
        store.put(tname, item)
    return ctx.ok({singular: item}, 201)


def update(ctx, tname, singular, display, item_id):
    ctx.mutating()
    _get(ctx, tname, item_id, display)
    body = (ctx.body or {}).get(singular)
    if not isinstance(body, dict):
        raise HttpError(400, "Invalid input for field/attribute %s." % singular)
    allowed = ("name", "description", "admin_state_up", "tags", "weight", "backup", "connection_limit")
    changes = {k: v for k, v in body.items() if k in allowed}
    item = ctx.store.update(tname, item_id, changes)
    return ctx.ok({singular: item})


def delete(ctx, collection, item_id):
    ctx.mutating()
    tname, _singular, display = COLLECTIONS[collection]
    item = _get(ctx, tname, item_id, display)
    store = ctx.store
    with store.lock:
        if tname == "load_balancers":
            cascade = util.truthy(ctx.first("cascade", "false"))
            if (item["listeners"] or item["pools"]) and not cascade:
                raise HttpError(400, "Cannot delete Load Balancer %s - it has children" % item_id)
            for pool in item["pools"]:
                pool_item = store.table("pools").items.get(pool["id"])
                for member in (pool_item or {}).get("members", []):
                    if member["id"] in store.table("members").items:
                        store.delete("members", member["id"])
                if pool_item:
                    store.delete("pools", pool["id"])
            for listener in item["listeners"]:
                if listener["id"] in store.table("listeners").items:
                    store.delete("listeners", listener["id"])
            port = store.table("ports").items.get(item.get("vip_port_id") or "")
            if port:
                store.delete("ports", port["id"])
        elif tname == "listeners":
            for ref in item["loadbalancers"]:
                lb = store.table("load_balancers").items.get(ref["id"])
                if lb:
                    store.update(
                        "load_balancers", lb["id"], {"listeners": [x for x in lb["listeners"] if x["id"] != item_id]}
                    )
        elif tname == "pools":
            for member in item["members"]:
                if member["id"] in store.table("members").items:
                    store.delete("members", member["id"])
            for ref in item["loadbalancers"]:
                lb = store.table("load_balancers").items.get(ref["id"])
                if lb:
                    store.update("load_balancers", lb["id"], {"pools": [x for x in lb["pools"] if x["id"] != item_id]})
        store.delete(tname, item_id)
    return ctx.empty(204)


def members(ctx, pool_id):
    pool = _get(ctx, "pools", pool_id, "Pool")
    method = ctx.method
    table = ctx.store.table("members")
    if method == "GET":

        def items():
            current = ctx.store.table("pools").items.get(pool_id) or pool
            return [table.items[m["id"]] for m in current["members"] if m["id"] in table.items]

        return _listing(ctx, "members", "members", items, pool_id)
    if method == "POST":
        ctx.mutating()
        body = (ctx.body or {}).get("member")
        if not isinstance(body, dict) or not body.get("address"):
            raise HttpError(400, "Invalid input for field/attribute member. 'address' is a required property")
        item = {
            "address": body["address"],
            "admin_state_up": True,
            "backup": False,
            "created_at": _stamp(),
            "id": util.new_uuid(),
            "monitor_address": None,
            "monitor_port": None,
            "name": body.get("name", ""),
            "operating_status": "NO_MONITOR",
            "project_id": pool["project_id"],
            "protocol_port": int(body.get("protocol_port", 80)),
            "provisioning_status": "ACTIVE",
            "subnet_id": body.get("subnet_id"),
            "tags": list(body.get("tags") or []),
            "tenant_id": pool["project_id"],
            "updated_at": None,
            "vnic_type": "normal",
            "weight": int(body.get("weight", 1)),
        }
        with ctx.store.lock:
            ctx.store.put("members", item)
            ctx.store.update("pools", pool_id, {"members": [*pool["members"], {"id": item["id"]}]})
        return ctx.ok({"member": item}, 201)
    raise HttpError(405, "Method not allowed")


def member(ctx, pool_id, member_id):
    pool = _get(ctx, "pools", pool_id, "Pool")
    if not any(m["id"] == member_id for m in pool["members"]):
        raise HttpError(404, "Member %s not found." % member_id)
    if ctx.method == "GET":
        return ctx.ok({"member": _get(ctx, "members", member_id, "Member")})
    if ctx.method == "PUT":
        return update(ctx, "members", "member", "Member", member_id)
    if ctx.method == "DELETE":
        ctx.mutating()
        with ctx.store.lock:
            ctx.store.update("pools", pool_id, {"members": [m for m in pool["members"] if m["id"] != member_id]})
            ctx.store.delete("members", member_id)
        return ctx.empty(204)
    raise HttpError(405, "Method not allowed")


def handle(ctx):
    segs = ctx.segs
    n = len(segs)
    method = ctx.method
    if n >= 2 and segs[0] == "lbaas":
        collection = segs[1]
        if collection in COLLECTIONS:
            tname, singular, display = COLLECTIONS[collection]
            if n == 2:
                if method == "GET":
                    table = ctx.store.table(tname)
                    return _listing(ctx, tname, collection, table.ordered, "all")
                if method == "POST":
                    return create(ctx, collection)
            elif n == 3:
                if method == "GET":
                    return ctx.ok({singular: _get(ctx, tname, segs[2], display)})
                if method == "PUT":
                    return update(ctx, tname, singular, display, segs[2])
                if method == "DELETE":
                    return delete(ctx, collection, segs[2])
            elif n == 4 and collection == "pools" and segs[3] == "members":
                return members(ctx, segs[2])
            elif n == 5 and collection == "pools" and segs[3] == "members":
                return member(ctx, segs[2], segs[4])
            elif n == 4 and collection == "loadbalancers" and segs[3] in ("stats", "status") and method == "GET":
                _get(ctx, tname, segs[2], display)
                return ctx.ok(
                    {
                        "stats": {
                            "active_connections": 0,
                            "bytes_in": 0,
                            "bytes_out": 0,
                            "request_errors": 0,
                            "total_connections": 0,
                        }
                    }
                )
        elif collection in (
            "healthmonitors",
            "l7policies",
            "amphorae",
            "flavors",
            "flavorprofiles",
            "availabilityzones",
        ):
            if method == "GET" and n == 2:
                return ctx.ok({collection: [], "%s_links" % collection: []})
    raise HttpError(404, "The resource could not be found.")
