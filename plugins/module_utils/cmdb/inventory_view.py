# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the inventory plugins read from the CMDB: every query of ``source: cmdb``, read-only.

``open_read_only`` opens the CMDB without creating or migrating anything (a missing SQLite file is
an error naming the URL, password masked). ``server_rows`` runs the fixed handful of set-based
queries of ``cmdb.openstack.inventory`` (servers; the floating IPs that point at them; the names of
related resources; "last successful sync" from ``queries.last_ok_syncs``, the one definition that
``cmdb_info`` uses too; the sync status) whatever the number of servers. ``known_clouds`` lists the
clouds the CMDB knows, so that ``only_clouds`` can refuse a name it does not know.

Turning the rows into host variables is ``plugin_utils/inventory_sources`` (no SQL there).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def open_read_only(url=None):
    """The CMDB at ``url`` (option, else ``$CMDB_URL``, else the default), opened by ``store.open_reader``:
    never creates a file, a directory or a schema, never migrates; a missing SQLite file is a
    ``StoreError`` naming the URL (with any password masked)."""
    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import store as _store

    return _store.open_reader(_store.resolve_url(url))


class _engine_reader:
    def __init__(self, engine):
        self.engine = engine
        self.connection = None

    def __enter__(self):
        self.connection = self.engine.connect()
        return self.connection

    def __exit__(self, *exc):
        try:
            self.connection.rollback()
        finally:
            self.connection.close()


def _reader(store):
    """A read connection of a ``Store``, or of a plain SQLAlchemy Engine (tests)."""
    return store.read() if hasattr(store, "read") else _engine_reader(store)


def _dialect_of(store):
    engine = getattr(store, "engine", store)
    return engine.dialect.name


def view_attributes(column, dialect, keys, subkeys):
    """The ``attributes`` keys a host view reads (``keys``; of the keys in ``subkeys`` only those
    sub-keys), as one small JSON object (about 500 bytes instead of 2 KB a server).

    Built by the database (SQLite >= 3.38 ``json_object`` of ``->``, PostgreSQL ``json_build_object``
    of ``->``), so that neither the whole Nova item (user_data, ~2 KB a server) is transferred nor
    decoded. Both keep the JSON text of each value as stored, so strings come back exact (SQLite
    keeps NUL escapes; PostgreSQL returns an item with a NUL escape whole). Other databases, and
    older SQLite, read the whole column.
    """
    import sqlalchemy as sa

    if dialect == "sqlite":
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 38, 0):
            return column

        def sqlite_value(*path):
            return column.op("->")(sa.literal_column("'$.%s'" % ".".join('"%s"' % key for key in path)))

        args = []
        for key in keys:
            value = sqlite_value(key)
            if key in subkeys:
                sub = []
                for subkey in subkeys[key]:
                    sub += [sa.literal_column("'%s'" % subkey), sqlite_value(key, subkey)]
                value = sa.func.json_object(*sub)
            args += [sa.literal_column("'%s'" % key), value]
        return sa.func.json_object(*args)
    if dialect == "postgresql":
        args = []
        for key in keys:
            quoted = sa.literal_column("'%s'" % key)
            value = column.op("->")(quoted)
            if key in subkeys:
                sub = []
                for subkey in subkeys[key]:
                    subquoted = sa.literal_column("'%s'" % subkey)
                    sub += [subquoted, column.op("->")(quoted).op("->")(subquoted)]
                value = sa.func.json_build_object(*sub)
            args += [quoted, value]
        # PostgreSQL's json operators refuse a \u0000 escape ("cannot be converted to text"), which the
        # json column stores fine: such items (rare; names with NUL from a hostile cloud) come whole.
        has_nul = sa.func.strpos(sa.cast(column, sa.Text), sa.literal_column("'\\u0000'")) > 0
        return sa.case((has_nul, column), else_=sa.func.json_build_object(*args))
    return column


