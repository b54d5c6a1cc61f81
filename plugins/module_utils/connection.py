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

import http.client
import math
import os
import threading
import time
import warnings

from ansible_collections.cmdb.openstack.plugins.module_utils import gather as _gather
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CloudError, ConfigurationError
from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import parse_interval

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
    import requests

    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - comes with openstacksdk
    HAS_REQUESTS = False

from urllib.parse import urlparse

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
    connect_timeout=dict(type="float"),
    deadline=dict(type="raw"),
)


def connection_params(params):
    """The connection options of a module's parameters that are set (what ``open_cloud`` takes)."""
    return dict((key, params[key]) for key in CONNECTION_ARGUMENT_SPEC if params.get(key) is not None)


#: Without api_timeout a request waits at most this long for each answer (seconds): without any
#: timeout, an endpoint that accepts the connection and never answers blocks the run forever.
DEFAULT_READ_TIMEOUT = 120.0
#: Connecting (TCP and TLS handshake) takes at most this long, or api_timeout when it is shorter.
DEFAULT_CONNECT_TIMEOUT = 15.0
#: A run (authentication and every listing of one cloud) stops sending requests after this long.
DEFAULT_DEADLINE = 3600


class AuthenticationFailed(CloudError):
    """The identity service refused the credentials (HTTP 401)."""


