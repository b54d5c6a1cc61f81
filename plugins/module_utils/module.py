# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base: what every module in ``plugins/modules`` shares.

A module declares, at module level, a :class:`ModuleSpec` (named option groups + its own options +
the Python libraries it needs) and its ``main()`` is one line::

    SPEC = ModuleSpec(groups=("cmdb",), options=dict(older_than=dict(type="str", required=True)),
                      libraries=("SQLAlchemy", "alembic"))

    def main():
        CmdbModule(SPEC).run(lambda module: run_purge(module.params, check_mode=module.check_mode))

:class:`CmdbModule` (an ``AnsibleModule``) then

* builds the argument spec from the groups of :data:`OPTION_GROUPS` (each the twin of one doc
  fragment, named in :data:`GROUP_FRAGMENTS`) and the module's own options, each option defined once;
* hides every secret of the parameters (:func:`parameter_secrets`: the one rule of
  ``module_utils/secrets.py`` over every option, and the password of every URL option such as
  ``cmdb_url`` or ``netbox_url``) by adding it to ``no_log_values`` before anything can fail;
* checks the libraries (``fail_json`` with ``missing_required_lib``);
* runs the module's function in :meth:`CmdbModule.run`, the ONE place that turns an exception into
  ``fail_json`` (a ``CmdbError`` gives its message; anything else a one-line message naming the
  module, with the traceback only in ``exception``), and turns the returned dict into the result:
  ``warnings`` become ``module.warn``, ``diff`` is returned in diff mode only, ``failed`` fails.

The *secret* tests (tests/integration/secrets/) read :data:`SPEC` of every module through
:func:`module_spec` and give each secret a marker value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import importlib
import traceback
from collections import OrderedDict
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog as _catalog
from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
from ansible_collections.cmdb.openstack.plugins.module_utils import secrets as _secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError

#: ``types`` accepts plural and singular names and ``all``.
TYPE_CHOICES = _catalog.TYPE_CHOICES

#: The version in which deprecated option aliases are removed.
ALIAS_REMOVAL_VERSION = "2.0.0"
COLLECTION_NAME = "cmdb.openstack"

# -------------------------------------------------------------------------------------------------
# Option groups. Each group is the argument-spec twin of exactly one doc fragment (GROUP_FRAGMENTS):
# a module that uses a group extends that fragment, and nothing else defines those options.

_CONNECTION = _connection.CONNECTION_ARGUMENT_SPEC

OPTION_GROUPS = OrderedDict(
    (
        # cmdb.openstack.connection: how to reach the cloud (region choice excluded, see below)
        ("connection", OrderedDict((key, value) for key, value in _CONNECTION.items() if key != "region_name")),
        # cmdb.openstack.connection.region_name: the *_info modules, as in openstack.cloud
        ("region_name", OrderedDict((("region_name", _CONNECTION["region_name"]),))),
        # cmdb.openstack.connection.regions: cmdb_sync and cloud_permissions_info (region_name deprecated)
        (
            "regions",
            OrderedDict(
                (
                    (
                        "regions",
                        dict(
                            type="list",
                            elements="str",
                            aliases=["region_name"],
                            deprecated_aliases=[
                                dict(name="region_name", version=ALIAS_REMOVAL_VERSION, collection_name=COLLECTION_NAME)
                            ],
                        ),
                    ),
                )
            ),
        ),
        # cmdb.openstack.connection.info: what every *_info module accepts
        (
            "info",
            OrderedDict(
                (
                    ("all_projects", dict(type="bool", default=True)),
                    ("project_id", dict(type="str")),
                    ("filters", dict(type="dict")),
                    ("strict", dict(type="bool", default=False)),
                    ("fail_on_listing_errors", dict(type="bool", default=True)),
                )
            ),
        ),
        # cmdb.openstack.load_balancers
        ("load_balancers", OrderedDict((("resolve_member_ports", dict(type="bool", default=False)),))),
        # cmdb.openstack.cmdb
        ("cmdb", OrderedDict((("cmdb_url", dict(type="str")),))),
    )
)

