"""Cinder (block-storage v3 with microversions): volumes and snapshots."""

from __future__ import annotations

from . import util
from .base import serve_list
from .http_util import HttpError
from .svc_compute import negotiate

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 71)

VOLUME_ADMIN_ONLY = (
    "os-vol-host-attr:host",
    "os-vol-mig-status-attr:migstat",
    "os-vol-mig-status-attr:name_id",
    "migration_status",
    "cluster_name",
    "provider_id",
)
VOLUME_GATES = (
    ((3, 13), ("group_id",)),
    ((3, 21), ("provider_id",)),
    ((3, 48), ("service_uuid", "shared_targets")),
    ((3, 61), ("cluster_name",)),
    ((3, 63), ("volume_type_id",)),
    ((3, 65), ("consumes_quota",)),
)
SNAPSHOT_GATES = (((3, 14), ("group_snapshot_id",)), ((3, 41), ("user_id",)), ((3, 65), ("consumes_quota",)))
BUCKETS = ((3, 0), (3, 13), (3, 14), (3, 21), (3, 41), (3, 48), (3, 61), (3, 63), (3, 65))


def bucket(mv):
    chosen = BUCKETS[0]
    for b in BUCKETS:
        if mv >= b:
            chosen = b
    return chosen


def render_volume(ctx, item, admin, mv, detail=True):
    links = [
        {"href": "%s/volumes/%s" % (ctx.ep, item["id"]), "rel": "self"},
        {"href": "%s/volumes/%s" % (ctx.root, item["id"]), "rel": "bookmark"},
    ]
    if not detail:
        return {"id": item["id"], "links": links, "name": item["name"]}
    d = dict(item)
    if not admin:
        for key in VOLUME_ADMIN_ONLY:
            d.pop(key, None)
        d["attachments"] = [dict(a, host_name=None) for a in item["attachments"]]
    for gate, keys in VOLUME_GATES:
        if mv < gate:
            for key in keys:
                d.pop(key, None)
    d["links"] = links
    return d


def render_snapshot(ctx, item, mv, detail=True):
    d = dict(item)
    if not detail:
        for key in ("os-extended-snapshot-attributes:progress", "os-extended-snapshot-attributes:project_id"):
            d.pop(key, None)
    for gate, keys in SNAPSHOT_GATES:
        if mv < gate:
            for key in keys:
                d.pop(key, None)
    return d


def _scope(ctx):
    all_t = "all_tenants" in ctx.q and util.truthy(ctx.first("all_tenants") or "1")
    if all_t and ctx.admin:
        return ctx.first("project_id")
    return ctx.project_id


def list_volumes(ctx, detail):
    project = _scope(ctx)
    keys = ("name", "status", "bootable", "availability_zone", "volume_type", "id")
    filters = tuple((k, ctx.first(k)) for k in keys if k in ctx.q)
    sort = (ctx.first("sort"), ctx.first("sort_key"), ctx.first("sort_dir"))
    table = ctx.store.table("volumes")
    pkey = "os-vol-tenant-attr:tenant_id"

    def build():
        out = []
        for item in table.ordered():
            if project is not None and item[pkey] != project:
                continue
            ok = True
            for key, value in filters:
                current = item.get(key)
                if key == "bootable":
                    ok = str(current).lower() == str(util.truthy(value)).lower()
                else:
                    ok = str(current) == value
                if not ok:
                    break
            if ok:
                out.append(item)
        return _sorted(out, sort)

    admin = ctx.admin
    b = bucket(ctx.mv)
    return serve_list(
        ctx,
        "volumes",
        ("volumes", project, filters, sort),
        build,
        lambda item: render_volume(ctx, item, admin, b, detail),
        ("volume", detail, admin, b, ctx.root),
        "nova",
    )


