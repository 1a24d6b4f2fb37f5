"""The cache-hit fast path for ``process``, ``env`` and ``exec`` (and ``keys process``):
standard library only."""

import json
import sys


def _env_format(args: list[str]) -> str | None:
    """The format of ``env ROLE [--format F]``, or None if the arguments are anything else."""
    if len(args) == 2:
        return "sh"
    if len(args) == 4 and args[2] in ("--format", "-f"):
        return args[3]
    if len(args) == 3 and args[2].startswith("--format="):
        return args[2].split("=", 1)[1]
    return None


def _exec_command(args: list[str]) -> list[str] | None:
    """CMD of ``exec ROLE -- CMD ...`` or ``exec ROLE CMD ...``; None for anything else
    (options after ROLE may ask for another session: the full path decides)."""
    if len(args) > 3 and args[2] == "--":
        return args[3:]
    if len(args) > 2 and not args[2].startswith("-"):
        return args[2:]
    return None


def try_fast(args: list[str]) -> int | None:
    """Serve ``process ROLE``, ``env ROLE`` or ``exec ROLE -- CMD`` from the cache; None
    means take the full path. ``keys process NAME`` too (long-lived keys, no cache)."""
    if args[0] == "keys":
        return _keys_process(args)
    if len(args) < 2 or args[1].startswith("-"):
        return None
    command = None
    if args[0] == "process" and len(args) == 2:
        fmt = "process"
    elif args[0] == "exec" and (command := _exec_command(args)) is not None:
        fmt = "exec"
    elif args[0] == "env" and (fmt := _env_format(args)) is not None:
        # lazy: the hot path: only the modules this hit needs
        from profiles.output.environment import FORMATS

        if fmt not in FORMATS:
            return None
    else:
        return None
    # lazy: the hot path: only the modules this hit needs
    from profiles.sessions import fastpath

    hit = fastpath.lookup(args[1], min_left=fastpath.PROCESS_MIN_LEFT if fmt == "process" else 0)
    if hit is None:
        return None
    entry, credentials = hit
    if fmt == "process":
        sys.stdout.write(json.dumps({"Version": 1, **credentials}) + "\n")
        return 0
    # lazy: the hot path: only the modules this hit needs
    from profiles.output import environment

    variables = environment.build(args[1], credentials, entry.get("region"),
                                  entry.get("refresh_window", 300))
    if command is not None:
        # lazy: the hot path: only the modules this hit needs
        from profiles.doors import children
        from tui.cli.child import execute

        return execute(command, children.environ(variables))
    sys.stdout.write(environment.render(variables, fmt))
    return 0


def _keys_process(args: list[str]) -> int | None:
    """``keys process NAME`` from the Secret Service straight; None: the full path."""
    if len(args) != 3 or args[1] != "process" or args[2].startswith("-"):
        return None
    # lazy: the hot path: only the modules this hit needs
    from profiles.sessions import fastpath

    keys = fastpath.long_lived(args[2])
    if keys is None:
        return None
    sys.stdout.write(json.dumps(keys) + "\n")
    return 0
