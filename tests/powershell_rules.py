"""A checker of rolecall's PowerShell output by PowerShell's own tokenizer rules (pwsh
is not installed here), written from the language specification and about_Quoting_Rules:

- A verbatim (single-quoted) string literal opens and closes on any single-quote
  character: U+0027, U+2018, U+2019, U+201A, U+201B. Inside it, two single-quote
  characters in a row stand for the second one; nothing else is special, and a
  literal may span lines. (The tokenizer's ``ScanStringLiteral`` does exactly this.)
- ``[char]0xHEX`` is a cast of a hexadecimal integer to one UTF-16 code unit;
  ``[char]::ConvertFromUtf32(0xHEX)`` gives the string of one code point.
- ``+`` with a string on the left concatenates (with a ``[char]`` on the left it adds
  numbers, so the first term must be a string literal).
- A statement ends at CR or LF (outside a string literal).

The checker reads a whole script as PowerShell would tokenize it and accepts only
``Remove-Item Env:NAME -ErrorAction SilentlyContinue`` and ``$Env:NAME = TERM [+ TERM]...``
statements; anything else (a literal that ends early, a stray token) is code, and an
error. It returns what the script sets and removes.
"""

from __future__ import annotations

import re

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
NEWLINES = "\r\n"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REMOVE = re.compile(r"Remove-Item Env:([A-Za-z_][A-Za-z0-9_]*) -ErrorAction SilentlyContinue")
_CHAR = re.compile(r"\[char\]0x([0-9A-Fa-f]+)")
_UTF32 = re.compile(r"\[char\]::ConvertFromUtf32\(0x([0-9A-Fa-f]+)\)")


class NotData(Exception):
    """The script holds something other than plain assignments: it would run code."""


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def eof(self) -> bool:
        return self.at >= len(self.text)

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, literal: str) -> bool:
        if self.text.startswith(literal, self.at):
            self.at += len(literal)
            return True
        return False

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        if found := pattern.match(self.text, self.at):
            self.at = found.end()
        return found

    def verbatim_string(self) -> str:
        """After an opening quote: the literal's value, by ScanStringLiteral's loop."""
        out = []
        while True:
            if self.eof():
                raise NotData("a single-quoted string is never closed")
            ch = self.text[self.at]
            self.at += 1
            if ch in SINGLE_QUOTES:
                if self.peek() == "" or self.peek() not in SINGLE_QUOTES:
                    return "".join(out)
                ch = self.text[self.at]
                self.at += 1
            out.append(ch)

    def term(self) -> str:
        if self.peek() and self.peek() in SINGLE_QUOTES:
            self.at += 1
            return self.verbatim_string()
        if found := self.match(_UTF32):
            code = int(found.group(1), 16)
            if not (0x10000 <= code <= 0x10FFFF):
                raise NotData(f"ConvertFromUtf32 of {code:#x} throws")
            return chr(code)
        if found := self.match(_CHAR):
            code = int(found.group(1), 16)
            if code > 0xFFFF:
                raise NotData(f"[char]{code:#x} does not fit a UTF-16 code unit")
            return chr(code)
        raise NotData(f"unexpected token at offset {self.at}: {self.text[self.at:self.at + 20]!r}")

    def end_of_statement(self) -> None:
        if self.eof():
            return
        if self.peek() not in NEWLINES:
            raise NotData(f"the statement goes on at offset {self.at}: "
                          f"{self.text[self.at:self.at + 20]!r}")
        self.take("\r")
        self.take("\n")


def run(script: str, ascii_only: bool = True) -> tuple[dict[str, str], list[str]]:
    """What ``script`` sets (name -> value) and removes, or NotData. ``ascii_only``:
    also refuse non-ASCII text (its meaning depends on the console's code page)."""
    if ascii_only and not script.isascii():
        raise NotData("non-ASCII output depends on the console's code page")
    reader = _Reader(script)
    sets: dict[str, str] = {}
    removed: list[str] = []
    while not reader.eof():
        if found := reader.match(_REMOVE):
            removed.append(found.group(1))
        elif reader.take("$Env:"):
            name = reader.match(_NAME)
            if name is None or not reader.take(" = "):
                raise NotData(f"not an assignment at offset {reader.at}")
            if not (reader.peek() and reader.peek() in SINGLE_QUOTES):
                raise NotData("the first term must be a string, or + adds numbers")
            value = reader.term()
            while reader.take(" + "):
                value += reader.term()
            sets[name.group()] = value
        else:
            raise NotData(f"not a statement at offset {reader.at}")
        reader.end_of_statement()
    return sets, removed
