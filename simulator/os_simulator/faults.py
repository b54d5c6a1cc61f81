"""Fault injection: per cloud, service, region, interface, path, method and user.

``cloud.faults.add(service="compute", path="/servers/detail", kind="status", status=503)``

``path`` is matched as a prefix of the request path relative to the service's versioned endpoint
(the catalog's ``list_path``: ``/servers/detail``, ``/networks``, ``/images``,
``/lbaas/loadbalancers``, ``/auth/tokens``...). ``after`` lets that many matching requests through
first; ``times`` limits how often the fault fires (``None``: every time).

Kinds:

- ``status``: answer ``status`` (500, 503, 403, 404...) with the service's own error body.
- ``forbidden``: same as ``status`` with 403.
- ``rate_limit``: 429 with ``Retry-After: <retry_after>`` and the service's error body.
- ``latency``: wait ``delay`` seconds, then answer normally.
- ``hang``: wait ``delay`` seconds (default 30, or until the simulator stops), then close the
  connection without answering: a client with a shorter timeout sees a timeout.
- ``drop``: close the connection without answering.
- ``token_expiry``: the token of the request expires now: 401, as Keystone middleware answers; the
  client re-authenticates and retries. Default ``times=1``.
- ``malformed_json``: 200 with the first half of the real body (not valid JSON).
- ``looping_next``: the listing's "next" link points back at the page itself, forever.
- ``refuse``: tokens issued from now on carry a catalog whose endpoint for the service points at a
  port with no listener (connection refused).
- ``missing_service``: tokens issued from now on carry a catalog without the service.

Listing faults (a page that looks fine but hides items; ``after=1`` aims at page 2):

- ``empty_page``: 200 with an empty list and no next link (the listing looks finished).
- ``no_next``: the page's items, without its next link (the listing looks finished).
- ``short_page``: the page without its last ``count`` items (default: half the page), with the next
  link of the full page (the items in between are never listed).

- ``down_cell``: Nova with a cell that is down (``service`` compute). The cell holds the servers
  ``ids``, or the first ``count`` servers of the region (default 1), chosen when the fault fires
  first. As Nova: a paged, sorted or filtered listing (``limit``, ``marker``... anything but
  ``all_tenants``/``project_id``) skips them; an unpaged listing at microversion >= 2.69 returns
  them as minimal constructs (status UNKNOWN, id, tenant_id, created, links), below 2.69 skips
  them; ``GET /servers/{id}`` answers a minimal construct at >= 2.69 and 500 below. With
  ``mode="constructs"`` every listing at >= 2.69 returns the constructs (a deployment that
  does so for paged listings too).
"""

from __future__ import annotations

import itertools
import threading

KINDS = (
    "status",
    "forbidden",
    "rate_limit",
    "latency",
    "hang",
    "drop",
    "token_expiry",
    "malformed_json",
    "looping_next",
    "refuse",
    "missing_service",
    "empty_page",
    "no_next",
    "short_page",
    "down_cell",
)
CATALOG_KINDS = ("refuse", "missing_service")
#: Faults applied to the page a listing serves (``Faults.take_page``), not to the request.
PAGE_KINDS = ("empty_page", "no_next", "short_page")
#: Faults the compute service consults itself (``Faults.down_cell``).
SERVICE_KINDS = ("down_cell",)
DOWN_CELL_MODES = ("nova", "constructs")
SERVICES = ("identity", "compute", "network", "block-storage", "image", "load-balancer")
SERVICE_ALIASES = {"volume": "block-storage", "volumev3": "block-storage", "block_storage": "block-storage"}
SERVICE_ALIASES.update({"load_balancer": "load-balancer", "octavia": "load-balancer", "nova": "compute"})
SERVICE_ALIASES.update({"neutron": "network", "glance": "image", "cinder": "block-storage", "keystone": "identity"})

_ids = itertools.count(1)


class FaultError(ValueError):
    pass


def _service(name):
    if name is None:
        return None
    name = SERVICE_ALIASES.get(name, name)
    if name not in SERVICES:
        raise FaultError("unknown service %r; valid services: %s" % (name, ", ".join(SERVICES)))
    return name


