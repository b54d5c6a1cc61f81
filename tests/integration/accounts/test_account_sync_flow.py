"""A registered account end to end: cmdb_sync reads its settings, counts failed logins and pauses it."""

from __future__ import annotations

from accounts_support import MARKER, dump_cmdb

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

FLOW = r"""
- name: Account, sync, auth failures, pause, resume
  hosts: localhost
  gather_facts: false
  module_defaults:
    cmdb.openstack.cloud_account: {cmdb_url: "{{ url }}"}
    cmdb.openstack.cmdb_sync: {cmdb_url: "{{ url }}"}
  tasks:
    - name: Register with only servers and flavors enabled, paused after 2 failed logins
      cmdb.openstack.cloud_account:
        name: flow
        auth: "{{ creds }}"
        pause_after_auth_failures: 2
        resources: "{{ off | combine({'servers': {'interval': '10m'}}) }}"
    - name: A due sync with the right password
      cmdb.openstack.cmdb_sync:
        account: flow
        only_due: true
        auth: {password: "{{ marker }}"}
      register: first
    - name: Nothing is due right after
      cmdb.openstack.cmdb_sync:
        account: flow
        only_due: true
        auth: {password: "{{ marker }}"}
      register: second
    - name: Two syncs with a wrong password
      cmdb.openstack.cmdb_sync:
        account: flow
        types: [servers]
        auth: {password: wrong-password}
      register: wrong
      ignore_errors: true
      loop: [1, 2]
    - name: The account is paused now
      cmdb.openstack.cmdb_sync:
        account: flow
        types: [servers]
        auth: {password: "{{ marker }}"}
      register: paused
      ignore_errors: true
    - name: Check
      ansible.builtin.assert:
        that:
          - first is succeeded
          - first.types | sort == ['flavors', 'servers']
          - second.types == []
          - wrong.results | map(attribute='failed') | list == [true, true]
          - paused is skipped
          - paused is not failed
          - "'paused' in paused.msg"
"""


def test_sync_reads_the_account_counts_failures_and_pauses(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="flow", servers=3, projects=1)
    cloud.add_user("flow-user", password=MARKER, roles=("admin", "member", "reader"))
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    off = {name: {"enabled": False} for name in ("volumes", "load_balancers", "security_groups", "volume_snapshots")}
    off.update({name: {"enabled": False} for name in ("images", "networks", "subnets", "ports", "routers")})
    off["floating_ips"] = {"enabled": False}
    creds = {k: v for k, v in cloud.credentials(user="flow-user").items() if k != "password"}
    result = ansible.playbook(FLOW, "-v", extra_vars={"url": url, "creds": creds, "off": off, "marker": MARKER})
    assert result.rc == 0, result.output[-6000:]
    assert MARKER not in result.output
    assert MARKER not in dump_cmdb(url)
    store = open_store(url)
    try:
        account = accounts.get_account(store, "flow")
        assert account["paused"] is True and account["auth_failures"] == 2
        assert "401" in account["last_auth_error"]
        # Resuming clears the failures and the sync runs again.
        resumed = accounts.ensure_account(store, "flow", paused=False)
        assert resumed["changed"] and resumed["account"]["auth_failures"] == 0
        assert accounts.due_types(store, "flow", requested_types=["servers"]) == ["servers"]
    finally:
        store.close()
