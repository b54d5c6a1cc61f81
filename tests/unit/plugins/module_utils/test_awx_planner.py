"""The AWX plan (awx_planner.py): names, RRULEs per interval, enabled flags, credentials, no secrets."""

from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.cmdb.openstack.plugins.module_utils import awx_planner, catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

SECRET = "s3cr3t-marker-7f1c"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (300, "DTSTART:20260101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=5"),
        (60, "DTSTART:20260101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=1"),
        (5400, "DTSTART:20260101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=90"),
        (6 * 3600, "DTSTART:20260101T000000Z RRULE:FREQ=HOURLY;INTERVAL=6"),
        (2 * 86400, "DTSTART:20260101T000000Z RRULE:FREQ=DAILY;INTERVAL=2"),
        (14 * 86400, "DTSTART:20260101T000000Z RRULE:FREQ=WEEKLY;INTERVAL=2"),
    ],
)
def test_rrule_uses_the_largest_whole_unit(seconds, expected):
    assert awx_planner.rrule(seconds) == expected


def test_sub_minute_intervals_round_up_because_awx_has_no_secondly():
    assert awx_planner.rrule_frequency(30) == ("MINUTELY", 1, 60)
    assert awx_planner.rrule_frequency(90) == ("MINUTELY", 2, 120)
    plan = awx_planner.build_plan([{"name": "a", "cloud": "a", "resources": {"servers": {"interval": "30s"}}}])
    servers = next(s for s in plan["schedules"] if s["type"] == "servers")
    assert servers["rrule"].endswith("RRULE:FREQ=MINUTELY;INTERVAL=1")
    assert servers["interval"] == 30
    assert any("30 seconds" in w and "servers" in w for w in plan["warnings"])


def test_dtstart_and_offset():
    assert awx_planner.rrule(3600, "2026-03-04T05:06:00Z", offset=120).startswith("DTSTART:20260304T050800Z ")
    with pytest.raises(ConfigurationError, match="dtstart"):
        awx_planner.rrule(300, "next tuesday")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("6h", 21600), ("2w", 1209600), ("1h30m", 5400), ("300", 300)]
)
def test_interval_spellings(text, seconds):
    assert awx_planner.interval_seconds(text) == seconds


@pytest.mark.parametrize("bad", ["5x", "", "-5", "0", "m5", None, True])
def test_bad_intervals_name_the_field(bad):
    with pytest.raises(ConfigurationError) as info:
        awx_planner.interval_seconds(bad, field="accounts[a].resources.servers.interval")
    assert "accounts[a].resources.servers.interval" in info.value.message


def test_one_schedule_per_account_and_type_with_catalog_defaults():
    plan = awx_planner.build_plan([{"name": "prod", "cloud": "prod"}, {"name": "dev", "cloud": "dev"}], stagger=False)
    names = [s["name"] for s in plan["schedules"]]
    assert len(names) == 2 * len(catalog.RESOURCE_TYPES) == len(set(names))
    for schedule in plan["schedules"]:
        rtype = catalog.RESOURCE_TYPES[schedule["type"]]
        assert schedule["interval"] == rtype.default_interval
        assert schedule["rrule"] == awx_planner.rrule(rtype.default_interval)
        assert schedule["enabled"] is True
        assert schedule["extra_data"] == {"accounts": schedule["account"], "types": schedule["type"]}
        assert schedule["credentials"] == ["cmdb.openstack account %s" % schedule["account"]]
        assert schedule["unified_job_template"] == "cmdb.openstack sync"
    by_name = {s["name"]: s for s in plan["schedules"]}
    assert by_name["cmdb.openstack sync prod servers"]["rrule"] == (
        "DTSTART:20260101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=5"
    )
    assert by_name["cmdb.openstack sync dev volumes"]["rrule"].endswith("FREQ=HOURLY;INTERVAL=6")
    assert by_name["cmdb.openstack sync dev images"]["rrule"].endswith("FREQ=WEEKLY;INTERVAL=2")


