#!/usr/bin/env bash
# The benchmark, one command: bash bench/run.sh [--scenarios S,M,L,INV] [--quick] [--latency SECONDS]
# Writes docs/bench/results.md, docs/bench/results.json and docs/bench/chart.png.
# Sets up the project's virtualenv (scripts/bootstrap.sh) and the cached openstack.cloud 2.6.0
# reference environment (bench/setup_reference.sh, needs Python >= 3.12), then runs bench/run.py.
# See docs/bench/README.md for what is measured and how to read it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh
exec python bench/run.py "$@"
