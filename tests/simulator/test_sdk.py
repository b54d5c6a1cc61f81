"""openstacksdk against the simulator: every listed type, over more than three pages, all projects,
both regions, the raw paged GETs of the gatherer, changes-since, and create/update/delete calls."""

from __future__ import annotations

import os
import time

import openstack
import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils.catalog import RESOURCE_TYPES
from os_simulator import Simulator

pytestmark = pytest.mark.filterwarnings("ignore::Warning:openstack")

PAGE = 2  # server-side page size: every listing below spans more than three pages


@pytest.fixture(scope="module")
def paged():
    sim = Simulator().start()
    cloud = sim.add_cloud(
        "paged", regions=("RegionOne", "RegionTwo"), servers=30, projects=7, max_page_size=PAGE, flavors=2
    )
    try:
        yield cloud
    finally:
        sim.stop()


def connect(cloud, user="admin", region="RegionOne", **kwargs):
    return openstack.connect(**cloud.credentials(user), region_name=region, **kwargs)


def ids(items):
    return sorted(item.id for item in items)


def store_ids(cloud, tname, region="RegionOne", **match):
    return sorted(item["id"] for item in cloud.store.find(tname, region=region, **match))


LISTINGS = [
    ("compute", "servers", {"all_projects": True}, "servers", "/servers/detail"),
    ("compute", "flavors", {}, "flavors", "/flavors/detail"),
    ("image", "images", {}, "images", "/images"),
    ("block_storage", "volumes", {"all_projects": True}, "volumes", "/volumes/detail"),
    ("block_storage", "snapshots", {"all_projects": True}, "volume_snapshots", "/snapshots/detail"),
    ("network", "networks", {}, "networks", "/networks"),
    ("network", "subnets", {}, "subnets", "/subnets"),
    ("network", "ports", {}, "ports", "/ports"),
    ("network", "routers", {}, "routers", "/routers"),
    ("network", "ips", {}, "floating_ips", "/floatingips"),
    ("network", "security_groups", {}, "security_groups", "/security-groups"),
    ("load_balancer", "load_balancers", {}, "load_balancers", "/lbaas/loadbalancers"),
    ("load_balancer", "listeners", {}, "listeners", "/lbaas/listeners"),
    ("load_balancer", "pools", {}, "pools", "/lbaas/pools"),
]


@pytest.mark.parametrize("region", ["RegionOne", "RegionTwo"])
@pytest.mark.parametrize(("proxy", "method", "kwargs", "tname", "path"), LISTINGS, ids=[x[1] for x in LISTINGS])
def test_sdk_lists_every_item_over_many_pages(paged, region, proxy, method, kwargs, tname, path):
    conn = connect(paged, region=region)
    paged.clear_requests()
    listed = list(getattr(getattr(conn, proxy), method)(**kwargs))
    expected = store_ids(paged, tname, region=region)
    assert len(expected) > 3 * PAGE
    assert ids(listed) == expected
    pages = [
        r for r in paged.requests(path=path) if r["method"] == "GET" and r["region"] == region and r["path"] == path
    ]
    assert len(pages) > 3
    assert all(r["status"] == 200 for r in pages)


def test_sdk_lists_members_of_each_pool(paged):
    conn = connect(paged)
    pools = list(conn.load_balancer.pools())
    assert pools
    for pool in pools:
        members = list(conn.load_balancer.members(pool))
        assert ids(members) == sorted(m["id"] for m in paged.store.get("pools", pool.id)["members"])
    addresses = {m.address for pool in pools for m in conn.load_balancer.members(pool)}
    fixed = {f["ip_address"] for p in paged.store.find("ports", device_owner="compute:nova") for f in p["fixed_ips"]}
    fixed |= {
        f["ip_address"]
        for p in paged.store.list("ports")
        if p["device_owner"].startswith("compute:")
        for f in p["fixed_ips"]
    }
    assert addresses <= fixed  # members point at server addresses


def test_member_sees_only_its_project_and_all_projects_is_forbidden(paged):
    conn = connect(paged, "member")
    project = paged.users["member"]["project"]
    assert ids(conn.compute.servers()) == store_ids(paged, "servers", tenant_id=project)
    assert ids(conn.network.routers()) == store_ids(paged, "routers", project_id=project)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(conn.compute.servers(all_projects=True))
    # Cinder ignores all_tenants for non-admins (as the real one does)
    vols = ids(conn.block_storage.volumes(all_projects=True))
    assert vols == store_ids(paged, "volumes", **{"os-vol-tenant-attr:tenant_id": project})


def test_nolb_user_is_forbidden_on_load_balancer_only(paged):
    conn = connect(paged, "nolb")
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(conn.load_balancer.load_balancers())
    assert list(conn.network.networks())


