# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Versioned CMDB schema migrations, as Python functions applied with Alembic's operations API.

Modules run through AnsiballZ, which ships the imported module_utils but no migration script
directory, so the revisions live here: ``REVISIONS`` is the ordered list of ``(revision, function)``;
each function receives an ``alembic.operations.Operations`` bound to the open transaction. The
current revision is kept in Alembic's own ``alembic_version`` table (one row), so the ``alembic``
command line reads it too.

``upgrade(engine)`` runs on every open: a cheap read when the database is current; otherwise it
takes the migration lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-level advisory
lock), re-reads the revision and applies the missing revisions in that one transaction, so two
processes opening a new database at once migrate it exactly once.

Rules for new revisions: never edit a released revision (each is frozen: it spells its tables out
instead of importing ``schema.py``); append a new function, update ``schema.py`` to match (a unit
test compares a migrated database with ``schema.metadata``), set ``store.SCHEMA_HEAD`` to the new
revision (read-only opens check it without importing this module; a unit test keeps the two equal),
and use ``op.batch_alter_table`` for column changes so they also work on SQLite.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    import sqlalchemy as sa
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    HAS_ALEMBIC = True
    ALEMBIC_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_ALEMBIC = False
    ALEMBIC_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError

VERSION_TABLE = "alembic_version"
#: Key of the PostgreSQL advisory lock taken while migrating (any constant; "cmdbmig" in ASCII).
PG_MIGRATION_LOCK_KEY = 0x636D64626D6967

NAME_LEN = 255
TYPE_LEN = 64
HASH_LEN = 64


def id_type():
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def json_type():
    return sa.JSON()


