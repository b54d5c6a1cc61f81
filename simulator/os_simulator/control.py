"""The control API (``/_sim/...``, JSON, no authentication: the simulator listens on 127.0.0.1).

- ``GET    /_sim/health``                                   {"status": "ok", "clouds": [...]}
- ``GET    /_sim/clouds``                                   every cloud (auth URL, regions, users and passwords)
- ``POST   /_sim/clouds``                                   add a cloud: {"name", "regions", "seed", "servers", ...}
- ``GET    /_sim/clouds/<cloud>``                           one cloud
- ``PATCH  /_sim/clouds/<cloud>``                           {"max_page_size": n, "token_lifetime": seconds}
- ``DELETE /_sim/clouds/<cloud>``                           remove it
- ``GET    /_sim/clouds/<cloud>/clouds.yaml?user=admin``    a clouds.yaml for that cloud (text)
- ``POST   /_sim/clouds/<cloud>/tokens/expire``             every issued token expires now
- ``POST   /_sim/clouds/<cloud>/application_credentials``   {"user": "admin"} -> {"id", "name", "secret"}
- ``GET    /_sim/clouds/<cloud>/faults``                    the faults
- ``POST   /_sim/clouds/<cloud>/faults``                    add one: {"kind", "service", "path", "status", ...}
- ``DELETE /_sim/clouds/<cloud>/faults[/<id>]``             clear all, or one
- ``GET    /_sim/clouds/<cloud>/requests``                  served requests (?service=&path=&method=)
- ``DELETE /_sim/clouds/<cloud>/requests``                  forget them
- ``GET    /_sim/clouds/<cloud>/data/<region>/<type>``      items (?count=1 for the count only)
- ``POST   /_sim/clouds/<cloud>/data/<region>/<type>``      create an item (the JSON body)
- ``GET|PATCH|DELETE /_sim/clouds/<cloud>/data/<region>/<type>/<id>``  get, update (changes), delete
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from .faults import FaultError
from .http_util import Response, json_response
from .util import dump_yaml


def _error(status, message):
    return json_response(status, {"error": {"code": status, "message": message}})


def _body(req):
    if not req.body:
        return {}
    try:
        return json.loads(req.body)
    except ValueError:
        raise ValueError("the request body is not JSON") from None


def handle_control(sim, req, segs):
    try:
        return _route(sim, req, segs)
    except (KeyError, ValueError, TypeError, FaultError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        return _error(404 if isinstance(exc, KeyError) else 400, str(message))


def _route(sim, req, segs):
    method = req.method
    query = dict(parse_qsl(req.query_string or ""))
    if segs and segs[-1] == "":
        segs = segs[:-1]
    if not segs or segs == ["health"]:
        return json_response(200, {"status": "ok", "url": sim.url, "clouds": sorted(sim.clouds)})
    if segs[0] != "clouds":
        return _error(404, "unknown control path")
    if len(segs) == 1:
        if method == "GET":
            return json_response(200, {"clouds": [c.describe() for c in sim.clouds.values()]})
        if method == "POST":
            spec = _body(req)
            name = spec.pop("name", "demo")
            regions = spec.pop("regions", ["RegionOne"])
            cloud = sim.add_cloud(name, regions=tuple(regions), **spec)
            return json_response(201, cloud.describe())
        return _error(405, "method not allowed")
    cloud = sim.clouds[segs[1]]
    rest = segs[2:]
    if not rest:
        if method == "GET":
            return json_response(200, cloud.describe())
        if method == "PATCH":
            spec = _body(req)
            cloud.set(max_page_size=spec.get("max_page_size"), token_lifetime=spec.get("token_lifetime"))
            return json_response(200, cloud.describe())
        if method == "DELETE":
            sim.remove_cloud(cloud.name)
            return Response(204)
    elif rest == ["clouds.yaml"] and method == "GET":
        entry = cloud.clouds_yaml_entry(user=query.get("user", "admin"))
        text = dump_yaml({"clouds": {query.get("name", cloud.name): entry}})
        return Response(200, text.encode(), [("Content-Type", "application/yaml")])
    elif rest == ["tokens", "expire"] and method == "POST":
        cloud.expire_all_tokens()
        return json_response(200, {"expired": True})
    elif rest == ["application_credentials"] and method == "POST":
        spec = _body(req)
        return json_response(201, cloud.application_credential(spec.get("user", "admin"), name=spec.get("name")))
    elif rest[0] == "faults":
        if len(rest) == 1 and method == "GET":
            return json_response(200, {"faults": [f.to_dict() for f in cloud.faults]})
        if len(rest) == 1 and method == "POST":
            spec = _body(req)
            fault = cloud.faults.add(**spec)
            return json_response(201, fault.to_dict())
        if len(rest) == 1 and method == "DELETE":
            cloud.faults.clear()
            return Response(204)
        if len(rest) == 2 and method == "DELETE":
            if cloud.faults.remove(int(rest[1])):
                return Response(204)
            return _error(404, "no fault %s" % rest[1])
    elif rest == ["requests"]:
        if method == "GET":
            entries = cloud.requests(service=query.get("service"), path=query.get("path"), method=query.get("method"))
            return json_response(200, {"requests": entries})
        if method == "DELETE":
            cloud.clear_requests()
            return Response(204)
    elif rest[0] == "data" and len(rest) >= 3:
        region, tname = rest[1], rest[2]
        store = cloud.store
        if len(rest) == 3:
            if method == "GET":
                if query.get("count"):
                    return json_response(200, {"count": store.count(tname, region=region)})
                include_deleted = query.get("include_deleted", "") in ("1", "true")
                return json_response(200, {"items": store.list(tname, region=region, include_deleted=include_deleted)})
            if method == "POST":
                return json_response(201, store.create(tname, _body(req), region=region))
        elif len(rest) == 4:
            item_id = rest[3]
            if method == "GET":
                return json_response(200, store.get(tname, item_id, region=region, include_deleted=True))
            if method == "PATCH":
                return json_response(200, store.update(tname, item_id, _body(req), region=region))
            if method == "DELETE":
                store.delete(tname, item_id, region=region)
                return Response(204)
    return _error(404, "unknown control path")
