# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenStack notifications -> the events the CMDB applies (pure functions, no I/O).

A notification (oslo.messaging, driver ``messagingv2``) is reduced to what identifies a change::

    {"cloud": "prod", "region": "RegionOne", "type": "servers", "id": "5041dd58-...",
     "project_id": "99f5...", "event_type": "instance.update", "timestamp": "2026-12-06 12:00:00.1"}

Nothing else of the payload (names, metadata, descriptions) is kept: event data is untrusted
and reaches ansible-core as extra vars, which it templates. The CMDB module re-reads each item by
id through the API and stores what the API says, as data. Every kept value is checked against a
narrow character set (ids, project ids, event types, timestamps); a notification whose id does
not pass is dropped (``reduce_notification`` returns no event for it).

Used by the event source plugin ``cmdb.openstack.notifications`` (extensions/eda) and by the
``cmdb_apply_event`` module (``validate_events``, ``coalesce``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

#: What a consumer binds to by default: (exchange, routing key) per the services' defaults.
#: Nova sends versioned and legacy notifications on its own exchange; Cinder uses the default
#: "openstack" exchange; Neutron, Glance and Octavia use their own.
DEFAULT_BINDINGS = (
    ("nova", "versioned_notifications.info"),
    ("nova", "notifications.info"),
    ("openstack", "notifications.info"),
    ("neutron", "notifications.info"),
    ("glance", "notifications.info"),
    ("octavia", "notifications.info"),
)

#: The keys of a reduced event (the only ones a rulebook or the module ever sees).
EVENT_KEYS = ("cloud", "region", "type", "id", "project_id", "event_type", "timestamp")

_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,255}$")
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")
_TIMESTAMP = re.compile(r"^[0-9T:.+ Z-]{1,64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,255}$")

#: Neutron: event type prefix -> (catalog type, payload key of the resource)
_NEUTRON = (
    ("network.", "networks", "network"),
    ("subnet.", "subnets", "subnet"),
    ("port.", "ports", "port"),
    ("router.interface.", "routers", "router_interface"),
    ("router.", "routers", "router"),
    ("floatingip.", "floating_ips", "floatingip"),
    ("security_group_rule.", "security_groups", "security_group_rule"),
    ("security_group.", "security_groups", "security_group"),
)

#: Catalog types an event may name (the module refuses any other).
EVENT_TYPES = (
    "servers",
    "volumes",
    "volume_snapshots",
    "images",
    "flavors",
    "networks",
    "subnets",
    "ports",
    "routers",
    "floating_ips",
    "security_groups",
    "load_balancers",
)


class InvalidEvent(ValueError):
    """An event (as given to the module) that is not a well-formed reduced event."""


def _dict(value):
    return value if isinstance(value, dict) else {}


def _clean(value, pattern):
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value if pattern.match(value) else None


