#!/usr/bin/env bash
# The other cells of the support matrix (tests/matrix.txt): for each cell but the main one (which
# scripts/test.sh runs in full), in that cell's virtualenv (scripts/bootstrap.sh):
#   ansible-test sanity --requirements, ansible-test units, and the smoke set (pytest -m smoke).
# Prints the time of each part. Called by scripts/test.sh (so .ci/run stays the README's command).
#
#   bash scripts/matrix.sh                                         # every cell but the main one
#   CMDB_ANSIBLE_CORE=2.19 CMDB_PYTHON=3.11 bash scripts/matrix.sh  # one cell (the main one too)
#   CMDB_MATRIX_PARTS="units smoke" bash scripts/matrix.sh          # only some parts (sanity units smoke)
#
# A cell whose Python is not installed is skipped with a message; with CI=true that is an error.
#
# Sanity in these cells runs the tests whose result depends on the core version or the Python
# (CMDB_MATRIX_SANITY, below): the module and plugin docs and argument specs (validate-modules,
# ansible-doc, action-plugin-docs, yamllint of the docs), meta/runtime.yml's schema
# (runtime-metadata), imports and syntax on that Python (import, compile) and pylint with that
# core's checkers (deprecated calls among them). The others (shellcheck, pep8, shebang, symlinks,
# boilerplate, line endings, changelog...) read the files as text: the main cell runs them all.
# CMDB_MATRIX_SANITY=all runs every sanity test in every cell.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PARTS="${CMDB_MATRIX_PARTS:-sanity units smoke}"
SANITY="${CMDB_MATRIX_SANITY:-validate-modules ansible-doc action-plugin-docs yamllint runtime-metadata import compile pylint}"
sanity_args=()
if [ "$SANITY" != "all" ]; then
  for test in $SANITY; do sanity_args+=(--test "$test"); done
fi

# The main cell: what bootstrap picks without CMDB_ANSIBLE_CORE / CMDB_PYTHON.
main_cell="$(env -u CMDB_ANSIBLE_CORE -u CMDB_PYTHON CMDB_BOOTSTRAP_PROBE=1 bash scripts/bootstrap.sh 2>/dev/null)" \
  || main_cell=""

cells=()
if [ -n "${CMDB_ANSIBLE_CORE:-}${CMDB_PYTHON:-}" ]; then
  cells=("${CMDB_ANSIBLE_CORE:-} ${CMDB_PYTHON:-}")
else
  while read -r line _ pythons; do
    case "$line" in '' | '#'*) continue ;; esac
    for py in $pythons; do
      case "$py" in 3.*) ;; *) continue ;; esac
      [ "$line-py$py" = "$main_cell" ] && continue
      cells+=("$line $py")
    done
  done <tests/matrix.txt
fi

failed=()
skipped=()
summary=()
for cell in "${cells[@]}"; do
  read -r core py <<<"$cell"
  name="${core:-any}-py${py:-any}"
  printf '\n==> cell ansible-core %s on Python %s\n' "${core:-default}" "${py:-default}"
  if ! env CMDB_ANSIBLE_CORE="$core" CMDB_PYTHON="$py" CMDB_BOOTSTRAP_PROBE=1 bash scripts/bootstrap.sh >/dev/null 2>&1; then
    echo "skipped: no Python ${py:-of this line} installed"
    skipped+=("$name")
    continue
  fi
  start=$SECONDS
  set +e
  # shellcheck disable=SC2016  # the script runs in the cell's environment: it expands there
  env -u CMDB_VENV CMDB_ANSIBLE_CORE="$core" CMDB_PYTHON="$py" PARTS="$PARTS" \
    SANITY_ARGS="${sanity_args[*]}" bash -c '
    set -euo pipefail
    source scripts/bootstrap.sh
    timed() {
      local label="$1" t0=$SECONDS rc=0
      shift
      echo "--> $CMDB_CELL: $label"
      "$@" || rc=$?
      echo "--> $CMDB_CELL: $label: $((SECONDS - t0)) s, exit $rc"
      return "$rc"
    }
    echo "--> $CMDB_CELL: $(ansible --version 2>/dev/null | sed -n 1p), $(python --version)"
    rc=0
    for part in $PARTS; do
      case "$part" in
        # shellcheck disable=SC2086  # SANITY_ARGS: --test NAME pairs, one word each
        sanity) timed "ansible-test sanity ${SANITY_ARGS:-(all tests)}" bash scripts/ansible-test.sh sanity --requirements $SANITY_ARGS || rc=1 ;;
        units) timed "ansible-test units" bash scripts/ansible-test.sh units || rc=1 ;;
        smoke) timed "smoke set (pytest -m smoke)" python -m pytest -q -m smoke tests/integration/smoke || rc=1 ;;
        *) echo "error: unknown part $part (sanity units smoke)" >&2; rc=1 ;;
      esac
    done
    exit "$rc"
  '
  rc=$?
  set -e
  summary+=("$name: exit $rc, $((SECONDS - start)) s")
  [ "$rc" -eq 0 ] || failed+=("$name")
done

printf '\n==> support matrix: %s\n' "${#cells[@]} cell(s) besides the main one (${main_cell:-none})"
for entry in "${summary[@]}"; do echo "    $entry"; done
for entry in "${skipped[@]}"; do echo "    $entry: skipped (Python not installed)"; done
if [ "${#skipped[@]}" -gt 0 ] && [ "${CI:-}" = "true" ]; then
  echo "error: CI=true and cells were skipped: ${skipped[*]}" >&2
  exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "error: cells failed: ${failed[*]}" >&2
  exit 1
fi
