"""The simulator's data store: one ``RegionStore`` per cloud and region.

Items are kept exactly as the real API returns them in its listing for an admin at the newest
microversion, minus ``links`` (which depend on the URL the client used and are added when
rendering). Relations between items (a server's ``addresses`` and attached volumes, a network's
``subnets``, a load balancer's ``listeners``...) are stored denormalized, as the APIs return them:
the generator and the API handlers keep them consistent; direct ``store`` calls change only the
item they name.

Every mutation bumps the type's version, which drops the cached listings and pre-serialized pages
of that type (see ``api.py``).
"""

from __future__ import annotations

import copy
import threading
from collections import namedtuple

from . import util

TypeSpec = namedtuple(
    "TypeSpec",
    "name service collection singular created updated project sort_desc sort_by_id time_style",
)

# name -> how the real service keys, orders and stamps it.
_SPECS = (
    TypeSpec("servers", "compute", "servers", "server", "created", "updated", "tenant_id", True, False, util.FMT_Z),
    TypeSpec("flavors", "compute", "flavors", "flavor", None, None, None, False, True, util.FMT_Z),
    TypeSpec("images", "image", "images", "image", "created_at", "updated_at", "owner", True, False, util.FMT_Z),
    TypeSpec(
        "volumes",
        "block-storage",
        "volumes",
        "volume",
        "created_at",
        "updated_at",
        "os-vol-tenant-attr:tenant_id",
        True,
        False,
        util.FMT_MICRO,
    ),
    TypeSpec(
        "volume_snapshots",
        "block-storage",
        "snapshots",
        "snapshot",
        "created_at",
        "updated_at",
        "os-extended-snapshot-attributes:project_id",
        True,
        False,
        util.FMT_MICRO,
    ),
    TypeSpec(
        "networks", "network", "networks", "network", "created_at", "updated_at", "project_id", False, True, util.FMT_Z
    ),
    TypeSpec(
        "subnets", "network", "subnets", "subnet", "created_at", "updated_at", "project_id", False, True, util.FMT_Z
    ),
    TypeSpec("ports", "network", "ports", "port", "created_at", "updated_at", "project_id", False, True, util.FMT_Z),
    TypeSpec(
        "routers", "network", "routers", "router", "created_at", "updated_at", "project_id", False, True, util.FMT_Z
    ),
    TypeSpec(
        "floating_ips",
        "network",
        "floatingips",
        "floatingip",
        "created_at",
        "updated_at",
        "project_id",
        False,
        True,
        util.FMT_Z,
    ),
    TypeSpec(
        "security_groups",
        "network",
        "security_groups",
        "security_group",
        "created_at",
        "updated_at",
        "project_id",
        False,
        True,
        util.FMT_Z,
    ),
    TypeSpec(
        "security_group_rules",
        "network",
        "security_group_rules",
        "security_group_rule",
        "created_at",
        "updated_at",
        "project_id",
        False,
        True,
        util.FMT_Z,
    ),
    TypeSpec(
        "load_balancers",
        "load-balancer",
        "loadbalancers",
        "loadbalancer",
        "created_at",
        "updated_at",
        "project_id",
        False,
        False,
        util.FMT_PLAIN,
    ),
    TypeSpec(
        "listeners",
        "load-balancer",
        "listeners",
        "listener",
        "created_at",
        "updated_at",
        "project_id",
        False,
        False,
        util.FMT_PLAIN,
    ),
    TypeSpec(
        "pools",
        "load-balancer",
        "pools",
        "pool",
        "created_at",
        "updated_at",
        "project_id",
        False,
        False,
        util.FMT_PLAIN,
    ),
    TypeSpec(
        "members",
        "load-balancer",
        "members",
        "member",
        "created_at",
        "updated_at",
        "project_id",
        False,
        False,
        util.FMT_PLAIN,
    ),
)

SPECS = {spec.name: spec for spec in _SPECS}
TYPE_NAMES = tuple(SPECS)

