"""Small helpers shared by the simulator: ids, timestamps, JSON."""

from __future__ import annotations

import datetime
import json
import re
import uuid

UTC = datetime.timezone.utc

# Timestamp formats of the real services.
FMT_Z = "%Y-%m-%dT%H:%M:%SZ"  # Nova created/updated, Neutron, Glance, Keystone parts
FMT_MICRO = "%Y-%m-%dT%H:%M:%S.%f"  # Cinder created_at/updated_at, Nova launched_at
FMT_PLAIN = "%Y-%m-%dT%H:%M:%S"  # Octavia


def now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


_DAYS = {}
_TOD = {}


def fmt_epoch(ts, style=FMT_Z):
    """Fast formatting of integer epoch seconds in one of the services' styles."""
    day, rem = divmod(int(ts), 86400)
    date = _DAYS.get(day)
    if date is None:
        date = datetime.datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
        _DAYS[day] = date
    tod = _TOD.get(rem)
    if tod is None:
        hour, minute = divmod(rem // 60, 60)
        tod = _TOD[rem] = "T%02d:%02d:%02d" % (hour, minute, rem % 60)
    base = date + tod
    if style == FMT_Z:
        return base + "Z"
    if style == FMT_MICRO:
        return base + ".000000"
    return base


def fmt(dt, style=FMT_Z):
    if isinstance(dt, int):
        return fmt_epoch(dt, style)
    if style == FMT_MICRO:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.000000")
    return dt.strftime(style)


def keystone_time(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


_TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def parse_time(value):
    """Parse an ISO 8601 timestamp as the APIs accept it; returns an aware datetime or None."""
    if value is None:
        return None
    m = _TS_RE.match(str(value).strip())
    if not m:
        return None
    year, month, day, hour, minute, second, tz = m.groups()
    dt = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), 0, UTC)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        dt = dt - sign * offset
    return dt


def normalize_time(value):
    """Any timestamp string the services produce -> comparable ``YYYY-MM-DDTHH:MM:SSZ`` (or "")."""
    dt = parse_time(value)
    return dt.strftime(FMT_Z) if dt else ""


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def rng_hex(rng):
    """A random (version 4 layout) UUID as 32 hex digits, from a seeded ``random.Random``."""
    return "%032x" % ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)


def rng_uuid(rng):
    h = rng_hex(rng)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def new_uuid():
    return str(uuid.uuid4())


def new_hex():
    return uuid.uuid4().hex


def dumps(obj):
    return json.dumps(obj).encode("utf-8")


def request_id():
    return "req-" + str(uuid.uuid4())


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on", "t", "y")


def nova_address(port, address, kind="fixed"):
    """One entry of a Nova server's ``addresses`` for an IP of a port (``kind``: fixed or floating)."""
    return {
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
        "OS-EXT-IPS:type": kind,
        "addr": address,
        "version": 6 if ":" in address else 4,
    }


def _yaml_scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def dump_yaml(obj, indent=0):
    """A small YAML writer for clouds.yaml (dicts, lists, scalars; strings double-quoted)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, (dict, list)) and value:
                lines.append("%s%s:" % (pad, json.dumps(str(key))))
                lines.append(dump_yaml(value, indent + 1))
            elif isinstance(value, dict):
                lines.append("%s%s: {}" % (pad, json.dumps(str(key))))
            elif isinstance(value, list):
                lines.append("%s%s: []" % (pad, json.dumps(str(key))))
            else:
                lines.append("%s%s: %s" % (pad, json.dumps(str(key)), _yaml_scalar(value)))
    elif isinstance(obj, list):
        for value in obj:
            if isinstance(value, (dict, list)) and value:
                inner = dump_yaml(value, indent + 1).lstrip()
                lines.append("%s- %s" % (pad, inner))
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(value)))
    return "\n".join(lines) + ("\n" if indent == 0 else "")
