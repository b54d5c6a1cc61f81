# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: inventory
short_description: OpenStack servers as hosts, from the CMDB (no API call) or live from the clouds
version_added: 0.1.0
author: cmdb.openstack maintainers (@cmdb-openstack)
description:
  - Adds every OpenStack server as a host, with one host variable C(openstack) holding the server and
    its relations (flavor and image names, networks and addresses, volumes, security groups, metadata,
    project, region, cloud, C(last_seen) and a C(stale) flag), C(ansible_host) chosen by a documented
    rule, and default groups by cloud, region, project, availability zone, flavor, image, status and
    chosen metadata keys.
  - With O(source=cmdb) (the default) the servers come from the CMDB filled by
    M(cmdb.openstack.cmdb_sync) with a few set-based queries and no API call; the plugin warns when
    the data is older than O(max_age).
  - With O(source=cmdb) the group variable C(cmdb_sync_status) of C(all) lists, per cloud, region and
    type, the last successful sync (C(last_ok), C(age) in seconds), C(stale) (older than twice the
    type's interval, or never) and C(left_catalog) (the service left the catalog after earlier
    successful syncs; also a warning), as M(cmdb.openstack.cmdb_info) shows them.
  - With O(source=live) the plugin lists the clouds of C(clouds.yaml) (or the accounts registered in the
    CMDB, O(clouds_from=accounts)) concurrently, one thread per cloud.
  - A cloud that fails (unreachable, slow, forbidden, bad credentials, any error) gives a warning naming
    it and the other clouds' hosts, unless O(fail_on_errors=true).
  - Options follow P(openstack.cloud.openstack#inventory) where they make sense, so that switching is a
    change of C(plugin:); docs/inventory.md lists every difference.
  - Every string that comes from a cloud is untrusted data and is never templated.
  - With O(clouds_from=accounts), each account's project scope (C(all_projects), C(projects) of
    M(cmdb.openstack.cloud_account)) decides its listing.
  - Errors (a CMDB that cannot be opened, a bad option, an unknown name in O(only_clouds), failed clouds
    with O(fail_on_errors=true)) raise a parse error naming this file; see O(fail_on_errors) for what
    Ansible does with it. The CMDB is only read, never created or migrated.
  - The configuration file name must end with C(openstack.yml) or C(openstack.yaml), for example
    C(inventory.cmdb_openstack.yml) or C(openstack.yml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as a configuration file of this plugin.
    required: true
    type: str
    choices: [cmdb.openstack.inventory]
  source:
    description:
      - V(cmdb) reads the servers from the CMDB (no API call); V(live) asks the clouds now.
    type: str
    choices: [cmdb, live]
    default: cmdb
  cmdb_url:
    description:
      - SQLAlchemy URL of the CMDB, for O(source=cmdb) and for O(clouds_from=accounts).
      - Defaults to the environment variable E(CMDB_URL), else C(sqlite:///~/.local/share/cmdb.openstack/cmdb.sqlite).
      - A password in the URL is never shown in messages; prefer a C(.pgpass) file or E(PGPASSWORD).
    type: str
    env:
      - name: CMDB_URL
  max_age:
    description:
      - With O(source=cmdb), a region whose servers were last confirmed by a successful sync longer ago
        than this gives a warning, and its hosts have C(openstack.stale=true).
      - Seconds, or a duration such as V(30m), V(1h), V(1h30m), V(2d). V(0) disables the check.
    type: str
    default: 1h
  include_deleted:
    description:
      - With O(source=cmdb), also add servers the CMDB marked deleted (with C(openstack.deleted=true)
        and C(openstack.stale=true)).
    type: bool
    default: false
  only_clouds:
    description:
      - Only these clouds (clouds.yaml names, registered account names, or the C(cloud) column of the
        CMDB). Empty means every cloud.
      - A name that is not known (not in clouds.yaml, not a registered account, unknown to the CMDB) is an
        error naming it and the known names.
    type: list
    elements: str
    default: []
    aliases: [clouds]
  regions:
    description: Only servers of these regions. Empty means every region.
    type: list
    elements: str
    default: []
  projects:
    description: Only servers of these project ids. Empty means every project.
    type: list
    elements: str
    default: []
  clouds_from:
    description:
      - With O(source=live), where the clouds come from.
      - V(clouds_yaml) (as openstack.cloud) uses every cloud of C(clouds.yaml), or O(only_clouds).
      - V(accounts) uses the accounts registered in the CMDB at O(cmdb_url) with
        M(cmdb.openstack.cloud_account), each with its project scope; their secrets come from
        clouds.yaml/secure.yaml or from E(OS_PASSWORD), E(OS_APPLICATION_CREDENTIAL_SECRET) or
        E(OS_TOKEN), never from the CMDB.
    type: str
    choices: [clouds_yaml, accounts]
    default: clouds_yaml
  clouds_yaml_path:
    description:
      - With O(source=live), C(clouds.yaml) files searched before openstacksdk's standard places.
    type: list
    elements: str
    env:
      - name: OS_CLIENT_CONFIG_FILE
  all_projects:
    description:
      - With O(source=live), list the servers of every project (needs an admin role). The CMDB source
        shows whatever M(cmdb.openstack.cmdb_sync) stored.
    type: bool
    default: false
  expand_hostvars:
    description:
      - With O(source=live), also list volumes (for their names) and floating IPs (authoritative floating
        addresses). Servers and images are always listed.
    type: bool
    default: false
  timeout:
    description:
      - With O(source=live), seconds a cloud may take in total; a cloud that takes longer is a failed
        cloud (see O(fail_on_errors)).
    type: int
    default: 120
  api_timeout:
    description: With O(source=live), timeout in seconds of one HTTP request (passed to openstacksdk).
    type: int
    default: 30
  server_filters:
    description:
      - Only servers matching every key. With O(source=live) they are sent to Nova (server-side); with
        O(source=cmdb) they are applied to the stored servers.
      - Keys V(status), V(availability_zone), V(host), V(flavor) (id or name), V(image) (id or name),
        V(project_id) compare equal (status case-insensitively); V(name) is a regular expression searched in
        the name (as Nova does); V(tags) is a comma-separated list of tags that must all be present.
    type: dict
    default: {}
  private:
    description:
      - Prefer private (RFC 1918) addresses for C(ansible_host), then public, then floating. Ignored when
        O(address_preference) is set.
    type: bool
    default: false
  address_preference:
    description:
      - Order of address classes tried for C(ansible_host). V(floating) is a floating IP, V(public) a fixed
        address outside private ranges, V(private) a fixed address in RFC 1918, RFC 6598, loopback,
        link-local or IPv6 unique-local ranges. Within a class IPv4 comes first.
      - Default V([floating, public, private]) (or private first with O(private=true)). A server with no
        address in the listed classes has no C(ansible_host).
    type: list
    elements: str
    choices: [floating, public, private]
  only_ipv4:
    description: Never choose an IPv6 address for C(ansible_host).
    type: bool
    default: false
  use_names:
    description:
      - As openstack.cloud, set C(ansible_host) to the server name instead of an address (for servers
        whose names resolve in DNS, or behind a jump host).
    type: bool
    default: false
  inventory_hostname:
    description:
      - V(name) names hosts after their servers. When several servers (in any cloud, region or project)
        share a name, each of them is named C(<name>_<first 8 characters of its id>), longer forms only
        if that still collides; a server without a name uses its id.
      - V(uuid) names hosts by server id.
    type: str
    choices: [name, uuid]
    default: name
  reserved_host_names:
    description:
      - Names no server may have as its inventory host name (compared case-insensitively), besides those
        that are always refused.
      - Always refused, whatever this option says, are names of the local host (V(localhost),
        V(localhost.localdomain), V(ip6-localhost), any name under V(.localhost), ...), IP addresses in
        any form (V(127.0.0.1), V(::1), V(127.1), V(2130706433), ...), V(all), V(ungrouped), and a name that
        another inventory source (an earlier source of the same Ansible run) already gave a host or a group.
      - A server with such a name is named C(<name>_<cloud>_<first 8 characters of its id>) instead, with
        a warning, so that a play for C(localhost) still runs on Ansible's own implicit local host.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  metadata_groups:
    description:
      - The server metadata keys that make default groups C(meta_<key>) and C(meta_<key>_<value>), as
        exact keys or shell patterns (V(role), V(app_*)); V(*) makes groups of every key.
      - Metadata keys and values are chosen by the tenant, so by default (V([])) no metadata key makes a
        default group. Use O(keyed_groups) on C(openstack.metadata.<key>) for one group per chosen key.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  max_metadata_groups:
    description:
      - The most groups that metadata may make for one host, for each of the default metadata groups, the
        legacy metadata groups (C(group), C(groups), C(meta-<key>_<value>)) and each O(keyed_groups) entry
        whose key gives a list or a dict (for example the key C(openstack.metadata)). The keys are taken in
        sorted order; a warning counts the hosts that had more.
      - A server with 10,000 metadata keys would otherwise make 20,000 groups.
    type: int
    default: 20
    version_added: 0.2.0
  show_all:
    description:
      - Also add servers that have no address. openstack.cloud's default is V(false).
    type: bool
    default: true
  host_vars:
    description:
      - What the host variable C(openstack) holds.
      - V(compact) (the default) keeps what plays and AWX use to target and reach a server
        (C(id), C(name), C(status), C(cloud), C(region), C(project_id), C(availability_zone),
        C(flavor.name), C(image), C(addresses) without C(mac) and C(type), C(public_v4), C(private_v4),
        C(security_groups), C(metadata), C(tags), C(stale), and C(deleted) with O(include_deleted=true)).
        It has about half the values of V(full), and C(ansible-inventory --list) time and memory follow
        the number of values.
      - V(full) adds C(networks), C(floating_ips), C(public_v6), C(private_v6), C(volumes), C(user_id),
        C(compute_host), C(key_name), C(created_at), C(updated_at), C(first_seen), C(last_seen), C(deleted),
        C(source), the flavor's C(id), C(vcpus), C(ram) and C(disk), and each address's C(mac) and C(type)
        (C(fixed) or C(floating); C(class) is C(floating) exactly when C(type) is).
      - Server filters (O(server_filters)), O(show_all) and the default and legacy groups work on the full
        view either way; O(compose), O(groups) and O(keyed_groups) see the host variables.
    type: str
    choices: [compact, full]
    default: compact
  default_groups:
    description:
      - Add the default groups C(cloud_<cloud>), C(region_<region>), C(project_<project id>),
        C(az_<zone>), C(flavor_<flavor>), C(image_<image>), C(status_<status>), and C(meta_<key>) and
        C(meta_<key>_<value>) (short values) for the metadata keys of O(metadata_groups).
    type: bool
    default: true
  group_prefix:
    description: Prefix of every default group name, e.g. V(os_) gives C(os_cloud_demo).
    type: str
    default: ""
  legacy_groups:
    description:
      - Also add openstack.cloud's groups (cloud, region, C(<cloud>_<region>), metadata C(group) and C(groups),
        C(meta-<key>_<value>), C(instance-<id>) (one group per host), C(flavor-<name>), C(image-<name>),
        the availability zone and its region/cloud combinations).
      - openstack.cloud's default is V(true).
    type: bool
    default: false
  fail_on_errors:
    description:
      - When a cloud (or one of its regions) fails, V(false) warns, naming the cloud, and adds the other
        clouds' hosts.
      - V(true) fails the whole source with a parse error naming the failed clouds, with no host added.
        Ansible then warns and goes on without this source, unless it is configured to fail on an unparsed
        source (C([inventory] any_unparsed_is_failed), or C(unparsed_is_failed) when no source parsed, which
        AWX sets); then the command fails. Set one of them to make a failed cloud fail the command.
    type: bool
    default: false
notes:
  - The cache (O(cache=true)) stores only the host variables, which hold no credential. A run with a
    failed cloud does not write the cache.
  - For AWX, use this file as an inventory source from a project, with C(enabled_var=openstack.status),
    C(enabled_value=ACTIVE) and C(instance_id_var=openstack.id); see docs/inventory.md.
requirements:
  - SQLAlchemy (O(source=cmdb), O(clouds_from=accounts))
  - openstacksdk >= 4.0 (O(source=live))
"""

EXAMPLES = r"""
# inventory.cmdb_openstack.yml: servers from the CMDB, no API call
plugin: cmdb.openstack.inventory
cmdb_url: sqlite:////var/lib/cmdb/cmdb.sqlite
max_age: 30m
keyed_groups:
  - key: openstack.metadata.role | default('none')
    prefix: role

---
# openstack.yml: live from every cloud of clouds.yaml, as openstack.cloud.openstack did
plugin: cmdb.openstack.inventory
source: live
all_projects: true
only_clouds: [prod-east, prod-west]
fail_on_errors: false
legacy_groups: true
server_filters:
  status: ACTIVE
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/cmdb-openstack-inventory
cache_timeout: 300
"""

import gc
import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import Cacheable

from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_hosts as hosts
from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_sources as sources
from ansible_collections.cmdb.openstack.plugins.plugin_utils.inventory_base import CmdbInventoryBase


class InventoryModule(CmdbInventoryBase, Cacheable):
    NAME = "cmdb.openstack.inventory"
    SUFFIXES = ("openstack.yml", "openstack.yaml")

    # -----------------------------------------------------------------------------------------

    def parse(self, inventory, loader, path, cache=True):
        # Tens of thousands of new, acyclic containers (rows, views, hosts): the cyclic garbage
        # collector would walk them over and over while they are built (10-20 % of the parse);
        # reference counting frees them anyway, and collection resumes afterwards.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._parse(inventory, loader, path, cache)
        finally:
            if collecting:
                gc.enable()

    def _parse(self, inventory, loader, path, cache):
        self.read_config(inventory, loader, path, cache=cache)
        try:
            self._options_checked = self._check_options()
        except ValueError as exc:
            raise self.error_from(exc)

        use_cache = bool(self.get_option("cache"))
        cache_key = self.get_cache_key(path) if use_cache else None
        data = None
        needs_update = use_cache and not cache
        if use_cache and cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                needs_update = True
            if data is not None and not (isinstance(data, dict) and isinstance(data.get("views"), list)):
                data = None
                needs_update = True
        if data is None:
            data = self._fetch()
            if needs_update and not data["failures"]:
                self._cache[cache_key] = data
        else:
            self.display.vvv("cmdb.openstack.inventory: %d servers from the cache %s" % (len(data["views"]), cache_key))

        for message in data.get("warnings") or ():
            self.display.warning("cmdb.openstack.inventory: %s" % message)
        self._populate(data["views"])
        if data.get("sync_status"):
            # Per cloud, region and type: age of the last successful sync, stale, left_catalog.
            self.inventory.set_variable("all", "cmdb_sync_status", data["sync_status"])

    # -----------------------------------------------------------------------------------------

    def _check_options(self):
        from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError
        from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import parse_interval

        max_age = self.get_option("max_age")
        if max_age in (None, "", "0", 0):
            max_age = 0
        else:
            try:
                max_age = parse_interval(max_age, field="max_age")
            except CmdbError as exc:
                raise ValueError(exc.message)
        preference = hosts.address_preference(self.get_option("address_preference"), self.get_option("private"))
        filters = dict(self.get_option("server_filters") or {})
        unknown = sorted(set(filters) - set(hosts.SERVER_FILTER_KEYS))
        if unknown:
            raise ValueError(
                "server_filters: unknown key(s) %s; valid keys are: %s"
                % (", ".join(unknown), ", ".join(hosts.SERVER_FILTER_KEYS))
            )
        if "name" in filters:
            try:
                re.compile(str(filters["name"]))
            except re.error as exc:
                raise ValueError("server_filters.name: not a regular expression (%s)" % exc)
        limit = self.get_option("max_metadata_groups")
        if limit is None or limit < 0:
            raise ValueError("max_metadata_groups: must be 0 or more (got %r)" % (limit,))
        return {"max_age": max_age, "preference": preference, "filters": filters}

    def _fetch(self):
        source = self.get_option("source")
        try:
            if source == "cmdb":
                result = self._from_cmdb()
            else:
                result = self._from_live()
        except AnsibleParserError:
            raise
        except Exception as exc:
            raise self.error_from(exc)
        failures = list(result.failures)
        if failures:
            text = "; ".join(str(f) for f in failures)
            if self.get_option("fail_on_errors"):
                # No host is added. Ansible fails the command when [inventory] any_unparsed_is_failed
                # (or unparsed_is_failed, for a sole source; AWX sets it) is on, else it warns.
                raise self.error(
                    "fail_on_errors is set and %d cloud(s) failed, so no host is returned: %s" % (len(failures), text)
                )
            for failure in failures:
                self.display.warning(
                    "cmdb.openstack.inventory: %s; the hosts of the other clouds are returned" % failure
                )
        return {
            "views": result.views,
            "warnings": list(result.warnings),
            "failures": [f.as_dict() for f in failures],
            "sync_status": (result.info or {}).get("sync_status") or [],
        }

    def _from_cmdb(self):
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import inventory_view

        store = self.open_cmdb(self.get_option("cmdb_url"))
        try:
            only = self.get_option("only_clouds")
            if only:
                self.check_known("only_clouds", only, inventory_view.known_clouds(store))
            return sources.read_cmdb(
                store,
                clouds=self.get_option("only_clouds"),
                regions=self.get_option("regions"),
                projects=self.get_option("projects"),
                max_age=self._options_checked["max_age"],
                include_deleted=self.get_option("include_deleted"),
            )
        finally:
            store.close()

    def _targets(self):
        """[{"name", "params"}] for source: live, plus failures of accounts that cannot be used."""
        only = list(self.get_option("only_clouds") or [])
        extra = {"api_timeout": self.get_option("api_timeout")}
        if self.get_option("regions"):
            extra["region_name"] = list(self.get_option("regions"))
        failures = []
        targets = []
        if self.get_option("clouds_from") == "accounts":
            from ansible_collections.cmdb.openstack.plugins.module_utils import credentials
            from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts

            store = self.open_cmdb(self.get_option("cmdb_url"))
            try:
                found = accounts.list_accounts(store)
                self.check_known("only_clouds", only, [account["name"] for account in found], kind="account")
                for account in found:
                    name = account["name"]
                    if only and name not in only:
                        continue
                    try:
                        params = credentials.connection_params(store, name, overrides=dict(extra))
                    except Exception as exc:
                        failures.append(
                            sources.Failure(name, getattr(exc, "message", None) or str(exc), status="unavailable")
                        )
                        continue
                    targets.append(dict({"name": name, "params": params}, **sources.account_scope(account)))
            finally:
                store.close()
            return targets, failures

        paths = [p for p in (self.get_option("clouds_yaml_path") or []) if p]
        try:
            import openstack.config
            from openstack.config import loader
        except ImportError:
            raise self.error("source: live needs the Python library openstacksdk (pip install openstacksdk)")
        files = paths + list(loader.CONFIG_FILES) if paths else None
        config = openstack.config.OpenStackConfig(config_files=files, load_envvars=False)
        names = [n for n in config.get_cloud_names() if n not in ("envvars", "defaults")]
        if only:
            self.check_known("only_clouds", only, names, kind="cloud of clouds.yaml")
            names = [n for n in names if n in only]
        for name in names:
            params = dict(extra)
            if paths:
                # A clouds.yaml outside openstacksdk's search path: hand over the (secure.yaml-merged) entry.
                entry = dict(config.cloud_config["clouds"].get(name) or {})
                entry["name"] = name
                params["cloud"] = entry
            else:
                params["cloud"] = name
            targets.append({"name": name, "params": params})
        return targets, failures

    def _from_live(self):
        if self.display.verbosity < 4:
            # keystoneauth/openstacksdk log warnings (e.g. version discovery of a dead cloud) to stderr
            # through Python's last-resort handler; the plugin reports each failed cloud itself.
            import logging

            for name in ("keystoneauth", "openstack"):
                logger = logging.getLogger(name)
                if not logger.handlers:
                    logger.addHandler(logging.NullHandler())
        targets, failures = self._targets()
        filters = dict(self._options_checked["filters"])
        filters.pop("project_id", None)  # not a Nova filter for every user; applied locally
        result = sources.read_live(
            targets,
            all_projects=self.get_option("all_projects"),
            server_filters=filters,
            expand=self.get_option("expand_hostvars"),
            timeout=self.get_option("timeout"),
        )
        result.failures = failures + result.failures
        return result

    # -----------------------------------------------------------------------------------------

    def _populate(self, views):
        checked = getattr(self, "_options_checked", None) or self._check_options()
        filters = checked["filters"]
        projects = set(self.get_option("projects") or ())
        show_all = self.get_option("show_all")
        selected = []
        for view in views:
            if filters and not hosts.match_server_filters(view, filters):
                continue
            if projects and view.get("project_id") not in projects:
                continue
            if not show_all and not view.get("addresses"):
                continue
            selected.append(view)
        inventory = self.inventory
        guard = hosts.NameGuard(self.get_option("reserved_host_names"), self._existing_names(inventory))
        renamed = []
        names = hosts.unique_host_names(selected, self.get_option("inventory_hostname"), guard, renamed)
        self._warn_renamed(renamed, selected, names)
        metadata = hosts.MetadataGroups(self.get_option("metadata_groups"), self.get_option("max_metadata_groups"))
        self._keyed_limit = metadata

        preference = checked["preference"]
        only_ipv4 = self.get_option("only_ipv4")
        use_names = self.get_option("use_names")
        want_default = self.get_option("default_groups")
        prefix = self.get_option("group_prefix") or ""
        want_legacy = self.get_option("legacy_groups")
        compose = self.get_option("compose")
        groups_opt = self.get_option("groups")
        keyed = self.get_option("keyed_groups")
        constructed = bool(compose or groups_opt or keyed)
        compact = self.get_option("host_vars") != "full"
        with_deleted = bool(self.get_option("include_deleted"))
        host_names = frozenset(names)
        members = {}
        refused = frozenset(index for index, _why in renamed)
        for index, (name, view) in enumerate(zip(names, selected)):
            hostvars = {"openstack": hosts.compact_view(view, with_deleted) if compact else view}
            # use_names must not point ansible_host at a refused name (localhost, an IP literal, ...)
            address = hosts.ansible_host_for(view, preference, only_ipv4, use_names and index not in refused)
            if address:
                hostvars["ansible_host"] = address
            host = self.add_host_with_vars(name, hostvars, bulk=True)
            if want_default:
                for group in hosts.default_groups(view, prefix, metadata):
                    members.setdefault(group, []).append(host)
            if want_legacy:
                for group in hosts.legacy_groups(view, name, guard, host_names, metadata):
                    members.setdefault(group, []).append(host)
            if constructed:
                self.construct(host, hostvars)
        for group, group_hosts in members.items():
            group = inventory.add_group(group)
            for host in group_hosts:
                if group == host:
                    # openstack.cloud's legacy groups may equal a host name: Ansible forbids a host in
                    # a group of its own name, so that host stays out of it.
                    continue
                inventory.add_child(group, host)
        if metadata.over:
            example, keys = metadata.example
            self.display.warning(
                "cmdb.openstack.inventory: %d host(s) have more metadata groups than max_metadata_groups (%d); "
                "only the first %d (by key) were made for each (e.g. server %r: %d)"
                % (len(metadata.over), metadata.limit, metadata.limit, example, keys)
            )

    @staticmethod
    def _existing_names(inventory):
        """{name: (cloud, server id) or None} of the hosts and groups other sources already added."""
        existing = dict.fromkeys(inventory.groups)
        for name, host in inventory.hosts.items():
            view = host.vars.get("openstack") if isinstance(getattr(host, "vars", None), dict) else None
            existing[name] = (view.get("cloud"), view.get("id")) if isinstance(view, dict) else None
        return existing

    def _warn_renamed(self, renamed, views, names, most=20):
        for index, why in sorted(renamed, key=lambda item: names[item[0]])[:most]:
            view = views[index]
            self.display.warning(
                "cmdb.openstack.inventory: server %r (cloud %r, region %r, id %s) is not used as a host name "
                "because %s; its host is %r"
                % (view.get("name"), view.get("cloud"), view.get("region"), view.get("id"), why, names[index])
            )
        if len(renamed) > most:
            self.display.warning(
                "cmdb.openstack.inventory: %d more servers were renamed for the same reasons" % (len(renamed) - most)
            )

    def _add_host_to_keyed_groups(self, keys, variables, host, strict=False, fetch_hostvars=True):
        """ansible-core's keyed groups, with a key that gives a list or a dict (tenant data such as
        ``openstack.metadata``) bounded by max_metadata_groups."""
        metadata = getattr(self, "_keyed_limit", None)
        if metadata is None or metadata.limit is None:
            return super(InventoryModule, self)._add_host_to_keyed_groups(keys, variables, host, strict, fetch_hostvars)
        compose = self._compose

        def bounded(template, variables, *args, **kwargs):
            value = compose(template, variables, *args, **kwargs)
            if isinstance(value, (list, dict)) and len(value) > metadata.limit:
                view = variables.get("openstack") if isinstance(variables, dict) else None
                metadata.note(view if isinstance(view, dict) else {"id": host, "name": host}, len(value))
                if isinstance(value, dict):
                    value = dict((k, value[k]) for k in sorted(value, key=str)[: metadata.limit])
                else:
                    value = value[: metadata.limit]
            return value

        self._compose = bounded
        try:
            return super(InventoryModule, self)._add_host_to_keyed_groups(keys, variables, host, strict, fetch_hostvars)
        finally:
            del self._compose
