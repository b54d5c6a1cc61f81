#!/usr/bin/env bash
# Creates ./.venv with the pinned Python packages (requirements.txt, tests/requirements.txt).
# Idempotent: reinstalls only when a requirements file changed. Sourced by the other scripts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CMDB_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

stamp="$VENV/.requirements.sha256"
want="$(cat "$ROOT/requirements.txt" "$ROOT/tests/requirements.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> setting up $VENV (pinned packages from requirements.txt and tests/requirements.txt)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/tests/requirements.txt" \
    >"$VENV/pip-install.log" 2>&1; then
    grep -v "^WARNING: Location" "$VENV/pip-install.log" >&2 || true
    echo "error: pip could not install the pinned packages (requirements.txt, tests/requirements.txt)" >&2
    exit 1
  fi
  "$VENV/bin/python" -c "import ansible, openstack, sqlalchemy, alembic, psycopg, pynetbox, pytest" \
    || { echo "error: installing the pinned packages into $VENV failed (see pip output above)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"

# The collection as Ansible sees it: ansible_collections/cmdb/openstack points at this checkout.
export CMDB_COLLECTIONS_DIR="$VENV/collections"
mkdir -p "$CMDB_COLLECTIONS_DIR/ansible_collections/cmdb"
ln -sfn "$ROOT" "$CMDB_COLLECTIONS_DIR/ansible_collections/cmdb/openstack"
export ANSIBLE_COLLECTIONS_PATH="$CMDB_COLLECTIONS_DIR"
# awx.awx (for the awx role and its lint) comes from the ansible bundle on PyPI: Galaxy is unreachable.
VENV="$VENV" bash "$ROOT/scripts/collections.sh"
