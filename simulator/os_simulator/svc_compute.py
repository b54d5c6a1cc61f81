"""Nova (compute v2.1 with microversions): servers and flavors."""

from __future__ import annotations

import re
import secrets

from . import util
from .base import serve_list
from .http_util import HttpError, bool_param

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 103)

ADMIN_ONLY = (
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:instance_name",
    "OS-EXT-SRV-ATTR:kernel_id",
    "OS-EXT-SRV-ATTR:launch_index",
    "OS-EXT-SRV-ATTR:ramdisk_id",
    "OS-EXT-SRV-ATTR:reservation_id",
    "OS-EXT-SRV-ATTR:root_device_name",
    "OS-EXT-SRV-ATTR:user_data",
    "host_status",
)
# keys that appear from a microversion on (list detail / show)
GATES = (
    ((2, 3), ("OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:launch_index")),
    ((2, 3), ("OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:root_device_name")),
    ((2, 3), ("OS-EXT-SRV-ATTR:user_data",)),
    ((2, 9), ("locked",)),
    ((2, 16), ("host_status",)),
    ((2, 19), ("description",)),
    ((2, 26), ("tags",)),
    ((2, 63), ("trusted_image_certificates",)),
    ((2, 73), ("locked_reason",)),
    ((2, 96), ("pinned_availability_zone",)),
)
BUCKETS = ((2, 1), (2, 3), (2, 9), (2, 16), (2, 19), (2, 26), (2, 47), (2, 55), (2, 61), (2, 63), (2, 73), (2, 90))
BUCKETS += ((2, 96), (2, 98), (2, 100))


def bucket(mv):
    chosen = BUCKETS[0]
    for b in BUCKETS:
        if mv >= b:
            chosen = b
    return chosen


def fmt_version(mv):
    return "%d.%d" % mv


def negotiate(headers, service_word, header_legacy, min_v, max_v, default=None):
    """Parse the microversion headers; returns (version tuple, response headers)."""
    requested = None
    value = headers.get("OpenStack-API-Version")
    if value:
        for part in value.split(","):
            bits = part.strip().split()
            if len(bits) == 2 and bits[0].lower() == service_word:
                requested = bits[1]
    if requested is None and header_legacy:
        requested = headers.get(header_legacy)
    if requested is None:
        mv = default or min_v
    elif requested.strip().lower() == "latest":
        mv = max_v
    else:
        m = re.match(r"^(\d+)\.(\d+)$", requested.strip())
        if not m:
            raise HttpError(
                400, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum." % requested
            )
        mv = (int(m.group(1)), int(m.group(2)))
        if mv < min_v or mv > max_v:
            raise HttpError(
                406,
                "Version %s is not supported by the API. Minimum is %s and maximum is %s."
                % (requested, fmt_version(min_v), fmt_version(max_v)),
            )
    text = fmt_version(mv)
    hdrs = [("OpenStack-API-Version", "%s %s" % (service_word, text))]
    if header_legacy:
        hdrs.append((header_legacy, text))
        hdrs.append(("Vary", "OpenStack-API-Version, %s" % header_legacy))
    else:
        hdrs.append(("Vary", "OpenStack-API-Version"))
    return mv, hdrs


def _flavor_id_by_name(ctx, name):
    for flavor in ctx.store.table("flavors").items.values():
        if flavor["name"] == name:
            return flavor["id"]
    return name


def render_server(ctx, item, admin, mv):
    ep, root = ctx.ep, ctx.root
    d = dict(item)
    if not admin:
        for key in ADMIN_ONLY:
            d.pop(key, None)
        if mv < (2, 90):
            d.pop("OS-EXT-SRV-ATTR:hostname", None)
    for gate, keys in GATES:
        if mv < gate:
            for key in keys:
                d.pop(key, None)
    image = d.get("image")
    if image:
        image = dict(image)
        image["links"] = [{"href": "%s/images/%s" % (root, image["id"]), "rel": "bookmark"}]
        if mv >= (2, 98):
            image["properties"] = {}
        d["image"] = image
    if mv < (2, 47):
        fid = _flavor_id_by_name(ctx, item["flavor"].get("original_name"))
        d["flavor"] = {"id": fid, "links": [{"href": "%s/flavors/%s" % (root, fid), "rel": "bookmark"}]}
    if mv >= (2, 100):
        d["scheduler_hints"] = {}
    d["links"] = [
        {"href": "%s/servers/%s" % (ep, item["id"]), "rel": "self"},
        {"href": "%s/servers/%s" % (root, item["id"]), "rel": "bookmark"},
    ]
    return d


