#!/usr/bin/env bash
# The test command (README, .ci/run): bash scripts/test.sh [pytest args...]
# Sets up its own virtualenv, then runs every gate in order: ruff, ansible-lint (production
# profile), ansible-test sanity and units, and pytest (unit + integration tests with real
# ansible-playbook / ansible-inventory runs against the OpenStack API simulator).
# Set CMDB_SKIP_STATIC=1 to run only pytest (quick local iterations).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

step() { printf '\n==> %s\n' "$*"; }

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
exit "$rc"
