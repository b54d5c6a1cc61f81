# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The REST calls netbox_sync makes, through pynetbox's public API only, with clear errors.

Reads name their fields (``fields=``), bulk writes leave out the computed fields of the answer (``omit=``, added
by the requests session pynetbox documents as replaceable: ``Api.http_session``) and large writes go out as a few
concurrent requests, one pynetbox ``Api`` (one keep-alive session) per writer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

try:
    import requests

    HAS_REQUESTS = True
except ImportError:  # pragma: no cover
    HAS_REQUESTS = False

try:
    import pynetbox

    HAS_PYNETBOX = True
    PYNETBOX_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_PYNETBOX = False
    PYNETBOX_IMPORT_ERROR = traceback.format_exc()

try:
    import sqlalchemy  # noqa: F401  # pylint: disable=unused-import

    HAS_SQLALCHEMY = True
except ImportError:  # pragma: no cover
    HAS_SQLALCHEMY = False

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError
from ansible_collections.cmdb.openstack.plugins.module_utils.netbox.model import (
    PAGE,
    NetBoxError,
    check_version,
    chunks,
)

#: Object ids per GET filter (keeps URLs below common 4 KiB request-line limits).
IDS_PER_GET = 40
INTS_PER_GET = 150
WRITE_CHUNK = 500
#: Bulk writes of at least 2 x MIN_PARALLEL objects go out as this many concurrent requests (NetBox serves each
#: request on one CPU; its gunicorn has several workers). Children of one VM always share a request.
DEFAULT_PARALLEL_WRITES = 2
MIN_PARALLEL = 50

#: ``omit=`` of the bulk writes: read-only fields of the response that netbox_sync never sends nor reads (a
#: write answers with the whole objects; these are the computed ones: counts, rendered config context, links).
#: Only read-only fields belong here: NetBox drops omitted fields from the input too.
_LINKS = ("url", "display_url", "display", "created", "last_updated")
WRITE_OMIT = {
    "virtualization/virtual-machines": ("config_context", "interface_count", "virtual_disk_count", "primary_ip")
    + _LINKS,
    "virtualization/interfaces": ("count_ipaddresses", "count_fhrp_groups", "l2vpn_termination") + _LINKS,
    "ipam/ip-addresses": ("assigned_object", "nat_outside", "family") + _LINKS,
    "virtualization/virtual-disks": _LINKS,
    # the related-object counts below are subqueries NetBox runs per joined row: a cluster's took 149 s a write
    # at 10,000 VMs, and a cluster is written after every batch (the saved cursor)
    "virtualization/clusters": ("device_count", "virtualmachine_count") + _LINKS,
    "virtualization/cluster-types": ("cluster_count",) + _LINKS,
    "tenancy/tenants": (
        "circuit_count",
        "device_count",
        "rack_count",
        "site_count",
        "ipaddress_count",
        "prefix_count",
        "vlan_count",
        "vrf_count",
        "virtualmachine_count",
        "cluster_count",
    )
    + _LINKS,
    "ipam/vrfs": ("ipaddress_count", "prefix_count") + _LINKS,
    "extras/tags": ("tagged_items",) + _LINKS,
}


def vm_of(payload):
    return payload.get("virtual_machine")


def interface_of(payload):
    return payload.get("assigned_object_id")


#: How the creates of children split into concurrent requests: never the children of one VM (or interface) apart,
#: so two transactions never update the same VM's counters.
WRITE_GROUPS = {
    "virtualization/interfaces": vm_of,
    "virtualization/virtual-disks": vm_of,
    "ipam/ip-addresses": interface_of,
}


def missing_libraries():
    missing = []
    if not HAS_PYNETBOX:
        missing.append("pynetbox")
    if not HAS_REQUESTS:
        missing.append("requests")
    if not HAS_SQLALCHEMY:
        missing.append("SQLAlchemy")
    return missing


