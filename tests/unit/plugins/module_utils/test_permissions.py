"""permissions: classification, the own-project retry and the table, on gather reports (no cloud needed)."""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, gather, permissions


class FakeSession:
    name = "demo"
    regions = ["RegionOne", "RegionTwo"]


def fake_gather(outcomes, calls):
    """gather.gather stand-in: ``outcomes[(all_projects, region, type)] = (status, http_status)``."""

    def run(session, types, regions=None, all_projects=True, page_size=None, max_pages=None, **kwargs):
        calls.append({"types": list(types), "regions": list(regions), "all_projects": all_projects})
        assert page_size == 1 and max_pages == 1
        reports = []
        for region in regions:
            for name in types:
                report = gather.ScopeReport(gather.Scope(session.name, region, name))
                status, http = outcomes.get((all_projects, region, name), ("ok", None))
                if status != "ok":
                    report.fail(status, "cloud 'demo' region %r %s: %s" % (region, name, status), http)
                reports.append(report)
        return reports

    return run


@pytest.fixture
def calls(monkeypatch):
    recorded = []
    outcomes = {
        (True, "RegionOne", "load_balancers"): ("forbidden", 403),
        (True, "RegionTwo", "load_balancers"): ("not_in_catalog", None),
        (True, "RegionOne", "servers"): ("forbidden", 403),
        (False, "RegionOne", "servers"): ("ok", None),
        (True, "RegionTwo", "images"): ("error", 503),
    }
    monkeypatch.setattr(gather, "gather", fake_gather(outcomes, recorded))
    return recorded


def test_statuses_grants_and_the_own_project_retry(calls):
    result = permissions.check_permissions(FakeSession(), ["servers", "load_balancers", "images", "flavors"])
    rows = {(row["region"], row["type"]): row for row in result["permissions"]}
    assert len(rows) == 8
    assert rows[("RegionOne", "flavors")]["status"] == "allowed"
    assert rows[("RegionOne", "flavors")]["grant"] is None
    lb = rows[("RegionOne", "load_balancers")]
    assert (lb["status"], lb["http_status"], lb["service"]) == ("forbidden", 403, "load-balancer")
    assert "load-balancer_observer" in lb["grant"] and "member" in lb["grant"]
    assert "own_project" not in lb  # Octavia has no all-projects query: no retry
    assert rows[("RegionTwo", "load_balancers")]["status"] == "not_in_catalog"
    assert "not in the service catalog" in rows[("RegionTwo", "load_balancers")]["grant"]
    servers = rows[("RegionOne", "servers")]
    assert servers["status"] == "forbidden" and servers["own_project"] == "allowed"
    assert "admin" in servers["grant"] and "all_projects: false" in servers["grant"]
    assert servers["permission_hint"] == catalog.RESOURCE_TYPES["servers"].permission_hint
    images = rows[("RegionTwo", "images")]
    assert images["status"] == "error" and images["http_status"] == 503 and "error" in images["message"]
    assert result["summary"] == {"allowed": 4, "forbidden": 2, "not_in_catalog": 1, "error": 1}
    # One check of everything, then one retry of the forbidden type with an all-projects query.
    assert calls[1] == {"types": ["servers"], "regions": ["RegionOne"], "all_projects": False}
    assert len(calls) == 2


def test_report_table_and_msg(calls):
    result = permissions.check_permissions(FakeSession(), ["servers", "load_balancers"], regions=["RegionOne"])
    report = result["report"]
    assert report[0].split() == ["REGION", "TYPE", "SERVICE", "STATUS", "WHAT", "TO", "GRANT", "/", "WHY"]
    assert set(report[1]) <= {"-", " "}
    lb_line = next(line for line in report if "load_balancers" in line)
    assert "load-balancer (Octavia)" in lb_line and "forbidden (403)" in lb_line
    assert "load-balancer_observer" in lb_line
    # Columns line up: every status starts at the same offset.
    offsets = {line.index("forbidden") for line in report[2:]}
    assert len(offsets) == 1
    assert result["msg"].startswith("cloud 'demo': 2 forbidden.")
    assert "load_balancers in RegionOne: forbidden (grant a load-balancer_observer" in result["msg"]


def test_all_allowed_message(monkeypatch):
    monkeypatch.setattr(gather, "gather", fake_gather({}, []))
    result = permissions.check_permissions(FakeSession(), None)
    assert result["summary"]["allowed"] == 2 * len(catalog.RESOURCE_TYPE_NAMES)
    assert result["msg"] == "cloud 'demo': every resource type checked may be listed (24 allowed)"


def test_no_own_project_retry_without_all_projects(calls):
    result = permissions.check_permissions(FakeSession(), ["servers"], all_projects=False)
    assert len(calls) == 1 and calls[0]["all_projects"] is False
    assert all("own_project" not in row for row in result["permissions"])


def test_cells_are_one_line():
    rows = [
        {
            "region": "R\n1",
            "type": "servers",
            "service": "compute",
            "status": "error",
            "http_status": None,
            "grant": "x",
            "message": "boom\r\nsecond line",
        }
    ]
    lines = permissions.format_table(rows)
    assert len(lines) == 3 and "boom  second line" in lines[2]
