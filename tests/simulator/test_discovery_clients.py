"""The collection against a simulator that answers version discovery as the real services do.

Real Octavia answers ``GET /v2`` and ``/v2.0`` with the JSON string ``"v2"``
(load-balancer-probe-v2_0.json); keystoneauth's ``get_endpoint_data()`` then raises a TypeError.
gather used to call it for every service, so load balancers ended as ``error`` (the
``*_info`` modules returned an empty list with a warning, ``cloud_permissions_info`` said
``error``). These tests fail on that code: they check the precondition (the simulator does make
keystoneauth fail) and then that gather, ``cloud_permissions_info`` and ``load_balancer_info``
list the load balancers all the same.
"""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import connection, gather, permissions

openstack = pytest.importorskip("openstack")

REGIONS = ("RegionOne", "RegionTwo")


@pytest.fixture
def octavia_cloud(os_simulator):
    return os_simulator.add_cloud(name="octavia", regions=REGIONS, seed=3, servers=4, projects=1, load_balancers=2)


def _session(cloud, user="admin"):
    return connection.open_cloud({"auth": dict(cloud.credentials(user=user))}, name="octavia")


def _fast_policy():
    return gather.HttpPolicy(server_error_tries=1, rate_limit_tries=1, sleep=lambda _delay: None)


def test_keystoneauth_discovery_fails_on_the_simulated_octavia_as_on_the_real_one(octavia_cloud):
    conn = openstack.connect(**octavia_cloud.credentials(), region_name="RegionOne")
    try:
        with pytest.raises(TypeError):
            conn.load_balancer.get_endpoint_data()
        # what openstacksdk's own listing uses works
        assert {lb.id for lb in conn.load_balancer.load_balancers()} == set(
            octavia_cloud.store.ids("load_balancers", region="RegionOne")
        )
    finally:
        conn.close()


def test_gather_lists_load_balancers_when_discovery_fails(octavia_cloud):
    session = _session(octavia_cloud)
    try:
        reports = gather.gather(session, ["load_balancers", "networks", "servers"], policy=_fast_policy())
    finally:
        session.close()
    by_scope = {(r.scope.region, r.scope.type): r for r in reports}
    assert {r.status for r in reports} == {"ok"}, {k: r.message for k, r in by_scope.items()}
    for region in REGIONS:
        report = by_scope[(region, "load_balancers")]
        want = set(octavia_cloud.store.ids("load_balancers", region=region))
        assert want and {record["id"] for record in report.records} == want
        assert report.microversion is None
        assert all(lb["attributes"]["listeners"] and lb["attributes"]["pools"] for lb in report.records)
        # the services whose discovery works keep their microversion
        assert by_scope[(region, "servers")].microversion


def test_version_discovery_only_where_a_microversion_is_negotiated(octavia_cloud):
    """Network, image and load-balancer types need no microversion: no discovery request at all."""
    types = ["servers", "volumes", "volume_snapshots", "networks", "ports", "images", "load_balancers"]
    octavia_cloud.clear_requests()
    session = _session(octavia_cloud)
    try:
        reports = gather.gather(session, types, policy=_fast_policy())
    finally:
        session.close()
    assert {r.status for r in reports} == {"ok"}, [r.message for r in reports if r.status != "ok"]
    for service in ("network", "image", "load-balancer"):
        assert [e for e in octavia_cloud.requests(service=service) if e["path"] in ("", "/")] == [], service
    # Cinder's versioned root (401 without a token, then the document), once per region for both types
    cinder = [e for e in octavia_cloud.requests(service="block-storage") if e["path"] in ("", "/")]
    assert 0 < len(cinder) <= 2 * len(REGIONS), cinder
    assert {r.scope.type: r.microversion for r in reports if r.scope.region == "RegionOne"}["volumes"] == "3.70"


def test_cloud_permissions_report_load_balancers_allowed(octavia_cloud):
    session = _session(octavia_cloud)
    try:
        result = permissions.check_permissions(session, types=["load_balancers", "servers"])
    finally:
        session.close()
    statuses = {(row["region"], row["type"]): row["status"] for row in result["permissions"]}
    assert statuses == {(region, t): "allowed" for region in REGIONS for t in ("load_balancers", "servers")}, result


def test_load_balancer_info_module_lists_them(octavia_cloud, os_simulator, ansible, tmp_path):
    import json

    path = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(str(path), {"octavia": octavia_cloud.clouds_yaml_entry(user="admin")})
    results = tmp_path / "result.json"
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "cmdb.openstack.load_balancer_info": {"cloud": "octavia", "region_name": "all"},
                    "register": "lbs",
                },
                {"ansible.builtin.copy": {"content": "{{ lbs | to_json }}", "dest": str(results)}},
            ],
        }
    ]
    completed = ansible.playbook(json.dumps(play, indent=2) + "\n", env={"OS_CLIENT_CONFIG_FILE": str(path)})
    assert completed.rc == 0, completed.output
    result = json.loads(results.read_text())
    assert not result.get("warnings"), result.get("warnings")
    assert {(s["region"], s["status"]) for s in result["scopes"]} == {(region, "ok") for region in REGIONS}
    want = {i for region in REGIONS for i in octavia_cloud.store.ids("load_balancers", region=region)}
    assert want and {lb["id"] for lb in result["load_balancers"]} == want
