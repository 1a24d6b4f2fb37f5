"""Helpers every command group shares: the workspace, assume options, tables, JSON."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata

from profiles.doors.terminal import shown


def workspace(prompt: bool = True, via: str = "cli"):
    """The core façade; ``prompt`` lets it ask for MFA codes on the terminal; ``via``
    names the path in the journal."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles.workspace import Workspace
    from tui.cli import prompt as terminal

    return Workspace(mfa_prompt=terminal.mfa_code if prompt else None, via=via)


def assume_flags(p: argparse.ArgumentParser) -> None:
    """The options of ``assume`` that ``env``, ``exec``, ``shell`` and ``write`` share."""
    p.add_argument("--duration", help="session length: seconds or 15m, 1h, 2h30m")
    p.add_argument("--session-name", help="RoleSessionName or a template such as {user}-{unix}")
    p.add_argument("--external-id", help="ExternalId for a third-party role")
    p.add_argument("--mfa-code", action="append", metavar="[SERIAL=]CODE",
                   help="the MFA device's current 6-digit code; SERIAL=CODE once per "
                   "device when the chain has more than one")
    p.add_argument("--refresh", action="store_true", help="ignore the cache; get a new session")


def mfa_codes(given: list[str] | None) -> str | dict[str, str] | None:
    """``--mfa-code CODE`` (the first device asked for) or ``--mfa-code SERIAL=CODE``, one
    per device of the chain (a serial may itself hold ``=``: the code follows the last)."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles.errors import UsageError

    if not given:
        return None
    if len(given) == 1 and "=" not in given[0]:
        return given[0]
    codes: dict[str, str] = {}
    for item in given:
        serial, sep, code = item.rpartition("=")
        if not sep or not serial:
            raise UsageError(f"--mfa-code {shown(item)}: with more than one code, name "
                             "each device", fix="--mfa-code SERIAL=123456 for each MFA serial")
        codes[serial] = code
    return codes


def assume_options(ns: argparse.Namespace) -> dict:
    return {
        "duration": ns.duration, "session_name": ns.session_name,
        "external_id": ns.external_id, "mfa_code": mfa_codes(ns.mfa_code),
        "refresh": ns.refresh,
    }


def notes(result) -> None:
    """Each note on one line; a note's ``\n  fix: ...`` (as ``str(RolecallError)`` puts it)
    on its own line after it."""
    for note in result.notes:
        message, _, fix = note.partition("\n  fix: ")
        print(f"rolecall: note: {shown(message)}", file=sys.stderr)
        if fix:
            print(f"  fix: {shown(fix)}", file=sys.stderr)


def session(ns: argparse.Namespace):
    """``(workspace, session)`` for ``ns.role`` with the assume options in ``ns``."""
    ws = workspace()
    result = ws.assume(ns.role, **assume_options(ns))
    notes(result)
    return ws, result.session


def short(hop: str) -> str:
    """``mfa:arn:aws:iam::1:mfa/alice`` reads as ``mfa:alice`` in a table."""
    return "mfa:" + hop.rsplit("/", 1)[-1] if hop.startswith("mfa:") else hop


def left(seconds: float) -> str:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.durations import format_duration

    return "expired" if seconds <= 0 else f"{format_duration(int(seconds))} left"


def dump(data: object) -> None:
    """JSON on stdout: indented for a person, compact (and faster) for a pipe."""
    print(json.dumps(data, indent=2 if sys.stdout.isatty() else None))


def cells(text: str) -> int:
    """Terminal columns ``text`` takes: wide (East Asian) characters two, combining none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> str:
    """Rows as aligned columns (two spaces apart; the last one unpadded), each cell's
    non-printable characters spelled out. Columns in ``right`` are right-aligned."""
    rows = [tuple(shown(c) for c in row) for row in rows]  # the terminal door, each cell
    widths = [max(cells(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        out = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            pad = " " * (width - cells(cell))
            last = i == len(row) - 1
            out.append(pad + cell if i in right else cell if last else cell + pad)
        lines.append("  ".join(out))
    return "\n".join(lines) + "\n"


def require(available: bool, command: str, needs: str) -> None:
    """Refuse ``command`` in one line where the system lacks what it ``needs`` (found
    by a feature test: Windows has no process groups, signal masks or job control)."""
    if not available:
        from profiles.errors import UsageError  # lazy: as above

        raise UsageError(f"{command} cannot run on this system: it needs {needs}, which "
                         "it lacks", fix="run it on Linux or macOS (on Windows: under WSL)")
