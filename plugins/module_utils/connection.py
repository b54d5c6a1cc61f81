# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options -> one authenticated openstacksdk Connection per region.

The options are the same everywhere (modules, inventory, CMDB sync) and are
documented once in ``plugins/doc_fragments/connection.py``. Resolution follows
openstacksdk: a ``cloud`` name is looked up in ``clouds.yaml`` / ``secure.yaml``
in their standard places (or ``OS_CLIENT_CONFIG_FILE``); without ``cloud`` the
``OS_CLOUD`` variable and ``OS_*`` variables are used; a ``cloud`` dict is a
complete cloud configuration (as a ``clouds.yaml`` entry) and no file is read.

Only public openstacksdk / keystoneauth API is used here: ``OpenStackConfig``,
``Connection``, ``cloud_region.from_session`` and the keystoneauth session's
auth plugin (``get_access``) for the service catalog.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import warnings

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CloudError, ConfigurationError

try:
    import openstack
    import openstack.config
    import openstack.connection
    import openstack.exceptions
    from openstack.config import cloud_region as _cloud_region

    HAS_OPENSTACK = True
    OPENSTACK_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    HAS_OPENSTACK = False
    OPENSTACK_IMPORT_ERROR = _exc

try:
    from keystoneauth1 import exceptions as ks_exceptions

    HAS_KEYSTONEAUTH = True
except ImportError:  # pragma: no cover - comes with openstacksdk
    HAS_KEYSTONEAUTH = False

try:
    from urllib.parse import urlparse
except ImportError:  # pragma: no cover - Python 2 is not supported
    from urlparse import urlparse

try:
    import yaml

    HAS_YAML = True
    # libyaml's parser when PyYAML was built with it: the pure-Python one costs tens of ms per file
    _YAML_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:  # pragma: no cover - comes with ansible-core and openstacksdk
    HAS_YAML = False

ALL_REGIONS = "all"

# openstacksdk warns about its own deprecated defaults (InfluxDB, statsd) on every config load.
_SDK_WARNINGS = (DeprecationWarning, PendingDeprecationWarning)

CONNECTION_ARGUMENT_SPEC = dict(
    cloud=dict(type="raw"),
    auth=dict(type="dict", no_log=True),
    auth_type=dict(type="str"),
    region_name=dict(type="list", elements="str"),
    interface=dict(type="str", choices=["public", "internal", "admin"], aliases=["endpoint_type"]),
    validate_certs=dict(type="bool", aliases=["verify"]),
    ca_cert=dict(type="path", aliases=["cacert"]),
    api_timeout=dict(type="float"),
)

#: Keys whose values are secrets wherever they appear (auth dicts, cloud dicts, clouds.yaml entries).
SECRET_KEYS = frozenset(
    (
        "password",
        "application_credential_secret",
        "token",
        "auth_token",
        "secret",
        "client_secret",
        "access_secret",
        "passcode",
        "totp",
        "os_password",
    )
)


class AuthenticationFailed(CloudError):
    """The identity service refused the credentials (HTTP 401)."""


def _is_secret_key(key):
    key = str(key).lower().replace("-", "_")
    return key in SECRET_KEYS or key.endswith("_password") or key.endswith("_secret")


def connection_secrets(params):
    """Every secret value found anywhere in ``params`` (for ``module.no_log_values``).

    Walks dicts and lists (``cloud`` dict, ``auth`` dict, nested ``auth`` inside ``cloud``)
    and returns the string values of secret keys (password, application credential secret,
    token, ...).
    """
    found = []

    def walk(value, secret=False):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, secret or _is_secret_key(key))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item, secret)
        elif secret and value not in (None, "") and not isinstance(value, bool):
            text = str(value)
            if text not in found:
                found.append(text)

    walk(params or {})
    return found


def _require_sdk():
    if not HAS_OPENSTACK:
        raise ConfigurationError(
            "the openstacksdk Python library is required (pip install openstacksdk): %s" % OPENSTACK_IMPORT_ERROR
        )


def _describe_exception(exc):
    """One line for an exception from openstacksdk / keystoneauth / requests."""
    text = str(exc).strip() or exc.__class__.__name__
    text = " ".join(text.split())
    if len(text) > 500:
        text = text[:500] + "..."
    return "%s: %s" % (exc.__class__.__name__, text)


