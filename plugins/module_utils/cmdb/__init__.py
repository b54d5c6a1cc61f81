# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CMDB: a history-keeping store of OpenStack resources (SQLite or PostgreSQL).

- ``schema``: the tables (SQLAlchemy Core); ``migrations``: versioned schema changes applied on open;
- ``store``: open a database URL (errors -> ``StoreError``), transactions, lease locks;
- ``apply``: the streaming writer (a ``gather`` consumer) that stages pages and applies a complete
  listing in one transaction (insert, update with a field diff, tombstone, revive);
- ``sync``: ``cmdb_sync`` end to end (accounts, incremental servers, locks, summary);
- ``queries``: ``cmdb_info`` and ``cmdb_purge``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
