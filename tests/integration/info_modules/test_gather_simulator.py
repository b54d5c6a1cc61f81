"""gather() in-process against the simulator over HTTP: pages, statuses and the HTTP layer under faults.

Fast (no ansible-playbook): one simulator per test, small clouds. The fault matrix of the whole
collection (CMDB unchanged, other clouds synced...) is in the reliability suite; these tests check
that the gatherer itself classifies and recovers as documented.
"""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import connection, gather

REGIONS = ("RegionOne", "RegionTwo")


class FastPolicy(gather.HttpPolicy):
    def __init__(self, **kwargs):
        self.sleeps = []
        kwargs.setdefault("backoff_base", 0.01)
        super().__init__(sleep=self._sleep, **kwargs)

    def _sleep(self, delay):
        self.sleeps.append(delay)
        time.sleep(min(delay, 0.05))


@pytest.fixture
def cloud(os_simulator):
    return os_simulator.add_cloud(name="gsim", regions=REGIONS, seed=7, servers=12, projects=2, max_page_size=5)


def open_session(cloud, user="admin", **params):
    params.setdefault("auth", dict(cloud.credentials(user=user)))
    return connection.open_cloud(params, name="gsim")


def run(cloud, types, user="admin", policy=None, session_params=None, **kwargs):
    session = open_session(cloud, user=user, **(session_params or {}))
    try:
        reports = gather.gather(session, types, policy=policy or FastPolicy(), **kwargs)
    finally:
        session.close()
    return {(r.scope.region, r.scope.type): r for r in reports}


def ids(report):
    return {record["id"] for record in report.records}


def test_every_type_pages_to_the_end_in_both_regions(cloud):
    reports = run(cloud, "all")
    assert {r.status for r in reports.values()} == {"ok"}, {k: r.message for k, r in reports.items()}
    for region in REGIONS:
        for (report_region, type_name), report in reports.items():
            if report_region == region:
                assert ids(report) == set(cloud.store.ids(type_name, region=region)), (region, type_name)
        servers = reports[(region, "servers")]
        assert servers.count >= 12 and servers.api_calls >= 3
        assert servers.microversion == "2.96"
        assert reports[(region, "volumes")].microversion == "3.70"
        for report in reports.values():
            assert len(ids(report)) == report.count  # no item twice across pages


def test_changes_since_and_filters_go_to_the_server(cloud):
    reports = run(cloud, ["servers"], filters={"status": "ACTIVE"}, changes_since="2000-01-01T00:00:00Z")
    for region in REGIONS:
        report = reports[(region, "servers")]
        assert report.status == "ok" and report.count > 0
        assert {r["status"] for r in report.records} <= {"ACTIVE", "DELETED"}
    logged = [e for e in cloud.requests(service="compute") if e["path"].startswith("/servers/detail")]
    assert any("changes-since=2000-01-01" in e["query"] and "status=ACTIVE" in e["query"] for e in logged)


def test_server_errors_are_retried_and_the_listing_completes(cloud):
    cloud.faults.add(kind="status", status=503, service="compute", path="/servers/detail", region="RegionOne", times=2)
    policy = FastPolicy()
    reports = run(cloud, ["servers"], policy=policy)
    assert reports[("RegionOne", "servers")].status == "ok"
    assert reports[("RegionOne", "servers")].count == reports[("RegionTwo", "servers")].count
    assert len(policy.sleeps) == 2


def test_server_errors_are_bounded(cloud):
    cloud.faults.add(kind="status", status=500, service="compute", path="/servers/detail", region="RegionTwo")
    reports = run(cloud, ["servers", "flavors"])
    failed = reports[("RegionTwo", "servers")]
    assert (failed.status, failed.http_status) == ("error", 500)
    assert "cloud 'gsim' region 'RegionTwo' servers" in failed.message and "after 3 tries" in failed.message
    assert reports[("RegionOne", "servers")].status == "ok"
    assert reports[("RegionTwo", "flavors")].status == "ok"


def test_rate_limit_waits_for_retry_after(cloud):
    fault = cloud.faults.add(
        kind="rate_limit", retry_after=2, service="network", path="/ports", times=1, region="RegionOne"
    )
    policy = FastPolicy()
    reports = run(cloud, ["ports"], policy=policy)
    assert fault.hits == 1
    assert reports[("RegionOne", "ports")].status == "ok"
    assert policy.sleeps == [2.0]


