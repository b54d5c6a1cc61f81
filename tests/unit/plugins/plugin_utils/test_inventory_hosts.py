"""Pure functions of the inventory plugin: addresses, ansible_host, host names, host vars, groups."""

from __future__ import annotations

import datetime
import json
import random

import pytest
from inventory_fakes import INJECTION, nova_server, record

from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_hosts as hosts

# One server of a real Nova 2026.1 ``GET /servers/detail`` response (microversion 2.96), links removed.
REAL_SERVER = json.loads(
    r"""
{
    "OS-DCF:diskConfig": "MANUAL",
    "OS-EXT-AZ:availability_zone": "nova",
    "OS-EXT-SRV-ATTR:host": "realstack",
    "OS-EXT-SRV-ATTR:hostname": "realstack-b-vm1",
    "OS-EXT-SRV-ATTR:hypervisor_hostname": "realstack",
    "OS-EXT-SRV-ATTR:instance_name": "instance-00000003",
    "OS-EXT-SRV-ATTR:kernel_id": "",
    "OS-EXT-SRV-ATTR:launch_index": 0,
    "OS-EXT-SRV-ATTR:ramdisk_id": "",
    "OS-EXT-SRV-ATTR:reservation_id": "r-i8wbyhgg",
    "OS-EXT-SRV-ATTR:root_device_name": "/dev/sda",
    "OS-EXT-SRV-ATTR:user_data": null,
    "OS-EXT-STS:power_state": 1,
    "OS-EXT-STS:task_state": null,
    "OS-EXT-STS:vm_state": "active",
    "OS-SRV-USG:launched_at": "2026-11-23T11:44:54.000000",
    "OS-SRV-USG:terminated_at": null,
    "accessIPv4": "",
    "accessIPv6": "",
    "addresses": {
        "realstack-b-net": [
            {
                "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:bc:f0:d0",
                "OS-EXT-IPS:type": "fixed",
                "addr": "10.20.2.143",
                "version": 4
            },
            {
                "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:bc:f0:d0",
                "OS-EXT-IPS:type": "floating",
                "addr": "192.0.2.25",
                "version": 4
            }
        ]
    },
    "config_drive": "",
    "created": "2026-11-23T11:44:47Z",
    "description": null,
    "flavor": {
        "disk": 1,
        "ephemeral": 0,
        "extra_specs": {},
        "original_name": "rs.tiny",
        "ram": 512,
        "swap": 0,
        "vcpus": 1
    },
    "hostId": "e86b1a9ee021135d3015be230acc82625cc54db207dfbd09b70e7c41",
    "host_status": "UP",
    "id": "b044f627-b907-401c-9fc8-b4d88ae651db",
    "image": {
        "id": "61c26a97-e425-4424-bf5b-9a22f1103e5d",
        "links": [
            {
                "href": "http://127.0.0.1:18774/images/61c26a97-e425-4424-bf5b-9a22f1103e5d",
                "rel": "bookmark"
            }
        ]
    },
    "key_name": "realstack-b-key",
    "locked": false,
    "locked_reason": null,
    "metadata": {
        "role": "web"
    },
    "name": "realstack-b-vm1",
    "os-extended-volumes:volumes_attached": [
        {
            "delete_on_termination": false,
            "id": "883e5799-0382-4335-b821-bc38f39d8180"
        }
    ],
    "pinned_availability_zone": null,
    "progress": 0,
    "security_groups": [
        {
            "name": "realstack-b-web"
        }
    ],
    "status": "ACTIVE",
    "tags": [],
    "tenant_id": "99f5dd3cada04e7d995870fdc79a072b",
    "trusted_image_certificates": null,
    "updated": "2026-11-23T11:44:54Z",
    "user_id": "1c2dc57450044d65891032ee91cd74c4"
}
"""
)
NOW = datetime.datetime(2026, 11, 23, 12, 0, 0)


def view_of(item, cloud="demo", region="RegionOne", lookup=None, **extra):
    rec = record(item, "servers", cloud, region)
    rec.update(extra)
    return hosts.server_view(rec, lookup or {}, now=NOW, max_age=3600)


@pytest.mark.parametrize(
    ("addr", "private"),
    [
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("169.254.1.1", True),
        ("127.0.0.1", True),
        ("8.8.8.8", False),
        ("203.0.113.5", False),
        ("192.0.2.25", False),
        ("fd00::1", True),
        ("fe80::1%eth0", True),
        ("2001:db8::1", False),
        ("not-an-ip", False),
        ("300.1.1.1", False),
    ],
)
def test_private_ranges(addr, private):
    assert hosts.is_private_address(addr) is private


