# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of the ``cmdb.openstack.inventory`` plugin: servers -> hosts, names, addresses, groups.

Nothing here imports Ansible or talks to a cloud or a database, so every rule (host naming,
``ansible_host`` choice, host variables, group names) is unit-tested on plain records.

The input is a *server view source*: a server record in the format of ``docs/architecture.md``
(``id``, ``name``, ``cloud``, ``region``, ``project_id``, ``status``, ``attributes`` = the Nova
item, ``relations``), optionally with the CMDB's ``first_seen``/``last_seen``/``deleted_at``, plus
a *lookup* ``{(cloud, region, type, id): name}`` that resolves relation targets (image, volume,
network and security group names). :func:`server_view` turns it into the ``openstack`` host
variable; every other function works on views.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch
import functools
import ipaddress
import re
import unicodedata
from collections import Counter

#: The keys of a Nova server item that :func:`server_view` reads. The CMDB source asks the database
#: for these only (not the whole item: decoding it was a third of the read), and the live source
#: keeps only these of each listed server (memory). Everything else (``user_data``, ...) is never
#: read by the inventory.
VIEW_ATTRIBUTES = (
    "name",
    "user_id",
    "OS-EXT-AZ:availability_zone",
    "OS-EXT-SRV-ATTR:host",
    "key_name",
    "flavor",
    "image",
    "addresses",
    "os-extended-volumes:volumes_attached",
    "security_groups",
    "metadata",
    "tags",
)

#: Of these, the objects whose other keys the view never reads (the image's ``links``, the flavor's
#: ``extra_specs``): the CMDB source asks for these keys only.
VIEW_SUBKEYS = {"image": ("id", "name"), "flavor": ("id", "name", "original_name", "vcpus", "ram", "disk")}

#: ``ansible_host`` address classes, in the default order of preference.
ADDRESS_CLASSES = ("floating", "public", "private")

#: Networks treated as *private* when choosing ``ansible_host`` (everything else is *public*):
#: RFC 1918, RFC 6598 shared address space (carrier-grade NAT), loopback, link-local, and for IPv6
#: unique local (RFC 4193), link-local and loopback. TEST-NET and other documentation ranges count
#: as public on purpose: clouds use them as floating/provider ranges in labs.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)

_INVALID_GROUP_CHARS = re.compile(r"^[\d\W]|[^\w]")  # the same rule as ansible-core's to_safe_group_name


def safe_group_name(name):
    """A valid Ansible group name: ansible-core's rule (every non-word char and a leading digit -> ``_``)."""
    return _safe_text(str(name))


@functools.lru_cache(maxsize=65536)
def _safe_text(text):
    # 10,000 hosts share a few hundred group names: the regular expression runs once per name
    return _INVALID_GROUP_CHARS.sub("_", text)


def _private_v4(parts):
    a, b = int(parts[0]), int(parts[1])
    if not (0 <= a <= 255 and 0 <= b <= 255 and all(0 <= int(p) <= 255 for p in parts[2:])):
        raise ValueError(parts)
    return (
        a in (10, 127)
        or (a == 172 and 16 <= b <= 31)
        or (a == 192 and b == 168)
        or (a == 100 and 64 <= b <= 127)
        or (a == 169 and b == 254)
    )


@functools.lru_cache(maxsize=65536)
def _private(addr):
    parts = addr.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        try:  # the common case, without ipaddress (it is slow for 10,000s of addresses)
            return _private_v4(parts)
        except ValueError:
            return False
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in PRIVATE_NETWORKS)


def is_private_address(addr):
    """True for addresses in :data:`PRIVATE_NETWORKS`; False for anything else (and unparsable values)."""
    return _private(str(addr))


def _ip_version(addr, default=None):
    try:
        return ipaddress.ip_address(str(addr).split("%", 1)[0]).version
    except ValueError:
        return default


