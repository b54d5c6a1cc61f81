"""The cmdb.openstack.clouds inventory through real ansible-inventory / ansible-playbook runs."""

from __future__ import annotations

import json

from accounts_support import MARKER, dump_cmdb
from support.ansible import plain

from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

INJECTION = "{{ lookup('pipe', 'echo PWNED') }}"


def _fill(url):
    store = open_store(url)
    try:
        auth = {
            "auth_url": "http://127.0.0.1:5000/v3",
            "username": "reader",
            "password": MARKER,
            "project_name": "ops",
        }
        accounts.ensure_account(
            store,
            "prod",
            connection=account_settings.build_connection(auth=auth),
            regions=["RegionOne", "RegionTwo"],
            resources={"servers": {"interval": "10m"}, "load_balancers": {"enabled": False}},
        )
        accounts.ensure_account(store, "staging", connection=account_settings.build_connection(cloud="staging"))
        accounts.ensure_account(
            store, "edge", connection=account_settings.build_connection(cloud="edge"), regions=["Edge1"]
        )
        accounts.ensure_account(
            store, "lab", connection=account_settings.build_connection(cloud="lab"), pause_after_auth_failures=1
        )
        accounts.record_auth_result(store, "lab", False, "HTTP 401 " + INJECTION)
        accounts.ensure_account(store, "old", connection=account_settings.build_connection(cloud="old"))
        accounts.unregister_account(store, "old")
    finally:
        store.close()


def _config(tmp_path, url, **extra):
    path = tmp_path / "openstack_clouds.yml"
    lines = ["plugin: cmdb.openstack.clouds", "cmdb_url: %s" % url]
    for key, value in extra.items():
        lines.append("%s: %s" % (key, json.dumps(value)))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_host_per_account_and_region_without_secrets(ansible, tmp_path, cmdb_url):
    _fill(cmdb_url)
    config = _config(
        tmp_path, cmdb_url, keyed_groups=[{"key": "cmdb_region", "prefix": "region", "default_value": "all"}]
    )
    listing = ansible.inventory(config)
    assert listing.rc == 0, listing.output
    inv = listing.result
    assert sorted(inv["openstack_clouds"]["hosts"]) == ["edge", "prod_RegionOne", "prod_RegionTwo", "staging"]
    assert inv["paused_clouds"]["hosts"] == ["lab"]
    raw_hostvars = inv["_meta"]["hostvars"]
    # Data from the CMDB is never trusted for templating (the last auth error came from a cloud).
    assert raw_hostvars["lab"]["cmdb_last_auth_error"] == {"__ansible_unsafe": "HTTP 401 " + INJECTION}
    hostvars = plain(raw_hostvars)
    assert "old" not in hostvars  # unregistered
    prod = hostvars["prod_RegionTwo"]
    assert prod["cmdb_account"] == "prod" and prod["cmdb_region"] == "RegionTwo"
    assert prod["cmdb_regions"] == ["RegionOne", "RegionTwo"]
    assert prod["cmdb_resources"]["servers"] == {"enabled": True, "interval": 600, "interval_text": "10m"}
    assert prod["cmdb_resources"]["load_balancers"]["enabled"] is False
    assert prod["cmdb_connection"]["auth"]["username"] == "reader"
    assert prod["ansible_connection"] == "local"
    assert "ansible_python_interpreter" not in prod
    assert hostvars["edge"]["cmdb_region"] == "Edge1"
    assert hostvars["staging"]["cmdb_region"] == "" and hostvars["staging"]["cmdb_regions"] == []
    assert hostvars["lab"]["cmdb_paused"] is True and hostvars["lab"]["cmdb_auth_failures"] == 1
    assert sorted(inv["region_RegionOne"]["hosts"]) == ["prod_RegionOne"]
    assert "staging" in inv["region_all"]["hosts"]
    assert MARKER not in listing.output
    assert MARKER not in dump_cmdb(cmdb_url)


