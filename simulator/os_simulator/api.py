"""Request routing: version discovery, Keystone, the services, authentication and faults.

URL layout on the simulator's port (one port serves every cloud):

- ``/<cloud>/identity/``          Keystone root (300) and ``/<cloud>/identity/v3/...``
- ``/<cloud>/<region>/<interface>/compute/v2.1/...``      Nova
- ``/<cloud>/<region>/<interface>/network/v2.0/...``      Neutron
- ``/<cloud>/<region>/<interface>/volume/v3/...``         Cinder
- ``/<cloud>/<region>/<interface>/image/v2/...``          Glance
- ``/<cloud>/<region>/<interface>/load-balancer/v2/...``  Octavia
- ``/_sim/...``                   the control API (see control.py)
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from urllib.parse import parse_qsl, unquote

from . import svc_compute, svc_image, svc_lb, svc_network, svc_volume, util
from .base import Ctx
from .cloud import SERVICE_SEGMENTS
from .http_util import (
    JSON,
    HttpError,
    Response,
    error_response,
    json_response,
    qdict,
    unauthorized,
)

# versioned path segment -> accepted names, per service
VERSION_SEGMENT = {
    "compute": ("v2.1",),
    "network": ("v2.0",),
    "block-storage": ("v3",),
    "image": ("v2",),
    "load-balancer": ("v2", "v2.0"),
}
HANDLERS = {
    "compute": svc_compute.handle,
    "network": svc_network.handle,
    "block-storage": svc_volume.handle,
    "image": svc_image.handle,
    "load-balancer": svc_lb.handle,
}
FORBIDDEN_MESSAGES = {
    "compute": "Policy doesn't allow os_compute_api:servers:detail to be performed.",
    "block-storage": "Policy doesn't allow volume:get_all to be performed.",
    "network": "rule:get_network is disallowed by policy",
    "image": "You are not authorized to complete get_images action.",
    "load-balancer": "Policy does not allow this request to be performed.",
}


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


def _nova_versions(root):
    return {
        "versions": [
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
    }


def _nova_version(root):
    return {
        "version": {
            "id": "v2.1",
            "links": [
                {"href": "%s/v2.1/" % root, "rel": "self"},
                {"href": "http://docs.openstack.org/", "rel": "describedby", "type": "text/html"},
            ],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
            "min_version": "2.1",
            "status": "CURRENT",
            "updated": "2013-07-23T11:33:21Z",
            "version": "%d.%d" % svc_compute.MAX_VERSION,
        }
    }


def _keystone_version(v3_url):
    return {
        "id": "v3.14",
        "links": [{"href": "%s/" % v3_url, "rel": "self"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
    }


class Request:
    __slots__ = ("body", "headers", "host", "method", "path", "query_string")

    def __init__(self, method, path, query_string, headers, body, host):
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.host = host


class App:
    """Turns a Request into a Response for the clouds of a Simulator."""

    def __init__(self, sim):
        self.sim = sim

    def handle(self, req):
        raw_segs = req.path.split("/")[1:]
        if not raw_segs or not raw_segs[0]:
            return json_response(200, {"simulator": "os_simulator", "clouds": sorted(self.sim.clouds)})
        if raw_segs[0] == "_sim":
            from .control import handle_control

            return handle_control(self.sim, req, [unquote(s) for s in raw_segs[1:]])
        cloud = self.sim.clouds.get(unquote(raw_segs[0]))
        if cloud is None:
            return error_response(None, 404, "No cloud named %s on this simulator." % unquote(raw_segs[0]))
        host_url = "http://%s" % (req.host or self.sim.netloc)
        cloud_root = "%s/%s" % (host_url, raw_segs[0])
        if len(raw_segs) >= 2 and raw_segs[1] == "identity":
            return self._identity(cloud, req, raw_segs[2:], cloud_root + "/identity")
        if len(raw_segs) < 4:
            return error_response(None, 404, "The resource could not be found.")
        region, iface, seg = unquote(raw_segs[1]), unquote(raw_segs[2]), raw_segs[3]
        service = SERVICE_SEGMENTS.get(seg)
        if service is None or region not in cloud.regions or iface not in ("public", "internal", "admin"):
            return error_response(None, 404, "The resource could not be found.")
        root = "/".join([cloud_root, raw_segs[1], raw_segs[2], seg])
        rest = raw_segs[4:]
        return self._service(cloud, req, region, iface, service, root, rest)

    # -- services --
    def _service(self, cloud, req, region, iface, service, root, rest):
        started = time.monotonic()
        if rest and rest[-1] == "":
            rest = rest[:-1]
        if not rest:
            return self._discovery_root(service, root)
        if rest[0] not in VERSION_SEGMENT[service]:
            return error_response(service, 404, "The resource could not be found.")
        ep = "%s/%s" % (root, rest[0])
        segs = [unquote(s) for s in rest[1:]]
        if not segs and service in ("compute", "block-storage", "image", "load-balancer") and req.method == "GET":
            return self._discovery_versioned(service, root, req)
        ctx = Ctx()
        ctx.cloud = cloud
        ctx.region = region
        ctx.iface = iface
        ctx.service = service
        ctx.root = root
        ctx.ep = ep
        ctx.segs = segs
        ctx.rel = "/" + "/".join(rest[1:]) if rest[1:] else ""
        ctx.method = "GET" if req.method == "HEAD" else req.method
        ctx.query_string = req.query_string
        ctx.pairs = parse_qsl(req.query_string, keep_blank_values=True) if req.query_string else []
        ctx.q = qdict(ctx.pairs)
        ctx.store = cloud.store.region(region)
        token = cloud.validate(req.headers.get("X-Auth-Token"))
        user_name = token.user["name"] if token else None
        status = 500
        try:
            if token is None:
                resp = unauthorized(cloud.auth_url)
            else:
                ctx.token = token
                resp = self._with_faults(cloud, ctx, req, service, user_name)
            status = resp.status
            return resp
        finally:
            cloud.log_request(
                {
                    "method": req.method,
                    "service": service,
                    "region": region,
                    "interface": iface,
                    "path": ctx.rel,
                    "query": req.query_string,
                    "status": status,
                    "user": user_name,
                    "seconds": round(time.monotonic() - started, 6),
                }
            )

    def _with_faults(self, cloud, ctx, req, service, user_name):
        fault = cloud.faults.take(service, ctx.rel, req.method, ctx.region, ctx.iface, user_name)
        delay = 0.0
        if fault is not None:
            kind = fault.kind
            if kind in ("status", "forbidden", "rate_limit"):
                headers = [("x-openstack-request-id", util.request_id())]
                if kind == "rate_limit":
                    headers.append(("Retry-After", str(fault.retry_after)))
                message = fault.message or {
                    403: FORBIDDEN_MESSAGES.get(service, "Forbidden"),
                    429: "This request was rate-limited.",
                    503: "The server is currently unavailable. Please try again at a later time.",
                }.get(
                    fault.status,
                    "Unexpected API Error. Please report this at http://bugs.launchpad.net/ "
                    "and attach the log if possible.",
                )
                return error_response(service, fault.status, message, headers=headers)
            if kind == "hang":
                return Response(action="hang", delay=fault.delay)
            if kind == "drop":
                return Response(action="close")
            if kind == "token_expiry":
                cloud.revoke(ctx.token.id)
                return unauthorized(cloud.auth_url)
            if kind == "latency":
                delay = fault.delay
            if kind == "looping_next":
                ctx.fault = fault
        resp = self._dispatch(ctx, req, service)
        resp.delay = delay
        if fault is not None and fault.kind == "malformed_json" and resp.body:
            resp.body = resp.body[: max(1, len(resp.body) // 2)]
        return resp

    def _dispatch(self, ctx, req, service):
        try:
            if service in ctx.token.user.get("denied_services", ()):
                raise HttpError(403, FORBIDDEN_MESSAGES[service], kind="PolicyNotAuthorized")
            if service == "compute":
                ctx.mv, ctx.version_headers = svc_compute.negotiate(
                    req.headers,
                    "compute",
                    "X-OpenStack-Nova-API-Version",
                    svc_compute.MIN_VERSION,
                    svc_compute.MAX_VERSION,
                )
            elif service == "block-storage":
                ctx.mv, ctx.version_headers = svc_volume.negotiate_volume(req.headers)
            ctx.version_headers = [*ctx.version_headers, ("x-openstack-request-id", util.request_id())]
            if req.method in ("POST", "PUT", "PATCH"):
                ctx.body = _load_body(req.body)
            else:
                ctx.body = None
            with ctx.store.lock:  # handlers read dicts that writers change: one request at a time per region
                return HANDLERS[service](ctx)
        except HttpError as exc:
            headers = list(ctx.version_headers) or [("x-openstack-request-id", util.request_id())]
            headers = [h for h in headers if h[0].lower() != "content-type"] + exc.headers
            return error_response(service, exc.status, exc.message, kind=exc.kind, headers=headers)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return error_response(service, 500, "Unexpected API Error: %s" % type(exc).__name__)

    def _discovery_root(self, service, root):
        rid = [("x-openstack-request-id", util.request_id())]
        if service == "compute":
            return json_response(200, _nova_versions(root))
        if service == "block-storage":
            hdrs = [("OpenStack-API-Version", "volume 3.0"), ("Vary", "OpenStack-API-Version"), *rid]
            return json_response(300, _cinder_versions(root), hdrs)
        if service == "image":
            return json_response(300, _image_versions(root))
        if service == "network":
            return json_response(
                200,
                {
                    "versions": [
                        {"id": "v2.0", "links": [{"href": "%s/v2.0/" % root, "rel": "self"}], "status": "CURRENT"}
                    ]
                },
            )
        return json_response(200, _lb_versions(root), rid)

    def _discovery_versioned(self, service, root, req):
        rid = [("x-openstack-request-id", util.request_id())]
        if service == "compute":
            hdrs = [
                ("OpenStack-API-Version", "compute 2.1"),
                ("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
                ("X-OpenStack-Nova-API-Version", "2.1"),
                *rid,
            ]
            return json_response(200, _nova_version(root), hdrs)
        if service == "block-storage":
            hdrs = [("OpenStack-API-Version", "volume 3.0"), ("Vary", "OpenStack-API-Version"), *rid]
            return json_response(200, _cinder_versions(root), hdrs)
        if service == "image":
            return json_response(300, _image_versions(root))
        del req
        return json_response(200, _lb_versions(root), rid)

    # -- identity --
    def _identity(self, cloud, req, raw_rest, identity_root):
        if raw_rest and raw_rest[-1] == "":
            raw_rest = raw_rest[:-1]
        v3 = identity_root + "/v3"
        hdrs = [("Vary", "X-Auth-Token"), ("x-openstack-request-id", util.request_id())]
        if not raw_rest:
            body = {"versions": {"values": [_keystone_version(v3)]}}
            return json_response(300, body, [("Location", v3 + "/"), *hdrs])
        if raw_rest[0] != "v3":
            return error_response("identity", 404, "The resource could not be found.", headers=hdrs)
        segs = [unquote(s) for s in raw_rest[1:]]
        if not segs:
            return json_response(200, {"version": _keystone_version(v3)}, hdrs)
        rel = "/" + "/".join(segs)
        token = cloud.validate(req.headers.get("X-Auth-Token"))
        fault = cloud.faults.take("identity", rel, req.method, None, None, token.user["name"] if token else None)
        if fault is not None:
            if fault.kind in ("status", "forbidden", "rate_limit"):
                extra = [("Retry-After", str(fault.retry_after))] if fault.kind == "rate_limit" else []
                return error_response(
                    "identity", fault.status, fault.message or "Injected fault.", headers=hdrs + extra
                )
            if fault.kind == "hang":
                return Response(action="hang", delay=fault.delay)
            if fault.kind == "drop":
                return Response(action="close")
        status = 500
        try:
            resp = self._identity_call(cloud, req, segs, token, hdrs, v3)
            if fault is not None and fault.kind == "latency":
                resp.delay = fault.delay
            if fault is not None and fault.kind == "malformed_json":
                resp.body = resp.body[: max(1, len(resp.body) // 2)]
            status = resp.status
            return resp
        finally:
            cloud.log_request(
                {
                    "method": req.method,
                    "service": "identity",
                    "region": None,
                    "interface": None,
                    "path": rel,
                    "query": req.query_string,
                    "status": status,
                    "user": token.user["name"] if token else None,
                    "seconds": 0.0,
                }
            )

    def _identity_call(self, cloud, req, segs, token, hdrs, v3):
        method = req.method
        if segs == ["auth", "tokens"]:
            if method == "POST":
                return self._authenticate(cloud, req, hdrs)
            if token is None:
                return _id_error(401, "The request you have made requires authentication.", hdrs)
            subject = cloud.validate(req.headers.get("X-Subject-Token"))
            if method in ("GET", "HEAD"):
                if subject is None:
                    return _id_error(404, "Could not find token: %s." % req.headers.get("X-Subject-Token"), hdrs)
                body = cloud.token_body(subject)
                return json_response(200, body, [("X-Subject-Token", subject.id), *hdrs])
            if method == "DELETE":
                if subject is not None:
                    cloud.revoke(subject.id)
                return Response(204, b"", hdrs)
        if token is None:
            return _id_error(401, "The request you have made requires authentication.", hdrs)
        admin = token.is_admin
        links = {"next": None, "previous": None, "self": v3 + "/" + "/".join(segs)}
        if segs == ["auth", "catalog"] and method == "GET":
            return json_response(200, {"catalog": token.catalog, "links": links}, hdrs)
        if segs == ["auth", "projects"] and method == "GET":
            return json_response(200, {"projects": [_project_view(token.project, v3)], "links": links}, hdrs)
        if segs and segs[0] == "projects" and method == "GET":
            if len(segs) == 1:
                if not admin:
                    return _id_error(
                        403, "You are not authorized to perform the requested action: identity:list_projects.", hdrs
                    )
                projects = cloud.all_projects()
                name = dict(parse_qsl(req.query_string)).get("name")
                if name:
                    projects = [p for p in projects if p["name"] == name]
                return json_response(200, {"projects": [_project_view(p, v3) for p in projects], "links": links}, hdrs)
            project = cloud.project_by(project_id=segs[1])
            if project is None or (not admin and project["id"] != token.project_id):
                if not admin:
                    return _id_error(
                        403, "You are not authorized to perform the requested action: identity:get_project.", hdrs
                    )
                return _id_error(404, "Could not find project: %s." % segs[1], hdrs)
            return json_response(200, {"project": _project_view(project, v3)}, hdrs)
        if segs and segs[0] == "users" and len(segs) >= 2:
            user = cloud.user_by(user_id=segs[1])
            if user is None or (not admin and user["id"] != token.user["id"]):
                return _id_error(
                    403, "You are not authorized to perform the requested action: identity:get_user.", hdrs
                )
            if len(segs) == 2 and method == "GET":
                return json_response(200, {"user": _user_view(user, v3)}, hdrs)
            if len(segs) == 3 and segs[2] == "projects" and method == "GET":
                project = cloud.project_by(project_id=user["project"])
                return json_response(200, {"projects": [_project_view(project, v3)], "links": links}, hdrs)
            if len(segs) == 3 and segs[2] == "application_credentials":
                if method == "POST":
                    body = _load_body(req.body) or {}
                    spec = body.get("application_credential") or {}
                    cred = cloud.application_credential(user["name"], name=spec.get("name"))
                    out = {
                        "application_credential": {
                            "id": cred["id"],
                            "name": cred["name"],
                            "secret": cred["secret"],
                            "project_id": user["project"],
                            "roles": [{"name": r} for r in user["roles"]],
                            "expires_at": None,
                            "unrestricted": False,
                            "description": spec.get("description"),
                        }
                    }
                    return json_response(201, out, hdrs)
                if method == "GET":
                    creds = [
                        {"id": c["id"], "name": c["name"], "project_id": c["project"]}
                        for c in list(cloud.app_creds.values())
                        if c["user"] == user["name"]
                    ]
                    return json_response(200, {"application_credentials": creds, "links": links}, hdrs)
        if segs == ["regions"] and method == "GET":
            regions = [
                {"id": r, "description": "", "parent_region_id": None, "links": {"self": "%s/regions/%s" % (v3, r)}}
                for r in cloud.regions
            ]
            return json_response(200, {"regions": regions, "links": links}, hdrs)
        if segs == ["services"] and method == "GET":
            services = [{"id": e["id"], "name": e["name"], "type": e["type"], "enabled": True} for e in token.catalog]
            return json_response(200, {"services": services, "links": links}, hdrs)
        if segs == ["endpoints"] and method == "GET":
            endpoints = [dict(ep, service_id=e["id"], enabled=True) for e in token.catalog for ep in e["endpoints"]]
            return json_response(200, {"endpoints": endpoints, "links": links}, hdrs)
        return _id_error(404, "The resource could not be found.", hdrs)

    def _authenticate(self, cloud, req, hdrs):
        try:
            body = json.loads(req.body or b"{}")
            auth = body["auth"]
            identity = auth["identity"]
            methods = identity["methods"]
        except (ValueError, KeyError, TypeError):
            return _id_error(
                400,
                "Expecting to find auth in request body. " + _MALFORMED,
                hdrs,
            )
        bad = _id_error(401, "The request you have made requires authentication.", hdrs)
        user = project = app_cred = None
        roles = None
        if "application_credential" in methods:
            spec = identity.get("application_credential") or {}
            cred = cloud.app_creds.get(spec.get("id"))
            if cred is None and spec.get("name"):
                uspec = spec.get("user") or {}
                owner = cloud.user_by(user_id=uspec.get("id"), name=uspec.get("name"))
                cred = next(
                    (
                        c
                        for c in cloud.app_creds.values()
                        if c["name"] == spec["name"] and owner and c["user"] == owner["name"]
                    ),
                    None,
                )
            if cred is None or cred["secret"] != spec.get("secret"):
                return bad
            if cred.get("expires_at") and cred["expires_at"] <= time.time():
                return bad
            user = cloud.users.get(cred["user"])
            project = cloud.project_by(project_id=cred["project"])
            roles = cred["roles"]
            app_cred = cred
            if auth.get("scope"):
                return _id_error(401, "The request you have made requires authentication.", hdrs)
        elif "password" in methods:
            uspec = (identity.get("password") or {}).get("user") or {}
            if uspec.get("id"):
                user = cloud.user_by(user_id=uspec["id"])
            else:
                domain = uspec.get("domain") or {}
                if domain.get("id", "default") != "default" and domain.get("name", "Default") != "Default":
                    return bad
                if not domain:
                    return _id_error(
                        400,
                        "Expecting to find domain in user. " + _MALFORMED,
                        hdrs,
                    )
                user = cloud.user_by(name=uspec.get("name"))
            if user is None or user["password"] != uspec.get("password"):
                return bad
        elif "token" in methods:
            previous = cloud.validate(((identity.get("token") or {}).get("id")))
            if previous is None:
                return bad
            user = previous.user
        else:
            return bad
        if app_cred is None:
            scope = auth.get("scope") or {}
            pspec = scope.get("project")
            if pspec:
                if pspec.get("id"):
                    project = cloud.project_by(project_id=pspec["id"])
                else:
                    domain = pspec.get("domain") or {}
                    if domain.get("id", "default") != "default" and domain.get("name", "Default") != "Default":
                        return bad
                    project = cloud.project_by(name=pspec.get("name"))
                if project is None or project["id"] != user["project"]:
                    return bad
            elif scope:
                return bad
            else:
                project = cloud.project_by(project_id=user["project"])
        token = cloud.issue_token(user, project, methods, app_cred=app_cred, roles=roles)
        return json_response(201, cloud.token_body(token), [("X-Subject-Token", token.id)])


_MALFORMED = (
    "The server could not comply with the request since it is either malformed or otherwise incorrect. "
    "The client is assumed to be in error."
)


def _load_body(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise HttpError(400, "Malformed request body") from None


def _id_error(status, message, hdrs):
    return error_response("identity", status, message, headers=hdrs)


def _project_view(project, v3):
    return {
        "description": project.get("description", ""),
        "domain_id": "default",
        "enabled": True,
        "id": project["id"],
        "is_domain": False,
        "links": {"self": "%s/projects/%s" % (v3, project["id"])},
        "name": project["name"],
        "options": {},
        "parent_id": "default",
        "tags": [],
    }


def _user_view(user, v3):
    return {
        "default_project_id": user["project"],
        "domain_id": "default",
        "enabled": True,
        "id": user["id"],
        "links": {"self": "%s/users/%s" % (v3, user["id"])},
        "name": user["name"],
        "options": {},
        "password_expires_at": None,
    }


__all__ = ["JSON", "App", "Request"]
