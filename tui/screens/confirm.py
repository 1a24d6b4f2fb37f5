"""Yes or no, with the focus on no: for what cannot be undone."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Button, Static

from tui.screens.dialog import Dialog, markup


class ConfirmModal(Dialog):
    """Dismisses with True only on an explicit yes (``y`` or the yes button)."""

    BINDINGS = [Binding("y", "yes", "Yes", id="confirm.yes"),
                Binding("n", "cancel", "No", id="confirm.no")]
    OK_VARIANT = "error"

    def __init__(self, title: Content, text: Content, yes: str = "Replace") -> None:
        super().__init__(title)
        self.text = text
        self.OK = yes

    def fields(self) -> ComposeResult:
        yield Static(self.text)

    def key_hints(self) -> list[tuple[str, str, str]]:
        return [("y", "y", self.OK), ("n", "n", "Cancel"), ("escape", "esc", "Cancel")]

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#ok")
    def action_yes(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


def replace_profile(profile: str, path: str) -> ConfirmModal:
    """The overwrite question: names the profile and the file it replaces."""
    return ConfirmModal(
        markup("Replace profile [b]$name[/b]?", name=f"[{profile}]"),
        markup(
            "[b]$section[/b] in [b]$path[/b] was not written by rolecall: it may hold "
            "keys of your own.\n\nReplacing it loses what it holds now; Cancel keeps it "
            "(write under another name instead).", section=f"[{profile}]", path=path),
        yes="Replace")


def rechain(profile: str, why: str) -> ConfirmModal:
    """The question before a section other roles would chain from (``why`` says which)."""
    return ConfirmModal(
        Content.from_markup("Write profile [b]$name[/b]?", name=f"[{profile}]"),
        Content.from_markup("$why.\n\nCancel writes nothing (write under another name "
                            "instead).", why=why),
        yes="Write")
