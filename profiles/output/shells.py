"""The environment spelled for each consumer, by that consumer's own quoting rules.

Every value is data, never code (see docs/architecture.md, Trust boundary): a value no quoting of a
format can carry
exactly is refused (a UsageError, exit 2) rather than approximated. The message names
the variable, never the value (it may be a secret). Standard library only (the error
class loads on a refusal): the ``env`` fast path imports this.

- ``sh``: POSIX single quotes (nothing inside is special; ``'`` is written ``'\\''``),
  read by ``eval "$(rolecall env ROLE)"`` in sh, dash, bash and zsh.
- ``fish``: fish single quotes, where only ``\\\\`` and ``\\'`` are escapes.
- ``powershell``: pure ASCII, so no console code page can turn a byte into a quote:
  printable ASCII in single-quoted strings (``'`` doubled), every other character as
  ``[char]0xXXXX`` (``[char]::ConvertFromUtf32`` above the BMP), joined by ``+``.
  No character PowerShell takes for a single quote (U+0027, U+2018..U+201B) ever
  appears inside a literal.
- ``dotenv``: one ``KEY='value'`` (or ``KEY="value"``) line that is inert under
  ``set -a; . FILE`` in any POSIX shell and that python-dotenv reads back exactly.
- ``json``: ``json.dumps`` (ASCII, escaped).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profiles.errors import UsageError

FORMATS = ("sh", "fish", "powershell", "dotenv", "json")
NAME = re.compile(r"[A-Z_][A-Z0-9_]*", re.ASCII)
_PS_LITERAL = re.compile(r"[\x20-\x7e]+")
# A dotenv value in single quotes: no quote, no backslash before a backslash or at
# the end (python-dotenv unescapes \\ and \'), no ${ (python-dotenv expands ${VAR}
# even in single quotes), no CR (its universal-newline read turns CR into LF).
_DOTENV_SINGLE = re.compile(r"(?!.*(?:'|\\\\|\\\Z|\$\{|\r)).*", re.DOTALL)
# ... or in double quotes: nothing the shell or python-dotenv treats specially there.
_DOTENV_DOUBLE = re.compile(r"[^$`\"\\\r]*")


def _usage(message: str, fix: str) -> UsageError:
    # lazy: profiles.errors only on a refusal: env's fast path renders through here
    from profiles.errors import UsageError

    return UsageError(message, fix=fix)


def _refuse(name: str, fmt: str, why: str) -> UsageError:
    return _usage(f"the value of {name} {why}, so it cannot be written as {fmt} "
                  "output safely", fix="use --format json, or rolecall exec ROLE -- CMD")


def _check(variables: dict[str, str], fmt: str) -> None:
    for name, value in variables.items():
        if not NAME.fullmatch(name):
            raise _usage(f"{name!r} is not an environment variable name",
                         fix="names are A-Z, 0-9 and _, not starting with a digit")
        if "\0" in value:
            raise _refuse(name, fmt, "holds a NUL character (no environment can)")
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise _refuse(name, fmt, "holds an unpaired surrogate (not text)")


def sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def powershell_expr(value: str) -> str:
    """An ASCII PowerShell expression whose value is ``value`` (always a string: the
    first term is a string literal, so ``+`` concatenates)."""
    parts = ["''"] if not value or not _PS_LITERAL.match(value) else []
    at = 0
    while at < len(value):
        if run := _PS_LITERAL.match(value, at):
            parts.append("'" + run.group().replace("'", "''") + "'")
            at = run.end()
            continue
        code = ord(value[at])
        parts.append(f"[char]0x{code:04X}" if code <= 0xFFFF
                     else f"[char]::ConvertFromUtf32(0x{code:X})")
        at += 1
    return " + ".join(parts)


def dotenv_quote(name: str, value: str) -> str:
    if _DOTENV_SINGLE.fullmatch(value):
        return "'" + value + "'"
    if _DOTENV_DOUBLE.fullmatch(value):
        return '"' + value + '"'
    raise _refuse(name, "dotenv", "mixes quotes, backslashes, $ or CR in a way that sh and "
                  "python-dotenv read differently")


def render(variables: dict[str, str], fmt: str, removed: tuple[str, ...]) -> str:
    """Text to ``eval`` (or load) in ``fmt``: unset ``removed``, set ``variables``."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    _check(variables, fmt)
    if fmt == "json":
        return json.dumps(variables, indent=2) + "\n"
    lines: list[str] = []
    if fmt == "sh":
        lines.append("unset " + " ".join(removed))
        lines += [f"export {k}={sh_quote(v)}" for k, v in variables.items()]
    elif fmt == "fish":
        if removed:  # `or true`: fish's `set` passes on the status of an erase that
            # found nothing, and `rolecall env ROLE --format fish | source` must end in 0
            lines.append("set -e " + " ".join(removed) + "; or true")
        lines += [f"set -gx {k} {fish_quote(v)}" for k, v in variables.items()]
    elif fmt == "powershell":
        lines += [f"Remove-Item Env:{k} -ErrorAction SilentlyContinue" for k in removed]
        lines += [f"$Env:{k} = {powershell_expr(v)}" for k, v in variables.items()]
    else:
        lines += [f"{k}={dotenv_quote(k, v)}" for k, v in variables.items()]
    return "\n".join(lines) + "\n"
