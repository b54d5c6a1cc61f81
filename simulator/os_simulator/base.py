"""The request context of a service call and the generic paginated listing (pre-serialized pages)."""

from __future__ import annotations

from . import util
from .http_util import (
    JSON,
    HttpError,
    Response,
    assemble,
    cached_listing,
    href,
    links_tail,
    page_of,
    parse_limit,
    with_marker,
)


class Ctx:
    """Everything a service handler needs to know about one request."""

    __slots__ = (
        "body",
        "cloud",
        "ep",
        "fault",
        "iface",
        "method",
        "mv",
        "pairs",
        "q",
        "query_string",
        "region",
        "rel",
        "root",
        "segs",
        "service",
        "store",
        "token",
        "version_headers",
    )

    def __init__(self):
        self.fault = None
        self.mv = None
        self.version_headers = []

    def first(self, key, default=None):
        values = self.q.get(key)
        return values[0] if values else default

    @property
    def admin(self):
        return self.token.is_admin

    @property
    def project_id(self):
        return self.token.project_id

    @property
    def max_page(self):
        return max(1, self.cloud.max_page_size)

    def headers(self, content_type=JSON):
        return [("Content-Type", content_type), *self.version_headers]

    def ok(self, obj, status=200):
        return Response(status, util.dumps(obj), self.headers())

    def empty(self, status=204):
        return Response(status, b"", list(self.version_headers))

    def mutating(self):
        """Writers need a member (or admin) role; readers get the service's 403."""
        roles = self.token.roles
        if not ("admin" in roles or "member" in roles or "manager" in roles):
            raise HttpError(403, "Policy doesn't allow this operation to be performed.")


def serve_list(ctx, tname, listing_key, build, render, view_key, style, collection_key=None, page_extra=None):
    """Serve one page of a listing.

    ``listing_key`` identifies the filtered result (scope and filters; ``build()`` computes it),
    ``render(item)`` gives the item's API dict and ``view_key`` everything that rendering depends
    on (admin or not, microversion, fields, endpoint URL). Pages are cached as bytes per URL and
    view until the type changes.
    """
    table = ctx.store.table(tname)
    key = collection_key or table.spec.collection
    looping = ctx.fault is not None and ctx.fault.kind == "looping_next"
    # a listing fault (empty_page, no_next, short_page) changes this one page: never cached
    page_fault = ctx.cloud.faults.take_page(
        ctx.service, ctx.rel, ctx.method, ctx.region, ctx.iface, ctx.token.user["name"] if ctx.token else None
    )
    page_key = ("page", ctx.rel, ctx.query_string, ctx.root, view_key, listing_key, ctx.cloud.max_page_size)
    if not looping and page_fault is None:
        cached = table.cache.get(page_key)
        if cached is not None:
            return Response(200, assemble(*cached), ctx.headers())
    with ctx.store.lock:
        listing = cached_listing(table, ("items", listing_key), build)
        page = _page_body(ctx, table, listing, key, render, view_key, style, looping, page_extra, page_fault)
        if not looping and page_fault is None:
            # the cached page refers to the items' cached bytes: no second copy of them
            table.cache[page_key] = page
    return Response(200, assemble(*page), ctx.headers())


def _page_body(ctx, table, listing, key, render, view_key, style, looping, page_extra, page_fault=None):
    max_page = ctx.max_page
    limit = parse_limit(ctx.first("limit"), ctx.service)
    marker = ctx.first("marker")
    page_reverse = style in ("neutron", "octavia") and util.truthy(ctx.first("page_reverse", "false"))
    paginate = True
    if style == "glance":
        eff = min(limit if limit is not None else min(25, max_page), max_page)
    elif style == "neutron":
        if not limit:
            if len(listing.items) <= max_page and not marker:
                paginate = False
                eff = len(listing.items)
            else:
                eff = max_page
        else:
            eff = min(limit, max_page)
    else:
        eff = min(limit, max_page) if limit is not None else max_page
    marker_error = None
    if style == "network" or style == "neutron":
        marker_error = HttpError(404, "%s %s could not be found." % (table.spec.singular.capitalize(), marker))
    elif style == "glance":
        marker_error = HttpError(400, "Invalid marker. Image %s could not be found." % marker)
    page = page_of(listing, eff, marker, page_reverse, marker_error) if paginate else listing.items
    shown = page
    fault_kind = page_fault.kind if page_fault is not None else None
    if fault_kind == "empty_page":
        page = shown = []
    elif fault_kind == "short_page" and page:
        drop = page_fault.count if page_fault.count else max(1, len(page) // 2)
        shown = page[: max(0, len(page) - drop)]  # the links still follow the full page
    cache = table.item_cache
    parts = []
    for item in shown:
        ikey = (item["id"], view_key)
        data = cache.get(ikey)
        if data is None:
            data = util.dumps(render(item))
            cache[ikey] = data
        parts.append(data)
    self_url = href(ctx.ep + ctx.rel, ctx.pairs)
    pairs = ctx.pairs
    tail = b""
    if fault_kind == "no_next":
        looping = False
        page = []  # the links below are computed as for a last page (the items are in shown)
    if style == "nova":
        links = []
        if looping:
            links = [{"href": self_url, "rel": "next"}]
        elif page and len(page) == eff:
            links = [{"href": href(ctx.ep + ctx.rel, with_marker(pairs, page[-1]["id"])), "rel": "next"}]
        tail = links_tail(key + "_links", links)
    elif style == "neutron":
        links = []
        if paginate and (limit or eff):
            base = ctx.ep + ctx.rel
            if looping:
                links.append({"href": self_url, "rel": "next"})
            elif not (len(page) < eff and not page_reverse):
                nxt = with_marker(pairs, page[-1]["id"], drop=("marker", "page_reverse")) if page else pairs
                links.append({"href": href(base, nxt), "rel": "next"})
            if not (len(page) < eff and page_reverse):
                prev = [(k, v) for k, v in pairs if k not in ("marker", "page_reverse")]
                if page:
                    prev.append(("marker", page[0]["id"]))
                prev.append(("page_reverse", "True"))
                links.append({"href": href(base, prev), "rel": "previous"})
        if paginate:
            tail = links_tail(key + "_links", links)
    elif style == "octavia":
        links = []
        base = ctx.ep + ctx.rel
        # as Octavia's PaginationHelper._make_links: only limit, sort and sort_key survive (filters are dropped)
        keep = [(k, v) for k, v in pairs if k in ("sort", "sort_key")][:2]
        if marker and page:
            links.append(
                {
                    "href": href(
                        base, [("limit", str(eff)), *keep, ("marker", page[0]["id"]), ("page_reverse", "True")]
                    ),
                    "rel": "previous",
                }
            )
        if looping:
            links.append({"href": self_url, "rel": "next"})
        elif page and len(page) >= eff:
            links.append({"href": href(base, [("limit", str(eff)), *keep, ("marker", page[-1]["id"])]), "rel": "next"})
        tail = links_tail(key + "_links", links, always=True)
    elif style == "glance":
        kept = [(k, v) for k, v in pairs if k != "marker"]
        first = href("/v2/images", kept)
        extra = {"first": first, "schema": "/v2/schemas/images"}
        if looping:
            extra["next"] = href("/v2/images", pairs)
        elif page and len(page) == eff:
            extra["next"] = href("/v2/images", [*kept, ("marker", page[-1]["id"])])
        tail = b", " + util.dumps(extra)[1:-1]
    if page_extra:
        tail += page_extra
    return key, parts, tail