class DeadlineExceeded(CloudError):
    """The run's deadline passed: the request was not sent, or was cut off."""


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
    explicit = os.environ.get("OS_CLIENT_CONFIG_FILE")
    missing = ""
    if explicit and not os.path.exists(explicit):
        missing = "OS_CLIENT_CONFIG_FILE=%s does not exist; " % explicit
    if files:
        return "%sclouds.yaml used: %s" % (missing, files)
    return (
        "%sno clouds.yaml found (looked in ./clouds.yaml, ~/.config/openstack/, /etc/openstack/ "
        "and OS_CLIENT_CONFIG_FILE)" % missing
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


def _endpoint_text(url):
    """``scheme://host:port/path`` of a request URL (no query: markers and filters are noise)."""
    parts = urlparse(str(url))
    if not parts.netloc:
        return str(url)
    return "%s://%s%s" % (parts.scheme, parts.netloc.rpartition("@")[2], parts.path)


def _is_token_request(method, url):
    path = urlparse(str(url)).path.rstrip("/")
    return str(method).upper() == "POST" and (path.endswith("/auth/tokens") or path.endswith("/v2.0/tokens"))


class _RequestGuard:
    """Timeouts, the run's deadline and retried authentication, for every HTTP request of a cloud.

    openstacksdk sends no timeout unless ``api_timeout`` is set, has no deadline, and by default
    neither it nor keystoneauth retries a 5xx from ``POST /auth/tokens`` or a GET whose connection
    was closed before any answer (both are retried here, within the policy's bound). The guard
    wraps ``request`` of the requests session inside the keystoneauth session (shared by the
    connections of every region), so it sees each real attempt: discovery, authentication (also
    re-authentication in the middle of a listing), listings, and keystoneauth's own retries.
    """

    def __init__(self, send, connect_timeout, read_timeout, deadline, policy=None, clock=None):
        self._send = send
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.policy = policy or _gather.DEFAULT_POLICY
        self._clock = clock or time.monotonic
        self.deadline_at = self._clock() + deadline
        self.auth_tries = 0  # attempts of the last token request (for the error message)

    def remaining(self):
        return self.deadline_at - self._clock()

    def _deadline_error(self, method, url, cut_off):
        return DeadlineExceeded(
            "the deadline of %s s for this run passed %s %s %s: raise deadline if the cloud needs longer"
            % (
                _number(self.deadline),
                "while waiting for" if cut_off else "before",
                str(method).upper(),
                _endpoint_text(url),
            )
        )

    def _timeouts(self, given, remaining):
        read = self.read_timeout
        connect = self.connect_timeout
        if isinstance(given, (int, float)) and not isinstance(given, bool):
            read = float(given)  # keystoneauth passes api_timeout (its session timeout) this way
            connect = min(connect, read)
        return min(connect, remaining), min(read, remaining)

    def request(self, method, url, **kwargs):
        token = _is_token_request(method, url)
        given = kwargs.get("timeout")
        server_errors = 0
        rate_limited = 0
        dropped = 0
        while True:
            remaining = self.remaining()
            if remaining <= 0:
                raise self._deadline_error(method, url, False)
            connect, read = self._timeouts(given, remaining)
            kwargs["timeout"] = (connect, read)
            try:
                response = self._send(method, url, **kwargs)
            except requests.exceptions.RequestException as exc:
                if _is_timeout(exc):
                    if self.remaining() <= 0.05:
                        raise self._deadline_error(method, url, True)
                    raise
                if not (token or str(method).upper() in _SAFE_METHODS) or not _closed_without_answer(exc):
                    raise
                # A proxy or load balancer in front of an API closes idle keep-alive connections;
                # a request sent on one just then gets no answer. Sent again, like a 5xx.
                dropped += 1
                if dropped >= self.policy.server_error_tries:
                    raise
                self._sleep(self.policy.backoff(dropped))
                continue
            if not token:
                return response
            # Keystone's passing faults: retried like a listing's (the same policy and bounds).
            status = response.status_code
            if status in _gather.RETRY_STATUSES:
                server_errors += 1
                self.auth_tries = server_errors
                if server_errors < self.policy.server_error_tries:
                    response.close()
                    self._sleep(self.policy.backoff(server_errors))
                    continue
            elif status == 429:
                rate_limited += 1
                self.auth_tries = rate_limited
                if rate_limited < self.policy.rate_limit_tries:
                    response.close()
                    self._sleep(self.policy.retry_after(response.headers.get("Retry-After")))
                    continue
            else:
                self.auth_tries = max(server_errors, rate_limited) + 1
            return response

    def _sleep(self, delay):
        self.policy.sleep(max(0.0, min(delay, self.remaining())))


#: Requests sent again when the connection closed before any answer came (they change nothing).
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Exceptions (anywhere in the chain requests wraps) of a connection closed before the answer: not
#: a refused connection (a service that is down) and not a timeout (a slow one, already waited for).
_CLOSED_WITHOUT_ANSWER = (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError)


def _closed_without_answer(exc):
    """True when ``exc`` (from requests) means the server closed the connection without answering."""
    pending = [exc]
    for _depth in range(12):  # requests -> urllib3 ProtocolError/MaxRetryError -> http.client
        if not pending:
            break
        item = pending.pop()
        if isinstance(item, _CLOSED_WITHOUT_ANSWER):
            return True
        if isinstance(item, requests.exceptions.SSLError):
            return False
        pending.extend(arg for arg in getattr(item, "args", ()) if isinstance(arg, BaseException))
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    return False


def _is_timeout(exc):
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    # a TLS handshake that never completes surfaces as an SSLError "... timed out"
    return isinstance(exc, requests.exceptions.SSLError) and "timed out" in str(exc)


def _number(value):
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)


def _positive_seconds(value, key, source):
    """A timeout option or clouds.yaml key: a positive number of seconds."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or math.isnan(seconds) or math.isinf(seconds) or seconds <= 0:
        raise ConfigurationError(
            "%s: %s must be a positive number of seconds, got %r (e.g. %s: 30)"
            % (source, key, value, key.rpartition(".")[2])
        )
    return seconds


def _deadline_seconds(value, field):
    """``deadline``: a positive number of seconds, or a duration (``30m``, ``1h30m``); None: not set."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isinf(value) and value > 0:
        return value  # parse_interval wants whole seconds; a fraction is fine here
    return float(parse_interval(value, field=field))


def _install_guard(conn, params, cloud_region, display, policy=None):
    """Put a _RequestGuard in front of the HTTP session of ``conn`` (before it authenticates)."""
    config = cloud_region.config
    source = "cloud %r" % display

    def setting(key):
        value = params.get(key)
        return value if value is not None else config.get(key)

    api_timeout = _positive_seconds(setting("api_timeout"), "api_timeout", source)
    connect_timeout = _positive_seconds(setting("connect_timeout"), "connect_timeout", source)
    deadline = _deadline_seconds(setting("deadline"), "%s: deadline" % source)
    if deadline is None:
        deadline = DEFAULT_DEADLINE
    read_timeout = api_timeout or DEFAULT_READ_TIMEOUT
    if connect_timeout is None:
        connect_timeout = min(DEFAULT_CONNECT_TIMEOUT, read_timeout)
    http = conn.session.session  # the requests.Session of the keystoneauth session
    guard = _RequestGuard(http.request, connect_timeout, read_timeout, float(deadline), policy=policy)
    http.request = guard.request
    return guard


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


