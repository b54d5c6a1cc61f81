"""netbox_sync benchmark: first load, no-change run and a small incremental run against a real NetBox.

    .venv/bin/python bench/netbox_bench.py --servers 1000
    .venv/bin/python bench/netbox_bench.py --servers 10000 --interrupt-after 600 --no-full

Starts NetBox with ``tests/support/netbox_server.py`` (instance ``bench``; cached install and template, a fresh
database),
writes a consistent fake cloud (``--servers`` servers, each with a port, a fixed IP, a root disk and a volume;
a floating IP on every third) into a SQLite CMDB through the CMDB's own writer, then times ``netbox_sync``
in-process: the first load, a run with no change, a run after 1 % of the servers changed status and a full
compare. Prints a Markdown table (paste it into docs/netbox.md), adds the run to ``--out`` (JSON, one entry per
server count) and stops NetBox unless ``--keep``.

``--interrupt-after S`` runs the first load in a child process and SIGKILLs it after S seconds (no clean
shutdown: the worst case), then runs it again in-process: it resumes after the last committed batch. The
benchmark then checks that NetBox holds exactly one VM per server (no duplicates). ``--profile FILE`` writes a
cProfile of the (in-process part of the) first load.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "integration", "netbox")]

DEFAULT_OUT = os.path.join(ROOT, "docs", "bench", "netbox.json")


def netbox(command, instance):
    """``start`` (returns the env), ``reset`` or ``stop`` the benchmark's NetBox; a failure ends the benchmark."""
    from support.netbox_server import NetBoxServer, NetBoxSetupError, NetBoxUnavailable

    server = NetBoxServer(instance)
    try:
        return getattr(server, command)()
    except (NetBoxSetupError, NetBoxUnavailable) as exc:
        sys.exit("NetBox %s failed: %s" % (command, exc))


def timed(params, profile=None, **kwargs):
    from ansible_collections.cmdb.openstack.plugins.module_utils.netbox import runner

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    try:
        result = runner.run_netbox_sync(params, **kwargs)
    finally:
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    return time.perf_counter() - started, result


def child(params_json):
    """``--child -``: one sync in this process with the parameters from stdin (the parent may kill it)."""
    import support.paths  # noqa: F401

    wall, result = timed(json.loads(sys.stdin.read() if params_json == "-" else params_json))
    print(json.dumps({"wall": wall, "requests": result["requests"], "changed": result["changed"]}))


