"""normalize.py on the real API responses captured from OpenStack 2026.1 (shared fixtures)."""

from __future__ import annotations

import json
import os
import types

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, gather, normalize

FIXTURES = os.environ.get("CMDB_FIXTURES_DIR", "/work/shared/fixtures/openstack-2026.1")
if not os.path.isdir(FIXTURES):  # the fixtures may also be vendored next to the tests
    FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "openstack-2026.1")

LISTINGS = {
    "servers": "compute-servers-detail-page1.json",
    "flavors": "compute-flavors-detail.json",
    "volumes": "block-storage-volumes-detail-page1.json",
    "volume_snapshots": "block-storage-snapshots-detail.json",
    "images": "image-images-page1.json",
    "networks": "network-networks-page1.json",
    "subnets": "network-subnets-page1.json",
    "ports": "network-ports-page1.json",
    "routers": "network-routers.json",
    "floating_ips": "network-floatingips.json",
    "security_groups": "network-security-groups-page1.json",
    "load_balancers": "load-balancer-loadbalancers.json",
}

pytestmark = pytest.mark.skipif(not os.path.isdir(FIXTURES), reason="fixtures not found: %s" % FIXTURES)


def items(type_name):
    with open(os.path.join(FIXTURES, LISTINGS[type_name])) as handle:
        body = json.load(handle)["body"]
    return body[catalog.RESOURCE_TYPES[type_name].collection_key]


def body(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)["body"]


def record(type_name, item_id):
    for item in items(type_name):
        if item["id"] == item_id:
            return normalize.normalize(type_name, item, "demo", "RegionOne")
    raise AssertionError("no %s %s in the fixture" % (type_name, item_id))


def edges(rec, relation=None):
    return {
        (e["relation"], e["target_type"], e["target_id"], e["target_name"])
        for e in rec["relations"]
        if relation is None or e["relation"] == relation
    }


@pytest.mark.parametrize("type_name", sorted(LISTINGS))
def test_every_item_of_every_fixture_gives_a_complete_envelope(type_name):
    rtype = catalog.RESOURCE_TYPES[type_name]
    listing = items(type_name)
    assert listing, type_name
    for item in listing:
        rec = normalize.normalize(rtype, item, "demo", "RegionOne")
        assert tuple(rec)[: len(normalize.ENVELOPE)] == normalize.ENVELOPE
        assert rec["id"] == item["id"] and rec["type"] == type_name
        assert (rec["cloud"], rec["region"]) == ("demo", "RegionOne")
        assert "links" not in rec["attributes"]
        assert {k: v for k, v in item.items() if k != "links"} == dict(rec["attributes"])
        if rtype.fields["project_id"]:
            assert rec["project_id"] and len(rec["project_id"]) == 32
        else:
            assert rec["project_id"] is None
        if rtype.fields["created_at"]:
            assert rec["created_at"] == item[rtype.fields["created_at"]]
        for edge in rec["relations"]:
            assert set(edge) == {"relation", "target_type", "target_id", "target_name"}
            assert edge["relation"] in rtype.relations, (type_name, edge)
            assert edge["target_id"] or edge["target_name"]
        assert json.loads(json.dumps(rec)) == json.loads(json.dumps(rec))  # JSON-serializable


def test_server_relations():
    rec = record("servers", "b044f627-b907-401c-9fc8-b4d88ae651db")
    assert rec["name"] == "realstack-b-vm1" and rec["status"] == "ACTIVE"
    assert rec["project_id"] == "99f5dd3cada04e7d995870fdc79a072b"
    assert (rec["created_at"], rec["updated_at"]) == ("2026-11-23T11:44:47Z", "2026-11-23T11:44:54Z")
    assert edges(rec) == {
        ("flavor", "flavors", None, "rs.tiny"),
        ("image", "images", "61c26a97-e425-4424-bf5b-9a22f1103e5d", None),
        ("networks", "networks", None, "realstack-b-net"),
        ("ports", "ports", None, "fa:16:3e:bc:f0:d0"),
        ("floating_ips", "floating_ips", None, "192.0.2.25"),
        ("security_groups", "security_groups", None, "realstack-b-web"),
        ("volumes", "volumes", "883e5799-0382-4335-b821-bc38f39d8180", None),
        ("keypair", "keypairs", None, "realstack-b-key"),
    }