def test_account_settings_override_defaults_and_disable_schedules():
    accounts = [
        {
            "name": "prod",
            "cloud": "prod",
            "resources": {
                "servers": {"interval": "1h30m"},
                "images": {"enabled": False},
                "volumes": {"enabled": "no", "interval": 600},
                "flavors": False,
            },
        },
        {"name": "old", "cloud": "old", "paused": True},
    ]
    plan = awx_planner.build_plan(accounts, stagger=False)
    by_key = {(s["account"], s["type"]): s for s in plan["schedules"]}
    assert by_key["prod", "servers"]["rrule"].endswith("FREQ=MINUTELY;INTERVAL=90")
    assert by_key["prod", "servers"]["enabled"] is True
    assert by_key["prod", "images"]["enabled"] is False
    assert "type disabled" in by_key["prod", "images"]["description"]
    assert by_key["prod", "volumes"]["enabled"] is False
    assert by_key["prod", "volumes"]["rrule"].endswith("FREQ=MINUTELY;INTERVAL=10")
    assert by_key["prod", "flavors"]["enabled"] is False
    assert all(not s["enabled"] for (account, _t), s in by_key.items() if account == "old")
    assert "(paused)" in by_key["old", "servers"]["description"]


@pytest.mark.parametrize(
    ("account", "field"),
    [
        ({"name": "prod", "cloud": "prod", "paused": "maybe"}, "accounts[prod].paused"),
        ({"name": "prod", "cloud": "prod", "resources": {"images": {"enabled": "sometimes"}}}, "images"),
        ({"name": "prod", "cloud": "prod", "validate_certs": [True]}, "accounts[prod].validate_certs"),
    ],
    ids=["paused", "enabled", "validate_certs"],
)
def test_a_flag_that_is_not_a_boolean_names_the_field(account, field):
    with pytest.raises(ConfigurationError) as info:
        awx_planner.build_plan([account], stagger=False)
    assert field in str(info.value) and "is not a boolean (use true or false)" in str(info.value)


def test_stagger_is_stable_and_stays_below_the_interval():
    accounts = [{"name": "acct%d" % i, "cloud": "c"} for i in range(20)]
    first = awx_planner.build_plan(accounts)
    assert first == awx_planner.build_plan(accounts)
    starts = set()
    for schedule in first["schedules"]:
        start = schedule["rrule"].split()[0]
        offset = awx_planner.stagger_offset(schedule["account"], schedule["type"], schedule["interval"])
        assert 0 <= offset < max(schedule["interval"], 60)
        assert offset % 60 == 0
        starts.add(start)
        assert schedule["rrule"] == awx_planner.rrule(schedule["interval"], offset=offset)
    assert len(starts) > 5  # the 5-minute schedules of 20 accounts do not all start together


def test_types_restrict_the_schedules():
    plan = awx_planner.build_plan([{"name": "a", "cloud": "a"}], types=["servers", "volumes"])
    assert sorted(s["type"] for s in plan["schedules"]) == ["servers", "volumes"]
    with pytest.raises(ConfigurationError, match="valid types are: servers"):
        awx_planner.build_plan([{"name": "a", "cloud": "a"}], types=["servres"])


def test_unknown_resource_type_in_an_account_lists_the_valid_ones():
    with pytest.raises(ConfigurationError) as info:
        awx_planner.build_plan([{"name": "a", "cloud": "a", "resources": {"servres": {"enabled": True}}}])
    assert "accounts[a].resources" in info.value.message
    assert "volume_snapshots" in info.value.message
    with pytest.raises(ConfigurationError, match="plural type name 'servers'"):
        awx_planner.build_plan([{"name": "a", "cloud": "a", "resources": {"server": {"enabled": True}}}])


def test_duplicate_and_missing_names_and_absent_accounts():
    with pytest.raises(ConfigurationError, match="appears twice"):
        awx_planner.build_plan([{"name": "a", "cloud": "a"}, {"name": "a", "cloud": "b"}])
    with pytest.raises(ConfigurationError, match=r"accounts\[0\].name"):
        awx_planner.build_plan([{"cloud": "a"}])
    plan = awx_planner.build_plan([{"name": "gone", "cloud": "x", "state": "absent"}, {"name": "b", "cloud": "b"}])
    assert {s["account"] for s in plan["schedules"]} == {"b"}
    assert [c["account"] for c in plan["credentials"]] == ["b", None]


