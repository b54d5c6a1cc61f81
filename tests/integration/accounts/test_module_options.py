"""Issue #20, module options: cloud_permissions_info in the cmdb action group; one name for regions.

* ``module_defaults: {group/cmdb.openstack.cmdb: {cmdb_url: ...}}`` gives cloud_permissions_info
  its ``cmdb_url`` (it reads a registered account from the CMDB).
* ``regions`` (a list) is the option of cmdb_sync and cloud_permissions_info; ``region_name`` still
  works as a deprecated alias (removed in 2.0.0); the *_info modules keep ``region_name``.
"""

from __future__ import annotations

import json

import yaml

SMALL = {"servers": 2, "projects": 1}
DEPRECATED = "Alias 'region_name' is deprecated"


def _play(tasks, module_defaults=None):
    play = {"hosts": "localhost", "gather_facts": False, "tasks": tasks}
    if module_defaults:
        play["module_defaults"] = module_defaults
    return yaml.safe_dump([play], sort_keys=False)


def test_module_defaults_of_the_cmdb_group_reach_cloud_permissions_info(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="grp", regions=("RegionOne",), **SMALL)
    clouds_yaml = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(str(clouds_yaml), {"grp": cloud.clouds_yaml_entry(user="admin")})
    cmdb_url = "sqlite:///%s" % (tmp_path / "group.sqlite")
    results = tmp_path / "results.json"
    tasks = [
        {"name": "Register", "cmdb.openstack.cloud_account": {"name": "grp", "cloud": "grp"}},
        {
            "name": "Check the registered account, cmdb_url from module_defaults",
            "cmdb.openstack.cloud_permissions_info": {"account": "grp", "types": ["servers"]},
            "register": "perm",
        },
        {"ansible.builtin.copy": {"content": "{{ perm | to_json }}", "dest": str(results)}},
    ]
    # Neither CMDB_URL nor the default database: only module_defaults names the CMDB.
    env = {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml), "HOME": str(tmp_path / "home"), "CMDB_URL": ""}
    done = ansible.playbook(_play(tasks, {"group/cmdb.openstack.cmdb": {"cmdb_url": cmdb_url}}), env=env)
    assert done.rc == 0, done.output[-4000:]
    perm = json.loads(results.read_text())
    assert perm["cloud"] == "grp"
    assert [(row["region"], row["type"], row["status"]) for row in perm["permissions"]] == [
        ("RegionOne", "servers", "allowed")
    ]
    assert not (tmp_path / "home" / ".local").exists()  # the default database was not used


def test_regions_and_the_deprecated_region_name(ansible, os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="reg", regions=("RegionOne", "RegionTwo"), **SMALL)
    clouds_yaml = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(str(clouds_yaml), {"reg": cloud.clouds_yaml_entry(user="admin")})
    env = {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml), "CMDB_URL": "sqlite:///%s" % (tmp_path / "reg.sqlite")}
    common = {"cloud": "reg", "types": ["servers"]}
    tasks = [
        ("sync_regions", "cmdb_sync", dict(common, regions=["RegionTwo"])),
        ("sync_alias", "cmdb_sync", dict(common, region_name=["RegionTwo"])),
        ("perm_regions", "cloud_permissions_info", dict(common, regions=["RegionTwo"])),
        ("perm_alias", "cloud_permissions_info", dict(common, region_name="RegionTwo")),
        ("info_region_name", "server_info", {"cloud": "reg", "region_name": "RegionTwo"}),
    ]
    done, results = ansible.modules(tasks, env=env)
    for key, _module, _args in tasks:
        assert not results[key].get("failed"), (key, results[key].get("msg"))
    for key in ("sync_regions", "sync_alias"):
        assert {scope["region"] for scope in results[key]["scopes"]} == {"RegionTwo"}, key
    for key in ("perm_regions", "perm_alias"):
        assert results[key]["regions"] == ["RegionTwo"], key
        assert {row["region"] for row in results[key]["permissions"]} == {"RegionTwo"}, key
    assert {scope["region"] for scope in results["info_region_name"]["scopes"]} == {"RegionTwo"}
    # the alias is deprecated (in cmdb_sync and cloud_permissions_info); the canonical name and the
    # region_name of the *_info modules are not
    for key, _module, _args in tasks:
        deprecations = [
            (d["msg"], d.get("version"), d.get("collection_name")) for d in results[key].get("deprecations") or []
        ]
        expected = [(DEPRECATED + ". See the module docs for more information", "2.0.0", "cmdb.openstack")]
        assert deprecations == (expected if key.endswith("_alias") else []), key
    assert DEPRECATED in done.output
