# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one time helper: every timestamp of the collection is naive UTC, shown as ISO 8601 with Z."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime


def utcnow():
    """Naive UTC now, the form every timestamp of ours is stored in."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def naive_utc(value):
    """A naive UTC datetime from a datetime (aware ones converted) or an ISO 8601 string (``Z``,
    offsets and SQLite's ``2026-11-23 11:44:48.123456`` accepted); None when absent or unparsable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        dt = value
    else:
        try:
            dt = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return dt


def iso(value):
    """A timestamp as ``2026-11-23T11:44:48Z``: a datetime (stored naive UTC, or aware) or an ISO
    string (as SQLite hands it back); None and "" give None, a string that is no timestamp stays as it is."""
    dt = naive_utc(value)
    if dt is None:
        return None if value in (None, "") else value
    return dt.replace(microsecond=0).isoformat() + "Z"
