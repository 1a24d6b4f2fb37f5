"""The shared credentials file writer.

Only sections marked ``x_managed_by = rolecall`` are touched; an unmanaged section is
refused unless forced. Every other byte of the file is kept, and so are the keys and
comments a user added inside a managed section (only rolecall's own keys are replaced).
New lines take the file's own line ending. Every value is checked to be one INI value
(no line break, control character or outer whitespace: botocore has no escaping), and
the new file is read back with botocore's own loader before the rename: if botocore
would see any section or key other than the ones meant, nothing is written. Writes go
only to a regular file, under a lock beside it (see ``target``), mode 0600.
"""

from __future__ import annotations

import configparser
import contextlib
import errno
import gc
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from profiles import paths
from profiles.errors import ConfigError, FileWriteError, UsageError
from profiles.model import Session, iso
from profiles.output import ini, target
from profiles.output.sections import (
    FIELDS,
    MANAGED,
    OWNED,
    Fields,
    Section,
    block,
    own_end,
    split,
    update,
)

__all__ = ["FIELDS", "MANAGED", "OWNED", "Section", "check_name", "fields", "managed",
           "remove", "write"]
_NAME = re.compile(r"[\w.@+=,-]{1,128}", re.ASCII)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name == ini.DEFAULT_SECTION:
        raise UsageError(f"invalid profile name {name!r}",
                         fix="use letters, digits and . @ + = , _ - (up to 128), "
                             f"not {ini.DEFAULT_SECTION} (its keys reach every profile)")
    return name


def fields(name: str, session: Session) -> Fields:
    """rolecall's keys for ``session`` as profile ``name``, each checked to be one value."""
    creds = session.credentials
    assert creds is not None
    values = (creds.access_key_id, creds.secret_access_key, creds.session_token,
              iso(session.expires_at), session.arn, session.role, MANAGED)
    return [(key, ini.check_value(f"the {what} for profile [{name}]", value))
            for (key, what), value in zip(FIELDS.items(), values, strict=True)]


def _keys(kinds: list[ini.Line]) -> dict[str, set[str]]:
    """Each section's keys as botocore reads them: [DEFAULT]'s merged into every one."""
    keys = ini.keys_by_section(kinds)
    defaults = keys.pop(ini.DEFAULT_SECTION, set())
    return {s: k | defaults for s, k in keys.items()}


@dataclass
class Expect:
    """What botocore must read from the new file: each section's keys ([DEFAULT]'s
    merged in, as botocore merges them), and the written section's exact values."""

    keys: dict[str, set[str]]
    section: str | None = None
    values: dict[str, str] | None = None


def _refuse_broken(text: str, where: Path) -> None:
    """A ConfigError naming the file and line (never the line's content) if botocore
    cannot read ``text``: rolecall does not edit a file it would make no better."""
    try:
        ini.parse_with_defaults(text, str(where))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None) or next(
            (n for n, _ in getattr(exc, "errors", ())), None)
        at = f" at line {line}" if line else ""
        raise ConfigError(f"{where} does not parse{at}, so rolecall will not edit it",
                          fix="repair the file by hand, then try again") from None


def _verify(tmp: Path, expect: Expect, where: Path, old: str) -> None:
    """Refuse unless botocore's own loader reads from ``tmp`` exactly the sections and
    keys expected, and the written section's values. (Lines outside the edit are the
    old file's own, so with every section and key where it was, so is every value.)"""
    # lazy: botocore's parser only when a file is written
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import BotoCoreError

    try:
        got = raw_config_parse(str(tmp), parse_subsections=False)
    except BotoCoreError:
        _refuse_broken(old, where)
        got = {}
    keys = {s: set(v) for s, v in got.items()}
    if keys == expect.keys and (expect.section is None
                                or got.get(expect.section) == expect.values):
        return
    odd = sorted(set(keys) ^ set(expect.keys)) or sorted(
        s for s in expect.keys if keys.get(s) != expect.keys[s]) or [expect.section or ""]
    shown = ", ".join(repr(s) for s in odd[:3])
    raise UsageError(f"the edit would change how botocore reads {where} ({shown}), so "
                     "rolecall left it unchanged",
                     fix="check the indentation and sections around that profile")


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing builds thousands of short-lived objects per file (configparser alone makes
    a cyclic proxy per section); the cyclic collector's passes over them made a write
    superlinear in the file's size (5,000 sections: 108 ms, 66 ms with it paused)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