#: The doc fragment that documents each option group (tests/unit/plugins/module_utils/test_module.py
#: checks that both name the same options, and that every module extends the fragments of its groups).
GROUP_FRAGMENTS = OrderedDict(
    (
        ("connection", "cmdb.openstack.connection"),
        ("region_name", "cmdb.openstack.connection.region_name"),
        ("regions", "cmdb.openstack.connection.regions"),
        ("info", "cmdb.openstack.connection.info"),
        ("load_balancers", "cmdb.openstack.load_balancers"),
        ("cmdb", "cmdb.openstack.cmdb"),
    )
)

# -------------------------------------------------------------------------------------------------
# Libraries: name -> function returning (available, import error). Imported only when checked, so
# that a module that needs no openstacksdk does not pay for importing it. By the library's own name
# (importlib), not through the module_utils that use it: AnsiballZ ships every module_utils a module
# imports anywhere in its source, and shipping the CMDB and NetBox code with every info module made
# their payload 60 % larger (and the module's process 3 % more instructions).


def _openstacksdk():
    return _connection.HAS_OPENSTACK, _connection.OPENSTACK_IMPORT_ERROR


def _importable(name):
    def check():
        try:
            importlib.import_module(name)
        except ImportError:
            return False, traceback.format_exc()
        return True, None

    return check


LIBRARIES = OrderedDict(
    (
        ("openstacksdk", _openstacksdk),
        ("SQLAlchemy", _importable("sqlalchemy")),
        ("alembic", _importable("alembic")),
        ("pynetbox", _importable("pynetbox")),
        ("requests", _importable("requests")),
    )
)

#: The libraries of the CMDB (every module with the ``cmdb`` group that opens the database).
CMDB_LIBRARIES = ("SQLAlchemy", "alembic")

# -------------------------------------------------------------------------------------------------
# Secrets


def url_password(url):
    """The password inside a URL (``scheme://user:password@host/...``), as a list of the forms it may
    be printed in (as written, and percent-decoded); ``[]`` when there is none."""
    if not isinstance(url, str) or "@" not in url:
        return []
    try:
        password = urlsplit(url.strip()).password
    except ValueError:
        password = None
    if not password:
        # urlsplit reads "user:pass@host" only after "//"; SQLAlchemy URLs always have it, but a
        # password containing "/" or "?" (not percent-encoded) stops urlsplit early.
        netloc = url.split("://", 1)[-1].rsplit("@", 1)[0]
        password = netloc.split(":", 1)[1] if ":" in netloc else None
    if not password:
        return []
    found = [password]
    decoded = unquote(password)
    if decoded != password:
        found.append(decoded)
    return found


def is_url_key(key):
    """True when an option (or a key inside a dict option) holds a URL that may carry a password."""
    key = str(key).lower()
    return key == "url" or key.endswith("_url")


def parameter_secrets(params):
    """Every secret in a module's parameters: values under a secret key anywhere
    (:func:`secrets.secret_values`: ``auth.password``, ``cloud.auth.application_credential_secret``,
    ``netbox_token`` ...) and the password inside every URL option or URL key (``cmdb_url``,
    ``netbox_url``, ``cloud.auth.auth_url`` ...)."""
    found = list(_secrets.secret_values(params))

    def walk(item):
        if isinstance(item, dict):
            for key, child in item.items():
                if is_url_key(key):
                    for secret in url_password(child):
                        if secret not in found:
                            found.append(secret)
                walk(child)
        elif isinstance(item, (list, tuple)):
            for child in item:
                walk(child)

    walk(params or {})
    return found


# -------------------------------------------------------------------------------------------------
# The module specification and the module