class _Session(requests.Session if HAS_REQUESTS else object):
    """A requests session with a default timeout that adds ``omit=`` to the bulk writes (POST/PATCH)."""

    def __init__(self, timeout, api_url):
        super(_Session, self).__init__()
        self._timeout = timeout
        self._omit = dict(("%s/%s/" % (api_url, path), ",".join(fields)) for path, fields in WRITE_OMIT.items())

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        omit = self._omit.get(url) if str(method).upper() in ("POST", "PATCH") else None
        if omit:
            params = dict(kwargs.get("params") or {})
            params.setdefault("omit", omit)
            kwargs["params"] = params
        return super(_Session, self).request(method, url, *args, **kwargs)


def _error_detail(req):
    try:
        body = req.json()
    except ValueError:
        return (req.text or "").strip()[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return json.dumps(body)[:600]


def split(items, parts, group=None):
    """``items`` in up to ``parts`` runs of about equal size (at least MIN_PARALLEL each), never splitting a group."""
    parts = min(parts, len(items) // MIN_PARALLEL)
    if parts <= 1:
        return [items]
    target = -(-len(items) // parts)
    runs, run = [], []
    for item in items:
        if len(run) >= target and len(runs) < parts - 1 and (group is None or group(item) != group(run[-1])):
            runs.append(run)
            run = []
        run.append(item)
    runs.append(run)
    return runs


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else exc.__class__.__name__


def _plain(record):
    """A pynetbox Record as the plain dict of the API's JSON (nested objects as dicts)."""
    return dict(record) if not isinstance(record, dict) else record


class NetBox:
    """The REST calls netbox_sync makes. ``path`` is ``<app>/<endpoint>`` as in the API (``ipam/ip-addresses``).

    Counts every call: ``reads``, ``writes`` (requests), ``written`` (objects), ``seconds`` (time inside calls).
    """

    def __init__(self, url, token, validate_certs=True, timeout=300, parallel=DEFAULT_PARALLEL_WRITES):
        if missing_libraries():
            raise ConfigurationError("netbox_sync needs the Python libraries %s" % ", ".join(missing_libraries()))
        url = (url or "").strip()
        if not re.match(r"^https?://[^/\s]+", url):
            raise ConfigurationError(
                "netbox_url %r is not an http(s) URL; give the NetBox base URL, e.g. https://netbox.example.com" % url
            )
        if not token:
            raise ConfigurationError("netbox_token is empty; give a NetBox API token (v2: nbt_<key>.<secret>)")
        self.url = url.rstrip("/")
        if self.url.endswith("/api"):
            self.url = self.url[: -len("/api")]
        self.parallel = max(1, int(parallel or 1))
        # one pynetbox Api, with its own keep-alive session, per concurrent writer; the first one also reads
        self.apis = []
        for _index in range(self.parallel):
            api = pynetbox.api(self.url, token=token)
            api.http_session = _Session(timeout, api.base_url)
            api.http_session.verify = validate_certs
            self.apis.append(api)
        self.api = self.apis[0]
        self._lock = threading.Lock()
        self.version = None
        self.writes = 0
        self.written = 0
        self.reads = 0
        self.seconds = 0.0  # time inside REST calls (NetBox's work, transfer, JSON), summed over concurrent ones

    @staticmethod
    def _endpoint(api, path):
        app, name = path.split("/", 1)
        return getattr(getattr(api, app), name.replace("-", "_"))

    def _call(self, what, path, func):
        started = time.perf_counter()
        try:
            return func()
        except pynetbox.RequestError as exc:
            raise self._explain(exc.req, what, path)
        except (pynetbox.ContentError, requests.exceptions.JSONDecodeError) as exc:
            # (requests' JSON decoding error is also a RequestException: this clause comes first)
            raise NetBoxError(
                "NetBox at %s answered %s %s with something that is not JSON (HTTP %s): is netbox_url the NetBox "
                "base URL?" % (self.url, what, path, getattr(getattr(exc, "req", None), "status_code", "?"))
            )
        except requests.exceptions.SSLError as exc:
            raise NetBoxError(
                "cannot verify the TLS certificate of NetBox at %s (%s); fix the certificate, or set "
                "validate_certs: false for a test instance" % (self.url, _first_line(exc))
            )
        except requests.exceptions.Timeout as exc:
            raise NetBoxError(
                "NetBox at %s did not answer %s %s in time (%s); raise timeout" % (self.url, what, path, exc)
            )
        except requests.exceptions.RequestException as exc:
            raise NetBoxError(
                "cannot reach NetBox at %s (%s); check netbox_url and that NetBox is running"
                % (self.url, _first_line(exc))
            )
        finally:
            with self._lock:
                self.seconds += time.perf_counter() - started

    def _explain(self, req, what, path):
        status = req.status_code
        detail = _error_detail(req)
        if status in (401, 403) and "token" in detail.lower():
            return NetBoxError(
                "NetBox at %s rejected the API token (HTTP %d: %s); check netbox_token (v2 tokens look like "
                "nbt_<key>.<secret>) and that it is enabled and not expired" % (self.url, status, detail)
            )
        if status == 403:
            return NetBoxError(
                "the NetBox token may not %s %s (HTTP 403: %s); grant its user the view, add, change and delete "
                "permissions on the objects netbox_sync manages (virtualization, ipam, tenancy, dcim platforms, "
                "extras tags and custom fields) and make the token write-enabled" % (what, path, detail)
            )
        if status == 404:
            return NetBoxError(
                "NetBox at %s has no API endpoint %s (HTTP 404); is netbox_url the NetBox base URL?" % (self.url, path)
            )
        return NetBoxError("NetBox refused %s %s (HTTP %d): %s" % (what, path, status, detail), status=status)

    # -- calls ------------------------------------------------------------------------------
    def check(self):
        """Authenticate and check the version; returns the version string."""
        status = self._call("read", "status", self.api.status)
        version = status.get("netbox-version") if isinstance(status, dict) else None
        check_version(version, self.url)
        self.version = version
        return version

    def list(self, path, *, fields, **filters):
        """Every object of ``path`` matching ``filters``, with only ``fields`` (required: see below), as dicts.

        Without ``fields`` NetBox adds the related-object counts of the serializer (a cluster's or a platform's
        devices and VMs, a tag's tagged items), subqueries it runs for each joined row: reading one cluster took
        133 s at 10,000 managed VMs.
        """
        filters.setdefault("limit", PAGE)
        filters["fields"] = fields
        self.reads += 1
        endpoint = self._endpoint(self.api, path)
        return self._call("read", path, lambda: [_plain(record) for record in endpoint.filter(**filters)])

    def count(self, path, **filters):
        self.reads += 1
        endpoint = self._endpoint(self.api, path)
        return self._call("read", path, lambda: endpoint.count(**filters))

    def list_by(self, path, key, values, per_get=IDS_PER_GET, *, fields, **filters):
        """Objects whose filter ``key`` is any of ``values`` (chunked so URLs stay short)."""
        found = []
        for chunk in chunks(sorted(set(values), key=str), per_get):
            query = dict(filters)
            query[key] = chunk
            found.extend(self.list(path, fields=fields, **query))
        return found

    def _write(self, what, verb, path, items, group=None):
        """Bulk POST/PATCH of ``items``: chunks of WRITE_CHUNK, up to ``parallel`` requests at a time."""
        if group is not None:
            items = sorted(items, key=lambda item: str(group(item)))
        runs = split(list(items), self.parallel, group)

        def run(index, part):
            endpoint = self._endpoint(self.apis[index], path)
            write = endpoint.create if verb == "create" else endpoint.update
            done = []
            for chunk in chunks(part, WRITE_CHUNK):
                result = self._call(what, path, lambda chunk=chunk: write(chunk))
                with self._lock:
                    self.writes += 1
                    self.written += len(chunk)
                done.extend(_plain(r) for r in (result if isinstance(result, list) else [result]))
            return done

        if len(runs) == 1:
            return run(0, runs[0])
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = [pool.submit(run, index, part) for index, part in enumerate(runs)]
            return [obj for future in futures for obj in future.result()]

    def create(self, path, items, group=None):
        return self._write("create", "create", path, items, group)

    def update(self, path, items, group=None):
        return self._write("change", "update", path, items, group)

    def delete(self, path, ids):
        endpoint = self._endpoint(self.api, path)
        for chunk in chunks(sorted(set(ids)), WRITE_CHUNK):
            self._call("delete", path, lambda chunk=chunk: endpoint.delete(list(chunk)))
            self.writes += 1
            self.written += len(chunk)
