# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource catalog: every resource type cmdb.openstack knows, as data.

This is the single place that says, for each type, which service lists it, how
its listing is paged, how its records map onto the common envelope, which
relations it has, how often it is synchronized by default and what the account
needs to be allowed to list it. Modules, the gatherer, the CMDB, the inventory
plugins and the schedules all read this table; adding a resource type means
adding one entry here (and, when it has relations, one function in
``normalize.py``).
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from collections import OrderedDict, namedtuple

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

# A secondary listing fetched with a parent type (load balancer listeners,
# pools and members; router interfaces). ``per_parent`` paths contain
# ``{parent_id}`` and are fetched once per item of the ``parent`` sub-listing
# (Octavia has no global members listing: the only per-item calls of the
# gatherer). ``query`` is a dict of extra query parameters (values may be lists).
SubListing = namedtuple("SubListing", "name path collection_key per_parent parent query", defaults=(None,))

ResourceType = namedtuple(
    "ResourceType",
    [
        "name",  # CMDB type name, plural: the key everywhere (options, tables, results)
        "singular",  # record ``type`` and the ``<singular>_info`` module name
        "service_type",  # service type in the Keystone catalog
        "sdk_proxy",  # openstacksdk Connection attribute for that service
        "list_path",  # listing path relative to the versioned endpoint
        "collection_key",  # key holding the items in a listing response
        "pagination",  # "links": <key>_links rel=next; "next": top-level "next" (Glance)
        "max_page_size",  # largest ``limit`` the real service accepts by default
        "microversion",  # microversion requested (capped at the server's maximum), or None
        "all_projects_query",  # query that lists every project for admins, or None
        "project_filter",  # query parameter that filters by project, or None
        "server_filters",  # query parameters the API filters on server-side
        "fields",  # envelope field -> key in the API item (None: not available)
        "relations",  # relation names produced by normalize.relations_for(type)
        "sub_listings",  # tuple of SubListing fetched together with this type
        "default_interval",  # seconds between two syncs unless the account says otherwise
        "changes_since",  # the API supports an incremental ``changes-since`` listing
        "permission_hint",  # what to grant when the listing is forbidden
        "admin_lists_all",  # the API lists every project for an admin without asking (Neutron, Octavia):
        # with all_projects=False the gatherer filters on the token's project instead
        "show_path",  # path of one item ("{id}" replaced): the GET that proves an item is gone (404)
        "list_query",  # query sent with every listing of the type (what the default listing leaves out)
        "extra_listings",  # further queries listed into the same scope (Glance's hidden images)
        "partial_statuses",  # statuses of a record the API could not fill (Nova's down cell: UNKNOWN)
        "complete_keys",  # keys every complete item has; an item without one of them is partial
        "gone_statuses",  # statuses meaning the item is gone (Nova lists DELETED servers in changes-since)
    ],
    defaults=(False, None, None, (), (), (), ()),
)


def _fields(project=None, status=None, created=None, updated=None, name="name"):
    return {
        "id": "id",
        "name": name,
        "project_id": project,
        "status": status,
        "created_at": created,
        "updated_at": updated,
    }


_NETWORK_HINT = "a member or reader role on the project for the network service (Neutron)"
_COMPUTE_HINT = "a member or reader role on the project for the compute service (Nova)"
_VOLUME_HINT = "a member or reader role on the project for the block-storage service (Cinder)"

