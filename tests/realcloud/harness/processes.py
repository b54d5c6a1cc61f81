"""Daemons with pid files: started in their own process group, stopped only by that pid (group).

A pid file holds the pid and the process start time (/proc/<pid>/stat field 22), so a pid reused
by some other process after a crash or a reboot is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from .util import HarnessError


def _start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing ")".
    fields = data[data.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie is dead for our purposes
        return None
    return fields[19]


def read_pidfile(path):
    try:
        with open(path) as handle:
            parts = handle.read().split()
        return int(parts[0]), parts[1] if len(parts) > 1 else None
    except (OSError, ValueError, IndexError):
        return None, None


def running_pid(path):
    """The pid recorded in ``path`` when that very process is still alive, else None."""
    pid, started = read_pidfile(path)
    if pid is None:
        return None
    now = _start_time(pid)
    if now is None or (started is not None and now != started):
        return None
    return pid


def start(name, argv, pidfile, logfile, env=None, cwd=None):
    """Starts ``argv`` in a new session (its own process group), output appended to ``logfile``."""
    os.makedirs(os.path.dirname(pidfile), exist_ok=True)
    os.makedirs(os.path.dirname(logfile), exist_ok=True)
    with open(logfile, "ab") as log:
        log.write(("\n==== %s starting: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), " ".join(argv))).encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise HarnessError("start", name, logfile, "could not run %s: %s" % (argv[0], exc))
    started = None
    for _attempt in range(50):
        started = _start_time(proc.pid)
        if started is not None:
            break
        time.sleep(0.02)
    with open(pidfile, "w") as handle:
        handle.write("%d %s\n" % (proc.pid, started or ""))
    return proc.pid


def stop(pidfile, timeout=20.0):
    """Stops the process group recorded in ``pidfile`` (TERM, then KILL); removes the pid file.

    Returns True when something was running.
    """
    pid = running_pid(pidfile)
    was_running = pid is not None
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and running_pid(pidfile) is not None:
            time.sleep(0.1)
        if running_pid(pidfile) is not None:
            _signal_group(pid, signal.SIGKILL)
            time.sleep(0.2)
        else:
            # Workers of a stopped master may linger a moment: the group gets a KILL too.
            _signal_group(pid, signal.SIGKILL)
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    return was_running


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_many(pidfiles, grace=8.0):
    """Stops several daemons at once: TERM to every group, up to ``grace`` seconds, then KILL.

    Returns the pid files whose process was running. Nothing needs a graceful shutdown here (the
    next start begins with fresh databases), and oslo.service daemons may take a minute for one.
    """
    running = {path: running_pid(path) for path in pidfiles}
    running = {path: pid for path, pid in running.items() if pid is not None}
    for pid in running.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(running_pid(path) is not None for path in running):
        time.sleep(0.2)
    for pid in running.values():
        # KILL also the group of a master that exited: its workers may linger.
        _signal_group(pid, signal.SIGKILL)
    for path in pidfiles:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return list(running)
