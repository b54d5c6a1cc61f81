#!/usr/bin/env bash
# A real NetBox (from PyPI) on loopback, for the netbox_sync tests and benchmark.
#
#   bash scripts/netbox.sh start   [--instance NAME]   install (cached), create a fresh database, serve; prints env
#   bash scripts/netbox.sh reset   [--instance NAME]   recreate the instance's database from the template (~1 s)
#   bash scripts/netbox.sh stop    [--instance NAME] [--keep-db]
#   bash scripts/netbox.sh status  [--instance NAME]   prints env and exits 0 when it answers, 1 otherwise
#   bash scripts/netbox.sh install                     only the virtualenv and the migrated template database
#
# `start` prints KEY=VALUE lines (NETBOX_URL, NETBOX_TOKEN, NETBOX_DB, NETBOX_ENV_FILE, ...) and writes them to
# NETBOX_ENV_FILE. Exit status 3 means "this machine cannot run NetBox" (no Python 3.12, PostgreSQL unreachable,
# no Redis); the message on stderr says which. Everything else non-zero is a real failure.
#
# Cache: ~/.cache/cmdb-openstack/netbox/<version>/ holds the virtualenv, the secrets of the test instance
# (SECRET_KEY, token pepper, the admin token: a loopback test instance only), a pg_dump of the migrated template
# and one folder per running instance (run/<instance>: NETBOX_ROOT with conf/, gunicorn pid, log, control socket).
# The migrated template is the PostgreSQL database netbox_tpl_<version>; `CREATE DATABASE x TEMPLATE y` gives each
# test a fresh NetBox in about a second instead of the 5.5 minutes `netbox migrate` takes.
#
# Environment: NETBOX_VERSION (4.7.3), NETBOX_PYTHON (a python3.12), NETBOX_PG_HOST/PORT/USER (127.0.0.1/5432/
# postgres, trust auth), NETBOX_REDIS_HOST/PORT (127.0.0.1/6379), NETBOX_WORKERS (2), NETBOX_THREADS (4),
# NETBOX_INSTANCE (default), CMDB_NETBOX_CACHE (~/.cache/cmdb-openstack/netbox).
set -euo pipefail

NETBOX_VERSION="${NETBOX_VERSION:-4.7.3}"
CACHE_ROOT="${CMDB_NETBOX_CACHE:-$HOME/.cache/cmdb-openstack/netbox}"
CACHE="$CACHE_ROOT/$NETBOX_VERSION"
VENV="$CACHE/venv"
PG_HOST="${NETBOX_PG_HOST:-127.0.0.1}"
PG_PORT="${NETBOX_PG_PORT:-5432}"
PG_USER="${NETBOX_PG_USER:-postgres}"
REDIS_HOST="${NETBOX_REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${NETBOX_REDIS_PORT:-6379}"
WORKERS="${NETBOX_WORKERS:-2}"
THREADS="${NETBOX_THREADS:-4}"
INSTANCE="${NETBOX_INSTANCE:-default}"
VERSION_TAG="${NETBOX_VERSION//[^0-9a-zA-Z]/_}"
TEMPLATE_DB="netbox_tpl_${VERSION_TAG}"
KEEP_DB=0
export PGOPTIONS="-c client_min_messages=warning"

die() { echo "netbox.sh: error: $*" >&2; exit 1; }
cannot() { echo "netbox.sh: cannot run NetBox on this machine: $*" >&2; exit 3; }
log() { echo "netbox.sh: $*" >&2; }

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

COMMAND="${1:-}"
[ -n "$COMMAND" ] || usage
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --instance) INSTANCE="${2:?--instance needs a name}"; shift 2 ;;
    --instance=*) INSTANCE="${1#*=}"; shift ;;
    --keep-db) KEEP_DB=1; shift ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (see: bash $0 --help)" ;;
  esac
done
case "$INSTANCE" in
  *[!a-zA-Z0-9_-]* | "") die "--instance must be letters, digits, '-' or '_' (got '$INSTANCE')" ;;
