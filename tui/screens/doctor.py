"""The doctor (``d``; see docs/architecture.md, Doctor and lint): hop by hop, whether the chain to
a role can be assumed
and why not, as ``rolecall doctor`` says it: per hop the caller, the verdict and the six
checks (``trust``, ``identity``, ``external_id``, ``mfa``, ``duration``, ``org``), each
pass, FAIL or unknown with its detail and fix; then what rolecall does not evaluate.

The checks read AWS (IAM, STS, Organizations), so they run in a thread worker of this
page: the board keeps ticking under it, escape goes back at any time, and the answer
of a page already left is dropped (a failure is still said). Every name, ARN and
policy text is drawn literally (``Text``/``Content``, never markup).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from profiles.doors.terminal import shown
from profiles.errors import RolecallError
from tui.board.jobs import PromptCancelled
from tui.screens.page import Page

if TYPE_CHECKING:
    from profiles.trust.checks import Check
    from profiles.trust.doctor import Hop, Report

MARK = {"pass": "pass", "fail": "FAIL", "unknown": "unknown"}
TONE = {"pass": "success", "allowed": "success", "fail": "error", "denied": "error",
        "unknown": "warning"}
NOT_MODELLED = {"scp": "SCPs", "rcp": "RCPs", "session_policy": "session policies"}


Tone = Callable[[str], str]  # a result or verdict -> its style (the theme's colour)


def _literal(text: object, style: str = "") -> Text:
    """Untrusted text: control characters escaped, markup inert, long words (ARNs)
    folded onto the next line rather than cut."""
    return Text(shown(text, 2000), style=style, overflow="fold")


# -- what the page draws (plain functions of the report) ---------------------------------


def summary(report: Report, tone: Tone) -> Text:
    """The verdict, and which checks of which hop fail or are unknown."""
    text = Text().append_text(_literal(report.role, "bold")).append(": ")
    text.append(report.verdict, f"bold {tone(report.verdict)}")
    total = len(report.hops)
    for number, hop in enumerate(report.hops, 1):
        for result in ("fail", "unknown"):
            names = [c.check for c in hop.checks if c.result == result]
            if names:
                where = f"hop {number}/{total} " if total > 1 else ""
                text.append(f" · {where}{MARK[result]}: ", tone(result))
                text.append_text(_literal(", ".join(names)))
    if report.verdict == "allowed":
        text.append(f" · every check passes; {', '.join(NOT_MODELLED.values())} are not "
                    "evaluated")
    return text


def denial_note(denial: str, report: Report) -> Text:
    """STS's words from the denied assume the page was opened after."""
    text = Text().append("STS denied the last assume: ", "bold")
    text.append_text(_literal(denial))
    if report.verdict != "denied":
        text.append("\nNo check below fails: the refusal comes from what rolecall could "
                    "not read or does not evaluate (the unknown checks, SCPs, RCPs, session "
                    "policies).")
    return text


def hop_view(hop: Hop, number: int, total: int, tone: Tone) -> Group:
    """One hop: its role, verdict, role ARN, caller and checks."""
    heading = Text(f"hop {number}/{total}  ", style="bold")
    heading.append_text(_literal(hop.role, "bold")).append("  ")
    heading.append(hop.verdict, f"bold {tone(hop.verdict)}")
    facts = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
    facts.add_column(no_wrap=True, style="dim")
    facts.add_column(ratio=1)
    facts.add_row("role", _literal(hop.role_arn))
    facts.add_row("caller", _literal(hop.caller or "not known"))
    return Group(heading, facts, checks_table(hop.checks, tone))


def checks_table(checks: tuple[Check, ...], tone: Tone) -> Table:
    """A line per check: pass/FAIL/unknown, its name, the detail and (unless it passes)
    the fix under it."""
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
    table.add_column(no_wrap=True, width=7)
    table.add_column(no_wrap=True, width=11)
    table.add_column(ratio=1)
    for check in checks:
        detail = _literal(check.detail)
        if check.fix and check.result != "pass":
            detail.append("\nfix: ", "bold").append_text(_literal(check.fix))
        style = tone(check.result)
        table.add_row(Text(MARK.get(check.result, check.result),
                           style=f"bold {style}" if check.result == "fail" else style),
                      _literal(check.check), detail)
    return table


def unevaluated(report: Report, tone: Tone) -> Group:
    """What rolecall does not evaluate (SCPs, RCPs, session policies): always unknown,
    each said by its detail."""
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
    table.add_column(no_wrap=True, width=7)
    table.add_column(ratio=1)
    for check in report.not_evaluated:
        table.add_row(Text(MARK.get(check.result, check.result), style=tone(check.result)),
                      _literal(check.detail))
    return Group(Text("not evaluated (unknown)", style="bold"), table)


