"""report_html: the embedded JSON cannot end its script element; every value is escaped; the CSP hashes match."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from ansible_collections.cmdb.openstack.plugins.module_utils import report_html
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb.report import api_time, read_previous

HOSTILE = "</script><script>alert(1)</script><!-- & {{ lookup('pipe','id') }}"


def _data(name=HOSTILE):
    return {
        "generated_at": "2026-12-06T09:00:00Z",
        "cmdb_url": "sqlite:///x",
        "clouds": [name],
        "options": {},
        "now": {
            "previous_at": None,
            "regions": [[name, name, "servers", 3, None]],
            "projects": [[name, name, "servers", 3, None]],
        },
        "trends": {"days": ["2026-12-05", "2026-12-06"], "types": {"servers": [2, 3]}, "server_status": {name: [2, 3]}},
        "changes": {
            "total": 1,
            "rows": [
                [
                    "2026-12-06T09:00:00Z",
                    name,
                    name,
                    "servers",
                    name,
                    name,
                    "updated",
                    {"name": {"old": name, "new": name}},
                ]
            ],
        },
        "waste": {
            "days": 30,
            "kinds": [{"kind": "servers_shutoff", "title": "t", "total": 1, "rows": [[name] * 7 + [1.0, name]]}],
        },
        "health": {
            "accounts": [[name, True, 1, name, None]],
            "scopes": [],
            "gaps": [[name, name, "servers", "forbidden", "last sync", name]],
            "stale_factor": 2,
        },
        "servers": {"total": 1, "rows": [{"cloud": name, "region": name, "id": name, "name": name}]},
    }


def test_embedded_json_cannot_close_the_script_and_round_trips():
    text = report_html.embed_json({"name": HOSTILE})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": HOSTILE}


def test_every_cloud_string_is_escaped_and_the_csp_hashes_match(tmp_path):
    html = report_html.render(_data(), title=HOSTILE)
    assert "<script>alert" not in html and "<!--" not in html
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html  # shown, as text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src &#x27;none&#x27;" in csp
    for body in (report_html.SCRIPT, report_html.STYLE):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert digest in csp
    assert "innerHTML" not in report_html.SCRIPT and "eval(" not in report_html.SCRIPT
    # the next report reads this one's data back (the change since the previous report)
    path = tmp_path / "r.html"
    path.write_text(html)
    assert read_previous(str(path))["now"]["regions"][0][0] == HOSTILE


def test_api_time_parses_the_api_forms():
    assert api_time("2026-11-23T11:44:48Z").isoformat() == "2026-11-23T11:44:48"
    assert api_time("2026-11-23T11:44:48.123456").isoformat() == "2026-11-23T11:44:48"
    assert api_time("2026-11-23T13:44:48+02:00").isoformat() == "2026-11-23T11:44:48"
    assert api_time("not a time") is None and api_time(None) is None and api_time("2026-13-45T00:00:00") is None
