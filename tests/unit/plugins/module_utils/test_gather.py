"""gather.py without a cloud: pagination, retries, statuses, the consumer protocol.

A narrow fake stands in for the openstacksdk proxy (the keystoneauth Adapter API that gather uses:
``get(url, params=..., microversion=..., raise_exc=False)``, ``get_endpoint()``,
``get_endpoint_data()``); the integration tests run the same code against the simulator.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import gather as g
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

COMPUTE = "http://compute.test/v2.1"
IMAGE = "http://image.test/prefix/v2/"


class FakeResponse:
    def __init__(self, status=200, body=None, headers=None, text=None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.text = text if text is not None else json.dumps(body)

    def json(self):
        if self._body is None:
            return json.loads(self.text)
        return self._body


class EndpointData:
    def __init__(self, min_mv=None, max_mv=None):
        self.min_microversion = min_mv
        self.max_microversion = max_mv


class FakeProxy:
    """Serves ``items`` with limit/marker pagination like Nova (links) or Glance (next)."""

    def __init__(self, endpoint, items=(), key="servers", style="links", max_limit=1000, faults=None, data=None):
        self.endpoint = endpoint.rstrip("/")
        self.items = list(items)
        self.key = key
        self.style = style
        self.max_limit = max_limit
        self.faults = list(faults or [])  # responses returned first, in order
        self.calls = []
        self.data = data if data is not None else EndpointData("2.1", "2.90")

    def get_endpoint(self):
        return self.endpoint

    def get_endpoint_data(self):
        return self.data

    def get(self, url, params=None, microversion=None, raise_exc=True):
        assert raise_exc is False
        self.calls.append((url, dict(params or {}), microversion))
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        parsed = urlparse(url)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        query.update({k: str(v) for k, v in (params or {}).items()})
        limit = min(int(query.get("limit", self.max_limit)), self.max_limit)
        start = 0
        if "marker" in query:
            start = [item["id"] for item in self.items].index(query["marker"]) + 1
        page = self.items[start : start + limit]
        body = {self.key: page}
        if start + limit < len(self.items):
            next_query = dict(query, marker=page[-1]["id"], limit=limit)
            path = parsed.path if parsed.netloc else "/" + parsed.path.lstrip("/")
            if self.style == "links":
                href = "%s%s?%s" % (self.endpoint, path.replace(self.endpoint, ""), urlencode(next_query))
                body[self.key + "_links"] = [{"href": href, "rel": "next"}]
            else:
                body["next"] = "/v2%s?%s" % (path.replace("/v2", ""), urlencode(next_query))
        return FakeResponse(200, body)


def make_items(count, prefix="s"):
    return [{"id": "%s-%04d" % (prefix, index), "name": "%s%d" % (prefix, index)} for index in range(count)]


class Sleeps:
    def __init__(self):
        self.delays = []

    def __call__(self, delay):
        self.delays.append(delay)


def lister(proxy, policy=None, scope=None):
    scope = scope or g.Scope("demo", "RegionOne", "servers")
    report = g.ScopeReport(scope)
    policy = policy or g.HttpPolicy(sleep=Sleeps(), jitter=lambda: 0.5)
    return g._Lister(proxy, scope, "compute", report, policy, threading.Event()), report


def collect(the_lister, path="/servers/detail", key="servers", style="links", params=None, page_size=1000, **kw):
    items = []
    for page in the_lister.pages(path, key, style, params or {}, page_size, **kw):
        items.extend(page)
    return items


def test_links_pagination_follows_absolute_next_hrefs_over_three_pages():
    proxy = FakeProxy(COMPUTE, make_items(25), max_limit=10)
    the_lister, report = lister(proxy)
    items = collect(the_lister, params={"all_tenants": "1"})
    assert [item["id"] for item in items] == [item["id"] for item in proxy.items]
    assert report.api_calls == 3
    first_url, first_params = proxy.calls[0][:2]
    assert first_url == "/servers/detail" and first_params == {"all_tenants": "1", "limit": 1000}
    assert proxy.calls[1][0].startswith(COMPUTE + "/servers/detail?")  # absolute next href
    assert "marker=s-0009" in proxy.calls[1][0] and proxy.calls[1][1] == {}


class OctaviaLikeProxy(FakeProxy):
    """Octavia's next links keep only limit, sort and marker: filters are dropped from the href."""

    def get(self, url, params=None, microversion=None, raise_exc=True):
        response = super().get(url, params, microversion, raise_exc)
        for link in response.json().get(self.key + "_links", ()):
            parsed = urlparse(link["href"])
            kept = {k: v for k, v in parse_qs(parsed.query).items() if k in ("limit", "marker")}
            link["href"] = "%s://%s%s?%s" % (parsed.scheme, parsed.netloc, parsed.path, urlencode(kept, doseq=True))
        return response