class Fault:
    """One injected fault. Attributes mirror ``Faults.add`` arguments; ``hits`` counts firings."""

    def __init__(
        self,
        kind,
        service=None,
        path=None,
        method=None,
        region=None,
        interface=None,
        user=None,
        status=None,
        retry_after=1,
        delay=None,
        after=0,
        times=None,
        message=None,
        count=None,
        ids=None,
        mode=None,
    ):
        if kind not in KINDS:
            raise FaultError("unknown fault kind %r; valid kinds: %s" % (kind, ", ".join(KINDS)))
        self.id = next(_ids)
        self.kind = kind
        self.service = _service(service)
        self.path = path
        self.method = method.upper() if method else None
        self.region = region
        self.interface = interface
        self.user = user
        if kind == "forbidden":
            status = 403
        if kind == "rate_limit":
            status = 429
        self.status = int(status) if status is not None else (500 if kind == "status" else None)
        self.retry_after = retry_after
        if delay is None:
            delay = 30.0 if kind == "hang" else (1.0 if kind == "latency" else 0.0)
        self.delay = float(delay)
        self.after = int(after or 0)
        if times is None and kind == "token_expiry":
            times = 1
        self.times = None if times is None else int(times)
        self.message = message
        self.count = None if count is None else int(count)
        self.ids = list(ids) if ids else None
        if kind == "down_cell":
            self.service = self.service or "compute"
            mode = mode or "nova"
            if mode not in DOWN_CELL_MODES:
                raise FaultError("unknown down_cell mode %r; valid modes: %s" % (mode, ", ".join(DOWN_CELL_MODES)))
        self.mode = mode
        self.seen = 0
        self.hits = 0

    def to_dict(self):
        return {
            "id": self.id,
            "kind": self.kind,
            "service": self.service,
            "path": self.path,
            "method": self.method,
            "region": self.region,
            "interface": self.interface,
            "user": self.user,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "after": self.after,
            "times": self.times,
            "message": self.message,
            "count": self.count,
            "ids": self.ids,
            "mode": self.mode,
            "hits": self.hits,
        }

    def matches(self, service, path, method, region, interface, user):
        if self.service and self.service != service:
            return False
        if self.region and self.region != region:
            return False
        if self.interface and interface and self.interface != interface:
            return False
        if self.method and self.method != method:
            return False
        if self.user and self.user != user:
            return False
        return not (self.path and not (path or "").startswith(self.path))

    def __repr__(self):
        return "Fault(%s)" % ", ".join("%s=%r" % (k, v) for k, v in self.to_dict().items() if v is not None)


class Faults:
    """The faults of one cloud (``cloud.faults``)."""

    def __init__(self):
        self._faults = []
        self._lock = threading.Lock()

    def add(self, kind="status", service=None, path=None, **kwargs):
        fault = Fault(kind, service=service, path=path, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault):
        fault_id = fault.id if isinstance(fault, Fault) else int(fault)
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return before != len(self._faults)

    def clear(self):
        with self._lock:
            self._faults = []

    def list(self):
        with self._lock:
            return list(self._faults)

    def __len__(self):
        return len(self._faults)

    def __iter__(self):
        return iter(self.list())

    def take(self, service, path, method, region, interface, user):
        """The request fault that fires for this request, or None (counts ``after``/``times``)."""
        if not self._faults:
            return None
        return self._take(service, path, method, region, interface, user, exclude=CATALOG_KINDS + PAGE_KINDS)

    def take_page(self, service, path, method, region, interface, user):
        """The listing fault (``PAGE_KINDS``) that fires for the page this request serves, or None."""
        if not self._faults:
            return None
        return self._take(service, path, method, region, interface, user, only=PAGE_KINDS)

    def down_cell(self, region):
        """The ``down_cell`` fault of this region (compute), or None; does not count as a hit."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind == "down_cell" and (not fault.region or fault.region == region):
                    return fault
        return None

    def _take(self, service, path, method, region, interface, user, exclude=(), only=None):
        with self._lock:
            for fault in self._faults:
                if fault.kind in exclude or fault.kind in SERVICE_KINDS:
                    continue
                if only is not None and fault.kind not in only:
                    continue
                if not fault.matches(service, path, method, region, interface, user):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                return fault
        return None

    def catalog_fault(self, service, region, interface):
        """'missing_service' or 'refuse' when a catalog fault applies to this endpoint, else None."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind not in CATALOG_KINDS:
                    continue
                if fault.service and fault.service != service:
                    continue
                if fault.region and fault.region != region:
                    continue
                if fault.interface and fault.interface != interface:
                    continue
                fault.hits += 1
                return fault.kind
        return None
