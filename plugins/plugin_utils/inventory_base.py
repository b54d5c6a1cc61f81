# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of both inventory plugins (``cmdb.openstack.inventory`` and ``cmdb.openstack.clouds``).

Built on ansible-core's public inventory classes (``BaseInventoryPlugin``, ``Constructable``; the
inventory plugin adds ``Cacheable``) and its public inventory calls only: hosts, groups and
variables go through ``self.inventory.add_host``/``add_group``/``add_child``/``set_variable``, so
ansible-core's trust and origin tagging apply to every value. Strings set by a plugin are not
trusted as templates on ansible-core >= 2.19 (``trusted_by_default`` is false), so data from a
cloud or from the CMDB is never templated.

Every failure is an ``AnsibleParserError`` naming the plugin and the source file. What Ansible
then does is its documented behaviour: it warns and goes on without this source, unless
``[inventory] any_unparsed_is_failed`` (``ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED``) or, when it
is the only source, ``unparsed_is_failed`` (``ANSIBLE_INVENTORY_UNPARSED_FAILED``, which AWX sets)
makes it fail the command.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError


def unknown_names_message(option, requested, known, kind):
    """The message for names of ``option`` that are not among ``known``, or None when all are known."""
    unknown = [name for name in requested or () if name not in set(known)]
    if not unknown:
        return None
    return "%s: unknown %s %s; the known %s are: %s" % (
        option,
        kind if len(unknown) == 1 else kind + "s",
        ", ".join(repr(name) for name in unknown),
        kind + "s",
        ", ".join(sorted(known)) or "none",
    )


class CmdbInventoryBase(BaseInventoryPlugin, Constructable):
    """What both plugins share: file names, errors, the read-only CMDB, ``only_clouds``, hosts."""

    #: file name endings this plugin accepts (``verify_file``)
    SUFFIXES = ()

    _source = None

    def verify_file(self, path):
        if not super(CmdbInventoryBase, self).verify_file(path):
            return False
        return str(path).endswith(self.SUFFIXES)

    def read_config(self, inventory, loader, path, cache=True):
        """ansible-core's ``parse`` preamble: the inventory, the loader, the options of ``path``."""
        BaseInventoryPlugin.parse(self, inventory, loader, path, cache=cache)
        self._source = path
        self._read_config_data(path)

    def error(self, message):
        """An ``AnsibleParserError`` naming the plugin and the source (raise it)."""
        return AnsibleParserError("%s (%s): %s" % (self.NAME, self._source, message))

    def error_from(self, exc):
        """``error`` for an exception: the collection's own errors keep their message."""
        if isinstance(exc, CmdbError):
            return self.error(exc.message)
        text = str(getattr(exc, "message", None) or exc)
        if not isinstance(exc, ValueError):
            text = "%s: %s" % (exc.__class__.__name__, text)
        return self.error(text)

    def require_sqlalchemy(self):
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import store

        missing = store.missing_libraries(migrate=False)
        if missing:
            raise self.error("reading the CMDB needs the Python libraries %s (pip install them)" % ", ".join(missing))

    def open_cmdb(self, url):
        """The CMDB at ``url``, read-only: nothing is created or migrated; a missing database is an
        error naming the URL (password masked)."""
        self.require_sqlalchemy()
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import inventory_view

        try:
            return inventory_view.open_read_only(url)
        except CmdbError as exc:
            raise self.error_from(exc)

    def check_known(self, option, requested, known, kind="cloud"):
        """Refuse names in ``option`` that are not ``known`` (an error naming both)."""
        message = unknown_names_message(option, requested, known, kind)
        if message:
            raise self.error(message)

    def add_host_with_vars(self, name, variables, bulk=False):
        """Add the host ``name`` with ``variables``; returns the host name.

        By default through ``self.inventory.set_variable`` (ansible-core copies every value and tags
        it with this source as its origin). ``bulk=True`` (the inventory plugin's thousands of
        freshly built, plain JSON views that nothing else references) sets them on the host object
        (public ``InventoryData.get_host`` and ``Host.set_variable``): no copy and no origin tag,
        which cost 0.2 ms a host (about 2 s of CPU for 10,000 hosts, see docs/inventory.md). Trust
        is the same either way: no value carries the trusted-as-template tag, so none is templated.
        """
        host = self.inventory.add_host(name)
        if bulk:
            target = self.inventory.get_host(host)
            for key, value in variables.items():
                target.set_variable(key, value)
        else:
            for key, value in variables.items():
                self.inventory.set_variable(host, key, value)
        return host

    def construct(self, host, variables):
        """``compose``, ``groups`` and ``keyed_groups`` (Constructable) for one host."""
        strict = self.get_option("strict")
        self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
