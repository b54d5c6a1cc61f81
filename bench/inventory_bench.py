"""The inventory benchmark on its own: ``cmdb.openstack.inventory`` parsing 10,000 hosts from the CMDB.

``python bench/inventory_bench.py --count 10000 --runs 5 [--variant NAME=COLLECTION_ROOT[:nogc]] ...``

Fills one SQLite CMDB (the fake estate of ``tests/unit/plugins/inventory/inventory_fakes.py``,
written with the collection's own writer), then parses it ``--runs`` times per variant, each parse
in a fresh child process, the variants interleaved (so load changes hit them alike). A variant is a
checkout of the collection (``COLLECTION_ROOT``, e.g. an ``git archive`` of an older commit);
``:nogc`` makes the plugin's ``gc.disable()`` a no-op in that child (the cyclic collector then
runs during the parse as it would without the switch). Each child reports the wall and process CPU
seconds of ``InventoryManager`` parsing the source (Ansible start-up and imports of ansible-core
excluded, the plugin's own imports included), as ``bench/worker.py inventory`` does; the summary
gives min and median per variant.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = r"""
import gc, json, os, sys, time
collections_dir, source, nogc = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sys.path.insert(0, collections_dir)
os.environ["ANSIBLE_COLLECTIONS_PATH"] = collections_dir
if nogc:
    gc.disable = lambda: None  # the plugin's switch does nothing: the collector runs as usual
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([collections_dir])
loader = DataLoader()
wall, cpu = time.perf_counter(), time.process_time()
inv = InventoryManager(loader=loader, sources=[source])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
hosts = len(inv.get_hosts())
if not hosts:
    raise SystemExit("no host")
print("RESULT " + json.dumps({"wall": wall, "cpu": cpu, "hosts": hosts, "gc_enabled_after": gc.isenabled()}))
"""


def collections_dir_for(root, work):
    """A directory holding ``ansible_collections/cmdb/openstack`` -> ``root``."""
    base = os.path.join(work, "collections-%d" % abs(hash(os.path.realpath(root))))
    link = os.path.join(base, "ansible_collections", "cmdb", "openstack")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.realpath(root), link)
    return base


def make_cmdb(work, count):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins", "inventory"))
    import support.paths  # noqa: F401  # pylint: disable=unused-import
    from inventory_fakes import estate, fill_cmdb

    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

    url = "sqlite:///%s/cmdb.sqlite" % work
    store = open_store(url)
    fill_cmdb(store, estate(count))
    store.close()
    source = os.path.join(work, "bench.cmdb_openstack.yml")
    with open(source, "w") as handle:
        handle.write("plugin: cmdb.openstack.inventory\ncmdb_url: %s\nmax_age: 0\n" % url)
    return source


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=COLLECTION_ROOT[:nogc] (default: this checkout, with and without the GC switch)",
    )
    parser.add_argument("--work", help="directory for the CMDB (default: a new temporary one)")
    parser.add_argument("--json", help="write every run to this file")
    args = parser.parse_args(argv)

    work = args.work or tempfile.mkdtemp(prefix="cmdb-inv-bench-")
    source = os.path.join(work, "bench.cmdb_openstack.yml")
    if not os.path.exists(source):
        source = make_cmdb(work, args.count)
    variants = []
    for spec in args.variant or ["gc-switch=%s" % ROOT, "no-gc-switch=%s:nogc" % ROOT]:
        name, _sep, rest = spec.partition("=")
        root, _sep, flag = rest.partition(":")
        variants.append((name, collections_dir_for(root, work), flag == "nogc"))
    runs = {name: [] for name, _c, _n in variants}
    for _index in range(args.runs):
        for name, collections, nogc in variants:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, collections, source, "1" if nogc else "0"],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
            if out.returncode or not lines:
                raise SystemExit("variant %s failed:\n%s%s" % (name, out.stdout, out.stderr))
            result = json.loads(lines[-1][len("RESULT ") :])
            runs[name].append(result)
            print("%-16s wall %.3f s  cpu %.3f s  hosts %d" % (name, result["wall"], result["cpu"], result["hosts"]))
            sys.stdout.flush()
    print("\n%d hosts, %d runs each (seconds)" % (args.count, args.runs))
    print("%-16s %9s %9s %9s %9s" % ("variant", "wall min", "wall med", "cpu min", "cpu med"))
    for name, results in runs.items():
        walls = [r["wall"] for r in results]
        cpus = [r["cpu"] for r in results]
        print(
            "%-16s %9.3f %9.3f %9.3f %9.3f"
            % (name, min(walls), statistics.median(walls), min(cpus), statistics.median(cpus))
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"count": args.count, "runs": runs}, handle, indent=1)


if __name__ == "__main__":
    main()
