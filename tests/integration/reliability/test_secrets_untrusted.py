"""Secrets never leak; untrusted cloud data is stored and shown literally and never executed; SQL is parameterized.

Uses the artefacts of the fault-matrix run (``matrix`` fixture): every simulator user there has the
marker password, the healthy cloud ``good`` authenticates with an application credential whose
secret is a second marker, and ``good`` holds hostile items (see hostile.py).
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import subprocess
import sys

import pytest
from conftest import (
    JINJA_BLOCK,
    JINJA_LOOKUP,
    LONG,
    MARKER_PASSWORD,
    SQL_INJECTION,
    UNICODE,
    query,
    sqlite_bytes,
)
from hostile import HOSTILE_METADATA, SQL_ID
from support.ansible import AnsibleRunner
from support.paths import COLLECTION_ROOT

#: What `id` prints: if it shows up, a lookup ran.
EXECUTED = "uid="


def _markers(matrix):
    return [MARKER_PASSWORD, matrix.app_secret]


def _assert_absent(markers, text, where):
    for marker in markers:
        assert marker not in text, "a secret leaked into %s" % where


def test_the_markers_were_really_used(matrix):
    """Guards the greps below: the secrets were in the configuration the runs used."""
    config = matrix.fault_yaml.read_text()
    for marker in _markers(matrix):
        assert marker in config
    assert matrix.results["good"]["failed_scopes"] == 0  # the application credential worked


def test_no_secret_in_output_log_or_cmdb(matrix):
    markers = _markers(matrix)
    assert "<127.0.0.1>" in matrix.run.output or "ESTABLISH LOCAL CONNECTION" in matrix.run.output  # -vvvv
    _assert_absent(markers, matrix.run.output, "the -vvvv output")
    log = matrix.log_path.read_text()
    assert "cmdb_sync" in log
    _assert_absent(markers, log, "the ANSIBLE_LOG_PATH log")
    data = sqlite_bytes(matrix.url)
    assert len(data) > 10000
    for marker in markers:
        assert marker.encode() not in data, "a secret is in the CMDB file"
    tables = query(matrix.url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    for (table,) in tables:
        rows = query(matrix.url, 'SELECT * FROM "%s"' % table)
        _assert_absent(markers, json.dumps(rows, default=str), "the CMDB table %s" % table)
    for path in matrix.result_dir.iterdir():
        _assert_absent(markers, path.read_text(), path.name)


def _inventory_config(tmp_path, name, **options):
    lines = ["plugin: cmdb.openstack.inventory"] + ["%s: %s" % (k, json.dumps(v)) for k, v in options.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _plain(value):
    """ansible-inventory 2.19 writes untrusted strings as {"__ansible_unsafe": ...}: unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def inventories(matrix, tmp_path_factory):
    """ansible-inventory -vvvv of the CMDB source and the live source (with the marker secrets), cached."""
    tmp_path = tmp_path_factory.mktemp("inventory")
    runner = AnsibleRunner(tmp_path)
    cache = tmp_path / "inventory-cache"
    cmdb_config = _inventory_config(
        tmp_path,
        "cmdb.openstack.yml",
        cmdb_url=matrix.url,
        max_age="0",
        only_clouds=["good"],
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(cache),
    )
    live_yaml = tmp_path / "live-clouds.yaml"
    live_yaml.write_text(matrix.fault_yaml.read_text())
    live_config = _inventory_config(
        tmp_path,
        "live.openstack.yml",
        source="live",
        all_projects=True,
        only_clouds=["good", "e500"],
        clouds_yaml_path=[str(live_yaml)],
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(cache),
    )
    log = tmp_path / "inventory.log"
    env = {"OS_CLIENT_CONFIG_FILE": str(live_yaml), "ANSIBLE_LOG_PATH": str(log)}
    runs = {}
    for source, config in (("cmdb", cmdb_config), ("live", live_config)):
        listing = tmp_path / (config.name + ".json")
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(config), "--list"]
        done = subprocess.run(
            cmd + ["-vvvv", "--output", str(listing)],
            env=runner.env(env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        runs[source] = {
            "rc": done.returncode,
            "output": done.stdout + done.stderr,
            "listing": listing.read_text() if listing.exists() else "",
        }
    return {"runs": runs, "cache": cache, "log": log}


@pytest.mark.parametrize("source", ["cmdb", "live"])
def test_inventory_no_secret_and_hostile_data_never_executed(matrix, inventories, source):
    markers = _markers(matrix)
    run = inventories["runs"][source]
    assert run["rc"] == 0, run["output"][-3000:]
    assert "Traceback" not in run["output"]
    assert "ansible-inventory" in run["output"] and "cmdb.openstack" in run["output"]  # -vvvv
    for where in ("output", "listing"):
        _assert_absent(markers, run[where], "the %s inventory %s" % (source, where))
        assert EXECUTED not in run[where]
    hostvars = _plain(json.loads(run["listing"])["_meta"]["hostvars"])
    by_id = {h["openstack"]["id"]: h["openstack"] for h in hostvars.values()}
    for rid, (rtype, item) in matrix.hostile.items():
        if rtype == "servers":
            assert by_id[rid]["metadata"] == item["metadata"], rid  # exact: Jinja, NUL, control chars, 20k chars
            if "\x00" not in item["name"]:
                assert by_id[rid]["name"] == item["name"], rid
    hostile_hosts = [name for name in hostvars if hostvars[name]["openstack"]["id"] in matrix.hostile]
    assert JINJA_LOOKUP in hostile_hosts  # a host of that literal name, never rendered


def test_inventory_cache_and_log_hold_no_secret(matrix, inventories):
    markers = _markers(matrix)
    assert os.listdir(inventories["cache"])
    for path in inventories["cache"].iterdir():
        _assert_absent(markers, path.read_text(errors="replace"), "the inventory cache")
    _assert_absent(markers, inventories["log"].read_text(), "the inventory log")


@pytest.mark.parametrize(
    "source",
    ["cmdb", "live"],
)
def test_inventory_shows_a_name_with_nul_exactly(matrix, inventories, source):
    run = inventories["runs"][source]
    hostvars = _plain(json.loads(run["listing"])["_meta"]["hostvars"])
    by_id = {h["openstack"]["id"]: h["openstack"] for h in hostvars.values()}
    for rid, (rtype, item) in matrix.hostile.items():
        if rtype == "servers" and "\x00" in item["name"]:
            assert by_id[rid]["name"] == item["name"]


PRINT_PLAYBOOK = """\
- name: Show hostile CMDB data
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the hostile items back
      cmdb.openstack.cmdb_info:
        cmdb_url: "{{ cmdb_url }}"
        cloud: [good]
        types: [servers, networks]
        ids: "{{ hostile_ids }}"
        sections: [resources]
      register: info

    - name: Print each name, description and metadata
      ansible.builtin.debug:
        msg: >-
          NAME={{ item.name }} DESCRIPTION={{ item.attributes.description }}
          META={{ item.attributes.metadata | default({}) }}
      loop: "{{ info.resources }}"
      loop_control:
        label: "{{ item.id }}"

    - name: Use a name in a template expression and a conditional
      ansible.builtin.set_fact:
        names: "{{ info.resources | map(attribute='name') | list }}"
      when: info.resources | selectattr('name', 'search', 'lookup') | list | length == 1

    - name: Save what the play saw
      ansible.builtin.copy:
        content: "{{ {'resources': info.resources, 'names': names} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def printed(matrix, tmp_path_factory):
    """cmdb_info -> a playbook that prints and saves the hostile items: (run, what the play saw)."""
    tmp_path = tmp_path_factory.mktemp("printed")
    out = tmp_path / "seen.json"
    done = AnsibleRunner(tmp_path).playbook(
        PRINT_PLAYBOOK,
        "-v",
        extra_vars={
            "cmdb_url": matrix.url,
            "hostile_ids": sorted(matrix.hostile),
            "out": str(out),
        },
    )
    return done, (_plain(json.loads(out.read_text())) if out.exists() else None)


def test_hostile_data_round_trips_through_cmdb_info_and_a_playbook_literally(matrix, printed):
    done, seen = printed
    assert done.rc == 0, done.output[-3000:]
    assert "Traceback" not in done.output
    assert EXECUTED not in done.output  # the lookup never ran
    assert "loop0" not in done.output and "loop1loop2" not in done.output  # the {% for %} never ran
    assert "NAME=" + JINJA_LOOKUP in done.output  # printed literally
    by_id = {item["id"]: item for item in seen["resources"]}
    assert set(by_id) == set(matrix.hostile)
    for rid, (_rtype, item) in matrix.hostile.items():
        stored = by_id[rid]
        for key in ("name", "description", "metadata", "tags"):  # byte-exact: NUL, control chars, 20k chars
            assert stored["attributes"].get(key) == item.get(key), (rid, key)
        if "\x00" not in item["name"]:
            assert stored["name"] == item["name"]
    assert JINJA_LOOKUP in seen["names"] and SQL_INJECTION in seen["names"]
    server = next(i for _t, i in matrix.hostile.values() if i["name"] == JINJA_LOOKUP)
    assert by_id[server["id"]]["attributes"]["metadata"] == HOSTILE_METADATA
    assert UNICODE in seen["names"]
    assert any(i["attributes"].get("description") == LONG for i in seen["resources"])
    assert any(i["name"] == JINJA_BLOCK for i in seen["resources"])


def test_cmdb_info_returns_a_name_with_nul_exactly(matrix, printed):
    _done, seen = printed
    by_id = {item["id"]: item for item in seen["resources"]}
    for rid, (_rtype, item) in matrix.hostile.items():
        if "\x00" in item["name"]:
            assert by_id[rid]["name"] == item["name"]


def test_sql_injection_looking_ids_and_names_change_nothing_else(matrix, ansible):
    tables = sorted(r[0] for r in query(matrix.url, "SELECT name FROM sqlite_master WHERE type = 'table'"))
    assert "resources" in tables and "changes" in tables
    rows = query(matrix.url, "SELECT id, name FROM resources WHERE cloud = 'good' AND id = :id", id=SQL_ID)
    assert rows == [(SQL_ID, SQL_INJECTION)]
    # every other cloud's rows are all there: the fault run's snapshot has them all
    total = query(matrix.url, "SELECT COUNT(*) FROM resources")[0][0]
    assert total == len(matrix.after["resources"]) and total > 15 * 20
    # the filters of cmdb_info pass the strings as parameters: exactly the one row matches
    done = ansible.module(
        "cmdb_info",
        {"cmdb_url": matrix.url, "ids": [SQL_ID], "name": [SQL_INJECTION], "sections": ["resources"]},
    )
    assert done.rc == 0, done.output
    assert [_plain(r)["id"] for r in done.result["resources"]] == [SQL_ID]
    injected = ansible.module(
        "cmdb_info",
        {"cmdb_url": matrix.url, "cloud": ["good' OR '1'='1"], "region": ["x'); DROP TABLE changes; --"]},
    )
    assert injected.rc == 0, injected.output
    assert injected.result["resources"] == []
    assert sorted(r[0] for r in query(matrix.url, "SELECT name FROM sqlite_master WHERE type = 'table'")) == tables
    assert query(matrix.url, "SELECT COUNT(*) FROM resources")[0][0] == total


def _sql_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("text", "exec_driver_sql", "execute", "executemany"):
                yield node


def _literal_sql(node):
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
        # allowed only for a PRAGMA with an UPPER_CASE module constant (SQLite takes no parameters there)
        text = node.left.value
        right = node.right
        names = [n.id for n in ast.walk(right) if isinstance(n, ast.Name)]
        return text.startswith("PRAGMA ") and names and all(n.isupper() for n in names)
    return not isinstance(node, (ast.JoinedStr, ast.BinOp)) and not (
        isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "format"
    )


def test_every_sql_string_in_the_plugins_is_a_constant():
    """Raw SQL in the collection's code is a literal (values go in as bound parameters), never formatted."""
    offenders = []
    for path in sorted(pathlib.Path(COLLECTION_ROOT, "plugins").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for call in _sql_calls(tree):
            if not _literal_sql(call.args[0]):
                offenders.append("%s:%d" % (path.relative_to(COLLECTION_ROOT), call.lineno))
    assert not offenders, offenders
