"""``rolecall sso populate [SESSION] [--template T] [--prune] [--dry-run]``: a profile in
the AWS config file for every role discovery found, each ``credential_process =
rolecall process ROLE``, in a managed block per session. A session whose listing is
stale is listed again first when its login holds; ``--dry-run`` prints the diff (any
secret the file holds masked) and writes nothing."""

from __future__ import annotations

import argparse
import shutil
import time

from profiles.doors.terminal import shown
from tui.cli import common
from tui.cli.signing import say


def _listed(ws, chosen: list, explicit: bool) -> list:
    """The chosen sessions with a listing (stale ones listed again when possible)."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles.errors import RolecallError
    from profiles.estate import discovery
    from tui.cli.sso import _listed as said
    from tui.cli.sso import _sync

    ready = []
    stale = {s.name for s in discovery.stale({s.name: s for s in chosen},
                                             ws.inventory.settings.sso_ttl, time.time())}
    for session in chosen:
        if session.name in stale:
            try:
                said(_sync(ws, session))
            except RolecallError as exc:
                if session.synced_at is None:
                    if explicit:
                        raise
                    say(f"rolecall: note: skipped sso-session {session.name}: its roles were "
                        f"never listed ({exc.message})", f"  fix: {exc.fix}")
                    continue
                say(f"rolecall: note: sso-session {session.name}: using the roles listed "
                    f"at {time.strftime('%Y-%m-%d %H:%M', time.localtime(session.synced_at))}"
                    f" ({exc.message})")
        ready.append(session.name)
    return ready


def cmd_populate(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.config.sso_roles import check_template
    from profiles.estate import populate, sso
    from profiles.output import awsconfig

    ws = common.workspace(prompt=False)
    if ns.template is not None:
        check_template(ns.template, "--template")
    chosen = [sso.resolve(ws.inventory, ns.session)] if ns.session else \
        list(ws.inventory.sso_sessions.values())
    if not chosen:
        sso.resolve(ws.inventory, None)  # says there is none, and how to add one
    ready = _listed(ws, chosen, explicit=ns.session is not None)
    inv = common.workspace(prompt=False).inventory if ready else ws.inventory
    for name in ready:
        plan = populate.plan(inv, inv.sso_sessions[name], ns.template)
        outcome = awsconfig.populate(inv.config_file, name, plan.wanted, prune=ns.prune,
                                     dry_run=ns.dry_run)
        _report(name, plan, outcome, ns.dry_run)
    if ready and not ns.dry_run and shutil.which("rolecall") is None:
        say("rolecall: note: `rolecall` is not on PATH here, and the AWS CLI and SDKs run "
            "credential_process through PATH",
            "  fix: install rolecall with pipx or uv tool, or add its directory to PATH")
    return 0


def _report(session: str, plan, outcome, dry: bool) -> None:
    for line in outcome.diff if dry else ():
        print(shown(line.rstrip("\r\n")))
    counts = (f"{len(outcome.added)} added, {len(outcome.updated)} updated, "
              f"{len(outcome.removed)} removed, {len(outcome.kept)} unchanged")
    where = shown(str(outcome.path))
    if dry:
        say(f"rolecall: dry run: sso-session {session}: {counts} in {where}; nothing written")
    else:
        print(f"sso-session {shown(session)}: {counts} in {where}")
    for role, why in plan.skipped:
        say(f"rolecall: note: skipped role {role!r}: {why}")
    if plan.skipped:
        say("  fix: rename your profile, or name rolecall's with --template (fields "
            "{account_alias} {account_id} {account_name} {role_name} {sso_session})")
    if outcome.unlisted:
        names = ", ".join(outcome.unlisted[:5]) + (", ..." if len(outcome.unlisted) > 5 else "")
        say(f"rolecall: note: {len(outcome.unlisted)} profiles of sso-session {session} name "
            f"roles no longer listed ({names})", "  fix: --prune removes them")


def register(add) -> None:
    """``sso populate``, added with the ``sso`` group's ``add``."""
    q = add("populate", cmd_populate, "write a profile (credential_process = rolecall "
            "process ROLE) for every discovered role into the AWS config file")
    q.add_argument("session", metavar="SESSION", nargs="?",
                   help="one sso-session (default: every session)")
    q.add_argument("--template", metavar="T", help="profile names, e.g. "
                   "'{account_alias}-{role_name}' (default: the role's own name)")
    q.add_argument("--prune", action="store_true",
                   help="remove the profiles of roles discovery no longer lists")
    q.add_argument("--dry-run", action="store_true", help="show the diff; write nothing")