_CONFIG_VARS = (("clouds", "OS_CLIENT_CONFIG_FILE"), ("secure", "OS_CLIENT_SECURE_FILE"))
_URL_EXAMPLE = "https://keystone.example.com:5000/v3"


def _config_file_candidates(stem="clouds"):
    """The clouds.yaml (or secure.yaml) files openstacksdk reads, in its search order: the file
    named by OS_CLIENT_CONFIG_FILE (OS_CLIENT_SECURE_FILE) first, then the standard places."""
    explicit = os.environ.get(dict(_CONFIG_VARS)[stem])
    folders = [os.getcwd(), os.path.expanduser("~/.config/openstack"), "/etc/openstack"]
    found = [explicit] if explicit else []
    found.extend(os.path.join(folder, "%s.%s" % (stem, ext)) for folder in folders for ext in ("yaml", "yml", "json"))
    return found


def _read_config_file(stem, cloud_name):
    """``(path, content)`` of the clouds.yaml (secure.yaml) openstacksdk will use, or (None, None).

    openstacksdk silently skips a file it cannot parse or open and then reports the cloud as
    missing (or reads another file further down the search path): name the broken file instead.
    """
    variable = dict(_CONFIG_VARS)[stem]
    explicit = os.environ.get(variable)
    if explicit and cloud_name and os.path.isdir(explicit):
        raise ConfigurationError(
            "%s%s=%s is a directory, not a %s.yaml file: set %s to the file itself (for example %s)"
            % (_cloud_prefix(cloud_name), variable, explicit, stem, variable, os.path.join(explicit, stem + ".yaml"))
        )
    for path in _config_file_candidates(stem):
        if not os.path.isfile(path):
            continue
        try:
            with open(path) as handle:
                content = yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(
                "%s%s is not a valid %s.yaml: %s. Fix the file (YAML syntax) or point "
                "%s at a valid one." % (_cloud_prefix(cloud_name), path, stem, " ".join(str(exc).split()), variable)
            )
        if content is not None and not isinstance(content, dict):
            raise ConfigurationError(
                "%s%s is not a valid %s.yaml: expected a mapping with a 'clouds' key, got %s"
                % (_cloud_prefix(cloud_name), path, stem, _type_name(content))
            )
        return path, content
    return None, None


def _type_name(value):
    names = {dict: "a mapping", list: "a list", str: "a string", type(None): "empty (null)", bool: "a boolean"}
    names.update({int: "a number", float: "a number"})
    return names.get(type(value), "a %s" % type(value).__name__)


def _check_config_files_parse(cloud_name=None):
    """Check the clouds.yaml and secure.yaml openstacksdk will read, before it reads them.

    openstacksdk answers a wrong shape with an AttributeError or TypeError from its insides (or a
    misleading EndpointNotFound later): say which file, which key, and how to fix it instead.
    Only the entry of the cloud that will be used is checked in depth (``cloud_name``, else the
    only cloud of the file); another broken entry does not stop this one.
    """
    if not HAS_YAML:
        return
    entries = []
    names = set()
    for stem, _variable in _CONFIG_VARS:
        path, content = _read_config_file(stem, cloud_name)
        if not content or "clouds" not in content:
            continue
        clouds = content["clouds"]
        if not isinstance(clouds, dict):
            raise ConfigurationError(
                "%s%s: 'clouds' is %s; it must be a mapping of cloud names to their settings, e.g. "
                "'clouds: {mycloud: {auth: {auth_url: ...}, region_name: RegionOne}}'. Fix the file."
                % (_cloud_prefix(cloud_name), path, _type_name(clouds))
            )
        names.update(str(key) for key in clouds)
        entries.append((path, clouds))
    selected = cloud_name
    if selected is None and len(names) == 1 and not os.environ.get("OS_AUTH_URL"):
        selected = next(iter(names))  # openstacksdk's default when the file holds one cloud
    if selected is None:
        return
    merged_auth_url = None
    for path, clouds in entries:
        if selected not in clouds:
            continue
        entry = clouds[selected]
        where = "%s%s" % (_cloud_prefix(cloud_name or selected), path)
        _check_cloud_entry(entry, where, "clouds.%s" % selected)
        auth = entry.get("auth") or {}
        if "auth_url" in auth:
            merged_auth_url = (where, "clouds.%s.auth.auth_url" % selected, auth["auth_url"])
    if merged_auth_url is not None:  # secure.yaml (read last) wins, as in openstacksdk
        _check_auth_url(*merged_auth_url)


