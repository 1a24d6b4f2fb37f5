"""RoleSessionName templates: ``{user}``, ``{host}``, ``{profile}``, ``{unix}``,
``{git_sha}`` and ``{env:VAR}``, sanitised to STS's ``[\\w+=,.@-]{2,64}``."""

from __future__ import annotations

import getpass
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable

from profiles.doors import children
from profiles.errors import UsageError

DEFAULT_TEMPLATE = "{user}-{unix}"
LEGAL = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_ILLEGAL_CHAR = re.compile(r"[^\w+=,.@-]", re.ASCII)
_FIELD = re.compile(r"\{([^{}]*)\}")
FIELDS = ("user", "host", "profile", "unix", "git_sha")


def git_sha(cwd: str | None = None) -> str:
    """Short HEAD of the working directory's repository, or ``nogit``."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=cwd, capture_output=True, text=True, timeout=2, check=False,
            env=children.environ(), stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return "nogit"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "nogit"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"


def sanitise(name: str) -> str:
    """Make any string a legal RoleSessionName (ASCII, legal characters, 2 to 64)."""
    ascii_name = name.encode("ascii", "ignore").decode("ascii")
    clean = _ILLEGAL_CHAR.sub("-", ascii_name).strip("-") or "rolecall"
    clean = re.sub(r"-{2,}", "-", clean)
    if len(clean) < 2:
        clean = f"{clean}-rolecall"
    return clean[:64]


def render(
    template: str,
    profile: str,
    *,
    now: Callable[[], float] = time.time,
    environ: dict[str, str] | None = None,
) -> str:
    """Fill a template and sanitise it. Unknown fields are a usage error."""
    env = os.environ if environ is None else environ
    fields: dict[str, Callable[[], str]] = {
        "user": _user,
        "host": lambda: socket.gethostname().split(".")[0],
        "profile": lambda: profile,
        "unix": lambda: str(int(now())),
        "git_sha": git_sha,
    }

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("env:") and key[4:]:
            return env.get(key[4:], "")
        if key in fields:
            return fields[key]()
        raise UsageError(
            f"unknown field {{{key}}} in session-name template {template!r}",
            fix="use {user}, {host}, {profile}, {unix}, {git_sha} or {env:VAR}",
        )

    return sanitise(_FIELD.sub(fill, template))


def check_template(template: str) -> str:
    """A template's fields must be known (it is rendered only when a session is made)."""
    for key in _FIELD.findall(template):
        if key not in FIELDS and not (key.startswith("env:") and key[4:]):
            raise UsageError(
                f"unknown field {{{key}}} in session-name template {template!r}",
                fix="use {user}, {host}, {profile}, {unix}, {git_sha} or {env:VAR}",
            )
    return template


def check_explicit(name: str) -> str:
    """An explicitly given session name must already be legal: no silent rewriting."""
    if not LEGAL.fullmatch(name):
        raise UsageError(
            f"invalid session name {name!r}",
            fix="use 2 to 64 characters from letters, digits and + = , . @ _ -",
        )
    return name


def resolve(explicit: str | None, template: str, profile: str) -> str:
    """The session name to send: an explicit name (or template) wins over the default."""
    if explicit is None:
        return render(template, profile)
    if "{" in explicit:
        return render(explicit, profile)
    return check_explicit(explicit)