def _config_files_hint(config):
    files = getattr(config, "config_filename", None)
    if files:
        return "clouds.yaml used: %s" % files
    return (
        "no clouds.yaml found (looked in ./clouds.yaml, ~/.config/openstack/, /etc/openstack/ "
        "and OS_CLIENT_CONFIG_FILE)"
    )


def _sdk_options(params):
    """Module options -> openstacksdk get_one() keyword arguments (None values left out)."""
    options = {}
    if params.get("auth"):
        options["auth"] = dict(params["auth"])
    if params.get("auth_type"):
        options["auth_type"] = params["auth_type"]
    if params.get("interface"):
        options["interface"] = params["interface"]
    if params.get("validate_certs") is not None:
        options["verify"] = params["validate_certs"]
    if params.get("ca_cert"):
        options["cacert"] = params["ca_cert"]
    if params.get("api_timeout") is not None:
        options["api_timeout"] = params["api_timeout"]
    return options


def _region_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    regions = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name")
        if item and str(item) not in regions:
            regions.append(str(item))
    return regions


class CloudSession:
    """An authenticated cloud: its name, the regions to gather and a Connection per region.

    All region connections share one keystoneauth session (one token, re-authenticated by
    keystoneauth when it expires); each has its own catalog/region settings.
    """

    def __init__(self, name, base_connection, regions, config_dict, catalog_regions=None):
        self.name = name
        self.regions = list(regions)
        self.catalog_regions = list(catalog_regions or [])
        self._base = base_connection
        self._config_dict = config_dict
        self._connections = {base_connection.config.region_name or "": base_connection}
        self._lock = threading.Lock()
        self._closed = False
        #: Warnings for the user (e.g. a cloud name made up from OS_* variables).
        self.warnings = []

    @property
    def session(self):
        """The shared keystoneauth session."""
        return self._base.session

    def project_id(self):
        """Id of the project the token is scoped to (or None)."""
        try:
            return self._base.session.get_project_id()
        except Exception:  # a best-effort lookup
            return None

    def connection(self, region):
        """The openstacksdk Connection for ``region`` (created on first use, thread-safe)."""
        with self._lock:
            conn = self._connections.get(region)
            if conn is None:
                cloud_config = _cloud_region.from_session(
                    self._base.session, name=self._base.config.name, region_name=region, **self._config_dict
                )
                conn = openstack.connection.Connection(config=cloud_config)
                self._connections[region] = conn
            return conn

    def close(self):
        """Close every connection (and the shared session's HTTP pool)."""
        if self._closed:
            return
        self._closed = True
        for conn in list(self._connections.values()):
            try:
                conn.close()
            except Exception:  # noqa: S110 - closing is best effort
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _catalog_regions(conn):
    """Region names in the token's service catalog, in catalog order."""
    access = conn.session.auth.get_access(conn.session)
    catalog = access.service_catalog
    regions = []
    for endpoints in catalog.get_endpoints().values():
        for endpoint in endpoints:
            region = endpoint.get("region_id") or endpoint.get("region")
            if region and region not in regions:
                regions.append(region)
    return regions


