"""The collection's own code, called the way its modules call it (used by ``bench/worker.py``).

Kept in one file so that when an interface of ``module_utils`` changes, only this file follows.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

# The collection on sys.path
import collection_path  # noqa: F401  # pylint: disable=unused-import


def _cloud_params(cloud):
    """Module-style connection parameters: the cloud's clouds.yaml name (``OS_CLIENT_CONFIG_FILE``)."""
    return {"cloud": cloud["name"]}


class CountingConsumer:
    """A gather consumer that keeps nothing: it counts records per type and drops them."""

    def __init__(self):
        self.items = 0
        self.by_type = {}
        self.reports = []
        self.lock = threading.Lock()

    def start(self, scope):
        return None

    def page(self, scope, records):
        n = len(records)
        with self.lock:
            self.items += n
            key = scope.type
            self.by_type[key] = self.by_type.get(key, 0) + n

    def finish(self, scope, report):
        with self.lock:
            self.reports.append(report)


def _status_of(report):
    return getattr(report, "status", None), getattr(report, "message", None)


def gather_one_cloud(cloud, types, workers):
    from ansible_collections.cmdb.openstack.plugins.module_utils import connection, gather

    consumer = CountingConsumer()
    params = _cloud_params(cloud)
    session = connection.open_cloud(params, name=cloud["name"])
    try:
        kwargs = {"max_workers": workers} if workers else {}
        gather.gather(session, types or None, consumer=consumer, **kwargs)
    finally:
        if hasattr(session, "close"):
            session.close()
    errors = []
    calls = sum(getattr(report, "api_calls", 0) or 0 for report in consumer.reports)
    for report in consumer.reports:
        status, err = _status_of(report)
        if status not in (None, "ok"):
            errors.append("%s: %s %s" % (cloud["name"], status, err or ""))
    return consumer.items, consumer.by_type, errors, calls


def gather_all(clouds, types=None, workers=None):
    """Gather every type of every cloud, clouds in parallel (as the live inventory and AWX slices do)."""
    items, by_type, errors, requests = 0, {}, [], 0
    with ThreadPoolExecutor(max_workers=max(1, len(clouds))) as pool:
        for n, per_type, errs, calls in pool.map(lambda c: gather_one_cloud(c, types, workers), clouds):
            items += n
            requests += calls
            errors += errs
            for key, value in per_type.items():
                by_type[key] = by_type.get(key, 0) + value
    return {"items": items, "by_type": by_type, "errors": errors, "requests": requests}


def cmdb_sync_all(clouds, url, types=None, workers=None):
    """gather -> CMDB for every cloud, one after the other, as ``cmdb_sync`` does it (``sync.run_sync``)."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import sync

    totals, errors, scopes = {}, [], 0
    for cloud in clouds:
        params = dict(_cloud_params(cloud))
        params.update(cmdb_url=url, types=list(types) if types else None)
        result = sync.run_sync(params)
        for key, value in (result.get("totals") or {}).items():
            totals[key] = totals.get(key, 0) + (value or 0)
        scopes += len(result.get("scopes") or ())
        errors += list(result.get("warnings") or ())
    items = sum(totals.get(k, 0) for k in ("new", "updated", "reappeared", "unchanged"))
    return {"items": items, "totals": totals, "scopes": scopes, "errors": errors}