def test_objects_names_and_inventory_source():
    plan = awx_planner.build_plan(
        [{"name": "a", "cloud": "a"}],
        prefix="cmdb",
        organization="Ops",
        project={"scm_url": "https://git.example.com/ops.git", "scm_branch": "main"},
        job_slice_count=3,
    )
    assert plan["organization"] == "Ops"
    assert plan["project"]["name"] == "cmdb"
    assert plan["project"]["scm_url"] == "https://git.example.com/ops.git"
    assert plan["inventory"]["name"] == "cmdb clouds"
    source = plan["inventory_source"]
    assert source["source"] == "scm"
    assert source["source_project"] == "cmdb"
    assert source["source_path"] == "playbooks/inventory/openstack_clouds.yml"
    assert source["credential"] == "cmdb CMDB"
    (template,) = plan["job_templates"]
    assert template["name"] == "cmdb sync"
    assert template["playbook"] == "playbooks/sync.yml"
    assert template["job_slice_count"] == 3
    assert template["ask_credential_on_launch"] and template["ask_variables_on_launch"]
    assert [t["name"] for t in plan["credential_types"]] == ["cmdb clouds.yaml", "cmdb CMDB"]
    injectors = plan["credential_types"][0]["injectors"]
    assert injectors["env"] == {"OS_CLIENT_CONFIG_FILE": "{{ tower.filename.clouds_yaml }}"}
    assert plan["credential_types"][1]["injectors"]["env"] == {"CMDB_URL": "{{ cmdb_url }}"}


def test_clouds_yaml_credential_carries_application_credentials_and_no_secret_in_the_plan():
    account = {
        "name": "appcred",
        "cloud": "prod-appcred",
        "auth_type": "v3applicationcredential",
        "auth": {
            "auth_url": "https://keystone.example.com/v3",
            "application_credential_id": "abc",
            "application_credential_secret": SECRET,
        },
        "regions": ["RegionOne"],
    }
    plan = awx_planner.build_plan([account])
    assert SECRET not in json.dumps(plan)
    credential = plan["credentials"][0]
    assert credential["secret_field"] == "application_credential_secret"
    inputs = awx_planner.credential_inputs(credential, {"application_credential_secret": SECRET})
    document = yaml.safe_load(inputs["clouds_yaml"])
    entry = document["clouds"]["prod-appcred"]
    assert entry["auth_type"] == "v3applicationcredential"
    assert entry["auth"] == {
        "auth_url": "https://keystone.example.com/v3",
        "application_credential_id": "abc",
        "application_credential_secret": SECRET,
    }
    assert entry["regions"] == ["RegionOne"]
    assert SECRET not in json.dumps(credential)  # the plan was not modified
    with pytest.raises(ConfigurationError, match="no application_credential_secret"):
        awx_planner.credential_inputs(credential, {"password": "x"})


def test_whole_clouds_yaml_from_the_secrets():
    plan = awx_planner.build_plan([{"name": "a", "cloud": "a"}])
    credential = plan["credentials"][0]
    text = "clouds:\n  a:\n    auth: {password: %s}\n" % SECRET
    assert awx_planner.credential_inputs(credential, {"clouds_yaml": text}) == {"clouds_yaml": text}
    with pytest.raises(ConfigurationError, match="whole clouds_yaml"):
        awx_planner.credential_inputs(credential, {"password": SECRET})


def test_awx_builtin_openstack_credential():
    account = {
        "name": "pw",
        "auth": {
            "auth_url": "https://keystone.example.com/v3",
            "username": "svc",
            "password": SECRET,
            "project_name": "ops",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "regions": ["RegionTwo"],
    }
    plan = awx_planner.build_plan([account], credential_kind="openstack", cmdb_credential=False)
    assert [t["name"] for t in plan["credential_types"]] == []
    (credential,) = plan["credentials"]
    assert credential["credential_type"] == "OpenStack"
    assert credential["cloud_name"] == "devstack"
    assert credential["inputs"] == {
        "host": "https://keystone.example.com/v3",
        "username": "svc",
        "project": "ops",
        "project_domain_name": "Default",
        "domain": "Default",
        "region": "RegionTwo",
        "verify_ssl": True,
    }
    assert SECRET not in json.dumps(plan)
    assert awx_planner.credential_inputs(credential, {"password": SECRET})["password"] == SECRET
    with pytest.raises(ConfigurationError, match="application credentials"):
        awx_planner.build_plan(
            [dict(account, auth_type="v3applicationcredential")], credential_kind="openstack", cmdb_credential=False
        )
    with pytest.raises(ConfigurationError, match="credential_kind"):
        awx_planner.build_plan([account], credential_kind="vault")


def test_cmdb_credential_inputs():
    plan = awx_planner.build_plan([])
    (cmdb,) = plan["credentials"]
    assert cmdb["kind"] == "cmdb"
    url = "postgresql+psycopg://cmdb:%s@db/cmdb" % SECRET
    assert awx_planner.credential_inputs(cmdb, {"cmdb_url": url}) == {"cmdb_url": url}
    with pytest.raises(ConfigurationError, match="cmdb_url"):
        awx_planner.credential_inputs(cmdb, {})