class ServerRows:
    """The rows of one ``server_rows`` read.

    ``servers``: (cloud, region, id, name, project_id, status, created_at, updated_at, attributes
    JSON, first_seen, last_seen, deleted_at), datetimes as text or datetime; ``relations``: floating
    IP -> server (cloud, region, source_type, source_id, relation, target_type, target_id,
    target_name); ``names``: (cloud, region, type, id, name) of ``name_types``; ``last_ok``:
    ``queries.last_ok_syncs`` of servers; ``status``: ``queries.sync_status``.
    """

    def __init__(self, servers, relations, names, last_ok, status):
        self.servers = servers
        self.relations = relations
        self.names = names
        self.last_ok = last_ok
        self.status = status


def server_rows(
    store,
    clouds=None,
    regions=None,
    projects=None,
    include_deleted=False,
    attributes=(),
    subkeys=None,
    name_types=(),
    now=None,
):
    """Read the servers of ``store`` (a ``Store`` or an SQLAlchemy Engine) for the inventory.

    ``clouds``/``regions``/``projects``: only these (empty = all). ``attributes``/``subkeys``: the
    keys of the stored item to read (see :func:`view_attributes`; empty = the whole item).
    ``name_types``: the types whose names are read (``names``).
    """
    import sqlalchemy as sa

    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import queries, schema

    res = schema.resources
    rel = schema.relations

    def scoped(query, table):
        if clouds:
            query = query.where(table.c.cloud.in_(list(clouds)))
        if regions:
            query = query.where(table.c.region.in_(list(regions)))
        return query

    item = (
        view_attributes(res.c.attributes, _dialect_of(store), attributes, subkeys or {})
        if attributes
        else res.c.attributes
    )
    server_q = scoped(
        sa.select(
            res.c.cloud,
            res.c.region,
            res.c.id,
            res.c.name,
            res.c.project_id,
            res.c.status,
            res.c.created_at,
            res.c.updated_at,
            item,
            # SQLite stores datetimes as text; SQLAlchemy's parsing of 30,000 of them costs more than
            # fromisoformat, which takes text or datetime (PostgreSQL) alike.
            sa.type_coerce(res.c.first_seen, sa.String),
            sa.type_coerce(res.c.last_seen, sa.String),
            sa.type_coerce(res.c.deleted_at, sa.String),
        ).where(res.c.type == "servers"),
        res,
    )
    if not include_deleted:
        server_q = server_q.where(res.c.deleted_at.is_(None))
    if projects:
        server_q = server_q.where(res.c.project_id.in_(list(projects)))
    relation_q = scoped(
        sa.select(
            rel.c.cloud,
            rel.c.region,
            rel.c.source_type,
            rel.c.source_id,
            rel.c.relation,
            rel.c.target_type,
            rel.c.target_id,
            rel.c.target_name,
        ).where(rel.c.source_type == "floating_ips", rel.c.relation == "server"),
        rel,
    )
    names_q = scoped(
        sa.select(res.c.cloud, res.c.region, res.c.type, res.c.id, res.c.name).where(
            res.c.type.in_(list(name_types)), res.c.deleted_at.is_(None)
        ),
        res,
    )
    with _reader(store) as connection:
        servers = connection.execute(server_q).fetchall()
        relations = connection.execute(relation_q).fetchall()
        names = connection.execute(names_q).fetchall() if name_types else []
        # The one definition of "last successful sync" (cmdb_info uses it too).
        last_ok = queries.last_ok_syncs(connection, clouds or None, regions or None, ["servers"])
        status = queries.sync_status(connection, clouds or None, regions or None, now=now)
    return ServerRows(servers, relations, names, last_ok, status)


def known_clouds(store):
    """Every cloud name the CMDB knows: of stored resources, of sync runs and of registered accounts."""
    import sqlalchemy as sa

    from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema

    query = sa.union(
        sa.select(schema.resources.c.cloud).distinct(),
        sa.select(schema.sync_runs.c.cloud).distinct(),
        sa.select(schema.clouds.c.name).where(schema.clouds.c.deleted_at.is_(None)),
    )
    with _reader(store) as connection:
        return sorted(set(row[0] for row in connection.execute(query) if row[0]))
