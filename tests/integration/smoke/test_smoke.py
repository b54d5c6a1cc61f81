"""The smoke set that every cell of the support matrix runs (scripts/matrix.sh; tests/matrix.txt).

One pass over what depends on the ansible-core version: module execution and results (cmdb_sync of
the simulator's demo cloud, an info module), both inventory plugins (``cmdb.openstack.inventory``
from the CMDB and live, ``cmdb.openstack.clouds``) with untrusted strings from the cloud (data
tagging / trust: they must reach plays as text, never as templates), the inventory plugin's
``compose``/``groups``/``keyed_groups`` over those strings with its bound on keyed groups (it wraps
Constructable's internal ``_compose``) and its renaming of hosts another source already has (it
reads ``InventoryData.hosts`` and ``Host.vars``), and a role (roles/sync through playbooks/sync.yml,
with the collection's own deprecation warning through ``Display.deprecated``). Also: the cell runs
the ansible-core version tests/matrix.txt pins, without any other deprecation warning.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from support.ansible import plain
from support.paths import COLLECTION_ROOT, COLLECTIONS_DIR

pytestmark = pytest.mark.smoke

INJECTION = "{{ lookup('pipe', 'echo PWNED') }}"
CLOUDS_INVENTORY = os.path.join(COLLECTION_ROOT, "playbooks", "inventory", "openstack_clouds.yml")


def _matrix():
    rows = []
    with open(os.path.join(COLLECTION_ROOT, "tests", "matrix.txt")) as fh:
        for line in fh:
            fields = line.split()
            if fields and not fields[0].startswith("#"):
                rows.append({"line": fields[0], "version": fields[1], "pythons": fields[2:-1], "role": fields[-1]})
    return rows


def _no_deprecation(done):
    assert "[DEPRECATION WARNING]" not in done.output, done.output
    assert "DeprecationWarning" not in done.output, done.output


def test_the_cell_is_a_cell_of_the_matrix():
    import ansible.release

    python = "%d.%d" % sys.version_info[:2]
    cells = {(row["version"], python) for row in _matrix() if python in row["pythons"]}
    assert (ansible.release.__version__, python) in cells, (ansible.release.__version__, python, _matrix())
    readme = open(os.path.join(COLLECTION_ROOT, "README.md")).read()
    for row in _matrix():  # the README's "Supported versions" table names every cell
        assert re.search(r"\| *%s *\| *`?%s`? *\|" % (re.escape(row["line"]), re.escape(row["version"])), readme), row


@pytest.fixture
def estate(os_simulator, demo_cloud, tmp_path):
    """The demo cloud (two regions, 24 servers) with one server whose name and metadata are a template."""
    demo_cloud.store.create("servers", {"name": INJECTION, "metadata": {"note": INJECTION}, "status": "ACTIVE"})
    clouds_yaml = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(str(clouds_yaml), {"demo": demo_cloud.clouds_yaml_entry(user="admin")})
    servers = sum(len(demo_cloud.store.region(region).list("servers")) for region in demo_cloud.store.regions)
    assert servers > 1
    return {
        "clouds_yaml": clouds_yaml,
        "servers": servers,
        "env": {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)},
    }


def _inventory_config(tmp_path, name, **options):
    path = tmp_path / name
    path.write_text(
        "plugin: cmdb.openstack.inventory\n" + "".join("%s: %s\n" % (k, json.dumps(v)) for k, v in options.items())
    )
    return path


def _check_inventory(ansible, config, estate, source):
    done = ansible.inventory(config, env=estate["env"])
    assert done.rc == 0, done.output
    _no_deprecation(done)
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert len(hostvars) == estate["servers"], (source, sorted(hostvars))
    assert {hv["openstack"]["cloud"] for hv in hostvars.values()} == {"demo"}
    assert set(done.result["cloud_demo"]["hosts"]) == set(hostvars)
    assert INJECTION in hostvars and hostvars[INJECTION]["openstack"]["metadata"]["note"] == INJECTION
    # A play over that inventory sees the cloud's strings as text: nothing is templated or run.
    playbook = textwrap.dedent(
        """
        - name: Smoke
          hosts: cloud_demo
          gather_facts: false
          connection: local
          tasks:
            - name: Show what the cloud said
              ansible.builtin.debug:
                msg: "NAME={{ openstack.name }} NOTE={{ openstack.metadata.note | default('') }}"
        """
    )
    ran = ansible.playbook(playbook, inventory=config, env=estate["env"])
    assert ran.rc == 0, ran.output
    _no_deprecation(ran)
    assert ran.stdout.count("ok: [") == estate["servers"], ran.stdout
    assert "NAME=%s NOTE=%s" % (INJECTION, INJECTION) in ran.stdout, ran.stdout
    assert "PWNED" not in ran.stdout.replace("echo PWNED", "")


def test_sync_info_module_and_both_inventory_sources(ansible, estate, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    # 1. cmdb_sync of the demo cloud (playbooks/demo.yml, the README's main command without the report).
    sync = ansible.playbook(
        "playbooks/demo.yml", "-e", "demo_cloud=demo", "-e", "demo_cmdb_url=" + url, env=estate["env"]
    )
    assert sync.rc == 0, sync.output
    _no_deprecation(sync)
    row = re.search(r"demo +servers +(\d+) +0 +0 +(\d+)", sync.stdout)
    assert row and int(row.group(1)) == int(row.group(2)) == estate["servers"], sync.stdout
    again = ansible.module("cmdb_sync", {"cloud": "demo", "cmdb_url": url}, env=estate["env"])
    assert again.rc == 0 and again.result["changed"] is False, again.output
    assert again.result["summary"]["servers"]["new"] == 0

    # 2. An info module, live.
    info = ansible.module("server_info", {"cloud": "demo", "region_name": "all"}, env=estate["env"])
    assert info.rc == 0 and not info.result.get("failed"), info.output
    _no_deprecation(info)
    servers = info.result["servers"]
    assert len(servers) == estate["servers"]
    assert INJECTION in [server["name"] for server in servers]

    # 3. The inventory plugin from the CMDB, then live from clouds.yaml.
    _check_inventory(ansible, _inventory_config(tmp_path, "cmdb.cmdb_openstack.yml", cmdb_url=url), estate, "cmdb")
    live = _inventory_config(
        tmp_path,
        "live.cmdb_openstack.yml",
        source="live",
        clouds_yaml_path=[str(estate["clouds_yaml"])],
        all_projects=True,
    )
    _check_inventory(ansible, live, estate, "live")


def test_register_and_the_sync_role_through_the_clouds_inventory(ansible, estate, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    env = dict(estate["env"], CMDB_URL=url)
    account = {"name": "demo", "cloud": "demo", "regions": ["RegionOne", "RegionTwo"]}
    registered = ansible.playbook("playbooks/register.yml", extra_vars={"cmdb_accounts": [account]}, env=env)
    assert registered.rc == 0, registered.output
    _no_deprecation(registered)

    # The cmdb.openstack.clouds inventory: one host per account and region.
    listing = ansible.inventory(CLOUDS_INVENTORY, env=env)
    assert listing.rc == 0, listing.output
    _no_deprecation(listing)
    hostvars = plain(listing.result["_meta"]["hostvars"])
    assert len(hostvars) >= 1 and all("password" not in json.dumps(hv).lower() for hv in hostvars.values())

    # roles/sync through playbooks/sync.yml over that inventory, with the deprecated alias of
    # accounts: the collection's own deprecation warning (ansible.utils.display's deprecated(), whose
    # signature and output differ by core version) is printed once, and no other.
    synced = ansible.playbook("playbooks/sync.yml", extra_vars={"clouds": "demo"}, inventory=CLOUDS_INVENTORY, env=env)
    assert synced.rc == 0, synced.output
    flat = " ".join(synced.output.split())
    assert flat.count("[DEPRECATION WARNING]") == 1, synced.output
    assert re.search(r"\[DEPRECATION WARNING\]: [^[]*the variable clouds is deprecated, use accounts", flat), flat
    assert "DeprecationWarning" not in synced.output, synced.output
    assert re.search(r"failed=0", synced.stdout) and not re.search(r"failed=[1-9]", synced.stdout), synced.stdout
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                sa.text("SELECT COUNT(*) FROM resources WHERE type = 'servers' AND deleted_at IS NULL")
            ).scalar()
    finally:
        engine.dispose()
    assert count == estate["servers"]


def test_constructed_groups_over_untrusted_data_next_to_another_source(ansible, estate, demo_cloud, tmp_path):
    """compose, groups and keyed_groups (Constructable) over the cloud's strings, bounded keyed groups
    (the plugin wraps Constructable's internals), and host names another inventory source already has."""
    taken = "smoke-taken"  # a server of the cloud whose name a static source already uses
    demo_cloud.store.create(
        "servers", {"name": taken, "metadata": {"env": "smoke", "role": "taken"}, "status": "ACTIVE"}
    )
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    synced = ansible.module("cmdb_sync", {"cloud": "demo", "cmdb_url": url}, env=estate["env"])
    assert synced.rc == 0 and not synced.result.get("failed"), synced.output
    static = tmp_path / "static.yml"
    static.write_text("all:\n  hosts:\n    %s:\n      ansible_host: 192.0.2.10\n" % json.dumps(taken))
    config = _inventory_config(
        tmp_path,
        "constructed.cmdb_openstack.yml",
        cmdb_url=url,
        max_metadata_groups=1,
        compose={"note_copy": "openstack.metadata.note | default('none')"},
        groups={"injected": "'PWNED' in (openstack.metadata.note | default(''))"},
        keyed_groups=[
            {"key": "openstack.metadata", "prefix": "kv"},
            {"key": "openstack.metadata.role | default('none')", "prefix": "role"},
        ],
    )
    done = ansible.inventory(static, "-i", str(config), env=estate["env"])  # the static source first
    assert done.rc == 0, done.output
    _no_deprecation(done)
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert len(hostvars) == estate["servers"] + 2, sorted(hostvars)  # the new server and the static host
    # the static host keeps its name and address; the cloud's server of that name is renamed, with a warning
    assert hostvars[taken]["ansible_host"] == "192.0.2.10" and "openstack" not in hostvars[taken], hostvars[taken]
    renamed = [name for name, hv in hostvars.items() if hv.get("openstack", {}).get("name") == taken]
    assert len(renamed) == 1 and renamed[0].startswith(taken + "_demo_"), renamed
    assert "another inventory source already has a host or group of that name" in done.stderr, done.stderr
    # compose copies the cloud's string as text; groups evaluates it as data
    assert hostvars[INJECTION]["note_copy"] == INJECTION, hostvars[INJECTION]
    groups = done.result
    assert groups["injected"]["hosts"] == [INJECTION], groups.get("injected")
    # keyed groups: one per role, and openstack.metadata (two keys, env and role) bounded to its first key
    roles = {hv["openstack"]["metadata"].get("role") for hv in hostvars.values() if "openstack" in hv} - {None}
    assert roles and all("role_%s" % role in groups for role in roles), (roles, sorted(groups))
    assert [name for name in groups if name.startswith("kv_env_")], sorted(groups)
    assert not [name for name in groups if name.startswith("kv_role_")], sorted(groups)
    assert "have more metadata groups than max_metadata_groups (1)" in " ".join(done.stderr.split()), done.stderr
    # a play over the composed variable and the built group templates neither
    playbook = textwrap.dedent(
        """
        - name: Smoke constructed
          hosts: injected
          gather_facts: false
          connection: local
          tasks:
            - name: Show the composed variable
              ansible.builtin.debug:
                msg: "COPY={{ note_copy }}"
        """
    )
    ran = ansible.playbook(playbook, "-i", str(static), "-i", str(config), env=estate["env"])
    assert ran.rc == 0, ran.output
    _no_deprecation(ran)
    assert "COPY=%s" % INJECTION in ran.stdout, ran.stdout
    assert "PWNED" not in ran.stdout.replace("echo PWNED", "")


def test_ansible_doc_lists_the_collection_without_warnings():
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR)
    proc = subprocess.run(
        [os.path.join(bin_dir, "ansible-doc"), "-l", "cmdb.openstack"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cmdb.openstack.cmdb_sync" in proc.stdout and "cmdb.openstack.server_info" in proc.stdout
    assert "WARNING" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
