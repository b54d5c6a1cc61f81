# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded change-log diffs: a change row holds what changed, not two full copies of an attribute.

The writer's field diff is ``{field: {"old": ..., "new": ...}}`` (``name``, ``status``, ...,
``attributes.<key>``, ``relations``). :func:`compact_diff` keeps that shape and bounds each entry:

* both sides dicts (``attributes.metadata``, ``attributes.flavor``, ...): ``old`` and ``new`` hold
  only the keys whose values differ (a key missing on one side was absent there), with
  ``"partial": true``; at most :data:`MAX_ITEMS` keys, the rest counted in ``"omitted"``;
* ``relations`` (both lists): ``old`` holds the removed edges, ``new`` the added ones, with
  ``"partial": true`` (bounded the same way);
* both sides texts, one longer than :data:`LARGE_TEXT` characters: ``old`` and ``new`` are the
  excerpts around the changed part (at most :data:`EXCERPT` characters each, both starting at the
  same character ``offset``), and ``"summary"`` gives ``offset`` and each side's full ``length`` and
  ``sha256``;
* any other value whose JSON is longer than :data:`LARGE_TEXT` (a long list, a text replaced by a
  list, a dict that appeared): that side is None and ``"summary"`` gives its ``length`` (characters
  of its canonical JSON) and ``sha256``.

A one-key change of a server with 10,000 metadata keys is therefore a row of about 100 bytes
instead of two copies of the metadata (400 KB), and a one-character change of a 2 MB description
about 300 bytes. The resource row itself always keeps the exact, whole item.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

#: Texts (and JSON of other values) longer than this many characters are excerpted or summarized.
LARGE_TEXT = 4096
#: Characters of unchanged text shown before and after the changed part of a long text.
CONTEXT = 64
#: Most characters of an excerpt (context included).
EXCERPT = 512
#: Most keys (dicts) or edges (relations) listed per side of one field.
MAX_ITEMS = 100


def compact_diff(diff):
    """The bounded form of a writer's field diff (None and ``{}`` are returned as they are)."""
    if not diff:
        return diff
    return dict((field, _compact_entry(field, entry)) for field, entry in diff.items())


def _compact_entry(field, entry):
    if not isinstance(entry, dict) or set(entry) - {"old", "new"}:
        return entry
    old, new = entry.get("old"), entry.get("new")
    if isinstance(old, dict) and isinstance(new, dict):
        return _dict_entry(old, new)
    if field == "relations" and isinstance(old, list) and isinstance(new, list):
        return _edges_entry(old, new)
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > LARGE_TEXT:
        return _text_entry(old, new)
    old_json, new_json = _json(old), _json(new)
    if max(len(old_json), len(new_json)) <= LARGE_TEXT:
        return entry
    out = {"old": None, "new": None, "summary": {}}
    for side, value, text in (("old", old, old_json), ("new", new, new_json)):
        if len(text) > LARGE_TEXT:
            out["summary"]["%s_length" % side] = len(text)
            out["summary"]["%s_sha256" % side] = _sha256(text)
        else:
            out[side] = value
    return out


def _dict_entry(old, new):
    keys = [key for key in sorted(set(old) | set(new), key=str) if old.get(key, _MISSING) != new.get(key, _MISSING)]
    out = {"old": {}, "new": {}, "partial": True}
    for key in keys[:MAX_ITEMS]:
        if key in old:
            out["old"][key] = _bounded(old[key])
        if key in new:
            out["new"][key] = _bounded(new[key])
    if len(keys) > MAX_ITEMS:
        out["omitted"] = len(keys) - MAX_ITEMS
    return out


def _edges_entry(old, new):
    def key(edge):
        return _json(edge)

    old_keys = set(key(edge) for edge in old)
    new_keys = set(key(edge) for edge in new)
    removed = sorted((edge for edge in old if key(edge) not in new_keys), key=key)
    added = sorted((edge for edge in new if key(edge) not in old_keys), key=key)
    out = {"old": removed[:MAX_ITEMS], "new": added[:MAX_ITEMS], "partial": True}
    omitted = max(len(removed) - MAX_ITEMS, 0) + max(len(added) - MAX_ITEMS, 0)
    if omitted:
        out["omitted"] = omitted
    return out


def _text_entry(old, new):
    """Excerpts of ``old`` and ``new`` around their first and last difference, plus lengths and hashes."""
    prefix = _common_prefix(old, new)
    limit = min(len(old), len(new)) - prefix
    suffix = _common_prefix(old[::-1], new[::-1], limit) if limit > 0 else 0
    start = max(prefix - CONTEXT, 0)

    def excerpt(text):
        end = min(len(text) - suffix + CONTEXT, len(text), start + EXCERPT)
        return text[start:end]

    return {
        "old": excerpt(old),
        "new": excerpt(new),
        "summary": {
            "offset": start,
            "old_length": len(old),
            "new_length": len(new),
            "old_sha256": _sha256(old),
            "new_sha256": _sha256(new),
        },
    }


def _common_prefix(a, b, limit=None):
    """Length of the common prefix of two strings (bisection on slices: fast for megabytes)."""
    hi = min(len(a), len(b)) if limit is None else min(len(a), len(b), limit)
    lo = 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _bounded(value):
    """A value inside a partial dict: as it is, or a summary when its JSON is long."""
    text = _json(value)
    if len(text) <= LARGE_TEXT:
        return value
    return {"summary": {"length": len(text), "sha256": _sha256(text)}}


def _json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class _Missing(object):
    pass


_MISSING = _Missing()
