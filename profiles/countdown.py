"""Instants and countdowns: an RFC 3339 expiry as epoch seconds, and time left as the
board shows it. Import-free (the standard library's ``datetime`` only for an odd
spelling): ``rolecall prompt`` runs on every shell prompt, and the cache-hit fast path
on every SDK call.
"""

_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_DIGITS = frozenset("0123456789")


def epoch(text: str) -> float:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM:SSZ`` (what :func:`profiles.model.iso`
    writes), by arithmetic: importing datetime is a measurable share of a cache hit.
    Any other spelling goes through datetime."""
    if not (len(text) == 20 and text[4] == text[7] == "-" and text[10] == "T"
            and text[13] == text[16] == ":" and text[19] == "Z"
            and _DIGITS.issuperset(text[:4] + text[5:7] + text[8:10] + text[11:13]
                                   + text[14:16] + text[17:19])):
        # lazy: datetime only for an odd spelling: arithmetic serves what iso() writes
        from datetime import datetime

        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month] + (month == 2 and leap)
            and hour < 24 and minute < 60 and second < 60):
        raise ValueError(text)
    # Days from 1970-01-01 to the date (the proleptic Gregorian calendar).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second


def format_countdown(seconds: float) -> str:
    """``mm:ss`` under an hour, ``h:mm:ss`` above, ``expired`` at or below zero."""
    if seconds <= 0:
        return "expired"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