def test_filters_dropped_from_a_next_link_are_sent_again_on_every_page():
    proxy = OctaviaLikeProxy(COMPUTE, make_items(25), max_limit=10)
    the_lister, report = lister(proxy)
    collect(the_lister, params={"project_id": "p1"})
    assert report.api_calls == 3
    for url, params, _microversion in proxy.calls[1:]:
        assert "project_id=p1" not in url
        assert params == {"project_id": "p1"}


def test_glance_next_is_relative_to_the_endpoint_root_even_behind_a_path_prefix():
    proxy = FakeProxy(IMAGE, make_items(7, "i"), key="images", style="next", max_limit=3)
    the_lister, report = lister(proxy)
    items = collect(the_lister, path="/images", key="images", style="next")
    assert len(items) == 7 and report.api_calls == 3
    assert proxy.calls[1][0].startswith("http://image.test/prefix/v2/images?")


def test_endpoint_root_strips_only_the_version():
    assert g.endpoint_root("http://h:9292/v2/") == "http://h:9292"
    assert g.endpoint_root("http://h/image/v2") == "http://h/image"
    assert g.endpoint_root("http://h/image") == "http://h/image"


def test_a_looping_next_link_is_an_error_not_an_endless_loop():
    looping = {
        "servers": [{"id": "a"}],
        "servers_links": [{"rel": "next", "href": COMPUTE + "/servers/detail?marker=a"}],
    }
    proxy = FakeProxy(COMPUTE, faults=[FakeResponse(200, looping)] * 5)
    the_lister, report = lister(proxy)
    with pytest.raises(g.ScopeFailed) as info:
        collect(the_lister)
    assert info.value.status == "error"
    assert "looping next link" in info.value.message and "'demo'" in info.value.message
    assert "'RegionOne'" in info.value.message and "servers" in info.value.message
    assert report.api_calls == 2  # the second page repeats the first next link


def test_server_errors_are_retried_with_jittered_backoff_then_succeed():
    sleeps = Sleeps()
    policy = g.HttpPolicy(server_error_tries=3, backoff_base=1.0, sleep=sleeps, jitter=lambda: 1.0)
    proxy = FakeProxy(COMPUTE, make_items(3), faults=[FakeResponse(503, {}), FakeResponse(500, {})])
    the_lister, report = lister(proxy, policy)
    assert len(collect(the_lister)) == 3
    assert sleeps.delays == [1.0, 2.0]  # exponential, jitter in [ceiling/2, ceiling]
    assert report.api_calls == 3


def test_keystoneauth_token_renewal_race_is_retried_then_bounded():
    # keystoneauth's get_access() asserts auth_ref after its lock while another thread's 401 may
    # have cleared it: a transient AssertionError on the shared session, retried without sleeping
    proxy = FakeProxy(COMPUTE, make_items(3), faults=[AssertionError()])
    the_lister, report = lister(proxy)
    assert len(collect(the_lister)) == 3
    assert report.api_calls == 2
    proxy = FakeProxy(COMPUTE, make_items(3), faults=[AssertionError()] * 3)
    the_lister, report = lister(proxy)
    with pytest.raises(AssertionError):
        collect(the_lister)
    assert report.api_calls == 3


