"""Modal dialogs. Each asks only for what is needed and dismisses with a typed result
(a dataclass), or None when cancelled."""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from profiles.durations import CHAIN_CAP, MIN_DURATION, format_duration, parse_duration
from profiles.errors import UsageError
from profiles.model import ROLE_ARN
from profiles.output.credfile import check_name
from profiles.sessions.engine import check_mfa_code

MFA_CODE = re.compile(r"\d{6}")


@dataclass(frozen=True)
class AssumeNeeds:
    """What a fresh assumption of ``role`` needs from the operator (read in a worker)."""

    role: str
    mfa_serial: str | None
    ask_external_id: bool
    max_duration: int
    chained: bool
    default_duration: int | None = None


@dataclass(frozen=True)
class AssumeRequest:
    role: str
    duration: int | None
    external_id: str | None
    mfa_code: str | None


@dataclass(frozen=True)
class ChainRequest:
    source: str
    target: str | None  # a role from the catalog
    role_arn: str | None  # or a typed ARN
    duration: int | None = None


@dataclass(frozen=True)
class WriteRequest:
    role: str
    profile: str


def _duration(text: str, maximum: int) -> int | None:
    """Seconds, or None for the default; raises UsageError with a fix."""
    if not text.strip():
        return None
    seconds = parse_duration(text)
    if not MIN_DURATION <= seconds <= maximum:
        raise UsageError(f"duration {format_duration(seconds)} is outside "
                         f"15m to {format_duration(maximum)}",
                         fix=f"ask for at most {format_duration(maximum)}")
    return seconds


