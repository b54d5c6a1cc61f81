"""A real NetBox (from PyPI) on loopback for the netbox_sync tests (tests/integration/netbox) and bench/netbox_bench.py.

    server = NetBoxServer("pytest-123")   # an instance: its own gunicorn, port and database
    env = server.start()                  # install (cached), a fresh database, serve; returns NETBOX_URL, ...
    server.reset()                        # recreate the instance's database from the template (about a second)
    server.stop()                         # and its database (keep_db=True keeps it)

Also a command line for a person: ``python tests/support/netbox_server.py start|reset|stop|status|install
[--instance NAME] [--keep-db]`` (``start`` and ``status`` print the KEY=VALUE lines of the instance's env file).

``NetBoxUnavailable`` means "this machine cannot run NetBox" (no Python 3.12, PostgreSQL unreachable, no Redis):
the tests skip with its message, except under CI=true where they fail. ``NetBoxSetupError`` is a real failure; its
message names the step and its log.

Cache: ~/.cache/cmdb-openstack/netbox/<version>/ holds the virtualenv, the secrets of the test instance
(SECRET_KEY, token pepper, the admin token: a loopback test instance only), a pg_dump of the migrated template and
one folder per instance (run/<instance>: NETBOX_ROOT with conf/, gunicorn and redis pid files, logs, env file).
The migrated template is the PostgreSQL database netbox_tpl_<version>; ``CREATE DATABASE x TEMPLATE y`` gives each
test a fresh NetBox in about a second instead of the 5.5 minutes ``netbox migrate`` takes. Every step is idempotent
and guarded by a lock file (install: one per version; an instance: one per instance).

Environment: NETBOX_VERSION (4.7.3), NETBOX_PYTHON (a python3.12), NETBOX_PG_HOST/PORT/USER (127.0.0.1/5432/
postgres, trust auth), NETBOX_REDIS_HOST/PORT (127.0.0.1/6379), NETBOX_WORKERS (2), NETBOX_THREADS (4),
CMDB_NETBOX_CACHE (~/.cache/cmdb-openstack/netbox).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request

DEFAULT_VERSION = "4.7.3"


class NetBoxUnavailable(Exception):
    """This machine cannot run NetBox (a missing prerequisite); the message says which and how to get it."""


class NetBoxSetupError(Exception):
    """A step of installing or starting NetBox failed; the message names the step and its log."""


def _log(message):
    print("netbox_server: %s" % message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path, text):
    """Write ``text`` to ``path`` atomically, readable by the owner only (secrets, configuration, env)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _random_string(length):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _index in range(length))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_ping(host, port):
    try:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except (OSError, ValueError):
        return False


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path):
    try:
        with open(path) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _read_env(path):
    with open(path) as handle:
        return dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)


