"""The harness's seeded cloud, seen through openstacksdk: every seeded item is listed by its service,
and the member user sees only project alpha's servers."""

from __future__ import annotations

import configparser
import os

import openstack.exceptions
import pytest

from realcloud.harness import cloud as harness_cloud
from realcloud.harness import config as harness_config
from realcloud.harness import configure as harness_configure
from realcloud.harness import processes as harness_processes


@pytest.fixture(scope="module")
def admin(realcloud):
    return realcloud.connect(realcloud.admin_cloud)


@pytest.fixture(scope="module")
def member(realcloud):
    if not realcloud.member_cloud:
        pytest.skip("no member cloud (set CMDB_REALCLOUD_MEMBER_CLOUD)")
    return realcloud.connect(realcloud.member_cloud)


@pytest.fixture(scope="module")
def seed(realcloud):
    return realcloud.require_seed()


def _ids(items):
    return {item.id for item in items}


def _per_project(seed, key):
    out = []
    for project in seed["projects"].values():
        value = project[key]
        out.extend(value if isinstance(value, list) else [value])
    return out


def test_projects_and_users(admin, seed):
    projects = {p.name: p.id for p in admin.identity.projects()}
    assert projects["alpha"] == seed["projects"]["alpha"]["id"]
    assert projects["beta"] == seed["projects"]["beta"]["id"]
    users = _ids(admin.identity.users())
    assert {seed["users"]["admin"]["id"], seed["users"]["member"]["id"]} <= users
    member_roles = {
        admin.identity.get_role(a.role["id"]).name: a.scope
        for a in admin.identity.role_assignments(user_id=seed["users"]["member"]["id"])
    }
    assert {"member", "reader", "load-balancer_member"} <= set(member_roles)
    assert {scope["project"]["id"] for scope in member_roles.values()} == {seed["projects"]["alpha"]["id"]}


@pytest.mark.parametrize(
    "key, lister",
    [
        ("servers", lambda c: c.compute.servers(all_projects=True)),
        ("network", lambda c: c.network.networks()),
        ("subnet", lambda c: c.network.subnets()),
        ("router", lambda c: c.network.routers()),
        ("security_group", lambda c: c.network.security_groups()),
        ("floating_ip", lambda c: c.network.ips()),
        ("volumes", lambda c: c.block_storage.volumes(all_projects=True)),
        ("snapshots", lambda c: c.block_storage.snapshots(all_projects=True)),
    ],
)
def test_seeded_items_listed_by_their_service(admin, seed, key, lister):
    wanted = {item["id"] for item in _per_project(seed, key)}
    assert len(wanted) == len(_per_project(seed, key)) >= len(seed["projects"])
    assert wanted <= _ids(lister(admin))


def test_servers_active_with_floating_ip_and_volume(admin, seed):
    for name, project in seed["projects"].items():
        servers = {s.id: s for s in admin.compute.servers(all_projects=True, project_id=project["id"])}
        assert {s["id"] for s in project["servers"]} <= set(servers)
        assert {servers[s["id"]].status for s in project["servers"]} == {"ACTIVE"}, name
        fip = admin.network.get_ip(project["floating_ip"]["id"])
        assert fip.port_id == project["servers"][0]["port_id"]
        volume = admin.block_storage.get_volume(project["volumes"][0]["id"])
        assert volume.status == "in-use"
        assert [a["server_id"] for a in volume.attachments] == [project["servers"][0]["id"]]
        snapshot = admin.block_storage.get_snapshot(project["snapshots"][0]["id"])
        assert snapshot.volume_id == volume.id and snapshot.status == "available"
        router = admin.network.get_router(project["router"]["id"])
        assert router.external_gateway_info["network_id"] == seed["public_network"]["id"]
        rules = {r.id for r in admin.network.security_group_rules(security_group_id=project["security_group"]["id"])}
        assert set(project["security_group"]["rules"]) == rules and len(rules) >= 3


def test_security_group_rules_listed(admin, seed):
    wanted = set()
    for project in seed["projects"].values():
        wanted |= set(project["security_group"]["rules"])
    assert wanted <= _ids(admin.network.security_group_rules())


def test_images_public_private_hidden(admin, seed):
    images = seed["images"]
    listed = _ids(admin.image.images())
    assert images["public"]["id"] in listed
    assert images["private"]["id"] in listed  # admin sees every project's private images
    # os_hidden images are left out of the default listing and shown on request.
    assert images["hidden"]["id"] not in listed
    assert images["hidden"]["id"] in _ids(admin.image.images(is_hidden=True))
    assert admin.image.get_image(images["private"]["id"]).owner == seed["projects"]["alpha"]["id"]


def test_flavors_listed(admin, seed):
    assert {f["id"] for f in seed["flavors"].values()} <= _ids(admin.compute.flavors())


