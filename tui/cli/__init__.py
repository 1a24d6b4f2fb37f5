"""The command line: every TUI action as a command, for scripts and CI (see docs/architecture.md,
Command-line contract).

Failures print one ``rolecall: ...`` line (and fixes) on stderr: exit 2 for bad usage
or input, 1 for a failed AWS or keyring operation; ``exec`` and ``shell`` give 127 or
126 when the child cannot start. ``--debug`` shows tracebacks. This module and
``fast`` import only the standard library: ``rolecall process ROLE`` on a cache hit
never loads the parser. Commands live in one module per group (``roles``,
``sessions``, ``app``), registered in ``parser``.
"""

import sys

PROG = "rolecall"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args[:args.index("--")] if "--" in args else "--debug" in args
    try:
        status = None
        if args and args[0] in ("process", "env", "exec", "keys"):
            # lazy: the hot path: the parser and the core are never imported on a hit
            from tui.cli.fast import try_fast

            status = try_fast(args)
        elif args and args[0] == "prompt":
            # lazy: a prompt runs this on every line: no parser, no core
            from tui.cli.shell_prompt import fast as prompt_line

            status = prompt_line(args)
        elif args and args[0] == "eks":
            # lazy: kubectl runs `eks token` for every command: a cached token needs no parser
            from tui.cli.eks import fast as eks_token

            status = eks_token(args)
        if status is None:
            # lazy: argparse and every command module only when the fast path did not answer
            from tui.cli.parser import parse

            ns = parse(args)
            status = ns.func(ns)
        sys.stdout.flush()
        return status
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError as exc:
        if _stdout_gone():  # the reader left (`rolecall list | head -1`): nothing to say
            _discard_stdout()
            return 141
        return _report(exc)
    except Exception as exc:  # noqa: BLE001 - the one place errors reach the user
        if debug:
            # lazy: error paths only: kept off the hot path
            import traceback

            traceback.print_exc()
        return _report(exc)


def _report(exc: Exception) -> int:
    """One ``rolecall: ...`` line (and ``  fix: ...`` lines) for ``exc``; its exit status."""
    # lazy: error paths only: kept off the hot path
    from profiles.doors.terminal import shown
    from profiles.errors import RolecallError

    if isinstance(exc, RolecallError):
        message, fix, code = exc.message, exc.fix, exc.exit_code
    elif isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start:exc.end] if isinstance(exc.object, str) else "?"
        message, code = f"cannot show {bad!r} in the {exc.encoding} encoding", 2
        fix = "use a UTF-8 locale (e.g. LANG=C.UTF-8), or --json"
    elif isinstance(exc, OSError):
        # lazy: error paths only: kept off the hot path
        import errno

        message, fix, code = f"{exc.strerror or exc}", None, 1
        if exc.filename:
            message += f": {exc.filename}"
        elif exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EPIPE):
            message = f"cannot write the output: {message}"
        try:
            sys.stdout.flush()
        except OSError:
            _discard_stdout()
    else:
        message, code = f"internal error: {type(exc).__name__}: {exc}", 1
        fix = "run again with --debug and report the traceback"
    # Every part through the terminal door: a message may quote a file name, an AWS
    # answer or a name from a shared config. A fix's own lines stay lines.
    print(f"{PROG}: {shown(message)}",
          *[f"  fix: {shown(line)}" for line in (fix or "").split("\n") if line],
          sep="\n", file=sys.stderr)
    return code


def _stdout_gone() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone."""
    # lazy: error paths only: kept off the hot path
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _discard_stdout() -> None:
    """Drop what is still buffered for a stdout that cannot take it (a closed pipe, a full
    disk), so the interpreter's exit does not fail on it again."""
    # lazy: error paths only: kept off the hot path
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
