# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired against actual, one rule for every kind netbox_sync writes (VMs, interfaces, IP addresses, disks).

``reconcile`` turns the wanted objects of a kind (keyed by OpenStack id) and the objects NetBox has (same keys,
normalized by ``normalize_actual``) into a ``Plan``: the creates, the updates of only the fields that differ (as
NetBox returns them: nested references as ids, choices as values, addresses and MACs canonical), and the ids of
the objects that exist. ``stale`` finds the objects NetBox has that are not wanted any more. The runner writes the
plans, in an order that keeps references valid (VMs, then deletions, interfaces, fixed IPs, floating IPs, disks).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.cmdb.openstack.plugins.module_utils.netbox.model import (
    DISK,
    IFACE,
    IP,
    VM,
    choice_value,
    norm_mac,
    normalize_address,
    parse_dt,
    ref_id,
    to_iso,
)


def norm_cf(value):
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
        parsed = parse_dt(value)
        return to_iso(parsed) if parsed else value
    return value


def compare(desired, actual, fields):
    """``{field: (old, new)}`` for the fields where ``actual`` (normalized) differs from ``desired``."""
    changes = {}
    for field in fields:
        if field == "custom_fields":
            have = actual.get("custom_fields") or {}
            for key, value in desired.get("custom_fields", {}).items():
                if norm_cf(have.get(key)) != norm_cf(value):
                    changes["custom_fields"] = (
                        dict((k, have.get(k)) for k in desired["custom_fields"]),
                        desired["custom_fields"],
                    )
                    break
            continue
        old, new = actual.get(field), desired.get(field)
        if field == "vcpus":
            old = float(old) if old is not None else None
            new = float(new) if new is not None else None
        elif field == "mac_address":
            old, new = norm_mac(old), norm_mac(new)
        elif field == "address":
            old, new = normalize_address(old), normalize_address(new)
        elif field == "description":
            old, new = old or "", new or ""
        if old != new:
            changes[field] = (old, new)
    return changes


def normalize_actual(obj):
    """A NetBox API object with nested references reduced to ids and choices to values."""
    out = dict(obj)
    for key in (
        "cluster",
        "tenant",
        "platform",
        "vrf",
        "virtual_machine",
        "nat_inside",
        "primary_ip4",
        "primary_ip6",
        "type",
    ):
        if key in out:
            out[key] = ref_id(out[key])
    if "status" in out:
        out["status"] = choice_value(out["status"])
    if isinstance(out.get("tags"), list):
        out["tags"] = [ref_id(t) for t in out["tags"]]
    return out


VM_FIELDS = ("name", "status", "cluster", "tenant", "platform", "vcpus", "memory", "description", "custom_fields")
IFACE_FIELDS = ("virtual_machine", "name", "enabled", "mac_address", "description", "custom_fields")
IP_FIELDS = (
    "address",
    "vrf",
    "tenant",
    "status",
    "assigned_object_type",
    "assigned_object_id",
    "nat_inside",
    "description",
    "custom_fields",
)
DISK_FIELDS = ("virtual_machine", "name", "size", "description", "custom_fields")
#: ``fields=`` of the reads: what the comparisons use. NetBox then skips everything else, in particular a VM's
#: rendered config context (an aggregation per VM) and the related-object counts.
READ_FIELDS = {
    VM: ",".join(("id", "tags", "primary_ip4", "primary_ip6") + VM_FIELDS),
    IFACE: ",".join(("id",) + IFACE_FIELDS),
    IP: ",".join(("id", "assigned_object") + IP_FIELDS),
    DISK: ",".join(("id",) + DISK_FIELDS),
}


class Plan:
    """The writes of one kind: ``creates`` (payloads) with ``create_labels``, ``updates`` (``{"id", field: new}``
    with only the fields that differ) with ``notes`` (``(key, label, {field: (old, new)})``), and ``ids``
    (``{key: NetBox id}`` of the objects that exist; the runner adds the created ones).
    """

    def __init__(self):
        self.creates = []
        self.create_labels = []
        self.updates = []
        self.notes = []
        self.ids = {}


def reconcile(wanted, actual, fields, plan=None, extra=None):
    """Compare ``wanted`` (``[(key, payload, label)]``) with ``actual`` (``{key: normalized object}``) on ``fields``.

    A wanted object NetBox does not have is created with its whole payload (``tags`` included); one it has is
    updated with the fields that differ. ``extra(payload, have)`` may add changes of its own (``{field: (old,
    new)}``, the new value set in ``payload``): the VMs' server tags, where tags the collection does not manage stay.
    """
    plan = plan if plan is not None else Plan()
    for key, payload, label in wanted:
        have = actual.get(key)
        if have is None:
            plan.creates.append(payload)
            plan.create_labels.append(label)
            continue
        plan.ids[key] = have["id"]
        changes = compare(payload, have, fields)
        if extra is not None:
            changes.update(extra(payload, have))
        if changes:
            plan.updates.append(dict([("id", have["id"])] + [(f, payload[f]) for f in changes]))
            plan.notes.append((key, label, changes))
    return plan


def stale(actual, wanted, owned, label_field):
    """``(ids, labels)`` of the objects in ``actual`` whose key is not in ``wanted`` and that ``owned(obj)`` says
    this batch may delete (children of the batch's VMs), in key order."""
    doomed = [obj for key, obj in sorted(actual.items(), key=lambda kv: str(kv[0])) if key not in wanted and owned(obj)]
    return [obj["id"] for obj in doomed], [obj.get(label_field) for obj in doomed]
