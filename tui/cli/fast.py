"""The cache-hit fast path for ``process``, ``env`` and ``exec``: standard library only."""

from __future__ import annotations

import json
import sys


def _env_args(args: list[str]) -> str | None:
    """The format of ``env ROLE [--format F]``, or None if the arguments are anything else."""
    if len(args) == 2:
        return "sh"
    if len(args) == 4 and args[2] in ("--format", "-f"):
        return args[3]
    if len(args) == 3 and args[2].startswith("--format="):
        return args[2].split("=", 1)[1]
    return None


def try_fast(args: list[str]) -> int | None:
    """Serve ``process ROLE``, ``env ROLE`` or ``exec ROLE -- CMD`` from the cache; None
    means take the full path."""
    if len(args) < 2 or args[1].startswith("-"):
        return None
    if args[0] == "process" and len(args) == 2:
        fmt = "process"
    elif args[0] == "exec" and len(args) > 3 and args[2] == "--":
        fmt = "exec"
    elif args[0] == "env" and (fmt := _env_args(args)) in ("sh", "fish", "powershell",
                                                            "dotenv", "json"):
        pass
    else:
        return None
    from profiles.sessions import fastpath

    hit = fastpath.lookup(args[1])
    if hit is None:
        return None
    entry, credentials = hit
    if fmt == "process":
        sys.stdout.write(json.dumps({"Version": 1, **credentials}) + "\n")
        return 0
    from profiles.output import environment

    variables = environment.build(args[1], credentials, entry.get("region"))
    if fmt == "exec":
        import os

        command = args[3:]
        sys.stdout.flush()
        try:
            os.execvpe(command[0], command, environment.child_environ(variables))
        except OSError:
            return None  # the full path reports it properly
    sys.stdout.write(environment.render(variables, fmt))
    return 0
