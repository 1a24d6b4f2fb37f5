"""Untrusted text (policy contents, file names, ARNs from a shared config) shown on one
line: control characters and line breaks escaped, long values shortened."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(text: object, limit: int = 200) -> str:
    value = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"),
                         str(text))
    return value if len(value) <= limit else value[:limit - 3] + "..."
