# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registered cloud accounts: the CMDB's ``clouds`` table, the due logic and auth-failure pausing.

An account is registered once (module ``cloud_account``) with how it authenticates, its regions
and, for every resource type of the catalog, whether it is synchronized and how often. Secrets
are never stored: ``password``, ``application_credential_secret`` and ``token`` are stripped from
every auth dict before it reaches the database, and come at sync time from the caller
(``overrides``: a vaulted variable), the environment (``OS_PASSWORD``,
``OS_APPLICATION_CREDENTIAL_SECRET``, ``OS_TOKEN``) or a clouds.yaml/secure.yaml (an account
registered by clouds.yaml name; AWX credentials write such a file).

Functions used by ``cmdb_sync``:

* ``connection_params(store, name, overrides)``: the parameters for ``connection.open_cloud``;
* ``due_types(store, name, requested_types=None, now=None)``: which types to sync now;
* ``record_auth_result(store, name, ok, message=None)``: count auth failures, pause the account.

``store`` is the CMDB store (``cmdb.store``) or anything with an SQLAlchemy ``engine``
attribute, or an ``Engine`` itself. Times are naive UTC ``datetime`` objects, as in every CMDB
table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import datetime
import os
import traceback
from collections import OrderedDict

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
    SQLALCHEMY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False
    SQLALCHEMY_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.clock import iso, utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError, StoreError
from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import format_interval, parse_interval

if HAS_SQLALCHEMY:
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
else:  # pragma: no cover
    schema = None

#: sync_runs.status of a complete, successful listing (the gather scope status ``ok``).
SYNC_OK = "ok"

#: Non-secret connection settings kept next to ``cloud`` or ``auth``/``auth_type``.
CONNECTION_EXTRAS = ("interface", "validate_certs", "ca_cert", "api_timeout")

#: Auth keys the ``cloud_account`` module accepts (the secret ones are accepted, never stored).
AUTH_KEYS = (
    "auth_url",
    "username",
    "user_id",
    "password",
    "project_name",
    "project_id",
    "user_domain_name",
    "user_domain_id",
    "project_domain_name",
    "project_domain_id",
    "domain_name",
    "domain_id",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
    "token",
)

_PASSWORD_TYPES = ("password", "v3password", "v2password")
_APPCRED_TYPES = ("v3applicationcredential", "applicationcredential")
_TOKEN_TYPES = ("token", "v3token", "v2token")

#: What each auth_type needs, as (alternatives...) groups, for the error message.
AUTH_REQUIREMENTS = OrderedDict(
    (
        ("password", (("auth_url",), ("username", "user_id"), ("project_name", "project_id"))),
        ("v3applicationcredential", (("auth_url",), ("application_credential_id", "application_credential_name"))),
        ("token", (("auth_url",), ("project_name", "project_id"))),
    )
)

SETTING_KEYS = ("enabled", "interval")


class AccountUnavailable(ConfigurationError):
    """The account is unknown, unregistered or paused: ``reason`` is ``unknown``/``unregistered``/``paused``."""

    def __init__(self, message, reason, **details):
        super(AccountUnavailable, self).__init__(message, **details)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Small helpers


def _naive_utc(value):
    if value is None:
        return utcnow()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).replace(tzinfo=None)
    if value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _require_sqlalchemy():
    if not HAS_SQLALCHEMY:
        raise StoreError("the CMDB needs the Python library SQLAlchemy (pip install SQLAlchemy)")


def _engine(store):
    _require_sqlalchemy()
    engine = getattr(store, "engine", store)
    if not hasattr(engine, "connect"):
        raise StoreError("not a CMDB store: %r" % (store,))
    return engine


@contextlib.contextmanager
def _read(store):
    """A read connection: the store's own (its errors name the database) or one from an Engine."""
    if hasattr(store, "read"):
        with store.read() as connection:
            yield connection
        return
    try:
        with _engine(store).connect() as connection:
            yield connection
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError("cannot read the CMDB accounts: %s" % _db_message(exc))


