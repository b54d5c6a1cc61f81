# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather resources: paged raw listings, concurrent per (region, type), streamed to a consumer.

openstacksdk provides authentication, the service catalog, version discovery and the HTTP
session (through the public ``Proxy``/keystoneauth ``Adapter`` API: ``get_endpoint_data()``, or
``get_endpoint()`` alone for services listed without a microversion,
``get(url, params=..., microversion=..., raise_exc=False)``). Listing itself is done here with
raw GETs: ``limit`` = the catalog's ``max_page_size``, following ``<key>_links`` rel=next
(absolute hrefs) or Glance's top-level ``next`` (relative to the endpoint root). No SDK
``Resource`` object is built on this path (see docs/info-modules.md for the measurements).

The only per-item calls are Octavia's members, listed once per pool: Octavia has no global
members listing. With ``resolve_member_ports`` (off by default), the ports owning member
addresses are looked up too: one listing per distinct member subnet.

HTTP robustness (the SDK does neither): 500/502/503/504 are retried with jittered exponential
backoff (bounded); 429 honours ``Retry-After`` (capped, bounded); a connection closed before any
answer is retried by connection._RequestGuard (the same bound). A scope ends with a status:
``ok``, ``forbidden`` (403), ``not_in_catalog``, ``auth_failed`` (401 after keystoneauth's own
re-authentication) or ``error`` (anything else, with a message naming cloud, region and type).
Only ``ok`` means the listing is complete (``report.complete``; with ``max_pages``, an ``ok``
listing may be ``truncated``).

Consumer protocol (every call on the thread that called ``gather``)::

    consumer.start(scope)            # before the first page of a scope
    consumer.page(scope, records)    # normalized records, one page at a time
    consumer.finish(scope, report)   # always, also for failed scopes (records already given
                                     # for a failed scope are NOT a complete listing)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import queue
import random
import re
import threading
import time
from collections import OrderedDict, namedtuple
from concurrent.futures import ThreadPoolExecutor, as_completed
from urllib.parse import parse_qs, quote, urlparse

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog as _catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.normalize import normalize

try:
    from keystoneauth1 import discover as ks_discover
    from keystoneauth1 import exceptions as ks_exceptions

    HAS_KEYSTONEAUTH = True
except ImportError:  # pragma: no cover - comes with openstacksdk
    HAS_KEYSTONEAUTH = False

Scope = namedtuple("Scope", "cloud region type")

STATUSES = ("ok", "forbidden", "not_in_catalog", "auth_failed", "error")
# keystoneauth's get_access() re-authenticates under a lock but asserts ``auth_ref is not None``
# after releasing it, while invalidate() (another thread's 401) clears auth_ref without the lock:
# a thread can see an AssertionError while the shared token is being renewed. Retried this often.
_AUTH_RACE_TRIES = 2
RETRY_STATUSES = (500, 502, 503, 504)


