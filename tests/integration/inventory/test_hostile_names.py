"""Hostile server names and big metadata through real ansible-inventory / ansible-playbook runs (issue 19).

A tenant chooses its server names and metadata. A server named ``localhost`` must not become the
inventory host ``localhost`` (a play for ``hosts: localhost`` would connect to the tenant's
address), nor may any name that means something else (IP literals, reserved names, a name another
inventory source already uses); 10,000 metadata keys must not make 20,000 groups.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from inventory_fakes import fill_cmdb, nova_server, record
from support.ansible import plain

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

pytestmark = pytest.mark.slow

HOSTILE = ["localhost", "127.0.0.1", "::1", "LOCALHOST.", "127.1", "0x7f000001", "db.localhost", "all"]


def write_config(tmp_path, url, name="inventory.cmdb_openstack.yml", **options):
    lines = ["plugin: cmdb.openstack.inventory", "cmdb_url: %s" % json.dumps(url)]
    for key, value in options.items():
        lines.append("%s: %s" % (key, json.dumps(value)))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def groups_of(listing):
    return {name: plain(body) for name, body in listing.items() if name != "_meta"}


@pytest.fixture
def hostile_cmdb(tmp_path):
    """A CMDB whose servers are named like the local host, IP literals, a reserved and a static host."""
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    names = HOSTILE + ["Bastion", "static-web", "webservers", "web-1"]
    items = [nova_server(i, name=name, metadata={}) for i, name in enumerate(names)]
    items[-1]["metadata"] = {"group": "localhost", "groups": "127.0.0.1,webservers,friends"}
    items.append(nova_server(len(items), name="localhost", cloud="other", metadata={}))
    store = open_store(url)
    fill_cmdb(store, {"servers": [record(item) for item in items[:-1]]}, cloud="demo")
    fill_cmdb(store, {"servers": [record(items[-1], cloud="other")]}, cloud="other")
    store.close()
    ids = {(item["name"], "other" if item is items[-1] else "demo"): item["id"] for item in items}
    return url, ids


def write_static(tmp_path):
    static = tmp_path / "static.ini"
    static.write_text("static-web ansible_host=192.0.2.10\n\n[webservers]\nstatic-web\n")
    return static


def test_tenant_names_never_take_over_local_reserved_or_existing_hosts(ansible, tmp_path, hostile_cmdb):
    url, ids = hostile_cmdb
    config = write_config(tmp_path, url, reserved_host_names=["bastion"], legacy_groups=True)
    static = write_static(tmp_path)
    done = ansible.inventory(static, "-i", str(config))  # the static source first, then the plugin
    assert done.rc == 0, done.output
    hostvars = plain(done.result["_meta"]["hostvars"])

    expected = {}
    for (name, cloud), sid in ids.items():
        if name == "web-1":
            expected[name] = "web-1"
        else:
            expected[name if cloud == "demo" else "other-localhost"] = "%s_%s_%s" % (name, cloud, sid[:8])
    for name in HOSTILE + ["Bastion", "webservers"]:
        assert name not in hostvars, name
    assert set(hostvars) == set(expected.values()) | {"static-web"}
    for host in expected.values():
        assert hostvars[host]["ansible_host"].startswith("203.0.113."), host
    # the static host keeps its address and is not merged with the tenant's server
    assert hostvars["static-web"]["ansible_host"] == "192.0.2.10" and "openstack" not in hostvars["static-web"]
    assert hostvars[expected["static-web"]]["openstack"]["name"] == "static-web"
    # one warning per renamed server, naming the server, why and the new name
    assert "server 'localhost' (cloud 'demo', region 'RegionOne', id %s)" % ids[("localhost", "demo")] in done.stderr
    assert "because it names the local host; its host is '%s'" % expected["localhost"] in done.stderr
    assert "because it is an IP address" in done.stderr and "because it is in reserved_host_names" in done.stderr
    assert "another inventory source already has a host or group of that name" in done.stderr

    groups = groups_of(done.result)
    # groups the tenant names through legacy metadata group/groups or its server name: never these
    for refused in ("localhost", "_27_0_0_1", "127_0_0_1", "Bastion", "all_"):
        assert refused not in groups, refused
    assert plain(groups["webservers"])["hosts"] == ["static-web"]
    assert "web-1" in groups["friends"]["hosts"]


PLAYBOOK = textwrap.dedent(
    """
    - hosts: localhost
      gather_facts: false
      tasks:
        - ansible.builtin.ping:
        - ansible.builtin.debug:
            msg: >-
              PLAY1 HOST={{ inventory_hostname }} CONN={{ ansible_connection | default('unset') }}
              ADDR={{ ansible_host | default('unset') }} OS={{ openstack is defined }}
    - hosts: 127.0.0.1
      gather_facts: false
      tasks:
        - ansible.builtin.ping:
        - ansible.builtin.debug:
            msg: >-
              PLAY2 HOST={{ inventory_hostname }} CONN={{ ansible_connection | default('unset') }}
              OS={{ openstack is defined }}
    - hosts: cloud_demo
      gather_facts: false
      connection: local
      tasks:
        - ansible.builtin.debug:
            msg: "PLAY3 HOST={{ inventory_hostname }}"
    """
)


def test_hosts_localhost_stays_the_implicit_local_host(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    items = [
        nova_server(i, name=name, metadata={}) for i, name in enumerate(["localhost", "127.0.0.1", "::1", "web-1"])
    ]
    store = open_store(url)
    fill_cmdb(store, {"servers": [record(item) for item in items]}, cloud="demo")
    store.close()
    config = write_config(tmp_path, url)  # no option needed: the defaults protect localhost
    done = ansible.playbook(PLAYBOOK, inventory=config, env={"ANSIBLE_TIMEOUT": "3"})
    assert done.rc == 0, done.output
    assert "PLAY1 HOST=localhost CONN=local ADDR=127.0.0.1 OS=False" in done.stdout, done.stdout
    assert "PLAY2 HOST=localhost CONN=local OS=False" in done.stdout, done.stdout
    assert "203.0.113." not in done.stdout.split("PLAY [cloud_demo]")[0]  # no tenant address was contacted
    # the renamed servers are still there, under their safe names
    assert "PLAY3 HOST=localhost_demo_%s" % items[0]["id"][:8] in done.stdout
    assert "PLAY3 HOST=::1_demo_%s" % items[2]["id"][:8] in done.stdout
    assert done.stdout.count("PLAY3 HOST=") == 4


def test_live_source_names_hosts_by_the_same_rule(ansible, tmp_path, request):
    try:
        sim = request.getfixturevalue("os_simulator")
    except pytest.FixtureLookupError:
        pytest.skip("the OpenStack API simulator (os_simulator fixture) is not available")
    import yaml

    cloud = sim.add_cloud(name="live", regions=("RegionOne",), seed=3, servers=2, projects=1)
    address = {"net": [{"addr": "203.0.113.77", "version": 4, "OS-EXT-IPS:type": "fixed"}]}
    made = [
        cloud.store.create("servers", {"name": name, "status": "ACTIVE", "addresses": address})
        for name in ("localhost", "::1")
    ]
    clouds_yaml = tmp_path / "clouds.yaml"
    clouds_yaml.write_text(yaml.safe_dump({"clouds": {"live": cloud.clouds_yaml_entry(user="admin")}}))
    config = tmp_path / "openstack.yml"
    config.write_text(
        "plugin: cmdb.openstack.inventory\nsource: live\nall_projects: true\nclouds_yaml_path: [%s]\n"
        % json.dumps(str(clouds_yaml))
    )
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert "localhost" not in hostvars and "::1" not in hostvars
    for item in made:
        host = "%s_live_%s" % (item["name"], item["id"][:8])
        assert hostvars[host]["ansible_host"] == "203.0.113.77"
    assert "because it names the local host" in done.stderr

    ran = ansible.playbook(PLAYBOOK.split("- hosts: cloud_demo")[0], inventory=config, env={"ANSIBLE_TIMEOUT": "3"})
    assert ran.rc == 0, ran.output
    assert "PLAY1 HOST=localhost CONN=local ADDR=127.0.0.1 OS=False" in ran.stdout, ran.stdout


def test_ten_thousand_metadata_keys_make_a_bounded_number_of_groups(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    items = [nova_server(i, metadata={"role": "web" if i % 2 else "db"}) for i in range(25)]
    items.append(nova_server(25, name="big", metadata={"key-%05d" % i: "value-%d" % i for i in range(10000)}))
    store = open_store(url)
    fill_cmdb(store, {"servers": [record(item) for item in items]}, cloud="demo")
    store.close()

    # the defaults: no metadata key makes a group (opt-in), the data stays in the host variables
    started = time.monotonic()
    done = ansible.inventory(write_config(tmp_path, url))
    default_seconds = time.monotonic() - started
    assert done.rc == 0, done.output
    groups = groups_of(done.result)
    assert len(done.result["_meta"]["hostvars"]) == 26
    assert not [g for g in groups if g.startswith("meta")], sorted(groups)[:20]
    assert len(groups) < 20, len(groups)  # was 20,036
    assert len(plain(done.result["_meta"]["hostvars"])["big"]["openstack"]["metadata"]) == 10000

    # every way metadata can make groups, opted in: bounded per host, with one warning
    config = write_config(
        tmp_path,
        url,
        name="all.cmdb_openstack.yml",
        metadata_groups=["*"],
        legacy_groups=True,
        keyed_groups=[
            {"key": "openstack.metadata", "prefix": "kv"},
            {"key": "openstack.metadata.role", "prefix": "role"},
        ],
    )
    started = time.monotonic()
    done = ansible.inventory(config)
    opted_seconds = time.monotonic() - started
    assert done.rc == 0, done.output
    groups = groups_of(done.result)
    big_groups = [g for g, body in groups.items() if "big" in (body.get("hosts") or [])]
    # default meta_<k>, meta_<k>_<v> (20) and legacy meta-<k>_<v> made safe (20, some the same names)
    assert 20 < len([g for g in big_groups if g.startswith("meta_")]) <= 40
    assert len([g for g in big_groups if g.startswith("kv_")]) == 20
    assert len(big_groups) < 80, len(big_groups)
    assert len(groups) < 150, len(groups)
    assert "role_web" in groups and "meta_role_web" in groups and "kv_role_web" in groups
    assert "1 host(s) have more metadata groups than max_metadata_groups (20)" in done.stderr
    assert "server 'big': 10000" in done.stderr
    print(
        "ansible-inventory --list, 26 hosts, one with 10,000 metadata keys: %.1f s defaults, %.1f s opted in"
        % (default_seconds, opted_seconds)
    )