esac
RUN="$CACHE/run/$INSTANCE"
INSTANCE_DB="netbox_${VERSION_TAG}_${INSTANCE//-/_}"
ENV_FILE="$RUN/env"

# ---------------------------------------------------------------------------------------------- helpers
psql_cmd() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
sql() { psql_cmd -d postgres -c "$1"; }

check_postgres() {
  command -v psql >/dev/null 2>&1 || cannot "the PostgreSQL client 'psql' is not installed (apt-get install postgresql-client)"
  local out
  if ! out=$(PGCONNECT_TIMEOUT=5 psql_cmd -d postgres -c 'SELECT 1' 2>&1); then
    cannot "PostgreSQL is unreachable at $PG_HOST:$PG_PORT as user $PG_USER (trust auth expected): $out"
  fi
}

find_python() {
  local candidate
  local pyenv_pythons
  pyenv_pythons=$(printf '%s\n' "$HOME"/.pyenv/versions/3.12*/bin/python3.12 | sort -V -r)
  # shellcheck disable=SC2086 # one path per line, no spaces in pyenv version folders
  for candidate in "${NETBOX_PYTHON:-}" $pyenv_pythons python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

redis_ping() { # host port
  "$VENV/bin/python" - "$1" "$2" <<'EOF' >/dev/null 2>&1
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
EOF
}

# Sets REDIS_HOST/REDIS_PORT to a Redis that answers: the configured one, or a private redis-server for $RUN.
ensure_redis() {
  if redis_ping "$REDIS_HOST" "$REDIS_PORT"; then
    return 0
  fi
  if [ -f "$RUN/redis.port" ] && redis_ping 127.0.0.1 "$(cat "$RUN/redis.port")"; then
    REDIS_HOST=127.0.0.1 REDIS_PORT=$(cat "$RUN/redis.port")
    return 0
  fi
  command -v redis-server >/dev/null 2>&1 ||
    cannot "Redis does not answer at $REDIS_HOST:$REDIS_PORT and redis-server is not installed (apt-get install redis-server)"
  local port i
  port=$(free_port)
  mkdir -p "$RUN/redis"
  redis-server 8>&- 9>&- --bind 127.0.0.1 --port "$port" --dir "$RUN/redis" --save '' --appendonly no --daemonize yes \
    --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log" >/dev/null
  for i in $(seq 50); do
    redis_ping 127.0.0.1 "$port" && break
    [ "$i" = 50 ] && die "the private redis-server on port $port did not start (see $RUN/redis.log)"
    sleep 0.1
  done
  echo "$port" >"$RUN/redis.port"
  REDIS_HOST=127.0.0.1 REDIS_PORT=$port
  log "started a private redis-server on 127.0.0.1:$port"
}

stop_private_redis() {
  if [ -f "$RUN/redis.pid" ]; then
    kill "$(cat "$RUN/redis.pid")" 2>/dev/null || true
    rm -f "$RUN/redis.pid" "$RUN/redis.port"
  fi
}

random_string() { # length
  "${PYTHON:-$VENV/bin/python}" -c 'import secrets, string, sys; a = string.ascii_letters + string.digits
print("".join(secrets.choice(a) for _ in range(int(sys.argv[1]))))' "$1"
}

# The instance secrets live next to the template they belong to (the token is hashed with the pepper).
ensure_secrets() {
  [ -s "$CACHE/secrets.env" ] && return 0
  umask 077
  {
    echo "SECRET_KEY=$(random_string 60)"
    echo "PEPPER=$(random_string 60)"
    echo "TOKEN_KEY=$(random_string 12)"
    echo "TOKEN_SECRET=$(random_string 40)"
  } >"$CACHE/secrets.env.tmp"
  mv "$CACHE/secrets.env.tmp" "$CACHE/secrets.env"
}

load_secrets() {
  # shellcheck disable=SC1091
  . "$CACHE/secrets.env"
}

write_config() { # root database
  local root="$1" database="$2"
  mkdir -p "$root/conf" "$root/media" "$root/reports" "$root/scripts" "$root/gunicorn"
  : >"$root/conf/__init__.py"
  (
    umask 077
    cat >"$root/conf/configuration.py.tmp" <<EOF
# Written by cmdb.openstack scripts/netbox.sh: a loopback NetBox for tests. Do not expose it.
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "$database",
        "USER": "$PG_USER",
        "PASSWORD": "",
        "HOST": "$PG_HOST",
        "PORT": "$PG_PORT",
        # 0: no persistent connections, so that a reset can drop and clone the database at any time.
        "CONN_MAX_AGE": 0,
    }
}
REDIS = {
    "tasks": {"HOST": "$REDIS_HOST", "PORT": $REDIS_PORT, "DATABASE": 0, "SSL": False},
    "caching": {"HOST": "$REDIS_HOST", "PORT": $REDIS_PORT, "DATABASE": 1, "SSL": False},
}
SECRET_KEY = "$SECRET_KEY"
API_TOKEN_PEPPERS = {1: "$PEPPER"}
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
EOF
    mv "$root/conf/configuration.py.tmp" "$root/conf/configuration.py"
  )
}

