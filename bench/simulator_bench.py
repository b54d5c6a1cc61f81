"""Benchmark of the OpenStack API simulator: startup time and listing throughput.

    python bench/simulator_bench.py --servers 100000

Starts ``python -m os_simulator serve`` in a subprocess (so the client does not share its GIL),
measures the time until it is ready (data generated, port listening), then lists servers, ports
and volumes page by page over HTTP/1.1 keep-alive (1000 per page, all projects), as the gatherer
does, twice: the first pass serializes every item (cold), the second is served from the
pre-serialized page cache (warm). Reports items/s for the raw bytes and with JSON decoding, and
the throughput of several clients at once. Prints a table and, with ``--json``, the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIMULATOR_DIR = os.path.join(ROOT, "simulator")
NEXT_RE = re.compile(rb'"rel": "next"')
HREF_RE = re.compile(rb'"href": "([^"]+)", "rel": "next"')


def start_simulator(servers, projects):
    tmp = tempfile.mkdtemp(prefix="simbench-")
    ready = os.path.join(tmp, "ready.json")
    env = dict(os.environ, PYTHONPATH=SIMULATOR_DIR)
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "os_simulator",
            "serve",
            "--cloud",
            "bench::servers=%d,projects=%d" % (servers, projects),
            "--ready-file",
            ready,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not os.path.exists(ready):
        if proc.poll() is not None:
            raise SystemExit("the simulator exited: %s" % proc.stderr.read())
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    with open(ready, encoding="utf-8") as handle:
        info = json.load(handle)
    return proc, info, elapsed


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
    except OSError:
        return None


def token_and_catalog(auth_url):
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": None}},
            },
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }
    }
    return body


def login(info):
    control = info["control_url"]
    cloud = requests.get(control + "/clouds/bench", timeout=30).json()
    password = cloud["users"]["admin"]["password"]
    body = token_and_catalog(info["clouds"]["bench"])
    body["auth"]["identity"]["password"]["user"]["password"] = password
    resp = requests.post(info["clouds"]["bench"] + "/auth/tokens", json=body, timeout=30)
    resp.raise_for_status()
    catalog = {e["type"]: e for e in resp.json()["token"]["catalog"]}

    def endpoint(stype):
        return next(ep["url"] for ep in catalog[stype]["endpoints"] if ep["interface"] == "public")

    return resp.headers["X-Subject-Token"], endpoint


def list_all(session, url, headers, decode):
    """Follow next links; returns (items, bytes, pages)."""
    items = nbytes = pages = 0
    while url:
        resp = session.get(url, headers=headers, timeout=120)
        resp.raise_for_status()
        data = resp.content
        nbytes += len(data)
        pages += 1
        if decode:
            body = resp.json()
            key = next(k for k in body if not k.endswith("_links"))
            items += len(body[key])
            url = next((link["href"] for link in body.get(key + "_links", []) if link["rel"] == "next"), None)
        else:
            items += data.count(b'"id": ') if b'"servers"' not in data[:20] else data.count(b'"hostId": ')
            match = HREF_RE.search(data, max(0, len(data) - 4096))
            url = match.group(1).decode() if match else None
    return items, nbytes, pages


def measure(session, url, headers, decode, pid):
    """One full listing; wall time, and the simulator's own CPU time (independent of machine load)."""
    cpu0 = cpu_seconds(pid)
    started = time.monotonic()
    items, nbytes, pages = list_all(session, url, headers, decode)
    elapsed = time.monotonic() - started
    cpu = (cpu_seconds(pid) or 0) - (cpu0 or 0)
    return {
        "items": items,
        "bytes": nbytes,
        "pages": pages,
        "seconds": round(elapsed, 3),
        "items_per_s": round(items / elapsed),
        "server_cpu_seconds": round(cpu, 2),
        "items_per_server_cpu_s": round(items / cpu) if cpu > 0 else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--servers", type=int, default=100000)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4, help="parallel clients for the concurrency run")
    parser.add_argument("--json", action="store_true", help="also print the raw numbers as JSON")
    args = parser.parse_args()

    proc, info, startup = start_simulator(args.servers, args.projects)
    results = {"servers": args.servers, "projects": args.projects, "startup_seconds": round(startup, 2)}
    results["startup_cpu_seconds"] = cpu_seconds(proc.pid)
    try:
        token, endpoint = login(info)
        compute = endpoint("compute")
        headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96", "Accept": "application/json"}
        session = requests.Session()
        servers_url = compute + "/servers/detail?all_tenants=1&limit=1000"
        results["servers_cold_raw"] = measure(session, servers_url, headers, decode=False, pid=proc.pid)
        results["servers_warm_raw"] = measure(session, servers_url, headers, decode=False, pid=proc.pid)
        results["servers_warm_json"] = measure(session, servers_url, headers, decode=True, pid=proc.pid)
        vol_headers = dict(headers, **{"OpenStack-API-Version": "volume 3.70"})
        volumes_url = endpoint("block-storage") + "/volumes/detail?all_tenants=1&limit=1000"
        results["volumes_cold_json"] = measure(session, volumes_url, vol_headers, decode=True, pid=proc.pid)
        ports_url = endpoint("network") + "/v2.0/ports?limit=1000"
        results["ports_cold_json"] = measure(session, ports_url, headers, decode=True, pid=proc.pid)
        results["ports_warm_json"] = measure(session, ports_url, headers, decode=True, pid=proc.pid)

        outcomes = []

        def worker():
            with requests.Session() as own:
                outcomes.append(list_all(own, servers_url, headers, decode=False))

        threads = [threading.Thread(target=worker) for _index in range(args.clients)]
        cpu0 = cpu_seconds(proc.pid) or 0
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        total = sum(o[0] for o in outcomes)
        cpu = (cpu_seconds(proc.pid) or 0) - cpu0
        results["servers_warm_raw_%d_clients" % args.clients] = {
            "items": total,
            "seconds": round(elapsed, 3),
            "items_per_s": round(total / elapsed),
            "server_cpu_seconds": round(cpu, 2),
            "items_per_server_cpu_s": round(total / cpu) if cpu > 0 else None,
        }
        results["simulator_rss_mb"] = None
        try:
            with open("/proc/%d/status" % proc.pid, encoding="ascii") as handle:
                rss = next(line for line in handle if line.startswith("VmRSS"))
            results["simulator_rss_mb"] = round(int(rss.split()[1]) / 1024)
        except (OSError, StopIteration):
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    results["bench_client_max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    print("simulator: %d servers, %d projects" % (args.servers, args.projects))
    print(
        "startup (generate + listen): %.2f s wall, %s s CPU"
        % (results["startup_seconds"], results["startup_cpu_seconds"])
    )
    for key, value in results.items():
        if isinstance(value, dict):
            print(
                "%-28s %8d items %6.2f s %8d items/s%s%s"
                % (
                    key,
                    value["items"],
                    value["seconds"],
                    value["items_per_s"],
                    ("  %3d pages %6.1f MB" % (value["pages"], value["bytes"] / 1e6)) if "pages" in value else "",
                    (
                        "  simulator CPU %.2f s = %d items per CPU-s"
                        % (value["server_cpu_seconds"], value["items_per_server_cpu_s"])
                    )
                    if value.get("items_per_server_cpu_s")
                    else "",
                )
            )
    print("simulator RSS: %s MB" % results["simulator_rss_mb"])
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
