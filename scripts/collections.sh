#!/usr/bin/env bash
# Puts the awx.awx collection (needed only by roles/awx, and by ansible-lint and syntax checks of it)
# into "$VENV/collections" without Ansible Galaxy: the `ansible` package on PyPI bundles awx.awx, so
# this downloads that one wheel (pinned below, cached under .cache/wheels) and extracts only
# ansible_collections/awx/awx from it. Idempotent: does nothing when the pinned copy is in place.
#
#   VENV=.venv bash scripts/collections.sh        # or CMDB_VENV=...; default ./.venv
#
# Environment: VENV / CMDB_VENV (the virtualenv whose python runs pip; collections go to
# $VENV/collections, which bootstrap.sh exports as ANSIBLE_COLLECTIONS_PATH), CMDB_CACHE_DIR
# (download cache, default ./.cache), CMDB_ANSIBLE_BUNDLE (override the pinned `ansible` version).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-${CMDB_VENV:-$ROOT/.venv}}"
# ansible 12.3.0 (the newest release for Python 3.11) bundles awx.awx 24.6.1.
ANSIBLE_BUNDLE="${CMDB_ANSIBLE_BUNDLE:-12.3.0}"
COLLECTIONS="$VENV/collections"
CACHE="${CMDB_CACHE_DIR:-$ROOT/.cache}/wheels"
STAMP="$COLLECTIONS/ansible_collections/awx/awx/.cmdb-bundle"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY="$(command -v python3)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "ansible==$ANSIBLE_BUNDLE" ]; then
  exit 0
fi
mkdir -p "$CACHE" "$COLLECTIONS/ansible_collections"
wheel="$CACHE/ansible-$ANSIBLE_BUNDLE-py3-none-any.whl"
if [ ! -f "$wheel" ]; then
  echo "==> downloading ansible==$ANSIBLE_BUNDLE from the Python package index (for the awx.awx collection)"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --dest "$CACHE" "ansible==$ANSIBLE_BUNDLE" 2>&1 | { grep -v "^WARNING: Location" || true; }
fi
[ -f "$wheel" ] || { echo "error: pip did not download $wheel" >&2; exit 1; }
"$PY" - "$wheel" "$COLLECTIONS" "ansible==$ANSIBLE_BUNDLE" <<'PY'
"""Extract ansible_collections/awx/awx from the wheel, atomically (a temp dir, then a rename)."""
import os
import shutil
import sys
import tempfile
import zipfile

wheel, collections, stamp = sys.argv[1:4]
prefix = "ansible_collections/awx/awx/"
target = os.path.join(collections, prefix)
tmp = tempfile.mkdtemp(prefix=".awx-", dir=collections)
count = 0
with zipfile.ZipFile(wheel) as archive:
    for info in archive.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        relative = info.filename[len(prefix):]
        if relative.startswith("/") or ".." in relative.split("/"):
            sys.exit("error: unsafe path in %s: %s" % (wheel, info.filename))
        dest = os.path.join(tmp, relative)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with archive.open(info) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
        count += 1
if not count:
    sys.exit("error: %s holds no %s" % (wheel, prefix))
with open(os.path.join(tmp, ".cmdb-bundle"), "w") as fh:
    fh.write(stamp)
os.makedirs(os.path.dirname(target.rstrip("/")), exist_ok=True)
if os.path.isdir(target):
    shutil.rmtree(target)
os.rename(tmp, target.rstrip("/"))
print("==> awx.awx extracted from %s into %s (%d files)" % (os.path.basename(wheel), collections, count))
PY
