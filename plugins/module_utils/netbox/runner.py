# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netbox_sync run: the shared objects, then every cluster, batch by batch, incrementally.

What is written (every object carries the tag ``cmdb-openstack`` and the custom fields
``openstack_id`` / ``openstack_cloud``; only objects with that tag are ever changed or deleted):

- cluster type ``OpenStack`` (reused when it exists), one cluster per cloud and region;
- one tenant and one VRF (``enforce_unique`` off: tenant networks overlap) per cloud and project;
- one virtual machine per server: status from the server status, vCPUs and memory from the flavor
  embedded in the server, platform from the image name (platforms are shared by name);
- VM interfaces from the server's ports (MAC, network name), fixed IPs on them (prefix length
  from the subnet), floating IPs with ``nat_inside`` pointing at the fixed IP, primary IPv4/IPv6;
- virtual disks: the flavor's root and ephemeral disks and every attached volume.

Incremental: the CMDB change log (``changes.id``) is the clock. Each cluster keeps the last change
id it applied in its custom field ``openstack_sync_state`` (JSON), so the watermark lives and dies
with the NetBox data it describes (a NetBox restored from a backup is re-synced from there). A run
maps the changes after the watermark to the servers they touch, reads those servers' objects from
NetBox, and writes only the difference, in bulk requests, one batch of servers at a time; the
watermark advances after every committed batch, so an interrupted first load resumes. A run with
no new changes reads nothing but the clusters and writes nothing.

Deletions follow the CMDB's tombstones: a deleted server's VM gets ``deleted_status``
(``decommissioning`` by default) and the custom field ``openstack_deleted_at``; it is deleted, with
its addresses, ``retention`` days after the deletion.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import time

