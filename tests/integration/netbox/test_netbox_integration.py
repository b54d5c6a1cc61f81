"""netbox_sync against the real NetBox of tests/support/netbox_server.py, from a CMDB written by its own writer."""

from __future__ import annotations

import datetime

import pytest
from fakecloud import FakeCloud

from ansible_collections.cmdb.openstack.plugins.module_utils import clock
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox import client, model, runner

pytestmark = pytest.mark.netbox


def _sync(netbox, cmdb_url, check=False, diff=False, **params):
    base = {"netbox_url": netbox.url, "netbox_token": netbox.token, "cmdb_url": cmdb_url}
    base.update(params)
    return runner.run_netbox_sync(base, check_mode=check, diff=diff)


def _by_openstack_id(records):
    return {r.custom_fields["openstack_id"]: r for r in records}


@pytest.fixture
def cmdb_file(tmp_path):
    return "sqlite:///%s" % (tmp_path / "cmdb.sqlite")


def test_first_load_update_decommission_delete_and_no_change_runs(netbox, cmdb_file):
    cloud = FakeCloud(servers=6, projects=2)
    cloud.write(cmdb_file)

    first = _sync(netbox, cmdb_file)
    assert first["changed"] is True
    assert first["counts"]["virtual_machines"]["created"] == 6
    assert first["counts"]["interfaces"]["created"] == 6
    assert first["counts"]["ip_addresses"]["created"] == 8  # 6 fixed + floating on servers 0 and 3
    assert first["counts"]["virtual_disks"]["created"] == 12  # root disk + one volume each
    assert first["counts"]["tenants"]["created"] == 2
    assert first["clusters"][0]["mode"] == "full"

    api = netbox.api()
    vms = _by_openstack_id(api.virtualization.virtual_machines.filter(tag="cmdb-openstack"))
    assert len(vms) == 6
    s0, s1 = cloud.server(0), cloud.server(1)
    vm0 = vms[s0["id"]]
    assert vm0.name == "vm-0"
    assert vm0.status.value == "active"
    assert float(vm0.vcpus) == 2 and vm0.memory == 2048
    assert vm0.platform.name == "Debian 13"
    assert vm0.cluster.name == "demo/RegionOne"
    assert vm0.cluster.type.slug == "openstack"
    assert vm0.tenant.name == "demo/%s" % s0["tenant_id"]
    assert vm0.custom_fields["openstack_cloud"] == "demo"
    assert vm0.primary_ip4.address == "192.0.2.1/32"  # the floating address comes first
    assert vms[s1["id"]].primary_ip4.address == "10.0.1.11/24"  # prefix length from the subnet
    assert vm0.disk == 20000 + 10000  # root 20 GB + volume 10 GB, in MB
    iface = api.virtualization.interfaces.get(virtual_machine_id=vm0.id)
    assert iface.mac_address.lower() == "fa:16:3e:00:00:00"
    assert iface.name == "net-0"
    floating = api.ipam.ip_addresses.get(address="192.0.2.1/32")
    assert floating.nat_inside.address == "10.0.0.10/24"
    assert floating.assigned_object_id == iface.id
    assert {d.name for d in api.virtualization.virtual_disks.filter(virtual_machine_id=vm0.id)} == {"root", "vol-0"}

    again = _sync(netbox, cmdb_file)
    assert again["changed"] is False
    assert again["requests"]["writes"] == 0
    assert again["clusters"][0]["mode"] == "incremental"

    # Changes in OpenStack: stop and resize server 1, detach the volume of 2, release the floating IP of 0,
    # delete server 4.
    s1.update(status="SHUTOFF", name="vm-1-renamed")
    s1["flavor"] = dict(s1["flavor"], vcpus=4, ram=4096)
    s2 = cloud.server(2)
    s2["os-extended-volumes:volumes_attached"] = []
    cloud.items["volumes"][next(v for v in cloud.items["volumes"] if cloud.items["volumes"][v]["name"] == "vol-2")][
        "attachments"
    ] = []
    fip0 = next(f for f in cloud.items["floating_ips"].values() if f["floating_ip_address"] == "192.0.2.1")
    cloud.items["floating_ips"].pop(fip0["id"])
    s0["addresses"]["net-0"] = [a for a in s0["addresses"]["net-0"] if a["OS-EXT-IPS:type"] == "fixed"]
    s4 = cloud.server(4)
    cloud.delete_server(4)
    cloud.write(cmdb_file)

    preview = _sync(netbox, cmdb_file, check=True, diff=True)
    assert preview["changed"] is True
    assert "vm-1-renamed" in preview["diff"]["prepared"]
    assert api.virtualization.virtual_machines.get(vms[s1["id"]].id).name == "vm-1"  # check mode wrote nothing

    second = _sync(netbox, cmdb_file, diff=True)
    assert second["changed"] is True
    assert second["decommissioned"] == 1
    assert second["counts"]["virtual_machines"]["created"] == 0
    assert second["counts"]["ip_addresses"]["deleted"] == 1
    assert second["counts"]["virtual_disks"]["deleted"] == 1
    vm1 = api.virtualization.virtual_machines.get(vms[s1["id"]].id)
    assert (vm1.name, vm1.status.value, float(vm1.vcpus), vm1.memory) == ("vm-1-renamed", "offline", 4, 4096)
    vm0 = api.virtualization.virtual_machines.get(vm0.id)
    assert vm0.primary_ip4.address == "10.0.0.10/24"
    assert api.ipam.ip_addresses.get(address="192.0.2.1/32") is None
    assert [d.name for d in api.virtualization.virtual_disks.filter(virtual_machine_id=vms[s2["id"]].id)] == ["root"]
    vm4 = api.virtualization.virtual_machines.get(vms[s4["id"]].id)
    assert vm4.status.value == "decommissioning"
    assert vm4.custom_fields["openstack_deleted_at"]
    assert len(list(api.virtualization.interfaces.filter(virtual_machine_id=vm4.id))) == 1  # kept while retained

    assert _sync(netbox, cmdb_file)["requests"]["writes"] == 0

    # Past the retention period the decommissioned VM goes, with its addresses.
    later = _sync(netbox, cmdb_file, retention=0)
    assert later["counts"]["virtual_machines"]["deleted"] == 1
    assert api.virtualization.virtual_machines.get(vm4.id) is None
    assert api.ipam.ip_addresses.get(address="10.0.0.14/24") is None
    assert len(list(api.virtualization.virtual_machines.filter(tag="cmdb-openstack"))) == 5


