# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud identity and the ``cmdb_sync`` entry point around ``sync.run_sync``.

Each CMDB cloud remembers what fed it (``cloud_identities``): the identity service URL, the
token's project and its domain, and the user (or the application credential). Never a secret.
A run whose identity differs from the stored one is refused before anything is listed: two
accounts that see different items would otherwise sweep each other's items under one name.

``run_cmdb_sync`` checks the identity right after authentication (it wraps ``open_cloud``), runs
the sync, and then makes failures visible: a scope that failed fails the task (unless
``fail_on_scope_errors: false``), and a service that left the catalog after earlier successful
syncs is reported (its items are kept as they were and silently age otherwise).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False

from ansible_collections.cmdb.openstack.plugins.module_utils import connection as _connection
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import iso, open_store, utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError, StoreError

#: The parts of an identity, in the order they are shown.
IDENTITY_KEYS = ("auth_url", "project_id", "project_domain_id", "user_id", "application_credential_id")


class IdentityChanged(ConfigurationError):
    """The credentials of this run are not those that fed the CMDB cloud of the same name."""


def normalize_auth_url(url):
    """``https://Keystone:5000/v3/`` and ``https://keystone:5000`` are one identity service."""
    text = str(url or "").strip().rstrip("/")
    for suffix in ("/v3", "/v2.0"):
        if text.lower().endswith(suffix):
            text = text[: -len(suffix)]
    if "://" in text:
        scheme, rest = text.split("://", 1)
        host, sep, path = rest.partition("/")
        text = "%s://%s%s%s" % (scheme.lower(), host.lower(), sep, path)
    return text


def session_identity(session):
    """The non-secret identity of an authenticated ``connection.CloudSession`` (a dict of ``IDENTITY_KEYS``)."""
    ks_session = session.session
    auth = ks_session.auth
    access = auth.get_access(ks_session)
    identity = {
        "auth_url": normalize_auth_url(getattr(auth, "auth_url", None)),
        "project_id": getattr(access, "project_id", None),
        "project_domain_id": getattr(access, "project_domain_id", None),
        "user_id": None,
        "application_credential_id": getattr(access, "application_credential_id", None),
    }
    # An application credential is the identity (a user may hold several, for several projects).
    if not identity["application_credential_id"]:
        identity["user_id"] = getattr(access, "user_id", None)
    return identity