#: Query parameters with which Nova still returns down-cell constructs (anything else skips them).
DOWN_CELL_KEEPS = frozenset(["all_tenants", "project_id", "tenant_id"])
DOWN_CELL_MV = (2, 69)


def down_cell(ctx):
    """``(ids, constructs)`` of the region's down cell (``down_cell`` fault), or ``(frozenset(), False)``.

    ``constructs``: this request gets minimal UNKNOWN constructs for them (microversion >= 2.69 and
    an unpaged, unfiltered listing, or the fault's ``mode="constructs"``); otherwise they are skipped.
    """
    fault = ctx.cloud.faults.down_cell(ctx.region)
    if fault is None:
        return frozenset(), False
    if fault.ids is None:
        # the cell's servers are chosen once, when the fault first applies
        fault.ids = [item["id"] for item in ctx.store.table("servers").ordered()[: fault.count or 1]]
    fault.hits += 1
    mv = ctx.mv or (2, 1)
    plain = set(ctx.q) <= DOWN_CELL_KEEPS
    constructs = mv >= DOWN_CELL_MV and (fault.mode == "constructs" or plain)
    return frozenset(fault.ids), constructs


def render_down_server(ctx, item, detail=True, show=False):
    """Nova's minimal construct of a server in a cell that is down (microversion >= 2.69)."""
    d = {"id": item["id"], "status": "UNKNOWN"}
    if detail or show:
        d["tenant_id"] = item["tenant_id"]
        d["created"] = item["created"]
    if show:
        d["user_id"] = item.get("user_id") or "UNKNOWN"
        d["image"] = {"id": item["image"]["id"]} if item.get("image") else ""
        d["flavor"] = dict(item["flavor"])
        d["OS-EXT-AZ:availability_zone"] = item.get("OS-EXT-AZ:availability_zone") or "UNKNOWN"
        d["OS-EXT-STS:power_state"] = 0
    d["links"] = [
        {"href": "%s/servers/%s" % (ctx.ep, item["id"]), "rel": "self"},
        {"href": "%s/servers/%s" % (ctx.root, item["id"]), "rel": "bookmark"},
    ]
    return d


def render_server_summary(ctx, item):
    return {
        "id": item["id"],
        "links": [
            {"href": "%s/servers/%s" % (ctx.ep, item["id"]), "rel": "self"},
            {"href": "%s/servers/%s" % (ctx.root, item["id"]), "rel": "bookmark"},
        ],
        "name": item["name"],
    }


def render_flavor(ctx, item, mv, detail=True):
    if detail:
        d = dict(item)
        if mv < (2, 55):
            d.pop("description", None)
        if mv < (2, 61):
            d.pop("extra_specs", None)
    else:
        d = {"id": item["id"], "name": item["name"]}
        if mv >= (2, 55):
            d["description"] = item.get("description")
    d["links"] = [
        {"href": "%s/flavors/%s" % (ctx.ep, item["id"]), "rel": "self"},
        {"href": "%s/flavors/%s" % (ctx.root, item["id"]), "rel": "bookmark"},
    ]
    return d


def _all_tenants(ctx):
    if "all_tenants" not in ctx.q:
        return False
    value = ctx.first("all_tenants")
    if value.lower() in ("0", "false", "f", "no", "off"):
        return False
    return True


