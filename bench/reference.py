"""openstack.cloud 2.6.0, run the way its users run it, against the same simulator clouds.

``bench/setup_reference.sh`` builds the environment (a Python >= 3.12 venv with ansible-core 2.21 and
openstacksdk, and a collections path holding only ``openstack/cloud``). This module writes the
playbooks and inventory files and returns the commands; ``run.py`` measures them.
"""

from __future__ import annotations

import json
import os
import subprocess

from collection_path import CACHE, COLLECTIONS, ROOT

REF_VENV = os.path.join(CACHE, "ref-venv")
REF_COLLECTIONS = os.path.join(CACHE, "collections")
REF_PYTHON = os.path.join(REF_VENV, "bin", "python")

# per compared type: module name, openstack.cloud's arguments, ours (every project, full details)
INFO_MODULES = {
    "servers": ("server_info", {"all_projects": True}, {"all_projects": True}),
    "ports": ("port_info", {}, {}),
    "volumes": ("volume_info", {"all_projects": True, "details": True}, {"all_projects": True}),
}


def setup(log=print):
    """Run setup_reference.sh (cached); returns the reference python or None with the reason."""
    script = os.path.join(ROOT, "bench", "setup_reference.sh")
    proc = subprocess.run(["bash", script], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["setup_reference.sh failed"]
    return proc.stdout.strip().splitlines()[-1], None


def oc_version():
    try:
        with open(os.path.join(REF_COLLECTIONS, "ansible_collections", "openstack", "cloud", "MANIFEST.json")) as fh:
            return json.load(fh)["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def ref_versions():
    """ansible-core and openstacksdk versions of the reference venv."""
    code = "import ansible.release, openstack.version as v; print(ansible.release.__version__, v.__version__)"
    try:
        proc = subprocess.run([REF_PYTHON, "-c", code], capture_output=True, text=True, check=True)
        core, sdk = proc.stdout.split()
        return {"ansible-core": core, "openstacksdk": sdk}
    except (OSError, subprocess.CalledProcessError, ValueError):
        return {}


def ansible_env(base_env, clouds_yaml, tmpdir, reference):
    """Environment for ansible-playbook / ansible-inventory of one side (reference or ours)."""
    env = dict(base_env)
    bin_dir = os.path.join(REF_VENV, "bin") if reference else os.path.dirname(os.path.realpath(_our_python()))
    env.update(
        ANSIBLE_COLLECTIONS_PATH=REF_COLLECTIONS if reference else COLLECTIONS,
        ANSIBLE_PYTHON_INTERPRETER=REF_PYTHON if reference else _our_python(),
        ANSIBLE_LOCAL_TEMP=os.path.join(tmpdir, "ansible-local"),
        ANSIBLE_REMOTE_TEMP=os.path.join(tmpdir, "ansible-remote"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_HOME=os.path.join(tmpdir, "ansible-home-" + ("ref" if reference else "ours")),
        OS_CLIENT_CONFIG_FILE=clouds_yaml,
        PATH=bin_dir + os.pathsep + base_env.get("PATH", ""),
    )
    env.pop("OS_CLOUD", None)
    env.pop("ANSIBLE_CONFIG", None)
    return env


def _our_python():
    import sys

    return sys.executable


def bin_path(tool, reference):
    if reference:
        return os.path.join(REF_VENV, "bin", tool)
    import sys

    return os.path.join(os.path.dirname(sys.executable), tool)


def write_info_playbook(path, fqcn, cloud, args):
    """One play, one info task on localhost; the result is registered, as users do, not printed."""
    task = {"name": "List with " + fqcn, fqcn: dict(cloud=cloud, **args), "register": "listing"}
    count = {
        "name": "Count",
        "ansible.builtin.debug": {
            "msg": "{{ listing | dict2items | map(attribute='value') | select('sequence') "
            "| reject('string') | map('length') | list }}"
        },
    }
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task, count]}]
    with open(path, "w") as fh:
        json.dump(play, fh, indent=1)
    return path


def write_noop_playbook(path):
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"ansible.builtin.meta": "noop"}]}]
    with open(path, "w") as fh:
        json.dump(play, fh)
    return path


def write_oc_inventory(path, cloud_names):
    """openstack.cloud.openstack inventory config (the file name must end with openstack.yml)."""
    lines = [
        "plugin: openstack.cloud.openstack",
        "all_projects: true",
        "expand_hostvars: false",
        "fail_on_errors: true",
        "only_clouds:",
    ] + ["  - %s" % name for name in cloud_names]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path
