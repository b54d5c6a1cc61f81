# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CMDB tables (SQLAlchemy Core), as of the newest migration in ``migrations.py``.

The database is created and upgraded by ``migrations.py`` only; these ``Table`` objects are what
queries are written against. A unit test compares a migrated database with this metadata, so the
two cannot drift apart. Timestamps of our own (``first_seen``, ``at``, ...) are naive UTC
``DateTime``; ``created_at``/``updated_at`` of a resource are the API's strings, unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    import sqlalchemy as sa

    HAS_SQLALCHEMY = True
    SQLALCHEMY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False
    SQLALCHEMY_IMPORT_ERROR = traceback.format_exc()

#: Lengths of key columns (PostgreSQL enforces them; SQLite does not).
NAME_LEN = 255
TYPE_LEN = 64
HASH_LEN = 64


def id_type():
    """Auto-increment primary key: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def json_type():
    """JSON column. On PostgreSQL ``json`` (not ``jsonb``): it keeps strings exactly, NUL escapes too."""
    return sa.JSON()


def _build(metadata):
    t = {}
    t["clouds"] = sa.Table(
        "clouds",
        metadata,
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
        # Project scope (0003): every project (true), or the token's project / the listed ones.
        sa.Column("all_projects", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("projects", json_type(), nullable=True),
    )
    t["resources"] = sa.Table(
        "resources",
        metadata,
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
    t["relations"] = sa.Table(
        "relations",
        metadata,
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
    t["changes"] = sa.Table(
        "changes",
        metadata,
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
    t["sync_runs"] = sa.Table(
        "sync_runs",
        metadata,
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
    t["staging"] = sa.Table(
        "staging",
        metadata,
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
    t["locks"] = sa.Table(
        "locks",
        metadata,
        sa.Column("name", sa.String(NAME_LEN), primary_key=True),
        sa.Column("owner", sa.String(NAME_LEN), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    t["cloud_identities"] = sa.Table(
        "cloud_identities",
        metadata,
        sa.Column("cloud", sa.String(NAME_LEN), primary_key=True),
        sa.Column("fingerprint", sa.String(HASH_LEN), nullable=False),
        sa.Column("identity", json_type(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    return t


if HAS_SQLALCHEMY:
    metadata = sa.MetaData()
    TABLES = _build(metadata)
    clouds = TABLES["clouds"]
    resources = TABLES["resources"]
    relations = TABLES["relations"]
    changes = TABLES["changes"]
    sync_runs = TABLES["sync_runs"]
    staging = TABLES["staging"]
    locks = TABLES["locks"]
    cloud_identities = TABLES["cloud_identities"]
else:  # pragma: no cover
    metadata = TABLES = None
    clouds = resources = relations = changes = sync_runs = staging = locks = cloud_identities = None
