"""Words for a particular world, shown inside the board (the demo's sandbox)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hints:
    banner: str = ""  # the status line's first words, instead of "rolecall"
    welcome: str = ""  # a notification when the board opens (and a line in help)
    mfa: str = ""  # beside every MFA code field
    shell: str = ""  # printed when the subshell opens