def test_load_balancer_with_listener_pool_members(admin, seed):
    alpha = seed["projects"]["alpha"]
    lb_seed = alpha["load_balancer"]
    lb = admin.load_balancer.get_load_balancer(lb_seed["id"])
    assert lb.provisioning_status == "ACTIVE"
    assert lb.project_id == alpha["id"]
    assert lb_seed["id"] in _ids(admin.load_balancer.load_balancers())
    assert lb_seed["listener"]["id"] in _ids(admin.load_balancer.listeners())
    assert lb_seed["pool"]["id"] in _ids(admin.load_balancer.pools())
    members = list(admin.load_balancer.members(lb_seed["pool"]["id"]))
    fixed_ips = {s["fixed_ip"] for s in alpha["servers"]}
    assert {m.address for m in members} == fixed_ips
    assert {m.subnet_id for m in members} == {alpha["subnet"]["id"]}
    # The members' addresses are the servers' ports on the tenant subnet.
    ports = {p.id: p for p in admin.network.ports(network_id=alpha["network"]["id"])}
    for member_seed in lb_seed["members"]:
        port = ports[member_seed["port_id"]]
        assert member_seed["address"] in {ip["ip_address"] for ip in port.fixed_ips}


def test_member_sees_only_alpha_servers(member, seed):
    alpha = {s["id"] for s in seed["projects"]["alpha"]["servers"]}
    assert _ids(member.compute.servers()) == alpha
    # all_projects is admin-only: real Nova answers the member with 403, never a wider view.
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(member.compute.servers(all_projects=True))
    networks = _ids(member.network.networks())
    assert seed["projects"]["alpha"]["network"]["id"] in networks
    assert seed["projects"]["beta"]["network"]["id"] not in networks


def test_up_on_a_running_healthy_cloud_changes_nothing(realcloud):
    realcloud.require_writable()
    layout = harness_config.Layout(realcloud.state_dir)
    with open(layout.generation) as handle:
        generation = handle.read()
    pids = {name: pid for name, (pid, _healthy) in harness_cloud.status(layout).items()}
    assert harness_cloud.up(layout, seed=True) is False
    with open(layout.generation) as handle:
        assert handle.read() == generation  # same databases: nothing was re-created or re-seeded
    assert {name: pid for name, (pid, _healthy) in harness_cloud.status(layout).items()} == pids
    assert all(pids.values())


@pytest.mark.parametrize("enabled", [False, True])
def test_notifications_switch_configures_every_service(tmp_path, monkeypatch, enabled):
    monkeypatch.setenv("CMDB_REALCLOUD_NOTIFICATIONS", "1" if enabled else "0")
    layout = harness_config.Layout(str(tmp_path))
    secrets = {key: "pw-%s" % key for key in ("db", "mq", "admin", "member", "service")}
    harness_configure.render(layout, secrets, shipped_files=False)

    def parse(*path):
        parser = configparser.RawConfigParser(strict=True)  # strict: no section or option twice
        assert parser.read(os.path.join(layout.etc, *path)), path
        return parser

    for path in (
        ("keystone", "keystone.conf"),
        ("glance", "glance-api.conf"),
        ("nova", "nova.conf"),
        ("nova-compute", "nova.conf"),
        ("neutron", "neutron.conf"),
        ("cinder", "cinder.conf"),
        ("octavia", "octavia.conf"),
    ):
        conf = parse(*path)
        assert conf.get("oslo_messaging_notifications", "driver") == ("messagingv2" if enabled else "noop"), path
        if enabled:
            url = conf.get("oslo_messaging_notifications", "transport_url")
            assert url == "rabbit://cmdb_rc:pw-mq@127.0.0.1:5672/cmdb_rc", path
    nova = parse("nova", "nova.conf")
    assert nova.has_option("notifications", "notification_format") is enabled
    assert nova.get("database", "connection").startswith("mysql+pymysql://cmdb_rc:pw-db@127.0.0.1:3306/rc_nova?")
    # nova-compute must not get the database URLs.
    compute = parse("nova-compute", "nova.conf")
    assert not compute.has_section("database") and not compute.has_section("api_database")
    assert compute.get("DEFAULT", "compute_driver") == "fake.FakeDriverWithoutFakeNodes"


def test_a_pid_file_naming_another_process_is_never_signalled(tmp_path):
    pidfile, log = str(tmp_path / "sleeper.pid"), str(tmp_path / "sleeper.log")
    pid = harness_processes.start("sleeper", ["sleep", "120"], pidfile, log)
    assert harness_processes.running_pid(pidfile) == pid
    with open(pidfile) as handle:
        recorded = handle.read()
    # The same pid with another start time: what a pid file looks like after the pid was reused.
    with open(pidfile, "w") as handle:
        handle.write("%d 1\n" % pid)
    assert harness_processes.running_pid(pidfile) is None
    assert harness_processes.stop_many([pidfile]) == []
    assert harness_processes._start_time(pid) is not None  # still running: it was not ours to stop
    with open(pidfile, "w") as handle:
        handle.write(recorded)
    assert harness_processes.stop_many([pidfile], grace=5) == [pidfile]
    assert harness_processes._start_time(pid) is None
    assert not os.path.exists(pidfile)
