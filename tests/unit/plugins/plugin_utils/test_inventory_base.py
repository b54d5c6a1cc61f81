"""The shared base of both inventory plugins, and the CMDB read path it uses (read-only)."""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import inventory_view
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError
from ansible_collections.cmdb.openstack.plugins.plugin_utils.inventory_base import unknown_names_message


def test_unknown_names_are_named_with_the_known_ones():
    assert unknown_names_message("only_clouds", ["a"], ["a", "b"], "cloud") is None
    assert unknown_names_message("only_clouds", [], [], "cloud") is None
    assert (
        unknown_names_message("only_clouds", ["x", "a"], ["b", "a"], "cloud")
        == "only_clouds: unknown cloud 'x'; the known clouds are: a, b"
    )
    assert (
        unknown_names_message("only_clouds", ["x", "y"], [], "account")
        == "only_clouds: unknown accounts 'x', 'y'; the known accounts are: none"
    )


def test_open_read_only_never_creates_a_file_or_a_directory(tmp_path):
    path = tmp_path / "missing" / "cmdb.sqlite"
    url = "sqlite:///%s" % path
    with pytest.raises(StoreError) as caught:
        inventory_view.open_read_only(url)
    assert "no CMDB at %s" % url in caught.value.message
    assert not path.exists() and not path.parent.exists()


def test_known_clouds_of_resources_runs_and_accounts(tmp_path):
    from inventory_fakes import estate, fill_cmdb

    from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    store = open_store(url)
    try:
        fill_cmdb(store, estate(2, cloud="demo"), cloud="demo")
        accounts.ensure_account(store, "registered", connection=account_settings.build_connection(cloud="registered"))
        accounts.ensure_account(store, "gone", connection=account_settings.build_connection(cloud="gone"))
        accounts.unregister_account(store, "gone")
    finally:
        store.close()
    reader = inventory_view.open_read_only(url)
    try:
        assert inventory_view.known_clouds(reader) == ["demo", "registered"]
    finally:
        reader.close()


def test_one_time_helper_parses_what_the_inventory_reads():
    """clock.iso/naive_utc (the one definition) take SQLite text, ISO with Z or offset, and datetimes."""
    import datetime

    from ansible_collections.cmdb.openstack.plugins.module_utils.clock import iso, naive_utc

    assert iso("2026-11-23 11:44:56.123456") == "2026-11-23T11:44:56Z"
    assert iso("2026-11-23T12:44:56+01:00") == "2026-11-23T11:44:56Z"
    assert iso("2026-11-23T11:44:56Z") == "2026-11-23T11:44:56Z"
    assert iso(datetime.datetime(2026, 11, 23, 11, 44, 56, 9)) == "2026-11-23T11:44:56Z"
    assert iso(None) is None and iso("") is None
    assert iso("not a time") == "not a time"
    assert naive_utc("garbage") is None
    assert naive_utc("2026-11-23T12:44:56+01:00") == datetime.datetime(2026, 11, 23, 11, 44, 56)


def test_the_plugins_use_no_private_inventory_attribute_and_never_exit():
    import os
    import re

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..", "..", "..", "..", "plugins")
    for path in ("inventory/inventory.py", "inventory/clouds.py", "plugin_utils/inventory_base.py"):
        with open(os.path.join(root, path)) as handle:
            text = handle.read()
        assert "__wrapped__" not in text and "wrap_var" not in text, path
        assert not re.search(r"raise SystemExit|sys\.exit", text), path
        assert "CmdbInventoryBase" in text, path


CHILD = """
import gc, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
plugin = inventory_loader.get("cmdb.openstack.inventory")
assert gc.isenabled()
try:
    plugin.parse(InventoryData(), DataLoader(), sys.argv[2], cache=False)
except AnsibleParserError as exc:
    print("PARSER_ERROR", str(exc).splitlines()[0])
print("GC_ENABLED", gc.isenabled())
"""


def test_the_gc_switch_is_scoped_to_the_parse_even_when_it_fails(tmp_path):
    """A failing parse raises AnsibleParserError (not SystemExit), names the URL, creates nothing,
    and leaves the garbage collector enabled (a fresh interpreter: the collection loader is global)."""
    import subprocess
    import sys

    from support.paths import COLLECTIONS_DIR

    absent = tmp_path / "absent.sqlite"
    config = tmp_path / "inventory.cmdb_openstack.yml"
    config.write_text("plugin: cmdb.openstack.inventory\ncmdb_url: sqlite:///%s\n" % absent)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, COLLECTIONS_DIR, str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "PARSER_ERROR cmdb.openstack.inventory (%s): there is no CMDB at sqlite:///%s" % (config, absent) in (
        done.stdout
    ), done.stdout
    assert "GC_ENABLED True" in done.stdout
    assert not absent.exists()