netbox_manage() { # root args...
  local root="$1"
  shift
  NETBOX_ROOT="$root" "$VENV/bin/python" -c 'import sys; from netbox.cli import main; sys.argv[0] = "netbox"; sys.exit(main())' "$@"
}

db_exists() { [ "$(sql "SELECT 1 FROM pg_database WHERE datname = '$1'")" = "1" ]; }

# ---------------------------------------------------------------------------------------------- install
install_venv() {
  if [ -f "$VENV/.cmdb-complete" ]; then
    return 0
  fi
  local python
  python=$(find_python) || cannot "Python 3.12 was not found (looked at NETBOX_PYTHON, ~/.pyenv/versions/3.12*/bin/python3.12, python3.12 on PATH); NetBox $NETBOX_VERSION needs Python >= 3.12"
  log "installing NetBox $NETBOX_VERSION into $VENV with $python (about 70 s)"
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  # (this machine's pip config lists extra local indexes that do not exist: drop those warnings)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "netbox==$NETBOX_VERSION" gunicorn 2>&1 |
    grep -v "^WARNING: Location 'file:" >&2 || true
  [ "${PIPESTATUS[0]}" = 0 ] || die "pip install netbox==$NETBOX_VERSION failed (see above)"
  "$VENV/bin/python" -c 'import netbox, gunicorn' || die "NetBox installed but does not import"
  touch "$VENV/.cmdb-complete"
}

