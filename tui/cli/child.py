"""Running a child the way env(1) does: its exit status is the child's, 127 when the
command is not found, 126 when it cannot run. Standard library only (the fast path's)."""

from __future__ import annotations

import os
import sys


def cannot_run(what: str, exc: BaseException, fix: str) -> int:
    """Report a child that did not start: 127 when not found, 126 otherwise (as env(1))."""
    missing = isinstance(exc, FileNotFoundError | NotADirectoryError)
    reason = "command not found" if missing else getattr(exc, "strerror", None) or str(exc)
    print(f"rolecall: cannot run {what}: {reason}\n  fix: {fix}", file=sys.stderr)
    return 127 if missing else 126


def execute(command: list[str], env: dict[str, str]) -> int:
    """Replace this process with ``command``; returns only when it cannot start."""
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, env)
    except (OSError, ValueError) as exc:
        return cannot_run(repr(command[0]), exc, "check the command name, PATH and the "
                          "file's execute permission")
    return 0  # pragma: no cover - execvpe does not return


def spawn(command: list[str], env: dict[str, str], what: str, fix: str) -> int:
    """Run ``command`` as a child and wait for it, as system(3) does: this process ignores
    the terminal's interrupt and quit keys meanwhile (they are the child's). Returns its
    status (128 + N when signal N ended it)."""
    import signal
    import subprocess

    sys.stdout.flush()
    try:
        child = subprocess.Popen(command, env=env)
    except (OSError, ValueError) as exc:
        return cannot_run(what, exc, fix)
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGQUIT)}
    try:
        status = child.wait()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return 128 - status if status < 0 else status
