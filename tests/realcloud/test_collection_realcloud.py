"""The collection against real OpenStack services (started and seeded by tests/realcloud/harness).

Every module runs through a real ``ansible-playbook`` and talks to real Keystone, Nova, Neutron,
Cinder, Glance and Octavia; what they return is compared with what openstacksdk itself lists
from the same services, as the admin (every project) and as the member (its own project).
"""

from __future__ import annotations

import json
import textwrap
import uuid

import pytest
import yaml
from support.ansible import plain

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, connection, gather

openstack = pytest.importorskip("openstack")

pytestmark = pytest.mark.realcloud

REGION = "RegionOne"
# Neutron and Octavia list shared items of other projects (the external network, its subnet) to a
# member too; with all_projects=false the collection keeps to the token's own project, as documented.
OWN_PROJECT_FILTERED = {name for name, rtype in catalog.RESOURCE_TYPES.items() if rtype.admin_lists_all}


def sdk_ids(conn, all_projects):
    """{type: set of ids} as openstacksdk lists them from the same services."""
    own = conn.current_project_id
    narrow = {} if all_projects else {"project_id": own}
    images = {i.id for i in conn.image.images()} | {i.id for i in conn.image.images(is_hidden=True)}
    listings = {
        "servers": {s.id for s in conn.compute.servers(all_projects=all_projects)},
        "flavors": {f.id for f in conn.compute.flavors(is_public=None)},
        "images": images,
        "volumes": {v.id for v in conn.block_storage.volumes(all_projects=all_projects)},
        "volume_snapshots": {s.id for s in conn.block_storage.snapshots(all_projects=all_projects)},
        "load_balancers": {lb.id for lb in conn.load_balancer.load_balancers(**narrow)},
        "security_groups": {g.id for g in conn.network.security_groups(**narrow)},
        "networks": {n.id for n in conn.network.networks(**narrow)},
        "subnets": {s.id for s in conn.network.subnets(**narrow)},
        "ports": {p.id for p in conn.network.ports(**narrow)},
        "routers": {r.id for r in conn.network.routers(**narrow)},
        "floating_ips": {f.id for f in conn.network.ips(**narrow)},
    }
    assert set(listings) == set(catalog.RESOURCE_TYPES)
    return listings


def env_for(realcloud):
    return realcloud.env


@pytest.mark.parametrize("who", ["admin", "member"])
def test_every_info_module_lists_what_openstacksdk_lists(realcloud, ansible, who):
    cloud = realcloud.admin_cloud if who == "admin" else realcloud.member_cloud
    if cloud is None:
        pytest.skip("no member cloud configured (CMDB_REALCLOUD_MEMBER_CLOUD)")
    all_projects = who == "admin"
    tasks = [
        (rtype.singular, rtype.singular + "_info", {"cloud": cloud, "all_projects": all_projects})
        for rtype in catalog.RESOURCE_TYPES.values()
    ]
    tasks.append(("everything", "resource_info", {"cloud": cloud, "all_projects": all_projects}))
    completed, results = ansible.modules(tasks, env=env_for(realcloud))
    assert completed.rc == 0, completed.output
    assert "Traceback" not in completed.output

    conn = realcloud.connect(cloud)
    try:
        expected = sdk_ids(conn, all_projects)
    finally:
        conn.close()
    everything = results["everything"]
    assert not everything.get("failed"), everything.get("msg")
    for name, rtype in catalog.RESOURCE_TYPES.items():
        result = results[rtype.singular]
        assert not result.get("failed"), (name, result.get("msg"))
        assert [s["status"] for s in result["scopes"]] == ["ok"], (name, result["scopes"])
        assert not result.get("warnings"), (name, result.get("warnings"))
        assert {r["id"] for r in result[name]} == expected[name], name
        assert {r["id"] for r in everything[name]} == expected[name], name
    # the seed is really there: a comparison of two empty sets would prove nothing
    for name in ("servers", "volumes", "volume_snapshots", "load_balancers", "floating_ips", "routers"):
        assert expected[name], "the seed has no %s visible to the %s" % (name, who)


def test_load_balancers_with_listeners_pools_and_real_member_ports(realcloud, ansible):
    cloud = realcloud.admin_cloud
    completed, results = ansible.modules(
        [
            ("lbs", "load_balancer_info", {"cloud": cloud, "resolve_member_ports": True}),
            ("ports", "port_info", {"cloud": cloud}),
        ],
        env=env_for(realcloud),
    )
    assert completed.rc == 0, completed.output
    lbs = results["lbs"]["load_balancers"]
    assert lbs, results["lbs"]
    ports = {p["id"]: p for p in results["ports"]["ports"]}
    members = [m for lb in lbs for pool in lb["attributes"]["pools"] for m in pool["members"]]
    assert members and all(lb["attributes"]["listeners"] for lb in lbs)
    conn = realcloud.connect(cloud)
    try:
        servers = {s.id: s for s in conn.compute.servers(all_projects=True)}
        for member in members:
            port = ports[member["port_id"]]
            fixed = {ip["ip_address"] for ip in port["attributes"]["fixed_ips"]}
            assert member["address"] in fixed
            assert port["attributes"]["device_id"] in servers, member
    finally:
        conn.close()


