"""Server records in the format of docs/architecture.md, and a CMDB filled with them (no cloud needed).

Used by the inventory plugin's unit tests, its integration tests and its benchmark
(``python tests/unit/plugins/inventory/inventory_fakes.py --bench 10000``).
"""

from __future__ import annotations

import datetime
import hashlib
import sys

INJECTION = "{{ lookup('pipe', 'id') }}"


def _uuid(*parts):
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()
    return "%s-%s-%s-%s-%s" % (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])


def nova_server(
    index,
    cloud="demo",
    name=None,
    project="p1",
    status="ACTIVE",
    floating=True,
    metadata=None,
    image_id=None,
    volume_ids=(),
    zone="nova",
    network="private-net",
    fixed=None,
    public=None,
):
    """One Nova ``/servers/detail`` item (the fields the inventory reads, as Nova returns them)."""
    sid = _uuid(cloud, "server", index)
    fixed = fixed or "10.0.%d.%d" % (index // 250 % 250, index % 250 + 2)
    addresses = {
        network: [
            {"OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01", "OS-EXT-IPS:type": "fixed", "addr": fixed, "version": 4}
        ]
    }
    if floating:
        addresses[network].append(
            {
                "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01",
                "OS-EXT-IPS:type": "floating",
                "addr": "203.0.113.%d" % (index % 250 + 1),
                "version": 4,
            }
        )
    if public:
        addresses["public"] = [{"OS-EXT-IPS:type": "fixed", "addr": public, "version": 4}]
    return {
        "id": sid,
        "name": name if name is not None else "vm-%d" % index,
        "status": status,
        "tenant_id": project,
        "user_id": "u1",
        "created": "2026-11-23T11:44:48Z",
        "updated": "2026-11-23T11:44:56Z",
        "OS-EXT-AZ:availability_zone": zone,
        "OS-EXT-SRV-ATTR:host": "compute-1",
        "OS-EXT-SRV-ATTR:user_data": "c2VjcmV0LXVzZXItZGF0YQ==",
        "key_name": "key-1",
        "addresses": addresses,
        "flavor": {"original_name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20, "extra_specs": {}},
        "image": {"id": image_id or _uuid(cloud, "image", 0)},
        "metadata": dict(metadata if metadata is not None else {"role": "web" if index % 2 else "db"}),
        "security_groups": [{"name": "default"}],
        "os-extended-volumes:volumes_attached": [{"id": v, "delete_on_termination": False} for v in volume_ids],
        "tags": [],
    }


def record(item, rtype="servers", cloud="demo", region="RegionOne"):
    """A record (docs/architecture.md) through the collection's own normalizer."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.normalize import normalize

    return dict(normalize(rtype, item, cloud, region))


def estate(servers=20, cloud="demo", region="RegionOne", **kwargs):
    """{type: [records]} for one cloud/region: servers (one volume each), the image, the volumes."""
    image = {"id": _uuid(cloud, "image", 0), "name": "cirros-0.6", "status": "active", "owner": "p1"}
    volumes = []
    items = []
    for index in range(servers):
        vid = _uuid(cloud, "volume", index)
        volumes.append({"id": vid, "name": "vol-%d" % index, "status": "in-use", "size": 1, "attachments": []})
        items.append(nova_server(index, cloud=cloud, image_id=image["id"], volume_ids=[vid], **kwargs))
    return {
        "servers": [record(i, "servers", cloud, region) for i in items],
        "images": [record(image, "images", cloud, region)],
        "volumes": [record(v, "volumes", cloud, region) for v in volumes],
    }


def fill_cmdb(store, records_by_type, cloud="demo", region="RegionOne"):
    """Write complete listings into the CMDB with the collection's own writer (as cmdb_sync does)."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.apply import CmdbWriter
    from ansible_collections.cmdb.openstack.plugins.module_utils.gather import Scope, ScopeReport

    writer = CmdbWriter(store, cloud=cloud)
    for rtype, records in records_by_type.items():
        scope = Scope(cloud, region, rtype)
        writer.start(scope)
        for start in range(0, len(records), 1000):
            writer.page(scope, records[start : start + 1000])
        report = ScopeReport(scope)
        report.count = len(records)
        writer.finish(scope, report)
    return writer


def age_cmdb(store, cloud, seconds):
    """Pretend the cloud's data was last synced ``seconds`` ago (moves sync runs and last_seen back)."""
    import sqlalchemy as sa

    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema

    then = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=seconds)
    with store.write() as conn:
        conn.execute(
            sa.update(schema.sync_runs)
            .where(schema.sync_runs.c.cloud == cloud)
            .values(started_at=then, finished_at=then)
        )
        conn.execute(
            sa.update(schema.resources).where(schema.resources.c.cloud == cloud).values(first_seen=then, last_seen=then)
        )


def _bench(count):  # pragma: no cover - a measurement, not a test
    import os
    import tempfile
    import time

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", ".."))
    import support.paths  # noqa: F401  (the collection on sys.path)

    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.store import open_store
    from ansible_collections.cmdb.openstack.plugins.plugin_utils import inventory_sources

    tmp = tempfile.mkdtemp()
    url = "sqlite:///%s/cmdb.sqlite" % tmp
    store = open_store(url)
    fill_cmdb(store, estate(count))
    store.close()
    path = os.path.join(tmp, "bench.cmdb_openstack.yml")
    with open(path, "w") as handle:
        handle.write("plugin: cmdb.openstack.inventory\ncmdb_url: %s\n" % url)

    started = time.perf_counter()
    store = inventory_sources.open_cmdb(url)
    data = inventory_sources.read_cmdb(store)
    read = time.perf_counter() - started

    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    started = time.perf_counter()
    manager = InventoryManager(loader=DataLoader(), sources=[path])
    total = time.perf_counter() - started
    print(
        "%d servers: CMDB read %.3f s; full plugin parse (InventoryManager) %.3f s; %d hosts, %d groups"
        % (len(data.views), read, total, len(manager.hosts), len(manager.groups))
    )


if __name__ == "__main__":  # pragma: no cover
    _bench(int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--bench" else 10000)
