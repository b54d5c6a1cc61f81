"""Every *_info module through real ansible-playbook runs against the simulator (two regions, small pages).

Budget: five playbook runs (about a minute in all on 2 cores): several modules share one run.
"""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog

openstack = pytest.importorskip("openstack")

REGIONS = ("RegionOne", "RegionTwo")
PAGE = 5  # the simulator's max page size: 12 servers per region -> 3 pages
MARKER = "M4rker-S3cret-pw-4711"


@pytest.fixture
def paged_cloud(os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="paged", regions=REGIONS, seed=4, servers=12, projects=2, max_page_size=PAGE)
    path = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(
        str(path),
        {
            "paged": cloud.clouds_yaml_entry(user="admin"),
            "paged-nolb": cloud.clouds_yaml_entry(user="nolb"),
            "paged-member": cloud.clouds_yaml_entry(user="member"),
        },
    )
    return cloud, {"OS_CLIENT_CONFIG_FILE": str(path)}


def sdk_listings(cloud, region):
    """What openstacksdk lists directly from the same cloud and region: {type: {id: name}}."""
    conn = openstack.connect(auth=dict(cloud.credentials(user="admin")), region_name=region)
    try:
        listings = {
            "servers": conn.compute.servers(all_projects=True),
            "flavors": conn.compute.flavors(is_public="None"),
            "images": conn.image.images(),
            "volumes": conn.block_storage.volumes(all_projects=True),
            "volume_snapshots": conn.block_storage.snapshots(all_projects=True),
            "load_balancers": conn.load_balancer.load_balancers(),
            "security_groups": conn.network.security_groups(),
            "networks": conn.network.networks(),
            "subnets": conn.network.subnets(),
            "ports": conn.network.ports(),
            "routers": conn.network.routers(),
            "floating_ips": conn.network.ips(),
        }
        return {name: {item.id: item.name for item in items} for name, items in listings.items()}
    finally:
        conn.close()


def by_region(records):
    result = {}
    for record in records:
        result.setdefault(record["region"], {})[record["id"]] = record
    return result


def edges(record, relation):
    return [edge for edge in record["relations"] if edge["relation"] == relation]


def test_every_info_module_lists_what_openstacksdk_lists(paged_cloud, modules_runner):
    cloud, env = paged_cloud
    tasks = [
        (rtype.singular, rtype.singular + "_info", {"cloud": "paged", "region_name": "all"})
        for rtype in catalog.RESOURCE_TYPES.values()
    ]
    tasks.append(
        ("everything", "resource_info", {"cloud": "paged", "resolve_member_ports": True}, {"check_mode": True})
    )
    completed, results = modules_runner(tasks, env=env)
    assert completed.rc == 0, completed.output
    assert "Traceback" not in completed.output

    expected = {region: sdk_listings(cloud, region) for region in REGIONS}
    everything = results["everything"]
    assert everything["changed"] is False and not everything.get("failed"), everything
    for rtype in catalog.RESOURCE_TYPES.values():
        result = results[rtype.singular]
        assert not result.get("failed"), (rtype.name, result.get("msg"))
        assert result["changed"] is False
        assert {(s["region"], s["type"], s["status"]) for s in result["scopes"]} == {
            (region, rtype.name, "ok") for region in REGIONS
        }
        records = by_region(result[rtype.name])
        for region in REGIONS:
            want = expected[region][rtype.name]
            assert want, "the simulator generated no %s in %s" % (rtype.name, region)
            got = records.get(region, {})
            assert set(got) == set(want), (rtype.name, region)
            for item_id, record in got.items():
                assert record["type"] == rtype.name and record["cloud"] == "paged"
                assert record["name"] == (want[item_id] if rtype.name != "floating_ips" else record["name"])
        # resource_info (all types at once, in check mode) returns the same records
        assert {r["id"] for r in everything[rtype.name]} == {r["id"] for r in result[rtype.name]}, rtype.name

    # member ports: looked up only with resolve_member_ports (resource_info above), not by default
    members = [
        m for lb in results["load_balancer"]["load_balancers"] for p in lb["attributes"]["pools"] for m in p["members"]
    ]
    assert members and not any("port_id" in m for m in members)
    lb_scopes = [s for s in everything["scopes"] if s["type"] == "load_balancers"]
    assert sum(s["api_calls"] for s in lb_scopes) > sum(s["api_calls"] for s in results["load_balancer"]["scopes"])

    # listings over several pages: 12 servers per region with pages of 5
    for scope in results["server"]["scopes"]:
        assert scope["count"] == len(expected[scope["region"]]["servers"]) > PAGE * 2
        assert scope["api_calls"] >= 3, scope

    check_relations({name: by_region(everything[name]) for name in catalog.RESOURCE_TYPES})