def flatten_addresses(nova_addresses, floating=()):
    """Nova's ``addresses`` ({network: [{addr, version, OS-EXT-IPS:type, ...}]}) as one list.

    Each entry: ``network``, ``addr``, ``version``, ``type`` (``fixed``/``floating``), ``class``
    (``floating``, ``public`` or ``private``, see :func:`address_class`), ``mac``.
    ``floating`` (addresses known to be floating IPs of the server, e.g. from the floating IP
    listing) marks those as floating even where Nova's cache says fixed, and adds missing ones.
    """
    floating = list(floating or ())
    floating_set = set(floating)
    result = []
    seen = set()
    for network in sorted(nova_addresses or {}):
        for entry in nova_addresses[network] or ():
            if not isinstance(entry, dict) or not entry.get("addr"):
                continue
            addr = entry["addr"]
            kind = entry.get("OS-EXT-IPS:type") or "fixed"
            if addr in floating_set:
                kind = "floating"
            result.append(
                {
                    "network": network,
                    "addr": addr,
                    "version": entry.get("version") or _ip_version(addr),
                    "type": kind,
                    "class": "floating"
                    if kind == "floating"
                    else ("private" if is_private_address(addr) else "public"),
                    "mac": entry.get("OS-EXT-IPS-MAC:mac_addr"),
                }
            )
            seen.add(addr)
    for addr in floating:
        if addr and addr not in seen:
            result.append(
                {
                    "network": None,
                    "addr": addr,
                    "version": _ip_version(addr),
                    "type": "floating",
                    "class": "floating",
                    "mac": None,
                }
            )
            seen.add(addr)
    return result


def address_class(entry):
    """``floating``, ``public`` or ``private`` for one flattened address (its ``class`` key when set)."""
    known = entry.get("class")
    if known:
        return known
    if entry.get("type") == "floating":
        return "floating"
    return "private" if is_private_address(entry.get("addr")) else "public"


def choose_ansible_host(addresses, preference=ADDRESS_CLASSES, only_ipv4=False):
    """The address Ansible connects to, or None.

    The first class in ``preference`` (``floating``, ``public``, ``private``) that has an address
    wins; within a class IPv4 comes before IPv6, then the order of the addresses (networks sorted
    by name, Nova's order inside a network). ``only_ipv4`` ignores IPv6 addresses.
    """
    by_class = {name: [] for name in ADDRESS_CLASSES}
    for entry in addresses:
        version = entry.get("version")
        if only_ipv4 and version != 4:
            continue
        by_class[address_class(entry)].append(entry)
    for name in preference:
        candidates = by_class.get(name) or []
        if candidates:
            candidates = sorted(candidates, key=lambda e: 0 if e.get("version") == 4 else 1)
            return candidates[0]["addr"]
    return None


def address_preference(preference=None, private=False):
    """The effective class order: ``address_preference`` as given, else ``private`` first when asked."""
    if preference:
        bad = [p for p in preference if p not in ADDRESS_CLASSES]
        if bad:
            raise ValueError(
                "address_preference: unknown address class(es) %s; valid classes are: %s"
                % (", ".join(repr(b) for b in bad), ", ".join(ADDRESS_CLASSES))
            )
        return tuple(preference)
    if private:
        return ("private", "public", "floating")
    return ADDRESS_CLASSES