def _tags_ok(item, q):
    tags = set(item.get("tags") or [])
    if "tags" in q:
        wanted = {t for v in q["tags"] for t in v.split(",") if t}
        if not wanted <= tags:
            return False
    if "tags-any" in q:
        wanted = {t for v in q["tags-any"] for t in v.split(",") if t}
        if not wanted & tags:
            return False
    if "not-tags" in q:
        wanted = {t for v in q["not-tags"] for t in v.split(",") if t}
        if wanted and wanted <= tags:
            return False
    if "not-tags-any" in q:
        wanted = {t for v in q["not-tags-any"] for t in v.split(",") if t}
        if wanted & tags:
            return False
    return True


def list_servers(ctx, detail):
    all_t = _all_tenants(ctx)
    admin = ctx.admin
    if all_t and not admin:
        raise HttpError(
            403,
            "Policy doesn't allow os_compute_api:servers:%s:get_all_tenants to be performed."
            % ("detail" if detail else "index"),
        )
    q = ctx.q
    filters = []
    project = None if all_t else ctx.project_id
    if all_t:
        project = ctx.first("project_id") or ctx.first("tenant_id")
    for key in ("name", "status", "availability_zone", "flavor", "image", "key_name", "user_id", "ip", "locked"):
        if key in q:
            filters.append((key, ctx.first(key)))
    if admin and "host" in q:
        filters.append(("host", ctx.first("host")))
    since = util.normalize_time(ctx.first("changes-since")) if "changes-since" in q else None
    before = util.normalize_time(ctx.first("changes-before")) if "changes-before" in q else None
    if "changes-since" in q and not since:
        raise HttpError(
            400, "Invalid input for query parameters changes-since. Value: %s." % ctx.first("changes-since")
        )
    deleted_only = admin and "deleted" in q and bool_param(ctx.first("deleted"))
    tagq = {k: q[k] for k in ("tags", "tags-any", "not-tags", "not-tags-any") if k in q}
    sort_key = ctx.first("sort_key")
    sort_dir = ctx.first("sort_dir")
    down, constructs = down_cell(ctx)
    listing_key = (
        "servers",
        project,
        tuple(filters),
        since,
        before,
        deleted_only,
        tuple(sorted((k, tuple(v)) for k, v in tagq.items())),
        sort_key,
        sort_dir,
        down,
        constructs,
    )
    table = ctx.store.table("servers")

    def build():
        include_deleted = since is not None or before is not None or deleted_only
        source = table.ordered_with_deleted() if include_deleted else table.ordered()
        out = []
        flavor_names = None
        name_re = None
        ip_re = None
        for key, value in filters:
            if key == "name":
                try:
                    name_re = re.compile(value, re.IGNORECASE)
                except re.error:
                    name_re = re.compile(re.escape(value), re.IGNORECASE)
            elif key == "ip":
                try:
                    ip_re = re.compile(value)
                except re.error:
                    ip_re = re.compile(re.escape(value))
            elif key == "flavor":
                flavor = ctx.store.table("flavors").items.get(value)
                flavor_names = {flavor["name"]} if flavor else set()
        for item in source:
            if project is not None and item["tenant_id"] != project:
                continue
            if item["id"] in down:
                if constructs:
                    out.append(item)  # rendered as an UNKNOWN construct
                continue
            if deleted_only and item["status"] != "DELETED":
                continue
            if since is not None and item["updated"] < since:
                continue
            if before is not None and item["updated"] > before:
                continue
            ok = True
            for key, value in filters:
                if key == "name":
                    ok = bool(name_re.search(item["name"] or ""))
                elif key == "status":
                    ok = item["status"].upper() == value.upper()
                elif key == "availability_zone":
                    ok = item["OS-EXT-AZ:availability_zone"] == value
                elif key == "flavor":
                    ok = item["flavor"].get("original_name") in flavor_names
                elif key == "image":
                    ok = bool(item["image"]) and item["image"]["id"] == value
                elif key == "host":
                    ok = item.get("OS-EXT-SRV-ATTR:host") == value
                elif key == "key_name":
                    ok = item.get("key_name") == value
                elif key == "user_id":
                    ok = item.get("user_id") == value
                elif key == "locked":
                    ok = bool(item.get("locked")) == bool_param(value)
                elif key == "ip":
                    ok = any(
                        ip_re.search(a["addr"])
                        for addrs in item["addresses"].values()
                        for a in addrs
                        if a.get("OS-EXT-IPS:type") == "fixed"
                    )
                if not ok:
                    break
            if ok and tagq and not _tags_ok(item, tagq):
                ok = False
            if ok:
                out.append(item)
        if sort_key:
            mapping = {"created_at": "created", "updated_at": "updated", "display_name": "name"}
            key = mapping.get(sort_key, sort_key)
            reverse = (sort_dir or "desc").lower().startswith("desc")
            out.sort(key=lambda i: (str(i.get(key) or ""), i["id"]), reverse=reverse)
        return out

    mv = ctx.mv
    if detail:
        b = bucket(mv)

        def render(item):
            if item["id"] in down:
                return render_down_server(ctx, item)
            return render_server(ctx, item, admin, b)

        return serve_list(ctx, "servers", listing_key, build, render, ("detail", admin, b, ctx.root, down), "nova")

    def render_summary(item):
        if item["id"] in down:
            return render_down_server(ctx, item, detail=False)
        return render_server_summary(ctx, item)

    return serve_list(ctx, "servers", listing_key, build, render_summary, ("summary", ctx.root, down), "nova")


