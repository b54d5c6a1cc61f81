"""The notification parser (plugins/module_utils/events.py): bodies as the real services send them."""

from __future__ import annotations

import json

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import events

SERVER = "5041dd58-0d3b-4c1d-a1ad-4b8a3e0e5b71"
PROJECT = "99f5c1c3c2c84d0a9c1e2b4f6d8a0b1c"
INJECTION = "{{ lookup('pipe', 'touch /tmp/cmdb-events-marker') }}"


def wrap(message):
    """What oslo.messaging's messagingv2 driver publishes."""
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)}).encode()


def message(event_type, payload, **extra):
    body = {
        "message_id": "m-1",
        "publisher_id": "compute.rc-compute-1",
        "event_type": event_type,
        "priority": "INFO",
        "payload": payload,
        "timestamp": "2026-12-06 12:00:00.123456",
        "_context_project_id": PROJECT,
        "_context_auth_token": None,
    }
    body.update(extra)
    return body


def reduce(event_type, payload, **extra):
    return events.reduce_notification(wrap(message(event_type, payload, **extra)), "prod", "RegionOne")


def test_nova_versioned_instance_update():
    payload = {
        "nova_object.name": "InstanceUpdatePayload",
        "nova_object.namespace": "nova",
        "nova_object.version": "2.0",
        "nova_object.data": {"uuid": SERVER, "tenant_id": PROJECT, "display_name": INJECTION, "state": "building"},
    }
    event = reduce("instance.update", payload)
    assert event == {
        "cloud": "prod",
        "region": "RegionOne",
        "type": "servers",
        "id": SERVER,
        "project_id": PROJECT,
        "event_type": "instance.update",
        "timestamp": "2026-12-06 12:00:00.123456",
    }
    # nothing of the payload but the id and project: the name never reaches the rulebook
    assert "lookup" not in json.dumps(event)


def test_nova_legacy_instance_delete_end():
    event = reduce("compute.instance.delete.end", {"instance_id": SERVER, "tenant_id": PROJECT, "display_name": "x"})
    assert (event["type"], event["id"], event["project_id"]) == ("servers", SERVER, PROJECT)


def test_nova_versioned_flavor():
    payload = {"nova_object.data": {"flavorid": "m1.tiny", "name": "m1.tiny"}}
    assert reduce("flavor.update", payload)["type"] == "flavors"
    assert reduce("flavor.update", payload)["id"] == "m1.tiny"


def test_nova_events_naming_no_item_are_dropped():
    assert reduce("scheduler.select_destinations.start", {"request_spec": {}}) is None
    assert reduce("keypair.create.end", {"nova_object.data": {"name": "k"}}) is None


def test_cinder_volume_and_snapshot():
    volume = reduce("volume.update.end", {"volume_id": "v-1", "tenant_id": PROJECT, "display_name": INJECTION})
    assert (volume["type"], volume["id"], volume["project_id"]) == ("volumes", "v-1", PROJECT)
    snap = reduce("snapshot.create.end", {"snapshot_id": "s-1", "tenant_id": PROJECT})
    assert (snap["type"], snap["id"]) == ("volume_snapshots", "s-1")


@pytest.mark.parametrize(
    "event_type,key,rtype",
    [
        ("network.create.end", "network", "networks"),
        ("subnet.update.end", "subnet", "subnets"),
        ("port.create.end", "port", "ports"),
        ("router.update.end", "router", "routers"),
        ("floatingip.create.end", "floatingip", "floating_ips"),
        ("security_group.create.end", "security_group", "security_groups"),
    ],
)
def test_neutron_end_events_carry_the_object(event_type, key, rtype):
    event = reduce(event_type, {key: {"id": "r-1", "project_id": PROJECT, "name": INJECTION}})
    assert (event["type"], event["id"], event["project_id"]) == (rtype, "r-1", PROJECT)


def test_neutron_delete_events_carry_the_id_only():
    event = reduce("port.delete.end", {"port_id": "p-1"})
    assert (event["type"], event["id"]) == ("ports", "p-1")
    # the project then comes from the context
    assert event["project_id"] == PROJECT
    assert reduce("floatingip.delete.end", {"floatingip_id": "f-1"})["id"] == "f-1"


