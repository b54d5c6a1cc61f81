# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open the CMDB database (SQLite or PostgreSQL), migrate it, and give out transactions and locks.

``open_store(url)`` is the only way in: it resolves the URL (option, then ``CMDB_URL``, then
``DEFAULT_URL``), creates the SQLite directory, opens the engine with WAL mode and a busy timeout
on SQLite, migrates the schema (``migrations.upgrade``; a read-only open only checks its revision)
and turns every failure (bad URL, unreachable PostgreSQL, read-only or corrupt SQLite file) into one
``StoreError`` that names the database (never its password). Nothing is written when opening fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import hashlib
import os
import socket
import time
import traceback
import uuid

try:
    import sqlalchemy as sa
    from sqlalchemy import event

    HAS_SQLALCHEMY = True
    SQLALCHEMY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_SQLALCHEMY = False
    SQLALCHEMY_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.cmdb.openstack.plugins.module_utils.clock import iso, utcnow  # noqa: F401  # pylint: disable=unused-import  # re-exported: part of the store API
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema
from ansible_collections.cmdb.openstack.plugins.module_utils.errors import StoreError

# ``migrations`` (and with it Alembic, about half a second of imports) is imported only where a
# migration may run (``open_store(migrate=True)``): the inventory plugins only read.

#: The schema revision this code reads and writes: ``migrations.HEAD`` (a unit test keeps them equal).
#: A read-only open (``migrate=False``) checks it with one cheap query instead of importing Alembic.
SCHEMA_HEAD = "0002_cloud_identities"
VERSION_TABLE = "alembic_version"

DEFAULT_URL = "sqlite:///~/.local/share/cmdb.openstack/cmdb.sqlite"
URL_ENV = "CMDB_URL"
#: Seconds an SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT = 120
#: Seconds to wait for PostgreSQL to accept a connection.
PG_CONNECT_TIMEOUT = 10
URL_HELP = (
    "use sqlite:///relative/path.sqlite, sqlite:////absolute/path.sqlite, "
    "sqlite:///~/path.sqlite or postgresql+psycopg://user@host:5432/database"
)


def missing_libraries(migrate=True):
    """Names of the Python libraries the CMDB needs that are not installed (for missing_required_lib).

    Reading (``migrate=False``) needs SQLAlchemy only; migrating needs Alembic too.
    """
    missing = []
    if not HAS_SQLALCHEMY:
        missing.append("SQLAlchemy")
    if migrate:
        from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import migrations

        if not migrations.HAS_ALEMBIC:
            missing.append("alembic")
    return missing


def resolve_url(url=None):
    """The URL to use: the option, else ``$CMDB_URL``, else ``DEFAULT_URL``."""
    return url or os.environ.get(URL_ENV) or DEFAULT_URL


def _first_line(exc):
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def parse_url(url):
    """Validate and normalize a database URL; return a ``sqlalchemy.engine.URL``."""
    if not isinstance(url, str) or not url.strip():
        raise StoreError("cmdb_url is empty: %s" % URL_HELP)
    try:
        parsed = sa.engine.make_url(url.strip())
    except Exception as exc:
        raise StoreError("cmdb_url %r is not a valid database URL (%s): %s" % (url, _first_line(exc), URL_HELP))
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.get_driver_name() not in ("psycopg",) or backend == "postgres":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if not parsed.database:
            raise StoreError("cmdb_url %s names no database: %s" % (_safe(parsed), URL_HELP))
    elif backend == "sqlite":
        if parsed.get_driver_name() not in ("pysqlite",):
            parsed = parsed.set(drivername="sqlite")
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file:"):
            raise StoreError("cmdb_url %r names no SQLite file: %s" % (url, URL_HELP))
        parsed = parsed.set(database=os.path.abspath(os.path.expanduser(database)))
    else:
        raise StoreError(
            "cmdb_url %s uses the database %r; the CMDB supports SQLite and PostgreSQL: %s"
            % (_safe(parsed), backend, URL_HELP)
        )
    return parsed


def _safe(parsed):
    return parsed.render_as_string(hide_password=True)


