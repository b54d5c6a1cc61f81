"""The sweep asks for proof (issue 17): CmdbWriter with a stand-in for the confirmation GETs.

``confirm(region, type, ids)`` is what ``gather.Confirmer.confirm`` answers: ``gone`` (404),
``present`` (the API still serves the item) or ``unknown`` (403, 5xx, timeout).
"""

from __future__ import annotations

import json

from cmdb_helpers import changes, live, record, rows, sync

from ansible_collections.cmdb.openstack.plugins.module_utils import gather
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import schema


class Confirm:
    """Answers ``verdicts[id]`` (default: gone) and records every call."""

    def __init__(self, verdicts=None):
        self.verdicts = verdicts or {}
        self.calls = []

    def __call__(self, region, rtype, ids):
        self.calls.append(list(ids))
        return {rid: (self.verdicts.get(rid, "gone"), "HTTP %s" % rid) for rid in ids}

    @property
    def asked(self):
        return [rid for call in self.calls for rid in call]


def _ids(n, prefix="s"):
    return ["%s%03d" % (prefix, i) for i in range(n)]


def test_no_missing_item_means_no_confirmation_call(store):
    confirm = Confirm()
    sync(store, [record(i) for i in _ids(20)], confirm=confirm)
    again = sync(store, [record(i) for i in _ids(20)], confirm=confirm)
    assert again["status"] == "ok" and confirm.calls == []


def test_only_items_whose_get_says_gone_are_tombstoned(store):
    ids = _ids(20)
    sync(store, [record(i) for i in ids])
    confirm = Confirm({"s001": "unknown", "s002": "gone"})
    result = sync(store, [record(i) for i in ids if i not in ("s001", "s002")], confirm=confirm)
    assert sorted(confirm.asked) == ["s001", "s002"]
    assert result["status"] == "ok"
    assert result["counts"]["deleted"] == 1 and result["counts"]["unconfirmed"] == 1
    assert set(live(store)) == set(ids) - {"s002"}
    assert [c["action"] for c in changes(store, "s002")] == ["created", "deleted"]
    assert any("s001: HTTP s001" in w for w in result["warnings"]), result["warnings"]


def test_a_get_that_still_returns_an_item_sweeps_nothing_of_the_scope(store):
    ids = _ids(20)
    sync(store, [record(i) for i in ids])
    confirm = Confirm({"s003": "present"})
    result = sync(store, [record(i) for i in ids if i not in ("s003", "s004")], confirm=confirm)
    assert result["status"] == "inconsistent"
    assert "s003" in result["message"]
    assert result["counts"]["deleted"] == 0
    assert set(live(store)) == set(ids)  # s004 answered 404 too, but this listing is not trusted
    run = rows(store, schema.sync_runs)[-1]
    assert run["status"] == "inconsistent" and run["counts"]["confirmations"] == 2


def test_confirmations_are_bounded_per_scope_and_run(store):
    ids = _ids(100)
    sync(store, [record(i) for i in ids])
    kept = ids[30:]
    confirm = Confirm()
    first = sync(store, [record(i) for i in kept], confirm=confirm, max_confirmations=10)
    assert len(confirm.asked) == 10
    assert first["status"] == "ok"
    assert first["counts"]["deleted"] == 10 and first["counts"]["unconfirmed"] == 20
    assert any("20 over max_delete_confirmations=10" in w for w in first["warnings"]), first["warnings"]
    second = sync(store, [record(i) for i in kept], confirm=confirm, max_confirmations=10)
    assert second["counts"]["deleted"] == 10 and second["counts"]["unconfirmed"] == 10
    assert len(live(store)) == 80


def test_a_mass_vanish_is_refused_unless_every_item_is_confirmed(store):
    ids = _ids(100)
    sync(store, [record(i) for i in ids])
    kept = [record(i) for i in ids[60:]]
    # 60 of 100 missing, more than the bound: refused without a single GET
    confirm = Confirm()
    refused = sync(store, kept, confirm=confirm, max_confirmations=50)
    assert refused["status"] == "refused_mass_deletion" and confirm.calls == []
    assert "60 of 100" in refused["message"]
    assert len(live(store)) == 100
    # within the bound, but one answer is not a 404: still refused
    refused = sync(store, kept, confirm=Confirm({"s010": "unknown"}), max_confirmations=200)
    assert refused["status"] == "refused_mass_deletion" and refused["counts"]["deleted"] == 0
    assert len(live(store)) == 100
    # every one confirmed gone: swept
    swept = sync(store, kept, confirm=Confirm(), max_confirmations=200)
    assert swept["status"] == "ok" and swept["counts"]["deleted"] == 60
    assert len(live(store)) == 40


def test_listed_deleted_status_is_its_own_proof(store):
    sync(store, [record("a"), record("b")])
    confirm = Confirm()
    result = sync(store, [record("a"), record("b", status="DELETED")], confirm=confirm)
    assert result["counts"]["deleted"] == 1 and confirm.calls == []
    assert set(live(store)) == {"a"}