class HttpPolicy:
    """Retry settings of the HTTP layer (tests shrink the delays)."""

    def __init__(
        self,
        server_error_tries=3,
        rate_limit_tries=5,
        backoff_base=0.5,
        backoff_max=8.0,
        retry_after_default=1.0,
        retry_after_max=60.0,
        sleep=None,
        jitter=None,
    ):
        self.server_error_tries = server_error_tries
        self.rate_limit_tries = rate_limit_tries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_default = retry_after_default
        self.retry_after_max = retry_after_max
        self.sleep = sleep or time.sleep
        self.jitter = jitter or random.random

    def backoff(self, attempt):
        """Full jitter: a random delay in [base*2^(attempt-1)/2, base*2^(attempt-1)], capped."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return ceiling / 2.0 + self.jitter() * ceiling / 2.0

    def retry_after(self, header):
        """Seconds to wait for a 429 (Retry-After in seconds or an HTTP date), capped."""
        delay = None
        if header:
            header = str(header).strip()
            try:
                delay = float(header)
            except ValueError:
                try:
                    from email.utils import parsedate_to_datetime

                    when = parsedate_to_datetime(header)
                    delay = when.timestamp() - time.time()
                except (TypeError, ValueError, IndexError, OverflowError):
                    delay = None
        if delay is None:
            delay = self.retry_after_default
        return max(0.0, min(delay, self.retry_after_max))


DEFAULT_POLICY = HttpPolicy()


class ScopeReport:
    """What happened to one (cloud, region, type) listing."""

    def __init__(self, scope, keep_records=False):
        self.scope = scope
        self.status = "ok"
        self.http_status = None
        self.message = None
        self.count = 0
        self.api_calls = 0
        self.duration = 0.0
        self.records = [] if keep_records else None
        self.microversion = None
        self.truncated = False  # True when max_pages stopped the listing before its end

    @property
    def ok(self):
        return self.status == "ok"

    @property
    def complete(self):
        """True when the listing is complete: status ok and not truncated by max_pages."""
        return self.status == "ok" and not self.truncated

    def fail(self, status, message, http_status=None):
        self.status = status
        self.message = message
        self.http_status = http_status

    def as_dict(self):
        return OrderedDict(
            (
                ("cloud", self.scope.cloud),
                ("region", self.scope.region),
                ("type", self.scope.type),
                ("status", self.status),
                ("http_status", self.http_status),
                ("message", self.message),
                ("count", self.count),
                ("api_calls", self.api_calls),
                ("duration", round(self.duration, 3)),
            )
        )

    def __repr__(self):
        return "ScopeReport(%s/%s/%s: %s, %d items)" % (
            self.scope.cloud,
            self.scope.region,
            self.scope.type,
            self.status,
            self.count,
        )


class ScopeFailed(Exception):
    """Ends a scope with a non-ok status."""

    def __init__(self, status, message, http_status=None):
        super(ScopeFailed, self).__init__(message)
        self.status = status
        self.message = message
        self.http_status = http_status


class _Cancelled(Exception):
    pass


def _where(scope):
    return "cloud %r region %r %s" % (scope.cloud, scope.region, scope.type)


def _short(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _error_body(response):
    """The message of an OpenStack error body (``{"forbidden": {"message": ...}}`` and friends)."""
    try:
        body = response.json()
    except Exception:  # any non-JSON body
        return _short(getattr(response, "text", "") or "")
    if isinstance(body, dict):
        for key in ("message", "faultstring", "description", "title"):
            if isinstance(body.get(key), str):
                return _short(body[key])
        for value in body.values():
            if isinstance(value, dict):
                for key in ("message", "detail", "faultstring"):
                    if isinstance(value.get(key), str):
                        return _short(value[key])
    return _short(json.dumps(body))


def _exception_text(exc):
    text = " ".join((str(exc).strip() or exc.__class__.__name__).split())
    return "%s: %s" % (exc.__class__.__name__, _short(text, 400))


def _classify_exception(exc, scope, service_type):
    """Map an exception from the SDK / keystoneauth / requests onto a ScopeFailed."""
    if isinstance(exc, ScopeFailed):
        return exc
    where = _where(scope)
    name = exc.__class__.__name__
    status = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
    if HAS_KEYSTONEAUTH:
        if isinstance(exc, ks_exceptions.EndpointNotFound):
            return ScopeFailed("not_in_catalog", "%s: service %r is not in the service catalog" % (where, service_type))
        if isinstance(exc, ks_exceptions.Unauthorized):
            return ScopeFailed("auth_failed", "%s: authentication failed (HTTP 401): %s" % (where, exc), 401)
        if isinstance(exc, ks_exceptions.ConnectTimeout):
            return ScopeFailed("error", "%s: timed out talking to %s: %s" % (where, service_type, _exception_text(exc)))
        if isinstance(exc, ks_exceptions.ConnectFailure):
            return ScopeFailed("error", "%s: cannot connect to %s: %s" % (where, service_type, _exception_text(exc)))
    if name in ("EndpointNotFound", "ServiceDisabledException"):
        return ScopeFailed("not_in_catalog", "%s: service %r is not available: %s" % (where, service_type, exc))
    if status == 401:
        return ScopeFailed("auth_failed", "%s: authentication failed (HTTP 401)" % where, 401)
    if status == 403:
        return ScopeFailed("forbidden", "%s: forbidden (HTTP 403): %s" % (where, _short(exc)), 403)
    return ScopeFailed("error", "%s: %s" % (where, _exception_text(exc)), status)


def _version_tuple(text):
    if text is None:
        return None
    if isinstance(text, tuple):
        return text
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return None


def negotiate_microversion(wanted, min_version, max_version):
    """The catalog's microversion capped at the server's maximum; None when unsupported."""
    wanted_t = _version_tuple(wanted)
    max_t = _version_tuple(max_version)
    if not wanted_t or not max_t or max_t < (1, 0):
        return None
    chosen = min(wanted_t, max_t)
    min_t = _version_tuple(min_version)
    if min_t and chosen < min_t:
        chosen = min_t
    if HAS_KEYSTONEAUTH:
        return ks_discover.version_to_string(chosen)
    return ".".join(str(part) for part in chosen)


_VERSION_SUFFIX = re.compile(r"/v\d+(\.\d+)?/?$")


def endpoint_root(endpoint):
    """``http://h:9292/v2/`` -> ``http://h:9292``; ``http://h/image/v2`` -> ``http://h/image``."""
    return _VERSION_SUFFIX.sub("", (endpoint or "").rstrip("/")).rstrip("/")