def list_flavors(ctx, detail):
    admin = ctx.admin
    is_public = ctx.first("is_public")
    if not admin or is_public is None:
        mode = "public"
    elif is_public.strip().lower() == "none":
        mode = "all"
    else:
        mode = "public" if bool_param(is_public) else "private"
    min_disk = ctx.first("minDisk")
    min_ram = ctx.first("minRam")
    try:
        min_disk = int(min_disk) if min_disk else 0
        min_ram = int(min_ram) if min_ram else 0
    except ValueError:
        raise HttpError(400, "Invalid minDisk or minRam filter") from None
    listing_key = ("flavors", mode, min_disk, min_ram, ctx.first("sort_key"), ctx.first("sort_dir"))
    table = ctx.store.table("flavors")

    def build():
        out = []
        for item in table.ordered():
            public = item["os-flavor-access:is_public"]
            if mode == "public" and not public:
                continue
            if mode == "private" and public:
                continue
            if item["disk"] < min_disk or item["ram"] < min_ram:
                continue
            out.append(item)
        return out

    b = bucket(ctx.mv)
    return serve_list(
        ctx,
        "flavors",
        listing_key,
        build,
        lambda item: render_flavor(ctx, item, b, detail),
        ("flavor", detail, b, ctx.root),
        "nova",
    )


def _visible_server(ctx, server_id):
    item = ctx.store.table("servers").items.get(server_id)
    if item is None or (not ctx.admin and item["tenant_id"] != ctx.project_id):
        raise HttpError(404, "Instance %s could not be found." % server_id)
    return item


