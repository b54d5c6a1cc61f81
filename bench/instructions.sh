#!/usr/bin/env bash
# Instructions, not seconds: valgrind's callgrind counts the instructions a step executes, which
# does not depend on what else the machine runs (the same count twice for a deterministic step),
# so that a before/after comparison on a shared machine is not drowned in noise.
#
#   bash bench/instructions.sh CHECKOUT [CHECKOUT...]
#
# For each checkout (a git worktree of another commit, or this one: .): one scenario S run of
# bench/run.py --keep (1,000 servers, the simulator), then under callgrind, with PYTHONHASHSEED=0:
#   - the inventory plugin step (bench/worker.py inventory: cmdb.openstack.inventory parsing the
#     run's SQLite CMDB in-process, imports included), deterministic to 0.001 %;
#   - ansible-playbook running server_info and volume_info against the simulator (every process:
#     the controller, its worker and the module). The module's process is deterministic to about
#     0.01 %; the controller's two processes poll, so their counts vary by about 1 %.
# Each checkout is measured with this checkout's virtualenv (.venv: ansible-core, openstacksdk),
# so only the collection's code differs. Takes about 8 minutes per checkout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "error: $ROOT/.venv is missing: run bash scripts/bootstrap.sh first" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "error: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[ "$#" -ge 1 ] || { echo "usage: bash bench/instructions.sh CHECKOUT [CHECKOUT...]" >&2; exit 2; }
export PATH="$ROOT/.venv/bin:$PATH" PYTHONHASHSEED=0
unset CMDB_COLLECTIONS_DIR CMDB_BENCH_COLLECTIONS ANSIBLE_COLLECTIONS_PATH PYTHONDONTWRITEBYTECODE
out="$(mktemp -d "${TMPDIR:-/tmp}/cmdb-instructions.XXXXXX")"

collected() {  # the sum of callgrind's "Collected" lines of a log, and per process
  awk '/Collected :/ {s += $NF; p = p " " $NF} END {printf "%d (processes:%s)", s, p}' "$1"
}

for checkout in "$@"; do
  checkout="$(cd "$checkout" && pwd)"
  label="$(git -C "$checkout" rev-parse --short HEAD 2>/dev/null || echo "$checkout")"
  work="$out/$label"
  mkdir -p "$work"
  (cd "$checkout" && "$PY" bench/run.py --scenarios S --latency 0 --no-reference --no-postgres --keep \
    --out "$work/run" >"$work/run.log" 2>&1) || { echo "error: bench/run.py failed in $checkout: $work/run.log" >&2; exit 1; }
  kept="$(sed -n 's/.*kept the work directory \(.*\)$/\1/p' "$work/run.log" | tail -n 1)"
  collections="$(cd "$checkout/bench" && "$PY" -c 'import collection_path; print(collection_path.COLLECTIONS)')"
  export ANSIBLE_COLLECTIONS_PATH="$collections" ANSIBLE_HOME="$kept/ansible-home-worker"
  export ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_DEPRECATION_WARNINGS=0
  export ANSIBLE_LOCAL_TEMP="$kept/ansible-local" ANSIBLE_REMOTE_TEMP="$kept/ansible-remote" ANSIBLE_PYTHON_INTERPRETER="$PY"
  (cd "$checkout" && "$PY" bench/worker.py inventory "$kept"/args-inventory-*.json >/dev/null)  # writes the bytecode
  (cd "$checkout" && valgrind --tool=callgrind --callgrind-out-file="$work/inventory.cg" \
    "$PY" bench/worker.py inventory "$kept"/args-inventory-*.json >"$work/inventory.log" 2>&1)
  printf '%s  inventory plugin step: %s\n' "$label" "$(collected "$work/inventory.log")"
  # the simulator again (the run stopped it), with the same generated clouds
  "$PY" - "$kept" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1] + "/sim-spec-S.json"))
spec["ready_file"] = sys.argv[1] + "/ready-again.json"
json.dump(spec, open(sys.argv[1] + "/sim-spec-again.json", "w"))
PY
  (cd "$checkout" && exec "$PY" bench/sim_server.py "$kept/sim-spec-again.json" >"$work/sim.log" 2>&1) &
  sim=$!
  trap 'kill "$sim" 2>/dev/null || true' EXIT
  for _ in $(seq 120); do [ -s "$kept/ready-again.json" ] && break; sleep 0.5; done
  OS_CLIENT_CONFIG_FILE="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["clouds_yaml"])' "$kept/sim-spec-again.json")"
  export OS_CLIENT_CONFIG_FILE ANSIBLE_HOME="$kept/ansible-home-ours"
  for module in server_info volume_info; do
    ansible-playbook "$kept/S-cmdb.openstack-$module.json" >/dev/null
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$work/$module.cg.%p" \
      ansible-playbook "$kept/S-cmdb.openstack-$module.json" >"$work/$module.log" 2>&1
    grep -q "failed=0" "$work/$module.log" || { echo "error: $module failed under callgrind: $work/$module.log" >&2; exit 1; }
    printf '%s  ansible-playbook %s: %s\n' "$label" "$module" "$(collected "$work/$module.log")"
  done
  kill "$sim" 2>/dev/null || true
  trap - EXIT
done
echo "(logs and callgrind files: $out)"
