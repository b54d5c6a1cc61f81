"""Helpers of the reliability suite: CMDB snapshots, playbook recaps, marker secrets, hostile strings."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys

import pytest

if importlib.util.find_spec("os_simulator") is None:  # pragma: no cover - built in parallel
    pytest.skip("the OpenStack simulator is not available yet", allow_module_level=True)

#: The password of every simulator user in this suite: grepped for in every artefact.
MARKER_PASSWORD = "Mkr-pw-5e1f0c9a-DoNotLeak"

#: Strings that must be stored and shown literally, never templated or executed.
JINJA_LOOKUP = "{{ lookup('pipe','id') }}"
JINJA_BLOCK = "{% for x in range(3) %}loop{{ x }}{% endfor %}"
SQL_INJECTION = "'); DROP TABLE resources; --"
CONTROL = "bell\x07 esc\x1b[31m tab\t cr\r lf\n nul\x00 end"
UNICODE = "Ünïcødé ✓ 日本語 🚀 \u202eevil"
LONG = "L" * 20000


def jdump(value):
    return json.dumps(value, sort_keys=True, default=str)


def query(url, sql, **params):
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def _as_json(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def snapshot(url):
    """Every row of resources, changes, relations and sync_runs, keyed for scope comparisons."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    out = {}
    try:
        with engine.connect() as connection:
            meta = sa.MetaData()
            meta.reflect(connection, only=["resources", "changes", "relations", "sync_runs"])
            for name, table in meta.tables.items():
                rows = []
                for row in connection.execute(sa.select(table)):
                    mapping = {key: _as_json(value) for key, value in row._mapping.items()}
                    rows.append(mapping)
                out[name] = rows
    finally:
        engine.dispose()
    return out


def scope_rows(snap, table, cloud, region=None, rtype=None):
    """Rows of ``table`` in one scope, as sorted JSON strings (comparable snapshots)."""
    type_key = "source_type" if table == "relations" else "type"
    rows = [
        row
        for row in snap[table]
        if row["cloud"] == cloud
        and (region is None or row["region"] == region)
        and (rtype is None or row[type_key] == rtype)
    ]
    return sorted(jdump(row) for row in rows)


def recap(output):
    """{host: {"ok": n, "changed": n, "failed": n}} from the PLAY RECAP."""
    hosts = {}
    for match in re.finditer(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output, re.M):
        hosts[match[1]] = {"ok": int(match[2]), "changed": int(match[3]), "failed": int(match[5])}
    return hosts


def set_password(cloud, password=MARKER_PASSWORD):
    """Every user of a simulator cloud gets the marker password."""
    for user in cloud.users.values():
        user["password"] = password


def sqlite_path(url):
    return url.split("sqlite:///", 1)[1]


def sqlite_bytes(url):
    """The SQLite file and its WAL/SHM companions, as bytes."""
    path = sqlite_path(url)
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as handle:
                data += handle.read()
    return data


def python_cmd():
    return [sys.executable]


#: A playbook that runs cmdb_sync once per host (one host per cloud, forks in parallel) and saves
#: each host's result to <result_dir>/<host>.json, also when the module failed.
SYNC_PER_HOST_PLAYBOOK = """\
- name: Sync one cloud per host
  hosts: all
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Sync and always save the result
      block:
        - name: Sync {{ inventory_hostname }}
          cmdb.openstack.cmdb_sync:
            cloud: "{{ inventory_hostname }}"
            types: "{{ sync_types }}"
            cmdb_url: "{{ cmdb_url }}"
            full_sync_interval: 0
            strict: "{{ sync_strict | default(false) }}"
            # the matrix checks each scope's outcome; a failed scope failing the task is in test_visible_failures
            fail_on_scope_errors: "{{ sync_fail_on_scope_errors | default(false) }}"
            allow_empty_sweep: "{{ sync_allow_empty_sweep | default(false) }}"
          register: sync_result
      always:
        - name: Save the result
          ansible.builtin.copy:
            content: "{{ sync_result | to_json }}"
            dest: "{{ result_dir }}/{{ inventory_hostname }}.json"
            mode: "0600"
"""


def write_hosts_inventory(path, hosts, common):
    """A YAML inventory: ``hosts`` {name: vars}, ``common`` vars of every host."""
    import yaml

    data = {"all": {"vars": common, "hosts": {name: (values or {}) for name, values in hosts.items()}}}
    path.write_text(yaml.safe_dump(data))
    return path


def read_results(result_dir):
    results = {}
    for name in os.listdir(result_dir):
        if name.endswith(".json"):
            with open(os.path.join(result_dir, name)) as handle:
                results[name[:-5]] = json.load(handle)
    return results


@pytest.fixture(scope="session")
def matrix(tmp_path_factory):
    """The fault-matrix run (see matrix_setup.py): built once, used by several test modules."""
    from matrix_setup import build_matrix

    yield from build_matrix(tmp_path_factory)
