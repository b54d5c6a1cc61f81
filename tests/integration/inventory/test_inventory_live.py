"""``source: live``: real ansible-inventory / ansible-playbook runs against the OpenStack API simulator.

A dead cloud (connection refused), a forbidden cloud (HTTP 403 on the servers listing), the
injection case, and ``fail_on_errors``. Tests that need the simulator skip while it is not there.
"""

from __future__ import annotations

import json
import socket
import textwrap

import pytest
import yaml
from inventory_fakes import INJECTION
from support.ansible import plain

pytestmark = pytest.mark.slow

MARKER = "Pa55-Marker-0815"


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dead_entry():
    return {
        "auth": {
            "auth_url": "http://127.0.0.1:%d/v3" % closed_port(),
            "username": "admin",
            "password": MARKER,
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "region_name": "RegionOne",
        "identity_api_version": 3,
    }


def write_files(tmp_path, clouds, **options):
    clouds_yaml = tmp_path / "clouds.yaml"
    clouds_yaml.write_text(yaml.safe_dump({"clouds": clouds}))
    lines = [
        "plugin: cmdb.openstack.inventory",
        "source: live",
        "clouds_yaml_path: [%s]" % json.dumps(str(clouds_yaml)),
    ]
    for key, value in options.items():
        lines.append("%s: %s" % (key, json.dumps(value)))
    config = tmp_path / "openstack.yml"  # openstack.cloud's file name works too
    config.write_text("\n".join(lines) + "\n")
    return config


def test_dead_cloud_warns_and_fail_on_errors_fails_everything(ansible, tmp_path):
    config = write_files(tmp_path, {"dead": dead_entry()}, api_timeout=5, timeout=30)
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    assert "cloud 'dead'" in done.stderr and "hosts of the other clouds are returned" in done.stderr
    assert done.result["_meta"]["hostvars"] == {}
    assert MARKER not in done.output

    config = write_files(tmp_path, {"dead": dead_entry()}, api_timeout=5, timeout=30, fail_on_errors=True)
    # Configured to fail on an unparsed source (ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED, or
    # ANSIBLE_INVENTORY_UNPARSED_FAILED for a sole source, which AWX sets), Ansible fails the command.
    for setting in ("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "ANSIBLE_INVENTORY_UNPARSED_FAILED"):
        done = ansible.inventory(config, env={setting: "1"})
        assert done.rc != 0, setting
        assert done.stdout.strip() == ""  # nothing printed, not even an empty inventory
        assert "fail_on_errors" in done.stderr and "cloud 'dead'" in done.stderr
        assert "Traceback" not in done.output and MARKER not in done.output
    # Default settings: the parse error is a warning, and no host of this source is added.
    done = ansible.inventory(config)
    assert done.rc == 0 and done.result["_meta"]["hostvars"] == {}
    assert "fail_on_errors" in done.stderr and "cloud 'dead'" in done.stderr


def test_unknown_cloud_in_only_clouds_is_an_error(ansible, tmp_path):
    config = write_files(tmp_path, {"dead": dead_entry(), "alive": dead_entry()}, only_clouds=["nope", "dead"])
    done = ansible.inventory(config, env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"})
    assert done.rc != 0
    assert "only_clouds: unknown cloud of clouds.yaml 'nope'" in done.stderr
    assert "alive, dead" in done.stderr


# ---------------------------------------------------------------------------------------------
# With the simulator


@pytest.fixture
def sim(request):
    try:
        return request.getfixturevalue("os_simulator")
    except pytest.FixtureLookupError:
        pytest.skip("the OpenStack API simulator (os_simulator fixture) is not available yet")


def sim_entry(cloud, user="admin"):
    entry = cloud.clouds_yaml_entry(user=user)
    return entry


def test_live_good_dead_and_forbidden_clouds(ansible, tmp_path, sim):
    good = sim.add_cloud(name="good", regions=("RegionOne",), seed=1, servers=6, projects=2)
    locked = sim.add_cloud(name="locked", regions=("RegionOne",), seed=2, servers=4, projects=1)
    locked.faults.add(service="compute", path="/servers/detail", kind="status", status=403)
    good.store.create(
        "servers",
        {"name": INJECTION, "metadata": {"note": INJECTION}, "status": "ACTIVE"},
    )
    clouds = {"good": sim_entry(good), "locked": sim_entry(locked), "dead": dead_entry()}
    config = write_files(tmp_path, clouds, all_projects=True, api_timeout=5, timeout=60)
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert {hv["openstack"]["cloud"] for hv in hostvars.values()} == {"good"}
    assert len(hostvars) == 7
    assert "cloud 'dead'" in done.stderr and "cloud 'locked'" in done.stderr and "forbidden" in done.stderr
    assert "uid=" not in done.output and INJECTION in hostvars
    assert hostvars[INJECTION]["openstack"]["metadata"]["note"] == INJECTION

    playbook = textwrap.dedent(
        """
        - hosts: cloud_good
          gather_facts: false
          connection: local
          tasks:
            - ansible.builtin.debug:
                var: openstack.name
        """
    )
    ran = ansible.playbook(playbook, inventory=config)
    assert ran.rc == 0, ran.output
    assert "uid=" not in ran.output and INJECTION in ran.stdout
    assert ran.stdout.count("ok: [") == 7

    failing = write_files(tmp_path, clouds, all_projects=True, api_timeout=5, timeout=60, fail_on_errors=True)
    done = ansible.inventory(failing, env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert done.rc != 0 and done.stdout.strip() == ""
    assert "cloud 'dead'" in done.stderr and "cloud 'locked'" in done.stderr
    for run in (done, ran):
        assert MARKER not in run.output


def test_registered_accounts_as_the_cloud_list(ansible, tmp_path):
    from ansible_collections.cmdb.openstack.plugins.module_utils import account_settings
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import accounts
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    store = open_store(url)
    dead = dead_entry()["auth"]
    secretless = dict(dead)
    secretless.pop("password")
    accounts.ensure_account(
        store, "acct-dead", connection=account_settings.build_connection(auth=dead, auth_type="password")
    )
    accounts.ensure_account(
        store, "acct-nosecret", connection=account_settings.build_connection(auth=secretless, auth_type="password")
    )
    store.close()
    config = tmp_path / "accounts.cmdb_openstack.yml"
    config.write_text(
        "plugin: cmdb.openstack.inventory\nsource: live\nclouds_from: accounts\ncmdb_url: %s\napi_timeout: 5\n" % url
    )
    done = ansible.inventory(config, env={"OS_PASSWORD": MARKER})
    assert done.rc == 0, done.output
    assert "cloud 'acct-dead'" in done.stderr and "cannot reach the identity service" in done.stderr
    assert "cloud 'acct-nosecret'" in done.stderr
    assert done.result["_meta"]["hostvars"] == {}
    assert MARKER not in done.output
