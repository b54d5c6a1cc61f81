"""Version discovery: what each service answers at its root and at its versioned roots.

As the real 2026.1 services answer (``*-probe-*.json`` captures, compared by
``tests/simulator/test_probes.py``), including the answers that are not version documents,
because clients must cope with them:

- Nova: root, ``/v2`` and ``/v2.1`` (slash or not) are version documents, without a token.
- Cinder: root without a token (300); ``/v3`` needs a token (401) and then lists the versions.
- Glance: root (300) and ``/versions`` without a token; ``/v2`` is a 401 HTML page without a
  token and a 404 HTML page with one.
- Neutron: root without a token; ``/v2.0`` needs a token, then ``/v2.0/`` lists the core
  resources and ``/v2.0`` (no slash) is a 404.
- Octavia: root without a token; ``/v2`` and ``/v2.0`` need a token, then answer the JSON string
  ``"v2"`` (keystoneauth's version discovery raises a TypeError on it).

Keystone's documents are in identity.py.
"""

from __future__ import annotations

from . import svc_compute, svc_volume, util
from .http_util import JSON, Response, error_response, json_response, unauthorized

# the API's versioned path segment(s), per service
VERSION_SEGMENT = {
    "compute": ("v2.1",),
    "network": ("v2.0",),
    "block-storage": ("v3",),
    "image": ("v2",),
    "load-balancer": ("v2", "v2.0"),
}
# services whose 401 carries a request id (keystonemiddleware behind oslo's request-id middleware)
_UNAUTHORIZED_WITH_REQUEST_ID = ("network", "block-storage")
HTML = "text/html; charset=UTF-8"
# what Neutron's /v2.0/ lists: its core resources only (extensions have their own listing)
_NEUTRON_CORE = ("networks", "subnets", "subnetpools", "ports")


def _rid():
    return [("x-openstack-request-id", util.request_id())]


def _webob_page(status_line, explanation):
    """The HTML error page of webob (Glance answers with it)."""
    text = (
        "<html>\n <head>\n  <title>%s</title>\n </head>\n <body>\n  <h1>%s</h1>\n"
        "  %s<br /><br />\n\n\n\n </body>\n</html>" % (status_line, status_line, explanation)
    )
    return text.encode()


def unauthorized_response(service, auth_url):
    """401 of a service's versioned endpoint for a request without a valid token."""
    if service == "image":
        explanation = (
            "This server could not verify that you are authorized to access the document you requested. "
            "Either you supplied the wrong credentials (e.g., bad password), or your browser does not "
            "understand how to supply the credentials required."
        )
        return Response(401, _webob_page("401 Unauthorized", explanation), [("Content-Type", HTML)])
    resp = unauthorized(auth_url)
    if service in _UNAUTHORIZED_WITH_REQUEST_ID:
        resp.headers.extend(_rid())
    return resp


