"""Every connection option of the doc fragment reaches open_cloud, in cmdb_sync and cloud_permissions_info."""

from __future__ import annotations

import pytest

from ansible_collections.cmdb.openstack.plugins.module_utils import connection, permissions
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.sync import run_sync
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import CmdbError

GIVEN = {
    "cloud": "mycloud",
    "auth_type": "password",
    "region_name": ["RegionOne"],
    "interface": "internal",
    "validate_certs": False,
    "ca_cert": "/etc/ssl/ca.pem",
    "api_timeout": 7.0,
    "connect_timeout": 3.0,
    "deadline": "20m",
}


class Stop(CmdbError):
    pass


def recording_open_cloud(seen):
    def open_cloud(params, name=None, policy=None):
        seen.update(params)
        raise Stop("recorded")

    return open_cloud


def test_the_connection_options_cover_the_argument_spec():
    assert set(GIVEN) | {"auth"} == set(connection.CONNECTION_ARGUMENT_SPEC)


def test_cmdb_sync_passes_every_connection_option(tmp_path):
    seen = {}
    params = dict(GIVEN, cmdb_url="sqlite:///%s" % (tmp_path / "cmdb.sqlite"), types=["servers"])
    with pytest.raises(Stop):
        run_sync(params, open_cloud=recording_open_cloud(seen), gather=lambda *a, **k: None)
    assert seen == GIVEN


def test_cloud_permissions_info_passes_every_connection_option():
    seen = {}
    with pytest.raises(Stop):
        permissions.run_permissions_info(dict(GIVEN, types=["all"]), open_cloud=recording_open_cloud(seen))
    assert seen == GIVEN
