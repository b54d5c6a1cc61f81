"""Run real ansible-playbook / ansible-inventory processes against this checkout of the collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

from support.paths import COLLECTION_ROOT, COLLECTIONS_DIR


def plain(value):
    """ansible-inventory --list writes untrusted strings as {"__ansible_unsafe": text}: unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@dataclass
class Completed:
    rc: int
    stdout: str
    stderr: str
    result: dict = field(default_factory=dict)

    @property
    def output(self):
        return self.stdout + self.stderr


class AnsibleRunner:
    """One per test: keeps its files (playbooks, results, local temp) under the test's tmp_path."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.bin_dir = os.path.dirname(sys.executable)
        self._count = 0

    def env(self, extra=None):
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR,
            ANSIBLE_LOCAL_TEMP=str(self.tmp_path / "ansible-tmp"),
            ANSIBLE_REMOTE_TEMP=str(self.tmp_path / "ansible-remote-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_HOST_KEY_CHECKING="0",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            PATH=self.bin_dir + os.pathsep + env.get("PATH", ""),
        )
        env.pop("OS_CLOUD", None)
        if extra:
            env.update(extra)
        return env

    def _next(self, stem):
        self._count += 1
        return self.tmp_path / ("%s-%d" % (stem, self._count))

    def playbook(self, playbook, *args, extra_vars=None, env=None, inventory=None, timeout=900, cwd=None):
        """Run ``ansible-playbook``; ``playbook`` is a path or the playbook's YAML text."""
        if "\n" in str(playbook):
            path = self._next("playbook").with_suffix(".yml")
            path.write_text(playbook)
            playbook = str(path)
        cmd = [os.path.join(self.bin_dir, "ansible-playbook"), str(playbook)]
        if inventory is not None:
            cmd += ["-i", str(inventory)]
        if extra_vars:
            vars_file = self._next("extra-vars").with_suffix(".json")
            vars_file.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@%s" % vars_file]
        cmd += list(args)
        proc = subprocess.run(
            cmd,
            env=self.env(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd=cwd or COLLECTION_ROOT,
        )
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    def module(self, name, module_args=None, check=False, diff=False, verbosity=0, env=None, timeout=600):
        """Run one module in a real playbook and return its registered result (``.result``)."""
        result_file = self._next("result").with_suffix(".json")
        fqcn = name if "." in name else "cmdb.openstack." + name
        task = {
            "name": "Run " + fqcn,
            fqcn: module_args or {},
            "register": "module_result",
            "ignore_errors": True,
            "check_mode": bool(check),
            "diff": bool(diff),
        }
        save = {
            "name": "Save the result",
            "ansible.builtin.copy": {"content": "{{ module_result | to_json }}", "dest": str(result_file)},
            "check_mode": False,
        }
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task, save]}]
        args = ["-" + "v" * verbosity] if verbosity else []
        completed = self.playbook(json.dumps(play, indent=2) + "\n", *args, env=env, timeout=timeout)
        if result_file.exists():
            completed.result = json.loads(result_file.read_text())
        return completed

    def modules(self, tasks, env=None, verbosity=0, check=False):
        """Run ``tasks`` = [(key, module, args[, task keys]), ...] in one playbook: (completed, {key: result})."""
        self._count += 1
        results_file = self.tmp_path / ("results-%d.json" % self._count)
        play_tasks = []
        for entry in tasks:
            key, module, args = entry[:3]
            fqcn = module if "." in module else "cmdb.openstack." + module
            task = {
                "name": "%s %s" % (key, fqcn),
                fqcn: args,
                "register": "r_" + key,
                "ignore_errors": True,
                "check_mode": check,
            }
            if len(entry) > 3:
                task.update(entry[3])
            play_tasks.append(task)
        content = "{{ {%s} | to_json }}" % ", ".join("'%s': r_%s" % (entry[0], entry[0]) for entry in tasks)
        play_tasks.append(
            {
                "name": "Save the results",
                "ansible.builtin.copy": {"content": content, "dest": str(results_file)},
                "check_mode": False,
            }
        )
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": play_tasks}]
        args = ["-" + "v" * verbosity] if verbosity else []
        completed = self.playbook(json.dumps(play, indent=2) + "\n", *args, env=env)
        results = json.loads(results_file.read_text()) if results_file.exists() else {}
        return completed, results

    def inventory(self, inventory_file, *args, env=None, timeout=600):
        """Run ``ansible-inventory -i FILE --list`` and parse its JSON (``.result``)."""
        cmd = [os.path.join(self.bin_dir, "ansible-inventory"), "-i", str(inventory_file), "--list"] + list(args)
        proc = subprocess.run(cmd, env=self.env(env), capture_output=True, text=True, timeout=timeout, check=False)
        completed = Completed(proc.returncode, proc.stdout, proc.stderr)
        if proc.returncode == 0 and proc.stdout.strip():
            completed.result = json.loads(proc.stdout)
        return completed
