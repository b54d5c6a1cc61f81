"""The module base (module_utils/module.py): option groups = doc fragments, secrets, libraries, failures."""

from __future__ import annotations

import importlib
import io
import json
import os
import sys

import pytest
import yaml
from ansible.module_utils import _internal as _ansible_internal
from ansible.module_utils import basic
from ansible.module_utils._internal import _traceback
from ansible.module_utils.common.text.converters import to_bytes
from support.paths import COLLECTION_ROOT

from ansible_collections.cmdb.openstack.plugins.module_utils import module as base
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError

MODULES_DIR = os.path.join(COLLECTION_ROOT, "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py"))


# ------------------------------------------------------------------------------------------------
# secrets


def test_url_password_forms():
    assert base.url_password("postgresql+psycopg://cmdb:pw1@db.example.com:5432/cmdb") == ["pw1"]
    assert base.url_password("postgresql://cmdb:p%40ss@db/cmdb") == ["p%40ss", "p@ss"]
    assert base.url_password("http://user:tok@127.0.0.1:8000/") == ["tok"]
    assert base.url_password("postgresql://cmdb@db/cmdb") == []
    assert base.url_password("sqlite:////var/lib/cmdb.sqlite") == []
    assert base.url_password(None) == []
    assert base.url_password(["not", "a", "url"]) == []


def test_parameter_secrets_walks_every_option():
    params = {
        "cloud": {"name": "c", "auth": {"auth_url": "https://k:kpw@keystone/v3", "password": "cloudpw"}},
        "auth": {"application_credential_secret": "acs"},
        "cmdb_url": "postgresql://cmdb:dbpw@db/cmdb",
        "netbox_url": "https://nb:nbpw@netbox.example.com",
        "netbox_token": "nbt_0123",
        "validate_certs": True,
        "name": "not-a-secret",
    }
    found = base.parameter_secrets(params)
    assert set(found) == {"cloudpw", "acs", "dbpw", "nbpw", "nbt_0123", "kpw"}
    assert "not-a-secret" not in found


def test_the_netbox_sync_cmdb_url_leak_is_caught_by_the_url_rule(monkeypatch):
    """Regression (issue #18): netbox_sync printed the PostgreSQL password of cmdb_url at -vvv.

    netbox_sync's spec has no secret key for cmdb_url: only the URL rule of the base hides it, and
    without that rule the password is not hidden (what the generated secrets test would then see).
    """
    netbox_sync = importlib.import_module("ansible_collections.cmdb.openstack.plugins.modules.netbox_sync")
    assert "cmdb_url" in netbox_sync.SPEC.argument_spec()
    assert not netbox_sync.SPEC.argument_spec()["cmdb_url"].get("no_log")
    params = {"cmdb_url": "postgresql+psycopg://cmdb:Leaked-Before@db/cmdb", "netbox_token": "t"}
    assert "Leaked-Before" in base.parameter_secrets(params)
    monkeypatch.setattr(base, "is_url_key", lambda key: False)
    assert "Leaked-Before" not in base.parameter_secrets(params)


# ------------------------------------------------------------------------------------------------
# ModuleSpec


def test_spec_builds_groups_then_own_options():
    spec = base.ModuleSpec(groups=("cmdb",), options={"path": {"type": "path", "required": True}})
    assert list(spec.argument_spec()) == ["cmdb_url", "path"]
    assert spec.fragments == ["cmdb.openstack.cmdb"]
    # a fresh copy each time: a module cannot change the shared groups
    spec.argument_spec()["cmdb_url"]["type"] = "int"
    assert base.OPTION_GROUPS["cmdb"]["cmdb_url"]["type"] == "str"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": ("cmdb",), "options": {"cmdb_url": {"type": "str"}}}, "defined by both cmdb and the module"),
        ({"groups": ("connection",), "options": {"verify": {"type": "bool"}}}, "'verify' is defined by both"),
        ({"groups": ("region_name", "regions")}, "'region_name' is defined by both"),
        ({"groups": ("nope",)}, "unknown option group"),
        ({"libraries": ("numpy",)}, "unknown library"),
    ],
)
def test_spec_refuses_a_second_definition(kwargs, message):
    with pytest.raises(ValueError, match=message):
        base.ModuleSpec(**kwargs)


def _fragment_options(fragment):
    """The options of a doc fragment name such as cmdb.openstack.connection.info."""
    parts = fragment.split(".")[2:]
    path = os.path.join(COLLECTION_ROOT, "plugins", "doc_fragments", parts[0] + ".py")
    namespace = {}
    with open(path) as handle:
        exec(compile(handle.read(), path, "exec"), namespace)
    text = getattr(namespace["ModuleDocFragment"], parts[1].upper() if len(parts) > 1 else "DOCUMENTATION")
    return yaml.safe_load(text)["options"]


@pytest.mark.parametrize("group", list(base.OPTION_GROUPS))
def test_each_group_is_the_twin_of_its_doc_fragment(group):
    documented = _fragment_options(base.GROUP_FRAGMENTS[group])
    spec = base.OPTION_GROUPS[group]
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc.get("type", "str") == option.get("type", "str"), name
        assert doc.get("elements") == option.get("elements"), name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("choices") == option.get("choices"), name
        assert sorted(doc.get("aliases") or []) == sorted(option.get("aliases") or []), name


