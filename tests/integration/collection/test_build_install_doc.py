"""The collection builds, installs, documents every plugin, and its action groups work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest
import yaml
from support.paths import COLLECTION_ROOT

BIN = os.path.dirname(sys.executable)


def _plugin_names(kind):
    folder = os.path.join(COLLECTION_ROOT, "plugins", kind)
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("_"))


def _run(args, env=None, cwd=None):
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the tarball from this checkout and install it into an empty collections path."""
    work = tmp_path_factory.mktemp("galaxy")
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work)], cwd=COLLECTION_ROOT)
    tarballs = [name for name in os.listdir(work) if name.endswith(".tar.gz")]
    assert tarballs == ["cmdb-openstack-%s.tar.gz" % _galaxy()["version"]]
    tarball = work / tarballs[0]
    install_dir = work / "collections"
    # An empty collections path, so the checkout on ANSIBLE_COLLECTIONS_PATH does not count as installed.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(install_dir), ANSIBLE_NOCOLOR="1")
    _run(
        [
            os.path.join(BIN, "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(install_dir),
            str(tarball),
        ],
        env=env,
    )
    return tarball, install_dir, env


def _galaxy():
    with open(os.path.join(COLLECTION_ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)


def test_tarball_ships_plugins_roles_and_playbooks_but_not_dev_tooling(installed):
    tarball, install_dir, _env = installed
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/module_utils/catalog.py" in names
    assert "roles/sync/tasks/main.yml" in names
    assert "playbooks/sync.yml" in names
    assert "meta/runtime.yml" in names
    for excluded in ("simulator/", "bench/", "scripts/", ".venv/", ".ci/"):
        assert not [name for name in names if name.startswith(excluded)], excluded
    assert not [name for name in names if name.endswith((".sqlite", ".pyc"))]
    assert (install_dir / "ansible_collections" / "cmdb" / "openstack" / "MANIFEST.json").is_file()


def test_ansible_doc_lists_every_module_and_inventory_plugin(installed):
    _tarball, _install_dir, env = installed
    listed = _run([os.path.join(BIN, "ansible-doc"), "-l", "cmdb.openstack"], env=env)
    for module in _plugin_names("modules"):
        assert "cmdb.openstack.%s " % module in listed, module
    inventories = _run([os.path.join(BIN, "ansible-doc"), "-t", "inventory", "-l", "cmdb.openstack"], env=env)
    for plugin in _plugin_names("inventory"):
        assert "cmdb.openstack.%s " % plugin in inventories, plugin


@pytest.mark.parametrize("module", _plugin_names("modules"))
def test_every_module_has_documentation_examples_and_return(installed, module):
    _tarball, _install_dir, env = installed
    out = _run([os.path.join(BIN, "ansible-doc"), "--json", "cmdb.openstack." + module], env=env)
    doc = json.loads(out)["cmdb.openstack." + module]
    assert doc["doc"]["short_description"]
    assert doc["doc"].get("options")
    assert doc["examples"].strip()
    assert doc["return"]


def test_every_module_is_in_an_action_group():
    with open(os.path.join(COLLECTION_ROOT, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle)
    grouped = {name for members in runtime["action_groups"].values() for name in members}
    assert set(_plugin_names("modules")) <= grouped


def test_module_defaults_group_sets_the_cmdb_url_once(ansible, tmp_path):
    db = tmp_path / "grouped.sqlite"
    playbook = (
        """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/cmdb.openstack.cmdb:
      cmdb_url: "sqlite:///%s"
  tasks:
    - name: Register an account through the group's default URL (a writer creates the CMDB)
      cmdb.openstack.cloud_account:
        name: grouped
        cloud: grouped
    - name: Query through the group's default URL
      cmdb.openstack.cmdb_info:
      register: info
    - name: Check
      ansible.builtin.assert:
        that:
          - info is succeeded
          - info.resources == []
"""
        % db
    )
    result = ansible.playbook(playbook)
    assert result.rc == 0, result.output[-4000:]
    assert db.exists()
