"""Argument parsing and the command functions behind ``rolecall``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from profiles.durations import format_duration
from profiles.errors import UsageError
from profiles.model import iso

FORMATS = ("sh", "fish", "powershell", "dotenv", "json")


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one ``rolecall: ...`` line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, fix=f"see `{self.prog} --help`")


def _workspace(ns: argparse.Namespace, prompt: bool = True):
    from profiles.workspace import Workspace

    return Workspace(mfa_prompt=tty_mfa_prompt if prompt else None)


def tty_mfa_prompt(serial: str, role: str) -> str:
    """Ask for an MFA code on the controlling terminal; with none, say how to pass it."""
    try:
        tty = open("/dev/tty", "r+")  # noqa: SIM115
    except OSError:
        raise UsageError(f"{role} needs an MFA code for {serial} and there is no terminal "
                         "to ask on", fix="pass --mfa-code 123456") from None
    with tty:
        tty.write(f"MFA code for {serial} ({role}): ")
        tty.flush()
        return tty.readline().strip()


def _assume_options(ns: argparse.Namespace) -> dict:
    return {
        "duration": ns.duration, "session_name": ns.session_name,
        "external_id": ns.external_id, "mfa_code": ns.mfa_code, "refresh": ns.refresh,
    }


def _notes(result) -> None:
    for note in result.notes:
        print(f"rolecall: note: {note}", file=sys.stderr)


def _short(hop: str) -> str:
    """``mfa:arn:aws:iam::1:mfa/alice`` reads as ``mfa:alice`` in a table."""
    return "mfa:" + hop.rsplit("/", 1)[-1] if hop.startswith("mfa:") else hop


def _left(seconds: float) -> str:
    return "expired" if seconds <= 0 else f"{format_duration(int(seconds))} left"


def _dump(data: object) -> None:
    """JSON on stdout: indented for a person, compact (and faster) for a pipe."""
    print(json.dumps(data, indent=2 if sys.stdout.isatty() else None))


# -- commands ----------------------------------------------------------------------------


def cmd_tui(ns: argparse.Namespace) -> int:
    from tui.board.app import run_app

    return run_app()


def cmd_demo(ns: argparse.Namespace) -> int:
    from tui.demo.world import run_demo

    return run_demo()


def cmd_list(ns: argparse.Namespace) -> int:
    ws = _workspace(ns, prompt=False)
    now, window = ws.now(), ws.refresh_window
    rows = ws.rows()
    if ns.json:
        _dump([{
            "name": r.name, "account_id": r.account.id, "account_alias": r.account.alias,
            "tags": list(r.account.tags), "role_name": r.role_name, "role_arn": r.role_arn,
            "chain": list(r.chain), "region": r.region, "profiles": list(r.profiles),
            "state": r.state(now, window),
            "expires_at": iso(r.session.expires_at) if r.session else None,
            "seconds_left": max(0, int(r.session.seconds_left(now))) if r.session else 0,
        } for r in rows])
        return 0
    table = [("ROLE", "ACCOUNT", "ROLE NAME", "CHAIN", "SESSION")]
    for r in rows:
        account = f"{r.account.id} ({r.account.alias})" if r.account.alias else r.account.id
        state = _left(r.session.seconds_left(now)) if r.session else "-"
        chain = " > ".join(_short(hop) for hop in r.chain)
        table.append((r.name, account, r.role_name, chain, state))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[4])
    return 0


def cmd_assume(ns: argparse.Namespace) -> int:
    ws = _workspace(ns)
    result = ws.assume(ns.role, **_assume_options(ns))
    _notes(result)
    now = ws.now()
    session = result.session
    if ns.json:
        _dump({
            "role": ns.role, "assumed_role_arn": session.arn,
            "session_name": session.session_name, "expires_at": iso(session.expires_at),
            "seconds_left": max(0, int(session.seconds_left(now))),
            "cached": result.cached[-1],
            "chain": [{"role": h.role, "kind": h.kind, "arn": h.arn,
                       "expires_at": iso(h.expires_at),
                       "seconds_left": max(0, int(h.seconds_left(now))), "cached": c}
                      for h, c in zip(result.hops, result.cached, strict=True)],
        })
        return 0
    origin = "cached" if result.cached[-1] else "new"
    print(session.arn)
    print(f"expires {iso(session.expires_at)} ({_left(session.seconds_left(now))}, {origin})")
    return 0


def _session(ns: argparse.Namespace):
    ws = _workspace(ns)
    result = ws.assume(ns.role, **_assume_options(ns))
    _notes(result)
    return ws, result.session


def cmd_env(ns: argparse.Namespace) -> int:
    from profiles.output import environment

    ws, session = _session(ns)
    sys.stdout.write(environment.render(ws.environment(ns.role, session), ns.format))
    return 0


def cmd_process(ns: argparse.Namespace) -> int:
    ws = _workspace(ns)
    result = ws.assume(ns.role)
    _notes(result)
    assert result.session.credentials is not None
    print(json.dumps(result.session.credentials.to_process_json()))
    return 0


def _nest_guard(ns: argparse.Namespace) -> None:
    from profiles.output.environment import NEST_MARKER

    if os.environ.get(NEST_MARKER) and not ns.nest:
        raise UsageError(f"already inside a rolecall shell for {os.environ[NEST_MARKER]!r}",
                         fix="exit that shell first, or pass --nest to open one inside it")


def cmd_exec(ns: argparse.Namespace) -> int:
    from profiles.output.environment import child_environ

    command = ns.cmd[1:] if ns.cmd[:1] == ["--"] else ns.cmd
    if not command:
        raise UsageError("no command given", fix="rolecall exec ROLE -- CMD [ARGS...]")
    ws, session = _session(ns)
    env = child_environ(ws.environment(ns.role, session))
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        raise UsageError(f"cannot run {command[0]!r}: {exc.strerror}",
                         fix="check the command name and PATH") from None
    return 0  # pragma: no cover - execvpe does not return


def cmd_shell(ns: argparse.Namespace) -> int:
    from profiles.output.environment import child_environ

    _nest_guard(ns)
    ws, session = _session(ns)
    shell = os.environ.get("SHELL") or "/bin/sh"
    print(f"rolecall: shell with {ns.role} ({session.arn}); exit to return", file=sys.stderr)
    return subprocess.call([shell], env=child_environ(ws.environment(ns.role, session)))


def cmd_write(ns: argparse.Namespace) -> int:
    from profiles.output.credfile import check_name

    check_name(ns.as_name or ns.role)
    ws, session = _session(ns)
    path = ws.write(ns.role, session, ns.as_name, force=ns.force)
    print(f"wrote profile [{ns.as_name or ns.role}] to {path} "
          f"(expires {iso(session.expires_at)})")
    return 0


def cmd_sessions(ns: argparse.Namespace) -> int:
    import time

    from profiles.sessions.cache import SessionCache
    from profiles.workspace import session_json

    cache = SessionCache()
    sessions = sorted(cache.sessions(), key=lambda s: (s.role, s.expires_at))
    now = time.time() + cache.clock_skew
    index = cache.read_index()["sessions"]  # each entry keeps the refresh window it had
    if ns.json:
        _dump([session_json(s, now, index.get(s.key, {}).get("refresh_window", 300))
               for s in sessions])
        return 0
    if not sessions:
        print("no cached sessions")
        return 0
    for s in sessions:
        print(f"{s.role:30}  {iso(s.expires_at)}  {_left(s.seconds_left(now)):>14}  {s.arn}")
    return 0


def cmd_forget(ns: argparse.Namespace) -> int:
    if bool(ns.role) == bool(ns.all):
        raise UsageError("name a role or pass --all", fix="rolecall forget ROLE | --all")
    ws = _workspace(ns, prompt=False)
    count = ws.forget(None if ns.all else ns.role)
    print(f"forgot {count} session{'s' if count != 1 else ''}")
    return 0


def cmd_clean(ns: argparse.Namespace) -> int:
    import time

    from profiles.output import credfile

    removed = credfile.remove(expired_before=time.time())
    print("removed " + (", ".join(f"[{n}]" for n in removed) if removed else "nothing"))
    return 0


# -- parser ------------------------------------------------------------------------------


def _assume_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", help="session length: seconds or 15m, 1h, 2h30m")
    p.add_argument("--session-name", help="RoleSessionName or a template such as {user}-{unix}")
    p.add_argument("--external-id", help="ExternalId for a third-party role")
    p.add_argument("--mfa-code", help="the MFA device's current 6-digit code")
    p.add_argument("--refresh", action="store_true", help="ignore the cache; get a new session")


def build_parser() -> Parser:
    parser = Parser(prog="rolecall", description="AWS cross-account roles: assume, chain, "
                    "cache in the OS keyring, write profiles, open shells.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    parser.set_defaults(command=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, func, help_text: str, role: bool = True) -> Parser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        if role:
            p.add_argument("role", metavar="ROLE", help="a role profile or catalog role")
        p.set_defaults(func=func)
        return p

    command("demo", cmd_demo, "open the TUI against a sandbox AWS on loopback", role=False)
    command("list", cmd_list, "every role with its chain and session", role=False).add_argument(
        "--json", action="store_true")
    p = command("assume", cmd_assume, "get credentials for every hop; print ARN and expiry")
    _assume_flags(p)
    p.add_argument("--json", action="store_true")
    p = command("env", cmd_env, "print the environment for eval")
    p.add_argument("--format", "-f", choices=FORMATS, default="sh")
    _assume_flags(p)
    p = command("exec", cmd_exec, "run CMD with the credentials; exits with CMD's status")
    _assume_flags(p)
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD")
    p = command("shell", cmd_shell, "interactive subshell with the credentials")
    _assume_flags(p)
    p.add_argument("--nest", action="store_true", help="allow a shell inside a rolecall shell")
    p = command("write", cmd_write, "write the profile to the shared credentials file")
    p.add_argument("--as", dest="as_name", metavar="NAME", help="profile name (default: ROLE)")
    p.add_argument("--force", action="store_true", help="replace a section rolecall did not write")
    _assume_flags(p)
    command("process", cmd_process, "credential_process output for the AWS CLI and SDKs")
    command("sessions", cmd_sessions, "cached sessions with expiry and time left",
            role=False).add_argument("--json", action="store_true")
    p = command("forget", cmd_forget, "drop cached sessions from the keyring", role=False)
    p.add_argument("role", nargs="?", metavar="ROLE")
    p.add_argument("--all", action="store_true", help="forget every cached session")
    command("clean", cmd_clean, "remove expired rolecall profiles from the credentials file",
            role=False)
    return parser
