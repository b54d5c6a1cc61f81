"""python -m realcloud.harness up|down|status|seed|logs [service]   (run by scripts/realcloud.sh)"""

from __future__ import annotations

import argparse
import os
import sys

from . import cloud, config, services
from .util import HarnessError, Phases, eprint, say, tail_lines


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="realcloud", description="Real OpenStack 2026.1 services on 127.0.0.1 for tests"
    )
    parser.add_argument("command", choices=["up", "down", "status", "seed", "logs"])
    parser.add_argument("service", nargs="?", help="logs: the service whose log to show (default: list the logs)")
    parser.add_argument("--no-seed", action="store_true", help="up: start the services without seeding")
    parser.add_argument("-n", "--lines", type=int, default=60, help="logs: how many lines")
    args = parser.parse_args(argv)
    layout = config.Layout()
    phases = Phases()
    try:
        if args.command == "up":
            cloud.up(layout, phases, seed=not args.no_seed)
            say(phases.summary())
            say("clouds.yaml: %s (clouds %s, %s)" % (layout.clouds_yaml, config.CLOUD_ADMIN, config.CLOUD_MEMBER))
        elif args.command == "down":
            stopped = cloud.down(layout)
            say("stopped: %s" % (", ".join(stopped) if stopped else "nothing was running"))
        elif args.command == "seed":
            from . import seed

            with phases.phase("seed"):
                seed.seed(layout, config.load_secrets(layout))
            say(phases.summary())
        elif args.command == "status":
            states = cloud.status(layout)
            for name, (pid, healthy) in states.items():
                print(
                    "%-18s %-8s %s" % (name, pid or "-", "healthy" if healthy else ("unhealthy" if pid else "stopped"))
                )
            ok = all(h for _p, h in states.values()) and cloud.is_ready(layout)
            if any(p for p, _h in states.values()) and not cloud.is_ready(layout):
                print("no completed start for these databases (the last up failed or was interrupted)")
            print("state dir: %s; %s" % (layout.root, "healthy" if ok else "not (fully) running"))
            return 0 if ok else 3
        elif args.command == "logs":
            if not args.service:
                for name in sorted(os.listdir(layout.logs)) if os.path.isdir(layout.logs) else []:
                    print(os.path.join(layout.logs, name))
                return 0
            names = [svc.name for svc in services.definitions(layout)]
            path = layout.log(args.service)
            if not os.path.exists(path):
                eprint("no log %s (services: %s)" % (path, ", ".join(names)))
                return 2
            print(tail_lines(path, args.lines))
    except HarnessError as exc:
        eprint(exc.report())
        if phases.durations:
            eprint("realcloud: " + phases.summary())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
