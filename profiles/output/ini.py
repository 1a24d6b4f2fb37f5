"""The credentials file as botocore reads it, line by line.

botocore opens the file in text mode (universal newlines: CR, LF and CRLF each end a
line) and hands it to a default ``configparser.RawConfigParser``. This module splits and
classifies lines by exactly those rules (a header is a ``[...]`` line that is not a
continuation; an option line deeper-indented than the option before it continues that
option's value), so an edit knows which lines make which section, and it parses text
the same way botocore parses a path.
"""

from __future__ import annotations

import configparser
import io
import re
import unicodedata
from typing import Literal, NamedTuple

from profiles.errors import UsageError

# One physical line as botocore's text-mode read sees it, with its ending kept.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_EOLS = ("\r\n", "\n", "\r")
DEFAULT_SECTION = configparser.DEFAULTSECT

Kind = Literal["blank", "comment", "header", "option", "continuation", "error"]


def split_lines(text: str) -> list[str]:
    """Physical lines with their endings; ``"".join`` gives ``text`` back."""
    return _LINE.findall(text)


def eol(line: str) -> str:
    for ending in _EOLS:
        if line.endswith(ending):
            return ending
    return ""


def dominant_eol(text: str) -> str:
    """The line ending most lines of ``text`` use (LF for a file with none)."""
    crlf = text.count("\r\n")
    counts = {"\r\n": crlf, "\n": text.count("\n") - crlf, "\r": text.count("\r") - crlf}
    best = max(_EOLS, key=counts.__getitem__)
    return best if counts[best] else "\n"


class Line(NamedTuple):
    kind: Kind
    indent: int = 0
    name: str = ""  # the section name of a header, the (lower-cased) key of an option


_BLANK, _COMMENT, _ERROR = Line("blank"), Line("comment"), Line("error")


def classify(lines: list[str]) -> list[Line]:
    """Each line's role, by configparser's own reading loop (``RawConfigParser._read``
    with its defaults: ``#``/``;`` comments, no inline comments, ``=``/``:``, empty
    lines allowed inside values), its two regular expressions spelled as string
    operations: a header is ``[`` ... the last ``]``; a key is what comes before the
    first ``=`` or ``:``."""
    out: list[Line] = []
    append = out.append
    in_section = in_option = False
    indent_level = 0
    for line in lines:
        value = line.strip()
        if not value:
            append(_BLANK)
            continue
        if value[0] in "#;":
            append(_COMMENT)
            continue
        indent = 0 if line[0] == value[0] else len(line) - len(line.lstrip())
        if in_option and indent > indent_level:
            append(Line("continuation", indent))
            continue
        indent_level = indent
        if value[0] == "[" and (close := value.rfind("]")) > 1:
            in_section, in_option = True, False
            append(Line("header", indent, value[1:close]))
            continue
        key = ""
        if in_section:
            cut = min(value.find("=") % (len(value) + 1), value.find(":") % (len(value) + 1))
            key = value[:cut].rstrip() if cut < len(value) else ""
        if key:
            in_option = True
            append(Line("option", indent, key.lower()))
        else:
            append(_ERROR)
    return out


def keys_by_section(kinds: list[Line]) -> dict[str, set[str]]:
    """Each section's own keys, from the classified lines ([DEFAULT] among them)."""
    out: dict[str, set[str]] = {}
    current: set[str] = set()
    for kind in kinds:
        if kind.kind == "header":
            current = out.setdefault(kind.name, set())
        elif kind.kind == "option":
            current.add(kind.name)
    return out


def parser() -> configparser.RawConfigParser:
    """The parser botocore's ``raw_config_parse`` builds: every default."""
    return configparser.RawConfigParser()


def parse_with_defaults(text: str, source: str = "<credentials>"
                        ) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """What ``botocore.configloader.raw_config_parse(path, parse_subsections=False)``
    returns for a file holding ``text`` (section -> key -> value, [DEFAULT] merged in),
    and the [DEFAULT] keys. Raises ``configparser.Error`` where botocore would fail."""
    cp = parser()
    cp.read_file(io.StringIO(text, newline=None), source)
    sections = {s: dict(cp.items(s)) for s in cp.sections()}  # as cp.get gives each
    return sections, dict(cp.defaults())


def section_values(body: list[str]) -> dict[str, str]:
    """One section's own keys (not [DEFAULT]'s), read leniently; {} if unreadable."""
    cp = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        cp.read_file(io.StringIO("[s]\n" + "".join(body), newline=None))
        return dict(cp.items("s"))
    except configparser.Error:
        return {}


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def check_value(what: str, value: str) -> str:
    """``value`` as one INI value that reads back exactly, or a UsageError. botocore has
    no escaping, so a line break, control character or outer whitespace is refused (the
    message names the field, never the value: it may be a secret)."""
    if any(_unsafe(ch) for ch in value):
        raise UsageError(f"{what} holds a line break or control character, so rolecall "
                         "will not write it to the credentials file",
                         fix="check the catalog and AWS config for that text")
    if value != value.strip():
        raise UsageError(f"{what} starts or ends with whitespace, which the credentials "
                         "file cannot hold", fix="check the catalog and AWS config")
    return value