def test_token_expiry_in_the_middle_of_a_listing_is_invisible(cloud):
    fault = cloud.faults.add(kind="token_expiry", service="compute", path="/servers/detail", after=1, times=1)
    reports = run(cloud, ["servers"], max_workers=1)
    assert fault.hits == 1
    assert {r.status for r in reports.values()} == {"ok"}
    assert reports[("RegionOne", "servers")].count == reports[("RegionTwo", "servers")].count >= 12


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("malformed_json", "malformed JSON"), ("looping_next", "looping next link")],
)
def test_broken_responses_end_as_error(cloud, kind, expected):
    cloud.faults.add(kind=kind, service="image", path="/images", region="RegionOne")
    reports = run(cloud, ["images", "networks"])
    report = reports[("RegionOne", "images")]
    assert report.status == "error" and expected in report.message
    assert "region 'RegionOne' images" in report.message
    assert reports[("RegionTwo", "images")].status == "ok"
    assert reports[("RegionOne", "networks")].status == "ok"


def test_a_hang_past_the_timeout_is_an_error_naming_the_scope(cloud):
    fault = cloud.faults.add(kind="hang", delay=5, service="block-storage", path="/snapshots", region="RegionTwo")
    reports = run(cloud, ["volume_snapshots"], session_params={"api_timeout": 0.5})
    assert fault.hits >= 1
    report = reports[("RegionTwo", "volume_snapshots")]
    assert report.status == "error" and "region 'RegionTwo' volume_snapshots" in report.message
    assert reports[("RegionOne", "volume_snapshots")].status == "ok"


def test_a_connection_closed_without_an_answer_is_sent_again(cloud):
    """A keep-alive connection closed under a request (a proxy's idle timeout): the page is fetched again."""
    page = cloud.faults.add(
        kind="drop", service="compute", path="/servers/detail", region="RegionOne", after=1, times=1
    )
    token = cloud.faults.add(kind="drop", service="identity", path="/auth/tokens", method="POST", times=1)
    reports = run(cloud, ["servers"])
    assert (page.hits, token.hits) == (1, 1)
    assert {r.status for r in reports.values()} == {"ok"}, {k: r.message for k, r in reports.items()}
    assert ids(reports[("RegionOne", "servers")]) == set(cloud.store.ids("servers", region="RegionOne"))


def test_a_connection_that_always_closes_ends_as_error_after_3_tries(cloud):
    fault = cloud.faults.add(kind="drop", service="image", path="/images", region="RegionTwo")
    reports = run(cloud, ["images"])
    assert fault.hits == 3  # HttpPolicy.server_error_tries
    report = reports[("RegionTwo", "images")]
    assert report.status == "error" and "region 'RegionTwo' images" in report.message
    assert "RemoteDisconnected" in report.message or "Connection aborted" in report.message, report.message
    assert reports[("RegionOne", "images")].status == "ok"


def test_connection_refused_by_one_service(cloud):
    cloud.faults.add(kind="refuse", service="load-balancer", region="RegionOne")
    reports = run(cloud, ["load_balancers", "routers"])
    report = reports[("RegionOne", "load_balancers")]
    assert report.status == "error" and "load_balancers" in report.message
    assert reports[("RegionTwo", "load_balancers")].status == "ok"
    assert reports[("RegionOne", "routers")].status == "ok"


def test_forbidden_missing_service_and_forbidden_all_projects(cloud):
    cloud.faults.add(kind="missing_service", service="image")
    reports = run(cloud, ["load_balancers", "images", "servers", "networks"], user="nolb")
    for region in REGIONS:
        assert reports[(region, "load_balancers")].status == "forbidden"
        assert reports[(region, "load_balancers")].http_status == 403
        assert reports[(region, "images")].status == "not_in_catalog"
        assert reports[(region, "servers")].status == "forbidden"  # all_tenants as a member
        assert reports[(region, "networks")].status == "ok"


def test_member_without_all_projects_sees_its_own_project(cloud):
    reports = run(cloud, ["servers", "ports"], user="member", all_projects=False)
    session = open_session(cloud, user="member")
    own = session.project_id()
    session.close()
    for report in reports.values():
        assert report.status == "ok" and report.count > 0
        assert {r["project_id"] for r in report.records} == {own}


