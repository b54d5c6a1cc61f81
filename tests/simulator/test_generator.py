"""The generated data is deterministic and consistent: every reference points at an existing item."""

from __future__ import annotations

import ipaddress

import pytest

from os_simulator import Simulator


def make(seed=0, servers=60, projects=3, regions=("RegionOne",), name="gen"):
    sim = Simulator()  # not started: data only
    return sim.add_cloud(name, regions=regions, seed=seed, servers=servers, projects=projects)


def test_same_seed_same_data_and_other_seed_other_data():
    one, two, other = make(seed=1), make(seed=1), make(seed=2)
    for tname in ("servers", "ports", "volumes", "load_balancers", "floating_ips"):
        assert one.store.list(tname) == two.store.list(tname)
    assert one.password("admin") == two.password("admin")
    assert one.store.ids("servers") != other.store.ids("servers")


def test_regions_have_independent_data():
    cloud = make(regions=("RegionOne", "RegionTwo"))
    one, two = cloud.store.ids("servers", region="RegionOne"), cloud.store.ids("servers", region="RegionTwo")
    assert set(one).isdisjoint(two)
    assert cloud.store.count("servers", region="RegionTwo") == 60


@pytest.fixture(scope="module")
def data():
    cloud = make(servers=250, projects=4)
    return cloud, {t: {i["id"]: i for i in cloud.store.list(t)} for t in cloud.store.region().tables}


def test_server_ports_addresses_and_security_groups(data):
    cloud, d = data
    projects = {p["id"] for p in cloud.projects}
    networks_by_name = {n["name"]: n for n in d["networks"].values()}
    for server in d["servers"].values():
        assert server["tenant_id"] in projects
        ports = [p for p in d["ports"].values() if p["device_id"] == server["id"]]
        assert ports, server["name"]
        fixed = {f["ip_address"] for p in ports for f in p["fixed_ips"]}
        listed = {a["addr"] for addrs in server["addresses"].values() for a in addrs if a["OS-EXT-IPS:type"] == "fixed"}
        assert listed == fixed
        for net_name in server["addresses"]:
            assert networks_by_name[net_name]["id"] in {p["network_id"] for p in ports}
        all_addrs = [a for addrs in server["addresses"].values() for a in addrs]
        floating = {a["addr"] for a in all_addrs if a["OS-EXT-IPS:type"] == "floating"}
        port_ids = {p["id"] for p in ports}
        fips = {f["floating_ip_address"] for f in d["floating_ips"].values() if f["port_id"] in port_ids}
        assert floating == fips
        sg_names = {s["name"] for s in server["security_groups"]}
        port_sgs = {d["security_groups"][sg]["name"] for p in ports for sg in p["security_groups"]}
        assert sg_names <= port_sgs | {"default"}
        if server["image"]:
            assert server["image"]["id"] in d["images"]


def test_volumes_attachments_and_snapshots(data):
    _cloud, d = data
    for server in d["servers"].values():
        for att in server["os-extended-volumes:volumes_attached"]:
            volume = d["volumes"][att["id"]]
            assert volume["status"] == "in-use"
            assert [a["server_id"] for a in volume["attachments"]] == [server["id"]]
    for volume in d["volumes"].values():
        for att in volume["attachments"]:
            attached = d["servers"][att["server_id"]]["os-extended-volumes:volumes_attached"]
            assert volume["id"] in {v["id"] for v in attached}
    for snap in d["volume_snapshots"].values():
        assert snap["volume_id"] in d["volumes"]
    bfv = [s for s in d["servers"].values() if s["image"] == ""]
    assert bfv
    for server in bfv:
        assert any(d["volumes"][a["id"]]["bootable"] == "true" for a in server["os-extended-volumes:volumes_attached"])


