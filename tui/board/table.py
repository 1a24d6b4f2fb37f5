"""The board: every role, grouped by account, with its chain, session and live countdown.

A line-API widget, not a DataTable: only the lines on screen are rendered, so 5,000
roles cost what 40 do. Filtering re-orders a list of names; the once-a-second tick
calls :meth:`Board.update_cell` for the countdown cells on screen and refreshes only
the lines whose text changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from profiles.durations import format_countdown
from tui.board import columns as cols
from tui.board.columns import GAP, LEAD, Column, account_label, chain_text, haystack

if TYPE_CHECKING:
    from profiles.model import Account
    from profiles.workspace import RoleRow

SORTS = ("account", "name", "time left")
WARNING_TAGS = frozenset({"prod", "production", "live", "critical", "pci"})


def row_error(row: RoleRow) -> str | None:
    """Why a role cannot be used (a broken profile), if the core says so."""
    return getattr(row, "error", None)


def sort_rows(rows: list[RoleRow], sort: str) -> list[RoleRow]:
    if sort == "name":
        return sorted(rows, key=lambda r: r.name)
    if sort == "time left":
        far = float("inf")
        return sorted(rows, key=lambda r: (
            r.session.expires_at.timestamp() if r.session else far, r.name))
    return sorted(rows, key=lambda r: ((r.account.alias or "~").lower(), r.account.id, r.name))


class Board(ScrollView, can_focus=True):
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
        "board--broken",
    }

    class Highlighted(Message):
        """The cursor moved to another role (or the board emptied: ``name`` is None)."""

        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.rows: dict[str, RoleRow] = {}
        self.window = 300
        self.now = 0.0
        self.sort = SORTS[0]
        self.query = ""
        self.busy: dict[str, str] = {}
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
        self._widths: cols.Widths | None = None
        self.updates = 0  # update_cell calls (the benchmark reads it)

    # -- data -----------------------------------------------------------------------------

    def set_rows(self, rows: list[RoleRow], now: float, window: int) -> None:
        """A new snapshot of the roles; keeps the selection, filter and sort."""
        selected = self.selected
        self.rows = {r.name: r for r in rows}
        self._hay = None
        self._accounts = {r.account.id: r.account for r in rows}
        self.now, self.window = now, window
        self._resort()
        self._widths = None
        self._layout = None
        self._refilter(selected)

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

    # -- cells ----------------------------------------------------------------------------

    def countdown_cell(self, row: RoleRow) -> Text:
        if row.session is None:
            return Text("")
        left = row.session.seconds_left(self.now)
        style = "board--expired" if left <= 0 else "board--warning" if left <= self.window \
            else "board--active"
        return Text(format_countdown(left), style=self._style(style),
                    justify="right")

    def state_cell(self, row: RoleRow) -> Text:
        busy = self.busy.get(row.name)
        if busy:
            return Text(busy, style=self._style("board--busy"))
        if row_error(row):
            return Text("broken", style=self._style("board--broken"))
        state = row.state(self.now, self.window)
        if state == "none":
            return Text("·", style=self._style("board--dim"))
        style = {"active": "board--active", "expiring": "board--warning",
                 "expired": "board--expired", "broken": "board--expired"}[state]
        return Text(state, style=self._style(style))

    def update_cell(self, name: str, column: str, value: Text) -> None:
        """Replace one cell's text and repaint only its line."""
        self.updates += 1
        self._cells[(name, column)] = value
        self._invalidate(name)

    def _invalidate(self, name: str) -> None:
        line = self._line_of.get(name)
        if line is None:
            return
        for key in [k for k in self._strips if k[0] == line]:
            del self._strips[key]
        y = line + 1 - int(self.scroll_offset.y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def tick(self, now: float) -> int:
        """Advance the clock: update the countdown (and state) cells on screen whose text
        changed. Returns how many cells changed."""
        self.now = now
        top = int(self.scroll_offset.y)
        changed = 0
        for line in range(top, min(top + self.size.height, len(self._lines))):
            kind, name = self._lines[line]
            if kind != "role":
                continue
            row = self.rows[name]
            if row.session is None:
                continue
            for column, make in (("left", self.countdown_cell), ("state", self.state_cell)):
                cell = make(row)
                shown = self._cells.get((name, column))
                if shown is None or shown.plain != cell.plain or shown.style != cell.style:
                    self.update_cell(name, column, cell)
                    changed += 1
        return changed

    # -- layout and rendering -------------------------------------------------------------

    def columns(self, width: int) -> tuple[Column, ...]:
        if self._layout and self._layout[0] == width:
            return self._layout[1]
        if self._widths is None:  # from every row, so filtering never moves a column
            self._widths = cols.measure(self.rows.values())
        self._layout = (width, cols.layout(width, self._widths, self.sort == "account"))
        return self._layout[1]

    def _cell(self, row: RoleRow, key: str) -> Text:
        if (row.name, key) in self._cells:
            return self._cells[(row.name, key)]
        if key == "role":
            cell = Text(row.name)
        elif key == "account":
            cell = Text(account_label(row), style=self._tag_style(row.account.tags))
        elif key == "chain":
            error = row_error(row)
            cell = Text(error, style=self._style("board--broken")) if error else \
                Text(chain_text(row.chain), style=self._style("board--dim"))
        elif key == "state":
            cell = self.state_cell(row)
        elif key == "left":
            cell = self.countdown_cell(row)
        else:
            cell = Text(", ".join(row.profiles))
        self._cells[(row.name, key)] = cell
        return cell

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _tag_style(self, tags: tuple[str, ...]) -> Style:
        if any(t.lower() in WARNING_TAGS for t in tags):
            return self._style("board--prod")
        return Style()

    def _group_line(self, account_id: str) -> Text:
        account = self._accounts[account_id]
        text = Text(" ")
        if account.alias:
            text.append(account.alias, self._style("board--group"))
            text.append(f"  {account.id}", self._style("board--dim"))
        else:
            text.append(account.id, self._style("board--group"))
        for tag in account.tags:
            style = "board--prod" if tag.lower() in WARNING_TAGS else "board--tag"
            text.append("  ")
            text.append(f" {tag} ", self._style(style))
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            columns = self.columns(width)
            # The same fit and crop as the cells below, so every title sits on its column.
            header = " " * LEAD + "".join(c.fit(c.title) + " " * GAP for c in columns)
            style = base + self._style("board--header")
            return Strip([Segment(header, style)]).crop_extend(0, width, style)
        line = y - 1 + int(self.scroll_offset.y)
        if line >= len(self._lines):
            return Strip.blank(width, base)
        selected = bool(self._role_lines) and line == self._role_lines[self.cursor]
        key = (line, width, selected, self.has_focus)
        if key in self._strips:
            return self._strips[key]
        kind, name = self._lines[line]
        if kind == "group":
            strip = self._strip(self._group_line(name), width, base)
        else:
            overlay = self._style("board--cursor") if selected else None
            strip = self._row_strip(self.rows[name], self.columns(width), width, base, overlay)
        if len(self._strips) > 4000:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def shown(self, row: RoleRow, column: Column, cell: Text | None = None) -> str:
        """What ``column`` shows of ``row``: its cell fitted to the column's width."""
        plain = (cell or self._cell(row, column.key)).plain
        if column.key == "account" and cell_len(plain) > column.width:
            plain = row.account.alias or plain  # the alias alone, rather than a cut id
        return column.fit(plain)

    def _row_strip(self, row: RoleRow, columns: tuple[Column, ...], width: int, base: Style,
                   overlay: Style | None) -> Strip:
        """A role's line straight to segments (each cell has one style; the selected
        line is one style, the cursor's, so its contrast is the cursor's own)."""
        line = base + overlay if overlay else base
        segments: list[Segment] = []
        text = " " * LEAD  # runs of the line's own style joined: fewer segments to crop
        for column in columns:
            cell = self._cell(row, column.key)
            plain = self.shown(row, column, cell)
            own = None if overlay else cell.style if isinstance(cell.style, Style) else (
                Style.parse(cell.style) if cell.style else None)
            if own is None:
                text += plain + " " * GAP
                continue
            segments.append(Segment(text, line))
            segments.append(Segment(plain, base + own))
            text = " " * GAP
        segments.append(Segment(text, line))
        return Strip(segments).crop_extend(0, width, line)

    def _strip(self, text: Text, width: int, base: Style, overlay: Style | None = None) -> Strip:
        """One line: the widget's style, the text's own styles, then the cursor on top."""
        text.truncate(width, overflow="ellipsis", pad=True)
        line = base + overlay if overlay else base
        segments = [Segment(s.text, (base + s.style + overlay if overlay else base + s.style)
                            if s.style else line)
                    for s in text.render(self.app.console)]
        return Strip(segments, width).crop_extend(0, width, line)

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