def test_partial_records_never_overwrite_or_create(store):
    sync(store, [record("a"), record("b")])
    before = live(store)
    unknown = record("a", status="UNKNOWN")
    del unknown["attributes"]["name"]
    newcomer = record("c", status="UNKNOWN")
    del newcomer["attributes"]["name"]
    result = sync(store, [unknown, record("b"), newcomer], confirm=Confirm())
    assert result["status"] == "ok"
    assert result["counts"]["partial"] == 2
    assert result["counts"]["updated"] == 0 and result["counts"]["new"] == 0 and result["counts"]["deleted"] == 0
    assert live(store) == before  # a is as it was, c is not invented from a construct
    assert any("partial" in w for w in result["warnings"])


def test_a_listing_of_only_the_tokens_project_sweeps_only_that_project(store):
    mine, theirs = _ids(10, "m"), _ids(10, "t")
    sync(store, [record(i, project="p1") for i in mine] + [record(i, project="p2") for i in theirs])
    confirm = Confirm()
    # roles looked fine, but the listing of every project came back with p1's items only
    result = sync(store, [record(i, project="p1") for i in mine[1:]], confirm=confirm, token_project="p1")
    assert confirm.asked == ["m000"]  # a 404 for p2's items would prove nothing: not even asked
    assert result["counts"]["deleted"] == 1
    assert set(live(store)) == set(mine[1:]) | set(theirs)
    assert any("holds 10 live items of other projects" in w for w in result["warnings"]), result["warnings"]


def test_an_empty_listing_is_refused_whole_not_taken_for_a_visibility_limit(store):
    sync(store, [record("t1", project="p2"), record("t2", project="p2")])
    confirm = Confirm()
    refused = sync(store, [], confirm=confirm, token_project="p1")
    assert refused["status"] == "refused_empty" and confirm.calls == []
    swept = sync(store, [], confirm=confirm, token_project="p1", allow_empty_sweep=True)
    assert swept["status"] == "ok" and sorted(confirm.asked) == ["t1", "t2"]
    assert swept["counts"]["deleted"] == 2 and live(store) == {}


def test_a_token_without_admin_role_sweeps_its_project_and_no_unscoped_type(store):
    sync(store, [record("m1", project="p1"), record("t1", project="p2")])
    flavors = [record("f1", project=None, rtype="flavors"), record("f2", project=None, rtype="flavors")]
    sync(store, flavors, rtype="flavors")
    confirm = Confirm()
    servers = sync(store, [], confirm=confirm, token_project="p1", limited_visibility=True, allow_empty_sweep=True)
    assert confirm.asked == ["m1"] and servers["counts"]["deleted"] == 1
    assert set(live(store)) == {"t1"}
    flavors = sync(
        store,
        [record("f1", project=None, rtype="flavors")],
        rtype="flavors",
        confirm=confirm,
        token_project="p1",
        limited_visibility=True,
    )
    assert flavors["counts"]["deleted"] == 0 and set(live(store, "flavors")) == {"f1", "f2"}
    assert any("not swept" in w for w in flavors["warnings"])


# -- gather.Confirmer: what counts as proof -------------------------------------------------------------


class _Response:
    def __init__(self, status, body=None, text=None):
        self.status_code = status
        self._body = body
        self.text = text if text is not None else json.dumps(body)
        self.headers = {}

    def json(self):
        if self._body is None:
            raise ValueError("not JSON")
        return self._body


class _Proxy:
    def __init__(self, answers):
        self.answers = answers
        self.paths = []

    def get(self, path, **kwargs):
        self.paths.append(path)
        answer = self.answers[path.rsplit("/", 1)[-1]]
        if isinstance(answer, Exception):
            raise answer
        return answer


class _Session:
    name = "demo"


def test_confirmer_verdicts(monkeypatch):
    answers = {
        "id-a": _Response(404, {"itemNotFound": {"code": 404, "message": "Instance id-a could not be found."}}),
        "id-b": _Response(404, text="<html><body>404 Not Found</body></html>"),  # a proxy's bare 404
        "id-c": _Response(200, {"server": {"id": "id-c", "status": "ACTIVE"}}),
        "id-d": _Response(200, {"server": {"id": "id-d", "status": "DELETED"}}),
        "id-e": _Response(403, {"forbidden": {"code": 403, "message": "Policy does not allow"}}),
        "id-f": _Response(503, text="Service Unavailable"),
        "id-g": TimeoutError("read timed out"),
    }
    proxy = _Proxy(answers)
    monkeypatch.setattr(gather, "_scope_proxy", lambda endpoints, session, scope, rtype: (proxy, "2.96"))
    confirmer = gather.Confirmer(_Session(), max_workers=3)
    verdicts = confirmer.confirm("RegionOne", "servers", sorted(answers))
    assert {rid: verdict for rid, (verdict, _detail) in verdicts.items()} == {
        "id-a": "gone",
        "id-b": "unknown",
        "id-c": "present",
        "id-d": "gone",
        "id-e": "unknown",
        "id-f": "unknown",
        "id-g": "unknown",
    }
    assert "HTTP 403" in verdicts["id-e"][1] and "TimeoutError" in verdicts["id-g"][1]
    assert sorted(proxy.paths) == ["/servers/%s" % rid for rid in sorted(answers)]
    assert confirmer.calls == 7
    assert confirmer.confirm("RegionOne", "servers", []) == {} and confirmer.calls == 7
