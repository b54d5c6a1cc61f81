"""Glance (image v2): images."""

from __future__ import annotations

from . import util
from .base import serve_list
from .http_util import HttpError

MUTABLE = ("name", "visibility", "tags", "min_disk", "min_ram", "protected", "os_hidden", "container_format")
MUTABLE += ("disk_format",)


def _match(current, wanted):
    """Glance filter values: ``value`` or ``in:a,b,c`` (ids, names, statuses...)."""
    if wanted.startswith("in:"):
        return str(current) in {v.strip().strip('"') for v in wanted[3:].split(",")}
    if wanted.startswith("eq:"):
        wanted = wanted[3:]
    return str(current) == wanted


def _visible_to(item, project, admin):
    if admin:
        return True
    vis = item["visibility"]
    return vis in ("public", "community") or item["owner"] == project


def list_images(ctx):
    admin = ctx.admin
    project = ctx.project_id
    q = ctx.q
    visibility = ctx.first("visibility")
    if visibility and visibility not in ("public", "private", "shared", "community", "all"):
        raise HttpError(400, "Invalid visibility value: %s" % visibility)
    filters = tuple(
        (k, ctx.first(k))
        for k in ("name", "status", "owner", "id", "disk_format", "container_format", "member_status")
        if k in q
    )
    tags = tuple(q.get("tag", ()))
    hidden = ctx.first("os_hidden")
    sort = (ctx.first("sort_key"), ctx.first("sort_dir"))
    listing_key = ("images", admin, project, visibility, filters, tags, hidden, sort)
    table = ctx.store.table("images")

    def build():
        out = []
        want_hidden = util.truthy(hidden) if hidden is not None else False
        for item in table.ordered():
            if not _visible_to(item, project, admin):
                continue
            vis = item["visibility"]
            if visibility in (None, "all"):
                if visibility is None and vis == "community" and item["owner"] != project:
                    continue
            elif vis != visibility:
                continue
            if bool(item.get("os_hidden")) != want_hidden:
                continue
            if not all(_match(item.get(k), v) for k, v in filters if k != "member_status"):
                continue
            if tags and not set(tags) <= set(item.get("tags") or []):
                continue
            out.append(item)
        sort_key, sort_dir = sort
        if sort_key:
            reverse = (sort_dir or "desc").lower().startswith("desc")
            out.sort(key=lambda i: (str(i.get(sort_key) or ""), i["id"]), reverse=reverse)
        return out

    return serve_list(ctx, "images", listing_key, build, lambda item: item, ("image",), "glance")


def _get(ctx, image_id):
    item = ctx.store.table("images").items.get(image_id)
    if item is None or not _visible_to(item, ctx.project_id, ctx.admin):
        raise HttpError(404, "No image found with ID %s" % image_id)
    return item


def create_image(ctx):
    ctx.mutating()
    body = ctx.body or {}
    stamp = util.fmt(util.now())
    image_id = body.get("id") or util.new_uuid()
    item = {
        "checksum": None,
        "container_format": body.get("container_format"),
        "created_at": stamp,
        "disk_format": body.get("disk_format"),
        "file": "/v2/images/%s/file" % image_id,
        "id": image_id,
        "min_disk": int(body.get("min_disk", 0)),
        "min_ram": int(body.get("min_ram", 0)),
        "name": body.get("name"),
        "os_hash_algo": None,
        "os_hash_value": None,
        "os_hidden": bool(body.get("os_hidden", False)),
        "owner": ctx.project_id,
        "protected": bool(body.get("protected", False)),
        "schema": "/v2/schemas/image",
        "self": "/v2/images/%s" % image_id,
        "size": None,
        "status": "queued",
        "tags": list(body.get("tags") or []),
        "updated_at": stamp,
        "virtual_size": None,
        "visibility": body.get("visibility") or "shared",
    }
    for key, value in body.items():
        if key not in item and isinstance(value, str):
            item[key] = value  # custom properties
    ctx.store.put("images", item)
    return ctx.ok(item, 201)


def patch_image(ctx, image_id):
    ctx.mutating()
    item = _get(ctx, image_id)
    ops = ctx.body
    if not isinstance(ops, list):
        raise HttpError(400, "Request body must be a JSON array of operation objects.")
    changes = {}
    for op in ops:
        path = str(op.get("path", "")).lstrip("/")
        if op.get("op") in ("add", "replace"):
            changes[path] = op.get("value")
        elif op.get("op") == "remove":
            changes[path] = None
    item = ctx.store.update("images", image_id, changes)
    return ctx.ok(item)


def handle(ctx):
    segs = ctx.segs
    n = len(segs)
    method = ctx.method
    if segs and segs[0] == "images":
        if n == 1 and method == "GET":
            return list_images(ctx)
        if n == 1 and method == "POST":
            return create_image(ctx)
        if n == 2:
            if method == "GET":
                return ctx.ok(_get(ctx, segs[1]))
            if method == "PATCH":
                return patch_image(ctx, segs[1])
            if method == "DELETE":
                ctx.mutating()
                _get(ctx, segs[1])
                ctx.store.delete("images", segs[1])
                return ctx.empty(204)
    if segs[:2] == ["schemas", "image"] or segs[:2] == ["schemas", "images"]:
        return ctx.ok({"name": segs[1], "properties": {}, "additionalProperties": {"type": "string"}})
    raise HttpError(404, "The resource could not be found.")