def test_server_flavor_by_id_before_microversion_2_47_and_boot_from_volume_without_image():
    item = dict(items("servers")[0], flavor={"id": "42", "links": []}, image="")
    rec = normalize.normalize("servers", item, "demo", "RegionOne")
    assert edges(rec, "flavor") == {("flavor", "flavors", "42", None)}
    assert edges(rec, "image") == set()


def test_port_relations():
    rec = record("ports", "092ac579-8ea1-4480-a8d8-e02146cc903a")
    assert edges(rec) == {
        ("network", "networks", "3d9ee2a6-12d8-444b-ba8e-a2a046694efb", None),
        ("subnets", "subnets", "373bff22-75e5-49e9-864c-d7cacbff12b1", "10.20.1.244"),
        ("device", "servers", "fa763895-eaf9-446a-a60a-648617f4a8d4", None),
        ("security_groups", "security_groups", "2b53e4ff-2631-4933-ab08-cf77848bd6b4", None),
    }


@pytest.mark.parametrize(
    ("owner", "device_id", "expected"),
    [
        ("network:router_interface", "r1", ("routers", "r1")),
        ("network:router_gateway", "r1", ("routers", "r1")),
        ("network:floatingip", "f1", ("floating_ips", "f1")),
        ("Octavia", "lb-9c5b", ("load_balancers", "9c5b")),
        ("network:dhcp", "dhcp-x", (None, None)),
        ("compute:nova", "", (None, None)),
    ],
)
def test_port_device_types(owner, device_id, expected):
    assert normalize._device_target(owner, device_id) == expected


def test_the_server_of_a_port_links_back_by_mac_address():
    servers = [normalize.normalize("servers", s, "demo", "R") for s in items("servers")]
    ports = [normalize.normalize("ports", p, "demo", "R") for p in items("ports")]
    port = next(p for p in ports if p["id"] == "0d3a721c-a368-41ef-83b2-e71e1268a1e4")
    server_id = next(e["target_id"] for e in port["relations"] if e["relation"] == "device")
    server = next(s for s in servers if s["id"] == server_id)
    assert ("ports", "ports", None, port["attributes"]["mac_address"]) in edges(server)


def test_volume_and_snapshot_relations():
    volume = record("volumes", "883e5799-0382-4335-b821-bc38f39d8180")
    assert edges(volume) == {("servers", "servers", "b044f627-b907-401c-9fc8-b4d88ae651db", "/dev/sdb")}
    assert volume["project_id"] == "99f5dd3cada04e7d995870fdc79a072b"
    snapshot = record("volume_snapshots", "7dcba9f1-0d09-4aee-bed4-743f525b2535")
    assert edges(snapshot) == {("volume", "volumes", "883e5799-0382-4335-b821-bc38f39d8180", None)}
    assert snapshot["project_id"] == "99f5dd3cada04e7d995870fdc79a072b"


def test_volume_from_snapshot_source_volume_and_image():
    item = dict(
        items("volumes")[0],
        snapshot_id="snap-1",
        source_volid="vol-0",
        volume_image_metadata={"image_id": "img-1", "image_name": "cirros"},
    )
    rec = normalize.normalize("volumes", item, "demo", "R")
    assert {("snapshot", "volume_snapshots", "snap-1", None), ("source_volume", "volumes", "vol-0", None)} <= edges(rec)
    assert ("image", "images", "img-1", "cirros") in edges(rec)


def test_network_subnet_relations():
    network = record("networks", "3d9ee2a6-12d8-444b-ba8e-a2a046694efb")
    assert edges(network) == {("subnets", "subnets", "373bff22-75e5-49e9-864c-d7cacbff12b1", None)}
    subnet = record("subnets", "373bff22-75e5-49e9-864c-d7cacbff12b1")
    assert edges(subnet) == {("network", "networks", "3d9ee2a6-12d8-444b-ba8e-a2a046694efb", None)}
    assert subnet["status"] is None