from ansible_collections.cmdb.openstack.plugins.module_utils.clock import utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.netbox_view import NetBoxView
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox.client import (
    DEFAULT_PARALLEL_WRITES,
    INTS_PER_GET,
    WRITE_GROUPS,
    NetBox,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox.desired import build_desired, os_tag_name
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox.model import (
    CF_CLOUD,
    CF_DELETED_AT,
    CF_ID,
    CF_REGION,
    CF_STATE,
    CLUSTER,
    CLUSTER_TYPE,
    CLUSTER_TYPE_NAME,
    CLUSTER_TYPE_SLUG,
    COUNT_KEYS,
    CUSTOM_FIELD,
    CUSTOM_FIELDS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_RETENTION_DAYS,
    DELETED_STATUSES,
    DISK,
    IFACE,
    IP,
    KIND_NAMES,
    MAX_DIFF_LINES,
    OS_TAG_DESCRIPTION,
    OS_TAG_SLUG_PREFIX,
    PLATFORM,
    TAG,
    TAG_NAME,
    TAG_SLUG,
    TENANT,
    VM,
    VRF,
    NetBoxError,
    choice_value,
    chunks,
    clean_text,
    parse_dt,
    ref_id,
    slugify,
    to_iso,
)
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox.reconcile import (
    DISK_FIELDS,
    IFACE_FIELDS,
    IP_FIELDS,
    READ_FIELDS,
    VM_FIELDS,
    norm_cf,
    normalize_actual,
    reconcile,
    stale,
)

#: ``fields=`` of the tag reads (every read names its fields: ``NetBox.list``)
TAG_FIELDS = "id,name,slug,description"


class Syncer:
    """One netbox_sync run: ensure the shared objects, then every cluster, batch by batch."""

    def __init__(
        self,
        netbox,
        view,
        deleted_status="decommissioning",
        retention_days=DEFAULT_RETENTION_DAYS,
        batch_size=DEFAULT_BATCH_SIZE,
        full=False,
        max_batches=0,
        check_mode=False,
        diff=False,
        now=None,
    ):
        self.nb = netbox
        self.view = view
        self.deleted_status = deleted_status
        self.retention_days = retention_days
        self.batch_size = batch_size
        self.full = full
        self.max_batches = max_batches or 0
        self.check_mode = check_mode
        self.want_diff = diff
        self.now = now or utcnow()
        self.cutoff = self.now - datetime.timedelta(days=retention_days)
        self.counts = dict((key, {"created": 0, "updated": 0, "deleted": 0}) for key in COUNT_KEYS.values())
        self.decommissioned = 0
        self.diff_lines = []
        self.diff_truncated = 0
        self.batches = 0
        self.stopped_early = False
        self.clusters_report = []
        self._fake = 0
        self.tag_id = None
        self.cluster_type_id = None
        self.tenants = {}  # (cloud, project) -> id
        self.vrfs = {}
        self.platforms = {}  # lower name -> id
        self.os_tags = None  # NetBox name -> tag, for the server tags this collection manages
        self.warnings = []
        self._loaded_clouds = set()
        self.fresh = False

    # -- reads of managed objects (none exist yet when check mode only pretended to create the tag) ------
    def _list(self, path, **filters):
        return [] if self.fresh else self.nb.list(path, **filters)

    def _list_by(self, path, key, values, **filters):
        return [] if self.fresh else self.nb.list_by(path, key, values, **filters)

    def _count(self, path, **filters):
        return 0 if self.fresh else self.nb.count(path, **filters)

    # -- bookkeeping ------------------------------------------------------------------------------
    def _fake_id(self):
        self._fake -= 1
        return self._fake

    def _note(self, path, action, label, detail=None, count=1):
        self.counts[COUNT_KEYS[path]][action] += count
        if not self.want_diff:
            return
        if len(self.diff_lines) >= MAX_DIFF_LINES:
            self.diff_truncated += 1
            return
        sign = {"created": "+", "updated": "~", "deleted": "-"}[action]
        line = "%s %s %s" % (sign, KIND_NAMES[path], label)
        if detail:
            line += ": " + detail
        self.diff_lines.append(line)

    @staticmethod
    def _describe(changes):
        parts = []
        for field, (old, new) in sorted(changes.items()):
            if field == "custom_fields":
                old = dict((k, v) for k, v in (old or {}).items() if norm_cf(v) != norm_cf((new or {}).get(k)))
                new = dict((k, v) for k, v in (new or {}).items() if k in old)
            parts.append("%s %s -> %s" % (field, json.dumps(old, default=str), json.dumps(new, default=str)))
        return "; ".join(parts)

    def _create(self, path, payloads, labels):
        for label in labels:
            self._note(path, "created", label)
        if not payloads:
            return []
        if self.check_mode:
            return [dict(p, id=self._fake_id()) for p in payloads]
        return self.nb.create(path, payloads, group=WRITE_GROUPS.get(path))

    def _update(self, path, payloads, notes):
        for label, detail in notes:
            self._note(path, "updated", label, detail)
        if payloads and not self.check_mode:
            return self.nb.update(path, payloads)
        return payloads

    def _delete(self, path, ids, labels):
        for label in labels:
            self._note(path, "deleted", label)
        ids = [i for i in ids if i is not None and i > 0]
        if ids and not self.check_mode:
            self.nb.delete(path, ids)

    # -- shared objects ---------------------------------------------------------------------------
    def ensure_schema(self):
        tags = self.nb.list(TAG, slug=TAG_SLUG, fields="id")
        if tags:
            self.tag_id = tags[0]["id"]
        else:
            created = self._create(
                TAG,
                [
                    {
                        "name": TAG_NAME,
                        "slug": TAG_SLUG,
                        "color": "ed1c24",
                        "description": "Managed by cmdb.openstack netbox_sync: do not edit by hand",
                    }
                ],
                [TAG_SLUG],
            )
            self.tag_id = created[0]["id"]
            self.fresh = self.check_mode
        existing = dict(
            (cf["name"], cf)
            for cf in self.nb.list(CUSTOM_FIELD, name=[c[0] for c in CUSTOM_FIELDS], fields="id,name,type,object_types")
        )
        for name, ftype, label, types in CUSTOM_FIELDS:
            current = existing.get(name)
            if current is None:
                payload = {
                    "name": name,
                    "label": label,
                    "type": ftype,
                    "object_types": list(types),
                    "group_name": "OpenStack",
                    "description": "Set by cmdb.openstack netbox_sync",
                    "required": False,
                    "filter_logic": "exact",
                    "ui_editable": "no",
                }
                self._create(CUSTOM_FIELD, [payload], [name])
                # (check mode: reads filtered on a field NetBox does not have yet would not be filtered)
                self.fresh = self.fresh or (self.check_mode and name in (CF_ID, CF_CLOUD))
                continue
            have_type = choice_value(current.get("type"))
            if have_type != ftype:
                raise NetBoxError(
                    "the NetBox custom field %s exists with type %s; netbox_sync needs type %s: delete or rename the "
                    "existing field" % (name, have_type, ftype)
                )
            have = set(current.get("object_types") or [])
            if not set(types) <= have:
                self._update(
                    CUSTOM_FIELD,
                    [{"id": current["id"], "object_types": sorted(have | set(types))}],
                    [(name, "object types + %s" % ", ".join(sorted(set(types) - have)))],
                )
                # (check mode: reads filtered on a field NetBox does not have yet would not be filtered)
                self.fresh = self.fresh or (self.check_mode and name in (CF_ID, CF_CLOUD))
        types = self.nb.list(CLUSTER_TYPE, slug=CLUSTER_TYPE_SLUG, fields="id")
        if types:
            self.cluster_type_id = types[0]["id"]
        else:
            created = self._create(
                CLUSTER_TYPE,
                [
                    {
                        "name": CLUSTER_TYPE_NAME,
                        "slug": CLUSTER_TYPE_SLUG,
                        "tags": [self.tag_id],
                        "description": "OpenStack clouds (cmdb.openstack)",
                    }
                ],
                [CLUSTER_TYPE_NAME],
            )
            self.cluster_type_id = created[0]["id"]

    def _common(self, cloud, key):
        return {CF_ID: key, CF_CLOUD: cloud}

    def load_cloud(self, cloud):
        if cloud in self._loaded_clouds:
            return
        self._loaded_clouds.add(cloud)
        for tenant in self._list(TENANT, tag=TAG_SLUG, cf_openstack_cloud=cloud, fields="id,custom_fields"):
            pid = (tenant.get("custom_fields") or {}).get(CF_ID)
            if pid:
                self.tenants[(cloud, pid)] = tenant["id"]
        for vrf in self._list(VRF, tag=TAG_SLUG, cf_openstack_cloud=cloud, fields="id,custom_fields"):
            pid = (vrf.get("custom_fields") or {}).get(CF_ID)
            if pid:
                self.vrfs[(cloud, pid)] = vrf["id"]

    def ensure_projects(self, cloud, projects):
        self.load_cloud(cloud)
        missing = sorted(p for p in projects if p and (cloud, p) not in self.tenants)
        if missing:
            payloads = [
                {
                    "name": clean_text("%s/%s" % (cloud, p), 100),
                    "slug": slugify("%s-%s" % (cloud, p), "os-"),
                    "description": "OpenStack project %s in cloud %s" % (p, cloud),
                    "tags": [self.tag_id],
                    "custom_fields": self._common(cloud, p),
                }
                for p in missing
            ]
            for obj in self._create(TENANT, payloads, ["%s/%s" % (cloud, p) for p in missing]):
                self.tenants[(cloud, obj["custom_fields"][CF_ID])] = obj["id"]
        missing = sorted(p for p in projects if p and (cloud, p) not in self.vrfs)
        if missing:
            payloads = [
                {
                    "name": clean_text("openstack/%s/%s" % (cloud, p), 100),
                    "enforce_unique": False,
                    "tenant": self.tenants.get((cloud, p)),
                    "description": "Addresses of OpenStack project %s in cloud %s" % (p, cloud),
                    "tags": [self.tag_id],
                    "custom_fields": self._common(cloud, p),
                }
                for p in missing
            ]
            for obj in self._create(VRF, payloads, ["openstack/%s/%s" % (cloud, p) for p in missing]):
                self.vrfs[(cloud, obj["custom_fields"][CF_ID])] = obj["id"]

    def ensure_platforms(self, names):
        if not self.platforms and names:
            for platform in self.nb.list(PLATFORM, fields="id,name"):
                self.platforms[platform["name"].lower()] = platform["id"]
        missing = sorted(set(n for n in names if n.lower() not in self.platforms))
        if missing:
            payloads = [
                {"name": n, "slug": slugify(n, "os-"), "description": "OpenStack image name", "tags": [self.tag_id]}
                for n in missing
            ]
            for obj in self._create(PLATFORM, payloads, missing):
                self.platforms[obj["name"].lower()] = obj["id"]

    def load_server_tags(self):
        if self.os_tags is not None:
            return
        self.os_tags = {}
        for tag in self._list(TAG, description=OS_TAG_DESCRIPTION, fields=TAG_FIELDS):
            if str(tag.get("slug", "")).startswith(OS_TAG_SLUG_PREFIX) and tag.get("description") == OS_TAG_DESCRIPTION:
                self.os_tags[tag["name"]] = tag

    def ensure_server_tags(self, tags):
        """NetBox tags ``os:<tag>`` for these server tags; a name or slug an unmanaged tag holds is left alone."""
        self.load_server_tags()
        wanted = dict((os_tag_name(t), slugify(t, OS_TAG_SLUG_PREFIX)) for t in tags)
        missing = sorted(n for n in wanted if n not in self.os_tags)
        if not missing:
            return
        taken = set()
        for tag in self._list_by(TAG, "name", missing, fields="name,slug") + self._list_by(
            TAG, "slug", [wanted[n] for n in missing], fields="name,slug"
        ):
            taken.add(tag.get("name"))
            taken.add(tag.get("slug"))
        skipped = [n for n in missing if n in taken or wanted[n] in taken]
        if skipped:
            self.warnings.append(
                "NetBox already has tags not made by netbox_sync named like the server tags %s: not applied"
                % ", ".join(skipped[:20])
            )
        missing = [n for n in missing if n not in skipped]
        payloads = [
            {
                "name": name,
                "slug": wanted[name],
                "color": "9e9e9e",
                "description": OS_TAG_DESCRIPTION,
                "object_types": ["virtualization.virtualmachine"],
            }
            for name in missing
        ]
        for obj in self._create(TAG, payloads, missing):
            self.os_tags[obj["name"]] = obj

    def server_tag_ids(self, tags):
        found = (self.os_tags or {}).get
        return sorted(found(os_tag_name(t))["id"] for t in tags if found(os_tag_name(t)))

    def ensure_cluster(self, cloud, region):
        key = "%s/%s" % (cloud, region)
        found = self._list(CLUSTER, tag=TAG_SLUG, cf_openstack_id=key, fields="id,name,custom_fields")
        if found:
            return found[0]
        payload = {
            "name": clean_text(key, 100),
            "type": self.cluster_type_id,
            "status": "active",
            "description": "OpenStack cloud %s, region %s (cmdb.openstack)" % (cloud, region),
            "tags": [self.tag_id],
            "custom_fields": {CF_ID: key, CF_CLOUD: cloud, CF_REGION: region, CF_STATE: None},
        }
        return self._create(CLUSTER, [payload], [key])[0]

    def save_state(self, cluster, state):
        if self.check_mode or cluster["id"] < 0:
            return
        self.nb.update(CLUSTER, [{"id": cluster["id"], "custom_fields": {CF_STATE: state}}])
        cluster.setdefault("custom_fields", {})[CF_STATE] = state

    # -- clusters ---------------------------------------------------------------------------------
    def sync_cluster(self, cloud, region):
        cluster = self.ensure_cluster(cloud, region)
        state = (cluster.get("custom_fields") or {}).get(CF_STATE) or {}
        if not isinstance(state, dict):
            state = {}
        report = {"cloud": cloud, "region": region, "cluster": cluster.get("name"), "mode": "incremental"}
        self.clusters_report.append(report)
        watermark = state.get("change_id")
        resume = state.get("full") if isinstance(state.get("full"), dict) else None
        newest = self.view.max_change_id()
        if watermark is not None and watermark > newest and not resume:
            watermark = None  # another CMDB (its change log is behind this watermark): load in full
        if self.full or watermark is None or resume:
            report["mode"] = "full"
            if resume and not self.full:
                upto, cursor = resume.get("upto") or 0, resume.get("cursor")
                report["resumed_after"] = cursor
            else:
                upto, cursor = self.view.max_change_id(cloud, region), None
            ids = self.view.server_ids(cloud, region, after=cursor)
            empty = cluster["id"] < 0 or not self._count(VM, cluster_id=cluster["id"], tag=TAG_SLUG)
            for batch in chunks(ids, self.batch_size):
                if self._budget_spent():
                    report["watermark"] = watermark
                    return
                self.apply_batch(cloud, region, cluster, batch, nothing_there=empty)
                self.save_state(cluster, {"change_id": watermark, "full": {"upto": upto, "cursor": batch[-1]}})
            if cursor is None:
                self.sweep_stale(cloud, region, cluster)
            watermark = upto
            self.save_state(cluster, {"change_id": watermark})
        upto = self.view.max_change_id(cloud, region)
        for last_id, servers in self.view.change_batches(cloud, region, watermark, upto, self.batch_size):
            if self._budget_spent():
                break
            self.apply_batch(cloud, region, cluster, sorted(servers))
            watermark = last_id
            self.save_state(cluster, {"change_id": watermark})
        self.retention_sweep(cloud, region, cluster)
        report["watermark"] = watermark

    def _budget_spent(self):
        if self.max_batches and self.batches >= self.max_batches:
            self.stopped_early = True
            return True
        return False

    # -- one batch of servers -----------------------------------------------------------------------
    def _apply(self, path, plan, noted=None):
        """Write ``plan`` (creates, then updates); returns ``{key: NetBox id}`` of its objects, created ones included.

        ``noted(key)`` says which updates the diff and the counts show (all by default)."""
        for obj in self._create(path, plan.creates, plan.create_labels):
            plan.ids[obj["custom_fields"][CF_ID]] = obj["id"]
        notes = [(label, self._describe(changes)) for key, label, changes in plan.notes if noted is None or noted(key)]
        self._update(path, plan.updates, notes)
        return plan.ids

    def _read_managed(self, path, key, values, **filters):
        """``{openstack id: normalized object}`` of the managed objects of ``path`` whose ``key`` is in ``values``."""
        found = {}
        for obj in self._list_by(path, key, values, tag=TAG_SLUG, fields=READ_FIELDS[path], **filters):
            found[(obj.get("custom_fields") or {}).get(CF_ID)] = normalize_actual(obj)
        return found

    # -- one batch of servers -----------------------------------------------------------------------
    def apply_batch(self, cloud, region, cluster, server_ids, nothing_there=False):
        self.batches += 1
        desired = build_desired(self.view, cloud, region, server_ids, self.cutoff)
        ip_projects = set(ip["project"] for ips in desired.ips.values() for ip in ips)
        self.ensure_projects(cloud, desired.projects | ip_projects)
        self.ensure_platforms(list(desired.images))
        if desired.tags or not nothing_there:
            self.ensure_server_tags(desired.tags)
        managed_tags = set(t["id"] for t in self.os_tags.values()) if self.os_tags else set()
        tag_names = dict((t["id"], name) for name, t in (self.os_tags or {}).items())
        cid = cluster["id"]
        actual_vms = {}
        if not nothing_there and cid > 0:
            actual_vms = self._read_managed(VM, "cf_openstack_id", server_ids, cluster_id=cid)

        # 1. virtual machines: the live servers, then the tombstoned ones NetBox still has
        def server_tags(payload, have):
            # the server's tags changed: tags the collection does not manage stay as they are
            have_tags = have.get("tags") or []
            wanted = [t for t in payload["tags"] if t != self.tag_id]
            if sorted(t for t in have_tags if t in managed_tags) == wanted:
                return {}
            payload["tags"] = [t for t in have_tags if t not in managed_tags] + wanted
            return {
                "tags": (
                    sorted(tag_names.get(t, t) for t in have_tags if t in managed_tags),
                    sorted(tag_names.get(t, t) for t in wanted),
                )
            }

        wanted = []
        for sid, want in sorted(desired.vms.items()):
            payload = {
                "name": want["name"],
                "status": want["status"],
                "cluster": cid,
                "tenant": self.tenants.get((cloud, want["project"])),
                "platform": self.platforms.get((want["platform"] or "").lower()),
                "vcpus": want["vcpus"],
                "memory": want["memory"],
                "description": want["description"],
                "custom_fields": want["custom_fields"],
                "tags": [self.tag_id] + self.server_tag_ids(want["os_tags"]),
            }
            wanted.append((sid, payload, "%r (server %s)" % (want["name"], sid)))
        plan = reconcile(wanted, actual_vms, VM_FIELDS, extra=server_tags)
        expired, gone = [], []
        for sid, deleted_at in sorted(desired.deleted.items()):
            have = actual_vms.get(sid)
            if have is None:
                continue
            if deleted_at <= self.cutoff:
                plan.ids[sid] = have["id"]
                expired.append((sid, have))
                continue
            payload = {"status": self.deleted_status, "custom_fields": {CF_DELETED_AT: to_iso(deleted_at)}}
            gone.append((sid, payload, "%r (server %s)" % (have.get("name"), sid)))
        reconcile(gone, actual_vms, ("status", "custom_fields"), plan=plan)
        self.decommissioned += sum(
            1 for key, _label, changes in plan.notes if key in desired.deleted and "status" in changes
        )
        vm_ids = self._apply(VM, plan)

        # 2. children of the live servers (and of expired VMs, whose addresses go before them)
        live = [sid for sid in desired.vms if sid in vm_ids]
        expired_ids = [have["id"] for _sid, have in expired]
        known_vm_ids = [vm_ids[sid] for sid in live if vm_ids[sid] > 0 and sid in actual_vms] + expired_ids
        have_ifaces, have_ips, have_disks = {}, {}, {}
        if known_vm_ids:
            by_vm = dict(per_get=INTS_PER_GET)
            have_ifaces = self._read_managed(IFACE, "virtual_machine_id", known_vm_ids, **by_vm)
            have_ips = self._read_managed(IP, "virtual_machine_id", known_vm_ids, **by_vm)
            have_disks = self._read_managed(DISK, "virtual_machine_id", known_vm_ids, **by_vm)
        want_ifaces, want_ips, want_disks = {}, {}, {}
        for sid in live:
            for item in desired.interfaces.get(sid, ()):
                want_ifaces[item["key"]] = (sid, item)
            for item in desired.ips.get(sid, ()):
                want_ips[item["key"]] = (sid, item)
            for item in desired.disks.get(sid, ()):
                want_disks[item["key"]] = (sid, item)
        missing_ips = [k for k in want_ips if k not in have_ips]
        if missing_ips and not nothing_there:
            # addresses not assigned to these VMs any more (moved, or unassigned by hand): find them by id
            have_ips.update(self._read_managed(IP, "cf_openstack_id", missing_ips, cf_openstack_cloud=cloud))

        # deletions first (names and addresses become free for the creates)
        self._delete(
            IP,
            *stale(
                have_ips,
                want_ips,
                lambda o: (o.get("assigned_object") or {}).get("virtual_machine", {}).get("id") in known_vm_ids,
                "address",
            ),
        )
        for path, have, want in ((IFACE, have_ifaces, want_ifaces), (DISK, have_disks, want_disks)):
            self._delete(path, *stale(have, want, lambda o: o.get("virtual_machine") not in expired_ids, "name"))

        # 3. interfaces
        wanted = []
        for key, (sid, item) in sorted(want_ifaces.items()):
            payload = {
                "virtual_machine": vm_ids[sid],
                "name": item["name"],
                "enabled": item["enabled"],
                "mac_address": item["mac_address"],
                "description": item["description"],
                "custom_fields": item["custom_fields"],
                "tags": [self.tag_id],
            }
            wanted.append((key, payload, "%s of %r" % (item["name"], desired.vms[sid]["name"])))
        iface_ids = self._apply(IFACE, reconcile(wanted, have_ifaces, IFACE_FIELDS))

        # 4. addresses: fixed first (floating ones point at them with nat_inside)
        ip_ids = {}
        for floating in (False, True):
            wanted = []
            for key, (sid, item) in sorted(want_ips.items()):
                if item["floating"] != floating or item["interface"] not in iface_ids:
                    continue
                project = item["project"]
                payload = {
                    "address": item["address"],
                    "vrf": self.vrfs.get((cloud, project)),
                    "tenant": self.tenants.get((cloud, project)),
                    "status": "active",
                    "assigned_object_type": "virtualization.vminterface",
                    "assigned_object_id": iface_ids[item["interface"]],
                    "nat_inside": ip_ids.get(item["nat_inside"]) if item["nat_inside"] else None,
                    "description": "floating IP" if floating else "fixed IP",
                    "custom_fields": item["custom_fields"],
                    "tags": [self.tag_id],
                }
                wanted.append((key, payload, "%s on %r" % (item["address"], desired.vms[sid]["name"])))
            ip_ids.update(self._apply(IP, reconcile(wanted, have_ips, IP_FIELDS)))

        # 5. virtual disks
        wanted = []
        for key, (sid, item) in sorted(want_disks.items()):
            payload = {
                "virtual_machine": vm_ids[sid],
                "name": item["name"],
                "size": item["size"],
                "description": item["description"],
                "custom_fields": item["custom_fields"],
                "tags": [self.tag_id],
            }
            wanted.append((key, payload, "%s of %r" % (item["name"], desired.vms[sid]["name"])))
        self._apply(DISK, reconcile(wanted, have_disks, DISK_FIELDS))

        # 6. primary addresses (of the new VMs too; only the changes of existing ones are shown)
        wanted = []
        for sid in live:
            primary = {4: None, 6: None}
            ordered = sorted(desired.ips.get(sid, ()), key=lambda ip: (not ip["floating"], ip["key"]))
            for item in ordered:
                version = 6 if ":" in item["address"] else 4
                if primary[version] is None and item["key"] in ip_ids:
                    primary[version] = ip_ids[item["key"]]
            payload = {"primary_ip4": primary[4], "primary_ip6": primary[6]}
            wanted.append((sid, payload, "%r (server %s)" % (desired.vms[sid]["name"], sid)))
        have_primary = dict((sid, actual_vms.get(sid) or {"id": vm_ids[sid]}) for sid in live)
        self._apply(VM, reconcile(wanted, have_primary, ("primary_ip4", "primary_ip6")), noted=actual_vms.__contains__)

        # 7. VMs past the retention period
        if expired:
            self._delete(
                VM,
                [have["id"] for _sid, have in expired],
                [
                    "%r (server %s, deleted more than %d days ago)" % (have.get("name"), sid, self.retention_days)
                    for sid, have in expired
                ],
            )

    # -- sweeps -------------------------------------------------------------------------------------
    def retention_sweep(self, cloud, region, cluster):
        """Delete decommissioned VMs (and their addresses) whose server was deleted before the cutoff."""
        if cluster["id"] < 0:
            return
        doomed = []
        for vm in self._list(
            VM, cluster_id=cluster["id"], tag=TAG_SLUG, status=self.deleted_status, fields="id,name,custom_fields"
        ):
            deleted_at = parse_dt((vm.get("custom_fields") or {}).get(CF_DELETED_AT))
            if deleted_at is not None and deleted_at <= self.cutoff:
                doomed.append(vm)
        if not doomed:
            return
        ids = [vm["id"] for vm in doomed]
        ips = self._list_by(IP, "virtual_machine_id", ids, per_get=INTS_PER_GET, tag=TAG_SLUG, fields="id,address")
        self._delete(IP, [ip["id"] for ip in ips], [ip.get("address") for ip in ips])
        self._delete(
            VM, ids, ["%r (deleted more than %d days ago)" % (vm.get("name"), self.retention_days) for vm in doomed]
        )

    def sweep_stale(self, cloud, region, cluster):
        """After a full pass: managed VMs of the cluster whose server the CMDB does not know at all."""
        if cluster["id"] < 0:
            return
        known = set(self.view.server_ids(cloud, region))
        updates, notes = [], []
        for vm in self._list(VM, cluster_id=cluster["id"], tag=TAG_SLUG, fields="id,name,status,custom_fields"):
            sid = (vm.get("custom_fields") or {}).get(CF_ID)
            if not sid or sid in known or choice_value(vm.get("status")) == self.deleted_status:
                continue
            updates.append(
                {"id": vm["id"], "status": self.deleted_status, "custom_fields": {CF_DELETED_AT: to_iso(self.now)}}
            )
            notes.append(
                ("%r (server %s)" % (vm.get("name"), sid), "not in the CMDB any more: %s" % self.deleted_status)
            )
            self.decommissioned += 1
        self._update(VM, updates, notes)

    def sweep_shared(self):
        """Platforms and server tags the sync created that nothing uses any more.

        A managed platform (tag ``cmdb-openstack``) no VM or device uses gets ``openstack_deleted_at`` (when it
        was first seen unused) and is deleted ``retention`` days later, unless it has child platforms; one in
        use again loses the mark. A managed server tag on no object is deleted (it holds no data).
        """
        if self.fresh:
            return
        updates, notes, doomed = [], [], []
        for platform in self.nb.list(
            PLATFORM, tag=TAG_SLUG, fields="id,name,custom_fields,device_count,virtualmachine_count"
        ):
            used = (platform.get("virtualmachine_count") or 0) + (platform.get("device_count") or 0)
            since = parse_dt((platform.get("custom_fields") or {}).get(CF_DELETED_AT))
            if used:
                if since is not None:
                    updates.append({"id": platform["id"], "custom_fields": {CF_DELETED_AT: None}})
                    notes.append((platform.get("name"), "in use again"))
                continue
            if since is None:
                since = self.now
                if since > self.cutoff:
                    updates.append({"id": platform["id"], "custom_fields": {CF_DELETED_AT: to_iso(self.now)}})
                    notes.append((platform.get("name"), "no VM uses it: deleted after %d days" % self.retention_days))
            if since <= self.cutoff:
                doomed.append(platform)
        if doomed:
            parents = set(
                ref_id(child.get("parent"))
                for child in self.nb.list_by(
                    PLATFORM, "parent_id", [p["id"] for p in doomed], per_get=INTS_PER_GET, fields="id,parent"
                )
            )
            doomed = [p for p in doomed if p["id"] not in parents]
        self._update(PLATFORM, updates, notes)
        self._delete(
            PLATFORM,
            [p["id"] for p in doomed],
            ["%s (unused for more than %d days)" % (p.get("name"), self.retention_days) for p in doomed],
        )
        for platform in doomed:
            self.platforms.pop(str(platform.get("name", "")).lower(), None)
        unused = [
            tag
            for tag in self.nb.list(TAG, description=OS_TAG_DESCRIPTION, fields=TAG_FIELDS + ",tagged_items")
            if str(tag.get("slug", "")).startswith(OS_TAG_SLUG_PREFIX)
            and tag.get("description") == OS_TAG_DESCRIPTION
            and not tag.get("tagged_items")
        ]
        self._delete(TAG, [t["id"] for t in unused], [t.get("name") for t in unused])
        for tag in unused:
            (self.os_tags or {}).pop(tag.get("name"), None)

    # -- result -------------------------------------------------------------------------------------
    def changed(self):
        return any(c["created"] or c["updated"] or c["deleted"] for c in self.counts.values())


def run_netbox_sync(params, check_mode=False, diff=False, now=None, netbox=None):
    """The netbox_sync module: returns its result dict (raises CmdbError)."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader

    started = time.monotonic()
    deleted_status = params.get("deleted_status") or "decommissioning"
    if deleted_status not in DELETED_STATUSES:
        raise ConfigurationError(
            "deleted_status: %r is not valid; use one of %s" % (deleted_status, ", ".join(DELETED_STATUSES))
        )
    retention = params.get("retention")
    retention = DEFAULT_RETENTION_DAYS if retention is None else retention
    if retention < 0:
        raise ConfigurationError("retention: %r days is negative; give 0 or more days" % retention)
    batch_size = params.get("batch_size")
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if batch_size < 1 or batch_size > 5000:
        raise ConfigurationError("batch_size: %r is out of range; give 1 to 5000 servers" % batch_size)
    max_batches = params.get("max_batches") or 0
    parallel = params.get("parallel_writes")
    parallel = DEFAULT_PARALLEL_WRITES if parallel is None else parallel
    if parallel < 1 or parallel > 8:
        raise ConfigurationError("parallel_writes: %r is out of range; give 1 to 8 requests" % parallel)
    if max_batches < 0:
        raise ConfigurationError("max_batches: %r is negative; give 0 (no limit) or more" % max_batches)
    clouds = params.get("clouds") or None
    if netbox is None:
        netbox = NetBox(
            params.get("netbox_url"),
            params.get("netbox_token"),
            validate_certs=params.get("validate_certs", True),
            timeout=params.get("timeout") or 300,
            parallel=parallel,
        )
    version = netbox.check()
    store = open_reader(params.get("cmdb_url"))
    try:
        syncer = Syncer(
            netbox,
            NetBoxView(store),
            deleted_status=deleted_status,
            retention_days=retention,
            batch_size=batch_size,
            full=bool(params.get("full")),
            max_batches=max_batches,
            check_mode=check_mode,
            diff=diff,
            now=now,
        )
        syncer.ensure_schema()
        pairs = syncer.view.clusters(clouds)
        if clouds:
            unknown = sorted(set(clouds) - set(c for c, _r in pairs))
            if unknown:
                raise ConfigurationError(
                    "clouds: the CMDB has no servers of %s; run cmdb_sync for them first (it knows: %s)"
                    % (", ".join(unknown), ", ".join(sorted(set(c for c, _r in syncer.view.clusters()))) or "nothing")
                )
        for cloud, region in pairs:
            if syncer._budget_spent():
                break
            syncer.sync_cluster(cloud, region)
        if not syncer.stopped_early:
            syncer.sweep_shared()
    finally:
        store.close()
    duration = round(time.monotonic() - started, 3)
    totals = dict(
        (action, sum(c[action] for c in syncer.counts.values())) for action in ("created", "updated", "deleted")
    )
    msg = "NetBox %s%s: %d created, %d updated (%d decommissioned), %d deleted in %d cluster(s), %.1f s" % (
        netbox.url,
        " (check mode, nothing written)" if check_mode else "",
        totals["created"],
        totals["updated"],
        syncer.decommissioned,
        totals["deleted"],
        len(syncer.clusters_report),
        duration,
    )
    if syncer.stopped_early:
        msg += "; stopped after max_batches=%d, the next run resumes" % max_batches
    result = {
        "changed": syncer.changed(),
        "msg": msg,
        "netbox_url": netbox.url,
        "netbox_version": version,
        "counts": syncer.counts,
        "totals": totals,
        "decommissioned": syncer.decommissioned,
        "clusters": syncer.clusters_report,
        "batches": syncer.batches,
        "complete": not syncer.stopped_early,
        "requests": {
            "reads": netbox.reads,
            "writes": netbox.writes,
            "objects_written": netbox.written,
            "seconds": round(netbox.seconds, 3),
        },
        "duration": duration,
    }
    if syncer.warnings:
        result["warnings"] = syncer.warnings
    if diff:
        lines = list(syncer.diff_lines)
        if syncer.diff_truncated:
            lines.append("... and %d more" % syncer.diff_truncated)
        result["diff"] = {"prepared": "\n".join(lines)}
    return result