def addresses(*entries):
    result = []
    for addr, kind in entries:
        version = 6 if ":" in addr else 4
        result.append({"network": "n", "addr": addr, "version": version, "type": kind})
    return result


def test_ansible_host_prefers_floating_then_public_then_private():
    addrs = addresses(("10.0.0.5", "fixed"), ("198.51.100.7", "fixed"), ("203.0.113.9", "floating"))
    assert hosts.choose_ansible_host(addrs) == "203.0.113.9"
    assert hosts.choose_ansible_host(addrs[:2]) == "198.51.100.7"
    assert hosts.choose_ansible_host(addrs[:1]) == "10.0.0.5"
    assert hosts.choose_ansible_host([]) is None


def test_private_and_explicit_preference():
    addrs = addresses(("203.0.113.9", "floating"), ("10.0.0.5", "fixed"))
    assert hosts.choose_ansible_host(addrs, hosts.address_preference(None, private=True)) == "10.0.0.5"
    assert hosts.choose_ansible_host(addrs, hosts.address_preference(["public"])) is None
    assert hosts.choose_ansible_host(addrs, hosts.address_preference(["private", "floating"])) == "10.0.0.5"
    with pytest.raises(ValueError, match=r"'elastic'.*floating, public, private"):
        hosts.address_preference(["elastic"])


def test_ipv4_first_within_a_class_and_only_ipv4():
    addrs = addresses(("2001:db8::5", "fixed"), ("198.51.100.7", "fixed"))
    assert hosts.choose_ansible_host(addrs) == "198.51.100.7"
    v6 = addresses(("2001:db8::5", "fixed"))
    assert hosts.choose_ansible_host(v6) == "2001:db8::5"
    assert hosts.choose_ansible_host(v6, only_ipv4=True) is None


def test_use_names_sets_the_server_name():
    view = {"name": "web-1.example.org", "addresses": addresses(("10.0.0.5", "fixed"))}
    assert hosts.ansible_host_for(view, use_names=True) == "web-1.example.org"
    assert hosts.ansible_host_for(view) == "10.0.0.5"


def test_server_view_from_a_real_nova_response():
    item = json.loads(json.dumps(REAL_SERVER))
    image_id = item["image"]["id"]
    volume_id = item["os-extended-volumes:volumes_attached"][0]["id"]
    lookup = {("real", "RegionOne", "images", image_id): "cirros", ("real", "RegionOne", "volumes", volume_id): "data"}
    view = view_of(item, cloud="real", lookup=lookup, last_seen=NOW - datetime.timedelta(minutes=5))
    assert view["id"] == item["id"]
    assert view["name"] == "realstack-b-vm1"
    assert view["project_id"] == item["tenant_id"]
    assert view["flavor"]["name"] == "rs.tiny"
    assert view["image"] == {"id": image_id, "name": "cirros"}
    assert view["volumes"] == [{"id": volume_id, "name": "data"}]
    assert view["security_groups"] == ["realstack-b-web"]
    assert view["metadata"] == {"role": "web"}
    assert view["networks"] == {"realstack-b-net": ["10.20.2.143", "192.0.2.25"]}
    assert view["floating_ips"] == ["192.0.2.25"]
    assert view["private_v4"] == "10.20.2.143"
    assert view["public_v4"] == "192.0.2.25"
    assert view["availability_zone"] == "nova"
    assert view["stale"] is False and view["deleted"] is False
    assert hosts.ansible_host_for(view) == "192.0.2.25"
    json.dumps(view)  # plain data: what the cache stores


def test_server_view_never_carries_user_data_or_raw_attributes():
    item = nova_server(1)
    view = view_of(item)
    text = json.dumps(view)
    assert item["OS-EXT-SRV-ATTR:user_data"] not in text
    assert "attributes" not in view


def test_floating_ip_from_relations_is_floating():
    item = nova_server(1, floating=False)
    rec = record(item)
    rec["relations"] = list(rec["relations"]) + [
        {"relation": "floating_ips", "target_type": "floating_ips", "target_id": "f1", "target_name": None}
    ]
    view = hosts.server_view(rec, {("demo", "RegionOne", "floating_ips", "f1"): "198.51.100.99"}, now=NOW)
    assert "198.51.100.99" in view["floating_ips"]
    assert hosts.ansible_host_for(view) == "198.51.100.99"