def test_router_relations_with_embedded_interfaces():
    router_item = next(r for r in items("routers") if r["id"] == "b41a68d2-1310-4930-b25e-9f30cc2aafb4")
    interface_port = {
        "id": "port-if-1",
        "device_id": router_item["id"],
        "device_owner": "network:router_interface",
        "network_id": "3d9ee2a6-12d8-444b-ba8e-a2a046694efb",
        "fixed_ips": [{"subnet_id": "373bff22-75e5-49e9-864c-d7cacbff12b1", "ip_address": "10.20.1.1"}],
    }
    routers = [dict(router_item)]
    gather._embed_routers(routers, {"interfaces": [interface_port]}, None, None)
    assert routers[0]["interfaces"] == [
        {
            "port_id": "port-if-1",
            "subnet_id": "373bff22-75e5-49e9-864c-d7cacbff12b1",
            "ip_address": "10.20.1.1",
            "network_id": "3d9ee2a6-12d8-444b-ba8e-a2a046694efb",
        }
    ]
    rec = normalize.normalize("routers", routers[0], "demo", "R")
    assert edges(rec) == {
        ("external_network", "networks", "c27d520c-df08-4676-816b-db21c35caf58", None),
        ("subnets", "subnets", "2c739e33-f142-42d2-867a-6b855312c83c", "192.0.2.247"),
        ("subnets", "subnets", "373bff22-75e5-49e9-864c-d7cacbff12b1", "10.20.1.1"),
        ("ports", "ports", "port-if-1", "10.20.1.1"),
    }


def test_floating_ip_relations():
    rec = record("floating_ips", "3ab35589-b01b-4f6b-b936-71a9a06d106d")
    assert rec["name"] == "192.0.2.16"
    assert edges(rec) == {
        ("port", "ports", "16b0051e-a085-4273-a7eb-6c392b67fe76", "10.20.1.151"),
        ("floating_network", "networks", "c27d520c-df08-4676-816b-db21c35caf58", None),
        ("router", "routers", "b41a68d2-1310-4930-b25e-9f30cc2aafb4", None),
        ("server", "servers", "45be3c63-724a-460d-9fc3-1d00e8efc9d9", None),
    }
    unassociated = record("floating_ips", "3230e021-9522-4dd8-bdfd-5519b0f27095")
    assert edges(unassociated) == {("floating_network", "networks", "c27d520c-df08-4676-816b-db21c35caf58", None)}


def test_security_group_keeps_its_rules():
    item = items("security_groups")[0]
    rec = normalize.normalize("security_groups", item, "demo", "R")
    assert rec["attributes"]["security_group_rules"] == item["security_group_rules"]
    assert rec["status"] is None
    item = dict(item, security_group_rules=[{"id": "r", "remote_group_id": "sg-other"}, {"remote_group_id": None}])
    assert edges(normalize.normalize("security_groups", item, "demo", "R")) == {
        ("remote_groups", "security_groups", "sg-other", None)
    }


