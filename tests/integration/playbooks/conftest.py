"""Helpers of the playbook tests: simulator clouds registered as accounts, CMDB reads."""

from __future__ import annotations

import os
import re

import pytest
from support.paths import COLLECTION_ROOT

INVENTORY = os.path.join(COLLECTION_ROOT, "playbooks", "inventory", "openstack_clouds.yml")

#: Small clouds and a few enabled types keep the playbook tests fast; the gather and CMDB tests cover
#: every type. The others are disabled on the accounts, so the due logic (not the test) leaves them out.
SMALL = {"servers": 4, "projects": 1}
ENABLED = ("servers", "networks", "ports", "volumes")


def resources(enabled=ENABLED):
    from ansible_collections.cmdb.openstack.plugins.module_utils.catalog import RESOURCE_TYPE_NAMES

    return {name: {"enabled": name in enabled} for name in RESOURCE_TYPE_NAMES}


class Estate:
    """Several simulator clouds, a clouds.yaml naming them, and the environment the playbooks need."""

    def __init__(self, sim, tmp_path, count, cmdb_url, regions=("RegionOne",)):
        self.clouds = {}
        for index in range(count):
            name = "acct%d" % index
            self.clouds[name] = sim.add_cloud(name=name, regions=regions, seed=100 + index, **SMALL)
        self.clouds_yaml = tmp_path / "clouds.yaml"
        sim.write_clouds_yaml(
            str(self.clouds_yaml), {n: c.clouds_yaml_entry(user="admin") for n, c in self.clouds.items()}
        )
        self.cmdb_url = cmdb_url
        self.regions = list(regions)
        self.enabled = ENABLED

    def env(self, cmdb_url=None):
        return {"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "CMDB_URL": cmdb_url or self.cmdb_url}

    def accounts(self, **extra):
        base = {"regions": self.regions, "resources": resources()}
        return [dict(base, name=n, cloud=n, **extra) for n in self.clouds]

    def register(self, ansible, cmdb_url=None, **extra):
        result = ansible.playbook(
            "playbooks/register.yml", extra_vars={"cmdb_accounts": self.accounts(**extra)}, env=self.env(cmdb_url)
        )
        assert result.rc == 0, result.output
        return result


def recap(output):
    """{host: {"ok": n, "changed": n, "failed": n, "skipped": n}} from the PLAY RECAP."""
    hosts = {}
    for match in re.finditer(
        r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", output, re.M
    ):
        hosts[match[1]] = {
            "ok": int(match[2]),
            "changed": int(match[3]),
            "failed": int(match[5]),
            "skipped": int(match[6]),
        }
    return hosts


def query(url, sql, **params):
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def resources_without_timestamps(url):
    """The resources table as comparable rows: every column but first_seen/last_seen."""
    import json

    rows = query(
        url,
        "SELECT cloud, region, type, id, name, project_id, status, created_at, updated_at, attributes, "
        "content_hash, deleted_at IS NULL FROM resources",
    )
    result = []
    for row in rows:
        attributes = row[9] if not isinstance(row[9], str) else json.loads(row[9])
        result.append(row[:9] + (json.dumps(attributes, sort_keys=True),) + row[10:])
    return sorted(result)


@pytest.fixture
def estate_factory(os_simulator, tmp_path):
    def make(count, cmdb_url, regions=("RegionOne",)):
        return Estate(os_simulator, tmp_path, count, cmdb_url, regions=regions)

    return make
