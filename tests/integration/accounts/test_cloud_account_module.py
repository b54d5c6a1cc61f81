"""cloud_account through real ansible-playbook runs: idempotent, check mode, diff mode, clear errors, no secret."""

from __future__ import annotations

import sqlalchemy as sa
from accounts_support import MARKER, dump_cmdb

LIFECYCLE = r"""
- name: cloud_account lifecycle
  hosts: localhost
  gather_facts: false
  vars:
    acct_auth:
      auth_url: http://127.0.0.1:5000/v3
      username: cmdb-reader
      password: "{{ marker }}"
      project_name: ops
      user_domain_name: Default
      project_domain_name: Default
  module_defaults:
    cmdb.openstack.cloud_account:
      cmdb_url: "{{ url }}"
  tasks:
    - name: Register in check mode
      cmdb.openstack.cloud_account:
        name: prod
        auth: "{{ acct_auth }}"
        regions: [RegionOne]
      check_mode: true
      register: check1
    - name: Register in check mode again (nothing was written, so still a change)
      cmdb.openstack.cloud_account:
        name: prod
        auth: "{{ acct_auth }}"
        regions: [RegionOne]
      check_mode: true
      register: check2
    - name: Register
      cmdb.openstack.cloud_account:
        name: prod
        auth: "{{ acct_auth }}"
        regions: [RegionOne]
      register: reg1
    - name: Register again
      cmdb.openstack.cloud_account:
        name: prod
        auth: "{{ acct_auth }}"
        regions: [RegionOne]
      register: reg2
    - name: Check the registration
      ansible.builtin.assert:
        that:
          - check1 is changed and check2 is changed
          - check1.account.resources.servers.interval == 300
          - reg1 is changed and reg1.msg == "cloud account 'prod' registered"
          - reg2 is not changed
          - reg1.account.connection.auth.username == 'cmdb-reader'
          - "'password' not in reg1.account.connection.auth"
          - reg1.account.resources.servers.interval_text == '5m'
          - reg1.account.resources.volumes.interval_text == '6h'
          - reg1.account.resources.images.interval_text == '2w'
    - name: Update an interval and a switch, with a diff
      cmdb.openstack.cloud_account:
        name: prod
        resources:
          servers: {interval: 1h30m}
          load_balancers: {enabled: false}
      diff: true
      register: upd1
    - name: Same update again
      cmdb.openstack.cloud_account:
        name: prod
        resources:
          servers: {interval: 5400}
          load_balancers: {enabled: false}
      diff: true
      register: upd2
    - name: An update in check mode
      cmdb.openstack.cloud_account:
        name: prod
        regions: [RegionOne, RegionTwo]
      check_mode: true
      diff: true
      register: upd3
    - name: The same update for real (check mode wrote nothing)
      cmdb.openstack.cloud_account:
        name: prod
        regions: [RegionOne, RegionTwo]
      register: upd4
    - name: Check the updates
      ansible.builtin.assert:
        that:
          - upd1 is changed
          - upd1.diff.before.resources.servers.interval == 300
          - upd1.diff.after.resources.servers.interval == 5400
          - upd1.diff.before.resources.load_balancers.enabled
          - not upd1.diff.after.resources.load_balancers.enabled
          - upd1.account.regions == ['RegionOne']
          - upd2 is not changed
          - upd3 is changed and upd3.diff.after.regions == ['RegionOne', 'RegionTwo']
          - upd3.diff.before.regions == ['RegionOne']
          - upd4 is changed and upd4.account.regions == ['RegionOne', 'RegionTwo']
    - name: Unknown resource type and a bad interval
      cmdb.openstack.cloud_account:
        name: prod
        resources:
          vms: {enabled: true}
          servers: {interval: 5 minutes}
      register: bad1
      ignore_errors: true
    - name: A missing auth field
      cmdb.openstack.cloud_account:
        name: other
        auth:
          auth_url: http://127.0.0.1:5000/v3
          password: "{{ marker }}"
      register: bad2
      ignore_errors: true
    - name: Neither cloud nor auth for a new account
      cmdb.openstack.cloud_account:
        name: third
      register: bad3
      ignore_errors: true
    - name: Check the errors
      ansible.builtin.assert:
        that:
          - bad1 is failed and bad2 is failed and bad3 is failed
          - "'unknown resource type(s) vms' in bad1.msg"
          - "'floating_ips' in bad1.msg and 'load_balancers' in bad1.msg"
          - "\"resources.servers.interval: invalid interval '5 minutes'\" in bad1.msg"
          - "'1h30m' in bad1.msg"
          - "'auth.username or auth.user_id' in bad2.msg"
          - "'auth.project_name or auth.project_id' in bad2.msg"
          - "'Traceback' not in bad1.msg ~ bad2.msg ~ bad3.msg"
          - "'not registered' in bad3.msg"
    - name: Unregister in check mode
      cmdb.openstack.cloud_account:
        name: prod
        state: absent
      check_mode: true
      register: del0
    - name: Unregister
      cmdb.openstack.cloud_account:
        name: prod
        state: absent
      diff: true
      register: del1
    - name: Unregister again
      cmdb.openstack.cloud_account:
        name: prod
        state: absent
      register: del2
    - name: Check the unregistration
      ansible.builtin.assert:
        that:
          - del0 is changed and del1 is changed and del2 is not changed
          - del1.diff.after == {}
          - del1.diff.before.name == 'prod'
          - not del1.account.registered
"""


