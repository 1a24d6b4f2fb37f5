"""Text from the AWS files and the catalog is untrusted (see docs/architecture.md, Trust boundary):
names and values
that carry control, format or line/paragraph-separator characters are refused at load,
before they can reach a terminal, a credentials-file line or an HTTP header."""

from __future__ import annotations

import re

from profiles.doors.terminal import shown
from profiles.errors import ConfigError

# Every code point of Unicode categories Cc, Cf, Zl, Zp and Cs (NUL, CR, LF, TAB, NEL
# U+0085, U+2028/U+2029, bidi overrides, zero-width and BOM characters, surrogates), as
# ranges computed from unicodedata (tests/test_text_checks.py recomputes and compares).
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]"
)
# botocore.utils.validate_region_name's host label, plus non-empty (an empty region makes
# botocore build ``https://sts..amazonaws.com``).
REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")


def check_name(name: str, file: object, what: str) -> None:
    """Refuse a profile, role or account name with an unsafe character (the name is
    shown escaped: it is the only way to point at it, and a name is no secret)."""
    if UNSAFE.search(name):
        raise ConfigError(
            f"{file}: {what} '{shown(name)}' contains a control or line-separator character",
            fix="rename it using printable characters only")


def check_value(value: object, where: str, key: str) -> None:
    """Refuse a value with an unsafe character, naming where and the key, never the
    value (it may be a secret pasted in the wrong place)."""
    if isinstance(value, str) and UNSAFE.search(value):
        raise ConfigError(f"{where}: {key} contains a control or line-separator character",
                          fix=f"retype {key} with printable characters only")


def check_region(value: str, where: str, key: str = "region") -> str:
    """A region botocore accepts (it raises InvalidRegionError at the first client)."""
    check_value(value, where, key)
    if not REGION.fullmatch(value):
        raise ConfigError(f"{where}: invalid {key} {value!r}",
                          fix="use a region name such as us-east-1 (no comments on the line)")
    return value