# Friendly aliases accepted by the store (catalog singular names, API collection keys).
ALIASES = {}
for _spec in _SPECS:
    ALIASES[_spec.name] = _spec.name
    ALIASES[_spec.collection] = _spec.name
    ALIASES[_spec.singular] = _spec.name
ALIASES.update(
    {
        "server": "servers",
        "volume_snapshot": "volume_snapshots",
        "snapshots": "volume_snapshots",
        "floating_ip": "floating_ips",
        "load_balancer": "load_balancers",
        "loadbalancers": "load_balancers",
        "security_group": "security_groups",
        "security_group_rule": "security_group_rules",
        "security-groups": "security_groups",
        "security-group-rules": "security_group_rules",
    }
)


def type_name(name):
    try:
        return ALIASES[name]
    except KeyError:
        raise KeyError("unknown simulator type %r; known types: %s" % (name, ", ".join(TYPE_NAMES))) from None


class StoreError(Exception):
    pass


class TypeTable:
    """Items of one type in one region, with the caches derived from them."""

    def __init__(self, spec):
        self.spec = spec
        self.items = {}
        self.deleted = {}  # servers only: soft-deleted items (Nova changes-since shows them)
        self.version = 0
        self._order = None
        self.cache = {}  # any derived data (listings, pre-serialized pages); cleared on mutation
        self.item_cache = {}  # (id, view) -> bytes; entries dropped per item on mutation

    def sort_key(self, item):
        spec = self.spec
        if spec.sort_by_id:
            return item["id"]
        return (item.get(spec.created) or "", item["id"])

    def ordered(self):
        order = self._order
        if order is None:
            order = sorted(self.items.values(), key=self.sort_key, reverse=self.spec.sort_desc)
            self._order = order
        return order

    def ordered_with_deleted(self):
        key = "_with_deleted"
        cached = self.cache.get(key)
        if cached is None:
            allitems = list(self.items.values()) + list(self.deleted.values())
            cached = sorted(allitems, key=self.sort_key, reverse=self.spec.sort_desc)
            self.cache[key] = cached
        return cached

    def touch(self, item_id=None, reorder=False):
        self.version += 1
        self.cache = {}
        if reorder:
            self._order = None
        if item_id is None:
            self.item_cache = {}
        else:
            for key in [k for k in self.item_cache if k[0] == item_id]:
                del self.item_cache[key]