def test_application_credential_auth(paged):
    conn = openstack.connect(**paged.app_credential_connect_args("member"), region_name="RegionOne")
    project = paged.users["member"]["project"]
    assert ids(conn.compute.servers()) == store_ids(paged, "servers", tenant_id=project)
    bad = dict(paged.app_credential_connect_args("member"), application_credential_secret="wrong")
    with pytest.raises(openstack.exceptions.SDKException):
        openstack.connect(**bad, region_name="RegionOne").authorize()


def test_bad_password_is_401(paged):
    creds = dict(paged.credentials(), password="not-the-password")
    with pytest.raises(openstack.exceptions.SDKException, match=r"HTTP 401"):
        openstack.connect(**creds, region_name="RegionOne").authorize()


@pytest.mark.parametrize("rtype", list(RESOURCE_TYPES))
def test_raw_paged_gets_like_the_gatherer(paged, rtype):
    """``proxy.get(list_path, params=..., microversion=...)`` then the absolute next links."""
    entry = RESOURCE_TYPES[rtype]
    conn = connect(paged)
    proxy = getattr(conn, entry.sdk_proxy)
    params = {"limit": entry.max_page_size}
    params.update(entry.all_projects_query or {})
    response = proxy.get(entry.list_path, params=params, microversion=entry.microversion)
    seen, pages = [], 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        seen.extend(item["id"] for item in body[entry.collection_key])
        if entry.pagination == "next":
            nxt = body.get("next")
            url = nxt[nxt.find("/", 1) :] if nxt else None  # Glance: "/v2/images?..." relative to the endpoint
        else:
            url = next(
                (link["href"] for link in body.get(entry.collection_key + "_links", []) if link["rel"] == "next"), None
            )
        if not url:
            break
        response = proxy.get(url, microversion=entry.microversion)
    expected = {
        "servers": "servers",
        "volumes": "volumes",
        "volume_snapshots": "volume_snapshots",
        "images": "images",
        "flavors": "flavors",
    }.get(rtype, rtype)
    assert sorted(seen) == store_ids(paged, expected)
    assert len(seen) == len(set(seen))
    assert pages > 3


def test_internal_interface_and_catalog_regions(paged):
    conn = connect(paged, interface="internal", region="RegionTwo")
    paged.clear_requests()
    assert ids(conn.network.networks()) == store_ids(paged, "networks", region="RegionTwo")
    assert {r["interface"] for r in paged.requests(service="network")} == {"internal"}
    catalog = conn.session.auth.get_access(conn.session).service_catalog.catalog
    regions = {ep["region"] for svc in catalog for ep in svc["endpoints"]}
    interfaces = {ep["interface"] for svc in catalog for ep in svc["endpoints"]}
    assert regions == {"RegionOne", "RegionTwo"}
    assert interfaces == {"public", "internal"}


def test_changes_since_includes_updated_and_deleted_servers(os_simulator):
    cloud = os_simulator.add_cloud("cs", servers=10, projects=2)
    conn = connect(cloud)
    servers = cloud.store.list("servers")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    cloud.store.update("servers", servers[0]["id"], {"name": "renamed"})
    conn.compute.delete_server(servers[1]["id"])
    member = connect(cloud, "member")
    changed = {s.id: s for s in conn.compute.servers(all_projects=True, changes_since=since)}
    assert set(changed) == {servers[0]["id"], servers[1]["id"]}
    assert changed[servers[1]["id"]].status == "DELETED"
    assert changed[servers[0]["id"]].name == "renamed"
    assert servers[1]["id"] not in ids(conn.compute.servers(all_projects=True))
    own = {s["id"] for s in servers[:2] if s["tenant_id"] == cloud.users["member"]["project"]}
    assert {s.id for s in member.compute.servers(changes_since=since)} == own


def test_server_side_filters(paged):
    conn = connect(paged)
    active = ids(conn.compute.servers(all_projects=True, status="ACTIVE"))
    assert active == store_ids(paged, "servers", status="ACTIVE")
    network = paged.store.list("networks")[1]
    assert ids(conn.network.ports(network_id=network["id"])) == store_ids(paged, "ports", network_id=network["id"])
    assert ids(conn.network.networks(is_router_external=True)) == store_ids(
        paged, "networks", **{"router:external": True}
    )
    volume = paged.store.list("volumes")[0]
    snaps = ids(conn.block_storage.snapshots(all_projects=True, volume_id=volume["id"]))
    assert snaps == store_ids(paged, "volume_snapshots", volume_id=volume["id"])
    assert ids(conn.image.images(visibility="public")) == store_ids(paged, "images", visibility="public")
    name = paged.store.list("servers")[0]["name"]
    assert paged.store.list("servers")[0]["id"] in ids(conn.compute.servers(all_projects=True, name="^%s$" % name))