def _to_datetime(value):
    """A naive UTC datetime from a datetime or an ISO string; None when absent or unparsable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        dt = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            dt = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return dt


def iso(value):
    """ISO 8601 UTC text (``2026-11-23T11:44:56Z``) for a datetime or string, None when absent."""
    dt = _to_datetime(value)
    if dt is None:
        return None if value in (None, "") else str(value)
    return dt.replace(microsecond=0).isoformat() + "Z"


def is_stale(last_seen, deleted_at, now, max_age):
    """A host is stale when deleted in the CMDB, or not seen for more than ``max_age`` seconds."""
    if deleted_at:
        return True
    if not max_age:
        return False
    seen = _to_datetime(last_seen)
    if seen is None:
        return False
    return (_to_datetime(now) - seen).total_seconds() > max_age


def _relations_by_name(record):
    grouped = {}
    for rel in record.get("relations") or ():
        grouped.setdefault(rel.get("relation"), []).append(rel)
    return grouped


def _target_name(lookup, record, rel):
    name = rel.get("target_name")
    if name:
        return name
    if rel.get("target_id") and rel.get("target_type"):
        return lookup.get((record.get("cloud"), record.get("region"), rel["target_type"], rel["target_id"]))
    return None


def _utcnow():
    """Naive UTC now (datetime.utcnow() is deprecated since Python 3.12)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def server_view(record, lookup=None, now=None, max_age=None, source="cmdb"):
    """The ``openstack`` host variable of one server record (plain data, JSON-serializable).

    ``lookup``: {(cloud, region, type, id): name} for relation targets; ``now`` and ``max_age``
    (seconds) decide the ``stale`` flag; ``source`` is ``cmdb`` or ``live``.
    """
    lookup = lookup or {}
    attrs = record.get("attributes") or {}
    rels = _relations_by_name(record)
    cloud = record.get("cloud")
    region = record.get("region")

    flavor_attr = attrs.get("flavor") or {}
    flavor_rel = (rels.get("flavor") or [{}])[0]
    flavor = {
        "id": flavor_attr.get("id") or flavor_rel.get("target_id"),
        "name": flavor_attr.get("original_name")
        or flavor_attr.get("name")
        or (_target_name(lookup, record, flavor_rel) if flavor_rel else None),
        "vcpus": flavor_attr.get("vcpus"),
        "ram": flavor_attr.get("ram"),
        "disk": flavor_attr.get("disk"),
    }

    image_attr = attrs.get("image") if isinstance(attrs.get("image"), dict) else {}
    image_rel = (rels.get("image") or [{}])[0]
    image_id = image_attr.get("id") or image_rel.get("target_id")
    image = None
    if image_id or image_rel.get("target_name"):
        image = {
            "id": image_id,
            "name": image_rel.get("target_name")
            or lookup.get((cloud, region, "images", image_id))
            or image_attr.get("name"),
        }

    floating = [rel.get("target_name") for rel in rels.get("floating_ips", ()) if rel.get("target_name")]
    floating += [
        lookup.get((cloud, region, "floating_ips", rel.get("target_id")))
        for rel in rels.get("floating_ips", ())
        if not rel.get("target_name") and rel.get("target_id")
    ]
    addresses = flatten_addresses(attrs.get("addresses"), [f for f in floating if f])
    networks = {}
    for entry in addresses:
        if entry["network"] is not None:
            networks.setdefault(entry["network"], []).append(entry["addr"])

    def first(kind, version):
        for entry in addresses:
            if entry["version"] == version and address_class(entry) == kind:
                return entry["addr"]
        return None

    def fixed_private(version):
        for entry in addresses:
            if entry["version"] == version and entry["type"] != "floating":
                return entry["addr"]
        return None

    volumes = []
    attached = attrs.get("os-extended-volumes:volumes_attached") or []
    volume_ids = [v.get("id") for v in attached if isinstance(v, dict) and v.get("id")]
    for rel in rels.get("volumes", ()):
        if rel.get("target_id") and rel["target_id"] not in volume_ids:
            volume_ids.append(rel["target_id"])
    for vid in volume_ids:
        volumes.append({"id": vid, "name": lookup.get((cloud, region, "volumes", vid))})

    security_groups = []
    for group in attrs.get("security_groups") or ():
        name = group.get("name") if isinstance(group, dict) else group
        if name and name not in security_groups:
            security_groups.append(name)
    for rel in rels.get("security_groups", ()):
        name = _target_name(lookup, record, rel)
        if name and name not in security_groups:
            security_groups.append(name)

    metadata = attrs.get("metadata") if isinstance(attrs.get("metadata"), dict) else {}
    last_seen = record.get("last_seen")
    deleted_at = record.get("deleted_at")
    return {
        "id": record.get("id"),
        "name": record.get("name"),
        "status": record.get("status"),
        "cloud": cloud,
        "region": region,
        "project_id": record.get("project_id"),
        "user_id": attrs.get("user_id"),
        "availability_zone": attrs.get("OS-EXT-AZ:availability_zone"),
        "compute_host": attrs.get("OS-EXT-SRV-ATTR:host"),
        "key_name": attrs.get("key_name"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "flavor": flavor,
        "image": image,
        "addresses": addresses,
        "networks": networks,
        "floating_ips": [e["addr"] for e in addresses if e["type"] == "floating"],
        "public_v4": first("floating", 4) or first("public", 4),
        "public_v6": first("floating", 6) or first("public", 6),
        "private_v4": fixed_private(4),
        "private_v6": fixed_private(6),
        "volumes": volumes,
        "security_groups": security_groups,
        "metadata": dict(metadata),
        "tags": list(attrs.get("tags") or []),
        "first_seen": iso(record.get("first_seen")),
        "last_seen": iso(last_seen),
        "deleted": bool(deleted_at),
        "stale": is_stale(last_seen, deleted_at, now or _utcnow(), max_age),
        "source": source,
    }


#: The keys of the ``openstack`` host variable with ``host_vars: compact`` (the default): what
#: playbooks and AWX use to target and reach a server. ``host_vars: full`` keeps the whole view.
COMPACT_KEYS = (
    "id",
    "name",
    "status",
    "cloud",
    "region",
    "project_id",
    "availability_zone",
    "flavor",
    "image",
    "addresses",
    "public_v4",
    "private_v4",
    "security_groups",
    "metadata",
    "tags",
    "stale",
)
_COMPACT_ADDRESS_KEYS = ("network", "addr", "version", "class")


def compact_view(view, deleted=False):
    """The ``host_vars: compact`` form of a view: :data:`COMPACT_KEYS`, the flavor by name, the
    addresses without their MAC and ``type`` (``class`` says ``floating`` exactly when ``type`` does),
    and ``deleted`` when ``deleted`` is asked (for ``include_deleted``).

    ``ansible-inventory --list`` and every play spend time and memory in proportion to the host
    variables (ansible-core 2.19 copies and tags each value): this form has about half the values.
    """
    out = {key: view.get(key) for key in COMPACT_KEYS}
    flavor = view.get("flavor")
    if isinstance(flavor, dict):
        out["flavor"] = {"name": flavor.get("name")}
    out["addresses"] = [
        {key: entry.get(key) for key in _COMPACT_ADDRESS_KEYS} for entry in view.get("addresses") or () if entry
    ]
    if deleted:
        out["deleted"] = bool(view.get("deleted"))
    return out


#: Names that mean this machine: Ansible's implicit ``localhost`` (``C.LOCALHOST`` also holds
#: ``127.0.0.1`` and ``::1``, caught as IP literals) and the loopback names of common ``/etc/hosts``
#: files. Any name under ``.localhost`` resolves to loopback too (RFC 6761).
LOCAL_NAMES = frozenset(
    (
        "localhost",
        "localhost.localdomain",
        "localhost4",
        "localhost4.localdomain4",
        "localhost6",
        "localhost6.localdomain6",
        "ip6-localhost",
        "ip6-loopback",
    )
)
#: Groups every inventory has: a host of that name would be matched by ``hosts: all``-style patterns.
BUILTIN_GROUPS = frozenset(("all", "ungrouped"))

# 1 to 4 dot-separated decimal, octal or hex numbers: what inet_aton (and so ssh, ping, getaddrinfo)
# reads as an IPv4 address (``127.1``, ``0x7f000001``, ``2130706433``, ``0177.0.0.1``).
_LEGACY_IPV4 = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}$")
_IPV6_CHARS = re.compile(r"^[0-9a-fA-F:.]+$")
# a cheap first test: only hex digits, x, dots and colons, maybe in brackets, maybe with a %zone
_MAYBE_IP = re.compile(r"^\[?[0-9a-fA-FxX.:]+\]?(?:%.*)?$")
# IDNA treats these as label separators (``127。0。0。1`` resolves like ``127.0.0.1``)
_DOTS = {0x3002: ".", 0xFF0E: ".", 0xFF61: "."}


