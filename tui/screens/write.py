"""The write dialog: which profile of the credentials file gets the session."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from profiles.doors.terminal import shown
from profiles.errors import UsageError
from profiles.output.credfile import check_name
from tui.screens.dialog import Dialog, literal, markup


@dataclass(frozen=True)
class WriteRequest:
    role: str
    profile: str


class WriteModal(Dialog):
    """The profile name to write (default: the role's name)."""

    OK = "Write"

    def __init__(self, role: str, path: str) -> None:
        super().__init__(markup("Write [b]$role[/b] to the credentials file",
                                             role=role))
        self.role, self.path = role, path

    def fields(self) -> ComposeResult:
        yield Static(literal(self.path, "dim"))
        yield Static(literal("Profile name"), classes="label")
        yield Input(value=shown(self.role), id="profile")  # a name is printable: as it is

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