def _sqlite_events(engine):
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own transaction handling
        # defers BEGIN and would make SELECT-then-write transactions racy).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = %d" % (SQLITE_BUSY_TIMEOUT * 1000))
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the database write lock at BEGIN, so a transaction never has to upgrade a
        # read lock (which SQLite would refuse with "database is locked" instead of waiting).
        if connection.get_execution_options().get("cmdb_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


class Store:
    """An open CMDB: ``engine``, ``dialect`` ("sqlite"/"postgresql"), ``url`` (password hidden)."""

    tables = schema

    def __init__(self, engine, url):
        self.engine = engine
        self.url = url
        self.dialect = engine.dialect.name

    @contextlib.contextmanager
    def write(self):
        """A connection in a write transaction (SQLite: ``BEGIN IMMEDIATE``); commits on success."""
        with self.errors("write to"):
            with self.engine.connect() as connection:
                connection = connection.execution_options(cmdb_write=True)
                with connection.begin():
                    yield connection

    @contextlib.contextmanager
    def read(self):
        """A connection in a read transaction (rolled back at the end)."""
        with self.errors("read"):
            with self.engine.connect() as connection:
                try:
                    yield connection
                finally:
                    connection.rollback()

    @contextlib.contextmanager
    def errors(self, what="use"):
        """Turn database errors into one StoreError naming the database."""
        try:
            yield
        except StoreError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError("cannot %s the CMDB at %s: %s" % (what, self.url, _explain(exc)))

    def scope_lock_key(self, *parts):
        """A 63-bit integer for PostgreSQL advisory locks derived from ``parts``."""
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def lock_scope_for_apply(self, connection, cloud, region, rtype):
        """Serialize applies of one scope inside the current transaction.

        SQLite writers are already serialized by ``BEGIN IMMEDIATE``; PostgreSQL takes a
        transaction-level advisory lock (released at commit, rollback or when the session dies).
        """
        if self.dialect == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.scope_lock_key(cloud, region, rtype)}
            )

    def close(self):
        self.engine.dispose()


def _explain(exc):
    text = _first_line(exc)
    lower = text.lower()
    if "readonly database" in lower or "read-only" in lower:
        return "%s (the SQLite file or its directory is read-only; make both writable)" % text
    if "file is not a database" in lower or "malformed" in lower:
        return "%s (the file is not an SQLite database or is corrupt; restore it or use another cmdb_url)" % text
    if "unable to open database file" in lower:
        return "%s (check that the directory exists and is writable)" % text
    if "database is locked" in lower:
        return "%s (another process held the SQLite write lock for more than %d s)" % (text, SQLITE_BUSY_TIMEOUT)
    return text


def check_schema(connection, safe_url):
    """Raise StoreError unless the database's schema revision is ``SCHEMA_HEAD`` (one query, no Alembic)."""
    revisions = []
    if sa.inspect(connection).has_table(VERSION_TABLE):
        version = sa.table(VERSION_TABLE, sa.column("version_num"))
        rows = connection.execute(sa.select(version.c.version_num)).fetchall()
        revisions = sorted(str(row[0]) for row in rows)
    if revisions == [SCHEMA_HEAD]:
        return
    if not revisions:
        raise StoreError(
            "the database at %s is not a CMDB of cmdb.openstack (no schema revision): fill it first with "
            "cmdb.openstack.cmdb_sync, or point cmdb_url (or CMDB_URL) at the right database" % safe_url
        )
    raise StoreError(
        "the CMDB at %s has the schema revision %s, and this version of cmdb.openstack reads %s: if the database "
        "is older, run cmdb.openstack.cmdb_sync once (it migrates the schema); if it was upgraded by a newer "
        "version of the collection, upgrade the collection" % (safe_url, ", ".join(revisions), SCHEMA_HEAD)
    )


def open_store(url=None, migrate=True):
    """Open the CMDB at ``url``; raise StoreError with one clear message.

    ``migrate=True`` (the modules) creates or upgrades the schema; ``migrate=False`` (the inventory
    plugins, read-only) imports no Alembic and only checks that the schema revision is current.
    """
    missing = missing_libraries(migrate=migrate)
    if missing:
        raise StoreError("the CMDB needs the Python libraries %s; install them" % ", ".join(missing))
    raw = resolve_url(url)
    parsed = parse_url(raw)
    safe = _safe(parsed)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        directory = os.path.dirname(parsed.database)
        if not os.path.isdir(directory):
            try:
                os.makedirs(directory, 0o700)
            except OSError as exc:
                raise StoreError("cannot create the directory %s for the CMDB %s: %s" % (directory, safe, exc))
        if os.path.exists(parsed.database) and not os.path.isfile(parsed.database):
            raise StoreError("the CMDB path %s is not a file" % parsed.database)
        try:
            engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
        except ImportError as exc:
            raise StoreError("cannot use %s: Python's sqlite3 module is missing (%s)" % (safe, exc))
        _sqlite_events(engine)
    else:
        try:
            engine = sa.create_engine(
                parsed,
                connect_args={"connect_timeout": PG_CONNECT_TIMEOUT, "application_name": "cmdb.openstack"},
                pool_pre_ping=True,
            )
        except ImportError as exc:
            raise StoreError("cannot use %s: the PostgreSQL driver is missing (%s); install psycopg" % (safe, exc))
    store = Store(engine, safe)
    try:
        with store.errors("open"):
            if migrate:
                from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import migrations

                migrations.upgrade(engine)
            else:
                with engine.connect() as connection:
                    try:
                        check_schema(connection, safe)
                    finally:
                        connection.rollback()
    except StoreError:
        engine.dispose()
        raise
    except Exception as exc:  # e.g. psycopg errors raised outside SQLAlchemy's wrapping
        engine.dispose()
        raise StoreError("cannot open the CMDB at %s: %s" % (safe, _first_line(exc)))
    return store


