"""Installs what the services need: Debian packages (when missing) and the services' own venv.

The venv is kept between runs and reinstalled only when the pinned requirement set changes
(a stamp file holds the hash of the constraints, the package list, our mechanism driver and the
Python version).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile

from . import config
from .util import HarnessError, run, say

APT_PACKAGES = {
    # binary -> Debian package
    "memcached": "memcached",
    "qemu-img": "qemu-utils",
}


def _have(binary):
    return shutil.which(binary) is not None or os.path.exists(os.path.join("/usr/sbin", binary))


def apt_install(packages, layout):
    """apt-get install, with one apt-get update first when the package lists are empty or stale."""
    log = layout.log("apt")
    say("installing Debian packages: %s" % " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run(["apt-get", "install", "-y", "-q", *packages], "apt-get install", "debian packages", log, env=env)
    except HarnessError:
        run(["apt-get", "update", "-q"], "apt-get update", "debian packages", log, env=env)
        run(["apt-get", "install", "-y", "-q", *packages], "apt-get install", "debian packages", log, env=env)


def ensure_debian_packages(layout):
    missing = [pkg for binary, pkg in APT_PACKAGES.items() if not _have(binary)]
    if not _have("mariadb") and not _have("mysql"):
        missing.append("mariadb-server")
    if not _have("rabbitmqctl"):
        missing.append("rabbitmq-server")
    if missing:
        apt_install(missing, layout)
    return missing


def stamp_value():
    digest = hashlib.sha256()
    with open(config.UPPER_CONSTRAINTS, "rb") as handle:
        digest.update(handle.read())
    digest.update("\n".join(config.SERVICE_PACKAGES).encode())
    for base, _dirs, files in sorted(os.walk(config.FAKE_MECH_DIR)):
        for name in sorted(files):
            if name.endswith((".py", ".toml")):
                with open(os.path.join(base, name), "rb") as handle:
                    digest.update(name.encode() + handle.read())
    digest.update(config.SERVICE_PYTHON.encode())
    return digest.hexdigest()


def venv_is_current(layout):
    stamp = os.path.join(layout.venv, ".cmdb-realcloud.sha256")
    try:
        with open(stamp) as handle:
            return handle.read().strip() == stamp_value() and os.path.exists(layout.bin("python"))
    except OSError:
        return False


def ensure_venv(layout):
    """Creates or refreshes the services' venv. Returns True when it (re)installed."""
    if venv_is_current(layout):
        return False
    log = layout.log("pip")
    python = shutil.which(config.SERVICE_PYTHON)
    if not python:
        raise HarnessError(
            "create venv", "python", None, "%s not found (set CMDB_REALCLOUD_PYTHON)" % config.SERVICE_PYTHON
        )
    say("installing the services (pinned to the 2026.1 upper-constraints) into %s; log %s" % (layout.venv, log))
    if not os.path.exists(layout.bin("python")):
        run([python, "-m", "venv", layout.venv], "create venv", "python", log)
    pip = [layout.bin("python"), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "-q", "--upgrade", "pip"], "pip upgrade", "pip", log)
    # An existing venv is updated in place: pip moves every package to the pinned versions.
    run(
        [*pip, "install", "-q", "-c", config.UPPER_CONSTRAINTS, *config.SERVICE_PACKAGES],
        "pip install",
        "openstack services",
        log,
        timeout=1800,
    )
    # Built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    with tempfile.TemporaryDirectory(prefix="cmdb-rc-mech-") as tmp:
        source = os.path.join(tmp, "neutron_fake_mech")
        shutil.copytree(config.FAKE_MECH_DIR, source, ignore=shutil.ignore_patterns("*.egg-info", "build"))
        run(
            [*pip, "install", "-q", "--no-deps", "--force-reinstall", source],
            "pip install",
            "neutron mechanism driver",
            log,
        )
    with open(os.path.join(layout.venv, ".cmdb-realcloud.sha256"), "w") as handle:
        handle.write(stamp_value())
    return True


def package_dir(layout, package):
    """Directory of an installed package in the services' venv (to find shipped etc/ files)."""
    out = subprocess.run(
        [layout.bin("python"), "-c", "import %s, os; print(os.path.dirname(%s.__file__))" % (package, package)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise HarnessError("locate package", package, layout.log("pip"), out.stderr.strip()[-500:])
    return out.stdout.strip()
