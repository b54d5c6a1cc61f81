"""cloud_permissions_info against the simulator over HTTP, through real ansible-playbook runs."""

from __future__ import annotations

from accounts_support import MARKER, dump_cmdb

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, connection, credentials
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

SMALL = {"servers": 2, "projects": 1}


def _rows(result):
    return {(row["region"], row["type"]): row for row in result["permissions"]}


def test_nolb_user_and_a_cloud_without_load_balancers(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="perm", regions=("RegionOne", "RegionTwo"), **SMALL)
    clouds_yaml = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(
        str(clouds_yaml),
        {"perm-nolb": cloud.clouds_yaml_entry(user="nolb"), "perm-admin": cloud.clouds_yaml_entry(user="admin")},
    )
    env = {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)}

    nolb = ansible.module("cloud_permissions_info", {"cloud": "perm-nolb", "all_projects": False}, env=env)
    assert nolb.rc == 0, nolb.output[-4000:]
    rows = _rows(nolb.result)
    assert len(rows) == 2 * len(catalog.RESOURCE_TYPE_NAMES)
    for region in ("RegionOne", "RegionTwo"):
        lb = rows[(region, "load_balancers")]
        assert (lb["status"], lb["http_status"], lb["service"]) == ("forbidden", 403, "load-balancer")
        assert "load-balancer_observer" in lb["grant"] and "member" in lb["grant"]
        others = {
            name: row["status"] for (reg, name), row in rows.items() if reg == region and name != "load_balancers"
        }
        assert set(others.values()) == {"allowed"}, others
    assert nolb.result["summary"] == {"allowed": 22, "forbidden": 2, "not_in_catalog": 0, "error": 0}
    assert nolb.result["changed"] is False
    table = nolb.result["report"]
    assert table[0].startswith("REGION") and len(table) == 2 + 24
    assert any("load_balancers" in line and "forbidden (403)" in line for line in table)
    assert "load_balancers in RegionOne: forbidden" in nolb.result["msg"]

    # The load-balancer service disappears from the catalog: not_in_catalog, not an error.
    cloud.faults.add(service="load-balancer", kind="missing_service")
    admin = ansible.module(
        "cloud_permissions_info", {"cloud": "perm-admin", "types": ["load_balancer", "servers"]}, env=env
    )
    assert admin.rc == 0, admin.output[-4000:]
    rows = _rows(admin.result)
    assert {key: row["status"] for key, row in rows.items()} == {
        ("RegionOne", "servers"): "allowed",
        ("RegionOne", "load_balancers"): "not_in_catalog",
        ("RegionTwo", "servers"): "allowed",
        ("RegionTwo", "load_balancers"): "not_in_catalog",
    }
    assert "not in the service catalog" in rows[("RegionOne", "load_balancers")]["grant"]


def test_member_user_needs_admin_for_all_projects(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="mem", **SMALL)
    clouds_yaml = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(clouds_yaml), user="member", name="mem")
    result = ansible.module(
        "cloud_permissions_info",
        {"cloud": "mem", "types": ["servers", "volumes", "networks"]},
        env={"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)},
    )
    assert result.rc == 0, result.output[-4000:]
    rows = _rows(result.result)
    servers = rows[(cloud.regions[0], "servers")]
    assert servers["status"] == "forbidden" and servers["own_project"] == "allowed"
    assert "admin" in servers["grant"]
    assert rows[(cloud.regions[0], "networks")]["status"] == "allowed"


def test_registered_account_with_the_secret_given_at_check_time(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="acct", **SMALL)
    cloud.add_user("marker-user", password=MARKER, roles=("admin", "member", "reader"))
    creds = cloud.credentials(user="marker-user")
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    register = ansible.module("cloud_account", {"name": "acct", "auth": creds, "cmdb_url": url})
    assert register.rc == 0 and register.result["changed"] is True, register.output[-3000:]

    # The stored settings + the password given now authenticate for real (no clouds.yaml at all).
    store = open_store(url)
    try:
        params = credentials.connection_params(store, "acct", {"password": MARKER}, environ={})
        session = connection.open_cloud(params, name="acct")
        try:
            assert session.name == "acct" and session.regions == list(cloud.regions)
        finally:
            session.close()
        # Paused accounts can still be checked.
        accounts.ensure_account(store, "acct", paused=True)
    finally:
        store.close()

    checked = ansible.playbook(
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - cmdb.openstack.cloud_permissions_info:
        account: acct
        auth: {password: "%s"}
        types: [servers, images]
        cmdb_url: %s
      register: perms
    - ansible.builtin.assert:
        that:
          - perms.summary.allowed == 2
          - perms.cloud == 'acct'
    - cmdb.openstack.cloud_permissions_info:
        account: acct
        auth: {password: wrong-password}
        cmdb_url: %s
      register: wrong
      ignore_errors: true
    - ansible.builtin.assert:
        that:
          - wrong is failed
          - "'401' in wrong.msg"
          - "'Traceback' not in wrong.msg"
"""
        % (MARKER, url, url),
        "-vvvv",
    )
    assert checked.rc == 0, checked.output[-5000:]
    assert MARKER not in checked.output
    assert MARKER not in register.output
    assert MARKER not in dump_cmdb(url)
