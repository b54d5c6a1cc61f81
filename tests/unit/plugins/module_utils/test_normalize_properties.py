"""Property-based tests (hypothesis) of the normalizers: any API item, however hostile, gives a valid record.

- ``normalize.normalize``: never raises; the envelope has exactly the contract's keys; ``attributes`` is
  the item minus ``links``, value for value (strings untouched: Jinja, NUL, control characters,
  unicode); relations are well formed and unique; the input is not modified; deterministic.
- ``apply.clean_text`` (the searchable column copies): never raises, no NUL, valid UTF-8, bounded.
- ``apply.content_hash``: deterministic, insensitive to key order, sensitive to any string change.
"""

from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog, normalize
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import apply

FIXTURES = os.environ.get("CMDB_FIXTURES_DIR", "/work/shared/fixtures/openstack-2026.1")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TYPE_NAMES = list(catalog.RESOURCE_TYPE_NAMES)
HOSTILE = [
    "{{ lookup('pipe','id') }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}",
    "'); DROP TABLE resources; --",
    "nul\x00byte",
    "ctrl\x07\x1b[31m\r\n\t",
    "\u202eevil Ünïcødé 日本語 🚀",
    "\ud800lone-surrogate",
    "",
]

#: Any text (including NUL, control characters, lone surrogates) and the hostile classics.
texts = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE), st.text(min_size=300, max_size=2000))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(texts, st.sampled_from(["id", "name"])), children, max_size=4),
    ),
    max_leaves=20,
)

#: Keys the relation extractors look at, so that hostile values reach them.
RELATION_KEYS = [
    "id",
    "name",
    "flavor",
    "image",
    "addresses",
    "security_groups",
    "os-extended-volumes:volumes_attached",
    "key_name",
    "network_id",
    "fixed_ips",
    "device_owner",
    "device_id",
    "attachments",
    "snapshot_id",
    "source_volid",
    "volume_image_metadata",
    "volume_id",
    "subnets",
    "external_gateway_info",
    "interfaces",
    "port_id",
    "fixed_ip_address",
    "floating_network_id",
    "router_id",
    "port_details",
    "security_group_rules",
    "vip_port_id",
    "vip_address",
    "vip_subnet_id",
    "vip_network_id",
    "listeners",
    "pools",
    "tenant_id",
    "project_id",
    "status",
    "created_at",
    "updated_at",
    "created",
    "updated",
    "links",
    "floating_ip_address",
]
items = st.dictionaries(st.one_of(st.sampled_from(RELATION_KEYS), texts), json_values, max_size=12)


def _fixture_items():
    """Real items from the captured API responses (when available), to mutate."""
    found = []
    if not os.path.isdir(FIXTURES):
        return found
    for name in sorted(os.listdir(FIXTURES)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(FIXTURES, name)) as handle:
                body = json.load(handle)
        except ValueError:
            continue
        body = body.get("body", body) if isinstance(body, dict) else body
        if not isinstance(body, dict):
            continue
        for rtype in catalog.RESOURCE_TYPES.values():
            listed = body.get(rtype.collection_key)
            if isinstance(listed, list) and listed and isinstance(listed[0], dict):
                found.append((rtype.name, listed[0]))
    return found


REAL = _fixture_items()


def _replace_strings(value, draw):
    if isinstance(value, str):
        return draw(texts)
    if isinstance(value, list):
        return [_replace_strings(v, draw) for v in value]
    if isinstance(value, dict):
        return {k: _replace_strings(v, draw) for k, v in value.items()}
    return value


def _check_record(rtype, item, record):
    assert set(record) == set(normalize.ENVELOPE) | {"attributes", "relations"}
    assert record["type"] == rtype and record["cloud"] == "c{{x}}" and record["region"] == "r\x00"
    for key in ("id", "project_id", "status", "created_at", "updated_at"):
        assert record[key] is None or isinstance(record[key], str), key
    assert record["name"] is None or isinstance(record["name"], str)
    name_key = catalog.RESOURCE_TYPES[rtype].fields.get("name")
    if name_key and isinstance(item.get(name_key), str):
        assert record["name"] == item[name_key]  # exactly as given: never escaped, trimmed or rendered
    # attributes: the item minus "links", the very same values
    assert set(record["attributes"]) == set(item) - {"links"}
    for key, value in record["attributes"].items():
        assert value is item[key]
    seen = set()
    for edge in record["relations"]:
        assert set(edge) == {"relation", "target_type", "target_id", "target_name"}
        assert isinstance(edge["relation"], str) and isinstance(edge["target_type"], str)
        assert edge["target_id"] is None or isinstance(edge["target_id"], str)
        assert edge["target_name"] is None or isinstance(edge["target_name"], str)
        assert edge["target_id"] is not None or edge["target_name"] is not None
        key = tuple(edge.values())
        assert key not in seen
        seen.add(key)


@SETTINGS
@given(rtype=st.sampled_from(TYPE_NAMES), item=items)
def test_any_item_gives_a_valid_record_and_is_not_modified(rtype, item):
    before = copy.deepcopy(item)
    record = normalize.normalize(rtype, item, "c{{x}}", "r\x00")
    assert item == before or json.dumps(item, default=repr) == json.dumps(before, default=repr)  # NaN-free equal
    _check_record(rtype, item, record)
    again = normalize.normalize(rtype, copy.deepcopy(item), "c{{x}}", "r\x00")
    assert json.dumps(again, sort_keys=True, default=repr) == json.dumps(record, sort_keys=True, default=repr)


@SETTINGS
@given(rtype=st.sampled_from(TYPE_NAMES), value=json_values)
def test_a_non_dict_item_never_raises(rtype, value):
    record = normalize.normalize(rtype, value, "c{{x}}", "r\x00")
    assert record["type"] == rtype and isinstance(record["relations"], list)


@pytest.mark.skipif(not REAL, reason="the captured API responses are not available")
@SETTINGS
@given(data=st.data())
def test_real_items_with_hostile_strings_everywhere(data):
    rtype, real = data.draw(st.sampled_from(REAL))
    item = _replace_strings(copy.deepcopy(real), data.draw)
    record = normalize.normalize(rtype, item, "c{{x}}", "r\x00")
    _check_record(rtype, item, record)


@SETTINGS
@given(value=st.one_of(st.none(), scalars, texts), limit=st.one_of(st.none(), st.integers(min_value=0, max_value=300)))
def test_clean_text_is_safe_for_every_database_column(value, limit):
    cleaned = apply.clean_text(value, limit)
    if value is None:
        assert cleaned is None
        return
    assert isinstance(cleaned, str) and "\x00" not in cleaned
    cleaned.encode("utf-8")  # no lone surrogate left: PostgreSQL text accepts it
    if limit is not None:
        assert len(cleaned) <= limit
    if isinstance(value, str) and "\x00" not in value and limit is None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return
        assert cleaned == value  # a clean string is kept as it is


@SETTINGS
@given(rtype=st.sampled_from(TYPE_NAMES), item=items, extra=texts)
def test_content_hash_is_deterministic_and_sees_every_change(rtype, item, extra):
    record = normalize.normalize(rtype, item, "c", "r")
    digest = apply.content_hash(record)
    assert len(digest) == 64
    reordered = normalize.normalize(rtype, dict(reversed(list(item.items()))), "c", "r")
    reordered["relations"] = record["relations"]  # relation order is the API's order
    assert apply.content_hash(reordered) == digest
    changed = copy.deepcopy(record)
    changed["attributes"]["__hypothesis_extra__"] = extra
    assert apply.content_hash(changed) != digest
