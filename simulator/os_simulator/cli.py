"""Command line: ``python -m os_simulator serve ...`` (runs in the foreground until SIGINT/SIGTERM)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time

from .faults import KINDS, FaultError
from .server import Simulator

INT_KEYS = {"servers", "projects", "max_page_size", "seed", "volumes", "volume_snapshots", "images", "flavors"}
INT_KEYS |= {"networks", "floating_ips", "load_balancers"}
FLOAT_KEYS = {"token_lifetime"}
FAULT_INT = {"status", "after", "times", "retry_after"}


def parse_cloud(spec, defaults):
    """``NAME[:REGION[,REGION...]][:key=value[,key=value...]]`` -> (name, kwargs)."""
    parts = spec.split(":")
    name = parts[0]
    if not name:
        raise ValueError("--cloud %r: a cloud needs a name" % spec)
    kwargs = dict(defaults)
    if len(parts) > 1 and parts[1]:
        kwargs["regions"] = tuple(r for r in parts[1].split(",") if r)
    if len(parts) > 2 and parts[2]:
        for pair in parts[2].split(","):
            key, sep, value = pair.partition("=")
            key = key.strip().replace("-", "_")
            if not sep:
                raise ValueError("--cloud %r: expected key=value, got %r" % (spec, pair))
            if key in INT_KEYS:
                kwargs[key] = int(value)
            elif key in FLOAT_KEYS:
                kwargs[key] = float(value)
            else:
                raise ValueError(
                    "--cloud %r: unknown setting %r (known: %s)" % (spec, key, ", ".join(sorted(INT_KEYS | FLOAT_KEYS)))
                )
    if len(parts) > 3:
        raise ValueError("--cloud %r: expected NAME[:REGIONS[:key=value,...]]" % spec)
    return name, kwargs


def parse_fault(spec):
    """``kind=status,service=compute,path=/servers/detail,status=503[,cloud=NAME]`` -> (cloud, kwargs)."""
    out = {}
    for pair in spec.split(","):
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError("--fault %r: expected key=value pairs, got %r" % (spec, pair))
        key = key.strip()
        if key in FAULT_INT:
            out[key] = int(value)
        elif key == "delay":
            out[key] = float(value)
        else:
            out[key] = value
    cloud = out.pop("cloud", None)
    if "kind" not in out:
        raise ValueError("--fault %r: kind= is required (one of %s)" % (spec, ", ".join(KINDS)))
    return cloud, out


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m os_simulator", description="OpenStack API simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve simulated clouds over HTTP until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    serve.add_argument(
        "--cloud",
        action="append",
        metavar="NAME[:REGIONS[:k=v,...]]",
        help="a cloud to serve, e.g. demo:RegionOne,RegionTwo or big::servers=100000 (repeatable; default demo)",
    )
    serve.add_argument("--servers", type=int, default=12, help="servers per region (default 12)")
    serve.add_argument("--projects", type=int, default=2, help="projects besides admin (default 2)")
    serve.add_argument("--seed", type=int, default=0, help="data generator seed (default 0)")
    serve.add_argument("--max-page-size", type=int, default=1000, help="server-side page size cap (default 1000)")
    serve.add_argument("--token-lifetime", type=float, default=3600, help="token lifetime in seconds (default 3600)")
    serve.add_argument("--fault", action="append", default=[], metavar="k=v,...", help="inject a fault (repeatable)")
    serve.add_argument("--write-clouds-yaml", metavar="PATH", help="write a clouds.yaml with every cloud (admin user)")
    serve.add_argument("--clouds-yaml-user", default="admin", help="user written to clouds.yaml (default admin)")
    serve.add_argument("--print-env", action="store_true", help="print OS_* variables of the first cloud (admin)")
    serve.add_argument(
        "--ready-file", metavar="PATH", help="write this JSON file once listening (url, port, pid, clouds)"
    )
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def serve(args, out=sys.stdout):
    defaults = {
        "regions": ("RegionOne",),
        "servers": args.servers,
        "projects": args.projects,
        "seed": args.seed,
        "max_page_size": args.max_page_size,
        "token_lifetime": args.token_lifetime,
    }
    specs = [parse_cloud(spec, defaults) for spec in (args.cloud or ["demo"])]
    faults = [parse_fault(spec) for spec in args.fault]
    sim = Simulator(host=args.host, port=args.port, verbose=args.verbose).start()
    stop = threading.Event()

    def _stop(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        print("os_simulator listening on %s (control API %s)" % (sim.url, sim.control_url), file=out, flush=True)
        for name, kwargs in specs:
            started = time.monotonic()
            cloud = sim.add_cloud(name, **kwargs)
            print(
                "cloud %s: auth_url %s regions %s servers %d per region (ready in %.2f s)"
                % (name, cloud.auth_url, ",".join(cloud.regions), cloud.n_servers, time.monotonic() - started),
                file=out,
                flush=True,
            )
        first = next(iter(sim.clouds.values()))
        for cloud_name, kwargs in faults:
            target = sim.clouds[cloud_name] if cloud_name else first
            fault = target.faults.add(**kwargs)
            print("fault on %s: %r" % (target.name, fault), file=out, flush=True)
        if args.write_clouds_yaml:
            sim.write_clouds_yaml(args.write_clouds_yaml, sim.clouds_yaml_entries(user=args.clouds_yaml_user))
            print(
                "clouds.yaml written to %s (clouds: %s)" % (args.write_clouds_yaml, ", ".join(sim.clouds)),
                file=out,
                flush=True,
            )
        if args.print_env:
            for key, value in first.env().items():
                print("export %s=%s" % (key, shlex.quote(value)), file=out, flush=True)
        if args.ready_file:
            info = {
                "url": sim.url,
                "port": sim.port,
                "pid": os.getpid(),
                "control_url": sim.control_url,
                "clouds": {name: c.auth_url for name, c in sim.clouds.items()},
            }
            tmp = args.ready_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(info, handle)
            os.replace(tmp, args.ready_file)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
    except (ValueError, FaultError, KeyError) as exc:
        print("os_simulator: error: %s" % (exc.args[0] if exc.args else exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print("os_simulator: error: %s" % exc, file=sys.stderr)
        return 1
    return 2
