"""``rolecall run``: one command across many roles, each target in its own process with
only its own credentials (see docs/architecture.md, Run across accounts). What it shows lives in
``run_view``.

Exit status: 0 when every target is ok; 1 when any failed, timed out, could not be
assumed or was skipped; 2 for bad usage (nothing ran); 128 + N when signal N (Ctrl-C:
SIGINT, 130; a CI runner's SIGTERM, 143) stopped the run, after the children were
stopped and the summary printed.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import threading

from profiles.errors import UsageError
from tui.cli import common
from tui.cli.parser import AFTER_DASHES, Commands

REASONS = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "rolecall got SIGTERM",
           **({signal.SIGHUP: "the terminal hung up (SIGHUP)"} if hasattr(signal, "SIGHUP")
              else {})}


def _positive(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise UsageError(f"{what} must be a whole number of 1 or more, not {text!r}",
                         fix=f"e.g. {what} 8")
    return int(text)


def _timeout(text: str | None) -> float | None:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.durations import parse_duration

    if text is None:
        return None
    seconds = parse_duration(text, "--timeout")
    if seconds < 1:
        raise UsageError("--timeout must be at least 1 second", fix="e.g. --timeout 30m")
    return float(seconds)


def _codes(ns: argparse.Namespace, targets) -> dict[str, str]:
    """Every MFA code any target needs, asked once each, before anything runs."""
    # lazy: the core when a command runs, not when the parser is built
    from profiles.ops.run import targets as run_targets
    from profiles.sessions.plan import check_mfa_code
    from tui.cli import prompt as terminal

    codes = run_targets.given_codes(targets, common.mfa_codes(ns.mfa_code))
    for serial, role in run_targets.mfa_needed(targets):
        if serial not in codes:
            codes[serial] = check_mfa_code(terminal.mfa_code(serial, role))
    return codes


def drive(runner) -> int | None:
    """Run until every target is done. The first SIGINT, SIGTERM or SIGHUP stops the
    run (children get SIGTERM, then SIGKILL after the grace), a second kills them now.
    Returns the first signal caught, if any."""
    caught: list[int] = []
    saved = {}
    if threading.current_thread() is threading.main_thread():
        for sig in REASONS:
            saved[sig] = signal.signal(sig, lambda signum, _frame: caught.append(signum))
    try:
        runner.start()
        handled = 0
        while not runner.wait(0.1):
            if len(caught) > handled:
                if handled == 0:
                    runner.stop(REASONS[caught[0]])
                else:
                    runner.kill()
                handled = len(caught)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return caught[0] if caught else None


def cmd_run(ns: argparse.Namespace) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.ops.run import targets as run_targets
    from profiles.ops.run.executor import Runner
    from profiles.ops.run.results import summary_json
    from tui.cli import run_view

    if not ns.cmd:
        raise UsageError("no command given",
                         fix="rolecall run TARGET ... -- CMD [ARGS ...] (CMD after --)")
    common.require(hasattr(os, "killpg") and hasattr(select, "poll"), "run",
                   "POSIX process groups (to stop each target's whole command)")
    parallel = _positive(ns.parallel, "--parallel")
    timeout = _timeout(ns.timeout)
    ws = common.workspace(prompt=False, via="run")
    names = run_targets.select(ws.inventory, ns.targets, ns.tag, ns.account)
    targets = run_targets.prepare(ws, names, ns.cmd, cwd=ns.cwd, duration=ns.duration,
                                  session_name=ns.session_name)
    codes = _codes(ns, targets)
    runner = Runner(ws, targets, ns.cmd, parallel=parallel, fail_fast=ns.fail_fast,
                    timeout=timeout, codes=codes,
                    options={"duration": ns.duration, "session_name": ns.session_name,
                             "refresh": ns.refresh})
    view = run_view.View(runner.results, ns.output, ns.json)
    runner.events = view
    try:
        caught = drive(runner)
    finally:
        view.close()
    common.notes(runner)  # the engine's notes (a keyring notice, a clock skew), once each
    if ns.json:
        common.dump(summary_json(runner.results))
    else:
        run_view.summary(runner.results, sys.stdout)
    run_view.report(runner.results, sys.stderr)
    if caught:
        return 128 + caught
    return 0 if all(r.ok for r in runner.results) else 1


def register(commands: Commands) -> None:
    p = commands.add("run", cmd_run, "run CMD once per target role, in parallel, each in its "
                     "own process with only its own credentials", role=False,
                     takes_command=AFTER_DASHES)
    p.usage = ("rolecall run [TARGET ...] [--tag T] [--account ID|ALIAS] [--parallel N] "
               "[--fail-fast] [--cwd TEMPLATE] [--timeout D] [--output prefix|grouped|quiet] "
               "[--json] -- CMD [ARGS ...]")
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="role names or shell globs over them (quoted: '*-deploy')")
    p.add_argument("--tag", action="append", default=[], metavar="T",
                   help="every role in an account the catalog tags T")
    p.add_argument("--account", action="append", default=[], metavar="ID|ALIAS",
                   help="every role in this account")
    p.add_argument("--parallel", default="8", metavar="N",
                   help="targets at a time (default 8; 1 runs them one after another)")
    p.add_argument("--fail-fast", action="store_true",
                   help="after the first failure start nothing new and stop the running ones")
    p.add_argument("--cwd", metavar="TEMPLATE",
                   help="each target's directory: {role}, {account_id}, {account_alias}")
    p.add_argument("--timeout", metavar="D", help="stop a target's command after D (30m, 1h)")
    p.add_argument("--output", choices=("prefix", "grouped", "quiet"), default="prefix",
                   help="[ROLE] line (default), each target whole in order, or only the summary")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--duration", help="session length: seconds or 15m, 1h, 2h30m")
    p.add_argument("--session-name", metavar="NAME",
                   help="RoleSessionName or a template such as deploy-{git_sha}")
    p.add_argument("--mfa-code", action="append", metavar="[SERIAL=]CODE",
                   help="an MFA device's current code (SERIAL=CODE once per device); "
                   "otherwise each code is asked once on the terminal")
    p.add_argument("--refresh", action="store_true", help="ignore the cache; new sessions")
