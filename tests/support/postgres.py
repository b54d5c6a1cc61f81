"""A real PostgreSQL server for tests: one throw-away database per test."""

from __future__ import annotations

import os
import uuid

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class PostgresUnavailable(Exception):
    pass


def _libpq(url):
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def probe():
    url = os.environ.get("CMDB_TEST_POSTGRES_URL", DEFAULT_URL)
    try:
        import psycopg
    except ImportError as exc:
        raise PostgresUnavailable("psycopg is not installed (%s)" % exc)
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        raise PostgresUnavailable("cannot connect to %s: %s" % (url, str(exc).strip()))
    return url


def create_database(server_url):
    import psycopg

    name = "cmdb_test_%s" % uuid.uuid4().hex[:12]
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "%s"' % name)
    return server_url.rsplit("/", 1)[0] + "/" + name, name


def drop_database(server_url, name):
    import psycopg

    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
