"""README.md's "## Benchmarks" figures are those of the latest benchmark run (docs/bench/*.json): they cannot drift.

Each figure of the section is read with a pattern and compared with the value computed from the results, rounded to
the precision the README prints (``1.7-1.8x`` matches 1.71 and 1.78). When bench/run.sh writes new results, this
test fails until the README says what they say.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from support.paths import COLLECTION_ROOT

BENCH = os.path.join(COLLECTION_ROOT, "docs", "bench")


def _section():
    with open(os.path.join(COLLECTION_ROOT, "README.md")) as handle:
        text = handle.read()
    section = text.split("\n## Benchmarks\n", 1)[1].split("\n## ", 1)[0]
    return " ".join(section.split())  # one line: figures may be wrapped anywhere


def _load(name):
    with open(os.path.join(BENCH, name)) as handle:
        return json.load(handle)


RESULTS = _load("results.json")
NETBOX = _load("netbox.json")
EVENTS = _load("events.json")  # bench/events.py --out


def _number(text):
    return float(re.match(r"[\d.]+", text.strip()).group(0))


def _target(prefix, scenario):
    found = [row for row in RESULTS["targets"] if row["target"].startswith(prefix) and row["scenario"] == scenario]
    assert len(found) == 1, (prefix, scenario, found)
    return _number(found[0]["measured"])


def _same(printed, value):
    """``printed`` is ``value`` rounded to the decimals the README shows."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - round(value, decimals)) < 1e-9


def _figures(pattern):
    match = re.search(pattern, _section())
    assert match, "README's Benchmarks section no longer says: %s" % pattern
    return match.groups()


GATHER = "gather of all types"
SERVER = "server_info >="
LIVE = "live inventory >="
LIVE_RSS = "live inventory peak RSS"


def _min_max(values):
    return [min(values), max(values)]


def _runs(key, run):
    found = [row for row in NETBOX[key]["runs"] if row["run"] == run]
    assert len(found) == 1, (key, run)
    return found[0]["wall_s"]


def _delays(name, burners):
    """One delay of the event runs (bench/events.py) with that many CPU burners beside them: min, max."""
    values = [run["delays"][name] for run in EVENTS if run["burners"] == burners and run["rc"] == 0]
    assert values, (name, burners)
    return _min_max(values)


CASES = {
    "event: server appears": (
        r"a created server is in the CMDB ([\d.]+)-([\d.]+) s after its first notification",
        lambda: _delays("server appears after its first notification", 0),
    ),
    "event: server ACTIVE": (
        r"ACTIVE ([\d.]+)-([\d.]+) s after `instance\.create\.end`",
        lambda: _delays("server ACTIVE after instance.create.end", 0),
    ),
    "event: server tombstoned": (
        r"tombstoned ([\d.]+)-([\d.]+) s after `instance\.delete\.end`",
        lambda: _delays("server tombstoned after instance.delete.end", 0),
    ),
    "event: server appears, two CPU burners": (
        r"with two CPU-bound processes on the 2 cores the first appearance takes ([\d.]+)-([\d.]+) s",
        lambda: _delays("server appears after its first notification", 2),
    ),
    "gather with latency": (
        r"Gather is at ([\d.]+)-([\d.]+)x the API floor on M\+lat, INV and L",
        lambda: sorted(_target(GATHER, s) for s in ("M+lat", "INV", "L"))[::2],
    ),
    "gather without latency": (
        r"\(([\d.]+)-([\d.]+)x on S and M without latency",
        lambda: sorted(_target(GATHER, s) for s in ("S", "M")),
    ),
    "CMDB load memory": (
        r"L's peak memory is ([\d.]+)x S's for the CMDB load",
        lambda: [_target("L's peak RSS <= 2x S's (CMDB initial load)", "L vs S")],
    ),
    "server_info with latency": (
        r"`server_info` is ([\d.]+)x faster than openstack\.cloud's with 200 ms API latency",
        lambda: [_target(SERVER, "S+lat")],
    ),
    "live inventory on M and INV": (
        r"the live inventory is ([\d.]+)x faster than openstack\.cloud's with ([\d.]+) of its memory on M "
        r"\(([\d.]+) of its memory on INV\)",
        lambda: [_target(LIVE, "M"), _target(LIVE_RSS, "M"), _target(LIVE_RSS, "INV")],
    ),
    "hosts from the CMDB": (
        r"10,000 hosts from the CMDB take ([\d.]+) s of plugin time",
        lambda: [_target("inventory of 10,000 hosts", "M")],
    ),
    "port_info and volume_info": (
        r"`port_info`/`volume_info` are ([\d.]+)-([\d.]+)x faster",
        lambda: _min_max([_target(t, s) for t in ("port_info >=", "volume_info >=") for s in ("S", "S+lat")]),
    ),
    "server_info without latency": (
        r"and `server_info` ([\d.]+)x without latency",
        lambda: [_target(SERVER, "S")],
    ),
    "live inventory on INV and S": (
        r"the live inventory is ([\d.]+)x faster on INV and ([\d.]+)-([\d.]+)x on S",
        lambda: [_target(LIVE, "INV")] + sorted([_target(LIVE, "S"), _target(LIVE, "S+lat")]),
    ),
    "live inventory memory on S (half)": (
        r"with (half) the memory on S",
        lambda: None,
    ),
    "NetBox 10,000 servers": (
        r"finished in ([\d.]+) minutes \(\d+ ms per object, (\d+) duplicates\); a no-change run then takes ([\d.]+) s",
        lambda: [
            (_runs("10000 servers", "first load, killed part way") + _runs("10000 servers", "first load, resumed"))
            / 60,
            0,
            _runs("10000 servers", "no change"),
        ],
    ),
    "NetBox 1,000 servers": (
        r"For 1,000 servers: first load ([\d.]+) s, no change ([\d.]+) s",
        lambda: [_runs("1000 servers", "first load"), _runs("1000 servers", "no change")],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_readme_benchmark_figure_matches_the_results(case):
    pattern, expected = CASES[case]
    printed = _figures(pattern)
    values = expected()
    if values is None:  # "half": both S rows of the live inventory's memory ratio round to 0.5
        assert all(_same("0.5", _target(LIVE_RSS, s)) for s in ("S", "S+lat"))
        return
    assert len(printed) == len(values)
    for text, value in zip(printed, values):
        assert _same(text, value), "%s: README says %s, the results say %s" % (case, text, value)


def test_readme_counts_the_targets_and_dates_the_run():
    met, total = (int(n) for n in _figures(r"(\d+) of (\d+) targets met"))
    assert total == len(RESULTS["targets"])
    assert met == sum(1 for row in RESULTS["targets"] if row["result"] == "met")
    (date,) = _figures(r"Latest run \([^)]*(\d{4}-\d\d-\d\d)\)")
    assert date == RESULTS["meta"]["date"][:10]


def test_results_md_is_the_results_json():
    """docs/bench/results.md is generated with results.json: same date, same target rows."""
    with open(os.path.join(BENCH, "results.md")) as handle:
        markdown = handle.read()
    assert RESULTS["meta"]["date"] in markdown
    for row in RESULTS["targets"]:
        assert "| %s | %s | %s |" % (row["target"], row["scenario"], row["measured"]) in markdown, row