def test_objects_not_created_by_the_collection_are_left_untouched(netbox, cmdb_file):
    api = netbox.api()
    user_type = api.virtualization.cluster_types.create(name="VMware", slug="vmware")
    user_cluster = api.virtualization.clusters.create(name="demo/RegionOne", type=user_type.id)
    user_vm = api.virtualization.virtual_machines.create(name="vm-0", cluster=user_cluster.id, status="active")
    user_ip = api.ipam.ip_addresses.create(address="10.0.0.10/24", description="hand made")
    user_platform = api.dcim.platforms.create(name="Debian 13", slug="debian-13")
    before = {
        "vm": user_vm.last_updated,
        "ip": api.ipam.ip_addresses.get(user_ip.id).last_updated,
        "cluster": api.virtualization.clusters.get(user_cluster.id).last_updated,
    }

    cloud = FakeCloud(servers=3, projects=1)
    cloud.write(cmdb_file)
    first = _sync(netbox, cmdb_file)
    assert first["counts"]["virtual_machines"]["created"] == 3
    ours = _by_openstack_id(api.virtualization.virtual_machines.filter(tag="cmdb-openstack"))
    assert ours[cloud.server(0)["id"]].platform.id == user_platform.id  # platforms are shared by name
    our_cluster = ours[cloud.server(0)["id"]].cluster
    assert our_cluster.id != user_cluster.id

    # A VM added by hand to the collection's cluster, and a hand-made tag on one of ours.
    hand = api.virtualization.virtual_machines.create(name="hand-made", cluster=our_cluster.id, status="planned")
    extra_tag = api.extras.tags.create(name="keep", slug="keep")
    mine = ours[cloud.server(1)["id"]]
    mine.tags.append(extra_tag.id)
    mine.save()

    cloud.delete_server(2)
    cloud.server(1)["status"] = "PAUSED"
    cloud.write(cmdb_file)
    _sync(netbox, cmdb_file, full=True, retention=0)

    assert api.virtualization.virtual_machines.get(user_vm.id).last_updated == before["vm"]
    assert api.ipam.ip_addresses.get(user_ip.id).last_updated == before["ip"]
    assert api.virtualization.clusters.get(user_cluster.id).last_updated == before["cluster"]
    assert api.virtualization.virtual_machines.get(hand.id).status.value == "planned"
    mine = api.virtualization.virtual_machines.get(mine.id)
    assert mine.status.value == "paused"
    assert "keep" in [t.slug for t in mine.tags]
    assert api.dcim.platforms.get(user_platform.id).tags == []


