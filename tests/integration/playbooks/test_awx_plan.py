"""playbooks/awx.yml: the AWX plan from the accounts registered in the CMDB (dry run, no AWX server),
the example files agree with the code, and the pre-flight checks fail clearly before any AWX call."""

from __future__ import annotations

import json
import os

import yaml
from support.paths import COLLECTION_ROOT

from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings, awx_planner, catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts, queries
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader, open_store

VARS = os.path.join(COLLECTION_ROOT, "playbooks", "vars")
PROJECT = {"scm_url": "https://git.example.com/ops.git", "scm_branch": "main"}


def _load(name):
    with open(os.path.join(VARS, name)) as fh:
        return yaml.safe_load(fh)


def _register_examples(url):
    """Register the accounts of accounts.example.yml as cloud_account does (the CMDB is the plan's source)."""
    store = open_store(url)
    try:
        for entry in _load("accounts.example.yml")["cmdb_accounts"]:
            connection = account_settings.build_connection(
                cloud=entry.get("cloud"),
                auth=entry.get("auth"),
                auth_type=entry.get("auth_type"),
                account=entry["name"],
            )
            accounts.ensure_account(
                store,
                entry["name"],
                connection=connection,
                regions=entry.get("regions"),
                resources=entry.get("resources"),
                paused=entry.get("paused"),
                pause_after_auth_failures=entry.get("pause_after_auth_failures"),
            )
    finally:
        store.close()


def test_the_example_files_parse_plan_and_give_every_credential_its_secret():
    examples = _load("accounts.example.yml")["cmdb_accounts"]
    secrets = _load("secrets.example.yml")["cmdb_account_secrets"]
    with_clouds_yaml = [name for name, entry in secrets.items() if "clouds_yaml" in entry]
    plan = awx_planner.build_plan(examples, project=PROJECT, clouds_yaml_accounts=with_clouds_yaml)
    planned = {c["account"]: c for c in plan["credentials"] if c["account"]}
    # Every account with auth settings has its secret in the example; a clouds.yaml account needs none.
    for entry in examples:
        if entry.get("cloud"):
            assert entry["name"] not in secrets and entry["name"] not in planned
            assert any("account %s names the clouds.yaml cloud" % entry["name"] in w for w in plan["warnings"])
        else:
            inputs = awx_planner.credential_inputs(planned[entry["name"]], secrets[entry["name"]])
            assert "CHANGE-ME" in inputs["clouds_yaml"]
    assert set(secrets) <= {entry["name"] for entry in examples}


