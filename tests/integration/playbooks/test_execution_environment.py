"""meta/execution-environment.yml: ansible-builder accepts it, and its build context installs the collection."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml
from support.paths import COLLECTION_ROOT

BIN = os.path.dirname(sys.executable)


def _lines(path):
    with open(path) as fh:
        return [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]


def test_ansible_builder_creates_the_context_with_every_dependency(tmp_path):
    context = tmp_path / "context"
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible-builder"),
            "create",
            "-f",
            os.path.join(COLLECTION_ROOT, "meta", "execution-environment.yml"),
            "-c",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=str(tmp_path),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"
    # every pinned Python dependency and every system dependency reaches the image
    assert _lines(build / "requirements.txt") == _lines(os.path.join(COLLECTION_ROOT, "requirements.txt"))
    assert _lines(build / "bindep.txt") == _lines(os.path.join(COLLECTION_ROOT, "bindep.txt"))
    assert any(line.startswith("util-linux") for line in _lines(build / "bindep.txt"))  # flock
    assert "ansible-core==" in containerfile and "ansible-runner==" in containerfile
    # the collection itself is installed from the copied sources
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    (entry,) = requirements["collections"]
    assert entry["type"] == "dir"
    assert "COPY _build/collection %s" % entry["name"] in containerfile
    collection = build / "collection"
    for relative in ("galaxy.yml", "meta/runtime.yml", "roles/sync/tasks/main.yml", "playbooks/sync.yml"):
        assert (collection / relative).is_file(), relative
    assert (collection / "plugins" / "module_utils" / "catalog.py").is_file()
    assert not (collection / "tests").exists() and not (collection / ".venv").exists()

    # What the image's galaxy stage does, offline: install the copied collection from its directory.
    installed = tmp_path / "installed"
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(installed),
            str(collection),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = installed / "ansible_collections" / "cmdb" / "openstack"
    assert (root / "MANIFEST.json").is_file()
    assert (root / "plugins" / "module_utils" / "awx_planner.py").is_file()
    assert (root / "roles" / "cron" / "meta" / "argument_specs.yml").is_file()