def test_stale_when_deleted_or_old():
    assert hosts.is_stale(NOW - datetime.timedelta(hours=2), None, NOW, 3600) is True
    assert hosts.is_stale(NOW - datetime.timedelta(minutes=2), None, NOW, 3600) is False
    assert hosts.is_stale(NOW, NOW, NOW, 3600) is True
    assert hosts.is_stale("2026-11-23T09:00:00Z", None, NOW, 3600) is True
    assert hosts.is_stale(NOW - datetime.timedelta(days=9), None, NOW, 0) is False


def named(*specs):
    return [{"name": name, "id": sid, "cloud": cloud, "region": "R"} for name, sid, cloud in specs]


def test_unique_names_keep_unique_names_and_suffix_every_duplicate():
    views = named(("web", "aaaaaaaa-1", "c1"), ("web", "bbbbbbbb-2", "c2"), ("db", "cccccccc-3", "c1"))
    assert hosts.unique_host_names(views) == ["web_aaaaaaaa", "web_bbbbbbbb", "db"]


def test_unique_names_are_deterministic_whatever_the_order():
    views = named(
        ("web", "aaaaaaaa-1", "c1"),
        ("web", "aaaaaaaa-2", "c2"),  # same 8-char prefix: longer form
        ("web_aaaaaaaa", "dddddddd", "c1"),  # a real server already named like a suffix
        ("", "eeeeeeee", "c1"),
        ("x", "same-id", "c1"),
        ("x", "same-id", "c2"),  # the same id in two clouds
    )
    expected = hosts.unique_host_names(views)
    assert len(set(expected)) == len(expected)
    assert expected[3] == "eeeeeeee"
    assert expected[2] == "web_aaaaaaaa"
    assert set(expected[:2]) == {"web_aaaaaaaa-1", "web_aaaaaaaa-2"}
    for seed in range(5):
        order = list(range(len(views)))
        random.Random(seed).shuffle(order)
        shuffled = hosts.unique_host_names([views[i] for i in order])
        assert [shuffled[order.index(i)] for i in range(len(views))] == expected


def test_unique_names_by_uuid():
    views = named(("a", "id-1", "c1"), ("a", "id-2", "c1"), ("b", "id-1", "c2"))
    assert hosts.unique_host_names(views, "uuid") == ["id-1_c1_R", "id-2", "id-1_c2_R"]


def test_default_groups_are_safe_and_have_no_per_host_group():
    view = view_of(nova_server(3, metadata={"role": "web", "evil": INJECTION}, status="SHUTOFF", zone="az-1"))
    groups = hosts.default_groups(view)
    assert "cloud_demo" in groups and "region_RegionOne" in groups and "project_p1" in groups
    assert "az_az_1" in groups and "flavor_m1_small" in groups and "status_shutoff" in groups
    assert "meta_role" in groups and "meta_role_web" in groups and "meta_evil" in groups
    for group in groups:
        assert hosts.safe_group_name(group) == group
        assert "{" not in group and "'" not in group and " " not in group
    assert not any(view["id"] in group for group in groups)
    assert all(g.startswith("os_") for g in hosts.default_groups(view, prefix="os_"))


def test_legacy_groups_as_openstack_cloud():
    view = view_of(nova_server(3, metadata={"group": "front", "groups": "a, b"}, zone="az1"))
    groups = hosts.legacy_groups(view, hostname=view["id"])
    for expected in ("demo", "RegionOne", "demo_RegionOne", "front", "a", "b", "meta-group_front", "az1"):
        assert hosts.safe_group_name(expected) in groups
    assert "instance_%s" % view["id"].replace("-", "_") in groups
    assert "vm_3" in groups  # named after the server because the host is named by id
    assert "flavor_m1_small" in groups


@pytest.mark.parametrize(
    ("filters", "matches"),
    [
        ({"status": "active"}, True),
        ({"status": "SHUTOFF"}, False),
        ({"name": "^vm-"}, True),
        ({"name": "db"}, False),
        ({"availability_zone": "nova"}, True),
        ({"flavor": "m1.small"}, True),
        ({"image": "nope"}, False),
        ({"tags": "a,b"}, True),
        ({"tags": ["a", "c"]}, False),
        ({"project_id": "p1", "host": "compute-1"}, True),
    ],
)
def test_server_filters(filters, matches):
    item = nova_server(1)
    item["tags"] = ["a", "b"]
    assert hosts.match_server_filters(view_of(item), filters) is matches