def create_server(ctx):
    ctx.mutating()
    body = (ctx.body or {}).get("server")
    if not isinstance(body, dict) or not body.get("name"):
        raise HttpError(
            400, "Invalid input for field/attribute server. Value: %r. 'name' is a required property" % body
        )
    store = ctx.store
    flavor_ref = str(body.get("flavorRef") or "").rsplit("/", 1)[-1]
    flavor = store.table("flavors").items.get(flavor_ref)
    if flavor is None:
        flavor = next((f for f in store.table("flavors").items.values() if f["name"] == flavor_ref), None)
    if flavor is None:
        raise HttpError(400, "Flavor %s could not be found." % flavor_ref)
    image_ref = str(body.get("imageRef") or "").rsplit("/", 1)[-1]
    if image_ref and image_ref not in store.table("images").items:
        raise HttpError(400, "Image %s could not be found." % image_ref)
    project = ctx.project_id
    server_id = util.new_uuid()
    stamp = util.now()
    networks = body.get("networks")
    net_ids = []
    if isinstance(networks, list):
        net_ids = [n.get("uuid") for n in networks if isinstance(n, dict) and n.get("uuid")]
        port_ids = [n.get("port") for n in networks if isinstance(n, dict) and n.get("port")]
    else:
        port_ids = []
    from .svc_network import allocate_port  # local import: avoid an import cycle

    addresses = {}
    with store.lock:
        if not net_ids and not port_ids and networks != "none":
            own = [
                n for n in store.table("networks").ordered() if n["project_id"] == project and not n["router:external"]
            ]
            if own:
                net_ids = [own[0]["id"]]
        host = "cmp-sim-01"
        for net_id in net_ids:
            port = allocate_port(ctx, net_id, project, device_id=server_id, device_owner="compute:nova", host=host)
            _add_address(ctx, addresses, port)
        for port_id in port_ids:
            port = store.table("ports").items.get(port_id)
            if port is None:
                raise HttpError(400, "Port %s could not be found." % port_id)
            store.update("ports", port_id, {"device_id": server_id, "device_owner": "compute:nova", "status": "ACTIVE"})
            _add_address(ctx, addresses, store.table("ports").items[port_id])
        sgs = body.get("security_groups") or [{"name": "default"}]
        server = {
            "OS-DCF:diskConfig": "MANUAL",
            "OS-EXT-AZ:availability_zone": body.get("availability_zone") or "nova",
            "OS-EXT-SRV-ATTR:host": host,
            "OS-EXT-SRV-ATTR:hostname": body["name"].lower(),
            "OS-EXT-SRV-ATTR:hypervisor_hostname": host + ".cloud.example",
            "OS-EXT-SRV-ATTR:instance_name": "instance-%08x" % (len(store.table("servers").items) + 5000000),
            "OS-EXT-SRV-ATTR:kernel_id": "",
            "OS-EXT-SRV-ATTR:launch_index": 0,
            "OS-EXT-SRV-ATTR:ramdisk_id": "",
            "OS-EXT-SRV-ATTR:reservation_id": "r-%s" % secrets.token_hex(4),
            "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
            "OS-EXT-SRV-ATTR:user_data": body.get("user_data"),
            "OS-EXT-STS:power_state": 1,
            "OS-EXT-STS:task_state": None,
            "OS-EXT-STS:vm_state": "active",
            "OS-SRV-USG:launched_at": util.fmt(stamp, util.FMT_MICRO),
            "OS-SRV-USG:terminated_at": None,
            "accessIPv4": "",
            "accessIPv6": "",
            "addresses": addresses,
            "config_drive": "",
            "created": util.fmt(stamp),
            "description": body.get("description"),
            "flavor": {
                "disk": flavor["disk"],
                "ephemeral": 0,
                "extra_specs": dict(flavor.get("extra_specs") or {}),
                "original_name": flavor["name"],
                "ram": flavor["ram"],
                "swap": 0,
                "vcpus": flavor["vcpus"],
            },
            "hostId": secrets.token_hex(28),
            "host_status": "UP",
            "id": server_id,
            "image": {"id": image_ref} if image_ref else "",
            "key_name": body.get("key_name"),
            "locked": False,
            "locked_reason": None,
            "metadata": dict(body.get("metadata") or {}),
            "name": body["name"],
            "os-extended-volumes:volumes_attached": [],
            "pinned_availability_zone": None,
            "progress": 0,
            "security_groups": [{"name": s.get("name")} for s in sgs if isinstance(s, dict)],
            "status": "ACTIVE",
            "tags": list(body.get("tags") or []),
            "tenant_id": project,
            "trusted_image_certificates": None,
            "updated": util.fmt(stamp),
            "user_id": ctx.token.user["id"],
        }
        store.put("servers", server)
    resp = {
        "server": {
            "OS-DCF:diskConfig": "MANUAL",
            "adminPass": secrets.token_urlsafe(9),
            "id": server_id,
            "links": render_server_summary(ctx, server)["links"],
            "security_groups": server["security_groups"],
        }
    }
    return ctx.ok(resp, 202)


