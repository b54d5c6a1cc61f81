#!/usr/bin/env bash
# Creates the virtualenv of one cell of the support matrix (tests/matrix.txt: an ansible-core line
# on a Python) with the pinned packages (requirements.txt, tests/requirements.txt, the line's
# ansible-core). Idempotent: reinstalls only when a pin changed. Sourced by the other scripts.
#
#   CMDB_ANSIBLE_CORE=2.21|2.20|2.19   the core line (default: the first line of tests/matrix.txt one of whose
#                                      Pythons is installed: the current line, 2.21, with Python 3.12 or
#                                      3.13; 2.19, the minimum, on a machine with only Python 3.11)
#   CMDB_PYTHON=3.12|3.13|3.11         the Python (default: the first of the line's Pythons installed)
#   CMDB_VENV=/path                    use this virtualenv instead of ./.venv-<line>-py<python>
#   CMDB_BOOTSTRAP_PROBE=1             only print the cell (<line>-py<python>); exit 1 when none
#
# The default cell's virtualenv is also reachable as ./.venv (a symlink), which the docs use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MATRIX="$ROOT/tests/matrix.txt"

# cmdb_python X.Y: the path of an installed, working pythonX.Y (PATH, pyenv, /usr/bin), or nothing.
cmdb_python() {
  local candidate
  for candidate in "$(command -v "python$1" 2>/dev/null || true)" \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1"*/bin/"python$1" "/usr/local/bin/python$1" "/usr/bin/python$1"; do
    if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
    if "$candidate" -c "import sys, venv; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$1' else 1)" \
      >/dev/null 2>&1; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

CMDB_CORE_LINE=""
CMDB_CORE_VERSION=""
CMDB_PY=""
CMDB_PY_BIN=""
while read -r line version pythons; do
  case "$line" in '' | '#'*) continue ;; esac
  [ -z "${CMDB_ANSIBLE_CORE:-}" ] || [ "$CMDB_ANSIBLE_CORE" = "$line" ] || continue
  for py in $pythons; do
    case "$py" in 3.*) ;; *) continue ;; esac  # the last column is the cell's role (main, cell)
    [ -z "${CMDB_PYTHON:-}" ] || [ "$CMDB_PYTHON" = "$py" ] || continue
    if bin="$(cmdb_python "$py")"; then
      CMDB_CORE_LINE="$line" CMDB_CORE_VERSION="$version" CMDB_PY="$py" CMDB_PY_BIN="$bin"
      break 2
    fi
  done
done <"$MATRIX"
if [ -z "$CMDB_CORE_LINE" ]; then
  echo "error: no cell of the support matrix (tests/matrix.txt) matches CMDB_ANSIBLE_CORE=${CMDB_ANSIBLE_CORE:-any}" \
    "CMDB_PYTHON=${CMDB_PYTHON:-any} with a Python installed on this machine" >&2
  exit 1
fi
export CMDB_CORE_LINE CMDB_CORE_VERSION CMDB_PY
export CMDB_CELL="$CMDB_CORE_LINE-py$CMDB_PY"
if [ "${CMDB_BOOTSTRAP_PROBE:-0}" = "1" ]; then  # scripts/matrix.sh: which cell, without building it
  echo "$CMDB_CELL"
  # shellcheck disable=SC2317  # exit when run as a script, return when sourced
  return 0 2>/dev/null || exit 0
fi
VENV="${CMDB_VENV:-$ROOT/.venv-$CMDB_CELL}"

stamp="$VENV/.requirements.sha256"
want="$( (cat "$ROOT/requirements.txt" "$ROOT/tests/requirements.txt"; echo "ansible-core==$CMDB_CORE_VERSION $CMDB_PY") \
  | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> building the cell ansible-core $CMDB_CORE_VERSION on Python $CMDB_PY in $VENV (pinned packages)"
  "$CMDB_PY_BIN" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/tests/requirements.txt" \
    "ansible-core==$CMDB_CORE_VERSION" >"$VENV/pip-install.log" 2>&1; then
    grep -v "^WARNING: Location" "$VENV/pip-install.log" >&2 || true
    echo "error: pip could not install the pinned packages (requirements.txt, tests/requirements.txt, ansible-core==$CMDB_CORE_VERSION)" >&2
    exit 1
  fi
  "$VENV/bin/python" -c "import ansible, openstack, sqlalchemy, alembic, psycopg, pynetbox, pytest" \
    || { echo "error: installing the pinned packages into $VENV failed (see pip output above)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# ./.venv names the default cell (docs and benches use .venv/bin/python); an older checkout's real
# ./.venv directory (ansible-core 2.19 on Python 3.11) is replaced by the symlink, and a link to another
# cell (2.19 on 3.11 was the default before 2.21) is moved to the new default.
if [ -z "${CMDB_VENV:-}${CMDB_ANSIBLE_CORE:-}${CMDB_PYTHON:-}" ] && [ "$(readlink "$ROOT/.venv" 2>/dev/null)" != ".venv-$CMDB_CELL" ]; then
  [ -d "$ROOT/.venv" ] && [ ! -L "$ROOT/.venv" ] && rm -rf "$ROOT/.venv"
  ln -sfn ".venv-$CMDB_CELL" "$ROOT/.venv"
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
