"""``rolecall console ROLE [--service S] [--region R] [--duration D] [--print]``: the AWS
console signed in as ROLE's session (see docs/architecture.md, Console, discovery and long-lived
keys), opened in the browser or printed."""

from __future__ import annotations

import argparse
import shlex
import sys

from profiles.doors.terminal import shown
from profiles.errors import RolecallError, UsageError
from tui.cli import common
from tui.cli.parser import Commands


def _local(moment) -> str:
    return moment.astimezone().strftime("%H:%M %Z")


def cmd_console(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.durations import format_duration, parse_duration
    from profiles.estate import console, handoff

    duration = parse_duration(ns.duration) if ns.duration is not None else None
    if not ns.print and not handoff.graphical():
        raise UsageError("no graphical web browser here (no DISPLAY, WAYLAND_DISPLAY or "
                         "BROWSER)", fix="print the sign-in URL instead: rolecall console "
                         f"{shown(shlex.quote(ns.role))} --print (it is a secret for 15 "
                         "minutes)")
    ws = common.workspace()
    found = console.signin(ws, ns.role, service=ns.service, region=ns.region,
                           duration=duration, mfa_code=common.mfa_codes(ns.mfa_code),
                           refresh=ns.refresh)
    ends = f"the console session ends by {_local(found.expires_at)}"
    if found.session_duration:
        ends = f"the console session lasts {format_duration(found.session_duration)}"
    if found.chained:
        ends += " (AWS caps a role-chained session's console at 1 hour)"
    if ns.print:
        print(shown(found.url))  # what --print asks for: the secret, on stdout only
        print(f"rolecall: sign-in URL for {shown(ns.role)} -> {shown(found.destination)}; "
              f"it works once, within 15 minutes; {shown(ends)}", file=sys.stderr)
        return 0
    if not handoff.open_secret(found.url):
        raise RolecallError("the browser did not open the sign-in page",
                            fix=f"set BROWSER, or print the URL: rolecall console "
                            f"{shown(ns.role)} --print")
    print(f"rolecall: opened the AWS console for {shown(ns.role)} "
          f"({shown(found.destination)}); {shown(ends)}", file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    p = commands.add("console", cmd_console, "open the AWS console as ROLE in the browser, or "
                     "--print the sign-in URL")
    p.add_argument("--service", metavar="S", help="the console page: s3, ec2, iam, lambda, ...")
    p.add_argument("--region", metavar="R", help="the console's region (default: the role's)")
    p.add_argument("--duration", metavar="D", help="console session length (15m to 12h; 1h "
                   "at most for a role-chained session; default: the session's own)")
    p.add_argument("--print", action="store_true",
                   help="print the sign-in URL (a secret for 15 minutes) instead of opening it")
    p.add_argument("--mfa-code", action="append", metavar="[SERIAL=]CODE",
                   help="the MFA device's current code, if the session needs one")
    p.add_argument("--refresh", action="store_true", help="a new session first")