def test_dry_run_plans_from_the_cmdb(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    _register_examples(url)
    plan_file = tmp_path / "plan.json"
    result = ansible.playbook(
        "playbooks/awx.yml",
        "-e",
        "@" + os.path.join(VARS, "secrets.example.yml"),
        extra_vars={
            "awx_dry_run": True,
            "awx_plan_file": str(plan_file),
            "awx_project": PROJECT,
            "awx_job_slice_count": 3,
            "awx_cmdb_url": url,
        },
    )
    assert result.rc == 0, result.output
    assert "DEPRECATION" not in result.output
    plan = json.loads(plan_file.read_text())
    store = open_reader(url)
    try:
        registered = queries.find_accounts(store)
    finally:
        store.close()
    expected = awx_planner.build_plan(registered, project=PROJECT, job_slice_count=3, clouds_yaml_accounts=[])
    assert plan == json.loads(json.dumps(expected))

    by_key = {(s["account"], s["type"]): s for s in plan["schedules"]}
    assert len(by_key) == 3 * len(catalog.RESOURCE_TYPES)
    prod_servers = by_key["prod", "servers"]
    assert prod_servers["rrule"].endswith(" RRULE:FREQ=MINUTELY;INTERVAL=5")
    assert prod_servers["rrule"].startswith("DTSTART:20260101T00")
    assert prod_servers["enabled"] is True
    assert prod_servers["extra_data"] == {"accounts": "prod", "types": "servers"}
    assert prod_servers["credentials"] == []  # a clouds.yaml account: no AWX credential, no error
    assert by_key["prod", "images"]["rrule"].endswith("FREQ=WEEKLY;INTERVAL=1")
    assert by_key["prod", "load_balancers"]["enabled"] is False  # disabled type
    assert by_key["prod", "volumes"]["rrule"].endswith("FREQ=HOURLY;INTERVAL=6")  # catalog default
    assert by_key["dev", "servers"]["rrule"].endswith("FREQ=MINUTELY;INTERVAL=15")
    assert by_key["dev", "servers"]["credentials"] == ["cmdb.openstack account dev"]
    assert not any(s["enabled"] for (account, _t), s in by_key.items() if account == "lab")  # paused
    assert plan["inventory_source"]["source_path"] == "playbooks/inventory/openstack_clouds.yml"
    assert plan["job_templates"][0]["job_slice_count"] == 3
    assert {c["name"] for c in plan["credentials"]} == {
        "cmdb.openstack account dev",
        "cmdb.openstack account lab",
        "cmdb.openstack CMDB",
    }
    assert any("account prod names the clouds.yaml cloud" in w for w in plan["warnings"])
    # the schedules are printed, and no secret reaches the output or the plan
    assert "cmdb.openstack sync prod servers | DTSTART:" in result.stdout
    for secret in ("CHANGE-ME-dev-password", "CHANGE-ME-lab-application-credential-secret"):
        assert secret not in result.output
        assert secret not in plan_file.read_text()


def test_a_bad_interval_in_the_deprecated_list_fails_with_a_clear_message(ansible, tmp_path):
    result = ansible.playbook(
        "playbooks/awx.yml",
        extra_vars={
            "awx_dry_run": True,
            "cmdb_accounts": [{"name": "a", "cloud": "a", "resources": {"servers": {"interval": "5 parsecs"}}}],
        },
    )
    assert result.rc != 0
    assert "DEPRECATION" in result.output
    assert "accounts[a].resources.servers.interval" in result.output
    assert "Traceback" not in result.output


def test_preflight_checks_fail_clearly_before_any_awx_call(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    _register_examples(url)
    clean = {"CONTROLLER_HOST": "", "TOWER_HOST": "", "CONTROLLER_OAUTH_TOKEN": "", "CONTROLLER_USERNAME": ""}
    base = {"awx_cmdb_url": url, "awx_project": PROJECT}
    cases = [
        ({}, "no AWX controller host"),
        ({"awx_controller_host": "awx.example.com"}, "is not a URL with a"),
        ({"awx_controller_host": "https://127.0.0.1:9"}, "no AWX credentials"),
        ({"awx_controller_host": "http://127.0.0.1:9", "awx_controller_oauthtoken": "t0ken"}, "does not answer"),
    ]
    for extra, message in cases:
        result = ansible.playbook("playbooks/awx.yml", extra_vars=dict(base, **extra), env=clean)
        assert result.rc != 0, extra
        assert message in result.output, (extra, result.output[-3000:])
        assert "awx.awx" not in result.output.split("TASK [")[-1]  # failed in a check, not in an AWX module
        assert "t0ken" not in result.output

    # scm_url and the CMDB are checked in a dry run too (no AWX needed for these).
    bad_scm = ansible.playbook(
        "playbooks/awx.yml",
        extra_vars={"awx_dry_run": True, "awx_cmdb_url": url, "awx_project": {"scm_url": "not a url"}},
    )
    assert bad_scm.rc != 0 and "is not a repository URL" in bad_scm.output
    missing = tmp_path / "missing" / "cmdb.sqlite"
    no_cmdb = ansible.playbook(
        "playbooks/awx.yml",
        extra_vars={"awx_dry_run": True, "awx_cmdb_url": "sqlite:///%s" % missing, "awx_project": PROJECT},
    )
    assert no_cmdb.rc != 0 and str(missing) in no_cmdb.output and "does not exist" in no_cmdb.output
    assert not missing.parent.exists()
    empty = "sqlite:///%s" % (tmp_path / "empty.sqlite")
    open_store(empty).close()
    no_accounts = ansible.playbook(
        "playbooks/awx.yml", extra_vars={"awx_dry_run": True, "awx_cmdb_url": empty, "awx_project": PROJECT}
    )
    assert no_accounts.rc != 0 and "holds no registered account" in no_accounts.output
