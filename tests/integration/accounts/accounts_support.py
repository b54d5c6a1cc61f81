"""Helpers of the account tests: the marker secret and a dump of every CMDB table."""

from __future__ import annotations

import json

#: A password no test output, log, inventory or CMDB may ever contain.
MARKER = "Mk-9c1e-NeverStored-Secret"


def dump_cmdb(url):
    """Every row of every table of the CMDB as text (to grep for a secret), plus the raw SQLite bytes."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        rows = {}
        with engine.connect() as conn:
            for name, table in metadata.tables.items():
                rows[name] = [list(row) for row in conn.execute(sa.select(table))]
    finally:
        engine.dispose()
    text = json.dumps(rows, default=str)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        for suffix in ("", "-wal", "-shm"):
            try:
                with open(path + suffix, "rb") as handle:
                    text += handle.read().decode("latin-1")
            except FileNotFoundError:
                pass
    return text