# --------------------------------------------------------------------------------------------
# Lease locks: two runs of the same scope never interleave.


def sync_lock_name(cloud, region, rtype):
    """The lease lock a sync holds on a scope for its whole run (``cmdb_purge`` takes the same)."""
    return "sync:%s/%s/%s" % (cloud, region, rtype)


def lock_owner():
    """A unique owner id for this process: ``host:pid:random``."""
    return "%s:%d:%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])


def _owner_is_dead(owner):
    """True when ``owner`` is a process of this host that no longer exists (a killed run)."""
    try:
        host, pid, _tag = owner.rsplit(":", 2)
        pid = int(pid)
    except (ValueError, AttributeError):
        return False
    if host != socket.gethostname() or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A zombie (killed, not yet reaped) still answers kill(0): look at its state where we can.
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


class LeaseLock:
    """Named locks in the ``locks`` table, held for a lease that the holder renews.

    All names are taken at once or none (no partial holding, no deadlock). A lock whose lease
    expired, or whose owner is a dead process on this host (a SIGKILLed run), is taken over.
    """

    def __init__(self, store, names, owner=None, lease=900):
        self.store = store
        self.names = sorted(set(names))
        self.owner = owner or lock_owner()
        self.lease = lease
        self.held = False
        self._renewed = 0.0

    def _try(self):
        locks = schema.locks
        now = utcnow()
        expires = now + datetime.timedelta(seconds=self.lease)
        try:
            with self.store.write() as conn:
                rows = {
                    row.name: row
                    for row in conn.execute(sa.select(locks).where(locks.c.name.in_(self.names))).fetchall()
                }
                for row in rows.values():
                    if row.owner != self.owner and row.expires_at > now and not _owner_is_dead(row.owner):
                        return row
                for name in self.names:
                    row = rows.get(name)
                    if row is None:
                        conn.execute(
                            locks.insert().values(name=name, owner=self.owner, acquired_at=now, expires_at=expires)
                        )
                    else:
                        result = conn.execute(
                            locks.update()
                            .where(locks.c.name == name, locks.c.owner == row.owner)
                            .values(owner=self.owner, acquired_at=now, expires_at=expires)
                        )
                        if result.rowcount != 1:
                            raise _Contended()
        except _Contended:
            return False
        except StoreError as exc:
            if "unique" in exc.message.lower() or "duplicate" in exc.message.lower():
                return False  # another process inserted the same lock first (PostgreSQL)
            raise
        self.held = True
        self._renewed = time.monotonic()
        return None

    def acquire(self, timeout=600, poll=0.5):
        """Take every lock, waiting up to ``timeout`` seconds; raise StoreError naming the holder."""
        deadline = time.monotonic() + timeout
        while True:
            holder = self._try()
            if self.held:
                return self
            if time.monotonic() >= deadline:
                if holder:
                    raise StoreError(
                        "another sync holds the lock %s (owner %s, lease until %sZ); waited %d s. "
                        "Wait for it to finish or raise lock_timeout"
                        % (holder.name, holder.owner, holder.expires_at.isoformat(), timeout)
                    )
                raise StoreError("could not take the locks %s within %d s" % (", ".join(self.names), timeout))
            time.sleep(poll)

    def renew(self, force=False):
        """Extend the lease (at most every lease/10 seconds unless ``force``)."""
        if not self.held or (not force and time.monotonic() - self._renewed < self.lease / 10.0):
            return
        locks = schema.locks
        expires = utcnow() + datetime.timedelta(seconds=self.lease)
        with self.store.write() as conn:
            result = conn.execute(
                locks.update()
                .where(locks.c.name.in_(self.names), locks.c.owner == self.owner)
                .values(expires_at=expires)
            )
        self._renewed = time.monotonic()
        if result.rowcount != len(self.names):
            self.held = False
            raise StoreError(
                "lost the sync lock for %s: another run took it over after the lease expired" % ", ".join(self.names)
            )

    def release(self):
        if not self.held:
            return
        locks = schema.locks
        with self.store.write() as conn:
            conn.execute(locks.delete().where(locks.c.name.in_(self.names), locks.c.owner == self.owner))
        self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class _Contended(Exception):
    pass
