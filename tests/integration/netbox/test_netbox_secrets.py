"""netbox_sync never prints the password of a PostgreSQL cmdb_url, not even at -vvvv (its invocation included)."""

from __future__ import annotations

import json

import pytest
from fakecloud import FakeCloud

pytestmark = [pytest.mark.netbox, pytest.mark.postgres]

MARKER = "NbxPgSecret7Qz4Marker"


def _with_password(url, password):
    # postgresql+psycopg://postgres@host:port/db -> postgresql+psycopg://postgres:<password>@host:port/db
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return "%s://%s:%s@%s" % (scheme, user, password, host)


def test_cmdb_url_password_is_masked_at_vvvv(ansible, netbox, postgres_url):
    # PostgreSQL here trusts loopback: the password is sent and ignored, so the sync itself succeeds.
    cmdb_url = _with_password(postgres_url, MARKER)
    FakeCloud(servers=2, projects=1).write(cmdb_url)

    done = ansible.module(
        "netbox_sync",
        {"netbox_url": netbox.url, "cmdb_url": cmdb_url},
        verbosity=4,
        # ansible-core 2.21 adds the invocation only when asked (2.19 and 2.20 always do)
        env={"NETBOX_TOKEN": netbox.token, "ANSIBLE_INJECT_INVOCATION": "true"},
    )
    assert done.rc == 0, done.output
    assert done.result.get("failed") is not True, done.output
    assert done.result["counts"]["virtual_machines"]["created"] == 2
    assert '"module_args"' in done.output  # -vvvv shows the invocation: the place the password leaked
    assert MARKER not in done.output
    assert MARKER not in json.dumps(done.result)

    # A failing run (NetBox refuses the token) prints its invocation too.
    failed = ansible.module(
        "netbox_sync",
        {"netbox_url": netbox.url, "netbox_token": "nbt_wrong.token", "cmdb_url": cmdb_url},
        verbosity=4,
        env={"ANSIBLE_INJECT_INVOCATION": "true"},
    )
    assert failed.result.get("failed") is True, failed.output
    assert "rejected the API token" in failed.result["msg"]
    assert MARKER not in failed.output
    assert MARKER not in json.dumps(failed.result)
