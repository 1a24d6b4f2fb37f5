"""The board's `/` filter: a field mounted on first use above the list (a mixin of
``BoardScreen``). ``enter`` assumes the first match, as it does on the list; ``down``
goes to the list keeping the filter; ``escape`` clears it.

`/`, ``down`` and ``escape`` are the screen's priority bindings: Textual forwards each
key to the widget focused when the key arrives, and a widget's own binding runs later,
in the widget's queue, so "/prod" typed fast lost its "p" to the list and "down s" typed
its "s" into the field. A priority binding runs before the next key is forwarded."""

from __future__ import annotations

from textual.widgets import Input

from tui.board.keybar import KeyBar


class FilterInput(Input):
    """The `/` field."""


class FilterKeys:
    """`/`, `escape` and the field's events, for a screen with ``board``."""

    async def action_filter(self) -> None:
        field = self.filter_field()
        if field is not None and self.focused is field:
            field.insert_text_at_cursor("/")  # a "/" typed in the field (an ARN's)
            return
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

    def action_down(self) -> None:
        """In the field: to the list, keeping the filter; on the list: the next role."""
        if isinstance(self.focused, FilterInput):
            self.set_focus(self.board)  # now, not after a refresh as Widget.focus does
        elif self.board is not None and self.focused is self.board:
            self.board.action_cursor(1)

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
                self.set_focus(self.board)
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
        self.set_focus(self.board)
        if event.value and self.board.selected is not None:
            self.action_assume()
