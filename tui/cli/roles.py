"""Commands on one role: list, assume, env, exec, shell, write, process (see docs/architecture.md,
Command-line contract)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from profiles.doors.terminal import shown
from profiles.errors import UsageError
from profiles.output.environment import FORMATS
from tui.cli import common
from tui.cli.parser import AFTER_ROLE, Commands


def _iso(when) -> str:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.model import iso

    return iso(when)


def _no_roles() -> None:
    """What ``list`` says when nothing is configured: the board's first-run words."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles import paths
    from profiles.doors.terminal import shown
    from tui.board.firstrun import DOCS, tilde

    print(f"rolecall: no roles yet: none in {shown(tilde(paths.aws_config_file()))} or "
          f"{shown(tilde(paths.catalog_file()))}\n"
          "  fix: try rolecall on a sandbox AWS (nothing of yours is touched): rolecall demo\n"
          "  fix: sign in to IAM Identity Center, whose accounts and roles are then listed: "
          "rolecall sso login\n"
          "  fix: or add a [profile NAME] with role_arn and source_profile to the AWS "
          f"config, or a [roles.NAME] to the catalog: see {DOCS} in rolecall's source",
          file=sys.stderr)


def cmd_list(ns: argparse.Namespace) -> int:
    from tui.cli.registry import notes_on_use  # lazy: only `list` syncs registries on use
    from tui.cli.sso import refreshed  # lazy: only `list` lists stale SSO roles again

    ws = refreshed(common.workspace(prompt=False))  # stale SSO listings are listed again
    notes_on_use(ws.inventory)  # in the background: the copies at hand are listed now
    now, window = ws.now(), ws.refresh_window
    rows = ws.rows()
    if ns.json:
        common.dump([{
            "name": r.name, "account_id": r.account.id, "account_alias": r.account.alias,
            "tags": list(r.account.tags), "role_name": r.role_name, "role_arn": r.role_arn,
            "chain": list(r.chain), "region": r.region, "profiles": list(r.profiles),
            "state": r.state(now, window), "registry": r.registry,
            "expires_at": _iso(r.session.expires_at) if r.session else None,
            "seconds_left": max(0, int(r.session.seconds_left(now))) if r.session else 0,
            **({"error": r.error} if r.error is not None else {}),
        } for r in rows])
        return 0
    if not rows:
        _no_roles()
        return 0
    table = [("ROLE", "ACCOUNT", "ROLE NAME", "CHAIN", "SESSION")]
    for r in rows:
        account = f"{r.account.id} ({r.account.alias})" if r.account.alias else r.account.id
        state = common.left(r.session.seconds_left(now)) if r.session else "-"
        if r.error is not None:
            state = f"broken: {r.error}"
        chain = " > ".join(common.short(hop) for hop in r.chain)
        table.append((r.name, account, r.role_name, chain, state))
    sys.stdout.write(common.table(table))
    return 0


def cmd_assume(ns: argparse.Namespace) -> int:
    ws = common.workspace()
    result = ws.assume(ns.role, **common.assume_options(ns))
    common.notes(result)
    now = ws.now()
    session = result.session
    if ns.json:
        common.dump({
            "role": ns.role, "assumed_role_arn": session.arn,
            "session_name": session.session_name, "expires_at": _iso(session.expires_at),
            "seconds_left": max(0, int(session.seconds_left(now))),
            "cached": result.cached[-1],
            "chain": [{"role": h.role, "kind": h.kind, "arn": h.arn,
                       "expires_at": _iso(h.expires_at),
                       "seconds_left": max(0, int(h.seconds_left(now))), "cached": c}
                      for h, c in zip(result.hops, result.cached, strict=True)],
        })
        return 0
    origin = "cached" if result.cached[-1] else "new"
    print(shown(session.arn))
    print(f"expires {shown(_iso(session.expires_at))} "
          f"({shown(common.left(session.seconds_left(now)))}, {origin})")
    return 0