class RegionStore:
    """All data of one region of one cloud. Thread-safe (one lock per region)."""

    def __init__(self, cloud_name, region):
        self.cloud_name = cloud_name
        self.region = region
        self.lock = threading.RLock()
        self.tables = {name: TypeTable(spec) for name, spec in SPECS.items()}

    # -- raw access used by the API handlers (no copies; callers hold ``lock`` when mutating) --
    def table(self, name):
        return self.tables[type_name(name)]

    def put(self, name, item, stamp=False):
        table = self.table(name)
        spec = table.spec
        if "id" not in item or not item["id"]:
            item["id"] = util.new_uuid()
        if stamp and spec.created:
            ts = util.fmt(util.now(), spec.time_style)
            item.setdefault(spec.created, ts)
            item.setdefault(spec.updated, ts)
        with self.lock:
            existed = item["id"] in table.items
            table.items[item["id"]] = item
            table.deleted.pop(item["id"], None)
            table.touch(item["id"], reorder=True)
        return item, existed

    def bulk_load(self, name, items):
        table = self.table(name)
        with self.lock:
            for item in items:
                table.items[item["id"]] = item
            table.touch(reorder=True)

    # -- the public store API (``cloud.store``): copies in, copies out --
    def list(self, name, include_deleted=False):
        table = self.table(name)
        with self.lock:
            items = table.ordered_with_deleted() if include_deleted else table.ordered()
            return copy.deepcopy(list(items))

    def ids(self, name):
        with self.lock:
            return [item["id"] for item in self.table(name).ordered()]

    def count(self, name):
        return len(self.table(name).items)

    def get(self, name, item_id, include_deleted=False):
        table = self.table(name)
        with self.lock:
            item = table.items.get(item_id)
            if item is None and include_deleted:
                item = table.deleted.get(item_id)
            if item is None:
                raise KeyError("no %s with id %s in %s/%s" % (name, item_id, self.cloud_name, self.region))
            return copy.deepcopy(item)

    def find(self, name, **match):
        """Items whose keys equal every given value (``find("ports", device_id=server_id)``)."""
        with self.lock:
            return [
                copy.deepcopy(item)
                for item in self.table(name).ordered()
                if all(item.get(k) == v for k, v in match.items())
            ]

    def create(self, name, item):
        """Insert an item (an ``id`` and timestamps are added when missing); returns a copy."""
        item = copy.deepcopy(item)
        self.put(name, item, stamp=True)
        return copy.deepcopy(item)

    def update(self, name, item_id, changes, touch_updated=True):
        """Apply ``changes`` (a dict of keys) to one item; stamps its updated time; returns a copy."""
        table = self.table(name)
        spec = table.spec
        with self.lock:
            item = table.items.get(item_id)
            if item is None:
                raise KeyError("no %s with id %s in %s/%s" % (name, item_id, self.cloud_name, self.region))
            item.update(copy.deepcopy(changes))
            if touch_updated and spec.updated and spec.updated not in changes:
                item[spec.updated] = util.fmt(util.now(), spec.time_style)
            if "revision_number" in item and "revision_number" not in changes:
                item["revision_number"] += 1
            reorder = spec.created in changes if spec.created else False
            table.touch(item_id, reorder=reorder)
            return copy.deepcopy(item)

    def delete(self, name, item_id):
        """Remove an item. Servers are soft-deleted (status DELETED) as Nova does: they still show in
        ``changes-since`` listings. Returns the removed item."""
        table = self.table(name)
        with self.lock:
            item = table.items.pop(item_id, None)
            if item is None:
                raise KeyError("no %s with id %s in %s/%s" % (name, item_id, self.cloud_name, self.region))
            if table.spec.name == "servers":
                stamp = util.now()
                item.update(
                    {
                        "status": "DELETED",
                        "OS-EXT-STS:vm_state": "deleted",
                        "OS-EXT-STS:task_state": None,
                        "OS-EXT-STS:power_state": 0,
                        "OS-SRV-USG:terminated_at": util.fmt(stamp, util.FMT_MICRO),
                        "updated": util.fmt(stamp, util.FMT_Z),
                        "addresses": {},
                        "os-extended-volumes:volumes_attached": [],
                    }
                )
                table.deleted[item_id] = item
            table.touch(item_id, reorder=True)
            return copy.deepcopy(item)

    def counts(self):
        return {name: len(table.items) for name, table in self.tables.items()}


class CloudStore:
    """``cloud.store``: the region stores of one cloud; ``region=None`` means the first region."""

    def __init__(self, cloud_name, regions):
        self.cloud_name = cloud_name
        self.regions = tuple(regions)
        self.by_region = {region: RegionStore(cloud_name, region) for region in self.regions}

    def region(self, region=None):
        if region is None:
            return self.by_region[self.regions[0]]
        try:
            return self.by_region[region]
        except KeyError:
            raise KeyError(
                "cloud %s has no region %r (regions: %s)" % (self.cloud_name, region, self.regions)
            ) from None

    def __getitem__(self, region):
        return self.region(region)

    def list(self, name, region=None, include_deleted=False):
        return self.region(region).list(name, include_deleted=include_deleted)

    def ids(self, name, region=None):
        return self.region(region).ids(name)

    def count(self, name, region=None):
        return self.region(region).count(name)

    def get(self, name, item_id, region=None, include_deleted=False):
        return self.region(region).get(name, item_id, include_deleted=include_deleted)

    def find(self, name, region=None, **match):
        return self.region(region).find(name, **match)

    def create(self, name, item, region=None):
        return self.region(region).create(name, item)

    def update(self, name, item_id, changes, region=None):
        return self.region(region).update(name, item_id, changes)

    def delete(self, name, item_id, region=None):
        return self.region(region).delete(name, item_id)

    def counts(self, region=None):
        return self.region(region).counts()
