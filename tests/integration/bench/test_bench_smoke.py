"""Smoke test of the benchmark harness: ``bench/run.py --quick`` writes a report with every row.

No timing is asserted (speed belongs in bench/); this checks that the harness runs end to end on a
small S scenario and that every measurement and every target appears in the report, either with a
value or with the reason it was skipped. The openstack.cloud reference (a Python >= 3.12 virtualenv
built by ``bench/setup_reference.sh``) and PostgreSQL are left out to keep it under a minute
(``--no-reference --no-postgres``): their rows must then say why they were skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support.paths import COLLECTION_ROOT

BENCH = os.path.join(COLLECTION_ROOT, "bench")

EXPECTED_STEPS = [
    ("gather", "API floor"),
    ("gather", "cmdb.openstack"),
    ("CMDB initial load", "cmdb.openstack on SQLite"),
    ("CMDB no-change resync", "cmdb.openstack on SQLite"),
    ("inventory plugin (cmdb)", "cmdb.openstack"),
    ("inventory --list (cmdb)", "cmdb.openstack"),
    ("inventory --list (live)", "cmdb.openstack"),
    ("inventory --list", "openstack.cloud 2.6.0"),
    ("info module: servers", "openstack.cloud 2.6.0"),
    ("info module: servers", "cmdb.openstack"),
    ("info module: ports", "cmdb.openstack"),
    ("info module: volumes", "cmdb.openstack"),
]

EXPECTED_TARGETS = [
    "gather of all types <= 1.5x the API floor (wall)",
    "server_info >= 20x faster than openstack.cloud's (module time)",
    "port_info >= 20x faster than openstack.cloud's (module time)",
    "volume_info >= 20x faster than openstack.cloud's (module time)",
    "live inventory >= 10x faster than openstack.cloud's",
    "inventory of 10,000 hosts from the CMDB in <= 1 s plugin time",
    "no-change resync writes zero rows (SQLite)",
]


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-out")
    cmd = [
        sys.executable,
        os.path.join(BENCH, "run.py"),
        "--quick",
        "--out",
        str(out),
        "--no-postgres",
        "--no-reference",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=COLLECTION_ROOT, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "results.json") as fh:
        data = json.load(fh)
    return out, data, proc


def test_report_has_every_row(quick_report):
    _out, data, proc = quick_report
    present = {(row["scenario"], row["step"], row["tool"]): row for row in data["rows"]}
    for step, tool in EXPECTED_STEPS:
        row = present.get(("S", step, tool))
        assert row is not None, "missing row %s / %s; log:\n%s" % (step, tool, proc.stderr[-3000:])
        # a row either has measurements or says why it has none
        assert row["status"] == "ok" or row.get("note"), row
        if row["status"] == "ok":
            assert row.get("wall") is not None, row


def test_gather_and_floor_list_the_same_resources(quick_report):
    _out, data, _proc = quick_report
    rows = {(r["step"], r["tool"]): r for r in data["rows"] if r["scenario"] == "S"}
    floor, ours = rows[("gather", "API floor")], rows[("gather", "cmdb.openstack")]
    if floor["status"] != "ok" or ours["status"] != "ok":
        pytest.fail("gather rows failed: %s / %s" % (floor.get("note"), ours.get("note")))
    assert floor["items"] > 0
    assert ours["items"] == floor["items"]


def test_report_states_every_target(quick_report):
    out, data, _proc = quick_report
    names = [t["target"] for t in data["targets"]]
    for name in EXPECTED_TARGETS:
        assert name in names, names
    for target in data["targets"]:
        assert target["result"] in ("met", "missed", "not measured"), target
        assert target.get("why"), target
    text = (out / "results.md").read_text()
    assert "## Targets" in text and "## Machine and versions" in text
    for name in EXPECTED_TARGETS:
        assert name.replace("|", "\\|") in text


def test_a_new_run_keeps_the_sections_other_benchmarks_wrote(tmp_path):
    """report.write() replaces its own sections of results.md and keeps the others (events, report, notes)."""
    sys.path.insert(0, BENCH)
    try:
        import report
    finally:
        sys.path.remove(BENCH)
    meta = {"date": "2026-12-06T21:00:00Z", "cpus": 2}
    scenarios = [{"key": "S", "label": "small", "resources": 10, "counts": "10 servers"}]
    targets = [{"target": "a target", "scenario": "S", "measured": "1.0", "result": "met", "why": "-"}]
    (tmp_path / "results.md").write_text(
        "# old\n\n## Machine and versions\n\n- **cpus**: 1\n\n## Notifications -> CMDB (issue 23)\n\n"
        "delays: 2.77 s\n\n## All measurements\n\nold table\n\n## CMDB report (issue 21)\n\n| Run | 1 |\n"
    )
    report.write(str(tmp_path), meta, scenarios, [], targets, False, "bench/run.sh")
    text = (tmp_path / "results.md").read_text()
    assert "old table" not in text and "- **cpus**: 1\n" not in text  # its own sections replaced
    assert "- **cpus**: 2" in text and "| a target | S | 1.0 | met |" in text
    assert text.count("## All measurements") == 1 and text.count("## Machine and versions") == 1
    events = text.index("## Notifications -> CMDB (issue 23)\n\ndelays: 2.77 s\n")
    assert events > text.index("## All measurements")  # kept, after the generated part, in their order
    assert text.index("## CMDB report (issue 21)\n\n| Run | 1 |\n") > events
