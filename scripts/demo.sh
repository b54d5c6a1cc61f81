#!/usr/bin/env bash
# The README's main command: bash scripts/demo.sh
# Sets up ./.venv (scripts/bootstrap.sh), starts the OpenStack API simulator's built-in demo cloud
# in the background, syncs it into ./cmdb.sqlite (of the directory you run this from) with
# cmdb.openstack.cmdb_sync (playbooks/demo.yml), prints a summary table (cloud x type: new,
# updated, deleted, total), writes the CMDB report ./cmdb-report.html next to it (playbooks/report.yml),
# prints its path and stops the simulator. Run it twice: the second sync changes nothing.
#
# Environment: CMDB_DEMO_URL overrides the CMDB (default sqlite:///$PWD/cmdb.sqlite).
set -euo pipefail
CALLER_PWD="$PWD"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

CMDB_URL_DEMO="${CMDB_DEMO_URL:-sqlite:///$CALLER_PWD/cmdb.sqlite}"
work="$(mktemp -d "${TMPDIR:-/tmp}/cmdb-demo.XXXXXX")"
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting the simulator's demo cloud"
# A fixed port: the CMDB remembers the identity (auth URL included) that fed each cloud, so the
# demo cloud must keep its address from one run to the next.
PYTHONPATH="$ROOT/simulator${PYTHONPATH:+:$PYTHONPATH}" python -m os_simulator serve \
  --port "${CMDB_DEMO_PORT:-17480}" --cloud demo:RegionOne,RegionTwo --write-clouds-yaml "$work/clouds.yaml" --ready-file "$work/ready" >"$work/simulator.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 300); do
  [ -s "$work/ready" ] && break
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    echo "error: the simulator did not start:" >&2
    cat "$work/simulator.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "$work/ready" ]; then
  echo "error: the simulator did not report ready within 30 s:" >&2
  cat "$work/simulator.log" >&2
  exit 1
fi

echo "==> syncing it into $CMDB_URL_DEMO"
export OS_CLIENT_CONFIG_FILE="$work/clouds.yaml"
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
ansible-playbook playbooks/demo.yml -e "demo_cloud=demo" -e "demo_cmdb_url=$CMDB_URL_DEMO"

report="$CALLER_PWD/cmdb-report.html"
echo "==> writing the CMDB report"
ansible-playbook playbooks/report.yml -e "report_path=$report" -e "cmdb_url=$CMDB_URL_DEMO" >"$work/report.log" 2>&1 \
  || { cat "$work/report.log" >&2; exit 1; }
echo "CMDB report: $report (open it in a browser)"
