"""Request routing: the services, authentication and faults (Keystone: identity.py, version
discovery: discovery.py, the control API: control.py).

URL layout on the simulator's port (one port serves every cloud):

- ``/<cloud>/identity/``          Keystone root (300) and ``/<cloud>/identity/v3/...``
- ``/<cloud>/<region>/<interface>/compute/v2.1/...``      Nova
- ``/<cloud>/<region>/<interface>/network/v2.0/...``      Neutron
- ``/<cloud>/<region>/<interface>/volume/v3/...``         Cinder
- ``/<cloud>/<region>/<interface>/image/v2/...``          Glance
- ``/<cloud>/<region>/<interface>/load-balancer/v2/...``  Octavia
- ``/_sim/...``                   the control API (see control.py)

Modules import downwards only: server -> api -> (control, identity, discovery, svc_*) -> base,
http_util, util (tests/simulator/test_structure.py checks that there is no import cycle).
"""

from __future__ import annotations

import sys
import time
import traceback
from urllib.parse import parse_qsl, unquote

from . import discovery, identity, svc_compute, svc_image, svc_lb, svc_network, svc_volume, util
from .base import Ctx
from .cloud import SERVICE_SEGMENTS
from .control import handle_control
from .http_util import (
    JSON,
    HttpError,
    Response,
    error_response,
    json_response,
    load_body,
    qdict,
)

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
            return handle_control(self.sim, req, [unquote(s) for s in raw_segs[1:]])
        cloud = self.sim.clouds.get(unquote(raw_segs[0]))
        if cloud is None:
            return error_response(None, 404, "No cloud named %s on this simulator." % unquote(raw_segs[0]))
        host_url = "http://%s" % (req.host or self.sim.netloc)
        cloud_root = "%s/%s" % (host_url, raw_segs[0])
        if len(raw_segs) >= 2 and raw_segs[1] == "identity":
            return identity.handle(cloud, req, raw_segs[2:], cloud_root + "/identity")
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
        slash = bool(rest) and rest[-1] == ""  # Neutron answers /v2.0 and /v2.0/ differently
        if slash:
            rest = rest[:-1]
        if not rest:
            return discovery.root_document(service, root)
        reading = req.method in ("GET", "HEAD")
        if len(rest) == 1 and reading:
            resp = discovery.unversioned_path(service, root, rest[0]) or discovery.open_versioned_root(
                service, root, rest[0]
            )
            if resp is not None:
                return resp
        if rest[0] not in discovery.VERSION_SEGMENT[service]:
            return error_response(service, 404, "The resource could not be found.")
        ep = "%s/%s" % (root, rest[0])
        segs = [unquote(s) for s in rest[1:]]
        version_root = (rest[0], slash) if not segs and reading else None
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
                resp = discovery.unauthorized_response(service, cloud.auth_url)
            else:
                ctx.token = token
                resp = self._with_faults(cloud, ctx, req, service, user_name, version_root)
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

    def _with_faults(self, cloud, ctx, req, service, user_name, version_root=None):
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
                return discovery.unauthorized_response(service, cloud.auth_url)
            if kind == "latency":
                delay = fault.delay
            if kind == "looping_next":
                ctx.fault = fault
        resp = None
        if version_root is not None:  # GET <root>/<version>[/]: what the service answers there
            resp = discovery.versioned_root(service, ctx.root, *version_root)
        if resp is None:
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
                ctx.body = load_body(req.body)
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


__all__ = ["JSON", "App", "Request"]