def test_a_playbook_runs_on_the_groups_and_never_templates_cmdb_data(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    _fill(url)
    config = _config(tmp_path, url, only_clouds=["prod", "lab"])
    out = tmp_path / "seen.json"
    playbook = (
        """
- hosts: openstack_clouds:paused_clouds
  gather_facts: false
  tasks:
    - name: Collect what each host carries
      ansible.builtin.set_fact:
        seen: "{{ {'account': cmdb_account, 'region': cmdb_region, 'error': cmdb_last_auth_error} }}"
    - name: Print the last auth error
      ansible.builtin.debug:
        msg: "{{ cmdb_last_auth_error }}"
      when: cmdb_paused
    - name: Save
      ansible.builtin.copy:
        content: "{{ ansible_play_hosts | map('extract', hostvars, 'seen') | list | to_json }}"
        dest: %s
      run_once: true
"""
        % out
    )
    result = ansible.playbook(playbook, inventory=config)
    assert result.rc == 0, result.output[-4000:]
    seen = sorted(json.loads(out.read_text()), key=lambda item: (item["account"], item["region"]))
    assert [(item["account"], item["region"]) for item in seen] == [
        ("lab", ""),
        ("prod", "RegionOne"),
        ("prod", "RegionTwo"),
    ]
    assert seen[0]["error"] == "HTTP 401 " + INJECTION  # literal, never executed
    assert "PWNED" not in result.output.replace(INJECTION, "")
    assert MARKER not in result.output

    # Without paused accounts; and a CMDB that does not exist is one clear error.
    quiet = ansible.inventory(_config(tmp_path, url, include_paused=False))
    assert quiet.rc == 0 and "lab" not in quiet.result["_meta"]["hostvars"]
    assert "prod_RegionOne" in quiet.result["_meta"]["hostvars"]
    missing = ansible.inventory(_config(tmp_path, "sqlite:///%s" % (tmp_path / "nope.sqlite")))
    assert "there is no CMDB at" in missing.output
    assert not (tmp_path / "nope.sqlite").exists()
    assert "Traceback" not in missing.output


def test_missing_cmdb_is_an_error_naming_the_url_and_creates_nothing(ansible, tmp_path):
    absent = tmp_path / "nowhere" / "cmdb.sqlite"
    url = "sqlite:///%s" % absent
    config = _config(tmp_path, url)
    done = ansible.inventory(config, env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"})
    assert done.rc != 0
    assert "cmdb.openstack.clouds" in done.stderr and "no CMDB at %s" % url in done.stderr
    assert "Traceback" not in done.output
    assert not absent.exists() and not absent.parent.exists()


def test_unknown_account_in_only_clouds_is_an_error(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    _fill(url)
    config = _config(tmp_path, url, only_clouds=["prod", "nope", "old"])
    done = ansible.inventory(config, env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"})
    assert done.rc != 0
    # "old" is unregistered: not a known account either
    assert "only_clouds: unknown accounts 'nope', 'old'; the known accounts are: edge, lab, prod, staging" in (
        done.stderr
    )


def test_project_scope_defaults(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    _fill(url)
    done = ansible.inventory(_config(tmp_path, url, only_clouds=["staging"]))
    assert done.rc == 0, done.output
    staging = plain(done.result["_meta"]["hostvars"])["staging"]
    assert staging["cmdb_all_projects"] is True and staging["cmdb_projects"] == []


def test_project_scope_of_registered_accounts(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - cmdb.openstack.cloud_account:
        cmdb_url: %s
        name: everything
        cloud: everything
        all_projects: true
    - cmdb.openstack.cloud_account:
        cmdb_url: %s
        name: some
        cloud: some
        projects: [p1, p2]
""" % (url, url)
    registered = ansible.playbook(playbook)
    assert registered.rc == 0, registered.output[-3000:]
    done = ansible.inventory(_config(tmp_path, url))
    assert done.rc == 0, done.output
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert hostvars["everything"]["cmdb_all_projects"] is True
    assert hostvars["some"]["cmdb_all_projects"] is False and hostvars["some"]["cmdb_projects"] == ["p1", "p2"]


def test_pipe_lookup_in_cmdb_data_never_runs(ansible, tmp_path):
    touched = tmp_path / "touched"
    hostile = "{{ lookup('pipe','touch %s') }}" % touched
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    store = open_store(url)
    try:
        accounts.ensure_account(store, "lab", connection=account_settings.build_connection(cloud="lab"))
        accounts.record_auth_result(store, "lab", False, hostile)
    finally:
        store.close()
    config = _config(tmp_path, url, compose={"copy": "cmdb_last_auth_error"})
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    lab = plain(done.result["_meta"]["hostvars"])["lab"]
    assert lab["cmdb_last_auth_error"] == hostile and lab["copy"] == hostile
    ran = ansible.playbook(
        '- hosts: lab\n  gather_facts: false\n  tasks:\n    - debug: {msg: "ERR={{ cmdb_last_auth_error }}"}\n',
        inventory=config,
    )
    assert ran.rc == 0, ran.output
    assert "ERR=" + hostile in ran.stdout
    assert not touched.exists()
