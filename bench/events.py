"""Notification -> CMDB delays on the real services (issue 23): runs the real-cloud event tests N times.

    python bench/events.py [--runs 3] [--load 0] [--out docs/bench/events.json]

Each run is ``pytest tests/realcloud/test_events_realcloud.py`` with ``CMDB_REALCLOUD=1`` (the
harness's real Keystone, Nova, Neutron, Cinder, Glance, Octavia and RabbitMQ; it starts them if they
are down) and ``CMDB_EVENTS_DELAYS`` set, so every delay the tests measure is recorded. The tests
assert nothing about time here (``CMDB_EVENTS_DELAY_FACTOR=100``): this script compares each delay
with the issue's targets and prints a Markdown table (one column per run, with the machine's load
average) for docs/bench/results.md. ``--load K`` runs K CPU-bound processes beside the tests, to see
the delays on a busy machine. ``--out`` adds the runs to a JSON list (README's figures are
checked against docs/bench/events.json). Run it with the project's venv (``.venv/bin/python``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST = "tests/realcloud/test_events_realcloud.py"
#: (what the test records, the issue's target in seconds or None)
ROWS = (
    ("server appears after its first notification", 3.0),
    ("server ACTIVE after instance.create.end", 3.0),
    ("server tombstoned after instance.delete.end", 2.0),
    ("volume rename after volume.update.end", None),
    ("rename right after a broker restart under the rulebook, after the API call", None),
    ("catch-up: rename made while unbound, after ansible-rulebook started", None),
)


def burn():
    while True:
        pass


def one_run(index, runs, burners):
    with tempfile.NamedTemporaryFile(prefix="cmdb-event-delays-", suffix=".json", delete=False) as handle:
        target = handle.name
    env = dict(os.environ, CMDB_REALCLOUD="1", CMDB_EVENTS_DELAY_FACTOR="100", CMDB_EVENTS_DELAYS=target)
    before = os.getloadavg()[0]
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:warnings", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    load = max(before, os.getloadavg()[0])
    try:
        with open(target) as handle:
            delays = json.load(handle)
    except (OSError, ValueError):
        delays = {}
    finally:
        os.unlink(target)
    summary = (done.stdout.strip().splitlines() or ["?"])[-1]
    print(
        "run %d/%d: %s (%.0f s, load %.1f)" % (index, runs, summary, time.time() - started, load),
        file=sys.stderr,
    )
    if done.returncode:
        print(done.stdout[-3000:], file=sys.stderr)
    return {
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "load": round(load, 1),
        "burners": burners,
        "rc": done.returncode,
        "delays": delays,
    }


def table(results):
    head = ["What", "Target"] + ["%s (load %.1f)" % (r["started"], r["load"]) for r in results] + ["Target met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, target in ROWS:
        values = [r["delays"].get(name) for r in results]
        cells = ["%.2f s" % v if v is not None else "-" for v in values]
        measured = [v for v in values if v is not None]
        met = "%d of %d" % (sum(v <= target for v in measured), len(measured)) if target else "-"
        lines.append("| %s | %s | %s | %s |" % (name, "%g s" % target if target else "-", " | ".join(cells), met))
    lines.append("")
    lines.append("Test runs: " + ", ".join("%s exit %d" % (r["started"], r["rc"]) for r in results))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="CPU-bound processes beside the tests")
    parser.add_argument("--out", help="write the runs as JSON here")
    args = parser.parse_args(argv)
    burners = [multiprocessing.Process(target=burn, daemon=True) for _index in range(args.load)]
    for burner in burners:
        burner.start()
    try:
        results = [one_run(index + 1, args.runs, args.load) for index in range(args.runs)]
    finally:
        for burner in burners:
            burner.terminate()
    if args.out:
        earlier = []
        if os.path.exists(args.out):
            with open(args.out) as handle:
                earlier = json.load(handle)
        with open(args.out, "w") as handle:
            json.dump(earlier + results, handle, indent=1)
            handle.write("\n")
    print(table(results))
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
