# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CMDB report as one self-contained HTML file (``cmdb_report``).

* Nothing is templated: the page is built with ``html.escape`` on every value, and the data the
  scripts need is embedded as JSON in ``<script type="application/json">`` (every ``<``, ``>`` and
  ``&`` escaped, so no string can close the element) and read with ``JSON.parse``. The inline script
  builds tables with ``textContent`` only, never ``innerHTML``.
* A Content-Security-Policy meta allows only the page's own inline script and style (by hash) and
  ``data:`` images: the file loads nothing from the network, opened from disk or from a web server.
* Charts are server-side SVG (no JavaScript library to vendor).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
from html import escape

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog

DATA_ID = "cmdb-report-data"

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)

SECTIONS = (
    ("now", "Now"),
    ("trends", "Trends"),
    ("changes", "Changes"),
    ("waste", "Waste and orphans"),
    ("health", "Sync health"),
    ("servers", "Servers"),
)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header{background:#1d2733;color:#fff;padding:10px 20px}
header h1{font-size:20px;margin:0 0 4px 0}
header p{margin:0;font-size:13px;color:#c9d1da}
nav{background:#fff;border-bottom:1px solid #d8dde3;padding:0 12px;position:sticky;top:0;z-index:2}
nav a{display:inline-block;padding:10px 12px;color:#1d2733;text-decoration:none;border-bottom:3px solid transparent}
nav a.active{border-bottom-color:#1f77b4;font-weight:600}
main{padding:12px 20px}
section>h2{font-size:18px;margin:8px 0}
h3{font-size:15px;margin:16px 0 6px 0}
table{border-collapse:collapse;background:#fff;font-size:13px;margin-bottom:8px}
th,td{border:1px solid #d8dde3;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;cursor:pointer;user-select:none;white-space:nowrap}
td.num,th.num{text-align:right}
td.pos{color:#2ca02c}td.neg{color:#d62728}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.card{background:#fff;border:1px solid #d8dde3;border-radius:4px;padding:8px 12px;min-width:130px}
.card b{display:block;font-size:22px}
.card.bad b{color:#d62728}
.charts{display:flex;flex-wrap:wrap;gap:10px}
.chart{background:#fff;border:1px solid #d8dde3}
.tools{margin:6px 0;display:flex;gap:8px;align-items:center;flex-wrap:wrap;font-size:13px}
.tools input{padding:3px 6px;min-width:240px}
.diff{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all;max-width:700px}
.stale{color:#d62728;font-weight:600}
.muted{color:#6b7785}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 12px;background:#fff;padding:8px;
border:1px solid #d8dde3}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}
""".strip()

SCRIPT = r"""
"use strict";
(function () {
  var DATA = JSON.parse(document.getElementById("cmdb-report-data").textContent);
  var PAGE = 100;
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }
  function short(value) {
    var text = typeof value === "string" ? value : JSON.stringify(value);
    if (text === undefined) { text = "null"; }
    return text.length > 300 ? text.slice(0, 300) + "..." : text;
  }
  function diffText(diff) {
    if (!diff || typeof diff !== "object") { return ""; }
    return Object.keys(diff).sort().map(function (field) {
      var d = diff[field] || {};
      return field + ": " + short(d.old) + " -> " + short(d["new"]);
    }).join("\n");
  }
  function age(seconds) {
    if (seconds === null || seconds === undefined) { return "never"; }
    if (seconds < 120) { return seconds + " s"; }
    if (seconds < 7200) { return Math.round(seconds / 60) + " min"; }
    if (seconds < 172800) { return Math.round(seconds / 3600) + " h"; }
    return Math.round(seconds / 86400) + " d";
  }
  function cellValue(col, row) {
    return col.value ? col.value(row) : row[col.key];
  }
  // A table over rows (arrays) with sorting (click a header), a search box, select filters and pages.
  function table(container, columns, rows, opts) {
    opts = opts || {};
    var state = { sort: null, desc: false, page: 0, search: "", filters: {} };
    var tools = el("div", null, "tools");
    var search = el("input");
    search.type = "search";
    search.placeholder = "Search";
    search.setAttribute("data-role", "search");
    tools.appendChild(search);
    (opts.filters || []).forEach(function (index) {
      var col = columns[index];
      var select = el("select");
      select.setAttribute("data-filter", col.label);
      select.appendChild(el("option", "every " + col.label.toLowerCase())).value = "";
      var seen = {};
      rows.forEach(function (row) { seen[String(cellValue(col, row))] = true; });
      Object.keys(seen).sort().forEach(function (v) { select.appendChild(el("option", v)).value = v; });
      select.addEventListener("change", function () { state.filters[index] = select.value; state.page = 0; draw(); });
      tools.appendChild(select);
    });
    var info = el("span", null, "muted");
    info.setAttribute("data-role", "count");
    var prev = el("button", "Previous"), next = el("button", "Next");
    tools.appendChild(prev); tools.appendChild(next); tools.appendChild(info);
    var tbl = el("table");
    var head = el("tr");
    columns.forEach(function (col, index) {
      var th = el("th", col.label, col.num ? "num" : "");
      th.addEventListener("click", function () {
        state.desc = state.sort === index ? !state.desc : false;
        state.sort = index;
        draw();
      });
      head.appendChild(th);
    });
    var thead = el("thead"); thead.appendChild(head); tbl.appendChild(thead);
    var tbody = el("tbody"); tbl.appendChild(tbody);
    container.appendChild(tools); container.appendChild(tbl);
    if (opts.note) { container.appendChild(el("p", opts.note, "muted")); }
    var texts = rows.map(function (row) {
      return columns.map(function (col) { var v = cellValue(col, row); return v === null || v === undefined ? "" : (typeof v === "object" ? JSON.stringify(v) : String(v)); }).join("\u0001").toLowerCase();
    });
    function visible() {
      var out = [];
      rows.forEach(function (row, i) {
        if (state.search && texts[i].indexOf(state.search) < 0) { return; }
        for (var key in state.filters) {
          if (state.filters[key] && String(cellValue(columns[key], row)) !== state.filters[key]) { return; }
        }
        out.push(row);
      });
      if (state.sort !== null) {
        var col = columns[state.sort];
        out.sort(function (a, b) {
          var x = cellValue(col, a), y = cellValue(col, b);
          if (x === y) { return 0; }
          if (x === null || x === undefined) { return 1; }
          if (y === null || y === undefined) { return -1; }
          var r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
          return state.desc ? -r : r;
        });
      }
      return out;
    }
    function draw() {
      var list = visible();
      var pages = Math.max(1, Math.ceil(list.length / PAGE));
      if (state.page >= pages) { state.page = pages - 1; }
      while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
      list.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (row) {
        var tr = el("tr");
        columns.forEach(function (col) {
          var td = el("td", null, col.num ? "num" : (col.cls || ""));
          if (col.render) { col.render(td, row); }
          else { var v = cellValue(col, row); td.textContent = v === null || v === undefined ? "" : String(v); }
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
      info.textContent = list.length + " of " + rows.length + " rows, page " + (state.page + 1) + " of " + pages;
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
    }
    search.addEventListener("input", function () { state.search = search.value.toLowerCase(); state.page = 0; draw(); });
    prev.addEventListener("click", function () { state.page -= 1; draw(); });
    next.addEventListener("click", function () { state.page += 1; draw(); });
    draw();
  }
  function host(id) { return document.getElementById(id); }
  var serverIndex = {};
  DATA.servers.rows.forEach(function (s, i) { serverIndex[s.cloud + "\u0001" + s.region + "\u0001" + s.id] = i; });
  function serverLink(td, cloud, region, id, label) {
    var i = serverIndex[cloud + "\u0001" + region + "\u0001" + id];
    if (i === undefined) { td.textContent = label === null || label === undefined ? "" : String(label); return; }
    var a = el("a", label === null || label === undefined || label === "" ? id : label);
    a.href = "#server-" + i;
    td.appendChild(a);
  }
  // Now: per project
  table(host("projects-table"), [
    { key: 0, label: "Cloud" }, { key: 1, label: "Project" }, { key: 2, label: "Type" },
    { key: 3, label: "Live", num: true },
    { key: 4, label: "Change", num: true, value: function (r) { return r[4]; } }
  ], DATA.now.projects, { filters: [0, 2] });
  // Changes
  table(host("changes-table"), [
    { key: 0, label: "At" }, { key: 1, label: "Cloud" }, { key: 2, label: "Region" }, { key: 3, label: "Type" },
    { key: 5, label: "Name", render: function (td, r) {
      if (r[3] === "servers") { serverLink(td, r[1], r[2], r[4], r[5]); } else { td.textContent = r[5] === null ? "" : String(r[5]); } } },
    { key: 4, label: "Id" }, { key: 6, label: "Action" },
    { key: 7, label: "Diff", cls: "diff", value: function (r) { return diffText(r[7]); } }
  ], DATA.changes.rows, { filters: [1, 3, 6],
    note: DATA.changes.rows.length < DATA.changes.total ? "The newest " + DATA.changes.rows.length + " of " + DATA.changes.total + " changes (option changes_limit)." : null });
  // Waste and orphans
  DATA.waste.kinds.forEach(function (kind) {
    var box = host("waste-" + kind.kind);
    if (!box) { return; }
    table(box, [
      { key: 0, label: "Cloud" }, { key: 1, label: "Region" },
      { key: 4, label: "Name", render: function (td, r) {
        if (r[2] === "servers") { serverLink(td, r[0], r[1], r[3], r[4]); } else { td.textContent = r[4] === null ? "" : String(r[4]); } } },
      { key: 3, label: "Id" }, { key: 5, label: "Project" }, { key: 6, label: "Status" },
      { key: 7, label: "Age (days)", num: true }, { key: 8, label: "Reason" }
    ], kind.rows, { filters: [0],
      note: kind.rows.length < kind.total ? "The oldest " + kind.rows.length + " of " + kind.total + " (option rows_limit)." : null });
  });
  // Sync health
  table(host("accounts-table"), [
    { key: 0, label: "Account" }, { key: 1, label: "Paused" }, { key: 2, label: "Auth failures", num: true },
    { key: 3, label: "Last auth error" }, { key: 4, label: "At" }
  ], DATA.health.accounts, {});
  table(host("scopes-table"), [
    { key: 0, label: "Cloud" }, { key: 1, label: "Region" }, { key: 2, label: "Type" },
    { key: 3, label: "Last successful sync" },
    { key: 4, label: "Age", num: true, render: function (td, r) { td.textContent = age(r[4]); } },
    { key: 5, label: "Interval", num: true, render: function (td, r) { td.textContent = age(r[5]); } },
    { key: 6, label: "Stale", render: function (td, r) { td.textContent = r[6] ? "stale" : "ok"; if (r[6]) { td.className = "stale"; } } },
    { key: 7, label: "Last run" }, { key: 8, label: "Last error", cls: "diff" }, { key: 9, label: "Error at" }
  ], DATA.health.scopes, { filters: [0, 2, 6] });
  table(host("gaps-table"), [
    { key: 0, label: "Cloud" }, { key: 1, label: "Region" }, { key: 2, label: "Type" }, { key: 3, label: "Status" },
    { key: 4, label: "Found by" }, { key: 5, label: "What to do", cls: "diff" }
  ], DATA.health.gaps, { filters: [0] });
  // Servers
  table(host("servers-table"), [
    { key: "cloud", label: "Cloud" }, { key: "region", label: "Region" },
    { key: "name", label: "Name", render: function (td, s) { serverLink(td, s.cloud, s.region, s.id, s.name); } },
    { key: "id", label: "Id" }, { key: "project_id", label: "Project" }, { key: "status", label: "Status" },
    { key: "flavor", label: "Flavor" }
  ], DATA.servers.rows, { filters: [0, 5],
    note: DATA.servers.rows.length < DATA.servers.total ? "Pages of the first " + DATA.servers.rows.length + " of " + DATA.servers.total + " servers (option server_pages)." : null });
  function serverPage(index) {
    var s = DATA.servers.rows[index];
    var page = host("server");
    while (page.firstChild) { page.removeChild(page.firstChild); }
    if (!s) { page.appendChild(el("p", "No such server in this report.")); return; }
    page.appendChild(el("h2", "Server " + (s.name === null ? s.id : s.name)));
    var dl = el("dl", null, "kv");
    [["Name", s.name], ["Id", s.id], ["Cloud", s.cloud], ["Region", s.region], ["Project", s.project_id],
     ["Status", s.status], ["Flavor", s.flavor], ["Image", s.image ? (s.image[1] || "") + " (" + s.image[0] + ")" : ""],
     ["Created", s.created_at], ["First seen", s.first_seen],
     ["Security groups", s.security_groups.join(", ")],
     ["Load balancers", s.load_balancers.map(function (lb) { return (lb[1] || "") + " (" + lb[0] + ")"; }).join(", ")]
    ].forEach(function (kv) {
      var dt = el("dt", kv[0]), dd = el("dd", kv[1] === null || kv[1] === undefined ? "" : kv[1]);
      dd.setAttribute("data-field", kv[0]);
      dl.appendChild(dt); dl.appendChild(dd);
    });
    page.appendChild(dl);
    page.appendChild(el("h3", "Ports and IPs"));
    table(page.appendChild(el("div")), [{ key: 0, label: "Port" }, { key: 1, label: "Name" }, { key: 2, label: "Status" },
      { key: 3, label: "IPs", value: function (r) { return r[3].join(", "); } }], s.ports, {});
    page.appendChild(el("h3", "Volumes"));
    table(page.appendChild(el("div")), [{ key: 0, label: "Volume" }, { key: 1, label: "Name" }, { key: 2, label: "Status" },
      { key: 3, label: "Size (GB)", num: true }], s.volumes, {});
    page.appendChild(el("h3", "History"));
    table(page.appendChild(el("div")), [{ key: 0, label: "At" }, { key: 1, label: "Action" },
      { key: 2, label: "Diff", cls: "diff", value: function (r) { return diffText(r[2]); } }], s.history, {});
  }
  function show() {
    var hash = location.hash.replace(/^#/, "") || "now";
    var target = hash.indexOf("server-") === 0 ? "server" : hash;
    if (!host(target) || host(target).tagName !== "SECTION") { target = "now"; }
    if (target === "server") { serverPage(parseInt(hash.slice(7), 10)); }
    Array.prototype.forEach.call(document.querySelectorAll("main > section"), function (s) { s.hidden = s.id !== target; });
    Array.prototype.forEach.call(document.querySelectorAll("nav a"), function (a) {
      a.className = a.getAttribute("href") === "#" + (target === "server" ? "servers" : target) ? "active" : "";
    });
    window.scrollTo(0, 0);
  }
  window.addEventListener("hashchange", show);
  show();
  document.body.setAttribute("data-ready", "true");
})();
""".strip()  # noqa: E501


def _hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def embed_json(data):
    """JSON that cannot end a ``<script>`` element or open a comment: ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def e(value):
    return escape("" if value is None else str(value), quote=True)


def _fmt(n):
    return format(n, ",")


def _delta_cell(delta):
    if delta is None:
        return '<td class="num muted">-</td>'
    cls = "pos" if delta > 0 else "neg" if delta < 0 else ""
    return '<td class="num %s">%s</td>' % (cls, ("+" if delta > 0 else "") + _fmt(delta))


def line_chart(days, series, title, width=420, height=200, chart_id=""):
    """An SVG line chart of ``series`` ({label: [value per day]}) with its own y scale."""
    left, right, top, bottom = 48, 10, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(v) for v in series.values() if v] + [1])
    n = max(1, len(days) - 1)
    out = [
        '<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'role="img" aria-label="%s" data-chart="%s">' % (width, height, width, height, e(title), e(chart_id)),
        '<text x="%d" y="16" font-size="13" font-weight="600" fill="#1d2733">%s</text>' % (left, e(title)),
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h - frac * plot_h
        out.append(
            '<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e7eb"/>'
            '<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#6b7785">%s</text>'
            % (left, y, left + plot_w, y, left - 4, y + 3, e(_fmt(round(peak * frac))))
        )
    if days:
        for index in sorted({0, len(days) // 2, len(days) - 1}):
            x = left + plot_w * index / n
            anchor = "start" if index == 0 else "end" if index == len(days) - 1 else "middle"
            out.append(
                '<text x="%.1f" y="%d" font-size="10" text-anchor="%s" fill="#6b7785">%s</text>'
                % (x, height - bottom + 14, anchor, e(days[index][5:]))
            )
    legend_x = left
    for i, (label, values) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        points = " ".join(
            "%.1f,%.1f" % (left + plot_w * j / n, top + plot_h - (plot_h * v / peak)) for j, v in enumerate(values)
        )
        out.append(
            '<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s: %s</title></polyline>'
            % (color, points, e(label), e(_fmt(values[-1]) if values else ""))
        )
        if len(series) > 1:
            out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (legend_x, height - 14, color))
            out.append(
                '<text x="%d" y="%d" font-size="10" fill="#1d2733">%s</text>' % (legend_x + 13, height - 5, e(label))
            )
            legend_x += 20 + 6 * len(str(label))
    out.append("</svg>")
    return "".join(out)


def _now_html(data):
    now = data["now"]
    totals = {}
    for cloud, _region, rtype, n, delta in now["regions"]:
        entry = totals.setdefault((cloud, rtype), [0, None])
        entry[0] += n
        if delta is not None:
            entry[1] = (entry[1] or 0) + delta
    type_totals = {}
    for (_cloud, rtype), (n, _d) in totals.items():
        type_totals[rtype] = type_totals.get(rtype, 0) + n
    order = dict((name, i) for i, name in enumerate(catalog.RESOURCE_TYPE_NAMES))
    out = ['<section id="now"><h2>Now</h2>']
    prev = now.get("previous_at")
    out.append(
        "<p>Live resources at %s. %s</p>"
        % (
            e(data["generated_at"]),
            "Change since the previous report (%s)." % e(prev) if prev else "No previous report to compare with.",
        )
    )
    out.append('<div class="cards">')
    for rtype in sorted(type_totals, key=lambda t: (order.get(t, 99), t)):
        out.append(
            '<div class="card" data-type="%s"><b>%s</b>%s</div>' % (e(rtype), e(_fmt(type_totals[rtype])), e(rtype))
        )
    out.append("</div>")
    out.append(
        '<h3>Per cloud and type</h3><table id="cloud-counts"><thead><tr><th>Cloud</th><th>Type</th>'
        '<th class="num">Live</th><th class="num">Change</th></tr></thead><tbody>'
    )
    for cloud, rtype in sorted(totals, key=lambda k: (k[0], order.get(k[1], 99), k[1])):
        n, delta = totals[(cloud, rtype)]
        out.append(
            '<tr><td>%s</td><td>%s</td><td class="num" data-cloud="%s" data-type="%s" data-live="%d">%s</td>%s</tr>'
            % (e(cloud), e(rtype), e(cloud), e(rtype), n, e(_fmt(n)), _delta_cell(delta))
        )
    out.append(
        '</tbody></table><h3>Per cloud, region and type</h3><table id="region-counts"><thead><tr><th>Cloud</th>'
        '<th>Region</th><th>Type</th><th class="num">Live</th><th class="num">Change</th></tr></thead><tbody>'
    )
    for cloud, region, rtype, n, delta in now["regions"]:
        out.append(
            '<tr><td>%s</td><td>%s</td><td>%s</td><td class="num">%s</td>%s</tr>'
            % (e(cloud), e(region), e(rtype), e(_fmt(n)), _delta_cell(delta))
        )
    out.append('</tbody></table><h3>Per project</h3><div id="projects-table"></div></section>')
    return "".join(out)


def _trends_html(data):
    trends = data["trends"]
    days = trends["days"]
    out = [
        '<section id="trends"><h2>Trends</h2>',
        "<p>Live resources at the end of each of the last %d days, from the change log.</p>" % len(days),
        '<h3>Servers by status</h3><div class="charts">',
    ]
    if trends["server_status"]:
        out.append(
            line_chart(
                days, trends["server_status"], "Servers by status", width=860, height=260, chart_id="server-status"
            )
        )
    else:
        out.append('<p class="muted">No servers.</p>')
    out.append('</div><h3>Resources per type</h3><div class="charts">')
    for rtype, values in trends["types"].items():
        out.append(
            line_chart(
                days, {rtype: values}, "%s (%s now)" % (rtype, _fmt(values[-1] if values else 0)), chart_id=rtype
            )
        )
    out.append("</div></section>")
    return "".join(out)


def _waste_html(data):
    waste = data["waste"]
    out = ['<section id="waste"><h2>Waste and orphans</h2><div class="cards">']
    for kind in waste["kinds"]:
        out.append(
            '<div class="card%s" data-waste="%s"><b>%s</b>%s</div>'
            % (" bad" if kind["total"] else "", e(kind["kind"]), e(_fmt(kind["total"])), e(kind["title"]))
        )
    out.append("</div>")
    for kind in waste["kinds"]:
        out.append(
            '<h3>%s (%s)</h3><div id="waste-%s"></div>' % (e(kind["title"]), e(_fmt(kind["total"])), e(kind["kind"]))
        )
    out.append("</section>")
    return "".join(out)


def _health_html(data):
    health = data["health"]
    stale = sum(1 for s in health["scopes"] if s[6])
    paused = sum(1 for a in health["accounts"] if a[1])
    out = [
        '<section id="health"><h2>Sync health</h2><div class="cards">',
        '<div class="card%s" data-health="stale"><b>%d</b>stale scopes (no successful sync for %d intervals)</div>'
        % (" bad" if stale else "", stale, health["stale_factor"]),
        '<div class="card%s" data-health="paused"><b>%d</b>paused accounts</div>' % (" bad" if paused else "", paused),
        '<div class="card%s" data-health="gaps"><b>%d</b>permission gaps</div>'
        % (" bad" if health["gaps"] else "", len(health["gaps"])),
        '</div><h3>Accounts</h3><div id="accounts-table"></div>',
        '<h3>Last sync per cloud, region and type</h3><div id="scopes-table"></div>',
        '<h3>Permission gaps</h3><div id="gaps-table"></div></section>',
    ]
    return "".join(out)


def render(data, title="CMDB report"):
    """The whole HTML document (a str) for the data of ``report.build_report``."""
    csp = "default-src 'none'; script-src %s; style-src %s; img-src data:; base-uri 'none'; form-action 'none'" % (
        _hash(SCRIPT),
        _hash(STYLE),
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="%s">' % e(csp),
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % e(title),
        "<style>%s</style></head><body>" % STYLE,
        "<header><h1>%s</h1><p>Generated %s from %s%s</p></header>"
        % (
            e(title),
            e(data["generated_at"]),
            e(data["cmdb_url"]),
            e(" (clouds: %s)" % ", ".join(data["clouds"])) if data["clouds"] else "",
        ),
        "<nav>%s</nav><main>" % "".join('<a href="#%s">%s</a>' % (key, e(label)) for key, label in SECTIONS),
        _now_html(data),
        _trends_html(data),
        '<section id="changes"><h2>Changes</h2><p>%s changes in the log.</p><div id="changes-table"></div></section>'
        % e(_fmt(data["changes"]["total"])),
        _waste_html(data),
        _health_html(data),
        '<section id="servers"><h2>Servers</h2><div id="servers-table"></div></section>',
        '<section id="server"></section>',
        "</main>",
        '<script type="application/json" id="%s">%s</script>' % (DATA_ID, embed_json(data)),
        "<script>%s</script>" % SCRIPT,
        "</body></html>",
    ]
    return "\n".join(parts)
