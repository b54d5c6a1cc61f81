"""Measure one child process: wall time, CPU time, peak RSS (largest process and whole tree).

Every measured step of the benchmark runs as a child process, so that its numbers are its own:

* wall: ``time.perf_counter()`` around the child's whole life;
* CPU: user + system seconds from ``os.wait4()``: the child plus every descendant it waited for
  (ansible-playbook's forked workers and module processes included);
* peak RSS (``rss_max_mb``): the largest ``VmHWM`` (peak resident set since ``exec``) of any single
  process of the tree, sampled from ``/proc/<pid>/status`` every ``poll_interval`` seconds: the
  number that decides whether a step fits in memory. (``ru_maxrss`` from ``wait4`` is not used
  for it: on Linux a child's ``ru_maxrss`` starts at its parent's RSS at ``fork`` time, so it
  would report the harness's own size for every small child.);
* peak tree RSS (``rss_tree_mb``): the largest sum of RSS over the child and all its live
  descendants, sampled from ``/proc`` every ``poll_interval`` seconds (no psutil needed).

A child reports its own results (counts, internal timings) as one line ``BENCH_RESULT <json>`` on
stdout; ``run_measured`` parses it into ``Measurement.result``.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field

RESULT_PREFIX = "BENCH_RESULT "
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Measurement:
    cmd: list
    rc: int = -1
    wall: float = 0.0
    cpu_user: float = 0.0
    cpu_sys: float = 0.0
    rss_max_mb: float = 0.0
    rss_tree_mb: float = 0.0
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    result: dict = field(default_factory=dict)

    @property
    def cpu(self):
        return self.cpu_user + self.cpu_sys

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out

    def tail(self, lines=15):
        text = (self.stderr or "") + (self.stdout or "")
        return "\n".join(text.strip().splitlines()[-lines:])


def _children_map():
    """pid -> list of child pids, from /proc/*/stat."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: split after the last ')'
        rest = data[data.rfind(b")") + 2 :].split()
        if len(rest) > 1:
            children.setdefault(int(rest[1]), []).append(int(entry))
    return children


def _rss_kb(pid):
    try:
        with open("/proc/%d/statm" % pid, "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_KB
    except (OSError, ValueError, IndexError):
        return 0


def _hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid, "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_rss_kb(root_pid):
    """(sum of the RSS of ``root_pid`` and all its descendants, largest VmHWM among them), in KiB."""
    children = _children_map()
    total, peak, stack, seen = 0, 0, [root_pid], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kb(pid)
        peak = max(peak, _hwm_kb(pid))
        stack.extend(children.get(pid, ()))
    return total, peak


class _TreePoller(threading.Thread):
    def __init__(self, pid, interval):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.hwm_kb = 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            total, hwm = tree_rss_kb(self.pid)
            self.peak_kb = max(self.peak_kb, total)
            self.hwm_kb = max(self.hwm_kb, hwm)
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()


def parse_result(stdout):
    """The last ``BENCH_RESULT`` line of a child's stdout, as a dict ({} when there is none)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return {}


def run_measured(cmd, env=None, cwd=None, timeout=None, poll_interval=0.05, stdin_text=None):
    """Run ``cmd`` to completion and measure it; never raises on a failing child."""
    meas = Measurement(cmd=[str(c) for c in cmd])
    out_path = "/tmp/bench-%d-%d.out" % (os.getpid(), threading.get_ident())
    err_path = out_path[:-4] + ".err"
    with open(out_path, "w+b") as out, open(err_path, "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            meas.cmd,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=err,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        )
        if stdin_text is not None:
            proc.stdin.write(stdin_text.encode())
            proc.stdin.close()
        poller = _TreePoller(proc.pid, poll_interval)
        poller.start()
        deadline = None if timeout is None else start + timeout
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                meas.timed_out = True
                _kill_tree(proc.pid)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        meas.wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        poller.stop()
        meas.rc = proc.returncode
        meas.cpu_user, meas.cpu_sys = usage.ru_utime, usage.ru_stime
        meas.rss_max_mb = poller.hwm_kb / 1024.0 if poller.hwm_kb else usage.ru_maxrss / 1024.0
        meas.rss_tree_mb = max(poller.peak_kb / 1024.0, meas.rss_max_mb)
        out.seek(0)
        err.seek(0)
        meas.stdout = out.read().decode("utf-8", "replace")
        meas.stderr = err.read().decode("utf-8", "replace")
    for path in (out_path, err_path):
        try:
            os.unlink(path)
        except OSError:
            pass
    try:
        meas.result = parse_result(meas.stdout)
    except ValueError:
        meas.result = {}
    return meas


def _kill_tree(pid):
    children = _children_map()
    stack, pids = [pid], []
    while stack:
        current = stack.pop()
        pids.append(current)
        stack.extend(children.get(current, ()))
    for current in reversed(pids):
        try:
            os.kill(current, 9)
        except OSError:
            pass


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.wall`` and ``sw.cpu`` (this process only)."""

    def __enter__(self):
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        return False
