"""One measured step, run as a child process of ``bench/run.py``: ``python bench/worker.py TASK ARGS.json``.

Tasks (each prints one ``BENCH_RESULT <json>`` line with its counts and internal timings):

* ``floor``       the API floor (``bench/floor.py``);
* ``gather``      ``module_utils.gather.gather`` over every cloud, region and type, records consumed
                  and dropped (counted);
* ``cmdb_sync``   gather -> CMDB (``module_utils.cmdb``) for every cloud: initial load or resync;
* ``inventory``   the ``cmdb.openstack.inventory`` plugin parsed in-process (``plugin_seconds`` is
                  the time of ``InventoryManager`` parsing the source, Ansible start-up excluded).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

# Puts ansible_collections.cmdb.openstack on sys.path
import collection_path  # noqa: F401  # pylint: disable=unused-import

RESULT_PREFIX = "BENCH_RESULT "


def emit(result):
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def catalog_types(names=None):
    from ansible_collections.cmdb.openstack.plugins.module_utils import catalog

    names = names or list(catalog.RESOURCE_TYPE_NAMES)
    return [catalog.get_type(n) for n in names]


def task_floor(args):
    import floor

    start = time.perf_counter()
    out = floor.run_floor(args["clouds"], catalog_types(args.get("types")), workers=args.get("workers", 8))
    out["seconds"] = time.perf_counter() - start
    return out


def task_gather(args):
    import adapters

    start = time.perf_counter()
    out = adapters.gather_all(args["clouds"], args.get("types"), args.get("workers"))
    out["seconds"] = time.perf_counter() - start
    return out


def task_cmdb_sync(args):
    import adapters

    start = time.perf_counter()
    out = adapters.cmdb_sync_all(args["clouds"], args["url"], args.get("types"), args.get("workers"))
    out["seconds"] = time.perf_counter() - start
    return out


def task_inventory(args):
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader()  # what the ansible CLIs do first: the collection loader
    loader = DataLoader()
    start = time.perf_counter()
    inv = InventoryManager(loader=loader, sources=[args["source"]])
    seconds = time.perf_counter() - start
    hosts = inv.get_hosts()
    if not hosts:
        raise SystemExit("the inventory source gave no host: %s" % args["source"])
    return {"plugin_seconds": seconds, "hosts": len(hosts), "groups": len(inv.groups)}


TASKS = {
    "floor": task_floor,
    "gather": task_gather,
    "cmdb_sync": task_cmdb_sync,
    "inventory": task_inventory,
}


def _profile_wrapper(func, args, path):
    import cProfile

    prof = cProfile.Profile()
    try:
        return prof.runcall(func, args)
    finally:
        prof.dump_stats(path)


def main(argv):
    if len(argv) < 3 or argv[1] not in TASKS:
        sys.stderr.write("usage: worker.py {%s} ARGS.json\n" % ",".join(TASKS))
        return 2
    with open(argv[2]) as handle:
        args = json.load(handle)
    func = TASKS[argv[1]]
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        result = _profile_wrapper(func, args, profile)
    else:
        result = func(args)
    result["threads_at_end"] = threading.active_count()
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