def _sorted(items, sort):
    sort_param, sort_key, sort_dir = sort
    if sort_param:
        first = sort_param.split(",")[0]
        sort_key, _sep, sort_dir = first.partition(":")
    if not sort_key:
        return items
    reverse = (sort_dir or "desc").lower().startswith("desc")
    return sorted(items, key=lambda i: (str(i.get(sort_key) or ""), i["id"]), reverse=reverse)


def list_snapshots(ctx, detail):
    project = _scope(ctx)
    filters = tuple((k, ctx.first(k)) for k in ("name", "status", "volume_id", "id") if k in ctx.q)
    sort = (ctx.first("sort"), ctx.first("sort_key"), ctx.first("sort_dir"))
    table = ctx.store.table("volume_snapshots")
    pkey = "os-extended-snapshot-attributes:project_id"

    def build():
        out = []
        for item in table.ordered():
            if project is not None and item[pkey] != project:
                continue
            if all(str(item.get(k)) == v for k, v in filters):
                out.append(item)
        return _sorted(out, sort)

    b = bucket(ctx.mv)
    return serve_list(
        ctx,
        "volume_snapshots",
        ("snapshots", project, filters, sort),
        build,
        lambda item: render_snapshot(ctx, item, b, detail),
        ("snapshot", detail, b),
        "nova",
        collection_key="snapshots",
    )


def _visible(ctx, tname, item_id, what):
    table = ctx.store.table(tname)
    item = table.items.get(item_id)
    pkey = table.spec.project
    if item is None or (not ctx.admin and item[pkey] != ctx.project_id):
        raise HttpError(404, "%s %s could not be found." % (what, item_id))
    return item


def create_volume(ctx):
    ctx.mutating()
    body = (ctx.body or {}).get("volume")
    if not isinstance(body, dict) or "size" not in body:
        raise HttpError(400, "Invalid input for field/attribute volume. 'size' is a required property")
    stamp = util.fmt(util.now(), util.FMT_MICRO)
    item = {
        "attachments": [],
        "availability_zone": body.get("availability_zone") or "nova",
        "bootable": "true" if body.get("imageRef") else "false",
        "cluster_name": None,
        "consistencygroup_id": None,
        "consumes_quota": True,
        "created_at": stamp,
        "description": body.get("description"),
        "encrypted": False,
        "group_id": None,
        "id": util.new_uuid(),
        "metadata": dict(body.get("metadata") or {}),
        "migration_status": None,
        "multiattach": bool(body.get("multiattach", False)),
        "name": body.get("name"),
        "os-vol-host-attr:host": "cinder-sim@lvm#lvm",
        "os-vol-mig-status-attr:migstat": None,
        "os-vol-mig-status-attr:name_id": None,
        "os-vol-tenant-attr:tenant_id": ctx.project_id,
        "provider_id": None,
        "replication_status": None,
        "service_uuid": "c1d0e6f7-9a53-4f25-8d0f-000000000001",
        "shared_targets": False,
        "size": int(body["size"]),
        "snapshot_id": body.get("snapshot_id"),
        "source_volid": body.get("source_volid"),
        "status": "available",
        "updated_at": stamp,
        "user_id": ctx.token.user["id"],
        "volume_type": body.get("volume_type") or "__DEFAULT__",
        "volume_type_id": "04b11a59-b457-4fd1-8dda-3958940e5504",
    }
    ctx.store.put("volumes", item)
    return ctx.ok({"volume": render_volume(ctx, item, ctx.admin, bucket(ctx.mv))}, 202)


