"""Puts this checkout on sys.path as ``ansible_collections.cmdb.openstack``, and the simulator."""

from __future__ import annotations

import os
import sys
import tempfile

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIMULATOR_DIR = os.path.join(COLLECTION_ROOT, "simulator")


def _collections_dir():
    configured = os.environ.get("CMDB_COLLECTIONS_DIR")
    if configured and os.path.isdir(os.path.join(configured, "ansible_collections", "cmdb", "openstack")):
        return configured
    base = tempfile.mkdtemp(prefix="cmdb-collections-")
    os.makedirs(os.path.join(base, "ansible_collections", "cmdb"))
    os.symlink(COLLECTION_ROOT, os.path.join(base, "ansible_collections", "cmdb", "openstack"))
    return base


COLLECTIONS_DIR = _collections_dir()
os.environ["CMDB_COLLECTIONS_DIR"] = COLLECTIONS_DIR
for entry in (COLLECTIONS_DIR, SIMULATOR_DIR):
    if entry not in sys.path:
        sys.path.insert(0, entry)