def _check_cloud_entry(entry, where, key):
    """One cloud's settings (a clouds.yaml entry or the ``cloud`` option): the shapes openstacksdk needs."""
    if not isinstance(entry, dict):
        raise ConfigurationError(
            "%s: %s is %s; it must be a mapping of settings, e.g. '%s: {auth: {auth_url: %s, username: ..., "
            "password: ..., project_name: ...}, region_name: RegionOne}'"
            % (where, key, _type_name(entry), key.rpartition(".")[2], _URL_EXAMPLE)
        )
    auth = entry.get("auth")
    if auth is not None and not isinstance(auth, dict):
        raise ConfigurationError(
            "%s: %s.auth is %s; it must be a mapping, e.g. 'auth: {auth_url: %s, username: ..., password: ..., "
            "project_name: ...}' (one key per line, not a list)" % (where, key, _type_name(auth), _URL_EXAMPLE)
        )
    for region_key in ("region_name", "regions"):
        if region_key in entry:
            _check_regions(entry[region_key], where, "%s.%s" % (key, region_key), region_key)
    for seconds_key in ("api_timeout", "connect_timeout"):
        _positive_seconds(entry.get(seconds_key), "%s.%s" % (key, seconds_key), where)
    _deadline_seconds(entry.get("deadline"), "%s: %s.deadline" % (where, key))


def _check_regions(value, where, key, region_key):
    fix = (
        "write one region name (region_name: RegionOne) or a list of names or of mappings with a 'name' "
        "(regions: [RegionOne, {name: RegionTwo}])"
    )
    if value is None:
        return
    if isinstance(value, str):
        if region_key == "regions":
            raise ConfigurationError("%s: %s is a string (%r), not a list: %s" % (where, key, value, fix))
        return
    if not isinstance(value, list):
        raise ConfigurationError("%s: %s is %s: %s" % (where, key, _type_name(value), fix))
    for index, item in enumerate(value):
        if isinstance(item, str) and item:
            continue
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item.get("name"):
            continue
        if isinstance(item, dict):
            problem = "a mapping without a 'name' (keys: %s)" % (", ".join(sorted(str(k) for k in item)) or "none")
        else:
            problem = _type_name(item)
        raise ConfigurationError("%s: %s[%d] is %s: %s" % (where, key, index, problem, fix))


def _check_auth_url(where, key, value):
    fix = "Set it to the URL of the identity service, e.g. %s" % _URL_EXAMPLE
    if value is None or value == "":
        raise ConfigurationError("%s: %s is empty. %s" % (where, key, fix))
    if not isinstance(value, str):
        raise ConfigurationError("%s: %s is %s (%r), not a URL. %s" % (where, key, _type_name(value), value, fix))
    parts = urlparse(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            "%s: %s is %r, not an http:// or https:// URL. %s" % (where, key, _endpoint_text(value), fix)
        )


def _cloud_prefix(cloud_name):
    return "cloud %r: " % cloud_name if cloud_name else ""


def _load_cloud_config(params, cloud):
    """Return (OpenStackConfig, CloudRegion, config-declared regions, display name)."""
    options = _sdk_options(params)
    if isinstance(cloud, dict):
        _check_cloud_entry(cloud, "the cloud option", "cloud")
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
        if "auth_url" in (merged.get("auth") or {}):
            from_option = "auth_url" in (options.get("auth") or {})
            _check_auth_url(
                "the auth option" if from_option else "the cloud option",
                "auth.auth_url" if from_option else "cloud.auth.auth_url",
                merged["auth"]["auth_url"],
            )
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
        known = ", ".join(sorted(n for n in config.get_cloud_names() if n not in ("envvars", "defaults"))) or "none"
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