def create_snapshot(ctx):
    ctx.mutating()
    body = (ctx.body or {}).get("snapshot")
    if not isinstance(body, dict) or not body.get("volume_id"):
        raise HttpError(400, "Invalid input for field/attribute snapshot. 'volume_id' is a required property")
    volume = _visible(ctx, "volumes", body["volume_id"], "Volume")
    stamp = util.fmt(util.now(), util.FMT_MICRO)
    item = {
        "consumes_quota": True,
        "created_at": stamp,
        "description": body.get("description"),
        "group_snapshot_id": None,
        "id": util.new_uuid(),
        "metadata": dict(body.get("metadata") or {}),
        "name": body.get("name"),
        "os-extended-snapshot-attributes:progress": "100%",
        "os-extended-snapshot-attributes:project_id": volume["os-vol-tenant-attr:tenant_id"],
        "size": volume["size"],
        "status": "available",
        "updated_at": stamp,
        "user_id": ctx.token.user["id"],
        "volume_id": volume["id"],
    }
    ctx.store.put("volume_snapshots", item)
    return ctx.ok({"snapshot": render_snapshot(ctx, item, bucket(ctx.mv))}, 202)


def handle(ctx):
    segs = ctx.segs
    if segs and len(segs[0]) == 32 and len(segs) > 1 and segs[0] not in ("volumes", "snapshots"):
        segs = segs[1:]  # legacy /v3/{project_id}/... URLs
    n = len(segs)
    method = ctx.method
    head = segs[0] if segs else ""
    b = bucket(ctx.mv)
    if head == "volumes":
        if n == 1 and method == "GET":
            return list_volumes(ctx, False)
        if n == 1 and method == "POST":
            return create_volume(ctx)
        if n == 2 and segs[1] == "detail" and method == "GET":
            return list_volumes(ctx, True)
        if n == 2:
            item = _visible(ctx, "volumes", segs[1], "Volume")
            if method == "GET":
                return ctx.ok({"volume": render_volume(ctx, item, ctx.admin, b)})
            if method == "PUT":
                ctx.mutating()
                body = (ctx.body or {}).get("volume") or {}
                changes = {k: body[k] for k in ("name", "description", "metadata") if k in body}
                item = ctx.store.update("volumes", segs[1], changes)
                return ctx.ok({"volume": render_volume(ctx, item, ctx.admin, b)})
            if method == "DELETE":
                ctx.mutating()
                if item["attachments"]:
                    raise HttpError(
                        400,
                        "Invalid volume: Volume status must be available or error or error_restoring or "
                        "error_extending "
                        "or error_managing and must not be migrating, attached, belong to a group, have snapshots, "
                        "awaiting a transfer, or be disassociated from snapshots after volume transfer.",
                    )
                ctx.store.delete("volumes", segs[1])
                return ctx.empty(202)
    elif head == "snapshots":
        if n == 1 and method == "GET":
            return list_snapshots(ctx, False)
        if n == 1 and method == "POST":
            return create_snapshot(ctx)
        if n == 2 and segs[1] == "detail" and method == "GET":
            return list_snapshots(ctx, True)
        if n == 2:
            item = _visible(ctx, "volume_snapshots", segs[1], "Snapshot")
            if method == "GET":
                return ctx.ok({"snapshot": render_snapshot(ctx, item, b)})
            if method == "PUT":
                ctx.mutating()
                body = (ctx.body or {}).get("snapshot") or {}
                changes = {k: body[k] for k in ("name", "description", "metadata") if k in body}
                item = ctx.store.update("volume_snapshots", segs[1], changes)
                return ctx.ok({"snapshot": render_snapshot(ctx, item, b)})
            if method == "DELETE":
                ctx.mutating()
                ctx.store.delete("volume_snapshots", segs[1])
                return ctx.empty(202)
    elif head == "types" and method == "GET":
        return ctx.ok(
            {
                "volume_types": [
                    {"id": "04b11a59-b457-4fd1-8dda-3958940e5504", "name": "__DEFAULT__", "is_public": True},
                    {"id": "ed73f466-dfad-44ee-a907-60ae48eec804", "name": "ssd", "is_public": True},
                ]
            }
        )
    raise HttpError(404, "The resource could not be found.")


def negotiate_volume(headers):
    return negotiate(headers, "volume", None, MIN_VERSION, MAX_VERSION)
