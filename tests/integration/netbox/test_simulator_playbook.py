"""playbooks/netbox.yml end to end: simulator -> cmdb_sync -> netbox_sync -> a real NetBox, with ansible-playbook."""

from __future__ import annotations

import time

import pytest

try:  # the simulator is built in parallel: skip (with the reason) until its server exists
    import os_simulator  # noqa: F401  # pylint: disable=unused-import
except ImportError as exc:  # pragma: no cover
    pytest.skip("the OpenStack simulator is not available yet: %s" % exc, allow_module_level=True)

pytestmark = pytest.mark.netbox

TYPES = ["servers", "ports", "floating_ips", "volumes", "images", "networks", "subnets"]


def _run(ansible, netbox, cmdb_url, clouds_yaml, check=False, **extra):
    extra_vars = {
        "clouds": ["demo"],
        "cmdb_types": TYPES,
        "cmdb_url": cmdb_url,
        "netbox_url": netbox.url,
        "netbox_retention": 30,
    }
    extra_vars.update(extra)
    args = ["--check", "--diff"] if check else []
    completed = ansible.playbook(
        "playbooks/netbox.yml",
        *args,
        extra_vars=extra_vars,
        env={"OS_CLIENT_CONFIG_FILE": clouds_yaml, "NETBOX_TOKEN": netbox.token},
    )
    assert completed.rc == 0, completed.output
    assert "Traceback" not in completed.output
    assert netbox.token.split(".")[-1] not in completed.output  # the token's secret is never printed
    return completed


def _managed(api):
    return {
        vm.custom_fields["openstack_id"]: vm for vm in api.virtualization.virtual_machines.filter(tag="cmdb-openstack")
    }


def test_playbook_syncs_the_simulator_into_netbox(ansible, netbox, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="demo", regions=("RegionOne",), seed=5, servers=8, projects=2)
    clouds_yaml = str(tmp_path / "clouds.yaml")
    os_simulator.write_clouds_yaml(clouds_yaml, {"demo": cloud.clouds_yaml_entry(user="admin")})
    cmdb_url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    api = netbox.api()
    hand_made = api.virtualization.cluster_types.create(name="Hand made", slug="hand-made")
    # Tags and metadata that look like Jinja and shell: they must arrive in NetBox as they are.
    tagged = sorted(s["id"] for s in cloud.store.list("servers") if s.get("status") != "DELETED")[0]
    metadata = {"tmpl": "{{ 7 * 7 }}", "shell": "$(id)"}
    cloud.store.update("servers", tagged, {"tags": ["prod", "{{ 1 + 1 }}"], "metadata": metadata})

    first = _run(ansible, netbox, cmdb_url, clouds_yaml)
    assert "created" in first.stdout
    servers = {s["id"]: s for s in cloud.store.list("servers")}
    vms = _managed(api)
    assert set(vms) == {sid for sid, s in servers.items() if s.get("status") != "DELETED"}
    ports = cloud.store.list("ports")
    for sid, vm in vms.items():
        server = servers[sid]
        assert vm.name == server["name"][:64] or vm.name.endswith("(%s)" % sid[:8])
        assert float(vm.vcpus) == server["flavor"]["vcpus"] and vm.memory == server["flavor"]["ram"]
        assert vm.cluster.name == "demo/RegionOne"
        assert vm.tenant.custom_fields["openstack_id"] == server["tenant_id"]
        macs = {p["mac_address"].lower() for p in ports if p.get("device_id") == sid}
        got = {i.mac_address.lower() for i in api.virtualization.interfaces.filter(virtual_machine_id=vm.id)}
        assert got == macs
        if macs and any(p.get("fixed_ips") for p in ports if p.get("device_id") == sid):
            assert vm.primary_ip4 or vm.primary_ip6
    assert sorted(t.name for t in vms[tagged].tags) == ["cmdb-openstack", "os:prod", "os:{{ 1 + 1 }}"]
    assert vms[tagged].custom_fields["openstack_metadata"] == metadata
    ips = list(api.ipam.ip_addresses.filter(tag="cmdb-openstack"))
    assert ips and all(ip.assigned_object_type == "virtualization.vminterface" for ip in ips)
    assert list(api.virtualization.virtual_disks.filter(tag="cmdb-openstack"))

    # Change the cloud: stop one server, delete another.
    stopped = sorted(sid for sid, vm in vms.items() if vm.status.value == "active")[0]
    deleted = sorted(sid for sid in vms if sid != stopped)[0]
    time.sleep(1.1)  # the API's timestamps have a one-second resolution
    cloud.store.update("servers", stopped, {"status": "SHUTOFF"})
    cloud.store.delete("servers", deleted)
    synced = ansible.module(
        "cmdb_sync", {"cloud": "demo", "cmdb_url": cmdb_url, "types": TYPES}, env={"OS_CLIENT_CONFIG_FILE": clouds_yaml}
    )
    assert synced.result.get("changed") is True, synced.output
    preview = _run(ansible, netbox, cmdb_url, clouds_yaml, check=True, clouds=[])
    assert "~ virtual machine" in preview.stdout
    assert _managed(api)[stopped].status.value == "active"  # check mode wrote nothing to NetBox

    _run(ansible, netbox, cmdb_url, clouds_yaml, clouds=[])
    vms = _managed(api)
    assert vms[stopped].status.value == "offline"
    assert vms[deleted].status.value == "decommissioning"

    third = _run(ansible, netbox, cmdb_url, clouds_yaml, clouds=[])
    assert "0 created, 0 updated (0 decommissioned), 0 deleted" in third.stdout
    assert api.virtualization.cluster_types.get(hand_made.id).last_updated == hand_made.last_updated
