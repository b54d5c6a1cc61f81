#!/usr/bin/env bash
# Create the benchmark's reference environment (idempotent, cached):
#   ~/.cache/cmdb-openstack/bench/ref-venv      Python >= 3.12 with ansible-core 2.21 (what ansible 14.x
#                                               requires), openstacksdk (same pin as requirements.txt)
#                                               and matplotlib (for the chart only)
#   ~/.cache/cmdb-openstack/bench/collections   ansible_collections/openstack/cloud (2.6.0), extracted
#                                               from the `ansible` 14.x wheel on PyPI, and nothing else
# openstack.cloud 2.5.0 (ansible 12.x, the last for Python 3.11) fails on openstacksdk >= 4.15, so the
# reference is 2.6.0, which needs Python >= 3.12 (pyenv's python3.12 is used when it is not on PATH).
# Prints the venv's python path on the last line. Override the location with CMDB_BENCH_CACHE.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CMDB_BENCH_CACHE:-$HOME/.cache/cmdb-openstack/bench}"
VENV="$CACHE/ref-venv"
COLL="$CACHE/collections"
ANSIBLE_SPEC="${CMDB_BENCH_ANSIBLE_SPEC:-ansible>=14,<15}"
SDK_PIN="$(grep -E '^openstacksdk==' "$ROOT/requirements.txt" || echo openstacksdk)"
KSA_PIN="$(grep -E '^keystoneauth1==' "$ROOT/requirements.txt" || echo keystoneauth1)"
STAMP="$CACHE/.ref-ready-$(echo "$ANSIBLE_SPEC $SDK_PIN $KSA_PIN v3" | md5sum | cut -c1-12)"

log() { printf '[setup_reference] %s\n' "$*" >&2; }

find_python312() {
  local candidate
  for candidate in "${CMDB_BENCH_PYTHON:-}" python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 python3.13 \
    "$HOME"/.pyenv/versions/3.13*/bin/python3.13; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ]; then
      if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
        echo "$candidate"
        return 0
      fi
    fi
  done
  return 1
}

if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ] && [ -d "$COLL/ansible_collections/openstack/cloud" ]; then
  log "cached: $VENV"
  echo "$VENV/bin/python"
  exit 0
fi

PY312="$(find_python312)" || {
  log "error: Python >= 3.12 is required for openstack.cloud 2.6.0 (ansible 14.x); install it (pyenv install 3.12) or set CMDB_BENCH_PYTHON"
  exit 1
}
log "using $PY312"
mkdir -p "$CACHE"
rm -rf "$VENV" "$COLL"
"$PY312" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true

WHEELS="$CACHE/wheels"
mkdir -p "$WHEELS"
log "downloading the $ANSIBLE_SPEC wheel (only openstack.cloud is extracted from it)"
"$VENV/bin/python" -m pip download -q 2> >(grep -v "^WARNING: Location" >&2) --no-deps --only-binary=:all: -d "$WHEELS" "$ANSIBLE_SPEC"
WHEEL="$(find "$WHEELS" -maxdepth 1 -name 'ansible-1[4-9]*.whl' | sort -V | tail -n1)"
CORE_REQ="$(unzip -p "$WHEEL" '*.dist-info/METADATA' | sed -n 's/^Requires-Dist: \(ansible-core[^;]*\).*/\1/p' | head -n1)"
log "installing ${CORE_REQ:-ansible-core}, $SDK_PIN, $KSA_PIN, matplotlib"
"$VENV/bin/python" -m pip install -q 2> >(grep -v "^WARNING: Location" >&2) "${CORE_REQ:-ansible-core}" "$SDK_PIN" "$KSA_PIN" matplotlib

mkdir -p "$COLL"
unzip -q -o "$WHEEL" 'ansible_collections/openstack/cloud/*' -d "$COLL"
VERSION="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
  "$COLL/ansible_collections/openstack/cloud/MANIFEST.json")"
log "openstack.cloud $VERSION in $COLL"
touch "$STAMP"
echo "$VENV/bin/python"
