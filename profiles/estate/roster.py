"""The roster: what discovery last found in each IAM Identity Center session — its
accounts, their names and the permission sets assigned to the user — kept as non-secret
JSON in the state dir (``sso-roles.json``, 0600, replaced atomically under a lock beside
it). The inventory reads it to list every discovered role; nothing in it is a secret
(no token, no e-mail address).

What the portal said is remote input: on the way in and again on the way out, account
ids must be 12 digits, permission sets the names IAM allows, and account names lose any
control or line-separator character (see docs/architecture.md, Trust boundary).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from profiles import paths
from profiles.config.text import UNSAFE
from profiles.doors import statefiles

NAME = "sso-roles.json"
VERSION = 1
ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)
PERMISSION_SET = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)  # what a role ARN's name allows


@dataclass(frozen=True)
class Listed:
    """One account the session reaches and the roles (permission sets) it may take there."""

    account_id: str
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    """One session's listing: for which start URL, when, and what."""

    start_url: str
    synced_at: float
    accounts: tuple[Listed, ...]

    @property
    def role_count(self) -> int:
        return sum(len(a.roles) for a in self.accounts)


def clean(text: object) -> str:
    """A remote name as it may be shown and used: no control, format or separator
    characters, whitespace trimmed (empty if nothing printable is left)."""
    return " ".join(UNSAFE.sub(" ", text).split()) if isinstance(text, str) else ""


def listed(account_id: object, name: object, roles: object) -> Listed | None:
    """An account as the portal gave it, or None when its id is not one."""
    if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
        return None
    kept = tuple(dict.fromkeys(r for r in (roles if isinstance(roles, list | tuple) else ())
                               if isinstance(r, str) and PERMISSION_SET.fullmatch(r)))
    return Listed(account_id, clean(name), kept)


def path(state_dir: Path | None = None) -> Path:
    return (state_dir or paths.state_dir()) / NAME


def read(file: Path) -> dict[str, Found]:
    """Every session's listing; a missing or malformed roster reads as empty (it is a
    cache: `rolecall sso sync` rebuilds it). A fifo, device or directory in its place is
    refused (ConfigError), never waited on: the roles it names would vanish unsaid."""
    data = statefiles.read_json(file)
    current = isinstance(data, dict) and data.get("version") == VERSION
    sessions = data.get("sessions") if current else {}  # type: ignore[union-attr]
    out: dict[str, Found] = {}
    for name, raw in sessions.items() if isinstance(sessions, dict) else ():
        try:
            accounts = tuple(a for a in (listed(e["id"], e.get("name"), e.get("roles"))
                                         for e in raw["accounts"]) if a is not None)
            url, synced = raw["start_url"], float(raw["synced_at"])
        except (TypeError, KeyError, ValueError, AttributeError):
            continue
        if isinstance(url, str) and not UNSAFE.search(name) and not UNSAFE.search(url):
            out[name] = Found(url, synced, accounts)
    return out


def _entry(found: Found) -> dict:
    return {"start_url": found.start_url, "synced_at": round(found.synced_at, 3),
            "accounts": [{"id": a.account_id, "name": a.name, "roles": list(a.roles)}
                         for a in found.accounts]}


def _change(file: Path, change) -> None:
    # lazy: filelock only when writing
    from filelock import FileLock

    paths.ensure_private_dir(file.parent)
    with FileLock(str(file) + ".lock", mode=0o600, timeout=30):
        current = {name: _entry(found) for name, found in read(file).items()}
        change(current)
        data = {"version": VERSION, "sessions": current}
        statefiles.write_private(file, json.dumps(data, separators=(",", ":")).encode())


def save(file: Path, session: str, found: Found) -> None:
    """Record ``session``'s listing (the others are kept as they are)."""
    _change(file, lambda current: current.__setitem__(session, _entry(found)))


def drop(file: Path, session: str) -> None:
    if file.exists():
        _change(file, lambda current: current.pop(session, None))