def check_relations(data):
    """The edges point at records that exist, both ways where both sides are listed."""
    for region in REGIONS:
        servers, ports = data["servers"][region], data["ports"][region]
        volumes, snapshots = data["volumes"][region], data["volume_snapshots"][region]
        networks, subnets = data["networks"][region], data["subnets"][region]
        flavors = {r["name"] for r in data["flavors"][region].values()}
        floating = data["floating_ips"][region]
        macs = {p["attributes"]["mac_address"]: p for p in ports.values()}
        checked = dict.fromkeys(("flavor", "ports", "volumes", "device", "subnet", "snapshot", "fip", "lb"), 0)
        for server in servers.values():
            for edge in edges(server, "flavor"):
                assert edge["target_name"] in flavors or edge["target_id"]
                checked["flavor"] += 1
            for edge in edges(server, "ports"):
                port = macs[edge["target_name"]]
                assert any(e["target_id"] == server["id"] for e in edges(port, "device"))
                checked["ports"] += 1
            for edge in edges(server, "volumes"):
                volume = volumes[edge["target_id"]]
                assert server["id"] in {e["target_id"] for e in edges(volume, "servers")}
                checked["volumes"] += 1
        for port in ports.values():
            for edge in edges(port, "device"):
                if edge["target_type"] == "servers":
                    assert edge["target_id"] in servers
                    checked["device"] += 1
            for edge in edges(port, "network"):
                assert edge["target_id"] in networks
        for subnet in subnets.values():
            assert next(e["target_id"] for e in edges(subnet, "network")) in networks
            checked["subnet"] += 1
        for snapshot in snapshots.values():
            assert next(e["target_id"] for e in edges(snapshot, "volume")) in volumes
            checked["snapshot"] += 1
        for fip in floating.values():
            for edge in edges(fip, "port"):
                port = ports[edge["target_id"]]
                assert edge["target_name"] in {f["ip_address"] for f in port["attributes"]["fixed_ips"]}
                checked["fip"] += 1
        for router in data["routers"][region].values():
            for edge in edges(router, "external_network"):
                assert edge["target_id"] in networks
            for edge in edges(router, "subnets"):
                assert edge["target_id"] in subnets
        for lb in data["load_balancers"][region].values():
            attributes = lb["attributes"]
            assert all("protocol" in listener for listener in attributes["listeners"])
            for pool in attributes["pools"]:
                assert "lb_algorithm" in pool and isinstance(pool["members"], list)
                for member in pool["members"]:
                    assert "address" in member
            for edge in edges(lb, "member_ports"):
                if edge["target_id"]:
                    port = ports[edge["target_id"]]
                    assert edge["target_name"] in {f["ip_address"] for f in port["attributes"]["fixed_ips"]}
                    checked["lb"] += 1
            for edge in edges(lb, "vip_subnet"):
                assert edge["target_id"] in subnets
        for group in data["security_groups"][region].values():
            assert isinstance(group["attributes"]["security_group_rules"], list)
        assert all(
            checked[key] for key in ("flavor", "ports", "volumes", "device", "subnet", "snapshot", "fip", "lb")
        ), (
            region,
            checked,
        )


