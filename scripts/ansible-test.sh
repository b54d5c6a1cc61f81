#!/usr/bin/env bash
# ansible-test on a copy of the tracked files under ansible_collections/cmdb/openstack.
# Usage: bash scripts/ansible-test.sh sanity|units [ansible-test options...]
# (for the controller's Python; sanity adds --requirements for its linters).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bootstrap.sh
source "$ROOT/scripts/bootstrap.sh"
# ansible-test bootstraps pip in its venvs with a get-pip script it downloads from a host that
# is not reachable here; this stand-in installs the same pinned pip from the Python package index.
for pip_version in 24.2 24.3 25.0 25.1 25.2 25.3; do
  getpip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  [ -f "$getpip" ] && continue
  mkdir -p "$(dirname "$getpip")"
  cat > "$getpip" <<'PY'
"""Stand-in for get-pip.py: bootstrap pip with ensurepip, then pip-install the requested packages."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap()
# ensurepip points PIP_CONFIG_FILE at /dev/null; the real install must see the machine's pip config.
env = {k: v for k, v in os.environ.items() if k not in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS")}
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
PY
done
work="$(mktemp -d "${TMPDIR:-/tmp}/cmdb-sanity.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/cmdb/openstack"
mkdir -p "$dest"
( cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
  done | tar --null -T - -cf - ) | tar -xf - -C "$dest"
cd "$dest"
git init -q && git add -A  # ansible-test finds the collection's files through git
command="${1:?usage: $0 sanity|units [ansible-test options...]}"
shift
ansible-test "$command" --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --color no "$@"
