# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX objects that run cmdb.openstack syncs, computed as data (no AWX needed).

``build_plan(accounts, ...)`` turns the accounts registered in the CMDB (as ``cmdb_info``'s
``accounts`` section or ``cmdb/accounts.public_view`` show them, read read-only; the deprecated
fallback: the list ``playbooks/register.yml`` registers) into the AWX objects the ``awx`` role
creates with the awx.awx collection: credential types, one credential per
account, a project, an inventory whose source is this collection's ``clouds``
inventory plugin, a sync job template, and one schedule per account and
resource type whose RRULE follows the type's interval (the account's own
interval, or the catalog default) and which is enabled exactly when the type is
enabled and the account is not paused.

Everything here is pure: the same input gives the same plan, so the role is
idempotent and the plan is unit-tested without an AWX server. Secrets never
enter the plan; ``credential_inputs()`` merges them in, for a ``no_log`` task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import zlib
from collections import OrderedDict

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.cmdb.openstack.plugins.module_utils import secrets
from ansible_collections.cmdb.openstack.plugins.module_utils.catalog import RESOURCE_TYPES, get_type, resolve_type_names
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError
from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import format_interval, parse_interval

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

#: The first start of every schedule (before staggering): fixed, so plans are reproducible.
DEFAULT_DTSTART = "2026-01-01T00:00:00Z"

#: Credential kinds: a custom type carrying a whole clouds.yaml (password or application
#: credential), or AWX's built-in "OpenStack" type (password only, cloud named ``devstack``).
CREDENTIAL_KINDS = ("clouds_yaml", "openstack")

#: AWX's built-in credential type writes its clouds.yaml with this one cloud name.
AWX_OPENSTACK_CLOUD_NAME = "devstack"

#: The non-secret connection settings of a CMDB account copied into the planner's account shape.
_CONNECTION_KEYS = ("cloud", "auth", "auth_type", "interface", "validate_certs", "ca_cert", "api_timeout")