def test_load_balancer_members_and_their_ports(cloud):
    reports = run(cloud, ["load_balancers", "ports"], resolve_member_ports=True)
    for region in REGIONS:
        ports = {p["id"]: p for p in reports[(region, "ports")].records}
        lbs = reports[(region, "load_balancers")].records
        assert lbs
        resolved = 0
        for lb in lbs:
            for pool in lb["attributes"]["pools"]:
                assert "lb_algorithm" in pool
                for member in pool["members"]:
                    if member.get("port_id"):
                        addresses = {f["ip_address"] for f in ports[member["port_id"]]["attributes"]["fixed_ips"]}
                        assert member["address"] in addresses
                        resolved += 1
            assert {e["target_id"] for e in lb["relations"] if e["relation"] == "listeners"} == {
                listener["id"] for listener in lb["attributes"]["listeners"]
            }
        assert resolved > 0
    per_pool = [e for e in cloud.requests(service="load-balancer") if "/members" in e["path"]]
    pools = sum(
        len(lb["attributes"]["pools"]) for r in reports.values() if r.scope.type == "load_balancers" for lb in r.records
    )
    assert len(per_pool) == pools  # one members listing per pool, nothing per member


def test_member_ports_are_not_looked_up_by_default(cloud):
    cloud.clear_requests()
    reports = run(cloud, ["load_balancers"])
    lbs = [record for report in reports.values() for record in report.records]
    members = [m for lb in lbs for pool in lb["attributes"]["pools"] for m in pool["members"]]
    assert members and all(m.get("address") and m.get("subnet_id") for m in members)
    assert not any("port_id" in m for m in members)
    edges = [e for lb in lbs for e in lb["relations"] if e["relation"] == "member_ports"]
    assert edges and all(e["target_id"] is None and e["target_name"] for e in edges)
    assert cloud.requests(service="network") == []  # no ports?fixed_ips=... lookup at all
    lb_calls = len(cloud.requests(service="load-balancer"))
    assert sum(r.api_calls for r in reports.values()) == lb_calls
    # and with the option: one ports listing per distinct member subnet and region
    cloud.clear_requests()
    run(cloud, ["load_balancers"], resolve_member_ports=True)
    lookups = cloud.requests(service="network", path="/ports")
    subnets = {
        (lb["region"], m["subnet_id"]) for lb in lbs for pool in lb["attributes"]["pools"] for m in pool["members"]
    }
    assert lookups and len(lookups) >= len(subnets)
    assert all("fixed_ips=subnet_id" in e["query"] for e in lookups)


def test_network_types_list_without_version_discovery(cloud):
    network_types = ["networks", "subnets", "ports", "routers", "floating_ips", "security_groups"]
    cloud.clear_requests()
    reports = run(cloud, network_types)
    assert {r.status for r in reports.values()} == {"ok"}
    listings = sum(r.api_calls for r in reports.values())
    network = cloud.requests(service="network")
    discovery = [e for e in network if e["path"] in ("", "/")]
    # Network types need no microversion: they list from the catalog's endpoint, as openstacksdk's
    # own listings do (real Neutron answers /v2.0 with a 404, see tests/simulator/test_probes.py)
    assert discovery == []
    assert len(network) == listings


def test_consumer_gets_pages_on_the_calling_thread(cloud):
    calls = []

    class Consumer:
        def start(self, scope):
            calls.append(("start", scope, threading.get_ident()))

        def page(self, scope, records):
            calls.append(("page", scope, threading.get_ident(), len(records)))

        def finish(self, scope, report):
            calls.append(("finish", scope, threading.get_ident(), report.status))

    session = open_session(cloud)
    try:
        reports = gather.gather(session, ["servers", "ports"], consumer=Consumer(), page_size=5)
    finally:
        session.close()
    assert {call[2] for call in calls} == {threading.get_ident()}
    assert all(report.records is None for report in reports)
    pages = [call for call in calls if call[0] == "page" and call[1].type == "servers"]
    assert len(pages) >= 6 and all(call[3] <= 5 for call in pages)
    assert [call[0] for call in calls].count("finish") == len(reports) == 4