def _add_address(ctx, addresses, port):
    net = ctx.store.table("networks").items.get(port["network_id"])
    name = net["name"] if net else port["network_id"]
    for fixed in port["fixed_ips"]:
        addresses.setdefault(name, []).append(util.nova_address(port, fixed["ip_address"]))


def update_server(ctx, server_id):
    ctx.mutating()
    _visible_server(ctx, server_id)
    body = (ctx.body or {}).get("server")
    if not isinstance(body, dict):
        raise HttpError(400, "Invalid input for field/attribute server.")
    changes = {k: body[k] for k in ("name", "description", "accessIPv4", "accessIPv6") if k in body}
    item = ctx.store.update("servers", server_id, changes)
    return ctx.ok({"server": render_server(ctx, item, ctx.admin, bucket(ctx.mv))})


def delete_server(ctx, server_id):
    ctx.mutating()
    store = ctx.store
    with store.lock:
        _visible_server(ctx, server_id)
        for port in [p for p in store.table("ports").items.values() if p["device_id"] == server_id]:
            for fip in [f for f in store.table("floating_ips").items.values() if f["port_id"] == port["id"]]:
                store.update(
                    "floating_ips",
                    fip["id"],
                    {
                        "port_id": None,
                        "fixed_ip_address": None,
                        "port_details": None,
                        "status": "DOWN",
                        "router_id": None,
                    },
                )
            store.delete("ports", port["id"])
        for vol in list(store.table("volumes").items.values()):
            if any(a.get("server_id") == server_id for a in vol["attachments"]):
                rest = [a for a in vol["attachments"] if a.get("server_id") != server_id]
                store.update("volumes", vol["id"], {"attachments": rest, "status": "in-use" if rest else "available"})
        store.delete("servers", server_id)
    return ctx.empty(204)


def set_metadata(ctx, server_id, replace):
    ctx.mutating()
    item = _visible_server(ctx, server_id)
    meta = (ctx.body or {}).get("metadata")
    if not isinstance(meta, dict):
        raise HttpError(400, "Malformed request body")
    new = dict(meta) if replace else {**item["metadata"], **meta}
    ctx.store.update("servers", server_id, {"metadata": new})
    return ctx.ok({"metadata": new})


def server_action(ctx, server_id):
    ctx.mutating()
    item = _visible_server(ctx, server_id)
    body = ctx.body or {}
    transitions = {
        "os-stop": ("SHUTOFF", "stopped", 4),
        "os-start": ("ACTIVE", "active", 1),
        "pause": ("PAUSED", "paused", 3),
        "unpause": ("ACTIVE", "active", 1),
        "suspend": ("SUSPENDED", "suspended", 4),
        "resume": ("ACTIVE", "active", 1),
        "reboot": ("ACTIVE", "active", 1),
    }
    for action, (status, vm_state, power) in transitions.items():
        if action in body:
            ctx.store.update(
                "servers",
                server_id,
                {"status": status, "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:power_state": power},
            )
            return ctx.empty(202)
    del item
    raise HttpError(400, "There is no such action: %s" % ",".join(body) or "none")


def create_flavor(ctx):
    if not ctx.admin:
        raise HttpError(403, "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.")
    body = (ctx.body or {}).get("flavor") or {}
    for key in ("name", "ram", "vcpus", "disk"):
        if key not in body:
            raise HttpError(400, "Invalid input for field/attribute flavor. '%s' is a required property" % key)
    item = {
        "OS-FLV-DISABLED:disabled": False,
        "OS-FLV-EXT-DATA:ephemeral": int(body.get("OS-FLV-EXT-DATA:ephemeral", 0)),
        "description": body.get("description"),
        "disk": int(body["disk"]),
        "extra_specs": {},
        "id": body.get("id") or util.new_uuid(),
        "name": body["name"],
        "os-flavor-access:is_public": bool(body.get("os-flavor-access:is_public", True)),
        "ram": int(body["ram"]),
        "rxtx_factor": float(body.get("rxtx_factor", 1.0)),
        "swap": int(body.get("swap") or 0),
        "vcpus": int(body["vcpus"]),
    }
    ctx.store.put("flavors", item)
    return ctx.ok({"flavor": render_flavor(ctx, item, bucket(ctx.mv))})


