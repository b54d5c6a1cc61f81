# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What netbox_sync writes into NetBox: object kinds, the managing tag, custom fields, mappings, pure helpers.

No I/O here. The parts of the package share these names: ``client`` (REST calls through pynetbox's public API),
``desired`` (what NetBox should hold, from the CMDB view ``cmdb/netbox_view.py``), ``reconcile`` (desired against
actual, one generic rule for every kind) and ``runner`` (the module's run: clusters, batches, watermarks, sweeps).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress
import re

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError

#: NetBox releases this code is written and tested against (4.7 added the MAC shortcut on interfaces it uses).
MIN_VERSION = (4, 7)
MAX_MAJOR = 4
TAG_SLUG = "cmdb-openstack"
TAG_NAME = "cmdb-openstack"
CLUSTER_TYPE_SLUG = "openstack"
CLUSTER_TYPE_NAME = "OpenStack"
CF_ID = "openstack_id"
CF_CLOUD = "openstack_cloud"
CF_REGION = "openstack_region"
CF_DELETED_AT = "openstack_deleted_at"
CF_STATE = "openstack_sync_state"
CF_METADATA = "openstack_metadata"
#: Server tags become NetBox tags ``os:<tag>`` with a slug ``os-tag-...`` and this description, which marks them
#: as managed (NetBox tags cannot carry tags or custom fields themselves).
OS_TAG_PREFIX = "os:"
OS_TAG_SLUG_PREFIX = "os-tag-"
OS_TAG_DESCRIPTION = "OpenStack server tag (managed by cmdb.openstack netbox_sync)"
#: CMDB types whose changes can change what NetBox shows for a server.
DELETED_STATUSES = ("decommissioning", "offline")
#: Servers per batch (one batch = a few bulk requests per object kind, then a watermark update).
DEFAULT_BATCH_SIZE = 500
DEFAULT_RETENTION_DAYS = 30
#: NetBox's page size for reads.
PAGE = 1000
MAX_DIFF_LINES = 1000

#: Nova server status -> NetBox VM status. Anything else: offline.
STATUS_MAP = {
    "ACTIVE": "active",
    "BUILD": "staged",
    "REBUILD": "staged",
    "REBOOT": "active",
    "HARD_REBOOT": "active",
    "PASSWORD": "active",
    "RESCUE": "active",
    "RESIZE": "active",
    "VERIFY_RESIZE": "active",
    "REVERT_RESIZE": "active",
    "MIGRATING": "active",
    "SHUTOFF": "offline",
    "STOPPED": "offline",
    "SHELVED": "offline",
    "SHELVED_OFFLOADED": "offline",
    "SUSPENDED": "paused",
    "PAUSED": "paused",
    "ERROR": "failed",
    "UNKNOWN": "failed",
    "DELETED": "decommissioning",
    "SOFT_DELETED": "decommissioning",
}

# NetBox object kinds: API path and content type.
VM = "virtualization/virtual-machines"
IFACE = "virtualization/interfaces"
DISK = "virtualization/virtual-disks"
IP = "ipam/ip-addresses"
VRF = "ipam/vrfs"
TENANT = "tenancy/tenants"
CLUSTER = "virtualization/clusters"
CLUSTER_TYPE = "virtualization/cluster-types"
PLATFORM = "dcim/platforms"
TAG = "extras/tags"
CUSTOM_FIELD = "extras/custom-fields"
KIND_NAMES = {
    VM: "virtual machine",
    IFACE: "VM interface",
    DISK: "virtual disk",
    IP: "IP address",
    VRF: "VRF",
    TENANT: "tenant",
    CLUSTER: "cluster",
    CLUSTER_TYPE: "cluster type",
    PLATFORM: "platform",
    TAG: "tag",
    CUSTOM_FIELD: "custom field",
}
COUNT_KEYS = {
    VM: "virtual_machines",
    IFACE: "interfaces",
    DISK: "virtual_disks",
    IP: "ip_addresses",
    VRF: "vrfs",
    TENANT: "tenants",
    CLUSTER: "clusters",
    CLUSTER_TYPE: "cluster_types",
    PLATFORM: "platforms",
    TAG: "tags",
    CUSTOM_FIELD: "custom_fields",
}
MANAGED_TYPES = (
    "virtualization.cluster",
    "tenancy.tenant",
    "ipam.vrf",
    "virtualization.virtualmachine",
    "virtualization.vminterface",
    "ipam.ipaddress",
    "virtualization.virtualdisk",
)
CUSTOM_FIELDS = (
    # name, type, label, object types
    (CF_ID, "text", "OpenStack ID", MANAGED_TYPES),
    (CF_CLOUD, "text", "OpenStack cloud", MANAGED_TYPES),
    (CF_REGION, "text", "OpenStack region", ("virtualization.cluster", "virtualization.virtualmachine")),
    # on a platform: the time its last VM went (a platform the sync created is deleted ``retention`` days later)
    (CF_DELETED_AT, "datetime", "Deleted in OpenStack at", ("virtualization.virtualmachine", "dcim.platform")),
    (CF_STATE, "json", "cmdb.openstack sync state", ("virtualization.cluster",)),
    (CF_METADATA, "json", "OpenStack metadata", ("virtualization.virtualmachine",)),
)


class NetBoxError(CmdbError):
    """NetBox could not be reached, refused the token or a permission, or rejected a write."""


# ------------------------------------------------------------------------------------------------ helpers
def clean_text(value, limit=None):
    if value is None:
        return ""
    value = str(value).replace("\x00", "")
    return value[:limit] if limit else value


def slugify(text, prefix="", limit=100):
    """A NetBox slug for ``text`` that stays unique: readable part plus a short hash of the full text."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    readable = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    room = limit - len(prefix) - len(digest) - 1
    readable = readable[:room].strip("-")
    return "%s%s-%s" % (prefix, readable, digest) if readable else "%s%s" % (prefix, digest)


def parse_version(text):
    numbers = re.findall(r"\d+", str(text or ""))[:3]
    return tuple(int(n) for n in numbers) if numbers else None


def check_version(version_text, url):
    version = parse_version(version_text)
    if not version or len(version) < 2:
        raise NetBoxError(
            "NetBox at %s did not report its version (got %r); is this a NetBox API?" % (url, version_text)
        )
    if version[:2] < MIN_VERSION or version[0] > MAX_MAJOR:
        raise NetBoxError(
            "NetBox %s at %s is not supported: netbox_sync needs NetBox %d.%d or newer within %d.x; "
            "upgrade NetBox (or use a cmdb.openstack release made for it)"
            % (version_text, url, MIN_VERSION[0], MIN_VERSION[1], MAX_MAJOR)
        )
    return version


def ref_id(value):
    """The id of a nested object as the API returns it (dict with id, an int, or None)."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def choice_value(value):
    return value.get("value") if isinstance(value, dict) else value


def normalize_address(text):
    """``10.0.0.5/24`` in canonical form (IPv6 compressed); None when it is not an address."""
    try:
        return str(ipaddress.ip_interface(str(text).strip()))
    except ValueError:
        return None


def host_prefix(address, cidr=None):
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return None
    prefix = ip.max_prefixlen
    if cidr:
        try:
            network = ipaddress.ip_network(str(cidr), strict=False)
            if ip in network:
                prefix = network.prefixlen
        except ValueError:
            pass
    return "%s/%d" % (ip, prefix)


def norm_mac(value):
    return str(value).strip().lower() if value else None


def to_iso(dt):
    if dt is None:
        return None
    if isinstance(dt, str):
        return dt
    return dt.replace(microsecond=0).isoformat() + "Z"


def parse_dt(value):
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(datetime.timezone.utc)
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def chunks(items, size):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def map_status(server_status):
    return STATUS_MAP.get(str(server_status or "").upper(), "offline")
