"""Small helpers: phase timing, commands that fail with a message naming step, service and log."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time


class HarnessError(Exception):
    """A step failed. The message names the step, the service and the log file to read."""

    def __init__(self, step, service=None, log=None, detail=None):
        self.step = step
        self.service = service
        self.log = log
        self.detail = detail
        parts = ["step '%s' failed" % step]
        if service:
            parts.append("service %s" % service)
        if detail:
            parts.append(str(detail))
        if log:
            parts.append("read %s" % log)
        super().__init__("; ".join(parts))

    def report(self, lines=30):
        """The message plus the last lines of the log file (what a person reads first)."""
        text = "error: %s" % self
        if self.log:
            tail = redact(tail_lines(self.log, lines))
            if tail:
                text += "\n--- last %d lines of %s ---\n%s" % (lines, self.log, tail)
        return text


# Passwords the harness made (config.load_secrets): never written into a log or a message.
SECRETS = set()


def redact(text):
    for value in SECRETS:
        if value:
            text = text.replace(value, "***")
    return text


def tail_lines(path, lines=30):
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def say(message):
    print("realcloud: %s" % message, flush=True)


class Phases:
    """Records how long each phase took, prints it as it ends and a summary at the end."""

    def __init__(self):
        self.durations = []
        self.started = time.monotonic()

    @contextlib.contextmanager
    def phase(self, name):
        start = time.monotonic()
        say("%s ..." % name)
        try:
            yield
        finally:
            took = time.monotonic() - start
            self.durations.append((name, took))
            say("%s: %.1f s" % (name, took))

    def summary(self):
        total = time.monotonic() - self.started
        parts = ", ".join("%s %.1f s" % (name, took) for name, took in self.durations)
        return "timings: %s; total %.1f s" % (parts or "nothing to do", total)


def run(cmd, step, service=None, log=None, env=None, cwd=None, timeout=900, input_text=None):
    """Runs a command to completion, appending its output to ``log``; raises HarnessError on failure."""
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        out = open(log, "ab")
        out.write(("\n%s $ %s\n" % (time.strftime("%H:%M:%S"), redact(" ".join(cmd)))).encode())
        out.flush()
    else:
        out = subprocess.PIPE
    began = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            timeout=timeout,
            input=input_text.encode() if input_text is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(step, service, log, "timed out after %d s: %s" % (timeout, redact(" ".join(cmd))))
    except OSError as exc:
        raise HarnessError(step, service, log, "could not run %s: %s" % (cmd[0], exc))
    finally:
        if log:
            out.write(("%s took %.1f s\n" % (time.strftime("%H:%M:%S"), time.monotonic() - began)).encode())
            out.close()
    if proc.returncode != 0:
        detail = "exit %d: %s" % (proc.returncode, redact(" ".join(cmd)))
        if not log and proc.stdout:
            detail += "\n" + redact(proc.stdout.decode("utf-8", "replace")[-3000:])
        raise HarnessError(step, service, log, detail)
    return proc.stdout.decode("utf-8", "replace") if not log and proc.stdout else ""


def eprint(message):
    print(message, file=sys.stderr, flush=True)
