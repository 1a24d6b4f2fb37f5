"""The shared credentials file writer.

Only sections marked ``x_managed_by = rolecall`` are touched; an unmanaged section is
refused unless forced. Every other byte of the file is kept. Writes are atomic (temp
file in the same directory, fsync, rename) under a lock in rolecall's state dir, so
concurrent writers lose nothing, and the file stays mode 0600.
"""

from __future__ import annotations

import configparser
import contextlib
import gc
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from profiles import paths
from profiles.errors import ConfigError, FileWriteError, UsageError
from profiles.model import Session, iso, parse_iso
from profiles.sessions.cache import write_private

MANAGED = "rolecall"
_HEADER = re.compile(r"^\s*\[([^\]]*)\]")
_NAME = re.compile(r"[\w.@+=,-]{1,128}", re.ASCII)


@dataclass
class Section:
    name: str
    start: int  # first line index (the header)
    end: int  # one past the last line
    body: list[str]

    @cached_property
    def values(self) -> dict[str, str]:
        """The section's keys, parsed by configparser on first use."""
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            parser.read_string("[s]\n" + "".join(self.body))
            return dict(parser.items("s"))
        except configparser.Error:
            return {}

    @property
    def managed(self) -> bool:
        if not any("x_managed_by" in line for line in self.body):
            return False
        return self.values.get("x_managed_by", "").strip() == MANAGED

    @property
    def expires_at(self) -> datetime | None:
        try:
            return parse_iso(self.values["x_security_token_expires"].strip())
        except (KeyError, ValueError):
            return None


def _sections(lines: list[str]) -> list[Section]:
    """Split into sections by header lines; each parses its values only when asked."""
    heads = [(i, m.group(1).strip()) for i, line in enumerate(lines)
             if line[:1] in "[ \t" and (m := _HEADER.match(line))]
    return [
        Section(name, start, end, lines[start + 1:end])
        for n, (start, name) in enumerate(heads)
        for end in [heads[n + 1][0] if n + 1 < len(heads) else len(lines)]
    ]


def _own_end(lines: list[str], section: Section) -> int:
    """Where a section's own lines end: trailing blank lines and comments belong to
    whatever follows, so they are kept when the section is replaced or removed."""
    end = section.end
    while end > section.start + 1 and (
        not lines[end - 1].strip() or lines[end - 1].lstrip()[:1] in "#;"
    ):
        end -= 1
    return end


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UsageError(f"invalid profile name {name!r}",
                         fix="use letters, digits and . @ + = , _ - (up to 128)")
    return name


def _lock(path: Path):
    from filelock import FileLock

    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    lock_dir = paths.ensure_private_dir(paths.state_dir() / "locks")
    return FileLock(str(lock_dir / f"credentials-{digest}.lock"), mode=0o600, timeout=30)


def _read(path: Path) -> str:
    """The file exactly as stored: UTF-8, line endings untranslated (CRLF stays CRLF)."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise FileWriteError(f"cannot read {path}: {exc}") from None


def _validate(text: str, path: Path) -> None:
    parser = configparser.RawConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{path} does not parse, so rolecall will not edit it: {first}",
                          fix="repair the file by hand, then try again") from None


def _remove_stale_temps(target: Path) -> None:
    """Temp files a killed writer left (they may hold secrets): under the lock no writer
    is mid-write, so any that match are stale."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


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


def _edit(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    """Read, change and atomically replace the file under the lock."""
    target = path.resolve() if path.is_symlink() else path
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise FileWriteError(f"cannot create {target.parent}: {exc.strerror}") from None
    try:
        with _lock(target), _collector_paused():
            _remove_stale_temps(target)
            text = _read(target)
            _validate(text, target)
            new = "".join(change(text.splitlines(keepends=True)))
            if new != text:
                write_private(target, new.encode())
            elif target.exists():
                os.chmod(target, 0o600)
    except OSError as exc:
        raise FileWriteError(
            f"cannot write {target}: {exc.strerror or exc}; the file is unchanged",
            fix="check the directory is writable and the disk has space") from None


def render(name: str, session: Session) -> list[str]:
    creds = session.credentials
    assert creds is not None
    return [
        f"[{name}]\n",
        f"aws_access_key_id = {creds.access_key_id}\n",
        f"aws_secret_access_key = {creds.secret_access_key}\n",
        f"aws_session_token = {creds.session_token}\n",
        f"x_security_token_expires = {iso(session.expires_at)}\n",
        f"x_principal_arn = {session.arn}\n",
        f"x_rolecall_role = {session.role}\n",
        f"x_managed_by = {MANAGED}\n",
    ]


def write(session: Session, name: str, *, force: bool = False, path: Path | None = None) -> Path:
    """Write ``session`` as profile ``name``. Refuses an unmanaged section unless forced."""
    check_name(name)
    path = path or paths.aws_credentials_file()

    def change(lines: list[str]) -> list[str]:
        body = render(name, session)
        for section in _sections(lines):
            if section.name != name:
                continue
            if not section.managed and not force:
                raise UsageError(
                    f"profile [{name}] in {path} was not written by rolecall; not overwriting it",
                    fix=f"choose another name with --as, or pass --force to replace [{name}]")
            end = _own_end(lines, section)
            return lines[:section.start] + body + lines[end:]
        prefix = lines[:]
        if prefix and not prefix[-1].endswith("\n"):
            prefix[-1] += "\n"
        if prefix and prefix[-1].strip():
            prefix.append("\n")
        return prefix + body

    _edit(path, change)
    return path


def managed(path: Path | None = None) -> list[Section]:
    """The rolecall-written sections of the credentials file (read without the lock)."""
    path = path or paths.aws_credentials_file()
    return [s for s in _sections(_read(path).splitlines(keepends=True)) if s.managed]


def remove(names: list[str] | None = None, *, expired_before: float | None = None,
           path: Path | None = None) -> list[str]:
    """Remove managed sections by name, or those expired before a moment. Returns names."""
    path = path or paths.aws_credentials_file()
    removed: list[str] = []

    def change(lines: list[str]) -> list[str]:
        out = lines[:]
        for section in reversed(_sections(lines)):
            if not section.managed:
                continue
            expires = section.expires_at
            hit = (names is not None and section.name in names) or (
                expired_before is not None and (expires is None
                                                or expires.timestamp() <= expired_before))
            if hit:
                del out[section.start:_own_end(lines, section)]
                removed.append(section.name)
        return out

    if not path.exists():
        return []
    _edit(path, change)
    return removed[::-1]
