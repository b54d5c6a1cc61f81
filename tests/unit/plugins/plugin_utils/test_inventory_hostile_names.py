"""Host names a tenant must not take, and groups that metadata must not multiply (issue 19)."""

from __future__ import annotations

import random

import pytest
from inventory_fakes import nova_server, record

from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_hosts as hosts


def view_of(item, cloud="demo"):
    return hosts.server_view(record(item, "servers", cloud, "RegionOne"), {})


def named(*specs):
    return [{"name": name, "id": sid, "cloud": cloud, "region": "R"} for name, sid, cloud in specs]


@pytest.mark.parametrize(
    "name",
    [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "0x7f000001",
        "0x7f.1",
        "2130706433",
        "0177.0.0.1",
        "10.0.0.5",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "::ffff:127.0.0.1",
        "fe80::1%eth0",
        "127.0.0.1.",
        "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits (NFKC)
        "127\u30020\u30020\u30021",  # ideographic full stops (IDNA)
    ],
)
def test_ip_literals_in_every_form(name):
    assert hosts.is_ip_literal(name)
    assert hosts.NameGuard().reason(name) == "it is an IP address"


@pytest.mark.parametrize("name", ["web-1", "db.example.org", "cafe", "face:b00c", "1.2.3.4.5", "v127.0.0.1", ""])
def test_ordinary_names_are_not_ip_literals(name):
    assert not hosts.is_ip_literal(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("localhost", "it names the local host"),
        ("LocalHost.", "it names the local host"),
        ("localhost.localdomain", "it names the local host"),
        ("ip6-localhost", "it names the local host"),
        ("evil.localhost", "it names the local host"),
        ("all", "it is a group every inventory has"),
        ("Ungrouped", "it is a group every inventory has"),
        ("Bastion", "it is in reserved_host_names"),
        ("static-web", "another inventory source already has a host or group of that name"),
        ("webservers", "another inventory source already has a host or group of that name"),
        ("web-1", None),
        ("localhost-1", None),
    ],
)
def test_name_guard_reasons(name, reason):
    guard = hosts.NameGuard(reserved=["bastion"], existing={"static-web": None, "webservers": None})
    assert guard.reason(name) == reason


def test_refused_names_get_a_safe_stable_name_and_a_reason():
    views = named(
        ("localhost", "aaaaaaaa-1111", "demo"),
        ("127.0.0.1", "bbbbbbbb-2222", "demo"),
        ("::1", "cccccccc-3333", "other"),
        ("web", "dddddddd-4444", "demo"),
        ("static-web", "eeeeeeee-5555", "demo"),
        ("bastion", "ffffffff-6666", "demo"),
        ("localhost", "abababab-7777", "other"),
    )
    guard = hosts.NameGuard(reserved=["BASTION"], existing={"static-web": None})
    renamed = []
    names = hosts.unique_host_names(views, guard=guard, renamed=renamed)
    assert names == [
        "localhost_demo_aaaaaaaa",
        "127.0.0.1_demo_bbbbbbbb",
        "::1_other_cccccccc",
        "web",
        "static-web_demo_eeeeeeee",
        "bastion_demo_ffffffff",
        "localhost_other_abababab",
    ]
    assert sorted(i for i, _why in renamed) == [0, 1, 2, 4, 5, 6]
    assert all(guard.reason(name) is None for name in names)
    for seed in range(3):  # stable: the same names whatever the listing order
        order = list(range(len(views)))
        random.Random(seed).shuffle(order)
        shuffled = hosts.unique_host_names([views[i] for i in order], guard=guard)
        assert [shuffled[order.index(i)] for i in range(len(views))] == names


def test_a_safe_name_taken_elsewhere_moves_on_and_the_same_server_keeps_its_name():
    views = named(("localhost", "aaaaaaaa-1111", "demo"), ("web-1", "bbbbbbbb-2222", "demo"))
    guard = hosts.NameGuard(existing={"localhost_demo_aaaaaaaa": None, "web-1": ("demo", "bbbbbbbb-2222")})
    assert hosts.unique_host_names(views, guard=guard) == ["localhost_demo_aaaaaaaa-1111", "web-1"]
    # by uuid: ids are checked too
    guard = hosts.NameGuard(existing={"bbbbbbbb-2222": None})
    assert hosts.unique_host_names(views, "uuid", guard=guard) == ["aaaaaaaa-1111", "bbbbbbbb-2222_demo_bbbbbbbb"]


def test_legacy_groups_named_by_the_tenant_are_checked():
    item = nova_server(
        3, name="localhost", metadata={"group": "webservers", "groups": "127.0.0.1, friends, web_2, all"}
    )
    view = view_of(item)
    guard = hosts.NameGuard(existing={"webservers": None})
    groups = hosts.legacy_groups(view, "localhost_demo_x", guard, host_names={"web_2", "localhost_demo_x"})
    assert "friends" in groups and "demo" in groups and "instance_%s" % view["id"].replace("-", "_") in groups
    for refused in ("localhost", "webservers", "web_2", "_27_0_0_1", "all"):
        assert refused not in groups


def test_metadata_groups_are_opt_in_and_bounded():
    view = view_of(nova_server(1, metadata={"role": "web", "app_name": "shop", "owner": "x"}))
    assert not [g for g in hosts.default_groups(view, metadata=hosts.MetadataGroups([], 20)) if g.startswith("meta")]
    groups = hosts.default_groups(view, metadata=hosts.MetadataGroups(["role", "app_*"], 20))
    assert [g for g in groups if g.startswith("meta")] == [
        "meta_app_name",
        "meta_app_name_shop",
        "meta_role",
        "meta_role_web",
    ]

    big = view_of(nova_server(2, metadata={"key-%05d" % i: "v" for i in range(10000)}))
    bound = hosts.MetadataGroups(["*"], 20)
    groups = hosts.default_groups(big, metadata=bound)
    meta = [g for g in groups if g.startswith("meta")]
    assert len(meta) == 20 and meta[:2] == ["meta_key_00000", "meta_key_00000_v"]
    assert bound.over == {big["id"]} and bound.example == ("vm-2", 10000)
    legacy = hosts.legacy_groups(big, "vm-2", metadata=bound)
    assert len([g for g in legacy if g.startswith("meta")]) == 20 and bound.over == {big["id"]}