def _marker(url):
    try:
        values = parse_qs(urlparse(url).query).get("marker")
    except ValueError:
        return None
    return values[-1] if values else None


def _params_missing_from(url, params):
    """The first request's parameters that a next link dropped (Octavia keeps only limit,
    sort and marker in its links, as openstacksdk knows), so filters apply to every page."""
    try:
        present = parse_qs(urlparse(url).query, keep_blank_values=True)
    except ValueError:
        present = {}
    missing = dict((key, value) for key, value in params.items() if key not in present)
    return missing or None


def _next_link(body, rtype_pagination, collection_key, endpoint):
    if rtype_pagination == "next":
        link = body.get("next")
        if not link:
            return None
        if urlparse(link).netloc:
            return link
        return endpoint_root(endpoint) + "/" + link.lstrip("/")
    for link in body.get(collection_key + "_links") or ():
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return link["href"]
    return None


class _Lister:
    """Raw paged listings for one scope through one SDK proxy (keystoneauth Adapter)."""

    def __init__(self, proxy, scope, service_type, report, policy, cancel, microversion=None):
        self.proxy = proxy
        self.scope = scope
        self.service_type = service_type
        self.report = report
        self.policy = policy
        self.cancel = cancel
        self.microversion = microversion
        self._endpoint = None

    def endpoint(self):
        if self._endpoint is None:
            for attempt in range(_AUTH_RACE_TRIES + 1):
                try:
                    self._endpoint = self.proxy.get_endpoint() or ""
                    break
                except AssertionError:  # see _AUTH_RACE_TRIES
                    if attempt == _AUTH_RACE_TRIES:
                        raise
        return self._endpoint

    def get(self, url, params=None):
        """GET with the retry policy; returns the decoded JSON body (a dict) or raises ScopeFailed."""
        where = _where(self.scope)
        server_errors = 0
        rate_limited = 0
        unauthorized = 0
        auth_races = 0
        while True:
            if self.cancel.is_set():
                raise _Cancelled()
            kwargs = {"raise_exc": False}
            if params:
                kwargs["params"] = params
            if self.microversion:
                kwargs["microversion"] = self.microversion
            self.report.api_calls += 1
            try:
                response = self.proxy.get(url, **kwargs)
            except AssertionError:
                if auth_races >= _AUTH_RACE_TRIES:
                    raise
                auth_races += 1  # see _AUTH_RACE_TRIES
                continue
            status = response.status_code
            if status in RETRY_STATUSES:
                server_errors += 1
                if server_errors < self.policy.server_error_tries:
                    self.policy.sleep(self.policy.backoff(server_errors))
                    continue
                raise ScopeFailed(
                    "error",
                    "%s: HTTP %d from %s after %d tries: %s"
                    % (where, status, self.service_type, server_errors, _error_body(response)),
                    status,
                )
            if status == 429:
                rate_limited += 1
                if rate_limited < self.policy.rate_limit_tries:
                    self.policy.sleep(self.policy.retry_after(response.headers.get("Retry-After")))
                    continue
                raise ScopeFailed(
                    "error",
                    "%s: rate limited (HTTP 429) by %s %d times in a row" % (where, self.service_type, rate_limited),
                    429,
                )
            if status == 401 and unauthorized == 0:
                # Scopes share one session: when the token expires, keystoneauth re-authenticates in
                # the first thread that sees the 401 and refuses to invalidate again in the others.
                # Their retry carries the fresh token; only a second 401 in a row is a real failure.
                unauthorized += 1
                continue
            if status == 401:
                raise ScopeFailed(
                    "auth_failed",
                    "%s: authentication failed (HTTP 401) after re-authentication: %s" % (where, _error_body(response)),
                    401,
                )
            if status == 403:
                raise ScopeFailed("forbidden", "%s: forbidden (HTTP 403): %s" % (where, _error_body(response)), 403)
            if status >= 400:
                raise ScopeFailed(
                    "error",
                    "%s: HTTP %d from %s: %s" % (where, status, self.service_type, _error_body(response)),
                    status,
                )
            try:
                body = response.json()
            except ValueError as exc:
                raise ScopeFailed(
                    "error",
                    "%s: malformed JSON from %s (HTTP %d): %s" % (where, self.service_type, status, _short(exc, 200)),
                    status,
                )
            if not isinstance(body, dict):
                raise ScopeFailed(
                    "error", "%s: unexpected response from %s: not a JSON object" % (where, self.service_type), status
                )
            return body

    def pages(self, path, collection_key, pagination, params, page_size, max_pages=None):
        """Yield the item list of every page of a listing."""
        where = _where(self.scope)
        query = dict(params or {})
        query["limit"] = page_size
        url = path
        seen_urls = set()
        seen_markers = set()
        count = 0
        base_query = dict(query)
        while url:
            body = self.get(url, query)
            items = body.get(collection_key)
            if not isinstance(items, list):
                raise ScopeFailed(
                    "error",
                    "%s: response of %s has no %r list" % (where, self.service_type, collection_key),
                )
            count += 1
            yield items
            next_url = _next_link(body, pagination, collection_key, self.endpoint())
            if not next_url or not items:
                return
            if max_pages and count >= max_pages:
                # An explicit sample (e.g. a permission probe): the status stays "ok", but the
                # report says the listing is truncated; a CMDB sync never sets max_pages.
                self.report.truncated = True
                self.report.message = "stopped after max_pages=%d page(s): the listing is truncated" % max_pages
                return
            marker = _marker(next_url)
            if next_url in seen_urls or (marker is not None and marker in seen_markers):
                raise ScopeFailed(
                    "error",
                    "%s: the %s API returned a looping next link (%s seen before); listing stopped"
                    % (where, self.service_type, "marker %s" % marker if marker else next_url),
                )
            seen_urls.add(next_url)
            if marker is not None:
                seen_markers.add(marker)
            url = next_url
            query = _params_missing_from(next_url, base_query)