def test_load_balancer_embeds_listeners_pools_members_and_member_ports(monkeypatch):
    lbs = [dict(lb) for lb in items("load_balancers")]
    listeners = body("load-balancer-listeners.json")["listeners"]
    pools = [dict(p) for p in body("load-balancer-pools.json")["pools"]]
    members = body("load-balancer-members.json")["members"]
    subs = {"listeners": listeners, "pools": pools, "members": {pools[0]["id"]: members}}
    owners = {}
    for port in items("ports"):
        for fixed in port["fixed_ips"]:
            owners[(fixed["subnet_id"], fixed["ip_address"])] = port["id"]

    def resolve(pool_list, lister, job):  # stands for the ports?fixed_ips=ip_address=... lookup
        for pool in pool_list:
            for member in pool["members"]:
                if (member["subnet_id"], member["address"]) in owners:
                    member["port_id"] = owners[(member["subnet_id"], member["address"])]

    monkeypatch.setattr(gather, "_resolve_member_ports", resolve)
    job = types.SimpleNamespace(options={"resolve_member_ports": True})
    gather._embed_load_balancers(lbs, subs, None, job)
    lb = lbs[0]
    assert [listener["id"] for listener in lb["listeners"]] == [listeners[0]["id"]]
    assert [m["id"] for m in lb["pools"][0]["members"]] == [m["id"] for m in members]
    rec = normalize.normalize("load_balancers", lb, "demo", "R")
    assert rec["status"] == "OFFLINE"
    assert rec["attributes"]["pools"][0]["members"][0]["address"] == "10.20.1.151"
    assert rec["attributes"]["listeners"][0]["protocol_port"] == 80
    got = edges(rec)
    assert ("vip_port", "ports", "6d0d1c54-7960-4563-9685-4fd81e8e8d4b", "198.51.100.1") in got
    assert ("vip_subnet", "subnets", "373bff22-75e5-49e9-864c-d7cacbff12b1", None) in got
    assert ("vip_network", "networks", "6f23f6ff-6ff4-4860-bdce-e50f6f38257b", None) in got
    assert ("listeners", normalize.LISTENERS, "f0e7f2a4-4f47-45e1-afcb-c6c0bb7f6e51", "realstack-a-http") in got
    assert ("pools", normalize.POOLS, "a8a3e7bb-bef2-4cd1-b96f-f0f124093141", "realstack-a-pool") in got
    member_ids = {m["id"] for m in members}
    assert {e[2] for e in got if e[0] == "members"} == member_ids
    member_ports = {e for e in got if e[0] == "member_ports"}
    assert ("member_ports", "ports", "16b0051e-a085-4273-a7eb-6c392b67fe76", "10.20.1.151") in member_ports


def test_load_balancer_member_ports_are_addresses_by_default(monkeypatch):
    lbs = [dict(lb) for lb in items("load_balancers")]
    pools = [dict(p) for p in body("load-balancer-pools.json")["pools"]]
    members = body("load-balancer-members.json")["members"]
    subs = {"listeners": [], "pools": pools, "members": {pools[0]["id"]: members}}

    def resolve(pool_list, lister, job):
        raise AssertionError("member ports are resolved only with resolve_member_ports")

    monkeypatch.setattr(gather, "_resolve_member_ports", resolve)
    gather._embed_load_balancers(lbs, subs, None, types.SimpleNamespace(options={}))
    rec = normalize.normalize("load_balancers", lbs[0], "demo", "R")
    assert all("port_id" not in m for m in rec["attributes"]["pools"][0]["members"])
    member_ports = {e for e in edges(rec) if e[0] == "member_ports"}
    assert ("member_ports", "ports", None, "10.20.1.151") in member_ports
    assert {e[2] for e in member_ports} == {None}


def test_untrusted_strings_are_copied_literally():
    name = "{{ lookup('pipe', 'id') }}\x00\u2603" + "x" * 5000
    item = dict(items("servers")[0], name=name, metadata={"{% raw %}": "{{ x }}"})
    rec = normalize.normalize("servers", item, "demo", "R")
    assert rec["name"] == name and rec["attributes"]["metadata"] == {"{% raw %}": "{{ x }}"}


@pytest.mark.parametrize("type_name", sorted(catalog.RESOURCE_TYPES))
@pytest.mark.parametrize(
    "junk",
    [
        {},
        {"id": 7, "name": 8},
        {"addresses": "x", "flavor": [], "image": 5, "security_groups": [1, None], "fixed_ips": {"a": 1}},
        {"attachments": [None, "x"], "pools": [{"members": "x"}], "listeners": [3], "interfaces": [None]},
        {"external_gateway_info": [], "port_details": "x", "security_group_rules": [None, 1]},
        "not-a-dict",
    ],
)
def test_malformed_items_never_raise(type_name, junk):
    rec = normalize.normalize(type_name, junk, "demo", "R")
    assert rec["type"] == type_name
    assert isinstance(rec["relations"], list)
