"""Three concurrent sync.yml processes with --limit slices leave the same CMDB as one run (PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import INVENTORY, query, recap, resources_without_timestamps
from support.paths import COLLECTION_ROOT
from support.postgres import drop_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def copy_database(postgres_server_url):
    """Clone a database (CREATE DATABASE ... TEMPLATE): the same registered accounts in a second CMDB."""
    import psycopg

    made = []

    def clone(url):
        source = url.rsplit("/", 1)[1]
        name = source + "_copy"
        with psycopg.connect(postgres_server_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (name, source))
        made.append(name)
        return url.rsplit("/", 1)[0] + "/" + name

    yield clone
    for name in made:
        drop_database(postgres_server_url, name)


def test_three_limit_slices_equal_one_run(ansible, estate_factory, postgres_url, copy_database):
    single_url = postgres_url
    estate = estate_factory(4, single_url)
    estate.register(ansible, cmdb_url=single_url)
    sliced_url = copy_database(single_url)

    one = ansible.playbook("playbooks/sync.yml", "--forks", "2", inventory=INVENTORY, env=estate.env(single_url))
    assert one.rc == 0, one.output
    assert len(set(recap(one.stdout)) - {"localhost"}) == 4  # localhost: the play that checks the inventory

    slices = ["openstack_clouds[0:1]", "openstack_clouds[2]", "openstack_clouds[3]"]
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/sync.yml", "-i", INVENTORY]
    procs = [
        subprocess.Popen(
            cmd + ["--forks", "2", "--limit", limit],
            env=ansible.env(estate.env(sliced_url)),
            cwd=COLLECTION_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for limit in slices
    ]
    outputs = [proc.communicate(timeout=600)[0] for proc in procs]
    hosts = {}
    for proc, output, size in zip(procs, outputs, (2, 1, 1)):
        assert proc.returncode == 0, output
        part = recap(output)
        assert len(part) == size, output
        assert not set(part) & set(hosts)  # the slices do not overlap
        hosts.update(part)
    assert len(hosts) == 4  # and together they cover every account

    single = resources_without_timestamps(single_url)
    assert len(single) > 4 * 4  # servers and their ports, networks, volumes of four clouds
    assert {row[2] for row in single} == {"servers", "networks", "ports", "volumes"}
    assert resources_without_timestamps(sliced_url) == single
    assert sorted(query(sliced_url, "SELECT cloud, region, type, status FROM sync_runs")) == sorted(
        query(single_url, "SELECT cloud, region, type, status FROM sync_runs")
    )
