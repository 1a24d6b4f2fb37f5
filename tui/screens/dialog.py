"""The base of every dialog: escape cancels, errors show under the fields, the buttons
stay on screen (the fields scroll above them at 80x24), and the key bar shows the
dialog's own keys. Dialogs dismiss with a typed result, or None when cancelled.

Every user-controlled string goes in as ``Content`` built with ``literal()`` or
``markup("... $name", name=...)``: values are never markup, and each goes through the
terminal door (``profiles.doors.terminal``).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from profiles.doors.terminal import block, shown
from profiles.durations import MIN_DURATION, format_duration, parse_duration
from profiles.errors import UsageError
from tui.board.keybar import KeyBar


def literal(text: object, style: str = "") -> Content:
    """``text`` exactly as written (``[b]`` stays ``[b]``), through the terminal door (its
    line breaks kept, any other control spelled out), optionally styled."""
    content = Content(block(text))
    return content.stylize(style) if style else content


def markup(template: str, **values: object) -> Content:
    """rolecall's own markup ``template`` with ``$name`` values inserted as text (never
    markup), each through the terminal door."""
    return Content.from_markup(template, **{k: shown(v) for k, v in values.items()})


def parse_duration_field(text: str, maximum: int) -> int | None:
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
    """A titled box: ``fields()`` scroll, ``buttons`` stay; ``OK`` names the action."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]
    DEFAULT_CLASSES = "dialog"
    OK = "OK"
    SCROLL_FOCUS = False  # the fields scroll with the focus; help scrolls by keys
    OK_VARIANT = "primary"
    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > #dialog {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        padding: 0 1; border: thick $accent; background: $surface;
    }
    Dialog #fields { height: auto; }
    Dialog .title { text-style: bold; margin-top: 1; }
    Dialog Label, Dialog .label { margin-top: 1; }
    Dialog .note { color: $text-warning; margin-top: 1; }
    Dialog .hint { color: $text-muted; }
    Dialog .error { color: $text-error; height: auto; }
    Dialog .buttons { height: auto; margin-top: 1; align-horizontal: right; }
    Dialog .buttons Button { margin-left: 2; }
    """

    def __init__(self, title: Content) -> None:
        super().__init__()
        self.heading = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.heading, classes="title")
            with VerticalScroll(id="fields", can_focus=self.SCROLL_FOCUS):
                yield from self.fields()
                yield Static("", id="error", classes="error")
            buttons = self.buttons()
            if buttons is not None:
                yield buttons
        yield KeyBar()

    def fields(self) -> ComposeResult:
        yield from ()

    def buttons(self) -> Horizontal | None:
        return Horizontal(Button(self.OK, variant=self.OK_VARIANT, id="ok"),  # type: ignore
                          Button("Cancel", id="cancel"), classes="buttons")

    def key_hints(self) -> list[tuple[str, str, str]]:
        """What the key bar shows inside this dialog."""
        return [("enter", "⏎", self.OK), ("tab", "tab", "next field"),
                ("escape", "esc", "Cancel")]

    def on_mount(self) -> None:
        first = next(iter(self.query(Input)), None)
        if first is not None:
            first.focus()
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Cap the fields at what the screen leaves once the title, the buttons, the
        border and the key bar are drawn: the buttons stay on screen, the fields scroll."""
        box = self.query_one("#dialog")
        fields = self.query_one("#fields")
        others = sum(w.outer_size.height + w.styles.margin.height for w in box.children
                     if w is not fields)
        chrome = box.styles.gutter.height + self.query_one(KeyBar).outer_size.height
        room = max(3, self.size.height - chrome - others)
        if fields.styles.max_height is None or fields.styles.max_height.value != room:
            fields.styles.max_height = room

    def action_cancel(self) -> None:
        self.dismiss(None)

    def error(self, text: str) -> None:
        self.query_one("#error", Static).update(literal(text))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()
