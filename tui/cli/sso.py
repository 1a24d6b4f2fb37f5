"""IAM Identity Center and Organizations (see docs/architecture.md, IAM Identity Center;
Console, discovery and long-lived keys): ``sso login|logout|sync|status|populate`` and
``discover``.

``sso login`` signs in in the browser where one can open here, else (or with
``--device-code``) with a device code, whose URL and code it shows on stderr (``signing``
says which and what), then lists the session's roles if they were never listed or are
older than ``sso_ttl``; ``list`` does the same for every session whose listing is stale
and whose login still holds. Progress shows on a terminal only. ``populate`` is in its
own module.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from profiles.doors.terminal import block, shown
from profiles.errors import AwsError, RolecallError, UsageError
from tui.cli import common, populate
from tui.cli.parser import Commands, Parser, _Subcommands


def _say(*lines: str) -> None:
    """Lines on stderr, each through the terminal door (a portal's answer, a session's
    name): a line break inside one is spelled out, never a line of its own."""
    print(*[shown(line) for line in lines], sep="\n", file=sys.stderr, flush=True)


def _display() -> bool:
    """Whether a browser can open a window here (a terminal, and a desktop)."""
    if not sys.stderr.isatty():
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _show(browser: bool):
    def show(prompt) -> None:
        minutes = max(1, int(prompt.expires_at - time.time()) // 60)
        _say(f"rolecall: sign in to IAM Identity Center ({prompt.session}): open",
             f"  {prompt.url}",
             f"  and check that the page shows the code {prompt.code} "
             f"(it expires in {minutes} minutes)")
        if browser and _display() and prompt.url.startswith("https://"):
            # lazy: the browser child only when a browser may open
            from profiles.estate.browser import open_url

            open_url(prompt.url, settle=0)  # the URL is printed: opening is a courtesy
    return show


class _Progress:
    """A Rich progress bar on a terminal's stderr; nothing otherwise."""

    def __init__(self, session: str) -> None:
        self.session = session
        self.bar = None
        self.task = None

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            # lazy: Rich only on a terminal
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                MofNCompleteColumn(), console=Console(stderr=True),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task(f"listing {shown(self.session)}", total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _sync(ws, session) -> dict:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import discovery

    started = time.monotonic()
    with _Progress(session.name) as progress:
        found, lister = discovery.run(ws.inventory, ws.cache, session, progress=progress)
    return {"session": session.name, "accounts": len(found.accounts),
            "roles": found.role_count, "calls": lister.calls, "throttled": lister.throttled,
            "seconds": round(time.monotonic() - started, 2)}


def _listed(result: dict) -> None:
    _say(f"rolecall: {result['session']}: {result['roles']} roles in {result['accounts']} "
         f"accounts ({result['calls']} calls, {result['seconds']}s)")


def refreshed(ws):
    """``ws``, or a new workspace when a stale SSO listing was refreshed (``list``);
    a session that cannot be refreshed (not logged in) is a note."""
    sessions = ws.inventory.sso_sessions
    if not sessions:
        return ws
    # lazy: `list` without SSO sessions imports none of this
    from profiles.estate import discovery
    from profiles.workspace import Workspace

    synced = False
    for session in discovery.stale(sessions, ws.inventory.settings.sso_ttl, time.time()):
        try:
            _listed(_sync(ws, session))
            synced = True
        except RolecallError as exc:
            what = "never listed" if session.synced_at is None else "not listed again"
            _say(f"rolecall: note: the roles of IAM Identity Center session "
                 f"'{session.name}' are {what}: {exc.message}",
                 *[f"  fix: {line}" for line in (exc.fix or "").split("\n") if line])
    return Workspace(via=ws.engine.via) if synced else ws


def cmd_login(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import discovery, signin, sso
    from profiles.estate.tokens import TokenStore, stamp
    from tui.cli import signing

    ws = common.workspace(prompt=False)
    session = sso.resolve(ws.inventory, ns.session)
    store = TokenStore.of(ws.cache)
    if store.memory_only and not ns.share:
        _say("rolecall: note: no secure keyring: this login lasts for this command only",
             "  fix: pass --share to keep it in the AWS CLI's cache, or start a Secret "
             "Service")
    kind = signin.method(session, ns.device_code)
    if kind == "device" and not (ns.device_code or session.legacy):
        signing.say("rolecall: note: no browser can open here (an SSH session, or no "
                    "display): signing in with a device code")
    flow = signing.flow(kind, _show(not ns.no_browser), browser=not ns.no_browser)
    token, _ = signin.sign_in(session, store, flow, say=lambda text: signing.say(
        f"rolecall: {text}"))
    print(f"logged in to {shown(session.name)} (until {shown(stamp(token.expires_at))})")
    if ns.share:
        print(f"shared with the AWS CLI and SDKs: {shown(sso.share(session, token))}")
    stale = discovery.stale({session.name: session}, ws.inventory.settings.sso_ttl,
                            time.time())
    if not ns.no_sync and (ns.sync or stale):
        _listed(_sync(ws, session))
    return 0


def cmd_logout(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import sso, tokens
    from profiles.estate.tokens import TokenStore

    ws = common.workspace(prompt=False)
    if ns.all and ns.session:
        raise UsageError("name a session or pass --all", fix="rolecall sso logout [NAME | --all]")
    chosen = list(ws.inventory.sso_sessions.values()) if ns.all else \
        [sso.resolve(ws.inventory, ns.session)]
    store = TokenStore.of(ws.cache)
    for session in chosen:
        removed = sso.logout(session, store)
        print(f"logged out of {shown(session.name)}" if removed
              else f"{shown(session.name)} was not logged in with rolecall")
        if tokens.read_cli_cache(session) is not None:
            _say(f"rolecall: note: the AWS CLI's own login for '{session.name}' remains in "
                 f"{tokens.cli_cache_file(session)}", "  fix: `aws sso logout` removes it")
    if chosen:
        _say("rolecall: note: role sessions already issued stay valid until they expire",
             "  fix: `rolecall forget ROLE` (or --all) drops them from the keyring")
    return 0


def cmd_sync(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import sso

    ws = common.workspace(prompt=False)
    chosen = [sso.resolve(ws.inventory, ns.session)] if ns.session else \
        list(ws.inventory.sso_sessions.values())
    if not chosen:
        sso.resolve(ws.inventory, None)  # says there is none, and how to add one
    results = [_sync(ws, session) for session in chosen]
    if ns.json:
        common.dump({"sessions": results})
    else:
        for result in results:
            _listed(result)
    return 0


def cmd_status(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate.tokens import TokenStore, read_cli_cache, stamp

    ws = common.workspace(prompt=False)
    store = TokenStore.of(ws.cache)
    now = time.time()
    out = []
    for session in ws.inventory.sso_sessions.values():
        token = store.token(session.name) or read_cli_cache(session)
        left = int(token.expires_at - now) if token else 0
        out.append({
            "session": session.name, "start_url": session.start_url,
            "region": session.region, "logged_in": left > 0,
            "login": None if token is None else
            "rolecall" if token.source == "keyring" else "aws-cli",
            "expires_at": stamp(token.expires_at) if token else None,
            "seconds_left": max(0, left), "roles": session.roles,
            "listed_at": stamp(session.synced_at) if session.synced_at else None})
    if ns.json:
        common.dump(out)
        return 0
    if not out:
        print("no IAM Identity Center sessions in the AWS config")
        return 0
    rows = [("SESSION", "LOGIN", "ROLES", "LISTED")]
    for s in out:
        login = "-" if s["login"] is None else \
            f"{s['login']}, {common.left(s['seconds_left'])}"
        rows.append((s["session"], login, str(s["roles"]), s["listed_at"] or "never"))
    sys.stdout.write(common.table(rows, right=(2,)))
    return 0


def cmd_discover(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.estate import organizations as org
    from profiles.sessions import sts

    role_name = org.check_role_name(ns.role_name)
    ws = common.workspace()
    inv = ws.inventory
    source = ns.source or os.environ.get("AWS_PROFILE") or "default"
    if source in inv.roles:
        result = ws.assume(source)
        common.notes(result)
        creds = result.session.credentials
        assert creds is not None
        keys = (creds.access_key_id, creds.secret_access_key, creds.session_token)
        region = inv.roles[source].region
    elif source in inv.bases:
        base = inv.bases[source]
        frozen = sts.base_credentials(inv, base, source, base.region)
        keys, region = (frozen.access_key, frozen.secret_key, frozen.token), base.region
    else:
        inv.role(source)  # unknown: the usual message
        raise UsageError(f"--source {source!r} is neither a role nor a profile")
    accounts = org.list_accounts(keys, sts.default_region(region))
    if not accounts:  # an organization has one account at least: its management account
        raise AwsError(f"Organizations listed no account through {source!r}: it is in no "
                       "organization", fix="use --source with a role in the organization's "
                       "management (or a delegated administrator) account")
    proposals = org.propose(inv, accounts, role_name, source)
    fresh = [p for p in proposals if p.known is None]
    catalog = inv.catalog_file
    assert catalog is not None
    if ns.write:
        added = org.write(catalog, proposals)
        print(f"added {added:d} roles to {shown(catalog)} "
              f"({len(proposals) - len(fresh)} already configured)")
        return 0
    if fresh:
        sys.stdout.write(block(org.render(proposals, org.tables(catalog))))
    _say(f"rolecall: {len(proposals)} active accounts: {len(fresh)} new roles, "
         f"{len(proposals) - len(fresh)} already configured"
         + ("; --write adds them to the catalog" if fresh else ""))
    return 0


def register(commands: Commands) -> None:
    p = commands.add("sso", cmd_status, "IAM Identity Center: log in, "
                     "list every account and role, log out", role=False)
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="sso_command", metavar="SUBCOMMAND", parser_class=Parser,
                           action=_Subcommands)

    def add(name: str, func, text: str) -> Parser:
        q = sub.add_parser(name, help=text, description=text)
        q.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        q.set_defaults(func=func)
        return q

    q = add("login", cmd_login, "sign in (in the browser, or with a device code) and list "
            "the roles")
    q.add_argument("session", metavar="SESSION", nargs="?",
                   help="an [sso-session] name, or a profile that uses one")
    q.add_argument("--share", action="store_true",
                   help="also write the AWS CLI's ~/.aws/sso/cache file (the AWS CLI and "
                   "SDKs then use this login)")
    q.add_argument("--no-browser", action="store_true", help="print the URL only")
    q.add_argument("--device-code", action="store_true",
                   help="sign in with a device code (from another device), not in a browser "
                   "here (chosen by itself where no browser can open)")
    q.add_argument("--sync", action="store_true", help="list the roles even if fresh")
    q.add_argument("--no-sync", action="store_true", help="do not list the roles")
    q = add("logout", cmd_logout, "sign out and drop the token from the keyring")
    q.add_argument("session", metavar="SESSION", nargs="?")
    q.add_argument("--all", action="store_true", help="every session")
    q = add("sync", cmd_sync, "list every account and role again (at most 10 calls/s)")
    q.add_argument("session", metavar="SESSION", nargs="?")
    q.add_argument("--json", action="store_true")
    q = add("status", cmd_status, "each session's login and listed roles")
    q.add_argument("--json", action="store_true")
    populate.register(add)
    p = commands.add("discover", cmd_discover, "propose a catalog role per account of the "
                     "organization (Organizations ListAccounts)", role=False)
    p.add_argument("--role-name", required=True, metavar="NAME",
                   help="the role to reach in each account")
    p.add_argument("--source", metavar="ROLE",
                   help="the role or profile to list the organization with (default: "
                   "$AWS_PROFILE, else default)")
    p.add_argument("--write", action="store_true",
                   help="add the new roles to the catalog (comments and entries kept)")