install_template() {
  local marker="$CACHE/template.ok" building="${TEMPLATE_DB}_building" build_root="$CACHE/run/_install"
  if db_exists "$TEMPLATE_DB" && [ -f "$marker" ] &&
    [ "$(sql "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$TEMPLATE_DB'")" = "$(cat "$marker")" ]; then
    return 0
  fi
  ensure_secrets
  load_secrets
  local build_id
  build_id="cmdb-openstack netbox template $(sha256sum "$CACHE/secrets.env" | cut -c1-16)"
  if db_exists "$TEMPLATE_DB"; then
    sql "ALTER DATABASE \"$TEMPLATE_DB\" WITH IS_TEMPLATE false" >/dev/null
    sql "DROP DATABASE \"$TEMPLATE_DB\" WITH (FORCE)" >/dev/null
  fi
  sql "DROP DATABASE IF EXISTS \"$building\" WITH (FORCE)" >/dev/null
  sql "CREATE DATABASE \"$building\"" >/dev/null
  if [ -s "$CACHE/template.dump" ] && [ -f "$CACHE/template.dump.id" ] && [ "$(cat "$CACHE/template.dump.id")" = "$build_id" ]; then
    log "restoring the migrated template from $CACHE/template.dump"
    pg_restore -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$building" --no-owner "$CACHE/template.dump" ||
      die "pg_restore of $CACHE/template.dump failed; delete it to migrate from scratch"
  else
    local RUN="$build_root" REDIS_HOST="$REDIS_HOST" REDIS_PORT="$REDIS_PORT"
    ensure_redis
    write_config "$build_root" "$building"
    log "migrating a new NetBox database (once per version and machine: about 5.5 minutes)"
    local started=$SECONDS
    netbox_manage "$build_root" migrate --no-input >"$CACHE/migrate.log" 2>&1 ||
      { tail -n 30 "$CACHE/migrate.log" >&2; die "netbox migrate failed (log: $CACHE/migrate.log)"; }
    log "migrated in $((SECONDS - started)) s"
    # The admin user and its v2 token (a chosen key and secret) are part of the template.
    NETBOX_TOKEN_KEY="$TOKEN_KEY" NETBOX_TOKEN_SECRET="$TOKEN_SECRET" netbox_manage "$build_root" shell --no-imports -c '
import os
from users.models import Token, User
user = User.objects.create_superuser("admin", "admin@example.invalid", None)
Token(user=user, version=2, key=os.environ["NETBOX_TOKEN_KEY"], token=os.environ["NETBOX_TOKEN_SECRET"],
      description="cmdb.openstack tests").save()
' >>"$CACHE/migrate.log" 2>&1 || { tail -n 30 "$CACHE/migrate.log" >&2; die "creating the admin token failed"; }
    stop_private_redis
    rm -rf "$build_root"
    if command -v pg_dump >/dev/null 2>&1; then
      if pg_dump -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -Fc -f "$CACHE/template.dump.tmp" "$building"; then
        mv "$CACHE/template.dump.tmp" "$CACHE/template.dump"
        echo "$build_id" >"$CACHE/template.dump.id"
      else
        log "warning: pg_dump of the template failed (only the restore shortcut is lost)"
      fi
    fi
  fi
  sql "ALTER DATABASE \"$building\" RENAME TO \"$TEMPLATE_DB\"" >/dev/null
  sql "ALTER DATABASE \"$TEMPLATE_DB\" WITH IS_TEMPLATE true" >/dev/null
  sql "COMMENT ON DATABASE \"$TEMPLATE_DB\" IS '$build_id'" >/dev/null
  echo "$build_id" >"$marker"
}

install() {
  check_postgres
  mkdir -p "$CACHE"
  exec 8>"$CACHE/install.lock"
  flock 8
  install_venv
  install_template
  flock -u 8
}

# ---------------------------------------------------------------------------------------------- instance
gunicorn_pid() {
  [ -f "$RUN/gunicorn.pid" ] || return 1
  local pid
  pid=$(cat "$RUN/gunicorn.pid")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

answers() { # url token
  "$VENV/bin/python" - "$1" "$2" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/api/status/", headers={"Authorization": "Bearer " + sys.argv[2]})
with urllib.request.urlopen(req, timeout=10) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

print_env() { cat "$ENV_FILE"; }

reset_db() {
  local i
  for i in 1 2 3 4 5; do
    if sql "DROP DATABASE IF EXISTS \"$INSTANCE_DB\" WITH (FORCE)" >/dev/null &&
      sql "CREATE DATABASE \"$INSTANCE_DB\" TEMPLATE \"$TEMPLATE_DB\"" >/dev/null 2>"$RUN/reset.err"; then
      return 0
    fi
    sleep 0.3
  done
  cat "$RUN/reset.err" >&2
  die "could not clone $TEMPLATE_DB into $INSTANCE_DB"
}

start() {
  install
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"
  flock 9
  if [ -f "$ENV_FILE" ] && gunicorn_pid >/dev/null; then
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    if answers "$NETBOX_URL" "$NETBOX_TOKEN"; then
      print_env
      return 0
    fi
    stop_gunicorn
  fi
  load_secrets
  ensure_redis
  reset_db
  write_config "$RUN" "$INSTANCE_DB"
  local port token url i pid
  port=$(free_port)
  token="nbt_${TOKEN_KEY}.${TOKEN_SECRET}"
  url="http://127.0.0.1:$port"
  mkdir -p "$RUN/gunicorn"
  : >"$RUN/gunicorn.log"
  # setsid: gunicorn outlives this script and its caller's process group; the pid file is its handle.
  NETBOX_ROOT="$RUN" setsid "$VENV/bin/python" -m gunicorn netbox.wsgi \
    --bind "127.0.0.1:$port" --workers "$WORKERS" --threads "$THREADS" --timeout 600 --graceful-timeout 5 --preload \
    --pid "$RUN/gunicorn.pid" --control-socket "$RUN/gunicorn/gunicorn.ctl" \
    --env "NETBOX_ROOT=$RUN" --max-requests 0 \
    --log-level warning </dev/null >>"$RUN/gunicorn.log" 2>&1 8>&- 9>&- &
  for i in $(seq 240); do
    if answers "$url" "$token"; then
      break
    fi
    if [ "$i" = 240 ] || ! kill -0 $! 2>/dev/null; then
      tail -n 40 "$RUN/gunicorn.log" >&2
      die "gunicorn did not serve NetBox on $url (log: $RUN/gunicorn.log)"
    fi
    sleep 0.5
  done
  pid=$(cat "$RUN/gunicorn.pid")
  (
    umask 077
    cat >"$ENV_FILE" <<EOF
NETBOX_URL=$url
NETBOX_TOKEN=$token
NETBOX_VERSION=$NETBOX_VERSION
NETBOX_INSTANCE=$INSTANCE
NETBOX_DB=$INSTANCE_DB
NETBOX_TEMPLATE_DB=$TEMPLATE_DB
NETBOX_PG_URL=postgresql://$PG_USER@$PG_HOST:$PG_PORT/$INSTANCE_DB
NETBOX_GUNICORN_PID=$pid
NETBOX_ENV_FILE=$ENV_FILE
NETBOX_VENV=$VENV
EOF
  )
  log "NetBox $NETBOX_VERSION serves $url (instance $INSTANCE, database $INSTANCE_DB, pid $pid)"
  print_env
}

stop_gunicorn() {
  local pid i
  pid=$(gunicorn_pid) || { rm -f "$RUN/gunicorn.pid"; return 0; }
  # TERM: graceful shutdown (--graceful-timeout 5). gunicorn runs in its own session (setsid): its group is its pid.
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    if [ "$i" = 100 ]; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$RUN/gunicorn.pid"
}

stop() {
  [ -d "$RUN" ] || { log "instance $INSTANCE is not running"; return 0; }
  exec 9>"$RUN/lock"
  flock 9
  stop_gunicorn
  stop_private_redis
  rm -f "$ENV_FILE"
  if [ "$KEEP_DB" = 0 ] && command -v psql >/dev/null 2>&1; then
    sql "DROP DATABASE IF EXISTS \"$INSTANCE_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$RUN"
  log "instance $INSTANCE stopped"
}

reset() {
  [ -f "$ENV_FILE" ] || die "instance $INSTANCE is not started (run: bash $0 start --instance $INSTANCE)"
  exec 9>"$RUN/lock"
  flock 9
  reset_db
}

status() {
  if [ ! -f "$ENV_FILE" ] || ! gunicorn_pid >/dev/null; then
    log "instance $INSTANCE is not running"
    return 1
  fi
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  answers "$NETBOX_URL" "$NETBOX_TOKEN" || { log "instance $INSTANCE does not answer at $NETBOX_URL"; return 1; }
  print_env
}

case "$COMMAND" in
  start) start ;;
  stop) stop ;;
  reset) reset ;;
  status) status ;;
  install) install ;;
  *) usage ;;
esac