def handle(ctx):
    """Requests below /v2.1 (``ctx.segs`` = path segments after the version)."""
    segs = ctx.segs
    method = ctx.method
    if segs and re.match(r"^[0-9a-f]{32}$", segs[0]) and len(segs) > 1:
        segs = segs[1:]  # legacy /v2.1/{project_id}/... URLs
    n = len(segs)
    head = segs[0] if segs else ""
    if head == "servers":
        if n == 1:
            if method == "GET":
                return list_servers(ctx, False)
            if method == "POST":
                return create_server(ctx)
        elif segs[1] == "detail" and n == 2 and method == "GET":
            return list_servers(ctx, True)
        elif n == 2:
            if method == "GET":
                item = _visible_server(ctx, segs[1])
                down, _constructs = down_cell(ctx)
                if item["id"] in down:
                    if (ctx.mv or (2, 1)) >= DOWN_CELL_MV:
                        return ctx.ok({"server": render_down_server(ctx, item, show=True)})
                    raise HttpError(
                        500,
                        "Cell is not responding or returned an exception, hence instance info is not available.",
                    )
                return ctx.ok({"server": render_server(ctx, item, ctx.admin, bucket(ctx.mv))})
            if method == "PUT":
                return update_server(ctx, segs[1])
            if method == "DELETE":
                return delete_server(ctx, segs[1])
        elif n == 3 and segs[2] == "metadata":
            if method == "GET":
                return ctx.ok({"metadata": _visible_server(ctx, segs[1])["metadata"]})
            if method in ("POST", "PUT"):
                return set_metadata(ctx, segs[1], method == "PUT")
        elif n == 3 and segs[2] == "action" and method == "POST":
            return server_action(ctx, segs[1])
        elif n == 3 and segs[2] == "os-volume_attachments" and method == "GET":
            item = _visible_server(ctx, segs[1])
            atts = [
                {"device": None, "id": v["id"], "serverId": item["id"], "volumeId": v["id"]}
                for v in item["os-extended-volumes:volumes_attached"]
            ]
            return ctx.ok({"volumeAttachments": atts})
    elif head == "flavors":
        if n == 1 and method == "GET":
            return list_flavors(ctx, False)
        if n == 1 and method == "POST":
            return create_flavor(ctx)
        if n == 2 and segs[1] == "detail" and method == "GET":
            return list_flavors(ctx, True)
        if n == 2:
            item = ctx.store.table("flavors").items.get(segs[1])
            if item is None:
                raise HttpError(404, "Flavor %s could not be found." % segs[1])
            if method == "GET":
                return ctx.ok({"flavor": render_flavor(ctx, item, bucket(ctx.mv))})
            if method == "DELETE":
                if not ctx.admin:
                    raise HttpError(403, "Policy doesn't allow os_compute_api:os-flavor-manage:delete to be performed.")
                ctx.store.delete("flavors", segs[1])
                return ctx.empty(202)
        if n == 3 and segs[2] == "os-extra_specs" and method == "GET":
            item = ctx.store.table("flavors").items.get(segs[1])
            if item is None:
                raise HttpError(404, "Flavor %s could not be found." % segs[1])
            return ctx.ok({"extra_specs": item.get("extra_specs") or {}})
    elif head == "os-availability-zone" and method == "GET":
        return ctx.ok({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]})
    elif head == "limits" and method == "GET":
        return ctx.ok({"limits": {"absolute": {"maxTotalInstances": 100000, "totalInstancesUsed": 0}, "rate": []}})
    elif head == "os-keypairs" and method == "GET":
        return ctx.ok({"keypairs": []})
    elif head == "extensions" and method == "GET":
        return ctx.ok({"extensions": []})
    raise HttpError(404, "The resource could not be found.")