@contextlib.contextmanager
def _write(store):
    """One write transaction (``cmdb_write``: the store takes SQLite's write lock at BEGIN)."""
    if hasattr(store, "write"):
        with store.write() as connection:
            yield connection
        return
    try:
        with _engine(store).connect() as connection:
            connection = connection.execution_options(cmdb_write=True)
            with connection.begin():
                yield connection
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError("cannot write the CMDB accounts: %s" % _db_message(exc))


def _db_message(exc):
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def _auth_family(auth_type):
    auth_type = (auth_type or "password").lower()
    if auth_type in _PASSWORD_TYPES:
        return "password"
    if auth_type in _APPCRED_TYPES:
        return "v3applicationcredential"
    if auth_type in _TOKEN_TYPES:
        return "token"
    return None


def _secret_key(auth_type):
    family = _auth_family(auth_type)
    return {"password": "password", "v3applicationcredential": "application_credential_secret", "token": "token"}.get(
        family
    )


def _requirements_text():
    parts = []
    for family, groups in AUTH_REQUIREMENTS.items():
        parts.append("%s: %s" % (family, ", ".join(" or ".join(group) for group in groups)))
    return "; ".join(parts)


def validate_auth(auth, auth_type, account=None):
    """Raise one ``ConfigurationError`` naming every missing auth field (secrets are never required)."""
    auth = auth or {}
    unknown = sorted(key for key in auth if key not in AUTH_KEYS)
    where = "account %r: " % account if account else ""
    if unknown:
        raise ConfigurationError(
            "%sunknown auth field(s) %s; valid fields are: %s" % (where, ", ".join(unknown), ", ".join(AUTH_KEYS))
        )
    family = _auth_family(auth_type)
    groups = AUTH_REQUIREMENTS.get(family, (("auth_url",),))
    missing = [group for group in groups if not any(auth.get(key) not in (None, "") for key in group)]
    if family == "v3applicationcredential" and not auth.get("application_credential_id"):
        if auth.get("application_credential_name") and not (auth.get("username") or auth.get("user_id")):
            missing.append(("username", "user_id"))
    if missing:
        raise ConfigurationError(
            "%sauth is missing %s for auth_type %r. Either give cloud (a clouds.yaml cloud name) or auth with "
            "the fields of its auth_type: %s. Secrets (password, application_credential_secret) are not "
            "stored: they come at sync time from a vaulted variable, OS_PASSWORD / "
            "OS_APPLICATION_CREDENTIAL_SECRET or clouds.yaml."
            % (
                where,
                ", ".join("auth." + " or auth.".join(group) for group in missing),
                auth_type or "password",
                _requirements_text(),
            )
        )


def validate_resources(resources, base=None, account=None):
    """Merge ``resources`` (``{type: {enabled, interval}}``) over ``base`` (default: the catalog's).

    Every error (unknown type, unknown key, bad ``enabled``, bad interval) is collected into one
    ``ConfigurationError`` that lists what is valid. Types may be named singular or plural.
    """
    settings = normalize_settings(base)
    if resources is None:
        return settings
    where = "account %r: " % account if account else ""
    if not isinstance(resources, dict):
        raise ConfigurationError(
            "%sresources must be a dict of resource type -> {enabled, interval}, got %s"
            % (where, type(resources).__name__)
        )
    errors = []
    unknown = []
    for key, value in resources.items():
        try:
            rtype = catalog.get_type(str(key))
        except KeyError:
            unknown.append(str(key))
            continue
        if value is None:
            continue
        if not isinstance(value, dict):
            errors.append(
                "resources.%s must be a dict with enabled (bool) and/or interval, got %r" % (rtype.name, value)
            )
            continue
        bad_keys = sorted(str(k) for k in value if k not in SETTING_KEYS)
        if bad_keys:
            errors.append(
                "resources.%s has unknown key(s) %s; valid keys are: enabled, interval"
                % (rtype.name, ", ".join(bad_keys))
            )
        entry = settings[rtype.name]
        if value.get("enabled") is not None:
            enabled = _bool(value["enabled"])
            if enabled is None:
                errors.append("resources.%s.enabled must be true or false, got %r" % (rtype.name, value["enabled"]))
            else:
                entry["enabled"] = enabled
        if value.get("interval") is not None:
            try:
                entry["interval"] = parse_interval(value["interval"], field="resources.%s.interval" % rtype.name)
            except ConfigurationError as exc:
                errors.append(exc.message)
    if unknown:
        errors.insert(
            0,
            "unknown resource type(s) %s in resources; valid types are: %s"
            % (", ".join(sorted(unknown)), ", ".join(catalog.RESOURCE_TYPE_NAMES)),
        )
    if errors:
        raise ConfigurationError(where + "; ".join(errors))
    return settings


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("yes", "true", "on", "1", "y"):
            return True
        if lowered in ("no", "false", "off", "0", "n"):
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


