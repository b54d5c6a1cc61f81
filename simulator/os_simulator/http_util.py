"""Request/response objects, service error bodies and the paginated listing engine."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from . import util

JSON = "application/json"
JSON_UTF8 = "application/json; charset=UTF-8"

STATUS_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Response:
    """What a handler returns. ``action`` "close" drops the connection without an answer."""

    __slots__ = ("action", "body", "delay", "headers", "status")

    def __init__(self, status=200, body=b"", headers=None, action=None, delay=0.0):
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []
        self.action = action
        self.delay = delay

    def header(self, name, default=None):
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default


class HttpError(Exception):
    """Raised by handlers; turned into the service's error body."""

    def __init__(self, status, message, kind=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers or []


def json_response(status, obj, headers=None, content_type=JSON):
    hdrs = [("Content-Type", content_type)]
    if headers:
        hdrs.extend(headers)
    return Response(status, util.dumps(obj), hdrs)


# -- error bodies, per service, as the real services write them --
_NOVA_KEYS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}

_NEUTRON_TYPES = {
    400: "HTTPBadRequest",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    409: "Conflict",
    429: "HTTPTooManyRequests",
    500: "HTTPInternalServerError",
    503: "HTTPServiceUnavailable",
}


def error_body(service, status, message, kind=None):
    """(body dict, content type) of an error as ``service`` answers it."""
    title = STATUS_TITLES.get(status, "Error")
    if service in ("compute", "block-storage"):
        key = _NOVA_KEYS.get(status, "computeFault")
        inner = {"code": status, "message": message}
        return {key: inner}, JSON_UTF8
    if service == "network":
        return {
            "NeutronError": {"type": kind or _NEUTRON_TYPES.get(status, "HTTPError"), "message": message, "detail": ""}
        }, JSON
    if service == "image":
        return {"message": message, "code": "%d %s" % (status, title), "title": title}, JSON
    if service == "load-balancer":
        return {"faultcode": "Client" if status < 500 else "Server", "faultstring": message, "debuginfo": None}, JSON
    return {"error": {"code": status, "message": message, "title": title}}, JSON


def error_response(service, status, message, kind=None, headers=None):
    body, ctype = error_body(service, status, message, kind)
    return json_response(status, body, headers, content_type=ctype)


def load_body(raw):
    """A JSON request body (None when empty); 400 when it is not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise HttpError(400, "Malformed request body") from None


UNAUTHORIZED_MESSAGE = "The request you have made requires authentication."


def unauthorized(auth_url):
    body = {"error": {"code": 401, "message": UNAUTHORIZED_MESSAGE, "title": "Unauthorized"}}
    return json_response(401, body, [("WWW-Authenticate", 'Keystone uri="%s"' % auth_url)])


# -- query helpers --
def qdict(pairs):
    out = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def parse_limit(value, service):
    if value is None or value == "":
        return None
    try:
        limit = int(value)
    except ValueError:
        raise HttpError(
            400,
            "limit param must be an integer"
            if service != "network"
            else "Bad limit request: Limit must be an integer 0 or greater and not '%s'." % value,
        ) from None
    if limit < 0:
        raise HttpError(400, "limit param must be positive")
    return limit


def bool_param(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on", "t", "y", "")


def scalar_matches(item_value, wanted):
    """Neutron/Octavia style equality between an API attribute and a query value."""
    if isinstance(item_value, bool):
        return str(item_value).lower() == wanted.strip().lower()
    if item_value is None:
        return wanted in ("", "None", "null")
    if isinstance(item_value, (int, float)):
        return str(item_value) == wanted
    return item_value == wanted


def sort_items(items, sort_key, sort_dir):
    if not sort_key:
        return items
    reverse = (sort_dir or "asc").lower().startswith("desc")

    def key(item):
        value = item.get(sort_key)
        return ("" if value is None else str(value), item.get("id", ""))

    return sorted(items, key=key, reverse=reverse)


class Listing:
    """A filtered, ordered result with a marker index (cached until the type changes)."""

    __slots__ = ("items", "pos")

    def __init__(self, items):
        self.items = items
        self.pos = {item["id"]: index for index, item in enumerate(items)}


def cached_listing(table, key, build):
    listing = table.cache.get(key)
    if listing is None:
        listing = Listing(build())
        if len(table.cache) > 4000:
            table.cache.clear()
        table.cache[key] = listing
    return listing


def page_of(listing, limit, marker, page_reverse=False, marker_error=None):
    """The slice of ``listing`` after (or before, reversed) ``marker``."""
    items = listing.items
    if marker:
        index = listing.pos.get(marker)
        if index is None:
            raise marker_error or HttpError(400, "marker [%s] not found" % marker)
        if page_reverse:
            return items[max(0, index - limit) : index]
        return items[index + 1 : index + 1 + limit]
    if page_reverse:
        return items[-limit:] if limit else []
    return items[:limit]


def href(base, pairs):
    return "%s?%s" % (base, urlencode(pairs)) if pairs else base


def with_marker(pairs, marker, drop=("marker",), extra=()):
    out = [(k, v) for k, v in pairs if k not in drop]
    out.append(("marker", marker))
    out.extend(extra)
    return out


def assemble(collection_key, parts, tail=b""):
    """Body bytes: {"<key>": [<items>]<tail>} where parts are pre-serialized items."""
    return b'{"' + collection_key.encode() + b'": [' + b", ".join(parts) + b"]" + tail + b"}"


def links_tail(key, links, always=False):
    if not links and not always:
        return b""
    return b', "' + key.encode() + b'": ' + util.dumps(links)


_FIELDS_SAFE = re.compile(r"^[A-Za-z0-9_:.\-]+$")


def select_fields(item, fields):
    if not fields:
        return item
    return {k: v for k, v in item.items() if k in fields}


def load_json(body, service):
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        raise HttpError(400, "Malformed request body") from None
