"""netbox_sync benchmark: first load, no-change run and a small incremental run against a real NetBox.

    .venv/bin/python bench/netbox_bench.py --servers 1000

Starts NetBox with ``scripts/netbox.sh start --instance bench`` (cached install and template; a fresh database),
writes a consistent fake cloud (``--servers`` servers, each with a port, a fixed IP, a root disk and a volume;
a floating IP on every third) into a SQLite CMDB through the CMDB's own writer, then times ``netbox_sync``
in-process: the first load, a run with no change, and a run after 1 % of the servers changed status. Prints a
Markdown table (paste it into docs/netbox.md) and stops NetBox unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "integration", "netbox")]

SCRIPT = os.path.join(ROOT, "scripts", "netbox.sh")


def netbox(command, instance):
    proc = subprocess.run(
        ["bash", SCRIPT, command, "--instance", instance], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit("scripts/netbox.sh %s failed:\n%s" % (command, proc.stderr))
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def timed(params, **kwargs):
    from ansible_collections.cmdb.openstack.plugins.module_utils import netbox_sync

    started = time.perf_counter()
    result = netbox_sync.run_netbox_sync(params, **kwargs)
    return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--instance", default="bench")
    parser.add_argument("--keep", action="store_true", help="leave NetBox running")
    args = parser.parse_args()
    import support.paths  # noqa: F401  (puts this checkout on sys.path as ansible_collections.cmdb.openstack)
    from fakecloud import FakeCloud

    started = time.perf_counter()
    env = netbox("start", args.instance)
    start_time = time.perf_counter() - started
    netbox("reset", args.instance)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = "sqlite:///%s/cmdb.sqlite" % tmp
            cloud = FakeCloud(servers=args.servers, projects=args.projects)
            t0 = time.perf_counter()
            cloud.write(url)
            fill = time.perf_counter() - t0
            params = {
                "netbox_url": env["NETBOX_URL"],
                "netbox_token": env["NETBOX_TOKEN"],
                "cmdb_url": url,
                "batch_size": args.batch_size,
            }
            wall, first = timed(params)
            rows.append(("first load", wall, first))
            wall, again = timed(params)
            rows.append(("no change", wall, again))
            changed = max(1, args.servers // 100)
            for index in range(changed):
                cloud.server(index)["status"] = "SHUTOFF"
            cloud.write(url)
            wall, inc = timed(params)
            rows.append(("%d servers changed" % changed, wall, inc))
            wall, full = timed(dict(params, full=True))
            rows.append(("full compare, no change", wall, full))
    finally:
        if not args.keep:
            netbox("stop", args.instance)

    print(
        "netbox_sync benchmark: %d servers, %d projects, batch size %d" % (args.servers, args.projects, args.batch_size)
    )
    print(
        "NetBox %s (gunicorn %s workers x %s threads), Python %s, %s, %d CPUs, %s"
        % (
            env.get("NETBOX_VERSION"),
            os.environ.get("NETBOX_WORKERS", "2"),
            os.environ.get("NETBOX_THREADS", "4"),
            platform.python_version(),
            platform.platform(),
            os.cpu_count(),
            time.strftime("%Y-%m-%d"),
        )
    )
    print("NetBox start %.1f s, CMDB fill %.1f s\n" % (start_time, fill))
    print("| run | wall (s) | objects written | write requests | read requests | changed |")
    print("|---|---:|---:|---:|---:|---|")
    for label, wall, result in rows:
        req = result["requests"]
        print(
            "| %s | %.1f | %d | %d | %d | %s |"
            % (label, wall, req["objects_written"], req["writes"], req["reads"], result["changed"])
        )


if __name__ == "__main__":
    main()
