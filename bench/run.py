"""The benchmark harness: ``bash bench/run.sh [--scenarios S,M,L,INV] [--quick] [--latency 0.2]``.

For each scenario it starts the OpenStack API simulator (its own process) with the scenario's clouds,
then measures, each step in a child process (``bench/measure.py``):

1. the API floor and our gather of every type (wall, CPU, resources/s, API calls, peak RSS);
2. the CMDB: initial load and no-change resync, on SQLite and on PostgreSQL (rows/s, rows written);
3. the inventory plugin from the CMDB (plugin time in-process, ``ansible-inventory --list`` wall) and live;
4. the references: openstack.cloud 2.6.0's server_info, port_info and volume_info next to ours, and
   its ``openstack.cloud.openstack`` inventory next to ours (live).

Then it checks the targets (as ratios within this run) and writes ``docs/bench/results.md``,
``results.json`` and ``chart.png``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import collection_path
import measure
import reference
import report
import scenarios as scen_mod
import sim
import targets as targets_mod

ROOT = collection_path.ROOT
WORKER = os.path.join(HERE, "worker.py")
OURS = "cmdb.openstack"
FLOOR = "API floor"
REF = "openstack.cloud 2.6.0"


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.rows = []
        self.workdir = tempfile.mkdtemp(prefix="cmdb-bench-")
        self.base_env = dict(os.environ)
        self.base_env["PYTHONPATH"] = os.pathsep.join(
            [collection_path.COLLECTIONS, collection_path.SIMULATOR_DIR, HERE]
            + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
        )
        self.base_env["ANSIBLE_COLLECTIONS_PATH"] = collection_path.COLLECTIONS
        self.base_env["ANSIBLE_HOME"] = os.path.join(self.workdir, "ansible-home-worker")
        self.base_env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "0"
        self.ref_python = None
        self.ref_reason = None
        self.pg_url = None
        self.pg_reason = None

    # ---------------------------------------------------------------- helpers
    def add_row(self, scenario, step, tool, meas=None, **fields):
        row = {"scenario": scenario.key, "step": step, "tool": tool, "status": "ok"}
        if meas is not None:
            row.update(
                wall=meas.wall,
                cpu=meas.cpu,
                rss_max_mb=meas.rss_max_mb,
                rss_tree_mb=meas.rss_tree_mb,
            )
            if not meas.ok:
                row["status"] = "timed out" if meas.timed_out else "failed (rc %s)" % meas.rc
                row["note"] = _short(meas.tail(6))
        for key, value in fields.items():
            if value is not None:
                row[key] = value
        if row.get("items") and row.get("wall") and "rate" not in row and row["status"] == "ok":
            row["rate"] = row["items"] / row["wall"]
        self.rows.append(row)
        log(
            "%-8s %-34s %-22s %s"
            % (
                row["scenario"],
                step,
                tool,
                ", ".join(
                    "%s=%s" % (k, report.fmt(row.get(k), k))
                    for k in ("wall", "cpu", "items", "api_calls", "rss_max_mb", "rows", "status")
                    if row.get(k) is not None
                ),
            )
        )
        return row

    def skip_row(self, scenario, step, tool, reason):
        return self.add_row(scenario, step, tool, status="skipped", note=reason)

    def worker(self, task, args, timeout, profile_name=None):
        path = os.path.join(self.workdir, "args-%s-%d.json" % (task, len(self.rows)))
        with open(path, "w") as fh:
            json.dump(args, fh)
        env = dict(self.base_env)
        if self.opts.profile and profile_name:
            env["BENCH_PROFILE"] = os.path.join(self.opts.profile, profile_name + ".prof")
        return measure.run_measured([sys.executable, WORKER, task, path], env=env, timeout=timeout)

    def counted(self, simh, func):
        before = simh.request_count()
        meas = func()
        after = simh.request_count()
        calls = after - before if (before is not None and after is not None) else None
        return meas, calls

    # ---------------------------------------------------------------- steps
    def step_gather(self, scen, simh, clouds):
        args = {"clouds": clouds, "workers": self.opts.workers}
        meas, calls = self.counted(simh, lambda: self.worker("floor", args, scen.timeout, "floor-" + scen.key))
        res = meas.result
        floor_row = self.add_row(
            scen,
            "gather",
            FLOOR,
            meas,
            items=res.get("items"),
            api_calls=calls if calls is not None else res.get("requests"),
            note=_errors_note(res),
        )
        meas, calls = self.counted(simh, lambda: self.worker("gather", args, scen.timeout, "gather-" + scen.key))
        res = meas.result
        ours_row = self.add_row(
            scen,
            "gather",
            OURS,
            meas,
            items=res.get("items"),
            api_calls=calls,
            note=_errors_note(res) or res.get("note"),
        )
        return floor_row, ours_row

    def step_cmdb(self, scen, simh, clouds):
        urls = [("SQLite", "sqlite:///%s" % os.path.join(self.workdir, "cmdb-%s.sqlite" % scen.key))]
        if scen.run_postgres and not self.opts.no_postgres:
            if self.pg_url is None and self.pg_reason is None:
                self.pg_url, self.pg_reason = sim.postgres_server()
            if self.pg_url:
                urls.append(("PostgreSQL", None))
            else:
                self.skip_row(scen, "CMDB initial load", "%s on PostgreSQL" % OURS, self.pg_reason)
        sqlite_url = None
        for dbname, url in urls:
            if url is None:
                url = sim.create_pg_database(self.pg_url, "bench_%s" % scen.key.lower().replace("+", "_"))
            else:
                sqlite_url = url
            for label in ("CMDB initial load", "CMDB no-change resync"):
                before = sim.rows_written(url)
                args = {"clouds": clouds, "url": url, "workers": self.opts.workers}
                pname = "cmdb-%s-%s-%s" % (scen.key, dbname, "load" if "initial" in label else "resync")
                meas, calls = self.counted(simh, lambda a=args, p=pname: self.worker("cmdb_sync", a, scen.timeout, p))
                after = sim.rows_written(url)
                rows = after - before if (before is not None and after is not None) else meas.result.get("rows")
                res = meas.result
                self.add_row(
                    scen,
                    label,
                    "%s on %s" % (OURS, dbname),
                    meas,
                    items=res.get("items"),
                    api_calls=calls,
                    rows=rows,
                    rate=(rows / meas.wall) if rows and meas.wall else None,
                    rows_detail=sim.rows_written_detail(url),
                    totals=res.get("totals"),
                    note=_errors_note(res) or _totals_note(res.get("totals")),
                )
        return sqlite_url

    def step_inventory_cmdb(self, scen, sqlite_url, clouds, simh):
        if not sqlite_url:
            return
        path = os.path.join(self.workdir, "%s-cmdb.openstack.yml" % scen.key)
        sim.write_our_inventory(path, source="cmdb", url=sqlite_url, clouds=[c["name"] for c in clouds])
        self._inventory_plugin_row(scen, simh, path, "inventory plugin (cmdb)")
        if scen.clouds > 1 and scen.total_servers() > 10000 and 10000 % scen.servers == 0:
            # the 10,000-host target: the same CMDB, restricted to as many clouds as make 10,000 hosts
            subset = [c["name"] for c in clouds[: 10000 // scen.servers]]
            path10k = os.path.join(self.workdir, "%s-cmdb10k.openstack.yml" % scen.key)
            sim.write_our_inventory(path10k, source="cmdb", url=sqlite_url, clouds=subset)
            self._inventory_plugin_row(scen, simh, path10k, "inventory plugin (cmdb, 10,000 hosts)")
        self.run_inventory_list(scen, simh, path, "inventory --list (cmdb)", OURS, reference_side=False, clouds=clouds)

    def _inventory_plugin_row(self, scen, simh, path, step):
        meas, calls = self.counted(
            simh,
            lambda: self.worker(
                "inventory",
                {"source": path},
                scen.timeout,
                "inventory-%s-%s" % ("10k" if "10,000" in step else "cmdb", scen.key),
            ),
        )
        secs = meas.result.get("plugin_seconds")
        return self.add_row(
            scen,
            step,
            OURS,
            meas,
            items=meas.result.get("hosts"),
            api_calls=calls,
            plugin_seconds=secs,
            note="plugin time %s s" % report.fmt(secs) if secs is not None else None,
        )

    def run_inventory_list(self, scen, simh, path, step, tool, reference_side, clouds):
        env = reference.ansible_env(self.base_env, simh.clouds_yaml, self.workdir, reference=reference_side)
        cmd = [reference.bin_path("ansible-inventory", reference_side), "-i", path, "--list"]
        out_file = os.path.join(self.workdir, "inventory-%d.json" % len(self.rows))
        cmd += ["--output", out_file]
        meas, calls = self.counted(simh, lambda: measure.run_measured(cmd, env=env, timeout=scen.timeout))
        hosts = None
        if meas.ok and os.path.exists(out_file):
            try:
                with open(out_file) as fh:
                    hosts = len((json.load(fh).get("_meta") or {}).get("hostvars") or {})
            except ValueError:
                hosts = None
            os.unlink(out_file)
        return self.add_row(scen, step, tool, meas, items=hosts, api_calls=calls)

    def step_inventory_live(self, scen, simh, clouds):
        path = os.path.join(self.workdir, "%s-live.openstack.yml" % scen.key)
        sim.write_our_inventory(
            path,
            source="live",
            clouds=[c["name"] for c in clouds],
            clouds_yaml=simh.clouds_yaml,
            timeout=int(scen.timeout),
        )
        return self.run_inventory_list(scen, simh, path, "inventory --list (live)", OURS, False, clouds)

    def step_reference_inventory(self, scen, simh, clouds):
        if not self.ref_python:
            return self.skip_row(scen, "inventory --list", REF, self.ref_reason)
        path = os.path.join(self.workdir, "%s-ref-openstack.yml" % scen.key)
        reference.write_oc_inventory(path, [c["name"] for c in clouds])
        return self.run_inventory_list(scen, simh, path, "inventory --list", REF, True, clouds)

    def step_info_modules(self, scen, simh, clouds):
        cloud = clouds[0]["name"]
        sides = [(OURS, False, "cmdb.openstack")]
        if self.ref_python:
            sides.insert(0, (REF, True, "openstack.cloud"))
        else:
            for rtype in reference.INFO_MODULES:
                self.skip_row(scen, "info module: %s" % rtype, REF, self.ref_reason)
        for tool, is_ref, namespace in sides:
            env = reference.ansible_env(self.base_env, simh.clouds_yaml, self.workdir, reference=is_ref)
            playbook = [reference.bin_path("ansible-playbook", is_ref)]
            noop = reference.write_noop_playbook(os.path.join(self.workdir, "noop.json"))
            base = measure.run_measured(playbook + [noop], env=env, timeout=300)
            self.add_row(
                scen, "ansible-playbook start-up", tool, base, note="a no-op play: subtracted from module times"
            )
            for rtype, (module, ref_args, our_args) in reference.INFO_MODULES.items():
                margs = ref_args if is_ref else our_args
                path = os.path.join(self.workdir, "%s-%s-%s.json" % (scen.key, namespace, module))
                reference.write_info_playbook(path, "%s.%s" % (namespace, module), cloud, margs)
                meas, calls = self.counted(
                    simh, lambda p=path, e=env, pb=playbook: measure.run_measured(pb + [p], env=e, timeout=scen.timeout)
                )
                items = _count_from_debug(meas.stdout)
                self.add_row(
                    scen,
                    "info module: %s" % rtype,
                    tool,
                    meas,
                    items=items,
                    api_calls=calls,
                    net_wall=max(meas.wall - base.wall, 0.001) if base.ok else None,
                    note="%s.%s; %.2f s after start-up" % (namespace, module, max(meas.wall - base.wall, 0.0)),
                )

    # ---------------------------------------------------------------- scenario
    def run_scenario(self, scen):
        log("scenario %s (%s), starting the simulator" % (scen.key, scen.label))
        simh = sim.SimHandle(scen, self.workdir, self.base_env)
        try:
            start = time.perf_counter()
            clouds = simh.start()
            from ansible_collections.cmdb.openstack.plugins.module_utils.catalog import RESOURCE_TYPE_NAMES

            scen.generated = {}
            for cloud in clouds:
                for name, count in (cloud.get("generated") or {}).items():
                    if name in RESOURCE_TYPE_NAMES:
                        scen.generated[name] = scen.generated.get(name, 0) + count
            log("simulator ready in %.1f s (%d clouds)" % (time.perf_counter() - start, len(clouds)))
            self.add_row(
                scen,
                "simulator start (data generation)",
                "simulator",
                wall=time.perf_counter() - start,
                items=scen.total_resources(),
            )
            self.base_env["OS_CLIENT_CONFIG_FILE"] = simh.clouds_yaml
            if scen.latency:
                simh.set_latency(scen.latency)
            self.step_gather(scen, simh, clouds)
            sqlite_url = None
            if not self.opts.no_cmdb and scen.run_cmdb:
                sqlite_url = self.step_cmdb(scen, simh, clouds)
                if scen.run_cmdb_inventory:
                    self.step_inventory_cmdb(scen, sqlite_url, clouds, simh)
            if scen.run_live_inventory:
                self.step_inventory_live(scen, simh, clouds)
            if scen.run_reference_inventory:
                self.step_reference_inventory(scen, simh, clouds)
            if scen.run_reference_info:
                self.step_info_modules(scen, simh, clouds)
        except sim.SimulatorError as exc:
            self.skip_row(scen, "simulator start (data generation)", "simulator", "failed: %s" % exc)
            log("simulator failed: %s" % exc)
        finally:
            simh.stop()

    def run(self, scenario_list, after_each=None):
        if not self.opts.no_reference:
            log("setting up the openstack.cloud reference environment (cached)")
            self.ref_python, reason = reference.setup(log)
            if not self.ref_python:
                self.ref_reason = "reference environment unavailable: %s" % " ".join(reason or [])
        else:
            self.ref_reason = "--no-reference"
        for scen in scenario_list:
            self.run_scenario(scen)
            if after_each is not None:
                after_each(self.rows)
        return self.rows


def _count_from_debug(stdout):
    """The info playbooks' debug task prints the length of every list in the registered result."""
    import re

    match = re.search(r'"msg": \[\s*([0-9,\s]*)\]', stdout)
    if not match:
        return None
    nums = [int(x) for x in re.findall(r"\d+", match.group(1))]
    return max(nums) if nums else 0