def unwrap(body):
    """The oslo message dict of an AMQP body (bytes, str or dict); None when it is not one.

    ``messagingv2`` wraps the message: ``{"oslo.version": "2.0", "oslo.message": "<json>"}``;
    the older ``messaging`` driver sends the message itself.
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict):
        return None
    if "oslo.message" in body:
        inner = body.get("oslo.message")
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                return None
        return inner if isinstance(inner, dict) else None
    return body


def _nova_versioned(event_type, payload):
    data = _dict(payload.get("nova_object.data"))
    if event_type.startswith("instance."):
        return "servers", data.get("uuid"), data.get("tenant_id")
    if event_type.startswith("flavor."):
        return "flavors", data.get("flavorid"), None
    return None


def _neutron(event_type, payload):
    for prefix, rtype, key in _NEUTRON:
        if not event_type.startswith(prefix):
            continue
        body = _dict(payload.get(key))
        if key == "security_group_rule":
            # a rule changes its group; a deleted rule's payload only names the rule: dropped
            return rtype, body.get("security_group_id"), body.get("project_id") or body.get("tenant_id")
        rid = body.get("id") or payload.get("%s_id" % key)
        return rtype, rid, body.get("project_id") or body.get("tenant_id")
    return None


def _locate(event_type, payload):
    """``(type, id, project_id)`` of a notification, or None when it names no catalog item."""
    if "nova_object.data" in payload:
        return _nova_versioned(event_type, payload)
    if event_type.startswith("compute.instance."):
        return "servers", payload.get("instance_id"), payload.get("tenant_id")
    if event_type.startswith("volume."):
        return "volumes", payload.get("volume_id"), payload.get("tenant_id")
    if event_type.startswith("snapshot."):
        return "volume_snapshots", payload.get("snapshot_id"), payload.get("tenant_id")
    if event_type.startswith("image.member."):
        return "images", payload.get("image_id"), None
    if event_type.startswith("image."):
        return "images", payload.get("id") or payload.get("image_id"), payload.get("owner")
    if event_type.startswith("octavia.loadbalancer."):
        return "load_balancers", payload.get("loadbalancer_id") or payload.get("id"), payload.get("project_id")
    return _neutron(event_type, payload)


def reduce_notification(body, cloud, region):
    """One AMQP body -> a reduced event (dict with ``EVENT_KEYS``), or None.

    None for what is not a notification, names no catalog item (scheduler, keypair and service
    events, Neutron's ``*.create.start``, a deleted security group rule...) or carries an id that
    is not a plain identifier.
    """
    message = unwrap(body)
    if message is None:
        return None
    event_type = _clean(message.get("event_type"), _EVENT_TYPE)
    payload = message.get("payload")
    if event_type is None or not isinstance(payload, dict):
        return None
    found = _locate(event_type, payload)
    if not found:
        return None
    rtype, rid, project = found
    rid = _clean(rid, _ID)
    if rid is None:
        return None
    project = _clean(project, _ID) or _clean(message.get("_context_project_id"), _ID)
    return {
        "cloud": cloud,
        "region": region,
        "type": rtype,
        "id": rid,
        "project_id": project,
        "event_type": event_type,
        "timestamp": _clean(message.get("timestamp"), _TIMESTAMP),
    }


def validate_event(event):
    """A reduced event as the module receives it -> a clean copy; raises InvalidEvent."""
    if not isinstance(event, dict):
        raise InvalidEvent("an event must be a dict, got %s" % type(event).__name__)
    out = {}
    for key in ("cloud", "region"):
        value = event.get(key)
        if value is not None and _clean(value, _NAME) is None:
            raise InvalidEvent("event %s: not a plain name" % key)
        out[key] = value
    if event.get("type") not in EVENT_TYPES:
        raise InvalidEvent("event type: one of %s expected" % ", ".join(EVENT_TYPES))
    out["type"] = event["type"]
    out["id"] = _clean(event.get("id"), _ID)
    if out["id"] is None:
        raise InvalidEvent("event id: missing or not a plain identifier")
    out["project_id"] = _clean(event.get("project_id"), _ID)
    out["event_type"] = _clean(event.get("event_type"), _EVENT_TYPE)
    out["timestamp"] = _clean(event.get("timestamp"), _TIMESTAMP)
    return out


def coalesce(events):
    """Events -> one entry per item ``(cloud, region, type, id)``, in first-seen order.

    Each entry keeps the count and the event types of what it stands for, and the newest
    timestamp. The item's state is read back from the API anyway: how many events named it and
    in which order they came does not change what is written.
    """
    items = {}
    for event in events:
        key = (event.get("cloud"), event.get("region"), event["type"], event["id"])
        entry = items.get(key)
        if entry is None:
            entry = items[key] = dict(event, count=0, event_types=[])
        entry["count"] += 1
        if event.get("event_type") and event["event_type"] not in entry["event_types"]:
            entry["event_types"].append(event["event_type"])
        if event.get("timestamp") and (entry.get("timestamp") or "") < event["timestamp"]:
            entry["timestamp"] = event["timestamp"]
        if event.get("project_id") and not entry.get("project_id"):
            entry["project_id"] = event["project_id"]
    return list(items.values())