def test_first_load_resumes_batch_by_batch(netbox, cmdb_file):
    cloud = FakeCloud(servers=7, projects=1)
    cloud.write(cmdb_file)
    first = _sync(netbox, cmdb_file, batch_size=3, max_batches=1)
    assert first["complete"] is False
    assert first["counts"]["virtual_machines"]["created"] == 3
    second = _sync(netbox, cmdb_file, batch_size=3, max_batches=1)
    assert second["counts"]["virtual_machines"]["created"] == 3
    assert second["clusters"][0]["resumed_after"]
    last = _sync(netbox, cmdb_file, batch_size=3)
    assert last["complete"] is True
    assert last["counts"]["virtual_machines"]["created"] == 1
    api = netbox.api()
    assert len(list(api.virtualization.virtual_machines.filter(tag="cmdb-openstack"))) == 7
    assert _sync(netbox, cmdb_file)["requests"]["writes"] == 0


def test_check_mode_writes_nothing(netbox, cmdb_file):
    FakeCloud(servers=2, projects=1).write(cmdb_file)
    preview = _sync(netbox, cmdb_file, check=True, diff=True)
    assert preview["changed"] is True
    assert preview["counts"]["virtual_machines"]["created"] == 2
    assert preview["requests"]["writes"] == 0
    assert "+ virtual machine 'vm-0'" in preview["diff"]["prepared"]
    api = netbox.api()
    assert len(list(api.virtualization.virtual_machines.all())) == 0
    assert api.extras.tags.get(slug="cmdb-openstack") is None


def test_bad_token_and_missing_permissions_are_clear(netbox, cmdb_file):
    FakeCloud(servers=1, projects=1).write(cmdb_file)
    with pytest.raises(model.NetBoxError) as err:
        _sync(netbox, cmdb_file, netbox_token="nbt_AAAAAAAAAAAA.wrongwrongwrongwrongwrongwrongwrongwrong")
    assert "rejected the API token" in err.value.message

    api = netbox.api()
    user = api.users.users.create(username="reader", password="Reader-Passw0rd-Long")
    perm = api.users.permissions.create(
        name="read everything", actions=["view"], object_types=["virtualization.virtualmachine", "extras.tag"]
    )
    perm.users = [user.id]
    perm.save()
    token = api.users.tokens.create(user=user.id, write_enabled=True)
    with pytest.raises(model.NetBoxError) as err:
        _sync(netbox, cmdb_file, netbox_token="nbt_%s.%s" % (token.key, token.token))
    assert "may not" in err.value.message and "permission" in err.value.message


def test_expiry_uses_the_cmdb_deletion_time(netbox, cmdb_file):
    cloud = FakeCloud(servers=2, projects=1)
    cloud.write(cmdb_file)
    _sync(netbox, cmdb_file)
    cloud.delete_server(0)
    cloud.write(cmdb_file)
    result = _sync(netbox, cmdb_file, retention=1)
    assert result["decommissioned"] == 1
    base = {"netbox_url": netbox.url, "netbox_token": netbox.token, "cmdb_url": cmdb_file, "retention": 1}
    tomorrow = clock.utcnow() + datetime.timedelta(days=1, minutes=1)
    later = runner.run_netbox_sync(base, now=tomorrow)
    assert later["counts"]["virtual_machines"]["deleted"] == 1