def test_lifecycle_is_idempotent_with_check_and_diff_modes_and_no_secret(ansible, tmp_path):
    # SQLite only here: the unit tests run the same code on both databases (cmdb_url fixture).
    cmdb_url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    result = ansible.playbook(LIFECYCLE, "-vvvv", "--diff", extra_vars={"url": cmdb_url, "marker": MARKER})
    assert result.rc == 0, result.output[-6000:]
    assert "failed=0" in result.stdout and "ignored=3" in result.stdout, result.stdout[-2000:]
    assert MARKER not in result.output
    cmdb = dump_cmdb(cmdb_url)
    assert "cmdb-reader" in cmdb  # the dump does hold the account...
    assert MARKER not in cmdb  # ...and never its password
    engine = sa.create_engine(cmdb_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, deleted_at FROM clouds ORDER BY name")).fetchall()
    finally:
        engine.dispose()
    # Only prod was ever written (the failed and check-mode tasks wrote nothing); it is unregistered.
    assert [row[0] for row in rows] == ["prod"]
    assert rows[0][1] is not None


def test_cloud_name_and_application_credential_accounts(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    first = ansible.module(
        "cloud_account",
        {
            "name": "lab",
            "auth_type": "v3applicationcredential",
            "auth": {
                "auth_url": "http://127.0.0.1:5000/v3",
                "application_credential_id": "appcred-id-1",
                "application_credential_secret": MARKER,
            },
            "pause_after_auth_failures": 3,
            "cmdb_url": url,
        },
    )
    assert first.rc == 0, first.output[-4000:]
    account = first.result["account"]
    assert account["connection"] == {
        "auth_type": "v3applicationcredential",
        "auth": {"application_credential_id": "appcred-id-1", "auth_url": "http://127.0.0.1:5000/v3"},
    }
    assert account["pause_after_auth_failures"] == 3
    named = ansible.module("cloud_account", {"name": "prod", "cloud": "prod-yaml", "cmdb_url": url})
    assert named.rc == 0 and named.result["changed"] is True
    assert named.result["account"]["connection"] == {"cloud": "prod-yaml"}
    both = ansible.module(
        "cloud_account",
        {"name": "x", "cloud": "a", "auth": {"auth_url": "http://h", "password": MARKER}, "cmdb_url": url},
    )
    assert both.result.get("failed") is True
    assert "mutually exclusive" in both.result["msg"]
    assert MARKER not in first.output + named.output + both.output
    assert MARKER not in dump_cmdb(url)
