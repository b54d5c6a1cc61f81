"""Each fault kind, observed through openstacksdk (what the SDK raises, or that it recovers)."""

from __future__ import annotations

import itertools

import keystoneauth1.exceptions as ksa_exc
import openstack
import pytest
import requests

pytestmark = pytest.mark.filterwarnings("ignore::Warning:openstack")


@pytest.fixture
def cloud(os_simulator):
    return os_simulator.add_cloud("faulty", regions=("RegionOne", "RegionTwo"), servers=12, projects=2, max_page_size=3)


def connect(cloud, region="RegionOne", **kwargs):
    return openstack.connect(**cloud.credentials(), region_name=region, **kwargs)


def server_ids(conn):
    return sorted(s.id for s in conn.compute.servers(all_projects=True))


def expected_servers(cloud, region="RegionOne"):
    return sorted(s["id"] for s in cloud.store.list("servers", region=region))


@pytest.mark.parametrize("status", [500, 503, 404])
def test_status(cloud, status):
    cloud.faults.add(kind="status", service="compute", path="/servers/detail", status=status)
    conn = connect(cloud)
    with pytest.raises(openstack.exceptions.HttpException) as info:
        server_ids(conn)
    assert info.value.status_code == status
    # other services are unaffected
    assert sorted(n.id for n in conn.network.networks()) == sorted(n["id"] for n in cloud.store.list("networks"))


def test_503_once_is_retried_with_status_code_retries(cloud):
    fault = cloud.faults.add(kind="status", service="compute", path="/servers/detail", status=503, after=1, times=1)
    conn = connect(cloud, status_code_retries=2)
    assert server_ids(conn) == expected_servers(cloud)
    assert fault.hits == 1


def test_forbidden(cloud):
    cloud.faults.add(kind="forbidden", service="block-storage")
    conn = connect(cloud)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(conn.block_storage.volumes(all_projects=True))
    assert server_ids(conn) == expected_servers(cloud)


def test_rate_limit_429_with_retry_after(cloud):
    cloud.faults.add(kind="rate_limit", service="network", path="/ports", retry_after=7)
    conn = connect(cloud)
    with pytest.raises(openstack.exceptions.HttpException) as info:
        list(conn.network.ports())
    assert info.value.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"


def test_latency_still_answers(cloud):
    fault = cloud.faults.add(kind="latency", service="image", delay=0.2)
    conn = connect(cloud)
    assert sorted(i.id for i in conn.image.images()) == sorted(i["id"] for i in cloud.store.list("images"))
    assert fault.hits >= 1


def test_hang_past_the_client_timeout(cloud):
    fault = cloud.faults.add(kind="hang", service="compute", path="/servers/detail", delay=3)
    conn = connect(cloud, api_timeout=0.5)
    with pytest.raises((ksa_exc.ConnectTimeout, ksa_exc.ConnectFailure, openstack.exceptions.SDKException)):
        server_ids(conn)
    assert fault.hits >= 1


def test_dropped_connection(cloud):
    once = cloud.faults.add(kind="drop", service="compute", path="/servers/detail", after=1, times=1)
    conn = connect(cloud, connect_retries=1)
    assert server_ids(conn) == expected_servers(cloud)  # keystoneauth retried the dropped page
    assert once.hits == 1
    cloud.faults.clear()
    cloud.faults.add(kind="drop", service="compute", path="/servers/detail")
    with pytest.raises((ksa_exc.ConnectFailure, openstack.exceptions.SDKException)):
        server_ids(connect(cloud))


def test_token_expiry_mid_listing_reauthenticates_and_completes(cloud):
    fault = cloud.faults.add(kind="token_expiry", service="compute", path="/servers/detail", after=2)
    conn = connect(cloud)
    cloud.clear_requests()
    assert server_ids(conn) == expected_servers(cloud)  # 12 servers, 3 per page
    assert fault.hits == 1
    statuses = [r["status"] for r in cloud.requests(service="compute", path="/servers/detail")]
    assert 401 in statuses and statuses[-1] == 200
    assert len(cloud.requests(service="identity", path="/auth/tokens", method="POST")) >= 1


def test_token_lifetime_expires_during_listing(os_simulator):
    cloud = os_simulator.add_cloud("short", servers=9, max_page_size=3, token_lifetime=600)
    conn = openstack.connect(**cloud.credentials(), region_name="RegionOne")
    pages = conn.compute.servers(all_projects=True)
    first = next(pages)
    cloud.expire_all_tokens()  # as if the lifetime ran out between two pages
    rest = list(pages)
    assert sorted([first.id] + [s.id for s in rest]) == sorted(s["id"] for s in cloud.store.list("servers"))


def test_malformed_json(cloud):
    cloud.faults.add(kind="malformed_json", service="network", path="/networks")
    conn = connect(cloud)
    with pytest.raises((requests.exceptions.JSONDecodeError, ValueError)):
        list(conn.network.networks())


def test_looping_next_link(cloud):
    cloud.faults.add(kind="looping_next", service="compute", path="/servers/detail")
    conn = connect(cloud)
    taken = list(itertools.islice(conn.compute.servers(all_projects=True), 40))
    assert len(taken) == 40  # more than the 12 servers that exist: the same page again and again
    assert len({s.id for s in taken}) <= 3
    body = conn.compute.get("/servers/detail", params={"all_tenants": 1}, microversion="2.96").json()
    assert body["servers_links"][0]["href"].endswith("/servers/detail?all_tenants=1")


def test_connection_refused(cloud):
    cloud.faults.add(kind="refuse", service="network", region="RegionOne")
    conn = connect(cloud)
    with pytest.raises((ksa_exc.ConnectFailure, openstack.exceptions.SDKException)):
        list(conn.network.networks())
    assert server_ids(conn) == expected_servers(cloud)
    assert list(connect(cloud, region="RegionTwo").network.networks())


def test_missing_service(cloud):
    cloud.faults.add(kind="missing_service", service="load-balancer")
    conn = connect(cloud)
    assert not conn.has_service("load-balancer")
    assert conn.has_service("compute")
    with pytest.raises((ksa_exc.EndpointNotFound, openstack.exceptions.SDKException)):
        list(conn.load_balancer.load_balancers())


def test_faults_scoped_by_region_user_and_cleared(cloud):
    cloud.faults.add(kind="status", service="compute", status=500, region="RegionTwo")
    cloud.faults.add(kind="forbidden", service="network", user="member")
    assert server_ids(connect(cloud)) == expected_servers(cloud)
    with pytest.raises(openstack.exceptions.HttpException):
        server_ids(connect(cloud, region="RegionTwo"))
    member = openstack.connect(**cloud.credentials("member"), region_name="RegionOne")
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(member.network.networks())
    assert list(connect(cloud).network.networks())
    cloud.faults.clear()
    assert server_ids(connect(cloud, region="RegionTwo")) == expected_servers(cloud, "RegionTwo")


def test_identity_fault(cloud):
    cloud.faults.add(kind="status", service="identity", path="/auth/tokens", status=503)
    with pytest.raises(openstack.exceptions.SDKException):
        connect(cloud).authorize()
