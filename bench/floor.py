"""The API floor: the least any client can do to list everything.

Authenticate with keystoneauth, then GET every page of every listing (every cloud, region and
resource type of the catalog, load balancer listeners, pools and members included) with the same
page size and the same concurrency as the gatherer, and parse each body as JSON. No SDK resource
objects, no normalization, no storage: what is left is HTTP, TLS-free sockets and ``json.loads``.
A gatherer can only be slower than this; the ratio is what its own work costs.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from keystoneauth1 import adapter, session
from keystoneauth1.identity import v3

# the major API version each service is listed with (as openstacksdk does by default)
SERVICE_VERSIONS = {
    "compute": ("2.1", "2.latest"),
    "network": ("2.0", "2.latest"),
    "block-storage": ("3.0", "3.latest"),
    "image": ("2.0", "2.latest"),
    "load-balancer": ("2.0", "2.latest"),
}


def make_session(creds, timeout=120):
    auth = v3.Password(
        auth_url=creds["auth_url"],
        username=creds["username"],
        password=creds["password"],
        project_name=creds.get("project_name"),
        user_domain_name=creds.get("user_domain_name", "Default"),
        project_domain_name=creds.get("project_domain_name", "Default"),
    )
    return session.Session(auth=auth, timeout=timeout)


def _next_url(body, rtype_pagination, collection_key):
    if rtype_pagination == "next":
        nxt = body.get("next")
        if not nxt:
            return None
        # Glance's "next" is relative to the unversioned endpoint: "/v2/images?marker=..."
        return nxt[3:] if nxt.startswith("/v2/") else nxt
    for link in body.get(collection_key + "_links") or ():
        if link.get("rel") == "next":
            return link.get("href")
    return None


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.items = 0  # resources of the catalog's types (what the gatherer yields as records)
        self.sub_items = 0  # listeners, pools, members, router interface ports (embedded by the gatherer)
        self.bytes = 0

    def add(self, items, nbytes, top_level=True):
        with self.lock:
            self.requests += 1
            if top_level:
                self.items += items
            else:
                self.sub_items += items
            self.bytes += nbytes


def list_all(
    adp,
    path,
    collection_key,
    pagination,
    page_size,
    params,
    microversion,
    counter,
    max_pages=100000,
    top_level=True,
    keep=False,
):
    """GET every page of one listing; returns the parsed pages when ``keep`` (a sub-listing needs them)."""
    query = dict(params or {})
    query["limit"] = page_size
    url, items_out, pages = path, [], 0
    while url and pages < max_pages:
        kwargs = {"params": query} if url == path else {}
        if microversion:
            kwargs["microversion"] = microversion
        resp = adp.get(url, **kwargs)
        body = resp.json()
        items = body.get(collection_key) or []
        counter.add(len(items), len(resp.content), top_level)
        if keep:
            items_out.append(items)
        url = _next_url(body, pagination, collection_key)
        pages += 1
    return items_out


def floor_scope(sess, region, rtype, counter, interface="public"):
    min_v, max_v = SERVICE_VERSIONS.get(rtype.service_type, (None, None))
    adp = adapter.Adapter(
        sess,
        service_type=rtype.service_type,
        region_name=region,
        interface=interface,
        min_version=min_v,
        max_version=max_v,
    )
    microversion = rtype.microversion
    if microversion:
        # cap at the server's maximum, as the gatherer does
        data = adp.get_endpoint_data()
        if data is not None and data.max_microversion:
            wanted = tuple(int(x) for x in microversion.split("."))
            if wanted > tuple(data.max_microversion):
                microversion = "%d.%d" % tuple(data.max_microversion)
    pages = list_all(
        adp,
        rtype.list_path,
        rtype.collection_key,
        rtype.pagination,
        rtype.max_page_size,
        rtype.all_projects_query,
        microversion,
        counter,
    )
    parents = {}
    needed = {sub.parent for sub in rtype.sub_listings or () if sub.per_parent}
    for sub in rtype.sub_listings or ():
        if not sub.per_parent:
            parents[sub.name] = list_all(
                adp,
                sub.path,
                sub.collection_key,
                "links",
                rtype.max_page_size,
                getattr(sub, "query", None),
                None,
                counter,
                top_level=False,
                keep=sub.name in needed,
            )
        else:
            for page in parents.get(sub.parent, ()):
                for parent in page:
                    list_all(
                        adp,
                        sub.path.format(parent_id=parent["id"]),
                        sub.collection_key,
                        "links",
                        rtype.max_page_size,
                        getattr(sub, "query", None),
                        None,
                        counter,
                        top_level=False,
                    )
    del pages
    return True


def regions_of(sess):
    """Every region in the token's catalog."""
    access = sess.auth.get_access(sess)
    regions = []
    for service in access.service_catalog.catalog:
        for endpoint in service.get("endpoints", ()):
            region = endpoint.get("region_id") or endpoint.get("region")
            if region and region not in regions:
                regions.append(region)
    return regions


def run_floor(clouds, types, workers=8, interface="public"):
    """List everything of every cloud; ``clouds`` = [{"name", "credentials", "regions"}]; returns counts."""
    counter = Counter()
    errors = []
    sessions = {}
    jobs = []
    for cloud in clouds:
        sess = make_session(cloud["credentials"])
        sess.get_token()
        counter.requests += 1  # the token request
        sessions[cloud["name"]] = sess
        for region in cloud.get("regions") or regions_of(sess):
            for rtype in types:
                jobs.append((cloud["name"], sess, region, rtype))

    def _one(job):
        name, sess, region, rtype = job
        try:
            floor_scope(sess, region, rtype, counter, interface=interface)
        except Exception as exc:  # the floor reports, it does not stop
            errors.append("%s/%s/%s: %s" % (name, region, rtype.name, exc))

    # the gatherer runs up to ``workers`` listings per cloud, clouds side by side: the same here
    with ThreadPoolExecutor(max_workers=max(1, workers) * max(1, len(clouds))) as pool:
        list(pool.map(_one, jobs))
    return {
        "items": counter.items,
        "sub_items": counter.sub_items,
        "requests": counter.requests,
        "bytes": counter.bytes,
        "scopes": len(jobs),
        "errors": errors,
    }
