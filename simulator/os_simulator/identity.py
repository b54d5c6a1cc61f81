"""Keystone v3: version documents, tokens (password, token, application credential), projects, users, catalog.

Served at ``/<cloud>/identity/`` (root, 300) and ``/<cloud>/identity/v3/...``.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, unquote

from . import util
from .http_util import Response, error_response, json_response, load_body


def version_document(v3_url):
    return {
        "id": "v3.14",
        "links": [{"href": "%s/" % v3_url, "rel": "self"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
    }


def handle(cloud, req, raw_rest, identity_root):
    """``/<cloud>/identity/...``: the version documents, tokens, projects, users, catalog."""
    if raw_rest and raw_rest[-1] == "":
        raw_rest = raw_rest[:-1]
    v3 = identity_root + "/v3"
    hdrs = [("Vary", "X-Auth-Token"), ("x-openstack-request-id", util.request_id())]
    if not raw_rest:
        body = {"versions": {"values": [version_document(v3)]}}
        return json_response(300, body, [("Location", v3 + "/"), *hdrs])
    if raw_rest[0] != "v3":
        return error_response("identity", 404, "The resource could not be found.", headers=hdrs)
    segs = [unquote(s) for s in raw_rest[1:]]
    if not segs:
        return json_response(200, {"version": version_document(v3)}, hdrs)
    rel = "/" + "/".join(segs)
    token = cloud.validate(req.headers.get("X-Auth-Token"))
    fault = cloud.faults.take("identity", rel, req.method, None, None, token.user["name"] if token else None)
    if fault is not None:
        if fault.kind in ("status", "forbidden", "rate_limit"):
            extra = [("Retry-After", str(fault.retry_after))] if fault.kind == "rate_limit" else []
            return error_response("identity", fault.status, fault.message or "Injected fault.", headers=hdrs + extra)
        if fault.kind == "hang":
            return Response(action="hang", delay=fault.delay)
        if fault.kind == "drop":
            return Response(action="close")
    status = 500
    try:
        resp = _call(cloud, req, segs, token, hdrs, v3)
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


def _call(cloud, req, segs, token, hdrs, v3):
    method = req.method
    if segs == ["auth", "tokens"]:
        if method == "POST":
            return _authenticate(cloud, req, hdrs)
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
            return _id_error(403, "You are not authorized to perform the requested action: identity:get_user.", hdrs)
        if len(segs) == 2 and method == "GET":
            return json_response(200, {"user": _user_view(user, v3)}, hdrs)
        if len(segs) == 3 and segs[2] == "projects" and method == "GET":
            project = cloud.project_by(project_id=user["project"])
            return json_response(200, {"projects": [_project_view(project, v3)], "links": links}, hdrs)
        if len(segs) == 3 and segs[2] == "application_credentials":
            if method == "POST":
                body = load_body(req.body) or {}
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


def _authenticate(cloud, req, hdrs):
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
