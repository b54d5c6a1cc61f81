# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The CMDB database option shared by every module that reads or writes the CMDB.
    DOCUMENTATION = r"""
options:
  cmdb_url:
    description:
      - The CMDB database, as an SQLAlchemy URL.
      - SQLite (the default, one file, for one runner), for example C(sqlite:///cmdb.sqlite) (relative
        to the current directory), C(sqlite:////var/lib/cmdb/cmdb.sqlite) (absolute) or
        C(sqlite:///~/cmdb.sqlite) (C(~) is expanded; missing directories are created).
      - PostgreSQL when several runners share the CMDB, for example
        C(postgresql+psycopg://cmdb@db.example.com:5432/cmdb) (C(postgresql://) is read as
        C(postgresql+psycopg://)). Prefer C(PGPASSWORD) or C(~/.pgpass) to a password in the URL;
        a password in the URL is hidden from the output.
      - When not given, the C(CMDB_URL) environment variable, else
        C(sqlite:///~/.local/share/cmdb.openstack/cmdb.sqlite).
      - The schema is created and upgraded when the database is opened.
    type: str
notes:
  - The CMDB needs the SQLAlchemy (2.0) and alembic Python libraries, and psycopg (3) for PostgreSQL,
    on the host that runs the module.
requirements:
  - SQLAlchemy >= 2.0
  - alembic
  - psycopg >= 3 (PostgreSQL only)
"""
