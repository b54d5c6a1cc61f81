# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sync intervals: ``"30s"``, ``"5m"``, ``"6h"``, ``"1d"``, ``"2w"``, ``"1h30m"`` or seconds <-> seconds.

``parse_interval`` accepts

* an integer number of seconds (``300``) or a string of digits (``"300"``);
* a number followed by a unit, ``s`` (seconds), ``m`` (minutes), ``h`` (hours), ``d`` (days) or
  ``w`` (weeks): ``"30s"``, ``"5m"``, ``"6h"``, ``"1d"``, ``"2w"``;
* several of those, largest unit first, each unit at most once: ``"1h30m"``, ``"1w2d"``,
  ``"1d 12h"`` (spaces between the parts are allowed).

Units are lower case (``M`` is not minutes: it would read as months). The result is a whole number
of seconds, at least 1. ``format_interval`` returns the shortest canonical string (largest units
first, no zero parts) that ``parse_interval`` reads back to the same number: ``300`` -> ``"5m"``,
``5400`` -> ``"1h30m"``, ``1209600`` -> ``"2w"``, ``90061`` -> ``"1d1h1m1s"``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError

#: Units, largest first: (suffix, seconds).
UNITS = (("w", 7 * 24 * 3600), ("d", 24 * 3600), ("h", 3600), ("m", 60), ("s", 1))

ACCEPTED_FORMS = (
    "seconds as a whole number (300 or '300'), or a number with a unit: s (seconds), m (minutes), "
    "h (hours), d (days), w (weeks), e.g. '30s', '5m', '6h', '1d', '2w', or units combined largest "
    "first, e.g. '1h30m', '1w2d'"
)

_PATTERN = re.compile(r"^(?:([0-9]+) ?w)? *(?:([0-9]+) ?d)? *(?:([0-9]+) ?h)? *(?:([0-9]+) ?m)? *(?:([0-9]+) ?s)?$")
_DIGITS = re.compile(r"^[0-9]+$")


def _fail(value, field, why):
    where = "%s: " % field if field else ""
    raise ConfigurationError("%sinvalid interval %r (%s); accepted forms: %s." % (where, value, why, ACCEPTED_FORMS))


def parse_interval(value, field=None):
    """Return ``value`` (an int, a digit string or a ``1h30m``-style string) as whole seconds (>= 1).

    ``field`` names the option in the error message (``"resources.servers.interval"``).
    Raises ``ConfigurationError`` listing the accepted forms.
    """
    if isinstance(value, bool) or value is None:
        _fail(value, field, "not a duration")
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value) or not value.is_integer():
            _fail(value, field, "not a whole number of seconds")
        value = int(value)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            _fail(value, field, "empty")
        if _DIGITS.match(text):
            seconds = int(text)
        else:
            match = _PATTERN.match(text)
            if match is None or not any(match.groups()):
                _fail(value, field, "not understood")
            seconds = 0
            for (_suffix, unit), count in zip(UNITS, match.groups()):
                if count is not None:
                    seconds += int(count) * unit
    else:
        _fail(value, field, "a %s, not a number or a string" % type(value).__name__)
    if seconds < 1:
        _fail(value, field, "an interval must be at least 1 second")
    return seconds


def format_interval(seconds):
    """Return the canonical string for ``seconds``: largest units first, zero parts left out.

    Every part but the first is smaller than one of the next larger unit, so each number of
    seconds has exactly one such string and ``parse_interval`` reads it back: ``300`` -> ``"5m"``,
    ``5400`` -> ``"1h30m"``, ``1209600`` -> ``"2w"``, ``0`` -> ``"0s"``.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise ValueError("format_interval needs a whole number of seconds >= 0, got %r" % (seconds,))
    if seconds == 0:
        return "0s"
    parts = []
    rest = seconds
    for suffix, unit in UNITS:
        count, rest = divmod(rest, unit)
        if count:
            parts.append("%d%s" % (count, suffix))
    return "".join(parts)


def describe_interval(seconds):
    """``"5m (300 s)"``: for messages and reports."""
    return "%s (%d s)" % (format_interval(seconds), seconds)
