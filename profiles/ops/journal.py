"""The journal: one JSON line per STS call rolecall makes (DESIGN §11).

``journal.jsonl`` in the state dir, mode 0600. Each entry is written with a single
``write()`` of one whole line on an ``O_APPEND`` descriptor, so concurrent processes
never tear or interleave a line; past 10 MiB the file is rotated to ``journal.jsonl.1``
(one old file kept) under a lock beside it. Entries hold no secret: names, ARNs, times
and outcomes only. A journal that cannot be written never fails the call it records.
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from profiles import paths
from profiles.errors import RolecallError

NAME = "journal.jsonl"
ROTATE_AT = 10 * 1024 * 1024
VIAS = ("cli", "board", "run", "serve", "process")
RESULTS = ("ok", "denied", "error")
# POSIX-only flags where the platform has them (Windows has none of them)
_POSIX = (getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
          | getattr(os, "O_CLOEXEC", 0))
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _POSIX


@dataclass(frozen=True)
class Entry:
    """One STS call. ``time`` and ``expires_at`` are ISO 8601 UTC; ``duration`` seconds."""

    time: str
    action: str  # AssumeRole, GetSessionToken, GetRoleCredentials
    role: str
    role_arn: str = ""
    account_id: str = ""
    session_name: str = ""
    caller_arn: str = ""
    duration: int | None = None
    expires_at: str | None = None
    result: str = "ok"
    error_code: str | None = None
    via: str = "cli"
    host: str = ""
    user: str = ""

    @classmethod
    def from_json(cls, data: object) -> Entry | None:
        """An entry from a parsed line, or None if it is not one (a foreign or torn line)."""
        if not isinstance(data, dict):
            return None
        # Each field of its declared type (a missing time, action or role is not one):
        # one set lookup for a line as rolecall writes it, field by field for any other.
        if tuple(data) != FIELDS or tuple(map(type, data.values())) not in _WRITTEN:
            data = _DEFAULTS | {k: v for k, v in data.items() if k in _DEFAULTS}
            if any(type(data[name]) not in kinds for name, kinds in _TYPES):
                return None
        # Built without __init__ (a frozen dataclass's is a tenth of reading a journal).
        entry = object.__new__(cls)
        entry.__dict__.update(data)
        try:
            entry.moment  # noqa: B018 - a time that does not parse is not an entry
        except (TypeError, ValueError, OverflowError):
            return None
        return entry

    @property
    def moment(self) -> float:
        """``time`` as epoch seconds (parsed once: a journal holds tens of thousands)."""
        moment = self.__dict__.get("_moment")
        if moment is None:
            when = datetime.fromisoformat(self.time)  # 3.11 reads the Z rolecall writes
            moment = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
            self.__dict__["_moment"] = moment
        return moment

    def to_json(self) -> dict[str, object]:
        return {name: self.__dict__[name] for name in FIELDS}


DENIED = ("AccessDenied", "AccessDeniedException", "ForbiddenException")  # SSO: the last


def started(action: str, role: str, arn: str, session_name: str, caller: str,
            seconds: int, via: str) -> Entry:
    """The entry of an STS call about to be made (its outcome added by :func:`finished`):
    ``arn`` is the role's ARN (AssumeRole) or the MFA serial (GetSessionToken), whose
    account is the one named; ``caller`` is kept only when it is an ARN."""
    account = arn.split(":")[4] if arn.count(":") >= 5 else ""
    return Entry(time=now_iso(), action=action, role=role,
                 role_arn=arn if action == "AssumeRole" else "", account_id=account,
                 session_name=session_name,
                 caller_arn=caller if caller.startswith("arn:") else "",
                 duration=seconds, via=via)


def finished(entry: Entry, *, expires_at: str | None = None,
             error: RolecallError | None = None) -> Entry:
    """``entry`` with its outcome: ``ok`` and the expiry, or ``denied``/``error`` with
    AWS's error code (or the failure's kind)."""
    if error is None:
        return replace(entry, expires_at=expires_at)
    return replace(entry, result="denied" if error.code in DENIED else "error",
                   error_code=error.code)


FIELDS = tuple(Entry.__dataclass_fields__)
_DEFAULTS = {name: f.default for name, f in Entry.__dataclass_fields__.items()}
_TYPES = tuple((name, (int, type(None)) if name == "duration" else
                (str, type(None)) if name in ("expires_at", "error_code") else (str,))
               for name in FIELDS)
_WRITTEN = set(itertools.product(*(kinds for _, kinds in _TYPES)))  # every valid typing


def _identity() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return socket.gethostname(), user


def path(state_dir: Path | None = None) -> Path:
    return (state_dir or paths.state_dir()) / NAME


def now_iso(clock: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if clock is None else clock, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _open_append(target: Path) -> int:
    """An append descriptor on a regular file (never a symlink, fifo or device)."""
    fd = os.open(target, _FLAGS, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{target} is not a regular file")
    return fd


def _rotate(target: Path, fd: int) -> None:
    """Move a full journal aside (keeping one old file), once, under a lock beside it."""
    # lazy: filelock only when the journal is full (every assumption records)
    from filelock import FileLock

    with FileLock(str(target) + ".lock", mode=0o600, timeout=5):
        try:
            current = os.stat(target)
        except FileNotFoundError:
            return
        mine = os.fstat(fd)
        # Another writer may have rotated while we waited: only the file we hold is ours.
        if (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev) and \
                current.st_size >= ROTATE_AT:
            os.replace(target, target.with_name(target.name + ".1"))


def record(entry: Entry, state_dir: Path | None = None) -> bool:
    """Append ``entry`` as one line; False (never an exception) if it could not be written."""
    host, user = _identity()
    data = asdict(entry)
    data["host"] = data["host"] or host
    data["user"] = data["user"] or user
    line = (json.dumps(data, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
    try:
        directory = paths.ensure_private_dir(state_dir or paths.state_dir())
        target = directory / NAME
        fd = _open_append(target)
        try:
            if os.fstat(fd).st_size >= ROTATE_AT:
                _rotate(target, fd)
                os.close(fd)
                fd = _open_append(target)
            os.write(fd, line)  # one write of one whole line: O_APPEND keeps it whole
        finally:
            os.close(fd)
    except Exception:  # noqa: BLE001 - the journal never breaks the call it records
        return False
    return True


def _lines(target: Path) -> Iterator[bytes]:
    with contextlib.suppress(OSError):
        fd = os.open(target, os.O_RDONLY | _POSIX)
        with os.fdopen(fd, "rb") as handle:
            if stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                yield from handle


def entries(state_dir: Path | None = None) -> list[Entry]:
    """Every readable entry, the old file's first, in the order written."""
    target = path(state_dir)
    out: list[Entry] = []
    for source in (target.with_name(NAME + ".1"), target):
        for raw in _lines(source):
            try:
                entry = Entry.from_json(json.loads(raw))
            except ValueError:
                continue
            if entry is not None:
                out.append(entry)
    return out


def query(state_dir: Path | None = None, *, since: float | None = None,
          role: str | None = None, account: str | None = None) -> list[Entry]:
    """Entries newest first, filtered by time (epoch seconds), role name or account id."""
    found = [e for e in entries(state_dir)
             if (role is None or e.role == role)
             and (account is None or e.account_id == account)
             and (since is None or e.moment >= since)]
    return sorted(found, key=lambda e: e.moment, reverse=True)