class ModuleSpec:
    """What a module declares: option groups, own options, libraries, AnsibleModule constraints.

    ``libraries``: names of :data:`LIBRARIES`, or ``(name, predicate)`` where ``predicate(params)``
    says whether this run needs it (``cloud_permissions_info`` needs SQLAlchemy only with ``account``).
    """

    def __init__(
        self,
        groups=(),
        options=None,
        libraries=(),
        supports_check_mode=True,
        mutually_exclusive=None,
        required_together=None,
        required_one_of=None,
        required_if=None,
        name=None,
    ):
        unknown = [group for group in groups if group not in OPTION_GROUPS]
        if unknown:
            raise ValueError("unknown option group(s): %s" % ", ".join(unknown))
        self.groups = tuple(groups)
        self.options = OrderedDict(options or {})
        self.libraries = tuple(libraries)
        for entry in self.libraries:
            library = entry[0] if isinstance(entry, tuple) else entry
            if library not in LIBRARIES:
                raise ValueError("unknown library %r (known: %s)" % (library, ", ".join(LIBRARIES)))
        self.supports_check_mode = supports_check_mode
        self.constraints = dict(
            (key, value)
            for key, value in (
                ("mutually_exclusive", mutually_exclusive),
                ("required_together", required_together),
                ("required_one_of", required_one_of),
                ("required_if", required_if),
            )
            if value
        )
        self.name = name
        self.argument_spec()  # fail at import, not at run time, on a duplicate option

    @property
    def fragments(self):
        """The doc fragments the module's DOCUMENTATION must extend (one per group)."""
        return [GROUP_FRAGMENTS[group] for group in self.groups]

    def argument_spec(self):
        """A fresh argument spec: the groups' options, then the module's own; each option once."""
        spec = OrderedDict()
        origin = {}
        sources = [(group, OPTION_GROUPS[group]) for group in self.groups] + [("the module", self.options)]
        for source, options in sources:
            for key, value in options.items():
                names = [key] + list(value.get("aliases") or [])
                for name in names:
                    if name in origin:
                        raise ValueError(
                            "option %r is defined by both %s and %s: define it once" % (name, origin[name], source)
                        )
                    origin[name] = source
                spec[key] = copy.deepcopy(value)
        return spec

    def module_kwargs(self):
        kwargs = dict(argument_spec=self.argument_spec(), supports_check_mode=self.supports_check_mode)
        kwargs.update(copy.deepcopy(self.constraints))
        return kwargs


class CmdbModule(AnsibleModule):
    """An AnsibleModule built from a :class:`ModuleSpec`: secrets hidden, libraries checked."""

    def __init__(self, spec):
        self.spec = spec
        super(CmdbModule, self).__init__(**spec.module_kwargs())
        # Before anything else can fail or print: every secret of the parameters is hidden.
        self.no_log_values.update(parameter_secrets(self.params))
        self.check_libraries()

    @property
    def module_name(self):
        return self.spec.name or getattr(self, "_name", None) or "module"

    def check_libraries(self):
        for entry in self.spec.libraries:
            library, predicate = entry if isinstance(entry, tuple) else (entry, None)
            if predicate is not None and not predicate(self.params):
                continue
            available, error = LIBRARIES[library]()
            if not available:
                self.fail_json(msg=missing_required_lib(library), exception=str(error) if error is not None else None)

    def fail_from_exception(self, exc):
        """The one translation of an exception into ``fail_json``."""
        if isinstance(exc, CmdbError):
            self.fail_json(msg=exc.message)
        # A bug or an unforeseen library error: still one readable message; the traceback only
        # in ``exception`` (shown by Ansible at -vvv), never as the message.
        self.fail_json(
            msg="%s failed: unexpected %s: %s" % (self.module_name, type(exc).__name__, exc),
            exception=traceback.format_exc(),
        )

    def run(self, function):
        """``result = function(self)`` (a dict), then exit_json/fail_json; never returns.

        In the result: ``warnings`` (a list) become warnings, ``diff`` is returned in diff mode
        only, ``failed`` (true) fails the task with the rest of the result, ``changed`` defaults
        to false.
        """
        try:
            result = function(self)
        except Exception as exc:  # pylint: disable=broad-except
            self.fail_from_exception(exc)
        result = dict(result or {})
        for warning in result.pop("warnings", None) or []:
            self.warn(warning)
        diff = result.pop("diff", None)
        if self._diff and diff is not None:
            result["diff"] = diff
        result.setdefault("changed", False)
        if result.pop("failed", False):
            result.setdefault("msg", "%s failed" % self.module_name)
            self.fail_json(**result)
        self.exit_json(**result)


def module_spec(module):
    """The :class:`ModuleSpec` of an imported module file (its ``SPEC``), or None."""
    spec = getattr(module, "SPEC", None)
    return spec if isinstance(spec, ModuleSpec) else None
