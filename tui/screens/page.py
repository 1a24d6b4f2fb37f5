"""The base of a full screen pushed over the board (run results ``!``, doctor
``d``, audit ``a``, SSO login): a title line, a body, the key bar with the page's own
keys; ``escape`` goes back to the board, ``?`` lists the page's keys, ``q`` quits.

A page owns its widgets, bindings and workers (``@work(thread=True)`` methods of the
subclass); it reaches the core through ``self.rc.workspace()`` and says things with
``self.rc.say`` (literally: names are never markup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from tui.board.keybar import KeyBar

if TYPE_CHECKING:
    from tui.board.app import RolecallApp


class Page(Screen):
    """``body()`` yields the page's widgets; ``BINDINGS`` add its keys."""

    BINDINGS = [Binding("escape", "back", "Back", id="page.back")]
    DEFAULT_CSS = """
    Page > #page-title { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, title: Content) -> None:
        super().__init__()
        self.heading = title

    @property
    def rc(self) -> RolecallApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(self.heading, id="page-title")
        yield from self.body()
        yield KeyBar()

    def body(self) -> ComposeResult:
        yield from ()

    def action_back(self) -> None:
        self.dismiss(None)
