"""Per-account project scope: cloud_account all_projects/projects, used by cmdb_sync against the simulator."""

from __future__ import annotations

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts, queries
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_reader

FLOW = r"""
- name: A scoped account, then an explicit option, then the scope again
  hosts: localhost
  gather_facts: false
  module_defaults:
    cmdb.openstack.cloud_account: {cmdb_url: "{{ url }}"}
    cmdb.openstack.cmdb_sync: {cmdb_url: "{{ url }}"}
    cmdb.openstack.cmdb_info: {cmdb_url: "{{ url }}"}
  tasks:
    - name: Both all_projects and projects is an error
      cmdb.openstack.cloud_account:
        name: scoped
        auth: "{{ creds }}"
        all_projects: true
        projects: ["{{ project_name }}"]
      register: both
      ignore_errors: true
    - name: Register an account limited to one project (by name)
      cmdb.openstack.cloud_account:
        name: scoped
        auth: "{{ creds }}"
        projects: ["{{ project_name }}"]
      register: registered
    - name: Sync the account (its scope)
      cmdb.openstack.cmdb_sync:
        account: scoped
        types: [servers]
        auth: {password: "{{ password }}"}
      register: first
    - name: What the scoped sync stored
      cmdb.openstack.cmdb_info:
        sections: [resources]
        types: [servers]
      register: first_info
    - name: An explicit all_projects wins over the account's scope
      cmdb.openstack.cmdb_sync:
        account: scoped
        types: [servers]
        all_projects: true
        auth: {password: "{{ password }}"}
      register: everything
    - name: The account's scope again
      cmdb.openstack.cmdb_sync:
        account: scoped
        types: [servers]
        auth: {password: "{{ password }}"}
      register: again
    - name: Check
      ansible.builtin.assert:
        that:
          - both is failed
          - "'not both' in both.msg"
          - registered.account.all_projects == false
          - registered.account.projects == [project_name]
          - first is succeeded and everything is succeeded and again is succeeded
          - first.scopes | map(attribute='project_id') | unique == [project_id]
          - first_info.resources | length > 0
          - first_info.resources | map(attribute='project_id') | unique == [project_id]
          - again.totals.deleted == 0
"""


def test_a_scoped_account_stores_only_its_projects_and_never_sweeps_the_others(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="scoped", regions=("RegionOne",), servers=12, projects=3)
    target = cloud.projects[1]
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    creds = {k: v for k, v in cloud.credentials(user="admin").items() if k != "password"}
    result = ansible.playbook(
        FLOW,
        "-v",
        extra_vars={
            "url": url,
            "creds": creds,
            "password": cloud.password("admin"),
            "project_name": target["name"],
            "project_id": target["id"],
        },
    )
    assert result.rc == 0, result.output[-6000:]

    store = open_reader(url)
    try:
        account = accounts.public_view(accounts.get_account(store, "scoped"))
        assert account["all_projects"] is False and account["projects"] == [target["name"]]
        servers = queries.find_resources(store, types=["servers"], include_deleted=True)
        runs = queries.find_sync_runs(store, cloud="scoped", limit=10)
    finally:
        store.close()
    projects = {row["project_id"] for row in servers}
    assert len(projects) > 1  # the explicit all_projects run stored every project
    assert all(row["deleted_at"] is None for row in servers), "a scoped sweep tombstoned another project's item"
    # The runs of the account's scope listed only its project; the explicit run every project.
    scoped_runs = [run for run in runs if run["project_id"] == target["id"]]
    assert len(scoped_runs) == 2, runs
    assert [run for run in runs if run["project_id"] is None], runs