def open_cloud(params, name=None, policy=None):
    """Authenticate with the connection options in ``params`` and resolve the regions.

    ``name`` overrides the cloud name recorded in every record (e.g. an account name).
    Every request of the session gets connect and read timeouts, and none is sent after the
    run's deadline (``api_timeout``, ``connect_timeout``, ``deadline``; see _RequestGuard); a
    passing 5xx or 429 from the token endpoint is retried with ``policy`` (gather.HttpPolicy).
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
        if exc.__class__.__name__ == "NoMatchingPlugin":
            raise ConfigurationError(
                "invalid cloud configuration%s: auth_type: %s. Set auth_type to a keystoneauth plugin, for example "
                "password, v3applicationcredential or token."
                % (" for cloud %r" % cloud if isinstance(cloud, str) else "", exc)
            )
        raise ConfigurationError("invalid cloud configuration: %s" % _describe_exception(exc))
    naming_warning = None if name else getattr(display, "warning", None)
    display = str(name or display)
    auth_url = (cloud_region.config.get("auth") or {}).get("auth_url")
    if auth_url is not None or "auth_url" in (cloud_region.config.get("auth") or {}):
        _check_auth_url("cloud %r" % display, _auth_url_source(params, auth_url), auth_url)
    config_dict = dict(cloud_region.config)
    for key in ("auth", "region_name", "regions"):
        config_dict.pop(key, None)
    try:
        conn = openstack.connection.Connection(config=cloud_region)
    except Exception as exc:
        raise ConfigurationError("cannot set up cloud %r: %s" % (display, _describe_exception(exc)))
    try:
        guard = _install_guard(conn, params, cloud_region, display, policy)
    except ConfigurationError:
        conn.close()
        raise
    try:
        catalog = _catalog_regions(conn)  # authenticates (keystoneauth errors are raised unwrapped)
    except Exception as exc:  # keystoneauth / requests / SDK errors
        conn.close()
        raise _auth_error(exc, display, auth_url, guard)
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


def _auth_url_source(params, auth_url):
    """Where the effective auth_url came from, for the error message (the clouds.yaml entry was
    checked before openstacksdk read it)."""
    if "auth_url" in (params.get("auth") or {}):
        return "auth.auth_url"
    cloud = params.get("cloud")
    if isinstance(cloud, dict):
        return "cloud.auth.auth_url"
    if auth_url is not None and os.environ.get("OS_AUTH_URL") == auth_url:
        return "OS_AUTH_URL"
    return "auth_url"


def _auth_error(exc, display, auth_url, guard=None):
    cause = getattr(exc, "__cause__", None) or getattr(exc, "inner_exception", None)
    if exc.__class__.__name__ == "SDKException" and isinstance(cause, Exception):
        exc = cause
    where = " at %s" % auth_url if auth_url else ""
    status = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
    if isinstance(exc, DeadlineExceeded):
        return CloudError(
            "cloud %r: authentication against the identity service%s did not finish: %s"
            % (display, where, exc.message),
            cloud=display,
            status="error",
        )
    if HAS_KEYSTONEAUTH and isinstance(exc, ks_exceptions.ConnectTimeout) and guard is not None:
        return CloudError(
            "cloud %r: no answer from the identity service%s (connect timeout %s s, read timeout %s s): %s. "
            "Check the URL and the network, or raise connect_timeout / api_timeout if it is only slow"
            % (
                display,
                where,
                _number(guard.connect_timeout),
                _number(guard.read_timeout),
                _describe_exception(exc),
            ),
            cloud=display,
            status="error",
        )
    if status in _gather.RETRY_STATUSES or status == 429:
        tries = guard.auth_tries if guard is not None else 1
        return CloudError(
            "cloud %r: the identity service%s answered HTTP %s to the token request %d time(s) in a row: %s"
            % (display, where, status, tries, _describe_exception(exc)),
            cloud=display,
            status="error",
            http_status=status,
        )
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