def test_forbidden_missing_service_and_all_projects(paged_cloud, modules_runner):
    cloud, env = paged_cloud
    cloud.faults.add(kind="missing_service", service="block-storage")
    tasks = [
        (
            "nolb",
            "resource_info",
            {"cloud": "paged-nolb", "all_projects": False, "types": ["load_balancers", "servers", "volumes", "ports"]},
        ),
        ("member_all", "server_info", {"cloud": "paged-member"}),
        ("member_own", "server_info", {"cloud": "paged-member", "all_projects": False}),
        ("admin_own", "port_info", {"cloud": "paged", "all_projects": False}),
        ("strict", "resource_info", {"cloud": "paged", "types": ["volumes", "flavors"], "strict": True}),
    ]
    completed, results = modules_runner(tasks, env=env)
    assert "Traceback" not in completed.output

    nolb = results["nolb"]
    # a listing failed (forbidden): the module fails (issue 17) and still returns what it listed
    assert nolb.get("failed") is True and "load_balancers" in nolb["msg"] and "403" in nolb["msg"], nolb
    status = {(s["region"], s["type"]): s for s in nolb["scopes"]}
    for region in REGIONS:
        assert status[(region, "load_balancers")]["status"] == "forbidden"
        assert status[(region, "load_balancers")]["http_status"] == 403
        assert "load_balancers" in status[(region, "load_balancers")]["message"]
        assert status[(region, "volumes")]["status"] == "not_in_catalog"
        assert status[(region, "servers")]["status"] == "ok"
        assert status[(region, "ports")]["status"] == "ok"
    expected = {region: sdk_listings_network_compute(cloud, region, user="nolb") for region in REGIONS}
    for type_name in ("servers", "ports"):
        got = by_region(nolb[type_name])
        for region in REGIONS:
            assert set(got[region]) == expected[region][type_name], (type_name, region)
    assert nolb["load_balancers"] == [] and nolb["volumes"] == []
    # the service missing from the catalog is a warning, not a failure
    assert any("block-storage" in warning for warning in nolb.get("warnings", []))

    member_all = results["member_all"]
    assert {s["status"] for s in member_all["scopes"]} == {"forbidden"}
    member_own = results["member_own"]
    assert {s["status"] for s in member_own["scopes"]} == {"ok"}
    projects = {r["project_id"] for r in member_own["servers"]}
    assert len(projects) == 1 and member_own["servers"]

    admin_own = results["admin_own"]
    assert {s["status"] for s in admin_own["scopes"]} == {"ok"}
    assert len({r["project_id"] for r in admin_own["ports"]}) <= 1

    strict = results["strict"]
    assert strict["failed"] is True and "strict is set" in strict["msg"]
    assert "block-storage" in strict["msg"] and "volumes" in strict["msg"]
    assert strict["scopes"]  # the statuses are returned with the failure


def sdk_listings_network_compute(cloud, region, user):
    """Servers and ports of the user's own project, as openstacksdk lists them."""
    conn = openstack.connect(auth=dict(cloud.credentials(user=user)), region_name=region)
    try:
        return {
            "servers": {s.id for s in conn.compute.servers()},
            "ports": {p.id for p in conn.network.ports(project_id=conn.current_project_id)},
        }
    finally:
        conn.close()


def test_bad_arguments_give_one_clear_message(paged_cloud, modules_runner, tmp_path):
    _cloud, env = paged_cloud
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    dead = {
        "auth": {
            "auth_url": "http://127.0.0.1:%d/v3" % dead_port,
            "username": "admin",
            "password": MARKER,
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        }
    }
    tasks = [
        ("unknown_type", "resource_info", {"cloud": "paged", "types": ["servers", "instances"]}),
        ("unknown_cloud", "server_info", {"cloud": "no-such-cloud"}),
        ("unreachable", "server_info", {"cloud": dict(dead, name="deadcloud")}),
        ("unknown_region", "server_info", {"cloud": "paged", "region_name": ["RegionNine"]}),
        ("bad_option", "server_info", {"cloud": "paged", "no_such_option": 1}),
    ]
    completed, results = modules_runner(tasks, env=env)
    assert "Traceback" not in completed.output
    assert MARKER not in completed.output
    for key, _module, _args in tasks:
        assert results[key]["failed"] is True, key
        assert "exception" not in results[key] or "Traceback" not in results[key]["exception"], key
    assert "instances" in results["unknown_type"]["msg"] and "servers" in results["unknown_type"]["msg"]
    assert "no-such-cloud" in results["unknown_cloud"]["msg"] and "paged" in results["unknown_cloud"]["msg"]
    assert "deadcloud" in results["unreachable"]["msg"] and "cannot reach" in results["unreachable"]["msg"]
    assert "RegionNine" in results["unknown_region"]["msg"] and "RegionOne" in results["unknown_region"]["msg"]
    assert "no_such_option" in results["bad_option"]["msg"]


def test_no_secret_in_the_output_at_vvvv(paged_cloud, modules_runner):
    cloud, env = paged_cloud
    cloud.add_user("marker", password=MARKER, roles=("admin",))
    credentials = dict(cloud.credentials(user="marker"))
    assert credentials["password"] == MARKER
    tasks = [
        ("dict", "network_info", {"cloud": {"name": "markercloud", "auth": credentials}, "region_name": "RegionOne"}),
        ("auth", "subnet_info", {"auth": credentials, "region_name": ["RegionTwo"]}),
        ("bad", "flavor_info", {"cloud": {"auth": dict(credentials, project_name="nope")}}),
    ]
    completed, results = modules_runner(tasks, env=env, verbosity=4)
    assert completed.rc == 0
    assert results["dict"]["networks"] and results["auth"]["subnets"]
    assert results["bad"]["failed"] is True
    assert MARKER not in completed.output
    assert MARKER not in str(results)
    # the output did show the module arguments (with the secret masked), so the check can fail
    assert "markercloud" in completed.output and "********" in completed.output