def test_networks_subnets_routers_and_floating_ips(data):
    _cloud, d = data
    for net in d["networks"].values():
        for subnet_id in net["subnets"]:
            assert d["subnets"][subnet_id]["network_id"] == net["id"]
    for subnet in d["subnets"].values():
        assert subnet["id"] in d["networks"][subnet["network_id"]]["subnets"]
    external = [n for n in d["networks"].values() if n["router:external"]]
    assert len(external) == 1
    for router in d["routers"].values():
        assert router["external_gateway_info"]["network_id"] == external[0]["id"]
        interfaces = [
            p
            for p in d["ports"].values()
            if p["device_id"] == router["id"] and p["device_owner"] == "network:router_interface"
        ]
        own_subnets = {s["id"] for s in d["subnets"].values() if s["project_id"] == router["project_id"]}
        assert {f["subnet_id"] for p in interfaces for f in p["fixed_ips"]} == own_subnets
    for port in d["ports"].values():
        assert port["network_id"] in d["networks"]
        for fixed in port["fixed_ips"]:
            assert d["subnets"][fixed["subnet_id"]]["network_id"] == port["network_id"]
    addresses = [f["floating_ip_address"] for f in d["floating_ips"].values()]
    assert len(addresses) == len(set(addresses))
    for fip in d["floating_ips"].values():
        if fip["port_id"]:
            assert fip["fixed_ip_address"] in {f["ip_address"] for f in d["ports"][fip["port_id"]]["fixed_ips"]}
            assert fip["router_id"] in d["routers"]
    macs = [p["mac_address"] for p in d["ports"].values()]
    assert len(macs) == len(set(macs))


def test_load_balancers_point_at_server_ports(data):
    _cloud, d = data
    server_addresses = {
        f["ip_address"] for p in d["ports"].values() if p["device_owner"].startswith("compute:") for f in p["fixed_ips"]
    }
    assert d["load_balancers"]
    for lb in d["load_balancers"].values():
        vip = d["ports"][lb["vip_port_id"]]
        assert vip["fixed_ips"][0]["ip_address"] == lb["vip_address"]
        assert lb["vip_subnet_id"] == vip["fixed_ips"][0]["subnet_id"]
        for ref in lb["listeners"]:
            assert d["listeners"][ref["id"]]["loadbalancers"] == [{"id": lb["id"]}]
        for ref in lb["pools"]:
            pool = d["pools"][ref["id"]]
            assert pool["members"]
            for member_ref in pool["members"]:
                member = d["members"][member_ref["id"]]
                assert member["address"] in server_addresses
                assert member["project_id"] == lb["project_id"]


def test_variety_statuses_unicode_and_repeated_names(data):
    _cloud, d = data
    statuses = {s["status"] for s in d["servers"].values()}
    assert {"ACTIVE", "SHUTOFF", "ERROR"} <= statuses
    assert all("fault" in s for s in d["servers"].values() if s["status"] == "ERROR")
    names = [s["name"] for s in d["servers"].values()]
    assert any(not n.isascii() for n in names)
    assert len(set(names)) < len(names)  # the same name in several projects, as in real clouds
    assert len({s["tenant_id"] for s in d["servers"].values()}) == 4
    assert {v["status"] for v in d["volumes"].values()} >= {"in-use", "available"}


def test_ports_per_server_gives_each_server_that_many_project_ports():
    sim = Simulator()
    cloud = sim.add_cloud("pps", servers=1200, projects=2, ports_per_server=2)
    ports = cloud.store.list("ports")
    subnets = {s["id"]: s for s in cloud.store.list("subnets")}
    networks = {n["id"]: n for n in cloud.store.list("networks")}
    by_server = {}
    for port in ports:
        if port["device_owner"].startswith("compute:"):
            by_server.setdefault(port["device_id"], []).append(port)
    addresses = [f["ip_address"] for p in ports for f in p["fixed_ips"]]
    assert len(addresses) == len(set(addresses)), "every fixed IP is allocated once"
    for server in cloud.store.list("servers"):
        own = [p for p in by_server[server["id"]] if not networks[p["network_id"]]["shared"]]
        assert len(own) == 2, server["name"]
        assert len({p["network_id"] for p in own}) == 1
        listed = {a["addr"] for addrs in server["addresses"].values() for a in addrs if a["OS-EXT-IPS:type"] == "fixed"}
        assert {p["fixed_ips"][0]["ip_address"] for p in by_server[server["id"]]} == listed
    # 600 servers per project at 250 per network: three networks each, every address inside its /22
    project_networks = [n for n in networks.values() if not n["shared"] and not n.get("router:external")]
    assert len(project_networks) == 2 * 3
    for port in ports:
        for fixed in port["fixed_ips"]:
            subnet = subnets[fixed["subnet_id"]]
            assert ipaddress.ip_address(fixed["ip_address"]) in ipaddress.ip_network(subnet["cidr"])