def _config_file_candidates():
    """The clouds.yaml / secure.yaml files openstacksdk reads, in its documented search order."""
    explicit = [os.environ.get(var) for var in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE")]
    if any(explicit):
        return [path for path in explicit if path]
    folders = [os.getcwd(), os.path.expanduser("~/.config/openstack"), "/etc/openstack"]
    return [
        os.path.join(folder, "%s.%s" % (stem, ext))
        for stem in ("clouds", "secure")
        for folder in folders
        for ext in ("yaml", "yml")
    ]


def _check_config_files_parse(cloud_name=None):
    """openstacksdk silently skips a clouds.yaml it cannot parse and then reports the cloud as
    missing (or reads another file further down the search path); name the broken file instead."""
    if not HAS_YAML:
        return
    for path in _config_file_candidates():
        if not os.path.isfile(path):
            continue
        try:
            with open(path) as handle:
                content = yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(
                "%s%s is not a valid clouds.yaml: %s. Fix the file (YAML syntax) or point "
                "OS_CLIENT_CONFIG_FILE at a valid one." % (_cloud_prefix(cloud_name), path, " ".join(str(exc).split()))
            )
        if content is not None and not isinstance(content, dict):
            raise ConfigurationError(
                "%s%s is not a valid clouds.yaml: expected a mapping with a 'clouds' key, got %s"
                % (_cloud_prefix(cloud_name), path, type(content).__name__)
            )


def _cloud_prefix(cloud_name):
    return "cloud %r: " % cloud_name if cloud_name else ""


def _load_cloud_config(params, cloud):
    """Return (OpenStackConfig, CloudRegion, config-declared regions, display name)."""
    options = _sdk_options(params)
    if isinstance(cloud, dict):
        merged = dict(cloud)
        declared = _region_list(merged.pop("regions", None)) or _region_list(merged.pop("region_name", None))
        display = merged.pop("name", None) or merged.pop("cloud", None)
        for key, value in options.items():
            if key == "auth":
                auth = dict(merged.get("auth") or {})
                auth.update(value)
                merged["auth"] = auth
            else:
                merged.setdefault(key, value)
        config = openstack.config.OpenStackConfig(load_yaml_config=False, load_envvars=False)
        cloud_region = config.get_one(region_name=declared[0] if declared else None, **merged)
        if not display:
            return config, cloud_region, declared, unnamed_cloud_name(merged.get("auth"), "a cloud dict without name")
        return config, cloud_region, declared, str(display)

    if cloud is not None and not isinstance(cloud, str):
        raise ConfigurationError(
            "cloud must be a clouds.yaml cloud name (string) or a cloud configuration (dict), got %s"
            % type(cloud).__name__
        )
    _check_config_files_parse(cloud or os.environ.get("OS_CLOUD"))
    config = openstack.config.OpenStackConfig()
    name = cloud or None
    if name and name not in config.get_cloud_names():
        known = ", ".join(sorted(n for n in config.get_cloud_names() if n != "envvars")) or "none"
        raise ConfigurationError(
            "cloud %r was not found in clouds.yaml (%s; clouds defined: %s). Set cloud to one of them, "
            "or give auth (auth_url, username, password, project_name, ...) instead."
            % (name, _config_files_hint(config), known)
        )
    effective = name or config.default_cloud
    declared = []
    if effective and effective in config.get_cloud_names():
        entry = config.cloud_config["clouds"].get(effective) or {}
        declared = _region_list(entry.get("regions")) or _region_list(entry.get("region_name"))
    cloud_region = config.get_one(cloud=name, region_name=declared[0] if declared else None, **options)
    display = name or (effective if effective not in (None, "defaults") else None)
    if not display or display == "envvars":
        if os.environ.get("OS_CLOUD"):
            return config, cloud_region, declared, str(os.environ["OS_CLOUD"])
        return config, cloud_region, declared, unnamed_cloud_name(cloud_region.config.get("auth"), "OS_* variables")
    return config, cloud_region, declared, str(display)


class GeneratedName(str):
    """A cloud name made up from the auth URL and the project; ``warning`` advises naming the cloud."""

    warning = None


def unnamed_cloud_name(auth, source):
    """The name of a cloud given without one (``OS_*`` variables, a cloud dict without ``name``).

    ``host[:port]/project``: two RC files for two projects, or two clouds behind one identity
    host, must never share a CMDB cloud name (each sync would mark the other's items deleted).
    """
    auth = auth or {}
    parsed = urlparse(str(auth.get("auth_url") or ""))
    host = parsed.hostname or "cloud"
    if parsed.port:
        host = "%s:%d" % (host, parsed.port)
    project = auth.get("project_name") or auth.get("project_id") or auth.get("tenant_name") or auth.get("tenant_id")
    if not project and auth.get("application_credential_id"):
        project = "appcred-%s" % str(auth["application_credential_id"])[:12]
    name = GeneratedName("%s/%s" % (host, project) if project else host)
    name.warning = (
        "the cloud from %s has no name and is named %r (identity host and project); name it (a clouds.yaml entry "
        "with OS_CLOUD or the cloud option, or an account) so that its name stays stable" % (source, str(name))
    )
    return name


def open_cloud(params, name=None):
    """Authenticate with the connection options in ``params`` and resolve the regions.

    ``name`` overrides the cloud name recorded in every record (e.g. an account name).
    Raises ConfigurationError for bad options / clouds.yaml, AuthenticationFailed (a CloudError)
    for rejected credentials, CloudError when the identity service cannot be reached.
    """
    _require_sdk()
    params = params or {}
    cloud = params.get("cloud")
    requested = _region_list(params.get("region_name"))
    want_all = ALL_REGIONS in requested
    if want_all and len(requested) > 1:
        raise ConfigurationError(
            "region_name: %r means every region in the catalog and cannot be combined with region names" % ALL_REGIONS
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _SDK_WARNINGS)
            _config, cloud_region, declared, display = _load_cloud_config(params, cloud)
    except ConfigurationError:
        raise
    except Exception as exc:  # openstacksdk raises many kinds of config errors
        missing = getattr(exc, "options", None)
        if missing is not None or exc.__class__.__name__ == "MissingRequiredOptions":
            names = ", ".join(getattr(opt, "dest", str(opt)) for opt in (missing or []))
            raise ConfigurationError(
                "incomplete cloud configuration%s: missing %s. Set cloud (a clouds.yaml name), OS_CLOUD, "
                "or auth with auth_url, username/password (or application_credential_id/secret) and a project."
                % (" for cloud %r" % cloud if isinstance(cloud, str) else "", names or "auth options")
            )
        raise ConfigurationError("invalid cloud configuration: %s" % _describe_exception(exc))
    naming_warning = None if name else getattr(display, "warning", None)
    display = str(name or display)
    auth_url = (cloud_region.config.get("auth") or {}).get("auth_url")
    config_dict = dict(cloud_region.config)
    for key in ("auth", "region_name", "regions"):
        config_dict.pop(key, None)
    try:
        conn = openstack.connection.Connection(config=cloud_region)
    except Exception as exc:
        raise ConfigurationError("cannot set up cloud %r: %s" % (display, _describe_exception(exc)))
    try:
        catalog = _catalog_regions(conn)  # authenticates (keystoneauth errors are raised unwrapped)
    except Exception as exc:  # keystoneauth / requests / SDK errors
        conn.close()
        raise _auth_error(exc, display, auth_url)
    if want_all or not (requested or declared):
        regions = list(catalog)
        if not regions:
            raise CloudError("cloud %r: the service catalog lists no region" % display, cloud=display)
    else:
        regions = requested or declared
        unknown = [region for region in regions if region not in catalog]
        if unknown:
            conn.close()
            raise ConfigurationError(
                "cloud %r: region(s) %s not in the service catalog; regions available: %s (or use region_name: all)"
                % (display, ", ".join(unknown), ", ".join(catalog) or "none")
            )
    session = CloudSession(display, conn, regions, config_dict, catalog_regions=catalog)
    if naming_warning:
        session.warnings.append(naming_warning)
    return session


def _auth_error(exc, display, auth_url):
    cause = getattr(exc, "__cause__", None) or getattr(exc, "inner_exception", None)
    if exc.__class__.__name__ == "SDKException" and isinstance(cause, Exception):
        exc = cause
    where = " at %s" % auth_url if auth_url else ""
    status = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
    if HAS_KEYSTONEAUTH:
        if isinstance(exc, ks_exceptions.Unauthorized) or status == 401:
            return AuthenticationFailed(
                "cloud %r: authentication failed%s (HTTP 401): check the user, password or application "
                "credential, and the project and domain names" % (display, where),
                cloud=display,
                status="auth_failed",
                http_status=401,
            )
        if isinstance(exc, ks_exceptions.SSLError):
            return CloudError(
                "cloud %r: TLS certificate verification failed for the identity service%s: %s. Set ca_cert, "
                "or validate_certs: false for a test cloud" % (display, where, _describe_exception(exc)),
                cloud=display,
                status="error",
            )
        if isinstance(exc, (ks_exceptions.ConnectFailure, ks_exceptions.ConnectTimeout)):
            return CloudError(
                "cloud %r: cannot reach the identity service%s: %s" % (display, where, _describe_exception(exc)),
                cloud=display,
                status="error",
            )
    if status == 403:
        return AuthenticationFailed(
            "cloud %r: the identity service refused the token (HTTP 403)%s" % (display, where),
            cloud=display,
            status="auth_failed",
            http_status=403,
        )
    return CloudError(
        "cloud %r: authentication against the identity service%s failed: %s"
        % (display, where, _describe_exception(exc)),
        cloud=display,
        status="error",
    )