def fingerprint(identity):
    """SHA-256 of the identity's parts (stable: sorted keys, compact JSON)."""
    canonical = json.dumps(dict((k, identity.get(k)) for k in IDENTITY_KEYS), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def describe(identity):
    """``auth_url=..., project_id=..., ...`` (the parts that are set)."""
    return ", ".join("%s=%s" % (k, identity[k]) for k in IDENTITY_KEYS if identity.get(k))


def stored_identity(store, cloud):
    table = schema.cloud_identities
    with store.read() as conn:
        row = conn.execute(sa.select(table).where(table.c.cloud == cloud)).fetchone()
    if row is None:
        return None
    return {
        "cloud": row.cloud,
        "fingerprint": row.fingerprint,
        "identity": row.identity,
        "first_seen": iso(row.first_seen),
        "updated_at": iso(row.updated_at),
    }


def check_identity(store, cloud, identity, accept_change=False, check_mode=False):
    """Compare ``identity`` with the one stored for ``cloud``; record it the first time.

    Returns a warning (str) when an accepted change replaced the stored identity, else None.
    Raises ``IdentityChanged`` when it differs and ``accept_change`` is false.
    """
    table = schema.cloud_identities
    digest = fingerprint(identity)
    for _attempt in range(2):
        known = stored_identity(store, cloud)
        if known is not None and known["fingerprint"] == digest:
            return None
        if known is not None and not accept_change:
            raise IdentityChanged(
                "cloud %r: these credentials are not those that fed this CMDB cloud: the CMDB holds items of "
                "[%s] (since %s), this run authenticated as [%s]. Syncing would mark the items the other account "
                "sees and this one does not as deleted. Give this cloud another name (a clouds.yaml entry, the "
                "cloud option or an account), or, if the cloud really moved to these credentials, set "
                "accept_identity_change: true once"
                % (cloud, describe(known["identity"] or {}), known["first_seen"], describe(identity))
            )
        if check_mode:
            return _change_warning(cloud, known, identity) if known is not None else None
        now = utcnow()
        try:
            with store.write() as conn:
                if known is None:
                    conn.execute(
                        table.insert().values(
                            cloud=cloud, fingerprint=digest, identity=identity, first_seen=now, updated_at=now
                        )
                    )
                else:
                    conn.execute(
                        table.update()
                        .where(table.c.cloud == cloud)
                        .values(fingerprint=digest, identity=identity, first_seen=now, updated_at=now)
                    )
        except StoreError as exc:
            text = exc.message.lower()
            if known is None and ("unique" in text or "duplicate" in text):
                continue  # another run recorded it first: compare with that one
            raise
        return _change_warning(cloud, known, identity) if known is not None else None
    raise StoreError("cloud %r: could not record its identity (concurrent runs kept changing it)" % cloud)


def _change_warning(cloud, known, identity):
    return "cloud %r: identity change accepted (accept_identity_change): was [%s], now [%s]" % (
        cloud,
        describe(known["identity"] or {}),
        describe(identity),
    )


def left_catalog(store, cloud, scopes):
    """The ``not_in_catalog`` scopes whose type was synced successfully before in that region.

    Returns ``[{region, type, last_ok, live}]``: their items are kept as they were (nothing proves
    them deleted) but nothing refreshes them any more.
    """
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import queries

    missing = [s for s in scopes if s.get("status") == "not_in_catalog"]
    if not missing:
        return []
    res = schema.resources
    out = []
    with store.read() as conn:
        last_ok = queries.last_ok_syncs(conn, [cloud])
        for scope in missing:
            ats = [at for (c, g, t, _p), at in last_ok.items() if (c, g, t) == (cloud, scope["region"], scope["type"])]
            if not ats:
                continue
            live = conn.execute(
                sa.select(sa.func.count())
                .select_from(res)
                .where(
                    res.c.cloud == cloud,
                    res.c.region == scope["region"],
                    res.c.type == scope["type"],
                    res.c.deleted_at.is_(None),
                )
            ).scalar()
            out.append({"region": scope["region"], "type": scope["type"], "last_ok": iso(max(ats)), "live": live})
    return out


def run_cmdb_sync(params, check_mode=False, diff=False, open_cloud=None, gather=None, now=None):
    """``cmdb_sync``: identity check + ``sync.run_sync`` + visible failures; the module result dict."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import run_sync

    opener = open_cloud or _connection.open_cloud
    notes = {"warnings": []}

    def checked_open(conn_params, name=None):
        session = opener(conn_params, name=name)
        try:
            notes["warnings"].extend(getattr(session, "warnings", None) or [])
            store = open_store(params.get("cmdb_url"))
            try:
                warning = check_identity(
                    store,
                    session.name,
                    session_identity(session),
                    accept_change=bool(params.get("accept_identity_change")),
                    check_mode=check_mode,
                )
            finally:
                store.close()
            if warning:
                notes["warnings"].append(warning)
        except BaseException:
            session.close()
            raise
        return session

    result = run_sync(params, check_mode=check_mode, diff=diff, open_cloud=checked_open, gather=gather, now=now)
    result.setdefault("warnings", [])
    result["warnings"] = notes["warnings"] + list(result["warnings"])
    scopes = result.get("scopes") or []
    gone = []
    if scopes and result.get("cloud"):
        store = open_store(params.get("cmdb_url"))
        try:
            gone = left_catalog(store, result["cloud"], scopes)
        finally:
            store.close()
    result["left_catalog"] = gone
    for entry in gone:
        text = (
            "cloud %s region %s: the service of %s left the service catalog (synced until %s); its %d items in "
            "the CMDB are kept as they were and are no longer updated"
            % (result["cloud"], entry["region"], entry["type"], entry["last_ok"], entry["live"])
        )
        result["warnings"].append(text)
        if result.get("summary_lines") is not None:
            result["summary_lines"].append("left the catalog: %s/%s" % (entry["region"], entry["type"]))
        for scope in scopes:
            if (scope.get("region"), scope.get("type")) == (entry["region"], entry["type"]):
                scope["left_catalog"] = True
    if gone and result.get("msg"):
        result["msg"] += "; %d scope(s) left the service catalog: %s" % (
            len(gone),
            ", ".join("%s/%s" % (e["region"], e["type"]) for e in gone),
        )
    if result.get("failed_scopes") and params.get("fail_on_scope_errors", True) is not False:
        # What succeeded is applied; the task still fails so that a cron run or a play sees it.
        result["failed"] = True
    return result