def _answers(url, token):
    request = urllib.request.Request(url + "/api/status/", headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200
    except Exception:  # any failure means: does not answer (yet)
        return False


class _Settings:
    def __init__(self):
        env = os.environ
        self.version = env.get("NETBOX_VERSION") or DEFAULT_VERSION
        cache_root = env.get("CMDB_NETBOX_CACHE") or os.path.expanduser("~/.cache/cmdb-openstack/netbox")
        self.cache = os.path.join(cache_root, self.version)
        self.venv = os.path.join(self.cache, "venv")
        self.python = os.path.join(self.venv, "bin", "python")
        self.pg_host = env.get("NETBOX_PG_HOST") or "127.0.0.1"
        self.pg_port = int(env.get("NETBOX_PG_PORT") or 5432)
        self.pg_user = env.get("NETBOX_PG_USER") or "postgres"
        self.redis_host = env.get("NETBOX_REDIS_HOST") or "127.0.0.1"
        self.redis_port = int(env.get("NETBOX_REDIS_PORT") or 6379)
        self.workers = int(env.get("NETBOX_WORKERS") or 2)
        self.threads = int(env.get("NETBOX_THREADS") or 4)
        self.netbox_python = env.get("NETBOX_PYTHON") or ""
        tag = re.sub(r"[^0-9a-zA-Z]", "_", self.version)
        self.version_tag = tag
        self.template_db = "netbox_tpl_%s" % tag


class _Postgres:
    """The PostgreSQL server NetBox's databases live on (trust auth), through psycopg."""

    def __init__(self, settings):
        self.s = settings

    def connect(self):
        try:
            import psycopg
        except ImportError as exc:
            raise NetBoxUnavailable("psycopg is not installed (tests/requirements.txt): %s" % exc)
        try:
            return psycopg.connect(
                host=self.s.pg_host,
                port=self.s.pg_port,
                user=self.s.pg_user,
                dbname="postgres",
                autocommit=True,
                connect_timeout=5,
                options="-c client_min_messages=warning",
            )
        except psycopg.Error as exc:
            raise NetBoxUnavailable(
                "PostgreSQL is unreachable at %s:%s as user %s (trust auth expected): %s"
                % (self.s.pg_host, self.s.pg_port, self.s.pg_user, str(exc).strip())
            )

    def scalar(self, sql, *params):
        with self.connect() as conn:
            row = conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def run(self, *statements):
        with self.connect() as conn:
            for sql in statements:
                conn.execute(sql)

    def exists(self, name):
        return self.scalar("SELECT 1 FROM pg_database WHERE datname = %s", name) == 1

    def comment(self, name):
        return self.scalar("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", name)

    def cli(self, tool):
        return [tool, "-h", self.s.pg_host, "-p", str(self.s.pg_port), "-U", self.s.pg_user]


def _quote(name):
    if not re.match(r"^[A-Za-z0-9_]+$", name):
        raise ValueError("unexpected database name %r" % name)
    return '"%s"' % name


class NetBoxServer:
    """One NetBox instance (gunicorn + its database cloned from the migrated template) and the shared install."""

    def __init__(self, instance="default"):
        if not re.match(r"^[A-Za-z0-9_-]+$", instance or ""):
            raise ValueError("instance must be letters, digits, '-' or '_' (got %r)" % instance)
        self.s = _Settings()
        self.pg = _Postgres(self.s)
        self.instance = instance
        self.run_dir = os.path.join(self.s.cache, "run", instance)
        self.database = "netbox_%s_%s" % (self.s.version_tag, instance.replace("-", "_"))
        self.env_file = os.path.join(self.run_dir, "env")
        self.env = None

    # ------------------------------------------------------------------------------------------ helpers
    def _find_python(self):
        candidates = [self.s.netbox_python] if self.s.netbox_python else []
        pyenv = glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))
        candidates += sorted(pyenv, reverse=True)
        candidates += [shutil.which("python3.12") or "", "/usr/bin/python3.12", "/usr/local/bin/python3.12"]
        for candidate in candidates:
            if not candidate:
                continue
            check = [candidate, "-c", "import sys, venv; sys.exit(sys.version_info[:2] != (3, 12))"]
            try:
                if subprocess.run(check, capture_output=True, timeout=30, check=False).returncode == 0:
                    return candidate
            except OSError:
                continue
        raise NetBoxUnavailable(
            "Python 3.12 was not found (looked at NETBOX_PYTHON, ~/.pyenv/versions/3.12*/bin/python3.12, python3.12 "
            "on PATH); NetBox %s needs Python >= 3.12" % self.s.version
        )

    def _step(self, what, command, log, env=None, timeout=3600):
        """Run one step, its output appended to ``log``; a failure raises with the log's tail."""
        with open(log, "a") as handle:
            proc = subprocess.run(
                command, stdout=handle, stderr=subprocess.STDOUT, env=env, timeout=timeout, check=False
            )
        if proc.returncode != 0:
            with open(log, errors="replace") as handle:
                tail = "".join(handle.readlines()[-30:])
            raise NetBoxSetupError("%s failed (exit %d; log: %s):\n%s" % (what, proc.returncode, log, tail))

    def _manage(self, root, *args):
        env = dict(os.environ, NETBOX_ROOT=root)
        code = 'import sys; from netbox.cli import main; sys.argv[0] = "netbox"; sys.exit(main())'
        return [self.s.python, "-c", code] + list(args), env

    def _secrets(self):
        path = os.path.join(self.s.cache, "secrets.env")
        if not (os.path.exists(path) and os.path.getsize(path)):
            values = {
                "SECRET_KEY": _random_string(60),
                "PEPPER": _random_string(60),
                "TOKEN_KEY": _random_string(12),
                "TOKEN_SECRET": _random_string(40),
            }
            _write_private(path, "".join("%s=%s\n" % item for item in values.items()))
        return _read_env(path)

    def _write_config(self, root, database, redis):
        for sub in ("conf", "media", "reports", "scripts", "gunicorn"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        open(os.path.join(root, "conf", "__init__.py"), "a").close()
        values = self._secrets()
        config = """# Written by cmdb.openstack tests/support/netbox_server.py: a loopback test NetBox, not to expose.
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": %(database)r,
        "USER": %(user)r,
        "PASSWORD": "",
        "HOST": %(host)r,
        "PORT": %(port)r,
        # 0: no persistent connections, so that a reset can drop and clone the database at any time.
        "CONN_MAX_AGE": 0,
    }
}
REDIS = {
    "tasks": {"HOST": %(redis_host)r, "PORT": %(redis_port)d, "DATABASE": 0, "SSL": False},
    "caching": {"HOST": %(redis_host)r, "PORT": %(redis_port)d, "DATABASE": 1, "SSL": False},
}
SECRET_KEY = %(secret)r
API_TOKEN_PEPPERS = {1: %(pepper)r}
DEBUG = False
ISOLATED_DEPLOYMENT = True
CENSUS_REPORTING_ENABLED = False
RELEASE_CHECK_URL = None
MAX_PAGE_SIZE = 5000
PAGINATE_COUNT = 100
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = None
CHANGELOG_RETENTION = 1
JOB_RETENTION = 1
TIME_ZONE = "UTC"
""" % {
            "database": database,
            "user": self.s.pg_user,
            "host": self.s.pg_host,
            "port": str(self.s.pg_port),
            "redis_host": redis[0],
            "redis_port": redis[1],
            "secret": values["SECRET_KEY"],
            "pepper": values["PEPPER"],
        }
        _write_private(os.path.join(root, "conf", "configuration.py"), config)

    def _redis(self, run_dir):
        """``(host, port)`` of a Redis that answers: the configured one, or a private redis-server for ``run_dir``."""
        if _redis_ping(self.s.redis_host, self.s.redis_port):
            return self.s.redis_host, self.s.redis_port
        port_file = os.path.join(run_dir, "redis.port")
        if os.path.exists(port_file):
            with open(port_file) as handle:
                port = int(handle.read().strip() or 0)
            if _redis_ping("127.0.0.1", port):
                return "127.0.0.1", port
        server = shutil.which("redis-server")
        if not server:
            raise NetBoxUnavailable(
                "Redis does not answer at %s:%s and redis-server is not installed (apt-get install redis-server)"
                % (self.s.redis_host, self.s.redis_port)
            )
        port = _free_port()
        data = os.path.join(run_dir, "redis")
        os.makedirs(data, exist_ok=True)
        command = [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", data, "--save", "", "--appendonly"]
        command += ["no", "--daemonize", "yes", "--pidfile", os.path.join(run_dir, "redis.pid")]
        command += ["--logfile", os.path.join(run_dir, "redis.log")]
        subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
        for _attempt in range(50):
            if _redis_ping("127.0.0.1", port):
                break
            time.sleep(0.1)
        else:
            log = os.path.join(run_dir, "redis.log")
            raise NetBoxSetupError("the private redis-server on port %d did not start (see %s)" % (port, log))
        _write_private(port_file, "%d\n" % port)
        _log("started a private redis-server on 127.0.0.1:%d" % port)
        return "127.0.0.1", port

    @staticmethod
    def _stop_private_redis(run_dir):
        pid = _read_pid(os.path.join(run_dir, "redis.pid"))
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for name in ("redis.pid", "redis.port"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(run_dir, name))

    # ------------------------------------------------------------------------------------------ install
    def install(self):
        """The virtualenv with NetBox and the migrated template database (both cached; idempotent)."""
        self.pg.scalar("SELECT 1")  # NetBoxUnavailable when PostgreSQL does not answer
        os.makedirs(self.s.cache, exist_ok=True)
        with _locked(os.path.join(self.s.cache, "install.lock")):
            self._install_venv()
            self._install_template()

    def _install_venv(self):
        marker = os.path.join(self.s.venv, ".cmdb-complete")
        if os.path.exists(marker):
            return
        python = self._find_python()
        _log("installing NetBox %s into %s with %s (a few minutes)" % (self.s.version, self.s.venv, python))
        shutil.rmtree(self.s.venv, ignore_errors=True)
        log = os.path.join(self.s.cache, "install.log")
        self._step("creating the virtualenv %s" % self.s.venv, [python, "-m", "venv", self.s.venv], log)
        pip = [self.s.python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        self._step("pip install netbox==%s" % self.s.version, pip + ["netbox==%s" % self.s.version, "gunicorn"], log)
        self._step("importing the installed NetBox", [self.s.python, "-c", "import netbox, gunicorn"], log)
        open(marker, "w").close()

    def _build_id(self):
        self._secrets()
        with open(os.path.join(self.s.cache, "secrets.env"), "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()[:16]
        return "cmdb-openstack netbox template %s" % digest

    def _install_template(self):
        template, cache = self.s.template_db, self.s.cache
        marker = os.path.join(cache, "template.ok")
        build_id = self._build_id()
        if self.pg.exists(template) and os.path.exists(marker):
            with open(marker) as handle:
                if handle.read().strip() == build_id == self.pg.comment(template):
                    return
        building = template + "_building"
        if self.pg.exists(template):
            self.pg.run(
                "ALTER DATABASE %s WITH IS_TEMPLATE false" % _quote(template),
                "DROP DATABASE %s WITH (FORCE)" % _quote(template),
            )
        self.pg.run(
            "DROP DATABASE IF EXISTS %s WITH (FORCE)" % _quote(building), "CREATE DATABASE %s" % _quote(building)
        )
        dump, dump_id = os.path.join(cache, "template.dump"), os.path.join(cache, "template.dump.id")
        restored = False
        if os.path.exists(dump) and os.path.getsize(dump) and os.path.exists(dump_id):
            with open(dump_id) as handle:
                if handle.read().strip() == build_id and shutil.which("pg_restore"):
                    _log("restoring the migrated template from %s" % dump)
                    command = self.pg.cli("pg_restore") + ["-d", building, "--no-owner", dump]
                    self._step("pg_restore of %s (delete it to migrate from scratch)" % dump, command, dump + ".log")
                    restored = True
        if not restored:
            self._migrate(building, build_id)
        self.pg.run(
            "ALTER DATABASE %s RENAME TO %s" % (_quote(building), _quote(template)),
            "ALTER DATABASE %s WITH IS_TEMPLATE true" % _quote(template),
            "COMMENT ON DATABASE %s IS '%s'" % (_quote(template), build_id),
        )
        _write_private(marker, build_id + "\n")

    def _migrate(self, building, build_id):
        cache = self.s.cache
        root = os.path.join(cache, "run", "_install")
        log = os.path.join(cache, "migrate.log")
        open(log, "w").close()
        os.makedirs(root, exist_ok=True)
        redis = self._redis(root)
        self._write_config(root, building, redis)
        _log("migrating a new NetBox database (once per version and machine: about 5.5 minutes)")
        started = time.monotonic()
        command, env = self._manage(root, "migrate", "--no-input")
        self._step("netbox migrate", command, log, env=env)
        _log("migrated in %d s" % (time.monotonic() - started))
        # The admin user and its v2 token (a chosen key and secret) are part of the template.
        values = self._secrets()
        script = (
            "import os\n"
            "from users.models import Token, User\n"
            'user = User.objects.create_superuser("admin", "admin@example.invalid", None)\n'
            'Token(user=user, version=2, key=os.environ["NETBOX_TOKEN_KEY"], token=os.environ["NETBOX_TOKEN_SECRET"],\n'
            '      description="cmdb.openstack tests").save()\n'
        )
        command, env = self._manage(root, "shell", "--no-imports", "-c", script)
        env.update(NETBOX_TOKEN_KEY=values["TOKEN_KEY"], NETBOX_TOKEN_SECRET=values["TOKEN_SECRET"])
        self._step("creating the admin token", command, log, env=env)
        self._stop_private_redis(root)
        shutil.rmtree(root, ignore_errors=True)
        if shutil.which("pg_dump"):
            dump = os.path.join(cache, "template.dump")
            command = self.pg.cli("pg_dump") + ["-Fc", "-f", dump + ".tmp", building]
            if subprocess.run(command, capture_output=True, check=False).returncode == 0:
                os.replace(dump + ".tmp", dump)
                _write_private(os.path.join(cache, "template.dump.id"), build_id + "\n")
            else:
                _log("warning: pg_dump of the template failed (only the restore shortcut is lost)")

    # ------------------------------------------------------------------------------------------ instance
    def _gunicorn_pid(self):
        return _read_pid(os.path.join(self.run_dir, "gunicorn.pid"))

    def _reset_db(self):
        error = None
        for _attempt in range(5):
            try:
                self.pg.run(
                    "DROP DATABASE IF EXISTS %s WITH (FORCE)" % _quote(self.database),
                    "CREATE DATABASE %s TEMPLATE %s" % (_quote(self.database), _quote(self.s.template_db)),
                )
                return
            except NetBoxUnavailable:
                raise
            except Exception as exc:  # a session on the template: retry, then say which
                error = exc
                time.sleep(0.3)
        raise NetBoxSetupError("could not clone %s into %s: %s" % (self.s.template_db, self.database, error))

    def start(self):
        """Install (cached), a fresh database and gunicorn; returns the env (``NETBOX_URL``, ``NETBOX_TOKEN``, ...).

        Idempotent: an instance that runs and answers is returned as it is."""
        self.install()
        os.makedirs(self.run_dir, exist_ok=True)
        with _locked(os.path.join(self.run_dir, "lock")):
            if os.path.exists(self.env_file) and self._gunicorn_pid():
                env = _read_env(self.env_file)
                if _answers(env["NETBOX_URL"], env["NETBOX_TOKEN"]):
                    self.env = env
                    return env
                self._stop_gunicorn()
            values = self._secrets()
            redis = self._redis(self.run_dir)
            self._reset_db()
            self._write_config(self.run_dir, self.database, redis)
            port = _free_port()
            token = "nbt_%s.%s" % (values["TOKEN_KEY"], values["TOKEN_SECRET"])
            url = "http://127.0.0.1:%d" % port
            pid_file = os.path.join(self.run_dir, "gunicorn.pid")
            log = os.path.join(self.run_dir, "gunicorn.log")
            command = [self.s.python, "-m", "gunicorn", "netbox.wsgi", "--bind", "127.0.0.1:%d" % port]
            command += ["--workers", str(self.s.workers), "--threads", str(self.s.threads), "--timeout", "600"]
            command += ["--graceful-timeout", "5", "--preload", "--pid", pid_file, "--max-requests", "0"]
            command += ["--control-socket", os.path.join(self.run_dir, "gunicorn", "gunicorn.ctl")]
            command += ["--env", "NETBOX_ROOT=%s" % self.run_dir, "--log-level", "warning"]
            with open(log, "w") as handle:
                # its own session: gunicorn outlives the caller's process group; the pid file is its handle
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    env=dict(os.environ, NETBOX_ROOT=self.run_dir),
                    start_new_session=True,
                )
            deadline = time.monotonic() + 120
            while not _answers(url, token):
                if proc.poll() is not None or time.monotonic() > deadline:
                    with open(log, errors="replace") as handle:
                        tail = "".join(handle.readlines()[-40:])
                    if proc.poll() is None:
                        self._stop_gunicorn()
                    raise NetBoxSetupError("gunicorn did not serve NetBox on %s (log: %s):\n%s" % (url, log, tail))
                time.sleep(0.5)
            pid = self._gunicorn_pid() or proc.pid
            env = {
                "NETBOX_URL": url,
                "NETBOX_TOKEN": token,
                "NETBOX_VERSION": self.s.version,
                "NETBOX_INSTANCE": self.instance,
                "NETBOX_DB": self.database,
                "NETBOX_TEMPLATE_DB": self.s.template_db,
                "NETBOX_PG_URL": "postgresql://%s@%s:%d/%s"
                % (self.s.pg_user, self.s.pg_host, self.s.pg_port, self.database),
                "NETBOX_GUNICORN_PID": str(pid),
                "NETBOX_ENV_FILE": self.env_file,
                "NETBOX_VENV": self.s.venv,
            }
            _write_private(self.env_file, "".join("%s=%s\n" % item for item in env.items()))
            _log(
                "NetBox %s serves %s (instance %s, database %s, pid %d)"
                % (self.s.version, url, self.instance, self.database, pid)
            )
            self.env = env
            return env

    def reset(self):
        """Recreate the instance's database from the template (about a second)."""
        if not os.path.exists(self.env_file):
            raise NetBoxSetupError("instance %s is not started (start it first)" % self.instance)
        with _locked(os.path.join(self.run_dir, "lock")):
            self._reset_db()

    def _stop_gunicorn(self):
        pid_file = os.path.join(self.run_dir, "gunicorn.pid")
        pid = self._gunicorn_pid()
        if pid:
            # TERM: graceful shutdown (--graceful-timeout 5); then the whole session (gunicorn's group is its pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            os.remove(pid_file)

    def stop(self, keep_db=False):
        """Stop gunicorn (and a private Redis), drop the database unless ``keep_db``, remove the run folder."""
        if not os.path.isdir(self.run_dir):
            return
        with _locked(os.path.join(self.run_dir, "lock")):
            self._stop_gunicorn()
            self._stop_private_redis(self.run_dir)
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.env_file)
            if not keep_db:
                with contextlib.suppress(Exception):
                    self.pg.run("DROP DATABASE IF EXISTS %s WITH (FORCE)" % _quote(self.database))
        shutil.rmtree(self.run_dir, ignore_errors=True)
        _log("instance %s stopped" % self.instance)
        self.env = None

    def status(self):
        """The env of the running instance when it answers, else None."""
        if not os.path.exists(self.env_file) or not self._gunicorn_pid():
            return None
        env = _read_env(self.env_file)
        return env if _answers(env["NETBOX_URL"], env["NETBOX_TOKEN"]) else None


def main(argv=None):
    parser = argparse.ArgumentParser(description="A real NetBox on loopback for the netbox_sync tests.")
    parser.add_argument("command", choices=("start", "reset", "stop", "status", "install"))
    parser.add_argument("--instance", default=os.environ.get("NETBOX_INSTANCE") or "default")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    try:
        server = NetBoxServer(args.instance)
        if args.command == "install":
            server.install()
        elif args.command == "start":
            env = server.start()
            print("".join("%s=%s\n" % item for item in env.items()), end="")
        elif args.command == "reset":
            server.reset()
        elif args.command == "stop":
            server.stop(keep_db=args.keep_db)
        else:
            env = server.status()
            if env is None:
                _log("instance %s is not running or does not answer" % args.instance)
                return 1
            print("".join("%s=%s\n" % item for item in env.items()), end="")
    except NetBoxUnavailable as exc:
        _log("cannot run NetBox on this machine: %s" % exc)
        return 3
    except (NetBoxSetupError, ValueError) as exc:
        _log("error: %s" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