def _totals_note(totals):
    if not totals:
        return None
    return ", ".join("%s %s" % (format(v, ","), k) for k, v in totals.items() if v)


def _errors_note(res):
    errs = res.get("errors") if res else None
    if errs:
        return "%d error(s), first: %s" % (len(errs), _short(str(errs[0]), 160))
    return None


def _short(text, limit=240):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def machine_meta(opts, started):
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?")
    except OSError:
        cpu = platform.processor() or "?"
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": "%d CPU x %s, %.0f GiB RAM, %s"
        % (os.cpu_count() or 0, cpu, mem_kb / 1024.0 / 1024.0, platform.platform()),
        "python (cmdb.openstack)": platform.python_version(),
        "load average at start": "%.2f %.2f %.2f" % os.getloadavg(),
    }
    for dist in ("ansible-core", "openstacksdk", "keystoneauth1", "SQLAlchemy", "psycopg"):
        meta[dist] = _dist_version(dist)
    meta["cmdb.openstack"] = _collection_version() + _git_rev()
    ref = reference.ref_versions() if not opts.no_reference else {}
    meta["openstack.cloud"] = reference.oc_version() or "not available"
    if ref:
        meta["reference venv"] = "Python %s, ansible-core %s, openstacksdk %s" % (
            _ref_python_version(),
            ref.get("ansible-core"),
            ref.get("openstacksdk"),
        )
    meta["PostgreSQL"] = sim.postgres_version() or "not available"
    meta["options"] = " ".join(sys.argv[1:]) or "(defaults)"
    meta["notes"] = [
        "The machine has 2 cores shared by the simulator (its own process) and the measured client, "
        "and, during development, by other jobs: absolute numbers are noisy; the targets are ratios "
        "measured in the same run.",
    ]
    return meta