def _rev_0001_initial(op):
    """The initial schema: clouds, resources, relations, changes, sync_runs, staging, locks."""
    op.create_table(
        "clouds",
        sa.Column("name", sa.String(NAME_LEN), primary_key=True),
        sa.Column("connection", json_type(), nullable=True),
        sa.Column("regions", json_type(), nullable=True),
        sa.Column("settings", json_type(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("pause_after_auth_failures", sa.Integer(), nullable=True),
        sa.Column("auth_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_auth_error", sa.Text(), nullable=True),
        sa.Column("last_auth_error_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "resources",
        sa.Column("cloud", sa.String(NAME_LEN), primary_key=True),
        sa.Column("region", sa.String(NAME_LEN), primary_key=True),
        sa.Column("type", sa.String(TYPE_LEN), primary_key=True),
        sa.Column("id", sa.String(NAME_LEN), primary_key=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("project_id", sa.String(NAME_LEN), nullable=True),
        sa.Column("status", sa.String(TYPE_LEN), nullable=True),
        sa.Column("created_at", sa.String(TYPE_LEN), nullable=True),
        sa.Column("updated_at", sa.String(TYPE_LEN), nullable=True),
        sa.Column("attributes", json_type(), nullable=True),
        sa.Column("content_hash", sa.String(HASH_LEN), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Index("ix_resources_type_name", "type", "name"),
        sa.Index("ix_resources_project", "project_id"),
        sa.Index("ix_resources_deleted_at", "deleted_at"),
    )
    op.create_table(
        "relations",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column("cloud", sa.String(NAME_LEN), nullable=False),
        sa.Column("region", sa.String(NAME_LEN), nullable=False),
        sa.Column("source_type", sa.String(TYPE_LEN), nullable=False),
        sa.Column("source_id", sa.String(NAME_LEN), nullable=False),
        sa.Column("relation", sa.String(TYPE_LEN), nullable=False),
        sa.Column("target_type", sa.String(TYPE_LEN), nullable=True),
        sa.Column("target_id", sa.String(NAME_LEN), nullable=True),
        sa.Column("target_name", sa.Text(), nullable=True),
        sa.Index("ix_relations_source", "cloud", "region", "source_type", "source_id"),
        sa.Index("ix_relations_target", "cloud", "target_type", "target_id"),
    )
    op.create_table(
        "changes",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column("sync_run_id", id_type(), nullable=True),
        sa.Column("cloud", sa.String(NAME_LEN), nullable=False),
        sa.Column("region", sa.String(NAME_LEN), nullable=False),
        sa.Column("type", sa.String(TYPE_LEN), nullable=False),
        sa.Column("resource_id", sa.String(NAME_LEN), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("diff", json_type(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Index("ix_changes_resource", "cloud", "type", "resource_id"),
        sa.Index("ix_changes_at", "at"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column("cloud", sa.String(NAME_LEN), nullable=False),
        sa.Column("region", sa.String(NAME_LEN), nullable=False),
        sa.Column("type", sa.String(TYPE_LEN), nullable=False),
        sa.Column("project_id", sa.String(NAME_LEN), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("counts", json_type(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(NAME_LEN), nullable=True),
        sa.Index("ix_sync_runs_scope", "cloud", "region", "type", "status", "started_at"),
    )
    op.create_table(
        "staging",
        sa.Column("seq", id_type(), primary_key=True, autoincrement=True),
        sa.Column("sync_run_id", id_type(), nullable=False),
        sa.Column("cloud", sa.String(NAME_LEN), nullable=False),
        sa.Column("region", sa.String(NAME_LEN), nullable=False),
        sa.Column("type", sa.String(TYPE_LEN), nullable=False),
        sa.Column("resource_id", sa.String(NAME_LEN), nullable=False),
        sa.Column("content_hash", sa.String(HASH_LEN), nullable=False),
        sa.Column("record", json_type(), nullable=False),
        sa.Index("ix_staging_run", "sync_run_id"),
        sa.Index("ix_staging_scope", "cloud", "region", "type"),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(NAME_LEN), primary_key=True),
        sa.Column("owner", sa.String(NAME_LEN), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )


def _rev_0002_cloud_identities(op):
    """What fed each CMDB cloud (auth URL, project, user or application credential; never a secret),
    so that a run with other credentials cannot write under, and sweep, another account's cloud name."""
    op.create_table(
        "cloud_identities",
        sa.Column("cloud", sa.String(NAME_LEN), primary_key=True),
        sa.Column("fingerprint", sa.String(HASH_LEN), nullable=False),
        sa.Column("identity", json_type(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def _rev_0003_account_projects(op):
    """Per-account project scope: ``all_projects`` (true: every project, as before) and ``projects``
    (a list of project names or ids the listing is limited to)."""
    with op.batch_alter_table("clouds") as batch:
        batch.add_column(sa.Column("all_projects", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("projects", json_type(), nullable=True))


#: Ordered revisions: (revision id, function). Append only.
REVISIONS = (
    ("0001_initial", _rev_0001_initial),
    ("0002_cloud_identities", _rev_0002_cloud_identities),
    ("0003_account_projects", _rev_0003_account_projects),
)
HEAD = REVISIONS[-1][0]


def _version_table():
    return sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), primary_key=True),
    )


def current_revision(connection):
    """The database's revision (None for an empty database)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _pending(current):
    names = [name for name, _func in REVISIONS]
    if current is None:
        return list(REVISIONS)
    if current not in names:
        raise StoreError(
            "the CMDB schema is at revision %r, which this version of cmdb.openstack does not know "
            "(it knows %s): the database was upgraded by a newer version; upgrade the collection" % (current, HEAD)
        )
    return list(REVISIONS[names.index(current) + 1 :])


def upgrade(engine):
    """Bring the database at ``engine`` to ``HEAD``; return the list of revisions applied."""
    with engine.connect() as connection:
        if not _pending(current_revision(connection)):
            connection.rollback()
            return []
        connection.rollback()
    with engine.connect() as connection:
        connection = connection.execution_options(cmdb_write=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
            current = current_revision(connection)
            pending = _pending(current)
            if not pending:
                return []
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            op = Operations(context)
            version = _version_table()
            if current is None:
                version.create(connection, checkfirst=True)
            for _name, func in pending:
                func(op)
            connection.execute(version.delete())
            connection.execute(version.insert().values(version_num=pending[-1][0]))
            return [name for name, _func in pending]