_TYPES = (
    ResourceType(
        name="servers",
        show_path="/servers/{id}",
        singular="server",
        service_type="compute",
        sdk_proxy="compute",
        list_path="/servers/detail",
        collection_key="servers",
        pagination="links",
        max_page_size=1000,
        microversion="2.96",
        all_projects_query={"all_tenants": "1"},
        project_filter="project_id",
        server_filters=("name", "status", "host", "availability_zone", "flavor", "image", "changes-since", "tags"),
        fields=_fields(project="tenant_id", status="status", created="created", updated="updated"),
        relations=("flavor", "image", "ports", "networks", "security_groups", "volumes", "floating_ips", "keypair"),
        sub_listings=(),
        default_interval=5 * MINUTE,
        changes_since=True,
        permission_hint=_COMPUTE_HINT,
        # Nova >= 2.69 returns the servers of a cell that is down with status UNKNOWN and only
        # id, status, tenant_id, created and links (older microversions omit them).
        partial_statuses=("UNKNOWN",),
        complete_keys=("name",),
        gone_statuses=("DELETED",),
    ),
    ResourceType(
        name="volumes",
        show_path="/volumes/{id}",
        singular="volume",
        service_type="block-storage",
        sdk_proxy="block_storage",
        list_path="/volumes/detail",
        collection_key="volumes",
        pagination="links",
        max_page_size=1000,
        microversion="3.70",
        all_projects_query={"all_tenants": "1"},
        project_filter="project_id",
        server_filters=("name", "status", "bootable", "availability_zone"),
        fields=_fields(
            project="os-vol-tenant-attr:tenant_id", status="status", created="created_at", updated="updated_at"
        ),
        relations=("servers", "snapshot", "source_volume", "image"),
        sub_listings=(),
        default_interval=6 * HOUR,
        changes_since=False,
        permission_hint=_VOLUME_HINT,
    ),
    ResourceType(
        name="load_balancers",
        show_path="/lbaas/loadbalancers/{id}",
        singular="load_balancer",
        service_type="load-balancer",
        sdk_proxy="load_balancer",
        list_path="/lbaas/loadbalancers",
        collection_key="loadbalancers",
        pagination="links",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="project_id",
        server_filters=("name", "provisioning_status", "operating_status", "vip_address", "vip_network_id"),
        fields=_fields(project="project_id", status="operating_status", created="created_at", updated="updated_at"),
        relations=("vip_port", "vip_subnet", "vip_network", "listeners", "pools", "members", "member_ports"),
        sub_listings=(
            SubListing("listeners", "/lbaas/listeners", "listeners", False, None),
            SubListing("pools", "/lbaas/pools", "pools", False, None),
            SubListing("members", "/lbaas/pools/{parent_id}/members", "members", True, "pools"),
        ),
        default_interval=6 * HOUR,
        changes_since=False,
        permission_hint=(
            "a load-balancer_observer (read only) or member role on the project for the "
            "load-balancer service (Octavia policies)"
        ),
        admin_lists_all=True,
    ),
    ResourceType(
        name="security_groups",
        show_path="/security-groups/{id}",
        singular="security_group",
        service_type="network",
        sdk_proxy="network",
        list_path="/security-groups",
        collection_key="security_groups",
        pagination="links",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="project_id",
        server_filters=("name", "project_id", "tags"),
        fields=_fields(project="project_id", created="created_at", updated="updated_at"),
        relations=("remote_groups",),
        sub_listings=(),
        default_interval=6 * HOUR,
        changes_since=False,
        permission_hint=_NETWORK_HINT,
        admin_lists_all=True,
    ),
    ResourceType(
        name="volume_snapshots",
        show_path="/snapshots/{id}",
        singular="volume_snapshot",
        service_type="block-storage",
        sdk_proxy="block_storage",
        list_path="/snapshots/detail",
        collection_key="snapshots",
        pagination="links",
        max_page_size=1000,
        microversion="3.70",
        all_projects_query={"all_tenants": "1"},
        project_filter="project_id",
        server_filters=("name", "status", "volume_id"),
        fields=_fields(
            project="os-extended-snapshot-attributes:project_id",
            status="status",
            created="created_at",
            updated="updated_at",
        ),
        relations=("volume",),
        sub_listings=(),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint=_VOLUME_HINT,
    ),
    ResourceType(
        name="images",
        show_path="/images/{id}",
        singular="image",
        service_type="image",
        sdk_proxy="image",
        list_path="/images",
        collection_key="images",
        pagination="next",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="owner",
        server_filters=("name", "status", "visibility", "owner", "tag"),
        fields=_fields(project="owner", status="status", created="created_at", updated="updated_at"),
        relations=(),
        sub_listings=(),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint="a member or reader role on the project for the image service (Glance)",
        # Glance's default listing leaves out community images of other projects and shared
        # images not accepted (visibility, member_status), and every hidden image (os_hidden):
        # a second listing fetches the hidden ones.
        list_query={"visibility": "all", "member_status": "all"},
        extra_listings=({"os_hidden": "true"},),
    ),
    ResourceType(
        name="flavors",
        show_path="/flavors/{id}",
        singular="flavor",
        service_type="compute",
        sdk_proxy="compute",
        list_path="/flavors/detail",
        collection_key="flavors",
        pagination="links",
        max_page_size=1000,
        microversion="2.96",
        all_projects_query={"is_public": "None"},
        project_filter=None,
        server_filters=("minDisk", "minRam", "is_public"),
        fields=_fields(),
        relations=(),
        sub_listings=(),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint=_COMPUTE_HINT,
    ),
    ResourceType(
        name="networks",
        show_path="/networks/{id}",
        singular="network",
        service_type="network",
        sdk_proxy="network",
        list_path="/networks",
        collection_key="networks",
        pagination="links",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="project_id",
        server_filters=("name", "status", "shared", "router:external", "project_id", "tags"),
        fields=_fields(project="project_id", status="status", created="created_at", updated="updated_at"),
        relations=("subnets",),
        sub_listings=(),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint=_NETWORK_HINT,
        admin_lists_all=True,
    ),
    ResourceType(
        name="subnets",
        show_path="/subnets/{id}",
        singular="subnet",
        service_type="network",
        sdk_proxy="network",
        list_path="/subnets",
        collection_key="subnets",
        pagination="links",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="project_id",
        server_filters=("name", "network_id", "ip_version", "cidr", "project_id", "tags"),
        fields=_fields(project="project_id", created="created_at", updated="updated_at"),
        relations=("network",),
        sub_listings=(),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint=_NETWORK_HINT,
        admin_lists_all=True,
    ),
    ResourceType(
        name="ports",
        show_path="/ports/{id}",
        singular="port",
        service_type="network",
        sdk_proxy="network",
        list_path="/ports",
        collection_key="ports",
        pagination="links",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="project_id",
        server_filters=(
            "name",
            "status",
            "network_id",
            "device_id",
            "device_owner",
            "mac_address",
            "project_id",
            "tags",
        ),
        fields=_fields(project="project_id", status="status", created="created_at", updated="updated_at"),
        relations=("network", "subnets", "device", "security_groups"),
        sub_listings=(),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint=_NETWORK_HINT,
        admin_lists_all=True,
    ),
    ResourceType(
        name="routers",
        show_path="/routers/{id}",
        singular="router",
        service_type="network",
        sdk_proxy="network",
        list_path="/routers",
        collection_key="routers",
        pagination="links",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="project_id",
        server_filters=("name", "status", "project_id", "tags"),
        fields=_fields(project="project_id", status="status", created="created_at", updated="updated_at"),
        relations=("external_network", "subnets", "ports"),
        # Neutron's router listing has no interfaces: one paged listing of the interface ports
        # (not a call per router) is embedded as each router's "interfaces".
        sub_listings=(
            SubListing(
                "interfaces",
                "/ports",
                "ports",
                False,
                None,
                {
                    "device_owner": [
                        "network:router_interface",
                        "network:router_interface_distributed",
                        "network:ha_router_replicated_interface",
                    ]
                },
            ),
        ),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint=_NETWORK_HINT,
        admin_lists_all=True,
    ),
    ResourceType(
        name="floating_ips",
        show_path="/floatingips/{id}",
        singular="floating_ip",
        service_type="network",
        sdk_proxy="network",
        list_path="/floatingips",
        collection_key="floatingips",
        pagination="links",
        max_page_size=1000,
        microversion=None,
        all_projects_query=None,
        project_filter="project_id",
        server_filters=(
            "status",
            "floating_network_id",
            "port_id",
            "fixed_ip_address",
            "floating_ip_address",
            "project_id",
        ),
        fields=_fields(
            project="project_id",
            status="status",
            created="created_at",
            updated="updated_at",
            name="floating_ip_address",
        ),
        relations=("port", "floating_network", "router", "server"),
        sub_listings=(),
        default_interval=2 * WEEK,
        changes_since=False,
        permission_hint=_NETWORK_HINT,
        admin_lists_all=True,
    ),
)

