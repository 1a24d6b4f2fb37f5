"""The board screen's keys: each binding with its id (the palette, help and the key bar
name keys by id) and its tooltip (help's text), and the order the key bar keeps them in
on a narrow terminal."""

from __future__ import annotations

from textual.binding import Binding

BINDINGS: list[Binding] = [
    Binding("enter", "assume", "Assume", id="assume",
            tooltip="assume the selected role (asks only for what it needs)"),
    Binding("c", "chain", "Chain", id="chain",
            tooltip="chain: assume another role from the selected session"),
    Binding("w", "write", "Write", id="write",
            tooltip="write the session to the credentials file"),
    Binding("s", "shell", "Shell", id="shell",
            tooltip="open a subshell with the session; exit it to come back"),
    Binding("r", "refresh", "Refresh", id="refresh", tooltip="get a new session now"),
    Binding("x", "forget", "Forget", id="forget",
            tooltip="forget the session (sessions chained from it stay)"),
    Binding("d", "doctor", "Doctor", id="doctor",
            tooltip="doctor: why the role can or cannot be assumed, hop by hop"),
    Binding("e", "endpoint", "Endpoint", id="endpoint",
            tooltip="start or stop the credential endpoint (rolecall serve) for SDKs "
            "in other terminals; it asks here for the MFA codes it needs"),
    Binding("b", "console", "Console", id="console",
            tooltip="open the AWS console as the role in the browser"),
    # The filter's keys are priority bindings: they run as the key arrives, so the
    # keys typed right after them land where they should (see tui/board/filter.py).
    Binding("slash", "filter", "Filter", id="filter", key_display="/", priority=True,
            tooltip="filter by name, account, alias, tag or ARN: enter assumes the "
            "first match, down goes to the list"),
    Binding("o", "sort", "Sort", id="sort", tooltip="sort by account, name or time left"),
    Binding("p", "pane", "Pane", id="pane", tooltip="show or hide the detail pane"),
    Binding("a", "audit", "Audit", id="audit",
            tooltip="audit: who assumed the role (the journal, then CloudTrail)"),
    Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-filter",
            priority=True, tooltip="clear the filter"),
    Binding("down", "down", "Down", show=False, priority=True, system=True),
    Binding("space", "mark", "Mark", id="mark",
            tooltip="mark the role (or unmark it) for `!`; the header counts them"),
    Binding("exclamation_mark", "run", "Run", id="run", key_display="!",
            tooltip="run a command across the marked roles (or the selected one)"),
]
# The key bar keeps these first when the terminal is narrow (the rest are in help).
HINT_PRIORITY = ("help", "assume", "filter", "shell", "write", "chain", "refresh",
                 "forget", "doctor", "pane", "quit", "sort", "endpoint", "audit", "run",
                 "mark", "console")
