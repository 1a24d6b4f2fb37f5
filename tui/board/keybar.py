"""The key hints line at the bottom of a screen: one widget drawing one line.

Textual's ``Footer`` mounts a widget per key (eleven here), which was a tenth of the
board's first frame; this draws the same hints: the screen's shown bindings, or the
hints a screen declares (``key_hints()``: a dialog's, the filter's), with the command
palette's key on the right; a click on a hint presses its key. When the line is too
narrow, hints give way in the order of the screen's ``HINT_PRIORITY`` (binding ids;
help is kept first so the rest stay one key away), keeping their order on the line.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

Hint = tuple[str, str, str, bool]  # key, key as shown, description, enabled


def _width(hint: Hint) -> int:
    return cell_len(f" {hint[1]} {hint[2]} ")


class KeyBar(Widget, can_focus=False):
    """The screen's active, shown bindings as ``key description`` hints."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--palette"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .keybar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyBar > .keybar--palette {
        color: $foreground 20%;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str]] = []  # start, end, key (enabled hints)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is self.screen:
            self.refresh()

    def hints(self) -> tuple[list[Hint], Hint | None]:
        """``(key, key display, description, enabled)`` of each hint, and of the
        command palette's (drawn on the right) if the screen has it."""
        declared = getattr(self.screen, "key_hints", None)
        declared = declared() if declared is not None else None
        if declared is not None:
            return [(key, shown, text, True) for key, shown, text in declared], None
        app = self.app
        active = self.screen.active_bindings
        palette_key = app.COMMAND_PALETTE_BINDING
        keys = [(b.key, app.get_key_display(b), b.description, enabled)
                for _, b, enabled, _ in active.values() if b.show and b.key != palette_key]
        palette = None
        if app.ENABLE_COMMAND_PALETTE and palette_key in active:
            _, b, enabled, _ = active[palette_key]
            palette = (b.key, app.get_key_display(b), b.description, enabled)
        return self._fit(keys, palette is not None), palette

    def _fit(self, keys: list[Hint], palette: bool) -> list[Hint]:
        """The hints that fit the width, chosen by the screen's priority."""
        room = self.size.width - (13 if palette else 0)  # "▏ ^p palette " and a gap
        if sum(_width(h) for h in keys) <= room or not self.size.width:
            return keys
        ids = {b.key: b.id for _, b, _, _ in self.screen.active_bindings.values()}
        order = list(getattr(self.screen, "HINT_PRIORITY", ()))
        rank = {key: (order.index(ids[key]) if ids.get(key) in order else len(order))
                for key, *_ in keys}
        kept: set[str] = set()
        used = 0
        for hint in sorted(keys, key=lambda h: rank[h[0]]):
            if used + _width(hint) <= room:
                kept.add(hint[0])
                used += _width(hint)
        return [h for h in keys if h[0] in kept]

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        line = Text(no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, str]] = []

        def add(hint: Hint) -> None:
            key, shown, description, enabled = hint
            start = len(line)
            line.append(f" {shown} ", key_style)
            line.append(f"{description} ", text_style)
            if enabled:
                spans.append((start, len(line), key))
            else:
                line.stylize("dim", start)

        keys, palette = self.hints()
        for hint in keys:
            add(hint)
        if palette is not None:
            width = len(f" {palette[1]} {palette[2]} ")
            line.append(" " * max(1, self.size.width - line.cell_len - width - 1))
            line.append("▏", self.get_component_rich_style("keybar--palette"))
            add(palette)
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
