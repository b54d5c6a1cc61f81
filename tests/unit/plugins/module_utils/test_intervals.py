"""intervals: parse "30s"/"5m"/"1h30m"/seconds, format back to the canonical (shortest) string."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.cmdb.openstack.plugins.module_utils.errors import ConfigurationError
from ansible_collections.cmdb.openstack.plugins.module_utils.intervals import (
    UNITS,
    describe_interval,
    format_interval,
    parse_interval,
)


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("30s", 30),
        ("5m", 300),
        ("6h", 6 * 3600),
        ("1d", 86400),
        ("2w", 14 * 86400),
        ("1h30m", 5400),
        ("1w2d", 9 * 86400),
        ("1d 12h", 36 * 3600),
        ("1h30m15s", 5415),
        (" 90 ", 90),
        ("300", 300),
        (300, 300),
        (300.0, 300),
        ("0h1s", 1),
    ],
)
def test_parse_accepts_the_documented_forms(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "5x",
        "5M",
        "1.5h",
        "30m1h",
        "1h1h",
        "-5",
        -5,
        0,
        "0",
        "0s",
        "h",
        "5 minutes",
        True,
        None,
        [],
        1.5,
        float("nan"),
        float("inf"),
    ],
)
def test_parse_rejects_with_a_message_listing_the_forms(bad):
    with pytest.raises(ConfigurationError) as info:
        parse_interval(bad, field="resources.servers.interval")
    message = info.value.message
    assert message.startswith("resources.servers.interval: invalid interval")
    for form in ("'30s'", "'5m'", "'6h'", "'2w'", "'1h30m'", "300"):
        assert form in message


def test_parse_rejects_non_ascii_digits():
    with pytest.raises(ConfigurationError):
        parse_interval("\u0665m")  # ARABIC-INDIC DIGIT FIVE


@pytest.mark.parametrize(
    "seconds,text",
    [
        (0, "0s"),
        (1, "1s"),
        (60, "1m"),
        (90, "1m30s"),
        (300, "5m"),
        (3600, "1h"),
        (5400, "1h30m"),
        (6 * 3600, "6h"),
        (86400, "1d"),
        (36 * 3600, "1d12h"),
        (7 * 86400, "1w"),
        (14 * 86400, "2w"),
        (13 * 86400, "1w6d"),
        (90061, "1d1h1m1s"),
    ],
)
def test_format_examples(seconds, text):
    assert format_interval(seconds) == text


def test_describe():
    assert describe_interval(300) == "5m (300 s)"


@pytest.mark.parametrize("bad", [-1, 1.0, "5", True, None])
def test_format_rejects_non_seconds(bad):
    with pytest.raises(ValueError):
        format_interval(bad)


@given(st.integers(min_value=1, max_value=10**9))
def test_round_trip_seconds_to_text_to_seconds(seconds):
    assert parse_interval(format_interval(seconds)) == seconds


@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=len(UNITS), max_size=len(UNITS)).filter(any),
)
def test_round_trip_any_text_to_seconds_to_canonical_text(counts):
    text = "".join("%d%s" % (count, suffix) for count, (suffix, _unit) in zip(counts, UNITS) if count)
    seconds = parse_interval(text)
    assert seconds == sum(count * unit for count, (_suffix, unit) in zip(counts, UNITS))
    shortest = format_interval(seconds)
    assert parse_interval(shortest) == seconds


_CARRY = {"w": None, "d": 7, "h": 24, "m": 60, "s": 60}


@given(st.integers(min_value=1, max_value=10**9))
def test_format_is_canonical(seconds):
    text = format_interval(seconds)
    parts = re.findall(r"([0-9]+)([wdhms])", text)
    assert "".join(n + u for n, u in parts) == text
    suffixes = [u for _n, u in parts]
    assert suffixes == [u for u, _unit in UNITS if u in suffixes]  # largest first, each once
    for number, suffix in parts:
        assert int(number) > 0
        if _CARRY[suffix]:
            assert int(number) < _CARRY[suffix]


@given(st.lists(st.integers(min_value=0, max_value=400), min_size=len(UNITS), max_size=len(UNITS)).filter(any))
def test_canonical_text_round_trips_exactly(counts):
    limits = [10**6, 6, 23, 59, 59]
    counts = [min(count, limit) for count, limit in zip(counts, limits)]
    if not any(counts):
        counts[-1] = 1
    text = "".join("%d%s" % (count, suffix) for count, (suffix, _unit) in zip(counts, UNITS) if count)
    assert format_interval(parse_interval(text)) == text
