"""The command line: every TUI action as a command, for scripts and CI (DESIGN §3).

Failures print one ``rolecall: ...`` line (and a fix) on stderr: exit 2 for bad usage
or input, 1 for a failed AWS or keyring operation. ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys
import time

PROG = "rolecall"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        if args and args[0] in ("process", "env", "exec"):
            from tui.cli.fast import try_fast

            status = try_fast(args)
            if status is not None:
                return status
        return _run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place errors reach the user
        from profiles.errors import RolecallError

        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, RolecallError):
            print(f"{PROG}: {exc}", file=sys.stderr)
            return exc.exit_code
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc}\n"
              "  fix: run again with --debug and report the traceback", file=sys.stderr)
        return 1


def _run(args: list[str]) -> int:
    from tui.cli import commands

    parser = commands.build_parser()
    ns = parser.parse_args(args)
    if ns.command is None:
        return commands.cmd_tui(ns)
    return ns.func(ns)


def now() -> float:
    return time.time()
