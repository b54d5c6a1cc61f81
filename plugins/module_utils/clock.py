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


def iso(value):
    """A stored naive-UTC datetime as ``2026-11-23T11:44:48Z`` (None stays None, strings unchanged)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return value.replace(microsecond=0).isoformat() + "Z"
