"""A managed section of the credentials file: rolecall's keys, found and replaced as
lines, so every other byte (and every key or comment the user added) stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from profiles.model import parse_iso
from profiles.output import ini

MANAGED = "rolecall"
FIELDS = {  # rolecall's own keys, in the order written, with what each holds
    "aws_access_key_id": "access key id", "aws_secret_access_key": "secret access key",
    "aws_session_token": "session token", "x_security_token_expires": "expiry",
    "x_principal_arn": "principal ARN", "x_rolecall_role": "role name",
    "x_managed_by": "marker",
}
# Replaced or dropped on a rewrite; the rest of a managed section is the user's. The
# legacy token key goes too: botocore reads aws_security_token before aws_session_token.
OWNED = frozenset(FIELDS) | {"aws_security_token"}

Fields = list[tuple[str, str]]


@dataclass
class Section:
    name: str
    start: int  # first line index (the header)
    end: int  # one past the last line
    body: list[str]

    @cached_property
    def values(self) -> dict[str, str]:
        """The section's own keys, parsed on first use."""
        return ini.section_values(self.body)

    @property
    def managed(self) -> bool:
        if not any("x_managed_by" in line.lower() for line in self.body):
            return False
        return self.values.get("x_managed_by", "").strip() == MANAGED

    @property
    def expires_at(self) -> datetime | None:
        try:
            return parse_iso(self.values["x_security_token_expires"].strip())
        except (KeyError, ValueError):
            return None


def split(lines: list[str], kinds: list[ini.Line]) -> list[Section]:
    """Sections as botocore sees them (a ``[x]`` line continuing a value is no header);
    each parses its values only when asked."""
    heads = [(i, kind.name) for i, kind in enumerate(kinds) if kind.kind == "header"]
    return [
        Section(name, start, end, lines[start + 1:end])
        for n, (start, name) in enumerate(heads)
        for end in [heads[n + 1][0] if n + 1 < len(heads) else len(lines)]
    ]


def own_end(lines: list[str], section: Section) -> int:
    """Where a section's own lines end: trailing blank lines and comments belong to
    whatever follows, so they are kept when the section is replaced or removed."""
    end = section.end
    while end > section.start + 1 and (
        not lines[end - 1].strip() or lines[end - 1].lstrip()[:1] in "#;"
    ):
        end -= 1
    return end


def block(name: str, pairs: Fields, eol: str) -> list[str]:
    return [f"[{name}]{eol}", *(f"{key} = {value}{eol}" for key, value in pairs)]


def update(lines: list[str], kinds: list[ini.Line], section: Section, pairs: Fields,
            eol: str) -> list[str]:
    """The managed section rewritten in place: each of rolecall's keys replaced on its
    own line (same indent, same ending; its continuation lines dropped), a missing one
    added after the last, every other line (the user's keys, comments) kept."""
    todo = dict(pairs)
    body: list[str] = []
    insert_at, indent, skipping = 0, "", False
    for i in range(section.start + 1, section.end):
        line, kind = lines[i], kinds[i]
        if kind.kind == "continuation" and skipping:
            continue
        if kind.kind in ("blank", "comment"):
            body.append(line)
            continue
        skipping = False
        if kind.kind == "option" and kind.name in OWNED:
            skipping = True
            lead = line[:kind.indent]
            if kind.name in todo:
                body.append(f"{lead}{kind.name} = {todo.pop(kind.name)}{ini.eol(line) or eol}")
            insert_at, indent = len(body), lead
            continue
        body.append(line)
    added = [f"{indent}{key} = {value}{eol}" for key, value in todo.items()]
    body[insert_at:insert_at] = added
    header = lines[section.start]
    if not ini.eol(header):
        header += eol
    return [header, *body]
