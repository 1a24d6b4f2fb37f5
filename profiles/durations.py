"""Durations: ``900``, ``15m``, ``1h``, ``2h30m``; and how to show time left."""

from __future__ import annotations

import re

from profiles.countdown import format_countdown  # noqa: F401 - the board's spelling
from profiles.errors import UsageError

MIN_DURATION = 900
MAX_DURATION = 12 * 3600
CHAIN_CAP = 3600
MFA_SESSION_DEFAULT = 12 * 3600
MFA_SESSION_MAX = 36 * 3600

_PART = re.compile(r"([0-9]{1,9})([hms])")  # ASCII digits only: int() takes "²" and "٣"
_SECONDS = re.compile(r"[0-9]{1,9}")
_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text: str | int, what: str = "duration") -> int:
    """Seconds from ``3600``, ``15m``, ``1h``, ``2h30m`` or ``1h5m30s``."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if _SECONDS.fullmatch(value):
        return int(value)
    if value and _PART.sub("", value) == "" and (parts := _PART.findall(value)):
        units = [u for _, u in parts]
        if len(set(units)) == len(units) and units == sorted(units, key="hms".index):
            return sum(int(n) * _UNITS[u] for n, u in parts)
    raise UsageError(
        f"invalid {what} {str(text)!r}",
        fix="give seconds or a duration like 15m, 1h or 2h30m",
    )


def format_duration(seconds: int) -> str:
    """``2h30m``, ``15m``, ``45s``: the shortest exact spelling."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    out += f"{secs}s" if secs or not out else ""
    return out
