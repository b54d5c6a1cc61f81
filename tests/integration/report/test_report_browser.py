"""cmdb_report: a CMDB filled by cmdb_sync from the simulator, the report opened in a real headless Chromium.

Runs on SQLite and on PostgreSQL (``cmdb_url``). Under ``CI=true`` the browser is required (never skipped).
"""

from __future__ import annotations

import os
import re
import time

import pytest
from report_browser import Browser, ensure_chromium

SCRIPT_NAME = "<script>alert(1)</script>"
TEMPLATE_NAME = "{{ lookup('pipe','id') }}"

# Runs before any script of the page: records dialogs and marks that a script of the page ran.
WATCH = """
window.__dialogs = [];
['alert', 'confirm', 'prompt'].forEach(function (name) {
  var original = window[name];
  window[name] = function (message) {
    window.__dialogs.push(name + ':' + message);
    return original.apply(window, arguments);
  };
});
"""


@pytest.fixture(scope="module")
def chromium():
    return ensure_chromium()


@pytest.fixture
def browser(chromium):
    b = Browser(*chromium)
    try:
        b.cdp("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        yield b
    finally:
        b.close()


@pytest.fixture
def estate(os_simulator, tmp_path):
    cloud = os_simulator.add_cloud(name="demo", regions=("RegionOne", "RegionTwo"), seed=3, servers=8, projects=2)
    servers = cloud.store.list("servers")
    cloud.store.update("servers", servers[0]["id"], {"name": SCRIPT_NAME})
    cloud.store.update("servers", servers[1]["id"], {"name": TEMPLATE_NAME})
    path = tmp_path / "clouds.yaml"
    os_simulator.write_clouds_yaml(str(path), {"demo": cloud.clouds_yaml_entry(user="admin")})
    return cloud, {"OS_CLIENT_CONFIG_FILE": str(path)}


def _run(ansible, env, tasks):
    completed, results = ansible.modules(tasks, env=env)
    assert completed.rc == 0, completed.output
    assert "Traceback" not in completed.output, completed.output
    for key, result in results.items():
        assert not result.get("failed"), (key, result.get("msg"))
    return completed, results


def _open(browser, path, section=""):
    browser.get("file://%s%s" % (path, "#" + section if section else ""))
    for _attempt in range(100):
        if browser.js("return document.body && document.body.getAttribute('data-ready');") == "true":
            break
        time.sleep(0.05)
    assert browser.js("return document.body.getAttribute('data-ready');") == "true"


def _table_state(browser, host):
    return browser.js(
        """
        var box = document.getElementById(arguments[0]);
        var rows = Array.prototype.map.call(box.querySelectorAll('tbody tr'), function (tr) {
          return Array.prototype.map.call(tr.children, function (td) { return td.textContent; });
        });
        return {rows: rows, count: box.querySelector('[data-role=count]').textContent};
        """,
        host,
    )


def _type(browser, host, selector, value):
    browser.js(
        """
        var node = document.getElementById(arguments[0]).querySelector(arguments[1]);
        node.value = arguments[2];
        node.dispatchEvent(new Event(node.tagName === 'SELECT' ? 'change' : 'input'));
        """,
        host,
        selector,
        value,
    )


def test_report_in_chromium(ansible, cmdb_url, estate, browser, tmp_path):
    cloud, env = estate
    report = tmp_path / "report.html"
    _run(ansible, env, [("sync", "cmdb_sync", {"cloud": "demo", "cmdb_url": cmdb_url})])
    # a change for the Changes table and the trends: one server renamed, one deleted
    servers = cloud.store.list("servers")
    time.sleep(1.1)
    cloud.store.update("servers", servers[2]["id"], {"name": "renamed-by-report-test"})
    cloud.store.delete("servers", servers[3]["id"])
    completed, results = _run(
        ansible,
        env,
        [
            ("sync", "cmdb_sync", {"cloud": "demo", "cmdb_url": cmdb_url, "types": ["servers"]}),
            ("report", "cmdb_report", {"cmdb_url": cmdb_url, "path": str(report)}),
            ("info", "cmdb_info", {"cmdb_url": cmdb_url, "sections": ["counts"]}),
        ],
    )
    counts = results["info"]["counts"]["demo"]
    assert results["report"]["changed"] is True and results["report"]["size"] == report.stat().st_size
    assert results["report"]["summary"]["live"]["demo"] == dict((t, c["live"]) for t, c in counts.items() if c["live"])
    # nothing from the cloud was templated on the way (the pipe lookup would print uid=)
    assert "uid=" not in completed.output
    html = report.read_text()
    assert SCRIPT_NAME not in html  # escaped in the HTML and in the embedded JSON
    assert html.count("<script") == 2  # the JSON data and the page's own script
    assert "http://" not in html.split("<body>")[0] and "https://" not in html.split("<body>")[0]

    _open(browser, report)
    # the numbers on the page equal cmdb_info's for the same CMDB
    page_counts = browser.js(
        """
        var out = {};
        document.querySelectorAll('#cloud-counts td[data-live]').forEach(function (td) {
          var key = td.getAttribute('data-cloud') + '/' + td.getAttribute('data-type');
          out[key] = parseInt(td.textContent.replace(/,/g, ''), 10);
        });
        return out;
        """
    )
    assert page_counts == dict(("demo/%s" % t, c["live"]) for t, c in counts.items() if c["live"])
    cards = browser.js(
        "var o = {}; document.querySelectorAll('#now .card').forEach(function (c) {"
        " o[c.getAttribute('data-type')] = parseInt(c.querySelector('b').textContent.replace(/,/g, ''), 10); });"
        " return o;"
    )
    assert cards == dict((t, c["live"]) for t, c in counts.items() if c["live"])

    # Trends: the servers-by-status chart ends at today's statuses
    status_chart = browser.js("return document.querySelector('svg[data-chart=server-status]') !== null;")
    assert status_chart

    # Changes: search and filters work in the browser
    _open(browser, report, "changes")
    assert browser.js("return document.getElementById('changes').hidden;") is False
    everything = _table_state(browser, "changes-table")
    assert "renamed-by-report-test" in str(everything["rows"])
    _type(browser, "changes-table", "[data-role=search]", "renamed-by-report")
    found = _table_state(browser, "changes-table")
    assert found["rows"] and all("renamed-by-report" in " ".join(r) for r in found["rows"]), found
    assert len(found["rows"]) < len(everything["rows"])
    assert re.match(r"^%d of \d+ rows" % len(found["rows"]), found["count"]), found["count"]
    _type(browser, "changes-table", "[data-role=search]", "")
    _type(browser, "changes-table", "select[data-filter=Action]", "deleted")
    deleted = _table_state(browser, "changes-table")
    assert [r[6] for r in deleted["rows"]] == ["deleted"], deleted
    assert deleted["rows"][0][5] == servers[3]["id"]

    # the injection names are shown literally, in the list and on their server pages
    _open(browser, report, "servers")
    names = [r[2] for r in _table_state(browser, "servers-table")["rows"]]
    assert SCRIPT_NAME in names and TEMPLATE_NAME in names
    for name in (SCRIPT_NAME, TEMPLATE_NAME):
        href = browser.js(
            "var links = document.querySelectorAll('#servers-table a');"
            " for (var i = 0; i < links.length; i++) {"
            "   if (links[i].textContent === arguments[0]) return links[i].getAttribute('href');"
            " }"
            " return null;",
            name,
        )
        assert href and href.startswith("#server-")
        browser.js("location.hash = arguments[0];", href)
        time.sleep(0.2)
        assert browser.js("return document.querySelector('#server dd[data-field=Name]').textContent;") == name
        assert browser.js("return document.querySelector('#server h2').textContent;") == "Server " + name
        ports = _table_state(browser, "server")
        assert ports["rows"], "the server page lists the server's ports"

    # no dialog opened and no script from data ran; no console error (a CSP violation is one)
    assert browser.alert_text() is None
    assert browser.js("return window.__dialogs;") == []
    assert browser.js("return document.scripts.length;") == 2
    errors = [entry for entry in browser.console() if entry.get("level") == "SEVERE"]
    assert errors == []


def test_change_since_previous_report_and_check_mode(ansible, cmdb_url, estate, tmp_path):
    cloud, env = estate
    report = tmp_path / "report.html"
    _run(
        ansible,
        env,
        [
            ("sync", "cmdb_sync", {"cloud": "demo", "cmdb_url": cmdb_url, "types": ["servers", "volumes"]}),
            ("report", "cmdb_report", {"cmdb_url": cmdb_url, "path": str(report)}),
        ],
    )
    first = report.read_text()
    assert "No previous report to compare with." in first
    victim = cloud.store.list("servers")[0]
    cloud.store.delete("servers", victim["id"])
    _completed, results = _run(
        ansible,
        env,
        [
            ("sync", "cmdb_sync", {"cloud": "demo", "cmdb_url": cmdb_url, "types": ["servers"]}),
            ("check", "cmdb_report", {"cmdb_url": cmdb_url, "path": str(report)}, {"check_mode": True}),
        ],
    )
    assert results["check"]["changed"] is True and report.read_text() == first  # check mode writes nothing
    _run(ansible, env, [("report", "cmdb_report", {"cmdb_url": cmdb_url, "path": str(report)})])
    second = report.read_text()
    row = re.search(
        r'data-cloud="demo" data-type="servers" data-live="(\d+)">[^<]*</td><td class="num ([a-z]*)">([^<]*)</td>',
        second,
    )
    assert row and row.group(3) == "-1" and row.group(2) == "neg", row and row.group(0)
    row = re.search(
        r'data-cloud="demo" data-type="volumes" data-live="\d+">[^<]*</td><td class="num ([a-z]*)">([^<]*)</td>', second
    )
    assert row and row.group(2) == "0"


def test_missing_directory_is_a_clear_error(ansible, tmp_path):
    url = "sqlite:///%s" % (tmp_path / "cmdb.sqlite")
    # The report reads an existing CMDB only: a writer creates it first.
    assert not ansible.module("cloud_account", {"cmdb_url": url, "name": "r", "cloud": "r"}).result.get("failed")
    result = ansible.module("cmdb_report", {"cmdb_url": url, "path": str(tmp_path / "nowhere" / "r.html")}).result
    assert result["failed"] and "path: the directory" in result["msg"] and "Traceback" not in str(result)
    assert not os.path.exists(tmp_path / "nowhere")