def test_backoff_is_jittered_and_capped():
    policy = g.HttpPolicy(backoff_base=1.0, backoff_max=4.0, jitter=lambda: 0.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_server_errors_are_bounded_and_end_as_error_with_the_status():
    proxy = FakeProxy(COMPUTE, make_items(3), faults=[FakeResponse(503, {"message": "down"})] * 3)
    the_lister, report = lister(proxy, g.HttpPolicy(server_error_tries=3, sleep=Sleeps()))
    with pytest.raises(g.ScopeFailed) as info:
        collect(the_lister)
    assert info.value.status == "error" and info.value.http_status == 503
    assert "after 3 tries" in info.value.message and "down" in info.value.message
    assert report.api_calls == 3


def test_rate_limit_honours_retry_after_capped():
    sleeps = Sleeps()
    policy = g.HttpPolicy(retry_after_max=5.0, sleep=sleeps)
    faults = [FakeResponse(429, {}, {"Retry-After": "2"}), FakeResponse(429, {}, {"Retry-After": "120"})]
    proxy = FakeProxy(COMPUTE, make_items(2), faults=faults)
    the_lister, _unused = lister(proxy, policy)
    assert len(collect(the_lister)) == 2
    assert sleeps.delays == [2.0, 5.0]


def test_rate_limit_is_bounded():
    proxy = FakeProxy(COMPUTE, make_items(2), faults=[FakeResponse(429, {}, {"Retry-After": "0"})] * 4)
    the_lister, _unused = lister(proxy, g.HttpPolicy(rate_limit_tries=4, sleep=Sleeps()))
    with pytest.raises(g.ScopeFailed) as info:
        collect(the_lister)
    assert info.value.http_status == 429 and "429" in info.value.message


@pytest.mark.parametrize(
    ("response", "status", "http_status"),
    [
        (FakeResponse(403, {"forbidden": {"code": 403, "message": "Policy doesn't allow"}}), "forbidden", 403),
        (
            FakeResponse(401, {"error": {"message": "The request you have made requires authentication."}}),
            "auth_failed",
            401,
        ),
        (FakeResponse(200, None, text='{"servers": [{"id": '), "error", 200),
        (FakeResponse(400, {"badRequest": {"message": "Invalid input for query parameters foo"}}), "error", 400),
        (FakeResponse(200, ["not", "an", "object"]), "error", 200),
    ],
    ids=["403", "401", "malformed-json", "400", "not-an-object"],
)
def test_statuses(response, status, http_status):
    # A 401 is retried once (another thread may have re-authenticated): two in a row are final.
    proxy = FakeProxy(COMPUTE, faults=[response, response] if status == "auth_failed" else [response])
    the_lister, _unused = lister(proxy)
    with pytest.raises(g.ScopeFailed) as info:
        collect(the_lister)
    assert (info.value.status, info.value.http_status) == (status, http_status)
    assert "cloud 'demo' region 'RegionOne' servers" in info.value.message


def test_one_401_is_retried_with_the_token_another_scope_refreshed():
    unauthorized = FakeResponse(401, {"error": {"message": "The request you have made requires authentication."}})
    proxy = FakeProxy(COMPUTE, make_items(3), faults=[unauthorized])
    the_lister, report = lister(proxy)
    assert len(collect(the_lister)) == 3
    assert report.api_calls == 2


def test_forbidden_message_carries_the_api_message():
    proxy = FakeProxy(COMPUTE, faults=[FakeResponse(403, {"forbidden": {"message": "Policy doesn't allow x"}})])
    the_lister, _unused = lister(proxy)
    with pytest.raises(g.ScopeFailed) as info:
        collect(the_lister)
    assert "Policy doesn't allow x" in info.value.message


def test_max_pages_stops_early_and_marks_the_listing_truncated():
    proxy = FakeProxy(COMPUTE, make_items(30), max_limit=10)
    the_lister, report = lister(proxy)
    assert len(collect(the_lister, max_pages=2)) == 20
    assert report.status == "ok" and report.truncated and not report.complete
    assert "truncated" in report.message
    proxy = FakeProxy(COMPUTE, make_items(5), max_limit=10)
    the_lister, report = lister(proxy)
    assert len(collect(the_lister, max_pages=1)) == 5
    assert report.complete


@pytest.mark.parametrize(
    ("wanted", "minimum", "maximum", "expected"),
    [
        ("2.96", (2, 1), (2, 103), "2.96"),
        ("2.96", (2, 1), (2, 60), "2.60"),
        ("3.70", (3, 0), (3, 71), "3.70"),
        ("2.96", None, None, None),
        ("2.96", (0, 0), (0, 0), None),
        (None, (2, 1), (2, 90), None),
    ],
)
def test_microversion_is_capped_at_the_server_maximum(wanted, minimum, maximum, expected):
    assert g.negotiate_microversion(wanted, minimum, maximum) == expected


def rtype(name):
    return g._catalog.get_type(name)


def test_listing_params():
    assert g._listing_params(None, rtype("servers"), True, None, None, None, None) == {"all_tenants": "1"}
    assert g._listing_params(None, rtype("servers"), False, None, None, None, "p1") == {}
    assert g._listing_params(None, rtype("ports"), False, None, None, None, "p1") == {"project_id": "p1"}
    assert g._listing_params(None, rtype("ports"), True, None, None, None, "p1") == {}
    # images: the catalog's list_query (every visibility and member status) is always sent, and the
    # hidden images come from a second listing
    images = g._listing_params(None, rtype("images"), False, "p2", None, None, "p1")
    assert images == {"visibility": "all", "member_status": "all", "owner": "p2"}
    assert g.listing_queries(rtype("images"), images) == [images, dict(images, os_hidden="true")]
    assert g.listing_queries(rtype("images"), dict(images, os_hidden="false")) == [dict(images, os_hidden="false")]
    assert g.listing_queries(rtype("servers"), {"all_tenants": "1"}) == [{"all_tenants": "1"}]
    assert g._listing_params(
        None, rtype("servers"), True, None, {"status": "ACTIVE"}, "2026-01-01T00:00:00Z", None
    ) == {
        "all_tenants": "1",
        "changes-since": "2026-01-01T00:00:00Z",
        "status": "ACTIVE",
    }
    # changes_since only applies where the catalog says so
    assert g._listing_params(None, rtype("volumes"), False, None, None, "2026-01-01T00:00:00Z", None) == {}
    assert g._listing_params(None, rtype("networks"), True, None, {"router:external": True}, None, None) == {
        "router:external": "true"
    }


def test_filters_flat_or_per_type():
    assert g._type_filters({"status": "ACTIVE"}, ["servers", "ports"]) == {
        "servers": {"status": "ACTIVE"},
        "ports": {"status": "ACTIVE"},
    }
    assert g._type_filters({"servers": {"status": "ACTIVE"}}, ["servers", "ports"]) == {"servers": {"status": "ACTIVE"}}


def test_resolve_types_accepts_singular_plural_all_and_names_the_valid_ones():
    assert [t.name for t in g._catalog.resolve_types(["server", "ports", "servers"])] == ["servers", "ports"]
    assert len(g._catalog.resolve_types("all")) == len(g._catalog.RESOURCE_TYPES)
    assert g._catalog.resolve_type_names("ports, server") == ["servers", "ports"]
    with pytest.raises(ConfigurationError) as info:
        g._catalog.resolve_types(["servers", "instances"])
    assert "instances" in info.value.message and "floating_ips" in info.value.message


# ---- gather() end to end with fake connections --------------------------------------------------


class FakeCatalog:
    def __init__(self, services):
        self.services = services

    def url_for(self, service_type, interface, region_name):
        if service_type not in self.services:
            raise LookupError("EndpointNotFound")
        return "http://%s.test" % service_type


class FakeAccess:
    def __init__(self, services):
        self.service_catalog = FakeCatalog(services)


class FakeAuth:
    def __init__(self, services):
        self.access = FakeAccess(services)

    def get_access(self, session):
        return self.access


class FakeKsSession:
    def __init__(self, services):
        self.auth = FakeAuth(services)


class FakeConfig:
    def get_interface(self, service_type):
        return "public"


class FakeConn:
    def __init__(self, proxies, services):
        self.session = FakeKsSession(services)
        self.config = FakeConfig()
        for name, proxy in proxies.items():
            setattr(self, name, proxy)


class FakeCloudSession:
    def __init__(self, regions):
        self.name = "demo"
        self.regions = list(regions)
        self.conns = {}

    def connection(self, region):
        return self.conns[region]

    def project_id(self):
        return "p-own"


class RecordingConsumer:
    def __init__(self, fail_on=None):
        self.events = []
        self.threads = set()
        self.fail_on = fail_on

    def start(self, scope):
        self.threads.add(threading.get_ident())
        self.events.append(("start", scope))

    def page(self, scope, records):
        self.threads.add(threading.get_ident())
        if self.fail_on and scope.type == self.fail_on:
            raise RuntimeError("consumer broke")
        self.events.append(("page", scope, len(records)))

    def finish(self, scope, report):
        self.threads.add(threading.get_ident())
        self.events.append(("finish", scope, report.status))


def two_region_session(region_two_faults=None):
    session = FakeCloudSession(["RegionOne", "RegionTwo"])
    for region in session.regions:
        faults = region_two_faults if region == "RegionTwo" else None
        compute = FakeProxy(COMPUTE, make_items(23, region), max_limit=10, faults=faults)
        session.conns[region] = FakeConn({"compute": compute}, {"compute"})
    return session


def test_gather_streams_pages_to_the_consumer_on_the_calling_thread():
    session = two_region_session()
    consumer = RecordingConsumer()
    reports = g.gather(session, ["servers", "flavors"], consumer=consumer, max_workers=4)
    assert consumer.threads == {threading.get_ident()}
    by_scope = {(r.scope.region, r.scope.type): r for r in reports}
    assert by_scope[("RegionOne", "servers")].status == "ok"
    assert by_scope[("RegionOne", "servers")].count == 23
    assert by_scope[("RegionOne", "servers")].api_calls == 3
    assert by_scope[("RegionOne", "servers")].records is None  # consumer mode keeps nothing
    for scope in [r.scope for r in reports]:
        events = [e for e in consumer.events if e[1] == scope]
        assert events[0][0] == "start" and events[-1][0] == "finish"
    server_pages = [e[2] for e in consumer.events if e[0] == "page" and e[1].type == "servers"]
    assert sorted(server_pages) == sorted([10, 10, 3, 10, 10, 3])


def test_gather_without_consumer_keeps_normalized_records_and_uses_the_microversion():
    session = two_region_session()
    reports = g.gather(session, ["servers"])
    records = g.records_by_type(reports)["servers"]
    assert len(records) == 46
    assert {r["region"] for r in records} == {"RegionOne", "RegionTwo"}
    assert all(r["type"] == "servers" and r["cloud"] == "demo" for r in records)
    calls = session.conns["RegionOne"].compute.calls
    assert calls[0][2] == "2.90"  # the catalog's 2.96 capped at the server's 2.90
    assert calls[0][1]["all_tenants"] == "1"


def test_a_failing_scope_does_not_stop_the_others():
    session = two_region_session(region_two_faults=[FakeResponse(403, {"forbidden": {"message": "no"}})])
    reports = g.gather(session, ["servers"])
    status = {r.scope.region: r for r in reports}
    assert status["RegionOne"].status == "ok" and status["RegionOne"].count == 23
    assert status["RegionTwo"].status == "forbidden" and status["RegionTwo"].http_status == 403
    assert status["RegionTwo"].as_dict()["message"].startswith("cloud 'demo' region 'RegionTwo' servers")


def test_a_service_missing_from_the_catalog_is_not_in_catalog():
    session = two_region_session()
    reports = g.gather(session, ["servers", "volumes"])
    volumes = [r for r in reports if r.scope.type == "volumes"]
    assert {r.status for r in volumes} == {"not_in_catalog"}
    assert "block-storage" in volumes[0].message
    assert {r.status for r in reports if r.scope.type == "servers"} == {"ok"}


def test_connection_errors_end_the_scope_with_a_message():
    from keystoneauth1 import exceptions as ks_exceptions

    session = two_region_session(region_two_faults=[ks_exceptions.ConnectFailure("Connection refused")])
    reports = g.gather(session, ["servers"])
    two = next(r for r in reports if r.scope.region == "RegionTwo")
    assert two.status == "error"
    assert "cloud 'demo' region 'RegionTwo' servers" in two.message and "Connection refused" in two.message


def test_strict_cancels_the_scopes_that_did_not_run():
    session = two_region_session(region_two_faults=[FakeResponse(403, {})])
    session.regions = ["RegionTwo", "RegionOne"]
    reports = g.gather(session, ["servers"], max_workers=1, strict=True)
    status = {r.scope.region: r.status for r in reports}
    assert status == {"RegionTwo": "forbidden", "RegionOne": "error"}
    assert "cancelled" in next(r for r in reports if r.scope.region == "RegionOne").message


def test_a_consumer_exception_stops_the_gather_and_is_raised():
    session = two_region_session()
    with pytest.raises(RuntimeError, match="consumer broke"):
        g.gather(session, ["servers"], consumer=RecordingConsumer(fail_on="servers"), max_workers=2)


def test_own_project_filter_for_admin_wide_listings_when_all_projects_is_false():
    session = FakeCloudSession(["RegionOne"])
    ports = FakeProxy("http://network.test/v2.0", make_items(3, "p"), key="ports", data=EndpointData())
    session.conns["RegionOne"] = FakeConn({"network": ports}, {"network"})
    reports = g.gather(session, ["ports"], all_projects=False)
    assert reports[0].status == "ok"
    assert ports.calls[0][1]["project_id"] == "p-own" and ports.calls[0][2] is None


# ---- version discovery: only to negotiate a microversion, never an empty listing ----------------


class DiscoveryFails(FakeProxy):
    """``get_endpoint_data()`` raises as keystoneauth does on real Octavia's ``"v2"`` answer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.discoveries = 0

    def get_endpoint_data(self):
        self.discoveries += 1
        raise TypeError("string indices must be integers, not 'str'")


def test_a_type_without_microversion_lists_from_the_catalog_endpoint_without_discovery():
    session = FakeCloudSession(["RegionOne"])
    networks = DiscoveryFails("http://network.test/v2.0", make_items(7, "n"), key="networks", max_limit=3)
    session.conns["RegionOne"] = FakeConn({"network": networks}, {"network"})
    reports = g.gather(session, ["networks"])
    assert reports[0].status == "ok", reports[0].message
    assert reports[0].count == 7 and reports[0].complete
    assert networks.discoveries == 0 and reports[0].microversion is None
    assert len(networks.calls) == 3 and all(call[2] is None for call in networks.calls)


def test_a_failed_discovery_for_a_microversion_type_is_an_error_naming_it_not_an_empty_listing():
    session = FakeCloudSession(["RegionOne"])
    compute = DiscoveryFails(COMPUTE, make_items(5))
    session.conns["RegionOne"] = FakeConn({"compute": compute}, {"compute"})
    report = g.gather(session, ["servers"])[0]
    assert report.status == "error" and not report.complete and report.count == 0
    assert report.message.startswith("cloud 'demo' region 'RegionOne' servers: version discovery of 'compute' failed")
    assert "TypeError: string indices must be integers" in report.message
    assert "needs microversion 2.96" in report.message
    assert compute.calls == []  # nothing listed without the microversion it needs