def test_create_update_delete_through_the_sdk(os_simulator):
    cloud = os_simulator.add_cloud("crud", servers=4, projects=1)
    conn = connect(cloud, "member")
    net = conn.network.create_network(name="made-here")
    subnet = conn.network.create_subnet(network_id=net.id, cidr="192.168.77.0/24", ip_version=4, name="made-sub")
    assert conn.network.get_network(net.id).subnet_ids == [subnet.id]
    flavor = next(iter(conn.compute.flavors()))
    image = next(i for i in conn.image.images() if i.status == "active")
    server = conn.compute.create_server(
        name="made-vm", flavor_id=flavor.id, image_id=image.id, networks=[{"uuid": net.id}]
    )
    server = conn.compute.get_server(server.id)
    assert server.status == "ACTIVE"
    assert next(a["addr"] for a in server.addresses["made-here"]).startswith("192.168.77.")
    port = next(iter(conn.network.ports(device_id=server.id)))
    ext = next(n for n in conn.network.networks() if n.is_router_external)
    fip = conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
    assert fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
    assert "floating" in {a["OS-EXT-IPS:type"] for a in conn.compute.get_server(server.id).addresses["made-here"]}
    conn.compute.update_server(server.id, name="made-vm-2")
    assert cloud.store.get("servers", server.id)["name"] == "made-vm-2"
    volume = conn.block_storage.create_volume(size=1, name="made-vol")
    snap = conn.block_storage.create_snapshot(volume_id=volume.id, name="made-snap")
    assert cloud.store.get("volume_snapshots", snap.id)["volume_id"] == volume.id
    conn.block_storage.delete_snapshot(snap.id)
    conn.block_storage.delete_volume(volume.id)
    conn.compute.delete_server(server.id)
    assert server.id not in ids(conn.compute.servers())
    assert not list(conn.network.ports(device_id=server.id))
    assert conn.network.get_ip(fip.id).port_id is None
    sg = conn.network.create_security_group(name="made-sg")
    conn.network.create_security_group_rule(
        security_group_id=sg.id, direction="ingress", protocol="tcp", port_range_min=22, port_range_max=22
    )
    assert len(conn.network.get_security_group(sg.id).security_group_rules) == 3
    lb = conn.load_balancer.create_load_balancer(name="made-lb", vip_subnet_id=subnet.id)
    listener = conn.load_balancer.create_listener(
        name="made-l", loadbalancer_id=lb.id, protocol="HTTP", protocol_port=80
    )
    pool = conn.load_balancer.create_pool(
        name="made-p", listener_id=listener.id, protocol="HTTP", lb_algorithm="ROUND_ROBIN"
    )
    member = conn.load_balancer.create_member(pool, address="192.168.77.50", protocol_port=80, subnet_id=subnet.id)
    assert ids(conn.load_balancer.members(pool)) == [member.id]
    assert conn.load_balancer.get_load_balancer(lb.id).listeners == [{"id": listener.id}]
    conn.load_balancer.delete_load_balancer(lb.id, cascade=True)
    assert lb.id not in ids(conn.load_balancer.load_balancers())
    reader = connect(cloud, "reader")
    with pytest.raises(openstack.exceptions.ForbiddenException):
        reader.network.create_network(name="nope")


@pytest.mark.parametrize("appcred", [False, True])
def test_clouds_yaml_entries(paged, tmp_path, appcred):
    from openstack.config.loader import OpenStackConfig

    path = str(tmp_path / "clouds.yaml")
    paged.write_clouds_yaml(path, user="member", name="viayaml", regions=["RegionTwo"], application_credential=appcred)
    region = OpenStackConfig(config_files=[path], vendor_files=[], secure_files=[]).get_one(cloud="viayaml")
    conn = openstack.connection.Connection(config=region)
    project = paged.users["member"]["project"]
    assert ids(conn.compute.servers()) == store_ids(paged, "servers", region="RegionTwo", tenant_id=project)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_octavia_next_links_drop_filters_like_the_real_one(paged):
    """Real Octavia's links carry only limit/sort/marker; openstacksdk re-sends the filters itself."""
    conn = connect(paged)
    project = paged.projects[0]["id"]
    expected = store_ids(paged, "load_balancers", project_id=project)
    assert len(expected) >= 1
    assert ids(conn.load_balancer.load_balancers(project_id=project)) == expected
    body = conn.load_balancer.get("/lbaas/loadbalancers", params={"project_id": project, "limit": 1}).json()
    href = body["loadbalancers_links"][0]["href"]
    assert "project_id" not in href and "limit=1" in href and "marker=" in href