def normalize_settings(stored):
    """Stored settings over the catalog defaults: every catalog type, in catalog order."""
    settings = OrderedDict((name, dict(entry)) for name, entry in catalog.default_settings().items())
    for name, entry in (stored or {}).items():
        if name in settings and isinstance(entry, dict):
            if isinstance(entry.get("enabled"), bool):
                settings[name]["enabled"] = entry["enabled"]
            interval = entry.get("interval")
            if isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
                settings[name]["interval"] = interval
    return settings


def validate_types(types, field="types"):
    """Catalog names (plural) for ``types``; ``None`` stays ``None`` (no choice made)."""
    if types is None:
        return None
    return catalog.resolve_type_names(types, field)


def build_connection(cloud=None, auth=None, auth_type=None, account=None, **extras):
    """The stored ``connection`` JSON: ``cloud`` or ``auth_type`` + ``auth`` without secrets, and extras."""
    where = "account %r: " % account if account else ""
    if cloud and auth:
        raise ConfigurationError(
            "%sgive either cloud (a clouds.yaml cloud name) or auth (auth_url, username, project...), not both" % where
        )
    if not cloud and not auth:
        raise ConfigurationError(
            "%show does it authenticate? Give cloud (a clouds.yaml cloud name) or auth with the fields of its "
            "auth_type: %s" % (where, _requirements_text())
        )
    connection = OrderedDict()
    if cloud:
        if not isinstance(cloud, str):
            raise ConfigurationError(
                "%scloud must be the name of a clouds.yaml cloud (a string); a dict could hold a secret, and "
                "secrets are never stored: use auth" % where
            )
        connection["cloud"] = cloud
        if auth_type:
            connection["auth_type"] = auth_type
    else:
        if not isinstance(auth, dict):
            raise ConfigurationError("%sauth must be a dict (auth_url, username, project_name, ...)" % where)
        validate_auth(auth, auth_type, account=account)
        connection["auth_type"] = auth_type or "password"
        connection["auth"] = secrets.strip_secrets(auth)
    for key in CONNECTION_EXTRAS:
        if extras.get(key) is not None:
            connection[key] = extras[key]
    return connection


# ---------------------------------------------------------------------------------------------
# Reading accounts


def _row_to_account(row):
    settings = normalize_settings(row["settings"])
    return OrderedDict(
        (
            ("name", row["name"]),
            ("connection", _plain(row["connection"] or {})),
            ("regions", list(row["regions"] or [])),
            ("settings", settings),
            ("paused", bool(row["paused"])),
            ("pause_after_auth_failures", row["pause_after_auth_failures"]),
            ("auth_failures", row["auth_failures"] or 0),
            ("last_auth_error", row["last_auth_error"]),
            ("last_auth_error_at", row["last_auth_error_at"]),
            ("created_at", row["created_at"]),
            ("updated_at", row["updated_at"]),
            ("deleted_at", row["deleted_at"]),
        )
    )


def _plain(value):
    """A JSON value read back, as plain dicts (and without any secret, should one have slipped in)."""
    value = copy.deepcopy(dict(value))
    if isinstance(value.get("auth"), dict):
        value["auth"] = dict(secrets.strip_secrets(value["auth"]))
    return value


