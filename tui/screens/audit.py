"""The audit page (``a`` on the board; see docs/architecture.md, Audit and journal): the selected
role's journal entries
first, then, on request (``t``), its ``AssumeRole`` events from CloudTrail with every
caller this machine's journal does not know highlighted.

Both reads run in thread workers (CloudTrail may first assume the reading role, and so
ask for an MFA code in a dialog). Everything shown comes from files or AWS (a CloudTrail
record is anyone's text: an ESC in a session name or user agent is an attack on the
terminal) and is drawn literally, through the terminal door: Rich ``Text`` cells, never
markup, every control character spelled out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from profiles.doors.terminal import block, shown
from profiles.errors import RolecallError
from profiles.ops import audit
from tui.board.jobs import PromptCancelled
from tui.screens.dialog import literal
from tui.screens.page import Page

if TYPE_CHECKING:
    from profiles.ops.journal import Entry
    from profiles.ops.trail import Event

SHOWN = 200  # rows of each table drawn (the rest: `rolecall audit`)
FIELD = 400  # characters of one field drawn (an ARN is at most 2,048; a name far less)


def _table(*headers: str, keep: tuple[str, ...] = ()) -> Table:
    """Columns in ``keep`` are never wrapped; the others fold to fit 80 columns."""
    table = Table(box=None, padding=(0, 2, 0, 0), expand=False, show_edge=False,
                  header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold", no_wrap=header in keep)
    return table


class AuditPage(Page):
    """Who assumed ``role``: the journal, then CloudTrail (``t``)."""

    BINDINGS = [Binding("t", "cloudtrail", "CloudTrail", id="audit.cloudtrail",
                        tooltip="look the role up in CloudTrail (last 24 hours): who else "
                        "assumed it; callers the journal does not know are highlighted")]
    DEFAULT_CSS = """
    AuditPage #audit-body { padding: 0 1; }
    AuditPage .heading { text-style: bold; margin-top: 1; }
    AuditPage .status { color: $text-muted; }
    """

    def __init__(self, role: str) -> None:
        super().__init__(literal(f"audit · {role}"))
        self.role = role
        self.entries: list[Entry] | None = None
        self.trail: audit.Trail | None = None
        self.looking = False

    def body(self) -> ComposeResult:
        with VerticalScroll(id="audit-body"):
            yield Static(literal("rolecall's journal on this machine"), classes="heading")
            yield Static(literal("reading…"), id="journal-status", classes="status")
            yield Static(id="journal")
            yield Static(literal("CloudTrail"), classes="heading")
            yield Static(literal("press t to look up who assumed this role in the last 24 "
                                 "hours; callers this machine's journal does not know are "
                                 "highlighted"), id="trail-status", classes="status")
            yield Static(id="trail")

    def on_mount(self) -> None:
        self.read_journal()

    # -- the journal ----------------------------------------------------------------------

    @work(thread=True, group="audit")
    def read_journal(self) -> None:
        try:
            found = audit.entries(self.rc.workspace(), role=self.role)
        except RolecallError as exc:
            self.app.call_from_thread(self._status, "#journal-status", str(exc))
            return
        self.app.call_from_thread(self.show_journal, found)

    def show_journal(self, entries: list[Entry]) -> None:
        self.entries = entries
        if not entries:
            self._status("#journal-status", "no assumption of this role journaled here")
            return
        self._status("#journal-status", f"{len(entries)} STS calls, newest first")
        table = _table("TIME (UTC)", "SESSION NAME", "RESULT", "VIA", "ACTION",
                       keep=("TIME (UTC)", "VIA"))
        for e in entries[:SHOWN]:
            result = e.result if e.result == "ok" else f"{e.result} {e.error_code}"
            table.add_row(*(Text(shown(cell, FIELD)) for cell in (
                e.time, e.session_name or "-", result, e.via, e.action)))
        self.query_one("#journal", Static).update(table)

    # -- CloudTrail -----------------------------------------------------------------------

    def action_cloudtrail(self) -> None:
        if self.looking:
            return
        self.looking = True
        self._status("#trail-status", "looking up AssumeRole events in CloudTrail…")
        self.read_trail()

    @work(thread=True, group="audit")
    def read_trail(self) -> None:
        call = self.app.call_from_thread
        try:
            trail = audit.cloudtrail(self.rc.workspace(), role=self.role)
        except PromptCancelled:
            call(self._trail_failed, "cancelled: no MFA code for the reading role")
        except RolecallError as exc:
            call(self._trail_failed, str(exc))
        else:
            call(self.show_trail, trail)

    def _trail_failed(self, text: str) -> None:
        self.looking = False
        self._status("#trail-status", text, error=True)

    def show_trail(self, trail: audit.Trail) -> None:
        self.looking = False
        self.trail = trail
        unknown = [e for e in trail.events if not e.known]
        status = (f"{len(trail.events)} AssumeRole events in 24 hours, {len(unknown)} by "
                  "callers this machine's journal does not know (highlighted); t again")
        problems = [str(f) for f in trail.failures] + trail.notes
        self._status("#trail-status", "\n".join([status, *problems]), error=bool(problems))
        warning = f"bold {self.app.theme_variables.get('warning', 'yellow')}"
        drawn = Text()
        for event in trail.events[:SHOWN]:
            drawn.append_text(self._event(event, None if event.known else warning))
        self.query_one("#trail", Static).update(drawn)

    @staticmethod
    def _event(event: Event, style: str | None) -> Text:
        """Two lines (they fit 80 columns): when, whose, outcome, name and address; then
        the caller's ARN."""
        who = "known   " if event.known else "UNKNOWN "
        head = (f"{shown(event.time, FIELD)}  {who} {shown(event.error_code or 'ok', FIELD)}  "
                f"{shown(event.session_name or '-', FIELD)}")
        text = Text(f"{head}  from {shown(event.source_ip or '-', FIELD)}\n", style=style or "")
        text.append(f"    by {shown(event.caller_arn or '-', FIELD)}\n", style=style or "dim")
        return text

    def _status(self, where: str, text: str, error: bool = False) -> None:
        style = f"{self.app.theme_variables.get('error', 'red')}" if error else ""
        self.query_one(where, Static).update(Text(block(text), style=style))
