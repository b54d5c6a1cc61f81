"""The simulator answers every URL that version discovery may probe as the real services do.

For each ``*-probe-*.json`` capture (``../shared/fixtures/openstack-2026.1/``: the service root and
each versioned root of Keystone, Nova, Neutron, Cinder, Glance and Octavia 2026.1, with and without
a trailing slash, with a token and without one for ``-noauth``), the same URL of the simulator is
requested the same way and compared: status code, the captured header names (and the values of
Content-Type, OpenStack-API-Version, Vary), the body's kind (JSON object, JSON string, HTML page),
keys and value types at every level, link formats, and for version documents the version ids and
statuses in order. Some real answers are not version documents at all (Octavia's ``"v2"``,
Neutron's 404 at ``/v2.0``, Glance's HTML 404 at ``/v2``): a client tested on the simulator must
cope with them as it must against a real cloud.
"""

from __future__ import annotations

import re

import pytest
import requests

from .captures import FIXTURES, PROBE_FILES, load
from .test_fixtures import Mapper, _token, check_sim_items, compare

pytestmark = pytest.mark.skipif(
    not PROBE_FILES,
    reason="no *-probe-*.json captures at %s (set CMDB_FIXTURES_DIR, or put ../shared beside the checkout)" % FIXTURES,
)

# the header names the captures record (their selection); other headers are not compared
CAPTURED_HEADERS = {
    "content-type",
    "x-openstack-request-id",
    "vary",
    "openstack-api-version",
    "x-openstack-nova-api-version",
    "location",
    "x-subject-token",
}
EXACT_HEADERS = {"content-type", "openstack-api-version", "vary", "x-openstack-nova-api-version"}
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


@pytest.fixture(scope="module")
def probe_sim():
    from os_simulator import Simulator

    sim = Simulator().start()
    cloud = sim.add_cloud("probes", regions=("RegionOne",), servers=2, projects=1, load_balancers=1)
    try:
        yield cloud, _token(cloud, "admin")
    finally:
        sim.stop()


def _versions(body):
    """[(id, status)] of a version document (root list, Keystone's values, or one version)."""
    if not isinstance(body, dict):
        return None
    versions = body.get("versions")
    if isinstance(versions, dict):
        versions = versions.get("values")
    if versions is None and isinstance(body.get("version"), dict):
        versions = [body["version"]]
    if not isinstance(versions, list):
        return None
    return [(v.get("id"), v.get("status")) for v in versions if isinstance(v, dict)]


def _compare_headers(captured, resp, mapper, errors):
    real = {k.lower(): v for k, v in captured["headers"].items()}
    sim = {k.lower(): v for k, v in resp.headers.items() if k.lower() in CAPTURED_HEADERS}
    if set(real) != set(sim):
        errors.append("header names: real %s, simulator %s" % (sorted(real), sorted(sim)))
    for key in EXACT_HEADERS & set(real) & set(sim):
        if real[key] != sim[key]:
            errors.append("header %s: real %r, simulator %r" % (key, real[key], sim[key]))
    for key in {"x-openstack-request-id", "location"} & set(real) & set(sim):
        compare(real[key], sim[key], "header " + key, mapper, errors)


def _compare_body(captured, resp, mapper, errors):
    real = captured["body"]
    content_type = captured["headers"].get("Content-Type", "")
    if content_type.startswith("text/html"):
        # Glance's webob pages: same page (title), not JSON
        want, got = _TITLE.search(real), _TITLE.search(resp.text)
        if not got or want.group(1) != got.group(1):
            errors.append("HTML page titled %r expected, got %r" % (want.group(1), resp.text[:200]))
        return
    try:
        body = resp.json()
    except ValueError:
        errors.append("JSON expected, got %r" % resp.text[:200])
        return
    if not isinstance(real, (dict, list)):
        # a bare JSON scalar (Octavia's "v2"): the same value, it is what clients choke on
        if body != real:
            errors.append("body: JSON %r expected, got %r" % (real, body))
        return
    compare(real, body, "body", mapper, errors)
    for key, value in real.items():
        if isinstance(value, list) and value and isinstance(body.get(key), list):
            check_sim_items(value, body[key], "body.%s" % key, errors)
    if _versions(real) is not None and _versions(real) != _versions(body):
        errors.append("versions (id, status): real %s, simulator %s" % (_versions(real), _versions(body)))
    if "resources" in real:
        want = [r.get("collection") for r in real["resources"]]
        got = [r.get("collection") for r in body.get("resources") or ()]
        if want != got:
            errors.append("resources: real %s, simulator %s" % (want, got))


@pytest.mark.parametrize("name", PROBE_FILES)
def test_simulator_answers_discovery_probe_like_the_real_service(probe_sim, name):
    cloud, token = probe_sim
    mapper = Mapper(cloud)
    captured = load(name)
    url, _service = mapper.sim_url(captured["url"])
    headers = {"Accept": "application/json"}
    if not name.endswith("-noauth.json"):
        headers["X-Auth-Token"] = token
    resp = requests.request(captured["method"], url, headers=headers, timeout=10, allow_redirects=False)
    assert resp.status_code == captured["status"], "%s %s: %s" % (captured["method"], url, resp.text[:300])
    errors = []
    _compare_headers(captured, resp, mapper, errors)
    _compare_body(captured, resp, mapper, errors)
    assert not errors, "\n".join(errors)


def test_every_discovery_url_of_every_service_is_captured():
    """The captures cover each service's root and versioned roots, slash or not, token or not."""
    services = {name.split("-probe-")[0] for name in PROBE_FILES}
    assert services == {"identity", "compute", "network", "block-storage", "image", "load-balancer"}
    for name in PROBE_FILES:
        if name.endswith("-noauth.json"):
            assert name.replace("-noauth.json", ".json") in PROBE_FILES, name