# -- version documents --
def _image_versions(root):
    ids = ("v2.15", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", "v2.17", "v2.7", "v2.6", "v2.5", "v2.4")
    ids += ("v2.3", "v2.2", "v2.1", "v2.0")
    return {
        "versions": [
            {
                "id": v,
                "links": [{"href": "%s/v2/" % root, "rel": "self"}],
                "status": "CURRENT" if v == "v2.17" else "SUPPORTED",
            }
            for v in ids
        ]
    }


_LB_UPDATED = (
    "2016-12-11T00:00:00Z 2018-04-20T00:00:00Z 2018-07-31T00:00:00Z 2018-12-18T00:00:00Z 2018-12-19T00:00:00Z "
    "2019-01-21T00:00:00Z 2019-01-25T00:00:00Z 2018-01-25T12:00:00Z 2019-02-12T00:00:00Z 2019-03-04T00:00:00Z "
    "2019-03-05T00:00:00Z 2019-06-24T00:00:00Z 2019-09-11T00:00:00Z 2019-09-13T00:00:00Z 2019-11-10T00:00:00Z "
    "2020-03-10T00:00:00Z 2020-03-15T00:00:00Z 2020-04-29T00:00:00Z 2020-04-29T01:00:00Z 2020-05-12T00:00:00Z "
    "2020-08-02T00:00:00Z 2020-09-03T00:00:00Z 2020-09-04T00:00:00Z 2020-09-07T00:00:00Z 2020-10-15T00:00:00Z "
    "2021-10-02T00:00:00Z 2022-08-29T00:00:00Z 2023-05-05T00:00:00Z 2023-11-08T00:00:00Z 2024-10-15T00:00:00Z "
    "2025-02-26T00:00:00Z"
).split()


def _lb_versions(root):
    last = len(_LB_UPDATED) - 1
    return {
        "versions": [
            {
                "id": "v2.%d" % i,
                "links": [{"href": "%s/v2" % root, "rel": "self"}],
                "status": "CURRENT" if i == last else "SUPPORTED",
                "updated": updated,
            }
            for i, updated in enumerate(_LB_UPDATED)
        ]
    }


def _cinder_versions(root):
    return {
        "versions": [
            {
                "id": "v3.0",
                "links": [
                    {"href": "https://docs.openstack.org/", "rel": "describedby", "type": "text/html"},
                    {"href": "%s/v3/" % root, "rel": "self"},
                ],
                "media-types": [
                    {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
                ],
                "min_version": "3.0",
                "status": "CURRENT",
                "updated": "2023-08-31T00:00:00Z",
                "version": "%d.%d" % svc_volume.MAX_VERSION,
            }
        ]
    }


def _nova_entries(root):
    return [
        {
            "id": "v2.0",
            "links": [{"href": "%s/v2/" % root, "rel": "self"}],
            "min_version": "",
            "status": "DEPRECATED",
            "updated": "2025-07-04T12:00:00Z",
            "version": "",
        },
        {
            "id": "v2.1",
            "links": [{"href": "%s/v2.1/" % root, "rel": "self"}],
            "min_version": "2.1",
            "status": "CURRENT",
            "updated": "2013-07-23T11:33:21Z",
            "version": "%d.%d" % svc_compute.MAX_VERSION,
        },
    ]


def _nova_version(root, segment):
    """``GET /v2`` or ``/v2.1``: one version, with its media type and a describedby link."""
    entry = dict(next(e for e in _nova_entries(root) if e["id"] == ("v2.0" if segment == "v2" else "v2.1")))
    docs = {"href": "http://docs.openstack.org/", "rel": "describedby", "type": "text/html"}
    entry["links"] = [*entry["links"], docs]
    media = "application/vnd.openstack.compute+json;version=%s" % ("2" if segment == "v2" else "2.1")
    ordered = {key: entry[key] for key in ("id", "links")}
    ordered["media-types"] = [{"base": "application/json", "type": media}]
    ordered.update((key, entry[key]) for key in ("min_version", "status", "updated", "version"))
    return {"version": ordered}


def _cinder_headers():
    return [("OpenStack-API-Version", "volume 3.0"), ("Vary", "OpenStack-API-Version"), *_rid()]


# -- answers --
def root_document(service, root):
    """``GET <service root>`` (no token needed)."""
    if service == "compute":
        return json_response(200, {"versions": _nova_entries(root)})
    if service == "block-storage":
        return json_response(300, _cinder_versions(root), _cinder_headers())
    if service == "image":
        return json_response(300, _image_versions(root))
    if service == "network":
        entry = {"id": "v2.0", "links": [{"href": "%s/v2.0/" % root, "rel": "self"}], "status": "CURRENT"}
        return json_response(200, {"versions": [entry]})
    return json_response(200, _lb_versions(root), _rid())


def unversioned_path(service, root, segment):
    """Documents beside the versioned roots (Glance's ``/versions``), or None."""
    if service == "image" and segment == "versions":
        return json_response(200, _image_versions(root))
    return None


def open_versioned_root(service, root, segment):
    """A versioned root that answers without a token (Nova's /v2.1, and /v2 that only answers this), or None."""
    if service != "compute" or segment not in ("v2", "v2.1"):
        return None
    if segment == "v2":
        return json_response(200, _nova_version(root, segment), _rid())
    headers = [
        ("OpenStack-API-Version", "compute 2.1"),
        ("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
        ("X-OpenStack-Nova-API-Version", "2.1"),
        *_rid(),
    ]
    return json_response(200, _nova_version(root, segment), headers)


def versioned_root(service, root, segment, slash):
    """``GET <root>/<version>[/]`` with a valid token, or None when the service has no answer of its own."""
    if service == "block-storage":
        return json_response(200, _cinder_versions(root), _cinder_headers())
    if service == "image":
        page = _webob_page("404 Not Found", "The resource could not be found.")
        return Response(404, page, [("Content-Type", HTML), *_rid()])
    if service == "load-balancer":
        # Octavia's root controller of /v2 (and /v2.0) answers a bare string, not a version document
        return Response(200, util.dumps("v2"), [("Content-Type", JSON), *_rid()])
    if service == "network":
        if not slash:
            message = "The resource could not be found."
            return error_response("network", 404, message, kind="HTTPNotFound", headers=_rid())
        ep = "%s/%s" % (root, segment)
        resources = [
            {"collection": c, "links": [{"href": "%s/%s" % (ep, c), "rel": "self"}], "name": c[:-1]}
            for c in _NEUTRON_CORE
        ]
        return json_response(200, {"resources": resources}, _rid())
    return None
