"""Commands that explain trust: ``doctor`` (why a role can or cannot be assumed) and
``lint`` (trust-policy mistakes as findings); see docs/architecture.md, Doctor and lint."""

from __future__ import annotations

import argparse
import sys

from profiles.doors.terminal import shown
from profiles.errors import UsageError
from tui.cli import common
from tui.cli.parser import Commands

MARK = {"pass": "pass", "fail": "FAIL", "unknown": "unknown"}
LEVELS = ("info", "warn", "high", "critical")  # profiles.trust.lint.LEVELS, unimported here


def cmd_doctor(ns: argparse.Namespace) -> int:
    # lazy: the trust evaluator (and botocore) only when doctor or lint runs
    from profiles.trust.doctor import NOT_MODELLED, diagnose

    ws = common.workspace()
    report = diagnose(ws, ns.role, trust_policy=ns.trust_policy, duration=ns.duration,
                      clock=ws.clock)
    if ns.json:
        common.dump(report.to_json())
        return report.exit_code
    # Names, ARNs and policy text come from shared files and AWS: each through the door.
    print(f"{shown(report.role)}: {shown(report.verdict)}")
    for number, hop in enumerate(report.hops, 1):
        print(f"\nhop {number:d}/{len(report.hops)}  {shown(hop.role)}  {shown(hop.role_arn)}: "
              f"{shown(hop.verdict)}")
        if hop.caller:
            print(f"  caller  {shown(hop.caller)}")
        for check in hop.checks:
            print(f"  {shown(MARK[check.result]):8} {shown(check.check):12} "
                  f"{shown(check.detail)}")
            if check.fix and check.result != "pass":
                print(f"  {'':8} {'':12} fix: {shown(check.fix)}")
    print("\nnot evaluated (unknown): " + ", ".join(
        NOT_MODELLED[c.check] for c in report.not_evaluated))
    return report.exit_code


def cmd_lint(ns: argparse.Namespace) -> int:
    # lazy: the trust evaluator (and botocore) only when doctor or lint runs
    from profiles.config import snapshot
    from profiles.durations import parse_duration
    from profiles.trust import lint
    from profiles.trust.source import read_policy_file

    if not ns.files and not ns.role and not ns.registry:
        raise UsageError("nothing to lint",
                         fix="rolecall lint FILE ... | --role ROLE ... | --registry NAME ...")
    minimum = parse_duration(ns.min_duration, "--min-duration") if ns.min_duration else None
    sources = [read_policy_file(path) for path in ns.files]  # bad input first: exit 2
    inventory = snapshot.load()
    if ns.registry:
        # lazy: registries' policies only for --registry
        from profiles.registries import policies

        for name in ns.registry:
            found = policies.sources(inventory, name)
            if not found:
                print(f"rolecall: note: registry {shown(name)} names no trust policies",
                      file=sys.stderr)
            sources += found
    known = lint.known_accounts(inventory)
    if ns.role:
        # lazy: the trust evaluator (and botocore) only when doctor or lint runs
        from profiles.trust import gather

        for name in ns.role:
            inventory.role(name)  # an unknown role is bad input
        gatherer = gather.Gatherer(common.workspace())
        sources += [gather.role_source(gatherer, name) for name in ns.role]
        known |= gather.organization_accounts(gatherer)
    findings = [f for s in sources for f in lint.lint(
        s.policy, s.label, known_accounts=known, max_session=s.max_session,
        min_duration=minimum)]
    if ns.json:
        common.dump({"findings": [f.to_json() for f in findings]})
    else:
        for f in findings:
            where = "" if f.statement is None else f": statement {f.statement}"
            print(shown(f"{f.source}{where}: {f.level} {f.id}: {f.detail}"))
            print(f"  fix: {shown(f.fix)}")
    return 1 if lint.worst(findings) >= LEVELS.index(ns.fail_on) else 0


def register(commands: Commands) -> None:
    p = commands.add("doctor", cmd_doctor, "explain, hop by hop, whether ROLE can be assumed "
                     "and why not (exit 0 allowed, 1 denied, 3 unknown)")
    p.add_argument("--trust-policy", metavar="FILE",
                   help="evaluate ROLE's trust policy from FILE (JSON, or get-role output)")
    p.add_argument("--duration", help="the session length to check: seconds or 1h, 2h30m")
    p.add_argument("--json", action="store_true")
    p = commands.add("lint", cmd_lint, "trust-policy findings RC101-RC110 with fixes (exit 1 "
                     "at or above --fail-on)", role=False)
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="trust policy JSON files (or get-role output; - for stdin)")
    p.add_argument("--role", action="append", default=[], metavar="ROLE",
                   help="lint a configured role's own trust policy (repeatable)")
    p.add_argument("--registry", action="append", default=[], metavar="NAME",
                   help="lint the trust policies a registry's roles name (repeatable)"
                   ).complete = "registries"  # type: ignore[attr-defined]
    p.add_argument("--fail-on", choices=LEVELS, default="high",
                   help="exit 1 when a finding is at or above this level (default high)")
    p.add_argument("--min-duration", metavar="D",
                   help="flag MaxSessionDuration below D (RC108), e.g. 90m")
    p.add_argument("--json", action="store_true")
