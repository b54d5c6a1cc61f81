#!/usr/bin/env bash
# Real OpenStack 2026.1 services on 127.0.0.1 for the real-cloud tests (docs/realcloud.md):
#   bash scripts/realcloud.sh up|down|status|seed|logs [service]
# State (venv, etc/, logs/, run/, data/, clouds.yaml, seed.json) under
# ${CMDB_REALCLOUD_DIR:-$HOME/.cache/cmdb-openstack/realcloud}. The logic is in tests/realcloud/harness.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The harness runs with the project's venv (openstacksdk, PyYAML); the services get their own.
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh >&2
export PYTHONPATH="$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}"
exec python -m realcloud.harness "$@"
