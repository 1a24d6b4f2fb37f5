"""What an empty board says: where roles come from, and the three ways to get some.

A first run (no AWS config, no catalog, no IAM Identity Center listing) would otherwise
open on a blank table. The same words, shorter, are what ``rolecall list`` says.
"""

from __future__ import annotations

from pathlib import Path

from profiles.doors.terminal import shown

DOCS = "docs/roles.md"  # configuring roles, in rolecall's source tree
WAYS = (  # (what it gives, the command or page), each line under 56 columns
    ("Try it on a sandbox AWS, nothing of yours touched:", "rolecall demo"),
    ("Sign in to IAM Identity Center (its roles show here):", "rolecall sso login"),
    ("Add roles to the AWS config or rolecall's catalog:", f"see {DOCS}"),
)


def tilde(path: Path) -> str:
    """``path`` with the home directory as ``~``, for the screen."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if home != "/" and text.startswith(home + "/") else text


def lines(config: Path, catalog: Path) -> tuple[str, ...]:
    """The empty board's text, one string per line (no markup)."""
    out = ["No roles yet: none in", f"  {shown(tilde(config))}", f"  {shown(tilde(catalog))}"]
    for what, how in WAYS:
        out += ["", what, f"  {how}"]
    return tuple(out)