def _dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "not installed"


def _collection_version():
    try:
        with open(os.path.join(ROOT, "galaxy.yml")) as fh:
            for line in fh:
                if line.startswith("version:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _git_rev():
    try:
        out = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        return " (git %s)" % out if out else ""
    except OSError:
        return ""


def _ref_python_version():
    try:
        return subprocess.run(
            [reference.REF_PYTHON, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return "?"


def draw_chart(out_dir):
    results = os.path.join(out_dir, "results.json")
    png = os.path.join(out_dir, "chart.png")
    for python in (reference.REF_PYTHON, sys.executable):
        if not os.path.exists(python):
            continue
        proc = subprocess.run(
            [python, os.path.join(HERE, "chart.py"), results, png], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0:
            return True
        log("chart with %s failed: %s" % (python, _short(proc.stderr, 300)))
    return False


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="S,M,INV,L", help="comma-separated: S, M, INV, L (default: all)")
    parser.add_argument("--quick", action="store_true", help="a small S only (200 servers), for the smoke test")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.2,
        help="seconds of added latency per request in the '+lat' variants of S and M (0: none)",
    )
    parser.add_argument("--workers", type=int, default=8, help="concurrent listings (the gatherer's default)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "bench"), help="output directory")
    parser.add_argument("--no-reference", action="store_true", help="skip openstack.cloud (no Python 3.12 venv)")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--no-cmdb", action="store_true", help="skip the CMDB and CMDB inventory steps")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite results.md and chart.png from results.json (no run)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (databases, configs, logs)")
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile file per worker step into DIR")
    return parser.parse_args(argv)


def report_only(opts):
    """Re-evaluate the targets and rewrite results.md and chart.png from an existing results.json."""
    with open(os.path.join(opts.out, "results.json")) as fh:
        data = json.load(fh)
    keys = [s["key"] for s in data["scenarios"]]
    tgts = targets_mod.evaluate(data["rows"], keys, quick=opts.quick)
    command = data["meta"].pop("command", None) or "bash bench/run.sh"
    report.write(opts.out, data["meta"], data["scenarios"], data["rows"], tgts, chart_ok=False, command=command)
    chart_ok = draw_chart(opts.out)
    path = report.write(opts.out, data["meta"], data["scenarios"], data["rows"], tgts, chart_ok, command)
    log("rewrote %s%s" % (path, " and chart.png" if chart_ok else ""))
    return 0


def main(argv=None):
    opts = parse_args(argv if argv is not None else sys.argv[1:])
    if opts.report_only:
        return report_only(opts)
    if opts.profile:
        os.makedirs(opts.profile, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    names = opts.scenarios.split(",")
    if opts.quick:
        names = ["S"]
    scenario_list = scen_mod.build(names, latency=opts.latency, quick=opts.quick)
    bench = Bench(opts)
    t0 = time.perf_counter()
    arglist = argv if argv is not None else sys.argv[1:]
    command = "bash bench/run.sh" + ((" " + " ".join(arglist)) if arglist else "")

    def write_report(rows, chart=False):
        meta = machine_meta(opts, started)
        meta["command"] = command
        meta["total benchmark time"] = "%.0f s" % (time.perf_counter() - t0)
        tgts = targets_mod.evaluate(rows, scenario_list, quick=opts.quick)
        scen_info = [
            {
                "key": s.key,
                "label": s.label,
                "resources": s.total_resources() or 0,
                "counts": ", ".join("%s %s" % (format(v, ","), k) for k, v in s.generated.items()) + " (every cloud)",
            }
            for s in scenario_list
        ]
        report.write(opts.out, meta, scen_info, rows, tgts, chart_ok=False, command=command)
        chart_ok = draw_chart(opts.out) if chart else False
        return report.write(opts.out, meta, scen_info, rows, tgts, chart_ok=chart_ok, command=command), chart_ok

    rows = bench.run(scenario_list, after_each=write_report)
    path, chart_ok = write_report(rows, chart=True)
    if opts.keep:
        log("kept the work directory %s" % bench.workdir)
    else:
        shutil.rmtree(bench.workdir, ignore_errors=True)
    log("wrote %s%s" % (path, " and chart.png" if chart_ok else " (no chart: matplotlib unavailable)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
