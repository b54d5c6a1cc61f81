"""The cost of proving deletions (issue 17): ``python bench/deletion_proof.py [--collections DIR]``.

Scenario: one cloud with 10,000 servers; a first full sync loads the CMDB (no latency); then every
API request gets 200 ms of latency and, ``--repeat`` times: 50 servers are deleted and the next full
sync is timed (it lists 10 pages, and with proof makes one GET per missing server, 32 at a time),
then a no-change sync is timed (a listing that returned everything makes no confirmation call).
The machine is shared, so the medians are reported, and the time spent in the confirmation GETs
is measured directly (``confirm_s``, only where the code has them).

``--collections DIR``: a directory holding ``ansible_collections/cmdb/openstack`` to measure (e.g.
an export of an older commit: ``git archive <commit> plugins | tar -x -C DIR/ansible_collections/
cmdb/openstack``); default: this checkout. The simulator is always this checkout's, in its own
process. Prints one JSON object (and writes it to ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIMULATOR_DIR = os.path.join(ROOT, "simulator")


def _control(base, path, payload=None, method=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=600) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def start_simulator(workdir, servers):
    ready = os.path.join(workdir, "ready.json")
    clouds_yaml = os.path.join(workdir, "clouds.yaml")
    env = dict(os.environ, PYTHONPATH=SIMULATOR_DIR)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "os_simulator",
            "serve",
            "--cloud",
            "bench:RegionOne:servers=%d,projects=4" % servers,
            "--write-clouds-yaml",
            clouds_yaml,
            "--ready-file",
            ready,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    while time.time() < deadline:
        if os.path.exists(ready):
            with open(ready) as fh:
                return proc, json.load(fh), clouds_yaml
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the simulator did not start")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", help="directory holding ansible_collections/cmdb/openstack")
    parser.add_argument("--servers", type=int, default=10000)
    parser.add_argument("--deleted", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="")
    parser.add_argument("--json", help="also write the result here")
    opts = parser.parse_args(argv)
    if opts.collections:
        sys.path.insert(0, opts.collections)
    else:
        sys.path.insert(0, HERE)
        import collection_path  # noqa: F401  # pylint: disable=unused-import
    from ansible_collections.cmdb.openstack.plugins.module_utils import gather
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import run_sync

    confirm_times = []
    confirmer = getattr(gather, "Confirmer", None)
    if confirmer is not None:
        original = confirmer.confirm

        def timed_confirm(self, *args, **kwargs):
            started = time.monotonic()
            try:
                return original(self, *args, **kwargs)
            finally:
                confirm_times.append(time.monotonic() - started)

        confirmer.confirm = timed_confirm

    workdir = tempfile.mkdtemp(prefix="cmdb-bench-proof-")
    proc, info, clouds_yaml = start_simulator(workdir, opts.servers)
    os.environ["OS_CLIENT_CONFIG_FILE"] = clouds_yaml
    control = info["control_url"]
    params = {
        "cloud": "bench",
        "cmdb_url": "sqlite:///%s" % os.path.join(workdir, "cmdb.sqlite"),
        "types": ["servers"],
        "full_sync_interval": "0",  # a full listing (the sweep), not changes-since
    }
    result = {"label": opts.label, "servers": opts.servers, "deleted": opts.deleted, "latency": opts.latency}
    try:
        started = time.monotonic()
        first = run_sync(dict(params))
        result["first_load_s"] = round(time.monotonic() - started, 2)
        assert first["summary"]["servers"]["new"] == opts.servers, first["msg"]
        _control(control, "/clouds/bench/faults", {"kind": "latency", "delay": opts.latency})
        items = _control(control, "/clouds/bench/data/RegionOne/servers")["items"]
        step = max(1, len(items) // (opts.deleted * opts.repeat))
        doomed = [item["id"] for item in items[::step]]
        for key in ("second_sync_s", "second_deleted", "second_requests", "no_change_sync_s", "no_change_requests"):
            result[key] = []
        for round_ in range(opts.repeat):
            for rid in doomed[round_ * opts.deleted : (round_ + 1) * opts.deleted]:
                _control(control, "/clouds/bench/data/RegionOne/servers/%s" % rid, method="DELETE")
            _control(control, "/clouds/bench/requests", method="DELETE")
            started = time.monotonic()
            second = run_sync(dict(params))
            result["second_sync_s"].append(round(time.monotonic() - started, 2))
            result["second_deleted"].append(second["summary"]["servers"]["deleted"])
            result["second_requests"].append(len(_control(control, "/clouds/bench/requests")["requests"]))
            _control(control, "/clouds/bench/requests", method="DELETE")
            started = time.monotonic()
            run_sync(dict(params))
            result["no_change_sync_s"].append(round(time.monotonic() - started, 2))
            result["no_change_requests"].append(len(_control(control, "/clouds/bench/requests")["requests"]))
        result["second_sync_median_s"] = statistics.median(result["second_sync_s"])
        result["no_change_median_s"] = statistics.median(result["no_change_sync_s"])
        result["confirm_s"] = [round(t, 2) for t in confirm_times]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = json.dumps(result, sort_keys=True)
    print(text)
    if opts.json:
        with open(opts.json, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
