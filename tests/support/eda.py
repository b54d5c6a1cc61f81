"""The Event-Driven Ansible environment of the tests: a cached venv with ansible-rulebook.

ansible-rulebook (Python >= 3.10, Java 17 found through /usr/bin/java with JAVA_HOME unset) lives
in its own venv, ``~/.cache/cmdb-openstack/eda-venv`` (``CMDB_EDA_VENV``), built from
tests/requirements-eda.txt and the current line's ansible-core (tests/matrix.txt) with Python 3.12
(``CMDB_EDA_PYTHON``), so the project's venv stays untouched. The venv is rebuilt when the
requirements or that pin change (their hash is stored inside).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import paths

REQUIREMENTS = os.path.join(paths.COLLECTION_ROOT, "tests", "requirements-eda.txt")
RUNTIME_REQUIREMENTS = os.path.join(paths.COLLECTION_ROOT, "requirements.txt")
DEFAULT_VENV = os.path.join(os.path.expanduser("~"), ".cache", "cmdb-openstack", "eda-venv")
DEFAULT_PYTHON = "/root/.pyenv/versions/3.12.1/bin/python3.12"


def venv_dir():
    return os.environ.get("CMDB_EDA_VENV") or DEFAULT_VENV


def _python_candidates():
    configured = os.environ.get("CMDB_EDA_PYTHON")
    if configured:
        return [configured]
    return [
        DEFAULT_PYTHON,
        shutil.which("python3.12") or "",
        shutil.which("python3.13") or "",
        shutil.which("python3.11") or "",
    ]


def main_core_version():
    """The ansible-core of the current line ("main" in tests/matrix.txt, the one place it is pinned)."""
    with open(os.path.join(paths.COLLECTION_ROOT, "tests", "matrix.txt")) as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 4 and not fields[0].startswith("#") and fields[-1] == "main":
                return fields[1]
    raise RuntimeError("tests/matrix.txt names no main line")


def _wanted_hash():
    digest = hashlib.sha256()
    digest.update(main_core_version().encode())
    for path in (REQUIREMENTS, RUNTIME_REQUIREMENTS):
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def bin_path(name):
    return os.path.join(venv_dir(), "bin", name)


def ensure_venv(log=None):
    """Build (or reuse) the EDA venv; return its directory. Raises RuntimeError with the pip log tail."""
    target = venv_dir()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    marker = os.path.join(target, ".cmdb-requirements-sha256")
    wanted = _wanted_hash()
    with open(target + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (
            os.path.exists(marker)
            and open(marker).read().strip() == wanted
            and os.path.exists(bin_path("ansible-rulebook"))
        ):
            return target
        python = next((p for p in _python_candidates() if p and os.path.exists(p)), None)
        if python is None:
            raise RuntimeError("no Python >= 3.11 for ansible-rulebook (set CMDB_EDA_PYTHON)")
        if os.path.exists(target):
            shutil.rmtree(target)
        log = log or (target + "-pip.log")
        with open(log, "w") as out:
            for cmd in (
                [python, "-m", "venv", target],
                [
                    bin_path("python"),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-q",
                    "-r",
                    REQUIREMENTS,
                    "ansible-core==%s" % main_core_version(),
                ],
            ):
                code = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=os.path.dirname(REQUIREMENTS))
                if code:
                    with open(log) as handle:
                        tail = handle.read()[-3000:]
                    raise RuntimeError("building the EDA venv failed (%s): %s" % (" ".join(cmd[:3]), tail))
        with open(marker, "w") as handle:
            handle.write(wanted + "\n")
    return target


_COLLECTIONS = []


def collections_dir():
    """A collections dir of its own holding THIS checkout (a shared venv's link may point elsewhere)."""
    if not _COLLECTIONS:
        base = tempfile.mkdtemp(prefix="cmdb-eda-collections-")
        os.makedirs(os.path.join(base, "ansible_collections", "cmdb"))
        os.symlink(paths.COLLECTION_ROOT, os.path.join(base, "ansible_collections", "cmdb", "openstack"))
        _COLLECTIONS.append(base)
    return _COLLECTIONS[0]


def rulebook_env(extra=None):
    """Environment for ansible-rulebook: this checkout on the collections path, JAVA_HOME unset."""
    env = dict(os.environ)
    env.pop("JAVA_HOME", None)
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)
    env["ANSIBLE_COLLECTIONS_PATH"] = collections_dir()
    env["PATH"] = os.path.join(venv_dir(), "bin") + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_LOCALHOST_WARNING"] = "False"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "False"
    env.update(extra or {})
    return env