def cmd_env(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.output import environment

    if ns.server:
        # lazy: the endpoint's modules only for --server
        from tui.cli.serve import env_server

        return env_server(ns)
    ws, session = common.session(ns)
    sys.stdout.write(environment.render(ws.environment(ns.role, session), ns.format))
    return 0


def cmd_process(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from tui.cli.signing import for_process

    ws = common.workspace(via="process")
    for_process(ws)  # a needed IAM Identity Center sign-in opens a browser where one can
    result = ws.process(ns.role)
    common.notes(result)
    assert result.session.credentials is not None
    print(json.dumps(result.session.credentials.to_process_json()))
    return 0


def cmd_exec(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.doors import children
    from tui.cli.child import execute

    if ns.server:
        # lazy: the endpoint's modules only for --server
        from tui.cli.serve import exec_server

        return exec_server(ns)
    if not ns.cmd:
        raise UsageError("no command given", fix="rolecall exec ROLE [OPTIONS] -- CMD [ARGS...]")
    ws, session = common.session(ns)
    return execute(ns.cmd, children.environ(ws.environment(ns.role, session)))


def _shell() -> tuple[str, str]:
    """The user's shell and where it came from: $SHELL, the passwd entry, %COMSPEC%
    (Windows), or /bin/sh."""
    if shell := os.environ.get("SHELL"):
        return shell, "$SHELL"
    if os.name == "nt" and (shell := os.environ.get("COMSPEC")):
        return shell, "%COMSPEC%"
    try:
        # lazy: the core when a command runs, not when the parser is built
        import pwd

        if shell := pwd.getpwuid(os.getuid()).pw_shell:
            return shell, "the passwd entry"
    except (ImportError, KeyError):
        pass
    return "/bin/sh", "the default"


def cmd_shell(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.doors import children
    from profiles.output.environment import NEST_MARKER
    from tui.cli.child import spawn

    if os.environ.get(NEST_MARKER) and not ns.nest:
        raise UsageError(f"already inside a rolecall shell for {os.environ[NEST_MARKER]!r}",
                         fix="exit that shell first, or pass --nest to open one inside it")
    ws, session = common.session(ns)
    shell, origin = _shell()
    print(f"rolecall: shell with {shown(ns.role)} ({shown(session.arn)}); exit to return",
          file=sys.stderr)
    return spawn([shell], children.environ(ws.environment(ns.role, session)),
                 f"the shell {shell!r} (from {origin})",
                 "set SHELL to an installed shell, e.g. SHELL=/bin/sh")


def cmd_write(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.output.credfile import check_name

    check_name(ns.as_name or ns.role)
    ws, session = common.session(ns)
    path = ws.write(ns.role, session, ns.as_name, force=ns.force)
    print(f"wrote profile [{shown(ns.as_name or ns.role)}] to {shown(path)} "
          f"(expires {shown(_iso(session.expires_at))})")
    return 0


def register(commands: Commands) -> None:
    commands.add("list", cmd_list, "every role with its chain and session",
                 role=False).add_argument("--json", action="store_true")
    p = commands.add("assume", cmd_assume, "get credentials for every hop; print ARN and expiry")
    common.assume_flags(p)
    p.add_argument("--json", action="store_true")
    p = commands.add("env", cmd_env, "print the environment for eval")
    p.add_argument("--format", "-f", choices=FORMATS, default="sh")
    p.add_argument("--server", action="store_true", help="the variables for the running "
                   "`rolecall serve` endpoint instead of the credentials")
    common.assume_flags(p)
    p = commands.add("exec", cmd_exec, "run CMD with the credentials; exits with CMD's status "
                     "(127: not found, 126: cannot run)", takes_command=AFTER_ROLE)
    common.assume_flags(p)
    p.add_argument("--server", action="store_true", help="serve the role on a loopback "
                   "endpoint that renews it; CMD gets its URL and token, never the keys")
    p.usage = "rolecall exec [--server] ROLE [OPTIONS] [--] CMD [ARGS ...]"
    p = commands.add("shell", cmd_shell, "interactive subshell with the credentials")
    common.assume_flags(p)
    p.add_argument("--nest", action="store_true", help="allow a shell inside a rolecall shell")
    p = commands.add("write", cmd_write, "write the profile to the shared credentials file")
    p.add_argument("--as", dest="as_name", metavar="NAME", help="profile name (default: ROLE)")
    p.add_argument("--force", action="store_true", help="replace a section rolecall did not write")
    common.assume_flags(p)
    commands.add("process", cmd_process, "credential_process output for the AWS CLI and SDKs")