def _normalized_name(name):
    """``name`` as a resolver may read it: NFKC (fullwidth digits), IDNA dots, case-folded, no final dot."""
    text = str(name)
    if text.isascii():  # the common case: 10,000 names a run, normalization only where it can matter
        text = text.strip().lower()
    else:
        text = unicodedata.normalize("NFKC", text).translate(_DOTS).strip().casefold()
    return text[:-1] if text.endswith(".") else text


def _ip_literal(text):
    """:func:`is_ip_literal` of an already normalized name."""
    if not _MAYBE_IP.match(text):
        return False
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]
    if _LEGACY_IPV4.match(text):
        return True
    if ":" in text and _IPV6_CHARS.match(text):
        try:
            ipaddress.ip_address(text)
            return True
        except ValueError:
            return False
    return False


def is_ip_literal(name):
    """True when ``name`` is an IP address in any form a resolver accepts (IPv4 shorthand, hex,
    octal and integer forms, IPv6 with or without brackets or a zone)."""
    return _ip_literal(_normalized_name(name))


class NameGuard(object):
    """Which names a cloud may not give an inventory host (or a group made from tenant data).

    A name is refused when it names the local host (:data:`LOCAL_NAMES`, ``*.localhost``), is an IP
    literal (:func:`is_ip_literal`), is ``all`` or ``ungrouped``, is one of the operator's
    ``reserved`` names (compared as a resolver would: case-insensitive, NFKC), or is already a host
    or group of another inventory source (``existing``: {name: (cloud, server id) of that host, or
    None}; the same server from another source of this plugin keeps its name).
    """

    def __init__(self, reserved=(), existing=None):
        self.reserved = frozenset(_normalized_name(name) for name in reserved or () if name)
        self.existing = dict(existing or {})

    def reason(self, name, identity=None):
        """Why ``name`` may not be used (a phrase), or None."""
        if name is None or name == "":
            return None
        text = _normalized_name(name)
        if text in LOCAL_NAMES or text.endswith(".localhost"):
            return "it names the local host"
        if _ip_literal(text):
            return "it is an IP address"
        if text in BUILTIN_GROUPS:
            return "it is a group every inventory has"
        if text in self.reserved:
            return "it is in reserved_host_names"
        if name in self.existing and (identity is None or self.existing[name] != identity):
            return "another inventory source already has a host or group of that name"
        return None


