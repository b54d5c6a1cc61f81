# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CMDB as netbox_sync reads it: servers per cloud and region, the change log as batches of touched servers,
and the rows and relations the desired NetBox state is built from (``module_utils/netbox/desired.py``).

Read only; every query is parameterized (SQLAlchemy Core). IN lists go out in chunks of ``queries.BATCH``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_SQLALCHEMY = False

from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.queries import BATCH

#: CMDB types whose changes can change what NetBox shows for a server.
RELEVANT_TYPES = ("servers", "ports", "floating_ips", "volumes", "images", "networks", "subnets")
#: Relevant changes mapped to servers at a time.
CHANGES_PER_LOOKUP = 2000


def _chunks(items, size=BATCH):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


class NetBoxView:
    """The reads netbox_sync makes in the CMDB (resources, relations, changes), for one open store."""

    def __init__(self, store):
        self.store = store
        self.res = schema.resources
        self.rel = schema.relations
        self.changes = schema.changes

    def clusters(self, clouds=None):
        """``[(cloud, region)]`` that have servers (live or tombstoned)."""
        res = self.res
        query = sa.select(res.c.cloud, res.c.region).where(res.c.type == "servers").distinct()
        if clouds:
            query = query.where(res.c.cloud.in_(list(clouds)))
        with self.store.read() as conn:
            return sorted((row.cloud, row.region) for row in conn.execute(query))

    def max_change_id(self, cloud=None, region=None):
        ch = self.changes
        query = sa.select(sa.func.max(ch.c.id))
        if cloud is not None:
            query = query.where(ch.c.cloud == cloud, ch.c.region == region)
        with self.store.read() as conn:
            return conn.execute(query).scalar() or 0

    def server_ids(self, cloud, region, after=None):
        res = self.res
        query = sa.select(res.c.id).where(res.c.cloud == cloud, res.c.region == region, res.c.type == "servers")
        if after:
            query = query.where(res.c.id > after)
        with self.store.read() as conn:
            return [row.id for row in conn.execute(query.order_by(res.c.id))]

    def change_batches(self, cloud, region, after, upto, batch_size):
        """Yield ``(last_change_id, set(server ids))`` for the relevant changes in (after, upto], in order."""
        ch = self.changes
        query = (
            sa.select(ch.c.id, ch.c.type, ch.c.resource_id)
            .where(
                ch.c.cloud == cloud,
                ch.c.region == region,
                ch.c.id > after,
                ch.c.id <= upto,
                ch.c.type.in_(RELEVANT_TYPES),
            )
            .order_by(ch.c.id)
        )
        with self.store.read() as conn:
            rows = [(row.id, row.type, row.resource_id) for row in conn.execute(query)]
        pending = []
        servers = set()
        for change_id, rtype, rid in rows:
            pending.append((change_id, rtype, rid))
            if len(pending) >= CHANGES_PER_LOOKUP or change_id == rows[-1][0]:
                servers |= self.servers_touched(cloud, region, pending)
                last = pending[-1][0]
                pending = []
                if len(servers) >= batch_size or change_id == rows[-1][0]:
                    yield last, servers
                    servers = set()

    def servers_touched(self, cloud, region, changes):
        """Server ids whose NetBox objects depend on the changed resources."""
        by_type = {}
        for _cid, rtype, rid in changes:
            by_type.setdefault(rtype, set()).add(rid)
        servers = set(by_type.get("servers", ()))
        rel = self.rel
        with self.store.read() as conn:

            def sources_to_servers(source_type, relation, ids):
                found = set()
                for chunk in _chunks(sorted(ids)):
                    for row in conn.execute(
                        sa.select(rel.c.target_id).where(
                            rel.c.cloud == cloud,
                            rel.c.region == region,
                            rel.c.source_type == source_type,
                            rel.c.relation == relation,
                            rel.c.target_type == "servers",
                            rel.c.source_id.in_(chunk),
                        )
                    ):
                        if row.target_id:
                            found.add(row.target_id)
                return found

            def targets_to_sources(source_type, target_type, ids):
                found = set()
                for chunk in _chunks(sorted(ids)):
                    for row in conn.execute(
                        sa.select(rel.c.source_id).where(
                            rel.c.cloud == cloud,
                            rel.c.region == region,
                            rel.c.source_type == source_type,
                            rel.c.target_type == target_type,
                            rel.c.target_id.in_(chunk),
                        )
                    ):
                        found.add(row.source_id)
                return found

            servers |= sources_to_servers("ports", "device", by_type.get("ports", ()))
            servers |= sources_to_servers("volumes", "servers", by_type.get("volumes", ()))
            fips = by_type.get("floating_ips", ())
            if fips:
                servers |= sources_to_servers("floating_ips", "server", fips)
                ports = set()
                for chunk in _chunks(sorted(fips)):
                    for row in conn.execute(
                        sa.select(rel.c.target_id).where(
                            rel.c.cloud == cloud,
                            rel.c.region == region,
                            rel.c.source_type == "floating_ips",
                            rel.c.relation == "port",
                            rel.c.source_id.in_(chunk),
                        )
                    ):
                        if row.target_id:
                            ports.add(row.target_id)
                servers |= sources_to_servers("ports", "device", ports)
            images = by_type.get("images", ())
            if images:
                servers |= targets_to_sources("servers", "images", images)
            networks = set(by_type.get("networks", ()))
            subnets = by_type.get("subnets", ())
            ports = set()
            if subnets:
                ports |= targets_to_sources("ports", "subnets", subnets)
            if networks:
                ports |= targets_to_sources("ports", "networks", networks)
            if ports:
                servers |= sources_to_servers("ports", "device", ports)
        return servers

    def rows(self, cloud, region, rtype, ids):
        res = self.res
        found = {}
        with self.store.read() as conn:
            for chunk in _chunks(sorted(set(i for i in ids if i))):
                for row in conn.execute(
                    sa.select(
                        res.c.id,
                        res.c.name,
                        res.c.project_id,
                        res.c.status,
                        res.c.attributes,
                        res.c.first_seen,
                        res.c.deleted_at,
                    ).where(res.c.cloud == cloud, res.c.region == region, res.c.type == rtype, res.c.id.in_(chunk))
                ):
                    found[row.id] = row
        return found

    def related_sources(self, cloud, region, source_type, relation, target_ids):
        """``{target_id: [source_id, ...]}`` for edges source --relation--> target."""
        rel = self.rel
        found = {}
        with self.store.read() as conn:
            for chunk in _chunks(sorted(target_ids)):
                for row in conn.execute(
                    sa.select(rel.c.source_id, rel.c.target_id).where(
                        rel.c.cloud == cloud,
                        rel.c.region == region,
                        rel.c.source_type == source_type,
                        rel.c.relation == relation,
                        rel.c.target_id.in_(chunk),
                    )
                ):
                    found.setdefault(row.target_id, []).append(row.source_id)
        return found

    def same_names(self, cloud, region, names, live_since):
        """Servers (live, or deleted after ``live_since``) whose lower-cased name is in ``names``."""
        res = self.res
        found = []
        with self.store.read() as conn:
            for chunk in _chunks(sorted(names)):
                for row in conn.execute(
                    sa.select(res.c.id, res.c.name, res.c.project_id, res.c.first_seen).where(
                        res.c.cloud == cloud,
                        res.c.region == region,
                        res.c.type == "servers",
                        sa.func.lower(res.c.name).in_(chunk),
                        sa.or_(res.c.deleted_at.is_(None), res.c.deleted_at > live_since),
                    )
                ):
                    found.append(row)
        return found