def test_region_name_is_a_deprecated_alias_of_regions():
    regions = base.OPTION_GROUPS["regions"]["regions"]
    assert regions["aliases"] == ["region_name"]
    assert regions["deprecated_aliases"] == [
        {"name": "region_name", "version": "2.0.0", "collection_name": "cmdb.openstack"}
    ]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_uses_the_base_and_documents_its_groups(name):
    module = importlib.import_module("ansible_collections.cmdb.openstack.plugins.modules." + name)
    spec = base.module_spec(module)
    assert spec is not None, "%s has no SPEC (a ModuleSpec)" % name
    doc = yaml.safe_load(module.DOCUMENTATION)
    fragments = doc.get("extends_documentation_fragment") or []
    for fragment in spec.fragments:
        assert fragment in fragments, "%s uses group of %s but does not extend it" % (name, fragment)
    grouped = set()
    for group in spec.groups:
        grouped.update(base.OPTION_GROUPS[group])
    # the module documents its own options itself, and none of a group's
    assert sorted(doc.get("options") or {}) == sorted(spec.options), name
    assert not grouped & set(doc.get("options") or {}), name
    with open(os.path.join(MODULES_DIR, name + ".py")) as handle:
        source = handle.read()
    assert "AnsibleModule(" not in source and "fail_json" not in source, "%s: use the module base" % name


# ------------------------------------------------------------------------------------------------
# CmdbModule: run a module in-process (AnsibleModule reads its arguments from _ANSIBLE_ARGS)


def _run(spec, function, args, monkeypatch, diff=False):
    # _ansible_tracebacks_for: what the controller sends when tracebacks are shown (-vvv, DISPLAY_TRACEBACK)
    payload = dict(args, _ansible_diff=diff, _ansible_tracebacks_for=["error"])
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    # Any controller import in this pytest process (ansible.errors, the inventory plugins ...) flips
    # ansible-core's process-wide flag, and warnings then go to the controller's Display instead of
    # the result: run as the module process a real module runs in.
    monkeypatch.setattr(_ansible_internal, "is_controller", False)
    monkeypatch.setattr(_traceback, "_is_traceback_enabled", _traceback._is_module_traceback_enabled)
    monkeypatch.setattr(_traceback, "_module_tracebacks_enabled_events", None)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(SystemExit):
        base.CmdbModule(spec).run(function)
    return json.loads(out.getvalue())


SPEC = base.ModuleSpec(groups=("cmdb",), options={"name": {"type": "str"}}, name="unit_module")
URL = "postgresql://cmdb:UnitSecret42@db.example.com/cmdb"


def test_run_exits_with_the_result_and_warnings(monkeypatch):
    result = _run(
        SPEC, lambda m: {"changed": True, "warnings": ["careful"], "diff": {"before": 1}}, {"name": "a"}, monkeypatch
    )
    assert result["changed"] is True
    assert "careful" in json.dumps(result["warnings"])
    assert "diff" not in result  # not in diff mode
    result = _run(SPEC, lambda m: {"diff": {"before": 1}}, {"name": "a"}, monkeypatch, diff=True)
    assert result["diff"] == {"before": 1}
    assert result["changed"] is False


def test_a_cmdb_error_is_its_message(monkeypatch):
    def boom(module):
        raise CmdbError("the CMDB at %s is locked" % module.params["cmdb_url"])

    result = _run(SPEC, boom, {"cmdb_url": URL}, monkeypatch)
    assert result["failed"] is True
    assert result["msg"].startswith("the CMDB at postgresql://cmdb:")
    assert "UnitSecret42" not in json.dumps(result)  # the URL password is hidden everywhere
    assert "Traceback" not in result["msg"]


def test_an_unexpected_exception_is_one_line_with_the_traceback_apart(monkeypatch):
    def bug(module):
        raise KeyError("servers")

    result = _run(SPEC, bug, {"cmdb_url": URL}, monkeypatch)
    assert result["failed"] is True
    assert result["msg"] == "unit_module failed: unexpected KeyError: 'servers'"
    assert "Traceback" not in result["msg"]
    assert "Traceback (most recent call last)" in result["exception"]
    assert "UnitSecret42" not in json.dumps(result)


def test_a_failed_result_fails_with_the_rest(monkeypatch):
    result = _run(SPEC, lambda m: {"failed": True, "msg": "2 scopes failed", "scopes": [1, 2]}, {}, monkeypatch)
    assert result["failed"] is True and result["msg"] == "2 scopes failed" and result["scopes"] == [1, 2]


def test_a_missing_library_is_ansibles_standard_message(monkeypatch):
    monkeypatch.setitem(base.LIBRARIES, "SQLAlchemy", lambda: (False, ImportError("No module named sqlalchemy")))
    spec = base.ModuleSpec(groups=("cmdb",), libraries=base.CMDB_LIBRARIES)
    result = _run(spec, lambda m: {}, {}, monkeypatch)
    assert result["failed"] is True
    assert "Failed to import the required Python library (SQLAlchemy)" in result["msg"]


def test_a_conditional_library_is_checked_only_when_needed(monkeypatch):
    monkeypatch.setitem(base.LIBRARIES, "SQLAlchemy", lambda: (False, None))
    spec = base.ModuleSpec(
        groups=("cmdb",), options={"account": {"type": "str"}}, libraries=(("SQLAlchemy", lambda p: p["account"]),)
    )
    assert _run(spec, lambda m: {"ok": 1}, {}, monkeypatch)["ok"] == 1
    assert _run(spec, lambda m: {"ok": 1}, {"account": "a"}, monkeypatch)["failed"] is True