def unique_host_names(views, hostname="name", guard=None, renamed=None):
    """Inventory host names for ``views``, unique across clouds, regions and projects.

    ``hostname: name``: a server whose name no other server has keeps its name. Every server of a
    duplicated name gets ``<name>_<first 8 chars of its id>``; if that still collides (with another
    server's name or suffix), ``<name>_<id>``, then ``<name>_<id>_<cloud>_<region>``, then a counter.
    A server without a name uses its id. ``hostname: uuid``: the server id (``<id>_<cloud>_<region>``
    when two clouds report the same id). Deterministic: the result depends only on the set of servers,
    never on listing order. Returns a list parallel to ``views``.

    ``guard`` (a :class:`NameGuard`): a name it refuses (``localhost``, an IP literal, a reserved
    name, a name another inventory source has) is never a host name; such a server is named
    ``<name>_<cloud>_<first 8 chars of its id>`` (longer forms if that collides), and
    ``(index, reason)`` is appended to ``renamed`` for a warning.
    """
    guard = guard or NameGuard()
    order = sorted(
        range(len(views)),
        key=lambda i: (
            str(views[i].get("cloud") or ""),
            str(views[i].get("region") or ""),
            str(views[i].get("id") or ""),
            str(views[i].get("name") or ""),
        ),
    )

    def identity(i):
        return (views[i].get("cloud"), views[i].get("id"))

    def base_of(i):
        sid = str(views[i].get("id") or "")
        return sid if hostname != "name" else (views[i].get("name") or sid)

    refused = {}
    for i in order:
        why = guard.reason(base_of(i), identity(i))
        if why:
            refused[i] = why
            if renamed is not None:
                renamed.append((i, why))

    def candidate(i, level, position):
        view = views[i]
        sid = str(view.get("id") or "")
        base = base_of(i)
        cloud = str(view.get("cloud") or "")
        region = str(view.get("region") or "")
        if i in refused:
            chain = ("%s_%s_%s" % (base, cloud, sid[:8]), "%s_%s_%s" % (base, cloud, sid))
            chain += ("%s_%s_%s_%s" % (base, cloud, region, sid),)
        elif hostname == "name":
            chain = (base, "%s_%s" % (base, sid[:8]), "%s_%s" % (base, sid), "%s_%s_%s_%s" % (base, sid, cloud, region))
        else:
            chain = (base, "%s_%s_%s" % (base, cloud, region))
        if level < len(chain):
            return chain[level]
        # a counter unique within the level and across levels (a taken name moves on, never loops)
        return "%s_%d" % (chain[-1], (level - len(chain)) * len(views) + position)

    names = [None] * len(views)
    taken = set()
    pending = order
    level = 0
    while pending:
        cands = {i: candidate(i, level, pos) for pos, i in enumerate(pending)}
        counts = Counter(cands.values())
        remaining = []
        for i in pending:
            name = cands[i]
            ok = (level == 0 and i not in refused) or not guard.reason(name, identity(i))  # level 0: checked above
            if counts[name] == 1 and name not in taken and ok:
                names[i] = name
                taken.add(name)
            else:
                remaining.append(i)
        pending = remaining
        level += 1
    return names


