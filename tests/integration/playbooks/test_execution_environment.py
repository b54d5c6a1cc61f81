"""meta/execution-environment.yml: ansible-builder accepts it in every layout the collection exists in
(a git checkout, an installed collection, the unpacked tarball), and its build context installs the
collection, on the current line of the support matrix (tests/matrix.txt)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from support.paths import COLLECTION_ROOT

BIN = os.path.dirname(sys.executable)


def _lines(path):
    with open(path) as fh:
        return [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]


def _main_line():
    """(line, version, pythons) of the main cell of tests/matrix.txt."""
    for fields in (line.split() for line in _lines(os.path.join(COLLECTION_ROOT, "tests", "matrix.txt"))):
        if fields[-1] == "main":
            return fields[0], fields[1], fields[2:-1]
    raise AssertionError("tests/matrix.txt names no main cell")


def _run(args, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300, **kwargs)
    assert proc.returncode == 0, " ".join(args) + "\n" + proc.stdout + proc.stderr
    return proc


def _create(root, tmp_path):
    """Run ``ansible-builder create`` from a collection directory ``root`` as the docs say; check the context."""
    context = tmp_path / "context"
    proc = _run(
        [
            os.path.join(BIN, "ansible-builder"),
            "create",
            "-f",
            "meta/execution-environment.yml",
            "-c",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        cwd=str(root),
    )
    output = proc.stdout + proc.stderr
    assert "No matches" not in output and "does not exist" not in output, output  # every source file was found
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"
    # every pinned Python dependency and every system dependency reaches the image
    assert _lines(build / "requirements.txt") == _lines(os.path.join(COLLECTION_ROOT, "requirements.txt"))
    assert _lines(build / "bindep.txt") == _lines(os.path.join(COLLECTION_ROOT, "bindep.txt"))
    assert any(line.startswith("util-linux") for line in _lines(build / "bindep.txt"))  # flock
    # the current line of the support matrix, on one of its Pythons
    version, pythons = _main_line()[1:]
    assert "ansible-core==%s" % version in containerfile and "ansible-runner==" in containerfile
    definition = yaml.safe_load((root / "meta" / "execution-environment.yml").read_text())
    interpreter = definition["dependencies"]["python_interpreter"]
    assert interpreter["python_path"] in ["/usr/bin/python%s" % python for python in pythons]
    assert "python%s-devel" % interpreter["python_path"][len("/usr/bin/python") :] in (build / "bindep.txt").read_text()
    # the collection itself is installed from the copied sources
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    (entry,) = requirements["collections"]
    assert entry["type"] == "dir"
    assert "COPY _build/collection %s" % entry["name"] in containerfile
    collection = build / "collection"
    for relative in ("README.md", "meta/runtime.yml", "roles/sync/tasks/main.yml", "playbooks/sync.yml"):
        assert (collection / relative).is_file(), relative
    assert (collection / "plugins" / "module_utils" / "catalog.py").is_file()
    assert not (collection / "tests").exists() and not (collection / ".venv").exists()
    assert not any(path.name.startswith(".venv") for path in collection.iterdir())

    # What the image's galaxy stage does, offline: install the copied collection from its directory.
    installed = tmp_path / "image-collections"
    _run(
        [
            os.path.join(BIN, "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(installed),
            str(collection),
        ],
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed)),
    )
    image_root = installed / "ansible_collections" / "cmdb" / "openstack"
    assert (image_root / "MANIFEST.json").is_file()
    assert (image_root / "plugins" / "module_utils" / "awx_planner.py").is_file()
    assert (image_root / "roles" / "cron" / "meta" / "argument_specs.yml").is_file()
    # ... and the image's last step: ansible-doc finds the collection's modules there.
    doc = _run(
        [os.path.join(BIN, "ansible-doc"), "-l", "cmdb.openstack"],
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed)),
    )
    assert "cmdb.openstack.cmdb_sync" in doc.stdout
    return collection


def test_ansible_builder_creates_the_context_from_the_checkout(tmp_path):
    collection = _create(Path(COLLECTION_ROOT), tmp_path)
    assert (collection / "galaxy.yml").is_file()


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("tarball")
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), COLLECTION_ROOT])
    (path,) = out.glob("cmdb-openstack-*.tar.gz")
    return path


def test_ansible_builder_creates_the_context_from_the_installed_collection(tmp_path, tarball):
    collections = tmp_path / "collections"
    _run(
        [
            os.path.join(BIN, "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(collections),
            str(tarball),
        ],
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections)),
    )
    root = collections / "ansible_collections" / "cmdb" / "openstack"
    assert not (root / "galaxy.yml").exists()  # the layout of issue #20: MANIFEST.json, no galaxy.yml
    collection = _create(root, tmp_path)
    assert (collection / "MANIFEST.json").is_file() and not (collection / "galaxy.yml").exists()


def test_ansible_builder_creates_the_context_from_the_unpacked_tarball(tmp_path, tarball):
    unpacked = tmp_path / "unpacked"
    with tarfile.open(str(tarball)) as archive:
        archive.extractall(str(unpacked), filter="data")
    collection = _create(unpacked, tmp_path)
    assert (collection / "MANIFEST.json").is_file()
    shutil.rmtree(str(unpacked))
