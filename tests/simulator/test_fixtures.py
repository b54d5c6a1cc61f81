"""The simulator answers like the real services: every captured response, key by key.

For each file in ``../shared/fixtures/openstack-2026.1/`` (responses captured from real OpenStack
2026.1 services) the same request is replayed against the simulator (same service, path, query,
microversion and kind of user) and the answers are compared: status code, header names (and the
values of Content-Type, OpenStack-API-Version and Vary), body keys at every level, value types,
the format of timestamps, ids and addresses, and link formats (path shape and query keys).
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from .captures import FIXTURES, load
from .captures import OTHER_FILES as FILES  # the *-probe-* captures: test_probes.py

pytestmark = pytest.mark.skipif(
    not FILES,
    reason="captured real responses not found at %s (../shared/fixtures/openstack-2026.1 from the repo root)"
    % FIXTURES,
)

# ports of the captured services -> service type
REAL_PORTS = {
    "15000": "identity",
    "18774": "compute",
    "18776": "block-storage",
    "19292": "image",
    "19696": "network",
    "19876": "load-balancer",
    "18778": "placement",
}
SKIP_HEADERS = {"date", "content-length", "server", "connection", "keep-alive"}
EXACT_HEADERS = {"content-type", "openstack-api-version", "vary", "x-openstack-nova-api-version"}
# keys a simulated item may have beyond a captured one of another status (the real APIs do the same)
STATUS_DEPENDENT = {"fault", "volume_image_metadata"}
# dicts keyed by data (network names, metadata keys...), compared value by value, not key by key
MAP_KEYS = {"addresses", "metadata", "extra_specs", "binding:profile", "bound_drivers"}
# services in the captured catalog that the simulator does not simulate
NOT_SIMULATED = {"placement"}
MAP_KEYS |= {"insert_headers", "properties"}

PATTERNS = (
    ("keystone-time", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")),
    ("time-z", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")),
    ("time-micro", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")),
    ("time-plain", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")),
    ("uuid", re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")),
    ("hex32", re.compile(r"^[0-9a-f]{32}$")),
    ("mac", re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")),
    ("ipv4", re.compile(r"^\d+\.\d+\.\d+\.\d+$")),
    ("cidr", re.compile(r"^\d+\.\d+\.\d+\.\d+/\d+$")),
    ("request-id", re.compile(r"^req-[0-9a-f-]{36}$")),
)
ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


def kind_of(value):
    for name, pattern in PATTERNS:
        if pattern.match(value):
            return name
    return None


class Mapper:
    """Maps the captured services' URLs and the simulator's onto one comparable shape."""

    def __init__(self, cloud):
        self.cloud = cloud
        roots = {"identity": cloud.base_url + "/identity"}
        for stype in ("compute", "block-storage", "image", "network", "load-balancer"):
            endpoint = cloud.endpoint(stype)
            roots[stype] = re.sub(r"/(v2\.1|v3)$", "", endpoint)
        self.sim_roots = roots

    def real_root(self, url):
        parts = urlsplit(url)
        return "%s://%s" % (parts.scheme, parts.netloc), REAL_PORTS.get(str(parts.port))

    def sim_url(self, real_url):
        origin, service = self.real_root(real_url)
        return self.sim_roots[service] + real_url[len(origin) :], service

    def shape(self, value, side):
        """Service roots -> <service>, ids -> <id>, query -> sorted keys (marker value kept as <id>)."""
        text = value
        if side == "real":
            origin, service = self.real_root(text) if text.startswith("http") else (None, None)
            if origin and service:
                text = "<%s>%s" % (service, text[len(origin) :])
        else:
            for service, root in sorted(self.sim_roots.items(), key=lambda kv: -len(kv[1])):
                if text.startswith(root):
                    text = "<%s>%s" % (service, text[len(root) :])
                    break
        path, _sep, query = text.partition("?")
        path = ID_RE.sub("<id>", path)
        if not query:
            return path
        keys = sorted(k for k, _v in parse_qsl(query, keep_blank_values=True))
        return "%s?%s" % (path, "&".join(keys))


def compare(real, sim, where, mapper, errors):
    """Append to ``errors`` every structural difference between a real value and the simulated one."""
    if real is None or sim is None:
        return  # nullable attributes: a real null may be a value elsewhere and the other way round
    if isinstance(real, dict):
        if not isinstance(sim, dict):
            errors.append("%s: dict expected, got %r" % (where, type(sim).__name__))
            return
        if where.rsplit(".", 1)[-1] in MAP_KEYS:
            if real and sim:
                sample = next(iter(real.values()))
                for key, value in sim.items():
                    compare(sample, value, "%s[%r]" % (where, key), mapper, errors)
            return
        missing = set(real) - set(sim)
        extra = set(sim) - set(real) - STATUS_DEPENDENT
        if missing:
            errors.append("%s: keys missing in the simulator: %s" % (where, sorted(missing)))
        if extra:
            errors.append("%s: keys the real service does not return: %s" % (where, sorted(extra)))
        for key in real:
            if key in sim:
                compare(real[key], sim[key], "%s.%s" % (where, key), mapper, errors)
        return
    if isinstance(real, list):
        if not isinstance(sim, list):
            errors.append("%s: list expected, got %r" % (where, type(sim).__name__))
            return
        if real and sim:
            for index, item in enumerate(real):
                compare_item(item, sim, "%s[%d]" % (where, index), mapper, errors)
        return
    if type(real) is not type(sim):
        errors.append("%s: %s expected, got %s (%r)" % (where, type(real).__name__, type(sim).__name__, sim))
        return
    if isinstance(real, str):
        if real.startswith(("http://", "https://", "/v")) or where.endswith((".href", ".self", ".file", ".schema")):
            want, got = mapper.shape(real, "real"), mapper.shape(sim, "sim")
            if want != got:
                errors.append("%s: link format %r, simulator %r" % (where, want, got))
            return
        want = kind_of(real)
        if want and kind_of(sim) != want:
            errors.append("%s: a %s expected like %r, got %r" % (where, want, real, sim))


def compare_item(real_item, sim_items, where, mapper, errors):
    """A real list element must match some simulated element (lists of items with several shapes)."""
    if not isinstance(real_item, dict):
        compare(real_item, sim_items[0], where, mapper, errors)
        return
    best = None
    for candidate in sim_items:
        attempt = []
        compare(real_item, candidate, where, mapper, attempt)
        if not attempt:
            return
        if best is None or len(attempt) < len(best):
            best = attempt
    errors.extend(best or [])


def check_sim_items(real_items, sim_items, where, errors):
    """Every simulated item has the keys of the real items (status-dependent extras aside)."""
    real_keys = [set(i) for i in real_items if isinstance(i, dict)]
    if not real_keys:
        return
    for index, item in enumerate(sim_items):
        if not isinstance(item, dict):
            continue
        keys = set(item) - STATUS_DEPENDENT
        if not any(keys == k for k in real_keys):
            errors.append(
                "%s[%d] (simulator): keys %s differ from the real items' %s"
                % (where, index, sorted(keys ^ real_keys[0]), sorted(real_keys[0]))
            )


@pytest.fixture(scope="module")
def fixture_sim():
    from os_simulator import Simulator

    sim = Simulator().start()
    cloud = sim.add_cloud("realshape", regions=("RegionOne",), servers=24, projects=3, load_balancers=1)
    try:
        yield sim, cloud
    finally:
        sim.stop()


def _token(cloud, user):
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": cloud.password(user)}},
            },
            "scope": {"project": {"name": cloud.credentials(user)["project_name"], "domain": {"name": "Default"}}},
        }
    }
    resp = requests.post(cloud.auth_url + "/auth/tokens", json=body, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def replay(cloud, mapper, name, captured):
    """Send the captured request to the simulator; returns the response."""
    url, service = mapper.sim_url(captured["url"])
    method = captured["method"]
    user = "member" if "as-member" in name else "admin"
    headers = {"Accept": "application/json"}
    if name.startswith("identity-token"):
        password = "wrong-password" if "bad-password" in name else cloud.password("admin")
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": password}},
                },
                "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
            }
        }
        return requests.post(url, json=body, headers=headers, timeout=10)
    # discovery documents too: Cinder's /v3 answers only with a token (block-storage-probe-v3-noauth.json),
    # the others answer the same with or without one (test_probes.py compares both)
    needs_token = name not in ("identity-root.json", "identity-v3.json")
    if needs_token:
        headers["X-Auth-Token"] = _token(cloud, user)
    version = captured["headers"].get("OpenStack-API-Version")
    if version and "discovery" not in name:
        headers["OpenStack-API-Version"] = version
    if "/members" in url:
        pool = cloud.store.list("pools")[0]["id"]
        url = re.sub(r"/pools/[^/]+/members", "/pools/%s/members" % pool, url)
    query = captured.get("query") or {}
    if query:
        url = "%s?%s" % (url, urlencode([(k, str(v)) for k, v in query.items()]))
    del service
    return requests.request(method, url, headers=headers, timeout=10, allow_redirects=False)


@pytest.mark.parametrize("name", FILES)
def test_simulator_matches_captured_response(fixture_sim, name):
    _sim, cloud = fixture_sim
    mapper = Mapper(cloud)
    captured = load(name)
    resp = replay(cloud, mapper, name, captured)
    assert resp.status_code == captured["status"], resp.text[:500]
    errors = []
    real_headers = {k.lower(): v for k, v in captured["headers"].items() if k.lower() not in SKIP_HEADERS}
    sim_headers = {k.lower(): v for k, v in resp.headers.items() if k.lower() not in SKIP_HEADERS}
    if set(real_headers) != set(sim_headers):
        errors.append("header names: real %s, simulator %s" % (sorted(real_headers), sorted(sim_headers)))
    for key in EXACT_HEADERS & set(real_headers) & set(sim_headers):
        if key == "location":
            continue
        if real_headers[key] != sim_headers[key]:
            errors.append("header %s: real %r, simulator %r" % (key, real_headers[key], sim_headers[key]))
    for key in {"x-openstack-request-id", "location"} & set(real_headers) & set(sim_headers):
        compare(real_headers[key], sim_headers[key], "header " + key, mapper, errors)
    body = resp.json()
    real_body = captured["body"]
    if "token" in real_body:
        real_body = json.loads(json.dumps(real_body))
        catalog = real_body["token"]["catalog"]
        real_body["token"]["catalog"] = [e for e in catalog if e["type"] not in NOT_SIMULATED]
        assert {e["type"] for e in real_body["token"]["catalog"]} == {e["type"] for e in body["token"]["catalog"]}
    compare(real_body, body, "body", mapper, errors)
    for key, value in real_body.items():
        if isinstance(value, list) and value and isinstance(body.get(key), list) and not key.endswith("_links"):
            check_sim_items(value, body[key], "body.%s" % key, errors)
            if len(value) == (captured.get("query") or {}).get("limit"):
                assert len(body[key]) == len(value), "a full page of %d expected" % len(value)
    assert not errors, "\n".join(errors)
    _check_links(real_body, body, mapper)


def _check_links(real_body, body, mapper):
    """The same links (rel next/previous, first/next) and the marker is the page's last (first) id."""
    for key, real_links in real_body.items():
        if key.endswith("_links"):
            items = body[key[: -len("_links")]]
            sim_links = body.get(key)
            assert sim_links is not None, "%s missing" % key
            assert [link["rel"] for link in sim_links] == [link["rel"] for link in real_links], key
            for link in sim_links:
                marker = dict(parse_qsl(urlsplit(link["href"]).query)).get("marker")
                expected = items[-1]["id"] if link["rel"] == "next" else items[0]["id"]
                assert marker == expected, link
    if "next" in real_body:
        assert "next" in body
        assert dict(parse_qsl(urlsplit(body["next"]).query))["marker"] == body["images"][-1]["id"]
    if "first" in real_body:
        assert mapper.shape(body["first"], "sim") == mapper.shape(real_body["first"], "real")