def ansible_host_for(view, preference=ADDRESS_CLASSES, only_ipv4=False, use_names=False):
    """``ansible_host`` for a view: the server name with ``use_names``, else :func:`choose_ansible_host`."""
    if use_names:
        return view.get("name") or None
    return choose_ansible_host(view.get("addresses") or (), preference, only_ipv4)


class MetadataGroups(object):
    """Which metadata keys of a host make groups, and how many groups they may make.

    ``keys``: shell patterns (``role``, ``app_*``, ``*``) of the metadata keys that make default
    groups; None means every key, ``[]`` none. ``limit``: the most groups metadata makes for one
    host (default groups, and again legacy groups), None for no bound; the keys are taken in sorted
    order. ``over`` holds the ids of the hosts that had more, ``example`` the first (name, count).
    """

    def __init__(self, keys=None, limit=None):
        self.keys = None if keys is None else tuple(str(k) for k in keys)
        self._exact = None if keys is None else frozenset(k for k in self.keys if not any(c in k for c in "*?["))
        self._patterns = None if keys is None else tuple(k for k in self.keys if any(c in k for c in "*?["))
        self.limit = limit
        self.over = set()
        self.example = None

    def allowed(self, metadata):
        """The keys of ``metadata`` that may make default groups, sorted."""
        if not metadata or self.keys == ():
            return []
        keys = sorted(metadata, key=str)
        if self.keys is None:
            return keys
        return [k for k in keys if k in self._exact or any(fnmatch.fnmatchcase(str(k), p) for p in self._patterns)]

    def bound(self, pairs, view, total=None):
        """``pairs`` cut to :attr:`limit` (noting the host, and ``total`` for the warning, when cut)."""
        if self.limit is None or len(pairs) <= self.limit:
            return pairs
        self.note(view, len(pairs) if total is None else total)
        return pairs[: self.limit]

    def note(self, view, total):
        """Remember that the host of ``view`` had more than :attr:`limit` metadata groups."""
        self.over.add(view.get("id"))
        if self.example is None:
            self.example = (view.get("name") or view.get("id"), total)


def default_groups(view, prefix="", metadata=None):
    """Groups a host belongs to by default (already safe names, sorted, no per-host group).

    ``cloud_<cloud>``, ``region_<region>``, ``project_<project_id>``, ``az_<zone>``,
    ``flavor_<flavor name>``, ``image_<image name or id>``, ``status_<status, lower case>``, and
    ``meta_<key>`` and ``meta_<key>_<value>`` (short scalar values) for the metadata keys that
    ``metadata`` (a :class:`MetadataGroups`; None: every key, no bound) allows, at most its limit.
    """
    image = view.get("image") or {}
    status = view.get("status")
    pairs = [
        ("cloud", view.get("cloud")),
        ("region", view.get("region")),
        ("project", view.get("project_id")),
        ("az", view.get("availability_zone")),
        ("flavor", (view.get("flavor") or {}).get("name")),
        ("image", image.get("name") or image.get("id")),
        ("status", status.lower() if isinstance(status, str) else status),
    ]
    metadata = metadata or MetadataGroups()
    values = view.get("metadata") or {}
    meta = []
    for key in metadata.allowed(values):
        value = values[key]
        meta.append(("meta", key))
        if isinstance(value, (str, int, float, bool)) and len(str(value)) <= 64 and str(value) != "":
            meta.append(("meta", "%s_%s" % (key, value)))
        if metadata.limit is not None and len(meta) > metadata.limit + 1:
            break  # enough to know the bound is passed: 10,000 keys make no 20,000 names
    pairs.extend(metadata.bound(meta, view, total=len(values)))
    return sorted({_safe_text("%s%s_%s" % (prefix, kind, value)) for kind, value in pairs if value not in (None, "")})


