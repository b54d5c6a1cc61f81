"""Hostile items in a simulator cloud: Jinja, SQL injection, control characters, NUL, unicode, long strings."""

from __future__ import annotations

import copy
import uuid

from conftest import CONTROL, JINJA_BLOCK, JINJA_LOOKUP, LONG, SQL_INJECTION, UNICODE

REGION = "RegionOne"
#: An id that looks like SQL injection (stored as the key of a resource row).
SQL_ID = "x" + SQL_INJECTION

HOSTILE_METADATA = {
    "jinja": JINJA_LOOKUP,
    "block": JINJA_BLOCK,
    "ctrl": CONTROL,
    "uni": UNICODE,
    "long": LONG,
    "sql": SQL_INJECTION,
    JINJA_LOOKUP: "key-is-jinja",
}


def add_hostile_items(cloud):
    """Add hostile servers and a network to ``cloud``'s RegionOne; return {id: item} of what was added."""
    store = cloud.store[REGION]
    base = store.list("servers")[0]
    added = {}

    def server(item_id, **changes):
        item = copy.deepcopy(base)
        item.update(changes)
        item["id"] = item_id
        created = store.create("servers", item)
        added[created["id"]] = ("servers", created)

    server(
        str(uuid.uuid4()),
        name=JINJA_LOOKUP,
        description=JINJA_BLOCK,
        metadata=dict(HOSTILE_METADATA),
        tags=[JINJA_LOOKUP, UNICODE, SQL_INJECTION],
    )
    server(SQL_ID, name=SQL_INJECTION, description=SQL_INJECTION, metadata={"sql": SQL_INJECTION}, tags=[])
    server(str(uuid.uuid4()), name=CONTROL, description=LONG, metadata={"nul": "a\x00b"}, tags=[])
    server(str(uuid.uuid4()), name=UNICODE, description=UNICODE, metadata={}, tags=[])
    network = copy.deepcopy(store.list("networks")[0])
    network.update(
        id=str(uuid.uuid4()), name=JINJA_BLOCK, description=CONTROL + JINJA_LOOKUP, tags=[SQL_INJECTION, JINJA_BLOCK]
    )
    created = store.create("networks", network)
    added[created["id"]] = ("networks", created)
    return added
