#!/usr/bin/env bash
# The test command (README, .ci/run): bash scripts/test.sh [pytest args...]
# Sets up the virtualenv of the default cell of the support matrix (scripts/bootstrap.sh: ansible-core
# 2.21 on Python 3.12, the current line, where the Python allows it), then runs every gate in order
# there: ruff, ansible-lint (production profile), ansible-test sanity and units, changelog lint and
# pytest (unit + integration tests with real ansible-playbook / ansible-inventory runs against the
# OpenStack API simulator, and the real-cloud tests). Then the other cells of the support matrix
# (scripts/matrix.sh, tests/matrix.txt): ansible-test sanity, units and the smoke set per cell; with
# CI=true a cell whose Python is missing fails the run. Prints the time of each part.
# Set CMDB_SKIP_STATIC=1 to run only pytest (quick local iterations; no matrix either), and
# CMDB_MATRIX=0 to leave out the other cells (a local run of the main cell only; not with CI=true).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

t0=$SECONDS
part_start=$SECONDS
part_name=""
times=()
# step NAME: print the time of the previous part, start the next one.
step() {
  [ -z "$part_name" ] || times+=("$(printf '%5d s  %s' "$((SECONDS - part_start))" "$part_name")")
  part_name="$*"
  part_start=$SECONDS
  printf '\n==> %s\n' "$*"
}
report_times() {
  step "times ($CMDB_CELL main cell, total $((SECONDS - t0)) s)"
  printf '%s\n' "${times[@]}"
}

if [ "${CMDB_SKIP_STATIC:-0}" != "1" ]; then
  # ansible-test skips its shellcheck test without shellcheck: install it where we can.
  command -v shellcheck >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1; } || true
  step "ruff (lint and format)"
  ruff check .
  ruff format --check .

  step "ansible-lint (production profile)"
  ansible-lint --offline -q

  step "ansible-test sanity (collection copied under ansible_collections/cmdb/openstack)"
  bash scripts/ansible-test.sh sanity --requirements

  step "ansible-test units (the reviewer's standard command; pytest below runs them too, with the rest)"
  bash scripts/ansible-test.sh units

  step "changelog fragments (antsibull-changelog lint)"
  antsibull-changelog lint
fi

step "pytest (unit and integration)"
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
fi

# The other cells of the support matrix (README "Supported versions" has the time of each part).
if [ "${CMDB_SKIP_STATIC:-0}" != "1" ]; then
  if [ "${CMDB_MATRIX:-1}" != "0" ]; then
    step "the other cells of the support matrix (scripts/matrix.sh)"
    bash scripts/matrix.sh || { [ "$rc" -ne 0 ] || rc=1; }
  elif [ "${CI:-}" = "true" ]; then
    echo "error: CMDB_MATRIX=0 with CI=true: CI runs every cell of the support matrix" >&2
    [ "$rc" -ne 0 ] || rc=1
  else
    echo "note: CMDB_MATRIX=0: the other cells of the support matrix were not run" >&2
  fi
fi
report_times
exit "$rc"
