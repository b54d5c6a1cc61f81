"""playbooks/awx.yml in dry-run mode: the AWX objects and RRULEs the role would create, without an AWX server."""

from __future__ import annotations

import json
import os

import yaml
from support.paths import COLLECTION_ROOT

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, schedules

VARS = os.path.join(COLLECTION_ROOT, "playbooks", "vars")


def _load(name):
    with open(os.path.join(VARS, name)) as fh:
        return yaml.safe_load(fh)


def test_dry_run_renders_the_planned_objects(ansible, tmp_path):
    plan_file = tmp_path / "plan.json"
    result = ansible.playbook(
        "playbooks/awx.yml",
        "-e",
        "@" + os.path.join(VARS, "accounts.example.yml"),
        "-e",
        "@" + os.path.join(VARS, "secrets.example.yml"),
        extra_vars={
            "awx_dry_run": True,
            "awx_plan_file": str(plan_file),
            "awx_project": {"scm_url": "https://git.example.com/ops.git", "scm_branch": "main"},
            "awx_job_slice_count": 3,
        },
    )
    assert result.rc == 0, result.output
    plan = json.loads(plan_file.read_text())
    accounts = _load("accounts.example.yml")["cmdb_accounts"]
    expected = schedules.build_plan(
        accounts,
        project={"scm_url": "https://git.example.com/ops.git", "scm_branch": "main"},
        job_slice_count=3,
    )
    assert plan == json.loads(json.dumps(expected))

    by_key = {(s["account"], s["type"]): s for s in plan["schedules"]}
    assert len(by_key) == 3 * len(catalog.RESOURCE_TYPES)
    prod_servers = by_key["prod", "servers"]
    assert prod_servers["rrule"].endswith(" RRULE:FREQ=MINUTELY;INTERVAL=5")
    assert prod_servers["rrule"].startswith("DTSTART:20260101T00")
    assert prod_servers["enabled"] is True
    assert prod_servers["extra_data"] == {"clouds": "prod", "types": "servers"}
    assert by_key["prod", "images"]["rrule"].endswith("FREQ=WEEKLY;INTERVAL=1")
    assert by_key["prod", "load_balancers"]["enabled"] is False  # disabled type
    assert by_key["prod", "volumes"]["rrule"].endswith("FREQ=HOURLY;INTERVAL=6")  # catalog default
    assert by_key["dev", "servers"]["rrule"].endswith("FREQ=MINUTELY;INTERVAL=15")
    assert not any(s["enabled"] for (account, _t), s in by_key.items() if account == "lab")  # paused
    assert plan["inventory_source"]["source_path"] == "playbooks/inventory/openstack_clouds.yml"
    assert plan["job_templates"][0]["job_slice_count"] == 3
    assert {c["name"] for c in plan["credentials"]} == {
        "cmdb.openstack account prod",
        "cmdb.openstack account dev",
        "cmdb.openstack account lab",
        "cmdb.openstack CMDB",
    }
    # the schedules are printed, and no secret reaches the output or the plan
    assert "cmdb.openstack sync prod servers | DTSTART:" in result.stdout
    for secret in ("CHANGE-ME-dev-password", "CHANGE-ME-lab-application-credential-secret"):
        assert secret not in result.output
        assert secret not in plan_file.read_text()


def test_a_bad_interval_fails_with_a_clear_message(ansible, tmp_path):
    result = ansible.playbook(
        "playbooks/awx.yml",
        extra_vars={
            "awx_dry_run": True,
            "cmdb_accounts": [{"name": "a", "cloud": "a", "resources": {"servers": {"interval": "5 parsecs"}}}],
        },
    )
    assert result.rc != 0
    assert "accounts[a].resources.servers.interval" in result.output
    assert "Traceback" not in result.output
