"""The subshell the TUI opens (with the TUI suspended), factored out so it can be tested
without a terminal: the same environment and nested guard as ``rolecall shell``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping

from profiles.errors import UsageError
from profiles.output.environment import NEST_MARKER, child_environ


def nested_guard(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a shell inside a rolecall shell (the TUI has no --nest)."""
    env = os.environ if environ is None else environ
    if env.get(NEST_MARKER):
        raise UsageError(f"already inside a rolecall shell for {env[NEST_MARKER]!r}",
                         fix="exit that shell first, then open one from a plain terminal")


def shell_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """$SHELL, else %COMSPEC% on Windows, else /bin/sh."""
    env = os.environ if environ is None else environ
    windows = env.get("COMSPEC") if os.name == "nt" else None
    return [env.get("SHELL") or windows or "/bin/sh"]


def run_shell(variables: dict[str, str],
              run: Callable[[list[str], dict[str, str]], int] | None = None) -> int:
    """Run ``$SHELL`` with the session's variables (through ``run``, the board's lifeline,
    when given: a hang-up reaches the shell too); returns its exit status."""
    nested_guard()
    run = run or (lambda command, env: subprocess.call(command, env=env))
    try:
        return run(shell_command(), child_environ(variables))
    except OSError as exc:
        raise UsageError(f"cannot run {shell_command()[0]!r}: {exc.strerror}",
                         fix="set SHELL to an installed shell") from None