class DoctorPage(Page):
    """The doctor's checklist for ``role``; ``check`` runs the checks (in a worker)."""

    BINDINGS = [
        Binding("r", "again", "Check again", id="doctor.again",
                tooltip="run the checks again (reads AWS again)"),
        Binding("n", "next", "Next problem", id="doctor.next",
                tooltip="scroll to the next hop that fails or is unknown"),
    ]
    HINT_PRIORITY = ("page.back", "doctor.next", "doctor.again", "help", "quit")
    DEFAULT_CSS = """
    DoctorPage > #doctor-summary { height: auto; max-height: 4; padding: 0 1; }
    DoctorPage > #doctor-checks { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    DoctorPage .doctor-hop, DoctorPage .doctor-note { margin-top: 1; }
    """

    def __init__(self, role: str, check: Callable[[], Report], *,
                 denial: str | None = None) -> None:
        super().__init__(Content(f"doctor · {shown(role)}"))
        self.role = role
        self.check = check
        self.denial = denial  # STS's message when the last assume was denied
        self.report: Report | None = None
        self.error: RolecallError | None = None
        self.running = False
        self.hops: list[Static] = []  # one per hop, in order (what n scrolls to)
        self._next = 0

    def body(self) -> ComposeResult:
        yield Static(id="doctor-summary")
        yield VerticalScroll(id="doctor-checks")

    def on_mount(self) -> None:
        self.query_one("#doctor-checks").focus()
        self.action_again()

    # -- running the checks ---------------------------------------------------------------

    def action_again(self) -> None:
        if self.running:
            self.rc.say(f"still checking {self.role}", timeout=3)
            return
        self.running = True
        text = Text("checking ").append_text(_literal(self.role, "bold"))
        text.append(": who each hop's caller is, the trust and identity policies, read "
                    "through AWS…")
        self.query_one("#doctor-summary", Static).update(text)
        self.query_one("#doctor-checks", VerticalScroll).remove_children()
        self.hops = []
        self._run()

    @work(thread=True, exclusive=True, group="doctor")
    def _run(self) -> None:
        call = self.app.call_from_thread
        outcome: Report | RolecallError
        try:
            outcome = self.check()
        except PromptCancelled:
            outcome = RolecallError(f"an MFA prompt for {self.role}'s chain was cancelled",
                                    fix="press r to check again")
        except RolecallError as exc:
            outcome = exc
        except Exception as exc:  # noqa: BLE001 - a worker must not take the app down
            outcome = RolecallError(f"internal error: {type(exc).__name__}: {exc}",
                                    fix="run `rolecall --debug doctor` with the same role "
                                    "and report it")
        call(self._done, outcome)

    def _done(self, outcome: Report | RolecallError) -> None:
        self.running = False
        board = self.rc.board_screen
        board.reload(select=board.board.selected if board.board else None)  # new sessions
        if self not in self.app.screen_stack:  # the operator went back meanwhile
            if isinstance(outcome, RolecallError):
                self.rc.fail(f"doctor {self.role}", outcome)
            return
        if isinstance(outcome, RolecallError):
            self.report, self.error = None, outcome
            self._show_error(outcome)
        else:
            self.report, self.error = outcome, None
            self._show(outcome)

    # -- drawing --------------------------------------------------------------------------

    def _tone(self, result: str) -> str:
        return self.app.theme_variables.get(TONE.get(result, "warning"), "")

    def _show_error(self, exc: RolecallError) -> None:
        text = Text().append("cannot check ", "bold")
        text.append_text(_literal(self.role, "bold")).append(": ")
        text.append_text(_literal(exc.message))
        if exc.fix:
            text.append("\nfix: ").append_text(_literal(exc.fix))
        text.stylize(self._tone("fail"))
        self.query_one("#doctor-summary", Static).update(text)

    def _show(self, report: Report) -> None:
        self.query_one("#doctor-summary", Static).update(summary(report, self._tone))
        total = len(report.hops)
        self.hops = [Static(hop_view(hop, number, total, self._tone), classes="doctor-hop")
                     for number, hop in enumerate(report.hops, 1)]
        notes = [Static(denial_note(self.denial, report), classes="doctor-note")
                 ] if self.denial else []
        self.query_one("#doctor-checks", VerticalScroll).mount_all(
            [*notes, *self.hops, Static(unevaluated(report, self._tone), classes="doctor-note")])
        first = self._problems()
        self._next = 1 if first else 0  # the first problem is in view: n goes on from it
        if first and first[0] > 1:  # the problem first; the hops before it are a scroll up
            self.call_after_refresh(self._scroll_to, first[0])

    # -- moving ---------------------------------------------------------------------------

    def _problems(self) -> list[int]:
        if self.report is None:
            return []
        return [n for n, hop in enumerate(self.report.hops, 1) if hop.verdict != "allowed"]

    def _scroll_to(self, number: int) -> None:
        self.query_one("#doctor-checks", VerticalScroll).scroll_to_widget(
            self.hops[number - 1], animate=False, top=True)

    def action_next(self) -> None:
        problems = self._problems()
        if not problems:
            self.rc.say("nothing fails and nothing is unknown" if self.report else
                        "no checklist yet", timeout=3)
            return
        number = problems[self._next % len(problems)]
        self._next += 1
        self._scroll_to(number)
