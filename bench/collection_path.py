"""Make this checkout importable as ``ansible_collections.cmdb.openstack`` (and the simulator importable).

Importing this module puts a collections directory on ``sys.path`` (a symlink
``ansible_collections/cmdb/openstack`` -> the checkout, under the benchmark cache) and sets
``CMDB_BENCH_COLLECTIONS`` to it, for ``ANSIBLE_COLLECTIONS_PATH`` of child processes.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIMULATOR_DIR = os.path.join(ROOT, "simulator")
CACHE = os.environ.get("CMDB_BENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "cmdb-openstack", "bench")


def collections_dir():
    base = os.environ.get("CMDB_BENCH_COLLECTIONS")
    if base and os.path.realpath(os.path.join(base, "ansible_collections", "cmdb", "openstack")) == os.path.realpath(
        ROOT
    ):
        return base
    # one directory per checkout, so two clones never point at each other
    base = os.path.join(CACHE, "cmdb-collections", _slug(ROOT))
    link = os.path.join(base, "ansible_collections", "cmdb", "openstack")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != os.path.realpath(ROOT):
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(ROOT, link)
    return base


def _slug(path):
    return path.strip("/").replace("/", "_") or "root"


COLLECTIONS = collections_dir()
os.environ["CMDB_BENCH_COLLECTIONS"] = COLLECTIONS
for _entry in (COLLECTIONS, SIMULATOR_DIR):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)
