"""Run the OpenStack API simulator with a benchmark scenario's clouds: ``python sim_server.py SPEC.json``.

SPEC: ``{"clouds": [{"name", "seed", "counts": {...}}], "clouds_yaml": path, "ready_file": path}``.
When every cloud is generated and served, writes ``ready_file`` (JSON: the clouds with their admin
credentials and regions, and ``control_url``) and serves until SIGTERM.

Besides the simulator's own server this process runs a tiny control server for the harness:
``GET /requests`` -> ``{"count": N}`` (API requests served so far, from the simulator's counters),
``POST /latency {"seconds": s}`` (added latency on every service of every cloud).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# The simulator on sys.path
import collection_path  # noqa: F401  # pylint: disable=unused-import


def start_simulator():
    import os_simulator

    sim = os_simulator.Simulator()
    sim.start()
    return sim


_COUNT = [0]
_COUNT_LOCK = threading.Lock()


def count_requests(cloud):
    """Count every request the cloud logs (its request log is bounded, so it cannot be counted later)."""
    original = cloud.log_request

    def log_request(entry):
        with _COUNT_LOCK:
            _COUNT[0] += 1
        return original(entry)

    cloud.log_request = log_request


def request_count(sim):
    """Requests served so far by every cloud of ``sim``."""
    return _COUNT[0]


def set_latency(clouds, seconds):
    for cloud in clouds:
        cloud.faults.clear()
        if seconds:
            cloud.faults.add(kind="latency", delay=seconds)


def main(argv):
    with open(argv[1]) as fh:
        spec = json.load(fh)
    from os_simulator import TYPE_NAMES

    sim = start_simulator()
    clouds, out = [], []
    for entry in spec["clouds"]:
        counts = dict(entry["counts"])
        servers = counts.pop("servers")
        projects = counts.pop("projects", 2)
        cloud = sim.add_cloud(
            name=entry["name"], regions=("RegionOne",), seed=entry["seed"], servers=servers, projects=projects, **counts
        )
        count_requests(cloud)
        clouds.append(cloud)
        generated = {t: len(cloud.store.list(t)) for t in TYPE_NAMES}
        out.append(
            {
                "name": entry["name"],
                "credentials": cloud.credentials(user="admin"),
                "regions": ["RegionOne"],
                "generated": generated,
                "generation_seconds": getattr(cloud, "generation_seconds", None),
            }
        )
    sim.write_clouds_yaml(
        spec["clouds_yaml"], {c["name"]: cl.clouds_yaml_entry(user="admin") for c, cl in zip(out, clouds)}
    )

    class Control(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def _reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._reply({"count": request_count(sim)})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            set_latency(clouds, float(body.get("seconds") or 0))
            self._reply({"ok": True})

    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    tmp = spec["ready_file"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"clouds": out, "control_url": "http://127.0.0.1:%d" % control.server_address[1]}, fh)
    os.replace(tmp, spec["ready_file"])
    stop.wait()
    control.shutdown()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
