"""Commands on the session cache and written profiles: sessions, forget, clean."""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

from profiles.doors.terminal import shown
from profiles.errors import UsageError
from tui.cli import common
from tui.cli.parser import Commands


def cmd_sessions(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    import time

    from profiles.model import iso
    from profiles.sessions.cache import SessionCache
    from profiles.workspace import session_json

    cache = SessionCache()
    sessions = sorted(cache.sessions(), key=lambda s: (s.role, s.expires_at))
    now = time.time() + cache.clock_skew
    index = cache.read_index()["sessions"]  # each entry keeps the refresh window it had
    if ns.json:
        common.dump([session_json(s, now, index.get(s.key, {}).get("refresh_window", 300))
                     for s in sessions])
        return 0
    if not sessions:
        # with no keyring, each command's sessions die with it: say so, not just "none"
        print("no cached sessions" if cache.backend is not None else
              "no cached sessions: with no keyring here, each rolecall command keeps its "
              "sessions in memory for its own run only")
        if warning := cache.take_warning():
            common.notes(SimpleNamespace(notes=[warning]))
        return 0
    rows = [("ROLE", "EXPIRES", "LEFT", "ARN")]
    rows += [(s.role, iso(s.expires_at), common.left(s.seconds_left(now)),
              f"eks token for {s.params.get('cluster')}" if s.kind == "eks" else s.arn)
             for s in sessions]
    sys.stdout.write(common.table(rows, right=(2,)))
    return 0


def cmd_forget(ns: argparse.Namespace) -> int:
    if bool(ns.role) == bool(ns.all):
        raise UsageError("name a role or pass --all", fix="rolecall forget ROLE | --all")
    ws = common.workspace(prompt=False)
    count = ws.forget(None if ns.all else ns.role)
    print(f"forgot {count:d} session{'s' if count != 1 else ''}")
    return 0


def cmd_clean(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    import time

    from profiles.output import credfile

    removed = credfile.remove(expired_before=time.time())
    print("removed " + (", ".join(f"[{shown(n)}]" for n in removed) if removed else "nothing"))
    return 0


def register(commands: Commands) -> None:
    commands.add("sessions", cmd_sessions, "cached sessions with expiry and time left",
                 role=False).add_argument("--json", action="store_true")
    p = commands.add("forget", cmd_forget, "drop cached sessions from the keyring", role=False)
    p.add_argument("role", nargs="?", metavar="ROLE")
    p.add_argument("--all", action="store_true", help="forget every cached session")
    commands.add("clean", cmd_clean, "remove expired rolecall profiles from the credentials file",
                 role=False)