#: Every resource type by name, in the order of the table in the README.
RESOURCE_TYPES = OrderedDict((rtype.name, rtype) for rtype in _TYPES)

#: Names accepted wherever a user chooses resource types.
RESOURCE_TYPE_NAMES = tuple(RESOURCE_TYPES)

#: ``<singular>`` -> type, for modules named ``<singular>_info``.
BY_SINGULAR = OrderedDict((rtype.singular, rtype) for rtype in _TYPES)


def get_type(name):
    """Return the catalog entry for ``name`` (plural or singular) or raise KeyError."""
    if name in RESOURCE_TYPES:
        return RESOURCE_TYPES[name]
    if name in BY_SINGULAR:
        return BY_SINGULAR[name]
    raise KeyError("unknown resource type %r; valid types are: %s" % (name, ", ".join(RESOURCE_TYPE_NAMES)))


#: What a ``types`` option accepts: plural and singular names, and ``all``.
TYPE_CHOICES = list(RESOURCE_TYPE_NAMES) + list(BY_SINGULAR) + ["all"]


def resolve_types(types, field="types"):
    """Catalog entries for ``types``, in catalog order, without duplicates.

    ``types`` is a list or a comma-separated string of plural or singular names; ``None``,
    ``"all"`` or a list holding ``"all"`` mean every type. Unknown names raise one
    ``ConfigurationError`` naming ``field``, every unknown name and the valid ones.
    """
    from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

    if isinstance(types, str):
        types = [part.strip() for part in types.split(",") if part.strip()]
    if not types or "all" in types:
        return list(RESOURCE_TYPES.values())
    wanted, unknown = set(), []
    for name in types:
        try:
            wanted.add(get_type(str(name)).name)
        except KeyError:
            unknown.append(str(name))
    if unknown:
        raise ConfigurationError(
            "%s: unknown resource type(s) %s; valid types are: %s, or all"
            % (field, ", ".join(unknown), ", ".join(RESOURCE_TYPE_NAMES))
        )
    return [rtype for rtype in RESOURCE_TYPES.values() if rtype.name in wanted]


def resolve_type_names(types, field="types"):
    """The plural names of :func:`resolve_types`."""
    return [rtype.name for rtype in resolve_types(types, field)]


def default_settings():
    """Per-type settings a newly registered account starts with."""
    return OrderedDict((rtype.name, {"enabled": True, "interval": rtype.default_interval}) for rtype in _TYPES)