def test_server_tags_metadata_and_unused_platforms(netbox, cmdb_file):
    api = netbox.api()
    hand_tag = api.extras.tags.create(name="os:hand", slug="hand-made", description="made by hand")
    cloud = FakeCloud(servers=3, projects=1)
    fedora = cloud.add(
        "images", {"id": "f0000000-0000-4000-8000-000000000043", "name": "Fedora 43", "status": "active"}
    )
    s0, s1, s2 = cloud.server(0), cloud.server(1), cloud.server(2)
    s0["tags"] = ["prod", "{{ lookup('pipe', 'id') }}"]
    metadata = {"role": "db", "note": "{{ 7 * 7 }}", "run": "$(touch /tmp/pwned)", "empty": ""}
    s0["metadata"] = dict(metadata)
    s1["tags"] = ["hand", "prod"]
    s2["image"] = {"id": fedora["id"]}
    cloud.write(cmdb_file)

    first = _sync(netbox, cmdb_file)
    assert first["counts"]["tags"]["created"] == 3  # cmdb-openstack, os:prod, os:{{ ... }}; not os:hand
    assert any("os:hand" in w for w in first["warnings"])
    vms = _by_openstack_id(api.virtualization.virtual_machines.filter(tag="cmdb-openstack"))
    vm0, vm1 = vms[s0["id"]], vms[s1["id"]]
    assert sorted(t.name for t in vm0.tags) == ["cmdb-openstack", "os:prod", "os:{{ lookup('pipe', 'id') }}"]
    assert vm0.custom_fields["openstack_metadata"] == metadata  # verbatim: never templated, never executed
    assert vms[s2["id"]].custom_fields["openstack_metadata"] is None
    assert sorted(t.name for t in vm1.tags) == ["cmdb-openstack", "os:prod"]  # the hand-made os:hand is not taken
    assert vms[s2["id"]].platform.name == "Fedora 43"
    prod = api.extras.tags.get(name="os:prod")
    assert prod.slug.startswith("os-tag-prod")

    # A tag added by hand stays; the server's tags change; server 2 moves to the Debian image.
    keep = api.extras.tags.create(name="keep", slug="keep")
    vm0.tags.append(keep.id)
    vm0.save()
    s0["tags"] = ["web", "{{ lookup('pipe', 'id') }}"]
    s1["tags"] = ["hand"]
    s0["metadata"] = {"role": "web"}
    s2["image"] = {"id": cloud.image["id"]}
    cloud.write(cmdb_file)
    second = _sync(netbox, cmdb_file, diff=True)
    assert "os:web" in second["diff"]["prepared"]
    vm0 = api.virtualization.virtual_machines.get(vm0.id)
    assert sorted(t.name for t in vm0.tags) == ["cmdb-openstack", "keep", "os:web", "os:{{ lookup('pipe', 'id') }}"]
    assert vm0.custom_fields["openstack_metadata"] == {"role": "web"}
    assert sorted(t.name for t in api.virtualization.virtual_machines.get(vm1.id).tags) == ["cmdb-openstack"]
    assert api.extras.tags.get(name="os:prod") is None  # a managed server tag nothing uses goes
    assert api.extras.tags.get(hand_tag.id).name == "os:hand"  # the hand-made one stays
    platform = api.dcim.platforms.get(name="Fedora 43")
    assert platform.custom_fields["openstack_deleted_at"]  # unused since now: kept for the retention period
    assert _sync(netbox, cmdb_file)["requests"]["writes"] == 0

    # Past the retention period the unused platform goes; the one in use and a hand-made one stay.
    user_platform = api.dcim.platforms.create(name="Hand OS", slug="hand-os")
    later = _sync(netbox, cmdb_file, retention=0)
    assert later["counts"]["platforms"]["deleted"] == 1
    assert api.dcim.platforms.get(name="Fedora 43") is None
    assert api.dcim.platforms.get(name="Debian 13") is not None
    assert api.dcim.platforms.get(user_platform.id) is not None
    assert _sync(netbox, cmdb_file)["requests"]["writes"] == 0


def test_every_read_names_its_fields(netbox, cmdb_file, monkeypatch):
    """Reads without ``fields=`` make NetBox compute related-object counts: about a minute each at 10,000 VMs."""
    cloud = FakeCloud(servers=3, projects=1)
    cloud.write(cmdb_file)
    reads = []
    real_list = client.NetBox.list

    def recording_list(self, path, **filters):
        reads.append((path, dict(filters)))
        return real_list(self, path, **filters)

    monkeypatch.setattr(client.NetBox, "list", recording_list)
    _sync(netbox, cmdb_file)  # first load
    cloud.server(0)["status"] = "SHUTOFF"
    cloud.write(cmdb_file)
    _sync(netbox, cmdb_file)  # incremental
    _sync(netbox, cmdb_file, full=True)  # full compare, with the retirement of unused platforms and tags
    paths = set(path for path, _filters in reads)
    assert {model.CLUSTER, model.VM, model.TAG, model.PLATFORM, model.TENANT} <= paths
    unnamed = [(path, filters) for path, filters in reads if not filters.get("fields")]
    assert unnamed == []
