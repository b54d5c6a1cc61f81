"""Helpers for the info module tests: several modules in one real ansible-playbook run."""

from __future__ import annotations

import json

import pytest


def run_modules(ansible, tasks, env=None, verbosity=0, check=False):
    """Run ``tasks`` = [(key, module, args[, task keys]), ...] in ONE playbook; return (completed, {key: result})."""
    results_file = ansible.tmp_path / ("results-%d.json" % id(tasks))
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
    completed = ansible.playbook(json.dumps(play, indent=2) + "\n", *args, env=env)
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    return completed, results


@pytest.fixture
def modules_runner(ansible):
    def run(tasks, **kwargs):
        return run_modules(ansible, tasks, **kwargs)

    return run
