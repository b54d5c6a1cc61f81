# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings of a registered cloud account: validation, the stored ``connection`` and the public view.

Pure functions (no database): ``cloud_account`` validates with them before opening the CMDB,
``cmdb/accounts.py`` stores what they return, ``credentials.py`` resolves a connection from them.
Secrets are never part of an account: ``build_connection`` strips them (``secrets.strip_secrets``).

Project scope (``all_projects``, ``projects``): ``all_projects`` true (the default) lists every
project (needs the admin role); false with no ``projects`` lists the token's project only;
``projects`` (names or ids) limits the listing, and the sweep, to those projects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
from collections import OrderedDict

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.clock import iso, utcnow
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError
from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import format_interval, parse_interval

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


def naive_utc(value):
    """``value`` (None: now; a timestamp; an aware or naive datetime) as a naive UTC datetime."""
    if value is None:
        return utcnow()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).replace(tzinfo=None)
    if value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _auth_family(auth_type):
    auth_type = (auth_type or "password").lower()
    if auth_type in _PASSWORD_TYPES:
        return "password"
    if auth_type in _APPCRED_TYPES:
        return "v3applicationcredential"
    if auth_type in _TOKEN_TYPES:
        return "token"
    return None


def secret_key(auth_type):
    family = _auth_family(auth_type)
    return {"password": "password", "v3applicationcredential": "application_credential_secret", "token": "token"}.get(
        family
    )


def requirements_text():
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
                requirements_text(),
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
            "auth_type: %s" % (where, requirements_text())
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


def plain_connection(value):
    """A stored connection read back, as plain dicts (and without any secret, should one have slipped in)."""
    value = copy.deepcopy(dict(value))
    if isinstance(value.get("auth"), dict):
        value["auth"] = dict(secrets.strip_secrets(value["auth"]))
    return value


def validate_name(name):
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError("name: an account needs a non-empty name")
    if len(name) > 255:
        raise ConfigurationError("name: at most 255 characters")
    if name != name.strip() or any(ord(ch) < 32 for ch in name):
        raise ConfigurationError("name %r: no leading/trailing spaces or control characters" % name)


def validate_regions(regions):
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


def validate_pause_after(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            "pause_after_auth_failures must be a whole number >= 0 (0: never pause), got %r" % (value,)
        )
    return value or None


def validate_projects(projects, all_projects=None, account=None):
    """``(all_projects, projects)`` to store, or ``(None, None)`` when neither is given (keep the stored values).

    ``projects``: a list of project names or ids (or one as a string); a non-empty list limits the
    listing to them, so ``all_projects`` true together with ``projects`` is an error.
    """
    where = "account %r: " % account if account else ""
    if projects is None and all_projects is None:
        return None, None
    if isinstance(projects, str):
        projects = [projects]
    clean = []
    for project in projects or ():
        if not isinstance(project, str) or not project.strip():
            raise ConfigurationError(
                "%sprojects: every project must be a non-empty name or id, got %r" % (where, project)
            )
        if project not in clean:
            clean.append(project.strip())
    if all_projects is not None and _bool(all_projects) is None:
        raise ConfigurationError("%sall_projects must be true or false, got %r" % (where, all_projects))
    all_projects = _bool(all_projects) if all_projects is not None else None
    if clean and all_projects:
        raise ConfigurationError(
            "%sgive either all_projects: true (every project; needs the admin role) or projects (a list that "
            "limits the listing to those projects), not both" % where
        )
    if all_projects is None:
        all_projects = not clean
    return all_projects, clean


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
            ("all_projects", account.get("all_projects", True)),
            ("projects", list(account.get("projects") or [])),
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


def diff_view(account):
    """What ``cloud_account`` manages, for comparison and ``--diff``."""
    if account is None or account.get("deleted_at") is not None:
        return {}
    return OrderedDict(
        (
            ("name", account["name"]),
            ("connection", account["connection"]),
            ("regions", account["regions"]),
            ("all_projects", account.get("all_projects", True)),
            ("projects", list(account.get("projects") or [])),
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
