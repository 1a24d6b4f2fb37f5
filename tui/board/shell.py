"""The subshell the TUI opens (with the TUI suspended), factored out so it can be tested
without a terminal: the same environment and nested guard as ``rolecall shell``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping

from profiles.doors import children
from profiles.errors import UsageError
from profiles.output.environment import NEST_MARKER


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
    try:
        if run is not None:  # the lifeline: it builds the environment through the door
            return run(shell_command(), variables)
        return subprocess.call(shell_command(), env=children.environ(variables))
    except OSError as exc:
        raise UsageError(f"cannot run {shell_command()[0]!r}: {exc.strerror}",
                         fix="set SHELL to an installed shell") from None
