"""The benchmark's side of the world: the simulator process, PostgreSQL, row counting, inventory files.

``SimHandle`` runs ``bench/sim_server.py`` (the OpenStack API simulator with the scenario's clouds) in
its own process, so the simulator never shares a GIL with what is measured, and reads its request
counter so every step can report how many API calls it made.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from collection_path import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_TABLES = ("resources", "relations", "changes")
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class SimulatorError(Exception):
    pass


class SimHandle:
    def __init__(self, scenario, workdir, env):
        self.scenario = scenario
        self.workdir = workdir
        self.env = dict(env)
        self.proc = None
        self.info = None
        self.clouds_yaml = os.path.join(workdir, "clouds-%s.yaml" % scenario.key)
        self.ready_file = os.path.join(workdir, "sim-%s.json" % scenario.key)

    def start(self, timeout=None):
        spec = {
            "clouds": [
                {"name": "bench%d" % i, "seed": i, "counts": self.scenario.counts()}
                for i in range(self.scenario.clouds)
            ],
            "clouds_yaml": self.clouds_yaml,
            "ready_file": self.ready_file,
        }
        spec_path = os.path.join(self.workdir, "sim-spec-%s.json" % self.scenario.key)
        with open(spec_path, "w") as fh:
            json.dump(spec, fh)
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        log_path = os.path.join(self.workdir, "sim-%s.log" % self.scenario.key)
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "sim_server.py"), spec_path],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,
        )
        deadline = time.time() + (timeout or max(120, self.scenario.total_servers() / 200.0))
        while time.time() < deadline:
            if os.path.exists(self.ready_file):
                with open(self.ready_file) as fh:
                    self.info = json.load(fh)
                return self.info["clouds"]
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        with open(log_path, "rb") as fh:
            tail = fh.read().decode("utf-8", "replace").strip().splitlines()[-8:]
        raise SimulatorError("the simulator did not start: %s" % " | ".join(tail))

    def _control(self, path, payload=None):
        url = self.info["control_url"].rstrip("/") + path
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read().decode() or "null")

    def request_count(self):
        """Total API requests served so far by every cloud of this simulator, or None."""
        if not self.info:
            return None
        try:
            return int(self._control("/requests")["count"])
        except Exception:
            return None

    def set_latency(self, seconds):
        self._control("/latency", {"seconds": seconds})

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        try:
            self._log.close()
        except Exception:
            pass


# ------------------------------------------------------------------ PostgreSQL
def _libpq(url):
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def postgres_server():
    """(url, None) when the PostgreSQL server of the tests answers, else (None, reason)."""
    url = os.environ.get("CMDB_TEST_POSTGRES_URL", PG_DEFAULT)
    try:
        import psycopg
    except ImportError as exc:
        return None, "psycopg is not installed (%s)" % exc
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return None, "PostgreSQL unreachable at %s: %s" % (url, str(exc).strip().splitlines()[0])
    return url, None


def postgres_version():
    url, _error = postgres_server()
    if not url:
        return None
    import psycopg

    with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def create_pg_database(server_url, name):
    import psycopg

    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        conn.execute('CREATE DATABASE "%s"' % name)
    return server_url.rsplit("/", 1)[0] + "/" + name


# ------------------------------------------------------------------ rows written
_last_detail = {}


def _sqlite_path(url):
    return url.split("sqlite:///", 1)[1]


def _sqlite_counts(url):
    import sqlite3

    path = _sqlite_path(url)
    if not os.path.exists(path):
        return {}
    conn = sqlite3.connect(path, timeout=60)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not r[0].startswith("sqlite_") and r[0] != "bench_writes"
        ]
        conn.execute("CREATE TABLE IF NOT EXISTS bench_writes (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        existing = {r[0] for r in conn.execute("SELECT tbl FROM bench_writes")}
        for table in tables:
            if table in existing:
                continue
            # baseline: rows inserted before the triggers existed; from now on triggers count every write
            (count,) = conn.execute('SELECT count(*) FROM "%s"' % table).fetchone()
            conn.execute("INSERT INTO bench_writes (tbl, n) VALUES (?, ?)", (table, count))
            for event in ("INSERT", "UPDATE", "DELETE"):
                conn.execute(
                    'CREATE TRIGGER IF NOT EXISTS "bench_%s_%s" AFTER %s ON "%s" BEGIN '
                    "UPDATE bench_writes SET n = n + 1 WHERE tbl = '%s'; END"
                    % (table, event.lower(), event, table, table)
                )
        conn.commit()
        return {r[0]: r[1] for r in conn.execute("SELECT tbl, n FROM bench_writes")}
    finally:
        conn.close()


def _pg_counts(url):
    import psycopg

    try:
        with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
            rows = conn.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables").fetchall()
    except Exception:
        return None
    return {name: int(n) for name, n in rows}


def table_writes(url):
    """Cumulative rows written per table so far (SQLite: triggers; PostgreSQL: pg_stat_user_tables)."""
    if url.startswith("sqlite"):
        return _sqlite_counts(url)
    # the statistics of a finished backend are flushed when it exits; give the collector a moment
    time.sleep(1.2)
    return _pg_counts(url)


def rows_written(url):
    """Rows written to the data tables so far; ``rows_written_detail`` then gives the per-table delta."""
    counts = table_writes(url)
    if counts is None:
        return None
    previous = _last_detail.get(url, {}).get("counts", {})
    _last_detail[url] = {
        "counts": counts,
        "detail": {t: counts.get(t, 0) - previous.get(t, 0) for t in counts if counts.get(t, 0) != previous.get(t, 0)},
    }
    return sum(v for t, v in counts.items() if t in DATA_TABLES)


def rows_written_detail(url):
    return dict(_last_detail.get(url, {}).get("detail", {}))


# ------------------------------------------------------------------ our inventory files
def write_our_inventory(path, source, clouds, url=None, clouds_yaml=None, timeout=1800):
    """A cmdb.openstack.inventory config; the file name must end with openstack.yml."""
    lines = ["plugin: cmdb.openstack.inventory", "source: %s" % source]
    if url:
        lines.append("cmdb_url: %s" % json.dumps(url))
        lines.append("max_age: 30d")
    if source == "live":
        lines += ["all_projects: true", "fail_on_errors: true", "timeout: %d" % timeout]
        if clouds_yaml:
            lines += ["clouds_yaml_path:", "  - %s" % json.dumps(clouds_yaml)]
    if clouds:
        lines.append("only_clouds:")
        lines += ["  - %s" % name for name in clouds]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


__all__ = ["ROOT", "SimHandle", "SimulatorError"]
