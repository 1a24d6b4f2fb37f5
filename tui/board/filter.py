"""The board's `/` filter: a field mounted on first use above the list (a mixin of
``BoardScreen``). ``enter`` assumes the first match, as it does on the list; ``down``
goes to the list keeping the filter; ``escape`` clears it."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

from tui.board.keybar import KeyBar
from tui.board.table import Board


class FilterInput(Input):
    """The `/` field."""

    BINDINGS = [Binding("down", "to_board", "To the list", show=False)]

    def action_to_board(self) -> None:
        self.screen.query_one(Board).focus()


class FilterKeys:
    """`/`, `escape` and the field's events, for a screen with ``board``."""

    async def action_filter(self) -> None:
        field = self.filter_field()
        if field is None:  # mounted on first use: the first frame does without it
            field = FilterInput(placeholder="filter: name, account, alias, tag or ARN",
                                id="filter")
            await self.mount(field, before="#main")  # awaited: the next keys land in it
        field.display = True
        self.set_focus(field)

    def key_hints(self) -> list[tuple[str, str, str]] | None:
        """In the field the list's letter keys type: the bar says what still works."""
        if not isinstance(self.focused, FilterInput):
            return None
        return [("enter", "⏎", "Assume first match"), ("down", "↓", "To the list"),
                ("escape", "esc", "Clear filter")]

    def on_descendant_focus(self) -> None:
        self.query_one(KeyBar).refresh()  # into or out of the field: other hints

    def filter_field(self) -> Input | None:
        return next(self.query("#filter").results(Input), None)

    def action_clear_filter(self) -> None:
        field = self.filter_field()
        if field is not None and (field.value or field.display):
            field.value = ""
            field.display = False
            if self.board is not None:
                self.board.set_query("")
                self.board.focus()
            self.update_status()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and self.board is not None:
            self.board.set_query(event.value)
            self.update_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """``enter`` in the filter assumes the highlighted role, as it does on the list."""
        if event.input.id != "filter" or self.board is None:
            return
        if not event.value:
            event.input.display = False
        self.board.focus()
        if event.value and self.board.selected is not None:
            self.action_assume()
