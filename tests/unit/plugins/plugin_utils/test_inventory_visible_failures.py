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
