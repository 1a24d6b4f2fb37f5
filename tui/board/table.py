"""The board: every role, grouped by account, with its chain, session and live countdown.

A line-API widget, not a DataTable: only the lines on screen are rendered, so 5,000
roles cost what 40 do. Filtering re-orders a list of names; the once-a-second tick
calls :meth:`Board.update_cell` for the countdown cells on screen and refreshes only
the lines whose text changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.board.columns import Column, Widths, haystack
from tui.board.render import BoardCells

if TYPE_CHECKING:
    from profiles.model import Account
    from profiles.workspace import RoleRow

SORTS = ("account", "name", "time left")


def sort_rows(rows: list[RoleRow], sort: str) -> list[RoleRow]:
    if sort == "name":
        return sorted(rows, key=lambda r: r.name)
    if sort == "time left":
        far = float("inf")
        return sorted(rows, key=lambda r: (
            r.session.expires_at.timestamp() if r.session else far, r.name))
    return sorted(rows, key=lambda r: ((r.account.alias or "~").lower(), r.account.id, r.name))


class Board(BoardCells, ScrollView, can_focus=True):
    """Roles as lines; in account order, each account gets a heading line."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES = {
        "board--header", "board--cursor", "board--group", "board--active", "board--warning",
        "board--expired", "board--busy", "board--dim", "board--prod", "board--tag",
        "board--broken", "board--marked",
    }

    class Highlighted(Message):
        """The cursor moved to another role (or the board emptied: ``name`` is None)."""

        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.rows: dict[str, RoleRow] = {}
        self.empty: tuple[str, ...] = ()  # shown when there are no roles at all
        self.window = 300
        self.now = 0.0
        self.sort = SORTS[0]
        self.query = ""
        self.busy: dict[str, str] = {}
        self.marked: set[str] = set()  # `space`: the roles `!` runs a command across
        self._hay: dict[str, str] | None = None  # what `/` matches, built on first use
        self._accounts: dict[str, Account] = {}
        self._sorted: list[str] = []
        self._lines: list[tuple[str, str]] = []  # ("group", account id) or ("role", name)
        self._role_lines: list[int] = []  # line index of each visible role
        self._line_of: dict[str, int] = {}
        self.cursor = 0  # index into _role_lines
        self._cells: dict[tuple[str, str], Text] = {}  # (name, column) -> shown countdown etc.
        self._strips: dict[tuple, Strip] = {}
        self._layout: tuple[int, tuple[Column, ...]] | None = None
        self._widths: Widths | None = None
        self.updates = 0  # update_cell calls (the benchmark reads it)

    # -- data -----------------------------------------------------------------------------

    def set_rows(self, rows: list[RoleRow], now: float, window: int) -> None:
        """A new snapshot of the roles; keeps the selection, filter and sort."""
        selected = self.selected
        self.rows = {r.name: r for r in rows}
        self.marked &= self.rows.keys()
        self._hay = None
        self._accounts = {r.account.id: r.account for r in rows}
        self.now, self.window = now, window
        self._resort()
        self._widths = None
        self._layout = None
        self._refilter(selected)
        if not rows:
            self.virtual_size = Size(0, len(self.empty) + 1)

    def set_query(self, query: str) -> None:
        if query != self.query:
            self.query = query
            self._refilter(self.selected)

    def cycle_sort(self) -> str:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        selected = self.selected
        self._resort()
        self._layout = None
        self._refilter(selected)
        return self.sort

    def set_busy(self, name: str, what: str | None) -> None:
        if what is None:
            self.busy.pop(name, None)
        else:
            self.busy[name] = what
        self._cells.pop((name, "state"), None)
        self._invalidate(name)

    def toggle_mark(self, name: str) -> bool:
        """Mark ``name``, or unmark it; returns whether it is marked now."""
        self.marked ^= {name}
        self._invalidate(name)
        return name in self.marked

    def _resort(self) -> None:
        self._sorted = [r.name for r in sort_rows(list(self.rows.values()), self.sort)]

    def _refilter(self, keep: str | None) -> None:
        words = self.query.lower().split()
        hay = self._hay
        if words and hay is None:
            hay = self._hay = {r.name: haystack(r) for r in self.rows.values()}
        if len(words) == 1:
            word = words[0]
            names = [n for n in self._sorted if word in hay[n]]
        elif words:
            names = [n for n in self._sorted if all(w in hay[n] for w in words)]
        else:
            names = self._sorted
        lines: list[tuple[str, str]] = []
        role_lines: list[int] = []
        grouped = self.sort == "account"
        last_account = None
        for name in names:
            if grouped and (account := self.rows[name].account.id) != last_account:
                lines.append(("group", account))
                last_account = account
            role_lines.append(len(lines))
            lines.append(("role", name))
        self._lines, self._role_lines = lines, role_lines
        self._line_of = {lines[i][1]: i for i in role_lines}
        self._cells.clear()
        self._strips.clear()
        self.virtual_size = Size(0, len(lines) + 1)
        if keep in self._line_of:
            self.cursor = role_lines.index(self._line_of[keep])
        else:
            self.cursor = 0
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self.selected))

    @property
    def visible_names(self) -> list[str]:
        return [self._lines[i][1] for i in self._role_lines]

    @property
    def selected(self) -> str | None:
        if not self._role_lines:
            return None
        return self._lines[self._role_lines[min(self.cursor, len(self._role_lines) - 1)]][1]

    def select(self, name: str) -> bool:
        """Move the cursor to ``name`` (clearing a filter that hides it)."""
        if name not in self._line_of and name in self.rows:
            self.query = ""
            self._refilter(name)
        if name not in self._line_of:
            return False
        self._move_to(self._role_lines.index(self._line_of[name]))
        return True

    # -- movement -------------------------------------------------------------------------

    def _scroll_to_cursor(self) -> None:
        if not self._role_lines:
            return
        line = self._role_lines[self.cursor]
        height = max(self.size.height - 1, 1)
        top = int(self.scroll_offset.y)
        first = line - 1 if line and self._lines[line - 1][0] == "group" else line
        if first < top:
            top = first
        elif line >= top + height:
            top = line - height + 1
        self.scroll_to(y=max(0, top), animate=False, immediate=True)

    def _move_to(self, index: int) -> None:
        if not self._role_lines:
            return
        index = max(0, min(index, len(self._role_lines) - 1))
        old = self.cursor
        self.cursor = index
        self._strips = {k: v for k, v in self._strips.items()
                        if k[0] not in (self._role_lines[old], self._role_lines[index])}
        self._scroll_to_cursor()
        self.refresh()
        if old != index:
            self.post_message(self.Highlighted(self.selected))

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        self._move_to(self.cursor + delta * max(self.size.height - 2, 1))

    def action_jump(self, where: int) -> None:
        self._move_to(len(self._role_lines) - 1 if where < 0 else 0)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(0, len(self._lines) + 1)
        self._layout = None
        self._strips.clear()

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        line = event.y - 1 + int(self.scroll_offset.y)
        if event.y >= 1 and line in self._line_of.values():
            self._move_to(self._role_lines.index(line))
