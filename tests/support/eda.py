"""The Event-Driven Ansible environment of the tests: a cached venv with ansible-rulebook.

ansible-rulebook (Python >= 3.10, Java 17 found through /usr/bin/java with JAVA_HOME unset) lives
in its own venv, ``~/.cache/cmdb-openstack/eda-venv`` (``CMDB_EDA_VENV``), built from
tests/requirements-eda.txt with Python 3.12 (``CMDB_EDA_PYTHON``), so the project's venv stays
untouched. The venv is rebuilt when the requirements file changes (its hash is stored inside).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys

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
    return [DEFAULT_PYTHON, shutil.which("python3.12") or "", shutil.which("python3.13") or "", shutil.which("python3.11") or ""]


def _wanted_hash():
    digest = hashlib.sha256()
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
        if os.path.exists(marker) and open(marker).read().strip() == wanted and os.path.exists(bin_path("ansible-rulebook")):
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
                [bin_path("python"), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", REQUIREMENTS],
            ):
                code = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=os.path.dirname(REQUIREMENTS))
                if code:
                    with open(log) as handle:
                        tail = handle.read()[-3000:]
                    raise RuntimeError("building the EDA venv failed (%s): %s" % (" ".join(cmd[:3]), tail))
        with open(marker, "w") as handle:
            handle.write(wanted + "\n")
    return target


def rulebook_env(extra=None):
    """Environment for ansible-rulebook: the collection on the collections path, JAVA_HOME unset."""
    env = dict(os.environ)
    env.pop("JAVA_HOME", None)
    env["ANSIBLE_COLLECTIONS_PATH"] = paths.COLLECTIONS_DIR
    env["PATH"] = os.path.join(venv_dir(), "bin") + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_LOCALHOST_WARNING"] = "False"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "False"
    env.update(extra or {})
    return env


if __name__ == "__main__":
    print(ensure_venv())
    sys.exit(0)