def _listing_params(session, rtype, all_projects, project_id, filters, changes_since, own_project):
    params = OrderedDict(rtype.list_query or {})
    if all_projects and rtype.all_projects_query:
        params.update(rtype.all_projects_query)
    if project_id and rtype.project_filter:
        params[rtype.project_filter] = project_id
    elif not all_projects and rtype.admin_lists_all and rtype.project_filter and own_project:
        params[rtype.project_filter] = own_project
    if changes_since and rtype.changes_since:
        params["changes-since"] = changes_since
    for key, value in (filters or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        params[key] = value
    return params


def listing_queries(rtype, params):
    """The query of every listing a complete scope needs: ``params``, then each extra listing's."""
    queries = [params]
    for extra in rtype.extra_listings or ():
        if any(key in params for key in extra):
            continue  # a filter chose that value: the extra listing would contradict it
        query = OrderedDict(params)
        query.update(extra)
        queries.append(query)
    return queries


def _type_filters(filters, type_names):
    """``filters`` is either one dict for every type, or ``{type: {...}}``."""
    if not filters:
        return {}
    if all(key in _catalog.RESOURCE_TYPES for key in filters) and all(
        isinstance(value, dict) or value is None for value in filters.values()
    ):
        return dict((key, value or {}) for key, value in filters.items())
    return dict((name, filters) for name in type_names)


class _ScopeJob:
    """Runs in a worker thread: list one scope and push messages onto the queue."""

    def __init__(self, session, scope, rtype, params, options, out, cancel, keep_records):
        self.session = session
        self.scope = scope
        self.rtype = rtype
        self.params = params
        self.options = options
        self.out = out
        self.cancel = cancel
        self.report = ScopeReport(scope, keep_records=keep_records)

    def put(self, message):
        while True:
            if self.cancel.is_set():
                raise _Cancelled()
            try:
                self.out.put(message, timeout=0.2)
                return
            except queue.Full:
                continue

    def emit(self, items):
        records = [normalize(self.rtype, item, self.scope.cloud, self.scope.region) for item in items]
        self.report.count += len(records)
        self.put(("page", self.scope, records))

    def run(self):
        started = time.time()
        try:
            self.put(("start", self.scope, None))
            self._run()
        except _Cancelled:
            self.report.fail("error", "%s: not finished: the gather was cancelled" % _where(self.scope))
        except Exception as exc:  # every failure ends the scope, with its message
            failed = _classify_exception(exc, self.scope, self.rtype.service_type)
            self.report.fail(failed.status, failed.message, failed.http_status)
        self.report.duration = time.time() - started
        try:
            self.out.put(("finish", self.scope, self.report))
        except Exception:  # noqa: S110 - an unbounded final put cannot fail in practice
            pass

    def _proxy(self):
        return _scope_proxy(self.options["endpoints"], self.session, self.scope, self.rtype)

    def _run(self):
        rtype = self.rtype
        options = self.options
        proxy, microversion = self._proxy()
        self.report.microversion = microversion
        lister = _Lister(
            proxy, self.scope, rtype.service_type, self.report, options["policy"], self.cancel, microversion
        )
        page_size = options["page_size"] or rtype.max_page_size
        max_pages = options["max_pages"]
        if not rtype.sub_listings:
            # The listing, then each extra listing of the type (the scope is complete only with all)
            for params in listing_queries(rtype, self.params):
                for items in lister.pages(
                    rtype.list_path, rtype.collection_key, rtype.pagination, params, page_size, max_pages
                ):
                    self.emit(items)
            return
        # Types with sub-listings (load balancers, routers): list the parents first, then the
        # sub-listings once (plus Octavia members once per pool), embed, and emit.
        parents = []
        for items in lister.pages(
            rtype.list_path, rtype.collection_key, rtype.pagination, self.params, page_size, max_pages
        ):
            parents.extend(items)
        if parents:
            subs = self._sub_listings(lister, page_size, max_pages)
            _EMBED[rtype.name](parents, subs, lister, self)
        for start in range(0, max(len(parents), 1), page_size):
            chunk = parents[start : start + page_size]
            if chunk or start == 0:
                self.emit(chunk)

    def _sub_listings(self, lister, page_size, max_pages):
        rtype = self.rtype
        project_params = OrderedDict()
        if rtype.project_filter and rtype.project_filter in self.params:
            project_params[rtype.project_filter] = self.params[rtype.project_filter]
        subs = {}
        for sub in rtype.sub_listings:
            if sub.per_parent:
                continue
            params = OrderedDict(project_params)
            params.update(sub.query or {})
            items = []
            for page in lister.pages(sub.path, sub.collection_key, "links", params, page_size, max_pages):
                items.extend(page)
            subs[sub.name] = items
        for sub in rtype.sub_listings:
            if not sub.per_parent:
                continue
            per_parent = OrderedDict()
            for parent in subs.get(sub.parent, ()):
                path = sub.path.replace("{parent_id}", str(parent.get("id")))
                items = []
                for page in lister.pages(path, sub.collection_key, "links", sub.query or {}, page_size, max_pages):
                    items.extend(page)
                per_parent[parent.get("id")] = items
            subs[sub.name] = per_parent
        return subs


class _DiscoveryUnusable(Exception):
    """Version discovery failed for a type that needs a microversion."""

    def __init__(self, cause):
        super(_DiscoveryUnusable, self).__init__(str(cause))
        self.cause = cause


class _CatalogEndpoint:
    """Endpoint data without version discovery: the catalog's endpoint, no microversion."""

    min_microversion = None
    max_microversion = None

    def __init__(self, url):
        self.url = self.service_url = url


def _endpoint_data(proxy, rtype):
    """Discovered endpoint data for a type that needs a microversion, else the catalog's endpoint.

    Discovery only serves to negotiate a microversion (listings go through the proxy, which
    uses ``get_endpoint()`` as the SDK's own listings do), and keystoneauth's discovery fails
    on answers real services give: Octavia answers ``/v2`` and ``/v2.0`` with the JSON string
    "v2" (a TypeError), Neutron answers ``/v2.0`` with a 404. So a type without a microversion
    skips it. For a type that needs one, a failed discovery ends the scope with the reason,
    never with an empty listing; failures that the listing would meet the same way
    (authentication, connection, catalog) are raised as they are.
    """
    if not rtype.microversion:
        url = proxy.get_endpoint()
        return _CatalogEndpoint(url) if url else None
    try:
        return proxy.get_endpoint_data()
    except AssertionError:  # see _AUTH_RACE_TRIES
        raise
    except Exception as exc:
        if _same_failure_for_the_listing(exc):
            raise
        raise _DiscoveryUnusable(exc)


def _same_failure_for_the_listing(exc):
    if isinstance(exc, ScopeFailed):
        return True
    if HAS_KEYSTONEAUTH and isinstance(
        exc, (ks_exceptions.Unauthorized, ks_exceptions.EndpointNotFound, ks_exceptions.ConnectionError)
    ):
        return True
    return exc.__class__.__name__ in ("EndpointNotFound", "ServiceDisabledException")


def _scope_proxy(endpoints, session, scope, rtype):
    """``(proxy, microversion)`` of a scope's service, or ScopeFailed("not_in_catalog")."""
    try:
        proxy, data = endpoints.get(session, scope.region, rtype)
    except _DiscoveryUnusable as exc:
        raise ScopeFailed(
            "error",
            "%s: version discovery of %r failed (%s) and listing %s needs microversion %s: not listed"
            % (_where(scope), rtype.service_type, _exception_text(exc.cause), rtype.name, rtype.microversion),
        )
    if proxy is None:
        raise ScopeFailed(
            "not_in_catalog",
            "%s: service %r is not in the service catalog for this region and interface"
            % (_where(scope), rtype.service_type),
        )
    if data is None:
        raise ScopeFailed(
            "not_in_catalog",
            "%s: no usable %r endpoint (version discovery found none)" % (_where(scope), rtype.service_type),
        )
    microversion = None
    if rtype.microversion:
        microversion = negotiate_microversion(
            rtype.microversion, getattr(data, "min_microversion", None), getattr(data, "max_microversion", None)
        )
    return proxy, microversion


#: Verdicts of a confirmation GET.
GONE, PRESENT, UNKNOWN = "gone", "present", "unknown"


class Confirmer:
    """Proof of deletion: one GET of each item a complete listing did not return.

    ``confirm(region, type_name, ids)`` -> ``{id: (verdict, detail)}``, verdict ``gone`` (HTTP 404
    whose body names the id: a proxy's or router's bare 404 proves nothing; or an item whose status
    means gone, such as a DELETED server), ``present`` (the item is still served) or ``unknown``
    (403, 5xx, 429, a timeout, a 404 that does not name the item...: retried by the next run).
    The GETs of one call run concurrently in up to ``max_workers`` threads; ``calls`` counts them.
    """

    # 32: 50 deletions at 200 ms per request cost two rounds (about 0.5 s; 16 took 0.9 s)
    def __init__(self, session, max_workers=32):
        self.session = session
        self.max_workers = max(1, int(max_workers))
        self.endpoints = _Endpoints()
        self.calls = 0
        self._lock = threading.Lock()

    def confirm(self, region, type_name, ids):
        ids = list(ids)
        if not ids:
            return {}
        rtype = _catalog.get_type(type_name)
        scope = Scope(self.session.name, region, rtype.name)
        if not rtype.show_path:
            return dict((rid, (UNKNOWN, "the catalog has no show path for %s" % rtype.name)) for rid in ids)
        try:
            proxy, microversion = _scope_proxy(self.endpoints, self.session, scope, rtype)
        except Exception as exc:  # the service is gone from the catalog: nothing is proven
            failed = _classify_exception(exc, scope, rtype.service_type)
            return dict((rid, (UNKNOWN, failed.message)) for rid in ids)
        results = {}
        workers = min(self.max_workers, len(ids))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = dict((pool.submit(self._one, proxy, microversion, rtype, rid), rid) for rid in ids)
            for future in as_completed(futures):
                rid = futures[future]
                try:
                    results[rid] = future.result()
                except Exception as exc:  # a timeout, a refused connection...: proves nothing
                    results[rid] = (UNKNOWN, _exception_text(exc))
        return results

    def _one(self, proxy, microversion, rtype, rid):
        kwargs = {"raise_exc": False}
        if microversion:
            kwargs["microversion"] = microversion
        path = rtype.show_path.replace("{id}", quote(str(rid), safe=""))
        with self._lock:
            self.calls += 1
        response = None
        for attempt in range(_AUTH_RACE_TRIES + 1):
            try:
                response = proxy.get(path, **kwargs)
                break
            except AssertionError:  # see _AUTH_RACE_TRIES
                if attempt == _AUTH_RACE_TRIES:
                    raise
        status = response.status_code
        if status == 404:
            text = getattr(response, "text", "") or ""
            if str(rid) in text:
                return (GONE, "HTTP 404")
            return (UNKNOWN, "HTTP 404 that does not name the item: %s" % _error_body(response))
        if 200 <= status < 300:
            try:
                body = response.json()
            except ValueError:
                body = None
            item = body
            if isinstance(body, dict) and len(body) == 1:
                inner = next(iter(body.values()))
                if isinstance(inner, dict):
                    item = inner  # {"server": {...}}; Glance returns the image itself
            field = rtype.fields.get("status")
            if isinstance(item, dict) and field and item.get(field) in (rtype.gone_statuses or ()):
                return (GONE, "status %s" % item.get(field))
            return (PRESENT, "HTTP %d" % status)
        return (UNKNOWN, "HTTP %d: %s" % (status, _error_body(response)))


class _Endpoints:
    """The SDK proxy and discovered endpoint data of each (region, service), shared by the scopes.

    Several types share a service (six on the network): without this, every scope would build
    its own proxy and discovery (Cinder's ``/v3`` needs an unauthenticated then an authenticated
    GET, and keystoneauth does not cache a failed parse). A failure is not cached: the next scope
    of the service tries again. Types without a microversion skip discovery (``_endpoint_data``).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._locks = {}
        self._found = {}

    def get(self, session, region, rtype):
        """``(proxy, endpoint_data)``; ``(None, None)`` when the service is not in the catalog."""
        key = (region, rtype.service_type, rtype.sdk_proxy, bool(rtype.microversion))
        with self._lock:
            if key in self._found:
                return self._found[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._found:
                    return self._found[key]
            conn = session.connection(region)
            if _service_in_catalog(conn, rtype.service_type, region):
                for attempt in range(_AUTH_RACE_TRIES + 1):
                    try:
                        proxy = getattr(conn, rtype.sdk_proxy)  # the SDK may look the endpoint up here
                        found = (proxy, _endpoint_data(proxy, rtype))
                        break
                    except AssertionError:  # see _AUTH_RACE_TRIES
                        if attempt == _AUTH_RACE_TRIES:
                            raise
            else:
                found = (None, None)
            with self._lock:
                self._found[key] = found
            return found


def _service_in_catalog(conn, service_type, region):
    """True when the token's catalog has ``service_type`` (or an alias) for region and interface."""
    session = conn.session
    try:
        access = session.auth.get_access(session)
    except Exception:  # let the listing itself report the auth problem
        return True
    interface = conn.config.get_interface(service_type) or "public"
    try:
        access.service_catalog.url_for(service_type=service_type, interface=interface, region_name=region)
        return True
    except Exception:  # EndpointNotFound and friends
        return False


def _by_id(items):
    return dict((item.get("id"), item) for item in items if isinstance(item, dict))


def _embed_load_balancers(parents, subs, lister, job):
    """Load balancers get their listeners and pools (with members) as full objects."""
    listeners = _by_id(subs.get("listeners", ()))
    pools = _by_id(subs.get("pools", ()))
    members = subs.get("members", {})
    for pool_id, pool in pools.items():
        pool["members"] = [dict(member) for member in members.get(pool_id, ())]
    if job is not None and job.options.get("resolve_member_ports"):
        _resolve_member_ports(list(pools.values()), lister, job)
    for lb in parents:
        lb["listeners"] = [
            dict(listeners.get(ref.get("id")) or ref) for ref in (lb.get("listeners") or ()) if isinstance(ref, dict)
        ]
        lb["pools"] = [
            dict(pools.get(ref.get("id")) or ref) for ref in (lb.get("pools") or ()) if isinstance(ref, dict)
        ]


def _resolve_member_ports(pools, lister, job):
    """Find the Neutron port owning each member address (only with ``resolve_member_ports``).

    Opt-in because it costs one sequential listing per member subnet inside the load balancer
    scope (at 1,000 load balancers: about 1,000 extra calls, most of the gather's wall time);
    without it members keep ``address`` and ``subnet_id`` and the ``member_ports`` relation
    keeps the address as ``target_name``.

    One paged ``GET /ports?fixed_ips=subnet_id=<id>`` per distinct member subnet (not a call per
    member), matched locally on (subnet, address). A single ``fixed_ips`` value per query means
    the same on every Neutron (several values combine differently across implementations).
    """
    subnets = []
    for pool in pools:
        for member in pool.get("members") or ():
            subnet_id = member.get("subnet_id")
            if member.get("address") and subnet_id and subnet_id not in subnets:
                subnets.append(subnet_id)
    if not subnets:
        return
    owners = {}
    try:
        conn = job.session.connection(job.scope.region)
        if not _service_in_catalog(conn, "network", job.scope.region):
            return
        net_lister = _Lister(conn.network, job.scope, "network", job.report, lister.policy, lister.cancel)
        for subnet_id in subnets:
            params = {"fixed_ips": "subnet_id=%s" % subnet_id}
            for page in net_lister.pages("/ports", "ports", "links", params, 1000):
                for port in page:
                    for fixed in port.get("fixed_ips") or ():
                        if fixed.get("subnet_id") == subnet_id:
                            owners.setdefault((subnet_id, fixed.get("ip_address")), port.get("id"))
    except ScopeFailed:
        # The members are complete without the port ids; the relation keeps the address.
        return
    for pool in pools:
        for member in pool.get("members") or ():
            port_id = owners.get((member.get("subnet_id"), member.get("address")))
            if port_id:
                member["port_id"] = port_id


def _embed_routers(parents, subs, lister, job):
    """Routers get their interface ports as ``interfaces``: [{port_id, subnet_id, ip_address}]."""
    by_router = {}
    for port in subs.get("interfaces", ()):
        for fixed in port.get("fixed_ips") or ():
            by_router.setdefault(port.get("device_id"), []).append(
                OrderedDict(
                    (
                        ("port_id", port.get("id")),
                        ("subnet_id", fixed.get("subnet_id")),
                        ("ip_address", fixed.get("ip_address")),
                        ("network_id", port.get("network_id")),
                    )
                )
            )
    for router in parents:
        router["interfaces"] = by_router.get(router.get("id"), [])


_EMBED = {"load_balancers": _embed_load_balancers, "routers": _embed_routers}


def gather(
    session,
    types,
    regions=None,
    consumer=None,
    all_projects=True,
    project_id=None,
    filters=None,
    changes_since=None,
    max_workers=8,
    page_size=None,
    max_pages=None,
    strict=False,
    policy=None,
    resolve_member_ports=False,
):
    """List ``types`` in ``regions`` of ``session`` (a CloudSession); return a ScopeReport per scope.

    Scopes run concurrently in up to ``max_workers`` threads; pages reach ``consumer`` on the
    calling thread through a bounded queue (memory stays at a few pages). Without a consumer,
    records accumulate in ``report.records``. With ``strict``, the first failing scope cancels
    the scopes not finished yet (they end as ``error``). An exception raised by the consumer
    cancels everything and is re-raised. ``resolve_member_ports`` adds the ``port_id`` of each
    load balancer member (one ``GET /ports?fixed_ips=subnet_id=...`` listing per member subnet).
    """
    rtypes = _catalog.resolve_types(types)
    regions = list(regions or session.regions)
    per_type_filters = _type_filters(filters, [rtype.name for rtype in rtypes])
    own_project = None
    if not all_projects and not project_id and any(rtype.admin_lists_all for rtype in rtypes):
        own_project = session.project_id()
    options = {
        "page_size": page_size,
        "max_pages": max_pages,
        "policy": policy or DEFAULT_POLICY,
        "resolve_member_ports": bool(resolve_member_ports),
        "endpoints": _Endpoints(),
    }
    cancel = threading.Event()
    # Two pages waiting is enough to keep the consumer busy; every page more is ~4 MB of records
    # held while the CMDB writes (a queue of 16 made L's peak memory grow with the page count).
    out = queue.Queue(maxsize=2)
    jobs = []
    for region in regions:
        for rtype in rtypes:
            scope = Scope(session.name, region, rtype.name)
            params = _listing_params(
                session,
                rtype,
                all_projects,
                project_id,
                per_type_filters.get(rtype.name),
                changes_since,
                own_project,
            )
            jobs.append(_ScopeJob(session, scope, rtype, params, options, out, cancel, consumer is None))
    if not jobs:
        return []

    pending = list(jobs)
    pending_lock = threading.Lock()

    def worker():
        while True:
            with pending_lock:
                if not pending:
                    return
                job = pending.pop(0)
            if cancel.is_set():
                job.report.fail("error", "%s: not run: the gather was cancelled" % _where(job.scope))
                out.put(("finish", job.scope, job.report))
                continue
            job.run()

    threads = []
    for _index in range(max(1, min(max_workers, len(jobs)))):
        thread = threading.Thread(target=worker, name="cmdb-gather")
        thread.daemon = True
        thread.start()
        threads.append(thread)

    reports = OrderedDict((job.scope, job.report) for job in jobs)
    started = set()
    finished = set()
    error = None
    try:
        while len(finished) < len(jobs):
            kind, scope, payload = out.get()
            if kind == "start":
                if scope not in started:
                    started.add(scope)
                    if consumer is not None and error is None:
                        consumer.start(scope)
            elif kind == "page":
                if error is not None:
                    continue
                report = reports[scope]
                if consumer is not None:
                    consumer.page(scope, payload)
                else:
                    report.records.extend(payload)
            elif kind == "finish":
                finished.add(scope)
                if error is None and consumer is not None:
                    if scope not in started:
                        started.add(scope)
                        consumer.start(scope)
                    consumer.finish(scope, payload)
                if strict and payload.status != "ok":
                    cancel.set()
    except BaseException as exc:
        error = exc
        cancel.set()
        # Drain so that workers blocked on a full queue can see the cancel flag and stop.
        deadline = time.time() + 30
        while any(thread.is_alive() for thread in threads) and time.time() < deadline:
            try:
                out.get(timeout=0.1)
            except queue.Empty:
                pass
        raise
    finally:
        for thread in threads:
            thread.join(timeout=0.5 if error is not None else None)
    return list(reports.values())


def records_by_type(reports):
    """``{type: [records...]}`` from reports gathered without a consumer (catalog order)."""
    result = OrderedDict()
    for report in reports:
        result.setdefault(report.scope.type, []).extend(report.records or [])
    return result