Change = Callable[[list[str], list[ini.Line]], tuple[list[str], Expect]]


def _edit(path: Path, change: Change) -> None:
    """Read, change, verify and atomically replace the file under its lock."""
    where = target.resolve(path)
    try:
        if not where.parent.is_dir():
            where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise FileWriteError(f"cannot create {where.parent}: {exc.strerror}") from None
    try:
        with target.locked(where) as held, _collector_paused():
            if held:
                target.sweep(where)
            text = target.read(where, shown=path)
            lines = ini.split_lines(text)
            kinds = ini.classify(lines)
            if any(kind.kind == "error" for kind in kinds):
                _refuse_broken(text, where)
            new_lines, expect = change(lines, kinds)
            new = "".join(new_lines)
            if new == text:
                if held and text:
                    os.chmod(where, 0o600)
                return
            if not held:
                raise OSError(errno.EROFS, "its directory is read-only")
            target.replace(where, new.encode(), lambda tmp: _verify(tmp, expect, where, text))
    except OSError as exc:
        raise FileWriteError(
            f"cannot write {where}: {exc.strerror or exc}; the file is unchanged",
            fix="check the directory is writable and the disk has space") from None


def write(session: Session, name: str, *, force: bool = False, path: Path | None = None) -> Path:
    """Write ``session`` as profile ``name``. Refuses an unmanaged section unless forced."""
    check_name(name)
    pairs = fields(name, session)
    path = path or paths.aws_credentials_file()

    def change(lines: list[str], kinds: list[ini.Line]) -> tuple[list[str], Expect]:
        eol = ini.dominant_eol("".join(lines))
        found = split(lines, kinds)
        kept: dict[str, str] = {}
        for section in found:
            if section.name != name:
                continue
            if section.managed:
                kept = {k: v for k, v in section.values.items() if k not in OWNED}
                new = (lines[:section.start] + update(lines, kinds, section, pairs, eol)
                       + lines[section.end:])
            elif force:
                new = (lines[:section.start] + block(name, pairs, eol)
                       + lines[own_end(lines, section):])
            else:
                raise UsageError(
                    f"profile [{name}] in {path} was not written by rolecall; not overwriting it",
                    fix=f"choose another name with --as, or pass --force to replace [{name}]")
            break
        else:
            new = lines[:]
            if new and not ini.eol(new[-1]):
                new[-1] += eol
            if new and new[-1].strip():
                new.append(eol)
            new += block(name, pairs, eol)
        defaults = {k: v for s in found if s.name == ini.DEFAULT_SECTION
                    for k, v in s.values.items()}
        values = {**defaults, **kept, **dict(pairs)}
        return new, Expect({**_keys(kinds), name: set(values)}, name, values)

    _edit(path, change)
    return path


def managed(path: Path | None = None) -> list[Section]:
    """The rolecall-written sections of the credentials file (read without the lock);
    none when the path is not a regular file (a link to /dev/null forbids profiles)."""
    path = path or paths.aws_credentials_file()
    try:
        where = target.resolve(path)
    except UsageError:
        return []
    try:
        lines = ini.split_lines(target.read(where, shown=path))
    except UsageError:
        return []
    return [s for s in split(lines, ini.classify(lines)) if s.managed]


def remove(names: list[str] | None = None, *, expired_before: float | None = None,
           path: Path | None = None) -> list[str]:
    """Remove managed sections by name, or those whose expiry is at or before the
    moment ``expired_before`` (a section with no readable expiry is not judged expired).
    Returns the names removed."""
    path = path or paths.aws_credentials_file()
    removed: list[str] = []

    def change(lines: list[str], kinds: list[ini.Line]) -> tuple[list[str], Expect]:
        removed.clear()
        out = lines[:]
        for section in reversed(split(lines, kinds)):
            if not section.managed:
                continue
            expires = section.expires_at
            hit = (names is not None and section.name in names) or (
                expired_before is not None and expires is not None
                and expires.timestamp() <= expired_before)
            if hit:
                del out[section.start:own_end(lines, section)]
                removed.append(section.name)
        keys = _keys(kinds)
        return out, Expect({s: k for s, k in keys.items() if s not in removed})

    if not managed(path):  # nothing to remove (or not a regular file): no lock, no write
        return []
    _edit(path, change)
    return removed[::-1]
