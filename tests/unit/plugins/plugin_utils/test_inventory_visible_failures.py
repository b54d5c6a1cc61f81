"""The live inventory keeps openstack.cloud's ``fail_on_errors`` semantics but never hides a failure
(issue 17): a failed listing that only loses names is a warning, and so is a made-up cloud name."""

from __future__ import annotations

from inventory_fakes import nova_server, record

from ansible_collections.cmdb.openstack.plugins.module_utils.gather import Scope, ScopeReport
from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_sources as sources


class Session:
    def __init__(self, name):
        self.name = name
        self.warnings = ["the cloud from OS_* variables has no name and is named %r; name it" % name]

    def close(self):
        pass


def test_a_failed_names_listing_is_a_warning_not_a_failure():
    def open_cloud(params, name=None):
        return Session(name)

    def gather(session, types, **kwargs):
        reports = []
        for rtype in types:
            report = ScopeReport(Scope(session.name, "RegionOne", rtype), keep_records=True)
            if rtype == "images":
                report.fail("forbidden", "cloud %r region 'RegionOne' images: HTTP 403" % session.name, 403)
            elif rtype == "servers":
                report.records.extend(record(nova_server(i, cloud=session.name), cloud=session.name) for i in range(2))
            reports.append(report)
        return reports

    data = sources.read_live([{"name": "h:5000/alpha", "params": {}}], timeout=10, open_cloud=open_cloud, gather=gather)
    assert len(data.views) == 2 and data.failures == []  # fail_on_errors is about hosts: none lost
    assert any("images not listed (forbidden)" in w and "'h:5000/alpha'" in w for w in data.warnings), data.warnings
    assert any("name it" in w for w in data.warnings)


def test_an_accounts_project_scope_decides_the_listing_and_the_servers_kept():
    """An account's all_projects/projects (cloud_account) override the option, per cloud."""
    calls = {}

    def open_cloud(params, name=None):
        return Session(name)

    def gather(session, types, all_projects=False, **kwargs):
        calls[session.name] = all_projects
        reports = []
        for rtype in types:
            report = ScopeReport(Scope(session.name, "RegionOne", rtype), keep_records=True)
            if rtype == "servers":
                report.records.extend(
                    record(nova_server(i, cloud=session.name, project=project), cloud=session.name)
                    for i, project in enumerate(("p1", "p2", "p3"))
                )
            reports.append(report)
        return reports

    assert sources.account_scope({"name": "a"}) == {}
    assert sources.account_scope({"all_projects": True, "projects": ["p1", ""]}) == {
        "all_projects": True,
        "projects": ["p1"],
    }
    targets = [
        dict({"name": "plain", "params": {}}, **sources.account_scope({})),
        dict({"name": "every", "params": {}}, **sources.account_scope({"all_projects": True})),
        dict({"name": "some", "params": {}}, **sources.account_scope({"projects": ["p1", "p3"]})),
    ]
    data = sources.read_live(targets, timeout=10, open_cloud=open_cloud, gather=gather)
    assert calls == {"plain": False, "every": True, "some": True}
    projects = {}
    for view in data.views:
        projects.setdefault(view["cloud"], set()).add(view["project_id"])
    assert projects == {"plain": {"p1", "p2", "p3"}, "every": {"p1", "p2", "p3"}, "some": {"p1", "p3"}}
