"""``rolecall audit``: the journal of what rolecall assumed, and (``--cloudtrail``) who
assumed a role according to CloudTrail, each event ``known`` to the journal or not
(see docs/architecture.md, Audit and journal)."""

from __future__ import annotations

import argparse
import sys

from profiles.doors.terminal import shown
from profiles.errors import UsageError
from tui.cli import common
from tui.cli.parser import Commands


def _account(ws, account_id: str) -> str:
    return ws.inventory.account(account_id).alias or account_id


def _result(entry) -> str:
    return entry.result if entry.result == "ok" else f"{entry.result} ({entry.error_code})"


def journal(ns: argparse.Namespace) -> int:
    # lazy: the core (and botocore) when audit runs, not when the parser is built
    from profiles.ops import audit

    ws = common.workspace()
    since = audit.parse_since(ns.since, ws.clock()) if ns.since else None
    found = audit.entries(ws, since=since, role=ns.role, account=ns.account)
    if ns.json:
        common.dump({"entries": [audit.entry_json(e) for e in found]})
        return 0
    if not found:
        print("no journal entries" + (f" since {shown(ns.since)}" if ns.since else "")
              + (f" for {shown(ns.role)}" if ns.role else ""))
        return 0
    rows = [("TIME (UTC)", "ACTION", "ROLE", "ACCOUNT", "SESSION NAME", "RESULT", "VIA")]
    rows += [(e.time, e.action, e.role, _account(ws, e.account_id), e.session_name or "-",
              _result(e), e.via) for e in found]
    sys.stdout.write(common.table(rows))
    return 0


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn or "-"


def cloudtrail(ns: argparse.Namespace) -> int:
    # lazy: the core (and botocore) when audit runs, not when the parser is built
    from profiles.ops import audit

    ws = common.workspace()
    since = audit.parse_since(ns.since, ws.clock()) if ns.since else None
    trail = audit.cloudtrail(ws, role=ns.role, account=ns.account, since=since,
                             regions=tuple(ns.region or ()),
                             mfa_code=common.mfa_codes(ns.mfa_code))
    if trail.read:
        if ns.json:
            common.dump({"events": [e.to_json() for e in trail.events]})
        elif trail.events:
            rows = [("TIME (UTC)", "ACCOUNT", "ROLE", "SESSION NAME", "CALLER", "SOURCE IP",
                     "RESULT", "KNOWN")]
            rows += [(e.time, _account(ws, e.account_id), _role_name(e.role_arn),
                      e.session_name or "-", e.caller_arn or "-", e.source_ip or "-",
                      e.error_code or "ok", "yes" if e.known else "NO") for e in trail.events]
            sys.stdout.write(common.table(rows))
        if not ns.json:
            unknown = sum(not e.known for e in trail.events)
            where = ", ".join(f"{_account(ws, a)} ({r}) through {via}"
                              for a, r, via in trail.read)
            print(f"{len(trail.events)} AssumeRole events, {unknown:d} not in this machine's "
                  f"journal; read in {shown(where)}")
    for note in trail.notes:
        print(f"rolecall: note: {shown(note)}", file=sys.stderr)
    for failure in trail.failures:
        print(f"rolecall: {shown(failure.message)}", file=sys.stderr)
        if failure.fix:
            print(f"  fix: {shown(failure.fix)}", file=sys.stderr)
    return 1 if trail.failures else 0


def cmd_audit(ns: argparse.Namespace) -> int:
    if ns.cloudtrail:
        return cloudtrail(ns)
    for flag, given in (("--region", ns.region), ("--mfa-code", ns.mfa_code)):
        if given:
            raise UsageError(f"{flag} is for --cloudtrail",
                             fix=f"rolecall audit --cloudtrail {flag} ...")
    return journal(ns)


def register(commands: Commands) -> None:
    p = commands.add("audit", cmd_audit, "what rolecall assumed (its journal), newest first; "
                     "--cloudtrail: who assumed a role, from CloudTrail", role=False)
    p.add_argument("--since", metavar="D", help="only since D: a duration back (90m, 24h, "
                   "7d) or a UTC time; --cloudtrail's default is 24h")
    p.add_argument("--role", metavar="ROLE", help="only this role")
    p.add_argument("--account", metavar="ID|ALIAS", help="only this account")
    p.add_argument("--cloudtrail", action="store_true",
                   help="LookupEvents (AssumeRole) in each target account, through the role "
                   "or the account's audit_role; each event known to the journal or not")
    p.add_argument("--region", action="append", metavar="REGION",
                   help="with --cloudtrail: the region(s) to read (default: the reading "
                   "role's, else AWS_REGION, else us-east-1)")
    p.add_argument("--mfa-code", action="append", metavar="[SERIAL=]CODE",
                   help="with --cloudtrail: the MFA code the reading role's chain needs")
    p.add_argument("--json", action="store_true")
