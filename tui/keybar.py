"""The key hints line at the bottom of the board: one widget drawing one line.

Textual's ``Footer`` mounts a widget per key (eleven here), which was a tenth of the
board's first frame; this draws the same hints — the screen's shown bindings, the
command palette's key on the right — and a click on a hint presses its key.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


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

    def hints(self) -> list[tuple[str, str, str, bool]]:
        """``(key, key display, description, enabled)`` of each shown binding, the
        command palette's last."""
        app = self.app
        active = self.screen.active_bindings
        out = [(b.key, app.get_key_display(b), b.description, enabled)
               for _, b, enabled, _ in active.values()
               if b.show and b.key != app.COMMAND_PALETTE_BINDING]
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _, b, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
            out.append((b.key, app.get_key_display(b), b.description, enabled))
        return out

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        line = Text(no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, str]] = []
        hints = self.hints()
        palette = hints.pop() if hints and hints[-1][0] == self.app.COMMAND_PALETTE_BINDING \
            else None
        for key, shown, description, enabled in hints:
            start = len(line)
            line.append(f" {shown} ", key_style)
            line.append(f"{description} ", text_style)
            if not enabled:
                line.stylize("dim", start)
            else:
                spans.append((start, len(line), key))
        if palette is not None:
            key, shown, description, enabled = palette
            tail = f" {shown} {description} "
            gap = max(1, self.size.width - len(line) - len(tail) - 1)
            line.append(" " * gap)
            line.append("▏", self.get_component_rich_style("keybar--palette"))
            start = len(line)
            line.append(f" {shown} ", key_style)
            line.append(f"{description} ", text_style)
            if enabled:
                spans.append((start, len(line), key))
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
