"""The MFA dialog a worker waits on: a renewal (or any assumption) needs a fresh code."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from profiles.errors import UsageError
from profiles.sessions.engine import check_mfa_code
from tui.screens.dialog import Dialog, literal, markup


class MfaModal(Dialog):
    """Dismisses with the 6-digit code, or None."""

    OK = "Continue"

    def __init__(self, serial: str, role: str, hint: str = "") -> None:
        super().__init__(markup("MFA code for [b]$role[/b]", role=role))
        self.serial, self.role, self.hint = serial, role, hint

    def fields(self) -> ComposeResult:
        yield Static(markup("6 digits from device [b]$serial[/b]",
                                         serial=self.serial), classes="label")
        if self.hint:
            yield Static(literal(self.hint), classes="hint")
        yield Input(id="mfa", max_length=6, restrict=r"\d*")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        try:
            self.dismiss(check_mfa_code(self.query_one("#mfa", Input).value))
        except UsageError as exc:
            self.error(str(exc))