@pytest.mark.parametrize("type_name", sorted(catalog.RESOURCE_TYPES))
def test_each_service_404_proves_an_item_gone_and_a_live_item_is_present(realcloud, type_name, monkeypatch):
    """The deletion proof reads each real service's own 404 (the bodies of Nova, Neutron, Cinder,
    Glance and Octavia all differ): a missing id is proven gone, a listed one is present."""
    for key, value in realcloud.env.items():
        monkeypatch.setenv(key, value)
    session = connection.open_cloud({"cloud": realcloud.admin_cloud, "region_name": [REGION]})
    try:
        reports = gather.gather(session, [type_name])
        assert [r.status for r in reports] == ["ok"], [r.as_dict() for r in reports]
        listed = gather.records_by_type(reports).get(type_name, [])
        missing = str(uuid.uuid4())
        verdicts = gather.Confirmer(session).confirm(REGION, type_name, [missing] + [r["id"] for r in listed[:2]])
    finally:
        session.close()
    assert verdicts[missing][0] == gather.GONE, verdicts[missing]
    assert listed or not realcloud.seed, "the seed has no %s" % type_name
    for record in listed[:2]:
        assert verdicts[record["id"]][0] == gather.PRESENT, (record["id"], verdicts[record["id"]])


def cmdb_ids(ansible, url, cloud):
    done = ansible.module(
        "cmdb_info", {"cmdb_url": url, "cloud": cloud, "include_attributes": False, "include_relations": False}
    )
    assert done.rc == 0 and not done.result.get("failed"), done.output
    ids = {}
    for record in done.result["resources"]:
        ids.setdefault(record["type"], set()).add(record["id"])
    return ids


def test_cmdb_sync_follows_a_lifecycle(realcloud, ansible, tmp_path):
    """create, rename, stop and delete servers (incremental: Nova changes-since), delete a network."""
    seed = realcloud.require_seed()
    realcloud.require_writable()
    cloud = realcloud.admin_cloud
    env = env_for(realcloud)
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    sync_args = {"cloud": cloud, "cmdb_url": url, "strict": True}
    first = ansible.module("cmdb_sync", sync_args, env=env)
    assert first.rc == 0 and not first.result.get("failed"), first.output
    assert {s["status"] for s in first.result["scopes"]} == {"ok"}, first.result["scopes"]

    conn = realcloud.connect(cloud)
    try:
        net_id = seed["projects"]["alpha"]["network"]["id"]
        image_id = seed["images"]["public"]["id"]
        flavor_id = seed["flavors"]["m1.tiny"]["id"]
        made = [
            conn.compute.create_server(
                name="lifecycle-%d" % n,
                image_id=image_id,
                flavor_id=flavor_id,
                networks=[{"uuid": net_id}],
            )
            for n in range(3)
        ]
        made = [conn.compute.wait_for_server(s, wait=180) for s in made]
        scratch = conn.network.create_network(name="lifecycle-scratch-net")
        middle = ansible.module("cmdb_sync", sync_args, env=env)
        assert middle.rc == 0, middle.output
        created, renamed, stopped = made
        conn.compute.update_server(renamed, name="lifecycle-renamed")
        conn.compute.stop_server(stopped)
        conn.compute.wait_for_server(stopped, status="SHUTOFF", wait=120)
        conn.compute.delete_server(created)
        conn.compute.wait_for_delete(created, wait=120)
        conn.network.delete_network(scratch)

        second = ansible.module("cmdb_sync", sync_args, diff=True, env=env)
        assert second.rc == 0 and not second.result.get("failed"), second.output
        servers_scope = [s for s in second.result["scopes"] if s["type"] == "servers"]
        assert [s["mode"] for s in servers_scope] == ["incremental"], servers_scope
        changes = {(c["type"], c["id"]): c for c in second.result["changes"]}
        assert changes[("servers", created.id)]["action"] == "deleted"
        assert changes[("networks", scratch.id)]["action"] == "deleted"
        assert changes[("servers", renamed.id)]["diff"]["name"] == {"old": "lifecycle-1", "new": "lifecycle-renamed"}
        assert changes[("servers", stopped.id)]["diff"]["status"] == {"old": "ACTIVE", "new": "SHUTOFF"}

        stored = cmdb_ids(ansible, url, cloud)
        expected = sdk_ids(conn, all_projects=True)
        for name in catalog.RESOURCE_TYPES:
            assert stored.get(name, set()) == expected[name], name
    finally:
        # the other tests compare with live listings: leave no server half-deleted behind
        leftovers = [s for s in conn.compute.servers(all_projects=True) if s.name.startswith("lifecycle-")]
        for server in leftovers:
            conn.compute.delete_server(server, ignore_missing=True)
        for server in leftovers:
            conn.compute.wait_for_delete(server, wait=120)
        for leftover in conn.network.networks(name="lifecycle-scratch-net"):  # not find_network: see sync.py
            conn.network.delete_network(leftover, ignore_missing=True)
        conn.close()


