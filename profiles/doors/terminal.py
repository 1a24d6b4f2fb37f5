"""Text to a terminal: the one function that renders outside text (names from the AWS
files and the catalog, AWS and portal answers, CloudTrail fields, policy text, file
names, git's output) for a terminal, CLI and board alike.

Anything a terminal would act on, or that hides or reorders what is shown, is spelled
out instead of passed: C0 and C1 controls, DEL (so no ESC sequence: no OSC 0 title, no
OSC 52 clipboard, no SGR), line and paragraph separators, bidi controls (U+202A..U+202E,
U+2066..U+2069, U+200E/F, U+061C), zero-width and other format characters, surrogates
and unassigned code points. Bytes that are not UTF-8 show as ``\\xNN`` (also when they
arrive as the surrogates ``os.fsdecode`` makes of them). Standard library only (the
fast paths print through it).
"""

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _text(text: object) -> str:
    if isinstance(text, bytes | bytearray | memoryview):
        return bytes(text).decode("utf-8", "backslashreplace")
    return text if isinstance(text, str) else str(text)


def shown(text: object, limit: int | None = None) -> str:
    """``text`` on one line, every non-printable character escaped (``\\x1b``,
    ``\\u202e``, ``\\n``); longer than ``limit`` characters, cut with ``...``. ``bytes``
    are decoded as UTF-8, undecodable bytes shown as ``\\xNN``. What it returns is shown
    as it is again (``shown(shown(x)) == shown(x)``)."""
    text = _text(text)
    if limit is not None and len(text) > limit + 1:
        text = text[:limit + 1]  # each character shows as one or more: cut before escaping
    if not text.isprintable():
        # str.isprintable is false exactly for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and
        # Zs other than the space: every control, format and separator character
        text = "".join(c if c.isprintable() else _escape(c) for c in text)
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 3, 0)] + "..."
    return text


def lines(text: object, limit: int | None = None) -> list[str]:
    """Multi-line outside text (a policy, a command's output, a message with its fix) as
    lines, each shown: split at ``\\n`` only (a trailing ``\\r`` dropped, tabs expanded);
    every other line or paragraph separator is escaped like any control."""
    return [shown(line.removesuffix("\r").expandtabs(), limit)
            for line in _text(text).split("\n")]


def block(text: object, limit: int | None = None) -> str:
    """Multi-line outside text as one string whose only control is ``\\n``."""
    return "\n".join(lines(text, limit))


def safe(text: str) -> bool:
    """Whether ``text`` reaches a terminal as it is (nothing to escape)."""
    return text.isprintable()