RULEBOOK = os.path.join(paths.COLLECTION_ROOT, "extensions", "eda", "rulebooks", "cmdb_notifications.yml")
SPY = os.path.join(paths.COLLECTION_ROOT, "tests", "integration", "events", "amqp_spy.py")
READY = "consuming durable queue"


def write_inventory(path):
    """localhost, local connection, modules run with the EDA venv's Python (which has the requirements)."""
    with open(path, "w") as handle:
        json.dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": bin_path("python")}
                    }
                }
            },
            handle,
        )
    return path


class Rulebook:
    """``ansible-rulebook`` on the collection's rulebook, in the background (log in ``workdir``)."""

    def __init__(self, workdir, variables, env=None, rulebook=RULEBOOK):
        self.workdir = str(workdir)
        self.rulebook = rulebook
        self.vars_file = os.path.join(self.workdir, "rulebook-vars.json")
        self.variables = {}
        self.configure(**variables)
        self.inventory = write_inventory(os.path.join(self.workdir, "rulebook-inventory.json"))
        self.env = rulebook_env(env)
        self.process = None
        self.starts = 0
        self.log = None

    def configure(self, **variables):
        """Set rulebook variables for the next start."""
        self.variables.update(variables)
        fd = os.open(self.vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the broker password
        with os.fdopen(fd, "w") as handle:
            json.dump(self.variables, handle)

    def start(self, timeout=120):
        self.starts += 1
        self.log = os.path.join(self.workdir, "rulebook-%d.log" % self.starts)
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [
                    bin_path("ansible-rulebook"),
                    "-r",
                    self.rulebook,
                    "-i",
                    self.inventory,
                    "--vars",
                    self.vars_file,
                    "-v",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.workdir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("ansible-rulebook exited (%s): %s" % (self.process.returncode, self.tail()))
            if READY in self.text():
                return
            time.sleep(0.2)
        raise RuntimeError("ansible-rulebook not ready after %ss: %s" % (timeout, self.tail()))

    def text(self):
        if not self.log or not os.path.exists(self.log):
            return ""
        with open(self.log, errors="replace") as handle:
            return handle.read()

    def tail(self, chars=4000):
        return self.text()[-chars:]

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def delete_queue(url, name):
    """Delete a durable queue a test declared (an unconsumed durable queue keeps every notification)."""
    script = (
        "import asyncio, sys, aio_pika\n"
        "async def main():\n"
        "    connection = await aio_pika.connect(sys.argv[1])\n"
        "    async with connection:\n"
        "        channel = await connection.channel()\n"
        "        await channel.queue_delete(sys.argv[2])\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([bin_path("python"), "-c", script, url, name], check=True, capture_output=True, timeout=60)


class Spy:
    """tests/integration/events/amqp_spy.py in the background: ``events`` fills with what it saw."""

    def __init__(self, url):
        self.events = []
        self._lock = threading.Lock()
        env = rulebook_env({"CMDB_SPY_URL": url})
        self.process = subprocess.Popen(
            [bin_path("python"), SPY], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
        )
        self._ready = threading.Event()
        self._lines = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._ready.wait(90):
            self.stop()
            raise RuntimeError("the AMQP spy did not start: %s" % "".join(self._lines[-20:]))

    def _read(self):
        for line in self.process.stdout:
            if line.startswith("READY"):
                self._ready.set()
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self._lines.append(line)
                continue
            with self._lock:
                self.events.append(event)

    def first(self, rid, event_type=None):
        """The arrival time of the first notification naming ``rid`` (and of ``event_type``), or None."""
        with self._lock:
            for event in self.events:
                if event["id"] == rid and (event_type is None or event["event_type"] == event_type):
                    return event["t"]
        return None

    def wait(self, rid, event_type, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first(rid, event_type)
            if found is not None:
                return found
            time.sleep(0.05)
        raise AssertionError("no %s notification for %s within %ss" % (event_type, rid, timeout))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


if __name__ == "__main__":
    print(ensure_venv())
    sys.exit(0)
