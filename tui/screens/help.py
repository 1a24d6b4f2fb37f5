"""Help: every key of the screen below, each once, in sections; scrolls at 80x24."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from profiles.doors.terminal import shown
from tui.screens.dialog import Dialog, literal

if TYPE_CHECKING:
    from tui.board.hints import Hints

Row = tuple[str, str]  # key as shown, what it does
MOVES: list[Row] = [("↑ ↓  k j", "move the cursor"), ("pgup pgdn", "a page up or down"),
                    ("home end", "the first or last role")]
NOTE = ("Countdowns turn to the warning colour inside the refresh window; sessions that "
        "need no new MFA code renew themselves before it, with the duration you asked.")


def _rows(screen: Screen, bindings: list[Binding], seen: set[str]) -> list[Row]:
    """One row per key: a key bound twice (the filter's escape and a dialog's) once."""
    rows: list[Row] = []
    for binding in bindings:
        if binding.key in seen or binding.system:  # system: Moving says it
            continue
        seen.add(binding.key)
        shown = binding.key_display or screen.app.get_key_display(binding)
        rows.append((shown, binding.tooltip or binding.description))
    return rows


def help_rows(screen: Screen) -> list[tuple[str, list[Row]]]:
    """The sections of help for ``screen``: its own keys, moving, and the app's."""
    app = screen.app
    seen: set[str] = set()
    own = [b for b in screen.BINDINGS if isinstance(b, Binding)]
    sections = [("Keys", _rows(screen, own, seen))]
    if getattr(screen, "board", None) is not None:
        sections.append(("Moving", MOVES))
    globals_ = [b for b in app.BINDINGS if isinstance(b, Binding)]
    app_rows = _rows(screen, globals_, seen)
    if app.ENABLE_COMMAND_PALETTE:
        app_rows.append(("ctrl+p", "command palette: assume, write or shell any role"))
    sections.append(("App", app_rows))
    return sections


class HelpScreen(Dialog):
    """Every binding of the screen below, with its key."""

    BINDINGS = [Binding("escape,q,question_mark", "cancel", "Close", id="help.close")]
    SCROLL_FOCUS = True
    DEFAULT_CSS = """
    HelpScreen > #dialog { width: 86; height: auto; }
    """

    def __init__(self, sections: list[tuple[str, list[Row]]],
                 hints: Hints | None = None) -> None:
        super().__init__(literal("rolecall — keys"))
        self.sections = sections
        self.hints = hints

    @property
    def rows(self) -> list[Row]:
        return [row for _, rows in self.sections for row in rows]

    def fields(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2, 0, 0), show_header=False, expand=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("action")
        for index, (title, rows) in enumerate(self.sections):
            if index:
                table.add_row("", "")
            table.add_row(Text(shown(title), style="bold underline"), "")
            for key, description in rows:
                table.add_row(Text(shown(key)), Text(shown(description)))
        yield Static(table)
        yield Static(literal(NOTE), classes="note")
        if self.hints is not None and self.hints.welcome:
            yield Static(literal(self.hints.welcome), classes="hint")

    def buttons(self) -> None:
        return None

    def on_mount(self) -> None:
        self.query_one("#fields").focus()

    def key_hints(self) -> list[tuple[str, str, str]]:
        return [("escape", "esc", "Close"), ("down", "↓", "scroll")]