def managed_vms(params):
    """``{openstack_id: count}`` of the managed VMs in NetBox."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.netbox import client, model

    nb = client.NetBox(params["netbox_url"], params["netbox_token"])
    found = nb.list(model.VM, tag=model.TAG_SLUG, fields="id,custom_fields")
    return collections.Counter((vm.get("custom_fields") or {}).get(model.CF_ID) for vm in found)


def interrupted_first_load(params, seconds, sig=signal.SIGKILL):
    """The first load in a child process, killed with ``sig`` after ``seconds``; returns the row and the VMs it left."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--child", "-"],  # the token stays off the command line
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        out, _err = proc.communicate(json.dumps(params), timeout=seconds)
        killed = False
    except subprocess.TimeoutExpired:
        proc.send_signal(sig)
        out, _err = proc.communicate()
        killed = True
    wall = time.perf_counter() - started
    left = managed_vms(params)
    result = json.loads(out) if out.strip() and not killed else None
    return wall, killed, result, left


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--parallel-writes", type=int, default=2)
    parser.add_argument("--instance", default="bench")
    parser.add_argument("--keep", action="store_true", help="leave NetBox running")
    parser.add_argument("--interrupt-after", type=float, default=0, help="SIGKILL the first load after S seconds")
    parser.add_argument(
        "--stop-after",
        type=float,
        default=0,
        help="run the (resumed) first load in a child process too and SIGTERM it after S seconds: reports the rate",
    )
    parser.add_argument("--no-full", action="store_true", help="skip the 1 %% change and the full compare")
    parser.add_argument("--profile", help="write a cProfile of the first load to this file")
    parser.add_argument("--out", default=DEFAULT_OUT, help="JSON results file (default: %(default)s)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    import support.paths  # noqa: F401  (puts this checkout on sys.path as ansible_collections.cmdb.openstack)
    from fakecloud import FakeCloud

    started = time.perf_counter()
    env = netbox("start", args.instance)
    start_time = time.perf_counter() - started
    netbox("reset", args.instance)
    rows = []
    notes = []
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
                "parallel_writes": args.parallel_writes,
            }
            if args.interrupt_after:
                wall, killed, result, left = interrupted_first_load(params, args.interrupt_after)
                if killed:
                    notes.append(
                        "first load SIGKILLed after %.0f s with %d of %d VMs in NetBox"
                        % (wall, sum(left.values()), args.servers)
                    )
                    rows.append(("first load, killed part way", wall, None))
                else:
                    notes.append("first load finished before the interrupt (%.0f s)" % wall)
                    rows.append(("first load", wall, result))
                print(notes[-1], flush=True)
            if args.stop_after:
                wall, killed, first, left = interrupted_first_load(params, args.stop_after, signal.SIGTERM)
                label = "first load, resumed" if args.interrupt_after else "first load"
                if killed:
                    done = sum(left.values())
                    notes.append(
                        "%s stopped (SIGTERM) after %.0f s with %d of %d VMs in NetBox"
                        % (label, wall, done, args.servers)
                    )
                    label += ", stopped part way"
                    print(notes[-1], flush=True)
                rows.append((label, wall, first))
            else:
                wall, first = timed(params, profile=args.profile)
                rows.append(("first load, resumed" if args.interrupt_after else "first load", wall, first))
            vms = managed_vms(params)
            duplicates = sum(n - 1 for n in vms.values() if n > 1)
            notes.append(
                "after the first load: %d managed VMs for %d servers, %d duplicates"
                % (sum(vms.values()), args.servers, duplicates)
            )
            print(notes[-1], flush=True)
            complete = bool(first) and sum(vms.values()) >= args.servers
            if complete:
                wall, again = timed(params)
                rows.append(("no change", wall, again))
            if complete and not args.no_full:
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

    header = "netbox_sync benchmark: %d servers, %d projects, batch size %d, parallel writes %d" % (
        args.servers,
        args.projects,
        args.batch_size,
        args.parallel_writes,
    )
    machine = "NetBox %s (gunicorn %s workers x %s threads), Python %s, %s, %d CPUs, %s, load average %s" % (
        env.get("NETBOX_VERSION"),
        os.environ.get("NETBOX_WORKERS", "2"),
        os.environ.get("NETBOX_THREADS", "4"),
        platform.python_version(),
        platform.platform(),
        os.cpu_count(),
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        " ".join("%.1f" % x for x in os.getloadavg()),
    )
    print(header)
    print(machine)
    print("NetBox start %.1f s, CMDB fill %.1f s\n" % (start_time, fill))
    print("| run | wall (s) | objects written | write requests | read requests | ms per object written | changed |")
    print("|---|---:|---:|---:|---:|---:|---|")
    record = []
    for label, wall, result in rows:
        req = (result or {}).get("requests") or {}
        written = req.get("objects_written")
        per = "%.0f" % (1000.0 * wall / written) if written else "-"
        print(
            "| %s | %.1f | %s | %s | %s | %s | %s |"
            % (
                label,
                wall,
                "-" if not req else written,
                req.get("writes", "-"),
                req.get("reads", "-"),
                per,
                (result or {}).get("changed", "-"),
            )
        )
        record.append(
            {"run": label, "wall_s": round(wall, 2), "requests": req, "changed": (result or {}).get("changed")}
        )
    for note in notes:
        print("- " + note)
    if args.out:
        results = {}
        if os.path.exists(args.out):
            with open(args.out) as handle:
                results = json.load(handle)
        results["%d servers" % args.servers] = {
            "benchmark": header,
            "machine": machine,
            "netbox_start_s": round(start_time, 1),
            "cmdb_fill_s": round(fill, 1),
            "runs": record,
            "notes": notes,
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2, sort_keys=True)
            handle.write("\n")
        print("results added to %s" % args.out)


if __name__ == "__main__":
    main()