def inventory_config(tmp_path, **options):
    path = tmp_path / ("inv-%d.openstack.yml" % len(list(tmp_path.glob("inv-*"))))
    path.write_text(yaml.safe_dump(dict({"plugin": "cmdb.openstack.inventory"}, **options)))
    return path


def test_inventory_live_and_from_the_cmdb_lists_every_server(realcloud, ansible, tmp_path):
    cloud = realcloud.admin_cloud
    env = env_for(realcloud)
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    synced = ansible.module(
        "cmdb_sync", {"cloud": cloud, "cmdb_url": url, "types": ["servers", "floating_ips"]}, env=env
    )
    assert synced.rc == 0 and not synced.result.get("failed"), synced.output
    conn = realcloud.connect(cloud)
    try:
        want = sorted(s.id for s in conn.compute.servers(all_projects=True))
    finally:
        conn.close()
    assert want
    live = inventory_config(
        tmp_path,
        source="live",
        only_clouds=[cloud],
        all_projects=True,
        clouds_yaml_path=[str(realcloud.clouds_yaml)],
        fail_on_errors=True,
    )
    from_cmdb = inventory_config(tmp_path, source="cmdb", cmdb_url=url, fail_on_errors=True)
    for config in (live, from_cmdb):
        done = ansible.inventory(config, env=env)
        assert done.rc == 0, done.output
        hostvars = plain(done.result["_meta"]["hostvars"])
        assert sorted(hv["openstack"]["id"] for hv in hostvars.values()) == want, config.read_text()
        with_fip = [hv for hv in hostvars.values() if hv["openstack"].get("public_v4")]
        assert with_fip, "the seeded floating IP is not on any host (%s)" % config.name


def test_permissions_of_the_member_as_real_policies_decide(realcloud, ansible):
    if realcloud.member_cloud is None:
        pytest.skip("no member cloud configured (CMDB_REALCLOUD_MEMBER_CLOUD)")
    done = ansible.module("cloud_permissions_info", {"cloud": realcloud.member_cloud}, env=env_for(realcloud))
    assert done.rc == 0 and not done.result.get("failed"), done.output
    by_type = {p["type"]: p for p in done.result["permissions"]}
    assert set(by_type) == set(catalog.RESOURCE_TYPES)
    # Nova: listing every project needs admin (policy get_all_tenants), the own project works
    assert by_type["servers"]["status"] == "forbidden", by_type["servers"]
    assert by_type["servers"]["http_status"] == 403
    assert by_type["servers"]["own_project"] == "allowed", by_type["servers"]
    assert by_type["servers"]["grant"]
    # Cinder ignores all_tenants for a member and lists its own project (no 403); Neutron, Glance,
    # Octavia (load-balancer_member role) and flavors: allowed
    for name in set(catalog.RESOURCE_TYPES) - {"servers"}:
        assert by_type[name]["status"] == "allowed", by_type[name]
        assert by_type[name]["grant"] is None
    assert done.result["summary"]["error"] == 0, json.dumps(done.result["permissions"], indent=1)


def test_a_playbook_targets_real_servers_from_the_cmdb(realcloud, ansible, tmp_path):
    cloud = realcloud.admin_cloud
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    args = {"cloud": cloud, "cmdb_url": url, "types": ["servers"]}
    synced = ansible.module("cmdb_sync", args, env=env_for(realcloud))
    assert synced.rc == 0, synced.output
    playbook = textwrap.dedent(
        """
        - hosts: all
          gather_facts: false
          connection: local
          tasks:
            - ansible.builtin.debug:
                var: openstack.id
        """
    )
    ran = ansible.playbook(playbook, inventory=inventory_config(tmp_path, source="cmdb", cmdb_url=url))
    assert ran.rc == 0, ran.output
    assert synced.result["totals"]["new"] > 0
    assert ran.stdout.count("ok: [") == synced.result["totals"]["new"]