class Dialog(ModalScreen):
    """Escape cancels; errors show under the fields."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]
    DEFAULT_CLASSES = "dialog"

    def action_cancel(self) -> None:
        self.dismiss(None)

    def error(self, text: str) -> None:
        self.query_one("#error", Static).update(text)

    def buttons(self, ok: str) -> Horizontal:
        return Horizontal(Button(ok, variant="primary", id="ok"), Button("Cancel", id="cancel"),
                          classes="buttons")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class AssumeModal(Dialog):
    """MFA code only when needed; external id only when the config has none; duration."""

    def __init__(self, needs: AssumeNeeds) -> None:
        super().__init__()
        self.needs = needs

    def compose(self) -> ComposeResult:
        n = self.needs
        with Vertical(id="dialog"):
            yield Label(f"Assume [b]{n.role}[/b]", classes="title")
            if n.mfa_serial:
                yield Label(f"MFA code for [b]{n.mfa_serial}[/b]")
                yield Input(placeholder="123456", id="mfa", max_length=6, restrict=r"\d*")
            if n.ask_external_id:
                yield Label("External id [dim](optional: only if the role's trust policy "
                            "asks for one)[/dim]")
                yield Input(placeholder="none", id="external-id")
            default = format_duration(n.default_duration) if n.default_duration else "default"
            yield Label(f"Duration [dim](15m to {format_duration(n.max_duration)}; "
                        f"empty: {default}, or the cached session)[/dim]")
            yield Input(placeholder="1h, 45m, 2h30m", id="duration")
            if n.chained:
                yield Static(f"{n.role} is assumed from temporary credentials (role "
                             "chaining): STS caps it at 1 hour.", classes="note")
            yield Static("", id="error", classes="error")
            yield self.buttons("Assume")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        n = self.needs
        code = None
        try:
            if n.mfa_serial:
                code = check_mfa_code(self.query_one("#mfa", Input).value)
            duration = _duration(self.query_one("#duration", Input).value,
                                 min(n.max_duration, CHAIN_CAP) if n.chained else n.max_duration)
        except UsageError as exc:
            self.error(str(exc))
            return
        external = None
        if n.ask_external_id:
            external = self.query_one("#external-id", Input).value.strip() or None
        self.dismiss(AssumeRequest(n.role, duration, external, code))


class MfaModal(Dialog):
    """Asked by a renewal (or any assumption) that needs a fresh code."""

    def __init__(self, serial: str, role: str) -> None:
        super().__init__()
        self.serial, self.role = serial, role

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"MFA code for [b]{self.role}[/b]", classes="title")
            yield Label(f"device {self.serial}")
            yield Input(placeholder="123456", id="mfa", max_length=6, restrict=r"\d*")
            yield Static("", id="error", classes="error")
            yield self.buttons("Continue")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        try:
            self.dismiss(check_mfa_code(self.query_one("#mfa", Input).value))
        except UsageError as exc:
            self.error(str(exc))


class ChainModal(Dialog):
    """Pick a role from the catalog or type a role ARN."""

    def __init__(self, source: str, roles: list[str]) -> None:
        super().__init__()
        self.source = source
        self.roles = [r for r in roles if r != source]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Chain from [b]{self.source}[/b]", classes="title")
            yield Label("Type to filter the roles, or paste a role ARN")
            yield Input(placeholder="role name or arn:aws:iam::123456789012:role/Name",
                        id="target")
            yield OptionList(*[Option(r, id=r) for r in self.roles[:500]], id="roles")
            yield Label("Duration [dim](15m to 1h: a chained session is capped at 1 hour; "
                        "empty: 1h)[/dim]")
            yield Input(placeholder="1h", id="duration")
            yield Static("", id="error", classes="error")
            yield self.buttons("Chain")

    @on(Input.Changed, "#target")
    def _filter(self, event: Input.Changed) -> None:
        words = event.value.lower().split()
        options = self.query_one("#roles", OptionList)
        options.clear_options()
        shown = [r for r in self.roles if all(w in r.lower() for w in words)][:500]
        options.add_options([Option(r, id=r) for r in shown])
        if shown:
            options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._finish(str(event.option.id), None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        text = self.query_one("#target", Input).value.strip()
        if ROLE_ARN.fullmatch(text):
            self._finish(None, text)
            return
        options = self.query_one("#roles", OptionList)
        if text in self.roles:
            self._finish(text, None)
        elif options.highlighted is not None and options.option_count:
            self._finish(str(options.get_option_at_index(options.highlighted).id), None)
        else:
            self.error("pick a role from the list or type a full role ARN\n"
                       "  fix: arn:aws:iam::123456789012:role/RoleName")

    def _finish(self, target: str | None, arn: str | None) -> None:
        try:
            duration = _duration(self.query_one("#duration", Input).value, CHAIN_CAP)
        except UsageError as exc:
            self.error(str(exc))
            return
        self.dismiss(ChainRequest(self.source, target, arn, duration))


class WriteModal(Dialog):
    """The profile name to write (default: the role's name)."""

    def __init__(self, role: str, path: str) -> None:
        super().__init__()
        self.role, self.path = role, path

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Write [b]{self.role}[/b] to the credentials file", classes="title")
            yield Label(f"[dim]{self.path}[/dim]")
            yield Label("Profile name")
            yield Input(value=self.role, id="profile")
            yield Static("", id="error", classes="error")
            yield self.buttons("Write")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        name = self.query_one("#profile", Input).value.strip()
        try:
            check_name(name)
        except UsageError as exc:
            self.error(str(exc))
            return
        self.dismiss(WriteRequest(self.role, name))


class ConfirmModal(Dialog):
    """Yes or no; dismisses with True only on an explicit yes."""

    BINDINGS = [Binding("y", "yes", "Yes", id="confirm.yes"),
                Binding("n", "cancel", "No", id="confirm.no")]

    def __init__(self, title: str, text: str, yes: str = "Replace") -> None:
        super().__init__()
        self.title_text, self.text, self.yes = title, text, yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, classes="title")
            yield Static(self.text)
            yield Horizontal(Button(self.yes, variant="error", id="ok"),
                             Button("Cancel", id="cancel"), classes="buttons")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#ok")
    def action_yes(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class HelpScreen(Dialog):
    """Every binding of the board, with its key."""

    BINDINGS = [Binding("escape,q,question_mark", "cancel", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        from rich.table import Table

        table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("action")
        table.add_column("id", style="dim")
        for key, description, binding_id in self.rows:
            table.add_row(key, description, binding_id)
        with Vertical(id="dialog", classes="help"):
            yield Label("rolecall — keys", classes="title")
            with VerticalScroll():
                yield Static(table)
            yield Static("Countdowns turn to the warning colour inside the refresh window; "
                         "sessions that need no new MFA code renew themselves before it.\n"
                         "ctrl+p opens the command palette: assume / write / shell any role.",
                         classes="note")
            yield Label("[dim]escape to close[/dim]")
