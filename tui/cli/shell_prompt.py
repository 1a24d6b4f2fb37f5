"""``rolecall prompt [--format F]``: the shell's role and countdown, for a prompt.

A prompt runs it on every line, so it is served before the parser is built: this module
imports the standard library and ``profiles.output.prompt`` only (no argparse, keyring,
D-Bus, botocore or Textual). Anything but the plain forms below (``--help``, a typo)
goes through the parser, which says what is wrong.
"""

import os
import sys
import time

from profiles.output import prompt

HELP = "the shell's role and its countdown for a prompt (nothing outside a rolecall shell)"


def _format(rest: list[str]) -> str | None:
    """The format of ``prompt [--format F]``; None for anything else."""
    if not rest:
        return "plain"
    if len(rest) == 2 and rest[0] in ("--format", "-f"):
        value = rest[1]
    elif len(rest) == 1 and rest[0].startswith("--format="):
        value = rest[0].split("=", 1)[1]
    else:
        return None
    return value if value in prompt.FORMATS else None


def fast(args: list[str]) -> int | None:
    """Serve ``prompt [--format F]``; None sends anything else to the parser."""
    fmt = _format(args[1:])
    return None if fmt is None else run(fmt)


def run(fmt: str) -> int:
    seg = prompt.segment(os.environ, time.time())
    color = prompt.wants_color(fmt, sys.stdout.isatty(), os.environ)
    out = prompt.render(seg, fmt, color)
    if out:
        sys.stdout.write(out)
    return 0


def cmd_prompt(ns) -> int:
    return run(ns.format)


def register(commands) -> None:
    """``prompt`` in the parser (``tui.cli.parser.Commands``): its help and usage errors."""
    p = commands.add("prompt", cmd_prompt, HELP, role=False)
    p.add_argument("--format", "-f", choices=prompt.FORMATS, default="plain",
                   help="plain text (coloured on a terminal); a shell's prompt spelling "
                   "(bash, zsh, fish, powershell); starship's custom module; json")
