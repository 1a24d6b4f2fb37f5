"""Running a child the way env(1) does: its exit status is the child's, 127 when the
command is not found, 126 when it cannot run. Standard library only (the fast path's)."""

from __future__ import annotations

import os
import sys

from profiles.doors.terminal import shown


def cannot_run(what: str, exc: BaseException, fix: str) -> int:
    """Report a child that did not start: 127 when not found, 126 otherwise (as env(1))."""
    missing = isinstance(exc, FileNotFoundError | NotADirectoryError)
    reason = "command not found" if missing else getattr(exc, "strerror", None) or str(exc)
    print(f"rolecall: cannot run {shown(what)}: {shown(reason)}\n  fix: {shown(fix)}",
          file=sys.stderr)
    return 127 if missing else 126


def execute(command: list[str], env: dict[str, str]) -> int:
    """Replace this process with ``command``; returns only when it cannot start. Where
    exec cannot replace a process (Windows has no fork and exec: its exec starts another
    process and ends this one, losing the status), ``command`` runs as a child instead
    and its status is returned."""
    if not hasattr(os, "fork"):
        return spawn(command, env, repr(command[0]), "check the command name and PATH")
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, env)
    except (OSError, ValueError) as exc:
        return cannot_run(repr(command[0]), exc, "check the command name, PATH and the "
                          "file's execute permission")
    return 0  # pragma: no cover - execvpe does not return


def _ignore(signum: int, frame: object) -> None:
    """A handler that does nothing: unlike SIG_IGN, exec resets it for the child."""


def spawn(command: list[str], env: dict[str, str], what: str, fix: str) -> int:
    """Run ``command`` as a child and wait for it, as system(3) does: the terminal's
    interrupt and quit keys are the child's, this process waits on. Returns its status
    (128 + N when signal N ended it)."""
    # lazy: subprocess only for shell; exec on the hot path replaces the process
    import signal
    import subprocess

    sys.stdout.flush()
    # set before the fork, so no early signal slips through; the child starts with the
    # default dispositions, since exec resets caught signals (an ignored one would stay)
    keys = [s for name in ("SIGINT", "SIGQUIT") if (s := getattr(signal, name, None))]
    saved = {sig: signal.signal(sig, _ignore) for sig in keys}
    try:
        try:
            child = subprocess.Popen(command, env=env)
        except (OSError, ValueError) as exc:
            return cannot_run(what, exc, fix)
        status = child.wait()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return 128 - status if status < 0 else status