def test_neutron_create_start_has_no_id():
    assert reduce("network.create.start", {"network": {"name": "n"}}) is None


def test_router_interface_names_the_router():
    event = reduce(
        "router.interface.create", {"router_interface": {"id": "rt-1", "port_id": "p", "project_id": PROJECT}}
    )
    assert (event["type"], event["id"]) == ("routers", "rt-1")


def test_security_group_rule_names_its_group():
    event = reduce(
        "security_group_rule.create.end", {"security_group_rule": {"id": "rule", "security_group_id": "sg-1"}}
    )
    assert (event["type"], event["id"]) == ("security_groups", "sg-1")
    assert reduce("security_group_rule.delete.end", {"security_group_rule_id": "rule"}) is None


def test_glance_image_without_context():
    body = message("image.update", {"id": "i-1", "owner": PROJECT, "name": INJECTION})
    del body["_context_project_id"]
    event = events.reduce_notification(wrap(body), "prod", "RegionOne")
    assert (event["type"], event["id"], event["project_id"]) == ("images", "i-1", PROJECT)
    assert reduce("image.member.create", {"image_id": "i-2", "member_id": "m"})["id"] == "i-2"


def test_octavia_load_balancer():
    event = reduce("octavia.loadbalancer.delete.end", {"loadbalancer_id": "lb-1", "project_id": PROJECT})
    assert (event["type"], event["id"]) == ("load_balancers", "lb-1")


def test_unsafe_ids_are_dropped():
    assert reduce("volume.update.end", {"volume_id": INJECTION}) is None
    assert reduce("volume.update.end", {"volume_id": "a b"}) is None
    assert reduce("volume.update.end", {"volume_id": ["x"]}) is None
    # an unsafe project or timestamp is dropped, the event kept
    event = reduce("volume.update.end", {"volume_id": "v", "tenant_id": "{{ x }}"}, timestamp="{{ now() }}")
    assert event["id"] == "v" and event["timestamp"] is None
    assert event["project_id"] == PROJECT  # fell back to the context's


def test_not_notifications():
    assert events.reduce_notification(b"\xff\xfe", "c", "r") is None
    assert events.reduce_notification(b"not json", "c", "r") is None
    assert events.reduce_notification(b"[1, 2]", "c", "r") is None
    assert events.reduce_notification(json.dumps({"oslo.message": "{"}), "c", "r") is None
    assert events.reduce_notification(json.dumps({"event_type": "volume.x", "payload": "s"}), "c", "r") is None


def test_unwrapped_message_of_the_old_driver():
    body = json.dumps(message("volume.delete.end", {"volume_id": "v-9"}))
    assert events.reduce_notification(body, "c", "r")["id"] == "v-9"


def test_validate_event():
    good = {"cloud": "prod", "region": "RegionOne", "type": "servers", "id": SERVER, "extra": INJECTION}
    clean = events.validate_event(good)
    assert clean["id"] == SERVER and "extra" not in clean
    for bad in (
        dict(good, type="users"),
        dict(good, id=INJECTION),
        dict(good, id=None),
        dict(good, cloud="a b"),
        "servers",
    ):
        with pytest.raises(events.InvalidEvent):
            events.validate_event(bad)


def test_coalesce_per_item():
    base = {"cloud": "c", "region": "r", "type": "servers", "id": "s", "project_id": None}
    burst = [dict(base, event_type="instance.update", timestamp="2026-12-06 12:00:0%d" % (i % 10)) for i in range(300)]
    burst.append(dict(base, id="t", event_type="instance.delete.end", timestamp="2026-12-06 11:00:00"))
    burst.append(dict(base, event_type="compute.instance.create.end", timestamp="2026-12-06 11:59:00", project_id="p"))
    items = events.coalesce(burst)
    assert [item["id"] for item in items] == ["s", "t"]
    first = items[0]
    assert first["count"] == 301
    assert first["event_types"] == ["instance.update", "compute.instance.create.end"]
    assert first["timestamp"] == "2026-12-06 12:00:09"
    assert first["project_id"] == "p"