def _select_row(connection, name):
    table = schema.clouds
    row = connection.execute(sa.select(table).where(table.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def get_account(store, name, include_unregistered=False):
    """The account ``name`` as a dict (``settings`` complete), or None."""
    with _read(store) as connection:
        row = _select_row(connection, name)
    if row is None or (row["deleted_at"] is not None and not include_unregistered):
        return None
    return _row_to_account(row)


def list_accounts(store, include_unregistered=False, names=None):
    """Every registered account (by name), as dicts."""
    table = schema.clouds
    query = sa.select(table).order_by(table.c.name)
    if not include_unregistered:
        query = query.where(table.c.deleted_at.is_(None))
    if names:
        query = query.where(table.c.name.in_(list(names)))
    with _read(store) as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    return [_row_to_account(row) for row in rows]


def public_view(account):
    """JSON-safe view for module results and the inventory: intervals in seconds and as text."""
    if account is None:
        return None
    resources = OrderedDict()
    for name, entry in account["settings"].items():
        resources[name] = OrderedDict(
            (
                ("enabled", entry["enabled"]),
                ("interval", entry["interval"]),
                ("interval_text", format_interval(entry["interval"])),
            )
        )
    view = OrderedDict(
        (
            ("name", account["name"]),
            ("connection", account["connection"]),
            ("regions", account["regions"]),
            ("resources", resources),
            ("paused", account["paused"]),
            ("pause_after_auth_failures", account["pause_after_auth_failures"]),
            ("auth_failures", account["auth_failures"]),
            ("last_auth_error", account["last_auth_error"]),
            ("last_auth_error_at", iso(account["last_auth_error_at"])),
            ("created_at", iso(account["created_at"])),
            ("updated_at", iso(account["updated_at"])),
            ("registered", account["deleted_at"] is None),
        )
    )
    if account["deleted_at"] is not None:
        view["unregistered_at"] = iso(account["deleted_at"])
    return view


def _diff_view(account):
    """What ``cloud_account`` manages, for comparison and ``--diff``."""
    if account is None or account.get("deleted_at") is not None:
        return {}
    return OrderedDict(
        (
            ("name", account["name"]),
            ("connection", account["connection"]),
            ("regions", account["regions"]),
            (
                "resources",
                OrderedDict(
                    (name, OrderedDict((("enabled", entry["enabled"]), ("interval", entry["interval"]))))
                    for name, entry in account["settings"].items()
                ),
            ),
            ("paused", account["paused"]),
            ("pause_after_auth_failures", account["pause_after_auth_failures"]),
            ("auth_failures", account.get("auth_failures") or 0),
        )
    )


# ---------------------------------------------------------------------------------------------
# Registering


def _validate_name(name):
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError("name: an account needs a non-empty name")
    if len(name) > 255:
        raise ConfigurationError("name: at most 255 characters")
    if name != name.strip() or any(ord(ch) < 32 for ch in name):
        raise ConfigurationError("name %r: no leading/trailing spaces or control characters" % name)


def _validate_regions(regions):
    if regions is None:
        return None
    if isinstance(regions, str):
        regions = [regions]
    clean = []
    for region in regions:
        if not isinstance(region, str) or not region.strip():
            raise ConfigurationError("regions: every region must be a non-empty name, got %r" % (region,))
        if region not in clean:
            clean.append(region)
    return clean


def _validate_pause_after(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            "pause_after_auth_failures must be a whole number >= 0 (0: never pause), got %r" % (value,)
        )
    return value or None


def ensure_account(
    store,
    name,
    connection=None,
    regions=None,
    resources=None,
    paused=None,
    pause_after_auth_failures=None,
    check_mode=False,
    now=None,
):
    """Register or update ``name``; return ``{"changed", "account", "diff"}``.

    ``connection`` is the output of ``build_connection`` (required for a new or unregistered
    account). Options left as None keep their stored value (a new account gets the defaults:
    every region, the catalog's settings, not paused). ``resources`` is merged over the stored
    settings type by type and key by key. Changing ``connection`` or setting ``paused: false``
    clears the auth failure count, so an account paused after failed logins runs again once it
    is fixed. In ``check_mode`` nothing is written.
    """
    _validate_name(name)
    _validate_regions(regions)
    _validate_pause_after(pause_after_auth_failures)
    kwargs = dict(
        connection=connection,
        regions=regions,
        resources=resources,
        paused=paused,
        pause_after_auth_failures=pause_after_auth_failures,
        check_mode=check_mode,
        now=_naive_utc(now),
    )
    try:
        return _ensure_account(store, name, **kwargs)
    except StoreError as exc:
        # Two registrations of one new account at once (PostgreSQL): the loser sees the winner's row.
        lowered = exc.message.lower()
        if "unique" not in lowered and "duplicate" not in lowered:
            raise
        return _ensure_account(store, name, **kwargs)


def _ensure_account(store, name, connection, regions, resources, paused, pause_after_auth_failures, check_mode, now):
    regions = _validate_regions(regions)
    pause_after = _validate_pause_after(pause_after_auth_failures)
    with _write(store) as db:
        row = _select_row(db, name)
        existing = _row_to_account(row) if row is not None else None
        registered = existing is not None and existing["deleted_at"] is None
        if not registered and connection is None:
            raise ConfigurationError(
                "account %r is not registered: give cloud (a clouds.yaml cloud name) or auth (%s) to register it"
                % (name, _requirements_text())
            )
        base = existing if registered else None
        desired = OrderedDict()
        desired["name"] = name
        desired["connection"] = _plain(connection) if connection is not None else base["connection"]
        desired["regions"] = regions if regions is not None else (base["regions"] if base else [])
        desired["settings"] = validate_resources(resources, base["settings"] if base else None, account=name)
        desired["paused"] = bool(paused) if paused is not None else (base["paused"] if base else False)
        if pause_after_auth_failures is not None:
            desired["pause_after_auth_failures"] = pause_after
        else:
            desired["pause_after_auth_failures"] = base["pause_after_auth_failures"] if base else None
        desired["deleted_at"] = None
        desired["auth_failures"] = base["auth_failures"] if base else 0
        if base is not None and base["auth_failures"]:
            connection_changed = desired["connection"] != base["connection"]
            if connection_changed or paused is False:
                desired["auth_failures"] = 0
            if connection_changed and base["paused"] and paused is None and _auto_paused(base):
                desired["paused"] = False
        before = _diff_view(existing)
        after = _diff_view(desired)
        changed = before != after
        values = {
            "connection": dict(desired["connection"]),
            "regions": list(desired["regions"]),
            "settings": dict((k, dict(v)) for k, v in desired["settings"].items()),
            "paused": desired["paused"],
            "pause_after_auth_failures": desired["pause_after_auth_failures"],
            "deleted_at": None,
        }
        if not desired["auth_failures"] and (base is None or base["auth_failures"]):
            values.update(auth_failures=0, last_auth_error=None, last_auth_error_at=None)
        if changed and not check_mode:
            table = schema.clouds
            if row is None:
                values.update(name=name, created_at=now, updated_at=now)
                db.execute(table.insert().values(**values))
            else:
                values["updated_at"] = now
                db.execute(table.update().where(table.c.name == name).values(**values))
        result_row = dict(row or {}, name=name)
        for key in ("auth_failures", "last_auth_error", "last_auth_error_at", "created_at", "updated_at"):
            result_row.setdefault(key, 0 if key == "auth_failures" else None)
        if changed:
            result_row.update(values, updated_at=now)
            result_row["created_at"] = result_row["created_at"] or now
    account = _row_to_account(result_row)
    return {
        "changed": changed,
        "account": public_view(account),
        "diff": {"before": before, "after": after},
    }


def _auto_paused(account):
    limit = account["pause_after_auth_failures"]
    return bool(limit) and account["auth_failures"] >= limit


def unregister_account(store, name, check_mode=False, now=None):
    """Mark ``name`` unregistered (``deleted_at``); its row and its resources' history stay."""
    _validate_name(name)
    now = _naive_utc(now)
    with _write(store) as db:
        row = _select_row(db, name)
        if row is None or row["deleted_at"] is not None:
            account = _row_to_account(row) if row is not None else None
            return {"changed": False, "account": public_view(account), "diff": {"before": {}, "after": {}}}
        before = _diff_view(_row_to_account(row))
        if not check_mode:
            table = schema.clouds
            db.execute(table.update().where(table.c.name == name).values(deleted_at=now, updated_at=now))
        row = dict(row, deleted_at=now, updated_at=now)
    return {"changed": True, "account": public_view(_row_to_account(row)), "diff": {"before": before, "after": {}}}


# ---------------------------------------------------------------------------------------------
# Used by cmdb_sync


def _available_account(store, name):
    with _read(store) as connection:
        row = _select_row(connection, name)
    if row is None:
        raise AccountUnavailable(
            "cloud account %r is not registered in the CMDB; register it with cmdb.openstack.cloud_account" % name,
            "unknown",
        )
    account = _row_to_account(row)
    if account["deleted_at"] is not None:
        raise AccountUnavailable(
            "cloud account %r was unregistered on %s; register it again with cmdb.openstack.cloud_account "
            "(state: present)" % (name, iso(account["deleted_at"])),
            "unregistered",
        )
    return account


def connection_params(store, name, overrides=None, environ=None, ignore_paused=False):
    """Parameters for ``connection.open_cloud`` from the stored settings plus secrets given now.

    ``overrides`` is a dict of connection options (``cloud``, ``auth`` merged key by key,
    ``auth_type``, ``region_name``, ``interface``, ``validate_certs``, ``ca_cert``,
    ``api_timeout``) and/or the secret alone as ``password``, ``application_credential_secret``
    or ``token``. When an auth-based account still has no secret, it is taken from
    ``OS_PASSWORD`` / ``OS_APPLICATION_CREDENTIAL_SECRET`` / ``OS_TOKEN``; a missing secret is an
    error that says where to put it. Accounts registered with ``cloud`` read their secret from
    clouds.yaml/secure.yaml. Raises ``AccountUnavailable`` for an unknown, unregistered or paused
    account (``ignore_paused``: also for a paused one, e.g. to check its permissions).
    """
    account = _available_account(store, name)
    if account["paused"] and not ignore_paused:
        reason = ""
        if account["last_auth_error"]:
            reason = " after %d failed authentication(s), last on %s: %s" % (
                account["auth_failures"],
                iso(account["last_auth_error_at"]),
                account["last_auth_error"],
            )
        raise AccountUnavailable(
            "cloud account %r is paused%s; fix it, then resume it with cmdb.openstack.cloud_account "
            "(name: %s, paused: false)" % (name, reason, name),
            "paused",
        )
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    stored = account["connection"]
    params = OrderedDict()
    cloud = overrides.pop("cloud", None) or stored.get("cloud")
    if cloud:
        params["cloud"] = cloud
    auth = dict(stored.get("auth") or {})
    auth.update((key, value) for key, value in (overrides.pop("auth", None) or {}).items() if value is not None)
    for key in secrets.SECRET_ENV:
        value = overrides.pop(key, None)
        if value is not None:
            auth[key] = value
    auth_type = overrides.pop("auth_type", None) or stored.get("auth_type")
    if auth_type:
        params["auth_type"] = auth_type
    if not cloud:
        secret_key = _secret_key(auth_type)
        if secret_key and not auth.get(secret_key):
            env_name = secrets.SECRET_ENV[secret_key]
            if environ.get(env_name):
                auth[secret_key] = environ[env_name]
            else:
                raise ConfigurationError(
                    "cloud account %r authenticates with auth_type %r, whose %s is never stored: give it at "
                    "sync time (a vaulted variable passed as the account's secret, or the environment variable "
                    "%s), or register the account with a clouds.yaml cloud name (cloud), e.g. one written by an "
                    "AWX credential" % (name, auth_type or "password", secret_key, env_name)
                )
    if auth:
        params["auth"] = auth
    for key in CONNECTION_EXTRAS:
        if overrides.get(key) is not None:
            params[key] = overrides.pop(key)
        elif stored.get(key) is not None:
            params[key] = stored[key]
    region_name = overrides.pop("region_name", None)
    if region_name is None and account["regions"]:
        region_name = list(account["regions"])
    if region_name is not None:
        params["region_name"] = region_name
    for key, value in overrides.items():
        if value is not None and key not in params:
            params[key] = value
    return dict(params)


def last_successful_syncs(store, name):
    """``{type: {region: finished_at}}``: the newest successful (status ``ok``) sync per scope."""
    table = schema.sync_runs
    query = (
        sa.select(table.c.type, table.c.region, sa.func.max(table.c.finished_at).label("finished_at"))
        .where(table.c.cloud == name, table.c.status == SYNC_OK, table.c.finished_at.is_not(None))
        .group_by(table.c.type, table.c.region)
    )
    result = {}
    with _read(store) as connection:
        for row in connection.execute(query):
            result.setdefault(row.type, {})[row.region] = row.finished_at
    return result


def _known_regions(store, name):
    table = schema.sync_runs
    query = sa.select(table.c.type, table.c.region).where(table.c.cloud == name).distinct()
    result = {}
    with _read(store) as connection:
        for row in connection.execute(query):
            result.setdefault(row.type, set()).add(row.region)
    return result


def due_types(store, name, requested_types=None, now=None, include_disabled=False, regions=None, force=None):
    """The resource types of account ``name`` to sync now, in catalog order.

    * ``requested_types`` None: the due run. A type is due when it is enabled and its interval
      has passed since its last successful sync (``sync_runs.status == "ok"``) in every region
      of the account: a region that never synced successfully makes the type due. With no
      regions configured (every region of the catalog) the regions are those seen in earlier
      runs of that type. Failed or forbidden runs do not count as syncs, so they are retried on
      the next due run.
    * ``requested_types`` a list (or comma-separated string) of type names, or ``["all"]``: a
      forced run. Those types are returned whether due or not; disabled types are still left
      out unless ``include_disabled`` is true.

    * ``force=False`` with ``requested_types``: only the due ones among them (``force`` defaults
      to true when types are named, false otherwise).
    * ``regions``: only these regions count (a sync of one region, e.g. one host of the
      ``cmdb.openstack.clouds`` inventory per account and region); default: the account's.

    A paused account has no due types (``[]``); an unknown or unregistered account raises
    ``AccountUnavailable``.
    """
    account = _available_account(store, name)
    if account["paused"]:
        return []
    settings = account["settings"]
    named = validate_types(requested_types, field="types")
    if force is None:
        force = named is not None
    if force:
        wanted = named if named is not None else list(catalog.RESOURCE_TYPE_NAMES)
        return [t for t in catalog.RESOURCE_TYPE_NAMES if t in wanted and (include_disabled or settings[t]["enabled"])]
    due = []
    for type_name, seconds in _waits(store, account, _naive_utc(now), regions).items():
        if seconds <= 0 and (named is None or type_name in named):
            due.append(type_name)
    return due


def _waits(store, account, now, regions=None):
    """``{enabled type: seconds until due}`` (<= 0: due) for ``regions`` (default: the account's)."""
    name = account["name"]
    wanted = _validate_regions(regions) or list(account["regions"])
    last = last_successful_syncs(store, name)
    known = None if wanted else _known_regions(store, name)
    result = OrderedDict()
    for type_name, entry in account["settings"].items():
        if not entry["enabled"]:
            continue
        scope_regions = wanted or sorted(known.get(type_name, ()))
        per_region = last.get(type_name, {})
        if not scope_regions or any(region not in per_region for region in scope_regions):
            result[type_name] = 0
            continue
        oldest = min(per_region[region] for region in scope_regions)
        result[type_name] = entry["interval"] - (now - oldest).total_seconds()
    return result


def next_due(store, name, now=None, regions=None):
    """``{type: seconds until due (0: due now)}`` for the enabled types of ``name`` (for reports)."""
    account = _available_account(store, name)
    waits = _waits(store, account, _naive_utc(now), regions)
    return OrderedDict((type_name, max(0, int(seconds))) for type_name, seconds in waits.items())


_MAX_ERROR = 2000


def record_auth_result(store, name, ok, message=None, now=None):
    """Record an authentication attempt of account ``name``.

    A failure increments ``auth_failures`` and stores ``message`` (truncated) and the time; when
    ``pause_after_auth_failures`` is set and reached, the account is paused until someone resumes
    it (``cloud_account`` with ``paused: false`` or a changed auth). A success resets the count and
    clears the stored error. Returns ``{"auth_failures", "paused", "paused_now"}``, or None for an
    account that is not registered (clouds.yaml clouds synced without registration).
    """
    now = _naive_utc(now)
    table = schema.clouds
    with _write(store) as db:
        row = _select_row(db, name)
        if row is None or row["deleted_at"] is not None:
            return None
        if ok:
            if row["auth_failures"] or row["last_auth_error"] is not None or row["last_auth_error_at"] is not None:
                db.execute(
                    table.update()
                    .where(table.c.name == name)
                    .values(auth_failures=0, last_auth_error=None, last_auth_error_at=None)
                )
            return {"auth_failures": 0, "paused": bool(row["paused"]), "paused_now": False}
        text = (message or "authentication failed").strip() or "authentication failed"
        if len(text) > _MAX_ERROR:
            text = text[: _MAX_ERROR - 3] + "..."
        db.execute(
            table.update()
            .where(table.c.name == name)
            .values(auth_failures=table.c.auth_failures + 1, last_auth_error=text, last_auth_error_at=now)
        )
        failures = db.execute(sa.select(table.c.auth_failures).where(table.c.name == name)).scalar_one()
        limit = row["pause_after_auth_failures"]
        paused_now = False
        if limit and failures >= limit and not row["paused"]:
            db.execute(table.update().where(table.c.name == name).values(paused=True))
            paused_now = True
        return {"auth_failures": failures, "paused": bool(row["paused"]) or paused_now, "paused_now": paused_now}


# ---------------------------------------------------------------------------------------------
# The cloud_account module


def _auth_suboptions():
    spec = dict((key, dict(type="str")) for key in AUTH_KEYS)
    for key in secrets.ACCOUNT_SECRET_KEYS:
        spec[key]["no_log"] = True
    return spec


#: Argument spec of ``cloud_account`` (DOCUMENTATION in the module matches it).
CLOUD_ACCOUNT_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    cloud=dict(type="str"),
    auth=dict(type="dict", options=_auth_suboptions()),
    auth_type=dict(type="str"),
    interface=dict(type="str", choices=["public", "internal", "admin"]),
    validate_certs=dict(type="bool"),
    ca_cert=dict(type="path"),
    api_timeout=dict(type="float"),
    regions=dict(type="list", elements="str"),
    resources=dict(type="dict"),
    paused=dict(type="bool"),
    pause_after_auth_failures=dict(type="int"),
    cmdb_url=dict(type="str"),
)


def run_cloud_account(params, check_mode=False, open_store=None, now=None):
    """``cloud_account``: register/update (present) or unregister (absent); return the result dict."""
    if open_store is None:
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
    name = params.get("name")
    _validate_name(name)
    state = params.get("state") or "present"
    auth = params.get("auth")
    if auth is not None:
        auth = dict((key, value) for key, value in auth.items() if value is not None)
    connection = None
    extras = dict((key, params.get(key)) for key in CONNECTION_EXTRAS)
    if state == "present":
        if params.get("cloud") or auth:
            connection = build_connection(
                cloud=params.get("cloud"), auth=auth, auth_type=params.get("auth_type"), account=name, **extras
            )
        elif params.get("auth_type") or any(value is not None for value in extras.values()):
            raise ConfigurationError(
                "account %r: auth_type, interface, validate_certs, ca_cert and api_timeout describe the "
                "connection: give them together with cloud or auth (the connection is replaced as a whole)" % name
            )
        # Validate everything before opening the database.
        validate_resources(params.get("resources"), account=name)
        _validate_regions(params.get("regions"))
        _validate_pause_after(params.get("pause_after_auth_failures"))
    store = open_store(params.get("cmdb_url"))
    try:
        if state == "absent":
            result = unregister_account(store, name, check_mode=check_mode, now=now)
        else:
            result = ensure_account(
                store,
                name,
                connection=connection,
                regions=params.get("regions"),
                resources=params.get("resources"),
                paused=params.get("paused"),
                pause_after_auth_failures=params.get("pause_after_auth_failures"),
                check_mode=check_mode,
                now=now,
            )
    finally:
        store.close()
    account = result["account"]
    if state == "absent":
        verb = "unregistered" if result["changed"] else "is not registered"
    elif not result["changed"]:
        verb = "is up to date"
    elif result["diff"]["before"]:
        verb = "updated"
    else:
        verb = "registered"
    msg = "cloud account %r %s%s" % (
        name,
        verb,
        " (check mode: nothing written)" if check_mode and result["changed"] else "",
    )
    return {
        "changed": result["changed"],
        "account": account,
        "diff": result["diff"],
        "msg": msg,
    }
