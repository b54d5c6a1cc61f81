"""``source: cmdb``: real ansible-inventory / ansible-playbook runs on a CMDB filled by the CMDB writer."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
from inventory_fakes import INJECTION, age_cmdb, estate, fill_cmdb, nova_server, record
from support.ansible import plain

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store

pytestmark = pytest.mark.slow


def write_config(tmp_path, url, name="inventory.cmdb_openstack.yml", **options):
    lines = ["plugin: cmdb.openstack.inventory", "cmdb_url: %s" % json.dumps(url)]
    for key, value in options.items():
        lines.append("%s: %s" % (key, json.dumps(value)))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sqlite_url(tmp_path):
    """For tests whose subject does not depend on the database (the queries run on both elsewhere)."""
    return "sqlite:///%s" % (tmp_path / "cmdb.sqlite")


def _fill(url):
    store = open_store(url)
    fill_cmdb(store, estate(6, cloud="demo"), cloud="demo")
    other = estate(3, cloud="other")
    other["servers"].append(record(nova_server(99, cloud="other", name="vm-1", status="SHUTOFF"), cloud="other"))
    fill_cmdb(store, other, cloud="other")
    return store


@pytest.fixture
def filled_sqlite(sqlite_url):
    store = _fill(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def filled(cmdb_url):
    """Two clouds: demo (6 servers) and other (3 servers, one named like a demo server)."""
    store = _fill(cmdb_url)
    yield store
    store.close()


def test_list_hosts_groups_and_vars(ansible, tmp_path, filled, cmdb_url):
    config = write_config(tmp_path, cmdb_url, metadata_groups=["role"])  # metadata groups are opt-in
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    inv = done.result
    hostvars = plain(inv["_meta"]["hostvars"])
    assert len(hostvars) == 10
    # vm-0..vm-2 exist in both clouds (vm-1 twice in other): each gets a suffix; unique names stay
    assert len([h for h in hostvars if h.startswith("vm-1_")]) == 3
    assert len([h for h in hostvars if h.startswith("vm-0_")]) == 2
    assert "vm-1" not in hostvars and "vm-3" in hostvars and "vm-5" in hostvars
    web = hostvars["vm-3"]
    floating = [a["addr"] for a in web["openstack"]["addresses"] if a["class"] == "floating"]
    assert web["ansible_host"] == floating[0]
    assert web["openstack"]["image"]["name"] == "cirros-0.6"
    assert web["openstack"]["stale"] is False
    # host_vars: compact (the default): what plays target and reach servers with, nothing more
    assert sorted(web["openstack"]) == sorted(
        ["id", "name", "status", "cloud", "region", "project_id", "availability_zone", "flavor", "image"]
        + ["addresses", "public_v4", "private_v4", "security_groups", "metadata", "tags", "stale"]
    )
    assert web["openstack"]["flavor"] == {"name": "m1.small"}
    assert sorted(web["openstack"]["addresses"][0]) == ["addr", "class", "network", "version"]
    for group in ("cloud_demo", "cloud_other", "region_RegionOne", "project_p1", "az_nova", "flavor_m1_small"):
        assert group in inv, group
    assert set(inv["cloud_other"]["hosts"]) == {h for h, v in hostvars.items() if v["openstack"]["cloud"] == "other"}
    assert len(inv["status_shutoff"]["hosts"]) == 1
    assert "meta_role_web" in inv
    assert not any(g.startswith("instance") for g in inv)  # no per-host group by default


def test_full_host_vars(ansible, tmp_path, filled_sqlite, sqlite_url):
    done = ansible.inventory(write_config(tmp_path, sqlite_url, host_vars="full", include_deleted=True))
    assert done.rc == 0, done.output
    web = plain(done.result["_meta"]["hostvars"])["vm-3"]["openstack"]
    assert web["floating_ips"] == [a["addr"] for a in web["addresses"] if a["class"] == "floating"]
    assert web["volumes"][0]["name"] == "vol-3"
    assert web["flavor"]["vcpus"] == 1 and web["flavor"]["ram"] == 2048
    assert web["addresses"][0]["mac"] == "fa:16:3e:00:00:01"
    for key in ("networks", "user_id", "compute_host", "key_name", "created_at", "first_seen", "last_seen", "source"):
        assert key in web, key
    assert web["deleted"] is False


def test_playbook_targets_built_groups(ansible, tmp_path, filled_sqlite, sqlite_url):
    config = write_config(
        tmp_path,
        sqlite_url,
        keyed_groups=[{"key": "openstack.metadata.role", "prefix": "role"}],
        compose={"role_upper": "openstack.metadata.role | upper"},
        groups={"in_demo": "openstack.cloud == 'demo'"},
    )
    playbook = textwrap.dedent(
        """
        - hosts: role_web:&in_demo
          gather_facts: false
          connection: local
          tasks:
            - ansible.builtin.debug:
                msg: "HOST={{ inventory_hostname }} ROLE={{ role_upper }} CLOUD={{ openstack.cloud }}"
        """
    )
    done = ansible.playbook(playbook, inventory=config)
    assert done.rc == 0, done.output
    hosts = sorted(line.split("HOST=")[1].split()[0] for line in done.stdout.splitlines() if '"msg": "HOST=' in line)
    assert len(hosts) == 3, done.stdout
    assert hosts[0].startswith("vm-1_") and hosts[1:] == ["vm-3", "vm-5"]
    assert done.stdout.count("ROLE=WEB CLOUD=demo") == 3


def test_injection_stays_literal(ansible, tmp_path, sqlite_url):
    store = open_store(sqlite_url)
    item = nova_server(1, name=INJECTION, metadata={"note": INJECTION, INJECTION: "x"})
    fill_cmdb(store, {"servers": [record(item, cloud="demo")]}, cloud="demo")
    store.close()
    config = write_config(tmp_path, sqlite_url)
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    assert "uid=" not in done.output
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert list(hostvars) == [INJECTION]
    assert hostvars[INJECTION]["openstack"]["name"] == INJECTION
    assert hostvars[INJECTION]["openstack"]["metadata"]["note"] == INJECTION

    playbook = textwrap.dedent(
        """
        - hosts: cloud_demo
          gather_facts: false
          connection: local
          tasks:
            - ansible.builtin.debug:
                var: openstack.name
            - ansible.builtin.debug:
                var: openstack.metadata.note
            - ansible.builtin.debug:
                msg: "NAME={{ openstack.name }} HOST={{ inventory_hostname }}"
        """
    )
    done = ansible.playbook(playbook, inventory=config)
    assert done.rc == 0, done.output
    assert "uid=" not in done.output
    assert done.stdout.count(INJECTION) >= 3, done.stdout
    assert "NAME=%s HOST=%s" % (INJECTION, INJECTION) in done.stdout


def test_old_data_warns(ansible, tmp_path, filled, cmdb_url):
    age_cmdb(filled, "other", 2 * 3600)
    done = ansible.inventory(write_config(tmp_path, cmdb_url, max_age="1h"))
    assert done.rc == 0, done.output
    assert "cloud 'other' region 'RegionOne'" in done.stderr and "older than max_age" in done.stderr
    assert "cloud 'demo'" not in done.stderr
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert {v["openstack"]["cloud"] for v in hostvars.values() if v["openstack"]["stale"]} == {"other"}


def test_filters_and_naming_options(ansible, tmp_path, filled_sqlite, sqlite_url):
    config = write_config(
        tmp_path,
        sqlite_url,
        only_clouds=["other"],
        server_filters={"status": "ACTIVE"},
        inventory_hostname="uuid",
        use_names=True,
        legacy_groups=True,
    )
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert len(hostvars) == 3
    for host, hv in hostvars.items():
        assert host == hv["openstack"]["id"]
        assert hv["ansible_host"] == hv["openstack"]["name"]
    assert "instance_%s" % next(iter(hostvars)).replace("-", "_") in done.result
    assert "other_RegionOne" in done.result


def test_cache_serves_old_data_until_flushed_and_holds_no_secret(ansible, tmp_path, postgres_url):
    marker = "S3cr3t-Marker-4711"
    url = postgres_url.replace("postgres@", "postgres:%s@" % marker, 1)  # trust auth ignores it
    store = open_store(postgres_url)
    records = estate(4, cloud="demo")
    fill_cmdb(store, records, cloud="demo")
    cache_dir = tmp_path / "cache"
    config = write_config(
        tmp_path, url, cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache_dir)
    )
    first = ansible.inventory(config)
    assert first.rc == 0, first.output
    assert len(first.result["_meta"]["hostvars"]) == 4
    assert os.listdir(cache_dir)
    records["servers"] = records["servers"][:1]
    fill_cmdb(store, records, cloud="demo")
    store.close()
    cached = ansible.inventory(config)
    assert len(cached.result["_meta"]["hostvars"]) == 4  # from the cache
    flushed = ansible.inventory(config, "--flush-cache")
    assert flushed.rc == 0, flushed.output
    assert len(flushed.result["_meta"]["hostvars"]) == 1
    for name in os.listdir(cache_dir):
        assert marker not in (cache_dir / name).read_text()
    for run in (first, cached, flushed):
        assert marker not in run.output


def test_missing_cmdb_is_one_clear_error_and_creates_nothing(ansible, tmp_path):
    """The inventory only reads: a missing SQLite path is an error naming the URL; no file, no directory."""
    absent = tmp_path / "nowhere" / "absent.sqlite"
    url = "sqlite:///%s" % absent
    config = write_config(tmp_path, url)
    done = ansible.inventory(config, env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"})
    assert done.rc != 0
    assert "no CMDB at %s" % url in done.stderr and "cmdb_sync" in done.stderr
    assert "Traceback" not in done.output
    assert not absent.exists() and not absent.parent.exists()
    # Default Ansible settings: a parse error is a warning and the source gives no host (documented).
    done = ansible.inventory(config)
    assert done.rc == 0 and done.result["_meta"]["hostvars"] == {}
    assert "no CMDB at %s" % url in done.stderr and "Unable to parse" in done.stderr
    assert not absent.exists() and not absent.parent.exists()


def test_missing_postgres_password_is_masked(ansible, tmp_path):
    url = "postgresql+psycopg://cmdb:S3cret-Pw-77@127.0.0.1:1/cmdb"
    config = write_config(tmp_path, url)
    done = ansible.inventory(config, env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"})
    assert done.rc != 0
    assert "S3cret-Pw-77" not in done.output
    assert "127.0.0.1" in done.stderr


def test_unknown_only_clouds_is_an_error_naming_known_clouds(ansible, tmp_path, filled_sqlite, sqlite_url):
    env = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"}
    config = write_config(tmp_path, sqlite_url, only_clouds=["demo", "nope"])
    done = ansible.inventory(config, env=env)
    assert done.rc != 0
    assert "only_clouds: unknown cloud 'nope'; the known clouds are: demo, other" in done.stderr
    config = write_config(tmp_path, sqlite_url, only_clouds=["demo"])
    done = ansible.inventory(config, env=env)
    assert done.rc == 0, done.output
    assert {view["openstack"]["cloud"] for view in plain(done.result["_meta"]["hostvars"]).values()} == {"demo"}


def test_pipe_lookup_in_server_data_never_runs(ansible, tmp_path, sqlite_url):
    """A server name and metadata holding a pipe lookup come back verbatim; the command never runs."""
    touched = tmp_path / "touched"
    hostile = "{{ lookup('pipe','touch %s') }}" % touched
    store = open_store(sqlite_url)
    item = nova_server(1, name=hostile, metadata={"note": hostile})
    fill_cmdb(store, {"servers": [record(item, cloud="demo")]}, cloud="demo")
    store.close()
    config = write_config(tmp_path, sqlite_url, compose={"note_copy": "openstack.metadata.note"})
    done = ansible.inventory(config)
    assert done.rc == 0, done.output
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert list(hostvars) == [hostile]
    assert hostvars[hostile]["openstack"]["name"] == hostile
    assert hostvars[hostile]["openstack"]["metadata"]["note"] == hostile
    assert hostvars[hostile]["note_copy"] == hostile
    playbook = textwrap.dedent(
        """
        - hosts: cloud_demo
          gather_facts: false
          connection: local
          tasks:
            - ansible.builtin.debug:
                msg: "NAME={{ openstack.name }} NOTE={{ openstack.metadata.note }} COPY={{ note_copy }}"
        """
    )
    done = ansible.playbook(playbook, inventory=config)
    assert done.rc == 0, done.output
    assert "NAME=%s NOTE=%s COPY=%s" % (hostile, hostile, hostile) in done.stdout
    assert not touched.exists()


def test_cmdb_filled_by_cmdb_sync_from_the_simulator(ansible, tmp_path, os_simulator):
    """The whole path: simulator -> cmdb_sync (real module run) -> CMDB -> inventory -> playbook."""
    cloud = os_simulator.add_cloud(name="simc", regions=("RegionOne", "RegionTwo"), seed=3, servers=5, projects=2)
    cloud.store.create("servers", {"name": INJECTION, "metadata": {"note": INJECTION}, "status": "ACTIVE"})
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    entry = dict(cloud.clouds_yaml_entry(user="admin"), name="simc")
    synced = ansible.module(
        "cmdb_sync",
        {"cloud": entry, "cmdb_url": url, "types": ["servers", "images", "volumes", "floating_ips"]},
    )
    assert synced.rc == 0 and not synced.result.get("failed"), synced.output
    servers = cloud.store.list("servers", region="RegionOne") + cloud.store.list("servers", region="RegionTwo")
    done = ansible.inventory(write_config(tmp_path, url))
    assert done.rc == 0, done.output
    hostvars = plain(done.result["_meta"]["hostvars"])
    assert sorted(hv["openstack"]["id"] for hv in hostvars.values()) == sorted(s["id"] for s in servers)
    assert {hv["openstack"]["region"] for hv in hostvars.values()} == {"RegionOne", "RegionTwo"}
    assert INJECTION in hostvars and "uid=" not in done.output
    with_image = [hv for hv in hostvars.values() if (hv["openstack"]["image"] or {}).get("id")]
    assert with_image and all(hv["openstack"]["image"]["name"] for hv in with_image)
    playbook = textwrap.dedent(
        """
        - hosts: cloud_simc:&region_RegionTwo
          gather_facts: false
          connection: local
          tasks:
            - ansible.builtin.debug:
                var: openstack.name
        """
    )
    ran = ansible.playbook(playbook, inventory=write_config(tmp_path, url))
    assert ran.rc == 0, ran.output
    assert ran.stdout.count("ok: [") == sum(1 for hv in hostvars.values() if hv["openstack"]["region"] == "RegionTwo")
    assert "uid=" not in ran.output


def test_bad_options_are_one_clear_error(ansible, tmp_path, sqlite_url):
    env = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1"}
    open_store(sqlite_url).close()
    done = ansible.inventory(write_config(tmp_path, sqlite_url, server_filters={"colour": "red"}), env=env)
    assert done.rc != 0 and "server_filters: unknown key(s) colour; valid keys are: name, status" in done.stderr
    done = ansible.inventory(write_config(tmp_path, sqlite_url, max_age="soon"), env=env)
    assert done.rc != 0 and "max_age: invalid interval 'soon'" in done.stderr
    done = ansible.inventory(write_config(tmp_path, sqlite_url, address_preference=["elastic"]), env=env)
    assert done.rc != 0 and "address_preference" in done.stderr and "elastic" in done.stderr
    assert "Traceback" not in done.output