def legacy_groups(view, hostname=None, guard=None, host_names=(), metadata=None):
    """openstack.cloud's ``legacy_groups``: cloud, region, cloud_region, metadata ``group``/``groups``,
    ``meta-<k>_<v>``, ``instance-<id>``, ``flavor-<name>``, ``image-<name>``, the zone and its
    region/cloud combinations, and a group named after the server when its host name is not the name.
    Names are made safe with ansible-core's rule.

    The groups a tenant names (metadata ``group``/``groups``, the server name) are left out when
    ``guard`` refuses the name (``localhost``, an IP literal, a reserved name, a host or group of
    another source) or it is one of ``host_names`` (a group must not be named like a host). The
    metadata groups (``group``/``groups`` and ``meta-*``) are bounded by ``metadata``'s limit.
    """
    groups = []
    cloud = view.get("cloud")
    region = view.get("region")
    values = view.get("metadata") or {}
    metadata = metadata or MetadataGroups()
    guard = guard or NameGuard()
    groups.append(cloud)
    if region:
        groups.append(region)
        groups.append("%s_%s" % (cloud, region))
    tenant = []  # names chosen by the tenant: checked by the guard
    if values.get("group"):
        tenant.append(values["group"])
    for extra in str(values.get("groups") or "").split(","):
        if extra.strip():
            tenant.append(extra.strip())
    meta = ["meta-%s_%s" % (key, values[key]) for key in sorted(values, key=str)]
    total = len(tenant) + len(meta)
    kept = metadata.bound([("t", name) for name in tenant] + [("m", name) for name in meta], view, total)
    chosen = [name for kind, name in kept if kind == "t"]
    groups.extend(name for kind, name in kept if kind == "m")
    groups.append("instance-%s" % view.get("id"))
    if view.get("name") and hostname is not None and hostname != view.get("name"):
        chosen.append(view["name"])
    if (view.get("flavor") or {}).get("name"):
        groups.append("flavor-%s" % view["flavor"]["name"])
    if (view.get("image") or {}).get("name"):
        groups.append("image-%s" % view["image"]["name"])
    zone = view.get("availability_zone")
    if zone:
        groups.append(zone)
        if region:
            groups.append("%s_%s" % (region, zone))
            groups.append("%s_%s_%s" % (cloud, region, zone))
    result = []
    for group in groups:
        if group in (None, ""):
            continue
        safe = safe_group_name(group)
        if safe not in result:
            result.append(safe)
    for group in chosen:
        safe = safe_group_name(group)
        if safe in result or safe in host_names or guard.reason(safe) or guard.reason(group):
            continue
        result.append(safe)
    return result


#: ``server_filters`` keys understood by both sources.
SERVER_FILTER_KEYS = ("name", "status", "availability_zone", "host", "flavor", "image", "tags", "project_id")


def match_server_filters(view, filters):
    """True when ``view`` matches every filter (the same meaning as Nova's server-side filters)."""
    for key, wanted in filters.items():
        if wanted is None:
            continue
        if key == "name":
            if not re.search(str(wanted), str(view.get("name") or "")):
                return False
        elif key == "status":
            if str(view.get("status") or "").lower() != str(wanted).lower():
                return False
        elif key == "availability_zone":
            if view.get("availability_zone") != wanted:
                return False
        elif key == "host":
            if view.get("compute_host") != wanted:
                return False
        elif key in ("flavor", "image"):
            ref = view.get(key) or {}
            if wanted not in (ref.get("id"), ref.get("name")):
                return False
        elif key == "tags":
            wanted_tags = [t.strip() for t in (wanted if isinstance(wanted, list) else str(wanted).split(","))]
            if not set(t for t in wanted_tags if t) <= set(view.get("tags") or ()):
                return False
        elif key == "project_id":
            if view.get("project_id") != wanted:
                return False
    return True