def _plain_copy(value):
    """A copy of ``value`` made of plain dicts and lists. Not ``copy.deepcopy``: the filters get
    ansible-core's templating containers (ansible-core >= 2.19), and deep-copying those copies their
    templar and plugin loaders (deprecation warnings on ansible-core 2.21)."""
    if isinstance(value, dict):
        return dict((key, _plain_copy(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain_copy(item) for item in value]
    return value


def from_cmdb(account):
    """An account as the CMDB shows it (``connection``, ``resources`` or ``settings``, ``registered`` or
    ``deleted_at``) in the planner's shape (``cloud`` or ``auth``, ``resources``, ``state``); an account
    already in that shape is returned unchanged."""
    if not isinstance(account, dict) or not isinstance(account.get("connection"), dict):
        return account
    flat = OrderedDict([("name", account.get("name"))])
    for key in _CONNECTION_KEYS:
        value = account["connection"].get(key)
        if value is not None:
            flat[key] = _plain_copy(value)
    flat["regions"] = list(account.get("regions") or [])
    settings = account.get("resources") or account.get("settings") or {}
    flat["resources"] = OrderedDict(
        (name, {"enabled": entry.get("enabled", True), "interval": entry.get("interval")})
        for name, entry in settings.items()
        if isinstance(entry, dict)
    )
    flat["paused"] = bool(account.get("paused"))
    if account.get("registered") is False or account.get("deleted_at"):
        flat["state"] = "absent"
    return flat


def interval_seconds(value, field="interval"):
    """``300``, ``"300"``, ``"5m"``, ``"1h30m"``, ``"2w"`` -> seconds, as everywhere in the collection."""
    return parse_interval(value, field)


def rrule_frequency(seconds):
    """Seconds -> (FREQ, INTERVAL, effective seconds) in the largest unit that divides it.

    AWX refuses ``FREQ=SECONDLY``: an interval that is not a whole number of
    minutes is rounded up to the next minute (the effective seconds say so).
    """
    if seconds % WEEK == 0:
        return "WEEKLY", seconds // WEEK, seconds
    if seconds % DAY == 0:
        return "DAILY", seconds // DAY, seconds
    if seconds % HOUR == 0:
        return "HOURLY", seconds // HOUR, seconds
    minutes = -(-seconds // MINUTE)
    return "MINUTELY", minutes, minutes * MINUTE


def _parse_dtstart(value):
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value).strip()
        moment = None
        for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                moment = datetime.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            raise ConfigurationError(
                "dtstart: %r is not a UTC time; use the form 2026-01-01T00:00:00Z" % (value,),
            )
    if moment.tzinfo is not None:
        moment = moment.astimezone(_UTC).replace(tzinfo=None)
    return moment


class _Utc(datetime.tzinfo):
    def utcoffset(self, dt):
        return datetime.timedelta(0)

    def dst(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "UTC"


_UTC = _Utc()


def stagger_offset(account, type_name, seconds):
    """A stable offset in whole minutes below the interval, so that schedules of the
    same interval do not all start at the same second (crc32 of account/type)."""
    minutes = seconds // MINUTE
    if minutes <= 1:
        return 0
    return (zlib.crc32(("%s/%s" % (account, type_name)).encode("utf-8")) & 0xFFFFFFFF) % minutes * MINUTE


def rrule(seconds, dtstart=DEFAULT_DTSTART, offset=0):
    """The AWX schedule string for one interval, e.g.
    ``DTSTART:20260101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=5``."""
    freq, interval, _effective = rrule_frequency(seconds)
    start = _parse_dtstart(dtstart) + datetime.timedelta(seconds=offset)
    return "DTSTART:%s RRULE:FREQ=%s;INTERVAL=%d" % (start.strftime("%Y%m%dT%H%M%SZ"), freq, interval)


def _as_dict(value, field):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError("%s must be a mapping, got %s" % (field, type(value).__name__))
    return value


def _bool(value, field):
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ConfigurationError("%s: %r is not a boolean (use true or false)" % (field, value)) from None


def type_settings(account):
    """The effective ``{type: {"enabled": bool, "interval": seconds}}`` of one account:
    its ``resources`` over the catalog defaults. Unknown types fail with the valid names."""
    name = account.get("name")
    resources = _as_dict(account.get("resources"), "accounts[%s].resources" % name)
    for type_name in resources:
        if type_name not in RESOURCE_TYPES:
            try:
                get_type(type_name)
            except KeyError as exc:
                raise ConfigurationError("accounts[%s].resources: %s" % (name, exc.args[0]))
            raise ConfigurationError(
                "accounts[%s].resources: use the plural type name %r, not %r"
                % (name, get_type(type_name).name, type_name)
            )
    settings = OrderedDict()
    for type_name, rtype in RESOURCE_TYPES.items():
        given = resources.get(type_name)
        if isinstance(given, bool):
            given = {"enabled": given}
        given = _as_dict(given, "accounts[%s].resources.%s" % (name, type_name))
        field = "accounts[%s].resources.%s" % (name, type_name)
        enabled = _bool(given.get("enabled", True), field + ".enabled")
        interval = given.get("interval")
        seconds = rtype.default_interval if interval in (None, "") else interval_seconds(interval, field + ".interval")
        settings[type_name] = {"enabled": enabled, "interval": seconds}
    return settings


def _clean_name(value, field):
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError("%s: a non-empty name is required" % field)
    return value.strip()


def _secret_field(account):
    auth_type = account.get("auth_type") or "password"
    if "applicationcredential" in auth_type.replace("_", ""):
        return "application_credential_secret"
    if auth_type in ("token", "v3token", "admin_token"):
        return "token"
    return "password"


def _credential(account, prefix, kind, type_names, clouds_yaml_accounts=None):
    name = account["name"]
    cred_name = "%s account %s" % (prefix, name)
    auth = _as_dict(account.get("auth"), "accounts[%s].auth" % name)
    cloud = account.get("cloud")
    if isinstance(cloud, dict):
        raise ConfigurationError(
            "accounts[%s].cloud: give a clouds.yaml cloud name, or the settings under auth" % name,
        )
    credential = OrderedDict(
        [("name", cred_name), ("account", name), ("kind", kind), ("secret_field", _secret_field(account))]
    )
    if kind == "openstack":
        if credential["secret_field"] != "password":  # noqa: S105 - a field name, not a password
            raise ConfigurationError(
                "accounts[%s]: AWX's built-in OpenStack credential type holds only a password; "
                "use awx_credential_kind=clouds_yaml for application credentials" % name
            )
        missing = [k for k in ("auth_url", "username") if not auth.get(k)]
        if missing:
            raise ConfigurationError(
                "accounts[%s].auth: %s required for an AWX OpenStack credential" % (name, ", ".join(missing))
            )
        inputs = OrderedDict(
            [
                ("host", auth["auth_url"]),
                ("username", auth["username"]),
                ("project", auth.get("project_name") or auth.get("project_id") or ""),
                ("project_domain_name", auth.get("project_domain_name") or ""),
                ("domain", auth.get("user_domain_name") or auth.get("domain_name") or ""),
                ("region", (account.get("regions") or [""])[0]),
                ("verify_ssl", _bool(account.get("validate_certs", True), "accounts[%s].validate_certs" % name)),
            ]
        )
        credential["credential_type"] = type_names["openstack"]
        credential["cloud_name"] = AWX_OPENSTACK_CLOUD_NAME
        credential["inputs"] = inputs
        return credential
    cloud_name = cloud or name
    if not auth and clouds_yaml_accounts is not None and name not in clouds_yaml_accounts:
        # A clouds.yaml cloud name and no clouds_yaml in the secrets: nothing to carry in AWX.
        return None
    entry = OrderedDict()
    if auth:
        entry["auth"] = secrets.strip_secrets(auth)
    if account.get("auth_type"):
        entry["auth_type"] = account["auth_type"]
    for key in ("interface", "verify", "cacert", "api_timeout"):
        if account.get(key) is not None:
            entry[key] = account[key]
    if account.get("validate_certs") is not None:
        entry["verify"] = _bool(account["validate_certs"], "accounts[%s].validate_certs" % name)
    if account.get("ca_cert"):
        entry["cacert"] = account["ca_cert"]
    if account.get("regions"):
        entry["regions"] = list(account["regions"])
    credential["credential_type"] = type_names["clouds_yaml"]
    credential["cloud_name"] = cloud_name
    # Without auth settings the whole clouds.yaml comes from the secrets (``clouds_yaml``).
    credential["clouds_yaml"] = OrderedDict([("clouds", OrderedDict([(cloud_name, entry)]))]) if auth else None
    credential["inputs"] = OrderedDict()
    return credential


def build_plan(
    accounts,
    prefix="cmdb.openstack",
    organization="Default",
    project=None,
    inventory_source_path="playbooks/inventory/openstack_clouds.yml",
    playbook="playbooks/sync.yml",
    credential_kind="clouds_yaml",
    dtstart=DEFAULT_DTSTART,
    stagger=True,
    job_slice_count=1,
    forks=5,
    execution_environment=None,
    cmdb_credential=True,
    types=None,
    clouds_yaml_accounts=None,
):
    """Return the AWX objects for ``accounts`` as one dict (see the module docstring).

    ``accounts``: a list of accounts as the CMDB shows them (``from_cmdb``), or of dicts as in
    the deprecated ``playbooks/vars/accounts.example.yml`` (name, cloud or auth, auth_type,
    regions, resources {type: {enabled, interval}}, paused).
    ``types``: restrict the schedules to these resource types (default: every type).
    ``clouds_yaml_accounts``: the names of the accounts whose secrets hold a whole ``clouds_yaml``
    (names only, never the secrets). When given, an account registered with a clouds.yaml cloud
    name (``cloud``) and not in it gets no AWX credential, as its secrets stay in the clouds.yaml
    the job finds (in the execution environment); the plan warns. None: every account gets one.
    """
    if credential_kind not in CREDENTIAL_KINDS:
        raise ConfigurationError(
            "credential_kind: %r is not valid; use one of %s" % (credential_kind, ", ".join(CREDENTIAL_KINDS))
        )
    if accounts is None:
        accounts = []
    if not isinstance(accounts, list):
        raise ConfigurationError("accounts must be a list of accounts, got %s" % type(accounts).__name__)
    accounts = [from_cmdb(account) for account in accounts]
    if clouds_yaml_accounts is not None:
        clouds_yaml_accounts = set(str(name) for name in clouds_yaml_accounts)
    prefix = _clean_name(prefix, "prefix")
    organization = _clean_name(organization, "organization")
    try:
        job_slice_count = int(job_slice_count)
        forks = int(forks)
    except (TypeError, ValueError):
        raise ConfigurationError("job_slice_count and forks must be whole numbers")
    if job_slice_count < 1 or forks < 1:
        raise ConfigurationError("job_slice_count and forks must be at least 1")
    selected = resolve_type_names(types)
    _parse_dtstart(dtstart)

    project = _plain_copy(_as_dict(project, "project"))
    project_name = project.get("name") or "%s" % prefix
    type_names = {
        "clouds_yaml": "%s clouds.yaml" % prefix,
        "openstack": "OpenStack",
        "cmdb": "%s CMDB" % prefix,
    }
    plan = OrderedDict()
    plan["organization"] = organization
    credential_types = []
    if credential_kind == "clouds_yaml":
        credential_types.append(
            OrderedDict(
                [
                    ("name", type_names["clouds_yaml"]),
                    (
                        "description",
                        "A clouds.yaml for one cmdb.openstack account (password or application credential)",
                    ),
                    ("kind", "cloud"),
                    (
                        "inputs",
                        {
                            "fields": [
                                {
                                    "id": "clouds_yaml",
                                    "type": "string",
                                    "label": "clouds.yaml",
                                    "secret": True,
                                    "multiline": True,
                                    "help_text": "A whole clouds.yaml; its cloud name is the account's cloud",
                                }
                            ],
                            "required": ["clouds_yaml"],
                        },
                    ),
                    (
                        "injectors",
                        {
                            "file": {"template.clouds_yaml": "{{ clouds_yaml }}"},
                            "env": {"OS_CLIENT_CONFIG_FILE": "{{ tower.filename.clouds_yaml }}"},
                        },
                    ),
                ]
            )
        )
    if cmdb_credential:
        credential_types.append(
            OrderedDict(
                [
                    ("name", type_names["cmdb"]),
                    ("description", "The cmdb.openstack database URL (may hold a password)"),
                    ("kind", "cloud"),
                    (
                        "inputs",
                        {
                            "fields": [{"id": "cmdb_url", "type": "string", "label": "CMDB URL", "secret": True}],
                            "required": ["cmdb_url"],
                        },
                    ),
                    ("injectors", {"env": {"CMDB_URL": "{{ cmdb_url }}"}}),
                ]
            )
        )
    plan["credential_types"] = credential_types

    credentials = []
    schedules = []
    warnings = []
    seen = set()
    for index, account in enumerate(accounts):
        account = _as_dict(account, "accounts[%d]" % index)
        name = _clean_name(account.get("name"), "accounts[%d].name" % index)
        if name in seen:
            raise ConfigurationError("accounts: the account name %r appears twice" % name)
        seen.add(name)
        if account.get("state", "present") == "absent":
            continue
        account = dict(account, name=name)
        credential = _credential(account, prefix, credential_kind, type_names, clouds_yaml_accounts)
        if credential is not None:
            credentials.append(credential)
        else:
            warnings.append(
                "account %s names the clouds.yaml cloud %r and its secrets hold no clouds_yaml: no AWX credential "
                "is created for it, so its jobs must find that cloud in a clouds.yaml of the execution "
                "environment (or give its secrets a whole clouds_yaml)" % (name, account.get("cloud"))
            )
        paused = _bool(account.get("paused", False), "accounts[%s].paused" % name)
        for type_name, setting in type_settings(account).items():
            if type_name not in selected:
                continue
            seconds = setting["interval"]
            effective = rrule_frequency(seconds)[2]
            if effective != seconds:
                warnings.append(
                    "account %s, %s: AWX schedules run at most once a minute; the interval of %d seconds "
                    "runs every %d seconds" % (name, type_name, seconds, effective)
                )
            offset = stagger_offset(name, type_name, effective) if stagger else 0
            schedules.append(
                OrderedDict(
                    [
                        ("name", "%s sync %s %s" % (prefix, name, type_name)),
                        ("account", name),
                        ("type", type_name),
                        ("interval", seconds),
                        ("rrule", rrule(effective, dtstart, offset)),
                        ("enabled", bool(setting["enabled"] and not paused)),
                        ("extra_data", OrderedDict([("accounts", name), ("types", type_name)])),
                        ("credentials", [credential["name"]] if credential is not None else []),
                        (
                            "description",
                            "%s of account %s every %s%s"
                            % (
                                type_name,
                                name,
                                format_interval(int(seconds)),
                                " (paused)" if paused else ("" if setting["enabled"] else " (type disabled)"),
                            ),
                        ),
                    ]
                )
            )
    if cmdb_credential:
        credentials.append(
            OrderedDict(
                [
                    ("name", "%s CMDB" % prefix),
                    ("account", None),
                    ("kind", "cmdb"),
                    ("secret_field", "cmdb_url"),
                    ("credential_type", type_names["cmdb"]),
                    ("inputs", OrderedDict()),
                ]
            )
        )
    plan["credentials"] = credentials

    project_obj = OrderedDict(
        [
            ("name", project_name),
            ("scm_type", project.get("scm_type", "git")),
            ("scm_url", project.get("scm_url")),
            ("scm_branch", project.get("scm_branch", "")),
            ("scm_update_on_launch", bool(project.get("scm_update_on_launch", True))),
        ]
    )
    if project.get("scm_credential"):
        project_obj["scm_credential"] = project["scm_credential"]
    plan["project"] = project_obj

    inventory_name = "%s clouds" % prefix
    plan["inventory"] = OrderedDict(
        [("name", inventory_name), ("description", "One host per registered cmdb.openstack account and region")]
    )
    plan["inventory_source"] = OrderedDict(
        [
            ("name", "%s clouds from the CMDB" % prefix),
            ("inventory", inventory_name),
            ("source", "scm"),
            ("source_project", project_name),
            ("source_path", inventory_source_path),
            ("credential", "%s CMDB" % prefix if cmdb_credential else None),
            ("overwrite", True),
            ("update_on_launch", True),
            ("update_cache_timeout", 0),
        ]
    )
    cmdb_cred = ["%s CMDB" % prefix] if cmdb_credential else []
    plan["job_templates"] = [
        OrderedDict(
            [
                ("name", "%s sync" % prefix),
                ("description", "Sync the named accounts and types (forced), as the schedules call it"),
                ("playbook", playbook),
                ("project", project_name),
                ("inventory", inventory_name),
                ("credentials", cmdb_cred),
                ("ask_variables_on_launch", True),
                ("ask_credential_on_launch", True),
                ("ask_limit_on_launch", True),
                ("job_slice_count", job_slice_count),
                ("forks", forks),
                ("execution_environment", execution_environment),
            ]
        ),
    ]
    for schedule in schedules:
        schedule["unified_job_template"] = "%s sync" % prefix
    plan["schedules"] = schedules
    plan["warnings"] = warnings
    return plan


def credential_inputs(credential, secrets):
    """The AWX ``inputs`` of one planned credential, with its secret from ``secrets``.

    ``secrets`` is the account's entry of the vaulted secrets: ``{"password": ...}``,
    ``{"application_credential_secret": ...}``, ``{"clouds_yaml": "<whole file>"}`` or,
    for the CMDB credential, ``{"cmdb_url": ...}``. Call it only in a ``no_log`` task.
    """
    secrets = _as_dict(secrets, "secrets of %s" % credential.get("name"))
    inputs = _plain_copy(dict(credential.get("inputs") or {}))
    field = credential.get("secret_field")
    kind = credential.get("kind")
    what = credential.get("account") or credential.get("name")
    if kind == "cmdb":
        if not secrets.get("cmdb_url"):
            raise ConfigurationError("the CMDB credential needs cmdb_url (the database URL)")
        inputs["cmdb_url"] = secrets["cmdb_url"]
        return inputs
    if kind == "openstack":
        if not secrets.get("password"):
            raise ConfigurationError("account %s: no password in the secrets for its AWX credential" % what)
        inputs["password"] = secrets["password"]
        return inputs
    if secrets.get("clouds_yaml"):
        text = secrets["clouds_yaml"]
        inputs["clouds_yaml"] = text if isinstance(text, str) else _dump_yaml(text)
        return inputs
    document = _plain_copy(credential.get("clouds_yaml"))
    if not document:
        raise ConfigurationError(
            "account %s: it has no auth settings, so its secrets must hold the whole clouds_yaml" % what
        )
    if not secrets.get(field):
        raise ConfigurationError("account %s: no %s in the secrets for its AWX credential" % (what, field))
    entry = document["clouds"][credential["cloud_name"]]
    entry.setdefault("auth", OrderedDict())[field] = secrets[field]
    inputs["clouds_yaml"] = _dump_yaml(document)
    return inputs


def _dump_yaml(document):
    """clouds.yaml text: JSON is valid YAML, and json needs no third-party library."""

    def plain(value):
        if isinstance(value, OrderedDict):
            return dict((k, plain(v)) for k, v in value.items())
        if isinstance(value, dict):
            return dict((k, plain(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(document), indent=2, sort_keys=True) + "\n"
