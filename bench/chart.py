"""Draw ``docs/bench/chart.png`` from ``results.json``: ``python chart.py results.json chart.png``.

Runs in the reference venv (which has matplotlib; the collection itself never needs it).
"""

from __future__ import annotations

import json
import sys


def _pick(rows, scenario, step, tool=None):
    for row in rows:
        if row["scenario"] == scenario and row["step"] == step and (tool is None or row["tool"] == tool):
            if row.get("status", "ok") == "ok" and row.get("wall"):
                return row
    return None


def main(argv):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(argv[1]) as fh:
        data = json.load(fh)
    rows = data["rows"]
    scenarios = [s["key"] for s in data["scenarios"]]

    fig, axes = plt.subplots(1, 3, figsize=(17, 5.5))

    # 1: listing everything: API floor vs our gather (wall seconds)
    ax = axes[0]
    series = [("API floor", "gather", "API floor"), ("cmdb.openstack gather", "gather", "cmdb.openstack")]
    width = 0.38
    for idx, (label, step, tool) in enumerate(series):
        vals = []
        for scen in scenarios:
            row = _pick(rows, scen, step, tool)
            vals.append(row["wall"] if row else 0)
        ax.bar([i + (idx - 0.5) * width for i in range(len(scenarios))], vals, width, label=label)
    ax.set_xticks(range(len(scenarios)))
    ax.set_xticklabels(scenarios, rotation=20)
    ax.set_ylabel("wall seconds (log)")
    ax.set_yscale("log")
    ax.set_title("Gather every type vs the API floor")
    ax.legend(fontsize=8)

    # 2: info modules: openstack.cloud vs ours (servers, ports, volumes)
    ax = axes[1]
    labels, ours, theirs = [], [], []
    for scen in scenarios:
        for rtype in ("servers", "ports", "volumes"):
            step = "info module: %s" % rtype
            mine = _pick(rows, scen, step, "cmdb.openstack")
            ref = _pick(rows, scen, step, "openstack.cloud 2.6.0")
            if mine and ref:
                labels.append("%s\n%s" % (scen, rtype))
                ours.append(mine.get("net_wall") or mine["wall"])
                theirs.append(ref.get("net_wall") or ref["wall"])
    xs = range(len(labels))
    ax.bar([x - width / 2 for x in xs], theirs, width, label="openstack.cloud 2.6.0", color="#c44")
    ax.bar([x + width / 2 for x in xs], ours, width, label="cmdb.openstack", color="#48c")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("module seconds, ansible start-up subtracted (log)")
    ax.set_title("*_info modules")
    ax.legend(fontsize=8)

    # 3: inventory: openstack.cloud vs ours live vs ours from the CMDB (ansible-inventory --list wall)
    ax = axes[2]
    labels, vals = [], {"openstack.cloud 2.6.0": [], "cmdb.openstack live": [], "cmdb.openstack cmdb": []}
    for scen in scenarios:
        ref = _pick(rows, scen, "inventory --list", "openstack.cloud 2.6.0")
        live = _pick(rows, scen, "inventory --list (live)", "cmdb.openstack")
        cmdb = _pick(rows, scen, "inventory --list (cmdb)", "cmdb.openstack")
        if not (ref or live or cmdb):
            continue
        labels.append(scen)
        vals["openstack.cloud 2.6.0"].append(ref["wall"] if ref else 0)
        vals["cmdb.openstack live"].append(live["wall"] if live else 0)
        vals["cmdb.openstack cmdb"].append(cmdb["wall"] if cmdb else 0)
    width3 = 0.27
    for idx, (label, series_vals) in enumerate(vals.items()):
        ax.bar([i + (idx - 1) * width3 for i in range(len(labels))], series_vals, width3, label=label)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20)
    ax.set_yscale("log")
    ax.set_ylabel("ansible-inventory --list wall seconds (log)")
    ax.set_title("Dynamic inventory")
    ax.legend(fontsize=8)

    meta = data["meta"]
    fig.suptitle("cmdb.openstack benchmark, %s, %s" % (meta.get("date", ""), meta.get("machine", "")), fontsize=10)
    fig.tight_layout()
    fig.savefig(argv[2], dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
